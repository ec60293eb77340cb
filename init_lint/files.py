"""Which files a run lints: directories are walked for ``*.py`` and ``*.ipynb``; named files are
always linted.

A directory walk skips what ``.gitignore`` files ignore (those inside the walked tree and those
above it up to the repository root) and what the ``exclude``/``extend-exclude`` patterns match.
Both use gitignore syntax: ``build`` matches a file or directory of that name anywhere,
``tests/fixtures/`` is relative to the config's root, ``*_pb2.py`` matches by name.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .config import Settings
from .engine import file_kind, read_source
from .filtering import relative_posix
from .lines import split_lines

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".env", "env", ".tox", ".nox", ".eggs",
    "*.egg-info", "build", "dist", "_build", "buck-out", "__pycache__", "__pypackages__",
    "node_modules", "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".ipynb_checkpoints", ".direnv",
)  # fmt: skip


#: What a directory walk picks up: Python files and Jupyter notebooks.
SOURCE_SUFFIXES = (".py", ".ipynb")

_Spec = tuple[str, pathspec.GitIgnoreSpec]  # a .gitignore's directory and its patterns


@dataclass
class FileSet:
    files: list[str] = field(default_factory=list)
    #: Named paths that cannot be linted, directories that cannot be read: the run exits 2.
    errors: list[str] = field(default_factory=list)
    #: Entries of a walked tree that are skipped (a FIFO or a broken link named *.py).
    warnings: list[str] = field(default_factory=list)


class _GitIgnores:
    """The ``.gitignore`` specs that apply in a directory, each with the directory it is in."""

    def __init__(self) -> None:
        self._by_dir: dict[str, list[_Spec]] = {}

    @staticmethod
    def _load(directory: str) -> list[_Spec]:
        data = read_source(os.path.join(directory, ".gitignore"))  # never blocks on a FIFO
        if not isinstance(data, bytes):
            return []
        lines = split_lines(data.decode("utf-8", "replace"))
        try:
            return [(directory, pathspec.GitIgnoreSpec.from_lines(lines))]
        except (ValueError, re.error):  # a pattern git would ignore; so do we, with the file
            return []

    def for_top(self, top: str) -> list[_Spec]:
        """Specs from ``top`` and its ancestors up to the repository root (outermost first)."""
        chain = [top]
        if not os.path.isdir(os.path.join(top, ".git")):
            for parent in Path(top).parents:
                chain.append(str(parent))
                if os.path.isdir(os.path.join(parent, ".git")):
                    break
            else:  # not in a repository: .gitignore files above the walked tree do not apply
                chain = [top]
        specs = [spec for directory in reversed(chain[1:]) for spec in self._load(directory)]
        if self.ignored(top, True, specs):
            specs = []  # the user named an ignored directory: lint it, minding only its own rules
        specs += self._load(top)
        self._by_dir[top] = specs
        return specs

    def for_child(self, parent: str, child: str) -> list[_Spec]:
        specs = self._by_dir[parent] + self._load(child)
        self._by_dir[child] = specs
        return specs

    @staticmethod
    def ignored(path: str, is_dir: bool, specs: list[_Spec]) -> bool:
        """Git's rule: the deepest ``.gitignore`` with a matching pattern decides (``!`` too)."""
        decision = False
        for base, spec in specs:
            relative = os.path.relpath(path, base).replace(os.sep, "/") + ("/" if is_dir else "")
            result = spec.check_file(relative)
            if result.include is not None:
                decision = result.include
        return decision


def exclude_spec(settings: Settings) -> pathspec.GitIgnoreSpec:
    patterns = settings.exclude if settings.exclude is not None else DEFAULT_EXCLUDE
    return pathspec.GitIgnoreSpec.from_lines([*patterns, *settings.extend_exclude])


def find_python_files(
    paths: Sequence[str], settings: Settings, force_exclude: bool = False
) -> FileSet:
    """Expand ``paths`` into the files to lint, in a stable order and without duplicates.

    ``force_exclude`` applies the exclude patterns to named files too (as ruff's flag does), for
    callers such as pre-commit that name every file.
    """
    excluded = exclude_spec(settings)
    gitignores = _GitIgnores()
    result = FileSet()
    seen: set[tuple[int, int]] = set()  # (device, inode): a file behind two names is linted once

    def add(path: str, info: os.stat_result) -> None:
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            result.files.append(path)

    def exclude_base(top: str) -> str:
        """Excludes match paths relative to the config's root; under a named directory that lies
        outside the root or is itself excluded, relative to that directory (so that its own
        ancestors, e.g. ``site-packages``, do not exclude everything in it)."""
        relative = relative_posix(top, settings.root)
        if os.path.isabs(relative) or relative.startswith("../"):
            return top
        return top if excluded.match_file(relative + "/") else str(settings.root)

    def skipped(path: str, is_dir: bool, base: str, specs: list[_Spec]) -> bool:
        relative = os.path.relpath(path, base).replace(os.sep, "/") + ("/" if is_dir else "")
        return excluded.match_file(relative) or gitignores.ignored(path, is_dir, specs)

    def unreadable(error: OSError) -> None:
        where = os.path.normpath(error.filename)  # no "./"
        result.errors.append(f"{where}: cannot read directory: {_reason(error)}")

    def walk(path: str) -> None:
        top = os.path.abspath(path)
        top_specs = gitignores.for_top(top)
        base = exclude_base(top)
        for directory, subdirs, names in os.walk(path, onerror=unreadable):
            absolute = os.path.abspath(directory)
            specs = (
                top_specs
                if directory == path
                else gitignores.for_child(os.path.dirname(absolute), absolute)
            )
            subdirs[:] = sorted(
                d for d in subdirs if not skipped(os.path.join(absolute, d), True, base, specs)
            )
            for name in sorted(names):
                file_path = os.path.normpath(os.path.join(directory, name))  # no "./"
                if name.endswith(SOURCE_SUFFIXES) and not skipped(
                    os.path.join(absolute, name), False, base, specs
                ):
                    info = _regular(file_path, result.warnings, "skipped: ")
                    if info is not None:
                        add(file_path, info)

    for path in paths:
        try:
            info = os.stat(path)
        except OSError as error:
            result.errors.append(f"{path}: {_reason(error)}")
            continue
        if stat.S_ISDIR(info.st_mode):
            walk(path)
        elif _regular(path, result.errors, "", info) is not None:
            # Named explicitly: linted whatever the excludes say, unless forced.
            if not (force_exclude and excluded.match_file(relative_posix(path, settings.root))):
                add(path, info)
    return result


def _regular(
    path: str, messages: list[str], prefix: str, info: os.stat_result | None = None
) -> os.stat_result | None:
    """The file's status if it is a regular file (after symlinks); else a message and None."""
    try:
        info = info or os.stat(path)
    except OSError as error:
        messages.append(f"{path}: {prefix}{_reason(error)}")
        return None
    if not stat.S_ISREG(info.st_mode):
        kind = file_kind(stat.S_IFMT(info.st_mode))
        messages.append(f"{path}: {prefix}not a regular file ({kind})")
        return None
    return info


def _reason(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file or directory"
    if error.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop)"
    return (error.strerror or str(error)).lower()


#: A named file's program is not read beyond this many files (a file named in a huge flat
#: directory such as ``/tmp``): past it, the file is linted alone, as before.
MAX_CONTEXT_FILES = 5000


def program_root(path: str) -> tuple[str, bool]:
    """Where the rest of a file's program lies, and whether it is walked recursively.

    A file in a package belongs with its top package (the highest directory that still has an
    ``__init__.py``), whose modules import one another. A file outside any package (a script) is
    imported beside, and imports, the files of its own directory and the packages in it."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isfile(os.path.join(directory, "__init__.py")):
        return directory, False
    while True:
        parent = os.path.dirname(directory)
        if parent == directory or not os.path.isfile(os.path.join(parent, "__init__.py")):
            return directory, True
        directory = parent


def context_files(files: Sequence[str], walked: Sequence[str], settings: Settings) -> list[str]:
    """The Python files of the programs that ``files`` belong to and that a run over ``files``
    does not already read: what a file named alone (pre-commit, flake8, an editor) needs to be
    judged as it is in a run over its whole package. ``walked`` are the directories the run
    walks (their programs are read already); excludes and ``.gitignore`` apply."""
    covered = [os.path.abspath(top) for top in walked]
    roots: dict[str, bool] = {}
    for path in files:
        root, recursive = program_root(path)
        if not any(_within(root, top) for top in covered):
            roots[root] = roots.get(root, False) or recursive
    if not roots:
        return []
    named = {os.path.realpath(path) for path in files}
    tops: list[str] = []
    for root, recursive in roots.items():
        tops += [root] if recursive else _script_directory(root)
    found = find_python_files(tops, settings, force_exclude=True).files
    context = [f for f in found if f.endswith(".py") and os.path.realpath(f) not in named]
    return context if len(context) <= MAX_CONTEXT_FILES else []


def _within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def _script_directory(directory: str) -> list[str]:
    """A script directory's own ``.py`` files and the packages directly in it."""
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return []
    tops = []
    for entry in entries:
        try:
            if entry.is_file() and entry.name.endswith(".py"):
                tops.append(entry.path)
            elif entry.is_dir() and os.path.isfile(os.path.join(entry.path, "__init__.py")):
                tops.append(entry.path)
        except OSError:
            continue
    return tops
