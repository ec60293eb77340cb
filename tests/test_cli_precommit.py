"""The pre-commit hooks of .pre-commit-hooks.yaml, installed and run by the real pre-commit.

A user's repository points its .pre-commit-config.yaml at a snapshot of this checkout (tracked
and new files, so uncommitted work is what gets tested, as with ``pre-commit try-repo``); the
snapshot is made once, so pre-commit installs the hook environment once for all the tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import REPO, run, write

from init_lint.rules import RULES

# Signs that pre-commit could not install the hook's environment for lack of a package index.
OFFLINE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|No matching distribution found|"
    r"Could not find a version that satisfies|Network is unreachable"
)

GIT_IDENTITY = {
    name: "init-lint tests"
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")
}


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
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _git("init", "-q", cwd=snapshot)
    _git("add", "-A", cwd=snapshot)
    _git("commit", "-q", "--no-verify", "-m", "snapshot", cwd=snapshot)
    return snapshot, _git("rev-parse", "HEAD", cwd=snapshot).strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the module: installing it is the slow part."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _user_repo(directory: Path, hook_repo: tuple[Path, str], files: dict[str, str]) -> None:
    """A user's repository with the README's .pre-commit-config.yaml, pointing at the snapshot."""
    path, rev = hook_repo
    write(
        directory,
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n"
        "      - id: init-lint\n      - id: init-lint-fix\n",
    )
    for name, text in files.items():
        write(directory, name, text)
    _git("init", "-q", cwd=directory)
    _git("add", ".", cwd=directory)


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


def test_check_hook_fails_on_a_bad_model_and_passes_on_a_good_one(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    _user_repo(
        tmp_path,
        hook_repo,
        {"bad_model.py": RULES["INI001"].invalid[0].source, "good_model.py": RULES["INI001"].valid[0].source},
    )
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 1, output
    assert re.search(r"^init-lint\.+Failed$", output, re.M), output
    assert re.search(r"^bad_model\.py:\d+:\d+: INI001 ", output, re.M), output

    status, output = _hook("init-lint", tmp_path, pre_commit_home, "good_model.py")
    assert status == 0, output
    assert re.search(r"^init-lint\.+Passed$", output, re.M), output


def test_fix_hook_fixes_the_file_and_the_check_passes_afterwards(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    _user_repo(tmp_path, hook_repo, {"bad_model.py": RULES["INI001"].invalid[0].source})
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 1, output
    status, output = _hook("init-lint-fix", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 1 and "files were modified by this hook" in output, output
    assert (tmp_path / "bad_model.py").read_text() != RULES["INI001"].invalid[0].source
    status, output = _hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 0, output
