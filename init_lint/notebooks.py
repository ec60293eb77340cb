"""Jupyter notebooks: the code cells are linted as one module and reported per cell.

A notebook's code cells are joined into one Python module (its *virtual source*), so that a
class defined in one cell and trained in another is followed as in a file. Each cell is
followed by a boundary comment line, and each IPython escape (``%magic``, ``!shell``,
``x = !cmd``, ``obj?``, and the whole of a ``%%bash``-style cell) is replaced by a ``pass``
placeholder on its own line, so that every other line keeps its text, its column and its place
in its cell. The analysis, ``# noqa``, ``--fix`` and ``--add-noqa`` all work on the virtual
source; :meth:`Notebook.locate` turns its positions into (cell, line within the cell) for
reporting, and :meth:`Notebook.updated` writes a changed virtual source back into the cells.

Writing back changes only the ``source`` values of the cells whose text changed, spliced into
the notebook's own JSON text in its own layout (indent, key order, escapes, trailing newline):
every other byte, metadata and outputs included, stays as it was.

Cells are numbered from 1 counting every cell, markdown included, as Jupyter shows them and as
ruff reports them (``train.ipynb:cell 3:12:5``).
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .findings import Edit, Finding
from .lines import split_lines
from .rules import PARSE_ERROR_CODE

SUFFIX = ".ipynb"

#: The line that follows each cell in the virtual source.
BOUNDARY = "# init-lint: end of notebook cell\n"
#: What an IPython escape line becomes (after its indentation) in the virtual source.
PLACEHOLDER = "pass  # init-lint: IPython escape"
_PLACEHOLDER_LINE = re.compile(r"[ \t]*" + re.escape(PLACEHOLDER))

#: Cell magics whose body is Python (IPython runs it as such): only their first line is an
#: escape. Any other ``%%magic`` cell (bash, html, writefile, ...) is not Python at all.
PYTHON_CELL_MAGICS = frozenset(
    {"time", "timeit", "capture", "debug", "prun", "pypy", "python", "python3"}
)

_ESCAPE = re.compile(
    r"""[ \t]*(?:
        [%!?/,;]                                                   # %magic !shell ?help /autocall
      | [A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*=[ \t]*[%!]  # x = !ls, a = %who_ls
      | [A-Za-z_][\w.]*\?\??[ \t]*$                               # obj? obj.attr??
    )""",
    re.VERBOSE,
)
_CELL_MAGIC = re.compile(r"%%(\w+)")
_LINE_MENTION = re.compile(r"\bline (\d+)\b")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class NotebookError(Exception):
    """A changed virtual source that can no longer be split into the notebook's cells."""


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


@dataclass
class _Cell:
    number: int  # 1-based, counting every cell
    source: str
    as_list: bool  # "source": [lines] (Jupyter's own layout) rather than "source": "text"
    span: tuple[int, int]  # the source value in the notebook's text
    items: list[tuple[int, int]]  # the spans of the list's strings (or of the one string)
    escapes: list[str] = field(default_factory=list)  # the replaced escape lines, in order
    first_line: int = 0  # its first line in the virtual source (1-based)
    line_count: int = 0


@dataclass
class Notebook:
    path: str
    text: str  # the notebook's JSON text
    bom: bool
    cells: list[_Cell]  # the code cells
    python: str  # the virtual source

    # -- positions ---------------------------------------------------------------------------

    def _cell_at(self, line: int) -> tuple[_Cell, int] | None:
        """The cell that virtual ``line`` belongs to and its line there; a boundary line counts
        as the line after its cell's last (where an insertion at the end of the cell goes)."""
        starts = [cell.first_line for cell in self.cells]
        index = bisect.bisect_right(starts, line) - 1
        if index < 0:
            return None
        cell = self.cells[index]
        return cell, min(line - cell.first_line + 1, cell.line_count + 1)

    def locate(self, finding: Finding) -> Finding:
        """``finding`` (in virtual-source lines) with its cell and its lines within the cell."""
        start = self._cell_at(finding.line)
        if start is None:
            return finding
        cell, line = start
        end = self._cell_at(finding.end_line or finding.line)
        end_line = end[1] if end is not None and end[0] is cell else line
        fix = finding.fix
        if fix is not None and fix.path in (None, finding.path):  # else: another file's lines
            fix = replace(
                fix,
                description=self._locate_text(fix.description),
                edits=tuple(self._locate_edit(edit) for edit in fix.edits),
            )
        return replace(
            finding,
            line=line,
            end_line=end_line if finding.end_line else 0,
            message=self._locate_text(finding.message),
            cell=cell.number,
            fix=fix,
        )

    def _locate_text(self, text: str) -> str:
        """A message's ``line N`` (where the activation is, where the init is) in cell terms."""

        def cell_line(match: re.Match[str]) -> str:
            place = self._cell_at(int(match.group(1)))
            return match.group(0) if place is None else f"cell {place[0].number}, line {place[1]}"

        return _LINE_MENTION.sub(cell_line, text)

    def _locate_edit(self, edit: Edit) -> Edit:
        start, end = self._cell_at(edit.line), self._cell_at(edit.end_line)
        if start is None or end is None:
            return edit
        return replace(edit, line=start[1], end_line=end[1], cell=start[0].number)

    def cell_line(self, number: int, line: int) -> str | None:
        """Line ``line`` of cell ``number`` as the notebook holds it (escapes included)."""
        for cell in self.cells:
            if cell.number == number:
                lines = split_lines(cell.source, keepends=True)
                return lines[line - 1].rstrip("\r\n") if 0 < line <= len(lines) else None
        return None

    def raw_region(self, finding: Finding) -> tuple[int, int, int, int] | None:
        """Where a located finding is in the notebook's JSON text (1-based line, column, end
        line, end column): the place a code-scanning tool or a pull request's diff shows."""
        cell = next((c for c in self.cells if c.number == finding.cell), None)
        if cell is None:
            return None
        start = self._raw_position(cell, finding.line, finding.column)
        end = self._raw_position(
            cell, finding.end_line or finding.line, finding.end_column or finding.column
        )
        return (*start, *end)

    def _raw_position(self, cell: _Cell, line: int, column: int) -> tuple[int, int]:
        lines = split_lines(cell.source, keepends=True)
        position = sum(len(text) for text in lines[: max(line - 1, 0)]) + max(column - 1, 0)
        offset = cell.span[0]
        for index, (start, end) in enumerate(cell.items):  # the strings joined into the source
            length = len(json.loads(self.text[start:end]))
            if position < length or index == len(cell.items) - 1:
                offset = _raw_offset(self.text, start, min(position, length))
                break
            position -= length
        line_start = self.text.rfind("\n", 0, offset) + 1
        return self.text.count("\n", 0, offset) + 1, offset - line_start + 1

    # -- writing back ------------------------------------------------------------------------

    def cell_sources(self, python: str) -> list[str]:
        """The code cells' sources that ``python`` (a changed virtual source) stands for."""
        groups: list[list[str]] = [[]]
        for line in split_lines(python, keepends=True):
            if line == BOUNDARY:
                groups.append([])
            else:
                groups[-1].append(line)
        if groups[-1]:  # text after the last boundary belongs to the last cell
            if len(groups) < 2:
                raise NotebookError("the cell boundaries were lost")
            groups[-2].extend(groups.pop())
        else:
            groups.pop()
        if len(groups) != len(self.cells):
            raise NotebookError(f"expected {len(self.cells)} cells, found {len(groups)}")
        return [_restore(cell, lines) for cell, lines in zip(self.cells, groups, strict=True)]

    def updated(self, python: str) -> bytes:
        """The notebook's bytes with the cells' sources taken from ``python``."""
        text = self.text
        layout = _Layout.of(text)
        for cell, source in reversed(list(zip(self.cells, self.cell_sources(python), strict=True))):
            if source != cell.source:
                value = layout.source_value(text, cell, source)
                text = text[: cell.span[0]] + value + text[cell.span[1] :]
        return (("\ufeff" if self.bom else "") + text).encode("utf-8")

    def diff(self, python: str) -> str:
        """A unified diff per changed cell, headed ``a/train.ipynb:cell 3`` (as ruff shows a
        notebook's fixes)."""
        out: list[str] = []
        for cell, source in zip(self.cells, self.cell_sources(python), strict=True):
            if source == cell.source:
                continue
            name = f"{self.path}:cell {cell.number}"
            out.extend(
                difflib.unified_diff(
                    _terminated(split_lines(cell.source, keepends=True)),
                    _terminated(split_lines(source, keepends=True)),
                    f"a/{name}",
                    f"b/{name}",
                )
            )
        return "".join(out)


def _terminated(lines: list[str]) -> list[str]:
    return [line if line.endswith("\n") else line + "\n" for line in lines]


def _restore(cell: _Cell, lines: list[str]) -> str:
    """A cell's source from its lines in the virtual source: escapes back in, and no final
    newline where the cell had none."""
    escapes = iter(cell.escapes)
    restored = []
    for line in lines:
        body = line.rstrip("\r\n")
        if _PLACEHOLDER_LINE.fullmatch(body):
            original = next(escapes, None)
            if original is None:
                raise NotebookError(f"cell {cell.number}: an IPython escape was duplicated")
            line = original + line[len(body) :]
        restored.append(line)
    if next(escapes, None) is not None:
        raise NotebookError(f"cell {cell.number}: an IPython escape was lost")
    source = "".join(restored)
    if not cell.source.endswith("\n") and source.endswith("\n"):
        source = source[:-1]
    return source


def _raw_offset(text: str, literal_start: int, position: int) -> int:
    """The offset in ``text`` of the ``position``-th character of the JSON string literal that
    starts (with its quote) at ``literal_start``, following its escapes exactly."""
    index = literal_start + 1
    for _ in range(position):
        if text[index] == '"':
            break
        if text[index] != "\\":
            index += 1
        elif text[index + 1] != "u":
            index += 2
        else:
            unit = int(text[index + 2 : index + 6], 16)
            surrogate = 0xD800 <= unit < 0xDC00 and text[index + 6 : index + 8] == "\\u"
            index += 12 if surrogate else 6
    return index


@dataclass(frozen=True)
class _Layout:
    """How the notebook's JSON is written, so that a new source value looks like the others."""

    newline: str
    indent: str | None  # one level; None: everything on one line
    ensure_ascii: bool

    @classmethod
    def of(cls, text: str) -> _Layout:
        newline = "\r\n" if "\r\n" in text else "\n"
        match = re.search(r"\n([ \t]+)\S", text)
        indent = match.group(1) if match else None
        # Escaped non-ASCII characters (not just control characters): written with ensure_ascii.
        ensure_ascii = text.isascii() and re.search(r"\\u(?!00[01])[0-9a-fA-F]{4}", text)
        return cls(newline, indent, bool(ensure_ascii))

    def dumps(self, value: str) -> str:
        return json.dumps(value, ensure_ascii=self.ensure_ascii)

    def source_value(self, text: str, cell: _Cell, source: str) -> str:
        if not cell.as_list:
            return self.dumps(source)
        lines = split_lines(source, keepends=True)
        if not lines:
            return "[]"
        original = text[cell.span[0] : cell.span[1]]
        if self.indent is None or ("\n" not in original and original != "[]"):
            return "[" + ", ".join(self.dumps(line) for line in lines) + "]"
        if "\n" in original:
            item_indent = re.match(r"\[\s*?\n([ \t]*)", original)
            close_indent = re.search(r"\n([ \t]*)\]$", original)
            inner = item_indent.group(1) if item_indent else ""
            outer = close_indent.group(1) if close_indent else ""
        else:  # "[]": one level deeper than the "source" key
            line_start = text.rfind("\n", 0, cell.span[0]) + 1
            outer = re.match(r"[ \t]*", text[line_start:]).group(0)  # type: ignore[union-attr]
            inner = outer + self.indent
        items = ("," + self.newline).join(inner + self.dumps(line) for line in lines)
        return f"[{self.newline}{items}{self.newline}{outer}]"


# -- reading ----------------------------------------------------------------------------------


def _members(text: str, index: int) -> Iterator[tuple[str, int, int]]:
    """(key, value start, value end) of the JSON object that starts at ``index``."""
    index = _WHITESPACE.match(text, index + 1).end()  # type: ignore[union-attr]
    while text[index] == '"':
        key, index = _DECODER.raw_decode(text, index)
        index = _WHITESPACE.match(text, index).end() + 1  # type: ignore[union-attr]  # ':'
        start = _WHITESPACE.match(text, index).end()  # type: ignore[union-attr]
        _, end = _DECODER.raw_decode(text, start)
        yield key, start, end
        index = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
        if text[index] == ",":
            index = _WHITESPACE.match(text, index + 1).end()  # type: ignore[union-attr]


def _items(text: str, index: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each value of the JSON array that starts at ``index``."""
    index = _WHITESPACE.match(text, index + 1).end()  # type: ignore[union-attr]
    while text[index] != "]":
        _, end = _DECODER.raw_decode(text, index)
        yield index, end
        index = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
        if text[index] == ",":
            index = _WHITESPACE.match(text, index + 1).end()  # type: ignore[union-attr]


def _error(path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(path, max(line, 1), max(column, 1), PARSE_ERROR_CODE, message)


def _is_python(data: dict[str, Any]) -> bool:
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    for key, name in (("language_info", "name"), ("kernelspec", "language")):
        table = metadata.get(key)
        language = table.get(name) if isinstance(table, dict) else None
        if isinstance(language, str):
            return language.lower() == "python"
    return True


def load(path: str, data: bytes) -> Notebook | Finding | None:
    """The notebook in ``data``; an INI999 finding when it is not a readable notebook; None for a
    notebook in another language than Python (nothing to lint)."""
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return _error(path, f"invalid notebook: not UTF-8 ({error.reason})")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return _error(path, f"invalid notebook: not JSON ({error.msg})", error.lineno, error.colno)
    if not isinstance(document, dict):
        return _error(path, "invalid notebook: the JSON document is not an object")
    if not isinstance(document.get("cells"), list):
        version = document.get("nbformat")
        if "worksheets" in document:
            return _error(
                path,
                f"unsupported notebook format {version}: convert it with "
                "`jupyter nbconvert --to notebook --nbformat 4`",
            )
        return _error(path, "invalid notebook: no 'cells' list")
    if not _is_python(document):
        return None
    cells = _code_cells(text, document)
    if isinstance(cells, str):
        return _error(path, f"invalid notebook: {cells}")
    return Notebook(path, text, bom, cells, _virtual_source(cells))


def _code_cells(text: str, document: dict[str, Any]) -> list[_Cell] | str:
    """The code cells with the spans of their sources; a message for a malformed cell."""
    index = _WHITESPACE.match(text).end()  # type: ignore[union-attr]
    cells_span = [(start, end) for key, start, end in _members(text, index) if key == "cells"][-1]
    cells = []
    for number, ((start, _), cell) in enumerate(
        zip(_items(text, cells_span[0]), document["cells"], strict=True), 1
    ):
        if not isinstance(cell, dict):
            return f"cell {number} is not an object"
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        as_list = isinstance(source, list)
        if as_list and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            return f"cell {number}: 'source' must be a string or a list of strings"
        spans = [(s, e) for key, s, e in _members(text, start) if key == "source"]
        if not spans:
            return f"cell {number} has no 'source'"
        span = spans[-1]
        items = list(_items(text, span[0])) if as_list else [span]
        cells.append(_Cell(number, source, as_list, span, items))
    return cells


def _escape_indents(source: str) -> list[str | None]:
    """For each line of a cell, None for Python, or the indentation of the placeholder that
    replaces an IPython escape (that of the escape's first line, so that a continued escape or a
    block's only statement still parses; none in a ``%%bash``-style cell)."""
    lines = split_lines(source, keepends=True)
    first = _CELL_MAGIC.match(lines[0]) if lines else None
    if first is not None and first.group(1) not in PYTHON_CELL_MAGICS:
        return [""] * len(lines)
    indents: list[str | None] = []
    continued: str | None = None
    for number, line in enumerate(lines):
        indent = continued
        if indent is None and ((number == 0 and first) or _ESCAPE.match(line)):
            indent = _indent(line)
        indents.append(indent)
        continued = indent if indent is not None and line.rstrip("\r\n").endswith("\\") else None
    return indents


def _virtual_source(cells: list[_Cell]) -> str:
    parts: list[str] = []
    line = 1
    for cell in cells:
        lines = split_lines(cell.source, keepends=True)
        cell.first_line, cell.line_count = line, len(lines)
        for text, indent in zip(lines, _escape_indents(cell.source), strict=True):
            if indent is not None:
                body = text.rstrip("\r\n")
                cell.escapes.append(body)
                text = indent + PLACEHOLDER + (text[len(body) :] or "\n")
            parts.append(text if text.endswith("\n") else text + "\n")
        parts.append(BOUNDARY)
        line += len(lines) + 1
    return "".join(parts)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]
