"""Settings classes (fixture settings_classes.py): an object whose ``__init__`` only stores what
it is given on ``self`` is a config record, copied by ``copy.copy`` and changed by attribute
assignment; a class with a method that can change it later is not. Checked statically and,
with real torch, against the runtime verifier, before and after ``--fix``."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from module_helpers import load_module

from init_lint.cli import main
from init_lint.engine import Options, lint_paths, lint_source

FIXTURE = Path(__file__).parent / "fixtures" / "settings_classes.py"


def _runtime_codes(path: Path) -> dict[str, dict[str, str | None]]:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    module = load_module(path)
    codes = {}
    for name in ("Net", "TanhNet", "OptionNet", "SpecNet"):
        torch.manual_seed(0)
        report = verify(getattr(module, name)(), torch.randn(512, 64))
        codes[name] = {layer.name: layer.code for layer in report.layers}
    return codes


def test_the_settings_a_module_is_built_with_decide_its_finding() -> None:
    findings = lint_paths([FIXTURE], Options())
    assert [(f.line, f.code) for f in findings] == [(41, "INI001"), (122, "INI001")]
    assert "StageSettings(width=?, act='relu', slope=0.2)" in findings[0].message


def test_the_runtime_verifier_agrees_and_the_fix_makes_the_layers_he(tmp_path: Path) -> None:
    assert _runtime_codes(FIXTURE) == {
        "Net": {"stages.0.fc": "INI001", "stages.1.fc": "INI001"},
        "TanhNet": {"stage.fc": None},
        "OptionNet": {"stage.fc": None},
        "SpecNet": {"blocks.0.fc": "INI001", "blocks.1.fc": "INI001"},
    }
    fixed = Path(shutil.copy(FIXTURE, tmp_path / "settings_classes.py"))
    assert main(["--quiet", "--no-cache", "--fix", str(fixed)]) in (0, 1)
    after = _runtime_codes(fixed)
    assert after["Net"] == {"stages.0.fc": None, "stages.1.fc": None}
    assert after["SpecNet"] == {"blocks.0.fc": None, "blocks.1.fc": None}
    text = fixed.read_text()
    assert main(["--quiet", "--no-cache", "--fix", str(fixed)]) == 0
    assert fixed.read_text() == text


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("def __init__(self, act='relu'):\n        self.act = act", ["INI001"]),
        ("def __init__(self, act='tanh'):\n        self.act = act", []),
        # read-only views and checks keep it a settings class
        (
            "def __init__(self, act='relu'):\n        assert act\n        self.act = act\n"
            "    @property\n    def name(self):\n        return self.act",
            ["INI001"],
        ),
        # not one: a method may change what __init__ stored, or __init__ does more than store
        (
            "def __init__(self, act='relu'):\n        self.act = act\n"
            "    def set(self, act):\n        self.act = act",
            [],
        ),
        ("def __init__(self, act='relu'):\n        self.act = act\n        register(self)", []),
        ("def __init__(self, act='relu'):\n        self.act = act\n        self.net = Net()", []),
    ],
)
def test_what_makes_a_settings_class(settings: str, expected: list[str]) -> None:
    source = textwrap.dedent(
        """\
        import torch.nn as nn


        class Settings:
            {settings}


        def act_of(s):
            return nn.ReLU() if s.act == "relu" else nn.Tanh()


        class Net(nn.Module):
            def __init__(self, settings=Settings()):
                super().__init__()
                s = settings
                self.fc = nn.Linear(8, 8)
                self.act = act_of(s)

            def forward(self, x):
                return self.act(self.fc(x))
        """
    ).replace("{settings}", settings)
    layer = 1 + next(i for i, line in enumerate(source.splitlines()) if "nn.Linear" in line)
    findings = lint_source(source, "net.py", Options())
    assert [(f.line, f.code) for f in findings] == [(layer, code) for code in expected], source


def test_a_module_level_settings_object_is_a_constant() -> None:
    source = textwrap.dedent(
        """\
        import torch.nn as nn


        class Settings:
            def __init__(self, act):
                self.act = act


        RELU = Settings("relu")


        class Net(nn.Module):
            def __init__(self, settings=RELU):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                self.act = nn.ReLU() if settings.act == "relu" else nn.Tanh()

            def forward(self, x):
                return self.act(self.fc(x))
        """
    )
    assert [(f.line, f.code) for f in lint_source(source, "net.py", Options())] == [(15, "INI001")]
