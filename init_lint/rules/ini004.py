"""INI004: a fan-based init (Kaiming/Xavier) on a tensor with fewer than 2 dimensions."""

from __future__ import annotations

from textwrap import dedent

from ._base import HEADER, Invalid, Level, Rule, Valid

RULE = Rule(
    code="INI004",
    name="fan-init-on-1d-tensor",
    title="Kaiming/Xavier init on a tensor with fewer than 2 dimensions",
    messages={
        "default": "{function} on {what}, a 1-D tensor: fan in/out need ≥ 2 dimensions, so this "
        "raises ValueError at run time; use init.zeros_ or init.constant_"
    },
    level=Level.ERROR,
    what=(
        "Reports `kaiming_*_` / `xavier_*_` applied to a bias, to a norm layer's 1-D weight, "
        "or to every parameter of a model without a `p.dim() > 1` guard."
    ),
    why=(
        "These inits scale by fan_in/fan_out, which need at least 2 dimensions: PyTorch "
        "raises `ValueError: Fan in and fan out can not be computed for tensor with fewer "
        "than 2 dimensions` when the line runs."
    ),
    fix="No autofix: initialise biases with `init.zeros_` or `init.constant_`.",
    invalid=(
        Invalid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)
                        init.xavier_uniform_(self.fc.bias)
                """
            ),
            line=10,
            column=9,
        ),
    ),
    valid=(
        Valid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)
                        init.zeros_(self.fc.bias)
                """
            )
        ),
    ),
)
