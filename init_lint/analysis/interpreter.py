"""The interpreter's hub: the file's state and the execution of statements.

One :class:`Interpreter` per file runs each class's ``__init__`` (inlining helper methods and
module-level helper functions), then its ``forward``, then module-level code and functions that
nothing else calls (``resnet18()``, a training script's ``main``). Its collaborators evaluate
expressions (:mod:`.expressions`), calls (:mod:`.calls`), torch modules and data flow
(:mod:`.modules`), init calls and programs (:mod:`.inits`) and conditions (:mod:`.conditions`);
each sees the others only through the :class:`~.host.Host` protocol this class implements.
See the package docstring for what the values, contexts and programs mean.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import libcst as cst

from ..cstparse import parse_module
from ..knowledge import LAYER_BASES, WEIGHT_LAYERS, activation_from_module
from ..module_identity import Renamed
from ..options import Options
from .binder import bind_values, parameter_names
from .calls import Calls
from .common import (
    IDENTIFIER,
    STRINGS_AND_COMMENTS,
    block,
    branches_of,
    child_nodes,
    complete,
    compound_extras,
    instances_in,
    is_self,
    items_of,
    known_size,
    looks_like_init,
    merge_maps,
    union,
)
from .conditions import Conditions
from .configinit import CONFIG_NAME, apply_config, config_extended
from .contexts import (
    DEFAULTS,
    MODULE_DATA,
    NOT_RUN,
    Data,
    Signature,
    describe,
    digest,
    signature_of,
    thaw,
    unknowns,
    without_numbers,
)
from .expressions import Expressions, code_of
from .fromast import Spans
from .imports import ImportMap, dotted_name, torch_nn_member
from .inits import Inits
from .modules import Modules
from .portable import FunctionSource, StarNames

if TYPE_CHECKING:
    from .portable import Request
from .records import record_fields, settings_class
from .state import ClassInfo, Frame, FunctionInfo, LocalFinding, Program, Scope
from .userlib import ProjectLibrary, project_library
from .values import (
    ACTIVATED,
    MODULE_INPUT,
    NO_SOURCE,
    NORM,
    OTHER_MODULE,
    PASS,
    UNKNOWN,
    UNKNOWN_INIT,
    ActVal,
    AppliedInit,
    BuildsModules,
    ClassInst,
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
    RecordVal,
    SeqVal,
    Src,
    TensorVal,
    Value,
)

Journal = dict[Instance, frozenset[AppliedInit]]

#: Method names that build or initialise rather than use (not run as uses: see _other_methods).
_NOT_USES = ("init", "weight", "reset", "build", "make", "create", "load", "fuse", "register")

#: Distinct argument signatures a class is run with before sizes are no longer told apart.
MAX_CONTEXTS_PER_CLASS = 8
#: Contexts a class is run in at most, the later ones told apart by their choices (a norm layer
#: or none, an activation) only: a building block of a big package (torchvision's
#: Conv2dNormActivation) is built with dozens of such choices, and a context dropped here is a
#: caller whose finding is lost.
MAX_CONTEXTS_TOTAL = 48
#: How deep a class that builds itself (timm's DlaTree(levels - 1, ...)) is run in its own
#: contexts; deeper, the innermost stands for its defaults.
MAX_SELF_NESTING = 4


def _is_name_assignment(statement: cst.BaseSmallStatement) -> bool:
    """``NAME = value``."""
    return (
        isinstance(statement, cst.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0].target, cst.Name)
    )


@functools.lru_cache(maxsize=128)
def _portable_tree(text: str) -> cst.Module:
    """Another file's portable functions, parsed once per process: every file that calls
    them is given the same text (timm's create_conv2d chain: 495 loads, 4 texts). The tree
    is only read, and a file's facts never hold its nodes (see Modules.construct)."""
    return parse_module(text)


def _is_constant_definition(
    value: cst.BaseExpression,
    records: frozenset[str] = frozenset(),
    imports: ImportMap | None = None,
) -> bool:
    """What a module-level constant may be, evaluated before any class runs: a name, a dotted
    name, a literal, a tuple, list or dict of those (an activation registry: ``ACTS = {"relu":
    nn.ReLU, "lrelu": partial(nn.LeakyReLU, 0.2)}``, ``dict(relu=nn.ReLU)``), or a
    ``partial(...)`` of those (timm's ``_SE_LAYER = partial(SqueezeExcite,
    gate_layer='hard_sigmoid')``), or a config record of this file (``records``: their class
    names) or a torch activation module (``RELU = nn.ReLU()``, resolved with ``imports``)
    built from those. Never another call: it could build a model."""

    def constant(node: cst.BaseExpression) -> bool:
        if isinstance(node, (cst.Name, cst.Attribute, cst.SimpleString, cst.Integer, cst.Float)):
            return True
        if isinstance(node, (cst.Tuple, cst.List)):
            return all(constant(element.value) for element in node.elements)
        if isinstance(node, cst.Dict):
            return all(
                isinstance(element, cst.DictElement)
                and constant(element.key)
                and constant(element.value)
                for element in node.elements
            )
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            return constant(node.expression)
        if isinstance(node, cst.Call) and (
            dotted_name(node.func) in ("partial", "functools.partial", "dict")
            or (isinstance(node.func, cst.Name) and node.func.value in records)
            or _is_activation_class(node.func, imports)
        ):
            return all(not arg.star and constant(arg.value) for arg in node.args)
        return False

    return constant(value)


def _is_activation_class(func: cst.BaseExpression, imports: ImportMap | None) -> bool:
    """``nn.ReLU`` / ``torch.nn.LeakyReLU``: building one builds no weights."""
    member = torch_nn_member(imports.resolve(func) or "") if imports is not None else None
    return member is not None and activation_from_module(member) is not None


def _names_an_init(name: str) -> bool:
    """An init function or tensor method (``normal_``), or a helper named for it."""
    return looks_like_init(name) or "init" in name


def _initialises_argument(function: cst.FunctionDef, argument: str) -> bool:
    """Whether a function reads its first argument as a module (``m.weight``, ``m.modules()``,
    ``isinstance(m, ...)``) and calls an init: then it is worth summarising for other files.
    Cheap on purpose (one walk, no scopes); a miss only loses a cross-file fact."""
    reads_argument = writes = False
    pending: list[cst.CSTNode] = [function.body]
    while pending and not (reads_argument and writes):
        node = pending.pop()
        # type() is, not isinstance(): LibCST's classes are ABCs (see common.is_node).
        if type(node) is cst.Attribute:
            if type(node.value) is cst.Name and node.value.value == argument:
                reads_argument = True
            writes = writes or _names_an_init(node.attr.value)
        elif type(node) is cst.Call and type(node.func) is cst.Name:
            called = node.func.value
            if called == "isinstance" and node.args and type(node.args[0].value) is cst.Name:
                reads_argument = reads_argument or node.args[0].value.value == argument
            writes = writes or _names_an_init(called)
        pending.extend(child_nodes(node))
    return reads_argument and writes


def _fully_known(value: Value) -> bool:
    """Whether every module inside a container is known: torch layers, activations, norms and
    the like, in collections whose every item is known (no class of ours, nothing opaque)."""
    pending = [value]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (LayerVal, ActVal)) or current in (PASS, NORM, OTHER_MODULE):
            continue
        if isinstance(current, SeqVal) and current.complete:
            pending.extend(current.members)
        elif isinstance(current, (GroupVal, ListBuilder)) and current.complete:
            pending.extend(current.items)
        else:
            return False
    return True


def _unname(previous: Value, expression: str) -> None:
    """``self.model = nn.Sequential(self.model, nn.Sigmoid())``: the layers the attribute held
    are no longer where their names say (``self.model[0]`` is the old Sequential now), or no
    longer in the model: a fix must not name them so."""
    prefix = len(expression)
    for instance in instances_in(previous):
        name = instance.name or ""
        if name.startswith(expression) and name[prefix : prefix + 1] in ("", ".", "["):
            instance.name = f"{expression}[...]"
            instance.anchor = None


def _opaque(signature: Signature) -> bool:
    """Arguments that carry a module: the class is run with it, for that call only (its layers'
    data flow through the module is the caller's)."""
    positional, keywords = signature

    def opaque(data: Data) -> bool:
        if data == MODULE_DATA:
            return True
        return data[0] == "tuple" and any(opaque(d) for d in data[1])

    return any(opaque(d) for d in positional) or any(opaque(d) for _, d in keywords)


class Interpreter:
    def __init__(
        self,
        module: cst.Module,
        module_name: str,
        is_package: bool = False,
        source: str | None = None,
        library: ProjectLibrary | None = None,
        spans: Spans | None = None,
    ) -> None:
        self.module = module
        #: Where each node stands in ``source`` (a tree built from the AST), if known.
        self.spans = spans
        self.library = library or project_library(Options())
        self.source = source if source is not None else module.code
        self.module_name = module_name
        #: The file's global names (its imports, classes, functions, constants); ``scope`` is
        #: another file's while one of its portable functions runs (see _load_portable).
        self.home = Scope(ImportMap(module_name, is_package))
        self.scope = self.home
        #: Other files' portable functions by qualified name: called like this file's own.
        self.portable: dict[str, Value] = {}
        self.entry: cst.Call | None = None
        self.calls_out: set[str] = set()  # other files' functions called here (not portable yet)
        self.builders_run: set[str] = set()
        self.nodes: list[Node] = []
        self._ordinals: dict[int, int] = {}
        self._top_assignments: list[cst.Assign] = []
        self.contains: list[tuple[Node | str, Node | str]] = []
        self.instances: list[Instance] = []
        self.findings: list[LocalFinding] = []
        self.called_functions: set[str] = set()
        self.called_methods: set[int] = set()
        self.requests: list[tuple[str, Signature]] = []  # contexts of other files' classes
        self.answers: dict[str, str] = {}  # requested context key -> the node that runs it
        self.function_programs: dict[str, dict[str, str]] = {}  # see _summarise_init_functions
        self._summarising = False  # a summary run builds no contexts: no real code built them
        self._naming_owner: Node | None = None  # the node whose code names layers (assign)
        #: (id of the owner node, 'self.x') of containers that held something not known.
        self.opaque_containers: set[tuple[int, str]] = set()
        self._journals: list[Journal] = []
        self._contexts: dict[tuple[object, ...], Node] = {}
        self._contexts_of: dict[str, list[Signature]] = {}
        self._one_off: list[tuple[object, ...]] = []
        self._evaluating: Counter[str] = Counter()  # classes being run, and how deep
        self.expressions = Expressions(self)
        self.conditions = Conditions(self)
        self.modules = Modules(self)
        self.inits = Inits(self)
        self.calls = Calls(self)
        self.module_node = self.new_node(f"{module_name}:<module>", "module level")

    # The current scope's names (module-level constants: see _is_constant_definition).
    @property
    def imports(self) -> ImportMap:
        return self.scope.imports

    @property
    def classes(self) -> dict[str, ClassInfo]:
        return self.scope.classes

    @property
    def class_aliases(self) -> dict[str, str]:
        return self.scope.class_aliases

    @property
    def constants(self) -> dict[str, Value]:
        return self.scope.constants

    @property
    def functions(self) -> dict[str, FunctionInfo]:
        return self.scope.functions

    # ------------------------------------------------------------------ set-up
    def new_node(self, key: str, label: str, is_class: bool = False) -> Node:
        node = Node(key, label, is_class)
        self.nodes.append(node)
        return node

    def _set_field(self, target: cst.Attribute, value: Value, frame: Frame) -> None:
        """``cfg.act = "tanh"`` on a config record the code holds (or on each of several it
        may be); certain only where the assignment certainly runs."""
        held = self.expressions.eval(target.value, frame)
        several = held.items if isinstance(held, GroupVal) and not held.exact else ()
        for record in several if several else (held,):
            if isinstance(record, RecordVal):
                old = record.fields.get(target.attr.value, UNKNOWN)
                record.fields[target.attr.value] = (
                    value if frame.cond_depth == 0 else union((old, value))
                )

    def code_of(self, node: cst.CSTNode) -> str:
        """A node's source text: the file's own, else as LibCST renders it."""
        text = self.spans.source(node) if self.spans is not None else None
        return text if text is not None else code_of(node)

    def ordinal(self, node: cst.CSTNode) -> int:
        """A number for a syntax node, the same in every run over the same source (unlike its
        ``id``, which the facts must not carry: they are cached and compared)."""
        return self._ordinals.setdefault(id(node), len(self._ordinals))

    def run(self, requests: Sequence[Request] = ()) -> None:
        """Analyse the file; ``requests`` are contexts other files build its classes in, and
        other files' portable functions that this file calls."""
        for given in requests:  # first: the other files' sources are read with them
            if isinstance(given, Renamed):
                self.home.imports.renamed = dict(given.pairs)
        for source in requests:
            if isinstance(source, FunctionSource):
                self._load_portable(source)
            elif isinstance(source, StarNames):
                self.home.imports.star_names[source.module] = frozenset(source.names)
        self._collect(self.module.body, top=True)
        for info in self.classes.values():
            info.record_fields = record_fields(info.node, self.imports, self.source)
        records = frozenset(n for n, info in self.classes.items() if info.record_fields is not None)
        for info in self.classes.values():
            info.settings = info.record_fields is None and settings_class(info.node, records)
        self._module_constants()
        for info in self.classes.values():
            self._classify_class(info, frozenset())
        for info in self.classes.values():
            if info.layer_kind is None and info.record_fields is None and not info.settings:
                self._evaluating[info.key] += 1
                self._evaluate_class(info, info.graph_node)
                self._evaluating[info.key] -= 1
        module_frame = Frame(env={}, owner=self.module_node)
        self.exec_block(
            [s for s in self.module.body if not isinstance(s, (cst.FunctionDef, cst.ClassDef))],
            module_frame,
        )
        for function in self._root_functions():
            node = self.new_node(f"{self.module_name}:{function.name}()", f"{function.name}()")
            self.calls.call_function(function, [], {}, Frame(env={}, owner=node))
        # The most specific first: past MAX_CONTEXTS_TOTAL a class's contexts are not run, and
        # one with its choices unknown (activation_layer=?) can tell less than one without.
        answered = [r for r in requests if isinstance(r, tuple)]
        for key, signature in sorted(answered, key=lambda r: (unknowns(r[1]), repr(r))):
            self._answer(key, signature)
        self._summarise_init_functions()

    def _summarise_init_functions(self) -> None:
        """What each top-level init function does, for other files that use it: run on every
        module by ``x.apply(f)``, and given a module as ``f(x)``."""
        self._summarising = True
        try:
            self._summarise_functions()
        finally:
            self._summarising = False

    def _summarise_functions(self) -> None:
        for name, info in self.functions.items():
            names = parameter_names(info.node.params)
            if not names or not _initialises_argument(info.node, names[0]):
                continue
            defaults = bind_values(
                info.node.params,
                [],
                {},
                skip_first=False,
                default=lambda param: self.calls.default_value(param, Frame({}, self.module_node)),
            )
            key = f"{self.module_name}:{name}"
            applied = self.new_node(f"{key}<apply>", f"{name} applied to every module")
            body = block(info.node.body)
            applied.add_program(
                Program(body, (None, names[0]), Frame(dict(defaults), applied), False)
            )
            given = self.new_node(f"{key}<call>", f"{name}(module)")
            env = {**defaults, names[0]: ClassInst(f"{key}<argument>", given)}
            self.run_undone(body, Frame(env, given))
            qualified = f"{self.module_name}.{name}"
            self.function_programs[qualified] = {"apply": applied.key, "call": given.key}

    def _load_portable(self, source: FunctionSource) -> None:
        """Another file's portable functions, and the constants they read, in a scope of their
        own; its classes are that file's (built through requests, like any imported class)."""
        try:
            module = _portable_tree(source.text)
        except cst.ParserSyntaxError:
            return
        imports = ImportMap(source.module, source.is_package)
        imports.renamed = self.home.imports.renamed  # another file of the same root, as a rule
        scope = Scope(imports, foreign=True, module=source.module)
        for name in source.classes:
            scope.imports.aliases[name] = f"{source.module}.{name}"
        outer, self.scope = self.scope, scope
        try:
            frame = Frame(env={}, owner=self.module_node)
            for statement in module.body:
                if isinstance(statement, cst.FunctionDef):
                    name = statement.name.value
                    if name not in source.unusable:  # its calls stay opaque
                        scope.functions[name] = FunctionInfo(statement, name, scope=scope)
                elif isinstance(statement, cst.SimpleStatementLine):
                    try:
                        self._load_statement(statement, frame)
                    except BuildsModules:  # a value that builds a module: unknown here
                        continue
        finally:
            self.scope = outer
        for name, info in scope.functions.items():
            self.portable[f"{source.module}.{name}"] = FuncRef(info)
        for name, value in scope.constants.items():
            self.portable.setdefault(f"{source.module}.{name}", value)
        for alias, defined in source.aliases:
            if defined in self.portable:
                self.portable[alias] = self.portable[defined]

    def _load_statement(self, statement: cst.SimpleStatementLine, frame: Frame) -> None:
        for small in statement.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                self.imports.add(small)
            elif _is_name_assignment(small):
                assign = cst.ensure_type(small, cst.Assign)
                name = cst.ensure_type(assign.targets[0].target, cst.Name).value
                self.constants[name] = self.expressions.eval(assign.value, frame)

    def _answer(self, key: str, signature: Signature) -> None:
        """Run a class of this file in a context another file builds it in."""
        info = next((i for i in self.classes.values() if i.key == key), None)
        if info is None or info.layer_kind is not None:
            return
        positional = [thaw(data, self) for data in signature[0]]
        keywords = {name: thaw(data, self) for name, data in signature[1]}
        node = self.class_context(info, positional, keywords, False, signature)
        self.answers[f"{key}[{digest(signature)}]"] = node.key

    def _collect(self, body: Sequence[cst.CSTNode], top: bool) -> None:
        """Imports anywhere, and top-level classes and functions."""
        pending = [(body, top)]
        while pending:
            statements, at_top = pending.pop()
            for statement in statements:
                if isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        if isinstance(small, (cst.Import, cst.ImportFrom)):
                            self.imports.add(small)
                        elif at_top and _is_name_assignment(small):
                            self._top_assignments.append(small)  # type: ignore[arg-type]
                elif isinstance(statement, cst.ClassDef):
                    if at_top:
                        self._add_class(statement)
                    pending.append((block(statement.body), False))
                elif isinstance(statement, cst.FunctionDef):
                    if at_top:
                        name = statement.name.value
                        self.functions[name] = FunctionInfo(statement, name)
                    pending.append((block(statement.body), False))
                elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
                    pending.append((block(statement.body), at_top))
                    pending.extend((extra, at_top) for extra in compound_extras(statement))

    def _module_constants(self) -> None:
        """``Alias = Class`` at module level (timm's ``SqueezeExcite = SEModule``) is the class,
        in this file and for the files that import it; other names assigned once at module level
        to a constant definition hold its value in every function of the file."""
        counts = Counter(
            cst.ensure_type(a.targets[0].target, cst.Name).value for a in self._top_assignments
        )
        frame = Frame(env={}, owner=self.module_node)
        records = frozenset(
            name
            for name, info in self.classes.items()
            if info.record_fields is not None or info.settings
        )
        for assign in self._top_assignments:
            name = cst.ensure_type(assign.targets[0].target, cst.Name).value
            if counts[name] > 1 or name in self.classes or name in self.functions:
                continue  # assigned in several places (a branch?): not a constant
            if isinstance(assign.value, cst.Name):
                target = self.class_aliases.get(assign.value.value, assign.value.value)
                if target in self.classes:
                    self.class_aliases[name] = target
                    continue
            if _is_constant_definition(assign.value, records, self.imports):
                self.constants[name] = self.expressions.eval(assign.value, frame)

    def _add_class(self, node: cst.ClassDef) -> None:
        name = node.name.value
        key = f"{self.module_name}.{name}"
        graph_node = self.new_node(key, f"class {name}", is_class=True)
        graph_node.class_key = key
        info = ClassInfo(node, name, key, tuple(a.value for a in node.bases), graph_node)
        for statement in block(node.body):
            if isinstance(statement, cst.FunctionDef):
                method = statement.name.value
                info.methods[method] = FunctionInfo(statement, method, info)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if (
                        isinstance(small, cst.Assign)
                        and len(small.targets) == 1
                        and isinstance(small.targets[0].target, cst.Name)
                        and _is_constant_definition(small.value, imports=self.imports)
                    ):
                        info.class_values[small.targets[0].target.value] = small.value
        self.classes[name] = info

    def _classify_class(self, info: ClassInfo, seen: frozenset[str]) -> None:
        """Link local base classes; a subclass of a torch layer is a layer of that kind."""
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
        counts = Counter(IDENTIFIER.findall(STRINGS_AND_COMMENTS.sub(" ", self.source)))
        return [
            info
            for name, info in self.functions.items()
            if name not in self.called_functions and counts[name] <= 1
        ]

    def _evaluate_class(
        self,
        info: ClassInfo,
        node: Node,
        positional: Sequence[Value] = (),
        keywords: dict[str, Value] | None = None,
        open_ended: bool = False,
    ) -> None:
        """Run the class's ``__init__`` with these arguments, then ``forward`` on inputs."""
        attrs: dict[str, Value] = {}
        frame = Frame(env={}, owner=node, self_info=info, attrs=attrs)
        init = info.lookup("__init__")
        if init is not None:
            self.calls.call_function(
                init,
                list(positional),
                keywords or {},
                frame,
                bound_self=True,
                open_ended=open_ended,
            )
        entry_points = self._entry_points(info)
        for method in entry_points:  # what a framework calls once the model is built
            self.calls.call_function(method, [], {}, frame, bound_self=True)
        if not entry_points and node.init_config is not None:
            apply_config(self, node, *node.init_config)  # BaseModule.init_weights()
        forward = info.lookup("forward")
        node.input = Instance(MODULE_INPUT, (), _NO_SITE, node)
        entry = frozenset({Src(node.input)})
        if forward is not None:
            forward_frame = Frame(env={}, owner=node, self_info=info, attrs=attrs, in_forward=True)
            given: list[Value] = [TensorVal(entry)] if _takes_input(forward) else []
            output = self.calls.call_function(
                forward, given, {}, forward_frame, bound_self=True, inputs=True
            )
            node.exits = output.sources if isinstance(output, TensorVal) else frozenset()
            if output is not ACTIVATED and not any(map(_is_submodule, attrs.values())):
                # A module with no submodules is itself its input's consumer, unless it only
                # wraps an activation (``return F.relu(x)``): ``x * F.relu(x)`` is no rectifier.
                node.input.uses.clear()
                node.input.feeds.clear()
        elif self.is_sequential(info):  # nn.Sequential's forward: its modules in order
            modules = tuple(v for v in attrs.values() if not isinstance(v, ConstVal))
            node.exits = self.modules.chain(SeqVal(modules), entry, None) - entry
        # policy(x), encode(x)...: code that training calls applies activations too. Only where
        # tensors go counts: what such a method does to inits and attributes is undone.
        events = len(node.events)
        built = len(self.instances)
        self._journals.append({})
        for method in self._other_methods(info):
            frame = Frame(
                env={},
                owner=node,
                self_info=info,
                attrs=dict(attrs),
                in_forward=True,
                uses_only=True,
            )
            self.calls.call_function(method, [], {}, frame, bound_self=True, inputs=True)
        self._undo(self._journals.pop(), built)
        del node.events[events:]

    def is_sequential(self, info: ClassInfo) -> bool:
        """A subclass of ``nn.Sequential`` (directly or through classes of this file)."""
        return any(
            torch_nn_member(self.imports.resolve(base) or "") == "Sequential"
            for cls in info.mro()
            for base in cls.base_exprs
        )

    def _other_methods(self, info: ClassInfo) -> list[FunctionInfo]:
        """Methods besides ``__init__``/``forward`` that nothing ran: uses of the layers."""
        methods = []
        for cls in info.mro():
            for name, method in cls.methods.items():
                private = name.startswith("__") or any(w in name.lower() for w in _NOT_USES)
                if private or id(method) in self.called_methods or info.lookup(name) is not method:
                    continue
                self.called_methods.add(id(method))
                methods.append(method)
        return methods

    def _entry_points(self, info: ClassInfo) -> list[FunctionInfo]:
        """Methods a framework calls after construction (mmengine's ``init_weights``), for a
        class with such a base, when the class (or a base in this file) defines them."""
        methods = []
        for cls in info.mro():
            for base in cls.base_exprs:
                qualified = self.imports.resolve(base) or ""
                entry = self.library.entry_point(qualified)
                method = info.lookup(entry.method) if entry is not None else None
                if method is not None and method not in methods:
                    methods.append(method)
        return methods

    def class_context(
        self,
        info: ClassInfo,
        positional: list[Value],
        keywords: dict[str, Value],
        open_ended: bool,
        signature: Signature | None = None,
    ) -> Node:
        """The context of ``info`` built with these arguments: its defaults' node when they are
        the defaults, else a node of its own, run once per distinct signature (``signature``:
        the one another file sent, when the arguments were thawed from it)."""
        signature = signature if signature is not None else signature_of(positional, keywords)
        if (signature == DEFAULTS and not open_ended) or self._summarising:
            return info.graph_node
        shared = not _opaque(signature)
        taken = self._contexts_of.setdefault(info.key, [])
        if shared and signature not in taken and len(taken) >= MAX_CONTEXTS_PER_CLASS:
            signature = without_numbers(signature)  # many sizes: one context per other choice
        key = (info.key, signature, open_ended) if shared else (info.key, len(self._one_off))
        if key in self._contexts:
            return self._contexts[key]
        if self._evaluating[info.key] >= MAX_SELF_NESTING:
            return info.graph_node  # a class that builds itself: the innermost is its defaults
        if len(taken) >= MAX_CONTEXTS_TOTAL:
            return self._unrun_context(info)
        taken.append(signature)
        if not shared:
            self._one_off.append(key)
        name = f"{info.key}[{digest(signature)}{'' if shared else f'#{len(self._one_off)}'}]"
        node = self.new_node(name, f"{info.name}({describe(signature)})", is_class=True)
        node.class_key = info.key
        self._contexts[key] = node
        self._evaluating[info.key] += 1
        try:
            self._evaluate_class(info, node, positional, keywords, open_ended)
        finally:
            self._evaluating[info.key] -= 1
        return node

    def _unrun_context(self, info: ClassInfo) -> Node:
        """Where a class built with arguments is not run (too many contexts): a node of its own
        that owns nothing, never its defaults' node. Standing for the defaults would join the
        caller's init programs to layers and activations it never builds (ConvNeXt's
        trunc_normal_ loop and the ReLU of Conv2dNormActivation's default, though ConvNeXt
        passes activation_layer=None): a finding no real model has."""
        key = (info.key, "<not run>")
        node = self._contexts.get(key)
        if node is None:
            node = self.new_node(f"{info.key}{NOT_RUN}", f"{info.name}(...)", is_class=True)
            node.class_key = info.key
            node.opaque = True
            self._contexts[key] = node
        return node

    # ------------------------------------------------------------------ init state
    def set_inits(self, instance: Instance, inits: frozenset[AppliedInit]) -> None:
        """Record a layer's new init state ("last init wins"), undoably inside a branch."""
        if self._journals and instance not in self._journals[-1]:
            self._journals[-1][instance] = instance.inits
        instance.inits = inits

    def mark_unknown(self, instances: Iterable[Instance]) -> None:
        for instance in instances:
            self.set_inits(instance, instance.inits | {UNKNOWN_INIT})

    def owned_instances(self, node: Node) -> list[Instance]:
        return [i for i in self.instances if i.owner is node]

    def run_undone(self, body: Sequence[cst.CSTNode], frame: Frame) -> None:
        """Run ``body`` for its findings only: every init state it changes is restored."""
        built = len(self.instances)
        self._journals.append({})
        self.exec_block(body, frame)
        self._undo(self._journals.pop(), built)

    def _undo(self, journal: Journal, built: int) -> None:
        """Restore the init states ``journal`` recorded, but those of the layers built since
        ``len(self.instances)`` was ``built``: a model a method builds (``from_config``'s
        ``Head(cfg)``) keeps the inits of its own construction."""
        new = {id(instance) for instance in self.instances[built:]}
        for instance, old in journal.items():
            if id(instance) not in new:
                instance.inits = old

    # ------------------------------------------------------------------ statements
    def exec_block(self, statements: Sequence[cst.CSTNode], frame: Frame) -> None:
        outer = frame.statement
        for statement in statements:
            if frame.done:  # after a return or raise on every path here
                break
            frame.statement = statement
            self._exec_statement(statement, frame)
        frame.statement = outer

    def _exec_statement(self, statement: cst.CSTNode, frame: Frame) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._exec_small(small, frame)
        elif isinstance(statement, cst.If):
            self._exec_if(statement, frame)
        elif isinstance(statement, cst.For):
            self._exec_for(statement, frame)
        elif isinstance(statement, cst.While):
            outermost = frame.loop_statement is None
            if outermost:
                frame.loop_statement = statement
            self.exec_block(block(statement.body), frame)
            frame.done = False  # the body may not run at all
            if outermost:
                frame.loop_statement = None
        elif isinstance(statement, cst.With):
            for item in statement.items:
                value = self.expressions.eval(item.item, frame)
                if item.asname is not None:
                    self.assign(item.asname.name, value, frame)
            self.exec_block(block(statement.body), frame)
        elif isinstance(statement, cst.Try):
            self.exec_block(block(statement.body), frame)
            if statement.orelse is not None:
                self.exec_block(block(statement.orelse.body), frame)
            if statement.finalbody is not None:  # runs after a return too
                done, frame.done = frame.done, False
                self.exec_block(block(statement.finalbody.body), frame)
                frame.done = frame.done or done
        elif isinstance(statement, cst.FunctionDef):
            name = statement.name.value
            scope = self.scope if self.scope.foreign else None
            frame.env[name] = FuncRef(FunctionInfo(statement, name, closure=frame.env, scope=scope))

    def _exec_small(self, small: cst.BaseSmallStatement, frame: Frame) -> None:
        evaluate = self.expressions.eval
        # type() is, not isinstance(): LibCST's classes are ABCs (see common.is_node).
        if type(small) is cst.Assign:
            value = evaluate(small.value, frame)
            for target in small.targets:
                self.assign(target.target, value, frame)
        elif type(small) is cst.AnnAssign:
            if small.value is not None:
                self.assign(small.target, evaluate(small.value, frame), frame)
        elif type(small) is cst.AugAssign:
            self._exec_augassign(small, frame)
        elif type(small) is cst.Expr:
            evaluate(small.value, frame)
        elif isinstance(small, cst.Return):
            frame.returns.append(evaluate(small.value, frame) if small.value else UNKNOWN)
            frame.done = True
        elif isinstance(small, cst.Raise):
            frame.done = True

    def _exec_augassign(self, small: cst.AugAssign, frame: Frame) -> None:
        value = self.expressions.eval(small.value, frame)
        target = small.target
        config = frame.owner.init_config if frame.attrs is not None else None
        if (
            config is not None
            and isinstance(target, cst.Attribute)
            and is_self(target.value)
            and target.attr.value == CONFIG_NAME
        ):
            if isinstance(small.operator, cst.AddAssign):
                frame.owner.init_config = (config_extended(config[0], value), config[1])
            return
        if isinstance(small.operator, (cst.MultiplyAssign, cst.DivideAssign)):
            # ``m.weight.data *= 0.1`` after an init (ESRGAN's residual scaling) is mul_(0.1)
            factor = self.expressions.numeric(small.value, frame)
            if factor:
                scaled = self.expressions.eval(target, frame)
                if isinstance(small.operator, cst.DivideAssign):
                    factor = 1.0 / factor
                self.inits.scale_init(scaled, factor, frame)
        if isinstance(target, cst.Name):
            current = frame.env.get(target.value)
            if isinstance(current, ListBuilder) and isinstance(small.operator, cst.AddAssign):
                extended = self.modules.extend_builder(
                    current, items_of(value), frame, whole=complete(value)
                )
                frame.env[target.value] = extended
            elif isinstance(current, (TensorVal, type(None))) or current is UNKNOWN:
                frame.env[target.value] = NO_SOURCE

    def _exec_if(self, statement: cst.If, frame: Frame) -> None:
        """An if/elif/else chain: the branches that may run, from the same state, merged.

        The chain is walked as a list, not recursively: a thousand ``elif`` are fine.
        """
        alternatives: list[Sequence[cst.CSTNode]] = []
        tests, fallback = branches_of(statement)
        for test, body in tests:
            truth = self.conditions.condition(test, frame)
            if truth is False:
                continue
            alternatives.append(body)
            if truth is True:
                break
        else:
            alternatives.append(fallback)
        if len(alternatives) == 1:
            self.exec_block(alternatives[0], frame)
        else:
            self.exec_branches(alternatives, frame)

    def _exec_for(self, statement: cst.For, frame: Frame) -> None:
        """A loop over ``self.modules()``/``parameters()`` outside ``forward`` is an init program
        (run per layer kind, see :mod:`.inits`); any other loop runs its body abstractly."""
        iterable = self.expressions.eval(statement.iter, frame)
        body = block(statement.body)
        if (
            isinstance(iterable, (ModulesIter, ParamsIter))
            and not frame.in_forward
            and frame.probe is None
        ):
            self.inits.register_loop(iterable, statement, frame)
            return
        if known_size(iterable) == 0:  # `for m in extra_layers or []`: the body never runs
            if statement.orelse is not None:
                self.exec_block(block(statement.orelse.body), frame)
            return
        element = self.expressions.element_of(iterable)
        frame.loop_depth += 1
        outermost = frame.loop_statement is None
        if outermost:
            frame.loop_statement = statement
        repeats = 2 if frame.loop_depth <= 2 else 1  # a second pass sees chains wrap around
        for _ in range(repeats):
            self.expressions.bind_target(statement.target, element, frame)
            self.exec_block(body, frame)
            frame.done = False  # the body may not run (again)
        frame.loop_depth -= 1
        if outermost:
            frame.loop_statement = None

    def exec_branches(self, branches: Sequence[Sequence[cst.CSTNode]], frame: Frame) -> None:
        """Run alternatives from the same state and merge: a value may be either outcome."""
        start_env = dict(frame.env)
        start_attrs = dict(frame.attrs) if frame.attrs is not None else None
        start_probe = frame.probe.outcome if frame.probe else None
        envs: list[dict[str, Value]] = []
        attrs_list: list[dict[str, Value]] = []
        probes: list[Outcome] = []
        changes: list[Journal] = []
        built_before = len(self.instances)
        frame.cond_depth += 1
        outer_branches = frame.branches
        finished: list[bool] = []  # per branch: it returned or raised
        for branch in branches:
            frame.done = False
            frame.branches = (*outer_branches, id(branch))
            frame.env.clear()
            frame.env.update(start_env)
            if frame.attrs is not None and start_attrs is not None:
                frame.attrs.clear()
                frame.attrs.update(start_attrs)
            if frame.probe is not None and start_probe is not None:
                frame.probe.outcome = start_probe
            changes.append(self._run_branch(branch, frame))
            finished.append(frame.done)
            envs.append(dict(frame.env))
            if frame.attrs is not None:
                attrs_list.append(dict(frame.attrs))
            if frame.probe is not None:
                probes.append(frame.probe.outcome)
        frame.cond_depth -= 1
        frame.branches = outer_branches
        # A layer built in one branch exists in no other: only the branches that built it tell
        # its init (``if __name__ == "__main__": net = Net(); net.apply(init_fn)``).
        fresh = set(self.instances[built_before:])
        for instance in {inst for change in changes for inst in change}:
            merged = frozenset().union(
                *(
                    c[instance] if instance in c else instance.inits
                    for c in changes
                    if instance in c or instance not in fresh
                )
            )
            self.set_inits(instance, merged)
        # Variables after the chain come from the branches that go on; attributes are the
        # object's, set on every branch, whether it then returned or not.
        frame.done = all(finished)
        going_on = [env for env, done in zip(envs, finished, strict=True) if not done]
        frame.env.clear()
        frame.env.update(merge_maps(going_on or envs))
        if frame.attrs is not None and attrs_list:
            frame.attrs.clear()
            frame.attrs.update(merge_maps(attrs_list))
        if frame.probe is not None and probes:
            merged_outcome = probes[0]
            for outcome in probes[1:]:
                merged_outcome = merged_outcome.merge(outcome)
            frame.probe.outcome = merged_outcome

    def _run_branch(self, branch: Sequence[cst.CSTNode], frame: Frame) -> Journal:
        """Run one branch; return the init states it set, then undo them for the next one."""
        self._journals.append({})
        self.exec_block(branch, frame)
        journal = self._journals.pop()
        change = {instance: instance.inits for instance in journal}
        for instance, old in journal.items():
            instance.inits = old
            if self._journals:
                self._journals[-1].setdefault(instance, old)
        return change

    # ------------------------------------------------------------------ assignment
    def assign(self, target: cst.BaseExpression, value: Value, frame: Frame) -> None:
        if isinstance(target, cst.Name):
            frame.env[target.value] = value
            if not self.scope.foreign:  # another file's statement: no anchor in this file
                self.name_values(value, target.value, 5, anchor=frame.statement)
        elif (
            isinstance(target, cst.Attribute) and is_self(target.value) and frame.attrs is not None
        ):
            attribute = target.attr.value
            config = frame.owner.init_config
            if attribute == CONFIG_NAME and config is not None:
                frame.owner.init_config = (value, config[1])  # self.init_cfg = [...]
                return
            previous = frame.attrs.get(attribute)
            if previous is not None and previous is not value:
                _unname(previous, f"self.{attribute}")
            frame.attrs[attribute] = value
            self._naming_owner = frame.owner
            try:
                self.name_values(value, f"self.{attribute}", 0, attribute, frame.statement)
            finally:
                self._naming_owner = None
            if frame.statement is not None and (
                isinstance(value, SeqVal) or (isinstance(value, GroupVal) and value.registered)
            ):
                # In a loop, after the whole loop: the holder is complete only then.
                statement = frame.loop_statement or frame.statement
                self._record_container(value, f"self.{attribute}", statement, frame.owner)
        elif isinstance(target, cst.Attribute):
            self._set_field(target, value, frame)
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = value.items if isinstance(value, GroupVal) and value.exact else None
            for index, element in enumerate(target.elements):
                sub = items[index] if items is not None and index < len(items) else UNKNOWN
                self.assign(element.value, sub, frame)
        elif isinstance(target, cst.Subscript):
            base = self.expressions.eval(target.value, frame)
            if isinstance(base, ParamRef):  # w[...] = ...: an opaque write into the weight
                self.mark_unknown([base.instance])
            elif isinstance(base, DictVal) and frame.cond_depth == 0:
                # cfg['block'] = Block: the dict holds it now. Not under a condition: the dict
                # is one object, and the branch not taken must not see the write.
                self._set_item(base, target, value, frame)
            elif isinstance(base, GroupVal) and base.registered and not base.exact:
                self._add_to_module_dict(base, target, value, frame)

    def _set_item(
        self, mapping: DictVal, target: cst.Subscript, value: Value, frame: Frame
    ) -> None:
        """``d[key] = value`` on a dict the interpreter knows: under a known string key it
        replaces that entry; under an unknown key it is kept nameless (still inside the dict)."""
        key: str | None = None
        if len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
            evaluated = self.expressions.eval(target.slice[0].slice.value, frame)
            if isinstance(evaluated, ConstVal) and isinstance(evaluated.value, str):
                key = evaluated.value
        kept = tuple(item for item in mapping.items if key is None or item[0] != key)
        mapping.items = (*kept, (key, value))

    def _add_to_module_dict(
        self, holder: GroupVal, target: cst.Subscript, value: Value, frame: Frame
    ) -> None:
        """``self.layers[f"fc{i}"] = layer`` on an nn.ModuleDict: it holds the layer now (a
        lookup by an unknown key is one of its modules). A known key names it, outside a
        branch; an int key (a ModuleList's item replaced) is not followed."""
        key: Value = UNKNOWN
        if len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
            key = self.expressions.eval(target.slice[0].slice.value, frame)
        if isinstance(key, ConstVal) and not isinstance(key.value, str):
            return
        holder.items = (*holder.items, value)
        if isinstance(key, ConstVal) and frame.cond_depth == 0:
            holder.names = {**(holder.names or {}), str(key.value): value}
        label = repr(key.value) if isinstance(key, ConstVal) else "..."
        self.name_values(value, f"{self.code_of(target.value)}[{label}]", 3)  # no anchor: no fix

    def _record_container(
        self, value: SeqVal | GroupVal, expression: str, statement: cst.CSTNode, owner: Node
    ) -> None:
        """Remember the module that holds each layer, when everything in it is known: a fix
        that loops over its modules then touches nothing it does not know about."""
        if not _fully_known(value):
            self.opaque_containers.add((id(owner), expression))
            return
        for instance in instances_in(value):
            if instance.container is None:
                instance.container = (expression, statement)

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
                # A fix goes after the naming statement only in the code that built the layer:
                # code that names a module it was given (Residual(fn): self.fn = fn) runs for
                # whatever other modules it is given too.
                foreign = self._naming_owner not in (None, instance.built_in)
                instance.anchor = anchor if "..." not in name and not foreign else None
                if path is not None:
                    instance.path = path
        elif isinstance(value, SeqVal) and value.elements is not None and rank <= 5:
            self._name_sequential(value, name, rank, path, anchor)
        elif isinstance(value, (GroupVal, ListBuilder)) and rank <= 5:
            self._name_group(value, name, rank, path, anchor)

    def _name_sequential(
        self, value: SeqVal, name: str, rank: int, path: str | None, anchor: cst.CSTNode | None
    ) -> None:
        for key, element in (value.names or {}).items():  # OrderedDict names read best
            sub_path = f"{path}.{key}" if path else None
            self.name_values(element, f"{name}.{key}", rank + 1, sub_path, anchor)
        for index, element in enumerate(value.elements or ()):
            sub_path = f"{path}.{index}" if path else None
            self.name_values(element, f"{name}[{index}]", rank + 1, sub_path, anchor)

    def _name_group(
        self,
        value: GroupVal | ListBuilder,
        name: str,
        rank: int,
        path: str | None,
        anchor: cst.CSTNode | None,
    ) -> None:
        for index, element in enumerate(value.items):
            if not value.exact and isinstance(element, GroupVal) and not element.exact:
                self.name_values(element, name, rank, None)  # a union inside a union
                continue
            label = f"{name}[{index}]" if value.exact else f"{name}[...]"
            sub_path = f"{path}.{index}" if path and value.exact else None
            self.name_values(element, label, rank + 1, sub_path, anchor)


#: Where a class's input stand-in is "built": no code (it is never located or fixed).
_NO_SITE = cst.Call(func=cst.Name("forward"))


def _takes_input(forward: FunctionInfo) -> bool:
    """``forward(self, x, ...)`` or ``forward(self, *xs)``: it is given a tensor."""
    params = forward.node.params
    return bool(parameter_names(params, skip_first=True)) or isinstance(params.star_arg, cst.Param)


def _is_submodule(value: Value) -> bool:
    """A module registered on ``self`` (what makes a module a container at run time)."""
    if isinstance(value, (GroupVal, ListBuilder)):
        return any(map(_is_submodule, value.items))
    return isinstance(value, (LayerVal, ActVal, SeqVal, ClassInst)) or value in (
        PASS,
        NORM,
        OTHER_MODULE,
    )
