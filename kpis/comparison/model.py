"""Many cities and years side by side: the `Comparison` object.

Everything is computed on the tidy long table (one row per city, year, KPI and data point), so results from
submissions, from `ssc assess` results files, from a long CSV or from `kpis.synthetic` all meet in one place.
Group scores use the aggregation of `kpis.rules`, so a city scores the same here as in its own report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import rules
from ..i18n import N_, T, check_language
from ..library import Targets, load_targets
from .errors import CompareError
from .load import KEY, PROFILE_COLUMNS, Loaded, expand, point_meta, read_input, standardise
from .progress import TARGET_YEAR, progress_between, progress_counts
from .rank import Ranking, rank_cities
from .sections import render_block, table_of
from .shared import MIN_SHARED_POINTS, Pairs, Peers, band_percent, latest_rows, pairs, peers_on_shared

LEVELS = ("category", "sub_dimension", "dimension", "overall")
PEER_GROUPS = ("population_band", "region")

# OECD functional-urban-area size classes (population of the urban area)
POPULATION_BANDS = (
    (0, N_("under 50 000")),
    (50_000, N_("small urban area (50 000-200 000)")),
    (200_000, N_("medium-sized urban area (200 000-500 000)")),
    (500_000, N_("metropolitan area (500 000-1.5 million)")),
    (1_500_000, N_("large metropolitan area (1.5 million or more)")),
)
SCORE_COLUMNS = ["city", "year", "level", "group", "points", "max_points", "score", "band", "kpis_total",
                 "kpis_reported", "kpis_scored"]


def compare(results_or_paths: object, targets: str | Path | Targets | None = None,
            year: int | None = None, lang: str | None = None) -> Comparison:
    """Compare many cities/years: Results objects, submissions (.xlsx/.csv), results files (.csv/.parquet/.json,
    or a folder of them), long CSVs (city, year, code, part, value) or DataFrames such as `kpis.synthetic.cities()`.

    `targets` (a target-set file or `Targets`) re-scores every input with that set; `year` keeps one year only;
    `lang` (ar, zh, en, fr, ru or es) is the language its tables and rankings are shown in.
    """
    lang = check_language(lang)
    items: Any = results_or_paths
    if isinstance(items, str | Path | pd.DataFrame) or not isinstance(items, Iterable):
        items = [items]
    expanded = [x for item in items for x in expand(item)]
    if not expanded:
        raise CompareError(T("nothing to compare: give at least one submission, results file or table"))
    rescore = targets is not None
    tset = targets if isinstance(targets, Targets) else load_targets(targets)
    meta = point_meta(tset)
    frames, profiles, sources = [], [], []
    for item in expanded:
        frame, profs, label = _read(item, tset if rescore else None, year)
        where = str(item.name) if isinstance(item, Path) else label
        frames.append(standardise(frame, meta, where, rescore, tset))
        profiles.extend(profs)
        sources.append(where)
    tidy = pd.concat(frames, ignore_index=True)
    if tidy.duplicated(KEY).any():
        dup = tidy[tidy.duplicated(KEY)].iloc[0]
        raise CompareError(T("{city} {year} appears in two inputs; give each city and year once", city=dup["city"],
                             year=dup["year"]))
    if year is not None:
        tidy = tidy[tidy["year"] == year]
        if tidy.empty:
            raise CompareError(T("no input has data for the year {year}", year=year))
    tidy = tidy.sort_values(["city", "year", "order"], kind="stable").reset_index(drop=True)
    return Comparison(tidy, _profiles(tidy, profiles), tset.label, sources, lang)


def _read(item: object, targets: Targets | None, year: int | None) -> Loaded:
    if isinstance(item, Comparison):
        return item.kpis, item.profiles.to_dict("records"), "comparison"
    return read_input(item, targets, year)


def _profiles(tidy: pd.DataFrame, extra: list[dict]) -> pd.DataFrame:
    """One row per (city, year): population, region, country and the invented flag, from whichever input had them."""
    base = tidy[["city", "year"]].drop_duplicates().reset_index(drop=True)
    cols = list(PROFILE_COLUMNS)
    in_table = [c for c in cols if c in tidy.columns]
    if in_table:
        base = base.merge(tidy[["city", "year", *in_table]].drop_duplicates(["city", "year"]), on=["city", "year"])
    given = pd.DataFrame([{k: p.get(k) for k in ["city", "year", *cols]} for p in extra if p.get("city")])
    if not given.empty:
        given["year"] = pd.to_numeric(given["year"], errors="coerce")
        base = base.merge(given.drop_duplicates(["city", "year"]), on=["city", "year"], how="left",
                          suffixes=("", "_profile"))
        for c in cols:
            if f"{c}_profile" in base.columns:
                base[c] = base[c].combine_first(base.pop(f"{c}_profile")) if c in base.columns \
                    else base.pop(f"{c}_profile")
    for c in cols:
        if c not in base.columns:
            base[c] = False if c == "invented" else None
    base["population"] = pd.to_numeric(base["population"], errors="coerce")
    base["invented"] = base["invented"].fillna(False).astype(str).str.lower().isin({"true", "1", "yes"})
    base["population_band"] = population_band(base["population"])
    return base


def population_band(population: pd.Series) -> pd.Series:
    """OECD functional-urban-area size class of each population ('unknown' where none is given)."""
    pop = pd.to_numeric(population, errors="coerce").to_numpy(dtype=float)
    edges = np.array([e for e, _ in POPULATION_BANDS[1:]], dtype=float)
    labels = np.array([label for _, label in POPULATION_BANDS] + ["unknown"], dtype=object)
    idx = np.where(np.isnan(pop), len(POPULATION_BANDS), np.searchsorted(edges, pop, side="right"))
    return pd.Series(labels[idx], index=population.index)


def years_text(years: Sequence[int]) -> str:
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0]) if years else "none"


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise CompareError(f"level {level!r}: choose one of {', '.join(LEVELS)}")


def check_peer_group(by: str) -> None:
    if by not in PEER_GROUPS:
        raise CompareError(T("--group-by {value}: choose population_band or region", value=repr(by)))


@dataclass
class Comparison:
    """Many cities × years × KPIs. `.kpis` is the tidy table; the other views are computed from it on demand."""

    kpis: pd.DataFrame
    profiles: pd.DataFrame
    targets_label: str = ""
    sources: list[str] = field(default_factory=list)
    lang: str = "en"  # the language of its tables and rankings (kpis.i18n.LANGUAGES)

    @property
    def cities(self) -> list[str]:
        return sorted(self.kpis["city"].unique())

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.kpis["year"].unique())

    def latest(self) -> pd.DataFrame:
        """The tidy rows of each city's latest year."""
        return latest_rows(self.kpis)

    @cached_property
    def coverage(self) -> pd.DataFrame:
        """City-year × KPI: True where the city reported the KPI (any data point of it)."""
        rep = self.kpis.groupby(["city", "year", "code"], sort=False)["reported"].any().unstack("code")
        order = self.kpis.drop_duplicates("code").sort_values("order")["code"]
        return rep.reindex(columns=[c for c in order if c in rep.columns]).fillna(False).astype(bool)

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Per (city, year, level, group): score in % by the U4SSC rule (points earned ÷ 4 × data points scored,
        `rules.aggregate` of the band contributions), points, band and coverage."""
        return score_levels(self.kpis)

    def table(self, level: str = "category", value: str = "band", year: int | None = None) -> pd.DataFrame:
        """Cities (latest year, or `year`) × groups of a level: band, score or kpis_scored."""
        check_level(level)
        rows = self.scores[self.scores["level"] == level]
        rows = rows[rows["year"] == year] if year is not None else rows.merge(self._latest_years(), on=["city", "year"])
        order = self.kpis.drop_duplicates(level if level != "overall" else "code")
        groups = ["Overall"] if level == "overall" else list(order.sort_values("order")[level])
        return rows.pivot(index="city", columns="group", values=value).reindex(columns=groups)

    def _latest_years(self) -> pd.DataFrame:
        return self.kpis.groupby("city", as_index=False)["year"].max()

    def peers(self, by: str = "population_band", level: str = "overall",
              min_shared: int = MIN_SHARED_POINTS) -> pd.DataFrame:
        """Each city's score next to the median of its peer group (population band or region) in the same year,
        every member scored over the data points all of them score (see `kpis.comparison.shared`). Groups with
        one city or fewer than `min_shared` shared data points are left out; `peer_notes` says which and why."""
        return self.peer_comparison(by, level, min_shared).table

    def peer_comparison(self, by: str = "population_band", level: str = "overall",
                        min_shared: int = MIN_SHARED_POINTS) -> Peers:
        """`peers` with the notes on the groups that are not compared."""
        check_peer_group(by)
        check_level(level)
        return peers_on_shared(self.kpis, self.profiles, by, level, min_shared)

    def pairs(self) -> Pairs:
        """Each pair of cities (latest year) on the data points both score, and what cannot be compared."""
        return pairs(self.latest())

    def progress(self, base_year: int | None = None, year: int | None = None,
                 target_year: int = TARGET_YEAR) -> pd.DataFrame:
        """Same city between two years, per data point: change in value and band, and the Open SDG progress
        status (target achieved / on track / needs acceleration / off track / deterioration)."""
        return progress_between(self.kpis, base_year, year, target_year)

    def progress_summary(self, **kw: Any) -> pd.DataFrame:
        """Per city: how many data points fall in each progress status."""
        return progress_counts(self.progress(**kw))

    def rank(self, level: str = "overall", draws: int = 200, seed: int = 0, margin: float = 0.1,
             year: int | None = None, min_share: float = 0.8, interval: float = 0.9) -> Ranking:
        """Rank cities (each city's latest year, or `year`) with a rank interval from `draws` sensitivity draws.

        See `kpis.comparison.rank` for the rule on shared KPIs; `interval` is the central share of draws the
        interval covers (0.9 → 5th to 95th percentile).
        """
        check_level(level)
        if draws < 1 or not 0 < min_share <= 1 or not 0 <= margin < 1 or not 0 < interval <= 1:
            raise CompareError("rank: draws >= 1, 0 < min_share <= 1, 0 <= margin < 1 and 0 < interval <= 1")
        df = self.kpis[self.kpis["year"] == year] if year is not None else self.latest()
        df = df[df["target"].notna() & df["direction"].isin(["higher", "lower"])]
        return replace(rank_cities(df, level, draws, seed, margin, min_share, interval), lang=self.lang)

    def _repr_html_(self) -> str:
        overall = self.scores[self.scores["level"] == "overall"].drop(columns=["level", "group"])
        return str(render_block("comparison", self.lang, n_cities=len(self.cities), years=years_text(self.years),
                            n_kpis=self.kpis["code"].nunique(), targets=self.targets_label,
                            invented=self.profiles.loc[self.profiles["invented"], "city"].nunique(),
                            table=table_of(overall.round(1), max_rows=50, lang=self.lang)))


# ---------------------------------------------------------------- scores per level


def score_levels(kpis: pd.DataFrame) -> pd.DataFrame:
    """Group scores of every city-year at every level: `rules.aggregate` over a (city-years × data points) grid."""
    city_years, grid = _point_grid(kpis)
    frames = [_level_scores(kpis, city_years, grid, level) for level in LEVELS]
    out = pd.concat(frames, ignore_index=True)
    return out[SCORE_COLUMNS]


@dataclass(frozen=True)
class _Grid:
    """The tidy table as city-years × data points (and × KPIs): which rows exist, which are reported or scored."""

    row_city_year: np.ndarray  # per tidy row: its city-year
    row_point: np.ndarray  # per tidy row: its data point
    row_kpi: np.ndarray  # per tidy row: its KPI
    points: np.ndarray  # band points 1-4 of each scored data point, NaN elsewhere
    weight: np.ndarray  # 1 where a data point is scored, 0 elsewhere
    kpi_present: np.ndarray
    kpi_reported: np.ndarray
    kpi_scored: np.ndarray


def _point_grid(kpis: pd.DataFrame) -> tuple[pd.DataFrame, _Grid]:
    cy_codes, cy_keys = pd.MultiIndex.from_frame(kpis[["city", "year"]]).factorize()
    point_codes, point_keys = pd.MultiIndex.from_frame(kpis[["code", "part"]]).factorize()
    kpi_codes, kpi_keys = pd.factorize(kpis["code"])
    scored = kpis["scored"].to_numpy(dtype=bool)
    points = np.full((len(cy_keys), len(point_keys)), np.nan)
    points[cy_codes[scored], point_codes[scored]] = kpis["points"].to_numpy(dtype=float)[scored]

    def per_kpi(mask: np.ndarray) -> np.ndarray:
        grid = np.zeros((len(cy_keys), len(kpi_keys)), dtype=bool)
        grid[cy_codes[mask], kpi_codes[mask]] = True
        return grid

    grid = _Grid(cy_codes, point_codes, kpi_codes, points, (~np.isnan(points)).astype(float),
                 per_kpi(np.ones(len(kpis), dtype=bool)), per_kpi(kpis["reported"].to_numpy(dtype=bool)),
                 per_kpi(scored))
    first_rows = np.unique(cy_codes, return_index=True)[1]  # codes number city-years by first appearance
    return kpis[["city", "year"]].iloc[first_rows].reset_index(drop=True), grid


def _membership(row_item: np.ndarray, n_items: int, row_group: np.ndarray, n_groups: int) -> np.ndarray:
    """(items × groups) 0/1 matrix from the (item, group) pair of every tidy row."""
    member = np.zeros((n_items, n_groups))
    known = row_group >= 0  # a row without a group label belongs to no group
    member[row_item[known], row_group[known]] = 1.0
    return member


def _level_scores(kpis: pd.DataFrame, city_years: pd.DataFrame, grid: _Grid, level: str) -> pd.DataFrame:
    labels = np.full(len(kpis), "Overall", dtype=object) if level == "overall" else kpis[level].to_numpy()
    group_codes, groups = pd.factorize(labels)
    n_points, n_kpis = grid.points.shape[1], grid.kpi_present.shape[1]
    member = _membership(grid.row_point, n_points, group_codes, len(groups))
    kpi_member = _membership(grid.row_kpi, n_kpis, group_codes, len(groups))
    contrib = rules.contribution(band_percent(grid.points), "bands")
    score, weight_sum = rules.aggregate(contrib, grid.weight, member, "arithmetic")
    kpis_total = grid.kpi_present.astype(float) @ kpi_member
    frame = pd.DataFrame({
        "city": np.repeat(city_years["city"].to_numpy(), len(groups)),
        "year": np.repeat(city_years["year"].to_numpy(), len(groups)),
        "level": level,
        "group": np.tile(np.asarray(groups, dtype=object), len(city_years)),
        "points": np.where(weight_sum > 0, (np.nan_to_num(grid.points) * grid.weight) @ member, np.nan).ravel(),
        "max_points": np.rint(rules.MAX_POINTS * weight_sum).astype(np.int64).ravel(),
        "score": score.ravel(),
        "band": pd.Series(rules.band_of(score.ravel()), dtype=object).fillna("").to_numpy(),
        "kpis_total": np.rint(kpis_total).astype(np.int64).ravel(),
        "kpis_reported": np.rint(grid.kpi_reported.astype(float) @ kpi_member).astype(np.int64).ravel(),
        "kpis_scored": np.rint(grid.kpi_scored.astype(float) @ kpi_member).astype(np.int64).ravel(),
    })
    frame = frame[(kpis_total > 0).ravel()]  # a city-year has a row for the groups its table holds
    return frame.sort_values(["city", "year", "group"], kind="stable")
