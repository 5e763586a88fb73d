"""Invented cities: reproducible, plainly marked as invented, plausible magnitudes, some values not reported."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpis.formulas import compute_frame
from kpis.library import points_table
from kpis.synthetic import cities, profiles


def test_same_seed_same_cities_other_seed_other_values():
    a, b, c = cities(5, seed=11), cities(5, seed=11), cities(5, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["value"].fillna(-1), c["value"].fillna(-1))


def test_marked_as_invented_with_profiles():
    data = cities(12, seed=0, years=3)
    assert data["invented"].all()
    assert data["city"].str.startswith("Invented city ").all()
    prof = profiles(data)
    assert len(prof) == 12 * 3 and sorted(prof["year"].unique()) == [2021, 2022, 2023]
    assert prof["population"].between(20_000, 15_000_000).all()
    assert set(prof["region"]) <= {"Africa", "Americas", "Asia", "Europe", "Oceania"}
    assert len(data) == 12 * 3 * len(points_table())


def test_magnitudes_follow_units_targets_and_composite_rules():
    data = cities(200, seed=3)
    rep = data[data["reported"]]
    assert 0.7 < data["reported"].mean() < 0.95  # some values are not reported
    assert data.loc[~data["reported"], "value"].isna().all()
    pts = points_table().set_index(["code", "part"])
    lim = pts.loc[list(zip(rep["code"], rep["part"], strict=True)), "value_max"].to_numpy()
    assert (rep["value"].to_numpy()[~np.isnan(lim)] <= lim[~np.isnan(lim)] + 1e-9).all()
    assert (rep["value"] >= 0).all()
    life = rep[rep["code"] == "SC: EH: H: 1C"]["value"]  # years, target 83
    assert 30 < life.median() < 110
    # modal split adds up to 100 % for a city that reported every mode
    modes = rep[rep["code"] == "EC: I: T: 4A"].groupby("city")["value"].agg(["sum", "count"])
    full = modes[modes["count"] == 5]
    assert len(full) and np.allclose(full["sum"], 100)


def test_inputs_recompute_to_the_value():
    data = cities(20, seed=5)
    rep = data[data["reported"]]
    again = compute_frame(rep.drop(columns=["value"]))
    assert np.allclose(again["value"].to_numpy(), rep["value"].to_numpy())
    assert set(again["value_origin"]) == {"computed"}


def test_later_years_drift():
    data = cities(50, seed=8, years=2)
    wide = data.pivot_table(index=["city", "code", "part"], columns="year", values="value")
    assert (wide[2021] != wide[2022]).mean() > 0.5
