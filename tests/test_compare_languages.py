"""The comparison in the six UN languages: `ssc compare --lang`, a French report without an English sentence left,
Arabic right to left, numbers the language's way, plural forms, and sentences made once and shown in any language."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.extract import extract_from_dir

from kpis import i18n
from kpis.cli import main
from kpis.comparison import ComparisonReport, compare
from kpis.synthetic import cities

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "M": None, "T": None, "ngettext": (1, 2), "TN": (1, 2)}
SECTIONS = ("title", "method", "legend", "heatmap", "heatmap_numbers", "band_table", "radar", "ranking_chart",
            "ranking_table", "peers_table", "coverage_chart", "coverage_table", "progress_chart", "progress_table")
HOUSEHOLD_INTERNET, BROADBAND, UNEMPLOYMENT = "EC: ICT: ICT: 1C", "EC: ICT: ICT: 2C", "EC: P: EM: 1C"


def _english_sentences() -> set[str]:
    """Every English text of the comparison (code and templates) longer than 20 characters, cut at its
    placeholders: a French page that shows one of them verbatim has an untranslated sentence."""
    found: set[str] = set()
    for folder, method in ((ROOT / "kpis" / "comparison", [("**.py", "python")]),
                           (ROOT / "templates" / "comparison", [("**.j2", "jinja2")])):
        for _file, _line, message, _comments, _context in extract_from_dir(str(folder), method, keywords=KEYWORDS):
            for text in [message] if isinstance(message, str) else message:
                found.update(part.strip() for part in re.split(r"\{\w*\}", text or "") if len(part.strip()) > 20)
    return found


def _shown_text(page: str) -> str:
    """What a reader sees: tags and styles dropped, entities decoded, white space collapsed."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _untranslated(page: str) -> list[str]:
    shown = _shown_text(page)
    return sorted(s for s in _english_sentences() if s in shown)


@pytest.fixture(scope="module")
def report_input(tmp_path_factory) -> Path:
    """Four invented cities over two years (so there are ranks, peers and progress), as a long CSV."""
    path = tmp_path_factory.mktemp("langcmp") / "cities.csv"
    cities(4, seed=7, years=2).to_csv(path, index=False)
    return path


def test_extraction_sees_the_comparison_texts():
    sentences = _english_sentences()
    assert "Pairs of cities on the data points both score" in sentences  # a template
    assert "Progress between the first and the latest year (Open SDG method)" in sentences  # a chart
    assert "not distinguishable from" in sentences  # a plural sentence of the ranking, cut at {count}
    assert len(sentences) > 80


def test_french_comparison_report_has_no_english_sentence_and_decimal_commas(report_input, tmp_path, capsys):
    out = tmp_path / "fr"
    assert main(["compare", str(report_input), "--out", str(out), "--lang", "fr", "--group-by", "region"]) == 0
    assert "4 villes comparées" in capsys.readouterr().out
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="fr" dir="ltr">' in page
    assert _untranslated(page) == []
    shown = _shown_text(page)
    assert "Comparaison de 4 villes" in shown and "Règle de classement." in shown
    assert re.search(r"\b\d+,\d+ %", shown), "no decimal comma in a French percentage"
    assert not re.search(r"\b\d+\.\d+ %", shown), "a decimal point in a French percentage"
    assert "Économie" in shown  # a dimension from the library's French texts
    assert "Ranking rule" not in shown and "not scored" not in shown


def test_arabic_comparison_report_is_right_to_left(report_input, tmp_path):
    out = tmp_path / "ar"
    assert main(["compare", str(report_input), "--out", str(out), "--lang", "ar"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in page
    assert i18n.group_text("Environment", "ar") in _shown_text(page)  # Arabic text, drawn as text (shaped by
    assert "\u20669" + "5+\u2069" in page  # the browser); a band keeps its order inside Arabic text


def test_cli_refuses_an_unknown_language_with_the_list(report_input, tmp_path, capsys):
    assert main(["compare", str(report_input), "--out", str(tmp_path / "xx"), "--lang", "xx"]) == 1
    said = capsys.readouterr().err
    assert "'xx' is not supported" in said and "ar, zh, en, fr, ru, es" in said
    assert not (tmp_path / "xx").exists()


def _sparse() -> pd.DataFrame:
    """Cities that share almost nothing: no ranking, no radar, no progress, a city with nothing scored."""
    rows = [("North", 2022, HOUSEHOLD_INTERNET, 90.0), ("North", 2022, BROADBAND, 40.0),
            ("South", 2022, UNEMPLOYMENT, 6.0), ("Empty", 2022, HOUSEHOLD_INTERNET, float("nan"))]
    return pd.DataFrame(rows, columns=["city", "year", "code", "value"]).assign(part="")


@pytest.mark.parametrize("data", [_sparse(), cities(5, seed=3, years=2)], ids=["sparse", "five-cities"])
def test_every_section_in_french_says_nothing_in_english(data):
    comp = compare(data, lang="fr")
    report = ComparisonReport(comp, comp.rank(draws=20, seed=0), "population_band", lang="fr")
    parts = [getattr(report, name)() for name in SECTIONS]
    page = "".join(getattr(p, "svg", str(p)) for p in parts) + "".join(report.section(s) for s in ("method", "bands"))
    assert _untranslated(page) == []
    ranking = comp.rank(draws=5)
    assert ranking.lang == "fr" and "classement" in ranking._repr_html_().lower()


def test_a_sentence_is_english_text_and_shown_in_any_language():
    ranking = compare(cities(3, seed=1)).rank(draws=10)
    note = ranking.table["note"].iloc[0]
    assert isinstance(note, str) and note in {"clearly placed", "only city ranked"} | {
        f"{what} {n} other {'city' if n == 1 else 'cities'}" for what in ("tied with", "not distinguishable from")
        for n in (1, 2)}
    assert note.localise("fr") != note and note.localise("en") == note
    assert ranking.rule.startswith(("Ranked on", "A data point enters"))
    assert "80\u00a0%" in ranking.rule.localise("fr") and "80%" in ranking.rule  # each language's way


def test_plural_forms_follow_the_language():
    fr = i18n.Translator("fr")
    assert fr.ngettext("{count} invented city", "{count} invented cities", 1, count=1) == "1 ville inventée"
    assert fr.ngettext("{count} invented city", "{count} invented cities", 0, count=0) == "0 ville inventée"
    assert fr.ngettext("{count} invented city", "{count} invented cities", 3, count=3) == "3 villes inventées"
    en = i18n.Translator("en")
    assert en.ngettext("{count} invented city", "{count} invented cities", 0, count=0) == "0 invented cities"
    said = i18n.TN("tied with {count} other city", "tied with {count} other cities", 2, count=2)
    assert said == "tied with 2 other cities" and said.localise("fr") == "à égalité avec 2 autres villes"


def test_an_input_error_is_said_in_the_report_language(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("city,year,code,part,value\nA,2022,EC: ICT: ICT: 1C,,lots\n", encoding="utf-8")
    assert main(["compare", str(bad), "--out", str(tmp_path / "out"), "--lang", "fr"]) == 1
    said = capsys.readouterr().err
    assert "bad.csv : valeurs qui ne sont pas des nombres, ligne 2 ('lots')" in said, said
    with pytest.raises(Exception, match=r"bad\.csv: values that are not numbers at row 2 \('lots'\)"):
        compare(bad)  # the same error in English, from Python
    assert main(["compare", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "out"), "--lang", "fr"]) == 1
    assert "nope.csv : fichier ou dossier introuvable" in capsys.readouterr().err


def test_side_by_side_units_read_as_in_the_city_report():
    """A count of services is '15,49 services' in French, as the city report writes it (not the catalogue's unit
    label 'nombre (services)'): the comparison gives value_text the catalogue's unit, once."""
    comp = compare(cities(6, seed=3))
    table = ComparisonReport(comp, comp.rank(draws=5), "population_band", lang="fr")._side_by_side_table()
    row = next(r for r in table.rows if r[0][0] == "EC: ICT: PS: 2A")
    cells = [text for text, _style in row[2:] if text != "–"]
    assert cells and all(re.match(r"^\d+(,\d+)? services · ", html.unescape(c)) for c in cells), cells
    assert not any("nombre" in c for c in cells)
