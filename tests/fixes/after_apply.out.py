"""DCGAN style: weights_init applied to the whole model from module level."""
import torch.nn as nn


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(3, 64, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x)


netD = Discriminator()
netD.apply(weights_init)
nn.init.kaiming_normal_(netD.main[0].weight, a=0.2, nonlinearity="leaky_relu")


EXAMPLE_INPUT_SHAPE = (4, 3, 16, 16)


def build():
    return netD
