"""What a language costs: writing the data-collection workbook in each of the six languages against English, and
`ssc validate` of a filled workbook with messages in each language.

Each language is timed in-process after one warm-up (library, catalogues and language files loaded), as a batch of
templates would run; the languages take turns in each round and the figure is the median of `runs` writes. Printed: ms per template and the ratio to English
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


def _interleaved_ms(jobs: dict, runs: int) -> dict[str, float]:
    """Median ms per job, the jobs taking turns in each round so that a busy machine slows them alike."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(runs):
        for name, fn in jobs.items():
            start = time.process_time()  # CPU time: stable on a shared, busy machine
            fn()
            samples[name].append(time.process_time() - start)
    return {name: statistics.median(times) * 1000 for name, times in samples.items()}


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for lang in LANGUAGES:  # warm-up: library, catalogues and language files loaded once
            write_template(folder / f"warm-{lang}.xlsx", lang=lang)
        filled = write_template(folder / "filled.xlsx", profile={"city": "X", "year": 2024}, values={
            ("EC: ICT: ICT: 1C", ""): {"numerator_value": 30000, "denominator_value": 0}})
        problems = validate(filled)
        write = _interleaved_ms({lang: lambda lang=lang: write_template(folder / f"{lang}.xlsx", lang=lang)
                                 for lang in LANGUAGES}, runs)
        shown = _interleaved_ms({lang: lambda lang=lang: [p.localised(lang) for p in problems]
                                 + [report_html([(filled, problems)], lang)] for lang in LANGUAGES}, runs * 20)
    print(f"template write, CPU time, median of {runs} (ms) and ratio to English; validation messages + HTML report (ms)")
    for lang in LANGUAGES:
        print(f"  {lang}: {write[lang]:7.1f} ms  x{write[lang] / write['en']:.2f}   |  {shown[lang]:6.1f} ms  "
              f"x{shown[lang] / shown['en']:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
