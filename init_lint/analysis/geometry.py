"""A layer's geometry read off its constructor call: sizes, kernel, stride, groups.

``nn.Conv2d(64, 64, 3, groups=64)`` → in 64, out 64, kernel (3, 3), grouped. Sizes that are not
literals (or constants the interpreter knows) stay None; ``groups`` written with the same name
as ``in_channels`` (``nn.Conv2d(dim, dim, 7, groups=dim)``) is grouped whatever ``dim`` is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import libcst as cst

from ..knowledge import LayerGeometry
from .binder import bind
from .imports import dotted_name

Numeric = Callable[[cst.BaseExpression], "float | None"]

#: Constructor parameters after which the ones we read come, per layer family.
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")
_TRANSPOSED = (
    "in_channels",
    "out_channels",
    "kernel_size",
    "stride",
    "padding",
    "output_padding",
    "groups",
)
_LINEAR = ("in_features", "out_features")
_DIMENSIONS = re.compile(r"(\d)d$")


def geometry_of(kind: str, call: cst.Call, numeric: Numeric) -> LayerGeometry:
    """The geometry of a ``kind`` layer built by ``call`` (``kind`` is the torch.nn class)."""
    if kind.startswith("Lazy"):
        return LayerGeometry(kind)  # in_channels is inferred at the first forward pass
    if "Linear" in kind:
        bound = bind(call.args, _LINEAR, skip=0)
        return LayerGeometry(
            kind,
            _int(bound.get("in_features"), numeric),
            _int(bound.get("out_features"), numeric),
            (),
        )
    transposed = "Transpose" in kind
    bound = bind(call.args, _TRANSPOSED if transposed else _CONV, skip=0)
    dimensions = int(match.group(1)) if (match := _DIMENSIONS.search(kind)) else 2
    groups_node = bound.get("groups")
    groups = 1 if groups_node is None else _int(groups_node, numeric)
    same_name = groups_node is not None and _same_name(groups_node, bound.get("in_channels"))
    return LayerGeometry(
        kind,
        _int(bound.get("in_channels"), numeric),
        _int(bound.get("out_channels"), numeric),
        _per_dimension(bound.get("kernel_size"), dimensions, numeric),
        (1,) * dimensions
        if "stride" not in bound
        else _per_dimension(bound["stride"], dimensions, numeric),
        groups,
        grouped=same_name or (groups is not None and groups > 1),
    )


def _int(node: cst.BaseExpression | None, numeric: Numeric) -> int | None:
    if node is None:
        return None
    value = numeric(node)
    return int(value) if value is not None and value == int(value) and value > 0 else None


def _per_dimension(
    node: cst.BaseExpression | None, dimensions: int, numeric: Numeric
) -> tuple[int, ...] | None:
    """``3`` → (3, 3); ``(3, 1)`` → (3, 1); unknown → None."""
    if node is None:
        return None
    if isinstance(node, (cst.Tuple, cst.List)):
        values: Sequence[int | None] = [_int(e.value, numeric) for e in node.elements]
        if len(values) != dimensions or any(v is None for v in values):
            return None
        return tuple(v for v in values if v is not None)
    value = _int(node, numeric)
    return None if value is None else (value,) * dimensions


def _same_name(left: cst.BaseExpression, right: cst.BaseExpression | None) -> bool:
    """Two arguments spelled alike (``dim``/``dim``, ``self.c``/``self.c``, ``depths[0]``/
    ``depths[0]``): the same value, for names, attributes and subscripts by a literal or name."""
    if right is None or not _pure(left):
        return False
    name = dotted_name(left)
    if name is not None:
        return name == dotted_name(right)
    return left.deep_equals(right)


def _pure(node: cst.BaseExpression) -> bool:
    """A name, attribute or subscript (by a literal or a name): reading it twice gives the same."""
    if isinstance(node, (cst.Name, cst.Attribute)):
        return dotted_name(node) is not None
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        return (
            _pure(node.value)
            and isinstance(index, cst.Index)
            and isinstance(index.value, (cst.Integer, cst.Name, cst.SimpleString))
        )
    return False
