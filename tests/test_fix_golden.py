"""Fix styles as golden pairs (as TorchFix does): ``tests/fixes/NAME.in.py`` fixed in one pass is
exactly ``NAME.out.py``, which then reports nothing fixable and changes no further. A folder
``tests/fixes/NAME/`` is a project: its ``*.in.py`` files are linted and fixed together.

A golden output that defines ``build()`` and ``EXAMPLE_INPUT_SHAPE`` (in a project: the file
that does) is also run with torch: the fixed model's layers are He-scaled for what follows them
at run time, every layer nobody flagged keeps its statistics, and the forward pass works."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from init_lint.engine import lint_sources
from init_lint.fixer import fix_until_stable

GOLDEN = Path(__file__).parent / "fixes"
CASES = sorted([*GOLDEN.glob("*.in.py"), *(p for p in GOLDEN.iterdir() if p.is_dir())])


def _name(case: Path) -> str:
    return case.name.removesuffix(".in.py")


def _inputs(case: Path) -> dict[str, Path]:
    """Module file name -> its golden input."""
    files = sorted(case.glob("*.in.py")) if case.is_dir() else [case]
    return {p.name.replace(".in.py", ".py"): p for p in files}


def _output(source: Path) -> Path:
    return source.with_name(source.name.replace(".in.py", ".out.py"))


@pytest.mark.parametrize("case", CASES, ids=_name)
def test_fix_matches_the_golden_output(case: Path) -> None:
    inputs = _inputs(case)
    run = fix_until_stable(
        {name: path.read_bytes() for name, path in inputs.items()},
        lambda s: lint_sources(s.items()),
        max_rounds=1,
    )
    assert not run.unstable, "one pass must reach the fixed point"
    for name, path in inputs.items():
        result = run.results.get(name)
        fixed = result.fixed if result is not None else path.read_bytes()
        assert fixed == _output(path).read_bytes(), name
    assert not [f for f in run.findings if f.fix is not None], "nothing fixable is left"


def test_every_golden_input_has_its_output() -> None:
    assert CASES
    for case in CASES:
        for source in _inputs(case).values():
            assert _output(source).is_file(), source


def _load_project(case: Path, workdir: Path, suffix: str) -> ModuleType | None:
    """Import the golden files ending in ``suffix`` under their module names (they import each
    other by those); the module that defines ``build`` (None: none does). Module-level code
    runs here: seed torch first."""
    folder = workdir / suffix.strip(".").replace(".", "_")
    folder.mkdir()
    names = []
    for name, source in _inputs(case).items():
        (folder / name).write_bytes(
            (_output(source) if suffix == ".out.py" else source).read_bytes()
        )
        names.append(name.removesuffix(".py"))
    sys.path.insert(0, str(folder))
    try:
        for name in names:
            sys.modules.pop(name, None)
        modules = [importlib.import_module(name) for name in names]
    finally:
        sys.path.remove(str(folder))
        for name in names:
            sys.modules.pop(name, None)
    return next((m for m in modules if hasattr(m, "build")), None)


@pytest.mark.parametrize("case", CASES, ids=_name)
def test_fixed_golden_models_are_he_scaled_at_run_time(case: Path, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from init_lint.runtime import verify

    torch.manual_seed(0)
    original = _load_project(case, tmp_path, ".in.py")
    if original is None:
        pytest.skip("no build() in this golden case")
    before = original.build()
    torch.manual_seed(0)
    fixed = _load_project(case, tmp_path, ".out.py")
    assert fixed is not None
    after = fixed.build()
    example = torch.randn(*fixed.EXAMPLE_INPUT_SHAPE)
    with torch.no_grad():
        assert torch.isfinite(after(example)).all()
    assert verify(before, example, alpha=0.001).findings, "the golden input must have a problem"
    report = verify(after, example, alpha=0.001)
    assert not report.findings, str(report)
    # Layers the runtime could fault before (a finding, or not decided): the fix may move them.
    judged = verify(before, example, alpha=0.001)
    flagged = {f.evidence.module for f in judged.findings} | {
        layer.name for layer in judged.inconclusive
    }
    for (name, old), (_, new) in zip(
        before.named_parameters(), after.named_parameters(), strict=True
    ):
        if not name.endswith("weight") or old.dim() < 2 or name.rsplit(".", 1)[0] in flagged:
            continue
        assert abs(new.std().item() / old.std().item() - 1) < 0.2, name
