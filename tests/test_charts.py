"""The report's SVG charts carry their data (as rows and in words), escape every name, and the report can be
built from results the caller already scored."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import kpis
from kpis import charts
from kpis.paths import demo_city
from kpis.report import CityReport
from kpis.validation import read_submission

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = 'Parks <script>alert("x")</script> & \'co\'\x07'


@pytest.fixture(scope="module")
def report() -> CityReport:
    return CityReport.build()


def _parse(chart: charts.Chart) -> ET.Element:
    return ET.fromstring(chart.svg)  # well-formed XML, or this raises


def test_each_chart_has_its_data_as_rows_and_words(report):
    wheel, bars, counts = report.benchmark_wheel(), report.subdimension_bars(), report.band_counts()
    cats = report.summary[report.summary["level"] == "category"]
    assert [r["category"] for r in wheel.table] == cats["category"].astype(str).tolist()
    scored = cats.dropna(subset=["score"])
    for row in scored.itertuples():
        hit = next(r for r in wheel.table if r["category"] == row.category and r["sub_dimension"] == row.sub_dimension)
        assert hit["score"] == pytest.approx(row.score) and hit["band"] == row.band
    subs = report.summary[report.summary["level"] == "sub_dimension"]
    assert bars.frame()["sub_dimension"].tolist() == subs["sub_dimension"].tolist()
    scored_points = report.kpis[report.kpis["scored"]]
    assert sum(sum(r[b] for b in kpis.rules.BANDS) for r in counts.table) == len(scored_points)
    for chart in (wheel, bars, counts):
        root = _parse(chart)
        assert root.get("role") == "img" and root.get("aria-label") == chart.alt
        assert root.find(f"{SVG}title").text == chart.alt
        desc = root.find(f"{SVG}desc").text
        assert desc and len(desc.split("; ")) == len(chart.table)
        bundle, meta = chart._repr_mimebundle_()
        assert bundle == {"image/svg+xml": chart.svg} and meta["image/svg+xml"]["ssc_alt"] == chart.alt
    texts = [t.text for t in _parse(bars).iter(f"{SVG}text")]
    first = subs.iloc[0]
    assert first["sub_dimension"] in texts and f"{kpis.rules.display_percent(first['score'])} %" in texts


def test_names_from_the_data_are_escaped_in_every_chart(report):
    summary = report.summary.copy()
    summary["category"] = summary["category"].astype(object)
    summary["sub_dimension"] = summary["sub_dimension"].astype(object)
    summary.loc[summary["level"] == "category", "category"] = HOSTILE
    summary.loc[summary["level"] != "overall", "sub_dimension"] = HOSTILE
    frame = report.kpis.copy()
    frame["dimension"] = frame["dimension"].astype(object).where(frame["dimension"] != "Economy", HOSTILE)
    made = [charts.benchmark_wheel(summary), charts.subdimension_bars(summary),
            charts.band_counts(frame, [HOSTILE, "Environment", "Society and Culture"])]
    for chart in made:
        assert "<script" not in chart.svg and "\x07" not in chart.svg
        root = _parse(chart)
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert HOSTILE.replace("\x07", "") in texts  # shown as text, exactly, not as markup
        assert HOSTILE.replace("\x07", "") in root.find(f"{SVG}desc").text


def test_a_report_built_from_given_results_equals_one_built_from_the_file():
    sub = read_submission(demo_city())
    results = kpis.score(sub)
    given = CityReport.build(sub, results=results)
    assert given.results is results
    read = CityReport.build(str(demo_city()))
    for section in ("title", "executive_summary", "strengths", "annex"):
        assert str(getattr(given, section)()) == str(getattr(read, section)())
    assert given.benchmark_wheel().svg == read.benchmark_wheel().svg
    other = kpis.score(read_submission(sorted(kpis.paths.bundled("data", "cities").glob("*.xlsx"))[0]))
    with pytest.raises(ValueError, match="not those of"):
        CityReport.build(sub, results=other)
