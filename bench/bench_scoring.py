"""Scoring at research scale: 100,000 generated city-years × 91 KPIs (every data point) through `score_frame`.

Prints the wall and CPU time of each run, the best, and the process's peak memory (the generated input included);
the budgets are 3 s and 2 GB. On a shared machine, read the CPU seconds.
Run: python bench/bench_scoring.py [n_city_years]
"""

from __future__ import annotations

import resource
import sys
import time

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


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux
    print(f"scored {n} city-years x {res.coverage['kpis_total'].iloc[0]} KPIs = {len(res.kpis):,} data points")
    print("runs wall (s): " + ", ".join(f"{t:.3f}" for t in times) + "; CPU (s): " + ", ".join(f"{t:.3f}" for t in cpu))
    print(f"best {min(times):.3f} s wall, {min(cpu):.3f} CPU-s (budget 3.0 s) -> "
          f"{'OK' if min(cpu) <= 3.0 else 'OVER BUDGET'}")
    print(f"peak memory {peak:.2f} GB, input included (budget 2 GB) -> {'OK' if peak <= 2.0 else 'OVER BUDGET'}")
    print(f"summary rows {len(res.summary):,}, SDG rows {len(res.sdg):,}")


if __name__ == "__main__":
    main()
