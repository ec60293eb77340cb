"""The prefilter skips parsing only files whose analysis cannot change any finding.

It is checked against the analysis itself: on every example, fixture and real-code file, the
findings with and without the prefilter are the same, whether a file is linted alone (flake8's
model) or with the others (the CLI's). The real-code corpora are those of test_real_code.py
(downloaded once; skipped offline).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_helpers import PACKAGES, corpus_files

from init_lint import engine
from init_lint.engine import lint_paths, lint_source
from init_lint.prefilter import may_matter, may_report
from init_lint.rules import PARSE_ERROR_CODE, RULES

REPO = Path(__file__).resolve().parent.parent
LOCAL_FILES = sorted(
    [*(REPO / "examples").glob("*.py"), *(REPO / "tests" / "fixtures").glob("*.py")]
)


def _unfiltered(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> list[engine.Finding]:
    with monkeypatch.context() as patch:
        patch.setattr(engine, "may_matter", lambda source: True)
        return lint_paths(files)


def test_every_rule_example_that_reports_passes_the_prefilter() -> None:
    for rule in RULES.values():
        for example in rule.invalid:
            assert may_report(example.source), (rule.code, example)
            assert may_matter(example.source), (rule.code, example)


def test_a_file_without_layers_init_or_classes_is_skipped() -> None:
    source = "import os\n\n\ndef walk(top):\n    return sorted(os.listdir(top))\n"
    assert not may_report(source)
    assert not may_matter(source)
    assert engine.analyze_source("walk.py", source, engine.Options()) is None


def test_a_skipped_file_that_does_not_parse_is_still_reported() -> None:
    source = "def broken(:\n    pass\n"
    assert not may_matter(source)
    [finding] = lint_source(source, "broken.py")
    assert finding.code == PARSE_ERROR_CODE


def test_containers_and_scripts_that_name_no_layer_still_matter(tmp_path: Path) -> None:
    """holder.py and train.py mention no layer, init or activation, yet train.py's unknown call
    on the model (through holder.py's class) is why blocks.py's layer is not reported."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "blocks.py").write_text(
        "import torch.nn as nn\n\n\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n\n"
        "    def forward(self, x):\n"
        "        return self.fc(x).relu()\n"
    )
    (package / "holder.py").write_text(
        "from .blocks import Block\n\n\n"
        "class Holder(object):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.block = Block()\n"
    )
    (package / "train.py").write_text(
        "from .holder import Holder\n\nmodel = Holder()\nload_checkpoint(model)\n"
    )
    for name in ("holder.py", "train.py"):
        text = (package / name).read_text()
        assert not may_report(text) and may_matter(text)
    files = sorted(package.glob("*.py"))
    assert lint_paths(files) == []
    # Without train.py the layer has no container that may initialise it: reported.
    assert [f.code for f in lint_paths([f for f in files if f.name != "train.py"])] == ["INI001"]


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
    # flake8's model: a file that may not report has no finding when linted on its own.
    silent = [f for f in files if not may_report(f.read_bytes())]
    assert silent, "the prefilter should skip some real files"
    for path in silent:
        assert [f for f in _unfiltered([path], monkeypatch) if f.code != PARSE_ERROR_CODE] == []
