"""Layer/activation pairs flattened into one nn.Sequential (fixture sequential.py): a nested
comprehension ``[m for d in dims for m in (Linear, ReLU)]`` and
``itertools.chain.from_iterable``, ``sum(..., [])``. Static findings, the runtime verifier's verdicts with real
torch, and ``--fix`` making every Linear He-initialised."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "sequential.py"
CLASSES = {
    "FlatComprehension": "INI001",
    "FlatChain": "INI001",
    "FlatSum": "INI001",
    "FlatTanh": None,
}


def _codes(path: Path, name: str) -> list[str | None]:
    import torch

    from init_lint.runtime import verify

    torch.manual_seed(0)
    report = verify(getattr(load_module(path), name)(), torch.randn(512, 32))
    return [layer.code for layer in report.layers]


def test_flattened_pairs_agree_with_the_runtime_and_are_fixed(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    for name, code in CLASSES.items():
        assert _codes(FIXTURE, name) == [code] * 3, name
    fixed = Path(shutil.copy(FIXTURE, tmp_path / FIXTURE.name))
    main(["--quiet", "--no-cache", "--fix", str(fixed)])
    for name in CLASSES:
        assert _codes(fixed, name) == [None] * 3, name


def test_shared_activation_instances_agree_with_the_runtime() -> None:
    """``RELU = nn.ReLU()`` at module level, bound in a class body, layers imported as
    ``Linear as Dense`` (fixture shared_activations.py)."""
    torch = pytest.importorskip("torch")
    from init_lint.engine import Options, lint_paths
    from init_lint.runtime import verify

    fixture = FIXTURE.parent / "shared_activations.py"
    assert [f.code for f in lint_paths([fixture], Options())] == ["INI001"] * 3
    module = load_module(fixture)
    expected = {
        "SharedReLU": {"d1": "INI001", "d2": "INI001"},
        "ClassBoundLeaky": {"d": "INI001"},
        "SharedLeakyInitialised": {"d": None},
    }
    for name, codes in expected.items():
        torch.manual_seed(0)
        report = verify(getattr(module, name)(), torch.randn(512, 64))
        assert {layer.name: layer.code for layer in report.layers} == codes, str(report)
