"""[tool.init-lint] discovery, validation and precedence, through the real console script."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cli_helpers import BROKEN, THROUGH_NORM, linted_paths, run, text_findings, write

from init_lint.config import ConfigError, settings_from_table
from init_lint.engine import Options
from init_lint.rules import RULES


def _pyproject(directory: Path, body: str) -> Path:
    return write(directory, "pyproject.toml", f"[project]\nname = 'demo'\n\n{body}")


def test_nearest_pyproject_with_the_table_is_found_walking_up(tmp_path: Path) -> None:
    _pyproject(tmp_path / "repo", '[tool.init-lint]\nignore = ["INI999"]\n')
    _pyproject(tmp_path / "repo/pkg", "[tool.ruff]\nline-length = 99\n")  # no table: skipped
    write(tmp_path, "repo/pkg/sub/broken.py", BROKEN)
    assert run("init-lint", "repo/pkg/sub", cwd=tmp_path).returncode == 0
    # Without a config the same file is reported.
    write(tmp_path, "elsewhere/broken.py", BROKEN)
    assert run("init-lint", "elsewhere", cwd=tmp_path).returncode == 1


def test_config_option_overrides_discovery_and_flags_override_the_file(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.init-lint]\nignore = ["INI999"]\n')
    write(tmp_path, "strict.toml", "ignore = []\n")
    write(tmp_path, "broken.py", BROKEN)
    assert run("init-lint", ".", cwd=tmp_path).returncode == 0
    assert run("init-lint", "--config", "strict.toml", ".", cwd=tmp_path).returncode == 1
    assert run("init-lint", "--ignore", "INI005", ".", cwd=tmp_path).returncode == 1
    # A pyproject.toml named with --config is read from its [tool.init-lint] table (read whole,
    # its [project] table would be an unknown key: exit 2).
    _pyproject(tmp_path / "other", '[tool.init-lint]\nignore = ["INI999"]\n')
    write(tmp_path, "strict/pyproject.toml", "[tool.init-lint]\n")
    assert run("init-lint", "--config", "strict/pyproject.toml", ".", cwd=tmp_path).returncode == 1
    assert run("init-lint", "--config", "other/pyproject.toml", ".", cwd=tmp_path).returncode == 0


def test_select_and_extend_select_precedence(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.init-lint]\nselect = ["INI001"]\nextend-select = ["INI005"]\n')
    write(tmp_path, "deprecated.py", RULES["INI005"].invalid[0].source)
    write(tmp_path, "mlp.py", RULES["INI001"].invalid[0].source)

    def codes(*args: str) -> set[str]:
        return {found[3] for found in text_findings(run("init-lint", *args, cwd=tmp_path).stdout)}

    assert codes(".") == {"INI001", "INI005"}
    assert codes("--select", "INI001", ".") == {"INI001"}  # drops the file's extend-select
    assert codes("--select", "INI", "--ignore", "INI00", ".") == set()
    assert codes("--select", "INI005", "--ignore", "INI", ".") == {"INI005"}  # more specific wins


def test_per_file_ignores_are_globs_relative_to_the_config(tmp_path: Path) -> None:
    _pyproject(
        tmp_path,
        '[tool.init-lint.per-file-ignores]\n"tests/**" = ["INI999"]\n"legacy_*.py" = ["INI"]\n',
    )
    for name in ["tests/unit/broken.py", "src/legacy_net.py", "src/broken.py"]:
        write(tmp_path, name, BROKEN)
    # Run from a subdirectory: patterns still match relative to pyproject.toml's directory.
    result = run("init-lint", "..", cwd=tmp_path / "src")
    assert linted_paths(result.stdout) == {os.path.normpath("../src/broken.py")}
    stdin = run("init-lint", "-", "--stdin-filename", "tests/test_x.py", cwd=tmp_path, stdin=BROKEN)
    assert stdin.returncode == 0


def test_exclude_and_extend_exclude_from_the_file(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.init-lint]\nextend-exclude = ["fixtures/"]\n')
    for name in ["fixtures/bad.py", "build/gen.py", "model.py"]:
        write(tmp_path, name, BROKEN)
    assert linted_paths(run("init-lint", ".", cwd=tmp_path).stdout) == {"model.py"}
    _pyproject(tmp_path, '[tool.init-lint]\nexclude = ["fixtures"]\n')  # replaces the defaults
    assert linted_paths(run("init-lint", ".", cwd=tmp_path).stdout) == {
        "model.py",
        os.path.normpath("build/gen.py"),
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("selct = ['INI001']", "unknown key 'selct'"),
        ("select = 'INI001'", "select: must be a list of strings"),
        ("ignore = ['INI7']", "ignore: unknown rule code 'INI7'"),
        ("mode = 'fan_avg'", "mode: must be one of fan_in, fan_out, not 'fan_avg'"),
        ("distribution = 'gaussian'", "distribution: must be one of normal, uniform"),
        ("through-norm = 'yes'", "through-norm: must be true or false, not 'yes'"),
        ("zero-bias = 1", "zero-bias: must be true or false"),
        ("per-file-ignores = ['x']", "per-file-ignores: must be a table"),
        ("[tool.init-lint.per-file-ignores]\n'a.py' = 'INI001'", "per-file-ignores.'a.py'"),
        ("select = [", "invalid TOML"),
    ],
)
def test_bad_configuration_is_a_clear_error_naming_the_key(
    tmp_path: Path, body: str, message: str
) -> None:
    table = body if body.startswith("[") else f"[tool.init-lint]\n{body}\n"
    _pyproject(tmp_path, table + "\n")
    write(tmp_path, "model.py", "x = 1\n")
    result = run("init-lint", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "pyproject.toml" in result.stderr


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = run("init-lint", "--config", "nope.toml", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.toml: cannot read config file" in result.stderr


def test_analysis_keys_reach_the_engine_options() -> None:
    table = {"through-norm": True, "mode": "fan_out", "distribution": "uniform", "zero-bias": True}
    settings = settings_from_table(table, Path.cwd(), "pyproject.toml")
    assert settings.options() == Options(
        through_norm=True, mode="fan_out", distribution="uniform", zero_bias=True
    )
    with pytest.raises(ConfigError, match="unknown key 'through_norm'"):
        settings_from_table({"through_norm": True}, Path.cwd(), "pyproject.toml")


def test_through_norm_from_file_and_flag(tmp_path: Path) -> None:
    write(tmp_path, "net.py", THROUGH_NORM)
    assert run("init-lint", ".", cwd=tmp_path).returncode == 0
    flagged = run("init-lint", "--through-norm", ".", cwd=tmp_path)
    assert {found[3] for found in text_findings(flagged.stdout)} == {"INI001"}
    _pyproject(tmp_path, "[tool.init-lint]\nthrough-norm = true\n")
    assert run("init-lint", ".", cwd=tmp_path).returncode == 1
    assert run("init-lint", "--no-through-norm", ".", cwd=tmp_path).returncode == 0


# Issue 13, item 8: inputs that gave tracebacks (or took a minute) now work or are clear errors.
MANY_STARS = '"' + "*" * 300 + '.py" = ["INI999"]'
BAD_CONFIGS = {
    "binary": (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "invalid TOML: not UTF-8 text"),
    "utf-16": ("[tool.init-lint]\n".encode("utf-16"), "invalid TOML: not UTF-8 text"),
    "deeply-nested": (
        b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "invalid TOML: nested too deeply",
    ),
    "bad-range": (b'[tool.init-lint]\nexclude = ["[z-a].py"]\n', "invalid pattern '[z-a].py'"),
    "not-a-table": (b"[tool]\ninit-lint = 3\n", "[tool.init-lint] must be a table"),
    "backtracking": (
        b'[tool.init-lint.per-file-ignores]\n"' + b"a*" * 40 + b'" = ["INI001"]\n',
        "has more than 6 wildcards in one path component",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("content,message", list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_malformed_config_files_are_clear_errors(
    tmp_path: Path, content: bytes, message: str
) -> None:
    write(tmp_path, "pyproject.toml", content)
    write(tmp_path, "broken.py", BROKEN)
    result = run("init-lint", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "content",
    ["tool = 1\n", f"[tool.init-lint.per-file-ignores]\n{MANY_STARS}\n"],
    ids=["tool-is-a-number", "300-stars"],
)
def test_odd_but_valid_config_files_work(tmp_path: Path, content: str) -> None:
    write(tmp_path, "pyproject.toml", content)
    write(tmp_path, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/broken.py", BROKEN)
    started = time.perf_counter()
    result = run("init-lint", "--no-cache", ".", cwd=tmp_path)
    assert time.perf_counter() - started < 20  # the 300-star glob took over a minute
    # `tool = 1` is no [tool.init-lint]: the file is reported; the star glob ignores INI999.
    assert result.returncode == (1 if content.startswith("tool") else 0), result.stderr


def test_a_pattern_on_the_command_line_is_checked_too(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", BROKEN)
    result = run("init-lint", "--no-cache", "--exclude", "[z-a]", ".", cwd=tmp_path)
    assert result.returncode == 2 and "--exclude: invalid pattern '[z-a]'" in result.stderr
