"""``verify(model, *inputs)``: trace one forward pass, then test every layer's weights.

The model is left as it was found: hooks and the function mode are removed (also when forward
raises), every module's ``training`` flag, the torch (and CUDA) RNG state and the buffers are
restored, and parameters are only read. The pass runs in eval mode under ``no_grad`` so that
BatchNorm does not update its running statistics and Dropout does not draw random numbers.
One change cannot be undone and is the point of running the pass: lazy modules
(``nn.LazyLinear``, ``nn.LazyConv2d``) materialise their weights, as the first forward would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from ..knowledge import Family
from .assess import assess
from .report import LayerResult, Report, signal_curve
from .sites import recorded_site, site_of
from .stats import WeightSample
from .trace import WEIGHT, Tracer, Use
from .weights import layer_geometry, orthogonal_gain, weight_of, weight_sample

DEFAULT_ALPHA = 0.01
DEFAULT_SIGNAL_FACTOR = 100.0


def verify(
    model: nn.Module,
    *inputs: Any,
    alpha: float = DEFAULT_ALPHA,
    through_norm: bool = False,
    label: str | None = None,
    signal_factor: float = DEFAULT_SIGNAL_FACTOR,
    **forward_kwargs: Any,
) -> Report:
    """Check that each Linear/Conv layer is initialised for the activation its output reaches.

    ``inputs``/``forward_kwargs`` are passed to ``model(...)`` (keyword inputs named like an
    option here cannot be passed; wrap the model instead). ``alpha`` is the probability of
    reporting any correctly initialised layer of this model (Bonferroni-corrected over the layers
    tested). ``through_norm`` also judges layers whose output reaches the activation through a
    norm layer. ``signal_factor``: a rectifier output second moment this many times smaller
    (larger) than the first one is reported as vanishing (exploding).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    tracer = Tracer(model, through_norm=through_norm)
    with preserved(model):
        tracer.run(inputs, forward_kwargs)
    layers, tests = _judge_layers(model, tracer, alpha)
    notes = []
    if any(isinstance(m, LazyModuleMixin) for m in model.modules()):
        notes.append("note: some lazy modules were not materialised by the forward pass")
    return Report(
        label=label or type(model).__name__,
        layers=tuple(layers),
        signal=signal_curve(tracer.activations, tracer.residuals, signal_factor),
        alpha=alpha,
        through_norm=through_norm,
        tests=tests,
        notes=tuple(notes),
    )


@contextlib.contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Eval mode and no side effects for the duration; everything restored afterwards."""
    training = [(module, module.training) for module in model.modules()]
    buffers = [
        (buffer, buffer.detach().clone())
        for buffer in model.buffers()
        if not nn.parameter.is_lazy(buffer) and buffer.device.type != "meta"
    ]
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        model.eval()
        yield
    finally:
        for module, flag in training:
            module.training = flag
        with torch.no_grad():
            for buffer, saved in buffers:
                if buffer.shape == saved.shape and not torch.equal(buffer, saved):
                    buffer.copy_(saved)
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


def _claim_key(use: Use) -> tuple[str, float | None] | None:
    activation = use.activation
    if activation is None or activation.family is Family.OTHER:
        return None
    return activation.name, activation.slope


def _judge_layers(model: nn.Module, tracer: Tracer, alpha: float) -> tuple[list[LayerResult], int]:
    uses_by_module: dict[int, list[Use]] = {}
    for use in tracer.uses:
        uses_by_module.setdefault(id(use.module), []).append(use)

    # First pass: what each layer's calls reach; the number of tests sets the Bonferroni level.
    plans: list[tuple[str, nn.Module, list[Use], dict[tuple, list[Use]]]] = []
    for name, module in model.named_modules():
        if tracer.kinds.get(id(module), (None,))[0] != WEIGHT:
            continue
        uses = uses_by_module.get(id(module), [])
        claims: dict[tuple, list[Use]] = {}
        for use in uses:
            key = _claim_key(use)
            if key is not None:
                claims.setdefault(key, []).append(use)
        plans.append((name or "<model>", module, uses, claims))
    tests = sum(len(claims) for _, module, _, claims in plans if weight_of(module) is not None)
    per_test_alpha = alpha / max(tests, 1)

    samples: dict[int, tuple[WeightSample, float | None]] = {}  # shared weights measured once
    results: list[LayerResult] = []
    for name, module, uses, claims in plans:
        weight = weight_of(module)
        shape = tuple(weight.shape) if weight is not None else ()
        fans = layer_geometry(module, weight).fans() if weight is not None else None
        first = uses[0] if uses else None
        base = LayerResult(
            name,
            type(module).__name__,
            shape,
            fans,
            len(uses),
            _consumer(first),
            None,
            through=first.through if first else (),
            via_norm=bool(first and first.via_norm),
            site=recorded_site(module),
        )
        if weight is None or not claims:
            results.append(replace(base, note=_untested_note(name, uses, weight)))
            continue
        if id(weight) not in samples:
            samples[id(weight)] = (weight_sample(weight), orthogonal_gain(weight))
        sample, ortho = samples[id(weight)]
        for group in claims.values():
            use = group[0]
            assert use.activation is not None
            geometry = layer_geometry(module, weight, use.input_size)
            results.append(
                replace(
                    base,
                    fans=geometry.fans(),
                    consumer=use.consumer,
                    activation=use.activation,
                    through=use.through,
                    via_norm=use.via_norm,
                    assessment=assess(
                        sample, geometry, use.activation, per_test_alpha, orthogonal_gain=ortho
                    ),
                    geometry=geometry,
                )
            )
    # Located from the source only where a finding needs a line: parsing costs more than the pass.
    results = [
        replace(r, site=site_of(model, r.name)) if r.code and r.site is None else r for r in results
    ]
    return results, tests


def _untested_note(name: str, uses: list[Use], weight: torch.Tensor | None) -> str:
    if not uses:
        return f"{name} is not called in the forward pass"
    if weight is None:
        return f"{name} has no readable 2-D weight (meta device or not materialised)"
    return ""


def _consumer(use: Use | None) -> str:
    if use is None:
        return "(not called)"
    if use.activation is not None:
        claim = "" if _claim_key(use) else " (no claim)"
        return f"{use.activation.describe()}{claim}"
    return use.consumer
