"""Sampling theory for a weight tensor's scale and shape (pure Python, no torch, no scipy).

With n weights drawn i.i.d. with mean 0 and std σ, the mean square s² = Σw²/n satisfies
s²/σ² ≈ χ²_ν/ν with ν = 2n/(2+γ₂), γ₂ the excess kurtosis: this matches the exact variance
(2+γ₂)/n of s²/σ² and is the exact χ²ₙ/n law for normal weights (γ₂ = 0). Quantiles of χ²_ν come
from the Wilson–Hilferty cube-root approximation, accurate to well under 1% from ν ≈ 5 upward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

#: Excess kurtosis of the distributions init functions draw from.
EXCESS_KURTOSIS = {"normal": 0.0, "uniform": -1.2, "trunc_normal": -0.6345}
#: std of a standard normal truncated to ±2 (``trunc_normal_(std=σ, a=-2σ, b=2σ)`` gives 0.88σ).
TRUNC_NORMAL_2SIGMA_STD = 0.8796
#: Below this many weights no claim is made about the distribution's shape.
MIN_WEIGHTS_FOR_SHAPE = 100
#: A mean below this fraction of the rms is immaterial to the scale (see mean_is_zero).
MATERIAL_MEAN = 0.1

_STANDARD_NORMAL = NormalDist()


def normal_quantile(p: float) -> float:
    return _STANDARD_NORMAL.inv_cdf(p)


def chi2_quantile(p: float, df: float) -> float:
    """Quantile of χ² with ``df`` degrees of freedom (Wilson–Hilferty)."""
    z = normal_quantile(p)
    c = 2.0 / (9.0 * df)
    return df * max(1.0 - c + z * math.sqrt(c), 0.0) ** 3


def chi2_cdf(x: float, df: float) -> float:
    """P(χ²_df ≤ x) (Wilson–Hilferty, the inverse of :func:`chi2_quantile`)."""
    if x <= 0:
        return 0.0
    c = 2.0 / (9.0 * df)
    return _STANDARD_NORMAL.cdf(((x / df) ** (1 / 3) - (1.0 - c)) / math.sqrt(c))


def mean_square_ratio_interval(n: int, excess_kurtosis: float, alpha: float) -> tuple[float, float]:
    """Two-sided 1-alpha interval for s²/σ² (s² = mean of n squared zero-mean draws)."""
    df = 2.0 * n / max(2.0 + excess_kurtosis, 1e-6)
    return chi2_quantile(alpha / 2, df) / df, chi2_quantile(1 - alpha / 2, df) / df


@dataclass(frozen=True)
class WeightSample:
    """The moments of a weight tensor that the tests need (computed once, by torch)."""

    n: int  # the weights the mean square is read from: all, or a huge weight's subset
    mean: float
    second_moment: float  # Σw²/n, not centred: init schemes have mean 0
    fourth_moment: float  # Σw⁴/n
    max_abs: float
    #: Every weight equal (min = max, exactly). A constant's mean square is a float32 sum that
    #: may differ from mean² by 10⁻⁷, so the moments alone cannot always tell.
    constant: bool = False
    #: How many weights the mean, fourth moment and peak come from (a subset of a large
    #: weight); 0: all n. Their standard errors are this count's, not n's.
    shape_n: int = 0

    @property
    def shape_count(self) -> int:
        return self.shape_n or self.n

    @property
    def rms(self) -> float:
        return math.sqrt(self.second_moment)

    @property
    def centred_variance(self) -> float:
        return max(self.second_moment - self.mean**2, 0.0)

    @property
    def excess_kurtosis(self) -> float:
        if self.second_moment <= 0:
            return 0.0
        return self.fourth_moment / self.second_moment**2 - 3.0

    @property
    def peak_ratio(self) -> float:
        """max|w| / rms: ≤ √3 for uniform, ≈ 2.27 for normal truncated at 2σ, grows for normal."""
        return self.max_abs / self.rms if self.second_moment > 0 else 0.0

    def is_constant(self) -> bool:
        return self.constant or self.centred_variance <= 1e-12 * max(self.second_moment, 1e-30)

    def mean_is_zero(self, alpha: float) -> bool:
        """Whether the mean is compatible with 0, as every init scheme draws.

        A mean is only held against the weights when it is both significant (two-sided z test at
        ``alpha``) and material (over MATERIAL_MEAN of the rms): a tiny but significant offset
        does not change the scale test.
        """
        if self.n < 2 or self.centred_variance == 0:
            return self.mean == 0
        if abs(self.mean) <= MATERIAL_MEAN * self.rms:
            return True
        z = abs(self.mean) * math.sqrt(self.shape_count / self.centred_variance)
        return z <= normal_quantile(1 - alpha / 2)


def detect_distribution(sample: WeightSample) -> str | None:
    """'uniform', 'normal', 'trunc_normal', 'other', or None when there are too few weights.

    The peak ratio separates bounded from unbounded draws, the kurtosis (SE ≈ √(24/m), m the
    weights it is read from: a large weight's subset) confirms: uniform has γ₂ = -1.2, normal 0,
    normal truncated at ±2σ -0.63.
    """
    n = sample.n
    if n < MIN_WEIGHTS_FOR_SHAPE or sample.second_moment <= 0:
        return None
    kurtosis, peak = sample.excess_kurtosis, sample.peak_ratio
    tolerance = 4.0 * math.sqrt(24.0 / sample.shape_count)  # the kurtosis' standard error: 4σ

    def near(shape: str) -> bool:
        return abs(kurtosis - EXCESS_KURTOSIS[shape]) <= tolerance

    if peak < 2.0 and near("uniform"):
        return "uniform"
    if n >= 1000 and 2.0 <= peak < 2.5 and near("trunc_normal"):
        return "trunc_normal"
    if peak >= 2.0 and near("normal"):
        return "normal"
    return "other"


def kurtosis_for_interval(sample: WeightSample, distribution: str | None) -> float:
    """The γ₂ to size the interval with: the detected shape's, else the sample's (at least 0)."""
    if distribution in EXCESS_KURTOSIS:
        return EXCESS_KURTOSIS[distribution]
    if distribution is None:
        return 0.0  # too few weights to tell: normal is the widest of the usual shapes
    return max(sample.excess_kurtosis, 0.0)


def std_interval(
    sample: WeightSample, distribution: str | None, alpha: float
) -> tuple[float, float]:
    """1-alpha confidence interval for the std σ the weights were drawn with."""
    low, high = mean_square_ratio_interval(
        sample.n, kurtosis_for_interval(sample, distribution), alpha
    )
    return sample.rms / math.sqrt(high), sample.rms / math.sqrt(max(low, 1e-300))
