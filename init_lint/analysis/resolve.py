"""Cross-file resolution: fold the init programs of every context a layer can live in, then judge.

A layer's owner may be contained by other modules (``ResNet`` contains ``BasicBlock``; a DCGAN
script's ``netG = Generator(); netG.apply(weights_init)``). Each chain of containers from the
owner up to a root is one context; the containers' init programs run after the owner's own
init, in order. A finding is reported only when every context agrees on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..findings import Finding
from ..knowledge import Family, SchemeKind, describe_fan_problem, judge
from ..options import Options
from ..rules import Rule, for_verdict
from . import fix_plans
from .facts import FileFacts, InstanceFacts, NodeFacts, UseFacts
from .values import UNKNOWN_INIT, AppliedInit

MAX_CONTEXTS = 32
_OPAQUE = NodeFacts("<opaque>", "unanalysed container", True, False, (), ())


@dataclass(frozen=True)
class Problem:
    rule: Rule
    scheme: AppliedInit
    use: UseFacts


def resolve(all_facts: list[FileFacts], options: Options) -> list[Finding]:
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
    through_norm = options.through_norm
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
        requirements: dict[tuple[int, int], set[fix_plans.Requirement]] = {}
        for instance, problems in judged:
            requirements.setdefault((instance.line, instance.column), set()).update(
                fix_plans.Requirement.of(p.use.activation, instance.geometry) for p in problems
            )
        seen: set[tuple[int, int, str]] = set()
        for instance, problems in judged:
            for problem in problems:
                key = (instance.line, instance.column, problem.rule.code)
                if key in seen:
                    continue
                seen.add(key)
                fix = fix_plans.plan(
                    instance,
                    problem.rule,
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
                        problem.rule.code,
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
    """Every chain of containers above ``key`` (outermost last); [[]] when nothing contains it."""
    chains: list[list[NodeFacts]] = []

    def walk(current: str, chain: list[NodeFacts], visited: frozenset[str]) -> None:
        if len(chains) >= MAX_CONTEXTS:
            return
        above = [p for p in parents.get(current, ()) if p not in visited]
        if not above:
            chains.append(chain)
            return
        for parent in above:
            node = nodes[parent]
            if node.placeholder and not parents.get(parent):
                # A container we did not analyse (not among the linted files): it may well
                # initialise what it contains, so this context cannot be judged.
                chains.append([*chain, _OPAQUE])
                continue
            walk(parent, [*chain, node], visited | {parent})

    walk(key, [], frozenset({key}))
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
        per_context.append(_judge_all(inits, instance, through_norm))
    if not per_context:
        return []
    common = set(per_context[0])
    for found in per_context[1:]:
        common &= set(found)
    return [per_context[0][code] for code in sorted(common)]


def _fold(instance: InstanceFacts, chain: Iterable[NodeFacts]) -> frozenset[AppliedInit]:
    inits = instance.inits
    for depth, node in enumerate(chain):
        if node is _OPAQUE:
            return inits | {UNKNOWN_INIT}
        for step in node.steps:
            # Direct inits by path (netG.main[0].weight) address the owner's own attributes.
            if depth == 0 and instance.path is not None and instance.path in step.path_inits:
                inits = step.path_inits[instance.path].apply(inits)
            effect = step.effects.get(instance.kind)
            if effect is not None:
                inits = effect.apply(inits)
    return inits


def _judge_all(
    inits: frozenset[AppliedInit], instance: InstanceFacts, through_norm: bool
) -> dict[str, Problem]:
    problems: dict[str, Problem] = {}
    for use in instance.uses:
        if use.via_norm and not through_norm:
            continue
        if use.activation.family is Family.OTHER:
            continue
        verdicts = {judge(a.scheme, use.activation, instance.geometry) for a in inits}
        if len(verdicts) != 1:
            continue  # the init differs between code paths: cannot know, stay silent
        rule = for_verdict(next(iter(verdicts)))
        if rule is None:
            continue
        problems.setdefault(rule.code, Problem(rule, _most_telling(inits), use))
    return problems


def _most_telling(inits: frozenset[AppliedInit]) -> AppliedInit:
    """Prefer an explicit init call (with a line) over PyTorch's default in messages."""
    return sorted(inits, key=lambda s: (s.kind is SchemeKind.DEFAULT, s.line or 0, s.text))[0]


def _message(instance: InstanceFacts, problem: Problem, init_prefix: str, options: Options) -> str:
    activation = problem.use.activation
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
    statements = fix_plans.advice(
        activation,
        target,
        instance.geometry,
        init_prefix=init_prefix,
        mode=scheme.mode
        if scheme.kind is SchemeKind.KAIMING and scheme.mode in ("fan_in", "fan_out")
        else options.mode,
        distribution=scheme.distribution
        if scheme.distribution in ("normal", "uniform")
        else options.distribution,
    )
    advice = " then ".join(statements) if statements else None
    return problem.rule.message(
        feeds=feeds,
        init=scheme.describe(),
        init_text=scheme.text,
        init_where=f" (line {scheme.line})" if scheme.line else "",
        gain=f"{scheme.gain:.3f}" if scheme.gain is not None else "a different gain",
        gain_approx=f"{scheme.gain:.3g}" if scheme.gain is not None else "unknown",
        required=f"{activation.gain or 0.0:.3f}",
        activation_name=activation.name,
        advice=advice,
        fan_problem=describe_fan_problem(instance.geometry),
    )
