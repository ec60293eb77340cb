"""Config records and early-returning factories (fixture config_records.py): a dataclass or
NamedTuple instance carries its fields into the class built with it, one context per config,
and ``if name == "relu": return nn.ReLU()`` ends the factory there. Checked statically and,
with real torch, against the runtime verifier layer by layer."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.engine import Options, lint_paths, lint_source

FIXTURE = Path(__file__).parent / "fixtures" / "config_records.py"


def test_each_context_is_judged_with_its_own_config() -> None:
    findings = {f.line: f for f in lint_paths([FIXTURE], Options())}
    block, head = findings[39], findings[49]
    assert block.code == "INI001" and "LeakyReLU(0.2)" in block.message
    assert "activation='leaky'" in block.message  # the context shown is the leaky config
    assert block.fix is None and "contexts need different inits" in block.message
    assert head.code == "INI002" and "HeadSpec(width=512, activation='tanh')" in head.message
    assert sorted(findings) == [39, 49, 95, 114]


def test_the_runtime_verifier_agrees() -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    module = load_module(FIXTURE)
    torch.manual_seed(0)
    report = verify(module.Model(), torch.randn(512, 32))
    codes = {layer.name: layer.code for layer in report.layers}
    assert codes == {"block.fc": "INI001", "gate.fc": None, "head.fc": "INI002"}, str(report)
    twin = verify(module.TanhHead(), torch.randn(512, 32))
    assert all(layer.code is None for layer in twin.layers), str(twin)
    script = verify(module.ScriptNet(), torch.randn(512, 32))
    assert [layer.code for layer in script.layers] == ["INI001"], str(script)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a config changed before it is used
        ("cfg = Cfg()\n    cfg.act = 'relu'\n    return Net(cfg)", [(12, "INI001")]),
        # changed only on one path: ReLU or Tanh, not certain
        ("cfg = Cfg()\n    if flag:\n        cfg.act = 'relu'\n    return Net(cfg)", []),
        ("return Net(Cfg())", []),  # Tanh: default init is no finding
        ("return Net(Cfg('relu'))", [(12, "INI001")]),  # positional, in field order
        ("return Net(Cfg(**opts))", []),  # unknown fields: nothing certain
    ],
)
def test_config_values_follow_the_code(body: str, expected: list[tuple[int, str]]) -> None:
    source = textwrap.dedent(
        """\
        from dataclasses import dataclass
        import torch.nn as nn

        @dataclass
        class Cfg:
            act: str = "tanh"

        class Net(nn.Module):
            def __init__(self, cfg):
                super().__init__()
                self.act = nn.ReLU() if cfg.act == "relu" else nn.Tanh()
                self.fc = nn.Linear(8, 8)

            def forward(self, x):
                return self.act(self.fc(x))

        def main(flag, opts):
        """
    )
    findings = lint_source(source + "    " + body + "\n", "m.py")
    assert [(f.line, f.code) for f in findings] == expected, findings


def test_a_raise_ends_its_path() -> None:
    """With the name unknown, the only way past the check is ReLU: certain."""
    source = """
        import torch.nn as nn

        def make(name):
            if name == "relu":
                act = nn.ReLU()
            else:
                raise ValueError(name)
            return act

        class Net(nn.Module):
            def __init__(self, name):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                self.act = make(name)

            def forward(self, x):
                return self.act(self.fc(x))
    """
    findings = lint_source(textwrap.dedent(source), "m.py")
    assert [(f.line, f.code) for f in findings] == [(14, "INI001")], findings


def test_a_namespace_the_file_reassigns_is_not_read() -> None:
    source = """
        import sys
        import torch.nn as nn

        class Args:
            act = "relu"

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                self.act = nn.ReLU() if Args.act == "relu" else nn.Tanh()

            def forward(self, x):
                return self.act(self.fc(x))

        if __name__ == "__main__":
            Args.act = sys.argv[1]
    """
    assert lint_source(textwrap.dedent(source), "m.py") == []
    kept = textwrap.dedent(source).replace("Args.act = sys.argv[1]", "print(Args.act)")
    assert [(f.line, f.code) for f in lint_source(kept, "m.py")] == [(11, "INI001")]


def test_a_module_level_config_is_a_constant() -> None:
    source = """
        from dataclasses import dataclass
        import torch.nn as nn

        @dataclass
        class Cfg:
            act: str = "tanh"

        RELU = Cfg(act="relu")

        class Net(nn.Module):
            def __init__(self, cfg=RELU):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                self.act = nn.ReLU() if cfg.act == "relu" else nn.Tanh()

            def forward(self, x):
                return self.act(self.fc(x))
    """
    findings = lint_source(textwrap.dedent(source), "m.py")
    assert [(f.line, f.code) for f in findings] == [(14, "INI001")], findings


def test_configs_that_agree_in_a_loop_are_certain_and_fixed(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import shutil

    from init_lint.cli import main
    from init_lint.runtime import verify

    lines = FIXTURE.read_text().splitlines()
    stages = next(i for i, line in enumerate(lines, 1) if line.startswith("class Stages("))
    mixed = next(i for i, line in enumerate(lines, 1) if line.startswith("class MixedStages("))
    findings = [f for f in lint_paths([FIXTURE], Options()) if f.line > stages]
    assert [(f.code, f.line < mixed) for f in findings] == [("INI001", True)], findings
    torch.manual_seed(0)
    report = verify(load_module(FIXTURE).Stages(), torch.randn(512, 64))
    assert [layer.code for layer in report.layers] == ["INI001", "INI001"], str(report)
    fixed = Path(shutil.copy(FIXTURE, tmp_path / FIXTURE.name))
    main(["--quiet", "--no-cache", "--fix", str(fixed)])
    after = verify(load_module(fixed).Stages(), torch.randn(512, 64))
    assert [layer.code for layer in after.layers] == [None, None], str(after)


def test_activations_read_from_kwargs_agree_with_the_runtime() -> None:
    """``kwargs.pop("act_layer", nn.ReLU)`` / ``kwargs.get(...)``: the given value, else the
    default (fixture contexts.py KwargsModel)."""
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    fixture = FIXTURE.parent / "contexts.py"
    lines = fixture.read_text().splitlines()
    start = next(i for i, line in enumerate(lines, 1) if line.startswith("class KwargsBlock("))
    static = [(f.line - start, f.code) for f in lint_paths([fixture], Options()) if f.line > start]
    assert static == [(6, "INI001")], static  # the fc line
    torch.manual_seed(0)
    report = verify(load_module(fixture).KwargsModel(), torch.randn(512, 64))
    assert {layer.name: layer.code for layer in report.layers} == {
        "a.fc": None,
        "b.fc": "INI001",
    }, str(report)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("Block(8)", [(8, "INI001")]),  # the default: ReLU
        ("Block(8, act_layer=nn.Tanh)", []),
        ("Block(8, **opts)", []),  # a key of unknown name may be act_layer
    ],
)
def test_kwargs_lookups(call: str, expected: list[tuple[int, str]]) -> None:
    source = f"""
        import torch.nn as nn

        class Block(nn.Module):
            def __init__(self, dim, **kwargs):
                super().__init__()
                act_layer = kwargs.get("act_layer", nn.ReLU)
                self.body = nn.Sequential(nn.Linear(dim, dim), act_layer())

            def forward(self, x):
                return self.body(x)

        class Model(nn.Module):
            def __init__(self, opts):
                super().__init__()
                self.block = {call}

            def forward(self, x):
                return self.block(x)
    """
    findings = lint_source(textwrap.dedent(source), "m.py")
    assert [(f.line, f.code) for f in findings] == expected, findings
