"""Untrusted text stays text: chart labels are drawn as given (no mathtext, no LaTeX), and what is printed to the
terminal cannot drive it (no escape sequence, control or bidi character reaches it raw)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import kpis
from kpis import charts, terminal
from kpis.assess_cli import summary_table
from kpis.comparison import compare
from kpis.comparison.charts import plot_coverage, plot_heatmap, plot_progress, plot_radar, plot_ranking
from kpis.run import BatchResult, CityRun
from kpis.synthetic import cities

NAMES = ["$\\sqrt{x}$", "$\\frac", "a $b$ c \\$", "$^{$_{"]
BOMB = "$" + "{" * 1000 + "$"


def _svg_texts(chart) -> list[str]:
    """Every text an SVG chart shows (parsing it proves that markup in a name was escaped)."""
    return ["".join(el.itertext()) for el in ET.fromstring(chart.svg).iter("{http://www.w3.org/2000/svg}text")]


@pytest.fixture(scope="module")
def comparison():
    data = cities(len(NAMES) + 1, seed=2, years=2)
    data["city"] = data["city"].map(dict(zip(data["city"].unique(), [*NAMES, BOMB], strict=True)))
    return compare(data)


def test_comparison_charts_show_names_as_given(comparison):
    figures = {"heatmap": plot_heatmap(comparison), "ranking": plot_ranking(comparison.rank(draws=20, seed=0)),
               "progress": plot_progress(comparison), "coverage": plot_coverage(comparison)}
    for chart, fig in figures.items():
        shown = _svg_texts(fig)
        for name in NAMES:
            assert any(name in text for text in shown), (chart, name, shown[:20])
    assert any(text.startswith("$" + "{" * 20) and len(text) <= 32 for text in _svg_texts(figures["heatmap"]))
    scores = comparison.table("sub_dimension", "score").loc[NAMES[:3]]
    legend = _svg_texts(plot_radar(scores))
    assert set(NAMES[:3]) <= set(legend)


def test_comparison_charts_escape_markup_in_names():
    markup = "<b>x</b> & {{ y }}"
    data = cities(2, seed=1)
    comp = compare(data.assign(city=data["city"].where(data["city"] != data["city"].iloc[0], markup)))
    for chart in (plot_heatmap(comp), plot_coverage(comp)):
        assert "<b>" not in chart.svg and any(markup in text for text in _svg_texts(chart))


def test_city_report_charts_take_any_label():
    """A category named in mathtext (here a broken one) is drawn as text, not parsed."""
    res = kpis.score(cities(1, seed=1)[["city", "year", "code", "part", "value", "reported"]])
    summary = res.summary.astype({"category": object, "sub_dimension": object})
    summary.loc[summary["level"] == "category", "category"] = "$\\frac{$"
    summary.loc[summary["level"] == "sub_dimension", "sub_dimension"] = "$" + "{" * 200 + "$"
    wheel, bars = charts.benchmark_wheel(summary), charts.subdimension_bars(summary)
    assert "$\\frac{$" in "".join(ET.fromstring(wheel.svg).itertext())
    assert "$" + "{" * 200 + "$" in "".join(ET.fromstring(bars.svg).itertext())


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[2J\x1b[31mRed", "\\x1b[2J\\x1b[31mRed"),  # CSI: clear screen, colour
    ("\x1b]0;title\x07x", "\\x1b]0;title\\x07x"),  # OSC window title, ended by BEL
    ("\x9b31m", "\\x9b31m"),  # the one-byte C1 CSI
    ("abc\u202edcba\u2066x\u2069", "abc\\u202edcba\\u2066x\\u2069"),  # bidi override and isolate
    ("ok\rspoof", "ok\\x0dspoof"),  # a carriage return would overwrite the line
    ("a\nb\tc", "a\\x0ab\\x09c"),  # one field stays on one line
    ("name\udcff.csv", "name\\xff.csv"),  # a file name byte that is not UTF-8
    ("北京 القاهرة Zürich 👩‍👩‍👧", "北京 القاهرة Zürich 👩‍👩‍👧"),  # ordinary text is untouched
])
def test_terminal_clean(raw, shown):
    assert terminal.clean(raw) == shown


def test_terminal_clean_keeps_lines_of_a_message():
    assert terminal.clean("line 1\n\tline 2\x1b[A\r", lines=True) == "line 1\n\tline 2\\x1b[A\\x0d"


def test_summary_table_is_inert():
    evil = "\x1b]8;;http://x.example\x07City\x1b]8;;\x07\u202e"
    result = BatchResult([CityRun(input="in.csv", city=evil, year=2024, status="failed", reason=f"{evil} failed")],
                         out=kpis.__path__[0])  # type: ignore[arg-type]
    table = summary_table(result)
    assert "\x1b" not in table and "\u202e" not in table and "\x07" not in table
    assert "\\x1b]8;;http://x.example\\x07City" in table
