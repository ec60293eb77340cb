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

Where the statistical test cannot tell the fixed scale from a wrong one (a small layer), the
worker's record of the last init call that wrote the weight decides exactly: a kaiming_*/xavier_*
call whose std (from its arguments and the weight's shape, as torch computes it) times √fan, for a
fan the verifier allows (forward; backward too unless only the forward fan counts) with the true
fans, is the required gain within ``GAIN_TOLERANCE`` counts as effective (exact: final init call).
The statistically effective layers are cross-checked against their last call, and every other
layer's last call must be the same call as before the fix.
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
    NEGATIVE_STATUSES,
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
#: The outcome of a fixed layer the statistical test leaves inconclusive but whose last init call
#: gives exactly the required scale.
EXACT = "effective (exact: final init call)"
#: Relative slack when testing an exact value against the verifier's interval (float rounding).
INTERVAL_SLACK = 1e-9
#: compare_builds lists that repeat layers already counted under their outcome.
CROSS_LISTS = frozenset(
    {
        "call contradicts",
        "fine context, last call changed",
        "other with a recorded call",
        "other last call changed",
    }
)


def gain_tolerance() -> float:
    """The runtime's tolerance on std·√fan (init_lint.knowledge.GAIN_TOLERANCE of the
    checkout under test, which accuracy.py puts first on sys.path)."""
    try:
        from init_lint.knowledge import GAIN_TOLERANCE
    except ImportError:
        return 0.01
    return float(GAIN_TOLERANCE)


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


def call_text(init: dict[str, Any] | None) -> str:
    """The recorded last init call: "kaiming_normal_(mode='fan_in', nonlinearity='relu', a=0)
    at timm/models/x.py:74, std·√fan_in 1.414, std·√fan_out 2.449" (torch's fans)."""
    if not init:
        return "no record"
    if not init.get("function"):
        return f"no init call ({init.get('why') or 'unknown'})"
    args = ", ".join(f"{k}={v!r}" for k, v in (init.get("args") or {}).items())
    text = f"{init['function']}({args})"
    if init.get("after"):
        text += " then " + ", ".join(init["after"])
    if init.get("via"):
        text += f" (via {init['via']})"
    if init.get("at"):
        text += f" at {init['at']}"
    if init.get("exact"):
        text += (
            f", std·√fan_in {init['gain_fan_in']:.4f}, std·√fan_out {init['gain_fan_out']:.4f}"
            " (torch's fans)"
        )
    elif init.get("why"):
        text += f" [{init['why']}]"
    return text


def call_signature(init: dict[str, Any] | None) -> tuple | None:
    """What a last init call did, without where (the fixed files' lines move)."""
    if not init:
        return None
    return (
        init.get("function"),
        init.get("source"),
        tuple(sorted((init.get("args") or {}).items())),
        tuple(init.get("after") or ()),
        tuple(init.get("called_shape") or ()),
        init.get("why"),
    )


def exact_gains(init: dict[str, Any], row: dict[str, Any]) -> dict[str, float] | None:
    """std·√fan of the recorded call for the fans the verifier allows (true fans: a grouped or
    transposed conv's differ from torch's; only the forward one where the row says so)."""
    std, fan_in, fan_out = init.get("std"), row.get("fan_in"), row.get("fan_out")
    if std is None or not init.get("exact") or not fan_in:
        return None
    gains = {"fan_in": std * math.sqrt(fan_in)}
    if fan_out and not row.get("strided"):
        gains["fan_out"] = std * math.sqrt(fan_out)
    return gains


def call_contradiction(init: dict[str, Any], row: dict[str, Any], gains: dict) -> str | None:
    """Why the call's exact value disagrees with the verifier's statistic on this row: it falls
    outside the row's interval for std·√fan (the weights cannot have been drawn by it), or the
    verifier called a layer before a rectifier ok that the call does not He-scale."""
    mode, interval = row.get("gain_mode"), row.get("interval")
    fan = row.get("fan_in") if mode == "fan_in" else row.get("fan_out")
    if interval and fan and init.get("std") is not None:
        value = init["std"] * math.sqrt(fan)
        low, high = interval
        if not low * (1 - INTERVAL_SLACK) <= value <= high * (1 + INTERVAL_SLACK):
            return (
                f"the call gives std·√{mode} = {value:.4f}, outside the weights' interval "
                f"[{low:.4f}, {high:.4f}]"
            )
    required = row.get("expected")
    if row.get("status") == "ok" and row.get("family") == "rectifier" and required:
        tolerance = gain_tolerance()
        if not any(abs(g - required) <= tolerance * required for g in gains.values()):
            found = ", ".join(f"std·√{m} = {g:.4f}" for m, g in gains.items())
            return f"judged ok but the call gives {found}, He needs {required:.4f}"
    return None


def exact_verdict(layer: dict[str, Any]) -> tuple[bool, str]:
    """Whether a layer the test left inconclusive is exactly He/Xavier-scaled as required by
    its last init call (see the module docstring), and why (not)."""
    init = layer.get("init")
    if layer.get("note"):
        return False, f"the verdict does not apply ({layer['note']})"
    if not init:
        return False, "no init call recorded"
    function = init.get("function") or ""
    if not function.startswith(("kaiming_", "xavier_")) or init.get("source") != "torch.nn.init":
        return False, f"last init call is not kaiming_*/xavier_*: {call_text(init)}"
    if not init.get("exact"):
        return False, f"no exact scale: {call_text(init)}"
    if init.get("mean"):
        return False, f"mean {init['mean']:g} ≠ 0: {call_text(init)}"
    undecided = [
        row
        for row in layer.get("rows", {}).get("default", [])
        if row.get("status") not in NEGATIVE_STATUSES
    ]
    if not undecided:
        return False, "no inconclusive row"
    tolerance = gain_tolerance()
    reasons = []
    for row in undecided:
        required = row.get("expected")
        gains = exact_gains(init, row)
        if row.get("status") != "inconclusive" or not required or gains is None:
            return False, f"{row.get('follows')}: {row.get('status')}, no required gain or fans"
        contradiction = call_contradiction(init, row, gains)
        if contradiction:
            return False, f"CONTRADICTION {row.get('follows')}: {contradiction}"
        matching = [m for m, g in gains.items() if abs(g - required) <= tolerance * required]
        found = ", ".join(f"std·√{m} = {g:.4f}" for m, g in gains.items())
        if not matching:
            return False, f"{row.get('follows')}: {found} vs required {required:.4f}"
        reasons.append(f"{row.get('follows')}: {found} (required {required:.4f} ±{tolerance:.0%})")
    return True, "; ".join(reasons)


def call_check(layer: dict[str, Any]) -> tuple[str, str]:
    """The sanity cross-check of a layer the test found effective: ("agree" | "contradict" |
    "no exact value", detail)."""
    init = layer.get("init")
    if not init or not init.get("exact"):
        return "no exact value", call_text(init)
    checked = 0
    for row in layer.get("rows", {}).get("default", []):
        gains = exact_gains(init, row)
        if row.get("status") != "ok" or gains is None:
            continue
        checked += 1
        contradiction = call_contradiction(init, row, gains)
        if contradiction:
            return "contradict", f"{row.get('follows')}: {contradiction}; {call_text(init)}"
    if not checked:
        return "no exact value", f"no row judged with fans: {call_text(init)}"
    return "agree", call_text(init)


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
        entry["last_call"] = call_text(current.get("init"))
        was, now = layer_label(old), layer_label(current)
        call_changed = call_signature(old.get("init")) != call_signature(current.get("init"))
        if name in fixed:
            if was.label == "positive":
                outcome = {"negative": "effective", "unknown": "inconclusive"}.get(
                    now.label, "not effective"
                )
            elif now.label == "positive":
                outcome = "broke a fine layer"
            else:
                outcome = "fine context, still fine" if was.label == "negative" else "unknown"
            if outcome == "inconclusive":
                exact, entry["why"] = exact_verdict(current)
                if exact:
                    outcome = EXACT
                elif entry["why"].startswith("CONTRADICTION"):
                    out["call contradicts"].append(entry)
            elif outcome == "effective":
                entry["call_check"], entry["why"] = call_check(current)
                if entry["call_check"] == "contradict":
                    out["call contradicts"].append(entry)
            elif outcome == "fine context, still fine" and call_changed:
                out["fine context, last call changed"].append(entry)
            out[outcome].append(entry)
            continue
        if old.get("init") is not None and current.get("init") is not None:
            out["other with a recorded call"].append(entry)
            if call_changed:
                entry["last_call_before"] = call_text(old.get("init"))
                out["other last call changed"].append(entry)
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
            if outcome in CROSS_LISTS:
                continue
            for entry in entries:
                if entry["layer"] in fixed_layers:
                    site_layers[sites_by_layer[entry["layer"]]][outcome] += 1

    wrong_before = sum(
        len(outcomes[k]) for k in ("effective", EXACT, "inconclusive", "not effective")
    )
    effective_sites = [
        k
        for k, c in site_layers.items()
        if (c["effective"] or c[EXACT]) and not (c["not effective"] or c["broke a fine layer"])
    ]
    effective_total = len(outcomes["effective"]) + len(outcomes[EXACT])
    checks = Counter(entry["call_check"] for entry in outcomes["effective"])
    report.update(
        rebuilt_forward_failed=forward_failed,
        fixed_layers_wrong_before=wrong_before,
        fixed_layers_effective=len(outcomes["effective"]),
        fixed_layers_effective_percent=(
            100.0 * len(outcomes["effective"]) / wrong_before if wrong_before else None
        ),
        fixed_layers_effective_exact=len(outcomes[EXACT]),
        fixed_layers_effective_exact_layers=outcomes[EXACT],
        fixed_layers_effective_total=effective_total,
        fixed_layers_effective_total_percent=(
            100.0 * effective_total / wrong_before if wrong_before else None
        ),
        fixed_layers_effective_call_check=dict(checks),
        fixed_layers_call_contradictions=outcomes["call contradicts"],
        fixed_layers_inconclusive=len(outcomes["inconclusive"]),
        fixed_layers_inconclusive_layers=outcomes["inconclusive"],
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
        other_layers_with_recorded_call=len(outcomes["other with a recorded call"]),
        other_layers_last_call_changed=outcomes["other last call changed"],
        fixed_layers_fine_context_last_call_changed=len(
            outcomes["fine context, last call changed"]
        ),
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
    total = report["fixed_layers_effective_total_percent"]
    exact = report["fixed_layers_effective_exact"]
    print(
        f"layers at fixed sites that were wrong: {report['fixed_layers_wrong_before']}; "
        f"now He/Xavier-scaled as required: {report['fixed_layers_effective']} "
        f"({'n/a' if percent is None else f'{percent:.1f}%'}) by the statistical test, "
        f"{exact} more exactly by their final init call "
        f"(in all {report['fixed_layers_effective_total']}, "
        f"{'n/a' if total is None else f'{total:.1f}%'}); inconclusive "
        f"{report['fixed_layers_inconclusive']}, still wrong "
        f"{len(report['fixed_layers_not_effective'])}"
    )
    print(
        f"effective (exact: final init call): {exact} of the "
        f"{exact + report['fixed_layers_inconclusive']} the statistical test left inconclusive"
    )
    checks = report["fixed_layers_effective_call_check"]
    print(
        f"final init call of the {report['fixed_layers_effective']} statistically effective "
        f"layers: {checks.get('agree', 0)} agree, {checks.get('contradict', 0)} contradict, "
        f"{checks.get('no exact value', 0)} without an exact value"
    )
    print(
        f"layers at fixed sites in contexts that were fine: "
        f"{report['fixed_layers_fine_context']} still fine, "
        f"{len(report['fixed_layers_broken'])} made wrong "
        f"({report['fixed_layers_fine_context_last_call_changed']} with another last init call)"
    )
    print(
        f"other layers compared: {report['other_layers_compared']}; changed: "
        f"{len(report['other_layers_changed'])}; verdict flips with the same scale "
        f"(chance): {len(report['other_layers_verdict_flips'])}; last init call changed: "
        f"{len(report['other_layers_last_call_changed'])} "
        f"(of {report['other_layers_with_recorded_call']} with a recorded call)"
    )
    print("per fixed site (layer outcomes):")
    for site, counts in report["fixed_sites_outcomes"].items():
        print(f"  {site}: {counts}")
    for title, key in (
        ("FIX NOT EFFECTIVE", "fixed_layers_not_effective"),
        ("FIX BROKE A FINE LAYER", "fixed_layers_broken"),
        ("OTHER LAYER CHANGED", "other_layers_changed"),
        ("OTHER LAYER'S LAST INIT CALL CHANGED", "other_layers_last_call_changed"),
        ("FINAL INIT CALL CONTRADICTS THE STATISTIC", "fixed_layers_call_contradictions"),
        ("STILL INCONCLUSIVE", "fixed_layers_inconclusive_layers"),
        ("LAYER MISSING AFTER FIX", "layers_missing"),
    ):
        for entry in report[key]:
            print(f"  {title}: {entry['model']} {entry['layer']} ({entry['class']})")
            if "before" in entry:
                print(f"    before: {entry['before']}\n    after:  {entry['after']}")
            if "scale" in entry:
                print(f"    {entry['scale']}")
            if "last_call_before" in entry:
                print(f"    last init call before: {entry['last_call_before']}")
            if entry.get("last_call"):
                print(f"    last init call: {entry['last_call']}")
            if entry.get("why"):
                print(f"    {entry['why']}")
    for failure in report["rebuilt_forward_failed"]:
        print(f"  REBUILD FAILED: {failure['model']}: {failure['error']}")
