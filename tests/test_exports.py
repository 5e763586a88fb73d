"""Exports of Results: every format loads back equal, and hostile text comes out inert in spreadsheets."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from kpis import paths, read_submission
from kpis.export import neutralise, protect, restore
from kpis.results import KPI_COLUMNS, Results, ScoringError
from kpis.scoring import score

EVIL = '=HYPERLINK("http://x","y")'
BROADBAND = "EC: ICT: ICT: 2C"


@dataclass
class Sub:
    profile: dict
    data: pd.DataFrame
    measures: dict = field(default_factory=dict)


def _sub(city: str, source: str, value: float) -> Sub:
    rows = [
        {"code": BROADBAND, "part": "", "numerator_value": value, "denominator_value": 100, "final_value": None,
         "reported": True, "data_quality": "+1 estimate", "data_origin": "@import", "source_name": source,
         "source_link": "", "comment": "", "sheet": "Data", "row": 4},
        {"code": "EN: EN: AQ: 1C", "part": "pm2_5", "numerator_value": 12.5, "denominator_value": None,
         "final_value": None, "reported": True, "data_quality": "", "data_origin": "", "source_name": "'=quoted",
         "source_link": "", "comment": "", "sheet": "Data", "row": 9},
        {"code": "EC: I: UP: 2A", "part": "", "numerator_value": None, "denominator_value": None,
         "final_value": None, "reported": False, "data_quality": "", "data_origin": "", "source_name": "",
         "source_link": "", "comment": "", "sheet": "Data", "row": 12},
    ]
    profile = {"city": city, "year": 2024, "population": 52000, "region": "-2+3", "area_km2": None}
    return Sub(profile, pd.DataFrame(rows), {"ICT": "@SUM(A1) plan", "Energy": "\tTabbed"})


@pytest.fixture(scope="module")
def results() -> Results:
    return score([_sub(EVIL, EVIL, 30.0), _sub("Ålesund", "Statistics Norway", 61.0)])


def test_reversible_neutraliser():
    for text in [EVIL, "+1", "-", "@x", "\tx", "\rx", "'=x", "''+y", "'plain", "plain", "'", ""]:
        assert restore(protect(text)) == text
        if neutralise(text) != text:
            assert protect(text) == neutralise(text)  # never weaker than the shared neutraliser
    assert protect(EVIL) == "'" + EVIL


@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet", "json"])
def test_round_trip_equal(results, tmp_path, kind):
    target = tmp_path / ("out" if kind == "csv" else f"out.{kind}")
    getattr(results, "to_excel" if kind == "xlsx" else f"to_{kind}")(target)
    back = Results.load(target)
    for table in Results.TABLES:
        pd.testing.assert_frame_equal(getattr(back, table), getattr(results, table), check_exact=kind != "xlsx",
                                      rtol=1e-15)
    assert back.profiles == results.profiles and back.measures == results.measures
    assert back.target_set == results.target_set and back.options == results.options
    assert back == results
    changed = Results(results.kpis.assign(value=results.kpis["value"] * (1 + 1e-9)), results.summary, results.sdg,
                      results.coverage, results.target_set, results.profiles, results.measures, results.options)
    assert back != changed


def test_round_trip_keeps_research_options(tmp_path):
    res = score([_sub("A", "s", 30.0), _sub("B", "s", 50.0)], normalise="minmax", aggregate="geometric",
                weights={BROADBAND: 2})
    back = Results.load(res.to_json(tmp_path / "r.json"))
    assert back == res and back.options["weights"] == {BROADBAND: 2.0}


def test_excel_cells_are_inert_and_bands_coloured(results, tmp_path):
    path = results.to_excel(tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    assert {"kpis", "summary", "sdg", "coverage", "profiles", "measures", "about"} <= set(wb.sheetnames)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value
    assert "'" + EVIL in texts and "'@SUM(A1) plan" in texts and "'+1 estimate" in texts
    rules = wb["kpis"].conditional_formatting
    # a conditional (differential) format keeps a solid fill's colour in bgColor, as Excel writes it
    fills = {r.dxf.fill.bgColor.rgb[-6:].lower() for cf in rules for r in cf.rules}
    assert {"1a9850", "a6d96a", "fdae61", "d73027"} <= fills
    band_letter = get_column_letter(KPI_COLUMNS.index("band") + 1)
    assert any(str(cf.sqref).startswith(f"{band_letter}2:") for cf in rules)  # the band column of the tidy table


def test_csv_text_is_inert(results, tmp_path):
    folder = results.to_csv(tmp_path / "csv")
    for f in folder.glob("*.csv"):
        with open(f, newline="", encoding="utf-8") as fh:
            for rec in csv.reader(fh):
                for value in rec:
                    assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (f.name, value)
    kpis = (folder / "kpis.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in kpis and "''=quoted" in kpis


def test_json_and_parquet_keep_exact_text(results, tmp_path):
    doc = json.loads(results.to_json(tmp_path / "r.json").read_text(encoding="utf-8"))
    assert EVIL in doc["kpis"]["data"]["city"] and doc["about"]["data"]["value"][0] == "ssc-kpis results"
    table = pd.read_parquet(results.to_parquet(tmp_path / "r.parquet"))
    assert (table["source"] == EVIL).any() and len(table) == len(results.kpis)


def test_load_rejects_foreign_files(tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"kpis": {"columns": [], "data": {}}}')
    with pytest.raises(ScoringError, match="not a saved result"):
        Results.load(other)
    with pytest.raises(ScoringError, match="no such file"):
        Results.load(tmp_path / "missing.parquet")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ScoringError, match="broken.xlsx"):
        Results.load(broken)


def test_excel_drops_characters_a_workbook_cannot_hold(tmp_path):
    res = score([_sub("Nul\x01City", "bell\x07", 30.0)])
    wb = openpyxl.load_workbook(res.to_excel(tmp_path / "x.xlsx"))
    assert wb["kpis"]["A2"].value == "NulCity"


def test_a_version_1_results_file_still_loads(tmp_path):
    """Files written before statuses and coverage flags existed load with those derived from what they hold."""
    res = score(read_submission(paths.demo_city()))
    folder = res.to_csv(tmp_path / "v1")
    kpis_csv = pd.read_csv(folder / "kpis.csv", dtype=str, keep_default_na=False)
    kpis_csv.drop(columns=["target_basis", "reference", "status"]).to_csv(folder / "kpis.csv", index=False)
    cov = pd.read_csv(folder / "coverage.csv", dtype=str, keep_default_na=False)
    cov.drop(columns=["points_scorable", "provisional"]).to_csv(folder / "coverage.csv", index=False)
    about = pd.read_csv(folder / "about.csv", dtype=str, keep_default_na=False)
    about.loc[about["key"] == "version", "value"] = "1"
    about.to_csv(folder / "about.csv", index=False)
    old = Results.load(folder)
    scored = old.kpis["scored"].to_numpy()
    assert (old.kpis["status"].astype(str)[scored] == res.kpis["status"].astype(str)[scored]).all()
    context = (res.kpis["status"] == "context").to_numpy()
    assert context.any() and (old.kpis["status"].astype(str)[context] == "no benchmark").all()
    others = ~context
    assert (old.kpis["status"].astype(str)[others] == res.kpis["status"].astype(str)[others]).all()
    assert bool(old.coverage["provisional"].iloc[0]) is False
