"""Which init scheme a weight tensor looks like, and what knowledge.judge says about it.

Pure Python: the verifier hands in a :class:`~init_lint.runtime.stats.WeightSample` and the
layer's :class:`~init_lint.knowledge.LayerGeometry`; everything here is deterministic arithmetic,
so it is tested without models.

One judgement: every verdict comes from :func:`init_lint.knowledge.judge`, which decides by the
scale (std·√fan against the required gain, fan_in or fan_out, within ``GAIN_TOLERANCE``). The
candidates are the scales the usual init calls give this layer, each judged that way. What the
statistics add is only *which* scale the weights have, and whether the weights are numerous
enough to tell.

Reproducible verdicts. Whether two candidates can be told apart depends on the number of
weights and their shape, not on the draw: candidates closer (in log std) than the width of a
1-alpha·``RESOLUTION_ALPHA_FACTOR`` interval form one *cluster*. The weights are assigned to the
cluster of the nearest candidate; a cluster whose candidates all have one verdict gives that
verdict, a cluster with both right and wrong scales is "inconclusive". A layer initialised by one
of the candidates lands in its own cluster unless its std falls outside that wide interval
(probability alpha·1e-3), so its verdict is the same for every seed. A scale no candidate
explains is tested directly: its 1-alpha interval for std·√fan inside the tolerance band is ok,
outside it a finding (probability at most alpha for a correct layer), straddling an edge
inconclusive.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from ..knowledge import (
    DEFAULT_INIT_A,
    GAIN_TOLERANCE,
    Activation,
    Family,
    Fans,
    InitScheme,
    LayerGeometry,
    SchemeKind,
    Verdict,
    calculate_gain,
    judge,
)
from ..rules import for_verdict
from .stats import (
    TRUNC_NORMAL_2SIGMA_STD,
    WeightSample,
    chi2_cdf,
    detect_distribution,
    kurtosis_for_interval,
    normal_quantile,
    std_interval,
)

#: Stds of hand-picked ``normal_(0, c)`` / ``trunc_normal_(std=c)`` inits seen in real code.
CONSTANT_STDS = (0.001, 0.01, 0.02, 0.05, 0.1)
#: Kaiming ``nonlinearity``/``a`` pairs whose gains the candidates cover (plus the activation's,
#: and before a leaky rectifier the common a=0.2: a leaky slope within 2% of ReLU's gain is only
#: worth telling apart where leaky slopes are in play).
KAIMING_VARIANTS: tuple[tuple[str, float | None], ...] = (
    ("relu", None),
    ("tanh", None),
    ("linear", None),
    ("selu", None),
)
LEAKY_VARIANT: tuple[str, float | None] = ("leaky_relu", 0.2)
#: Xavier gains the candidates cover (plus the activation's).
XAVIER_GAINS = (1.0, 5.0 / 3, math.sqrt(2.0))
#: Candidates closer than the half-width of a 1-alpha·this interval (each side) are one cluster:
#: the weights' draw then decides which of them is nearest, so no verdict may depend on that.
RESOLUTION_ALPHA_FACTOR = 1e-3


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
    distributions: frozenset[str] | None = None  # the shapes it can have; None: any
    mode: str = "fan_in"  # the true fan its std·√fan is reported against
    prior: int = 0  # how common the call is in real code: lower wins ties
    activation: Activation | None = field(default=None, compare=False, repr=False)
    geometry: LayerGeometry | None = field(default=None, compare=False, repr=False)

    @functools.cached_property
    def verdict(self) -> Verdict:
        """knowledge.judge on this layer, asked only of the candidates a decision reads (the
        weights' cluster; before a rectifier no other): most of ~25 candidates never are."""
        assert self.activation is not None and self.geometry is not None
        return judge(self.scheme, self.activation, self.geometry)

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
    std_interval: tuple[float, float]  # 1-alpha interval for the std the weights were drawn with
    distribution: str | None
    gain: float  # std·√fan for ``mode`` (true fans)
    mode: str
    required_gain: float | None
    alternatives: tuple[str, ...] = ()
    reason: str = ""
    #: Probability, for a correctly scaled layer, of weights at least this far from the nearest
    #: correct scale (not corrected for the number of layers tested); None when not computed.
    p_value: float | None = None
    detail: dict[str, float] = field(default_factory=dict)


def _fmt_gain(value: float) -> str:
    known = {math.sqrt(2.0): "√2", 5.0 / 3: "5/3", 1.0: "1"}
    for exact, text in known.items():
        if math.isclose(value, exact, rel_tol=1e-9):
            return text
    return f"{value:.3g}"


def _true_mode(fans: Fans, torch_mode: str) -> str:
    if not fans.transposed:
        return torch_mode
    return "fan_out" if torch_mode == "fan_in" else "fan_in"


def _allowed_fans(fans: Fans) -> dict[str, float]:
    """The fans He's conditions allow: forward, and backward except where only forward counts."""
    allowed = {"fan_in": fans.fan_in}
    if not fans.strided:
        allowed["fan_out"] = fans.fan_out
    return allowed


class _Builder:
    """Collects candidates, judged by knowledge.judge on this layer's geometry."""

    def __init__(self, geometry: LayerGeometry, fans: Fans, activation: Activation) -> None:
        self.geometry, self.fans, self.activation = geometry, fans, activation
        self.items: list[Candidate] = []

    def add(
        self,
        prior: int,
        template: str,
        std: float,
        scheme: InitScheme,
        dists: frozenset[str] | None = None,
        mode: str = "fan_in",
    ) -> None:
        self.items.append(
            Candidate(template, std, scheme, dists, mode, prior, self.activation, self.geometry)
        )

    def kaiming(self, required: float | None) -> None:
        fans, activation = self.fans, self.activation
        variants = list(KAIMING_VARIANTS)
        if activation.family is Family.RECTIFIER and activation.slope:
            variants[1:1] = [("leaky_relu", activation.slope), LEAKY_VARIANT]
        square = fans.torch_fan_in == fans.torch_fan_out
        for nonlinearity, a in variants:
            gain = _kaiming_scheme(nonlinearity, a, "fan_in").gain
            assert gain is not None
            matches = required is not None and math.isclose(gain, required, rel_tol=1e-6)
            prior = 1 if nonlinearity == "relu" or matches else 4
            arg = _kaiming_argument(nonlinearity, a)
            for mode in ("fan_in",) if square else ("fan_in", "fan_out"):
                torch_fan, true_fan = fans.torch_fan(mode), fans.true_fan(mode)
                note = (
                    "" if torch_fan == true_fan else f" [torch's {mode} {torch_fan} ≠ {true_fan:g}]"
                )
                mode_text = "" if square else f"mode={mode!r}, "
                self.add(
                    prior,
                    f"kaiming_{{dist}}_({mode_text}{arg}){note}",
                    gain / math.sqrt(torch_fan),
                    _kaiming_scheme(nonlinearity, a, mode),
                    mode=_true_mode(fans, mode),
                )

    def others(self, required: float | None) -> None:
        fans = self.fans
        if required is not None:  # He by the true fans (what a correct hand-written init does)
            for mode, fan in (("fan_in", fans.fan_in), ("fan_out", fans.fan_out)):
                std = required / math.sqrt(fan)
                self.add(
                    1,
                    f"He {{dist}} (gain {_fmt_gain(required)}, true {mode} {fan:g})",
                    std,
                    InitScheme(SchemeKind.NORMAL, std=std),
                    mode=mode,
                )
        xavier_gains = list(XAVIER_GAINS)
        if required is not None and not any(math.isclose(required, g) for g in xavier_gains):
            xavier_gains.append(required)
        for gain in xavier_gains:
            matches = required is not None and math.isclose(gain, required, rel_tol=1e-6)
            template, scheme = _xavier(gain)
            self.add(
                2 if gain == 1.0 else 3 if matches else 5,
                template,
                gain * math.sqrt(2.0 / (fans.torch_fan_in + fans.torch_fan_out)),
                scheme,
            )
        for template, std, scheme, dists in _CONSTANT_CANDIDATES:
            self.add(3, template, std, scheme, dists)


# The parts of candidates that do not depend on the layer, made once rather than per layer (a
# frozen InitScheme costs more to build than the rest of its candidate).


@functools.lru_cache(maxsize=256)  # slopes are floats: bounded
def _kaiming_scheme(nonlinearity: str, a: float | None, mode: str) -> InitScheme:
    gain = calculate_gain(nonlinearity, a)
    return InitScheme(
        SchemeKind.KAIMING, gain=gain, nonlinearity=nonlinearity, a=a or 0.0, mode=mode
    )


@functools.lru_cache(maxsize=256)
def _kaiming_argument(nonlinearity: str, a: float | None) -> str:
    return f"a={a:g}, nonlinearity='leaky_relu'" if a else f"nonlinearity={nonlinearity!r}"


@functools.lru_cache(maxsize=256)
def _xavier(gain: float) -> tuple[str, InitScheme]:
    return f"xavier_{{dist}}_(gain={_fmt_gain(gain)})", InitScheme(SchemeKind.XAVIER, gain=gain)


_CONSTANT_CANDIDATES: tuple[tuple[str, float, InitScheme, frozenset[str]], ...] = tuple(
    entry
    for c in CONSTANT_STDS
    for entry in (
        (f"normal_(0, {c:g})", c, InitScheme(SchemeKind.NORMAL, std=c), frozenset({"normal"})),
        (
            f"trunc_normal_(std={c:g}, ±2σ)",
            c * TRUNC_NORMAL_2SIGMA_STD,
            InitScheme(SchemeKind.TRUNC_NORMAL, std=c * TRUNC_NORMAL_2SIGMA_STD),
            frozenset({"trunc_normal"}),
        ),
    )
)


def build_candidates(geometry: LayerGeometry, activation: Activation) -> list[Candidate]:
    """The scales of the usual init calls for this layer, each judged for ``activation``.

    Calls that give exactly the same std on this shape (``xavier_normal_(gain=√2)`` and
    ``kaiming_normal_`` on a square layer) cannot be told apart by any test: only the one more
    common in real code is kept (lowest ``prior``).
    """
    return list(_candidates(geometry, activation))


@functools.lru_cache(maxsize=1024)
def _candidates(geometry: LayerGeometry, activation: Activation) -> tuple[Candidate, ...]:
    """build_candidates, kept: a function of the shape and the activation alone (frozen
    candidates, whose verdicts are computed once), asked again by every verify of a model."""
    fans = geometry.fans()
    assert fans is not None, "the runtime knows every size"
    builder = _Builder(geometry, fans, activation)
    # PyTorch's reset_parameters: kaiming_uniform_(w, a=√5) over torch's fan_in.
    builder.add(
        0,
        "PyTorch default (kaiming_uniform_, a=√5)",
        1.0 / math.sqrt(3.0 * fans.torch_fan_in),
        InitScheme(SchemeKind.DEFAULT, gain=1 / math.sqrt(3), a=DEFAULT_INIT_A, mode="fan_in"),
        frozenset({"uniform"}),
    )
    builder.kaiming(activation.gain)
    builder.others(activation.gain)
    kept: list[Candidate] = []
    kept_stds: dict[frozenset[str] | None, list[float]] = {}  # by the shapes they can have
    for candidate in sorted(builder.items, key=lambda c: c.prior):
        stds = kept_stds.setdefault(candidate.distributions, [])
        if not any(math.isclose(candidate.std, std, rel_tol=1e-6) for std in stds):
            kept.append(candidate)
            stds.append(candidate.std)
    return tuple(kept)


def resolution(sample: WeightSample, distribution: str | None, alpha: float) -> float:
    """Half-width, in ln(std), of the 1-alpha·RESOLUTION_ALPHA_FACTOR interval for this many
    weights of this shape: ln(s²/σ²) ≈ N(0, (2+γ₂)/n). It depends on n and the shape only."""
    variance = (2.0 + kurtosis_for_interval(sample, distribution)) / max(sample.n, 1)
    z = normal_quantile(1 - alpha * RESOLUTION_ALPHA_FACTOR / 2)
    return z * math.sqrt(max(variance, 1e-12)) / 2


def clusters(candidates: list[Candidate], half_width: float) -> list[list[Candidate]]:
    """Candidates sorted by std, split where neighbours are more than 2·half_width apart."""
    ordered = sorted(candidates, key=lambda c: c.std)
    groups: list[list[Candidate]] = []
    for candidate in ordered:
        if groups and math.log(candidate.std / groups[-1][-1].std) <= 2 * half_width:
            groups[-1].append(candidate)
        else:
            groups.append([candidate])
    return groups


def _measured(fans: Fans, std: float, required: float | None, mode: str | None = None):
    """(mode, std·√fan): for ``mode``, else for the allowed fan closest to the required gain."""
    allowed = _allowed_fans(fans)
    if mode is None:
        if required is None or std <= 0:
            mode = "fan_in"
        else:
            mode = min(allowed, key=lambda m: abs(math.log(std * math.sqrt(allowed[m]) / required)))
    fan = fans.fan_in if mode == "fan_in" else fans.fan_out
    return mode, std * math.sqrt(fan)


def _ok_stds(fans: Fans, activation: Activation, candidates: list[Candidate]) -> list[tuple]:
    """The stds that are right for this layer, as (low, high) ranges: He's band for each fan
    He's conditions allow before a rectifier, else the candidates knowledge.judge calls ok."""
    required = activation.gain
    if activation.family is Family.RECTIFIER and required is not None:
        return [
            (
                required * (1 - GAIN_TOLERANCE) / math.sqrt(fan),
                required * (1 + GAIN_TOLERANCE) / math.sqrt(fan),
            )
            for fan in _allowed_fans(fans).values()
        ]
    return [(c.std, c.std) for c in candidates if c.verdict is Verdict.OK]


def p_value(sample: WeightSample, distribution: str | None, ok: list[tuple]) -> float | None:
    """Two-sided probability of a mean square at least this far from the nearest right std."""
    if not ok or sample.n == 0:
        return None
    rms = sample.rms
    if any(low <= rms <= high for low, high in ok):
        return 1.0
    nearest = min((edge for pair in ok for edge in pair), key=lambda s: abs(math.log(rms / s)))
    df = 2.0 * sample.n / max(2.0 + kurtosis_for_interval(sample, distribution), 1e-6)
    cdf = chi2_cdf(df * sample.second_moment / nearest**2, df)
    return min(1.0, 2 * min(cdf, 1 - cdf))


def assess(
    sample: WeightSample,
    geometry: LayerGeometry,
    activation: Activation,
    alpha: float,
    *,
    orthogonal_gain: float | None = None,
    candidates: list[Candidate] | None = None,
) -> Assessment:
    """Test the weight against ``activation``'s requirement at false-alarm rate ``alpha``.

    ``orthogonal_gain`` is set by the caller when the weight's rows (or columns) are exactly
    orthogonal with that norm: ``orthogonal_`` is not random in the χ² sense and is judged as is.
    ``candidates``: ``build_candidates(geometry, activation)`` when the caller already has them
    (layers of one geometry before one activation share them).
    """
    fans = geometry.fans()
    assert fans is not None, "the runtime knows every size"
    required = activation.gain
    rms = sample.rms

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
    if sample.is_constant() or orthogonal_gain is not None:
        if orthogonal_gain is not None:
            scheme = InitScheme(SchemeKind.ORTHOGONAL, gain=orthogonal_gain)
            text = f"orthogonal_(gain={orthogonal_gain:.3g})"
        else:
            scheme, text = InitScheme(SchemeKind.CONSTANT), f"constant_({sample.mean:.3g})"
        verdict = judge(scheme, activation, geometry)
        mode, measured = _measured(fans, rms, required)
        return Assessment(
            _status(verdict), verdict, text, rms, (rms, rms), None, measured, mode, required
        )

    distribution = detect_distribution(sample)
    mode, measured = _measured(fans, rms, required)
    common = dict(
        std=rms,
        std_interval=std_interval(sample, distribution, alpha),
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
            reason="init schemes draw with mean 0",
            **common,
        )

    if candidates is None:
        candidates = build_candidates(geometry, activation)
    candidates = [
        c
        for c in candidates
        if c.distributions is None or distribution is None or distribution in c.distributions
    ]
    common["p_value"] = p_value(sample, distribution, _ok_stds(fans, activation, candidates))
    half = resolution(sample, distribution, alpha)
    nearest = min(candidates, key=lambda c: abs(math.log(rms / c.std)))
    if abs(math.log(rms / nearest.std)) > half:
        return _unrecognised_scale(activation, fans, distribution, common)
    cluster = next(group for group in clusters(candidates, half) if nearest in group)
    return _cluster_verdict(cluster, nearest, distribution, fans, half, common)


def _cluster_verdict(
    cluster: list[Candidate],
    nearest: Candidate,
    distribution: str | None,
    fans: Fans,
    half: float,
    common: dict,
) -> Assessment:
    """The verdict of a cluster of candidates the weights cannot tell apart (see module doc)."""
    verdicts = {c.verdict for c in cluster}
    default = next((c for c in cluster if c.scheme.kind is SchemeKind.DEFAULT), None)
    if (
        default is not None
        and distribution == "uniform"
        and all(
            abs(math.log(c.std / default.std)) <= 2 * half
            for c in cluster
            if c.verdict is Verdict.OK
        )
    ):
        # Every right scale is indistinguishable from the default in scale and shape: an
        # uninitialised layer is far likelier than, e.g., kaiming_uniform_(mode='fan_out') with
        # fan_out ≈ 6·fan_in.
        verdicts = {default.verdict}
        cluster = [default]
    if Verdict.OK in verdicts and len(verdicts) > 1:
        by_verdict: dict[Verdict, Candidate] = {}
        for candidate in sorted(cluster, key=lambda c: c.prior):
            by_verdict.setdefault(candidate.verdict, candidate)
        names = " and ".join(
            f"{c.label(distribution)} ({_verdict_label(v)})" for v, c in by_verdict.items()
        )
        return Assessment(
            Status.INCONCLUSIVE,
            Verdict.UNKNOWN,
            nearest.label(distribution),
            alternatives=tuple(
                f"{c.label(distribution)} ({_verdict_label(c.verdict)})"
                for c in cluster
                if c is not nearest
            ),
            reason=f"too few weights to tell {names} apart",
            **common,
        )
    # One verdict (or several wrong ones): the commonest call of the cluster decides, then the
    # closest to the weights names them; both are fixed by the cluster, not by the draw.
    verdict = min(cluster, key=lambda c: c.prior).verdict
    top = min(c.prior for c in cluster)
    best = min(
        (c for c in cluster if c.prior == top and c.verdict is verdict),
        key=lambda c: abs(math.log(common["std"] / c.std)),
    )
    # A wrong fan is shown against the forward fan, the one its fix scales for.
    wanted = "fan_in" if verdict is Verdict.WRONG_FAN else best.mode
    mode, gain = _measured(fans, common["std"], common["required_gain"], wanted)
    common.update(mode=mode, gain=gain)
    return Assessment(
        _status(verdict),
        verdict,
        best.label(distribution),
        alternatives=tuple(c.label(distribution) for c in cluster if c is not best),
        **common,
    )


def _unrecognised_scale(
    activation: Activation, fans: Fans, distribution: str | None, common: dict
) -> Assessment:
    """No usual init has this scale: before a rectifier, test std·√fan against He's band
    directly (the 1-alpha interval inside it: ok; outside: a finding; across an edge:
    inconclusive). Elsewhere no claim is made about scales no init call gives."""
    rms, required = common["std"], common["required_gain"]
    shape = distribution if distribution in ("normal", "uniform", "trunc_normal") else "random"
    text = f"{shape} with std {rms:.3g} (no standard init)"
    if required is None or activation.family is not Family.RECTIFIER:
        return Assessment(Status.OK, Verdict.OK, text, **common)
    low, high = common["std_interval"]
    band = (required * (1 - GAIN_TOLERANCE), required * (1 + GAIN_TOLERANCE))
    placed = []
    for fan in _allowed_fans(fans).values():
        lo, hi = low * math.sqrt(fan), high * math.sqrt(fan)
        placed.append(
            "in"
            if band[0] <= lo and hi <= band[1]
            else "out"
            if hi < band[0] or lo > band[1]
            else "edge"
        )
    if "in" in placed:
        return Assessment(Status.OK, Verdict.OK, text, **common)
    if all(p == "out" for p in placed):
        return Assessment(Status.FINDING, Verdict.NOT_HE_SCALED, text, **common)
    return Assessment(
        Status.INCONCLUSIVE,
        Verdict.UNKNOWN,
        text,
        reason=f"std·√fan straddles the edge of He's ±{GAIN_TOLERANCE:.0%} band",
        **common,
    )


def _status(verdict: Verdict) -> str:
    if verdict is Verdict.OK:
        return Status.OK
    if verdict is Verdict.UNKNOWN:
        return Status.UNRECOGNISED
    return Status.FINDING


def _verdict_label(verdict: Verdict) -> str:
    """A verdict as users read it: its rule's code, or 'ok'."""
    rule = for_verdict(verdict)
    return rule.code if rule is not None else verdict.value
