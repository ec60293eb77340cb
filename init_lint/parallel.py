"""Per-file analysis in worker processes, with the on-disk cache in front of it.

Rounds (see :mod:`init_lint.prefilter`): every file is first compiled and, if it can report
something, analysed; then the files that name a class holding one of the layers found so far
are analysed in full, until no new such file turns up. Most files of a big tree are only
compiled. The first round runs in waves, importers before what they import (:func:`_waves`),
so that the contexts a model file builds a block class in reach the file that defines the block
before its first analysis (:func:`_seed_requests`); a file the prefilter turns down is analysed
in its wave too when it imports a class of a file it lets through (:func:`_builders`). The request
rounds run again only the files that still learn of a new context (an import cycle, a file
analysed in a later round), importers first too (:class:`_RequestRounds`).

Workers receive (path, module name, bytes) in chunks and stream back one plain-data result per
file (:class:`FileFacts`, an INI999 :class:`Finding`, or None); a CST never crosses a process
boundary nor outlives its file's analysis, so a worker's memory is that of the biggest file it
parses. A worker that dies (a native crash, the out-of-memory killer) costs exactly the file it
was analysing, reported as an INI999 internal error; a new worker takes over the rest of its
chunk. Results come back in input order whatever the scheduling, so a run's findings do not
depend on ``jobs``. A second worker starts only when there is enough work to pay for it
(:data:`BYTES_PER_WORKER`).
"""

from __future__ import annotations

import ast
import faulthandler
import gc
import multiprocessing
import os
import random
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from .cache import MISS, Cache, Miss, Result, encode_result
from .engine import (
    Options,
    analyze_source,
    asks_contexts,
    internal_error,
    module_name_for,
    referee,
)
from .function_sources import FunctionSources
from .prefilter import code_words, may_report, names_activation, wanted_names, words_of

if TYPE_CHECKING:
    from .analysis.contexts import Signature
    from .analysis.portable import FunctionSource, Request
    from .module_identity import Renamed

#: index, path, module name, source, full, and the contexts other files build its classes in
_Task = tuple[int, str, str, "str | bytes", bool, "Requests"]
#: Classes of the file other files build with arguments, portable functions of other files
#: that the file calls, and the names of the modules it imports with ``*`` (see
#: :mod:`init_lint.analysis.portable`).
Requests = tuple["Request", ...]
#: Rounds of requests (a class built with arguments in another file, run there with them; a
#: file run again with the portable functions it calls).
MAX_REQUEST_ROUNDS = 4
Progress = Callable[[int, int], None]

# Chunks per worker: enough for the pool to even out unequal files, few enough that sending
# tasks stays a small part of the work.
CHUNKS_PER_JOB = 8
#: Bytes of source a worker must have to process for another worker to be worth starting
#: (measured in benchmarks/pool_threshold.py: a fork and its messages cost about as much as
#: compiling 100 KB of source; parsing the files that matter costs more).
BYTES_PER_WORKER = 256 * 1024


#: Allocations between young-generation collections while analysing (CPython's default: 700).
#: A parse allocates millions of acyclic nodes; with the facts of earlier files alive, the
#: default makes the collector cost a sixth of a one-worker run (measured on timm+torchvision).
GC_THRESHOLDS = (50_000, 50, 1_000)


@contextmanager
def _collecting_less() -> Iterator[None]:
    """GC_THRESHOLDS while a run lasts: the parent too holds every file's facts, and receives
    results as millions of new objects (0.6 s of collections in a one-worker run on
    timm+torchvision with CPython's defaults)."""
    saved = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


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
    isolate: bool = False,
    progress: Progress | None = None,
    order_seed: str | None = None,
    names: list[str] | None = None,
    renamed: Sequence[Renamed | None] = (),
) -> list[Result]:
    """Each source's analysis result, in input order; cached ones are not analysed again.

    ``jobs`` ≤ 0 picks the number of workers from the amount of work, up to one per CPU.
    ``isolate``: analyse in worker processes even when one is enough (on platforms with
    ``fork``), so that a crash in native code cannot end the run. ``order_seed``: analyse in an
    order shuffled by it, and look each file up in the cache again just before analysing it
    (in this process), so that processes that analyse the same files at once (flake8's, each
    reading a named file's package) share the work through the cache instead of repeating it.
    ``names``: the sources' module names, when the caller has them; ``renamed``: the
    top-level module names each file's imports are to be read with (see
    :mod:`init_lint.module_identity`).
    """
    cache = Cache(cache_dir, options) if cache_dir is not None else None
    names = names if names is not None else [module_name_for(path) for path, _ in sources]
    results: list[Result] = [None] * len(sources)
    counter = _Counter(progress, len(sources))
    late_hits: set[int] = set()  # found in the cache by :meth:`_Workers.run`'s recheck
    words: dict[int, frozenset[str]] = {}  # see _next_round
    code: dict[int, frozenset[str] | None] = {}
    functions = FunctionSources(sources, names, cache, renamed)

    def recheck(task: _Task) -> Result | Miss:
        index, path, _, _, full, requests = task
        hit = (
            cache.load(_key(cache, index, sources, names, full, requests), path) if cache else MISS
        )
        if hit is not MISS:
            late_hits.add(index)
        return hit

    with _collecting_less(), _Workers(options, jobs, isolate, counter) as workers:
        workers.encode = cache is not None
        if cache is not None and order_seed is not None:
            workers.recheck = recheck
        levels = _levels(functions, len(sources))
        waves = _waves(levels)
        request_rounds = _RequestRounds(levels)
        pending, full = (waves.pop(0) if waves else []), False
        seeds = [may_report(source) for _, source in sources]
        builders = _builders(functions, seeds, sources)

        def forced(index: int) -> bool:  # analysed whether or not it can report (see _builders)
            return full or index in builders

        asked: dict[int, Requests] = {}
        given: set[int] = set()  # files given the sources of what they import and call
        done: set[int] = set()  # files with a result
        while pending:
            tasks: list[_Task] = []
            for index in pending:
                path, source = sources[index]
                # Before a file's first analysis (a later round's, for a file the prefilter
                # left out at first; contexts asked of it make it one), not in one more round.
                analysed = forced(index) or seeds[index] or asks_contexts(asked.get(index, ()))
                if index not in given and analysed:
                    given.add(index)
                    first = _first_requests(functions, index)
                    if first:
                        asked[index] = tuple(sorted({*asked.get(index, ()), *first}, key=repr))
                requests = asked.get(index, ())
                key = _key(cache, index, sources, names, forced(index), requests) if cache else ""
                hit = cache.load(key, path) if cache else MISS
                if hit is MISS:
                    tasks.append((index, path, names[index], source, forced(index), requests))
                else:
                    results[index] = hit  # type: ignore[assignment]
                    counter.step()
            if order_seed is not None:
                random.Random(order_seed).shuffle(tasks)
            for index, result in workers.run(tasks):
                results[index] = result
                if cache is not None and index not in late_hits:
                    key = _key(cache, index, sources, names, forced(index), asked.get(index, ()))
                    if index in workers.encoded:
                        cache.store_encoded(key, workers.encoded.pop(index))
                    else:
                        cache.store(key, result)
            done.update(pending)
            if waves:  # the rest of the first round, given what the files before asked of it
                _seed_requests(results, done, asked, functions)
                pending = waves.pop(0)
                continue
            pending, full = _next_round(sources, results, words, code), True
            if not pending:
                # Classes other files build with arguments: run again with those contexts.
                pending = request_rounds.next(_requested(results, names, asked, functions))
            counter.total += len(pending)
    return results


def _first_requests(functions: FunctionSources, index: int) -> Requests:
    """What a file's first analysis is given besides contexts: the portable functions it
    imports and uses, the names of the modules it imports with ``*``, its root's module names
    (see :mod:`init_lint.module_identity`)."""
    renamed = functions.renamed(index)
    return (
        *functions.imported_and_called(index),
        *functions.star_names(index),
        *((renamed,) if renamed is not None else ()),
    )


#: Import levels (see _levels): files deeper in the imports share the last one.
MAX_LEVELS = 16


def _levels(functions: FunctionSources, count: int) -> list[int]:
    """Each file's depth in the imports: files no other file imports are at 0; a file
    imported by one at level k is deeper (an import cycle, and what is deeper than MAX_LEVELS,
    share the last level)."""
    level = [0] * count
    edges = [(i, j) for i in range(count) for j in functions.imported_files(i) if j != i]
    last = MAX_LEVELS - 1
    for _ in range(MAX_LEVELS):  # each pass carries every path one import further
        changed = False
        for importer, imported in edges:
            wanted = min(level[importer] + 1, last)
            if level[imported] < wanted:
                level[imported], changed = wanted, True
        if not changed:
            break
    return level


def _waves(levels: list[int]) -> list[list[int]]:
    """The first round's files in waves by level, importers before what they import, so that
    a class a file builds with arguments is run with them at the first analysis of the file
    that defines it (see _seed_requests), not in one more."""
    waves: list[list[int]] = [[] for _ in range(MAX_LEVELS)]
    for index, level in enumerate(levels):
        waves[level].append(index)
    return [wave for wave in waves if wave]


class _RequestRounds:
    """The files to run again for contexts asked of them since their last run, importers
    first as in the first round's waves: a block run with a new context asks contexts of the
    blocks it builds, deeper in the imports, and those are run after it in the same round
    instead of in one more. A round runs each file at most once; a file asked something new
    after its run in a round (a class handed to another file's class, which builds it:
    ``ResNet(block=Bottle2neck)``) waits for the next. At most MAX_REQUEST_ROUNDS are run."""

    def __init__(self, levels: list[int]) -> None:
        self.levels = levels
        self.stale: set[int] = set()  # asked something new, not run since
        self.rounds = 0
        self.ran: set[int] = set()  # run in this round

    def next(self, asked_anew: list[int]) -> list[int]:
        """The files to run next, given the files asked something new by the last results."""
        self.stale.update(asked_anew)
        waiting = self.stale - self.ran
        if not waiting or self.rounds == 0:
            if not self.stale:
                return []
            self.rounds += 1
            if self.rounds > MAX_REQUEST_ROUNDS:
                self.stale.clear()
                return []
            self.ran.clear()
            waiting = set(self.stale)
        level = min(self.levels[index] for index in waiting)
        pending = sorted(index for index in waiting if self.levels[index] == level)
        self.stale.difference_update(pending)
        self.ran.update(pending)
        return pending


def _builders(
    functions: FunctionSources, seeds: list[bool], sources: Sequence[tuple[str, str | bytes]]
) -> frozenset[int]:
    """Files that import a class from a file the prefilter lets through (``from
    .vision_transformer import VisionTransformer`` in a file that only subclasses or builds
    it), whether or not the prefilter lets them through: its second test, on the code's own
    names, can turn down a file whose text passed the first (an activation named only in a
    string: ``create_act_layer('relu')``). They are analysed in the first round, in their wave,
    so that the contexts they build those classes in reach the defining file before its first
    analysis: found in a later round (see _next_round), they would make it run again. So are
    files that name an activation and build their layers with another file's function
    (``conv1x1(...)``): they name no layer class, yet their layers are theirs (see
    .analysis.portable)."""
    found = set()
    for index, seed in enumerate(seeds):
        if not seed and names_activation(sources[index][1]) and functions.calls_builder(index):
            found.add(index)  # its layers are built by another file's function (a builder)
            continue
        for qualified in functions.imports(index).values():
            home = functions.class_home(qualified)
            if home is not None and seeds[home[0]]:
                found.add(index)
                break
    return frozenset(found)


def _seed_requests(
    results: list[Result], done: set[int], asked: dict[int, Requests], functions: FunctionSources
) -> None:
    """The classes analysed files build with arguments, asked of the files not analysed yet
    that define them (found from their text): they run those contexts at their first analysis.
    Requests for analysed files are left to the request rounds (see _requested)."""
    from .analysis.facts import FileFacts

    new: dict[int, set[tuple[str, Signature]]] = {}
    for index in done:
        result = results[index]
        if not isinstance(result, FileFacts):
            continue
        for qualified, signature in result.requests:
            found = functions.class_home(qualified)
            if found is None or found[0] in done:
                continue
            request = (found[1], signature)
            if request not in asked.get(found[0], ()):
                new.setdefault(found[0], set()).add(request)
    for index, requests in new.items():
        asked[index] = tuple(sorted({*asked.get(index, ()), *requests}, key=repr))


def _key(
    cache: Cache,
    index: int,
    sources: Sequence[tuple[str, str | bytes]],
    names: list[str],
    full: bool,
    requests: Requests = (),
) -> str:
    path, source = sources[index]
    return cache.key(path, names[index], source, full, repr(requests) if requests else "")


def _next_round(
    sources: Sequence[tuple[str, str | bytes]],
    results: list[Result],
    words: dict[int, frozenset[str]],
    code: dict[int, frozenset[str] | None],
) -> list[int]:
    """Files not analysed yet that name a class holding a layer of the files analysed, or that
    name an activation and a class of a left-out file that builds layers (it may pass the
    activation in: ``Mlp(act_layer=nn.ReLU)``). ``words`` and ``code``: each file's words and
    the names its code uses, kept between rounds."""
    from .analysis.facts import FileFacts, Holders

    names = wanted_names(result for result in results if isinstance(result, FileFacts))
    holders = frozenset().union(*(r.classes for r in results if isinstance(r, Holders)))
    if not names and not holders:
        return []
    pending = []
    for index, result in enumerate(results):
        if result is not None and not isinstance(result, Holders):
            continue
        source = sources[index][1]
        if index not in words:
            words[index] = words_of(source)
        if _names_any(words[index], names, holders, source):
            # A mention in a comment or a docstring (``# as in EfficientNet``) is no use of
            # the class: confirmed on the code's own names, once per file.
            if index not in code:  # None: CPython cannot compile it (its analysis says so)
                tree = referee(source, sources[index][0])
                code[index] = code_words(tree) if isinstance(tree, ast.Module) else None
            used = code[index]
            if used is None or _names_any(used, names, holders, source):
                pending.append(index)
    return pending


def _names_any(
    words: frozenset[str], names: frozenset[str], holders: frozenset[str], source: str | bytes
) -> bool:
    return not names.isdisjoint(words) or (
        not holders.isdisjoint(words) and names_activation(source)
    )


def _requested(
    results: list[Result],
    names: list[str],
    asked: dict[int, Requests],
    functions: FunctionSources,
) -> list[int]:
    """Files whose classes other files build with arguments they were not yet run with, and
    files that call portable functions of other files they were not yet given (their requests,
    cumulative, go in ``asked``), and files to analyse to follow a re-export."""
    from .analysis.facts import FileFacts, Holders

    by_module = {name: index for index, name in enumerate(names)}
    follow: set[int] = set()

    def home(name: str) -> tuple[int, str] | None:
        """The file that defines a class, and its name there (through re-exports)."""
        for _ in range(8):
            module, _, attr = name.rpartition(".")
            index = by_module.get(module)
            if index is None:
                return None
            result = results[index]
            if isinstance(result, Holders):
                return (index, name) if attr in result.classes else None
            if not isinstance(result, FileFacts):
                follow.add(index)  # a package's __init__ left out: analyse it to follow it
                return None
            target = result.exports.get(attr)
            if target is None:
                return None
            if target == name:
                return index, name
            name = target
        return None

    from .analysis.portable import FunctionSource

    new: dict[int, set[tuple[str, Signature] | FunctionSource]] = {}
    for index, result in enumerate(results):
        if not isinstance(result, FileFacts):
            continue
        for qualified, signature in result.requests:
            found = home(qualified)
            if found is not None and (found[1], signature) not in asked.get(found[0], ()):
                new.setdefault(found[0], set()).add((found[1], signature))
        sources = functions.needed(result.calls, asked.get(index, ()))
        if sources:
            new.setdefault(index, set()).update(sources)
    for index, requests in new.items():
        replaced = {r.module for r in requests if isinstance(r, FunctionSource)}
        kept = [
            r
            for r in asked.get(index, ())
            if not isinstance(r, FunctionSource) or r.module not in replaced
        ]
        asked[index] = tuple(sorted({*kept, *requests}, key=repr))
    return sorted({*new, *(i for i in follow if results[i] is None)})


@dataclass
class _Counter:
    callback: Progress | None
    total: int
    done: int = 0

    def step(self) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total)


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection
    chunk: deque[_Task] = field(default_factory=deque)  # sent, not answered yet


class _Workers:
    """Worker processes that outlive a round; see the module docstring."""

    def __init__(self, options: Options, jobs: int, isolate: bool, counter: _Counter) -> None:
        self.options = options
        self.jobs = jobs if jobs > 0 else default_jobs()
        self.automatic = jobs <= 0
        self.isolate = isolate and _can_fork()
        self.counter = counter
        self.workers: list[_Worker] = []
        #: Looks a task up in the cache just before this process would analyse it.
        self.recheck: Callable[[_Task], Result | Miss] | None = None
        #: Workers encode each result for the cache, kept here by index, and the parent only
        #: writes files: what the parent does, the workers may wait for (a cold run on timm +
        #: torchvision: 5.6 s of the parent's CPU before, 3.9 s after).
        self.encode = False
        self.encoded: dict[int, str | None] = {}

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *_: object) -> None:
        for worker in self.workers:
            worker.connection.close()  # an idle worker ends at EOF
            if worker.chunk:
                worker.process.kill()  # a busy one (an interrupted run) is stopped
        for worker in self.workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self.workers = []

    def run(self, tasks: list[_Task]) -> Iterator[tuple[int, Result]]:
        """(index, result) of each task as they finish; every task yields exactly once."""
        if not tasks:
            return
        wanted = self._wanted(tasks)
        queue = deque(_chunks(tasks, wanted))
        if wanted > 1 or self.isolate:
            try:
                while len(self.workers) < min(wanted, len(queue)):
                    self.workers.append(self._start())
            except OSError:  # no process to be had (limits, memory): what started will do
                pass
        if not self.workers:
            yield from self._run_here(tasks)
            return
        while True:
            for worker in self.workers:
                if not worker.chunk and queue:
                    chunk = queue.popleft()
                    worker.chunk.extend(chunk)
                    worker.connection.send(chunk)
            if not any(worker.chunk for worker in self.workers):
                return
            for worker in self._ready():
                for index, result in self._receive(worker, queue):
                    yield index, result
                    self.counter.step()

    def _run_here(self, tasks: list[_Task]) -> Iterator[tuple[int, Result]]:
        for task in tasks:
            index, path, module_name, source, full, requests = task
            hit = self.recheck(task) if self.recheck is not None else MISS
            result = (
                analyze_source(
                    path, source, self.options, module_name, force=full, requests=requests
                )
                if hit is MISS
                else hit
            )
            yield index, result  # type: ignore[misc]
            self.counter.step()

    def _wanted(self, tasks: list[_Task]) -> int:
        if not self.automatic:
            return max(1, min(self.jobs, len(tasks)))
        work = sum(len(task[3]) for task in tasks)
        return max(1, min(self.jobs, len(tasks), work // BYTES_PER_WORKER))

    def _start(self) -> _Worker:
        parent_end, child_end = multiprocessing.Pipe()
        others = [w.connection for w in self.workers] + [parent_end]
        process = _context().Process(
            target=_serve, args=(child_end, self.options, others, self.encode), daemon=True
        )
        try:
            process.start()
        finally:
            child_end.close()
        return _Worker(process, parent_end)

    def _ready(self) -> list[_Worker]:
        handles: dict[Any, _Worker] = {}
        for worker in self.workers:
            if worker.chunk:
                handles[worker.connection] = worker
                handles[worker.process.sentinel] = worker
        ready = wait(list(handles))
        return list({id(handles[h]): handles[h] for h in ready}.values())

    def _receive(self, worker: _Worker, queue: deque[list[_Task]]) -> list[tuple[int, Result]]:
        """What a ready worker sent; if it died, an INI999 for the file it was on."""
        received = []
        try:
            while worker.chunk and worker.connection.poll():
                index, result, encoded = worker.connection.recv()
                if index != worker.chunk[0][0]:
                    raise EOFError("out of order")  # cannot happen; treat as a dead worker
                worker.chunk.popleft()
                if self.encode:
                    self.encoded[index] = encoded
                received.append((index, result))
        except (EOFError, OSError):
            worker.process.kill()
        if worker.chunk and not worker.process.is_alive():
            received.append(self._replace(worker, queue))
        return received

    def _replace(self, worker: _Worker, queue: deque[list[_Task]]) -> tuple[int, Result]:
        """The worker died on the first file of its chunk: report it, queue the rest."""
        worker.process.join()
        worker.connection.close()
        self.workers.remove(worker)
        index, path, *_ = worker.chunk.popleft()
        if worker.chunk:
            queue.appendleft(list(worker.chunk))
        code = worker.process.exitcode or 0
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        if queue:
            try:
                self.workers.append(self._start())
            except OSError:
                pass
        if queue and not self.workers:
            raise RuntimeError("cannot start a worker process to replace one that died")
        return index, internal_error(path, f"the process analysing it died, {how}")


def _serve(
    connection: Connection, options: Options, inherited: list[Connection], encode: bool
) -> None:
    """A worker: analyse each chunk it is sent, one result message per file, until EOF; with
    ``encode``, each result comes with its cache encoding."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    faulthandler.disable()  # a crash is reported by the parent, as an INI999 for its file
    for other in inherited:  # the parent's ends: only the parent may hold them (EOF on exit)
        other.close()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        while True:
            chunk = connection.recv()
            for index, path, module_name, source, full, requests in chunk:
                result = analyze_source(
                    path, source, options, module_name, force=full, requests=requests
                )
                connection.send((index, result, encode_result(result) if encode else None))
    except (EOFError, OSError, KeyboardInterrupt):
        pass


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


def _can_fork() -> bool:
    return sys.platform.startswith("linux")


def _context() -> Any:  # a multiprocessing context: fork or the platform's default
    # fork starts a worker in milliseconds with init_lint and libcst already imported; macOS
    # and Windows only support spawn safely.
    if _can_fork():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
