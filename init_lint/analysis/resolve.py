"""Cross-file resolution: fold the init programs of every context a layer can live in, then judge.

A layer's owner may be contained by other modules (``ResNet`` contains ``BasicBlock``; a DCGAN
script's ``netG = Generator(); netG.apply(weights_init)``). Each chain of containers from the
owner up to a root is one context; the containers' init programs run after the owner's own
init, in order. A finding is reported only when every context agrees on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..findings import Finding
from ..knowledge import Activation, Family, InitScheme, Verdict, judge
from . import fixes
from .facts import FileFacts, InstanceFacts, NodeFacts, UseFacts

UNKNOWN_SCHEME = InitScheme("unknown")
MAX_CONTEXTS = 32
_OPAQUE = NodeFacts("<opaque>", "unanalysed container", True, False, (), ())


@dataclass(frozen=True)
class Problem:
    code: str
    scheme: InitScheme
    use: UseFacts


def resolve(all_facts: list[FileFacts], options: Any) -> list[Finding]:
    nodes: dict[str, NodeFacts] = {}
    parents: dict[str, list[str]] = {}
    for facts in all_facts:
        for node in facts.nodes:
            if node.placeholder and node.key in nodes:
                merged = nodes[node.key]
                nodes[node.key] = replace(merged, contains=merged.contains + node.contains)
            elif node.placeholder or node.key not in nodes or nodes[node.key].placeholder:
                previous = nodes.get(node.key)
                extra = previous.contains if previous is not None else ()
                nodes[node.key] = replace(node, contains=node.contains + extra)
    for node in nodes.values():
        for child in node.contains:
            parents.setdefault(child, []).append(node.key)
    through_norm = bool(getattr(options, "through_norm", False))
    findings: list[Finding] = []
    for facts in all_facts:
        for line, column, end_line, end_column, code, message, fix in facts.local:
            findings.append(
                Finding(facts.path, line, column, code, message, end_line, end_column, fix)
            )
        judged = [
            (instance, _problems(instance, nodes, parents, through_norm))
            for instance in facts.instances
        ]
        # What each layer needs: a call rewrite is safe only if all layers it touches agree.
        requirements: dict[tuple[int, int], set[fixes.Requirement]] = {}
        for instance, problems in judged:
            requirements.setdefault((instance.line, instance.column), set()).update(
                fixes.Requirement.of(p.use.activation) for p in problems
            )
        seen: set[tuple[int, int, str]] = set()
        for instance, problems in judged:
            for problem in problems:
                key = (instance.line, instance.column, problem.code)
                if key in seen:
                    continue
                seen.add(key)
                fix = fixes.plan(
                    instance,
                    problem.code,
                    problem.use.activation,
                    problem.scheme,
                    facts,
                    nodes,
                    requirements,
                    options,
                )
                message = _message(instance, problem, facts.init_prefix, options)
                if fix is None:
                    message += " (no autofix)"
                findings.append(
                    Finding(
                        facts.path,
                        instance.line,
                        instance.column,
                        problem.code,
                        message,
                        instance.end_line,
                        instance.end_column,
                        fix,
                    )
                )
    return findings


def _contexts(
    key: str, nodes: dict[str, NodeFacts], parents: dict[str, list[str]]
) -> list[list[NodeFacts]]:
    """Every chain of containers above ``key`` (outermost last); [[]] when nothing contains it.

    Depth first, parents in order, with an explicit stack: a chain of containers may be as long
    as a file's classes are many."""
    chains: list[list[NodeFacts]] = []
    # (node key, or None for a chain that ends at an unanalysed container; chain; visited)
    stack: list[tuple[str | None, list[NodeFacts], frozenset[str]]] = [(key, [], frozenset({key}))]
    while stack:
        current, chain, visited = stack.pop()
        if current is None:
            chains.append(chain)
            continue
        if len(chains) >= MAX_CONTEXTS:
            continue
        above = [p for p in parents.get(current, ()) if p not in visited]
        if not above:
            chains.append(chain)
            continue
        steps: list[tuple[str | None, list[NodeFacts], frozenset[str]]] = []
        for parent in above:
            node = nodes[parent]
            if node.placeholder and not parents.get(parent):
                # A container we did not analyse (not among the linted files): it may well
                # initialise what it contains, so this context cannot be judged.
                steps.append((None, [*chain, _OPAQUE], visited))
            else:
                steps.append((parent, [*chain, node], visited | {parent}))
        stack.extend(reversed(steps))
    return chains


def _problems(
    instance: InstanceFacts,
    nodes: dict[str, NodeFacts],
    parents: dict[str, list[str]],
    through_norm: bool,
) -> list[Problem]:
    owner = nodes.get(instance.owner)
    contexts = _contexts(instance.owner, nodes, parents)
    if owner is not None and owner.abstract and contexts == [[]]:
        return []  # a base class: its layers are judged in the subclasses that build them
    per_context: list[dict[str, Problem]] = []
    for chain in contexts:
        inits = _fold(instance, chain)
        per_context.append(_judge_all(inits, instance.uses, through_norm))
    if not per_context:
        return []
    common = set(per_context[0])
    for found in per_context[1:]:
        common &= set(found)
    return [per_context[0][code] for code in sorted(common)]


def _fold(instance: InstanceFacts, chain: Iterable[NodeFacts]) -> frozenset[InitScheme]:
    inits = instance.inits
    for depth, node in enumerate(chain):
        if node is _OPAQUE:
            return inits | {UNKNOWN_SCHEME}
        for step in node.steps:
            # Direct inits by path (netG.main[0].weight) address the owner's own attributes.
            if depth == 0 and instance.path is not None and instance.path in step.path_inits:
                inits = step.path_inits[instance.path].apply(inits)
            effect = step.effects.get(instance.kind)
            if effect is not None:
                inits = effect.apply(inits)
    return inits


def _judge_all(
    inits: frozenset[InitScheme], uses: tuple[UseFacts, ...], through_norm: bool
) -> dict[str, Problem]:
    problems: dict[str, Problem] = {}
    for use in uses:
        if use.via_norm and not through_norm:
            continue
        if use.activation.family is Family.OTHER:
            continue
        verdicts = {judge(scheme, use.activation) for scheme in inits}
        if len(verdicts) != 1:
            continue  # the init differs between code paths: cannot know, stay silent
        verdict = next(iter(verdicts))
        if verdict in (Verdict.OK, Verdict.UNKNOWN):
            continue
        scheme = _most_telling(inits)
        problems.setdefault(verdict.value, Problem(verdict.value, scheme, use))
    return problems


def _most_telling(inits: frozenset[InitScheme]) -> InitScheme:
    """Prefer an explicit init call (with a line) over PyTorch's default in messages."""
    return sorted(inits, key=lambda s: (s.kind == "default", s.line or 0, s.text))[0]


def _message(instance: InstanceFacts, problem: Problem, init_prefix: str, options: Any) -> str:
    activation: Activation = problem.use.activation
    name = instance.name or f"{instance.kind} layer"
    target = (
        f"{instance.name}.weight"
        if instance.name and "..." not in instance.name and "<" not in instance.name
        else "<layer>.weight"
    )
    feeds = f"'{name}' ({instance.kind}) feeds {activation.describe()} (line {problem.use.line})"
    if problem.use.via_norm:
        feeds += " through a norm layer"
    scheme = problem.scheme
    # Keep what the author chose where it does not matter to the gain (distribution, mode);
    # otherwise the configured preferences.
    advice = activation.recommended_call(
        target,
        init_prefix=init_prefix,
        mode=scheme.mode
        if scheme.kind == "kaiming" and scheme.mode in ("fan_in", "fan_out")
        else getattr(options, "mode", "fan_in"),
        distribution=scheme.distribution
        if scheme.distribution in ("normal", "uniform")
        else getattr(options, "distribution", "normal"),
    )
    where = f" (line {scheme.line})" if scheme.line else ""
    if problem.code == "INI001":
        return f"{feeds} but {scheme.describe()}; use {advice}"
    if problem.code == "INI002":
        # An unknown gain (a slope that is a variable) never reaches a format spec.
        gain = f" ({scheme.gain:.3g})" if scheme.gain is not None else ""
        return (
            f"{feeds} but is initialised with {scheme.text}{where}, a rectifier gain"
            f"{gain} where {activation.name} wants Xavier; use {advice}"
        )
    actual = f"{scheme.gain:.3f}" if scheme.gain is not None else "a different gain"
    required = f"{activation.gain:.3f}" if activation.gain is not None else "the one it needs"
    return f"{feeds} but {scheme.text}{where} has gain {actual}, not {required}; use {advice}"
