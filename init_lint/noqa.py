"""File-level exemptions and ``--add-noqa``.

* ``# noqa`` and ``# noqa: CODES`` on a line silence that line, parsed with flake8's own
  pattern;
* ``# init-lint: noqa`` on a line of its own exempts the whole file, and
  ``# init-lint: noqa: INI001,INI003`` exempts the file from those codes (ruff's
  ``# ruff: noqa`` semantics);
* ``# flake8: noqa`` exempts the whole file as flake8 does: flake8 skips a file in which a line
  *starts* with it (codes after it do not narrow it down), and ignores it after code;
* :func:`add_noqa` appends ``# noqa: CODE`` to reported lines, merging with a ``# noqa: …``
  already there, as ``ruff check --add-noqa`` does.
"""

from __future__ import annotations

import re
import tokenize
from collections.abc import Iterable, Mapping, Sequence

from .lines import split_lines

# flake8's own pattern (flake8/defaults.py), so that both front ends agree on every spelling of a
# noqa comment: bare, with a code list after a colon, any case. A code list silences the codes
# that start with a listed entry; a bare one silences every code on the line.
NOQA_INLINE = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)


_FILE_EXEMPTION = re.compile(
    r"^\s*#\s*init-lint\s*:\s*noqa(?:\s*:\s*(?P<codes>[A-Za-z]+[0-9]*(?:[,\s]+[A-Za-z]+[0-9]*)*))?"
    r"\s*,?\s*$",
    re.IGNORECASE,
)
# flake8/defaults.py: NOQA_FILE, applied with re.match to every line.
_FLAKE8_FILE = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)

#: What :func:`file_exemption` returns for a file that is exempt from every code.
ALL = frozenset({""})  # "" is a prefix of every code


def file_exemption(lines: Iterable[str], flake8: bool = True) -> frozenset[str]:
    """The code prefixes a file is exempt from: empty when none, :data:`ALL` for every code.

    ``flake8=False`` leaves ``# flake8: noqa`` to flake8 itself (the flake8 plugin)."""
    exempt: set[str] = set()
    for line in lines:
        if "noqa" not in line.lower():
            continue
        if flake8 and _FLAKE8_FILE.match(line):
            return ALL
        match = _FILE_EXEMPTION.match(line)
        if match is None:
            continue
        codes = match.group("codes")
        if codes is None:
            return ALL
        exempt.update(code.upper() for code in re.split(r"[,\s]+", codes) if code)
    return frozenset(exempt)


def noqa_codes(line: str) -> frozenset[str] | None:
    """``None`` when the line has no ``# noqa``; an empty set for a bare one; else its codes."""
    match = NOQA_INLINE.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if codes is None:
        return frozenset()
    return frozenset(code.upper() for code in re.split(r"[,\s]+", codes) if code)


def silenced_by_noqa(code: str, line: str) -> bool:
    codes = noqa_codes(line)
    return codes is not None and (not codes or code.startswith(tuple(codes)))


def is_exempt(code: str, exemption: frozenset[str]) -> bool:
    return bool(exemption) and code.startswith(tuple(exemption))


def decode(source: bytes) -> tuple[str, str]:
    """A file's text and the encoding to write it back in (PEP 263, BOM included)."""
    try:
        encoding = tokenize.detect_encoding(iter(source.splitlines(keepends=True)).__next__)[0]
    except SyntaxError:
        encoding = "utf-8"
    return source.decode(encoding), encoding


def _split_ending(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


def _with_codes(body: str, codes: Sequence[str]) -> str | None:
    """``body`` (a line without its ending) with ``codes`` added to its noqa comment;
    None when a comment cannot be added (a backslash continuation, or a bare ``# noqa``)."""
    match = NOQA_INLINE.search(body)
    if match is None:
        if body.rstrip().endswith("\\"):
            return None
        return f"{body.rstrip()}  # noqa: {', '.join(sorted(codes))}"
    listed = match.group("codes")
    if listed is None:
        return None  # a bare noqa already silences everything: nothing was reported here
    present = [code for code in re.split(r"[,\s]+", listed.strip()) if code]
    merged = sorted({*present, *codes}, key=str.upper)
    start = match.start("codes")
    end = start + len(listed.rstrip())
    return f"{body[:start]}{', '.join(merged)}{body[end:]}"


def add_noqa(text: str, codes_by_line: Mapping[int, Iterable[str]]) -> tuple[str, int, list[int]]:
    """Append ``# noqa: CODES`` to the given 1-based lines of ``text``.

    Returns the new text, how many lines got a directive, and the lines that could not take one
    (a line that ends in a backslash continuation)."""
    lines = split_lines(text, keepends=True)
    added = 0
    refused: list[int] = []
    for number, codes in sorted(codes_by_line.items()):
        if not 0 < number <= len(lines):
            continue
        body, ending = _split_ending(lines[number - 1])
        updated = _with_codes(body, sorted(set(codes)))
        if updated is None:
            refused.append(number)
            continue
        if updated != body:
            lines[number - 1] = updated + ending
            added += 1
    return "".join(lines), added, refused
