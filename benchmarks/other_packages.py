"""Static findings vs the runtime verifier on packages no test names (kornia, MONAI,
segmentation_models_pytorch, pytorchcv, stable-baselines3), construction site by construction
site.

The accuracy harness (``accuracy.py``) scores torchvision and timm; this script keeps the
checker honest on code written elsewhere. It lints each installed package with the checkout
under test (``python -m init_lint.cli --format json --no-cache``), builds a few of its models
(random init, small input, CPU) inside :func:`init_lint.runtime.record_sites`, verifies them
and merges the two with :func:`init_lint.runtime.merge.merge`: a row is ``both`` (the same
layer flagged by each), ``static only`` or ``runtime only``, with the runtime's reason.

Run it in the accuracy harness's venv (torch, torchvision) after installing the pinned
packages without their heavy optional dependencies::

    PY=~/.cache/init-lint/harness-venv/bin/python
    $PY benchmarks/other_packages.py --install      # once: pip install --no-deps the pins
    $PY benchmarks/other_packages.py --json other_packages.json

A package that does not import is skipped and listed. Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PINS = [
    "monai==1.6.1",
    "kornia==0.9.0",
    "kornia_rs",
    "segmentation_models_pytorch==0.6.0",
    "pytorchcv==0.0.74",
    "stable-baselines3==2.9.2",
    "gymnasium",
    "cloudpickle",
    "farama-notifications",
]

#: (package, label, builder, input shape). Builders take the imported package's modules by
#: name; ``pretrained=False`` everywhere (the runtime judges the init, not a checkpoint).
MODELS: list[tuple[str, str, Callable[[], Any], tuple[int, ...]]] = [
    ("kornia", "DexiNed", lambda: _obj("kornia.models.dexined", "DexiNed")(pretrained=False),
     (1, 3, 64, 64)),
    ("kornia", "RRDBNet", lambda: _obj("kornia.models.rrdbnet", "RRDBNet")(3, 3, num_block=2),
     (1, 3, 16, 16)),
    ("monai", "VarFullyConnectedNet",
     lambda: _obj("monai.networks.nets", "VarFullyConnectedNet")(10, 10, 8, (64, 64), (64, 64)),
     (4, 10)),
    ("monai", "UNet", lambda: _obj("monai.networks.nets", "UNet")(2, 1, 2, (16, 32, 64), (2, 2)),
     (2, 1, 32, 32)),
    ("monai", "SegResNet", lambda: _obj("monai.networks.nets", "SegResNet")(2, 8, 1, 2),
     (2, 1, 32, 32)),
    *[
        ("segmentation_models_pytorch", f"Unet({encoder})",
         lambda encoder=encoder: _obj("segmentation_models_pytorch", "Unet")(
             encoder, encoder_weights=None, classes=2),
         (2, 3, 64, 64))
        for encoder in ("resnet18", "se_resnet50", "xception", "mobileone_s0", "densenet121")
    ],
    *[
        ("pytorchcv", f"pytorchcv {name}",
         lambda name=name: _obj("pytorchcv.model_provider", "get_model")(name, pretrained=False),
         (1, 3, 224, 224))
        for name in ("alexnet", "cbam_resnet18", "seresnet10", "efficientnet_b0",
                     "lwopenpose2d_mobilenet_cmupan_coco")
    ],
    ("stable_baselines3", "NatureCNN", lambda: _obj(
        "stable_baselines3.common.torch_layers", "NatureCNN")(_image_space()), (1, 3, 64, 64)),
    ("stable_baselines3", "SAC actor", lambda: _obj("stable_baselines3", "SAC")(
        "MlpPolicy", _obj("gymnasium", "make")("Pendulum-v1"), buffer_size=10).policy.actor,
     (1, 3)),
]  # fmt: skip


def _image_space() -> Any:
    import numpy as np

    return _obj("gymnasium.spaces", "Box")(0, 255, (3, 64, 64), np.uint8)


def _obj(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def install() -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", *PINS], check=True)


def static_findings(package_dir: Path) -> list[Any]:
    """The checkout's findings on one installed package, as Finding objects."""
    from init_lint.findings import Finding

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "init_lint.cli", "--format", "json", "--no-cache"]
    done = subprocess.run(
        [*command, package_dir.name],
        cwd=package_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(done.stdout)
    rows = data if isinstance(data, list) else data["findings"]
    return [
        Finding(
            str(package_dir.parent / r["path"]), r["line"], r["column"], r["code"], r["message"]
        )
        for r in rows
    ]


def compare(
    label: str, build: Callable[[], Any], shape: tuple[int, ...], static: list[Any]
) -> list[dict]:
    import torch

    from init_lint.runtime import record_sites, verify
    from init_lint.runtime.merge import NEITHER, merge

    with record_sites():
        torch.manual_seed(0)
        model = build()
    model.eval()
    report = verify(model, torch.randn(*shape))
    rows = []
    for row in merge(report, static):
        if row.layer and row.agreement != NEITHER:
            rows.append(
                {
                    "model": label,
                    "layer": row.layer,
                    "agreement": row.agreement,
                    "runtime": row.runtime,
                    "static": row.static,
                    "where": row.where,
                    "reason": row.reason,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="pip install --no-deps the pins")
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args()
    if args.install:
        install()
    sys.path.insert(0, str(REPO))
    warnings.filterwarnings("ignore")
    rows: list[dict] = []
    skipped: list[str] = []
    statics: dict[str, list[Any]] = {}
    for package, label, build, shape in MODELS:
        try:
            module = importlib.import_module(package)
        except Exception as error:  # a missing optional dependency: say so, go on
            skipped.append(f"{package}: {type(error).__name__}: {error}")
            continue
        if package not in statics:
            statics[package] = static_findings(Path(module.__file__).parent)
        try:
            rows += compare(label, build, shape, statics[package])
        except Exception as error:
            skipped.append(f"{label}: {type(error).__name__}: {error}")
    site = str(Path(importlib.import_module("torch").__file__).parent.parent) + os.sep
    counts = Counter((row["model"], row["agreement"]) for row in rows)
    for _package, label, *_ in MODELS:
        print(
            f"{label:36} "
            + "  ".join(
                f"{kind}: {counts[(label, kind)]}"
                for kind in ("both", "static only", "runtime only")
            )
        )
    print("\ndisagreements (site: runtime / static, reason):")
    seen = set()
    for row in rows:
        key = (row["where"], row["agreement"], row["runtime"], row["static"])
        if row["agreement"] == "both" or key in seen:
            continue
        seen.add(key)
        print(
            f"  {row['where'].replace(site, '')}: {row['agreement']}: runtime {row['runtime']},"
            f" static {row['static']} ({row['model']} {row['layer']}) {row['reason'][:90]}"
        )
    for line in skipped:
        print("skipped:", line)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "skipped": skipped}, indent=1))


if __name__ == "__main__":
    main()
