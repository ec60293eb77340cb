"""Benchmark init-lint against the LibCST parse floor, TorchFix and flake8 on real sources.

    python benchmarks/bench.py [--rounds 3] [--cache DIR] [--json benchmarks/results.json]

Downloads (``pip download --no-deps``) the pinned wheels of timm and torchvision into a cache
folder and unpacks their Python sources; builds three venvs there (flake8 alone, flake8 with
init-lint from this checkout, flake8 with TorchFix). Then runs every measurement once per round,
rounds alternating so that background load hits all of them alike, and reports medians, the
ratios the performance issue sets as targets, and each command's peak memory (maxrss of the
largest process in its tree). Not a unit test: timings belong here, not in pytest.

init-lint is installed from this checkout into its venv at the start of a run and measured
there, so that edits to the checkout during a run do not change what is measured. All tools
are given the same explicit list of files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = {"timm": "1.0.31", "torchvision": "0.29.1"}
DEFAULT_CACHE = Path.home() / ".cache" / "init-lint" / "bench"

# What each venv gets on top of flake8 (the same flake8 as the one running this script, if any).
VENVS = {"flake8": [], "init-lint": [str(REPO)], "torchfix": ["torchfix"]}

PARSE_FLOOR = """
import sys, libcst
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        libcst.parse_module(handle.read())
"""


@dataclass
class Measurement:
    name: str
    command: list[str]
    prepare: Callable[[], None] | None = None  # runs before each timed run, untimed
    env: dict[str, str] | None = None  # on top of this process's environment
    seconds: list[float] = field(default_factory=list)
    maxrss_mb: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def run_timed(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of the largest process in the command's tree."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert process.stderr is not None
    try:
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:  # interrupted: do not leave the tool running
        os.killpg(process.pid, signal.SIGTERM)
        raise
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # 1: findings, for every tool here
        message = errors.decode(errors="replace")[-2000:]
        raise SystemExit(f"{command[:3]}... exited {process.returncode}:\n{message}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "--quiet", *args], check=True)


def download_sources(cache: Path) -> list[str]:
    """Every .py file of the pinned packages, relative to ``cache/src``."""
    wheels = cache / "wheels"
    source_root = cache / "src"
    files: list[str] = []
    for name, version in PACKAGES.items():
        target = source_root / name
        if not target.is_dir():
            found = sorted(wheels.glob(f"{name}-{version}-*.whl"))
            if not found:
                requirement = f"{name}=={version}"
                pip(Path(sys.executable), "download", "--no-deps", requirement, "-d", str(wheels))
                found = sorted(wheels.glob(f"{name}-{version}-*.whl"))
            with zipfile.ZipFile(found[0]) as archive:
                members = [
                    m for m in archive.namelist() if m.startswith(f"{name}/") and m.endswith(".py")
                ]
                archive.extractall(source_root, members)
        files += sorted(p.relative_to(source_root).as_posix() for p in target.rglob("*.py"))
    return files


def flake8_requirement() -> str:
    try:
        from importlib.metadata import version

        return f"flake8=={version('flake8')}"
    except Exception:  # noqa: BLE001 - flake8 not installed here: any version
        return "flake8"


def build_venvs(cache: Path) -> dict[str, Path]:
    """One venv per flake8 set-up; init-lint is reinstalled from the checkout every run."""
    pythons = {}
    for name, extra in VENVS.items():
        venv = cache / "venvs" / name
        python = venv / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip(python, "install", "--upgrade", "pip")
            pip(python, "install", flake8_requirement(), *extra)
        elif name == "init-lint":
            pip(python, "install", "--force-reinstall", "--no-deps", str(REPO))
        pythons[name] = python
    return pythons


def measurements(cache: Path, files: list[str], pythons: dict[str, Path]) -> list[Measurement]:
    work = cache / "runs"
    cold_cache, warm_cache = work / "cold-cache", work / "warm-cache"
    # init-lint as installed (not editable) in its venv: the code measured cannot change under
    # the benchmark, and the parse floor uses the same interpreter and LibCST.
    python = str(pythons["init-lint"])
    init_lint = [python, "-m", "init_lint.cli", "--quiet", "--exit-zero"]

    def fresh_cold_cache() -> None:
        shutil.rmtree(cold_cache, ignore_errors=True)

    # The flake8 plugin caches each package it reads in the user's cache directory: measured
    # with an empty one (every run) and with one a previous run filled.
    plugin_cold = {"XDG_CACHE_HOME": str(work / "flake8-cold-cache")}
    plugin_warm = {"XDG_CACHE_HOME": str(work / "flake8-warm-cache")}

    def fresh_plugin_cache() -> None:
        shutil.rmtree(plugin_cold["XDG_CACHE_HOME"], ignore_errors=True)

    def bin_of(venv: str, tool: str) -> str:
        return str(pythons[venv].parent / tool)

    e9 = ["--select", "E9", *files]
    return [
        Measurement(PARSE, [python, "-c", PARSE_FLOOR, *files]),
        Measurement(COLD, [*init_lint, "--cache-dir", str(cold_cache), *files], fresh_cold_cache),
        Measurement(WARM, [*init_lint, "--cache-dir", str(warm_cache), *files]),
        Measurement(ONE_JOB, [*init_lint, "--jobs", "1", "--no-cache", *files]),
        Measurement(TORCHFIX, [bin_of("torchfix", "torchfix"), *files]),
        Measurement(TOR, [bin_of("torchfix", "flake8"), "--select", "TOR", *files]),
        Measurement(E9_BARE, [bin_of("flake8", "flake8"), *e9]),
        Measurement(
            E9_INIT_LINT, [bin_of("init-lint", "flake8"), *e9], fresh_plugin_cache, plugin_cold
        ),
        Measurement(E9_INIT_LINT_WARM, [bin_of("init-lint", "flake8"), *e9], env=plugin_warm),
        Measurement(E9_TORCHFIX, [bin_of("torchfix", "flake8"), *e9]),
        Measurement(INI, [bin_of("init-lint", "flake8"), "--select", "INI", *files]),
    ]


PARSE = "parse floor (libcst.parse_module, 1 process)"
COLD = "init-lint cold"
WARM = "init-lint warm"
ONE_JOB = "init-lint --jobs 1 --no-cache"
TORCHFIX = "torchfix CLI"
TOR = "flake8 --select TOR (torchfix)"
E9_BARE = "flake8 --select E9 (no plugin)"
E9_INIT_LINT = "flake8 --select E9 (init-lint installed, empty cache)"
E9_INIT_LINT_WARM = "flake8 --select E9 (init-lint installed, warm cache)"
E9_TORCHFIX = "flake8 --select E9 (torchfix installed)"
INI = "flake8 --select INI (init-lint)"

TARGETS = [  # (label, numerator, denominator, limit)
    ("cold / flake8 --select TOR", COLD, TOR, 0.2),
    ("--jobs 1 / parse floor", ONE_JOB, PARSE, 1.5),
    ("warm / cold", WARM, COLD, 0.1),
    ("flake8 E9: with init-lint / without", E9_INIT_LINT, E9_BARE, 2.0),
    ("flake8 E9: with init-lint, warm cache / without", E9_INIT_LINT_WARM, E9_BARE, 1.2),
    ("flake8 E9: with torchfix / without", E9_TORCHFIX, E9_BARE, None),
    ("cold / torchfix CLI", COLD, TORCHFIX, None),
]
MEMORY_LIMIT_MB = 200.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each measurement (median)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="downloads and venvs")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results.json")
    parser.add_argument("--only", help="comma-separated substrings: run only these measurements")
    args = parser.parse_args()

    args.cache.mkdir(parents=True, exist_ok=True)
    files = download_sources(args.cache)
    pythons = build_venvs(args.cache)
    source_root = args.cache / "src"
    runs = measurements(args.cache, files, pythons)
    if args.only:
        wanted = args.only.split(",")
        runs = [m for m in runs if any(w in m.name for w in wanted)]

    warm = next((m for m in runs if m.name == WARM), None)
    if warm is not None:  # fill the warm cache once, untimed
        warm_dir = Path(warm.command[warm.command.index("--cache-dir") + 1])
        shutil.rmtree(warm_dir, ignore_errors=True)
        run_timed(warm.command, source_root)
    plugin_warm = next((m for m in runs if m.name == E9_INIT_LINT_WARM), None)
    if plugin_warm is not None and plugin_warm.env is not None:  # the same for the plugin
        shutil.rmtree(plugin_warm.env["XDG_CACHE_HOME"], ignore_errors=True)
        run_timed(plugin_warm.command, source_root, plugin_warm.env)

    for round_number in range(args.rounds):
        # Alternate: each round runs every command once, starting one later than the last.
        shift = round_number % len(runs)
        for measurement in runs[shift:] + runs[:shift]:
            if measurement.prepare is not None:
                measurement.prepare()
            seconds, maxrss = run_timed(measurement.command, source_root, measurement.env)
            measurement.seconds.append(seconds)
            measurement.maxrss_mb = max(measurement.maxrss_mb, maxrss)
            progress = f"  round {round_number + 1}: {measurement.name}: {seconds:.2f} s"
            print(progress, file=sys.stderr)

    report = summarise(runs, files, source_root)
    print_table(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


def summarise(runs: list[Measurement], files: list[str], source_root: Path) -> dict:
    from bigtree import prefilter_stats

    from init_lint.prefilter import may_report

    by_name = {m.name: m for m in runs}
    texts = {f: (source_root / f).read_bytes() for f in files}
    prefilter = {}
    for package in PACKAGES:
        mine = [f for f in files if f.startswith(f"{package}/")]
        stats = prefilter_stats(source_root, mine)
        prefilter[package] = {
            "files": len(mine),
            "bytes": stats["bytes"],
            "skipped_by_cli": stats["files"] - stats["parsed"],
            "skipped_bytes_cli": stats["bytes"] - stats["parsed_bytes"],
            "skipped_by_flake8_plugin": sum(not may_report(texts[f]) for f in mine),
            "skipped_bytes_flake8_plugin": sum(
                len(texts[f]) for f in mine if not may_report(texts[f])
            ),
        }
    ratios = []
    for label, numerator, denominator, limit in TARGETS:
        if numerator in by_name and denominator in by_name:
            ratio = by_name[numerator].median / by_name[denominator].median
            ratios.append(
                {
                    "ratio": label,
                    "value": round(ratio, 3),
                    "target": limit,
                    "met": None if limit is None else ratio <= limit,
                }
            )
    peak = max((m.maxrss_mb for m in runs if m.name.startswith("init-lint")), default=0.0)
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "packages": PACKAGES,
        "files": len(files),
        "bytes": sum(len(t) for t in texts.values()),
        "rounds": len(runs[0].seconds) if runs else 0,
        "timings": [
            {
                "name": m.name,
                "median_s": round(m.median, 3),
                "runs_s": [round(s, 3) for s in m.seconds],
                "maxrss_mb": round(m.maxrss_mb, 1),
            }
            for m in runs
        ],
        "ratios": ratios,
        "init_lint_peak_maxrss_mb": {"value": round(peak, 1), "target": MEMORY_LIMIT_MB},
        "prefilter": prefilter,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def print_table(report: dict) -> None:
    machine = report["machine"]
    print(
        f"\n{report['files']} files, {report['bytes'] / 1e6:.1f} MB "
        f"({', '.join(f'{k}=={v}' for k, v in report['packages'].items())}); "
        f"{machine['usable_cpus']} CPUs; medians of {report['rounds']} alternating rounds\n"
    )
    print("| measurement | median (s) | runs (s) | peak RSS (MB) |")
    print("|---|---:|---|---:|")
    for row in report["timings"]:
        runs = ", ".join(f"{s:.2f}" for s in row["runs_s"])
        print(f"| {row['name']} | {row['median_s']:.2f} | {runs} | {row['maxrss_mb']:.0f} |")
    print("\n| ratio | measured | target |")
    print("|---|---:|---|")
    for row in report["ratios"]:
        target = "—" if row["target"] is None else f"≤ {row['target']}"
        verdict = "" if row["met"] is None else (" ✓" if row["met"] else " ✗")
        print(f"| {row['ratio']} | {row['value']:.3f} | {target}{verdict} |")
    peak = report["init_lint_peak_maxrss_mb"]
    verdict = "✓" if peak["value"] < peak["target"] else "✗"
    print(f"| init-lint peak RSS (MB) | {peak['value']:.0f} | < {peak['target']:.0f} {verdict} |")
    print("\n| package | files | not parsed by the CLI | not parsed by the flake8 plugin |")
    print("|---|---:|---|---|")
    for package, row in report["prefilter"].items():
        cli = f"{row['skipped_by_cli']} ({row['skipped_bytes_cli'] / row['bytes']:.0%} of bytes)"
        plugin = (
            f"{row['skipped_by_flake8_plugin']} "
            f"({row['skipped_bytes_flake8_plugin'] / row['bytes']:.0%} of bytes)"
        )
        print(f"| {package} | {row['files']} | {cli} | {plugin} |")


if __name__ == "__main__":
    sys.exit(main())
