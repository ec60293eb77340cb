"""The analysis cache: reused when nothing changed, ignored when it cannot be trusted, and never
a reason for a finding to differ from an uncached run (cross-file facts included)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from cli_helpers import run, text_findings

from init_lint import parallel
from init_lint.cache import FORMAT, MISS, Cache
from init_lint.engine import Options, lint_paths

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "examples").glob("*.py"))

BLOCK = (
    "import torch.nn as nn\n\n\n"
    "class Block(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.fc = nn.Linear(8, 8)\n\n"
    "    def forward(self, x):\n"
    "        return self.fc(x).relu()\n"
)
NET = (
    "import torch.nn as nn\n\n"
    "from .block import Block\n\n\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.block = Block()\n"
    "        for m in self.modules():\n"
    "            if isinstance(m, nn.Linear):\n"
    "                nn.init.{init}(m.weight{args})\n"
)
HE = NET.format(init="kaiming_normal_", args=", nonlinearity='relu'")
XAVIER = NET.format(init="xavier_normal_", args="")


def _package(root: Path, net: str) -> list[Path]:
    package = root / "pkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "block.py").write_text(BLOCK)
    (package / "net.py").write_text(net)
    return sorted(package.glob("*.py"))


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / f"v{FORMAT}").rglob("*") if p.is_file())


def _forbid_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached file was analysed again")

    monkeypatch.setattr(parallel, "analyze_source", fail)


def test_warm_run_reads_every_file_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    cold = lint_paths(EXAMPLES, cache_dir=cache_dir)
    assert cold == lint_paths(EXAMPLES) and cold
    assert len(_entries(cache_dir)) == len(EXAMPLES)
    _forbid_analysis(monkeypatch)
    warm = lint_paths(EXAMPLES, cache_dir=cache_dir)
    assert warm == cold
    assert [f.fix for f in warm] == [f.fix for f in cold]  # fixes survive the round trip


def test_a_change_in_one_file_updates_the_findings_of_the_file_that_depends_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    files = _package(tmp_path, HE)
    assert lint_paths(files, cache_dir=cache_dir) == []  # Net's modules() loop fixes Block
    (tmp_path / "pkg" / "net.py").write_text(XAVIER)
    with monkeypatch.context() as patch:
        analysed: list[str] = []
        real = parallel.analyze_source
        patch.setattr(
            parallel,
            "analyze_source",
            lambda path, *rest: analysed.append(path) or real(path, *rest),
        )
        findings = lint_paths(files, cache_dir=cache_dir)
    assert analysed == [str(tmp_path / "pkg" / "net.py")]  # block.py came from the cache
    assert [(Path(f.path).name, f.code) for f in findings] == [("block.py", "INI001")]
    assert findings == lint_paths(files)


def test_other_options_do_not_reuse_entries(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    lint_paths(EXAMPLES, cache_dir=cache_dir)
    lint_paths(EXAMPLES, Options(through_norm=True), cache_dir=cache_dir)
    assert len(_entries(cache_dir)) == 2 * len(EXAMPLES)


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not a pickle",
        pickle.dumps((FORMAT, "another key", None))[:-3],
        pickle.dumps("a string"),
        pickle.dumps((FORMAT + 1, "KEY", None)),
        pickle.dumps((FORMAT, "KEY", ["not", "facts"])),
        pickle.dumps((FORMAT, "another key", None)),
    ],
    ids=[
        "empty",
        "garbage",
        "truncated",
        "wrong-type",
        "other-format",
        "wrong-result",
        "wrong-key",
    ],
)
def test_a_damaged_cache_is_ignored_and_rebuilt(tmp_path: Path, damage: bytes) -> None:
    cache_dir = tmp_path / "cache"
    expected = lint_paths(EXAMPLES, cache_dir=cache_dir)
    for entry in _entries(cache_dir):
        entry.write_bytes(damage.replace(b"KEY", entry.name.encode()))
    assert lint_paths(EXAMPLES, cache_dir=cache_dir) == expected
    for entry in _entries(cache_dir):  # rewritten with real results
        version, key, result = pickle.loads(entry.read_bytes())
        assert (version, key) == (FORMAT, entry.name) and result is not None


def test_an_entry_stored_for_another_path_is_not_trusted(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", Options())
    [example] = [p for p in EXAMPLES if p.name == "dcgan.py"]
    findings = lint_paths([example])
    key = cache.key("elsewhere.py", "elsewhere", example.read_bytes())
    cache.store(key, findings[0])
    assert cache.load(key, "elsewhere.py") is MISS


def test_an_unwritable_cache_directory_does_not_stop_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory would go")
    assert lint_paths(EXAMPLES, cache_dir=blocker) == lint_paths(EXAMPLES)


def test_cli_caches_in_the_project_root_unless_told_otherwise(tmp_path: Path) -> None:
    _package(tmp_path, XAVIER)
    (tmp_path / "pyproject.toml").write_text("[tool.init-lint]\n")
    first = run("init-lint", "pkg", cwd=tmp_path)
    assert (tmp_path / ".init_lint_cache" / ".gitignore").read_text().endswith("*\n")
    assert _entries(tmp_path / ".init_lint_cache")
    second = run("init-lint", "pkg", cwd=tmp_path)
    assert text_findings(second.stdout) == text_findings(first.stdout) != []

    elsewhere = tmp_path / "elsewhere"
    run("init-lint", "--cache-dir", elsewhere, "pkg", cwd=tmp_path)
    assert _entries(elsewhere)

    (tmp_path / "fresh").mkdir()
    _package(tmp_path / "fresh", XAVIER)
    uncached = run("init-lint", "--no-cache", "pkg", cwd=tmp_path / "fresh")
    assert text_findings(uncached.stdout) == text_findings(first.stdout)
    assert not (tmp_path / "fresh" / ".init_lint_cache").exists()
