"""Streaming a batch through an executor: start the local pool, submit cities as they are planned, hand each result
back as it comes, survive a dead pool worker, and stop cleanly on Ctrl-C or SIGTERM.

Kept apart from `run.py` (what a city is) so that this part (futures, processes, signals) reads on its own.
"""

from __future__ import annotations

import contextlib
import glob
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .worker import start_now, warm_worker

STOP_GRACE = 3.0  # seconds a stopped worker gets to kill its kernel and exit before it is killed
STALL_MARGIN = 180.0  # seconds beyond the per-city timeout with no city finishing before the pool is killed
WORKER_DIED = ("the worker process rendering this city died (killed, or out of memory); the other cities went on; "
               "re-run to try it again")


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the batch; `code` is the exit code (130 or 143), `message` the one line to print."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.code, self.message = 128 + signum, message


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that the batch stops the same way."""

    signum = signal.SIGTERM


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While a batch runs, SIGTERM raises `Terminated` in the main thread (elsewhere signals are not ours)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def no_signals(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Ctrl-C and SIGTERM wait while the batch cleans up after one (a second Ctrl-C never leaves half a cleanup).
    Around starting worker processes, an ignored SIGINT is inherited: a worker never sees Ctrl-C, even before its
    initializer runs (Python keeps an ignored SIGINT ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in signums}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def signals_deferred(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Ctrl-C or SIGTERM arriving inside the block take effect when it ends: a city's report and manifest are
    written whole, then the batch stops as asked (nothing is lost, unlike an ignored signal)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in signums}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if received:
            signal.raise_signal(received[0])


class Claims:
    """The city folders this run has taken, shared by the main process and every worker through the file system:
    a folder is taken by creating `.ssc-claim-<run>` in it exclusively, so two submissions of the same city and
    year in one batch never write into one folder, whichever worker reads them. Used like a set of folders."""

    PREFIX = ".ssc-claim-"

    def __init__(self, run_id: str):
        self.run_id = run_id

    def __contains__(self, folder: object) -> bool:
        """True when the folder is already taken; otherwise take it now."""
        city_dir = Path(str(folder))
        city_dir.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(city_dir / f"{self.PREFIX}{self.run_id}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return True
        return False

    def add(self, folder: str) -> None:
        """Taken already by the test in `__contains__`."""

    def release(self, out: Path) -> None:
        for claim in out.glob(f"*/*/{self.PREFIX}{self.run_id}"):
            claim.unlink(missing_ok=True)


class Stream:
    """Cities submitted one by one (the pool starts with the first), results handed back in completion order.

    `start_pool(n)` makes a pool for n cities (None when the caller brought its own executor, which is then never
    restarted or stopped here)."""

    def __init__(self, start_pool: Callable[[int], Executor] | None, executor: Executor | None, timeout: float,
                 started: Path | None = None):
        self.start_pool, self.executor, self.timeout = start_pool, executor, timeout
        self.futures: dict[Future, Any] = {}
        self.jobs: dict[Any, tuple[Callable, tuple, int]] = {}
        self.started = started  # where workers note which city they hold (`announce`): a dead one's city is known
        self.processes: dict[int, Any] = {}  # pid -> the pool's worker processes seen so far
        self.stalled = False
        self.broke = False  # a worker died: its temporary files are left for the sweep at the end

    @property
    def local(self) -> bool:
        """The stream runs its own local pool (not the caller's executor)."""
        return self.start_pool is not None

    def warm(self, cities: int) -> Executor:
        """Start the pool now (its workers warm up) if it is not running yet."""
        if self.executor is None:
            assert self.start_pool is not None, "a batch without an executor brings a way to start one"
            self.executor = self.start_pool(cities)
        return self.executor

    def submit(self, key: Any, fn: Callable, *args: Any, cities: int = 1) -> None:
        executor = self.warm(cities)
        self.jobs[key] = (fn, args, self.jobs.get(key, (fn, args, 0))[2] + 1)
        self.futures[executor.submit(fn, *args)] = key

    def collect(self, on_done: Callable[[Any, Any, BaseException | None], None], bar=None) -> None:
        """Wait for every city; `on_done(key, result, error)` as each finishes (error: why it did not)."""
        last = time.monotonic()
        while self.futures:
            done, _ = wait(list(self.futures), timeout=0.5, return_when="FIRST_COMPLETED")
            self.processes.update(getattr(self.executor, "_processes", None) or {})
            if not done:
                if time.monotonic() - last > self.timeout + STALL_MARGIN:
                    self._stall(on_done)
                continue
            last = time.monotonic()
            broken = []
            for fut in done:
                key = self.futures.pop(fut)
                error = fut.exception()
                if isinstance(error, BrokenProcessPool):
                    broken.append((fut, key))
                    continue
                on_done(key, None if error else fut.result(), error)
                if bar is not None:
                    bar.update(1)
            if broken:
                self._after_broken_pool(broken, on_done, bar)

    def _after_broken_pool(self, broken, on_done, bar) -> None:
        """A worker died and the pool with it: the city that worker held fails, the others run again on a fresh
        pool (once each)."""
        self.broke = True
        retry = []
        for _, key in broken:
            fn, args, attempts = self.jobs[key]
            if self._held_by_the_dead(key) or attempts > 1 or self.start_pool is None:
                on_done(key, None, RuntimeError(WORKER_DIED))
                if bar is not None:
                    bar.update(1)
            else:
                retry.append(key)
        if retry:
            self.stop(kill=True)
            self.executor = None
            for key in retry:
                fn, args, _ = self.jobs[key]
                self.submit(key, fn, *args, cities=len(retry))

    def _held_by_the_dead(self, key: Any) -> bool:
        """The city's worker (from its note) ended otherwise than by the pool's own SIGTERM (exit 143 from
        `worker._stop_worker`): it is the one that died. Without a note, the city never started."""
        try:
            pid = int((self.started / str(key)).read_text()) if self.started else 0
        except (OSError, ValueError):
            return False
        process = self.processes.get(pid)
        if process is None:
            return True
        with contextlib.suppress(Exception):
            process.join(STOP_GRACE)
        return process.exitcode not in (128 + signal.SIGTERM, -signal.SIGTERM)

    def _stall(self, on_done) -> None:
        """No city has finished for longer than any city may take: a worker is stuck outside its watchdog."""
        self.stalled = True
        for fut, key in list(self.futures.items()):
            fut.cancel()
            on_done(key, None, TimeoutError(f"timed out after {self.timeout:g} s"))
        self.futures.clear()

    def stop(self, kill: bool) -> None:
        """Shut the pool down; with `kill`, stop its workers now (each kills its kernel on SIGTERM), wait for them
        to go, and kill any that linger. Only a pool this stream started is stopped."""
        if self.executor is None or self.start_pool is None:
            return
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        if kill:
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.terminate()
        manager = getattr(self.executor, "_executor_manager_thread", None)
        self.executor.shutdown(wait=not kill, cancel_futures=True)
        end = time.monotonic() + STOP_GRACE
        for proc in processes:
            proc.join(max(0.0, end - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(1)
        if manager is not None:  # let it close its wake-up pipe now: at interpreter exit, concurrent.futures would
            manager.join(max(0.1, end - time.monotonic()))  # write to that pipe as it closes (a traceback after Ctrl-C)
        self.executor = None


def start_pool(jobs: int | None, cities: int, kernel: bool = True) -> ProcessPoolExecutor:
    """A local pool of at most `cities` workers, each warming up reading, scoring, the report's code and (for a
    notebook that runs on a kernel) its kernel as soon as it starts."""
    workers = max(1, min(jobs or os.cpu_count() or 1, cities))
    with no_signals((signal.SIGINT,)):  # the workers start with Ctrl-C ignored (the batch decides what stops)
        executor = ProcessPoolExecutor(max_workers=workers, initializer=warm_worker,
                                       initargs=(kernel,), mp_context=multiprocessing.get_context(start_method()))
        for _ in range(workers):
            executor.submit(start_now)
    return executor


def start_method() -> str:
    """fork where it is safe: a process with no other thread and no event loop (`ssc assess` on Linux), whose
    workers then start without a new interpreter or imports again (a third of a one-city run). Elsewhere spawn: a
    worker forked from JupyterLab or a Playwright session inherits their threads and event loop and can hang in them."""
    import asyncio  # start-up: loaded by then in any caller that has a loop

    if sys.platform.startswith("linux") and threading.active_count() == 1 and asyncio._get_running_loop() is None:
        return "fork"
    return "spawn"


def announce(started: str, key: object) -> None:
    """Worker: note that this process now holds city `key` (read by `Stream._held_by_the_dead`)."""
    if started:
        with contextlib.suppress(OSError):
            Path(started, str(key)).write_text(str(os.getpid()), encoding="utf-8")


def sweep_partial_files(folders: list[Path]) -> None:
    """Remove the temporary files (".*.part") a stopped worker may have left in the city folders of this run."""
    for folder in folders:
        for leftover in glob.glob(os.path.join(glob.escape(str(folder)), "*", "*", ".*.part")):
            with contextlib.suppress(OSError):
                os.unlink(leftover)


def progress_bar(total: int, enabled: bool):
    if not enabled or not total:
        return None
    from tqdm import tqdm  # start-up: only on a terminal

    return tqdm(total=total, desc="assessing cities", unit="city", file=sys.stderr, leave=False)
