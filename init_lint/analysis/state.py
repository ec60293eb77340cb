"""The interpreter's bookkeeping: functions, classes, frames, init programs, local findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from .values import (
    UNTOUCHED,
    Node,
    Outcome,
    ProgramOrigin,
    Value,
)


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
    params: bool = False  # iterates parameters (p) rather than modules (m)
    unknown: bool = False  # an opaque effect (unknown function applied): result UNKNOWN
    origin: ProgramOrigin | None = None

    @classmethod
    def opaque(cls, frame: Frame) -> Program:
        """What an unknown function given the module may do: anything, or nothing."""
        return cls((), (None, None), frame, True, unknown=True)


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
