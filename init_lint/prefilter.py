"""Decide cheaply, before parsing with LibCST, which files' analysis can matter.

Parsing is most of the cost of a run, and most files of a real tree have nothing to do with
layer initialisation. What can make a file report, following the analysis
(:mod:`init_lint.analysis`):

* a ``torch.nn.init`` call (INI002–INI006), which code can only reach through the name ``init``
  as an attribute (``nn.init.kaiming_normal_``), an imported module (``from torch.nn.init
  import …``, ``import torch.nn.init as I``) or an imported name (``from torch.nn import init``);
* a weight layer feeding a rectifier or Tanh/Sigmoid (INI001–INI003): the layer class and the
  activation are both named in the file (activations are recognised by their torch names only).

:func:`may_report` tests the raw text for those names as words (a mention in a comment or a
string counts, so it errs on the side of parsing); :func:`names_report` then tests the
identifiers of CPython's syntax tree, which the referee compile has built anyway, so that
comments and strings no longer count. A file that passes both is a *seed*. Other files matter
only through the classes of the seeds' layers: :mod:`init_lint.parallel` analyses, round by
round, the files that name one of the classes that own or contain those layers (see
:func:`wanted_names`); every other file is only compiled, so that a syntax error in it is
still reported (INI999). All names come from :mod:`init_lint.knowledge`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .knowledge import (
    FUNCTIONAL_ACTIVATIONS,
    TENSOR_METHOD_ACTIVATIONS,
    WEIGHT_LAYERS,
    Family,
    activation_from_function,
)

if TYPE_CHECKING:
    from .analysis.facts import FileFacts


def _activation_names() -> frozenset[str]:
    """Activations a finding can be about: rectifiers and Tanh/Sigmoid (not GELU & co.)."""
    functions = {
        name
        for name in {*FUNCTIONAL_ACTIVATIONS, *TENSOR_METHOD_ACTIVATIONS}
        if (activation := activation_from_function(name)) is not None
        and activation.family is not Family.OTHER
    }
    return frozenset(functions | {FUNCTIONAL_ACTIVATIONS[name.rstrip("_")] for name in functions})


def _words(names: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b")


ACTIVATION_NAMES = _activation_names()
_LAYER = _words(WEIGHT_LAYERS)
_ACTIVATION = _words(ACTIVATION_NAMES)
_INIT = re.compile(r"\.\s*init\b|\binit\s*\.|\bimport\s+init\b|\binit\s+(?:as|import)\b")
# Substrings every one of those names contains: a C-speed test before the regular expressions.
_LAYER_HINTS = ("Linear", "Conv")
_ACTIVATION_HINTS = ("relu", "ReLU", "tanh", "Tanh", "igmoid")


def _as_text(source: str | bytes) -> str:
    # Every name searched for is ASCII, and a file's encoding (PEP 263) must be ASCII-compatible
    # for Python to read its coding line: latin-1 maps bytes 1:1, so no mention can be lost.
    return source if isinstance(source, str) else source.decode("latin-1")


def may_report(source: str | bytes) -> bool:
    """False when linting this file can report nothing (flake8's model), from its text alone."""
    text = _as_text(source)
    if "init" in text and _INIT.search(text):
        return True
    return names_layer(text) and names_activation(text) and bool(_LAYER.search(text))


def may_build_layer(source: str | bytes) -> bool:
    """Whether the text may build a weight layer: with no activation named in it, a finding
    there comes from another file of its package (a factory, a container's argument)."""
    text = _as_text(source)
    return names_layer(text) and bool(_LAYER.search(text))


def names_layer(source: str | bytes) -> bool:
    """Whether the text may name a weight layer (a C-speed substring test only)."""
    text = _as_text(source)
    return any(hint in text for hint in _LAYER_HINTS)


def names_report(tree: ast.AST) -> bool:
    """:func:`may_report` on the identifiers of the syntax tree: names, attributes, imports."""
    names = _identifiers(tree)
    return "init" in names or bool(names & WEIGHT_LAYERS and names & ACTIVATION_NAMES)


def _identifiers(tree: ast.AST) -> set[str]:
    """Names, attributes and imported names anywhere in ``tree``. A walk of its own: ast.walk
    costs three times as much, for every file the prefilter lets through."""
    names: set[str] = set()
    pending: list[object] = [tree]
    while pending:
        node = pending.pop()
        if type(node) is ast.Name:
            names.add(node.id)
            continue
        if type(node) is ast.alias:
            names.update(node.name.split("."))
            names.add(node.asname or "")
            continue
        if not isinstance(node, ast.AST):  # None in a list (dict unpacking), a str (global)
            continue
        if type(node) is ast.Attribute:
            names.add(node.attr)
        elif type(node) is ast.ImportFrom and node.module:
            names.update(node.module.split("."))
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                pending.extend(value)
            elif isinstance(value, ast.AST):
                pending.append(value)
    return names


def layer_classes(tree: ast.AST) -> frozenset[str]:
    """The top-level classes that build a weight layer and take a module or a module class as a
    constructor argument (``act_layer=nn.GELU``, ``activation: nn.Module``): the ones another
    file can hand a rectifier. Cheap: only asked of files :func:`names_report` turned down."""
    found = set()
    body = tree.body if isinstance(tree, ast.Module) else []
    for node in body:
        if not isinstance(node, ast.ClassDef) or node.name in WEIGHT_LAYERS:
            continue  # torch's own layer classes: every model names them
        init = next(
            (f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"),
            None,
        )
        if init is None or not _takes_a_module(init):
            continue
        for inner in ast.walk(node):  # a weight layer built here (not merely named)
            called = inner.func if isinstance(inner, ast.Call) else None
            name = (
                called.id
                if isinstance(called, ast.Name)
                else called.attr
                if isinstance(called, ast.Attribute)
                else None
            )
            if name in WEIGHT_LAYERS:
                found.add(node.name)
                break
    return frozenset(found)


def _takes_a_module(init: ast.FunctionDef) -> bool:
    """A parameter that is called in ``__init__`` (``act_layer()``), has a module-like default
    (``nn.GELU``, ``nn.ReLU()``) or is annotated as a module or a callable."""
    arguments = init.args
    params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    names = {p.arg for p in params}
    defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    if any(isinstance(d, (ast.Attribute, ast.Call)) for d in defaults):
        return True
    for param in params:
        hint = ast.unparse(param.annotation) if param.annotation is not None else ""
        if any(word in hint for word in ("Module", "Callable", "Type[", "type[")):
            return True
    return any(
        isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in names
        for call in ast.walk(init)
    )


def names_activation(source: str | bytes) -> bool:
    """Whether the text names an activation a finding can be about."""
    text = _as_text(source)
    return any(hint in text for hint in _ACTIVATION_HINTS) and bool(_ACTIVATION.search(text))


_WORD = re.compile(r"\w+")


def words_of(source: str | bytes) -> frozenset[str]:
    """The words of ``source`` (in code, comments and strings): a name is mentioned as a word
    exactly when it is one of them. Computed once per file, tested against any set of names."""
    return frozenset(_WORD.findall(_as_text(source)))


def code_words(tree: ast.AST) -> frozenset[str]:
    """The names the code uses or defines (not its comments nor its strings). Dearer than
    :func:`words_of`: asked only of the files whose words already match."""
    words = _identifiers(tree)
    for node in ast.walk(tree):  # what _identifiers leaves out: the names a file defines
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            words.add(node.name)
        elif isinstance(node, ast.keyword) and node.arg:
            words.add(node.arg)
    return frozenset(words)


_DOTTED = re.compile(r"[A-Za-z_][\w.]*\Z")


def wanted_names(all_facts: Iterable[FileFacts]) -> frozenset[str]:
    """The names through which a file not analysed yet could change a finding.

    A finding is about a candidate layer, judged in every chain of containers above its owner.
    Another file adds to such a chain only by naming a class in it (it instantiates or receives
    the class through its name, or defines a class of the same key): so the names are the last
    parts of the keys of the owners and of every container known to hold them.
    """
    parents: dict[str, set[str]] = {}
    stack: list[str] = []
    for facts in all_facts:
        stack += [instance.owner for instance in facts.instances]
        for node in facts.nodes:
            for child in node.contains:
                parents.setdefault(child, set()).add(node.key)
    seen: set[str] = set()
    while stack:
        key = stack.pop()
        if key not in seen:
            seen.add(key)
            stack.extend(parents.get(key, ()))
    return frozenset(key.rsplit(".", 1)[-1] for key in seen if _DOTTED.match(key))
