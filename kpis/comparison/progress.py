"""Progress of the same city between two years, graded with the Open SDG progress measure (Statistics Canada
method): the growth observed against the growth needed to reach the target by 2030."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import rules
from ..i18n import N_

TARGET_YEAR = 2030
# ratio of observed to required growth (with a target) or direction-signed growth a year (without one)
PROGRESS_WITH_TARGET = ((0.95, "on track"), (0.60, "needs acceleration"), (0.0, "off track"))
PROGRESS_NO_TARGET = ((0.015, "on track"), (0.005, "needs acceleration"), (0.0, "off track"))
PROGRESS_COLOURS = {
    N_("target achieved"): "#1a9850", N_("on track"): "#a6d96a", N_("needs acceleration"): "#fee08b",
    N_("off track"): "#fdae61", N_("deterioration"): "#d73027", N_("not assessable"): "#e0e0e0",
}
PROGRESS_COLUMNS = ["city", "code", "part", "name", "category", "direction", "target", "year_0", "value_0", "band_0",
                    "year_1", "value_1", "band_1", "change", "points_change", "cagr", "required_cagr", "ratio",
                    "status"]


def progress_status(v0, v1, t0, t1, target, direction, target_year: int = TARGET_YEAR) -> pd.DataFrame:
    """Open SDG progress measure: observed compound annual growth vs the growth needed to reach the target by
    `target_year` (ratio ≥ 0.95 on track, 0.60-0.95 needs acceleration, 0-0.60 off track — Open SDG's "limited
    progress" —, < 0 deterioration); without a target, direction-signed growth vs 1.5 % / 0.5 % a year.
    Non-positive values have no growth rate and are 'not assessable' unless the target is achieved."""
    v0, v1 = np.asarray(v0, dtype=float), np.asarray(v1, dtype=float)
    t0, t1 = np.asarray(t0, dtype=float), np.asarray(t1, dtype=float)
    target = np.asarray(target, dtype=float)
    direction = np.asarray(direction)
    sign = np.where(direction == "higher", 1.0, np.where(direction == "lower", -1.0, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        cagr = np.where((v0 > 0) & (v1 > 0), (v1 / v0) ** (1 / (t1 - t0)) - 1, np.nan)
        span = np.maximum(target_year - t0, 1)
        req = np.where((v0 > 0) & (target > 0), (target / v0) ** (1 / span) - 1, np.nan)
        ratio = np.where(np.isnan(target), np.nan, sign * cagr / np.maximum(np.abs(req), 1e-12))
    achieved = ~np.isnan(target) & ~np.isnan(sign) & (rules.achievement(v1, target, direction) >= 100)
    status = np.full(len(v0), "not assessable", dtype=object)
    growth = np.where(np.isnan(target), sign * cagr, ratio)
    for thresholds, mask in ((PROGRESS_WITH_TARGET, ~np.isnan(target)), (PROGRESS_NO_TARGET, np.isnan(target))):
        graded = np.full(len(v0), "deterioration", dtype=object)
        for edge, label in reversed(thresholds):
            graded = np.where(growth >= edge, label, graded)
        status = np.where(mask & ~np.isnan(growth), graded, status)
    status = np.where(achieved, "target achieved", status)
    return pd.DataFrame({"cagr": cagr, "required_cagr": req, "ratio": ratio, "status": status})


def progress_between(kpis: pd.DataFrame, base_year: int | None = None, year: int | None = None,
                     target_year: int = TARGET_YEAR) -> pd.DataFrame:
    """Per city and data point reported in two or more years (within `base_year`-`year`): first and latest value
    and band, their change and the progress status."""
    df = kpis[kpis["reported"] & kpis["value"].notna()]
    if base_year is not None:
        df = df[df["year"] >= base_year]
    if year is not None:
        df = df[df["year"] <= year]
    key = ["city", "code", "part"]
    first = df.sort_values("year").groupby(key, sort=False).head(1)
    last = df.sort_values("year").groupby(key, sort=False).tail(1)
    both = first.merge(last, on=key, suffixes=("_0", "_1"))
    both = both[both["year_1"] > both["year_0"]]
    if both.empty:
        return pd.DataFrame(columns=PROGRESS_COLUMNS)
    out = both.rename(columns={"name_0": "name", "category_0": "category", "direction_0": "direction",
                               "target_0": "target"})
    out["change"] = out["value_1"] - out["value_0"]
    out["points_change"] = out["points_1"] - out["points_0"]
    graded = progress_status(out["value_0"], out["value_1"], out["year_0"], out["year_1"], out["target"],
                             out["direction"], target_year)
    out = pd.concat([out.reset_index(drop=True), graded], axis=1)
    return out[PROGRESS_COLUMNS].sort_values(["city", "code", "part"], ignore_index=True)


def progress_counts(progress: pd.DataFrame) -> pd.DataFrame:
    """Per city: how many data points fall in each progress status."""
    order = list(PROGRESS_COLOURS)
    if progress.empty:
        return pd.DataFrame(columns=order)
    return progress.pivot_table(index="city", columns="status", values="code", aggfunc="count", fill_value=0) \
        .reindex(columns=order, fill_value=0)
