"""INI999: not a rule but a report — a file that cannot be read, decoded or parsed."""

from __future__ import annotations

from ._base import Level, Rule

RULE = Rule(
    code="INI999",
    name="parse-error",
    title="File cannot be read, decoded or parsed",
    messages={"default": "{reason}"},
    level=Level.ERROR,
    what=(
        "Not a rule but a report: init-lint could not read the file, decode it, or parse it as "
        "Python. The message gives the parser's line, column and reason: CPython's, which judges "
        "every file as `import` would, or LibCST's when only LibCST refuses it. A message that "
        'starts with "internal error" means init-lint itself failed on the file (the run goes '
        "on, and exits 3): please report it."
    ),
    why=(
        "A file that is skipped silently looks like a clean file. Reporting it keeps the run "
        "honest; the other files are still linted. `select` never drops INI999; "
        '`ignore = ["INI999"]` does.'
    ),
    fix="None: fix the syntax error or the file's encoding.",
)
