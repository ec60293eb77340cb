"""INI007: Kaiming init whose fan torch counts wrong for this layer (grouped, strided transposed)."""

from __future__ import annotations

from textwrap import dedent

from ..knowledge import Verdict
from ._base import HEADER, Invalid, Level, Rule, Valid
from ._layer import runtime_message

RULE = Rule(
    code="INI007",
    name="kaiming-wrong-fan",
    title="Kaiming init on a layer whose fan torch counts wrong",
    messages={"default": "{feeds} but {init_text}{init_where} {fan_problem}; use {advice}"},
    fix_title="Use {advice}",
    level=Level.WARNING,
    verdict=Verdict.WRONG_FAN,
    runtime_message=runtime_message("kaiming init on a layer whose fan torch counts wrong"),
    what=(
        "Reports `kaiming_normal_/kaiming_uniform_` with the right gain that still misses He's "
        "scale because torch computes the fans from the weight's shape, not from the layer's "
        "connectivity: `mode='fan_out'` on a grouped or depthwise conv, and any Kaiming call on "
        "a `ConvTranspose*d` with stride > 1. Like INI001/INI003 it looks at layers that feed a "
        "rectifier (through a norm layer too with `through-norm`)."
    ),
    why=(
        "torch's fan_out is out_channels·∏k, but in a grouped conv each input channel reaches "
        "only out_channels/groups·∏k outputs: `mode='fan_out'` makes the std √groups too small "
        "(a depthwise 3×3 conv with 256 channels: 16× too small), while `mode='fan_in'` is "
        "exact. A ConvTranspose's weight is (in, out/groups, *k), so torch's fan_in is really "
        "the backward fan out/groups·∏k and its fan_out is in·∏k, while each output sums only "
        "in/groups·∏k/∏stride terms. With stride 1 the two fans are exact and either mode is a "
        "valid He condition; with stride s > 1 neither mode gives the forward fan, and the "
        "shortfall ∏s does not telescope across layers as He's fan ratios do: measured with "
        "real torch, `ConvTranspose2d(512, 256, 4, 2, 1)` after `kaiming_normal_(nonlinearity="
        "'relu')` gives interior outputs a second moment of 1.0 for unit-variance input where "
        "He wants 2.0 (`mode='fan_out'`: 0.5; on a 4×4 input, whose border outputs sum fewer "
        "terms, 0.76 and 0.38), and a DCGAN-style generator loses that factor at every "
        "upsampling layer. The fix below gives 2.0."
    ),
    fix=(
        "A grouped conv gets `mode='fan_in'` (the call is changed in place when it initialises "
        "only such layers). A strided transposed conv gets `kaiming_*_(w, mode='fan_out', …)` "
        "followed by `w.data.mul_(√(groups·∏stride))`, which gives the std of He's forward "
        "condition, gain/√(in/groups·∏k/∏stride)."
    ),
    invalid=(
        Invalid(
            HEADER
            + dedent(
                """\
                class Block(nn.Module):
                    def __init__(self, dim):
                        super().__init__()
                        self.dw = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
                        init.kaiming_normal_(self.dw.weight, mode='fan_out', nonlinearity='relu')

                    def forward(self, x):
                        return F.relu(self.dw(x))
                """
            ),
            line=9,
            column=19,
            fixed=HEADER
            + dedent(
                """\
                class Block(nn.Module):
                    def __init__(self, dim):
                        super().__init__()
                        self.dw = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
                        init.kaiming_normal_(self.dw.weight, mode='fan_in', nonlinearity='relu')

                    def forward(self, x):
                        return F.relu(self.dw(x))
                """
            ),
        ),
        Invalid(
            HEADER
            + dedent(
                """\
                class Up(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.up = nn.ConvTranspose2d(512, 256, 4, 2, 1)
                        init.kaiming_normal_(self.up.weight, nonlinearity='relu')

                    def forward(self, x):
                        return F.relu(self.up(x))
                """
            ),
            line=9,
            column=19,
            fixed=HEADER
            + dedent(
                """\
                class Up(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.up = nn.ConvTranspose2d(512, 256, 4, 2, 1)
                        init.kaiming_normal_(self.up.weight, mode='fan_out', nonlinearity='relu')
                        self.up.weight.data.mul_(2)

                    def forward(self, x):
                        return F.relu(self.up(x))
                """
            ),
        ),
    ),
    valid=(
        Valid(
            HEADER
            + dedent(
                """\
                class Block(nn.Module):
                    def __init__(self, dim):
                        super().__init__()
                        self.dw = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
                        init.kaiming_normal_(self.dw.weight, mode='fan_in', nonlinearity='relu')

                    def forward(self, x):
                        return F.relu(self.dw(x))
                """
            )
        ),
        Valid(
            HEADER
            + dedent(
                """\
                class Block(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.conv = nn.Conv2d(64, 128, 3, stride=2, groups=1)
                        self.up = nn.ConvTranspose2d(128, 64, 3, stride=1, padding=1)
                        for m in self.modules():
                            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                                init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

                    def forward(self, x):
                        return F.relu(self.up(F.relu(self.conv(x))))
                """
            )
        ),
    ),
)
