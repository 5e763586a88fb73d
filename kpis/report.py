"""The sections of a city's recommendation report, built from its Results and recommendations.

The assessment notebook calls these one by one; they return display objects (escaped HTML, SVG charts), so the
notebook holds no logic and every user-supplied string is escaped by Jinja's autoescape before it reaches the page.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, charts, narrative, rules, statuses, templating
from .display import band_labels, status_words, value_text
from .i18n import (
    DEFAULT_LANGUAGE,
    KpiText,
    Translator,
    check_language,
    date_text,
    decimal_sign,
    group_text,
    percent_text,
    report_language,
    translator,
)
from .intake import Submission
from .knowledge_text import knowledge_base_in
from .library import CATALOGUE_VERSION, library, load_targets
from .paths import demo_city
from .recommendation import recommend
from .results import Results
from .scoring import score
from .validation import read_submission

TOP_BAND = rules.BANDS[-1]
#: The band edges the report's sentences name: the top band's and the edge below which a data point is a gap.
TOP_EDGE, GAP_EDGE = f"{rules.BAND_EDGES[-1]:g}", f"{rules.BAND_EDGES[1]:g}"


def _rule_facts() -> dict[str, str]:
    """The scoring rules the sections quote in words, from kpis.rules: the top band's edge and the points."""
    return {"top_edge": TOP_EDGE, "max_points": str(rules.MAX_POINTS)}


def _catalogue_facts() -> dict[str, int]:
    """How many KPIs, dimensions, sub-dimensions and (distinctly named) categories the KPI library has."""
    lib = library()
    return {"kpis": len(lib), "dimensions": len({k.dimension for k in lib}),
            "sub_dimensions": len({k.sub_dimension for k in lib}), "categories": len({k.category for k in lib})}


def render_section(name: str, lang: str = DEFAULT_LANGUAGE, **context: Any) -> str:
    """templates/sections/<name>.html.j2, autoescaped (`kpis.templating`), with the rule and catalogue facts and
    the texts of `lang` (`_`, `ngettext`, band labels and status words)."""
    env = templating.environment("sections")
    if "rules" not in env.globals:
        env.globals.update(rules=_rule_facts(), catalogue=_catalogue_facts())
    _ = translator(lang).for_page()
    return env.get_template(f"{name}.html.j2").render(
        _=_, ngettext=_.ngettext, lang=lang, band_labels=band_labels(lang), status_words=status_words(lang),
        **context)


class HTMLBlock(str):
    """Escaped HTML that JupyterLab and nbconvert display as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


@dataclass
class NumberFormat:
    """Figures and units as the report prints them (`display.value_text`): the decimal sign of the report's
    language (Babel), unless `decimal_separator` overrides it."""

    decimal_separator: str | None = None
    lang: str = DEFAULT_LANGUAGE

    def __call__(self, value: object, unit: str = "", digits: int = 3) -> str:
        return value_text(value, unit, self.decimal_separator, digits, self.lang)

    @property
    def sign(self) -> str:
        """The decimal sign the figures are written with."""
        return self.decimal_separator or decimal_sign(self.lang)

    def pct(self, value: object) -> str:
        """A % of target or a score to one decimal, rounded without leaving its band (`rules.display_percent`)."""
        if _is_missing(value):
            return "–"
        return self(float(rules.display_percent(float(value), 1)), "%")  # type: ignore[arg-type]


class CityReport:
    """Everything the report of one city-year shows, computed once from the submission."""

    def __init__(self, submission, results, recommendations, decimal_separator: str | None = None,
                 lang: str = DEFAULT_LANGUAGE):
        self.submission = submission
        self.results = results
        self.recommendations = recommendations
        self.lang = check_language(lang)
        self._ = translator(self.lang)
        self.fmt = NumberFormat(decimal_separator or None, self.lang)

    @classmethod
    def build(cls, submission: str | Path | Submission | None = None, targets: str | Path | None = None,
              decimal_separator: str | None = None, *, results: Results | None = None,
              lang: str | None = None) -> CityReport:
        """The report of a submission. A caller that has already read it (a `Submission`) or scored it
        (`results=`) passes them, so nothing is read or scored twice; a path (JupyterLab, the notebook's
        defaults) is read and scored here. `targets` is only used when scoring here. `lang`: the report's
        language (default: the one the Profile names, else English)."""
        if isinstance(submission, Submission):
            sub = submission
        else:
            sub = read_submission(Path(submission) if submission else demo_city())
        if results is None:
            results = score(sub, targets=load_targets(targets) if targets else None)
        elif set(results.coverage["city"].astype(str)) != {str(sub.profile.city)}:
            raise ValueError(f"the results given are not those of {sub.profile.city!r}: "
                             "pass the results scored from this submission")
        lang = report_language(sub, lang)
        recs = recommend(results, measures=sub.measures, lang=lang)
        return cls(sub, results, recs, decimal_separator, lang)

    # ------------------------------------------------------------ shared views

    @property
    def profile(self):
        return self.submission.profile

    @cached_property
    def kpis(self) -> pd.DataFrame:
        return self.results.kpis

    @cached_property
    def summary(self) -> pd.DataFrame:
        return self.results.summary

    @cached_property
    def dimensions(self) -> list[str]:
        """The dimensions in catalogue order."""
        return list(dict.fromkeys(k.dimension for k in library()))

    def _score_of(self, level: str, **keys) -> tuple[float | None, str]:
        s = self.summary[self.summary["level"] == level]
        for k, v in keys.items():
            s = s[s[k] == v]
        if s.empty or _is_missing(s["score"].iloc[0]):
            return None, "not scored"
        return float(s["score"].iloc[0]), str(s["band"].iloc[0])

    # ------------------------------------------------------------ sections

    @cached_property
    def coverage(self) -> statuses.Coverage:
        return statuses.coverage_of(self.results)

    @cached_property
    def statuses(self) -> list[statuses.KpiStatus]:
        """One verdict per KPI (from one status per data point): every section reads these."""
        return statuses.kpi_statuses(self.results)

    @cached_property
    def priorities(self) -> list:
        """The priority actions, in order: the table lists them once and the other sections refer to them."""
        return narrative.priority_actions(self.results, n=10, recommendations=self.recommendations)

    def _section(self, name: str, **context: Any) -> HTMLBlock:
        return HTMLBlock(render_section(name, self.lang, **context))

    def _label(self, r: Any) -> str:
        """'KPI name' or 'KPI name: data point' in the report's language."""
        name = narrative.kpi_name(r.code, r.name, self.lang)
        if not r.part:
            return name
        return f"{name}: {KpiText(r.code, 'points', r.part, r.point_label).localise(self.lang)}"

    def _group(self, name: object) -> str:
        return group_text(str(name), self.lang)

    def _status(self, word: object) -> str:
        return status_words(self.lang).get(str(word), str(word))

    def title(self) -> HTMLBlock:
        """The headline: the overall score always beside what it rests on; coverage first when it is provisional."""
        overall, band = self._score_of("overall")
        city = self.profile.city
        c = self.coverage
        return self._section(
            "title", city=city, year=self.profile.year, country=getattr(self.profile, "country", ""),
            invented="invented" in city.lower(), overall=self.fmt.pct(overall), overall_band=band,
            provisional=c.provisional, reported=c.kpis_reported, kpis_total=c.kpis_total,
            core_reported=c.core_reported, core_total=c.core_total, scored_points=c.points_scored,
            scorable_points=c.points_scorable,
            top_count=sum(p.status == "strength" for k in self.statuses for p in k.points),
            threshold=percent_text(100 * rules.PROVISIONAL_BELOW_CORE_SHARE, self.lang),
            generated=date_text(dt.date.today(), self.lang) if self.lang != DEFAULT_LANGUAGE
            else dt.date.today().isoformat(), version=__version__, target_set=self.results.target_set,
            catalogue_version=CATALOGUE_VERSION,
        )

    def executive_summary(self) -> HTMLBlock:
        sentences = narrative.executive_summary(self.results, self.recommendations, lang=self.lang)
        return self._section("summary", sentences=sentences)

    def context(self) -> HTMLBlock:
        p, _ = self.profile, self._
        rows = [(_("City"), p.city), (_("Country"), getattr(p, "country", "")),
                (_("Region"), getattr(p, "region", "")), (_("Year the data refer to"), p.year),
                (_("Population"), self.fmt(getattr(p, "population", None), _("inhabitants"))),
                (_("Area"), self.fmt(getattr(p, "area_km2", None), "km²")),
                (_("Households"), self.fmt(getattr(p, "households", None), "")),
                (_("Currency"), getattr(p, "currency", "")), (_("Contact"), getattr(p, "contact", ""))]
        rows = [(a, b) for a, b in rows if not _is_missing(b) and str(b).strip() not in {"", "–"}]
        measures = sum(1 for v in (self.submission.measures or {}).values() if str(v).strip())
        return self._section("context", rows=rows, measures_count=measures)

    def method(self) -> HTMLBlock:
        k = self.kpis
        return self._section(
            "method", target_set=self.results.target_set, catalogue_version=CATALOGUE_VERSION,
            file_name=Path(str(self.submission.path)).name,
            template_version=getattr(self.submission, "template_version", ""),
            sha256=getattr(self.submission, "sha256", "") or "",
            computed=int((k["value_origin"] == "computed").sum()),
        )

    def legend(self) -> HTMLBlock:
        return self._section("legend")

    def benchmark_wheel(self) -> charts.Chart:
        """Category scores around a wheel, grouped by sub-dimension, coloured by band (as U4SSC's snapshot)."""
        return charts.benchmark_wheel(self.summary, self.lang)

    def subdimension_bars(self) -> charts.Chart:
        return charts.subdimension_bars(self.summary, self.lang)

    def band_counts(self) -> charts.Chart:
        return charts.band_counts(self.kpis, self.dimensions, self.lang)

    def chart_numbers(self, chart: str) -> HTMLBlock:
        """The numbers behind a chart ("wheel", "bars" or "bands") as a table in a <details>: the chart's text
        alternative, so the scores are not carried by colour and shape alone."""
        level = {"wheel": "category", "bars": "sub_dimension"}.get(chart)
        _ = self._
        if level is not None:
            s = self.summary[self.summary["level"] == level]
            rows = [[self._group(getattr(r, level)),
                     self._group(r.sub_dimension if level == "category" else r.dimension),
                     self._status("not scored") if _is_missing(r.score) else self.fmt.pct(r.score),
                     "not scored" if _is_missing(r.score) else r.band] for r in s.itertuples()]
            if level == "category":
                caption, columns = _("Score of each category"), [_("Category"), _("Sub-dimension")]
            else:
                caption, columns = _("Score of each sub-dimension"), [_("Sub-dimension"), _("Dimension")]
            return self._section("numbers", caption=caption, rows=rows, numeric={2}, band_column=3,
                                 columns=[*columns, _("Score"), _("Band")])
        if chart != "bands":
            raise ValueError(f"chart is 'wheel', 'bars' or 'bands', not {chart!r}")
        k = self.kpis[self.kpis["scored"]]
        counts = k.groupby(["dimension", "band"]).size()
        rows = [[self._group(d), *(int(counts.get((d, b), 0)) for b in rules.BANDS)] for d in self.dimensions]
        return self._section(
            "numbers", caption=_("Scored data points in each band, per dimension"), rows=rows,
            numeric=set(range(1, len(rules.BANDS) + 1)), band_column=-1,
            columns=[_("Dimension"), *(f"{b} %" for b in rules.BANDS)])

    def _kpi_rows(self, frame: pd.DataFrame) -> list[dict]:
        rows = []
        _ = self._
        for r in frame.itertuples(index=False):
            reported = bool(r.reported)
            band = r.band if r.scored else str(r.status)  # not reported, context or no benchmark
            if not _is_missing(r.target):
                target = self.fmt(r.target, r.unit)
            elif not _is_missing(r.reference):
                target = _("reference {figure}", figure=self.fmt(r.reference, r.unit))
            else:
                target = "–"
            rows.append({
                "category": self._group(r.category), "label": self._label(r), "code": r.code, "tier": r.tier,
                "value": self.fmt(r.value, r.unit) if reported else self._status("not reported"),
                "target": target,
                "achievement": self.fmt.pct(r.achievement) if r.scored else "–",
                "band": band, "sdg": r.sdg if isinstance(r.sdg, str) else ", ".join(r.sdg or []),
            })
        return rows

    def dimension_table(self, dimension: str) -> HTMLBlock:
        k = self.kpis[self.kpis["dimension"] == dimension]
        score, band = self._score_of("dimension", dimension=dimension)
        subs = self.summary[(self.summary["level"] == "sub_dimension") & (self.summary["dimension"] == dimension)]
        not_scored = self._status("not scored")
        return self._section(
            "dimension", dimension=self._group(dimension),
            score=self.fmt.pct(score) if score is not None else not_scored,
            band=band, subs=[{"name": self._group(r.sub_dimension),
                              "score": not_scored if _is_missing(r.score) else self.fmt.pct(r.score)}
                             for r in subs.itertuples()],
            rows=self._kpi_rows(k))

    def strengths(self) -> HTMLBlock:
        items = [_item(s, self._) for s in narrative.strengths(self.results, lang=self.lang)]
        return self._section("list", items=items, intro="", empty=self._(
            "No KPI reached {edge} % of its target yet.", edge=TOP_EDGE))

    def areas_to_improve(self) -> HTMLBlock:
        """KPIs with a data point below two-thirds of target, then core KPIs missing in whole or in part; a
        composite KPI is described data point by data point."""
        items = narrative.areas_to_improve(self.results, self.fmt, lang=self.lang)
        return self._section("list", items=items, intro="", empty=self._(
            "No KPI is below {edge} % of its target and every core KPI is reported.",
            edge=GAP_EDGE))

    def priority_actions(self, n: int = 10) -> HTMLBlock:
        """The top actions as a table; standards by their short code, sources as numbered references below."""
        kb = knowledge_base_in(self.lang)
        short = {title: code for code, title in kb.standards.items()}
        refs: list[str] = []
        rows = []
        for i, rec in enumerate(self.priorities[:n], start=1):
            row = _action_row(i, rec, self.fmt, self._)
            row["standards"] = ", ".join(short.get(s, s) for s in (_get(rec, "standards") or []))
            numbers = []
            for source in _get(rec, "sources") or []:
                if source not in refs:
                    refs.append(source)
                numbers.append(refs.index(source) + 1)
            row["refs"] = numbers
            rows.append(row)
        return self._section("actions", rows=rows, refs=refs, empty=self._(
            "No data point is below {edge} % of its target and every core KPI is reported: the suggested actions "
            "per sub-dimension below close the remaining gaps.", edge=GAP_EDGE))

    def measures_and_actions(self, dimension: str) -> HTMLBlock:
        rows = [r for r in narrative.measures_table(self.results, self.recommendations, lang=self.lang)
                if _get(r, "dimension") == dimension]
        rank = {(_get(a, "title"), tuple(_get(a, "kpi_codes") or ())): i
                for i, a in enumerate(self.priorities, start=1)}
        out = []
        for r in rows:
            measures = str(_get(r, "measures") or "").strip()
            actions = []
            for a in _get(r, "actions") or []:
                item = _item(a, self._)
                n = rank.get((_get(a, "title"), tuple(_get(a, "kpi_codes") or ())))
                if n is not None:  # its text is in the priority actions already: point there, do not repeat it
                    item["text"], item["meta"] = self._("priority action {n} above", n=n), ""
                actions.append(item)
            out.append({"sub_dimension": self._group(_get(r, "sub_dimension")),
                        "measures": [p for p in measures.split("\n") if p.strip()], "actions": actions})
        return self._section("measures", city=self.profile.city, rows=out, caption=self._(
            "Measures and suggested actions: {dimension}", dimension=self._group(dimension)))

    def data_collection_plan(self) -> HTMLBlock:
        items = [_item(a, self._) for a in narrative.data_collection_plan(self.results, lang=self.lang)]
        return self._section("list", items=items, intro="", empty=self._("Every core KPI was reported."))

    def data_quality(self) -> HTMLBlock:
        k = self.kpis
        rep = k[k["reported"]]
        quality = rep["data_quality"].astype("string").fillna("").replace("", "not stated").value_counts()
        quality.index = [quality_word(q, self.lang) for q in quality.index]
        cov = []
        for sub, g in k.groupby("sub_dimension", sort=False):
            codes = g.drop_duplicates("code")
            total, reported = len(codes), int(g.groupby("code")["reported"].any().sum())
            scored = int(g.groupby("code")["scored"].any().sum())
            cov.append({"name": self._group(sub), "total": total, "reported": reported, "scored": scored,
                        "share": self.fmt.pct(100 * reported / total)})
        return self._section("quality", quality=list(quality.items()), coverage=cov)

    def annex(self) -> HTMLBlock:
        """Every data point as submitted: value, whether it was computed, the basis of its target (standard,
        reference or judgement; empty without a target), data quality and source (the provenance view; the
        dimension tables above carry the scoring view). Each source is numbered and listed once below the table,
        as the priority actions' sources are, so the annex stays a few pages long."""
        data = self.submission.data.set_index(["code", "part"])
        rows = []
        sources: list[tuple[str, str]] = []
        for r in self.kpis.itertuples(index=False):
            sub = data.loc[(r.code, r.part)] if (r.code, r.part) in data.index else None
            source = ("", "") if sub is None else (str(sub["source_name"] or "").strip(),
                                                    str(sub["source_link"] or "").strip())
            if any(source) and source not in sources:
                sources.append(source)
            basis = _basis_of(r)
            rows.append({
                "code": r.code, "label": self._label(r),
                "value": self.fmt(r.value, r.unit) if r.reported else self._status("not reported"),
                "computed": bool(r.reported) and r.value_origin == "computed",
                "quality": quality_word(r.data_quality, self.lang) if r.reported and r.data_quality else "",
                "basis": self._status(basis) if basis else "",
                "ref": sources.index(source) + 1 if any(source) else "",
            })
        return self._section("annex", rows=rows, sources=[{"name": n, "link": link} for n, link in sources])


def _basis_of(row) -> str:
    """The basis of a data point's target as the annex shows it ('' without a target)."""
    basis = getattr(row, "target_basis", None)
    if _is_missing(getattr(row, "target", None)) or _is_missing(basis) or not basis:
        return ""
    return str(basis)


def _get(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _sdg(targets: Any, _: Translator) -> list[str]:
    """'SDG 11.6' for each SDG target, in the report's language."""
    return [_("SDG {target}", target=s) for s in targets or []]


def _item(obj, _: Translator) -> dict:
    """A recommendation-like object as a list item: title, text, and a short line of codes/SDGs."""
    codes = _get(obj, "codes") or _get(obj, "kpi_codes") or []
    meta = ", ".join([*codes, *_sdg(_get(obj, "sdg"), _)])
    return {"title": _get(obj, "title", ""), "text": _get(obj, "action") or _get(obj, "text", ""), "meta": meta}


def _action_row(rank: int, rec, fmt: NumberFormat, _: Translator) -> dict:
    triggers = []
    for t in _get(rec, "triggers") or []:
        label = _get(t, "name") if not _get(t, "part") else f"{_get(t, 'name')}: {_get(t, 'point_label')}"
        nxt = _get(t, "next_band_value")
        triggers.append({"label": label, "band": _get(t, "band") or "not reported",
                         "next": (_("{label}: {figure} for {band} %", label=label, figure=fmt(nxt, _get(t, "unit", "")),
                                    band=_get(t, "next_band"))
                                  if not _is_missing(nxt) and _get(t, "next_band") else "")})
    return {"rank": rank, "title": _get(rec, "title"), "action": _get(rec, "action"), "triggers": triggers,
            "sdg": ", ".join(_sdg(_get(rec, "sdg"), _)),
            "standards": ", ".join(_get(rec, "standards") or []),
            "source": _get(rec, "source") or ", ".join(_get(rec, "sources") or [])}


def from_scored(path: str | Path, decimal_separator: str | None = None, lang: str | None = None) -> CityReport:
    """The report of a city the batch has already read and scored (`ssc assess` writes the pair to a private file
    for the notebook), so that a submission is read and scored once per run."""
    import pickle

    with open(path, "rb") as fh:
        sub, results = pickle.load(fh)  # noqa: S301 - written by this run's own worker, never by a city
    lang = report_language(sub, lang)
    return CityReport(sub, results, recommend(results, measures=sub.measures, lang=lang), decimal_separator, lang)


def quality_word(level: object, lang: str) -> str:
    """A U4SSC data-quality level in `lang` (the words of `kpis/locale/answers.yaml`; an unknown level as written)."""
    text = str(level)
    for entry in rules.ANSWERS["data_quality"]:
        if entry.get("en") == text:
            return str(entry.get(lang) or text)
    if text == "not stated":
        _ = translator(lang)
        return _("not stated")
    return text
