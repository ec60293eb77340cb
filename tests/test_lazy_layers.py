"""Lazy layers (nn.LazyLinear, nn.LazyConv2d) get PyTorch's default init when their first
forward materialises them: a finding, but no fix where they are built (their weight has no
shape there, so an init call raises), nor a loop fix that would reach them through
``isinstance(m, nn.Linear)``. Proved with real torch: the fixed model still builds and runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.cli import main
from init_lint.engine import Options, lint_paths

FIXTURE = Path(__file__).parent / "fixtures" / "layer_idioms.py"


def _lazy_head_findings(path: Path) -> list[tuple[str, bool]]:
    """(layer class, has a fix) of each finding in LazyHead, in order."""
    lines = path.read_text().splitlines()
    start = next(i for i, text in enumerate(lines, 1) if text.startswith("class LazyHead("))
    end = next(
        (i for i, text in enumerate(lines, 1) if i > start and text.startswith("class ")),
        len(lines) + 1,
    )
    return [
        (f.message.split("' (")[1].split(")")[0], f.fix is not None)
        for f in lint_paths([path], Options())
        if start < f.line < end
    ]


def test_lazy_layers_are_reported_without_a_fix() -> None:
    found = _lazy_head_findings(FIXTURE)
    assert found == [
        ("LazyConv2d", False),
        ("Linear", True),
        ("LazyLinear", False),
    ], found


def test_the_fixed_model_builds_runs_and_its_eager_layer_is_he_initialised(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    fixed = Path(shutil.copy(FIXTURE, tmp_path / "layer_idioms.py"))
    assert main(["--quiet", "--no-cache", "--fix", str(fixed)]) in (0, 1)
    module = load_module(fixed)
    torch.manual_seed(0)
    model = module.LazyHead()  # an init of a lazy weight here would raise
    report = verify(model, torch.randn(64, 3, 8, 8))
    codes = {layer.name: layer.code for layer in report.layers}
    assert codes["layers.0"] is None, str(report)  # fixed: He init
    assert codes["conv"] == "INI001" and codes["layers.1"] == "INI001", str(report)
