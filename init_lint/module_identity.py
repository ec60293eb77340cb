"""One name per module of a run, even where two directories hold modules of the same name.

A script's directory is where Python looks first for what it imports: ``gan/train.py`` and
``vae/train.py`` each import their own ``models.py`` with ``from models import *``. Both would
be the module ``models``, and the facts of the two files would be taken for one module's (a
class of one judged with the other's init loop). When the top-level name of modules of the run
is found under more than one root (the directory a module's top-level name is found in: a
script's own, a package's parent), each such name is given a suffix for its root, and the files
of that root import it under the new name (:class:`~init_lint.analysis.imports.Renamed`).
Nothing changes for a run without such a clash.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Renamed:
    """Top-level module names the run gives a suffix: (name, new name) for the ones of a
    file's root, which its imports are read with."""

    pairs: tuple[tuple[str, str], ...]


def renamed_module(module: str, renamed: Mapping[str, str]) -> str:
    """An absolute module name as the run names it (``models.x`` → ``models__1a2b3c4d.x``)."""
    if not renamed:
        return module
    top, dot, rest = module.partition(".")
    return f"{renamed.get(top, top)}{dot}{rest}"


def separate(paths: Sequence[str], names: list[str]) -> tuple[list[str], list[Renamed | None]]:
    """The module names of the run with clashing top-level names made distinct, and what each
    file's imports are to be read with (None where nothing changes for the file)."""
    roots = [_root(path, name) for path, name in zip(paths, names, strict=True)]
    found: dict[str, set[str]] = {}
    for name, root in zip(names, roots, strict=True):
        found.setdefault(name.partition(".")[0], set()).add(root)
    clashing = {top for top, where in found.items() if len(where) > 1 and top}
    if not clashing:
        return names, [None] * len(names)
    per_root: dict[str, dict[str, str]] = {}
    for top in sorted(clashing):
        for root in found[top]:
            per_root.setdefault(root, {})[top] = f"{top}__{_digest(root)}"
    renamed_names = [
        renamed_module(name, per_root.get(root, {}))
        for name, root in zip(names, roots, strict=True)
    ]
    given = {root: Renamed(tuple(sorted(pairs.items()))) for root, pairs in per_root.items()}
    return renamed_names, [given.get(root) for root in roots]


def _root(path: str, name: str) -> str:
    """The directory a module's top-level name is found in."""
    if path in ("-", "<stdin>"):
        return ""
    file = Path(os.path.abspath(path))
    depth = name.count(".") + (1 if file.name == "__init__.py" else 0)
    parents = file.parents
    return str(parents[depth]) if depth < len(parents) else str(file.parent)


def _digest(root: str) -> str:
    """A short, stable tag for a root: word characters only, so that a renamed module is
    still a dotted name (keys split at dots, and are matched as words)."""
    return hashlib.sha1(root.encode("utf-8", "surrogatepass")).hexdigest()[:8]
