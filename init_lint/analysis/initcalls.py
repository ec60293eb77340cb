"""Reading init calls: the scheme and gain ``init.kaiming_normal_(w, a=0.2)`` stands for."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import libcst as cst

from ..knowledge import (
    FAN_MODES,
    INIT_SIGNATURES,
    KNOWN_NONLINEARITIES,
    InitScheme,
    SchemeKind,
    calculate_gain,
    kaiming_gain,
)
from ..rules.ini006 import RULE as INI006
from .binder import bind
from .common import child_nodes, string_value
from .values import AppliedInit

__all__ = ["bind"]

SIGNATURES = INIT_SIGNATURES
#: Tensor methods that initialise in place: ``w.data.normal_(0, 0.01)``.
TENSOR_INIT_METHODS: dict[str, tuple[str, ...]] = {
    "normal_": ("mean", "std"),
    "uniform_": ("from", "to"),
    "fill_": ("value",),
    "zero_": (),
}
DEPRECATED = {
    name[:-1]: name
    for name in (
        "kaiming_normal_",
        "kaiming_uniform_",
        "xavier_normal_",
        "xavier_uniform_",
        "normal_",
        "uniform_",
        "constant_",
        "orthogonal_",
        "sparse_",
        "eye_",
        "dirac_",
    )
}
FAN_BASED = frozenset({"kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_"})


def canonical_init_name(name: str) -> str:
    """'kaiming_normal' (deprecated) → 'kaiming_normal_'."""
    return DEPRECATED.get(name, name)


def string_literal(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return value if isinstance(value, str) else None
    return None


@dataclass(frozen=True)
class Reader:
    """How the interpreter reads an argument's value where the call is: a number, a string
    (both None when not known there)."""

    number: Callable[[cst.BaseExpression], float | None]
    text: Callable[[cst.BaseExpression], str | None] = string_literal


def is_he_formula(node: cst.BaseExpression) -> bool:
    """``math.sqrt(2. / n)``, ``(2 / n) ** 0.5``, ``math.sqrt(2) / math.sqrt(n)``: He by hand."""
    for sub in _walk(node):
        if isinstance(sub, cst.BinaryOperation) and isinstance(sub.operator, cst.Divide):
            if _is_two(sub.left) or _is_sqrt_of_two(sub.left):
                return True
    return False


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child_nodes(current))


def _is_number(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Integer, cst.Float))


def _is_two(node: cst.BaseExpression) -> bool:
    return _is_number(node) and float(node.value.rstrip(".") or 0) == 2.0  # type: ignore[attr-defined]


def _is_sqrt_of_two(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, (cst.Attribute, cst.Name))
        and (node.func.attr.value if isinstance(node.func, cst.Attribute) else node.func.value)
        == "sqrt"
        and len(node.args) == 1
        and _is_two(node.args[0].value)
    )


def scheme_for(name: str, bound: dict[str, cst.BaseExpression], read: Reader) -> InitScheme:
    """The InitScheme an init call stands for. ``name`` is canonical (trailing underscore)."""
    numeric = read.number
    if name in ("kaiming_normal_", "kaiming_uniform_"):
        nonlinearity = read.text(bound["nonlinearity"]) if "nonlinearity" in bound else "leaky_relu"
        a = numeric(bound["a"]) if "a" in bound else 0.0
        mode = read.text(bound["mode"]) if "mode" in bound else "fan_in"
        gain = None
        if nonlinearity in KNOWN_NONLINEARITIES and not (
            nonlinearity == "leaky_relu" and a is None
        ):
            gain = kaiming_gain(nonlinearity, a or 0.0)
        return InitScheme(SchemeKind.KAIMING, gain, nonlinearity, a, mode, name.split("_")[1])
    if name in ("xavier_normal_", "xavier_uniform_", "orthogonal_"):
        gain = numeric(bound["gain"]) if "gain" in bound else 1.0
        if gain is None:  # a gain it cannot read: a known scheme of unknown scale
            return InitScheme(SchemeKind.OTHER)
        kind = SchemeKind.ORTHOGONAL if name == "orthogonal_" else SchemeKind.XAVIER
        return InitScheme(kind, gain, distribution=name.split("_")[1])
    if name in ("normal_", "trunc_normal_", "sparse_"):
        std_node = bound.get("std")
        if std_node is None:
            return InitScheme(SchemeKind.NORMAL if name != "sparse_" else SchemeKind.OTHER)
        if is_he_formula(std_node):
            return InitScheme(SchemeKind.HE_FORMULA, math.sqrt(2.0))
        if numeric(std_node) is None:
            return InitScheme(SchemeKind.OTHER)
        return InitScheme(SchemeKind.TRUNC_NORMAL if name == "trunc_normal_" else SchemeKind.NORMAL)
    if name == "uniform_":
        bounds = [bound[key] for key in ("a", "b", "from", "to") if key in bound]
        if any(numeric(v) is None or is_he_formula(v) for v in bounds):
            return InitScheme(SchemeKind.OTHER)
        return InitScheme(SchemeKind.UNIFORM)
    if name in ("constant_", "zeros_", "ones_", "fill_", "zero_"):
        return InitScheme(SchemeKind.CONSTANT)
    return InitScheme(SchemeKind.OTHER)


def applied(name: str, bound: dict[str, cst.BaseExpression], read: Reader) -> AppliedInit:
    """:func:`scheme_for`, as the static checker records it (the text is filled in later)."""
    return AppliedInit(scheme_for(name, bound, read))


def invalid_argument_messages(
    name: str, bound: dict[str, cst.BaseExpression]
) -> list[tuple[cst.BaseExpression, str]]:
    """INI006: literal ``mode``/``nonlinearity`` values PyTorch rejects."""
    problems: list[tuple[cst.BaseExpression, str]] = []
    if name in ("kaiming_normal_", "kaiming_uniform_"):
        mode = string_literal(bound.get("mode"))
        if mode is not None and mode not in FAN_MODES:
            problems.append((bound["mode"], INI006.message(mode=repr(mode), function=name)))
        nonlinearity = string_literal(bound.get("nonlinearity"))
        if nonlinearity is not None and nonlinearity not in KNOWN_NONLINEARITIES:
            problems.append((bound["nonlinearity"], _unknown_nonlinearity(name, nonlinearity)))
    return problems


def _unknown_nonlinearity(where: str, value: str) -> str:
    hint = f" (did you mean {value.lower()!r}?)" if value.lower() in KNOWN_NONLINEARITIES else ""
    return INI006.message("nonlinearity", value=repr(value), function=where, hint=hint, raw=value)


def calculate_gain_value(call: cst.Call, read: Reader) -> tuple[float | None, str | None]:
    """(gain, INI006 message) for a ``calculate_gain('relu')`` call. Only a literal name is
    reported as invalid; a name from a variable is used when known."""
    if not call.args:
        return None, None
    first = call.args[0].value
    nonlinearity = read.text(first)
    if nonlinearity is None:
        return None, None
    if nonlinearity not in KNOWN_NONLINEARITIES:
        message = _unknown_nonlinearity("calculate_gain", nonlinearity)
        return None, message if string_literal(first) is not None else None
    param = read.number(call.args[1].value) if len(call.args) > 1 else None
    return calculate_gain(nonlinearity, param), None
