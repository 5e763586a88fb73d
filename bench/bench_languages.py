"""What a language costs: writing the data-collection workbook in each of the six languages against English, and
`ssc validate` of a filled workbook with messages in each language.

Each language is timed in-process after one warm-up (library, catalogues and language files loaded), as a batch of
templates would run; the figure is the median of `runs` writes. Printed: ms per template and the ratio to English
(the issue's budget for reports is +10 %; the template's own cost is what is measured here).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from kpis.i18n import LANGUAGES
from kpis.template import write_template
from kpis.validation import validate
from kpis.validation_report import report_html


def _median_ms(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for lang in LANGUAGES:  # warm-up: library, catalogues and language files loaded once
            write_template(folder / f"warm-{lang}.xlsx", lang=lang)
        filled = write_template(folder / "filled.xlsx", profile={"city": "X", "year": 2024}, values={
            ("EC: ICT: ICT: 1C", ""): {"numerator_value": 30000, "denominator_value": 0}})
        problems = validate(filled)
        write = {lang: _median_ms(lambda lang=lang: write_template(folder / f"{lang}.xlsx", lang=lang), runs)
                 for lang in LANGUAGES}
        shown = {lang: _median_ms(lambda lang=lang: [p.localised(lang) for p in problems]
                                  + [report_html([(filled, problems)], lang)], runs) for lang in LANGUAGES}
    print(f"template write, median of {runs} (ms) and ratio to English; validation messages + HTML report (ms)")
    for lang in LANGUAGES:
        print(f"  {lang}: {write[lang]:7.1f} ms  x{write[lang] / write['en']:.2f}   |  {shown[lang]:6.1f} ms  "
              f"x{shown[lang] / shown['en']:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
