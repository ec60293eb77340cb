"""Targeted positions must equal LibCST's PositionProvider exactly, for every node asked."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from init_lint.analysis.positions import positions_of

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "tests" / "fixtures").glob("*.py")) + sorted((ROOT / "examples").glob("*.py"))
SOURCES += sorted((ROOT / "init_lint" / "analysis").glob("*.py"))  # plenty of compound statements


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_targeted_positions_match_position_provider(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    reference = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = [node for node in reference if isinstance(node, (cst.BaseStatement, cst.Call, cst.Name))]
    wanted = nodes[::3]  # a subset: ranges must not depend on recording everything else
    computed = positions_of(module, wanted)
    assert wanted
    for node in wanted:
        assert computed.get(id(node)) == reference[node], type(node).__name__
