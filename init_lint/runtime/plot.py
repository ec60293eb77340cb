"""The signal-propagation picture: a rectifier's output second moment against depth.

matplotlib is an optional extra (``pip install 'init-lint[plot]'``); it is imported only here,
through the object-oriented API (no pyplot, no global backend switch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report import Report, SignalPoint


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def plot_signal(report: Report, path: str) -> None:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise PlotUnavailable(
            f"plotting needs matplotlib ({error}): pip install 'init-lint[plot]'"
        ) from None
    points = [p for p in report.signal.points if p.output_moment]
    figure = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if points:
        _draw(axes, report, points)
    else:
        axes.text(
            0.5,
            0.5,
            "no rectifier activations seen",
            ha="center",
            va="center",
            transform=axes.transAxes,
        )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # depths are whole numbers
    axes.set_xlabel("rectifier depth (execution order)")
    axes.set_ylabel("second moment")
    axes.set_title(f"{report.label}: signal propagation (He init keeps it flat)")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _draw(axes: Any, report: Report, points: list[SignalPoint]) -> None:
    """The raw curve, the curve with healthy residual growth divided out, the ±factor band,
    and a label on every point whose layer has a finding or where the signal vanishes or
    explodes."""
    depths = [p.depth for p in points]
    axes.plot(depths, [p.output_moment for p in points], marker="o", label="E[act(y)²]")
    first = points[0].output_moment
    assert first is not None
    if any(p.residual != 1.0 for p in points):
        axes.plot(
            depths,
            [first * (p.adjusted or 0.0) for p in points],
            marker=".",
            linestyle="--",
            alpha=0.7,
            label="residual growth (≤ ×2 per addition) divided out",
        )
    factor = report.signal.factor
    axes.axhline(first, color="grey", linewidth=0.8)
    axes.axhspan(
        first / factor, first * factor, color="green", alpha=0.06, label=f"within ×{factor:g}"
    )
    codes = {layer.name: layer.code for layer in report.layers if layer.code}
    for point in points:
        label = codes.get(point.layer or "")
        if label is None and point.state in ("vanishing", "exploding"):
            label = point.state
        if label is None:
            continue
        axes.plot([point.depth], [point.output_moment], marker="o", color="red")
        axes.annotate(
            f"{point.layer or '?'}: {label}",
            (point.depth, point.output_moment),
            textcoords="offset points",
            xytext=(4, 6),
            fontsize="x-small",
            color="red",
        )
    axes.set_yscale("log")
    axes.legend(loc="best", fontsize="small")
