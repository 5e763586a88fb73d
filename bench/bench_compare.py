"""Comparison benchmark: 5,000 invented cities (compare object + 200-draw sensitivity ranking) and the
comparison report rendered for 200 cities. Prints wall and CPU seconds; budgets: compare + overall rank 5 s,
the report 30 s. On a shared machine, read the CPU seconds."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kpis.comparison import compare
from kpis.synthetic import cities


def timed(label: str, fn, figures: dict):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    figures[label] = time.process_time() - c0
    print(f"{label:<44} {time.perf_counter() - t0:7.2f} s wall {figures[label]:7.2f} CPU-s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cities", type=int, default=5000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--report-cities", type=int, default=200)
    args = parser.parse_args()
    f: dict[str, float] = {}
    data = timed(f"generate {args.cities} cities", lambda: cities(args.cities, seed=1), f)
    comp = timed("compare (tidy table, scored)", lambda: compare(data), f)
    timed("scores + coverage", lambda: (comp.scores, comp.coverage), f)
    r = timed(f"rank overall, {args.draws} draws", lambda: comp.rank(draws=args.draws, seed=0), f)
    timed(f"rank per category, {args.draws} draws", lambda: comp.rank("category", draws=args.draws), f)
    core = sum(v for k, v in f.items() if k.startswith(("compare", "rank overall")))
    print(f"{'compare + overall rank (CPU-s)':<44} {core:7.2f}    (budget 5 s: {'OK' if core <= 5 else 'OVER'}; "
          f"{len(r.table)} ranked, {len(r.excluded)} not ranked, {len(r.points)} data points)")

    from kpis.cli import main as ssc

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cities.csv"
        cities(args.report_cities, seed=2, years=2).to_csv(src, index=False)
        code = timed(f"ssc compare, {args.report_cities} cities x 2 years",
                     lambda: ssc(["compare", str(src), "--out", str(Path(tmp) / "out")]), f)
        size = (Path(tmp) / "out" / "report.html").stat().st_size if code == 0 else 0
        print(f"{'report':<44} exit {code}, {size / 1024:.0f} KiB (budget 30 s)")


if __name__ == "__main__":
    main()
