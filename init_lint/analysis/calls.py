"""Calls: torch modules and functions, helper inlining, instantiation, data flow through layers."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from ..knowledge import (
    LAYER_BASES,
    NORM_FUNCTIONS,
    NORM_LAYERS,
    OTHER_ACTIVATION_MODULES,
    PASS_THROUGH_FUNCTIONS,
    PASS_THROUGH_LAYERS,
    PASS_THROUGH_TENSOR_METHODS,
    TENSOR_METHOD_ACTIVATIONS,
    WEIGHT_LAYERS,
    Activation,
    activation_from_function,
    activation_from_module,
    rrelu_slope,
)
from . import initcalls
from .common import (
    DICT_CLASSES,
    HARMLESS_CALLS,
    LIST_CLASSES,
    MAX_INLINE_DEPTH,
    SEQUENTIAL_CLASSES,
    _as_dict,
    _block,
    _builtin_result,
    _default_scheme,
    _instances_in,
    _items,
    _keyword_true,
    _looks_like_init,
    _union,
)
from .geometry import geometry_of
from .imports import dotted_name, init_function, torch_function, torch_nn_member
from .state import (
    Frame,
    FunctionInfo,
    Program,
)
from .values import (
    NO_SOURCE,
    NORM,
    OTHER_MODULE,
    PASS,
    SELF,
    UNKNOWN,
    UNKNOWN_INIT,
    ActVal,
    ClassInst,
    ClassName,
    ClassRef,
    ConstVal,
    DictVal,
    FuncRef,
    GroupVal,
    Instance,
    LayerVal,
    ListBuilder,
    ModulesIter,
    Node,
    Outcome,
    ParamRef,
    ParamsIter,
    PartialVal,
    Probe,
    ProbeParam,
    QualRef,
    SeqVal,
    Src,
    SubAttr,
    TensorMethod,
    TensorVal,
    Use,
    Value,
)


class CallsMixin:
    """Part of :class:`~init_lint.analysis.interpreter.FileAnalyzer`; see there."""

    def eval_call(self, node: cst.Call, frame: Frame) -> Value:
        func = node.func
        # super().__init__(...) / super().forward(...)
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Call)
            and dotted_name(func.value.func) == "super"
        ):
            return self.call_super(func.attr.value, node, frame)
        callee = self.eval(func, frame)
        args = [self.eval(arg.value, frame) for arg in node.args]
        positional = [
            value
            for arg, value in zip(node.args, args, strict=False)
            if arg.keyword is None and arg.star != "**"
        ]
        starred = [arg.star == "*" for arg in node.args if arg.keyword is None and arg.star != "**"]
        keywords: dict[str, Value] = {}
        for arg, value in zip(node.args, args, strict=False):
            if arg.keyword is not None:
                keywords[arg.keyword.value] = value
            elif arg.star == "**" and isinstance(value, DictVal):
                keywords.update({k: v for k, v in value.items if isinstance(k, str)})
            elif arg.star == "**":
                keywords[f"**{len(keywords)}"] = value
        if isinstance(func, cst.Name) and func.value not in frame.env:
            builtin = _builtin_result(func.value, positional, keywords)
            if builtin is not None:
                return builtin
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("items", "values")
            and not node.args
        ):
            owner = self.eval(func.value, frame)
            if (
                isinstance(owner, (DictVal, GroupVal))
                and not isinstance(owner, GroupVal)
                or (isinstance(owner, GroupVal) and owner.names)
            ):
                pairs = (
                    owner.items
                    if isinstance(owner, DictVal)
                    else tuple((owner.names or {}).items())
                )
                if func.attr.value == "values":
                    return GroupVal(tuple(v for _, v in pairs), exact=False)
                return GroupVal(tuple(GroupVal((ConstVal(k), v)) for k, v in pairs), exact=False)
        return self.call_value(callee, node, positional, keywords, frame, starred)

    def call_value(
        self,
        callee: Value,
        node: cst.Call,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        starred: list[bool] | None = None,
    ) -> Value:
        if isinstance(callee, QualRef):
            return self.call_qualified(callee.qualified, node, args, kwargs, frame, starred or [])
        if isinstance(callee, ClassRef):
            return self.instantiate(callee, node, args, kwargs, frame)
        if isinstance(callee, FuncRef):
            return self.call_function(
                callee.info, args, kwargs, frame, bound_self=callee.bound_self, call=node
            )
        if isinstance(callee, PartialVal):
            return self.call_value(
                callee.func, node, [*callee.args, *args], {**callee.kwargs, **kwargs}, frame
            )
        if isinstance(callee, TensorMethod):
            return self.call_tensor_method(callee, node, args, kwargs, frame)
        if isinstance(callee, (LayerVal, ActVal, SeqVal, GroupVal, ListBuilder)) or callee in (
            PASS,
            NORM,
            OTHER_MODULE,
        ):
            source = args[0] if args else NO_SOURCE
            state = source.sources if isinstance(source, TensorVal) else frozenset()
            return TensorVal(self.chain(callee, state, node))
        if isinstance(callee, ClassInst):
            return NO_SOURCE
        if isinstance(callee, SubAttr):
            return self.call_sub_method(callee, node, args, kwargs, frame)
        if callee is UNKNOWN and isinstance(node.func, cst.Attribute):
            return self.call_method(node, args, kwargs, frame)
        if callee is UNKNOWN:
            self.opaque_call(node, args, kwargs, frame)
        return UNKNOWN

    def call_method(
        self, node: cst.Call, args: list[Value], kwargs: dict[str, Value], frame: Frame
    ) -> Value:
        """obj.method(...) where obj is a module value (self.apply, x.modules(), w.normal_())."""
        assert isinstance(node.func, cst.Attribute)
        name = node.func.attr.value
        owner = self.eval(node.func.value, frame)
        if owner is SELF or isinstance(owner, (ClassInst, Probe)):
            scope_node = (
                frame.owner
                if owner is SELF
                else owner.node
                if isinstance(owner, ClassInst)
                else None
            )
            if (
                name in ("modules", "named_modules", "children", "named_children")
                and scope_node is not None
            ):
                return ModulesIter(scope_node, named=name.startswith("named"))
            if name in ("parameters", "named_parameters") and scope_node is not None:
                return ParamsIter(scope_node, named=name == "named_parameters")
            if name == "apply" and args and scope_node is not None:
                self.register_apply(ModulesIter(scope_node), args[0], node, frame)
                return owner
            if name in (
                "to",
                "cuda",
                "cpu",
                "float",
                "double",
                "half",
                "train",
                "eval",
                "requires_grad_",
                "type",
            ):
                return owner
            if name in (
                "load_state_dict",
                "register_buffer",
                "register_parameter",
                "add_module",
                "register_module",
                "register_forward_hook",
                "register_forward_pre_hook",
                "zero_grad",
                "state_dict",
            ):
                if name in ("add_module", "register_module") and len(args) > 1:
                    self.name_values(args[1], "self.<added>", 3)
                return UNKNOWN
            if owner is SELF and name not in HARMLESS_CALLS:
                self._unknown_self_method(name, frame)
            return UNKNOWN
        if isinstance(owner, (LayerVal, SeqVal, GroupVal)):
            instances = tuple(_instances_in(owner))
            if name in ("modules", "named_modules", "children"):
                return ModulesIter(frame.owner, instances, named=name == "named_modules")
            if name == "apply" and args:
                self.register_apply(ModulesIter(frame.owner, instances), args[0], node, frame)
                return owner
            if name == "reset_parameters" and isinstance(owner, LayerVal):
                self.apply_scheme(owner.instance, _default_scheme(owner.instance), frame)
            if name in ("append", "extend", "insert", "add_module") and isinstance(
                node.func.value, (cst.Name, cst.Attribute)
            ):
                return self.mutate_collection(node.func.value, name, args, frame)
            return UNKNOWN
        if isinstance(owner, (ParamRef, ProbeParam)):
            return self.init_method(owner, name, node, frame)
        if isinstance(owner, SubAttr) and owner.path.endswith((".weight", ".weight.data")):
            # netG.main[2].weight.data.normal_(...) / .mul_(2): a weight of a contained module
            path = owner.path.removesuffix(".data")
            return self.init_method(SubAttr(owner.node, path), name, node, frame)
        if isinstance(owner, ListBuilder) and name in ("append", "extend", "insert"):
            return self.mutate_collection(node.func.value, name, args, frame)
        if isinstance(owner, ConstVal) and isinstance(owner.value, str):
            return UNKNOWN
        if isinstance(owner, ClassName):
            return UNKNOWN
        return UNKNOWN

    def _unknown_self_method(self, name: str, frame: Frame) -> None:
        """``self.init_weights()`` defined in a base class we cannot see: it may init anything."""
        lowered = name.lower()
        if any(word in lowered for word in ("init", "reset", "weight")):
            self.mark_unknown(self.owned_instances(frame.owner))
            frame.owner.add_program(Program.opaque(frame))

    def mutate_collection(
        self, target: cst.BaseExpression, name: str, args: list[Value], frame: Frame
    ) -> Value:
        current = self.eval(target, frame)
        if isinstance(current, ListBuilder):
            new_items: list[Value] | None
            if name == "append":
                new_items = args[:1]
            elif name == "extend":
                new_items = _items(args[0]) if args else []
            else:  # insert: position unknown for the chain
                new_items = args[1:2]
                current = ListBuilder(list(current.items), False, current.tail)
            updated = self.extend_builder(current, new_items, frame)
            self.assign(target, updated, frame)
        elif isinstance(current, GroupVal):
            extra = (
                tuple(args[:1])
                if name == "append"
                else tuple(_items(args[0]) or ())
                if args
                else ()
            )
            self.assign(
                target,
                GroupVal(current.items + extra, current.exact and name != "insert", current.names),
                frame,
            )
        return ConstVal(None)

    def extend_builder(
        self, builder: ListBuilder, items: list[Value] | None, frame: Frame, exact: bool = True
    ) -> ListBuilder:
        if items is None:
            return ListBuilder(builder.items, False, frozenset())
        tail = builder.tail
        for item in items:
            tail = self.chain(item, tail, None)
        exact = exact and builder.exact and frame.loop_depth == 0 and frame.cond_depth == 0
        return ListBuilder([*builder.items, *items], exact, tail)

    def call_super(self, name: str, node: cst.Call, frame: Frame) -> Value:
        info = frame.self_info
        if info is None:
            return UNKNOWN
        # Resolve relative to the class whose method is running (the top of the stack).
        defining = next(
            (c for c in self._mro(info) if any(k == f"{c.name}.{name}" for k in frame.stack[-1:])),
            info,
        )
        method = self.lookup_method(defining, name, skip_self=True)
        args = [self.eval(arg.value, frame) for arg in node.args]
        if method is None:
            return UNKNOWN
        pairs = list(zip(node.args, args, strict=False))
        positional = [v for a, v in pairs if a.keyword is None and not a.star]
        keywords = {a.keyword.value: v for a, v in pairs if a.keyword is not None}
        return self.call_function(
            method, positional, keywords, frame, bound_self=True, call=node, keep_frame=True
        )

    def call_function(
        self,
        info: FunctionInfo,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        bound_self: bool = False,
        call: cst.Call | None = None,
        bind_defaults: bool = False,
        inputs: bool = False,
        keep_frame: bool = False,
    ) -> Value:
        if info.cls is None and call is not None:
            self._called_functions.add(info.name)
        if info.key in frame.stack or frame.depth > MAX_INLINE_DEPTH:
            self.opaque_call(call, args, kwargs, frame) if call is not None else None
            return UNKNOWN
        prefix = frame.prefix + ((id(call),) if call is not None and info.cls is None else ())
        inner = frame.child(env={}, stack=(*frame.stack, info.key), prefix=prefix)
        if bound_self and frame.attrs is not None:
            inner.attrs = frame.attrs
        elif not any(arg is SELF for arg in [*args, *kwargs.values()]):
            inner.attrs = None  # a plain function: it sees the module only if it is passed in
            inner.self_info = None
        params = info.node.params
        ordered = [*params.posonly_params, *params.params]
        if bound_self and ordered:
            ordered = ordered[1:]
        for index, param in enumerate(ordered):
            name = param.name.value
            if index < len(args):
                inner.env[name] = args[index]
            elif name in kwargs:
                inner.env[name] = kwargs[name]
            elif inputs:
                inner.env[name] = NO_SOURCE
            elif param.default is not None:
                inner.env[name] = self.eval(
                    param.default, frame.child(env={}, attrs=None, self_info=None)
                )
            else:
                inner.env[name] = UNKNOWN
        for param in params.kwonly_params:
            name = param.name.value
            if name in kwargs:
                inner.env[name] = kwargs[name]
            elif param.default is not None:
                inner.env[name] = self.eval(
                    param.default, frame.child(env={}, attrs=None, self_info=None)
                )
            else:
                inner.env[name] = UNKNOWN
        if isinstance(params.star_arg, cst.Param):
            inner.env[params.star_arg.name.value] = GroupVal(
                tuple(args[len(ordered) :]), exact=False
            )
        if isinstance(params.star_kwarg, cst.Param):
            named = {p.name.value for p in [*ordered, *params.kwonly_params]}
            inner.env[params.star_kwarg.name.value] = DictVal(
                tuple((k, v) for k, v in kwargs.items() if k not in named)
            )
        self.exec_block(_block(info.node.body), inner)
        if not inner.returns:
            return ConstVal(None)
        return _union(inner.returns)

    def call_sub_method(
        self,
        callee: SubAttr,
        node: cst.Call,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
    ) -> Value:
        if frame.in_forward:
            return NO_SOURCE
        return (
            self.call_method(node, args, kwargs, frame)
            if isinstance(node.func, cst.Attribute)
            else UNKNOWN
        )

    def call_tensor_method(
        self,
        callee: TensorMethod,
        node: cst.Call,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
    ) -> Value:
        name = callee.name
        sources = callee.tensor.sources
        if name in TENSOR_METHOD_ACTIVATIONS:
            slope = None
            activation = activation_from_function(name, slope)
            if activation is not None:
                self.record_use(sources, activation, node)
            if (
                name.endswith("_")
                and isinstance(node.func, cst.Attribute)
                and isinstance(node.func.value, cst.Name)
            ):
                frame.env[node.func.value.value] = NO_SOURCE
            return NO_SOURCE
        if name in ("leaky_relu", "leaky_relu_"):
            activation = activation_from_function(name, self._slope_arg(node, 0, frame))
            if activation is not None:
                self.record_use(sources, activation, node)
            return NO_SOURCE
        if name in PASS_THROUGH_TENSOR_METHODS:
            return callee.tensor
        return NO_SOURCE

    def _slope_arg(
        self, node: cst.Call, position: int, frame: Frame, keyword: str = "negative_slope"
    ) -> float | None:
        bound = initcalls.bind(node.args, (keyword,), skip=position)
        if keyword in bound:
            return self.numeric(bound[keyword], frame)
        return None

    def call_qualified(
        self,
        qualified: str,
        node: cst.Call,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        starred: list[bool],
    ) -> Value:
        member = torch_nn_member(qualified)
        if member is not None:
            return self.construct_torch_module(member, node, args, kwargs, frame, starred)
        init_name = init_function(qualified)
        if init_name is not None:
            return self.init_call(init_name, node, args, frame)
        function = torch_function(qualified)
        first = args[0] if args else NO_SOURCE
        sources = first.sources if isinstance(first, TensorVal) else frozenset()
        if function is not None:
            if function in ("leaky_relu", "leaky_relu_"):
                activation = activation_from_function(
                    function, self._slope_arg(node, 1, frame) or None
                )
                if activation is not None and activation.slope is None:
                    activation = activation_from_function(function, 0.01)
            elif function in ("rrelu", "rrelu_"):
                activation = activation_from_function(function, rrelu_slope())
            else:
                activation = activation_from_function(function)
            if activation is not None:
                self.record_use(sources, activation, node)
                inplace = function.endswith("_") or _keyword_true(node, "inplace")
                if inplace and node.args and isinstance(node.args[0].value, cst.Name):
                    frame.env[node.args[0].value.value] = NO_SOURCE
                return NO_SOURCE
            if function in PASS_THROUGH_FUNCTIONS:
                return TensorVal(sources)
            if function in NORM_FUNCTIONS:
                return TensorVal(frozenset(Src(s.instance, True) for s in sources))
            if function in ("cat", "concat", "stack"):
                items = _items(first) or ()
                merged = frozenset().union(*(i.sources for i in items if isinstance(i, TensorVal)))
                return TensorVal(merged)
            if function in ("no_grad", "enable_grad", "inference_mode"):
                return UNKNOWN
            return NO_SOURCE
        last = qualified.rsplit(".", 1)[-1]
        if qualified in ("functools.partial",) and args:
            return PartialVal(args[0], tuple(args[1:]), kwargs)
        if qualified in ("collections.OrderedDict", "typing.OrderedDict") and args:
            return _as_dict(args[0])
        if last == "named_apply" and len(args) >= 2:
            target = args[1]
            scope = self._scope_of(target, frame)
            if scope is not None:
                self.register_apply(scope, args[0], node, frame)
                return UNKNOWN
        if _looks_like_init(last) and args:
            return self.foreign_init_call(last, node, args, frame)
        if last[:1].isupper() and not qualified.startswith("torch"):
            return self.instantiate(ClassRef(qualified), node, args, kwargs, frame)
        self.opaque_call(node, args, kwargs, frame)
        return UNKNOWN

    def construct_torch_module(
        self,
        member: str,
        node: cst.Call,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        starred: list[bool],
    ) -> Value:
        if member in WEIGHT_LAYERS:
            instance = self.new_instance(member, (member, *LAYER_BASES[member]), node, frame)
            instance.geometry = geometry_of(member, node, lambda n: self.numeric(n, frame))
            return LayerVal(instance)
        if member in ("LeakyReLU", "PReLU", "RReLU"):
            if member == "LeakyReLU":
                slope = self._slope_arg(node, 0, frame)
            elif member == "PReLU":
                slope = self._slope_arg(node, 1, frame, keyword="init")
            else:
                low = self._slope_arg(node, 0, frame, keyword="lower")
                high = self._slope_arg(node, 1, frame, keyword="upper")
                slope = rrelu_slope(
                    low if low is not None else 1 / 8, high if high is not None else 1 / 3
                )
            activation = activation_from_module(member, slope)
            bound = initcalls.bind(node.args, ("negative_slope",), skip=0)
            if member == "LeakyReLU" and "negative_slope" in bound and slope is None:
                activation = (
                    Activation("LeakyReLU", activation.family, None) if activation else None
                )
            return ActVal(activation, node) if activation else UNKNOWN
        activation = activation_from_module(member)
        if activation is not None:
            return ActVal(activation, node)
        if member in OTHER_ACTIVATION_MODULES:
            return OTHER_MODULE
        if member in PASS_THROUGH_LAYERS:
            return PASS
        if member in NORM_LAYERS:
            return NORM
        if member in SEQUENTIAL_CLASSES:
            return self.make_sequential(node, args, frame, starred)
        if member in LIST_CLASSES:
            items = _items(args[0]) if args else ()
            exact = not (
                args and isinstance(args[0], (GroupVal, ListBuilder)) and not args[0].exact
            )
            return GroupVal(tuple(items or ()), exact and items is not None)
        if member in DICT_CLASSES:
            if args and isinstance(args[0], DictVal):
                return GroupVal(
                    tuple(v for _, v in args[0].items), False, {k: v for k, v in args[0].items if k}
                )
            return GroupVal((), False)
        if member == "Module":
            return UNKNOWN
        return OTHER_MODULE

    def make_sequential(
        self, node: cst.Call, args: list[Value], frame: Frame, starred: list[bool]
    ) -> Value:
        elements: list[Value] = []
        exact = True
        names: dict[str, Value] | None = None
        tail: frozenset[Src] = frozenset()
        if len(args) == 1 and isinstance(args[0], DictVal):
            names = {k: v for k, v in args[0].items if k is not None}
            elements = [v for _, v in args[0].items]
        else:
            for value, star in zip(args, starred + [False] * len(args), strict=False):
                if star:
                    if isinstance(value, ListBuilder) and not value.exact:
                        exact = False
                        tail = value.tail
                        continue
                    items = _items(value)
                    if items is None or (isinstance(value, GroupVal) and not value.exact):
                        exact = False
                        tail = frozenset()
                        for item in items or ():
                            tail = self.chain(item, tail, None) | tail
                        continue
                    elements.extend(items)
                else:
                    elements.append(value)
        members = tuple(elements)
        if not exact:
            members += tuple(
                item
                for value in args
                for item in (_items(value) or ())
                if not isinstance(value, SeqVal)
            )
            return SeqVal(None, tail, None, members)
        state: frozenset[Src] = frozenset()
        for element in elements:
            state = self.chain(element, state, None)
        return SeqVal(tuple(elements), state, names, members)

    def chain(
        self, element: Value, state: frozenset[Src], site: cst.CSTNode | None
    ) -> frozenset[Src]:
        """Pass a tensor with origins ``state`` through a module; return the output's origins."""
        if isinstance(element, LayerVal):
            return frozenset({Src(element.instance)})
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
            if (
                isinstance(element, GroupVal)
                and element.exact is False
                or isinstance(element, ListBuilder)
            ):
                out: frozenset[Src] = frozenset()
                for item in element.items:
                    out |= self.chain(item, state, site)
                return out
            return (
                frozenset().union(*(self.chain(item, state, site) for item in element.items))
                if element.items
                else frozenset()
            )
        return frozenset()

    def record_use(self, sources: Iterable[Src], activation: Activation, node: cst.CSTNode) -> None:
        for source in sources:
            source.instance.uses.add(Use(activation, node, source.via_norm))

    def new_instance(
        self, kind: str, bases: tuple[str, ...], node: cst.Call, frame: Frame
    ) -> Instance:
        key = (frame.prefix, id(node), id(frame.owner))
        instance = self._instance_cache.get(key)
        if instance is None:
            instance = Instance(kind, bases, node, frame.owner)
            self._instance_cache[key] = instance
            self.instances.append(instance)
        return instance

    def instantiate(
        self,
        ref: ClassRef,
        node: cst.Call,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
    ) -> Value:
        info = ref.info
        if info is not None and info.layer_kind is not None:
            instance = self.new_instance(info.layer_kind, info.layer_bases, node, frame)
            reset = self.lookup_method(info, "reset_parameters")
            if reset is not None:
                self.set_inits(instance, frozenset({self._simulate_reset(reset, instance)}))
            return LayerVal(instance)
        if info is not None:
            info.instantiated = True
        label = f"{ref.key.rsplit('.', 1)[-1]}(...)"
        inst_node = self.new_node(f"{frame.owner.key}/{ref.key}@{id(node)}", label)
        self.contains.append((inst_node, ref.key))
        self.contains.append((frame.owner, inst_node))
        # Whatever is passed to the constructor ends up inside it (ResNet(BasicBlock, ...),
        # VGG(make_layers(...))): the class's init programs reach it.
        for value in [*args, *kwargs.values()]:
            self._adopt(value, ref.key, frame, set())
        return ClassInst(ref.key, inst_node)

    def _adopt(self, value: Value, container_key: str, frame: Frame, seen: set[int]) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, ClassRef) and value.info is not None and value.info.layer_kind is None:
            self.contains.append((self._class_node(container_key), value.key))
        elif isinstance(value, ClassInst):
            self.contains.append((self._class_node(container_key), value.node))
        elif isinstance(value, PartialVal):
            self._adopt(value.func, container_key, frame, seen)
        elif isinstance(value, (LayerVal, SeqVal, GroupVal, ListBuilder)):
            for instance in _instances_in(value):
                if instance.owner is frame.owner and not instance.owner.is_class:
                    holder = self.new_node(
                        f"{container_key}<-{instance.owner.key}", f"arguments of {container_key}"
                    )
                    self.contains.append((self._class_node(container_key), holder))
                    instance.owner = holder
            for item in _items(value) or ():
                if isinstance(item, (ClassInst, ClassRef)):
                    self._adopt(item, container_key, frame, seen)

    def _class_node(self, key: str) -> Node | str:
        for info in self.classes.values():
            if info.key == key and info.graph_node is not None:
                return info.graph_node
        return key

    def _scope_of(self, value: Value, frame: Frame) -> ModulesIter | None:
        if value is SELF:
            return ModulesIter(frame.owner)
        if isinstance(value, ClassInst):
            return ModulesIter(value.node)
        if isinstance(value, (LayerVal, SeqVal, GroupVal)):
            return ModulesIter(frame.owner, tuple(_instances_in(value)))
        return None

    def opaque_call(
        self, node: cst.Call | None, args: list[Value], kwargs: dict[str, Value], frame: Frame
    ) -> None:
        """An unknown function got modules or weights: it may have initialised them."""
        if node is not None:
            name = dotted_name(node.func) or ""
            if name in HARMLESS_CALLS or name.split(".")[0] in (
                "print",
                "logging",
                "warnings",
                "math",
            ):
                return
        classes = [
            v
            for v in [*args, *kwargs.values()]
            if isinstance(v, ClassRef) and v.info is not None and v.info.layer_kind is None
        ]
        if len(classes) > 1:
            # build_model_with_cfg(Model, ..., block=Block): the factory builds the first class
            # with the others inside it, so Model's init programs reach Block's layers.
            for contained in classes[1:]:
                self.contains.append((self._class_node(classes[0].key), contained.key))
        for value in [*args, *kwargs.values()]:
            if value is SELF:
                self.mark_unknown(self.owned_instances(frame.owner))
                frame.owner.add_program(Program.opaque(frame))
            elif isinstance(value, ClassInst):
                value.node.add_program(Program.opaque(frame))
            elif isinstance(value, ParamRef):
                self.mark_unknown([value.instance])
            elif (
                isinstance(value, ProbeParam)
                and frame.probe is not None
                and value.param == "weight"
            ):
                frame.probe.outcome = frame.probe.outcome.merge(
                    Outcome(frozenset({UNKNOWN_INIT}), True)
                )
            elif isinstance(value, Probe) and frame.probe is not None:
                frame.probe.outcome = frame.probe.outcome.merge(
                    Outcome(frozenset({UNKNOWN_INIT}), True)
                )
            elif isinstance(value, (LayerVal, SeqVal, GroupVal)) and not frame.in_forward:
                self.mark_unknown(_instances_in(value))
