"""Autofix plans: the edit that makes a finding go away, or None when no edit is safe.

Three ways, by where the offending init comes from:

* nothing (PyTorch's default): insert the right call after the statement that names the layer;
* a call aimed at known layers: rewrite it in place when every layer it touches wants the same
  init, else insert a targeted call after it;
* an init program (modules() loop, apply): insert a targeted call after the program runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..findings import Edit, Fix
from ..knowledge import (
    LAYER_BASES,
    Activation,
    Family,
    LayerGeometry,
    SchemeKind,
    Verdict,
    fan_correction,
    required_mode,
)
from ..options import Options
from ..rules import Rule
from .facts import (
    ArgumentFacts,
    CallFacts,
    FileFacts,
    InsertPoint,
    InstanceFacts,
    NodeFacts,
    ProgramFacts,
)
from .values import AppliedInit

#: A layer name that is an expression a fix can use ('self.fc', 'self.body[0]').
EXPRESSION = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*|\[-?\d+\])*$")


#: Whether every layer an init program's call reaches wants this requirement (see resolve).
LoopCheck = Callable[[ProgramFacts, "Requirement"], bool]


@dataclass(frozen=True)
class Requirement:
    """What a layer's init must be, as far as the fix is concerned."""

    family: Family
    nonlinearity: str | None
    slope: float | None
    mode: str | None = None  # a Kaiming mode the layer's geometry imposes
    correction: float | None = None  # a factor the std needs after a fan_out Kaiming call

    @classmethod
    def of(cls, activation: Activation, geometry: LayerGeometry | None = None) -> Requirement:
        return cls(
            activation.family,
            activation.nonlinearity,
            activation.slope or None,
            required_mode(geometry, activation),
            _correction(geometry, activation),
        )


def _correction(geometry: LayerGeometry | None, activation: Activation) -> float | None:
    """The factor the fix applies after its Kaiming call (None: none needed or knowable)."""
    mode = required_mode(geometry, activation)
    factor = fan_correction(geometry, activation, mode) if mode == "fan_out" else None
    return None if factor is None or factor == 1.0 else factor


def correction_line(target: str, factor: float) -> str:
    """``w.data.mul_(2)``: scales a Kaiming fan_out init to a strided ConvTranspose's forward fan.
    ``.data`` keeps autograd out of it without ``torch.no_grad()`` (which needs torch imported)."""
    squared = round(factor * factor)
    text = f"{round(factor)}" if round(factor) ** 2 == squared else f"{squared} ** 0.5"
    return f"{target}.data.mul_({text})"


def advice(
    activation: Activation,
    target: str,
    geometry: LayerGeometry | None,
    *,
    init_prefix: str,
    mode: str,
    distribution: str,
    quote: str = "'",
) -> tuple[str, ...]:
    """The statements that initialise ``target`` right (the call, and a correction if needed)."""
    forced = required_mode(geometry, activation)
    call = activation.recommended_call(
        target,
        init_prefix=init_prefix,
        mode=forced or mode,
        distribution=distribution,
        explicit_mode=forced is not None,
        quote=quote,
    )
    if call is None:
        return ()
    factor = _correction(geometry, activation)
    return (call,) if factor is None else (call, correction_line(target, factor))


def preferences(scheme: AppliedInit, options: Options) -> tuple[str, str]:
    """The Kaiming mode and the distribution of a new init call, for the message and the fix
    alike: the author's where they do not matter to the gain (a uniform Xavier becomes a
    uniform Kaiming), else the configured ones."""
    mode = scheme.mode if scheme.kind is SchemeKind.KAIMING else None
    distribution = scheme.distribution
    return (
        mode if mode in ("fan_in", "fan_out") else options.mode,
        distribution if distribution in ("normal", "uniform") else options.distribution,
    )


def path_expression(handle: str, path: str | None) -> str | None:
    """'netG' + 'main.0' → 'netG.main[0]'."""
    if path is None:
        return None
    parts = [handle]
    for piece in path.split("."):
        parts.append(f"[{piece}]" if piece.lstrip("-").isdigit() else f".{piece}")
    text = "".join(parts)
    return text if EXPRESSION.match(text) else None


def _insert(point: InsertPoint, lines: list[str], facts: FileFacts, options: Options) -> Edit:
    """Statements inserted before ``point.line``, each wrapped as the file's formatter would."""
    out = []
    for line in lines:
        code = line.lstrip()
        indent = point.indent + line[: len(line) - len(code)]
        for piece in wrap(code, indent, facts.indent, options.line_length):
            out.append(f"{indent}{piece}{facts.newline}")
    return Edit(point.line, 1, point.line, 1, "".join(out))


def wrap(code: str, indent: str, unit: str, limit: int, tail: int = 0) -> list[str]:
    """A one-line call laid out as black and ruff format it at ``indent`` (``tail``: the
    characters that follow it on its line): as it is when it fits; else its arguments on a line
    of their own; else one argument per line, with a trailing comma. Lines without ``indent``."""
    if len(indent) + len(code) + tail <= limit or not code.endswith(")"):
        return [code]
    opening = _opening(code)
    if opening is None or opening == len(code) - 2:
        return [code]
    head, inner = code[: opening + 1], code[opening + 1 : -1]
    if len(indent) + len(unit) + len(inner) <= limit:
        return [head, f"{unit}{inner}", ")"]
    return [head, *(f"{unit}{part}," for part in _top_level_parts(inner)), ")"]


def _opening(code: str) -> int | None:
    """Index of the bracket that the final ``)`` closes (quotes skipped)."""
    depth, quote = 0, ""
    for index in range(len(code) - 1, -1, -1):
        char = code[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in ")]}":
            depth += 1
        elif char in "([{":
            depth -= 1
            if depth == 0:
                return index
    return None


def _top_level_parts(inner: str) -> list[str]:
    """``a, f(b, c), d=e`` → ``['a', 'f(b, c)', 'd=e']``."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(inner):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inner[start:index].strip())
            start = index + 1
    parts.append(inner[start:].strip())
    return [part for part in parts if part]


def _init_lines(call: str, layer: str, prefix: str, options: Options) -> list[str]:
    lines = [call]
    if options.zero_bias:
        lines += [f"if {layer}.bias is not None:", f"    {prefix}.zeros_({layer}.bias)"]
    return lines


def plan(
    instance: InstanceFacts,
    rule: Rule,
    activation: Activation,
    scheme: AppliedInit,
    facts: FileFacts,
    nodes: dict[str, NodeFacts],
    requirements: dict[tuple[int, int], set[Requirement]],
    options: Options,
    file_of: dict[str, FileFacts],
    loop_wants: LoopCheck | None = None,
) -> Fix | None:
    """The fix of a finding (None: no safe edit). ``loop_wants(program, requirement)`` says
    whether every layer a program's init call reaches wants that requirement."""
    if not rule.fixable:
        return None
    # A function of another file ran this init: fix after where it ran, not in its body.
    origin = scheme.applied_at if scheme.applied_at is not None else scheme.origin
    if isinstance(origin, ProgramFacts):
        # The program may run in another file (a training script's netG.apply(weights_init)):
        # the call goes there, in that file's spelling.
        home = file_of.get(origin.node)
        if home is None and origin.node == instance.owner:
            home = facts  # a function's or a script's own code: no node of the graph
        if home is None:
            return None
        if home.path != facts.path:
            only = {origin.node: home}
            fix = plan(
                instance,
                rule,
                activation,
                scheme,
                home,
                nodes,
                requirements,
                options,
                only,
                loop_wants,
            )
            return replace(fix, path=home.path) if fix is not None else None
    planner = _Planner(instance, activation, facts, options, scheme)
    if scheme.kind is SchemeKind.DEFAULT:
        if isinstance(origin, CallFacts):  # self.fc.reset_parameters(): after that call
            reset_here = planner.layer is not None and origin.target == planner.layer
            return planner.targeted(origin.after, planner.layer) if reset_here else None
        if planner.layer is None:
            return _container_fix(instance, activation, facts, requirements, options)
        return planner.targeted(instance.insert, planner.layer)
    if isinstance(origin, CallFacts):
        return planner.call_fix(origin, rule, scheme, requirements)
    if isinstance(origin, ProgramFacts):
        return planner.program_fix(origin, nodes, rule, loop_wants)
    return None


@dataclass(frozen=True)
class _Planner:
    """The fixes of one finding, in the spelling of the file they go in."""

    instance: InstanceFacts
    activation: Activation
    facts: FileFacts
    options: Options
    scheme: AppliedInit

    @property
    def layer(self) -> str | None:
        """The layer as an expression a fix can use ('self.fc1'); None when it has none."""
        name = self.instance.name
        return name if name and EXPRESSION.match(name) else None

    def targeted(self, point: InsertPoint | None, expression: str | None) -> Fix | None:
        """A call that initialises ``expression`` right, inserted at ``point``."""
        if point is None or expression is None:
            return None
        prefix = self.facts.init_prefix
        mode, distribution = preferences(self.scheme, self.options)
        lines = advice(
            self.activation,
            f"{expression}.weight",
            self.instance.geometry,
            init_prefix=prefix,
            mode=mode,
            distribution=distribution,
            quote=self.facts.quote,
        )
        if not lines:
            return None
        call = lines[0]
        body = [*lines[:1], *_init_lines(call, expression, prefix, self.options)[1:], *lines[1:]]
        edit = _insert(point, body, self.facts, self.options)
        imports = (("torch.nn", "init"),) if self.facts.needs_init_import else ()
        return Fix(f"insert {call} before line {point.line}", (edit,), imports)

    def call_fix(
        self,
        origin: CallFacts,
        rule: Rule,
        scheme: AppliedInit,
        requirements: dict[tuple[int, int], set[Requirement]],
    ) -> Fix | None:
        """The init call rewritten in place when every layer it touches wants the same init;
        else a targeted call after it."""
        if scheme.scheme.scale != 1.0:
            return None  # w.data *= 0.1 later scales whatever the call, or a call after it, sets
        wanted = Requirement.of(self.activation, self.instance.geometry)
        if origin.rewritable and all(requirements.get(key) == {wanted} for key in origin.touched):
            rewritten = self.rewrite(origin, rule, scheme)
            if rewritten is not None:
                return rewritten
        layer = self.layer
        if layer is not None and layer.startswith("self."):
            return self.targeted(_later(origin.after, self.instance.insert), layer)
        return None

    def rewrite(self, origin: CallFacts, rule: Rule, scheme: AppliedInit) -> Fix | None:
        """The init call itself corrected (the caller knows every layer it touches wants it)."""
        instance, activation = self.instance, self.activation
        wanted = Requirement.of(activation, instance.geometry)
        forced = required_mode(instance.geometry, activation)
        if rule.verdict is Verdict.WRONG_KAIMING_GAIN and wanted.correction is None:
            changes = _argument_edits(origin, activation, forced, self.facts.quote)
            if changes and not self._outgrows_its_line(origin, changes):
                return Fix(f"change the arguments of {origin.func}", changes)
        replacement = _rewrite(
            origin,
            rule,
            activation,
            scheme,
            self.facts.init_prefix,
            forced or self.options.mode,
            self.options.distribution,
            forced,
            self.facts.quote,
        )
        if replacement is None or (wanted.correction is not None and origin.after is None):
            return None
        replacement = self._laid_out(replacement, origin)
        if replacement is None:
            return None
        span = (origin.line, origin.column, origin.end_line, origin.end_column)
        edits = [Edit(*span, replacement)]
        if wanted.correction is not None and origin.after is not None:
            line = correction_line(origin.target, wanted.correction)
            edits.append(_insert(origin.after, [line], self.facts, self.options))
        return Fix(f"replace with {replacement}", tuple(edits))

    def _outgrows_its_line(self, origin: CallFacts, edits: tuple[Edit, ...]) -> bool:
        """Whether argument edits push a one-line call (and what follows it, a comment say)
        past the line length: the call is then rewritten and laid out as a formatter would."""
        if origin.line != origin.end_line:
            return False
        growth = sum(len(e.content) - (e.end_column - e.column) for e in edits)
        limit = self.options.line_length
        return (
            origin.end_column - 1 + origin.tail
            <= limit
            < (origin.end_column - 1 + origin.tail + growth)
        )

    def _laid_out(self, replacement: str, origin: CallFacts) -> str | None:
        """A rewritten call wrapped as the formatter would, when it begins its line. None when
        a line that fitted would no longer fit and a formatter would split something else
        first: the call is an operand of what follows it (``init_fn(w) if c else None``), or
        it is written after other code on its line. The caller then offers another fix."""
        unit, limit = self.facts.indent, self.options.line_length
        fitted = origin.line == origin.end_line and origin.end_column - 1 + origin.tail <= limit
        if origin.indent is None:
            width = origin.column - 1 + len(replacement) + origin.tail
            return None if fitted and width > limit else replacement
        lines = wrap(replacement, origin.indent, unit, limit, origin.tail)
        if len(lines) > 1 and origin.operand and fitted:
            return None
        return (self.facts.newline + origin.indent).join(lines)

    def program_fix(
        self,
        origin: ProgramFacts,
        nodes: dict[str, NodeFacts],
        rule: Rule,
        loop_wants: LoopCheck | None,
    ) -> Fix | None:
        """The program's own init call corrected, when every layer it reaches wants the same
        init (one edit, not a call per layer); else a targeted call after the program."""
        wanted = Requirement.of(self.activation, self.instance.geometry)
        call = origin.call
        rewritable = self.scheme.scheme.scale == 1.0  # else the program's own scaling stays
        if (
            rewritable
            and call is not None
            and loop_wants is not None
            and loop_wants(origin, wanted)
        ):
            rewritten = self.rewrite(call, rule, self.scheme)
            if rewritten is not None:
                return rewritten
        instance, layer = self.instance, self.layer
        if origin.node == instance.owner and origin.handle and layer:
            # ``self.apply(f)``, ``self.net.apply(f)``, ``net.apply(f)`` in the code that built
            # the layer: its name there (``self.net[0]``, ``net[0]``) still holds after it.
            same_root = _root(origin.handle) == _root(layer)
            return self.targeted(origin.after, layer) if same_root else None
        # ``netG.apply(...)``: the handle names one instantiation, and the layer's path is
        # relative to the class run in it. A class's own node also contains classes passed to
        # it (``MetaFormer(token_mixers=SepConv)``), built somewhere below at a path not known.
        container = nodes.get(origin.node)
        if (
            origin.handle
            and container is not None
            and not container.is_class
            and instance.owner in container.contains
        ):
            return self.targeted(origin.after, path_expression(origin.handle, instance.path))
        return None


def _root(expression: str) -> str:
    """The variable an expression starts from: 'self' of 'self.net[0]', 'net' of 'net[0]'."""
    return re.split(r"[.\[]", expression, maxsplit=1)[0]


def _container_fix(
    instance: InstanceFacts,
    activation: Activation,
    facts: FileFacts,
    requirements: dict[tuple[int, int], set[Requirement]],
    options: Options,
) -> Fix | None:
    """A layer with no name of its own (built in a loop, unpacked into a Sequential): one loop
    over the module that holds it, right after it is stored, fixes it and every layer of its
    kind there together: only when each of those wants exactly this init."""
    box = instance.container
    if box is None or box.after is None or box.loop_name is None or facts.nn_prefix is None:
        return None
    wanted = Requirement.of(activation, instance.geometry)
    if wanted.correction is not None:
        return None
    kind = instance.kind
    touched = [m for m in box.members if m.kind == kind or kind in LAYER_BASES.get(m.kind, ())]
    if not touched or any(requirements.get((m.line, m.column)) != {wanted} for m in touched):
        return None
    if any(m.kind.startswith("Lazy") for m in touched):
        return None  # isinstance(m, nn.Linear) holds for a LazyLinear, whose weight has no shape
    variable = box.loop_name
    lines = advice(
        activation,
        f"{variable}.weight",
        instance.geometry,
        init_prefix=facts.init_prefix,
        mode=options.mode,
        distribution=options.distribution,
        quote=facts.quote,
    )
    if not lines:
        return None
    step = facts.indent
    body = _init_lines(lines[0], variable, facts.init_prefix, options)
    statements = [
        f"for {variable} in {box.expression}.modules():",
        f"{step}if isinstance({variable}, {facts.nn_prefix}.{kind}):",
        *(f"{step}{step}{line}" for line in body),
    ]
    imports = (("torch.nn", "init"),) if facts.needs_init_import else ()
    description = f"insert a loop over {box.expression}.modules() that calls {lines[0]}"
    return Fix(description, (_insert(box.after, statements, facts, options),), imports)


def _later(after_call: InsertPoint | None, after_layer: InsertPoint | None) -> InsertPoint | None:
    """Where a call fixing a layer an init call reached goes: after that call's statement,
    and after the statement that builds the layer. A helper's call is one node for every
    statement that hands it a layer (``layer_init(nn.Linear(...))`` in one attribute after
    another): its statement is the first caller's, before later layers exist."""
    if after_call is None or after_layer is None:
        return after_call
    return after_layer if after_layer.line > after_call.line else after_call


def _argument_edits(
    call: CallFacts, activation: Activation, forced_mode: str | None, quote: str
) -> tuple[Edit, ...]:
    """A Kaiming call whose gain is wrong, corrected argument by argument: values replaced where
    they are, missing keywords added (before ``nonlinearity=``, else at the end), the rest of
    the call as it was. Empty when the call cannot be edited so (a tensor method, ``**kw``)."""
    if call.last_end is None:
        return ()
    given = {argument.name: argument for argument in call.arguments}

    def literal(value: str, old: ArgumentFacts | None) -> str:
        mark = old.text[-1] if old is not None and old.text[-1:] in ("'", '"') else quote
        return f"{mark}{value}{mark}"

    wanted: dict[str, str] = {}
    if forced_mode is not None:
        wanted["mode"] = literal(forced_mode, given.get("mode"))
    if activation.slope:
        wanted["a"] = f"{activation.slope:g}"
        if "nonlinearity" in given:  # absent: 'leaky_relu' is the default
            wanted["nonlinearity"] = literal("leaky_relu", given["nonlinearity"])
    else:
        wanted["nonlinearity"] = literal("relu", given.get("nonlinearity"))  # a is then unused
    edits: list[Edit] = []
    added: list[str] = []
    for name in ("a", "mode", "nonlinearity"):
        if name not in wanted:
            continue
        old = given.get(name)
        if old is None:
            added.append(f"{name}={wanted[name]}")
        elif old.text != wanted[name] and not _same_number(old.text, wanted[name]):
            edits.append(Edit(*old.value, wanted[name]))
    anchor = given.get("nonlinearity")
    if (
        added
        and anchor is not None
        and anchor.keyword
        and "nonlinearity" not in {a.split("=")[0] for a in added}
    ):
        edits.append(Edit(*anchor.start, *anchor.start, "".join(f"{a}, " for a in added)))
    elif added:
        edits.append(Edit(*call.last_end, *call.last_end, "".join(f", {a}" for a in added)))
    return tuple(edits)


def _same_number(text: str, wanted: str) -> bool:
    try:
        return float(text) == float(wanted)
    except ValueError:
        return False


def _rewrite(
    call: CallFacts,
    rule: Rule,
    activation: Activation,
    scheme: AppliedInit,
    prefix: str,
    mode: str,
    distribution: str,
    forced_mode: str | None = None,
    quote: str = "'",
) -> str | None:
    """The corrected call, keeping the author's spelling of init and of the tensor."""
    namespace = prefix if call.method else call.func.rpartition(".")[0] or prefix
    if rule.verdict is Verdict.WRONG_KAIMING_GAIN and not call.method:
        # Only the gain is wrong: change a= and nonlinearity=, keep the call and its other args
        # (but a mode the layer's geometry rules out).
        kept = [k for k in call.kept if not (forced_mode and k.startswith("mode="))]
        forced = [f"mode={quote}{forced_mode}{quote}"] if forced_mode else []
        args = [call.target, *kept, *forced, *activation.kaiming_arguments(quote)]
        return f"{call.func}({', '.join(args)})"
    keep = scheme.distribution if scheme.distribution in ("normal", "uniform") else distribution
    keep_mode = scheme.mode if scheme.mode in ("fan_in", "fan_out") else mode
    if forced_mode is not None:
        keep_mode = forced_mode  # the mode the layer's geometry imposes
    return activation.recommended_call(
        call.target,
        init_prefix=namespace,
        mode=keep_mode,
        distribution=keep,
        explicit_mode=forced_mode is not None,
        quote=quote,
    )
