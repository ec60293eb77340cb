"""Per-file analysis results kept on disk (``.init_lint_cache/``), so that an unchanged file is
only hashed, not parsed again.

An entry is keyed by a hash of everything its result depends on: the file's bytes, its path and
module name (both are in the facts), the effective options and the tool itself (its version and
the text of its own modules, so that an edited checkout never reuses stale facts). Only per-file
results are stored; cross-file resolution always reruns over all facts, so a change in one file
reaches the findings of every other file that depends on it.

A cache entry is a hint, never trusted blindly: anything unreadable, of another format or
version, or of an unexpected type counts as a miss and is overwritten. Writes go to a temporary
file renamed into place, so a concurrent or interrupted run never leaves half an entry.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Union

from . import __version__
from .findings import Finding

if TYPE_CHECKING:
    from .analysis.facts import FileFacts
    from .engine import Options

DEFAULT_DIRECTORY = ".init_lint_cache"
FORMAT = 1  # bump when the entry layout changes

#: What a file's analysis yields: facts, an INI999 finding, or None (skipped by the prefilter).
Result = Union["FileFacts", Finding, None]


class _Miss:
    pass


MISS = _Miss()


@functools.cache
def tool_fingerprint() -> str:
    """Version plus a digest of the package's own modules (an editable install changes them)."""
    digest = hashlib.sha256(f"{__version__}:{FORMAT}".encode())
    package = Path(__file__).resolve().parent
    for module in sorted(package.rglob("*.py")):
        digest.update(module.relative_to(package).as_posix().encode())
        digest.update(module.read_bytes())
    return digest.hexdigest()


class Cache:
    """A directory of pickled per-file results, one file per entry."""

    def __init__(self, directory: str | os.PathLike[str], options: Options) -> None:
        self.directory = Path(directory)
        self._entries = self.directory / f"v{FORMAT}"
        self._salt = f"{tool_fingerprint()}\0{options!r}\0".encode()
        self._ready = False

    def key(self, path: str, module_name: str, source: str | bytes) -> str:
        data = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(self._salt)
        digest.update(f"{path}\0{module_name}\0".encode("utf-8", "surrogatepass"))
        digest.update(data)
        return digest.hexdigest()

    def _entry(self, key: str) -> Path:
        return self._entries / key[:2] / key

    def load(self, key: str, path: str) -> Result | _Miss:
        try:
            with open(self._entry(key), "rb") as handle:
                stored = pickle.load(handle)
        except FileNotFoundError:
            return MISS
        except Exception:  # noqa: BLE001 - a damaged entry is a miss; it is rewritten below
            return MISS
        return stored[2] if _valid(stored, key, path) else MISS

    def store(self, key: str, result: Result) -> None:
        """Best effort: a cache that cannot be written only makes the next run slower."""
        entry = self._entry(key)
        try:
            self._prepare()
            entry.parent.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as stream:
                    pickle.dump((FORMAT, key, result), stream, pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, entry)
            except BaseException:
                os.unlink(temporary)
                raise
        except (OSError, pickle.PicklingError):
            pass

    def _prepare(self) -> None:
        if self._ready:
            return
        self._entries.mkdir(parents=True, exist_ok=True)
        # Like ruff's cache: never committed, and backup tools may skip it.
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Automatically created by init-lint.\n*\n")
        tag = self.directory / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by init-lint.\n"
            )
        self._ready = True


def _valid(stored: object, key: str, path: str) -> bool:
    from .analysis.facts import FileFacts

    if not (isinstance(stored, tuple) and len(stored) == 3):
        return False
    version, stored_key, result = stored
    if version != FORMAT or stored_key != key:
        return False
    if result is None:
        return True
    return isinstance(result, (FileFacts, Finding)) and result.path == path
