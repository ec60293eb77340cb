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

Cost. The mode sees every torch call made during the pass, so it decides what a call is once per
function (:class:`_FunctionInfo`) and returns at once for the calls that cannot matter: any call
that is not an activation, a weight op or an addition while no layer output is being followed.
Only the rest builds argument lists. Where no call can matter it is taken off the stack
altogether (a Python functional would otherwise reach it through ``handle_torch_function``):
inside activation/pass-through/norm modules, and inside torch's own Linear/Conv forwards, which
are observed at their boundary (their output is their one weight op's), and inside *norm shells*
(a norm class holding its activation, like timm's BatchNormAct2d, when norms are not looked
through: a layer's output ends at their edge). Modules whose calls cannot matter are not
observed at all: torch's own ``nn.Identity`` (it returns its input), and inside a norm shell
anything but a rectifier.

A layer's output is a *flow*. The first torch operation that returns a tensor from it decides:
a pass-through op (dropout, pooling, view/reshape, flatten; norms with ``through_norm``) moves the
flow to its result, an activation ends it with a claim, anything else (add, cat, another layer,
a norm) ends it without one. Ops that return no tensor (``x.size(0)``, ``x.shape``) do not count.
Activation and pass-through names come from :mod:`init_lint.knowledge`, the shared tables.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
WEIGHT, ACTIVATION, PASS, NORM, LEAF, CONTAINER, NORM_SHELL = (
    "weight",
    "activation",
    "pass",
    "norm",
    "leaf",
    "container",
    "norm shell",  # a norm class with submodules (timm's BatchNormAct2d): see Tracer.__init__
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
#: What :meth:`Tracer.prepare` finds for a call that is no event.
_NOTHING: tuple[Activation | None, Any, float | None] = (None, None, None)
_SCRIPT_MODULE = torch.jit.ScriptModule
# The function mode stack (torch.overrides' _push_mode/_pop_mode, without their Python layer).
_mode_depth = torch._C._len_torch_function_stack
_mode_at = torch._C._get_function_stack_at
_pop_mode = torch._C._pop_torch_function_stack
_push_mode = torch._C._push_on_torch_function_stack
_UNSET = object()  # a module without a `forward` of its own (the class's is used)
#: Functional rectifiers whose slope is an argument of the call (see function_slope).
SLOPED_FUNCTIONS = frozenset({"leaky_relu", "rrelu", "prelu"})

# What the function mode does with a call of a function (decided once per function).
OTHER, ACTIVATION_OP, WEIGHT_OP, ADD_OP = range(4)


class _FunctionInfo(NamedTuple):
    """A torch function's name and role; ``activation`` is set when no argument changes it."""

    name: str
    role: int
    activation: Activation | None = None


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


class _Flow:
    """A layer's output being followed: the tensor that carries it and the ops looked through."""

    __slots__ = ("through", "tensor", "use", "via_norm")

    def __init__(
        self, use: Use, tensor: torch.Tensor, through: tuple[str, ...] = (), via_norm: bool = False
    ) -> None:
        self.use, self.tensor, self.through, self.via_norm = use, tensor, through, via_norm


class _Frame:
    """One module call in progress (one per hooked module call: plain slots, lists on demand)."""

    __slots__ = (
        "activation",
        "claimed",
        "flow",
        "inner",
        "input_size",
        "kind",
        "module",
        "op_seen",
        "source",
        "uses_before",
    )

    def __init__(
        self, module: nn.Module, kind: str, activation: Activation | None, uses_before: int
    ) -> None:
        self.module, self.kind, self.activation = module, kind, activation
        self.claimed: list[Use] = []  # uses this call ended with a claim
        self.inner: list[Use] | None = None  # uses ended by functions inside a leaf
        self.flow: _Flow | None = None
        self.source: str | None = None
        self.uses_before = uses_before  # len(tracer.uses) when the call began (WEIGHT fallback)
        self.op_seen = False  # a WEIGHT module's weight op has run
        self.input_size: tuple[int, ...] | None = None  # of a WEIGHT call observed at its edge


def module_kind(module: nn.Module) -> tuple[str, Activation | None]:
    """Classify by the first torch.nn class name in the MRO that the shared tables know."""
    children = module._modules
    leaf = not children or all(child is None for child in children.values())  # children()
    key = (type(module), leaf)
    if key not in _CLASS_KINDS:
        _CLASS_KINDS[key] = _class_kind(*key)
    kind, name = _CLASS_KINDS[key]
    if kind == ACTIVATION:
        return kind, _module_activation(name, module_slope(module, name))
    return kind, None


@functools.lru_cache(maxsize=1024)  # slopes are floats (a PReLU's mean weight): bounded
def _module_activation(name: str, slope: float | None) -> Activation | None:
    """activation_from_module, one (frozen) Activation per class and slope, not per module."""
    return activation_from_module(name, slope)


#: (module class, is a leaf) → what _class_kind says: the MRO is walked once per class.
_CLASS_KINDS: dict[tuple[type, bool], tuple[str, str]] = {}


def _class_kind(cls: type, leaf: bool) -> tuple[str, str]:
    """The kind a module class has, and the torch.nn class name that decided it."""
    for klass in cls.__mro__:
        name = klass.__name__
        if name in WEIGHT_LAYERS:
            return WEIGHT, name
        if leaf:
            if activation_from_module(name) is not None:
                return ACTIVATION, name
            if name in PASS_THROUGH_LAYERS:
                return PASS, name
            if name in NORM_LAYERS:
                return NORM, name
        if klass is nn.Module:
            break
    return (LEAF if leaf else CONTAINER), cls.__name__


def named_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``list(model.named_modules())`` (pre-order, each module once, under its first name)
    without a generator per module: the one walk of the tree a verify makes."""
    found: list[tuple[str, nn.Module]] = []
    seen: set[int] = set()
    stack: list[tuple[str, nn.Module]] = [("", model)]
    while stack:
        prefix, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        found.append((prefix, module))
        children = [
            (f"{prefix}.{name}" if prefix else name, child)
            for name, child in module._modules.items()
            if child is not None
        ]
        stack.extend(reversed(children))
    return found


def _descendants(module: nn.Module) -> list[nn.Module]:
    """Every module below ``module`` (not itself)."""
    found: list[nn.Module] = []
    stack = [child for child in module._modules.values() if child is not None]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(child for child in current._modules.values() if child is not None)
    return found


def _is_rectifier(kind: tuple[str, Activation | None]) -> bool:
    return kind[1] is not None and kind[1].family is Family.RECTIFIER


def _plain_identity(module: nn.Module) -> bool:
    """torch's own ``nn.Identity`` without hooks: it returns the tensor it is given, so a flow
    on that tensor goes on untouched and the call needs no observing (timm builds one per unused
    option of every block: a hundred in a MobileNetV3)."""
    return (
        type(module) is nn.Identity
        and not module._forward_hooks
        and not module._forward_pre_hooks
        and "forward" not in module.__dict__
    )


_NORM_CLASSES: dict[type, bool] = {}


def _norm_class(cls: type) -> bool:
    """Whether a torch.nn norm class is among ``cls``'s bases (or is ``cls``)."""
    if cls not in _NORM_CLASSES:
        _NORM_CLASSES[cls] = any(klass.__name__ in NORM_LAYERS for klass in cls.__mro__)
    return _NORM_CLASSES[cls]


def module_slope(module: nn.Module, name: str) -> float | None:
    if name == "LeakyReLU":
        return float(getattr(module, "negative_slope", 0.01))
    if name == "PReLU":  # only then: a missing attribute costs nn.Module.__getattr__'s raise
        weight = getattr(module, "weight", None)
        return _mean(weight) if isinstance(weight, torch.Tensor) else None
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


def function_info(func: Callable[..., Any]) -> _FunctionInfo:
    """What a torch function is to the tracer (its arguments aside)."""
    name = function_name(func)
    if name.rstrip("_") in SLOPED_FUNCTIONS:
        return _FunctionInfo(name, ACTIVATION_OP)  # the activation depends on the call's slope
    activation = activation_from_function(name)
    if activation is not None:
        return _FunctionInfo(name, ACTIVATION_OP, activation)
    if name in WEIGHT_OPS:
        return _FunctionInfo(name, WEIGHT_OP)
    if name in ADD_OPS:
        return _FunctionInfo(name, ADD_OP)
    return _FunctionInfo(name, OTHER)


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


def mean_square(data: torch.Tensor) -> float:
    """E[x²]: a float32 (or float64) dot product of a contiguous tensor with itself (BLAS, twice
    as fast as a norm and closer to the exact value), a norm otherwise; in float64 only if the
    float32 sum of squares overflows."""
    if data.dtype in (torch.float32, torch.float64) and data.is_contiguous():
        flat = data.view(-1)
        total = float(torch.dot(flat, flat))
    else:
        low_precision = data.dtype in (torch.float16, torch.bfloat16)
        total = float(
            torch.linalg.vector_norm(data, dtype=torch.float32 if low_precision else None)
        )
        total *= total
    if not math.isfinite(total):
        total = float(torch.linalg.vector_norm(data, dtype=torch.float64)) ** 2
    return total / data.numel()


#: torch's Linear/Conv classes, by the forward (and _conv_forward) they compute with.
_TORCH_WEIGHT_CLASSES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
_TORCH_FORWARD: dict[type, bool] = {}


def torch_weight_forward(module: nn.Module) -> bool:
    """Whether ``module`` runs torch's own Linear/Conv forward (not a subclass's, not one set
    on the instance), which returns the weight op's output on the module's input: with
    ``padding_mode='zeros'`` (else the op's input is a padded copy)."""
    cls = type(module)
    if cls not in _TORCH_FORWARD:
        base = next((b for b in _TORCH_WEIGHT_CLASSES if issubclass(cls, b)), None)
        _TORCH_FORWARD[cls] = base is not None and all(
            getattr(cls, name, None) is getattr(base, name, None)
            for name in ("forward", "_conv_forward")
        )
    return (
        _TORCH_FORWARD[cls]
        and "forward" not in module.__dict__
        and getattr(module, "padding_mode", "zeros") == "zeros"
    )


def spatial_size(args: tuple, kwargs: Mapping[str, Any]) -> tuple[int, ...] | None:
    """The spatial size of a call's input (its first tensor argument, or ``input=``)."""
    primary = args[0] if args and isinstance(args[0], torch.Tensor) else kwargs.get("input")
    return tuple(primary.shape[2:]) if isinstance(primary, torch.Tensor) else None


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
        #: Every module once, with its qualified name: the one walk of the tree a verify makes.
        self.modules: list[tuple[str, nn.Module]] = named_modules(model)
        self.names: dict[int, str] = {}
        self.kinds: dict[int, tuple[str, Activation | None]] = {}
        for name, module in self.modules:
            self.names[id(module)] = name or "<model>"
            self.kinds[id(module)] = module_kind(module)
        self._unobserved: set[int] = set()  # modules whose calls cannot matter (see below)
        if not through_norm:
            self._find_norm_shells()
        self.uses: list[Use] = []
        self.activations: list[ActivationCall] = []
        self.residuals: list[ResidualAdd] = []
        self._flows: dict[int, _Flow] = {}
        self._stack: list[_Frame] = []
        self._functions: dict[Any, _FunctionInfo] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._wrapped: list[tuple[nn.Module, Any]] = []  # (module, its own `forward` or _UNSET)
        self._suppress = 0
        self._order = 0
        self._watcher: _FunctionWatcher | None = None

    def _find_norm_shells(self) -> None:
        """A norm class holding submodules but no Linear/Conv (timm's BatchNormAct2d: the norm,
        then its activation module) is where a layer's output ends when norms are not looked
        through: such a module is observed at its boundary, like a norm, and the function mode
        steps aside inside it (its ``F.batch_norm`` would reach the mode as a Python call);
        its activation submodule is still observed, for the signal curve."""
        for _, module in self.modules:
            if self.kinds[id(module)][0] != CONTAINER or not _norm_class(type(module)):
                continue
            inside = _descendants(module)
            if all(self.kinds[id(sub)][0] != WEIGHT for sub in inside):
                self.kinds[id(module)] = (NORM_SHELL, None)
                # No layer output gets past the shell's edge: inside, only a rectifier's
                # output (the signal curve) is worth observing.
                self._unobserved.update(
                    id(sub) for sub in inside if not _is_rectifier(self.kinds[id(sub)])
                )

    # -- running -----------------------------------------------------------------------------
    def run(self, args: tuple, kwargs: Mapping[str, Any]) -> Any:
        """One forward pass under no_grad, every module but containers observed (see
        :meth:`_observe`) and the function mode on; all of it undone afterwards."""
        try:
            for _, module in self.modules:
                if (
                    self.kinds[id(module)][0] != CONTAINER
                    and id(module) not in self._unobserved
                    and not _plain_identity(module)
                ):
                    self._observe(module)
            self._watcher = _FunctionWatcher(self)
            with torch.no_grad(), self._watcher:
                return self.model(*args, **kwargs)
        finally:
            self._watcher = None
            self._unobserve()
            self._flows.clear()
            self._stack.clear()
            for use in self.uses:
                use.result = None

    def _observe(self, module: nn.Module) -> None:
        """See each call of ``module``: a wrapper of its ``forward`` stored on the instance (a
        Python call, where forward hooks send every call through ``nn.Module``'s slow path), or
        hooks where a wrapper would see another output than the module's callers: a module
        with forward hooks of its own (they may replace the output), global hooks, TorchScript.
        """
        if (
            module._forward_hooks
            or nn.modules.module._global_forward_hooks
            or isinstance(module, _SCRIPT_MODULE)
        ):
            self._handles.append(module.register_forward_pre_hook(self._pre_hook, with_kwargs=True))
            self._handles.append(module.register_forward_hook(self._post_hook))
            return
        forward = module.forward
        enter, leave, abandon, step_aside = (
            self._enter,
            self._leave,
            self._abandon,
            self._step_aside,
        )
        kind, activation = self.kinds[id(module)]
        # torch's own Linear/Conv forward computes its output with one weight op on its input:
        # the call is observed at its boundary, the mode need not see the op.
        plain = kind == WEIGHT and torch_weight_forward(module)
        unwatched = kind in SUPPRESSING or kind == NORM_SHELL or plain

        def traced_forward(*args: Any, **kwargs: Any) -> Any:
            frame = enter(module, kind, activation, args, kwargs)
            watcher = step_aside() if unwatched else None
            try:
                output = forward(*args, **kwargs)
                if plain:  # before the mode is back: it would receive the `.shape` read
                    frame.input_size = spatial_size(args, kwargs)
            except BaseException:
                abandon(frame)
                raise
            finally:
                if watcher is not None:
                    _push_mode(watcher)
            leave(frame, output)
            return output

        traced_forward.__wrapped__ = forward  # type: ignore[attr-defined]  # for inspect.signature
        self._wrapped.append((module, module.__dict__.get("forward", _UNSET)))
        module.__dict__["forward"] = traced_forward

    def _step_aside(self) -> _FunctionWatcher | None:
        """Take the function mode off the stack (for the caller to push back), where nothing a
        module calls can matter: the tracer ignores every call inside an activation/pass-through/
        norm module, but the mode would still receive each, and a Python functional
        (``F.batch_norm``, ``F.hardtanh``) goes through ``handle_torch_function`` to get there,
        ~10 µs a call, more than many of the ops cost. None when the mode is not on top (nested
        in such a module already, or another mode pushed above it)."""
        depth = _mode_depth()
        if depth and _mode_at(depth - 1) is self._watcher:
            watcher: _FunctionWatcher = _pop_mode()
            return watcher
        return None

    def _unobserve(self) -> None:
        for handle in self._handles:
            handle.remove()
        for module, previous in self._wrapped:
            if previous is _UNSET:
                module.__dict__.pop("forward", None)
            else:
                module.__dict__["forward"] = previous
        self._handles.clear()
        self._wrapped.clear()

    # -- helpers -----------------------------------------------------------------------------
    def _tick(self) -> int:
        self._order += 1
        return self._order

    @staticmethod
    def moment(value: Any) -> float | None:
        """E[x²] of a float tensor (see :func:`mean_square`). Our own torch calls bypass torch
        function dispatch: inside a module's forward each would reach the mode, a Python call."""
        if not isinstance(value, torch.Tensor):
            return None
        with torch._C.DisableTorchFunction():
            if not value.is_floating_point() or value.numel() == 0 or value.is_meta:
                return None
            return mean_square(value.detach())

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
            frame = self._stack[-1]
            if frame.inner is None:
                frame.inner = []
            frame.inner.append(use)
        return use

    def _moved(self, flow: _Flow, step: str, *, norm: bool = False) -> _Flow:
        self._flows.pop(id(flow.tensor), None)
        return _Flow(flow.use, flow.tensor, flow.through + (step,), flow.via_norm or norm)

    # -- module calls ------------------------------------------------------------------------
    def _enter(
        self,
        module: nn.Module,
        kind: str,
        activation: Activation | None,
        args: tuple,
        kwargs: dict,
    ) -> _Frame:
        frame = _Frame(module, kind, activation, len(self.uses))
        if self._flows and not self._suppress:
            self._module_inputs(frame, args, kwargs)
        if kind in SUPPRESSING:
            self._suppress += 1
        self._stack.append(frame)
        return frame

    def _module_inputs(self, frame: _Frame, args: tuple, kwargs: dict) -> None:
        """End or move the flows a module call receives (only called while flows are live)."""
        kind = frame.kind
        inputs = _tensors(args) + _tensors(kwargs.values())
        primary = inputs[0] if inputs else None
        class_name = type(frame.module).__name__
        for tensor in inputs:
            flow = self._flow_of(tensor)
            if flow is None or kind == LEAF:
                continue  # inside an unknown leaf module its functions decide
            if tensor is not primary or kind == WEIGHT:
                self._end(flow, class_name)
            elif kind == ACTIVATION:
                frame.claimed.append(self._end(flow, class_name, frame.activation))
            elif kind == PASS or (kind == NORM and self.through_norm):
                frame.flow = self._moved(flow, class_name, norm=kind == NORM)
            else:
                self._end(flow, class_name)
        if kind == ACTIVATION and primary is not None and frame.claimed:
            frame.source = frame.claimed[0].layer

    def _abandon(self, frame: _Frame) -> bool:
        """Take ``frame`` and the frames above it (calls that raised) off the stack."""
        stack = self._stack
        while stack:
            top = stack.pop()
            if top.kind in SUPPRESSING:
                self._suppress -= 1
            if top is frame:
                return True
        return False

    def _leave(self, frame: _Frame, output: Any) -> None:
        stack = self._stack
        if stack and stack[-1] is frame:  # the usual case, without _abandon's loop
            stack.pop()
            if frame.kind in SUPPRESSING:
                self._suppress -= 1
        elif not self._abandon(frame):
            return
        if self._suppress:
            return
        if frame.kind == WEIGHT:
            # No weight op seen inside (torch's forward, unwatched, or one of its own): the
            # module's output stands in.
            if len(self.uses) == frame.uses_before and isinstance(output, torch.Tensor):
                self._new_use(frame.module, output, frame.input_size)
        elif frame.kind == ACTIVATION and frame.activation is not None:
            self._rectifier_call(frame.activation, output, frame.source)
        elif frame.flow is not None:
            self._track(output, frame.flow)
        elif frame.kind == LEAF and frame.inner:
            self._settle_leaf(frame, output)

    def _pre_hook(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        self._enter(module, *self.kinds[id(module)], args, kwargs)

    def _post_hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        frame = next((f for f in reversed(self._stack) if f.module is module), None)
        if frame is not None:
            self._leave(frame, output)

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
        for use in frame.inner or ():
            if use.activation is not None and use.result is output:
                continue
            use.consumer, use.activation = class_name, None

    # -- functions ---------------------------------------------------------------------------
    def function_info(self, func: Callable[..., Any]) -> _FunctionInfo:
        """:func:`function_info`, remembered per function for this pass."""
        try:
            return self._functions[func]
        except KeyError:
            info = self._functions[func] = function_info(func)
            return info
        except TypeError:  # an unhashable callable
            return function_info(func)

    def prepare(
        self, info: _FunctionInfo, args: tuple, kwargs: dict
    ) -> tuple[Activation | None, _Frame | None, float | None]:
        """What must be known before an activation, weight op or addition runs: the activation
        (its slope may be an argument), the Linear/Conv call it is the weight op of, and a
        residual addition's larger operand E[x²] (an in-place addition overwrites it)."""
        name, role, activation = info
        if role == ACTIVATION_OP and activation is None:
            activation = activation_from_function(name, function_slope(name, args, kwargs))
        weight_frame = self._weight_frame(name) if role == WEIGHT_OP else None
        operands = None
        if role == ADD_OP:
            operands = self._residual_operands(_tensors(args) + _tensors(kwargs.values()))
        return activation, weight_frame, operands

    def _residual_operands(self, tensors: list[torch.Tensor]) -> float | None:
        """The larger operand's E[x²] when this is a residual addition (else None)."""
        if len(tensors) != 2:
            return None
        a, b = tensors
        if a.shape != b.shape or a.numel() < 2 or not a.is_floating_point():
            return None
        moments = [m for m in (self.moment(a), self.moment(b)) if m is not None]
        return max(moments) if moments else None

    def _flows_in(self, args: tuple, kwargs: dict) -> list[tuple[torch.Tensor, _Flow]]:
        """The followed tensors among a call's arguments, with their flows, in argument order."""
        if not self._flows:
            return []
        found = []
        for tensor in _tensors(args) + _tensors(kwargs.values()):
            flow = self._flow_of(tensor)
            if flow is not None:
                found.append((tensor, flow))
        return found

    def after_function(
        self,
        name: str,
        prepared: tuple[Activation | None, _Frame | None, float | None],
        args: tuple,
        kwargs: dict,
        result: Any,
    ) -> None:
        """A call that returned a tensor: residual growth, the flows among its arguments (ended,
        claimed or moved), the rectifier's output, the layer output a weight op starts."""
        activation, weight_frame, operands = prepared
        if operands is not None:
            after = self.moment(result)
            growth = after / operands if after is not None and operands > 0 else None
            self.residuals.append(ResidualAdd(self._tick(), growth))
        primary = args[0] if args and isinstance(args[0], torch.Tensor) else kwargs.get("input")
        source = None
        for tensor, tracked in self._flows_in(args, kwargs):
            if self._flow_of(tensor) is not tracked:
                continue  # already ended (or moved) by an earlier argument of this same call
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
            self._new_use(weight_frame.module, result, spatial_size(args, kwargs))


class _FunctionWatcher(TorchFunctionMode):
    """Hands the torch function calls that can matter to the tracer (see "Cost" above)."""

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
        if kwargs is None:
            kwargs = {}
        tracer = self.tracer
        if tracer._suppress:
            return func(*args, **kwargs)
        info = tracer.function_info(func)
        if info.role == OTHER:
            if not tracer._flows:
                return func(*args, **kwargs)  # not an event, and no layer output to follow
            prepared = _NOTHING
        else:
            prepared = tracer.prepare(info, args, kwargs)
            if prepared == _NOTHING and not tracer._flows:
                return func(*args, **kwargs)
        result = func(*args, **kwargs)
        if _returns_tensor(result):  # else metadata (x.size(), x.dim()): not a consumer
            tracer.after_function(info.name, prepared, args, kwargs, result)
        return result
