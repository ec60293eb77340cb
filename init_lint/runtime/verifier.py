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
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from ..knowledge import Activation, Family, InputGeometry
from .assess import Assessment, Candidate, assess, build_candidates
from .report import LayerResult, Report, signal_curve
from .sites import recorded_site, site_of
from .trace import WEIGHT, Tracer, Use
from .weights import geometry_fans, layer_geometry, weight_of, weight_statistics

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
    modules = [module for _, module in tracer.modules]
    with preserved(model, modules):
        tracer.run(inputs, forward_kwargs)
    layers, tests = _judge_layers(model, tracer, alpha)
    notes = []
    if any(isinstance(m, LazyModuleMixin) for m in modules):
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
def preserved(model: nn.Module, modules: list[nn.Module] | None = None) -> Iterator[None]:
    """Eval mode and no side effects for the duration; everything restored afterwards.

    ``modules``: ``list(model.modules())`` when the caller has it. Only modules in training mode
    are switched (by ``model.eval()``, which honours ``train()`` overrides) and only flags that
    differ afterwards are set back; the buffers are compared and saved in one flat copy per dtype
    and device (see :class:`_Buffers`), not one tensor each.
    """
    modules = list(model.modules()) if modules is None else modules
    training = [(module, module.training) for module in modules]
    buffers = _Buffers(
        {
            id(buffer): buffer
            for module in modules
            if module._buffers  # model.buffers() without another walk
            for buffer in module._buffers.values()
            if buffer is not None and not nn.parameter.is_lazy(buffer) and not buffer.is_meta
        }.values()
    )
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        if any(flag for _, flag in training):
            model.eval()
        yield
    finally:
        for module, flag in training:
            if module.training != flag:
                module.training = flag
        buffers.restore()
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


class _Buffers:
    """The buffers' values, kept as one flat copy per (dtype, device): two ``torch.cat`` and one
    ``torch.equal`` per group when nothing changed (BatchNorm in eval mode), instead of a clone
    and a comparison per buffer; a group that changed is restored buffer by buffer."""

    def __init__(self, buffers: Iterable[torch.Tensor]) -> None:
        groups: dict[tuple[torch.dtype, torch.device, bool], list[torch.Tensor]] = {}
        for buffer in buffers:  # 0-d ones (num_batches_tracked) apart: stacked, not reshaped
            groups.setdefault((buffer.dtype, buffer.device, buffer.dim() == 0), []).append(buffer)
        self.groups = [
            (group, [b.shape for b in group], _flat_copy(group)) for group in groups.values()
        ]

    def restore(self) -> None:
        with torch.no_grad():
            for group, shapes, saved in self.groups:
                now = [b.shape for b in group]
                if now == shapes and torch.equal(_flat_copy(group), saved):
                    continue
                offset = 0
                for buffer, shape in zip(group, shapes, strict=True):
                    size = shape.numel()
                    value = saved[offset : offset + size].view(shape)
                    offset += size
                    if buffer.shape == shape and not torch.equal(buffer, value):
                        buffer.copy_(value)


def _flat_copy(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The tensors' values in one 1-D copy: stacked when they are all 0-d (torch.cat takes no
    0-d tensor, and a reshape each costs more than the copy)."""
    with torch.no_grad():
        if all(t.dim() == 0 for t in tensors):
            return torch.stack(tensors)
        return torch.cat([t if t.dim() == 1 else t.reshape(-1) for t in tensors])


def _claim_key(use: Use) -> tuple[str, float | None] | None:
    activation = use.activation
    if activation is None or activation.family is Family.OTHER:
        return None
    return activation.name, activation.slope


#: A Linear/Conv layer to judge: name, module, readable weight, its calls, and those calls
#: grouped by the activation they reach (one test each).
_Plan = tuple[str, nn.Module, torch.Tensor | None, list[Use], dict[tuple, list[Use]]]


def _plans(tracer: Tracer) -> list[_Plan]:
    """What each layer's calls reach, in module order."""
    uses_by_module: dict[int, list[Use]] = {}
    for use in tracer.uses:
        uses_by_module.setdefault(id(use.module), []).append(use)
    plans = []
    for name, module in tracer.modules:
        if tracer.kinds[id(module)][0] != WEIGHT:
            continue
        uses = uses_by_module.get(id(module), [])
        claims: dict[tuple, list[Use]] = {}
        for use in uses:
            key = _claim_key(use)
            if key is not None:
                claims.setdefault(key, []).append(use)
        plans.append((name or "<model>", module, weight_of(module), uses, claims))
    return plans


def _judge_layers(model: nn.Module, tracer: Tracer, alpha: float) -> tuple[list[LayerResult], int]:
    plans = _plans(tracer)
    # The number of tests sets the Bonferroni level.
    tests = sum(len(claims) for _, _, weight, _, claims in plans if weight is not None)
    per_test_alpha = alpha / max(tests, 1)

    # Only weights whose verdict is asked for are read; all at once, shared ones once.
    tested = {id(w): w for _, _, w, _, claims in plans if w is not None and claims}
    samples = dict(zip(tested, weight_statistics(list(tested.values())), strict=True))
    candidates: dict[tuple[InputGeometry, Activation], list[Candidate]] = {}  # shared shapes too
    results: list[LayerResult] = []
    for name, module, weight, uses, claims in plans:
        first = uses[0] if uses else None
        base = LayerResult(
            name,
            type(module).__name__,
            tuple(weight.shape) if weight is not None else (),
            geometry_fans(layer_geometry(module, weight)) if weight is not None else None,
            len(uses),
            _consumer(first),
            None,
            through=first.through if first else (),
            via_norm=bool(first and first.via_norm),
            note="" if weight is not None and claims else _untested_note(name, uses, weight),
            site=recorded_site(module),
        )
        if weight is None or not claims:
            results.append(base)
            continue
        sample, ortho = samples[id(weight)]
        for group in claims.values():
            use = group[0]
            assert use.activation is not None
            geometry = layer_geometry(module, weight, use.input_size)
            shared = (geometry, use.activation)
            if shared not in candidates:
                candidates[shared] = build_candidates(*shared)
            assessment = assess(
                sample,
                *shared,
                per_test_alpha,
                orthogonal_gain=ortho,
                candidates=candidates[shared],
            )
            results.append(_judged(base, use, geometry, assessment))
    # Located from the source only where a finding needs a line: parsing costs more than the pass.
    results = [
        replace(r, site=site_of(model, r.name)) if r.code and r.site is None else r for r in results
    ]
    return results, tests


def _judged(
    base: LayerResult, use: Use, geometry: InputGeometry, assessment: Assessment
) -> LayerResult:
    """``base`` (the layer) with the verdict for one activation its calls reach."""
    return replace(
        base,
        fans=geometry_fans(geometry),
        consumer=use.consumer,
        activation=use.activation,
        through=use.through,
        via_norm=use.via_norm,
        assessment=assessment,
        geometry=geometry,
    )


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
