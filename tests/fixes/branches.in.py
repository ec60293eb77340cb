"""A front end whose first layer depends on the input features: each branch that a context of
the tree builds is fixed where it builds its layer, so every configuration starts He-scaled."""
import torch
import torch.nn as nn


class FrontEnd(nn.Module):
    def __init__(self, features="mfcc", width=32):
        super().__init__()
        if features == "mfcc":
            self.proj = nn.Linear(40, width)
        elif features == "fbank":
            self.proj = nn.Linear(80, width)  # 80 mel bands
        else:
            self.proj = nn.Conv1d(1, width, 400, stride=160)  # raw audio

    def forward(self, x):
        return torch.relu(self.proj(x))


class TwoStreams(nn.Module):
    """MFCC and filter-bank features of the same clip, side by side."""

    def __init__(self):
        super().__init__()
        self.mfcc = FrontEnd("mfcc")
        self.fbank = FrontEnd(features="fbank")

    def forward(self, x):
        return torch.cat([self.mfcc(x[:, :40]), self.fbank(x[:, 40:])], dim=1)


EXAMPLE_INPUT_SHAPE = (64, 120)


def build():
    return TwoStreams()
