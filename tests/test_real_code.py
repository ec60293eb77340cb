"""Regression on real model code: torchvision's and timm's model files (downloaded, not vendored).

The wheels are fetched once with ``pip download --no-deps`` into a cache folder
(``INIT_LINT_CORPUS_CACHE`` or ~/.cache/init-lint/corpus); without a registry the tests skip.
Every finding listed here was read and judged defensible (see the closing notes of issue #2).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from init_lint.engine import lint_paths

PACKAGES = {"torchvision": "0.29.1", "timm": "1.0.31"}


def _cache_dir() -> Path:
    default = Path.home() / ".cache" / "init-lint" / "corpus"
    return Path(os.environ.get("INIT_LINT_CORPUS_CACHE", default))


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = _cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    for name, version in PACKAGES.items():
        target = root / f"{name}-{version}"
        if (target / name / "models").is_dir():
            continue
        wheels = root / "wheels"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"{name}=={version}", "-d", str(wheels)],
            capture_output=True, text=True, timeout=600, check=False,
        )
        candidates = sorted(wheels.glob(f"{name}-{version}-*.whl"))
        if result.returncode != 0 or not candidates:
            pytest.skip(f"cannot download {name}=={version} (offline?): {result.stderr.strip()[-200:]}")
        with zipfile.ZipFile(candidates[0]) as archive:
            members = [m for m in archive.namelist() if m.startswith(f"{name}/models/") and m.endswith(".py")]
            archive.extractall(target, members)
    return root


@functools.cache
def _lint(root: Path, name: str) -> list[tuple[str, int, str, str]]:
    base = root / f"{name}-{PACKAGES[name]}"
    files = sorted((base / name / "models").rglob("*.py"))
    assert len(files) > 50
    return [
        (Path(f.path).relative_to(base).as_posix(), f.line, f.code, f.message) for f in lint_paths(files)
    ]


TORCHVISION = {
    ("torchvision/models/alexnet.py", 22, "INI001"),
    ("torchvision/models/alexnet.py", 25, "INI001"),
    ("torchvision/models/alexnet.py", 28, "INI001"),
    ("torchvision/models/alexnet.py", 30, "INI001"),
    ("torchvision/models/alexnet.py", 32, "INI001"),
    ("torchvision/models/alexnet.py", 39, "INI001"),
    ("torchvision/models/alexnet.py", 42, "INI001"),
    ("torchvision/models/googlenet.py", 244, "INI001"),
    ("torchvision/models/squeezenet.py", 80, "INI001"),
    ("torchvision/models/swin_transformer.py", 345, "INI001"),
    ("torchvision/models/vgg.py", 44, "INI001"),
    ("torchvision/models/vgg.py", 47, "INI001"),
}

TIMM = {
    ("timm/models/fasternet.py", 270, "INI001"),
    ("timm/models/ghostnet.py", 717, "INI001"),
    ("timm/models/hgnet.py", 131, "INI002"),
    ("timm/models/inception_next.py", 90, "INI001"),
    ("timm/models/repghost.py", 294, "INI001"),
    ("timm/models/senet.py", 49, "INI002"),
    ("timm/models/swin_transformer_v2.py", 125, "INI001"),
}


def test_torchvision_findings(corpus: Path) -> None:
    findings = _lint(corpus, "torchvision")
    assert {(path, line, code) for path, line, code, _ in findings} == TORCHVISION
    messages = {(path, line): message for path, line, _, message in findings}
    # alexnet keeps the default init on Conv2d and Linear layers that feed ReLU
    assert "(Conv2d) feeds ReLU" in messages[("torchvision/models/alexnet.py", 22)]
    assert "(Linear) feeds ReLU" in messages[("torchvision/models/alexnet.py", 39)]
    assert "default init" in messages[("torchvision/models/alexnet.py", 39)]
    # vgg's classifier Linear layers get normal_(0, 0.01) in front of ReLU
    assert "nn.init.normal_(m.weight, 0, 0.01)" in messages[("torchvision/models/vgg.py", 44)]


def test_torchvision_resnet_convs_count_as_kaiming(corpus: Path) -> None:
    findings = _lint(corpus, "torchvision")
    assert not [f for f in findings if f[0].endswith("/resnet.py")]


def test_timm_findings(corpus: Path) -> None:
    findings = _lint(corpus, "timm")
    assert not [f for f in findings if f[2] == "INI999"], "a timm file failed to parse or analyse"
    assert {(path, line, code) for path, line, code, _ in findings} == TIMM


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_fix_on_real_code_round_trips(corpus: Path, tmp_path: Path, name: str) -> None:
    from init_lint.fixer import fix_findings, write_fixed

    source = corpus / f"{name}-{PACKAGES[name]}" / name / "models"
    target = tmp_path / name / "models"
    shutil.copytree(source, target)
    files = sorted(target.rglob("*.py"))
    changed: set[Path] = set()
    for _ in range(4):
        results = [r for r in fix_findings(lint_paths(files), {str(p): p.read_bytes() for p in files}) if r.changed]
        for result in results:
            assert result.error is None
            write_fixed(result.path, result.original, result.fixed)
            changed.add(Path(result.path))
        if not results:
            break
    assert changed, "the known findings have fixes"
    for path in changed:
        compile(path.read_bytes(), str(path), "exec")
    remaining = lint_paths(files)
    assert all(f.message.endswith("(no autofix)") for f in remaining), [f.message for f in remaining]
    again = fix_findings(remaining, {str(p): p.read_bytes() for p in files})
    assert not [r for r in again if r.changed], "a second --fix must change nothing"
