"""A gate that feeds a sigmoid where it is built with its defaults and a ReLU inside Mixer: its
one constructor call cannot be right for both, so there is no autofix (the message says so) and
--fix leaves the file as it is, however often it runs."""
import torch.nn as nn


class Gate(nn.Module):
    def __init__(self, width=32, act=nn.Sigmoid):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = act()

    def forward(self, x):
        return self.act(self.fc(x))


class Mixer(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.gate = Gate(width, act=nn.ReLU)
        self.plain = Gate(width)

    def forward(self, x):
        return self.plain(self.gate(x))
