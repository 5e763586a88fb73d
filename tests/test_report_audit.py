"""The report auditor (kpis.audit) on the bundled cities and on 200+ generated cities with planted coverage patterns:
every data point has one status, no KPI sits in two contradictory lists, the headline and summary figures are the
results', percentages stay in their bands, priorities point to gaps, no section is empty. And it catches a planted
contradiction."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kpis
from kpis import audit, synthetic
from kpis.intake import FRAME_COLUMNS, CityProfile, Submission
from kpis.library import library, points_table
from kpis.paths import bundled, demo_city
from kpis.report import CityReport

BUNDLED = [demo_city(), *sorted(bundled("data", "cities").glob("*.xlsx"))]
POINTS = points_table()
CORE = {k.code for k in library() if k.tier == "core"}
PATTERNS = ("random", "all", "none", "one part of each composite", "only non-core", "one dimension only",
            "core only", "a third")
N_GENERATED = 208  # 26 cities per pattern


def _report_of(path: Path) -> CityReport:
    return CityReport.build(path)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_city_reports_pass_the_audit(path):
    assert audit.audit_report(_report_of(path)) == []


def _mask(pattern: str, rng: np.random.Generator, reported: np.ndarray) -> np.ndarray:
    """Which data points a generated city reports under one coverage pattern (on top of what it has)."""
    codes, parts = POINTS["code"].to_numpy(), POINTS["part"].to_numpy()
    if pattern == "all":
        return np.ones(len(POINTS), dtype=bool)
    if pattern == "none":
        return np.zeros(len(POINTS), dtype=bool)
    if pattern == "one part of each composite":
        first = ~pd.Series(codes).duplicated().to_numpy()
        composite = pd.Series(codes).map(pd.Series(codes).value_counts()).to_numpy() > 1
        return np.where(composite, first, reported)
    if pattern == "only non-core":
        return reported & ~np.isin(codes, list(CORE))
    if pattern == "core only":
        return np.isin(codes, list(CORE))
    if pattern == "one dimension only":
        dim = rng.choice(["EC", "EN", "SC"])
        return np.char.startswith(codes.astype(str), dim)
    if pattern == "a third":
        return rng.random(len(POINTS)) < 1 / 3
    del parts
    return reported


def _generated(i: int) -> CityReport:
    pattern = PATTERNS[i % len(PATTERNS)]
    frame = synthetic.cities(1, seed=1000 + i)
    rng = np.random.default_rng(i)
    keep = _mask(pattern, rng, frame["reported"].to_numpy())
    have_value = frame["final_value"].notna().to_numpy() | frame["numerator_value"].notna().to_numpy()
    frame = frame.assign(reported=keep & have_value)
    for col in ("numerator_value", "denominator_value", "final_value"):
        frame[col] = frame[col].where(frame["reported"])
    name = f"{frame['city'].iloc[0]} ({pattern})"
    data = frame.assign(source_name="kpis.synthetic (invented)", source_link="", comment="", sheet="", row=None)
    data = data[FRAME_COLUMNS].reset_index(drop=True)
    profile = CityProfile(city=name, year=int(frame["year"].iloc[0]), population=float(frame["population"].iloc[0]))
    sub = Submission(Path(f"{name}.xlsx"), profile, "1.0", "", {}, data)
    results = kpis.score(sub)
    return CityReport(sub, results, kpis.recommend(results))


@pytest.mark.parametrize("i", range(N_GENERATED), ids=lambda i: f"{PATTERNS[i % len(PATTERNS)]}-{i}")
def test_generated_city_reports_pass_the_audit(i):
    report = _generated(i)
    assert audit.audit_report(report) == []


def test_a_partial_submission_leads_with_coverage_and_never_calls_a_missing_kpi_a_strength():
    """14 KPIs, one part of a composite reported: the headline shows coverage and 'provisional'."""
    frame = synthetic.cities(1, seed=3)
    codes = frame["code"].drop_duplicates().tolist()
    wireless = frame["code"] == "EC: ICT: ICT: 4C"
    chosen = set(codes[:14]) - {"EC: ICT: ICT: 4C"}
    keep = frame["code"].isin(chosen) | (wireless & (frame["part"] == "coverage_3g"))
    frame = frame.assign(reported=keep.to_numpy())
    frame.loc[frame["part"] == "coverage_3g", ["final_value", "numerator_value"]] = [98.0, np.nan]
    for col in ("numerator_value", "denominator_value", "final_value"):
        frame[col] = frame[col].where(frame["reported"])
    data = frame.assign(source_name="invented", source_link="", comment="", sheet="", row=None)[FRAME_COLUMNS]
    sub = Submission(Path("partial.xlsx"), CityProfile(city="Partial Town", year=2024), "1.0", "", {},
                     data.reset_index(drop=True))
    results = kpis.score(sub)
    report = CityReport(sub, results, kpis.recommend(results))
    assert audit.audit_report(report) == []
    title = str(report.title())
    assert "provisional" in title and "Partial picture" in title
    assert title.index("core KPIs reported") < title.index("provisional overall score")
    strengths = str(report.strengths())
    assert "Wireless Broadband Coverage" not in strengths
    areas = str(report.areas_to_improve())
    assert "Wireless Broadband Coverage" in areas and "4G" in areas and "not reported" in areas
    assert report.coverage.kpis_reported == 14


def test_the_audit_catches_a_planted_contradiction(monkeypatch):
    report = _report_of(demo_city())
    assert audit.audit_report(report) == []
    strong = next(s for s in kpis.narrative.strengths(report.results) if s["code"])
    real = kpis.narrative.areas_to_improve

    def planted(results, number, city=None, year=None, lang="en"):
        return [*real(results, number, city, year, lang), {"title": strong["name"], "text": "planted", "meta": "",
                                                     "codes": [strong["code"]], "verdict": "gap"}]

    monkeypatch.setattr(kpis.narrative, "areas_to_improve", planted)
    problems = audit.audit_report(report)
    assert any("both a strength and an area to improve" in p for p in problems), problems


def test_the_audit_catches_a_figure_that_is_not_the_results():
    report = _report_of(demo_city())
    shown = report.coverage
    report.coverage = dataclasses.replace(shown, points_scored=shown.points_scored + 1)  # what the page would print
    problems = audit.audit_report(report, sections=())
    assert any("points_scored" in p for p in problems), problems
