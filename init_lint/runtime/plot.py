"""The signal-propagation picture: a rectifier's output second moment against depth.

matplotlib is an optional extra (``pip install 'init-lint[plot]'``); it is imported only here,
through the object-oriented API (no pyplot, no global backend switch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Report


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def plot_signal(report: Report, path: str) -> None:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise PlotUnavailable(
            f"plotting needs matplotlib ({error}): pip install 'init-lint[plot]'"
        ) from None
    points = [p for p in report.signal.points if p.output_moment]
    figure = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if points:
        depths = [p.depth for p in points]
        axes.plot(depths, [p.output_moment for p in points], marker="o", label="E[act(y)²]")
        inputs = [(p.depth, p.input_moment) for p in points if p.input_moment]
        if inputs:
            axes.plot(
                *zip(*inputs, strict=True),
                marker=".",
                linestyle="--",
                alpha=0.6,
                label="E[y²] (pre-activation)",
            )
        first = points[0].output_moment
        factor = report.signal.factor
        axes.axhline(first, color="grey", linewidth=0.8)
        axes.axhspan(
            first / factor,
            first * factor,
            color="green",
            alpha=0.06,
            label=f"within ×{factor:g} of the first",
        )
        axes.set_yscale("log")
        axes.legend(loc="best", fontsize="small")
    else:
        axes.text(
            0.5,
            0.5,
            "no rectifier activations seen",
            ha="center",
            va="center",
            transform=axes.transAxes,
        )
    axes.set_xlabel("rectifier depth (execution order)")
    axes.set_ylabel("second moment")
    axes.set_title(f"{report.label}: signal propagation (He init keeps it flat)")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
