"""Layers with no name of their own: built in a loop, unpacked into a Sequential, in a
ModuleList comprehension. One loop over the holding module fixes them all, in one pass."""
import torch.nn as nn


class Blocks(nn.Module):
    def __init__(self, width=8, depth=3):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Conv2d(width, width, 3, padding=1) for _ in range(depth)])
        for submodule in self.blocks.modules():
            if isinstance(submodule, nn.Conv2d):
                nn.init.kaiming_normal_(submodule.weight, nonlinearity="relu")

    def forward(self, x):
        for block in self.blocks:
            x = nn.functional.relu(block(x))
        return x


class Mlp(nn.Module):
    def __init__(self, dims=(128, 64, 64, 32)):
        super().__init__()
        layers = []
        for a, b in zip(dims, dims[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)
        for submodule in self.net.modules():
            if isinstance(submodule, nn.Linear):
                nn.init.kaiming_normal_(
                    submodule.weight, a=0.2, nonlinearity="leaky_relu"
                )

    def forward(self, x):
        return self.net(x)


class Tower(nn.Module):
    """Appended in a loop: the loop goes after the loop that fills the ModuleList."""

    def __init__(self, width=32, depth=3):
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(depth):
            self.layers.append(nn.Linear(width, width))
        for submodule in self.layers.modules():
            if isinstance(submodule, nn.Linear):
                nn.init.kaiming_normal_(submodule.weight, nonlinearity="relu")

    def forward(self, x):
        for layer in self.layers:
            x = nn.functional.relu(layer(x))
        return x


class Head(nn.Module):
    """The last Linear feeds nothing: a loop would change it too, so this one is left alone."""

    def __init__(self, dims=(32, 16, 10)):
        super().__init__()
        layers = []
        for a, b in zip(dims[:-2], dims[1:-1]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(dims[-2], dims[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Stages(nn.Module):
    """The ModuleList also holds a Blocks (a class of ours): a loop over it would reach the
    convs of Blocks as well, which this file cannot see from here. No autofix."""

    def __init__(self, width=8):
        super().__init__()
        convs = [nn.Conv2d(width, width, 3, padding=1) for _ in range(2)]
        self.stages = nn.ModuleList([*convs, Blocks(width)])

    def forward(self, x):
        for stage in self.stages:
            x = nn.functional.relu(stage(x))
        return x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = Blocks()
        self.mlp = Mlp()
        self.tower = Tower()

    def forward(self, x):
        return self.tower(self.mlp(self.features(x).flatten(1)))


EXAMPLE_INPUT_SHAPE = (64, 8, 4, 4)


def build():
    return Net()
