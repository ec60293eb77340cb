"""Instantiation contexts: a class is analysed with the arguments each instantiation passes.

``ConvMlp(dim, hidden, act_layer=nn.GELU)`` and ``Down(3, 64, normalize=False)`` build layers
that feed another activation, or no norm, than the class's defaults say. So a class is run once
with its defaults (its *standalone* context, which counts only when nothing in the linted tree
builds it) and once per distinct *signature* of the arguments it is built with.

A signature is the arguments as plain data (:data:`Data`): constants, qualified names of torch
and of classes, activations, partials, tuples and unions of those; a module value (a layer or a
block passed in) is only marked as one (its layers are adopted by the container, see calls.py),
and anything else is unknown. Being data, a signature is hashable, crosses process boundaries, is
cached, and can be sent to the file that defines a class of another file.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from ..knowledge import Activation, Family
from .values import (
    NORM,
    OTHER_MODULE,
    PASS,
    SELF,
    UNKNOWN,
    ActVal,
    ClassInst,
    ClassRef,
    ConstVal,
    DictVal,
    FuncRef,
    GroupVal,
    LayerVal,
    ListBuilder,
    PartialVal,
    QualRef,
    RecordVal,
    SeqVal,
    Value,
)

if TYPE_CHECKING:
    from .host import Host

#: A value as data: a tuple whose first item is its tag ("const", "ref", "class", "act", ...)
#: and whose other items are constants or more data.
Data = tuple[Any, ...]
Signature = tuple[tuple[Data, ...], tuple[tuple[str, Data], ...]]

UNKNOWN_DATA: Data = ("?",)
MODULE_DATA: Data = ("module",)
DEFAULTS: Signature = ((), ())
#: The key suffix of a context not run (a class built in too many): what it holds is unknown.
NOT_RUN = "[not run]"

#: Collections longer than this are not spelled out (a list of 100 channel counts).
MAX_ITEMS = 16
_MARKERS = {id(PASS): "pass", id(NORM): "norm", id(OTHER_MODULE): "other"}
_MARKER_VALUES = {"pass": PASS, "norm": NORM, "other": OTHER_MODULE}


def freeze(value: Value, depth: int = 0) -> Data:
    """``value`` as data; what cannot be carried over becomes unknown or "a module"."""
    if depth > 4:
        return UNKNOWN_DATA
    if isinstance(value, ConstVal) and _is_scalar(value.value):
        return ("const", value.value)
    if isinstance(value, QualRef):
        return ("ref", value.qualified)
    if isinstance(value, ClassRef):
        return ("class", value.key)
    if isinstance(value, FuncRef):
        return _freeze_function(value)
    if isinstance(value, ActVal):
        activation = value.activation
        return ("act", activation.name, activation.family.value, activation.slope)
    if isinstance(value, PartialVal):
        args = tuple(freeze(a, depth + 1) for a in value.args)
        kwargs = tuple(sorted((k, freeze(v, depth + 1)) for k, v in value.kwargs.items()))
        return ("partial", freeze(value.func, depth + 1), args, kwargs)
    if id(value) in _MARKERS:
        return ("marker", _MARKERS[id(value)])
    if isinstance(value, (LayerVal, SeqVal, ClassInst)) or value is SELF:
        return MODULE_DATA
    if isinstance(value, (GroupVal, ListBuilder)) and value.exact and len(value.items) <= MAX_ITEMS:
        return ("tuple", tuple(freeze(item, depth + 1) for item in value.items))
    if isinstance(value, GroupVal) and not value.exact and len(value.items) <= MAX_ITEMS:
        # One of several (``act if cond else partial(act, **dd)``): a union of known values.
        options = tuple(dict.fromkeys(freeze(item, depth + 1) for item in value.items))
        return UNKNOWN_DATA if UNKNOWN_DATA in options else ("union", options)
    if isinstance(value, RecordVal) and len(value.fields) <= MAX_ITEMS:
        fields = tuple((k, freeze(v, depth + 1)) for k, v in value.fields.items())
        return ("record", value.key, fields)
    if isinstance(value, DictVal) and len(value.items) <= MAX_ITEMS:
        items = tuple((k, freeze(v, depth + 1)) for k, v in value.items if k is not None)
        return ("dict", tuple(sorted(items)))
    return UNKNOWN_DATA


def _freeze_function(value: FuncRef) -> Data:
    if value.info.label is not None:
        return ("lambda", value.info.label)  # not rebuilt in another file: unknown there
    if value.info.cls is None and not value.bound_self:
        return ("func", value.info.name)
    return UNKNOWN_DATA


def thaw(data: Data, host: Host) -> Value:
    """The abstract value ``data`` stands for, in the file ``host`` analyses."""
    tag = data[0]
    if tag == "const":
        return ConstVal(data[1])
    if tag == "ref":
        name = str(data[1])
        local = host.classes.get(name.rpartition(".")[2])
        if local is not None and local.key == name:
            return ClassRef(local.key, local)
        return QualRef(name)
    if tag == "class":
        return _class_ref(str(data[1]), host)
    if tag == "func":
        function = host.functions.get(str(data[1]))
        return FuncRef(function) if function is not None else UNKNOWN
    if tag == "act":
        _, name, family, slope = data
        return ActVal(Activation(str(name), Family(family), slope), None)
    if tag == "partial":
        _, func, args, kwargs = data
        return PartialVal(
            thaw(func, host),
            tuple(thaw(a, host) for a in args),
            {k: thaw(v, host) for k, v in kwargs},
        )
    if tag == "marker":
        return _MARKER_VALUES[str(data[1])]
    if tag == "tuple":
        return GroupVal(tuple(thaw(item, host) for item in data[1]))
    if tag == "union":
        return GroupVal(tuple(thaw(item, host) for item in data[1]), exact=False)
    if tag == "dict":
        return DictVal(tuple((k, thaw(v, host)) for k, v in data[1]))
    if tag == "record":
        _, key, fields = data
        return RecordVal(str(key), {str(k): thaw(v, host) for k, v in fields})
    return UNKNOWN  # unknown, or a module: its layers belong to the container's context


def _class_ref(key: str, host: Host) -> Value:
    for info in host.classes.values():
        if info.key == key:
            return ClassRef(key, info)
    return ClassRef(key)


def signature_of(positional: list[Value], keywords: dict[str, Value]) -> Signature:
    """The signature of a call's arguments (``**`` placeholders dropped: unknown keywords)."""
    frozen = tuple(sorted((k, freeze(v)) for k, v in keywords.items() if not k.startswith("**")))
    return tuple(freeze(v) for v in positional), frozen


def without_numbers(signature: Signature) -> Signature:
    """The same signature with numbers made unknown: fewer distinct contexts (see interpreter)."""

    def widen(data: Data) -> Data:
        if (
            data[0] == "const"
            and isinstance(data[1], (int, float))
            and not isinstance(data[1], bool)
        ):
            return UNKNOWN_DATA
        if data[0] == "tuple":
            return ("tuple", tuple(widen(item) for item in data[1]))
        if data[0] == "record":
            return ("record", data[1], tuple((k, widen(d)) for k, d in data[2]))
        return data

    positional, keywords = signature
    return tuple(widen(d) for d in positional), tuple((k, widen(d)) for k, d in keywords)


def unknowns(signature: Signature) -> int:
    """How many of a signature's values are unknown, at any depth."""
    count = 0
    pending: list[Data] = [*signature[0], *(data for _, data in signature[1])]
    while pending:
        data = pending.pop()
        if data == UNKNOWN_DATA:
            count += 1
        elif data[0] == "tuple":
            pending.extend(data[1])
        elif data[0] == "record":
            pending.extend(d for _, d in data[2])
    return count


def digest(signature: Signature) -> str:
    """A short, stable name for a signature (node keys, cache keys)."""
    return hashlib.sha256(repr(signature).encode()).hexdigest()[:12]


def describe(signature: Signature) -> str:
    """How a context reads in a message: ``act_layer=nn.GELU, normalize=False``."""
    positional, keywords = signature
    parts = [_describe(d) for d in positional] + [f"{k}={_describe(d)}" for k, d in keywords]
    text = ", ".join(parts)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(data: Data) -> str:
    tag = data[0]
    if tag == "const":
        return repr(data[1])
    if tag in ("ref", "class"):
        return str(data[1]).rsplit(".", 1)[-1]
    if tag == "act":
        return f"{data[1]}()"
    if tag in ("func", "lambda"):
        return str(data[1])
    if tag == "partial":
        return f"partial({_describe(data[1])}, ...)"
    if tag == "tuple":
        return "(" + ", ".join(_describe(d) for d in data[1]) + ")"
    if tag == "module":
        return "<module>"
    if tag == "record":  # Config(hidden=32, act='relu')
        fields = ", ".join(f"{k}={_describe(d)}" for k, d in data[2] if d != UNKNOWN_DATA)
        return f"{str(data[1]).rsplit('.', 1)[-1]}({fields})"
    return "?"


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
