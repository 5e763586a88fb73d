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


def test_a_missing_input_is_refused_at_once(tmp_path):
    """No worker pool, no kernel: one line naming the file, exit code 1, nothing written."""
    proc, seconds = _ssc("assess", "missing.xlsx", "--out", str(tmp_path / "r"), cwd=tmp_path)
    print(f"ssc assess missing.xlsx: {seconds:.2f} s")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing.xlsx" in lines[0] and "no such file" in lines[0], proc.stderr
    assert seconds < 3
    assert not (tmp_path / "r").exists()


def test_missing_inputs_start_no_pool(tmp_path, monkeypatch):
    from kpis import run
    from kpis.errors import UserError

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started with nothing to render")

    monkeypatch.setattr(run, "start_pool", no_pool)
    with pytest.raises(UserError, match=r"a\.xlsx: no such file.*b\.xlsx: no such file"):
        run.assess([tmp_path / "a.xlsx", tmp_path / "b.xlsx"], out=tmp_path / "r", progress=False)


@pytest.fixture(scope="module")
def rendered_batch(tmp_path_factory):
    """Two cities rendered once (the slow part); the tests below re-run them."""
    root = tmp_path_factory.mktemp("batch")
    inputs = [str(demo_city()), str(bundled("data", "cities/rana-2020.xlsx"))]
    proc, _ = _ssc("assess", *inputs, "--out", str(root / "reports"), cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root, inputs


def _skipped(stdout: str) -> bool:
    return bool(re.search(r"Demo City \(invented data\)\s+2024\s+skipped", stdout)
                and re.search(r"Rana\s+2020\s+skipped", stdout))


@pytest.mark.slow
def test_a_rerun_with_every_city_unchanged_returns_at_once(rendered_batch):
    root, inputs = rendered_batch
    proc, seconds = _ssc("assess", *inputs, "--out", str(root / "reports"), cwd=root)
    print(f"re-run of an unchanged 2-city batch: {seconds:.2f} s")
    assert proc.returncode == 0, proc.stderr
    assert _skipped(proc.stdout), proc.stdout
    assert "2 of 2 cities done" in proc.stdout
    assert seconds < 3
    batch = json.loads((root / "reports" / "manifest.json").read_text())
    assert [c["status"] for c in batch["cities"]] == ["skipped", "skipped"]


@pytest.mark.slow
def test_a_rerun_with_nothing_to_render_starts_no_pool(rendered_batch, monkeypatch):
    from kpis import run

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started with nothing to render")

    root, inputs = rendered_batch
    monkeypatch.setattr(run, "start_pool", no_pool)
    result = run.assess(inputs, out=root / "reports", progress=False)
    assert [r.status for r in result.runs] == ["skipped", "skipped"] and result.exit_code == 0
    # a missing file among unchanged cities: refused in the summary, the others still skipped, exit code 1
    result = run.assess([inputs[0], root / "missing.xlsx", inputs[1]], out=root / "reports", progress=False)
    assert [r.status for r in result.runs] == ["skipped", "invalid", "skipped"]
    assert "missing.xlsx: no such file" in result.runs[1].reason
    assert result.exit_code == 1


@pytest.mark.slow
def test_a_missing_file_among_unchanged_cities_keeps_the_batch_going(rendered_batch):
    root, inputs = rendered_batch
    proc, seconds = _ssc("assess", inputs[0], "missing.xlsx", inputs[1], "--out", str(root / "reports"), cwd=root)
    print(f"re-run with a missing file among 2 unchanged cities: {seconds:.2f} s")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert re.search(r"missing\.xlsx\s+invalid\s+\S+\s+missing\.xlsx: no such file", proc.stdout), proc.stdout
    assert _skipped(proc.stdout) and "2 of 3 cities done" in proc.stdout
    assert seconds < 3
