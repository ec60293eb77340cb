"""Init calls and init programs (modules() loops, apply), simulated per layer."""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from ..knowledge import (
    NORM_LAYERS,
    InitScheme,
)
from . import initcalls
from .common import (
    _block,
    _call_name,
    _ends_with_bias,
    _handle_of,
    _number,
    _with_line,
)
from .imports import dotted_name, init_function
from .state import (
    Frame,
    FunctionInfo,
    LocalFinding,
    ProbeState,
    Program,
)
from .values import (
    SELF,
    UNKNOWN,
    UNKNOWN_INIT,
    UNTOUCHED,
    CallOrigin,
    ConstVal,
    FuncRef,
    GroupVal,
    Instance,
    ModulesIter,
    Outcome,
    ParamRef,
    ParamsIter,
    PartialVal,
    Probe,
    ProbeParam,
    ProgramOrigin,
    SubAttr,
    Value,
)


def arithmetic(operator: cst.BaseBinaryOp, left: float | None, right: float | None) -> float | None:
    """``left <operator> right`` for the operators :meth:`InitsMixin.numeric` folds."""
    if left is None or right is None:
        return None
    try:
        if isinstance(operator, cst.Add):
            return left + right
        if isinstance(operator, cst.Subtract):
            return left - right
        if isinstance(operator, cst.Multiply):
            return left * right
        if isinstance(operator, cst.Divide):
            return left / right
        if isinstance(operator, cst.Power):
            return float(left**right)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return None


class InitsMixin:
    """Part of :class:`~init_lint.analysis.interpreter.FileAnalyzer`; see there."""

    def numeric(self, node: cst.BaseExpression, frame: Frame) -> float | None:
        if isinstance(node, (cst.Integer, cst.Float)):
            return _number(node)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            inner = self.numeric(node.expression, frame)
            return -inner if inner is not None else None
        if isinstance(node, cst.Name):
            value = frame.env.get(node.value)
            return (
                float(value.value)
                if isinstance(value, ConstVal)
                and isinstance(value.value, (int, float))
                and not isinstance(value.value, bool)
                else None
            )
        if isinstance(node, cst.BinaryOperation):
            left, right = self.numeric(node.left, frame), self.numeric(node.right, frame)
            return arithmetic(node.operator, left, right)
        if isinstance(node, cst.Call):
            name = dotted_name(node.func) or ""
            if name.rsplit(".", 1)[-1] == "sqrt" and len(node.args) == 1:
                inner = self.numeric(node.args[0].value, frame)
                return inner**0.5 if inner is not None and inner >= 0 else None
            qualified = self.imports.resolve(node.func) or name
            if init_function(qualified) == "calculate_gain" or name.endswith("calculate_gain"):
                gain, problem = initcalls.calculate_gain_value(
                    node, lambda n: self.numeric(n, frame)
                )
                return gain
        return None

    def init_call(self, name: str, node: cst.Call, args: list[Value], frame: Frame) -> Value:
        canonical = initcalls.canonical_init_name(name)
        if name != canonical:
            rename = None
            if isinstance(node.func, cst.Attribute):
                rename = (node.func.attr, canonical)
            elif isinstance(node.func, cst.Name) and node.func.value == name:
                rename = None  # imported under its own name: renaming needs the import too
            self.report(
                node,
                "INI005",
                f"init.{name} is deprecated (FutureWarning); use init.{canonical}",
                rename,
            )
        if canonical == "calculate_gain":
            _gain, problem = initcalls.calculate_gain_value(node, lambda n: self.numeric(n, frame))
            if problem:
                self.report(node, "INI006", problem)
            return ConstVal(_gain) if _gain is not None else UNKNOWN
        params = initcalls.SIGNATURES.get(canonical)
        if params is None:
            return UNKNOWN
        bound = initcalls.bind(node.args, params)
        for where, message in initcalls.invalid_argument_messages(canonical, bound):
            self.report(where, "INI006", message)
        text = ""
        scheme = initcalls.scheme_for(canonical, bound, lambda n: self.numeric(n, frame), text)
        target = args[0] if args else UNKNOWN
        self.apply_init(target, scheme, canonical in initcalls.FAN_BASED, node, frame)
        return target

    def foreign_init_call(
        self, name: str, node: cst.Call, args: list[Value], frame: Frame
    ) -> Value:
        """An init helper from another library (timm's trunc_normal_, lecun_normal_...)."""
        canonical = name.rstrip("_") + "_"
        params = initcalls.SIGNATURES.get(canonical)
        if params is not None and canonical in (
            "normal_",
            "trunc_normal_",
            "uniform_",
            "zeros_",
            "ones_",
            "constant_",
        ):
            bound = initcalls.bind(node.args, params)
            scheme = initcalls.scheme_for(canonical, bound, lambda n: self.numeric(n, frame), "")
        else:
            scheme = InitScheme("other", text="")
        self.apply_init(args[0], scheme, False, node, frame)
        return args[0]

    def init_method(
        self, owner: ParamRef | ProbeParam, name: str, node: cst.Call, frame: Frame
    ) -> Value:
        """``w.data.normal_(0, 0.02)`` and friends."""
        params = initcalls.TENSOR_INIT_METHODS.get(name)
        if params is None:
            if name in ("copy_", "set_", "mul_", "div_", "add_", "clamp_"):
                self.apply_init(owner, UNKNOWN_INIT, False, node, frame)
            return UNKNOWN
        bound = initcalls.bind(node.args, params, skip=0)
        canonical = {"fill_": "constant_", "zero_": "zeros_"}.get(name, name)
        if "from" in bound or "to" in bound:
            bound = {"a": bound.get("from"), "b": bound.get("to")}  # type: ignore[dict-item]
            bound = {k: v for k, v in bound.items() if v is not None}
        scheme = initcalls.scheme_for(canonical, bound, lambda n: self.numeric(n, frame), "")
        self.apply_init(owner, scheme, False, node, frame)
        return owner

    def apply_init(
        self, target: Value, scheme: InitScheme, fan_based: bool, node: cst.Call, frame: Frame
    ) -> None:
        scheme = _with_line(scheme, node)
        if isinstance(target, ParamRef):
            if target.param == "bias":
                if fan_based:
                    self._report_one_d(node, f"{target.instance.name or target.instance.kind}.bias")
                return
            if frame.probe is None:
                origin = self._call_origins.get(id(node))
                if origin is None:
                    origin = CallOrigin(node, frame.statement)
                    self._call_origins[id(node)] = origin
                if target.instance not in origin.touched:
                    origin.touched.append(target.instance)
                scheme = replace(scheme, origin=origin)
            self.apply_scheme(target.instance, scheme, frame)
        elif isinstance(target, ProbeParam) and frame.probe is not None:
            if target.ndim is not None and target.ndim < 2:
                if fan_based and frame.cond_depth == 0:
                    frame.probe.bias_fan_calls.append(node)
                return
            if target.param == "weight":
                frame.probe.outcome = Outcome(frozenset({scheme}), False)
        elif isinstance(target, GroupVal):
            for item in target.items:
                self.apply_init(item, scheme, fan_based, node, frame)
        elif isinstance(target, SubAttr) and target.path.endswith(".weight"):
            path = target.path[: -len(".weight")]
            outcome = Outcome(frozenset({scheme}), False)
            target.node.events.append(
                ("path", (path, outcome.merge(UNTOUCHED) if frame.cond_depth else outcome))
            )
        elif fan_based and _ends_with_bias(node):
            self._report_one_d(node, "a bias")

    def _report_one_d(self, node: cst.Call, what: str) -> None:
        self.report(
            node,
            "INI004",
            f"{_call_name(node)} on {what}, a 1-D tensor: fan in/out need ≥ 2 dimensions, so this "
            "raises ValueError at run time; use init.zeros_ or init.constant_",
        )

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
            self.findings.append(LocalFinding(node, code, message, rename))

    # ------------------------------------------------------------------ init programs
    def register_apply(
        self, scope: ModulesIter, function: Value, node: cst.Call, frame: Frame
    ) -> None:
        """``x.apply(fn)``: fn's first parameter is each module (named_apply passes ``module=``)."""
        partial_kwargs: dict[str, Value] = {}
        while isinstance(function, PartialVal):
            partial_kwargs.update(function.kwargs)
            function = function.func
        if not isinstance(function, FuncRef):
            self.opaque_call(
                node,
                [SELF if scope.node is frame.owner and scope.instances is None else UNKNOWN],
                {},
                frame,
            )
            if scope.instances:
                self.mark_unknown(scope.instances)
            return
        info = function.info
        params = [
            p.name.value for p in [*info.node.params.posonly_params, *info.node.params.params]
        ]
        if function.bound_self and params:
            params = params[1:]
        if not params:
            return
        module_param = "module" if "module" in params else params[0]
        name_param = "name" if "name" in params else None
        env = {k: v for k, v in partial_kwargs.items()}
        for param in [
            *info.node.params.posonly_params,
            *info.node.params.params,
            *info.node.params.kwonly_params,
        ]:
            pname = param.name.value
            if pname not in (module_param, name_param) and pname not in env:
                if param.default is not None:
                    env[pname] = self.eval(
                        param.default, frame.child(env={}, attrs=None, self_info=None)
                    )
        program_frame = frame.child(env=env, stack=(*frame.stack, info.key), depth=frame.depth)
        if not function.bound_self:
            program_frame.attrs = None
            program_frame.self_info = None
        program = Program(
            _block(info.node.body),
            (name_param, module_param),
            program_frame,
            frame.cond_depth > 0,
        )
        receiver = (
            node.func.value
            if isinstance(node.func, cst.Attribute)
            else (node.args[1].value if len(node.args) > 1 else None)
        )
        handle = _handle_of(receiver) if receiver is not None else None
        program.origin = ProgramOrigin(frame.statement, handle, scope.node)
        self.register_program(scope, program, frame)

    def register_program(
        self, scope: ModulesIter | ParamsIter, program: Program, frame: Frame
    ) -> None:
        if isinstance(scope, ModulesIter) and scope.instances is not None:
            targets = list(scope.instances)
        else:
            targets = self.owned_instances(scope.node)
            scope.node.add_program(program)
        for instance in targets:
            outcome = self.simulate(program, instance.kind, instance.bases, instance)
            self.set_inits(instance, outcome.apply(instance.inits))
        self._check_one_d(program)

    def simulate(
        self, program: Program, kind: str, bases: tuple[str, ...], instance: Instance | None = None
    ) -> Outcome:
        if program.unknown:
            return Outcome(frozenset({UNKNOWN_INIT}), True)
        state = ProbeState()
        frame = program.frame.child(
            env=dict(program.frame.env),
            probe=state,
            cond_depth=0,
            depth=program.frame.depth,
        )
        name_target, module_target = program.targets
        if program.params:
            if module_target:
                frame.env[module_target] = ProbeParam("weight", 2)
            if name_target:
                frame.env[name_target] = ConstVal("weight")
        else:
            if module_target:
                frame.env[module_target] = Probe(kind, bases, instance)
            if name_target:
                frame.env[name_target] = UNKNOWN
        self.exec_block(program.body, frame)
        outcome = state.outcome
        if program.origin is not None and outcome.schemes:
            outcome = Outcome(
                frozenset(
                    s if s.kind == "unknown" else replace(s, origin=program.origin)
                    for s in outcome.schemes
                ),
                outcome.keeps_prior,
            )
        return outcome.merge(UNTOUCHED) if program.conditional else outcome

    def _check_one_d(self, program: Program) -> None:
        """INI004 inside a program: a fan-based init reaching a norm layer's weight or a bias."""
        if program.unknown:
            return
        probes: list[tuple[str, tuple[str, ...]]] = [
            (k, (k, "Module")) for k in sorted(NORM_LAYERS)
        ]
        for kind, bases in probes:
            state = ProbeState()
            frame = program.frame.child(
                env=dict(program.frame.env), probe=state, cond_depth=0, depth=program.frame.depth
            )
            name_target, module_target = program.targets
            if module_target:
                frame.env[module_target] = (
                    ProbeParam("bias", 1) if program.params else Probe(kind, bases)
                )
            if name_target:
                frame.env[name_target] = ConstVal("bias") if program.params else UNKNOWN
            self._journals.append({})
            self.exec_block(program.body, frame)
            for inst, old in self._journals.pop().items():
                inst.inits = old
            for call in state.bias_fan_calls:
                what = (
                    "a parameter with fewer than 2 dimensions (a bias)"
                    if program.params
                    else f"{kind}.weight"
                )
                self._report_one_d(call, what)
            if program.params:
                break

    def _simulate_reset(self, reset: FunctionInfo, instance: Instance) -> InitScheme:
        """A layer subclass overriding reset_parameters: run it with self as the probe."""
        state = ProbeState()
        frame = Frame(
            env={"self": Probe(instance.kind, instance.bases)}, owner=instance.owner, probe=state
        )
        params = [*reset.node.params.posonly_params, *reset.node.params.params]
        if params:
            frame.env[params[0].name.value] = Probe(instance.kind, instance.bases)
        self.exec_block(_block(reset.node.body), frame)
        schemes = state.outcome.apply(frozenset({UNKNOWN_INIT}))
        return next(iter(schemes)) if len(schemes) == 1 else UNKNOWN_INIT
