"""Runtime verifier: run a real model once and test its weights and signal.

``verify`` and ``assert_init_ok`` import torch when called, not when this package is imported:
the pytest plugin (``init_lint.runtime.pytest_plugin``) is loaded in every pytest run, with or
without torch installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .report import InitFindingsError, LayerResult, Report, Signal, SignalPoint

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "InitFindingsError",
    "LayerResult",
    "Report",
    "Signal",
    "SignalPoint",
    "assert_init_ok",
    "verify",
]


def verify(model: nn.Module, *inputs: Any, **options: Any) -> Report:
    """Run ``model(*inputs)`` once and judge every Linear/Conv layer's init.

    Options: ``alpha`` (false-alarm rate for the whole model, default 0.01), ``through_norm``
    (default False), ``label`` (the findings' path), ``signal_factor`` (default 100); any other
    keyword goes to ``model.forward``. See :func:`init_lint.runtime.verifier.verify`.
    """
    from .verifier import verify as _verify

    return _verify(model, *inputs, **options)


def assert_init_ok(model: nn.Module, *inputs: Any, **options: Any) -> Report:
    """``verify`` and raise :class:`InitFindingsError` (an AssertionError) listing the offending
    layers if there are findings; returns the report otherwise."""
    __tracebackhide__ = True
    report = verify(model, *inputs, **options)
    report.raise_for_findings()
    return report
