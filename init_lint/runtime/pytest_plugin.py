"""pytest plugin (entry point ``pytest11``): the ``init_lint_verify`` fixture.

pytest loads this module in every run, also where torch is not installed, so it imports neither
torch nor the verifier at import time: both are imported when the fixture is used.

    def test_init(init_lint_verify):
        init_lint_verify(MyNet(), torch.randn(2, 3, 32, 32))

The fixture calls :func:`init_lint.runtime.assert_init_ok` with the ``init_lint_alpha`` and
``init_lint_through_norm`` ini options as defaults, and returns the report. It seeds torch when
the test starts (``init_lint_seed``, default 0; empty: not seeded), so the model the test builds
has the same weights, and the test the same verdict, on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

ALPHA_OPTION = "init_lint_alpha"
THROUGH_NORM_OPTION = "init_lint_through_norm"
SEED_OPTION = "init_lint_seed"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        ALPHA_OPTION,
        "init-lint runtime verifier: false-alarm rate per model (default 0.01)",
        default="0.01",
    )
    parser.addini(
        THROUGH_NORM_OPTION,
        "init-lint runtime verifier: also judge layers that reach the activation through a norm",
        type="bool",
        default=False,
    )
    parser.addini(
        SEED_OPTION,
        "init-lint runtime verifier: torch seed set before a test using init_lint_verify "
        "(default 0; empty: not seeded)",
        default="0",
    )


@pytest.fixture
def init_lint_verify(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``init_lint_verify(model, *inputs, **options)``: fail the test, listing the offending
    layers, when a layer is initialised wrongly for the activation that follows it."""
    config = request.config
    seed = str(config.getini(SEED_OPTION)).strip()
    if seed:
        import torch

        torch.manual_seed(int(seed))
    defaults = {
        "alpha": float(config.getini(ALPHA_OPTION)),
        "through_norm": bool(config.getini(THROUGH_NORM_OPTION)),
    }

    def check(model: Any, *inputs: Any, **options: Any) -> Any:
        __tracebackhide__ = True
        from init_lint.runtime import assert_init_ok

        return assert_init_ok(model, *inputs, **{**defaults, **options})

    return check
