"""Executed notebook → one self-contained HTML report (nbconvert), and HTML → PDF with one reused Chromium."""

from __future__ import annotations

import contextlib
import html
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, direction, translate_markdown, translator
from .paths import atomic_write, bundled

#: The fonts of the running footer: those of report.css, Arabic and Chinese included (Debian's fonts-noto-core,
#: fonts-noto-cjk).
FONT_STACK = "'DejaVu Sans', 'Noto Sans', 'Noto Sans Arabic', 'Noto Sans CJK SC', Arial, sans-serif"
#: The report page's own words (the contents list and its links back).
PAGE_TEXT = {"contents": N_("Contents"), "back": N_("Back to contents")}

# The headless shell first: it has no sign-in, no component updater and no other browser services, so it never
# starts a request of its own. A full Chromium is kept quiet by CHROMIUM_ARGS.
CHROMIUM_CANDIDATES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "chrome")
# A report is printed without the network. A full Chromium still asks accounts.google.com for signed-in accounts
# and update.googleapis.com for component updates whatever the other switches say (measured with strace and
# --log-net-log on Chromium 156), so those two services get addresses that go nowhere: the updater a file URL, sign-in
# a local port Chromium refuses to connect to (port 1 is on its unsafe-port list). Any other host name resolves to
# "not found" without a DNS query. Playwright adds its own quiet switches (--disable-features=Translate,
# OptimizationHints, NetworkTimeServiceQuerying...), so this list must not repeat --disable-features: the last wins.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-default-apps",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--metrics-recording-only",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--no-pings", "--dns-prefetch-disable",
    "--component-updater=url-source=file:///dev/null",
    "--gaia-url=http://localhost:1/",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
]


class PdfUnavailable(RuntimeError):
    """No browser to print with; the HTML report is still written."""


_EXPORTER = None


def _report_exporter_class():
    """nbconvert's HTMLExporter, less its closing BeautifulSoup pass when the page does not need it.

    That pass re-parses the whole page (a third of a report's conversion time) only to give an `<img>` without `alt`
    a placeholder and to make the input and output areas of nbconvert's own templates focusable; the report template
    writes neither (its charts are inline SVG with their own titles), so only a page with an image (a custom
    notebook's plot) is parsed, to give it the same placeholder."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            resources = self._init_resources(resources)
            # the filters HTMLExporter.from_notebook_node registers before rendering
            self.register_filter("highlight_code", self.filters.get("highlight_code", Highlight2HTML(parent=self)))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            if "<img" not in page:
                return page, resources
            from bs4 import BeautifulSoup  # start-up: only a page with images needs a parser

            soup = BeautifulSoup(page, features="html.parser")
            for img in soup.select("img:not([alt])"):
                img.attrs["alt"] = "No description has been provided for this image"  # nbconvert's own words
            return str(soup), resources

    return ReportExporter


def _exporter():
    """One HTMLExporter per process: its first use costs ~0.6 s, later ones ~0.07 s."""
    global _EXPORTER
    if _EXPORTER is None:
        from traitlets.config import Config

        cfg = Config()
        cfg.TemplateExporter.exclude_input = True
        cfg.TemplateExporter.exclude_input_prompt = True
        cfg.TemplateExporter.exclude_output_prompt = True
        cfg.TagRemovePreprocessor.enabled = True
        cfg.TagRemovePreprocessor.remove_cell_tags = {"parameters", "injected-parameters", "remove"}
        cfg.HTMLExporter.preprocessors = ["nbconvert.preprocessors.TagRemovePreprocessor"]
        # the template folder must be known at construction: nbconvert resolves templates in __init__
        exporter = _report_exporter_class()(config=cfg, template_name="ssc_report",
                                extra_template_basedirs=[str(bundled("templates"))])
        _EXPORTER = exporter
    return _EXPORTER


def warm_exporter() -> None:
    """Pay nbconvert's first-use cost (templates, filters) before the first city is ready."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm-up")])
    notebook_to_html(nb, "warm-up")


def notebook_to_html(nb, title: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Render an executed notebook (NotebookNode) with the report template: no code, no prompts, no parameters;
    the notebook's headings and paragraphs, the page's `lang` and `dir` and its own words in `lang`."""
    css = bundled("templates", "report.css").read_text(encoding="utf-8")
    if lang != DEFAULT_LANGUAGE:
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = translate_markdown(cell.source, lang)
    _ = translator(lang)
    resources = {"metadata": {"name": title}, "ssc_css": css, "ssc_lang": lang, "ssc_dir": direction(lang),
                 "ssc_text": {key: _(text) for key, text in PAGE_TEXT.items()}}
    body, _resources = _exporter().from_notebook_node(nb, resources=resources)
    return body


def write_report_html(city_dir: Path, title: str, lang: str = DEFAULT_LANGUAGE) -> None:
    """The city's report.html from the executed notebook its worker wrote beside it (report.ipynb). Made by the
    process that collects the batch, as the PDFs are: nbconvert loads and warms up there once, beside the workers
    (which only run notebooks), and a city rendered on a Dask worker gets its HTML where it lands."""
    import nbformat  # start-up: only a batch that renders reads notebooks

    nb = nbformat.reads((city_dir / "report.ipynb").read_text(encoding="utf-8"), as_version=4)
    atomic_write(city_dir / "report.html", notebook_to_html(nb, title, lang))


def find_chromium() -> str | None:
    """Debian's chromium (or another Chromium) on PATH, or SSC_CHROMIUM if set."""
    override = os.environ.get("SSC_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


PDF_HELP = (
    "PDF needs a Chromium browser: on Debian/Ubuntu run `apt-get install chromium` "
    "(or set SSC_CHROMIUM to a Chromium executable); the HTML report was written."
)


@contextlib.contextmanager
def browser() -> Iterator[object]:
    """One headless Chromium for a whole batch (launching costs ~0.8 s; printing a page ~0.25 s)."""
    exe = find_chromium()
    if exe is None:
        raise PdfUnavailable(PDF_HELP)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dependency
        raise PdfUnavailable(f"Playwright is not installed ({exc}); the HTML report was written.") from None
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001 - any launch failure means "no PDF", not a crash
            raise PdfUnavailable(f"Chromium at {exe} did not start ({str(exc).splitlines()[0]}). {PDF_HELP}") from None
        try:
            yield chromium
        finally:
            chromium.close()


#: Paper sizes the PDF is printed on; the margins leave room for the running footer.
PAPER_SIZES = ("A4", "Letter")
PDF_MARGINS = {"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"}


def footer_template(label: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Chromium's running footer: "<label> · page N of M" in the report's language and direction (the label is
    page text, so it is escaped here)."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    _ = translator(lang)
    page = html.escape(_("page {page} of {pages}", page="\x00", pages="\x01"))
    page = page.replace("\x00", '<span class="pageNumber"></span>').replace("\x01", '<span class="totalPages"></span>')
    return (f'<div lang="{lang}" dir="{direction(lang)}" style="width:100%; margin:0 12mm; font:8px {FONT_STACK};'
            f' color:#52606d; display:flex; justify-content:space-between"><span>{html.escape(label)}</span>'
            f'<span>{page}</span></div>')


@contextlib.contextmanager
def report_page(chromium, html_path: Path, **options: Any) -> Iterator[Any]:
    """A page in a fresh offline context that may load the report file itself and nothing else.

    Every other request (another file, http(s), ws) is aborted; data: URIs (the charts) never leave the page. The
    report is self-contained, so nothing is lost. Scripts are off unless `java_script_enabled=True` is given.
    The caller opens the report with `page.goto(report_url(html_path))`.
    """
    report = unquote(report_url(html_path))
    context = chromium.new_context(**{"java_script_enabled": False, **options, "offline": True})
    try:
        context.route("**/*", lambda route: route.continue_() if unquote(route.request.url.split("#")[0]) == report
                      else route.abort("blockedbyclient"))
        yield context.new_page()
    finally:
        context.close()


def report_url(html_path: Path) -> str:
    """The file URL a page opens, and the only one `report_page` lets it load."""
    return Path(html_path).resolve().as_uri()


def html_to_pdf(chromium, html_path: Path, pdf_path: Path, paper: str = "A4") -> None:
    """Print one report with the browser's own print engine: backgrounds kept for the band colours, a running
    footer (city, year, page N of M), tagged for screen readers, with an outline that mirrors the headings."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_SIZES)}, not {paper!r}")
    with report_page(chromium, html_path) as page:
        page.goto(report_url(html_path), wait_until="load")
        labelled = page.locator("[data-footer]")
        label = labelled.first.get_attribute("data-footer") if labelled.count() else page.title()
        lang = page.locator("html").get_attribute("lang") or DEFAULT_LANGUAGE
        pdf = page.pdf(format=paper, print_background=True, margin=PDF_MARGINS, tagged=True, outline=True,
                       display_header_footer=True, header_template="<span></span>",
                       footer_template=footer_template(label or "", lang))
    atomic_write(pdf_path, pdf)
