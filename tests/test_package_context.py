"""A file named alone (pre-commit on a one-file commit, flake8, an editor) is judged as in a run
over its whole package: the rest of the package is read for resolution, only the named files
are reported and written."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run, text_findings, write

from init_lint.engine import Options
from init_lint.parallel import analyze_all

BLOCK = """\
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))
"""

NET = """\
import torch.nn as nn

from ..layers.blocks import Block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block(8)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.{init}
"""
HE = NET.format(init='kaiming_normal_(m.weight, nonlinearity="relu")')
XAVIER = NET.format(init="xavier_normal_(m.weight)")


def _package(root: Path, net: str) -> Path:
    """pkg/layers/blocks.py holds Block; pkg/models/net.py builds it and inits every Linear."""
    for name in ("pkg/__init__.py", "pkg/layers/__init__.py", "pkg/models/__init__.py"):
        write(root, name, "")
    write(root, "pkg/layers/blocks.py", BLOCK)
    write(root, "pkg/models/net.py", net)
    return root


def _findings(tool: str, cwd: Path, *args: str) -> set[tuple[str, int, str]]:
    result = run(tool, *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return {(path, line, code) for path, line, _, code, _ in text_findings(result.stdout)}


BLOCKS = "pkg/layers/blocks.py"


@pytest.mark.parametrize(("net", "expected"), [(HE, set()), (XAVIER, {(BLOCKS, 7, "INI001")})])
def test_a_named_file_gets_the_findings_of_the_whole_package_run(
    tmp_path: Path, net: str, expected: set[tuple[str, int, str]]
) -> None:
    """net.py's init loop sets Block's layer: with Kaiming the block is right, with Xavier it
    is wrong, whether the run names the package, the file, its directory, or goes through
    flake8 (one file at a time, package or file named, one or two processes)."""
    _package(tmp_path, net)
    whole = _findings("init-lint", tmp_path, "pkg")
    assert {f for f in whole if f[0] == BLOCKS} == expected
    assert _findings("init-lint", tmp_path, BLOCKS) == expected
    assert _findings("init-lint", tmp_path, "pkg/layers") == expected
    for jobs in ("1", "2"):
        assert _findings("flake8", tmp_path, "--select", "INI", "-j", jobs, "pkg") == whole
        assert _findings("flake8", tmp_path, "--select", "INI", "-j", jobs, BLOCKS) == expected
    # The other files' findings are not reported when they are not named.
    assert {f for f in _findings("init-lint", tmp_path, "pkg/models/net.py")} == {
        f for f in whole if f[0] == "pkg/models/net.py"
    }


GENERATOR = (
        "import torch.nn as nn\n\n\n"
        "class Generator(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))\n\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
)
#: A script (no package) that builds the Generator of the models.py beside it and inits it.
TRAIN_WITH_INIT_LOOP = (
        "import torch.nn as nn\n\nfrom models import *\n\n\n"
        "def weights_init(m):\n"
        "    if isinstance(m, nn.Linear):\n"
        "        nn.init.normal_(m.weight, 0.0, 0.02)\n\n\n"
        "net = Generator()\n"
        "net.apply(weights_init)\n"
)


def test_a_script_is_judged_with_the_files_beside_it(tmp_path: Path) -> None:
    """train.py (no package) imports models.py and applies weights_init to its net: models.py
    named alone sees that apply, as a run over the directory does."""
    write(tmp_path, "models.py", GENERATOR)
    write(tmp_path, "train.py", TRAIN_WITH_INIT_LOOP)
    whole = run("init-lint", ".", cwd=tmp_path)
    alone = run("init-lint", "models.py", cwd=tmp_path)
    assert text_findings(alone.stdout) == text_findings(whole.stdout)
    [(path, line, _, code, message)] = text_findings(alone.stdout)
    assert (path, line, code) == ("models.py", 7, "INI001")
    assert "normal_" in message and "train.py" in message  # the apply, not PyTorch's default


def test_fix_on_a_named_file_writes_only_that_file(tmp_path: Path) -> None:
    """The fix of Block's finding belongs in net.py's loop: with only blocks.py named it is
    neither offered nor written; with the package named it is applied there."""
    _package(tmp_path, XAVIER)
    net = tmp_path / "pkg/models/net.py"
    result = run("init-lint", "--fix", BLOCKS, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[*]" not in result.stdout and "Fixed 0 finding(s)" in result.stdout
    assert net.read_text() == XAVIER and (tmp_path / BLOCKS).read_text() == BLOCK
    result = run("init-lint", "--fix", "pkg", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kaiming_normal_(m.weight" in net.read_text()
    assert run("init-lint", BLOCKS, cwd=tmp_path).returncode == 0


def test_a_shuffled_analysis_order_gives_the_same_results(tmp_path: Path) -> None:
    """flake8's processes analyse a package in orders of their own and share the cache: the
    order and a cache filled by another process in between change no result."""
    _package(tmp_path, XAVIER)
    sources = [(str(p), p.read_bytes()) for p in sorted(tmp_path.rglob("*.py"))]
    plain = analyze_all(sources, Options())
    cache = tmp_path / "cache"
    for seed in ("a", "b"):  # the first fills the cache, the second reads it back
        assert analyze_all(sources, Options(), cache_dir=cache, order_seed=seed) == plain


def test_flake8_on_an_editors_buffer_judges_the_buffer_with_the_package(tmp_path: Path) -> None:
    """An editor pipes its unsaved buffer with --stdin-display-name: the text piped is judged
    (with the rest of the package from disk), not the file as saved."""
    _package(tmp_path, HE)
    buffer = BLOCK.replace("self.act = nn.ReLU()", "self.act = nn.Tanh()")
    assert _findings("flake8", tmp_path, "--select", "INI", BLOCKS) == set()
    result = run(
        "flake8", "--select", "INI", "--stdin-display-name", BLOCKS, "-",
        cwd=tmp_path, stdin=buffer,
    )  # fmt: skip
    found = {(path, line, code) for path, line, _, code, _ in text_findings(result.stdout)}
    assert found == {(BLOCKS, 7, "INI002")}, result.stdout + result.stderr


def test_scripts_of_two_directories_import_their_own_models(tmp_path: Path) -> None:
    """Two directories, each a ``models.py`` and a ``train.py`` (no package): each script
    imports the ``models`` beside it, so the whole tree gets the findings each directory gets
    alone; one's init loop is no init of the other's layers."""
    for directory in ("gan", "vae"):
        write(tmp_path, f"{directory}/models.py", GENERATOR)
    write(tmp_path, "gan/train.py", TRAIN_WITH_INIT_LOOP)
    write(tmp_path, "vae/train.py", "from models import Generator\n\nnet = Generator()\n")
    whole = text_findings(run("init-lint", ".", cwd=tmp_path).stdout)
    alone = {
        (f"{directory}/{path}", *rest)
        for directory in ("gan", "vae")
        for path, *rest in text_findings(run("init-lint", ".", cwd=tmp_path / directory).stdout)
    }
    assert whole == alone
    [(gan, _, _, _, normal), (vae, _, _, _, default)] = sorted(whole)
    assert gan == "gan/models.py" and "normal_" in normal and "train.py" in normal
    assert vae == "vae/models.py" and "default init" in default


def test_only_clashing_top_level_names_are_renamed(tmp_path: Path) -> None:
    """A name found under two roots gets a suffix per root, for every module under it (a
    package's too); the other names, and a run with no clash, are left as they are."""
    from init_lint.engine import module_name_for
    from init_lint.module_identity import separate

    for file in ("a/models.py", "a/train.py", "b/models.py", "b/pkg/__init__.py", "b/pkg/m.py"):
        write(tmp_path, file, "")
    write(tmp_path, "c/pkg/__init__.py", "")
    paths = [str(p) for p in sorted(tmp_path.rglob("*.py"))]
    names = [module_name_for(p) for p in paths]
    assert names == ["models", "train", "models", "pkg", "pkg.m", "pkg"]
    new, renamed = separate(paths, names)
    assert new[1] == "train" and new[0] != new[2] and new[3] != new[5]
    assert new[0].startswith("models__") and new[4] == f"{new[3]}.m"
    assert renamed[0] == renamed[1] and renamed[0] is not None
    assert dict(renamed[2].pairs) == {"models": new[2], "pkg": new[3]}  # type: ignore[union-attr]
    assert separate(paths[:2], names[:2]) == (names[:2], [None, None])
