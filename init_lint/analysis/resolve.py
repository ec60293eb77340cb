"""Cross-file resolution: fold the init programs of each context a layer lives in, then judge.

A layer's owner may be contained by other modules (``ResNet`` contains ``BasicBlock``; a DCGAN
script's ``netG = Generator(); netG.apply(weights_init)``). Each chain of containers from the
owner up to a root is one *context*; the containers' init programs run after the owner's own
init, in order. A layer is reported when its init is wrong in some context, with that
context's facts only (never an activation from one and an init from another); a class's
standalone defaults are a context only when nothing in the linted tree builds the class. When
the contexts of a site disagree on what its init must be, the finding carries no autofix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from ..findings import Finding
from ..knowledge import Family, SchemeKind, describe_fan_problem, judge
from ..options import Options
from ..rules import Rule, for_verdict
from . import fix_plans
from .contexts import NOT_RUN
from .facts import CallFacts, FileFacts, InstanceFacts, NodeFacts, ProgramFacts, Step, UseFacts
from .values import DEFAULT_INIT, UNKNOWN_INIT, AppliedInit

#: Chains of containers walked per layer owner. A site built in more gets no autofix: a context
#: left out may initialise it again (timm's SEModule has over 32 once its configs are read).
MAX_CONTEXTS = 256
TOO_MANY_CHAINS = f"built in more than {MAX_CONTEXTS} contexts, too many to check one edit in all"
CONTEXTS_NOT_RUN = (
    "some contexts of its class are not analysed (too many), so one edit is unchecked"
)
_OPAQUE = NodeFacts("<opaque>", "unanalysed container", True, False, (), ())
_CONTEXT_SUFFIX = re.compile(r"\[[0-9a-f]{12}(#\d+)?\]$")
#: Said of a finding whose site needs different inits in different contexts.
DIVERGENT = "its contexts need different inits"
#: Said of a finding whose contexts get their wrong init in places one edit cannot all reach.
SCATTERED = "its contexts initialise it in different places"
#: Said of a finding at a site whose layer another context re-initialises after building it.
RESET_ELSEWHERE = "another context initialises it again after building it"
#: Said of a lazy layer (nn.LazyLinear...): its weight exists only after the first forward.
LAZY = "a lazy layer's weight exists only after its first forward; initialise it then"


@dataclass(frozen=True)
class Problem:
    rule: Rule
    scheme: AppliedInit
    use: UseFacts
    #: PyTorch's default is also among its inits (a path, or another of the layers the site
    #: builds, that ``scheme`` does not reach): the message says so.
    also_default: bool = False


@dataclass
class SiteVerdict:
    """What the contexts of one layer found: the first problem per code, and every context's
    (a fix must work in all of them)."""

    problems: dict[str, Problem]
    every: dict[str, list[Problem]]
    #: Some context re-initialises the layer after building it (see Node.reinitialised).
    reset_elsewhere: bool = False


class Graph:
    """Every node of every file, with containment both ways."""

    def __init__(self, all_facts: list[FileFacts]) -> None:
        self.nodes: dict[str, NodeFacts] = {}
        self.file_of: dict[str, FileFacts] = {}  # node key -> the file that defines the node
        self._idle: set[str] | None = None  # see _unused_summaries
        self._runs: dict[CallFacts, list[tuple[str, set[str]]]] = {}  # see loop_wants
        #: Owners some contexts of which the analysis never saw (more chains than are walked,
        #: or a container class with contexts not run): why a fix cannot be checked in all.
        self.unchecked: dict[str, str] = {}
        self._chains: dict[str, list[list[NodeFacts]]] = {}  # see chains
        self._entries: dict[str, tuple[UseFacts, ...]] = {}  # see _entry_uses
        #: (path, line, column) of a layer -> what its init must be, over its contexts.
        self.requirements: dict[tuple[str, int, int], set[fix_plans.Requirement]] = {}
        self.answers: dict[str, str] = {}
        self.functions: dict[str, dict[str, str]] = {}  # qualified name -> mode -> node key
        self.modules: dict[str, dict[str, str]] = {}  # module name -> its names' targets
        placeholders: list[NodeFacts] = []
        for facts in all_facts:
            self.answers.update(facts.answers)
            self.functions.update(facts.functions)
            self.modules.setdefault(facts.module_name, {}).update(facts.exports)
            for node in facts.nodes:
                if node.placeholder:
                    placeholders.append(node)
                else:
                    self._add(node)
                    self.file_of[node.key] = facts
        for node in placeholders:  # under the name of the class they stand for, once known
            self._add(replace(node, key=self._canonical(node.key)))
        self.parents: dict[str, list[str]] = {}
        for node in self.nodes.values():
            for child in node.contains:
                self.parents.setdefault(self._canonical(child), []).append(node.key)
        #: Classes some node builds: their defaults' node is not a context of its own.
        self.built = {
            node.class_key
            for node in self.nodes.values()
            if node.class_key is not None and self._surely_built(node.key)
        }
        #: Classes built in more contexts than were run.
        self._partly_run_classes = {
            self.qualified(key[: -len(NOT_RUN)])
            for key in (*self.nodes, *self.parents)
            if key.endswith(NOT_RUN)
        }
        for key in sorted(self.parents.keys() - self.nodes.keys()):  # built in a context not run
            suffix = _CONTEXT_SUFFIX.search(key)
            if suffix is not None:
                self.built.add(self.qualified(key[: suffix.start()]))
        #: Module-level functions other files call: run on their own (their arguments unknown),
        #: they are helpers, not entry points (see _copy_in_helper).
        called = {self.qualified(call) for facts in all_facts for call in facts.calls}
        self.helpers = {
            key
            for key in self.nodes
            if key.endswith("()") and not self.parents.get(key) and _function_name(key) in called
        }
        self._built_outside: dict[str, bool] = {}
        #: Functions other files ran as their own: their layers were built there, at the call.
        self.ran = {self.qualified(name) for facts in all_facts for name in facts.ran}

    def fed_uses(self, feeds: Iterable[tuple[str, bool]], home: str | None) -> list[UseFacts]:
        """What the modules a tensor is passed to (instantiation keys, through a norm or not)
        apply first to it; ``home``: the file of the code that passes it."""
        found = []
        for key, via_norm in feeds:
            for use in self._entry_uses(key):
                path = None if use.path == home else use.path
                found.append(replace(use, via_norm=use.via_norm or via_norm, path=path))
        return found

    def _entry_uses(self, key: str) -> tuple[UseFacts, ...]:
        """What the module instantiated as node ``key`` applies first to its input: its
        class's (run in that context), then the submodules that input is passed to."""
        known = self._entries.get(key)
        if known is not None:
            return known
        self._entries[key] = ()  # a module that contains itself adds nothing more
        found: list[UseFacts] = []
        node = self.nodes.get(key)
        for child in node.contains if node is not None else ():
            context = self.nodes.get(self._canonical(child))
            if context is None or context.placeholder:
                continue
            where = self.file_of.get(context.key)
            path = where.path if where is not None else None
            found += [replace(use, path=use.path or path) for use in context.input_uses]
            for sub, via_norm in context.input_feeds:
                found += [
                    replace(use, via_norm=use.via_norm or via_norm, path=use.path or path)
                    for use in self._entry_uses(sub)
                ]
        known = self._entries[key] = tuple(dict.fromkeys(found))
        return known

    def _add(self, node: NodeFacts) -> None:
        known = self.nodes.get(node.key)
        if known is None:
            self.nodes[node.key] = node
        elif node.placeholder:
            self.nodes[node.key] = replace(known, contains=known.contains + node.contains)
        elif known.placeholder:
            self.nodes[node.key] = replace(node, contains=node.contains + known.contains)

    def _canonical(self, key: str) -> str:
        """The node a contained key stands for: a class under the name it was imported by
        (``timm.layers.Mlp`` is ``timm.layers.mlp.Mlp``), a context another file ran; a
        context of another file's class that was not run stands for nothing known."""
        if self._known(key):
            return key
        suffix = _CONTEXT_SUFFIX.search(key)
        base = key[: suffix.start()] if suffix else key
        real = self.qualified(base)
        candidate = real + (suffix.group(0) if suffix else "")
        for option in (candidate, self.answers.get(candidate, "")):
            if option and self._known(option):
                return option
        # A context nobody ran is not the class's defaults: its layers are simply unknown.
        return candidate if suffix else key

    def _known(self, key: str) -> bool:
        node = self.nodes.get(key)
        return node is not None and not node.placeholder

    def qualified(self, name: str, depth: int = 0) -> str:
        """Follow re-exports: ``pkg.X`` where ``pkg/__init__.py`` imports X from ``pkg.mod``."""
        if depth > 8 or self._known(name):
            return name
        module, _, attr = name.rpartition(".")
        target = self.modules.get(module, {}).get(attr)
        if target is None or target == name:
            return name
        return self.qualified(target, depth + 1)

    def contexts(self, key: str) -> Iterator[list[NodeFacts]]:
        """Every chain of containers above ``key`` (outermost last), walked without recursion;
        a chain that ends at the defaults of a class built elsewhere is no context."""
        pending: list[tuple[str, list[NodeFacts], frozenset[str]]] = [(key, [], frozenset({key}))]
        produced = 0
        while pending and produced < MAX_CONTEXTS:
            current, chain, visited = pending.pop()
            parents = self.parents.get(current, ())
            above = [p for p in parents if p not in visited]
            if parents and not above:
                continue  # a cycle (a class that builds itself): no root above, no context
            if not above:
                if not (
                    self._standalone_default_of_built_class(current)
                    or self._copy_in_helper(current, chain)
                    or self._run_by_callers(current)
                ):
                    produced += 1
                    yield chain
                continue
            for parent in reversed(above):
                node = self.nodes[parent]
                if parent.endswith(NOT_RUN) or (node.placeholder and not self.parents.get(parent)):
                    # A container we did not analyse (not among the linted files, or a context
                    # of a class built in too many): it may well initialise what it contains,
                    # so this context cannot be judged.
                    produced += 1
                    yield [*chain, _OPAQUE]
                    continue
                pending.append((parent, [*chain, node], visited | {parent}))

    def chains(self, key: str) -> list[list[NodeFacts]]:
        """``contexts(key)``, walked once per owner: every layer it owns, and both the fix
        requirements and the judgement of each, use the same chains."""
        known = self._chains.get(key)
        if known is None:
            known = self._chains[key] = list(self.contexts(key))
            classes = self._partly_run_classes
            owner = self.nodes.get(key)
            if len(known) >= MAX_CONTEXTS:  # some may be left out: none may block a fix
                self.unchecked[key] = TOO_MANY_CHAINS
            elif classes and (
                (owner is not None and owner.class_key in classes)
                or any(node.class_key in classes for chain in known for node in chain)
            ):  # a context of one of its containers was not run: it could not block a fix
                self.unchecked[key] = CONTEXTS_NOT_RUN
        return known

    def loop_wants(self, program: ProgramFacts, wanted: fix_plans.Requirement) -> bool:
        """Whether every weight layer a program's init call reaches wants ``wanted``: wherever
        that call runs (a function called on several models runs it on each), the layers of
        the kinds it initialises in that node and in everything it contains, each known (none
        opaque, none in a file not linted)."""
        call = program.call
        home = self.file_of.get(program.node)
        if call is None or home is None or program.handle is None:
            return False
        runs = self._runs.get(call)
        if runs is None:  # where the call runs does not depend on the layer: once per call
            idle = self._unused_summaries()
            runs = [
                (key, kinds)
                for key, node in self.nodes.items()
                if self.file_of.get(key) is home
                and key not in idle
                and (kinds := _kinds_set_by(node, call))
            ]
            self._runs[call] = runs
        return bool(runs) and all(self._subtree_wants(key, kinds, wanted) for key, kinds in runs)

    def _unused_summaries(self) -> set[str]:
        """Nodes that summarise a function for other files (see Interpreter) none of which
        runs it: they stand for calls that do not exist."""
        if self._idle is None:
            used = {
                self.functions.get(self.qualified(step.foreign[0]), {}).get(step.foreign[1])
                for node in self.nodes.values()
                for step in node.steps
                if step.foreign is not None
            }
            summaries = {key for modes in self.functions.values() for key in modes.values()}
            self._idle = summaries - used
        return self._idle

    def _subtree_wants(self, top: str, kinds: set[str], wanted: fix_plans.Requirement) -> bool:
        pending, seen, touched = [top], set(), 0
        while pending:
            key = self._canonical(pending.pop())
            current, home = self.nodes.get(key), self.file_of.get(key)
            if key in seen:
                continue
            seen.add(key)
            if current is None or home is None or current.placeholder or current.opaque:
                return False
            for layer in current.layers:
                if layer.kind not in kinds:
                    continue
                touched += 1
                if self.requirements.get((home.path, layer.line, layer.column)) != {wanted}:
                    return False
            pending.extend(current.contains)
        return touched > 0

    def foreign_steps(self, function: str, mode: str, depth: int = 0) -> list[Step] | None:
        """The steps a function of another file runs (None: not in the linted tree)."""
        programs = self.functions.get(self.qualified(function))
        node = self.nodes.get(programs[mode]) if programs is not None and depth < 4 else None
        return list(node.steps) if node is not None else None

    def _copy_in_helper(self, root: str, chain: list[NodeFacts]) -> bool:
        """A chain from a helper other files call (``create_attn(attn_type, channels)``, run
        alone with unknown arguments) to a class it builds that is also built outside such
        helpers, with the arguments known there: that run is no context of its own, like the
        defaults of a class something builds. A class only helpers build is judged there."""
        if root not in self.helpers or len(chain) < 2:
            return False
        classes = {self._class_of(key) for key in chain[-2].contains}  # [-1] is the root
        return any(self._built_outside_helpers(c) for c in classes if c is not None)

    def _run_by_callers(self, root: str) -> bool:
        """A module-level function run alone (its arguments unknown) that other files ran as
        their own with theirs: its layers are judged at their calls (see .portable)."""
        return root.endswith("()") and _function_name(root) in self.ran

    def _class_of(self, context: str) -> str | None:
        node = self.nodes.get(self._canonical(context))
        return node.class_key if node is not None else None

    def _built_outside_helpers(self, class_key: str) -> bool:
        known = self._built_outside.get(class_key)
        if known is None:
            known = any(
                any(grand not in self.helpers for grand in self.parents.get(builder, ()))
                for node in self.nodes.values()
                if node.class_key == class_key and node.key != class_key
                for builder in self.parents.get(node.key, ())
                if not (builder in self.nodes and self.nodes[builder].speculative)
            )
            self._built_outside[class_key] = known
        return known

    def _surely_built(self, key: str) -> bool:
        """Some instantiation builds this class context, not only speculative ones."""
        return any(
            not (builder in self.nodes and self.nodes[builder].speculative)
            for builder in self.parents.get(key, ())
        )

    def _standalone_default_of_built_class(self, key: str) -> bool:
        node = self.nodes.get(key)
        return node is not None and node.class_key == key and key in self.built


def _function_name(key: str) -> str:
    """``timm.layers.create_attn:create_attn()`` → ``timm.layers.create_attn.create_attn``."""
    module, _, function = key[:-2].rpartition(":")
    return f"{module}.{function}"


def _kinds_set_by(node: NodeFacts, call: CallFacts) -> set[str]:
    """The layer kinds whose weight ``call`` (an init call in a program) sets in ``node``."""
    return {
        kind
        for step in node.steps
        for kind, outcome in step.effects.items()
        if any(
            isinstance(a.origin, ProgramFacts) and a.origin.call == call for a in outcome.schemes
        )
    }


def resolve(all_facts: list[FileFacts], options: Options) -> list[Finding]:
    graph = Graph(all_facts)
    per_file = {facts.path: _requirements(facts, graph, options) for facts in all_facts}
    graph.requirements = {
        (path, line, column): wants
        for path, sites in per_file.items()
        for (line, column), wants in sites.items()
    }
    findings: list[Finding] = []
    for facts in all_facts:
        for line, column, end_line, end_column, code, message, fix in facts.local:
            findings.append(
                Finding(facts.path, line, column, code, message, end_line, end_column, fix)
            )
        findings.extend(_layer_findings(facts, graph, options, per_file[facts.path]))
    return findings


def _layer_findings(
    facts: FileFacts,
    graph: Graph,
    options: Options,
    requirements: dict[tuple[int, int], set[fix_plans.Requirement]],
) -> list[Finding]:
    sites: dict[tuple[int, int], list[tuple[InstanceFacts, SiteVerdict]]] = {}
    for instance in facts.instances:
        verdict = _judge_instance(instance, graph, options.through_norm)
        if verdict is not None:
            sites.setdefault((instance.line, instance.column), []).append((instance, verdict))
    findings = []
    for site, judged in sorted(sites.items()):
        divergent = len(requirements[site]) > 1
        reset_elsewhere = any(verdict.reset_elsewhere for _, verdict in judged)
        # Every context of the site, whichever class variant builds it and whatever its code:
        # one edit there runs in all of them, so a fix must hold in each.
        everywhere = [
            (instance, other)
            for instance, verdict in judged
            for problems in verdict.every.values()
            for other in problems
        ]
        seen: set[str] = set()
        for instance, verdict in judged:
            for code, problem in sorted(verdict.problems.items()):
                if code in seen:
                    continue
                seen.add(code)
                findings.append(
                    _finding(
                        instance,
                        problem,
                        facts,
                        graph,
                        requirements,
                        options,
                        divergent,
                        everywhere,
                        reset_elsewhere,
                    )
                )
    return findings


def _requirements(
    facts: FileFacts, graph: Graph, options: Options
) -> dict[tuple[int, int], set[fix_plans.Requirement]]:
    """What each layer of a file needs, over all its contexts: a fix is safe only where they
    agree (and a call rewrite only if every layer it touches agrees)."""
    requirements: dict[tuple[int, int], set[fix_plans.Requirement]] = {}
    for instance in facts.instances:
        # What its module's holders apply to it, in every context.
        chains = graph.chains(instance.owner) if instance.exits else [[]]
        uses = [use for chain in chains for use in _uses_in(instance, chain, graph)]
        requirements.setdefault((instance.line, instance.column), set()).update(
            fix_plans.Requirement.of(use.activation, instance.geometry)
            for use in uses
            if use.activation.family is not Family.OTHER
            and (options.through_norm or not use.via_norm)
        )
    return requirements


def _finding(
    instance: InstanceFacts,
    problem: Problem,
    facts: FileFacts,
    graph: Graph,
    requirements: dict[tuple[int, int], set[fix_plans.Requirement]],
    options: Options,
    divergent: bool,
    everywhere: list[tuple[InstanceFacts, Problem]],
    reset_elsewhere: bool = False,
) -> Finding:
    fix = None
    scattered = False
    lazy = instance.kind.startswith("Lazy")
    unchecked = graph.unchecked.get(instance.owner)
    if not (divergent or reset_elsewhere or lazy):
        fixes = {
            fix_plans.plan(
                built,
                other.rule,
                other.use.activation,
                other.scheme,
                facts,
                graph.nodes,
                requirements,
                options,
                graph.file_of,
                graph.loop_wants,
            )
            for built, other in [(instance, problem), *everywhere]
        }
        # A fix must work in every context: one edit that each context's wrong init meets.
        scattered = len(fixes) > 1
        fix = next(iter(fixes)) if not (scattered or unchecked) else None
    message = _message(instance, problem, facts, graph, options)
    owner = graph.nodes.get(instance.owner)
    if owner is not None and owner.class_key not in (None, owner.key):
        message += f" (built as {owner.label})"  # the context that shows it, not the defaults
    if fix is None:
        message += _no_fix_reason(problem, divergent, reset_elsewhere, scattered, lazy, unchecked)
    return Finding(
        facts.path,
        instance.line,
        instance.column,
        problem.rule.code,
        message,
        instance.end_line,
        instance.end_column,
        fix,
    )


def _no_fix_reason(
    problem: Problem,
    divergent: bool,
    reset_elsewhere: bool,
    scattered: bool,
    lazy: bool,
    unchecked: str | None,
) -> str:
    """`` (no autofix: why)`` for a finding without a fix."""
    scale = problem.scheme.scheme.scale
    if lazy:  # an init call where it is built raises: its weight has no shape yet
        reason = LAZY
    elif divergent:
        reason = DIVERGENT
    elif reset_elsewhere:
        reason = RESET_ELSEWHERE
    elif scattered:
        reason = SCATTERED
    elif unchecked:  # what holds in the contexts walked says nothing of the others
        reason = unchecked
    elif scale != 1.0:
        reason = f"the init is rescaled ×{scale:g} after its call"
    else:
        return " (no autofix)"
    return f" (no autofix: {reason})"


def _judge_instance(
    instance: InstanceFacts, graph: Graph, through_norm: bool
) -> SiteVerdict | None:
    """The problems of a layer in each of its contexts (None: it has no context to judge)."""
    owner = graph.nodes.get(instance.owner)
    chains = graph.chains(instance.owner)
    if not chains or (owner is not None and owner.abstract and chains == [[]]):
        return None  # no context; or a base class, judged in the subclasses that build it
    # The owner's own init code already ran, but for functions of other files it called.
    own = [step for step in owner.steps if step.foreign] if owner is not None else []
    per_context = [
        (
            _judge_all(
                _fold(instance, chain, graph, own),
                instance,
                _uses_in(instance, chain, graph),
                through_norm,
            ),
            any(node.speculative for node in chain),
        )
        for chain in chains
    ]
    problems: dict[str, Problem] = {}
    every: dict[str, list[Problem]] = {}
    for found, speculative in per_context:
        for code, problem in found.items():
            if not speculative:  # a context that may not exist: no finding, but fixes must hold
                problems.setdefault(code, problem)
            every.setdefault(code, []).append(problem)
    reset_elsewhere = any(node.reinitialised for chain in chains for node in chain)
    return SiteVerdict(problems, every, reset_elsewhere)


def _fold(
    instance: InstanceFacts, chain: Iterable[NodeFacts], graph: Graph, own: list[Step]
) -> frozenset[AppliedInit]:
    """The layer's init after its owner's code (and the functions of other files it ran),
    then each container's init events, innermost first: "last init wins"."""
    inits = _apply_steps(instance, instance.inits, own, graph, own_node=True)
    for depth, node in enumerate(chain):
        if node is _OPAQUE:
            return inits | {UNKNOWN_INIT}
        inits = _apply_steps(instance, inits, node.steps, graph, own_node=False, first=depth == 0)
    return inits


def _apply_steps(
    instance: InstanceFacts,
    inits: frozenset[AppliedInit],
    steps: Iterable[Step],
    graph: Graph,
    *,
    own_node: bool,
    first: bool = False,
    depth: int = 0,
) -> frozenset[AppliedInit]:
    for step in steps:
        if step.foreign is not None:
            function, mode, opaque = step.foreign
            expanded = graph.foreign_steps(function, mode, depth)
            if expanded is None:
                inits = inits | {UNKNOWN_INIT} if opaque else inits
            else:
                path_scope = first or (own_node and mode == "call")
                before = inits
                inits = _apply_steps(
                    instance,
                    inits,
                    expanded,
                    graph,
                    own_node=False,
                    first=path_scope,
                    depth=depth + 1,
                )
                if step.foreign_site is not None:  # what it wrote is fixed after its call
                    site = step.foreign_site
                    inits = frozenset(
                        a if a in before or a.applied_at else replace(a, applied_at=site)
                        for a in inits
                    )
            continue
        # Direct inits by path (netG.main[0].weight) address the owner's own attributes.
        if first and instance.path is not None and instance.path in step.path_inits:
            inits = step.path_inits[instance.path].apply(inits)
        effect = step.effects.get(instance.kind)
        if effect is not None:
            inits = effect.apply(inits)
    return inits


def _uses_in(
    instance: InstanceFacts, chain: Iterable[NodeFacts], graph: Graph
) -> tuple[UseFacts, ...]:
    """The layer's uses in one context: its own, and where its output is its module's output,
    what the code holding that module applies to that output (``self.act(self.conv_bn(x))``
    with the conv last in ConvBN), up through modules that return it in turn."""
    home = graph.file_of.get(instance.owner)
    home_path = home.path if home is not None else None
    uses = [*instance.uses, *graph.fed_uses(instance.feeds, home_path)]
    norms = set(instance.exits)  # reaching the module's output through a norm, or not
    for node in chain:
        if not norms or node is _OPAQUE:
            break
        if node.is_class:
            continue  # the class run in this context; its instantiation is next in the chain
        where = graph.file_of.get(node.key)
        path = where.path if where is not None and where is not home else None
        for use in node.output_uses:
            uses += [replace(use, via_norm=use.via_norm or n, path=path) for n in norms]
        fed = graph.fed_uses(node.output_feeds, home_path)
        uses += [replace(use, via_norm=use.via_norm or n) for use in fed for n in norms]
        norms = {n or passed for n in norms for passed in node.passes_output}
    return tuple(uses)


def _judge_all(
    inits: frozenset[AppliedInit],
    instance: InstanceFacts,
    uses: Iterable[UseFacts],
    through_norm: bool,
) -> dict[str, Problem]:
    problems: dict[str, Problem] = {}
    for use in uses:
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
        telling = _most_telling(inits)
        also_default = telling.kind is not SchemeKind.DEFAULT and DEFAULT_INIT in inits
        problems.setdefault(rule.code, Problem(rule, telling, use, also_default))
    return problems


def _most_telling(inits: frozenset[AppliedInit]) -> AppliedInit:
    """Prefer an explicit init call (with a line) over PyTorch's default in messages."""
    return sorted(inits, key=lambda s: (s.kind is SchemeKind.DEFAULT, s.line or 0, s.text))[0]


def _init_where(scheme: AppliedInit, facts: FileFacts, graph: Graph) -> str:
    """`` (line 8)``; `` (train.py, line 8)`` for an init that runs in another file."""
    if not scheme.line:
        return ""
    node = scheme.origin.node if isinstance(scheme.origin, ProgramFacts) else None
    home = graph.file_of.get(node) if node is not None else None
    if home is None or home.path == facts.path:
        return f" (line {scheme.line})"
    return f" ({_relative(home.path, facts.path)}, line {scheme.line})"


def _relative(path: str, start: str) -> str:
    """``path`` as seen from the file ``start`` is in (short, and still unambiguous)."""
    try:
        relative = os.path.relpath(path, os.path.dirname(start) or ".")
    except ValueError:  # another drive
        return path
    return relative if not relative.startswith(".." + os.sep + "..") else path


def _message(
    instance: InstanceFacts, problem: Problem, facts: FileFacts, graph: Graph, options: Options
) -> str:
    init_prefix = facts.init_prefix
    activation = problem.use.activation
    name = instance.name or f"{instance.kind} layer"
    target = (
        f"{instance.name}.weight"
        if instance.name and "..." not in instance.name and "<" not in instance.name
        else "<layer>.weight"
    )
    use = problem.use
    where = f"{_relative(use.path, facts.path)}, " if use.path is not None else ""
    place = f" ({where}line {use.line})" if use.line else ""  # 0: applied where no line is known
    feeds = f"'{name}' ({instance.kind}) feeds {activation.describe()}{place}"
    if problem.use.via_norm:
        feeds += " through a norm layer"
    scheme = problem.scheme
    # Keep what the author chose where it does not matter to the gain (distribution, mode);
    # otherwise the configured preferences.
    mode, distribution = fix_plans.preferences(scheme, options)
    statements = fix_plans.advice(
        activation,
        target,
        instance.geometry,
        init_prefix=init_prefix,
        mode=mode,
        distribution=distribution,
        quote=facts.quote,
    )
    advice = " then ".join(statements) if statements else None
    return problem.rule.message(
        feeds=feeds,
        init=scheme.describe(_init_where(scheme, facts, graph))
        + (", or keeps PyTorch's default init" if problem.also_default else ""),
        init_text=scheme.text,
        init_where=_init_where(scheme, facts, graph),
        gain=f"{scheme.gain:.3f}" if scheme.gain is not None else "a different gain",
        gain_approx=f"{scheme.gain:.3g}" if scheme.gain is not None else "unknown",
        required=f"{activation.gain or 0.0:.3f}",
        activation_name=activation.name,
        advice=advice,
        fan_problem=describe_fan_problem(instance.geometry),
    )
