"""`ssc assess` on a batch of cities against the naive loop, in the same run on the same machine.

Naive loop: for each city, the papermill CLI runs the same notebook, then the `jupyter nbconvert` CLI turns it into
HTML without code. Printed in one run (targets of issue #15 on a 2-core machine):
- one city cold from the CLI (<= 3.5 s);
- naive loop vs `ssc assess` on the first --small cities (>= 8x) and on all --cities (>= 10x); the naive figure of
  the small batch is the time of its cities within the one naive loop (each city is run once);
- time to the first report of the big batch;
- CPU-s per city in steady state: the CPU of the big batch less the small one's, over the cities it adds (<= 1.0);
- the load average before and after (the machine may be shared: read the figures with it).
Cities: the bundled ones (demo + published) plus invented ones from kpis.synthetic to reach --cities.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kpis import synthetic
from kpis.paths import bundled, demo_city

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name) or name


def _timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def batch_inputs(n: int, work: Path) -> tuple[list[Path], int]:
    """The bundled cities, topped up with invented ones in `work` to n; also how many were invented."""
    files = [demo_city(), *sorted(bundled("data", "cities").glob("*.xlsx"))]
    extra = max(0, n - len(files))
    if extra:
        files += synthetic.write_workbooks(synthetic.cities(extra, seed=2026), work / "invented")
    return files[:n], extra


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def naive_loop(files: list[Path], notebook: Path, work: Path) -> list[float]:
    """Seconds per city of papermill CLI + jupyter nbconvert CLI, one city after the other."""
    times = []
    for i, path in enumerate(files):
        out_nb = work / "naive" / f"city{i}.ipynb"
        out_nb.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        subprocess.run([_tool("papermill"), str(notebook), str(out_nb), "-p", "submission", str(path),
                        "-k", "python3", "--no-progress-bar"], check=True, cwd=work,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([_tool("jupyter"), "nbconvert", "--to", "html", "--no-input", str(out_nb)], check=True,
                       cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


def assess(files: list[Path], out: Path, cmd: list[str] | None = None,
           env: dict | None = None) -> tuple[float, float, float, int]:
    """`ssc assess` on the files (or `cmd` + the files): (seconds to the first report.html, total seconds, CPU-s of
    it and its workers, reports written)."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.Popen([*(cmd or [_tool("ssc"), "assess"]), *map(str, files), "--out", str(out), "--force"],
                            cwd=out.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    while proc.poll() is None:
        if first is None and next(out.glob("*/*/report.html"), None) is not None:
            first = time.perf_counter() - t0
        time.sleep(0.05)
    total = time.perf_counter() - t0
    return (first if first is not None else total), total, _children_cpu() - cpu0, len(list(out.glob("*/*/report.html")))


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--cities", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ssc-bench-"))
    try:
        files, extra = batch_inputs(args.cities, work)
        small = files[:args.small]
        notebook = bundled("notebooks", "city_assessment.ipynb")
        print(f"cities: {len(files)} ({extra} invented); load average {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} cores", flush=True)

        cold = _timed([_tool("ssc"), "assess", str(demo_city()), "--out", str(work / "cold"), "--force"], work)
        print(f"one city, cold, from the CLI (HTML): {cold:6.2f} s (target <= 3.5 s) {_verdict(cold <= 3.5)}",
              flush=True)

        first_s, ours_s, cpu_s, written_s = assess(small, work / "small")
        first_b, ours_b, cpu_b, written_b = assess(files, work / "big")
        naive = naive_loop(files, notebook, work)
        naive_s, naive_b = sum(naive[:args.small]), sum(naive)
        steady = (cpu_b - cpu_s) / max(1, len(files) - len(small))
        print(f"{'':28} {'naive loop':>11} {'ssc assess':>11} {'speed-up':>9} {'first report':>13} {'CPU-s':>7}")
        for label, n, nv, ours, first, cpu, written, target in (
                ("small batch", len(small), naive_s, ours_s, first_s, cpu_s, written_s, 8),
                ("big batch", len(files), naive_b, ours_b, first_b, cpu_b, written_b, 10)):
            ratio = nv / ours
            print(f"{f'{label}: {n} cities, {written} reports':28} {nv:9.1f} s {ours:9.1f} s {ratio:8.1f}x "
                  f"{first:11.1f} s {cpu:7.1f}   (target >= {target}x) {_verdict(ratio >= target)}")
        print(f"CPU-s per city in steady state ({len(files)} less {len(small)} cities): {steady:5.2f} "
              f"(target <= 1.0) {_verdict(steady <= 1.0)}")
        print(f"time to the first report, {len(files)} cities: {first_b:.1f} s; naive loop per city: "
              f"{naive_b / len(files):.1f} s; load average now {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
