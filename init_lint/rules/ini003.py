"""INI003: Kaiming init whose gain (nonlinearity, slope) does not match the rectifier."""

from __future__ import annotations

from textwrap import dedent

from ..knowledge import Verdict
from ._base import HEADER, Invalid, Level, Rule, Valid
from ._layer import runtime_message

RULE = Rule(
    code="INI003",
    name="kaiming-args-mismatch",
    title="Kaiming init whose arguments do not match the rectifier",
    messages={
        "default": "{feeds} but {init_text}{init_where} has gain {gain}, not {required}; use {advice}"
    },
    fix_title="Use {advice}",
    level=Level.WARNING,
    verdict=Verdict.WRONG_KAIMING_GAIN,
    runtime_message=runtime_message("kaiming init whose arguments do not match the rectifier"),
    what=(
        "Reports Kaiming init whose gain does not match the activation: `nonlinearity="
        "'relu'` (or the default leaky with a=0) before `LeakyReLU(0.2)`, an `a` different "
        "from the slope, `nonlinearity='tanh'/'linear'/'sigmoid'/'selu'` before a ReLU. Gains "
        "within 1% are equal (relu gain before `LeakyReLU(0.01)` is fine); relu gain before "
        "`LeakyReLU(0.2)` is 1.9% too large and is reported."
    ),
    why=(
        "He et al.'s condition for a leaky slope a is ½(1+a²)·fan·Var(W) = 1, gain "
        "√(2/(1+a²)). A mismatched gain scales the signal by the ratio of the gains at every "
        "layer, which compounds with depth: 2% per layer is about 1.5× after 20 layers."
    ),
    fix="Sets `a=` and `nonlinearity=` to the activation's values, leaving other arguments.",
    invalid=(
        Invalid(
            HEADER
            + dedent(
                """\
                class D(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.net = nn.Sequential(nn.Conv2d(3, 64, 4), nn.LeakyReLU(0.2))
                        init.kaiming_normal_(self.net[0].weight, nonlinearity='relu')
                """
            ),
            line=9,
            column=34,
            fixed=HEADER
            + dedent(
                """\
                class D(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.net = nn.Sequential(nn.Conv2d(3, 64, 4), nn.LeakyReLU(0.2))
                        init.kaiming_normal_(self.net[0].weight, a=0.2, nonlinearity='leaky_relu')
                """
            ),
        ),
    ),
    valid=(
        Valid(
            HEADER
            + dedent(
                """\
                class D(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.net = nn.Sequential(nn.Conv2d(3, 64, 4), nn.LeakyReLU(0.2))
                        init.kaiming_normal_(self.net[0].weight, a=0.2, nonlinearity='leaky_relu')
                """
            )
        ),
        Valid(
            HEADER
            + dedent(
                """\
                class D(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.net = nn.Sequential(nn.Conv2d(3, 64, 4), nn.LeakyReLU())
                        init.kaiming_normal_(self.net[0].weight, nonlinearity='relu')
                """
            )
        ),
    ),
)
