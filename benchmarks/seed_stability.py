"""Do the runtime verifier's verdicts depend on the seed? The same model, built with 40 seeds.

    PYTHONPATH=. python benchmarks/seed_stability.py [--seeds 40] [--out FILE]

For each model, every seed builds the model (so its weights are a fresh draw of the same init)
and verifies it on one fixed input; a layer row is *stable* when its result (code, 'ok',
'inconclusive', ...) is the same for every seed. Models with norm layers are verified with
``through_norm=True`` so that their layers are judged at all. Needs torchvision and timm.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable

import torch

# (name, builder, input shape, through_norm)
MODELS: list[tuple[str, str, tuple[int, ...], bool]] = [
    ("torchvision:vgg11", "tv.vgg11()", (1, 3, 64, 64), False),
    ("torchvision:alexnet", "tv.alexnet()", (1, 3, 64, 64), False),
    ("torchvision:squeezenet1_0", "tv.squeezenet1_0()", (1, 3, 64, 64), False),
    (
        "torchvision:googlenet",
        "tv.googlenet(aux_logits=False, init_weights=True)",
        (1, 3, 64, 64),
        True,
    ),
    ("torchvision:resnet18", "tv.resnet18()", (1, 3, 64, 64), True),
    ("torchvision:resnext50_32x4d", "tv.resnext50_32x4d()", (1, 3, 64, 64), True),
    ("torchvision:mobilenet_v2", "tv.mobilenet_v2()", (1, 3, 64, 64), True),
    ("torchvision:mobilenet_v3_small", "tv.mobilenet_v3_small()", (1, 3, 64, 64), True),
    ("torchvision:mnasnet0_5", "tv.mnasnet0_5()", (1, 3, 64, 64), True),
    ("torchvision:efficientnet_b0", "tv.efficientnet_b0()", (1, 3, 64, 64), True),
    ("torchvision:regnet_x_400mf", "tv.regnet_x_400mf()", (1, 3, 64, 64), True),
    ("torchvision:shufflenet_v2_x0_5", "tv.shufflenet_v2_x0_5()", (1, 3, 64, 64), True),
    ("timm:resnet18d", "timm.create_model('resnet18d')", (1, 3, 64, 64), True),
    ("timm:resnext26ts", "timm.create_model('resnext26ts')", (1, 3, 64, 64), True),
    ("timm:convnext_atto", "timm.create_model('convnext_atto')", (1, 3, 64, 64), True),
    (
        "timm:mobilenetv3_large_100",
        "timm.create_model('mobilenetv3_large_100')",
        (1, 3, 64, 64),
        True,
    ),
    ("timm:efficientnet_b0", "timm.create_model('efficientnet_b0')", (1, 3, 64, 64), True),
    ("timm:regnety_002", "timm.create_model('regnety_002')", (1, 3, 64, 64), True),
    ("timm:ghostnet_100", "timm.create_model('ghostnet_100')", (1, 3, 64, 64), True),
    ("timm:dla34", "timm.create_model('dla34')", (1, 3, 64, 64), True),
    ("timm:vgg11", "timm.create_model('vgg11')", (1, 3, 64, 64), False),
    ("timm:selecsls42", "timm.create_model('selecsls42')", (1, 3, 64, 64), True),
    (
        "timm:vit_tiny",
        "timm.create_model('vit_tiny_patch16_224', img_size=64)",
        (1, 3, 64, 64),
        False,
    ),
]


def build(expression: str) -> Callable[[], torch.nn.Module]:
    import timm
    import torchvision.models as tv

    names = {"timm": timm, "tv": tv}
    return lambda: eval(expression, names)  # noqa: S307 - the fixed expressions above


def main() -> None:
    from init_lint.runtime import verify

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--out", default="benchmarks/seed_stability.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    for name, expression, shape, through_norm in MODELS:
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
        seen: dict[tuple[str, str], set[str]] = {}
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            report = verify(build(expression)(), x, through_norm=through_norm)
            for layer in report.layers:
                key = (layer.name, layer.follows())
                seen.setdefault(key, set()).add(layer.code or layer.status)
        unstable = {f"{k[0]} → {k[1]}": sorted(v) for k, v in seen.items() if len(v) > 1}
        tested = [k for k, v in seen.items() if not v <= {"not checked", "not called"}]
        results[name] = {
            "rows": len(seen),
            "tested_rows": len(tested),
            "unstable": unstable,
            "verdicts": dict(Counter(sorted(v)[0] for v in seen.values() if len(v) == 1)),
        }
        print(
            f"{name:30} rows {len(seen):4}  tested {len(tested):4}  unstable {unstable}", flush=True
        )
    rows = sum(r["rows"] for r in results.values())
    tested = sum(r["tested_rows"] for r in results.values())
    unstable = sum(len(r["unstable"]) for r in results.values())
    summary = {
        "seeds": args.seeds,
        "rows": rows,
        "tested_rows": tested,
        "unstable_rows": unstable,
        "stable_fraction_of_tested": 1 - unstable / max(tested, 1),
    }
    print(summary)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"summary": summary, "models": results}, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


if __name__ == "__main__":
    main()
