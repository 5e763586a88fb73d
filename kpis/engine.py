"""A papermill engine that keeps one kernel per worker process and reuses it across cities.

Starting a kernel and importing pandas costs 1–2 s; running the report cells ~0.5 s. Reusing the kernel (with
`%reset -f` between notebooks, any figures a custom notebook drew closed, and a fresh kernel after a failure or every
`RECYCLE_AFTER` notebooks) removes most of that cost while keeping cities apart. The city report draws its charts
as SVG from the data, so the kernel never imports matplotlib for it. The warm imports are frozen out of the garbage
collector's passes (`%reset` runs two full ones: 0.25 s per city otherwise) and IPython's history is off.
Used for custom notebooks and under Dask; the bundled notebook runs in the pool worker itself (`inprocess.py`).
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing.util
import subprocess

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import Engine, papermill_engines

from .watchdog import CellFault, CityTimeout, Watchdog, guard, kernel_alive, kill_kernel_group, unguard

ENGINE_NAME = "ssc-reuse"
RECYCLE_AFTER = 25
# a custom notebook's figures are closed too, without importing pyplot (~1 s) into a kernel that never used it
RESET_CODE = ("%reset -f\nimport sys as _sys\n"
              "if 'matplotlib.pyplot' in _sys.modules: _sys.modules['matplotlib.pyplot'].close('all')\ndel _sys")

_kernel: dict = {}


def _shutdown() -> None:
    km, kc = _kernel.pop("km", None), _kernel.pop("kc", None)
    if kc is not None:
        kc.stop_channels()
    if km is not None:
        kill_kernel_group(km)  # at once: a reused kernel holds nothing worth a polite shutdown
        with contextlib.suppress(Exception):
            km.shutdown_kernel(now=True)  # its connection files and sockets
    _kernel.clear()


atexit.register(_shutdown)


def kill_now() -> None:
    """Kill this worker's kernel at once (the worker is being stopped: no time for a polite shutdown)."""
    km = _kernel.get("km")
    if km is not None:
        kill_kernel_group(km)


def _get_kernel(kernel_name: str, start_timeout: float):
    stale = "km" in _kernel and not kernel_alive(_kernel["km"])  # killed between two cities
    if stale or _kernel.get("name") != kernel_name or _kernel.get("uses", 0) >= RECYCLE_AFTER:
        _shutdown()
    if "km" not in _kernel:
        from jupyter_client.manager import start_new_kernel

        # the kernel's own start-up chatter (transport warnings) is not the user's business: cell errors are
        # captured in the notebook, and a dead kernel is reported by nbclient
        km, kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=start_timeout,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  extra_arguments=["--HistoryManager.enabled=False"])
        _kernel.update(km=km, kc=kc, name=kernel_name, uses=0)
        # pool workers leave through multiprocessing's exit path, which skips atexit but runs these finalizers
        multiprocessing.util.Finalize(None, _shutdown, exitpriority=10)
    else:
        # forget the previous city before the next one starts
        _kernel["kc"].execute_interactive(RESET_CODE, timeout=start_timeout, store_history=False)
    _kernel["uses"] += 1
    return _kernel["km"], _kernel["kc"]


# imports, the catalogue and the knowledge base: everything a report needs that is not the city
WARM_IMPORTS = """
import kpis.report, kpis.intake, kpis.scoring, kpis.recommendation, kpis.knowledge
kpis.library.load_targets(); _kb = kpis.knowledge.knowledge_base(); del _kb
import gc; gc.freeze(); del gc
"""

def prewarm(kernel_name: str, start_timeout: float = 120) -> None:
    """Start this worker's kernel and set it importing the report's libraries, without waiting: the kernel warms up
    while the worker reads and scores its first city (the city's first cell simply queues behind the imports)."""
    _, kc = _get_kernel(kernel_name, start_timeout)
    _kernel["uses"] -= 1  # warming is not a city
    kc.execute(WARM_IMPORTS, store_history=False)


class ReusedKernelEngine(Engine):
    """papermill's nbclient engine, but on a kernel that outlives the notebook, with a watchdog (`watchdog.py`)
    that enforces the city's timeout and notices a dead kernel within a fraction of a second."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, **kwargs):
        km, kc = _get_kernel(kernel_name, start_timeout)
        dog = Watchdog(km, execution_timeout or float("inf"))
        # the timeout is the city's, enforced by the watchdog; nbclient's own per-cell deadline is never reached
        client = PapermillNotebookClient(
            nb_man, km=km, timeout=None, startup_timeout=start_timeout, kernel_name=kernel_name,
            log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file, on_cell_execute=dog.on_cell,
        )
        client.kc = kc
        guard(kc, dog)
        try:
            result = client.execute(cleanup_kc=False)
        except BaseException as exc:
            _shutdown()  # a failed or timed-out city never leaves state for the next one
            raise _named(exc, dog, nb_man) from None
        finally:
            unguard(kc)
            if nb_man.nb.cells and any(
                o.get("output_type") == "error" for c in nb_man.nb.cells for o in c.get("outputs", [])
            ):
                _shutdown()
        if dog.timed_out():  # the interrupt stopped the cell in time: still a timeout, and a fresh kernel next
            _shutdown()
            raise _named(CityTimeout(f"timed out after {dog.timeout:g} s"), dog, nb_man)
        return result


def _named(exc: BaseException, dog: Watchdog, nb_man) -> BaseException:
    """The watchdog's verdict, with the running cell, wins over whatever nbclient raised while it acted."""
    if dog.fired is None and not dog.timed_out() and type(exc).__name__ != "DeadKernelError":
        return exc
    reason = str(dog.fired) if dog.fired is not None else (
        f"timed out after {dog.timeout:g} s" if dog.timed_out() else "kernel died")
    return CellFault(reason, nb_man.nb.cells, dog.cell_index)


def register() -> None:
    papermill_engines.register(ENGINE_NAME, ReusedKernelEngine)
