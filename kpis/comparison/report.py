"""The comparison report: what the comparison notebook shows, section by section.

Every section is a Jinja template in templates/comparison/ rendered with autoescape on (tables, title, method,
legend), or a static PNG chart; the notebook holds no logic.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import rules
from ..display import band_style, value_text
from .charts import Figure, chart_png, plot_coverage, plot_heatmap, plot_progress, plot_radar, plot_ranking
from .load import bundled_inputs
from .model import Comparison, compare, years_text
from .rank import Ranking
from .sections import HTMLBlock, Table, band_table_of, render_block, table_of
from .shared import MIN_SHARED_POINTS, group_scores_on_shared, label, radar_choice, side_by_side

MAX_SOURCES = 20  # input names listed in the method section
MAX_EXCLUDED = 30  # cities listed as not ranked
MAX_SIDE_CITIES = 12  # city columns of the side-by-side table
MAX_SIDE_ROWS = 120  # data points of the side-by-side table
MAX_NOTES = 40  # "cannot be compared" sentences listed


class PNGChart:
    """A finished chart as PNG bytes with its alt text (no live figure is left to be shown twice)."""

    def __init__(self, fig: Figure, alt: str):
        self.png, self.alt = chart_png(fig), alt

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        return {"image/png": self.png}, {"image/png": {"ssc_alt": self.alt}}

    @property
    def b64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")


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
        overall = comp.scores[comp.scores["level"] == "overall"].merge(
            comp.kpis.groupby("city", as_index=False)["year"].max(), on=["city", "year"])
        empty = [label(c, y) for c, y, n in zip(overall["city"], overall["year"], overall["kpis_reported"],
                                                 strict=True) if n == 0]
        return render_block("title", n_cities=len(comp.cities), years=years_text(comp.years),
                            targets=comp.targets_label,
                            invented=comp.profiles.loc[comp.profiles["invented"], "city"].nunique(),
                            ranked=len(self.ranking.table) > 0, empty=empty)

    def method(self) -> HTMLBlock:
        sources = self.comparison.sources
        return render_block("method", rule=self.ranking.rule, sources=sources[:MAX_SOURCES],
                            more_sources=len(sources) > MAX_SOURCES, min_shared=MIN_SHARED_POINTS)

    def legend(self) -> HTMLBlock:
        return render_block("legend", bands=[*rules.BANDS[::-1], "not scored"])

    def heatmap(self, level: str = "category") -> PNGChart | HTMLBlock:
        if not self.comparison.kpis["scored"].any():
            return _sentence("No city has a scored data point, so there are no bands to show.")
        return PNGChart(plot_heatmap(self.comparison, level), f"Band of every city in each {level}")

    def heatmap_numbers(self, level: str = "category") -> HTMLBlock:
        """The heat map's bands as a table in a <details>: the chart's text alternative."""
        if not self.comparison.kpis["scored"].any():
            return HTMLBlock("")
        t = band_table_of(self.comparison.table(level, "band").head(200))
        return render_block("numbers", t=replace(t, caption=f"Band of every city in each {level.replace('_', '-')}"))

    def band_table(self, level: str = "dimension") -> HTMLBlock:
        return band_table_html(self.comparison.table(level, "band").head(200))

    def radar(self, level: str = "sub_dimension") -> HTMLBlock:
        """The radar of chosen cities on the data points they all score (or why there is none), then the
        side-by-side table of the data points at least two cities report."""
        latest = self.comparison.latest()
        chosen = radar_choice(latest, self.radar_cities)
        scores, shared = group_scores_on_shared(latest, chosen, level) if len(chosen) >= 2 else (pd.DataFrame(), 0)
        chart, why = None, ""
        if len(chosen) < 2 or shared < MIN_SHARED_POINTS:
            why = (f"No radar: no two cities score at least {MIN_SHARED_POINTS} data points in common, and scores "
                   "over different data points would compare nothing.")
        elif scores.shape[1] < 3:
            why = (f"No radar: the {shared} data points that {' and '.join(chosen)} all score fall in "
                   f"{scores.shape[1]} {level.replace('_', '-')}{'s' if scores.shape[1] != 1 else ''}; a radar "
                   "needs three axes.")
        else:
            chart = PNGChart(plot_radar(scores, level, shared), f"Radar of {level} scores of {', '.join(chosen)}")
        return render_block("side_by_side", chart=chart, why=why, table=self._side_by_side_table(),
                            chart_numbers=_scores_table(scores, level) if chart else None,
                            more_cities=self._more_cities(), shown=MAX_SIDE_CITIES)

    def _side_by_side_table(self) -> Table:
        points, grid = side_by_side(self.comparison.latest())
        columns = np.flatnonzero(grid.reported.any(axis=1))[:MAX_SIDE_CITIES]  # a city with none of them: no column
        rows = []
        for j, point in points.head(MAX_SIDE_ROWS).iterrows():
            unit = str(point.get("unit", "") or "")
            row = [(str(point["code"]), "white-space:nowrap"), (str(point.get("point_label", "") or ""), "")]
            for i in columns:
                if not grid.reported[i, j]:
                    row.append(("–", ""))
                    continue
                band = grid.band[i, j] if grid.scored[i, j] else "not scored"
                row.append((f"{value_text(grid.value[i, j], unit, digits=4)} · {band}", band_style(band)))
            rows.append(row)
        empty = "No data point is reported by two or more cities: the cities have nothing in common to compare."
        return Table(["KPI", "Data point", *(grid.labels[i] for i in columns)], rows,
                     max(len(points) - MAX_SIDE_ROWS, 0), empty=empty)

    def _more_cities(self) -> int:
        return max(len(self.comparison.cities) - MAX_SIDE_CITIES, 0)

    def ranking_chart(self) -> PNGChart | HTMLBlock:
        if self.ranking.table.empty:
            return _sentence(self._no_ranking())
        return PNGChart(plot_ranking(self.ranking), "Rank and rank interval of each city")

    def _no_ranking(self) -> str:
        comp = self.comparison
        latest = comp.latest()
        per_point = latest[latest["scored"]].groupby(["code", "part"])["city"].nunique()
        most = int(per_point.max()) if len(per_point) else 0
        return (f"No ranking: a data point enters the ranking when at least 80 % of the cities score it, and the "
                f"most widely scored data point here is scored by {most} of {len(comp.cities)} cities. The cities "
                "are compared below on the data points they share instead.")

    def ranking_table(self) -> HTMLBlock:
        """The ranking (when there is one), the cities not ranked, and every pair of cities on shared data points."""
        excluded = self.ranking.excluded
        table = self.ranking.table.drop(columns=["level", "group"])
        if not table.empty:
            table = table.assign(rank_interval=[f"{int(lo)}–{int(hi)}" if lo != hi else str(int(lo))
                                                for lo, hi in zip(table["rank_low"], table["rank_high"], strict=True)])
            table = table[["city", "year", "ranking_score", "band", "rank", "rank_interval", "rank_median",
                           "missing_points", "note"]].round(1)
        pairs = self.comparison.pairs()
        pair_table = pairs.table.round(1)
        return render_block("ranking", table=table_of(table, max_rows=100) if not table.empty else None,
                            excluded=[str(c) for c in excluded["city"][:MAX_EXCLUDED]] if not table.empty else [],
                            n_excluded=len(excluded),
                            pairs=table_of(pair_table, band_column=None, band_columns=("band_a", "band_b"),
                                           max_rows=200, empty="No pair of cities scores a data point in common."),
                            notes=pairs.notes[:MAX_NOTES], more_notes=max(len(pairs.notes) - MAX_NOTES, 0),
                            min_shared=MIN_SHARED_POINTS)

    def coverage_chart(self) -> PNGChart:
        return PNGChart(plot_coverage(self.comparison), "KPIs reported by each city and year")

    def coverage_table(self) -> HTMLBlock:
        scores = self.comparison.scores
        return styled(scores[scores["level"] == "overall"][
            ["city", "year", "kpis_total", "kpis_reported", "kpis_scored", "score", "band"]].round(1))

    def peers_table(self) -> HTMLBlock:
        peers = self.comparison.peer_comparison(self.group_by)
        table = peers.table.drop(columns=["level", "group"]).round(1)
        return render_block("peers", table=table_of(table) if not table.empty else None, notes=peers.notes,
                            min_shared=MIN_SHARED_POINTS, by=self.group_by.replace("_", " "))

    def progress_chart(self) -> PNGChart | HTMLBlock:
        if self.comparison.progress().empty:
            return _sentence(self._no_progress())
        return PNGChart(plot_progress(self.comparison), "Progress status counts per city")

    def _no_progress(self) -> str:
        comp = self.comparison
        if len(comp.years) == 1:
            return f"No progress: every input is for {comp.years[0]}, one year only."
        if comp.kpis.groupby("city")["year"].nunique().max() == 1:
            return ("No progress: each city has data for one year only; progress needs two years of the same "
                    "city.")
        return ("No progress: no city reports the same data point in two different years, so no change can be "
                "measured.")

    def progress_table(self) -> HTMLBlock:
        summary = self.comparison.progress_summary()
        if summary.empty:
            return HTMLBlock("")
        return render_block("progress", table=table_of(summary.reset_index(), band_column=None))


def _scores_table(scores: pd.DataFrame, level: str) -> Table:
    """The radar's scores (cities × groups) as a table: the chart's text alternative."""
    rows = [[(str(city), ""), *((("–" if pd.isna(v) else f"{rules.display_percent(float(v))} %"), "")
                                for v in row)] for city, row in scores.iterrows()]
    return Table(["City", *(str(c) for c in scores.columns)], rows, row_headers=True,
                 caption=f"Score of each {level.replace('_', '-')} on the data points the cities share")


def _sentence(text: str) -> HTMLBlock:
    return render_block("sentence", text=text)
