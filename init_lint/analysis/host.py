"""The interface the interpreter's parts see of each other.

:class:`~.interpreter.Interpreter` implements it; :class:`~.expressions.Expressions`,
:class:`~.calls.Calls`, :class:`~.modules.Modules`, :class:`~.inits.Inits` and
:class:`~.conditions.Conditions` receive it, and reach each other only through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import libcst as cst

from .contexts import Signature
from .imports import ImportMap
from .state import ClassInfo, Frame, FunctionInfo, LocalFinding, Scope
from .userlib import ProjectLibrary
from .values import AppliedInit, Instance, Node, Value

if TYPE_CHECKING:
    from .calls import Calls
    from .conditions import Conditions
    from .expressions import Expressions
    from .inits import Inits
    from .modules import Modules


class Host(Protocol):
    # The file and what was found in it.
    module_name: str
    source: str
    home: Scope  # the file's global names
    scope: Scope  # the global names of the code running now (another file's, see .portable)
    portable: dict[str, Value]  # other files' portable functions, by qualified name
    calls_out: set[str]  # other files' functions called (they may be portable)
    #: The call in this file that entered another file's code running now: the layers that
    #: code builds are this call's (see Modules.construct).
    entry: cst.Call | None
    #: Other files' functions this file's code ran to the end (qualified): their layers are
    #: this file's, built with its arguments.
    builders_run: set[str]

    # The current scope's names.
    @property
    def imports(self) -> ImportMap: ...

    @property
    def classes(self) -> dict[str, ClassInfo]: ...

    #: ``SqueezeExcite = SEModule`` at module level: another name of a class of this file.
    @property
    def class_aliases(self) -> dict[str, str]: ...

    @property
    def constants(self) -> dict[str, Value]: ...  # see Interpreter._module_constants

    @property
    def functions(self) -> dict[str, FunctionInfo]: ...

    nodes: list[Node]
    contains: list[tuple[Node | str, Node | str]]  # nodes, or class keys of other files
    instances: list[Instance]
    findings: list[LocalFinding]
    called_functions: set[str]
    called_methods: set[int]  # ids of the FunctionInfo inlined so far
    requests: list[tuple[str, Signature]]  # other files' classes built with arguments

    library: ProjectLibrary  # library knowledge, with the project's own additions

    # The parts.
    expressions: Expressions
    conditions: Conditions
    modules: Modules
    inits: Inits
    calls: Calls

    def new_node(self, key: str, label: str, is_class: bool = False) -> Node: ...

    def is_sequential(self, info: ClassInfo) -> bool: ...

    def ordinal(self, node: cst.CSTNode) -> int: ...

    def code_of(self, node: cst.CSTNode) -> str: ...

    def class_context(
        self, info: ClassInfo, positional: list[Value], keywords: dict[str, Value], open_ended: bool
    ) -> Node: ...

    def exec_block(self, statements: Sequence[cst.CSTNode], frame: Frame) -> None: ...

    def run_undone(self, body: Sequence[cst.CSTNode], frame: Frame) -> None: ...

    def assign(self, target: cst.BaseExpression, value: Value, frame: Frame) -> None: ...

    def name_values(
        self,
        value: Value,
        name: str,
        rank: int,
        path: str | None = None,
        anchor: cst.CSTNode | None = None,
    ) -> None: ...

    def set_inits(self, instance: Instance, inits: frozenset[AppliedInit]) -> None: ...

    def mark_unknown(self, instances: Iterable[Instance]) -> None: ...

    def owned_instances(self, node: Node) -> list[Instance]: ...
