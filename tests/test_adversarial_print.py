"""Hostile text on the printed page: markup and footer-template markup in the city's name, an unbroken source link
thousands of characters long and a source name of one 300-letter word. The PDF is still written, nothing is cut off
at the page edge (Chromium clips what overflows the page, so a clipped string is missing from the text layer), and
the running footer shows the name as text (its page-number markup is not obeyed)."""

from __future__ import annotations

import subprocess

import pytest
from adversarial import attack

from kpis.template import write_template

pytestmark = pytest.mark.browser

CITY = '<span class="pageNumber"></span><b>Évry & "Co"</b>'
LONG_LINK = "https://example.invalid/" + "a" * 3000
LONG_WORD = "S" * 300
QUALITY = "Based on accurate measurements"
CASES = {
    "markup in the name, endless link and word in the sources": {
        ("EC: ICT: ICT: 1C", ""): {"final_value": 80, "data_quality": QUALITY, "source_name": LONG_WORD,
                                   "source_link": LONG_LINK},
        ("EC: ICT: ICT: 2C", ""): {"final_value": 60, "data_quality": QUALITY, "source_name": "office",
                                   "source_link": "https://" + "/-._" * 700}},
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_text_prints_whole_inside_the_page(tmp_path, case):
    src = write_template(tmp_path / "hostile.xlsx", profile={"city": CITY, "year": 2024, "population": 100000},
                         values=CASES[case])
    out = tmp_path / "out"
    attack("assess", str(src), "--pdf", "--out", str(out), cwd=tmp_path, out=out, inputs=[src], expect_code=0,
           within=120)
    [pdf] = out.glob("*/2024/report.pdf")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.split("\f")[:-1]
    for n, page in enumerate(pages, start=1):
        assert f"{CITY} · 2024" in page and f"page {n} of {len(pages)}" in page, page[-300:]
    joined = "".join(text.split())
    assert LONG_WORD in joined and LONG_LINK in joined  # wrapped, not cut off at the page edge
