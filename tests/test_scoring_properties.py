"""Properties of the scoring rules, checked on generated values (Hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.library import load_targets, points_table
from kpis.rules import achievement, band_index
from kpis.scoring import score_frame

POINTS = points_table()[["code", "part", "direction", "context"]]
TARGETS = load_targets()
SCORABLE = [
    i for i, r in enumerate(POINTS.itertuples())
    if r.direction in ("higher", "lower") and not r.context  # context indicators are shown, never scored
    and (t := TARGETS.for_point(r.code, r.part)) is not None and t.target
]

values = st.floats(min_value=0, max_value=1e7, allow_nan=False)
targets = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(targets, values, values, st.sampled_from(["higher", "lower"]))
def test_achievement_monotonic_in_direction(target, a, b, direction):
    lo, hi = sorted((a, b))
    ach_lo, ach_hi = achievement([lo, hi], [target, target], [direction, direction])
    if direction == "higher":
        assert ach_lo <= ach_hi
    else:
        assert ach_lo >= ach_hi
    assert 0 <= ach_lo <= 100 and 0 <= ach_hi <= 100


@given(st.floats(min_value=0, max_value=100), st.floats(min_value=0, max_value=100))
def test_bands_monotonic_in_achievement(a, b):
    lo, hi = sorted((a, b))
    assert band_index([lo])[0] <= band_index([hi])[0]


def _frame(draw_values: list[float | None], picks: list[int]) -> pd.DataFrame:
    rows = POINTS.iloc[picks][["code", "part"]].copy()
    rows["city"], rows["year"] = "Propertyville", 2024
    rows["value"] = [np.nan if v is None else v for v in draw_values]
    rows["reported"] = [v is not None for v in draw_values]
    return rows.reset_index(drop=True)


point_sets = st.lists(st.sampled_from(SCORABLE), min_size=1, max_size=25, unique=True)


@FAST
@given(st.data())
def test_adding_a_not_reported_kpi_never_changes_a_score(data):
    picks = data.draw(point_sets)
    vals = data.draw(st.lists(st.one_of(st.none(), values), min_size=len(picks), max_size=len(picks)))
    extra = data.draw(st.sampled_from([i for i in range(len(POINTS)) if i not in picks]))
    extra_value = data.draw(st.one_of(st.none(), values))
    before = score_frame(_frame(vals, picks), TARGETS)
    added = _frame(vals, picks)
    added.loc[len(added)] = [POINTS.iloc[extra]["code"], POINTS.iloc[extra]["part"], "Propertyville", 2024,
                             np.nan if extra_value is None else extra_value, False]
    after = score_frame(added, TARGETS)
    pd.testing.assert_series_equal(before.summary["score"], after.summary["score"])
    pd.testing.assert_series_equal(before.sdg["score"], after.sdg["score"])


@FAST
@given(st.data())
def test_scores_stay_between_25_and_100(data):
    picks = data.draw(point_sets)
    vals = data.draw(st.lists(values, min_size=len(picks), max_size=len(picks)))
    res = score_frame(_frame(vals, picks), TARGETS)
    scores = pd.concat([res.summary["score"], res.sdg["score"]]).dropna()
    assert len(scores) > 0
    assert ((scores >= 25) & (scores <= 100)).all()
    overall = res.summary[res.summary["level"] == "overall"].iloc[0]
    assert math.isclose(overall["score"], res.kpis["points"].sum() / (4 * res.kpis["scored"].sum()) * 100)
