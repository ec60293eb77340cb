"""torch.nn modules and data flow: which layer's output reaches which activation.

A tensor value carries its *sources*: the layers whose output it is, through ops that keep the
scale (dropout, pooling, reshapes; norms only as "via norm"). Applying an activation to it
records an :class:`~.values.ActivationUse` on each source; anything else that rescales ends the
flow. Containers (``Sequential``, lists being built) chain their elements the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from ..knowledge import (
    LAYER_BASES,
    LEAKY_RELU_DEFAULT_SLOPE,
    NORM_FUNCTIONS,
    NORM_LAYERS,
    OTHER_ACTIVATION_MODULES,
    PASS_THROUGH_FUNCTIONS,
    PASS_THROUGH_LAYERS,
    PASS_THROUGH_TENSOR_METHODS,
    RRELU_DEFAULT_BOUNDS,
    TENSOR_METHOD_ACTIVATIONS,
    WEIGHT_LAYERS,
    Activation,
    activation_class_named,
    activation_from_function,
    activation_from_module,
    rrelu_slope,
)
from ..library import FactoryKind
from .binder import bind
from .common import (
    DICT_CLASSES,
    LIST_CLASSES,
    SEQUENTIAL_CLASSES,
    complete,
    items_of,
    keyword_true,
)
from .geometry import geometry_of
from .imports import torch_nn_member
from .state import Frame
from .values import (
    ACTIVATED,
    NO_SOURCE,
    NORM,
    OTHER_MODULE,
    PASS,
    UNKNOWN,
    ActivationUse,
    ActVal,
    BuildsModules,
    ClassInst,
    ConstVal,
    DictVal,
    GroupVal,
    Instance,
    LayerVal,
    ListBuilder,
    ParamRef,
    QualRef,
    SeqVal,
    Src,
    TensorMethod,
    TensorVal,
    Value,
    feed,
    module_output,
)

if TYPE_CHECKING:
    from .host import Host

Sources = frozenset[Src]
#: torch functions whose output is a layer's, when they are given its weight.
WEIGHT_OPS = frozenset(
    {
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    }
)


#: torch.nn containers: a layer builder of another file may build them (values only).
CONTAINERS = SEQUENTIAL_CLASSES | LIST_CLASSES | DICT_CLASSES


class Modules:
    def __init__(self, host: Host) -> None:
        self.host = host
        self._instance_cache: dict[tuple[tuple[int, ...], int, int], Instance] = {}

    # ------------------------------------------------------------------ construction
    def construct(
        self,
        member: str,
        node: cst.Call,
        args: list[Value],
        frame: Frame,
        starred: list[bool],
        keywords: dict[str, Value] | None = None,
    ) -> Value:
        """``nn.<member>(...)``: a layer, an activation, a container, or a marker. ``args``
        and ``keywords`` are the values it is called with (a ``partial``'s included)."""
        given = None if any(starred) else _Given(args, keywords or {})
        site = node
        if self.host.scope.foreign:
            # Another file's portable function stands in activations, norms and pass-through
            # modules (its syntax has no place in this file's facts); the weight layers it
            # builds are the entering call's, in this file (a layer builder, see .portable).
            activation = self._activation(member, node, frame, given)
            if activation is not None:
                return ActVal(activation, self.host.entry)  # this file's call, for its line
            if member in NORM_LAYERS | PASS_THROUGH_LAYERS:
                return _marker(member)
            if self.host.entry is None or member not in WEIGHT_LAYERS | CONTAINERS:
                raise BuildsModules(member)  # a module it was given to build, a constant
            site = self.host.entry
        if member in WEIGHT_LAYERS:
            if frame.uses_only:
                return UNKNOWN
            bases = (member, *LAYER_BASES[member])
            instance = self.new_instance(member, bases, site, frame, built_by=node)
            numeric = self.host.expressions.numeric
            instance.geometry = geometry_of(member, node, lambda n: numeric(n, frame))
            return LayerVal(instance)
        if member in _SLOPED:
            activation = self._leaky(member, node, frame, given)
            return ActVal(activation, node) if activation else UNKNOWN
        activation = activation_from_module(member)
        if activation is not None:
            return ActVal(activation, node)
        if member in SEQUENTIAL_CLASSES:
            return self.make_sequential(args, starred)
        if member in LIST_CLASSES:
            items = items_of(args[0]) if args else []
            loose = (
                bool(args) and isinstance(args[0], (GroupVal, ListBuilder)) and not args[0].exact
            )  # type: ignore[union-attr]
            whole = items is not None and (not args or complete(args[0]))
            exact = not loose and items is not None
            return GroupVal(
                tuple(items or ()), exact, registered=True, complete=whole, ordered=exact
            )
        if member in DICT_CLASSES:
            if args and isinstance(args[0], DictVal):
                pairs = args[0].items
                named = {k: v for k, v in pairs if k}
                return GroupVal(tuple(v for _, v in pairs), False, named, registered=True)
            return GroupVal((), False, registered=True)
        return _marker(member)

    def _activation(
        self, member: str, node: cst.Call, frame: Frame, given: _Given | None
    ) -> Activation | None:
        """The activation ``nn.<member>(...)`` builds (its slope read from the call), if any."""
        return (
            self._leaky(member, node, frame, given)
            if member in _SLOPED
            else activation_from_module(member)
        )

    def _leaky(
        self, member: str, node: cst.Call, frame: Frame, given: _Given | None
    ) -> Activation | None:
        """A rectifier with a slope: its slope argument, or its default. From the values it is
        called with (``partial(nn.LeakyReLU, 0.2)()``), else, when some were unpacked from
        the unknown, from the call's own arguments."""

        def slope(index: int, keyword: str) -> float | None | _Absent:
            if given is not None:
                return given.number(index, keyword)
            if keyword not in bind(node.args, (keyword,), skip=index):
                return ABSENT
            return self.slope_arg(node, index, frame, keyword=keyword)

        if member == "LeakyReLU":
            negative = slope(0, "negative_slope")
            if negative is None:  # a slope we cannot read: the gain is unknown
                return Activation("LeakyReLU", activation_from_module(member).family, None)  # type: ignore[union-attr]
            return activation_from_module(member, negative if isinstance(negative, float) else None)
        if member == "PReLU":
            init = slope(1, "init")
            return activation_from_module(member, init if isinstance(init, float) else None)
        low_given, high_given = slope(0, "lower"), slope(1, "upper")
        low = low_given if isinstance(low_given, float) else None
        high = high_given if isinstance(high_given, float) else None
        lower, upper = RRELU_DEFAULT_BOUNDS
        return activation_from_module(
            member, rrelu_slope(lower if low is None else low, upper if high is None else high)
        )

    def from_factory(
        self,
        kind: FactoryKind,
        node: cst.Call | None,
        args: list[Value],
        keywords: dict[str, Value],
        frame: Frame,
    ) -> Value:
        """An activation from a registry or factory (``get_act_layer('relu')`` → nn.ReLU)."""
        name: Value = keywords.get("name", args[0] if args else UNKNOWN)
        options = dict(keywords)
        if kind is FactoryKind.CONFIG_TO_MODULE and isinstance(name, DictVal):
            options = {k: v for k, v in name.items if k is not None}
            name = options.get("type", UNKNOWN)
        if isinstance(name, GroupVal) and name.exact and len(name.items) == 2:
            # ('leakyrelu', {'negative_slope': 0.1}): a name with its arguments
            name, extra = name.items
            if isinstance(extra, DictVal):
                options.update({k: v for k, v in extra.items if k is not None})
        if isinstance(name, QualRef) and torch_nn_member(name.qualified) is not None:
            member: str | None = torch_nn_member(name.qualified)  # already a class
        elif isinstance(name, ConstVal) and isinstance(name.value, str):
            member = activation_class_named(name.value)
        elif isinstance(name, ConstVal) and name.value is None:
            member = "Identity"
        else:
            member = None
        if member is None:
            return UNKNOWN
        if kind is FactoryKind.NAME_TO_CLASS:
            return QualRef(f"torch.nn.{member}")
        slope = options.get("negative_slope", options.get("init"))
        value = slope.value if isinstance(slope, ConstVal) else None
        number = float(value) if isinstance(value, (int, float)) else None
        activation = activation_from_module(member, number)
        if activation is not None:
            return ActVal(activation, node)
        return _marker(member)

    def slope_arg(
        self, node: cst.Call, position: int, frame: Frame, keyword: str = "negative_slope"
    ) -> float | None:
        bound = bind(node.args, (keyword,), skip=position)
        if keyword in bound:
            return self.host.expressions.numeric(bound[keyword], frame)
        return None

    def make_sequential(self, args: list[Value], starred: list[bool]) -> Value:
        """``nn.Sequential(...)``: its elements chained in order, when the order is known."""
        if len(args) == 1 and isinstance(args[0], DictVal):
            names = {k: v for k, v in args[0].items if k is not None}
            return self._ordered([v for _, v in args[0].items], names)
        elements: list[Value] = []
        exact = True
        tail: Sources = frozenset()
        for value, star in zip(args, starred + [False] * len(args), strict=False):
            if not star:
                elements.append(value)
                continue
            items = items_of(value)
            if isinstance(value, ListBuilder) and not value.exact:
                exact, tail = False, value.tail
            elif isinstance(value, GroupVal) and value.ordered and not value.exact:
                # appended in a loop: each follows the one appended before it
                exact = False
                for item in value.items:
                    tail = self.chain(item, tail, None)
            elif items is None or (isinstance(value, GroupVal) and not value.exact):
                exact, tail = False, frozenset()
                for item in items or ():
                    tail = self.chain(item, tail, None) | tail
            else:
                elements.extend(items)
        if exact:
            return self._ordered(elements, None)
        members = tuple(elements) + tuple(
            item
            for value in args
            for item in (items_of(value) or ())
            if not isinstance(value, SeqVal)
        )
        whole = all(
            not star or (items_of(value) is not None and complete(value))
            for value, star in zip(args, starred + [False] * len(args), strict=False)
        )
        return SeqVal(None, tail, None, members, complete=whole)

    def _ordered(self, elements: list[Value], names: dict[str, Value] | None) -> SeqVal:
        state: Sources = frozenset()
        for element in elements:
            state = self.chain(element, state, None)
        return SeqVal(tuple(elements), state, names, tuple(elements))

    def new_instance(
        self,
        kind: str,
        bases: tuple[str, ...],
        node: cst.Call,
        frame: Frame,
        built_by: cst.Call | None = None,
    ) -> Instance:
        """The layer a constructor call builds in this context (one per inlined call path).
        ``built_by``: the constructor call itself, when ``node`` is the call of this file that
        entered the other file's layer builder holding it."""
        key = (frame.prefix, id(built_by or node), id(frame.owner))
        instance = self._instance_cache.get(key)
        if instance is None:
            instance = Instance(kind, bases, node, frame.owner)
            self._instance_cache[key] = instance
            self.host.instances.append(instance)
        return instance

    # ------------------------------------------------------------------ data flow
    def chain(self, element: Value, state: Sources, site: cst.CSTNode | None) -> Sources:
        """Pass a tensor with origins ``state`` through a module; return the output's origins."""
        if isinstance(element, LayerVal):
            # A layer whose own forward applies an activation hands on that activation's output.
            return (
                frozenset({Src(element.instance)}) if element.instance.raw_output else frozenset()
            )
        if isinstance(element, ActVal):
            # Report where it is applied (forward) when known, else where it is built.
            self.record_use(state, element.activation, site or element.node)
            return frozenset()
        if element is PASS:
            return state
        if element is NORM:
            return frozenset(Src(s.instance, True) for s in state)
        if isinstance(element, SeqVal):
            if element.elements is None:
                return element.tail
            for inner in element.elements:
                state = self.chain(inner, state, site)
            return state
        if isinstance(element, (GroupVal, ListBuilder)):
            out: Sources = frozenset()
            uncertain = _uncertain_activation(element)
            for item in element.items:
                if not (uncertain and isinstance(item, ActVal)):
                    out |= self.chain(item, state, site)
            return out
        if isinstance(element, ClassInst):
            feed(state, element)
            return module_output(element).sources
        return frozenset()

    def record_use(
        self, sources: Iterable[Src], activation: Activation, node: cst.CSTNode | None
    ) -> None:
        for source in sources:
            source.instance.uses.add(ActivationUse(activation, node, source.via_norm))

    def functional(self, function: str, node: cst.Call, args: list[Value], frame: Frame) -> Value:
        """``F.relu(x)``, ``F.dropout(x)``, ``torch.cat([...])``...: what the output carries."""
        first = args[0] if args else NO_SOURCE
        sources = first.sources if isinstance(first, TensorVal) else frozenset()
        if function in WEIGHT_OPS and len(args) > 1 and isinstance(args[1], ParamRef):
            return TensorVal(frozenset({Src(args[1].instance)}))  # F.conv2d(x, self.weight)
        activation = self._functional_activation(function, node, frame)
        if activation is not None:
            self.record_use(sources, activation, node)
            inplace = function.endswith("_") or keyword_true(node, "inplace")
            if inplace and node.args and isinstance(node.args[0].value, cst.Name):
                frame.env[node.args[0].value.value] = NO_SOURCE
            return ACTIVATED
        if function in PASS_THROUGH_FUNCTIONS:
            return TensorVal(sources)
        if function in NORM_FUNCTIONS:
            return TensorVal(frozenset(Src(s.instance, True) for s in sources))
        if function in ("no_grad", "enable_grad", "inference_mode"):
            return UNKNOWN
        # Anything else, torch.cat included, makes a new tensor: a concatenation ends a
        # layer's flow, as in the runtime verifier (see runtime.trace).
        return NO_SOURCE

    def _functional_activation(
        self, function: str, node: cst.Call, frame: Frame
    ) -> Activation | None:
        if function in ("leaky_relu", "leaky_relu_"):
            slope = self.slope_arg(node, 1, frame) or None
            activation = activation_from_function(function, slope)
            if activation is not None and activation.slope is None:
                return activation_from_function(function, LEAKY_RELU_DEFAULT_SLOPE)
            return activation
        if function in ("rrelu", "rrelu_"):
            return activation_from_function(function, rrelu_slope())
        return activation_from_function(function)

    def tensor_method(self, callee: TensorMethod, node: cst.Call, frame: Frame) -> Value:
        """``x.relu()``, ``x.view(...)``, ``x.leaky_relu(0.2)``: the output's sources."""
        name = callee.name
        sources = callee.tensor.sources
        if name in TENSOR_METHOD_ACTIVATIONS:
            activation = activation_from_function(name)
            if activation is not None:
                self.record_use(sources, activation, node)
            receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
            if name.endswith("_") and isinstance(receiver, cst.Name):
                frame.env[receiver.value] = NO_SOURCE
            return ACTIVATED
        if name in ("leaky_relu", "leaky_relu_"):
            activation = activation_from_function(name, self.slope_arg(node, 0, frame))
            if activation is not None:
                self.record_use(sources, activation, node)
            return ACTIVATED
        if name in PASS_THROUGH_TENSOR_METHODS:
            return callee.tensor
        return NO_SOURCE

    # ------------------------------------------------------------------ lists being built
    def extend_builder(
        self,
        builder: ListBuilder,
        items: list[Value] | None,
        frame: Frame,
        exact: bool = True,
        whole: bool = True,
    ) -> ListBuilder:
        """``whole``: ``items`` are all the added values (not a partial view of a collection)."""
        if items is None:
            return ListBuilder(builder.items, False, frozenset(), complete=False)
        tail = builder.tail
        for item in items:
            tail = self.chain(item, tail, None)
        exact = exact and builder.exact and frame.loop_depth == 0 and frame.cond_depth == 0
        return ListBuilder([*builder.items, *items], exact, tail, builder.complete and whole)

    def mutate_collection(
        self, target: cst.BaseExpression, name: str, args: list[Value], frame: Frame
    ) -> Value:
        """``layers.append(m)``, ``.extend(...)``, ``.insert(i, m)`` on a list being built,
        ``blocks.add_module(name, m)`` on a container."""
        current = self.host.expressions.eval(target, frame)
        if isinstance(current, ListBuilder):
            new_items: list[Value] | None
            whole = True
            if name == "append":
                new_items = args[:1]
            elif name == "extend":
                new_items = items_of(args[0]) if args else []
                whole = not args or complete(args[0])
            else:  # insert: position unknown for the chain
                new_items = args[1:2]
                current = ListBuilder(list(current.items), False, current.tail, current.complete)
            extended = self.extend_builder(current, new_items, frame, whole=whole)
            self.host.assign(target, extended, frame)
        elif isinstance(current, (GroupVal, SeqVal)):
            extra, whole = _added(name, args)
            if isinstance(current, SeqVal):
                sequence = self._grown(current, name, extra, whole, frame)
                label = args[0].value if args and isinstance(args[0], ConstVal) else None
                if name == "add_module" and isinstance(label, str) and sequence.elements:
                    sequence.names = {**(current.names or {}), label: sequence.elements[-1]}
                self.host.assign(target, sequence, frame)
                return ConstVal(None)
            # In a loop or a branch, how many were added and where is not known.
            exact = (
                current.exact
                and name != "insert"
                and frame.loop_depth == 0
                and frame.cond_depth == 0
            )
            grown = GroupVal(current.items + extra, exact, current.names)
            grown.complete = current.complete and whole
            grown.registered = current.registered
            grown.ordered = (current.exact or current.ordered) and (
                name != "insert" and frame.cond_depth == 0
            )
            self.host.assign(target, grown, frame)
        return ConstVal(None)

    def _grown(
        self, current: SeqVal, name: str, extra: tuple[Value, ...], whole: bool, frame: Frame
    ) -> SeqVal:
        """An nn.Sequential after ``append``/``add_module``/``extend``/``insert``: in order
        outside loops and branches; in a loop each module follows the one added before it
        (what reaches the first is then unknown, as for ``nn.Sequential(*blocks)``)."""
        if (
            current.elements is not None
            and name != "insert"
            and frame.loop_depth == 0
            and frame.cond_depth == 0
            and whole
        ):
            return self._ordered([*current.elements, *extra], current.names)
        tail = current.tail
        for item in extra:
            tail = self.chain(item, tail, None)
        members = current.members + extra
        return SeqVal(None, tail, current.names, members, complete=current.complete and whole)


def _added(name: str, args: list[Value]) -> tuple[tuple[Value, ...], bool]:
    """What a container method adds, and whether that is all of it (not unpacked from an
    unknown)."""
    if name == "append":
        return tuple(args[:1]), True
    if name in ("add_module", "register_module", "insert"):  # (name or index, module)
        return tuple(args[1:2]), True
    found = items_of(args[0]) if args else []
    return tuple(found or ()), found is not None and (not args or complete(args[0]))


class _Absent:
    """An argument the call does not give (its default applies)."""


ABSENT = _Absent()


@dataclass(frozen=True)
class _Given:
    """The values a module constructor is called with."""

    positional: list[Value]
    keywords: dict[str, Value]

    def number(self, index: int, keyword: str) -> float | None | _Absent:
        """The argument as a real number; None when given but unknown; ABSENT if not given."""
        if keyword in self.keywords:
            value: Value = self.keywords[keyword]
        elif index < len(self.positional):
            value = self.positional[index]
        else:
            return ABSENT
        known = value.value if isinstance(value, ConstVal) else None
        if isinstance(known, (int, float)) and not isinstance(known, bool):
            return float(known)
        return None


#: Rectifiers whose slope is an argument of the call.
_SLOPED = ("LeakyReLU", "PReLU", "RReLU")


def _marker(member: str) -> Value:
    """What a torch module that is neither a layer nor a container does to the flow."""
    if member in OTHER_ACTIVATION_MODULES:
        return OTHER_MODULE
    if member in PASS_THROUGH_LAYERS:
        return PASS
    if member in NORM_LAYERS:
        return NORM
    if member == "Module":
        return UNKNOWN
    return OTHER_MODULE


def _uncertain_activation(element: GroupVal | ListBuilder) -> bool:
    """A module that is one of several activations, or one activation or something unknown
    (``create_act(name)`` over a registry): no activation surely follows the input."""
    if not isinstance(element, GroupVal) or element.exact:
        return False
    kinds = {item.activation for item in element.items if isinstance(item, ActVal)}
    return len(kinds) > 1 or (bool(kinds) and any(item is UNKNOWN for item in element.items))
