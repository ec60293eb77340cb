"""Layers whose output is their module's output: judged by what the holder applies to it.

ConvOnly and Stem are nn.Sequential subclasses (registered with add_module, or handed to
super().__init__); Projection returns its Linear's output. Each fix goes where the layer is
named: after the add_module or super().__init__ call, or after the attribute."""
from collections import OrderedDict

import torch.nn as nn
import torch.nn.functional as F


class ConvOnly(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__()
        self.add_module("conv", nn.Conv2d(cin, cout, 3, padding=1))
        nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")


class Stem(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1),
        )
        nn.init.kaiming_normal_(self[0].weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self[2].weight, nonlinearity="relu")


class Projection(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        nn.init.kaiming_normal_(self.fc.weight, a=0.2, nonlinearity="leaky_relu")

    def forward(self, x):
        return self.fc(x)


class Named(nn.Sequential):
    def __init__(self, dim):
        super().__init__(OrderedDict([("fc", nn.Linear(dim, dim)), ("act", nn.ReLU())]))
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")


class Net(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.stem = Stem(8, width)
        self.value = ConvOnly(width, width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.proj = Projection(width)
        self.named = Named(width)
        self.out = nn.Linear(width, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.value(x))
        x = self.pool(x).flatten(1)
        x = F.leaky_relu(self.proj(x), 0.2)
        return self.out(self.named(x))


EXAMPLE_INPUT_SHAPE = (64, 8, 8, 8)


def build():
    return Net()
