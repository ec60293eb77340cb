"""Autofix plans: the edit that makes a finding go away, or None when no edit is safe.

Three ways, by where the offending init comes from:

* nothing (PyTorch's default): insert the right call after the statement that names the layer;
* a call aimed at known layers: rewrite it in place when every layer it touches wants the same
  init, else insert a targeted call after it;
* an init program (modules() loop, apply): insert a targeted call after the program runs.
"""

from __future__ import annotations

import re
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
from .facts import CallFacts, FileFacts, InsertPoint, InstanceFacts, NodeFacts, ProgramFacts
from .values import AppliedInit

_EXPRESSION = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*|\[-?\d+\])*$")


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
) -> tuple[str, ...]:
    """The statements that initialise ``target`` right (the call, and a correction if needed)."""
    forced = required_mode(geometry, activation)
    call = activation.recommended_call(
        target,
        init_prefix=init_prefix,
        mode=forced or mode,
        distribution=distribution,
        explicit_mode=forced is not None,
    )
    if call is None:
        return ()
    factor = _correction(geometry, activation)
    return (call,) if factor is None else (call, correction_line(target, factor))


def path_expression(handle: str, path: str | None) -> str | None:
    """'netG' + 'main.0' → 'netG.main[0]'."""
    if path is None:
        return None
    parts = [handle]
    for piece in path.split("."):
        parts.append(f"[{piece}]" if piece.lstrip("-").isdigit() else f".{piece}")
    text = "".join(parts)
    return text if _EXPRESSION.match(text) else None


def _insert(point: InsertPoint, lines: list[str], newline: str) -> Edit:
    content = "".join(f"{point.indent}{line}{newline}" for line in lines)
    return Edit(point.line, 1, point.line, 1, content)


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
) -> Fix | None:
    if not rule.fixable:
        return None
    # A function of another file ran this init: fix after where it ran, not in its body.
    origin = scheme.applied_at if scheme.applied_at is not None else scheme.origin
    if isinstance(origin, ProgramFacts):
        # The program may run in another file (a training script's netG.apply(weights_init)):
        # the call goes there, in that file's spelling.
        home = file_of.get(origin.node)
        if home is None:
            return None
        if home.path != facts.path:
            only = {origin.node: home}
            fix = plan(instance, rule, activation, scheme, home, nodes, requirements, options, only)
            return replace(fix, path=home.path) if fix is not None else None
    planner = _Planner(instance, activation, facts, options)
    if scheme.kind is SchemeKind.DEFAULT:
        if planner.layer is None:
            return _container_fix(instance, activation, facts, requirements, options)
        return planner.targeted(instance.insert, planner.layer)
    if isinstance(origin, CallFacts):
        return planner.call_fix(origin, rule, scheme, requirements)
    if isinstance(origin, ProgramFacts):
        return planner.program_fix(origin, nodes)
    return None


@dataclass(frozen=True)
class _Planner:
    """The fixes of one finding, in the spelling of the file they go in."""

    instance: InstanceFacts
    activation: Activation
    facts: FileFacts
    options: Options

    @property
    def layer(self) -> str | None:
        """The layer as an expression a fix can use ('self.fc1'); None when it has none."""
        name = self.instance.name
        return name if name and _EXPRESSION.match(name) else None

    def targeted(self, point: InsertPoint | None, expression: str | None) -> Fix | None:
        """A call that initialises ``expression`` right, inserted at ``point``."""
        if point is None or expression is None:
            return None
        prefix = self.facts.init_prefix
        lines = advice(
            self.activation,
            f"{expression}.weight",
            self.instance.geometry,
            init_prefix=prefix,
            mode=self.options.mode,
            distribution=self.options.distribution,
        )
        if not lines:
            return None
        call = lines[0]
        body = [*lines[:1], *_init_lines(call, expression, prefix, self.options)[1:], *lines[1:]]
        edit = _insert(point, body, self.facts.newline)
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
        instance, activation = self.instance, self.activation
        wanted = Requirement.of(activation, instance.geometry)
        if origin.rewritable and all(requirements.get(key) == {wanted} for key in origin.touched):
            forced = required_mode(instance.geometry, activation)
            mode = forced or self.options.mode
            replacement = _rewrite(
                origin,
                rule,
                activation,
                scheme,
                self.facts.init_prefix,
                mode,
                self.options.distribution,
                forced,
            )
            if replacement is not None and (wanted.correction is None or origin.after is not None):
                span = (origin.line, origin.column, origin.end_line, origin.end_column)
                edits = [Edit(*span, replacement)]
                if wanted.correction is not None and origin.after is not None:
                    line = correction_line(origin.target, wanted.correction)
                    edits.append(_insert(origin.after, [line], self.facts.newline))
                return Fix(f"replace with {replacement}", tuple(edits))
        layer = self.layer
        if layer is not None and layer.startswith("self."):
            return self.targeted(origin.after, layer)
        return None

    def program_fix(self, origin: ProgramFacts, nodes: dict[str, NodeFacts]) -> Fix | None:
        """A targeted call after the program (modules() loop, apply) that set the init."""
        instance, layer = self.instance, self.layer
        if origin.node == instance.owner and origin.handle == "self" and layer:
            return self.targeted(origin.after, layer) if layer.startswith("self.") else None
        container = nodes.get(origin.node)
        if origin.handle and container is not None and instance.owner in container.contains:
            return self.targeted(origin.after, path_expression(origin.handle, instance.path))
        return None


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
    variable = box.loop_name
    lines = advice(
        activation,
        f"{variable}.weight",
        instance.geometry,
        init_prefix=facts.init_prefix,
        mode=options.mode,
        distribution=options.distribution,
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
    return Fix(description, (_insert(box.after, statements, facts.newline),), imports)


def _rewrite(
    call: CallFacts,
    rule: Rule,
    activation: Activation,
    scheme: AppliedInit,
    prefix: str,
    mode: str,
    distribution: str,
    forced_mode: str | None = None,
) -> str | None:
    """The corrected call, keeping the author's spelling of init and of the tensor."""
    namespace = prefix if call.method else call.func.rpartition(".")[0] or prefix
    if rule.verdict is Verdict.WRONG_KAIMING_GAIN and not call.method:
        # Only the gain is wrong: change a= and nonlinearity=, keep the call and its other args
        # (but a mode the layer's geometry rules out).
        kept = [k for k in call.kept if not (forced_mode and k.startswith("mode="))]
        args = [call.target, *kept, *([f"mode={forced_mode!r}"] if forced_mode else [])]
        if activation.slope:
            args += [f"a={activation.slope:g}", "nonlinearity='leaky_relu'"]
        else:
            args.append("nonlinearity='relu'")
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
    )
