"""The HTML of the comparison: Jinja templates in templates/comparison/, rendered with autoescape on.

Python prepares plain values (cell texts, band names, counts); the templates hold every tag, so a city name or a
file name can only ever reach the page escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import escape

from .. import rules
from ..display import band_style
from ..i18n import (
    DEFAULT_LANGUAGE,
    FSI,
    LRI,
    N_,
    PDI,
    Translator,
    decimal_sign,
    direction,
    group_text,
    localise,
)
from ..templating import render


class HTMLBlock(str):
    """Escaped HTML that JupyterLab and nbconvert display as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


#: Column headings shown in HTML (translated where shown); the CSV exports keep the machine names.
HEADINGS = {
    "city": N_("City"), "year": N_("Year"), "level": N_("Level"), "group": N_("Group"),
    "peer_group": N_("Peer group"), "score": N_("Score (%)"), "band": N_("Band"), "points": N_("Points"),
    "max_points": N_("Maximum points"), "kpis_total": N_("KPIs in the table"), "kpis_reported": N_("KPIs reported"),
    "kpis_scored": N_("KPIs scored"), "peers": N_("Cities in the group"), "shared_points": N_("Shared data points"),
    "peer_median": N_("Peer median (%)"), "vs_peers": N_("Difference from peers (points of %)"),
    "ranking_score": N_("Ranking score (%)"), "rank": N_("Rank"), "rank_low": N_("Best rank in the draws"),
    "rank_high": N_("Worst rank in the draws"), "rank_interval": N_("Rank interval"),
    "rank_median": N_("Median rank"), "missing_points": N_("Data points missing"), "note": N_("Reading"),
    "scored_share": N_("Share scored (%)"), "reason": N_("Reason"), "city_a": N_("City A"), "year_a": N_("Year A"),
    "city_b": N_("City B"), "year_b": N_("Year B"), "score_a": N_("Score of A (%)"), "score_b": N_("Score of B (%)"),
    "band_a": N_("Band of A"), "band_b": N_("Band of B"), "difference": N_("A minus B (points of %)"),
}
NOTHING = N_("Nothing to show.")
#: Words of the comparison's own vocabulary that reach a table or chart as values (bands, levels).
WORDS = (N_("not scored"), N_("Overall"), N_("unknown"))
#: Columns whose values are words of a vocabulary (translated), and columns of group names (the library's texts).
WORD_COLUMNS = frozenset({"band", "band_a", "band_b", "peer_group", "status"})
GROUP_COLUMNS = frozenset({"group"})
#: A level as a word inside a sentence.
LEVEL_WORDS = {"category": N_("category"), "sub_dimension": N_("sub-dimension"), "dimension": N_("dimension"),
               "overall": N_("overall")}


def heading(column: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """A column name as a reader sees it: `HEADINGS` (translated), a group or status name in `lang`, else the
    name with spaces and a capital."""
    name = str(column)
    if name in HEADINGS:
        return Translator(lang).gettext(HEADINGS[name])
    shown = word(name, lang, group=True)
    if shown != name:
        return shown[:1].upper() + shown[1:]
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def word(value: object, lang: str, group: bool = False) -> str:
    """A vocabulary word (band, status, size class) or, with `group`, a dimension/sub-dimension/category name in
    `lang`; anything else (a city's own words) as written. A band ('95+', '<33') keeps its order in Arabic."""
    text = str(value)
    if lang == DEFAULT_LANGUAGE:
        return text
    if text in rules.BANDS:
        return isolate(text, lang, ltr=True)
    translated = Translator(lang).gettext(text)
    return group_text(text, lang) if group and translated == text else translated


def isolate(text: str, lang: str, ltr: bool = False) -> str:
    """In a right-to-left language, `text` as a bidi isolate (left-to-right, or the direction of its first letter),
    so that '95+', '<33' or '84 %' are not reordered with the sentence around them; as written elsewhere."""
    if direction(lang) != "rtl":
        return text
    return f"{LRI if ltr else FSI}{text}{PDI}"


def level_word(level: str, lang: str = DEFAULT_LANGUAGE) -> str:
    return Translator(lang).gettext(LEVEL_WORDS.get(level, level.replace("_", "-")))


@dataclass(frozen=True)
class Table:
    """A table ready for the `table` macro: header, rows of (text, style) cells and the rows left out."""

    columns: list[str]
    rows: list[list[tuple[str, str]]]
    more: int = 0
    row_headers: bool = False  # the first cell of each row is a header (a city name)
    empty: str = NOTHING  # the sentence shown instead of a table without rows (in the report's language)
    caption: str = ""  # what the table shows, for screen readers and the printed page


def render_block(name: str, lang: str = DEFAULT_LANGUAGE, **context: object) -> HTMLBlock:
    """templates/comparison/<name>.html.j2 rendered with `context` in `lang` (autoescaped, see
    `kpis.templating`; `_` and `ngettext` translate)."""
    tr = Translator(lang).for_page()
    html = render("comparison", f"{name}.html.j2", band_style=band_style, _=tr.gettext, ngettext=tr.ngettext,
                  lang=lang, dir=direction(lang), **context)
    if lang == DEFAULT_LANGUAGE or not html:
        return HTMLBlock(html)
    # a block shown on its own (JupyterLab) says its language and direction too
    return HTMLBlock(f'<div lang="{escape(lang)}" dir="{direction(lang)}">{html}</div>')


def cell_text(value: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """A value as table text: nothing for a missing value, 4 significant digits for a float (the decimal sign of
    `lang`), a sentence in `lang`."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        text = f"{value:.4g}"
        return text.replace(".", decimal_sign(lang)) if lang != DEFAULT_LANGUAGE and "e" not in text else text
    return localise(value, lang)


def table_of(frame: pd.DataFrame, band_column: str | None = "band", max_rows: int = 200,
             band_columns: tuple[str, ...] = (), empty: str = "", lang: str = DEFAULT_LANGUAGE) -> Table:
    """The first `max_rows` rows of a frame as a `Table` with human headings, the band column(s) coloured, words
    and numbers in `lang`."""
    shown = frame.head(max_rows)
    styled = [col == band_column or col in band_columns for col in shown.columns]
    kinds = ["word" if col in WORD_COLUMNS else "group" if col in GROUP_COLUMNS else "" for col in shown.columns]
    rows = [[(_cell(value, kind, lang), band_style(value) if colour else "")
             for value, colour, kind in zip(row, styled, kinds, strict=True)]
            for row in shown.itertuples(index=False)]
    return Table([heading(c, lang) for c in shown.columns], rows, max(len(frame) - max_rows, 0),
                 empty=empty or Translator(lang).gettext(NOTHING))


def _cell(value: object, kind: str, lang: str) -> str:
    if kind and isinstance(value, str) and value:
        return word(value, lang, group=kind == "group")
    return cell_text(value, lang)


def band_table_of(bands: pd.DataFrame, lang: str = DEFAULT_LANGUAGE) -> Table:
    """A cities × groups frame of bands as a `Table` with the city as row header, every cell coloured."""
    rows = [[(str(city), "")] + [(word(band, lang) if isinstance(band, str) else "", band_style(band))
                                 for band in row]
            for city, row in zip(bands.index, bands.itertuples(index=False), strict=True)]
    return Table([Translator(lang).gettext("City"), *(word(c, lang, group=True) for c in bands.columns)], rows,
                 row_headers=True)
