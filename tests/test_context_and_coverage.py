"""Context indicators, target bases and the coverage a score rests on, through kpis.score."""

from __future__ import annotations

import pandas as pd
import pytest

import kpis
from kpis import paths, rules

POLICE = "SC: SH: SA: 6C"
ICT_JOBS = "EC: P: EM: 4A"
UNEMPLOYMENT = "EC: P: EM: 1C"


def _frame(rows):
    return pd.DataFrame([{"city": "Nordby", "year": 2024, "code": c, "part": p, "value": v} for c, p, v in rows])


def test_police_and_sector_shares_are_context_not_scored():
    res = kpis.score(_frame([(POLICE, "", 89.0), (ICT_JOBS, "", 3.0), (UNEMPLOYMENT, "", 2.7)]))
    k = res.kpis.set_index("code")
    for code in (POLICE, ICT_JOBS):
        assert k.loc[code, "status"] == "context"
        assert not k.loc[code, "scored"] and k.loc[code, "reported"]
        assert k.loc[code, "no_benchmark"].startswith("context indicator:")
    assert k.loc[POLICE, "reference"] == 318  # the published EU figure, shown beside the value
    assert k.loc[UNEMPLOYMENT, "scored"] and k.loc[UNEMPLOYMENT, "status"] in ("strength", "on track")


def test_a_users_target_set_can_score_a_context_indicator(tmp_path):
    path = tmp_path / "city-2030.yaml"
    path.write_text(f"name: City 2030\nversion: '1'\ntargets:\n  - code: '{POLICE}'\n    target: 100\n"
                    "    unit: per 100 000\n    source: City safety strategy 2030\n", encoding="utf-8")
    res = kpis.score(_frame([(POLICE, "", 89.0)]), targets=path)
    row = res.kpis.set_index("code").loc[POLICE]
    assert row["scored"] and row["achievement"] == pytest.approx(89.0) and row["status"] == "on track"


def test_every_target_carries_its_basis():
    res = kpis.score(_frame([(UNEMPLOYMENT, "", 2.7)]))
    bases = set(res.kpis.loc[res.kpis["target"].notna(), "target_basis"].astype(str))
    assert bases <= {"standard", "reference", "judgement"} and bases


def test_statuses_are_one_per_data_point():
    res = kpis.score(_frame([(UNEMPLOYMENT, "", 2.7), ("EC: ICT: ICT: 2C", "", 10.0), (POLICE, "", 89.0)]))
    status = res.kpis.set_index("code")["status"]
    assert set(res.kpis["status"].astype(str)) <= set(rules.STATUSES)
    assert status["EC: ICT: ICT: 2C"] == "gap" and status[POLICE] == "context"
    assert (res.kpis.loc[~res.kpis["reported"], "status"] == "not reported").all()


def test_a_partial_submission_is_provisional_and_says_what_it_rests_on():
    res = kpis.score(_frame([(UNEMPLOYMENT, "", 2.7), ("EC: ICT: ICT: 2C", "", 50.0)]))
    cov = res.coverage.iloc[0]
    assert bool(cov["provisional"]) and cov["core_reported"] == 2 and cov["core_total"] == 55
    assert cov["points_scored"] == 2 and 0 < cov["points_scorable"] <= cov["points_total"]
    demo = kpis.score(kpis.read_submission(paths.demo_city()))
    assert not bool(demo.coverage.iloc[0]["provisional"])


def test_provisional_rule_at_its_edge():
    assert not rules.is_provisional(28, 55) and rules.is_provisional(27, 55)


def test_the_report_shows_context_values_with_their_reference_and_no_priority_about_them():
    """Police 89 per 100 000, ICT sector jobs 3 %, unemployment 2.7 %: no police or labour-market priority; the
    dimension table shows the two context values with their reference and the 'context' badge."""
    from pathlib import Path

    import numpy as np

    from kpis.intake import FRAME_COLUMNS, CityProfile, Submission
    from kpis.library import points_table
    from kpis.report import CityReport

    pts = points_table()
    values = {POLICE: 89.0, ICT_JOBS: 3.0, UNEMPLOYMENT: 2.7}
    data = pd.DataFrame({"code": pts["code"], "part": pts["part"], "numerator_value": np.nan,
                         "denominator_value": np.nan, "final_value": pts["code"].map(values).astype(float)})
    data["reported"] = data["final_value"].notna()
    for col in ("data_quality", "data_origin", "source_name", "source_link", "comment", "sheet"):
        data[col] = ""
    data["row"] = None
    sub = Submission(Path("nordby.xlsx"), CityProfile(city="Nordby", year=2024), "1.0", "", {}, data[FRAME_COLUMNS])
    results = kpis.score(sub)
    report = CityReport(sub, results, kpis.recommend(results))
    priorities = " ".join(f"{r.title} {r.action}" for r in report.priorities).lower()
    assert "police" not in priorities and "labour-market" not in priorities and "labour market" not in priorities
    society = str(report.dimension_table("Society and Culture"))
    economy = str(report.dimension_table("Economy"))
    assert "Police Service" in society and "reference 318" in society and ">context<" in society
    assert "ICT Sector Employment" in economy and ">context<" in economy
