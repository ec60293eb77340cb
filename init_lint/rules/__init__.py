"""The rules: one unit per code, as in Fixit.

Each ``iniNNN.py`` module holds one :class:`Rule`: its code, name and title, the message
template(s) every front end formats findings with, the fix title, whether an autofix exists,
its severity, its documentation (what, why, fix) and its examples. The examples are written
once and serve twice: ``init-lint --explain`` and ``docs/rules/`` print them, and
``tests/test_rules.py`` checks each one (an invalid example must be reported with exactly this
code at its stated position, and, when it says so, fixed into its stated source).

Adding a rule: see CONTRIBUTING.md.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..knowledge import Verdict
from ._base import HEADER, Invalid, Level, Rule, Valid
from .ini999 import RULE as INI999

__all__ = [
    "ALL_CODES",
    "HEADER",
    "PARSE_ERROR",
    "PARSE_ERROR_CODE",
    "RULES",
    "Invalid",
    "Level",
    "Rule",
    "Valid",
    "for_verdict",
    "rule_for",
]


def _discover() -> dict[str, Rule]:
    """Every ``iniNNN`` module of this package but INI999, by code: adding a rule is adding
    its module."""
    found: dict[str, Rule] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("ini") and module.name != "ini999":
            rule = importlib.import_module(f"{__name__}.{module.name}").RULE
            assert rule.code == module.name.upper(), f"{module.name} defines {rule.code}"
            found[rule.code] = rule
    return found


#: The rules proper (with examples), by code.
RULES: dict[str, Rule] = _discover()

#: Not a rule but a report: a file that cannot be read or parsed, so that nothing is skipped
#: silently. It has a page and a severity like the rules, and no examples.
PARSE_ERROR = INI999
PARSE_ERROR_CODE = PARSE_ERROR.code

ALL_CODES: tuple[str, ...] = (*RULES, PARSE_ERROR_CODE)

_BY_VERDICT = {rule.verdict: rule for rule in RULES.values() if rule.verdict is not None}


def rule_for(code: str) -> Rule:
    """The rule (or the parse-error report) for ``code``; ``KeyError`` for an unknown code."""
    return PARSE_ERROR if code == PARSE_ERROR_CODE else RULES[code]


def for_verdict(verdict: Verdict) -> Rule | None:
    """The rule that reports a layer with this verdict (None for OK and UNKNOWN)."""
    return _BY_VERDICT.get(verdict)
