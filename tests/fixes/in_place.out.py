"""An init call aimed at known layers is rewritten in place when every layer it touches agrees."""
import torch
from torch import nn
from torch.nn import init


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 3)
        init.kaiming_normal_(self.conv.weight, nonlinearity="relu")  # an old habit
        self.proj = nn.Linear(64, 128)
        init.kaiming_normal_(self.proj.weight, a=0.2, nonlinearity="leaky_relu")
        self.gate = nn.Linear(128, 128)
        init.xavier_uniform_(self.gate.weight, gain=init.calculate_gain("sigmoid"))

    def forward(self, x):
        x = torch.relu(self.conv(x)).mean((2, 3))
        x = nn.functional.leaky_relu(self.proj(x), 0.2)
        return torch.sigmoid(self.gate(x))


EXAMPLE_INPUT_SHAPE = (64, 3, 8, 8)


def build():
    return Block()
