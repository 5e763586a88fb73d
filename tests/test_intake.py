"""Reading submissions: the round trip through the template, the bundled cities, and the long CSV."""

from __future__ import annotations

import hashlib
import importlib.util
import math
from pathlib import Path

import openpyxl
import pytest
import yaml

from kpis import cli, paths, read_submission, validate
from kpis.formulas import compute_frame
from kpis.intake import FRAME_COLUMNS
from kpis.library import points_table
from kpis.problems import SubmissionError
from kpis.template import SHEET_DATA, SHEET_MEASURES, SHEET_PROFILE, column_letter, write_template

DATA = Path(__file__).resolve().parent.parent / "data"


def _build_module():
    spec = importlib.util.spec_from_file_location("data_build", DATA / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_spec():
    return yaml.safe_load((DATA / "demo_city.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_values(demo_spec):
    return _build_module().demo_values(demo_spec)


def test_round_trip_fill_blank_template_programmatically(tmp_path, demo_spec, demo_values):
    """Generate the template, fill it cell by cell as a city would, read it back: every value equal."""
    blank = write_template(tmp_path / "blank.xlsx")
    wb = openpyxl.load_workbook(blank)
    ws = wb[SHEET_DATA]
    rows = {(ws.cell(r, 1).value, ws.cell(r, 2).value or ""): r for r in range(2, ws.max_row + 1)}
    for key, cells in demo_values.items():
        for col, value in cells.items():
            ws[f"{column_letter(col)}{rows[key]}"] = value
    prof = wb[SHEET_PROFILE]
    labels = {prof.cell(r, 1).value: r for r in range(2, prof.max_row + 1)}
    label_of = {"city": "City", "country": "Country", "year": "Year of data", "population": "Population",
                "area_km2": "Area (km2)", "households": "Households", "currency": "Currency", "contact": "Contact",
                "region": "Region"}
    for key, value in demo_spec["profile"].items():
        prof.cell(labels[label_of[key]], 2, value)
    meas = wb[SHEET_MEASURES]
    for r in range(2, meas.max_row + 1):
        meas.cell(r, 4, demo_spec["measures"][meas.cell(r, 2).value])
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)

    sub = read_submission(filled)
    assert sub.problems == []
    assert list(sub.data.columns) == FRAME_COLUMNS
    assert len(sub.data) == len(points_table())
    for rec in sub.data.itertuples(index=False):
        cells = demo_values[(rec.code, rec.part)]
        assert rec.numerator_value == cells["numerator_value"]
        expected_den = cells.get("denominator_value")
        assert (math.isnan(rec.denominator_value) if expected_den is None else rec.denominator_value == expected_den)
        assert math.isnan(rec.final_value)
        assert rec.reported
        assert (rec.data_quality, rec.source_name, rec.source_link) == (
            cells["data_quality"], cells["source_name"], cells["source_link"])
    for key, value in demo_spec["profile"].items():
        assert getattr(sub.profile, key) == value
    assert sub.measures == {k: v.strip() for k, v in demo_spec["measures"].items()}
    assert sub.template_version == "1.0"
    assert validate(filled) == []
    assert cli.main(["validate", str(filled)]) == 0


def test_bundled_demo_city_is_complete_and_invented(demo_spec):
    sub = read_submission(paths.demo_city())
    assert "invented" in sub.profile.city.lower()
    assert sub.data["reported"].all() and sub.data["code"].nunique() == 91
    assert len(sub.measures) == 7 and all("(Invented)" in t for t in sub.measures.values())
    values = compute_frame(sub.data).set_index(["code", "part"])["value"]
    # the invented KPI values of the YAML come back from the raw inputs (integer inputs round a little)
    for code, entry in demo_spec["values"].items():
        for part, expected in (entry.items() if isinstance(entry, dict) else [("", entry)]):
            got = values[(code, part)]
            if code in ("EC: I: UP: 2A", "SC: SH: SA: 3A"):  # yes/no: criteria met -> % of criteria
                n = 6 if code == "EC: I: UP: 2A" else 4
                expected = 100 * expected / n
            assert got == pytest.approx(expected, rel=0.01, abs=0.01), (code, part)


def test_bundled_demo_city_has_a_mix_of_bands():
    import kpis

    k = kpis.score(read_submission(paths.demo_city())).kpis
    bands = k.loc[k["scored"], "band"].astype(str).value_counts().to_dict()
    assert set(bands) == {"<33", "33-66", "66-95", "95+"} and min(bands.values()) >= 5, bands


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "cities").glob("*.xlsx")))
def test_bundled_published_cities_validate_and_keep_values(name):
    path = paths.bundled("data", f"cities/{name}")
    assert cli.main(["validate", str(path)]) == 0
    sub = read_submission(path)
    assert not sub.data["numerator_value"].notna().any()  # inputs are not published
    assert sub.data.loc[sub.data["reported"], "final_value"].notna().all()


def test_published_values_and_not_reported_rows():
    karmoy = read_submission(paths.bundled("data", "cities/karmoy-2020.xlsx"))
    frame = karmoy.data.set_index(["code", "part"])
    assert frame.loc[("EC: ICT: ICT: 2C", ""), "final_value"] == 84.51
    assert frame.loc[("EC: ICT: ICT: 3C", ""), "final_value"] == 95424  # '95 424' as printed
    assert frame.loc[("EC: ICT: ICT: 4C", "coverage_4g"), "final_value"] == 96.67
    assert int(karmoy.data["reported"].sum()) == 14 and karmoy.profile.city == "Karmøy"
    bizerte = read_submission(paths.bundled("data", "cities/bizerte-2020.xlsx")).data.set_index(["code", "part"])
    assert not bizerte.loc[("SC: SH: SI: 2C", ""), "reported"]  # 'Not verified'
    assert "Not verified" in bizerte.loc[("SC: SH: SI: 2C", ""), "comment"]
    assert bizerte.loc[("EN: EN: WS: 4C", "tertiary"), "final_value"] == 0.0
    rana = read_submission(paths.bundled("data", "cities/rana-2020.xlsx"))
    assert not rana.data["reported"].any()


def test_input_file_untouched_and_hash_recorded():
    path = paths.demo_city()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    sub = read_submission(path)
    assert sub.sha256 == before == hashlib.sha256(path.read_bytes()).hexdigest()


def test_final_value_used_only_without_inputs(tmp_path):
    values = {("EC: ICT: ICT: 1C", ""): {"final_value": 91.5, "data_quality": "Personal estimation"},
              ("EC: ICT: ICT: 2C", ""): {"numerator_value": 30, "denominator_value": 100, "final_value": 30,
                                         "data_quality": "Personal estimation"}}
    path = write_template(tmp_path / "f.xlsx", city="Testville", year=2024, values=values)
    sub = read_submission(path)
    out = compute_frame(sub.data).set_index(["code", "part"])
    assert out.loc[("EC: ICT: ICT: 1C", ""), ["value", "value_origin"]].tolist() == [91.5, "entered"]
    assert out.loc[("EC: ICT: ICT: 2C", ""), ["value", "value_origin"]].tolist() == [30.0, "computed"]
    assert sub.data["reported"].sum() == 2


def _write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


CSV_OK = """kpi_code,part,input,value,data_quality,source_name
profile,,city,Scriptville,,
profile,,year,2023,,
profile,,population,100000,,
EC: ICT: ICT: 1C,,households_with_internet,"40 500",Based on accurate measurements,Census
EC: ICT: ICT: 1C,,households_total,45000,Based on accurate measurements,Census
EC: I: T: 4A,,commuters_total,1000,Estimation based on certain assumptions,
EC: I: T: 4A,private_vehicle,numerator,500,,
EC: I: T: 4A,public_transport,commuters_public_transport,300,,
EC: I: T: 4A,walking,numerator,100,,
EC: I: T: 4A,cycling,numerator,80,,
EC: I: T: 4A,para_transport,numerator,20,,
SC: EH: H: 1C,,final_value,80.5,Based on accurate measurements,
measures,ICT,,Fibre for all schools,,
"""


def test_long_csv_reads_profile_inputs_shared_denominators_and_measures(tmp_path):
    path = _write_csv(tmp_path / "s.csv", "\ufeff" + CSV_OK)  # Excel's UTF-8 with BOM
    sub = read_submission(path)
    assert (sub.profile.city, sub.profile.year, sub.profile.population) == ("Scriptville", 2023, 100000)
    assert sub.measures == {"ICT": "Fibre for all schools"}
    frame = compute_frame(sub.data).set_index(["code", "part"])
    assert frame.loc[("EC: ICT: ICT: 1C", ""), "value"] == pytest.approx(90.0)
    shares = frame.loc["EC: I: T: 4A", "value"]
    assert shares.to_dict() == {"private_vehicle": 50.0, "public_transport": 30.0, "walking": 10.0,
                                "cycling": 8.0, "para_transport": 2.0}
    assert frame.loc[("SC: EH: H: 1C", ""), "value"] == 80.5
    assert int(sub.data["reported"].sum()) == 7
    assert sub.cell("EC: ICT: ICT: 1C", "", "numerator_value") == "row 5"
    assert sub.kind == "csv" and len(sub.data) == len(points_table())


@pytest.mark.parametrize(
    "text, encoding, expected",
    [
        (CSV_OK.replace(",", ";"), "utf-8", "semicolons"),
        (CSV_OK.replace(",", "\t"), "utf-8", "tabs"),
        (CSV_OK.replace("Scriptville", "Bézierville"), "latin-1", "not UTF-8"),
        (CSV_OK, "utf-16", "UTF-16"),
        ("", "utf-8", "empty"),
    ],
)
def test_csv_refused_with_how_to_resave(tmp_path, text, encoding, expected):
    path = _write_csv(tmp_path / "bad.csv", text, encoding)
    with pytest.raises(SubmissionError) as info:
        read_submission(path)
    assert expected in str(info.value)
    assert info.value.problems and info.value.problems[0].severity == "error"


def test_refuses_to_read_without_defusedxml(monkeypatch):
    import openpyxl.xml

    from kpis.errors import UserError

    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    with pytest.raises(UserError, match="defusedxml"):
        read_submission(paths.demo_city())
