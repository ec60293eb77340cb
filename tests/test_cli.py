"""The init-lint console script, run as a user runs it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import BIN, BROKEN, json_findings, linted_paths, run, text_findings, write

from init_lint import __version__
from init_lint.rules import RULES


def test_version() -> None:
    result = run("init-lint", "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"init-lint {__version__}"


@pytest.mark.parametrize("code", sorted(RULES))
def test_each_rule_invalid_example_is_reported_with_its_code(tmp_path: Path, code: str) -> None:
    write(tmp_path, "model.py", RULES[code].invalid[0].source)
    result = run("init-lint", "model.py", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    codes = {found[3] for found in text_findings(result.stdout)}
    assert code in codes
    assert all(found[0] == "model.py" for found in text_findings(result.stdout))


@pytest.mark.parametrize("code", sorted(RULES))
def test_each_rule_valid_examples_are_clean(tmp_path: Path, code: str) -> None:
    for index, example in enumerate(RULES[code].valid):
        write(tmp_path, f"valid_{index}.py", example.source)
    result = run("init-lint", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("All checks passed")


def test_syntax_error_is_ini999_with_parser_position_and_run_goes_on(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "import torch\n\nx = [1, 2\ny = 3\n")
    write(tmp_path, "model.py", RULES["INI005"].invalid[0].source)
    found = json_findings(tmp_path, ".")
    broken = [f for f in found if f["path"] == "broken.py"]
    assert [f["code"] for f in broken] == ["INI999"]
    assert broken[0]["line"] >= 3 and "syntax error" in broken[0]["message"]
    assert any(f["path"] == "model.py" and f["code"] == "INI005" for f in found)


def test_undecodable_file_is_ini999_not_a_traceback(tmp_path: Path) -> None:
    write(tmp_path, "utf16.py", "x = 1\n".encode("utf-16"))
    write(tmp_path, "latin.py", b"# -*- coding: utf-8 -*-\nname = '\xe9'\n")
    result = run("init-lint", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert {(f[0], f[3]) for f in text_findings(result.stdout)} == {
        ("utf16.py", "INI999"),
        ("latin.py", "INI999"),
    }
    assert "cannot decode" in result.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_ini999(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.py", "x = 1\n")
    path.chmod(0)
    result = run("init-lint", "secret.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "secret.py:1:1: INI999 cannot read file" in result.stdout


def test_missing_path_exits_2_but_other_paths_are_linted(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", BROKEN)
    result = run("init-lint", "nowhere.py", "broken.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "nowhere.py: no such file or directory" in result.stderr
    assert linted_paths(result.stdout) == {"broken.py"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml", "."], "invalid choice: 'xml'"),
        (["--select", "INI0x", "."], "unknown rule code 'INI0x'"),
        (["--ignore", "E501", "."], "unknown rule code 'E501'"),
        (["--mode", "fan_avg", "."], "invalid choice: 'fan_avg'"),
        (["--explain", "INI123"], "unknown rule code 'INI123'"),
    ],
)
def test_usage_errors_exit_2_with_a_message(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("init-lint", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_exit_zero_and_quiet(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", BROKEN)
    loud = run("init-lint", ".", cwd=tmp_path)
    assert loud.returncode == 1 and "Found 1 finding in 1 file." in loud.stdout
    quiet = run("init-lint", "--quiet", "--exit-zero", ".", cwd=tmp_path)
    assert quiet.returncode == 0
    finding_lines = [line for line in loud.stdout.splitlines() if "INI999" in line]
    assert quiet.stdout.splitlines() == finding_lines


def test_clean_run_exits_0(tmp_path: Path) -> None:
    write(tmp_path, "plain.py", "import torch\n\nprint(torch.__version__)\n")
    result = run("init-lint", ".", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "All checks passed (1 file).\n"


def test_stdin_uses_stdin_filename(tmp_path: Path) -> None:
    result = run("init-lint", "-", "--stdin-filename", "pkg/model.py", cwd=tmp_path, stdin=BROKEN)
    assert result.returncode == 1
    assert linted_paths(result.stdout) == {os.path.normpath("pkg/model.py")}
    anonymous = run("init-lint", "-", cwd=tmp_path, stdin=RULES["INI005"].invalid[0].source)
    assert {(f[0], f[3]) for f in text_findings(anonymous.stdout)} == {("<stdin>", "INI005")}


def test_directory_walk_honours_gitignore_default_and_configured_excludes(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path, ".gitignore", "generated_*.py\nscratch/\n")
    for name in [
        "src/model.py",
        "src/generated_model.py",  # .gitignore above the walked directory
        "src/scratch/try.py",  # ignored directory
        "src/nested/keep.py",
        "src/nested/drop.py",  # nested .gitignore
        "src/nested/generated_keep.py",  # re-included by the nested "!" pattern
        "src/.venv/lib.py",  # default excludes
        "src/build/lib.py",
        "src/__pycache__/x.py",
        "src/node_modules/x.py",
        "src/legacy/old.py",  # --extend-exclude
        "src/notes.txt",  # not *.py
    ]:
        write(tmp_path, name, BROKEN)
    write(tmp_path, "src/nested/.gitignore", "drop.py\n!generated_keep.py\n")

    result = run("init-lint", "--extend-exclude", "legacy/", "src", cwd=tmp_path)
    assert linted_paths(result.stdout) == {
        os.path.normpath(p)
        for p in ["src/model.py", "src/nested/keep.py", "src/nested/generated_keep.py"]
    }
    # --exclude replaces the defaults: build/ is walked again, .gitignore still applies.
    replaced = run("init-lint", "--exclude", "legacy,.venv,__pycache__,node_modules", "src",
                   cwd=tmp_path)  # fmt: skip
    assert os.path.normpath("src/build/lib.py") in linted_paths(replaced.stdout)
    assert os.path.normpath("src/generated_model.py") not in linted_paths(replaced.stdout)


def test_named_files_are_linted_even_when_excluded_unless_forced(tmp_path: Path) -> None:
    write(tmp_path, "build/gen.py", BROKEN)
    named = run("init-lint", "build/gen.py", cwd=tmp_path)
    assert linted_paths(named.stdout) == {os.path.normpath("build/gen.py")}
    walked = run("init-lint", ".", cwd=tmp_path)
    assert linted_paths(walked.stdout) == set() and walked.returncode == 0
    forced = run("init-lint", "--force-exclude", "build/gen.py", cwd=tmp_path)
    assert linted_paths(forced.stdout) == set() and forced.returncode == 0


def test_statistics_counts_per_code(tmp_path: Path) -> None:
    for name in ["a.py", "b.py", "c.py"]:
        write(tmp_path, name, BROKEN)
    write(tmp_path, "d.py", RULES["INI005"].invalid[0].source)
    result = run("init-lint", "--statistics", "--quiet", ".", cwd=tmp_path)
    stats = [line.split(None, 2) for line in result.stdout.splitlines() if not line.count(":")]
    assert ["3", "INI999", "File cannot be read, decoded or parsed"] in stats
    # INI005's finding has an autofix: the fixable count comes before the title.
    assert ["1", "INI005", f"[*] 1 fixable  {RULES['INI005'].title}"] in stats
    machine = run("init-lint", "--statistics", "--format", "json", ".", cwd=tmp_path)
    assert "3  INI999" in machine.stderr  # keeps stdout a valid JSON document


def _run_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """stdout of init-lint when it is a real pseudo-terminal."""
    leader, follower = pty.openpty()
    full_env = {**os.environ, **env}
    if "NO_COLOR" not in env:
        full_env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [str(BIN / "init-lint"), *args], cwd=cwd, stdout=follower, stderr=subprocess.DEVNULL,
        env=full_env,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", BROKEN)
    assert "\033[" in _run_on_a_terminal(["."], tmp_path, {})
    assert "\033[" not in _run_on_a_terminal(["."], tmp_path, {"NO_COLOR": "1"})
    assert "\033[" not in _run_on_a_terminal(["--no-color", "."], tmp_path, {})
    assert "\033[" not in run("init-lint", ".", cwd=tmp_path).stdout  # a pipe


def test_explain_prints_the_rule_page(tmp_path: Path) -> None:
    for code, rule in RULES.items():
        result = run("init-lint", "--explain", code.lower(), cwd=tmp_path)
        assert result.returncode == 0
        assert result.stdout == rule.explain()


def test_linting_never_imports_torch(tmp_path: Path) -> None:
    write(tmp_path, "model.py", RULES["INI001"].invalid[0].source)
    code = (
        "import sys\n"
        "from init_lint.cli import main\n"
        f"status = main(['--quiet', {str(tmp_path)!r}])\n"
        "assert 'torch' not in sys.modules, 'linting imported torch'\n"
        # libcst.codemod (for --fix) costs a quarter second that every lint run would pay.
        "assert 'libcst.codemod' not in sys.modules, 'linting imported the fixer'\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr


def test_verify_is_dispatched_to_the_runtime_verifier(tmp_path: Path) -> None:
    lint_help = run("init-lint", "--help", cwd=tmp_path)
    verify_help = run("init-lint", "verify", "--help", cwd=tmp_path)
    assert verify_help.returncode == 0
    assert verify_help.stdout != lint_help.stdout
    assert "--extend-select" not in verify_help.stdout


def test_a_named_directory_is_walked_even_inside_an_excluded_one(tmp_path: Path) -> None:
    write(tmp_path, "project/build/gen.py", BROKEN)
    write(tmp_path, "project/build/__pycache__/cached.py", BROKEN)
    write(tmp_path, "venv/lib/site-packages/pkg/mod.py", BROKEN)
    named = run("init-lint", "build", cwd=tmp_path / "project")
    assert linted_paths(named.stdout) == {os.path.normpath("build/gen.py")}
    # Named from elsewhere, its excluded ancestors (venv, site-packages) do not count.
    outside = run("init-lint", tmp_path / "venv/lib/site-packages/pkg", cwd=tmp_path / "project")
    assert linted_paths(outside.stdout) == {str(tmp_path / "venv/lib/site-packages/pkg/mod.py")}


def test_a_named_gitignored_directory_is_walked(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path, ".gitignore", "generated/\n")
    write(tmp_path, "generated/model.py", BROKEN)
    assert linted_paths(run("init-lint", ".", cwd=tmp_path).stdout) == set()
    named = run("init-lint", "generated", cwd=tmp_path)
    assert linted_paths(named.stdout) == {os.path.normpath("generated/model.py")}


def test_default_path_is_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path, "pkg/broken.py", BROKEN)
    assert linted_paths(run("init-lint", cwd=tmp_path).stdout) == {
        os.path.normpath("pkg/broken.py")
    }


def test_a_closed_pipe_ends_the_run_quietly(tmp_path: Path) -> None:
    for index in range(600):  # long names: more output than a pipe buffers (64 KiB)
        write(tmp_path, f"{'long_name_' * 20}{index:03}.py", BROKEN)
    result = subprocess.run(
        f"{BIN / 'init-lint'} . | head -n 1",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        executable="/bin/bash",
    )
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == ""
