"""The runtime verifier as ground truth for the static checker: same source, same verdicts.

Each source is linted by the engine and also imported, built and verified; the codes per layer
must agree, except where the runtime cannot tell ("inconclusive": too few weights) or sees what
the static checker cannot (``RUNTIME_ONLY``, each with its reason). Layers are matched by the
static message's ``'self.<attr>'`` name, where the static checker's ``self.layers[...]`` stands
for every element of a container; the INI007 fixtures are matched by construction site.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from init_lint.engine import Options, lint_source  # noqa: E402
from init_lint.runtime import verify  # noqa: E402
from init_lint.runtime.report import attribute_path  # noqa: E402

HEADER = """
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import init
"""

# (source, input shape, through_norm)
CASES = {
    "functional_mlp_default": ("""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 256)
        self.fc2 = nn.Linear(256, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, x):
        return self.out(F.relu(self.fc2(F.relu(self.fc1(x)))))
""", (4, 256), False),
    "vgg_style_loop_init": ("""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(nn.Linear(128 * 64, 256), nn.ReLU(True), nn.Linear(256, 10))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))
""", (2, 3, 16, 16), False),
    "kaiming_before_tanh": ("""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 512)
        init.kaiming_normal_(self.fc.weight)
        self.head = nn.Linear(512, 1)

    def forward(self, x):
        return self.head(torch.tanh(self.fc(x)))
""", (4, 256), False),
    "relu_gain_before_leaky": ("""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(128, 256, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True))
        init.kaiming_normal_(self.net[0].weight, nonlinearity="relu")

    def forward(self, x):
        return self.net(x)
""", (2, 128, 8, 8), False),
    "xavier_tanh_clean": ("""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(128, 128)
        init.xavier_uniform_(self.fc.weight, gain=init.calculate_gain("tanh"))

    def forward(self, x):
        return torch.tanh(self.fc(x))
""", (4, 128), False),
    "dcgan_weights_init": ("""
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(3, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.apply(weights_init)

    def forward(self, x):
        return self.main(x)
""", (2, 3, 32, 32), True),
    "modulelist_comprehension": ("""
class Model(nn.Module):
    def __init__(self, depth=4, width=128):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])

    def forward(self, x):
        for layer in self.layers:
            x = F.relu(layer(x))
        return x
""", (4, 128), False),
    "leaky_01_with_a_02": ("""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(256, 256, 3, padding=1)
        init.kaiming_normal_(self.conv.weight, a=0.2, nonlinearity="leaky_relu")

    def forward(self, x):
        return F.leaky_relu(self.conv(x), 0.1)
""", (2, 256, 8, 8), False),
    "xavier_before_relu_large": ("""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(64, 512, 3, padding=1)
        init.xavier_uniform_(self.conv.weight)

    def forward(self, x):
        return F.relu(self.conv(x))
""", (2, 64, 8, 8), False),
    "resnet_bn_default_view": ("""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + out)
""", (2, 3, 16, 16), True),
    "modules_whose_forward_starts_with_an_activation": ("""
class SquaredReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.scale * self.relu(x) ** 2


class ReluOnly(nn.Module):
    def forward(self, x):
        return F.relu(x)


class Gelu2(nn.Module):
    def forward(self, x):
        return x * F.relu(x + 1.0)


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(256, 256)

    def forward(self, x):
        return self.proj(F.relu(x))


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Inner()

    def forward(self, x):
        return self.inner(x)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 256)
        self.act1 = SquaredReLU()
        self.fc2 = nn.Linear(256, 256)
        self.act2 = ReluOnly()
        self.fc3 = nn.Linear(256, 256)
        self.act3 = Gelu2()
        self.fc4 = nn.Linear(256, 256)
        self.block = Outer()
        self.fc5 = nn.Linear(256, 256)

    def forward(self, x):
        x = self.act3(self.fc3(self.act2(self.fc2(self.act1(self.fc1(x))))))
        return self.fc5(self.block(self.fc4(x)))
""", (4, 256), False),
    "static_method_helpers": ("""
class Model(nn.Module):
    # Blocks from a @staticmethod called through self (its first parameter is in_ch, not
    # self), and a @staticmethod applied as self._init: the first block has no norm.

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            self._block(64, 128, norm=False),
            self._block(128, 128),
            self._block(128, 1, last=True),
        )
        self.apply(self._init)

    @staticmethod
    def _block(in_ch, out_ch, norm=True, last=False):
        if last:
            return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.Sigmoid())
        return nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            nn.BatchNorm2d(out_ch) if norm else nn.Identity(),
            nn.LeakyReLU(0.2),
        )

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, x):
        return self.body(x)
""", (2, 64, 8, 8), False),
    "scaled_after_init": ("""
class Model(nn.Module):
    # ESRGAN-style residual scaling after the init call, in a loop over known layers too.
    def __init__(self):
        super().__init__()
        self.branch = nn.Conv2d(64, 64, 3, padding=1)
        self.trunk = nn.Conv2d(64, 64, 3, padding=1)
        self.a = nn.Conv2d(64, 64, 3, padding=1)
        self.b = nn.Conv2d(64, 64, 3, padding=1)
        init.kaiming_normal_(self.branch.weight)
        self.branch.weight.data *= 0.1
        init.kaiming_normal_(self.trunk.weight, nonlinearity="linear")
        self.trunk.weight.data /= 1 / math.sqrt(2)
        for conv in (self.a, self.b):
            init.kaiming_normal_(conv.weight)
            conv.weight.data *= 0.1

    def forward(self, x):
        x = F.relu(self.trunk(F.relu(self.branch(x))))
        return F.relu(self.b(F.relu(self.a(x))))
""", (2, 64, 8, 8), False),
}

STATIC_NAME = re.compile(r"'(self(?:\.\w+|\[\d+\]|\[\.\.\.\])+)'")


def _static_codes(source: str, through_norm: bool) -> dict[re.Pattern[str], str]:
    """Static findings as {pattern matching the runtime layer names: code}."""
    codes: dict[re.Pattern[str], str] = {}
    for finding in lint_source(source, "model.py", Options(through_norm=through_norm)):
        if finding.code not in ("INI001", "INI002", "INI003"):
            continue
        match = STATIC_NAME.search(finding.message)
        assert match, f"cannot tell which layer {finding.message!r} is about"
        pattern = re.escape(match.group(1)).replace(re.escape("[...]"), r"\[\d+\]")
        codes[re.compile(pattern)] = finding.code
    return codes


def _build(source: str, tmp_path: Path, name: str) -> torch.nn.Module:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"init_lint_agreement_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        return module.Model()
    finally:
        del sys.modules[spec.name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_runtime_and_static_report_the_same_layers(name: str, tmp_path: Path) -> None:
    body, shape, through_norm = CASES[name]
    source = HEADER + body
    torch.manual_seed(0)
    model = _build(source, tmp_path, name)
    report = verify(model, torch.randn(*shape), through_norm=through_norm)
    undecided = {attribute_path(layer.name, "self") for layer in report.inconclusive}
    runtime = {attribute_path(layer.name, "self"): layer.code for layer in report.layers
               if layer.code}
    static = _static_codes(source, through_norm)
    static_view = {
        name: code
        for pattern, code in static.items()
        for name in (attribute_path(layer.name, "self") for layer in report.layers)
        if pattern.fullmatch(name) and name not in undecided
    }
    assert runtime == static_view, f"static: {static}\n{report}"
    assert all(any(p.fullmatch(n) for n in set(runtime) | undecided) for p in static), static
    assert len(undecided) <= 1, report  # only Conv2d(3, 64, 3)-sized layers may be undecided


FIXTURES = Path(__file__).parent.parent / "fixtures"
# (fixture file, class, constructor args, input shape, through_norm, {layer: reason} where the
# runtime reports what the static checker cannot see)
INI007_CASES = [
    ("true_fans.py", "Depthwise", (), (2, 256, 8, 8), False, {}),
    ("true_fans.py", "Generator", (), (2, 100, 1, 1), False,
     {"main.0": "the stem runs on a 1×1 input: forward fan 100, not 1600"}),
    ("true_fans.py", "NormedDepthwise", (64,), (2, 64, 8, 8), False, {}),
    ("true_fans.py", "StrideOneUp", (), (2, 64, 8, 8), False, {}),
    ("true_fans_through_norm.py", "NormedDepthwise", (64,), (2, 64, 8, 8), True, {}),
]


@pytest.mark.parametrize("case", INI007_CASES, ids=lambda c: f"{c[0]}:{c[1]}")
def test_ini007_fixtures_agree_site_by_site(case: tuple) -> None:
    """Depthwise/grouped with fan_out, groups=1, strided and stride-1 transposed convs, a DCGAN
    generator, through a norm: the same layers get the same codes in both halves."""
    from init_lint.runtime import record_sites
    from init_lint.runtime.merge import BOTH, NEITHER, RUNTIME_ONLY, merge

    filename, cls, args, shape, through_norm, runtime_only = case
    path = FIXTURES / filename
    spec = importlib.util.spec_from_file_location(f"init_lint_fixture_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    with record_sites():
        spec.loader.exec_module(module)
        torch.manual_seed(0)
        model = getattr(module, cls)(*args)
    if cls == "Depthwise":  # its forward chains channel counts that do not fit: one input each
        model.forward = lambda x: (
            torch.relu(model.dw(x)), torch.relu(model.grouped(x[:, :64])),
            torch.relu(model.pointwise(x[:, :128])), torch.relu(model.dw_fan_in(x)),
        )
    report = verify(model, torch.randn(*shape), through_norm=through_norm)
    static = lint_source(path.read_text(), str(path), Options(through_norm=through_norm))
    rows = merge(report, static)
    for row in rows:
        if not row.layer:
            continue  # a static finding on another class of the fixture file
        if row.layer in runtime_only:
            assert row.agreement == RUNTIME_ONLY, row
        else:
            assert row.agreement in (BOTH, NEITHER), (row, str(report))
            assert row.runtime == (row.static or row.runtime), row
    assert not report.inconclusive, report
