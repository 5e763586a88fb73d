"""The sections of a city's recommendation report, built from its Results and recommendations.

The assessment notebook calls these one by one; they return display objects (escaped HTML, PNG charts), so the
notebook holds no logic and every user-supplied string is escaped by Jinja's autoescape before it reaches the page.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .display import BAND_COLOURS, BAND_LABELS, BAND_TEXT
from .paths import bundled, demo_city

DIMENSIONS = ("Economy", "Environment", "Society and Culture")
BAND_ORDER = ["<33", "33-66", "66-95", "95+"]


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(bundled("templates", "sections"))),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(colours=BAND_COLOURS, text_colours=BAND_TEXT, band_labels=BAND_LABELS)
    return env


_ENV: Environment | None = None


def render_section(name: str, **context) -> str:
    global _ENV
    if _ENV is None:
        _ENV = _env()
    return _ENV.get_template(f"{name}.html.j2").render(**context)


class HTMLBlock(str):
    """Escaped HTML that JupyterLab and nbconvert display as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


class PNGChart:
    """A finished chart as PNG bytes (no live figure left behind, so nothing is shown twice)."""

    def __init__(self, png: bytes, alt: str):
        self.png, self.alt = png, alt

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/png": self.png}, {"image/png": {"ssc_alt": self.alt}}


def _fig_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


@dataclass
class NumberFormat:
    decimal_separator: str = "."

    def __call__(self, value, unit: str = "", digits: int = 3) -> str:
        if _is_missing(value):
            return "–"
        v = float(value)
        if abs(v) >= 1000:
            text = f"{v:,.0f}".replace(",", "\u202f")
        else:
            text = f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(0, digits - len(str(int(abs(v)))))}f}"
        if self.decimal_separator != ".":
            text = text.replace(".", self.decimal_separator)
        unit = (unit or "").strip()
        if unit in {"%", "% of city GDP"} or unit.startswith("%"):
            return f"{text} {unit}"
        return f"{text} {unit}".strip()

    def pct(self, value) -> str:
        return "–" if _is_missing(value) else self(round(float(value), 1), "%", digits=3)


class CityReport:
    """Everything the report of one city-year shows, computed once from the submission."""

    def __init__(self, submission, results, recommendations, decimal_separator: str = "."):
        self.submission = submission
        self.results = results
        self.recommendations = recommendations
        self.fmt = NumberFormat(decimal_separator)

    @classmethod
    def build(cls, submission: str | Path | None = None, targets: str | Path | None = None,
              decimal_separator: str = ".") -> CityReport:
        from .catalogue import load_targets
        from .intake import read_submission
        from .recommend import recommend
        from .scoring import score

        sub = read_submission(Path(submission) if submission else demo_city())
        results = score(sub, targets=load_targets(targets) if targets else None)
        recs = recommend(results, measures=sub.measures)
        return cls(sub, results, recs, decimal_separator)

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

    def _score_of(self, level: str, **keys) -> tuple[float | None, str]:
        s = self.summary[self.summary["level"] == level]
        for k, v in keys.items():
            s = s[s[k] == v]
        if s.empty or _is_missing(s["score"].iloc[0]):
            return None, "not scored"
        return float(s["score"].iloc[0]), str(s["band"].iloc[0])

    # ------------------------------------------------------------ sections

    def title(self) -> HTMLBlock:
        k = self.kpis
        reported = k[k["reported"]].drop_duplicates("code")
        core_total = k[k["tier"] == "core"]["code"].nunique()
        overall, band = self._score_of("overall")
        city = self.profile.city
        return HTMLBlock(render_section(
            "title", city=city, year=self.profile.year, country=getattr(self.profile, "country", ""),
            invented="invented" in city.lower(),
            overall=self.fmt.pct(overall), overall_band=band,
            reported=reported["code"].nunique(), core_reported=(reported["tier"] == "core").sum(),
            core_total=core_total, scored_points=int(k["scored"].sum()),
            top_count=int((k["band"] == "95+").sum()),
        ))

    def executive_summary(self) -> HTMLBlock:
        from .recommend import executive_summary

        return HTMLBlock(render_section("summary", sentences=executive_summary(self.results, self.recommendations)))

    def context(self) -> HTMLBlock:
        p = self.profile
        rows = [("City", p.city), ("Country", getattr(p, "country", "")), ("Region", getattr(p, "region", "")),
                ("Year the data refer to", p.year),
                ("Population", self.fmt(getattr(p, "population", None), "inhabitants")),
                ("Area", self.fmt(getattr(p, "area_km2", None), "km²")),
                ("Households", self.fmt(getattr(p, "households", None), "")),
                ("Currency", getattr(p, "currency", "")), ("Contact", getattr(p, "contact", ""))]
        rows = [(a, b) for a, b in rows if not _is_missing(b) and str(b).strip() not in {"", "–"}]
        measures = sum(1 for v in (self.submission.measures or {}).values() if str(v).strip())
        return HTMLBlock(render_section("context", rows=rows, measures_count=measures))

    def method(self) -> HTMLBlock:
        from .catalogue import CATALOGUE_VERSION

        k = self.kpis
        return HTMLBlock(render_section(
            "method", target_set=self.results.target_set, catalogue_version=CATALOGUE_VERSION,
            file_name=Path(str(self.submission.path)).name,
            template_version=getattr(self.submission, "template_version", ""),
            sha256=getattr(self.submission, "sha256", "") or "",
            computed=int((k["value_origin"] == "computed").sum()),
        ))

    def legend(self) -> HTMLBlock:
        return HTMLBlock(render_section("legend"))

    def benchmark_wheel(self) -> PNGChart:
        """Category scores around a wheel, grouped by sub-dimension, coloured by band (as U4SSC's snapshot)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        cats = self.summary[self.summary["level"] == "category"].reset_index(drop=True)
        n = len(cats)
        theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
        width = 2 * np.pi / n * 0.92
        scores = cats["score"].astype(float).fillna(0).to_numpy()
        colours = [BAND_COLOURS.get(b, BAND_COLOURS["not scored"]) if not _is_missing(s) else BAND_COLOURS["not scored"]
                   for b, s in zip(cats["band"], cats["score"])]
        fig = plt.figure(figsize=(8.6, 8.6))
        ax = fig.add_subplot(projection="polar")
        ax.bar(theta, [100] * n, width=width, color="#f4f6f8", edgecolor="white")
        ax.bar(theta, np.where(np.isnan(cats["score"].astype(float)), 8, scores), width=width, color=colours,
               edgecolor="white", linewidth=1)
        for t, name, s in zip(theta, cats["category"], cats["score"]):
            label = f"{name}\n{'n/a' if _is_missing(s) else f'{s:.0f} %'}"
            rot = np.degrees(t)
            align = "left" if np.cos(t) >= 0 else "right"
            ax.text(t, 108, label, rotation=rot if np.cos(t) >= 0 else rot + 180, rotation_mode="anchor",
                    ha=align, va="center", fontsize=7.2)
        # sub-dimension rings
        sub_colours = plt.get_cmap("tab10")
        for i, (sub, idx) in enumerate(cats.groupby("sub_dimension", sort=False).groups.items()):
            idx = list(idx)
            ax.bar(theta[idx], [6] * len(idx), bottom=-12, width=width, color=sub_colours(i % 10))
            ax.text(theta[idx].mean(), -30, "", fontsize=6)
        ax.set_ylim(-12, 100)
        ax.set_yticks([33, 66, 95])
        ax.set_yticklabels(["33", "66", "95"], fontsize=7, color="#52606d")
        ax.set_xticks([])
        ax.spines["polar"].set_visible(False)
        handles = [plt.Rectangle((0, 0), 1, 1, color=sub_colours(i % 10))
                   for i, _ in enumerate(cats["sub_dimension"].drop_duplicates())]
        fig.legend(handles, list(cats["sub_dimension"].drop_duplicates()), loc="lower center", ncol=3, fontsize=8,
                   frameon=False, title="inner ring: sub-dimension", title_fontsize=8)
        return PNGChart(_fig_png(fig), "Benchmark wheel: score of every category, coloured by band")

    def subdimension_bars(self) -> PNGChart:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        subs = self.summary[self.summary["level"] == "sub_dimension"].reset_index(drop=True)
        fig, ax = plt.subplots(figsize=(8.6, 0.55 * len(subs) + 1.2))
        scores = subs["score"].astype(float)
        colours = [BAND_COLOURS.get(b, BAND_COLOURS["not scored"]) for b in subs["band"]]
        ax.barh(subs["sub_dimension"], scores.fillna(0), color=colours)
        for y, s in enumerate(scores):
            ax.text((0 if math.isnan(s) else s) + 1, y, "not scored" if math.isnan(s) else f"{s:.0f} %",
                    va="center", fontsize=9)
        for edge in (33, 66, 95):
            ax.axvline(edge, color="#9aa5b1", linestyle=":", linewidth=1)
        ax.set_xlim(0, 110)
        ax.invert_yaxis()
        ax.set_xlabel("score: points earned ÷ points possible (%)")
        ax.spines[["top", "right"]].set_visible(False)
        return PNGChart(_fig_png(fig), "Score of each sub-dimension with the band edges at 33, 66 and 95 %")

    def band_counts(self) -> PNGChart:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        k = self.kpis
        counts = (k[k["scored"]].groupby(["dimension", "band"]).size().unstack(fill_value=0)
                  .reindex(index=list(DIMENSIONS), columns=BAND_ORDER, fill_value=0))
        fig, ax = plt.subplots(figsize=(8.6, 2.6))
        left = pd.Series(0, index=counts.index)
        for band in BAND_ORDER:
            ax.barh(counts.index, counts[band], left=left, color=BAND_COLOURS[band], label=f"{band} %")
            left = left + counts[band]
        ax.invert_yaxis()
        ax.set_xlabel("scored data points")
        ax.legend(ncol=4, fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, 1.25))
        ax.spines[["top", "right"]].set_visible(False)
        return PNGChart(_fig_png(fig), "Number of scored data points in each band, per dimension")

    def _kpi_rows(self, frame: pd.DataFrame) -> list[dict]:
        rows = []
        for r in frame.itertuples(index=False):
            label = r.name if not r.part else f"{r.name}: {r.point_label}"
            reported = bool(r.reported)
            if not reported:
                band = "not reported"
            elif not r.scored:
                band = "no benchmark" if _is_missing(r.target) else "not scored"
            else:
                band = r.band
            rows.append({
                "category": r.category, "label": label, "code": r.code, "tier": r.tier,
                "value": self.fmt(r.value, r.unit) if reported else "not reported",
                "target": self.fmt(r.target, r.unit) if not _is_missing(r.target) else "–",
                "achievement": self.fmt.pct(r.achievement) if r.scored else "–",
                "band": band, "sdg": r.sdg if isinstance(r.sdg, str) else ", ".join(r.sdg or []),
            })
        return rows

    def dimension_table(self, dimension: str) -> HTMLBlock:
        k = self.kpis[self.kpis["dimension"] == dimension]
        score, band = self._score_of("dimension", dimension=dimension)
        subs = self.summary[(self.summary["level"] == "sub_dimension") & (self.summary["dimension"] == dimension)]
        return HTMLBlock(render_section(
            "dimension", dimension=dimension, score=self.fmt.pct(score) if score is not None else "not scored",
            band=band, subs=[{"name": r.sub_dimension,
                              "score": "not scored" if _is_missing(r.score) else self.fmt.pct(r.score)}
                             for r in subs.itertuples()],
            rows=self._kpi_rows(k)))

    def strengths(self) -> HTMLBlock:
        from .recommend import strengths

        items = [_item(s) for s in strengths(self.results)]
        return HTMLBlock(render_section("list", items=items, intro="",
                                        empty="No KPI reached 95 % of its target yet."))

    def areas_to_improve(self) -> HTMLBlock:
        k = self.kpis
        weak = k[k["scored"] & k["band"].isin(["<33", "33-66"])].sort_values(["points", "tier"])
        items = [{"title": (r.name if not r.part else f"{r.name}: {r.point_label}"),
                  "text": f"{self.fmt(r.value, r.unit)} against a target of {self.fmt(r.target, r.unit)} "
                          f"({self.fmt.pct(r.achievement)} of target)",
                  "meta": f"{r.code}, {r.tier}, band {r.band} %"} for r in weak.itertuples()]
        missing_core = k[(~k["reported"]) & (k["tier"] == "core")].drop_duplicates("code")
        items += [{"title": r.name, "text": "not reported (a core KPI)", "meta": r.code}
                  for r in missing_core.itertuples()]
        return HTMLBlock(render_section("list", items=items, intro="",
                                        empty="No KPI is below 66 % of its target and every core KPI is reported."))

    def priority_actions(self, n: int = 10) -> HTMLBlock:
        from .recommend import priority_actions

        rows = [_action_row(i, r, self.fmt) for i, r in enumerate(priority_actions(self.results, n=n), start=1)]
        return HTMLBlock(render_section("actions", rows=rows,
                                        empty="Every scored KPI is at target: keep the current measures in place."))

    def measures_and_actions(self, dimension: str) -> HTMLBlock:
        from .recommend import measures_table

        rows = [r for r in measures_table(self.results, self.recommendations) if _get(r, "dimension") == dimension]
        out = []
        for r in rows:
            measures = str(_get(r, "measures") or "").strip()
            out.append({"sub_dimension": _get(r, "sub_dimension"),
                        "measures": [p for p in measures.split("\n") if p.strip()],
                        "actions": [_item(a) for a in (_get(r, "actions") or [])]})
        return HTMLBlock(render_section("measures", city=self.profile.city, rows=out))

    def data_collection_plan(self) -> HTMLBlock:
        from .recommend import data_collection_plan

        items = [_item(a) for a in data_collection_plan(self.results)]
        return HTMLBlock(render_section("list", items=items, intro="",
                                        empty="Every core KPI was reported."))

    def data_quality(self) -> HTMLBlock:
        k = self.kpis
        rep = k[k["reported"]]
        quality = rep["data_quality"].fillna("").replace("", "not stated").value_counts()
        cov = []
        for sub, g in k.groupby("sub_dimension", sort=False):
            codes = g.drop_duplicates("code")
            total, reported = len(codes), int(g.groupby("code")["reported"].any().sum())
            scored = int(g.groupby("code")["scored"].any().sum())
            cov.append({"name": sub, "total": total, "reported": reported, "scored": scored,
                        "share": self.fmt.pct(100 * reported / total)})
        return HTMLBlock(render_section("quality", quality=list(quality.items()), coverage=cov))

    def annex(self) -> HTMLBlock:
        return HTMLBlock(render_section("kpi_table", rows=self._kpi_rows(self.kpis)))


def _get(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _item(obj) -> dict:
    """A recommendation-like object as a list item: title, text, and a short line of codes/SDGs."""
    codes = _get(obj, "codes") or _get(obj, "kpi_codes") or []
    sdg = _get(obj, "sdg") or []
    meta = ", ".join([*codes, *(f"SDG {s}" for s in sdg)])
    return {"title": _get(obj, "title", ""), "text": _get(obj, "action") or _get(obj, "text", ""), "meta": meta}


def _action_row(rank: int, rec, fmt: NumberFormat) -> dict:
    triggers = []
    for t in _get(rec, "triggers") or []:
        label = _get(t, "name") if not _get(t, "part") else f"{_get(t, 'name')}: {_get(t, 'point_label')}"
        nxt = _get(t, "next_band_value")
        triggers.append({"label": label, "band": _get(t, "band") or "not reported",
                         "next": (f"{label}: {fmt(nxt, _get(t, 'unit', ''))} for {_get(t, 'next_band')} %"
                                  if not _is_missing(nxt) and _get(t, "next_band") else "")})
    return {"rank": rank, "title": _get(rec, "title"), "action": _get(rec, "action"), "triggers": triggers,
            "sdg": ", ".join(f"SDG {s}" for s in (_get(rec, "sdg") or [])),
            "standards": ", ".join(_get(rec, "standards") or []),
            "source": _get(rec, "source") or ", ".join(_get(rec, "sources") or [])}
