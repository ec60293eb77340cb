"""Everyday options: typos, --output-file, --show-settings/--show-files, --extend-ignore, the
fixable marker, --show-fixes, and listing the rules. Run in-process through ``main`` (the
console script's entry point) where the console script itself adds nothing to the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import BROKEN, TEXT_LINE, run, text_findings, write

from init_lint.cli import main
from init_lint.config import settings_from_table, tomllib
from init_lint.rules import ALL_CODES, RULES, rule_for

MLP = RULES["INI001"].invalid[0].source
INI004 = RULES["INI004"].invalid[0].source  # report-only: no autofix


def cli(
    args: list[str], cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    status = main(["--jobs", "1", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("--fi", "--fix"), ("--form", "--format"), ("--form=json", "--format"), ("--statistic", "--statistics"),
     ("--extend-ignor", "--extend-ignore"), ("--exlcude", "--exclude")],
)  # fmt: skip
def test_no_prefix_matching_and_a_suggestion_for_a_typo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    typo: str, meant: str,
) -> None:  # fmt: skip
    path = write(tmp_path, "mlp.py", MLP)
    status, out, err = cli([typo, "mlp.py"], tmp_path, capsys, monkeypatch)
    assert status == 2 and out == ""
    assert f"unrecognized arguments: {typo}" in err
    assert f"tip: a similar argument exists: '{meant}'" in err
    assert path.read_text() == MLP  # `--fi` did not run --fix


def test_the_console_script_refuses_an_abbreviation(tmp_path: Path) -> None:
    path = write(tmp_path, "mlp.py", MLP)
    result = run("init-lint", "--fi", "mlp.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "a similar argument exists: '--fix'" in result.stderr
    assert path.read_text() == MLP


def test_options_may_come_between_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "a.py", BROKEN)
    write(tmp_path, "b.py", BROKEN)
    status, out, _ = cli(["a.py", "--quiet", "b.py"], tmp_path, capsys, monkeypatch)
    assert status == 1
    assert {found[0] for found in text_findings(out)} == {"a.py", "b.py"}
    assert "Found" not in out


def test_fixable_marker_and_summary_as_ruff_prints_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "mlp.py", MLP)
    write(tmp_path, "flat.py", INI004)
    status, out, _ = cli(["."], tmp_path, capsys, monkeypatch)
    assert status == 1
    lines = out.splitlines()
    matches = [m for m in map(TEXT_LINE.match, lines) if m]
    assert {m["code"] for m in matches} == {"INI001", "INI004"}
    assert {m["code"] for m in matches if m["fixable"]} == {
        "INI001"
    }  # INI004 has no autofix: no marker
    assert lines[-2:] == ["Found 2 findings in 2 files.", "[*] 1 fixable with `--fix`."]


def test_statistics_show_the_fixable_count_per_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "mlp.py", MLP)
    write(tmp_path, "flat.py", INI004)
    _, out, _ = cli(["--statistics", "--quiet", "."], tmp_path, capsys, monkeypatch)
    stats = {line.split()[1]: line for line in out.splitlines() if not TEXT_LINE.match(line)}
    assert stats["INI001"].split(None, 2) == [
        "1",
        "INI001",
        f"[*] 1 fixable  {RULES['INI001'].title}",
    ]
    assert stats["INI004"].split(None, 2) == ["1", "INI004", RULES["INI004"].title]


def test_show_fixes_lists_what_fix_fixed_and_shows_each_fix_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "mlp.py", MLP)
    _, out, _ = cli(["--show-fixes", "mlp.py"], tmp_path, capsys, monkeypatch)
    [finding, help_line] = out.splitlines()[:2]
    assert TEXT_LINE.match(finding)["fixable"]
    assert help_line.startswith("  help: ") and "kaiming_normal_(self.fc1.weight" in help_line
    status, out, _ = cli(["--fix", "--show-fixes", "mlp.py"], tmp_path, capsys, monkeypatch)
    assert status == 0
    assert out.splitlines()[:3] == [
        "Fixed 1 finding(s) in 1 file(s).",
        "- mlp.py:",
        "    1 × INI001 (rectifier-without-kaiming)",
    ]


def test_output_file_receives_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "mlp.py", MLP)
    status, out, _ = cli(
        ["--format", "json", "-o", "report.json", "."], tmp_path, capsys, monkeypatch
    )
    assert status == 1 and out == ""
    [finding] = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert finding["code"] == "INI001"
    # ruff's spelling of --format; --statistics stays out of the JSON document.
    args = ["--output-format", "json", "--statistics", "-o", "report.json", "."]
    status, out, err = cli(args, tmp_path, capsys, monkeypatch)
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))[0]["code"] == "INI001"
    assert status == 1 and out == "" and "  INI001  " in err
    status, out, _ = cli(
        ["--output-file", "report.txt", "--statistics", "."], tmp_path, capsys, monkeypatch
    )
    text = (tmp_path / "report.txt").read_text(encoding="utf-8")
    assert status == 1 and out == ""
    assert "mlp.py:" in text and "Found 1 finding in 1 file." in text and "  INI001  " in text
    status, _, err = cli(["-o", "no/such/dir/report.txt", "."], tmp_path, capsys, monkeypatch)
    assert status == 2 and "cannot write no/such/dir/report.txt" in err


def test_extend_ignore_on_the_command_line_and_in_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "mlp.py", MLP)
    write(tmp_path, "broken.py", BROKEN)

    def codes(*args: str) -> set[str]:
        return {
            found[3] for found in text_findings(cli([*args, "."], tmp_path, capsys, monkeypatch)[1])
        }

    assert codes() == {"INI001", "INI999"}
    assert codes("--extend-ignore", "INI001") == {"INI999"}
    write(tmp_path, "pyproject.toml", '[tool.init-lint]\nextend-ignore = ["INI999"]\n')
    assert codes() == {"INI001"}
    assert codes("--extend-ignore", "INI001") == set()
    assert codes("--ignore", "INI005") == {
        "INI001"
    }  # as in flake8, extend-ignore outlives --ignore


def test_show_settings_names_the_config_file_and_the_resolved_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "pyproject.toml", '[tool.init-lint]\nignore = ["INI005"]\nmode = "fan_out"\n'
          '[tool.init-lint.per-file-ignores]\n"tests/**" = ["INI001"]\n')  # fmt: skip
    status, out, _ = cli(["--show-settings", "--zero-bias"], tmp_path, capsys, monkeypatch)
    assert status == 0
    assert out.startswith(f"# Settings from: {tmp_path / 'pyproject.toml'}\n")
    assert 'ignore = ["INI005"]' in out and 'mode = "fan_out"' in out and "zero-bias = true" in out
    assert "# Enabled codes: INI001, INI002, INI003, INI004, INI006, INI007, INI999" in out
    # The text is a valid [tool.init-lint] table that gives the same settings back.
    table = tomllib.loads(out)["tool"]["init-lint"]
    assert settings_from_table(table, tmp_path, "shown").per_file_ignores == (
        ("tests/**", ("INI001",)),
    )
    _, out, _ = cli(["--show-settings", "--format", "json"], tmp_path, capsys, monkeypatch)
    document = json.loads(out)
    assert document["config_file"] == str(tmp_path / "pyproject.toml")
    assert document["settings"]["mode"] == "fan_out" and "INI005" not in document["enabled"]


def test_show_settings_without_a_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = cli(["--show-settings"], tmp_path, capsys, monkeypatch)
    assert out.startswith("# Settings from: none (defaults")


def test_show_files_lists_what_would_be_linted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ["pkg/model.py", "pkg/train.ipynb", "build/gen.py", "notes.txt", "legacy/old.py"]:
        write(tmp_path, name, BROKEN)
    status, out, _ = cli(
        ["--show-files", "--extend-exclude", "legacy"], tmp_path, capsys, monkeypatch
    )
    assert status == 0
    assert out.splitlines() == ["pkg/model.py", "pkg/train.ipynb"]


def test_rules_lists_every_rule_in_text_and_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(ALL_CODES)
    assert lines[0].split()[:4] == ["INI001", "rectifier-without-kaiming", "warning", "[*]"]
    assert main(["rules", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["code"] for r in records] == list(ALL_CODES)
    for record in records:
        rule = RULES.get(record["code"])
        if rule is not None:
            assert record["severity"] == rule.level.value and record["fixable"] == rule.fixable
            assert record["explanation"] == rule.explain()


def test_explain_without_a_code_prints_every_page(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--explain"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("# INI")] == [
        f"# {code}: {rule_for(code).title}" for code in ALL_CODES
    ]
    assert main(["--explain", "--format", "json"]) == 0
    assert [r["code"] for r in json.loads(capsys.readouterr().out)] == list(ALL_CODES)
    assert main(["--explain", "ini003", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == RULES["INI003"].name


def test_subcommands_keep_working(tmp_path: Path) -> None:
    assert "--input-shape" in run("init-lint", "verify", "--help", cwd=tmp_path).stdout
    assert run("init-lint", "rules", cwd=tmp_path).stdout.startswith("INI001 ")
