"""Where each layer was built, so that runtime findings point at a source line.

``with record_sites(): model = build()`` records, for every ``nn.Module`` constructed inside, the
constructor call's file:line:col: the innermost frame of the stack at construction that is not
torch's, init-lint's or the standard library's, and not the module's own ``__init__`` chain (a
``Conv2d`` subclass calling ``super().__init__``). ``init-lint verify module:factory`` imports
the module and calls the factory inside it.

For a model built elsewhere, :func:`site_of` falls back to the ``self.<name> = …`` assignment in
the parent module's class source when there is exactly one (and, for an element of a literal
``nn.Sequential(a, b, …)`` so assigned, to that element), and finally to the parent class's
definition line.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import itertools
import os
import sys
import sysconfig
import textwrap
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import torch
from torch import nn

#: Frames from these directories are never a construction site.
_LIBRARY_DIRS = tuple(
    os.path.join(os.path.realpath(path), "")
    for path in (
        os.path.dirname(torch.__file__),
        os.path.dirname(os.path.dirname(__file__)),  # init_lint
        sysconfig.get_paths()["stdlib"],
    )
)
#: Outer frames kept besides the innermost (a helper such as ``conv3x3`` and its caller).
CONTEXT_FRAMES = 4


@dataclass(frozen=True)
class Site:
    """A source position (1-based line and column) and how it was found."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    how: str  # 'constructed' (recorded), 'assigned' (self.<name> = ...), 'class' (definition)
    #: Outer construction frames (path, line, column), innermost first: helper functions' callers.
    callers: tuple[tuple[str, int, int], ...] = ()

    def positions(self) -> tuple[tuple[str, int, int], ...]:
        return ((self.path, self.line, self.column), *self.callers)


_SITES: weakref.WeakKeyDictionary[nn.Module, Site] = weakref.WeakKeyDictionary()
_depth = 0


def _is_library(filename: str) -> bool:
    return os.path.realpath(filename).startswith(_LIBRARY_DIRS) or filename.startswith("<")


def _position(frame: FrameType) -> tuple[int, int, int, int]:
    """The current call's span in ``frame`` (1-based columns; the line only before 3.11)."""
    code, line = frame.f_code, frame.f_lineno
    positions = getattr(code, "co_positions", None)
    if positions is not None and frame.f_lasti >= 0:
        start, end, col, end_col = next(itertools.islice(positions(), frame.f_lasti // 2, None))
        if start is not None and col is not None:
            return start, col + 1, end or start, (end_col or col) + 1
    return line, 1, line, 1


def _construction_site(module: nn.Module, frame: FrameType | None) -> Site | None:
    found: list[tuple[str, int, int, int, int]] = []
    while frame is not None and len(found) <= CONTEXT_FRAMES:
        filename = frame.f_code.co_filename
        if not _is_library(filename) and frame.f_locals.get("self") is not module:
            found.append((filename, *_position(frame)))
        frame = frame.f_back
    if not found:
        return None
    path, line, column, end_line, end_column = found[0]
    callers = tuple((p, ln, col) for p, ln, col, _, _ in found[1:])
    return Site(path, line, column, end_line, end_column, "constructed", callers)


@contextlib.contextmanager
def record_sites() -> Iterator[None]:
    """Record the construction site of every module built inside (see the module docstring)."""
    global _depth
    original = nn.Module.__init__
    if _depth == 0:

        @functools.wraps(original)
        def recording_init(self: nn.Module, *args: Any, **kwargs: Any) -> None:
            if self not in _SITES:
                site = _construction_site(self, sys._getframe(1))
                if site is not None:
                    _SITES[self] = site
            original(self, *args, **kwargs)

        nn.Module.__init__ = recording_init  # type: ignore[method-assign]
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            nn.Module.__init__ = inspect.unwrap(nn.Module.__init__)  # type: ignore[method-assign]


def recorded_site(module: nn.Module) -> Site | None:
    return _SITES.get(module)


def site_of(model: nn.Module, name: str) -> Site | None:
    """The site of the submodule ``name`` (qualified) of ``model``: recorded, else located."""
    try:
        module = model.get_submodule(name) if name != "<model>" else model
    except AttributeError:
        return None
    site = recorded_site(module)
    if site is not None or name in ("", "<model>"):
        return site
    parent_name, _, attribute = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    site = _assignment_site(type(parent), attribute)
    if site is None and attribute.isdigit() and parent_name:
        # An element of a container: the literal nn.Sequential(...) its parent assigned.
        grand_name, _, container = parent_name.rpartition(".")
        grand = model.get_submodule(grand_name) if grand_name else model
        site = _assignment_site(type(grand), container, element=int(attribute))
    return site or _class_site(type(parent))


@functools.lru_cache(maxsize=256)
def _class_tree(cls: type) -> tuple[str, int, ast.AST] | None:
    """(file, first line, parsed source) of a class defined outside torch."""
    try:
        path = inspect.getsourcefile(cls)
        lines, start = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return None
    if path is None or _is_library(path):
        return None
    try:
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except SyntaxError:
        return None
    return path, start, tree


def _assignment_site(cls: type, attribute: str, element: int | None = None) -> Site | None:
    for klass in cls.__mro__:
        if klass is nn.Module:
            break
        parsed = _class_tree(klass)
        if parsed is None:
            continue
        path, start, _ = parsed
        values = _assignments(klass).get(attribute, [])
        if len(values) > 1:
            return None  # assigned in several places: ambiguous
        if values:
            return _node_site(values[0], path, start, element)
    return None


@functools.lru_cache(maxsize=256)
def _assignments(cls: type) -> dict[str, list[ast.expr]]:
    """``self.<name> = value`` in the class's source: name → the values assigned."""
    parsed = _class_tree(cls)
    found: dict[str, list[ast.expr]] = {}
    if parsed is None:
        return found
    for node in ast.walk(parsed[2]):
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                found.setdefault(target.attr, []).append(node.value)
    return found


def _node_site(node: ast.expr, path: str, start: int, element: int | None) -> Site | None:
    if element is not None:
        args = node.args if isinstance(node, ast.Call) else []
        if any(isinstance(a, ast.Starred) for a in args) or element >= len(args):
            return None
        node = args[element]
    line, end_line = node.lineno + start - 1, (node.end_lineno or node.lineno) + start - 1
    # Columns of the dedented source: add back the class's indentation.
    indent = _indent(path, start)
    return Site(
        path,
        line,
        node.col_offset + indent + 1,
        end_line,
        (node.end_col_offset or node.col_offset) + indent + 1,
        "assigned",
    )


@functools.lru_cache(maxsize=256)
def _indent(path: str, line: int) -> int:
    try:
        with open(path, encoding="utf-8") as handle:
            text = next(itertools.islice(handle, line - 1, None), "")
    except OSError:
        return 0
    return len(text) - len(text.lstrip())


def _class_site(cls: type) -> Site | None:
    parsed = _class_tree(cls)
    if parsed is None:
        return None
    path, start, _ = parsed
    column = _indent(path, start) + 1
    return Site(path, start, column, start, column, "class")


def source_files(model: nn.Module) -> list[str]:
    """The Python files the model's layers and classes come from (torch's own excluded): what
    the static checker reads for ``init-lint verify --static``."""
    files: set[str] = set()
    for module in model.modules():
        site = recorded_site(module)
        if site is not None:
            files.update(path for path, _, _ in site.positions())
        for cls in type(module).__mro__:
            if cls is nn.Module:
                break
            parsed = _class_tree(cls)
            if parsed is not None:
                files.add(parsed[0])
    return sorted(f for f in files if f.endswith(".py") and os.path.isfile(f))
