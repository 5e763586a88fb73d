"""Regressions: the comparison notebook's `output` folder, and how fast `ssc assess` answers when there is nothing
to render (a missing input, or a re-run where every city is unchanged)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpis import synthetic
from kpis.paths import bundled, demo_city

EXPORTS = ["comparison_kpis.csv", "scores.csv", "ranking.csv", "coverage.csv", "progress.csv"]


def _ssc(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kpis.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)
    return proc, time.perf_counter() - t0


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1  # less the header


@pytest.mark.slow
def test_comparison_notebook_writes_its_exports_into_the_output_folder(tmp_path):
    """papermill passes `output` as a string: the notebook must write the CSVs `ssc compare` writes into it."""
    import papermill

    # four invented cities over two years, so that every export (rankings, progress) has rows
    long_csv = tmp_path / "cities.csv"
    synthetic.cities(4, seed=3, years=2).to_csv(long_csv, index=False)
    out = tmp_path / "x"
    papermill.execute_notebook(
        str(bundled("notebooks", "compare_cities.ipynb")), None,
        parameters={"inputs": [str(long_csv)], "output": str(out), "draws": 20},
        kernel_name="python3", cwd=str(tmp_path), progress_bar=False, log_output=False,
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORTS)
    for name in EXPORTS:
        assert _rows(out / name) > 0, name
