"""The report model of one city-year: one verdict per KPI from the one status of each data point
(`rules.status_of`, in `Results.kpis`), and the coverage the overall score rests on. Every section of the report,
the executive summary and the auditor read these, so no two of them can disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import rules
from .i18n import DEFAULT_LANGUAGE, KpiText, decimal_sign, translator
from .library import library
from .recommendation import Recommendation, RecommendationError, city_years

# ---------------------------------------------------------------- choosing the city-year


def pick(results: Any, city: Any = None, year: Any = None) -> tuple[Any, Any]:
    pairs = city_years(results.kpis)
    if city is not None:
        pairs = [p for p in pairs if str(p[0]) == str(city) and (year is None or str(p[1]) == str(year))]
    if not pairs:
        raise RecommendationError(f"no results for city {city!r}" + (f" in {year}" if year is not None else ""))
    if len(pairs) > 1:
        raise RecommendationError("the results hold several city-years; pass city= and year= to choose one")
    return pairs[0]


def recs_for(recommendations: list[Recommendation], city: Any, year: Any) -> list[Recommendation]:
    return [r for r in recommendations if r.city == city and r.year == year]


def rows_for(results: Any, city: Any, year: Any) -> pd.DataFrame:
    return results.kpis[(results.kpis["city"] == city) & (results.kpis["year"] == year)]


def pct(score: float, lang: str = DEFAULT_LANGUAGE, decimals: int = 0) -> str:
    """A score or achievement in % as the prose writes it (rounded inside its band, `rules.display_percent`), with
    the decimal sign of `lang`."""
    text = rules.display_percent(float(score), decimals)
    return text.replace(".", decimal_sign(lang)) if lang != DEFAULT_LANGUAGE else text


# ---------------------------------------------------------------- one status per data point, one verdict per KPI

#: A KPI's place in the report, from the statuses of its data points (`rules.status_of`), decided here once:
#: a gap anywhere makes it a gap; a KPI reported in part is "partly reported" (never a strength while a data point
#: is missing); every scored point at 95+ makes a strength; reported but unscored points only make it context.
VERDICTS = ("gap", "partly reported", "not reported", "on track", "strength", "context")


@dataclass(frozen=True)
class PointStatus:
    """One data point as every section of the report describes it."""

    part: str
    label: str
    status: str
    value: float | None
    unit: str
    achievement: float | None
    target: float | None
    target_basis: str
    reference: float | None


@dataclass(frozen=True)
class KpiStatus:
    """One KPI of one city-year: its verdict and the statuses of its data points."""

    code: str
    name: str
    tier: str
    dimension: str
    sub_dimension: str
    category: str
    verdict: str
    points: tuple[PointStatus, ...]

    @property
    def statuses(self) -> set[str]:
        return {p.status for p in self.points}

    def describe(self, number: Callable[[float | None, str], str], lang: str = DEFAULT_LANGUAGE) -> str:
        """'4G coverage: not reported; 3G coverage: 98 % of target' (one clause per data point of a composite KPI;
        `number(value, unit)` formats a figure; words and labels in `lang`)."""
        _ = translator(lang)
        clauses = []
        for p in self.points:
            value = number(p.value, p.unit)
            if p.status == "not reported":
                what = _("not reported")
            elif p.achievement is not None and p.status in ("strength", "on track", "gap"):
                what = _("{value}, {share} % of target", value=value,
                         share=pct(p.achievement, lang))
            elif p.reference is not None:
                what = _("{value} (reference figure {reference}; a context indicator)", value=value,
                         reference=number(p.reference, p.unit))
            else:
                what = _("{value} (not scored)", value=value)
            label = KpiText(self.code, "points", p.part, p.label).localise(lang) if p.part else p.label
            clauses.append(f"{label}: {what}" if len(self.points) > 1 else what)
        return "; ".join(clauses)


def _verdict(statuses: list[str]) -> str:
    present = set(statuses)
    if "gap" in present:
        return "gap"
    if present == {"not reported"}:
        return "not reported"
    if "not reported" in present:
        return "partly reported"
    scored = [s for s in statuses if s in ("strength", "on track")]
    if scored:
        return "strength" if all(s == "strength" for s in scored) else "on track"
    return "context"


def _float(x: Any) -> float | None:
    return None if x is None or x is pd.NA or (isinstance(x, float) and x != x) else float(x)


def kpi_statuses(results: Any, city: Any = None, year: Any = None) -> list[KpiStatus]:
    """Every KPI of one city-year with its verdict, in catalogue order: what strengths, areas to improve, the data
    plan, the headline and the summary all read, so that no KPI lands in two contradictory lists."""
    city, year = pick(results, city, year)
    rows = rows_for(results, city, year)
    if "status" not in rows:  # results assembled by hand, without the scoring engine's statuses
        band = rows["band"].map(lambda b: rules.BANDS.index(b) if b in rules.BANDS else -1).to_numpy()
        rows = rows.assign(status=rules.status_of(band, rows["reported"].to_numpy(dtype=bool), False))
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in rows.to_dict("records"):  # plain records: a pandas groupby per KPI costs ~1 s per report
        groups.setdefault(str(rec["code"]), []).append(rec)
    out = []
    for code, group in groups.items():
        first = group[0]
        points = tuple(
            PointStatus(
                part=str(r["part"] or ""), label=str(r["point_label"]) if r["part"] else str(r["name"]),
                status=str(r["status"]), value=_float(r["value"]), unit=str(r["unit"]),
                achievement=_float(r["achievement"]) if r["scored"] else None, target=_float(r["target"]),
                target_basis=str(r.get("target_basis") or ""), reference=_float(r.get("reference")),
            )
            for r in group
        )
        out.append(KpiStatus(code, str(first["name"]), str(first["tier"]), str(first["dimension"]),
                             str(first["sub_dimension"]), str(first["category"]),
                             _verdict([p.status for p in points]), points))
    return out


@dataclass(frozen=True)
class Coverage:
    """What a city-year's overall score rests on (from `Results.coverage`, or counted when it is missing)."""

    core_reported: int
    core_total: int
    points_scored: int
    points_scorable: int
    kpis_reported: int
    kpis_total: int
    provisional: bool


def coverage_of(results: Any, city: Any = None, year: Any = None) -> Coverage:
    """The coverage row of one city-year: the headline, the summary and the audit all read these numbers."""
    city, year = pick(results, city, year)
    cov = getattr(results, "coverage", None)
    if cov is not None and not cov.empty and "points_scorable" in cov:
        row = cov[(cov["city"] == city) & (cov["year"] == year)].iloc[0]
        return Coverage(int(row.core_reported), int(row.core_total), int(row.points_scored),
                        int(row.points_scorable), int(row.kpis_reported), int(row.kpis_total), bool(row.provisional))
    rows = rows_for(results, city, year)
    per_kpi = rows.groupby("code", observed=True).agg(reported=("reported", "any"), tier=("tier", "first"))
    core = per_kpi[per_kpi["tier"] == "core"]
    core_reported, core_total = int(core["reported"].sum()), len(library().core_codes())
    return Coverage(core_reported, core_total, int(rows["scored"].sum()), int(rows["target"].notna().sum()),
                    int(per_kpi["reported"].sum()), len(library()), bool(rules.is_provisional(core_reported,
                                                                                                core_total)))
