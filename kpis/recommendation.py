"""Recommendations: turn a city's scores into ordered, sourced actions it can act on.

The actions come from the knowledge base (`kpis.knowledge`; `knowledge_base` is importable from here too, as the
render workers warm it); this module matches it against `Results.kpis` and orders what fires. The report prose built from the recommendations (summary, strengths, tables) is
`kpis.narrative`.

Priority (documented here because reports quote it):

    gap_i    = 100 - achievement_i     for each data point that triggers the action (achievement in % of target,
                                       capped at 100; a missing achievement falls back to the middle of its band)
    gap      = mean of gap_i
    weight   = 1.0 if any triggering KPI is core, else 0.8            (core before advanced)
    breadth  = number of distinct KPIs the action lifts
    priority = gap * weight * (1 + 0.25 * (breadth - 1))             (one action for several weak KPIs ranks higher)

Which actions fire: a data point's own KPI entry first; a category's actions only for the KPIs its `applies_to`
lists (when several listed KPIs are weak at once, or when a listed KPI has no action of its own). A context
indicator (status "context", or marked `context:` in the library) never triggers an action.

Order, by the basis of the targets behind each action (`target_basis` of the results; a target without a basis,
e.g. a city's own strategy, counts as standard):

    1. actions to improve (bands <33, 33-66) resting on a `standard` target,
    2. the same resting on a `reference` target (an average or a peer figure; the action says "below the
       reference figure of ..."),
    3. collecting missing core KPIs,
    4. actions to improve resting only on `judgement` targets (the project's own estimate): never a first
       priority while a standard or reference gap, or a missing core KPI, is there,
    5. actions to close the gap (66-95), standard and reference before judgement,
    6. collecting missing advanced KPIs, then "keep doing".

An action takes the strongest basis among its triggers. Within a group: this priority (ties: core first, broader
first, catalogue order). Everything taken from a submission (measures text, city name) stays plain text: the report
escapes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import rules
from .display import label_with_unit
from .errors import UserError
from .i18n import DEFAULT_LANGUAGE, KpiText, translator, unit_words
from .knowledge import Action, CategoryEntry, Entry, KnowledgeBase, KpiEntry, context_points
from .knowledge_text import knowledge_base_in
from .library import Library, library
from .recommendation_model import (  # Recommendation, Trigger and to_frame are public here too
    BASIS_ORDER,
    FRAME_COLUMNS,
    Kind,
    Recommendation,
    Trigger,
    _num,
    _text,
    _truthy,
    _worst_band,
    to_frame,
)

__all__ = ["FRAME_COLUMNS", "LOW_BANDS", "KpiView", "Recommendation", "RecommendationError", "Trigger", "city_years",
           "collect_action", "fold", "measures_for", "priority_score", "recommend", "to_frame"]

#: Bands where an action to improve fires (<33, 33-66); the next band (66-95) gets "close the gap"; the top band
#: (95+) "keep doing".
LOW_BANDS = frozenset(rules.BANDS[:2])
CLOSE_BANDS = frozenset(rules.BANDS[2:3])
TOP_BAND = rules.BANDS[-1]
#: The achievement assumed for a data point whose band is known but whose achievement is not: the middle of the
#: band (16.5, 49.5, 80.5), and 100 in the top band (no gap left).
BAND_MIDPOINT = {
    band: (rules.band_floor(i) + rules.band_floor(i + 1)) / 2 if band != TOP_BAND else 100.0
    for i, band in enumerate(rules.BANDS)
}
KIND_ORDER = {"improve": 0, "close_gap": 0, "collect_data": 1, "keep": 2}
#: The groups of the ranking (see the module docstring).
(GROUP_STANDARD, GROUP_REFERENCE, GROUP_CORE_DATA, GROUP_JUDGEMENT, GROUP_CLOSE, GROUP_CLOSE_JUDGEMENT,
 GROUP_OTHER_DATA, GROUP_KEEP) = range(8)
TIER_WEIGHT = {"core": 1.0, "advanced": 0.8}
BREADTH_BONUS = 0.25


class RecommendationError(UserError, ValueError):
    """A request the recommendation helpers cannot answer (e.g. an unknown or ambiguous city-year)."""


# ---------------------------------------------------------------- priority


def _gap(t: Trigger) -> float:
    ach = t.achievement if t.achievement is not None else BAND_MIDPOINT.get(t.band or "", 50.0)
    return max(0.0, 100.0 - min(100.0, ach))


def priority_score(triggers: Iterable[Trigger]) -> float:
    """The documented priority: mean gap x tier weight x breadth factor (see the module docstring)."""
    triggers = list(triggers)
    if not triggers:
        return 0.0
    gap = sum(_gap(t) for t in triggers) / len(triggers)
    weight = max(TIER_WEIGHT.get(t.tier, 0.8) for t in triggers)
    breadth = len({t.code for t in triggers})
    return gap * weight * (1 + BREADTH_BONUS * (breadth - 1))


def rank_group(r: Recommendation) -> int:
    """The group of the ranking an action falls in (see the module docstring)."""
    if r.kind == "keep":
        return GROUP_KEEP
    if r.kind == "collect_data":
        return GROUP_CORE_DATA if all(t.tier == "core" for t in r.triggers) else GROUP_OTHER_DATA
    judgement = BASIS_ORDER.get(r.basis, 0) == BASIS_ORDER["judgement"]
    if r.kind == "close_gap":
        return GROUP_CLOSE_JUDGEMENT if judgement else GROUP_CLOSE
    return (GROUP_STANDARD, GROUP_REFERENCE, GROUP_JUDGEMENT)[BASIS_ORDER.get(r.basis, 0)]


def _sort_key(r: Recommendation) -> tuple[float, ...]:
    group = rank_group(r)
    if r.kind == "collect_data":
        return (group, *r._order)
    core = any(t.tier == "core" for t in r.triggers)
    breadth = len(r.kpi_codes)
    if r.kind == "keep":
        return (group, -breadth, *r._order)
    return (group, -round(r.priority, 6), 0 if core else 1, -breadth, *r._order)


# ---------------------------------------------------------------- reading the results table


@dataclass
class KpiView:
    """One KPI of one city-year, folded from its data-point rows."""

    code: str
    name: str
    dimension: str
    sub_dimension: str
    category: str
    tier: str
    reported: bool
    points: list[Trigger]  # scored data points

    @property
    def band(self) -> str | None:
        return _worst_band(p.band for p in self.points)


def _trigger(code: str, r: dict[str, Any], lang: str = DEFAULT_LANGUAGE) -> Trigger:
    name, part = _text(r.get("name")), _text(r.get("part"))
    label = _text(r.get("point_label")) or name
    return Trigger(
        code=code,
        name=KpiText(code, "name", None, name).localise(lang),
        tier=_text(r.get("tier")) or "core",
        part=part,
        point_label=KpiText(code, "points", part, label).localise(lang) if part else label,
        band=r.get("band"),
        value=_num(r.get("value")),
        unit=_text(r.get("unit")),
        achievement=_num(r.get("achievement")),
        next_band=_text(r.get("next_band")) or None,
        next_band_value=_num(r.get("next_band_value")),
        direction=_text(r.get("direction")) or "higher",
        target=_num(r.get("target")),
        basis=_text(r.get("target_basis")),
        lang=lang,
    )


def _actionable(code: str, r: dict[str, Any], context: set[tuple[str, str]]) -> bool:
    """A scored data point in a band that is not a context indicator (which gets no action)."""
    return (_truthy(r.get("scored")) and r.get("band") in rules.BANDS and r.get("status") != "context"
            and (code, _text(r.get("part"))) not in context)


def fold(frame: pd.DataFrame, lib: Library | None = None, lang: str = DEFAULT_LANGUAGE) -> list[KpiView]:
    """Group the tidy table of one city-year into KPIs, in table order (plain records: pandas groupby per KPI
    costs more than the whole recommendation logic). `points` are the data points an action can be about: scored,
    banded, not context. KPI names and data-point labels are in `lang`; groups stay the library's keys."""
    context = context_points(lib or library())
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in frame.to_dict("records"):
        groups.setdefault(str(rec["code"]), []).append(rec)
    out: list[KpiView] = []
    for code, rows in groups.items():
        first = rows[0]
        points = [_trigger(code, r, lang) for r in rows if _actionable(code, r, context)]
        out.append(
            KpiView(
                code=code,
                name=KpiText(code, "name", None, _text(first.get("name"))).localise(lang),
                dimension=_text(first.get("dimension")),
                sub_dimension=_text(first.get("sub_dimension")),
                category=_text(first.get("category")),
                tier=_text(first.get("tier")) or "core",
                reported=any(_truthy(r.get("reported")) for r in rows) if "reported" in first else bool(points),
                points=points,
            )
        )
    return out


def city_years(frame: pd.DataFrame) -> list[tuple[Any, Any]]:
    """The (city, year) pairs of a results table, in table order."""
    if frame.empty:
        return []
    return list(dict.fromkeys(zip(frame["city"], frame["year"], strict=True)))


def measures_for(results: Any, measures: Mapping[Any, Any] | None, city: Any, year: Any) -> dict[str, str]:
    """The sub-dimension -> text mapping of a city-year: from `measures` if given, else from the submission."""
    source = measures if measures is not None else getattr(results, "measures", None) or {}
    if not isinstance(source, Mapping):
        return {}
    if (city, year) in source:
        return {str(k): _text(v) for k, v in (source[(city, year)] or {}).items()}
    if any(isinstance(k, tuple) for k in source):
        for key, value in source.items():  # years may differ in type (2024 vs '2024')
            if isinstance(key, tuple) and len(key) == 2 and str(key[0]) == str(city) and str(key[1]) == str(year):
                return {str(k): _text(v) for k, v in (value or {}).items()}
        return {}
    return {str(k): _text(v) for k, v in source.items()}


# ---------------------------------------------------------------- matching the knowledge base


@dataclass(frozen=True)
class _CityYear:
    """What every recommendation of one city-year shares."""

    kb: KnowledgeBase
    lib: Library
    city: Any
    year: Any
    measures: dict[str, str]
    order: dict[str, int]  # catalogue position of each KPI code
    lang: str = DEFAULT_LANGUAGE

    def make(self, kind: Kind, entry: Entry, action: Action, group: Sequence[KpiView], triggers: list[Trigger],
             details: Iterable[str] = ()) -> Recommendation:
        """One recommendation: `action` of `entry` for the KPIs of `group`, fired by `triggers`."""
        first = group[0]
        kpi_sdg = ([r for k in group for r in (self.lib.by_code[k.code].sdg if k.code in self.lib.by_code else [])]
                   if isinstance(entry, KpiEntry) else [])
        sdg, standards, sources = self.kb.references(entry, action, kpi_sdg)
        text = " ".join(action.text.split())
        if against := [t.against for t in triggers if t.against]:
            text += " (" + "; ".join(against) + ".)"
        return Recommendation(
            city=self.city, year=self.year, kind=kind, title=action.title, action=text,
            dimension=first.dimension, sub_dimension=first.sub_dimension, category=first.category,
            triggers=tuple(triggers), sdg=sdg, standards=standards, sources=sources,
            priority=priority_score(triggers) if kind in ("improve", "close_gap") else 0.0,
            details=tuple(details), city_measures=self.measures.get(first.sub_dimension, ""),
            _order=(min(self.order.get(k.code, 10**6) for k in group),),
        )


def _gap_actions(cy: _CityYear, category: CategoryEntry | None, group: list[KpiView], kind: Kind,
                 bands: frozenset[str]) -> list[Recommendation]:
    """Actions for the KPIs of one category with a data point in `bands`: each KPI's own actions, then the
    category's for the KPIs it lists (`applies_to`) when it lifts several of them at once or when a listed KPI has
    no action of its own."""
    hit = [(k, [p for p in k.points if p.band in bands]) for k in group]
    hit = [(k, pts) for k, pts in hit if pts]
    recs: list[Recommendation] = []
    uncovered = []
    for k, pts in hit:
        entry = cy.kb.kpi(k.code)
        actions = entry.actions_for(p.band for p in pts) if entry is not None else []
        if entry is None or not actions:
            uncovered.append((k, pts))
            continue
        recs += [cy.make(kind, entry, action, [k], pts) for action in actions]
    if category is None:
        return recs
    listed = [(k, pts) for k, pts in hit if category.lists(k.code)]
    uncovered = [(k, pts) for k, pts in uncovered if category.lists(k.code)]
    if len(listed) >= 2 or uncovered:
        chosen = listed if len(listed) >= 2 else uncovered
        kpis, triggers = [k for k, _ in chosen], [p for _, pts in chosen for p in pts]
        recs += [cy.make(kind, category, action, kpis, triggers)
                 for action in category.actions_for(p.band for p in triggers)]
    return recs


def _keep_actions(cy: _CityYear, category: CategoryEntry | None, group: list[KpiView]) -> list[Recommendation]:
    """The category's "keep doing" actions for the KPIs it lists at target, each KPI's own advice as details; a
    KPI at target that the category does not list keeps its own "keep doing" actions."""
    at_target = [(k, [p for p in k.points if p.band == TOP_BAND]) for k in group]
    at_target = [(k, pts) for k, pts in at_target if pts]
    listed = [(k, pts) for k, pts in at_target if category is not None and category.lists(k.code)]
    recs: list[Recommendation] = []
    for k, pts in at_target:
        entry = cy.kb.kpi(k.code)
        if entry is not None and (k, pts) not in listed:
            recs += [cy.make("keep", entry, action, [k], pts) for action in entry.actions_for([TOP_BAND])]
    if not listed or category is None:
        return recs
    details = []
    for k, _ in listed:
        entry = cy.kb.kpi(k.code)
        for action in entry.actions_for([TOP_BAND]) if entry is not None else []:
            details.append(f"{k.name}: {' '.join(action.text.split())}")
    kpis, triggers = [k for k, _ in listed], [p for _, pts in listed for p in pts]
    return recs + [cy.make("keep", category, action, kpis, triggers, details)
                   for action in category.actions_for([TOP_BAND])]


def _for_city_year(cy: _CityYear, frame: pd.DataFrame) -> list[Recommendation]:
    """Every recommendation of one city-year, unordered: per category the actions to improve, to close the gap
    and to keep doing; then one data-collection action per unreported KPI."""
    kpis = fold(frame, cy.lib, cy.lang)
    by_category: dict[tuple[str, str], list[KpiView]] = {}
    for k in kpis:
        by_category.setdefault((k.sub_dimension, k.category), []).append(k)
    recs: list[Recommendation] = []
    for (sub, cat), group in by_category.items():
        category = cy.kb.category(sub, cat)
        recs += _gap_actions(cy, category, group, "improve", LOW_BANDS)
        recs += _gap_actions(cy, category, group, "close_gap", CLOSE_BANDS)
        recs += _keep_actions(cy, category, group)
    recs += [collect_action(cy.kb, cy.lib, k.code, city=cy.city, year=cy.year,
                            city_measures=cy.measures.get(k.sub_dimension, ""), order=cy.order.get(k.code, 0),
                            lang=cy.lang)
             for k in kpis if not k.reported and k.code in cy.lib.by_code]
    return recs


def collect_action(kb: KnowledgeBase, lib: Library, code: str, city: str = "", year: Any = None,
                   city_measures: str = "", order: int = 0, lang: str = DEFAULT_LANGUAGE) -> Recommendation:
    """The data-collection action for one unreported KPI: the category template filled with the KPI's own
    definition and inputs, and the office that usually holds the data (all in `lang`; `kb` in that language)."""
    _ = translator(lang)
    kpi = lib.get(code)
    cat = kb.category(kpi.sub_dimension, kpi.category)
    entry = kb.kpi(kpi.code)
    office = (entry.office if entry and entry.office else None) or (cat.office if cat else _("the city statistics unit"))
    inputs = "; ".join(label_with_unit(KpiText(kpi.code, "inputs", key, i.label).localise(lang),
                                       unit_words(i.unit, lang))
                       for key, i in kpi.inputs.items())
    name = KpiText(kpi.code, "name", None, kpi.name).localise(lang)
    definition = KpiText(kpi.code, "definition", None, kpi.definition).localise(lang)
    template = cat.collect if cat else _("Ask {office} for {inputs} to report {name} ({code}).")
    text = template.format(name=name, code=kpi.code, definition=definition.rstrip("."), inputs=inputs,
                           unit=unit_words(kpi.unit, lang), office=office)
    sources = [kb.sources[s] for s in ("u4ssc_collection", "y4903") if s in kb.sources]
    trigger = Trigger(code=kpi.code, name=name, tier=kpi.tier, part="", point_label=name, band=None,
                      value=None, unit=kpi.unit, achievement=None, next_band=None, next_band_value=None,
                      direction=kpi.direction, lang=lang)
    return Recommendation(
        city=city, year=year, kind="collect_data", title=_("Collect and report {name}", name=name),
        action=" ".join(text.split()),
        dimension=kpi.dimension, sub_dimension=kpi.sub_dimension, category=kpi.category, triggers=(trigger,),
        sdg=tuple(kpi.sdg), standards=(kb.standards["Y.4903"],) if "Y.4903" in kb.standards else (),
        sources=tuple(s.citation for s in sources),
        details=(_("Usually held by: {office}.", office=office),), city_measures=city_measures,
        _order=(0 if kpi.tier == "core" else 1, order),
    )


def recommend(results: Any, measures: Mapping[Any, Any] | None = None,
              lang: str = DEFAULT_LANGUAGE) -> list[Recommendation]:
    """Ordered recommendations for every city-year in `results` (a `kpis.results.Results`).

    `measures` overrides the submission's "measures adopted" texts: either {(city, year): {sub_dimension: text}}
    or, for a single city, {sub_dimension: text}. Ranks start at 1 for each city-year. `lang`: the language of the
    action texts (`kpis/locale/<lang>/recommendations.yaml`, English where a text is missing) and KPI names.
    """
    kb, lib = knowledge_base_in(lang), library()
    frame = results.kpis
    out: list[Recommendation] = []
    if frame.empty:
        return out
    order = {k.code: i for i, k in enumerate(lib)}
    for (city, year), sub in frame.groupby(["city", "year"], observed=True, sort=False):
        cy = _CityYear(kb, lib, city, year, measures_for(results, measures, city, year), order, lang)
        recs = _for_city_year(cy, sub)
        recs.sort(key=_sort_key)
        for i, r in enumerate(recs, start=1):
            r.rank = i
        out.extend(recs)
    return out
