"""Per-file facts from one interpreter run: CST references become plain data (lines, text).

Positions come with a tree built from CPython's AST (its spans, see .fromast). A tree LibCST
parsed has none: there they cost a code-generation pass, paid only for the nodes the facts
mention (collected by a dry run of the same conversion).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

from ..findings import Edit, Fix
from ..knowledge import LAYER_BASES, WEIGHT_LAYERS, Family
from ..lines import split_lines
from ..options import Options
from .binder import bind
from .facts import (
    ArgumentFacts,
    CallFacts,
    ContainerFacts,
    FileFacts,
    InsertPoint,
    InstanceFacts,
    Member,
    NodeFacts,
    ProgramFacts,
    Step,
    UseFacts,
)
from .fix_plans import EXPRESSION
from .fromast import Spans
from .interpreter import Interpreter
from .positions import positions_of
from .userlib import project_library
from .values import (
    UNTOUCHED,
    ActivationUse,
    AppliedInit,
    CallOrigin,
    ForeignEvent,
    Instance,
    Node,
    Outcome,
    PathEvent,
    ProgramOrigin,
)

if TYPE_CHECKING:
    from .portable import Request


def facts_of(
    module: cst.Module,
    path: str,
    module_name: str,
    options: Options,
    source: str | None = None,
    requests: Sequence[Request] = (),
    spans: Spans | None = None,
) -> FileFacts:
    """Per-file facts. ``source`` is the decoded text when the caller has it (saves a codegen);
    ``requests`` are contexts other files build this file's classes in, and other files'
    portable functions this file calls; ``spans``: where the nodes of a tree built from the
    AST stand (else positions cost a code-generation pass)."""
    library = project_library(options)
    analyzer = Interpreter(
        module, module_name, path.endswith("__init__.py"), source, library, spans
    )
    analyzer.run(requests)
    exits = _exits(analyzer)
    candidates = [
        i
        for i in analyzer.instances
        if _is_candidate(i, options.through_norm) or id(i) in exits or i.feeds
    ]
    prefix = _init_prefix(analyzer)
    facts = FileFacts(
        path=path,
        module_name=module_name,
        init_prefix=prefix,
        needs_init_import=prefix == "init" and "init" not in analyzer.imports.aliases,
        newline=module.default_newline,
        indent=module.default_indent,
        quote=dominant_quote(analyzer.source),
        nn_prefix=_nn_prefix(analyzer),
        requests=sorted(set(analyzer.requests), key=repr),
        calls=sorted(analyzer.calls_out),
        ran=sorted(analyzer.builders_run),
        answers=analyzer.answers,
        functions=analyzer.function_programs,
        exports={
            **analyzer.imports.aliases,
            **{name: info.key for name, info in analyzer.classes.items()},
            **{alias: analyzer.classes[name].key for alias, name in analyzer.class_aliases.items()},
        },
    )
    if spans is not None:
        locate = Locator(module, analyzer.source, spans)
        if candidates or analyzer.findings:
            _fill(facts, analyzer, candidates, locate, exits)
        else:
            facts.nodes = _node_facts(analyzer, locate, exits)
        return facts
    if not candidates and not analyzer.findings:
        # Positions cost a code-generation pass: here only the init programs other files' layers
        # may meet need them (a training script's apply: its line, where a fix goes).
        wanted = Locator(module, analyzer.source, None)
        _node_facts(analyzer, wanted, exits)
        positions = positions_of(module, wanted.requested, analyzer.source)
        facts.nodes = _node_facts(analyzer, Locator(module, analyzer.source, positions), exits)
        return facts
    wanted = Locator(module, analyzer.source, None)
    _fill(facts, analyzer, candidates, wanted, exits)
    positions = positions_of(module, wanted.requested, analyzer.source)
    locate = Locator(module, analyzer.source, positions)
    _fill(facts, analyzer, candidates, locate, exits)
    return facts


def _exits(analyzer: Interpreter) -> dict[int, set[bool]]:
    """Layers (and submodules' stand-ins, see ``Node.output``) whose output is their owner's
    output: id -> through a norm or not."""
    found: dict[int, set[bool]] = {}
    for node in analyzer.nodes:
        for source in node.exits:
            found.setdefault(id(source.instance), set()).add(source.via_norm)
    return found


def _use_facts(uses: Iterable[ActivationUse], locate: Locator) -> tuple[UseFacts, ...]:
    return tuple(
        sorted(
            {UseFacts(u.activation, locate.line(u.node) or 0, u.via_norm) for u in uses},
            key=lambda u: (u.line, u.activation.name),
        )
    )


def _fill(
    facts: FileFacts,
    analyzer: Interpreter,
    candidates: list[Instance],
    locate: Locator,
    exits: dict[int, set[bool]],
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
    unnamed = any(i.container is not None for i in candidates)
    loop_name = _free_name(analyzer.source) if unnamed else None
    held: dict[tuple[int, str], list[Instance]] = {}  # (owner, 'self.x') -> what it holds
    for other in analyzer.instances if unnamed else ():
        if other.container is not None:
            held.setdefault((id(other.owner), other.container[0]), []).append(other)
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
                uses=_use_facts(instance.uses, locate),
                path=instance.path,
                insert=locate.after(instance.anchor) if instance.anchor is not None else None,
                container=_container(instance, analyzer, locate, loop_name, held),
                geometry=instance.geometry,
                exits=tuple(sorted(exits.get(id(instance), ()))),
                feeds=_feeds(instance),
            )
        )
    facts.nodes = _node_facts(analyzer, locate, exits)


def _feeds(instance: Instance | None) -> tuple[tuple[str, bool], ...]:
    return tuple(sorted({(n.key, via) for n, via in instance.feeds})) if instance else ()


class Locator:
    """Source positions of CST nodes.

    With ``positions=None`` it only collects the nodes asked about (a dry run), so that
    positions are computed once, for exactly those nodes.
    """

    def __init__(
        self, module: cst.Module, source: str, positions: dict[int, CodeRange] | Spans | None
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
        if self.positions is None:
            return ""
        if isinstance(self.positions, Spans):
            text = self.positions.source(node)
            if text is not None:
                return text
        return self.module.code_for_node(node)

    def line_text(self, number: int) -> str:
        """The text of a 1-based line (empty in a dry run or past the end)."""
        if self.positions is None:
            return ""
        if self._lines is None:
            self._lines = split_lines(self.source)
        return self._lines[number - 1] if 0 < number <= len(self._lines) else ""

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


def _located(scheme: AppliedInit, locate: Locator) -> AppliedInit:
    """Replace CST references by plain data: lines, and what the autofix needs."""
    line = locate.line(scheme.site) if scheme.site is not None else scheme.line
    text = scheme.text
    if not text and isinstance(scheme.site, cst.Call):
        text = " ".join(locate.text(scheme.site).split())
        text = text if len(text) <= 120 else text[:117] + "..."
        if scheme.scheme.scale != 1.0:
            text += f" then ×{scheme.scheme.scale:g}"
    origin: object = None
    if isinstance(scheme.origin, CallOrigin):
        origin = _call_facts(scheme.origin, locate)
    elif isinstance(scheme.origin, ProgramOrigin):
        program = scheme.origin
        after = locate.after(program.statement) if program.statement is not None else None
        call = None
        if program.call is not None:
            call = _call_facts(CallOrigin(program.call, None, method=program.method), locate)
        origin = ProgramFacts(after, program.handle, program.node.key, call)
    return replace(scheme, line=line, text=text, site=None, origin=origin)


def _call_facts(origin: CallOrigin, locate: Locator) -> CallFacts | None:
    call = origin.call
    method = isinstance(call.func, cst.Attribute) and (
        origin.method or not _is_init_namespace(call.func.value)
    )
    if not locate.known(call) or not (call.args or method):  # layer.reset_parameters(): a method
        return None
    if method:
        assert isinstance(call.func, cst.Attribute)
        func, target = call.func.attr.value, locate.text(call.func.value)
    else:
        func, target = locate.text(call.func), locate.text(call.args[0].value)
    kept = tuple(
        f"{name}={locate.text(value)}"
        for name, value in bind(call.args, ("a", "mode", "nonlinearity", "generator")).items()
        if name in ("mode", "generator")
    )
    touched = tuple(sorted(locate.span(i.site)[:2] for i in origin.touched if locate.known(i.site)))
    after = locate.after(origin.statement) if origin.statement is not None else None
    arguments: tuple[ArgumentFacts, ...] = ()
    last_end = None
    if not method and not any(arg.star for arg in call.args):
        arguments = _arguments(call, locate)
        last_end = locate.span(call.args[-1].value)[2:]
    line, column, end_line, end_column = locate.span(call)
    head = locate.line_text(line)[: column - 1]
    indent = head if head and not head.strip() else None
    rest = locate.line_text(end_line)[end_column - 1 :]
    tail = len(rest)
    return CallFacts(
        line,
        column,
        end_line,
        end_column,
        func,
        method,
        target,
        kept,
        touched,
        after,
        origin.rewritable,
        arguments,
        last_end,
        indent,
        tail,
        _operand(rest),
    )


def _operand(rest: str) -> bool:
    """Whether code other than closing brackets and commas follows a call on its line."""
    if rest.lstrip(" \t").startswith("#"):
        return False  # only a comment, whatever it quotes
    code = rest.split("#", 1)[0] if "'" not in rest and '"' not in rest else rest
    return bool(code.strip(" \t\r\n,)]}"))


def _arguments(call: cst.Call, locate: Locator) -> tuple[ArgumentFacts, ...]:
    """a=, mode= and nonlinearity= of ``kaiming_*_(tensor, a, mode, nonlinearity)``."""
    order = ("a", "mode", "nonlinearity")
    positional = [arg for arg in call.args if arg.keyword is None][1:]
    found = []
    for arg in call.args:
        if arg.keyword is not None:
            name: str | None = arg.keyword.value
        elif any(arg is other for other in positional):
            index = next(i for i, other in enumerate(positional) if other is arg)
            name = order[index] if index < len(order) else None
        else:
            name = None
        if name in order:
            start = locate.span(arg.keyword if arg.keyword is not None else arg.value)[:2]
            value = locate.span(arg.value)
            found.append(
                ArgumentFacts(name, arg.keyword is not None, start, value, locate.text(arg.value))
            )
    return tuple(found)


def _is_init_namespace(node: cst.BaseExpression) -> bool:
    """``init``/``nn.init``/``torch.nn.init``: the call is a function, not a tensor method
    (unless the interpreter saw it as one: ``m.weight.data.normal_(...)``)."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name) and node.value != "self" and not node.value.startswith("_")


def _node_facts(
    analyzer: Interpreter, locate: Locator, exits: dict[int, set[bool]]
) -> list[NodeFacts]:
    """Context nodes: what each contains and what its init programs do to foreign layers."""
    abstract = {
        info.graph_node.key
        for info in analyzer.classes.values()
        if info.graph_node is not None and info.subclassed and not info.instantiated
    }
    # Insertion-ordered sets: a loop makes the same edge again (a torch file once had 2,048
    # copies of each edge: a 470 MB cache entry).
    children: dict[str, dict[str, None]] = {}
    for parent, child in analyzer.contains:
        key = child if isinstance(child, str) else child.key
        children.setdefault(parent if isinstance(parent, str) else parent.key, {})[key] = None
    result = []
    known = {node.key for node in analyzer.nodes}
    for key in sorted(children.keys() - known):  # a class of another file given local modules
        result.append(NodeFacts(key, key, True, False, (), tuple(children[key]), placeholder=True))
    owned: dict[int, list[Member]] = {}
    for instance in analyzer.instances:
        member = Member(instance.kind, *locate.span(instance.site)[:2])
        owned.setdefault(id(instance.owner), []).append(member)
    for node in analyzer.nodes:
        steps = tuple(_steps(analyzer, node, locate))
        if not (steps or children.get(node.key) or node.is_class):
            continue
        output = node.output
        result.append(
            NodeFacts(
                key=node.key,
                label=node.label,
                is_class=node.is_class,
                abstract=node.key in abstract,
                steps=steps,
                contains=tuple(children.get(node.key, ())),
                class_key=node.class_key,
                layers=tuple(owned.get(id(node), ())),
                opaque=node.opaque,
                speculative=node.speculative,
                reinitialised=node.reinitialised,
                output_uses=_use_facts(output.uses, locate) if output is not None else (),
                passes_output=tuple(sorted(exits.get(id(output), ()))),
                output_feeds=_feeds(output),
                input_uses=_use_facts(node.input.uses, locate) if node.input is not None else (),
                input_feeds=_feeds(node.input),
            )
        )
    return result


def _steps(analyzer: Interpreter, node: Node, locate: Locator) -> list[Step]:
    """The node's init events in order, as data: what each does per layer kind or by path."""
    steps: list[Step] = []
    for event in node.events:
        if isinstance(event, ForeignEvent):
            after = locate.after(event.statement) if event.statement is not None else None
            site = ProgramFacts(after, event.handle, node.key)
            steps.append(Step({}, {}, (event.function, event.mode, event.opaque), site))
            continue
        if isinstance(event, PathEvent):
            steps.append(Step({}, {event.path: _locate_outcome(event.outcome, locate)}))
            continue
        effects = {}
        for kind in sorted(WEIGHT_LAYERS):
            outcome = analyzer.inits.simulated(event.program, kind, (kind, *LAYER_BASES[kind]))
            if outcome != UNTOUCHED:
                effects[kind] = _locate_outcome(outcome, locate)
        if effects:
            steps.append(Step(effects, {}))
    return steps


def _locate_outcome(outcome: Outcome, locate: Locator) -> Outcome:
    located = frozenset(_located(s, locate) for s in outcome.schemes)
    return Outcome(located, outcome.keeps_prior, outcome.prior_scale)


def _container(
    instance: Instance,
    analyzer: Interpreter,
    locate: Locator,
    loop_name: str | None,
    held: dict[tuple[int, str], list[Instance]],
) -> ContainerFacts | None:
    """The module holding a layer with no name of its own, and everything a loop over it
    would touch (``held``: the layers of each owner's containers)."""
    if instance.container is None or (instance.name and EXPRESSION.match(instance.name)):
        return None
    key = (id(instance.owner), instance.container[0])
    if key in analyzer.opaque_containers:
        return None
    members = tuple(Member(other.kind, *locate.span(other.site)[:2]) for other in held[key])
    # After the statement that stored it (after the loop that filled it, in a loop): in each
    # branch that builds it, the loop then sees everything in it.
    return ContainerFacts(key[1], locate.after(instance.container[1]), loop_name, members)


#: Loop variables a fix may use, in order of preference.
_LOOP_NAMES = ("module", "layer", "submodule", "child")


def _free_name(source: str) -> str | None:
    """A loop variable no identifier of the file uses (crude, and so safe: comments and strings
    count), so that the loop a fix inserts shadows nothing."""
    used = set(re.findall(r"[A-Za-z_]\w*", source))
    return next((name for name in _LOOP_NAMES if name not in used), None)


#: The opening quote of a one-line string literal (prefixes allowed; not a docstring's triple).
_STRING_START = re.compile(r"""(?<![\w'"])[rRbBuUfF]{0,2}(['"])(?!\1\1)""")


#: Docstrings and other triple-quoted strings, then comments: their quotes are prose.
_PROSE = re.compile(r"""(\"\"\"|\'\'\')[\s\S]*?\1|#[^\n]*""")


def dominant_quote(source: str) -> str:
    """The quote most of the file's strings open with; double on a tie (black's and ruff's)."""
    counts = {"'": 0, '"': 0}
    for match in _STRING_START.finditer(_PROSE.sub("", source)):
        counts[match.group(1)] += 1
    return "'" if counts["'"] > counts['"'] else '"'


def _nn_prefix(analyzer: Interpreter) -> str | None:
    """How this file spells torch.nn (for ``isinstance(module, nn.Linear)`` in a fix)."""
    aliases = analyzer.imports.aliases
    for local, full in aliases.items():
        if full == "torch.nn":
            return local
    return "torch.nn" if aliases.get("torch") == "torch" else None


def _init_prefix(analyzer: Interpreter) -> str:
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
