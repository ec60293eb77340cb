"""Fixture files mark their expected findings in place: ``# expect: INI001[, INI003]``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from init_lint.engine import lint_paths

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")


def expected_findings(path: Path) -> set[tuple[int, str]]:
    expected = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            expected |= {
                (number, code.strip()) for code in match.group(1).split(",") if code.strip()
            }
    return expected


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.name)
def test_fixture_findings_match_markers(path: Path) -> None:
    found = {(f.line, f.code) for f in lint_paths([path])}
    expected = expected_findings(path)
    assert expected, f"{path.name} marks no expected finding"
    missing = sorted(expected - found)
    unexpected = sorted(found - expected)
    assert not missing and not unexpected, f"missing {missing}, unexpected {unexpected}"
