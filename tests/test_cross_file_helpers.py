"""Value helpers in another file of the package (timm's ``to_ntuple(n)(block)`` and
``get_norm_layer(name)``, torchvision's ``_ovewrite_named_param(kwargs, 'groups', 32)``) decide
which blocks, norms and groups a model builds: the analysis runs them with the caller's values.
Checked against the runtime verifier on the same package, built with real torch."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from cli_helpers import run, text_findings, write

from init_lint.analysis.portable import portable_module
from init_lint.engine import Options, lint_paths

HELPERS = """\
import collections.abc
import math
from functools import partial
from itertools import repeat

import torch.nn as nn

_NORMS = dict(batchnorm=nn.BatchNorm2d, identity=nn.Identity)


def _ntuple(n):
    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(repeat(x, n))

    return parse


to_ntuple = _ntuple


def pick_norm(name, **kwargs):
    layer = _NORMS[name.replace("_", "").lower()]
    return partial(layer, **kwargs) if kwargs else layer


def overwrite(kwargs, key, value):
    if key in kwargs:
        if kwargs[key] != value:
            raise ValueError(f"{key} must be {value}")
    else:
        kwargs[key] = value


def width(channels, ratio):
    return int(math.ceil(channels * ratio))
"""

NET = """\
import torch.nn as nn

from {package}.layers import pick_norm, to_ntuple
from {package}.layers.helpers import overwrite, width


class Block(nn.Module):
    def __init__(self, channels, norm_layer=None, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, groups=groups)
        self.norm = norm_layer(channels) if norm_layer is not None else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class Net(nn.Module):
    def __init__(self, block=Block, depth=2, norm="batch_norm", **kwargs):
        super().__init__()
        norm_layer = pick_norm(norm)
        channels = width(128, 0.5)
        self.blocks = nn.Sequential(
            *[b(channels, norm_layer=norm_layer, **kwargs) for b in to_ntuple(depth)(block)]
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.blocks(x)


def plain(**kwargs):
    return Net(**kwargs)


def grouped(**kwargs):
    overwrite(kwargs, "groups", 4)
    return Net(**kwargs)
"""

NET_LINE = 10  # the Conv2d in Block


def _package(root: Path, name: str) -> Path:
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/layers/__init__.py", "from .helpers import pick_norm, to_ntuple\n")
    write(root, f"{name}/layers/helpers.py", HELPERS)
    write(root, f"{name}/models/__init__.py", "")
    write(root, f"{name}/models/net.py", NET.format(package=name))
    return root / name


def _codes(package: Path, through_norm: bool) -> set[tuple[str, int, str]]:
    files = [str(p) for p in sorted(package.rglob("*.py"))]
    findings = lint_paths(files, Options(through_norm=through_norm))
    return {(Path(f.path).name, f.line, f.code) for f in findings}


def test_another_modules_function_must_be_portable_in_the_run() -> None:
    """A function calling another module's function is run only when that one is portable
    too, across modules (``create_conv`` → ``conv_same`` → ``same_padding``), and a caller is
    given every module the chain reaches; a builder through another module's is a builder."""
    from init_lint.function_sources import FunctionSources

    factory = "from .convs import conv_same\n\n\ndef create(c):\n    return conv_same(c)\n"
    convs = (
        "import torch.nn as nn\nfrom .padding import pad\n\n\n"
        "def conv_same(c):\n    return nn.Conv2d(c, c, 3, padding=pad(3))\n"
    )
    for padding, usable in (
        ("def pad(k):\n    return k // 2\n", True),
        ("def pad(k):\n    return open(k)  # not a value computation\n", False),
    ):
        sources = [
            ("pkg/factory.py", factory),
            ("pkg/convs.py", convs),
            ("pkg/padding.py", padding),
        ]
        functions = FunctionSources(sources, ["pkg.factory", "pkg.convs", "pkg.padding"])
        found = functions.home("pkg.factory.create")
        assert (found is not None) is usable
        given = functions.needed(["pkg.factory.create"], ())
        assert sorted(s.module for s in given) == (
            ["pkg.convs", "pkg.factory", "pkg.padding"] if usable else []
        )
        if found is not None:
            assert found[0].builders == ("create",)  # through convs.py's builder


def test_portable_functions_are_the_ones_that_only_compute_values() -> None:
    found = portable_module(HELPERS, "pkg.layers.helpers", False)
    assert found.functions >= {"_ntuple", "to_ntuple", "pick_norm", "overwrite", "width"}
    assert found.source is not None and "class" not in found.source.text
    impure = """\
import torch.nn as nn
from .registry import lookup


def init(m):
    m.weight.data.normal_(0, 0.02)  # writes a weight


def tag(m):
    m.tagged = True  # writes an attribute


def find(name):
    return lookup(name)  # calls what it cannot see


def fixed(m):
    return init(m)  # calls a function that is not portable
"""
    found = portable_module(impure, "pkg.layers.impure", False)
    # ``find`` is portable only if the run finds ``lookup`` portable (see the next test).
    assert found.functions == {"find"}
    assert found.source is not None
    assert found.source.external == (("find", ("pkg.layers.registry.lookup",)),)
    builders = """\
import torch
import torch.nn as nn
from torch.nn import init

from .blocks import Block

STEM = nn.Conv2d(3, 8, 3)  # one shared layer, built on import: not portable


def conv(c):
    return torch.nn.Conv2d(c, c, 3)  # builds a layer: a layer builder


def conv_relu(c):
    return nn.Sequential(conv(c), nn.ReLU())  # through another builder


def width(c):
    return c * 2  # portable, builds nothing


def block(c):
    return Block(c)  # builds a class of another module: a builder too


def inited(c):
    layer = conv(c)
    init.kaiming_normal_(layer.weight)  # writes a weight: not portable
    return layer
"""
    found = portable_module(builders, "pkg.layers.builders", False)
    assert found.functions == {"block", "conv", "conv_relu", "width"}
    assert found.source is not None and found.source.builders == ("block", "conv", "conv_relu")
    assert "STEM" not in found.source.text
    assert portable_module("def broken(:\n", "pkg.x", False).functions == frozenset()


def test_helpers_of_another_file_decide_blocks_norms_and_groups(tmp_path: Path) -> None:
    """``to_ntuple(depth)(Block)`` builds Blocks, ``pick_norm('batch_norm')`` gives them a
    BatchNorm, ``overwrite(kwargs, 'groups', 4)`` makes ``grouped()``'s convs grouped: its
    mode='fan_out' init is then √4 too small (INI007), seen through the norm, and only there."""
    package = _package(tmp_path, "portable_pkg")
    assert _codes(package, through_norm=True) == {("net.py", NET_LINE, "INI007")}
    # Strict view: the conv reaches ReLU through the norm, which that view does not judge
    # (without the helpers, the blocks and their norm were not known: the standalone context,
    # with an Identity, was judged instead).
    assert _codes(package, through_norm=False) == set()
    # A file named alone reads its package: the same findings.
    alone = run("init-lint", "--through-norm", "portable_pkg/models/net.py", cwd=tmp_path)
    assert {(f[0], f[1], f[3]) for f in text_findings(alone.stdout)} == {
        ("portable_pkg/models/net.py", NET_LINE, "INI007")
    }


def test_a_helper_that_changes_is_read_again_from_the_cache(tmp_path: Path) -> None:
    """The helpers' source is part of the caller's cache key: editing them reruns the caller."""
    package = _package(tmp_path, "cached_pkg")
    cache = tmp_path / "cache"
    first = run(
        "init-lint", "--through-norm", "--cache-dir", str(cache), "cached_pkg", cwd=tmp_path
    )
    assert {(f[0], f[3]) for f in text_findings(first.stdout)} == {
        ("cached_pkg/models/net.py", "INI007")
    }
    helpers = package / "layers" / "helpers.py"
    helpers.write_text(helpers.read_text().replace("kwargs[key] = value", "pass"))
    second = run(
        "init-lint", "--through-norm", "--cache-dir", str(cache), "cached_pkg", cwd=tmp_path
    )
    assert text_findings(second.stdout) == set(), second.stdout


@pytest.mark.parametrize("builder", ["plain", "grouped"])
def test_the_runtime_verifier_agrees_layer_by_layer(tmp_path: Path, builder: str) -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import record_sites, verify
    from init_lint.runtime.merge import BOTH, NEITHER, merge

    name = f"portable_rt_{builder}"
    package = _package(tmp_path, name)
    sys.path.insert(0, str(tmp_path))
    try:
        with record_sites():
            module = importlib.import_module(f"{name}.models.net")
            torch.manual_seed(0)
            model = getattr(module, builder)()
    finally:
        sys.path.remove(str(tmp_path))
    report = verify(model, torch.randn(2, 64, 8, 8), through_norm=True)
    static = [
        f
        for f in lint_paths(sorted(package.rglob("*.py")), Options(through_norm=True))
        if builder == "grouped" or "groups=4" not in f.message  # the other builder's context
    ]
    rows = [row for row in merge(report, static) if row.layer]
    assert len(rows) == 2, rows
    for row in rows:
        assert row.agreement in (BOTH, NEITHER), (row, str(report))
        assert row.runtime == ("INI007" if builder == "grouped" else "ok"), row


HELPER_LAYERS = """\
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, channels, norm_layer=None):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm = norm_layer(channels) if norm_layer else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


def make_block(channels, norm_layer=None):
    return Block(channels, norm_layer=norm_layer)
"""

HELPER_NET = """\
import torch.nn as nn

from .layers import Block, make_block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = Block(16, norm_layer=nn.BatchNorm2d)
        self.body = make_block(16, nn.BatchNorm2d)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
"""


def test_a_helper_other_files_call_is_not_a_context_of_its_own(tmp_path: Path) -> None:
    """``make_block`` is called from net.py; run alone its arguments are unknown (norm_layer
    None: an Identity, so the conv would feed ReLU with PyTorch's default init). Block is also
    built where its arguments are known, so that lone run is no context, as a class's defaults
    are none when something builds it."""
    write(tmp_path, "hpkg/__init__.py", "")
    write(tmp_path, "hpkg/layers.py", HELPER_LAYERS)
    write(tmp_path, "hpkg/net.py", HELPER_NET)
    assert _codes(tmp_path / "hpkg", through_norm=False) == set()
    # Nobody calls the helper: it is an entry point of its own, and judged.
    write(tmp_path, "hpkg/net.py", HELPER_NET.replace("make_block(16, nn.BatchNorm2d)", "None"))
    assert _codes(tmp_path / "hpkg", through_norm=False) == {("layers.py", 7, "INI001")}


def test_a_context_not_run_hides_what_it_holds(tmp_path: Path) -> None:
    """A class built in more contexts than are run (timm's ResNet, built by dozens of model
    files) stands for unknown code in the others: the block class passed to it, and what that
    block builds in another file, are not judged there as if nothing initialised them."""
    write(tmp_path, "many/__init__.py", "")
    write(
        tmp_path,
        "many/attn.py",
        "import torch.nn as nn\n\n\nclass Attn(nn.Module):\n"
        "    def __init__(self, c, hidden=8):\n        super().__init__()\n"
        "        self.fc = nn.Conv2d(c, hidden, 1)\n        self.bn = nn.BatchNorm2d(hidden)\n"
        "        self.act = nn.ReLU()\n\n"
        "    def forward(self, x):\n        return self.act(self.bn(self.fc(x)))\n",
    )
    own = "".join(f"\n\ndef n{i}():\n    return Net(nn.Identity, tag='n{i}')\n" for i in range(60))
    write(
        tmp_path,
        "many/net.py",
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self, block, tag='a'):\n        super().__init__()\n"
        "        self.body = block(16)\n        for m in self.modules():\n"
        "            if isinstance(m, nn.Conv2d):\n"
        "                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')\n" + own,
    )
    write(
        tmp_path,
        "many/variants.py",
        "import torch.nn as nn\n\nfrom .attn import Attn\nfrom .net import Net\n\n\n"
        "class Block(nn.Module):\n"
        "    def __init__(self, c):\n        super().__init__()\n"
        "        self.attn = Attn(c, hidden=c // 2)\n\n\n"
        "def variant():\n    return Net(Block, tag='variant')\n",
    )
    assert _codes(tmp_path / "many", through_norm=True) == set()


FACTORIES = """\
from inspect import isfunction

import torch.nn as nn


def relu_factory(inplace=True):
    return lambda: nn.ReLU(inplace=inplace)


def sigmoid_factory():
    return lambda: nn.Sigmoid()


def batchnorm_factory(eps=1e-5):
    return lambda num_features: nn.BatchNorm2d(num_features, eps=eps)


def make_activation(activation):
    if isfunction(activation):
        return activation()
    if isinstance(activation, str):
        return nn.Sigmoid() if activation == "sigmoid" else nn.ReLU()
    return activation


def make_norm(norm, **kwargs):
    return norm(**kwargs) if isfunction(norm) else norm


def act_by_name(name):
    if name == "swish":
        return Swish()  # one of its own classes: opaque only where it is reached
    return nn.ReLU() if name == "relu" else nn.Sigmoid()


class Swish(nn.Module):
    def forward(self, x):
        return x * x.sigmoid()
"""

BLOCKS = """\
import torch.nn as nn

from .factories import batchnorm_factory, make_activation, make_norm, relu_factory
from .factories import sigmoid_factory


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, norm=batchnorm_factory(), act=relu_factory()):
        super().__init__()
        self.normalize = norm is not None
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        if self.normalize:
            self.bn = make_norm(norm, num_features=cout)
        self.act = make_activation(act)

    def forward(self, x):
        x = self.conv(x)
        if self.normalize:
            x = self.bn(x)
        return self.act(x)


class Gate(nn.Module):
    def __init__(self, channels, mid=relu_factory(), out=sigmoid_factory()):
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 4, 1)
        self.mid = make_activation(mid)
        self.expand = nn.Conv2d(channels // 4, channels, 1)
        self.out = make_activation(out)

    def forward(self, x):
        return x * self.out(self.expand(self.mid(self.reduce(x))))
"""

FACTORY_NET = """\
import torch.nn as nn

from ..layers.blocks import ConvBlock, Gate
from ..layers.factories import act_by_name


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = ConvBlock(64, 64)
        self.gate = Gate(64)
        self.head = nn.Linear(64, 64)
        self.head_act = act_by_name("relu")
        self.tail = nn.Sequential(nn.Linear(64, 64), act_by_name("relu"))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight)

    def forward(self, x):
        return self.tail(self.head_act(self.head(self.gate(self.body(x)).mean((2, 3)))))
"""

EXPAND_LINE = 28  # Gate.expand in blocks.py
HEAD_LINE = 12  # Net.head in net.py: act_by_name("relu") gives nn.ReLU()


def _factory_package(root: Path, name: str) -> Path:
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/layers/__init__.py", "")
    write(root, f"{name}/layers/factories.py", FACTORIES)
    write(root, f"{name}/layers/blocks.py", BLOCKS)
    write(root, f"{name}/models/__init__.py", "")
    write(root, f"{name}/models/net.py", FACTORY_NET)
    return root / name


def test_factories_in_another_file_hand_over_activations_and_norms(tmp_path: Path) -> None:
    """Lambda factories and a helper that calls what it is given are portable: the gate's
    expand conv feeds the Sigmoid of ``sigmoid_factory()`` and has the model's Kaiming init
    (INI002); the block's conv reaches ReLU through the BatchNorm of ``batchnorm_factory()``
    (silent in the default view). A registry that builds one of its own classes for another
    name gives ``nn.ReLU()`` for "relu": the head keeps PyTorch's default init (INI001).
    Without them, these activations were unknown."""
    found = portable_module(FACTORIES, "fpkg.layers.factories", False).functions
    assert found >= {"relu_factory", "sigmoid_factory", "make_activation", "make_norm"}
    assert "act_by_name" in found
    package = _factory_package(tmp_path, "fpkg")
    expected = {
        ("blocks.py", EXPAND_LINE, "INI002"),
        ("net.py", HEAD_LINE, "INI001"),
        ("net.py", HEAD_LINE + 2, "INI001"),
    }
    assert _codes(package, through_norm=False) == expected
    assert _codes(package, through_norm=True) == expected
    # The Sequential's ReLU was built by the call on that line, in this file.
    messages = [f.message for f in lint_paths(sorted(package.rglob("*.py")), Options())]
    assert any(f"feeds ReLU (line {HEAD_LINE + 2})" in m for m in messages), messages


def test_factories_in_another_file_agree_with_the_runtime_verifier(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import record_sites, verify
    from init_lint.runtime.merge import BOTH, NEITHER, merge

    package = _factory_package(tmp_path, "fpkg_rt")
    sys.path.insert(0, str(tmp_path))
    try:
        with record_sites():
            module = importlib.import_module("fpkg_rt.models.net")
            torch.manual_seed(0)
            model = module.Net()
    finally:
        sys.path.remove(str(tmp_path))
    report = verify(model, torch.randn(2, 64, 8, 8))
    static = lint_paths(sorted(package.rglob("*.py")), Options())
    rows = [row for row in merge(report, static) if row.layer]
    assert {(row.layer, row.runtime) for row in rows} >= {
        ("gate.expand", "INI002"),
        ("head", "INI001"),
        ("tail.0", "INI001"),
    }, rows
    for row in rows:
        assert row.agreement in (BOTH, NEITHER), (row, str(report))


BUILD_HELPER = """\
def build(cls, **kwargs):
    return cls(**kwargs)
"""

BUILD_NET = """\
import torch.nn as nn

from .helpers import build


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 16, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))


class Net(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.body = block()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        return self.body(x)


def net():
    return build(Net, block=Block)
"""


def test_a_helper_that_builds_what_it_is_given_stays_an_opaque_call(tmp_path: Path) -> None:
    """Calling a parameter keeps a helper portable (``make_activation(act)``), but one that
    builds the class it is given cannot build it in the caller's analysis: that call is then
    what it was when the helper was not portable (a decorator makes it so here): a factory
    that builds Net with Block inside, so Net's Kaiming loop reaches Block's conv. (Had the
    call come out merely unknown, Block would be judged alone: default init before ReLU.)"""
    write(tmp_path, "bpkg/__init__.py", "")
    write(tmp_path, "bpkg/helpers.py", BUILD_HELPER)
    write(tmp_path, "bpkg/net.py", BUILD_NET)
    assert "build" in portable_module(BUILD_HELPER, "bpkg.helpers", False).functions
    assert _codes(tmp_path / "bpkg", through_norm=False) == set()
    opaque = "import functools\n\n\n@functools.lru_cache\n" + BUILD_HELPER
    assert portable_module(opaque, "bpkg.helpers", False).functions == frozenset()
    write(tmp_path, "bpkg/helpers.py", opaque)
    assert _codes(tmp_path / "bpkg", through_norm=False) == set()


def test_flake8_reports_what_init_lint_does_on_the_factories_package(tmp_path: Path) -> None:
    """blocks.py builds layers but names no activation (its factories are in another file):
    flake8 hands the plugin one file at a time, and that file's findings come from its
    package's analysis all the same."""
    _factory_package(tmp_path, "f8pkg")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    flake8 = run("flake8", "--select", "INI", "f8pkg", cwd=tmp_path, env=env)
    init_lint = run("init-lint", "--quiet", "--no-cache", "f8pkg", cwd=tmp_path)
    found = text_findings(init_lint.stdout)
    assert {(f[0], f[1], f[3]) for f in found} >= {
        ("f8pkg/layers/blocks.py", EXPAND_LINE, "INI002")
    }
    assert text_findings(flake8.stdout) == found
