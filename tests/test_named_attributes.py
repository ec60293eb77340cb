"""Modules registered and looked up under names built from strings (fixture layer_idioms.py):
``setattr(self, f"fc{i}", layer)`` / ``add_module("conv%d" % i, layer)`` in a loop, then
``getattr(self, f"fc{i}")`` in forward. The static findings, the strings the analysis builds,
and the runtime verifier's verdict on the same classes with real torch."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.engine import Options, lint_paths, lint_source

FIXTURE = Path(__file__).parent / "fixtures" / "layer_idioms.py"


def _findings_in(class_name: str) -> list[tuple[int, str, bool, str]]:
    text = FIXTURE.read_text().splitlines()
    start = next(i for i, line in enumerate(text, 1) if line.startswith(f"class {class_name}("))
    end = next(
        (i for i, line in enumerate(text, 1) if i > start and line.startswith("class ")),
        len(text) + 1,
    )
    return [
        (f.line, f.code, f.fix is not None, f.message)
        for f in lint_paths([FIXTURE], Options())
        if start <= f.line < end
    ]


def test_layers_registered_under_built_names_are_followed_into_forward() -> None:
    [(line, code, fixable, message)] = _findings_in("NumberedLayers")
    assert code == "INI001" and not fixable  # no single expression names one of them
    assert 'getattr(self, f"fc{i}")' in message and "(no autofix)" in message
    [(_, code, fixable, message)] = _findings_in("NumberedConvs")
    assert code == "INI001" and not fixable and '"conv%d" % i' in message
    assert _findings_in("NumberedLayersInitialised") == []
    assert _findings_in("NumberedLayersLinear") == []


def test_known_names_built_from_strings_resolve() -> None:
    source = """
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self, kind="Leaky", index=0):
                super().__init__()
                setattr(self, f"fc{index}", nn.Linear(8, 8))
                self.add_module("conv_%s" % "a", nn.Conv2d(8, 8, 3))
                self.act = getattr(nn, f"{kind}ReLU")(0.2)

            def forward(self, x):
                x = F.relu(getattr(self, "fc" + str(0))(x))
                return self.act(getattr(self, "conv_{}".format("a"))(x))
    """
    findings = lint_source(textwrap.dedent(source), "m.py")
    assert [(f.line, f.code, f.fix is not None) for f in findings] == [
        (8, "INI001", True),
        (9, "INI001", True),
    ], findings
    assert "'self.fc0'" in findings[0].message
    assert "LeakyReLU(0.2)" in findings[1].message or "negative_slope" in findings[1].message


@pytest.mark.parametrize(
    ("expression", "known"),
    [
        ('f"fc{n!r}"', False),  # a conversion: not evaluated
        ('f"fc{n:>3}"', False),  # a format spec: not evaluated
        ('f"fc{n=}"', False),  # "fcn=1", not "fc1"
        ('"fc%5d" % n', False),  # a width: not evaluated
        ('"fc{0.real}".format(n)', False),  # an attribute: not evaluated
        ('"fc" + "x" * 300', False),  # not a short name
        ('f"fc{n}"', True),
        ('"fc%d" % n', True),
        ('"fc{}".format(n)', True),
        ('"fc" + str(n)', True),
    ],
)
def test_only_plain_fields_of_known_values_are_computed(expression: str, known: bool) -> None:
    source = f"""
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self, n=1):
                super().__init__()
                self.fc1 = nn.Linear(8, 8)
                self.n = n

            def forward(self, x):
                n = self.n
                return F.relu(getattr(self, {expression})(x))
    """
    findings = lint_source(textwrap.dedent(source), "m.py")
    assert bool(findings) is known, findings


def test_the_runtime_verifier_agrees_on_the_numbered_layers() -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    module = load_module(FIXTURE)
    torch.manual_seed(0)
    cases = {
        "NumberedLayers": (torch.randn(256, 64), {"fc0", "fc1", "fc2"}),
        "NumberedConvs": (torch.randn(16, 8, 12, 12), {"conv0", "conv1"}),
        "NumberedLayersInitialised": (torch.randn(256, 64), set()),
        "NumberedLayersLinear": (torch.randn(256, 16), set()),
    }
    for name, (example, flagged) in cases.items():
        report = verify(getattr(module, name)(), example)
        found = {layer.name for layer in report.layers if layer.code == "INI001"}
        assert found == flagged, (name, str(report))


def test_names_from_a_tuple_and_class_body_values_agree_with_the_runtime() -> None:
    """``for name in ("fc1", "fc2"): setattr(self, name, ...)``, activations chosen in the class
    body (``act_layer = nn.ReLU``) and overridden in a subclass's body."""
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    static = {(f.line, f.code) for f in lint_paths([FIXTURE], Options())}
    lines = FIXTURE.read_text().splitlines()

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if text in line)

    assert (line_of("setattr(self, name, nn.Linear(64, 64))"), "INI001") in static
    base = line_of("class HeBase(")
    assert {code for line, code in static if base < line < base + 12} == {"INI002"}
    module = load_module(FIXTURE)
    torch.manual_seed(0)
    expected = {
        "NamedInALoop": {"fc1": "INI001", "fc2": "INI001"},
        "ClassLevelActivation": {"fc": "INI001", "fc2": "INI001"},
        "TanhChild": {"fc": "INI002"},
        "KeyedLayers": {"layers.fc0": "INI001", "layers.fc1": "INI001"},
        "KeyedLayersInitialised": {"layers.fc0": None, "layers.fc1": None},
    }
    for name, codes in expected.items():
        report = verify(getattr(module, name)(), torch.randn(512, 64))
        assert {layer.name: layer.code for layer in report.layers} == codes, str(report)
