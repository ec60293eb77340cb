"""Session-wide fixtures: the real-code corpus (torchvision's and timm's model files).

The wheels are fetched once with ``pip download --no-deps`` into a cache folder
(``INIT_LINT_CORPUS_CACHE`` or ~/.cache/init-lint/corpus); without a registry, the tests that
need them skip. The corpus is linted once per session, with the process pool, and shared.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from corpus_helpers import PACKAGES, cache_dir, corpus_files

from init_lint.engine import lint_paths
from init_lint.findings import Finding
from init_lint.options import Options


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    for name, version in PACKAGES.items():
        target = root / f"{name}-{version}"
        if (target / name / "models").is_dir():
            continue
        wheels = root / "wheels"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                f"{name}=={version}",
                "-d",
                str(wheels),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        candidates = sorted(wheels.glob(f"{name}-{version}-*.whl"))
        if result.returncode != 0 or not candidates:
            pytest.skip(
                f"cannot download {name}=={version} (offline?): {result.stderr.strip()[-200:]}"
            )
        with zipfile.ZipFile(candidates[0]) as archive:
            members = [
                m
                for m in archive.namelist()
                if m.startswith(f"{name}/models/") and m.endswith(".py")
            ]
            archive.extractall(target, members)
    return root


@pytest.fixture(scope="session")
def corpus_findings(corpus: Path) -> dict[str, list[Finding]]:
    """Each package's findings, linted once for the session with the process pool."""
    return {name: lint_paths(corpus_files(corpus, name), jobs=2) for name in PACKAGES}


@pytest.fixture(scope="session")
def corpus_findings_through_norm(corpus: Path) -> dict[str, list[Finding]]:
    options = Options(through_norm=True)
    return {name: lint_paths(corpus_files(corpus, name), options, jobs=2) for name in PACKAGES}


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """init-lint's default cache goes to a temporary folder, not the user's."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


_STARTS_A_PROCESS = (
    "run(",
    "json_findings(",
    "subprocess.",
    "Popen(",
    "pytester",
    "jobs=2",
    "isolate=True",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a process (the real console scripts, flake8, pre-commit, a pytester
    run, a worker pool) is ``slow``: the fast loop (``-m "not slow"``) keeps the in-process tests, which cover
    every rule example, fixture and fix golden file."""
    import inspect

    for item in items:
        function = getattr(item, "function", None)
        if function is None or item.get_closest_marker("slow"):
            continue
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        if any(marker in source for marker in _STARTS_A_PROCESS):
            item.add_marker(pytest.mark.slow)
