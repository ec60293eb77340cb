"""One line model everywhere, Python's: a line ends at \\n, \\r\\n or \\r (issue 13, item 3).

``str.splitlines`` also breaks at form feeds and seven other characters that Python keeps inside a
line. With one of them in a string or a comment, positions, ``# noqa``, ``--show-source`` and the
autofix all pointed at the wrong line; the fix was written lines away from the layer.
"""

from __future__ import annotations

import difflib
import io
import tokenize
from pathlib import Path

import pytest
from cli_helpers import run, text_findings, write

from init_lint.config import Settings
from init_lint.engine import lint_source
from init_lint.filtering import filter_findings
from init_lint.fixer import fix_source
from init_lint.lines import line_starts, split_lines
from init_lint.output import Context, Style, render_text
from init_lint.source import source_lines

#: Every character ``str.splitlines`` breaks at that Python does not.
NOT_LINE_BREAKS = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]

MODEL = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.note = "a{ch}b"  # comment with a{ch}character
        self.fc = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 8)  # noqa: INI001

    def forward(self, x):
        return self.fc2(self.fc(x).relu()).relu()
"""
FIX_LINE = '        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")\n'


def _ids(chars: list[str]) -> list[str]:
    return [f"U+{ord(ch):04X}" for ch in chars]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_split_lines_agrees_with_pythons_tokenizer(newline: str) -> None:
    text = (
        newline.join(f"x{i} = 'a{ch}b'  # {ch}" for i, ch in enumerate(NOT_LINE_BREAKS)) + newline
    )
    tokens = list(tokenize.generate_tokens(io.StringIO(text.replace(newline, "\n")).readline))
    assert len(split_lines(text)) == max(t.end[0] for t in tokens) - 1 == len(NOT_LINE_BREAKS)
    assert "".join(split_lines(text, keepends=True)) == text
    assert line_starts(text)[2] == len(split_lines(text, keepends=True)[0])


@pytest.mark.parametrize("ch", NOT_LINE_BREAKS, ids=_ids(NOT_LINE_BREAKS))
def test_positions_noqa_show_source_and_fix(ch: str) -> None:
    source = MODEL.format(ch=ch).encode("utf-8")
    findings = lint_source(source, "m.py")
    assert [(f.line, f.code) for f in findings] == [(8, "INI001"), (9, "INI001")]
    # The noqa comment of line 9 is honoured; line 8 is reported and shown as it is.
    reported = filter_findings(findings, Settings(), lambda path: source_lines(source))
    assert reported == findings[:1]
    lines = source_lines(source)
    shown = render_text(reported, Context(Style(False), source_line=lambda f: lines[f.line - 1]))
    assert shown.endswith("\n        self.fc = nn.Linear(8, 8)\n                  ^\n")
    result = fix_source("m.py", source, reported)
    assert result.error is None
    before = source.decode().splitlines(keepends=True)  # fine for a diff: both sides alike
    after = result.fixed.decode().splitlines(keepends=True)
    changes = [line for line in difflib.ndiff(before, after) if line[:2] in ("+ ", "- ")]
    assert changes == ["+ " + FIX_LINE], "the fix must be the one inserted line, nothing else"
    assert result.fixed == source.replace(b"(8, 8)\n", b"(8, 8)\n" + FIX_LINE.encode(), 1)
    compile(result.fixed, "m.py", "exec")


def test_cli_with_every_such_character(tmp_path: Path) -> None:
    source = MODEL.format(ch="".join(NOT_LINE_BREAKS)).encode("utf-8")
    path = write(tmp_path, "m.py", source)
    lint = run("init-lint", "--no-cache", "--show-source", "m.py", cwd=tmp_path)
    assert [(f[1], f[3]) for f in text_findings(lint.stdout)] == [(8, "INI001")]
    assert "\n        self.fc = nn.Linear(8, 8)\n                  ^" in lint.stdout
    fixed = run("init-lint", "--no-cache", "--fix", "m.py", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert path.read_bytes() == source.replace(b"(8, 8)\n", b"(8, 8)\n" + FIX_LINE.encode(), 1)
