"""INI006: a literal argument that makes an init function raise."""

from __future__ import annotations

from textwrap import dedent

from ._base import HEADER, Invalid, Level, Rule, Valid

RULE = Rule(
    code="INI006",
    name="invalid-init-argument",
    title="Invalid literal argument to an init function",
    messages={
        "default": "mode={mode} is not supported by {function} (use 'fan_in' or 'fan_out'); "
        "it raises ValueError",
        "nonlinearity": "nonlinearity {value} is unknown to {function}{hint}: it raises "
        "'ValueError: Unsupported nonlinearity {raw}'; use one of linear, conv1d/2d/3d, "
        "sigmoid, tanh, relu, leaky_relu, selu",
    },
    level=Level.ERROR,
    what=(
        "Reports a literal `mode` other than 'fan_in'/'fan_out' and a `nonlinearity` (or "
        "`calculate_gain` argument) that PyTorch does not know, such as 'gelu' or 'ReLU'."
    ),
    why=(
        "PyTorch raises at run time (`ValueError: Mode fan_avg not supported, please use "
        "one of fan_in, fan_out`, `ValueError: Unsupported nonlinearity gelu`), usually "
        "in a code path that runs only when a model is first built."
    ),
    fix="No autofix: choose one of fan_in/fan_out and linear, conv*, sigmoid, tanh, relu, "
    "leaky_relu, selu.",
    invalid=(
        Invalid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)
                        init.kaiming_normal_(self.fc.weight, mode='fan_avg')
                """
            ),
            line=10,
            column=51,
        ),
        Invalid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)
                        init.xavier_normal_(self.fc.weight, gain=init.calculate_gain('gelu'))
                """
            ),
            line=10,
            column=50,
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
                        init.kaiming_normal_(self.fc.weight, mode='fan_out', nonlinearity='relu')
                """
            )
        ),
    ),
)
