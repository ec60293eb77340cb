"""Worker processes change how fast a run is, never what it finds nor in which order."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import BROKEN, run, text_findings, write

from init_lint import parallel
from init_lint.engine import Options, is_internal_error, lint_paths, lint_sources
from init_lint.parallel import _chunks, analyze_all
from init_lint.rules import RULES

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
        (i, f"f{i}.py", f"f{i}", b"x" * size, False)
        for i, size in enumerate([5, 900, 40, 7, 300, 1])
    ]
    chunks = _chunks(tasks, jobs=2)
    assert sorted(t[0] for chunk in chunks for t in chunk) == list(range(len(tasks)))
    assert chunks[0][0][0] == 1  # the 900-byte file starts first
    assert len(chunks) > 2


_PARENT = os.getpid()
_ANALYZE = parallel.analyze_source


def _crash_on_dcgan(path: str, *args: object, **kwargs: object) -> object:
    if path.endswith("dcgan.py") and os.getpid() != _PARENT:  # only ever in a worker
        ctypes.string_at(0)  # a real segmentation fault, as in a native parser
    return _ANALYZE(path, *args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("jobs,isolate", [(2, False), (1, True)], ids=["pool", "one-worker"])
def test_a_crashing_worker_costs_its_file_only(
    monkeypatch: pytest.MonkeyPatch, jobs: int, isolate: bool
) -> None:
    sources = [(str(p), p.read_bytes()) for p in LOCAL_FILES]
    others = [s for s in sources if not s[0].endswith("dcgan.py")]
    expected = lint_sources(others, jobs=1)
    monkeypatch.setattr(parallel, "analyze_source", _crash_on_dcgan)
    findings = lint_sources(sources, jobs=jobs, isolate=isolate)
    [crash] = [f for f in findings if f.path.endswith("dcgan.py")]
    assert crash.code == "INI999" and is_internal_error(crash) and "SIGSEGV" in crash.message
    assert [f for f in findings if f is not crash] == expected


def test_cli_reports_a_crash_and_goes_on_with_one_job(tmp_path: Path) -> None:
    """The real command with one job: the worker that segfaults costs one file (exit 3: the
    tool broke), the other file's finding is still reported."""
    write(tmp_path, "crash.py", BROKEN)
    write(tmp_path, "model.py", RULES["INI005"].invalid[0].source)
    script = (
        "import ctypes, sys, init_lint.engine as engine\n"
        "real = engine.referee\n"
        "def referee(source, path):\n"
        "    if path.endswith('crash.py'):\n"
        "        ctypes.string_at(0)\n"
        "    return real(source, path)\n"
        "engine.referee = referee\n"
        "from init_lint.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "--no-cache", "--jobs", "1", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    found = {(f[0], f[3]) for f in text_findings(result.stdout)}
    assert found == {("crash.py", "INI999"), ("model.py", "INI005")}
    assert "SIGSEGV" in result.stdout and "Traceback" not in result.stderr


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


MLP = (
    "import torch.nn as nn\n\n\n"
    "class Mlp(nn.Module):\n"
    "    def __init__(self, width, act_layer=nn.GELU):\n"
    "        super().__init__()\n"
    "        self.fc = nn.Linear(width, width)\n"
    "        self.act = act_layer()\n\n"
    "    def forward(self, x):\n"
    "        return self.act(self.fc(x))\n"
)
MODEL = (
    "import torch.nn as nn\n\n"
    "from .layers import Mlp\n\n\n"
    "class Model(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.mlp = Mlp(64, act_layer=nn.ReLU)\n"
    "        self.head = nn.Linear(64, 10)\n"
)


def test_a_class_built_with_arguments_in_an_importer_runs_them_at_its_first_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importers are analysed before what they import (through a package's re-export too):
    the file defining Mlp is analysed once, already with the context model.py builds it in."""
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/layers/__init__.py", "from .mlp import Mlp\n")
    write(tmp_path, "pkg/layers/mlp.py", MLP)
    write(tmp_path, "pkg/model.py", MODEL)
    paths = sorted(tmp_path.rglob("*.py"))
    analysed: list[str] = []
    real = parallel.analyze_source
    monkeypatch.setattr(
        parallel,
        "analyze_source",
        lambda path, *rest, **kw: analysed.append(Path(path).name) or real(path, *rest, **kw),
    )
    findings = lint_paths(paths)
    assert [(Path(f.path).name, f.code) for f in findings] == [("mlp.py", "INI001")]
    assert "ReLU" in findings[0].message
    assert analysed.count("mlp.py") == 1
    assert analysed.index("model.py") < analysed.index("mlp.py")
