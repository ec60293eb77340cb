"""What a rule is: one spec per code (see ``init_lint.rules``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from string import Formatter
from typing import Any

from ..knowledge import Verdict

#: The imports every example starts with, so that examples show only what matters.
HEADER = (
    "import torch\n"
    "import torch.nn as nn\n"
    "import torch.nn.functional as F\n"
    "from torch.nn import init\n"
    "\n"
)


class Level(str, Enum):
    """Severity, the same in every output format (SARIF level, GitHub annotation, LSP)."""

    ERROR = "error"  # the code raises when it runs, or was not checked at all
    WARNING = "warning"  # the code runs but trains badly


@dataclass(frozen=True)
class Valid:
    """An example the rule must not report."""

    source: str


@dataclass(frozen=True)
class Invalid:
    """An example the rule reports at 1-based ``line``:``column``; with ``fixed``, the source
    the autofix must turn it into."""

    source: str
    line: int
    column: int
    fixed: str | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    title: str
    #: Message templates by variant (``"default"`` is required); fields are named, already
    #: formatted strings (see :meth:`message`).
    messages: dict[str, str]
    level: Level
    what: str
    why: str
    fix: str  # the autofix section of the docs
    #: What the autofix does, as a short imperative phrase (``--show-fixes``, editor quick
    #: fixes); None when the rule has no autofix.
    fix_title: str | None = None
    #: The knowledge verdict this rule reports about a layer (layer rules only).
    verdict: Verdict | None = None
    invalid: tuple[Invalid, ...] = ()
    valid: tuple[Valid, ...] = ()
    #: The runtime verifier's message for this rule, when it can report it.
    runtime_message: str | None = None
    fields: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        names = {
            name
            for template in (
                *self.messages.values(),
                self.fix_title or "",
                self.runtime_message or "",
            )
            for _, name, _, _ in Formatter().parse(template)
            if name
        }
        object.__setattr__(self, "fields", frozenset(names))

    @property
    def fixable(self) -> bool:
        return self.fix_title is not None

    def message(self, variant: str = "default", **fields: Any) -> str:
        """The finding's message. Fields are formatted with ``str()`` only: a value that is not
        known (None) can never break a format spec."""
        return self.messages[variant].format_map({k: str(v) for k, v in fields.items()})

    def fix_message(self, **fields: Any) -> str | None:
        if self.fix_title is None:
            return None
        return self.fix_title.format_map({k: str(v) for k, v in fields.items()})

    def runtime(self, **fields: Any) -> str:
        template = self.runtime_message or self.messages["default"]
        return template.format_map({k: str(v) for k, v in fields.items()})

    def explain(self) -> str:
        """The rule's page, as ``init-lint --explain`` prints it and docs/rules/ holds it."""
        parts = [
            f"# {self.code}: {self.title}",
            "",
            f"Name: `{self.name}` · severity: {self.level.value}",
            "",
            "## What it does",
            "",
            self.what,
            "",
            "## Why",
            "",
            self.why,
        ]
        if self.invalid:
            parts += [
                "",
                "## Example (flagged)",
                "",
                "```python",
                self.invalid[0].source.rstrip(),
                "```",
            ]
        if self.valid:
            parts += ["", "## Instead", "", "```python", self.valid[0].source.rstrip(), "```"]
        parts += ["", "## Autofix", "", self.fix, ""]
        return "\n".join(parts)
