"""Targeted positions must equal LibCST's PositionProvider exactly, for every node asked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from init_lint.analysis.positions import positions_of

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "tests" / "fixtures").glob("*.py")) + sorted((ROOT / "examples").glob("*.py"))
SOURCES += sorted((ROOT / "init_lint" / "analysis").glob("*.py"))  # plenty of compound statements


Select = Callable[[list[cst.CSTNode]], list[cst.CSTNode]]


def _every_third(nodes: list[cst.CSTNode]) -> list[cst.CSTNode]:
    return nodes[::3]  # ranges must not depend on recording everything else


def _first_half(nodes: list[cst.CSTNode]) -> list[cst.CSTNode]:
    return nodes[: max(1, len(nodes) // 2) : 2]  # generation stops after the last wanted node


def _check(module: cst.Module, text: str, select: Select = _every_third) -> None:
    reference = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = [node for node in reference if isinstance(node, (cst.BaseStatement, cst.Call, cst.Name))]
    wanted = select(nodes)
    computed = positions_of(module, wanted, text)
    assert wanted
    for node in wanted:
        assert computed.get(id(node)) == reference[node], type(node).__name__


@pytest.mark.parametrize("select", [_every_third, _first_half])
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_targeted_positions_match_position_provider(path: Path, select: Select) -> None:
    text = path.read_bytes().decode("utf-8")
    _check(cst.parse_module(text), text, select)


MIXED = "import torch\r\nclass A:\r    def f(self):\n        return g(\r\n  1)\r\n\r\nx = A()"


@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\r"])
def test_positions_with_every_line_break_and_at_the_end(ending: str) -> None:
    text = MIXED + ending
    _check(cst.parse_module(text), text)


@pytest.mark.parametrize("select", [_every_third, _first_half])
def test_a_text_that_is_not_the_modules_falls_back_to_its_code(select: Select) -> None:
    text = SOURCES[-1].read_bytes().decode("utf-8")
    module = cst.parse_module(text)
    _check(module, "# another text\n" + text, select)


def test_a_text_that_differs_only_after_the_last_wanted_node_gives_the_same_ranges() -> None:
    text = SOURCES[-1].read_bytes().decode("utf-8")
    module = cst.parse_module(text)
    _check(module, text + "# only in the text\n", _first_half)
