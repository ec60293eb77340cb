"""The shipped examples: the exact findings on each, and each model still builds and runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.engine import lint_paths

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED: dict[str, list[tuple[int, str, str]]] = {
    "mlp_default_init.py": [
        (17, "INI001", "'self.fc1' (Linear) feeds ReLU (line 23) but keeps PyTorch's default init"),
        (18, "INI001", "'self.fc2' (Linear) feeds ReLU (line 25) but keeps PyTorch's default init"),
    ],
    "dcgan.py": [
        (
            30,
            "INI001",
            "'self.main[0]' (ConvTranspose2d) feeds ReLU (line 31) but is initialised with nn.init.normal_",
        ),
        (32, "INI001", "'self.main[2]' (ConvTranspose2d) feeds ReLU (line 33)"),
        (46, "INI001", "'self.main[0]' (Conv2d) feeds LeakyReLU(0.2) (line 47)"),
        (48, "INI001", "'self.main[2]' (Conv2d) feeds LeakyReLU(0.2) (line 49)"),
    ],
    "leaky_wrong_slope.py": [
        (
            18,
            "INI003",
            "'self.conv1' (Conv2d) feeds LeakyReLU(0.2) (line 28) but init.kaiming_normal_(conv.weight",
        ),
        (19, "INI003", "'self.conv2' (Conv2d) feeds LeakyReLU(0.2) (line 29)"),
        (20, "INI003", "has gain 1.407, not 1.387"),
    ],
    "tanh_with_kaiming.py": [
        (
            17,
            "INI002",
            "feeds Tanh (line 25) but is initialised with nn.init.kaiming_uniform_(layer.weight",
        ),
    ],
    "resnet_correct.py": [],
}


def test_every_example_has_expectations() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_findings(name: str) -> None:
    findings = lint_paths([EXAMPLES / name])
    assert [(f.line, f.code) for f in findings] == [
        (line, code) for line, code, _ in EXPECTED[name]
    ]
    for finding, (_, _, text) in zip(findings, EXPECTED[name], strict=False):
        assert text in finding.message


def test_message_names_the_exact_fixing_call() -> None:
    finding = lint_paths([EXAMPLES / "mlp_default_init.py"])[0]
    assert finding.message == (
        "'self.fc1' (Linear) feeds ReLU (line 23) but keeps PyTorch's default init "
        '(std ≈ 0.58/√fan_in); use nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'
    )
    assert (finding.line, finding.column) == (17, 20)  # the layer's construction call


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_model_builds_and_runs(name: str) -> None:
    torch = pytest.importorskip("torch")
    module = load_module(EXAMPLES / name, f"example_{name[:-3]}")
    model = module.build()
    with torch.no_grad():
        out = model(torch.randn(*module.EXAMPLE_INPUT_SHAPE))
    assert torch.isfinite(out).all()
