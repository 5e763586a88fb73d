"""Scoring: the published U4SSC examples, the documented edge cases, target sets, research options and errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from kpis.errors import UserError
from kpis.library import CatalogueError, Targets, load_targets, points_table
from kpis.models import Target
from kpis.results import Results, ScoringError
from kpis.rules import achievement, band_of
from kpis.scoring import score, score_frame

BROADBAND = "EC: ICT: ICT: 2C"
EDUCATION = ["SC: EH: ED: 1C", "SC: EH: ED: 2C", "SC: EH: ED: 3C", "SC: EH: ED: 4C"]
AIR = "EN: EN: AQ: 1C"
PLANNING = "EC: I: UP: 2A"  # yes/no, 6 criteria


def targets(entries: dict[tuple[str, str], float | None], name: str = "test set") -> Targets:
    """A small hand-made target set: None means 'no benchmark'."""
    made = {
        key: Target(code=key[0], part=key[1], target=t, no_benchmark=None if t is not None else "none known",
                    source=f"test source for {key[0]}")
        for key, t in entries.items()
    }
    return Targets(name, "1", made)


def frame(values: dict[tuple[str, str], float | None], city: str = "Testville", year: int = 2024) -> pd.DataFrame:
    """One row per given data point; None = not reported."""
    rows = [
        {"city": city, "year": year, "code": c, "part": p, "value": v, "reported": v is not None,
         "data_quality": "Based on accurate measurements", "source": "city statistics"}
        for (c, p), v in values.items()
    ]
    return pd.DataFrame(rows)


def row(res: Results, code: str, part: str = "") -> pd.Series:
    hit = res.kpis[(res.kpis["code"] == code) & (res.kpis["part"] == part)]
    assert len(hit) == 1
    return hit.iloc[0]


def group(res: Results, level: str, name: str, **parents: str) -> pd.Series:
    s = res.summary
    mask = (s["level"] == level) & (s["group"] == name)
    for col, val in parents.items():
        mask &= s[col] == val
    hit = s[mask]
    assert len(hit) == 1
    return hit.iloc[0]


# ---------------------------------------------------------------- the published U4SSC examples


@pytest.mark.parametrize(
    "value, band, points, achieved",
    [(60, "95+", 4, 100.0), (57.0, "95+", 4, 95.0), (56.99, "66-95", 3, 94.9833), (39.6, "66-95", 3, 66.0),
     (39.59, "33-66", 2, 65.9833), (19.8, "33-66", 2, 33.0), (19.79, "<33", 1, 32.9833), (0, "<33", 1, 0.0),
     (90, "95+", 4, 100.0)],
)
def test_mashhad_broadband_cut_offs(value, band, points, achieved):
    """Target 60 % for EC: ICT: ICT: 2C: the cut-offs 57.0 / 39.6 / 19.8 % printed in the Mashhad factsheet."""
    res = score_frame(frame({(BROADBAND, ""): value}), targets({(BROADBAND, ""): 60.0}))
    r = row(res, BROADBAND)
    assert r["band"] == band
    assert r["points"] == points
    assert r["achievement"] == pytest.approx(achieved, abs=1e-4)  # % of target, capped at 100


@pytest.mark.parametrize("value, needed", [(10, 19.8), (19.8, 39.6), (45, 57.0)])
def test_distance_to_next_band_higher(value, needed):
    res = score_frame(frame({(BROADBAND, ""): value}), targets({(BROADBAND, ""): 60.0}))
    assert row(res, BROADBAND)["next_band_value"] == pytest.approx(needed)


def test_top_band_has_no_next_band():
    r = row(score_frame(frame({(BROADBAND, ""): 58}), targets({(BROADBAND, ""): 60.0})), BROADBAND)
    assert pd.isna(r["next_band"]) and math.isnan(r["next_band_value"])


def _education(values: list[float | None]) -> Results:
    tset = targets({(c, ""): 100.0 for c in EDUCATION})
    return score_frame(frame({(c, ""): v for c, v in zip(EDUCATION, values, strict=True)}), tset)


def test_aggregate_example_all_reported():
    """Points 1, 3, 4, 1 → 9 / 16 = 56.25 % → band 33-66."""
    res = _education([10, 70, 100, 20])
    assert list(res.kpis.set_index("code").loc[EDUCATION, "points"]) == [1, 3, 4, 1]
    g = group(res, "category", "Education")
    assert (g["points"], g["max_points"], g["score"], g["band"]) == (9, 16, 56.25, "33-66")
    assert (g["kpis_total"], g["kpis_reported"], g["kpis_scored"]) == (4, 4, 4)


def test_aggregate_example_three_reported():
    """Only three reported, points 3, 4, 2 → 9 / 12 = 75 % → band 66-95."""
    res = _education([70, 100, None, 40])
    g = group(res, "category", "Education")
    assert (g["points"], g["max_points"], g["score"], g["band"]) == (9, 12, 75.0, "66-95")
    assert (g["kpis_reported"], g["kpis_scored"]) == (3, 3)


def test_category_with_nothing_reported_has_no_score():
    res = _education([None, None, None, None])
    g = group(res, "category", "Education")
    assert math.isnan(g["score"]) and pd.isna(g["band"])
    assert g["max_points"] == 0 and g["kpis_reported"] == 0 and g["kpis_total"] == 4


def test_score_is_points_share_up_the_levels():
    res = _education([10, 70, 100, 20])
    sub = group(res, "sub_dimension", "Education, Health and Culture")
    dim = group(res, "dimension", "Society and Culture")
    overall = group(res, "overall", "Overall")
    for g in (sub, dim, overall):  # only the Education points are scored with this target set
        assert g["score"] == 56.25


# ---------------------------------------------------------------- rules and edge cases


def test_achievement_rules():
    d = np.array(["higher", "higher", "lower", "lower", "lower", "none", "higher"])
    got = achievement([50, 150, 20, 0, 5, 5, -3], [100, 100, 10, 10, 10, 10, 100], d)
    np.testing.assert_allclose(got[:5], [50, 100, 50, 100, 100])
    assert math.isnan(got[5])
    assert got[6] == 0  # negative values floor at 0 %
    assert achievement([5], [0], ["higher"])[0] == 100  # a target of 0 is always reached
    assert list(band_of([0, 32.99, 33, 65.999, 66, 94.9, 95, 100, np.nan])) == [
        "<33", "<33", "33-66", "33-66", "66-95", "66-95", "95+", "95+", None]


def test_lower_is_better_and_next_band_value():
    key = (AIR, "pm2_5")
    res = score_frame(frame({key: 20.0}), targets({key: 10.0}))
    r = row(res, AIR, "pm2_5")
    assert r["achievement"] == 50 and r["band"] == "33-66" and r["points"] == 2
    assert r["next_band"] == "66-95"
    assert r["next_band_value"] == pytest.approx(10 / 0.66)
    zero = row(score_frame(frame({key: 0.0}), targets({key: 10.0})), AIR, "pm2_5")
    assert zero["achievement"] == 100 and zero["points"] == 4


@pytest.mark.parametrize("met, points, achieved", [(6, 4, 100.0), (0, 1, 0.0), (3, 2, 50.0), (4, 3, 400 / 6)])
def test_yes_no_scored_on_criteria_met(met, points, achieved):
    value = 100 * met / 6
    res = score_frame(frame({(PLANNING, ""): value}), targets({}))
    r = row(res, PLANNING)
    assert r["points"] == points and r["achievement"] == pytest.approx(achieved)
    assert r["target"] == 100


def test_yes_no_next_band_rounds_up_to_a_whole_criterion():
    r = row(score_frame(frame({(PLANNING, ""): 50.0}), targets({})), PLANNING)
    assert r["next_band_value"] == pytest.approx(400 / 6)  # 66 % of 6 criteria = 3.96 → 4 criteria


def test_composite_scored_per_data_point():
    parts = ["pm10", "pm2_5", "no2", "so2", "o3"]
    tset = targets({(AIR, p): 10.0 for p in parts})
    res = score_frame(frame({(AIR, p): v for p, v in zip(parts, [10, 10, 20, 40, None], strict=True)}), tset)
    pts = res.kpis[res.kpis["code"] == AIR]
    assert list(pts["points"].astype(object)) == [4, 4, 2, 1, pd.NA]
    g = group(res, "category", "Air Quality")
    assert (g["points"], g["max_points"]) == (11, 16)  # each data point counts once
    assert g["kpis_scored"] == 1 and g["kpis_reported"] == 1  # one KPI, however many points


def test_not_reported_and_no_benchmark_excluded_but_counted():
    tset = targets({(EDUCATION[0], ""): 100.0, (EDUCATION[1], ""): None})
    res = score_frame(frame({(EDUCATION[0], ""): 50, (EDUCATION[1], ""): 80, (EDUCATION[2], ""): None}), tset)
    nb = row(res, EDUCATION[1])
    assert nb["reported"] and not nb["scored"] and pd.isna(nb["points"]) and nb["no_benchmark"] == "none known"
    assert not row(res, EDUCATION[2])["reported"]
    g = group(res, "category", "Education")
    assert (g["kpis_reported"], g["kpis_scored"], g["max_points"], g["score"]) == (2, 1, 4, 50.0)
    cov = res.coverage.iloc[0]
    assert (cov["kpis_total"], cov["kpis_reported"], cov["kpis_scored"]) == (91, 2, 1)
    assert (cov["core_total"], cov["core_reported"]) == (55, 2)
    assert cov["kpis_reported_pct"] == pytest.approx(200 / 91)


def test_missing_data_points_count_as_not_reported():
    res = score_frame(frame({(BROADBAND, ""): 30}), targets({(BROADBAND, ""): 60.0}))
    assert len(res.kpis) == len(points_table())
    assert res.kpis["reported"].sum() == 1 and res.kpis["scored"].sum() == 1


def test_reported_flag_without_value_is_not_reported():
    f = frame({(BROADBAND, ""): 30})
    f["value"] = np.nan
    f["reported"] = "yes"
    assert not row(score_frame(f, targets({(BROADBAND, ""): 60.0})), BROADBAND)["reported"]


def test_tidy_table_columns_and_rows_per_city_year():
    f = pd.concat([frame({(BROADBAND, ""): 30}, city="A"), frame({(BROADBAND, ""): 50}, city="B", year=2023)])
    res = score_frame(f)
    assert list(res.kpis.columns[:4]) == ["city", "year", "code", "name"]
    assert "next_band_value" in res.kpis.columns and "value_origin" in res.kpis.columns
    assert len(res.kpis) == 2 * len(points_table())
    assert list(res.coverage["city"]) == ["A", "B"] and list(res.coverage["year"]) == [2024, 2023]
    assert len(res.summary) == 2 * (27 + 7 + 3 + 1)
    assert res.summary.groupby(["city", "year"], observed=True).size().eq(38).all()
    assert set(res.profiles) == {("A", 2024), ("B", 2023)}


def test_category_names_repeat_across_sub_dimensions():
    res = score_frame(frame({(BROADBAND, ""): 30}))
    cats = res.summary[res.summary["level"] == "category"]
    assert len(cats) == 27 and cats["group"].nunique() == 22
    water = cats[cats["group"] == "Water and Sanitation"]
    assert sorted(water["sub_dimension"]) == ["Environment", "ICT", "Infrastructure"]


def test_sdg_view_groups_indicators_under_targets_and_goals():
    tset = targets({(AIR, p): 10.0 for p in ["pm10", "pm2_5"]})
    res = score_frame(frame({(AIR, "pm10"): 10, (AIR, "pm2_5"): 20}), tset)  # AIR refers to 11.6 and 11.6.2
    sdg = res.sdg.set_index(["level", "sdg"])
    assert sdg.loc[("target", "11.6"), "points"] == 6  # counted once although two references point to 11.6
    assert sdg.loc[("target", "11.6"), "max_points"] == 8
    assert sdg.loc[("goal", "11"), "score"] == 75.0
    assert ("target", "11.6.2") not in sdg.index
    assert math.isnan(sdg.loc[("goal", "4"), "score"])


def test_score_default_targets_label():
    res = score_frame(frame({(BROADBAND, ""): 30}))
    assert res.target_set == load_targets().label
    assert row(res, BROADBAND)["target"] == 60


# ---------------------------------------------------------------- target files


def test_user_target_files_yaml_and_csv(tmp_path):
    yml = tmp_path / "strategy_2030.yaml"
    yml.write_text("name: Testville 2030 strategy\nversion: '2030'\ntargets:\n"
                   f"- code: '{BROADBAND}'\n  target: 80\n  unit: '%'\n  source: city council decision 12/2025\n")
    csv = tmp_path / "strategy.csv"
    csv.write_text(f"code,part,target,unit,source\n{BROADBAND},,40,%,plan\n")
    r_yml = score_frame(frame({(BROADBAND, ""): 40}), yml)
    r_csv = score(frame({(BROADBAND, ""): 40}), csv)
    assert r_yml.target_set == "Testville 2030 strategy (version 2030)"
    assert row(r_yml, BROADBAND)["achievement"] == 50 and row(r_yml, BROADBAND)["target_source"].startswith("city")
    assert row(r_csv, BROADBAND)["achievement"] == 100 and r_csv.target_set == "strategy (version user)"
    assert row(r_csv, EDUCATION[0])["no_benchmark"].startswith("not in target set strategy")


def test_bad_target_file_names_file_and_kpi(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"code,part,target,unit,source\n{BROADBAND},,lots,%,plan\n")
    with pytest.raises(CatalogueError, match=r"bad.csv.*lots.*EC: ICT: ICT: 2C"):
        score_frame(frame({(BROADBAND, ""): 40}), bad)
    with pytest.raises(ScoringError, match="targets must be"):
        score_frame(frame({(BROADBAND, ""): 40}), 42)


# ---------------------------------------------------------------- research options


def test_distance_method_scores_achievement():
    res = score_frame(frame({(c, ""): v for c, v in zip(EDUCATION, [10, 70, 100, 20], strict=True)}),
                      targets({(c, ""): 100.0 for c in EDUCATION}), method="distance")
    g = group(res, "category", "Education")
    assert g["score"] == pytest.approx(50.0)  # (10 + 70 + 100 + 20) / 4
    assert res.options["method"] == "distance"


def test_geometric_and_weights():
    tset = targets({(c, ""): 100.0 for c in EDUCATION[:2]})
    f = frame({(EDUCATION[0], ""): 100, (EDUCATION[1], ""): 25})  # points 4 and 1 → 100 % and 25 %
    geo = group(score_frame(f, tset, aggregate="geometric"), "category", "Education")
    assert geo["score"] == pytest.approx(50.0)  # sqrt(100 × 25)
    weighted = group(score_frame(f, tset, weights={EDUCATION[0]: 3}), "category", "Education")
    assert weighted["score"] == pytest.approx((3 * 100 + 25) / 4)
    with pytest.raises(ScoringError, match="XX: 1C"):
        score_frame(f, tset, weights={"XX: 1C": 1})
    with pytest.raises(ScoringError, match="finite number"):
        score_frame(f, tset, weights={EDUCATION[0]: -1})


def test_minmax_across_cities():
    f = pd.concat([frame({(BROADBAND, ""): v}, city=c) for c, v in [("A", 10), ("B", 30), ("C", 50)]])
    res = score_frame(f, normalise="minmax")
    got = res.kpis[res.kpis["code"] == BROADBAND].set_index("city")["achievement"]
    assert list(got) == [0, 50, 100]
    assert res.target_set.startswith("min-max")
    b = res.kpis[(res.kpis["code"] == BROADBAND) & (res.kpis["city"] == "B")].iloc[0]
    assert b["next_band_value"] == pytest.approx(10 + 0.66 * 40)
    one = score_frame(frame({(BROADBAND, ""): 10}), normalise="minmax")  # one city: no spread, nothing scored
    assert not one.kpis["scored"].any()


def test_bad_options():
    for kw, msg in [({"method": "x"}, "method"), ({"normalise": "z"}, "normalise"), ({"aggregate": "h"}, "aggregate")]:
        with pytest.raises(ScoringError, match=msg):
            score_frame(frame({(BROADBAND, ""): 1}), **kw)


# ---------------------------------------------------------------- bad input


def test_bad_frames_give_clear_user_errors():
    good = frame({(BROADBAND, ""): 40})
    with pytest.raises(ScoringError, match="lacks the column"):
        score_frame(good.drop(columns=["year"]))
    with pytest.raises(ScoringError, match="'XX: A: B: 1C' is not a U4SSC KPI code"):
        score_frame(good.assign(code="XX: A: B: 1C"))
    with pytest.raises(ScoringError, match=r"EN: EN: AQ: 1C: data point 'pm1' .*pm10"):
        score_frame(frame({(AIR, "pm1"): 3}))
    with pytest.raises(ScoringError, match="appears more than once"):
        score_frame(pd.concat([good, good]))
    with pytest.raises(ScoringError, match="year"):
        score_frame(good.assign(year="soon"))
    with pytest.raises(ScoringError, match="reported"):
        score_frame(good.assign(reported="perhaps"))
    assert issubclass(ScoringError, UserError)


def test_codes_are_normalised():
    res = score_frame(frame({("ec:ict:ict:2c", ""): 30}), targets({(BROADBAND, ""): 60.0}))
    assert row(res, BROADBAND)["achievement"] == 50


def test_raw_inputs_are_computed():
    f = pd.DataFrame([{"city": "T", "year": 2024, "code": "EC: ICT: ICT: 1C", "part": "",
                       "numerator_value": 40, "denominator_value": 80, "final_value": None, "reported": True}])
    r = row(score_frame(f, targets({("EC: ICT: ICT: 1C", ""): 100.0})), "EC: ICT: ICT: 1C")
    assert r["value"] == 50 and r["value_origin"] == "computed"


# ---------------------------------------------------------------- submissions and display


@dataclass
class FakeSubmission:
    profile: dict
    data: pd.DataFrame
    measures: dict = field(default_factory=dict)


def _fake(city: str = "Testville", value: float = 30) -> FakeSubmission:
    data = pd.DataFrame([{"code": BROADBAND, "part": "", "numerator_value": value, "denominator_value": 100,
                          "final_value": None, "reported": True, "data_quality": "Personal estimation",
                          "data_origin": "", "source_name": "Census", "source_link": "https://example.org/c",
                          "comment": "", "sheet": "Data", "row": 5}])
    return FakeSubmission({"city": city, "year": 2024, "population": 1000.0}, data, {"ICT": "fibre plan"})


def test_score_submission_objects():
    res = score([_fake("A", 30), _fake("B", 60)], targets({(BROADBAND, ""): 60.0}))
    assert res.profiles[("A", 2024)]["population"] == 1000.0
    assert res.measures[("B", 2024)] == {"ICT": "fibre plan"}
    a = res.kpis[(res.kpis["city"] == "A") & (res.kpis["code"] == BROADBAND)].iloc[0]
    assert a["value"] == 30 and a["band"] == "33-66" and a["source"] == "Census (https://example.org/c)"
    assert a["data_quality"] == "Personal estimation"
    with pytest.raises(ScoringError, match="given twice"):
        score([_fake("A"), _fake("A")])
    with pytest.raises(ScoringError, match="city name or the year"):
        score(FakeSubmission({"city": ""}, _fake().data))


def test_score_real_submission_from_template(tmp_path):
    from kpis.template import write_template
    from kpis.validation import read_submission

    sub = read_submission(write_template(tmp_path / "t.xlsx", city="Templateville", year=2025))
    res = score(sub)
    assert list(res.coverage["city"]) == ["Templateville"]
    assert res.coverage["kpis_reported"].iloc[0] == 0
    assert res.summary["score"].isna().all()


def test_repr_html_escapes_and_colours():
    res = score_frame(frame({(BROADBAND, ""): 30}, city="<script>alert(1)</script>"), targets({(BROADBAND, ""): 60.0}))
    html = res._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "background-color:#fdae61" in html  # the 33-66 band colour
    assert "test set (version 1)" in html
