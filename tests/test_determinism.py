"""A run's findings do not depend on the interpreter's hash seed (fixture branch_order.py).

Checked the way users meet it: the CLI in fresh processes with different ``PYTHONHASHSEED``
values; and, with real torch, that the finding all of them report is what the built module
does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.analysis.common import merge_maps
from init_lint.analysis.values import UNKNOWN, ConstVal

FIXTURE = Path(__file__).parent / "fixtures" / "branch_order.py"
SEEDS = ("0", "1", "2", "3", "4", "5")


def _cli(seed: str) -> str:
    environment = {**os.environ, "PYTHONHASHSEED": seed}
    command = [sys.executable, "-m", "init_lint.cli", "--no-cache", "--format", "json", FIXTURE]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    assert done.returncode == 1, done.stderr
    return done.stdout


def test_findings_are_the_same_whatever_the_hash_seed() -> None:
    outputs = {seed: _cli(seed) for seed in SEEDS}
    assert len(set(outputs.values())) == 1, outputs
    assert outputs["0"].count('"INI001"') == 2, outputs["0"]


def test_variables_after_branches_keep_the_order_of_the_code() -> None:
    first, second = ConstVal(1), ConstVal(2)
    merged = merge_maps([{"b": first, "a": first}, {"a": second, "c": second}])
    assert list(merged) == ["b", "a", "c"]
    assert merged["b"] is not UNKNOWN and merged["c"] is not UNKNOWN


@pytest.mark.parametrize("wide", [True, False])
def test_the_conv_really_feeds_relu_with_the_default_init(wide: bool) -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    module = load_module(FIXTURE)
    torch.manual_seed(0)
    report = verify(module.Stack(64, wide), torch.randn(4, 64, 8, 8))
    conv = next(layer for layer in report.layers if layer.name == "0")
    assert conv.code == "INI001", str(report)
    guarded = verify(module.Guarded(64, wide), torch.randn(4, 64, 8, 8))
    assert all(layer.code is None for layer in guarded.layers), str(guarded)
