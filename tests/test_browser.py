"""The reports in a real browser (Debian's chromium, installed by .ci/run): offline, no console errors, charts
loaded and not blank, hostile text shown as text, and the PDF printed by the same browser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kpis import synthetic
from kpis.render import browser, find_chromium, report_page, report_url
from kpis.run import assess

HOSTILE = "<img src=x onerror=alert(1)>"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    assert find_chromium(), "these tests need Chromium: apt-get install chromium (CI's .ci/run installs it)"
    with browser() as launched:  # the product's own launch: the same switches as PDF printing
        yield launched


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    frame = synthetic.cities(1, seed=11)
    frame["city"] = HOSTILE
    frame["region"] = '<script>alert("region")</script>'
    [path] = synthetic.write_workbooks(frame, tmp / "in", measures={"ICT": '<b onmouseover="alert(2)">x</b>'})
    result = assess([path], out=tmp / "reports", pdf=True, progress=False, jobs=1)
    assert result.exit_code == 0, (result.runs[0].reason, result.pdf_message)
    return Path(result.runs[0].out_dir)


@pytest.fixture(scope="module")
def comparison_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("comparison")
    proc = subprocess.run([sys.executable, "-m", "kpis.cli", "compare", "--out", str(out), "--lang", "ar"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out / "report.html"


def _inspect(chromium, html: Path) -> dict:
    """Open a report as PDF printing does (offline, only the report file may load) but with scripts on, so that a
    script that escaped would run; collect console errors, dialogs, outside requests and the state of every image."""
    with report_page(chromium, html, java_script_enabled=True, bypass_csp=True) as page:  # bypass: escaping is tested
        return _look(page, html)


def _look(page, html: Path) -> dict:
    seen: dict = {"errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: r.url.startswith(("file:", "data:")) or seen["requests"].append(r.url))
    page.goto(report_url(html), wait_until="load")
    seen["images"] = page.evaluate("""() => Array.from(document.images).map(img => {
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width || 1, c.height || 1).data;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) colours.add(d[i] + ',' + d[i+1] + ',' + d[i+2]);
        return {src: img.getAttribute('src').slice(0, 30), complete: img.complete,
                width: img.naturalWidth, colours: colours.size};
    })""")
    seen["charts"] = page.evaluate("""() => Array.from(document.querySelectorAll('figure.chart svg')).map(svg => {
        const box = svg.getBoundingClientRect();
        const fills = new Set(Array.from(svg.querySelectorAll('[fill]')).map(e => e.getAttribute('fill')));
        return {width: box.width, height: box.height, fills: fills.size, shapes: svg.querySelectorAll('rect,path,polygon,circle').length,
                title: (svg.querySelector('title') || {}).textContent || ''};
    })""")
    seen["text"] = page.inner_text("body")
    seen["direction"] = page.evaluate("""() => [document.documentElement.lang, document.documentElement.dir,
        getComputedStyle(document.querySelector('table') || document.body).direction]""")
    seen["bad_nodes"] = page.evaluate("""() => document.querySelectorAll(
        'img[src="x"], script, [onerror], [onmouseover]').length""")
    return seen


def test_city_report_in_a_browser(chromium, hostile_report):
    seen = _inspect(chromium, hostile_report / "report.html")
    assert seen["errors"] == [] and seen["requests"] == []
    assert seen["dialogs"] == []  # no script ran
    assert seen["bad_nodes"] == 0
    assert HOSTILE in seen["text"]  # the city's name is shown, as text
    assert '<b onmouseover="alert(2)">x</b>' in seen["text"]
    assert len(seen["charts"]) == 3  # inline SVG, drawn from the data
    for chart in seen["charts"]:
        assert chart["width"] > 100 and chart["height"] > 100, chart
        assert chart["shapes"] >= 3 and chart["fills"] >= 2 and chart["title"], chart  # a real chart, named
    assert seen["charts"][0]["fills"] > 5  # the wheel: bands and sub-dimension colours


def test_pdf_is_printed(hostile_report):
    pdf = (hostile_report / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 50_000
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 5  # a multi-page report


def test_comparison_report_in_a_browser(chromium, comparison_report):
    seen = _inspect(chromium, comparison_report)
    assert seen["errors"] == [] and seen["requests"] == [] and seen["dialogs"] == []
    assert seen["direction"] == ["ar", "rtl", "rtl"]  # the Arabic comparison reads right to left, tables too
    assert len(seen["charts"]) >= 3, "the comparison report has charts"  # inline SVG, drawn from the data
    for chart in seen["charts"]:
        assert chart["width"] > 100 and chart["height"] > 30, chart
        assert chart["shapes"] >= 3 and chart["fills"] >= 2 and chart["title"], chart  # a real chart, named


@pytest.fixture(scope="module")
def language_reports(tmp_path_factory):
    """The demo city's report in Arabic and in French, made by the batch as `ssc assess --lang` makes them."""
    out = {}
    for lang in ("ar", "fr"):
        result = assess(None, out=tmp_path_factory.mktemp(lang), progress=False, jobs=1, lang=lang)
        assert result.exit_code == 0, result.runs[0].reason
        out[lang] = Path(result.runs[0].out_dir) / "report.html"
    return out


_LAYOUT = """() => {
    const table = document.querySelector('table.kpis');
    const heads = Array.from(table.querySelectorAll('thead th'));
    const first = heads[0].getBoundingClientRect(), last = heads[heads.length - 1].getBoundingClientRect();
    const label = document.querySelector('figure.chart svg text[direction="rtl"]');
    return {lang: document.documentElement.lang, dir: document.documentElement.dir,
            direction: getComputedStyle(document.body).direction,
            cellAlign: getComputedStyle(table.querySelector('tbody td')).textAlign,
            firstColumnOnTheRight: first.left > last.left, rtlChartLabels: label !== null,
            svgDirection: getComputedStyle(document.querySelector('figure.chart svg')).direction};
}"""


@pytest.mark.parametrize(("lang", "direction"), [("ar", "rtl"), ("fr", "ltr")])
def test_a_report_says_its_language_and_reads_in_its_direction(chromium, language_reports, lang, direction):
    with report_page(chromium, language_reports[lang]) as page:
        page.goto(report_url(language_reports[lang]), wait_until="load")
        seen = page.evaluate(_LAYOUT)
    assert (seen["lang"], seen["dir"], seen["direction"]) == (lang, direction, direction)
    assert seen["cellAlign"] == "start"  # the logical alignment: right in Arabic, left in French
    assert seen["firstColumnOnTheRight"] == (lang == "ar")  # the tables are mirrored in Arabic only
    assert seen["rtlChartLabels"] == (lang == "ar")  # Arabic chart labels are laid out right to left...
    assert seen["svgDirection"] == "ltr"  # ...on the charts' own left-to-right axes
