"""Which local names mean torch things: one cheap pass over the import statements.

Generic LibCST providers (QualifiedNameProvider, ScopeProvider) cost 2.4–4.4× a parse; the
handful of aliases that matter (torch, torch.nn, torch.nn.functional, torch.nn.init, names
imported from them, and local-package imports for cross-file classes) are tracked here.
"""

from __future__ import annotations

import builtins

import libcst as cst

from ..module_identity import renamed_module


def is_torch(qualified: str) -> bool:
    """``torch`` or a name in it; not ``torchvision`` nor ``torchaudio`` (other packages)."""
    return qualified == "torch" or qualified.startswith("torch.")


def dotted_name(node: cst.BaseExpression) -> str | None:
    """'a.b.c' for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while type(node) is cst.Attribute:  # not isinstance(): LibCST's classes are ABCs
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _module_path(node: cst.BaseExpression | None, dots: int, package: str) -> str:
    name = dotted_name(node) if node is not None else ""
    if not dots:
        return name or ""
    base = package.split(".") if package else []
    base = base[: len(base) - (dots - 1)] if dots > 1 else base
    return ".".join([*base, name] if name else base)


class ImportMap:
    """Maps local names to fully qualified names ('nn' → 'torch.nn')."""

    def __init__(self, module_name: str = "", is_package: bool = False) -> None:
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        #: The names some star-imported modules bind, when the run knows them (see StarNames).
        self.star_names: dict[str, frozenset[str]] = {}
        #: Top-level module names as the run knows them (see module_identity.Renamed).
        self.renamed: dict[str, str] = {}
        # For relative imports: the package this module lives in.
        self.package = module_name if is_package else module_name.rpartition(".")[0]

    def add(self, statement: cst.Import | cst.ImportFrom) -> None:
        if isinstance(statement, cst.Import):
            for alias in statement.names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = renamed_module(full, self.renamed)
                else:
                    top = full.split(".")[0]
                    self.aliases.setdefault(top, renamed_module(top, self.renamed))
            return
        dots = len(statement.relative)
        module = _module_path(statement.module, dots, self.package)
        if not dots:
            module = renamed_module(module, self.renamed)
        if isinstance(statement.names, cst.ImportStar):
            self.star_modules.append(module)
            return
        for alias in statement.names:
            name = dotted_name(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{module}.{name}" if module else name

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """Qualified name of a Name/Attribute chain whose head is an imported name."""
        name = dotted_name(node)
        if name is None:
            return None
        return self.resolve_dotted(name)

    def resolve_dotted(self, name: str) -> str | None:
        head, _, rest = name.partition(".")
        full = self.aliases.get(head)
        if full is None:
            if head in _TORCH_STAR_NAMES and self.star_modules:
                for module in self.star_modules:
                    if is_torch(module):
                        full = f"{module}.{head}"
                        break
            others = [m for m in self.star_modules if not is_torch(m)]
            if full is None and others and head not in _BUILTINS:
                # from models import *: a name defined nowhere here is the last such module's
                # that binds it (the last one when none is known to)
                full = f"{self._star_home(head, others)}.{head}"
            if full is None:
                return None
        return f"{full}.{rest}" if rest else full

    def _star_home(self, name: str, modules: list[str]) -> str:
        for module in reversed(modules):
            if name in self.star_names.get(module, ()):
                return module
        return modules[-1]


_BUILTINS = frozenset(dir(builtins))

# Names a `from torch.nn import *` could bring in that matter to us; resolved lazily by prefix.
_TORCH_STAR_NAMES = frozenset(
    {
        "Linear",
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ReLU",
        "LeakyReLU",
        "Tanh",
        "Sigmoid",
        "Sequential",
        "ModuleList",
        "init",
        "functional",
    }
)


def torch_nn_member(qualified: str | None) -> str | None:
    """'Linear' for 'torch.nn.Linear' / 'torch.nn.modules.linear.Linear', else None."""
    if not qualified or not qualified.startswith("torch.nn."):
        return None
    rest = qualified[len("torch.nn.") :]
    if rest.startswith("modules."):
        return rest.rsplit(".", 1)[-1]
    if "." in rest:
        return None
    return rest


def torch_function(qualified: str | None) -> str | None:
    """'relu' for torch.relu / torch.nn.functional.relu / torch.Tensor.relu, else None."""
    if not qualified:
        return None
    for prefix in ("torch.nn.functional.", "torch.Tensor.", "torch.special.", "torch."):
        if qualified.startswith(prefix):
            rest = qualified[len(prefix) :]
            return rest if "." not in rest else None
    return None


def init_function(qualified: str | None) -> str | None:
    """'kaiming_normal_' for torch.nn.init.kaiming_normal_, else None."""
    if qualified and qualified.startswith("torch.nn.init."):
        rest = qualified[len("torch.nn.init.") :]
        return rest if "." not in rest else None
    return None
