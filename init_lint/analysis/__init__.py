"""Static analysis: per-file facts (:func:`analyze_module`), then cross-file :func:`resolve`.

How it works, in a screenful:

* **The tree** is LibCST's, built from CPython's AST by :mod:`.fromast` (no token, whitespace
  or comment nodes, each node's source span kept), or LibCST's parse for the syntax that
  module leaves out.

* **Abstract values** (:mod:`.values`). Model code is run abstractly, once per file: an
  expression evaluates to "the Conv2d built at this call", "ReLU", "a tensor that is the output
  of these layers through scale-keeping ops", "a Sequential of these", or ``UNKNOWN``. Values
  compare by identity: the layer ``self.fc`` in ``forward`` is the object ``__init__`` built.
* **Contexts** (:class:`~.values.Node`). Layers are owned by a context: a class (run with its
  parameters' defaults), one instantiation of a class, module-level code, or an entry-point
  function. Contexts contain each other (``ResNet`` contains ``BasicBlock``; ``netG =
  Generator()`` at module level contains one instantiation of ``Generator``); each chain of
  containers from a layer's owner up to a root is one context the layer lives in.
* **Init state, "last init wins"**. Each layer carries the set of inits it may have after its
  owner's code ran: PyTorch's default, then every init call aimed at it replaces the state;
  branches whose condition is unknown merge their states.
* **Init programs** (:mod:`.inits`). A ``for m in self.modules():`` body or a function given
  to ``apply`` runs on every module of a scope, so it is simulated per layer kind with a probe
  for ``m``; its outcome applies to the owner's layers at once, and — as a step of the owner's
  node — to the layers of every context it contains, when facts are resolved.
* **Facts** (:mod:`.facts`, :mod:`.extract`) are plain data (no CST), so they are cached and
  combined across files; :mod:`.resolve` folds each layer's contexts and judges it with
  :func:`init_lint.knowledge.judge`; :mod:`.fixes` plans the autofix.

Where the analysis cannot know, values are UNKNOWN and nothing is reported: precision first.
"""

from __future__ import annotations

from .extract import facts_of as analyze_module
from .facts import FileFacts
from .resolve import resolve

__all__ = ["FileFacts", "analyze_module", "resolve"]
