"""Three-valued truth of conditions: isinstance/type tests, class names, literal defaults."""

from __future__ import annotations

import libcst as cst

from . import initcalls
from .common import (
    _bases_of,
    _compare_numbers,
    _is_module_value,
)
from .imports import dotted_name, torch_nn_member
from .state import (
    Frame,
)
from .values import (
    ClassInst,
    ClassName,
    ClassRef,
    ConstVal,
    GroupVal,
    LayerVal,
    ParamRef,
    Probe,
    ProbeParam,
    QualRef,
    Value,
)


class ConditionsMixin:
    """Part of :class:`~init_lint.analysis.interpreter.FileAnalyzer`; see there."""

    def condition(self, node: cst.BaseExpression, frame: Frame) -> bool | None:
        """Three-valued truth of a test (None: cannot know)."""
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            inner = self.condition(node.expression, frame)
            return None if inner is None else not inner
        if isinstance(node, cst.BooleanOperation):
            left = self.condition(node.left, frame)
            right = self.condition(node.right, frame)
            if isinstance(node.operator, cst.And):
                if left is False or right is False:
                    return False
                return True if left and right else None
            if left is True or right is True:
                return True
            return False if left is False and right is False else None
        if isinstance(node, cst.Call):
            return self.call_condition(node, frame)
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            return self.compare_condition(node, frame)
        value = self.eval(node, frame)
        if isinstance(value, ConstVal):
            return bool(value.value)
        if isinstance(value, (LayerVal, ClassInst, Probe)):
            return True
        return None

    def call_condition(self, node: cst.Call, frame: Frame) -> bool | None:
        name = dotted_name(node.func)
        if name == "isinstance" and len(node.args) == 2:
            subject = self.eval(node.args[0].value, frame)
            bases = _bases_of(subject)
            if bases is None:
                return None
            return self.type_matches(node.args[1].value, bases, frame)
        if name == "hasattr" and len(node.args) == 2:
            subject = self.eval(node.args[0].value, frame)
            attr = initcalls.string_literal(node.args[1].value)
            if isinstance(subject, (Probe, LayerVal)) and attr == "weight":
                return True
            return None
        if isinstance(node.func, cst.Attribute):
            owner = self.eval(node.func.value, frame)
            text = initcalls.string_literal(node.args[0].value) if node.args else None
            if isinstance(owner, ClassName) and text is not None:
                if node.func.attr.value == "startswith":
                    return owner.name.startswith(text)
                if node.func.attr.value == "endswith":
                    return owner.name.endswith(text)
            if isinstance(owner, ConstVal) and isinstance(owner.value, str) and text is not None:
                if node.func.attr.value == "startswith":
                    return owner.value.startswith(text)
                if node.func.attr.value == "endswith":
                    return owner.value.endswith(text)
        self.eval(node, frame)
        return None

    def compare_condition(self, node: cst.Comparison, frame: Frame) -> bool | None:
        target = node.comparisons[0]
        operator = target.operator
        left_node, right_node = node.left, target.comparator
        # classname.find('Conv') != -1
        if (
            isinstance(left_node, cst.Call)
            and isinstance(left_node.func, cst.Attribute)
            and left_node.func.attr.value == "find"
        ):
            owner = self.eval(left_node.func.value, frame)
            text = initcalls.string_literal(left_node.args[0].value) if left_node.args else None
            number = self.numeric(right_node, frame)
            if isinstance(owner, ClassName) and text is not None and number is not None:
                found = owner.name.find(text)
                return _compare_numbers(found, operator, number)
            return None
        # p.dim() > 1, p.ndim > 1, len(p.shape) > 1
        ndim = self._ndim_of(left_node, frame)
        if ndim is not None:
            number = self.numeric(right_node, frame)
            return _compare_numbers(ndim, operator, number) if number is not None else None
        left = self.eval(left_node, frame)
        right = self.eval(right_node, frame)
        if isinstance(left, ConstVal) and isinstance(right, ConstVal):
            if isinstance(operator, (cst.Is, cst.IsNot)) and (
                left.value is None or right.value is None
            ):
                same = left.value is right.value
                return same if isinstance(operator, cst.Is) else not same
            if isinstance(left.value, (int, float)) and isinstance(right.value, (int, float)):
                return _compare_numbers(left.value, operator, right.value)
            if isinstance(operator, (cst.Equal, cst.NotEqual)):
                same = left.value == right.value
                return same if isinstance(operator, cst.Equal) else not same
        if (
            isinstance(operator, (cst.Is, cst.IsNot))
            and isinstance(right, ConstVal)
            and right.value is None
            and _is_module_value(left)
        ):
            return isinstance(operator, cst.IsNot)
        if isinstance(operator, (cst.In, cst.NotIn)):
            result: bool | None = None
            if isinstance(left, ConstVal) and isinstance(left.value, str):
                if isinstance(right, ClassName):
                    result = left.value in right.name
                elif isinstance(right, ConstVal) and isinstance(right.value, str):
                    result = left.value in right.value
            if isinstance(right, GroupVal) and right.exact:
                matches = [self._identical(left, item) for item in right.items]
                if any(m is True for m in matches):
                    result = True
                elif all(m is False for m in matches):
                    result = False
            if result is None:
                return None
            return result if isinstance(operator, cst.In) else not result
        if isinstance(operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)):
            if isinstance(right, ConstVal) and right.value is None and isinstance(left, ProbeParam):
                result = (
                    True if left.param == "weight" else None
                )  # weight is never None; bias may be
                if result is None:
                    return None
                return result if isinstance(operator, (cst.IsNot, cst.NotEqual)) else not result
            same = self._identical(left, right)
            if same is None and isinstance(left, ConstVal) and isinstance(right, ConstVal):
                same = (
                    left.value == right.value
                    if isinstance(operator, (cst.Equal, cst.NotEqual))
                    else left.value is right.value
                )
            if same is None and isinstance(left, ClassName) and isinstance(right, ConstVal):
                same = left.name == right.value
            if same is None:
                type_subject = self._type_of(left_node, frame)
                if type_subject is not None:
                    same = self.type_matches(right_node, (type_subject[0],), frame)
            if same is None:
                return None
            return same if isinstance(operator, (cst.Is, cst.Equal)) else not same
        return None

    def _type_of(self, node: cst.BaseExpression, frame: Frame) -> tuple[str, ...] | None:
        if isinstance(node, cst.Call) and dotted_name(node.func) == "type" and len(node.args) == 1:
            return _bases_of(self.eval(node.args[0].value, frame))
        if isinstance(node, cst.Attribute) and node.attr.value == "__class__":
            return _bases_of(self.eval(node.value, frame))
        return None

    def _ndim_of(self, node: cst.BaseExpression, frame: Frame) -> int | None:
        subject: cst.BaseExpression | None = None
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("dim", "ndimension")
        ):
            subject = node.func.value
        elif isinstance(node, cst.Attribute) and node.attr.value == "ndim":
            subject = node.value
        elif isinstance(node, cst.Call) and dotted_name(node.func) == "len" and node.args:
            inner = node.args[0].value
            if isinstance(inner, cst.Attribute) and inner.attr.value == "shape":
                subject = inner.value
        if subject is None:
            return None
        value = self.eval(subject, frame)
        if isinstance(value, ProbeParam):
            return value.ndim
        if isinstance(value, ParamRef):
            return 1 if value.param == "bias" else 2
        return None

    def _identical(self, left: Value, right: Value) -> bool | None:
        left_inst = left.instance if isinstance(left, (Probe, LayerVal)) else None
        right_inst = right.instance if isinstance(right, (Probe, LayerVal)) else None
        if isinstance(left, Probe) and isinstance(right, LayerVal):
            return left_inst is right_inst if left_inst is not None else False
        if isinstance(right, Probe) and isinstance(left, LayerVal):
            return left_inst is right_inst if right_inst is not None else False
        return None

    def type_matches(
        self, node: cst.BaseExpression, bases: tuple[str, ...], frame: Frame
    ) -> bool | None:
        if isinstance(node, (cst.Tuple, cst.List)):
            results = [self.type_matches(e.value, bases, frame) for e in node.elements]
            if any(r is True for r in results):
                return True
            return False if all(r is False for r in results) else None
        value = self.eval(node, frame)
        if isinstance(value, GroupVal):
            return None
        if isinstance(value, QualRef):
            member = torch_nn_member(value.qualified)
            if member is None:
                return None
            return member in bases
        if isinstance(value, ClassRef):
            if value.info is not None:
                return value.info.name in bases
            return value.key in bases
        return None
