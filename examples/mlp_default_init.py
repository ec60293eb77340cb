"""An MLP that keeps PyTorch's default init in front of ReLU.

What is wrong: ``fc1`` and ``fc2`` feed ReLU but keep ``kaiming_uniform_(a=sqrt(5))``, whose std
is 1/sqrt(3 * fan_in): 0.41x what He et al. require, so activations shrink layer by layer (INI001).
What the fix does: inserts ``init.kaiming_normal_(self.fcN.weight, nonlinearity='relu')`` after
each layer is built. ``out`` feeds no activation and is left alone.
"""

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    def __init__(self, in_features: int = 784, hidden: int = 256, classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(0.1)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.fc1(x))
        x = self.dropout(self.fc2(x))
        x = F.relu(x)
        return self.out(x)


def build() -> nn.Module:
    return MLP()


EXAMPLE_INPUT_SHAPE = (4, 784)
