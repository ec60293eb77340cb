"""Per-file analysis results kept on disk, so that an unchanged file is only hashed, not parsed.

An entry is keyed by a hash of everything its result depends on: the file's bytes, its path and
module name (both are in the facts), the effective options, whether the file was analysed in
full or only checked, and the tool itself (its version and the text of its own modules, so that
an edited checkout never reuses stale facts). Cross-file resolution reruns over all facts
whenever any file differs, so a change in one file reaches the findings of every other file
that depends on it; only a run over exactly the same files (paths, module names, bytes) with
the same options and tool reuses its findings whole (:meth:`Cache.run_key`).

An entry is JSON data, decoded by :mod:`init_lint.codec` into the result classes and nothing
else: reading the cache cannot run code, whoever wrote it. It is a hint, never trusted blindly:
anything unreadable, not a regular file, of another format or version, for another path, or
whose data do not fit the classes counts as a miss and is overwritten. Writes go to a
temporary file renamed into place, so a concurrent or interrupted run never leaves half an
entry. By default the cache lives in the user's cache directory, one folder per project
(:func:`default_directory`), where a repository being linted cannot plant entries.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from . import __version__
from .codec import Codec, CodecError
from .findings import Finding

if TYPE_CHECKING:
    from .analysis.facts import FileFacts, Holders
    from .engine import Options

FORMAT = 2  # bump when the entry layout changes
#: An entry bigger than this is not read (a planted or damaged file, not a result).
MAX_ENTRY_BYTES = 64 * 1024 * 1024
#: A result with more values than this is not stored: reanalysing is cheaper than the JSON.
MAX_ENTRY_VALUES = 1_000_000

#: What a file's analysis yields: facts, an INI999 finding, or None (nothing to analyse).
Result = Union["FileFacts", "Holders", Finding, None]


class Miss:
    pass


MISS = Miss()


def user_cache_home() -> Path | None:
    """Where this user's caches go: ``$XDG_CACHE_HOME`` or ``~/.cache`` (the platform's folder
    on macOS and Windows); None when there is no home directory."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"])
    try:
        home = Path.home()
    except RuntimeError:  # no HOME, no passwd entry
        return None
    return home / "Library" / "Caches" if sys.platform == "darwin" else home / ".cache"


def default_directory(project_root: Path) -> Path | None:
    """The cache folder of one project: ``<user cache>/init-lint/<name>-<hash of its path>``."""
    base = user_cache_home()
    if base is None:
        return None
    resolved = str(project_root.resolve())
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in project_root.name)
    return base / "init-lint" / f"{name[:40] or 'root'}-{digest}"


@functools.cache
def tool_fingerprint() -> str:
    """Version plus a digest of the package's own modules (an editable install changes them)."""
    digest = hashlib.sha256(f"{__version__}:{FORMAT}".encode())
    package = Path(__file__).resolve().parent
    for module in sorted(package.rglob("*.py")):
        digest.update(module.relative_to(package).as_posix().encode())
        digest.update(module.read_bytes())
    return digest.hexdigest()


def encode_result(result: Result) -> str | None:
    """A result as the JSON text of a cache entry's ``result`` (None: it cannot be kept).
    Workers call this, so that the parent only writes files (see :meth:`Cache.store`)."""
    try:
        data = codec().encode(result, limit=MAX_ENTRY_VALUES)
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    except (CodecError, ValueError, RecursionError):
        return None


@functools.cache
def codec() -> Codec:
    """The result classes: every dataclass of the facts module, and findings."""
    import dataclasses

    from .analysis import facts

    classes = [
        value
        for value in vars(facts).values()
        if dataclasses.is_dataclass(value) and value.__module__ == facts.__name__
    ]
    from .analysis.portable import PortableModule

    return Codec([Finding, PortableModule, *classes])  # type: ignore[list-item]


class Cache:
    """A directory of JSON per-file results, one file per entry."""

    def __init__(self, directory: str | os.PathLike[str], options: Options) -> None:
        self.directory = Path(directory)
        self._entries = self.directory / f"v{FORMAT}"
        self._salt = f"{tool_fingerprint()}\0{options!r}\0".encode()
        self._ready = False

    def key(
        self,
        path: str,
        module_name: str,
        source: str | bytes,
        full: bool = False,
        requests: str = "",
    ) -> str:
        """``full``: the file is analysed whatever the prefilter says (a later round);
        ``requests``: the contexts other files asked it to run its classes in."""
        data = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(self._salt)
        head = f"{path}\0{module_name}\0{int(full)}\0{requests}\0"
        digest.update(head.encode("utf-8", "surrogatepass"))
        digest.update(data)
        return digest.hexdigest()

    def run_key(self, sources: Sequence[tuple[str, str | bytes]], names: Sequence[str]) -> str:
        """The key of a whole run's findings: every file's path, module name and bytes (what
        the findings of each file may depend on), in path order."""
        digest = hashlib.sha256(self._salt + b"run\0")
        for (path, source), name in sorted(zip(sources, names, strict=True), key=_by_path):
            data = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
            digest.update(f"{path}\0{name}\0{len(data)}\0".encode("utf-8", "surrogatepass"))
            digest.update(data)
        return digest.hexdigest()

    def load_findings(self, key: str, paths: Collection[str]) -> list[Finding] | None:
        """A run's findings stored under ``key``; None when there are none that fit, or when
        one of them (or its fix) concerns a file that is not one of the run's ``paths``."""
        findings: list[Finding] | None = self.load_value("runs", key, list[Finding])
        for finding in findings or ():
            if finding.path not in paths or (
                finding.fix is not None and finding.fix.target(finding.path) not in paths
            ):
                return None
        return findings

    def store_findings(self, key: str, findings: list[Finding]) -> None:
        self.store_value("runs", key, findings)

    def value_key(self, kind: str, module_name: str, source: str | bytes) -> str:
        """The key of a value computed from one file's module name and bytes alone."""
        data = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(self._salt + f"{kind}\0{module_name}\0".encode())
        digest.update(data)
        return digest.hexdigest()

    def load_value(self, kind: str, key: str, hint: Any) -> Any | None:
        """A value of type ``hint`` stored under ``key`` in the ``kind`` folder; None when there
        is none that fits."""
        found = _read_entry(
            self._entry(key, self.directory / f"v{FORMAT}-{kind}"), key, "value", hint
        )
        return None if found is MISS else found

    def store_value(self, kind: str, key: str, value: object) -> None:
        """Best effort, like :meth:`store`."""
        entry = self._entry(key, self.directory / f"v{FORMAT}-{kind}")
        self._write(entry, {"format": FORMAT, "key": key, "value": value})

    def _entry(self, key: str, folder: Path | None = None) -> Path:
        return (folder or self._entries) / key[:2] / key

    def load(self, key: str, path: str) -> Result | Miss:
        result = _read_entry(self._entry(key), key, "result", object)
        if result is MISS:
            return MISS
        from .analysis.facts import FileFacts, Holders

        if result is None or isinstance(result, Holders):
            return result
        if isinstance(result, (FileFacts, Finding)) and result.path == path:
            return result  # type: ignore[no-any-return]
        return MISS

    def store(self, key: str, result: Result) -> None:
        """Best effort: a cache that cannot be written only makes the next run slower."""
        self._write(self._entry(key), {"format": FORMAT, "key": key, "result": result})

    def store_encoded(self, key: str, encoded: str | None) -> None:
        """:meth:`store` of a result a worker encoded already (:func:`encode_result`; None:
        one that cannot be kept)."""
        if encoded is not None:
            header = json.dumps({"format": FORMAT, "key": key}, separators=(",", ":"))
            self._write_text(self._entry(key), f'{header[:-1]},"result":{encoded}}}')

    def _write(self, entry: Path, entry_data: dict[str, object]) -> None:
        try:
            encoded = {
                name: codec().encode(value, limit=MAX_ENTRY_VALUES)
                for name, value in entry_data.items()
            }
            text = json.dumps(encoded, separators=(",", ":"), ensure_ascii=False)
        except (CodecError, ValueError, RecursionError):
            return
        self._write_text(entry, text)

    def _write_text(self, entry: Path, text: str) -> None:
        try:
            self._prepare()
            entry.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "w", encoding="utf-8", errors="surrogatepass") as stream:
                    stream.write(text)
                os.replace(temporary, entry)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
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


def _read_entry(entry: Path, key: str, field: str, hint: Any) -> Any:
    """The ``field`` of the entry stored under ``key``, decoded to fit ``hint``; MISS for anything
    unreadable, of another format or key, or whose data do not fit the classes."""
    data = _read_regular(entry)
    if data is None:
        return MISS
    try:
        stored = json.loads(data)
        if not (
            isinstance(stored, dict)
            and set(stored) == {"format", "key", field}
            and stored["format"] == FORMAT
            and stored["key"] == key
        ):
            return MISS
        return codec().decode(stored[field], hint)
    except (ValueError, RecursionError, CodecError):  # JSON, depth, or data that do not fit
        return MISS


def _by_path(item: tuple[tuple[str, str | bytes], str]) -> tuple[str, str]:
    return item[0][0], item[1]


def _read_regular(path: Path) -> str | None:
    """The text of a regular file of reasonable size; None for anything else (never blocks)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
            return None
        with os.fdopen(os.dup(descriptor), "rb") as stream:
            return stream.read(MAX_ENTRY_BYTES + 1).decode("utf-8", "surrogatepass")
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(descriptor)
