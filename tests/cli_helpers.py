"""Helpers for tests that run the real console scripts (init-lint, flake8, pre-commit)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from init_lint.rules import RULES

REPO = Path(__file__).resolve().parent.parent
#: The scripts of the environment running the tests (the venv that installed init-lint).
BIN = Path(sys.executable).parent

#: ``path:line:col: CODE message``, as both init-lint's text format and flake8 print it
#: (init-lint marks a finding that ``--fix`` fixes with ``[*]`` after the code, as ruff does).
TEXT_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) (?P<fixable>\[\*\] )?"
    r"(?P<msg>.*)$"
)

#: A file that does not parse: every linted copy of it yields exactly one INI999, which makes it a
#: probe for "was this file linted?" that needs no rule analysis.
BROKEN = "def broken(:\n    pass\n"

#: Conv -> BatchNorm -> ReLU with PyTorch's default init: reported only with through-norm.
THROUGH_NORM = RULES["INI001"].valid[1].source


def run(
    tool: str,
    *args: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None = None,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    result = subprocess.run(
        [str(BIN / tool), *map(str, args)],
        cwd=cwd,
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        env=full_env,
        timeout=300,
    )
    completed = subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed


def text_findings(output: str) -> set[tuple[str, int, int, str, str]]:
    """(path, line, col, code, message) of every finding line in text output."""
    found = set()
    for line in output.splitlines():
        match = TEXT_LINE.match(line)
        if match:
            path = os.path.normpath(match["path"])
            found.add((path, int(match["line"]), int(match["col"]), match["code"], match["msg"]))
    return found


def json_findings(tmp_cwd: Path, *args: str) -> list[dict[str, Any]]:
    result = run("init-lint", "--format", "json", *args, cwd=tmp_cwd)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def linted_paths(output: str) -> set[str]:
    """The files an init-lint run linted, when every file is a :data:`BROKEN` probe."""
    return {path for path, _, _, code, _ in text_findings(output) if code == "INI999"}


GIT_IDENTITY = {
    name: "init-lint tests"
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")
}


def snapshot_checkout(directory: Path) -> str:
    """Copy this checkout's tracked and new files into ``directory`` as a one-commit git
    repository (so that uncommitted work is what gets installed); its commit."""

    def git(*args: str, cwd: Path) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
            env={**os.environ, **GIT_IDENTITY},
        ).stdout  # fmt: skip

    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, directory / name)
    git("init", "-q", cwd=directory)
    git("add", "-A", cwd=directory)
    git("commit", "-q", "--no-verify", "-m", "snapshot", cwd=directory)
    return git("rev-parse", "HEAD", cwd=directory).strip()
