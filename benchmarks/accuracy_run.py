"""Process plumbing for ``benchmarks/accuracy.py``: a pool of model-building workers with a time
budget per job, a per-model result cache, and the ``init-lint`` command line of the repository
under test."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

WORKER_SCRIPT = Path(__file__).resolve().with_name("accuracy_worker.py")
#: Child processes write no __pycache__ into the checkout under test (--repo may be another
#: engineer's tree) nor into the fixed copies.
NO_BYTECODE = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
#: Importing torch, torchvision and timm takes a few seconds (more on a loaded machine).
STARTUP_TIMEOUT = 180.0


class WorkerTimeout(Exception):
    pass


class WorkerDied(Exception):
    pass


class WorkerProcess:
    """One ``accuracy_worker.py`` subprocess in its own session (so that killing it also kills
    anything it started), restarted on demand after a timeout or a crash."""

    def __init__(self, sys_path: list[str], threads: int, log_path: Path) -> None:
        self.argv = [sys.executable, str(WORKER_SCRIPT), "--threads", str(threads)]
        for entry in sys_path:
            self.argv += ["--sys-path", entry]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.buffer = b""
        self.hello: dict[str, Any] = {}

    def _start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=NO_BYTECODE,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        self.buffer = b""
        self.hello = self._exchange({"op": "hello"}, STARTUP_TIMEOUT)
        if not self.hello.get("ok"):
            raise WorkerDied(f"worker failed to start: {self.hello.get('error')}")

    def call(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self._start()
        return self._exchange(job, timeout)

    def _exchange(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        process = self.process
        assert process is not None and process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write((json.dumps(job) + "\n").encode())
            process.stdin.flush()
        except BrokenPipeError as error:
            self.stop()
            raise WorkerDied(self.log_tail()) from error
        deadline = time.monotonic() + timeout
        fd = process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise WorkerTimeout(f"timed out after {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    code = process.wait()
                    self.process = None
                    raise WorkerDied(f"exit status {code}; log tail:\n{self.log_tail()}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # our own worker's session only
            except ProcessLookupError:
                pass
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def log_tail(self, size: int = 1500) -> str:
        try:
            data = self.log_path.read_bytes()[-size:]
        except OSError:
            return ""
        return data.decode(errors="replace")


class Pool:
    """``workers`` worker processes, each fed jobs in order by its own thread."""

    def __init__(self, sys_path: list[str], workers: int, log_dir: Path, tag: str) -> None:
        threads = 1 if workers > 1 else max(os.cpu_count() or 1, 1)
        self.workers = [
            WorkerProcess(sys_path, threads, log_dir / f"{tag}-worker{slot}.log")
            for slot in range(workers)
        ]

    def hello(self) -> dict[str, Any]:
        self.workers[0].call({"op": "hello"}, STARTUP_TIMEOUT)
        return self.workers[0].hello

    def call(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        return self._guarded(self.workers[0], job, timeout)

    @staticmethod
    def _guarded(worker: WorkerProcess, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        try:
            return worker.call(job, timeout)
        except WorkerTimeout as error:
            return {"ok": False, "timeout": True, "error": str(error)}
        except WorkerDied as error:
            return {"ok": False, "crashed": True, "error": f"worker died: {error}"}

    def run(
        self,
        jobs: Iterable[dict[str, Any]],
        timeout: Callable[[dict[str, Any]], float],
        done: Callable[[dict[str, Any], dict[str, Any]], None],
    ) -> None:
        """Run every job; ``done(job, result)`` is called under a lock as each one finishes."""
        queue = deque(jobs)
        lock = threading.Lock()
        failures: list[BaseException] = []

        def loop(worker: WorkerProcess) -> None:
            try:
                while True:
                    with lock:
                        if not queue or failures:
                            return
                        job = queue.popleft()
                    result = self._guarded(worker, job, timeout(job))
                    with lock:
                        done(job, result)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                failures.append(error)

        threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in self.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]

    def close(self) -> None:
        for worker in self.workers:
            if worker.process is not None and worker.process.stdin is not None:
                try:  # end of input: the worker's loop ends and it exits by itself
                    worker.process.stdin.close()
                    worker.process.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            worker.stop()


class ResultCache:
    """One JSON file per (kind, package, model) under a directory named by what the results
    depend on, so that changed versions or runtime code never reuse stale results."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, kind: str, package: str, model: str) -> Path:
        return self.root / kind / package / f"{model}.json"

    def load(self, kind: str, package: str, model: str) -> dict[str, Any] | None:
        try:
            with open(self.path(kind, package, model)) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def store(self, kind: str, package: str, model: str, data: dict[str, Any]) -> None:
        path = self.path(kind, package, model)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)


def digest(files: dict[str, Path], *extra: str) -> str:
    """A short hash of files' contents under stable labels (not their locations, so that two
    checkouts with the same sources share cache entries), plus extra strings."""
    hasher = hashlib.sha256()
    for label, path in sorted(files.items()):
        hasher.update(label.encode() + b"\0" + path.read_bytes() + b"\0")
    for text in extra:
        hasher.update(text.encode() + b"\0")
    return hasher.hexdigest()[:12]


def runtime_sources(repo: Path) -> dict[str, Path]:
    """The init_lint files the runtime verdicts depend on (not the static analysis), by their
    path in the checkout."""
    package = repo / "init_lint"
    files = list((package / "runtime").rglob("*.py"))
    files += list(package.glob("knowledge*.py")) + list((package / "knowledge").rglob("*.py"))
    return {path.relative_to(repo).as_posix(): path for path in files}


# -- the init-lint command line ----------------------------------------------------------------


def python_files(package_dir: Path) -> list[str]:
    return sorted(
        str(path) for path in package_dir.rglob("*.py") if "__pycache__" not in path.parts
    )


def init_lint(repo: Path, args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m init_lint.cli ARGS`` with the repository under test first on the path."""
    env = {**NO_BYTECODE, "PYTHONPATH": str(repo)}
    env.pop("NO_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "init_lint.cli", *args],
        capture_output=True,
        env=env,
        cwd=cwd or tempfile.gettempdir(),
        check=False,
    )


def lint_json(repo: Path, package_dir: Path, through_norm: bool) -> tuple[list[dict], float]:
    """Findings of ``init-lint --format json --no-cache`` over every .py file of the package
    (named one by one, so the default excludes such as ``site-packages`` do not apply)."""
    args = ["--format", "json", "--no-cache", "--exit-zero"]
    if through_norm:
        args.append("--through-norm")
    start = time.perf_counter()
    result = init_lint(repo, [*args, *python_files(package_dir)])
    seconds = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise RuntimeError(
            f"init-lint exited {result.returncode}: {result.stderr.decode(errors='replace')}"
        )
    return json.loads(result.stdout or b"[]"), seconds


FIXED_LINE = re.compile(r"Fixed (\d+) finding\(s\) in (\d+) file\(s\)")


def fix_in_place(repo: Path, package_dir: Path) -> tuple[int | None, int | None, str]:
    """``init-lint --fix --no-cache`` over the package: (findings fixed, files changed, output)."""
    result = init_lint(repo, ["--fix", "--no-cache", "--no-color", *python_files(package_dir)])
    output = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    if result.returncode not in (0, 1):
        raise RuntimeError(f"init-lint --fix exited {result.returncode}: {output[-2000:]}")
    match = FIXED_LINE.search(output)
    if match is None:
        return None, None, output
    return int(match.group(1)), int(match.group(2)), output


def diff_after(repo: Path, package_dir: Path) -> str:
    """What ``init-lint --diff`` would still change (empty at the fixed point)."""
    result = init_lint(repo, ["--diff", "--no-cache", "--no-color", *python_files(package_dir)])
    if result.returncode not in (0, 1):
        raise RuntimeError(
            f"init-lint --diff exited {result.returncode}: {result.stderr.decode(errors='replace')}"
        )
    return result.stdout.decode(errors="replace")
