"""Start-up (issue 13, item 9): commands that lint nothing import nothing heavy, and a small
project is analysed without the cost of starting worker processes it does not need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from init_lint import parallel
from init_lint.engine import Options

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("libcst", "pathspec", "tomllib", "multiprocessing")


@pytest.mark.parametrize("argv", [["--version"], ["--explain", "INI001"], ["--help"]])
def test_commands_that_lint_nothing_import_no_parser(argv: list[str]) -> None:
    script = (
        "import sys\n"
        "from init_lint.cli import main\n"
        f"code = main({argv!r})\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), code, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stderr.strip().endswith("[] 0"), result.stderr


def test_a_small_project_gets_one_worker_a_big_one_more() -> None:
    files = sorted([*(REPO / "examples").glob("*.py"), *(REPO / "tests" / "fixtures").glob("*.py")])
    tasks = [(i, str(p), p.stem, p.read_bytes(), False) for i, p in enumerate(files)]
    workers = parallel._Workers(Options(), 0, False, parallel._Counter(None, len(tasks)))
    workers.jobs = 8  # as on a machine with 8 CPUs
    assert workers._wanted(tasks) == 1
    big = [(i, f"f{i}.py", "f", b"x" * 100_000, False) for i in range(40)]
    assert workers._wanted(big) == min(8, 4_000_000 // parallel.BYTES_PER_WORKER)
    explicit = parallel._Workers(Options(), 3, False, parallel._Counter(None, len(tasks)))
    assert explicit._wanted(tasks) == 3  # --jobs N is obeyed
