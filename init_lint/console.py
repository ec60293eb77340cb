"""The command line's streams: output any terminal or pipe can take, progress, exit codes.

Messages use a few non-ASCII symbols (≈ √ · ²). On a stream whose encoding cannot hold them (a
Windows redirect in cp1252, ``PYTHONIOENCODING=ascii``) they are written in ASCII spellings
(``~``, ``sqrt``); a file name that is not valid UTF-8 (carried as surrogate escapes) is written
as its original bytes; anything else unencodable as a backslash escape. Printing never fails
because of an encoding.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import sys
import time
from typing import TextIO

#: Exit statuses (README, "Exit codes").
OK, FINDINGS, ERROR, INTERNAL_ERROR = 0, 1, 2, 3

_ERROR_HANDLER = "init-lint"
_ASCII = {
    "≈": "~",
    "√": "sqrt ",
    "·": "*",
    "²": "^2",
    "→": "->",
    "←": "<-",
    "×": "x",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "–": "-",
    "—": "--",
    "…": "...",
    "½": "1/2",
    "µ": "u",
    "±": "+/-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
}


def _replace(error: UnicodeError) -> tuple[str | bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    if all("\udc80" <= ch <= "\udcff" for ch in text):  # undecodable bytes of a file name
        return bytes(ord(ch) - 0xDC00 for ch in text), error.end
    spelled = (_ASCII.get(ch) or ch.encode("ascii", "backslashreplace").decode() for ch in text)
    return "".join(spelled), error.end


codecs.register_error(_ERROR_HANDLER, _replace)


def configure_streams() -> None:
    """Make standard output and error unable to fail on an encoding; a closed one fails with
    a clear OSError at the first write instead of an AttributeError."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, _Closed(name))
        elif isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors=_ERROR_HANDLER)


class _Closed(io.TextIOBase):
    """Stands in for a standard stream the process was started without (``>&-``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, f"standard {self.name[3:]}put is closed")

    def isatty(self) -> bool:
        return False


def working_directory_error() -> str | None:
    """Why the working directory is unusable (deleted while we were in it), or None."""
    try:
        os.getcwd()
    except OSError as error:
        return f"the current directory is not accessible ({error.strerror}); cd elsewhere first"
    return None


class Progress:
    """``files done / total`` on stderr while a long run goes on, when stderr is a terminal.

    Nothing is shown for a run that ends within :data:`DELAY` seconds, nor when stderr is a
    pipe or a file (CI logs). The line is erased before anything else is printed.
    """

    DELAY = 1.0
    INTERVAL = 0.1

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _isatty(self.stream)
        self.started = time.monotonic()
        self.shown = 0.0
        self.width = 0

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < self.DELAY or (now - self.shown < self.INTERVAL and done < total):
            return
        self.shown = now
        text = f"init-lint: {done}/{total} files"
        self.width = max(self.width, len(text))
        self._write(f"\r{text}")

    def finish(self) -> None:
        if self.width:
            self._write("\r" + " " * self.width + "\r")
            self.width = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False
