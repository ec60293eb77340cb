"""Library knowledge: functions of other packages whose source is not in the linted tree.

Activation *factories* and *registries* (``timm.layers.get_act_layer('relu')``,
``transformers.activations.ACT2FN['gelu']``, mmcv's ``build_activation_layer(dict(type=...))``),
*init helpers* (fvcore's ``c2_msra_fill(m)``, mmengine's ``kaiming_init(m, ...)``, timm's
``lecun_normal_(w)``) and *init entry points* (Hugging Face's ``post_init()``, mmengine's
``BaseModule.init_weights()``). Each is data: a qualified name and what it does, in the terms
the interpreter already uses. Users add their own in ``[tool.init-lint]`` (``activation-
factories``, ``init-helpers``, ``init-entry-points``, checked below; see the README and
:mod:`init_lint.analysis.userlib`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .knowledge import InitScheme, SchemeKind, kaiming_gain


class FactoryKind(str, Enum):
    """How an activation factory names the activation, and what it returns."""

    NAME_TO_CLASS = "name-to-class"  # get_act_layer('relu') -> nn.ReLU (a class)
    NAME_TO_MODULE = "name-argument"  # create_act_layer('relu', inplace=True) -> nn.ReLU()
    CONFIG_TO_MODULE = "config-argument"  # build_activation_layer(dict(type='ReLU')) -> nn.ReLU()
    MAPPING = "mapping"  # ACT2FN['relu'] -> nn.ReLU() (a dict-like registry)


#: Qualified name → kind. Several spellings of one function (re-exports) are listed as such.
ACTIVATION_FACTORIES: dict[str, FactoryKind] = {
    "timm.layers.get_act_layer": FactoryKind.NAME_TO_CLASS,
    "timm.layers.create_act.get_act_layer": FactoryKind.NAME_TO_CLASS,
    "timm.models.layers.get_act_layer": FactoryKind.NAME_TO_CLASS,
    "timm.layers.create_act_layer": FactoryKind.NAME_TO_MODULE,
    "timm.layers.create_act.create_act_layer": FactoryKind.NAME_TO_MODULE,
    "timm.models.layers.create_act_layer": FactoryKind.NAME_TO_MODULE,
    "transformers.activations.get_activation": FactoryKind.NAME_TO_MODULE,
    "transformers.activations.ACT2FN": FactoryKind.MAPPING,
    "transformers.activations.ACT2CLS": FactoryKind.MAPPING,
    "mmcv.cnn.build_activation_layer": FactoryKind.CONFIG_TO_MODULE,
    "mmcv.cnn.bricks.build_activation_layer": FactoryKind.CONFIG_TO_MODULE,
    "mmcv.cnn.bricks.activation.build_activation_layer": FactoryKind.CONFIG_TO_MODULE,
    "mmengine.model.build_activation_layer": FactoryKind.CONFIG_TO_MODULE,
}


@dataclass(frozen=True)
class HelperArgs:
    """A helper call's arguments as the interpreter can read them."""

    number: Callable[[str, float | None], float | None]  # by parameter name, with a default
    text: Callable[[str, str | None], str | None]


@dataclass(frozen=True)
class InitHelper:
    """An init helper: which argument it initialises, and the scheme it gives the weight."""

    target: str  # "module": its first argument's ``.weight``; "tensor": its first argument
    parameters: tuple[str, ...]  # after the first argument, in order
    scheme: Callable[[HelperArgs], InitScheme]


def _kaiming(
    mode: str, nonlinearity: str, a: float = 0.0, distribution: str = "normal"
) -> InitScheme:
    return InitScheme(
        SchemeKind.KAIMING, kaiming_gain(nonlinearity, a), nonlinearity, a, mode, distribution
    )


def _mm_kaiming(args: HelperArgs) -> InitScheme:
    nonlinearity = args.text("nonlinearity", "relu")
    a = args.number("a", 0.0)
    mode = args.text("mode", "fan_out")
    if nonlinearity is None or a is None or mode is None:
        return InitScheme(SchemeKind.OTHER)
    return _kaiming(mode, nonlinearity, a, args.text("distribution", "normal") or "normal")


def _mm_xavier(args: HelperArgs) -> InitScheme:
    gain = args.number("gain", 1.0)
    return InitScheme(SchemeKind.XAVIER, gain) if gain is not None else InitScheme(SchemeKind.OTHER)


def _mm_normal(args: HelperArgs) -> InitScheme:
    std = args.number("std", 1.0)
    return (
        InitScheme(SchemeKind.NORMAL, std=std) if std is not None else InitScheme(SchemeKind.OTHER)
    )


def _variance_scaling(args: HelperArgs) -> InitScheme:
    """timm's variance_scaling_(w, scale, mode, distribution): std = √(scale/fan)."""
    scale = args.number("scale", 1.0)
    mode = args.text("mode", "fan_in")
    if scale is None or mode not in ("fan_in", "fan_out"):
        return InitScheme(SchemeKind.OTHER)  # fan_avg is Xavier-like: not read here
    if math.isclose(scale, 2.0, rel_tol=0.01):  # He's variance 2/fan, by another name
        return InitScheme(SchemeKind.KAIMING, math.sqrt(2.0), "relu", 0.0, mode)
    return InitScheme(SchemeKind.NORMAL)  # LeCun (scale 1) and others: not He-scaled


#: mmengine/mmcv ``init_cfg=dict(type=...)`` initialisers (BaseModule.init_weights runs them):
#: the scheme of each type, from the config's other keys (mmengine's defaults).
CONFIG_INITS: dict[str, Callable[[HelperArgs], InitScheme]] = {
    "Kaiming": _mm_kaiming,
    "Xavier": _mm_xavier,
    "Normal": _mm_normal,
    "TruncNormal": _mm_normal,
    "Uniform": lambda _: InitScheme(SchemeKind.UNIFORM),
    "Constant": lambda _: InitScheme(SchemeKind.CONSTANT),
    "Caffe2Xavier": lambda _: _kaiming("fan_in", "leaky_relu", a=1.0, distribution="uniform"),
}


INIT_HELPERS: dict[str, InitHelper] = {
    # fvcore (detectron2): Caffe2's MSRAFill and XavierFill.
    "fvcore.nn.weight_init.c2_msra_fill": InitHelper(
        "module", (), lambda _: _kaiming("fan_out", "relu")
    ),
    "fvcore.nn.weight_init.c2_xavier_fill": InitHelper(
        "module", (), lambda _: _kaiming("fan_in", "leaky_relu", a=1.0, distribution="uniform")
    ),
    # mmengine / mmcv weight_init helpers.
    **{
        f"{package}.{name}": helper
        for package in (
            "mmengine.model",
            "mmengine.model.weight_init",
            "mmcv.cnn",
            "mmcv.cnn.utils.weight_init",
        )
        for name, helper in {
            "kaiming_init": InitHelper(
                "module", ("a", "mode", "nonlinearity", "bias", "distribution"), _mm_kaiming
            ),
            "xavier_init": InitHelper("module", ("gain", "bias", "distribution"), _mm_xavier),
            "normal_init": InitHelper("module", ("mean", "std", "bias"), _mm_normal),
            "trunc_normal_init": InitHelper(
                "module", ("mean", "std", "a", "b", "bias"), _mm_normal
            ),
            "constant_init": InitHelper(
                "module", ("val", "bias"), lambda _: InitScheme(SchemeKind.CONSTANT)
            ),
            "uniform_init": InitHelper(
                "module", ("a", "b", "bias"), lambda _: InitScheme(SchemeKind.UNIFORM)
            ),
        }.items()
    },
    # timm.layers weight_init (what its trunc_normal_ is, torch's reads the same).
    **{
        f"{package}.{name}": helper
        for package in ("timm.layers", "timm.layers.weight_init", "timm.models.layers")
        for name, helper in {
            "lecun_normal_": InitHelper("tensor", (), lambda _: InitScheme(SchemeKind.NORMAL)),
            "variance_scaling_": InitHelper(
                "tensor", ("scale", "mode", "distribution"), _variance_scaling
            ),
        }.items()
    },
}


@dataclass(frozen=True)
class EntryPoint:
    """A method a framework calls on a model after it is built (so the analysis runs it too)."""

    method: str
    via_apply: str | None = None  # the method it applies to every submodule (post_init)


#: Base classes (qualified, or their last name for re-exports) → what their framework calls.
ENTRY_POINTS: dict[str, EntryPoint] = {
    "mmengine.model.BaseModule": EntryPoint("init_weights"),
    "mmcv.runner.BaseModule": EntryPoint("init_weights"),
    "mmcv.runner.base_module.BaseModule": EntryPoint("init_weights"),
}
#: A method whose call means "apply this other method to every submodule" (Hugging Face).
APPLYING_METHODS: dict[str, str] = {"post_init": "_init_weights", "init_weights": "_init_weights"}


@dataclass(frozen=True)
class ModelBuilder:
    """A library function that builds the model class it is given, with the keyword arguments
    it does not take itself: ``build_model_with_cfg(ConvMixer, variant, pretrained, **kwargs)``
    builds ``ConvMixer(**kwargs)`` (timm's registry: ``act_layer=nn.ReLU`` arrives this way)."""

    class_position: int
    own: frozenset[str]  # the builder's own parameters: not passed on to the class
    #: Own parameters it passes on under another name (timm: ``model_cls(cfg=model_cfg)``).
    renamed: tuple[tuple[str, str], ...] = ()


_TIMM_BUILDER = ModelBuilder(
    0,
    frozenset(
        {
            "variant",
            "pretrained",
            "pretrained_cfg",
            "pretrained_cfg_overlay",
            "model_cfg",
            "feature_cfg",
            "pretrained_strict",
            "pretrained_filter_fn",
            "cache_dir",
            "kwargs_filter",
        }
    ),
    renamed=(("model_cfg", "cfg"),),
)
#: Qualified name (as imported) → how it builds the class it is given.
MODEL_BUILDERS: dict[str, ModelBuilder] = {
    "timm.models._builder.build_model_with_cfg": _TIMM_BUILDER,
    "timm.models.build_model_with_cfg": _TIMM_BUILDER,
    "timm.models.helpers.build_model_with_cfg": _TIMM_BUILDER,
}


# ---------------------------------------------------------------------------------------------
# A project's own additions ([tool.init-lint]): validated here with the standard library only
# (the flake8 plugin reads the config in every run, most of which never parse a file).

#: ``activation-factories`` values: how the factory names the activation.
FACTORY_KINDS = tuple(kind.value for kind in FactoryKind)


@dataclass(frozen=True)
class HelperSpec:
    """An ``init-helpers`` entry: what the helper does to its first argument, written as the
    ``torch.nn.init`` call it amounts to (``"kaiming_normal_(m.weight, mode='fan_out')"``)."""

    function: str  # the torch.nn.init function, canonical (trailing underscore)
    target: str  # "module" (the spec's first argument is ``<name>.weight``) or "tensor"
    text: str  # the spec as written


def parse_helper_spec(spec: str) -> HelperSpec:
    """Check an ``init-helpers`` value; ValueError says what is wrong with it."""
    import ast

    from .knowledge import INIT_SIGNATURES

    try:
        call = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError:
        call = None
    if not isinstance(call, ast.Call):
        raise ValueError('must be a torch.nn.init call, e.g. "kaiming_normal_(m.weight)"')
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    name = name if name.endswith("_") else f"{name}_"
    if name not in INIT_SIGNATURES:
        known = ", ".join(sorted(INIT_SIGNATURES))
        raise ValueError(f"{name!r} is not a torch.nn.init function (known: {known})")
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Attribute) and first.attr == "weight":
        target = "module"
    elif isinstance(first, ast.Name):
        target = "tensor"
    else:
        raise ValueError(
            "its first argument says what the helper initialises: <module>.weight "
            "(the helper takes a module) or a name (it takes the tensor)"
        )
    for value in [*call.args[1:], *(keyword.value for keyword in call.keywords)]:
        try:
            ast.literal_eval(value)
        except ValueError:
            raise ValueError(f"{ast.unparse(value)!r}: arguments must be literals") from None
    return HelperSpec(name, target, spec.strip())


def check_entry_point(method: str) -> str:
    if not method.isidentifier():
        raise ValueError(f"{method!r} is not a method name")
    return method
