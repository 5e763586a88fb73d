"""The in-process papermill engine that runs the bundled report notebook without a kernel (`kpis/inprocess.py`):
it records what a kernel records, stops at the first error, and stops a cell at the city's timeout."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from kpis import inprocess
from kpis.paths import bundled
from kpis.watchdog import CellFault
from kpis.worker import CityFailed, render_city

inprocess.register()


def _notebook(tmp_path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('name = "x"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("## A heading"),
        *(nbformat.v4.new_code_cell(src) for src in sources)])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = tmp_path / "cells.ipynb"
    nbformat.write(nb, path)
    return path


def _run(path: Path, timeout: float | None = None, **parameters):
    return papermill.execute_notebook(str(path), None, parameters=parameters, engine_name=inprocess.ENGINE_NAME,
                                      kernel_name="python3", progress_bar=False, execution_timeout=timeout)


class Shown:
    """An object with rich representations, as kpis.report's blocks and charts have."""

    def _repr_html_(self):
        return "<p>five &lt; six</p>"

    def _repr_svg_(self):
        return "<svg></svg>"

    def __repr__(self):
        return "Shown()"


def test_outputs_are_recorded_as_a_kernel_records_them(tmp_path):
    path = _notebook(tmp_path,
                     "import sys\nprint('hello', name)\nprint('careful', file=sys.stderr)\n6 * 7",
                     "from test_inprocess import Shown\nShown()",
                     "x = 3\nx;",
                     "y = [x]")
    nb = _run(path, name="Lyon")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4, 5, 6]  # the injected parameters cell is the second
    first = code[2].outputs
    assert [(o.output_type, o.get("name")) for o in first] == [("stream", "stdout"), ("stream", "stderr"),
                                                               ("execute_result", None)]
    assert first[0].text == "hello Lyon\n" and first[1].text == "careful\n"
    assert first[2].data == {"text/plain": "42"} and first[2].execution_count == 3
    shown = code[3].outputs[0]
    assert shown.data == {"text/html": "<p>five &lt; six</p>", "image/svg+xml": "<svg></svg>",
                          "text/plain": "Shown()"}
    assert code[4].outputs == [] and code[5].outputs == []  # a trailing ";" hides the value, as in IPython
    assert nb.metadata.language_info.name == "python"
    assert all(c.metadata.papermill.status == "completed" for c in nb.cells)


def test_an_error_stops_the_notebook_with_its_traceback(tmp_path):
    path = _notebook(tmp_path, "a = 1", "def f():\n    raise ValueError('no such KPI: X9')\nf()", "a = 2")
    with pytest.raises(PapermillExecutionError) as caught:
        _run(path)
    assert caught.value.ename == "ValueError" and caught.value.evalue == "no such KPI: X9"
    assert "f()" in "\n".join(caught.value.traceback) and "inprocess.py" not in "\n".join(caught.value.traceback)
    assert caught.value.exec_count == 3


@pytest.mark.parametrize("body", ["while True:\n    pass", "import time\ntime.sleep(60)"])
def test_a_cell_past_the_timeout_is_stopped_and_named(tmp_path, body):
    """A Python loop and a blocking sleep alike stop at the deadline, in the main thread or another one."""
    path = _notebook(tmp_path, "a = 1", body)
    t0 = time.monotonic()
    with pytest.raises(CellFault) as caught:
        _run(path, timeout=1)
    assert time.monotonic() - t0 < 5
    first = body.splitlines()[0]
    assert str(caught.value) == f"timed out after 1 s (in cell 3 (`{first}`) of the report notebook)"


def test_a_cell_in_another_thread_is_stopped_too(tmp_path):
    path = _notebook(tmp_path, "n = 0\nwhile True:\n    n += 1")
    caught: list[BaseException] = []

    def work():
        try:
            _run(path, timeout=1)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            caught.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert isinstance(caught[0], CellFault), caught


def test_a_notebook_that_finishes_in_time_leaves_no_pending_timeout(tmp_path):
    path = _notebook(tmp_path, "import time\ntime.sleep(0.3)")
    before = signal.getsignal(signal.SIGALRM)
    nb = _run(path, timeout=0.5)
    time.sleep(0.5)  # past the deadline, outside the notebook: nothing may be raised here
    assert signal.getsignal(signal.SIGALRM) is before
    assert nb.cells[-1].metadata.papermill.status == "completed"


def test_render_city_names_the_timed_out_cell_and_writes_nothing(tmp_path):
    path = _notebook(tmp_path, "while True:\n    pass")
    out = tmp_path / "city"
    with pytest.raises(CityFailed, match=r"^timed out after 1 s \(in cell 2 \(`while True:`\)"):
        render_city(str(path), {"name": "x"}, str(out), 1, in_process=True)
    assert not list(out.iterdir())


def test_the_bundled_notebook_is_plain_python():
    """Every code cell parses without IPython's magics, so it runs the same in-process and in JupyterLab."""
    import ast

    nb = nbformat.read(bundled("notebooks", "city_assessment.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)
