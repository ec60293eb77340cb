"""The README is executable documentation: its commands run, its config examples are valid."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cli_helpers import BIN, REPO, run, write

from init_lint.config import settings_from_table, tomllib

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README, re.M | re.S)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCKS if lang == language]


def _commands(block: str) -> list[str]:
    """Command lines of a shell block, without trailing comments."""
    lines = []
    for line in block.splitlines():
        command = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
        if command and not command.startswith("#"):
            lines.append(command)
    return lines


SETUP, TEST = (_commands(block) for block in _blocks("sh")[:2])
USAGE = [
    command
    for block in _blocks("sh")[2:]
    for command in _commands(block)
    if re.match(r"(init-lint|flake8)\b", command.split("|")[-1].strip())
]


def test_readme_starts_with_the_setup_and_test_commands() -> None:
    assert README.index("```sh") < README.index("## ")  # before any other section
    [setup] = SETUP
    steps = [step.strip() for step in setup.split("&&")]
    assert steps[-1] == "init-lint examples/"
    assert steps.index("pip install torch==2.13.0") < steps.index("pip install -e '.[dev]'")
    assert TEST == ["python -m pytest -q -n auto"]


def test_ci_runs_the_readme_install_and_test_commands_in_order() -> None:
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    order = [ci.index("pip install torch==2.13.0"), ci.index("pip install -e '.[dev]'")]
    order.append(ci.index(TEST[0]))
    assert order == sorted(order)


def _shell_env(workdir: Path) -> dict[str, str]:
    """A plain shell whose tools come from the test environment, as after the README's set-up."""
    return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(workdir)}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/ to run the README's commands in (some rewrite files)."""
    directory = tmp_path_factory.mktemp("readme")
    if (REPO / "examples").is_dir():
        shutil.copytree(REPO / "examples", directory / "examples")
    else:
        (directory / "examples").mkdir()
    return directory


def test_readme_shows_commands_for_each_front_end() -> None:
    assert any(c.startswith("init-lint ") for c in USAGE)
    assert any(c.startswith("flake8 ") for c in USAGE)


@pytest.mark.parametrize("command", USAGE)
def test_readme_command_runs(workdir: Path, command: str) -> None:
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=_shell_env(workdir),
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if "--format json" in command or "--format sarif" in command:
        json.loads(result.stdout)
    elif "--explain" in command:
        assert result.stdout.startswith("# INI")


def test_readme_configuration_examples_are_valid() -> None:
    main, library = _blocks("toml")
    table = tomllib.loads(main)["tool"]["init-lint"]
    settings = settings_from_table(table, REPO, "README.md")
    assert settings.per_file_ignores and settings.ignore
    table = tomllib.loads(library)["tool"]["init-lint"]
    settings = settings_from_table(table, REPO, "README.md")
    assert settings.activation_factories and settings.init_helpers and settings.init_entry_points


def test_readme_flake8_configuration_is_accepted_by_flake8(workdir: Path) -> None:
    [ini_block] = _blocks("ini")
    write(workdir, "setup.cfg", ini_block)
    try:
        result = run("flake8", "examples/", cwd=workdir)
    finally:
        (workdir / "setup.cfg").unlink()
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "critical error" not in result.stdout


def test_readme_pre_commit_snippet_names_the_defined_hooks() -> None:
    hooks = {hook["id"] for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    shown = {
        hook["id"]
        for block in _blocks("yaml")
        for repo in (yaml.safe_load(block) or {}).get("repos", [])
        for hook in repo["hooks"]
    }
    assert shown == hooks == {"init-lint", "init-lint-fix"}


def test_readme_github_actions_snippet_runs_init_lint_and_flake8() -> None:
    workflow = next(yaml.safe_load(b) for b in _blocks("yaml") if "jobs" in yaml.safe_load(b))
    steps = [step.get("run", "") for step in workflow["jobs"]["init-lint"]["steps"]]
    tools = {shlex.split(step)[0] for step in steps if step}
    assert {"flake8", "init-lint"} <= tools


@pytest.mark.parametrize("block", [b for b in _blocks("text") if b.startswith("$ ")])
def test_readme_sample_output_is_what_the_command_prints(tmp_path: Path, block: str) -> None:
    workdir = tmp_path  # a fresh copy: the usage commands above include --fix
    shutil.copytree(REPO / "examples", workdir / "examples")
    command, *shown = block.splitlines()
    result = subprocess.run(
        ["bash", "-c", command.removeprefix("$ ")],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=_shell_env(workdir),
        timeout=300,
    )
    printed = result.stdout.splitlines()
    assert [line for line in shown if line not in printed] == []
