"""Abstract interpretation of model code: which layer feeds which activation, and its init.

One :class:`FileAnalyzer` per file runs each class's ``__init__`` (inlining helper methods and
module-level helper functions), then its ``forward``, then module-level code and functions that
nothing else calls (``resnet18()``, a training script's ``main``). It records:

* layer instances with their construction site and current init state ("last init wins");
* uses: a layer's output reaching an activation, directly or through non-rescaling ops;
* nodes and containment: which class or instantiation contains which, and the generic init
  programs (``for m in self.modules()``, ``self.apply(fn)``) each applies to what it contains.

Where it cannot know, values are UNKNOWN and nothing is reported: precision over recall.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

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
    InitScheme,
    activation_from_function,
    activation_from_module,
    rrelu_slope,
)
from . import initcalls
from .imports import ImportMap, dotted_name, init_function, torch_function, torch_nn_member
from .values import (
    NO_SOURCE,
    NORM,
    OTHER_MODULE,
    PASS,
    SELF,
    UNKNOWN,
    UNKNOWN_INIT,
    UNTOUCHED,
    ActVal,
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
    PartialVal,
    Probe,
    ProbeParam,
    ProgramOrigin,
    QualRef,
    SeqVal,
    Src,
    SubAttr,
    TensorMethod,
    TensorVal,
    Use,
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


@dataclass(eq=False)
class FunctionInfo:
    node: cst.FunctionDef
    name: str
    cls: ClassInfo | None = None

    @property
    def key(self) -> str:
        return f"{self.cls.name}.{self.name}" if self.cls else self.name


@dataclass(eq=False)
class ClassInfo:
    node: cst.ClassDef
    name: str
    key: str
    base_exprs: tuple[cst.BaseExpression, ...]
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    local_bases: list[ClassInfo] = field(default_factory=list)
    layer_kind: str | None = None  # subclass of a torch layer: its torch class
    layer_bases: tuple[str, ...] = ()
    graph_node: Node | None = None
    subclassed: bool = False
    instantiated: bool = False


@dataclass(eq=False)
class Program:
    """A generic init program: a loop body or function run on every module of a scope."""

    body: Sequence[cst.BaseStatement]
    targets: tuple[str | None, ...]  # names the probe binds to: ('m',) or ('name', 'm')
    frame: Frame
    conditional: bool
    site: cst.CSTNode
    params: bool = False  # iterates parameters (p) rather than modules (m)
    unknown: bool = False  # an opaque effect (unknown function applied): result UNKNOWN
    origin: ProgramOrigin | None = None


@dataclass
class ProbeState:
    outcome: Outcome = UNTOUCHED
    bias_fan_calls: list[cst.Call] = field(default_factory=list)


@dataclass(eq=False)
class Frame:
    env: dict[str, Value]
    owner: Node
    self_info: ClassInfo | None = None
    attrs: dict[str, Value] | None = None
    depth: int = 0
    stack: tuple[str, ...] = ()
    prefix: tuple[int, ...] = ()
    returns: list[Value] = field(default_factory=list)
    probe: ProbeState | None = None
    cond_depth: int = 0
    loop_depth: int = 0
    in_forward: bool = False
    statement: cst.CSTNode | None = None  # the statement of this function being executed

    def child(self, **changes: Any) -> Frame:
        values = {
            "env": {},
            "owner": self.owner,
            "self_info": self.self_info,
            "attrs": self.attrs,
            "depth": self.depth + 1,
            "stack": self.stack,
            "prefix": self.prefix,
            "returns": [],
            "probe": self.probe,
            "cond_depth": self.cond_depth,
            "loop_depth": 0,
            "in_forward": self.in_forward,
            "statement": None,
        }
        values.update(changes)
        return Frame(**values)


@dataclass
class LocalFinding:
    node: cst.CSTNode
    code: str
    message: str
    rename: tuple[cst.CSTNode, str] | None = None  # autofix: replace this node's text


class FileAnalyzer:
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
                    statement,
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
            return ConstVal(node.evaluated_value)
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
        number = self.numeric(node, frame)
        if number is not None:
            return ConstVal(number)
        return NO_SOURCE if isinstance(left, TensorVal) or isinstance(right, TensorVal) else UNKNOWN

    # ------------------------------------------------------------------ calls
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
            frame.owner.add_program(
                Program((), (None, None), frame, True, frame.owner and cst.Pass(), unknown=True)
            )

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
            return LayerVal(self.new_instance(member, (member, *LAYER_BASES[member]), node, frame))
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
                frame.owner.add_program(
                    Program((), (None, None), frame, True, node or cst.Pass(), unknown=True)
                )
            elif isinstance(value, ClassInst):
                value.node.add_program(
                    Program((), (None, None), frame, True, node or cst.Pass(), unknown=True)
                )
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

    # ------------------------------------------------------------------ inits
    def numeric(self, node: cst.BaseExpression, frame: Frame) -> float | None:
        if isinstance(node, (cst.Integer, cst.Float)):
            return _number(node)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            inner = self.numeric(node.expression, frame)
            return -inner if inner is not None else None
        if isinstance(node, cst.Name):
            value = frame.env.get(node.value)
            return (
                float(value.value)
                if isinstance(value, ConstVal)
                and isinstance(value.value, (int, float))
                and not isinstance(value.value, bool)
                else None
            )
        if isinstance(node, cst.BinaryOperation):
            left, right = self.numeric(node.left, frame), self.numeric(node.right, frame)
            if left is None or right is None:
                return None
            try:
                if isinstance(node.operator, cst.Add):
                    return left + right
                if isinstance(node.operator, cst.Subtract):
                    return left - right
                if isinstance(node.operator, cst.Multiply):
                    return left * right
                if isinstance(node.operator, cst.Divide):
                    return left / right
                if isinstance(node.operator, cst.Power):
                    return float(left**right)
            except (ZeroDivisionError, OverflowError, ValueError):
                return None
            return None
        if isinstance(node, cst.Call):
            name = dotted_name(node.func) or ""
            if name.rsplit(".", 1)[-1] == "sqrt" and len(node.args) == 1:
                inner = self.numeric(node.args[0].value, frame)
                return inner**0.5 if inner is not None and inner >= 0 else None
            qualified = self.imports.resolve(node.func) or name
            if init_function(qualified) == "calculate_gain" or name.endswith("calculate_gain"):
                gain, problem = initcalls.calculate_gain_value(
                    node, lambda n: self.numeric(n, frame)
                )
                return gain
        return None

    def init_call(self, name: str, node: cst.Call, args: list[Value], frame: Frame) -> Value:
        canonical = initcalls.canonical_init_name(name)
        if name != canonical:
            rename = None
            if isinstance(node.func, cst.Attribute):
                rename = (node.func.attr, canonical)
            elif isinstance(node.func, cst.Name) and node.func.value == name:
                rename = None  # imported under its own name: renaming needs the import too
            self.report(
                node,
                "INI005",
                f"init.{name} is deprecated (FutureWarning); use init.{canonical}",
                rename,
            )
        if canonical == "calculate_gain":
            _gain, problem = initcalls.calculate_gain_value(node, lambda n: self.numeric(n, frame))
            if problem:
                self.report(node, "INI006", problem)
            return ConstVal(_gain) if _gain is not None else UNKNOWN
        params = initcalls.SIGNATURES.get(canonical)
        if params is None:
            return UNKNOWN
        bound = initcalls.bind(node.args, params)
        for where, message in initcalls.invalid_argument_messages(canonical, bound):
            self.report(where, "INI006", message)
        text = ""
        scheme = initcalls.scheme_for(canonical, bound, lambda n: self.numeric(n, frame), text)
        target = args[0] if args else UNKNOWN
        self.apply_init(target, scheme, canonical in initcalls.FAN_BASED, node, frame)
        return target

    def foreign_init_call(
        self, name: str, node: cst.Call, args: list[Value], frame: Frame
    ) -> Value:
        """An init helper from another library (timm's trunc_normal_, lecun_normal_...)."""
        canonical = name.rstrip("_") + "_"
        params = initcalls.SIGNATURES.get(canonical)
        if params is not None and canonical in (
            "normal_",
            "trunc_normal_",
            "uniform_",
            "zeros_",
            "ones_",
            "constant_",
        ):
            bound = initcalls.bind(node.args, params)
            scheme = initcalls.scheme_for(canonical, bound, lambda n: self.numeric(n, frame), "")
        else:
            scheme = InitScheme("other", text="")
        self.apply_init(args[0], scheme, False, node, frame)
        return args[0]

    def init_method(
        self, owner: ParamRef | ProbeParam, name: str, node: cst.Call, frame: Frame
    ) -> Value:
        """``w.data.normal_(0, 0.02)`` and friends."""
        params = initcalls.TENSOR_INIT_METHODS.get(name)
        if params is None:
            if name in ("copy_", "set_", "mul_", "div_", "add_", "clamp_"):
                self.apply_init(owner, UNKNOWN_INIT, False, node, frame)
            return UNKNOWN
        bound = initcalls.bind(node.args, params, skip=0)
        canonical = {"fill_": "constant_", "zero_": "zeros_"}.get(name, name)
        if "from" in bound or "to" in bound:
            bound = {"a": bound.get("from"), "b": bound.get("to")}  # type: ignore[dict-item]
            bound = {k: v for k, v in bound.items() if v is not None}
        scheme = initcalls.scheme_for(canonical, bound, lambda n: self.numeric(n, frame), "")
        self.apply_init(owner, scheme, False, node, frame)
        return owner

    def apply_init(
        self, target: Value, scheme: InitScheme, fan_based: bool, node: cst.Call, frame: Frame
    ) -> None:
        scheme = _with_line(scheme, node)
        if isinstance(target, ParamRef):
            if target.param == "bias":
                if fan_based:
                    self._report_one_d(node, f"{target.instance.name or target.instance.kind}.bias")
                return
            if frame.probe is None:
                origin = self._call_origins.get(id(node))
                if origin is None:
                    origin = CallOrigin(node, frame.statement)
                    self._call_origins[id(node)] = origin
                if target.instance not in origin.touched:
                    origin.touched.append(target.instance)
                scheme = replace(scheme, origin=origin)
            self.apply_scheme(target.instance, scheme, frame)
        elif isinstance(target, ProbeParam) and frame.probe is not None:
            if target.ndim is not None and target.ndim < 2:
                if fan_based and frame.cond_depth == 0:
                    frame.probe.bias_fan_calls.append(node)
                return
            if target.param == "weight":
                frame.probe.outcome = Outcome(frozenset({scheme}), False)
        elif isinstance(target, GroupVal):
            for item in target.items:
                self.apply_init(item, scheme, fan_based, node, frame)
        elif isinstance(target, SubAttr) and target.path.endswith(".weight"):
            path = target.path[: -len(".weight")]
            outcome = Outcome(frozenset({scheme}), False)
            target.node.events.append(
                ("path", (path, outcome.merge(UNTOUCHED) if frame.cond_depth else outcome))
            )
        elif fan_based and _ends_with_bias(node):
            self._report_one_d(node, "a bias")

    def _report_one_d(self, node: cst.Call, what: str) -> None:
        self.report(
            node,
            "INI004",
            f"{_call_name(node)} on {what}, a 1-D tensor: fan in/out need ≥ 2 dimensions, so this "
            "raises ValueError at run time; use init.zeros_ or init.constant_",
        )

    def report(
        self,
        node: cst.CSTNode,
        code: str,
        message: str,
        rename: tuple[cst.CSTNode, str] | None = None,
    ) -> None:
        key = (id(node), code)
        if key not in self._reported:
            self._reported.add(key)
            self.findings.append(LocalFinding(node, code, message, rename))

    # ------------------------------------------------------------------ init programs
    def register_apply(
        self, scope: ModulesIter, function: Value, node: cst.Call, frame: Frame
    ) -> None:
        """``x.apply(fn)``: fn's first parameter is each module (named_apply passes ``module=``)."""
        partial_kwargs: dict[str, Value] = {}
        while isinstance(function, PartialVal):
            partial_kwargs.update(function.kwargs)
            function = function.func
        if not isinstance(function, FuncRef):
            self.opaque_call(
                node,
                [SELF if scope.node is frame.owner and scope.instances is None else UNKNOWN],
                {},
                frame,
            )
            if scope.instances:
                self.mark_unknown(scope.instances)
            return
        info = function.info
        params = [
            p.name.value for p in [*info.node.params.posonly_params, *info.node.params.params]
        ]
        if function.bound_self and params:
            params = params[1:]
        if not params:
            return
        module_param = "module" if "module" in params else params[0]
        name_param = "name" if "name" in params else None
        env = {k: v for k, v in partial_kwargs.items()}
        for param in [
            *info.node.params.posonly_params,
            *info.node.params.params,
            *info.node.params.kwonly_params,
        ]:
            pname = param.name.value
            if pname not in (module_param, name_param) and pname not in env:
                if param.default is not None:
                    env[pname] = self.eval(
                        param.default, frame.child(env={}, attrs=None, self_info=None)
                    )
        program_frame = frame.child(env=env, stack=(*frame.stack, info.key), depth=frame.depth)
        if not function.bound_self:
            program_frame.attrs = None
            program_frame.self_info = None
        program = Program(
            _block(info.node.body),
            (name_param, module_param),
            program_frame,
            frame.cond_depth > 0,
            node,
        )
        receiver = (
            node.func.value
            if isinstance(node.func, cst.Attribute)
            else (node.args[1].value if len(node.args) > 1 else None)
        )
        handle = _handle_of(receiver) if receiver is not None else None
        program.origin = ProgramOrigin(frame.statement, handle, scope.node)
        self.register_program(scope, program, frame)

    def register_program(
        self, scope: ModulesIter | ParamsIter, program: Program, frame: Frame
    ) -> None:
        if isinstance(scope, ModulesIter) and scope.instances is not None:
            targets = list(scope.instances)
        else:
            targets = self.owned_instances(scope.node)
            scope.node.add_program(program)
        for instance in targets:
            outcome = self.simulate(program, instance.kind, instance.bases, instance)
            self.set_inits(instance, outcome.apply(instance.inits))
        self._check_one_d(program)

    def simulate(
        self, program: Program, kind: str, bases: tuple[str, ...], instance: Instance | None = None
    ) -> Outcome:
        if program.unknown:
            return Outcome(frozenset({UNKNOWN_INIT}), True)
        state = ProbeState()
        frame = program.frame.child(
            env=dict(program.frame.env),
            probe=state,
            cond_depth=0,
            depth=program.frame.depth,
        )
        name_target, module_target = program.targets
        if program.params:
            if module_target:
                frame.env[module_target] = ProbeParam("weight", 2)
            if name_target:
                frame.env[name_target] = ConstVal("weight")
        else:
            if module_target:
                frame.env[module_target] = Probe(kind, bases, instance)
            if name_target:
                frame.env[name_target] = UNKNOWN
        self.exec_block(program.body, frame)
        outcome = state.outcome
        if program.origin is not None and outcome.schemes:
            outcome = Outcome(
                frozenset(
                    s if s.kind == "unknown" else replace(s, origin=program.origin)
                    for s in outcome.schemes
                ),
                outcome.keeps_prior,
            )
        return outcome.merge(UNTOUCHED) if program.conditional else outcome

    def _check_one_d(self, program: Program) -> None:
        """INI004 inside a program: a fan-based init reaching a norm layer's weight or a bias."""
        if program.unknown:
            return
        probes: list[tuple[str, tuple[str, ...]]] = [
            (k, (k, "Module")) for k in sorted(NORM_LAYERS)
        ]
        for kind, bases in probes:
            state = ProbeState()
            frame = program.frame.child(
                env=dict(program.frame.env), probe=state, cond_depth=0, depth=program.frame.depth
            )
            name_target, module_target = program.targets
            if module_target:
                frame.env[module_target] = (
                    ProbeParam("bias", 1) if program.params else Probe(kind, bases)
                )
            if name_target:
                frame.env[name_target] = ConstVal("bias") if program.params else UNKNOWN
            self._journals.append({})
            self.exec_block(program.body, frame)
            for inst, old in self._journals.pop().items():
                inst.inits = old
            for call in state.bias_fan_calls:
                what = (
                    "a parameter with fewer than 2 dimensions (a bias)"
                    if program.params
                    else f"{kind}.weight"
                )
                self._report_one_d(call, what)
            if program.params:
                break

    def _simulate_reset(self, reset: FunctionInfo, instance: Instance) -> InitScheme:
        """A layer subclass overriding reset_parameters: run it with self as the probe."""
        state = ProbeState()
        frame = Frame(
            env={"self": Probe(instance.kind, instance.bases)}, owner=instance.owner, probe=state
        )
        params = [*reset.node.params.posonly_params, *reset.node.params.params]
        if params:
            frame.env[params[0].name.value] = Probe(instance.kind, instance.bases)
        self.exec_block(_block(reset.node.body), frame)
        schemes = state.outcome.apply(frozenset({UNKNOWN_INIT}))
        return next(iter(schemes)) if len(schemes) == 1 else UNKNOWN_INIT

    # ------------------------------------------------------------------ conditions
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

    # ------------------------------------------------------------------ helpers
    def _normalise(self) -> None:
        pass


# ---------------------------------------------------------------------- module helpers
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
    try:
        return float(node.evaluated_value)
    except (ValueError, OverflowError):
        return 0.0


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


def _default_scheme(instance: Instance) -> InitScheme:
    return InitScheme("default")


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


def _with_line(scheme: InitScheme, node: cst.Call) -> InitScheme:
    # Lines are attached later: positions are computed only for files that need them.
    return replace(scheme, site=node)
