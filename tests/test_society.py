"""The Society and Culture KPIs: readable entries, formulas on hand-worked inputs, published values, sourced targets."""

from __future__ import annotations

import pytest

import kpis
from kpis.formulas import ComputationError, compute, inputs_for
from kpis.library import library, load_targets, sources

PLACEHOLDERS = ("TO WRITE", "to write", "ZERO-TARGET", "TBD", "TODO")
SOCIETY = [k for k in library() if k.dimension == "Society and Culture"]

# Values printed in U4SSC city reports (Bizerte 2020, Ålesund 2020, Moscow 2018): each must be a valid KPI value.
PUBLISHED = [
    ("SC: EH: ED: 1C", 56.97), ("SC: EH: ED: 2C", 95.30), ("SC: EH: ED: 3C", 10849.86), ("SC: EH: ED: 4C", 87.15),
    ("SC: EH: ED: 5A", 77.60), ("SC: EH: H: 1C", 78), ("SC: EH: H: 5A", 98.22), ("SC: EH: C: 1C", 0.00),
    ("SC: EH: C: 2A", 116.38), ("SC: SH: SI: 1C", 0.74), ("SC: SH: SI: 2C", 0.27), ("SC: SH: SI: 3C", 6.14),
    ("SC: SH: SI: 4C", 67.94), ("SC: SH: SI: 5A", 34.20), ("SC: SH: SA: 1C", 0.00), ("SC: SH: SA: 2C", 0.00),
    ("SC: SH: SA: 4A", 0.00), ("SC: SH: SA: 5A", 12.67), ("SC: SH: SA: 7C", 117.94), ("SC: SH: SA: 8C", 25.56),
    ("SC: SH: SA: 9C", 10.46), ("SC: SH: FS: 1A", 91.18),
]


def test_the_dimension_has_its_29_kpis_in_two_sub_dimensions():
    assert len(SOCIETY) == 29
    assert {k.sub_dimension for k in SOCIETY} == {
        "Education, Health and Culture", "Safety, Housing and Social Inclusion"}


@pytest.mark.parametrize("kpi", SOCIETY, ids=lambda k: k.id)
def test_entry_is_written_for_a_city_official(kpi):
    assert not any(p in kpi.definition for p in PLACEHOLDERS)
    assert kpi.definition.endswith(".") and len(kpi.definition) < 260
    for name, spec in kpi.inputs.items():
        mechanical = name.replace("_", " ").capitalize()
        assert spec.label != mechanical, f"{kpi.code}: input {name} still has the converted label"
        assert spec.unit and spec.min == 0
    assert kpi.provenance.split(":")[0].split(" ")[0] in {"itu-page", "iso37120", "city-report", "inferred"}
    assert kpi.source.strip()


@pytest.mark.parametrize(("code", "value"), PUBLISHED)
def test_published_city_values_fit_the_value_range(code, value):
    low, high = kpis.get_kpi(code).value_range
    assert (low is None or value >= low) and (high is None or value <= high)


def test_shares_are_bounded_where_the_numerator_is_part_of_the_denominator():
    for k in SOCIETY:
        for _, _, _, _, f, vrange in k.data_points():
            if f.kind == "ratio" and f.numerator_le_denominator:
                assert vrange[1] == f.multiplier, k.code


def test_enrolment_above_100_percent_is_accepted():
    # pupils from outside the city attend its schools: 1 100 enrolled for 1 000 residents of school age
    assert compute("SC: EH: ED: 2C", inputs_for("SC: EH: ED: 2C", 1100, 1000)) == {"": pytest.approx(110.0)}


def test_degree_holders_cannot_outnumber_residents():
    assert compute("SC: EH: ED: 3C", inputs_for("SC: EH: ED: 3C", 10_850, 100_000)) == {"": pytest.approx(10_850.0)}
    with pytest.raises(ComputationError, match="Residents holding at least one higher-education degree"):
        compute("SC: EH: ED: 3C", inputs_for("SC: EH: ED: 3C", 120_000, 100_000))


def test_maternal_mortality_is_per_100000_live_births():
    assert compute("SC: EH: H: 2C", inputs_for("SC: EH: H: 2C", 3, 10_000)) == {"": pytest.approx(30.0)}


def test_gender_income_equity_is_the_female_to_male_ratio():
    assert compute("SC: SH: SI: 1C", inputs_for("SC: SH: SI: 1C", 18.5, 25.0)) == {"": pytest.approx(0.74)}


def test_gini_outside_zero_to_one_is_refused_with_its_label():
    with pytest.raises(ComputationError, match="Gini coefficient.*above the largest allowed 1"):
        compute("SC: SH: SI: 2C", {"gini_coefficient": 27.5})


def test_resilience_plans_score_the_four_elements():
    assert compute("SC: SH: SA: 3A", {"resilience_components_in_place": 3}) == {"": 75.0}
    assert compute("SC: SH: SA: 3A", {"resilience_components_in_place": 4}) == {"": 100.0}
    with pytest.raises(ComputationError):
        compute("SC: SH: SA: 3A", {"resilience_components_in_place": 5})


def test_every_data_point_has_a_sourced_target_or_a_reason():
    targets = load_targets()
    for k in SOCIETY:
        t = targets.for_point(k.code)
        assert t is not None, k.code
        text = " ".join(filter(None, [t.source, t.no_benchmark, t.note]))
        assert not any(p in text for p in PLACEHOLDERS), k.code
        if t.target is not None:
            cited = [sources()[s] for s in t.source_ids]  # unknown ids fail here
            assert t.unit and cited and all(s.url.startswith(("https://", "http://")) for s in cited), k.code
            assert k.direction != "none", k.code
            if k.direction == "lower":
                assert t.target > 0, k.code


@pytest.mark.parametrize(
    ("code", "value", "expected", "band"),
    [
        ("SC: SH: SI: 1C", 0.74, 74.0, "66-95"),               # 0.74 of the parity ratio 1
        ("SC: SH: SA: 9C", 10.46, 3.2 / 10.46 * 100, "<33"),   # 30.6 % of the 3.2 level
        ("SC: SH: SI: 5A", 34.2, 34.2 / 45 * 100, "66-95"),    # 76 % of the Barcelona target
        ("SC: SH: SA: 1C", 0.0, 100.0, "95+"),                 # no disaster deaths: full achievement
        ("SC: SH: SA: 1C", 1.72, 50.0, "33-66"),               # twice the 0.86 global level
        ("SC: EH: H: 2C", 140, 50.0, "33-66"),                 # twice the SDG 3.1 threshold
    ],
)
def test_default_targets_give_hand_worked_achievements(scorer, code, value, expected, band):
    row = scorer.point(scorer({(code, ""): value}), code)
    assert row["achievement"] == pytest.approx(expected, abs=0.01)
    assert (row["band"], bool(row["scored"])) == (band, True)


EDUCATION = ["SC: EH: ED: 1C", "SC: EH: ED: 2C", "SC: EH: ED: 3C", "SC: EH: ED: 4C"]


def test_education_category_score_from_band_points(scorer):
    """U4SSC aggregate example: points 1, 3, 4, 1 -> 9 of 16 = 56.25 % -> band 33-66."""
    res = scorer(dict(zip([(c, "") for c in EDUCATION], [10, 70, 100, 20], strict=True)),
                 targets={(c, ""): 100 for c in EDUCATION})
    assert [scorer.point(res, c)["points"] for c in EDUCATION] == [1, 3, 4, 1]
    g = scorer.group(res, "category", "Education")
    assert (g["points"], g["max_points"], g["score"], g["band"]) == (9, 16, 56.25, "33-66")
    # only Education is scored with this target file, so every level above carries the same score
    for level, name in (("sub_dimension", "Education, Health and Culture"), ("dimension", "Society and Culture"),
                        ("overall", "Overall")):
        assert scorer.group(res, level, name)["score"] == 56.25


def test_education_category_score_without_an_unreported_kpi(scorer):
    """Three reported with points 3, 4, 2 -> 9 of 12 = 75 % -> band 66-95; the unreported KPI is left out."""
    res = scorer(dict(zip([(c, "") for c in EDUCATION], [70, 100, None, 40], strict=True)),
                 targets={(c, ""): 100 for c in EDUCATION})
    g = scorer.group(res, "category", "Education")
    assert (g["points"], g["max_points"], g["score"], g["band"]) == (9, 12, 75.0, "66-95")
    assert (g["kpis_total"], g["kpis_reported"], g["kpis_scored"]) == (4, 3, 3)


def test_no_benchmark_kpis_match_what_u4ssc_leaves_unscored():
    targets = load_targets()
    unscored = {k.code for k in SOCIETY if targets.for_point(k.code).target is None}
    assert "SC: EH: C: 2A" in unscored  # U4SSC prints 'No Benchmark Available' (Ålesund 2020)
    assert unscored == {"SC: EH: C: 1C", "SC: EH: C: 2A", "SC: SH: SA: 4A", "SC: SH: SA: 7C", "SC: SH: SA: 8C",
                        "SC: SH: FS: 1A"}
