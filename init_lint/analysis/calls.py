"""Calls: what a call's callee is, and what calling it does.

``call_value`` dispatches on the callee's abstract value (a torch name, a class of this file, a
function to inline, a partial, a tensor method, a module being called on a tensor); method
calls dispatch on the receiver (``self``, a layer, a weight, a list being built). Helper
functions and methods are inlined with their actual arguments (:func:`.binder.bind_values`),
so ``conv3x3(64, 64)`` builds its layer in the caller's context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import libcst as cst

from ..library import APPLYING_METHODS, MODEL_BUILDERS
from .binder import bind_values, parameter_names
from .common import (
    HARMLESS_CALLS,
    HARMLESS_MODULES,
    INERT_METHODS,
    MAX_INLINE_DEPTH,
    SELF_RETURNING_METHODS,
    as_dict,
    block,
    builtin_result,
    flattened,
    handle_of,
    instances_in,
    items_of,
    looks_like_init,
    may_write_weights,
    string_method,
    submodules_in,
    union,
)
from .configinit import apply_config, config_argument
from .contexts import DEFAULTS, Data, digest, freeze, signature_of, thaw
from .expressions import NUMERIC_FUNCTIONS, apply_numeric
from .imports import dotted_name, init_function, is_torch, torch_function, torch_nn_member
from .state import ClassInfo, Frame, FunctionInfo, Program
from .values import (
    DEFAULT_INIT,
    MODULE_OUTPUT,
    NO_SOURCE,
    NORM,
    NOT_PORTABLE,
    OTHER_MODULE,
    PASS,
    SELF,
    UNKNOWN,
    UNKNOWN_INIT,
    ActVal,
    BuildsModules,
    CallOrigin,
    ClassInst,
    ClassRef,
    ConstVal,
    DictVal,
    ForeignEvent,
    FuncRef,
    GroupKind,
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
    RecordVal,
    SeqVal,
    Src,
    SubAttr,
    TensorMethod,
    TensorVal,
    Value,
    feed,
    module_output,
)

if TYPE_CHECKING:
    from .host import Host

#: Receiver methods that list what a module contains.
_MODULE_LISTS = ("modules", "named_modules", "children", "named_children")


@dataclass
class Arguments:
    """A call's evaluated arguments."""

    positional: list[Value] = field(default_factory=list)
    keywords: dict[str, Value] = field(default_factory=dict)
    starred: list[bool] = field(default_factory=list)  # per positional: was it ``*x``
    receiver: Value | None = None  # ``obj`` in ``obj.method(...)``, evaluated once

    @property
    def values(self) -> list[Value]:
        return [*self.positional, *self.keywords.values()]

    @property
    def open_ended(self) -> bool:
        """``*xs`` or ``**kw`` of unknown content: which parameters they fill is unknown."""
        spread = any(
            star and (items_of(v) is None or not getattr(v, "exact", True))
            for v, star in zip(self.positional, self.starred, strict=True)
        )
        return spread or any(k.startswith("**") for k in self.keywords)

    @property
    def known_positional(self) -> list[Value]:
        """The positional values a function receives in order: ``*xs`` of a known list is
        spread; one of unknown length ends what can be known."""
        known: list[Value] = []
        for value, star in zip(self.positional, self.starred, strict=True):
            if not star:
                known.append(value)
                continue
            items = items_of(value)
            exact = not isinstance(value, (GroupVal, ListBuilder)) or value.exact
            if items is None or not exact:
                break
            known.extend(items)
        return known


class Calls:
    def __init__(self, host: Host) -> None:
        self.host = host
        #: Results of portable functions by their arguments (see call_function).
        self._pure: dict[tuple[int, Data, Data], Data] = {}
        self._callees: dict[type[Value], Callable[[Value, cst.Call, Arguments, Frame], Value]] = {
            QualRef: self._call_qualified,  # type: ignore[dict-item]
            ClassRef: self._call_class,  # type: ignore[dict-item]
            FuncRef: self._call_funcref,  # type: ignore[dict-item]
            PartialVal: self._call_partial,  # type: ignore[dict-item]
            TensorMethod: self._call_tensor_method,  # type: ignore[dict-item]
            ClassInst: self._call_module,  # type: ignore[dict-item]
            SubAttr: self._call_sub_attribute,
        }

    # ------------------------------------------------------------------ evaluation
    def eval_call(self, node: cst.Call, frame: Frame) -> Value:
        func = node.func
        # type() is, not isinstance(): LibCST's classes are ABCs (see common.is_node).
        if type(func) is cst.Attribute and type(func.value) is cst.Call:
            if dotted_name(func.value.func) == "super":  # super().__init__(...)
                return self._call_super(func.attr.value, node, frame)
        receiver: Value | None = None
        if isinstance(func, cst.Attribute):
            receiver = self.host.expressions.eval(func.value, frame)
            callee = self.host.expressions.member(receiver, func.attr.value, frame)
        else:
            callee = self.host.expressions.eval(func, frame)
        args = self._arguments(node, frame)
        args.receiver = receiver
        if isinstance(func, cst.Name) and func.value not in frame.env:
            builtin = builtin_result(func.value, args.positional, args.keywords)
            if builtin is None and func.value in ("getattr", "setattr"):
                builtin = self._named_attribute(func.value, node, args, frame)
            if builtin is not None:
                return builtin
        if isinstance(func, cst.Attribute) and receiver is not None:
            known = self._known_method(receiver, func.attr.value, node, args, frame)
            if known is not None:
                return known
        return self.call_value(callee, node, args, frame)

    def _known_method(
        self, receiver: Value, name: str, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value | None:
        """Methods of strings and dicts the interpreter knows: a name normalised before a
        table lookup, a config dict updated, a registry's items."""
        if not args.keywords:
            text = string_method(receiver, name, args.positional)
            if text is not None:
                return text
        if isinstance(receiver, DictVal) and name == "update" and frame.cond_depth == 0:
            added = args.positional[0] if len(args.positional) == 1 else DictVal(())
            if isinstance(added, DictVal):  # see Interpreter.assign for the condition
                written = (*added.items, *args.keywords.items())
                keys = {key for key, _ in written if key is not None}
                kept = [item for item in receiver.items if item[0] not in keys]
                receiver.items = (*kept, *written)
                return ConstVal(None)
        if isinstance(receiver, DictVal) and name in ("get", "pop") and not args.keywords:
            return _dict_lookup(receiver, name, args.positional, frame.cond_depth == 0)
        if name in ("items", "values") and not node.args:
            pairs = self._mapping_items(receiver)
            if pairs is not None:
                if name == "values":
                    return GroupVal(tuple(v for _, v in pairs), exact=False)
                return GroupVal(tuple(GroupVal((ConstVal(k), v)) for k, v in pairs), exact=False)
        return None

    def _arguments(self, node: cst.Call, frame: Frame) -> Arguments:
        arguments = Arguments()
        for arg in node.args:
            value = self.host.expressions.eval(arg.value, frame)
            if arg.keyword is not None:
                arguments.keywords[arg.keyword.value] = value
            elif arg.star == "**":
                if isinstance(value, DictVal):
                    arguments.keywords.update({k: v for k, v in value.items if isinstance(k, str)})
                else:
                    arguments.keywords[f"**{len(arguments.keywords)}"] = value
            else:
                arguments.positional.append(value)
                arguments.starred.append(arg.star == "*")
        return arguments

    @staticmethod
    def _mapping_items(owner: Value) -> tuple[tuple[str | None, Value], ...] | None:
        if isinstance(owner, DictVal):
            return owner.items
        if isinstance(owner, GroupVal) and owner.names:
            return tuple(owner.names.items())
        return None

    def call_value(self, callee: Value, node: cst.Call, args: Arguments, frame: Frame) -> Value:
        handler = self._callees.get(type(callee))
        if handler is not None:
            return handler(callee, node, args, frame)
        built = _callables(callee)
        if built:
            # layer = XLayer if cond else YLayer; layer(...): either class is built (a None
            # among them, ``get_attn(name)`` of an unknown name, raises rather than builds)
            results = [self.call_value(item, node, args, frame) for item in built]
            if isinstance(callee, GroupVal) and any(i is UNKNOWN for i in callee.items):
                for result in results:
                    if isinstance(result, ClassInst):
                        result.node.speculative = True
            return union(results)
        if isinstance(callee, (LayerVal, ActVal, SeqVal, GroupVal, ListBuilder)) or callee in (
            PASS,
            NORM,
            OTHER_MODULE,
        ):
            source = args.positional[0] if args.positional else NO_SOURCE
            state = source.sources if isinstance(source, TensorVal) else frozenset()
            return TensorVal(self.host.modules.chain(callee, state, node))
        if callee is UNKNOWN and frame.in_forward:
            frame.owner.opaque = True  # a module (or function) of unknown content runs here
        if callee is UNKNOWN and isinstance(node.func, cst.Attribute):
            return self.call_method(node, args, frame)
        if callee is UNKNOWN:
            self.opaque_call(node, args.positional, args.keywords, frame)
        return UNKNOWN

    def _call_module(
        self, callee: ClassInst, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value:
        """``self.block(x)``: x's layers feed the block; the block's output comes back."""
        source = args.positional[0] if args.positional else None
        if isinstance(source, TensorVal):
            feed(source.sources, callee)
        return module_output(callee)

    def _call_tensor_method(
        self, callee: TensorMethod, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value:
        return self.host.modules.tensor_method(callee, node, frame)

    def _call_class(self, callee: ClassRef, node: cst.Call, args: Arguments, frame: Frame) -> Value:
        return self.instantiate(callee, node, args, frame)

    def _call_funcref(
        self,
        callee: FuncRef,
        node: cst.Call,
        args: Arguments,
        frame: Frame,
        portable_entry: bool = False,
    ) -> Value:
        """A function value called. Another file's portable function called with plain
        values that computed a plain value and built nothing gives the same result again
        (timm's ``to_2tuple(k)``, ``get_padding(k, stride)``: thousands of identical calls
        once layer builders are followed into them); it is remembered, never re-run."""
        info, positional, keywords = callee.info, args.known_positional, args.keywords
        key = None
        if info.scope is not None and info.scope.foreign and not callee.bound_self:
            key = _pure_key(info, positional, keywords)
            known = self._pure.get(key) if key is not None else None
            if known is not None:
                self.host.called_methods.add(id(info))
                return thaw(known, self.host)
        built = (len(self.host.instances), len(self.host.nodes)) if key is not None else None
        result = self.call_function(
            info,
            positional,
            keywords,
            frame,
            bound_self=callee.bound_self,
            call=node,
            portable_entry=portable_entry,
        )
        if key is not None and _is_plain(result, results=True):
            if built == (len(self.host.instances), len(self.host.nodes)):  # it built nothing
                self._pure[key] = freeze(result)
        return result

    def _call_partial(
        self, callee: PartialVal, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value:
        merged = Arguments([*callee.args, *args.positional], {**callee.kwargs, **args.keywords})
        merged.starred = [False] * len(callee.args) + args.starred
        merged.receiver = args.receiver
        return self.call_value(callee.func, node, merged, frame)

    def _call_sub_attribute(
        self, callee: Value, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value:
        """``self.block.something(...)``: a method of a contained module."""
        if frame.in_forward:
            return NO_SOURCE
        return (
            self.call_method(node, args, frame) if isinstance(node.func, cst.Attribute) else UNKNOWN
        )

    # ------------------------------------------------------------------ methods
    def call_method(self, node: cst.Call, args: Arguments, frame: Frame) -> Value:
        """``obj.method(...)`` on a module value (self.apply, x.modules(), w.normal_())."""
        assert isinstance(node.func, cst.Attribute)
        name = node.func.attr.value
        owner = args.receiver
        if owner is None:
            owner = self.host.expressions.eval(node.func.value, frame)
        if owner is SELF or isinstance(owner, (ClassInst, Probe)):
            return self._module_method(owner, name, node, args, frame)
        if isinstance(owner, SubAttr) and not owner.path.endswith((".weight", ".weight.data")):
            if name in _MODULE_LISTS or name in ("parameters", "named_parameters", "apply"):
                return self._module_method(owner, name, node, args, frame)
        if isinstance(owner, (LayerVal, SeqVal, GroupVal)):
            return self._layer_method(owner, name, node, args, frame)
        if isinstance(owner, (ParamRef, ProbeParam)):
            return self.host.inits.init_method(owner, name, node, frame)
        if isinstance(owner, SubAttr) and owner.path.endswith((".weight", ".weight.data")):
            # netG.main[2].weight.data.normal_(...) / .mul_(2): a weight of a contained module
            path = owner.path.removesuffix(".data")
            return self.host.inits.init_method(SubAttr(owner.node, path), name, node, frame)
        if isinstance(owner, ListBuilder) and name in ("append", "extend", "insert"):
            return self.host.modules.mutate_collection(
                node.func.value, name, args.positional, frame
            )
        return UNKNOWN

    def _module_method(
        self, owner: Value, name: str, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value:
        """A method of ``self``, of an instance of a class, or of an init program's module."""
        scope_node: Node | None = None
        if owner is SELF:
            scope_node = frame.owner
        elif isinstance(owner, ClassInst):
            scope_node = owner.node
        if scope_node is not None:
            if name in _MODULE_LISTS:
                return ModulesIter(scope_node, named=name.startswith("named"))
            if name in ("parameters", "named_parameters"):
                return ParamsIter(scope_node, named=name == "named_parameters")
            if name == "apply" and args.positional:
                self.host.inits.register_apply(
                    ModulesIter(scope_node), args.positional[0], node, frame
                )
                return owner
        if isinstance(owner, SubAttr) and (
            name in _MODULE_LISTS or name in ("parameters", "named_parameters", "apply")
        ):
            # netG.encoder.apply(f), f(net.encoder) looping over its modules: which layers a
            # path reaches is not tracked, so the layers of the whole instance may have been
            # initialised by it: unknown (silence, rather than a fix it would overwrite).
            self.host.inits.register_program(ModulesIter(owner.node), Program.opaque(frame))
            return UNKNOWN
        if name in SELF_RETURNING_METHODS:
            return owner
        if owner is SELF and name == "_conv_forward":
            return self._layer_output(name, frame)
        applied = self._applying_method(owner, name, node, frame)
        if applied is not None:
            return applied
        if name == "load_state_dict" and frame.cond_depth == 0:
            # Loaded from a checkpoint on every path of this context (``pretrained=True``):
            # what the init was no longer matters. A load under an unknown condition (resuming
            # a run) leaves the init that a fresh run trains from.
            self._may_have_initialised(owner, frame)
            return UNKNOWN
        if name in INERT_METHODS:
            if name in ("add_module", "register_module") and len(args.positional) > 1:
                self._add_module(owner, node.args[0].value, args, frame)
            return UNKNOWN
        if owner is SELF and name not in HARMLESS_CALLS:
            self._unknown_self_method(name, frame)
        elif isinstance(owner, ClassInst) and name != "forward" and may_write_weights(name):
            # self.block.reset_parameters() (PyG's idiom): the block's layers are set again
            # after their construction, as this analysis does not follow.
            self._may_have_initialised(owner, frame)
            owner.node.reinitialised = True
        return UNKNOWN

    def _add_module(
        self, owner: Value, spelled: cst.BaseExpression, args: Arguments, frame: Frame
    ) -> None:
        """``self.add_module('conv', layer)`` / ``setattr(self, 'conv', layer)`` is ``self.conv =
        layer`` (in registration order, which an nn.Sequential subclass runs). A name built in
        a loop (``f"fc{i}"``) is one key for all it may be; another computed name only names."""
        name, module = args.positional[0], args.positional[1]
        attribute = name.value if isinstance(name, ConstVal) else None
        if owner is SELF and isinstance(attribute, str) and attribute.isidentifier():
            self._set_self_attribute(attribute, module, frame)
            return
        keys = _one_of_names(name) if attribute is None and owner is SELF else None
        if keys is None:  # a name built in a loop: one key for all it may be
            pattern = self._pattern_of(owner, spelled, frame) if attribute is None else None
            keys = [pattern] if pattern is not None else None
        if keys is None or frame.attrs is None:
            self.host.name_values(module, "self.<added>", 3)
            return
        # Each name it may be holds it (or what an earlier pass put there). No autofix: no
        # expression names one of them.
        for key in keys:
            earlier = frame.attrs.get(key)
            frame.attrs[key] = module if earlier is None else union((earlier, module))
        self.host.name_values(module, f"getattr(self, {self.host.code_of(spelled)})", 3)

    def _applying_method(
        self, owner: Value, name: str, node: cst.Call, frame: Frame
    ) -> Value | None:
        """``self.post_init()`` (Hugging Face): apply ``self._init_weights`` to every module."""
        target = APPLYING_METHODS.get(name)
        info = frame.self_info
        if owner is not SELF or target is None or info is None or info.lookup(name) is not None:
            return None
        method = info.lookup(target)
        if method is None:
            return None
        scope = ModulesIter(frame.owner)
        self.host.inits.register_apply(scope, FuncRef(method, bound_self=True), node, frame)
        return ConstVal(None)

    def _layer_method(
        self, owner: Value, name: str, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value:
        """A method of a layer or a container of layers."""
        instances = tuple(instances_in(owner))
        nodes = tuple(submodules_in(owner))
        if name in ("modules", "named_modules", "children"):
            return ModulesIter(frame.owner, instances, named=name == "named_modules", nodes=nodes)
        if name == "apply" and args.positional:
            scope = ModulesIter(frame.owner, instances, nodes=nodes)
            self.host.inits.register_apply(scope, args.positional[0], node, frame)
            return owner
        if name in SELF_RETURNING_METHODS:
            return owner  # nn.Linear(...).to(device)
        if name == "reset_parameters" and isinstance(owner, LayerVal):
            # PyTorch's default again, from here: a fix goes after this call, not after the
            # layer's construction (PyG's reset_parameters() runs it at the end of __init__).
            origin = CallOrigin(node, frame.insertion_point(), rewritable=False)
            reset = replace(DEFAULT_INIT, site=node, origin=origin)
            self.host.set_inits(owner.instance, frozenset({reset}))
        assert isinstance(node.func, cst.Attribute)
        receiver = node.func.value
        if name in ("append", "extend", "insert", "add_module", "register_module") and isinstance(
            receiver, (cst.Name, cst.Attribute)
        ):
            return self.host.modules.mutate_collection(receiver, name, args.positional, frame)
        return UNKNOWN

    def _unknown_self_method(self, name: str, frame: Frame) -> None:
        """``self.init_weights()`` defined in a base class we cannot see: it may init anything."""
        lowered = name.lower()
        if any(word in lowered for word in ("init", "reset", "weight")):
            self.host.mark_unknown(self.host.owned_instances(frame.owner))
            frame.owner.add_program(Program.opaque(frame))

    def _call_super(self, name: str, node: cst.Call, frame: Frame) -> Value:
        info = frame.self_info
        if info is None:
            return UNKNOWN
        # Resolve relative to the class whose method is running (the top of the stack).
        running = frame.stack[-1:]
        defining = next((c for c in info.mro() if f"{c.name}.{name}" in running), info)
        method = defining.lookup(name, skip_self=True)
        args = self._arguments(node, frame)
        if method is None and name == "__init__":
            config = config_argument(node, args.known_positional, args.keywords)
            if config is not None:
                frame.owner.init_config = (config, node)
        if method is None and name == "__init__" and info.settings and frame.attrs is not None:
            # A settings class over a record class: the record's __init__ sets its fields.
            base = next((b for b in defining.mro() if b.record_fields is not None), None)
            record = self._record(base, args, frame) if base is not None else UNKNOWN
            if isinstance(record, RecordVal):
                frame.attrs.update(record.fields)
            return ConstVal(None)
        if method is None and name == "__init__" and self.host.is_sequential(info):
            self._sequential_init(args, frame)
            return ConstVal(None)
        if method is None and name == "init_weights" and frame.owner.init_config is not None:
            apply_config(self.host, frame.owner, *frame.owner.init_config)  # BaseModule's own
            return ConstVal(None)
        if method is None and name != "__init__" and may_write_weights(name):
            # super()._init_weights(module) into a base we cannot read (Hugging Face's
            # PreTrainedModel inits every Linear from its config): it may set what it is given.
            self.opaque_call(node, args.known_positional, args.keywords, frame, known_callee=True)
            return UNKNOWN
        if method is None:
            return self._layer_output(name, frame)
        return self.call_function(
            method, args.known_positional, args.keywords, frame, bound_self=True, call=node
        )

    def _named_attribute(
        self, builtin: str, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value | None:
        """``getattr(self, f"fc{i}")`` and ``setattr(self, f"fc{i}", layer)`` under a known
        name are ``self.fc0`` and ``self.fc0 = layer``."""
        given = args.positional
        if args.keywords or len(given) < 2 or any(args.starred):
            return None
        name = given[1].value if isinstance(given[1], ConstVal) else None
        if builtin == "getattr":
            if len(given) > 3:
                return None
            if isinstance(name, str):
                return self.host.expressions.member(given[0], name, frame)
            names = _one_of_names(given[1])
            if names is not None:  # for name in ("fc1", "fc2"): getattr(self, name)(x)
                return union([self.host.expressions.member(given[0], n, frame) for n in names])
            pattern = self._pattern_of(given[0], node.args[1].value, frame)
            return frame.attrs.get(pattern, UNKNOWN) if pattern and frame.attrs else None
        if len(given) != 3 or given[0] is not SELF:
            return None
        self._add_module(SELF, node.args[1].value, Arguments(given[1:]), frame)
        return ConstVal(None)

    def _pattern_of(self, owner: Value, name: cst.BaseExpression, frame: Frame) -> str | None:
        if owner is not SELF or frame.attrs is None:
            return None
        return self.host.expressions.name_pattern(name, frame)

    def _set_self_attribute(self, name: str, module: Value, frame: Frame) -> None:
        """What ``self.<name> = module`` does (naming, registration order, containers).
        Registered in a loop (``add_module(f"fc{i}", ...)``), a layer is named for code after
        the loop: ``self.fc1`` does not exist yet in the loop's first pass."""
        statement = frame.statement
        frame.statement = frame.loop_statement or statement
        try:
            self.host.assign(cst.Attribute(cst.Name("self"), cst.Name(name)), module, frame)
        finally:
            frame.statement = statement

    def _sequential_init(self, args: Arguments, frame: Frame) -> None:
        """``super().__init__(conv, norm, act)`` in an nn.Sequential subclass: its modules, in
        the order its forward runs them (``self[0]``...; an OrderedDict's names)."""
        if frame.attrs is None or args.open_ended:
            return
        given = args.known_positional
        if len(given) == 1 and isinstance(given[0], DictVal):
            for key, module in given[0].items:
                if key is not None and key.isidentifier():
                    self._set_self_attribute(key, module, frame)
            return
        for index, module in enumerate(given):
            frame.attrs[str(index)] = module
            self.host.name_values(module, f"self[{index}]", 1, str(index), frame.statement)

    @staticmethod
    def _layer_output(name: str, frame: Frame) -> Value:
        """torch's ``forward``/``_conv_forward`` of a Linear/Conv subclass: the weight op."""
        if frame.layer is not None and name in ("forward", "_conv_forward"):
            return TensorVal(frozenset({Src(frame.layer)}))
        return UNKNOWN

    # ------------------------------------------------------------------ functions
    def call_function(
        self,
        info: FunctionInfo,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        bound_self: bool = False,
        call: cst.Call | None = None,
        inputs: bool = False,
        open_ended: bool = False,
        portable_entry: bool = False,
    ) -> Value:
        """Inline ``info`` with these arguments in the caller's context; its return value.
        ``inputs``: the parameters not given are tensors (``forward``'s inputs);
        ``open_ended``: unknown ``*args``/``**kwargs`` were passed too;
        ``portable_entry``: another file's portable function, called by name: NOT_PORTABLE if
        it turns out to build a module it was given (the caller then treats it as opaque)."""
        if info.cls is None and call is not None and info.scope is None:
            self.host.called_functions.add(info.name)
        self.host.called_methods.add(id(info))
        if info.key in frame.stack or frame.depth > MAX_INLINE_DEPTH:
            if call is not None:
                self.opaque_call(call, args, kwargs, frame, known_callee=True)
            return UNKNOWN
        prefix = frame.prefix + ((id(call),) if call is not None and info.cls is None else ())
        inner = frame.child(stack=(*frame.stack, info.key), prefix=prefix)
        if not (bound_self and frame.attrs is not None) and not any(
            arg is SELF for arg in [*args, *kwargs.values()]
        ):
            inner.attrs = None  # a plain function: it sees the module only if it is passed in
            inner.self_info = None
        inner.env = bind_values(
            info.node.params,
            args,
            kwargs,
            skip_first=bound_self,
            default=lambda param: self.default_value(param, frame),
            unfilled=NO_SOURCE if inputs else None,
            open_ended=open_ended,
        )
        if info.closure is not None:
            inner.env = {**info.closure, **inner.env}
        inner.caller_statement = None
        if info.cls is None and call is not None:
            inner.spelled = _spelled(info.node.params, call, frame)
            inner.caller_statement = frame.insertion_point()
        outer, entry = self.host.scope, self.host.entry
        self.host.scope = info.scope or self.host.home  # the names where it is defined
        if self.host.scope.foreign and not outer.foreign:
            self.host.entry = call  # where this file's code enters the other file's
        try:
            self.host.exec_block(block(info.node.body), inner)
        except BuildsModules:
            if outer.foreign or info.scope is None:
                raise  # not where this file's code enters the other file's
            if portable_entry:
                return NOT_PORTABLE
            if call is not None:
                self.opaque_call(call, args, kwargs, frame)
            return UNKNOWN
        finally:
            self.host.scope, self.host.entry = outer, entry
        if info.scope is not None and info.scope.foreign:  # the builders it ran run too
            self.host.builders_run.add(f"{info.scope.module}.{info.name}")
        if len(inner.returns) == 1:  # as is: a union would read `(x,) * n` as "x or x"
            return inner.returns[0]
        return union(inner.returns) if inner.returns else ConstVal(None)

    def default_value(self, param: cst.Param, frame: Frame) -> Value:
        """A parameter's default, evaluated where the function is defined (no locals, no self)."""
        assert param.default is not None
        return self.host.expressions.eval(param.default, frame.isolated())

    def _call_qualified(
        self, callee: QualRef, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value:
        """A call of an imported name: torch.nn, torch.nn.init, torch functions, other libraries."""
        qualified = callee.qualified
        positional = args.positional
        member = torch_nn_member(qualified)
        if member is not None:
            return self.host.modules.construct(
                member, node, positional, frame, args.starred, args.keywords
            )
        init_name = init_function(qualified)
        if init_name is not None:
            return self.host.inits.init_call(init_name, node, positional, frame)
        function = torch_function(qualified)
        if function is not None:
            return self.host.modules.functional(function, node, positional, frame)
        last = qualified.rsplit(".", 1)[-1]
        standard = _standard_call(qualified, args)
        if standard is not None:
            return standard
        if last == "named_apply" and len(positional) >= 2:
            scope = self._scope_of(positional[1], frame)
            if scope is not None:
                self.host.inits.register_apply(scope, positional[0], node, frame)
                return UNKNOWN
        library = self._library_call(qualified, node, args, frame)
        if library is not None:
            return library
        if looks_like_init(last) and positional:
            return self.host.inits.foreign_init_call(last, node, positional, frame)
        if last[:1].isupper() and not is_torch(qualified):
            return self.instantiate(ClassRef(qualified), node, args, frame)
        portable = self.host.portable.get(qualified)
        if isinstance(portable, FuncRef):  # another file's function that only computes a value
            result = self._call_funcref(portable, node, args, frame, portable_entry=True)
            if isinstance(result, ActVal) and result.node is None:
                return ActVal(result.activation, node)  # built by this call, for its line
            if result is not NOT_PORTABLE:
                return result
        elif portable is not None:
            return self.call_value(portable, node, args, frame)
        if "." in qualified and not self.host.scope.foreign and not is_torch(qualified):
            self.host.calls_out.add(qualified)
        self._foreign_call(qualified, node, args, frame)
        return UNKNOWN

    def _foreign_call(self, qualified: str, node: cst.Call, args: Arguments, frame: Frame) -> None:
        """A function of another file given modules (``init_decoder(self.decoder)``): what it
        does to a module it is given is that function's facts'; the rest is opaque."""
        if self.host.scope.foreign:
            return  # ``math.ceil(x)`` in a portable function
        may_write = may_write_weights(qualified)
        rest = []
        expressions = [a.value for a in node.args]
        for index, value in enumerate(args.values):
            target = (
                frame.owner
                if value is SELF
                else value.node
                if isinstance(value, ClassInst)
                else None
            )
            if target is not None and not frame.in_forward:
                spelled = expressions[index] if len(expressions) == len(args.values) else None
                handle = handle_of(spelled) if spelled is not None else None
                target.events.append(
                    ForeignEvent(qualified, "call", may_write, frame.statement, handle)
                )
            else:
                rest.append(value)
        self.opaque_call(node, rest, {}, frame)

    def _library_call(
        self, qualified: str, node: cst.Call, args: Arguments, frame: Frame
    ) -> Value | None:
        """A function of another package that init-lint knows (see :mod:`init_lint.library`)."""
        factory = self.host.library.factory(qualified)
        if factory is not None:
            return self.host.modules.from_factory(
                factory, node, args.positional, args.keywords, frame
            )
        helper = self.host.library.helper(qualified)
        if helper is not None and args.positional:
            self.host.inits.helper_call(helper, node, args.positional[0], frame)
            return ConstVal(None)
        builder = MODEL_BUILDERS.get(qualified)
        if builder is not None and len(args.positional) > builder.class_position:
            model = args.positional[builder.class_position]
            if isinstance(model, QualRef) and not is_torch(model.qualified):
                model = ClassRef(model.qualified)  # a class of another file: built there
            if isinstance(model, ClassRef):
                passed = {k: v for k, v in args.keywords.items() if k not in builder.own}
                for own, name in builder.renamed:
                    if own in args.keywords:
                        passed[name] = args.keywords[own]
                return self.instantiate(model, node, Arguments([], passed), frame)
        return None

    # ------------------------------------------------------------------ classes
    def instantiate(self, ref: ClassRef, node: cst.Call, args: Arguments, frame: Frame) -> Value:
        """``Block(...)``: a node for this instantiation, containing the class's own node."""
        host = self.host
        if host.scope.foreign:
            # A class of the other file, built by its layer builder: that file runs it with
            # these arguments, as if this file's call built it. A class of this file given to
            # the other file's function (``build(cls)``) makes the call opaque.
            if host.entry is None or ref.info is not None:
                raise BuildsModules(ref.key)
            node = host.entry
        info = ref.info
        if info is not None and info.record_fields is not None:
            return self._record(info, args, frame)
        if info is not None and info.settings:
            return self._settings(info, args, frame)
        if info is not None and info.layer_kind is not None:
            instance = host.modules.new_instance(info.layer_kind, info.layer_bases, node, frame)
            reset = info.lookup("reset_parameters")
            if reset is not None:
                host.set_inits(instance, frozenset({host.inits.simulate_reset(reset, instance)}))
            if info.lookup("forward") is not None:
                self._run_layer_subclass(info, instance, args, frame)
            return LayerVal(instance)
        context: Node | str
        if info is not None:
            info.instantiated = True
            context = host.class_context(
                info, args.known_positional, args.keywords, args.open_ended
            )
        else:
            context = self._foreign_context(ref.key, args)
        label = f"{ref.key.rsplit('.', 1)[-1]}(...)"
        inst_node = host.new_node(f"{frame.owner.key}/{ref.key}@{host.ordinal(node)}", label)
        inst_node.output = Instance(MODULE_OUTPUT, (), node, inst_node)
        inst_node.branches = frame.branches
        host.contains.append((inst_node, context))
        host.contains.append((frame.owner, inst_node))
        # Whatever is passed to the constructor ends up inside it (ResNet(BasicBlock, ...),
        # VGG(make_layers(...))): the class's init programs reach it.
        seen: set[int] = set()
        for value in args.values:
            self._adopt(value, context, frame, seen)
        return ClassInst(ref.key, inst_node)

    def _record(self, info: ClassInfo, args: Arguments, frame: Frame) -> Value:
        """``Config(act="tanh")``: the fields' values, from the arguments or the defaults
        written in the class body (evaluated where the class is defined)."""
        assert info.record_fields is not None
        if args.open_ended:
            return UNKNOWN
        given = args.known_positional
        if len(given) > len(info.record_fields):
            return UNKNOWN
        defaults = Frame(env={}, owner=frame.owner)  # module-level names only
        fields: dict[str, Value] = {}
        for index, (name, default) in enumerate(info.record_fields):
            if index < len(given):
                fields[name] = given[index]
            elif name in args.keywords:
                fields[name] = args.keywords[name]
            else:
                evaluated = self.host.expressions.eval(default, defaults) if default else UNKNOWN
                fields[name] = evaluated
        return RecordVal(info.key, fields)

    def _settings(self, info: ClassInfo, args: Arguments, frame: Frame) -> Value:
        """``Config(act="tanh")`` of a settings class: a record of the attributes its
        ``__init__`` stores, run with these arguments."""
        init = info.lookup("__init__")
        if args.open_ended or init is None:
            return UNKNOWN
        attrs: dict[str, Value] = {}
        inner = Frame(env={}, prefix=frame.prefix, owner=frame.owner, self_info=info, attrs=attrs)
        self.call_function(init, args.known_positional, args.keywords, inner, bound_self=True)
        return RecordVal(info.key, attrs)

    def _run_layer_subclass(
        self, info: ClassInfo, instance: Instance, args: Arguments, frame: Frame
    ) -> None:
        """A Linear/Conv subclass with its own ``forward`` (``ConvAct(..., activation=...)``):
        run it with ``self`` as the layer, so that an activation it applies to its weight op's
        output is a use of this layer, and what follows the module follows that activation."""
        attrs: dict[str, Value] = {}
        context = dict(owner=frame.owner, self_info=info, attrs=attrs, layer=instance)
        init = info.lookup("__init__")
        if init is not None:
            inner = Frame(env={}, prefix=frame.prefix, **context)  # type: ignore[arg-type]
            self.call_function(init, args.known_positional, args.keywords, inner, bound_self=True)
        forward = info.lookup("forward")
        assert forward is not None
        inner = Frame(env={}, prefix=frame.prefix, in_forward=True, **context)  # type: ignore[arg-type]
        output = self.call_function(forward, [], {}, inner, bound_self=True, inputs=True)
        own = isinstance(output, TensorVal) and any(s.instance is instance for s in output.sources)
        instance.raw_output = own

    def _foreign_context(self, key: str, args: Arguments) -> str:
        """The key of a class of another file built with these arguments; the arguments are
        sent to that file as a request, to be run there (see the engine)."""
        signature = signature_of(args.known_positional, args.keywords)
        if signature == DEFAULTS and not args.open_ended:
            return key
        self.host.requests.append((key, signature))
        return f"{key}[{digest(signature)}]"

    def _adopt(self, value: Value, container: Node | str, frame: Frame, seen: set[int]) -> None:
        pending = [value]
        while pending:
            current = pending.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current, ClassRef) and current.info is not None:
                if current.info.layer_kind is None:
                    self.host.contains.append((container, current.key))
            elif isinstance(current, ClassInst):
                self.host.contains.append((container, current.node))
            elif isinstance(current, PartialVal):
                pending.append(current.func)
            elif isinstance(current, DictVal):  # cfg['block'] = Block; Model(cfg=cfg)
                pending.extend(value for _, value in current.items)
            elif isinstance(current, (LayerVal, SeqVal, GroupVal, ListBuilder)):
                self._adopt_layers(current, container, frame)
                pending.extend(
                    item
                    for item in reversed(items_of(current) or ())
                    if isinstance(item, (ClassInst, ClassRef))
                )

    def _adopt_layers(self, value: Value, container: Node | str, frame: Frame) -> None:
        """Layers built here and passed to a constructor are owned by the container's context."""
        name = container if isinstance(container, str) else container.key
        for instance in instances_in(value):
            if instance.owner is frame.owner and not instance.owner.is_class:
                holder = self.host.new_node(f"{name}<-{instance.owner.key}", f"arguments of {name}")
                self.host.contains.append((container, holder))
                instance.owner = holder

    def _class_node(self, key: str) -> Node | str:
        for info in self.host.classes.values():
            if info.key == key:
                return info.graph_node
        return key

    def _scope_of(self, value: Value, frame: Frame) -> ModulesIter | None:
        if value is SELF:
            return ModulesIter(frame.owner)
        if isinstance(value, ClassInst):
            return ModulesIter(value.node)
        if isinstance(value, (LayerVal, SeqVal, GroupVal)):
            return ModulesIter(
                frame.owner, tuple(instances_in(value)), nodes=tuple(submodules_in(value))
            )
        return None

    def opaque_call(
        self,
        node: cst.Call | None,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        *,
        known_callee: bool = False,
    ) -> None:
        """An unknown function got modules or weights: it may have initialised them.

        Only a function whose name says it may write weights (``load_checkpoint(model)``,
        ``init_fn(m)``) is taken to do so for a module argument; ``summary(model)``,
        ``Remote(self)`` or ``retrieve_out_channels(backbone)`` leave its init alone. A weight
        tensor passed to any unknown function, and a known function that could not be inlined
        (``known_callee``), may have changed it.
        """
        if self.host.scope.foreign:
            return  # a portable function calls nothing that could write a weight
        name = (dotted_name(node.func) or "") if node is not None else ""
        if name in HARMLESS_CALLS or name.split(".")[0] in HARMLESS_MODULES:
            return
        may_write_modules = known_callee or may_write_weights(name)
        values = [*args, *kwargs.values()]
        classes = [
            v
            for v in values
            if isinstance(v, ClassRef) and v.info is not None and v.info.layer_kind is None
        ]
        # build_model_with_cfg(Model, ..., block=Block): the factory builds the first class
        # with the others inside it, so Model's init programs reach Block's layers.
        for contained in classes[1:]:
            self.host.contains.append((self._class_node(classes[0].key), contained.key))
        for value in values:
            if may_write_modules or isinstance(value, (ParamRef, ProbeParam)):
                self._may_have_initialised(value, frame)

    def _may_have_initialised(self, value: Value, frame: Frame) -> None:
        host = self.host
        unknown = Outcome(frozenset({UNKNOWN_INIT}), True)
        if value is SELF:
            host.mark_unknown(host.owned_instances(frame.owner))
            frame.owner.add_program(Program.opaque(frame))
        elif isinstance(value, ClassInst):
            value.node.add_program(Program.opaque(frame))
        elif isinstance(value, ParamRef):
            host.mark_unknown([value.instance])
        elif isinstance(value, ProbeParam) and frame.probe is not None and value.param == "weight":
            frame.probe.outcome = frame.probe.outcome.merge(unknown)
        elif isinstance(value, Probe) and frame.probe is not None:
            frame.probe.outcome = frame.probe.outcome.merge(unknown)
        elif isinstance(value, (LayerVal, SeqVal, GroupVal)) and not frame.in_forward:
            host.mark_unknown(instances_in(value))


def _callables(callee: Value) -> tuple[Value, ...]:
    """The classes or functions a union stands for, when it is one of those or None (not of
    modules, which are called on tensors)."""
    if not isinstance(callee, GroupVal) or callee.exact:
        return ()
    items = tuple(
        i
        for i in callee.items
        if i is not UNKNOWN and not (isinstance(i, ConstVal) and i.value is None)
    )
    callables = (ClassRef, QualRef, FuncRef, PartialVal)
    return items if items and all(isinstance(i, callables) for i in items) else ()


def _spelled(
    params: cst.Parameters, call: cst.Call, frame: Frame
) -> dict[str, tuple[cst.CSTNode, str] | None]:
    """The parameters of a plain function called with modules: the caller's statement and its
    spelling of each (through the caller's own parameters, when it is itself such a function);
    None for one given an expression with no name (``init_network(Critic())``): a call naming
    the module cannot go in the function, which other callers share, nor after the caller's."""
    names = parameter_names(params)
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    given = [(names[i] if i < len(names) else None, arg) for i, arg in enumerate(positional)]
    given += [(arg.keyword.value, arg) for arg in call.args if arg.keyword is not None]
    spelled: dict[str, tuple[cst.CSTNode, str] | None] = {}
    for name, arg in given:
        if name is None:
            continue
        handle = handle_of(arg.value)
        statement, spelling = (
            frame.spelling(frame.statement, handle) if handle is not None else (None, None)
        )
        spelled[name] = (
            (statement, spelling) if statement is not None and spelling is not None else None
        )
    return spelled


def _one_of_names(name: Value) -> list[str] | None:
    """``for name in ("fc1", "fc2"): setattr(self, name, ...)``: the names it may be."""
    if not isinstance(name, GroupVal) or name.exact or not name.items:
        return None
    names = [item.value for item in name.items if isinstance(item, ConstVal)]
    if len(names) != len(name.items) or not all(
        isinstance(n, str) and n.isidentifier() for n in names
    ):
        return None
    return [str(n) for n in names]


def _dict_lookup(mapping: DictVal, method: str, given: list[Value], certain: bool) -> Value | None:
    """``kwargs.get("act_layer", nn.ReLU)`` / ``kwargs.pop(...)`` on a dict whose keys are all
    known (``**kwargs`` bound from a call): the value, else the default. ``pop`` removes the key
    where it certainly runs."""
    if not 1 <= len(given) <= 2 or not isinstance(given[0], ConstVal):
        return None
    key = given[0].value
    for index, (name, value) in enumerate(mapping.items):
        if name == key:
            if method == "pop" and certain:
                mapping.items = mapping.items[:index] + mapping.items[index + 1 :]
            return value
    if any(name is None or name.startswith("**") for name, _ in mapping.items):
        return UNKNOWN  # a key of unknown name may be this one
    if len(given) == 2:
        return given[1]
    return ConstVal(None) if method == "get" else UNKNOWN  # pop of a missing key raises


def _copied_records(value: Value) -> Value | None:
    """A copy of a record, or of each of several (``for cnf in configs: copy.copy(cnf)``);
    None for anything else."""
    if isinstance(value, RecordVal):
        return RecordVal(value.key, dict(value.fields))
    items = value.items if isinstance(value, GroupVal) and not value.exact else ()
    if items and all(isinstance(item, RecordVal) for item in items):
        return GroupVal(tuple(_copied_records(item) or UNKNOWN for item in items), exact=False)
    return None


def _standard_call(qualified: str, args: Arguments) -> Value | None:
    """Standard-library calls whose result the analysis knows (None: not one of them)."""
    positional = args.positional
    if qualified == "functools.partial" and positional:
        return PartialVal(positional[0], tuple(positional[1:]), args.keywords)
    if qualified in ("copy.copy", "copy.deepcopy") and positional:
        return _copied_records(positional[0])  # a config copied before its fields change
    if qualified == "dataclasses.replace" and len(positional) == 1:
        original = positional[0]  # replace(cfg, act="tanh"): a copy with those fields
        if isinstance(original, RecordVal) and set(args.keywords) <= set(original.fields):
            return RecordVal(original.key, {**original.fields, **args.keywords})
        return UNKNOWN
    if qualified == "itertools.chain.from_iterable" and len(positional) == 1:
        return flattened(positional[0])  # chain.from_iterable((conv, act) for ...)
    if qualified == "itertools.repeat" and positional:  # repeat(block, n): n times one
        return GroupVal((positional[0],), exact=False)
    if qualified in ("collections.OrderedDict", "typing.OrderedDict") and positional:
        return as_dict(positional[0])
    if qualified in NUMERIC_FUNCTIONS:  # std=math.sqrt(2) as a helper's default
        numbers = [_number(arg) for arg in positional]
        value = apply_numeric(NUMERIC_FUNCTIONS[qualified], numbers)
        return ConstVal(value) if value is not None else UNKNOWN
    return None


def _number(value: Value) -> float | None:
    known = value.value if isinstance(value, ConstVal) else None
    return float(known) if isinstance(known, (int, float)) and not isinstance(known, bool) else None


def _is_plain(value: Value, results: bool = False) -> bool:
    """A value that :func:`.contexts.freeze` turns into data and back exactly, and that no
    later statement can change: a scalar, unknown, a tuple of those (and, as an argument, a
    class or library name)."""
    if value is UNKNOWN:
        return True
    if isinstance(value, ConstVal):
        return value.value is None or isinstance(value.value, (bool, int, float, str))
    if isinstance(value, (QualRef, ClassRef)) and not results:
        return True
    if not (
        isinstance(value, GroupVal)
        and not value.registered
        and value.kind is GroupKind.PLAIN
        and value.names is None
        and len(value.items) <= MAX_PURE_ITEMS
        and all(_is_plain(item, results) for item in value.items)
    ):
        return False
    # A tuple, or one of several known values (freeze() spells a union with an unknown
    # option, or a list of unknown length, as unknown: not the same value).
    return value.exact or (
        value.complete and not value.ordered and all(item is not UNKNOWN for item in value.items)
    )


#: Longer tuples are not remembered (freeze() stops spelling collections out before this).
MAX_PURE_ITEMS = 16


def _pure_key(
    info: FunctionInfo, args: list[Value], kwargs: dict[str, Value]
) -> tuple[int, Data, Data] | None:
    """The function, its arguments and what it closes over (``n`` of timm's ``_ntuple(n)``'s
    ``parse``), as data; None when one of them is not plain."""
    closure = info.closure or {}
    if not all(_is_plain(v) for v in (*args, *kwargs.values())):
        return None
    if not all(_is_plain(v) or isinstance(v, FuncRef) for v in closure.values()):
        return None  # its own nested functions are code: the same for every call
    frozen = tuple(freeze(a) for a in args)
    named = tuple(sorted((k, freeze(v)) for k, v in kwargs.items()))
    closed = tuple(
        sorted(
            (k, ("fn", id(v.info)) if isinstance(v, FuncRef) else freeze(v))
            for k, v in closure.items()
        )
    )
    return id(info), frozen, (*named, *closed)
