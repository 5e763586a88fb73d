"""What runs in a worker of the batch: warming a kernel and nbconvert as the worker starts, and rendering one city
(papermill on the reused kernel, then nbconvert) into its folder."""

from __future__ import annotations

import time
from pathlib import Path

from .paths import atomic_write

KERNEL = "python3"


def warm_worker() -> None:
    """Pool initializer: register the engine, warm nbconvert and start this worker's kernel with the report's
    imports done, all while the main process is still validating and scoring."""
    # start-up: papermill, nbconvert and the kernel machinery load in the workers only, never in a skipped re-run
    from . import engine
    from .render import warm_exporter

    engine.register()
    warm_exporter()
    try:
        engine.prewarm(KERNEL)
    except Exception:  # noqa: BLE001 - a kernel that fails to warm is started again, and reported, by the real run
        engine._shutdown()


def start_now() -> None:
    """Does nothing: submitting it makes the pool start its workers (and their warm-up) right away."""


def render_city(notebook: str, params: dict, out_dir: str, title: str, timeout: float) -> dict[str, float]:
    """Worker: run the notebook with papermill on a reused kernel, then write report.html. Runs in a pool process."""
    # start-up: as in warm_worker, the notebook machinery loads in the workers only
    import nbformat
    import papermill

    from . import engine  # start-up: see above
    from .render import notebook_to_html

    engine.register()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # no output path: papermill would rewrite the whole notebook at every cell's start and end (80 writes of a
    # growing file); the executed notebook is written once, atomically, below
    nb = papermill.execute_notebook(
        notebook, None, parameters=params, engine_name=engine.ENGINE_NAME, kernel_name=KERNEL,
        progress_bar=False, execution_timeout=timeout, start_timeout=min(120, timeout), log_output=False,
    )
    atomic_write(out / "report.ipynb", nbformat.writes(nb))
    t1 = time.perf_counter()
    atomic_write(out / "report.html", notebook_to_html(nb, title))
    t2 = time.perf_counter()
    return {"notebook_s": round(t1 - t0, 3), "html_s": round(t2 - t1, 3)}


def failure_reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        cell = getattr(exc, "exec_count", None)
        return f"the report notebook failed in cell {cell}: {getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {first}"[:500]
