"""The city report in the six UN languages: a French report holds no sentence of the English catalogue, its numbers
have a decimal comma; plural forms follow each language's rule; the knowledge base is read per language with
English where a text is missing; the language comes from --lang, else from the Profile."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from babel.messages.extract import extract_from_dir

from kpis import i18n, knowledge_text
from kpis.knowledge import knowledge_base
from kpis.recommendation import recommend
from kpis.report import CityReport
from kpis.run import assess
from kpis.scoring import score
from kpis.validation import read_submission

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{\w*\}")


def _english_msgids() -> set[str]:
    """Every English text of the report (package, report templates, notebook), as babel.cfg extracts them."""
    found: set[str] = set()
    keywords = {"_": None, "N_": None, "M": None, "ngettext": (1, 2)}
    for folder, method in ((ROOT / "kpis", [("**.py", "python")]),
                           (ROOT / "templates" / "sections", [("**.j2", "jinja2")]),
                           (ROOT / "notebooks", [("city_assessment.ipynb", "kpis.i18n:extract_notebook")])):
        for *_where, message, _comments, _context in extract_from_dir(str(folder), method, keywords=keywords):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def _visible_text(page: str) -> tuple[str, list[str]]:
    """The report's text as a reader meets it (chart labels and alternative texts included), and the text of each
    paragraph, list item and table cell."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<(?:p|li|td|th|caption|summary|h\d)\b[^>]*>(.*?)</(?:p|li|td|th|caption|summary|h\d)>",
                                 page, flags=re.S)]
    attributes = " ".join(html.unescape(a) for a in re.findall(r'(?:aria-label|alt)="([^"]*)"', page))
    text = html.unescape(re.sub(r"<[^>]+>", "\n", page)) + "\n" + attributes
    return " ".join(text.split()), [" ".join(c.split()) for c in cells]


@pytest.fixture(scope="module")
def french_report(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("fr")
    result = assess(None, out=out, progress=False, jobs=1, lang="fr")
    assert result.exit_code == 0, result.runs[0].reason
    return (Path(result.runs[0].out_dir) / "report.html").read_text(encoding="utf-8")


def test_a_french_report_has_no_sentence_of_the_english_catalogue(french_report):
    """Names, codes, sources, URLs and the city's own words aside (none of them is a catalogue text), no English
    text of more than 20 characters, and no fixed part of one between its {placeholders}, is left in the page."""
    french = i18n.catalogue("fr")
    text, cells = _visible_text(french_report)
    english = {m for m in _english_msgids() if french.get(m) != m}
    fragments = {f.strip() for m in english for f in PLACEHOLDER.split(m) if len(f.strip()) > 20}
    left = sorted(f for f in fragments if f in text)
    assert not left, f"{len(left)} English texts in the French report, e.g. {left[:3]}"
    sentences = {m for m in english if not PLACEHOLDER.search(m) and len(m) > 3}
    same = sorted({c for c in cells if c in sentences})
    assert not same, f"cells that are English catalogue texts: {same[:5]}"
    assert "Synthèse" in text and "Actions prioritaires" in text and "Sommaire" in text
    assert "n'est pas un texte officiel de l'UIT" in text  # the method section says whose translation it is


def test_a_french_report_says_its_language_and_writes_a_decimal_comma(french_report):
    assert re.search(r'<html[^>]*\blang="fr"', french_report) and 'dir="ltr"' in french_report
    text, _cells = _visible_text(french_report)
    overall = re.search(r"obtient un score global de (\d+(?:[.,]\d+)?) %", text)
    assert overall and "," in overall.group(1), overall  # 71,1 %, never 71.1 %
    assert not re.search(r"\b\d+\.\d+ %", text), re.search(r"\b\d+\.\d+ %", text)


def test_decimal_separator_overrides_the_language():
    report = CityReport.build(lang="fr", decimal_separator=".")
    assert report.fmt(71.5, "%") == "71.5 %" and CityReport.build(lang="fr").fmt(71.5, "%") == "71,5 %"


def _po(folder: Path, lang: str, plural_forms: str, forms: list[str]) -> None:
    """A catalogue holding one plural message, as pybabel writes it."""
    path = folder / lang / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    strings = "\n".join(f'msgstr[{i}] "{form}"' for i, form in enumerate(forms))
    path.write_text(f'msgid ""\nmsgstr ""\n"Language: {lang}\\n"\n"Plural-Forms: {plural_forms}\\n"\n'
                    '"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                    f'msgid "{{n}} file"\nmsgid_plural "{{n}} files"\n{strings}\n', encoding="utf-8")


@pytest.fixture
def test_catalogues(tmp_path, monkeypatch):
    """Catalogues of a test folder instead of the bundled ones (the cache emptied before and after)."""
    _po(tmp_path, "ru", "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || "
        "n%100>=20) ? 1 : 2);", ["{n} файл", "{n} файла", "{n} файлов"])
    _po(tmp_path, "ar", "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
        "n%100>=11 ? 4 : 5);", ["لا ملفات", "ملف واحد", "ملفان", "{n} ملفات", "{n} ملفًا", "{n} ملف"])
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n._read_catalogue.cache_clear()
    yield
    i18n._read_catalogue.cache_clear()


@pytest.mark.parametrize(("n", "text"), [(1, "1 файл"), (2, "2 файла"), (5, "5 файлов"), (21, "21 файл"),
                                         (11, "11 файлов"), (22, "22 файла")])
def test_ngettext_takes_the_russian_plural_form(test_catalogues, n, text):
    assert i18n.translator("ru").ngettext("{n} file", "{n} files", n) == text


@pytest.mark.parametrize(("n", "text"), [(0, "لا ملفات"), (1, "ملف واحد"), (2, "ملفان"), (3, "3 ملفات"),
                                         (11, "11 ملفًا"), (100, "100 ملف")])
def test_ngettext_takes_the_arabic_plural_form(test_catalogues, n, text):
    assert i18n.translator("ar").ngettext("{n} file", "{n} files", n) == text


def test_ngettext_falls_back_to_english_singular_and_plural(test_catalogues):
    _ = i18n.translator("fr")  # no French catalogue in the test folder
    assert _.ngettext("{n} file", "{n} files", 1) == "1 file" and _.ngettext("{n} file", "{n} files", 3) == "3 files"
    assert i18n.translator("ru").ngettext("{n} town", "{n} towns", 5, ) == "5 towns"


# ---------------------------------------------------------------- the knowledge base per language


def _fixture_translation(path: Path, cat_index: int = 0) -> Path:
    """A small translation of two entries (a test fixture, not a translation of the project): one category fully,
    the first KPI entry with two actions for its first action only."""
    kb = knowledge_base()
    cat, kpi = kb.categories[cat_index], next(k for k in kb.kpis if len(k.actions) >= 2)
    data = {"categories": {f"{cat.sub_dimension} / {cat.category}": {
        "office": "BUREAU-TEST", "collect": "COLLECTE-TEST {name} ({code}) : {office}.",
        "actions": [{"title": f"TITRE-TEST {i}", "text": f"TEXTE-TEST {i}"} for i in range(len(cat.actions))]}},
        "kpis": {kpi.code: {"actions": [{"title": "TITRE-KPI-TEST", "text": "TEXTE-KPI-TEST"}]}}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_translated_texts_replace_the_english_ones_and_missing_ones_stay_english(tmp_path):
    kb = knowledge_base()
    translated = knowledge_text.translated(kb, knowledge_text.read_translation(_fixture_translation(tmp_path / "t.yaml")))
    cat, kpi = translated.categories[0], next(k for k in translated.kpis if len(k.actions) >= 2)
    english_kpi = kb.kpi(kpi.code)
    assert cat.office == "BUREAU-TEST" and cat.actions[0].title == "TITRE-TEST 0"
    assert translated.category(cat.sub_dimension, cat.category).collect.startswith("COLLECTE-TEST")
    assert kpi.actions[0].title == "TITRE-KPI-TEST"
    assert kpi.actions[1] == english_kpi.actions[1]  # an action the file leaves out stays English
    assert [a.bands for a in kpi.actions] == [a.bands for a in english_kpi.actions]  # bands and sources untouched
    assert translated.categories[1] == kb.categories[1]  # an entry the file leaves out stays English
    assert kb.categories[0].office != "BUREAU-TEST"  # the English base itself is unchanged


def test_a_missing_file_gives_the_english_base(tmp_path):
    texts = knowledge_text.read_translation(tmp_path / "absent.yaml")
    assert knowledge_text.translated(knowledge_base(), texts) == knowledge_base()


def test_the_report_uses_the_translated_actions_and_collect_notes(tmp_path, monkeypatch):
    sub = read_submission(ROOT / "data" / "demo_city.xlsx")
    results = score(sub)
    kb = knowledge_base()
    english = recommend(results, measures=sub.measures)
    # a category whose own actions fire for the demo city
    index = next(i for i, c in enumerate(kb.categories) if {a.title for a in c.actions} & {r.title for r in english})
    cat = kb.categories[index]
    fixture = _fixture_translation(tmp_path / "fr.yaml", index)
    monkeypatch.setattr(knowledge_text, "translation_path", lambda lang: fixture)
    knowledge_text.knowledge_base_in.cache_clear()
    try:
        french = recommend(results, measures=sub.measures, lang="fr")
        titles = [a.title for a in cat.actions]
        expected = {f"TITRE-TEST {titles.index(r.title)}" for r in english if r.title in titles
                    and r.category == cat.category and r.sub_dimension == cat.sub_dimension}
        assert expected and expected <= {r.title for r in french}
        assert [r.kpi_codes for r in french] == [r.kpi_codes for r in english]  # the same actions, in the same order
        assert any(r.title.startswith("Collecter et communiquer") for r in french) or all(
            r.kind != "collect_data" for r in english)
    finally:
        knowledge_text.knowledge_base_in.cache_clear()


def test_the_profile_language_is_the_default_and_lang_wins():
    sub = read_submission(ROOT / "data" / "demo_city.xlsx")
    sub.profile.language = "es"
    assert CityReport.build(sub).lang == "es"
    assert CityReport.build(sub, lang="fr").lang == "fr"
    assert i18n.report_language(sub, None) == "es" and i18n.report_language(object(), None) == "en"


def test_an_unknown_report_language_is_refused_before_anything_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kpis.cli", "assess", "--lang", "xx", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1 and "not supported" in proc.stderr and "ar, zh, en, fr, ru, es" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r").exists()
