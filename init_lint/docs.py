"""Rule pages: ``init-lint --explain CODE`` and ``docs/rules/CODE.md`` are the same text.

``python -m init_lint.docs`` rewrites docs/rules/ from :mod:`init_lint.rules`;
``python -m init_lint.docs --check`` exits 1 when a page there has drifted from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .rules import PARSE_ERROR_CODE, RULES

PARSE_ERROR_TITLE = "File cannot be read, decoded or parsed"

_PARSE_ERROR_PAGE = f"""\
# {PARSE_ERROR_CODE}: {PARSE_ERROR_TITLE}

Not a rule but a report: init-lint could not read the file, decode it, or parse it as Python.
The message gives the parser's line, column and reason: CPython's, which judges every file as
`import` would, or LibCST's when only LibCST refuses it. A message that starts with "internal
error" means init-lint itself failed on the file (the run goes on, and exits 3): please report it.

## Why

A file that is skipped silently looks like a clean file. Reporting it keeps the run honest; the
other files are still linted. `select` never drops INI999; `ignore = ["INI999"]` does.

## Autofix

None: fix the syntax error or the file's encoding.
"""


def explain(code: str) -> str:
    """The page for ``code`` (case-insensitive); ``KeyError`` for an unknown code."""
    code = code.upper()
    if code == PARSE_ERROR_CODE:
        return _PARSE_ERROR_PAGE
    return RULES[code].explain()


def pages() -> dict[str, str]:
    """File name → content for every page under docs/rules/."""
    return {f"{code}.md": explain(code) for code in (*RULES, PARSE_ERROR_CODE)}


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
