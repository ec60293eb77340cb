"""A LeakyReLU(0.2) conv net whose Kaiming init was written for plain ReLU.

What is wrong: ``kaiming_normal_(w, nonlinearity='relu')`` uses gain sqrt(2), but LeakyReLU(0.2)
keeps part of the negative half: He's gain is sqrt(2 / (1 + 0.2**2)) = 1.387, 1.9% less (INI003).
``head`` is initialised with ``a=0.1``, which does not match the 0.2 slope either (INI003).
What the fix does: rewrites the arguments to ``a=0.2, nonlinearity='leaky_relu'``.
"""

import torch
from torch import nn
from torch.nn import init


class LeakyNet(nn.Module):
    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.act = nn.LeakyReLU(0.2)
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.head = nn.Conv2d(channels, channels, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 10)
        for conv in (self.conv1, self.conv2):
            init.kaiming_normal_(conv.weight, nonlinearity="relu")
        init.kaiming_normal_(self.head.weight, a=0.1, nonlinearity="leaky_relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        x = self.act(self.head(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def build() -> nn.Module:
    return LeakyNet()


EXAMPLE_INPUT_SHAPE = (2, 3, 16, 16)
