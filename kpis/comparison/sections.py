"""The HTML of the comparison: Jinja templates in templates/comparison/, rendered with autoescape on.

Python prepares plain values (cell texts, band names, counts); the templates hold every tag, so a city name or a
file name can only ever reach the page escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..display import band_style
from ..templating import render


class HTMLBlock(str):
    """Escaped HTML that JupyterLab and nbconvert display as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


#: Column headings shown in HTML; the CSV exports keep the machine names.
HEADINGS = {
    "city": "City", "year": "Year", "level": "Level", "group": "Group", "peer_group": "Peer group",
    "score": "Score (%)", "band": "Band", "points": "Points", "max_points": "Maximum points",
    "kpis_total": "KPIs in the table", "kpis_reported": "KPIs reported", "kpis_scored": "KPIs scored",
    "peers": "Cities in the group", "shared_points": "Shared data points", "peer_median": "Peer median (%)",
    "vs_peers": "Difference from peers (points of %)", "ranking_score": "Ranking score (%)", "rank": "Rank",
    "rank_low": "Best rank in the draws", "rank_high": "Worst rank in the draws", "rank_interval": "Rank interval",
    "rank_median": "Median rank", "missing_points": "Data points missing", "note": "Reading",
    "scored_share": "Share scored (%)", "reason": "Reason", "city_a": "City A", "year_a": "Year A",
    "city_b": "City B", "year_b": "Year B", "score_a": "Score of A (%)", "score_b": "Score of B (%)",
    "band_a": "Band of A", "band_b": "Band of B", "difference": "A minus B (points of %)",
}


def heading(column: object) -> str:
    """A column name as a reader sees it: `HEADINGS`, else the name with spaces and a capital."""
    name = str(column)
    if name in HEADINGS:
        return HEADINGS[name]
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Table:
    """A table ready for the `table` macro: header, rows of (text, style) cells and the rows left out."""

    columns: list[str]
    rows: list[list[tuple[str, str]]]
    more: int = 0
    row_headers: bool = False  # the first cell of each row is a header (a city name)
    empty: str = "Nothing to show."  # the sentence shown instead of a table without rows
    caption: str = ""  # what the table shows, for screen readers and the printed page


def render_block(name: str, **context: object) -> HTMLBlock:
    """templates/comparison/<name>.html.j2 rendered with `context` (autoescaped, see `kpis.templating`)."""
    return HTMLBlock(render("comparison", f"{name}.html.j2", band_style=band_style, **context))


def cell_text(value: object) -> str:
    """A value as table text: nothing for a missing value, 4 significant digits for a float."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table_of(frame: pd.DataFrame, band_column: str | None = "band", max_rows: int = 200,
             band_columns: tuple[str, ...] = (), empty: str = "Nothing to show.") -> Table:
    """The first `max_rows` rows of a frame as a `Table` with human headings, the band column(s) coloured."""
    shown = frame.head(max_rows)
    styled = [col == band_column or col in band_columns for col in shown.columns]
    rows = [[(cell_text(value), band_style(value) if colour else "") for value, colour in zip(row, styled, strict=True)]
            for row in shown.itertuples(index=False)]
    return Table([heading(c) for c in shown.columns], rows, max(len(frame) - max_rows, 0), empty=empty)


def band_table_of(bands: pd.DataFrame) -> Table:
    """A cities × groups frame of bands as a `Table` with the city as row header, every cell coloured."""
    rows = [[(str(city), "")] + [(band if isinstance(band, str) else "", band_style(band)) for band in row]
            for city, row in zip(bands.index, bands.itertuples(index=False), strict=True)]
    return Table(["City", *(str(c) for c in bands.columns)], rows, row_headers=True)
