"""The report's charts as SVG drawn from the data: the benchmark wheel, the sub-dimension bars and the band counts.

matplotlib took ~0.8 s per city for three charts (and ~1 s to import); these are a few hundred SVG elements
written straight from the `summary` and `kpis` tables of one city-year, in milliseconds. Each chart keeps its data
(`Chart.table`, one dict per row) so a report can show it as a table, and says it in words in its <title> and
<desc>. Every text from the data (city, category and sub-dimension names) is XML-escaped. Band edges and labels
come from `kpis.rules`, colours from `kpis.display`.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from typing import Any

import pandas as pd

from . import rules
from .display import BAND_COLOURS
from .i18n import DEFAULT_LANGUAGE, N_, direction, group_text, translator

#: The band edges as the captions say them: '33, 66 and 95'.
EDGE_WORDS = {"edges": ", ".join(f"{e:g}" for e in rules.BAND_EDGES[:-1]), "last": f"{rules.BAND_EDGES[-1]:g}"}
EDGES_TEXT = N_("{edges} and {last}")
EDGE_COLOUR = "#9aa5b1"
NOT_SCORED = BAND_COLOURS["not scored"]
BACKGROUND = "#f4f6f8"
FONT = "DejaVu Sans, Noto Sans, Noto Sans Arabic, Noto Sans CJK SC, Helvetica, Arial, sans-serif"

# Sub-dimension ring: one hue per dimension (blues, browns, purples), none of them a band colour.
SUB_DIMENSION_COLOURS = {
    "ICT": "#1f4e79", "Productivity": "#2e75b6", "Infrastructure": "#9dc3e6",
    "Environment": "#7f6000", "Energy": "#c9a227",
    "Education, Health and Culture": "#5b2c6f", "Safety, Housing and Social Inclusion": "#b48ccf",
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: object) -> str:
    """Text for SVG content or an attribute: XML-escaped, and without the characters XML 1.0 forbids."""
    return html.escape(_NOT_XML.sub("", str(text)), quote=True)


class Chart:
    """A finished chart: the SVG text, its text alternative and its data as rows (for a table)."""

    def __init__(self, svg: str, alt: str, table: list[dict[str, Any]]):
        self.svg, self.alt, self.table = svg, alt, table

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"image/svg+xml": self.svg}, {"image/svg+xml": {"ssc_alt": self.alt}}

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.table)


def _svg(width: float, height: float, alt: str, desc: str, body: list[str]) -> str:
    """The SVG element: sized by its viewBox (scales to the page), named for screen readers; its geometry is
    left-to-right in every language (each text element carries its own direction, `_text`)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" width="{width:g}" '
        f'height="{height:g}" role="img" aria-label="{esc(alt)}" font-family="{FONT}" direction="ltr" '
        f'style="max-width:100%;height:auto;direction:ltr">'
        f"<title>{esc(alt)}</title><desc>{esc(desc)}</desc>" + "".join(body) + "</svg>"
    )


#: A text anchored at its left edge ("start" in left-to-right text) is anchored at its "end" in right-to-left text.
_MIRRORED = {"start": "end", "end": "start", "middle": "middle"}


def _text(x: float, y: float, text: object, size: float = 12, anchor: str = "start", extra: str = "",
          rtl: bool = False) -> str:
    """A label; `anchor` says where x is in left-to-right terms. Right-to-left text (Arabic) is laid out in its
    own direction (the browser shapes and orders it) with the anchor mirrored, so it sits where an English label
    would."""
    if rtl:
        anchor, extra = _MIRRORED[anchor], f' direction="rtl" unicode-bidi="embed"{extra}'
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" '
            f'dominant-baseline="central"{extra}>{esc(text)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" fill="{fill}"{extra}/>'


def ring_colour(sub_dimension: str, i: int) -> str:
    return SUB_DIMENSION_COLOURS.get(sub_dimension, ["#607d8b", "#90a4ae", "#455a64"][i % 3])


def _score(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out


def _score_label(score: float, lang: str = DEFAULT_LANGUAGE) -> str:
    _ = translator(lang)
    return _("not scored") if math.isnan(score) else f"{rules.display_percent(score)} %"


def _band(band: object, score: float) -> str:
    return band if isinstance(band, str) and band in BAND_COLOURS and not math.isnan(score) else "not scored"


def _sector(cx: float, cy: float, r0: float, r1: float, t0: float, t1: float) -> str:
    """An annular sector between radii r0 < r1 and angles t0 < t1 (radians, clockwise from north)."""
    def pt(r: float, t: float) -> str:
        return f"{cx + r * math.sin(t):.1f},{cy - r * math.cos(t):.1f}"
    large = 1 if t1 - t0 > math.pi else 0
    return (f"M{pt(r1, t0)}A{r1:.1f},{r1:.1f} 0 {large} 1 {pt(r1, t1)}"
            f"L{pt(r0, t1)}A{r0:.1f},{r0:.1f} 0 {large} 0 {pt(r0, t0)}Z")


def _legend(items: list[tuple[str, str]], x0: float, y: float, columns: int, col_width: float,
            rtl: bool = False) -> list[str]:
    out = []
    for i, (colour, label) in enumerate(items):
        x, yy = x0 + (i % columns) * col_width, y + (i // columns) * 18
        out += [_rect(x, yy - 6, 22, 12, colour), _text(x + 28, yy, label, 12, rtl=rtl)]
    return out


def benchmark_wheel(summary: pd.DataFrame, lang: str = DEFAULT_LANGUAGE) -> Chart:
    """Category scores around a wheel, grouped by sub-dimension, coloured by band (as U4SSC's snapshot); texts
    in `lang`. Long because it lays out wedges, ring, labels and legend in one coordinate system."""
    _, rtl = translator(lang), direction(lang) == "rtl"
    cats = summary[summary["level"] == "category"].reset_index(drop=True)
    n = max(len(cats), 1)
    width, cx, cy, hole, unit = 980.0, 490.0, 370.0, 52.0, 2.1  # unit: pixels per percentage point
    step = 2 * math.pi / n
    body = [f'<circle cx="{cx}" cy="{cy}" r="{hole + 100 * unit:.1f}" fill="white"/>']
    subs = list(dict.fromkeys(cats["sub_dimension"].astype(str)))
    table, wedges, labels = [], [], []
    for i, row in enumerate(cats.itertuples(index=False)):
        t = (i + 0.5) * step
        t0, t1 = t - step * 0.47, t + step * 0.47
        score = _score(row.score)
        band = _band(row.band, score)
        table.append({"sub_dimension": str(row.sub_dimension), "category": str(row.category),
                      "score": None if math.isnan(score) else score, "band": band})
        wedges.append(f'<path d="{_sector(cx, cy, hole, hole + 100 * unit, t0, t1)}" fill="{BACKGROUND}" '
                      f'stroke="white"/>')
        if not math.isnan(score) and score > 0:  # an unscored category keeps only its pale background wedge
            wedges.append(f'<path d="{_sector(cx, cy, hole, hole + min(score, 100) * unit, t0, t1)}" '
                          f'fill="{BAND_COLOURS[band]}" stroke="white"/>')
        ring = ring_colour(str(row.sub_dimension), subs.index(str(row.sub_dimension)))
        wedges.append(f'<path d="{_sector(cx, cy, hole + 103 * unit, hole + 110 * unit, i * step, (i + 1) * step)}"'
                      f' fill="{ring}" stroke="white"/>')
        deg = math.degrees(t)
        anchor = "start" if 5 < deg < 175 else "end" if 185 < deg < 355 else "middle"
        r = hole + 117 * unit
        x, y = cx + r * math.sin(t), cy - r * math.cos(t)
        labels += [_text(x, y - 7, group_text(str(row.category), lang), 11, anchor, rtl=rtl),
                   _text(x, y + 7, _score_label(score, lang), 11, anchor, rtl=rtl and math.isnan(score))]
    body += wedges
    body += [f'<circle cx="{cx}" cy="{cy}" r="{hole + e * unit:.1f}" fill="none" stroke="{EDGE_COLOUR}" '
             f'stroke-width="0.8" stroke-dasharray="1.5 3"/>' for e in rules.BAND_EDGES]
    body += [f'<circle cx="{cx}" cy="{cy}" r="{hole:.1f}" fill="white" stroke="#333" stroke-width="1"/>']
    body += labels
    legend_y = cy + hole + 130 * unit + 10
    body.append(_text(cx, legend_y, _("outer ring: sub-dimension; dotted circles: {edges} %",
                                      edges=_(EDGES_TEXT, **EDGE_WORDS)), 12, "middle", rtl=rtl))
    body += _legend([(ring_colour(s, i), group_text(s, lang)) for i, s in enumerate(subs)], cx - 340,
                    legend_y + 22, 3, 240, rtl)
    height = legend_y + 22 + 18 * math.ceil(len(subs) / 3) + 6
    alt = _("Benchmark wheel: score of every category, coloured by band")
    desc = "; ".join(f"{group_text(str(r['category']), lang)} ({group_text(str(r['sub_dimension']), lang)}): "
                     f"{_score_label(_score(r['score']), lang)}" for r in table)
    return Chart(_svg(width, height, alt, desc, body), alt, table)


def _ticks(top: float) -> list[float]:
    """Round axis ticks from 0 to at least `top` (about five of them)."""
    raw = max(top, 1) / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if step < 1:
        step = 1
    return [i * step for i in range(int(math.ceil(top / step)) + 1)]


def text_width(text: str, size: float) -> float:
    """Roughly how wide a label of `size` px is drawn (no font metrics: 0.6 em a character, 1 em for a wide one:
    Chinese characters and full-width signs)."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text) * size


def _label_width(labels: list[str], size: float) -> float:
    """A generous width for the longest of the labels."""
    return max((text_width(s, size) for s in labels), default=0)


def subdimension_bars(summary: pd.DataFrame, lang: str = DEFAULT_LANGUAGE) -> Chart:
    """Each sub-dimension's score as a bar, coloured by band, with the band edges (texts in `lang`)."""
    _, rtl = translator(lang), direction(lang) == "rtl"
    subs = summary[summary["level"] == "sub_dimension"].reset_index(drop=True)
    names = [group_text(str(s), lang) for s in subs["sub_dimension"]]
    left = min(_label_width(names, 13) + 20, 360)
    width, right, row_h, top = 860.0, 40.0, 40.0, 14.0
    scale = (width - left - right) / 110
    plot_h = row_h * len(subs)
    body, table = [], []
    for i, (name, raw, band) in enumerate(zip(names, subs["score"], subs["band"], strict=True)):
        score = _score(raw)
        y = top + i * row_h
        table.append({"sub_dimension": name, "score": None if math.isnan(score) else score,
                      "band": _band(band, score)})
        shown = 0.0 if math.isnan(score) else min(max(score, 0.0), 110.0)
        body += [_rect(left, y + 6, shown * scale, row_h - 12, BAND_COLOURS[_band(band, score)]),
                 _text(left - 8, y + row_h / 2, name, 13, "end", rtl=rtl),
                 _text(left + shown * scale + 6, y + row_h / 2, _score_label(score, lang), 12,
                       rtl=rtl and math.isnan(score))]  # a figure reads left to right; "not scored" in its script
    body += _axis(left, top, plot_h, scale, [0, 20, 40, 60, 80, 100], 110)
    body += [f'<line x1="{left + e * scale:.1f}" y1="{top}" x2="{left + e * scale:.1f}" y2="{top + plot_h}" '
             f'stroke="{EDGE_COLOUR}" stroke-dasharray="2 3"/>' for e in rules.BAND_EDGES]
    body.append(_text(left + 55 * scale, top + plot_h + 44, _("score: points earned ÷ points possible (%)"), 13,
                      "middle", rtl=rtl))
    alt = _("Score of each sub-dimension with the band edges at {edges} %", edges=_(EDGES_TEXT, **EDGE_WORDS))
    desc = "; ".join(f"{r['sub_dimension']}: {_score_label(_score(r['score']), lang)}" for r in table)
    return Chart(_svg(width, top + plot_h + 62, alt, desc, body), alt, table)


def _axis(left: float, top: float, plot_h: float, scale: float, ticks: list[float], span: float) -> list[str]:
    """A bottom axis with ticks and numbers, and the left axis line."""
    y = top + plot_h
    out = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y}" stroke="#222"/>',
           f'<line x1="{left}" y1="{y}" x2="{left + span * scale:.1f}" y2="{y}" stroke="#222"/>']
    for t in ticks:
        x = left + t * scale
        out += [f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" stroke="#222"/>',
                _text(x, y + 16, f"{t:g}", 12, "middle")]
    return out


def band_counts(kpis: pd.DataFrame, dimensions: list[str], lang: str = DEFAULT_LANGUAGE) -> Chart:
    """How many scored data points fall in each band, one stacked bar per dimension (texts in `lang`)."""
    _, rtl = translator(lang), direction(lang) == "rtl"
    counts = (kpis[kpis["scored"]].groupby(["dimension", "band"], observed=True).size().unstack(fill_value=0)
              .reindex(index=dimensions, columns=list(rules.BANDS), fill_value=0))
    names = [group_text(str(d), lang) for d in counts.index]
    left = min(_label_width(names, 13) + 20, 360)
    width, right, row_h, top = 860.0, 30.0, 42.0, 44.0
    span = max(float(counts.sum(axis=1).max()) if len(counts) else 0.0, 1.0)
    ticks = _ticks(span)
    scale = (width - left - right) / ticks[-1]
    body = _legend([(BAND_COLOURS[b], f"{b} %") for b in rules.BANDS], width / 2 - 220, 16, 4, 115)
    table = []
    for i, (name, row) in enumerate(zip(names, counts.itertuples(index=False), strict=True)):
        y, x = top + i * row_h, left
        table.append({"dimension": name, **{b: int(v) for b, v in zip(rules.BANDS, row, strict=True)}})
        for band, v in zip(rules.BANDS, row, strict=True):
            body.append(_rect(x, y + 6, v * scale, row_h - 12, BAND_COLOURS[band]))
            x += v * scale
        body.append(_text(left - 8, y + row_h / 2, name, 13, "end", rtl=rtl))
    plot_h = row_h * len(names)
    body += _axis(left, top, plot_h, scale, ticks, ticks[-1])
    body.append(_text(left + ticks[-1] * scale / 2, top + plot_h + 40, _("scored data points"), 13, "middle",
                      rtl=rtl))
    alt = _("Number of scored data points in each band, per dimension")
    desc = "; ".join(f"{r['dimension']}: " + ", ".join(_("{n} at {band} %", n=r[b], band=b) for b in rules.BANDS)
                     for r in table)
    return Chart(_svg(width, top + plot_h + 56, alt, desc, body), alt, table)
