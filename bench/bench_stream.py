"""Time to the first report, total time and CPU of `ssc assess` on one batch, for one or more checkouts in the same
run (so that a before/after comparison shares the machine's load).

    python bench/bench_stream.py --cities 20 --checkout /path/to/main --checkout .

Each checkout runs `python -m kpis.cli assess` with PYTHONPATH set to it. The first report is the first
report.html to appear under --out (polled every 0.1 s); CPU is the children's user+system time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench_assess import assess, batch_inputs  # the same cities as the naive-loop benchmark


def _run(checkout: Path, files: list[Path], out: Path, jobs: int) -> tuple[float, float, float, int]:
    out.parent.mkdir(parents=True, exist_ok=True)
    return assess(files, out, [sys.executable, "-m", "kpis.cli", "assess", "--jobs", str(jobs)],
                  {**os.environ, "PYTHONPATH": str(checkout)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--checkout", action="append", type=Path, default=None,
                        help="a source tree to run (repeatable; default: this one)")
    args = parser.parse_args()
    checkouts = args.checkout or [Path(__file__).resolve().parent.parent]
    work = Path(tempfile.mkdtemp(prefix="ssc-bench-stream-"))
    try:
        files, _ = batch_inputs(args.cities, work)
        print(f"cities: {len(files)}, jobs: {args.jobs}")
        print(f"{'checkout':40} {'first report':>13} {'total':>8} {'CPU-s':>7} {'CPU-s/city':>10} reports")
        for i, checkout in enumerate(checkouts):
            out = work / f"out{i}"
            first, total, cpu, written = _run(checkout.resolve(), files, out, args.jobs)
            print(f"{str(checkout)[-40:]:40} {first:11.1f} s {total:6.1f} s {cpu:7.1f} {cpu / len(files):10.2f} "
                  f"{written}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
