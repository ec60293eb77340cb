"""The one line model: Python's own. A line ends at ``\\n``, ``\\r\\n`` or ``\\r``, nowhere else.

``str.splitlines`` also breaks at ``\\f``, ``\\v``, ``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028`` and
``\\u2029``, which Python (and LibCST, whose positions the findings carry) treat as ordinary
characters inside a line: a file holding one of them in a string or a comment would have every
later line numbered wrong. Every line split in init-lint goes through this module.
"""

from __future__ import annotations

import re

#: A line break as Python's tokenizer sees it.
NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """``text`` cut into lines like ``str.splitlines`` does, but only at Python's line breaks."""
    if not text:
        return []
    if keepends:
        return _LINE_WITH_END.findall(text)
    lines = NEWLINE.split(text)
    if lines[-1] == "":
        lines.pop()  # a final line break ends the last line; it does not start an empty one
    return lines


def line_starts(text: str) -> list[int]:
    """Offset of each 1-based line's first character (index 0 unused), then ``len(text)``."""
    starts = [0, 0]
    starts.extend(match.end() for match in NEWLINE.finditer(text))
    if starts[-1] != len(text):
        starts.append(len(text))
    return starts


_LINE_WITH_END = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
