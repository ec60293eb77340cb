"""Abstract values the interpreter computes for expressions in model code.

The analysis runs model code abstractly: an expression evaluates to "a Conv2d layer built at this
call", "ReLU", "a tensor that is the output of these layers, through non-rescaling ops only", "a
Sequential of these elements", and so on. Anything it cannot know is ``UNKNOWN``.

Values compare by identity (``eq=False``): two ``nn.Linear(8, 8)`` calls are two layers, and a
value seen again through another name is the same object. That is what lets ``self.fc`` in
``forward`` be the layer that ``__init__`` built, and a union of branches hold each layer once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

import libcst as cst

from ..knowledge import (
    DEFAULT_SCHEME,
    UNKNOWN_SCHEME,
    Activation,
    InitScheme,
    LayerGeometry,
    SchemeKind,
)

if TYPE_CHECKING:
    from .state import ClassInfo, FunctionInfo, Program


class Value:
    """Base of all abstract values."""


class _Unknown(Value):
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class AppliedInit:
    """An init as the static checker sees it: the scheme, and where it comes from.

    ``text`` and ``line`` say how it reads in the source (messages); while a file is analysed,
    ``site`` is the init call's CST node, and ``origin`` tells the autofix where it came from.
    Neither is part of the identity.
    """

    scheme: InitScheme
    text: str = ""
    line: int | None = None
    site: cst.CSTNode | None = field(default=None, compare=False, hash=False, repr=False)
    origin: object = field(default=None, compare=False, hash=False, repr=False)
    #: Where a function of another file ran this init on the layer (a ProgramFacts): the fix
    #: goes after that call, while ``origin`` stays the function's own (for the message).
    applied_at: object = field(default=None, compare=False, hash=False, repr=False)

    @property
    def kind(self) -> SchemeKind:
        return self.scheme.kind

    @property
    def gain(self) -> float | None:
        return self.scheme.gain

    @property
    def mode(self) -> str | None:
        return self.scheme.mode

    @property
    def distribution(self) -> str | None:
        return self.scheme.distribution

    def scaled(self, factor: float) -> AppliedInit:
        """This init followed by ``w.mul_(factor)``; an unknown init stays unknown."""
        if self.kind is SchemeKind.UNKNOWN:
            return self
        text = f"{self.text} then ×{factor:g}" if self.text else ""
        return replace(self, scheme=self.scheme.scaled(factor), text=text)

    def describe(self, where: str | None = None) -> str:
        """``where``: how to say where the init is, when not `` (line N)`` of this file."""
        if self.kind is SchemeKind.DEFAULT:
            return "keeps PyTorch's default init (std ≈ 0.58/√fan_in)"
        if where is None:
            where = f" (line {self.line})" if self.line else ""
        return f"is initialised with {self.text or self.kind.value}{where}"


DEFAULT_INIT = AppliedInit(DEFAULT_SCHEME)
UNKNOWN_INIT = AppliedInit(UNKNOWN_SCHEME)


@dataclass(frozen=True)
class ActivationUse:
    """A layer's output reaching an activation."""

    activation: Activation
    node: cst.CSTNode | None  # where the activation is applied / constructed (None: not known)
    via_norm: bool


@dataclass(frozen=True)
class Outcome:
    """What an init program does to one weight: possible schemes, and whether it may leave it."""

    schemes: frozenset[AppliedInit] = frozenset()
    keeps_prior: bool = True
    prior_scale: float = 1.0  # a factor applied to the prior init it keeps (``w.mul_(2)``)

    def apply(self, prior: frozenset[AppliedInit]) -> frozenset[AppliedInit]:
        if not self.keeps_prior:
            return self.schemes
        if self.prior_scale != 1.0:
            prior = frozenset(a.scaled(self.prior_scale) for a in prior)
        return prior | self.schemes

    def merge(self, other: Outcome) -> Outcome:
        keeps = self.keeps_prior or other.keeps_prior
        if self.prior_scale != other.prior_scale:  # scaled on one path only: the scale is unknown
            return Outcome(self.schemes | other.schemes | {UNKNOWN_INIT}, keeps)
        return Outcome(self.schemes | other.schemes, keeps, self.prior_scale)

    def scaled(self, factor: float) -> Outcome:
        """This outcome followed by ``w.mul_(factor)``."""
        schemes = frozenset(a.scaled(factor) for a in self.schemes)
        return Outcome(schemes, self.keeps_prior, self.prior_scale * factor)


UNTOUCHED = Outcome()


@dataclass(eq=False)
class ProgramEvent:
    """A generic init program (``modules()`` loop, ``apply``) run on everything a node holds."""

    program: Program


@dataclass(eq=False)
class PathEvent:
    """A direct init into a contained module's layer, by attribute path (``netG.main[0]``)."""

    path: str
    outcome: Outcome


@dataclass(eq=False)
class ForeignEvent:
    """A function of another file run on this node's modules: ``net.apply(weights_init)`` with
    ``weights_init`` imported (``mode`` "apply"), or ``init_decoder(self.decoder)`` ("call").
    Resolved with that function's facts; when it is not in the linted tree, ``opaque`` says
    whether it may have written the weights (see calls.opaque_call)."""

    function: str  # qualified name
    mode: str  # "apply" or "call"
    opaque: bool
    statement: cst.CSTNode | None = None  # the statement that runs it: a fix goes after it
    handle: str | None = None  # how the module it runs on is spelled there: 'netG'


@dataclass(eq=False)
class Node:
    """A context that owns layers or contains other modules: a class, or one instantiation."""

    key: str
    label: str
    is_class: bool = False
    #: Its init events, in the order they run.
    events: list[ProgramEvent | PathEvent | ForeignEvent] = field(default_factory=list)
    #: For a class run in some context (its defaults, or a call's arguments): the class's key.
    class_key: str | None = None
    #: Its forward calls a module this analysis cannot see (a factory's result): a loop over
    #: its modules would reach layers nobody knows about.
    opaque: bool = False
    #: An instantiation of one option of a choice that may also be something unknown
    #: (``get_attn(cfg.attn)``): perhaps never built, so it judges no layer on its own.
    speculative: bool = False
    #: An instantiation whose holder calls an init-named method of it after building it
    #: (``self.block.reset_parameters()``): its layers' init there is not followed, and a fix
    #: placed for other contexts of the same code may be undone there.
    reinitialised: bool = False
    #: The branches its instantiation ran in (Frame.branches): a program registered in them
    #: runs whenever it exists (``if __name__ == "__main__": net = Net(); net.apply(f)``).
    branches: tuple[int, ...] = ()
    #: mmengine's ``init_cfg`` as handed to an unseen base's ``__init__``, and that call: what
    #: ``BaseModule.init_weights()`` applies once the model is built (see configinit).
    init_config: tuple[Value, cst.CSTNode] | None = None
    #: A class run in a context: the origins of its forward's output (its exits).
    exits: frozenset[Src] = frozenset()
    #: An instantiation: a stand-in layer for the module's output in the code that built it;
    #: the activations that output reaches there, and whether it is that code's own output.
    output: Instance | None = None
    #: A class run in a context: a stand-in layer for its forward's (first) input; the
    #: activations it reaches first are what a layer feeding the module feeds.
    input: Instance | None = None

    def add_program(self, program: Program) -> None:
        self.events.append(ProgramEvent(program))


@dataclass(eq=False)
class Instance:
    """One layer (or one group of identical layers built by one call in a loop)."""

    kind: str  # torch.nn class: 'Conv2d'
    bases: tuple[str, ...]  # names an isinstance test may use, most specific first
    site: cst.Call
    owner: Node
    name: str = ""
    name_rank: int = 9  # lower is better: self attribute 0, sequential element 1, local 5
    inits: frozenset[AppliedInit] = frozenset({DEFAULT_INIT})
    uses: set[ActivationUse] = field(default_factory=set)
    path: str | None = None  # attribute path in its owner class ('fc1', 'features.3')
    #: The statement after which an init call for this layer can be inserted (autofix).
    anchor: cst.CSTNode | None = None
    #: The registered module that holds it, as 'self.net', and the statement storing it (for a
    #: layer with no name of its own: a fix loops over that module).
    container: tuple[str, cst.CSTNode] | None = None
    geometry: LayerGeometry | None = None  # sizes, kernel, stride, groups from the constructor
    #: False for a layer subclass whose forward applies an activation itself: what follows the
    #: module then follows that activation, not the weight op.
    raw_output: bool = True
    #: The node whose code built it (its owner may change: a module passed to a class).
    built_in: Node | None = None
    #: Submodules its output is passed to (their instantiation nodes), through a norm or not:
    #: what each module's forward applies first to its input follows this layer too.
    feeds: set[tuple[Node, bool]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.built_in is None:
            self.built_in = self.owner


@dataclass(eq=False)
class CallOrigin:
    """An init call aimed at known layers (``init.x_(self.fc.weight)``): may be rewritten."""

    call: cst.Call
    statement: cst.CSTNode | None
    touched: list[Instance] = field(default_factory=list)
    rewritable: bool = True  # False for a library helper (c2_msra_fill(m)): insert, never rewrite
    method: bool = False  # a tensor's method (``m.weight.data.normal_(0, 0.02)``), not init's


@dataclass(eq=False)
class ProgramOrigin:
    """An init reached through a program (modules() loop, apply): fixed by a call after it."""

    statement: cst.CSTNode | None  # the statement that runs the program
    handle: str | None  # how the program's scope root is spelled there: 'self', 'netG'
    node: Node
    call: cst.Call | None = None  # the init call in its body (a torch-shaped one) that set it
    method: bool = False  # that call is a tensor's method (see CallOrigin)


@dataclass(frozen=True)
class Src:
    """A tensor's origin: the output of ``instance``, possibly through a norm layer."""

    instance: Instance
    via_norm: bool = False


@dataclass(eq=False)
class TensorVal(Value):
    sources: frozenset[Src] = frozenset()


NO_SOURCE = TensorVal()
#: An activation's output (distinct from NO_SOURCE: a module whose forward returns it as is
#: is a wrapper of that activation, see Interpreter._evaluate_class).
ACTIVATED = TensorVal()

#: The kind of the stand-in layer for a submodule's output (see ``Node.output``).
MODULE_OUTPUT = "<module output>"


#: The kind of the stand-in layer for a class's forward input (see ``Node.input``).
MODULE_INPUT = "<module input>"


def feed(sources: Iterable[Src], module: ClassInst) -> None:
    """Tensors of these origins are passed to ``module``: it is their next consumer."""
    for source in sources:
        source.instance.feeds.add((module.node, source.via_norm))


def module_output(module: ClassInst) -> TensorVal:
    """What calling a submodule gives the code that holds it: its output, as one stand-in
    layer, so that what that code applies to it can be carried to the submodule's exits."""
    output = module.node.output
    return TensorVal(frozenset({Src(output)})) if output is not None else NO_SOURCE


@dataclass(eq=False)
class LayerVal(Value):
    instance: Instance
    #: One element of several that ``instance`` stands for (``layers[-1]`` of a ModuleList
    #: comprehension): an init through it reaches only some of them.
    partial: bool = False


@dataclass(eq=False)
class ActVal(Value):
    activation: Activation
    node: cst.CSTNode | None  # where it is built (None: passed in from another file)


class _Marker(Value):
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


PASS = _Marker("PASS")  # Dropout, Identity, pooling...: output keeps the input's scale
NORM = _Marker("NORM")  # BatchNorm & co.
OTHER_MODULE = _Marker("OTHER_MODULE")  # a torch module that ends the flow (Embedding, LSTM...)
SELF = _Marker("SELF")
#: What :meth:`.calls.Calls.call_function` returns for a portable function that, called by
#: name, turned out to build a module it was given.
NOT_PORTABLE = _Marker("NOT_PORTABLE")


class BuildsModules(Exception):
    """Another file's portable function was given a class or a layer to build (``make(block)``
    calling ``block()``): in this file's analysis it builds nothing, so the call is opaque, and
    what it was given keeps that call as its context."""


@dataclass(eq=False)
class SeqVal(Value):
    """nn.Sequential: elements in order when known, else only the output sources."""

    elements: tuple[Value, ...] | None
    tail: frozenset[Src] = frozenset()
    names: dict[str, Value] | None = None
    members: tuple[Value, ...] = ()  # everything inside, even when the order is unknown
    complete: bool = True  # members holds everything (nothing was unpacked from the unknown)


class GroupKind(Enum):
    """What iterating a group yields."""

    PLAIN = "plain"  # its items
    ENUMERATE = "enumerate"  # (index, item) pairs of its single item, an iterable
    ZIP = "zip"  # tuples of the elements of its items, iterables


@dataclass(eq=False)
class GroupVal(Value):
    """A collection (ModuleList, list, tuple) or a value that is one of several."""

    items: tuple[Value, ...]
    exact: bool = True  # items are in order and complete (a literal list)
    names: dict[str, Value] | None = None
    kind: GroupKind = GroupKind.PLAIN
    registered: bool = False  # an nn.ModuleList/ModuleDict (a module), not a Python list
    complete: bool = True  # items holds every value (nothing was added from the unknown)
    #: Not exact, but items are in the order they were appended (a loop without branches
    #: appended them: how many is unknown, not which follows which).
    ordered: bool = False


@dataclass(eq=False)
class ListBuilder(Value):
    """A Python list being built with append/+=/extend, tracked as a chain (VGG make_layers)."""

    items: list[Value] = field(default_factory=list)
    exact: bool = True
    tail: frozenset[Src] = frozenset()
    complete: bool = True  # items holds every value (nothing was added from the unknown)


@dataclass(eq=False)
class ConstVal(Value):
    value: object


@dataclass(eq=False)
class RecordVal(Value):
    """An instance of a dataclass or NamedTuple of this file (a model's config): its fields'
    values, read as ``cfg.act``."""

    key: str  # the class's module-qualified name
    fields: dict[str, Value]


@dataclass(eq=False)
class QualRef(Value):
    """An imported name, fully qualified: 'torch.nn.Linear', 'timm.layers.Mlp'."""

    qualified: str


@dataclass(eq=False)
class ClassRef(Value):
    key: str  # module-qualified class name
    info: ClassInfo | None = None  # when the class is defined in this file


@dataclass(eq=False)
class ClassInst(Value):
    key: str
    node: Node  # the instantiation's node (contains the class)


@dataclass(eq=False)
class FuncRef(Value):
    info: FunctionInfo
    bound_self: bool = False  # a method looked up on self


@dataclass(eq=False)
class PartialVal(Value):
    func: Value
    args: tuple[Value, ...]
    kwargs: dict[str, Value]


@dataclass(eq=False)
class ModulesIter(Value):
    """self.modules() and friends: iterating gives every module the scope contains."""

    node: Node
    instances: tuple[Instance, ...] | None = None  # a restricted scope (Sequential.modules())
    named: bool = False
    #: In a restricted scope, the submodules of ours it holds (their instantiations' nodes):
    #: ``_normal_init(cls_logits)`` over a ModuleList of ConvNormAct blocks reaches their layers.
    nodes: tuple[Node, ...] = ()


@dataclass(eq=False)
class ParamsIter(Value):
    node: Node
    named: bool = False


@dataclass(eq=False)
class ParamRef(Value):
    """``layer.weight`` / ``layer.bias`` of a known instance."""

    instance: Instance
    param: str
    partial: bool = False  # of one element of several the instance stands for (see LayerVal)


@dataclass(eq=False)
class SubAttr(Value):
    """An attribute path into a contained module: ``self.block.fc1`` → (node, 'fc1')."""

    node: Node
    path: str


@dataclass(eq=False)
class Probe(Value):
    """The module ``m`` inside an init program, simulated for one layer type/instance."""

    kind: str
    bases: tuple[str, ...]
    instance: Instance | None = None


@dataclass(eq=False)
class ProbeParam(Value):
    param: str  # 'weight' / 'bias'
    ndim: int | None = None


@dataclass(eq=False)
class ClassName(Value):
    """``m.__class__.__name__`` for a probe."""

    name: str


@dataclass(eq=False)
class DictVal(Value):
    items: tuple[tuple[str | None, Value], ...]


@dataclass(eq=False)
class TensorMethod(Value):
    tensor: TensorVal
    name: str
