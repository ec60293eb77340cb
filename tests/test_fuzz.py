"""A bounded slice of the fuzz harness (tests/fuzz_harness.py), run with the slow tests.

The full run (``python tests/fuzz_harness.py --generated 12000 --mutated 8000``) takes about an
hour on two cores; this slice takes under a minute and exercises every mutation.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_harness import MUTATIONS, fuzz


def _assert_clean(summary: dict[str, object]) -> None:
    assert summary["failures"] == [], summary["failures"]
    assert set(summary["outcomes"]) == {"ok"}  # type: ignore[arg-type]


@pytest.mark.slow
def test_generated_programs() -> None:
    summary = fuzz(120, 0, seed=13, jobs=2)
    assert summary["files"] == 120
    _assert_clean(summary)


@pytest.mark.slow
def test_mutated_model_files(corpus: Path) -> None:
    summary = fuzz(0, 12 * len(MUTATIONS), seed=13, jobs=2, corpus=corpus)
    assert summary["files"] == 12 * len(MUTATIONS)
    _assert_clean(summary)
