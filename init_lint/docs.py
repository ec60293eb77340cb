"""Rule pages: ``init-lint --explain CODE`` and ``docs/rules/CODE.md`` are the same text.

``python -m init_lint.docs`` rewrites docs/rules/ from :mod:`init_lint.rules`;
``python -m init_lint.docs --check`` exits 1 when a page there has drifted from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .rules import ALL_CODES, PARSE_ERROR, RULES, rule_for


def explain(code: str) -> str:
    """The page for ``code`` (case-insensitive); ``KeyError`` for an unknown code."""
    return rule_for(code.upper()).explain()


def rule_record(code: str) -> dict[str, Any]:
    """A rule as data (``init-lint rules --format json``, ``--explain --format json``)."""
    rule = rule_for(code)
    return {
        "code": rule.code,
        "name": rule.name,
        "title": rule.title,
        "severity": rule.level.value,
        "fixable": rule.fixable,
        "fix_title": rule.fix_title,
        "message_formats": list(rule.messages.values()),
        "explanation": rule.explain(),
    }


def rules_table() -> str:
    """``init-lint rules``: one line per rule, ``[*]`` where an autofix exists (as ruff marks
    fixable rules)."""
    width = max(len(rule_for(code).name) for code in ALL_CODES)
    lines = []
    for code in ALL_CODES:
        rule = rule_for(code)
        fix = "[*]" if rule.fixable else "   "
        lines.append(f"{code}  {rule.name:<{width}}  {rule.level.value:<7}  {fix}  {rule.title}")
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """File name → content for every page under docs/rules/."""
    return {f"{code}.md": explain(code) for code in (*RULES, PARSE_ERROR.code)}


def default_docs_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "docs" / "rules"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m init_lint.docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the pages are out of date")
    parser.add_argument("--dir", type=Path, default=default_docs_dir(), help="docs/rules/ path")
    args = parser.parse_args(argv)
    wanted = pages()
    stale = [name for name, text in wanted.items() if _read(args.dir / name) != text]
    if args.check:
        for name in stale:
            print(
                f"{args.dir / name} is out of date: run python -m init_lint.docs", file=sys.stderr
            )
        return 1 if stale else 0
    args.dir.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (args.dir / name).write_text(wanted[name], encoding="utf-8")
        print(f"wrote {args.dir / name}")
    return 0


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
