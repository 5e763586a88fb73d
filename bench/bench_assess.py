"""`ssc assess` on a batch of cities against the naive loop, in the same run on the same machine.

Naive loop: for each city, the papermill CLI runs the same notebook, then the `jupyter nbconvert` CLI turns it into
HTML without code. Budget: `ssc assess` at least 4x faster on >= 8 cities; one city cold from the CLI <= 6 s.
Cities: the bundled ones (demo + published) plus invented ones from kpis.synthetic to reach --cities.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cities", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ssc-bench-"))
    try:
        files, extra = batch_inputs(args.cities, work)
        notebook = bundled("notebooks", "city_assessment.ipynb")
        print(f"cities: {len(files)} ({extra} invented)")

        cold = _timed([_tool("ssc"), "assess", str(demo_city()), "--out", str(work / "cold"), "--force"], work)
        print(f"one city, cold, from the CLI (HTML): {cold:6.2f} s (budget 6 s) {'OK' if cold <= 6 else 'OVER'}")

        t0 = time.perf_counter()
        for i, path in enumerate(files):
            out_nb = work / "naive" / f"city{i}.ipynb"
            out_nb.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([_tool("papermill"), str(notebook), str(out_nb), "-p", "submission", str(path),
                            "-k", "python3", "--no-progress-bar"], check=True, cwd=work,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run([_tool("jupyter"), "nbconvert", "--to", "html", "--no-input", str(out_nb)], check=True,
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        naive = time.perf_counter() - t0
        print(f"naive loop (papermill CLI + jupyter nbconvert CLI per city): {naive:6.2f} s")

        ours = _timed([_tool("ssc"), "assess", *map(str, files), "--out", str(work / "ours"), "--force"], work)
        written = len(list((work / "ours").rglob("report.html")))
        print(f"ssc assess ({written} reports):                            {ours:6.2f} s")
        ratio = naive / ours
        print(f"speed-up: {ratio:4.1f}x (budget >= 4x) {'OK' if ratio >= 4 else 'UNDER'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
