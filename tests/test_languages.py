"""The six UN languages: every text the code and the validation templates use is translated, the template is
written in a language and read in any, and validation speaks the city's language."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from babel.messages.extract import extract_from_dir

from kpis import i18n, rules
from kpis.intake import load
from kpis.library import library
from kpis.scoring import score
from kpis.template import DATA_COLUMNS, PROFILE_FIELDS, SHEET_DATA, column_letter, data_points, write_template
from kpis.validation import read_submission, validate
from kpis.validation_report import report_html

ROOT = Path(__file__).resolve().parents[1]
OTHERS = [lang for lang in i18n.LANGUAGES if lang != "en"]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
YES_NO = "EC: I: UP: 2A"  # a yes/no KPI: its final value may be typed as a word
ICT = "EC: ICT: ICT: 1C"  # households with Internet / households
PROFILE = {"city": "Bizerte", "country": "Tunisia", "year": 2024, "population": 142000, "households": 40000}


def _extracted() -> set[str]:
    """Every msgid Babel finds in the package, the validation, report and comparison templates and the report
    notebook (the same extraction as babel.cfg); a plural message by its singular."""
    found: set[str] = set()
    keywords = {"_": None, "N_": None, "M": None, "T": None, "ngettext": (1, 2), "TN": (1, 2)}
    for folder, method in ((ROOT / "kpis", [("**.py", "python")]),
                           (ROOT / "templates" / "validation", [("**.j2", "jinja2")]),
                           (ROOT / "templates" / "sections", [("**.j2", "jinja2")]),
                           (ROOT / "templates" / "comparison", [("**.j2", "jinja2")]),
                           (ROOT / "notebooks", [("city_assessment.ipynb", "kpis.i18n:extract_notebook")])):
        for _file, _line, message, _comments, _context in extract_from_dir(str(folder), method, keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.fixture(scope="module")
def msgids() -> set[str]:
    return _extracted()


def test_extraction_finds_the_interface_texts(msgids):
    assert {"Submission check", "KPI code", "How to fill in this workbook", "Template written to {path}"} <= msgids
    # the city report: a section template, the prose, a plural sentence, a chart and a notebook heading
    assert {"Priority actions, most urgent first", "The first priorities are to {actions}.",
            "{n} core KPI is still missing", "scored data points", "Executive summary"} <= msgids
    assert len(msgids) > 150


@pytest.mark.parametrize("lang", OTHERS)
def test_every_message_is_translated_with_the_same_placeholders(msgids, lang):
    catalogue = i18n.catalogue(lang)
    missing = sorted(m for m in msgids if not catalogue.get(m))
    assert not missing, f"{lang}: {len(missing)} untranslated, e.g. {missing[:3]}; run pybabel update and translate"
    wrong = [m for m in msgids if set(PLACEHOLDER.findall(m)) != set(PLACEHOLDER.findall(catalogue[m]))]
    assert not wrong, f"{lang}: placeholders differ in {wrong[:3]}"
    assert "the project's own" in (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").read_text("utf-8")


@pytest.mark.parametrize("lang", OTHERS)
def test_every_kpi_text_has_a_translation(lang):
    texts = i18n.library_text(lang)
    assert "the project's own" in (i18n.LOCALE_DIR / lang / "kpis.yaml").read_text("utf-8")
    untranslated = []
    for kpi in library():
        for what, english in (("name", kpi.name), ("definition", kpi.definition)):
            if not texts["kpis"].get(kpi.code, {}).get(what):
                untranslated.append(english)
        for key, spec in kpi.inputs.items():
            if spec.label not in texts["inputs"] and key not in texts["kpis"].get(kpi.code, {}).get("inputs", {}):
                untranslated.append(spec.label)
        for part in kpi.parts or []:
            if part.name not in texts["kpis"].get(kpi.code, {}).get("points", {}):
                untranslated.append(part.label)
        for group in (kpi.dimension, kpi.sub_dimension, kpi.category):
            if group not in texts["groups"]:
                untranslated.append(group)
    assert not untranslated, f"{lang}: {untranslated[:5]}"
    for point in data_points(lang):
        assert point["numerator_spec"].unit in texts["units"], point["numerator_spec"].unit


@pytest.mark.parametrize(("lang", "answer", "percent"), [
    (lang, word, float(entry["percent"]))
    for entry in rules.ANSWERS["yes_no"].values()
    for lang, words in entry.items() if lang != "percent"
    for word in words
])
def test_yes_no_answers_of_every_language_are_accepted(lang, answer, percent):
    assert rules.parse_yes_no(f" {answer.upper()} ") == percent


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_data_quality_levels_of_every_language_read_as_the_english_level(lang):
    for level in rules.ANSWERS["data_quality"]:
        assert rules.parse_data_quality(level[lang]) == level["en"]


def _fill(path: Path, values: dict[tuple[str, str], dict[str, object]]) -> None:
    """Type figures into a generated workbook as a city official would (openpyxl, by the template's columns)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_DATA]
    rows = {(ws[f"A{r}"].value, ws[f"B{r}"].value or ""): r for r in range(2, ws.max_row + 1)}
    for key, cells in values.items():
        for column, value in cells.items():
            ws[f"{column_letter(column)}{rows[key]}"] = value
    row = 2 + [f.key for f in PROFILE_FIELDS].index("population")
    wb["Profile"][f"B{row}"] = 142000
    wb.save(path)


def _ssc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpis.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_a_french_template_filled_and_read_back_validates_in_french(tmp_path):
    path = tmp_path / "bizerte.xlsx"
    made = _ssc("template", str(path), "--lang", "fr", "--city", "Bizerte", "--year", "2024", cwd=tmp_path)
    assert made.returncode == 0 and "Modèle écrit dans" in made.stdout
    wb = openpyxl.load_workbook(path)
    data = wb[SHEET_DATA]
    assert data["A1"].value == "Code du KPI" and data["C2"].value == "Accès des ménages à Internet"
    assert wb["Lists"]["A2"].value == "Fondé sur des mesures exactes"
    _fill(path, {
        (ICT, ""): {"numerator_value": "30 000", "denominator_value": 40000,
                    "data_quality": "Fondé sur des mesures exactes", "source_name": "INS"},
        (YES_NO, ""): {"final_value": "Oui", "data_quality": "Estimation personnelle", "source_name": "Mairie"},
        ("EC: ICT: ICT: 2C", ""): {"numerator_value": 9000, "denominator_value": 0},  # an error
    })
    checked = _ssc("validate", str(path), cwd=tmp_path)  # the Profile names French; no --lang needed
    assert checked.returncode == 1
    assert "INUTILISABLE" in checked.stdout and "ERREUR" in checked.stdout
    assert "le KPI ne peut donc pas être calculé" in checked.stdout
    assert "est enregistré comme texte ('30 000') ; lu comme 30000" in checked.stdout
    assert "Ménages de la ville (total) vaut 0" in checked.stdout
    assert "ERROR" not in checked.stdout and "cannot be computed" not in checked.stdout
    english = _ssc("validate", str(path), "--lang", "en", cwd=tmp_path)  # --lang wins over the Profile
    assert "is 0, so the KPI cannot be computed" in english.stdout
    values = read_submission_values(path)
    assert values[(ICT, "")] == (30000.0, 40000.0, "Based on accurate measurements")
    assert values[(YES_NO, "")][2] == "Personal estimation"


def read_submission_values(path: Path) -> dict:
    """(numerator, denominator, data quality) per data point, as intake reads them (errors or not)."""
    sub, _ = load(path)
    assert sub is not None
    frame = sub.data.set_index(["code", "part"])
    return {key: (row.numerator_value, row.denominator_value, row.data_quality) for key, row in frame.iterrows()}


def _values() -> dict[tuple[str, str], dict[str, object]]:
    quality = rules.ANSWERS["data_quality"][0]
    return {
        (ICT, ""): {"numerator_value": 30000, "denominator_value": 40000, "data_quality": quality, "source_name": "S"},
        (YES_NO, ""): {"final_value": "partial", "data_quality": quality, "source_name": "S"},
        ("EC: ICT: ICT: 4C", "coverage_3g"): {"numerator_value": 80, "denominator_value": 100,
                                              "data_quality": quality, "source_name": "S"},
    }


def test_a_spanish_workbook_is_read_by_an_english_run_unchanged(tmp_path):
    values = _values()
    english = write_template(tmp_path / "en.xlsx", profile=PROFILE,
                             values={k: {**v, "data_quality": v["data_quality"]["en"]} for k, v in values.items()})
    spanish_values = {k: {**v, "data_quality": v["data_quality"]["es"]} for k, v in values.items()}
    spanish_values[(YES_NO, "")]["final_value"] = "Parcial"
    spanish = write_template(tmp_path / "es.xlsx", profile=PROFILE, values=spanish_values, lang="es")
    assert openpyxl.load_workbook(spanish)[SHEET_DATA]["A1"].value == "Código del KPI"
    sub_en, sub_es = read_submission(english), read_submission(spanish)
    assert sub_es.profile.language == "es"
    columns = ["code", "part", "numerator_value", "denominator_value", "final_value", "reported", "data_quality"]
    pd.testing.assert_frame_equal(sub_en.data[columns], sub_es.data[columns])
    result_en, result_es = score(sub_en), score(sub_es)
    pd.testing.assert_frame_equal(result_en.kpis, result_es.kpis)
    pd.testing.assert_frame_equal(result_en.summary, result_es.summary)
    assert result_es.kpis.set_index(["code", "part"]).loc[(YES_NO, ""), "value"] == 50.0


def test_columns_are_found_by_their_hidden_names_whatever_the_header_says(tmp_path):
    path = write_template(tmp_path / "ru.xlsx", profile=PROFILE, values={
        (ICT, ""): {"numerator_value": 30000, "denominator_value": 40000}}, lang="ru")
    wb = openpyxl.load_workbook(path)
    assert sorted(wb.defined_names) == sorted(f"ssc_col_{c.key}" for c in DATA_COLUMNS)
    for cell in wb[SHEET_DATA][1]:
        cell.value = f"колонка {cell.column}"  # every visible header reworded
    wb.save(path)
    assert read_submission_values(path)[(ICT, "")][:2] == (30000.0, 40000.0)


def test_an_arabic_template_reads_right_to_left(tmp_path):
    path = write_template(tmp_path / "ar.xlsx", lang="ar")
    wb = openpyxl.load_workbook(path)
    assert all(ws.sheet_view.rightToLeft for ws in wb.worksheets)
    assert wb[SHEET_DATA]["A1"].value == "رمز المؤشر"
    assert not any(ws.sheet_view.rightToLeft for ws in openpyxl.load_workbook(write_template(tmp_path / "en.xlsx"))
                   .worksheets)


def test_the_validation_report_and_annotations_speak_the_language(tmp_path):
    path = write_template(tmp_path / "c.xlsx", profile={**PROFILE, "population": None}, lang="ar")
    html = tmp_path / "report.html"
    done = _ssc("validate", str(path), "--html", str(html), "--annotate", str(tmp_path / "notes"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = html.read_text("utf-8")
    assert '<html lang="ar" dir="rtl">' in page and "التحقق من البيانات المقدمة" in page
    assert "عدد السكان فارغ" in page and "Submission check" not in page
    notes = openpyxl.load_workbook(tmp_path / "notes" / "c.checked.xlsx")["Profile"]["B5"].comment.text
    assert notes.startswith("تحذير: عدد السكان فارغ")
    zh = report_html([(path, validate(path))], "zh")
    assert '<html lang="zh" dir="ltr">' in zh and "提交检查" in zh


def test_an_unknown_language_is_refused_with_the_list(tmp_path):
    done = _ssc("template", str(tmp_path / "t.xlsx"), "--lang", "de", cwd=tmp_path)
    assert done.returncode == 1 and "choose one of ar, zh, en, fr, ru, es" in done.stderr
    assert not (tmp_path / "t.xlsx").exists()


@pytest.mark.parametrize(("lang", "text"), [("en", "12.25"), ("fr", "12,25"), ("ru", "12,25"), ("es", "12,25"),
                                             ("zh", "12.25"), ("ar", "12.25")])
def test_numbers_take_the_decimal_sign_of_the_language(lang, text):
    from kpis.display import number_text, value_text

    assert number_text(12.25, digits=4, lang=lang) == text
    assert number_text(12345.0, lang=lang) == "12\u202f345"  # thousands: a narrow space in every language
    shown = value_text(12345.0, "m2", lang=lang)  # the unit in the language's words (kpis.yaml), m² in English
    assert shown.strip("\u2066\u2069").startswith("12\u202f345") and (lang != "en" or shown == "12\u202f345 m²")
    assert number_text(2.5, ".", lang=lang) == "2.5"  # --decimal-separator still overrides


def test_babel_formats_percentages_and_dates_per_language():
    import datetime as dt

    assert i18n.percent_text(84.5, "fr", 1) == "84,5\u00a0%"
    assert i18n.percent_text(84.5, "en", 1) == "84.5%"
    assert i18n.date_text(dt.date(2026, 3, 1), "es") == "1 de marzo de 2026"
    assert i18n.direction("ar") == "rtl" and i18n.direction("zh") == "ltr"


# ---------------------------------------------------------------- the recommendation texts of each language

PLACEHOLDERS = re.compile(r"\{\w+\}")


def _english_texts() -> dict[str, dict]:
    """The English knowledge base as the per-language files mirror it: {"categories": {"<sub> / <category>":
    {office, collect, actions}}, "kpis": {code: {office?, actions}}}."""
    from kpis.knowledge import knowledge_base

    kb = knowledge_base()
    cats = {f"{c.sub_dimension} / {c.category}": {"office": c.office, "collect": c.collect, "actions": c.actions}
            for c in kb.categories}
    kpis = {k.code: {"office": k.office, "actions": k.actions} for k in kb.kpis if k.office or k.actions}
    return {"categories": cats, "kpis": kpis}


def _recommendation_problems(lang: str) -> list[str]:
    from kpis.knowledge_text import read_translation, translation_path

    path = translation_path(lang)
    if not path.is_file():
        return [f"{path.relative_to(ROOT)} is missing"]
    given, problems = read_translation(path), []
    for part, entries in _english_texts().items():
        for key, english in entries.items():
            entry = given[part].get(key)
            if not isinstance(entry, dict):
                problems.append(f"{part}/{key}: missing")
                continue
            for name in ("office", "collect"):
                if english.get(name) and not entry.get(name):
                    problems.append(f"{part}/{key}/{name}: missing")
                elif english.get(name) and (sorted(PLACEHOLDERS.findall(entry[name]))
                                            != sorted(PLACEHOLDERS.findall(english[name]))):
                    problems.append(f"{part}/{key}/{name}: placeholders differ from English")
            actions = entry.get("actions") or []
            if len(actions) != len(english["actions"]):
                problems.append(f"{part}/{key}/actions: {len(actions)} actions, English has {len(english['actions'])}")
                continue
            problems += [f"{part}/{key}/actions[{i}]/{name}: missing" for i, action in enumerate(actions)
                         for name in ("title", "text") if not (isinstance(action, dict) and action.get(name))]
        problems += [f"{part}/{key}: not in the English knowledge base" for key in set(given[part]) - set(entries)]
    return problems


@pytest.mark.parametrize("lang", OTHERS)
def test_every_recommendation_text_is_translated(lang):
    """Pending until the translated files are merged: each language needs kpis/locale/<lang>/recommendations.yaml
    with every entry of the English knowledge base (same keys, same number of actions, same placeholders)."""
    problems = _recommendation_problems(lang)
    assert not problems, (f"kpis/locale/{lang}/recommendations.yaml is incomplete ({len(problems)} problems, e.g. "
                          f"{problems[:3]}): the report falls back to English for these texts; translate them in "
                          "the format of the English knowledge base (docs/translations.md)")
