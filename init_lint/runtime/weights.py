"""Read a layer's weight with torch: its moments, its fans, whether it is orthogonal.

Nothing here writes to a parameter: every computation works on ``weight.detach()`` or on copies.
A model's weights are measured together (:func:`weight_statistics`): the small ones (at most
SHAPE_SAMPLE elements, most layers of most models) in their own precision, a few torch calls
each and one read-back for all (float64 only where float32 sums cannot be trusted: a material
mean, an overflow); a large one by itself, its mean square
read at memory speed (:func:`_sum_of_squares`; from a subset above SCALE_SAMPLE weights) and its
shape from an evenly spaced subset.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from ..knowledge import Fans, InputGeometry
from .stats import MATERIAL_MEAN, WeightSample

#: Rows (or columns) compared when testing for an orthogonal init: enough to rule out chance.
ORTHOGONALITY_PROBE = 64
ORTHOGONALITY_TOLERANCE = 1e-3


def weight_of(module: nn.Module) -> torch.Tensor | None:
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() < 2:
        return None
    if nn.parameter.is_lazy(weight) or weight.device.type == "meta":
        return None
    return weight


def is_transposed_conv(module: nn.Module) -> bool:
    return bool(getattr(module, "transposed", False))


def layer_geometry(
    module: nn.Module, weight: torch.Tensor, input_size: tuple[int, ...] | None = None
) -> InputGeometry:
    """The layer's geometry as the static checker reads it from the constructor, plus the
    spatial size of the input it was called on (which decides a transposed conv's forward fan,
    see :class:`~init_lint.knowledge.InputGeometry`)."""
    shape = tuple(weight.shape)
    groups = int(getattr(module, "groups", 1) or 1)
    if is_transposed_conv(module):
        stride = tuple(int(s) for s in getattr(module, "stride", (1,) * (len(shape) - 2)))
        return _geometry(shape, groups, stride, input_size)
    return _geometry(shape, groups, None, None)


@functools.lru_cache(maxsize=4096)
def _geometry(
    shape: tuple[int, ...],
    groups: int,
    stride: tuple[int, ...] | None,
    input_size: tuple[int, ...] | None,
) -> InputGeometry:
    """The geometry of a weight of this shape (a model repeats a few shapes many times);
    ``stride`` only for a transposed conv."""
    kernel = shape[2:]
    if stride is not None:
        return InputGeometry(
            "ConvTranspose",
            shape[0],
            shape[1] * groups,
            kernel,
            stride,
            groups,
            groups > 1,
            input_size=input_size if input_size and len(input_size) == len(kernel) else None,
        )
    return InputGeometry("Conv", shape[1] * groups, shape[0], kernel, None, groups, groups > 1)


@functools.lru_cache(maxsize=4096)
def geometry_fans(geometry: InputGeometry) -> Fans | None:
    """``geometry.fans()``, computed once per geometry."""
    return geometry.fans()


def layer_fans(module: nn.Module, weight: torch.Tensor) -> Fans:
    """Torch's fans for the weight and the true ones (see :class:`~init_lint.knowledge.Fans`)."""
    fans = geometry_fans(layer_geometry(module, weight))
    assert fans is not None  # every size is known at run time
    return fans


#: The shape statistics (fourth moment, peak) are read from at most this many evenly spaced
#: weights: kurtosis to ±0.01, and a peak that still tells bounded from normal draws.
SHAPE_SAMPLE = 1 << 18


#: Elements summed in the weight's own precision at a time: a float32 dot product over 10⁸
#: elements is off by ~0.2%, over 2¹⁶ by ~10⁻⁸; the chunks' sums are added in float64.
CHUNK = 1 << 16
#: A chunk is taken as BLOCK_ROWS rows of CHUNK/BLOCK_ROWS: one batched matrix product
#: (chunk · chunkᵀ, whose diagonal holds the rows' sums of squares) reads several rows at once,
#: ~1.4× the memory bandwidth of a dot product per chunk, with no Python loop over chunks.
BLOCK_ROWS = 4


def _sum_of_squares(flat: torch.Tensor) -> float:
    """Σw² of a 1-D float32/float64 tensor: float32 (float64) sums of CHUNK/BLOCK_ROWS
    consecutive weights, added in float64."""
    n = flat.numel()
    whole = n - n % CHUNK
    total = 0.0
    if whole:
        blocks = flat[:whole].view(whole // CHUNK, BLOCK_ROWS, CHUNK // BLOCK_ROWS)
        gram = torch.bmm(blocks, blocks.transpose(1, 2))
        total = float(gram.diagonal(dim1=1, dim2=2).sum(dtype=torch.float64))
    if whole < n:
        tail = flat[whole:]
        total += float(torch.dot(tail, tail))
    if not math.isfinite(total):  # squares beyond float32's range
        total = float(flat.double().square().sum())
    return total


def weight_statistics(
    weights: list[torch.Tensor],
) -> list[tuple[WeightSample, float | None]]:
    """:func:`weight_sample` and :func:`orthogonal_gain` of each weight, in order. The small
    weights are read in their own precision (:func:`_small_moments`) and the results of all of
    them read back in one transfer; the few whose float32 sums cannot be trusted (see
    :func:`_needs_exact`) are read again in float64."""
    found: dict[int, tuple[WeightSample, float | None]] = {}
    small: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for weight in weights:
        n = weight.numel()
        if n == 0:
            found[id(weight)] = (WeightSample(0, 0.0, 0.0, 0.0, 0.0), None)
        elif n <= SHAPE_SAMPLE:
            small.setdefault((weight.device, _work_dtype(weight)), []).append(weight)
        else:
            found[id(weight)] = (_large_sample(weight), orthogonal_gain(weight))
    for (device, dtype), group in small.items():
        scratch = torch.empty(max(w.numel() for w in group), dtype=dtype, device=device)
        zero = scratch.new_zeros(())
        read = torch.stack([_small_moments(w, scratch, zero) for w in group]).tolist()
        exact: torch.Tensor | None = None
        for weight, moments in zip(group, read, strict=True):
            if _needs_exact(weight.numel(), *moments[:3]):
                if exact is None:
                    exact = torch.empty(scratch.numel(), dtype=torch.float64, device=device)
                moments = _exact_moments(weight, exact).tolist()
            found[id(weight)] = _small_sample(weight, *moments)
    return [found[id(weight)] for weight in weights]


def _work_dtype(weight: torch.Tensor) -> torch.dtype:
    return weight.dtype if weight.dtype in (torch.float32, torch.float64) else torch.float32


def _small_sample(
    weight: torch.Tensor,
    total: float,
    squares: float,
    fourths: float,
    low: float,
    high: float,
    g00: float,
    g01: float,
) -> tuple[WeightSample, float | None]:
    n = weight.numel()
    sample = WeightSample(
        n, total / n, squares / n, fourths / n, max(-low, high), constant=low == high
    )
    return sample, orthogonal_gain(weight) if _may_be(g00, g01) else None


def weight_sample(weight: torch.Tensor) -> WeightSample:
    """n, mean, mean square, fourth moment and max|w|: of every weight for at most SHAPE_SAMPLE
    of them; above, the mean square of every weight (see :func:`_sum_of_squares`) and the
    others from an evenly spaced subset of SHAPE_SAMPLE."""
    return weight_statistics([weight])[0][0]


def _small_moments(weight: torch.Tensor, scratch: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    """Σw, Σw², Σw⁴, min, max, then the orthogonality pre-check's (g₀₀, g₀₁) (see
    :func:`_may_be`; ``zero`` when there are fewer than two vectors), in the weight's precision
    (float32 for a half weight), the squares in ``scratch``. A float32 dot product of at most
    SHAPE_SAMPLE weights is off by ~10⁻⁷, far below any interval's width, and reads half the
    bytes of a float64 copy. Dot products all: a tiny matmul costs several times more."""
    flat = weight.detach().reshape(-1)
    if flat.dtype != scratch.dtype:
        flat = flat.to(scratch.dtype)
    low, high = torch.aminmax(flat)
    squares = torch.mul(flat, flat, out=scratch[: flat.numel()])
    matrix = flat.view(weight.shape[0], -1)
    g00 = g01 = zero
    if min(matrix.shape) >= 2:
        vectors = matrix if matrix.shape[0] <= matrix.shape[1] else matrix.t()
        first = vectors[0]
        g00, g01 = torch.dot(first, first), torch.dot(first, vectors[1])
    sums = (flat.sum(), torch.dot(flat, flat), torch.dot(squares, squares), low, high, g00, g01)
    return torch.stack(sums)


def _needs_exact(n: int, total: float, squares: float, fourths: float) -> bool:
    """Whether a weight's float32 sums must be redone in float64: a sum overflowed, or the mean
    is material (over half MATERIAL_MEAN of the rms), where the centred variance Σw²/n - mean²
    (constant weights, the mean's z test) cancels most of the float32 sum's digits."""
    if not all(map(math.isfinite, (total, squares, fourths))):
        return True
    return total * total > (MATERIAL_MEAN / 2) ** 2 * squares * n


def _exact_moments(weight: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
    """:func:`_small_moments` in float64: the weight copied into ``scratch``."""
    flat = weight.detach().reshape(-1)
    values = scratch[: flat.numel()]
    values.copy_(flat)
    ends = torch.stack(torch.aminmax(flat)).double()  # exact; faster on the weight's own dtype
    pair = _pair_gram(values.view(weight.shape[0], -1))
    sums = [values.sum(), torch.dot(values, values)]
    values.square_()
    sums.append(torch.dot(values, values))
    return torch.cat((torch.stack(sums), ends, pair))


#: Above this many weights the mean square comes from SCALE_BLOCKS evenly spaced runs of CHUNK
#: consecutive weights (2²¹ of them): its interval is then that count's, ±0.13% on the std at
#: alpha 0.01, far inside the scale tolerance, and reading a 10⁸-weight layer no longer costs
#: what the forward pass costs (a batch-1 forward reads each weight of a Linear once too).
SCALE_SAMPLE = 1 << 22
SCALE_BLOCKS = 32


def _scale_subset(flat: torch.Tensor) -> torch.Tensor:
    """SCALE_BLOCKS runs of CHUNK consecutive weights, evenly spaced over ``flat``: whole rows
    of most weights, so that a layer whose rows differ is still read across its rows."""
    starts = torch.linspace(0, flat.numel() - CHUNK, SCALE_BLOCKS).long()
    return torch.cat([flat[int(start) : int(start) + CHUNK] for start in starts])


def _large_sample(weight: torch.Tensor) -> WeightSample:
    """:func:`weight_sample` of a weight of more than SHAPE_SAMPLE elements."""
    flat = weight.detach().reshape(-1)
    work = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
    if work.numel() > SCALE_SAMPLE:
        work = _scale_subset(work)
    n = work.numel()
    second = _sum_of_squares(work) / n
    subset = work[:: n // SHAPE_SAMPLE].to(torch.float64, copy=True)
    count = subset.numel()
    low, high = torch.aminmax(subset)
    moments = [subset.sum(), torch.dot(subset, subset), low, high]
    subset.square_()  # our own copy: squared in place rather than into a second buffer
    moments.append(torch.dot(subset, subset))
    total, squares, lowest, highest, fourths = torch.stack(moments).tolist()
    sub_second = max(squares / count, 1e-300)
    fourth = fourths / count * (second / sub_second) ** 2
    # Every weight equal: the subset says no, or the whole weight's range is 0.
    constant = lowest == highest and bool(work.eq(work[0]).all())
    # The mean only has to be told from 0 against MATERIAL_MEAN·rms: the subset's is enough.
    return WeightSample(n, total / count, second, fourth, max(-lowest, highest), constant, count)


def _pair_gram(matrix: torch.Tensor) -> torch.Tensor:
    """(g₀₀, g₀₁) in float64: the first vector's squared norm and its product with the second,
    the vectors being the rows when rows ≤ columns, else the columns (those
    :func:`orthogonal_gain` probes); (0, 0) when there are fewer than two."""
    if min(matrix.shape) < 2:
        return torch.zeros(2, dtype=torch.float64, device=matrix.device)
    vectors = matrix if matrix.shape[0] <= matrix.shape[1] else matrix.t()
    pair = vectors[:2].double()  # no copy when the matrix is float64 already
    return pair @ pair[0]


def _may_be(g00: float, g01: float) -> bool:
    """Whether a weight may be orthogonal, from its first two vectors: :func:`orthogonal_gain`'s
    probe needs |g₀₁| ≤ tol·scale and g₀₀ ≥ (1 - tol)·scale, so |g₀₁| > tol·g₀₀/(1 - tol) rules
    it out (a random draw has |g₀₁|/g₀₀ ~ 1/√length ≫ tol)."""
    bound = ORTHOGONALITY_TOLERANCE * g00 / (1 - ORTHOGONALITY_TOLERANCE)
    # Rounding: the probe sums in float64 and another order; the pre-check may be float32.
    return g00 > 0 and abs(g01) <= bound * (1 + 1e-5)


def orthogonal_gain(weight: torch.Tensor) -> float | None:
    """g when ``weight`` (flattened to rows = size(0)) is g × a (semi-)orthogonal matrix.

    ``orthogonal_`` makes the rows orthonormal when rows ≤ columns, else the columns; a random
    draw has off-diagonal Gram entries ~1/√length, so a probe of a few rows decides.
    """
    rows = weight.shape[0]
    if weight.numel() == 0:
        return None
    matrix = weight.detach().reshape(rows, -1)
    cols = matrix.shape[1]
    if min(rows, cols) < 2:
        return None
    vectors = matrix if rows <= cols else matrix.t()
    if not _may_be(*_pair_gram(matrix).tolist()):
        return None  # two vectors rule the probe out
    probe = vectors[:ORTHOGONALITY_PROBE].double()
    gram = probe @ probe.t()
    diagonal = gram.diagonal()
    scale = float(diagonal.mean())
    if scale <= 0:
        return None
    off = gram - torch.diag(diagonal)
    if float(off.abs().max()) > ORTHOGONALITY_TOLERANCE * scale:
        return None
    if float((diagonal - scale).abs().max()) > ORTHOGONALITY_TOLERANCE * scale:
        return None
    return math.sqrt(scale)
