"""Autofix: fixes round-trip, keep everything else byte-for-byte, and mean what they say."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.analysis.interpreter import MAX_CONTEXTS_TOTAL
from init_lint.analysis.resolve import MAX_CONTEXTS
from init_lint.engine import Options, lint_paths, lint_sources
from init_lint.findings import Edit, Finding, Fix
from init_lint.fixer import fix_source, fix_until_stable, write_fixed

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("*.py"))


def fix_paths(paths: list[Path], options: Options | None = None) -> int:
    """What ``init-lint --fix`` does (the fixer's own loop), then write: the files changed."""
    sources = {str(p): p.read_bytes() for p in paths}
    run = fix_until_stable(
        sources,
        lambda sources: lint_sources(sources.items(), options),
    )
    assert not run.unstable
    for result in run.changed:
        write_fixed(result.path, sources[result.path], result.fixed)
    return len(run.changed)


def copy(paths: list[Path], target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(p, target / p.name)) for p in paths]


@pytest.mark.parametrize("source", EXAMPLES + FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fix_round_trip(source: Path, tmp_path: Path) -> None:
    (path,) = copy([source], tmp_path)
    fix_paths([path])
    remaining = lint_paths([path])
    leftovers = [f for f in remaining if f.fix is not None]
    assert not leftovers, [f"{f.line}: {f.code} {f.message}" for f in leftovers]
    before = path.read_bytes()
    assert fix_paths([path]) == 0, "a second --fix must change nothing"
    assert path.read_bytes() == before
    compile(before, str(path), "exec")


@pytest.mark.parametrize("source", EXAMPLES, ids=lambda p: p.name)
def test_fixed_examples_have_he_statistics_and_nothing_else_moved(
    source: Path, tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    (path,) = copy([source], tmp_path)
    fix_paths([path])
    original = load_module(source, f"fixed_{source.stem}_{abs(hash(source))}")
    fixed = load_module(path, f"fixed_{path.stem}_{abs(hash(path))}")
    torch.manual_seed(0)
    before = original.build()
    torch.manual_seed(0)
    after = fixed.build()
    example = torch.randn(*fixed.EXAMPLE_INPUT_SHAPE)
    with torch.no_grad():
        assert torch.isfinite(after(example)).all()
    report = verify(after, example, alpha=0.001)
    # The runtime also sees the input: a transposed conv on an input smaller than kernel/stride
    # (the DCGAN stem on a 1×1 z) has a forward fan that no static fix can know (INI007 there).
    unseen = {
        layer.name
        for layer in report.layers
        if layer.code == "INI007" and layer.geometry is not None and layer.geometry.input_limited
    }
    assert not [f for f in report.findings if f.evidence.module not in unseen], str(report)
    flagged_before = {
        f.message.split(" ")[0] for f in verify(before, example, alpha=0.001).findings
    }
    for (name, old), (_, new) in zip(
        before.named_parameters(), after.named_parameters(), strict=True
    ):
        if not name.endswith("weight") or old.dim() < 2 or name.rsplit(".", 1)[0] in flagged_before:
            continue
        # Layers nobody flagged keep their distribution: same std within sampling noise.
        assert abs(new.std().item() / old.std().item() - 1) < 0.2, name


def test_inserted_lines_match_indentation_and_keep_everything_else(tmp_path: Path) -> None:
    source = (
        "# header comment\r\n"
        "import torch.nn as nn\r\n"
        "import torch.nn.functional as F\r\n"
        "\r\n"
        "class Net(nn.Module):\r\n"
        "\tdef __init__(self):\r\n"
        "\t\tsuper().__init__()\r\n"
        "\t\tself.fc = nn.Linear(4, 4)  # keep this comment\r\n"
        "\r\n"
        "\tdef forward(self, x):\r\n"
        "\t\treturn F.relu(self.fc(x))  # 'quotes' stay\r\n"
    )
    path = tmp_path / "crlf.py"
    path.write_bytes(source.encode())
    fix_paths([path])
    fixed = path.read_bytes().decode()
    inserted = '\t\tnn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")\r\n'
    assert fixed == source.replace("# keep this comment\r\n", "# keep this comment\r\n" + inserted)


def test_encoding_and_bom_are_preserved(tmp_path: Path) -> None:
    source = (
        "# -*- coding: latin-1 -*-\n"
        "import torch.nn as nn\n"
        "import torch.nn.functional as F\n"
        "class Net(nn.Module):  # caf\xe9\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "    def forward(self, x):\n"
        "        return F.relu(self.fc(x))"  # no final newline
    )
    path = tmp_path / "latin.py"
    path.write_bytes(source.encode("latin-1"))
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + source.replace("# -*- coding: latin-1 -*-\n", "").encode())
    fix_paths([path, bom])
    assert path.read_bytes().decode("latin-1").startswith(source.split("        self.fc")[0])
    assert "caf\xe9" in path.read_bytes().decode("latin-1")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    assert lint_paths([path, bom]) == []


def test_missing_init_import_is_added(tmp_path: Path) -> None:
    path = tmp_path / "bare.py"
    path.write_text(
        "from torch.nn import Linear, Module, ReLU\n\n"
        "class Net(Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = Linear(4, 4)\n"
        "        self.act = ReLU()\n\n"
        "    def forward(self, x):\n"
        "        return self.act(self.fc(x))\n"
    )
    fix_paths([path])
    text = path.read_text()
    assert "from torch.nn import Linear, Module, ReLU, init" in text  # where isort puts it
    assert 'init.kaiming_normal_(self.fc.weight, nonlinearity="relu")' in text
    assert lint_paths([path]) == []


def test_options_choose_mode_distribution_and_zero_bias(tmp_path: Path) -> None:
    (path,) = copy([ROOT / "examples" / "mlp_default_init.py"], tmp_path)
    fix_paths([path], Options(mode="fan_out", distribution="uniform", zero_bias=True))
    text = path.read_text()
    assert 'nn.init.kaiming_uniform_(self.fc1.weight, mode="fan_out", nonlinearity="relu")' in text
    assert (
        "        if self.fc1.bias is not None:\n            nn.init.zeros_(self.fc1.bias)\n" in text
    )
    compile(text, str(path), "exec")


def test_a_fix_that_would_not_parse_is_refused(tmp_path: Path) -> None:
    source = b"x = 1\n"
    bad = Finding("f.py", 1, 1, "INI001", "m", fix=Fix("break it", (Edit(1, 1, 1, 2, "def ("),)))
    result = fix_source("f.py", source, [bad])
    assert not result.changed and result.error and result.fixed == source


def test_overlapping_edits_are_held_back_for_the_next_round() -> None:
    source = b"abcdef\n"
    first = Finding("f.py", 1, 1, "INI001", "a", fix=Fix("a", (Edit(1, 1, 1, 4, "x"),)))
    second = Finding("f.py", 1, 2, "INI001", "b", fix=Fix("b", (Edit(1, 2, 1, 5, "y"),)))
    result = fix_source("f.py", source, [first, second])
    assert result.fixed == b"xdef\n" and result.skipped == [second]


def test_atomic_write_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    os.chmod(path, 0o640)
    write_fixed(str(path), b"x = 1\n", b"x = 2\n")
    assert path.read_bytes() == b"x = 2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


SHARED_BLOCK = """import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, width, bias=True):
        super().__init__()
        self.fc = nn.Linear(width, width, bias=bias)

    def forward(self, x):
        return torch.relu(self.fc(x))


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block(16)

    def forward(self, x):
        return self.block(x)


class Big(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block(64, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, x):
        return self.block(x)
"""


def test_a_site_built_in_contexts_that_init_it_in_different_places_gets_no_fix() -> None:
    """Block.fc keeps the default init when Small builds it, and gets Big's normal_(0, 0.02)
    when Big builds it (with other arguments, so another variant of the class): a call inserted
    after the layer would be overwritten in Big, so no autofix is offered, and --fix changes
    nothing."""
    [finding] = lint_sources([("model.py", SHARED_BLOCK)])
    assert (finding.code, finding.line) == ("INI001", 8)
    assert finding.fix is None
    assert "no autofix: its contexts initialise it in different places" in finding.message
    assert fix_source("model.py", SHARED_BLOCK.encode(), [finding]).fixed == SHARED_BLOCK.encode()


CHAINED_MODELS = """
import torch.nn as nn


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 0.02)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(40, 32)
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        return self.out(nn.functional.relu(self.hidden(x)))
"""


@pytest.mark.parametrize(
    ("statement", "fixed_line"),
    [
        ("model = Net().to(device).apply(weights_init).train()", "model.hidden"),
        ("model: nn.Module = Net().apply(weights_init)", "model.hidden"),
        ("state = Net().apply(weights_init).state_dict()", None),  # the module has no name
    ],
)
def test_an_apply_chained_on_the_constructor_is_fixed_after_it_on_the_bound_name(
    statement: str, fixed_line: str | None
) -> None:
    """apply, .to() and .train() return the module: the statement's target names it, and the
    call after the statement is the last init (one in __init__ would be overwritten)."""
    train = (
        'import torch.nn as nn\nfrom models import Net, weights_init\n\ndevice = "cpu"\n'
        f"{statement}\n"
    )
    findings = lint_sources([("models.py", CHAINED_MODELS), ("train.py", train)])
    [finding] = [f for f in findings if f.code == "INI001"]
    assert (finding.path, finding.line) == ("models.py", 13)
    assert "normal_(m.weight, 0.0, 0.02)" in finding.message
    if fixed_line is None:
        assert finding.fix is None
        return
    assert finding.fix is not None and finding.fix.path == "train.py"
    fixed = fix_source("train.py", train.encode(), [finding]).fixed.decode()
    assert fixed.endswith(
        f'{statement}\nnn.init.kaiming_normal_({fixed_line}.weight, nonlinearity="relu")\n'
    )


def _init_styles_finding(layer: str) -> Finding:
    """The one finding of tests/fixtures/init_styles.py about ``layer`` ("'self.fc' (Linear)")."""
    path = ROOT / "tests" / "fixtures" / "init_styles.py"
    [finding] = [f for f in lint_paths([path]) if f.message.startswith(layer)]
    return finding


def test_an_init_rescaled_after_its_call_gets_no_autofix() -> None:
    """Rewriting the call, or a call right after it, would still be scaled ×0.1 by the next
    line (and --fix would claim a fix that changes nothing): no autofix, and the reason."""
    finding = _init_styles_finding("'self.branch' (Conv2d)")
    assert finding.code == "INI001" and "then ×0.1" in finding.message
    assert finding.fix is None
    assert "no autofix: the init is rescaled ×0.1 after its call" in finding.message


def test_fixes_that_never_settle_are_reported_by_file_not_dropped() -> None:
    """The fix-until-stable loop is only a guard: a lint whose fix changes the file on every
    round (as an oscillating fix would) ends with that file listed as unstable, which the CLI
    reports as an error naming it; nothing is silently kept or lost."""

    def restless(sources: dict[str, bytes]) -> list[Finding]:
        lines = sources["model.py"].count(b"\n")
        edit = Edit(1, 1, 1, 1, f"x{lines} = {lines}\n")
        message = f"'x{lines}' (Linear) feeds ReLU"  # a new finding each round
        return [Finding("model.py", 1, 1, "INI001", message, fix=Fix("append", (edit,)))]

    run = fix_until_stable({"model.py": b"x = 0\n"}, restless, max_rounds=3)
    assert run.unstable == ["model.py"]
    [result] = run.changed
    assert result.original == b"x = 0\n" and result.fixed.count(b"\n") == 4


def test_a_fix_that_does_not_remove_its_finding_is_undone_not_repeated() -> None:
    """A fix the analysis took for effective but that leaves its finding (an init after it
    overwrites it) would be inserted again each round: the file goes back to its original
    bytes, named as not fixed; other files keep their fixes. Fixes held back one round (same
    finding text, another layer) are no such case."""

    def lint(sources: dict[str, bytes]) -> list[Finding]:
        insert = Fix("insert", (Edit(2, 1, 2, 1, "fix()\n"),))
        found = [Finding("stuck.py", 1, 1, "INI001", "'fc' (Linear) feeds ReLU (line 1)", fix=insert)]
        for k in (1, 2):  # two layers of the same name, each with its own fix
            if f"fix{k}()".encode() not in sources["two.py"]:
                own = Fix("insert", (Edit(k + 1, 1, k + 1, 1, f"fix{k}()\n"),))
                found.append(Finding("two.py", k, 1, "INI001", "'fc' (Linear) feeds ReLU", fix=own))
        return found

    sources = {"stuck.py": b"a = 1\nb = 2\n", "two.py": b"a = 1\nb = 2\n"}
    run = fix_until_stable(sources, lint)
    assert run.ineffective == ["stuck.py"] and run.unstable == []
    assert "stuck.py" not in run.results
    assert run.results["two.py"].fixed == b"a = 1\nfix1()\nb = 2\nfix2()\n"


def test_an_init_of_one_element_of_a_comprehension_is_not_rewritten_for_the_others() -> None:
    """linears[0] keeps the default before a ReLU; linears[-1] is deliberately near zero. One
    instance stands for both: the finding says both inits, and the uniform_ call (which only
    the last layer gets) is never rewritten into a Kaiming call."""
    finding = _init_styles_finding("'self.linears[...]' (Linear)")
    assert finding.code == "INI001"
    assert "or keeps PyTorch's default init" in finding.message
    assert finding.fix is None


def test_no_fix_for_a_layer_that_another_context_resets_after_building_it() -> None:
    """ResetStack builds ResetBlock with the default init: a finding. ResetPool resets the same
    layer through ResetBlock.reset_parameters() after building it, so a call after the
    construction would be undone there (PyG's PoolingByMultiheadAttention): no autofix, and
    the reason."""
    finding = _init_styles_finding("'self.lin' (Linear)")
    assert finding.code == "INI001"
    assert finding.fix is None
    assert "another context initialises it again after building it" in finding.message


HELPER_INIT = """\
import math

import torch.nn as nn


def ortho_layer(layer, gain=math.sqrt(2)):
    nn.init.orthogonal_(layer.weight, gain)
    return layer


def small_init(fc):
    nn.init.normal_(fc.weight, 0.0, 0.01)


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            ortho_layer(nn.Linear(256, 256)),
            nn.ReLU(),
            ortho_layer(nn.Linear(256, 256), gain=0.01),
            nn.ReLU(),
            ortho_layer(nn.Linear(256, 256), gain=1.0),
        )
        self.head = nn.Linear(256, 256)
        small_init(self.head)

    def forward(self, x):
        return self.body(x) + self.head(x).relu()
"""


def test_a_fix_for_a_layer_initialised_by_a_helper_goes_after_the_callers_statement(
    tmp_path: Path,
) -> None:
    """The init runs inside ortho_layer(), where ``self`` does not exist: the call that
    fixes the one layer it initialises wrongly (its other layers are right) goes after the
    statement of the caller that handed it over, never into the helper; small_init()'s
    call, whose one layer wants He init, is rewritten in place. A second run changes
    nothing."""
    torch = pytest.importorskip("torch")
    path = tmp_path / "policy.py"
    path.write_text(HELPER_INIT)
    assert [(f.line, f.code) for f in lint_paths([path])] == [(21, "INI001"), (25, "INI001")]
    fix_paths([path])
    fixed = path.read_text()
    helpers, model = fixed.split("class Policy")
    assert "self" not in helpers and "orthogonal_(layer.weight, gain)" in helpers
    assert "self.head = nn.Linear(256, 256)\n        small_init(self.head)\n" in model
    assert ')\n        nn.init.kaiming_normal_(self.body[2].weight, nonlinearity="relu")\n' in model
    assert lint_paths([path]) == []
    assert fix_paths([path]) == 0
    torch.manual_seed(0)
    policy = load_module(path, "fixed_policy").Policy()
    for layer in (policy.body[0], policy.body[2], policy.head):  # He: std·√fan_in = √2
        weight = layer.weight.detach()
        assert float(weight.std()) * weight.shape[1] ** 0.5 == pytest.approx(2**0.5, rel=0.1)


SHARED_INIT = """\
import torch.nn as nn


def init_net(net, gain=0.02):
    def init_func(m):
        if m.__class__.__name__.find("Conv") != -1:
            nn.init.normal_(m.weight, 0.0, gain)

    net.apply(init_func)
    return net


class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(64, 64, 3), nn.ReLU())

    def forward(self, x):
        return self.model(x)


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(64, 64, 3), nn.LeakyReLU(0.2))

    def forward(self, x):
        return self.model(x)


def build():
    g = G()
    init_net(g)
    return g, init_net(D())
"""


def test_a_shared_init_helper_gets_no_call_naming_one_callers_module(tmp_path: Path) -> None:
    """init_net()'s nested function reads its maker's ``gain`` (N(0, 0.02): both convs are
    reported). G's is fixed after ``init_net(g)``, where ``g`` names it; D's, handed over as an
    expression, gets no autofix: a call in init_net would name a module its other callers do
    not have."""
    torch = pytest.importorskip("torch")
    path = tmp_path / "gan.py"
    path.write_text(SHARED_INIT)
    found = {(f.line, f.code, f.fix is not None) for f in lint_paths([path])}
    assert found == {(16, "INI001", True), (25, "INI001", False)}
    fix_paths([path])
    fixed = path.read_text()
    assert fixed.split("class G")[0] == SHARED_INIT.split("class G")[0]  # the helper as it was
    assert (
        '    init_net(g)\n    nn.init.kaiming_normal_(g.model[0].weight, nonlinearity="relu")\n'
        in fixed
    )
    assert fix_paths([path]) == 0
    torch.manual_seed(0)
    g, d = load_module(path, "fixed_gan").build()
    for layer, gain in ((g.model[0], 2**0.5), (d.model[0], 0.02 * (64 * 9) ** 0.5)):
        weight = layer.weight.detach()
        assert float(weight.std()) * weight[0].numel() ** 0.5 == pytest.approx(gain, rel=0.1)


def _built_by_holders(count: int, tag: bool) -> str:
    """A module with a Block (a Linear before a ReLU) and ``count`` classes that build it, with
    the same arguments or (``tag``) each with its own."""

    def arguments(index: int) -> str:
        return f"tag='t{index}'" if tag else ""

    holders = "\n".join(
        f"class Holder{i}(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        f"        self.block = Block({arguments(i)})\n\n"
        "    def forward(self, x):\n"
        "        return self.block(x)\n"
        for i in range(count)
    )
    block = (
        "class Block(nn.Module):\n"
        "    def __init__(self, tag=None):\n"
        "        super().__init__()\n"
        "        self.tag = tag\n"
        "        self.net = nn.Sequential(nn.Linear(8, 8), nn.ReLU())\n\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )
    return f"import torch.nn as nn\n\n\n{block}\n\n{holders}\n"


def test_a_site_in_more_contexts_than_are_walked_gets_no_fix() -> None:
    """One edit must hold in every context of a site; when there are more contexts than the
    analysis walks, the ones left out may initialise it again: no autofix (the finding stays,
    true in the contexts walked)."""
    [finding] = lint_sources([("m.py", _built_by_holders(MAX_CONTEXTS + 8, tag=False))])
    assert finding.code == "INI001" and finding.fix is None, finding
    assert f"built in more than {MAX_CONTEXTS} contexts" in finding.message
    [fixable] = lint_sources([("m.py", _built_by_holders(3, tag=False))])
    assert fixable.fix is not None, fixable


def test_a_site_in_a_class_with_contexts_not_run_gets_no_fix() -> None:
    """A class built with more distinct arguments than the analysis runs it with
    (MAX_CONTEXTS_TOTAL) has contexts nobody looked into: one of them may initialise the layer
    again, so no edit is offered (measured on timm: a fix in Mlp that 30 layers of models in
    contexts not run overwrote)."""
    [finding] = lint_sources([("m.py", _built_by_holders(MAX_CONTEXTS_TOTAL + 8, tag=True))])
    assert finding.code == "INI001" and finding.fix is None, finding
    assert "some contexts of its class are not analysed" in finding.message
    [fixable] = lint_sources([("m.py", _built_by_holders(40, tag=True))])
    assert fixable.fix is not None, fixable


TENSOR_METHOD_INIT = """import torch.nn as nn


def weights_init(module):
    if isinstance(module, nn.Linear):
        module.weight.data.normal_(mean=0.0, std=0.02)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(512, 512)
        self.apply(weights_init)

    def forward(self, x):
        return nn.functional.relu(self.hidden(x))
"""


def test_a_tensor_method_init_is_rewritten_as_inits_function(tmp_path: Path) -> None:
    """``module.weight.data.normal_(...)``: a tensor's method, whatever its receiver is
    called, is replaced by ``nn.init.kaiming_normal_(module.weight.data, ...)`` (a tensor has
    no ``kaiming_normal_`` method); real torch then draws He-scaled weights."""
    torch = pytest.importorskip("torch")
    path = tmp_path / "net.py"
    path.write_text(TENSOR_METHOD_INIT)
    assert fix_paths([path]) == 1
    fixed = path.read_text()
    assert 'nn.init.kaiming_normal_(module.weight.data, nonlinearity="relu")' in fixed
    assert lint_paths([path]) == [] and fix_paths([path]) == 0
    torch.manual_seed(0)
    weight = load_module(path).Net().hidden.weight
    assert abs(weight.std().item() * 512**0.5 - 2**0.5) < 0.05


LAYER_INIT_HELPER = """import numpy as np
import torch.nn as nn


def layer_init(layer, std=np.sqrt(2)):
    nn.init.orthogonal_(layer.weight, std)
    return layer


class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(layer_init(nn.Linear(64, 512)), nn.ReLU())
        self.extra = nn.Sequential(layer_init(nn.Linear(512, 512), std=0.1), nn.ReLU())
        self.head = layer_init(nn.Linear(512, 4), std=0.01)

    def forward(self, x):
        return self.head(self.extra(self.trunk(x)))
"""


def test_a_fix_for_a_layer_a_shared_helper_initialised_goes_after_that_layer(
    tmp_path: Path,
) -> None:
    """``layer_init`` runs for three attributes: the fix for the one it scales wrongly goes
    after that attribute's statement (before, the layer does not exist yet), not after the
    first statement that called the helper; real torch builds the fixed model with He weights
    there and the helper's own scales elsewhere."""
    torch = pytest.importorskip("torch")
    path = tmp_path / "agent.py"
    path.write_text(LAYER_INIT_HELPER)
    assert [(f.line, f.code) for f in lint_paths([path])] == [(14, "INI001")]
    fix_paths([path])
    assert '.ReLU())\n        nn.init.kaiming_normal_(self.extra[0].weight, nonlinearity="relu")\n' in (
        path.read_text()
    )
    assert lint_paths([path]) == [] and fix_paths([path]) == 0
    torch.manual_seed(0)
    agent = load_module(path).Agent()
    assert abs(agent.extra[0].weight.std().item() * 512**0.5 - 2**0.5) < 0.05
    assert abs(agent.head.weight.std().item() * 512**0.5 - 0.01) < 0.005


REWRAPPED = """import torch.nn as nn


class Critic(nn.Module):
    def __init__(self, wasserstein=False):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))
        if not wasserstein:
            self.model = nn.Sequential(self.model, nn.Sigmoid())

    def forward(self, x):
        return self.model(x)
"""


def test_a_layer_whose_container_is_wrapped_again_is_not_fixed_by_its_old_name(
    tmp_path: Path,
) -> None:
    """After ``self.model = nn.Sequential(self.model, nn.Sigmoid())`` the Linear is
    ``self.model[0][0]``, and ``self.model[0]`` is a Sequential with no weight (real torch):
    the finding stays, without a fix that names it by the path it had."""
    torch = pytest.importorskip("torch")
    path = tmp_path / "critic.py"
    path.write_text(REWRAPPED)
    [finding] = lint_paths([path])
    assert finding.code == "INI001" and finding.fix is None
    assert "'self.model[...]'" in finding.message
    assert fix_paths([path]) == 0
    model = load_module(path).Critic()
    assert isinstance(model.model[0], torch.nn.Sequential) and not hasattr(model.model[0], "weight")
