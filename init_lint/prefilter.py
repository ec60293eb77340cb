"""Decide from a file's text alone, before parsing, that its analysis cannot matter.

Parsing is most of the cost of a run, and most files of a real tree have nothing to do with
layer initialisation. The test is a few regular-expression searches over the raw text; it errs
on the side of parsing (a mention inside a comment or string counts).

What can make a file matter, following the analysis (:mod:`init_lint.analysis`):

* its own findings need either a ``torch.nn.init`` call (INI002–INI006), which the file can
  only reach through the word ``init``, or a weight layer feeding a rectifier or Tanh/Sigmoid
  (INI001): both are named in the file (every name in ``WEIGHT_LAYERS`` contains one of the
  layer stems below; activations are recognised by their torch names only);
* in a project run, a file also matters to *other* files through the containment graph: a class
  it defines (a container that other files' classes are put in) or a class it instantiates
  (``model = Net(); train(model)`` is an unknown init program above ``Net``'s layers). The
  analysis treats a call of a capitalised name as an instantiation, so a file with neither a
  ``class`` statement nor such a call adds no node that anything else can reach.

In a project run, any mention of a layer, activation, ``apply`` or ``modules()`` keeps the file
too: they only act on layers or on such nodes, so this costs little and keeps the test
conservative should the analysis grow. All names come from :mod:`init_lint.knowledge`.
"""

from __future__ import annotations

import builtins
import re

from .knowledge import (
    FUNCTIONAL_ACTIVATIONS,
    TENSOR_METHOD_ACTIVATIONS,
    WEIGHT_LAYERS,
    Family,
    activation_from_function,
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
    """Activations a finding can be about: rectifiers and Tanh/Sigmoid (not GELU & co.)."""
    functions = {
        name
        for name in {*FUNCTIONAL_ACTIVATIONS, *TENSOR_METHOD_ACTIVATIONS}
        if (activation := activation_from_function(name)) is not None
        and activation.family is not Family.OTHER
    }
    return functions | {FUNCTIONAL_ACTIVATIONS[name.rstrip("_")] for name in functions}


def _any_of(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, words)))


LAYER_WORDS = _stems(set(WEIGHT_LAYERS))
ACTIVATION_WORDS = _stems(_activation_names())
_INIT = re.compile(r"\binit\b")
_LAYER = _any_of(LAYER_WORDS)
_ACTIVATION = _any_of(ACTIVATION_WORDS)

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
    text = _as_text(source)
    return bool(_INIT.search(text) or (_LAYER.search(text) and _ACTIVATION.search(text)))


def may_matter(source: str | bytes) -> bool:
    """False when this file can neither report anything nor change another file's findings."""
    text = _as_text(source)
    if any(
        pattern.search(text) for pattern in (_INIT, _LAYER, _ACTIVATION, _CLASS_STATEMENT, _PROGRAM)
    ):
        return True
    return any(m.group(1) not in _BUILTIN_CLASSES for m in _CAPITALISED_CALL.finditer(text))
