"""Recommendation speed: invented cities scored, then `recommend` over all of them (knowledge base loaded once).

Prints the time per run, the best, and the time per city-year.
Run: python bench/bench_recommend.py [n_cities]
"""

from __future__ import annotations

import sys
import time

from kpis.knowledge import knowledge_base
from kpis.recommendation import recommend
from kpis.scoring import score_frame
from kpis.synthetic import cities


def main(n: int = 200, runs: int = 3) -> None:
    results = score_frame(cities(n, seed=11))
    t0 = time.perf_counter()
    knowledge_base()
    print(f"knowledge base load and check: {time.perf_counter() - t0:.3f} s")
    best = float("inf")
    for i in range(runs):
        t0 = time.perf_counter()
        recs = recommend(results)
        dt = time.perf_counter() - t0
        best = min(best, dt)
        print(f"run {i + 1}: {dt:.3f} s, {len(recs)} recommendations")
    print(f"best: {best:.3f} s for {n} city-years = {1000 * best / n:.2f} ms per city-year")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
