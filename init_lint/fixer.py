"""Apply findings' fixes to source files: text edits, then missing imports, then a parse check.

Edits are applied to the decoded text, so everything outside them (comments, quotes, blank
lines, CRLF line endings, the encoding and a BOM) stays byte-for-byte. A file is written only if
the result still parses, through a temporary file and a rename that keeps its mode.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from .findings import Edit, Finding


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
        encoding = _encoding(self.original)
        before = self.original.decode(encoding).splitlines(keepends=True)
        after = self.fixed.decode(encoding).splitlines(keepends=True)
        return "".join(difflib.unified_diff(before, after, f"a/{self.path}", f"b/{self.path}"))


def _encoding(source: bytes) -> str:
    try:
        return tokenize.detect_encoding(BytesIO(source).readline)[0]
    except SyntaxError:
        return "utf-8"


def _offsets(text: str) -> list[int]:
    """Start offset of each 1-based line (index 0 unused), plus the end of the text."""
    starts = [0, 0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def fix_source(path: str, source: bytes, findings: Iterable[Finding]) -> FixResult:
    """Apply the fixes of ``findings`` (those of one file) to ``source``."""
    result = FixResult(path, source, source)
    fixable = [f for f in findings if f.fix is not None and f.fix.edits]
    if not fixable:
        return result
    encoding = _encoding(source)
    text = source.decode(encoding)
    starts = _offsets(text)

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
    # Apply from the end so earlier offsets stay valid; inserts at one point keep their order.
    for start, end, _, content, _ in sorted(
        planned, key=lambda p: (p[0], p[1], p[2]), reverse=True
    ):
        text = text[:start] + content + text[end:]
    imports = sorted({imp for f in result.applied for imp in (f.fix.imports if f.fix else ())})
    try:
        module = cst.parse_module(text)
        if imports:
            context = CodemodContext()
            for module_name, obj in imports:
                AddImportsVisitor.add_needed_import(context, module_name, obj)
            text = AddImportsVisitor(context).transform_module(module).code
            cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        result.error = f"the fixed file would not parse ({error.message}); left unchanged"
        result.applied, result.skipped = [], fixable
        return result
    result.fixed = text.encode(encoding)
    return result


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


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename, keeping its permission bits."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".init-lint-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def fix_findings(findings: Iterable[Finding], sources: dict[str, bytes]) -> list[FixResult]:
    """Plan the fixes of every file that has fixable findings (nothing is written here)."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.fix is not None and finding.path in sources:
            by_path.setdefault(finding.path, []).append(finding)
    return [fix_source(path, sources[path], items) for path, items in sorted(by_path.items())]


#: Rounds of lint-then-fix before giving up. Fixes are planned so that one round reaches the
#: fixed point; more rounds only apply fixes held back because their edits overlapped another's.
MAX_FIX_ROUNDS = 4


@dataclass
class FixRun:
    """The outcome of :func:`fix_until_stable`."""

    results: dict[str, FixResult] = field(default_factory=dict)  # files changed or in error
    findings: list[Finding] = field(default_factory=list)  # what the final sources still report
    unstable: list[str] = field(default_factory=list)  # still changing after MAX_FIX_ROUNDS

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
    for round_ in range(max_rounds + 1):
        run.findings = lint(current)
        results = fix_findings(run.findings, current)
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
            applied = (first.applied if first is not None else []) + result.applied
            run.results[result.path] = FixResult(result.path, original, result.fixed, applied)
            current[result.path] = result.fixed
    return run
