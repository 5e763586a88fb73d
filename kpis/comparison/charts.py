"""Static matplotlib charts of a comparison, for the notebook and the report.

matplotlib is imported inside each chart: it costs ~1.3 s of start-up (measured with `python -X importtime`), which
`import kpis.comparison` and the data-only commands should not pay.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import rules
from ..display import BAND_COLOURS
from .model import Comparison
from .progress import PROGRESS_COLOURS
from .rank import Ranking

Figure = Any  # matplotlib.figure.Figure, not imported at start-up


def _pyplot() -> Any:
    """matplotlib.pyplot, imported on first use: ~1.3 s of start-up that data-only work should not pay."""
    import matplotlib.pyplot as plt

    return plt


def plot_heatmap(comp: Comparison, level: str = "category", max_cities: int = 60) -> Figure:
    """Cities × groups coloured by band (latest year of each city)."""
    from matplotlib.colors import ListedColormap  # imported here, as in _pyplot
    from matplotlib.patches import Patch

    plt = _pyplot()

    bands = comp.table(level, "band").head(max_cities)
    keys = ["not scored", *rules.BANDS]
    codes = bands.apply(lambda col: col.map(lambda b: keys.index(b) if b in rules.BANDS else 0)).to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * bands.shape[1] + 3), max(2.5, 0.28 * len(bands) + 1.5)))
    ax.imshow(codes, cmap=ListedColormap([BAND_COLOURS[k] for k in keys]), vmin=-0.5, vmax=4.5, aspect="auto")
    ax.set_xticks(range(bands.shape[1]), [str(c) for c in bands.columns], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(bands)), [str(c) for c in bands.index], fontsize=7)
    ax.legend(handles=[Patch(color=BAND_COLOURS[k], label=k) for k in keys], bbox_to_anchor=(1.01, 1),
              loc="upper left", fontsize=7, title="band")
    ax.set_title(f"Bands by {level.replace('_', '-')}")
    fig.tight_layout()
    return fig


def plot_radar(comp: Comparison, cities: Sequence[str] | None = None, level: str = "sub_dimension") -> Figure:
    """Scores of a few cities overlaid on one radar (latest year of each)."""
    plt = _pyplot()

    scores = comp.table(level, "score")
    chosen = [c for c in (cities or scores.index[:4]) if c in scores.index][:8]
    angles = np.linspace(0, 2 * np.pi, scores.shape[1], endpoint=False)
    fig, ax = plt.subplots(figsize=(6.5, 6.5), subplot_kw={"polar": True})
    for city in chosen:
        vals = scores.loc[city].fillna(0).to_numpy(dtype=float)
        ax.plot(np.append(angles, angles[0]), np.append(vals, vals[0]), label=str(city))
        ax.fill(np.append(angles, angles[0]), np.append(vals, vals[0]), alpha=0.08)
    ax.set_xticks(angles, [str(c) for c in scores.columns], fontsize=7)
    ax.set_ylim(0, 100)
    ax.legend(loc="upper right", bbox_to_anchor=(1.35, 1.1), fontsize=7)
    ax.set_title(f"Score by {level.replace('_', '-')} (% of maximum points)")
    fig.tight_layout()
    return fig


def plot_ranking(ranking: Ranking, group: str | None = None, max_cities: int = 40) -> Figure:
    """Base rank (dot) and rank interval (bar) of each city."""
    plt = _pyplot()

    tab = ranking.table
    if tab.empty:
        return _empty_chart("no city could be ranked", (6, 1.5))
    tab = tab[tab["group"] == (group or tab["group"].iloc[0])].head(max_cities)
    rows = np.arange(len(tab))
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.3 * len(tab) + 1.2)))
    ax.hlines(rows, tab["rank_low"], tab["rank_high"], color="#4575b4", linewidth=4, alpha=0.5, label="rank interval")
    ax.scatter(tab["rank"], rows, color=[BAND_COLOURS.get(b, "#e0e0e0") for b in tab["band"]], edgecolor="black",
               zorder=3, label="rank (U4SSC method)")
    ax.set_yticks(rows, [str(c) for c in tab["city"]], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("rank (1 = best)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Ranking with {ranking.draws}-draw intervals")
    fig.tight_layout()
    return fig


def plot_coverage(comp: Comparison, max_cities: int = 60) -> Figure:
    """City-year × KPI: reported (dark) or not."""
    plt = _pyplot()

    cov = comp.coverage.head(max_cities)
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.25 * len(cov) + 1.5)))
    ax.imshow(cov.to_numpy(dtype=float), cmap="Greys", vmin=0, vmax=1.4, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(cov)), [f"{c} {y}" for c, y in cov.index], fontsize=7)
    ax.set_xticks(range(cov.shape[1]), [str(c) for c in cov.columns], rotation=90, fontsize=5)
    ax.set_title("KPIs reported (dark) by city and year")
    fig.tight_layout()
    return fig


def plot_progress(comp: Comparison, max_cities: int = 40) -> Figure:
    """Stacked count of data points per progress status, per city with at least two years."""
    plt = _pyplot()

    summ = comp.progress_summary().head(max_cities)
    if summ.empty:
        return _empty_chart("no city has two years of data", (8, 2.5))
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(summ) + 1.5)))
    left = np.zeros(len(summ))
    for status in summ.columns:
        ax.barh(range(len(summ)), summ[status], left=left, color=PROGRESS_COLOURS[status], label=status)
        left += summ[status].to_numpy()
    ax.set_yticks(range(len(summ)), [str(c) for c in summ.index], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("data points")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_title("Progress between the first and the latest year (Open SDG method)")
    fig.tight_layout()
    return fig


def _empty_chart(message: str, size: tuple[float, float]) -> Figure:
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=size)
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.axis("off")
    return fig


def chart_png(fig: Figure) -> bytes:
    """PNG bytes of a finished chart; the figure is closed, so no live figure is left to be shown twice."""
    plt = _pyplot()

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
