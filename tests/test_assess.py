"""`ssc assess` end to end: the demo city's report, re-runs, and a batch where some cities fail."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kpis import synthetic
from kpis.paths import demo_city
from kpis.run import assess

SECTIONS = ["Executive summary", "City context", "Method and data", "Results overview", "Results by dimension",
            "Strengths", "Areas to improve", "Priority actions", "Measures adopted and suggested actions",
            "Data collection plan", "Data quality and coverage", "Annex: all 91 KPIs"]


def _ssc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpis.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    before = hashlib.sha256(demo_city().read_bytes()).hexdigest()
    proc = _ssc("assess", "--out", str(out), cwd=out)
    assert hashlib.sha256(demo_city().read_bytes()).hexdigest() == before  # the input is never modified
    return out, proc


def test_demo_city_report_is_written(demo_run):
    out, proc = demo_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    city_dir = out / "demo-city-invented-data" / "2024"
    assert sorted(p.name for p in city_dir.iterdir()) == ["manifest.json", "report.html", "report.ipynb",
                                                        "results.xlsx"]
    html = (city_dir / "report.html").read_text(encoding="utf-8")
    for heading in SECTIONS:
        assert f">{heading}<" in html, heading
    assert "Demo City (invented data)" in html and "invented" in html
    assert "Measures adopted by Demo City (invented data)" in html  # the two-column table
    # no code, no prompts, no injected parameters, nothing fetched from the network
    assert "CityReport.build" not in html and "injected-parameters" not in html and "In&nbsp;[" not in html
    assert not re.search(r"<script", html)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert html.count('<figure class="chart"><svg ') == 3 and html.count("<title>") >= 4  # page title + charts
    # every one of the 91 KPIs is in the annex
    annex = html[html.index(">Annex: all 91 KPIs<"):]
    assert len(set(re.findall(r"<td><bdi dir=\"ltr\">((?:EC|EN|SC): [A-Z]+: [A-Z]+: \d+[CA])</bdi></td>", annex))) == 91
    manifest = json.loads((city_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["city"] == "Demo City (invented data)"
    assert manifest["input_sha256"] == hashlib.sha256(demo_city().read_bytes()).hexdigest()
    assert manifest["target_set"].startswith("ssc-kpis default targets")
    assert {"validate_s", "score_s", "notebook_s", "html_s"} <= set(manifest["timings"])
    nb = nbformat.read(city_dir / "report.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_unchanged_city_is_skipped_and_force_reruns(demo_run):
    out, _ = demo_run
    again = _ssc("assess", "--out", str(out), cwd=out)
    assert again.returncode == 0
    assert re.search(r"Demo City \(invented data\)\s+2024\s+skipped", again.stdout)
    forced = _ssc("assess", "--out", str(out), "--force", "--jobs", "1", cwd=out)
    assert forced.returncode == 0
    assert re.search(r"Demo City \(invented data\)\s+2024\s+ok", forced.stdout)


def _failing_notebook(tmp_path: Path) -> Path:
    """The bundled notebook plus one cell that fails for the city whose file name contains 'boom'."""
    from kpis.paths import bundled

    nb = nbformat.read(bundled("notebooks", "city_assessment.ipynb"), as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell('if "boom" in submission:\n'
                                                 '    raise RuntimeError("deliberate failure for the test")'))
    path = tmp_path / "failing.ipynb"
    nbformat.write(nb, path)
    return path


def test_batch_goes_on_when_cities_fail(tmp_path):
    cities = synthetic.cities(3, seed=7)
    good, boom_src, good2 = synthetic.write_workbooks(cities, tmp_path / "in")
    boom = boom_src.with_name("boom-" + boom_src.name)
    boom_src.rename(boom)
    broken = tmp_path / "in" / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    out = tmp_path / "reports"
    result = assess([good, broken, boom, good2], out=out, notebook=_failing_notebook(tmp_path), progress=False,
                    jobs=2)
    assert result.exit_code == 1
    status = {Path(r.input).name: r for r in result.runs}
    assert status[good.name].status == "ok" and status[good2.name].status == "ok"
    assert status["broken.xlsx"].status == "invalid" and status["broken.xlsx"].problems
    assert status[boom.name].status == "failed"
    assert "RuntimeError: deliberate failure for the test" in status[boom.name].reason
    for ok in (good, good2):
        assert (Path(status[ok.name].out_dir) / "report.html").exists()
    # the failed city leaves no report, only its manifest
    boom_dir = Path(status[boom.name].out_dir)
    assert not (boom_dir / "report.html").exists()
    assert json.loads((boom_dir / "manifest.json").read_text())["status"] == "failed"
    batch = json.loads((out / "manifest.json").read_text())
    by_input = {Path(c["input"]).name: c for c in batch["cities"]}
    assert by_input["broken.xlsx"]["status"] == "invalid" and by_input["broken.xlsx"]["reason"]
    assert by_input[boom.name]["status"] == "failed" and "deliberate failure" in by_input[boom.name]["reason"]
    assert not list(out.rglob("*.part*"))  # no half-written file anywhere


def test_same_city_twice_in_one_batch_is_refused(tmp_path):
    copy = tmp_path / "copy.xlsx"
    shutil.copy(demo_city(), copy)
    result = assess([demo_city(), copy], out=tmp_path / "r", progress=False, jobs=1)
    assert [r.status for r in result.runs] == ["ok", "invalid"]
    assert "appears twice" in result.runs[1].reason


def test_cli_reports_a_missing_file_without_traceback(tmp_path):
    proc = _ssc("assess", str(tmp_path / "nope.xlsx"), "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "nope.xlsx" in proc.stdout + proc.stderr


def test_pdf_without_a_browser_still_writes_html(tmp_path, monkeypatch):
    monkeypatch.setenv("SSC_CHROMIUM", str(tmp_path / "no-such-browser"))
    result = assess(None, out=tmp_path / "r", pdf=True, progress=False, jobs=1)
    assert result.exit_code == 1
    assert "apt-get install chromium" in result.pdf_message
    assert (Path(result.runs[0].out_dir) / "report.html").exists()
    assert not (Path(result.runs[0].out_dir) / "report.pdf").exists()


@pytest.mark.parametrize("name", ["city_assessment.ipynb", "compare_cities.ipynb"])
def test_notebooks_run_as_they_are(name, tmp_path):
    """Opened in JupyterLab and run top to bottom with their defaults, the notebooks work (no papermill needed)."""
    from nbclient import NotebookClient

    from kpis.paths import bundled

    nb = nbformat.read(bundled("notebooks", name), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    charts = sum(1 for c in nb.cells for o in c.get("outputs", [])
                 if {"image/png", "image/svg+xml"} & set(o.get("data", {})))
    # the bundled cities share too few data points for a ranking or a progress chart: those become sentences
    assert charts >= (3 if name == "city_assessment.ipynb" else 2)


def test_a_city_that_runs_too_long_is_stopped_and_the_batch_goes_on(tmp_path):
    from kpis.paths import bundled

    nb = nbformat.read(bundled("notebooks", "city_assessment.ipynb"), as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell('if "slow" in submission:\n    import time\n    time.sleep(60)'))
    slow_nb = tmp_path / "slow.ipynb"
    nbformat.write(nb, slow_nb)
    fast, slow_src = synthetic.write_workbooks(synthetic.cities(2, seed=5), tmp_path / "in")
    slow = slow_src.with_name("slow-" + slow_src.name)
    slow_src.rename(slow)
    t0 = __import__("time").perf_counter()
    result = assess([fast, slow], out=tmp_path / "r", notebook=slow_nb, timeout=8, progress=False, jobs=2)
    assert __import__("time").perf_counter() - t0 < 45
    status = {Path(r.input).name: r for r in result.runs}
    assert status[fast.name].status == "ok", status[fast.name]
    assert status[slow.name].status == "failed" and "time" in status[slow.name].reason.lower()
    assert result.exit_code == 1


def test_any_executor_runs_the_batch(tmp_path):
    """The runner takes a concurrent.futures.Executor (a Dask client's get_executor() fits the same slot)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        result = assess(None, out=tmp_path / "r", executor=pool, progress=False)
    assert result.exit_code == 0 and result.runs[0].status == "ok"
    assert (Path(result.runs[0].out_dir) / "report.html").exists()
