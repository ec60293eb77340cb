"""Jupyter notebooks: linted as one module per notebook, reported per cell, fixed in place.

The notebooks are written by nbformat, as Jupyter writes them, and read back by it after
``--fix``: the round trip must keep everything but the fixed cells' sources byte-for-byte.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from cli_helpers import REPO, run, text_findings, write

from init_lint.cli import main
from init_lint.findings import Finding
from init_lint.notebooks import Notebook, load
from init_lint.rules import RULES

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F"
MLP_CELL = """\
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))"""


def notebook(*cells: tuple[str, str], language: str = "python", **extra: Any) -> Any:
    """A notebook of (cell type, source) pairs, with an output on the last code cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "k", "display_name": "K", "language": language}
    nb.metadata.update(extra)
    for kind, source in cells:
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source, execution_count=len(nb.cells)))
    nb.cells[-1].outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "MLP(…)"}, execution_count=3)
    ]
    return nb


def write_notebook(path: Path, nb: Any) -> bytes:
    nbformat.write(nb, str(path))
    return path.read_bytes()


TRAIN = notebook(
    ("markdown", "# Training an MLP"),
    ("code", "%matplotlib inline\n" + HEADER),
    ("code", "!pip install tqdm\n" + MLP_CELL),
    ("code", "model = MLP()\nmodel"),
)


def lint(cwd: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["--jobs", "1", "--no-cache", *args])
    return status, capsys.readouterr().out


@pytest.fixture
def train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "train.ipynb"
    write_notebook(path, TRAIN)
    return path


def test_reports_cell_and_line_as_ruff_does(
    train: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = lint(train.parent, capsys, "train.ipynb")
    assert status == 1
    # Cell 3 (the markdown cell counts), line 5 of it: after the shell escape on line 1.
    assert out.splitlines()[0].startswith("train.ipynb:cell 3:5:20: INI001 [*] 'self.fc1' (Linear)")
    assert "feeds ReLU (cell 3, line 9)" in out  # the message's own line mention, in cell terms
    _, grouped = lint(train.parent, capsys, "--format", "grouped", "train.ipynb")
    assert grouped.splitlines()[:2] == ["train.ipynb:", grouped.splitlines()[1]]
    assert grouped.splitlines()[1].startswith("  cell 3:5:20 INI001 [*] ")


def test_json_has_the_cell_and_lines_within_it(
    train: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = lint(train.parent, capsys, "--format", "json", "train.ipynb")
    [finding] = json.loads(out)
    assert (finding["cell"], finding["line"], finding["column"]) == (3, 5, 20)
    assert (finding["end_line"], finding["end_column"]) == (5, 39)
    [edit] = finding["fix"]["edits"]
    assert (edit["cell"], edit["line"], edit["column"]) == (3, 6, 1)
    cell_lines = TRAIN.cells[2].source.splitlines()
    assert cell_lines[finding["line"] - 1][finding["column"] - 1 :].startswith(
        "nn.Linear(784, 256)"
    )


def test_github_and_sarif_point_into_the_notebook_json(
    train: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw_lines = train.read_text(encoding="utf-8").splitlines()
    _, out = lint(train.parent, capsys, "--format", "github", "train.ipynb")
    match = re.match(
        r"::warning file=train.ipynb,line=(\d+),col=(\d+),.*::cell 3:5:20: INI001 ", out
    )
    assert match, out
    raw = raw_lines[int(match[1]) - 1]
    assert raw[int(match[2]) - 1 :].startswith("nn.Linear(784, 256)")
    _, out = lint(train.parent, capsys, "--format", "sarif", "train.ipynb")
    [result] = json.loads(out)["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (int(match[1]), int(match[2]))
    assert result["properties"] == {"cell": 3, "cellLine": 5, "cellColumn": 20}
    assert result["level"] == RULES["INI001"].level.value


def test_fix_round_trip_keeps_the_notebook_as_jupyter_wrote_it(
    train: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = train.read_bytes()
    status, out = lint(train.parent, capsys, "--diff", "train.ipynb")
    assert status == 1
    assert out.startswith("--- a/train.ipynb:cell 3\n+++ b/train.ipynb:cell 3\n")
    assert '+        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")\n' in out
    assert train.read_bytes() == original

    status, out = lint(train.parent, capsys, "--fix", "train.ipynb")
    assert status == 0, out
    fixed = train.read_bytes()
    # One line more in the JSON, the rest byte-for-byte (indent, key order, final newline).
    added = [
        line for line in fixed.decode().splitlines() if line not in original.decode().splitlines()
    ]
    assert added == [
        '    "        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity=\\"relu\\")\\n",'
    ]
    assert fixed.replace(added[0].encode() + b"\n", b"") == original
    reread = nbformat.reads(fixed.decode(), as_version=4)
    nbformat.validate(reread)
    assert reread.cells[3].outputs == TRAIN.cells[3].outputs and reread.metadata == TRAIN.metadata
    assert reread.cells[2].source.splitlines()[4:6] == [
        "        self.fc1 = nn.Linear(784, 256)",
        '        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")',
    ]
    assert lint(train.parent, capsys, "--fix", "train.ipynb")[0] == 0
    assert train.read_bytes() == fixed  # a second --fix changes nothing


def test_fix_keeps_a_compact_notebook_with_string_sources_compact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    document = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(HEADER + "\n\n" + MLP_CELL)]
    )
    text = json.dumps(document, ensure_ascii=True)  # one line, sources as strings, no final newline
    write(tmp_path, "compact.ipynb", text)
    assert lint(tmp_path, capsys, "--fix", "compact.ipynb")[0] == 0
    fixed = (tmp_path / "compact.ipynb").read_text()
    assert "\n" not in fixed and json.loads(fixed)["metadata"] == document["metadata"]
    assert "self.fc1 = nn.Linear(784, 256)\\n        nn.init.kaiming_normal_(" in fixed


def test_magics_and_shell_escapes_are_skipped_and_positions_stay_right(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    nb = notebook(
        ("code", "%load_ext autoreload\n%autoreload 2\n" + HEADER),
        ("code", "%%bash\nfor f in *.py; do\n    echo $f\ndone"),
        ("code", "%%time\n" + MLP_CELL),
        (
            "code",
            "files = !ls\nnn.Linear?\nfor i in range(2):\n    %time print(i)\n!echo a \\\n   b",
        ),
    )
    write_notebook(tmp_path / "magic.ipynb", nb)
    status, out = lint(tmp_path, capsys, "magic.ipynb")
    assert status == 1
    assert [f[:4] for f in text_findings(out)] == [("magic.ipynb:cell 3", 5, 20, "INI001")]
    # --fix writes the cells back with every escape where it was.
    assert lint(tmp_path, capsys, "--fix", "magic.ipynb")[0] == 0
    reread = nbformat.read(str(tmp_path / "magic.ipynb"), as_version=4)
    for before, after in zip(nb.cells, reread.cells, strict=True):
        kept = [line for line in after.source.splitlines() if "kaiming" not in line]
        assert kept == before.source.splitlines()


def test_noqa_and_file_exemption_in_cells(train: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = nbformat.read(str(train), as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("(784, 256)", "(784, 256)  # noqa: INI001")
    write_notebook(train, nb)
    assert lint(train.parent, capsys, "train.ipynb")[0] == 0
    write_notebook(train, TRAIN)
    assert lint(train.parent, capsys, "train.ipynb")[0] == 1
    nb = nbformat.read(str(train), as_version=4)
    nb.cells[3].source = "# init-lint: noqa\n" + nb.cells[3].source
    write_notebook(train, nb)
    assert lint(train.parent, capsys, "train.ipynb")[0] == 0


def test_add_noqa_in_a_notebook(train: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--jobs", "1", "--no-cache", "--add-noqa", "train.ipynb"]) == 0
    reread = nbformat.read(str(train), as_version=4)
    assert "self.fc1 = nn.Linear(784, 256)  # noqa: INI001" in reread.cells[2].source
    assert lint(train.parent, capsys, "train.ipynb")[0] == 0


def test_directory_walks_include_notebooks_but_not_checkpoints(
    train: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (train.parent / ".ipynb_checkpoints").mkdir()
    write_notebook(train.parent / ".ipynb_checkpoints" / "train-checkpoint.ipynb", TRAIN)
    status, out = lint(train.parent, capsys, ".")
    assert status == 1
    assert {f[0] for f in text_findings(out)} == {"train.ipynb:cell 3"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"cells": [', "invalid notebook: not JSON (Expecting value)"),
        ("[1, 2]", "invalid notebook: the JSON document is not an object"),
        ('{"nbformat": 4}', "invalid notebook: no 'cells' list"),
        ('{"cells": [{"cell_type": "code", "source": 3}]}',
         "invalid notebook: cell 1: 'source' must be a string or a list of strings"),
        ('{"nbformat": 3, "worksheets": []}', "unsupported notebook format 3"),
        (b"\xff\xfe{}", "invalid notebook: not UTF-8"),
    ],
)  # fmt: skip
def test_a_broken_notebook_is_ini999_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    content: str | bytes, message: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "bad.ipynb", content)
    status, out = lint(tmp_path, capsys, "bad.ipynb")
    assert status == 1
    [(path, _, _, code, text)] = text_findings(out)
    assert (path, code) == ("bad.ipynb", "INI999") and text.startswith(message)


def test_a_syntax_error_in_a_cell_is_reported_in_that_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "t.ipynb", notebook(("code", "x = 1"), ("code", "y = 2\ndef f(:\n")))
    [(path, line, _, code, _)] = text_findings(lint(tmp_path, capsys, "t.ipynb")[1])
    assert (path, line, code) == ("t.ipynb:cell 2", 2, "INI999")


def test_a_notebook_in_another_language_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "r.ipynb", notebook(("code", "x <- 1 %>% f("), language="R"))
    assert lint(tmp_path, capsys, "r.ipynb") == (0, "All checks passed (1 file).\n")


def test_a_model_split_over_cells_gives_the_findings_and_fixes_of_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DCGAN example cut into cells: the init function, each network and the ``apply``
    calls in cells of their own. The analysis must follow them across cells, and --fix must
    give the cells that, joined, are the fixed file."""
    monkeypatch.chdir(tmp_path)
    source = (REPO / "examples" / "dcgan.py").read_text()
    cells = source.rstrip("\n").split("\n\n\n")
    write(tmp_path, "dcgan.py", source)
    write_notebook(tmp_path / "dcgan.ipynb", notebook(*(("code", cell) for cell in cells)))
    _, out = lint(tmp_path, capsys, "--format", "json", ".")
    by_path: dict[str, list[str]] = {}
    for finding in json.loads(out):
        by_path.setdefault(finding["path"], []).append(finding["code"])
    assert by_path["dcgan.ipynb"] == by_path["dcgan.py"] == ["INI001"] * 4
    assert lint(tmp_path, capsys, "--fix", ".")[0] == 0
    fixed_cells = [cell.source for cell in nbformat.read("dcgan.ipynb", as_version=4).cells]
    assert "\n\n\n".join(fixed_cells) + "\n" == (tmp_path / "dcgan.py").read_text()


def test_stdin_notebook(tmp_path: Path) -> None:
    data = nbformat.writes(TRAIN) + "\n"
    result = run("init-lint", "-", "--stdin-filename", "nb/train.ipynb", cwd=tmp_path, stdin=data)
    assert result.returncode == 1 and "nb/train.ipynb:cell 3:5:20: INI001" in result.stdout
    fixed = run(
        "init-lint", "--fix", "-", "--stdin-filename", "train.ipynb", cwd=tmp_path, stdin=data
    )
    assert fixed.returncode == 0
    assert (
        "kaiming_normal_(self.fc1.weight"
        in nbformat.reads(fixed.stdout, as_version=4).cells[2].source
    )


def test_unchanged_virtual_source_writes_back_the_same_bytes() -> None:
    data = b"\xef\xbb\xbf" + (nbformat.writes(TRAIN) + "\n").encode()
    nb = load("t.ipynb", data)
    assert isinstance(nb, Notebook) and nb.updated(nb.python) == data


def test_raw_positions_follow_escapes_and_strings_that_do_not_end_at_line_breaks() -> None:
    """The notebook JSON place of a cell position: a source list may split a line across
    strings, and escapes (\\u00e9, \\") take more than one character in the JSON text."""
    source = ["import torch\nx = ", "nn.Linear(2, 2)\n", 'y = "é" + 1']
    document = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell()])
    document.cells[0].source = source  # as a list, the way it is stored
    text = json.dumps(document, indent=1, ensure_ascii=True)
    nb = load("t.ipynb", text.encode())
    assert isinstance(nb, Notebook)
    raw_lines = text.splitlines()
    for (line, column), expected in [((2, 5), "nn.Linear("), ((1, 1), "import"), ((3, 1), "y = "),
                                     ((3, 7), '\\" + 1"')]:  # fmt: skip
        start_line, start_column, _, _ = nb.raw_region(
            Finding("t.ipynb", line, column, "INI001", "m", cell=1)
        )
        assert raw_lines[start_line - 1][start_column - 1 :].startswith(expected)
