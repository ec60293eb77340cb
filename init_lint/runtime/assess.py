"""Which init scheme a weight tensor looks like, and what knowledge.judge says about it.

Pure Python: the tracer hands in a :class:`~init_lint.runtime.stats.WeightSample` and the layer's
:class:`Fans`; everything here is deterministic arithmetic, so it is tested without models.

The decision is a hypothesis test. The candidates are the scales the usual init calls produce for
this layer's fans; each one is judged by :func:`init_lint.knowledge.judge` for the activation that
follows. The 1-alpha interval for the weights' std either contains only candidates with one
verdict (that verdict is reported), or candidates with different verdicts ("inconclusive": the
test cannot tell them apart), or none (the scale is unrecognised; before a rectifier that rejects
"He-scaled", so it is a finding). A correctly initialised layer is therefore reported only when
its true std falls outside the interval: probability alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..knowledge import (
    DEFAULT_INIT_A,
    GAIN_TOLERANCE,
    Activation,
    Family,
    Fans,
    InitScheme,
    SchemeKind,
    Verdict,
    calculate_gain,
    judge,
)
from ..rules import for_verdict
from .stats import TRUNC_NORMAL_2SIGMA_STD, WeightSample, detect_distribution, std_interval

#: Stds of hand-picked ``normal_(0, c)`` / ``trunc_normal_(std=c)`` inits seen in real code.
CONSTANT_STDS = (0.001, 0.01, 0.02, 0.05, 0.1)
#: Kaiming ``nonlinearity``/``a`` pairs whose gains the candidates cover (plus the activation's).
KAIMING_VARIANTS: tuple[tuple[str, float | None], ...] = (
    ("relu", None),
    ("leaky_relu", 0.2),
    ("tanh", None),
    ("linear", None),
    ("selu", None),
)
#: Xavier gains the candidates cover (plus the activation's).
XAVIER_GAINS = (1.0, 5.0 / 3, math.sqrt(2.0))
#: An unrecognised scale this close to the required gain is "wrong gain" (INI003), not INI001.
NEAR_GAIN_RANGE = (0.8, 1.25)
#: Wrong-verdict candidates this close (in std) to a correct one do not make a layer
#: inconclusive: such small gain mismatches are reported only by layers large enough to resolve
#: them (relu's gain before LeakyReLU(0.2) is 1.9% off: it takes ~60k weights).
MINOR_GAIN_DIFFERENCE = 0.05
#: When no candidate fits the 1-alpha interval, a 1-alpha·this interval is tried to name the scale.
RENAMING_ALPHA_FACTOR = 1e-3


class Status:
    OK = "ok"
    FINDING = "finding"
    INCONCLUSIVE = "inconclusive"
    UNRECOGNISED = "unrecognised"  # weights not drawn like any init (e.g. nonzero mean)


@dataclass(frozen=True)
class Candidate:
    """A scale an init call would give this layer, and how knowledge.judge rates it."""

    template: str  # '{dist}' is replaced by the detected distribution ('normal'/'uniform')
    std: float
    scheme: InitScheme
    verdict: Verdict
    distributions: frozenset[str] | None = None  # the shapes it can have; None: any
    mode: str = "fan_in"  # the true fan its std·√fan is reported against
    prior: int = 0  # how common the call is in real code: lower wins ties

    def gain(self, fans: Fans, std: float) -> float:
        return std * math.sqrt(fans.fan_in if self.mode == "fan_in" else fans.fan_out)

    def label(self, distribution: str | None) -> str:
        dist = distribution if distribution in ("normal", "uniform") else "*"
        return self.template.replace("{dist}", dist)


@dataclass(frozen=True)
class Assessment:
    """The statistical verdict on one weight for one following activation."""

    status: str
    verdict: Verdict
    scheme: str  # what the weights look like, e.g. "kaiming_normal_(mode='fan_out', ...)"
    std: float
    std_interval: tuple[float, float]
    distribution: str | None
    gain: float  # std·√fan for ``mode`` (true fans)
    mode: str
    required_gain: float | None
    alternatives: tuple[str, ...] = ()
    reason: str = ""
    detail: dict[str, float] = field(default_factory=dict)


def _fmt_gain(value: float) -> str:
    known = {math.sqrt(2.0): "√2", 5.0 / 3: "5/3", 1.0: "1"}
    for exact, text in known.items():
        if math.isclose(value, exact, rel_tol=1e-9):
            return text
    return f"{value:.3g}"


def build_candidates(fans: Fans, activation: Activation) -> list[Candidate]:
    """The scales of the usual init calls for this layer, each judged for ``activation``.

    Calls that give exactly the same std on this shape (``xavier_normal_(gain=√2)`` and
    ``kaiming_normal_`` on a square layer) cannot be told apart by any test: only the one more
    common in real code is kept (lowest ``prior``).
    """
    candidates: list[tuple[int, Candidate]] = []
    required = activation.gain

    def add(
        prior: int,
        template: str,
        std: float,
        scheme: InitScheme,
        dists: frozenset[str] | None = None,
        mode: str = "fan_in",
    ) -> None:
        verdict = judge(scheme, activation)
        candidates.append((prior, Candidate(template, std, scheme, verdict, dists, mode, prior)))

    # PyTorch's reset_parameters: kaiming_uniform_(w, a=√5) over torch's fan_in.
    add(
        0,
        "PyTorch default (kaiming_uniform_, a=√5)",
        1.0 / math.sqrt(3.0 * fans.torch_fan_in),
        InitScheme(SchemeKind.DEFAULT, gain=1 / math.sqrt(3), a=DEFAULT_INIT_A, mode="fan_in"),
        frozenset({"uniform"}),
    )
    variants = list(KAIMING_VARIANTS)
    if activation.family is Family.RECTIFIER and activation.slope:
        variants.insert(1, ("leaky_relu", activation.slope))
    for nonlinearity, a in variants:
        gain = calculate_gain(nonlinearity, a)
        matches = required is not None and math.isclose(gain, required, rel_tol=1e-6)
        prior = 1 if nonlinearity == "relu" or matches else 4
        arg = f"a={a:g}, nonlinearity='leaky_relu'" if a else f"nonlinearity={nonlinearity!r}"
        square = fans.torch_fan_in == fans.torch_fan_out
        for mode in ("fan_in",) if square else ("fan_in", "fan_out"):
            std = gain / math.sqrt(fans.torch_fan(mode))
            # judge against the fan the signal really has (grouped conv, ConvTranspose).
            effective = std * math.sqrt(fans.true_fan(mode))
            note = (
                ""
                if math.isclose(effective, gain, rel_tol=1e-9)
                else (f" [torch's {mode} {fans.torch_fan(mode)} ≠ true {fans.true_fan(mode):g}]")
            )
            if square:
                mode_text, note = "", note + " [fan_in = fan_out]"
            else:
                mode_text = f"mode={mode!r}, "
            add(
                prior,
                f"kaiming_{{dist}}_({mode_text}{arg}){note}",
                std,
                InitScheme(
                    SchemeKind.KAIMING,
                    gain=effective,
                    nonlinearity=nonlinearity,
                    a=a or 0.0,
                    mode=mode,
                ),
                mode=_true_mode(fans, mode),
            )
    # He scaled by the true fans where torch's differ (what a correct hand-written init does).
    if required is not None:
        for mode, fan in (("fan_in", fans.fan_in), ("fan_out", fans.fan_out)):
            add(
                1,
                f"He {{dist}} (gain {_fmt_gain(required)}, true {mode} {fan:g})",
                required / math.sqrt(fan),
                InitScheme(
                    SchemeKind.KAIMING,
                    gain=required,
                    nonlinearity=activation.nonlinearity,
                    a=activation.slope or 0.0,
                    mode=mode,
                ),
                mode=mode,
            )
    xavier_gains = list(XAVIER_GAINS)
    if required is not None and not any(math.isclose(required, g) for g in xavier_gains):
        xavier_gains.append(required)
    for gain in xavier_gains:
        matches = required is not None and math.isclose(gain, required, rel_tol=1e-6)
        add(
            2 if gain == 1.0 else 3 if matches else 5,
            f"xavier_{{dist}}_(gain={_fmt_gain(gain)})",
            gain * math.sqrt(2.0 / (fans.torch_fan_in + fans.torch_fan_out)),
            InitScheme(SchemeKind.XAVIER, gain=gain),
        )
    for c in CONSTANT_STDS:
        add(
            3,
            f"normal_(0, {c:g})",
            c,
            InitScheme(SchemeKind.NORMAL, gain=c * math.sqrt(fans.fan_in)),
            frozenset({"normal"}),
        )
        add(
            3,
            f"trunc_normal_(std={c:g}, ±2σ)",
            c * TRUNC_NORMAL_2SIGMA_STD,
            InitScheme(
                SchemeKind.TRUNC_NORMAL, gain=c * TRUNC_NORMAL_2SIGMA_STD * math.sqrt(fans.fan_in)
            ),
            frozenset({"trunc_normal"}),
        )
    kept: list[Candidate] = []
    for _, candidate in sorted(candidates, key=lambda pair: pair[0]):
        if not any(
            math.isclose(candidate.std, other.std, rel_tol=1e-6)
            and candidate.distributions == other.distributions
            for other in kept
        ):
            kept.append(candidate)
    return kept


def _true_mode(fans: Fans, torch_mode: str) -> str:
    if not fans.transposed:
        return torch_mode
    return "fan_out" if torch_mode == "fan_in" else "fan_in"


def _gains(fans: Fans, std: float) -> dict[str, float]:
    return {"fan_in": std * math.sqrt(fans.fan_in), "fan_out": std * math.sqrt(fans.fan_out)}


def _closest_mode(fans: Fans, std: float, required: float | None) -> tuple[str, float]:
    gains = _gains(fans, std)
    if required is None:
        return "fan_in", gains["fan_in"]
    mode = min(gains, key=lambda m: abs(math.log(gains[m] / required)) if gains[m] else math.inf)
    return mode, gains[mode]


def assess(
    sample: WeightSample,
    fans: Fans,
    activation: Activation,
    alpha: float,
    *,
    orthogonal_gain: float | None = None,
) -> Assessment:
    """Test the weight against ``activation``'s requirement at false-alarm rate ``alpha``.

    ``orthogonal_gain`` is set by the caller when the weight's rows (or columns) are exactly
    orthogonal with that norm: ``orthogonal_`` is not random in the χ² sense and is judged as is.
    """
    required = activation.gain
    rms = sample.rms

    def deterministic(kind: SchemeKind, text: str, gain: float | None) -> Assessment:
        verdict = judge(InitScheme(kind, gain=gain), activation)
        mode, measured = _closest_mode(fans, rms, required)
        return Assessment(
            _status(verdict),
            verdict,
            text,
            rms,
            (rms, rms),
            None,
            gain if gain is not None and kind is SchemeKind.ORTHOGONAL else measured,
            mode,
            required,
        )

    if sample.n == 0:
        return Assessment(
            Status.INCONCLUSIVE,
            Verdict.UNKNOWN,
            "empty weight",
            0.0,
            (0.0, 0.0),
            None,
            0.0,
            "fan_in",
            required,
            reason="the weight has no elements",
        )
    if sample.is_constant():
        return deterministic(SchemeKind.CONSTANT, f"constant_({sample.mean:.3g})", 0.0)
    if orthogonal_gain is not None:
        return deterministic(
            SchemeKind.ORTHOGONAL, f"orthogonal_(gain={orthogonal_gain:.3g})", orthogonal_gain
        )

    distribution = detect_distribution(sample)
    mode, measured = _closest_mode(fans, rms, required)
    common = dict(
        std=rms,
        distribution=distribution,
        gain=measured,
        mode=mode,
        required_gain=required,
        detail={
            "n": float(sample.n),
            "excess_kurtosis": sample.excess_kurtosis,
            "peak_ratio": sample.peak_ratio,
        },
    )
    if not sample.mean_is_zero(alpha):
        return Assessment(
            Status.UNRECOGNISED,
            Verdict.UNKNOWN,
            f"{distribution or 'unknown'} with mean {sample.mean:.3g} ≠ 0",
            std_interval=std_interval(sample, distribution, alpha),
            reason="init schemes draw with mean 0",
            **common,
        )

    candidates = [
        c
        for c in build_candidates(fans, activation)
        if c.distributions is None or distribution is None or distribution in c.distributions
    ]
    # The test proper is at ``alpha``. Only to *name* a scale that no candidate explains at that
    # level is a much wider interval tried: a miss at rate alpha should not read "no standard
    # init" when the weights are, say, Kaiming's to 3%.
    for level in (alpha, alpha * RENAMING_ALPHA_FACTOR):
        low, high = std_interval(sample, distribution, level)
        consistent = [c for c in candidates if _within(c, low, high)]
        if consistent:
            break
    common["std_interval"] = (low, high)

    if not consistent:
        return _unrecognised_scale(activation, distribution, common)

    consistent = _drop_minor_alternatives(consistent)
    correct = [c for c in consistent if c.verdict is Verdict.OK]
    wrong = [c for c in consistent if c.verdict is not Verdict.OK]
    # Among candidates with the same verdict, the commonest call, then the closest scale.
    best = min(consistent, key=lambda c: (c.prior, abs(math.log(rms / c.std))))
    if correct and wrong:
        default = next((c for c in wrong if c.scheme.kind is SchemeKind.DEFAULT), None)
        if default is not None and distribution == "uniform":
            # Indistinguishable from the default in scale and shape: an uninitialised layer is
            # far likelier than, e.g., kaiming_uniform_(mode='fan_out') with fan_out = 6·fan_in.
            best = default
        else:
            others = [c for c in consistent if c is not best]
            return Assessment(
                Status.INCONCLUSIVE,
                Verdict.UNKNOWN,
                best.label(distribution),
                alternatives=tuple(
                    f"{c.label(distribution)} ({_verdict_label(c.verdict)})" for c in others
                ),
                reason=_too_close_reason(consistent, distribution),
                **common,
            )
    common.update(mode=best.mode, gain=best.gain(fans, rms))
    return Assessment(
        _status(best.verdict),
        best.verdict,
        best.label(distribution),
        alternatives=tuple(c.label(distribution) for c in consistent if c is not best),
        **common,
    )


def _within(candidate: Candidate, low: float, high: float) -> bool:
    # Gains within GAIN_TOLERANCE count as equal, so a correct candidate may sit that far out.
    slack = GAIN_TOLERANCE if candidate.verdict is Verdict.OK else 0.0
    return candidate.std * (1 - slack) <= high and candidate.std * (1 + slack) >= low


def _drop_minor_alternatives(consistent: list[Candidate]) -> list[Candidate]:
    """Drop wrong candidates within MINOR_GAIN_DIFFERENCE of a correct one.

    The verifier judges the scale the weights have: one within 5% of He's is not told apart
    from it (xavier_(gain=1) on a layer with fan_out ≪ fan_in is He-scaled; kaiming with a=0.2
    before a ReLU is 1.9% off). Two kinds are always kept: PyTorch's default (it has its own
    tie-break, see assess) and Kaiming with the ReLU gain, the very mistake INI002/INI003 are
    about (``kaiming_normal_(w)`` before LeakyReLU(0.2) or Tanh): a layer too small to tell it
    from the right gain is inconclusive, not ok.
    """
    correct = [c for c in consistent if c.verdict is Verdict.OK]
    if not correct:
        return consistent
    return [c for c in consistent if not _is_minor(c, correct)]


def _is_minor(candidate: Candidate, correct: list[Candidate]) -> bool:
    scheme = candidate.scheme
    if candidate.verdict is Verdict.OK or scheme.kind is SchemeKind.DEFAULT:
        return False
    if scheme.kind is SchemeKind.KAIMING and scheme.nonlinearity == "relu":
        return False
    return any(abs(math.log(candidate.std / ok.std)) <= MINOR_GAIN_DIFFERENCE for ok in correct)


def _status(verdict: Verdict) -> str:
    if verdict is Verdict.OK:
        return Status.OK
    if verdict is Verdict.UNKNOWN:
        return Status.UNRECOGNISED
    return Status.FINDING


def _too_close_reason(consistent: list[Candidate], distribution: str | None) -> str:
    by_verdict: dict[Verdict, Candidate] = {}
    for candidate in consistent:
        by_verdict.setdefault(candidate.verdict, candidate)
    names = " and ".join(
        f"{c.label(distribution)} ({_verdict_label(v)})" for v, c in by_verdict.items()
    )
    return f"too few weights to tell {names} apart"


def _unrecognised_scale(
    activation: Activation, distribution: str | None, common: dict
) -> Assessment:
    """No usual init has this scale. Before a rectifier that rejects He scaling: a finding."""
    rms, required, measured = common["std"], common["required_gain"], common["gain"]
    shape = distribution if distribution in ("normal", "uniform", "trunc_normal") else "random"
    text = f"{shape} with std {rms:.3g} (no standard init)"
    if required is not None and activation.family is Family.RECTIFIER:
        ratio = measured / required
        near = NEAR_GAIN_RANGE[0] <= ratio <= NEAR_GAIN_RANGE[1]
        kind = SchemeKind.KAIMING if near else _shape_kind(shape)
        verdict = judge(InitScheme(kind, gain=measured), activation)
        return Assessment(_status(verdict), verdict, text, **common)
    kind = SchemeKind.OTHER if shape == "random" else _shape_kind(shape)
    verdict = judge(InitScheme(kind, gain=measured), activation)
    return Assessment(_status(verdict), verdict, text, **common)


def _shape_kind(shape: str) -> SchemeKind:
    """The scheme of an unnamed scale drawn with this shape (``normal``, ``uniform``, ...)."""
    return SchemeKind(shape) if shape in ("uniform", "trunc_normal") else SchemeKind.NORMAL


def _verdict_label(verdict: Verdict) -> str:
    """A verdict as users read it: its rule's code, or 'ok'."""
    rule = for_verdict(verdict)
    return rule.code if rule is not None else verdict.value
