"""Faults during a batch: a city past its timeout, a kernel killed mid-city, Ctrl-C and SIGTERM mid-batch.

The report notebook used here is the bundled one plus one cell that, for a submission whose file name contains
"hang" (and only while SSC_TEST_HANG is set), writes its kernel's pid to SSC_TEST_PID and sleeps: the tests then
know which city is running and which process to kill.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from adversarial import TRACEBACK, attack, named_cities, notebook_with, wait_for

from kpis.paths import bundled

HANG_CELL = (
    'if "hang" in submission and os.environ.get("SSC_TEST_HANG"):\n'
    '    Path(os.environ["SSC_TEST_PID"]).write_text(str(os.getpid()))\n'
    "    time.sleep(300)"
)


def _notebook(folder: Path) -> Path:
    return notebook_with(folder, "hanging.ipynb", "import os, time\nfrom pathlib import Path", HANG_CELL)


def _cities(folder: Path, names: list[str]) -> list[Path]:
    return named_cities(folder, names, seed=11)


@pytest.fixture
def batch(tmp_path, request):
    """Cities (the second one hangs), the notebook, a pid file outside the sandbox, and the environment."""
    box = tmp_path / "box"
    inputs = _cities(box / "in", getattr(request, "param", ["a", "hang", "c"]))
    pid_file = tmp_path / "kernel.pid"
    env = {**os.environ, "SSC_TEST_HANG": "1", "SSC_TEST_PID": str(pid_file)}
    return box, inputs, _notebook(tmp_path), pid_file, env


def _manifest(out: Path, name: str) -> dict:
    found = [json.loads(m.read_text()) for m in out.glob("*/*/manifest.json")]
    return next(m for m in found if Path(m["input"]).name == name)


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (kernels run in sessions of their own, but their parent is still the worker)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(args: list[str], cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kpis.cli", "assess", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.slow
def test_a_city_past_its_timeout_is_stopped_and_named(batch):
    """The watchdog interrupts the kernel at the timeout (nbclient's own deadline never fires on a reused kernel)."""
    box, inputs, notebook, _, env = batch
    out = box / "out"
    result = attack("assess", str(inputs[1]), "--out", str(out), "--notebook", str(notebook), "--timeout", "4",
                    "--jobs", "1", cwd=box, out=out, inputs=inputs, message="timed out after 4 s",
                    within=120, env={"SSC_TEST_HANG": "1", "SSC_TEST_PID": env["SSC_TEST_PID"]})
    reason = _manifest(out, inputs[1].name)["reason"]
    assert reason.startswith("timed out after 4 s") and "cell 3 (`if \"hang\" in submission" in reason, reason
    assert not (Path(_manifest(out, inputs[1].name)["out_dir"]) / "report.html").exists()
    print(f"timed-out batch of one city: {result.seconds:.1f} s")


@pytest.mark.slow
@pytest.mark.parametrize("batch", [["a", "hang1", "hang2", "d"]], indirect=True)
def test_a_dead_kernel_or_worker_fails_that_city_only(batch):
    """A kernel killed mid-city: that city is "kernel died" within seconds and the next one gets a fresh kernel.
    Then the worker process itself killed mid-city: that city fails, the rest run on a new pool."""
    box, inputs, notebook, pid_file, env = batch
    out = box / "out"
    # one worker: the city after the killed kernel needs (and gets) a fresh kernel
    proc = _start([*map(str, inputs), "--out", str(out), "--notebook", str(notebook), "--jobs", "1"], box, env)
    try:
        kernel = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 180, "the first hanging city"))
        os.kill(kernel, signal.SIGKILL)
        killed = time.monotonic()
        wait_for(lambda: any("hang1" in m.read_text() for m in out.glob("*/*/manifest.json")), 60,
                  "the killed city's manifest")
        noticed = time.monotonic() - killed
        second = int(wait_for(lambda: pid_file.read_text() != str(kernel) and pid_file.read_text(), 180,
                               "the second hanging city"))
        worker = int(Path(f"/proc/{second}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.kill(worker, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        proc.kill()
    print(f"dead kernel noticed and recorded in {noticed:.1f} s")
    assert noticed < 15
    assert proc.returncode == 1, stdout + stderr
    assert not TRACEBACK.search(stdout + stderr), stderr
    hang = _manifest(out, inputs[1].name)
    assert hang["status"] == "failed" and hang["reason"].startswith("kernel died"), hang
    assert "cell 3" in hang["reason"]
    batch_manifest = {Path(c["input"]).name: c for c in json.loads((out / "manifest.json").read_text())["cities"]}
    assert batch_manifest[inputs[2].name]["status"] == "failed"
    assert "worker process rendering this city died" in batch_manifest[inputs[2].name]["reason"]
    for ok in (inputs[0], inputs[3]):
        assert _manifest(out, ok.name)["status"] == "ok"
    assert not list(out.rglob("*.part")) and not list(out.rglob(".ssc-claim-*"))
    # the dead worker's kernel notices its parent is gone and leaves (ipykernel's parent poller)
    wait_for(lambda: not _alive(second), 10, "the dead worker's kernel gone")


@pytest.mark.slow
@pytest.mark.parametrize("batch", [["a", "hang"]], indirect=True)
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_batch_and_a_rerun_finishes_it(batch, signum, code):
    """Mid-batch: one line, exit 130/143, no worker or kernel left, the finished city's manifest kept, no partial
    files; a re-run without --force renders only the rest."""
    box, inputs, notebook, pid_file, env = batch
    out = box / "out"
    args = [*map(str, inputs), "--out", str(out), "--notebook", str(notebook), "--jobs", "1"]
    proc = _start(args, box, env)
    try:
        wait_for(pid_file.exists, 180, "the hanging city")  # the first city is done, the second is running
        family = _descendants(proc.pid)
        assert any("ipykernel" in Path(f"/proc/{p}/cmdline").read_text(errors="replace") for p in family
                   if _alive(p)), "no kernel found under the batch"
        # Ctrl-C reaches the whole foreground process group; SIGTERM comes to the main process only
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        sent = time.monotonic()
        stdout, stderr = proc.communicate(timeout=60)
        stopped = time.monotonic() - sent
    finally:
        proc.kill()
    print(f"stopped {stopped:.1f} s after {signal.Signals(signum).name}")
    assert proc.returncode == code, stdout + stderr
    assert stopped < 15
    assert not TRACEBACK.search(stdout + stderr), stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == ["ssc assess: interrupted: 1 of 2 cities finished; re-run to continue"], stderr
    wait_for(lambda: not [p for p in family if _alive(p)], 5, "every worker and kernel gone")
    assert _manifest(out, inputs[0].name)["status"] == "ok"
    assert not list(out.rglob("*.part")) and not list(out.rglob(".ssc-claim-*"))
    if signum == signal.SIGTERM:
        return  # the re-run is the same for both signals: once is enough
    rerun = subprocess.run([sys.executable, "-m", "kpis.cli", "assess", *args], cwd=box, capture_output=True,
                           text=True, timeout=300, env={**env, "SSC_TEST_HANG": ""})
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    status = re.findall(r"^\S.*?\s+\d{4}\s+(ok|skipped)\s", rerun.stdout, re.M)
    assert status == ["skipped", "ok"], rerun.stdout


def test_failure_reasons_name_the_notebooks_own_cell():
    """The cell's number among the notebook's code cells (papermill's injected cell not counted) and its first
    line; never the kernel's execution count, which a reused kernel keeps counting across cities."""
    from kpis.watchdog import cell_label

    nb = nbformat.read(bundled("notebooks", "city_assessment.ipynb"), as_version=4)
    injected = nbformat.v4.new_code_cell('submission = "x.xlsx"', metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(2, injected)
    nb.cells.insert(3, nbformat.v4.new_code_cell("\n\n  import time  \ntime.sleep(1)"))
    assert cell_label(nb.cells, 3) == "cell 2 (`import time`)"
    assert cell_label(nb.cells, 2) == "the injected parameters cell"
    assert cell_label(nb.cells, 4).startswith("cell 3 (`from kpis.report import")
    assert cell_label(nb.cells, None) == "a cell" and cell_label(nb.cells, 999) == "a cell"
    nb.cells.insert(3, nbformat.v4.new_code_cell("x = '" + "y" * 200 + "'"))
    assert cell_label(nb.cells, 3).endswith("…`)") and len(cell_label(nb.cells, 3)) < 100


@pytest.mark.slow
def test_a_signal_stops_a_batch_of_the_bundled_notebook(tmp_path):
    """The bundled notebook runs in the workers' own process (no kernel): SIGTERM mid-batch still stops it in
    seconds with exit 143, no worker left and every finished city's manifest kept; the re-run renders the rest."""
    inputs = _cities(tmp_path / "in", [f"city{i}" for i in range(6)])
    out = tmp_path / "out"
    args = [*map(str, inputs), "--out", str(out), "--jobs", "1"]
    proc = _start(args, tmp_path, dict(os.environ))
    try:
        wait_for(lambda: next(out.glob("*/*/manifest.json"), None), 180, "the first finished city")
        family = _descendants(proc.pid)
        assert not any("ipykernel" in Path(f"/proc/{p}/cmdline").read_text(errors="replace") for p in family
                       if _alive(p)), "a kernel was started for the bundled notebook"
        os.kill(proc.pid, signal.SIGTERM)
        sent = time.monotonic()
        stdout, stderr = proc.communicate(timeout=60)
        stopped = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == 143, stdout + stderr
    assert stopped < 15 and not TRACEBACK.search(stdout + stderr), stderr
    done = int(re.fullmatch(r"ssc assess: interrupted: (\d) of 6 cities finished; re-run to continue\n",
                            stderr).group(1))
    wait_for(lambda: not [p for p in family if _alive(p)], 5, "every worker gone")
    assert len(list(out.glob("*/*/manifest.json"))) == done and 1 <= done < 6
    assert not list(out.rglob("*.part")) and not list(out.rglob(".ssc-claim-*"))
    rerun = subprocess.run([sys.executable, "-m", "kpis.cli", "assess", *args], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    status = re.findall(r"^\S.*?\s+\d{4}\s+(ok|skipped)\s", rerun.stdout, re.M)
    assert sorted(status) == sorted(["skipped"] * done + ["ok"] * (6 - done)), rerun.stdout
