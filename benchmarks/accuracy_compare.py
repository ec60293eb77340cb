"""Labels and scores for ``benchmarks/accuracy.py``: runtime verdicts per construction site,
compared with the static checker's findings at the same source position. Pure Python.

A *layer* (one Linear/Conv module of one built model) gets a label per view from the runtime
verifier's rows for it: ``positive`` (a finding: the code), ``negative`` (every row ok, or its
output reaches no activation init-lint judges), ``unknown`` (inconclusive, unrecognised, not
called by the forward pass, the forward pass failed, or the verdict does not apply: a weight
standardised in forward, an activation wrapped in a custom module that transforms its result;
the worker notes those). A *site* (the constructor call's
file:line:column) is positive if any layer built there is positive in some model, negative if
none is and some layer is negative, else unknown (excluded from the scores).

Only *direct* sites are scored: the layer's constructor is called at that position in the package
source, which is where the static checker reports. Layers that torch itself builds inside a
module constructed by the package (``nn.MultiheadAttention``'s ``out_proj``) are listed apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

VIEWS = ("default", "through_norm")
#: The codes that judge a weight's scale (INI007: a scale torch's fans get wrong), on both sides.
SCALE_CODES = frozenset({"INI001", "INI002", "INI003", "INI007"})
NEGATIVE_STATUSES = frozenset({"ok", "not checked"})

SiteKey = tuple[str, int, int]


def site_text(key: SiteKey) -> str:
    return f"{key[0]}:{key[1]}:{key[2]}"


@dataclass
class Layer:
    """One layer of one built model, as the runtime saw it in one view."""

    model: str  # "package:model"
    name: str
    class_name: str
    rows: list[dict[str, Any]]
    error: str | None = None  # the model's forward pass failed
    note: str | None = None  # why the verdict is not ground truth (weight standardisation, ...)
    callers: tuple[str, ...] = ()  # package call sites that led to the constructor, inner first

    @property
    def codes(self) -> set[str]:
        return {row["code"] for row in self.rows if row.get("code")}

    @property
    def label(self) -> str:
        if self.note:
            return "unknown"
        if self.codes:
            return "positive"
        if self.rows and all(row["status"] in NEGATIVE_STATUSES for row in self.rows):
            return "negative"
        return "unknown"

    @property
    def reason(self) -> str:
        """Why a layer is unknown, in a word."""
        if self.note:
            return self.note
        if self.error:
            return "forward failed"
        statuses = sorted({row["status"] for row in self.rows} - NEGATIVE_STATUSES)
        return ",".join(statuses) or "no rows"

    def describe(self) -> str:
        """'timm:resnet18 layer1.0.conv1 (Conv2d) → ReLU: PyTorch default, gain 0.577 vs 1.414'."""
        parts = []
        for row in self.rows or [{}]:
            text = row.get("follows") or "?"
            if row.get("scheme"):
                text += f": {row['scheme']}"
            if row.get("gain") is not None:
                text += f", std·√{row.get('gain_mode') or 'fan'} = {row['gain']:.3f}"
                if row.get("expected") is not None:
                    text += f" (expected {row['expected']:.3f})"
            text += f" [{row.get('code') or row.get('status', '?')}]"
            parts.append(text)
        text = f"{self.model} {self.name} ({self.class_name}) → " + "; ".join(parts)
        if self.callers:  # where a context-specific finding could be reported
            text += f" [built via {' ← '.join(self.callers)}]"
        return text + (f" [not scored: {self.note}]" if self.note else "")


@dataclass
class Site:
    key: SiteKey
    kind: str  # 'direct' or 'via <torch class>'
    layers: dict[str, list[Layer]] = field(default_factory=lambda: {v: [] for v in VIEWS})
    outer: set[SiteKey] = field(default_factory=set)  # helper call sites that led here

    @property
    def package(self) -> str:
        return self.key[0].split("/", 1)[0]

    def label(self, view: str) -> str:
        labels = {layer.label for layer in self.layers[view]}
        if "positive" in labels:
            return "positive"
        return "negative" if "negative" in labels else "unknown"

    def codes(self, view: str) -> set[str]:
        return set().union(*(layer.codes for layer in self.layers[view]))

    def contexts_disagree(self, view: str) -> bool:
        """Some layers built here are wrong and others right (or wrong differently): a fix
        written at this site changes layers that were fine, or must depend on the context."""
        labels = Counter(layer.label for layer in self.layers[view])
        return bool(labels["positive"] and labels["negative"]) or len(self.codes(view)) > 1

    def models(self) -> list[str]:
        return sorted({layer.model for layer in self.layers["default"]})

    def summary(self, view: str) -> dict[str, Any]:
        layers = self.layers[view]
        by_label = Counter(layer.label for layer in layers)
        return {
            "label": self.label(view),
            "codes": sorted(self.codes(view)),
            "layers": len(layers),
            "positive_layers": by_label["positive"],
            "negative_layers": by_label["negative"],
            "unknown_layers": by_label["unknown"],
            "unknown_reasons": dict(Counter(x.reason for x in layers if x.label == "unknown")),
            "models": len({layer.model for layer in layers}),
            "contexts_disagree": self.contexts_disagree(view),
        }

    def examples(self, view: str, label: str | None, limit: int) -> list[str]:
        """Up to ``limit`` layers with this label, one per distinct (follows, scheme)."""
        seen: set[tuple] = set()
        picked = []
        for layer in self.layers[view]:
            if label is not None and layer.label != label:
                continue
            shape = tuple((r.get("follows"), r.get("scheme"), r.get("code")) for r in layer.rows)
            if shape in seen:
                continue
            seen.add(shape)
            picked.append(layer.describe())
            if len(picked) == limit:
                break
        return picked


@dataclass
class Truth:
    """Every construction site seen at run time, and the layers built there."""

    sites: dict[SiteKey, Site] = field(default_factory=dict)
    outer_index: dict[SiteKey, set[SiteKey]] = field(default_factory=lambda: defaultdict(set))
    layers_without_site: int = 0

    @classmethod
    def from_results(cls, results: Iterable[tuple[str, dict[str, Any]]]) -> Truth:
        truth = cls()
        for model, result in results:
            error = result.get("error") if result.get("stage") == "forward" else None
            for layer in result.get("layers", []):
                chain = layer.get("chain") or []
                if not chain:
                    truth.layers_without_site += 1
                    continue
                key: SiteKey = tuple(chain[0][:3])  # type: ignore[assignment]
                via = layer.get("via_torch")
                site = truth.sites.get(key)
                if site is None:
                    site = truth.sites[key] = Site(key, f"via {via}" if via else "direct")
                for frame in chain[1:]:
                    outer: SiteKey = tuple(frame[:3])  # type: ignore[assignment]
                    site.outer.add(outer)
                    truth.outer_index[outer].add(key)
                for view in VIEWS:
                    rows = layer.get("rows", {}).get(view, [])
                    site.layers[view].append(
                        Layer(
                            model,
                            layer["name"],
                            layer["class"],
                            rows,
                            error,
                            layer.get("note"),
                            tuple(f"{f[0]}:{f[1]}" for f in chain[1:3]),
                        )
                    )
        return truth


@dataclass
class StaticFinding:
    key: SiteKey
    code: str
    message: str
    fixable: bool

    @property
    def package(self) -> str:
        return self.key[0].split("/", 1)[0]


def static_findings(raw: list[dict[str, Any]], package_parent: str) -> list[StaticFinding]:
    """The CLI's JSON findings with paths made relative to the directory holding the package."""
    import os

    out = []
    for item in raw:
        path = os.path.relpath(os.path.realpath(item["path"]), os.path.realpath(package_parent))
        out.append(
            StaticFinding(
                (path, item["line"], item["column"]),
                item["code"],
                item["message"],
                item.get("fix") is not None,
            )
        )
    return out


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    code_mismatch: int = 0
    static_on_unknown: int = 0
    unverified: int = 0
    at_helper_call: int = 0
    at_torch_built: int = 0
    unknown_sites: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "precision": self.precision, "recall": self.recall}


@dataclass
class Comparison:
    view: str
    scores: dict[str, Score]
    outcomes: dict[SiteKey, str]  # TP/FP/FN/TN per scored site
    disagreements: list[dict[str, Any]]
    unverified: list[dict[str, Any]]
    static_on_unknown: list[dict[str, Any]]
    elsewhere: list[dict[str, Any]]  # at a helper call or a torch-built site


def compare(
    truth: Truth,
    findings: list[StaticFinding],
    view: str,
    packages: Iterable[str],
    meta_sites: dict[SiteKey, list[str]],
    examples: int = 3,
) -> Comparison:
    """Score direct sites of ``packages``; ``meta_sites`` names, for sites never built for real,
    the models whose meta-device build constructs them (so "unverified" says what to build)."""
    packages = list(packages)
    scores = {package: Score() for package in packages}
    by_key: dict[SiteKey, list[StaticFinding]] = defaultdict(list)
    for finding in findings:
        if finding.code in SCALE_CODES:
            by_key[finding.key].append(finding)

    outcomes: dict[SiteKey, str] = {}
    disagreements: list[dict[str, Any]] = []
    static_on_unknown: list[dict[str, Any]] = []
    for key, site in sorted(truth.sites.items()):
        if site.package not in scores or site.kind != "direct":
            continue
        score = scores[site.package]
        label = site.label(view)
        reported = by_key.get(key, [])
        static_codes = sorted({f.code for f in reported})
        entry = {
            "site": site_text(key),
            "runtime": site.summary(view),
            "static": [
                {"code": f.code, "message": f.message, "fixable": f.fixable} for f in reported
            ],
        }
        if label == "unknown":
            score.unknown_sites += 1
            if reported:
                score.static_on_unknown += 1
                entry["examples"] = site.examples(view, None, examples)
                static_on_unknown.append(entry)
            continue
        if label == "positive":
            outcome = "TP" if reported else "FN"
        else:
            outcome = "FP" if reported else "TN"
        outcomes[key] = outcome
        setattr(score, outcome.lower(), getattr(score, outcome.lower()) + 1)
        if outcome == "TP" and set(static_codes) != site.codes(view):
            score.code_mismatch += 1
            outcome_text = "code mismatch"
        else:
            outcome_text = outcome
        if outcome_text in ("FP", "FN", "code mismatch"):
            entry["kind"] = outcome_text
            entry["examples"] = site.examples(
                view, "negative" if outcome == "FP" else "positive", examples
            )
            if outcome == "FN":
                nearby = [
                    {"at": site_text(f.key), "code": f.code, "message": f.message}
                    for outer in sorted(site.outer)
                    for f in by_key.get(outer, [])
                ]
                if nearby:
                    entry["static_at_helper_calls"] = nearby
            disagreements.append(entry)

    unverified: list[dict[str, Any]] = []
    elsewhere: list[dict[str, Any]] = []
    for key, reported in sorted(by_key.items()):
        package = key[0].split("/", 1)[0]
        if package not in scores:
            continue
        site = truth.sites.get(key)
        if site is not None and site.kind == "direct":
            continue
        entry = {
            "site": site_text(key),
            "static": [
                {"code": f.code, "message": f.message, "fixable": f.fixable} for f in reported
            ],
        }
        if site is not None:
            scores[package].at_torch_built += 1
            entry.update(
                kind=f"layers built {site.kind}",
                runtime=site.summary(view),
                examples=site.examples(view, None, examples),
            )
            elsewhere.append(entry)
        elif key in truth.outer_index:
            inner = sorted(truth.outer_index[key])
            scores[package].at_helper_call += 1
            entry.update(
                kind="at a helper call; the layers are constructed at "
                + ", ".join(site_text(k) for k in inner[:5]),
                runtime={site_text(k): truth.sites[k].summary(view) for k in inner[:5]},
            )
            elsewhere.append(entry)
        else:
            scores[package].unverified += 1
            entry["would_be_built_by"] = meta_sites.get(key, [])[:5]
            unverified.append(entry)
    return Comparison(
        view, scores, outcomes, disagreements, unverified, static_on_unknown, elsewhere
    )
