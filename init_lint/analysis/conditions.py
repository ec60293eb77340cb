"""Three-valued truth of conditions: isinstance/type tests, class names, literal defaults.

True and False are certain; None means "cannot know", and the interpreter runs both branches.
Init programs are simulated once per layer type, so ``isinstance(m, nn.Conv2d)`` or DCGAN's
``classname.find('Conv') != -1`` are decided for each probe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from .common import bases_of, compare_numbers, is_module_value, known_size
from .imports import dotted_name, torch_nn_member
from .initcalls import string_literal
from .state import Frame
from .values import (
    ActVal,
    ClassInst,
    ClassName,
    ClassRef,
    ConstVal,
    DictVal,
    FuncRef,
    GroupVal,
    LayerVal,
    ParamRef,
    PartialVal,
    Probe,
    ProbeParam,
    QualRef,
    Value,
)

if TYPE_CHECKING:
    from .host import Host

Truth = bool | None


def _negate(truth: Truth, operator: cst.BaseCompOp) -> Truth:
    """``truth`` is the positive form's answer (is/==/in); flip it for is not/!=/not in."""
    if truth is None:
        return None
    return not truth if isinstance(operator, (cst.IsNot, cst.NotEqual, cst.NotIn)) else truth


def truth_of(value: Value) -> Truth:
    """Whether an evaluated value is truthy, when that is certain."""
    if isinstance(value, ConstVal):
        return bool(value.value)
    if isinstance(value, (LayerVal, ClassInst, Probe, ClassRef, FuncRef, PartialVal)):
        return True
    if isinstance(value, QualRef) and torch_nn_member(value.qualified) is not None:
        return True  # a torch.nn class (norm_layer=nn.BatchNorm2d): truthy
    size = known_size(value)
    if size is not None:  # ``if extra_layers:`` on a list whose length is certain
        return size > 0
    if isinstance(value, DictVal):  # ``if kwargs``: empty unless ``**`` of something unknown
        if any(isinstance(key, str) and not key.startswith("**") for key, _ in value.items):
            return True
        return None if value.items else False
    return None


class Conditions:
    def __init__(self, host: Host) -> None:
        self.host = host

    def condition(self, node: cst.BaseExpression, frame: Frame) -> Truth:
        """Three-valued truth of a test (None: cannot know)."""
        # type() is, not isinstance(): LibCST's classes are ABCs (see common.is_node).
        if type(node) is cst.UnaryOperation and type(node.operator) is cst.Not:
            inner = self.condition(node.expression, frame)
            return None if inner is None else not inner
        if type(node) is cst.BooleanOperation:
            return self._boolean(node, frame)
        if type(node) is cst.Call:
            return self._call(node, frame)
        if type(node) is cst.Comparison and len(node.comparisons) == 1:
            return self._comparison(node, frame)
        return truth_of(self.host.expressions.eval(node, frame))

    def _boolean(self, node: cst.BooleanOperation, frame: Frame) -> Truth:
        left = self.condition(node.left, frame)
        right = self.condition(node.right, frame)
        if isinstance(node.operator, cst.And):
            if left is False or right is False:
                return False
            return True if left and right else None
        if left is True or right is True:
            return True
        return False if left is False and right is False else None

    def _call(self, node: cst.Call, frame: Frame) -> Truth:
        evaluate = self.host.expressions.eval
        name = dotted_name(node.func)
        if name == "isinstance" and len(node.args) == 2:
            subject = evaluate(node.args[0].value, frame)
            if _is_class_object(subject) and _names_data_types(node.args[1].value):
                return False  # isinstance(block_cls, Iterable): a class is not a str/tuple/...
            plain = _plain_isinstance(subject, node.args[1].value)
            if plain is not None:
                return plain
            bases = bases_of(subject)
            return None if bases is None else self.type_matches(node.args[1].value, bases, frame)
        if name in _FUNCTION_TESTS and len(node.args) == 1:
            return _function_test(name, evaluate(node.args[0].value, frame))
        if name == "hasattr" and len(node.args) == 2:
            subject = evaluate(node.args[0].value, frame)
            attr = string_literal(node.args[1].value)
            return True if isinstance(subject, (Probe, LayerVal)) and attr == "weight" else None
        if isinstance(node.func, cst.Attribute) and node.args:
            method = node.func.attr.value
            text = string_literal(node.args[0].value)
            receiver = evaluate(node.func.value, frame)
            label = receiver.name if isinstance(receiver, ClassName) else None
            if isinstance(receiver, ConstVal) and isinstance(receiver.value, str):
                label = receiver.value
            if label is not None and text is not None and method == "startswith":
                return label.startswith(text)
            if label is not None and text is not None and method == "endswith":
                return label.endswith(text)
        evaluate(node, frame)
        return None

    def _comparison(self, node: cst.Comparison, frame: Frame) -> Truth:
        target = node.comparisons[0]
        operator, left_node, right_node = target.operator, node.left, target.comparator
        found = self._found_index(left_node, frame)  # classname.find('Conv') != -1
        if found is not None:
            number = self.host.expressions.numeric(right_node, frame)
            return compare_numbers(found, operator, number) if number is not None else None
        if isinstance(left_node, cst.Call) and _is_method(left_node, "find"):
            return None
        ndim = self._ndim_of(left_node, frame)  # p.dim() > 1, p.ndim > 1, len(p.shape) > 1
        if ndim is not None:
            number = self.host.expressions.numeric(right_node, frame)
            return compare_numbers(ndim, operator, number) if number is not None else None
        left = self.host.expressions.eval(left_node, frame)
        right = self.host.expressions.eval(right_node, frame)
        if isinstance(left, ConstVal) and isinstance(right, ConstVal):
            constant = _compare_constants(left.value, operator, right.value)
            if constant is not None:
                return constant
        if isinstance(operator, (cst.Is, cst.IsNot)) and _is_none(right) and is_module_value(left):
            return isinstance(operator, cst.IsNot)
        if isinstance(operator, (cst.In, cst.NotIn)):
            return _negate(self._membership(left, right), operator)
        if isinstance(operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)):
            return _negate(self._identity(left_node, right_node, left, right, frame), operator)
        return None

    def _found_index(self, node: cst.BaseExpression, frame: Frame) -> int | None:
        """``classname.find('Conv')`` for a probe's class name."""
        if not (isinstance(node, cst.Call) and _is_method(node, "find") and node.args):
            return None
        assert isinstance(node.func, cst.Attribute)
        owner = self.host.expressions.eval(node.func.value, frame)
        text = string_literal(node.args[0].value)
        if isinstance(owner, ClassName) and text is not None:
            return owner.name.find(text)
        return None

    def _membership(self, left: Value, right: Value) -> Truth:
        if isinstance(left, ConstVal) and isinstance(left.value, str):
            if isinstance(right, ClassName):
                return left.value in right.name
            if isinstance(right, ConstVal) and isinstance(right.value, str):
                return left.value in right.value
            if isinstance(right, DictVal):  # 'groups' in kwargs
                keys = [key for key, _ in right.items]
                if left.value in keys:
                    return True
                # A key not known, or ``**`` of something not known: it may be there.
                return None if any(k is None or k.startswith("**") for k in keys) else False
        if isinstance(right, GroupVal) and right.exact:
            matches = [_identical(left, item) for item in right.items]
            if any(m is True for m in matches):
                return True
            if all(m is False for m in matches):
                return False
        return None

    def _identity(
        self,
        left_node: cst.BaseExpression,
        right_node: cst.BaseExpression,
        left: Value,
        right: Value,
        frame: Frame,
    ) -> Truth:
        """The positive answer to ``left is/== right``."""
        if _is_none(right) and isinstance(left, ProbeParam):
            return False if left.param == "weight" else None  # weight is never None; bias may be
        same = _identical(left, right)
        if same is None and isinstance(left, ClassName) and isinstance(right, ConstVal):
            same = left.name == right.value
        if same is None and (
            (_is_object(left) and isinstance(right, ConstVal))
            or (_is_object(right) and isinstance(left, ConstVal))
        ):
            same = False  # ``activation == "relu"`` for a factory that was passed in
        if same is None:
            subject = self._type_of(left_node, frame)
            if subject is not None:
                same = self.type_matches(right_node, (subject[0],), frame)
        return same

    def _type_of(self, node: cst.BaseExpression, frame: Frame) -> tuple[str, ...] | None:
        evaluate = self.host.expressions.eval
        if isinstance(node, cst.Call) and dotted_name(node.func) == "type" and len(node.args) == 1:
            return bases_of(evaluate(node.args[0].value, frame))
        if isinstance(node, cst.Attribute) and node.attr.value == "__class__":
            return bases_of(evaluate(node.value, frame))
        return None

    def _ndim_of(self, node: cst.BaseExpression, frame: Frame) -> int | None:
        subject: cst.BaseExpression | None = None
        if isinstance(node, cst.Call) and (
            _is_method(node, "dim") or _is_method(node, "ndimension")
        ):
            assert isinstance(node.func, cst.Attribute)
            subject = node.func.value
        elif isinstance(node, cst.Attribute) and node.attr.value == "ndim":
            subject = node.value
        elif isinstance(node, cst.Call) and dotted_name(node.func) == "len" and node.args:
            inner = node.args[0].value
            if isinstance(inner, cst.Attribute) and inner.attr.value == "shape":
                subject = inner.value
        if subject is None:
            return None
        value = self.host.expressions.eval(subject, frame)
        if isinstance(value, ProbeParam):
            return value.ndim
        if isinstance(value, ParamRef):
            return 1 if value.param == "bias" else 2
        return None

    def type_matches(self, node: cst.BaseExpression, bases: tuple[str, ...], frame: Frame) -> Truth:
        if isinstance(node, (cst.Tuple, cst.List)):
            results = [self.type_matches(e.value, bases, frame) for e in node.elements]
            if any(r is True for r in results):
                return True
            return False if all(r is False for r in results) else None
        value = self.host.expressions.eval(node, frame)
        if isinstance(value, QualRef):
            member = torch_nn_member(value.qualified)
            return None if member is None else member in bases
        if isinstance(value, ClassRef):
            return (value.info.name if value.info is not None else value.key) in bases
        return None


#: Types no class object (nor function) is an instance of.
_DATA_TYPES = frozenset(
    ("str", "int", "float", "bool", "list", "tuple", "dict", "set", "Iterable", "Sequence")
    + ("Mapping", "Tensor", "Module")
)


def _is_class_object(value: Value) -> bool:
    """A class or function itself (``Bottleneck``, ``nn.ReLU``, a ``partial``), not an instance."""
    if isinstance(value, QualRef):
        return torch_nn_member(value.qualified) is not None
    return isinstance(value, (ClassRef, FuncRef, PartialVal))


#: What the values a plain ``isinstance`` test can decide are instances of, by type name.
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float,),
    "bool": (bool,),
    "Number": (int, float),
}


def _plain_isinstance(subject: Value, types: cst.BaseExpression) -> Truth:
    """``isinstance(norm_layer, functools.partial)``, ``isinstance(name, str)``,
    ``isinstance(cls, type)``: decided for a known constant, a class, a function or a partial."""
    if isinstance(types, (cst.Tuple, cst.List)):
        results = [_plain_isinstance(subject, e.value) for e in types.elements]
        if any(r is True for r in results):
            return True
        return False if results and all(r is False for r in results) else None
    name = (dotted_name(types) or "").rsplit(".", 1)[-1]
    if isinstance(subject, ConstVal):
        python = _PYTHON_TYPES.get(name)
        if python is not None:
            return isinstance(subject.value, python)
        return False if name in ("partial", "type", "FunctionType") else None
    if not _is_class_object(subject):
        return None
    if name == "partial":
        return isinstance(subject, PartialVal)
    if name == "type":
        return isinstance(subject, (ClassRef, QualRef))
    if name == "FunctionType":
        return isinstance(subject, FuncRef)
    return False if name in _PYTHON_TYPES else None


#: ``callable(x)``, ``inspect.isfunction(x)``: builders that take a class, a factory or a name.
_FUNCTION_TESTS = ("callable", "isfunction", "inspect.isfunction")


def _function_test(name: str, subject: Value) -> Truth:
    """Decided for a function, a class, a module instance or a constant."""
    if isinstance(subject, ConstVal):
        return callable(subject.value) if name == "callable" else False
    if isinstance(subject, FuncRef):  # a method looked up on self is no plain function
        return True if name == "callable" else not subject.bound_self
    if _is_object(subject):
        return name == "callable"
    return None


def _is_object(value: Value) -> bool:
    """A function, class or module: never equal to a string, number or None."""
    if isinstance(value, QualRef):
        return torch_nn_member(value.qualified) is not None
    return isinstance(value, (FuncRef, ClassRef, PartialVal, LayerVal, ActVal, ClassInst))


def _names_data_types(node: cst.BaseExpression) -> bool:
    """``str``, ``collections.abc.Iterable``, ``(list, tuple)``: only types in _DATA_TYPES."""
    if isinstance(node, (cst.Tuple, cst.List)):
        return bool(node.elements) and all(_names_data_types(e.value) for e in node.elements)
    name = dotted_name(node)
    return name is not None and name.rsplit(".", 1)[-1] in _DATA_TYPES


def _is_method(node: cst.Call, name: str) -> bool:
    return isinstance(node.func, cst.Attribute) and node.func.attr.value == name


def _is_none(value: Value) -> bool:
    return isinstance(value, ConstVal) and value.value is None


def _compare_constants(left: object, operator: cst.BaseCompOp, right: object) -> Truth:
    if isinstance(operator, (cst.Is, cst.IsNot)) and (left is None or right is None):
        return _negate(left is right, operator)
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers):
        return compare_numbers(float(left), operator, float(right))
    if isinstance(operator, (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot)):
        return _negate(left == right, operator)
    return None


def _identical(left: Value, right: Value) -> Truth:
    """Whether a probe (an init program's module) is a given layer."""
    if isinstance(left, LayerVal) and isinstance(right, Probe):
        left, right = right, left
    if isinstance(left, Probe) and isinstance(right, LayerVal):
        return left.instance is right.instance if left.instance is not None else False
    return None
