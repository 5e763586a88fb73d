"""The comparison report: what the comparison notebook shows, section by section.

Every section is a Jinja template in templates/comparison/ rendered with autoescape on (tables, title, method,
legend), or an SVG chart drawn from the data (`charts`); the notebook holds no logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from .. import rules
from ..charts import Chart
from ..display import band_style, value_text
from ..i18n import DEFAULT_LANGUAGE, N_, KpiText, Translator, check_language, localise, percent_text
from .charts import plot_coverage, plot_heatmap, plot_progress, plot_radar, plot_ranking
from .load import bundled_inputs
from .model import Comparison, compare, years_text
from .rank import Ranking
from .sections import HTMLBlock, Table, band_table_of, isolate, level_word, render_block, table_of, word
from .shared import MIN_SHARED_POINTS, group_scores_on_shared, label, radar_choice, side_by_side

MAX_SOURCES = 20  # input names listed in the method section
MAX_EXCLUDED = 30  # cities listed as not ranked
MAX_SIDE_CITIES = 12  # city columns of the side-by-side table
MAX_SIDE_ROWS = 120  # data points of the side-by-side table
MAX_NOTES = 40  # "cannot be compared" sentences listed
#: The report's sections: heading and the sentence under it (the notebook shows them with `report.section`).
SECTIONS = {
    "method": (N_("Method"), ""),
    "bands": (N_("Bands by category"), N_("Each cell is a city's band in one category (its latest year); grey means "
                                          "nothing was scored there.")),
    "side_by_side": (N_("Chosen cities side by side"), N_("Scores per sub-dimension, in % of the maximum points.")),
    "ranking": (N_("Ranking with intervals"), N_("The dot is the rank under the U4SSC method as published; the bar "
                                                 "is the range of ranks over the sensitivity draws. Cities whose bars "
                                                 "overlap cannot be told apart.")),
    "peers": (N_("Peer groups"), N_("Each city's overall score next to the median of cities of its kind in the "
                                    "same year.")),
    "coverage": (N_("Coverage"), N_("Which city reported which KPI: a score is only as complete as the data behind "
                                    "it.")),
    "progress": (N_("Progress over the years"), N_("For cities with two or more years, each data point between its "
                                                   "first and latest year, graded with the Open SDG progress measure "
                                                   "(growth observed vs growth needed to reach the target by 2030).")),
}


def styled(frame: pd.DataFrame, band_column: str | None = "band", lang: str = DEFAULT_LANGUAGE) -> HTMLBlock:
    """Escaped HTML of a frame with band colours (for notebook and report tables)."""
    return render_block("table", lang, t=table_of(frame, band_column=band_column, lang=lang))


def band_table_html(table: pd.DataFrame, lang: str = DEFAULT_LANGUAGE) -> HTMLBlock:
    """A cities × groups table of bands as escaped, coloured HTML."""
    return render_block("table", lang, t=band_table_of(table, lang))


@dataclass
class ComparisonReport:
    """What the comparison notebook shows: every table escaped, every chart a static PNG."""

    comparison: Comparison
    ranking: Ranking
    group_by: str = "population_band"
    radar_cities: list[str] = field(default_factory=list)
    lang: str = DEFAULT_LANGUAGE  # the report's language (kpis.i18n.LANGUAGES)

    @classmethod
    def build(cls, inputs: Sequence[str] | str | None = None, targets: str | None = None, year: int | None = None,
              group_by: str = "population_band", radar_cities: Sequence[str] = (), draws: int = 200,
              seed: int = 0, input_names: Sequence[str] = (), lang: str | None = None) -> ComparisonReport:
        lang = check_language(lang)
        items = [inputs] if isinstance(inputs, str) else list(inputs or [])
        comp = compare([Path(p) for p in items] if items else bundled_inputs(), targets=targets or None, year=year,
                       lang=lang)
        if input_names:  # the files the user gave, when the runner hands over a prepared table instead
            comp.sources = [str(n) for n in input_names]
        return cls(comp, comp.rank(draws=draws, seed=seed), group_by or "population_band", list(radar_cities),
                   lang)

    @property
    def _(self) -> Translator:
        return Translator(self.lang)

    def _block(self, name: str, **context: object) -> HTMLBlock:
        return render_block(name, self.lang, **context)

    def section(self, name: str) -> HTMLBlock:
        """A section's heading and the sentence under it, in the report's language."""
        title, intro = SECTIONS[name]
        return self._block("section", title=self._(title), intro=self._(intro) if intro else "")

    def title(self) -> HTMLBlock:
        comp = self.comparison
        overall = comp.scores[comp.scores["level"] == "overall"].merge(
            comp.kpis.groupby("city", as_index=False)["year"].max(), on=["city", "year"])
        empty = [label(c, y) for c, y, n in zip(overall["city"], overall["year"], overall["kpis_reported"],
                                                 strict=True) if n == 0]
        return self._block("title", n_cities=len(comp.cities), years=years_text(comp.years),
                            targets=comp.targets_label,
                            invented=comp.profiles.loc[comp.profiles["invented"], "city"].nunique(),
                            ranked=len(self.ranking.table) > 0, empty=empty)

    def method(self) -> HTMLBlock:
        sources = self.comparison.sources
        return self._block("method", rule=self.ranking.rule.localise(self.lang), sources=sources[:MAX_SOURCES],
                            more_sources=len(sources) > MAX_SOURCES, min_shared=MIN_SHARED_POINTS)

    def legend(self) -> HTMLBlock:
        return self._block("legend", bands=[(band, word(band, self.lang)) for band in
                                            [*rules.BANDS[::-1], "not scored"]])

    def heatmap(self, level: str = "category") -> Chart | HTMLBlock:
        if not self.comparison.kpis["scored"].any():
            return self._sentence(self._("No city has a scored data point, so there are no bands to show."))
        return plot_heatmap(self.comparison, level, lang=self.lang)

    def _band_caption(self, level: str) -> str:
        return self._("Band of every city in each {level}", level=level_word(level, self.lang))

    def heatmap_numbers(self, level: str = "category") -> HTMLBlock:
        """The heat map's bands as a table in a <details>: the chart's text alternative."""
        if not self.comparison.kpis["scored"].any():
            return HTMLBlock("")
        t = band_table_of(self.comparison.table(level, "band").head(200), self.lang)
        return self._block("numbers", t=replace(t, caption=self._band_caption(level)))

    def band_table(self, level: str = "dimension") -> HTMLBlock:
        return band_table_html(self.comparison.table(level, "band").head(200), self.lang)

    def radar(self, level: str = "sub_dimension") -> HTMLBlock:
        """The radar of chosen cities on the data points they all score (or why there is none), then the
        side-by-side table of the data points at least two cities report."""
        latest = self.comparison.latest()
        chosen = radar_choice(latest, self.radar_cities)
        scores, shared = group_scores_on_shared(latest, chosen, level) if len(chosen) >= 2 else (pd.DataFrame(), 0)
        chart, why, _ = None, "", self._
        if len(chosen) < 2 or shared < MIN_SHARED_POINTS:
            why = _("No radar: no two cities score at least {least} data points in common, and scores over "
                    "different data points would compare nothing.", least=MIN_SHARED_POINTS)
        elif scores.shape[1] < 3:
            why = _.ngettext("No radar: the {points} data points that {cities} all score fall in {count} {level}; a "
                             "radar needs three axes.",
                             "No radar: the {points} data points that {cities} all score fall in {count} {level}s; "
                             "a radar needs three axes.", scores.shape[1], points=shared,
                             cities=", ".join(chosen), count=scores.shape[1], level=level_word(level, self.lang))
        else:
            chart = plot_radar(scores, level, shared, lang=self.lang)
        return self._block("side_by_side", chart=chart, svg=Markup(chart.svg) if chart else "", why=why, table=self._side_by_side_table(),
                           chart_numbers=self._scores_table(scores, level) if chart else None,
                           more_cities=self._more_cities(), shown=MAX_SIDE_CITIES)

    def _side_by_side_table(self) -> Table:
        points, grid = side_by_side(self.comparison.latest())
        columns = np.flatnonzero(grid.reported.any(axis=1))[:MAX_SIDE_CITIES]  # a city with none of them: no column
        rows, lang = [], self.lang
        for j, point in points.head(MAX_SIDE_ROWS).iterrows():
            unit = str(point.get("unit", "") or "")  # the catalogue's unit: value_text says it in `lang`
            code, part = str(point["code"]), str(point.get("part", "") or "")
            english = str(point.get("point_label", "") or "")
            name = KpiText(code, "points", part, english) if part else KpiText(code, "name", None, english)
            row = [(code, "white-space:nowrap"), (name.localise(lang), "")]
            for i in columns:
                if not grid.reported[i, j]:
                    row.append(("–", ""))
                    continue
                band = grid.band[i, j] if grid.scored[i, j] else "not scored"
                shown = isolate(value_text(grid.value[i, j], unit, digits=4, lang=lang), lang)
                row.append((f"{shown} · {word(band, lang)}", band_style(band)))
            rows.append(row)
        empty = self._("No data point is reported by two or more cities: the cities have nothing in common to "
                       "compare.")
        return Table([self._("KPI"), self._("Data point"), *(grid.labels[i] for i in columns)], rows,
                     max(len(points) - MAX_SIDE_ROWS, 0), empty=empty)

    def _more_cities(self) -> int:
        return max(len(self.comparison.cities) - MAX_SIDE_CITIES, 0)

    def ranking_chart(self) -> Chart | HTMLBlock:
        if self.ranking.table.empty:
            return self._sentence(self._no_ranking())
        return plot_ranking(self.ranking, lang=self.lang)

    def _no_ranking(self) -> str:
        comp = self.comparison
        latest = comp.latest()
        per_point = latest[latest["scored"]].groupby(["code", "part"])["city"].nunique()
        most = int(per_point.max()) if len(per_point) else 0
        return self._("No ranking: a data point enters the ranking when at least 80 % of the cities score it, and "
                      "the most widely scored data point here is scored by {most} of {cities} cities. The cities "
                      "are compared below on the data points they share instead.", most=most,
                      cities=len(comp.cities))

    def ranking_table(self) -> HTMLBlock:
        """The ranking (when there is one), the cities not ranked, and every pair of cities on shared data points."""
        excluded, lang = self.ranking.excluded, self.lang
        table = self.ranking.table.drop(columns=["level", "group"])
        if not table.empty:
            table = table.assign(rank_interval=[f"{int(lo)}–{int(hi)}" if lo != hi else str(int(lo))
                                                for lo, hi in zip(table["rank_low"], table["rank_high"], strict=True)])
            table = table[["city", "year", "ranking_score", "band", "rank", "rank_interval", "rank_median",
                           "missing_points", "note"]].round(1)
        pairs = self.comparison.pairs()
        pair_table = pairs.table.round(1)
        empty = self._("No pair of cities scores a data point in common.")
        return self._block("ranking", table=table_of(table, max_rows=100, lang=lang) if not table.empty else None,
                           excluded=[str(c) for c in excluded["city"][:MAX_EXCLUDED]] if not table.empty else [],
                           n_excluded=len(excluded),
                           pairs=table_of(pair_table, band_column=None, band_columns=("band_a", "band_b"),
                                          max_rows=200, empty=empty, lang=lang),
                           notes=[localise(n, lang) for n in pairs.notes[:MAX_NOTES]],
                           more_notes=max(len(pairs.notes) - MAX_NOTES, 0), min_shared=MIN_SHARED_POINTS)

    def coverage_chart(self) -> Chart:
        return plot_coverage(self.comparison, lang=self.lang)

    def coverage_table(self) -> HTMLBlock:
        scores = self.comparison.scores
        return styled(scores[scores["level"] == "overall"][
            ["city", "year", "kpis_total", "kpis_reported", "kpis_scored", "score", "band"]].round(1), lang=self.lang)

    def peers_table(self) -> HTMLBlock:
        peers = self.comparison.peer_comparison(self.group_by)
        table = peers.table.drop(columns=["level", "group"]).round(1)
        by = self._("population band") if self.group_by == "population_band" else self._("region")
        return self._block("peers", table=table_of(table, lang=self.lang) if not table.empty else None,
                           notes=[localise(n, self.lang) for n in peers.notes],
                           min_shared=MIN_SHARED_POINTS, by=by)

    def progress_chart(self) -> Chart | HTMLBlock:
        if self.comparison.progress().empty:
            return self._sentence(self._no_progress())
        return plot_progress(self.comparison, lang=self.lang)

    def _no_progress(self) -> str:
        comp = self.comparison
        if len(comp.years) == 1:
            return self._("No progress: every input is for {year}, one year only.", year=comp.years[0])
        if comp.kpis.groupby("city")["year"].nunique().max() == 1:
            return self._("No progress: each city has data for one year only; progress needs two years of the same "
                          "city.")
        return self._("No progress: no city reports the same data point in two different years, so no change can "
                      "be measured.")

    def progress_table(self) -> HTMLBlock:
        summary = self.comparison.progress_summary()
        if summary.empty:
            return HTMLBlock("")
        return self._block("progress", table=table_of(summary.reset_index(), band_column=None, lang=self.lang))

    def _scores_table(self, scores: pd.DataFrame, level: str) -> Table:
        """The radar's scores (cities × groups) as a table: the chart's text alternative."""
        lang = self.lang
        rows = [[(str(city), ""), *((("–" if pd.isna(v) else percent_text(float(rules.display_percent(float(v))), lang)),
                                     "") for v in row)] for city, row in scores.iterrows()]
        return Table([self._("City"), *(word(c, lang, group=True) for c in scores.columns)], rows, row_headers=True,
                     caption=self._("Score of each {level} on the data points the cities share",
                                    level=level_word(level, lang)))

    def _sentence(self, text: str) -> HTMLBlock:
        return self._block("sentence", text=text)
