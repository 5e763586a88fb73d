"""A papermill engine that keeps one kernel per worker process and reuses it across cities.

Starting a kernel and importing pandas/matplotlib costs 2–3 s; running the report cells ~0.5 s. Reusing the kernel
(with `%reset -f` and closed figures between notebooks, and a fresh kernel after a failure or every
`RECYCLE_AFTER` notebooks) removes most of that cost while keeping cities apart.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import subprocess

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import Engine, papermill_engines

ENGINE_NAME = "ssc-reuse"
RECYCLE_AFTER = 25
RESET_CODE = "%reset -f\nimport matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt"

_kernel: dict = {}


def _shutdown() -> None:
    km, kc = _kernel.pop("km", None), _kernel.pop("kc", None)
    if kc is not None:
        kc.stop_channels()
    if km is not None:
        km.shutdown_kernel(now=True)
    _kernel.clear()


atexit.register(_shutdown)


def _get_kernel(kernel_name: str, start_timeout: float):
    if _kernel.get("name") != kernel_name or _kernel.get("uses", 0) >= RECYCLE_AFTER:
        _shutdown()
    if "km" not in _kernel:
        from jupyter_client.manager import start_new_kernel

        # the kernel's own start-up chatter (transport warnings) is not the user's business: cell errors are
        # captured in the notebook, and a dead kernel is reported by nbclient
        km, kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=start_timeout,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _kernel.update(km=km, kc=kc, name=kernel_name, uses=0)
        # pool workers leave through multiprocessing's exit path, which skips atexit but runs these finalizers
        multiprocessing.util.Finalize(None, _shutdown, exitpriority=10)
    else:
        # forget the previous city before the next one starts
        _kernel["kc"].execute_interactive(RESET_CODE, timeout=start_timeout, store_history=False)
    _kernel["uses"] += 1
    return _kernel["km"], _kernel["kc"]


# imports, the catalogue, the knowledge base and matplotlib's fonts: everything a report needs that is not the city
WARM_IMPORTS = """
import io, kpis.report, kpis.intake, kpis.scoring, kpis.recommendation, kpis.knowledge, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as _plt
kpis.library.load_targets(); kpis.knowledge.knowledge_base()
_fig = _plt.figure(figsize=(1, 1)); _fig.text(0.5, 0.5, "warm"); _fig.savefig(io.BytesIO(), format="png"); _plt.close(_fig)
del _fig, _plt
"""


def prewarm(kernel_name: str, start_timeout: float = 120) -> None:
    """Start this worker's kernel and import the report's libraries in it, before any city is ready: the batch
    runner calls this while the main process is still validating and scoring, so the cost is hidden."""
    _, kc = _get_kernel(kernel_name, start_timeout)
    _kernel["uses"] -= 1  # warming is not a city
    kc.execute_interactive(WARM_IMPORTS, timeout=start_timeout, store_history=False)


class ReusedKernelEngine(Engine):
    """papermill's nbclient engine, but on a kernel that outlives the notebook."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, **kwargs):
        km, kc = _get_kernel(kernel_name, start_timeout)
        client = PapermillNotebookClient(
            nb_man, km=km, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
            log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
        )
        client.kc = kc
        try:
            return client.execute(cleanup_kc=False)
        except BaseException:
            _shutdown()  # a failed or timed-out city never leaves state for the next one
            raise
        finally:
            if nb_man.nb.cells and any(
                o.get("output_type") == "error" for c in nb_man.nb.cells for o in c.get("outputs", [])
            ):
                _shutdown()


def register() -> None:
    papermill_engines.register(ENGINE_NAME, ReusedKernelEngine)
