"""Functions of one file that another file's analysis may run as its own.

A helper in another file of the package often decides what a model builds: timm's
``to_ntuple(n)(block)`` turns one block class into a tuple of them, ``get_norm_layer('batchnorm')``
picks a norm class from a table, torchvision's ``_ovewrite_named_param(kwargs, 'groups', 32)``
writes the ``groups`` a ResNeXt passes on. Without their bodies, those values are unknown and
the layers they reach are judged from the wrong context. Such a function is *portable* when its
body only computes values: it calls nothing but builtins, ``partial``/``repeat``, ``math``,
``inspect``, methods of strings and containers, its own nested functions and lambdas, its
parameters, torch.nn activations, norms and pass-through modules (``lambda: nn.ReLU()``), and
other portable functions of its module or of other modules of the run (``create_conv2d``
calling ``conv2d_same.create_conv2d_pad``, which calls ``padding.get_padding_value``: the run
checks the chain across modules, see ``function_sources.FunctionSources.home``), and writes no
attribute. Running it in another file's analysis, with that file's argument values, is exact
and has no side effect, and another file's syntax never reaches that file's findings or fixes.

It may also build torch.nn weight layers and containers (``def conv1x1(i, o): return
nn.Conv2d(i, o, 1)``, ``nn.Sequential(nn.Linear(a, b), nn.ReLU())``): a *layer builder*. The
layers it builds belong to the caller's file, at the call that entered the other file (see
``Modules.construct``): what follows them and how they are initialised is known there, and a
fix goes after that call. One that initialises what it builds is not portable (its calls stay
opaque).

A call that reaches one of its own module's classes (``conv3x3_block(c, c, activation=
nn.Tanh)`` returning ``ConvBlock(c, c, 3, activation=activation)``, ``get_act('geglu')``
building ``GEGLU()``) builds that class as the caller's call would: a context of the class with
these arguments, run by the class's file, held where the caller's call is. A parameter it
calls may turn out to be a class of the caller's file or a layer (``build(cls)``): it builds
none there, and that call is treated as if the function were not portable (see
``BuildsModules``).

This module works on CPython's ``ast`` (cheap enough for the parent process, which picks the
files a function lives in); the interpreter runs the portable source it returns.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..knowledge import NORM_LAYERS, PASS_THROUGH_LAYERS, WEIGHT_LAYERS, activation_from_module
from ..lines import split_lines
from ..module_identity import renamed_module
from ..source import decode

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..module_identity import Renamed
    from .contexts import Signature

    #: What the run gives a file's analysis: a context another file builds one of its classes
    #: in, another file's portable functions, the names of its ``*`` imports, its root's
    #: module names.
    Request: TypeAlias = "tuple[str, Signature] | FunctionSource | StarNames | Renamed"

#: Builtins a portable function may call: they compute values from values.
SAFE_BUILTINS = frozenset(
    {
        "abs", "all", "any", "bool", "callable", "dict", "divmod", "enumerate", "float",
        "frozenset", "getattr", "hasattr", "int", "isinstance", "issubclass", "len", "list",
        "max", "min", "pow", "range", "repr", "reversed", "round", "set", "sorted", "str",
        "sum", "tuple", "type", "zip",
    }
)  # fmt: skip
#: Modules whose functions compute values (``math.ceil``, ``functools.partial``).
SAFE_MODULES = frozenset({"math", "functools", "itertools", "operator", "numbers", "inspect"})
#: Methods of strings, dicts and lists: a call of one of these names writes no weight.
SAFE_METHODS = frozenset(
    {
        "append", "copy", "count", "endswith", "extend", "format", "get", "index", "insert",
        "items", "join", "keys", "lower", "pop", "replace", "setdefault", "split", "startswith",
        "strip", "update", "upper", "values",
    }
)  # fmt: skip
_FORBIDDEN = (
    ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await, ast.Import, ast.ImportFrom,
    ast.With, ast.AsyncWith, ast.ClassDef, ast.AsyncFunctionDef, ast.Delete,
)  # fmt: skip


@dataclass(frozen=True)
class FunctionSource:
    """What a file's analysis needs to run another file's portable functions: that module's
    imports, constants and portable functions, as source. A request like a class context: it is
    part of the file's cache key, so a change to the other file reruns this one."""

    module: str
    is_package: bool
    text: str
    classes: tuple[str, ...] = ()  # the module's own classes (names the text may return)
    builders: tuple[str, ...] = ()  # its functions that build a weight layer or a class
    #: Other modules' functions each of its functions calls, itself or through another of its
    #: functions (qualified as imported): it is portable only if they are too, which only the
    #: run knows (see function_sources.FunctionSources.home).
    external: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Its functions not to run: they call another module's function that is not portable.
    unusable: tuple[str, ...] = ()
    #: Other names the requesting file calls them by (a re-export): (that name, own name).
    aliases: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StarNames:
    """The public names another file of the run defines or imports, for a file that imports
    it with ``*`` beside another ``*`` import: which of them a name comes from."""

    module: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class PortableModule:
    """A file's portable functions, and where the names it imports come from (to follow a
    re-export through a package's ``__init__``)."""

    functions: frozenset[str] = frozenset()
    imported: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    source: FunctionSource | None = None


def portable_module(source: str | bytes, module_name: str, is_package: bool) -> PortableModule:
    """The portable functions of one file (none for a file CPython cannot compile)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return PortableModule()
    package = module_name if is_package else module_name.rpartition(".")[0]
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    imported = _imported_names(imports, package)
    functions = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
    assigned = {
        name: assign
        for name, assign in _single_assignments(tree.body).items()
        if name not in functions
    }
    needs: dict[str, set[str] | None] = {
        name: _function_needs(node, imported) for name, node in functions.items()
    }
    needs.update({name: _value_needs(a.value, imported) for name, a in assigned.items()})
    classes = tuple(sorted(s.name for s in tree.body if isinstance(s, ast.ClassDef)))
    portable = _closure(needs, frozenset(classes), frozenset(functions))
    external = _external({n: needs[n] or set() for n in portable if n in functions})
    builders = _builders(
        {n: functions[n] for n in portable if n in functions}, imported, frozenset(classes)
    )
    if not portable & set(functions):
        return PortableModule(imported=imported)
    try:
        lines = split_lines(decode(source), keepends=True)
    except (UnicodeDecodeError, LookupError, SyntaxError):
        return PortableModule(imported=imported)
    kept: list[ast.stmt] = [*imports, *(assigned[n] for n in portable if n in assigned)]
    kept += [functions[name] for name in portable if name in functions]
    kept.sort(key=lambda statement: statement.lineno)
    # Whole lines: a top-level statement starts its line (what else shares its last line,
    # after a ``;``, is not run: only imports, assignments and defs are read from the text).
    body = "".join(
        line.rstrip("\r\n") + "\n"
        for statement in kept
        for line in lines[statement.lineno - 1 : statement.end_lineno]
    )
    source_of = FunctionSource(
        module_name, is_package, body, classes, tuple(sorted(builders)), external
    )
    return PortableModule(frozenset(portable), imported, source_of)


#: A top-level import statement: ``import a.b as c``, ``from .x import (y,\n z)``.
_TOP_IMPORT = re.compile(
    r"^(?:from[ \t]+\S+[ \t]+import[ \t]*(?:\([^)]*\)|[^\r\n]*)|import[ \t][^\r\n]*)", re.M
)


def imported_names(
    source: str | bytes,
    module_name: str,
    is_package: bool,
    renamed: tuple[tuple[str, str], ...] = (),
) -> dict[str, str]:
    """What a file's top-level imports bind (local name -> qualified name), from its import
    lines alone: the caller needs no more than that, on every run, for every file.
    ``renamed``: top-level module names the run gives another name (see module_identity)."""
    text = decode(source)
    snippet = "\n".join(match.group(0) for match in _TOP_IMPORT.finditer(text))
    try:
        tree = ast.parse(snippet)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return portable_module(source, module_name, is_package).imported
    package = module_name if is_package else module_name.rpartition(".")[0]
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    return _imported_names(imports, package, dict(renamed))


def _imported_names(
    imports: list[ast.Import | ast.ImportFrom], package: str, renamed: dict[str, str] | None = None
) -> dict[str, str]:
    renamed = renamed or {}
    names: dict[str, str] = {}
    for statement in imports:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                names[alias.asname or alias.name.split(".")[0]] = renamed_module(
                    alias.name if alias.asname else alias.name.split(".")[0], renamed
                )
            continue
        base = absolute_module(statement.level, statement.module or "", package, renamed)
        for alias in statement.names:
            if alias.name != "*":
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def absolute_module(level: int, module: str, package: str, renamed: dict[str, str]) -> str:
    """The module a ``from`` import names: ``..x`` resolved against ``package`` (already as
    the run names it), an absolute one as the run names it (see module_identity)."""
    if not level:
        return renamed_module(module, renamed)
    parts = package.split(".") if package else []
    parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*parts, module] if module else parts)


def _single_assignments(body: list[ast.stmt]) -> dict[str, ast.Assign]:
    """``NAME = value`` statements at module level, for names assigned only there and once."""
    seen: dict[str, list[ast.Assign]] = {}
    for statement in body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            seen.setdefault(statement.targets[0].id, []).append(statement)
    return {name: found[0] for name, found in seen.items() if len(found) == 1}


def _closure(
    needs: dict[str, set[str] | None], classes: frozenset[str], functions: frozenset[str]
) -> set[str]:
    """The names whose needs are met by portable names only (a value may also name one of the
    module's classes, and a function call one): a fixed point, since one portable function may
    call another."""
    portable = {name for name, need in needs.items() if need is not None}

    def met(need: str, function: bool) -> bool:
        if need.startswith("@"):  # another module's function: checked by the run
            return function
        if need.startswith("="):  # a name used as a value
            return need[1:] in portable or need[1:] in classes
        # A function calling one of its classes builds that class in the caller's context
        # (see the module's doc). A module-level value that builds one is not portable (it
        # is built when the module is read).
        return need in portable or (function and need in classes)

    changed = True
    while changed:
        changed = False
        for name in sorted(portable):
            need = needs[name]
            if need is None or not all(met(n, name in functions) for n in need):
                portable.discard(name)
                changed = True
    return portable


def _external(needs: dict[str, set[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """For each portable function, the other modules' functions it calls itself or through
    the module's functions it calls (a fixed point)."""
    reached = {name: {n[1:] for n in need if n.startswith("@")} for name, need in needs.items()}
    changed = True
    while changed:
        changed = False
        for name, need in needs.items():
            for callee in need:
                more = reached.get(callee, set()) - reached[name]
                if more:
                    reached[name] |= more
                    changed = True
    return tuple((name, tuple(sorted(found))) for name, found in sorted(reached.items()) if found)


def _walk(function: ast.FunctionDef) -> Iterator[ast.AST]:
    """The function's nodes below its signature (annotations and defaults are not run here)."""
    for statement in function.body:
        yield from ast.walk(statement)


def _function_needs(function: ast.FunctionDef, imported: dict[str, str]) -> set[str] | None:
    """The module-level names a function calls (which must be portable too), or None if it
    does something a portable function may not."""
    if function.decorator_list:
        return None
    nodes = list(_walk(function))
    if any(isinstance(node, _FORBIDDEN) for node in nodes):
        return None
    nested = {node.name for node in nodes if isinstance(node, ast.FunctionDef)}
    # Calling what it was given (``activation()``) runs the caller's value in the caller's
    # analysis; one that builds a module is an opaque call after all (see BuildsModules).
    nested |= _parameters(function, nodes)
    raised = {id(n) for r in nodes if isinstance(r, ast.Raise) for n in ast.walk(r)}
    needs: set[str] = set()
    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) for target in targets for t in ast.walk(target)):
                return None  # writes an attribute: a module's, maybe
        if isinstance(node, ast.Call) and id(node) not in raised:
            need = _callee_needs(node.func, nested, imported)
            if need is None:
                return None
            needs |= need
    return needs


def _parameters(function: ast.FunctionDef, nodes: list[ast.AST]) -> set[str]:
    """The names of the function's parameters, and of its nested functions' and lambdas'."""
    signatures = [function.args]
    signatures += [n.args for n in nodes if isinstance(n, (ast.FunctionDef, ast.Lambda))]
    return {
        arg.arg
        for signature in signatures
        for arg in [*signature.posonlyargs, *signature.args, *signature.kwonlyargs]
    }


def _value_needs(value: ast.expr, imported: dict[str, str]) -> set[str] | None:
    """What a module-level value needs to be evaluated like a portable function's (names,
    literals, containers, calls of what a portable function may call: ``to_2tuple =
    _ntuple(2)``, ``dict(bn=BatchNorm2d)``); None if it may do anything else."""
    needs: set[str] = set()
    for node in ast.walk(value):
        if isinstance(node, (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield)):
            return None
        if isinstance(node, ast.Call):
            qualified = _qualified(node.func, imported)
            if qualified is not None and _torch_nn_name(qualified) in _BUILT_HERE:
                return None  # a layer built when the module is read: one object, shared
            need = _callee_needs(node.func, set(), imported)
            if need is None:
                return None
            needs |= need
        elif (
            isinstance(node, ast.Name) and node.id not in imported and node.id not in SAFE_BUILTINS
        ):
            needs.add(f"={node.id}")  # ``to_ntuple = _ntuple``: portable if what it names is
    return needs


def _callee_needs(func: ast.expr, nested: set[str], imported: dict[str, str]) -> set[str] | None:
    if isinstance(func, ast.Name):
        if func.id in nested:
            return set()
        qualified = imported.get(func.id)
        if qualified is not None:
            return _imported_needs(qualified)
        return set() if func.id in SAFE_BUILTINS else {func.id}
    if isinstance(func, ast.Attribute):
        qualified = _qualified(func, imported)
        need = _imported_needs(qualified) if qualified is not None else None
        if need is not None or (qualified is not None and isinstance(func.value, ast.Name)):
            return need
        return set() if func.attr in SAFE_METHODS else None
    return None


def _qualified(func: ast.expr, imported: dict[str, str]) -> str | None:
    """The qualified name an imported name or a dotted path from one spells
    (``nn.Conv2d``, ``torch.nn.Linear``), else None."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in imported:
        return None
    return ".".join([imported[func.id], *reversed(parts)])


def _imported_needs(qualified: str) -> set[str] | None:
    """An imported callee: a safe module's function, a torch.nn stand-in, weight layer or
    container needs nothing."""
    safe = (
        _builds_stand_in(qualified)
        or _torch_nn_name(qualified) in _BUILT_HERE
        or qualified.partition(".")[0] in SAFE_MODULES
        or _other_class(qualified)
    )
    if safe:
        return set()
    return {f"@{qualified}"} if _other_function(qualified) else None


def _other_function(qualified: str) -> bool:
    """A function of another module of the run, maybe (``from .padding import
    get_padding_value``): portable if it is portable in its own module."""
    module, _, name = qualified.rpartition(".")
    root = module.partition(".")[0]
    return (
        bool(module)
        and name[:1].islower()
        and root not in _NOT_IN_RUN
        and root not in sys.stdlib_module_names
    )


#: Libraries whose functions are never a portable function of the run (torch's may write).
_NOT_IN_RUN = frozenset({"torch", "numpy", "scipy"})


def _other_class(qualified: str) -> bool:
    """A class of another module (``from .mixed_conv2d import MixedConv2d``), named the way the
    interpreter names one: built as that class's context, with the call's arguments."""
    module, _, name = qualified.rpartition(".")
    return bool(module) and name[:1].isupper() and module.partition(".")[0] != "torch"


def _torch_nn_name(qualified: str) -> str | None:
    module, _, name = qualified.rpartition(".")
    return name if module in _TORCH_NN else None


def _builders(
    functions: dict[str, ast.FunctionDef], imported: dict[str, str], classes: frozenset[str]
) -> set[str]:
    """The portable functions that build a torch.nn weight layer or a class (their module's
    or an imported one), themselves or through another of them (a fixed point)."""
    called: dict[str, set[str]] = {}
    found: set[str] = set()
    for name, function in functions.items():
        called[name] = set()
        for node in _walk(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in functions:
                called[name].add(func.id)
                continue
            qualified = _qualified(func, imported)
            if (isinstance(func, ast.Name) and func.id in classes) or (
                qualified is not None
                and (_torch_nn_name(qualified) in WEIGHT_LAYERS or _other_class(qualified))
            ):
                found.add(name)
    changed = True
    while changed:
        changed = False
        for name, callees in called.items():
            if name not in found and callees & found:
                found.add(name)
                changed = True
    return found


def _builds_stand_in(qualified: str) -> bool:
    """``torch.nn.ReLU``, ``torch.nn.BatchNorm2d``, ``torch.nn.Identity``: a module the
    analysis stands for by what it does to the flow, with no layer of its own to judge."""
    module, _, name = qualified.rpartition(".")
    if module not in _TORCH_NN:
        return False
    return activation_from_module(name) is not None or name in NORM_LAYERS | PASS_THROUGH_LAYERS


_TORCH_NN = frozenset({"torch.nn", "torch.nn.modules", "torch.nn.modules.activation"})
#: torch.nn classes a layer builder may call besides stand-ins: weight layers, containers.
_BUILT_HERE = WEIGHT_LAYERS | {"Sequential", "ModuleList", "ModuleDict"}
