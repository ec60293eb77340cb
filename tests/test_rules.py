"""Each rule's documented examples are its tests: invalid ones raise exactly that code."""

from __future__ import annotations

import pytest

from init_lint.engine import lint_source
from init_lint.rules import RULES

INVALID = [(code, i, src) for code, rule in RULES.items() for i, src in enumerate(rule.invalid)]
VALID = [(code, i, src) for code, rule in RULES.items() for i, src in enumerate(rule.valid)]


@pytest.mark.parametrize(
    ("code", "index", "source"), INVALID, ids=[f"{c}-invalid-{i}" for c, i, _ in INVALID]
)
def test_invalid_example_is_reported(code: str, index: int, source: str) -> None:
    assert {f.code for f in lint_source(source, "example.py")} == {code}


@pytest.mark.parametrize(
    ("code", "index", "source"), VALID, ids=[f"{c}-valid-{i}" for c, i, _ in VALID]
)
def test_valid_example_is_clean(code: str, index: int, source: str) -> None:
    assert lint_source(source, "example.py") == []


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_is_documented_with_examples(code: str) -> None:
    rule = RULES[code]
    assert rule.invalid and rule.valid
    page = rule.explain()
    for heading in ("## What it does", "## Why", "## Example (flagged)", "## Autofix"):
        assert heading in page
