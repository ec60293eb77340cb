"""``init-lint verify package.module:factory --input-shape 2,3,224,224``.

``init_lint.cli`` dispatches ``init-lint verify ...`` here (``main(argv_after_verify)``);
``python -m init_lint.runtime.cli ...`` works too. Exit codes: 0 no findings, 1 findings,
2 usage error or a model that cannot be imported, built or run (a one-line message, no
traceback). The target is imported and built under :func:`~init_lint.runtime.sites.record_sites`,
so each finding is reported where its layer was constructed, in every ``--format`` (text, json,
sarif, github; json adds the measurement: ``module``, ``class``, ``activation``, ``fan_mode``,
``measured``, ``measured_interval``, ``expected``, ``scheme``, ``p_value``, ``alpha``).
``--static`` also runs the static checker on the model's source files and prints one merged
report (see :mod:`init_lint.runtime.merge`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

PROG = "init-lint verify"


class UsageError(Exception):
    """A problem with the command line or the target: reported in one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Build a model, run one forward pass on random input and check that each "
        "Linear/Conv layer is initialised for the activation that follows it.",
    )
    parser.add_argument(
        "target",
        help="package.module:factory (a callable returning the model, or a module-level nn.Module)",
    )
    parser.add_argument(
        "--input-shape",
        action="append",
        required=True,
        metavar="N,C,...",
        help="shape of a random input; repeat for a forward with several inputs",
    )
    parser.add_argument(
        "--kwargs",
        default="{}",
        metavar="JSON",
        help="keyword arguments for the factory, as a JSON object",
    )
    parser.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text")
    parser.add_argument(
        "--static",
        action="store_true",
        help="also run the static checker on the model's source files and print one merged "
        "report: each layer as both / static only / runtime only, with the reason",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.01,
        help="false-alarm rate for the whole model (default 0.01)",
    )
    parser.add_argument(
        "--through-norm",
        action="store_true",
        help="also judge layers that reach the activation through a norm layer",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds torch before the model is built and draws the random input (default 0): "
        "the same command gives the same report",
    )
    parser.add_argument(
        "--plot", metavar="OUT.png", help="save the signal-propagation curve (needs matplotlib)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_:  # argparse has printed usage and the error
        return int(exit_.code or 0)
    try:
        return _run(args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    shapes = [_parse_shape(text) for text in args.input_shape]
    factory_kwargs = _parse_kwargs(args.kwargs)
    if args.plot:
        try:
            import matplotlib.figure  # noqa: F401 - before the forward pass, not after it
        except ImportError as error:
            raise UsageError(
                f"--plot needs matplotlib ({error}): pip install 'init-lint[plot]'"
            ) from None
    try:
        import torch  # fail here with a clear message, not deep inside
    except ImportError as error:
        raise UsageError(f"needs torch ({error}): pip install 'init-lint[runtime]'") from None

    from .sites import record_sites
    from .verifier import verify

    torch.manual_seed(args.seed)  # the weights are random too: one command, one report
    with record_sites():
        model = _build_model(args.target, factory_kwargs)
    inputs = _random_inputs(model, shapes, args.seed)
    try:
        report = verify(
            model, *inputs, alpha=args.alpha, through_norm=args.through_norm, label=args.target
        )
    except Exception as error:  # noqa: BLE001 - the user's forward: report it, do not crash
        raise UsageError(f"forward pass of {args.target} failed: {_describe(error)}") from None
    static = _static_findings(model, args.through_norm) if args.static else None
    _print(report, args.format, static)
    if args.plot:
        from .plot import PlotUnavailable, plot_signal

        try:
            plot_signal(report, args.plot)
        except PlotUnavailable as error:
            raise UsageError(str(error)) from None
        except OSError as error:
            raise UsageError(f"cannot write {args.plot}: {error}") from None
        if args.format == "text":
            print(f"signal curve saved to {args.plot}")
    return 1 if report.findings or static else 0


def _static_findings(model: Any, through_norm: bool) -> list[Any]:
    from ..engine import lint_paths
    from ..options import Options
    from .merge import LAYER_CODES
    from .sites import source_files

    findings = lint_paths(source_files(model), Options(through_norm=through_norm))
    return [f for f in findings if f.code in LAYER_CODES]


def _print(report: Any, format_: str, static: list[Any] | None) -> None:
    from ..output import RENDERERS, Context

    findings = report.findings
    if format_ == "text":
        text = RENDERERS["text"](findings, Context())
        print(f"{text}\n{report}" if text else report)
    else:
        print(RENDERERS[format_](findings, Context()), end="")
    if static is not None and format_ in ("text", "github"):
        from .merge import merge, render

        print(("\n" if format_ == "text" else "") + render(merge(report, static)))


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        raise UsageError(f"--input-shape must be integers like 2,3,224,224, got {text!r}") from None
    if not shape or any(size <= 0 for size in shape):
        raise UsageError(f"--input-shape sizes must be positive, got {text!r}")
    return shape


def _parse_kwargs(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--kwargs is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise UsageError("--kwargs must be a JSON object")
    return value


def _build_model(target: str, kwargs: dict[str, Any]) -> Any:
    from torch import nn

    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"target must look like package.module:factory, got {target!r}")
    if os.getcwd() not in sys.path:  # as `python -m` would: models next to the user are found
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)  # under record_sites: module-level models
    except Exception as error:  # noqa: BLE001 - any import-time failure is a usage error here
        raise UsageError(f"cannot import {module_name!r}: {_describe(error)}") from None
    obj: Any = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if isinstance(obj, nn.Module):
        if kwargs:
            raise UsageError(f"{target} is a model instance: --kwargs cannot apply")
        return obj
    if not callable(obj):
        raise UsageError(f"{target} is neither a model nor a callable that returns one")
    try:
        model = obj(**kwargs)
    except Exception as error:  # noqa: BLE001
        raise UsageError(f"{target}(**{kwargs!r}) failed: {_describe(error)}") from None
    if not isinstance(model, nn.Module):
        raise UsageError(f"{target} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _random_inputs(model: Any, shapes: list[tuple[int, ...]], seed: int) -> list[Any]:
    """Standard-normal inputs on the model's device and dtype, from a private generator (the
    global RNG is not touched)."""
    import torch

    parameter = next((p for p in model.parameters() if not torch.nn.parameter.is_lazy(p)), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = (
        parameter.dtype
        if parameter is not None and parameter.is_floating_point()
        else torch.get_default_dtype()
    )
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return [
        torch.randn(shape, generator=generator).to(device=device, dtype=dtype) for shape in shapes
    ]


if __name__ == "__main__":
    sys.exit(main())
