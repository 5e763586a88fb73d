"""Many cities and years side by side: one tidy table, coverage, scores per level, peers, progress, and rankings
that say how certain they are.

The stage reads as a pipeline, each module using only the ones before it:

    load      inputs (results, submissions, long CSVs, DataFrames) → one tidy table
    progress  Open SDG progress status between two years
    rank      `Ranking`: the ranking rule and the sensitivity draws behind rank intervals
    model     `Comparison`: tidy table, coverage, scores per level, peers (and its rank/progress views)
    charts    SVG charts drawn from the data
    report    `ComparisonReport`: the notebook's sections, Jinja templates in templates/comparison/
    cli       `ssc compare` and the CSV exports

Every rule (reading numbers, achievement, bands, points, aggregation) comes from `kpis.rules`. This module only
re-exports the public names.
"""

from __future__ import annotations

from .charts import plot_coverage, plot_heatmap, plot_progress, plot_radar, plot_ranking
from .cli import NOTEBOOK, cli_compare, write_exports
from .errors import CompareError
from .load import bundled_inputs
from .model import LEVELS, POPULATION_BANDS, Comparison, compare, population_band
from .progress import PROGRESS_COLOURS, TARGET_YEAR, progress_status
from .rank import NOISE_PLACES, Ranking
from .report import ComparisonReport, band_table_html, styled
from .sections import HTMLBlock

__all__ = [
    "LEVELS",
    "NOISE_PLACES",
    "NOTEBOOK",
    "POPULATION_BANDS",
    "PROGRESS_COLOURS",
    "TARGET_YEAR",
    "CompareError",
    "Comparison",
    "ComparisonReport",
    "HTMLBlock",
    "Ranking",
    "band_table_html",
    "bundled_inputs",
    "cli_compare",
    "compare",
    "plot_coverage",
    "plot_heatmap",
    "plot_progress",
    "plot_radar",
    "plot_ranking",
    "population_band",
    "progress_status",
    "styled",
    "write_exports",
]
