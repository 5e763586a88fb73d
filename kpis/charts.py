"""The report's charts as finished PNG images: the benchmark wheel, the sub-dimension bars and the band counts.

Figures are built with matplotlib's object API (no pyplot state, no backend to choose, nothing left open), from the
`summary` and `kpis` tables of one city-year. Band edges and labels come from `kpis.rules`, colours from
`kpis.display`. `kpis.report` imports this module on the first chart, since matplotlib is slow to import.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import rules
from .display import BAND_COLOURS, PLAIN_TEXT

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.projections.polar import PolarAxes

#: The band edges as the captions say them: '33, 66 and 95'.
EDGES_TEXT = ", ".join(f"{e:g}" for e in rules.BAND_EDGES[:-1]) + f" and {rules.BAND_EDGES[-1]:g}"
EDGE_COLOUR = "#9aa5b1"
NOT_SCORED = BAND_COLOURS["not scored"]

# Sub-dimension ring: one hue per dimension (blues, browns, purples), none of them a band colour.
SUB_DIMENSION_COLOURS = {
    "ICT": "#1f4e79", "Productivity": "#2e75b6", "Infrastructure": "#9dc3e6",
    "Environment": "#7f6000", "Energy": "#c9a227",
    "Education, Health and Culture": "#5b2c6f", "Safety, Housing and Social Inclusion": "#b48ccf",
}


class PNGChart:
    """A finished chart as PNG bytes (no live figure left behind, so nothing is shown twice)."""

    def __init__(self, png: bytes, alt: str):
        self.png, self.alt = png, alt

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"image/png": self.png}, {"image/png": {"ssc_alt": self.alt}}


def _png(fig: Figure, alt: str, dpi: int = 100) -> PNGChart:
    """The finished figure as a chart. Margins are set by each chart: bbox_inches='tight' would draw every
    figure twice (~40 % of the chart time in a batch)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return PNGChart(buf.getvalue(), alt)


def ring_colour(sub_dimension: str, i: int) -> str:
    return SUB_DIMENSION_COLOURS.get(sub_dimension, ["#607d8b", "#90a4ae", "#455a64"][i % 3])


def _score_label(score: float) -> str:
    return "not scored" if math.isnan(score) else f"{rules.display_percent(score)} %"


@rc_context(PLAIN_TEXT)  # labels are drawn as given: no mathtext
def benchmark_wheel(summary: pd.DataFrame) -> PNGChart:
    """Category scores around a wheel, grouped by sub-dimension, coloured by band (as U4SSC's snapshot)."""
    cats = summary[summary["level"] == "category"].reset_index(drop=True)
    n = len(cats)
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False) + np.pi / n
    width = 2 * np.pi / n * 0.94
    scores = cats["score"].astype(float)
    unscored = scores.isna().to_numpy()
    colours = [NOT_SCORED if miss else BAND_COLOURS.get(b, NOT_SCORED)
               for b, miss in zip(cats["band"], unscored, strict=True)]
    fig = Figure(figsize=(9.6, 8.6))
    ax = cast("PolarAxes", fig.add_axes((0.18, 0.15, 0.64, 0.72), projection="polar"))
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_rorigin(-25)
    ax.bar(theta, 100, width=width, color="#f4f6f8", edgecolor="white")
    # an unscored category keeps only the pale background wedge: a full grey bar would read as a result
    ax.bar(theta, np.where(unscored, 0, scores.fillna(0)), width=width, color=colours, edgecolor="white",
           linewidth=1)
    subs = list(dict.fromkeys(cats["sub_dimension"]))
    for i, sub in enumerate(subs):
        idx = np.flatnonzero(cats["sub_dimension"].to_numpy() == sub)
        ax.bar(theta[idx], 7, bottom=103, width=2 * np.pi / n, color=ring_colour(sub, i), edgecolor="white")
    for t, name, sc in zip(theta, cats["category"], scores, strict=True):
        deg = np.degrees(t)
        ha = "left" if 5 < deg < 175 else "right" if 185 < deg < 355 else "center"
        ax.text(t, 118, f"{name}\n{_score_label(sc)}", ha=ha, va="center", fontsize=7.5, linespacing=1.1)
    for edge in rules.BAND_EDGES:
        ax.plot(np.linspace(0, 2 * np.pi, 200), [edge] * 200, color=EDGE_COLOUR, linewidth=0.6, linestyle=":")
    ax.set_ylim(0, 112)
    ax.set_yticks([])
    ax.set_xticks([])
    ax.spines["polar"].set_visible(False)
    ax.grid(False)
    handles = [Rectangle((0, 0), 1, 1, color=ring_colour(sub, i)) for i, sub in enumerate(subs)]
    fig.legend(handles, subs, loc="lower center", ncol=3, fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 0.0), title=f"outer ring: sub-dimension; dotted circles: {EDGES_TEXT} %",
               title_fontsize=8.5)
    return _png(fig, "Benchmark wheel: score of every category, coloured by band", dpi=90)


@rc_context(PLAIN_TEXT)  # labels are drawn as given: no mathtext
def subdimension_bars(summary: pd.DataFrame) -> PNGChart:
    """Each sub-dimension's score as a bar, coloured by band, with the band edges."""
    subs = summary[summary["level"] == "sub_dimension"].reset_index(drop=True)
    fig = Figure(figsize=(8.6, 0.55 * len(subs) + 1.2))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.33, right=0.97, top=0.97, bottom=0.8 / (0.55 * len(subs) + 1.2))
    scores = subs["score"].astype(float)
    colours = [BAND_COLOURS.get(b, NOT_SCORED) for b in subs["band"]]
    ax.barh(subs["sub_dimension"], scores.fillna(0), color=colours)
    for y, s in enumerate(scores):
        ax.text((0 if math.isnan(s) else s) + 1, y, _score_label(s), va="center", fontsize=9)
    for edge in rules.BAND_EDGES:
        ax.axvline(edge, color=EDGE_COLOUR, linestyle=":", linewidth=1)
    ax.set_xlim(0, 110)
    ax.invert_yaxis()
    ax.set_xlabel("score: points earned ÷ points possible (%)")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig, f"Score of each sub-dimension with the band edges at {EDGES_TEXT} %")


@rc_context(PLAIN_TEXT)  # labels are drawn as given: no mathtext
def band_counts(kpis: pd.DataFrame, dimensions: list[str]) -> PNGChart:
    """How many scored data points fall in each band, one stacked bar per dimension."""
    counts = (kpis[kpis["scored"]].groupby(["dimension", "band"]).size().unstack(fill_value=0)
              .reindex(index=dimensions, columns=list(rules.BANDS), fill_value=0))
    fig = Figure(figsize=(8.6, 2.6))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.2, right=0.97, top=0.8, bottom=0.2)
    left = pd.Series(0, index=counts.index)
    for band in rules.BANDS:
        ax.barh(counts.index, counts[band], left=left, color=BAND_COLOURS[band], label=f"{band} %")
        left = left + counts[band]
    ax.invert_yaxis()
    ax.set_xlabel("scored data points")
    ax.legend(ncol=4, fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, 1.25))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig, "Number of scored data points in each band, per dimension")
