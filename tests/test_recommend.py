"""Recommendations from scores: who gets which action, in which order, and what the report shows."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pytest

from kpis.errors import UserError
from kpis.knowledge import knowledge_base, scorable_points
from kpis.library import library
from kpis.narrative import data_collection_plan, executive_summary, measures_table, priority_actions, strengths
from kpis.recommendation import Trigger, priority_score, recommend, to_frame

EDGES = ((95, "95+", None), (66, "66-95", 95), (33, "33-66", 66), (0, "<33", 33))
NEXT = {"<33": "33-66", "33-66": "66-95", "66-95": "95+", "95+": None}
POINTS = {"<33": 1, "33-66": 2, "66-95": 3, "95+": 4}


def band_of(ach: float) -> str:
    return next(b for lo, b, _ in EDGES if ach >= lo)


@dataclass
class StandIn:
    """The parts of kpis.scoring.Results that recommend() reads, built by hand."""

    kpis: pd.DataFrame
    summary: pd.DataFrame
    measures: dict = field(default_factory=dict)
    profiles: dict = field(default_factory=dict)


def make_results(achievements: dict[str, float] | None = None, default: float = 100.0, unreported=(),
                 city: str = "Testville", year: int = 2024, measures: dict | None = None) -> StandIn:
    """Every KPI data point at `default` % of a target of 100 (higher is better), except those listed."""
    achievements = achievements or {}
    rows = []
    for kpi in library():
        for part, label, *_ in kpi.data_points():
            reported = kpi.code not in unreported
            ach = achievements.get(kpi.code, default) if reported else None
            band = band_of(ach) if reported else None
            nxt = NEXT.get(band) if band else None
            edge = {"33-66": 33, "66-95": 66, "95+": 95}.get(nxt)
            rows.append({
                "city": city, "year": year, "code": kpi.code, "name": kpi.name, "dimension": kpi.dimension,
                "sub_dimension": kpi.sub_dimension, "category": kpi.category, "tier": kpi.tier, "part": part,
                "point_label": label, "value": ach, "unit": "%", "direction": "higher",
                "target": 100.0 if reported else None, "achievement": ach, "band": band,
                "points": POINTS.get(band), "reported": reported, "scored": reported,
                "next_band": nxt, "next_band_value": float(edge) if edge else None, "sdg": ", ".join(kpi.sdg),
            })
    kpis = pd.DataFrame(rows)
    scored = kpis[kpis["scored"]]
    summary = []
    for level, keys in (("category", ["dimension", "sub_dimension", "category"]),
                        ("sub_dimension", ["dimension", "sub_dimension"]), ("dimension", ["dimension"]),
                        ("overall", [])):
        groups = scored.groupby(keys, sort=False) if keys else [((), scored)]
        for key, g in groups:
            key = key if isinstance(key, tuple) else (key,)
            score = 100 * g["points"].sum() / (4 * len(g))
            rec = {"city": city, "year": year, "level": level, "dimension": None, "sub_dimension": None,
                   "category": None, **dict(zip(keys, key, strict=True)), "score": score, "band": band_of(score)}
            summary.append(rec)
    return StandIn(kpis, pd.DataFrame(summary), {(city, year): measures or {}})


def merge(*results: StandIn) -> StandIn:
    return StandIn(pd.concat([r.kpis for r in results], ignore_index=True),
                   pd.concat([r.summary for r in results], ignore_index=True),
                   {k: v for r in results for k, v in r.measures.items()})


def actionable(recs):
    return [r for r in recs if r.kind in ("improve", "close_gap")]


# ---------------------------------------------------------------- the done-when cases


def test_every_kpi_below_66_gets_an_action_that_names_it():
    lib = library()
    # a spread of bands across the whole library, including composites and advanced KPIs
    ach = {k.code: (10, 40, 70, 100)[i % 4] for i, k in enumerate(lib)}
    res = make_results(ach)
    recs = recommend(res)
    scorable = {code for code, *_ in scorable_points(library())}
    weak = {c for c, a in ach.items() if a < 66 and c in scorable}
    named = {c for r in recs if r.kind == "improve" for c in r.kpi_codes}
    assert weak and weak <= named
    assert named <= scorable  # a context indicator (police, a sector share of jobs...) gets no action
    for r in recs:
        if r.kind == "improve":
            assert set(r.bands) <= {"<33", "33-66"}
            assert r.sdg and r.sources and r.action


def test_every_unreported_core_kpi_gets_a_data_collection_action():
    lib = library()
    missing = {"EN: EN: AQ: 2C", "SC: EH: H: 2C", "EC: P: IN: 1C", "EN: EN: PSN: 3A"}  # the last one is advanced
    res = make_results(unreported=missing)
    recs = recommend(res)
    collect = {r.kpi_codes[0]: r for r in recs if r.kind == "collect_data"}
    assert set(collect) == missing
    ghg = collect["EN: EN: AQ: 2C"]
    assert "GHG Emissions" in ghg.action and "greenhouse-gas inventory" in ghg.action
    assert ghg.details == ("Usually held by: the environmental agency (air-quality monitoring network) and the "
                           "climate or energy office (emission inventory).",)
    plan = data_collection_plan(res)
    assert [r.kpi_codes[0] for r in plan] == [k.code for k in lib if k.code in missing and k.tier == "core"]
    health = next(r for r in plan if r.kpi_codes == ("SC: EH: H: 2C",))
    assert health.details[0].startswith("Usually held by: the health department")
    assert health.sdg == tuple(library().get("SC: EH: H: 2C").sdg)
    assert to_frame(plan)["kpi_codes"].tolist() == [r.kpi_codes[0] for r in plan]
    # core before advanced among the data-collection actions
    kinds = [r for r in recs if r.kind == "collect_data"]
    assert kinds[-1].kpi_codes == ("EN: EN: PSN: 3A",)


def test_city_at_target_everywhere_gets_no_improvement_but_a_keep_doing_summary():
    res = make_results(default=100)
    recs = recommend(res)
    assert actionable(recs) == []
    keep = [r for r in recs if r.kind == "keep"]
    kb = knowledge_base()
    assert {(r.sub_dimension, r.category) for r in keep} == {(c.sub_dimension, c.category) for c in kb.categories
                                                             if c.applies_to}
    assert priority_actions(res, recommendations=recs) == []
    summary = executive_summary(res, recs)
    assert 3 <= len(summary) <= 5
    assert any("Every scored KPI meets its target" in s and "keep doing" in s for s in summary)
    assert not any("first priorities" in s for s in summary)
    # KPI-level keep texts travel with the category's keep action
    ict = next(r for r in keep if r.category == "ICT Infrastructure")
    assert any(d.startswith("Household Internet Access: ") for d in ict.details)


def test_priority_follows_gap_size_on_a_hand_built_case():
    # three core KPIs, each the only weak one of its category: gaps 90, 60 and 40
    res = make_results({"EC: P: IN: 1C": 10, "EN: EN: AQ: 2C": 40, "SC: SH: SI: 3C": 60})
    recs = actionable(recommend(res))
    assert [r.kpi_codes for r in recs] == [("EC: P: IN: 1C",), ("EN: EN: AQ: 2C",), ("SC: SH: SI: 3C",)]
    assert [r.priority for r in recs] == [pytest.approx(90), pytest.approx(60), pytest.approx(40)]
    assert [r.rank for r in recs] == [1, 2, 3]


def test_breadth_and_core_before_advanced():
    res = make_results({
        "EC: P: EM: 1C": 50, "EC: P: EM: 2C": 50,  # two weak KPIs in Employment: gap 50, breadth 2 -> 62.5
        "SC: EH: H: 3C": 45,                       # one core KPI: gap 55 -> 55
        "EN: EN: PSN: 2A": 45,                     # one advanced KPI, same gap: 55 * 0.8 -> 44
    })
    recs = actionable(recommend(res))
    first = recs[0]
    assert first.title == "Launch an active labour-market programme"
    assert first.kpi_codes == ("EC: P: EM: 1C", "EC: P: EM: 2C")
    assert first.priority == pytest.approx(62.5)
    order = [r.kpi_codes for r in recs]
    assert order.index(("SC: EH: H: 3C",)) < order.index(("EN: EN: PSN: 2A",))
    advanced = next(r for r in recs if r.kpi_codes == ("EN: EN: PSN: 2A",))
    assert advanced.priority == pytest.approx(44)
    assert advanced.title == "Create a green-space and nature plan"  # no KPI entry: the category's action


def test_two_cities_with_different_weak_areas_get_different_summaries():
    energy = {k.code: 20 for k in library() if k.sub_dimension == "Energy"}
    safety = {k.code: 20 for k in library() if k.category == "Safety"}
    a = make_results(energy, default=90, city="Alpha")
    b = make_results(safety, default=90, city="Beta")
    both = merge(a, b)
    recs = recommend(both)
    sa = executive_summary(both, recs, city="Alpha")
    sb = executive_summary(both, recs, city="Beta")
    assert sa != sb
    assert 3 <= len(sa) <= 5 and 3 <= len(sb) <= 5
    assert "weakest is Energy at 25 %" in " ".join(sa)
    assert "weakest is Safety, Housing and Social Inclusion" in " ".join(sb)
    assert "where Safety is lowest at 25 %" in " ".join(sb)
    assert sa[-1].startswith("The first priorities are to adopt a local energy transition plan")
    assert sb[-1].startswith("The first priorities are to adopt a city safety and resilience strategy")
    assert "Its strongest areas are ICT, Productivity and Infrastructure among others at 75 %" in sa[1]
    assert sa[0].startswith("Alpha scores") and sb[0].startswith("Beta scores")
    assert "(points earned out of points possible)" in sa[0]
    # ranks restart for each city
    assert [r.rank for r in recs if r.city == "Beta"][:3] == [1, 2, 3]


# ---------------------------------------------------------------- details of a recommendation


def test_value_needed_for_next_band_is_carried():
    res = make_results({"EN: E: E: 1C": 50})
    rec = next(r for r in recommend(res) if r.kpi_codes == ("EN: E: E: 1C",) and r.kind == "improve")
    assert rec.bands == ("33-66",)
    assert rec.next_band_values == ("Renewable Energy Consumption: at least 66 % to reach 66-95",)
    row = to_frame([rec]).iloc[0]
    assert row["next_band_values"] == "Renewable Energy Consumption: at least 66 % to reach 66-95"
    assert row["kpi_codes"] == "EN: E: E: 1C"
    assert "7.2" in row["sdg"] and "Directive (EU) 2023/2413" in row["standards"]


def test_close_gap_actions_for_the_66_95_band():
    res = make_results({"EC: ICT: ICT: 2C": 80})
    recs = actionable(recommend(res))
    assert len(recs) == 1
    assert recs[0].kind == "close_gap" and recs[0].title == "Raise fixed broadband take-up"
    assert recs[0].priority == pytest.approx(20)


def test_composite_kpi_triggers_per_data_point():
    code = "EN: EN: AQ: 1C"  # five pollutants, scored per data point
    res = make_results()
    k = res.kpis
    mask = (k["code"] == code) & (k["part"].isin(["pm2_5", "no2"]))
    k.loc[mask, ["achievement", "value"]] = 20.0
    k.loc[mask, "band"], k.loc[mask, "points"], k.loc[mask, "next_band"] = "<33", 1, "33-66"
    k.loc[mask, "next_band_value"] = 33.0
    rec = next(r for r in recommend(res) if r.kpi_codes == (code,) and r.kind == "improve")
    assert [t.part for t in rec.triggers] == ["pm2_5", "no2"]
    assert rec.bands == ("<33",)
    assert rec.priority == pytest.approx(80)


def test_measures_pair_with_suggested_actions_and_stay_plain_text():
    hostile = "<script>alert(1)</script> Low-emission zone & =SUM(A1)"
    res = make_results({"EN: EN: AQ: 2C": 30}, measures={"Environment": hostile})
    recs = recommend(res)
    ghg = next(r for r in recs if r.kpi_codes == ("EN: EN: AQ: 2C",) and r.kind == "improve")
    assert ghg.city_measures == hostile  # unchanged: the report escapes it
    rows = measures_table(res, recs)
    assert [r["dimension"] for r in rows] == ["Economy"] * 3 + ["Environment"] * 2 + ["Society and Culture"] * 2
    env = {r["sub_dimension"]: r for r in rows if r["dimension"] == "Environment"}
    assert env["Environment"]["measures"] == env["Environment"]["measures_adopted"] == hostile
    assert env["Environment"]["actions"][0] is ghg
    assert env["Environment"]["suggested_actions"].startswith("Measure and cut greenhouse gas emissions")
    # a sub-dimension at target shows what to keep doing; one without measures says so
    assert [a.kind for a in env["Energy"]["actions"]] == ["keep"]
    assert env["Energy"]["measures"] == ""
    assert env["Energy"]["measures_adopted"] == "No measures described in the submission."


def test_measures_argument_overrides_the_submission():
    res = make_results({"EN: EN: AQ: 2C": 30}, measures={"Environment": "from the file"})
    recs = recommend(res, measures={"Environment": "given by the analyst"})
    assert {r.city_measures for r in recs if r.sub_dimension == "Environment"} == {"given by the analyst"}
    env = next(r for r in measures_table(res, recs) if r["sub_dimension"] == "Environment")
    assert env["measures"] == "given by the analyst"


def test_strengths_lists_top_band_kpis_and_categories():
    res = make_results({k.code: 50 for k in library() if k.sub_dimension != "Energy"})
    records = strengths(res)
    assert records[0]["level"] == "category" and records[0]["title"] == "Energy (Energy)"
    s = pd.DataFrame(records)
    assert set(s.loc[s["level"] == "category", "category"]) == {"Energy"}
    assert set(s.loc[s["level"] == "kpi", "code"]) == {k.code for k in library() if k.sub_dimension == "Energy"}
    assert (s["band"] == "95+").all()
    renewable = next(r for r in records if r["code"] == "EN: E: E: 1C")
    assert renewable["codes"] == ["EN: E: E: 1C"] and renewable["sdg"] == list(library().get("EN: E: E: 1C").sdg)


def test_priority_actions_top_n():
    res = make_results({k.code: 20 + i for i, k in enumerate(library()) if k.tier == "core"})
    recs = recommend(res)
    top = priority_actions(res, n=5, recommendations=recs)
    assert len(top) == 5 and [r.rank for r in top] == [1, 2, 3, 4, 5]
    assert all(r.kind == "improve" for r in top)
    assert top[0].priority >= top[-1].priority


def test_helpers_need_a_single_city_year():
    both = merge(make_results(city="A"), make_results(city="B"))
    with pytest.raises(UserError, match="several city-years; pass city="):
        strengths(both)
    with pytest.raises(UserError, match="no results for city 'C'"):
        strengths(both, city="C")


def _trigger(code, tier, achievement, band):
    return Trigger(code=code, name=code, tier=tier, part="", point_label=code, band=band, value=achievement,
                   unit="%", achievement=achievement, next_band=None, next_band_value=None)


def test_priority_score_formula():
    # mean gap (60 + 40) / 2 = 50, a core KPI among them (weight 1), two KPIs (x 1.25)
    both = [_trigger("A", "core", 40.0, "33-66"), _trigger("B", "advanced", 60.0, "33-66")]
    assert priority_score(both) == pytest.approx(62.5)
    # a missing achievement falls back to the middle of its band (16.5 for <33); advanced weighs 0.8
    assert priority_score([_trigger("C", "advanced", None, "<33")]) == pytest.approx((100 - 16.5) * 0.8)
    assert priority_score([]) == 0


def test_empty_results_give_no_recommendations():
    res = make_results()
    empty = StandIn(res.kpis.iloc[0:0], res.summary.iloc[0:0])
    assert recommend(empty) == []


# ---------------------------------------------------------------- the demo city, scored for real


@pytest.fixture(scope="module")
def demo():
    import kpis
    from kpis.paths import demo_city

    results = kpis.score(kpis.read_submission(demo_city()))
    return results, recommend(results)


def test_demo_city_weak_kpis_all_named(demo):
    results, recs = demo
    k = results.kpis
    weak = set(k.loc[k["scored"] & k["band"].isin(["<33", "33-66"]), "code"].astype(str))
    named = {c for r in recs if r.kind == "improve" for c in r.kpi_codes}
    assert weak and weak <= named


def test_demo_city_report_parts(demo):
    results, recs = demo
    top = priority_actions(results, recommendations=recs)
    assert len(top) == 10 and [r.rank for r in top] == list(range(1, 11))
    rows = measures_table(results, recs)
    city, year = next(iter(results.measures))
    assert len(rows) == 7
    for row in rows:
        assert row["measures"] == results.measures[(city, year)][row["sub_dimension"]]
        assert row["actions"] and row["suggested_actions"]
    summary = executive_summary(results, recs)
    assert 3 <= len(summary) <= 5
    assert summary[0].startswith(f"{city} scores ")
