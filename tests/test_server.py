"""``init-lint server``: a real LSP session over stdio with the console script, as an editor
runs it: initialize → didOpen → publishDiagnostics → codeAction → apply the edit → didChange
→ the diagnostics clear."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import BIN, REPO, write
from lsp_client import LspClient, apply_edits

from init_lint.rules import RULES

pytestmark = pytest.mark.slow

MLP = RULES["INI001"].invalid[0].source
BLOCK = """\
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))
"""
NET = """\
import torch.nn as nn

from .blocks import Block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Block(), Block())
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, "pyproject.toml", '[tool.init-lint]\nignore = ["INI005"]\n')
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/mlp.py", MLP)
    write(tmp_path, "pkg/blocks.py", BLOCK)
    write(tmp_path, "pkg/net.py", NET)
    return tmp_path


@pytest.fixture
def client(project: Path) -> Iterator[LspClient]:
    session = LspClient([str(BIN / "init-lint"), "server"], cwd=REPO)
    result = session.request(
        "initialize",
        {
            "processId": None,
            "rootUri": project.as_uri(),
            "capabilities": {
                "textDocument": {
                    "synchronization": {"didSave": True},
                    "publishDiagnostics": {"versionSupport": True},
                    "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": [
                        "quickfix", "source.fixAll"]}}},
                },
                "workspace": {"workspaceEdit": {"documentChanges": True}},
            },
        },
    )  # fmt: skip
    capabilities = result["capabilities"]
    assert capabilities["codeActionProvider"]["codeActionKinds"] == [
        "quickfix",
        "source.fixAll.init-lint",
    ]
    assert capabilities["textDocumentSync"]["save"] is not False
    assert result["serverInfo"]["name"] == "init-lint"
    session.notify("initialized", {})
    yield session
    try:
        assert session.close() == 0
    finally:
        session.kill()


def _open(client: LspClient, path: Path, version: int = 1) -> str:
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": version, "text": path.read_text()}})  # fmt: skip
    return uri


def _diagnostics(client: LspClient, uri: str, version: int | None = None) -> list[dict[str, Any]]:
    params = client.wait_for(
        "textDocument/publishDiagnostics",
        lambda p: p["uri"] == uri and (version is None or p.get("version") == version),
    )
    return params["diagnostics"]


def _change(client: LspClient, uri: str, version: int, text: str) -> None:
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]})  # fmt: skip


def test_diagnostics_quick_fix_and_clearing(client: LspClient, project: Path) -> None:
    path = project / "pkg" / "mlp.py"
    uri = _open(client, path)
    [diagnostic] = _diagnostics(client, uri, 1)
    assert diagnostic["code"] == "INI001" and diagnostic["source"] == "init-lint"
    assert diagnostic["severity"] == 2  # Warning: the rule's level, as SARIF and GitHub say
    assert diagnostic["range"]["start"] == {"line": 8, "character": 19}  # 9:20, 0-based
    assert diagnostic["codeDescription"]["href"].endswith("/docs/rules/INI001.md")
    assert diagnostic["message"].startswith("'self.fc1' (Linear) feeds ReLU")

    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diagnostic["range"],
        "context": {"diagnostics": [diagnostic]}})  # fmt: skip
    titles = {action["title"]: action for action in actions}
    fix = next(a for a in actions if a["kind"] == "quickfix" and a.get("isPreferred"))
    assert "kaiming_normal_(self.fc1.weight" in fix["title"] and fix["diagnostics"] == [diagnostic]
    assert "Disable INI001 for this line" in titles
    assert "Fix all init-lint findings" in titles
    [change] = fix["edit"]["documentChanges"]
    assert change["textDocument"] == {"uri": uri, "version": 1}
    fixed = apply_edits(path.read_text(), change["edits"])
    assert fixed == RULES["INI001"].invalid[0].fixed  # exactly what --fix writes

    _change(client, uri, 2, fixed)
    assert _diagnostics(client, uri, 2) == []

    # The noqa action, applied to the original text, silences the line too.
    _change(client, uri, 3, path.read_text())
    [diagnostic] = _diagnostics(client, uri, 3)
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": []}})  # fmt: skip
    noqa = next(a for a in actions if a["title"] == "Disable INI001 for this line")
    silenced = apply_edits(path.read_text(), noqa["edit"]["documentChanges"][0]["edits"])
    assert "nn.Linear(784, 256)  # noqa: INI001\n" in silenced
    _change(client, uri, 4, silenced)
    assert _diagnostics(client, uri, 4) == []


def test_other_files_of_the_package_and_open_buffers_count(
    client: LspClient, project: Path
) -> None:
    blocks = _open(client, project / "pkg" / "blocks.py")
    # Net (in net.py, on disk) initialises every Linear of its Blocks: nothing to report.
    assert _diagnostics(client, blocks, 1) == []
    # An unsaved edit of net.py reaches blocks.py's diagnostics.
    net = _open(client, project / "pkg" / "net.py")
    _diagnostics(client, net, 1)
    _change(client, net, 2, NET.replace('kaiming_normal_(m.weight, nonlinearity="relu")',
                                        "normal_(m.weight, 0, 0.01)"))  # fmt: skip
    [diagnostic] = _diagnostics(client, blocks, 1)
    assert diagnostic["code"] == "INI001" and "normal_(m.weight, 0, 0.01)" in diagnostic["message"]
    # Closing a document clears its diagnostics.
    client.notify("textDocument/didClose", {"textDocument": {"uri": blocks}})
    assert _diagnostics(client, blocks) == []


def test_warm_response_time(client: LspClient, project: Path) -> None:
    """A save on a warm project (its files' facts cached) is answered well under a second."""
    for example in (REPO / "examples").glob("*.py"):
        shutil.copy(example, project / "pkg" / example.name)
    path = project / "pkg" / "mlp.py"
    uri = _open(client, path)
    _diagnostics(client, uri, 1)  # cold: fills the cache
    timings = []
    for _ in range(3):
        started = time.monotonic()
        client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        _diagnostics(client, uri, 1)
        timings.append(time.monotonic() - started)
    assert min(timings) < 0.5, timings
