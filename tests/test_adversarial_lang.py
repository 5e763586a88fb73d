"""Hostile language cases: an unsupported --lang, a Profile that names a hostile language, hidden column names
that point anywhere, and a workbook whose visible headers are in several languages at once. Each answers with a
clear message in the chosen language and an exit code, never a traceback, within a few seconds."""

from __future__ import annotations

import openpyxl
import pytest
from adversarial import attack
from openpyxl.workbook.defined_name import DefinedName

from kpis.i18n import catalogue
from kpis.template import DATA_COLUMNS, PROFILE_FIELDS, SHEET_DATA, column_letter, write_template

ICT = "EC: ICT: ICT: 1C"
PROFILE = {"city": "Bizerte", "country": "Tunisia", "year": 2024, "population": 142000, "households": 40000}
VALUES = {(ICT, ""): {"numerator_value": 30000, "denominator_value": 40000, "source_name": "INS",
                      "data_quality": "Based on accurate measurements"}}


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """One filled workbook per language used, written once (the cases copy and edit it)."""
    folder = tmp_path_factory.mktemp("lang")
    return {lang: write_template(folder / f"{lang}.xlsx", profile=PROFILE, values=VALUES, lang=lang)
            for lang in ("en", "ar")}


def _workbook(tmp_path, filled, edit=None, lang="en"):
    path = tmp_path / "city.xlsx"
    path.write_bytes(filled[lang].read_bytes())
    if edit:
        wb = openpyxl.load_workbook(path)
        edit(wb)
        wb.save(path)
    return path


def _names_point_anywhere(wb):
    names = wb.defined_names
    names["ssc_col_code"] = DefinedName("ssc_col_code", attr_text="Profile!$B$2")  # another sheet
    names["ssc_col_numerator_value"] = DefinedName("ssc_col_numerator_value", attr_text="#REF!")  # deleted
    names["ssc_col_denominator_value"] = DefinedName("ssc_col_denominator_value", attr_text="Data!$XFD$1")  # far
    names["ssc_col_final_value"] = DefinedName("ssc_col_final_value", attr_text="Data!$A$1:$Z$9999")  # a range
    names["ssc_col_part"] = DefinedName("ssc_col_part", attr_text="Data!$A$1")  # the code's column


def _headers_in_six_languages(wb):
    langs = ["fr", "es", "ru", "zh", "ar", "en"]
    for i, col in enumerate(DATA_COLUMNS):
        lang = langs[i % len(langs)]
        wb[SHEET_DATA][f"{column_letter(col.key)}1"] = catalogue(lang).get(col.header, col.header)
    for name in list(wb.defined_names):
        del wb.defined_names[name]


def _hostile_profile_language(wb):
    row = 2 + [f.key for f in PROFILE_FIELDS].index("language")
    wb["Profile"][f"B{row}"] = "fr; DROP TABLE \u202e" + "x" * 5000


def _answers_in_another_language(wb):
    ws = wb[SHEET_DATA]
    row = next(r for r in range(2, ws.max_row + 1) if ws[f"A{r}"].value == "EC: I: UP: 2A")
    ws[f"{column_letter('final_value')}{row}"] = "Sí"
    ws[f"{column_letter('data_quality')}{row}"] = "Личная оценка"
    ws[f"{column_letter('source_name')}{row}"] = "Ayuntamiento"


CASES = {
    # name: (edit of the workbook, extra arguments, expected exit code, message that must appear)
    "unsupported --lang": (None, ["--lang", "klingon"], 1, "choose one of ar, zh, en, fr, ru, es"),
    "hidden names point anywhere": (_names_point_anywhere, [], 0, "OK - 0 error(s)"),
    "headers in six languages, no names": (_headers_in_six_languages, [], 0, "OK - 0 error(s)"),
    "hostile Profile language": (_hostile_profile_language, [], 0, "is not one of ar, zh, en, fr, ru, es"),
    "answers in other languages": (_answers_in_another_language, [], 0, "OK - 0 error(s)"),
}


@pytest.mark.parametrize("case", CASES)
def test_language_attack(tmp_path, filled, case):
    edit, extra, code, message = CASES[case]
    path = _workbook(tmp_path, filled, edit)
    out = tmp_path / "out"
    out.mkdir()
    attack("validate", str(path), "--html", str(out / "report.html"), *extra, cwd=tmp_path, out=out,
           inputs=[path], expect_code=code, message=message, within=20, max_mb=400)


def test_an_arabic_run_on_a_broken_workbook_answers_in_arabic(tmp_path, filled):
    path = _workbook(tmp_path, filled, lambda wb: wb[SHEET_DATA].__setitem__(f"{column_letter('numerator_value')}2",
                                                                        "abc"), lang="ar")
    attack("validate", str(path), cwd=tmp_path, inputs=[path], expect_code=1, message="يجب أن يكون", within=20)
