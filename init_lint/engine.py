"""The one analysis engine behind every front end.

``lint_paths``/``lint_source`` read and parse files, run the per-file analysis
(:mod:`init_lint.analysis`) and then resolve facts across files (a class initialised by the
class that contains it, possibly in another file of the same package). Front ends (CLI, flake8,
--fix) only filter and render the findings returned here.
"""

from __future__ import annotations

import ast
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from .findings import Finding
from .options import Options
from .prefilter import may_matter
from .rules import PARSE_ERROR_CODE

__all__ = ["Options", "lint_paths", "lint_source", "lint_sources"]

if TYPE_CHECKING:
    from .analysis.facts import FileFacts


def parse_error(path: str, line: int, column: int, message: str) -> Finding:
    return Finding(path, max(line, 1), max(column, 1), PARSE_ERROR_CODE, message)


def read_source(path: str) -> bytes | Finding:
    """The file's bytes, or an INI999 finding saying why it could not be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return parse_error(path, 1, 1, "file not found")
    except IsADirectoryError:
        return parse_error(path, 1, 1, "is a directory, not a file")
    except OSError as error:
        return parse_error(path, 1, 1, f"cannot read file: {error.strerror or error}")


def parse_source(source: str | bytes, path: str) -> cst.Module | Finding:
    """Parse with LibCST; a syntax error or undecodable bytes become an INI999 finding."""
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        # CPython's own parser gives the position and wording users know; LibCST's is a fallback.
        try:
            compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as cpython:
            if cpython.lineno:
                return parse_error(
                    path, cpython.lineno, cpython.offset or 1, f"syntax error: {cpython.msg}"
                )
        except (ValueError, RecursionError, MemoryError):
            pass
        message = str(error.message).strip().splitlines()[0] if error.message else "syntax error"
        return parse_error(path, error.raw_line, error.raw_column + 1, f"syntax error: {message}")
    except (UnicodeDecodeError, LookupError, SyntaxError) as error:
        # SyntaxError: tokenize's encoding detection on undecodable bytes (libcst lets it through)
        return parse_error(path, 1, 1, f"cannot decode file: {error}")
    except (RecursionError, MemoryError) as error:
        return parse_error(path, 1, 1, f"file too complex to parse: {type(error).__name__}")


def module_name_for(path: str) -> str:
    """Dotted module name, walking up through packages (dirs with __init__.py)."""
    p = Path(path).resolve() if path not in ("-", "<stdin>") else Path(path)
    parts = [p.stem] if p.stem != "__init__" else []
    if p.suffix == ".ipynb":  # not importable: never taken for the train.py next to train.ipynb
        parts = [f"{p.stem}-ipynb"]
    parent = p.parent
    while (parent / "__init__.py").is_file() and parent != parent.parent:
        parts.insert(0, parent.name)
        parent = parent.parent
    return ".".join(parts) or p.stem


def analyze_source(
    path: str, source: str | bytes, options: Options, module_name: str | None = None
) -> FileFacts | Finding | None:
    """One file's facts, an INI999 finding, or None for a file the prefilter shows irrelevant.

    Runs in worker processes (see :mod:`init_lint.parallel`): arguments and result pickle.
    """
    from .analysis import analyze_module

    if not may_matter(source) and _compiles(source, path):
        return None  # nothing in it can report or reach another file's layers: not parsed
    module = parse_source(source, path)
    if isinstance(module, Finding):
        return module
    try:
        text = source if isinstance(source, str) else source.decode(module.encoding, "replace")
        return analyze_module(module, path, module_name or module_name_for(path), options, text)
    except RecursionError:
        return parse_error(path, 1, 1, "file too deeply nested to analyse")
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the run
        return parse_error(
            path,
            1,
            1,
            f"internal error while analysing ({type(error).__name__}: {error}); please report it",
        )


def _compiles(source: str | bytes, path: str) -> bool:
    """A skipped file must still get its INI999 if it does not parse: CPython's parser says
    so at a fraction of LibCST's cost; on any doubt the file takes the normal path."""
    try:
        with warnings.catch_warnings():  # its SyntaxWarnings are not ours to print
            warnings.simplefilter("ignore")
            compile(source, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def lint_sources(
    sources: Iterable[tuple[str, str | bytes]],
    options: Options | None = None,
    *,
    jobs: int = 1,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[Finding]:
    """Lint (path, source) pairs as one project: cross-file facts are shared among them.

    ``jobs`` > 1 analyses files in that many worker processes; ``cache_dir`` reuses the facts of
    files analysed before (see :mod:`init_lint.cache`). Neither changes the findings: resolving
    across files always reruns, in the parent, over every file's facts.
    """
    from .analysis import resolve
    from .parallel import analyze_all

    options = options or Options()
    findings: list[Finding] = []
    facts: list[FileFacts] = []
    for result in analyze_all(list(sources), options, jobs=jobs, cache_dir=cache_dir):
        if isinstance(result, Finding):
            findings.append(result)
        elif result is not None:
            facts.append(result)
    findings.extend(resolve(facts, options))
    return sorted(set(findings))


def lint_source(
    source: str | bytes, path: str = "<stdin>", options: Options | None = None
) -> list[Finding]:
    return lint_sources([(path, source)], options)


def lint_paths(
    paths: Sequence[str | os.PathLike[str]],
    options: Options | None = None,
    *,
    jobs: int = 1,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[Finding]:
    """Lint files (already expanded from directories by the caller) as one project."""
    findings: list[Finding] = []
    readable: list[tuple[str, bytes]] = []
    for raw in paths:
        path = os.fspath(raw)
        data = read_source(path)
        if isinstance(data, Finding):
            findings.append(data)
        else:
            readable.append((path, data))
    findings.extend(lint_sources(readable, options, jobs=jobs, cache_dir=cache_dir))
    return sorted(set(findings))
