"""The printed report (issue 14): the demo city and a partial city printed on A4 and US Letter by the product's own
`html_to_pdf`, checked page by page (nothing past the printable width, no table row split across pages, no word
broken inside a word, page numbers in the footer, an outline with every h2, a tagged PDF), and axe-core's WCAG 2.1
A/AA rules on the city, comparison and validation reports (0 violations)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from kpis.paths import demo_city
from kpis.render import CHROMIUM_ARGS, PDF_MARGINS, find_chromium, html_to_pdf
from kpis.run import assess

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
#: axe-core from the npm registry: .ci/run installs it into .ci/node when missing; SSC_AXE_JS may point elsewhere
AXE = Path(os.environ.get("SSC_AXE_JS") or ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js")
AXE_HELP = (f"axe-core is missing at {AXE}: run `npm install --prefix .ci/node axe-core@4` in the checkout "
            "(.ci/run does it), or set SSC_AXE_JS to an axe.min.js")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAPER_MM = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
PX_PER_MM = 96 / 25.4
PARTIAL = "Partial City (invented data)"


@pytest.fixture(scope="module")
def chromium():
    exe = find_chromium()
    assert exe, "these tests need Chromium: apt-get install chromium (CI's .ci/run installs it)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _partial_city(folder: Path) -> Path:
    """The demo city with two data points in three blanked (values and sources) and another name."""
    path = folder / "partial.xlsx"
    shutil.copy(demo_city(), path)
    wb = openpyxl.load_workbook(path)
    wb["Profile"]["B2"] = PARTIAL
    data = wb["Data"]
    header = [c.value for c in data[1]]
    blank = [header.index(h) + 1 for h in ("Numerator value", "Denominator value", "Final value (only if no inputs)",
                                           "Data quality", "Data origin", "Source name", "Source link")]
    for row in range(2, data.max_row + 1):
        if row % 3:
            for col in blank:
                data.cell(row, col).value = None
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("print")
    result = assess([demo_city(), _partial_city(tmp)], out=tmp / "out", pdf=False, progress=False, jobs=1)
    assert result.exit_code == 0, [(r.city, r.reason) for r in result.runs]
    return {("partial" if r.city == PARTIAL else "demo"): Path(r.out_dir) / "report.html" for r in result.runs}


@pytest.fixture(scope="module")
def printed(chromium, reports, tmp_path_factory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("pdf")
    pdfs = {}
    for name, html in reports.items():
        for paper in PAPER_MM:
            pdfs[name, paper] = out / f"{name}-{paper}.pdf"
            html_to_pdf(chromium, html, pdfs[name, paper], paper=paper)
    return pdfs


def _content_width_px(paper: str) -> float:
    mm = PAPER_MM[paper][0] - float(PDF_MARGINS["left"][:-2]) - float(PDF_MARGINS["right"][:-2])
    return mm * PX_PER_MM


OVERFLOW_JS = """(limit) => {
    const bad = [];
    const where = (n) => (n.closest('table')?.querySelector('caption')?.textContent || n.closest('section,div')
                          ?.className || '') + ' :: ' + (n.textContent || '').trim().slice(0, 60);
    const check = (node, rect, box) => {
        if (rect.width > 0 && rect.right > box + 0.5) bad.push(`${where(node)} (right ${rect.right.toFixed(1)} > ${box.toFixed(1)})`);
    };
    for (const el of document.querySelectorAll('body *')) {
        if (el.closest('details:not([open])') || getComputedStyle(el).display === 'none') continue;
        check(el, el.getBoundingClientRect(), limit);
        const cell = el.parentElement?.closest('td, th');
        if (cell) check(el, el.getBoundingClientRect(), cell.getBoundingClientRect().right);
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        if (!t.textContent.trim() || !t.parentElement || t.parentElement.closest('details:not([open])')) continue;
        const range = document.createRange(); range.selectNodeContents(t);
        const cell = t.parentElement.closest('td, th');
        for (const r of range.getClientRects()) check(t.parentElement, r, cell ? cell.getBoundingClientRect().right : limit);
    }
    return bad;
}"""

# a word broken across lines in the print layout: a run of letters whose pieces sit on different lines
BROKEN_WORDS_JS = """() => {
    const broken = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        const parent = t.parentElement;
        if (!parent || parent.closest('details:not([open])') || getComputedStyle(parent).display === 'none') continue;
        for (const m of t.textContent.matchAll(/\\p{L}{2,}/gu)) {
            const range = document.createRange();
            range.setStart(t, m.index); range.setEnd(t, m.index + m[0].length);
            const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
            if (tops.size > 1) broken.push(m[0]);
        }
    }
    return broken;
}"""


def _print_layout(chromium, html: Path, paper: str) -> dict:
    """The report laid out as it prints (print media, the printable width): boxes past the edge, broken words."""
    width = _content_width_px(paper)
    context = chromium.new_context(offline=True, viewport={"width": int(width), "height": 1000})
    page = context.new_page()
    page.emulate_media(media="print")
    page.goto(html.resolve().as_uri(), wait_until="load")
    found = {"overflow": page.evaluate(OVERFLOW_JS, page.evaluate("document.documentElement.clientWidth")),
             "broken": page.evaluate(BROKEN_WORDS_JS), "text": page.inner_text("body"),
             "h2": page.eval_on_selector_all("h2", "els => els.map(e => e.innerText.trim())")}
    context.close()
    return found


def _pdf_pages_text(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return text.split("\f")[:-1]


def _split_words(pages: list[str], html_text: str) -> list[str]:
    """Line breaks in the PDF's text layer that cut one of the report's own words in two: the end of a line and
    the start of the next, joined, form a word of the HTML text that never appears there as two words."""
    words = set(re.findall(r"\w+", html_text))
    flat = " ".join(html_text.split())
    bad = []
    for page in pages:
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        for a, b in zip(lines, lines[1:], strict=False):
            left, right = re.search(r"(\w+)$", a), re.match(r"(\w+)", b)
            if not left or not right or a.endswith("-"):
                continue
            joined = left.group(1) + right.group(1)
            if joined in words and f"{left.group(1)} {right.group(1)}" not in flat and len(joined) > 3:
                bad.append(f"{left.group(1)}|{right.group(1)}")
    return bad


def _kids(elem) -> list:
    kids = elem.get("/K")
    kids = kids if isinstance(kids, list) else [] if kids is None else [kids]
    return [k.get_object() if hasattr(k, "get_object") else k for k in kids]


def _rows_split(pdf: Path) -> list[str]:
    """Table rows (structure elements /TR of the tagged PDF) whose content is on more than one page."""
    reader = PdfReader(str(pdf))
    page_of = {p.indirect_reference.idnum: i + 1 for i, p in enumerate(reader.pages)}

    def own_page(elem, page: int) -> int:
        return page_of.get(elem.raw_get("/Pg").idnum, page) if "/Pg" in elem else page

    def pages_under(elem, page: int) -> set[int]:
        page, found = own_page(elem, page), set()
        for kid in _kids(elem):
            if isinstance(kid, int):  # a marked-content id on the element's page
                found.add(page)
            elif isinstance(kid, dict) and kid.get("/Type") == "/MCR":
                found.add(own_page(kid, page))
            elif isinstance(kid, dict) and "/S" in kid:
                found |= pages_under(kid, page)
        return found

    split: list[str] = []
    rows = 0

    def walk(elem, page: int) -> None:
        nonlocal rows
        page = own_page(elem, page)
        cells = [k for k in _kids(elem) if isinstance(k, dict) and "/S" in k]
        if elem.get("/S") == "/TR" and not all(c["/S"] == "/TH" for c in cells):  # repeated headers excepted
            rows += 1
            if len(pages := pages_under(elem, page)) > 1:
                split.append(f"row {rows} on pages {sorted(pages)}")
            return
        for kid in cells:
            walk(kid, page)

    walk(reader.trailer["/Root"]["/StructTreeRoot"], 0)
    assert rows > 50, rows  # the tables' rows were found
    return split


def _outline_titles(reader: PdfReader) -> list[str]:
    titles: list[str] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(" ".join(item.title.split()))

    walk(reader.outline)
    return titles


@pytest.mark.parametrize("name", ["demo", "partial"])
@pytest.mark.parametrize("paper", list(PAPER_MM))
def test_the_report_prints_whole_on_every_page(chromium, reports, printed, name, paper):
    pdf = printed[name, paper]
    layout = _print_layout(chromium, reports[name], paper)
    assert layout["overflow"] == [], layout["overflow"][:10]  # nothing past the printable width or out of its cell
    assert layout["broken"] == [], layout["broken"][:10]  # no word wrapped inside itself
    pages = _pdf_pages_text(pdf)
    assert _split_words(pages, layout["text"]) == []
    assert _rows_split(pdf) == []
    city = "Demo City (invented data)" if name == "demo" else PARTIAL
    for n, text in enumerate(pages, start=1):
        assert f"page {n} of {len(pages)}" in text and f"{city} · 2024" in text, (n, text[-200:])
    reader = PdfReader(str(pdf))
    width, height = (float(v) * 25.4 / 72 for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == tuple(round(v) for v in PAPER_MM[paper])
    catalogue = reader.trailer["/Root"]
    assert bool(catalogue["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in catalogue  # tagged
    outline = _outline_titles(reader)
    for heading in layout["h2"]:
        assert " ".join(heading.split()) in outline, (heading, outline)
    if name == "demo" and paper == "A4":
        assert len(pages) <= 20, len(pages)


def test_the_html_report_has_a_table_of_contents_that_links_every_section(chromium, reports):
    context = chromium.new_context(offline=True)
    page = context.new_page()
    page.goto(reports["demo"].resolve().as_uri(), wait_until="load")
    links = page.eval_on_selector_all("nav.toc a", "as => as.map(a => a.getAttribute('href'))")
    h2 = page.eval_on_selector_all("main h2[id]", "hs => hs.map(h => '#' + h.id)")
    back = page.locator("a[href='#contents']").count()
    cover = page.inner_text("header.cover")
    context.close()
    assert links and links == [h for h in h2 if h != "#contents-title"]
    assert back == len(links)  # one "back to contents" per section
    assert "Generated" in cover and "ssc-kpis" in cover and "Target set" in cover


def test_the_annex_lists_each_source_once_and_numbers_it(reports):
    html = reports["demo"].read_text(encoding="utf-8")
    annex = html[html.index('<table class="annex">'):]
    sources = re.findall(r"<li[^>]*>(.*?)</li>", annex[annex.index('<ol class="refs small">'):].split("</ol>")[0])
    refs = {int(n) for n in re.findall(r"<td>\[(\d+)\]</td>", annex)}
    assert sources and len(sources) == len(set(sources))
    assert refs == set(range(1, len(sources) + 1))  # every source is cited, every citation is listed
    assert len(re.findall(r"<tr>", annex.split("</table>")[0])) > 91  # one row per data point


def test_links_wrap_at_their_separators_and_stay_escaped():
    from kpis.templating import breakable, whole_numbers

    assert str(breakable("https://x.org/a_b?<q>")) == "https://<wbr>x.<wbr>org/<wbr>a_<wbr>b?<wbr>&lt;q&gt;"
    assert whole_numbers("22 per 100 000 inhabitants") == "22 per 100\u00a0000 inhabitants"


def _axe(chromium, html: Path) -> list[str]:
    assert AXE.is_file(), AXE_HELP
    context = chromium.new_context(offline=True, bypass_csp=True)  # the page's CSP forbids the injected script
    page = context.new_page()
    page.goto(html.resolve().as_uri(), wait_until="load")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run({runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    context.close()
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})" for v in result["violations"]]


def test_the_city_report_meets_wcag_21_aa(chromium, reports):
    assert _axe(chromium, reports["demo"]) == []
    assert _axe(chromium, reports["partial"]) == []


def test_the_comparison_report_meets_wcag_21_aa(chromium, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kpis.cli", "compare", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert _axe(chromium, tmp_path / "report.html") == []


def test_the_validation_report_meets_wcag_21_aa(chromium, tmp_path):
    from kpis.template import write_template

    bad = write_template(tmp_path / "bad.xlsx", profile={"city": "Testville", "year": 2024, "population": -5},
                         values={("EC: I: T: 4A", "para_transport"): {"numerator_value": "abc"}})
    proc = subprocess.run([sys.executable, "-m", "kpis.cli", "validate", "--html", str(tmp_path / "v.html"), str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and (tmp_path / "v.html").is_file(), proc.stderr
    assert "abc" in (tmp_path / "v.html").read_text(encoding="utf-8")
    assert _axe(chromium, tmp_path / "v.html") == []


def test_the_row_check_sees_a_row_split_across_pages(chromium, tmp_path):
    """The split-row check itself: a row taller than a page, allowed to break, is found on two pages."""
    lines = "<br>".join(f"line {i}" for i in range(120))
    html = tmp_path / "tall.html"
    html.write_text(f"<!DOCTYPE html><html lang='en'><title>tall</title><style>tr {{ break-inside: auto }}</style>"
                    f"<table>{'<tr><td>a</td><td>b</td></tr>' * 60}<tr><td>{lines}</td><td>x</td></tr></table>",
                    encoding="utf-8")
    html_to_pdf(chromium, html, tmp_path / "tall.pdf")
    assert _rows_split(tmp_path / "tall.pdf")
