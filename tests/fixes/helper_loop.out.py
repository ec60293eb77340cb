"""A critic whose blocks come from a helper called in a comprehension: all the convs the helper
builds are fixed in one pass, by one loop over the Sequential that holds them; the score conv,
which feeds nothing, keeps its init."""
import torch.nn as nn


def down(cin, cout):
    # LeakyReLU(0.2): the slope goes into the gain
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2))


class Critic(nn.Module):
    def __init__(self, widths=(3, 16, 32, 64)):
        super().__init__()
        blocks = [down(a, b) for a, b in zip(widths[:-1], widths[1:])]
        self.blocks = nn.Sequential(*blocks)
        for module in self.blocks.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0.2, nonlinearity="leaky_relu")
        self.score = nn.Conv2d(widths[-1], 1, 1)

    def forward(self, x):
        return self.score(self.blocks(x))


EXAMPLE_INPUT_SHAPE = (16, 3, 16, 16)


def build():
    return Critic()
