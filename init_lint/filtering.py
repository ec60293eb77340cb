"""Which findings get reported: select/ignore, per-file-ignores, ``# noqa`` comments and
file-level exemptions (``# init-lint: noqa``, ``# flake8: noqa``; see :mod:`init_lint.noqa`).

Selection works like flake8 and ruff: a code is on when the longest selected prefix that matches
it is more specific than the longest ignored prefix that matches it (``select = ["INI"]``,
``ignore = ["INI001"]`` reports everything but INI001; ``select = ["INI001"]``, ``ignore =
["INI"]`` reports INI001 alone). INI999 (a file that cannot be read or parsed) is never dropped
by ``select``, only by ignoring ``INI999`` by name, so that a broken file is not skipped silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .config import Settings
from .findings import Finding
from .noqa import file_exemption, is_exempt, silenced_by_noqa
from .rules import PARSE_ERROR_CODE


def _longest_match(code: str, prefixes: Iterable[str]) -> int:
    return max((len(prefix) for prefix in prefixes if code.startswith(prefix)), default=-1)


class CodeSelector:
    """Decides per code; the answer is cached since a run asks about the same few codes."""

    def __init__(self, settings: Settings) -> None:
        self._selected = (settings.select if settings.select is not None else ("INI",)) + (
            settings.extend_select
        )
        self._ignored = settings.ignore + settings.extend_ignore
        self._cache: dict[str, bool] = {}

    def enabled(self, code: str) -> bool:
        if code not in self._cache:
            ignored = _longest_match(code, self._ignored)
            selected = (
                len(code) if code == PARSE_ERROR_CODE else _longest_match(code, self._selected)
            )
            self._cache[code] = selected > ignored
        return self._cache[code]


class PerFileIgnores:
    """``per-file-ignores``: gitignore-style globs (relative to the config's root) → codes."""

    def __init__(self, settings: Settings) -> None:
        self._root = settings.root
        self._by_path: dict[str, tuple[str, ...]] = {}
        import pathspec  # imported when needed: --version and --explain stay quick

        self._rules = [
            (pathspec.GitIgnoreSpec.from_lines([pattern]), codes)
            for pattern, codes in settings.per_file_ignores
        ]

    def ignored_codes(self, path: str) -> tuple[str, ...]:
        if not self._rules:
            return ()
        if path not in self._by_path:
            relative = relative_posix(path, self._root)
            self._by_path[path] = tuple(
                code for spec, codes in self._rules if spec.match_file(relative) for code in codes
            )
        return self._by_path[path]


def relative_posix(path: str, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, or as given when it lies outside ``root``."""
    absolute = os.path.abspath(path)
    try:
        return Path(absolute).relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def filter_findings(
    findings: Sequence[Finding],
    settings: Settings,
    source_lines: Callable[[str], Sequence[str]],
) -> list[Finding]:
    """The findings to report. ``source_lines(path)`` gives a file's lines, for ``# noqa``;
    it is only asked for files that have a finding left after the cheaper filters."""
    selector = CodeSelector(settings)
    per_file = PerFileIgnores(settings)
    exemptions: dict[str, frozenset[str]] = {}
    kept = []
    for finding in findings:
        if not selector.enabled(finding.code):
            continue
        ignored = per_file.ignored_codes(finding.path)
        if ignored and finding.code.startswith(ignored):
            continue
        lines = source_lines(finding.path)
        if finding.path not in exemptions:
            exemptions[finding.path] = file_exemption(lines)
        if is_exempt(finding.code, exemptions[finding.path]):
            continue
        if 0 < finding.line <= len(lines) and silenced_by_noqa(
            finding.code, lines[finding.line - 1]
        ):
            continue
        kept.append(finding)
    return kept
