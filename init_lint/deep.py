"""Run a deeply recursive computation without crashing the process.

LibCST's native parser and its visitors, and the analysis that walks the tree, recurse once or
more per level of nesting. CPython bounds how deep a file it compiles can nest (200 brackets,
100 indents, about 3,000 levels of expressions), but that depth needs far more than the 8 MB
main-thread stack and the default limit of 1,000 Python frames: a native stack overflow kills
the process (SIGSEGV) and a RecursionError loses the file. :func:`call_deep` runs the function
in a thread with a large stack and a high recursion limit. The stack is virtual memory: only
the pages a deep file actually touches are ever used.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Enough for the deepest file CPython compiles, with a wide margin (see tests/test_deep.py).
STACK_SIZE = 512 * 1024 * 1024
RECURSION_LIMIT = 200_000

_lock = threading.Lock()
_active = 0
_saved_limit = 0


def call_deep(function: Callable[[], T]) -> T:
    """``function()``, run in a thread with a large stack and a high recursion limit.

    Its result is returned and its exception re-raised here. Where no such thread can be made
    (a platform without settable stack sizes, or no memory to reserve), it runs here as usual.
    """
    outcome: list[tuple[bool, object]] = []

    def target() -> None:
        _raise_limit()
        try:
            outcome.append((True, function()))
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread
            outcome.append((False, error))
        finally:
            _restore_limit()

    try:
        thread = _start(target)
    except (RuntimeError, ValueError, MemoryError):
        return function()
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]


def _start(target: Callable[[], None]) -> threading.Thread:
    with _lock:  # threading.stack_size is process-wide: set it only around this start
        previous = threading.stack_size(STACK_SIZE)
        try:
            thread = threading.Thread(target=target, name="init-lint-deep", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    return thread


def _raise_limit() -> None:
    """The recursion limit is process-wide: raise it while any deep call runs, never lower it."""
    global _active, _saved_limit
    with _lock:
        if _active == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, RECURSION_LIMIT))
        _active += 1


def _restore_limit() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            sys.setrecursionlimit(_saved_limit)
