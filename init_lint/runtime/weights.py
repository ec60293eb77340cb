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


def _sum_of_squares(flat: torch.Tensor) -> float:
    total = 0.0
    for start in range(0, flat.numel(), CHUNK):
        chunk = flat[start : start + CHUNK]
        total += float(torch.dot(chunk, chunk))
    if not math.isfinite(total):  # squares beyond float32's range
        total = float(flat.double().square().sum())
    return total


def weight_sample(weight: torch.Tensor) -> WeightSample:
    """Mean square of every weight (float32 dot products of CHUNK weights, added in float64);
    mean,
    fourth moment and max|w| of an evenly spaced subset of at most SHAPE_SAMPLE of them (all
    of them for smaller weights)."""
    flat = weight.detach().reshape(-1)
    n = flat.numel()
    if n == 0:
        return WeightSample(0, 0.0, 0.0, 0.0, 0.0)
    work = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
    second = _sum_of_squares(work) / n
    subset = work[:: max(1, n // SHAPE_SAMPLE)].double()
    squares = subset.square()
    sub_second = max(float(squares.mean()), 1e-300)
    fourth = float(squares.square().mean()) * (second / sub_second) ** 2
    # The mean only has to be told from 0 against MATERIAL_MEAN·rms: the subset's is enough.
    mean = float(subset.mean())
    return WeightSample(n, mean, second, fourth, float(subset.abs().max()))


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
