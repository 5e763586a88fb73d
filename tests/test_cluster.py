"""Dask as the batch's engine, with no shared disk: reports come back to the client and are written there, once.

The report notebook is the bundled one plus cells that act on a city by its file name: "zzfail" raises, "zzhang"
sleeps past the timeout, "zzkill" notes its worker's pid (the kernel's parent) and sleeps until the test kills that
worker (its retry elsewhere finds the note and goes on).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import distributed
import pytest
from adversarial import TRACEBACK, attack, named_cities, notebook_with, wait_for

import kpis
from kpis.outdir import DATASET_MARKER

FAULT_CELL = """import os, time
from pathlib import Path
_note = Path(os.environ.get("SSC_TEST_NOTE", "/nonexistent"))
if "zzfail" in submission:
    raise RuntimeError("this city fails on purpose")
if "zzhang" in submission:
    time.sleep(300)
if "zzkill" in submission and not _note.exists():
    _note.write_text(f"{os.getppid()} {os.getpid()}")
    time.sleep(300)"""
WORKER_ROOT = Path(__file__).resolve().parents[1]


def _notebook(folder: Path) -> Path:
    return notebook_with(folder, "faults.ipynb", FAULT_CELL)


def _cities(folder: Path, names: list[str]) -> list[Path]:
    return named_cities(folder, names, seed=5)


def _by_input(out: Path) -> dict[str, dict]:
    return {Path(c["input"]).name: c for c in json.loads((out / "manifest.json").read_text())["cities"]}


@pytest.mark.slow
def test_local_cluster_batch_with_a_failing_a_hanging_and_a_killed_city(tmp_path, monkeypatch):
    """2 worker processes × 2 threads: the failing city fails with its reason, the hanging one is stopped at its
    timeout and writes nothing, the killed worker's city runs again elsewhere; every other report is written once,
    on the client."""
    note = tmp_path / "killed.note"
    monkeypatch.setenv("SSC_TEST_NOTE", str(note))
    inputs = _cities(tmp_path / "in", ["a", "zzfail", "zzhang", "zzkill", "e"])
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        t0 = time.monotonic()
        def killer() -> None:
            worker, kernel = map(int, wait_for(lambda: note.exists() and note.read_text(), 180,
                                                "the city that waits to be killed").split())
            os.kill(worker, signal.SIGKILL)
            os.kill(kernel, signal.SIGKILL)  # its kernel sleeps in a session of its own

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        result = kpis.assess(inputs, out=out, executor=client.get_executor(), timeout=20, progress=False,
                             notebook=_notebook(tmp_path))
        seconds = time.monotonic() - t0
        thread.join(5)
    print(f"LocalCluster batch of 5 cities (one killed, one timed out): {seconds:.1f} s")
    assert note.exists(), "the worker was never killed"
    runs = {Path(r.input).name: r for r in result.runs}
    assert runs[inputs[1].name].status == "failed"
    assert "this city fails on purpose" in runs[inputs[1].name].reason
    hang = runs[inputs[2].name]
    assert hang.status == "failed" and hang.reason.startswith("timed out after 20 s"), hang.reason
    # its scores were written before the notebook ran (as in a local batch); no report, then or later
    assert sorted(p.name for p in Path(hang.out_dir).iterdir()) == ["manifest.json", "results.xlsx"]
    for name in (inputs[0].name, inputs[3].name, inputs[4].name):
        run = runs[name]
        assert run.status == "ok", (name, run.reason)
        city_dir = Path(run.out_dir)
        assert out.resolve() in city_dir.parents
        assert sorted(p.name for p in city_dir.iterdir()) == ["manifest.json", "report.html", "report.ipynb",
                                                               "results.xlsx"]
        assert json.loads((city_dir / "manifest.json").read_text())["status"] == "ok"
    assert {k: v["status"] for k, v in _by_input(out).items()} == {r.input.split("/")[-1]: r.status
                                                                    for r in result.runs}
    assert len([p for p in out.glob("*/*") if p.parent.name != "_dataset"]) == 5  # one folder per city: nothing
    # written twice elsewhere; every city scored (the failed ones too) has its part of the results dataset here
    assert len(list(out.glob("_dataset/year=*/*.parquet"))) == 5 and (out / "_dataset" / DATASET_MARKER).is_file()
    assert not list(out.rglob("*.part")) and not list(out.rglob(".ssc-*"))


def _dask(args: list[str], cwd: Path, env: dict, python: list[str] | None = None) -> subprocess.Popen:
    cmd = python or [sys.executable, "-m", "distributed.cli.dask_" + args[0]]
    return subprocess.Popen([*cmd, *args[1:]], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.slow
def test_separate_scheduler_and_workers_send_reports_to_the_client(tmp_path):
    """`dask scheduler` and two `dask worker`s, each in a folder of its own: the reports arrive in the client's
    --out and nothing of them lands in a worker's folder; then a worker without kpis is named within seconds."""
    env = {**os.environ, "PYTHONPATH": str(WORKER_ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    client_dir, sched_dir = tmp_path / "client", tmp_path / "scheduler"
    workers = [tmp_path / "worker1", tmp_path / "worker2"]
    for folder in (client_dir, sched_dir, *workers):
        folder.mkdir()
    file = sched_dir / "scheduler.json"
    procs = [_dask(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                    str(file)], sched_dir, env)]
    try:
        address = json.loads(wait_for(lambda: file.exists() and file.read_text(), 60, "the scheduler"))["address"]
        for folder in workers:
            procs.append(_dask(["worker", address, "--nthreads", "2", "--no-dashboard", "--local-directory",
                                str(folder / "scratch")], folder, env))
        inputs = _cities(client_dir / "in", ["a", "b", "c"])
        out = client_dir / "out"
        t0 = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "kpis.cli", "assess", *map(str, inputs), "--out", str(out),
                               "--scheduler", address], cwd=client_dir, env=env, capture_output=True, text=True,
                              timeout=300)
        print(f"3 cities on a fresh scheduler + 2 workers: {time.monotonic() - t0:.1f} s")
        assert done.returncode == 0, done.stdout + done.stderr
        assert not TRACEBACK.search(done.stdout + done.stderr), done.stderr
        assert len(re.findall(r"^\S.*\s+ok\s", done.stdout, re.M)) == 3, done.stdout
        for city in _by_input(out).values():
            assert city["status"] == "ok" and Path(city["out_dir"]).parent.parent == out.resolve()
            assert (Path(city["out_dir"]) / "report.html").stat().st_size > 10_000
        for folder in workers:
            leftovers = [p for p in folder.rglob("*") if p.suffix in {".html", ".xlsx", ".ipynb", ".json", ".parquet"}
                         or "ssc-city-" in p.name]
            assert not leftovers, leftovers
        # a worker whose Python cannot import kpis (the package hidden from it) joins: named at once
        bare = tmp_path / "bare"
        bare.mkdir()
        hidden = ["-c", "import sys; sys.modules['kpis'] = None; sys.argv[0] = 'dask-worker'; "
                  "from distributed.cli.dask_worker import main; main()"]
        procs.append(_dask(["worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name",
                            "bare-worker"], bare, {**os.environ, "PYTHONPATH": str(bare)},
                           python=[sys.executable, *hidden]))
        client = distributed.Client(address, timeout=30)
        try:
            wait_for(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) == 3, 60, "the bare worker")
        finally:
            client.close()
        refused = attack("assess", str(inputs[0]), "--out", str(out / "again"), "--scheduler", address, cwd=client_dir,
               out=out / "again", inputs=inputs, message=re.compile(r"tcp://127\.0\.0\.1:\d+ cannot run kpis"),
               within=30, env={"PYTHONPATH": str(WORKER_ROOT)})
        print(f"worker without kpis refused in {refused.seconds:.1f} s: {refused.stderr.strip()}")
        assert "Install ssc-kpis" in refused.stderr
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_the_client_sends_a_window_of_cities_and_cancels_the_rest(tmp_path):
    """A big batch: each submission is read when its city is sent, a window at a time (the others wait on the
    client, unread); stopping the batch drops the cities not sent and cancels those in flight."""
    from concurrent.futures import ThreadPoolExecutor, wait
    from types import SimpleNamespace

    from kpis.cluster import Remote, RemoteCity

    gate, sent, cancelled = threading.Event(), [], []
    pool = ThreadPoolExecutor(max_workers=40)

    class Dask:  # the client's executor: runs the "city" in a thread once the gate opens
        def submit(self, remote, fn, job, submission, targets, notebook):
            sent.append(submission.name)
            return pool.submit(lambda: (gate.wait(30), RemoteCity(job.run))[1])

        def shutdown(self, wait=True):
            cancelled.append(len(sent))

    class Client:
        def get_executor(self, **options):
            return Dask()

        def scheduler_info(self):
            return {"workers": {"w1": {"nthreads": 2}, "w2": {"nthreads": 1}}}

    files = []
    for i in range(40):
        files.append(tmp_path / f"city{i}.xlsx")
        files[-1].write_bytes(b"x" * 1000)
    remote = Remote(Client(), False, tmp_path, None, None, files[0])
    assert remote.window == 8  # twice the 3 threads, at least 8
    futures = [remote.submit(None, SimpleNamespace(run=SimpleNamespace(input=str(f), out_dir=""))) for f in files[:20]]
    wait_for(lambda: len(sent) == 8, 10, "the first window")
    time.sleep(0.3)
    assert len(sent) == 8  # the other 12 are neither sent nor read
    gate.set()
    wait(futures, timeout=30)
    assert sent == [f.name for f in files[:20]] and all(f.result().input.endswith(".xlsx") for f in futures)
    gate.clear()
    futures = [remote.submit(None, SimpleNamespace(run=SimpleNamespace(input=str(f), out_dir=""))) for f in files[20:]]
    wait_for(lambda: len(sent) == 28, 10, "the second window")
    remote.shutdown()
    gate.set()
    wait(futures, timeout=30)
    assert cancelled == [28]  # the 8 in flight cancelled on the cluster
    assert sum(f.cancelled() for f in futures) >= 12 and len(sent) == 28  # the 12 not sent never will be
    pool.shutdown()
