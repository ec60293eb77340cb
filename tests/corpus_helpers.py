"""The real-code corpus: torchvision's and timm's model files (see conftest.py's fixtures)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGES = {"torchvision": "0.29.1", "timm": "1.0.31"}


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "init-lint" / "corpus"
    return Path(os.environ.get("INIT_LINT_CORPUS_CACHE", default))


def corpus_files(root: Path, name: str) -> list[Path]:
    files = sorted((root / f"{name}-{PACKAGES[name]}" / name / "models").rglob("*.py"))
    assert len(files) > 50
    return files
