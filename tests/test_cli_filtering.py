"""Selection and ``# noqa``: the rules in filtering.py, then end to end through init-lint."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import BROKEN, json_findings, run, text_findings, write

from init_lint.config import Settings
from init_lint.filtering import CodeSelector
from init_lint.noqa import noqa_codes, silenced_by_noqa
from init_lint.rules import RULES


@pytest.mark.parametrize(
    ("select", "extend", "ignore", "enabled"),
    [
        (None, (), (), {"INI001", "INI005", "INI999"}),
        (("INI001",), (), (), {"INI001", "INI999"}),
        (("INI001",), ("INI005",), (), {"INI001", "INI005", "INI999"}),
        (("INI",), (), ("INI001",), {"INI005", "INI999"}),
        (("INI001",), (), ("INI",), {"INI001", "INI999"}),
        (("INI001",), (), ("INI001",), {"INI999"}),  # a tie: ignore wins
        (None, (), ("INI999",), {"INI001", "INI005"}),  # INI999 goes only when named
    ],
)
def test_selection_precedence(
    select: tuple[str, ...] | None, extend: tuple[str, ...], ignore: tuple[str, ...], enabled: set
) -> None:
    selector = CodeSelector(Settings(select=select, extend_select=extend, ignore=ignore))
    assert {c for c in ("INI001", "INI005", "INI999") if selector.enabled(c)} == enabled


@pytest.mark.parametrize(
    ("line", "codes"),
    [
        ("x = nn.Linear(2, 2)", None),
        ("x = nn.Linear(2, 2)  # noqa", frozenset()),
        ("x = nn.Linear(2, 2)  # NoQA", frozenset()),
        ("x = nn.Linear(2, 2)  # noqa: INI001", frozenset({"INI001"})),
        ("x = nn.Linear(2, 2)  # noqa:INI001,INI003", frozenset({"INI001", "INI003"})),
        ("x = nn.Linear(2, 2)  # noqa: ini001, E501", frozenset({"INI001", "E501"})),
        ("x = nn.Linear(2, 2)  # noqa : INI001", frozenset()),  # flake8 reads this as bare
        ("x = nn.Linear(2, 2)  # type: ignore # noqa: INI00", frozenset({"INI00"})),
    ],
)
def test_noqa_comment_parsing(line: str, codes: frozenset[str] | None) -> None:
    assert noqa_codes(line) == codes


def test_noqa_code_lists_match_by_prefix_like_flake8() -> None:
    assert silenced_by_noqa("INI001", "# noqa: INI00")
    assert silenced_by_noqa("INI001", "# noqa")
    assert not silenced_by_noqa("INI001", "# noqa: INI003")
    assert not silenced_by_noqa("INI001", "nothing here")


def _with_comment_on_finding_line(source: str, line: int, comment: str) -> str:
    lines = source.splitlines()
    lines[line - 1] += f"  {comment}"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("comment", "silenced"),
    [
        ("# noqa", True),
        ("# NOQA", True),
        ("# noqa: {code}", True),
        ("# noqa:INI003,{code}", True),
        ("# noqa: INI00", True),
        ("# noqa: INI999", False),
    ],
)
def test_noqa_on_the_reported_line_end_to_end(tmp_path: Path, comment: str, silenced: bool) -> None:
    code = "INI005"
    source = RULES[code].invalid[0].source
    write(tmp_path, "model.py", source)
    [finding] = [f for f in json_findings(tmp_path, "model.py") if f["code"] == code]
    patched = _with_comment_on_finding_line(source, finding["line"], comment.format(code=code))
    write(tmp_path, "model.py", patched)
    codes = {f["code"] for f in json_findings(tmp_path, "model.py")}
    assert (code not in codes) is silenced


def test_noqa_on_another_line_does_not_silence(tmp_path: Path) -> None:
    source = RULES["INI005"].invalid[0].source
    write(tmp_path, "model.py", source)
    [finding] = json_findings(tmp_path, "model.py")
    other_line = finding["line"] - 1
    write(tmp_path, "model.py", _with_comment_on_finding_line(source, other_line, "# noqa"))
    assert [f["code"] for f in json_findings(tmp_path, "model.py")] == ["INI005"]


def test_noqa_silences_a_syntax_error_on_its_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", BROKEN)
    [(_, line, _, _, _)] = text_findings(run("init-lint", ".", cwd=tmp_path).stdout)
    write(tmp_path, "broken.py", _with_comment_on_finding_line(BROKEN, line, "# noqa: INI999"))
    assert run("init-lint", ".", cwd=tmp_path).returncode == 0
