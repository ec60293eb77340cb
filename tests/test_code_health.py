"""The checks that keep the code checkable (issue 9), run with the suite so CI enforces them:
ruff, mypy over init_lint/, no function above cyclomatic complexity 25, no dead code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "init_lint", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_init_lint_is_formatted() -> None:
    result = _run("ruff", "format", "--check", "init_lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = _run("mypy", "init_lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_function_above_complexity_25() -> None:
    result = _run("radon", "cc", "--min", "E", "--show-complexity", "init_lint")
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_vulture_finds_no_dead_code() -> None:
    result = _run("vulture", "init_lint", "--min-confidence", "80")
    assert result.returncode == 0, result.stdout + result.stderr
