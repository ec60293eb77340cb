"""Ground-truth accuracy of init-lint's static checker on torchvision and timm.

Builds real models (torchvision 0.29.1: every model it can; timm 1.0.31: the smallest models of
each family, plus whichever small models construct layers at sites not seen yet), records where
in the package source each Linear/Conv layer was constructed, and asks init-lint's runtime
verifier what each layer's init really is and what its output reaches. Every construction site
gets a runtime label; the static checker's findings at the same file:line:column are scored
against it (TP/FP/FN per package, default and --through-norm views), and every disagreement is
printed. ``--fix-check`` also applies ``init-lint --fix`` to copies of the packages and rebuilds
the affected models to check that the fixes work at run time and change nothing else.

Not a unit test: it builds hundreds of models, in a venv of its own outside the repository
(torch's CUDA wheel makes it ~6 GB; nothing runs on a GPU). Set-up, once:

    python3 -m venv ~/.cache/init-lint/harness-venv
    ~/.cache/init-lint/harness-venv/bin/pip install torch==2.14.1 torchvision==0.29.1 \\
        timm==1.0.31 libcst pathspec

Run (from a checkout; ``--repo`` runs the same harness against another checkout's init_lint):

    ~/.cache/init-lint/harness-venv/bin/python benchmarks/accuracy.py --json accuracy.json
    ~/.cache/init-lint/harness-venv/bin/python benchmarks/accuracy.py --fix-check
    ~/.cache/init-lint/harness-venv/bin/python benchmarks/accuracy.py --models 'resnet*,vgg11'

Runtime results are cached per model in ``~/.cache/init-lint/accuracy`` (``--cache-dir``), keyed
by the Python/torch/torchvision/timm versions, the worker's code, the seed and init-lint's runtime
sources (``init_lint/runtime``, ``init_lint/knowledge``): after a change to the static checker
only the static side runs again.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter, defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

from accuracy_compare import (
    VIEWS,
    Comparison,
    Truth,
    compare,
    site_text,
    static_findings,
)
from accuracy_run import (
    WORKER_SCRIPT,
    Pool,
    ResultCache,
    digest,
    lint_json,
    runtime_sources,
)
from accuracy_worker import META_VERSION

HERE = Path(__file__).resolve().parent
PINNED = {"torch": "2.14.1", "torchvision": "0.29.1", "timm": "1.0.31"}
PACKAGES = ("torchvision", "timm")
DEFAULT_CACHE = Path.home() / ".cache" / "init-lint" / "accuracy"
META_TIMEOUT = 120.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Score init-lint's static findings against what real models do at run time.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--repo",
        default=str(HERE.parent),
        help="checkout whose init_lint is tested (default: this one)",
    )
    parser.add_argument(
        "--packages", default=",".join(PACKAGES), help="comma-separated: torchvision,timm"
    )
    parser.add_argument(
        "--models",
        default="",
        help="comma-separated names or globs (fnmatch), optionally 'package:name';"
        " builds exactly these instead of the automatic selection",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="build at most this many models per package (quick runs)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="model-building processes (default: one per CPU)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=420.0,
        help="seconds per model (build + forward + verify); slower ones are skipped (default 420)",
    )
    parser.add_argument(
        "--max-params",
        type=float,
        default=1.0e9,
        help="skip models with more parameters (default 1e9)",
    )
    parser.add_argument(
        "--timm-per-module",
        type=int,
        default=4,
        help="timm models per defining module at most (default 4)",
    )
    parser.add_argument(
        "--timm-max-params",
        type=float,
        default=1.0e8,
        help="timm models are only picked up to this size unless a module has "
        "no smaller one (default 1e8)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE))
    parser.add_argument(
        "--refresh", action="store_true", help="rebuild models even if cached results exist"
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="rebuild models whose cached result is a failure or timeout",
    )
    parser.add_argument(
        "--examples", type=int, default=3, help="layers shown per disagreement (default 3)"
    )
    parser.add_argument(
        "--plan", action="store_true", help="print which models would be built (and why) and stop"
    )
    parser.add_argument("--json", dest="json_path", help="write all results to this JSON file")
    parser.add_argument(
        "--fix-check",
        action="store_true",
        help="also apply --fix to copies of the packages and check the fixes at run time",
    )
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- model selection ---------------------------------------------------------------------------


def matches(patterns: list[str], package: str, model: str) -> bool:
    for pattern in patterns:
        scope, _, name = pattern.rpartition(":")
        if scope and scope != package:
            continue
        if fnmatch.fnmatchcase(model, name):
            return True
    return False


def run_meta(pool: Pool, cache: ResultCache, models: list[tuple[str, str]]) -> dict:
    """Meta-device builds (no weights): parameter counts and construction sites, cached."""
    metas: dict[tuple[str, str], dict[str, Any]] = {}
    todo = []
    for package, model in models:
        cached = cache.load("meta", package, model)
        if cached is not None:
            metas[package, model] = cached
        else:
            todo.append({"op": "meta", "package": package, "model": model})
    if todo:
        log(f"meta-device builds of {len(todo)} models (parameter counts and sites; cached)...")
        start = time.perf_counter()

        def done(job: dict[str, Any], result: dict[str, Any]) -> None:
            key = (job["package"], job["model"])
            metas[key] = result
            cache.store("meta", *key, result)
            if len(metas) % 100 == 0:
                log(f"  {len(metas)}/{len(models)} ({time.perf_counter() - start:.0f} s)")

        pool.run(todo, lambda job: META_TIMEOUT, done)
    return metas


def select_models(
    listing: dict[str, list[dict[str, str]]],
    metas: dict[tuple[str, str], dict[str, Any]],
    args: argparse.Namespace,
    packages: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(models to build, models skipped), each {package, model, group, params, reason}."""
    patterns = [p.strip() for p in args.models.split(",") if p.strip()]
    chosen: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []

    def entry(package: str, item: dict[str, str], reason: str) -> dict[str, Any]:
        meta = metas.get((package, item["model"]), {})
        return {
            "package": package,
            "model": item["model"],
            "group": item["group"],
            "params": meta.get("params"),
            "reason": reason,
        }

    for package in packages:
        items = listing[package]
        if patterns:
            picked = [
                entry(package, i, "--models")
                for i in items
                if matches(patterns, package, i["model"])
            ]
        elif package == "torchvision":
            picked = []
            for item in items:
                e = entry(package, item, "every torchvision model")
                if e["params"] is not None and e["params"] > args.max_params:
                    e["reason"] = f"too big: {e['params'] / 1e6:.0f}M parameters"
                    skipped.append(e)
                else:
                    picked.append(e)
        else:
            picked, rest = select_timm(items, metas, args)
            skipped += rest
        if args.limit:
            skipped += [{**e, "reason": f"--limit {args.limit}"} for e in picked[args.limit :]]
            picked = picked[: args.limit]
        chosen += picked
    return chosen, skipped


def select_timm(
    items: list[dict[str, str]], metas: dict, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per defining module (``timm.models.resnet``...): its smallest model; then, smallest first,
    each model that constructs a layer at a site no chosen model reaches; then each that builds
    a known site in a new context (another set of activation classes: fasternet_t0 has GELU where
    fasternet_t2 has ReLU). At most ``--timm-per-module`` per module, ``--timm-max-params``
    each. Sites, not model names, are what the static checker is scored on."""
    by_module: dict[str, list[tuple[float, str]]] = defaultdict(list)
    sites: dict[str, set[tuple]] = {}
    contexts: dict[str, set[tuple]] = {}
    failed: dict[str, list[str]] = defaultdict(list)
    for item in items:
        meta = metas.get(("timm", item["model"]), {})
        if not meta.get("ok"):
            failed[item["group"]].append(item["model"])
            continue
        by_module[item["group"]].append((meta["params"], item["model"]))
        sites[item["model"]] = {tuple(s[:3]) for s in meta.get("sites", [])}
        activations = tuple(meta.get("activations", []))
        contexts[item["model"]] = {(site, activations) for site in sites[item["model"]]}
    group_of = {item["model"]: item["group"] for item in items}
    params = {name: p for members in by_module.values() for p, name in members}

    chosen: dict[str, str] = {}
    covered: set[tuple] = set()
    covered_contexts: set[tuple] = set()
    per_module: Counter[str] = Counter()

    def take(name: str, reason: str) -> None:
        chosen[name] = reason
        covered.update(sites.get(name, ()))
        covered_contexts.update(contexts.get(name, ()))
        per_module[group_of[name]] += 1

    for module, members in sorted(by_module.items()):
        members.sort()
        # timm's test_* models have layers of a few weights, too small for the runtime to judge.
        p, name = next((m for m in members if not m[1].startswith("test_")), members[0])
        if p <= args.max_params:
            take(name, f"smallest of timm.models.{module}")
    ascending = sorted((p, n) for members in by_module.values() for p, n in members)
    for what, units, seen in (
        ("construction site", sites, covered),
        ("site in a new context", contexts, covered_contexts),
    ):
        for p, name in ascending:
            module = group_of[name]
            if name in chosen or p > args.timm_max_params:
                continue
            if per_module[module] >= args.timm_per_module:
                continue
            new = units[name] - seen
            if new:
                take(name, f"adds {len(new)} {what}(s)")
    for module, names in sorted(failed.items()):
        if not per_module[module]:
            take(sorted(names)[0], f"meta build failed for all of timm.models.{module}")
    picked, skipped = [], []
    order = sorted(items, key=lambda i: (params.get(i["model"], 0), i["model"]))
    for item in order:
        name = item["model"]
        e = {
            "package": "timm",
            "model": name,
            "group": item["group"],
            "params": params.get(name),
            "reason": chosen.get(name),
        }
        if name in chosen:
            picked.append(e)
        elif name not in params:
            skipped.append({**e, "reason": "meta build failed"})
        elif params[name] > args.max_params:
            skipped.append({**e, "reason": f"too big: {params[name] / 1e6:.0f}M parameters"})
        else:
            skipped.append(
                {**e, "reason": "not needed: no new site or context, or the module's quota is used"}
            )
    return picked, skipped


def print_plan(plan: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> None:
    for e in plan:
        size = f"{e['params'] / 1e6:.1f}M" if e.get("params") is not None else "?"
        print(f"build {e['package']}:{e['model']} ({e['group']}, {size}): {e['reason']}")
    for e in skipped:
        print(f"skip  {e['package']}:{e['model']} ({e['group']}): {e['reason']}")
    counts = Counter(e["package"] for e in plan)
    total = sum(e.get("params") or 0 for e in plan)
    print(
        f"{len(plan)} models to build ({dict(counts)}), {total / 1e9:.2f}B parameters in all; "
        f"{len(skipped)} skipped"
    )


# -- runtime side ------------------------------------------------------------------------------


def build_models(
    pool: Pool, cache: ResultCache, plan: list[dict[str, Any]], args: argparse.Namespace
) -> dict[tuple[str, str], dict[str, Any]]:
    results: dict[tuple[str, str], dict[str, Any]] = {}
    todo = []
    for e in plan:
        key = (e["package"], e["model"])
        cached = None if args.refresh else cache.load("runtime", *key)
        if cached is not None and args.retry_failed and not cached.get("ok"):
            cached = None
        if cached is not None:
            results[key] = cached
        else:
            todo.append(
                {
                    "op": "build",
                    "package": key[0],
                    "model": key[1],
                    "seed": args.seed,
                    "views": list(VIEWS),
                    "params": e.get("params"),
                }
            )
    if not todo:
        log(f"runtime: all {len(plan)} models cached")
        return results
    # Largest first, so that the slowest builds do not come last on one worker; unknown sizes
    # (the meta build failed: torchvision's regnets) count as large.
    todo.sort(key=lambda job: -(job["params"] or float("inf")))
    log(
        f"runtime: building {len(todo)} models ({len(results)} cached) with {args.jobs} "
        f"worker(s), {args.timeout:.0f} s each at most..."
    )
    start = time.perf_counter()
    counter = [0]

    def done(job: dict[str, Any], result: dict[str, Any]) -> None:
        key = (job["package"], job["model"])
        results[key] = result
        cache.store("runtime", *key, result)
        counter[0] += 1
        status = (
            "ok"
            if result.get("ok") and not result.get("error")
            else (
                "TIMEOUT" if result.get("timeout") else f"FAILED ({result.get('stage', 'worker')})"
            )
        )
        log(
            f"  [{counter[0]:>3}/{len(todo)}] {key[0]}:{key[1]} {status} "
            f"{result.get('seconds', 0):.1f} s, {len(result.get('layers', []))} layers "
            f"(elapsed {time.perf_counter() - start:.0f} s)"
        )

    pool.run(todo, lambda job: args.timeout, done)
    return results


def model_status(result: dict[str, Any]) -> str:
    if result.get("timeout"):
        return "timeout"
    if not result.get("ok"):
        return "crashed"
    if result.get("stage") == "build":
        return "build failed"
    if result.get("stage") == "forward":
        return "forward failed"
    return "ok"


# -- report ------------------------------------------------------------------------------------


def fmt_ratio(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "n/a"


def print_scores(comparisons: dict[str, Comparison], packages: list[str]) -> None:
    header = (
        f"{'package':<12} {'view':<13} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>6} "
        f"{'precision':>9} {'recall':>7} {'code≠':>5} {'unverified':>10} "
        f"{'on-unknown':>10} {'elsewhere':>9} {'unknown sites':>13}"
    )
    print(header)
    print("-" * len(header))
    for package in packages:
        for view in VIEWS:
            s = comparisons[view].scores[package]
            print(
                f"{package:<12} {view:<13} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.tn:>6} "
                f"{fmt_ratio(s.precision):>9} {fmt_ratio(s.recall):>7} {s.code_mismatch:>5} "
                f"{s.unverified:>10} {s.static_on_unknown:>10} "
                f"{s.at_helper_call + s.at_torch_built:>9} {s.unknown_sites:>13}"
            )


def runtime_text(summary: dict[str, Any]) -> str:
    text = f"runtime {summary['label']}"
    if summary["codes"]:
        text += f" {','.join(summary['codes'])}"
    text += (
        f" ({summary['positive_layers']} wrong / {summary['negative_layers']} fine / "
        f"{summary['unknown_layers']} unknown layers in {summary['models']} model(s)"
    )
    if summary["contexts_disagree"]:
        text += "; contexts disagree"
    return text + ")"


def print_entries(title: str, entries: list[dict[str, Any]]) -> None:
    print(f"\n{title}: {len(entries)}")
    for entry in entries:
        kind = entry.get("kind", "")
        print(f"  {kind + ' ' if kind else ''}{entry['site']}")
        if "runtime" in entry and "label" in entry["runtime"]:
            print(f"    {runtime_text(entry['runtime'])}")
        elif "runtime" in entry:
            for site, summary in entry["runtime"].items():
                print(f"    {site}: {runtime_text(summary)}")
        for example in entry.get("examples", []):
            print(f"      e.g. {example}")
        for finding in entry.get("static", []):
            print(f"    static {finding['code']}: {finding['message']}")
        if not entry.get("static"):
            print("    static: nothing reported at this site")
        for nearby in entry.get("static_at_helper_calls", []):
            print(
                f"    static at the helper call {nearby['at']}: {nearby['code']} "
                f"{nearby['message']}"
            )
        if entry.get("would_be_built_by"):
            print(f"    built by (not run): {', '.join(entry['would_be_built_by'])}")


def print_report(
    comparisons: dict[str, Comparison],
    packages: list[str],
    plan: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    results: dict[tuple[str, str], dict[str, Any]],
    truth: Truth,
) -> None:
    print("\n== Models ==")
    for package in packages:
        statuses = Counter(
            model_status(results[(e["package"], e["model"])])
            for e in plan
            if e["package"] == package
        )
        skips = Counter(e["reason"].split(":")[0] for e in skipped if e["package"] == package)
        print(
            f"{package}: {sum(statuses.values())} built ({dict(statuses)}); "
            f"skipped {sum(skips.values())} ({dict(skips)})"
        )
    for e in plan:
        result = results[(e["package"], e["model"])]
        status = model_status(result)
        if status != "ok":
            error = (result.get("error") or "").strip().splitlines()
            print(f"  {e['package']}:{e['model']}: {status}: {error[-1] if error else ''}")
    for e in skipped:
        if e["reason"].startswith("too big"):
            print(f"  skipped {e['package']}:{e['model']}: {e['reason']}")
    kinds = Counter(site.kind.split(" ")[0] for site in truth.sites.values())
    print(
        f"construction sites seen at run time: {len(truth.sites)} ({dict(kinds)}); "
        f"layers with no package frame: {truth.layers_without_site}"
    )

    print("\n== Scores (direct sites; unknown sites excluded) ==")
    print_scores(comparisons, packages)
    for view in VIEWS:
        comparison = comparisons[view]
        print(f"\n== Disagreements, {view} view ==")
        order = {"FP": 0, "FN": 1, "code mismatch": 2}
        entries = sorted(comparison.disagreements, key=lambda e: (order[e["kind"]], e["site"]))
        print_entries("FP, FN and code mismatches", entries)
        print_entries(
            "static findings at sites the runtime could not decide", comparison.static_on_unknown
        )
        print_entries("static findings at helper calls or torch-built layers", comparison.elsewhere)
        print_entries("unverified static findings (site never built)", comparison.unverified)
        disagree = [
            f"{site_text(key)} ({','.join(sorted(site.codes(view)))})"
            for key, site in sorted(truth.sites.items())
            if site.kind == "direct"
            and site.label(view) == "positive"
            and site.contexts_disagree(view)
        ]
        print(f"\npositive sites whose contexts disagree ({view}): {len(disagree)}")
        for text in disagree:
            print(f"  {text}")


# -- main --------------------------------------------------------------------------------------


def check_versions() -> dict[str, str]:
    found = {}
    for name, pinned in PINNED.items():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(
                f"{name} is not installed in {sys.executable}; see the set-up at the top of "
                f"{Path(__file__).name}"
            ) from None
        found[name] = version
        if version.split("+")[0] != pinned:
            log(f"warning: {name} {version} installed, the harness is pinned to {pinned}")
    return found


def repo_revision(repo: Path) -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown"
    return rev


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wall = time.perf_counter()
    repo = Path(args.repo).expanduser().resolve()
    if not (repo / "init_lint").is_dir():
        raise SystemExit(f"{repo} has no init_lint package")
    sys.path.insert(0, str(repo))  # the same init_lint as the workers and the CLI runs
    sys.dont_write_bytecode = True  # nothing written into the checkout under test
    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    unknown = set(packages) - set(PACKAGES)
    if unknown:
        raise SystemExit(f"unknown packages: {', '.join(sorted(unknown))}")
    check_versions()
    cache_root = Path(args.cache_dir).expanduser()
    timings: dict[str, float] = {}

    pool = Pool([str(repo)], max(args.jobs, 1), cache_root / "logs", "main")
    try:
        hello = pool.hello()
        if Path(hello["init_lint"]).resolve() != repo / "init_lint":
            raise SystemExit(f"workers import init_lint from {hello['init_lint']}, not {repo}")
        versions = hello["versions"]
        package_dirs = {name: Path(path) for name, path in hello["package_dirs"].items()}
        tag = "-".join(
            [f"py{platform.python_version()}", *(f"{k}{v}" for k, v in sorted(versions.items()))]
        )
        meta_cache = ResultCache(cache_root / tag / f"meta-v{META_VERSION}")
        runtime_key = digest(
            {"worker": WORKER_SCRIPT, **runtime_sources(repo)}, f"seed={args.seed}"
        )
        runtime_cache = ResultCache(cache_root / tag / f"runtime-{runtime_key}")

        listing = meta_cache.load("list", "all", "models")
        if listing is None:
            listing = pool.call({"op": "list"}, META_TIMEOUT)
            if not listing.get("ok"):
                raise SystemExit(f"cannot list models: {listing.get('error')}")
            meta_cache.store("list", "all", "models", listing)
        listing = listing["models"]

        start = time.perf_counter()
        wanted = [(p, i["model"]) for p in packages for i in listing[p]]
        if args.models:
            wanted = []  # explicit models: no selection, so no meta builds needed
        metas = run_meta(pool, meta_cache, wanted)
        plan, skipped = select_models(listing, metas, args, packages)
        timings["meta_and_selection"] = time.perf_counter() - start
        if args.plan:
            print_plan(plan, skipped)
            return 0

        start = time.perf_counter()
        results = build_models(pool, runtime_cache, plan, args)
        timings["runtime"] = time.perf_counter() - start
    finally:
        pool.close()

    truth = Truth.from_results(  # sorted: the examples shown do not depend on finishing order
        (f"{key[0]}:{key[1]}", result)
        for key, result in sorted(results.items())
        if result.get("ok")
    )
    # Sites of models that were not built, from their meta builds: what to build to verify.
    meta_sites: dict[tuple, list[str]] = defaultdict(list)
    built = {(e["package"], e["model"]) for e in plan}
    for key, meta in sorted(metas.items(), key=lambda kv: kv[1].get("params") or 0):
        if key not in built:
            for site in meta.get("sites", []):
                meta_sites[tuple(site[:3])].append(f"{key[0]}:{key[1]}")

    start = time.perf_counter()
    static: dict[str, list] = {view: [] for view in VIEWS}
    static_raw: dict[str, dict[str, list]] = {view: {} for view in VIEWS}
    for package in packages:
        for view in VIEWS:
            raw, seconds = lint_json(repo, package_dirs[package], view == "through_norm")
            static_raw[view][package] = raw
            static[view] += static_findings(raw, str(package_dirs[package].parent))
            log(f"static {package} {view}: {len(raw)} findings in {seconds:.1f} s")
    timings["static"] = time.perf_counter() - start

    comparisons = {
        view: compare(truth, static[view], view, packages, meta_sites, args.examples)
        for view in VIEWS
    }
    print(
        f"init-lint accuracy: {repo} ({repo_revision(repo)}); "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    )
    print_report(comparisons, packages, plan, skipped, results, truth)

    fix_report = None
    if args.fix_check:
        from accuracy_fix import fix_check, print_fix_report

        start = time.perf_counter()
        fix_report = fix_check(
            repo,
            package_dirs,
            packages,
            results,
            static["default"],
            args,
            cache_root,
            runtime_cache,
        )
        timings["fix_check"] = time.perf_counter() - start
        print_fix_report(fix_report)

    timings["total"] = time.perf_counter() - wall
    print("\ntime: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    if args.json_path:
        write_json(
            args.json_path,
            repo,
            versions,
            plan,
            skipped,
            results,
            truth,
            comparisons,
            static,
            fix_report,
            timings,
        )
    return 0


ROW_KEYS = (
    "status",
    "code",
    "follows",
    "via_norm",
    "scheme",
    "gain",
    "gain_mode",
    "expected",
    "mode",
)


def compact_layer(layer: dict[str, Any]) -> dict[str, Any]:
    """One layer of one model for the JSON output: its site, weight scale and verdicts."""
    chain = layer.get("chain") or []
    out: dict[str, Any] = {
        "name": layer["name"],
        "class": layer["class"],
        "site": f"{chain[0][0]}:{chain[0][1]}:{chain[0][2]}" if chain else None,
        "callers": [f"{f[0]}:{f[1]}:{f[2]}" for f in chain[1:]],
        "shape": layer.get("shape"),
        "scale": layer.get("scale"),
    }
    for key in ("via_torch", "subclass", "note"):
        if layer.get(key):
            out[key] = layer[key]
    for view in VIEWS:
        out[view] = [
            {k: row[k] for k in ROW_KEYS if row.get(k) not in (None, False)}
            for row in layer.get("rows", {}).get(view, [])
        ]
    return out


def write_json(
    path: str,
    repo: Path,
    versions: dict[str, str],
    plan: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    results: dict[tuple[str, str], dict[str, Any]],
    truth: Truth,
    comparisons: dict[str, Comparison],
    static: dict[str, list],
    fix_report: dict[str, Any] | None,
    timings: dict[str, float],
) -> None:
    models = []
    for e in plan:
        result = results[(e["package"], e["model"])]
        models.append(
            {
                **e,
                "status": model_status(result),
                "error": result.get("error"),
                "input": result.get("input"),
                "seconds": result.get("seconds"),
                "layers": [compact_layer(layer) for layer in result.get("layers", [])],
                "views": result.get("views"),
            }
        )
    sites = []
    for key, site in sorted(truth.sites.items()):
        sites.append(
            {
                "site": site_text(key),
                "package": site.package,
                "kind": site.kind,
                "models": site.models()[:20],
                **{
                    view: {
                        **site.summary(view),
                        "outcome": comparisons[view].outcomes.get(key),
                        "examples": site.examples(view, None, 3),
                    }
                    for view in VIEWS
                },
            }
        )
    data = {
        "repo": str(repo),
        "revision": repo_revision(repo),
        "versions": versions,
        "python": platform.python_version(),
        "timings_seconds": timings,
        "scores": {
            view: {p: s.to_json() for p, s in c.scores.items()} for view, c in comparisons.items()
        },
        "disagreements": {view: c.disagreements for view, c in comparisons.items()},
        "static_on_unknown": {view: c.static_on_unknown for view, c in comparisons.items()},
        "static_elsewhere": {view: c.elsewhere for view, c in comparisons.items()},
        "unverified": {view: c.unverified for view, c in comparisons.items()},
        "static_findings": {
            view: [
                {
                    "site": site_text(f.key),
                    "code": f.code,
                    "message": f.message,
                    "fixable": f.fixable,
                }
                for f in findings
            ]
            for view, findings in static.items()
        },
        "models": models,
        "skipped": skipped,
        "sites": sites,
        "fix_check": fix_report,
    }
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1)
    log(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
