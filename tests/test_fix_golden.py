"""Fix styles as golden pairs (as TorchFix does): ``tests/fixes/NAME.in.py`` fixed in one pass is
exactly ``NAME.out.py``, which then reports nothing fixable and changes no further."""

from __future__ import annotations

from pathlib import Path

import pytest

from init_lint.engine import lint_sources
from init_lint.fixer import fix_until_stable

GOLDEN = Path(__file__).parent / "fixes"
PAIRS = sorted(GOLDEN.glob("*.in.py"))


@pytest.mark.parametrize("source", PAIRS, ids=lambda p: p.name.removesuffix(".in.py"))
def test_fix_matches_the_golden_output(source: Path) -> None:
    expected = source.with_name(source.name.replace(".in.py", ".out.py")).read_bytes()
    run = fix_until_stable(
        {source.name: source.read_bytes()}, lambda s: lint_sources(s.items()), max_rounds=1
    )
    assert not run.unstable, "one pass must reach the fixed point"
    assert run.results[source.name].fixed == expected
    assert not [f for f in run.findings if f.fix is not None], "nothing fixable is left"


def test_every_golden_input_has_its_output() -> None:
    assert PAIRS
    for source in PAIRS:
        assert source.with_name(source.name.replace(".in.py", ".out.py")).is_file(), source.name
