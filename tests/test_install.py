"""The README's install story, run as written: its ``pip install`` commands and the GitHub
Actions job's steps. The repository's URL is a placeholder until the project is published, so a
snapshot of this checkout stands in for it (a ``git+file://`` URL: pip clones and builds it as
it would from GitHub). The packages themselves come from the package index; without one, the
tests skip."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import BIN, REPO, snapshot_checkout

pytestmark = pytest.mark.slow

README = (REPO / "README.md").read_text(encoding="utf-8")
URL = "https://github.com/<owner>/init-lint"
OFFLINE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|No matching distribution found|"
    r"Could not find a version that satisfies|Network is unreachable"
)


def _install_block() -> list[str]:
    [block] = [
        body
        for language, body in re.findall(r"^```(\w*)\n(.*?)^```", README, re.M | re.S)
        if language == "sh" and "pip install" in body and "git+" in body
    ]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("pip ")]


def _workflow_steps() -> list[str]:
    blocks = re.findall(r"^```yaml\n(.*?)^```", README, re.M | re.S)
    workflow = next(yaml.safe_load(b) for b in blocks if "jobs" in (yaml.safe_load(b) or {}))
    return [step["run"] for step in workflow["jobs"]["init-lint"]["steps"] if "run" in step]


def _shell(command: str, cwd: Path, venv: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = f"{venv / 'bin'}:/usr/bin:/bin" if venv else f"{BIN}:{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=env, timeout=900
    )
    if result.returncode != 0 and OFFLINE.search(result.stdout + result.stderr):
        pytest.skip("no package index reachable")
    return result


@pytest.fixture(scope="module")
def snapshot_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    snapshot = tmp_path_factory.mktemp("init-lint-repo")
    snapshot_checkout(snapshot)
    return f"file://localhost{snapshot}"  # pip wants a host in a git+file URL


@pytest.fixture(scope="module")
def ci_venv(tmp_path_factory: pytest.TempPathFactory, snapshot_url: str) -> Path:
    """A fresh venv (no torch) after the workflow's install step, run as written."""
    venv = tmp_path_factory.mktemp("ci") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    [install] = [step for step in _workflow_steps() if step.startswith("pip install")]
    assert URL in install and "pip install init-lint" not in install  # not published yet
    result = _shell(install.replace(URL, snapshot_url), venv.parent, venv)
    assert result.returncode == 0, result.stdout + result.stderr
    return venv


def test_the_install_from_the_repository_needs_no_torch(ci_venv: Path, snapshot_url: str) -> None:
    git_install, editable = _install_block()
    assert git_install == f'pip install "init-lint @ git+{URL}"' and editable == "pip install -e ."
    # The CI step is the README's install command (plus flake8): the venv is its result.
    installed = _shell("pip list --format json", ci_venv.parent, ci_venv)
    names = {package["name"].lower() for package in json.loads(installed.stdout)}
    assert {"init-lint", "libcst", "pathspec", "flake8"} <= names
    assert "torch" not in names
    assert _shell("init-lint --version", ci_venv.parent, ci_venv).stdout.startswith("init-lint ")


def test_the_github_actions_steps_run_as_written(ci_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    for example in (REPO / "examples").glob("*.py"):
        shutil.copy(example, tmp_path / "src" / example.name)
    outputs = {}
    for step in _workflow_steps():
        if step.startswith("pip install"):
            continue
        result = _shell(step, tmp_path, ci_venv)
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
        outputs[step] = result
    assert "INI001" in outputs["flake8 --select INI src/"].stdout
    assert outputs["init-lint --format github src/"].stdout.startswith("::warning file=src/")
    sarif = json.loads((tmp_path / "init-lint.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_an_editable_install_keeps_the_installed_torch(tmp_path: Path) -> None:
    """``pip install -e .`` in a clone, in an environment that has torch (this one): pip plans
    to install init-lint and nothing else, torch stays as it is."""
    pytest.importorskip("torch")
    report = tmp_path / "report.json"
    result = _shell(f"pip install --dry-run --report {report} -e .", REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    planned = {
        item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]
    }
    assert planned == {"init-lint"}
