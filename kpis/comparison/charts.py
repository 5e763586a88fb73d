"""Static matplotlib charts of a comparison, for the notebook and the report.

matplotlib is imported inside each chart: it costs ~1.3 s of start-up (measured with `python -X importtime`), which
`import kpis.comparison` and the data-only commands should not pay.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .. import rules
from ..display import BAND_COLOURS, PLAIN_TEXT
from ..i18n import DEFAULT_LANGUAGE, Translator, group_text
from .model import Comparison
from .progress import PROGRESS_COLOURS
from .rank import Ranking
from .sections import level_word, word

Figure = Any  # matplotlib.figure.Figure, not imported at start-up
F = TypeVar("F", bound=Callable[..., Any])


def _pyplot() -> Any:
    """matplotlib.pyplot, imported on first use: ~1.3 s of start-up that data-only work should not pay."""
    import matplotlib.pyplot as plt

    return plt


def _plain_text(chart: F) -> F:
    """Build (or save) a chart with every label drawn as given: city names are untrusted, and "$…$" must not be
    parsed as mathtext. Tick labels are made when they are set, so a figure drawn later keeps them plain."""

    @functools.wraps(chart)
    def plain(*args: Any, **kwargs: Any) -> Any:
        from matplotlib import rc_context  # imported here, as in _pyplot

        with rc_context(PLAIN_TEXT):
            return chart(*args, **kwargs)

    return plain  # type: ignore[return-value]


def _shown(total: int, cap: int, lang: str) -> str:
    """' (first 60 of 1000 rows)' when rows are capped, else ''."""
    _ = Translator(lang)
    return " " + _("(first {cap} of {total} rows)", cap=cap, total=total) if total > cap else ""


@_plain_text
def plot_heatmap(comp: Comparison, level: str = "category", max_cities: int = 60,
                 lang: str = DEFAULT_LANGUAGE) -> Figure:
    """Cities × groups coloured by band (latest year of each); at most `max_cities` rows, and the title says so."""
    from matplotlib.colors import ListedColormap  # imported here, as in _pyplot
    from matplotlib.patches import Patch

    plt = _pyplot()

    table = comp.table(level, "band")
    bands = table.head(max_cities)
    keys = ["not scored", *rules.BANDS]
    codes = bands.apply(lambda col: col.map(lambda b: keys.index(b) if b in rules.BANDS else 0)).to_numpy(dtype=float)
    width = max(7.0, 0.32 * bands.shape[1] + 4)
    fig, ax = plt.subplots(figsize=(width, max(3.0, 0.26 * len(bands) + 2.5)), layout="constrained")
    ax.imshow(codes, cmap=ListedColormap([BAND_COLOURS[k] for k in keys]), vmin=-0.5, vmax=4.5, aspect="auto",
              interpolation="nearest")
    _ = Translator(lang)
    ax.set_xticks(range(bands.shape[1]), [_short(word(c, lang, group=True), 28) for c in bands.columns], rotation=60,
                  ha="right",
                  rotation_mode="anchor", fontsize=7)
    ax.set_yticks(range(len(bands)), [_short(c, 30) for c in bands.index], fontsize=7 if len(bands) <= 40 else 6)
    fig.legend(handles=[Patch(color=BAND_COLOURS[k], label=word(k, lang)) for k in keys[::-1]],
               loc="outside right upper", fontsize=7, title=_("band"), frameon=False)
    ax.set_title(_("Bands by {level}", level=level_word(level, lang)) + _shown(len(table), max_cities, lang),
                 fontsize=10)
    return fig


def _short(text: object, most: int) -> str:
    text = str(text)
    return text if len(text) <= most else text[: most - 1] + "…"


@_plain_text
def plot_radar(scores: Any, level: str = "sub_dimension", shared_points: int = 0,
               lang: str = DEFAULT_LANGUAGE) -> Figure:
    """Scores (cities × groups, in %) of a few cities overlaid on one radar; the legend sits below the chart."""
    plt = _pyplot()

    angles = np.linspace(0, 2 * np.pi, scores.shape[1], endpoint=False)
    fig, ax = plt.subplots(figsize=(5.6, 6.2), subplot_kw={"polar": True}, layout="constrained")
    for city in scores.index:
        vals = scores.loc[city].fillna(0).to_numpy(dtype=float)
        ax.plot(np.append(angles, angles[0]), np.append(vals, vals[0]), label=str(city))
        ax.fill(np.append(angles, angles[0]), np.append(vals, vals[0]), alpha=0.08)
    ax.set_xticks(angles, [_wrap(group_text(str(c), lang)) for c in scores.columns], fontsize=7)
    ax.tick_params(axis="x", pad=14)  # axis names clear of the 100 % ring
    ax.set_ylim(0, 100)
    fig.legend(loc="outside lower center", ncol=min(len(scores.index), 3), fontsize=8, frameon=False)
    _ = Translator(lang)
    basis = "\n" + _("on the {points} data points they all score", points=shared_points) if shared_points else ""
    fig.suptitle(_("Score by {level} (% of maximum points)", level=level_word(level, lang)) + basis, fontsize=10)
    return fig


def _wrap(text: object, width: int = 18) -> str:
    """A long axis label on two or three lines."""
    words, lines, line = str(text).split(), [], ""
    for item in words:
        if line and len(line) + len(item) + 1 > width:
            lines.append(line)
            line = item
        else:
            line = f"{line} {item}".strip()
    return "\n".join([*lines, line])


@_plain_text
def plot_ranking(ranking: Ranking, group: str | None = None, max_cities: int = 40,
                 lang: str = DEFAULT_LANGUAGE) -> Figure:
    """Base rank (dot) and rank interval (bar) of each city."""
    plt = _pyplot()
    _ = Translator(lang)

    tab = ranking.table
    if tab.empty:
        return _empty_chart(_("no city could be ranked"), (6, 1.5))
    tab = tab[tab["group"] == (group or tab["group"].iloc[0])].head(max_cities)
    rows = np.arange(len(tab))
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.3 * len(tab) + 1.2)), layout="constrained")
    ax.hlines(rows, tab["rank_low"], tab["rank_high"], color="#4575b4", linewidth=4, alpha=0.5, label=_("rank interval"))
    ax.scatter(tab["rank"], rows, color=[BAND_COLOURS.get(b, "#e0e0e0") for b in tab["band"]], edgecolor="black",
               zorder=3, label=_("rank (U4SSC method)"))
    ax.set_yticks(rows, [str(c) for c in tab["city"]], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(_("rank (1 = best)"))
    fig.legend(fontsize=7, loc="outside lower center", ncol=2, frameon=False)
    ax.set_title(_("Ranking with intervals over {draws} draws", draws=ranking.draws), fontsize=10)
    return fig


@_plain_text
def plot_coverage(comp: Comparison, max_cities: int = 60, lang: str = DEFAULT_LANGUAGE) -> Figure:
    """City-year × KPI: reported (dark) or not. KPIs are labelled by code; at most `max_cities` rows, said in the
    title; the figure grows with the rows so labels keep their size."""
    plt = _pyplot()

    full = comp.coverage
    cov = full.head(max_cities)
    height = max(3.0, 0.2 * len(cov) + 2.4)
    fig, ax = plt.subplots(figsize=(10, height), layout="constrained")
    ax.imshow(cov.to_numpy(dtype=float), cmap="Greys", vmin=0, vmax=1.4, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(cov)), [_short(f"{c} {y}", 32) for c, y in cov.index], fontsize=7)
    codes = [str(c) for c in cov.columns]
    ax.set_xticks(range(cov.shape[1]), [c.replace(" ", "") for c in codes], rotation=90, fontsize=5.5)
    ax.set_xticks(np.arange(-0.5, cov.shape[1], 1), minor=True)
    ax.set_yticks(np.arange(-0.5, len(cov), 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.4)
    ax.tick_params(which="minor", length=0)
    dims = [c.split(":")[0] for c in codes]  # EC / EN / SC: a line and a name over each dimension
    names = {"EC": group_text("Economy", lang), "EN": group_text("Environment", lang),
             "SC": group_text("Society and Culture", lang)}
    starts = [i for i, d in enumerate(dims) if i == 0 or d != dims[i - 1]]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(dims)
        if start:
            ax.axvline(start - 0.5, color="#0b4f6c", linewidth=1.2)
        ax.text((start + end - 1) / 2, -0.55, names.get(dims[start], dims[start]), ha="center", va="bottom",
                fontsize=8, color="#0b4f6c")
    _ = Translator(lang)
    ax.set_title(_("KPIs reported (dark) by city and year") + _shown(len(full), max_cities, lang),
                 fontsize=10, pad=24)
    return fig


@_plain_text
def plot_progress(comp: Comparison, max_cities: int = 40, lang: str = DEFAULT_LANGUAGE) -> Figure:
    """Stacked count of data points per progress status, per city with at least two years."""
    plt = _pyplot()
    _ = Translator(lang)

    summ = comp.progress_summary().head(max_cities)
    if summ.empty:
        return _empty_chart(_("no city has two years of data"), (8, 2.5))
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.3 * len(summ) + 1.5)), layout="constrained")
    left = np.zeros(len(summ))
    for status in summ.columns:
        ax.barh(range(len(summ)), summ[status], left=left, color=PROGRESS_COLOURS[status], label=word(status, lang))
        left += summ[status].to_numpy()
    ax.set_yticks(range(len(summ)), [str(c) for c in summ.index], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(_("data points"))
    fig.legend(fontsize=7, loc="outside right upper", frameon=False)
    ax.set_title(_("Progress between the first and the latest year (Open SDG method)"), fontsize=10)
    return fig


def _empty_chart(message: str, size: tuple[float, float]) -> Figure:
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=size)
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.axis("off")
    return fig


@_plain_text
def chart_png(fig: Figure) -> bytes:
    """PNG bytes of a finished chart; the figure is closed, so no live figure is left to be shown twice."""
    plt = _pyplot()

    buf = io.BytesIO()
    # a figure with a layout engine is laid out already: a second, "tight" pass would measure every label again
    fig.savefig(buf, format="png", dpi=100, bbox_inches=None if fig.get_layout_engine() else "tight")
    plt.close(fig)
    return buf.getvalue()
