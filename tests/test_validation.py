"""Every check of `validate`: the right severity, the exact cell, the KPI and a message that says what to do."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import openpyxl
import pytest

from kpis import cli, read_submission, validate
from kpis.library import points_table
from kpis.problems import Problem, SubmissionError
from kpis.template import SHEET_DATA, SHEET_INSTRUCTIONS, column_letter, write_template
from kpis.validation_report import cli_validate

PROFILE = {"city": "Testville", "year": 2024, "population": 100000, "households": 40000}
Q = {"data_quality": "Based on accurate measurements", "source_name": "Testville statistics office"}


def row_of(code: str, part: str = "") -> int:
    points = points_table()
    return int(points.index[(points["code"] == code) & (points["part"] == part)][0]) + 2


def cell(key: str, code: str, part: str = "") -> str:
    return f"{SHEET_DATA}!{column_letter(key)}{row_of(code, part)}"


def make(tmp_path, values=None, profile=None, edit=None, name="s.xlsx"):
    path = write_template(tmp_path / name, profile=PROFILE if profile is None else profile, values=values or {})
    if edit:
        wb = openpyxl.load_workbook(path)
        edit(wb)
        wb.save(path)
    return path


def only(problems, severity=None):
    found = [p for p in problems if severity is None or p.severity == severity]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def test_problem_reads_well():
    p = Problem("error", "city.xlsx", "Data", "Data!H5", "EC: ICT: ICT: 1C", "fix it")
    assert str(p) == "ERROR: city.xlsx Data!H5 [EC: ICT: ICT: 1C]: fix it"
    with pytest.raises(AttributeError):
        p.message = "x"  # frozen


def test_text_in_number_cell(tmp_path):
    path = make(tmp_path, {("EC: ICT: ICT: 1C", ""): {"numerator_value": "about 900", "denominator_value": 1000, **Q}})
    p = only(validate(path), "error")
    assert (p.cell, p.sheet, p.kpi_code) == (cell("numerator_value", "EC: ICT: ICT: 1C"), "Data", "EC: ICT: ICT: 1C")
    assert "'about 900'" in p.message and "must be a number" in p.message


def test_number_typed_as_text_is_read_with_warning(tmp_path):
    path = make(tmp_path, {("EC: ICT: ICT: 3C", ""): {"numerator_value": "95 424", "denominator_value": 100000, **Q}})
    p = only(validate(path))
    assert p.severity == "warning" and "read as 95424" in p.message
    frame = read_submission(path).data.set_index(["code", "part"])
    assert frame.loc[("EC: ICT: ICT: 3C", ""), "numerator_value"] == 95424


def test_negative_count(tmp_path):
    path = make(tmp_path, {("SC: SH: SA: 8C", ""): {"numerator_value": -3, "denominator_value": 100000, **Q}})
    p = only(validate(path), "error")
    assert p.cell == cell("numerator_value", "SC: SH: SA: 8C") and "cannot be negative" in p.message


def _percentages(n: int) -> list[str]:
    """Simple KPIs whose value is a share of a whole (0-100 and numerator <= denominator), from the catalogue."""
    pts = points_table()
    pick = pts[(pts["part"] == "") & (pts["value_max"] == 100) & pts["le_denominator"] & (pts["kind"] == "ratio")]
    return list(pick["code"])[:n]


def test_percentage_above_100_and_numerator_above_denominator(tmp_path):
    first, second = _percentages(2)
    path = make(tmp_path, {
        (first, ""): {"final_value": 140, **Q},
        (second, ""): {"numerator_value": 48000, "denominator_value": 40000, **Q},
    })
    errors = [p for p in validate(path) if p.severity == "error"]
    by_cell = {p.cell: p.message for p in errors}
    assert "outside the possible range 0 to 100" in by_cell[cell("final_value", first)]
    msg = by_cell[cell("numerator_value", second)]
    assert "(48 000) is larger than" in msg and "(40 000)" in msg
    assert len(errors) == 2


def test_composite_shares_must_sum_to_100(tmp_path):
    shares = {"private_vehicle": 50, "public_transport": 30, "walking": 10, "cycling": 5, "para_transport": 1}
    values = {("EC: I: T: 4A", k): {"numerator_value": v, "denominator_value": 100, **Q} for k, v in shares.items()}
    p = only(validate(make(tmp_path, values)), "error")
    assert p.kpi_code == "EC: I: T: 4A" and "add up to 96.0 %" in p.message
    values[("EC: I: T: 4A", "para_transport")]["numerator_value"] = 4  # 99 %: within the ± 2 rounding allowance
    assert validate(make(tmp_path, values, name="ok.xlsx")) == []


def test_secondary_treatment_cannot_exceed_primary(tmp_path):
    vals = {"primary": 60, "secondary": 75, "tertiary": 10}
    values = {("EN: EN: WS: 4C", k): {"final_value": v, **Q} for k, v in vals.items()}
    p = only(validate(make(tmp_path, values)), "error")
    assert p.cell.startswith(f"{SHEET_DATA}!") and p.cell.endswith(str(row_of("EN: EN: WS: 4C", "secondary")))
    assert "secondary (75) cannot exceed primary (60)" in p.message


def test_final_value_disagreeing_with_inputs_is_a_warning_naming_both(tmp_path):
    path = make(tmp_path, {("EC: ICT: ICT: 1C", ""): {"numerator_value": 36000, "denominator_value": 40000,
                                                       "final_value": 95, **Q}})
    p = only(validate(path))
    assert p.severity == "warning" and p.cell == cell("final_value", "EC: ICT: ICT: 1C")
    assert "95" in p.message and "90 computed" in p.message
    assert cli.main(["validate", str(path)]) == 0  # warnings do not fail the check
    # within rounding: silent
    path2 = make(tmp_path, {("EC: ICT: ICT: 1C", ""): {"numerator_value": 36000, "denominator_value": 40000,
                                                        "final_value": 90.001, **Q}}, name="r.xlsx")
    assert validate(path2) == []


@pytest.mark.parametrize("year", [1850, 2999])
def test_implausible_year(tmp_path, year):
    p = only(validate(make(tmp_path, profile={**PROFILE, "year": year})), "error")
    assert p.cell == "Profile!B4" and f"year of data {year} is implausible" in p.message


def test_missing_city_and_year(tmp_path):
    problems = validate(make(tmp_path, profile={"population": 5}))
    assert {p.cell for p in problems if p.severity == "error"} == {"Profile!B2", "Profile!B4"}


def test_missing_data_quality_is_a_warning(tmp_path):
    path = make(tmp_path, {("SC: EH: H: 1C", ""): {"numerator_value": 80, "source_name": "Health register"}})
    p = only(validate(path))
    assert p.severity == "warning" and p.cell == cell("data_quality", "SC: EH: H: 1C")
    assert "data-quality level" in p.message


def test_unknown_quality_level_and_half_filled_ratio(tmp_path):
    path = make(tmp_path, {("SC: EH: H: 1C", ""): {"numerator_value": 80, "data_quality": "pretty good", "source_name": "Health register"},
                           ("EC: ICT: ICT: 1C", ""): {"numerator_value": 36000, **Q}})
    problems = validate(path)
    assert only(problems, "error").cell == cell("data_quality", "SC: EH: H: 1C")
    half = only(problems, "warning")
    assert half.cell == cell("denominator_value", "EC: ICT: ICT: 1C") and "counts as not reported" in half.message


def test_population_must_match_profile(tmp_path):
    path = make(tmp_path, {("SC: SH: SA: 8C", ""): {"numerator_value": 30, "denominator_value": 150000, **Q}})
    p = only(validate(path))
    assert p.severity == "warning" and "differs by more than 5%" in p.message and "100 000" in p.message


def test_unknown_and_duplicated_codes(tmp_path):
    def edit(wb):
        ws = wb[SHEET_DATA]
        ws[f"A{row_of('EC: ICT: ICT: 2C')}"] = "EC: ICT: ICT: 99C"
        ws[f"A{row_of('EC: ICT: ICT: 3C')}"] = "ec:ict:ict:1c"  # same KPI as row 2, other spelling

    problems = validate(make(tmp_path, edit=edit))
    errors = {p.cell: p.message for p in problems if p.severity == "error"}
    assert "unknown KPI code 'EC: ICT: ICT: 99C'" in errors[f"Data!A{row_of('EC: ICT: ICT: 2C')}"]
    assert "appears twice (also row 2)" in errors[f"Data!A{row_of('EC: ICT: ICT: 3C')}"]
    assert cli.main(["validate", str(make(tmp_path, edit=edit, name="again.xlsx"))]) == 1


def test_missing_sheet_column_and_unknown_version(tmp_path):
    def edit(wb):
        del wb["Profile"]
        wb[SHEET_INSTRUCTIONS]["B2"] = "7.3"
        wb[SHEET_DATA][f"{column_letter('denominator_value')}1"] = "Denominator"
        del wb.defined_names["ssc_col_denominator_value"]  # without its hidden key, a reworded header is unknown

    problems = validate(make(tmp_path, edit=edit))
    messages = " | ".join(p.message for p in problems)
    assert "the sheet 'Profile' is missing" in messages
    assert "unknown template version '7.3'" in messages
    assert "the column 'Denominator value' is missing" in messages
    with pytest.raises(SubmissionError) as info:
        read_submission(make(tmp_path, edit=edit, name="x.xlsx"))
    assert len(info.value.problems) == len(problems) and "ssc validate" in str(info.value)


def test_shuffled_columns_are_read_by_header(tmp_path):
    values = {("EC: ICT: ICT: 1C", ""): {"numerator_value": 36000, "denominator_value": 40000, **Q}}

    def edit(wb):  # numerator to column AB, KPI code to column W
        wb[SHEET_DATA].move_range("H1:H200", cols=20)
        wb[SHEET_DATA].move_range("A1:A200", cols=22)

    path = make(tmp_path, values, edit=edit)
    assert validate(path) == []
    frame = read_submission(path).data.set_index(["code", "part"])
    assert frame.loc[("EC: ICT: ICT: 1C", ""), "numerator_value"] == 36000
    assert read_submission(path).cell("EC: ICT: ICT: 1C", "", "numerator_value") == "Data!AB2"


def test_formula_in_input_cell(tmp_path):
    def edit(wb):
        wb[SHEET_DATA][cell("numerator_value", "EC: ICT: ICT: 1C").split("!")[1]] = "=SUM(B1:B3)"

    p = only(validate(make(tmp_path, {("EC: ICT: ICT: 1C", ""): {"denominator_value": 10, **Q}}, edit=edit)), "error")
    assert p.cell == cell("numerator_value", "EC: ICT: ICT: 1C") and "formula" in p.message


def test_cli_html_and_annotated_copy_never_touch_the_original(tmp_path, capsys):
    hostile = "<script>alert(1)</script>"

    def edit(wb):
        wb[SHEET_DATA][f"A{row_of('EC: ICT: ICT: 2C')}"] = hostile

    bad = make(tmp_path, {("EC: ICT: ICT: 1C", ""): {"numerator_value": -1, "denominator_value": 5, **Q}}, edit=edit)
    before = hashlib.sha256(bad.read_bytes()).hexdigest()
    out_html, out_dir = tmp_path / "report.html", tmp_path / "checked"
    args = SimpleNamespace(files=[bad], html=out_html, annotate=out_dir)
    assert cli_validate(args) == 1
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == before
    page = out_html.read_text(encoding="utf-8")
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    copy = openpyxl.load_workbook(out_dir / "s.checked.xlsx")
    target = copy[SHEET_DATA][cell("numerator_value", "EC: ICT: ICT: 1C").split("!")[1]]
    assert target.fill.fgColor.rgb.endswith("F4B6B6") and "cannot be negative" in target.comment.text
    assert "NOT USABLE" in capsys.readouterr().out


def test_validate_never_raises_on_missing_file(tmp_path):
    p = only(validate(tmp_path / "nope.xlsx"))
    assert p.severity == "error" and "does not exist" in p.message
    assert cli.main(["validate", str(tmp_path / "nope.xlsx")]) == 1


def test_percentage_above_100_accepted_where_the_catalogue_allows_it(tmp_path):
    """Gross enrolment and similar ratios may pass 100 %: the catalogue's open upper bound decides, not the unit."""
    pts = points_table()
    open_pct = pts[(pts["unit"] == "%") & pts["value_max"].isna() & ~pts["le_denominator"] & (pts["part"] == "")]
    assert "SC: EH: ED: 2C" in set(open_pct["code"])  # school enrolment, the case the issue names
    path = make(tmp_path, {("SC: EH: ED: 2C", ""): {"numerator_value": 10400, "denominator_value": 10000, **Q}})
    assert [p for p in validate(path) if p.severity == "error"] == []


def test_annotated_copies_of_same_named_files_do_not_overwrite_each_other(tmp_path):
    from kpis.paths import demo_city

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "city.xlsx", tmp_path / "b" / "city.xlsx"
    first.write_bytes(demo_city().read_bytes())
    second.write_bytes(demo_city().read_bytes())
    out_dir = tmp_path / "checked"
    assert cli_validate(SimpleNamespace(files=[first, second], html=None, annotate=out_dir)) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["city-2.checked.xlsx", "city.checked.xlsx"]
