"""The report's prose and lists for one city-year, built from its results and recommendations: the executive
summary, strengths, the priority actions, the measures-and-actions table and the data-collection plan.

Every function takes the `Results` (or anything with the same `kpis` and `summary` tables) and picks one city-year:
the only one there is, or the one named by `city=` and `year=` (otherwise `RecommendationError`). Nothing here
decides a band or a priority: those come from `kpis.rules` and `kpis.recommendation`. Text taken from a submission stays
plain text; the report escapes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import rules
from .i18n import DEFAULT_LANGUAGE, N_, KpiText, Translator, group_text, translator
from .knowledge_text import knowledge_base_in
from .library import Library, library
from .recommendation import (
    BASIS_ORDER,
    LOW_BANDS,
    KpiView,
    Recommendation,
    collect_action,
    fold,
    measures_for,
    recommend,
)
from .statuses import Coverage, coverage_of, kpi_statuses, pct, pick, recs_for, rows_for

TOP_BAND = rules.BANDS[-1]
#: How the summary says a band in words.
BAND_WORDS = {
    "<33": N_("less than a third of target"),
    "33-66": N_("between a third and two-thirds of target"),
    "66-95": N_("close to target"),
    "95+": N_("at target"),
}


def kpi_name(code: str, english: str, lang: str) -> str:
    return KpiText(code, "name", None, english).localise(lang)


def _scores(results: Any, city: Any, year: Any, level: str) -> pd.DataFrame | None:
    """The scored groups of one level (category, sub_dimension, dimension, overall) of a city-year, in %."""
    s = getattr(results, "summary", None)
    if s is None or s.empty:
        return s
    s = s[(s["level"] == level) & (s["city"] == city) & (s["year"] == year)] if "city" in s else s[s["level"] == level]
    s = s.dropna(subset=["score"]).copy()
    if not s.empty and s["score"].max() <= 1.0 + 1e-9:  # scores given as a fraction: show them in %
        s["score"] = s["score"] * 100
    return s


# ---------------------------------------------------------------- lists and tables


def priority_actions(results: Any, n: int = 10, recommendations: list[Recommendation] | None = None,
                     city: Any = None, year: Any = None) -> list[Recommendation]:
    """The top `n` priorities, in the engine's order: actions on data points below two-thirds of a standard target,
    then of a reference target, then collecting missing core KPIs, then actions resting only on the project's
    judgement (never first while anything else is there). Closing the last gap of a KPI already at 66-95 % is a
    suggested action per sub-dimension, not a priority."""
    city, year = pick(results, city, year)
    recs = recs_for(recommendations if recommendations is not None else recommend(results), city, year)
    chosen = [r for r in recs if r.kind == "improve"
              or (r.kind == "collect_data" and all(t.tier == "core" for t in r.triggers))][:n]
    judgement = [r for r in chosen if r.kind == "improve" and r.basis == "judgement"]
    others = [r for r in chosen if r not in judgement]
    # a gap against the project's own estimate never leads the list on its own: it follows what rests on an agreed
    # standard, a reference figure or a missing core KPI, and with nothing else it is a suggested action only
    return others + judgement if others else []


def strengths(results: Any, city: Any = None, year: Any = None, lang: str = DEFAULT_LANGUAGE) -> list[dict[str, Any]]:
    """Top-band categories and KPIs (95+ % of target) of one city-year, categories first.

    Each record has level, dimension, sub_dimension, category, code, name, score, band, and for a report list
    title, text, codes and sdg (`pandas.DataFrame(records)` gives a table)."""
    city, year = pick(results, city, year)
    lib, _ = library(), translator(lang)
    statuses = kpi_statuses(results, city, year)
    out = []
    cats = _scores(results, city, year, "category")
    if cats is not None and not cats.empty:
        for r in cats[cats["band"] == TOP_BAND].sort_values("score", ascending=False, kind="stable").itertuples():
            mine = [k for k in statuses if (k.sub_dimension, k.category) == (r.sub_dimension, r.category)]
            if any(k.verdict in ("gap", "partly reported", "not reported") for k in mine):
                continue  # a category with a gap or a missing KPI is not a strength as a whole
            out.append({"level": "category", "dimension": r.dimension, "sub_dimension": r.sub_dimension,
                        "category": r.category, "code": "", "name": r.category, "score": float(r.score),
                        "band": r.band,
                        "title": f"{group_text(r.category, lang)} ({group_text(r.sub_dimension, lang)})",
                        "text": _("Every KPI of the category is reported and the category scores {score} % (points "
                                  "earned out of points possible).", score=pct(r.score, lang)),
                        "codes": [], "sdg": []})
    for k in statuses:
        if k.verdict == "strength":
            ach = [p.achievement for p in k.points if p.achievement is not None]
            score = min(ach) if ach else 100.0
            out.append({"level": "kpi", "dimension": k.dimension, "sub_dimension": k.sub_dimension,
                        "category": k.category, "code": k.code, "name": k.name, "score": score, "band": TOP_BAND,
                        "title": kpi_name(k.code, k.name, lang),
                        "text": _("At {score} % of its target ({category}).", score=pct(score, lang),
                                  category=group_text(k.category, lang)),
                        "codes": [k.code], "sdg": list(lib.by_code[k.code].sdg) if k.code in lib.by_code else []})
    return out


def areas_to_improve(results: Any, number: Callable[[float | None, str], str], city: Any = None,
                     year: Any = None, lang: str = DEFAULT_LANGUAGE) -> list[dict[str, Any]]:
    """KPIs with a data point below two-thirds of target, then core KPIs not (or only partly) reported, each
    described by its data points; `number(value, unit)` formats a figure."""
    statuses = kpi_statuses(results, city, year)
    gaps = sorted((k for k in statuses if k.verdict == "gap"), key=lambda k: (
        min(p.achievement for p in k.points if p.achievement is not None and p.status == "gap"), k.tier != "core"))
    _ = translator(lang)
    tiers = {"core": _("core"), "advanced": _("advanced")}
    items = [{"title": kpi_name(k.code, k.name, lang), "text": k.describe(number, lang),
              "meta": f"{k.code}, {tiers.get(k.tier, k.tier)}", "codes": [k.code], "verdict": k.verdict}
             for k in gaps]
    for k in statuses:
        if k.tier == "core" and k.verdict in ("not reported", "partly reported"):
            text = _("not reported (a core KPI)") if k.verdict == "not reported" else k.describe(number, lang)
            items.append({"title": kpi_name(k.code, k.name, lang), "text": text, "meta": k.code, "codes": [k.code],
                          "verdict": k.verdict})
    return items


def data_collection_plan(results: Any, city: Any = None, year: Any = None,
                         lang: str = DEFAULT_LANGUAGE) -> list[Recommendation]:
    """Unreported core KPIs of one city-year as data-collection actions (what to collect, from which office, which
    SDG targets it informs); `to_frame` gives a table."""
    city, year = pick(results, city, year)
    kb, lib = knowledge_base_in(lang), library()
    return [collect_action(kb, lib, k.code, city=city, year=year, lang=lang)
            for k in kpi_statuses(results, city, year)
            if k.verdict in ("not reported", "partly reported") and k.tier == "core" and k.code in lib.by_code]


def measures_table(results: Any, recommendations: list[Recommendation], city: Any = None, year: Any = None,
                   per_row: int = 3, lang: str = DEFAULT_LANGUAGE) -> list[dict[str, Any]]:
    """The case studies' two-column table, one record per sub-dimension in catalogue order: `dimension`,
    `sub_dimension`, `measures` (what the city wrote, plain text) and `actions` (the top `per_row` suggested
    actions; "keep doing" where nothing is weak), plus `measures_adopted` / `suggested_actions` as text."""
    city, year = pick(results, city, year)
    _ = translator(lang)
    measures = measures_for(results, None, city, year)
    recs = recs_for(recommendations, city, year)
    for r in recs:  # measures given to recommend() take precedence
        if r.city_measures:
            measures[r.sub_dimension] = r.city_measures
    structure = dict.fromkeys((k.dimension, k.sub_dimension) for k in library())
    out = []
    for dimension, sub in structure:
        mine = [r for r in recs if r.sub_dimension == sub]
        chosen = [r for r in mine if r.kind in ("improve", "close_gap")][:per_row]
        chosen = chosen or [r for r in mine if r.kind == "keep"][:per_row]
        chosen = chosen or [r for r in mine if r.kind == "collect_data"][:per_row]
        text = measures.get(sub, "").strip()
        out.append({
            "dimension": dimension, "sub_dimension": sub, "measures": text, "actions": chosen,
            "measures_adopted": text or _("No measures described in the submission."),
            "suggested_actions": "\n".join(f"{r.title} ({', '.join(r.kpi_codes)}): {r.action}" for r in chosen)
            or _("No action suggested: no KPI of this sub-dimension was scored."),
        })
    return out


# ---------------------------------------------------------------- the executive summary


def _join(items: list[str], _: Translator | None = None) -> str:
    if len(items) <= 1:
        return "".join(items)
    _ = _ or translator()
    return _("{items} and {last}", items=_(", ").join(items[:-1]), last=items[-1])


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s and not s[:2].isupper() else s


@dataclass
class _Facts:
    """What the summary's sentences read about one city-year (names and texts in `_.lang`)."""

    results: Any
    city: Any
    year: Any
    lib: Library
    kpis: list[KpiView]
    recs: list[Recommendation]
    _: Translator

    @property
    def lang(self) -> str:
        return self._.lang

    @property
    def total(self) -> int:
        return len(self.kpis) or len(self.lib)

    @property
    def reported(self) -> int:
        return sum(k.reported for k in self.kpis)

    @property
    def scored(self) -> list[KpiView]:
        return [k for k in self.kpis if k.points]

    def scores(self, level: str) -> pd.DataFrame | None:
        return _scores(self.results, self.city, self.year, level)

    @property
    def coverage(self) -> Coverage:
        return coverage_of(self.results, self.city, self.year)

    def name(self, code: str) -> str:
        return kpi_name(code, self.lib.by_code[code].name, self.lang) if code in self.lib.by_code else code

    def group(self, name: object) -> str:
        return group_text(str(name), self.lang)

    def join(self, items: list[str]) -> str:
        return _join(items, self._)


def _partial_sentence(f: _Facts) -> str | None:
    """First, when the score is provisional: the picture is partial, and on how much it rests."""
    c = f.coverage
    if not c.provisional:
        return None
    return f._.ngettext(
        "The picture is partial: {city} reported {n} of the {total} core KPIs for {year}, and {scored} of {scorable} "
        "data points with a target could be scored, so the scores below are provisional and not comparable with a "
        "city that reported more.",
        "The picture is partial: {city} reported {n} of the {total} core KPIs for {year}, and {scored} of {scorable} "
        "data points with a target could be scored, so the scores below are provisional and not comparable with a "
        "city that reported more.",
        c.core_reported, city=f.city, total=c.core_total, year=f.year, scored=c.points_scored,
        scorable=c.points_scorable)


def _overall_sentence(f: _Facts) -> str:
    """The overall score and its band in words, and how many data points it rests on."""
    overall = f.scores("overall")
    c = f.coverage
    _ = f._
    if overall is None or overall.empty:
        return _("{city} has no data point scored against a target for {year}.", city=f.city, year=f.year)
    o = overall.iloc[0]
    values = {"city": f.city, "score": pct(o.score, f.lang, 1), "year": f.year,
              "band": _(BAND_WORDS[o.band]) if o.band in BAND_WORDS else _("not banded"),
              "scored": c.points_scored, "scorable": c.points_scorable}
    if c.provisional:
        return _("{city} scores a provisional {score} % overall for {year} on the U4SSC method (points earned out of "
                 "points possible), {band}, resting on {scored} of {scorable} data points with a target.", **values)
    return _("{city} scores {score} % overall for {year} on the U4SSC method (points earned out of points possible), "
             "{band}, resting on {scored} of {scorable} data points with a target.", **values)


def _areas_sentence(f: _Facts) -> str | None:
    """The strongest and the weakest sub-dimension (and the weakest category within it)."""
    subs = f.scores("sub_dimension")
    if subs is None or len(subs) < 2:
        return None
    _ = f._
    subs = subs.sort_values("score", kind="stable")
    low, high = subs.iloc[0], subs.iloc[-1]
    if high.score - low.score < 1:
        return _("All scored sub-dimensions sit at about {score} % of target.", score=pct(high.score, f.lang))
    weak_cat = ""
    cats = f.scores("category")
    if cats is not None and not cats.empty:
        c = cats[cats["sub_dimension"] == low.sub_dimension].sort_values("score", kind="stable")
        if len(c) >= 2:
            weak_cat = _(", where {category} is lowest at {score} %", category=f.group(c.iloc[0].category),
                         score=pct(c.iloc[0].score, f.lang))
    top = [f.group(t) for t in subs.loc[(subs["score"] - high.score).abs() < 0.5, "sub_dimension"].astype(str)]
    values = {"score": pct(high.score, f.lang), "weakest": f.group(low.sub_dimension),
              "low": pct(low.score, f.lang), "where": weak_cat}
    if len(top) == 1:
        return _("Its strongest area is {area} at {score} % and its weakest is {weakest} at {low} %{where}.",
                 area=top[0], **values)
    if len(top) > 3:
        return _("Its strongest areas are {areas} among others at {score} % and its weakest is {weakest} at {low} "
                 "%{where}.", areas=f.join(top[:3]), **values)
    return _("Its strongest areas are {areas} at {score} % and its weakest is {weakest} at {low} %{where}.",
             areas=f.join(top), **values)


def _weakest_point(k: KpiView) -> Any:
    """The data point of a KPI furthest below its target (the one the summary names)."""
    low = [p for p in k.points if p.band in LOW_BANDS]
    return min(low, key=lambda p: (rules.BANDS.index(p.band or ""), p.achievement if p.achievement is not None
                                   else 100.0))


def _weak_name(k: KpiView) -> str:
    """'Life Expectancy (below the reference figure of 80 years)' for a gap against a reference figure, else the
    name (already in the report's language)."""
    against = _weakest_point(k).against_reference
    return f"{k.name} ({against})" if against else k.name


def _weak_kpis_sentence(f: _Facts) -> str | None:
    """How many KPIs sit in the low bands, how many below a third, and the worst three by name (gaps against a
    standard first, then against a reference figure, then against the project's judgement)."""
    low_kpis = [k for k in f.scored if k.band in LOW_BANDS]
    if not low_kpis:
        return None
    _ = f._
    very_low = [k for k in low_kpis if k.band == rules.BANDS[0]]
    worst = sorted(low_kpis, key=lambda k: (BASIS_ORDER.get(_weakest_point(k).basis, 0),
                                            rules.BANDS.index(k.band or "")))[:3]
    if not very_low:
        how_low = ""
    elif len(very_low) == len(low_kpis) > 1:
        how_low = _(" (all of them below a third)")
    else:
        how_low = _.ngettext(" ({n} below a third)", " ({n} below a third)", len(very_low))
    return _.ngettext("{n} KPI is below two-thirds of target{how_low}, notably {names}.",
                      "{n} KPIs are below two-thirds of target{how_low}, notably {names}.",
                      len(low_kpis), how_low=how_low, names=f.join([_weak_name(k) for k in worst]))


def _coverage_sentence(f: _Facts) -> str:
    """How many KPIs were reported, and where the missing core KPIs are."""
    _ = f._
    missing_core = [k for k in f.kpis if not k.reported and k.tier == "core"]
    if not missing_core:
        return _.ngettext("{n} of {total} KPIs was reported, including every core KPI.",
                          "{n} of {total} KPIs were reported, including every core KPI.", f.reported, total=f.total)
    counts: dict[str, int] = {}
    for k in missing_core:
        counts[k.category] = counts.get(k.category, 0) + 1
    top = f.join([f.group(c) for c, _n in sorted(counts.items(), key=lambda kv: -kv[1])[:2]])
    if f.coverage.provisional:  # the first sentence already gave the counts
        return _("The missing core KPIs are mostly in {groups}; collecting them is part of the plan.", groups=top)
    missing = _.ngettext("{n} core KPI is still missing", "{n} core KPIs are still missing", len(missing_core))
    return _.ngettext("{n} of {total} KPIs was reported; {missing}, mostly in {groups}, and collecting them is part "
                      "of the plan.",
                      "{n} of {total} KPIs were reported; {missing}, mostly in {groups}, and collecting them is part "
                      "of the plan.", f.reported, total=f.total, missing=missing, groups=top)


#: The openings of the priorities sentence, by which actions they name.
PRIORITY_OPENINGS = (
    N_("The first priorities are to {actions}."),
    N_("Against targets that are the project's own estimate rather than an agreed standard or a reference figure, "
       "the suggested steps are to {actions}."),
    N_("The next steps are to {actions}."),
)


def _priorities_sentence(f: _Facts) -> str | None:
    """The first three actions to improve, or, where every scored KPI is at target, the first to keep doing."""
    def judgement(r: Recommendation) -> bool:
        return BASIS_ORDER.get(r.basis, 0) == BASIS_ORDER["judgement"]

    _ = f._
    wanted: tuple[Callable[[Recommendation], bool], ...] = (
        lambda r: r.kind == "improve" and not judgement(r), lambda r: r.kind == "improve",
        lambda r: r.kind == "close_gap")
    for opening, want in zip(PRIORITY_OPENINGS, wanted, strict=True):
        actionable = [r for r in f.recs if want(r)]
        if actionable:
            firsts = [f"{_lower_first(r.title)} ({f.join([f.name(c) for c in r.kpi_codes[:2]])})"
                      for r in actionable[:3]]
            return _(opening, actions=f.join(firsts))
    keep = [r for r in f.recs if r.kind == "keep"]
    if not keep:
        return None
    return _("Every scored KPI meets its target, so no improvement is needed; the task is to keep doing what works, "
             "starting with: {action} ({category}).", action=_lower_first(keep[0].title),
             category=f.group(keep[0].category))


#: The summary's sentences, in order; a step with nothing to say gives None.
SUMMARY_STEPS: tuple[Callable[[_Facts], str | None], ...] = (
    _partial_sentence, _overall_sentence, _areas_sentence, _weak_kpis_sentence, _coverage_sentence,
    _priorities_sentence,
)


def executive_summary(results: Any, recommendations: list[Recommendation], city: Any = None,
                      year: Any = None, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """Three to five sentences for a mayor, built only from this city's results (no fixed paragraph): the overall
    score, the strongest and weakest areas, the weak KPIs, what is missing, and the first priorities (in `lang`;
    `recommendations` made in the same language)."""
    city, year = pick(results, city, year)
    facts = _Facts(results, city, year, library(), fold(rows_for(results, city, year), lang=lang),
                   recs_for(recommendations, city, year), translator(lang))
    sentences = [s for step in SUMMARY_STEPS if (s := step(facts))]
    return sentences[:6]
