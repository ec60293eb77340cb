"""What the analysis reads of a file: big data literals as ``(...)``, over-deep expressions refused.

LibCST builds a Python object per token and per whitespace run: about 70 µs and 4 KB for each
element of a list of numbers, so a 1 MB data table beside a model takes seconds and gigabytes
while it cannot matter to a layer's initialisation. Its parser also slows down faster than
linearly on deep expressions (a 1,000-deep chain of subscripts takes seconds, one of 3,000 a
minute). CPython's AST, which the referee compile has built anyway, shows both cheaply:

* a list/tuple/set/dict made only of constants and at least :data:`ELIDE_CHARS` long (or
  :data:`ELIDE_SMALL_CHARS` when such literals add up to more than :data:`ELIDE_TOTAL_CHARS`) is
  replaced by ``(...)``, padded with spaces and keeping every line break where it was, so that
  every other position in the file stays the same; to the analysis it is an unknown value
  (the tree built from the AST has ``...`` there, see :mod:`init_lint.analysis.fromast`);
* an expression nested deeper than :data:`MAX_DEPTH` levels is refused (:class:`TooDeep`).

Only nodes whose source span is long enough to matter are visited: a short span can hold
neither a big literal nor a deep expression (each level of nesting takes a character at least).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .lines import line_starts, split_lines

MAX_DEPTH = 1000
ELIDE_CHARS = 8192
ELIDE_SMALL_CHARS = 1024
ELIDE_TOTAL_CHARS = 65536
_STOP = (ast.JoinedStr, ast.pattern)  # f-string parts have no usable positions; patterns stay
_CONTAINERS = (ast.List, ast.Tuple, ast.Set, ast.Dict)
_UNARY = (ast.USub, ast.UAdd, ast.Invert)
_NOT_NEWLINE = re.compile(r"[^\r\n]+")
_ROOM = re.compile(" {3}")
_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


class TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


@dataclass
class _Walk:
    starts: list[int]

    def span(self, node: ast.AST) -> int:
        """Length of the node's source in characters (approximately: columns are bytes)."""
        lineno = getattr(node, "lineno", None)
        end_lineno = getattr(node, "end_lineno", None)
        if lineno is None or end_lineno is None:
            return ELIDE_TOTAL_CHARS  # no position (comprehension, withitem): look inside
        start: int = getattr(node, "col_offset", 0) or 0
        end: int = getattr(node, "end_col_offset", 0) or 0
        if end_lineno != lineno:
            last = len(self.starts) - 1
            end += self.starts[min(end_lineno, last)] - self.starts[min(lineno, last)]
        return end - start


def elided_literals(text: str, tree: ast.Module) -> list[ast.expr]:
    """The data literals the analysis reads as ``(...)`` (:func:`blank` gives the text LibCST is
    to parse); raises :class:`TooDeep` for an over-deep expression."""
    walk = _Walk(line_starts(text))
    small = min(ELIDE_SMALL_CHARS, MAX_DEPTH)
    literals: list[tuple[ast.expr, int]] = []
    stack: list[tuple[ast.AST, int]] = [(statement, 0) for statement in tree.body]
    while stack:
        node, depth = stack.pop()
        span = walk.span(node)
        if span < small and depth + span <= MAX_DEPTH or isinstance(node, _STOP):
            continue
        if isinstance(node, ast.expr):
            if span >= ELIDE_SMALL_CHARS and isinstance(node, _CONTAINERS) and _constant(node):
                literals.append((node, span))
                continue
            if depth >= MAX_DEPTH:
                raise TooDeep(getattr(node, "lineno", 1))
            depth += 1
        elif isinstance(node, (ast.stmt, ast.excepthandler, ast.match_case)):
            depth = 0  # blocks nest at most 100 deep: only expressions are counted
        stack.extend(
            (child, depth) for child in ast.iter_child_nodes(node) if not isinstance(child, _LEAVES)
        )
    everything = sum(span for _, span in literals) > ELIDE_TOTAL_CHARS
    return [node for node, span in literals if everything or span >= ELIDE_CHARS]


def _constant(node: ast.expr) -> bool:
    """A container whose elements are all constants, at any depth (iteratively)."""
    stack: list[ast.expr | None] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Constant):
            continue
        if isinstance(item, ast.UnaryOp) and isinstance(item.op, _UNARY):
            stack.append(item.operand)
        elif isinstance(item, (ast.List, ast.Tuple, ast.Set)):
            if {type(element) for element in item.elts} - {ast.Constant}:  # the common case fast
                stack.extend(item.elts)
        elif isinstance(item, ast.Dict) and all(key is not None for key in item.keys):
            stack.extend(item.keys)
            stack.extend(item.values)
        else:
            return False
    return True


def blank(text: str, nodes: list[ast.expr]) -> tuple[str, list[ast.expr]]:
    """``text`` with each node's source replaced by ``(...)`` (same length, same line breaks),
    and the nodes replaced (those it fits in)."""
    if not nodes:
        return text, []
    lines = split_lines(text, keepends=True)
    starts = line_starts(text)
    spans = []
    done: list[ast.expr] = []
    for node in nodes:
        last, end_column = node.end_lineno or node.lineno, node.end_col_offset or 0
        start = starts[node.lineno] + _chars(lines[node.lineno - 1], node.col_offset)
        spans.append((start, starts[last] + _chars(lines[last - 1], end_column), node))
    pieces = []
    position = 0
    for start, end, node in sorted(spans, key=lambda span: span[:2]):
        if start < position:
            continue  # inside a literal already blanked (cannot happen: they are not nested)
        replacement = _placeholder(text[start:end])
        if replacement is None:
            continue
        pieces += [text[position:start], replacement]
        position = end
        done.append(node)
    pieces.append(text[position:])
    return "".join(pieces), done


def _chars(line: str, byte_offset: int) -> int:
    """A column in UTF-8 bytes (as the AST gives it) as a column in characters."""
    if line.isascii():
        return byte_offset
    return len(line.encode("utf-8", "surrogatepass")[:byte_offset].decode("utf-8", "ignore"))


def _placeholder(source: str) -> str | None:
    """``(...)`` spread over ``source``'s extent, line breaks kept; None if it does not fit."""
    blank = _NOT_NEWLINE.sub(lambda match: " " * len(match.group()), source)
    room = _ROOM.search(blank, 1, len(blank) - 1)
    if room is None or blank[0] != " " or blank[-1] != " ":
        return None
    return f"({blank[1 : room.start()]}...{blank[room.end() : -1]})"
