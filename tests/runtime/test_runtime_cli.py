"""`init-lint verify` as a real subprocess (``python -m init_lint.runtime.cli``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # every test runs init-lint verify as a subprocess

FACTORIES = '''
import torch
from torch import nn
from torch.nn import init


def cnn(he=False, width=32):
    net = nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(width * 64, 10),
    )
    if he:
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return net


def broken():
    raise ValueError("no model today")


def not_a_model():
    return 42
'''


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "factories.py").write_text(FACTORIES)
    return tmp_path


def run(workdir: Path, *args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    paths = [str(p) for p in (extra_path, workdir) if p is not None]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-m", "init_lint.runtime.cli", *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=120,
    )


def test_findings_print_the_table_and_exit_1(workdir: Path) -> None:
    result = run(workdir, "factories:cnn", "--input-shape", "2,3,8,8")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    # The findings first, at the line that built each layer, as the linter prints them.
    assert lines[0].startswith(f"{workdir / 'factories.py'}:9:9: INI001 0 (Conv2d) feeds ReLU")
    assert lines[1].startswith(f"{workdir / 'factories.py'}:10:9: INI001 2 (Conv2d)")
    header = next(line for line in lines if line.startswith("layer "))
    assert header.split()[:3] == ["layer", "class", "follows"]
    assert any(line.startswith("0 ") and line.rstrip().endswith("INI001") for line in lines)
    assert "factories:cnn: 2 finding(s)" in result.stdout


def test_clean_model_exits_0_and_kwargs_reach_the_factory(workdir: Path) -> None:
    result = run(workdir, "factories:cnn", "--input-shape", "2,3,8,8",
                 "--kwargs", '{"he": true, "width": 64}')
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 finding(s)" in result.stdout
    assert "mode='fan_out'" in result.stdout or "inconclusive" in result.stdout


def test_json_is_the_linters_finding_array(workdir: Path) -> None:
    result = run(workdir, "factories:cnn", "--input-shape", "2,3,8,8", "--format", "json",
                 "--alpha", "0.001")
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert [f["code"] for f in findings] == ["INI001", "INI001"]
    assert set(findings[0]) == {"path", "line", "column", "end_line", "end_column", "code",
                                "message", "fix", "cell", "module", "class", "activation", "fan_mode",
                                "measured", "measured_interval", "expected", "scheme",
                                "p_value", "alpha"}
    first = findings[0]
    assert first["path"] == str(workdir / "factories.py")
    assert (first["line"], first["column"], first["fix"]) == (9, 9, None)
    assert (first["module"], first["class"], first["activation"]) == ("0", "Conv2d", "ReLU")
    low, high = first["measured_interval"]
    assert low <= first["measured"] <= high < first["expected"] == pytest.approx(2 ** 0.5)
    assert first["fan_mode"] == "fan_in" and first["scheme"].startswith("PyTorch default")
    assert first["p_value"] < first["alpha"] == 0.001
    assert first["message"].startswith("0 (Conv2d) feeds ReLU")


def test_sarif_and_github_point_at_the_constructor(workdir: Path) -> None:
    sarif = json.loads(run(workdir, "factories:cnn", "--input-shape", "2,3,8,8",
                           "--format", "sarif").stdout)
    result = sarif["runs"][0]["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "factories.py"
    assert (location["region"]["startLine"], location["region"]["startColumn"]) == (9, 9)
    github = run(workdir, "factories:cnn", "--input-shape", "2,3,8,8", "--format", "github")
    assert github.stdout.startswith("::warning file=factories.py,line=9,col=9,") or \
        github.stdout.startswith(f"::warning file={workdir / 'factories.py'},line=9,col=9,")


def test_static_merges_both_halves(workdir: Path) -> None:
    result = run(workdir, "factories:cnn", "--input-shape", "2,3,8,8", "--static")
    assert result.returncode == 1
    merged = result.stdout[result.stdout.index("built at"):]
    rows = [line.split() for line in merged.splitlines()[2:] if line.strip()]
    assert rows[0][:6] == ["0", "Conv2d", f"{workdir / 'factories.py'}:9", "INI001", "INI001",
                           "both"]
    assert "static vs runtime: 3 layer(s); both report 2, static only 0, runtime only 0" \
        in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere:cnn", "--input-shape", "2,3"], "cannot import 'nowhere': ModuleNotFoundError"),
        (["factories:missing", "--input-shape", "2,3"], "has no attribute 'missing'"),
        (["factories", "--input-shape", "2,3"], "target must look like package.module:factory"),
        (["factories:broken", "--input-shape", "2,3"], "ValueError: no model today"),
        (["factories:not_a_model", "--input-shape", "2,3"], "returned int, not a torch.nn.Module"),
        (["factories:cnn", "--input-shape", "2,x"], "--input-shape must be integers"),
        (["factories:cnn", "--input-shape", "2,5,8,8"], "forward pass of factories:cnn failed"),
        (["factories:cnn", "--input-shape", "2,3,8,8", "--kwargs", "[1]"], "JSON object"),
        (["factories:cnn"], "required: --input-shape"),
    ],
)
def test_usage_and_import_errors_exit_2_without_traceback(
    workdir: Path, args: list[str], message: str
) -> None:
    result = run(workdir, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_plot_writes_a_png(workdir: Path) -> None:
    pytest.importorskip("matplotlib")
    out = workdir / "signal.png"
    result = run(workdir, "factories:cnn", "--input-shape", "2,3,8,8", "--plot", str(out))
    assert result.returncode == 1
    assert out.read_bytes().startswith(b"\x89PNG")


def test_plot_without_matplotlib_is_a_clear_usage_error(workdir: Path, tmp_path: Path) -> None:
    hidden = tmp_path / "no_matplotlib"
    (hidden / "matplotlib").mkdir(parents=True)
    (hidden / "matplotlib" / "__init__.py").write_text("raise ImportError('hidden for a test')\n")
    result = run(workdir, "factories:cnn", "--input-shape", "2,3,8,8", "--plot",
                 str(workdir / "x.png"), extra_path=hidden)
    assert result.returncode == 2
    assert "pip install 'init-lint[plot]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_dispatches_verify(workdir: Path) -> None:
    script = shutil.which("init-lint", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("init-lint is not installed in this environment")
    result = subprocess.run([script, "verify", "factories:cnn", "--input-shape", "2,3,8,8"],
                            cwd=workdir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "factories:cnn: 2 finding(s)" in result.stdout
