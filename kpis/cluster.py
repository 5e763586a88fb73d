"""Dask distributed as the batch's scale-out engine, with no shared disk between the client and the workers.

A city travels to a worker as bytes (its submission, the target file, the report notebook, each with its SHA-256,
checked on arrival); the worker reads, scores and renders it in a private temporary folder, removed afterwards; the
outputs come back as bytes and the client writes them under --out, atomically, once per city. Nothing lands on a
worker's disk outside that temporary folder, and a result that arrives after its city was settled is ignored.

Before the first city, every worker must have this package at the client's version and code (named if not), and
is warmed (kernel, reading and scoring) by a worker plugin; the client makes each report.html as it lands. A worker's threads take turns on its one
reused kernel (a lock), so any `--nthreads` works.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from . import __version__
from .batch import Claims
from .errors import UserError
from .outdir import DATASET_FOLDER, DATASET_MARKER
from .parameters import code_fingerprint
from .paths import atomic_write

CONNECT_TIMEOUT = 20.0  # seconds to reach the scheduler and see a first worker
OUTPUTS = ("results.xlsx", "report.ipynb", "report.html", "report.pdf")
_KERNEL_LOCK = threading.Lock()  # one reused kernel per worker process: its threads take turns


@dataclass
class Payload:
    """One file as bytes, with the name it had and its SHA-256 (checked by the worker before use)."""

    name: str
    data: bytes
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Payload:
        data = path.read_bytes()
        return cls(path.name, data, hashlib.sha256(data).hexdigest())

    def place(self, folder: Path) -> Path:
        if hashlib.sha256(self.data).hexdigest() != self.sha256:
            raise ValueError(f"{self.name}: arrived damaged (SHA-256 differs from the client's); re-run")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(self.name).name
        path.write_bytes(self.data)
        return path


@dataclass
class RemoteCity:
    """What a worker returns: the city's run (paths relative to the output folder) and its outputs as bytes."""

    run: Any
    files: dict[str, bytes] = field(default_factory=dict)
    dataset: dict[str, bytes] = field(default_factory=dict)  # the city-year's part of the results dataset


def remote_city(assess_city: Callable, job: Any, submission: Payload, targets: Payload | None,
                notebook: Payload) -> RemoteCity:
    """Worker: the city in a private temporary folder (removed afterwards), its outputs back as bytes."""
    work = Path(tempfile.mkdtemp(prefix="ssc-city-"))
    try:
        inputs = work / "in"
        path = submission.place(inputs)
        local = replace(job, run=replace(job.run, input=str(path)), out=str(work / "out"),
                        target_file=str(targets.place(inputs / "targets")) if targets else "",
                        notebook=str(notebook.place(inputs / "notebook")), started="")
        with _KERNEL_LOCK:
            run = assess_city(local)
        files = {}
        if run.out_dir:
            city_dir = Path(run.out_dir)
            files = {name: (city_dir / name).read_bytes() for name in OUTPUTS if (city_dir / name).is_file()}
            run.out_dir = str(city_dir.relative_to(work / "out"))
        parts = work / "out" / DATASET_FOLDER
        dataset = {p.relative_to(parts).as_posix(): p.read_bytes()
                   for p in [*parts.glob("year=*/*.parquet"), parts / DATASET_MARKER] if p.is_file()}
        run.input = job.run.input
        return RemoteCity(run, files, dataset)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def identity() -> dict[str, str]:
    """Worker: the package version and code fingerprint it runs (compared with the client's at the start)."""
    return {"version": __version__, "code": code_fingerprint()}


def __getattr__(name: str) -> Any:
    """`Warm`, the worker plugin, is made on first use: it derives from Dask's WorkerPlugin, and Dask loads only
    for a cluster batch (a module attribute all the same, so that workers unpickle it by name)."""
    if name != "Warm":
        raise AttributeError(name)
    # start-up: Dask loads only for a cluster batch
    from distributed import WorkerPlugin

    class Warm(WorkerPlugin):
        """Worker plugin: warm the kernel, reading and scoring as the worker joins, in a thread of its
        own (the worker's event loop keeps answering) that holds the kernel lock (a first city waits for it)."""

        name = "ssc-warm"

        def setup(self, worker=None) -> None:
            threading.Thread(target=_warm, daemon=True, name="ssc-warm").start()

        def teardown(self, worker=None) -> None:
            """The worker leaves: its kernel goes with it."""
            engine = sys.modules.get(f"{__package__}.engine")
            if engine is not None:
                engine._shutdown()

    Warm.__module__, Warm.__qualname__ = __name__, "Warm"
    globals()["Warm"] = Warm
    return Warm


def _warm() -> None:
    # start-up: papermill and the kernel machinery load on the workers only (the client writes the HTML)
    from . import engine, scoring, validation  # noqa: F401
    from .library import load_targets
    from .worker import KERNEL

    with _KERNEL_LOCK:
        engine.register()
        try:
            engine.prewarm(KERNEL)
        except Exception:  # noqa: BLE001 - a kernel that fails to warm is started again, and reported, by a city
            engine._shutdown()
        load_targets()


class Remote(Executor):
    """The client's side of a Dask batch, as an executor: `submit(assess_city, job)` sends the city as bytes, and
    its future resolves to the city's run once its outputs are written under --out (by this client, atomically,
    once). A future given up (the batch stalled or stopped) lands nothing, whenever its worker answers.

    Cities go to the scheduler through a window (twice the worker threads, at least `MIN_WINDOW`): a submission is
    read when its city is sent, so the client holds a few cities' bytes at a time, not a whole batch's."""

    MIN_WINDOW = 8

    def __init__(self, client, own: bool, out: Path, claims: Claims, target_file: Path | None, notebook: Path):
        self.client, self.own, self.out, self.claims = client, own, out, claims
        self.dask = client.get_executor(retries=1, pure=False)
        self.targets = Payload.of(target_file) if target_file else None
        self.notebook = Payload.of(notebook)
        self.window = max(self.MIN_WINDOW, 2 * _threads(client))
        self.slots = threading.Semaphore(self.window)
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.sent: dict[Any, Future] = {}  # the Dask futures in flight
        self.stopping = False
        self.feeder = threading.Thread(target=self._feed, name="ssc-feeder", daemon=True)
        self.feeder.start()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        out: Future = Future()
        self.queue.put((fn, args[0], out))
        return out

    def _feed(self) -> None:
        """Send each queued city once a slot is free, reading its submission then."""
        while True:
            item = self.queue.get()
            if item is None:
                return
            self.slots.acquire()
            fn, job, out = item
            if self.stopping or out.cancelled():
                self.slots.release()
                out.cancel()
                continue
            try:
                sent = self.dask.submit(remote_city, fn, job, Payload.of(Path(job.run.input)), self.targets,
                                        self.notebook)
            except BaseException as exc:  # noqa: BLE001 - the file went away, the client closed: the city's failure
                self.slots.release()
                if out.set_running_or_notify_cancel():
                    out.set_exception(exc)
                continue
            self.sent[sent] = out
            sent.add_done_callback(partial(self._arrived, out))

    def _arrived(self, out: Future, done: Future) -> None:
        self.sent.pop(done, None)
        self.slots.release()
        if not out.set_running_or_notify_cancel():  # given up: a late result writes nothing
            return
        try:
            out.set_result(self._land(done.result()))
        except BaseException as exc:  # noqa: BLE001 - the city's failure, recorded by the batch
            out.set_exception(exc)

    def _land(self, result: RemoteCity) -> Any:
        """Write a city's outputs under --out and return its run with the client's paths."""
        run = result.run
        if not run.out_dir:
            return run
        city_dir = (self.out / run.out_dir).resolve()
        if self.out.resolve() not in city_dir.parents:  # the folder name came back from a worker: check it here
            run.status, run.reason, run.out_dir = "failed", f"refusing to write outside {self.out}", ""
            return run
        if str(city_dir) in self.claims:
            run.status, run.out_dir, run.outputs = "invalid", "", []
            run.reason = f"{run.city} {run.year} appears twice in this batch; keep one submission per city and year"
            return run
        for name, data in result.files.items():
            atomic_write(city_dir / name, data)
        parts = (self.out / DATASET_FOLDER).resolve()
        for rel, data in result.dataset.items():
            path = (parts / rel).resolve()
            if parts in path.parents and (path.suffix == ".parquet" or rel == DATASET_MARKER):  # a worker's name
                atomic_write(path, data)
        run.out_dir = str(city_dir)
        return run

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Cities not sent are dropped and those in flight cancelled on the cluster (after Ctrl-C or SIGTERM, or a
        stalled batch: nothing of this batch keeps a worker busy). The warm-up plugin is this batch's: a worker that
        joins later (one without kpis, say) is not refused by the scheduler for want of it."""
        self.stopping = True
        self.queue.put(None)
        self.slots.release()  # a feeder waiting for a slot wakes up, sees `stopping` and leaves
        if self.sent:
            with contextlib.suppress(Exception):
                self.dask.shutdown(wait=False)  # cancels every task this executor sent that is not finished
        with contextlib.suppress(Exception):
            self.client.unregister_worker_plugin("ssc-warm")
        if self.own:
            with contextlib.suppress(Exception):
                self.client.close(timeout=10)


@contextlib.contextmanager
def closing(executor: Executor | None) -> Iterator[None]:
    """A batch's Dask connection is closed when the batch ends, however it ends (any other executor is left)."""
    try:
        yield
    finally:
        if isinstance(executor, Remote):
            executor.shutdown()


def connect(scheduler: str | None, executor: Executor | None, out: Path, claims: Claims,
            target_file: Path | None, notebook: Path) -> Remote | None:
    """A `Remote` for `--scheduler` or a Dask executor (`client.get_executor()`); None for any other executor.

    Refuses, naming them, workers that lack the package or run another version or other code."""
    client = getattr(executor, "_client", None) if type(executor).__name__ == "ClientExecutor" else None
    if scheduler is None and client is None:
        return None
    try:
        # start-up: Dask loads only for a cluster batch
        from distributed import Client
    except ImportError:
        raise UserError("--scheduler needs Dask distributed: pip install 'ssc-kpis[cluster]'") from None
    own = client is None
    if own:
        try:
            _check_address(str(scheduler))
            client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}); start it with "
                            "`dask scheduler` and give its tcp://HOST:PORT address") from None
    assert client is not None
    try:
        _check_workers(client)
        plugin = __getattr__("Warm")
        client.register_plugin(plugin(), name=plugin.name)
        return Remote(client, own, out, claims, target_file, notebook)
    except BaseException:
        if own:
            client.close()
        raise


def _threads(client) -> int:
    """The worker threads the cluster has now (0 when the scheduler does not say)."""
    try:
        return sum(int(w.get("nthreads", 0)) for w in client.scheduler_info()["workers"].values())
    except Exception:  # noqa: BLE001 - only sizes the window
        return 0


def _check_address(scheduler: str) -> None:
    """A malformed address is refused before a client exists (a half-made one hangs for 40 s on its way out)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    parse_host_port(parse_address(scheduler)[1])


def _check_workers(client) -> None:
    """Every worker answers with this package's version and code, or the batch stops before its first city."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError:
        raise UserError(f"no Dask worker joined the scheduler within {CONNECT_TIMEOUT:g} s; start one with "
                        "`dask worker tcp://HOST:PORT --nthreads N`") from None
    mine = identity()
    answers = client.run(identity, on_error="return")
    bad = []
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            bad.append(f"{worker} cannot run kpis ({type(answer).__name__}: {str(answer).splitlines()[0][:200]})")
        elif answer.get("version") != mine["version"]:
            bad.append(f"{worker} has ssc-kpis {answer.get('version')}, this client {mine['version']}")
        elif answer.get("code") != mine["code"]:
            bad.append(f"{worker} has ssc-kpis {mine['version']} with other code than this client's")
    if bad:
        raise UserError("Dask worker(s) not ready: " + "; ".join(bad) + f". Install ssc-kpis {mine['version']} "
                        "(the same copy as this client) on every worker, then restart the workers")
