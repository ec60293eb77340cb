"""Follow one forward pass: what first consumes each Linear/Conv output, and the signal's scale.

Two observers work together. Module hooks see layers and activation/pass-through/norm *modules*
(and suppress function-level observation inside the latter three, so ``nn.ReLU`` is one event,
not two). A ``TorchFunctionMode`` sees every torch function and tensor method called outside
those modules: ``F.relu``, ``torch.tanh``, ``x.relu_()``, ``F.leaky_relu(x, 0.2)``, ``x.view(...)``.

Inside a Linear/Conv module the *weight op* (``F.linear``, ``F.conv2d``, ``F.conv_transpose2d``,
...) is the layer's output, not the module's return value: a ``Conv2d`` subclass whose forward
applies an activation it holds (``ConvAct(256, 256, 3, activation=nn.ReLU())``) is followed into
that activation. A module whose forward calls no weight op is observed at its boundary.

Only what a decision uses is measured: the output second moment of each rectifier (the signal
curve), and at each residual addition (same-shape ``a + b``) the operands' and the sum's.

A layer's output is a *flow*. The first torch operation that returns a tensor from it decides:
a pass-through op (dropout, pooling, view/reshape, flatten; norms with ``through_norm``) moves the
flow to its result, an activation ends it with a claim, anything else (add, cat, another layer,
a norm) ends it without one. Ops that return no tensor (``x.size(0)``, ``x.shape``) do not count.
Activation and pass-through names come from :mod:`init_lint.knowledge`, the shared tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..knowledge import (
    NORM_FUNCTIONS,
    NORM_LAYERS,
    PASS_THROUGH_FUNCTIONS,
    PASS_THROUGH_LAYERS,
    PASS_THROUGH_TENSOR_METHODS,
    RRELU_DEFAULT_BOUNDS,
    WEIGHT_LAYERS,
    Activation,
    Family,
    activation_from_function,
    activation_from_module,
)

PASS_THROUGH_NAMES = PASS_THROUGH_FUNCTIONS | PASS_THROUGH_TENSOR_METHODS

# Module kinds. Observation of functions is suppressed inside the "known leaf" kinds.
WEIGHT, ACTIVATION, PASS, NORM, LEAF, CONTAINER = (
    "weight",
    "activation",
    "pass",
    "norm",
    "leaf",
    "container",
)
SUPPRESSING = frozenset({ACTIVATION, PASS, NORM})
#: The functional ops Linear/Conv modules compute their output with.
WEIGHT_OPS = frozenset(
    {
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    }
)
#: Tensor additions; with two operands of one shape they are residual additions.
ADD_OPS = frozenset({"add", "add_", "__add__", "__iadd__", "__radd__"})


@dataclass
class Use:
    """One call of a Linear/Conv layer and what happened to its output."""

    module: nn.Module
    layer: str
    order: int
    input_size: tuple[int, ...] | None = None  # spatial size of the weight op's input
    consumer: str = "model output"
    activation: Activation | None = None
    through: tuple[str, ...] = ()
    via_norm: bool = False
    result: torch.Tensor | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ActivationCall:
    """A rectifier seen during the pass (for the signal-propagation curve)."""

    order: int
    activation: Activation
    output_moment: float | None
    layer: str | None  # the layer whose output it consumed, if any


@dataclass(frozen=True)
class ResidualAdd:
    """``a + b`` of two same-shape tensors: E[(a+b)²] over the larger operand's E[x²]."""

    order: int
    growth: float | None


@dataclass
class _Flow:
    use: Use
    tensor: torch.Tensor
    through: tuple[str, ...] = ()
    via_norm: bool = False


@dataclass
class _Frame:
    module: nn.Module
    kind: str
    activation: Activation | None = None
    claimed: list[Use] = field(default_factory=list)  # uses this call ended with a claim
    inner: list[Use] = field(default_factory=list)  # uses ended by functions inside a leaf
    flow: _Flow | None = None
    source: str | None = None
    uses_before: int = 0  # len(tracer.uses) when the call began (a WEIGHT module's fallback)
    op_seen: bool = False  # a WEIGHT module's weight op has run


def module_kind(module: nn.Module) -> tuple[str, Activation | None]:
    """Classify by the first torch.nn class name in the MRO that the shared tables know."""
    leaf = next(iter(module.children()), None) is None
    for cls in type(module).__mro__:
        name = cls.__name__
        if name in WEIGHT_LAYERS:
            return WEIGHT, None
        if leaf:
            activation = activation_from_module(name, module_slope(module, name))
            if activation is not None:
                return ACTIVATION, activation
            if name in PASS_THROUGH_LAYERS:
                return PASS, None
            if name in NORM_LAYERS:
                return NORM, None
        if cls is nn.Module:
            break
    return (LEAF if leaf else CONTAINER), None


def module_slope(module: nn.Module, name: str) -> float | None:
    if name == "LeakyReLU":
        return float(getattr(module, "negative_slope", 0.01))
    weight = getattr(module, "weight", None)
    if name == "PReLU" and isinstance(weight, torch.Tensor):
        return _mean(weight)
    if name == "RReLU":
        rrelu: Any = module
        return (float(rrelu.lower) + float(rrelu.upper)) / 2
    return None


def _mean(tensor: torch.Tensor) -> float | None:
    if nn.parameter.is_lazy(tensor) or tensor.numel() == 0:
        return None
    return float(tensor.detach().float().mean())


def function_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", "")
    if name == "__get__":  # a property such as x.mT or x.shape
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    return name


def function_slope(name: str, args: tuple, kwargs: Mapping[str, Any]) -> float | None:
    """The negative slope a functional rectifier was called with."""
    base = name.rstrip("_")

    def arg(position: int, keyword: str, default: Any) -> Any:
        if len(args) > position:
            return args[position]
        return kwargs.get(keyword, default)

    if base == "leaky_relu":
        return float(arg(1, "negative_slope", 0.01))
    if base == "rrelu":
        lower = float(arg(1, "lower", RRELU_DEFAULT_BOUNDS[0]))
        return (lower + float(arg(2, "upper", RRELU_DEFAULT_BOUNDS[1]))) / 2
    if base == "prelu":
        weight = arg(1, "weight", None)
        return _mean(weight) if isinstance(weight, torch.Tensor) else None
    return None


def _tensors(values: Iterable[Any]) -> list[torch.Tensor]:
    found = []
    for value in values:
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, torch.Tensor))
    return found


def _returns_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value)


class Tracer:
    """Records uses and activation calls during one forward pass (see the module docstring)."""

    def __init__(self, model: nn.Module, *, through_norm: bool = False) -> None:
        self.model = model
        self.through_norm = through_norm
        self.names: dict[int, str] = {}
        self.kinds: dict[int, tuple[str, Activation | None]] = {}
        for name, module in model.named_modules():
            self.names[id(module)] = name or "<model>"
            self.kinds[id(module)] = module_kind(module)
        self.uses: list[Use] = []
        self.activations: list[ActivationCall] = []
        self.residuals: list[ResidualAdd] = []
        self._flows: dict[int, _Flow] = {}
        self._stack: list[_Frame] = []
        self._suppress = 0
        self._internal = 0
        self._order = 0

    # -- running -----------------------------------------------------------------------------
    def run(self, args: tuple, kwargs: Mapping[str, Any]) -> Any:
        """One forward pass under no_grad with hooks and the function mode; removes both."""
        handles = []
        try:
            for module in self.model.modules():
                if self.kinds[id(module)][0] == CONTAINER:
                    continue
                handles.append(module.register_forward_pre_hook(self._pre_hook, with_kwargs=True))
                handles.append(module.register_forward_hook(self._post_hook, with_kwargs=True))
            with torch.no_grad(), _FunctionWatcher(self):
                return self.model(*args, **kwargs)
        finally:
            for handle in handles:
                handle.remove()
            self._flows.clear()
            self._stack.clear()
            for use in self.uses:
                use.result = None

    # -- helpers -----------------------------------------------------------------------------
    @property
    def observing(self) -> bool:
        """False inside known modules (their hooks speak for them) and during our own math."""
        return not (self._internal or self._suppress)

    def _tick(self) -> int:
        self._order += 1
        return self._order

    def moment(self, value: Any) -> float | None:
        """E[x²] of a float tensor: one float32 norm, redone in float64 only if it overflows."""
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            return None
        if value.numel() == 0 or value.device.type == "meta":
            return None
        self._internal += 1
        try:
            data = value.detach()
            low_precision = data.dtype in (torch.float16, torch.bfloat16)
            norm = float(
                torch.linalg.vector_norm(data, dtype=torch.float32 if low_precision else None)
            )
            if not math.isfinite(norm):
                norm = float(torch.linalg.vector_norm(data, dtype=torch.float64))
            return norm * norm / data.numel()
        finally:
            self._internal -= 1

    def _flow_of(self, tensor: torch.Tensor) -> _Flow | None:
        flow = self._flows.get(id(tensor))
        return flow if flow is not None and flow.tensor is tensor else None

    def _track(self, tensor: Any, flow: _Flow) -> None:
        if isinstance(tensor, torch.Tensor):
            flow.tensor = tensor
            self._flows[id(tensor)] = flow

    def _end(
        self, flow: _Flow, consumer: str, activation: Activation | None = None, result: Any = None
    ) -> Use:
        self._flows.pop(id(flow.tensor), None)
        use = flow.use
        use.consumer, use.activation = consumer, activation
        use.through, use.via_norm = flow.through, flow.via_norm
        if isinstance(result, torch.Tensor):
            use.result = result
        if self._stack and self._stack[-1].kind == LEAF:
            self._stack[-1].inner.append(use)
        return use

    def _moved(self, flow: _Flow, step: str, *, norm: bool = False) -> _Flow:
        self._flows.pop(id(flow.tensor), None)
        return _Flow(flow.use, flow.tensor, flow.through + (step,), flow.via_norm or norm)

    # -- module hooks ------------------------------------------------------------------------
    def _pre_hook(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        kind, activation = self.kinds[id(module)]
        frame = _Frame(module, kind, activation, uses_before=len(self.uses))
        if self._suppress == 0 and not self._internal:
            inputs = _tensors(args) + _tensors(kwargs.values())
            primary = inputs[0] if inputs else None
            class_name = type(module).__name__
            for tensor in inputs:
                flow = self._flow_of(tensor)
                if flow is None or kind == LEAF:
                    continue  # inside an unknown leaf module its functions decide
                if tensor is not primary or kind == WEIGHT:
                    self._end(flow, class_name)
                elif kind == ACTIVATION:
                    frame.claimed.append(self._end(flow, class_name, activation))
                elif kind == PASS or (kind == NORM and self.through_norm):
                    frame.flow = self._moved(flow, class_name, norm=kind == NORM)
                else:
                    self._end(flow, class_name)
            if kind == ACTIVATION and primary is not None:
                frame.source = frame.claimed[0].layer if frame.claimed else None
        if kind in SUPPRESSING:
            self._suppress += 1
        self._stack.append(frame)

    def _post_hook(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        while self._stack and self._stack[-1].module is not module:
            self._stack.pop()  # a frame whose module raised; keep the stack consistent
        if not self._stack:
            return
        frame = self._stack.pop()
        if frame.kind in SUPPRESSING:
            self._suppress -= 1
        if self._suppress or self._internal:
            return
        if frame.kind == WEIGHT:
            # No weight op seen inside (a forward of its own): the module's output stands in.
            if len(self.uses) == frame.uses_before and isinstance(output, torch.Tensor):
                self._new_use(module, output, None)
        elif frame.kind == ACTIVATION and frame.activation is not None:
            self._rectifier_call(frame.activation, output, frame.source)
        elif frame.flow is not None:
            self._track(output, frame.flow)
        elif frame.kind == LEAF:
            self._settle_leaf(frame, output)

    def _new_use(
        self, module: nn.Module, output: torch.Tensor, input_size: tuple[int, ...] | None
    ) -> None:
        use = Use(
            module, self.names.get(id(module), type(module).__name__), self._tick(), input_size
        )
        self.uses.append(use)
        self._track(output, _Flow(use, output))

    def _rectifier_call(self, activation: Activation, output: Any, source: str | None) -> None:
        if activation.family is Family.RECTIFIER:
            self.activations.append(
                ActivationCall(self._tick(), activation, self.moment(output), source)
            )

    def _weight_frame(self, name: str) -> _Frame | None:
        """The innermost module call, when it is a Linear/Conv whose weight op this is."""
        if name not in WEIGHT_OPS or not self._stack:
            return None
        frame = self._stack[-1]
        return frame if frame.kind == WEIGHT and not frame.op_seen else None

    def _settle_leaf(self, frame: _Frame, output: Any) -> None:
        """An unknown leaf module (a custom activation, say) is itself the consumer, unless it
        just wraps an activation whose result it returns (``return F.relu(x)``)."""
        class_name = type(frame.module).__name__
        for use in frame.inner:
            if use.activation is not None and use.result is output:
                continue
            use.consumer, use.activation = class_name, None

    # -- functions ---------------------------------------------------------------------------
    def before_function(self, func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        name = function_name(func)
        activation = activation_from_function(name, function_slope(name, args, kwargs))
        tensors = _tensors(args) + _tensors(kwargs.values())
        flows: list[tuple[torch.Tensor, _Flow]] = []
        for tensor in tensors:
            flow = self._flow_of(tensor)
            if flow is not None:
                flows.append((tensor, flow))
        weight_frame = self._weight_frame(name)
        # Measured before the call: an in-place addition overwrites its first operand.
        operands = self._residual_operands(name, tensors)
        if not flows and activation is None and weight_frame is None and operands is None:
            return None
        primary = args[0] if args and isinstance(args[0], torch.Tensor) else kwargs.get("input")
        return name, activation, flows, primary, weight_frame, operands

    def _residual_operands(self, name: str, tensors: list[torch.Tensor]) -> float | None:
        """The larger operand's E[x²] when this is a residual addition (else None)."""
        if name not in ADD_OPS or len(tensors) != 2:
            return None
        a, b = tensors
        if a.shape != b.shape or a.numel() < 2 or not a.is_floating_point():
            return None
        moments = [m for m in (self.moment(a), self.moment(b)) if m is not None]
        return max(moments) if moments else None

    def after_function(self, context: Any, result: Any) -> None:
        name, activation, flows, primary, weight_frame, operands = context
        if not _returns_tensor(result):
            return  # metadata (x.size(), x.shape, x.dim()): not a consumer
        if operands is not None:
            after = self.moment(result)
            growth = after / operands if after is not None and operands > 0 else None
            self.residuals.append(ResidualAdd(self._tick(), growth))
        source = None
        tracked: _Flow
        for tensor, tracked in flows:
            if self._flow_of(tensor) is not tracked:
                continue  # already ended by an earlier argument of this same call
            if tensor is not primary:
                self._end(tracked, name)
            elif activation is not None:
                self._end(tracked, name, activation, result)
                source = tracked.use.layer
            elif name in PASS_THROUGH_NAMES or (name in NORM_FUNCTIONS and self.through_norm):
                moved = self._moved(tracked, name, norm=name in NORM_FUNCTIONS)
                self._track(result, moved)
            else:
                self._end(tracked, name)
        if activation is not None:
            self._rectifier_call(activation, result, source)
        if weight_frame is not None and isinstance(result, torch.Tensor):
            weight_frame.op_seen = True
            size = (
                tuple(int(n) for n in primary.shape[2:])
                if isinstance(primary, torch.Tensor)
                else None
            )
            self._new_use(weight_frame.module, result, size)


class _FunctionWatcher(TorchFunctionMode):
    """Hands every torch function call made outside the tracer's own work to the tracer."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: tuple[type, ...],
        args: tuple = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        tracer = self.tracer
        if not tracer.observing:
            return func(*args, **kwargs)
        context = tracer.before_function(func, args, kwargs)
        result = func(*args, **kwargs)
        if context is not None:
            tracer.after_function(context, result)
        return result
