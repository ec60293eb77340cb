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
    analysed = _count_analyses(monkeypatch)
    findings = lint_paths(sorted(tmp_path.rglob("*.py")))
    assert [(Path(f.path).name, f.code) for f in findings] == [("mlp.py", "INI001")]
    assert "ReLU" in findings[0].message
    assert analysed.count("mlp.py") == 1
    assert analysed.index("model.py") < analysed.index("mlp.py")


def _count_analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files analysed, in order, once per analysis."""
    analysed: list[str] = []
    real = parallel.analyze_source
    monkeypatch.setattr(
        parallel,
        "analyze_source",
        lambda path, *rest, **kw: analysed.append(Path(path).name) or real(path, *rest, **kw),
    )
    return analysed


def test_files_importing_each_other_through_their_package_are_still_ordered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block file that imports a sibling through the package's ``__init__`` (which imports
    every file of the package) is ordered before the sibling that defines the name, not in an
    import cycle with it: each file is analysed once, with the contexts its importers ask."""
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/layers/__init__.py", "from .block import Block\nfrom .mlp import Mlp\n")
    write(tmp_path, "pkg/layers/mlp.py", MLP)
    write(
        tmp_path,
        "pkg/layers/block.py",
        "import torch.nn as nn\n\nfrom pkg.layers import Mlp\n\n\n"
        "class Block(nn.Module):\n"
        "    def __init__(self, width, act_layer=nn.GELU):\n"
        "        super().__init__()\n"
        "        self.mlp = Mlp(width, act_layer=act_layer)\n\n"
        "    def forward(self, x):\n"
        "        return self.mlp(x)\n",
    )
    write(
        tmp_path,
        "pkg/model.py",
        MODEL.replace("Mlp", "Block").replace("self.mlp", "self.block"),
    )
    analysed = _count_analyses(monkeypatch)
    findings = lint_paths(sorted(tmp_path.rglob("*.py")))
    assert [(Path(f.path).name, f.code) for f in findings] == [("mlp.py", "INI001")]
    assert "ReLU" in findings[0].message
    assert analysed.count("mlp.py") == analysed.count("block.py") == 1
    assert analysed.index("model.py") < analysed.index("block.py") < analysed.index("mlp.py")


def test_an_imported_function_passed_as_a_value_is_given_at_the_first_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Block(conv_layer=make_conv)``: the builder's source comes with the file's first
    analysis, as for a function the file calls by name, not in one more round."""
    write(tmp_path, "pkg/__init__.py", "")
    write(
        tmp_path,
        "pkg/helpers.py",
        "import torch.nn as nn\n\n\ndef make_conv(cin, cout):\n    return nn.Conv2d(cin, cout, 3)\n",
    )
    write(
        tmp_path,
        "pkg/model.py",
        "import torch.nn as nn\n\nfrom .helpers import make_conv\n\n\n"
        "class Block(nn.Module):\n"
        "    def __init__(self, width, conv_layer=nn.Conv2d):\n"
        "        super().__init__()\n"
        "        self.conv = conv_layer(width, width)\n"
        "        self.act = nn.ReLU()\n\n"
        "    def forward(self, x):\n"
        "        return self.act(self.conv(x))\n\n\n"
        "class Model(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.block = Block(64, conv_layer=make_conv)\n\n"
        "    def forward(self, x):\n"
        "        return self.block(x)\n",
    )
    analysed = _count_analyses(monkeypatch)
    findings = lint_paths(sorted(tmp_path.rglob("*.py")))
    assert [(Path(f.path).name, f.line, f.code) for f in findings] == [("model.py", 9, "INI001")]
    assert analysed.count("model.py") == 1


def test_request_rounds_run_importers_first_and_each_file_once_a_round() -> None:
    """Files asked new contexts run shallowest first; what they ask of deeper files runs in
    the same round; a file asked something new after its run waits for the next round, up to
    the limit."""
    rounds = parallel._RequestRounds([0, 1, 2, 2, 1])
    assert rounds.next([3, 1]) == [1]
    assert rounds.next([2, 4]) == [4]  # a file of the same level not run yet: the same round
    assert rounds.next([]) == [2, 3]  # deeper: the same round
    assert rounds.rounds == 1
    assert rounds.next([1]) == [1]  # run in this round already: the next one
    assert rounds.rounds == 2
    assert rounds.next([]) == []
    for _ in range(parallel.MAX_REQUEST_ROUNDS):
        rounds.next([0])
    assert rounds.next([0]) == [] and rounds.rounds > parallel.MAX_REQUEST_ROUNDS


def test_a_file_whose_code_names_no_activation_still_runs_its_contexts_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its text names one (a comment), its code does not: the prefilter turns it down once
    compiled, yet it builds another file's class with arguments, so it is analysed in its wave
    and that file once, with the context."""
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/layers.py", MLP.replace("nn.GELU", "nn.ReLU"))
    write(tmp_path, "pkg/model.py", MODEL.replace("nn.ReLU)", "nn.GELU)  # GELU, not ReLU"))
    analysed = _count_analyses(monkeypatch)
    assert lint_paths(sorted(tmp_path.rglob("*.py"))) == []
    assert analysed.count("layers.py") == 1


def test_import_edges_reach_the_defining_file(tmp_path: Path) -> None:
    """What orders the waves: a name re-exported by a package (by name or by ``*``) is an
    import of the file that defines it; a ``*`` import is an import; the file's own package
    (``import pkg`` inside pkg) is none, or it would tie the package in one cycle."""
    from init_lint.engine import module_name_for
    from init_lint.function_sources import FunctionSources

    files = {
        "pkg/__init__.py": "from .blocks import *\nfrom .heads import Head\nfrom . import model\n",
        "pkg/blocks.py": "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    pass\n",
        "pkg/heads.py": "class Head:\n    pass\n",
        "pkg/model.py": "import pkg\nfrom pkg import Block, Head\n",
        "train.py": "from pkg.blocks import *\n",
    }
    for name, text in files.items():
        write(tmp_path, name, text)
    paths = [str(tmp_path / name) for name in files]
    sources = [(path, Path(path).read_bytes()) for path in paths]
    functions = FunctionSources(sources, [module_name_for(path) for path in paths])
    index = {name: i for i, name in enumerate(files)}
    edges = {name: {list(files)[j] for j in functions.imported_files(i)} for name, i in index.items()}
    assert edges["pkg/model.py"] == {"pkg/blocks.py", "pkg/heads.py"}
    assert edges["pkg/__init__.py"] == {"pkg/blocks.py", "pkg/heads.py", "pkg/model.py"}
    assert edges["train.py"] == {"pkg/blocks.py"}
