"""The pytest plugin, run in a pytester sandbox, and its promise not to import torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

try:  # imported before pytester snapshots sys.modules: torch cannot be imported twice
    import torch
except ImportError:
    torch = None

pytest_plugins = ["pytester"]
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")

MODELS = """
import torch
from torch import nn
from torch.nn import init


def mlp(he):
    layers = []
    for _ in range(3):
        linear = nn.Linear(256, 256)
        if he:
            init.kaiming_normal_(linear.weight, nonlinearity="relu")
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(256, 10))
"""


def test_plugin_imports_no_torch() -> None:
    code = (
        "import sys, init_lint.runtime.pytest_plugin, init_lint.runtime; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "from init_lint.runtime import assert_init_ok, verify"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_torch
def test_fixture_fails_with_the_offending_layers_and_passes_clean_models(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(models=MODELS)
    pytester.makepyfile(
        test_user="""
        import torch
        from models import mlp
        from init_lint.runtime import assert_init_ok


        def test_default_init(init_lint_verify):
            init_lint_verify(mlp(he=False), torch.randn(8, 256))


        def test_he_init(init_lint_verify):
            report = init_lint_verify(mlp(he=True), torch.randn(8, 256))
            assert report.ok


        def test_helper():
            assert_init_ok(mlp(he=False), torch.randn(8, 256))
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    assert "self = Report(" not in result.stdout.str()  # the frame does not drown the message
    result.stdout.fnmatch_lines([
        "*init-lint: 3 layer(s) of Sequential initialised wrongly*",
        "*INI001 0 (Linear) → ReLU: std·√fan_in = 0.5*, expected 1.414; fix: init.kaiming_normal_*",
        "*INI001 2 (Linear) → ReLU*",
        "*INI001 4 (Linear) → ReLU*",
    ])


@needs_torch
def test_ini_options_set_the_fixture_defaults(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ninit_lint_alpha = 0.2\ninit_lint_through_norm = true\n")
    pytester.makepyfile(
        test_options="""
        import torch
        from torch import nn


        def test_options(init_lint_verify):
            model = nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU())
            try:
                init_lint_verify(model, torch.randn(8, 64))
            except AssertionError as error:
                report = error.report
            assert report.alpha == 0.2 and report.through_norm
            assert report.layer("0").code == "INI001"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@needs_torch
def test_fixture_seeds_torch(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_seed="""
        import torch


        def test_first(init_lint_verify):
            drawn = torch.randn(3)
            torch.manual_seed(0)
            assert torch.equal(drawn, torch.randn(3))
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
