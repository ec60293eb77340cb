"""Runtime verifier: run a real model once and test its weights and signal.

``verify`` and ``assert_init_ok`` import torch when called, not when this package is imported:
the pytest plugin (``init_lint.runtime.pytest_plugin``) is loaded in every pytest run, with or
without torch installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .report import InitFindingsError, LayerResult, Report, Signal, SignalPoint

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from torch import nn

__all__ = [
    "InitFindingsError",
    "LayerResult",
    "Report",
    "Signal",
    "SignalPoint",
    "assert_init_ok",
    "record_sites",
    "verify",
]


def verify(
    model: nn.Module,
    *inputs: Any,
    alpha: float = 0.01,
    through_norm: bool = False,
    label: str | None = None,
    signal_factor: float = 100.0,
    **forward_kwargs: Any,
) -> Report:
    """Run ``model(*inputs, **forward_kwargs)`` once and judge every Linear/Conv layer's init.

    ``alpha``: probability of reporting any correctly initialised layer of this model
    (Bonferroni-corrected over the layers tested). ``through_norm``: also judge layers whose
    output reaches the activation through a norm layer. ``label``: the findings' ``path``
    (default: the model's class name). ``signal_factor``: a rectifier output second moment this
    many times below (above) the first one's is reported as vanishing (exploding).
    See :func:`init_lint.runtime.verifier.verify`.
    """
    from .verifier import verify as _verify

    return _verify(
        model,
        *inputs,
        alpha=alpha,
        through_norm=through_norm,
        label=label,
        signal_factor=signal_factor,
        **forward_kwargs,
    )


def assert_init_ok(model: nn.Module, *inputs: Any, **options: Any) -> Report:
    """:func:`verify`, then raise :class:`InitFindingsError` (an AssertionError) listing the
    offending layers if there are findings; returns the report otherwise."""
    __tracebackhide__ = True
    report = verify(model, *inputs, **options)
    report.raise_for_findings()
    return report


def record_sites() -> AbstractContextManager[None]:
    """``with record_sites(): model = build()``: remember where each module is constructed, so
    that :func:`verify` reports findings at the constructor call's file:line:col (see
    :mod:`init_lint.runtime.sites`)."""
    from .sites import record_sites as _record_sites

    return _record_sites()
