"""``--fix-check`` of ``benchmarks/accuracy.py``: does ``init-lint --fix`` work on real code?

Copies the installed torchvision and timm (compiled extensions and bundled libraries included,
so the copies import) to a temporary directory, runs the CLI of the repository under test with
``--fix`` over the copies, checks that ``--diff`` right after prints nothing, then rebuilds every
model that constructs a layer at a fixed site from the fixed copies, with the same seed, and
compares it layer by layer with the original build:

- a layer at a fixed site that the runtime found wrong must now be judged ok;
- a layer at a fixed site that was fine (another context of the same constructor call) must not
  have become wrong;
- every other layer keeps its verdicts and its scale (rms·√fan_in within sampling error: the
  values differ, since the fixed code draws random numbers in a different order);
- the forward pass still works.
"""

from __future__ import annotations

import difflib
import math
import shutil
import tempfile
import time
from argparse import Namespace
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from accuracy_compare import (
    SCALE_CODES,
    VIEWS,
    Layer,
    SiteKey,
    StaticFinding,
    site_text,
)
from accuracy_run import Pool, ResultCache, diff_after, digest, fix_in_place, lint_json

#: rms ratios beyond this many standard errors count as a changed scale (see same_scale).
SCALE_SIGMAS = 6.0
SCALE_SLACK = 0.005


def copy_packages(package_dirs: dict[str, Path], packages: list[str], target: Path) -> None:
    for package in packages:
        source = package_dirs[package]
        shutil.copytree(
            source, target / package, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
        libs = source.parent / f"{package}.libs"  # shared libraries the wheel's .so files load
        if libs.is_dir():
            shutil.copytree(libs, target / libs.name, symlinks=True)


def source_diff(original: Path, fixed: Path) -> str:
    """Unified diff of every file --fix changed (paths relative to the package's parent)."""
    chunks = []
    for path in sorted(fixed.rglob("*.py")):
        relative = path.relative_to(fixed)
        before = (original / relative).read_text(encoding="utf-8", errors="replace")
        after = path.read_text(encoding="utf-8", errors="replace")
        if before != after:
            name = f"{fixed.name}/{relative.as_posix()}"
            chunks += difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True), name, name
            )
    return "".join(chunks)


def layer_label(layer: dict[str, Any], view: str = "default") -> Layer:
    return Layer("", layer["name"], layer["class"], layer.get("rows", {}).get(view, []))


def row_signature(layer: dict[str, Any], view: str) -> list[tuple]:
    return sorted(
        (r.get("follows") or "", r.get("status"), r.get("code") or "")
        for r in layer.get("rows", {}).get(view, [])
    )


def same_scale(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """mean|w|·√fan_in equal within sampling error. The mean absolute value, not the rms: one
    clamped outlier (timm's trunc_normal_ cuts at ±2, i.e. 100σ for std=.02) moves the rms of a
    100k-weight layer by 5%. Its relative standard error is ≤ ~√(1/n) for the usual shapes
    (0.76/√n for a normal), so the log-ratio of two independent draws has one ≤ √(2/n)."""
    key = "abs_scale" if "abs_scale" in before and "abs_scale" in after else "scale"
    a, b = before.get(key), after.get(key)
    if a is None or b is None:
        return a == b
    if a == 0 or b == 0:
        return a == b
    n = max(before.get("n") or 1, 1)
    return abs(math.log(b / a)) <= SCALE_SIGMAS * math.sqrt(2.0 / n) + SCALE_SLACK


def gain_text(layer: dict[str, Any], view: str = "default") -> str:
    parts = []
    for row in layer.get("rows", {}).get(view, []):
        text = f"{row.get('follows')}: {row.get('code') or row.get('status')}"
        if row.get("scheme"):
            text += f", {row['scheme']}"
        if row.get("gain") is not None:
            text += f", std·√{row.get('gain_mode')} = {row['gain']:.3f}"
            if row.get("expected") is not None:
                text += f" (expected {row['expected']:.3f})"
        parts.append(text)
    if not parts:
        parts.append(f"rms·√fan_in = {layer.get('scale')}")
    return "; ".join(parts)


def compare_builds(
    model: str, before: dict[str, Any], after: dict[str, Any], fixed: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """Layer-by-layer outcome lists for one model (see the module docstring)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    new = {layer["name"]: layer for layer in after.get("layers", [])}
    for old in before.get("layers", []):
        name = old["name"]
        entry = {"model": model, "layer": name, "class": old["class"]}
        current = new.get(name)
        if current is None:
            out["missing"].append(entry)
            continue
        entry.update(before=gain_text(old), after=gain_text(current))
        was, now = layer_label(old), layer_label(current)
        if name in fixed:
            if was.label == "positive":
                outcome = {"negative": "effective", "unknown": "inconclusive"}.get(
                    now.label, "not effective"
                )
            elif now.label == "positive":
                outcome = "broke a fine layer"
            else:
                outcome = "fine context, still fine" if was.label == "negative" else "unknown"
            out[outcome].append(entry)
            continue
        verdicts_same = all(row_signature(old, v) == row_signature(current, v) for v in VIEWS)
        scale_same = same_scale(old, current)
        if scale_same and verdicts_same:
            out["other unchanged"].append(entry)
        elif scale_same and {was.label, now.label} != {"positive", "negative"}:
            # ok <-> inconclusive with an unchanged scale: the test's own chance, not the fix
            out["other verdict flip (same scale)"].append(entry)
        else:
            entry["scale"] = (
                f"rms {old.get('scale')} -> {current.get('scale')}, mean|w| "
                f"{old.get('abs_scale')} -> {current.get('abs_scale')} (×√fan_in, n={old.get('n')})"
            )
            out["other changed"].append(entry)
    return out


def fix_check(
    repo: Path,
    package_dirs: dict[str, Path],
    packages: list[str],
    results: dict[tuple[str, str], dict[str, Any]],
    static_default: list[StaticFinding],
    args: Namespace,
    cache_root: Path,
    runtime_cache: ResultCache,
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="init-lint-fixcheck-"))
    try:
        return _fix_check(
            work,
            repo,
            package_dirs,
            packages,
            results,
            static_default,
            args,
            cache_root,
            runtime_cache,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fix_check(
    work: Path,
    repo: Path,
    package_dirs: dict[str, Path],
    packages: list[str],
    results: dict[tuple[str, str], dict[str, Any]],
    static_default: list[StaticFinding],
    args: Namespace,
    cache_root: Path,
    runtime_cache: ResultCache,
) -> dict[str, Any]:
    print("\n== Fix check ==", flush=True)
    copy_packages(package_dirs, packages, work)
    report: dict[str, Any] = {"packages": {}}
    fixed_sites: dict[SiteKey, dict[str, Any]] = {}
    for package in packages:
        copy = work / package
        # The copies are byte for byte the linted sources: the main run's findings hold for them.
        findings = [f for f in static_default if f.package == package]
        for finding in findings:
            if finding.fixable and finding.code in SCALE_CODES:
                fixed_sites[finding.key] = {"code": finding.code, "message": finding.message}
        start = time.perf_counter()
        fixed, files, output = fix_in_place(repo, copy)
        seconds = time.perf_counter() - start
        leftover = diff_after(repo, copy)
        after, _ = lint_json(repo, copy, through_norm=False)
        uncompilable = []
        for path in sorted(copy.rglob("*.py")):
            try:
                compile(path.read_bytes(), str(path), "exec")
            except SyntaxError as error:
                uncompilable.append(f"{path.relative_to(work)}: {error}")
        report["packages"][package] = {
            "findings_before": len(findings),
            "fixable_before": sum(f.fixable for f in findings),
            "fixable_scale_findings": sum(f.fixable and f.code in SCALE_CODES for f in findings),
            "fixed": fixed,
            "files_changed": files,
            "fix_seconds": seconds,
            "fixed_point": not leftover.strip(),
            "diff_after_fix": leftover,
            "findings_after": len(after),
            "fixable_after": sum(1 for f in after if f.get("fix") is not None),
            "uncompilable": uncompilable,
            "edits": source_diff(package_dirs[package], copy),
            "cli_output_tail": output[-3000:],
        }

    # Models that construct a layer at a fixed site, and those layers' names.
    affected: dict[tuple[str, str], set[str]] = defaultdict(set)
    built_sites: set[SiteKey] = set()
    for key, result in results.items():
        if not result.get("ok") or result.get("stage"):
            continue
        for layer in result.get("layers", []):
            chain = layer.get("chain") or []
            site = tuple(chain[0][:3]) if chain else None
            if site in fixed_sites and not layer.get("via_torch"):
                affected[key].add(layer["name"])
                built_sites.add(site)  # type: ignore[arg-type]
    report["fixed_sites"] = len(fixed_sites)
    report["fixed_sites_built"] = len(built_sites)
    report["fixed_sites_not_built"] = sorted(site_text(k) for k in set(fixed_sites) - built_sites)
    report["models_rebuilt"] = len(affected)
    print(
        f"fixed sites: {len(fixed_sites)}, built at run time: {len(built_sites)}; "
        f"rebuilding {len(affected)} model(s) from the fixed copies...",
        flush=True,
    )

    # The rebuilt models depend on the runtime's key and on the edits only: cached under both.
    edits = "".join(report["packages"][p]["edits"] for p in packages)
    cache = ResultCache(runtime_cache.root / f"fixed-{digest({}, edits)}")
    rebuilt: dict[tuple[str, str], dict[str, Any]] = {}
    jobs = []
    for package, model in sorted(affected):
        cached = None if args.refresh else cache.load("runtime", package, model)
        if cached is not None:
            rebuilt[(package, model)] = cached
            continue
        jobs.append(
            {
                "op": "build",
                "package": package,
                "model": model,
                "seed": args.seed,
                "views": list(VIEWS),
                "params": results[(package, model)].get("params") or 0,
            }
        )
    jobs.sort(key=lambda job: -job["params"])
    if jobs:
        pool = Pool([str(work), str(repo)], max(args.jobs, 1), cache_root / "logs", "fixcheck")
        try:
            hello = pool.hello()
            for package, path in hello["package_dirs"].items():
                if package in packages and not Path(path).resolve().is_relative_to(work.resolve()):
                    raise RuntimeError(f"the fix-check worker imports {package} from {path}")

            def done(job: dict[str, Any], result: dict[str, Any]) -> None:
                rebuilt[(job["package"], job["model"])] = result
                cache.store("runtime", job["package"], job["model"], result)

            pool.run(jobs, lambda job: args.timeout, done)
        finally:
            pool.close()

    outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    forward_failed = []
    site_layers: dict[SiteKey, Counter[str]] = defaultdict(Counter)
    for key, fixed_layers in sorted(affected.items()):
        model = f"{key[0]}:{key[1]}"
        after = rebuilt.get(key, {})
        if not after.get("ok") or after.get("stage"):
            forward_failed.append({"model": model, "error": after.get("error")})
            continue
        per_model = compare_builds(model, results[key], after, fixed_layers)
        for outcome, entries in per_model.items():
            outcomes[outcome] += entries
        sites_by_layer = {
            layer["name"]: tuple(layer["chain"][0][:3])
            for layer in results[key]["layers"]
            if layer.get("chain")
        }
        for outcome, entries in per_model.items():
            for entry in entries:
                if entry["layer"] in fixed_layers:
                    site_layers[sites_by_layer[entry["layer"]]][outcome] += 1

    wrong_before = sum(len(outcomes[k]) for k in ("effective", "inconclusive", "not effective"))
    effective_sites = [
        k
        for k, c in site_layers.items()
        if c["effective"] and not (c["not effective"] or c["broke a fine layer"])
    ]
    report.update(
        rebuilt_forward_failed=forward_failed,
        fixed_layers_wrong_before=wrong_before,
        fixed_layers_effective=len(outcomes["effective"]),
        fixed_layers_effective_percent=(
            100.0 * len(outcomes["effective"]) / wrong_before if wrong_before else None
        ),
        fixed_layers_inconclusive=len(outcomes["inconclusive"]),
        fixed_layers_not_effective=outcomes["not effective"],
        fixed_layers_broken=outcomes["broke a fine layer"],
        fixed_layers_fine_context=len(outcomes["fine context, still fine"]),
        fixed_sites_effective=sorted(site_text(k) for k in effective_sites),
        fixed_sites_outcomes={site_text(k): dict(c) for k, c in sorted(site_layers.items())},
        other_layers_compared=sum(
            len(outcomes[k])
            for k in ("other unchanged", "other changed", "other verdict flip (same scale)")
        ),
        other_layers_changed=outcomes["other changed"],
        other_layers_verdict_flips=outcomes["other verdict flip (same scale)"],
        layers_missing=outcomes["missing"],
    )
    return report


def print_fix_report(report: dict[str, Any]) -> None:
    for package, data in report["packages"].items():
        fixed = data["fixed"] if data["fixed"] is not None else "?"
        print(
            f"{package}: --fix fixed {fixed} finding(s) in {data['files_changed']} file(s) "
            f"({data['fixable_scale_findings']} fixable INI001-INI003 findings before, "
            f"{data['fixable_before']} fixable in all); one pass reached the fixed point: "
            f"{'yes' if data['fixed_point'] else 'NO'}; findings left "
            f"{data['findings_after']} ({data['fixable_after']} still fixable)"
        )
        if not data["fixed_point"]:
            print("  --diff after --fix still prints:")
            print("    " + data["diff_after_fix"][:4000].replace("\n", "\n    "))
        for problem in data["uncompilable"]:
            print(f"  does not compile after --fix: {problem}")
    print(
        f"fixed sites: {report['fixed_sites']} ({report['fixed_sites_built']} built at run "
        f"time); models rebuilt: {report['models_rebuilt']}"
    )
    for site in report["fixed_sites_not_built"]:
        print(f"  fixed but not built by any model run: {site}")
    percent = report["fixed_layers_effective_percent"]
    print(
        f"layers at fixed sites that were wrong: {report['fixed_layers_wrong_before']}; "
        f"now He/Xavier-scaled as required: {report['fixed_layers_effective']} "
        f"({'n/a' if percent is None else f'{percent:.1f}%'}), inconclusive "
        f"{report['fixed_layers_inconclusive']}, still wrong "
        f"{len(report['fixed_layers_not_effective'])}"
    )
    print(
        f"layers at fixed sites in contexts that were fine: "
        f"{report['fixed_layers_fine_context']} still fine, "
        f"{len(report['fixed_layers_broken'])} made wrong"
    )
    print(
        f"other layers compared: {report['other_layers_compared']}; changed: "
        f"{len(report['other_layers_changed'])}; verdict flips with the same scale "
        f"(chance): {len(report['other_layers_verdict_flips'])}"
    )
    print("per fixed site (layer outcomes):")
    for site, counts in report["fixed_sites_outcomes"].items():
        print(f"  {site}: {counts}")
    for title, key in (
        ("FIX NOT EFFECTIVE", "fixed_layers_not_effective"),
        ("FIX BROKE A FINE LAYER", "fixed_layers_broken"),
        ("OTHER LAYER CHANGED", "other_layers_changed"),
        ("LAYER MISSING AFTER FIX", "layers_missing"),
    ):
        for entry in report[key]:
            print(f"  {title}: {entry['model']} {entry['layer']} ({entry['class']})")
            if "before" in entry:
                print(f"    before: {entry['before']}\n    after:  {entry['after']}")
            if "scale" in entry:
                print(f"    {entry['scale']}")
    for failure in report["rebuilt_forward_failed"]:
        print(f"  REBUILD FAILED: {failure['model']}: {failure['error']}")
