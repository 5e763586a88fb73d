"""What runs in a worker of the batch: warming up as the worker starts, and running one city's report notebook
(papermill, in this process for the bundled notebook or on a reused kernel) into its folder."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import pickle
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .outdir import DATASET_FOLDER
from .paths import atomic_write
from .watchdog import cell_label

KERNEL = "python3"


class CityFailed(RuntimeError):
    """The report of one city could not be made; the message is the reason kept in its manifest."""


def _stop_worker(signum, frame) -> None:
    """SIGTERM from the batch runner: kill this worker's kernel (it runs in a session of its own and would outlive
    the worker) and leave at once; the runner removes any temporary file left behind."""
    import sys

    engine = sys.modules.get(f"{__package__}.engine")
    kill = getattr(engine, "kill_now", None)  # absent while the worker is still importing it: no kernel yet
    if kill is not None:
        kill()
    os._exit(128 + signum)


def own_signals() -> None:
    """A worker ignores Ctrl-C (the terminal sends it to the whole process group; the runner decides what stops)
    and stops cleanly, kernel included, on SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)


@contextlib.contextmanager
def gc_paused(freeze: bool = False) -> Iterator[None]:
    """No cyclic garbage collection inside the block (imports, reading a city: millions of objects that live on,
    which the collector's passes would walk again and again, 10 % of a cold start); with `freeze`, what is alive
    then is kept out of later passes for good (a worker's imports)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def warm_worker(kernel: bool = True) -> None:
    """Pool initializer, while the main process is still planning: with `kernel`, start this worker's kernel first
    (it boots while the rest loads); then everything reading, scoring and (in this process) the report need. The
    imports are frozen out of the garbage collector's scans, which otherwise walk them at every city."""
    own_signals()
    with gc_paused(freeze=True):
        _warm_up(kernel)


def _warm_up(kernel: bool) -> None:
    """The imports and data of `warm_worker`, the kernel's start first."""
    # start-up: papermill and the kernel machinery load in the workers only, never in a skipped re-run
    from . import engine, inprocess

    engine.register()
    inprocess.register()
    if kernel:
        try:
            engine.prewarm(KERNEL)
        except Exception:  # noqa: BLE001 - a kernel that fails to warm is started again, and reported, by the run
            engine._shutdown()
    # start-up: reading (openpyxl), checking, scoring (pandas) and the report load here, before the first city
    from . import report, scoring, validation  # noqa: F401
    from .knowledge import knowledge_base
    from .library import load_targets

    __import__("pyarrow.parquet")  # and writing the city-year's part of the results dataset
    load_targets()
    knowledge_base()


def start_now() -> None:
    """Does nothing: submitting it makes the pool start its workers (and their warm-up) right away."""


def render_city(notebook: str, params: dict, out_dir: str, timeout: float,
                in_process: bool = False) -> dict[str, float]:
    """Worker: run the notebook with papermill and write the executed notebook (report.ipynb); the process that
    collects the batch makes report.html from it (`render.write_report_html`). Runs in a pool process (or a Dask
    worker).

    `in_process`: the bundled notebook's cells run in this process (`inprocess.py`); otherwise on a reused kernel.
    `timeout`: seconds the notebook may run; past it the cell is stopped, or the kernel interrupted, then killed
    (`watchdog.py`). Raises CityFailed with a reason that names the notebook's cell."""
    # start-up: as in warm_worker, the notebook machinery loads in the workers only
    import nbformat
    import papermill

    from . import engine, inprocess  # start-up: see above

    engine.register()
    inprocess.register()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # no output path: papermill would rewrite the whole notebook at every cell's start and end (80 writes of a
    # growing file); the executed notebook is written once, atomically, below
    try:
        nb = papermill.execute_notebook(
            notebook, None, parameters=params, kernel_name=KERNEL,
            engine_name=inprocess.ENGINE_NAME if in_process else engine.ENGINE_NAME,
            progress_bar=False, execution_timeout=timeout, start_timeout=min(120, timeout), log_output=False,
        )
    except Exception as exc:  # noqa: BLE001 - every notebook failure becomes one reason naming its cell
        raise CityFailed(_notebook_failure(exc, notebook)) from None
    atomic_write(out / "report.ipynb", nbformat.writes(nb))
    return {"notebook_s": round(time.perf_counter() - t0, 3)}


def _notebook_failure(exc: BaseException, notebook: str) -> str:
    name = type(exc).__name__
    if name == "CellFault":  # the watchdog's verdict, already naming the cell: timed out, or the kernel died
        return str(exc)
    if name == "PapermillExecutionError":
        return (f"the report notebook failed in {_failed_cell(notebook, getattr(exc, 'source', ''))}: "
                f"{getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}")[:500]
    if name == "DeadKernelError":
        return "kernel died"
    return failure_reason(exc)


def _failed_cell(notebook: str, source: str) -> str:
    """The notebook's cell whose code raised (papermill gives the code and the kernel's execution count, which
    counts every cell a reused kernel ever ran)."""
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        cells = []
    same = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
            for c in cells]
    return cell_label(cells, same.index(source)) if source in same else "a cell"


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, CityFailed):
        return str(exc)
    name = type(exc).__name__
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {first}"[:500]


def score_and_save(run, sub, targets, out: Path):
    """Score the city, write results.xlsx (built in memory, written by atomic_write: a fresh temporary name, never
    through a link) and the city-year's part of the batch's results dataset (`out/_dataset`, read lazily by
    `kpis.compare`)."""
    from .results import write_dataset_part  # start-up: a re-run of unchanged cities never loads pandas
    from .scoring import score

    t1 = time.perf_counter()
    results = score(sub, targets=targets)
    buf = io.BytesIO()
    results.to_excel(buf)
    atomic_write(Path(run.out_dir) / "results.xlsx", buf.getvalue())
    write_dataset_part(results, out / DATASET_FOLDER)
    run.timings["score_s"] = round(time.perf_counter() - t1, 3)
    return results


def scored_file(city_dir: Path, sub, results) -> Path:
    """The city as read and scored, for the notebook's kernel: a private file of its own in the city's folder
    (exclusive, unpredictable name; removed once the report is made)."""
    fd, name = tempfile.mkstemp(dir=city_dir, prefix=".scored.", suffix=".pickle.part")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump((sub, results), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return Path(name)
