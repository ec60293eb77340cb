"""Read a layer's weight with torch: its moments, its fans, whether it is orthogonal.

Nothing here writes to a parameter: every computation works on ``weight.detach()`` and the
reductions (vector norms) allocate no copy of the weight when it is already float32.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..knowledge import Fans, InputGeometry
from .stats import WeightSample

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
    shape = tuple(int(n) for n in weight.shape)
    groups = int(getattr(module, "groups", 1) or 1)
    kernel = shape[2:]
    if is_transposed_conv(module):
        stride = tuple(int(s) for s in getattr(module, "stride", (1,) * len(kernel)))
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


def layer_fans(module: nn.Module, weight: torch.Tensor) -> Fans:
    """Torch's fans for the weight and the true ones (see :class:`~init_lint.knowledge.Fans`)."""
    fans = layer_geometry(module, weight).fans()
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


def weight_sample(weight: torch.Tensor) -> WeightSample:
    """Mean square of every weight (see :func:`_sum_of_squares`); mean, fourth moment and max|w|
    of an evenly spaced subset of at most SHAPE_SAMPLE of them (all of them for smaller
    weights), in float64 from one copy of the subset, read back in one transfer."""
    flat = weight.detach().reshape(-1)
    n = flat.numel()
    if n == 0:
        return WeightSample(0, 0.0, 0.0, 0.0, 0.0)
    work = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
    second = _sum_of_squares(work) / n
    subset = work[:: max(1, n // SHAPE_SAMPLE)].to(torch.float64, copy=True)
    count = subset.numel()
    low, high = torch.aminmax(subset)
    moments = [subset.sum(), torch.dot(subset, subset), low, high]
    subset.square_()  # our own copy: squared in place rather than into a second buffer
    moments.append(torch.dot(subset, subset))
    total, squares, lowest, highest, fourths = torch.stack(moments).tolist()
    sub_second = max(squares / count, 1e-300)
    fourth = fourths / count * (second / sub_second) ** 2
    # The mean only has to be told from 0 against MATERIAL_MEAN·rms: the subset's is enough.
    return WeightSample(n, total / count, second, fourth, max(-lowest, highest))


def orthogonal_gain(weight: torch.Tensor) -> float | None:
    """g when ``weight`` (flattened to rows = size(0)) is g × a (semi-)orthogonal matrix.

    ``orthogonal_`` makes the rows orthonormal when rows ≤ columns, else the columns; a random
    draw has off-diagonal Gram entries ~1/√length, so a probe of a few rows decides.
    """
    rows = weight.shape[0]
    matrix = weight.detach().reshape(rows, -1)
    cols = matrix.shape[1]
    if min(rows, cols) < 2:
        return None
    vectors = matrix if rows <= cols else matrix.t()
    # Two vectors first: if the probe passed, |g₀₁| ≤ tol·scale and g₀₀ ≥ (1 - tol)·scale, so
    # |g₀₁| > tol·g₀₀/(1 - tol) rules it out (a random draw: |g₀₁|/g₀₀ ~ 1/√length ≫ tol).
    pair = vectors[:2].double()
    (g00, g01), _ = (pair @ pair.t()).tolist()
    if g00 <= 0 or abs(g01) > ORTHOGONALITY_TOLERANCE * g00 / (1 - ORTHOGONALITY_TOLERANCE) * (
        1 + 1e-9  # rounding: the probe's product sums in another order
    ):
        return None
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
