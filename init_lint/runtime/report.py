"""The runtime verifier's result: per-layer verdicts, findings, the signal curve, a table.

Pure Python (no torch), so reports can be built, printed and serialised anywhere.

Findings use the linter's :class:`~init_lint.findings.Finding` shape, with the measurement in
its ``evidence``. A runtime finding is placed where its layer was built (see
:mod:`init_lint.runtime.sites`); when that is not known, ``path`` is the report's label
(``package.module:factory`` from the CLI, the model's class name from Python unless ``label=`` is
given) and ``line``/``column`` are 0. The message starts with the layer's qualified module name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..findings import Evidence, Finding
from ..knowledge import (
    NORM_FUNCTIONS,
    NORM_LAYERS,
    Activation,
    Fans,
    LayerGeometry,
    forward_correction,
    required_mode,
)
from ..rules import for_verdict
from .assess import Assessment, Status

if TYPE_CHECKING:
    from .sites import Site

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
    geometry: LayerGeometry | None = None  # with the input size it was called on
    site: Site | None = None  # where it was built

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

    @property
    def gain_interval(self) -> tuple[float, float] | None:
        """The 1-alpha interval of std·√fan for the assessment's fan mode."""
        a = self.assessment
        if a is None or self.fans is None:
            return None
        fan = self.fans.fan_in if a.mode == "fan_in" else self.fans.fan_out
        low, high = a.std_interval
        return low * math.sqrt(fan), high * math.sqrt(fan)

    def fix(self) -> str | None:
        """The init call that gives this layer He's (or Glorot's) scale for its activation."""
        if self.activation is None:
            return None
        target = f"{attribute_path(self.name)}.weight"
        mode = required_mode(self.geometry, self.activation)
        call = self.activation.recommended_call(
            target, mode=mode or "fan_in", explicit_mode=mode is not None
        )
        factor = forward_correction(self.geometry, self.activation)
        if call is not None and factor is not None and not math.isclose(factor, 1.0):
            call += f", then {target}.data.mul_({factor:.6g})"
        return call

    def measured(self) -> str:
        a = self.assessment
        if a is None:
            return ""
        text = f"std·√{a.mode} = {a.gain:.3f}"
        interval = self.gain_interval
        if interval is not None and interval[0] != interval[1]:
            text += f" [{interval[0]:.3f}, {interval[1]:.3f}]"
        return text

    def message(self) -> str:
        """The finding message (for findings) or the reason for the status."""
        a = self.assessment
        if a is None:
            return self.note or f"output goes to {self.consumer}: nothing to check"
        act = self.follows()
        measured = self.measured()
        expected = f"{a.required_gain:.3f}" if a.required_gain is not None else "?"
        rule = for_verdict(a.verdict) if a.status == Status.FINDING else None
        if rule is not None:
            fix = self.fix()
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

    def evidence(self, alpha: float, tests: int) -> Evidence | None:
        a = self.assessment
        interval = self.gain_interval
        if a is None or interval is None or self.activation is None:
            return None
        p_value = None if a.p_value is None else min(1.0, a.p_value * max(tests, 1))
        return Evidence(
            self.name,
            self.class_name,
            self.activation.describe(),
            a.mode,
            a.gain,
            interval,
            a.required_gain,
            a.scheme,
            p_value,
            alpha,
        )

    def to_json(self) -> dict[str, Any]:
        a = self.assessment
        site = self.site
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
            "p_value": a.p_value if a else None,
            "path": site.path if site else None,
            "line": site.line if site else None,
            "column": site.column if site else None,
            "message": self.message(),
        }


#: E[(x + f(x))²] / E[x²] for a residual branch f(x) independent of x and of the same scale: what
#: a healthy residual addition does to the second moment. Growth beyond it is the layers'.
RESIDUAL_GROWTH = 2.0


@dataclass(frozen=True)
class SignalPoint:
    """A rectifier's output second moment E[relu(y)²] at one depth (He et al.'s criterion)."""

    depth: int  # 1-based index among the rectifier calls, in execution order
    layer: str | None  # the layer whose output the rectifier consumed, when it was one
    activation: str
    output_moment: float | None
    relative: float | None  # output_moment / the first rectifier's
    #: Growth due to the residual additions before this point, each counted up to
    #: RESIDUAL_GROWTH: ``relative / residual`` is what the layers did.
    residual: float
    step_ratio: float | None  # the same, from the previous rectifier
    state: str  # 'ok', 'vanishing', 'exploding' or 'unknown'

    @property
    def adjusted(self) -> float | None:
        return None if self.relative is None else self.relative / self.residual


@dataclass(frozen=True)
class Signal:
    points: tuple[SignalPoint, ...]
    factor: float  # a change by this factor from the first rectifier counts as vanish/explode
    residual_growths: tuple[float, ...] = ()  # E[(a+b)²] / max(E[a²], E[b²]) per addition

    @property
    def vanishes_at(self) -> SignalPoint | None:
        return next((p for p in self.points if p.state == "vanishing"), None)

    @property
    def explodes_at(self) -> SignalPoint | None:
        return next((p for p in self.points if p.state == "exploding"), None)

    @property
    def mean_step_ratio(self) -> float | None:
        """Geometric mean of the rectifier-to-rectifier ratios, residual growth divided out
        (1.0 under He init)."""
        ratios = [p.step_ratio for p in self.points if p.step_ratio and p.step_ratio > 0]
        if not ratios:
            return None
        return math.exp(sum(math.log(r) for r in ratios) / len(ratios))

    @property
    def mean_residual_growth(self) -> float | None:
        growths = [g for g in self.residual_growths if g > 0]
        if not growths:
            return None
        return math.exp(sum(math.log(g) for g in growths) / len(growths))

    def summary(self) -> str:
        if not self.points:
            return "signal: no rectifier activations seen"
        parts = [f"signal: {len(self.points)} rectifier activations"]
        growth = self.mean_residual_growth
        if growth is not None:
            parts.append(
                f"{len(self.residual_growths)} residual additions, E[x²] ×{growth:.3g} per "
                f"addition (x + f(x), f as large as x and independent: ×{RESIDUAL_GROWTH:g})"
            )
        ratio = self.mean_step_ratio
        if ratio is not None:
            extra = ", residual growth aside" if growth is not None else ""
            parts.append(f"second moment × {ratio:.3g} per rectifier on average{extra} (He: 1)")
        for point, word in ((self.vanishes_at, "vanishes"), (self.explodes_at, "explodes")):
            if point is not None and point.adjusted is not None:
                where = f" (after layer {point.layer})" if point.layer else ""
                parts.append(
                    f"{word} from depth {point.depth}{where}: E[x²] = "
                    f"{point.output_moment:.3g}, {point.adjusted:.3g}× the first"
                    + (" after residual growth" if point.residual != 1.0 else "")
                )
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "points": [{**p.__dict__, "adjusted": p.adjusted} for p in self.points],
            "residual_growths": list(self.residual_growths),
        }


def signal_curve(calls: list[Any], residuals: list[Any], factor: float) -> Signal:
    """Build the curve from the rectifier calls (``order``, ``activation``, ``output_moment``,
    ``layer``) and the residual additions (``order``, ``growth``) of one pass."""
    events = sorted([*calls, *residuals], key=lambda e: e.order)
    points: list[SignalPoint] = []
    first: float | None = None
    previous: float | None = None
    residual = since_previous = 1.0
    for event in events:
        if not hasattr(event, "activation"):
            if event.growth:
                credit = min(event.growth, RESIDUAL_GROWTH)
                residual, since_previous = residual * credit, since_previous * credit
            continue
        after = event.output_moment
        if first is None and after:
            first = after
            residual = since_previous = 1.0  # growth before the first rectifier is the input's
        relative = after / first if after is not None and first else None
        step = after / previous / since_previous if after is not None and previous else None
        if relative is None:
            state = "unknown"
        elif relative / residual < 1 / factor:
            state = "vanishing"
        elif relative / residual > factor:
            state = "exploding"
        else:
            state = "ok"
        points.append(
            SignalPoint(
                len(points) + 1,
                event.layer,
                event.activation.describe(),
                after,
                relative,
                residual,
                step,
                state,
            )
        )
        if after:
            previous, since_previous = after, 1.0
    growths = tuple(r.growth for r in residuals if r.growth is not None)
    return Signal(tuple(points), factor, growths)


class InitFindingsError(AssertionError):
    """Raised by :meth:`Report.raise_for_findings`; the message lists the offending layers."""

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(report.failure_message())


@dataclass(frozen=True, repr=False)
class Report:
    label: str
    layers: tuple[LayerResult, ...]
    signal: Signal
    alpha: float
    through_norm: bool = False
    tests: int = 0  # layers tested statistically (the Bonferroni divisor)
    notes: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:  # short: pytest prints the locals of failing frames
        return f"<Report {self.label}: {self.summary()}>"

    @property
    def findings(self) -> list[Finding]:
        findings = []
        for layer in self.layers:
            if layer.code is None:
                continue
            site = layer.site
            position = (
                (site.path, site.line, site.column, site.end_line, site.end_column)
                if site is not None
                else (self.label, 0, 0, 0, 0)
            )
            path, line, column, end_line, end_column = position
            findings.append(
                Finding(
                    path,
                    line,
                    column,
                    layer.code,
                    layer.message(),
                    end_line,
                    end_column,
                    evidence=layer.evidence(self.alpha, self.tests),
                )
            )
        return findings

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
        __tracebackhide__ = True
        if not self.ok:
            raise InitFindingsError(self)

    def failure_message(self) -> str:
        """The offending layers first (name, class, activation, measured vs expected, fix)."""
        offending = [layer for layer in self.layers if layer.code]
        lines = [
            f"init-lint: {len(offending)} layer(s) of {self.label} initialised wrongly for the "
            "activation that follows:"
        ]
        for layer in offending:
            a = layer.assessment
            assert a is not None
            expected = f"{a.required_gain:.3f}" if a.required_gain is not None else "?"
            where = f" ({layer.site.path}:{layer.site.line})" if layer.site else ""
            lines.append(
                f"  {layer.code} {layer.name} ({layer.class_name}) → {layer.follows()}: "
                f"{layer.measured()}, expected {expected}; fix: {layer.fix()}{where}"
            )
        lines += ["", self.summary(), self.signal.summary()]
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

    def untested_reason(self) -> str:
        """Why no layer was tested, and what to do about it ('' when some were)."""
        if self.tests:
            return ""
        normed = [
            layer
            for layer in self.layers
            if layer.activation is None
            and layer.consumer.split("(")[0] in NORM_LAYERS | NORM_FUNCTIONS
        ]
        if normed and not self.through_norm:
            kinds = sorted({layer.consumer for layer in normed})
            return (
                f"nothing tested: {len(normed)} of {len(self.layers)} layer(s) feed a norm layer "
                f"({', '.join(kinds)}), which makes the forward pass scale-invariant, so the "
                "default view does not judge them; rerun with --through-norm "
                "(through_norm=True) to judge them against the activation after the norm"
            )
        return (
            "nothing tested: no Linear/Conv output reaches a ReLU-family, Tanh or Sigmoid "
            "activation" + (" (even through norm layers)" if self.through_norm else "")
        )

    def summary(self) -> str:
        counts = ", ".join(f"{count} {key}" for key, count in sorted(self.counts().items()))
        text = (
            f"{self.label}: {len(self.findings)} finding(s) ({counts}); "
            f"alpha {self.alpha:g} over {self.tests} tested layer(s)"
            + (", through norms" if self.through_norm else "")
        )
        reason = self.untested_reason()
        return f"{text}\n{reason}" if reason else text

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
