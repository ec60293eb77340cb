"""Fixes look as if the file's author wrote them (issue 14, item 2): on a corpus formatted with
``ruff format`` and import-sorted with ``ruff check --select I --fix``, ``init-lint --fix`` leaves
every file still formatted and still import-sorted (quotes, argument order, import placement)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_helpers import PACKAGES

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def _ruff(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ruff", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def _formatted_copy(sources: list[Path], target: Path) -> None:
    """A project formatted by ruff at its default line length, and one at 100 (init-lint reads
    the project's line length where ruff does)."""
    target.mkdir()
    if target.name.endswith("100"):
        (target / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    else:
        (target / "ruff.toml").write_text("")
    for index, source in enumerate(sources):
        shutil.copy(source, target / f"m{index}_{source.name.replace('.in.py', '.py')}")
    assert _ruff("format", ".", cwd=target).returncode == 0
    _ruff("check", "--select", "I", "--fix", ".", cwd=target)  # isort's order to start from
    assert _ruff("check", "--select", "I", ".", cwd=target).returncode == 0


def _fix_and_check(target: Path) -> None:
    before = {p.name: p.read_bytes() for p in target.glob("*.py")}
    result = subprocess.run(
        [sys.executable, "-m", "init_lint.cli", "--no-cache", "--fix", "-q", "."],
        cwd=target,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    changed = [p for p in target.glob("*.py") if p.read_bytes() != before[p.name]]
    assert changed, "the corpus must have something to fix"
    formatted = _ruff("format", "--check", ".", cwd=target)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    ordered = _ruff("check", "--select", "I", ".", cwd=target)
    assert ordered.returncode == 0, ordered.stdout + ordered.stderr


def test_fixed_local_corpus_stays_formatted_and_import_sorted(tmp_path: Path) -> None:
    sources = [
        *sorted((REPO / "examples").glob("*.py")),
        *sorted((REPO / "tests" / "fixtures").glob("*.py")),
        *sorted((REPO / "tests" / "fixes").glob("*.in.py")),
    ]
    for name in ("corpus", "corpus100"):
        target = tmp_path / name
        _formatted_copy(sources, target)
        _fix_and_check(target)


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_fixed_real_models_stay_formatted_and_import_sorted(
    corpus: Path, name: str, tmp_path: Path
) -> None:
    models = corpus / f"{name}-{PACKAGES[name]}" / name / "models"
    target = tmp_path / name
    _formatted_copy(sorted(models.glob("*.py")), target)
    _fix_and_check(target)
