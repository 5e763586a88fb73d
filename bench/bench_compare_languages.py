"""What a language costs the comparison report: every section of `ComparisonReport` (tables, sentences, the five
SVG charts) made in each of the six languages, against English, for invented cities over two years.

The comparison and its ranking are made once (they do not depend on the language); each language then shows them.
Languages take turns in each round (a busy machine slows them alike); the figure is the median CPU time of `runs`
rounds after one warm-up (catalogues and language files loaded). Printed: ms per report and the ratio to English
(the issue's budget: +10 %).
"""

from __future__ import annotations

import sys
from functools import partial

from bench_languages import _interleaved_ms  # the languages taking turns, as for the city report

from kpis.comparison import ComparisonReport, compare
from kpis.i18n import LANGUAGES
from kpis.synthetic import cities

SECTIONS = ("title", "method", "legend", "heatmap", "heatmap_numbers", "band_table", "radar", "ranking_chart",
            "ranking_table", "peers_table", "coverage_chart", "coverage_table", "progress_chart", "progress_table")


def _report(comp, ranking, lang: str) -> int:
    report = ComparisonReport(comp, ranking, "population_band", lang=lang)
    parts = [getattr(report, name)() for name in SECTIONS]
    return sum(len(getattr(part, "svg", str(part))) for part in parts)


def main(n_cities: int = 30, runs: int = 7) -> None:
    comp = compare(cities(n_cities, seed=3, years=2))
    ranking = comp.rank(draws=200, seed=0)
    for lang in LANGUAGES:  # warm-up
        _report(comp, ranking, lang)
    ms = _interleaved_ms({lang: partial(_report, comp, ranking, lang) for lang in LANGUAGES}, runs)
    print(f"comparison report sections ({n_cities} cities x 2 years), CPU time, median of {runs} (ms), ratio to English")
    for lang in LANGUAGES:
        print(f"  {lang}: {ms[lang]:7.1f} ms  x{ms[lang] / ms['en']:.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
