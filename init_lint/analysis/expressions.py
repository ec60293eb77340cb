"""Expressions: names, attributes, subscripts, literals, operators, and constant folding.

``eval`` dispatches on the node's type through a table (as pyflakes does), so each kind of
expression is one small method. Calls are :mod:`.calls`'s; conditions are :mod:`.conditions`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import libcst as cst

from ..library import FactoryKind
from . import initcalls
from .common import (
    complete,
    items_of,
    join_texts,
    number,
    param_ndim,
    percent_text,
    repeated,
    string_value,
    template_pieces,
    union,
)
from .conditions import truth_of
from .imports import dotted_name, init_function
from .state import Frame, FunctionInfo
from .values import (
    NO_SOURCE,
    SELF,
    UNKNOWN,
    ClassInst,
    ClassName,
    ClassRef,
    ConstVal,
    DictVal,
    FuncRef,
    GroupKind,
    GroupVal,
    LayerVal,
    ListBuilder,
    ParamRef,
    PartialVal,
    Probe,
    ProbeParam,
    QualRef,
    RecordVal,
    SeqVal,
    SubAttr,
    TensorMethod,
    TensorVal,
    Value,
)

if TYPE_CHECKING:
    from .host import Host

_CONSTANTS: dict[str, object] = {"True": True, "False": False, "None": None}
_ARITHMETIC: dict[type[cst.BaseBinaryOp], Callable[[float, float], float]] = {
    cst.Add: lambda a, b: a + b,
    cst.Subtract: lambda a, b: a - b,
    cst.Multiply: lambda a, b: a * b,
    cst.Divide: lambda a, b: a / b,
    cst.FloorDivide: lambda a, b: a // b,
    cst.Modulo: lambda a, b: a % b,
    cst.Power: lambda a, b: float(a**b),
}


#: How an unknown part of a name built in a loop shows (``self.fc{…}``).
PATTERN_PART = "{…}"


def _template(node: cst.BaseExpression) -> list[str | None] | None:
    """The pieces of ``"fc%d" % i`` or ``"fc{}".format(i)``: its literal text, None for each
    field (see :func:`.common.template_pieces`)."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        literal, percent = node.left, True
    elif (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "format"
    ):
        literal, percent = node.func.value, False
    else:
        return None
    text = string_value(literal) if isinstance(literal, cst.SimpleString) else None
    return template_pieces(text, percent) if isinstance(text, str) else None


class Expressions:
    def __init__(self, host: Host) -> None:
        self.host = host
        self._lambdas: dict[int, tuple[cst.FunctionDef, str]] = {}  # id(lambda) -> its def
        self._handlers: dict[type[cst.CSTNode], Callable[[cst.BaseExpression, Frame], Value]] = {
            cst.Name: self._name,  # type: ignore[dict-item]
            cst.Attribute: self._attribute,  # type: ignore[dict-item]
            cst.Call: lambda node, frame: host.calls.eval_call(node, frame),  # type: ignore[arg-type]
            cst.Subscript: self._subscript,  # type: ignore[dict-item]
            cst.Integer: self._number,  # type: ignore[dict-item]
            cst.Float: self._number,  # type: ignore[dict-item]
            cst.SimpleString: self._string,  # type: ignore[dict-item]
            cst.ConcatenatedString: self._string,  # type: ignore[dict-item]
            cst.FormattedString: self._formatted,  # type: ignore[dict-item]
            cst.List: self._list,  # type: ignore[dict-item]
            cst.Tuple: self._tuple,  # type: ignore[dict-item]
            cst.Set: self._tuple,  # type: ignore[dict-item]
            cst.Dict: self._dict,  # type: ignore[dict-item]
            cst.ListComp: self._comprehension,  # type: ignore[dict-item]
            cst.GeneratorExp: self._comprehension,  # type: ignore[dict-item]
            cst.SetComp: self._comprehension,  # type: ignore[dict-item]
            cst.BinaryOperation: self._binary,  # type: ignore[dict-item]
            cst.UnaryOperation: self._unary,  # type: ignore[dict-item]
            cst.IfExp: self._if_expression,  # type: ignore[dict-item]
            cst.BooleanOperation: self._boolean_operation,  # type: ignore[dict-item]
            cst.Comparison: self._comparison,  # type: ignore[dict-item]
            cst.Await: lambda node, frame: self.eval(node.expression, frame),  # type: ignore[attr-defined]
            cst.NamedExpr: self._walrus,  # type: ignore[dict-item]
            cst.Lambda: self._lambda,  # type: ignore[dict-item]
        }

    def eval(self, node: cst.BaseExpression, frame: Frame) -> Value:
        handler = self._handlers.get(type(node))
        return handler(node, frame) if handler is not None else UNKNOWN

    # ------------------------------------------------------------------ names and attributes
    def _name(self, node: cst.Name, frame: Frame) -> Value:
        return self.name(node.value, frame)

    def name(self, name: str, frame: Frame) -> Value:
        host = self.host
        if name in frame.env:
            return frame.env[name]
        if name in host.constants:
            return host.constants[name]
        if name == "self" and frame.attrs is not None:
            return SELF
        if name in _CONSTANTS:
            return ConstVal(_CONSTANTS[name])
        if name in host.classes or name in host.class_aliases:
            info = host.classes[host.class_aliases.get(name, name)]
            return ClassRef(info.key, info)
        if name in host.functions:
            return FuncRef(host.functions[name])
        qualified = host.imports.resolve_dotted(name)
        return QualRef(qualified) if qualified is not None else UNKNOWN

    def _attribute(self, node: cst.Attribute, frame: Frame) -> Value:
        return self.member(self.eval(node.value, frame), node.attr.value, frame)

    def member(self, base: Value, attr: str, frame: Frame) -> Value:
        """``base.attr`` for an already evaluated ``base``."""
        if base is SELF:
            return self._self_attribute(attr, frame)
        if isinstance(base, QualRef):
            return QualRef(f"{base.qualified}.{attr}")
        if isinstance(base, LayerVal):
            if attr not in ("weight", "bias"):
                return UNKNOWN
            return ParamRef(base.instance, attr, base.partial)
        if isinstance(base, (ParamRef, ProbeParam)):
            return base if attr == "data" else UNKNOWN
        if isinstance(base, Probe):
            return _probe_attribute(base, attr)
        if isinstance(base, ClassRef) and attr == "__name__":
            return ClassName(base.key) if base.info is None and "." not in base.key else UNKNOWN
        if isinstance(base, ClassRef) and base.info is not None and base.info.record_fields:
            default = dict(base.info.record_fields).get(attr)  # Args.act: the class's value
            return self.eval(default, Frame(env={}, owner=frame.owner)) if default else UNKNOWN
        if isinstance(base, TensorVal):
            return TensorMethod(base, attr)
        if isinstance(base, ClassInst):
            return SubAttr(base.node, attr)
        if isinstance(base, RecordVal) or (
            isinstance(base, GroupVal)
            and not base.exact
            and base.items
            and all(isinstance(item, RecordVal) for item in base.items)
        ):
            return _record_field(base, attr)
        if isinstance(base, SubAttr):
            return SubAttr(base.node, f"{base.path}.{attr}")
        if isinstance(base, PartialVal):  # partial(Norm, eps=1e-5).func / .keywords / .args
            if attr == "func":
                return base.func
            if attr == "keywords":
                return DictVal(tuple(base.kwargs.items()))
            if attr == "args":
                return GroupVal(base.args)
        return _collection_attribute(base, attr)

    def _self_attribute(self, attr: str, frame: Frame) -> Value:
        if frame.attrs is None:
            return UNKNOWN  # the module reached a frame that cannot see its attributes
        if attr in frame.attrs:
            return frame.attrs[attr]
        method = frame.self_info.lookup(attr) if frame.self_info is not None else None
        if method is not None:
            return FuncRef(method, bound_self=not method.is_static)
        for cls in frame.self_info.mro() if frame.self_info is not None else ():
            if attr in cls.class_values:  # act_layer = nn.ReLU in the class body
                return self.eval(cls.class_values[attr], Frame(env={}, owner=frame.owner))
        if frame.layer is not None and attr in ("weight", "bias"):
            return ParamRef(frame.layer, attr)  # a Linear/Conv subclass's own parameters
        return UNKNOWN

    # ------------------------------------------------------------------ subscripts
    def _subscript(self, node: cst.Subscript, frame: Frame) -> Value:
        base = self.eval(node.value, frame)
        index: Value = UNKNOWN
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            index = self.eval(node.slice[0].slice.value, frame)
        if isinstance(base, TensorVal):
            return base  # indexing/slicing keeps the scale
        part = node.slice[0].slice if len(node.slice) == 1 else None
        if isinstance(part, cst.Slice):
            if isinstance(base, ListBuilder):
                return self._list_slice(base, part, frame)
            if isinstance(base, (GroupVal, SeqVal)):
                return self._module_slice(base, self._slice_bounds(part, frame))
        library = self.host.library
        if isinstance(base, QualRef) and library.factory(base.qualified) is FactoryKind.MAPPING:
            return self.host.modules.from_factory(FactoryKind.MAPPING, None, [index], {}, frame)
        key = index.value if isinstance(index, ConstVal) else None
        if isinstance(base, SeqVal) and base.elements is not None:
            if isinstance(key, int):
                count = len(base.elements)
                return base.elements[key] if -count <= key < count else UNKNOWN
            return union(base.elements)
        if isinstance(base, (GroupVal, ListBuilder, DictVal)):
            item = _collection_item(base, key, isinstance(index, ConstVal))
            loose = not isinstance(base, DictVal) and not base.exact
            if isinstance(item, LayerVal) and loose and isinstance(key, int):
                # layers[-1] of a comprehension: one of the layers its one instance stands for
                return LayerVal(item.instance, partial=True)
            return item
        if isinstance(base, SubAttr) and isinstance(index, ConstVal):
            return SubAttr(base.node, f"{base.path}.{key}")
        if base is SELF and isinstance(key, int) and frame.attrs is not None:
            return frame.attrs.get(str(key), UNKNOWN)  # self[1] of an nn.Sequential subclass
        return UNKNOWN

    def _slice_bounds(
        self, part: cst.Slice, frame: Frame
    ) -> tuple[int | None, int | None, int | None] | None:
        """A slice's start, stop and step when each is absent or a known int."""
        bounds: list[int | None] = []
        for node in (part.lower, part.upper, part.step):
            value = self.eval(node, frame) if node is not None else ConstVal(None)
            given = value.value if isinstance(value, ConstVal) else UNKNOWN
            if not (given is None or type(given) is int):
                return None
            bounds.append(given)  # type: ignore[arg-type]
        return bounds[0], bounds[1], bounds[2]

    def _module_slice(
        self, base: GroupVal | SeqVal, bounds: tuple[int | None, int | None, int | None] | None
    ) -> Value:
        """``self.layers[:-1]``, ``vgg.features[:16]``: the modules in the slice, in order when
        known; else any of them, each layer standing for some of those it stands for."""
        if isinstance(base, SeqVal):
            if base.elements is None or bounds is None or bounds[2] == 0:
                return SeqVal(None, frozenset(), None, base.members, complete=base.complete)
            elements = list(base.elements[slice(*bounds)])
            return self.host.modules.make_sequential(elements, [False] * len(elements))
        if base.exact and bounds is not None and bounds[2] != 0:
            return GroupVal(base.items[slice(*bounds)], True, registered=base.registered)
        items = tuple(
            LayerVal(item.instance, partial=True) if isinstance(item, LayerVal) else item
            for item in base.items
        )
        sliced = GroupVal(items, False, registered=base.registered, complete=base.complete)
        sliced.ordered = base.ordered
        return sliced

    def _list_slice(self, base: ListBuilder, part: cst.Slice, frame: Frame) -> Value:
        """``rep[1:]`` of a list being built: the layers were chained as they were appended,
        so the slice keeps those flows; an exact list keeps its order, and a slice that keeps
        the end keeps the tail that later appends continue from."""
        bounds = self._slice_bounds(part, frame)
        if bounds is None or bounds[2] not in (None, 1):
            return ListBuilder(list(base.items), False, frozenset(), complete=False)
        start, stop, _ = bounds
        tail = base.tail if stop is None else frozenset()
        if base.exact:
            return ListBuilder(base.items[start:stop], True, tail, base.complete)
        return ListBuilder(list(base.items), False, tail, base.complete and stop is None)

    # ------------------------------------------------------------------ literals
    def _number(self, node: cst.Integer | cst.Float, frame: Frame) -> Value:
        value = number(node)
        if value is None:
            return UNKNOWN
        return ConstVal(int(value)) if isinstance(node, cst.Integer) else ConstVal(value)

    def _string(self, node: cst.SimpleString | cst.ConcatenatedString, frame: Frame) -> Value:
        value = string_value(node)
        return ConstVal(value) if value is not None else UNKNOWN

    def _formatted(self, node: cst.FormattedString, frame: Frame) -> Value:
        """``f"fc{i}"`` with every field known (see :meth:`_fstring_pieces`)."""
        pieces = self._fstring_pieces(node, frame)
        if pieces is None or None in pieces:
            return UNKNOWN
        text = join_texts(ConstVal(piece) for piece in pieces)
        return text if text is not None else UNKNOWN

    def _fstring_pieces(self, node: cst.FormattedString, frame: Frame) -> list[str | None] | None:
        """An f-string's literal text and the text of each field, None for a field that is not
        a plain known value (a conversion, a format spec, ``=``); None for the whole when its
        literal text has escapes or braces, left undecoded here."""
        pieces: list[str | None] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                if "\\" in part.value or "{" in part.value or "}" in part.value:
                    return None
                pieces.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression):
                plain = part.conversion is None and part.format_spec is None and not part.equal
                known = join_texts((self.eval(part.expression, frame),)) if plain else None
                pieces.append(None if known is None else str(known.value))
            else:
                return None
        return pieces

    def name_pattern(self, node: cst.BaseExpression, frame: Frame) -> str | None:
        """A name built in a loop from an unknown part, ``f"fc{i}"`` → ``'fc{…}'``: every
        name it may be, as one key (the loop runs abstractly, so ``i`` is not known)."""
        pieces = self._pattern_pieces(node, frame)
        if pieces is None or None not in pieces:
            return None
        if not any(piece for piece in pieces):
            return None  # nothing known: any attribute at all
        return "".join(PATTERN_PART if piece is None else piece for piece in pieces)

    def _pattern_pieces(self, node: cst.BaseExpression, frame: Frame) -> list[str | None] | None:
        """Known texts and unknown parts (None) of a string expression; None when it is no
        string built from parts."""
        if isinstance(node, cst.FormattedString):
            return self._fstring_pieces(node, frame)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left = self._pattern_pieces(node.left, frame)
            right = self._pattern_pieces(node.right, frame)
            return None if left is None or right is None else left + right
        template = _template(node)
        if template is not None:  # "fc%d" % i, "fc{}".format(i): each field unknown
            return template
        value = self.eval(node, frame)
        if isinstance(value, ConstVal) and isinstance(value.value, str):
            return [value.value]
        return [None] if isinstance(node, cst.Call) and dotted_name(node.func) == "str" else None

    def _list(self, node: cst.List, frame: Frame) -> Value:
        group = self.sequence(node.elements, frame)
        return self.host.modules.extend_builder(
            ListBuilder(), list(group.items), frame, exact=group.exact, whole=group.complete
        )

    def _tuple(self, node: cst.Tuple | cst.Set, frame: Frame) -> Value:
        return self.sequence(node.elements, frame)

    def _dict(self, node: cst.Dict, frame: Frame) -> Value:
        items: list[tuple[str | None, Value]] = []
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = self.eval(element.key, frame)
                name = (
                    key.value if isinstance(key, ConstVal) and isinstance(key.value, str) else None
                )
                items.append((name, self.eval(element.value, frame)))
            elif isinstance(element, cst.StarredDictElement):  # {**a, **b}
                spread = self.eval(element.value, frame)
                if isinstance(spread, DictVal):
                    items.extend(spread.items)
        return DictVal(tuple(items))

    def sequence(self, elements: Sequence[cst.BaseElement], frame: Frame) -> GroupVal:
        items: list[Value] = []
        exact = whole = True
        for element in elements:
            value = self.eval(element.value, frame)
            if not isinstance(element, cst.StarredElement):
                items.append(value)
                continue
            inner = items_of(value)
            if inner is None:
                exact = whole = False
                continue
            if isinstance(value, (ListBuilder, GroupVal)) and not value.exact:
                exact = False
            whole = whole and complete(value)
            items.extend(inner)
        group = GroupVal(tuple(items), exact)
        group.complete = whole
        return group

    def _comprehension(
        self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp, frame: Frame
    ) -> Value:
        inner = frame.child(env=dict(frame.env), depth=frame.depth)
        clause: cst.CompFor | None = node.for_in
        last: cst.CompFor = node.for_in
        iterable: Value = UNKNOWN
        while clause is not None:
            last, iterable = clause, self.eval(clause.iter, inner)
            element = self.element_of(iterable)
            if isinstance(clause.target, cst.Name):  # a comprehension's variable names nothing
                inner.env[clause.target.value] = element
            else:
                self.bind_target(clause.target, element, inner)
            for condition in clause.ifs:
                self.eval(condition.test, inner)
            clause = clause.inner_for_in
        flattened = _flattened(node.elt, last, iterable)
        if flattened is not None:
            return flattened
        return GroupVal((self.eval(node.elt, inner),), exact=False)

    # ------------------------------------------------------------------ operators
    def _binary(self, node: cst.BinaryOperation, frame: Frame) -> Value:
        # A long chain ``a + b + c + ...`` nests to the left: walk its spine, not recursively.
        spine: list[cst.BinaryOperation] = [node]
        while isinstance(spine[-1].left, cst.BinaryOperation):
            spine.append(spine[-1].left)  # type: ignore[arg-type]
        value = self.eval(spine[-1].left, frame)
        for operation in reversed(spine):
            value = self._combine(operation, value, self.eval(operation.right, frame), frame)
        return value

    def _combine(self, node: cst.BinaryOperation, left: Value, right: Value, frame: Frame) -> Value:
        if isinstance(node.operator, cst.Add) and isinstance(left, (GroupVal, ListBuilder)):
            if isinstance(right, (GroupVal, ListBuilder)):
                exact = left.exact and right.exact
                return GroupVal(tuple(left.items) + tuple(right.items), exact)
        if isinstance(node.operator, cst.Multiply):
            # (block,) * len(widths), n * [layer]: n references to the same items, n unknown
            for group, count in ((left, right), (right, left)):
                if isinstance(group, (GroupVal, ListBuilder)) and _may_be_count(count):
                    return GroupVal(tuple(group.items), exact=False)
        if isinstance(left, ConstVal) and isinstance(left.value, str):
            text: Value | None = None
            if isinstance(node.operator, cst.Add) and isinstance(right, ConstVal):
                text = join_texts((left, right)) if isinstance(right.value, str) else None
            elif isinstance(node.operator, cst.Modulo):
                text = percent_text(left.value, right)
            return text if text is not None else UNKNOWN
        if isinstance(left, ConstVal) and isinstance(right, ConstVal):
            folded = _fold(node.operator, left.value, right.value)
            if folded is not None:
                return ConstVal(folded)
        return NO_SOURCE if isinstance(left, TensorVal) or isinstance(right, TensorVal) else UNKNOWN

    def _unary(self, node: cst.UnaryOperation, frame: Frame) -> Value:
        operand = self.eval(node.expression, frame)
        if isinstance(node.operator, cst.Minus) and isinstance(operand, ConstVal):
            value = operand.value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return ConstVal(-value)
        return NO_SOURCE if isinstance(operand, TensorVal) else UNKNOWN

    def _if_expression(self, node: cst.IfExp, frame: Frame) -> Value:
        test = self.host.conditions.condition(node.test, frame)
        if test is True:
            return self.eval(node.body, frame)
        if test is False:
            return self.eval(node.orelse, frame)
        return union([self.eval(node.body, frame), self.eval(node.orelse, frame)])

    def _boolean_operation(self, node: cst.BooleanOperation, frame: Frame) -> Value:
        """``force_act_layer or act_layer``: the operand Python returns, when its truth is
        known; either one when it is not."""
        left = self.eval(node.left, frame)
        truth = truth_of(left)
        if truth is None:
            return union([left, self.eval(node.right, frame)])
        stops_at = isinstance(node.operator, cst.Or)  # `or` stops at a truthy value, `and` not
        return left if truth == stops_at else self.eval(node.right, frame)

    def _comparison(self, node: cst.Comparison, frame: Frame) -> Value:
        """``self.normalize = norm_layer is not None``: the bool when the test is decided."""
        if len(node.comparisons) != 1:  # a chain: Conditions would ask this method again
            return self._opaque_children(node, frame)
        truth = self.host.conditions.condition(node, frame)
        return UNKNOWN if truth is None else ConstVal(truth)

    def _opaque_children(self, node: cst.BaseExpression, frame: Frame) -> Value:
        for child in node.children:
            if isinstance(child, cst.BaseExpression):
                self.eval(child, frame)
        return UNKNOWN

    def _lambda(self, node: cst.Lambda, frame: Frame) -> Value:
        """``act_layer=lambda: nn.ReLU(inplace=True)``: a function of one ``return``, which sees
        the variables where it is written (``lambda: nn.ReLU(inplace=inplace)`` in a helper)."""
        known = self._lambdas.get(id(node))
        if known is None:  # built once per lambda: contexts evaluate it again and again
            body = cst.SimpleStatementSuite(body=[cst.Return(value=node.body)])
            function = cst.FunctionDef(name=cst.Name("_lambda"), params=node.params, body=body)
            text = self.host.code_of(node)  # its parameters too: `lambda c: ...`
            known = self._lambdas[id(node)] = (
                function,
                text if len(text) <= 40 else text[:37] + "...",
            )
        definition, label = known
        scope = self.host.scope if self.host.scope.foreign else None
        # A name of its own: one lambda calling another is not a recursion.
        info = FunctionInfo(
            definition, f"<lambda {id(node)}>", closure=frame.env, scope=scope, label=label
        )
        return FuncRef(info)

    def _walrus(self, node: cst.NamedExpr, frame: Frame) -> Value:
        value = self.eval(node.value, frame)
        self.host.assign(node.target, value, frame)
        return value

    # ------------------------------------------------------------------ numbers
    def numeric(self, node: cst.BaseExpression, frame: Frame) -> float | None:
        """A number the expression certainly evaluates to: literals, constants in scope,
        arithmetic, ``math.sqrt`` and ``calculate_gain``; None when it cannot be known."""
        if isinstance(node, cst.Call):
            return self._numeric_call(node, frame)
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) in _MATH_CONSTANTS:
            return _MATH_CONSTANTS[dotted_name(node) or ""]
        if isinstance(node, cst.BinaryOperation):
            left, right = self.numeric(node.left, frame), self.numeric(node.right, frame)
            if left is None or right is None:
                return None
            folded = _fold(node.operator, left, right)
            return float(folded) if isinstance(folded, (int, float)) else None
        value = self.eval(node, frame) if not isinstance(node, cst.Call) else UNKNOWN
        if isinstance(value, ConstVal):
            literal = value.value
            if isinstance(literal, (int, float)) and not isinstance(literal, bool):
                return float(literal)
        return None

    def _numeric_call(self, node: cst.Call, frame: Frame) -> float | None:
        name = dotted_name(node.func) or ""
        qualified = self.host.imports.resolve(node.func) or name
        function = NUMERIC_FUNCTIONS.get(qualified)
        if function is None and name.rsplit(".", 1)[-1] == "sqrt":
            function = math.sqrt  # ``sqrt(2. / n)`` however it was imported
        if function is not None:
            if any(arg.keyword is not None or arg.star for arg in node.args):
                return None
            numbers = [self.numeric(arg.value, frame) for arg in node.args]
            return apply_numeric(function, numbers)
        if init_function(qualified) == "calculate_gain" or name.endswith("calculate_gain"):
            gain, _problem = initcalls.calculate_gain_value(node, self.host.inits.reader(frame))
            return gain
        return None

    def text(self, node: cst.BaseExpression, frame: Frame) -> str | None:
        """A string the expression certainly evaluates to (a literal, or a constant in scope:
        ``nonlinearity=nonlinearity`` inside a helper called with ``"tanh"``)."""
        value = self.eval(node, frame)
        if isinstance(value, ConstVal) and isinstance(value.value, str):
            return value.value
        return None

    # ------------------------------------------------------------------ iteration
    def element_of(self, iterable: Value) -> Value:
        """What a for loop's variable is bound to when iterating this value."""
        if isinstance(iterable, GroupVal) and iterable.kind is GroupKind.ENUMERATE:
            return GroupVal((UNKNOWN, self.element_of(iterable.items[0])))
        if isinstance(iterable, GroupVal) and iterable.kind is GroupKind.ZIP:
            return GroupVal(tuple(self.element_of(item) for item in iterable.items))
        items = items_of(iterable)
        return union(items) if items is not None else UNKNOWN

    def bind_target(self, target: cst.BaseExpression, element: Value, frame: Frame) -> None:
        if (
            isinstance(target, (cst.Tuple, cst.List))
            and isinstance(element, GroupVal)
            and element.exact
            and len(element.items) == len(target.elements)
        ):
            for sub, value in zip(target.elements, element.items, strict=True):
                self.host.assign(sub.value, value, frame)
        else:
            self.host.assign(target, element, frame)


_EMPTY_MODULE = cst.Module(body=[])  # renders a node's code


def code_of(node: cst.CSTNode) -> str:
    """A node's source text (as LibCST renders it, without the file's context)."""
    return _EMPTY_MODULE.code_for_node(node)


_MATH_CONSTANTS = {"math.pi": math.pi, "math.e": math.e, "math.inf": math.inf}
#: Functions of numbers that an init's gain or std is computed with (``std=np.sqrt(2)``).
NUMERIC_FUNCTIONS: dict[str, Callable[..., float]] = {
    f"{module}.{name}": function
    for module in ("math", "numpy")
    for name, function in (("sqrt", math.sqrt), ("exp", math.exp), ("log", math.log))
} | {"math.pow": math.pow, "numpy.power": math.pow}


def apply_numeric(function: Callable[..., float], numbers: Sequence[float | None]) -> float | None:
    """``function(*numbers)`` when every number is known and the result is a real number."""
    if not numbers or any(number is None for number in numbers):
        return None
    try:
        return float(function(*numbers))
    except (ValueError, OverflowError, TypeError, ZeroDivisionError):
        return None


def _may_be_count(value: Value) -> bool:
    """An operand that may be the int of ``sequence * n`` (a number, or unknown)."""
    return value is UNKNOWN or (isinstance(value, ConstVal) and isinstance(value.value, int))


def _fold(operator: cst.BaseBinaryOp, left: object, right: object) -> float | int | None:
    """Constant folding of numbers (not bools); None when it is not a number or overflows."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
        return None
    compute = _ARITHMETIC.get(type(operator))
    if compute is None:
        return None
    try:
        if isinstance(operator, cst.Power) and abs(float(right)) > 64:  # type: ignore[arg-type]
            return None  # 10 ** 10000: not a size, and expensive
        result = compute(left, right)  # type: ignore[arg-type]
    except (ZeroDivisionError, OverflowError, ValueError, TypeError):  # TypeError: (-4) ** 0.5
        return None
    if isinstance(result, complex) or not math.isfinite(result):
        return None
    both_int = isinstance(left, int) and isinstance(right, int)
    if both_int and not isinstance(operator, cst.Divide):
        return int(result)
    return result


def _probe_attribute(base: Probe, attr: str) -> Value:
    if attr in ("weight", "bias"):
        return ProbeParam(attr, param_ndim(base.kind, attr))
    if attr == "__class__":
        return ClassRef(base.kind)
    return UNKNOWN


def _flattened(element: cst.BaseExpression, last: cst.CompFor, iterable: Value) -> Value | None:
    """``[m for d in dims for m in (nn.Linear(d, d), nn.ReLU())]``: the inner tuple's items
    repeated in order, how many times unknown (as a loop appending them would give)."""
    target = last.target
    if not (isinstance(element, cst.Name) and isinstance(target, cst.Name)):
        return None
    if element.value != target.value or last.ifs:
        return None
    return repeated(iterable)


def _record_field(base: Value, attr: str) -> Value:
    """``cfg.act`` of a config record; of one of several (``for cfg in configs``), one of
    their values: that value when they all agree."""
    if isinstance(base, RecordVal):
        return base.fields.get(attr, UNKNOWN)
    values = [_record_field(item, attr) for item in items_of(base) or ()]
    first = values[0] if values else UNKNOWN
    if isinstance(first, ConstVal) and all(
        isinstance(v, ConstVal) and type(v.value) is type(first.value) and v.value == first.value
        for v in values
    ):
        return first
    return union(values)


def _collection_attribute(base: Value, attr: str) -> Value:
    if isinstance(base, (SeqVal, GroupVal)) and base.names and attr in base.names:
        return base.names[attr]
    if isinstance(base, GroupVal) and attr in ("weight", "bias"):
        # for conv in (self.conv1, self.conv2): init...(conv.weight): each of them
        params = tuple(ParamRef(i.instance, attr) for i in base.items if isinstance(i, LayerVal))
        return GroupVal(params, False)
    if (
        isinstance(base, GroupVal)
        and attr == "data"
        and all(isinstance(i, ParamRef) for i in base.items)
    ):
        return base  # conv.weight.data: the same weights
    return UNKNOWN


def _collection_item(base: GroupVal | ListBuilder | DictVal, key: object, constant: bool) -> Value:
    if isinstance(base, (GroupVal, ListBuilder)) and base.exact and isinstance(key, int):
        if -len(base.items) <= key < len(base.items):
            return base.items[key]
    if isinstance(base, GroupVal) and base.names and constant and key in base.names:
        return base.names[key]  # type: ignore[index]
    if isinstance(base, DictVal) and constant:
        for name, value in base.items:
            if name == key:
                return value
    return union(items_of(base) or ())
