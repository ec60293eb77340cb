"""When does a second worker process pay for itself? (issue 13, item 9)

    python benchmarks/pool_threshold.py [--rounds 5] [--json benchmarks/pool_threshold.json]

Times ``init-lint --no-cache`` with ``--jobs 1`` and ``--jobs 2`` (and the default, which picks
the number of workers from the amount of source: see ``BYTES_PER_WORKER`` in
init_lint/parallel.py) on projects of growing size: the 11 model files of examples/ and
tests/fixtures, then growing slices of timm's model files (downloaded as in
tests/test_real_code.py). Each figure is the best of ``--rounds`` runs, the measurements
interleaved so that background load hits them alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path.home() / ".cache" / "init-lint" / "corpus" / "timm-1.0.31" / "timm" / "models"
SIZES_KB = (50, 100, 200, 400, 800, 1600)


def projects(work: Path) -> dict[str, Path]:
    local = [*(REPO / "examples").glob("*.py"), *(REPO / "tests" / "fixtures").glob("*.py")]
    local = sorted(p for p in local if p.name != "runtime_errors.py")  # 11 files
    made = {}
    target = work / "local-11-files"
    target.mkdir()
    for path in local:
        shutil.copy(path, target)
    made[f"{len(local)} local model files"] = target
    timm = sorted(CORPUS.glob("*.py"), key=lambda p: p.stat().st_size)
    for size in SIZES_KB:
        target = work / f"timm-{size}KB"
        target.mkdir()
        total = 0
        for path in timm:
            if total >= size * 1000:
                break
            shutil.copy(path, target)
            total += path.stat().st_size
        made[f"timm models, {total // 1000} KB, {len(list(target.iterdir()))} files"] = target
    return made


def best(command: list[str], cwd: Path, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "pool_threshold.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="init-lint-pool-"))
    rows = []
    try:
        for label, directory in projects(work).items():
            row: dict[str, object] = {"project": label}
            for jobs in ("1", "2", "0"):
                command = [
                    sys.executable,
                    "-m",
                    "init_lint.cli",
                    "--no-cache",
                    "-q",
                    "-j",
                    jobs,
                    ".",
                ]
                row[f"jobs={jobs}"] = round(best(command, directory, args.rounds), 3)
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work)
    report = {"rounds": args.rounds, "date": time.strftime("%Y-%m-%d %H:%M UTC"), "rows": rows}
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
