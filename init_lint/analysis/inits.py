"""Init calls and init programs (``modules()`` loops, ``apply``), simulated per layer kind.

An init call aimed at a known layer (``init.x_(self.fc.weight)``) sets that layer's state; one
aimed at a contained module's layer by path (``netG.main[0].weight``) becomes a path event of
that module's node. A *program* — the body of ``for m in self.modules():`` or the function given
to ``apply`` — runs on every module of its scope, so it is simulated once per layer kind with a
:class:`~.values.Probe` standing for ``m``; the resulting :class:`~.values.Outcome` is applied to
the node's own layers now, and to layers of contained classes when facts are resolved.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from ..knowledge import NORM_LAYERS, InitScheme, SchemeKind
from ..library import HelperArgs, InitHelper
from ..rules.ini004 import RULE as INI004
from ..rules.ini005 import RULE as INI005
from ..rules.ini006 import RULE as INI006
from . import initcalls
from .binder import bind_values, parameter_names
from .common import (
    block,
    bound_handle,
    call_name,
    ends_with_bias,
    handle_of,
    may_write_weights,
    target_names,
)
from .state import Frame, FunctionInfo, LocalFinding, ProbeState, Program
from .values import (
    SELF,
    UNKNOWN,
    UNKNOWN_INIT,
    UNTOUCHED,
    AppliedInit,
    CallOrigin,
    ConstVal,
    ForeignEvent,
    FuncRef,
    GroupVal,
    Instance,
    ModulesIter,
    Node,
    Outcome,
    ParamRef,
    ParamsIter,
    PartialVal,
    PathEvent,
    Probe,
    ProbeParam,
    ProgramOrigin,
    QualRef,
    SubAttr,
    Value,
)

if TYPE_CHECKING:
    from .host import Host

#: Foreign init helpers (timm's ``trunc_normal_``, ...) read like torch's of the same name.
_FOREIGN_LIKE_TORCH = frozenset(
    {"normal_", "trunc_normal_", "uniform_", "zeros_", "ones_", "constant_"}
)
#: Tensor methods that write a weight in a way that cannot be read (unless a factor, see scale).
_OPAQUE_WRITES = frozenset({"copy_", "set_", "mul_", "div_", "add_", "clamp_"})


class Inits:
    def __init__(self, host: Host) -> None:
        self.host = host
        self._call_origins: dict[int, CallOrigin] = {}
        #: ids of the init calls that are a tensor's method (``w.data.normal_(0, 0.02)``).
        self.method_calls: set[int] = set()
        self._reported: set[tuple[int, str]] = set()
        #: Program outcomes by (program, layer kind): facts are built twice (dry run, then real).
        self.simulations: dict[tuple[int, str], Outcome] = {}

    def reader(self, frame: Frame) -> initcalls.Reader:
        expressions = self.host.expressions
        return initcalls.Reader(
            lambda node: expressions.numeric(node, frame),
            lambda node: expressions.text(node, frame),
        )

    # ------------------------------------------------------------------ init calls
    def init_call(self, name: str, node: cst.Call, args: list[Value], frame: Frame) -> Value:
        """``torch.nn.init.<name>(...)``: its findings (INI004–INI006) and its effect."""
        canonical = initcalls.canonical_init_name(name)
        if name != canonical:
            # Renaming a name imported under its own spelling would need the import too.
            rename = (node.func.attr, canonical) if isinstance(node.func, cst.Attribute) else None
            self.report(node, INI005.code, INI005.message(name=name, canonical=canonical), rename)
        read = self.reader(frame)
        if canonical == "calculate_gain":
            gain, problem = initcalls.calculate_gain_value(node, read)
            if problem:
                self.report(node, INI006.code, problem)
            return ConstVal(gain) if gain is not None else UNKNOWN
        params = initcalls.SIGNATURES.get(canonical)
        if params is None:
            return UNKNOWN
        bound = initcalls.bind(node.args, params)
        for where, message in initcalls.invalid_argument_messages(canonical, bound):
            self.report(where, INI006.code, message)
        target = args[0] if args else UNKNOWN
        applied = initcalls.applied(canonical, bound, read)
        self.apply_init(target, applied, canonical in initcalls.FAN_BASED, node, frame)
        return target

    def foreign_init_call(
        self, name: str, node: cst.Call, args: list[Value], frame: Frame
    ) -> Value:
        """An init helper from another library (timm's trunc_normal_, lecun_normal_...)."""
        canonical = name.rstrip("_") + "_"
        params = initcalls.SIGNATURES.get(canonical)
        if params is not None and canonical in _FOREIGN_LIKE_TORCH:
            bound = initcalls.bind(node.args, params)
            applied = initcalls.applied(canonical, bound, self.reader(frame))
        else:
            applied = AppliedInit(InitScheme(SchemeKind.OTHER))
        self.apply_init(args[0], applied, False, node, frame)
        return args[0]

    def helper_call(self, helper: InitHelper, node: cst.Call, target: Value, frame: Frame) -> None:
        """A library's init helper (``c2_msra_fill(m)``, ``kaiming_init(m, mode=...)``)."""
        bound = initcalls.bind(node.args, helper.parameters)
        read = self.reader(frame)

        def number(name: str, default: float | None) -> float | None:
            return read.number(bound[name]) if name in bound else default

        def text(name: str, default: str | None) -> str | None:
            return read.text(bound[name]) if name in bound else default

        scheme = helper.scheme(HelperArgs(number, text))
        module = helper.target == "module"
        weight = self.host.expressions.member(target, "weight", frame) if module else target
        origin = self._call_origins.setdefault(id(node), CallOrigin(node, frame.insertion_point()))
        origin.rewritable = False  # its own signature: a fix goes after it, never into it
        self.apply_init(weight, AppliedInit(scheme), False, node, frame)

    def init_method(
        self, owner: ParamRef | ProbeParam | SubAttr, name: str, node: cst.Call, frame: Frame
    ) -> Value:
        """``w.data.normal_(0, 0.02)``, ``w.data.mul_(2)`` and friends."""
        params = initcalls.TENSOR_INIT_METHODS.get(name)
        if params is None:
            factor = self._factor(name, node, frame)
            if factor is not None:
                self.scale_init(owner, factor, frame)
            elif name in _OPAQUE_WRITES:
                self.apply_init(owner, UNKNOWN_INIT, False, node, frame)
            return UNKNOWN
        bound = initcalls.bind(node.args, params, skip=0)
        canonical = {"fill_": "constant_", "zero_": "zeros_"}.get(name, name)
        if "from" in bound or "to" in bound:
            bound = {new: bound[old] for old, new in (("from", "a"), ("to", "b")) if old in bound}
        applied = initcalls.applied(canonical, bound, self.reader(frame))
        self.method_calls.add(id(node))  # a rewrite replaces it with init's function
        self.apply_init(owner, applied, False, node, frame)
        return owner

    def _factor(self, name: str, node: cst.Call, frame: Frame) -> float | None:
        """``mul_(2)`` → 2.0, ``div_(4)`` → 0.25; None for other methods or unknown factors."""
        if name not in ("mul_", "div_") or len(node.args) != 1 or node.args[0].keyword:
            return None
        value = self.host.expressions.numeric(node.args[0].value, frame)
        if value is None or value == 0:
            return None
        return value if name == "mul_" else 1.0 / value

    def scale_init(self, target: Value, factor: float, frame: Frame) -> None:
        """``w.data.mul_(factor)`` after an init: the same scheme, ``factor`` times the std."""
        if isinstance(target, ParamRef) and target.param == "weight":
            scaled = frozenset(a.scaled(factor) for a in target.instance.inits)
            if target.partial:
                scaled |= target.instance.inits
            self.host.set_inits(target.instance, scaled)
        elif isinstance(target, ProbeParam) and target.param == "weight" and frame.probe:
            frame.probe.outcome = frame.probe.outcome.scaled(factor)
        elif isinstance(target, SubAttr) and target.path.endswith(".weight"):
            self._path_event(target, Outcome(frozenset(), True, factor), frame)
        elif isinstance(target, GroupVal):  # a loop over known layers
            for item in target.items:
                self.scale_init(item, factor, frame)

    def apply_init(
        self, target: Value, applied: AppliedInit, fan_based: bool, node: cst.Call, frame: Frame
    ) -> None:
        """An init call's effect on what it targets ("last init wins")."""
        applied = replace(applied, site=node)  # its line is read later, only if reported
        if isinstance(target, ParamRef):
            self._init_param(target, applied, fan_based, node, frame)
        elif isinstance(target, ProbeParam) and frame.probe is not None:
            if target.ndim is not None and target.ndim < 2:
                if fan_based and frame.cond_depth == 0:
                    frame.probe.bias_fan_calls.append(node)
            elif target.param == "weight":
                frame.probe.outcome = Outcome(frozenset({applied}), False)
        elif isinstance(target, GroupVal):
            for item in target.items:
                self.apply_init(item, applied, fan_based, node, frame)
        elif isinstance(target, SubAttr) and target.path.endswith(".weight"):
            self._path_event(target, Outcome(frozenset({applied}), False), frame)
        elif fan_based and ends_with_bias(node):
            self._report_one_d(node, "a bias")

    def _init_param(
        self, target: ParamRef, applied: AppliedInit, fan_based: bool, node: cst.Call, frame: Frame
    ) -> None:
        instance = target.instance
        if target.param == "bias":
            if fan_based:
                self._report_one_d(node, f"{instance.name or instance.kind}.bias")
            return
        if frame.probe is None:  # a call aimed at known layers: the autofix may rewrite it
            origin = self._call_origins.setdefault(
                id(node),
                CallOrigin(node, frame.insertion_point(), method=id(node) in self.method_calls),
            )
            if instance not in origin.touched:
                origin.touched.append(instance)
            if target.partial:
                origin.rewritable = False  # the other layers it stands for keep their init
            applied = replace(applied, origin=origin)
        if target.partial:  # only some of the layers the instance stands for get it
            self.host.set_inits(instance, instance.inits | {applied})
            return
        self.host.set_inits(instance, frozenset({applied}))

    def _path_event(self, target: SubAttr, outcome: Outcome, frame: Frame) -> None:
        path = target.path[: -len(".weight")]
        conditional = outcome.merge(UNTOUCHED) if _conditional(frame, target.node) else outcome
        target.node.events.append(PathEvent(path, conditional))

    def _report_one_d(self, node: cst.Call, what: str) -> None:
        self.report(node, INI004.code, INI004.message(function=call_name(node), what=what))

    def report(
        self,
        node: cst.CSTNode,
        code: str,
        message: str,
        rename: tuple[cst.CSTNode, str] | None = None,
    ) -> None:
        key = (id(node), code)
        if key not in self._reported:
            self._reported.add(key)
            self.host.findings.append(LocalFinding(node, code, message, rename))

    # ------------------------------------------------------------------ init programs
    def register_loop(self, scope: ModulesIter | ParamsIter, loop: cst.For, frame: Frame) -> None:
        """``for m in self.modules(): ...`` (or ``named_modules``/``parameters``)."""
        names = target_names(loop.target)
        named = scope.named and len(names) == 2
        targets = (names[0], names[1]) if named else (None, names[0] if names else None)
        program = Program(
            block(loop.body),
            targets,
            frame,
            _conditional(frame, scope.node),
            isinstance(scope, ParamsIter),
        )
        program.origin = ProgramOrigin(*frame.spelling(loop, handle_of(loop.iter)), scope.node)
        self.register_program(scope, program)

    def register_apply(
        self, scope: ModulesIter, function: Value, node: cst.Call, frame: Frame
    ) -> None:
        """``x.apply(fn)``: fn's first parameter is each module (named_apply passes ``module=``)."""
        partial_kwargs: dict[str, Value] = {}
        while isinstance(function, PartialVal):
            partial_kwargs.update(function.kwargs)
            function = function.func
        if isinstance(function, QualRef) and scope.instances is None and not partial_kwargs:
            # net.apply(weights_init) with weights_init from another file: its facts decide.
            may_write = may_write_weights(function.qualified)
            receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
            handle = handle_of(receiver) if receiver is not None else None
            handle = handle or bound_handle(node, frame.statement)
            scope.node.events.append(
                ForeignEvent(function.qualified, "apply", may_write, frame.statement, handle)
            )
            return
        if not isinstance(function, FuncRef):
            whole = scope.node is frame.owner and scope.instances is None
            self.host.calls.opaque_call(node, [SELF if whole else UNKNOWN], {}, frame)
            if scope.instances:
                self.host.mark_unknown(scope.instances)
            return
        info = function.info
        names = parameter_names(info.node.params, skip_first=function.bound_self)
        if not names:
            return
        module_param = "module" if "module" in names else names[0]
        name_param = "name" if "name" in names else None
        env = bind_values(
            info.node.params,
            [],
            partial_kwargs,
            skip_first=function.bound_self,
            default=lambda param: self.host.calls.default_value(param, frame),
        )
        if info.closure is not None:  # a nested init_func reading its maker's init_gain
            env = {**info.closure, **env}
        program_frame = frame.child(env=env, stack=(*frame.stack, info.key), depth=frame.depth)
        if not function.bound_self:
            program_frame = replace(program_frame, attrs=None, self_info=None)
        targets = (name_param, module_param)
        program = Program(
            block(info.node.body), targets, program_frame, _conditional(frame, scope.node)
        )
        receiver = (
            node.func.value
            if isinstance(node.func, cst.Attribute)
            else (node.args[1].value if len(node.args) > 1 else None)
        )
        handle = handle_of(receiver) if receiver is not None else None
        handle = handle or bound_handle(node, frame.statement)
        program.origin = ProgramOrigin(*frame.spelling(frame.statement, handle), scope.node)
        self.register_program(scope, program)

    def register_program(self, scope: ModulesIter | ParamsIter, program: Program) -> None:
        """Apply a program to the layers in scope now; keep it on the node for contained ones."""
        if isinstance(scope, ModulesIter) and scope.instances is not None:
            targets = list(scope.instances)
            for node in scope.nodes:  # contained modules: their layers, when resolved
                node.add_program(program)
        else:
            targets = self.host.owned_instances(scope.node)
            scope.node.add_program(program)
        for instance in targets:
            outcome = self.simulate(program, instance.kind, instance.bases, instance)
            self.host.set_inits(instance, outcome.apply(instance.inits))
        self._check_one_d(program)

    def simulate(
        self, program: Program, kind: str, bases: tuple[str, ...], instance: Instance | None = None
    ) -> Outcome:
        """What ``program`` does to the weight of a module of ``kind`` (or that instance)."""
        if program.unknown:
            return Outcome(frozenset({UNKNOWN_INIT}), True)
        state = ProbeState()
        if program.params:
            probe: Value = ProbeParam("weight", 2)
            name: Value = ConstVal("weight")
        else:
            probe, name = Probe(kind, bases, instance), UNKNOWN
        self.host.exec_block(program.body, _probe_frame(program, state, probe, name))
        outcome = state.outcome
        if program.origin is not None and outcome.schemes:
            schemes = frozenset(
                s if s.kind is SchemeKind.UNKNOWN else replace(s, origin=self._origin(program, s))
                for s in outcome.schemes
            )
            outcome = replace(outcome, schemes=schemes)
        return outcome.merge(UNTOUCHED) if program.conditional else outcome

    def _origin(self, program: Program, applied: AppliedInit) -> ProgramOrigin | None:
        """The program's origin, with the init call that set ``applied`` when a fix may rewrite
        it (a torch-shaped call, not a library helper of its own signature)."""
        origin = program.origin
        call = applied.site if isinstance(applied.site, cst.Call) else None
        helper = self._call_origins.get(id(call)) if call is not None else None
        if origin is None or call is None or (helper is not None and not helper.rewritable):
            return origin
        method = id(call) in self.method_calls
        return ProgramOrigin(origin.statement, origin.handle, origin.node, call, method)

    def simulated(self, program: Program, kind: str, bases: tuple[str, ...]) -> Outcome:
        """:meth:`simulate` for a layer kind, memoised (facts ask for every kind twice)."""
        key = (id(program), kind)
        if key not in self.simulations:
            self.simulations[key] = self.simulate(program, kind, bases)
        return self.simulations[key]

    def _check_one_d(self, program: Program) -> None:
        """INI004 inside a program: a fan-based init reaching a norm layer's weight or a bias."""
        if program.unknown:
            return
        kinds = ["bias"] if program.params else sorted(NORM_LAYERS)
        for kind in kinds:
            state = ProbeState()
            if program.params:
                probe: Value = ProbeParam("bias", 1)
                name: Value = ConstVal("bias")
            else:
                probe, name = Probe(kind, (kind, "Module")), UNKNOWN
            self.host.run_undone(program.body, _probe_frame(program, state, probe, name))
            what = (
                "a parameter with fewer than 2 dimensions (a bias)"
                if program.params
                else f"{kind}.weight"
            )
            for call in state.bias_fan_calls:
                self._report_one_d(call, what)

    def simulate_reset(self, reset: FunctionInfo, instance: Instance) -> AppliedInit:
        """A layer subclass overriding reset_parameters: run it with self as the probe."""
        state = ProbeState()
        probe = Probe(instance.kind, instance.bases)
        frame = Frame(env={"self": probe}, owner=instance.owner, probe=state)
        names = parameter_names(reset.node.params)
        if names:
            frame.env[names[0]] = probe
        self.host.exec_block(block(reset.node.body), frame)
        schemes = state.outcome.apply(frozenset({UNKNOWN_INIT}))
        return next(iter(schemes)) if len(schemes) == 1 else UNKNOWN_INIT


def _probe_frame(program: Program, state: ProbeState, probe: Value, name: Value) -> Frame:
    """The frame a program's body runs in, with its loop variables bound to the probe."""
    frame = program.frame.child(
        env=dict(program.frame.env), probe=state, cond_depth=0, depth=program.frame.depth
    )
    name_target, module_target = program.targets
    if module_target:
        frame.env[module_target] = probe
    if name_target:
        frame.env[name_target] = name
    return frame


def _conditional(frame: Frame, node: Node) -> bool:
    """Whether code running in ``frame`` may not run for ``node``: it is in a branch whose
    truth is unknown, which is not one of those the node was built in."""
    depth = len(frame.branches)
    return frame.cond_depth > 0 and node.branches[:depth] != frame.branches
