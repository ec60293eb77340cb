"""Plain-data results of analysing one file: picklable, cacheable, combinable across files."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Fix
from ..knowledge import Activation, LayerGeometry
from .contexts import Signature
from .values import AppliedInit, Outcome


@dataclass(frozen=True)
class InsertPoint:
    """Where a new statement can go: before 1-based ``line``, indented with ``indent``."""

    line: int
    indent: str


@dataclass(frozen=True)
class ArgumentFacts:
    """One argument of a Kaiming call, for edits that change it in place."""

    name: str  # the parameter it binds: 'a', 'mode', 'nonlinearity'
    keyword: bool  # given as name=value
    start: tuple[int, int]  # where the argument (its keyword, if any) starts
    value: tuple[int, int, int, int]  # the value's span
    text: str  # the value's source


@dataclass(frozen=True)
class CallFacts:
    """An init call aimed at known layers, as the autofix needs it."""

    line: int
    column: int
    end_line: int
    end_column: int
    func: str  # 'nn.init.normal_'; for tensor methods, the method name ('normal_')
    method: bool  # ``w.data.normal_(...)`` rather than ``init.normal_(w, ...)``
    target: str  # source text of the tensor: 'self.fc.weight', 'm.weight.data'
    kept: tuple[str, ...]  # keyword arguments kept when rewriting a kaiming call (mode, generator)
    touched: tuple[tuple[int, int], ...]  # sites of every layer this call initialises
    after: InsertPoint | None  # just after the statement holding the call
    rewritable: bool = True  # a torch-shaped init call (not a library helper of its own shape)
    #: a=, mode= and nonlinearity= as written (for a call without ``*``/``**`` arguments).
    arguments: tuple[ArgumentFacts, ...] = ()
    last_end: tuple[int, int] | None = None  # where the last argument ends
    indent: str | None = None  # the line's indentation when the call begins the line's code
    tail: int = 0  # how many characters follow the call on its last line (a comment)
    #: Code other than closing brackets and commas follows it on that line: the call is an
    #: operand (``init_fn(m.weight) if cond else None``), which a formatter splits first.
    operand: bool = False


@dataclass(frozen=True)
class ProgramFacts:
    """An init program (modules() loop, apply) and where a call after it can go."""

    after: InsertPoint | None
    handle: str | None  # how the program's scope is spelled at that point: 'self', 'netG'
    node: str  # key of the node the program belongs to
    call: CallFacts | None = None  # the init call in its body that set this init (rewritable)


@dataclass(frozen=True)
class UseFacts:
    activation: Activation
    line: int
    via_norm: bool
    #: The file the activation is applied in, when not the layer's (a module's output that
    #: the code holding the module passes on).
    path: str | None = None


@dataclass(frozen=True)
class Member:
    """A layer of a container, where it is built."""

    kind: str
    line: int
    column: int


@dataclass(frozen=True)
class ContainerFacts:
    """The registered module that holds a layer with no name of its own (built in a loop, by a
    helper, unpacked into a Sequential): a fix can loop over its modules."""

    expression: str  # 'self.net'
    after: InsertPoint | None  # just after the statement that stores it
    loop_name: str | None  # a loop variable no code of the file uses (None: none free)
    members: tuple[Member, ...]  # every layer inside it: what the loop would touch


@dataclass(frozen=True)
class InstanceFacts:
    """A layer that feeds a rectifier or Tanh/Sigmoid: a candidate for INI001–INI003."""

    kind: str
    name: str
    line: int
    column: int
    end_line: int
    end_column: int
    owner: str  # key of the node (class or instantiation) that built it
    inits: frozenset[AppliedInit]  # possible states after its owner's own init code
    uses: tuple[UseFacts, ...]
    path: str | None  # attribute path inside its owner class, e.g. 'fc1' or 'features.3'
    insert: InsertPoint | None = None  # after the statement that names it (autofix)
    geometry: LayerGeometry | None = None
    container: ContainerFacts | None = None
    #: Its output is its owner's output (forward returns it): through a norm (True) or not.
    exits: tuple[bool, ...] = ()
    #: Submodules its output is passed to (their instantiation nodes' keys), through a norm or
    #: not: what their forward applies first to its input follows this layer too.
    feeds: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class Step:
    """One init event of a node: a program (per layer kind) or direct inits by attribute path."""

    effects: dict[str, Outcome]  # layer kind → what a modules()/apply program does to it
    path_inits: dict[str, Outcome]  # attribute path in a contained module → direct init
    #: A function of another file run on the node: (qualified name, "apply"/"call", opaque).
    foreign: tuple[str, str, bool] | None = None
    #: Where that function runs: a fix for what it does goes after it.
    foreign_site: ProgramFacts | None = None


@dataclass(frozen=True)
class NodeFacts:
    """A class, or one instantiation of a module, in the containment graph."""

    key: str
    label: str
    is_class: bool
    abstract: bool  # a base class never instantiated itself: judged through its subclasses
    steps: tuple[Step, ...]  # its init events, in the order they run
    contains: tuple[str, ...]
    placeholder: bool = False  # defined elsewhere; only its containment is known from here
    #: A class run in one context (its defaults, or a call's arguments): the class's key. The
    #: defaults' node (key == class_key) is a context only if nothing builds the class.
    class_key: str | None = None
    layers: tuple[Member, ...] = ()  # the weight layers it owns, for what a loop would touch
    opaque: bool = False  # it runs modules nobody can see (see values.Node.opaque)
    speculative: bool = False  # see values.Node.speculative
    reinitialised: bool = False  # see values.Node.reinitialised
    #: An instantiation: the activations its module's output reaches in the code that holds
    #: it, and whether that output is the holder's own output (through a norm or not).
    output_uses: tuple[UseFacts, ...] = ()
    passes_output: tuple[bool, ...] = ()
    #: An instantiation: the submodules its module's output is passed to in the holder's code.
    output_feeds: tuple[tuple[str, bool], ...] = ()
    #: A class run in a context: the activations its forward applies first to its input, and
    #: the submodules it passes that input to (see ``InstanceFacts.feeds``).
    input_uses: tuple[UseFacts, ...] = ()
    input_feeds: tuple[tuple[str, bool], ...] = ()


@dataclass
class FileFacts:
    path: str
    module_name: str
    init_prefix: str = "init"
    needs_init_import: bool = False  # init_prefix is 'init' but nothing defines it yet
    newline: str = "\n"
    indent: str = "    "  # the file's indentation unit
    quote: str = "'"  # the string quote the file's code mostly uses (new code uses it too)
    nn_prefix: str | None = None  # how the file spells torch.nn ('nn'), if it can
    # (line, column, end_line, end_column, code, message, fix) of findings known from this file.
    local: list[tuple[int, int, int, int, str, str, Fix | None]] = field(default_factory=list)
    instances: list[InstanceFacts] = field(default_factory=list)
    nodes: list[NodeFacts] = field(default_factory=list)
    #: Classes of other files this file builds with arguments: (qualified name, signature).
    requests: list[tuple[str, Signature]] = field(default_factory=list)
    #: Other files' functions it calls: qualified names (run again with the portable ones).
    calls: list[str] = field(default_factory=list)
    #: Other files' functions it ran as its own (portable): qualified names. Their layers are
    #: built at its calls, so the functions' own runs with unknown arguments are no context.
    ran: list[str] = field(default_factory=list)
    #: Contexts this file ran for other files: requested context key -> node key.
    answers: dict[str, str] = field(default_factory=dict)
    #: Its top-level init functions, as other files may use them: qualified name -> the key of
    #: a node whose steps are what ``x.apply(f)`` does (mode "apply") or ``f(x)`` ("call").
    functions: dict[str, dict[str, str]] = field(default_factory=dict)
    #: What the file's names stand for (its imports, its own classes): re-exports resolve
    #: through these (``timm.layers.Mlp`` is ``timm.layers.mlp.Mlp``).
    exports: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Holders:
    """A file that was only compiled (it names no activation a finding is about), but whose
    classes build weight layers: another file may build one with a rectifier passed in
    (``Mlp(act_layer=nn.ReLU)``), and then this file is analysed with that context."""

    classes: frozenset[str]
