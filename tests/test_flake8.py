"""The flake8 plugin, through the real flake8 executable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, THROUGH_NORM, run, text_findings, write

from init_lint.rules import RULES


def test_plugin_is_registered() -> None:
    result = run("flake8", "--version")
    assert "init-lint: " in result.stdout


@pytest.mark.parametrize("code", sorted(RULES))
def test_invalid_examples_report_the_same_as_init_lint(tmp_path: Path, code: str) -> None:
    write(tmp_path, "model.py", RULES[code].invalid[0].source)
    flake8 = run("flake8", "--select", "INI", "model.py", cwd=tmp_path)
    init_lint = run("init-lint", "--quiet", "model.py", cwd=tmp_path)
    assert flake8.returncode == 1
    assert code in {found[3] for found in text_findings(flake8.stdout)}
    assert text_findings(flake8.stdout) == text_findings(init_lint.stdout)


def test_valid_examples_are_clean(tmp_path: Path) -> None:
    for code, rule in RULES.items():
        for index, example in enumerate(rule.valid):
            write(tmp_path, f"{code.lower()}_{index}.py", example.source)
    result = run("flake8", "--select", "INI", ".", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


def test_noqa_is_honoured_by_flake8(tmp_path: Path) -> None:
    source = RULES["INI005"].invalid[0].source
    write(tmp_path, "model.py", source)
    before = run("flake8", "--select", "INI", ".", cwd=tmp_path)
    [(_, line, _, code, _)] = text_findings(before.stdout)
    lines = source.splitlines()
    lines[line - 1] += f"  # noqa: {code}"
    write(tmp_path, "model.py", "\n".join(lines) + "\n")
    assert run("flake8", "--select", "INI", ".", cwd=tmp_path).returncode == 0
    lines[line - 1] = lines[line - 1].replace(code, "INI003")
    write(tmp_path, "model.py", "\n".join(lines) + "\n")
    assert run("flake8", "--select", "INI", ".", cwd=tmp_path).returncode == 1


def test_options_from_the_command_line_and_flake8_config(tmp_path: Path) -> None:
    write(tmp_path, "net.py", THROUGH_NORM)
    assert run("flake8", "--select", "INI", "net.py", cwd=tmp_path).returncode == 0
    flagged = run("flake8", "--select", "INI", "--init-lint-through-norm", "net.py", cwd=tmp_path)
    assert {found[3] for found in text_findings(flagged.stdout)} == {"INI001"}
    write(tmp_path, "setup.cfg", "[flake8]\nselect = INI\ninit-lint-through-norm = true\n")
    from_config = run("flake8", "net.py", cwd=tmp_path)
    assert text_findings(from_config.stdout) == text_findings(flagged.stdout)


def test_bad_option_value_in_flake8_config_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path, "net.py", "x = 1\n")
    write(tmp_path, "tox.ini", "[flake8]\ninit-lint-mode = fan_avg\n")
    result = run("flake8", "--select", "INI", "net.py", cwd=tmp_path)
    assert result.returncode != 0
    assert "init-lint: --init-lint-mode must be one of fan_in, fan_out, not 'fan_avg'" in (
        result.stdout
    )


def test_plugin_does_not_import_torch() -> None:
    code = "import sys, init_lint.flake8_plugin; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_examples_give_the_same_findings_through_flake8_and_init_lint() -> None:
    examples = REPO / "examples"
    assert any(examples.rglob("*.py"))
    flake8 = run("flake8", "--select", "INI", "examples/", cwd=REPO)
    # flake8 does not read notebooks: compare the Python files.
    init_lint = run("init-lint", "--quiet", "--extend-exclude", "*.ipynb", "examples/", cwd=REPO)
    assert flake8.returncode == init_lint.returncode
    assert text_findings(flake8.stdout) == text_findings(init_lint.stdout)


def test_same_findings_whatever_the_encoding_and_line_endings(tmp_path: Path) -> None:
    """flake8 hands the plugin decoded lines; init-lint parses bytes: positions must agree."""
    source = RULES["INI001"].invalid[0].source
    write(tmp_path, "bom.py", b"\xef\xbb\xbf" + source.encode())
    write(tmp_path, "crlf.py", source.replace("\n", "\r\n").encode())
    write(tmp_path, "latin1.py", f"# -*- coding: latin-1 -*-\n# café\n{source}".encode("latin-1"))
    write(tmp_path, "tabs.py", source.replace("    ", "\t"))
    flake8 = run("flake8", "--select", "INI", ".", cwd=tmp_path)
    init_lint = run("init-lint", "--quiet", ".", cwd=tmp_path)
    assert len(text_findings(init_lint.stdout)) == 4
    assert text_findings(flake8.stdout) == text_findings(init_lint.stdout)


def test_show_source_prints_what_flake8_prints(tmp_path: Path) -> None:
    write(tmp_path, "mlp.py", RULES["INI001"].invalid[0].source)
    write(tmp_path, "tabs.py", RULES["INI001"].invalid[0].source.replace("    ", "\t"))
    flake8 = run("flake8", "--select", "INI", "--show-source", "mlp.py", "tabs.py", cwd=tmp_path)
    init_lint = run("init-lint", "--quiet", "--show-source", "mlp.py", "tabs.py", cwd=tmp_path)
    assert "^" in init_lint.stdout
    # The same but for init-lint's fixable marker, which flake8 has no notion of.
    assert init_lint.stdout.replace(" [*] ", " ") == flake8.stdout


# -- one configuration: [tool.init-lint] drives flake8 too -------------------------------------


def _codes(result: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    """(path, code) of the INI findings (flake8's own E/F/W codes are not ours to test)."""
    return {
        (Path(found[0]).as_posix(), found[3])
        for found in text_findings(result.stdout)
        if found[3].startswith("INI")
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """INI001 in src/ and tests/, INI003 and INI005 in src/, Conv->BN->ReLU in src/norm.py."""
    write(tmp_path, "src/mlp.py", RULES["INI001"].invalid[0].source)
    write(tmp_path, "src/slope.py", RULES["INI003"].invalid[0].source)
    write(tmp_path, "src/old.py", RULES["INI005"].invalid[0].source)
    write(tmp_path, "src/norm.py", THROUGH_NORM)
    write(tmp_path, "tests/test_mlp.py", RULES["INI001"].invalid[0].source)
    return tmp_path


@pytest.mark.slow
def test_flake8_reads_select_ignore_and_per_file_ignores_from_pyproject(project: Path) -> None:
    everything = {("src/mlp.py", "INI001"), ("src/slope.py", "INI003"), ("src/old.py", "INI005"),
                  ("tests/test_mlp.py", "INI001")}  # fmt: skip
    assert _codes(run("flake8", "--select", "INI", ".", cwd=project)) == everything
    write(project, "pyproject.toml", '[tool.init-lint]\nignore = ["INI003"]\n'
          'extend-ignore = ["INI005"]\n[tool.init-lint.per-file-ignores]\n"tests/**" = ["INI001"]\n')  # fmt: skip
    configured = {("src/mlp.py", "INI001")}
    assert _codes(run("flake8", "--select", "INI", ".", cwd=project)) == configured
    assert (
        _codes(run("init-lint", ".", cwd=project)) == configured
    )  # the same table, the same answer
    # Named from a subdirectory, flake8 finds the table above it, as init-lint does.
    assert _codes(run("flake8", "--select", "INI", ".", cwd=project / "src")) == {
        ("mlp.py", "INI001")
    }
    # flake8's own lists win when they name INI codes, as init-lint's flags do ...
    ignore_other = run("flake8", "--select", "INI", "--ignore", "INI005", ".", cwd=project)
    assert _codes(ignore_other) == {("src/mlp.py", "INI001"), ("src/slope.py", "INI003")}
    # ... and leave the table alone when they do not.
    assert _codes(run("flake8", "--ignore", "E501", ".", cwd=project)) == configured
    # flake8's per-file-ignores apply on top.
    assert (
        _codes(
            run("flake8", "--select", "INI", "--per-file-ignores", "src/*:INI001", ".", cwd=project)
        )
        == set()
    )


@pytest.mark.slow
def test_flake8_reads_the_analysis_options_from_pyproject_and_its_own_win(project: Path) -> None:
    def norm(*args: str) -> bool:
        result = run("flake8", "--select", "INI", *args, "src/norm.py", cwd=project)
        return ("src/norm.py", "INI001") in _codes(result)

    assert not norm()
    write(project, "pyproject.toml", "[tool.init-lint]\nthrough-norm = true\n")
    assert norm()
    write(project, ".flake8", "[flake8]\ninit-lint-through-norm = false\n")
    assert not norm()
    assert norm("--init-lint-through-norm")
    (project / ".flake8").unlink()
    write(
        project, "pyproject.toml", '[tool.init-lint]\nmode = "fan_out"\ndistribution = "uniform"\n'
    )
    mlp = run("flake8", "--select", "INI", "src/mlp.py", cwd=project).stdout
    assert 'kaiming_uniform_(self.fc1.weight, mode="fan_out", nonlinearity="relu")' in mlp
    assert 'kaiming_normal_(self.fc1.weight, nonlinearity="relu")' in run(
        "flake8", "--select", "INI", "--init-lint-mode", "fan_in", "--init-lint-distribution",
        "normal", "src/mlp.py", cwd=project,
    ).stdout  # fmt: skip


@pytest.mark.slow
def test_flake8_honours_file_exemptions_and_reports_a_bad_table(project: Path) -> None:
    source = RULES["INI001"].invalid[0].source
    write(project, "src/mlp.py", "# init-lint: noqa: INI001\n" + source)
    write(project, "src/old.py", "# init-lint: noqa\n" + RULES["INI005"].invalid[0].source)
    write(project, "src/slope.py", "# flake8: noqa\n" + RULES["INI003"].invalid[0].source)
    assert _codes(run("flake8", "--select", "INI", "src", cwd=project)) == set()
    write(project, "pyproject.toml", '[tool.init-lint]\nignore = ["E501"]\n')
    result = run("flake8", "--select", "INI", "src", cwd=project)
    assert result.returncode == 1
    assert "init-lint: " in result.stdout and "unknown rule code 'E501'" in result.stdout


def test_no_analysis_when_no_ini_code_is_selected(tmp_path: Path) -> None:
    """``--select E9`` leaves no INI code to report: the plugin analyses nothing (no cache entry
    is written), and an INI code selected on top is analysed and reported again."""
    project = tmp_path / "project"
    write(project, "pkg/__init__.py", "")
    write(project, "pkg/model.py", RULES["INI001"].invalid[0].source)
    cache_home = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache_home)}

    def entries() -> list[Path]:
        return [path for path in cache_home.rglob("*") if path.is_file()]

    syntax_only = run("flake8", "--select", "E9", ".", cwd=project, env=env)
    assert (syntax_only.returncode, syntax_only.stdout) == (0, "")
    assert entries() == []
    extended = run(
        "flake8", "--select", "E9", "--extend-select", "INI001", ".", cwd=project, env=env
    )
    assert {found[3] for found in text_findings(extended.stdout)} == {"INI001"}
    assert entries()
