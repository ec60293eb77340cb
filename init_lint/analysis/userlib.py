"""The library knowledge one analysis uses: :mod:`init_lint.library`'s tables with the project's
own ``[tool.init-lint]`` additions over them (the options carry those as written)."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

import libcst as cst

from ..library import (
    ACTIVATION_FACTORIES,
    ENTRY_POINTS,
    EntryPoint,
    FactoryKind,
    InitHelper,
    parse_helper_spec,
)
from ..options import Options
from . import initcalls
from .binder import bind


@dataclass(frozen=True)
class ProjectLibrary:
    factories: dict[str, FactoryKind]
    helpers: dict[str, InitHelper]
    entry_points: dict[str, EntryPoint]

    def factory(self, qualified: str) -> FactoryKind | None:
        return self.factories.get(qualified)

    def helper(self, qualified: str) -> InitHelper | None:
        return self.helpers.get(qualified)

    def entry_point(self, qualified: str) -> EntryPoint | None:
        return self.entry_points.get(qualified)


def project_library(options: Options) -> ProjectLibrary:
    return _library(options.activation_factories, options.init_helpers, options.init_entry_points)


@functools.cache
def _library(
    factories: tuple[tuple[str, str], ...],
    helpers: tuple[tuple[str, str], ...],
    entry_points: tuple[tuple[str, str], ...],
) -> ProjectLibrary:
    from ..library import INIT_HELPERS

    return ProjectLibrary(
        {**ACTIVATION_FACTORIES, **{name: FactoryKind(kind) for name, kind in factories}},
        {**INIT_HELPERS, **{name: _helper(spec) for name, spec in helpers}},
        {**ENTRY_POINTS, **{name: EntryPoint(method) for name, method in entry_points}},
    )


def _helper(spec: str) -> InitHelper:
    """A helper that does what its spec's torch.nn.init call does, whatever it is passed after
    its first argument (its own parameters are not known)."""
    parsed = parse_helper_spec(spec)
    call = cst.ensure_type(cst.parse_expression(parsed.text), cst.Call)
    bound = bind(call.args, initcalls.SIGNATURES[parsed.function])
    scheme = initcalls.scheme_for(parsed.function, bound, initcalls.Reader(_literal_number))
    return InitHelper(parsed.target, (), lambda _: scheme)


def _literal_number(node: cst.BaseExpression) -> float | None:
    try:
        value = ast.literal_eval(cst.Module([]).code_for_node(node))
    except (ValueError, SyntaxError):
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
