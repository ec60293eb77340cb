"""Per-file analysis over a process pool, with the on-disk cache in front of it.

Workers receive (path, module name, bytes) in chunks and send back plain-data results
(:class:`FileFacts`, an INI999 :class:`Finding`, or None for a file the prefilter skipped); a
CST never crosses a process boundary nor outlives its file's analysis. Results come back in
input order whatever the scheduling, so a run's findings do not depend on ``jobs``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from .cache import MISS, Cache, Result
from .engine import Options, analyze_source, module_name_for

_Task = tuple[int, str, str, "str | bytes"]  # input index, path, module name, source

# Chunks per worker: enough for the pool to even out unequal files, few enough that sending
# tasks and results stays a small part of the work.
CHUNKS_PER_JOB = 8


def default_jobs() -> int:
    """The CPUs this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def analyze_all(
    sources: Sequence[tuple[str, str | bytes]],
    options: Options,
    *,
    jobs: int = 1,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[Result]:
    """Each source's analysis result, in input order; cached ones are not analysed again."""
    results: list[Result] = [None] * len(sources)
    cache = Cache(cache_dir, options) if cache_dir is not None else None
    keys: dict[int, str] = {}
    pending: list[_Task] = []
    for index, (path, source) in enumerate(sources):
        module_name = module_name_for(path)
        if cache is not None:
            keys[index] = cache.key(path, module_name, source)
            hit = cache.load(keys[index], path)
            if hit is not MISS:
                results[index] = hit  # type: ignore[assignment]
                continue
        pending.append((index, path, module_name, source))
    for index, result in _analyze(pending, options, jobs if jobs > 0 else default_jobs()):
        results[index] = result
        if cache is not None:
            cache.store(keys[index], result)
    return results


def _analyze(tasks: list[_Task], options: Options, jobs: int) -> list[tuple[int, Result]]:
    if jobs <= 1 or len(tasks) <= 1:
        return _analyze_chunk(tasks, options)
    done: list[tuple[int, Result]] = []
    try:
        with ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=_context()) as pool:
            chunks = _chunks(tasks, jobs)
            futures = [pool.submit(_analyze_chunk, chunk, options) for chunk in chunks]
            for future in as_completed(futures):
                done.extend(future.result())
    except BrokenProcessPool:
        # A worker died (killed, out of memory): finish here rather than lose the run.
        finished = {index for index, _ in done}
        done.extend(_analyze_chunk([t for t in tasks if t[0] not in finished], options))
    return done


def _analyze_chunk(tasks: list[_Task], options: Options) -> list[tuple[int, Result]]:
    return [
        (index, analyze_source(path, source, options, module_name))
        for index, path, module_name, source in tasks
    ]


def _chunks(tasks: list[_Task], jobs: int) -> list[list[_Task]]:
    """Chunks of about equal size in bytes, largest files first, so that the last chunks to
    finish are small ones and the workers end together."""
    ordered = sorted(tasks, key=lambda task: len(task[3]), reverse=True)
    budget = sum(len(task[3]) for task in tasks) / (jobs * CHUNKS_PER_JOB)
    chunks: list[list[_Task]] = [[]]
    filled = 0
    for task in ordered:
        if chunks[-1] and filled + len(task[3]) > budget:
            chunks.append([])
            filled = 0
        chunks[-1].append(task)
        filled += len(task[3])
    return chunks


def _context() -> multiprocessing.context.BaseContext:
    # fork starts a worker in milliseconds with init_lint and libcst already imported; macOS
    # and Windows only support spawn safely.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
