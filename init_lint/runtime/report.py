"""The runtime verifier's result: per-layer verdicts, findings, the signal curve, a table.

Pure Python (no torch), so reports can be built, printed and serialised anywhere.

Findings use the linter's :class:`~init_lint.findings.Finding` shape. A runtime finding has no
source position: ``path`` is the report's label (``package.module:factory`` from the CLI, the
model's class name from Python unless ``label=`` is given), ``line`` and ``column`` are 0, and the
message starts with the layer's qualified module name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding
from ..knowledge import Activation, Family, Fans
from ..rules import for_verdict
from .assess import Assessment, Status

NOT_CHECKED = "not checked"
NOT_CALLED = "not called"


def attribute_path(qualified_name: str, root: str = "model") -> str:
    """'features.0' → 'model.features[0]': how code reaches the module."""
    text = root
    for part in qualified_name.split(".") if qualified_name != "<model>" else ():
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


@dataclass(frozen=True)
class LayerResult:
    """One layer (and, if its calls reach different activations, one row per activation)."""

    name: str  # qualified module name, e.g. 'features.0'
    class_name: str
    weight_shape: tuple[int, ...]
    fans: Fans | None
    calls: int
    consumer: str  # what first consumed its output: an activation, 'add', 'BatchNorm2d', ...
    activation: Activation | None  # set when the consumer is an activation init-lint judges
    through: tuple[str, ...] = ()
    via_norm: bool = False
    assessment: Assessment | None = None
    note: str = ""

    @property
    def status(self) -> str:
        if self.assessment is not None:
            return self.assessment.status
        return NOT_CALLED if self.calls == 0 else NOT_CHECKED

    @property
    def code(self) -> str | None:
        if self.assessment is not None and self.assessment.status == Status.FINDING:
            rule = for_verdict(self.assessment.verdict)
            return rule.code if rule is not None else None
        return None

    @property
    def inconclusive(self) -> bool:
        return self.status == Status.INCONCLUSIVE

    def follows(self) -> str:
        """The activation (or other consumer), with the ops looked through."""
        head = self.activation.describe() if self.activation else self.consumer
        return " → ".join((*self.through, head)) if self.through else head

    def message(self) -> str:
        """The finding message (for findings) or the reason for the status."""
        a = self.assessment
        if a is None:
            return self.note or f"output goes to {self.consumer}: nothing to check"
        act = self.follows()
        measured = f"std·√{a.mode} = {a.gain:.3f}"
        if a.std_interval[0] != a.std_interval[1] and self.fans is not None:
            fan = self.fans.fan_in if a.mode == "fan_in" else self.fans.fan_out
            lo, hi = (s * math.sqrt(fan) for s in a.std_interval)
            measured += f" [{lo:.3f}, {hi:.3f}]"
        expected = f"{a.required_gain:.3f}" if a.required_gain is not None else "?"
        rule = for_verdict(a.verdict) if a.status == Status.FINDING else None
        if rule is not None:
            target = f"{attribute_path(self.name)}.weight"
            fix = self.activation.recommended_call(target) if self.activation else None
            return rule.runtime(
                layer=self.name,
                layer_class=self.class_name,
                activation=act,
                scheme=a.scheme,
                measured=measured,
                expected=expected,
                advice=f"; use {fix}" if fix else "",
            )
        if a.status == Status.INCONCLUSIVE:
            return f"{self.name} ({self.class_name}) feeds {act}: inconclusive, {a.reason}"
        return f"{self.name} ({self.class_name}) feeds {act}: {a.scheme}, {measured}"

    def to_json(self) -> dict[str, Any]:
        a = self.assessment
        return {
            "layer": self.name,
            "class": self.class_name,
            "weight_shape": list(self.weight_shape),
            "fan_in": self.fans.fan_in if self.fans else None,
            "fan_out": self.fans.fan_out if self.fans else None,
            "calls": self.calls,
            "follows": self.follows(),
            "activation": self.activation.describe() if self.activation else None,
            "via_norm": self.via_norm,
            "status": self.status,
            "code": self.code,
            "scheme": a.scheme if a else None,
            "distribution": a.distribution if a else None,
            "std": a.std if a else None,
            "std_interval": list(a.std_interval) if a else None,
            "gain": a.gain if a else None,
            "gain_mode": a.mode if a else None,
            "expected_gain": a.required_gain if a else None,
            "alternatives": list(a.alternatives) if a else [],
            "message": self.message(),
        }


@dataclass(frozen=True)
class SignalPoint:
    """A rectifier's output second moment E[relu(y)²] at one depth (He et al.'s criterion)."""

    depth: int  # 1-based index among the rectifier calls, in execution order
    layer: str | None  # the layer whose output the rectifier consumed, when it was one
    activation: str
    input_moment: float | None
    output_moment: float | None
    relative: float | None  # output_moment / the first rectifier's
    step_ratio: float | None  # output_moment / the previous rectifier's
    state: str  # 'ok', 'vanishing', 'exploding' or 'unknown'


@dataclass(frozen=True)
class Signal:
    points: tuple[SignalPoint, ...]
    factor: float  # a change by this factor from the first rectifier counts as vanish/explode

    @property
    def vanishes_at(self) -> SignalPoint | None:
        return next((p for p in self.points if p.state == "vanishing"), None)

    @property
    def explodes_at(self) -> SignalPoint | None:
        return next((p for p in self.points if p.state == "exploding"), None)

    @property
    def mean_step_ratio(self) -> float | None:
        """Geometric mean of the layer-to-layer ratios (1.0 under He init)."""
        ratios = [p.step_ratio for p in self.points if p.step_ratio and p.step_ratio > 0]
        if not ratios:
            return None
        return math.exp(sum(math.log(r) for r in ratios) / len(ratios))

    def summary(self) -> str:
        if not self.points:
            return "signal: no rectifier activations seen"
        parts = [f"signal: {len(self.points)} rectifier activations"]
        ratio = self.mean_step_ratio
        if ratio is not None:
            parts.append(f"second moment × {ratio:.3g} per rectifier on average (He: 1)")
        for point, word in ((self.vanishes_at, "vanishes"), (self.explodes_at, "explodes")):
            if point is not None:
                where = f" (after layer {point.layer})" if point.layer else ""
                parts.append(
                    f"{word} from depth {point.depth}{where}: E[x²] = "
                    f"{point.output_moment:.3g}, {point.relative:.3g}× the first"
                )
        return "; ".join(parts)

    def to_json(self) -> list[dict[str, Any]]:
        return [p.__dict__.copy() for p in self.points]


def signal_curve(
    calls: list[tuple[str | None, Activation, float | None, float | None]], factor: float
) -> Signal:
    """Build the curve from (layer, activation, input E[x²], output E[x²]) of rectifier calls."""
    points: list[SignalPoint] = []
    first: float | None = None
    previous: float | None = None
    for depth, (layer, activation, before, after) in enumerate(
        (c for c in calls if c[1].family is Family.RECTIFIER), start=1
    ):
        if first is None and after:
            first = after
        relative = after / first if after is not None and first else None
        step = after / previous if after is not None and previous else None
        if relative is None:
            state = "unknown"
        elif relative < 1 / factor:
            state = "vanishing"
        elif relative > factor:
            state = "exploding"
        else:
            state = "ok"
        points.append(
            SignalPoint(depth, layer, activation.describe(), before, after, relative, step, state)
        )
        previous = after if after else previous
    return Signal(tuple(points), factor)


class InitFindingsError(AssertionError):
    """Raised by :meth:`Report.raise_for_findings`; the message lists the offending layers."""

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(report.failure_message())


@dataclass(frozen=True)
class Report:
    label: str
    layers: tuple[LayerResult, ...]
    signal: Signal
    alpha: float
    through_norm: bool = False
    tests: int = 0  # layers tested statistically (the Bonferroni divisor)
    notes: tuple[str, ...] = field(default=())

    @property
    def findings(self) -> list[Finding]:
        return [
            Finding(self.label, 0, 0, layer.code, layer.message())
            for layer in self.layers
            if layer.code is not None
        ]

    @property
    def ok(self) -> bool:
        return not any(layer.code for layer in self.layers)

    @property
    def inconclusive(self) -> list[LayerResult]:
        return [layer for layer in self.layers if layer.inconclusive]

    def layer(self, name: str) -> LayerResult:
        """The (first) result for the module with this qualified name."""
        for result in self.layers:
            if result.name == name:
                return result
        raise KeyError(name)

    def raise_for_findings(self) -> None:
        if not self.ok:
            raise InitFindingsError(self)

    def failure_message(self) -> str:
        offending = [layer for layer in self.layers if layer.code]
        lines = [
            f"init-lint: {len(offending)} layer(s) of {self.label} are initialised "
            f"wrongly for the activation that follows:"
        ]
        lines += [f"  {layer.code} {layer.message()}" for layer in offending]
        lines += ["", self.table()]
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for layer in self.layers:
            key = layer.code or layer.status
            counts[key] = counts.get(key, 0) + 1
        return counts

    def table(self) -> str:
        header = (
            "layer",
            "class",
            "follows",
            "weights look like",
            "std·√fan",
            "expected",
            "result",
        )
        rows = [header]
        for layer in self.layers:
            a = layer.assessment
            rows.append(
                (
                    layer.name,
                    layer.class_name,
                    layer.follows(),
                    a.scheme if a else "",
                    f"{a.gain:.3f} ({a.mode})" if a else "",
                    f"{a.required_gain:.3f}" if a and a.required_gain is not None else "",
                    layer.code or layer.status,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines)

    def summary(self) -> str:
        counts = ", ".join(f"{count} {key}" for key, count in sorted(self.counts().items()))
        return (
            f"{self.label}: {len(self.findings)} finding(s) ({counts}); "
            f"alpha {self.alpha:g} over {self.tests} tested layer(s)"
            + (", through norms" if self.through_norm else "")
        )

    def __str__(self) -> str:
        parts = [self.table(), "", self.summary(), self.signal.summary()]
        parts += list(self.notes)
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "ok": self.ok,
            "alpha": self.alpha,
            "tests": self.tests,
            "findings": [f.to_json() for f in self.findings],
            "layers": [layer.to_json() for layer in self.layers],
            "signal": self.signal.to_json(),
        }

    def plot(self, path: str) -> None:
        """Save the signal curve (second moment vs depth) as an image; needs matplotlib."""
        from .plot import plot_signal

        plot_signal(self, path)
