"""The comparison's charts as SVG drawn from the data: band heat map, radar, ranking with intervals, coverage and
progress.

Like the city report's charts (`kpis.charts`), each is a few hundred SVG elements written straight from the tables
of the comparison, with its data kept as rows and every text from the data (city, group and KPI names) XML-escaped.
The browser lays out the text, so Arabic is shaped and put in reading order, and Chinese finds its font: the
labels can be in any of the six languages. matplotlib drew the same charts as PNG in ~0.3 s each (after ~1.3 s of
import) and shapes no Arabic.
"""

from __future__ import annotations

import math
from typing import Any

from .. import rules
from ..charts import FONT, Chart, _text, esc, text_width
from ..display import BAND_COLOURS
from ..i18n import DEFAULT_LANGUAGE, Translator, group_text
from .model import Comparison
from .progress import PROGRESS_COLOURS
from .rank import Ranking
from .sections import level_word, word

INK, GRID, MUTED = "#1f2933", "#d9dee3", "#52606d"
CITY_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
ROW = 16  # height of a city's row in the heat map, coverage, ranking and progress charts


def _short(text: object, most: int) -> str:
    text = str(text)
    return text if len(text) <= most else text[: most - 1] + "…"


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str = "") -> str:
    tip = f"<title>{esc(title)}</title>" if title else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" fill="{fill}">{tip}</rect>'


def _page(width: float, height: float, alt: str, body: list[str], lang: str) -> str:
    """The SVG element, sized by its viewBox; laid out left to right in every language (its texts are each
    shaped and ordered by the browser), named for screen readers."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'height="{height:.0f}" role="img" aria-label="{esc(alt)}" font-family="{FONT}" lang="{lang}" '
            f'direction="ltr" fill="{INK}" style="max-width:100%;height:auto"><title>{esc(alt)}</title>'
            + "".join(body) + "</svg>")


def _legend(items: list[tuple[str, str]], x: float, y: float, size: float = 10) -> tuple[list[str], float]:
    """Swatches and labels in one column from (x, y); the SVG and the height it takes."""
    out = []
    for i, (colour, label) in enumerate(items):
        out += [_rect(x, y + i * 16 - 5, 14, 10, colour), _text(x + 19, y + i * 16, label, size)]
    return out, 16 * len(items)


def _title(width: float, text: str) -> str:
    return _text(width / 2, 14, text, 12, "middle", ' font-weight="bold"')


def _capped(total: int, cap: int, lang: str) -> str:
    """' (first 60 of 1000 rows)' when rows are capped, else ''."""
    _ = Translator(lang)
    return " " + _("(first {cap} of {total} rows)", cap=cap, total=total) if total > cap else ""


def _empty(message: str, lang: str) -> Chart:
    return Chart(_page(420, 40, message, [_text(210, 20, message, 12, "middle")], lang), message, [])


def plot_heatmap(comp: Comparison, level: str = "category", max_cities: int = 60,
                 lang: str = DEFAULT_LANGUAGE) -> Chart:
    """Cities × groups coloured by band (latest year of each); at most `max_cities` rows, and the title says so."""
    _ = Translator(lang)
    table = comp.table(level, "band")
    bands = table.head(max_cities)
    columns = [_short(word(c, lang, group=True), 28) for c in bands.columns]
    cities = [_short(c, 30) for c in bands.index]
    left = 10 + max((text_width(c, 10) for c in cities), default=0)
    top = 30 + max((text_width(c, 9) for c in columns), default=0) * 0.71  # labels at 45°
    cell = max(14.0, min(26.0, 620 / max(len(columns), 1)))
    keys = [*rules.BANDS[::-1], "not scored"]
    legend, legend_h = _legend([(BAND_COLOURS[k], word(k, lang)) for k in keys], left + cell * len(columns) + 16,
                               top + 6)
    width = left + cell * len(columns) + 130
    height = max(top + ROW * len(cities), top + legend_h) + 12
    body = [_title(width, _("Bands by {level}", level=level_word(level, lang)) + _capped(len(table), max_cities, lang))]
    for j, name in enumerate(columns):
        x = left + (j + 0.5) * cell
        body.append(_text(x, top - 6, name, 9, "start", f' transform="rotate(-45 {x:.1f} {top - 6:.1f})"'))
    rows = []
    for i, (city, row) in enumerate(zip(cities, bands.itertuples(index=False), strict=True)):
        y = top + i * ROW
        body.append(_text(left - 6, y + ROW / 2, city, 10, "end"))
        for j, band in enumerate(row):
            shown = band if band in rules.BANDS else "not scored"
            body.append(_rect(left + j * cell + 0.5, y + 0.5, cell - 1, ROW - 1, BAND_COLOURS[shown],
                              f"{city} · {columns[j]}: {word(shown, lang)}"))
        rows.append({"city": str(bands.index[i]), **{str(c): b for c, b in zip(bands.columns, row, strict=True)}})
    body += legend
    alt = _("Band of every city in each {level}", level=level_word(level, lang))
    return Chart(_page(width, height, alt, body, lang), alt, rows)


def plot_radar(scores: Any, level: str = "sub_dimension", shared_points: int = 0,
               lang: str = DEFAULT_LANGUAGE) -> Chart:
    """Scores (cities × groups, in %) of a few cities overlaid on one radar; the legend sits below the chart."""
    _ = Translator(lang)
    n = scores.shape[1]
    cx, cy, radius, width = 300.0, 230.0, 150.0, 600.0
    angles = [2 * math.pi * k / n for k in range(n)]
    body = [_title(width, _("Score by {level} (% of maximum points)", level=level_word(level, lang)))]
    if shared_points:
        body.append(_text(width / 2, 32, _("on the {points} data points they all score", points=shared_points), 10,
                          "middle"))
    for ring in (25, 50, 75, 100):
        pts = " ".join(f"{cx + radius * ring / 100 * math.sin(t):.1f},{cy - radius * ring / 100 * math.cos(t):.1f}"
                       for t in angles)
        body.append(f'<polygon points="{pts}" fill="none" stroke="{GRID}"/>')
        body.append(_text(cx + 3, cy - radius * ring / 100, f"{ring}", 8, "start", f' fill="{MUTED}"'))
    for t, name in zip(angles, scores.columns, strict=True):
        x, y = cx + radius * math.sin(t), cy - radius * math.cos(t)
        body.append(f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        anchor = "middle" if abs(math.sin(t)) < 0.3 else "start" if math.sin(t) > 0 else "end"
        lx, ly = cx + (radius + 14) * math.sin(t), cy - (radius + 14) * math.cos(t)
        body.append(_text(lx, ly, _short(group_text(str(name), lang), 34), 9, anchor))
    for k, city in enumerate(scores.index):
        colour = CITY_COLOURS[k % len(CITY_COLOURS)]
        vals = scores.loc[city].fillna(0).to_numpy(dtype=float)
        pts = " ".join(f"{cx + radius * v / 100 * math.sin(t):.1f},{cy - radius * v / 100 * math.cos(t):.1f}"
                       for t, v in zip(angles, vals, strict=True))
        body.append(f'<polygon points="{pts}" fill="{colour}" fill-opacity="0.08" stroke="{colour}" '
                    f'stroke-width="2"/>')
        lx, ly = 40 + (k % 3) * 180, cy + radius + 40 + (k // 3) * 18
        body += [_rect(lx, ly - 5, 14, 10, colour), _text(lx + 19, ly, _short(city, 26), 10)]
    height = cy + radius + 50 + 18 * ((len(scores.index) - 1) // 3 + 1)
    alt = _("Radar of {level} scores of {cities}", level=level_word(level, lang),
            cities=", ".join(str(c) for c in scores.index))
    rows = [{"city": str(c), **{str(g): v for g, v in scores.loc[c].items()}} for c in scores.index]
    return Chart(_page(width, height, alt, body, lang), alt, rows)


def plot_ranking(ranking: Ranking, group: str | None = None, max_cities: int = 40,
                 lang: str = DEFAULT_LANGUAGE) -> Chart:
    """Base rank (dot) and rank interval (bar) of each city."""
    _ = Translator(lang)
    tab = ranking.table
    if tab.empty:
        return _empty(_("no city could be ranked"), lang)
    tab = tab[tab["group"] == (group or tab["group"].iloc[0])].head(max_cities)
    cities = [_short(c, 30) for c in tab["city"]]
    left, top, plot_w = 10 + max(text_width(c, 10) for c in cities), 34.0, 420.0
    worst = max(float(tab["rank_high"].max()), 2.0)
    def x_of(rank: float) -> float:
        return left + 10 + (rank - 1) / (worst - 1) * (plot_w - 20)
    width, height = left + plot_w + 20, top + ROW * len(cities) + 70
    body = [_title(width, _("Ranking with intervals over {draws} draws", draws=ranking.draws))]
    for tick in _ticks(worst):
        x = x_of(tick)
        body += [f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + ROW * len(cities):.1f}" '
                 f'stroke="{GRID}"/>', _text(x, top + ROW * len(cities) + 10, f"{tick:g}", 9, "middle")]
    body.append(_text(left + plot_w / 2, top + ROW * len(cities) + 26, _("rank (1 = best)"), 10, "middle"))
    rows = []
    for i, (city, rec) in enumerate(zip(cities, tab.itertuples(index=False), strict=True)):
        y = top + i * ROW + ROW / 2
        body += [_text(left - 6, y, city, 10, "end"),
                 f'<line x1="{x_of(rec.rank_low):.1f}" y1="{y:.1f}" x2="{x_of(rec.rank_high):.1f}" y2="{y:.1f}" '
                 f'stroke="#4575b4" stroke-opacity="0.5" stroke-width="6" stroke-linecap="round"/>',
                 f'<circle cx="{x_of(rec.rank):.1f}" cy="{y:.1f}" r="5" fill="{BAND_COLOURS.get(rec.band, "#e0e0e0")}" '
                 f'stroke="{INK}"><title>{esc(city)}: {rec.rank:g} ({rec.rank_low:g}–{rec.rank_high:g})</title>'
                 "</circle>"]
        rows.append({"city": str(rec.city), "rank": rec.rank, "rank_low": rec.rank_low, "rank_high": rec.rank_high})
    ly = top + ROW * len(cities) + 50
    body += [f'<line x1="{left:.1f}" y1="{ly}" x2="{left + 22:.1f}" y2="{ly}" stroke="#4575b4" stroke-opacity="0.5" '
             'stroke-width="6"/>', _text(left + 28, ly, _("rank interval"), 10),
             f'<circle cx="{left + 200:.1f}" cy="{ly}" r="5" fill="#ffffff" stroke="{INK}"/>',
             _text(left + 210, ly, _("rank (U4SSC method)"), 10)]
    alt = _("Rank and rank interval of each city")
    return Chart(_page(width, height, alt, body, lang), alt, rows)


def _ticks(top: float) -> list[float]:
    """About five round rank ticks from 1 to `top`."""
    step = max(1, int(10 ** math.floor(math.log10(max(top, 1) / 5))) * (1 if top / 5 < 2.5 else 2 if top / 5 < 5
                                                                         else 5))
    return [1.0, *(float(t) for t in range(step, int(top) + 1, step) if t > 1)]


def plot_coverage(comp: Comparison, max_cities: int = 60, lang: str = DEFAULT_LANGUAGE) -> Chart:
    """City-year × KPI: reported (dark) or not. KPIs are labelled by code; at most `max_cities` rows, said in the
    title."""
    _ = Translator(lang)
    full = comp.coverage
    cov = full.head(max_cities)
    labels = [_short(f"{c} {y}", 32) for c, y in cov.index]
    codes = [str(c) for c in cov.columns]
    left, cell = 10 + max((text_width(t, 9) for t in labels), default=0), 7.0
    top = 50.0
    width, height = left + cell * len(codes) + 10, top + 11 * len(labels) + 70
    body = [_title(width, _("KPIs reported (dark) by city and year") + _capped(len(full), max_cities, lang))]
    dims = [c.split(":")[0] for c in codes]  # EC / EN / SC: a line and a name over each dimension
    names = {"EC": "Economy", "EN": "Environment", "SC": "Society and Culture"}
    starts = [i for i, d in enumerate(dims) if i == 0 or d != dims[i - 1]]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(dims)
        x0 = left + start * cell
        body += [f'<line x1="{x0:.1f}" y1="{top - 14}" x2="{x0:.1f}" y2="{top + 11 * len(labels):.1f}" '
                 'stroke="#0b4f6c"/>',
                 _text(left + (start + end) / 2 * cell, top - 8, group_text(names.get(dims[start], dims[start]), lang),
                       10, "middle", ' fill="#0b4f6c"')]
    reported = cov.to_numpy(dtype=bool)
    for i, label in enumerate(labels):
        y = top + i * 11
        body.append(_text(left - 5, y + 5, label, 9, "end"))
        body += [_rect(left + j * cell + 0.5, y + 0.5, cell - 1, 10, "#3e4c59" if reported[i, j] else "#eef1f4")
                 for j in range(len(codes))]
    y = top + 11 * len(labels) + 4
    body += [_text(left + (j + 0.5) * cell, y, code.replace(" ", ""), 5, "end",
                   f' transform="rotate(-90 {left + (j + 0.5) * cell:.1f} {y:.1f})"') for j, code in enumerate(codes)]
    alt = _("KPIs reported by each city and year")
    rows = [{"city": str(c), "year": int(yr), "kpis_reported": int(reported[i].sum())}
            for i, (c, yr) in enumerate(cov.index)]
    return Chart(_page(width, height, alt, body, lang), alt, rows)


def plot_progress(comp: Comparison, max_cities: int = 40, lang: str = DEFAULT_LANGUAGE) -> Chart:
    """Stacked count of data points per progress status, per city with at least two years."""
    _ = Translator(lang)
    summ = comp.progress_summary().head(max_cities)
    if summ.empty:
        return _empty(_("no city has two years of data"), lang)
    cities = [_short(c, 30) for c in summ.index]
    left, top, plot_w = 10 + max(text_width(c, 10) for c in cities), 34.0, 400.0
    most = max(float(summ.sum(axis=1).max()), 1.0)
    legend, legend_h = _legend([(PROGRESS_COLOURS[s], word(s, lang)) for s in summ.columns], left + plot_w + 16,
                               top + 6)
    width = left + plot_w + 16 + 20 + max(text_width(word(s, lang), 10) for s in summ.columns)
    height = max(top + ROW * len(cities) + 40, top + legend_h + 10)
    body = [_title(width, _("Progress between the first and the latest year (Open SDG method)"))]
    counts = summ.to_numpy(dtype=float)
    for i, city in enumerate(cities):
        y, x = top + i * ROW, left
        body.append(_text(left - 6, y + ROW / 2, city, 10, "end"))
        for status, count in zip(summ.columns, counts[i], strict=True):
            w = count / most * plot_w
            body.append(_rect(x, y + 2, w, ROW - 4, PROGRESS_COLOURS[status],
                              f"{city} · {word(status, lang)}: {count:g}"))
            x += w
    axis_y = top + ROW * len(cities) + 8
    body += [_text(left, axis_y, "0", 9, "middle"), _text(left + plot_w, axis_y, f"{most:g}", 9, "middle"),
             _text(left + plot_w / 2, axis_y + 16, _("data points"), 10, "middle")]
    body += legend
    alt = _("Progress status counts per city")
    rows = [{"city": str(c), **{str(s): int(v) for s, v in zip(summ.columns, counts[i], strict=True)}}
            for i, c in enumerate(summ.index)]
    return Chart(_page(width, height, alt, body, lang), alt, rows)

