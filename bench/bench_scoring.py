"""Scoring at research scale: 100,000 generated city-years × 91 KPIs (every data point) through `score_frame`.

Prints the wall and CPU time of each run, the best, and the process's peak memory (the generated input included);
the budgets are 3 s and 2 GB. On a shared machine, read the CPU seconds, or better the ratio against a baseline
measured in the same run: `--baseline REV` extracts the package as it was at git revision REV and times both in
fresh processes, taking turns, so that the load of the machine weighs on both alike.
Run: python bench/bench_scoring.py [n_city_years] [--baseline REV] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kpis.library import points_table
from kpis.scoring import score_frame

QUALITY = ["Based on accurate measurements", "Extrapolated based on higher-level data", "Personal estimation"]


def _tiled(column: pd.Series, n: int) -> pd.Categorical:
    """A catalogue column repeated for n city-years, as a batch stores it: categorical, one byte a row."""
    codes, names = pd.factorize(column)
    return pd.Categorical.from_codes(np.tile(codes.astype(np.int8), n), pd.Index(names, dtype=object))


def generate(n: int, seed: int = 7) -> pd.DataFrame:
    """A long frame as a batch of intakes produces: one row per city-year and data point, 15 % not reported."""
    rng = np.random.default_rng(seed)
    pts = points_table()
    m = len(pts)
    size = n * m
    city = pd.Categorical.from_codes(np.repeat(np.arange(n) // 2, m), [f"City {i}" for i in range((n + 1) // 2)])
    value = rng.gamma(2.0, 30.0, size)
    reported = rng.random(size) > 0.15
    return pd.DataFrame(
        {
            "city": city,
            "year": np.repeat((2020 + np.arange(n) % 2).astype(np.int16), m),
            "code": _tiled(pts["code"], n),
            "part": _tiled(pts["part"], n),
            "value": np.where(reported, value, np.nan),
            "reported": reported,
            "data_quality": pd.Categorical.from_codes(rng.integers(0, 3, size), QUALITY),
            "data_origin": pd.Categorical.from_codes(np.zeros(size, dtype=np.int8), ["city records"]),
            "source": pd.Categorical.from_codes(np.tile(np.arange(m), n), [f"Statistics office table {i}" for i in range(m)]),
            "value_origin": pd.Categorical.from_codes(np.zeros(size, dtype=np.int8), ["computed"]),
        }
    )


def measure(n: int) -> dict:
    """Two timed runs of `score_frame` on n generated city-years in this process; the best and the peak memory."""
    frame = generate(n)
    score_frame(frame.head(len(points_table())))  # warm caches (catalogue, targets, metadata)
    times, cpu = [], []
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        res = score_frame(frame)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if len(times) < 2:
            del res
    return {"wall": times, "cpu": cpu, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
            "points": len(res.kpis), "kpis": int(res.coverage["kpis_total"].iloc[0]),
            "summary": len(res.summary), "sdg": len(res.sdg)}


def report(n: int, m: dict) -> None:
    print(f"scored {n} city-years x {m['kpis']} KPIs = {m['points']:,} data points")
    print("runs wall (s): " + ", ".join(f"{t:.3f}" for t in m["wall"]) + "; CPU (s): "
          + ", ".join(f"{t:.3f}" for t in m["cpu"]))
    print(f"best {min(m['wall']):.3f} s wall, {min(m['cpu']):.3f} CPU-s (budget 3.0 s) -> "
          f"{'OK' if min(m['cpu']) <= 3.0 else 'OVER BUDGET'}")
    print(f"peak memory {m['peak_gb']:.2f} GB, input included (budget 2 GB) -> "
          f"{'OK' if m['peak_gb'] <= 2.0 else 'OVER BUDGET'}")
    print(f"summary rows {m['summary']:,}, SDG rows {m['sdg']:,}")


def _in_child(package_root: str, n: int) -> dict:
    """`measure` in a fresh process importing the package from `package_root`."""
    env = {**os.environ, "PYTHONPATH": package_root}
    out = subprocess.run([sys.executable, __file__, str(n), "--json"], env=env, capture_output=True, text=True,
                         check=True, cwd=package_root)
    return json.loads(out.stdout.strip().splitlines()[-1])


def against(n: int, revision: str, rounds: int) -> None:
    """This tree and `revision` timed in turns; the best of each and their ratio."""
    here = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "-C", here, "archive", revision, "kpis"], capture_output=True, check=True)
        with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
            tar.extractall(old, filter="data")
        best: dict[str, dict] = {}
        for r in range(rounds):
            for label, root in (("baseline " + revision, old), ("this tree", here)):
                m = _in_child(root, n)
                print(f"round {r + 1} {label:<20} CPU {min(m['cpu']):6.3f} s, wall {min(m['wall']):6.3f} s, "
                      f"peak {m['peak_gb']:.2f} GB", flush=True)
                kept = best.setdefault(label, m)
                kept["cpu"], kept["wall"] = [min(kept["cpu"] + m["cpu"])], [min(kept["wall"] + m["wall"])]
                kept["peak_gb"] = min(kept["peak_gb"], m["peak_gb"])
    (b_label, base), (_, mine) = best.items()
    report(n, mine)
    print(f"{b_label}: best {base['cpu'][0]:.3f} CPU-s, peak {base['peak_gb']:.2f} GB -> this tree is "
          f"{base['cpu'][0] / mine['cpu'][0]:.2f}x faster (CPU) and uses {mine['peak_gb'] / base['peak_gb']:.2f}x "
          "the memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--baseline", metavar="REV", help="a git revision to time against, in the same run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        against(args.n, args.baseline, args.rounds)
    elif args.json:
        print(json.dumps(measure(args.n)))
    else:
        report(args.n, measure(args.n))


if __name__ == "__main__":
    main()
