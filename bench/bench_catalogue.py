"""How long the KPI library takes to load in a fresh process (budget: 150 ms).

Each run starts a new interpreter, so no cache is warm. Printed: parsing + validating the 91 KPIs and the default
target set (the figure the budget is about), building the pandas indicator table, and `import kpis` itself.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

PROBE = r"""
import json, time
t0 = time.perf_counter()
import kpis
from kpis.library import library, load_targets
t1 = time.perf_counter()
lib = library(); targets = load_targets()
t2 = time.perf_counter()
frame = kpis.catalogue()
t3 = time.perf_counter()
assert len(lib) == 91 and len(frame) == 91
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "table": t3 - t2}))
"""


def main(runs: int = 7) -> None:
    samples = [json.loads(subprocess.check_output([sys.executable, "-c", PROBE], text=True)) for _ in range(runs)]
    med = {k: statistics.median(s[k] for s in samples) * 1000 for k in samples[0]}
    print(f"fresh processes: {runs}")
    print(f"import kpis                        : {med['import']:7.1f} ms (median)")
    print(f"load + validate 91 KPIs and targets: {med['load']:7.1f} ms (median; budget 150 ms) "
          f"{'OK' if med['load'] < 150 else 'OVER BUDGET'}")
    print(f"build the indicator table (pandas) : {med['table']:7.1f} ms (median, includes importing pandas)")


if __name__ == "__main__":
    main()
