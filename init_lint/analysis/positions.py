"""Source positions for a few chosen nodes, at a fraction of PositionProvider's cost.

LibCST's PositionProvider records a range for every node of the module through a generator
context manager per node; on timm that costs more than the analysis itself. A linter needs
positions only for what it reports: this runs the same code generation but records ranges
only for the requested nodes (and the children their ranges are hoisted from).

The generated code is the parsed text itself (LibCST round-trips exactly), so a position is an
offset into that text: the state only appends tokens, and sums their lengths (at C speed) when
a position is wanted, instead of scanning every token for line breaks. Generation stops once the
last wanted node is done: what a model file reports on is mostly its classes, and the registry
functions and config tables after them need not be generated (about 45% of timm's text).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

from ..lines import NEWLINE

_NULL = nullcontext()


class _AllFound(Exception):
    """Raised through LibCST's code generation once every wanted range is known."""


@dataclass(frozen=False)
class _TargetedState(CodegenState):
    targets: frozenset[int] = frozenset()  # ids of nodes whose syntactic range is wanted
    hoisted: frozenset[int] = frozenset()  # ids of children a wanted range ends/starts at
    computed: dict[int, CodeRange] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)  # ids of wanted nodes not yet computed
    starts: list[int] = field(default_factory=lambda: [0, 0])  # see _line_starts
    _offset: int = 0  # length of tokens[:_counted]
    _counted: int = 0
    _stack: list[CodePosition] = field(default_factory=list)

    def position(self) -> CodePosition:
        """Where the next token goes: the end of what was generated so far."""
        tokens = self.tokens
        if self._counted < len(tokens):
            self._offset += sum(map(len, tokens[self._counted :]))
            self._counted = len(tokens)
        line = bisect_right(self.starts, self._offset) - 1
        return CodePosition(line, self._offset - self.starts[line])

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.hoisted:
            self._stack.append(self.position())

    def after_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.hoisted:
            start = self._stack.pop()
            self.computed.setdefault(id(node), CodeRange(start, self.position()))

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ):
        if id(node) not in self.targets:
            return _NULL
        return self._record(node, start_node, end_node)

    @contextmanager
    def _record(
        self, node: cst.CSTNode, start_node: cst.CSTNode | None, end_node: cst.CSTNode | None
    ) -> Iterator[None]:
        start = self.position()
        try:
            yield
        finally:
            end = self.position()
            if start_node is not None and id(start_node) in self.computed:
                start = self.computed[id(start_node)].start
            if end_node is not None and id(end_node) in self.computed:
                end = self.computed[id(end_node)].end
            self.computed[id(node)] = CodeRange(start, end)
            self.pending.discard(id(node))
            if not self.pending:
                raise _AllFound


def _hoisted_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Children a statement's syntactic range is taken from (see LibCST's statement.py)."""
    found: list[cst.CSTNode] = []
    body = getattr(node, "body", None)
    if isinstance(body, cst.CSTNode):
        found += [body, *_hoisted_children(body)]
    elif isinstance(body, (list, tuple)) and body:
        found += [body[0], body[-1], *_hoisted_children(body[-1])]
    for name in ("orelse", "finalbody"):
        extra = getattr(node, name, None)
        if isinstance(extra, cst.CSTNode):
            found.append(extra)
            found += _hoisted_children(extra)
    handlers = getattr(node, "handlers", None)
    if handlers:
        found += [handlers[-1], *_hoisted_children(handlers[-1])]
    return found


def _line_starts(text: str) -> list[int]:
    """Offset of each 1-based line's first character (index 0 unused); a text ending with a
    line break has one more, empty, line."""
    return [0, 0, *(match.end() for match in NEWLINE.finditer(text))]


def positions_of(
    module: cst.Module, nodes: Collection[cst.CSTNode], text: str
) -> dict[int, CodeRange]:
    """Syntactic ranges (as PositionProvider gives them) of ``nodes``, keyed by ``id(node)``.
    ``text``: what ``module`` was parsed from (or a text with the same line breaks at the same
    offsets)."""
    if not nodes:
        return {}
    wanted = {id(n) for n in nodes}
    hoisted = {id(child) for node in nodes for child in _hoisted_children(node)}

    def generate(code: str) -> tuple[_TargetedState, bool]:
        state = _TargetedState(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            targets=frozenset(wanted | hoisted),
            hoisted=frozenset(hoisted),
            pending=set(wanted),
            starts=_line_starts(code),
        )
        return state, _generate(module, state)

    state, complete = generate(text)
    generated = "".join(state.tokens)
    if generated != text if complete else not text.startswith(generated):
        # Not that text after all: read the code. (A new state: a stopped generation leaves
        # its indentation pushed.)
        state, _ = generate(module.code)
    return state.computed


def _generate(module: cst.Module, state: _TargetedState) -> bool:
    """Run the code generation until every wanted range is known; False if it stopped early."""
    try:
        module._codegen(state)
    except _AllFound:
        return False
    return True
