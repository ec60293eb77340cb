"""Decide from a file's text alone, before parsing, that its analysis cannot matter.

Parsing is most of the cost of a run, and most files of a real tree have nothing to do with
layer initialisation. The test is a few regular-expression searches over the raw text; it errs
on the side of parsing (a mention inside a comment or string counts).

What can make a file matter, following the analysis (:mod:`init_lint.analysis`):

* its own findings need a weight layer (every name in ``WEIGHT_LAYERS`` contains one of the
  layer stems below; a local subclass of ``nn.Linear`` names it in its bases) or a
  ``torch.nn.init`` function, which the file can only reach through the word ``init``;
* in a project run, a file also matters to *other* files through the containment graph: a class
  it defines (a container that other files' classes are put in) or a class it instantiates
  (``model = Net(); train(model)`` is an unknown init program above ``Net``'s layers). The
  analysis treats a call of a capitalised name as an instantiation, so a file with neither a
  ``class`` statement nor such a call adds no node that anything else can reach.

The names of activations, ``apply`` and ``modules()`` only ever act on layers or on such nodes,
so their absence adds nothing once the above are absent; they are listed anyway (from
:mod:`init_lint.knowledge`) to keep the test conservative should the analysis grow.
"""

from __future__ import annotations

import builtins
import re

from .knowledge import (
    FUNCTIONAL_ACTIVATIONS,
    OTHER_ACTIVATION_MODULES,
    TENSOR_METHOD_ACTIVATIONS,
    WEIGHT_LAYERS,
    activation_from_module,
)


def _stems(names: frozenset[str] | set[str]) -> list[str]:
    """The shortest set of names such that each given name contains one (as a substring)."""
    ordered = sorted(names, key=len)
    stems: list[str] = []
    for name in ordered:
        if not any(stem in name for stem in stems):
            stems.append(name)
    return sorted(stems)


def _activation_names() -> set[str]:
    modules = {name for name in FUNCTIONAL_ACTIVATIONS.values() if activation_from_module(name)}
    modules -= OTHER_ACTIVATION_MODULES  # GELU & co.: the analysis makes no claim about them
    functions = {f for f, m in FUNCTIONAL_ACTIVATIONS.items() if m in modules}
    return modules | functions | {m.rstrip("_") for m in TENSOR_METHOD_ACTIVATIONS}


# Any of these words: the file may hold a finding of its own.
_LOCAL_WORDS = _stems(set(WEIGHT_LAYERS) | _activation_names())
_LOCAL = re.compile(r"\binit\b|" + "|".join(map(re.escape, _LOCAL_WORDS)))

# Any of these: the file may add to the containment graph that other files' findings depend on.
_BUILTIN_CLASSES = frozenset(name for name in dir(builtins) if name[:1].isupper())
_CLASS_STATEMENT = re.compile(r"^[ \t]*class\s", re.MULTILINE)
_CAPITALISED_CALL = re.compile(r"\b([A-Z]\w*)\s*\(")
_PROGRAM = re.compile(r"\b(?:apply|named_apply|modules|children|Sequential|Module\w*)\b")


def _as_text(source: str | bytes) -> str:
    # Every name searched for is ASCII, and a file's encoding (PEP 263) must be ASCII-compatible
    # for Python to read its coding line: latin-1 maps bytes 1:1, so no mention can be lost.
    return source if isinstance(source, str) else source.decode("latin-1")


def may_report(source: str | bytes) -> bool:
    """False when linting this file on its own cannot report anything (flake8's model)."""
    return _LOCAL.search(_as_text(source)) is not None


def may_matter(source: str | bytes) -> bool:
    """False when this file can neither report anything nor change another file's findings."""
    text = _as_text(source)
    if _LOCAL.search(text) or _CLASS_STATEMENT.search(text) or _PROGRAM.search(text):
        return True
    return any(m.group(1) not in _BUILTIN_CLASSES for m in _CAPITALISED_CALL.finditer(text))
