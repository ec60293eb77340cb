"""Engine behaviour beyond single fixtures: options, cross-file facts, precision, bad input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from init_lint.engine import Options, lint_paths, lint_source


def _codes(source: str, options: Options | None = None) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in lint_source(textwrap.dedent(source), "m.py", options)]


THROUGH_NORM = """
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.bn = nn.BatchNorm2d(8)

        def forward(self, x):
            return self.bn(self.conv(x)).relu()
"""


def test_norm_layers_hide_the_rectifier_unless_through_norm() -> None:
    assert _codes(THROUGH_NORM) == []
    findings = lint_source(textwrap.dedent(THROUGH_NORM), "m.py", Options(through_norm=True))
    assert [(f.line, f.code) for f in findings] == [(7, "INI001")]
    assert "through a norm layer" in findings[0].message


def _write_package(root: Path, with_model: bool) -> list[Path]:
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "blocks.py").write_text(
        textwrap.dedent(
            """
            import torch.nn as nn
            import torch.nn.functional as F

            class Block(nn.Module):
                def __init__(self, dim):
                    super().__init__()
                    self.fc = nn.Linear(dim, dim)

                def forward(self, x):
                    return F.relu(self.fc(x))
            """
        )
    )
    files = [package / "__init__.py", package / "blocks.py"]
    if with_model:
        (package / "model.py").write_text(
            textwrap.dedent(
                """
                import torch.nn as nn
                from .blocks import Block

                class Model(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.blocks = nn.Sequential(Block(8), Block(8))
                        for m in self.modules():
                            if isinstance(m, nn.Linear):
                                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                """
            )
        )
        files.append(package / "model.py")
    return files


def test_class_initialised_by_its_container_in_another_file(tmp_path: Path) -> None:
    assert lint_paths(_write_package(tmp_path, with_model=True)) == []


def test_same_class_alone_is_reported(tmp_path: Path) -> None:
    findings = lint_paths(_write_package(tmp_path, with_model=False))
    assert [(Path(f.path).name, f.line, f.code) for f in findings] == [("blocks.py", 8, "INI001")]


_INIT_FUNCTIONS = """
    import torch.nn as nn

    def weights_init(m):
        if m.__class__.__name__.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)

    def init_head(module):
        for m in module.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def make_models(version, weights=None):
        return Generator(version)

    class Generator(nn.Module):
        def __init__(self, version="a"):
            super().__init__()
            self.main = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 3, 3), nn.Tanh())
            nn.init.kaiming_normal_(self.main[0].weight, nonlinearity="relu")

        def forward(self, x):
            return self.main(x)

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            return nn.functional.relu(self.fc(x))
"""


_DATASETS = """
import glob

from torch.utils.data import Dataset


class ImageDataset(Dataset):
    def __init__(self, root):
        self.files = sorted(glob.glob(root))
"""


@pytest.mark.parametrize(
    "import_line",
    [
        "from models import *",
        "from models import Generator, Head, weights_init, init_head",
        # the names come from the module that binds them, not from the last * import
        "from models import *\nfrom datasets import *",
        "from datasets import *\nfrom models import *",
    ],
)
def test_init_functions_of_another_file_apply_where_they_are_called(
    tmp_path: Path, import_line: str
) -> None:
    (tmp_path / "models.py").write_text(textwrap.dedent(_INIT_FUNCTIONS))
    (tmp_path / "datasets.py").write_text(_DATASETS)
    script = f"{import_line}\n\nnet = Generator()\nnet.apply(weights_init)\nhead = Head()\ninit_head(head)\n"
    (tmp_path / "train.py").write_text(script)
    findings = lint_paths([tmp_path / "models.py", tmp_path / "datasets.py", tmp_path / "train.py"])
    # weights_init overwrites the Kaiming init of the Conv2d before the ReLU with N(0, 0.02);
    # init_head gives the Linear before the ReLU its Kaiming init
    assert [(Path(f.path).name, f.line, f.code) for f in findings] == [("models.py", 19, "INI001")]
    assert "nn.init.normal_(m.weight.data, 0.0, 0.02)" in findings[0].message


def test_the_last_star_import_that_binds_a_name_wins(tmp_path: Path) -> None:
    """As in Python: ``Generator`` is the one of the later ``*`` import that defines it."""
    (tmp_path / "models.py").write_text(textwrap.dedent(_INIT_FUNCTIONS))
    (tmp_path / "other.py").write_text(
        "import torch.nn as nn\n\n\nclass Generator(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n\n"
        "    def forward(self, x):\n        return nn.functional.relu(self.fc(x))\n"
    )
    script = "from models import *\nfrom other import *\n\nnet = Generator()\nnet.apply(weights_init)\n"
    (tmp_path / "train.py").write_text(script)
    findings = lint_paths(sorted(tmp_path.glob("*.py")))
    # other.Generator's Linear keeps its default init (weights_init touches convs only);
    # models.Generator is built nowhere but in its own defaults, where its Kaiming init holds
    # (models.Head, built nowhere either, keeps its default init too)
    assert [(Path(f.path).name, f.line, f.code) for f in findings] == [
        ("models.py", 28, "INI001"),
        ("other.py", 7, "INI001"),
    ]
    assert "default init" in findings[1].message


_FACTORY = """
    import torch.nn as nn

    def make(version, weights=None):
        return Net(version)

    class Net(nn.Module):
        def __init__(self, version="a"):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            if version == "a":
                nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")

        def forward(self, x):
            return nn.functional.relu(self.fc(x))

    net = Net()
"""


def test_functions_that_only_pass_arguments_on_build_nothing(tmp_path: Path) -> None:
    """``make`` names "weights" but does not initialise its argument: it is not summarised as an
    init function for other files, so no Net is built with a module as its version (where the
    Kaiming branch could not be told, and fc would be reported)."""
    (tmp_path / "models.py").write_text(textwrap.dedent(_INIT_FUNCTIONS))
    (tmp_path / "train.py").write_text("from models import *\n\nhead = Head()\ninit_head(head)\n")
    assert lint_paths([tmp_path / "models.py", tmp_path / "train.py"]) == []
    (tmp_path / "factory.py").write_text(textwrap.dedent(_FACTORY))
    assert lint_paths([tmp_path / "factory.py"]) == []


_LAYERS = """
    import torch.nn as nn


    class Mlp(nn.Module):
        def __init__(self, dim, act_layer=nn.GELU):
            super().__init__()
            self.fc1 = nn.Linear(dim, dim)
            self.act = act_layer()
            self.fc2 = nn.Linear(dim, dim)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))
"""

_MODEL = """
    import torch.nn as nn

    from pkg import Mlp


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = Mlp(64, act_layer=nn.{activation})

        def forward(self, x):
            return self.mlp(x)
"""


@pytest.mark.parametrize("activation", ["ReLU", "GELU"])
def test_a_class_built_with_arguments_in_another_file_is_judged_with_them(
    tmp_path: Path, activation: str
) -> None:
    """layers.py names no rectifier (the prefilter leaves it out); model.py passes one in,
    through a re-export: layers.py is analysed with that context, and only then."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .layers import Mlp\n")
    (package / "layers.py").write_text(textwrap.dedent(_LAYERS))
    (package / "model.py").write_text(textwrap.dedent(_MODEL).format(activation=activation))
    findings = lint_paths(sorted(package.glob("*.py")))
    found = [(Path(f.path).name, f.line, f.code) for f in findings]
    if activation == "GELU":
        assert found == []
    else:
        assert found == [("layers.py", 8, "INI001")]
        assert findings[0].message.endswith("(built as Mlp(64, act_layer=ReLU))")


def test_unknown_factories_and_parameters_stay_silent() -> None:
    source = """
        import torch.nn as nn
        from somewhere import make_conv, Mystery

        class Net(nn.Module):
            def __init__(self, act):
                super().__init__()
                self.a = make_conv(3, 8)
                self.b = nn.Conv2d(8, 8, 3)
                self.act = act()
                self.relu = nn.ReLU()
                self.m = Mystery()

            def forward(self, x):
                x = self.relu(self.a(x))
                x = self.act(self.b(x))
                return self.relu(self.m(x))
    """
    assert _codes(source) == []


def test_unknown_init_helper_on_self_makes_it_unknowable() -> None:
    source = """
        import torch.nn as nn
        import torch.nn.functional as F
        from mylib import init_weights

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                init_weights(self)

            def forward(self, x):
                return F.relu(self.fc(x))
    """
    assert _codes(source) == []


def test_conditional_init_that_differs_by_branch_is_not_reported() -> None:
    source = """
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self, he):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                if he:
                    nn.init.kaiming_normal_(self.fc.weight)

            def forward(self, x):
                return F.relu(self.fc(x))
    """
    assert _codes(source) == []


def test_literal_default_decides_a_condition() -> None:
    source = """
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self, init_weights=True):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                if init_weights:
                    nn.init.kaiming_normal_(self.fc.weight)

            def forward(self, x):
                return F.relu(self.fc(x))
    """
    assert _codes(source) == []


def test_syntax_error_is_reported_and_other_files_still_linted(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n    pass\n")
    good = tmp_path / "good.py"
    good.write_text(
        "import torch.nn as nn\nimport torch.nn.functional as F\n"
        "class N(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(2, 2)\n    def forward(self, x):\n        return F.relu(self.fc(x))\n"
    )
    findings = lint_paths([bad, good, tmp_path / "missing.py"])
    by_file = {(Path(f.path).name, f.code) for f in findings}
    assert by_file == {("bad.py", "INI999"), ("good.py", "INI001"), ("missing.py", "INI999")}
    syntax = next(f for f in findings if f.path.endswith("bad.py"))
    assert syntax.line == 1 and "syntax error" in syntax.message


def test_undecodable_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = '\xff\xfe'\n")
    findings = lint_paths([path])
    assert [f.code for f in findings] == ["INI999"]


def test_deeply_nested_code_does_not_crash() -> None:
    source = "x = " + "(" * 150 + "1" + ")" * 150 + "\n"
    assert all(f.code == "INI999" for f in lint_source(source, "deep.py"))


def test_module_passed_to_a_helper_function_is_seen_through() -> None:
    source = """
        import torch.nn as nn
        import torch.nn.functional as F

        def init_head(model):
            nn.init.kaiming_normal_(model.fc.weight, nonlinearity="relu")
            model.helper_attr.something()

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                init_head(self)

            def forward(self, x):
                return F.relu(self.fc(x))
    """
    assert _codes(source) == []


def test_self_inside_a_probe_or_nested_function_does_not_crash() -> None:
    source = """
        import torch.nn as nn

        def helper(module):
            return module.weight_orig

        class P(nn.Module):
            def __init__(self, base):
                super().__init__()
                self.fc = nn.Linear(2, 2)
                helper(self)
                self.apply(lambda m: m.foo)

            def forward(self, x):
                return self.fc(x)
    """
    assert _codes(source) == []


def test_a_package_whose_name_starts_with_torch_is_not_torch(tmp_path: Path) -> None:
    """torchvision-style: ``torchvision.ops.Block`` is a class of the linted tree (only
    ``torch`` and ``torch.*`` are PyTorch), re-exported under another name by the package's
    ``__init__``: the detection head's context (no norm, ReLU, N(0, 0.01)) is followed."""
    package = tmp_path / "torchvis"
    (package / "ops").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "ops" / "__init__.py").write_text("from .blocks import ConvBlockAlias\n")
    (package / "ops" / "blocks.py").write_text(
        textwrap.dedent(
            """\
            import torch.nn as nn


            class ConvBlock(nn.Sequential):
                def __init__(self, cin, cout, norm_layer=nn.BatchNorm2d):
                    layers = [nn.Conv2d(cin, cout, 3, padding=1)]
                    if norm_layer is not None:
                        layers.append(norm_layer(cout))
                    layers.append(nn.ReLU(inplace=True))
                    super().__init__(*layers)


            ConvBlockAlias = ConvBlock
            """
        )
    )
    (package / "head.py").write_text(
        textwrap.dedent(
            """\
            import torch
            from torch import nn
            from torchvis.ops import ConvBlockAlias


            class Head(nn.Module):
                def __init__(self, channels):
                    super().__init__()
                    self.conv = ConvBlockAlias(channels, channels, norm_layer=None)
                    for layer in self.modules():
                        if isinstance(layer, nn.Conv2d):
                            torch.nn.init.normal_(layer.weight, std=0.01)
            """
        )
    )
    findings = lint_paths(sorted(package.rglob("*.py")))
    [finding] = findings
    assert (Path(finding.path).name, finding.line, finding.code) == ("blocks.py", 6, "INI001")
    assert "normal_(layer.weight, std=0.01)" in finding.message


_SPREAD_BLOCKS = """
import collections.abc
from itertools import repeat

import torch.nn as nn


def _ntuple(n):
    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(repeat(x, n))
    return parse


class Block(nn.Module):
    def __init__(self, width, act_layer=nn.Tanh):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = act_layer()

    def forward(self, x):
        return self.act(self.fc(x))


class Net(nn.Module):
    def __init__(self, block, widths=(8, 16)):
        super().__init__()
        blocks = SPREAD
        self.body = nn.Sequential(*[b(w, act_layer=nn.ReLU) for b, w in zip(blocks, widths)])

    def forward(self, x):
        return self.body(x)


def net():
    return Net(Block)
"""


@pytest.mark.parametrize(
    "spread",
    [
        "(block,) * len(widths)",
        "len(widths) * [block]",
        "tuple(repeat(block, len(widths)))",
        "_ntuple(len(widths))(block)",
    ],
)
def test_a_class_spread_over_stages_is_still_that_class(spread: str) -> None:
    """The block class reaches the stage loop repeated n times: by `*`, itertools.repeat, or
    a closure that makes n-tuples (a `def` nested in a function sees that function's names)."""
    source = _SPREAD_BLOCKS.replace("SPREAD", spread)
    assert _codes(source) == [(19, "INI001")]  # Block.fc feeds the ReLU that Net passes


def test_positional_arguments_forwarded_with_star_args_keep_the_defaults() -> None:
    """``_build(weights, *args, **kwargs)`` → ``Net(*args, **kwargs)``: ``args`` holds exactly
    the positionals given, so Net's other parameters keep their defaults (its unit class)."""
    source = """
        import torch.nn as nn


        class Unit(nn.Module):
            def __init__(self, width, act_layer=nn.Tanh):
                super().__init__()
                self.fc = nn.Linear(width, width)
                self.act = act_layer()

            def forward(self, x):
                return self.act(self.fc(x))


        class ReluUnit(Unit):
            def __init__(self, width):
                super().__init__(width, act_layer=nn.ReLU)


        class Net(nn.Module):
            def __init__(self, widths, unit=ReluUnit):
                super().__init__()
                self.body = nn.Sequential(*[unit(w) for w in widths])

            def forward(self, x):
                return self.body(x)


        def _build(weights, *args, **kwargs):
            return Net(*args, **kwargs)


        def net(weights=None, **kwargs):
            return _build(weights, [8, 16], **kwargs)
    """
    assert _codes(source) == [(8, "INI001")]


def test_a_submodules_output_through_its_norm_counts_with_through_norm() -> None:
    """module_outputs.py's NormedHolder: the conv reaches the holder's ReLU through the
    submodule's BatchNorm, so only the through-norm view reports it."""
    path = Path(__file__).parent / "fixtures" / "module_outputs.py"
    default = {(f.line, f.code) for f in lint_paths([path], Options())}
    through = {(f.line, f.code) for f in lint_paths([path], Options(through_norm=True))}
    assert through - default == {(90, "INI001")}


def test_a_block_class_stored_in_a_config_dict_is_built_by_the_model() -> None:
    """``cfg['block'] = Block`` then ``build_model_with_cfg(Net, ..., model_cfg=cfg)`` (timm
    passes it as ``Net(cfg=...)``): Block is built inside Net, whose Kaiming loop reaches it;
    its standalone defaults are no context of their own."""
    source = """
import torch.nn as nn
from timm.models._builder import build_model_with_cfg


def conv_bn(cin, cout, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = conv_bn(cin, cout)

    def forward(self, x):
        return self.conv1(x)


class Net(nn.Module):
    def __init__(self, cfg, num_classes=10):
        super().__init__()
        self.stem = conv_bn(3, 32)
        self.features = nn.Sequential(*[cfg['block'](*args) for args in cfg['features']])
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, x):
        return self.features(self.stem(x))


def _create(variant, pretrained, **kwargs):
    cfg = {}
    cfg['block'] = Block
    cfg['features'] = [(32, 64), (64, 64)]
    return build_model_with_cfg(Net, variant, pretrained, model_cfg=cfg, **kwargs)


def net(pretrained=False, **kwargs):
    return _create('net', pretrained, **kwargs)
"""
    assert _codes(source, Options(through_norm=True)) == []


def test_a_dict_written_under_a_condition_is_not_written_in_the_other_branch() -> None:
    """``if weights is not None: kwargs['init_weights'] = False`` (a pretrained model's weights
    are loaded afterwards): the usual build, init_weights=True, still runs the model's init."""
    source = """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self, init_weights=True):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                self.act = nn.ReLU()
                if init_weights:
                    nn.init.normal_(self.fc.weight, 0, 0.01)

            def forward(self, x):
                return self.act(self.fc(x))


        def net(weights=None, **kwargs):
            if weights is not None:
                kwargs["init_weights"] = False
            return Net(**kwargs)
    """
    findings = lint_source(textwrap.dedent(source), "m.py")
    assert [(f.line, f.code) for f in findings] == [(8, "INI001")]
    assert "normal_" in findings[0].message, findings[0].message


_CONV_NORM_ACT = """
    import torch.nn as nn


    class ConvNormAct(nn.Sequential):
        def __init__(self, cin, cout, activation_layer=nn.ReLU):
            layers = [nn.Conv2d(cin, cout, 3), nn.BatchNorm2d(cout)]
            if activation_layer is not None:
                layers.append(activation_layer())
            super().__init__(*layers)


    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = ConvNormAct(3, 8, activation_layer=None)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.trunc_normal_(m.weight, std=0.02)

        def forward(self, x):
            return self.stem(x)
"""


def test_a_context_not_run_is_not_the_class_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the cap on contexts per class, Plain's ConvNormAct(activation_layer=None) is not
    run: it must not stand for the defaults (a ReLU), which would join Plain's trunc_normal_
    loop to an activation Plain never builds."""
    from init_lint.analysis import interpreter

    through_norm = Options(through_norm=True)
    assert _codes(_CONV_NORM_ACT, through_norm) == []
    monkeypatch.setattr(interpreter, "MAX_CONTEXTS_TOTAL", 0)
    assert _codes(_CONV_NORM_ACT, through_norm) == []


def test_an_init_helper_over_a_list_of_our_modules_reaches_their_layers() -> None:
    """``_normal_init(blocks)`` over a local ModuleList of Block instances (before it is
    stored): the convs inside each Block get normal_(std=0.03), which the finding names."""
    source = """
        import torch.nn as nn


        class Block(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, c, 3)
                self.act = nn.ReLU()

            def forward(self, x):
                return self.act(self.conv(x))


        def _normal_init(module):
            for layer in module.modules():
                if isinstance(layer, nn.Conv2d):
                    nn.init.normal_(layer.weight, std=0.03)


        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                blocks = nn.ModuleList()
                for c in (8, 16):
                    blocks.append(Block(c))
                _normal_init(blocks)
                self.blocks = blocks

            def forward(self, x):
                for block in self.blocks:
                    x = block(x)
                return x
    """
    findings = lint_source(textwrap.dedent(source), "m.py")
    assert [(f.line, f.code) for f in findings] == [(8, "INI001")]
    assert "normal_(layer.weight, std=0.03)" in findings[0].message, findings[0].message


SCRIPT_INIT = """
    import torch.nn as nn

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(nn.Conv2d(3, 64, 4, 2, 1), nn.LeakyReLU(0.2))

        def forward(self, x):
            return self.main(x)

    def weights_init(m):
        if m.__class__.__name__.find("Conv") != -1:
            m.weight.data.normal_(0.0, 0.02)

    if __name__ == "__main__":
        net = Critic()
        {init}
"""


@pytest.mark.parametrize(
    ("init", "kept"),
    [
        ("net.apply(weights_init)", False),  # built in the branch: always initialised there
        ("for m in net.modules(): weights_init(m)", False),
        ("if args.init: net.apply(weights_init)", True),  # a further condition: maybe not
    ],
)
def test_an_init_in_the_branch_that_builds_the_model_is_not_conditional(
    init: str, kept: bool
) -> None:
    source = textwrap.dedent(SCRIPT_INIT).replace("{init}", init)
    findings = lint_source(source, "m.py")
    assert [(f.line, f.code) for f in findings] == [(7, "INI001")]
    assert "normal_(0.0, 0.02)" in findings[0].message
    assert ("or keeps PyTorch's default init" in findings[0].message) is kept


_BUILT_IN_A_METHOD = """
    import torch.nn as nn


    class Detector(nn.Module):
        @classmethod
        def from_config(cls, cfg):
            return {"head": Head(cfg.channels)}


    class Head(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.tower = nn.Sequential(nn.Conv2d(channels, channels, 3), nn.ReLU())
            self.score = nn.Conv2d(channels, 4, 3)
            for modules in [self.tower, self.score]:
                for layer in modules.modules():
                    if isinstance(layer, nn.Conv2d):
                        nn.init.normal_(layer.weight, mean=0, std=0.01)

        def forward(self, x):
            return self.score(self.tower(x))
"""


def test_a_model_built_in_another_classes_method_keeps_its_own_inits(tmp_path: Path) -> None:
    """What a method other than ``__init__``/``forward`` does to existing layers' inits is
    undone (it may never run before training), but a model it builds (``from_config``'s
    ``Head(cfg)``) keeps the inits of its own construction: the finding names the loop's
    N(0, 0.01), and no fix is offered before the loop that would overwrite it."""
    path = tmp_path / "heads.py"
    path.write_text(textwrap.dedent(_BUILT_IN_A_METHOD))
    [finding] = lint_paths([path])
    assert (finding.line, finding.code, finding.fix) == (14, "INI001", None)
    assert "normal_(layer.weight, mean=0, std=0.01)" in finding.message
