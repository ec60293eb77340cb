"""INI007 at run time, proved with real torch: the fix gives He's forward scale, and a fixed
DCGAN generator (five stride-2 transposed convs) keeps its signal."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
init = torch.nn.init

from init_lint.runtime import verify  # noqa: E402

NZ, NGF = 100, 32


def forward_fan(layer: nn.ConvTranspose2d, input_size: int) -> float:
    """Terms an interior output sums: in/groups · ∏ min(k/s, input size)."""
    per_dim = [min(k / s, input_size) for k, s in zip(layer.kernel_size, layer.stride, strict=True)]
    return layer.in_channels / layer.groups * math.prod(per_dim)


class Generator(nn.Module):
    """DCGAN layout: a 4×4 stem on the 1×1 latent, then stride-2 upsampling to 64×64."""

    def __init__(self, fixed: bool) -> None:
        super().__init__()
        widths = [NGF * 16, NGF * 8, NGF * 4, NGF * 2, NGF]
        layers: list[nn.Module] = [nn.ConvTranspose2d(NZ, widths[0], 4, 1, 0, bias=False), nn.ReLU()]
        for cin, cout in zip(widths, widths[1:], strict=False):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.ReLU()]
        layers += [nn.ConvTranspose2d(widths[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        relu_layers = [m for m in self.main if isinstance(m, nn.ConvTranspose2d)][:-1]
        for index, layer in enumerate(relu_layers):
            init.kaiming_normal_(layer.weight, mode="fan_out" if fixed else "fan_in",
                                 nonlinearity="relu")
            if fixed:  # the runtime's fix: √(torch's fan_out / forward fan)
                with torch.no_grad():
                    layer.weight.mul_(4.0 if index == 0 else 2.0)
        init.xavier_normal_(self.main[-2].weight, gain=init.calculate_gain("tanh"))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


def test_fixed_generator_has_he_forward_scale_and_keeps_its_signal() -> None:
    torch.manual_seed(0)
    fixed = Generator(fixed=True)
    z = torch.randn(8, NZ, 1, 1)
    convs = [m for m in fixed.main if isinstance(m, nn.ConvTranspose2d)]
    assert sum(1 for m in convs if m.stride == (2, 2)) >= 4
    sizes = [1, 4, 8, 16, 32]  # the input each ReLU layer receives
    for layer, size in zip(convs[:-1], sizes, strict=True):
        gain = layer.weight.std().item() * math.sqrt(forward_fan(layer, size))
        assert gain == pytest.approx(math.sqrt(2), rel=0.01), layer
    report = verify(fixed, z)
    assert report.ok, report
    assert all(row.status == "ok" for row in report.layers if row.activation.name == "ReLU")
    moments = [p.output_moment for p in report.signal.points]
    assert len(moments) == 5
    assert 0.5 <= moments[-1] / moments[0] <= 2.0, moments  # within 2× from first to last

    torch.manual_seed(0)
    broken = verify(Generator(fixed=False), z)
    codes = {row.name: row.code for row in broken.layers}
    assert [codes[f"main.{2 * i}"] for i in range(5)] == ["INI007"] * 5
    assert codes["main.10"] is None
    shrinking = [p.output_moment for p in broken.signal.points]
    assert shrinking[-1] / shrinking[0] < 0.1  # ×½ at each of four stride-2 layers, and borders


def test_input_limited_transposed_conv_uses_the_effective_fan() -> None:
    """The DCGAN stem inited N(0, 0.02): std·√100 = 0.2, not torch's √1600 · 0.02 = 0.8."""
    torch.manual_seed(0)
    stem = nn.Sequential(nn.ConvTranspose2d(NZ, 512, 4, 1, 0, bias=False), nn.ReLU())
    init.normal_(stem[0].weight, 0.0, 0.02)
    row = verify(stem, torch.randn(4, NZ, 1, 1)).layer("0")
    assert row.code == "INI001"
    assert (row.fans.fan_in, row.assessment.mode) == (100, "fan_in")
    assert row.assessment.gain == pytest.approx(0.2, rel=0.01)
    # On a large input the same layer's forward fan is torch's fan_out: either mode is fine.
    same = verify(stem, torch.randn(1, NZ, 8, 8)).layer("0")
    assert same.fans.fan_in == 1600


def test_conv_subclass_applying_its_own_activation_is_checked() -> None:
    class ConvAct(nn.Conv2d):
        def __init__(self, cin: int, cout: int, k: int, activation: nn.Module) -> None:
            super().__init__(cin, cout, k, padding=k // 2)
            self.activation = activation

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.activation(super().forward(x))

    torch.manual_seed(0)
    model = nn.Sequential(ConvAct(64, 256, 3, activation=nn.ReLU()),
                          ConvAct(256, 256, 3, activation=nn.ReLU()))
    init.kaiming_normal_(model[1].weight, nonlinearity="relu")
    report = verify(model, torch.randn(2, 64, 8, 8))
    assert report.layer("0").follows() == "ReLU" and report.layer("0").code == "INI001"
    assert report.layer("1").status == "ok"
    assert len(report.signal.points) == 2
