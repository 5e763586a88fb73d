"""The Environment KPIs: readable entries, formulas on hand-worked inputs, published values, sourced targets."""

from __future__ import annotations

import pytest

import kpis
from kpis.formulas import ComputationError, compute
from kpis.library import library, load_targets, sources

PLACEHOLDERS = ("TO WRITE", "to write", "ZERO-TARGET", "TBD", "TODO", "SOURCE")
ENVIRONMENT = [k for k in library() if k.dimension == "Environment"]

# Values printed in U4SSC city publications: Bizerte factsheet 2020 p.34, Riyadh factsheet 2020 p.39.
PUBLISHED = [
    ("EN: EN: WS: 1C", "", 98.98), ("EN: EN: WS: 2C", "", 86.26), ("EN: EN: WS: 3C", "", 100.0),
    ("EN: EN: WS: 4C", "primary", 100.0), ("EN: EN: WS: 4C", "secondary", 100.0), ("EN: EN: WS: 4C", "tertiary", 0.0),
    ("EN: E: E: 1C", "", 0.0), ("EN: E: E: 2C", "", 9032.14), ("EN: E: E: 3C", "", 0.74), ("EN: E: E: 4A", "", 70.87),
]
COUNT_INPUTS = {"population", "households_total", "households_covered_by_audited_water_safety_plan",
                "antenna_sites_compliant", "antenna_sites_total", "inhabitants_exposed_to_excessive_noise",
                "inhabitants_with_green_area_access"}


def _point(code: str, part: str):
    return next(p for p in kpis.get_kpi(code).data_points() if p[0] == part)


def test_the_dimension_has_its_17_kpis_in_two_sub_dimensions():
    assert len(ENVIRONMENT) == 17
    subs = {k.sub_dimension for k in ENVIRONMENT}
    assert subs == {"Environment", "Energy"}
    assert sum(k.sub_dimension == "Energy" for k in ENVIRONMENT) == 4


@pytest.mark.parametrize("kpi", ENVIRONMENT, ids=lambda k: k.id)
def test_entry_is_written_for_a_city_official(kpi):
    assert not any(p in kpi.definition for p in PLACEHOLDERS)
    assert kpi.definition.endswith(".") and len(kpi.definition) < 260
    for name, spec in kpi.inputs.items():
        assert spec.label != name.replace("_", " ").capitalize(), f"{kpi.code}: {name} keeps its converted label"
        assert spec.unit and spec.min == 0
        assert spec.integer == (name in COUNT_INPUTS), f"{kpi.code}: {name} integer flag"
    assert kpi.provenance.split(":")[0].split(" ")[0] in {"itu-page", "iso37120", "city-report", "inferred"}
    assert len(kpi.source.strip()) > 20


@pytest.mark.parametrize(("code", "part", "value"), PUBLISHED)
def test_published_city_values_fit_the_value_range(code, part, value):
    low, high = _point(code, part)[5]
    assert (low is None or value >= low) and (high is None or value <= high)


def test_water_consumption_from_an_annual_volume():
    # 4 410 000 m3 a year for 140 000 people: 4.41e9 L / 365 d / 140 000 = 86.30 L per person per day
    litres_per_day = 4_410_000 * 1000 / 365
    got = compute("EN: EN: WS: 2C", {"water_consumption_total": litres_per_day, "population": 140_000})
    assert got[""] == pytest.approx(86.30, abs=0.005)


def test_per_capita_and_per_100000_ratios():
    assert compute("EN: EN: AQ: 2C", {"ghg_emissions_total": 420_000, "population": 140_000})[""] == pytest.approx(3.0)
    assert compute("EN: EN: PSN: 1C", {"green_area": 1_260, "population": 140_000})[""] == pytest.approx(900.0)
    got = compute("EN: E: E: 2C", {"electricity_consumption_total": 1_264_499_600, "population": 140_000})
    assert got[""] == pytest.approx(9032.14, abs=0.005)
    got = compute("EN: E: E: 4A", {"public_buildings_energy_consumption": 7_087_000,
                                   "public_buildings_floor_area": 100_000})
    assert got[""] == pytest.approx(70.87)


def test_bizerte_wastewater_levels_compute():
    total = 9_000_000
    got = compute("EN: EN: WS: 4C", {"wastewater_primary_treated": total, "wastewater_secondary_treated": total,
                                     "wastewater_tertiary_treated": 0, "wastewater_total": total})
    assert got == {"primary": 100.0, "secondary": 100.0, "tertiary": 0.0}


def test_impossible_inputs_are_refused_naming_the_kpi():
    with pytest.raises(ComputationError, match=r"EN: EN: WS: 1C.*larger than"):
        compute("EN: EN: WS: 1C", {"households_covered_by_audited_water_safety_plan": 120, "households_total": 100})
    with pytest.raises(ComputationError, match=r"EN: EN: AQ: 1C: PM10.*above the largest allowed 1000"):
        compute("EN: EN: AQ: 1C", {"pm10_annual_mean_concentration": 5000, "pm2_5_annual_mean_concentration": 5,
                                   "no2_annual_mean_concentration": 5, "so2_annual_mean_concentration": 5,
                                   "o3_annual_mean_concentration": 5})


def test_every_data_point_has_a_sourced_target_or_reason():
    targets = load_targets()
    for k in ENVIRONMENT:
        for part, _, unit, direction, *_ in k.data_points():
            t = targets.for_point(k.code, part)
            assert t is not None, f"{k.code} {part}"
            assert not any(p in (t.source + (t.note or "") + (t.no_benchmark or "")) for p in PLACEHOLDERS)
            if t.target is None:
                assert len(t.no_benchmark) > 40, f"{k.code} {part}"
                continue
            assert direction in ("higher", "lower"), f"{k.code} {part} has no direction but a target"
            assert t.target > 0 and t.unit.startswith(unit), f"{k.code} {part}: {t.unit!r} vs {unit!r}"
            cited = [sources()[s] for s in t.source_ids]  # unknown ids fail here
            assert cited and all(s.url.startswith(("https://", "http://")) for s in cited), f"{k.code} {part}: cite the source"


@pytest.mark.parametrize(("code", "part", "value", "expected", "band"), [
    ("EN: EN: AQ: 1C", "pm2_5", 10.0, 50.0, "33-66"),      # twice the WHO level of 5
    ("EN: EN: AQ: 1C", "pm10", 15.0, 100.0, "95+"),        # exactly the WHO level
    ("EN: EN: AQ: 1C", "no2", 40.0, 25.0, "<33"),          # the old EU limit, 4x the WHO level
    ("EN: EN: AQ: 2C", "", 5.0, 60.0, "33-66"),            # C40 average today against the 3 t waypoint
    ("EN: EN: WA: 1C", "recycled", 42.9, 66.0, "66-95"),   # 42.9 / 65 = 66 %, an edge belongs to the higher band
    ("EN: EN: WA: 1C", "open_dump", 0.0, 100.0, "95+"),    # no open dumping reaches the stand-in target of 1 %
    ("EN: EN: WA: 1C", "burnt", 2.0, 50.0, "33-66"),
    ("EN: EN: WS: 4C", "tertiary", 0.0, 0.0, "<33"),       # Bizerte 2020
    ("EN: E: E: 1C", "", 0.0, 0.0, "<33"),                 # Riyadh 2020
])
def test_default_targets_score_hand_worked_values(scorer, code, part, value, expected, band):
    row = scorer.point(scorer({(code, part): value}), code, part)
    assert row["achievement"] == pytest.approx(expected, abs=0.01)
    assert (row["band"], bool(row["scored"])) == (band, True)


def test_points_without_a_direction_stay_unscored():
    targets = load_targets()
    for part in ("incinerated", "other"):
        assert _point("EN: EN: WA: 1C", part)[3] == "none"
        assert targets.for_point("EN: EN: WA: 1C", part).target is None
