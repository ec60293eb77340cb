"""Which portable functions of other files (see :mod:`init_lint.analysis.portable`) each file's
analysis is given.

A file gets them with its first analysis for the functions it imports by name and calls
(``from timm.layers import to_ntuple`` … ``to_ntuple(n)(block)``), found from its imports before
it is analysed, so that it is analysed once; a call the analysis finds another way (``helpers.
to_2tuple(x)``) is in its facts' ``calls``, and the file is analysed again with those sources.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .analysis.portable import FunctionSource, PortableModule, StarNames
    from .cache import Cache
    from .module_identity import Renamed
    from .parallel import Requests

#: A name called somewhere in a file (a cheap over-approximation: strings and comments too).
_CALLED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
#: A word of a file's text (a name is mentioned where it is one).
_WORD = re.compile(r"\w+")
#: A function called through a module (``L.conv1x1(``): the module's name and the function's.
_ATTRIBUTE_CALLED = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*\(")
#: A top-level class statement (a cheap over-approximation: one in a string counts too).
_TOP_CLASS = re.compile(r"^class[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
#: A top-level def, or a name assigned at top level (``to_2tuple = _ntuple(2)``): the same
#: over-approximation.
_TOP_DEFINED = re.compile(r"^(?:(?:async[ \t]+)?def[ \t]+(\w+)|(\w+)[ \t]*[:=,])", re.M)
#: A top-level ``from module import *`` (its leading dots, its module).
_STAR_IMPORT = re.compile(r"^from[ \t]+(\.*)[ \t]*([\w.]*)[ \t]+import[ \t]+\*", re.M)
#: How many re-exports (``pkg/__init__.py`` importing from ``pkg.mod``) are followed.
MAX_REEXPORTS = 8


class FunctionSources:
    """The portable functions of the files of one run, found on demand and kept."""

    def __init__(
        self,
        sources: Sequence[tuple[str, str | bytes]],
        names: list[str],
        cache: Cache | None = None,
        renamed: Sequence[Renamed | None] = (),
    ) -> None:
        self._sources = sources
        self._names = names
        self._renamed = renamed  # per file, see .analysis.imports.Renamed
        self._by_module = {name: index for index, name in enumerate(names)}
        self._modules: dict[int, PortableModule] = {}
        self._cache = cache  # a file's portable functions are kept there between runs
        self._imports: dict[int, dict[str, str]] = {}
        self._classes: dict[int, frozenset[str]] = {}
        self._defined: dict[int, frozenset[str]] = {}
        self._stars: dict[int, list[str]] = {}
        self._usable: dict[str, bool] = {}  # see _is_usable
        self._builds: dict[str, bool] = {}  # see _is_builder
        self._for_run: dict[str, FunctionSource] = {}  # see _run_source

    def module(self, index: int) -> PortableModule:
        known = self._modules.get(index)
        if known is None:
            known = self._modules[index] = self._portable_module(index)
        return known

    def _portable_module(self, index: int) -> PortableModule:
        from .analysis.portable import PortableModule, portable_module

        path, source = self._sources[index]
        package = os.path.basename(path) == "__init__.py"
        name = self._names[index]
        if self._cache is None:
            return portable_module(source, name, package)
        key = self._cache.value_key("portable", f"{name}\0{int(package)}", source)
        known: PortableModule | None = self._cache.load_value("portable", key, PortableModule)
        if known is None:
            known = portable_module(source, name, package)
            self._cache.store_value("portable", key, known)
        return known

    def home(self, name: str) -> tuple[FunctionSource, str] | None:
        """The portable source that defines a function, and its name there (through
        re-exports); None for a function that is not portable or not in the run, or that
        calls another module's function that is not (see :meth:`_is_usable`)."""
        found = self._defining(name)
        if found is None or not self._is_usable(found[1]):
            return None
        return self._run_source(found[0]), found[1]

    def _external(self, defined: str) -> tuple[str, ...]:
        """The other modules' functions a portable function calls (through its module's)."""
        found = self._defining(defined)
        if found is None:
            return ()
        return dict(found[0].external).get(defined.rpartition(".")[2], ())

    def _is_usable(self, defined: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether every other module's function a portable function calls is portable too
        (and so on, across modules): only then does running it write no weight. A cycle of
        calls across modules counts as usable, as a cycle within one module does."""
        known = self._usable.get(defined)
        if known is not None:
            return known
        usable = True
        for called in self._external(defined):
            found = self._defining(called)
            if found is None or (
                found[1] not in seen and not self._is_usable(found[1], seen | {defined})
            ):
                usable = False
                break
        self._usable[defined] = usable
        return usable

    def _is_builder(self, defined: str, seen: frozenset[str] = frozenset()) -> bool:
        """A layer builder (see .analysis.portable), itself or through another module's."""
        known = self._builds.get(defined)
        if known is not None:
            return known
        found = self._defining(defined)
        builds = found is not None and defined.rpartition(".")[2] in found[0].builders
        for called in () if builds else self._external(defined):
            home = self._defining(called)
            if home is not None and home[1] not in seen:
                if self._is_builder(home[1], seen | {defined}):
                    builds = True
                    break
        self._builds[defined] = builds
        return builds

    def _run_source(self, source: FunctionSource) -> FunctionSource:
        """``source`` as this run gives it: without its functions that call another module's
        non-portable function, and with its builders through other modules' builders."""
        known = self._for_run.get(source.module)
        if known is None or known.text != source.text:
            own = [name for name, _ in source.external]
            qualified = {name: f"{source.module}.{name}" for name in own}
            unusable = tuple(n for n in own if not self._is_usable(qualified[n]))
            builders = {*source.builders, *(n for n in own if self._is_builder(qualified[n]))}
            known = replace(source, builders=tuple(sorted(builders)), unusable=unusable)
            self._for_run[source.module] = known
        return known

    def _defining(self, name: str) -> tuple[FunctionSource, str] | None:
        """:meth:`home`, whether or not the function is usable in this run."""
        for _ in range(MAX_REEXPORTS):
            module, _, attr = name.rpartition(".")
            index = self._by_module.get(module)
            if index is None or not self._may_define_function(index, attr):
                return None
            found = self.module(index)
            if attr in found.functions and found.source is not None:
                return found.source, name
            target = found.imported.get(attr)
            if target is None or target == name:
                return None
            name = target
        return None

    def _may_define_function(self, index: int, name: str) -> bool:
        """Whether a file may define or re-export a function ``name``, from its text (a cheap
        over-approximation): a called name is most often a class (``VisionTransformer(...)``),
        and learning that from the file's portable functions costs a full parse of it."""
        if name in self._top_classes(index):
            return False
        if name in self.imports(index):
            return True
        return name in self._top_defined(index)

    def _top_defined(self, index: int) -> frozenset[str]:
        known = self._defined.get(index)
        if known is None:
            text = self._text(index)
            known = self._defined[index] = frozenset(
                word for match in _TOP_DEFINED.finditer(text) for word in match.groups() if word
            )
        return known

    def _text(self, index: int) -> str:
        source = self._sources[index][1]
        return source if isinstance(source, str) else source.decode("latin-1")

    def renamed(self, index: int) -> Renamed | None:
        """The top-level module names the file's imports are read with, if the run renames
        any (see :mod:`init_lint.module_identity`)."""
        return self._renamed[index] if self._renamed else None

    def _star_modules(self, index: int) -> list[str]:
        """The modules a file imports with ``*`` at top level, in order (from its text)."""
        known = self._stars.get(index)
        if known is None:
            from .analysis.portable import absolute_module

            path = self._sources[index][0]
            name = self._names[index]
            package = name if os.path.basename(path) == "__init__.py" else name.rpartition(".")[0]
            renamed = self.renamed(index)
            pairs = dict(renamed.pairs) if renamed is not None else {}
            known = self._stars[index] = [
                absolute_module(len(dots), module, package, pairs)
                for dots, module in _STAR_IMPORT.findall(self._text(index))
            ]
        return known

    def star_names(self, index: int) -> list[StarNames]:
        """For a file with more than one ``*`` import of the run's modules (``from models
        import *`` and ``from datasets import *``), the public names each of them binds: the
        analysis cannot tell otherwise which one a name comes from."""
        from .analysis.portable import StarNames

        modules = [m for m in self._star_modules(index) if m in self._by_module]
        if len(modules) < 2:
            return []
        return [
            StarNames(module, tuple(sorted(self._public_names(self._by_module[module]))))
            for module in dict.fromkeys(modules)
        ]

    def imported_and_called(self, index: int) -> list[FunctionSource]:
        """The sources a file needs for the functions it imports by name and uses (asked
        before its first analysis). A use is a call or a value another call receives
        (``conv_layer=create_conv2d``): any mention of the name besides its import."""
        text = self._text(index)
        mentions = Counter(_WORD.findall(text))
        imported = self.imports(index)
        calls = [q for name, q in imported.items() if mentions[name] > 1 and "." in q]
        return self.needed(calls, ())

    def calls_builder(self, index: int) -> bool:
        """Whether a file calls another file's layer builder (see .analysis.portable) by an
        imported name (``conv1x1(...)``) or through an imported module (``L.conv1x1(...)``)."""
        text = self._text(index)
        called = set(_CALLED.findall(text))
        imported = self.imports(index)
        calls = [q for name, q in imported.items() if name in called and "." in q]
        for module, name in _ATTRIBUTE_CALLED.findall(text):
            if module in imported:
                calls.append(f"{imported[module]}.{name}")
        for call in calls:
            found = self.home(call)
            if found is not None and self._is_builder(found[1]):
                return True
        return False

    def imports(self, index: int) -> dict[str, str]:
        """What a file's top-level imports bind (local name -> qualified name)."""
        known = self._imports.get(index)
        if known is None:
            from .analysis.portable import imported_names

            path, source = self._sources[index]
            package = os.path.basename(path) == "__init__.py"
            renamed = self.renamed(index)
            known = self._imports[index] = imported_names(
                source, self._names[index], package, renamed.pairs if renamed else ()
            )
        return known

    def imported_files(self, index: int) -> set[int]:
        """The files of the run that a file imports from: for a name a package's
        ``__init__.py`` re-exports, the file that defines it (through the package, every file
        that imports one of its names would import all the others, and they it)."""
        found = set()
        for qualified in self.imports(index).values():
            module = self._by_module.get(qualified)  # `from pkg import module`
            if module is None:
                module = self._defining_file(qualified)
            if module is not None:
                found.add(module)
        found.update(self._by_module[m] for m in self._star_modules(index) if m in self._by_module)
        # A package the file is in (``import torchvision`` in torchvision/models/vgg.py) is
        # imported before the file anyway, and importing all of it, it would tie every file
        # it imports in one cycle with this one.
        own = self._names[index]
        return {m for m in found if not own.startswith(f"{self._names[m]}.")}

    def _defining_file(self, name: str) -> int | None:
        """The file of the run a name is defined in, following re-exports (from the files'
        imports); the last file reached when the chain leaves the run's files."""
        reached = None
        for _ in range(MAX_REEXPORTS):
            module, _, attr = name.rpartition(".")
            index = self._by_module.get(module)
            if index is None:
                return reached
            target = self.imports(index).get(attr) or self._star_export(index, attr)
            if target is None or target == name:
                return index
            reached, name = index, target
        return reached

    def _star_export(self, index: int, name: str) -> str | None:
        """``module.name`` for a name a file does not define but gets from a module it imports
        with ``*`` (``torchvision/models/__init__.py``: ``from .resnet import *``)."""
        modules = self._star_modules(index)
        if not modules or name in self._top_defined(index) or name in self._top_classes(index):
            return None
        for module in reversed(modules):
            other = self._by_module.get(module)
            if other is not None and name in self._public_names(other):
                return f"{module}.{name}"
        return None

    def _public_names(self, index: int) -> frozenset[str]:
        """What ``from module import *`` may bind (an over-approximation from the text)."""
        names = self._top_classes(index) | self._top_defined(index) | self.imports(index).keys()
        return frozenset(n for n in names if not n.startswith("_"))

    def class_home(self, name: str) -> tuple[int, str] | None:
        """The file that defines a class (through re-exports) and its name there, read from
        the files' text (top-level ``class`` statements and imports): for a file that has not
        been analysed yet. None when not found that way."""
        for _ in range(MAX_REEXPORTS):
            module, _, attr = name.rpartition(".")
            index = self._by_module.get(module)
            if index is None:
                return None
            if attr in self._top_classes(index):
                return index, name
            target = self.imports(index).get(attr)
            if target is None or target == name:
                return None
            name = target
        return None

    def _top_classes(self, index: int) -> frozenset[str]:
        known = self._classes.get(index)
        if known is None:
            text = self._text(index)
            known = self._classes[index] = frozenset(_TOP_CLASS.findall(text))
        return known

    def needed(self, calls: Sequence[str], asked: Requests) -> list[FunctionSource]:
        """The portable sources ``calls`` need, one per module, each with the names the file
        calls its functions by; only those that add something to what it was given."""
        from .analysis.portable import FunctionSource

        given = {r.module: r for r in asked if isinstance(r, FunctionSource)}
        wanted: dict[str, tuple[FunctionSource, set[tuple[str, str]]]] = {}
        pending = list(calls)
        reached: set[str] = set()
        while pending:
            call = pending.pop()
            if call in reached:
                continue
            reached.add(call)
            found = self.home(call)
            if found is None:
                continue
            source, defined = found
            names = wanted.setdefault(source.module, (source, set()))[1]
            if call != defined:
                names.add((call, defined))
            pending.extend(self._external(defined))  # what it calls in other modules
        needed = []
        for module, (source, names) in wanted.items():
            before = given.get(module)
            if before is not None and before.text == source.text:
                names |= set(before.aliases)
            request = replace(source, aliases=tuple(sorted(names)))
            if request != before:
                needed.append(request)
        return needed
