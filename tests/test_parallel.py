"""Worker processes change how fast a run is, never what it finds nor in which order."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from cli_helpers import BROKEN, run

from init_lint import parallel
from init_lint.engine import Options, lint_paths
from init_lint.parallel import _chunks, analyze_all

REPO = Path(__file__).resolve().parent.parent
LOCAL_FILES = sorted(
    [*(REPO / "examples").glob("*.py"), *(REPO / "tests" / "fixtures").glob("*.py")]
)


def test_workers_find_the_same_as_one_process_in_the_same_order() -> None:
    single = lint_paths(LOCAL_FILES, jobs=1)
    assert single
    assert lint_paths(LOCAL_FILES, jobs=2) == single
    assert lint_paths(LOCAL_FILES, jobs=3) == single
    assert [f.fix for f in lint_paths(LOCAL_FILES, jobs=2)] == [f.fix for f in single]


def test_results_come_back_in_input_order() -> None:
    sources = [(str(p), p.read_bytes()) for p in LOCAL_FILES]
    sources.append(("broken.py", BROKEN.encode()))
    in_process = analyze_all(sources, Options(), jobs=1)
    pooled = analyze_all(sources, Options(), jobs=2)
    assert [getattr(r, "path", None) for r in pooled] == [
        getattr(r, "path", None) for r in in_process
    ]
    assert pooled[-1] is not None and pooled[-1].code == "INI999"


def test_chunks_hold_every_file_once_largest_first() -> None:
    tasks = [
        (i, f"f{i}.py", f"f{i}", b"x" * size) for i, size in enumerate([5, 900, 40, 7, 300, 1])
    ]
    chunks = _chunks(tasks, jobs=2)
    assert sorted(t[0] for chunk in chunks for t in chunk) == list(range(len(tasks)))
    assert chunks[0][0][0] == 1  # the 900-byte file starts first
    assert len(chunks) > 2


_ANALYZE_CHUNK = parallel._analyze_chunk
_PARENT = os.getpid()


def _die_in_a_worker(tasks: list, options: Options) -> list:
    if os.getpid() != _PARENT:  # module level: the pool pickles the function by name
        os.kill(os.getpid(), signal.SIGKILL)
    return _ANALYZE_CHUNK(tasks, options)


def test_a_dying_worker_does_not_lose_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_analyze_chunk", _die_in_a_worker)
    assert lint_paths(LOCAL_FILES, jobs=2) == lint_paths(LOCAL_FILES, jobs=1)


def test_cli_jobs_option(tmp_path: Path) -> None:
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(BROKEN)
    outputs = [
        run("init-lint", "--no-cache", "--jobs", jobs, ".", cwd=tmp_path).stdout
        for jobs in ("1", "2", "0")
    ]
    assert outputs[0].count("INI999") == 3
    assert outputs[1] == outputs[0] == outputs[2]
    bad = run("init-lint", "--jobs", "-1", ".", cwd=tmp_path)
    assert bad.returncode == 2 and "--jobs" in bad.stderr
