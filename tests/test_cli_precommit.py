"""The pre-commit hooks of .pre-commit-hooks.yaml, installed and run by the real pre-commit."""

from __future__ import annotations

import re
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

# try-repo commits the checkout's uncommitted changes into a shadow repository: git needs a name.
GIT_IDENTITY = {
    name: "init-lint tests"
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")
}


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the module: installing it is the slow part."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _git_repo(directory: Path, files: dict[str, str]) -> None:
    subprocess.run(["git", "init", "-q", str(directory)], check=True)
    for name, text in files.items():
        write(directory, name, text)
    subprocess.run(["git", "add", *files], cwd=directory, check=True)


def _try_hook(hook: str, directory: Path, home: Path, *files: str) -> tuple[int, str]:
    result = run(
        "pre-commit", "try-repo", REPO, hook, "--files", *files,
        cwd=directory, env={"PRE_COMMIT_HOME": str(home), **GIT_IDENTITY},
    )  # fmt: skip
    output = result.stdout + result.stderr
    log = home / "pre-commit.log"
    if result.returncode == 3 and log.exists() and OFFLINE.search(log.read_text()):
        pytest.skip("pre-commit could not install the hook: no package index reachable")
    return result.returncode, output


def test_check_hook_fails_on_a_bad_model_and_passes_on_a_good_one(
    tmp_path: Path, pre_commit_home: Path
) -> None:
    _git_repo(
        tmp_path,
        {"bad_model.py": RULES["INI001"].invalid[0], "good_model.py": RULES["INI001"].valid[0]},
    )
    status, output = _try_hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 1, output
    assert re.search(r"^init-lint\.+Failed$", output, re.M), output
    assert re.search(r"^bad_model\.py:\d+:\d+: INI001 ", output, re.M), output

    status, output = _try_hook("init-lint", tmp_path, pre_commit_home, "good_model.py")
    assert status == 0, output
    assert re.search(r"^init-lint\.+Passed$", output, re.M), output


def test_fix_hook_fixes_the_file_and_the_check_passes_afterwards(
    tmp_path: Path, pre_commit_home: Path
) -> None:
    if "--fix" not in run("init-lint", "--help").stdout:
        pytest.skip("init-lint --fix is not implemented yet")
    _git_repo(tmp_path, {"bad_model.py": RULES["INI001"].invalid[0]})
    status, output = _try_hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 1, output
    _try_hook("init-lint-fix", tmp_path, pre_commit_home, "bad_model.py")
    assert (tmp_path / "bad_model.py").read_text() != RULES["INI001"].invalid[0]
    status, output = _try_hook("init-lint", tmp_path, pre_commit_home, "bad_model.py")
    assert status == 0, output
