"""A papermill engine that runs the bundled report notebook in the worker's own process, without a Jupyter kernel.

The bundled notebook is this package's code calling `kpis.report`: plain Python, no magics. On a kernel, a city paid
for the kernel's start (1.6 s) and imports (2 s) when cold, and for messaging, `%reset` and pickling the scored city
(0.3–0.5 CPU-s) on every city; here its cells run in a fresh namespace of the worker that read and scored the city.
What a kernel records is recorded the same way: each expression's rich representations (`_repr_html_`, `_repr_svg_`
…, as IPython's formatter asks for them), printed text, and an error with its traceback, which stops the notebook.
A custom notebook (`--notebook`) and a batch on Dask still run on a kernel (`engine.py`): their code may need magics
or `display()`, or a process of their own to be stopped in.

The city's timeout is enforced in the thread running the cell: at the deadline `CityTimeout` is raised there
(`PyThreadState_SetAsyncExc`), between two Python instructions, and the city fails "timed out after N s" naming the
cell. Code stuck in one native call is stopped when that call returns; the batch's stall guard kills a worker that
never answers.
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import ctypes
import io
import linecache
import platform
import signal
import threading
import traceback

from nbformat import from_dict
from papermill.engines import Engine, papermill_engines

from .watchdog import CellFault, CityTimeout

ENGINE_NAME = "ssc-inprocess"
# what nbclient copies from a Python kernel's kernel_info into the executed notebook
LANGUAGE_INFO = {"name": "python", "version": platform.python_version(), "mimetype": "text/x-python",
                 "file_extension": ".py", "pygments_lexer": "ipython3", "nbconvert_exporter": "python",
                 "codemirror_mode": {"name": "ipython", "version": 3}}
# IPython's rich representations, in the order its display formatter asks for them
REPR_METHODS = (("text/html", "_repr_html_"), ("text/markdown", "_repr_markdown_"),
                ("image/svg+xml", "_repr_svg_"), ("image/png", "_repr_png_"), ("image/jpeg", "_repr_jpeg_"),
                ("text/latex", "_repr_latex_"), ("application/json", "_repr_json_"))
CELL_FILE = "<report notebook cell {number}>"


class Deadline:
    """Raises `CityTimeout` in the thread running the cells once `timeout` seconds have passed, but only while a
    cell runs (`armed`): never in the engine's own bookkeeping, and never after the notebook has finished.

    In the main thread (a pool worker's) it comes as a signal, which also breaks a blocking wait (a sleep, a
    socket); in another thread as an asynchronous exception, delivered at its next Python instruction."""

    def __init__(self, timeout: float | None):
        self.timeout = timeout
        self.fired = False
        self._thread = threading.get_ident()
        self._main = threading.current_thread() is threading.main_thread()
        self._running = False
        self._lock = threading.Lock()
        self._previous = signal.signal(signal.SIGALRM, self._on_signal) if timeout and self._main else None
        self._timer = threading.Timer(timeout, self._fire) if timeout else None
        if self._timer is not None:
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if not self._running:
                return
            if self._main:
                signal.pthread_kill(self._thread, signal.SIGALRM)
            else:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread), ctypes.py_object(CityTimeout))

    def _on_signal(self, signum, frame) -> None:
        if self._running and self.fired:
            raise CityTimeout()

    @contextlib.contextmanager
    def armed(self):
        """Around one cell: the exception may arrive anywhere inside; once this exits none is pending."""
        with self._lock:
            if self.fired:  # the deadline passed between two cells
                raise CityTimeout()
            self._running = True
        try:
            yield
        finally:
            with self._lock:
                if self._running and self.fired and not self._main:  # fired, not delivered yet: take it back
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread), None)
                self._running = False  # a signal still on its way finds nothing to stop

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._previous is not None:
            signal.signal(signal.SIGALRM, self._previous)


def _evaluate(source: str, namespace: dict, filename: str) -> object:
    """Run a cell like IPython does: every statement, and the value of a final expression (None after a `;`)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # tracebacks quote the cell
    tree = ast.parse(source, filename)
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr):
        last = None
    else:
        tree.body.pop()
    exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - the bundled notebook's own code, never a city's
    if last is None:
        return None
    value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)  # noqa: S307 - as above
    return None if source.rstrip().endswith(";") else value


def mime_bundle(value: object) -> tuple[dict, dict]:
    """The outputs IPython's display formatter records for a value: each rich representation it has, and its repr."""
    data: dict = {}
    metadata: dict = {}
    method = getattr(value, "_repr_mimebundle_", None)
    if callable(method) and not isinstance(value, type):
        bundle = method()
        bundle_data, bundle_meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        data.update(bundle_data or {})
        metadata.update(bundle_meta or {})
    for mime, name in REPR_METHODS:
        method = getattr(value, name, None)
        if mime in data or not callable(method) or isinstance(value, type):
            continue
        shown = method()
        if isinstance(shown, tuple):
            shown, metadata[mime] = shown
        if shown is None:
            continue
        data[mime] = base64.b64encode(shown).decode("ascii") if isinstance(shown, bytes) else shown
    data.setdefault("text/plain", repr(value))
    return data, metadata


def _output(output_type: str, **fields: object):
    """An output as nbformat's `new_output` makes it, without validating each one against the schema (a quarter of
    the notebook's time): its fields are built here from known types, and nbformat validates the whole notebook
    when it is written."""
    return from_dict({"output_type": output_type, **({"metadata": {}} if output_type == "execute_result" else {}),
                      **fields})


def _error_output(exc: BaseException) -> dict:
    """The error a kernel records: name, value and the traceback from the cell's own frame down."""
    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<report notebook cell"):
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    return _output("error", ename=type(exc).__name__, evalue=str(exc), traceback=[line.rstrip("\n")
                                                                                   for line in lines])


def run_cell(cell, number: int, namespace: dict, deadline: Deadline) -> bool:
    """Execute one code cell into its outputs; False when it raised (the notebook stops there)."""
    out, err = io.StringIO(), io.StringIO()
    failed: str | dict | None = None
    value = None
    try:
        with deadline.armed(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            value = _evaluate(cell.source, namespace, CELL_FILE.format(number=number))
    except CityTimeout:
        failed = "timeout"
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a cell's error is recorded, as a kernel records it
        failed = _error_output(exc)
    cell.execution_count = number
    for name, text in (("stdout", out.getvalue()), ("stderr", err.getvalue())):
        if text:
            cell.outputs.append(_output("stream", name=name, text=text))
    if failed is None and value is not None:
        data, metadata = mime_bundle(value)
        cell.outputs.append(_output("execute_result", data=data, metadata=metadata, execution_count=number))
    if isinstance(failed, dict):
        cell.outputs.append(failed)
    return failed is None


class InProcessEngine(Engine):
    """papermill's engine API, the cells run here: the same notebook metadata, cell timings and error handling."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, execution_timeout=None, **kwargs):
        nb = nb_man.nb
        nb.metadata["language_info"] = dict(LANGUAGE_INFO)
        namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
        deadline = Deadline(execution_timeout)
        number = 0
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                number += 1
                nb_man.cell_start(cell, index)
                try:
                    if not run_cell(cell, number, namespace, deadline):
                        nb_man.cell_exception(cell, cell_index=index)
                        if deadline.fired:
                            raise CellFault(f"timed out after {execution_timeout:g} s", nb.cells, index)
                        break
                finally:
                    nb_man.cell_complete(cell, cell_index=index)
        finally:
            deadline.cancel()
            namespace.clear()
            for n in range(1, number + 1):
                linecache.cache.pop(CELL_FILE.format(number=n), None)
        return nb


def register() -> None:
    papermill_engines.register(ENGINE_NAME, InProcessEngine)
