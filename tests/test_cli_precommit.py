"""The pre-commit hooks of .pre-commit-hooks.yaml, installed and run by the real pre-commit.

A user's repository gets the README's .pre-commit-config.yaml snippets as written: the pinned
one with a snapshot of this checkout in place of the GitHub URL (tracked and new files, so
uncommitted work is what gets tested, as with ``pre-commit try-repo``) and ``pre-commit
autoupdate`` run as the README says, and the local one unchanged. The snapshot is made once, so
pre-commit installs the hook environment once for all the tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from cli_helpers import GIT_IDENTITY, REPO, run, snapshot_checkout, write

from init_lint.rules import RULES

# Signs that pre-commit could not install the hook's environment for lack of a package index.
OFFLINE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|No matching distribution found|"
    r"Could not find a version that satisfies|Network is unreachable"
)


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=_git_env()
    ).stdout


def _git_env() -> dict[str, str]:
    return {**os.environ, **GIT_IDENTITY}


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A one-commit copy of this checkout's files: (its path, the commit)."""
    snapshot = tmp_path_factory.mktemp("hook-repo")
    return snapshot, snapshot_checkout(snapshot)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the module: installing it is the slow part."""
    return tmp_path_factory.mktemp("pre-commit-home")


README = (REPO / "README.md").read_text(encoding="utf-8")
#: The README's .pre-commit-config.yaml snippets: the pinned remote one, then the local one.
REMOTE, LOCAL = (
    block
    for block in re.findall(r"^```yaml\n(.*?)^```", README, re.M | re.S)
    if block.startswith("# .pre-commit-config.yaml")
)
README_URL = "https://github.com/<owner>/init-lint"


def _user_repo(
    directory: Path, hook_repo: tuple[Path, str], files: dict[str, str], home: Path
) -> None:
    """A user's repository set up as the README says: its pinned snippet (this checkout's
    snapshot in place of the GitHub URL), then ``pre-commit autoupdate`` to pin the commit."""
    path, rev = hook_repo
    assert README_URL in REMOTE
    write(directory, ".pre-commit-config.yaml", REMOTE.replace(README_URL, str(path)))
    for name, text in files.items():
        write(directory, name, text)
    _git("init", "-q", cwd=directory)
    _git("add", ".", cwd=directory)
    [command] = [line for line in README.splitlines() if line.startswith("pre-commit autoupdate")]
    result = run(*command.split(), cwd=directory, env={"PRE_COMMIT_HOME": str(home)})
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((directory / ".pre-commit-config.yaml").read_text())
    assert config["repos"][0]["rev"] == rev  # no tags: autoupdate pins the latest commit


def _hook(hook: str, directory: Path, home: Path, *files: str) -> tuple[int, str]:
    result = run(
        "pre-commit", "run", hook, "--files", *files,
        cwd=directory, env={"PRE_COMMIT_HOME": str(home), **GIT_IDENTITY},
    )  # fmt: skip
    output = result.stdout + result.stderr
    log = home / "pre-commit.log"
    if result.returncode == 3 and log.exists() and OFFLINE.search(log.read_text()):
        pytest.skip("pre-commit could not install the hook: no package index reachable")
    return result.returncode, output


@pytest.mark.slow
def test_check_hook_fails_on_a_bad_model_and_passes_on_a_good_one(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    _user_repo(
        tmp_path,
        hook_repo,
        {
            "bad_model.py": RULES["INI001"].invalid[0].source,
            "good_model.py": RULES["INI001"].valid[0].source,
        },
        pre_commit_home,
    )
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 1, output
    assert re.search(r"^init-lint\.+Failed$", output, re.M), output
    assert re.search(r"^bad_model\.py:\d+:\d+: INI001 ", output, re.M), output

    status, output = _hook("init-lint", tmp_path, pre_commit_home, "good_model.py")
    assert status == 0, output
    assert re.search(r"^init-lint\.+Passed$", output, re.M), output


@pytest.mark.slow
def test_fix_hook_fixes_the_file_and_the_check_passes_afterwards(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    _user_repo(
        tmp_path, hook_repo, {"bad_model.py": RULES["INI001"].invalid[0].source}, pre_commit_home
    )
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 1, output
    status, output = _hook("init-lint-fix", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 1 and "files were modified by this hook" in output, output
    assert (tmp_path / "bad_model.py").read_text() != RULES["INI001"].invalid[0].source
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 0, output


@pytest.mark.slow
def test_hooks_mind_the_config_and_read_notebooks(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    """The fix hook rewrites only what the check reports: not a file that per-file-ignores
    exempts, nor one that extend-exclude excludes; notebooks are checked too."""
    bad = RULES["INI001"].invalid[0].source
    notebook = json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                      "execution_count": None, "source": bad}],
                           "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)  # fmt: skip
    files = {
        "pyproject.toml": '[tool.init-lint]\nextend-exclude = ["legacy/"]\n'
        '[tool.init-lint.per-file-ignores]\n"tests/**" = ["INI001"]\n',
        "model.py": bad,
        "tests/test_model.py": bad,
        "legacy/old_model.py": bad,
        "train.ipynb": notebook,
    }
    _user_repo(tmp_path, hook_repo, files, pre_commit_home)
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "train.ipynb")
    assert status == 1 and re.search(r"^train\.ipynb:cell 1:\d+:\d+: INI001 ", output, re.M), output
    names = ["model.py", "tests/test_model.py", "legacy/old_model.py"]
    status, output = _hook("init-lint-fix", tmp_path, pre_commit_home, *names)
    assert status == 1 and "files were modified by this hook" in output, output
    assert {name: (tmp_path / name).read_text() == bad for name in names} == {
        "model.py": False,
        "tests/test_model.py": True,
        "legacy/old_model.py": True,
    }


@pytest.mark.slow
def test_a_one_file_commit_is_judged_with_its_package(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    """A commit that touches only a block file: the model in another file of the package inits
    the block's layer with Kaiming, so neither hook reports or changes anything."""
    block = RULES["INI001"].invalid[0].source
    files = {
        "pkg/__init__.py": "",
        "pkg/block.py": block,
        "pkg/net.py": "import torch.nn as nn\n\nfrom .block import *\n\n\n"
        "def init(model):\n"
        "    for m in model.modules():\n"
        "        if isinstance(m, (nn.Linear, nn.Conv2d)):\n"
        "            nn.init.kaiming_normal_(m.weight, nonlinearity='relu')\n",
    }
    _user_repo(tmp_path, hook_repo, files, pre_commit_home)
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "pkg/block.py")
    whole = run("init-lint", "pkg", cwd=tmp_path)
    assert (status, whole.returncode) == (1, 1), output  # nothing inits the block yet
    (tmp_path / "pkg/net.py").write_text(
        files["pkg/net.py"] + "\n\ninit(MLP())\n"  # now every layer of MLP is He-initialised
    )
    assert run("init-lint", "pkg", cwd=tmp_path).returncode == 0
    for hook in ("init-lint", "init-lint-fix"):
        status, output = _hook(hook, tmp_path, pre_commit_home, "pkg/block.py")
        assert status == 0, output
    assert (tmp_path / "pkg/block.py").read_text() == block


@pytest.mark.slow
def test_readme_local_hook_runs_the_installed_init_lint(
    tmp_path: Path, pre_commit_home: Path
) -> None:
    write(tmp_path, ".pre-commit-config.yaml", LOCAL)  # exactly as the README shows it
    write(tmp_path, "bad_model.py", RULES["INI001"].invalid[0].source)
    write(tmp_path, "good_model.py", RULES["INI001"].valid[0].source)
    _git("init", "-q", cwd=tmp_path)
    _git("add", ".", cwd=tmp_path)
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "bad_model.py", "good_model.py")
    assert status == 1 and re.search(r"^bad_model\.py:\d+:\d+: INI001 ", output, re.M), output
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "good_model.py")
    assert status == 0, output
    # The local hook is the published hook run from the environment.
    [published] = [h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
                   if h["id"] == "init-lint"]  # fmt: skip
    [local] = yaml.safe_load(LOCAL)["repos"][0]["hooks"]
    assert {k: local[k] for k in ("entry", "types_or", "require_serial")} == {
        k: published[k] for k in ("entry", "types_or", "require_serial")
    }
