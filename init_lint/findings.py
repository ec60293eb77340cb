"""A finding is data: every front end (CLI text/JSON/SARIF, flake8, --fix) renders these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Edit:
    """Replace the source between two 1-based (line, column) positions with ``content``.

    In a notebook, ``cell`` is the 1-based index of the cell the lines count in (see
    :mod:`init_lint.notebooks`); it is None in a Python file."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str
    cell: int | None = None


@dataclass(frozen=True)
class Fix:
    description: str
    edits: tuple[Edit, ...] = ()
    #: Imports the edits rely on, as ``(module, name)``: ("torch.nn", "init") is
    #: ``from torch.nn import init``. Added only when the file has no usable spelling yet.
    imports: tuple[tuple[str, str], ...] = ()
    #: The file the edits and imports apply to when it is not the finding's own: the init that
    #: must be corrected runs in another file (``netG.apply(weights_init)`` in a training script).
    path: str | None = None

    def target(self, finding_path: str) -> str:
        return self.path or finding_path


@dataclass(frozen=True)
class Evidence:
    """What the runtime verifier measured for a layer it reports (absent from static findings).

    ``measured`` is std·√fan for ``fan_mode`` (the layer's true fan_in or fan_out) with its
    1-alpha ``interval``; ``expected`` the gain the activation requires; ``p_value`` the
    Bonferroni-adjusted probability of weights this far from a correct scale, to compare with
    ``alpha`` (the false-alarm rate for the whole model).
    """

    module: str  # qualified module name, e.g. 'features.0'
    layer_class: str
    activation: str  # with its slope, e.g. 'LeakyReLU(0.2)'
    fan_mode: str
    measured: float
    interval: tuple[float, float]
    expected: float | None
    scheme: str  # what the weights look like
    p_value: float | None
    alpha: float

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "class": self.layer_class,
            "activation": self.activation,
            "fan_mode": self.fan_mode,
            "measured": self.measured,
            "measured_interval": list(self.interval),
            "expected": self.expected,
            "scheme": self.scheme,
            "p_value": self.p_value,
            "alpha": self.alpha,
        }


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at a place. Lines and columns are 1-based, as editors show them.

    In a notebook, ``cell`` is the 1-based index of the cell (counting every cell, as Jupyter
    and ruff do) and the lines count within it; it is None in a Python file."""

    path: str
    line: int
    column: int
    code: str
    message: str
    end_line: int = 0
    end_column: int = 0
    fix: Fix | None = field(default=None, compare=False)
    #: Set on runtime findings only; its keys are added to the JSON object when present.
    evidence: Evidence | None = field(default=None, compare=False)
    cell: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The stable public JSON shape (see README, "JSON output")."""
        data = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line or self.line,
            "end_column": self.end_column or self.column,
            "code": self.code,
            "message": self.message,
            "fix": None if self.fix is None else asdict(self.fix),
            "cell": self.cell,
        }
        if self.evidence is not None:
            data.update(self.evidence.to_json())
        return data
