"""Reading init calls: the scheme and gain ``init.kaiming_normal_(w, a=0.2)`` stands for."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import libcst as cst

from ..knowledge import (
    FAN_MODES,
    KNOWN_NONLINEARITIES,
    InitScheme,
    calculate_gain,
    kaiming_gain,
)
from .common import string_value

#: Parameters after the tensor, per init function (torch.nn.init signatures).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "kaiming_normal_": ("a", "mode", "nonlinearity", "generator"),
    "kaiming_uniform_": ("a", "mode", "nonlinearity", "generator"),
    "xavier_normal_": ("gain", "generator"),
    "xavier_uniform_": ("gain", "generator"),
    "orthogonal_": ("gain", "generator"),
    "normal_": ("mean", "std", "generator"),
    "trunc_normal_": ("mean", "std", "a", "b", "generator"),
    "uniform_": ("a", "b", "generator"),
    "constant_": ("val",),
    "zeros_": (),
    "ones_": (),
    "eye_": (),
    "dirac_": ("groups",),
    "sparse_": ("sparsity", "std", "generator"),
}
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


def bind(
    args: Sequence[cst.Arg], params: tuple[str, ...], skip: int = 1
) -> dict[str, cst.BaseExpression]:
    """Map a call's arguments (after the first ``skip`` positional ones) to parameter names."""
    bound: dict[str, cst.BaseExpression] = {}
    position = 0
    for arg in args:
        if arg.star:
            continue
        if arg.keyword is not None:
            bound[arg.keyword.value] = arg.value
            continue
        if position >= skip and position - skip < len(params):
            bound[params[position - skip]] = arg.value
        position += 1
    return bound


def string_literal(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return value if isinstance(value, str) else None
    return None


def is_he_formula(node: cst.BaseExpression) -> bool:
    """``math.sqrt(2. / n)``, ``(2 / n) ** 0.5``, ``math.sqrt(2) / math.sqrt(n)``: He by hand."""
    for sub in _walk(node):
        if isinstance(sub, cst.BinaryOperation) and isinstance(sub.operator, cst.Divide):
            if _is_two(sub.left) or _is_sqrt_of_two(sub.left):
                return True
    return False


def _walk(node: cst.CSTNode):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


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


Numeric = Callable[[cst.BaseExpression], "float | None"]


def scheme_for(
    name: str,
    bound: dict[str, cst.BaseExpression],
    numeric: Numeric,
    text: str,
    method: bool = False,
) -> InitScheme:
    """The InitScheme an init call stands for. ``name`` is canonical (trailing underscore)."""
    short = text if len(text) <= 120 else text[:117] + "..."
    if name in ("kaiming_normal_", "kaiming_uniform_"):
        nonlinearity = (
            string_literal(bound.get("nonlinearity")) if "nonlinearity" in bound else "leaky_relu"
        )
        if nonlinearity is None:  # a value we cannot read (a parameter, a conditional)
            return InitScheme("unknown", text=short)
        a = numeric(bound["a"]) if "a" in bound else 0.0
        mode = string_literal(bound.get("mode")) if "mode" in bound else "fan_in"
        gain = None
        if nonlinearity in KNOWN_NONLINEARITIES:
            if nonlinearity == "leaky_relu" and a is None:
                gain = None
            else:
                gain = kaiming_gain(nonlinearity, a or 0.0)
        return InitScheme(
            "kaiming",
            gain,
            nonlinearity,
            a,
            mode,
            name.split("_")[1],
            short,
        )
    if name in ("xavier_normal_", "xavier_uniform_", "orthogonal_"):
        gain = numeric(bound["gain"]) if "gain" in bound else 1.0
        kind = "orthogonal" if name == "orthogonal_" else "xavier"
        return InitScheme(kind, gain, distribution=name.split("_")[1], text=short)
    if name in ("normal_", "trunc_normal_", "sparse_"):
        std_node = bound.get("std")
        if std_node is None:
            return InitScheme("normal" if name != "sparse_" else "other", None, text=short)
        if is_he_formula(std_node):
            return InitScheme("he_formula", math.sqrt(2.0), text=short)
        std = numeric(std_node)
        kind = "trunc_normal" if name == "trunc_normal_" else "normal"
        return InitScheme(kind if std is not None else "other", None, text=short)
    if name in ("uniform_",):
        low = bound.get("a", bound.get("from"))
        high = bound.get("b", bound.get("to"))
        if low is None and high is None:
            return InitScheme("uniform", None, text=short)
        values = [numeric(v) for v in (low, high) if v is not None]
        if any(v is None for v in values) or any(
            is_he_formula(v) for v in (low, high) if v is not None
        ):
            return InitScheme("other", None, text=short)
        return InitScheme("uniform", None, text=short)
    if name in ("constant_", "zeros_", "ones_", "fill_", "zero_"):
        return InitScheme("constant", None, text=short)
    return InitScheme("other", None, text=short)


def invalid_argument_messages(
    name: str, bound: dict[str, cst.BaseExpression]
) -> list[tuple[cst.BaseExpression, str]]:
    """INI006: literal ``mode``/``nonlinearity`` values PyTorch rejects."""
    problems: list[tuple[cst.BaseExpression, str]] = []
    if name in ("kaiming_normal_", "kaiming_uniform_"):
        mode = string_literal(bound.get("mode"))
        if mode is not None and mode not in FAN_MODES:
            problems.append(
                (
                    bound["mode"],
                    f"mode={mode!r} is not supported by {name} (use 'fan_in' or 'fan_out'); "
                    "it raises ValueError",
                )
            )
        nonlinearity = string_literal(bound.get("nonlinearity"))
        if nonlinearity is not None and nonlinearity not in KNOWN_NONLINEARITIES:
            problems.append((bound["nonlinearity"], _unknown_nonlinearity(name, nonlinearity)))
    return problems


def _unknown_nonlinearity(where: str, value: str) -> str:
    hint = f" (did you mean {value.lower()!r}?)" if value.lower() in KNOWN_NONLINEARITIES else ""
    return (
        f"nonlinearity {value!r} is unknown to {where}{hint}: it raises "
        f"'ValueError: Unsupported nonlinearity {value}'; use one of "
        "linear, conv1d/2d/3d, sigmoid, tanh, relu, leaky_relu, selu"
    )


def calculate_gain_value(call: cst.Call, numeric: Numeric) -> tuple[float | None, str | None]:
    """(gain, INI006 message) for a ``calculate_gain('relu')`` call."""
    if not call.args:
        return None, None
    nonlinearity = string_literal(call.args[0].value)
    if nonlinearity is None:
        return None, None
    if nonlinearity not in KNOWN_NONLINEARITIES:
        return None, _unknown_nonlinearity("calculate_gain", nonlinearity)
    param = numeric(call.args[1].value) if len(call.args) > 1 else None
    return calculate_gain(nonlinearity, param), None
