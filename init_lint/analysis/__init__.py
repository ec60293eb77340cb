"""Static analysis: per-file facts (:func:`analyze_module`), then cross-file :func:`resolve`.

Per-file facts are plain data (no CST) so they can be cached and combined across files: a class
whose layers are initialised by the class that contains it may live in another file.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..knowledge import LAYER_BASES, WEIGHT_LAYERS, Family, InitScheme
from .facts import FileFacts, InstanceFacts, NodeFacts, UseFacts
from .interpreter import FileAnalyzer
from .resolve import resolve
from .values import Instance

__all__ = ["analyze_module", "resolve", "FileFacts"]


def analyze_module(module: cst.Module, path: str, module_name: str, options: Any) -> FileFacts:
    analyzer = FileAnalyzer(module, module_name, is_package=path.endswith("__init__.py"))
    analyzer.run()
    through_norm = bool(getattr(options, "through_norm", False))
    candidates = [i for i in analyzer.instances if _is_candidate(i, through_norm)]
    facts = FileFacts(path=path, module_name=module_name, init_prefix=_init_prefix(analyzer))
    if not candidates and not analyzer.findings:
        facts.nodes = _node_facts(analyzer, {}, needed=False)
        return facts
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)

    def line_of(node: object) -> int | None:
        where = positions.get(node)  # type: ignore[arg-type]
        return where.start.line if where is not None else None

    for finding in analyzer.findings:
        where = positions[finding.node]
        facts.local.append(
            (
                where.start.line,
                where.start.column + 1,
                where.end.line,
                where.end.column + 1,
                finding.code,
                finding.message,
            )
        )
    for instance in candidates:
        where = positions[instance.site]
        facts.instances.append(
            InstanceFacts(
                kind=instance.kind,
                name=instance.name,
                line=where.start.line,
                column=where.start.column + 1,
                end_line=where.end.line,
                end_column=where.end.column + 1,
                owner=instance.owner.key,
                inits=frozenset(_located(s, line_of) for s in instance.inits),
                uses=tuple(
                    sorted(
                        {
                            UseFacts(u.activation, line_of(u.node) or 0, u.via_norm)
                            for u in instance.uses
                        },
                        key=lambda u: (u.line, u.activation.name),
                    )
                ),
                path=instance.path,
            )
        )
    facts.nodes = _node_facts(analyzer, positions, needed=True, line_of=line_of)
    return facts


def _is_candidate(instance: Instance, through_norm: bool) -> bool:
    return any(
        use.activation.family is not Family.OTHER and (through_norm or not use.via_norm)
        for use in instance.uses
    )


def _located(scheme: InitScheme, line_of: Any) -> InitScheme:
    line = line_of(scheme.site) if scheme.site is not None else scheme.line
    return replace(scheme, line=line, site=None)


def _node_facts(
    analyzer: FileAnalyzer, positions: Any, needed: bool, line_of: Any = None
) -> list[NodeFacts]:
    """Context nodes: what each contains and what its init programs do to foreign layers."""
    locate = line_of or (lambda node: None)
    abstract = {
        info.graph_node.key
        for info in analyzer.classes.values()
        if info.graph_node is not None and info.subclassed and not info.instantiated
    }
    children: dict[str, list[str]] = {}
    for parent, child in analyzer.contains:
        key = child if isinstance(child, str) else child.key
        children.setdefault(parent if isinstance(parent, str) else parent.key, []).append(key)
    result = []
    known = {node.key for node in analyzer.nodes}
    for key in children.keys() - known:  # a class of another file that receives local modules
        result.append(
            NodeFacts(key, key, True, False, {}, {}, tuple(children[key]), placeholder=True)
        )
    for node in analyzer.nodes:
        effects = {}
        if node.programs:
            for kind in sorted(WEIGHT_LAYERS):
                outcome = None
                for program in node.programs:
                    step = analyzer.simulate(program, kind, (kind, *LAYER_BASES[kind]))
                    outcome = step if outcome is None else _then(outcome, step)
                if outcome is not None and (outcome.schemes or not outcome.keeps_prior):
                    effects[kind] = _locate_outcome(outcome, locate)
        path_inits = {path: _locate_outcome(o, locate) for path, o in node.path_inits.items()}
        if not (effects or path_inits or children.get(node.key) or node.is_class):
            continue
        result.append(
            NodeFacts(
                key=node.key,
                label=node.label,
                is_class=node.is_class,
                abstract=node.key in abstract,
                effects=effects,
                path_inits=path_inits,
                contains=tuple(children.get(node.key, ())),
            )
        )
    return result


def _then(first: Any, second: Any) -> Any:
    """Compose two outcomes: run ``first`` then ``second``."""
    from .values import Outcome

    if not second.keeps_prior:
        return second
    return Outcome(first.schemes | second.schemes, first.keeps_prior)


def _locate_outcome(outcome: Any, locate: Any) -> Any:
    from .values import Outcome

    return Outcome(frozenset(_located(s, locate) for s in outcome.schemes), outcome.keeps_prior)


def _init_prefix(analyzer: FileAnalyzer) -> str:
    """How this file spells torch.nn.init, so suggested calls paste in as they are."""
    aliases = analyzer.imports.aliases
    for local, full in aliases.items():
        if full == "torch.nn.init":
            return local
    for local, full in aliases.items():
        if full == "torch.nn":
            return f"{local}.init"
    if aliases.get("torch") == "torch":
        return "torch.nn.init"
    return "init"
