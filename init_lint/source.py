"""A source file's bytes as text, decoded the way CPython decodes them.

The encoding comes from a UTF-8 BOM or a PEP 263 coding line (``tokenize.detect_encoding``, the
same rules the interpreter applies). Bytes that do not decode are kept as surrogate escapes, so
that text → bytes gives back exactly the original bytes: CPython's import system accepts such bytes
inside a comment, and the autofix must leave them as they were.
"""

from __future__ import annotations

import tokenize
from io import BytesIO

from .lines import split_lines

#: How undecodable bytes are carried in text (and written back unchanged).
ERRORS = "surrogateescape"


def encoding_of(source: bytes) -> str:
    """The encoding CPython reads ``source`` with (``utf-8-sig`` when it starts with a BOM);
    ``utf-8`` when the declaration itself is invalid (the file does not compile then)."""
    try:
        return tokenize.detect_encoding(BytesIO(source).readline)[0]
    except SyntaxError:
        return "utf-8"


def decode(source: str | bytes, encoding: str | None = None) -> str:
    """``source`` as text; undecodable bytes become surrogate escapes (see :func:`encode`)."""
    if isinstance(source, str):
        return source
    encoding = encoding or encoding_of(source)
    try:
        return source.decode(encoding, ERRORS)
    except LookupError:  # not reachable for a file that compiles; a guard for the others
        return source.decode("utf-8", ERRORS)


def encode(text: str, encoding: str) -> bytes:
    """The inverse of :func:`decode`: the original bytes outside what was edited."""
    return text.encode(encoding, ERRORS)


def parseable(text: str) -> str:
    """``text`` with each surrogate escape replaced by U+FFFD, one character for one, so that
    LibCST (which refuses lone surrogates) sees the same columns as the original text."""
    if not _has_surrogates(text):
        return text
    return "".join("\ufffd" if "\udc80" <= ch <= "\udcff" else ch for ch in text)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def source_lines(source: str | bytes) -> list[str]:
    """A file's lines for display and ``# noqa`` lookup: Python's line model, its encoding."""
    return split_lines(parseable(decode(source)))
