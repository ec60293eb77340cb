"""File-level exemptions (``# init-lint: noqa``, ``# flake8: noqa``) and ``--add-noqa``."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import BROKEN, run, text_findings, write

from init_lint.cli import main
from init_lint.noqa import ALL, add_noqa, file_exemption
from init_lint.rules import RULES

MLP = RULES["INI001"].invalid[0].source
DEPRECATED = RULES["INI005"].invalid[0].source


def lint(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["--jobs", "1", "--no-cache", *args, str(tmp_path)])
    out = capsys.readouterr().out
    return status, out


@pytest.mark.parametrize(
    ("lines", "exemption"),
    [
        (["x = 1"], frozenset()),
        (["# init-lint: noqa"], ALL),
        (["    #init-lint:noqa  "], ALL),
        (["# INIT-LINT: NOQA"], ALL),
        (["# init-lint: noqa: INI001, ini003"], frozenset({"INI001", "INI003"})),
        (["# init-lint: noqa: INI001", "# init-lint: noqa: INI00"], frozenset({"INI001", "INI00"})),
        (["x = 1  # init-lint: noqa"], frozenset()),  # not on a line of its own
        (["# flake8: noqa"], ALL),
        (["# flake8: noqa: E501"], ALL),  # flake8 skips the whole file for this too
        (["x = 1  # flake8: noqa"], frozenset()),  # flake8 ignores it after code
        (["# noqa"], frozenset()),  # a line-level comment on a line of its own
    ],
)
def test_file_exemption_parsing(lines: list[str], exemption: frozenset[str]) -> None:
    assert file_exemption(lines) == exemption


def test_file_exemption_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "mlp.py", MLP)
    write(tmp_path, "deprecated.py", DEPRECATED)
    write(tmp_path, "broken.py", BROKEN)
    assert {f[3] for f in text_findings(lint(tmp_path, capsys)[1])} == {
        "INI001",
        "INI005",
        "INI999",
    }
    write(tmp_path, "mlp.py", MLP.replace("class MLP", "# init-lint: noqa\nclass MLP"))
    write(tmp_path, "deprecated.py", DEPRECATED + "\n# init-lint: noqa: INI001\n")  # other code
    write(tmp_path, "broken.py", "# flake8: noqa\n" + BROKEN)
    status, out = lint(tmp_path, capsys)
    assert status == 1
    assert {(f[0].rsplit("/", 1)[-1], f[3]) for f in text_findings(out)} == {
        ("deprecated.py", "INI005")
    }
    write(tmp_path, "deprecated.py", DEPRECATED + "\n# init-lint: noqa: INI005\n")
    assert lint(tmp_path, capsys)[0] == 0


def test_add_noqa_merges_with_existing_comments_like_ruff() -> None:
    text = (
        "a = 1\n"
        "b = 2  # comment\n"
        "c = 3  # noqa: E501\n"
        "d = 4  # noqa:E402 because\r\n"
        "e = 5 \\\n"
        "  + 1\n"
    )
    new, added, refused = add_noqa(text, {1: ["INI001"], 2: ["INI003", "INI001"], 3: ["INI001"],
                                          4: ["INI005"], 5: ["INI001"]})  # fmt: skip
    assert new == (
        "a = 1  # noqa: INI001\n"
        "b = 2  # comment  # noqa: INI001, INI003\n"
        "c = 3  # noqa: E501, INI001\n"
        "d = 4  # noqa:E402, INI005 because\r\n"
        "e = 5 \\\n"
        "  + 1\n"
    )
    assert (added, refused) == (4, [5])


def test_add_noqa_end_to_end_is_idempotent_and_keeps_the_file_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crlf = DEPRECATED.replace("\n", "\r\n")
    latin = "# -*- coding: latin-1 -*-\n# café\n" + MLP
    write(tmp_path, "deprecated.py", crlf.encode())
    write(tmp_path, "mlp.py", latin.encode("latin-1"))
    write(tmp_path, "broken.py", BROKEN)
    before = {f[:4] for f in text_findings(lint(tmp_path, capsys)[1])}
    assert main(["--jobs", "1", "--no-cache", "--add-noqa", str(tmp_path)]) == 0
    assert "Added 2 noqa directives." in capsys.readouterr().err
    fixed_crlf = (tmp_path / "deprecated.py").read_bytes()
    assert fixed_crlf.count(b"\r\n") == crlf.count("\r\n") and b"# noqa: INI005\r\n" in fixed_crlf
    fixed_latin = (tmp_path / "mlp.py").read_bytes().decode("latin-1")
    assert "# café" in fixed_latin and "nn.Linear(784, 256)  # noqa: INI001\n" in fixed_latin
    assert (tmp_path / "broken.py").read_text() == BROKEN  # INI999 gets no noqa comment
    # Only INI999 is left; a second run adds nothing.
    after = {f[:4] for f in text_findings(lint(tmp_path, capsys)[1])}
    assert {f[3] for f in after} == {"INI999"} and after < before
    snapshot = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["--jobs", "1", "--no-cache", "--add-noqa", str(tmp_path)]) == 0
    assert "Added 0 noqa directives." in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == snapshot


def test_add_noqa_refuses_stdin_and_fix(tmp_path: Path) -> None:
    assert run("init-lint", "--add-noqa", "-", cwd=tmp_path, stdin="x = 1\n").returncode == 2
    result = run("init-lint", "--add-noqa", "--fix", ".", cwd=tmp_path)
    assert result.returncode == 2 and "cannot be combined" in result.stderr
