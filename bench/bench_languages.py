"""What a language costs: writing the data-collection workbook in each of the six languages against English,
`ssc validate` of a filled workbook with messages in each language, and making the demo city's report in French
and Arabic against English (every section, chart and the recommendations, from the city already read and scored:
the part of a report that depends on its language; the notebook kernel and nbconvert cost the same in any).

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
from kpis.paths import demo_city
from kpis.recommendation import recommend
from kpis.report import CityReport
from kpis.scoring import score
from kpis.template import write_template
from kpis.validation import read_submission, validate
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


#: What the notebook shows of a city report, in its order.
REPORT_STEPS = ("title", "executive_summary", "context", "method", "legend", "benchmark_wheel", "subdimension_bars",
                "band_counts", "strengths", "areas_to_improve", "priority_actions", "data_collection_plan",
                "data_quality", "annex")


def city_report(sub, results, lang: str) -> int:
    """Every section of the report in `lang` (recommendations included), as the notebook calls them."""
    report = CityReport(sub, results, recommend(results, measures=sub.measures, lang=lang), lang=lang)
    shown = [str(getattr(report, step)()) for step in REPORT_STEPS]
    shown += [str(report.chart_numbers(c)) for c in ("wheel", "bars", "bands")]
    for dimension in report.dimensions:
        shown += [str(report.dimension_table(dimension)), str(report.measures_and_actions(dimension))]
    return sum(map(len, shown))


def report_ratios(runs: int) -> dict[str, float]:
    sub = read_submission(demo_city())
    results = score(sub)
    reports = ("en", "fr", "ar")
    for lang in reports:  # warm-up: catalogues, language files and knowledge bases loaded once
        city_report(sub, results, lang)
    return _interleaved_ms({lang: lambda lang=lang: city_report(sub, results, lang) for lang in reports}, runs * 4)


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


    report = report_ratios(runs)
    print(f"city report sections (demo city), CPU time, median of {runs * 4} (ms) and ratio to English (target: "
          "at most x1.10)")
    for lang, ms in report.items():
        print(f"  {lang}: {ms:7.1f} ms  x{ms / report['en']:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
