"""A context built with a lambda names it by its text: messages are the same in every run."""

from __future__ import annotations

from init_lint.engine import lint_source

SOURCE = """
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, act_layer=None):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3)
        self.act = act_layer()

    def forward(self, x):
        return self.act(self.conv(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block(act_layer=lambda: nn.ReLU(inplace=True))
        self.b = Block(act_layer=lambda: nn.Tanh())
"""


def test_a_lambda_context_is_named_by_its_text_and_kept_apart_from_another() -> None:
    [finding] = lint_source(SOURCE, "net.py")
    assert (finding.line, finding.code) == (8, "INI001")
    assert "built as Block(act_layer=lambda: nn.ReLU(inplace=True))" in finding.message
    assert "<lambda" not in finding.message
