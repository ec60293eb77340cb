"""What init each activation wants, and the gains involved.

This is the single source of that knowledge: the static checker, the autofix and the runtime
verifier all ask this module. It is pure Python (no torch) so that linting never needs torch.
Numbers follow ``torch.nn.init`` (PyTorch 2.13) and He et al. 2015, see docs/rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

#: The one tolerance of both halves: a weight whose std·√fan is within this fraction of the
#: required gain is He-scaled, and two gains closer than this are the same (relu's gain before
#: LeakyReLU(0.01) is fine). 1% a layer compounds to 1.22× in the signal's second moment after
#: 10 layers; the runtime verifier calls a layer it cannot place on one side "inconclusive".
GAIN_TOLERANCE = 0.01

#: PyTorch's default Linear/Conv init is ``kaiming_uniform_(w, a=sqrt(5))``: std·√fan_in = 1/√3.
DEFAULT_INIT_A = math.sqrt(5)

LEAKY_RELU_DEFAULT_SLOPE = 0.01
PRELU_DEFAULT_SLOPE = 0.25
RRELU_DEFAULT_BOUNDS = (1 / 8, 1 / 3)

# Layers whose weight scale init-lint checks, by torch.nn class name.
LINEAR_LAYERS = frozenset({"Linear", "LazyLinear"})
CONV_LAYERS = frozenset(
    {
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "ConvTranspose3d",
        "LazyConv1d",
        "LazyConv2d",
        "LazyConv3d",
        "LazyConvTranspose1d",
        "LazyConvTranspose2d",
        "LazyConvTranspose3d",
    }
)
WEIGHT_LAYERS = LINEAR_LAYERS | CONV_LAYERS

#: Base classes in torch.nn that an ``isinstance`` test may name, per layer class.
LAYER_BASES: dict[str, tuple[str, ...]] = {
    **{name: ("Module",) for name in LINEAR_LAYERS},
    **{
        name: ("_ConvTransposeNd", "_ConvNd", "Module")
        if "Transpose" in name
        else ("_ConvNd", "Module")
        for name in CONV_LAYERS
    },
}
for _lazy in [n for n in WEIGHT_LAYERS if n.startswith("Lazy")]:
    LAYER_BASES[_lazy] = (_lazy[4:], "LazyModuleMixin", *LAYER_BASES[_lazy[4:]])

NORM_LAYERS = frozenset(
    {
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "SyncBatchNorm",
        "LazyBatchNorm1d",
        "LazyBatchNorm2d",
        "LazyBatchNorm3d",
        "LayerNorm",
        "GroupNorm",
        "RMSNorm",
        "LocalResponseNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "LazyInstanceNorm1d",
        "LazyInstanceNorm2d",
        "LazyInstanceNorm3d",
    }
)
#: Ops that pass a layer's output on without changing its scale (He's condition still applies).
PASS_THROUGH_LAYERS = frozenset(
    {
        "Dropout",
        "Dropout1d",
        "Dropout2d",
        "Dropout3d",
        "AlphaDropout",
        "FeatureAlphaDropout",
        "Identity",
        "Flatten",
        "Unflatten",
        "MaxPool1d",
        "MaxPool2d",
        "MaxPool3d",
        "AvgPool1d",
        "AvgPool2d",
        "AvgPool3d",
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
        "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d",
        "AdaptiveMaxPool3d",
    }
)
PASS_THROUGH_FUNCTIONS = frozenset(
    {
        "dropout",
        "dropout1d",
        "dropout2d",
        "dropout3d",
        "alpha_dropout",
        "feature_alpha_dropout",
        "flatten",
        "unflatten",
        "reshape",
        "squeeze",
        "unsqueeze",
        "permute",
        "transpose",
        "max_pool1d",
        "max_pool2d",
        "max_pool3d",
        "avg_pool1d",
        "avg_pool2d",
        "avg_pool3d",
        "adaptive_avg_pool1d",
        "adaptive_avg_pool2d",
        "adaptive_avg_pool3d",
        "adaptive_max_pool1d",
        "adaptive_max_pool2d",
        "adaptive_max_pool3d",
    }
)
PASS_THROUGH_TENSOR_METHODS = frozenset(
    {
        "view",
        "reshape",
        "permute",
        "transpose",
        "flatten",
        "unflatten",
        "contiguous",
        "squeeze",
        "unsqueeze",
        "clone",
        "to",
        "float",
        "half",
        "double",
        "bfloat16",
        "type_as",
        "view_as",
        "reshape_as",
        "t",
        "mT",
    }
)
NORM_FUNCTIONS = frozenset({"batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"})

#: calculate_gain's accepted nonlinearity names.
LINEAR_NONLINEARITIES = frozenset(
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
KNOWN_NONLINEARITIES = LINEAR_NONLINEARITIES | {"sigmoid", "tanh", "relu", "leaky_relu", "selu"}
FAN_MODES = frozenset({"fan_in", "fan_out"})

#: Parameters after the tensor, per init function (torch.nn.init signatures).
INIT_SIGNATURES: dict[str, tuple[str, ...]] = {
    "kaiming_normal_": ("a", "mode", "nonlinearity", "generator"),
    "kaiming_uniform_": ("a", "mode", "nonlinearity", "generator"),
    "xavier_normal_": ("gain", "generator"),
    "xavier_uniform_": ("gain", "generator"),
    "orthogonal_": ("gain", "generator"),
    "normal_": ("mean", "std", "generator"),
    "trunc_normal_": ("mean", "std", "a", "b", "generator"),
    "uniform_": ("a", "b", "generator"),
    "constant_": ("val",),
    "zeros_": (),
    "ones_": (),
    "eye_": (),
    "dirac_": ("groups",),
    "sparse_": ("sparsity", "std", "generator"),
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Mirror of ``torch.nn.init.calculate_gain`` (raises ValueError the same way)."""
    if nonlinearity in LINEAR_NONLINEARITIES or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = LEAKY_RELU_DEFAULT_SLOPE if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def kaiming_gain(nonlinearity: str = "leaky_relu", a: float = 0.0) -> float:
    """The gain ``kaiming_uniform_/kaiming_normal_`` use: note a=0 (not 0.01) by default."""
    return calculate_gain(nonlinearity, a)


def gains_match(actual: float, required: float, tolerance: float = GAIN_TOLERANCE) -> bool:
    return abs(actual - required) <= tolerance * required


class Family(str, Enum):
    """How an activation constrains the preceding layer's init."""

    RECTIFIER = "rectifier"  # He/Kaiming: Var(W) = 2 / ((1 + a²) fan)
    SATURATING = "saturating"  # Tanh/Sigmoid: Xavier with calculate_gain
    OTHER = "other"  # GELU, SiLU, ...: init-lint makes no claim


@dataclass(frozen=True)
class Activation:
    """An activation as it appears in code or at run time."""

    name: str  # canonical torch.nn class name: 'ReLU', 'LeakyReLU', 'Tanh', 'GELU', ...
    family: Family
    slope: float | None = None  # negative slope of a leaky rectifier; None when unknown

    @property
    def nonlinearity(self) -> str | None:
        """The ``nonlinearity=`` name that matches this activation, if any."""
        if self.family is Family.SATURATING:
            return self.name.lower()
        if self.family is Family.RECTIFIER:
            return "relu" if not self.slope else "leaky_relu"
        return None

    @property
    def gain(self) -> float | None:
        """The gain He/Glorot require before this activation (None: unknown or no claim)."""
        if self.family is Family.OTHER:
            return None
        if self.family is Family.RECTIFIER and self.slope is None:
            return None
        return calculate_gain(self.nonlinearity or "linear", self.slope)

    def describe(self) -> str:
        if self.slope and self.name != "ReLU":
            return f"{self.name}({_fmt(self.slope)})"
        return self.name

    def recommended_call(
        self,
        target: str,
        *,
        init_prefix: str = "init",
        mode: str = "fan_in",
        distribution: str = "normal",
        explicit_mode: bool = False,
        quote: str = "'",
    ) -> str | None:
        """The init call that is right for a weight ``target`` feeding this activation
        (``explicit_mode``: spell out ``mode`` even when it is the default, because it matters;
        ``quote``: the string quote the file uses)."""
        if self.family is Family.RECTIFIER:
            args = [target]
            if mode != "fan_in" or explicit_mode:
                args.append(f"mode={quote}{mode}{quote}")
            args += self.kaiming_arguments(quote)
            return f"{init_prefix}.kaiming_{distribution}_({', '.join(args)})"
        if self.family is Family.SATURATING:
            gain = f"{init_prefix}.calculate_gain({quote}{self.name.lower()}{quote})"
            return f"{init_prefix}.xavier_{distribution}_({target}, gain={gain})"
        return None

    def kaiming_arguments(self, quote: str = "'") -> list[str]:
        """``a=`` and ``nonlinearity=`` of the Kaiming call for this rectifier."""
        if self.slope:
            return [f"a={_fmt(self.slope)}", f"nonlinearity={quote}leaky_relu{quote}"]
        return [f"nonlinearity={quote}relu{quote}"]


def _fmt(value: float) -> str:
    return f"{value:g}"


def rrelu_slope(
    lower: float = RRELU_DEFAULT_BOUNDS[0], upper: float = RRELU_DEFAULT_BOUNDS[1]
) -> float:
    """RReLU samples its slope in [lower, upper]; in eval it uses the mean, so does He's gain."""
    return (lower + upper) / 2


def activation_from_module(name: str, slope: float | None = None) -> Activation | None:
    """An activation module class (``nn.LeakyReLU(0.2)`` → name 'LeakyReLU', slope 0.2)."""
    if name in ("ReLU", "ReLU6"):
        return Activation(name, Family.RECTIFIER, 0.0)
    if name == "LeakyReLU":
        return Activation(
            name, Family.RECTIFIER, LEAKY_RELU_DEFAULT_SLOPE if slope is None else slope
        )
    if name == "PReLU":
        return Activation(name, Family.RECTIFIER, PRELU_DEFAULT_SLOPE if slope is None else slope)
    if name == "RReLU":
        return Activation(name, Family.RECTIFIER, rrelu_slope() if slope is None else slope)
    if name in ("Tanh", "Sigmoid"):
        return Activation(name, Family.SATURATING)
    if name in OTHER_ACTIVATION_MODULES:
        return Activation(name, Family.OTHER)
    return None


OTHER_ACTIVATION_MODULES = frozenset(
    {
        "GELU",
        "SiLU",
        "ELU",
        "CELU",
        "SELU",
        "Mish",
        "Hardswish",
        "Hardsigmoid",
        "Hardtanh",
        "Softmax",
        "Softmax2d",
        "LogSoftmax",
        "Softplus",
        "Softsign",
        "Softshrink",
        "Hardshrink",
        "Tanhshrink",
        "LogSigmoid",
        "GLU",
        "Threshold",
        "MultiheadAttention",
    }
)

#: Functional activations (``torch.nn.functional.X``, ``torch.X`` or tensor method ``x.X()``),
#: by name, to the module they correspond to. The in-place ``X_`` spellings map the same way.
FUNCTIONAL_ACTIVATIONS: dict[str, str] = {
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leaky_relu": "LeakyReLU",
    "prelu": "PReLU",
    "rrelu": "RReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "gelu": "GELU",
    "silu": "SiLU",
    "elu": "ELU",
    "celu": "CELU",
    "selu": "SELU",
    "mish": "Mish",
    "hardswish": "Hardswish",
    "hardsigmoid": "Hardsigmoid",
    "hardtanh": "Hardtanh",
    "softmax": "Softmax",
    "log_softmax": "LogSoftmax",
    "softplus": "Softplus",
    "glu": "GLU",
    "softsign": "Softsign",
    "logsigmoid": "LogSigmoid",
}
#: Tensor methods that are activations (``x.relu()``); others like ``x.softmax`` end the flow too.
TENSOR_METHOD_ACTIVATIONS = frozenset(
    {"relu", "relu_", "tanh", "tanh_", "sigmoid", "sigmoid_", "softmax"}
)


def activation_from_function(name: str, slope: float | None = None) -> Activation | None:
    """A functional activation by its function name (``leaky_relu_`` counts as ``leaky_relu``)."""
    base = name[:-1] if name.endswith("_") and name[:-1] in FUNCTIONAL_ACTIVATIONS else name
    module = FUNCTIONAL_ACTIVATIONS.get(base)
    if module is None:
        return None
    if module == "PReLU" and slope is None:
        return Activation("PReLU", Family.RECTIFIER, None)  # the slope is a tensor we cannot see
    return activation_from_module(module, slope)


#: Names activation registries and configs use (``get_act_layer('swish')``, ``ACT2FN['gelu']``,
#: ``dict(type='LeakyReLU')``), normalised (lower case, no ``_``/``-``), to torch.nn classes.
ACTIVATION_NAMES: dict[str, str] = {
    **{module.lower(): module for module in FUNCTIONAL_ACTIVATIONS.values()},
    **{name.replace("_", ""): module for name, module in FUNCTIONAL_ACTIVATIONS.items()},
    "lrelu": "LeakyReLU",
    "leaky": "LeakyReLU",
    "swish": "SiLU",
    "hswish": "Hardswish",
    "hardswish": "Hardswish",
    "hsigmoid": "Hardsigmoid",
    "hardsigmoid": "Hardsigmoid",
    "quickgelu": "GELU",
    "geluapprox": "GELU",
    "gelutanh": "GELU",
    "newgelu": "GELU",
    "identity": "Identity",
    "linear": "Identity",
    "none": "Identity",
}


def activation_class_named(name: str) -> str | None:
    """The torch.nn class an activation is called by in registries ('leaky_relu' → 'LeakyReLU');
    None for a name init-lint does not know."""
    return ACTIVATION_NAMES.get(name.replace("_", "").replace("-", "").lower())


class Verdict(str, Enum):
    """How an init relates to the activation a layer feeds. Rules (init_lint.rules) map these
    to codes; this module speaks only of scales and activations."""

    OK = "ok"
    NOT_HE_SCALED = "not-he-scaled"  # rectifier, but the scale is not He's
    KAIMING_BEFORE_SATURATING = "kaiming-before-saturating"  # rectifier gain before Tanh/Sigmoid
    WRONG_KAIMING_GAIN = "wrong-kaiming-gain"  # Kaiming, but a nonlinearity/slope of another unit
    WRONG_FAN = "wrong-fan"  # Kaiming with the right gain, but torch's fan is not the layer's
    UNKNOWN = "unknown"


class SchemeKind(str, Enum):
    """The init calls (or hand-written equivalents) init-lint tells apart."""

    DEFAULT = "default"  # PyTorch's reset_parameters: kaiming_uniform_(a=√5)
    KAIMING = "kaiming"
    XAVIER = "xavier"
    ORTHOGONAL = "orthogonal"
    HE_FORMULA = "he_formula"  # a hand-written std of √(2/n)
    NORMAL = "normal"
    TRUNC_NORMAL = "trunc_normal"
    UNIFORM = "uniform"
    CONSTANT = "constant"
    OTHER = "other"  # an init whose scale cannot be read
    UNKNOWN = "unknown"  # it cannot be known which init (or whether any) ran


@dataclass(frozen=True)
class InitScheme:
    """What an init does to a weight, as far as it is known.

    ``gain`` is std·√fan as the scheme defines it, when known. ``nonlinearity`` and ``a`` are a
    Kaiming call's arguments (``nonlinearity`` None: not a literal, so the gain is unknown).
    """

    kind: SchemeKind
    gain: float | None = None
    nonlinearity: str | None = None
    a: float | None = None
    mode: str | None = None
    distribution: str | None = None
    #: The std a call states outright (``normal_(w, 0, 0.01)``, ``uniform_(w, -b, b)``).
    std: float | None = None
    #: A factor applied afterwards (``w.data.mul_(2)``): the std is ``scale`` times the call's.
    scale: float = 1.0

    def scaled(self, factor: float) -> InitScheme:
        return replace(self, scale=self.scale * factor)

    @property
    def is_default_spelled_out(self) -> bool:
        """``kaiming_*_(w, a=math.sqrt(5))``: PyTorch's default, whatever the call is named."""
        return self.a is not None and math.isclose(self.a, DEFAULT_INIT_A, rel_tol=1e-3)


DEFAULT_SCHEME = InitScheme(SchemeKind.DEFAULT)
UNKNOWN_SCHEME = InitScheme(SchemeKind.UNKNOWN)


@dataclass(frozen=True)
class Fans:
    """A layer's fans as torch's init functions compute them and as the signal sees them.

    torch computes fan_in = size(1)·∏k and fan_out = size(0)·∏k from the weight's shape. That is
    the true fan_in of a Linear/Conv, but fan_out over-counts a grouped conv by ``groups``; and a
    ConvTranspose's weight is laid out (in, out/groups, *k), so torch's fan_in is its backward
    fan while each output sums in/groups·∏k/∏stride terms.
    """

    torch_fan_in: int
    torch_fan_out: int
    fan_in: float  # terms summed per output (He's forward condition)
    fan_out: float  # outputs each input reaches (He's backward condition)
    transposed: bool = False
    strided: bool = False  # a transposed conv with stride > 1: only the forward fan counts
    receptive: int = 1  # ∏kernel: the weight's size(0) is torch_fan_out / receptive

    def torch_fan(self, torch_mode: str) -> int:
        return self.torch_fan_in if torch_mode == "fan_in" else self.torch_fan_out

    def true_fan(self, torch_mode: str) -> float:
        """The true fan a ``mode=torch_mode`` init on this weight scales for."""
        if self.transposed:
            return self.fan_out if torch_mode == "fan_in" else self.fan_in
        return self.fan_in if torch_mode == "fan_in" else self.fan_out


@dataclass(frozen=True)
class LayerGeometry:
    """What a layer's true fans depend on. Sizes may be unknown (None) to the static checker;
    ``grouped`` can be known without them (``groups=dim`` with ``in_channels=dim``)."""

    kind: str  # torch.nn class: 'Conv2d', 'ConvTranspose2d', 'Linear', ...
    in_channels: int | None = None
    out_channels: int | None = None
    kernel: tuple[int, ...] | None = None  # per spatial dimension; () for Linear
    stride: tuple[int, ...] | None = None
    groups: int | None = 1
    grouped: bool = False  # groups > 1, known even when its value is not

    @property
    def transposed(self) -> bool:
        return "Transpose" in self.kind

    @property
    def strided(self) -> bool:
        return self.stride is not None and any(s > 1 for s in self.stride)

    def fans(self) -> Fans | None:
        """The fans, when every size they need is known."""
        if self.in_channels is None or self.out_channels is None or self.kernel is None:
            return None
        groups = self.groups if self.groups else None
        if groups is None:
            return None
        receptive = math.prod(self.kernel)
        if self.transposed:
            if self.stride is None:
                return None
            torch_in = self.out_channels // groups * receptive
            forward = self.in_channels / groups * receptive / math.prod(self.stride)
            torch_out = self.in_channels * receptive
            return Fans(
                torch_in, torch_out, forward, float(torch_in), True, self.strided, receptive
            )
        torch_in = self.in_channels // groups * receptive
        torch_out = self.out_channels * receptive
        return Fans(torch_in, torch_out, float(torch_in), torch_out / groups, receptive=receptive)


def scheme_std(scheme: InitScheme, fans: Fans) -> float | None:
    """The std a scheme gives a weight with these fans (None: not computable)."""
    kind = scheme.kind
    if kind is SchemeKind.DEFAULT:
        return 1.0 / math.sqrt(3.0 * fans.torch_fan_in)
    if kind is SchemeKind.KAIMING and scheme.gain is not None and scheme.mode in FAN_MODES:
        return scheme.gain / math.sqrt(fans.torch_fan(scheme.mode or "fan_in"))
    if kind is SchemeKind.XAVIER and scheme.gain is not None:
        return scheme.gain * math.sqrt(2.0 / (fans.torch_fan_in + fans.torch_fan_out))
    if kind is SchemeKind.ORTHOGONAL and scheme.gain is not None:
        # orthogonal_ flattens to (size(0), torch fan_in) and makes the shorter side orthonormal.
        rows = fans.torch_fan_out // fans.receptive
        return scheme.gain / math.sqrt(max(rows, fans.torch_fan_in))
    if kind is SchemeKind.CONSTANT:
        return 0.0
    return scheme.std


def he_gains(scheme: InitScheme, fans: Fans) -> dict[str, float] | None:
    """std·√fan for the fans He's conditions allow: forward (fan_in) and, except for a strided
    transposed conv, backward (fan_out). None when the scheme's std is not known."""
    std = scheme_std(scheme, fans)
    if std is None:
        return None
    gains = {"fan_in": std * math.sqrt(fans.fan_in)}
    if not fans.strided:
        gains["fan_out"] = std * math.sqrt(fans.fan_out)
    return gains


def is_he_scaled(gains: dict[str, float], required: float) -> bool:
    """He et al.: either condition suffices (the fan ratios telescope across layers)."""
    return any(gains_match(gain, required) for gain in gains.values())


def judge(
    scheme: InitScheme, activation: Activation, geometry: LayerGeometry | None = None
) -> Verdict:
    """Decide whether ``scheme`` suits a layer that feeds ``activation``.

    What counts is the scale, std·√fan against the required gain (see :func:`is_he_scaled`);
    with a ``geometry`` whose sizes are known it is computed, otherwise it is read from the
    scheme's name and arguments.
    """
    if scheme.kind is SchemeKind.UNKNOWN:
        return Verdict.UNKNOWN
    if activation.family is Family.OTHER:
        return Verdict.OK
    if activation.family is Family.RECTIFIER:
        return _judge_before_rectifier(scheme, activation, geometry)
    # Saturating (Tanh/Sigmoid): only a rectifier-gain Kaiming init is a finding.
    if scheme.kind is SchemeKind.KAIMING and not scheme.is_default_spelled_out:
        if scheme.nonlinearity in ("relu", "leaky_relu"):
            return Verdict.KAIMING_BEFORE_SATURATING
        if scheme.nonlinearity is None:
            return Verdict.UNKNOWN  # a nonlinearity that is not a literal: its gain is unknown
    return Verdict.OK


def _judge_before_rectifier(
    scheme: InitScheme, activation: Activation, geometry: LayerGeometry | None
) -> Verdict:
    required = activation.gain
    kind = scheme.kind
    if kind is SchemeKind.DEFAULT or scheme.is_default_spelled_out:
        return Verdict.NOT_HE_SCALED  # whatever its scale, PyTorch's default is no He init
    if kind in (SchemeKind.HE_FORMULA, SchemeKind.OTHER):
        return Verdict.OK if kind is SchemeKind.HE_FORMULA else Verdict.UNKNOWN
    if kind is SchemeKind.KAIMING:
        if scheme.nonlinearity is None:
            return Verdict.UNKNOWN
        if required is None or scheme.gain is None:
            return Verdict.OK
        return _judge_kaiming(scheme, scheme.gain, required, geometry, activation)
    fans = geometry.fans() if geometry is not None else None
    gains = he_gains(scheme, fans) if fans is not None else None
    if gains is not None and required is not None:
        return Verdict.OK if is_he_scaled(gains, required) else Verdict.NOT_HE_SCALED
    if kind in (SchemeKind.ORTHOGONAL, SchemeKind.XAVIER) and scheme.gain is not None:
        # Sizes unknown: orthogonal with a rectifier gain preserves the signal like He init;
        # Xavier with gain √2 equals He on square layers: give it the benefit of the doubt.
        if required and gains_match(scheme.gain, required, 0.05):
            return Verdict.OK
        if kind is SchemeKind.XAVIER and scheme.gain > 1.3:
            return Verdict.OK
    return Verdict.NOT_HE_SCALED


def _judge_kaiming(
    scheme: InitScheme,
    gain: float,
    required: float,
    geometry: LayerGeometry | None,
    activation: Activation,
) -> Verdict:
    """A Kaiming call's gain, its fan (torch's against the layer's) and any factor after it."""
    correction = fan_correction(geometry, activation, scheme.mode or "fan_in")
    if correction is None:  # torch's fan is wrong here by a factor that cannot be known
        return Verdict.WRONG_FAN if gains_match(gain, required) else Verdict.WRONG_KAIMING_GAIN
    if gains_match(gain * scheme.scale / correction, required):
        return Verdict.OK
    if not gains_match(gain, required):
        return Verdict.WRONG_KAIMING_GAIN if scheme.scale == 1.0 else Verdict.NOT_HE_SCALED
    return Verdict.WRONG_FAN if correction != 1.0 else Verdict.NOT_HE_SCALED


def required_mode(geometry: LayerGeometry | None, activation: Activation) -> str | None:
    """The Kaiming ``mode`` a layer before a rectifier needs, or None when either is right:
    ``fan_in`` for a grouped conv (its torch fan_in is exact), ``fan_out`` for a strided
    transposed conv (torch's fan_out is in·∏k, which :func:`fan_correction` then scales to the
    forward fan)."""
    if geometry is None or activation.family is not Family.RECTIFIER:
        return None
    if geometry.transposed and geometry.strided:
        return "fan_out"
    if not geometry.transposed and geometry.grouped:
        return "fan_in"
    return None


def fan_correction(
    geometry: LayerGeometry | None, activation: Activation, mode: str = "fan_out"
) -> float | None:
    """The factor a ``kaiming_*_(mode=mode)`` std needs to reach He's value on this layer before
    a rectifier: 1.0 where torch's fan is the layer's; √groups for a grouped conv with
    ``fan_out``; for a strided transposed conv √(torch's fan / the forward fan in/groups·∏k/
    ∏stride), i.e. √(groups·∏stride) with ``fan_out``. None when it cannot be known."""
    if geometry is None or activation.family is not Family.RECTIFIER:
        return 1.0
    fans = geometry.fans()
    if geometry.transposed and geometry.strided:
        if fans is not None:
            return math.sqrt(fans.torch_fan(mode) / fans.fan_in)
        if mode == "fan_out" and geometry.groups and geometry.stride is not None:
            return math.sqrt(geometry.groups * math.prod(geometry.stride))
        return None
    if geometry.grouped and not geometry.transposed and mode == "fan_out":
        if fans is not None:
            return math.sqrt(fans.torch_fan_out / fans.fan_out)
        return math.sqrt(geometry.groups) if geometry.groups and geometry.groups > 1 else None
    return 1.0


def describe_fan_problem(geometry: LayerGeometry | None) -> str:
    """What a Kaiming call gets wrong about this layer's fans, in a sentence ('' if nothing)."""
    if geometry is None:
        return ""
    if geometry.transposed and geometry.strided:
        assert geometry.stride is not None
        stride = "×".join(map(str, geometry.stride))
        product = math.prod(geometry.stride)
        return (
            f"runs on a ConvTranspose with stride {stride}, where each output sums "
            f"in/groups·∏k/{product} terms: neither of torch's fans is that forward fan, so the "
            f"signal shrinks {product}× more at this layer than He's condition allows"
        )
    if geometry.grouped and not geometry.transposed:
        groups = (
            f"groups={geometry.groups}" if geometry.groups and geometry.groups > 1 else "groups"
        )
        return (
            f"sets mode='fan_out' on a grouped conv ({groups}): torch's fan_out counts every "
            "output channel though each input reaches only out/groups of them, so the std is "
            "√groups too small"
        )
    return ""


# -- Run time: the fans a layer has on the input it really receives (init_lint.runtime) --------
#
# The static checker knows a layer's constructor; the runtime verifier also sees its input. That
# matters for one geometry only: a transposed conv whose input is smaller, along some dimension,
# than kernel/stride. Each output then sums fewer than in/groups·k/stride terms (the DCGAN stem,
# a 4×4 ConvTranspose on a 1×1 input, sums in_channels = 100 of them, not 1600), so its forward
# and backward fans differ by a factor that does not telescope, as with a stride: only the
# forward fan counts. Border outputs of an ordinary conv also sum fewer terms; that is not the
# init's business (He's condition is stated for the interior) and is left alone.


@dataclass(frozen=True)
class InputGeometry(LayerGeometry):
    """A :class:`LayerGeometry` plus the spatial size of the input the layer was called on."""

    input_size: tuple[int, ...] | None = None

    def _taps(self) -> tuple[float, ...] | None:
        """Terms an interior output sums per spatial dimension: min(k/s, input size)."""
        if not self.transposed or self.kernel is None or self.stride is None:
            return None
        sizes = self.input_size or (math.inf,) * len(self.kernel)
        if len(sizes) != len(self.kernel):
            return None
        return tuple(
            min(k / s, float(n)) for k, s, n in zip(self.kernel, self.stride, sizes, strict=True)
        )

    @property
    def input_limited(self) -> bool:
        """The input is smaller than kernel/stride along some dimension (the DCGAN stem)."""
        taps = self._taps()
        if taps is None:
            return False
        assert self.kernel is not None and self.stride is not None
        return any(t < k / s for t, k, s in zip(taps, self.kernel, self.stride, strict=True))

    @property
    def strided(self) -> bool:
        return super().strided or self.input_limited

    def fans(self) -> Fans | None:
        fans = super().fans()
        taps = self._taps()
        if fans is None or taps is None or not self.input_limited:
            return fans
        assert self.in_channels is not None and self.groups
        forward = self.in_channels / self.groups * math.prod(taps)
        return replace(fans, fan_in=forward, strided=True)


def forward_correction(geometry: LayerGeometry | None, activation: Activation) -> float | None:
    """The factor to multiply a ``kaiming_*_(w, mode='fan_out', …)`` weight by so that its std
    is He's forward value on a layer where only the forward fan counts (a strided or
    input-limited transposed conv): √(torch's fan_out / forward fan). None elsewhere."""
    if geometry is None or not (geometry.transposed and geometry.strided):
        return None
    return fan_correction(geometry, activation, "fan_out")
