"""The statistics behind the runtime verifier: quantiles, shape detection, the weight test.

The false-alarm and detection tests draw weights directly (no models) so that hundreds of layers
from 8 to 4096 units a side take a few seconds.
"""

from __future__ import annotations

import math
import random

import pytest

from init_lint.knowledge import LayerGeometry, Verdict, activation_from_module
from init_lint.runtime.assess import Status, assess
from init_lint.runtime.stats import (
    chi2_quantile,
    detect_distribution,
    mean_square_ratio_interval,
    std_interval,
)

torch = pytest.importorskip("torch")
init = torch.nn.init

from init_lint.runtime.weights import (  # noqa: E402
    layer_fans,
    layer_geometry,
    orthogonal_gain,
    weight_sample,
)

RELU = activation_from_module("ReLU")


def linear(fan_in: int, fan_out: int) -> LayerGeometry:
    """A Linear layer's geometry (its fans are torch's)."""
    return LayerGeometry("Linear", fan_in, fan_out, ())

LEAKY = activation_from_module("LeakyReLU", 0.2)
TANH = activation_from_module("Tanh")


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    # Reference values from chi-square tables.
    [(0.975, 10, 20.483), (0.025, 10, 3.247), (0.025, 100, 74.222), (0.995, 1000, 1118.95)],
)
def test_chi2_quantile_matches_tables(p: float, df: int, expected: float) -> None:
    assert chi2_quantile(p, df) == pytest.approx(expected, rel=0.01)


def test_interval_narrows_with_n_and_with_negative_kurtosis() -> None:
    small = mean_square_ratio_interval(100, 0.0, 0.01)
    large = mean_square_ratio_interval(10_000, 0.0, 0.01)
    uniform = mean_square_ratio_interval(10_000, -1.2, 0.01)
    assert small[0] < large[0] < 1 < large[1] < small[1]
    width = large[1] - large[0]
    # Var(s²/σ²) = (2 + γ₂)/n: uniform's interval is √(0.8/2) as wide as normal's.
    assert (uniform[1] - uniform[0]) / width == pytest.approx(math.sqrt(0.4), rel=0.02)


def _draw(kind: str, n: int, std: float, generator: torch.Generator) -> torch.Tensor:
    tensor = torch.empty(n)
    if kind == "normal":
        return init.normal_(tensor, 0.0, std, generator=generator)
    if kind == "uniform":
        bound = std * math.sqrt(3)
        return init.uniform_(tensor, -bound, bound, generator=generator)
    return init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std, generator=generator)


@pytest.mark.parametrize("kind", ["normal", "uniform", "trunc_normal"])
def test_distribution_shape_is_detected(kind: str) -> None:
    generator = torch.Generator().manual_seed(1)
    for n in (1_000, 50_000):
        sample = weight_sample(_draw(kind, n, 0.05, generator))
        assert detect_distribution(sample) == kind


def test_too_few_weights_have_no_shape() -> None:
    generator = torch.Generator().manual_seed(2)
    assert detect_distribution(weight_sample(_draw("normal", 50, 1.0, generator))) is None


def test_interval_covers_the_true_std_at_the_nominal_rate() -> None:
    generator = torch.Generator().manual_seed(3)
    alpha, trials, misses = 0.1, 600, 0
    for trial in range(trials):
        kind = ("normal", "uniform")[trial % 2]
        sample = weight_sample(_draw(kind, 20 + trial, 0.3, generator))
        low, high = std_interval(sample, detect_distribution(sample), alpha)
        misses += not low <= 0.3 <= high
    assert misses / trials <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / trials)


def _random_layer(rng: random.Random, largest: int = 4096) -> tuple[int, int]:
    def size() -> int:
        return int(math.exp(rng.uniform(math.log(8), math.log(largest))))

    return size(), size()


@pytest.mark.slow
def test_false_alarm_rate_over_correctly_initialised_layers() -> None:
    """≥ 500 He-initialised layers of 8…4096 units a side: findings stay within alpha.

    Small layers may be inconclusive: before LeakyReLU(0.2) it takes ~130k weights to tell its
    gain from ReLU's (1.9% apart); before ReLU most layers of 4096 weights or more are decided,
    except shapes where another usual init (Xavier when fan_out ≫ fan_in, say) has nearly He's
    scale.
    """
    alpha, layers = 0.05, 500
    rng, generator = random.Random(7), torch.Generator().manual_seed(7)
    statuses: dict[str, int] = {}
    decided = large = 0
    for _ in range(layers):
        fan_in, fan_out = _random_layer(rng)
        activation = rng.choice([RELU, LEAKY])
        mode = rng.choice(["fan_in", "fan_out"])
        fill = rng.choice([init.kaiming_normal_, init.kaiming_uniform_])
        weight = fill(torch.empty(fan_out, fan_in), a=activation.slope, mode=mode,
                      nonlinearity="leaky_relu", generator=generator)
        fans = linear(fan_in, fan_out)
        result = assess(weight_sample(weight), fans, activation, alpha,
                        orthogonal_gain=orthogonal_gain(weight))
        statuses[result.status] = statuses.get(result.status, 0) + 1
        if activation is RELU and weight.numel() >= 4096:
            large += 1
            decided += result.status != Status.INCONCLUSIVE
    bound = alpha + 3 * math.sqrt(alpha * (1 - alpha) / layers)
    false_alarms = statuses.get(Status.FINDING, 0) + statuses.get(Status.UNRECOGNISED, 0)
    assert false_alarms / layers <= bound, statuses
    assert decided / large > 0.8, (decided, large)
    assert statuses[Status.OK] / layers > 0.5, statuses


@pytest.mark.slow
def test_bonferroni_keeps_the_per_model_rate() -> None:
    """Models of 10 correct layers at alpha/10 each: ≤ alpha of the models get any finding."""
    alpha, models, per_model = 0.1, 80, 10
    rng, generator = random.Random(11), torch.Generator().manual_seed(11)
    flagged = 0
    for _ in range(models):
        any_finding = False
        for _ in range(per_model):
            fan_in, fan_out = _random_layer(rng, largest=1024)
            weight = init.kaiming_normal_(torch.empty(fan_out, fan_in), nonlinearity="relu",
                                          generator=generator)
            fans = linear(fan_in, fan_out)
            result = assess(weight_sample(weight), fans, RELU, alpha / per_model)
            any_finding |= result.status == Status.FINDING
        flagged += any_finding
    assert flagged / models <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / models)


@pytest.mark.slow
def test_default_init_is_detected_for_every_layer_with_enough_weights() -> None:
    """fan_in ≥ 64 and ≥ 4096 weights: PyTorch's default is always INI001 before a rectifier,
    including shapes where its std equals He's with fan_out (fan_out = 6·fan_in)."""
    rng = random.Random(5)
    torch.manual_seed(5)
    shapes = [(64, 64), (4096, 1), (2048, 2), (64, 384), (100, 600), (128, 640), (64, 704)]
    while len(shapes) < 150:
        fan_in = int(math.exp(rng.uniform(math.log(64), math.log(4096))))
        fan_out = int(math.exp(rng.uniform(math.log(max(1, 4096 // fan_in)), math.log(4096))))
        if fan_in * fan_out >= 4096:
            shapes.append((fan_in, fan_out))
    for fan_in, fan_out in shapes:
        layer = torch.nn.Linear(fan_in, fan_out)
        fans = layer_geometry(layer, layer.weight)
        for activation in (RELU, LEAKY):
            result = assess(weight_sample(layer.weight), fans, activation, 0.01 / 20)
            assert (result.status, result.verdict) == (Status.FINDING, Verdict.NOT_HE_SCALED), (
                fan_in, fan_out, result)
            assert result.scheme.startswith("PyTorch default")


def test_relu_gain_before_leaky_relu_is_inconclusive_until_resolved() -> None:
    generator = torch.Generator().manual_seed(9)
    big = init.kaiming_normal_(torch.empty(512, 512), nonlinearity="relu", generator=generator)
    small = init.kaiming_normal_(torch.empty(32, 32), nonlinearity="relu", generator=generator)
    for weight, expected in ((big, Status.FINDING), (small, Status.INCONCLUSIVE)):
        fans = linear(weight.shape[1], weight.shape[0])
        result = assess(weight_sample(weight), fans, LEAKY, 0.01)
        assert result.status == expected, result
    result = assess(weight_sample(big), linear(512, 512), LEAKY, 0.01)
    assert result.verdict is Verdict.WRONG_KAIMING_GAIN
    assert result.gain == pytest.approx(math.sqrt(2), rel=0.01)
    assert result.required_gain == pytest.approx(math.sqrt(2 / 1.04))


def test_tiny_layers_are_inconclusive() -> None:
    generator = torch.Generator().manual_seed(4)
    weight = init.kaiming_normal_(torch.empty(4, 2), nonlinearity="relu", generator=generator)
    result = assess(weight_sample(weight), linear(2, 4), RELU, 0.01)
    assert result.status == Status.INCONCLUSIVE
    assert "too few weights" in result.reason


def test_schemes_are_named() -> None:
    generator = torch.Generator().manual_seed(6)
    fans = linear(300, 200)

    def named(weight: torch.Tensor, activation=RELU) -> str:
        return assess(weight_sample(weight), fans, activation, 0.01,
                      orthogonal_gain=orthogonal_gain(weight)).scheme

    def empty() -> torch.Tensor:
        return torch.empty(200, 300)

    assert named(init.kaiming_uniform_(empty(), mode="fan_out", nonlinearity="relu",
                                       generator=generator)) == \
        "kaiming_uniform_(mode='fan_out', nonlinearity='relu')"
    assert named(init.xavier_normal_(empty(), generator=generator)) == "xavier_normal_(gain=1)"
    assert named(init.normal_(empty(), 0, 0.02, generator=generator)) == "normal_(0, 0.02)"
    assert named(init.trunc_normal_(empty(), std=0.02, a=-0.04, b=0.04, generator=generator)) \
        == "trunc_normal_(std=0.02, ±2σ)"
    assert named(init.orthogonal_(empty(), gain=math.sqrt(2), generator=generator)) == \
        "orthogonal_(gain=1.41)"
    assert named(init.zeros_(empty())) == "constant_(0)"
    uniform_from_zero = init.uniform_(empty(), 0, 1, generator=generator)
    assert "mean" in named(uniform_from_zero)


def test_orthogonal_is_judged_by_its_gain() -> None:
    generator = torch.Generator().manual_seed(8)
    fans = linear(256, 128)
    for gain, verdict in ((math.sqrt(2), Verdict.OK), (1.0, Verdict.NOT_HE_SCALED)):
        weight = init.orthogonal_(torch.empty(128, 256), gain=gain, generator=generator)
        result = assess(weight_sample(weight), fans, RELU, 0.01,
                        orthogonal_gain=orthogonal_gain(weight))
        assert result.verdict is verdict


def test_kaiming_before_tanh_is_ini002_and_xavier_tanh_is_ok() -> None:
    generator = torch.Generator().manual_seed(10)
    fans = linear(256, 256)
    he = init.kaiming_normal_(torch.empty(256, 256), generator=generator)
    xavier = init.xavier_normal_(torch.empty(256, 256), gain=5 / 3, generator=generator)
    assert assess(weight_sample(he), fans, TANH, 0.01).verdict is Verdict.KAIMING_BEFORE_SATURATING
    assert assess(weight_sample(xavier), fans, TANH, 0.01).status == Status.OK


def test_grouped_and_transposed_conv_fans() -> None:
    depthwise = torch.nn.Conv2d(64, 64, 3, groups=64)
    fans = layer_fans(depthwise, depthwise.weight)
    assert (fans.torch_fan_in, fans.torch_fan_out, fans.fan_in, fans.fan_out) == (9, 576, 9, 9)
    transposed = torch.nn.ConvTranspose2d(128, 64, 4, stride=2)
    fans = layer_fans(transposed, transposed.weight)
    # weight (in, out, k, k): torch's fan_in 64·16 is the backward fan; forward sums 128·16/4.
    assert (fans.torch_fan_in, fans.torch_fan_out, fans.fan_in, fans.fan_out) == \
        (1024, 2048, 512.0, 1024.0)


def test_fan_out_kaiming_on_a_depthwise_conv_is_too_small() -> None:
    generator = torch.Generator().manual_seed(12)
    conv = torch.nn.Conv2d(256, 256, 3, groups=256)
    fans = layer_geometry(conv, conv.weight)
    fan_out = init.kaiming_normal_(torch.empty_like(conv.weight), mode="fan_out",
                                   nonlinearity="relu", generator=generator)
    fan_in = init.kaiming_normal_(torch.empty_like(conv.weight), nonlinearity="relu",
                                  generator=generator)
    wrong = assess(weight_sample(fan_out), fans, RELU, 0.01)
    assert wrong.verdict is Verdict.WRONG_FAN  # INI007, as the static checker says
    assert "≠" in wrong.scheme  # says which fan torch over-counted
    assert assess(weight_sample(fan_in), fans, RELU, 0.01).status == Status.OK


def test_weight_sample_moments() -> None:
    sample = weight_sample(torch.tensor([[1.0, -1.0], [2.0, -2.0]]))
    assert (sample.n, sample.mean, sample.max_abs) == (4, 0.0, 2.0)
    assert (sample.second_moment, sample.fourth_moment) == pytest.approx((2.5, 8.5))
    big = torch.randn(3000, 1000, generator=torch.Generator().manual_seed(1))
    sample = weight_sample(big)  # shape statistics from a subset, the scale from every weight
    assert sample.second_moment == pytest.approx(float(big.square().mean()), rel=1e-5)
    assert sample.excess_kurtosis == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize("shape", [(64, 64), (256, 256), (1000, 1000)])
@pytest.mark.parametrize("value", [0.1, 0.0137, -0.5])
def test_constant_weights_are_constant_whatever_the_rounding(shape, value) -> None:
    """Every weight equal is decided exactly (min = max): the float32 mean square of 0.1 over
    256² weights is 4e-6 off mean², which a variance test at 1e-12 read as not constant."""
    weight = torch.full(shape, value)
    assert weight_sample(weight).is_constant()
    result = assess(weight_sample(weight), linear(shape[1], shape[0]), RELU, 0.01)
    assert result.scheme == f"constant_({value:.3g})"
    assert not weight_sample(torch.cat([weight[:-1], weight[-1:] * 2])).is_constant()


def test_statistics_of_many_weights_equal_those_of_each() -> None:
    """weight_statistics shares one buffer between weights: each answer is its own. Small
    weights are summed in float32 (to ~1e-7), in float64 where the mean is material or a float32
    sum overflows (exactly, then)."""
    from init_lint.runtime.weights import weight_statistics

    generator = torch.Generator().manual_seed(13)
    weights = [
        torch.randn(128, 300, generator=generator) * 0.1,
        init.orthogonal_(torch.empty(64, 32), generator=generator),
        torch.randn(20, 10, generator=generator) + 1.0,
        torch.randn(300, 1000, generator=generator),  # above SHAPE_SAMPLE: on its own
        torch.zeros(0, 4),
        torch.randn(7, 3, 3, 3, generator=generator).half(),
        torch.randn(16, 16, generator=generator) * 1e12,  # Σw⁴ beyond float32's range
    ]
    together = weight_statistics(weights)
    for weight, (sample, ortho) in zip(weights, together, strict=True):
        alone = weight_sample(weight)
        assert sample.n == alone.n == weight.numel()
        assert sample.mean == pytest.approx(alone.mean, rel=1e-12, abs=1e-15)
        assert sample.second_moment == pytest.approx(alone.second_moment, rel=1e-12)
        assert sample.fourth_moment == pytest.approx(alone.fourth_moment, rel=1e-12)
        assert sample.max_abs == alone.max_abs
        assert ortho == orthogonal_gain(weight)
        if 0 < weight.numel() <= 1 << 18:  # moments of every weight
            exact = weight.double()
            rms = float(exact.square().mean().sqrt())
            rel = 1e-12 if abs(float(exact.mean())) > 0.05 * rms or rms > 1e9 else 1e-6
            assert sample.second_moment == pytest.approx(float(exact.square().mean()), rel=rel)
            assert sample.fourth_moment == pytest.approx(float(exact.pow(4).mean()), rel=rel)
            assert sample.mean == pytest.approx(float(exact.mean()), rel=rel, abs=rel * rms)
    assert together[1][1] == pytest.approx(1.0)  # orthogonal_ found among the others


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_shape_of_a_large_weight_is_detected_from_its_subset(kind: str) -> None:
    """Above 2^18 weights the kurtosis comes from an evenly spaced subset of ~2^18: its tolerance
    is that count's (4·√(24/2^18) = 0.038), not n's (0.0036 for 3·10⁷ weights, where a normal
    draw was 'other' in 2 layers of 5 and normal_(0, c) left out of the candidates)."""
    generator = torch.Generator().manual_seed(14)
    for _ in range(3):
        weight = _draw(kind, 30_000_000, 0.01, generator)
        sample = weight_sample(weight)
        assert 1 << 18 <= sample.shape_count < 1 << 19
        assert detect_distribution(sample) == kind


def test_a_huge_weight_is_scaled_from_a_subset_spread_over_its_rows() -> None:
    """Above SCALE_SAMPLE weights the mean square comes from evenly spaced runs (its interval is
    the subset's): the std is still read to within 0.5%, and a layer whose second half of rows
    is 3x larger is measured as such, not from its first rows."""
    from init_lint.runtime.weights import SCALE_SAMPLE

    generator = torch.Generator().manual_seed(15)
    weight = torch.randn(4096, 2048, generator=generator) * 0.02
    sample = weight_sample(weight)
    assert weight.numel() > SCALE_SAMPLE and sample.n < weight.numel()
    assert sample.rms == pytest.approx(0.02, rel=5e-3)
    weight[2048:] *= 3
    expected = float(weight.double().square().mean().sqrt())
    assert weight_sample(weight).rms == pytest.approx(expected, rel=2e-2)
