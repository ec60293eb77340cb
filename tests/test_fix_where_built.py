"""Fixes for models built where they are used (fixture script_models.py): a Sequential in a
function or in a script's own code is named as that code names it (``net[0]``), and a fix for a
layer an applied init function reaches goes after that apply. Proved with real torch: before
the fix the runtime verifier flags exactly the reported layers, after it none, the other
layers' weights are untouched, and a second ``--fix`` changes nothing."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "script_models.py"
MODELS = {  # what each builds, given the loaded module
    "PartApplied": lambda module: module.PartApplied(),
    "PartAppliedHe": lambda module: module.PartAppliedHe(),
    "build_mlp": lambda module: module.build_mlp(),
    "build_he_mlp": lambda module: module.build_he_mlp(),
    "script_net": lambda module: module.script_net,
    "script_he_net": lambda module: module.script_he_net,
}
REPORTED = {"PartApplied", "build_mlp", "script_net"}


def _flagged(path: Path) -> dict[str, set[str]]:
    import torch

    from init_lint.runtime import verify

    torch.manual_seed(0)
    module = load_module(path)
    flagged = {}
    for name, build in MODELS.items():
        report = verify(build(module), torch.randn(512, 64))
        flagged[name] = {layer.name for layer in report.layers if layer.code is not None}
    return flagged


def test_fixes_for_models_built_where_they_are_used(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    before = _flagged(FIXTURE)
    assert {name for name, layers in before.items() if layers} == REPORTED, before
    assert all(layers <= {"0", "net.0"} for layers in before.values()), before
    fixed = Path(shutil.copy(FIXTURE, tmp_path / FIXTURE.name))
    assert main(["--quiet", "--no-cache", "--fix", str(fixed)]) == 0
    assert _flagged(fixed) == {name: set() for name in MODELS}
    text = fixed.read_text()
    assert main(["--quiet", "--no-cache", "--fix", str(fixed)]) == 0
    assert fixed.read_text() == text  # idempotent
    # Nothing but the inserted calls: every original line is still there, in order.
    original = FIXTURE.read_text().splitlines()
    changes = list(difflib.ndiff(original, text.splitlines()))
    assert not [line for line in changes if line.startswith("- ")]
    added = [line[2:] for line in changes if line.startswith("+ ")]
    assert len(added) == len(REPORTED) and all("kaiming" in line for line in added), added
