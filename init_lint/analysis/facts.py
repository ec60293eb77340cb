"""Plain-data results of analysing one file: picklable, cacheable, combinable across files."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..knowledge import Activation, InitScheme
from .values import Outcome


@dataclass(frozen=True)
class UseFacts:
    activation: Activation
    line: int
    via_norm: bool


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
    inits: frozenset[InitScheme]  # possible states after its owner's own init code
    uses: tuple[UseFacts, ...]
    path: str | None  # attribute path inside its owner class, e.g. 'fc1' or 'features.3'


@dataclass(frozen=True)
class NodeFacts:
    """A class, or one instantiation of a module, in the containment graph."""

    key: str
    label: str
    is_class: bool
    abstract: bool  # a base class never instantiated itself: judged through its subclasses
    effects: dict[str, Outcome]  # layer kind → what this node's init programs do to it
    path_inits: dict[str, Outcome]  # direct inits into a contained module, by attribute path
    contains: tuple[str, ...]
    placeholder: bool = False  # defined elsewhere; only its containment is known from here


@dataclass
class FileFacts:
    path: str
    module_name: str
    init_prefix: str = "init"
    # (line, column, end_line, end_column, code, message) of findings known from this file alone.
    local: list[tuple[int, int, int, int, str, str]] = field(default_factory=list)
    instances: list[InstanceFacts] = field(default_factory=list)
    nodes: list[NodeFacts] = field(default_factory=list)
