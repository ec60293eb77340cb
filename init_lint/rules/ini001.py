"""INI001: a layer feeds a rectifier but is not He-scaled."""

from __future__ import annotations

from textwrap import dedent

from ..knowledge import Verdict
from ._base import HEADER, Invalid, Level, Rule, Valid
from ._layer import HE_WHY, runtime_message

RULE = Rule(
    code="INI001",
    name="rectifier-without-kaiming",
    title="Layer feeds a rectifier but is not Kaiming-initialised",
    messages={"default": "{feeds} but {init}; use {advice}"},
    fix_title="Initialise with {advice}",
    level=Level.WARNING,
    verdict=Verdict.NOT_HE_SCALED,
    runtime_message=runtime_message("layer feeds a rectifier but is not Kaiming-initialised"),
    what=(
        "Reports a Linear/Conv layer whose output reaches a ReLU, ReLU6, LeakyReLU, PReLU or "
        "RReLU (directly or through Dropout, pooling, Flatten, view/reshape) while its weight "
        "keeps PyTorch's default init or gets an init that is not He-scaled: `normal_(0, "
        "0.01)`, `trunc_normal_(std=.02)`, `xavier_*_` with gain 1, `orthogonal_` with gain 1, "
        "or `kaiming_*_(a=math.sqrt(5))` (the default spelled out). Layers that reach the "
        "rectifier through a BatchNorm/LayerNorm/GroupNorm are only reported with "
        "`through-norm`, since a norm layer makes the forward pass scale-invariant."
    ),
    why=HE_WHY,
    fix=(
        "Inserts `init.kaiming_normal_(<layer>.weight, nonlinearity='relu')` (or `a=<slope>, "
        "nonlinearity='leaky_relu'`) after the statement that builds the layer, or rewrites "
        "the wrong init call when every layer it touches feeds a rectifier."
    ),
    invalid=(
        Invalid(
            HEADER
            + dedent(
                """\
                class MLP(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1 = nn.Linear(784, 256)
                        self.fc2 = nn.Linear(256, 10)

                    def forward(self, x):
                        return self.fc2(F.relu(self.fc1(x)))
                """
            ),
            line=9,
            column=20,
            fixed=HEADER
            + dedent(
                """\
                class MLP(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1 = nn.Linear(784, 256)
                        init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
                        self.fc2 = nn.Linear(256, 10)

                    def forward(self, x):
                        return self.fc2(F.relu(self.fc1(x)))
                """
            ),
        ),
        Invalid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.body = nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3))
                        for m in self.modules():
                            if isinstance(m, nn.Conv2d):
                                init.normal_(m.weight, 0, 0.01)
                """
            ),
            line=9,
            column=35,
            fixed=HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.body = nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3))
                        for m in self.modules():
                            if isinstance(m, nn.Conv2d):
                                init.normal_(m.weight, 0, 0.01)
                        init.kaiming_normal_(self.body[0].weight, nonlinearity="relu")
                """
            ),
        ),
    ),
    valid=(
        Valid(
            HEADER
            + dedent(
                """\
                class MLP(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1 = nn.Linear(784, 256)
                        init.kaiming_normal_(self.fc1.weight, nonlinearity='relu')
                        self.fc2 = nn.Linear(256, 10)

                    def forward(self, x):
                        return self.fc2(F.relu(self.fc1(x)))
                """
            )
        ),
        Valid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.body = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU())
                """
            )
        ),
        Valid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)

                    def forward(self, x):
                        return F.gelu(self.fc(x))
                """
            )
        ),
    ),
)
