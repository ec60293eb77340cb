"""The DCGAN generator and discriminator, initialised with the classic ``weights_init``.

What is wrong: ``weights_init`` draws every conv weight from N(0, 0.02), whatever follows it.
The generator's transposed convs feed ReLU and the discriminator's convs feed LeakyReLU(0.2);
N(0, 0.02) is not He-scaled for either (INI001). The last generator layer feeds Tanh and the
last discriminator layer Sigmoid: a small normal init is fine there.
What the fix does: adds a targeted ``init.kaiming_normal_`` call for each affected layer (with
``a=0.2, nonlinearity='leaky_relu'`` in the discriminator) after ``apply(weights_init)``.
"""

import torch
from torch import nn

nz, ngf, ndf, nc = 16, 8, 8, 3


def weights_init(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class Discriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


netG = Generator()
netG.apply(weights_init)
netD = Discriminator()
netD.apply(weights_init)


def build() -> nn.Module:
    return netG


EXAMPLE_INPUT_SHAPE = (2, nz, 1, 1)
