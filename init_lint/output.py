"""Renderers for ``--format``: text, grouped, json, sarif, github; and ``--statistics``.

Each renderer turns the reported findings into the whole text to print, so the CLI only chooses.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
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


def title(code: str) -> str:
    return rule_for(code).title


def render_text(
    findings: Sequence[Finding],
    style: Style,
    source_lines: Callable[[str], Sequence[str]] | None = None,
) -> str:
    """``path:line:col: CODE message``; with ``source_lines``, the line and a caret below it,
    as flake8's --show-source prints them."""
    c = style.cyan(":")
    out = []
    for f in findings:
        out.append(
            f"{style.bold(f.path)}{c}{f.line}{c}{f.column}{c} {style.red(f.code)} {f.message}\n"
        )
        lines = source_lines(f.path) if source_lines else ()
        if 0 < f.line <= len(lines):
            line = lines[f.line - 1]
            # Keep whitespace (tabs) so that the caret lines up however a terminal expands it.
            indent = "".join(ch if ch.isspace() else " " for ch in line[: f.column - 1])
            out.append(f"{line}\n{indent}{style.red('^')}\n")
    return "".join(out)


def render_grouped(findings: Sequence[Finding], style: Style) -> str:
    """Like ruff's ``grouped``: a header per file, then ``line:col CODE message`` indented."""
    blocks = []
    for path, group in groupby(findings, key=lambda f: f.path):
        items = list(group)
        width = max(len(f"{f.line}:{f.column}") for f in items)
        lines = [style.bold(path) + style.cyan(":")]
        lines += [
            f"  {f'{f.line}:{f.column}':<{width}} {style.red(f.code)} {f.message}" for f in items
        ]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def render_json(findings: Sequence[Finding], style: Style) -> str:
    return json.dumps([f.to_json() for f in findings], indent=2, ensure_ascii=False) + "\n"


def _escape_github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_github_property(text: str) -> str:
    return _escape_github_data(text).replace(":", "%3A").replace(",", "%2C")


def _span(f: Finding) -> tuple[int, int, int, int]:
    """Start and end, 1-based; the end defaults to the start, as in the public JSON schema."""
    data = f.to_json()
    return data["line"], data["column"], data["end_line"], data["end_column"]


def render_github(findings: Sequence[Finding], style: Style) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the PR's diff."""
    out = []
    for f in findings:
        line, column, end_line, end_column = _span(f)
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
        out.append(f"::{level(f.code)} {props}::{_escape_github_data(f'{f.code} {f.message}')}\n")
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


def _sarif_result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    uri, base = _sarif_uri(f.path)
    keys = ("startLine", "startColumn", "endLine", "endColumn")
    region = dict(zip(keys, _span(f), strict=True))
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": rule_index[f.code],
        "level": level(f.code),
        "message": {"text": f.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": uri, **base}, "region": region}}
        ],
    }
    # A fix that also needs an import is left out: SARIF can only carry text replacements, and
    # the replacements alone would not run.
    if f.fix is not None and f.fix.edits and not f.fix.imports:
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


def render_sarif(findings: Sequence[Finding], style: Style) -> str:
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
                "results": [_sarif_result(f, rule_index) for f in findings],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[Sequence[Finding], Style], str]] = {
    "text": render_text,
    "grouped": render_grouped,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}
#: Formats whose output is a document that extra lines (summary, statistics) would corrupt.
MACHINE_FORMATS = frozenset({"json", "sarif"})


def render_statistics(findings: Sequence[Finding]) -> str:
    counts = Counter(f.code for f in findings)
    width = len(str(max(counts.values(), default=0)))
    return "".join(
        f"{count:>{width}}  {code}  {title(code)}\n" for code, count in counts.most_common()
    )


def render_summary(findings: Sequence[Finding], files_checked: int) -> str:
    if not findings:
        return f"All checks passed ({files_checked} file{'s' if files_checked != 1 else ''}).\n"
    files = len({f.path for f in findings})
    noun = "finding" if len(findings) == 1 else "findings"
    return f"Found {len(findings)} {noun} in {files} file{'s' if files != 1 else ''}.\n"
