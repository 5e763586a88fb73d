"""The comparison report: what the comparison notebook shows, section by section.

Every section is a Jinja template in templates/comparison/ rendered with autoescape on (tables, title, method,
legend), or a static PNG chart; the notebook holds no logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import rules
from .charts import Figure, chart_png, plot_coverage, plot_heatmap, plot_progress, plot_radar, plot_ranking
from .load import bundled_inputs
from .model import Comparison, compare, years_text
from .rank import Ranking
from .sections import HTMLBlock, band_table_of, render_block, table_of

MAX_SOURCES = 20  # input names listed in the method section
MAX_EXCLUDED = 30  # cities listed as not ranked


class PNGChart:
    """A finished chart as PNG bytes with its alt text (no live figure is left to be shown twice)."""

    def __init__(self, fig: Figure, alt: str):
        self.png, self.alt = chart_png(fig), alt

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        return {"image/png": self.png}, {"image/png": {"ssc_alt": self.alt}}


def styled(frame: pd.DataFrame, band_column: str | None = "band") -> HTMLBlock:
    """Escaped HTML of a frame with band colours (for notebook and report tables)."""
    return render_block("table", t=table_of(frame, band_column=band_column))


def band_table_html(table: pd.DataFrame) -> HTMLBlock:
    """A cities × groups table of bands as escaped, coloured HTML."""
    return render_block("table", t=band_table_of(table))


@dataclass
class ComparisonReport:
    """What the comparison notebook shows: every table escaped, every chart a static PNG."""

    comparison: Comparison
    ranking: Ranking
    group_by: str = "population_band"
    radar_cities: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, inputs: Sequence[str] | str | None = None, targets: str | None = None, year: int | None = None,
              group_by: str = "population_band", radar_cities: Sequence[str] = (), draws: int = 200,
              seed: int = 0, input_names: Sequence[str] = ()) -> ComparisonReport:
        items = [inputs] if isinstance(inputs, str) else list(inputs or [])
        comp = compare([Path(p) for p in items] if items else bundled_inputs(), targets=targets or None, year=year)
        if input_names:  # the files the user gave, when the runner hands over a prepared table instead
            comp.sources = [str(n) for n in input_names]
        return cls(comp, comp.rank(draws=draws, seed=seed), group_by or "population_band", list(radar_cities))

    def title(self) -> HTMLBlock:
        comp = self.comparison
        return render_block("title", n_cities=len(comp.cities), years=years_text(comp.years),
                            targets=comp.targets_label,
                            invented=comp.profiles.loc[comp.profiles["invented"], "city"].nunique())

    def method(self) -> HTMLBlock:
        sources = self.comparison.sources
        return render_block("method", rule=self.ranking.rule, sources=sources[:MAX_SOURCES],
                            more_sources=len(sources) > MAX_SOURCES)

    def legend(self) -> HTMLBlock:
        return render_block("legend", bands=[*rules.BANDS[::-1], "not scored"])

    def heatmap(self, level: str = "category") -> PNGChart:
        return PNGChart(plot_heatmap(self.comparison, level), f"Band of every city in each {level}")

    def band_table(self, level: str = "dimension") -> HTMLBlock:
        return band_table_html(self.comparison.table(level, "band").head(200))

    def radar(self, level: str = "sub_dimension") -> PNGChart:
        return PNGChart(plot_radar(self.comparison, self.radar_cities or None, level),
                        f"Radar of {level} scores for chosen cities")

    def ranking_chart(self) -> PNGChart:
        return PNGChart(plot_ranking(self.ranking), "Rank and rank interval of each city")

    def ranking_table(self) -> HTMLBlock:
        excluded = self.ranking.excluded
        return render_block("ranking", table=table_of(self.ranking.table.drop(columns=["level", "group"]).round(1),
                                                      max_rows=100),
                            excluded=[str(c) for c in excluded["city"][:MAX_EXCLUDED]], n_excluded=len(excluded))

    def coverage_chart(self) -> PNGChart:
        return PNGChart(plot_coverage(self.comparison), "KPIs reported by each city and year")

    def coverage_table(self) -> HTMLBlock:
        scores = self.comparison.scores
        return styled(scores[scores["level"] == "overall"][
            ["city", "year", "kpis_total", "kpis_reported", "kpis_scored", "score", "band"]].round(1))

    def peers_table(self) -> HTMLBlock:
        return styled(self.comparison.peers(self.group_by).drop(columns=["level", "group"]).round(1))

    def progress_chart(self) -> PNGChart:
        return PNGChart(plot_progress(self.comparison), "Progress status counts per city")

    def progress_table(self) -> HTMLBlock:
        summary = self.comparison.progress_summary()
        return render_block("progress", table=table_of(summary.reset_index(), band_column=None))
