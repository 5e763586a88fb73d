"""The generated workbook: built from the catalogue, one Data row per data point, input cells guarded."""

from __future__ import annotations

import openpyxl
import pytest

from kpis import cli
from kpis.library import library, points_table
from kpis.template import (
    DATA_COLUMNS,
    DATA_QUALITY_LEVELS,
    SHEET_DATA,
    SHEET_INSTRUCTIONS,
    SHEET_LISTS,
    SHEET_MEASURES,
    SHEET_PROFILE,
    TEMPLATE_VERSION,
    VERSION_CELL,
    column_letter,
    sub_dimensions,
    write_template,
)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    path = write_template(tmp_path_factory.mktemp("tpl") / "t.xlsx", city="=cmd|' /C calc'!A0", year=2024)
    return openpyxl.load_workbook(path)


def test_sheets_and_version_stamp(workbook):
    assert workbook.sheetnames == [SHEET_INSTRUCTIONS, SHEET_PROFILE, SHEET_DATA, SHEET_MEASURES, SHEET_LISTS]
    assert workbook[SHEET_INSTRUCTIONS][VERSION_CELL].value == TEMPLATE_VERSION
    assert workbook[SHEET_LISTS].sheet_state == "hidden"


def test_one_data_row_per_catalogue_point_in_order(workbook):
    ws = workbook[SHEET_DATA]
    points = points_table()
    assert [c.value for c in ws[1]] == [c.header for c in DATA_COLUMNS]
    codes = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    parts = [ws.cell(r, 2).value or "" for r in range(2, ws.max_row + 1)]
    assert list(zip(codes, parts, strict=True)) == list(points[["code", "part"]].itertuples(index=False, name=None))
    assert len(set(codes)) == len(library()) == 91
    assert len(codes) == len(points) > 91  # composites have one row per part


def test_reported_defaults_to_nr_formula_and_inputs_are_empty(workbook):
    ws = workbook[SHEET_DATA]
    reported = ws[f"{column_letter('reported')}2"].value
    assert reported.startswith("=IF(") and '"NR"' in reported
    for key in ("numerator_value", "denominator_value", "final_value", "data_quality"):
        assert ws[f"{column_letter(key)}2"].value is None


def test_input_cells_unlocked_structure_locked_headers_frozen(workbook):
    ws = workbook[SHEET_DATA]
    assert ws.protection.sheet is True
    assert ws[f"{column_letter('numerator_value')}5"].protection.locked is False
    assert ws[f"{column_letter('code')}5"].protection.locked is True
    assert ws.freeze_panes == f"{column_letter('name')}2"
    assert ws.column_dimensions[column_letter("definition")].width >= 40


def _rules_for(ws, ref):
    return [dv for dv in ws.data_validations.dataValidation if ref in dv.sqref]


def test_data_validation_on_every_input_cell(workbook):
    ws = workbook[SHEET_DATA]
    for row in range(2, ws.max_row + 1):
        for key in ("numerator_value", "final_value", "data_quality", "data_origin"):
            assert _rules_for(ws, f"{column_letter(key)}{row}"), f"no validation on {key} row {row}"
    # a percentage: numerator >= 0; final value between 0 and 100; quality is the six-level list
    (num,) = _rules_for(ws, f"{column_letter('numerator_value')}2")
    assert num.type == "whole" and num.operator == "greaterThanOrEqual" and num.formula1 == "0"
    (final,) = _rules_for(ws, f"{column_letter('final_value')}2")
    assert (final.type, final.formula1, final.formula2) == ("decimal", "0", "100")
    (quality,) = _rules_for(ws, f"{column_letter('data_quality')}2")
    assert quality.type == "list" and quality.formula1 == f"'{SHEET_LISTS}'!$A$2:$A$7"
    lists = workbook[SHEET_LISTS]
    assert tuple(lists.cell(r, 1).value for r in range(2, 8)) == DATA_QUALITY_LEVELS


def test_yes_no_rows_ask_for_criteria_count(workbook):
    ws = workbook[SHEET_DATA]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "SC: SH: SA: 3A")
    (rule,) = _rules_for(ws, f"{column_letter('numerator_value')}{row}")
    assert (rule.type, rule.formula1, rule.formula2) == ("whole", "0", "4")
    assert "4" in ws[f"{column_letter('numerator_label')}{row}"].value


def test_profile_prefilled_and_hostile_text_stays_text(workbook):
    ws = workbook[SHEET_PROFILE]
    assert ws["A2"].value == "City" and ws["B2"].value == "=cmd|' /C calc'!A0"
    assert ws["B2"].data_type == "s"  # stored as text, never as a formula
    assert ws["A4"].value == "Year of data" and ws["B4"].value == 2024


def test_measures_sheet_has_every_sub_dimension(workbook):
    ws = workbook[SHEET_MEASURES]
    subs = [ws.cell(r, 2).value for r in range(2, ws.max_row + 1)]
    assert subs == [s for _, s, _ in sub_dimensions()]
    assert len(subs) == 7


def test_cli_template_and_bad_name(tmp_path, capsys):
    assert cli.main(["template", str(tmp_path / "x.xlsx"), "--city", "Testville", "--year", "2023"]) == 0
    assert (tmp_path / "x.xlsx").stat().st_size > 10_000
    assert cli.main(["template", str(tmp_path / "x.txt")]) == 1
    assert "ending in .xlsx" in capsys.readouterr().err
    assert cli.main(["template", str(tmp_path / "y.xlsx"), "--year", "1066"]) == 1
