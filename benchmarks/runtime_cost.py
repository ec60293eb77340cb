"""What ``verify`` costs against one plain forward pass (CPU time, one thread, the same input).

Needs torchvision and timm beside torch; run with the repository on PYTHONPATH:

    PYTHONPATH=. python benchmarks/runtime_cost.py [--rounds 5] [--batch 1] [--out FILE]

Each model is built once (seed 0, eval mode). A round times one plain ``model(x)`` under
``torch.no_grad()`` and one ``verify(model, x)``, alternating; the figure per model is the median
over rounds of each, and the ratio of the medians. Results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

TORCHVISION = ("resnet18", "mobilenet_v2", "efficientnet_b0", "vgg11", "alexnet")
TIMM = ("resnet50d", "convnext_atto", "mobilenetv3_large_100", "vit_tiny_patch16_224")


def builders() -> dict[str, Callable[[], torch.nn.Module]]:
    import timm
    import torchvision.models as tv

    found: dict[str, Callable[[], torch.nn.Module]] = {}
    for name in TORCHVISION:
        found[f"torchvision:{name}"] = getattr(tv, name)
    for name in TIMM:
        found[f"timm:{name}"] = lambda name=name: timm.create_model(name, pretrained=False)
    return found


def cpu_time(action: Callable[[], Any]) -> float:
    start = time.process_time()
    action()
    return time.process_time() - start


def measure(build: Callable[[], torch.nn.Module], batch: int, rounds: int) -> dict[str, float]:
    from init_lint.runtime import verify

    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))

    def forward() -> None:
        with torch.no_grad():
            model(x)

    forward()  # warm-up (allocator, lazy kernels)
    verify(model, x)
    plain, checked = [], []
    for _ in range(rounds):
        plain.append(cpu_time(forward))
        checked.append(cpu_time(lambda: verify(model, x)))
    forward_s, verify_s = statistics.median(plain), statistics.median(checked)
    return {"forward_s": forward_s, "verify_s": verify_s, "ratio": verify_s / forward_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/runtime_cost.json")
    parser.add_argument("--only", nargs="*", help="model names (torchvision:resnet18, ...)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    for name, build in builders().items():
        if args.only and name not in args.only:
            continue
        results[name] = measure(build, args.batch, args.rounds)
        row = results[name]
        print(
            f"{name:36} forward {row['forward_s']:.3f} s  verify {row['verify_s']:.3f} s  "
            f"ratio {row['ratio']:.2f}",
            flush=True,
        )
    meta = {"batch": args.batch, "rounds": args.rounds, "torch": torch.__version__}
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"meta": meta, "models": results}, handle, indent=2)
        handle.write("\n")


if __name__ == "__main__":
    main()
