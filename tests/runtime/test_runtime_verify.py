"""verify() on real models: torchvision-style nets, functional activations, and the promise to
leave the model exactly as it was."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
init = torch.nn.init

from init_lint.findings import Finding  # noqa: E402
from init_lint.runtime import InitFindingsError, assert_init_ok, verify  # noqa: E402


# -- torchvision-style nets, built here (torchvision itself is not installed beside torch) -----
class VGGish(nn.Module):
    """torchvision.models.vgg layout and init: conv kaiming fan_out, Linear normal(0, 0.01)."""

    def __init__(self, init_weights: bool = True) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(inplace=True),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(128 * 4, 256), nn.ReLU(True), nn.Dropout(), nn.Linear(256, 10),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    init.normal_(m.weight, 0, 0.01)
                    init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class BasicBlock(nn.Module):
    def __init__(self, planes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)  # the same ReLU module, used twice


class ResNetish(nn.Module):
    def __init__(self, kaiming: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(64), BasicBlock(64))
        self.fc = nn.Linear(64, 10)
        if kaiming:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Discriminator(nn.Module):
    """DCGAN-style, LeakyReLU(0.2), but initialised with the ReLU gain."""

    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(3, 128, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(128, 256, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(256, 1, 4, 1, 0),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class TanhMLP(nn.Module):
    def __init__(self, kaiming: bool) -> None:
        super().__init__()
        self.fc1 = nn.Linear(128, 256)
        self.fc2 = nn.Linear(256, 256)
        self.out = nn.Linear(256, 1)
        for layer in (self.fc1, self.fc2):
            if kaiming:
                init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:
                init.xavier_uniform_(layer.weight, gain=init.calculate_gain("tanh"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.fc2(torch.tanh(self.fc1(x)))))


class Generator(nn.Module):
    """DCGAN-style generator: ConvTranspose layers, the last one into Tanh."""

    def __init__(self, kaiming_last: bool) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(100, 256, 4, 1, 0, bias=False), nn.ReLU(True),
            nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.ReLU(True),
            nn.ConvTranspose2d(128, 3, 4, 2, 1, bias=False), nn.Tanh(),
        )
        # He for the ReLU layers, over the backward fan (torch's "fan_in" of a transposed conv).
        init.kaiming_normal_(self.main[0].weight, nonlinearity="relu")
        init.kaiming_normal_(self.main[2].weight, nonlinearity="relu")
        if kaiming_last:
            init.kaiming_normal_(self.main[4].weight, nonlinearity="relu")
        else:
            init.xavier_normal_(self.main[4].weight, gain=init.calculate_gain("tanh"))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class Functional(nn.Module):
    """Activations only as functions and tensor methods, He-initialised for each."""

    def __init__(self) -> None:
        super().__init__()
        self.relu_fn = nn.Linear(128, 128)
        self.relu_method = nn.Linear(128, 128)
        self.leaky = nn.Linear(128, 128)
        self.inplace = nn.Linear(128, 128)
        self.viewed = nn.Linear(128, 128)
        self.sigmoid = nn.Linear(128, 128)
        self.head = nn.Linear(128, 4)
        for layer in (self.relu_fn, self.relu_method, self.inplace, self.viewed):
            init.kaiming_normal_(layer.weight, nonlinearity="relu")
        init.kaiming_normal_(self.leaky.weight, a=0.2, nonlinearity="leaky_relu")
        init.xavier_normal_(self.sigmoid.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.relu_fn(x))
        x = self.relu_method(x).relu()
        x = F.leaky_relu(self.leaky(x), 0.2)
        x = torch.relu_(F.dropout(self.inplace(x), 0.1, self.training))
        y = self.viewed(x)
        x = y.view(y.size(0), -1).relu_()
        x = torch.sigmoid(self.sigmoid(x))
        return self.head(x)


# -- verdicts ----------------------------------------------------------------------------------
def _codes(report) -> dict[str, str]:
    return {layer.name: layer.code or layer.status for layer in report.layers}


def test_default_init_is_ini001_everywhere_a_rectifier_follows() -> None:
    torch.manual_seed(0)
    report = verify(VGGish(init_weights=False), torch.randn(2, 3, 16, 16))
    assert _codes(report) == {
        "features.0": "INI001", "features.3": "INI001", "features.6": "INI001",
        "classifier.0": "INI001", "classifier.3": "not checked",
    }
    assert not report.ok
    assert all(layer.assessment.scheme.startswith("PyTorch default")
               for layer in report.layers if layer.code)


def test_torchvision_vgg_init_conv_ok_and_linear_normal_001_ini001() -> None:
    torch.manual_seed(0)
    report = verify(VGGish(), torch.randn(2, 3, 16, 16))
    # 1728 weights cannot tell He (fan_out) from xavier_normal_(gain=1), 2.2% smaller here.
    assert _codes(report)["features.0"] == "inconclusive"
    assert "xavier_normal_(gain=1) (INI001)" in report.layer("features.0").assessment.reason
    assert _codes(report)["features.3"] == "ok"
    assert _codes(report)["features.6"] == "ok"
    conv = report.layer("features.3")
    assert conv.assessment.scheme == "kaiming_normal_(mode='fan_out', nonlinearity='relu')"
    assert conv.assessment.mode == "fan_out"
    linear = report.layer("classifier.0")
    assert linear.code == "INI001"
    assert linear.assessment.scheme == "normal_(0, 0.01)"
    assert linear.follows() == "ReLU"


def test_resnet_norm_layers_are_skipped_unless_through_norm() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    report = verify(ResNetish(), x)
    assert report.ok
    assert report.layer("conv1").consumer == "BatchNorm2d"
    assert report.layer("conv1").status == "not checked"
    through = verify(ResNetish(), x, through_norm=True)
    assert _codes(through)["conv1"] == "inconclusive"  # xavier_(gain=1) is 2.2% from He here
    assert _codes(through)["layer1.0.conv1"] == "ok"
    assert through.layer("layer1.0.conv1").follows() == "BatchNorm2d → ReLU"
    assert through.layer("layer1.0.conv2").consumer == "add"  # residual: no claim
    default = verify(ResNetish(kaiming=False), x, through_norm=True)
    assert _codes(default)["layer1.1.conv1"] == "INI001"
    assert _codes(default)["layer1.1.conv2"] == "not checked"


def test_leaky_relu_02_with_relu_gain_is_ini003() -> None:
    torch.manual_seed(0)
    report = verify(Discriminator(), torch.randn(2, 3, 32, 32))
    big = report.layer("main.2")  # 128·256·16 weights: the 1.9% gain error is resolved
    assert big.code == "INI003"
    assert big.activation.slope == 0.2
    assert big.assessment.gain == pytest.approx(math.sqrt(2), rel=0.01)
    assert big.assessment.required_gain == pytest.approx(math.sqrt(2 / 1.04))
    assert report.layer("main.0").status in ("ok", "inconclusive", "finding")
    assert "a=0.2, nonlinearity='leaky_relu'" in big.message()


def test_kaiming_before_tanh_is_ini002_and_xavier_tanh_is_clean() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 128)
    report = verify(TanhMLP(kaiming=True), x)
    assert _codes(report) == {"fc1": "INI002", "fc2": "INI002", "out": "not checked"}
    assert report.layer("fc1").follows() == "Tanh"
    clean = verify(TanhMLP(kaiming=False), x)
    assert clean.ok and _codes(clean)["fc1"] == "ok"


def test_transposed_convs() -> None:
    torch.manual_seed(0)
    z = torch.randn(2, 100, 1, 1)
    report = verify(Generator(kaiming_last=True), z)
    # main.2 has stride 2, main.0 runs on the 1×1 input: in both only the forward fan counts.
    assert _codes(report) == {"main.0": "INI007", "main.2": "INI007", "main.4": "INI002"}
    stem = report.layer("main.0")
    assert stem.fans.fan_in == 100  # in_channels terms per output, not torch's 1600
    assert stem.assessment.mode == "fan_in"
    assert "mode='fan_out'" in stem.message() and "mul_(4)" in stem.message()
    assert "mul_(2)" in report.layer("main.2").message()
    assert _codes(verify(Generator(kaiming_last=False), z))["main.4"] == "ok"


def test_functional_activations_are_found() -> None:
    torch.manual_seed(0)
    report = verify(Functional(), torch.randn(4, 128))
    follows = {layer.name: layer.follows() for layer in report.layers}
    assert follows == {
        "relu_fn": "ReLU", "relu_method": "ReLU", "leaky": "LeakyReLU(0.2)",
        "inplace": "dropout → ReLU", "viewed": "view → ReLU", "sigmoid": "Sigmoid",
        "head": "model output",
    }
    assert report.ok, report
    assert report.layer("leaky").activation.slope == 0.2


def test_module_used_twice_is_judged_for_each_activation() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(256, 256)
            init.kaiming_normal_(self.fc.weight, nonlinearity="relu")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(self.fc(F.relu(self.fc(x))))

    report = verify(Twice(), torch.randn(4, 256))
    rows = [(layer.name, layer.follows(), layer.code or layer.status) for layer in report.layers]
    assert rows == [("fc", "ReLU", "ok"), ("fc", "Tanh", "INI002")]
    assert all(layer.calls == 2 for layer in report.layers)


def test_shared_weights_and_lazy_modules() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encode = nn.Linear(256, 256)
            self.decode = nn.Linear(256, 256)
            self.decode.weight = self.encode.weight  # tied
            self.lazy = nn.LazyLinear(512)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(self.lazy(torch.tanh(self.decode(F.relu(self.encode(x))))))

    model = Tied()
    report = verify(model, torch.randn(4, 256))
    assert _codes(report) == {"encode": "INI001", "decode": "ok", "lazy": "INI001"}
    assert isinstance(model.lazy, nn.Linear) and model.lazy.weight.shape == (512, 256)


def test_custom_leaf_modules_consume_unless_they_wrap_an_activation() -> None:
    class Swish(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * torch.sigmoid(x)

    class MyReLU(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(x)

    model = nn.Sequential(nn.Linear(64, 64), Swish(), nn.Linear(64, 64), MyReLU())
    report = verify(model, torch.randn(4, 64))
    assert report.layer("0").follows() == "Swish"
    assert report.layer("0").status == "not checked"
    assert report.layer("2").follows() == "ReLU"
    assert report.layer("2").code == "INI001"


def test_functional_norms_are_looked_through_only_with_through_norm() -> None:
    class Normed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(64, 64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(F.layer_norm(self.fc(x), (64,)))

    x = torch.randn(4, 64)
    assert verify(Normed(), x).layer("fc").consumer == "layer_norm"
    through = verify(Normed(), x, through_norm=True).layer("fc")
    assert (through.follows(), through.via_norm, through.code) == ("layer_norm → ReLU", True,
                                                                   "INI001")


def test_other_activations_make_no_claim() -> None:
    model = nn.Sequential(nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 64))
    report = verify(model, torch.randn(4, 64))
    assert report.ok and report.tests == 0
    assert report.layer("0").consumer == "GELU (no claim)"


def test_metadata_queries_do_not_count_as_consumers() -> None:
    class Shapes(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(64, 64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.fc(x)
            assert y.shape[0] == x.size(0) and y.dim() == 2
            return y.reshape(y.size(0), -1).relu()

    report = verify(Shapes(), torch.randn(4, 64))
    assert report.layer("fc").follows() == "reshape → ReLU"


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_any_dtype(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = VGGish(init_weights=False).to(dtype)
    report = verify(model, torch.randn(2, 3, 16, 16, dtype=dtype))
    assert _codes(report)["features.3"] == "INI001"
    assert next(model.parameters()).dtype == dtype


# -- the model is left as it was -----------------------------------------------------------------
def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def _no_hooks(model: nn.Module) -> bool:
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._forward_hooks_with_kwargs
        for m in model.modules()
    )


def _function_modes() -> list:
    from torch.overrides import _get_current_function_mode_stack

    return list(_get_current_function_mode_stack())


def test_model_is_left_unchanged() -> None:
    class Noisy(ResNetish):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x + 0.1 * torch.randn_like(x))  # draws from the global RNG

    torch.manual_seed(0)
    model = Noisy()
    model.train()
    model.layer1[1].eval()  # a mix of modes must come back as it was
    modes = {name: m.training for name, m in model.named_modules()}
    x = torch.randn(2, 3, 32, 32)
    before = _snapshot(model)
    rng = torch.get_rng_state()
    verify(model, x, through_norm=True)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats included
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert torch.equal(torch.get_rng_state(), rng)
    assert _no_hooks(model)
    assert _function_modes() == []
    assert all(p.grad is None for p in model.parameters())


def test_model_is_restored_when_forward_raises() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            torch.rand(3)
            raise RuntimeError("boom")

    model, x = Broken(), torch.randn(2, 8)
    rng = torch.get_rng_state()
    with pytest.raises(RuntimeError, match="boom"):
        verify(model, x)
    assert model.training
    assert _no_hooks(model)
    assert _function_modes() == []
    assert torch.equal(torch.get_rng_state(), rng)


# -- report API ----------------------------------------------------------------------------------
def test_report_table_json_and_raise() -> None:
    torch.manual_seed(0)
    report = verify(VGGish(init_weights=False), torch.randn(2, 3, 16, 16), label="nets:vgg")
    table = report.table()
    assert table.splitlines()[0].split()[:3] == ["layer", "class", "follows"]
    assert "features.3" in table and "INI001" in str(report)
    findings = report.findings
    assert all(isinstance(f, Finding) and f.path == __file__ for f in findings)
    assert findings[0].line == 27 and findings[0].evidence.module == "features.0"
    assert findings[0].message.startswith("features.0 (Conv2d) feeds ReLU")
    assert "model.features[0].weight" in findings[0].message
    payload = json.loads(json.dumps(report.to_json()))
    assert payload["findings"][0]["code"] == "INI001"
    assert payload["layers"][0]["std_interval"][0] <= payload["layers"][0]["std"]
    with pytest.raises(InitFindingsError) as error:
        report.raise_for_findings()
    assert isinstance(error.value, AssertionError)
    assert "classifier.0" in str(error.value)


def test_assert_init_ok_passes_clean_models_and_lists_offenders() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 128)
    assert assert_init_ok(TanhMLP(kaiming=False), x).ok
    with pytest.raises(AssertionError, match=r"^init-lint: 2 layer\(s\) of TanhMLP .*\n  INI002 fc1 \(Linear\) → Tanh: std·√fan_in = 1\.4"):
        assert_init_ok(TanhMLP(kaiming=True), x)


def test_signal_curve_vanishes_under_default_init_and_stays_flat_under_he() -> None:
    def mlp(he: bool) -> nn.Sequential:
        layers: list[nn.Module] = []
        for _ in range(12):
            linear = nn.Linear(256, 256, bias=False)
            if he:
                init.kaiming_normal_(linear.weight, nonlinearity="relu")
            layers += [linear, nn.ReLU()]
        return nn.Sequential(*layers)

    torch.manual_seed(0)
    x = torch.randn(64, 256)
    default = verify(mlp(he=False), x).signal
    he = verify(mlp(he=True), x).signal
    assert len(default.points) == len(he.points) == 12
    assert default.mean_step_ratio == pytest.approx(1 / 6, rel=0.15)  # 1/(3·½)... ÷6 per layer
    assert default.vanishes_at is not None and default.vanishes_at.depth <= 4
    assert he.mean_step_ratio == pytest.approx(1.0, abs=0.1)
    assert he.vanishes_at is None and he.explodes_at is None
    assert "vanishes" in default.summary()


class NormAct(nn.BatchNorm2d):
    """A norm with its activation inside, as timm's BatchNormAct2d writes it."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.drop = nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias)
        return self.act(self.drop(x))


class NormWithConv(nn.BatchNorm2d):
    """A norm class holding a layer of its own: not a shell, its conv is followed."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.proj = nn.Conv2d(channels, channels, 1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.proj(super().forward(x)))


def test_norm_with_an_activation_inside_ends_a_layer_unless_through_norm() -> None:
    """Strict: the conv's output ends at the norm class (reported by its name) and the ReLU
    inside still counts in the signal curve; through norms, the conv feeds that ReLU."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3), NormAct(16), nn.Conv2d(16, 16, 3), NormWithConv(16)
    ).eval()
    x = torch.randn(4, 3, 16, 16)
    strict = {layer.name: layer for layer in verify(model, x).layers}
    assert strict["0"].consumer == "NormAct" and strict["0"].code is None
    assert strict["3.proj"].activation is not None and strict["3.proj"].code == "INI001"
    assert len(verify(model, x).signal.points) == 2  # both ReLUs, the one in the shell too
    through = {layer.name: layer for layer in verify(model, x, through_norm=True).layers}
    assert through["0"].via_norm and through["0"].code == "INI001"
    assert through["0"].activation is not None and through["0"].activation.name == "ReLU"


def test_identity_modules_pass_a_layer_output_on() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.Identity(), nn.Identity(), nn.ReLU()).eval()
    [layer] = verify(model, torch.randn(32, 64)).layers
    assert layer.activation is not None and layer.activation.name == "ReLU"
    assert layer.code == "INI001"
