"""The report auditor: checks that a city report says one thing about each data point and that every figure it
shows is the one the scoring produced. It is what a careful reviewer would do before signing a report, run by the
tests on the bundled cities and on hundreds of generated ones, and available to anyone as
`kpis.audit.audit_report(CityReport.build(...))`.

Each check returns the problems it found as sentences; an empty list means the report passed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import narrative, rules
from .i18n import LRI, PDI
from .recommendation import LOW_BANDS
from .report import CityReport

Check = Callable[[CityReport], list[str]]

#: Sections that a report always shows (charts aside), by method name.
SECTIONS = ("title", "executive_summary", "context", "method", "legend", "strengths", "areas_to_improve",
            "priority_actions", "data_collection_plan", "data_quality", "annex")
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?) %")


def audit_report(report: CityReport, sections: tuple[str, ...] = SECTIONS) -> list[str]:
    """Every problem of one city report (an empty list when it can be signed)."""
    problems: list[str] = []
    for check in CHECKS:
        problems += check(report)
    problems += _sections_not_empty(report, sections)
    return problems


def _one_status_per_point(report: CityReport) -> list[str]:
    k = report.kpis
    bad = k[~k["status"].astype(str).isin(rules.STATUSES)]
    out = [f"{r.code} {r.part}: status {r.status!r} is not one of {rules.STATUSES}" for r in bad.itertuples()]
    dup = k.duplicated(["city", "year", "code", "part"])
    out += [f"{r.code} {r.part}: more than one row" for r in k[dup].itertuples()]
    return out


def _lists_are_disjoint(report: CityReport) -> list[str]:
    strong = {s["code"] for s in narrative.strengths(report.results) if s["code"]}
    weak = {c for item in narrative.areas_to_improve(report.results, report.fmt) for c in item["codes"]}
    plan = {c for r in narrative.data_collection_plan(report.results) for c in r.kpi_codes}
    out = [f"{c} is both a strength and an area to improve" for c in sorted(strong & weak)]
    out += [f"{c} is both a strength and in the data-collection plan" for c in sorted(strong & plan)]
    verdicts = {k.code: k.verdict for k in report.statuses}
    out += [f"{c} is listed as a strength but its verdict is {verdicts[c]}" for c in sorted(strong)
            if verdicts.get(c) != "strength"]
    return out


def _headline_and_summary_match_results(report: CityReport) -> list[str]:
    """The figures the headline and the executive summary print are the ones in `Results`."""
    out = []
    c = report.coverage
    cov = report.results.coverage.iloc[0]
    for name in ("core_reported", "core_total", "points_scored", "points_scorable", "kpis_reported"):
        if getattr(c, name) != int(cov[name]):
            out.append(f"coverage {name}: the report uses {getattr(c, name)}, the results say {int(cov[name])}")
    if c.provisional != bool(cov["provisional"]):
        out.append("the report and the results disagree on whether the score is provisional")
    overall, _ = report._score_of("overall")
    title = str(report.title())
    if overall is not None and report.fmt.pct(overall) not in title:
        out.append(f"the headline does not show the overall score {report.fmt.pct(overall)}")
    for figure in (f"{c.core_reported} / {c.core_total}", f"{c.points_scored}"):
        if figure not in title:
            out.append(f"the headline does not show {figure!r}")
    if c.provisional and "provisional" not in title:
        out.append("a provisional score is not labelled provisional in the headline")
    summary = narrative.executive_summary(report.results, report.recommendations)
    if c.provisional and not summary[0].startswith("The picture is partial"):
        out.append("a provisional report's summary does not say first that the picture is partial")
    text = " ".join(summary)
    shown = rules.display_percent(overall, 1) if overall is not None else ""
    if overall is not None and f"{shown} % overall" not in text:
        out.append(f"the summary does not give the overall score {shown} % as the headline does")
    if f"{c.points_scored} of {c.points_scorable} data points" not in text:
        out.append("the summary does not say how many data points the score rests on")
    return out


def _percentages_stay_in_their_band(report: CityReport) -> list[str]:
    """Every achievement the dimension tables print lies in the band its badge shows."""
    out = []
    for dimension in report.dimensions:
        for row in report._kpi_rows(report.kpis[report.kpis["dimension"] == dimension]):
            match = _PERCENT.fullmatch(row["achievement"].replace("\u202f", "").strip(LRI + PDI))
            shown = rules.parse_number(match.group(1), report.fmt.sign).value if match else None
            if shown is not None and row["band"] in rules.BANDS:
                if rules.band_of(shown) != row["band"]:
                    out.append(f"{row['code']} {row['label']}: {row['achievement']} is shown in band {row['band']}")
    for r in report.summary.dropna(subset=["score"]).itertuples():
        shown = float(rules.display_percent(r.score, 1))
        if rules.band_of(shown) != r.band:
            out.append(f"{r.level} {r.group}: {shown} % is shown in band {r.band}")
    return out


def _priorities_point_to_gaps(report: CityReport) -> list[str]:
    """A priority action is about a scored data point below two-thirds of target, or a missing core KPI."""
    out = []
    for i, rec in enumerate(report.priorities, start=1):
        if rec.kind == "collect_data":
            if not all(t.band is None and t.tier == "core" for t in rec.triggers):
                out.append(f"priority action {i} ({rec.title}) collects data for a KPI that is reported or not core")
            continue
        if not any(t.band in LOW_BANDS for t in rec.triggers):
            bands = ", ".join(str(t.band) for t in rec.triggers)
            out.append(f"priority action {i} ({rec.title}) points to no data point below 66 % (bands {bands})")
    return out


def _counts_agree_between_sections(report: CityReport) -> list[str]:
    k = report.kpis
    reported = int(k.groupby("code", observed=True)["reported"].any().sum())
    per_verdict = sum(1 for s in report.statuses if s.verdict != "not reported")
    out = []
    if reported != report.coverage.kpis_reported:
        out.append(f"KPIs reported: {reported} in the table, {report.coverage.kpis_reported} in the coverage")
    if per_verdict != reported:
        out.append(f"KPIs reported: {per_verdict} by verdict, {reported} in the table")
    return out


def _sections_not_empty(report: CityReport, sections: tuple[str, ...]) -> list[str]:
    out = []
    for name in sections:
        html = str(getattr(report, name)())
        text = re.sub(r"<[^>]+>", "", html).strip()
        if not text or re.search(r"<tbody>\s*</tbody>", html) or re.search(r"<ul>\s*</ul>", html):
            out.append(f"section {name} is empty")
    return out


CHECKS: tuple[Check, ...] = (
    _one_status_per_point, _lists_are_disjoint, _headline_and_summary_match_results,
    _percentages_stay_in_their_band, _priorities_point_to_gaps, _counts_agree_between_sections,
)
