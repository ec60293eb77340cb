"""Apply findings' fixes to source files: text edits, then missing imports, then a parse check.

Edits are applied to the decoded text, so everything outside them (comments, quotes, blank
lines, CRLF line endings, the encoding and a BOM) stays byte-for-byte. A file is written only if
the result still parses, through a temporary file and a rename that keeps its mode.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import errno
import os
import re
import stat
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from .cstparse import parse_module
from .deep import call_deep
from .findings import Edit, Finding
from .lines import line_starts, split_lines
from .source import decode, encode, encoding_of, parseable


@dataclass
class FixResult:
    path: str
    original: bytes
    fixed: bytes
    applied: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)  # overlapped another fix this round
    error: str | None = None  # the result did not parse: nothing is written

    @property
    def changed(self) -> bool:
        return self.error is None and self.fixed != self.original

    def diff(self) -> str:
        encoding = encoding_of(self.original)
        before = split_lines(decode(self.original, encoding), keepends=True)
        after = split_lines(decode(self.fixed, encoding), keepends=True)
        return "".join(difflib.unified_diff(before, after, f"a/{self.path}", f"b/{self.path}"))


def fix_source(path: str, source: bytes, findings: Iterable[Finding]) -> FixResult:
    """Apply the fixes of ``findings`` (those whose edits are in this file) to ``source``."""
    result = FixResult(path, source, source)
    fixable = [f for f in findings if f.fix is not None and f.fix.edits]
    if not fixable:
        return result
    encoding = encoding_of(source)
    text = decode(source, encoding)
    starts = line_starts(text)

    def offset(line: int, column: int) -> int:
        if line >= len(starts):
            return len(text)
        return min(starts[line] + column - 1, len(text))

    planned: list[tuple[int, int, int, str, Finding]] = []
    seen: set[tuple[int, int, str]] = set()
    for order, finding in enumerate(fixable):
        assert finding.fix is not None
        spans = []
        for edit in finding.fix.edits:
            start, end = offset(edit.line, edit.column), offset(edit.end_line, edit.end_column)
            spans.append((start, end, _content(edit, text, start)))
        if any(_overlaps(s, e, planned) for s, e, _ in spans):
            if all((s, e, c) in seen for s, e, c in spans):
                result.applied.append(finding)  # the same edit another finding already asked for
            else:
                result.skipped.append(finding)
            continue
        for start, end, content in spans:
            if (start, end, content) not in seen:
                seen.add((start, end, content))
                planned.append((start, end, order, content, finding))
        result.applied.append(finding)
    # Inserts at one point keep their order; nothing else overlaps.
    pieces, position = [], 0
    for start, end, _, content, _ in sorted(planned, key=lambda p: (p[0], p[1], p[2])):
        pieces += [text[position:start], content]
        position = max(position, end)
    text = "".join([*pieces, text[position:]])
    imports = sorted({imp for f in result.applied for imp in (f.fix.imports if f.fix else ())})
    try:
        if imports:
            text = call_deep(lambda: _with_imports(text, imports))
        fixed = encode(text, encoding)
        problem = _does_not_compile(fixed)
    except cst.ParserSyntaxError as error:
        problem = f"LibCST cannot add its imports: {error.message}"
    if problem is not None:
        result.error = f"the fixed file would not parse ({problem}); left unchanged"
        result.applied, result.skipped = [], fixable
        return result
    result.fixed = fixed
    return result


def _does_not_compile(source: bytes) -> str | None:
    """CPython's objection to ``source``, as the engine's referee would state it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<fixed>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        return str(error) or type(error).__name__
    return None


def _with_imports(text: str, imports: list[tuple[str, str]]) -> str:
    """``text`` with the imports its edits need (ParserSyntaxError if LibCST cannot parse it).

    LibCST sees undecodable bytes (surrogate escapes) as U+FFFD; the lines it did not touch are
    taken from ``text``, so that those bytes are written back as they were.
    """
    clean = parseable(text)
    module = parse_module(clean)
    rest = []
    for module_name, obj in imports:  # where isort would put them, when that is clear
        placed = place_import(module, module_name, obj)
        if placed is None:
            rest.append((module_name, obj))
        else:
            module = placed
    context = CodemodContext()
    for module_name, obj in rest:
        AddImportsVisitor.add_needed_import(context, module_name, obj)
    new = (AddImportsVisitor(context).transform_module(module) if rest else module).code
    if clean is text:
        return new
    old_lines, clean_lines = split_lines(text, True), split_lines(clean, True)
    new_lines = split_lines(new, True)
    matcher = difflib.SequenceMatcher(None, clean_lines, new_lines, autojunk=False)
    kept: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        kept += old_lines[i1:i2] if tag == "equal" else new_lines[j1:j2]
    return "".join(kept)


def place_import(module: cst.Module, module_name: str, name: str) -> cst.Module | None:
    """``from module_name import name`` added as isort (ruff's I001, black profile) wants it:
    into a one-line ``from module_name import ...`` at its place by type (constants, classes,
    then the rest, each alphabetical), the other names as they are; else as a new statement
    among the third-party ``from`` imports, sorted by module. None: no clear place (the caller
    falls back on LibCST's AddImportsVisitor); the module unchanged if the name is there."""
    body = list(module.body)
    imports = _leading_imports(body)
    for index in imports:
        small = _only_small(body[index])
        if not isinstance(small, cst.ImportFrom) or _from_module(small) != module_name:
            continue
        if isinstance(small.names, cst.ImportStar) or small.lpar is not None:
            return None  # parenthesised: its layout is the author's; let LibCST decide
        names = [alias.evaluated_name for alias in small.names]
        if name in names:
            return module
        at = next(
            (i for i, other in enumerate(names) if _isort_key(other) > _isort_key(name)),
            len(names),
        )
        aliases = [alias.with_changes(comma=cst.MaybeSentinel.DEFAULT) for alias in small.names]
        aliases.insert(at, cst.ImportAlias(cst.Name(name)))
        statement = body[index]
        assert isinstance(statement, cst.SimpleStatementLine)
        body[index] = statement.with_changes(body=[small.with_changes(names=aliases)])
        return module.with_changes(body=body)
    third_party = [i for i in imports if _section(_only_small(body[i])) == "third-party"]
    if not third_party:
        return None
    key = (1, module_name.lower())
    later = [i for i in third_party if _statement_key(_only_small(body[i])) > key]
    at = later[0] if later else third_party[-1] + 1
    new = cst.parse_statement(f"from {module_name} import {name}{module.default_newline}")
    if later and body[at].leading_lines:  # keep a comment or blank line above the block
        new = new.with_changes(leading_lines=body[at].leading_lines)
        body[at] = body[at].with_changes(leading_lines=())
    body.insert(at, new)
    return module.with_changes(body=body)


def _leading_imports(body: Sequence[cst.BaseStatement]) -> list[int]:
    """Indexes of the import statements at the top of a module (after its docstring)."""
    found = []
    for index, statement in enumerate(body):
        small = _only_small(statement)
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            found.append(index)
        elif not (index == 0 and isinstance(small, cst.Expr)):  # a docstring
            break
    return found


def _only_small(statement: cst.BaseStatement) -> cst.BaseSmallStatement | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        return statement.body[0]
    return None


def _from_module(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return cst.helpers.get_full_name_for_node(node.module)


def _section(node: cst.BaseSmallStatement | None) -> str:
    if isinstance(node, cst.ImportFrom):
        if node.relative:
            return "local"
        full = _from_module(node) or ""
    elif isinstance(node, cst.Import):
        full = cst.helpers.get_full_name_for_node(node.names[0].name) or ""
    else:
        return "other"
    top = full.split(".")[0]
    if top == "__future__":
        return "future"
    return "standard-library" if top in sys.stdlib_module_names else "third-party"


def _statement_key(node: cst.BaseSmallStatement | None) -> tuple[int, str]:
    """isort's order inside a section: ``import x`` lines, then ``from x import`` by module."""
    if isinstance(node, cst.ImportFrom):
        return (1, (_from_module(node) or "").lower())
    if isinstance(node, cst.Import):
        return (0, (cst.helpers.get_full_name_for_node(node.names[0].name) or "").lower())
    return (2, "")


def _isort_key(name: str) -> tuple[int, str]:
    """Order by type: CONSTANTS, Classes, then everything else; case-insensitive within."""
    if name.isupper() and len(name) > 1:
        return (0, name.lower())
    return (1 if name[:1].isupper() else 2, name.lower())


def _content(edit: Edit, text: str, start: int) -> str:
    # An insertion after the last line of a file with no final newline starts a new line.
    if edit.line == edit.end_line and edit.column == edit.end_column == 1 and start == len(text):
        if text and not text.endswith(("\n", "\r")):
            newline = "\r\n" if "\r\n" in text else "\n"
            return newline + edit.content.rstrip("\r\n")
    return edit.content


def _overlaps(start: int, end: int, planned: list[tuple[int, int, int, str, Finding]]) -> bool:
    for other_start, other_end, *_ in planned:
        if start == end or other_start == other_end:
            if other_start < start < other_end or start < other_start < end:
                return True
            continue
        if start < other_end and other_start < end:
            return True
    return False


class NotWritten(Exception):
    """Why a fixed file was not written; the file is left exactly as it was."""


def write_fixed(
    path: str, original: bytes, fixed: bytes, allowed: Sequence[str] | None = None
) -> str:
    """Replace the content of ``path``, which must still be ``original``, with ``fixed``.

    A symlink is written through (the link stays a link, as black and ruff do), but only to a
    target inside ``allowed`` (real paths of what was named on the command line) when given.
    Refused with :class:`NotWritten`: a file that changed since it was read (an edit saved
    meanwhile is never overwritten), a read-only file, one that is not a regular file.

    The new content goes to a temporary file in the same directory, renamed over the old one:
    whatever happens (a full disk, a kill), the file is the original or the fixed version. Its
    mode and owner are kept. A file with several hard links, or whose owner cannot be kept, is
    instead rewritten in place (space reserved first), so that every link sees the fix.
    Returns the path written (the target of a symlink).
    """
    try:
        target = os.path.realpath(path, strict=True)
    except OSError as error:
        raise NotWritten(error.strerror or str(error)) from None
    if allowed is not None and not any(_inside(target, root) for root in allowed):
        raise NotWritten(f"it is a symlink to {target}, outside the paths being linted")
    descriptor = _open_unchanged(target, original)
    try:
        info = os.fstat(descriptor)
        if info.st_nlink > 1 or not _can_keep_owner(info):
            _rewrite_in_place(target, info, fixed)
        else:
            _replace(target, descriptor, info, fixed)
    finally:
        os.close(descriptor)  # releases the lock
    return target


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _open_unchanged(target: str, original: bytes) -> int:
    """The file opened and locked against another init-lint, if its content is ``original``.

    A concurrent ``--fix`` holds the lock until its rename; once the lock is ours, the path must
    still name the file we locked (else it was replaced: look again) and hold what we read.
    """
    for _ in range(10):
        try:
            descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as error:
            raise NotWritten(f"cannot open it: {error.strerror}") from None
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                raise NotWritten("it is not a regular file")
            if not info.st_mode & 0o222 or not os.access(target, os.W_OK):
                raise NotWritten("the file is read-only")
            _lock(descriptor)
            if (os.stat(target).st_dev, os.stat(target).st_ino) != (info.st_dev, info.st_ino):
                os.close(descriptor)
                continue  # replaced while we waited for the lock
            if _read_all(descriptor) != original:
                raise NotWritten("it changed on disk since it was read (fix it again)")
            return descriptor
        except BaseException:
            os.close(descriptor)
            raise
    raise NotWritten("it keeps being replaced by another process")


def _lock(descriptor: int) -> None:
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock, the content check still applies
        return
    with contextlib.suppress(OSError):  # a filesystem without locks: the content check remains
        fcntl.flock(descriptor, fcntl.LOCK_EX)


def _read_all(descriptor: int) -> bytes:
    chunks = []
    position = 0
    while chunk := os.pread(descriptor, 1 << 20, position):
        chunks.append(chunk)
        position += len(chunk)
    return b"".join(chunks)


def _can_keep_owner(info: os.stat_result) -> bool:
    """A new file is ours: it can take the old one's owner only if we own it or are root."""
    if not hasattr(os, "geteuid"):
        return True
    return os.geteuid() in (0, info.st_uid) and (
        os.geteuid() == 0 or info.st_gid in os.getgroups() or info.st_gid == os.getegid()
    )


def _replace(target: str, descriptor: int, info: os.stat_result, data: bytes) -> None:
    directory = os.path.dirname(target)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".init-lint-", suffix=".tmp", dir=directory)
    except OSError as error:
        raise NotWritten(f"cannot create a file next to it: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            if hasattr(os, "fchown") and (info.st_uid, info.st_gid) != _ids(stream.fileno()):
                os.fchown(stream.fileno(), info.st_uid, info.st_gid)
            os.fchmod(stream.fileno(), stat.S_IMODE(info.st_mode))
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise NotWritten(f"cannot write it: {error.strerror or error}") from None


def _ids(descriptor: int) -> tuple[int, int]:
    info = os.fstat(descriptor)
    return info.st_uid, info.st_gid


def _rewrite_in_place(target: str, locked: os.stat_result, data: bytes) -> None:
    """Overwrite the file's content where it is: the space is reserved first, so that a full
    disk refuses before anything changes."""
    try:
        writable = os.open(target, os.O_WRONLY)
    except OSError as error:
        raise NotWritten(f"cannot write it: {error.strerror}") from None
    try:
        info = os.fstat(writable)
        if (info.st_dev, info.st_ino) != (locked.st_dev, locked.st_ino):
            raise NotWritten("it was replaced while being fixed")
        if hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(writable, 0, len(data))
            except OSError as error:
                if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    raise
        written = 0
        while written < len(data):
            written += os.pwrite(writable, data[written:], written)
        os.ftruncate(writable, len(data))
        os.fsync(writable)
    except OSError as error:
        raise NotWritten(f"cannot write it: {error.strerror or error}") from None
    finally:
        os.close(writable)


def fix_findings(findings: Iterable[Finding], sources: dict[str, bytes]) -> list[FixResult]:
    """Plan the fixes of every file that has fixable findings (nothing is written here)."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.fix is not None and finding.fix.target(finding.path) in sources:
            by_path.setdefault(finding.fix.target(finding.path), []).append(finding)
    return [fix_source(path, sources[path], items) for path, items in sorted(by_path.items())]


#: Rounds of lint-then-fix before giving up. Fixes are planned so that one round reaches the
#: fixed point; more rounds only apply fixes held back because their edits overlapped another's.
MAX_FIX_ROUNDS = 4
#: A finding across fix rounds (see _finding_key).
FindingKey = tuple[str, str, int, str]


@dataclass
class FixRun:
    """The outcome of :func:`fix_until_stable`."""

    results: dict[str, FixResult] = field(default_factory=dict)  # files changed or in error
    findings: list[Finding] = field(default_factory=list)  # what the final sources still report
    unstable: list[str] = field(default_factory=list)  # still changing after MAX_FIX_ROUNDS
    #: Files left as they were because a fix applied to them did not remove its finding.
    ineffective: list[str] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(len(r.applied) for r in self.results.values() if r.changed)

    @property
    def changed(self) -> list[FixResult]:
        return [r for r in self.results.values() if r.changed]


def fix_until_stable(
    sources: dict[str, bytes],
    lint: Callable[[dict[str, bytes]], list[Finding]],
    max_rounds: int = MAX_FIX_ROUNDS,
) -> FixRun:
    """Lint ``sources`` and apply the fixes until a lint of the result changes nothing.

    All in memory: ``lint`` maps the current sources to the findings to fix (already
    filtered). Each changed file's result holds its original and its final bytes. A file that
    still changes after ``max_rounds`` is listed in ``unstable`` — a bug to report, never a
    silent stop; ``findings`` are those of the last lint.
    """
    current = dict(sources)
    run = FixRun()
    before: dict[str, Counter[FindingKey]] = {}  # what the last round's lint reported
    applied: list[Finding] = []  # the findings its fixes were to remove
    fixed_from: dict[str, bytes] = {}  # the sources they were found in
    for round_ in range(max_rounds + 1):
        run.findings = lint(current)
        if _revert_ineffective(run, sources, current, before, applied, fixed_from):
            run.findings = lint(current)
        fixed_from = dict(current)
        fixable = _outside(run.findings, set(run.ineffective))
        before = _by_file(fixable, current)
        results = fix_findings(fixable, current)
        applied = [f for r in results if r.changed for f in r.applied]
        for result in results:
            if result.error and result.path not in run.results:
                run.results[result.path] = result
        changed = [r for r in results if r.changed]
        if not changed:
            return run
        if round_ == max_rounds:
            run.unstable = sorted(r.path for r in changed)
            return run
        for result in changed:
            first = run.results.get(result.path)
            original = (
                first.original if first is not None and first.error is None else result.original
            )
            done = first.applied if first is not None else []
            run.results[result.path] = FixResult(
                result.path, original, result.fixed, done + result.applied
            )
            current[result.path] = result.fixed
    return run


def _outside(findings: list[Finding], frozen: set[str]) -> list[Finding]:
    """The findings neither in nor fixed in a file left as it was."""
    return [
        f
        for f in findings
        if f.path not in frozen and (f.fix is None or f.fix.target(f.path) not in frozen)
    ]


def _finding_key(finding: Finding, lines: list[str]) -> FindingKey:
    """A finding by what it is about (code, layer, activation) and the text of its line (of
    its file's ``lines``), not by line number: a fix inserts lines above others, and the
    lines a message names move."""
    about = _LINE_REFERENCE.sub("", finding.message.split(" but ", 1)[0])
    text = lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""
    return finding.code, about, finding.column, text


_LINE_REFERENCE = re.compile(r" \((?:[^()]*, )?line \d+\)")


def _by_file(
    findings: Iterable[Finding], sources: dict[str, bytes]
) -> dict[str, Counter[FindingKey]]:
    counts: dict[str, Counter[FindingKey]] = {}
    lines: dict[str, list[str]] = {}  # each file split once
    for finding in findings:
        if finding.path not in lines:
            lines[finding.path] = split_lines(decode(sources.get(finding.path, b"")))
        counts.setdefault(finding.path, Counter())[_finding_key(finding, lines[finding.path])] += 1
    return counts


def _revert_ineffective(
    run: FixRun,
    sources: dict[str, bytes],
    current: dict[str, bytes],
    before: dict[str, Counter[FindingKey]],
    applied: list[Finding],
    fixed_from: dict[str, bytes],
) -> bool:
    """Each fix applied in the last round must have removed its finding. Where one did not
    (the analysis took a fix for effective that a later init overwrites, say), applying it
    again would only pile up the same useless edit: the files those fixes edited go back to
    their original bytes, are listed in ``ineffective`` and fixed no more. Whether anything
    was reverted."""
    now = _by_file(run.findings, current)
    removed = _by_file(applied, fixed_from)
    reverted = False
    for path, counts in removed.items():
        left = now.get(path, Counter())
        if all(left[key] <= before[path][key] - count for key, count in counts.items()):
            continue
        for finding in applied:
            target = finding.fix.target(finding.path) if finding.fix else finding.path
            if finding.path == path and target not in run.ineffective:
                current[target] = sources[target]
                run.results.pop(target, None)
                run.ineffective.append(target)
                reverted = True
    return reverted
