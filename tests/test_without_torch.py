"""The static checker, the fixer and the flake8 plugin never import torch (lint-only CI images)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Make `import torch` fail in the child, as on a machine without it.
BLOCK_TORCH = "import sys; sys.modules['torch'] = None; "


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH + code], capture_output=True, text=True, cwd=ROOT, timeout=120,
        check=False,
    )


def test_cli_lints_and_fixes_without_torch(tmp_path: Path) -> None:
    target = tmp_path / "mlp.py"
    target.write_text((ROOT / "examples" / "mlp_default_init.py").read_text())
    result = _run(
        "from init_lint.cli import main; "
        f"code = main([{str(ROOT / 'examples')!r}, '--format', 'json']); "
        "assert code == 1, code; "
        "from init_lint.engine import lint_paths; from init_lint.fixer import fix_findings; "
        f"findings = lint_paths([{str(target)!r}]); "
        f"results = fix_findings(findings, {{{str(target)!r}: open({str(target)!r}, 'rb').read()}}); "
        "assert results and results[0].changed; "
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]"
    )
    assert result.returncode == 0, result.stderr
    assert '"code": "INI001"' in result.stdout


def test_flake8_plugin_runs_without_torch() -> None:
    result = _run(
        "from flake8.main.cli import main; "
        f"main(['--select', 'INI', {str(ROOT / 'examples' / 'mlp_default_init.py')!r}])"
    )
    assert "INI001" in result.stdout, result.stderr
    assert "ModuleNotFoundError" not in result.stderr and "ImportError" not in result.stderr
