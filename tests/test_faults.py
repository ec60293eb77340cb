"""Filesystem faults (issue 13, item 8 and "Fault tests"): the run reports them and goes on, and
--fix never writes the wrong file, a stale file or half a file.

Some faults need a non-root process (root reads everything): as root, the command runs in a
child that drops to ``nobody`` after loading init-lint. The full disk is a 64 KB tmpfs, skipped
where mounting is not permitted.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cli_helpers import BIN, REPO, linted_paths, run, text_findings, write

from init_lint import cli, files, fixer
from init_lint.engine import lint_source
from init_lint.findings import Edit, Fix
from init_lint.rules import RULES

MLP = (REPO / "examples" / "mlp_default_init.py").read_bytes()
MLP_FIXED_LINE = b"        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity='relu')\n"
BROKEN = "def broken(:\n    pass\n"


def _fixed_mlp() -> bytes:
    [result] = fixer.fix_findings(lint_source(MLP, "m.py"), {"m.py": MLP})
    return result.fixed


# ------------------------------------------------------------------------------- non-root
@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can enter (pytest's tmp_path is private to us)."""
    path = Path(tempfile.mkdtemp(prefix="init-lint-faults-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for child in path.rglob("*"):
            if child.is_dir() and not child.is_symlink():
                child.chmod(0o755)
        shutil.rmtree(path)


AS_NOBODY = """\
import contextlib, io, os, sys
from init_lint import cli
with contextlib.redirect_stdout(io.StringIO()):  # load every module while root can
    cli.main(["--no-cache", "--jobs", "1", sys.argv[1]])
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
os.chdir(sys.argv[2])
sys.exit(cli.main(sys.argv[3:]))
"""


def _run_unprivileged(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    warm = Path(tempfile.mkdtemp())
    write(warm, "warm.py", MLP)
    write(warm, "config/pyproject.toml", "[tool.init-lint]\n")
    try:
        result = subprocess.run(
            [sys.executable, "-c", AS_NOBODY, str(warm), str(directory), "--no-cache", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        shutil.rmtree(warm)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_an_unreadable_file_and_directory_are_reported_to_a_non_root_user(
    shared_dir: Path,
) -> None:
    write(shared_dir, "model.py", MLP)
    secret = write(shared_dir, "secret.py", MLP)
    closed = shared_dir / "closed"
    write(closed, "hidden.py", MLP)
    secret.chmod(0)
    closed.chmod(0)
    result = _run_unprivileged(shared_dir, ".")
    assert result.returncode == 2
    assert {(f[0], f[3]) for f in text_findings(result.stdout)} == {
        ("model.py", "INI001"),
        ("secret.py", "INI999"),
    }
    assert "secret.py:1:1: INI999 cannot read file: Permission denied" in result.stdout
    assert "init-lint: error: closed: cannot read directory: permission denied" in result.stderr
    assert "All checks passed" not in result.stdout


# ------------------------------------------------------------------------- what is linted
def test_a_file_deleted_between_listing_and_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "gone.py", MLP)
    write(tmp_path, "model.py", MLP)
    listed = files.find_python_files

    def list_then_delete(*args: object, **kwargs: object) -> files.FileSet:
        found = listed(*args, **kwargs)  # type: ignore[arg-type]
        (tmp_path / "gone.py").unlink()
        return found

    monkeypatch.setattr(files, "find_python_files", list_then_delete)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--no-cache", "."]) == 1
    out = capsys.readouterr().out
    assert "gone.py:1:1: INI999 file not found" in out and "model.py:17:20: INI001" in out


@pytest.mark.slow
def test_fifos_devices_and_symlink_loops(tmp_path: Path) -> None:
    """A FIFO named *.py would block a reader forever: skipped in a tree, an error when named.
    None of these is "no such file"."""
    write(tmp_path, "model.py", BROKEN)
    os.mkfifo(tmp_path / "pipe.py")
    os.symlink("loop.py", tmp_path / "loop.py")
    tree = run("init-lint", "--no-cache", ".", cwd=tmp_path)
    assert tree.returncode == 1 and linted_paths(tree.stdout) == {"model.py"}
    assert "init-lint: warning: pipe.py: skipped: not a regular file (a FIFO)" in tree.stderr
    assert "loop.py: skipped: too many levels of symbolic links" in tree.stderr
    named = run(
        "init-lint", "--no-cache", "pipe.py", "/dev/null", "loop.py", "model.py", cwd=tmp_path
    )
    assert named.returncode == 2 and linted_paths(named.stdout) == {"model.py"}
    assert "pipe.py: not a regular file (a FIFO)" in named.stderr
    assert "/dev/null: not a regular file (a character device)" in named.stderr
    assert "loop.py: too many levels of symbolic links (a symlink loop)" in named.stderr
    assert "no such file" not in named.stderr


# ------------------------------------------------------------------------------- --fix
def test_an_edit_saved_while_fix_runs_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "m.py", MLP)
    planned = fixer.fix_findings

    def plan_then_the_user_saves(*args: object, **kwargs: object) -> list[fixer.FixResult]:
        results = planned(*args, **kwargs)  # type: ignore[arg-type]
        path.write_bytes(MLP + b"# the user's edit\n")
        return results

    monkeypatch.setattr(fixer, "fix_findings", plan_then_the_user_saves)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--no-cache", "--fix", "m.py"]) == 2
    assert path.read_bytes() == MLP + b"# the user's edit\n"
    captured = capsys.readouterr()
    assert "m.py: not fixed: it changed on disk since it was read" in captured.err
    assert "Fixed 0 finding(s) in 0 file(s)." in captured.out


@pytest.mark.slow
def test_symlinks_are_written_through_but_never_outside_the_named_paths(tmp_path: Path) -> None:
    outside = write(tmp_path, "outside/model.py", MLP)
    project = tmp_path / "project"
    inside = write(project, "real.py", MLP)
    (project / "alias.py").symlink_to("real.py")  # the same file: linted and fixed once
    (project / "escape.py").symlink_to(outside)
    result = run("init-lint", "--no-cache", "--fix", ".", cwd=project)
    assert result.returncode == 2
    assert "escape.py: not fixed: it is a symlink to" in result.stderr
    assert "outside the paths being linted" in result.stderr
    assert outside.read_bytes() == MLP
    assert inside.read_bytes() == _fixed_mlp()
    assert (project / "alias.py").is_symlink() and (project / "escape.py").is_symlink()
    # Named on the command line, the link's target is what the user asked to fix.
    named = run("init-lint", "--no-cache", "--fix", "escape.py", cwd=project)
    assert named.returncode == 0, named.stderr
    assert outside.read_bytes() == _fixed_mlp() and (project / "escape.py").is_symlink()


@pytest.mark.slow
def test_hard_links_mode_and_owner_are_kept(tmp_path: Path) -> None:
    first = write(tmp_path, "a.py", MLP)
    os.link(first, tmp_path / "b.py")
    first.chmod(0o640)
    alone = write(tmp_path, "c.py", MLP)
    if os.geteuid() == 0:
        os.chown(alone, 12345, 23456)
    result = run("init-lint", "--no-cache", "--fix", "a.py", "c.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert first.read_bytes() == (tmp_path / "b.py").read_bytes() == _fixed_mlp()
    assert first.stat().st_nlink == 2 and first.stat().st_mode & 0o777 == 0o640
    assert alone.read_bytes() == _fixed_mlp()
    if os.geteuid() == 0:
        assert (alone.stat().st_uid, alone.stat().st_gid) == (12345, 23456)


@pytest.mark.slow
def test_a_read_only_file_is_reported_not_rewritten(tmp_path: Path) -> None:
    frozen = write(tmp_path, "frozen.py", MLP)
    frozen.chmod(0o444)
    open_ = write(tmp_path, "open.py", MLP)
    result = run("init-lint", "--no-cache", "--fix", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "frozen.py: not fixed: the file is read-only" in result.stderr
    assert frozen.read_bytes() == MLP and open_.read_bytes() == _fixed_mlp()
    assert "Fixed 2 finding(s) in 1 file(s)." in result.stdout  # not the read-only file's


@pytest.mark.slow
def test_fix_stdin_exits_1_when_findings_are_left(tmp_path: Path) -> None:
    fixed = run("init-lint", "--no-cache", "--fix", "-", cwd=tmp_path, stdin=MLP)
    assert fixed.returncode == 0 and fixed.stdout.encode() == _fixed_mlp()
    report_only = "import torch.nn as nn\nnn.init.kaiming_normal_(nn.Linear(2, 2).bias)\n"
    left = run("init-lint", "--no-cache", "--fix", "-", cwd=tmp_path, stdin=report_only)
    assert left.returncode == 1 and left.stdout == report_only
    assert "<stdin>:2:1: INI004" in left.stderr


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _fill(disk: Path) -> None:
    descriptor = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * size)
    finally:
        os.close(descriptor)


@pytest.mark.slow
@pytest.mark.parametrize("linked", [False, True], ids=["renamed", "in-place"])
def test_a_full_disk_during_fix_leaves_the_file_as_it_was(tiny_disk: Path, linked: bool) -> None:
    source = MLP + b"#" * (4090 - len(MLP)) + b"\n"  # the fix needs a second 4 KB page
    path = write(tiny_disk, "m.py", source)
    if linked:
        os.link(path, tiny_disk / "other.py")
    _fill(tiny_disk)
    result = run("init-lint", "--no-cache", "--fix", "m.py", cwd=tiny_disk)
    assert result.returncode == 2
    assert "m.py: not fixed: " in result.stderr and "No space left on device" in result.stderr
    assert path.read_bytes() == source
    assert sorted(p.name for p in tiny_disk.iterdir()) == sorted(
        ["m.py", "filler", *(["other.py"] if linked else [])]
    )


@pytest.mark.slow
def test_two_fix_runs_at_once_agree(tmp_path: Path) -> None:
    models = sorted((REPO / "examples").glob("*.py"))
    reference = tmp_path / "reference"
    shared = tmp_path / "shared"
    for target in (reference, shared):
        target.mkdir()
        for model in models:
            shutil.copy(model, target)
    run("init-lint", "--no-cache", "--fix", ".", cwd=reference)
    command = [str(BIN / "init-lint"), "--no-cache", "--fix", "."]
    processes = [
        subprocess.Popen(command, cwd=shared, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        _, errors = process.communicate(timeout=300)
        assert b"Traceback" not in errors and process.returncode in (0, 1, 2), errors
    for model in models:
        assert (shared / model.name).read_bytes() == (reference / model.name).read_bytes()


@pytest.mark.slow
def test_sigkill_during_fix_leaves_each_file_original_or_fixed(tmp_path: Path) -> None:
    """Killed at random moments, every file is always either the original or the fixed one."""
    models = sorted((REPO / "examples").glob("*.py")) + sorted(
        (REPO / "tests" / "fixtures").glob("*.py")
    )
    reference = tmp_path / "reference"
    reference.mkdir()
    for model in models:
        shutil.copy(model, reference)
    run("init-lint", "--no-cache", "--fix", ".", cwd=reference)
    rng = random.Random(13)
    torn = []
    for attempt in range(20):
        work = tmp_path / f"attempt{attempt}"
        work.mkdir()
        for model in models:
            shutil.copy(model, work)
        process = subprocess.Popen(
            [str(BIN / "init-lint"), "--no-cache", "--jobs", "1", "--fix", "."],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.3, 2.5))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for model in models:
            content = (work / model.name).read_bytes()
            if content not in (model.read_bytes(), (reference / model.name).read_bytes()):
                torn.append(f"{attempt}: {model.name}")
        leftovers = [p.name for p in work.iterdir() if p.name.startswith(".init-lint-")]
        assert all(name.endswith(".tmp") for name in leftovers)
    assert torn == []


def test_fix_writes_nothing_when_the_result_would_not_compile() -> None:
    source = RULES["INI005"].invalid[0].source.encode()
    broken = Fix("an edit that breaks the file", (Edit(1, 1, 1, 1, "(\n"),))
    findings = [replace(finding, fix=broken) for finding in lint_source(source, "m.py")]
    result = fixer.fix_source("m.py", source, findings)
    assert result.error is not None and "would not parse" in result.error
    assert result.fixed == source and not result.changed


@pytest.mark.slow
def test_ctrl_c_stops_the_run_and_its_workers_without_a_traceback(tmp_path: Path) -> None:
    for index in range(1500):
        write(tmp_path, f"m{index}.py", MLP.replace(b"class MLP", f"class MLP{index}".encode()))
    process = subprocess.Popen(
        [str(BIN / "init-lint"), "--no-cache", "--jobs", "2", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # As from a terminal: a test run started in the background (`cmd &` without job
        # control) ignores SIGINT, and an ignored signal stays ignored across exec.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(1.5)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130 and b"Traceback" not in errors, errors
    assert b"init-lint: interrupted" in errors
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, check=False)
    assert left.stdout == b"", "worker processes outlived the run"
