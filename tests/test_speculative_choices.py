"""A registry that may return something unknown builds each known option speculatively: such a
context reports nothing on its own, but a fix must hold in it (fixture speculative_choices.py).
The runtime side, with real torch: where ``Net`` does build ``Rough``, its loop is the init that
holds, so a call inserted in ``Rough.__init__`` would be overwritten there."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from module_helpers import load_module

from init_lint.engine import Options, lint_paths

FIXTURE = Path(__file__).parent / "fixtures" / "speculative_choices.py"


def test_a_speculative_context_blocks_the_fix_but_reports_nothing() -> None:
    findings = lint_paths([FIXTURE], Options())
    assert [(f.line, f.code) for f in findings] == [(26, "INI001")], findings
    assert findings[0].fix is None
    assert "no autofix: its contexts initialise it in different places" in findings[0].message


def test_where_the_model_builds_the_option_its_loop_is_the_final_init() -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    module = load_module(FIXTURE)
    torch.manual_seed(0)
    built = module.Net(SimpleNamespace(kind="rough"))
    report = verify(built, torch.randn(2, 64, 6, 6))
    conv = next(layer for layer in report.layers if layer.name == "block.conv")
    # Not PyTorch's default (std*sqrt(fan_in) 0.58) that Rough alone keeps: the loop's gain 1.
    weight = built.block.conv.weight
    assert conv.code == "INI001", str(report)
    assert abs(float(weight.detach().std()) * weight[0].numel() ** 0.5 - 1.0) < 0.1
    alone = verify(module.Rough(64), torch.randn(2, 64, 6, 6))
    assert {layer.name: layer.code for layer in alone.layers}["conv"] == "INI001", str(alone)
