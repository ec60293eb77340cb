"""INI005: a deprecated init function (the spelling without the trailing underscore)."""

from __future__ import annotations

from textwrap import dedent

from ._base import HEADER, Invalid, Level, Rule, Valid

RULE = Rule(
    code="INI005",
    name="deprecated-init-function",
    title="Deprecated non-underscore init function",
    messages={"default": "init.{name} is deprecated (FutureWarning); use init.{canonical}"},
    fix_title="Rename to {canonical}",
    level=Level.WARNING,
    what=(
        "Reports `init.kaiming_normal(…)`, `init.xavier_uniform(…)`, `init.normal(…)` and the "
        "other deprecated spellings without the trailing underscore."
    ),
    why=(
        "They are kept only as deprecated aliases that emit a FutureWarning (`nn.init."
        "kaiming_normal is now deprecated in favor of nn.init.kaiming_normal_`) and may be "
        "removed; the underscore names are the supported in-place API."
    ),
    fix="Renames the call to the underscore function.",
    invalid=(
        Invalid(
            HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)
                        init.xavier_uniform(self.fc.weight)
                """
            ),
            line=10,
            column=9,
            fixed=HEADER
            + dedent(
                """\
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)
                        init.xavier_uniform_(self.fc.weight)
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
                        self.fc = nn.Linear(8, 8)
                        init.xavier_uniform_(self.fc.weight)
                """
            )
        ),
    ),
)
