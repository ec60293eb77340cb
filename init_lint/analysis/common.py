"""Helpers shared by the interpreter's parts: value algebra, syntax shortcuts, constants."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import libcst as cst

from ..knowledge import NORM_LAYERS
from .imports import dotted_name
from .values import (
    DEFAULT_INIT,
    NORM,
    OTHER_MODULE,
    PASS,
    UNKNOWN,
    ActVal,
    AppliedInit,
    ClassInst,
    ClassRef,
    ConstVal,
    DictVal,
    FuncRef,
    GroupVal,
    Instance,
    LayerVal,
    ListBuilder,
    ModulesIter,
    ParamsIter,
    Probe,
    QualRef,
    SeqVal,
    TensorVal,
    Value,
)

MAX_INLINE_DEPTH = 6
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# String literals and comments: a name inside 'resnet18.in1k' or a comment is no reference.
_STRINGS_AND_COMMENTS = re.compile(
    r"'''.*?'''" r'|""".*?"""' r"|'(?:\\.|[^'\\\n])*'" r'|"(?:\\.|[^"\\\n])*"' r"|#[^\n]*",
    re.DOTALL,
)
# Builtins and helpers that never touch a module's weights: passing a module to them is harmless.
HARMLESS_CALLS = frozenset(
    {
        "print",
        "len",
        "isinstance",
        "issubclass",
        "hasattr",
        "getattr",
        "super",
        "range",
        "enumerate",
        "zip",
        "list",
        "tuple",
        "dict",
        "set",
        "int",
        "float",
        "str",
        "bool",
        "type",
        "id",
        "repr",
        "sorted",
        "reversed",
        "min",
        "max",
        "sum",
        "any",
        "all",
        "map",
        "filter",
        "iter",
        "next",
        "round",
        "abs",
        "format",
        "vars",
        "callable",
        "logging",
        "warnings.warn",
    }
)
SEQUENTIAL_CLASSES = frozenset({"Sequential"})
LIST_CLASSES = frozenset({"ModuleList", "ParameterList"})
DICT_CLASSES = frozenset({"ModuleDict", "ParameterDict"})


def _block(body: cst.BaseSuite | Sequence[cst.CSTNode]) -> Sequence[cst.CSTNode]:
    if isinstance(body, cst.IndentedBlock):
        return body.body
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return body  # type: ignore[return-value]


def _compound_extras(statement: cst.CSTNode) -> list[Sequence[cst.CSTNode]]:
    extras: list[Sequence[cst.CSTNode]] = []
    orelse = getattr(statement, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            extras.append(_block(orelse.body))
            orelse = orelse.orelse
        else:
            extras.append(_block(orelse.body))
            orelse = None
    for handler in getattr(statement, "handlers", ()):
        extras.append(_block(handler.body))
    final = getattr(statement, "finalbody", None)
    if final is not None:
        extras.append(_block(final.body))
    return extras


def _handle_of(node: cst.BaseExpression) -> str | None:
    """'self' / 'netG' / 'self.backbone' for the receiver of .modules()/.apply()."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        node = node.func.value  # self.modules() -> self
    return dotted_name(node)


def _is_self(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "self"


def _number(node: cst.Integer | cst.Float) -> float:
    # int()/float() on the digits: LibCST's evaluated_value runs ast.literal_eval every time.
    text = node.value.replace("_", "")
    try:
        return float(int(text, 0)) if isinstance(node, cst.Integer) else float(text)
    except (ValueError, OverflowError):
        return 0.0


def string_value(node: cst.SimpleString | cst.ConcatenatedString) -> object:
    """The value of a string literal; plain ones without escapes skip ast.literal_eval."""
    if isinstance(node, cst.SimpleString):
        raw = node.value
        quote = raw[-3:] if raw.endswith(("'''", '"""')) and len(raw) >= 6 else raw[-1]
        prefix = raw[: raw.index(quote[0])]
        if not prefix and "\\" not in raw:
            return raw[len(quote) : -len(quote)]
    return node.evaluated_value


def _items(value: Value) -> list[Value] | None:
    if isinstance(value, GroupVal):
        return list(value.items)
    if isinstance(value, ListBuilder):
        return list(value.items)
    if isinstance(value, SeqVal):
        return list(value.elements) if value.elements is not None else None
    if isinstance(value, DictVal):
        return [v for _, v in value.items]
    return None


def _union(values: Sequence[Value]) -> Value:
    distinct: list[Value] = []
    for value in values:
        if isinstance(value, GroupVal) and not value.exact:
            candidates = list(value.items)
        else:
            candidates = [value]
        for candidate in candidates:
            if not any(candidate is seen for seen in distinct):
                distinct.append(candidate)
    if not distinct:
        return UNKNOWN
    if len(distinct) == 1:
        return distinct[0]
    if all(isinstance(v, TensorVal) for v in distinct):
        return TensorVal(frozenset().union(*(v.sources for v in distinct)))  # type: ignore[attr-defined]
    return GroupVal(tuple(distinct), exact=False)


def _merge_maps(maps: list[dict[str, Value]]) -> dict[str, Value]:
    merged: dict[str, Value] = {}
    keys = {key for mapping in maps for key in mapping}
    for key in keys:
        values = [mapping.get(key, UNKNOWN) for mapping in maps]
        if all(v is values[0] for v in values):
            merged[key] = values[0]
        elif all(isinstance(v, ListBuilder) for v in values):
            items: list[Value] = []
            for v in values:
                for item in v.items:  # type: ignore[attr-defined]
                    if not any(item is seen for seen in items):
                        items.append(item)
            tail = frozenset().union(*(v.tail for v in values))  # type: ignore[attr-defined]
            merged[key] = ListBuilder(items, False, tail)
        else:
            merged[key] = (
                _union([v for v in values if v is not UNKNOWN])
                if any(v is not UNKNOWN for v in values)
                else UNKNOWN
            )
    return merged


def _instances_in(value: Value, seen: set[int] | None = None) -> list[Instance]:
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, LayerVal):
        return [value.instance]
    found: list[Instance] = []
    items = value.members if isinstance(value, SeqVal) else _items(value)
    for item in items or ():
        found.extend(_instances_in(item, seen))
    return found


def _builtin_result(name: str, args: list[Value], kwargs: dict[str, Value]) -> Value | None:
    """Builtins that pass collections through: enumerate, zip, list(...), dict(a=...)."""
    if name == "dict" and (not args or (len(args) == 1 and isinstance(args[0], DictVal))):
        base = args[0].items if args else ()  # type: ignore[attr-defined]
        return DictVal(tuple(base) + tuple(kwargs.items()))
    if name == "enumerate" and args:
        return GroupVal((args[0],), exact=True, names={"<enumerate>": UNKNOWN})
    if name == "zip" and args:
        return GroupVal(tuple(args), exact=True, names={"<zip>": UNKNOWN})
    if name in ("list", "tuple", "reversed", "sorted", "iter") and len(args) == 1:
        return args[0]
    return None


def _is_module_value(value: Value) -> bool:
    """A value that is certainly a module/class/function, so never None."""
    if isinstance(value, GroupVal):
        return value.exact
    return isinstance(
        value, (LayerVal, ActVal, SeqVal, ClassInst, QualRef, ClassRef, FuncRef)
    ) or value in (
        PASS,
        NORM,
        OTHER_MODULE,
    )


def _iter_scope(value: Value) -> ModulesIter | ParamsIter | None:
    if isinstance(value, (ModulesIter, ParamsIter)):
        return value
    return None


def _target_names(target: cst.BaseExpression) -> list[str | None]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [e.value.value if isinstance(e.value, cst.Name) else None for e in target.elements]
    return []


def _as_dict(value: Value) -> Value:
    if isinstance(value, DictVal):
        return value
    items = _items(value)
    if items is None:
        return UNKNOWN
    pairs: list[tuple[str | None, Value]] = []
    for item in items:
        if isinstance(item, GroupVal) and item.exact and len(item.items) == 2:
            key = item.items[0]
            pairs.append(
                (
                    key.value if isinstance(key, ConstVal) and isinstance(key.value, str) else None,
                    item.items[1],
                )
            )
        else:
            return UNKNOWN
    return DictVal(tuple(pairs))


def _bases_of(value: Value) -> tuple[str, ...] | None:
    if isinstance(value, Probe):
        return value.bases
    if isinstance(value, LayerVal):
        return value.instance.bases
    return None


def _param_ndim(kind: str, param: str) -> int | None:
    if param == "bias":
        return 1
    if kind in NORM_LAYERS:
        return 1
    return 2


def _default_scheme(instance: Instance) -> AppliedInit:
    return DEFAULT_INIT


def _compare_numbers(left: float, operator: cst.BaseCompOp, right: float) -> bool | None:
    if isinstance(operator, (cst.NotEqual, cst.IsNot)):
        return left != right
    if isinstance(operator, (cst.Equal, cst.Is)):
        return left == right
    if isinstance(operator, cst.GreaterThan):
        return left > right
    if isinstance(operator, cst.GreaterThanEqual):
        return left >= right
    if isinstance(operator, cst.LessThan):
        return left < right
    if isinstance(operator, cst.LessThanEqual):
        return left <= right
    return None


def _keyword_true(node: cst.Call, keyword: str) -> bool:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return isinstance(arg.value, cst.Name) and arg.value.value == "True"
    return False


def _looks_like_init(name: str) -> bool:
    return name.endswith("_") and any(
        word in name
        for word in (
            "normal",
            "uniform",
            "init",
            "trunc",
            "orthogonal",
            "kaiming",
            "xavier",
            "zeros",
            "constant",
        )
    )


def _call_name(node: cst.Call) -> str:
    name = dotted_name(node.func) or "init"
    return name.rsplit(".", 1)[-1]


def _ends_with_bias(node: cst.Call) -> bool:
    if not node.args:
        return False
    target = node.args[0].value
    while isinstance(target, cst.Attribute) and target.attr.value == "data":
        target = target.value
    return isinstance(target, cst.Attribute) and target.attr.value == "bias"


def _with_line(scheme: AppliedInit, node: cst.Call) -> AppliedInit:
    # Lines are attached later: positions are computed only for files that need them.
    return replace(scheme, site=node)
