"""The interpreter's bookkeeping: functions, classes, frames, init programs, local findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import libcst as cst

from .imports import ImportMap
from .values import UNTOUCHED, Instance, Node, Outcome, ProgramOrigin, Value


@dataclass(eq=False)
class Scope:
    """A module's global names: the analysed file's own, or those of another file whose
    portable functions (see :mod:`.portable`) the analysis runs."""

    imports: ImportMap
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    class_aliases: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Value] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    foreign: bool = False  # another file's: its syntax must never reach this file's facts
    module: str = ""  # another file's: its module name


@dataclass(eq=False)
class FunctionInfo:
    node: cst.FunctionDef
    name: str
    cls: ClassInfo | None = None
    #: The enclosing function's variables, for a ``def`` nested in a function (a closure:
    #: ``def _ntuple(n): def parse(x): ... repeat(x, n)``); shared, as Python's cells are.
    closure: dict[str, Value] | None = None
    scope: Scope | None = None  # another file's function: the names it sees (None: this file's)
    label: str | None = None  # a lambda's text, as a context names it (its name is an id)

    @property
    def key(self) -> str:
        return f"{self.cls.name}.{self.name}" if self.cls else self.name

    @property
    def is_static(self) -> bool:
        """A ``@staticmethod``: ``self.make_block(a, b)`` binds ``a`` to its first parameter."""
        return self.cls is not None and any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
            for d in self.node.decorators
        )


@dataclass(eq=False)
class ClassInfo:
    node: cst.ClassDef
    name: str
    key: str
    base_exprs: tuple[cst.BaseExpression, ...]
    graph_node: Node
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    local_bases: list[ClassInfo] = field(default_factory=list)
    layer_kind: str | None = None  # subclass of a torch layer: its torch class
    layer_bases: tuple[str, ...] = ()
    subclassed: bool = False
    instantiated: bool = False
    #: Names bound to constant definitions in the class body (``act_layer = nn.ReLU``): what
    #: ``self.act_layer`` is when no instance attribute of that name is set.
    class_values: dict[str, cst.BaseExpression] = field(default_factory=dict)
    #: A dataclass or NamedTuple: its fields in order, with their default's expression (None:
    #: none, or a default_factory); None for any other class.
    record_fields: tuple[tuple[str, cst.BaseExpression | None], ...] | None = None
    #: A settings class (see :func:`~.records.settings_class`): an instance is a record of
    #: what its ``__init__`` stores on ``self``.
    settings: bool = False

    def mro(self) -> list[ClassInfo]:
        """This class, then its bases defined in the same file (breadth first, no repeats)."""
        order: list[ClassInfo] = []
        queue = [self]
        while queue:
            cls = queue.pop(0)
            if cls not in order:
                order.append(cls)
                queue.extend(cls.local_bases)
        return order

    def lookup(self, name: str, skip_self: bool = False) -> FunctionInfo | None:
        order = self.mro()
        for cls in order[1:] if skip_self else order:
            if name in cls.methods:
                return cls.methods[name]
        return None


@dataclass
class ProbeState:
    """What a simulated init program did to the probe's weight."""

    outcome: Outcome = UNTOUCHED
    bias_fan_calls: list[cst.Call] = field(default_factory=list)


@dataclass(eq=False)
class Frame:
    """One running function (or module body): its variables and where it runs."""

    env: dict[str, Value]
    owner: Node  # the context whose layers it builds and whose init programs it registers
    self_info: ClassInfo | None = None
    attrs: dict[str, Value] | None = None  # ``self``'s attributes, when ``self`` is visible
    depth: int = 0
    stack: tuple[str, ...] = ()  # functions being inlined, innermost last (stops recursion)
    prefix: tuple[int, ...] = ()  # the call sites inlined to get here: one layer per site
    returns: list[Value] = field(default_factory=list)
    probe: ProbeState | None = None  # set while an init program is simulated
    cond_depth: int = 0  # inside how many branches whose truth is unknown
    branches: tuple[int, ...] = ()  # those branches (their ids), outermost first
    loop_depth: int = 0
    in_forward: bool = False
    statement: cst.CSTNode | None = None  # the statement of this function being executed
    loop_statement: cst.CSTNode | None = None  # the outermost loop of this function running
    #: In a method of a Linear/Conv subclass: the layer ``self`` is (its weight, its output).
    layer: Instance | None = None
    #: Running a method only for where its tensors go: it builds no layers.
    uses_only: bool = False
    #: A plain function's parameters that received a module: the statement of the outermost
    #: caller in this file and how it spells that module (a fix goes after that call).
    spelled: dict[str, tuple[cst.CSTNode, str] | None] = field(default_factory=dict)
    #: In a plain function: the statement of its outermost caller in this file, where the
    #: names of the layers it was handed are valid (a call inserted for one goes after it).
    caller_statement: cst.CSTNode | None = None
    #: This path certainly returned or raised: the statements after it do not run on it.
    done: bool = False

    def spelling(
        self, statement: cst.CSTNode | None, handle: str | None
    ) -> tuple[cst.CSTNode | None, str | None]:
        """Where a program on ``handle`` run at ``statement`` can be fixed: after the call that
        passed the module in, as the caller spells it, when ``handle`` is a parameter."""
        if handle is None:
            return statement, handle
        root, dot, rest = handle.partition(".")
        if root not in self.spelled:
            return statement, handle
        spelled = self.spelled[root]
        if spelled is None:  # a parameter given an expression (``init(Net())``): nowhere
            return None, None
        outer_statement, outer = spelled
        return outer_statement, f"{outer}{dot}{rest}"

    def insertion_point(self) -> cst.CSTNode | None:
        """The statement after which a call naming a layer as its context does can go."""
        return self.caller_statement or self.statement

    def child(self, **changes: object) -> Frame:
        """A frame for a called function: a fresh environment, the same context."""
        # A copy of the fields, not dataclasses.replace(): this runs for every call the analysis
        # follows, and going through __init__ for every field cost a tenth of its time.
        fresh = object.__new__(Frame)
        fresh.__dict__.update(self.__dict__)
        fresh.env, fresh.depth, fresh.returns, fresh.spelled = {}, self.depth + 1, [], {}
        fresh.loop_depth, fresh.statement, fresh.loop_statement = 0, None, None
        fresh.done = False
        for name, value in changes.items():
            if name not in _FRAME_FIELDS:
                raise TypeError(f"Frame has no field {name!r}")
            setattr(fresh, name, value)
        return fresh

    def isolated(self) -> Frame:
        """A frame that sees neither ``self`` nor locals (to evaluate a parameter's default)."""
        return self.child(attrs=None, self_info=None)


_FRAME_FIELDS = frozenset(f.name for f in fields(Frame))


@dataclass(eq=False)
class Program:
    """A generic init program: a loop body or function run on every module of a scope."""

    body: Sequence[cst.CSTNode]
    targets: tuple[str | None, str | None]  # names the probe binds to: (name, module)
    frame: Frame
    conditional: bool
    params: bool = False  # iterates parameters (p) rather than modules (m)
    unknown: bool = False  # an opaque effect (unknown function applied): result UNKNOWN
    origin: ProgramOrigin | None = None

    @classmethod
    def opaque(cls, frame: Frame) -> Program:
        """What an unknown function given the module may do: anything, or nothing."""
        return cls((), (None, None), frame, True, unknown=True)


@dataclass
class LocalFinding:
    """A finding known from one call site alone (INI004–INI006)."""

    node: cst.CSTNode
    code: str
    message: str
    rename: tuple[cst.CSTNode, str] | None = None  # autofix: replace this node's text
