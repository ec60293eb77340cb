"""A Tanh MLP initialised with Kaiming, as if it were a ReLU net.

What is wrong: Kaiming's gain sqrt(2) makes up for a rectifier discarding half of the signal;
Tanh keeps both halves, so every layer inflates the pre-activation std and drives the units
into saturation (INI002). Xavier with ``calculate_gain('tanh')`` (5/3) is right.
What the fix does: replaces each ``kaiming_uniform_`` call with
``init.xavier_uniform_(w, gain=init.calculate_gain('tanh'))``.
"""

import torch
from torch import nn


class TanhMLP(nn.Module):
    def __init__(self, width: int = 64, depth: int = 3) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.readout = nn.Linear(width, 1)
        for layer in self.layers:
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return self.readout(x)


def build() -> nn.Module:
    return TanhMLP()


EXAMPLE_INPUT_SHAPE = (8, 64)
