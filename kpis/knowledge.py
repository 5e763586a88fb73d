"""The recommendation knowledge base (`kpis/catalogue/recommendations.yaml`): its schema, loader and checks.

The file is data: per (sub-dimension, category) and per core KPI, actions for the low bands (<33, 33-66), for
"close to target" (66-95) and for "keep doing" (95+), each with the SDG targets it serves, the standards that apply
and its sources. A category's actions apply only to the KPIs its `applies_to` lists; a context indicator (a sector
share of employment, police numbers...) gets no action. Every data point that can be scored has, in every band, an
action about its own KPI: from its KPI entry or from a category entry that lists it. The file is validated with
pydantic entry by entry (a malformed entry fails naming the entry) and then cross-checked against the KPI library;
any problem is a `CatalogueError` naming the file and the entry. The recommendation engine
(`kpis.recommendation`) reads it; this module knows nothing of scores.

`recommendations_markdown()` writes the whole knowledge base as one reviewable table (docs/recommendations.md):
`python -m kpis.knowledge > docs/recommendations.md`.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import rules
from .library import CatalogueError, Library, Targets, data_dir, explain_validation, library, load_targets, read_yaml

#: The bands an action may list: `rules.BANDS` spelled out for the schema (a test keeps the two equal).
Band = Literal["<33", "33-66", "66-95", "95+"]

#: Fields a category's data-collection template (`collect`) may use.
COLLECT_FIELDS = frozenset({"name", "code", "definition", "inputs", "unit", "office"})
#: An SDG target ('11.6', '16.b') or indicator ('11.6.2').
SDG_REF = re.compile(r"^(\d{1,2})\.([0-9a-z]{1,2})(?:\.(\d{1,2}))?$")


# ---------------------------------------------------------------- schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _lower_refs(v: list[object] | None) -> list[str]:
    return [str(ref).strip().lower() for ref in (v or [])]


class Source(_Strict):
    """A publication an action rests on; `url` where one is public."""

    title: str = Field(min_length=5)
    url: str | None = Field(default=None, pattern=r"^https://")

    @property
    def citation(self) -> str:
        """'Title, https://…' (the title alone where there is no URL)."""
        return f"{self.title}, {self.url}" if self.url else self.title


class Action(_Strict):
    """One suggested action, valid for the bands it lists."""

    bands: list[Band] = Field(min_length=1)
    title: str = Field(min_length=5, max_length=90)
    text: str = Field(min_length=40)
    sdg: list[str] = Field(default_factory=list)
    standards: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)

    _sdg = field_validator("sdg", mode="before")(_lower_refs)


class Entry(_Strict):
    """What category and KPI entries share: references and the actions per band."""

    sdg: list[str] = Field(default_factory=list)
    standards: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)
    actions: list[Action] = Field(default_factory=list)

    _sdg = field_validator("sdg", mode="before")(_lower_refs)

    def actions_for(self, bands: Iterable[str | None]) -> list[Action]:
        """The actions valid for any of `bands`, in file order."""
        wanted = set(bands)
        return [a for a in self.actions if wanted.intersection(a.bands)]


class CategoryEntry(Entry):
    """Actions for one (sub-dimension, category), valid only for the KPIs listed in `applies_to` (codes of the
    category; a context indicator is never listed); `collect` is the data-collection template for all its KPIs."""

    sub_dimension: str
    category: str
    office: str = Field(min_length=5)
    collect: str = Field(min_length=40)
    applies_to: list[str] = Field(default_factory=list)

    def lists(self, code: str) -> bool:
        """Whether the category's actions are about KPI `code`."""
        return code in self.applies_to


class KpiEntry(Entry):
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

    def point_actions(self, code: str, sub_dimension: str, category: str, band: str) -> list[tuple[Entry, Action]]:
        """The actions a data point of KPI `code` gets in `band` when it is the only weak KPI of its category: its
        own entry's, else its category's when the category lists it (what docs/recommendations.md shows)."""
        own = self.kpi(code)
        if own is not None and (actions := own.actions_for([band])):
            return [(own, a) for a in actions]
        cat = self.category(sub_dimension, category)
        if cat is not None and cat.lists(code):
            return [(cat, a) for a in cat.actions_for([band])]
        return []

    def references(
        self, entry: Entry, action: Action, kpi_sdg: Iterable[str] = ()
    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(SDG targets, standard titles, source citations) of an action: its own first, then its entry's, then
        `kpi_sdg`; each once."""
        sdg = tuple(dict.fromkeys([*action.sdg, *entry.sdg, *kpi_sdg]))
        standards = tuple(self.standards[s] for s in dict.fromkeys([*action.standards, *entry.standards]))
        sources = tuple(self.sources[s].citation for s in dict.fromkeys([*action.sources, *entry.sources]))
        return sdg, standards, sources

    @functools.cached_property
    def _by_category(self) -> dict[tuple[str, str], CategoryEntry]:
        return {(c.sub_dimension, c.category): c for c in self.categories}

    @functools.cached_property
    def _by_code(self) -> dict[str, KpiEntry]:
        return {k.code: k for k in self.kpis}


# ---------------------------------------------------------------- checks


def sdg_ref_exists(ref: str, valid_targets: Iterable[str]) -> bool:
    """'11.6' or '11.6.2' exists when its target is one of the 169 SDG targets (indicator numbers are not listed)."""
    m = SDG_REF.match(ref)
    if m is None:
        return False
    targets = valid_targets if isinstance(valid_targets, set | frozenset) else set(valid_targets)
    return f"{m.group(1)}.{m.group(2)}" in targets


def _collect_template_problems(template: str) -> list[str]:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        return [f"collect template is malformed ({exc})"]
    unknown = fields - COLLECT_FIELDS
    if unknown:
        return [f"collect template uses unknown field(s) {sorted(unknown)}; use {sorted(COLLECT_FIELDS)}"]
    return []


def _entry_problems(entry: Entry, kb: KnowledgeBase, needs_actions: bool = True) -> list[str]:
    """Unknown SDG targets, standards and sources, bands without an action (unless the entry is for a context
    indicator, `needs_actions=False`, which must have none), a broken collect template."""
    refs = list(entry.sdg) + [r for a in entry.actions for r in a.sdg]
    problems = [f"SDG reference {r!r} is not an SDG target" for r in refs if not sdg_ref_exists(r, kb.valid_targets)]
    stds = list(entry.standards) + [s for a in entry.actions for s in a.standards]
    problems += [f"standard {s!r} is not listed under 'standards'" for s in stds if s not in kb.standards]
    srcs = list(entry.sources) + [s for a in entry.actions for s in a.sources]
    problems += [f"source {s!r} is not listed under 'sources'" for s in srcs if s not in kb.sources]
    covered = {b for a in entry.actions for b in a.bands}
    missing = [b for b in rules.BANDS if b not in covered]
    if not needs_actions and entry.actions:
        problems.append("actions for no scorable KPI: a context indicator gets none, and a category's actions need "
                        "the KPIs they are about in 'applies_to'")
    elif needs_actions and missing:
        problems.append(f"no action for band(s) {', '.join(missing)}")
    if isinstance(entry, CategoryEntry):
        problems += _collect_template_problems(entry.collect)
    return problems


def context_points(lib: Library) -> set[tuple[str, str]]:
    """(code, part) of every context data point: described, never scored by the default targets, never acted on."""
    out = set()
    for k in lib:
        if k.parts:
            out |= {(k.code, p.name) for p in k.parts if p.context}
        elif k.context:
            out.add((k.code, ""))
    return out


def scorable_points(lib: Library) -> list[tuple[str, str, str, str]]:
    """(code, part, label, direction) of every data point that is not context, in catalogue order: the points
    that need an action in every band."""
    ctx = context_points(lib)
    return [(k.code, part, label, direction) for k in lib for part, label, _, direction, *_ in k.data_points()
            if (k.code, part) not in ctx and direction in ("higher", "lower")]


def _applies_to_problems(c: CategoryEntry, lib: Library, scorable: set[str]) -> list[str]:
    problems = []
    for code in c.applies_to:
        kpi = lib.by_code.get(code)
        if kpi is None or (kpi.sub_dimension, kpi.category) != (c.sub_dimension, c.category):
            problems.append(f"applies_to lists {code!r}, which is not a KPI of this category")
        elif code not in scorable:
            problems.append(f"applies_to lists {code}, a context indicator (it gets no action)")
    if len(set(c.applies_to)) != len(c.applies_to):
        problems.append("applies_to lists a KPI twice")
    return problems


def coverage_problems(kb: KnowledgeBase, lib: Library) -> list[str]:
    """Data points that can be scored but have no action about their own KPI in some band."""
    problems = []
    for code, part, label, _ in scorable_points(lib):
        kpi = lib.by_code[code]
        missing = [b for b in rules.BANDS if not kb.point_actions(code, kpi.sub_dimension, kpi.category, b)]
        if missing:
            point = f"{code} ({label})" if part else code
            problems.append(f"{point} has no action of its own KPI or of a category listing it for band(s) "
                            f"{', '.join(missing)}")
    return problems


def check_knowledge_base(kb: KnowledgeBase, lib: Library, where: str = "recommendations.yaml") -> None:
    """Cross-check against the KPI library: codes, categories, SDG targets, sources; full coverage of categories
    and core KPIs. Raises CatalogueError naming the entry."""
    categories = {(k.sub_dimension, k.category) for k in lib}
    scorable = {code for code, *_ in scorable_points(lib)}
    seen: set[tuple[str, str]] = set()
    for c in kb.categories:
        label = f"category {c.category!r} ({c.sub_dimension})"
        if (c.sub_dimension, c.category) not in categories:
            raise CatalogueError(f"{where}: {label} is not a category of the KPI library")
        if (c.sub_dimension, c.category) in seen:
            raise CatalogueError(f"{where}: {label} appears twice")
        seen.add((c.sub_dimension, c.category))
        if problems := (_entry_problems(c, kb, needs_actions=bool(c.applies_to))
                        + _applies_to_problems(c, lib, scorable)):
            raise CatalogueError(f"{where}: {label}: {'; '.join(problems)}")
    codes: set[str] = set()
    for k in kb.kpis:
        if k.code not in lib.by_code:
            raise CatalogueError(f"{where}: KPI entry {k.code!r} is not a U4SSC KPI code")
        if k.code in codes:
            raise CatalogueError(f"{where}: KPI {k.code} appears twice")
        codes.add(k.code)
        if problems := _entry_problems(k, kb, needs_actions=k.code in scorable):
            raise CatalogueError(f"{where}: KPI {k.code}: {'; '.join(problems)}")
    missing_cats = sorted(categories - seen)
    if missing_cats:
        raise CatalogueError(f"{where}: no entry for categories {missing_cats}")
    missing_core = [k.code for k in lib if k.tier == "core" and k.code not in codes]
    if missing_core:
        raise CatalogueError(f"{where}: no entry for core KPIs {', '.join(missing_core)}")
    if uncovered := coverage_problems(kb, lib):
        raise CatalogueError(f"{where}: {'; '.join(uncovered)}")


# ---------------------------------------------------------------- loading


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


# ---------------------------------------------------------------- the reviewable table (docs/recommendations.md)

#: How the table names a band.
BAND_NAMES = {"<33": "<33", "33-66": "33-66", "66-95": "66-95", "95+": "95+"}


def _cell(text: str) -> str:
    """Text for one markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def default_scored_points(lib: Library, targets: Targets) -> list[tuple[str, str, str, str]]:
    """(code, part, label, direction) of the data points the target set scores: a target value, not context."""
    return [(code, part, label, direction) for code, part, label, direction in scorable_points(lib)
            if (t := targets.for_point(code, part)) is not None and t.target is not None]


def recommendations_markdown(kb: KnowledgeBase | None = None, lib: Library | None = None,
                             targets: Targets | None = None) -> str:
    """The knowledge base as one table a domain expert can review in one sitting: for every data point the target
    set scores (the default one unless given) and every band, the KPI, its target and the basis of that target, the
    action it gets, the standards and the sources. Generated: `python -m kpis.knowledge > docs/recommendations.md`
    (a test keeps the committed file equal to this text)."""
    kb, lib = kb or knowledge_base(), lib or library()
    targets = targets or load_targets()
    points = default_scored_points(lib, targets)
    lines = [
        "# Recommendations: the knowledge base in one table",
        "",
        "Generated from `kpis/catalogue/recommendations.yaml` by `python -m kpis.knowledge > docs/recommendations.md`;",
        "do not edit by hand (`tests/test_actions_fit.py` fails when this file and the knowledge base differ).",
        "",
        f"One row per data point scored by the {targets.label} and per band ({len(points)} data points x "
        f"{len(rules.BANDS)} bands = {len(points) * len(rules.BANDS)} rows): the action a city gets when that "
        "data point is the only weak one of its category. Bands are % of target: `<33` and `33-66` get an action "
        "to improve, `66-95` one to close the gap, `95+` one to keep doing. An action comes from the KPI's own "
        "entry or, marked *(category)*, from a category entry that lists the KPI in `applies_to`. Context "
        "indicators (sector shares of employment, police and fire staff, and the like) are described in reports but "
        "not scored, and get no action. A target's basis is *standard* (an agreed goal), *reference* (an average "
        "or a peer figure: the report says \"below the reference figure of ...\") or *judgement* (the project's "
        "estimate, never a first priority on its own); see docs/scoring.md and docs/targets-review.md.",
        "",
        "| KPI | Target (basis) | Band | Action | Standards | Sources |",
        "|---|---|---|---|---|---|",
    ]
    used_standards: dict[str, None] = {}
    used_sources: dict[str, None] = {}
    for code, part, label, direction in points:
        kpi = lib.by_code[code]
        target = targets.for_point(code, part)
        assert target is not None and target.target is not None  # default_scored_points keeps only these
        name = f"{kpi.name}: {label}" if part else kpi.name
        better = "lower" if direction == "lower" else "higher"
        kpi_cell = f"{code} {name} ({better} is better)"
        unit = target.unit or kpi.unit
        target_cell = f"{target.target:g} {unit} ({target.basis or 'no basis given'})"
        for band in rules.BANDS:
            actions = kb.point_actions(code, kpi.sub_dimension, kpi.category, band)
            texts, standards, sources = [], [], []
            for entry, action in actions:
                where = " *(category)*" if isinstance(entry, CategoryEntry) else ""
                texts.append(f"**{action.title}**{where}: {' '.join(action.text.split())}")
                standards += [*action.standards, *entry.standards]
                sources += [*action.sources, *entry.sources]
            standards, sources = list(dict.fromkeys(standards)), list(dict.fromkeys(sources))
            used_standards.update(dict.fromkeys(standards))
            used_sources.update(dict.fromkeys(sources))
            lines.append("| " + " | ".join(_cell(c) for c in (
                kpi_cell, target_cell, BAND_NAMES[band], " ".join(texts) or "NO ACTION", ", ".join(standards),
                ", ".join(sources))) + " |")
    lines += ["", "## Standards", ""]
    lines += [f"- **{key}**: {_cell(kb.standards[key])}" for key in sorted(used_standards)]
    lines += ["", "## Sources", ""]
    lines += [f"- **{key}**: {_cell(kb.sources[key].citation)}" for key in sorted(used_sources)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m kpis.knowledge > docs/recommendations.md
    import sys

    sys.stdout.write(recommendations_markdown())
