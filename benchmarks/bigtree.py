"""Benchmark init-lint on a big tree: the sources of torch and torchvision (issue 13, item 7).

    python benchmarks/bigtree.py [--rounds 1] [--cache DIR] [--json benchmarks/bigtree.json]
                                 [--check-findings]

Downloads the pinned wheels (``pip download --no-deps``; torch is the local CPU wheel) into a
cache folder and unpacks their Python files: about 2,470 files, 48 MB. Measures, with wall time
and the peak RSS of the largest process of each command's tree:

* the LibCST parse floor: ``libcst.parse_module`` on every file, one process;
* ``init-lint`` cold (empty cache, default jobs), warm, and ``--jobs 1 --no-cache``;
* single pathological files: a model beside a 1 MB (and a 100 KB) data literal on one line,
  a 12,000-term ``a + a + …`` chain.

It also counts what the prefilter does with the tree (files only compiled, files parsed and
why), and with ``--check-findings`` checks that the findings equal those of analysing every
file in full (slow: it parses all 48 MB). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench import PARSE_FLOOR, run_timed

REPO = Path(__file__).resolve().parent.parent
PACKAGES = {"torch": "2.13.0", "torchvision": "0.29.1"}
DEFAULT_CACHE = Path.home() / ".cache" / "init-lint" / "bigtree"
MEMORY_TARGET_MB = 300


def download(cache: Path) -> list[str]:
    """Every .py file of the pinned packages, relative to ``cache/src``."""
    wheels, source_root = cache / "wheels", cache / "src"
    files: list[str] = []
    for name, version in PACKAGES.items():
        target = source_root / name
        if not target.is_dir():
            found = sorted(wheels.glob(f"{name}-{version}*.whl"))
            if not found:
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "--no-deps",
                        "--quiet",
                        f"{name}=={version}",
                        "-d",
                        str(wheels),
                    ],
                    check=True,
                )
                found = sorted(wheels.glob(f"{name}-{version}*.whl"))
            with zipfile.ZipFile(found[0]) as archive:
                members = [
                    m for m in archive.namelist() if m.startswith(f"{name}/") and m.endswith(".py")
                ]
                archive.extractall(source_root, members)
        files += sorted(p.relative_to(source_root).as_posix() for p in target.rglob("*.py"))
    return files


def prefilter_stats(root: Path, files: list[str]) -> dict[str, int]:
    """What the prefilter does with ``files``: how many are only compiled, parsed as seeds
    (and why), parsed in the later rounds (they name a class that holds a seed's layer)."""
    from init_lint.analysis.facts import FileFacts, Holders
    from init_lint.engine import Options, _analyze, referee
    from init_lint.parallel import analyze_all
    from init_lint.prefilter import _INIT, may_report, names_report

    texts = {f: (root / f).read_bytes() for f in files}
    parsed: list[str] = []
    import init_lint.engine as engine

    real = _analyze
    engine._analyze = lambda path, *rest: parsed.append(path) or real(path, *rest)  # type: ignore[assignment]
    try:
        results = analyze_all([(str(root / f), texts[f]) for f in files], Options(), jobs=1)
    finally:
        engine._analyze = real
    seeds_text = [f for f in files if may_report(texts[f])]
    seeds = []
    for f in seeds_text:
        tree = referee(texts[f], f)
        if isinstance(tree, ast.Module) and names_report(tree):
            seeds.append(f)
    by_init = [f for f in seeds if _INIT.search(texts[f].decode("latin-1"))]
    parsed_set = {os.path.relpath(p, root) for p in parsed}
    return {
        "files": len(files),
        "bytes": sum(map(len, texts.values())),
        "text_prefilter_passed": len(seeds_text),
        "seeds": len(seeds),
        "seeds_naming_init": len(by_init),
        "seeds_bytes": sum(len(texts[f]) for f in seeds),
        "parsed": len(parsed_set),
        "parsed_bytes": sum(len(texts[f]) for f in parsed_set),
        "parsed_in_later_rounds": len(parsed_set - set(seeds)),
        "only_compiled": sum(result is None or isinstance(result, Holders) for result in results),
        "ini999": len(results)
        - sum(r is None or isinstance(r, (FileFacts, Holders)) for r in results),
    }


def pathological(work: Path) -> dict[str, Path]:
    model = (
        "import torch.nn as nn\n\nDATA = [{numbers}]\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(8, 8)\n\n"
        "    def forward(self, x):\n        return self.fc(x).relu()\n"
    )
    files = {}
    for label, size in (("literal_100KB", 100_000), ("literal_1MB", 1_000_000)):
        numbers = []
        total = 0
        while total < size:
            numbers.append(str(len(numbers) % 997))
            total += len(numbers[-1]) + 2
        path = work / f"{label}.py"
        path.write_text(model.format(numbers=", ".join(numbers)))
        files[label] = path
    chain = work / "sum_12000_terms.py"
    chain.write_text(model.format(numbers="") + "y = " + " + ".join(["a"] * 12_000) + "\n")
    files["sum_12000_terms"] = chain
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "bigtree.json")
    parser.add_argument("--check-findings", action="store_true")
    args = parser.parse_args()

    files = download(args.cache)
    root = args.cache / "src"
    python = sys.executable
    cli = [python, "-m", "init_lint.cli", "--quiet", "--exit-zero", "--format", "json"]
    work = Path(tempfile.mkdtemp(prefix="init-lint-bigtree-"))
    cold_cache, warm_cache = work / "cold", work / "warm"
    runs: dict[str, list[tuple[float, float]]] = {}

    def measure(name: str, command: list[str], cwd: Path = root) -> None:
        seconds, peak = run_timed(command, cwd)
        runs.setdefault(name, []).append((seconds, peak))
        print(f"  {name}: {seconds:.1f} s, {peak:.0f} MB", file=sys.stderr, flush=True)

    run_timed([*cli, "--cache-dir", str(warm_cache), "."], root)  # fill the warm cache
    for _ in range(args.rounds):
        shutil.rmtree(cold_cache, ignore_errors=True)
        measure(
            "init-lint cold (empty cache, default jobs)",
            [*cli, "--cache-dir", str(cold_cache), "."],
        )
        measure("init-lint warm (cache filled)", [*cli, "--cache-dir", str(warm_cache), "."])
        measure("init-lint --jobs 1 --no-cache", [*cli, "--jobs", "1", "--no-cache", "."])
        measure("LibCST parse floor (parse_module, 1 process)", [python, "-c", PARSE_FLOOR, *files])
    for label, path in pathological(work).items():
        measure(f"one file: {label}", [*cli, "--no-cache", str(path)], work)

    report: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "packages": PACKAGES,
        "timings": [
            {
                "name": name,
                "runs_s": [round(s, 2) for s, _ in values],
                "median_s": round(sorted(s for s, _ in values)[len(values) // 2], 2),
                "maxrss_mb": round(max(m for _, m in values), 1),
            }
            for name, values in runs.items()
        ],
        "memory_target_mb": MEMORY_TARGET_MB,
        "prefilter": prefilter_stats(root, files),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if args.check_findings:
        report["findings_equal_unfiltered"] = check_findings(root, files)
    shutil.rmtree(work, ignore_errors=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


UNFILTERED = """
import json, sys
import init_lint.engine as engine
from init_lint.engine import lint_paths
if sys.argv[1] == "unfiltered":
    engine.may_report = lambda source: True
    engine.names_report = lambda tree: True
findings = lint_paths(sys.argv[2:], jobs=0)
print(json.dumps([[f.path, f.line, f.column, f.code, f.message] for f in findings]))
"""


def check_findings(root: Path, files: list[str]) -> dict[str, object]:
    """Findings of the prefiltered run and of analysing every file in full."""
    out = {}
    for mode in ("filtered", "unfiltered"):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", UNFILTERED, mode, *files],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        out[mode] = (json.loads(result.stdout), time.perf_counter() - started)
    equal = out["filtered"][0] == out["unfiltered"][0]
    return {
        "equal": equal,
        "findings": len(out["filtered"][0]),
        "seconds": {mode: round(value[1], 1) for mode, value in out.items()},
    }


if __name__ == "__main__":
    sys.exit(main())
