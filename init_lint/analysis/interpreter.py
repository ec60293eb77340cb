"""Abstract interpretation of model code: which layer feeds which activation, and its init.

One :class:`FileAnalyzer` per file runs each class's ``__init__`` (inlining helper methods and
module-level helper functions), then its ``forward``, then module-level code and functions that
nothing else calls (``resnet18()``, a training script's ``main``). It records:

* layer instances with their construction site and current init state ("last init wins");
* uses: a layer's output reaching an activation, directly or through non-rescaling ops;
* nodes and containment: which class or instantiation contains which, and the generic init
  programs (``for m in self.modules()``, ``self.apply(fn)``) each applies to what it contains.

Where it cannot know, values are UNKNOWN and nothing is reported: precision over recall.

The analyzer is split by concern: statements and expressions here; calls (torch modules,
functional ops, inlining, instantiation) in ``calls.py``; init calls and init programs in
``inits.py``; conditions in ``conditions.py``; shared value algebra in ``common.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import libcst as cst

from ..knowledge import (
    LAYER_BASES,
    WEIGHT_LAYERS,
    InitScheme,
)
from .calls import CallsMixin
from .common import (
    _IDENTIFIER,
    _STRINGS_AND_COMMENTS,
    _block,
    _compound_extras,
    _handle_of,
    _is_self,
    _items,
    _iter_scope,
    _merge_maps,
    _number,
    _param_ndim,
    _target_names,
    _union,
    string_value,
)
from .conditions import ConditionsMixin
from .imports import ImportMap, dotted_name, torch_nn_member
from .inits import InitsMixin, arithmetic
from .state import (
    ClassInfo,
    Frame,
    FunctionInfo,
    LocalFinding,
    Program,
)
from .values import (
    NO_SOURCE,
    SELF,
    UNKNOWN,
    UNKNOWN_INIT,
    CallOrigin,
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
    Probe,
    ProbeParam,
    ProgramOrigin,
    QualRef,
    SeqVal,
    SubAttr,
    TensorMethod,
    TensorVal,
    Value,
)


class FileAnalyzer(CallsMixin, InitsMixin, ConditionsMixin):
    def __init__(
        self,
        module: cst.Module,
        module_name: str,
        is_package: bool = False,
        source: str | None = None,
    ) -> None:
        self.module = module
        self.source = source if source is not None else module.code
        self.module_name = module_name
        self.imports = ImportMap(module_name, is_package)
        self.classes: dict[str, ClassInfo] = {}
        self.functions: dict[str, FunctionInfo] = {}
        self.nodes: list[Node] = []
        self.contains: list[tuple[Node, Node | str]] = []
        self.instances: list[Instance] = []
        self.findings: list[LocalFinding] = []
        self._instance_cache: dict[tuple[tuple[int, ...], int, int], Instance] = {}
        self._journals: list[dict[Instance, frozenset[InitScheme]]] = []
        self._called_functions: set[str] = set()
        self._reported: set[tuple[int, str]] = set()
        self._call_origins: dict[int, CallOrigin] = {}
        self.simulations: dict[tuple[int, str], Outcome] = {}
        self.module_node = self.new_node(f"{module_name}:<module>", "module level")

    # ------------------------------------------------------------------ set-up
    def new_node(self, key: str, label: str, is_class: bool = False) -> Node:
        node = Node(key, label, is_class)
        self.nodes.append(node)
        return node

    def run(self) -> None:
        self._collect(self.module.body, top=True)
        for info in self.classes.values():
            self._classify_class(info)
        for info in self.classes.values():
            if info.layer_kind is None:
                self._evaluate_class(info)
        module_frame = Frame(env={}, owner=self.module_node)
        self.exec_block(
            [s for s in self.module.body if not isinstance(s, (cst.FunctionDef, cst.ClassDef))],
            module_frame,
        )
        for info in self._root_functions():
            node = self.new_node(f"{self.module_name}:{info.name}()", f"{info.name}()")
            self.call_function(info, [], {}, Frame(env={}, owner=node), bind_defaults=True)

    def _collect(self, body: Sequence[cst.CSTNode], top: bool) -> None:
        """Imports anywhere, and top-level classes and functions."""
        for statement in body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.imports.add(small)
            elif isinstance(statement, cst.ClassDef):
                if top:
                    self._add_class(statement)
                self._collect(_block(statement.body), top=False)
            elif isinstance(statement, cst.FunctionDef):
                if top:
                    self.functions[statement.name.value] = FunctionInfo(
                        statement, statement.name.value
                    )
                self._collect(_block(statement.body), top=False)
            elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
                self._collect(_block(statement.body), top)
                for extra in _compound_extras(statement):
                    self._collect(extra, top)

    def _add_class(self, node: cst.ClassDef) -> None:
        name = node.name.value
        info = ClassInfo(
            node, name, f"{self.module_name}.{name}", tuple(a.value for a in node.bases)
        )
        for statement in _block(node.body):
            if isinstance(statement, cst.FunctionDef):
                info.methods[statement.name.value] = FunctionInfo(
                    statement, statement.name.value, info
                )
        info.graph_node = self.new_node(info.key, f"class {name}", is_class=True)
        self.classes[name] = info

    def _classify_class(self, info: ClassInfo, seen: frozenset[str] = frozenset()) -> None:
        if info.layer_bases or info.name in seen:
            return
        for base in info.base_exprs:
            name = dotted_name(base)
            if name in self.classes:
                parent = self.classes[name]
                parent.subclassed = True
                info.local_bases.append(parent)
                self._classify_class(parent, seen | {info.name})
                if parent.layer_kind:
                    info.layer_kind = parent.layer_kind
                    info.layer_bases = (info.name, *parent.layer_bases)
                continue
            member = torch_nn_member(self.imports.resolve(base))
            if member in WEIGHT_LAYERS:
                info.layer_kind = member
                info.layer_bases = (info.name, member, *LAYER_BASES[member])

    def _root_functions(self) -> list[FunctionInfo]:
        """Module-level functions nothing refers to: entry points such as ``resnet18()``.

        A function whose name appears anywhere besides its ``def`` is reached from its callers
        (evaluated with their arguments), so it is not run on its own. Counting identifiers in
        the source text is far cheaper than walking the tree for calls.
        """
        counts = Counter(_IDENTIFIER.findall(_STRINGS_AND_COMMENTS.sub(" ", self.source)))
        return [
            info
            for name, info in self.functions.items()
            if name not in self._called_functions and counts[name] <= 1
        ]

    def _evaluate_class(self, info: ClassInfo) -> None:
        assert info.graph_node is not None
        attrs: dict[str, Value] = {}
        frame = Frame(env={}, owner=info.graph_node, self_info=info, attrs=attrs)
        init = self.lookup_method(info, "__init__")
        if init is not None:
            self.call_function(init, [], {}, frame, bound_self=True, bind_defaults=True)
        forward = self.lookup_method(info, "forward")
        if forward is not None:
            self.call_function(
                forward,
                [],
                {},
                Frame(env={}, owner=info.graph_node, self_info=info, attrs=attrs, in_forward=True),
                bound_self=True,
                inputs=True,
            )

    def lookup_method(
        self, info: ClassInfo, name: str, skip_self: bool = False
    ) -> FunctionInfo | None:
        order = self._mro(info)
        for cls in order[1:] if skip_self else order:
            if name in cls.methods:
                return cls.methods[name]
        return None

    def _mro(self, info: ClassInfo) -> list[ClassInfo]:
        order: list[ClassInfo] = []
        stack = [info]
        while stack:
            cls = stack.pop(0)
            if cls not in order:
                order.append(cls)
                stack.extend(cls.local_bases)
        return order

    # ------------------------------------------------------------------ init state
    def set_inits(self, instance: Instance, inits: frozenset[InitScheme]) -> None:
        if self._journals and instance not in self._journals[-1]:
            self._journals[-1][instance] = instance.inits
        instance.inits = inits

    def apply_scheme(self, instance: Instance, scheme: InitScheme, frame: Frame) -> None:
        self.set_inits(instance, frozenset({scheme}))

    def mark_unknown(self, instances: Iterable[Instance]) -> None:
        for instance in instances:
            self.set_inits(instance, instance.inits | {UNKNOWN_INIT})

    def owned_instances(self, node: Node) -> list[Instance]:
        return [i for i in self.instances if i.owner is node]

    # ------------------------------------------------------------------ statements
    def exec_block(self, statements: Sequence[cst.CSTNode], frame: Frame) -> None:
        outer = frame.statement
        for statement in statements:
            frame.statement = statement
            self.exec_statement(statement, frame)
        frame.statement = outer

    def exec_statement(self, statement: cst.CSTNode, frame: Frame) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self.exec_small(small, frame)
        elif isinstance(statement, cst.If):
            self.exec_if(statement, frame)
        elif isinstance(statement, cst.For):
            self.exec_for(statement, frame)
        elif isinstance(statement, cst.While):
            self.exec_block(_block(statement.body), frame)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                value = self.eval(item.item, frame)
                if item.asname is not None:
                    self.assign(item.asname.name, value, frame)
            self.exec_block(_block(statement.body), frame)
        elif isinstance(statement, cst.Try):
            self.exec_block(_block(statement.body), frame)
            if statement.orelse is not None:
                self.exec_block(_block(statement.orelse.body), frame)
            if statement.finalbody is not None:
                self.exec_block(_block(statement.finalbody.body), frame)
        elif isinstance(statement, cst.FunctionDef):
            frame.env[statement.name.value] = FuncRef(FunctionInfo(statement, statement.name.value))

    def exec_small(self, small: cst.BaseSmallStatement, frame: Frame) -> None:
        if isinstance(small, cst.Assign):
            value = self.eval(small.value, frame)
            for target in small.targets:
                self.assign(target.target, value, frame)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.assign(small.target, self.eval(small.value, frame), frame)
        elif isinstance(small, cst.AugAssign):
            self.exec_augassign(small, frame)
        elif isinstance(small, cst.Expr):
            self.eval(small.value, frame)
        elif isinstance(small, cst.Return):
            frame.returns.append(
                self.eval(small.value, frame) if small.value is not None else UNKNOWN
            )

    def exec_augassign(self, small: cst.AugAssign, frame: Frame) -> None:
        value = self.eval(small.value, frame)
        target = small.target
        if isinstance(target, cst.Name):
            current = frame.env.get(target.value)
            if isinstance(current, ListBuilder) and isinstance(small.operator, cst.AddAssign):
                frame.env[target.value] = self.extend_builder(current, _items(value), frame)
            elif isinstance(current, (TensorVal, type(None))) or current is UNKNOWN:
                frame.env[target.value] = NO_SOURCE

    def exec_if(self, statement: cst.If, frame: Frame) -> None:
        condition = self.condition(statement.test, frame)
        orelse: Sequence[cst.CSTNode] = ()
        if isinstance(statement.orelse, cst.If):
            orelse = (statement.orelse,)
        elif isinstance(statement.orelse, cst.Else):
            orelse = _block(statement.orelse.body)
        if condition is True:
            self.exec_block(_block(statement.body), frame)
        elif condition is False:
            self.exec_block(orelse, frame)
        else:
            self.exec_branches([_block(statement.body), orelse], frame)

    def exec_branches(self, branches: Sequence[Sequence[cst.CSTNode]], frame: Frame) -> None:
        """Run alternatives from the same state and merge: a value may be either outcome."""
        start_env = dict(frame.env)
        start_attrs = dict(frame.attrs) if frame.attrs is not None else None
        start_probe = frame.probe.outcome if frame.probe else None
        envs: list[dict[str, Value]] = []
        attrs_list: list[dict[str, Value]] = []
        probes: list[Outcome] = []
        changes: list[dict[Instance, frozenset[InitScheme]]] = []
        frame.cond_depth += 1
        for branch in branches:
            frame.env.clear()
            frame.env.update(start_env)
            if frame.attrs is not None and start_attrs is not None:
                frame.attrs.clear()
                frame.attrs.update(start_attrs)
            if frame.probe is not None and start_probe is not None:
                frame.probe.outcome = start_probe
            self._journals.append({})
            self.exec_block(branch, frame)
            journal = self._journals.pop()
            changes.append({inst: inst.inits for inst in journal})
            for inst, old in journal.items():  # undo, so the next branch starts clean
                inst.inits = old
            if self._journals:
                for inst, old in journal.items():
                    self._journals[-1].setdefault(inst, old)
            envs.append(dict(frame.env))
            if frame.attrs is not None:
                attrs_list.append(dict(frame.attrs))
            if frame.probe is not None:
                probes.append(frame.probe.outcome)
        frame.cond_depth -= 1
        touched = {inst for change in changes for inst in change}
        for inst in touched:
            merged = frozenset().union(*(change.get(inst, inst.inits) for change in changes))
            self.set_inits(inst, merged)
        frame.env.clear()
        frame.env.update(_merge_maps(envs))
        if frame.attrs is not None and attrs_list:
            frame.attrs.clear()
            frame.attrs.update(_merge_maps(attrs_list))
        if frame.probe is not None and probes:
            merged_outcome = probes[0]
            for outcome in probes[1:]:
                merged_outcome = merged_outcome.merge(outcome)
            frame.probe.outcome = merged_outcome

    def exec_for(self, statement: cst.For, frame: Frame) -> None:
        iterable = self.eval(statement.iter, frame)
        target = statement.target
        body = _block(statement.body)
        scope = _iter_scope(iterable)
        if scope is not None:
            names = _target_names(target)
            named = isinstance(scope, (ModulesIter, ParamsIter)) and scope.named
            targets = (
                (names[0], names[1])
                if named and len(names) == 2
                else (None, names[0] if names else None)
            )
            if not frame.in_forward and frame.probe is None:
                program = Program(
                    body,
                    targets,
                    frame,
                    frame.cond_depth > 0,
                    isinstance(scope, ParamsIter),
                )
                program.origin = ProgramOrigin(statement, _handle_of(statement.iter), scope.node)
                self.register_program(scope, program, frame)
                return
        element = self.element_of(iterable)
        frame.loop_depth += 1
        repeats = 2 if frame.loop_depth <= 2 else 1  # a second pass sees chains wrap around
        for _ in range(repeats):
            self.bind_target(target, element, frame)
            self.exec_block(body, frame)
        frame.loop_depth -= 1

    def bind_target(self, target: cst.BaseExpression, element: Value, frame: Frame) -> None:
        if (
            isinstance(target, (cst.Tuple, cst.List))
            and isinstance(element, GroupVal)
            and element.exact
            and len(element.items) == len(target.elements)
        ):
            for sub, value in zip(target.elements, element.items, strict=False):
                self.assign(sub.value, value, frame)
        else:
            self.assign(target, element, frame)

    def element_of(self, iterable: Value) -> Value:
        """What a for loop's variable is bound to when iterating this value."""
        if isinstance(iterable, GroupVal) and iterable.names == {"<enumerate>": UNKNOWN}:
            return GroupVal((UNKNOWN, self.element_of(iterable.items[0])))
        if isinstance(iterable, GroupVal) and iterable.names == {"<zip>": UNKNOWN}:
            return GroupVal(tuple(self.element_of(item) for item in iterable.items))
        items = _items(iterable)
        if items is None:
            return UNKNOWN
        return _union(items)

    # ------------------------------------------------------------------ assignment
    def assign(self, target: cst.BaseExpression, value: Value, frame: Frame) -> None:
        if isinstance(target, cst.Name):
            frame.env[target.value] = value
            self.name_values(value, target.value, 5, anchor=frame.statement)
        elif (
            isinstance(target, cst.Attribute) and _is_self(target.value) and frame.attrs is not None
        ):
            frame.attrs[target.attr.value] = value
            self.name_values(
                value, f"self.{target.attr.value}", 0, target.attr.value, frame.statement
            )
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = value.items if isinstance(value, GroupVal) and value.exact else None
            for index, element in enumerate(target.elements):
                sub = items[index] if items is not None and index < len(items) else UNKNOWN
                self.assign(element.value, sub, frame)
        elif isinstance(target, cst.Subscript):
            base = self.eval(target.value, frame)
            if isinstance(base, ParamRef):  # w[...] = ...: an opaque write into the weight
                self.mark_unknown([base.instance])

    def name_values(
        self,
        value: Value,
        name: str,
        rank: int,
        path: str | None = None,
        anchor: cst.CSTNode | None = None,
    ) -> None:
        """Give layers the best display name: 'self.fc1' over 'self.body[0]' over 'conv'."""
        if isinstance(value, LayerVal):
            instance = value.instance
            if rank < instance.name_rank:
                instance.name, instance.name_rank = name, rank
                instance.anchor = anchor if "..." not in name else None
                if path is not None:
                    instance.path = path
        elif isinstance(value, SeqVal) and value.elements is not None and rank <= 1:
            for key, element in (value.names or {}).items():  # OrderedDict names read best
                self.name_values(
                    element, f"{name}.{key}", rank + 1, f"{path}.{key}" if path else None, anchor
                )
            for index, element in enumerate(value.elements):
                self.name_values(
                    element,
                    f"{name}[{index}]",
                    rank + 1,
                    f"{path}.{index}" if path else None,
                    anchor,
                )
        elif isinstance(value, (GroupVal, ListBuilder)) and rank <= 5:
            for index, element in enumerate(value.items):
                if not value.exact and isinstance(element, GroupVal) and not element.exact:
                    self.name_values(element, name, rank, None)  # a union inside a union
                    continue
                label = f"{name}[{index}]" if value.exact else f"{name}[...]"
                self.name_values(
                    element,
                    label,
                    rank + 1,
                    f"{path}.{index}" if path and value.exact else None,
                    anchor,
                )

    # ------------------------------------------------------------------ expressions
    def eval(self, node: cst.BaseExpression, frame: Frame) -> Value:
        if isinstance(node, cst.Name):
            return self.eval_name(node.value, frame)
        if isinstance(node, cst.Attribute):
            return self.eval_attribute(node, frame)
        if isinstance(node, cst.Call):
            return self.eval_call(node, frame)
        if isinstance(node, cst.Subscript):
            return self.eval_subscript(node, frame)
        if isinstance(node, cst.Integer):
            return ConstVal(int(_number(node)))
        if isinstance(node, cst.Float):
            return ConstVal(_number(node))
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return ConstVal(string_value(node))
        if isinstance(node, cst.List):
            group = self.eval_sequence(node.elements, frame)
            return self.extend_builder(ListBuilder(), list(group.items), frame, exact=group.exact)
        if isinstance(node, (cst.Tuple, cst.Set)):
            return self.eval_sequence(node.elements, frame)
        if isinstance(node, cst.Dict):
            items = []
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    key = self.eval(element.key, frame)
                    items.append(
                        (
                            key.value if isinstance(key, ConstVal) else None,
                            self.eval(element.value, frame),
                        )
                    )
            return DictVal(tuple(items))
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return self.eval_comprehension(node, frame)
        if isinstance(node, cst.BinaryOperation):
            return self.eval_binary(node, frame)
        if isinstance(node, cst.UnaryOperation):
            operand = self.eval(node.expression, frame)
            if (
                isinstance(node.operator, cst.Minus)
                and isinstance(operand, ConstVal)
                and isinstance(operand.value, (int, float))
            ):
                return ConstVal(-operand.value)
            return NO_SOURCE if isinstance(operand, TensorVal) else UNKNOWN
        if isinstance(node, cst.IfExp):
            test = self.condition(node.test, frame)
            if test is True:
                return self.eval(node.body, frame)
            if test is False:
                return self.eval(node.orelse, frame)
            return _union([self.eval(node.body, frame), self.eval(node.orelse, frame)])
        if isinstance(node, (cst.BooleanOperation, cst.Comparison)):
            for child in node.children:
                if isinstance(child, cst.BaseExpression):
                    self.eval(child, frame)
            return UNKNOWN
        if isinstance(node, cst.Await):
            return self.eval(node.expression, frame)
        if isinstance(node, cst.NamedExpr):
            value = self.eval(node.value, frame)
            self.assign(node.target, value, frame)
            return value
        return UNKNOWN

    def eval_name(self, name: str, frame: Frame) -> Value:
        if name in frame.env:
            return frame.env[name]
        if name == "self" and frame.attrs is not None:
            return SELF
        if name in ("True", "False", "None"):
            return ConstVal({"True": True, "False": False, "None": None}[name])
        if name in self.classes:
            return ClassRef(self.classes[name].key, self.classes[name])
        if name in self.functions:
            return FuncRef(self.functions[name])
        qualified = self.imports.resolve_dotted(name)
        if qualified is not None:
            return QualRef(qualified)
        return UNKNOWN

    def eval_attribute(self, node: cst.Attribute, frame: Frame) -> Value:
        attr = node.attr.value
        base = self.eval(node.value, frame)
        if base is SELF:
            if frame.attrs is None:
                return UNKNOWN  # the module reached a frame that cannot see its attributes
            if attr in frame.attrs:
                return frame.attrs[attr]
            if frame.self_info is not None:
                method = self.lookup_method(frame.self_info, attr)
                if method is not None:
                    return FuncRef(method, bound_self=True)
            return UNKNOWN
        if isinstance(base, QualRef):
            return QualRef(f"{base.qualified}.{attr}")
        if isinstance(base, LayerVal):
            if attr in ("weight", "bias"):
                return ParamRef(base.instance, attr)
            return UNKNOWN
        if isinstance(base, ParamRef) and attr == "data":
            return base
        if isinstance(base, ProbeParam) and attr == "data":
            return base
        if isinstance(base, Probe):
            if attr in ("weight", "bias"):
                return ProbeParam(attr, _param_ndim(base.kind, attr))
            if attr == "__class__":
                return ClassRef(base.kind)
            return UNKNOWN
        if (
            isinstance(base, ClassRef)
            and attr == "__name__"
            and base.info is None
            and "." not in base.key
        ):
            return ClassName(base.key)
        if isinstance(base, TensorVal):
            return TensorMethod(base, attr)
        if isinstance(base, ClassInst):
            return SubAttr(base.node, attr)
        if isinstance(base, SubAttr):
            return SubAttr(base.node, f"{base.path}.{attr}")
        if isinstance(base, (SeqVal, GroupVal)) and base.names and attr in base.names:
            return base.names[attr]
        if isinstance(base, GroupVal) and attr in ("weight", "bias"):
            # for conv in (self.conv1, self.conv2): init...(conv.weight): each of them
            return GroupVal(
                tuple(ParamRef(i.instance, attr) for i in base.items if isinstance(i, LayerVal)),
                False,
            )
        return UNKNOWN

    def eval_subscript(self, node: cst.Subscript, frame: Frame) -> Value:
        base = self.eval(node.value, frame)
        index: Value = UNKNOWN
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            index = self.eval(node.slice[0].slice.value, frame)
        if isinstance(base, TensorVal):
            return base  # indexing/slicing keeps the scale
        if isinstance(base, SeqVal) and base.elements is not None:
            if isinstance(index, ConstVal) and isinstance(index.value, int):
                if -len(base.elements) <= index.value < len(base.elements):
                    return base.elements[index.value]
                return UNKNOWN
            return _union(base.elements)
        if isinstance(base, (GroupVal, ListBuilder, DictVal)):
            items = _items(base)
            if (
                isinstance(base, (GroupVal, ListBuilder))
                and base.exact
                and isinstance(index, ConstVal)
            ):
                if isinstance(index.value, int) and -len(base.items) <= index.value < len(
                    base.items
                ):
                    return base.items[index.value]
            if (
                isinstance(base, GroupVal)
                and base.names
                and isinstance(index, ConstVal)
                and index.value in base.names
            ):
                return base.names[index.value]
            return _union(items or ())
        if isinstance(base, SubAttr) and isinstance(index, ConstVal):
            return SubAttr(base.node, f"{base.path}.{index.value}")
        return UNKNOWN

    def eval_sequence(self, elements: Sequence[cst.BaseElement], frame: Frame) -> GroupVal:
        items: list[Value] = []
        exact = True
        for element in elements:
            value = self.eval(element.value, frame)
            if isinstance(element, cst.StarredElement):
                inner = _items(value)
                if inner is None:
                    exact = False
                    continue
                if isinstance(value, (ListBuilder, GroupVal)) and not value.exact:
                    exact = False
                items.extend(inner)
            else:
                items.append(value)
        return GroupVal(tuple(items), exact)

    def eval_comprehension(
        self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp, frame: Frame
    ) -> Value:
        inner = frame.child(env=dict(frame.env), depth=frame.depth)
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            iterable = self.eval(clause.iter, inner)
            self.bind_target(clause.target, self.element_of(iterable), inner)
            for condition in clause.ifs:
                self.eval(condition.test, inner)
            clause = clause.inner_for_in
        return GroupVal((self.eval(node.elt, inner),), exact=False)

    def eval_binary(self, node: cst.BinaryOperation, frame: Frame) -> Value:
        left = self.eval(node.left, frame)
        right = self.eval(node.right, frame)
        if isinstance(node.operator, cst.Add):
            left_items, right_items = _items(left), _items(right)
            if isinstance(left, (GroupVal, ListBuilder)) and isinstance(
                right, (GroupVal, ListBuilder)
            ):
                exact = bool(getattr(left, "exact", True) and getattr(right, "exact", True))
                return GroupVal(tuple(left_items or ()) + tuple(right_items or ()), exact)
        if (
            isinstance(node.operator, cst.Multiply)
            and isinstance(left, GroupVal)
            and isinstance(right, ConstVal)
        ):
            return GroupVal(left.items, exact=False)  # [layer] * n: n references to one module
        # numeric(node) would walk the operands' subtrees again at every level of a chain
        # (a + a + ... is quadratic); a nested operation's number is already in its value.
        number = arithmetic(
            node.operator,
            self._operand(node.left, left, frame),
            self._operand(node.right, right, frame),
        )
        if number is not None:
            return ConstVal(number)
        return NO_SOURCE if isinstance(left, TensorVal) or isinstance(right, TensorVal) else UNKNOWN

    def _operand(self, node: cst.BaseExpression, value: Value, frame: Frame) -> float | None:
        """``numeric(node)``; for a nested operation, read from the value it evaluated to."""
        if not isinstance(node, cst.BinaryOperation):
            return self.numeric(node, frame)
        if isinstance(value, ConstVal) and isinstance(value.value, (int, float)):
            return None if isinstance(value.value, bool) else float(value.value)
        return None
