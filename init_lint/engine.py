"""The one analysis engine behind every front end.

``lint_paths``/``lint_source`` read and parse files, run the per-file analysis
(:mod:`init_lint.analysis`) and then resolve facts across files (a class initialised by the
class that contains it, possibly in another file of the same package). Front ends (CLI, flake8,
--fix) only filter and render the findings returned here.

A file is judged as CPython judges it before LibCST sees it: the interpreter's own compiler (with
its default limits, its encoding rules and its warnings silenced) is the referee, so that a file
CPython rejects is an INI999 with CPython's message and position, and a file it accepts is never
called a syntax error because LibCST disagrees. The referee also bounds how deep a file can nest,
which :mod:`init_lint.deep` and :mod:`init_lint.shape` rely on. No exception from one file's
analysis escapes: it becomes an INI999 "internal error" for that file and the run goes on.
"""

from __future__ import annotations

import ast
import os
import stat
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from .findings import Finding
from .lines import split_lines
from .options import Options
from .prefilter import may_report, names_report
from .rules import PARSE_ERROR_CODE
from .source import decode, encoding_of, parseable

__all__ = ["Options", "lint_paths", "lint_source", "lint_sources"]

if TYPE_CHECKING:
    import libcst as cst

    from .analysis.facts import FileFacts, Holders
    from .analysis.portable import Request

#: The referee, named in its messages: a file may use syntax newer than the running Python.
CPYTHON = f"CPython {sys.version_info[0]}.{sys.version_info[1]}"
#: How every INI999 about init-lint's own failure starts (the CLI exits 3 when one is reported).
INTERNAL_ERROR = "internal error"


def parse_error(path: str, line: int, column: int, message: str) -> Finding:
    return Finding(path, max(line, 1), max(column, 1), PARSE_ERROR_CODE, message)


def internal_error(path: str, what: str) -> Finding:
    return parse_error(path, 1, 1, f"{INTERNAL_ERROR} ({what}); please report it")


def is_internal_error(finding: Finding) -> bool:
    return finding.code == PARSE_ERROR_CODE and finding.message.startswith(INTERNAL_ERROR)


def summary(error: BaseException) -> str:
    """An exception's one-line summary: ``TypeError: unsupported format string``."""
    text = split_lines(str(error).strip())
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def read_source(path: str) -> bytes | Finding:
    """The file's bytes, or an INI999 finding saying why it could not be read.

    The file is opened without blocking and read only if it is a regular file, so that a FIFO
    or a device named ``*.py`` is reported rather than waited on forever.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        return parse_error(path, 1, 1, _cannot_read(error))
    try:
        kind = stat.S_IFMT(os.fstat(descriptor).st_mode)
        if kind != stat.S_IFREG:
            return parse_error(path, 1, 1, f"not a regular file ({file_kind(kind)})")
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as error:
        return parse_error(path, 1, 1, _cannot_read(error))
    finally:
        os.close(descriptor)


def _cannot_read(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, IsADirectoryError):
        return "is a directory, not a file"
    return f"cannot read file: {error.strerror or error}"


def file_kind(kind: int) -> str:
    """A file type from ``stat.S_IFMT`` in words."""
    return {
        stat.S_IFDIR: "a directory",
        stat.S_IFIFO: "a FIFO",
        stat.S_IFCHR: "a character device",
        stat.S_IFBLK: "a block device",
        stat.S_IFSOCK: "a socket",
    }.get(kind, "not a regular file")


def referee(source: str | bytes, path: str) -> ast.Module | Finding:
    """CPython's verdict on ``source``: its AST, or an INI999 with CPython's message.

    This is what ``import`` does (compile the bytes with the default limits); its warnings
    (invalid escape sequences and the like) belong to the linted code and are not printed.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = compile(source, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
            return cast(ast.Module, tree)
    except SyntaxError as error:
        return _syntax_error(source, path, error)
    except ValueError as error:  # null bytes (before 3.11.4), lone surrogates in a str source
        return parse_error(path, 1, 1, f"syntax error: {error} ({CPYTHON})")
    except (RecursionError, MemoryError) as error:
        return parse_error(
            path, 1, 1, f"{CPYTHON} cannot compile this file: too deeply nested ({summary(error)})"
        )


def _syntax_error(source: str | bytes, path: str, error: SyntaxError) -> Finding:
    line, column = error.lineno or 1, error.offset or 1
    if any(word in error.msg for word in ("unicode error", "encoding", "Non-UTF-8")):
        return parse_error(path, line, column, f"cannot decode file: {error.msg} ({CPYTHON})")
    undecodable = _undecodable(source) if isinstance(source, bytes) else None
    if undecodable is not None:  # e.g. UTF-16: CPython only sees the null bytes
        return parse_error(path, undecodable[0], 1, f"cannot decode file ({undecodable[1]})")
    return parse_error(path, line, column, f"syntax error: {error.msg} ({CPYTHON})")


def _undecodable(source: bytes) -> tuple[int, str] | None:
    """Where and why ``source`` does not decode in its declared (or default) encoding."""
    encoding = encoding_of(source)
    try:
        source.decode(encoding)
    except UnicodeDecodeError as problem:
        line = source.count(b"\n", 0, problem.start) + 1
        return line, f"not valid {encoding}: byte {source[problem.start]:#04x} on line {line}"
    except LookupError:
        return None
    return None


def _libcst(text: str, path: str) -> cst.Module | Finding:
    """Parse with LibCST a text that CPython compiles. LibCST's tokenizer disagrees with
    CPython's on some mixes of tabs and spaces; since CPython checked that the indentation means
    the same with a tab as 1 column or as 8, a tab as one space is the same block structure
    with the same columns."""
    import libcst as cst

    from .cstparse import parse_module

    clean = parseable(text)
    try:
        return parse_module(clean)
    except cst.ParserSyntaxError as error:
        if "\t" in clean:
            try:
                return parse_module(clean.replace("\t", " "))
            except cst.ParserSyntaxError:
                pass
        message = split_lines(str(error.message).strip())[0] if error.message else "syntax error"
        return parse_error(
            path,
            error.raw_line,
            error.raw_column + 1,
            f"LibCST cannot parse this file, although CPython can: {message}",
        )


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
    path: str,
    source: str | bytes,
    options: Options,
    module_name: str | None = None,
    *,
    force: bool = False,
    requests: Sequence[Request] = (),
) -> FileFacts | Holders | Finding | None:
    """One file's facts, an INI999 finding, or None for a file that cannot report anything.

    Without ``force``, a file that names neither an init function nor both a weight layer and
    an activation is only compiled (see :mod:`init_lint.prefilter`); with it, it is analysed
    for what it adds to other files' findings. Runs in worker processes (see
    :mod:`init_lint.parallel`): arguments and result pickle. Never raises.
    """
    from .shape import MAX_DEPTH, TooDeep, blank, elided_literals

    try:
        tree = referee(source, path)
        if isinstance(tree, Finding):
            return tree
        # Other files' function sources alone do not make a file worth analysing.
        forced = force or asks_contexts(requests)
        if not forced and not (may_report(source) and names_report(tree)):
            return _holders(source, tree)
        try:
            text = decode(source)
            shaped, elided = blank(text, elided_literals(text, tree))
        except TooDeep as error:
            return parse_error(
                path,
                error.line,
                1,
                f"not analysed: an expression nested more than {MAX_DEPTH} levels deep, "
                "beyond what LibCST parses in reasonable time",
            )
        parsed = _Parsed(tree, text, shaped, elided)
        return _analyze(path, parsed, options, module_name or module_name_for(path), requests)
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the run
        return internal_error(path, summary(error))


def asks_contexts(requests: Sequence[Request]) -> bool:
    """Whether requests hold a class context (not only other files' sources): the file is
    then analysed, whatever the prefilter says."""
    return any(isinstance(request, tuple) for request in requests)


def _holders(source: str | bytes, tree: ast.Module) -> Holders | None:
    """What a file left out still tells the next rounds: its classes that build layers."""
    from .prefilter import layer_classes, names_layer

    if not names_layer(source):
        return None
    from .analysis.facts import Holders

    classes = layer_classes(tree)
    return Holders(classes) if classes else None


@dataclass
class _Parsed:
    """A file the analysis is to read: CPython's AST of its text, and the text LibCST is
    given (big data literals blanked out, see :mod:`init_lint.shape`)."""

    tree: ast.Module
    text: str
    shaped: str
    elided: list[ast.expr]


def _analyze(
    path: str,
    parsed: _Parsed,
    options: Options,
    module_name: str,
    requests: Sequence[Request] = (),
) -> FileFacts | Finding:
    from .deep import call_deep

    def work() -> FileFacts | Finding:
        from .analysis import analyze_module
        from .analysis.fromast import module_from_ast

        built = module_from_ast(parsed.tree, parsed.text, parsed.elided)
        if built is not None:  # LibCST's tree without LibCST's parse (see analysis.fromast)
            tree, spans = built
            return analyze_module(tree, path, module_name, options, parsed.shaped, requests, spans)
        module = _libcst(parsed.shaped, path)
        if isinstance(module, Finding):
            return module
        return analyze_module(module, path, module_name, options, parsed.shaped, requests)

    try:
        return call_deep(work)
    except RecursionError:
        return parse_error(path, 1, 1, "file too deeply nested to analyse")


def lint_sources(
    sources: Iterable[tuple[str, str | bytes]],
    options: Options | None = None,
    *,
    jobs: int = 1,
    cache_dir: str | os.PathLike[str] | None = None,
    isolate: bool = False,
    progress: Callable[[int, int], None] | None = None,
    order_seed: str | None = None,
) -> list[Finding]:
    """Lint (path, source) pairs as one project: cross-file facts are shared among them.

    ``jobs`` > 1 analyses files in that many worker processes (0: as many as pay off, up to one
    per CPU); ``isolate`` runs even one worker in its own process, so that a crash in native
    code costs one file, not the run; ``cache_dir`` reuses the results of files analysed before
    (see :mod:`init_lint.cache`); ``progress(done, total)`` is called as files finish;
    ``order_seed`` shuffles the order of the work (see :func:`~init_lint.parallel.analyze_all`).
    None of them changes the findings: resolving across files reruns, here, over every file's
    facts, unless the cache holds the findings of exactly these files (paths, module names and
    bytes) with these options.
    """
    from .analysis import resolve
    from .analysis.facts import FileFacts
    from .cache import Cache
    from .module_identity import separate
    from .parallel import analyze_all

    options = options or Options()
    sources = list(sources)
    names, renamed = separate(
        [path for path, _ in sources], [module_name_for(p) for p, _ in sources]
    )
    # An unchanged project (same files, bytes, options and tool) has the findings it had.
    cache = Cache(cache_dir, options) if cache_dir is not None else None
    run_key = cache.run_key(sources, names) if cache is not None else ""
    known = cache.load_findings(run_key, {path for path, _ in sources}) if cache else None
    if known is not None:
        return known
    findings: list[Finding] = []
    facts: list[FileFacts] = []
    results = analyze_all(
        sources,
        options,
        names=names,
        renamed=renamed,
        jobs=jobs,
        cache_dir=cache_dir,
        isolate=isolate,
        progress=progress,
        order_seed=order_seed,
    )
    for result in results:
        if isinstance(result, Finding):
            findings.append(result)
        elif isinstance(result, FileFacts):
            facts.append(result)
    del results
    findings.extend(_resolve(resolve, facts, options))
    findings = sorted(set(findings))
    if cache is not None:
        cache.store_findings(run_key, findings)
    return findings


def _resolve(
    resolve: Callable[[list[FileFacts], Options], list[Finding]],
    facts: list[FileFacts],
    options: Options,
) -> list[Finding]:
    """Cross-file findings. Should resolving fail, each file is resolved on its own (with every
    file's containment still known), so that the failure is an INI999 for the files it
    concerns and the others keep their findings."""
    try:
        return resolve(facts, options)
    except Exception:  # noqa: BLE001 - see below, file by file
        pass
    findings: list[Finding] = []
    silent = [replace(other, local=[], instances=[]) for other in facts]
    for index, one in enumerate(facts):
        try:
            findings += resolve([*silent[:index], one, *silent[index + 1 :]], options)
        except Exception as error:  # noqa: BLE001 - this file's findings are lost, not the run's
            findings.append(internal_error(one.path, f"resolving: {summary(error)}"))
    return findings


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
