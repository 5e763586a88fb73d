"""A batch on the local process pool against the same batch on a fresh Dask cluster (start-up included), same run.

    python bench/bench_cluster.py --cities 5

Pool: `ssc assess --jobs 2`. Dask: `dask scheduler` and two `dask worker --nthreads T` processes started for the
batch (in folders of their own, as on separate machines), then `ssc assess --scheduler`; the time counts from
starting the scheduler to the last report on the client. Wall time and first report, per engine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kpis import synthetic

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _assess(files: list[Path], out: Path, extra: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kpis.cli", "assess", *map(str, files), "--out", str(out),
                             "--force", *extra], cwd=out.parent, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    first = None
    while proc.poll() is None:
        if first is None and next(out.glob("*/*/report.html"), None) is not None:
            first = time.perf_counter() - t0
        time.sleep(0.1)
    if proc.returncode:
        raise SystemExit(f"assess failed: {proc.stderr.read() if proc.stderr else ''}")
    return time.perf_counter() - t0, first or 0.0


def _cluster(files: list[Path], box: Path, threads: int) -> tuple[float, float]:
    start = time.perf_counter()
    file = box / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(file)], cwd=box, env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        while not file.exists():
            time.sleep(0.05)
        time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        for i in range(2):
            (box / f"w{i}").mkdir()
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", str(threads), "--no-dashboard"], cwd=box / f"w{i}",
                                          env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        wall, first = _assess(files, box / "out", ["--scheduler", address])
        total = time.perf_counter() - start
        return total, first + (total - wall)  # the first report counted from the scheduler's start
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cities", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp)
        files = synthetic.write_workbooks(synthetic.cities(args.cities, seed=2), box / "in")
        (box / "pool").mkdir()
        wall, first = _assess(files, box / "pool" / "out", ["--jobs", "2"])
        print(f"pool --jobs 2, {args.cities} cities: {wall:.1f} s (first report {first:.1f} s)")
        for threads in (1, 2):
            (box / f"dask{threads}").mkdir()
            wall, first = _cluster(files, box / f"dask{threads}", threads)
            print(f"fresh Dask, 2 workers x {threads} thread(s), {args.cities} cities: {wall:.1f} s "
                  f"(first report {first:.1f} s; scheduler and workers started within the time)")


if __name__ == "__main__":
    main()
