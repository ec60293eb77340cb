"""Each rule's documented examples are its tests (as in Fixit): an invalid example is reported
with exactly its rule's code at its stated position, and, when it gives one, fixed into its
stated source in one pass; a valid example is clean."""

from __future__ import annotations

import pytest

from init_lint.engine import lint_source
from init_lint.fixer import fix_until_stable
from init_lint.rules import ALL_CODES, RULES, Invalid, Valid, rule_for

INVALID = [(code, i, ex) for code, rule in RULES.items() for i, ex in enumerate(rule.invalid)]
VALID = [(code, i, ex) for code, rule in RULES.items() for i, ex in enumerate(rule.valid)]


@pytest.mark.parametrize(
    ("code", "index", "example"), INVALID, ids=[f"{c}-invalid-{i}" for c, i, _ in INVALID]
)
def test_invalid_example_is_reported_at_its_position(
    code: str, index: int, example: Invalid
) -> None:
    found = [(f.code, f.line, f.column) for f in lint_source(example.source, "example.py")]
    assert found == [(code, example.line, example.column)]


@pytest.mark.parametrize(
    ("code", "index", "example"),
    [i for i in INVALID if i[2].fixed is not None],
    ids=[f"{c}-invalid-{i}" for c, i, e in INVALID if e.fixed is not None],
)
def test_invalid_example_is_fixed_into_its_stated_source(
    code: str, index: int, example: Invalid
) -> None:
    run = fix_until_stable(
        {"example.py": example.source.encode()},
        lambda sources: lint_source(sources["example.py"], "example.py"),
        max_rounds=1,
    )
    assert not run.unstable
    assert run.results["example.py"].fixed.decode() == example.fixed
    assert [f.code for f in run.findings] == []


@pytest.mark.parametrize(
    ("code", "index", "example"), VALID, ids=[f"{c}-valid-{i}" for c, i, _ in VALID]
)
def test_valid_example_is_clean(code: str, index: int, example: Valid) -> None:
    assert lint_source(example.source, "example.py") == []


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_is_one_documented_unit(code: str) -> None:
    rule = RULES[code]
    assert rule.invalid and rule.valid
    assert rule.fixable == any(example.fixed is not None for example in rule.invalid)
    page = rule.explain()
    for heading in ("## What it does", "## Why", "## Example (flagged)", "## Autofix"):
        assert heading in page


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_code_has_a_severity_and_a_default_message(code: str) -> None:
    rule = rule_for(code)
    assert rule.level.value in ("error", "warning")
    assert "default" in rule.messages
