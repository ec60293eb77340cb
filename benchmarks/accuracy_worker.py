"""The torch side of ``benchmarks/accuracy.py``: build real models, record where each layer was
constructed, and run init-lint's runtime verifier on them.

Runs as a long-lived subprocess started by ``accuracy.py`` (one per parallel slot): it reads one
JSON job per line on stdin and answers one JSON line per job on the file descriptor that was its
stdout (the real stdout is redirected to stderr, so that whatever a model prints cannot corrupt
the protocol). The parent kills and restarts a worker that exceeds its time budget or dies, so one
bad model never aborts a run.

    python benchmarks/accuracy_worker.py --sys-path REPO [--sys-path DIR ...] [--threads N]

``--sys-path`` entries go first on ``sys.path`` in the order given, before anything is imported:
the repository under test (for ``init_lint``) and, in the fix check, the directory holding the
fixed copies of torchvision and timm.

Jobs (``op``): ``list`` (the model names per package and group), ``meta`` (build on the meta
device: parameter count and construction sites, no weights), ``build`` (build for real, verify in
the requested views, return every Linear/Conv layer with its site and verdicts).
"""

from __future__ import annotations

import argparse
import gc
import json
import linecache
import math
import os
import re
import resource
import sys
import time
import traceback
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any

#: Version of the meta-device build's output: its results are cached under it (bump on change).
META_VERSION = 1
#: Package frames kept per layer, innermost first (the site, then the helpers that called it).
MAX_CHAIN = 4
#: A worker whose peak RSS passes this exits after its job, so big models do not pile up.
MAX_RSS_MB = 6000
#: Attribute set on each layer at construction (survives copy.deepcopy, which timm uses).
SITE_ATTRIBUTE = "_init_lint_accuracy_site"
#: Activation module classes (torch's and timm's own): which ones a model constructs tells
#: configurations of the same code apart (timm's fasternet_t0 uses GELU, fasternet_t2 ReLU).
ACTIVATION_NAME = re.compile(r"relu|tanh|sigmoid|gelu|silu|swish|mish|elu|softplus", re.I)


def emit(stream: Any, payload: dict[str, Any]) -> None:
    stream.write(json.dumps(payload) + "\n")
    stream.flush()


# -- construction sites ------------------------------------------------------------------------


class SiteRecorder:
    """Wraps ``nn.Linear.__init__`` and ``_ConvNd.__init__`` (every Linear/Conv, ConvTranspose
    and Lazy variant goes through one of them) to record where in the package source the layer
    was constructed: the innermost frame inside torchvision/timm that is not the layer's own
    ``__init__`` (a subclass such as timm's ``StdConv2d`` is sited where it is instantiated)."""

    def __init__(self, package_dirs: dict[str, str]) -> None:
        import torch

        # realpath: code objects carry the path the module was imported from.
        self.roots = [
            (os.path.realpath(path) + os.sep, os.path.dirname(os.path.realpath(path)))
            for path in package_dirs.values()
        ]
        self.torch_dir = os.path.dirname(os.path.realpath(torch.__file__)) + os.sep
        self.enabled = False
        self._positions: dict[CodeType, list[tuple[Any, ...]]] = {}
        self._relative: dict[str, str | None] = {}
        self._columns: dict[tuple[str, int, int], int] = {}

    def install(self) -> None:
        from torch import nn
        from torch.nn.modules.conv import _ConvNd

        for cls in (nn.Linear, _ConvNd):
            cls.__init__ = self._wrap(cls.__init__)  # type: ignore[method-assign]

    def _wrap(self, original: Callable[..., None]) -> Callable[..., None]:
        recorder = self

        def __init__(module: Any, *args: Any, **kwargs: Any) -> None:
            original(module, *args, **kwargs)
            if recorder.enabled and SITE_ATTRIBUTE not in module.__dict__:
                module.__dict__[SITE_ATTRIBUTE] = recorder.site_of(module, sys._getframe(1))

        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        return __init__

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.enabled = True
        try:
            yield
        finally:
            self.enabled = False

    def relative(self, filename: str) -> str | None:
        if filename not in self._relative:
            real = os.path.realpath(filename)
            self._relative[filename] = next(
                (
                    os.path.relpath(real, parent)
                    for root, parent in self.roots
                    if real.startswith(root)
                ),
                None,
            )
        return self._relative[filename]

    def site_of(self, module: Any, frame: FrameType | None) -> dict[str, Any]:
        chain: list[list[Any]] = []
        via_torch: str | None = None  # a torch class that built the layer (MultiheadAttention)
        subclass: str | None = None
        while frame is not None and len(chain) < MAX_CHAIN:
            code = frame.f_code
            if _is_own_init(frame, module):
                if not code.co_filename.startswith(self.torch_dir):
                    subclass = type(module).__qualname__
                frame = frame.f_back
                continue
            rel = self.relative(code.co_filename)
            if rel is not None:
                chain.append([rel, *self.position(frame), code.co_name])
            elif not chain and code.co_filename.startswith(self.torch_dir) and via_torch is None:
                owner = frame.f_locals.get("self") if code.co_argcount else None
                via_torch = type(owner).__name__ if owner is not None else code.co_name
            frame = frame.f_back
        return {"chain": chain, "via_torch": via_torch if chain else None, "subclass": subclass}

    def position(self, frame: FrameType) -> tuple[int, int | None]:
        """(line, 1-based character column) of the call the frame is executing."""
        code = frame.f_code
        positions = self._positions.get(code)
        if positions is None:
            positions = self._positions[code] = list(code.co_positions())
        index = frame.f_lasti // 2
        line, _, column, _ = positions[index] if 0 <= index < len(positions) else (None,) * 4
        if line is None:
            return frame.f_lineno, None
        if column is None:
            return line, None
        return line, self.character_column(code.co_filename, line, column)

    def character_column(self, filename: str, line: int, byte_offset: int) -> int:
        """co_positions gives UTF-8 byte offsets; linters (LibCST) count characters."""
        key = (filename, line, byte_offset)
        if key not in self._columns:
            text = linecache.getline(filename, line)
            prefix = text.encode("utf-8")[:byte_offset].decode("utf-8", "replace")
            self._columns[key] = len(prefix) + 1
        return self._columns[key]


def _is_own_init(frame: FrameType, module: Any) -> bool:
    code = frame.f_code
    if code.co_name != "__init__" or not code.co_argcount:
        return False
    return frame.f_locals.get(code.co_varnames[0]) is module


# -- the last init call that wrote each weight -------------------------------------------------

#: Public tensor-init functions wrapped, per module: torch's (also bound by ``from torch.nn.init
#: import ...`` in torch's own modules) and timm's own (timm's trunc_normal_ writes through
#: ``uniform_`` + ``erfinv_`` + ``mul_``...: the outermost known call is what the code asked for).
INIT_FUNCTIONS = {
    "torch.nn.init": (
        "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
        "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
        "orthogonal_", "sparse_", "uniform", "normal", "constant", "eye", "dirac",
        "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
        "sparse",
    ),
    "timm.layers.weight_init": (
        "trunc_normal_", "trunc_normal_tf_", "variance_scaling_", "lecun_normal_",
    ),
}  # fmt: skip
#: In-place Tensor methods that write a tensor's values from scratch (when called on all of it).
TENSOR_WRITES = (
    "normal_", "uniform_", "fill_", "zero_", "copy_", "random_", "bernoulli_", "exponential_",
    "geometric_", "log_normal_", "cauchy_",
)  # fmt: skip
#: In-place Tensor methods that change values already written (a scalar mul_/div_ is tracked as
#: a factor, a scalar add_/sub_ as a shift; anything else makes the scale unknown).
TENSOR_CHANGES = (
    "mul_", "div_", "add_", "sub_", "__imul__", "__itruediv__", "__iadd__", "__isub__",
    "clamp_", "clamp_min_", "clamp_max_", "clip_", "erfinv_", "neg_", "abs_", "sqrt_", "pow_",
    "exp_", "tanh_", "sigmoid_", "sign_", "masked_fill_", "index_fill_", "fill_diagonal_",
    "scatter_", "index_copy_", "addcmul_", "addcdiv_", "lerp_", "renorm_", "__setitem__",
)  # fmt: skip
#: Arguments of init calls that decide the scale.
SCALE_ARGUMENTS = (
    "mean", "std", "a", "b", "mode", "nonlinearity", "gain", "val", "value", "sparsity",
    "scale", "distribution", "from", "to",
)  # fmt: skip
#: Std of a standard normal truncated to ±2 (timm's variance_scaling_ divides by it).
TRUNCATED_2SIGMA_STD = 0.87962566103423978


def storage_key(tensor: Any) -> tuple[int, bool, int] | None:
    """(address of the tensor's storage, whether the tensor covers only part of it, the
    storage's size); None for tensors without a real storage (meta, lazy)."""
    try:
        storage = tensor.untyped_storage()
        address, size = storage.data_ptr(), storage.nbytes()
        if not address:
            return None
        return address, tensor.numel() * tensor.element_size() < size, size
    except Exception:  # noqa: BLE001 - anything odd is simply not recorded
        return None


def _plain(value: Any) -> Any:
    """An argument as JSON: numbers, strings, None; 0-d tensors as numbers; else its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        import torch

        if isinstance(value, torch.Tensor) and value.numel() == 1:
            return float(value)
    except Exception:  # noqa: BLE001
        pass
    return repr(value)[:60]


class InitRecorder:
    """Records, keyed by storage, the last init call that wrote each tensor while enabled.

    Wraps the public functions of ``torch.nn.init`` (and timm's own, when
    ``timm.layers.weight_init`` is imported) and the in-place Tensor methods above. Only the
    outermost call is recorded (the Tensor methods an init function uses inside are not), and
    the wrappers only call through: the random stream is untouched. Disabled (the default), a
    wrapper costs one attribute test."""

    def __init__(self) -> None:
        self.enabled = False
        self.depth = 0
        self.errors = 0
        self.writes: dict[int, dict[str, Any]] = {}
        self.originals: dict[Any, Any] = {}  # wrapper -> original
        self._signatures: dict[str, Any] = {}

    # installation

    def install(self) -> None:
        """Wrap torch.nn.init now (rebinding the names torch's own modules imported from it)
        and timm's weight_init as soon as it is imported. Call before importing torchvision and
        timm, which bind ``from ... import trunc_normal_`` at import time."""
        import torch
        import torch.nn.init as torch_init

        self._wrap_module(torch_init, INIT_FUNCTIONS["torch.nn.init"], "torch.nn.init")
        for name in TENSOR_WRITES + TENSOR_CHANGES:
            original = getattr(torch.Tensor, name, None)
            if original is not None:
                setattr(torch.Tensor, name, self._method(name, original))
        torch.Tensor.clone = self._clone(torch.Tensor.clone)  # type: ignore[method-assign]
        sys.meta_path.insert(0, _PatchOnImport({"timm.layers.weight_init": self._patch_timm}))
        if "timm.layers.weight_init" in sys.modules:  # imported already: patch now
            self._patch_timm(sys.modules["timm.layers.weight_init"])

    def _patch_timm(self, module: Any) -> None:
        self._wrap_module(
            module, INIT_FUNCTIONS["timm.layers.weight_init"], "timm.layers.weight_init"
        )

    def _wrap_module(self, module: Any, names: tuple[str, ...], source: str) -> None:
        import inspect

        replaced = {}
        for name in names:
            original = getattr(module, name, None)
            if original is None or original in self.originals:
                continue
            try:
                self._signatures[f"{source}.{name}"] = inspect.signature(original)
            except (TypeError, ValueError):
                continue
            wrapper = self._function(name, source, original)
            setattr(module, name, wrapper)
            replaced[original] = wrapper
        # Names already bound elsewhere (torch.nn.modules.transformer imports xavier_uniform_).
        for other in list(sys.modules.values()):
            namespace = getattr(other, "__dict__", None)
            if other is module or not isinstance(namespace, dict):
                continue
            for key, value in list(namespace.items()):
                try:
                    wrapper = replaced.get(value)
                except Exception:  # noqa: BLE001 - unhashable
                    continue
                if wrapper is not None:
                    namespace[key] = wrapper

    def _function(self, name: str, source: str, original: Callable[..., Any]) -> Callable:
        recorder = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not recorder.enabled or recorder.depth:
                return original(*args, **kwargs)
            recorder.depth += 1
            try:
                result = original(*args, **kwargs)
            finally:
                recorder.depth -= 1
            recorder._call(name, source, args, kwargs, sys._getframe(1))
            return result

        wrapper.__name__ = wrapper.__qualname__ = name
        wrapper.__doc__ = original.__doc__
        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        self.originals[wrapper] = original
        return wrapper

    def _method(self, name: str, original: Any) -> Callable:
        recorder = self
        changes = name in TENSOR_CHANGES

        def method(tensor: Any, *args: Any, **kwargs: Any) -> Any:
            if not recorder.enabled or recorder.depth:
                return original(tensor, *args, **kwargs)
            recorder.depth += 1
            try:
                result = original(tensor, *args, **kwargs)
            finally:
                recorder.depth -= 1
            if changes:
                recorder._change(name, tensor, args)
            else:
                recorder._tensor_write(name, tensor, args, kwargs, sys._getframe(1))
            return result

        method.__name__ = method.__qualname__ = name
        method.__doc__ = getattr(original, "__doc__", None)
        self.originals[method] = original
        return method

    def _clone(self, original: Any) -> Callable:
        recorder = self

        def clone(tensor: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(tensor, *args, **kwargs)
            if recorder.enabled and not recorder.depth:
                recorder.clone_record(tensor, result)
            return result

        clone.__name__ = clone.__qualname__ = "clone"
        clone.__doc__ = getattr(original, "__doc__", None)
        self.originals[clone] = original
        return clone

    # recording (never raises: a failure only loses that record)

    def _call(self, name: str, source: str, args: tuple, kwargs: dict, frame: Any) -> None:
        try:
            bound = self._signatures[f"{source}.{name}"].bind(*args, **kwargs)
            bound.apply_defaults()
            values = dict(bound.arguments)
            tensor = values.pop("tensor", None)
            if tensor is None:
                tensor = args[0]
            arguments = {k: _plain(v) for k, v in values.items() if k in SCALE_ARGUMENTS}
            self._write(name, source, tensor, arguments, frame)
        except Exception:  # noqa: BLE001
            self.errors += 1

    def _tensor_write(self, name: str, tensor: Any, args: tuple, kwargs: dict, frame: Any) -> None:
        try:
            if name == "copy_" and self._inherit(args[0] if args else kwargs.get("src"), tensor):
                return
            positional = {
                "normal_": ("mean", "std"),
                "uniform_": ("from", "to"),
                "fill_": ("value",),
            }.get(name, ())
            arguments = {k: _plain(v) for k, v in zip(positional, args, strict=False)}
            arguments.update({k: _plain(v) for k, v in kwargs.items() if k in SCALE_ARGUMENTS})
            self._write(name, "Tensor", tensor, arguments, frame)
        except Exception:  # noqa: BLE001
            self.errors += 1

    def _write(self, name: str, source: str, tensor: Any, arguments: dict, frame: Any) -> None:
        key = storage_key(tensor)
        if key is None:
            return
        address, partial, size = key
        if partial:  # part of a weight (a slice, a row): the scale of the rest is another's
            self._change(f"{name} on part of it", tensor, ())
            return
        where = (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name) if frame else None
        self.writes[address] = {**_record(name, source, arguments, tensor, where), "size": size}

    def _change(self, name: str, tensor: Any, args: tuple) -> None:
        try:
            key = storage_key(tensor)
            if key is None:
                return
            previous = self.writes.get(key[0])
            if previous is not None and previous.get("size") == key[2]:
                record = dict(previous)
            else:  # changed with no recorded write before: its scale is unknown
                record = {**_record(None, None, {}, tensor, None), "exact_after": False}
                record["size"] = key[2]
            scalar = args[0] if len(args) == 1 and isinstance(args[0], (int, float)) else None
            if key[1] or scalar is None or name not in (
                "mul_", "div_", "add_", "sub_", "__imul__", "__itruediv__", "__iadd__", "__isub__"
            ):  # fmt: skip
                record["exact_after"] = False
                record["after"] = [*record["after"], name]
            else:
                scalar = float(scalar)
                if name in ("mul_", "__imul__"):
                    record["factor"] *= scalar
                    record["shift"] *= scalar
                elif name in ("div_", "__itruediv__"):
                    record["factor"] /= scalar
                    record["shift"] /= scalar
                else:
                    record["shift"] += scalar if name in ("add_", "__iadd__") else -scalar
                record["after"] = [*record["after"], f"{name}({scalar:g})"]
            self.writes[key[0]] = record
        except Exception:  # noqa: BLE001
            self.errors += 1

    def clone_record(self, source: Any, result: Any) -> None:
        """Carry a tensor's record over to its copy (``Parameter.__deepcopy__`` clones)."""
        try:
            self._inherit(source, result, "clone")
        except Exception:  # noqa: BLE001
            self.errors += 1

    def _inherit(self, source: Any, target: Any, how: str = "copy_") -> bool:
        """Give ``target`` the record of ``source`` when both are whole storages of one size
        (a copy of all of it): whether it did."""
        old, new = storage_key(source), storage_key(target)
        if not old or not new or old[1] or new[1] or old[2] != new[2]:
            return False
        record = self.writes.get(old[0])
        if record is None or record.get("size") != old[2]:
            return False
        self.writes[new[0]] = {**record, "via": how}
        return True

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.writes.clear()
        self.errors = 0
        self.enabled = True
        try:
            yield
        finally:
            self.enabled = False

    def last_write(self, weight: Any, where: Callable[[tuple], str | None]) -> dict[str, Any]:
        """The weight's last recorded write, with the exact scale it gives where it is known
        (std·√fan for torch's fans of the weight: the fix check rescales to the true fans)."""
        import torch

        key = storage_key(weight)
        record = self.writes.get(key[0]) if key else None
        if record is not None and record.get("size") != key[2]:  # type: ignore[index]
            record = None  # a freed tensor's record at a reused address
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(weight)
        if record is None:
            return {
                "function": None,
                "fan_in": fan_in,
                "fan_out": fan_out,
                "exact": False,
                "why": "no write recorded (the weight's storage was replaced)",
            }
        out: dict[str, Any] = {
            "function": record["function"],
            "source": record["source"],
            "args": record["args"],
            "at": where(record["frame"]) if record["frame"] else None,
            "fan_in": fan_in,
            "fan_out": fan_out,
        }
        for key_name in ("after", "via"):
            if record.get(key_name):
                out[key_name] = record[key_name]
        if record["shape"] != list(weight.shape):
            out["called_shape"] = record["shape"]
        why = None
        scale = None
        if record["function"] is None:
            why = "changed in place with no recorded init before"
        elif not record["exact_after"]:
            why = f"changed after the call ({', '.join(record['after'])})"
        elif math.prod(record["shape"]) != weight.numel():
            why = "called on a tensor of another size"
        else:
            scale = intended_scale(record["function"], record["args"], record["shape"])
            if scale is None:
                why = f"no exact scale known for {record['function']}"
        if scale is not None:
            std, mean = scale
            std, mean = std * abs(record["factor"]), mean * record["factor"] + record["shift"]
            out.update(
                std=std,
                mean=mean,
                gain_fan_in=std * math.sqrt(fan_in),
                gain_fan_out=std * math.sqrt(fan_out),
            )
        out["exact"] = scale is not None
        if why:
            out["why"] = why
        return out


def _record(
    function: str | None, source: str | None, arguments: dict, tensor: Any, frame: tuple | None
) -> dict[str, Any]:
    """One write: the call, its arguments, the shape it saw and where it was called; then the
    in-place changes after it (a scalar factor and shift, or names that make the scale unknown)."""
    return {
        "function": function,
        "source": source,
        "args": arguments,
        "shape": list(tensor.shape),
        "frame": frame,
        "after": [],
        "factor": 1.0,
        "shift": 0.0,
        "exact_after": True,
    }


class _PatchOnImport:
    """A meta path finder that runs a callback on a module right after it executes, before
    whoever imported it reads its names (``from .weight_init import trunc_normal_``)."""

    def __init__(self, callbacks: dict[str, Callable[[Any], None]]) -> None:
        self.callbacks = callbacks

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        callback = self.callbacks.get(fullname)
        if callback is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader, callback)
                return spec
        return None


class _PatchingLoader:
    def __init__(self, loader: Any, callback: Callable[[Any], None]) -> None:
        self.loader, self.callback = loader, callback

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        try:
            self.callback(module)
        except Exception:  # noqa: BLE001 - unpatched, the build still works
            traceback.print_exc()

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ... for tracebacks
        return getattr(self.loader, name)


def _truncated_std(low: float, high: float) -> float:
    """Std of a standard normal truncated to [low, high]."""
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    mass = cdf(high) - cdf(low)
    if mass <= 0:
        return 0.0
    lo = low * pdf(low) if math.isfinite(low) else 0.0
    hi = high * pdf(high) if math.isfinite(high) else 0.0
    shift = (pdf(low) - pdf(high)) / mass
    return math.sqrt(max(1 + (lo - hi) / mass - shift * shift, 0.0))


def intended_scale(function: str, args: dict[str, Any], shape: list[int]) -> tuple | None:
    """(std, mean) an init call gives a tensor of this shape, computed from its arguments as
    torch/timm do; None where it is not one number (eye_, dirac_, sparse_, random draws...)."""
    from torch.nn.init import calculate_gain

    name = function.rstrip("_") + "_"
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    fan_in = shape[1] * receptive if len(shape) > 1 else None
    fan_out = shape[0] * receptive if len(shape) > 1 else None
    number = lambda key, default: float(args.get(key, default))  # noqa: E731
    if name in ("kaiming_normal_", "kaiming_uniform_"):
        fan = fan_in if args.get("mode", "fan_in") == "fan_in" else fan_out
        gain = calculate_gain(args.get("nonlinearity", "leaky_relu"), args.get("a", 0))
        return (gain / math.sqrt(fan), 0.0) if fan else None
    if name in ("xavier_normal_", "xavier_uniform_"):
        if not fan_in or not fan_out:
            return None
        return number("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out)), 0.0
    if name == "normal_":
        return number("std", 1.0), number("mean", 0.0)
    if name == "uniform_":
        low = number("a" if "a" in args else "from", 0.0)
        high = number("b" if "b" in args else "to", 1.0)
        return (high - low) / math.sqrt(12.0), (low + high) / 2
    if name == "trunc_normal_":  # bounds a, b in the tensor's units (torch and timm alike)
        mean, std = number("mean", 0.0), number("std", 1.0)
        if std <= 0:
            return None
        low, high = (number("a", -2.0) - mean) / std, (number("b", 2.0) - mean) / std
        if abs(low + high) > 1e-12:  # asymmetric: the mean moves too; not needed here
            return None
        return std * _truncated_std(low, high), mean
    if name == "trunc_normal_tf_":  # bounds in units of the standard normal, then scaled
        low, high = number("a", -2.0), number("b", 2.0)
        if abs(low + high) > 1e-12:
            return None
        return number("std", 1.0) * _truncated_std(low, high), number("mean", 0.0)
    if name in ("variance_scaling_", "lecun_normal_"):
        mode = args.get("mode", "fan_in")
        if not fan_in or not fan_out:
            return None
        denominator = {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2)
        variance = number("scale", 1.0) / denominator
        distribution = args.get("distribution", "truncated_normal" if name == "lecun_normal_"
                                else "normal")  # fmt: skip
        if distribution == "truncated_normal":  # trunc_normal_tf_(std=√v/.8796..., ±2σ)
            return (
                math.sqrt(variance) / TRUNCATED_2SIGMA_STD * _truncated_std(-2.0, 2.0),
                0.0,
            )
        return math.sqrt(variance), 0.0
    if name in ("constant_", "fill_"):
        return 0.0, number("val" if "val" in args else "value", 0.0)
    if name in ("zeros_", "zero_"):
        return 0.0, 0.0
    if name == "ones_":
        return 0.0, 1.0
    if name == "orthogonal_" and fan_out:  # rows or columns of norm gain: rms gain/√max(r, c)
        rows = shape[0]
        columns = math.prod(shape) // rows
        return number("gain", 1.0) / math.sqrt(max(rows, columns)), 0.0
    return None


# -- model builders and inputs -----------------------------------------------------------------


class Builders:
    """How to build each package's models and what to feed them (small inputs, CPU)."""

    def __init__(self) -> None:
        import torchvision  # noqa: F401 - registers the models

        self._groups: dict[str, str] | None = None

    def torchvision_groups(self) -> dict[str, str]:
        if self._groups is None:
            import torchvision.models as tv_models

            modules = {
                "classification": tv_models,
                "detection": tv_models.detection,
                "segmentation": tv_models.segmentation,
                "video": tv_models.video,
                "optical_flow": tv_models.optical_flow,
                "quantization": tv_models.quantization,
            }
            self._groups = {}
            for group, module in modules.items():
                for name in tv_models.list_models(module=module):
                    self._groups.setdefault(name, group)
        return self._groups

    def list_models(self) -> dict[str, list[dict[str, str]]]:
        import timm

        try:  # private, but the only record of which module registered a model
            from timm.models._registry import _model_to_module
        except ImportError:
            _model_to_module = {}
        tv = [
            {"model": name, "group": group}
            for name, group in sorted(self.torchvision_groups().items())
        ]
        tm = [
            {"model": name, "group": _model_to_module.get(name, "unknown")}
            for name in timm.list_models()
        ]
        return {"torchvision": tv, "timm": tm}

    def build(self, package: str, name: str) -> Any:
        if package == "torchvision":
            return self._build_torchvision(name)
        import timm

        return timm.create_model(name, pretrained=False)

    def _build_torchvision(self, name: str) -> Any:
        import torchvision.models as tv_models

        group = self.torchvision_groups().get(name, "classification")
        kwargs: dict[str, Any] = {"weights": None}
        if group in ("detection", "segmentation"):
            kwargs["weights_backbone"] = None  # the default would download ImageNet weights
        if group == "detection" and not name.startswith("ssd"):
            kwargs.update(min_size=320, max_size=320)  # the 800-pixel default is slow on CPU
        if group == "quantization":
            kwargs["quantize"] = False  # the float model that quantization starts from
        return tv_models.get_model(name, **kwargs)

    def inputs(self, package: str, name: str, model: Any) -> list[tuple[str, tuple, dict]]:
        """Candidate (description, args, kwargs) for one forward pass, tried in order."""
        import torch

        generator = torch.Generator().manual_seed(1234)

        def image(*shape: int) -> Any:
            return torch.randn(*shape, generator=generator)

        candidates: list[tuple[str, tuple, dict]] = []
        if package == "timm":
            size = tuple(getattr(model, "pretrained_cfg", {}).get("input_size") or (3, 224, 224))
            candidates.append((f"1x{'x'.join(map(str, size))}", (image(1, *size),), {}))
            if size != (3, 224, 224):
                candidates.append(("1x3x224x224", (image(1, 3, 224, 224),), {}))
            return candidates
        group = self.torchvision_groups().get(name, "classification")
        if group == "detection":
            side = 300 if name.startswith("ssd300") else 320
            picture = torch.rand(3, side, side, generator=generator)
            return [(f"[3x{side}x{side}]", ([picture],), {})]
        if group == "video":
            for shape in ((1, 3, 8, 112, 112), (1, 3, 16, 224, 224)):
                candidates.append(("x".join(map(str, shape)), (image(*shape),), {}))
            return candidates
        if group == "optical_flow":
            pair = (image(1, 3, 128, 128), image(1, 3, 128, 128))
            return [("2 x 1x3x128x128, 2 flow updates", pair, {"num_flow_updates": 2})]
        side = 299 if "inception_v3" in name else 224
        return [(f"1x3x{side}x{side}", (image(1, 3, side, side),), {})]


# -- verification ------------------------------------------------------------------------------


@contextmanager
def shared_weight_samples() -> Iterator[None]:
    """Measure each weight once for both views: the verifier's ``weight_sample`` is a pure
    function of the tensor, and on models with 100M+ weights it is most of the run time.
    Skipped silently if the runtime under test no longer has that function."""
    try:
        from init_lint.runtime import verifier
    except ImportError:
        yield
        return
    original = getattr(verifier, "weight_sample", None)
    if original is None:
        yield
        return
    memo: dict[tuple[int, int, int], Any] = {}

    def weight_sample(weight: Any) -> Any:
        key = (id(weight), weight.data_ptr(), weight._version)
        if key not in memo:
            memo[key] = original(weight)
        return memo[key]

    verifier.weight_sample = weight_sample
    try:
        yield
    finally:
        verifier.weight_sample = original


def row_json(row: Any) -> dict[str, Any]:
    """The fields of one verifier row (``LayerResult``) that the comparison needs."""
    data = row.to_json() if hasattr(row, "to_json") else {}
    out: dict[str, Any] = {
        "status": row.status,
        "code": row.code,
        "activation": data.get("activation"),
        "via_norm": bool(getattr(row, "via_norm", data.get("via_norm", False))),
        "follows": data.get("follows"),
        "scheme": data.get("scheme"),
        "distribution": data.get("distribution"),
        "gain": data.get("gain"),
        "gain_mode": data.get("gain_mode"),
        "expected": data.get("expected_gain"),
        # the true fans and whether only the forward one counts (the fix check's exact test)
        "fan_in": data.get("fan_in"),
        "fan_out": data.get("fan_out"),
        "strided": bool(getattr(getattr(row, "fans", None), "strided", False)),
        "family": getattr(getattr(getattr(row, "activation", None), "family", None), "value", None),
    }
    interval = data.get("std_interval")
    fan = data.get("fan_in") if data.get("gain_mode") == "fan_in" else data.get("fan_out")
    if interval and fan:
        out["interval"] = [interval[0] * math.sqrt(fan), interval[1] * math.sqrt(fan)]
    if row.status not in ("ok", "not checked"):
        out["message"] = row.message() if hasattr(row, "message") else data.get("message")
    return out


def run_views(model: Any, args: tuple, kwargs: dict, views: list[str]) -> dict[str, Any]:
    from init_lint.runtime import verify

    reports = {}
    with shared_weight_samples():
        for view in views:
            reports[view] = verify(model, *args, through_norm=view == "through_norm", **kwargs)
    return reports


def training_mode_wrapper(model: Any) -> Any:
    """A module whose forward runs ``model`` in training mode: the verifier runs its pass in eval
    mode, where auxiliary heads (GoogLeNet's, Inception's) are never called. The verifier still
    restores every flag, buffer (BatchNorm statistics) and the RNG state afterwards."""
    from torch import nn

    class TrainingMode(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            self.inner.train()
            try:
                return self.inner(*args, **kwargs)
            finally:
                self.inner.eval()

    return TrainingMode(model)


def doubled_batch(args: tuple) -> tuple:
    """Batch of 2: BatchNorm in training mode rejects one value per channel."""
    import torch

    return tuple(
        torch.cat([a, a]) if isinstance(a, torch.Tensor) and a.dim() > 1 else a for a in args
    )


# -- jobs --------------------------------------------------------------------------------------


class Worker:
    def __init__(self, inits: InitRecorder) -> None:
        self.inits = inits  # installed before this imports torchvision and timm
        import timm
        import torch
        import torchvision

        self.versions = {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "timm": timm.__version__,
        }
        self.package_dirs = {
            "torchvision": os.path.dirname(torchvision.__file__),
            "timm": os.path.dirname(timm.__file__),
        }
        self.recorder = SiteRecorder(self.package_dirs)
        self.recorder.install()
        self.builders = Builders()

    def handle(self, job: dict[str, Any]) -> dict[str, Any]:
        op = job["op"]
        if op == "hello":
            import init_lint

            return {
                "versions": self.versions,
                "package_dirs": self.package_dirs,
                "init_lint": os.path.dirname(init_lint.__file__),
            }
        if op == "list":
            return {"models": self.builders.list_models()}
        if op == "meta":
            return self.meta(job["package"], job["model"])
        if op == "build":
            return self.build(job)
        raise ValueError(f"unknown op {op!r}")

    def meta(self, package: str, name: str) -> dict[str, Any]:
        """Parameter count and construction sites without allocating or initialising weights."""
        import torch

        start = time.perf_counter()
        with torch.device("meta"), self.recorder.recording():
            model = self.builders.build(package, name)
        sites: dict[tuple, dict[str, Any]] = {}
        for _, module in model.named_modules():
            site = module.__dict__.get(SITE_ATTRIBUTE)
            if site and site["chain"]:
                path, line, column, _ = site["chain"][0]
                entry = sites.setdefault((path, line, column), {"count": 0, "direct": True})
                entry["count"] += 1
                entry["direct"] = entry["direct"] and site["via_torch"] is None
        params = sum(p.numel() for p in model.parameters() if not _is_lazy(p))
        activations = sorted(
            {type(m).__name__ for m in model.modules() if ACTIVATION_NAME.search(type(m).__name__)}
        )
        return {
            "params": params,
            "seconds": time.perf_counter() - start,
            "sites": [[*key, v["count"], v["direct"]] for key, v in sorted(sites.items())],
            "activations": activations,
        }

    def build(self, job: dict[str, Any]) -> dict[str, Any]:
        import torch
        from torch import nn
        from torch.nn.modules.conv import _ConvNd

        package, name = job["package"], job["model"]
        views = job.get("views", ["default", "through_norm"])
        torch.manual_seed(job.get("seed", 0))
        result: dict[str, Any] = {"params": None, "layers": [], "views": {}}
        start = time.perf_counter()
        try:
            with self.recorder.recording(), self.inits.recording():
                model = self.builders.build(package, name)
        except Exception:  # noqa: BLE001 - reported, the run goes on
            self.inits.writes.clear()
            return {**result, "error": _error_text(), "stage": "build"}
        result["build_seconds"] = time.perf_counter() - start
        last_calls = self.last_init_calls(model)
        result["init_record_errors"] = self.inits.errors
        result["params"] = sum(p.numel() for p in model.parameters() if not _is_lazy(p))

        reports: dict[str, Any] = {}
        errors = []
        start = time.perf_counter()
        for description, args, kwargs in self.builders.inputs(package, name, model):
            try:
                reports = run_views(model, args, kwargs, views)
                result["input"] = description
                break
            except Exception:  # noqa: BLE001 - try the next input shape
                errors.append(f"input {description}: {_error_text()}")
        result["verify_seconds"] = time.perf_counter() - start
        if not reports:
            result.update(error="\n".join(errors), stage="forward")
        wrapped = wrapped_activation_inputs(model, args, kwargs) if reports else {}

        rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for view, report in reports.items():
            for row in report.layers:
                rows.setdefault(row.name, {}).setdefault(view, []).append(row_json(row))
            result["views"][view] = {"summary": report.summary(), "tests": report.tests}
        modules = dict(model.named_modules())
        uncalled = {
            name
            for name, by_view in rows.items()
            if all(r["status"] == "not called" for r in by_view.get(views[0], []))
            # torch's own sublayers (MultiheadAttention.out_proj) are never called as modules
            and not (modules[name].__dict__.get(SITE_ATTRIBUTE) or {}).get("via_torch")
        }
        if reports and uncalled:
            training_pass(model, args, kwargs, views, rows, uncalled, result)
        for layer_name, module in model.named_modules():
            if not isinstance(module, (nn.Linear, _ConvNd)):
                continue
            site = module.__dict__.get(SITE_ATTRIBUTE) or {
                "chain": [],
                "via_torch": None,
                "subclass": None,
            }
            note = weight_transform(module) or wrapped.get(layer_name)
            result["layers"].append(
                {
                    "name": layer_name or "<model>",
                    "class": type(module).__name__,
                    **weight_scale(module),
                    **site,
                    "rows": rows.get(layer_name or "<model>", {}),
                    **({"note": note} if note else {}),
                    **({"init": last_calls[layer_name]} if layer_name in last_calls else {}),
                }
            )
        del model, reports
        return result

    def last_init_calls(self, model: Any) -> dict[str, dict[str, Any]]:
        """Each Linear/Conv weight's last recorded write during construction (see
        InitRecorder.last_write); the records are dropped afterwards."""
        from torch import nn
        from torch.nn.modules.conv import _ConvNd

        out = {}
        try:
            for layer_name, module in model.named_modules():
                weight = getattr(module, "weight", None)
                if not isinstance(module, (nn.Linear, _ConvNd)) or weight is None:
                    continue
                if _is_lazy(weight) or weight.dim() < 2:
                    continue
                try:
                    out[layer_name] = self.inits.last_write(weight, self.call_site)
                except Exception:  # noqa: BLE001 - that layer only
                    out[layer_name] = {"function": None, "exact": False, "why": _error_text()}
        finally:
            self.inits.writes.clear()
        return out

    def call_site(self, frame: tuple[str, int, str]) -> str:
        """'timm/models/resnet.py:612' for package code, 'torch:reset_parameters' for torch's."""
        filename, line, function = frame
        relative = self.recorder.relative(filename)
        if relative is not None:
            return f"{relative}:{line}"
        if os.path.realpath(filename).startswith(self.recorder.torch_dir):
            return f"torch:{function}"
        return f"{os.path.basename(filename)}:{line}"


def training_pass(
    model: Any,
    args: tuple,
    kwargs: dict,
    views: list[str],
    rows: dict[str, dict[str, list[dict[str, Any]]]],
    uncalled: set[str],
    result: dict[str, Any],
) -> None:
    """Rows for the layers the eval-mode pass never called, from a training-mode pass
    (marked ``"mode": "train"``). A model that cannot run in training mode without targets
    (detection) keeps them "not called"."""
    try:
        reports = run_views(training_mode_wrapper(model), doubled_batch(args), kwargs, views)
    except Exception:  # noqa: BLE001 - the eval-mode rows stand
        result["training_pass"] = f"failed: {_error_text().splitlines()[-1]}"
        return
    found = 0
    for view, report in reports.items():
        for row in report.layers:
            name = row.name.removeprefix("inner.")
            if name in uncalled and row.status != "not called":
                if view == views[0]:
                    found += 1
                rows[name][view] = [
                    r for r in rows[name].get(view, []) if r["status"] != "not called"
                ] + [{**row_json(row), "mode": "train"}]
    result["training_pass"] = f"{found} of {len(uncalled)} uncalled layers reached"


#: timm's weight-standardised convs normalise the weight in forward: its init scale is moot.
STANDARDISED_WEIGHT = re.compile(r"StdConv")


def weight_transform(module: Any) -> str | None:
    """Why the verifier's verdict on the stored weight does not apply, if it does not."""
    for cls in type(module).__mro__:
        if STANDARDISED_WEIGHT.search(cls.__name__):
            return f"weight standardised in forward ({cls.__name__})"
    return None


def wrapped_activation_inputs(model: Any, args: tuple, kwargs: dict) -> dict[str, str]:
    """Layers whose output reaches a ReLU-family/Tanh/Sigmoid module that sits inside a custom
    activation module which transforms its result (timm's ``StarReLU``: s·relu(x)²+b). The
    verifier's tracer sees the inner module and judges the layer for it; the function the
    layer really feeds is another one, so the verdict is not ground truth.

    One extra forward pass in eval mode under no_grad, with hooks: a layer is matched when the
    inner activation's input shares storage with the layer's output, directly or through a norm
    layer (views, Dropout and Identity keep the storage); a wrapper transforms when its output
    is not the inner activation's output tensor."""
    import torch
    from torch import nn
    from torch.nn.modules.conv import _ConvNd

    judged = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.Tanh, nn.Sigmoid)
    norms = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
    pairs = []  # (wrapper, inner activation)
    for wrapper in model.modules():
        if type(wrapper).__module__.startswith("torch.nn"):
            continue
        if any(isinstance(m, (nn.Linear, _ConvNd)) for m in wrapper.modules()):
            continue
        pairs += [(wrapper, c) for c in wrapper.children() if isinstance(c, judged)]
    if not pairs:
        return {}

    def first_tensor(value: Any) -> Any:
        if isinstance(value, (tuple, list)) and value:
            value = value[0]
        ok = isinstance(value, torch.Tensor) and value.device.type != "meta"
        return value if ok else None

    names = {id(m): n for n, m in model.named_modules()}
    # storage address -> (layer, weak reference to the tensor that held it): the address of a
    # freed tensor is reused, so an entry only counts while its tensor is alive.
    latest: dict[int, tuple[str, Any]] = {}
    last_output: dict[int, Any] = {}  # inner activation -> its latest output
    reached: list[tuple[str, Any]] = []  # (layer, wrapper)
    transforms: dict[int, bool] = {}

    def source_of(value: Any) -> str | None:
        tensor = first_tensor(value)
        entry = latest.get(tensor.untyped_storage().data_ptr()) if tensor is not None else None
        return entry[0] if entry is not None and entry[1]() is not None else None

    def remember(value: Any, layer: str) -> None:
        tensor = first_tensor(value)
        if tensor is not None:
            latest[tensor.untyped_storage().data_ptr()] = (layer, weakref.ref(tensor))

    def layer_hook(module: Any, inputs: tuple, output: Any) -> None:
        remember(output, names[id(module)])

    def norm_hook(module: Any, inputs: tuple, output: Any) -> None:
        layer = source_of(inputs)
        if layer is not None:
            remember(output, layer)

    handles = []
    for module in model.modules():
        if isinstance(module, (nn.Linear, _ConvNd)):
            handles.append(module.register_forward_hook(layer_hook))
        elif isinstance(module, norms):
            handles.append(module.register_forward_hook(norm_hook))
    for wrapper, inner in pairs:

        def pre(module: Any, inputs: tuple, wrapper: Any = wrapper) -> None:
            layer = source_of(inputs)
            if layer is not None:
                reached.append((layer, wrapper))

        def inner_post(module: Any, inputs: tuple, output: Any) -> None:
            last_output[id(module)] = output

        def wrapper_post(module: Any, inputs: tuple, output: Any, inner: Any = inner) -> None:
            transforms[id(module)] = transforms.get(id(module), False) or (
                output is not last_output.get(id(inner))
            )

        handles.append(inner.register_forward_pre_hook(pre))
        handles.append(inner.register_forward_hook(inner_post))
        handles.append(wrapper.register_forward_hook(wrapper_post))
    training = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            model(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the verifier's pass worked; no notes then
        return {}
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in training:
            module.training = flag
    return {
        layer: f"feeds {type(wrapper).__name__}, a custom activation wrapping "
        f"{', '.join(type(c).__name__ for c in wrapper.children())} that transforms its output"
        for layer, wrapper in reached
        if transforms.get(id(wrapper))
    }


def weight_scale(module: Any) -> dict[str, Any]:
    """Shape and rms·√fan_in (torch's fan_in) of every layer, also those the verifier does not
    judge: the fix check compares them between the original and the fixed build."""
    import torch

    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or _is_lazy(weight) or weight.dim() < 2:
        return {"shape": None}
    n = weight.numel()
    fan_in = math.prod(weight.shape[1:])
    detached = weight.detach().float()
    rms = float(torch.linalg.vector_norm(detached)) / math.sqrt(max(n, 1))
    # mean |w| too: one clamped outlier (timm's trunc_normal_ cuts at ±2, 100σ for std=.02)
    # moves the rms of a 100k-weight layer by 5% but its mean |w| by 0.1%.
    mean_abs = float(torch.linalg.vector_norm(detached, 1)) / max(n, 1)
    return {
        "shape": list(weight.shape),
        "n": n,
        "scale": rms * math.sqrt(fan_in),
        "abs_scale": mean_abs * math.sqrt(fan_in),
    }


def _is_lazy(tensor: Any) -> bool:
    from torch import nn

    return bool(nn.parameter.is_lazy(tensor))


def _error_text() -> str:
    text = traceback.format_exc()
    lines = text.strip().splitlines()
    return "\n".join(lines[-12:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sys-path", action="append", default=[])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for entry in reversed(args.sys_path):
        sys.path.insert(0, entry)

    # Protocol on the original stdout; everything printed by models goes to stderr.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    import warnings

    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(args.threads)
    inits = InitRecorder()
    inits.install()  # before torchvision and timm bind torch's and timm's init functions
    worker = Worker(inits)
    for line in sys.stdin:
        job = json.loads(line)
        start = time.perf_counter()
        try:
            payload = {"ok": True, **worker.handle(job)}
        except Exception:  # noqa: BLE001 - a job's failure is data for the parent
            payload = {"ok": False, "error": _error_text()}
        gc.collect()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        payload.update(id=job.get("id"), seconds=time.perf_counter() - start, rss_mb=rss)
        emit(protocol, payload)
        if rss > MAX_RSS_MB:
            break  # peak memory stays high in this process: let the parent start a fresh one


if __name__ == "__main__":
    main()
