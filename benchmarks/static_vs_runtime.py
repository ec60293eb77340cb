"""The static checker against the runtime verifier on real torchvision and timm models.

    PYTHONPATH=. python benchmarks/static_vs_runtime.py [--out FILE] [--through-norm]

Each model is built under ``record_sites()`` (seed 0) and verified on one input; the static
checker lints the files its classes and layers come from (the installed package sources) with
the same through-norm view; :func:`init_lint.runtime.merge.merge` pairs them site by site. Prints
one row per model (layers, both, static only, runtime only) and every disagreement with its
reason; writes them to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import torch

TORCHVISION = (
    "alexnet",
    "vgg11",
    "squeezenet1_0",
    "resnet18",
    "resnext50_32x4d",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mnasnet0_5",
    "efficientnet_b0",
    "regnet_x_400mf",
    "shufflenet_v2_x0_5",
    "densenet121",
    "googlenet",
)
TIMM = (
    "resnet18d",
    "resnet50d",
    "convnext_atto",
    "mobilenetv3_large_100",
    "efficientnet_b0",
    "regnety_002",
    "ghostnet_100",
    "dla34",
    "vgg11",
    "cspresnet50",
    "vit_tiny_patch16_224",
    "densenet121",
)


def builders() -> dict[str, Callable[[], torch.nn.Module]]:
    import timm
    import torchvision.models as tv

    found: dict[str, Callable[[], torch.nn.Module]] = {}
    for name in TORCHVISION:
        kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
        found[f"torchvision:{name}"] = lambda name=name, kw=kwargs: getattr(tv, name)(**kw)
    for name in TIMM:
        found[f"timm:{name}"] = lambda name=name: timm.create_model(name, pretrained=False)
    return found


def main() -> None:
    from init_lint.engine import lint_paths
    from init_lint.options import Options
    from init_lint.runtime import record_sites, verify
    from init_lint.runtime.merge import LAYER_CODES, NEITHER, counts, merge
    from init_lint.runtime.sites import source_files

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/static_vs_runtime.json")
    parser.add_argument("--no-through-norm", dest="through_norm", action="store_false")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    for name, build in builders().items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(0)
        with record_sites():
            model = build().eval()
        x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
        report = verify(model, x, through_norm=args.through_norm)
        static = [
            f
            for f in lint_paths(source_files(model), Options(through_norm=args.through_norm))
            if f.code in LAYER_CODES
        ]
        rows = merge(report, static)
        summary = counts(rows)
        differ = [r.__dict__ for r in rows if r.agreement != NEITHER and r.reason]
        results[name] = {"counts": summary, "disagreements": differ, "report": report.counts()}
        print(f"{name:34} {summary}", flush=True)
        for row in differ:
            print(
                f"    {row['layer'] or '-':28} {row['runtime']:>12} {row['static'] or '-':>7}"
                f"  {row['agreement']}: {row['reason']}",
                flush=True,
            )
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


if __name__ == "__main__":
    main()
