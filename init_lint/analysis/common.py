"""Helpers shared by the interpreter's parts: value algebra, syntax shortcuts, constants."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

import libcst as cst

from ..knowledge import NORM_LAYERS
from .imports import dotted_name
from .values import (
    NORM,
    OTHER_MODULE,
    PASS,
    UNKNOWN,
    ActVal,
    ClassInst,
    ClassRef,
    ConstVal,
    DictVal,
    FuncRef,
    GroupKind,
    GroupVal,
    Instance,
    LayerVal,
    ListBuilder,
    Node,
    PartialVal,
    Probe,
    QualRef,
    SeqVal,
    TensorVal,
    Value,
)

Statements = Sequence[cst.CSTNode]

MAX_INLINE_DEPTH = 6
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# String literals and comments: a name inside 'resnet18.in1k' or a comment is no reference.
STRINGS_AND_COMMENTS = re.compile(
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
HARMLESS_MODULES = frozenset({"print", "logging", "warnings", "math"})
SEQUENTIAL_CLASSES = frozenset({"Sequential"})
LIST_CLASSES = frozenset({"ModuleList", "ParameterList"})
DICT_CLASSES = frozenset({"ModuleDict", "ParameterDict"})
#: Module methods that return the module itself (``model.to(device)``).
SELF_RETURNING_METHODS = frozenset(
    {"to", "cuda", "cpu", "float", "double", "half", "train", "eval", "requires_grad_", "type"}
)
#: Module methods that neither initialise nor return the module.
INERT_METHODS = frozenset(
    {
        "load_state_dict",
        "register_buffer",
        "register_parameter",
        "add_module",
        "register_module",
        "register_forward_hook",
        "register_forward_pre_hook",
        "zero_grad",
        "state_dict",
    }
)


def block(body: cst.BaseSuite | Statements) -> Statements:
    if isinstance(body, cst.IndentedBlock):
        return body.body
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return body  # type: ignore[return-value]


def compound_extras(statement: cst.CSTNode) -> list[Statements]:
    """The other blocks of a compound statement: elif/else bodies, handlers, finally."""
    extras: list[Statements] = []
    orelse = getattr(statement, "orelse", None)
    while orelse is not None:
        extras.append(block(orelse.body))
        orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    for handler in getattr(statement, "handlers", ()):
        extras.append(block(handler.body))
    final = getattr(statement, "finalbody", None)
    if final is not None:
        extras.append(block(final.body))
    return extras


def branches_of(
    statement: cst.If,
) -> tuple[list[tuple[cst.BaseExpression, Statements]], Statements]:
    """An if/elif chain as (test, body) pairs, and the else body (empty when there is none)."""
    tests: list[tuple[cst.BaseExpression, Statements]] = []
    current: cst.If | cst.Else | None = statement
    while isinstance(current, cst.If):
        tests.append((current.test, block(current.body)))
        current = current.orelse
    return tests, block(current.body) if isinstance(current, cst.Else) else ()


def handle_of(node: cst.BaseExpression) -> str | None:
    """'self' / 'netG' / 'self.backbone' for the receiver of .modules()/.apply()."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        node = node.func.value  # self.modules() -> self
    return dotted_name(node)


def bound_handle(call: cst.Call, statement: cst.CSTNode | None) -> str | None:
    """'netG' for the ``apply`` in ``netG = Generator().to(device).apply(weights_init)``: a chain
    of methods that return the module binds the module they ran on to the statement's target,
    so a fix after the statement can name it."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
    else:
        return None
    name = dotted_name(target)
    link: cst.BaseExpression = value
    while name is not None and isinstance(link, cst.Call) and isinstance(link.func, cst.Attribute):
        if link is call:
            return name
        if link.func.attr.value not in SELF_RETURNING_METHODS | {"apply"}:
            return None
        link = link.func.value
    return None


def is_self(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "self"


def number(node: cst.Integer | cst.Float | cst.Imaginary) -> float | None:
    """The literal's value; None when it is not a real number (``1j``) or cannot be read.

    int()/float() on the digits: LibCST's evaluated_value runs ast.literal_eval every time.
    """
    if isinstance(node, cst.Imaginary):
        return None
    text = node.value.replace("_", "")
    try:
        return float(int(text, 0)) if isinstance(node, cst.Integer) else float(text)
    except (ValueError, OverflowError):
        return None


def string_value(node: cst.SimpleString | cst.ConcatenatedString) -> object:
    """The value of a string literal; plain ones without escapes skip ast.literal_eval."""
    if isinstance(node, cst.SimpleString):
        raw = node.value
        quote = raw[-3:] if raw.endswith(("'''", '"""')) and len(raw) >= 6 else raw[-1]
        prefix = raw[: raw.index(quote[0])]
        if not prefix and "\\" not in raw:
            return raw[len(quote) : -len(quote)]
    try:
        return node.evaluated_value
    except (ValueError, SyntaxError, MemoryError):
        return None


def complete(value: Value) -> bool:
    """Whether a collection's known items are all it holds."""
    return bool(getattr(value, "complete", True))


def items_of(value: Value) -> list[Value] | None:
    """The elements of a collection value, in order; None when they are not known."""
    if isinstance(value, (GroupVal, ListBuilder)):
        return list(value.items)
    if isinstance(value, SeqVal):
        return list(value.elements) if value.elements is not None else None
    if isinstance(value, DictVal):
        return [v for _, v in value.items]
    return None


def known_size(value: Value) -> int | None:
    """How many elements a collection certainly holds (a literal, or a list built without
    loops or unknown additions); None when that is not certain."""
    if isinstance(value, (GroupVal, ListBuilder)):
        plain = not isinstance(value, GroupVal) or value.kind is GroupKind.PLAIN
        return len(value.items) if plain and value.exact and value.complete else None
    if isinstance(value, SeqVal):
        return len(value.elements) if value.elements is not None and value.complete else None
    if isinstance(value, ConstVal) and isinstance(value.value, (str, tuple)):
        return len(value.value)
    return None


def union(values: Sequence[Value]) -> Value:
    """A value that is one of ``values`` (tensors merge their sources)."""
    distinct: list[Value] = []
    for value in values:
        candidates = value.items if isinstance(value, GroupVal) and not value.exact else (value,)
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


def merge_maps(maps: list[dict[str, Value]]) -> dict[str, Value]:
    """Variables after alternative branches: the same value, or a union of each branch's."""
    merged: dict[str, Value] = {}
    # In order of first assignment (a set's order would vary with the hash seed: self's
    # attributes are an nn.Sequential's order).
    keys = dict.fromkeys(key for mapping in maps for key in mapping)
    for key in keys:
        values = [mapping.get(key, UNKNOWN) for mapping in maps]
        if all(v is values[0] for v in values):
            merged[key] = values[0]
        elif all(isinstance(v, ListBuilder) for v in values):
            builders = [v for v in values if isinstance(v, ListBuilder)]
            items: list[Value] = []
            for builder in builders:
                items.extend(i for i in builder.items if not any(i is seen for seen in items))
            tail = frozenset().union(*(b.tail for b in builders))
            merged[key] = ListBuilder(items, False, tail, all(b.complete for b in builders))
        else:
            known = [v for v in values if v is not UNKNOWN]
            merged[key] = union(known) if known else UNKNOWN
    return merged


def instances_in(value: Value) -> list[Instance]:
    """Every layer inside a value (a layer, a Sequential, nested lists), each once."""
    return [v.instance for v in _contents(value) if isinstance(v, LayerVal)]


def submodules_in(value: Value) -> list[Node]:
    """The instantiation nodes of the modules of ours inside a value (``Block(...)`` in a list)."""
    return [v.node for v in _contents(value) if isinstance(v, ClassInst)]


def _contents(value: Value) -> list[Value]:
    """The layers and our modules inside a value, walked through its containers, each once."""
    found: list[Value] = []
    seen: set[int] = set()
    pending = [value]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (LayerVal, ClassInst)):
            found.append(current)
            continue
        items = current.members if isinstance(current, SeqVal) else items_of(current)
        pending.extend(reversed(items or ()))
    return found


def builtin_result(name: str, args: list[Value], kwargs: dict[str, Value]) -> Value | None:
    """Builtins that pass collections through: enumerate, zip, list(...), dict(a=...)."""
    if name == "dict" and (not args or (len(args) == 1 and isinstance(args[0], DictVal))):
        base = args[0].items if args and isinstance(args[0], DictVal) else ()
        return DictVal(tuple(base) + tuple(kwargs.items()))
    if name == "enumerate" and args:
        return GroupVal((args[0],), exact=True, kind=GroupKind.ENUMERATE)
    if name == "zip" and args:
        return GroupVal(tuple(args), exact=True, kind=GroupKind.ZIP)
    if name in ("list", "tuple", "reversed", "sorted", "iter") and len(args) == 1:
        return args[0]
    if name == "str" and len(args) == 1 and not kwargs:
        return _as_text(args[0])
    if name == "sum" and len(args) == 2 and items_of(args[1]) == [] and not kwargs:
        return flattened(args[0])  # sum(([conv, act] for ...), []): the pairs in order
    if name == "getattr" and len(args) >= 2 and isinstance(args[0], QualRef):
        attribute = args[1]  # getattr(nn, "ReLU"): the class of that name
        if isinstance(attribute, ConstVal) and isinstance(attribute.value, str):
            return QualRef(f"{args[0].qualified}.{attribute.value}")
    return None


def repeated(group: Value) -> Value | None:
    """A literal ``(conv, act)`` made in a loop or comprehension, its items concatenated: those
    items in order, repeated an unknown number of times (as a loop appending them)."""
    if isinstance(group, (GroupVal, ListBuilder)) and group.exact and group.items:
        return GroupVal(tuple(group.items), exact=False, ordered=True)
    return None


def flattened(groups: Value) -> Value | None:
    """``chain.from_iterable(...)``/``sum(..., [])`` of such groups (one made per pass)."""
    if isinstance(groups, GroupVal) and not groups.exact and len(groups.items) == 1:
        return repeated(groups.items[0])
    return None


#: String methods evaluated on known strings: names of layers and activations are normalised
#: with them before a table lookup (``_NORM_MAP[name.replace('_', '').lower()]``).
_STRING_METHODS = frozenset(
    {"lower", "upper", "casefold", "strip", "lstrip", "rstrip", "replace", "startswith",
     "endswith"}
)  # fmt: skip


#: Longest string built from known parts: names of attributes and activations are short.
MAX_BUILT_TEXT = 200
_FORMAT_FIELD = re.compile(r"\{(\w*)\}")
_PERCENT_FIELD = re.compile(r"%[sd]")
_LONGEST_INT = 10**MAX_BUILT_TEXT


def _as_text(value: Value) -> ConstVal | None:
    """``str(value)`` of a known string or number (a layer's name built as ``f"fc{i}"``)."""
    if not isinstance(value, ConstVal) or not isinstance(value.value, (str, int, float)):
        return None
    if isinstance(value.value, int) and abs(value.value) > _LONGEST_INT:
        return None  # str() of a huge int is slow (and refused past 4300 digits)
    text = str(value.value)
    return ConstVal(text) if len(text) <= MAX_BUILT_TEXT else None


def join_texts(parts: Iterable[Value]) -> ConstVal | None:
    """Known strings and numbers put together, or None when one is unknown or it grows long."""
    texts: list[str] = []
    for part in parts:
        text = _as_text(part)
        if text is None:
            return None
        texts.append(str(text.value))
    joined = "".join(texts)
    return ConstVal(joined) if len(joined) <= MAX_BUILT_TEXT else None


def _format_fields(template: str) -> tuple[list[str], list[str]] | None:
    """The literal pieces and plain fields (``{}``, ``{0}``, ``{name}``) of a ``str.format``
    template; None when a field has a spec, a conversion or an attribute."""
    escaped = template.replace("{{", "\x01").replace("}}", "\x02")
    pieces = _FORMAT_FIELD.split(escaped)
    literal = pieces[::2]
    if any("{" in piece or "}" in piece for piece in literal):
        return None
    return [p.replace("\x01", "{").replace("\x02", "}") for p in literal], pieces[1::2]


def _percent_fields(template: str) -> tuple[list[str], list[str]] | None:
    """The literal pieces and ``%s``/``%d`` fields of a ``%`` template; None for others."""
    escaped = template.replace("%%", "\x01")
    literal = _PERCENT_FIELD.split(escaped)
    if any("%" in piece for piece in literal):
        return None
    return [p.replace("\x01", "%") for p in literal], _PERCENT_FIELD.findall(escaped)


def template_pieces(template: str, percent: bool) -> list[str | None] | None:
    """A template's literal text with None for each field (a name built from unknown
    values), by the same grammar :func:`format_text` and :func:`percent_text` compute."""
    split = _percent_fields(template) if percent else _format_fields(template)
    if split is None:
        return None
    literal, fields = split
    return [
        piece for pair in zip(literal, [*[None] * len(fields), ""], strict=True) for piece in pair
    ]


def format_text(template: str, args: Sequence[Value]) -> ConstVal | None:
    """``'fc{}'.format(i)`` / ``'fc{0}'``: plain fields only (no spec, no conversion, no
    names), so that nothing but ``str()`` of a known value is ever computed."""
    split = _format_fields(template)
    if split is None:
        return None
    literal, fields = split
    values: list[Value] = []
    for index, field in enumerate(fields):
        position = int(field) if field.isdigit() else index if not field else -1
        if not 0 <= position < len(args):
            return None
        values.append(args[position])
    return _interleave([ConstVal(piece) for piece in literal], values)


def percent_text(template: str, args: Value) -> ConstVal | None:
    """``'fc%d' % i``: ``%s``/``%d`` fields only; the values must be known."""
    values = list(args.items) if isinstance(args, GroupVal) and args.exact else [args]
    split = _percent_fields(template)
    if split is None or len(split[1]) != len(values):
        return None
    literal, fields = split
    if any(f == "%d" and not _is_whole(v) for f, v in zip(fields, values, strict=True)):
        return None
    return _interleave([ConstVal(piece) for piece in literal], values)


def _interleave(texts: list[ConstVal], values: list[Value]) -> ConstVal | None:
    """text0 value0 text1 value1 ... textN, joined."""
    return join_texts(v for pair in zip(texts, [*values, ConstVal("")], strict=True) for v in pair)


def _is_whole(value: Value) -> bool:
    return isinstance(value, ConstVal) and type(value.value) is int


def string_method(receiver: Value, name: str, args: list[Value]) -> Value | None:
    """``'Batch_Norm'.replace('_', '').lower()`` when the string and the arguments are known."""
    if not (isinstance(receiver, ConstVal) and isinstance(receiver.value, str)):
        return None
    if name == "format":
        return format_text(receiver.value, args)
    if name not in _STRING_METHODS or len(args) > 2:
        return None
    if not all(isinstance(a, ConstVal) and isinstance(a.value, str) for a in args):
        return None
    values = [a.value for a in args if isinstance(a, ConstVal)]
    try:
        return ConstVal(getattr(receiver.value, name)(*values))
    except (TypeError, ValueError):
        return None


def is_module_value(value: Value) -> bool:
    """A value that is certainly a module/class/function (or a ``partial`` of one), so never
    None."""
    if isinstance(value, GroupVal):
        return value.exact
    return isinstance(
        value, (LayerVal, ActVal, SeqVal, ClassInst, QualRef, ClassRef, FuncRef, PartialVal)
    ) or value in (PASS, NORM, OTHER_MODULE)


def target_names(target: cst.BaseExpression) -> list[str | None]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [e.value.value if isinstance(e.value, cst.Name) else None for e in target.elements]
    return []


def as_dict(value: Value) -> Value:
    """``OrderedDict([('fc', layer), ...])`` or a dict literal as a :class:`DictVal`."""
    if isinstance(value, DictVal):
        return value
    items = items_of(value)
    if items is None:
        return UNKNOWN
    pairs: list[tuple[str | None, Value]] = []
    for item in items:
        if not (isinstance(item, GroupVal) and item.exact and len(item.items) == 2):
            return UNKNOWN
        key = item.items[0]
        name = key.value if isinstance(key, ConstVal) and isinstance(key.value, str) else None
        pairs.append((name, item.items[1]))
    return DictVal(tuple(pairs))


def bases_of(value: Value) -> tuple[str, ...] | None:
    if isinstance(value, Probe):
        return value.bases
    if isinstance(value, LayerVal):
        return value.instance.bases
    return None


def param_ndim(kind: str, param: str) -> int | None:
    if param == "bias" or kind in NORM_LAYERS:
        return 1
    return 2


_COMPARISONS = {
    cst.NotEqual: lambda a, b: a != b,
    cst.IsNot: lambda a, b: a != b,
    cst.Equal: lambda a, b: a == b,
    cst.Is: lambda a, b: a == b,
    cst.GreaterThan: lambda a, b: a > b,
    cst.GreaterThanEqual: lambda a, b: a >= b,
    cst.LessThan: lambda a, b: a < b,
    cst.LessThanEqual: lambda a, b: a <= b,
}


def compare_numbers(left: float, operator: cst.BaseCompOp, right: float) -> bool | None:
    compare = _COMPARISONS.get(type(operator))
    return bool(compare(left, right)) if compare is not None else None


def keyword_true(node: cst.Call, keyword: str) -> bool:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return isinstance(arg.value, cst.Name) and arg.value.value == "True"
    return False


_INIT_WORDS = (
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


def looks_like_init(name: str) -> bool:
    return name.endswith("_") and any(word in name for word in _INIT_WORDS)


def call_name(node: cst.Call) -> str:
    name = dotted_name(node.func) or "init"
    return name.rsplit(".", 1)[-1]


def ends_with_bias(node: cst.Call) -> bool:
    if not node.args:
        return False
    target = node.args[0].value
    while isinstance(target, cst.Attribute) and target.attr.value == "data":
        target = target.value
    return isinstance(target, cst.Attribute) and target.attr.value == "bias"


#: Words in a function's name that say it may write the weights of a module it is given.
_WRITING_WORDS = (
    "init",
    "load",
    "reset",
    "weight",
    "restore",
    "checkpoint",
    "pretrain",
    "param",
    "state",
    "copy",
    "transfer",
    "convert",
    "fuse",
    "quant",
    "prune",
    "norm",
    "fill",
    "zero",
    "apply",
)


def may_write_weights(name: str) -> bool:
    """Whether an unknown function may write the weights of a module it is given, by its name
    (``load_checkpoint(model)`` may; ``summary(model)``, ``Remote(self)`` do not)."""
    last = name.rsplit(".", 1)[-1].lower()
    return not last or any(word in last for word in _WRITING_WORDS)


#: The fields of each node class that can hold code (see child_nodes).
_NODE_FIELDS: dict[type, tuple[str, ...]] = {}
#: Fields that hold only layout: whitespace, comments, brackets and punctuation.
_LAYOUT_FIELDS = frozenset(
    {
        "asynchronous", "colon", "comma", "dot", "equal", "footer", "header", "leading_lines",
        "lines_after_decorators", "lpar", "newline", "rpar", "semicolon", "trailing_whitespace",
    }
)  # fmt: skip


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The code nodes ``node`` holds, in no particular order: ``node.children`` without the
    layout ones, read from its fields. LibCST computes ``children`` by running a visitor over
    the node, which made a walk over every function of a file cost as much as parsing it."""
    names = _NODE_FIELDS.get(type(node))
    if names is None:
        names = _NODE_FIELDS[type(node)] = tuple(
            f.name
            for f in dataclasses.fields(node)
            if f.name not in _LAYOUT_FIELDS and not f.name.startswith("whitespace")
        )
    found: list[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        if is_node(value):
            found.append(value)
        elif type(value) is tuple or type(value) is list:  # LibCST's sequences of nodes
            found.extend(item for item in value if is_node(item))
    return found


_IS_NODE: dict[type, bool] = {}


def is_node(value: object) -> bool:
    """``isinstance(value, cst.CSTNode)``, by a lookup on the type: LibCST's node classes are
    ABCs, and an isinstance() that fails on an ABC runs Python code (the analysis asks this
    millions of times)."""
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return known
