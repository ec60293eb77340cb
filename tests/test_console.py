"""Output and environment (issue 13, item 6): printing never fails on an encoding, a broken
environment is an error message, and "the tool broke" has its own exit status."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import BIN, REPO, run, text_findings, write

from init_lint import console
from init_lint.rules import RULES

MLP = (REPO / "examples" / "mlp_default_init.py").read_text()


@pytest.mark.parametrize("encoding", ["cp1252", "ascii", "latin-1"])
def test_an_output_encoding_without_the_symbols_gets_ascii_spellings(
    tmp_path: Path, encoding: str
) -> None:
    write(tmp_path, "mlp.py", MLP)
    result = run(
        "init-lint", "--no-cache", "mlp.py", cwd=tmp_path, env={"PYTHONIOENCODING": encoding}
    )
    assert result.returncode == 1 and result.stderr == ""
    assert "(std ~ 0.58/sqrt fan_in)" in result.stdout
    assert len(text_findings(result.stdout)) == 2


def test_a_file_name_that_is_not_utf8_is_printed_as_its_bytes(tmp_path: Path) -> None:
    name = b"caf\xe9.py"
    (tmp_path / os.fsdecode(name)).write_text(MLP)
    result = subprocess.run(
        [str(BIN / "init-lint"), "--no-cache", "."],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},  # strict UTF-8
    )
    assert result.returncode == 1 and result.stderr == b""
    assert result.stdout.startswith(name + b":17:20: INI001 ")


@pytest.mark.parametrize("output", ["/dev/full", "closed"])
def test_an_output_that_cannot_be_written_is_an_error_not_a_traceback(
    tmp_path: Path, output: str
) -> None:
    write(tmp_path, "mlp.py", MLP)
    stdout = open(os.devnull if output == "closed" else output, "wb")  # noqa: SIM115
    with stdout:
        result = subprocess.run(
            [str(BIN / "init-lint"), "--no-cache", "mlp.py"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL if output == "closed" else stdout,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
            preexec_fn=(lambda: os.close(1)) if output == "closed" else None,
        )
    message = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in message, message
    assert "init-lint: error: cannot write the output: " in message


def test_a_deleted_working_directory_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    model = write(tmp_path, "mlp.py", MLP)
    script = (
        f"import os, sys; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); "
        f"from init_lint.cli import main; sys.exit(main([{str(model)!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the current directory is not accessible" in result.stderr


def test_progress_is_shown_on_a_terminal_for_a_long_run(tmp_path: Path) -> None:
    """stderr on a real pseudo-terminal; the one-second delay is set to 0 for the test."""
    for index in range(6):
        write(tmp_path, f"m{index}.py", RULES["INI005"].invalid[0].source)
    script = (
        "import sys\nfrom init_lint import console\nconsole.Progress.DELAY = 0\n"
        "console.Progress.INTERVAL = 0\nfrom init_lint.cli import main\n"
        "sys.exit(main(['--no-cache', '.']))\n"
    )
    leader, follower = pty.openpty()
    with open(leader, "rb", buffering=0) as terminal:
        process = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            check=False,
        )
        os.close(follower)
        shown = b""
        try:
            while chunk := terminal.read(4096):
                shown += chunk
        except OSError:  # EIO: the other end is closed and everything was read
            pass
    assert process.returncode == 1
    assert b"\rinit-lint: 6/6 files" in shown and shown.endswith(b"\r")
    assert b"init-lint:" not in process.stdout  # stdout (the findings) stays clean
    assert len(text_findings(process.stdout.decode())) == 6


def test_progress_is_silent_when_not_on_a_terminal_or_quick() -> None:
    stream = io.StringIO()
    progress = console.Progress(stream)
    progress.update(1, 2)
    progress.finish()
    assert stream.getvalue() == ""
