"""Read a layer's weight with torch: its moments, its fans, whether it is orthogonal.

Nothing here writes to a parameter: every computation works on ``weight.detach()`` and the
reductions (vector norms) allocate no copy of the weight when it is already float32.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..knowledge import fan_in_and_fan_out
from .assess import Fans
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


def layer_fans(module: nn.Module, weight: torch.Tensor) -> Fans:
    """Torch's fans for the weight and the true ones (see :class:`Fans`)."""
    shape = tuple(weight.shape)
    torch_in, torch_out = fan_in_and_fan_out(shape)
    groups = int(getattr(module, "groups", 1) or 1)
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    if is_transposed_conv(module):
        stride = getattr(module, "stride", (1,) * (len(shape) - 2))
        strides = math.prod(int(s) for s in stride) if stride else 1
        in_channels = shape[0]
        true_in = in_channels / groups * receptive / strides
        return Fans(torch_in, torch_out, true_in, float(torch_in), transposed=True)
    return Fans(torch_in, torch_out, float(torch_in), torch_out / groups)


#: Elements converted to float64 at a time: exact enough moments without a float64 copy.
CHUNK = 1 << 22


def weight_sample(weight: torch.Tensor) -> WeightSample:
    flat = weight.detach().reshape(-1)
    n = flat.numel()
    if n == 0:
        return WeightSample(0, 0.0, 0.0, 0.0, 0.0)
    total = second = fourth = peak = 0.0
    for start in range(0, n, CHUNK):
        chunk = flat[start : start + CHUNK].double()
        squares = chunk.square()
        total += float(chunk.sum())
        second += float(squares.sum())
        fourth += float(squares.square().sum())
        peak = max(peak, float(chunk.abs().max()))
    return WeightSample(n, total / n, second / n, fourth / n, peak)


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
