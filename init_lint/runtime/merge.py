"""``init-lint verify --static``: the static checker's and the runtime verifier's findings, layer
by layer, with the reason wherever they differ.

Pure Python. A static finding is placed at the layer's constructor call; the runtime knows each
layer's construction site (:mod:`init_lint.runtime.sites`, including the callers of a helper
such as ``conv3x3``), so the two meet at (path, line, column). A site that builds several
layers (a loop, a helper, a comprehension) stands for all of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..findings import Finding
from .assess import Status
from .report import NOT_CALLED, LayerResult, Report

BOTH, STATIC_ONLY, RUNTIME_ONLY, NEITHER = "both", "static only", "runtime only", "neither"
#: The codes both halves decide about a layer's init (the others are about calls, not layers).
LAYER_CODES = frozenset({"INI001", "INI002", "INI003", "INI007"})


@dataclass(frozen=True)
class MergedRow:
    layer: str  # qualified module name; '' for a static finding no built layer matches
    class_name: str
    where: str  # path:line of the construction site, or of the static finding
    runtime: str  # the runtime's code, or its status ('ok', 'inconclusive', 'not checked', ...)
    static: str | None  # the static code at this site, if any
    agreement: str  # BOTH, STATIC_ONLY, RUNTIME_ONLY or NEITHER
    reason: str = ""


def _key(path: str, line: int) -> tuple[str, int]:
    return os.path.realpath(path), line


def merge(report: Report, static: Iterable[Finding]) -> list[MergedRow]:
    """One row per runtime layer row, plus the static findings no built layer matches."""
    by_position: dict[tuple[str, int], list[Finding]] = {}
    for finding in static:
        if finding.code in LAYER_CODES:
            by_position.setdefault(_key(finding.path, finding.line), []).append(finding)
    used: set[int] = set()
    rows = []
    for layer in report.layers:
        match = _match(layer, by_position)
        if match is not None:
            used.add(id(match))
        rows.append(_row(layer, match, report.through_norm))
    for findings in by_position.values():
        for finding in findings:
            if id(finding) not in used:
                rows.append(
                    MergedRow(
                        "",
                        "",
                        f"{finding.path}:{finding.line}",
                        "-",
                        finding.code,
                        STATIC_ONLY,
                        "no layer of the built model was constructed here",
                    )
                )
    return rows


def _match(layer: LayerResult, by_position: dict[tuple[str, int], list[Finding]]) -> Finding | None:
    if layer.site is None:
        return None
    for path, line, column in layer.site.positions():
        candidates = by_position.get(_key(path, line), [])
        exact = [f for f in candidates if f.column == column]
        if exact or len(candidates) == 1:
            return (exact or candidates)[0]
    return None


def _row(layer: LayerResult, static: Finding | None, through_norm: bool) -> MergedRow:
    site = layer.site
    where = f"{site.path}:{site.line}" if site else "?"
    runtime = layer.code or layer.status
    code = static.code if static else None
    if layer.code and code:
        agreement = BOTH
        reason = "" if code == layer.code else f"codes differ: static {code}, runtime {layer.code}"
    elif code:
        agreement, reason = STATIC_ONLY, _runtime_silence(layer, through_norm)
    elif layer.code:
        agreement = RUNTIME_ONLY
        reason = (
            f"no static finding at {where}: the weights measure {layer.measured()}, the "
            "activation needs "
            f"{layer.assessment.required_gain:.3f}"
            if layer.assessment and layer.assessment.required_gain is not None
            else f"no static finding at {where}"
        )
        if site is None:
            reason = "the layer's construction site is unknown (build it under record_sites())"
    else:
        agreement, reason = NEITHER, ""
    return MergedRow(layer.name, layer.class_name, where, runtime, code, agreement, reason)


def _runtime_silence(layer: LayerResult, through_norm: bool) -> str:
    """Why the runtime does not report a layer the static checker reports."""
    a = layer.assessment
    if layer.status == NOT_CALLED:
        return "runtime: the layer is not called in the forward pass"
    if a is None:
        if not through_norm and "Norm" in layer.consumer:
            return f"runtime: output goes to {layer.consumer}; judged only with --through-norm"
        via = f" through {' → '.join(layer.through)}" if layer.through else ""
        return f"runtime: output goes{via} to {layer.consumer}, not to a judged activation"
    if a.status == Status.INCONCLUSIVE:
        return f"runtime: inconclusive, {a.reason}"
    if a.status == Status.OK:
        return (
            f"runtime: the weights measure {layer.measured()}, within the tolerance of "
            f"{a.required_gain:.3f} ({a.scheme})"
            if a.required_gain is not None
            else f"runtime: ok ({a.scheme})"
        )
    return f"runtime: {a.status} ({a.scheme})"


def counts(rows: Sequence[MergedRow]) -> dict[str, int]:
    """Layers of the model, and how many each half reports; ``static elsewhere``: static
    findings on code the built model does not use (another class of the same file)."""
    result = {"layers": sum(1 for r in rows if r.layer)}
    for kind in (BOTH, STATIC_ONLY, RUNTIME_ONLY):
        result[kind] = sum(1 for r in rows if r.agreement == kind and r.layer)
    result["static elsewhere"] = sum(1 for r in rows if not r.layer)
    return result


def render(rows: Sequence[MergedRow]) -> str:
    header = ("layer", "class", "built at", "runtime", "static", "", "why they differ")
    table = [header] + [
        (
            r.layer or "-",
            r.class_name or "-",
            r.where,
            r.runtime,
            r.static or "-",
            r.agreement if r.agreement != NEITHER else "",
            r.reason,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    summary = counts(rows)
    lines.append("")
    lines.append(
        f"static vs runtime: {summary['layers']} layer(s); both report {summary[BOTH]}, "
        f"static only {summary[STATIC_ONLY]}, runtime only {summary[RUNTIME_ONLY]}"
        + (
            f" ({summary['static elsewhere']} static finding(s) on code this model does not use)"
            if summary["static elsewhere"]
            else ""
        )
    )
    return "\n".join(lines)
