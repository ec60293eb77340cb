"""A layer whose output goes into a module of another file, whose forward starts with a
rectifier (a custom activation module chosen by the model, passed to a shared ``Mlp`` as one of
two variants). The static checker must see that activation, in the model's context, with the
model's init loop, and so must not offer a fix in ``Mlp`` that the loop would overwrite; the
runtime verifier, on the same package built with real torch, agrees."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from cli_helpers import write

from init_lint.engine import Options, lint_paths

LAYERS = """\
import torch.nn as nn


class Mlp(nn.Module):
    def __init__(self, dim, act_layer=nn.GELU):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim * 2)
        self.act = act_layer()
        self.fc2 = nn.Linear(dim * 2, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))
"""

MODEL = """\
from functools import partial

import torch
import torch.nn as nn

from .layers import Mlp


class SquaredReLU(nn.Module):
    def __init__(self, scale=1.0):
        super().__init__()
        self.relu = nn.ReLU()
        self.scale = nn.Parameter(scale * torch.ones(1))

    def forward(self, x):
        return self.scale * self.relu(x) ** 2


class Model(nn.Module):
    def __init__(self, dim=256, act=SquaredReLU):
        super().__init__()
        if act in (SquaredReLU,):
            act = partial(act, scale=0.5)
        self.mlp = Mlp(dim, act_layer=act)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)

    def forward(self, x):
        return self.mlp(x)


class Plain(nn.Module):
    def __init__(self, dim=256):
        super().__init__()
        self.mlp = Mlp(dim, act_layer=nn.ReLU)

    def forward(self, x):
        return self.mlp(x)
"""


def _package(tmp_path: Path, name: str) -> Path:
    write(tmp_path, f"{name}/__init__.py", "")
    write(tmp_path, f"{name}/layers.py", LAYERS)
    write(tmp_path, f"{name}/model.py", MODEL)
    return tmp_path / name


def test_a_custom_activation_of_another_file_is_what_the_layer_feeds(tmp_path: Path) -> None:
    package = _package(tmp_path, "inputs_pkg")
    findings = [f for f in lint_paths(sorted(package.rglob("*.py")), Options())]
    at_fc1 = [f for f in findings if f.path.endswith("layers.py") and f.line == 7]
    assert at_fc1, findings
    # One context is Plain's (ReLU, default init: an inserted call would work), the others
    # Model's, where _init_weights runs after Mlp's __init__: no single edit fixes both.
    assert all(f.fix is None for f in at_fc1), at_fc1
    assert "no autofix: its contexts initialise it in different places" in at_fc1[0].message


def test_the_runtime_sees_the_same_activation(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    _package(tmp_path, "inputs_rt")
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("inputs_rt.model")
        torch.manual_seed(0)
        report = verify(module.Model(), torch.randn(4, 256))
    finally:
        sys.path.remove(str(tmp_path))
    codes = {layer.name: layer.code for layer in report.layers}
    assert codes["mlp.fc1"] == "INI001", str(report)  # feeds the ReLU inside SquaredReLU
    assert codes["mlp.fc2"] is None, str(report)
