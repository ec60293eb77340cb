"""Fixture files mark their expected findings in place, as flake8-bugbear's eval files do.

``# expect: INI001`` on a line expects that code there; ``# expect: INI001:21`` also pins the
column; several are separated by commas. A ``# options: through-norm`` line anywhere in the
file lints it with those options (``through-norm``, ``mode=fan_out``, ...). A directory of
``fixtures/packages`` is one package, linted as a whole (its options in its ``__init__.py``):
for idioms that span files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from init_lint.engine import lint_paths
from init_lint.options import Options

FIXTURES = Path(__file__).parent / "fixtures"
PACKAGES = FIXTURES / "packages"
EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9:, ]+)")
OPTIONS = re.compile(r"^#\s*options:\s*(.+)$", re.MULTILINE)


def expected_findings(path: Path) -> set[tuple[int, str, int | None]]:
    expected = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECT.search(line)
        if match is None:
            continue
        for item in filter(None, (part.strip() for part in match.group(1).split(","))):
            code, _, column = item.partition(":")
            expected.add((number, code, int(column) if column else None))
    return expected


def fixture_options(path: Path) -> Options:
    """``# options: through-norm, mode=fan_out`` → Options(through_norm=True, mode='fan_out')."""
    values: dict[str, object] = {}
    for match in OPTIONS.finditer(path.read_text()):
        for item in filter(None, (part.strip() for part in match.group(1).split(","))):
            key, _, value = item.partition("=")
            values[key.replace("-", "_")] = value if value else True
    return Options(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.name)
def test_fixture_findings_match_markers(path: Path) -> None:
    expected = expected_findings(path)
    assert expected, f"{path.name} marks no expected finding"
    found = {(f.line, f.code, f.column) for f in lint_paths([path], fixture_options(path))}
    pinned = {(line, code, column) for line, code, column in expected if column is not None}
    loose = {(line, code) for line, code, column in expected if column is None}
    missing = sorted(pinned - found) + sorted(loose - {(line, code) for line, code, _ in found})
    unexpected = sorted(
        (line, code, column)
        for line, code, column in found
        if (line, code, column) not in pinned and (line, code) not in loose
    )
    assert not missing and not unexpected, f"missing {missing}, unexpected {unexpected}"


@pytest.mark.parametrize(
    "package", sorted(p for p in PACKAGES.iterdir() if p.is_dir()), ids=lambda p: p.name
)
def test_package_fixture_findings_match_markers(package: Path) -> None:
    files = sorted(package.rglob("*.py"))
    expected = {(path, *mark) for path in files for mark in expected_findings(path)}
    assert expected, f"{package.name} marks no expected finding"
    options = fixture_options(package / "__init__.py")
    found = {(Path(f.path), f.line, f.code, f.column) for f in lint_paths(files, options)}
    missing = sorted(
        (path.name, line, code)
        for path, line, code, column in expected
        if not any(
            (p, ln, c) == (path, line, code) and column in (None, col) for p, ln, c, col in found
        )
    )
    unexpected = sorted(
        (path.name, line, code)
        for path, line, code, _ in found
        if not any((p, ln, c) == (path, line, code) for p, ln, c, _ in expected)
    )
    assert not missing and not unexpected, f"missing {missing}, unexpected {unexpected}"
