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


@dataclass(frozen=True)
class Table:
    """A table ready for the `table` macro: header, rows of (text, style) cells and the rows left out."""

    columns: list[str]
    rows: list[list[tuple[str, str]]]
    more: int = 0
    row_headers: bool = False  # the first cell of each row is a header (a city name)


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


def table_of(frame: pd.DataFrame, band_column: str | None = "band", max_rows: int = 200) -> Table:
    """The first `max_rows` rows of a frame as a `Table`, the band column coloured."""
    shown = frame.head(max_rows)
    styled = [col == band_column for col in shown.columns]
    rows = [[(cell_text(value), band_style(value) if colour else "") for value, colour in zip(row, styled, strict=True)]
            for row in shown.itertuples(index=False)]
    return Table([str(c) for c in shown.columns], rows, max(len(frame) - max_rows, 0))


def band_table_of(bands: pd.DataFrame) -> Table:
    """A cities × groups frame of bands as a `Table` with the city as row header, every cell coloured."""
    rows = [[(str(city), "")] + [(band if isinstance(band, str) else "", band_style(band)) for band in row]
            for city, row in zip(bands.index, bands.itertuples(index=False), strict=True)]
    return Table(["city", *(str(c) for c in bands.columns)], rows, row_headers=True)
