"""Static analysis: per-file facts (:func:`analyze_module`), then cross-file :func:`resolve`.

Per-file facts are plain data (no CST) so they can be cached and combined across files: a class
whose layers are initialised by the class that contains it may live in another file.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import libcst as cst
from libcst._position import CodePosition, CodeRange

from ..findings import Edit, Fix
from ..knowledge import LAYER_BASES, WEIGHT_LAYERS, Family, InitScheme
from ..lines import split_lines
from . import initcalls
from .facts import (
    CallFacts,
    FileFacts,
    InsertPoint,
    InstanceFacts,
    NodeFacts,
    ProgramFacts,
    Step,
    UseFacts,
)
from .interpreter import FileAnalyzer
from .positions import positions_of
from .resolve import resolve
from .values import CallOrigin, Instance, ProgramOrigin

__all__ = ["analyze_module", "resolve", "FileFacts"]


def analyze_module(
    module: cst.Module, path: str, module_name: str, options: Any, source: str | None = None
) -> FileFacts:
    """Per-file facts. ``source`` is the decoded text when the caller has it (saves a codegen)."""
    analyzer = FileAnalyzer(module, module_name, path.endswith("__init__.py"), source)
    analyzer.run()
    through_norm = bool(getattr(options, "through_norm", False))
    candidates = [i for i in analyzer.instances if _is_candidate(i, through_norm)]
    prefix = _init_prefix(analyzer)
    facts = FileFacts(
        path=path,
        module_name=module_name,
        init_prefix=prefix,
        needs_init_import=prefix == "init" and "init" not in analyzer.imports.aliases,
        newline=module.default_newline,
    )
    if not candidates and not analyzer.findings:
        facts.nodes = _node_facts(analyzer, Locator(module, analyzer.source, {}))
        return facts
    # Positions cost a code-generation pass: only files that report something pay for it, and
    # only for the nodes the facts mention (collected by a dry run of the same conversion).
    wanted = Locator(module, analyzer.source, None)
    _fill(facts, analyzer, candidates, wanted)
    locate = Locator(module, analyzer.source, positions_of(module, wanted.requested))
    _fill(facts, analyzer, candidates, locate)
    return facts


def _fill(
    facts: FileFacts, analyzer: FileAnalyzer, candidates: list[Instance], locate: Locator
) -> None:
    facts.local, facts.instances = [], []
    for finding in analyzer.findings:
        line, column, end_line, end_column = locate.span(finding.node)
        fix = None
        if finding.rename is not None:
            target, replacement = finding.rename
            where = locate.span(target)
            fix = Fix(f"rename to {replacement}", (Edit(*where, replacement),))
        facts.local.append((line, column, end_line, end_column, finding.code, finding.message, fix))
    for instance in candidates:
        line, column, end_line, end_column = locate.span(instance.site)
        facts.instances.append(
            InstanceFacts(
                kind=instance.kind,
                name=instance.name,
                line=line,
                column=column,
                end_line=end_line,
                end_column=end_column,
                owner=instance.owner.key,
                inits=frozenset(_located(s, locate) for s in instance.inits),
                uses=tuple(
                    sorted(
                        {
                            UseFacts(u.activation, locate.line(u.node) or 0, u.via_norm)
                            for u in instance.uses
                        },
                        key=lambda u: (u.line, u.activation.name),
                    )
                ),
                path=instance.path,
                insert=locate.after(instance.anchor) if instance.anchor is not None else None,
            )
        )
    facts.nodes = _node_facts(analyzer, locate)


class Locator:
    """Source positions of CST nodes.

    With ``positions=None`` it only collects the nodes asked about (a dry run), so that
    positions are computed once, for exactly those nodes.
    """

    def __init__(
        self, module: cst.Module, source: str, positions: dict[int, CodeRange] | None
    ) -> None:
        self.module = module
        self.source = source
        self.positions = positions
        self.requested: list[cst.CSTNode] = []
        self._lines: list[str] | None = None

    def _range(self, node: object) -> CodeRange | None:
        if self.positions is None:
            if isinstance(node, cst.CSTNode):
                self.requested.append(node)
            return _DRY_RUN
        return self.positions.get(id(node))

    def known(self, node: object) -> bool:
        return self._range(node) is not None

    def line(self, node: object) -> int | None:
        where = self._range(node)
        return where.start.line if where is not None else None

    def span(self, node: object) -> tuple[int, int, int, int]:
        where = self._range(node) or _DRY_RUN
        return where.start.line, where.start.column + 1, where.end.line, where.end.column + 1

    def text(self, node: cst.CSTNode) -> str:
        return "" if self.positions is None else self.module.code_for_node(node)

    def after(self, statement: object) -> InsertPoint | None:
        """Just after a statement that stands on its own lines (not `if x: a = 1`)."""
        if not isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return None
        where = self._range(statement)
        if where is None or self.positions is None:
            return None
        if self._lines is None:
            self._lines = split_lines(self.source)
        first = self._lines[where.start.line - 1] if where.start.line <= len(self._lines) else ""
        indent = first[: len(first) - len(first.lstrip())]
        return InsertPoint(where.end.line + 1, indent)


_DRY_RUN = CodeRange(CodePosition(1, 0), CodePosition(1, 0))


def _is_candidate(instance: Instance, through_norm: bool) -> bool:
    return any(
        use.activation.family is not Family.OTHER and (through_norm or not use.via_norm)
        for use in instance.uses
    )


def _located(scheme: InitScheme, locate: Locator) -> InitScheme:
    """Replace CST references by plain data: lines, and what the autofix needs."""
    line = locate.line(scheme.site) if scheme.site is not None else scheme.line
    text = scheme.text
    if not text and isinstance(scheme.site, cst.Call):
        text = " ".join(locate.text(scheme.site).split())
        text = text if len(text) <= 120 else text[:117] + "..."
    origin: object = None
    if isinstance(scheme.origin, CallOrigin):
        origin = _call_facts(scheme.origin, locate)
    elif isinstance(scheme.origin, ProgramOrigin):
        statement = scheme.origin.statement
        after = locate.after(statement) if statement is not None else None
        origin = ProgramFacts(after, scheme.origin.handle, scheme.origin.node.key)
    return replace(scheme, line=line, text=text, site=None, origin=origin)


def _call_facts(origin: CallOrigin, locate: Locator) -> CallFacts | None:
    call = origin.call
    if not locate.known(call) or not call.args:
        return None
    method = isinstance(call.func, cst.Attribute) and not _is_init_namespace(call.func.value)
    if method:
        assert isinstance(call.func, cst.Attribute)
        func, target = call.func.attr.value, locate.text(call.func.value)
    else:
        func, target = locate.text(call.func), locate.text(call.args[0].value)
    kept = tuple(
        f"{name}={locate.text(value)}"
        for name, value in initcalls.bind(
            call.args, ("a", "mode", "nonlinearity", "generator")
        ).items()
        if name in ("mode", "generator")
    )
    touched = tuple(sorted(locate.span(i.site)[:2] for i in origin.touched if locate.known(i.site)))
    after = locate.after(origin.statement) if origin.statement is not None else None
    return CallFacts(*locate.span(call), func, method, target, kept, touched, after)


def _is_init_namespace(node: cst.BaseExpression) -> bool:
    """``init``/``nn.init``/``torch.nn.init``: the call is a function, not a tensor method."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name) and node.value != "self" and not node.value.startswith("_")


def _node_facts(analyzer: FileAnalyzer, locate: Locator) -> list[NodeFacts]:
    """Context nodes: what each contains and what its init programs do to foreign layers."""
    abstract = {
        info.graph_node.key
        for info in analyzer.classes.values()
        if info.graph_node is not None and info.subclassed and not info.instantiated
    }
    children: dict[str, dict[str, None]] = {}  # insertion-ordered sets: no duplicate edges
    for parent, child in analyzer.contains:
        key = child if isinstance(child, str) else child.key
        children.setdefault(parent if isinstance(parent, str) else parent.key, {})[key] = None
    result = []
    known = {node.key for node in analyzer.nodes}
    for key in children.keys() - known:  # a class of another file that receives local modules
        result.append(NodeFacts(key, key, True, False, (), tuple(children[key]), placeholder=True))
    for node in analyzer.nodes:
        steps = tuple(_steps(analyzer, node, locate))
        if not (steps or children.get(node.key) or node.is_class):
            continue
        result.append(
            NodeFacts(
                key=node.key,
                label=node.label,
                is_class=node.is_class,
                abstract=node.key in abstract,
                steps=steps,
                contains=tuple(children.get(node.key, ())),
            )
        )
    return result


def _steps(analyzer: FileAnalyzer, node: Any, locate: Locator) -> list[Step]:
    """The node's init events in order, as data: what each does per layer kind or by path."""
    steps: list[Step] = []
    for kind_of_event, item in node.events:
        if kind_of_event == "path":
            path, outcome = item
            steps.append(Step({}, {path: _locate_outcome(outcome, locate)}))
            continue
        effects = {}
        for kind in sorted(WEIGHT_LAYERS):
            key = (id(item), kind)  # facts are built twice (dry run, then for real)
            if key not in analyzer.simulations:
                analyzer.simulations[key] = analyzer.simulate(
                    item, kind, (kind, *LAYER_BASES[kind])
                )
            outcome = analyzer.simulations[key]
            if outcome.schemes or not outcome.keeps_prior:
                effects[kind] = _locate_outcome(outcome, locate)
        if effects:
            steps.append(Step(effects, {}))
    return steps


def _locate_outcome(outcome: Any, locate: Locator) -> Any:
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
