"""A team's own activation factories, init helpers and init entry points, declared in
``[tool.init-lint]``, are understood as init-lint's built-in library knowledge is."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run, text_findings, write

from init_lint.config import ConfigError, discover_settings, settings_from_table
from init_lint.engine import lint_paths

MODEL = """\
import torch.nn as nn

from teamlib.acts import make_act
from teamlib.init import msra_fill, small_normal_
from teamlib.base import TeamModule


class Block(TeamModule):
    def __init__(self, act="relu"):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.act = make_act(act, inplace=True)
        self.out = nn.Linear(64, 64)
        self.head = nn.Linear(64, 1)

    def forward(self, x):
        return self.head(self.act(self.out(self.act(self.fc(x)))))

    def setup_weights(self):
        msra_fill(self.fc)
        small_normal_(self.out.weight)
"""

TABLES = """\
[tool.init-lint.activation-factories]
"teamlib.acts.make_act" = "name-argument"

[tool.init-lint.init-helpers]
"teamlib.init.msra_fill" = "kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')"
"teamlib.init.small_normal_" = "normal_(w, std=0.02)"

[tool.init-lint.init-entry-points]
"teamlib.base.TeamModule" = "setup_weights"
"""


def _project(root: Path, tables: str) -> list[Path]:
    write(root, "pyproject.toml", "[tool.init-lint]\n" + tables)
    return [write(root, "model.py", MODEL)]


def _lint(root: Path, files: list[Path]) -> set[tuple[int, str, str]]:
    options = discover_settings([str(root)], None).options()
    return {(f.line, f.code, f.message) for f in lint_paths(files, options)}


def test_declared_factories_helpers_and_entry_points_are_followed(tmp_path: Path) -> None:
    """make_act('relu') is a ReLU; the framework calls setup_weights(), where msra_fill gives fc
    He init (silent) and small_normal_ gives out N(0, 0.02) before a ReLU (INI001, naming that
    init); head feeds nothing (silent)."""
    found = _lint(tmp_path, _project(tmp_path, TABLES))
    [(line, code, message)] = found
    assert (line, code) == (13, "INI001")
    assert "ReLU" in message and "small_normal_" in message


def test_without_the_tables_the_same_code_is_silent(tmp_path: Path) -> None:
    """Unknown factory: the activation is not known, so nothing is claimed."""
    assert _lint(tmp_path, _project(tmp_path, "")) == set()


def test_the_command_line_and_flake8_read_the_tables(tmp_path: Path) -> None:
    _project(tmp_path, TABLES)
    lint = text_findings(run("init-lint", "model.py", cwd=tmp_path).stdout)
    flake8 = text_findings(run("flake8", "--select", "INI", "model.py", cwd=tmp_path).stdout)
    assert {(p, line, c) for p, line, _, c, _ in lint} == {("model.py", 13, "INI001")}
    assert {(p, line, c) for p, line, _, c, _ in flake8} == {("model.py", 13, "INI001")}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tool.init-lint.activation-factories]\n"a.b" = "maker"', "must be one of"),
        ('[tool.init-lint.activation-factories]\nmake = "mapping"', "not a qualified name"),
        ('[tool.init-lint.init-helpers]\n"a.b" = "he_fill(m.weight)"', "not a torch.nn.init"),
        ('[tool.init-lint.init-helpers]\n"a.b" = "normal_(m.weight, std=s)"', "literals"),
        ('[tool.init-lint.init-helpers]\n"a.b" = "normal_(std=0.1)"', "first argument"),
        ('[tool.init-lint.init-entry-points]\n"a.B" = "init weights"', "not a method name"),
    ],
)
def test_a_bad_entry_is_a_clear_error(tmp_path: Path, table: str, message: str) -> None:
    import tomllib

    with pytest.raises(ConfigError, match=message):
        settings_from_table(tomllib.loads(table)["tool"]["init-lint"], tmp_path, "pyproject.toml")
    write(tmp_path, "pyproject.toml", table)
    result = run("init-lint", ".", cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
