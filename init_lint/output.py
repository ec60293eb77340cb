"""Renderers for ``--format``: text, grouped, json, sarif, github; and ``--statistics``.

Each renderer turns the reported findings into the whole text to print, so the CLI only chooses.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import __version__
from .docs import explain
from .findings import Finding
from .rules import ALL_CODES, rule_for

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


class Style:
    """ANSI styling that is a no-op when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("1;31", text)

    def cyan(self, text: str) -> str:
        return self._wrap("36", text)


@dataclass
class Context:
    """What the renderers may use besides the findings."""

    style: Style = field(default_factory=lambda: Style(False))
    #: --show-source: a finding's source line (None when unknown).
    source_line: Callable[[Finding], str | None] | None = None
    #: --show-fixes: a ``help:`` line under each finding that has an autofix.
    show_fixes: bool = False
    #: A notebook finding's region in the notebook's JSON text (SARIF, GitHub annotations).
    raw_region: Callable[[Finding], tuple[int, int, int, int] | None] | None = None


def title(code: str) -> str:
    return rule_for(code).title


def fixable(finding: Finding) -> bool:
    """Whether ``--fix`` has an edit for this finding."""
    return finding.fix is not None and bool(finding.fix.edits)


def location(f: Finding) -> str:
    """``line:col``, or ``cell N:line:col`` in a notebook (as ruff writes it)."""
    return f"{f.line}:{f.column}" if f.cell is None else f"cell {f.cell}:{f.line}:{f.column}"


def _code_and_marker(f: Finding, style: Style) -> str:
    return style.red(f.code) + (" [*]" if fixable(f) else "")


def _help(f: Finding, indent: str, context: Context) -> list[str]:
    if context.show_fixes and f.fix is not None and fixable(f):
        return [f"{indent}{context.style.cyan('help:')} {f.fix.description}\n"]
    return []


def render_text(findings: Sequence[Finding], context: Context) -> str:
    """``path:line:col: CODE [*] message`` (``[*]``: ``--fix`` fixes it); with ``source_line``,
    the line and a caret below it, as flake8's --show-source prints them."""
    style = context.style
    c = style.cyan(":")
    out = []
    for f in findings:
        where = location(f).replace(":", c)
        out.append(f"{style.bold(f.path)}{c}{where}{c} {_code_and_marker(f, style)} {f.message}\n")
        line = context.source_line(f) if context.source_line else None
        if line is not None:
            # Keep whitespace (tabs) so that the caret lines up however a terminal expands it.
            indent = "".join(ch if ch.isspace() else " " for ch in line[: f.column - 1])
            out.append(f"{line}\n{indent}{style.red('^')}\n")
        out.extend(_help(f, "  ", context))
    return "".join(out)


def render_grouped(findings: Sequence[Finding], context: Context) -> str:
    """Like ruff's ``grouped``: a header per file, then ``line:col CODE message`` indented."""
    style = context.style
    blocks = []
    for path, group in groupby(findings, key=lambda f: f.path):
        items = list(group)
        width = max(len(location(f)) for f in items)
        lines = [style.bold(path) + style.cyan(":") + "\n"]
        for f in items:
            lines.append(f"  {location(f):<{width}} {_code_and_marker(f, style)} {f.message}\n")
            lines.extend(_help(f, "    ", context))
        blocks.append("".join(lines))
    return "\n".join(blocks)


def render_json(findings: Sequence[Finding], context: Context) -> str:
    return json.dumps([f.to_json() for f in findings], indent=2, ensure_ascii=False) + "\n"


def _escape_github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_github_property(text: str) -> str:
    return _escape_github_data(text).replace(":", "%3A").replace(",", "%2C")


def _span(f: Finding, context: Context) -> tuple[int, int, int, int]:
    """Start and end, 1-based; the end defaults to the start, as in the public JSON schema. In a
    notebook, the place in its JSON text, which is what a diff or a code-scanning alert shows."""
    if f.cell is not None and context.raw_region is not None:
        region = context.raw_region(f)
        if region is not None:
            return region
    data = f.to_json()
    return data["line"], data["column"], data["end_line"], data["end_column"]


def render_github(findings: Sequence[Finding], context: Context) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the PR's diff.
    A notebook finding sits on its line of the notebook's JSON and names its cell."""
    out = []
    for f in findings:
        line, column, end_line, end_column = _span(f, context)
        properties = {
            "file": f.path,
            "line": line,
            "col": column,
            "endLine": end_line,
            "endColumn": end_column,
            "title": f.code,
        }
        props = ",".join(
            f"{key}={_escape_github_property(str(v))}" for key, v in properties.items()
        )
        where = "" if f.cell is None else f"{location(f)}: "
        data = _escape_github_data(f"{where}{f.code} {f.message}")
        out.append(f"::{level(f.code)} {props}::{data}\n")
    return "".join(out)


def level(code: str) -> str:
    """The rule's severity, the same in every format."""
    return rule_for(code).level.value


def _sarif_rule(code: str) -> dict[str, Any]:
    rule = rule_for(code)
    page = explain(code)
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.what},
        "help": {"text": page, "markdown": page},
        "defaultConfiguration": {"level": level(code)},
    }


def _sarif_uri(path: str) -> tuple[str, dict[str, str]]:
    """A relative URI against %SRCROOT% (the working directory) when possible, like CodeQL."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(Path.cwd()).as_posix()
        return quote(relative), {"uriBaseId": "%SRCROOT%"}
    except ValueError:
        return absolute.as_uri(), {}


def _sarif_result(f: Finding, rule_index: dict[str, int], context: Context) -> dict[str, Any]:
    uri, base = _sarif_uri(f.path)
    keys = ("startLine", "startColumn", "endLine", "endColumn")
    region = dict(zip(keys, _span(f, context), strict=True))
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": rule_index[f.code],
        "level": level(f.code),
        "message": {"text": f.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": uri, **base}, "region": region}}
        ],
    }
    if f.cell is not None:
        result["properties"] = {"cell": f.cell, "cellLine": f.line, "cellColumn": f.column}
    # A fix that also needs an import is left out: SARIF can only carry text replacements, and
    # the replacements alone would not run. So is a notebook's: its edits are in a cell's text,
    # not in the notebook's JSON.
    if (
        f.fix is not None
        and f.fix.edits
        and not f.fix.imports
        and f.cell is None
        and f.fix.path in (None, f.path)
    ):
        result["fixes"] = [
            {
                "description": {"text": f.fix.description},
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": uri, **base},
                        "replacements": [
                            {
                                "deletedRegion": {
                                    "startLine": e.line,
                                    "startColumn": e.column,
                                    "endLine": e.end_line,
                                    "endColumn": e.end_column,
                                },
                                "insertedContent": {"text": e.content},
                            }
                            for e in f.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def render_sarif(findings: Sequence[Finding], context: Context) -> str:
    """SARIF 2.1.0 for GitHub code scanning; every rule is described, found or not."""
    rule_index = {code: index for index, code in enumerate(ALL_CODES)}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "init-lint",
                        "version": __version__,
                        "rules": [_sarif_rule(code) for code in ALL_CODES],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": [_sarif_result(f, rule_index, context) for f in findings],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[Sequence[Finding], Context], str]] = {
    "text": render_text,
    "grouped": render_grouped,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}
#: Formats whose output is a document that extra lines (summary, statistics) would corrupt.
MACHINE_FORMATS = frozenset({"json", "sarif"})


def render_statistics(findings: Sequence[Finding]) -> str:
    """A line per code, most frequent first: the count, the code, ``[*]`` and how many of them
    ``--fix`` fixes when it fixes any, and the rule's title."""
    counts = Counter(f.code for f in findings)
    fixes = Counter(f.code for f in findings if fixable(f))
    width = len(str(max(counts.values(), default=0)))
    fix_width = len(f"[*] {max(fixes.values())} fixable") if fixes else 0
    lines = []
    for code, count in counts.most_common():
        marker = f"[*] {fixes[code]} fixable" if fixes[code] else ""
        column = f"{marker:<{fix_width}}  " if fixes else ""
        lines.append(f"{count:>{width}}  {code}  {column}{title(code)}\n")
    return "".join(lines)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render_summary(findings: Sequence[Finding], files_checked: int) -> str:
    if not findings:
        return f"All checks passed ({_plural(files_checked, 'file')}).\n"
    files = len({f.path for f in findings})
    summary = f"Found {_plural(len(findings), 'finding')} in {_plural(files, 'file')}.\n"
    fixes = sum(1 for f in findings if fixable(f))
    if fixes:
        summary += f"[*] {fixes} fixable with `--fix`.\n"
    return summary
