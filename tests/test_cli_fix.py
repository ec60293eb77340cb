"""``init-lint --fix`` / ``--diff`` as a user runs them (real console script)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_helpers import REPO, run, write

MLP = (REPO / "examples" / "mlp_default_init.py").read_text()


def test_diff_shows_the_change_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "mlp.py", MLP)
    result = run("init-lint", "--diff", "mlp.py", cwd=tmp_path)
    assert result.returncode == 1
    assert '+        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")' in result.stdout
    assert result.stdout.startswith("--- a/mlp.py\n+++ b/mlp.py\n")
    assert path.read_text() == MLP


def test_fix_writes_then_a_second_run_changes_nothing(tmp_path: Path) -> None:
    for example in (REPO / "examples").glob("*.py"):
        shutil.copy(example, tmp_path / example.name)
    first = run("init-lint", "--fix", ".", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Fixed 10 finding(s) in 4 file(s)." in first.stdout
    snapshot = {p.name: p.read_bytes() for p in tmp_path.glob("*.py")}
    second = run("init-lint", "--fix", ".", cwd=tmp_path)
    assert second.returncode == 0 and "Fixed 0 finding(s) in 0 file(s)." in second.stdout
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.py")} == snapshot
    assert run("init-lint", ".", cwd=tmp_path).returncode == 0
    assert run("init-lint", "--diff", ".", cwd=tmp_path).stdout == ""


def test_noqa_lines_are_left_alone(tmp_path: Path) -> None:
    source = MLP.replace(
        "self.fc1 = nn.Linear(in_features, hidden)",
        "self.fc1 = nn.Linear(in_features, hidden)  # noqa: INI001",
    )
    path = write(tmp_path, "mlp.py", source)
    result = run("init-lint", "--fix", "mlp.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    fixed = path.read_text()
    assert "self.fc1.weight" not in fixed
    assert 'nn.init.kaiming_normal_(self.fc2.weight, nonlinearity="relu")' in fixed


def test_findings_without_a_safe_edit_remain_and_say_so(tmp_path: Path) -> None:
    # Head's loop-built Linear layers and Stages' ModuleList want different inits, or hold a
    # class of ours: no loop over them is safe.
    source = (REPO / "tests" / "fixes" / "loop_container.in.py").read_text()
    write(tmp_path, "layers.py", source)
    result = run("init-lint", "--fix", "layers.py", cwd=tmp_path)
    assert result.returncode == 1
    remaining = [line for line in result.stdout.splitlines() if ": INI00" in line]
    assert len(remaining) == 2 and all(line.endswith("(no autofix)") for line in remaining)


def test_fix_from_stdin_prints_the_fixed_source(tmp_path: Path) -> None:
    result = run("init-lint", "--fix", "-", "--stdin-filename", "mlp.py", cwd=tmp_path, stdin=MLP)
    assert result.returncode == 0
    assert 'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")' in result.stdout
    assert result.stdout.count("class MLP") == 1


def test_json_carries_the_edit(tmp_path: Path) -> None:
    write(tmp_path, "mlp.py", MLP)
    result = run("init-lint", "--format", "json", "mlp.py", cwd=tmp_path)
    findings = json.loads(result.stdout)
    edit = findings[0]["fix"]["edits"][0]
    assert edit == {
        "line": 18,
        "column": 1,
        "end_line": 18,
        "end_column": 1,
        "content": '        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")\n',
        "cell": None,
    }
