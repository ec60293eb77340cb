"""docs/rules/ and `init-lint --explain` come from the same function and must not drift."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, run

from init_lint.docs import explain, pages
from init_lint.rules import ALL_CODES, RULES


def test_generator_check_passes_on_the_committed_pages() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "init_lint.docs", "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_generator_check_catches_drift_and_regenerates(tmp_path: Path) -> None:
    docs = tmp_path / "rules"
    command = [sys.executable, "-m", "init_lint.docs", "--dir", str(docs)]
    assert subprocess.run([*command, "--check"], capture_output=True).returncode == 1
    subprocess.run(command, check=True, capture_output=True)
    assert subprocess.run([*command, "--check"], capture_output=True).returncode == 0
    (docs / "INI003.md").write_text("# stale\n", encoding="utf-8")
    stale = subprocess.run([*command, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "INI003.md is out of date" in stale.stderr


@pytest.mark.parametrize("code", ALL_CODES)
def test_page_explain_and_cli_are_the_same_text(code: str) -> None:
    page = (REPO / "docs" / "rules" / f"{code}.md").read_text(encoding="utf-8")
    assert page == explain(code), "docs/rules/ is stale: run python -m init_lint.docs"
    assert run("init-lint", "--explain", code).stdout == page
    if code in RULES:
        assert page == RULES[code].explain()


def test_every_page_is_in_the_readme_rule_table_with_its_title() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = dict(
        re.findall(r"^\| \[(INI\d{3})\]\(docs/rules/\1\.md\) \|[^|]*\| (.+?) \|$", readme, re.M)
    )
    assert set(rows) == {name.removesuffix(".md") for name in pages()}
    for code, title in rows.items():
        assert explain(code).splitlines()[0] == f"# {code}: {title}"
