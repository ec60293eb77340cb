"""The analysis cache: reused when nothing changed, ignored when it cannot be trusted, and never
a reason for a finding to differ from an uncached run (cross-file facts included)."""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import run, text_findings

import init_lint.analysis as analysis_package
from init_lint import cache as cache_module
from init_lint import parallel
from init_lint.cache import FORMAT, MISS, Cache
from init_lint.codec import Codec, CodecError
from init_lint.engine import Options, lint_paths
from init_lint.knowledge import Family

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
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "block.py").write_text(BLOCK)
    (package / "net.py").write_text(net)
    return sorted(package.glob("*.py"))


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / f"v{FORMAT}").rglob("*") if p.is_file())


def _run_entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / f"v{FORMAT}-runs").rglob("*") if p.is_file())


def _drop_run_entries(cache_dir: Path) -> None:
    for entry in _run_entries(cache_dir):
        entry.unlink()


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
    _drop_run_entries(cache_dir)  # each file's facts from its entry, resolved again
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
            lambda path, *rest, **kw: analysed.append(path) or real(path, *rest, **kw),
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


class _Planted:
    """Unpickling this creates a file: the proof that a cache entry ran code."""

    def __init__(self, proof: Path) -> None:
        self.proof = proof

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.write_text, (self.proof, "code from the cache ran"))


def _valid_entry(key: str, result: object) -> bytes:
    return json.dumps({"format": FORMAT, "key": key, "result": result}).encode()


DAMAGE = {
    "empty": b"",
    "garbage": b"not json at all \xff",
    "truncated": _valid_entry("KEY", None)[:-3],
    "wrong-type": b'"a string"',
    "other-format": json.dumps({"format": FORMAT + 1, "key": "KEY", "result": None}).encode(),
    "wrong-result": _valid_entry("KEY", ["not", "facts"]),
    "wrong-key": _valid_entry("another key", None),
    "unknown-class": _valid_entry("KEY", {"$": "Popen", "v": {"args": ["touch", "x"]}}),
    "missing-field": _valid_entry(
        "KEY", {"$": "Finding", "v": {"path": "x.py", "line": 1, "column": 1, "code": "INI999"}}
    ),
    "wrong-field-type": _valid_entry(
        "KEY",
        {
            "$": "Finding",
            "v": {
                "path": "x.py",
                "line": "1",
                "column": 1,
                "code": "INI999",
                "message": "m",
                "end_line": 0,
                "end_column": 0,
                "fix": None,
            },
        },
    ),
    "deeply-nested": b'{"format": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "pickle": pickle.dumps((1, "KEY", None)),
}


@pytest.mark.parametrize("damage", list(DAMAGE.values()), ids=list(DAMAGE))
def test_a_damaged_cache_is_ignored_and_rebuilt(tmp_path: Path, damage: bytes) -> None:
    cache_dir = tmp_path / "cache"
    expected = lint_paths(EXAMPLES, cache_dir=cache_dir)
    _drop_run_entries(cache_dir)  # else the run's findings are reused whole
    for entry in _entries(cache_dir):
        entry.write_bytes(damage.replace(b"KEY", entry.name.encode()))
    assert lint_paths(EXAMPLES, cache_dir=cache_dir) == expected
    for entry in _entries(cache_dir):  # rewritten with real results
        stored = json.loads(entry.read_text())
        assert (stored["format"], stored["key"]) == (FORMAT, entry.name)
        assert stored["result"] is not None


def test_an_unchanged_project_reuses_its_findings_without_resolving_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    cold = lint_paths(EXAMPLES, cache_dir=cache_dir)
    assert len(_run_entries(cache_dir)) == 1
    _forbid_analysis(monkeypatch)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged project was resolved again")

    monkeypatch.setattr(analysis_package, "resolve", fail)
    warm = lint_paths(EXAMPLES, cache_dir=cache_dir)
    assert warm == cold
    assert [f.fix for f in warm] == [f.fix for f in cold]
    # Another set of files (one left out) is another run: it is analysed and resolved.
    monkeypatch.undo()
    assert lint_paths(EXAMPLES[1:], cache_dir=cache_dir) == lint_paths(EXAMPLES[1:])
    assert len(_run_entries(cache_dir)) == 2


@pytest.mark.parametrize("damage", list(DAMAGE.values()), ids=list(DAMAGE))
def test_a_damaged_run_entry_is_ignored_and_rebuilt(tmp_path: Path, damage: bytes) -> None:
    cache_dir = tmp_path / "cache"
    expected = lint_paths(EXAMPLES, cache_dir=cache_dir)
    [entry] = _run_entries(cache_dir)
    entry.write_bytes(damage.replace(b"KEY", entry.name.encode()))
    assert lint_paths(EXAMPLES, cache_dir=cache_dir) == expected
    stored = json.loads(entry.read_text())
    assert (stored["format"], stored["key"], len(stored["value"])) == (
        FORMAT,
        entry.name,
        len(expected),
    )


def test_a_run_entry_about_files_outside_the_run_is_not_trusted(tmp_path: Path) -> None:
    """Findings (and fixes, which --fix writes) may only concern the files of the run."""
    cache_dir = tmp_path / "cache"
    expected = lint_paths(EXAMPLES, cache_dir=cache_dir)
    [entry] = _run_entries(cache_dir)
    stored = json.loads(entry.read_text())
    outside = str(tmp_path / "elsewhere.py")
    planted = [{**f, "v": {**f["v"], "path": outside}} for f in stored["value"]]
    entry.write_text(json.dumps({**stored, "value": planted}))
    assert lint_paths(EXAMPLES, cache_dir=cache_dir) == expected


def test_a_planted_pickle_never_runs(tmp_path: Path) -> None:
    """The attack of issue 13: a repository commits a cache entry that runs code when loaded.
    Entries are JSON decoded into known classes only: the payload is a miss, nothing runs,
    and the findings are those of an uncached run."""
    project = tmp_path / "project"
    _package(project, XAVIER)
    (project / "pyproject.toml").write_text("[tool.init-lint]\n")
    cache = tmp_path / "cache"
    proof = tmp_path / "pwned"
    uncached = run("init-lint", "--no-cache", "pkg", cwd=project)
    run("init-lint", "--cache-dir", cache, "pkg", cwd=project)
    entries = _entries(cache) + _run_entries(cache)
    assert entries
    for entry in entries:
        entry.write_bytes(pickle.dumps(_Planted(proof)))
    again = run("init-lint", "--cache-dir", cache, "pkg", cwd=project)
    assert not proof.exists()
    assert again.stdout == uncached.stdout and again.returncode == uncached.returncode == 1


def test_a_fifo_or_a_directory_as_an_entry_is_a_miss(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    expected = lint_paths(EXAMPLES, cache_dir=cache_dir)
    _drop_run_entries(cache_dir)
    entries = _entries(cache_dir)
    os.unlink(entries[0])
    os.mkfifo(entries[0])  # opening it for reading would wait for a writer forever
    os.unlink(entries[1])
    entries[1].mkdir()
    assert lint_paths(EXAMPLES, cache_dir=cache_dir) == expected


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


def test_a_read_only_cache_is_read_but_not_written(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    expected = lint_paths(EXAMPLES, cache_dir=cache_dir)
    for path in (cache_dir, *cache_dir.rglob("*")):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert lint_paths(EXAMPLES, Options(through_norm=True), cache_dir=cache_dir) == lint_paths(
            EXAMPLES, Options(through_norm=True)
        )
        assert lint_paths(EXAMPLES, cache_dir=cache_dir) == expected
    finally:
        for path in (cache_dir, *cache_dir.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_cli_caches_in_the_user_cache_directory_unless_told_otherwise(tmp_path: Path) -> None:
    """Never in the project, where a repository could plant entries: one folder per project
    under $XDG_CACHE_HOME/init-lint."""
    project = tmp_path / "project"
    _package(project, XAVIER)
    (project / "pyproject.toml").write_text("[tool.init-lint]\n")
    home = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": str(home)}
    first = run("init-lint", "pkg", cwd=project, env=env)
    [folder] = (home / "init-lint").iterdir()
    assert folder.name.startswith("project-")
    assert (folder / ".gitignore").read_text().endswith("*\n") and _entries(folder)
    assert not list(project.rglob("*cache*"))
    second = run("init-lint", "pkg", cwd=project, env=env)
    assert text_findings(second.stdout) == text_findings(first.stdout) != []

    elsewhere = tmp_path / "elsewhere"
    run("init-lint", "--cache-dir", elsewhere, "pkg", cwd=project, env=env)
    assert _entries(elsewhere)

    fresh = tmp_path / "fresh"
    _package(fresh, XAVIER)
    uncached = run("init-lint", "--no-cache", "pkg", cwd=fresh, env={"XDG_CACHE_HOME": str(fresh)})
    assert text_findings(uncached.stdout) == text_findings(first.stdout)
    assert not (fresh / "init-lint").exists()


def test_a_result_too_big_to_keep_is_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Encoding stops at a size limit: a huge result is analysed again next time rather than
    written (and later read) as hundreds of megabytes of JSON."""
    monkeypatch.setattr(cache_module, "MAX_ENTRY_VALUES", 50)
    cache_dir = tmp_path / "cache"
    assert lint_paths(EXAMPLES, cache_dir=cache_dir) == lint_paths(EXAMPLES)
    stored = _entries(cache_dir)
    assert len(stored) < len(EXAMPLES)
    assert all(len(entry.read_bytes()) < 20_000 for entry in stored)


@dataclass(frozen=True)
class _Point:
    x: int
    label: str | None = None


Point = _Point


@dataclass
class _Shape:
    points: tuple[_Point, ...]
    tags: frozenset[str]
    weights: dict[str, float]
    kind: Family


def test_the_codec_round_trips_registered_classes_and_refuses_the_rest() -> None:
    codec = Codec([_Shape])
    shape = _Shape((_Point(1), _Point(2, "b")), frozenset({"a"}), {"w": float("inf")}, Family.OTHER)
    assert codec.decode(json.loads(json.dumps(codec.encode(shape)))) == shape
    with pytest.raises(CodecError):
        codec.encode(Path("."))  # not registered: not stored
    for planted in (
        {"$": "_Shape", "v": {"points": [], "tags": [], "weights": [], "kind": "other"}},  # types
        {"$": "_Point", "v": {"x": 1}},  # a field missing
        {"$": "_Point", "v": {"x": 1, "label": None, "extra": 2}},  # a field the class lacks
        {"$": "_Point", "v": {"x": True, "label": None}},  # bool is not int
        {"$": "Path", "v": {}},  # a class outside the registry
    ):
        with pytest.raises(CodecError):
            codec.decode(planted)


def test_a_class_that_gained_a_field_makes_old_entries_misses() -> None:
    @dataclass(frozen=True)
    class _Point:  # same name, one more field: the next version of the class
        x: int
        label: str | None = None
        weight: float = 1.0

    old = Codec([_Shape]).encode(Point(1))
    with pytest.raises(CodecError):
        Codec([_Point]).decode(old)


@pytest.mark.parametrize(
    "path", sorted((REPO / "tests" / "fixtures").glob("*.py")), ids=lambda path: path.name
)
def test_every_fixtures_facts_survive_the_cache_round_trip(path: Path) -> None:
    """The fixtures hold every idiom the analysis models: their facts (values of every kind,
    untyped containers in ``object`` fields included) decode to what was encoded."""
    from init_lint.cache import codec
    from init_lint.engine import analyze_source

    facts = analyze_source(str(path), path.read_bytes(), Options(), force=True)
    stored = json.loads(json.dumps(codec().encode(facts)))
    assert codec().decode(stored) == facts


def test_requests_for_other_files_classes_survive_the_cache_round_trip() -> None:
    """A class of another file built with arguments is a request whose signature holds
    untyped tuples of values."""
    from init_lint.cache import codec
    from init_lint.engine import analyze_source

    net = (
        "import torch.nn as nn\n\n"
        "from .block import Block\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, width):\n"
        "        super().__init__()\n"
        "        self.block = Block(width, (3, 3), act_layer=nn.ReLU)\n"
    )
    facts = analyze_source("pkg/net.py", net, Options(), "pkg.net", force=True)
    assert facts.requests  # type: ignore[union-attr]
    stored = json.loads(json.dumps(codec().encode(facts)))
    assert codec().decode(stored) == facts


def test_entries_workers_encode_are_the_entries_the_parent_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a cache and worker processes, each worker encodes its results and the parent only
    writes them: the files are byte for byte those an in-process run writes, and read back."""
    sources = [(str(path), path.read_bytes()) for path in EXAMPLES]
    from_workers: list[str] = []
    original = Cache.store_encoded

    def store_encoded(self: Cache, key: str, encoded: str | None) -> None:
        from_workers.append(key)
        original(self, key, encoded)

    monkeypatch.setattr(Cache, "store_encoded", store_encoded)
    pooled = parallel.analyze_all(sources, Options(), jobs=2, cache_dir=tmp_path / "pooled")
    assert len(from_workers) >= len(sources)  # every file went through a worker
    alone = parallel.analyze_all(sources, Options(), jobs=1, cache_dir=tmp_path / "alone")
    assert pooled == alone

    def entries(root: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in (root / f"v{FORMAT}").rglob("*") if p.is_file()}

    written = entries(tmp_path / "pooled")
    assert written and written == entries(tmp_path / "alone")
    assert set(from_workers) <= set(written)
    again = parallel.analyze_all(sources, Options(), jobs=2, cache_dir=tmp_path / "pooled")
    assert again == pooled
