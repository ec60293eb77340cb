"""The prefilter skips parsing only files whose analysis cannot change any finding.

It is checked against the analysis itself: on every example, fixture and real-code file, the
findings with and without the prefilter are the same, whether a file is linted alone (flake8's
model) or with the others (the CLI's). "Without" means every file is analysed in full. The
real-code corpora are those of test_real_code.py (downloaded once; skipped offline).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from corpus_helpers import PACKAGES, corpus_files

from init_lint import engine
from init_lint.engine import lint_paths, lint_source
from init_lint.prefilter import may_report, names_report
from init_lint.rules import PARSE_ERROR_CODE, RULES

REPO = Path(__file__).resolve().parent.parent
LOCAL_FILES = sorted(
    [*(REPO / "examples").glob("*.py"), *(REPO / "tests" / "fixtures").glob("*.py")]
)


def _unfiltered(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> list[engine.Finding]:
    with monkeypatch.context() as patch:
        patch.setattr(engine, "may_report", lambda source: True)
        patch.setattr(engine, "names_report", lambda tree: True)
        return lint_paths(files)


def _analysed(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files a run parses with LibCST, in the order it does."""
    parsed: list[str] = []
    real = engine._analyze
    with monkeypatch.context() as patch:
        patch.setattr(
            engine, "_analyze", lambda path, *rest: parsed.append(path) or real(path, *rest)
        )
        lint_paths(files)
    return parsed


def test_every_rule_example_that_reports_passes_the_prefilter() -> None:
    for rule in RULES.values():
        for example in rule.invalid:
            assert may_report(example.source), (rule.code, example)
            assert names_report(ast.parse(example.source)), (rule.code, example)


def test_a_file_without_layers_or_init_is_only_compiled() -> None:
    source = "import os\n\n\nclass Walker:\n    def walk(self, top):\n        return Tree(os.listdir(top))\n"
    assert not may_report(source)
    assert engine.analyze_source("walk.py", source, engine.Options()) is None


def test_names_in_comments_and_strings_do_not_make_a_file_parsed() -> None:
    source = (
        "# Linear Algebra helpers; the init of the process group comes later\n"
        "OPS = ['nn.functional.relu', 'tanh']\n"
        "def solve(a, b):\n    return a.init_state(b)\n"
    )
    assert may_report(source)  # the text alone cannot tell
    assert not names_report(ast.parse(source))
    assert engine.analyze_source("ops.py", source, engine.Options()) is None
    for code in ("from torch.nn import init\n", "import torch.nn.init as I\n", "x = nn.init\n"):
        assert may_report(code) and names_report(ast.parse(code)), code


def test_a_skipped_file_that_does_not_parse_is_still_reported() -> None:
    source = "def broken(:\n    pass\n"
    assert not may_report(source)
    [finding] = lint_source(source, "broken.py")
    assert finding.code == PARSE_ERROR_CODE


BLOCK = (
    "import torch.nn as nn\n\n\n"
    "class Block(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.fc = nn.Linear(8, 8)\n\n"
    "    def forward(self, x):\n"
    "        return self.fc(x).relu()\n"
)


def test_containers_and_scripts_that_name_no_layer_still_matter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """holder.py, outer.py and train.py mention no layer, init or activation, yet train.py's
    unknown call on the model (through two containers in two files) is why blocks.py's layer is
    not reported; unrelated.py names nothing that matters and is never parsed."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "blocks.py").write_text(BLOCK)
    (package / "holder.py").write_text(
        "from .blocks import Block\n\n\n"
        "class Holder(object):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.block = Block()\n"
    )
    (package / "outer.py").write_text(
        "from .holder import Holder\n\n\nclass Outer:\n    def __init__(self):\n"
        "        self.holder = Holder()\n"
    )
    (package / "train.py").write_text(
        "from .outer import Outer\n\nmodel = Outer()\nload_checkpoint(model)\n"
    )
    (package / "unrelated.py").write_text("class Config:\n    size = Size(3)\n")
    for name in ("holder.py", "outer.py", "train.py"):
        assert not may_report((package / name).read_text())
    files = sorted(package.glob("*.py"))
    assert lint_paths(files) == [] == _unfiltered(files, monkeypatch)
    parsed = {Path(p).name for p in _analysed(files, monkeypatch)}
    assert parsed == {"blocks.py", "holder.py", "outer.py", "train.py"}
    # Without train.py the layer has no container that may initialise it: reported.
    without = [f for f in files if f.name != "train.py"]
    assert [f.code for f in lint_paths(without)] == ["INI001"]
    assert lint_paths(without) == _unfiltered(without, monkeypatch)


@pytest.mark.parametrize("path", LOCAL_FILES, ids=lambda p: p.name)
def test_prefilter_keeps_each_local_file_findings(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lint_paths([path]) == _unfiltered([path], monkeypatch)
    if not may_report(path.read_bytes()):
        assert _unfiltered([path], monkeypatch) == []


def test_prefilter_keeps_the_local_files_findings_as_one_project(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert lint_paths(LOCAL_FILES) == _unfiltered(LOCAL_FILES, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_prefilter_keeps_real_code_findings(
    name: str,
    corpus: Path,
    corpus_findings: dict[str, list[engine.Finding]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = corpus_files(corpus, name)
    assert corpus_findings[name] == _unfiltered(files, monkeypatch)
    parsed = set(_analysed(files, monkeypatch))
    assert len(parsed) < len(files), "the prefilter should skip some real files"
    # flake8's model: a file that may not report has no finding when linted on its own.
    silent = [f for f in files if not may_report(f.read_bytes())]
    assert silent
    for path in silent:
        assert [f for f in _unfiltered([path], monkeypatch) if f.code != PARSE_ERROR_CODE] == []
