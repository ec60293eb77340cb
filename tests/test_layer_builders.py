"""Layers built by a function of another file (``self.reduce = conv1x1(c, c // 4)``, with
``conv1x1`` in ``layers.py``) are the caller's: judged with the caller's activations and inits,
reported and fixed at the call. The package is tests/fixtures/packages/layer_builders, whose
markers test_fixtures.py checks; here real torch, flake8 and ``--fix`` agree with them."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import run, text_findings

from init_lint.engine import lint_paths
from init_lint.options import Options

PACKAGES = Path(__file__).parent / "fixtures" / "packages"
FIXTURE = PACKAGES / "layer_builders"


@pytest.fixture()
def package(tmp_path: Path) -> Path:
    """A copy of the fixture package (as ``builders_copy``: each test imports its own)."""
    target = tmp_path / "builders_copy"
    shutil.copytree(FIXTURE, target)
    return target


def _import(package: Path, module: str) -> object:
    sys.path.insert(0, str(package.parent))
    try:
        return importlib.import_module(f"{package.name}.{module}")
    finally:
        sys.path.remove(str(package.parent))
        for name in [n for n in sys.modules if n.split(".")[0] == package.name]:
            del sys.modules[name]


def _rows(
    package: Path, model_name: str, module_name: str = "net"
) -> Iterator[tuple[str, str, str]]:
    """(layer, runtime verdict, agreement) of each layer of a model built with real torch."""
    torch = pytest.importorskip("torch")
    from init_lint.runtime import record_sites, verify
    from init_lint.runtime.merge import merge

    with record_sites():
        module = _import(package, module_name)
        torch.manual_seed(0)
        model = getattr(module, model_name)()
    shape = {"Gated": (4, 64, 16, 16), "Head": (4, 256)}.get(model_name, (4, 3, 16, 16))
    report = verify(model, torch.randn(*shape))
    static = lint_paths(sorted(package.rglob("*.py")), Options())
    for row in merge(report, static):
        if row.layer:
            yield row.layer, row.runtime, row.agreement


@pytest.mark.parametrize("model_name", ["Net", "HeNet", "Gated"])
def test_the_runtime_verifier_agrees_at_every_layer(package: Path, model_name: str) -> None:
    from init_lint.runtime.merge import BOTH, NEITHER

    rows = list(_rows(package, model_name))
    assert rows
    for layer, runtime, agreement in rows:
        if layer == "head.2":  # the output layer, built by the same call as head.0
            continue
        assert agreement in (BOTH, NEITHER), (layer, runtime, agreement)
    flagged = {layer for layer, runtime, _ in rows if runtime.startswith("INI")}
    assert (
        flagged
        == {
            "Net": {"stem.0", "mix", "squeeze.reduce", "head.0"},
            "HeNet": set(),
            "Gated": {"gate"},
        }[model_name]
    )


@pytest.mark.parametrize("model_name", ["Model", "Plain", "Head"])
def test_a_class_built_by_another_files_builder_runs_with_the_calls_arguments(
    tmp_path: Path, model_name: str
) -> None:
    """``conv3x3_block(64, 64, activation=nn.Tanh)`` from model.py builds blocks.py's ConvBlock
    with Tanh, ``linear_block(..., activation=nn.Tanh)`` of builders.py its LinearBlock: the
    Kaiming loop is wrong there only; the builders' own runs with unknown arguments (default
    ReLU, default init) are no context. Every block is built on one line,
    so the one finding there (INI002, for Model's Tanh block) is that site's for each row."""
    from init_lint.runtime.merge import BOTH

    package = tmp_path / "class_builders_copy"
    shutil.copytree(PACKAGES / "class_builders", package)
    static = lint_paths(sorted(package.rglob("*.py")), Options())
    assert [(Path(f.path).name, f.code) for f in static] == [("blocks.py", "INI002")] * 2
    assert all("activation=Tanh" in f.message for f in static)
    rows = list(_rows(package, model_name, "model"))
    flagged = {layer: agreement for layer, runtime, agreement in rows if runtime.startswith("INI")}
    wanted = {"Model": {"squash.conv": BOTH}, "Plain": {}, "Head": {"squash.fc": BOTH}}
    assert flagged == wanted[model_name], rows


def test_flake8_and_a_named_file_give_the_package_findings(package: Path) -> None:
    """net.py names no layer class: flake8 and ``init-lint net.py`` still judge it with its
    package, as the package run does."""
    cwd = package.parent
    env = {"XDG_CACHE_HOME": str(cwd / "cache")}
    whole = text_findings(run("init-lint", "--quiet", "--no-cache", package.name, cwd=cwd).stdout)
    assert {(Path(f[0]).name, f[3]) for f in whole} >= {("net.py", "INI001"), ("net.py", "INI002")}
    flake8 = run("flake8", "--select", "INI", package.name, cwd=cwd, env=env)
    assert text_findings(flake8.stdout) == whole
    named = run("init-lint", "--quiet", "--no-cache", f"{package.name}/net.py", cwd=cwd)
    assert text_findings(named.stdout) == {f for f in whole if f[0].endswith("net.py")}


def test_fixes_at_the_calls_give_he_init_for_real(package: Path) -> None:
    torch = pytest.importorskip("torch")
    cwd = package.parent
    run("init-lint", "--fix", "--no-cache", package.name, cwd=cwd)
    again = run("init-lint", "--no-cache", package.name, cwd=cwd)
    # What is left is unused_stem(), which nothing calls: no autofix for a layer with no name.
    assert {(Path(f[0]).name, f[3]) for f in text_findings(again.stdout)} == {
        ("layers.py", "INI001")
    }
    assert (package / "layers.py").read_text() == (FIXTURE / "layers.py").read_text()
    module = _import(package, "net")
    torch.manual_seed(0)
    net, gated = module.Net(), module.Gated()  # type: ignore[attr-defined]
    # std · √fan_in: √2 for He init (ReLU), 1 for Xavier on a square layer (Sigmoid).
    wanted = {
        net.stem[0]: 2**0.5,
        net.mix: 2**0.5,
        net.squeeze.reduce: 2**0.5,
        net.head[0]: 2**0.5,
        gated.gate: 1.0,
    }
    for layer, gain in wanted.items():
        weight = layer.weight.detach()
        fan_in = weight[0].numel()
        assert float(weight.std()) * fan_in**0.5 == pytest.approx(gain, rel=0.1), layer


@pytest.fixture()
def chained(tmp_path: Path) -> Path:
    """A copy of the chained_builders package: builders that call other modules' builders."""
    target = tmp_path / "chained_copy"
    shutil.copytree(PACKAGES / "chained_builders", target)
    return target


@pytest.mark.parametrize("model_name", ["Net", "HeNet", "SquashNet"])
def test_builders_calling_other_modules_builders_agree_with_torch(
    chained: Path, model_name: str
) -> None:
    """``create_conv`` (factory.py) returns convs.py's ``conv_same``, which asks padding.py for
    its padding: the conv is the caller's, judged where net.py calls ``create_conv``; a builder
    that calls weights.py's init helper is opaque (its He init is right, and silent)."""
    from init_lint.runtime.merge import BOTH, NEITHER

    rows = list(_rows(chained, model_name))
    assert rows
    assert all(agreement in (BOTH, NEITHER) for _, _, agreement in rows), rows
    flagged = {layer for layer, runtime, _ in rows if runtime.startswith("INI")}
    # gate and twin: the same call, twice (two layers, whatever the analysis remembers)
    wanted = {"Net": {"stem", "depthwise", "twin"}, "HeNet": set(), "SquashNet": {"stem"}}
    assert flagged == wanted[model_name], rows


def test_fixes_after_builders_of_builders_work_for_real(chained: Path) -> None:
    torch = pytest.importorskip("torch")
    cwd = chained.parent
    before = {p.name: p.read_text() for p in chained.glob("*.py") if p.name != "net.py"}
    run("init-lint", "--fix", "--no-cache", chained.name, cwd=cwd)
    assert text_findings(run("init-lint", "--no-cache", chained.name, cwd=cwd).stdout) == set()
    assert {p.name: p.read_text() for p in chained.glob("*.py") if p.name != "net.py"} == before
    module = _import(chained, "net")
    torch.manual_seed(0)
    net, squash = module.Net(), module.SquashNet()  # type: ignore[attr-defined]
    # std · √fan_in: √2 for He init (ReLU); Xavier with Tanh's gain 5/3 on 3 → 64, 3×3.
    xavier = 5 / 3 * (2 * 27 / (27 + 576)) ** 0.5
    for layer, gain in ((net.stem, 2**0.5), (squash.stem, xavier)):
        weight = layer.weight.detach()
        fan_in = weight[0].numel()
        assert float(weight.std()) * fan_in**0.5 == pytest.approx(gain, rel=0.1), layer
