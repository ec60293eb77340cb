"""Which files a run lints: directories are walked for ``*.py`` and ``*.ipynb``; named files are
always linted.

A directory walk skips what ``.gitignore`` files ignore (those inside the walked tree and those
above it up to the repository root) and what the ``exclude``/``extend-exclude`` patterns match.
Both use gitignore syntax: ``build`` matches a file or directory of that name anywhere,
``tests/fixtures/`` is relative to the config's root, ``*_pb2.py`` matches by name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .config import Settings
from .filtering import relative_posix

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
    errors: list[str] = field(default_factory=list)  # one message per path that does not exist


class _GitIgnores:
    """The ``.gitignore`` specs that apply in a directory, each with the directory it is in."""

    def __init__(self) -> None:
        self._by_dir: dict[str, list[_Spec]] = {}

    @staticmethod
    def _load(directory: str) -> list[_Spec]:
        try:
            with open(
                os.path.join(directory, ".gitignore"), encoding="utf-8", errors="replace"
            ) as f:
                return [(directory, pathspec.GitIgnoreSpec.from_lines(f))]
        except OSError:
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
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
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

    for path in paths:
        if os.path.isfile(path):
            # Named explicitly: linted whatever the excludes say, unless forced.
            if not (force_exclude and excluded.match_file(relative_posix(path, settings.root))):
                add(path)
        elif os.path.isdir(path):
            top = os.path.abspath(path)
            top_specs = gitignores.for_top(top)
            base = exclude_base(top)
            for directory, subdirs, names in os.walk(path):
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
                        add(file_path)
        else:
            result.errors.append(f"{path}: no such file or directory")
    return result
