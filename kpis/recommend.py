"""Recommendations: turn a city's scores into ordered, sourced actions it can act on.

The knowledge base (`kpis/catalogue/recommendations.yaml`) is data: per (sub-dimension, category) and per core KPI,
actions for the low bands (<33, 33-66), for "close to target" (66-95) and for "keep doing" (95+), each with the
SDG targets it serves, the standards that apply and its sources. This module validates that file with pydantic
(a malformed entry fails naming the entry) and matches it against `Results.kpis`.

Priority (documented here because reports quote it):

    gap_i    = 100 - achievement_i     for each data point that triggers the action (achievement in % of target,
                                       capped at 100; a missing achievement falls back to the middle of its band)
    gap      = mean of gap_i
    weight   = 1.0 if any triggering KPI is core, else 0.8            (core before advanced)
    breadth  = number of distinct KPIs the action lifts
    priority = gap * weight * (1 + 0.25 * (breadth - 1))             (one action for several weak KPIs ranks higher)

Actions to improve (bands <33 and 33-66) and to close the gap (66-95) are ranked together by this priority
(ties: core first, broader first, catalogue order); data-collection actions follow (core first), then "keep doing".
Everything taken from a submission (measures text, city name) stays plain text: the report escapes it.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import UserError
from .library import CatalogueError, Library, data_dir, explain_validation, read_yaml, library

Band = Literal["<33", "33-66", "66-95", "95+"]
BANDS: tuple[str, ...] = ("<33", "33-66", "66-95", "95+")
LOW_BANDS = frozenset({"<33", "33-66"})
BAND_MIDPOINT = {"<33": 16.5, "33-66": 49.5, "66-95": 80.5, "95+": 100.0}
BAND_WORDS = {
    "<33": "less than a third of target",
    "33-66": "between a third and two-thirds of target",
    "66-95": "close to target",
    "95+": "at target",
}
Kind = Literal["improve", "close_gap", "keep", "collect_data"]
KIND_ORDER = {"improve": 0, "close_gap": 0, "collect_data": 1, "keep": 2}
TIER_WEIGHT = {"core": 1.0, "advanced": 0.8}
BREADTH_BONUS = 0.25
COLLECT_FIELDS = frozenset({"name", "code", "definition", "inputs", "unit", "office"})
SDG_REF = re.compile(r"^(\d{1,2})\.([0-9a-z]{1,2})(?:\.(\d{1,2}))?$")




class RecommendationError(UserError, ValueError):
    """A request the recommendation helpers cannot answer (e.g. an unknown or ambiguous city-year)."""


# ---------------------------------------------------------------- knowledge-base models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _lower_refs(v: list | None) -> list[str]:
    return [str(ref).strip().lower() for ref in (v or [])]


class Source(_Strict):
    """A publication an action rests on; `url` where one is public."""

    title: str = Field(min_length=5)
    url: str | None = Field(default=None, pattern=r"^https://")


class Action(_Strict):
    """One suggested action, valid for the bands it lists."""

    bands: list[Band] = Field(min_length=1)
    title: str = Field(min_length=5, max_length=90)
    text: str = Field(min_length=40)
    sdg: list[str] = Field(default_factory=list)
    standards: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)

    _sdg = field_validator("sdg", mode="before")(_lower_refs)


class _Entry(_Strict):
    sdg: list[str] = Field(default_factory=list)
    standards: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)
    actions: list[Action] = Field(min_length=1)

    _sdg = field_validator("sdg", mode="before")(_lower_refs)


class CategoryEntry(_Entry):
    """Actions for one (sub-dimension, category); `collect` is the data-collection template for its KPIs."""

    sub_dimension: str
    category: str
    office: str = Field(min_length=5)
    collect: str = Field(min_length=40)


class KpiEntry(_Entry):
    """Actions specific to one KPI (every core KPI has one; a few advanced ones too)."""

    code: str
    office: str | None = None


class KnowledgeBase(_Strict):
    version: str
    sdg_targets: dict[int, str]
    standards: dict[str, str]
    sources: dict[str, Source]
    categories: list[CategoryEntry]
    kpis: list[KpiEntry]

    @functools.cached_property
    def valid_targets(self) -> frozenset[str]:
        return frozenset(f"{goal}.{t}" for goal, ts in self.sdg_targets.items() for t in ts.split())

    def category(self, sub_dimension: str, category: str) -> CategoryEntry | None:
        return self._by_category.get((sub_dimension, category))

    def kpi(self, code: str) -> KpiEntry | None:
        return self._by_code.get(code)

    @functools.cached_property
    def _by_category(self) -> dict[tuple[str, str], CategoryEntry]:
        return {(c.sub_dimension, c.category): c for c in self.categories}

    @functools.cached_property
    def _by_code(self) -> dict[str, KpiEntry]:
        return {k.code: k for k in self.kpis}


def sdg_ref_exists(ref: str, valid_targets: Iterable[str]) -> bool:
    """'11.6' or '11.6.2' exists when its target is one of the 169 SDG targets (indicator numbers are not listed)."""
    m = SDG_REF.match(ref)
    return bool(m) and f"{m.group(1)}.{m.group(2)}" in set(valid_targets)


def _entry_problems(entry: _Entry, kb: KnowledgeBase, lib: Library) -> list[str]:
    problems = []
    refs = list(entry.sdg) + [r for a in entry.actions for r in a.sdg]
    problems += [f"SDG reference {r!r} is not an SDG target" for r in refs if not sdg_ref_exists(r, kb.valid_targets)]
    stds = list(entry.standards) + [s for a in entry.actions for s in a.standards]
    problems += [f"standard {s!r} is not listed under 'standards'" for s in stds if s not in kb.standards]
    srcs = list(entry.sources) + [s for a in entry.actions for s in a.sources]
    problems += [f"source {s!r} is not listed under 'sources'" for s in srcs if s not in kb.sources]
    covered = {b for a in entry.actions for b in a.bands}
    missing = [b for b in BANDS if b not in covered]
    if missing:
        problems.append(f"no action for band(s) {', '.join(missing)}")
    if isinstance(entry, CategoryEntry):
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(entry.collect) if f is not None}
        except ValueError as exc:
            fields, _ = set(), problems.append(f"collect template is malformed ({exc})")
        unknown = fields - COLLECT_FIELDS
        if unknown:
            problems.append(f"collect template uses unknown field(s) {sorted(unknown)}; use {sorted(COLLECT_FIELDS)}")
    return problems


def check_knowledge_base(kb: KnowledgeBase, lib: Library, where: str = "recommendations.yaml") -> None:
    """Cross-check against the KPI library: codes, categories, SDG targets, sources; full coverage of categories
    and core KPIs. Raises CatalogueError naming the entry."""
    categories = {(k.sub_dimension, k.category) for k in lib}
    seen: set[tuple[str, str]] = set()
    for c in kb.categories:
        label = f"category {c.category!r} ({c.sub_dimension})"
        if (c.sub_dimension, c.category) not in categories:
            raise CatalogueError(f"{where}: {label} is not a category of the KPI library")
        if (c.sub_dimension, c.category) in seen:
            raise CatalogueError(f"{where}: {label} appears twice")
        seen.add((c.sub_dimension, c.category))
        if problems := _entry_problems(c, kb, lib):
            raise CatalogueError(f"{where}: {label}: {'; '.join(problems)}")
    codes: set[str] = set()
    for k in kb.kpis:
        if k.code not in lib.by_code:
            raise CatalogueError(f"{where}: KPI entry {k.code!r} is not a U4SSC KPI code")
        if k.code in codes:
            raise CatalogueError(f"{where}: KPI {k.code} appears twice")
        codes.add(k.code)
        if problems := _entry_problems(k, kb, lib):
            raise CatalogueError(f"{where}: KPI {k.code}: {'; '.join(problems)}")
    missing_cats = sorted(categories - seen)
    if missing_cats:
        raise CatalogueError(f"{where}: no entry for categories {missing_cats}")
    missing_core = [k.code for k in lib if k.tier == "core" and k.code not in codes]
    if missing_core:
        raise CatalogueError(f"{where}: no entry for core KPIs {', '.join(missing_core)}")


def load_knowledge_base(path: str | Path | None = None, lib: Library | None = None) -> KnowledgeBase:
    """Parse and check a knowledge base (the bundled one by default); entry by entry so errors name the entry."""
    path = Path(path) if path else data_dir() / "recommendations.yaml"
    where = path.name
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping with sdg_targets, standards, sources, categories, kpis")
    for key, model, label in (("categories", CategoryEntry, "category"), ("kpis", KpiEntry, "KPI")):
        entries = raw.get(key)
        if not isinstance(entries, list):
            raise CatalogueError(f"{where}: '{key}' must be a list of entries")
        for i, entry in enumerate(entries, start=1):
            name = entry.get("code") or entry.get("category") if isinstance(entry, dict) else None
            try:
                model.model_validate(entry)
            except ValidationError as exc:
                raise CatalogueError(f"{where}: {label} entry {name or i}: {explain_validation(exc)}") from None
    try:
        kb = KnowledgeBase.model_validate(raw)
    except ValidationError as exc:
        raise CatalogueError(f"{where}: {explain_validation(exc)}") from None
    check_knowledge_base(kb, lib or library(), where)
    return kb


@functools.lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """The bundled knowledge base, parsed and checked once per process."""
    return load_knowledge_base()


# ---------------------------------------------------------------- recommendations


@dataclass(frozen=True)
class Trigger:
    """One data point that made an action fire, with what it takes to reach the next band."""

    code: str
    name: str
    tier: str
    part: str
    point_label: str
    band: str | None
    value: float | None
    unit: str
    achievement: float | None
    next_band: str | None
    next_band_value: float | None
    direction: str = "higher"

    @property
    def needed(self) -> str:
        """'PM2.5: at most 12.1 ug/m3 to reach 66-95' (empty when unknown)."""
        if self.next_band is None or self.next_band_value is None or _isnan(self.next_band_value):
            return ""
        bound = "at most" if self.direction == "lower" else "at least"
        label = self.point_label if self.part else self.name
        return f"{label}: {bound} {self.next_band_value:.4g} {self.unit} to reach {self.next_band}".strip()


@dataclass
class Recommendation:
    """One suggested action for one city-year, tied to the KPIs and bands that triggered it."""

    city: str
    year: Any
    kind: Kind
    title: str
    action: str
    dimension: str
    sub_dimension: str
    category: str
    triggers: tuple[Trigger, ...]
    sdg: tuple[str, ...]
    standards: tuple[str, ...]
    sources: tuple[str, ...]
    priority: float = 0.0
    rank: int = 0
    details: tuple[str, ...] = ()
    city_measures: str = ""
    _order: tuple = field(default=(), repr=False, compare=False)

    @property
    def kpi_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.code for t in self.triggers))

    @property
    def bands(self) -> tuple[str | None, ...]:
        """The worst band of each triggering KPI, in the order of kpi_codes."""
        out = []
        for code in self.kpi_codes:
            bands = [t.band for t in self.triggers if t.code == code and t.band in BANDS]
            out.append(min(bands, key=BANDS.index) if bands else None)
        return tuple(out)

    @property
    def next_band_values(self) -> tuple[str, ...]:
        return tuple(n for n in (t.needed for t in self.triggers) if n)

    @property
    def source(self) -> str:
        return "; ".join(self.sources)

    def as_row(self) -> dict:
        return {
            "city": self.city,
            "year": self.year,
            "rank": self.rank,
            "kind": self.kind,
            "priority": round(self.priority, 1),
            "title": self.title,
            "action": self.action,
            "dimension": self.dimension,
            "sub_dimension": self.sub_dimension,
            "category": self.category,
            "kpi_codes": ", ".join(self.kpi_codes),
            "bands": ", ".join(b or "not reported" for b in self.bands),
            "next_band_values": "; ".join(self.next_band_values),
            "sdg": ", ".join(self.sdg),
            "standards": ", ".join(self.standards),
            "source": self.source,
        }


def to_frame(recommendations: list[Recommendation]):
    """The recommendations as a DataFrame (one row each), for notebooks and exports."""
    import pandas as pd

    rows = [r.as_row() for r in recommendations]
    columns = ["city", "year", "rank", "kind", "priority", "title", "action", "dimension", "sub_dimension",
               "category", "kpi_codes", "bands", "next_band_values", "sdg", "standards", "source"]
    return pd.DataFrame(rows, columns=columns)


def _isnan(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _num(x: object) -> float | None:
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _text(x: object) -> str:
    return "" if _isnan(x) else str(x)


def _truthy(x: object) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in {"true", "yes", "1"}
    return bool(x) and not _isnan(x)


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


@dataclass
class _Kpi:
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
        bands = [p.band for p in self.points if p.band in BANDS]
        return min(bands, key=BANDS.index) if bands else None


def _fold(frame) -> list[_Kpi]:
    """Group the tidy table of one city-year into KPIs, in table order (plain records: pandas groupby per KPI
    costs more than the whole recommendation logic)."""
    groups: dict[str, list[dict]] = {}
    for rec in frame.to_dict("records"):
        groups.setdefault(str(rec["code"]), []).append(rec)
    out: list[_Kpi] = []
    for code, rows in groups.items():
        first = rows[0]
        points = []
        for r in rows:
            if not _truthy(r.get("scored")) or r.get("band") not in BANDS:
                continue
            points.append(
                Trigger(
                    code=code,
                    name=_text(r.get("name")),
                    tier=_text(r.get("tier")) or "core",
                    part=_text(r.get("part")),
                    point_label=_text(r.get("point_label")) or _text(r.get("name")),
                    band=r.get("band"),
                    value=_num(r.get("value")),
                    unit=_text(r.get("unit")),
                    achievement=_num(r.get("achievement")),
                    next_band=_text(r.get("next_band")) or None,
                    next_band_value=_num(r.get("next_band_value")),
                    direction=_text(r.get("direction")) or "higher",
                )
            )
        out.append(
            _Kpi(
                code=code,
                name=_text(first.get("name")),
                dimension=_text(first.get("dimension")),
                sub_dimension=_text(first.get("sub_dimension")),
                category=_text(first.get("category")),
                tier=_text(first.get("tier")) or "core",
                reported=any(_truthy(r.get("reported")) for r in rows) if "reported" in first else bool(points),
                points=points,
            )
        )
    return out


def _refs(kb: KnowledgeBase, entry: _Entry, action: Action, kpi_sdg: Iterable[str] = ()):
    sdg = tuple(dict.fromkeys([*action.sdg, *entry.sdg, *kpi_sdg]))
    standards = tuple(kb.standards[s] for s in dict.fromkeys([*action.standards, *entry.standards]))
    sources = []
    for key in dict.fromkeys([*action.sources, *entry.sources]):
        src = kb.sources[key]
        sources.append(f"{src.title}, {src.url}" if src.url else src.title)
    return sdg, standards, tuple(sources)


def _actions_for(entry: _Entry, bands: Iterable[str]) -> list[Action]:
    bands = set(bands)
    return [a for a in entry.actions if bands & set(a.bands)]


def _measures_for(results, measures, city, year) -> dict[str, str]:
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


def _city_years(frame) -> list[tuple[Any, Any]]:
    if frame.empty:
        return []
    return list(dict.fromkeys(zip(frame["city"], frame["year"], strict=True)))


def _for_city_year(kb: KnowledgeBase, lib: Library, city, year, frame, measures: dict[str, str]):
    kpis = _fold(frame)
    recs: list[Recommendation] = []
    order = {k.code: i for i, k in enumerate(lib)}

    def make(kind, entry, action, group: list[_Kpi], triggers: list[Trigger], details=()):
        first = group[0]
        kpi_sdg = [r for k in group for r in (lib.by_code[k.code].sdg if k.code in lib.by_code else [])]
        sdg, standards, sources = _refs(kb, entry, action, kpi_sdg if isinstance(entry, KpiEntry) else ())
        recs.append(
            Recommendation(
                city=city, year=year, kind=kind, title=action.title, action=action.text.strip(),
                dimension=first.dimension, sub_dimension=first.sub_dimension, category=first.category,
                triggers=tuple(triggers), sdg=sdg, standards=standards, sources=sources,
                priority=priority_score(triggers) if kind in ("improve", "close_gap") else 0.0,
                details=tuple(details), city_measures=measures.get(first.sub_dimension, ""),
                _order=(min(order.get(k.code, 10**6) for k in group),),
            )
        )

    by_category: dict[tuple[str, str], list[_Kpi]] = {}
    for k in kpis:
        by_category.setdefault((k.sub_dimension, k.category), []).append(k)

    for (sub, cat), group in by_category.items():
        cat_entry = kb.category(sub, cat)
        for kind, bands in (("improve", LOW_BANDS), ("close_gap", frozenset({"66-95"}))):
            hit = [(k, [p for p in k.points if p.band in bands]) for k in group]
            hit = [(k, pts) for k, pts in hit if pts]
            uncovered = []
            for k, pts in hit:
                entry = kb.kpi(k.code)
                actions = _actions_for(entry, {p.band for p in pts}) if entry else []
                for action in actions:
                    make(kind, entry, action, [k], pts)
                if not actions:
                    uncovered.append((k, pts))
            # a category action when it lifts several KPIs at once, or when a KPI has no action of its own
            if cat_entry and (len(hit) >= 2 or uncovered):
                chosen = hit if len(hit) >= 2 else uncovered
                for action in _actions_for(cat_entry, {p.band for _, pts in chosen for p in pts}):
                    make(kind, cat_entry, action, [k for k, _ in chosen], [p for _, pts in chosen for p in pts])
        at_target = [(k, [p for p in k.points if p.band == "95+"]) for k in group]
        at_target = [(k, pts) for k, pts in at_target if pts]
        if at_target and cat_entry:
            details = []
            for k, _ in at_target:
                entry = kb.kpi(k.code)
                for action in _actions_for(entry, {"95+"}) if entry else []:
                    details.append(f"{k.name}: {action.text.strip()}")
            for action in _actions_for(cat_entry, {"95+"}):
                make("keep", cat_entry, action, [k for k, _ in at_target], [p for _, pts in at_target for p in pts],
                     details)

    for k in kpis:
        if k.reported or k.code not in lib.by_code:
            continue
        recs.append(collect_action(kb, lib, k.code, city=city, year=year,
                                   city_measures=measures.get(k.sub_dimension, ""), order=order.get(k.code, 0)))
    return recs


def collect_action(kb: KnowledgeBase, lib: Library, code: str, city: str = "", year: Any = None,
                   city_measures: str = "", order: int = 0) -> Recommendation:
    """The data-collection action for one unreported KPI: the category template filled with the KPI's own
    definition and inputs, and the office that usually holds the data."""
    kpi = lib.get(code)
    cat = kb.category(kpi.sub_dimension, kpi.category)
    entry = kb.kpi(kpi.code)
    office = (entry.office if entry and entry.office else None) or (cat.office if cat else "the city statistics unit")
    inputs = "; ".join(f"{i.label} ({i.unit})" for i in kpi.inputs.values())
    template = cat.collect if cat else "Ask {office} for {inputs} to report {name} ({code})."
    text = template.format(name=kpi.name, code=kpi.code, definition=kpi.definition.rstrip("."), inputs=inputs,
                           unit=kpi.unit, office=office)
    sources = [kb.sources[s] for s in ("u4ssc_collection", "y4903") if s in kb.sources]
    trigger = Trigger(code=kpi.code, name=kpi.name, tier=kpi.tier, part="", point_label=kpi.name, band=None,
                      value=None, unit=kpi.unit, achievement=None, next_band=None, next_band_value=None,
                      direction=kpi.direction)
    return Recommendation(
        city=city, year=year, kind="collect_data", title=f"Collect and report {kpi.name}", action=" ".join(text.split()),
        dimension=kpi.dimension, sub_dimension=kpi.sub_dimension, category=kpi.category, triggers=(trigger,),
        sdg=tuple(kpi.sdg), standards=(kb.standards["Y.4903"],) if "Y.4903" in kb.standards else (),
        sources=tuple(f"{s.title}, {s.url}" if s.url else s.title for s in sources),
        details=(f"Usually held by: {office}.",), city_measures=city_measures,
        _order=(0 if kpi.tier == "core" else 1, order),
    )


def _sort_key(r: Recommendation):
    if r.kind == "collect_data":
        return (KIND_ORDER[r.kind], *r._order)
    core = any(t.tier == "core" for t in r.triggers)
    breadth = len(r.kpi_codes)
    if r.kind == "keep":
        return (KIND_ORDER[r.kind], -breadth, *r._order)
    return (KIND_ORDER[r.kind], -round(r.priority, 6), 0 if core else 1, -breadth, *r._order)


def recommend(results, measures: Mapping | None = None) -> list[Recommendation]:
    """Ordered recommendations for every city-year in `results` (a `kpis.scoring.Results`).

    `measures` overrides the submission's "measures adopted" texts: either {(city, year): {sub_dimension: text}}
    or, for a single city, {sub_dimension: text}. Ranks start at 1 for each city-year.
    """
    kb, lib = knowledge_base(), library()
    frame = results.kpis
    out: list[Recommendation] = []
    if frame.empty:
        return out
    for (city, year), sub in frame.groupby(["city", "year"], observed=True, sort=False):
        recs = _for_city_year(kb, lib, city, year, sub, _measures_for(results, measures, city, year))
        recs.sort(key=_sort_key)
        for i, r in enumerate(recs, start=1):
            r.rank = i
        out.extend(recs)
    return out


# ---------------------------------------------------------------- report helpers


def _pick(results, city=None, year=None) -> tuple[Any, Any]:
    pairs = _city_years(results.kpis)
    if city is not None:
        pairs = [p for p in pairs if str(p[0]) == str(city) and (year is None or str(p[1]) == str(year))]
    if not pairs:
        raise RecommendationError(f"no results for city {city!r}" + (f" in {year}" if year is not None else ""))
    if len(pairs) > 1:
        raise RecommendationError("the results hold several city-years; pass city= and year= to choose one")
    return pairs[0]


def _recs_for(recommendations, city, year):
    return [r for r in recommendations if r.city == city and r.year == year]


def priority_actions(results, n: int = 10, recommendations: list[Recommendation] | None = None,
                     city=None, year=None) -> list[Recommendation]:
    """The top `n` actionable recommendations (improve and close the gap; data collection fills remaining places)."""
    city, year = _pick(results, city, year)
    recs = _recs_for(recommendations if recommendations is not None else recommend(results), city, year)
    return [r for r in recs if r.kind != "keep"][:n]


def _scores(results, city, year, level: str):
    s = getattr(results, "summary", None)
    if s is None or s.empty:
        return s
    s = s[(s["level"] == level) & (s["city"] == city) & (s["year"] == year)] if "city" in s else s[s["level"] == level]
    s = s.dropna(subset=["score"]).copy()
    if not s.empty and s["score"].max() <= 1.0 + 1e-9:  # scores given as a fraction: show them in %
        s["score"] = s["score"] * 100
    return s


def strengths(results, city=None, year=None) -> list[dict]:
    """Top-band categories and KPIs (95+ % of target) of one city-year, categories first.

    Each record has level, dimension, sub_dimension, category, code, name, score, band, and for a report list
    title, text, codes and sdg (`pandas.DataFrame(records)` gives a table)."""
    city, year = _pick(results, city, year)
    lib = library()
    frame = results.kpis[(results.kpis["city"] == city) & (results.kpis["year"] == year)]
    out = []
    cats = _scores(results, city, year, "category")
    if cats is not None and not cats.empty:
        for r in cats[cats["band"] == "95+"].sort_values("score", ascending=False, kind="stable").itertuples():
            out.append({"level": "category", "dimension": r.dimension, "sub_dimension": r.sub_dimension,
                        "category": r.category, "code": "", "name": r.category, "score": float(r.score),
                        "band": r.band, "title": f"{r.category} ({r.sub_dimension})",
                        "text": f"The category scores {r.score:.0f} % of the U4SSC targets.", "codes": [], "sdg": []})
    for k in _fold(frame):
        if k.points and k.band == "95+":
            ach = [p.achievement for p in k.points if p.achievement is not None]
            score = min(ach) if ach else 100.0
            out.append({"level": "kpi", "dimension": k.dimension, "sub_dimension": k.sub_dimension,
                        "category": k.category, "code": k.code, "name": k.name, "score": score, "band": "95+",
                        "title": k.name, "text": f"At {score:.0f} % of target ({k.category}).", "codes": [k.code],
                        "sdg": list(lib.by_code[k.code].sdg) if k.code in lib.by_code else []})
    return out


def data_collection_plan(results, city=None, year=None) -> list[Recommendation]:
    """Unreported core KPIs of one city-year as data-collection actions (what to collect, from which office, which
    SDG targets it informs); `to_frame` gives a table."""
    city, year = _pick(results, city, year)
    kb, lib = knowledge_base(), library()
    frame = results.kpis[(results.kpis["city"] == city) & (results.kpis["year"] == year)]
    return [collect_action(kb, lib, k.code, city=city, year=year)
            for k in _fold(frame) if not k.reported and k.tier == "core" and k.code in lib.by_code]


def measures_table(results, recommendations: list[Recommendation], city=None, year=None,
                   per_row: int = 3) -> list[dict]:
    """The case studies' two-column table, one record per sub-dimension in catalogue order: `dimension`,
    `sub_dimension`, `measures` (what the city wrote, plain text) and `actions` (the top `per_row` suggested
    actions; "keep doing" where nothing is weak), plus `measures_adopted` / `suggested_actions` as text."""
    city, year = _pick(results, city, year)
    measures = _measures_for(results, None, city, year)
    recs = _recs_for(recommendations, city, year)
    if recs and any(r.city_measures for r in recs):  # measures given to recommend() take precedence
        for r in recs:
            if r.city_measures:
                measures[r.sub_dimension] = r.city_measures
    structure: dict[tuple[str, str], None] = {}
    for k in library():
        structure.setdefault((k.dimension, k.sub_dimension), None)
    out = []
    for dimension, sub in structure:
        mine = [r for r in recs if r.sub_dimension == sub]
        chosen = [r for r in mine if r.kind in ("improve", "close_gap")][:per_row]
        chosen = chosen or [r for r in mine if r.kind == "keep"][:per_row]
        chosen = chosen or [r for r in mine if r.kind == "collect_data"][:per_row]
        text = measures.get(sub, "").strip()
        out.append({
            "dimension": dimension, "sub_dimension": sub, "measures": text, "actions": chosen,
            "measures_adopted": text or "No measures described in the submission.",
            "suggested_actions": "\n".join(f"{r.title} ({', '.join(r.kpi_codes)}): {r.action}" for r in chosen)
            or "No action suggested: no KPI of this sub-dimension was scored.",
        })
    return out


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s and not s[:2].isupper() else s


def executive_summary(results, recommendations: list[Recommendation], city=None, year=None) -> list[str]:
    """Three to five sentences for a mayor, built only from this city's results (no fixed paragraph)."""
    city, year = _pick(results, city, year)
    lib = library()
    frame = results.kpis[(results.kpis["city"] == city) & (results.kpis["year"] == year)]
    kpis = _fold(frame)
    recs = _recs_for(recommendations, city, year)
    total = len(kpis) or len(lib)
    reported = sum(k.reported for k in kpis)
    scored = [k for k in kpis if k.points]
    sentences = []

    overall = _scores(results, city, year, "overall")
    if overall is not None and not overall.empty:
        o = overall.iloc[0]
        sentences.append(
            f"{city} scores {o.score:.0f} % overall for {year} on the U4SSC method (points earned out of points "
            f"possible), {BAND_WORDS.get(o.band, 'not banded')}, with {len(scored)} of {total} KPIs scored "
            "against a target."
        )
    else:
        sentences.append(f"{city} has {len(scored)} of {total} KPIs scored against a target for {year}.")

    subs = _scores(results, city, year, "sub_dimension")
    if subs is not None and len(subs) >= 2:
        subs = subs.sort_values("score", kind="stable")
        low, high = subs.iloc[0], subs.iloc[-1]
        cats = _scores(results, city, year, "category")
        weak_cat = ""
        if cats is not None and not cats.empty:
            c = cats[cats["sub_dimension"] == low.sub_dimension].sort_values("score", kind="stable")
            if len(c) >= 2:
                weak_cat = f", where {c.iloc[0].category} is lowest at {c.iloc[0].score:.0f} %"
        if high.score - low.score < 1:
            sentences.append(f"All scored sub-dimensions sit at about {high.score:.0f} % of target.")
        else:
            top = list(subs.loc[(subs["score"] - high.score).abs() < 0.5, "sub_dimension"].astype(str))
            best = (f"Its strongest area is {top[0]}" if len(top) == 1
                    else f"Its strongest areas are {_join(top[:3])}" + (" among others" if len(top) > 3 else ""))
            sentences.append(
                f"{best} at {high.score:.0f} % and its weakest is {low.sub_dimension} at {low.score:.0f} %{weak_cat}."
            )

    low_kpis = [k for k in scored if k.band in LOW_BANDS]
    very_low = [k for k in low_kpis if k.band == "<33"]
    if low_kpis:
        names = _join([k.name for k in sorted(low_kpis, key=lambda k: BANDS.index(k.band))[:3]])
        sentences.append(
            f"{len(low_kpis)} KPI{'s are' if len(low_kpis) > 1 else ' is'} below two-thirds of target"
            + ((" (all of them below a third)" if len(very_low) == len(low_kpis) > 1 else
                f" ({len(very_low)} below a third)") if very_low else "")
            + f", notably {names}."
        )

    missing_core = [k for k in kpis if not k.reported and k.tier == "core"]
    if missing_core:
        counts: dict[str, int] = {}
        for k in missing_core:
            counts[k.category] = counts.get(k.category, 0) + 1
        top = [c for c, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:2]]
        sentences.append(
            f"{reported} of {total} KPIs were reported; {len(missing_core)} core "
            f"KPI{'s are' if len(missing_core) > 1 else ' is'} still missing, mostly in {_join(top)}, "
            "and collecting them is part of the plan."
        )
    else:
        sentences.append(f"{reported} of {total} KPIs were reported, including every core KPI.")

    actionable = [r for r in recs if r.kind in ("improve", "close_gap")]
    if actionable:
        firsts = [f"{_lower_first(r.title)} ({_join([_name(lib, c) for c in r.kpi_codes[:2]])})" for r in actionable[:3]]
        sentences.append(f"The first priorities are to {_join(firsts)}.")
    else:
        keep = [r for r in recs if r.kind == "keep"]
        if keep:
            sentences.append(
                f"Every scored KPI meets its target, so no improvement is needed; the task is to keep doing what "
                f"works, starting with: {_lower_first(keep[0].title)} ({keep[0].category})."
            )
    return sentences[:5]


def _name(lib: Library, code: str) -> str:
    return lib.by_code[code].name if code in lib.by_code else code
