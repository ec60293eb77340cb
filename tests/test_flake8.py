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
    init_lint = run("init-lint", "--quiet", "examples/", cwd=REPO)
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
