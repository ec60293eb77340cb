"""INI002: Kaiming init with a rectifier gain on a layer that feeds Tanh or Sigmoid."""

from __future__ import annotations

from textwrap import dedent

from ..knowledge import Verdict
from ._base import HEADER, Invalid, Level, Rule, Valid
from ._layer import runtime_message

RULE = Rule(
    code="INI002",
    name="kaiming-before-saturating",
    title="Kaiming (rectifier gain) init on a layer that feeds Tanh or Sigmoid",
    messages={
        "default": "{feeds} but is initialised with {init_text}{init_where}, a rectifier gain "
        "({gain_approx}) where {activation_name} wants Xavier; use {advice}"
    },
    fix_title="Use {advice}",
    level=Level.WARNING,
    verdict=Verdict.KAIMING_BEFORE_SATURATING,
    runtime_message=runtime_message(
        "kaiming (rectifier gain) init on a layer that feeds Tanh or Sigmoid"
    ),
    what=(
        "Reports `kaiming_normal_/kaiming_uniform_` with a rectifier gain (`nonlinearity` "
        "'relu', 'leaky_relu' or left at its default) on a layer whose output goes into "
        "Tanh or Sigmoid. `kaiming_*_(…, nonlinearity='tanh')` has the right gain and is "
        "not reported."
    ),
    why=(
        "Kaiming's gain √2 compensates for a rectifier discarding half of the signal. Tanh "
        "and Sigmoid keep both halves, so √2 inflates the pre-activation std by 41% per "
        "layer and pushes units into saturation, where gradients vanish. Glorot & Bengio "
        "(2010): Var(W) = 2/(fan_in+fan_out) with calculate_gain('tanh') = 5/3 or "
        "calculate_gain('sigmoid') = 1."
    ),
    fix="Replaces the call by `init.xavier_normal_(w, gain=init.calculate_gain('tanh'))` "
    "(or `xavier_uniform_`, `'sigmoid'`), keeping the distribution.",
    invalid=(
        Invalid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(32, 32)
                        init.kaiming_normal_(self.fc.weight)

                    def forward(self, x):
                        return torch.tanh(self.fc(x))
                """
            ),
            line=9,
            column=19,
            fixed=HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(32, 32)
                        init.xavier_normal_(self.fc.weight, gain=init.calculate_gain("tanh"))

                    def forward(self, x):
                        return torch.tanh(self.fc(x))
                """
            ),
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
                        self.fc = nn.Linear(32, 32)
                        init.xavier_normal_(self.fc.weight, gain=init.calculate_gain('tanh'))

                    def forward(self, x):
                        return torch.tanh(self.fc(x))
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
                        self.fc = nn.Linear(32, 32)
                        init.kaiming_normal_(self.fc.weight, nonlinearity='tanh')

                    def forward(self, x):
                        return torch.tanh(self.fc(x))
                """
            )
        ),
    ),
)
