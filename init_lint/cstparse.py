"""LibCST's parser without the per-node validation it runs on trees it has just built.

Every LibCST node checks its own invariants when it is constructed (``CSTNode.__post_init__``
calls ``_validate``). That protects trees built by hand; a tree the parser builds from source
is valid by construction, and LibCST's own comment on ``__post_init__`` names this cost. On
timm + torchvision the checks are about a sixth of the parse (benchmarks/bench.py). Nodes that
init-lint builds itself (the fixes) are still validated: the checks are off only while
:func:`parse_module` runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import libcst as cst

_LOCK = threading.Lock()


def _skip_validation(self: cst.CSTNode) -> None:
    return None


@contextmanager
def unvalidated() -> Iterator[None]:
    # The lock keeps two parses (the language server analyses in threads) from restoring each
    # other's original. A node another thread builds meanwhile skips its checks too: they only
    # ever raise on a tree built wrong, and init-lint builds none.
    with _LOCK:
        original = cst.CSTNode.__post_init__
        cst.CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
        try:
            yield
        finally:
            cst.CSTNode.__post_init__ = original  # type: ignore[method-assign]


def parse_module(source: str) -> cst.Module:
    """``libcst.parse_module(source)``, without validating the nodes the parser builds."""
    with unvalidated():
        return cst.parse_module(source)
