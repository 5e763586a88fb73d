"""Rankings that say how certain they are.

Ranking rule (stated once, shown in every ranking):
1. A data point enters the ranking when at least `min_share` of the cities scored it (reported, with a target).
2. A city is ranked when it scored at least `min_share` of those data points; the others are listed as not ranked.
3. A ranked city's missing data point counts at the floor (lowest band, 0 % of target), so not reporting never
   lifts a city above one it would lose to on the KPIs they share. With `min_share=1` the ranking uses only the
   KPIs every ranked city reported.
Rank intervals come from a sensitivity run (COINr / JRC style): each draw perturbs every target by ± `margin`,
aggregates arithmetically or geometrically and scores with U4SSC bands or continuous distance to target. Every
draw computes achievement, contributions and group scores with `kpis.rules`, as the city report does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import rules
from ..i18n import TN, Percent, T, Text
from .errors import CompareError
from .sections import render_block, table_of

NOISE_PLACES = 3  # SDSN: rank differences of 2-3 places are not meaningful
#: Group scores (in %) equal to this many decimals are ties: float noise of the float32 draws never splits them.
TIE_DECIMALS = 4
DRAW_CHUNK = 5  # draws computed at once: a few MB per array for 5,000 cities, so each pass stays in cache (25: 25 % slower)
RANK_COLUMNS = ["level", "group", "city", "year", "rank", "rank_low", "rank_high"]
HIERARCHY = ["category", "sub_dimension", "dimension"]


@dataclass
class Ranking:
    """Ranks with intervals; `.table` has one row per (group, ranked city), `.excluded` the cities not ranked."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    points: list[tuple[str, str]]
    rule: Text
    level: str
    draws: int
    lang: str = "en"  # the language it is shown in

    def _repr_html_(self) -> str:
        shown = self.table.drop(columns=["level"]).round(1)
        return str(render_block("ranking_repr", self.lang, rule=self.rule.localise(self.lang),
                                table=table_of(shown, max_rows=100, lang=self.lang)))


@dataclass(frozen=True)
class _Settings:
    level: str
    draws: int
    seed: int
    margin: float
    min_share: float
    interval: float


def rank_cities(df: pd.DataFrame, level: str, draws: int, seed: int, margin: float, min_share: float,
                interval: float) -> Ranking:
    """Rank the city-years of a tidy table (rows with a target and a direction) in each group of `level`."""
    if df.empty:
        raise CompareError("rank: no city has a scored KPI (reported, with a target) to rank on")
    how = _Settings(level, draws, seed, margin, min_share, interval)
    cities, meta, values = _value_grid(df)
    keep_points, keep_cities, city_share = _coverage_rule(values, min_share)
    excluded = cities[~keep_cities].assign(
        scored_share=np.round(100 * city_share[~keep_cities], 1),
        reason=f"scored fewer than {min_share:.0%} of the data points the ranking uses").reset_index(drop=True)
    rule = _rule_text(how, int(keep_points.sum()), int(keep_cities.sum()), len(cities))
    points = list(zip(meta["code"][keep_points], meta["part"][keep_points], strict=True))
    if not keep_cities.any():
        return Ranking(pd.DataFrame(columns=RANK_COLUMNS), excluded, points, rule, level, draws)
    values = values[np.ix_(keep_cities, keep_points)]
    meta = meta[keep_points].reset_index(drop=True)
    groups = pd.Index(meta[level].unique())
    member = np.zeros((len(meta), len(groups)))
    member[np.arange(len(meta)), groups.get_indexer(meta[level])] = 1.0
    scores = _draw_scores(values, meta["target"].to_numpy(float), meta["direction"].to_numpy(), member, how)
    ranked = cities[keep_cities].reset_index(drop=True)
    table = _rank_table(scores, ranked, groups, np.isnan(values).sum(axis=1), how)
    return Ranking(table, excluded, points, rule, level, draws)


def _value_grid(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(city-years, data points with target, direction and hierarchy, city-years × data points of scored values)."""
    cities = df[["city", "year"]].drop_duplicates().sort_values("city", ignore_index=True)
    meta = df.drop_duplicates(["code", "part"]).sort_values("order")[
        ["code", "part", "target", "direction", *HIERARCHY]].reset_index(drop=True)
    meta["overall"] = "Overall"
    # one row per city-year and data point (compare refuses duplicates): each scored value goes to its cell
    row = pd.MultiIndex.from_frame(cities).get_indexer(pd.MultiIndex.from_frame(df[["city", "year"]]))
    col = pd.MultiIndex.from_frame(meta[["code", "part"]]).get_indexer(pd.MultiIndex.from_frame(df[["code", "part"]]))
    scored = df["scored"].to_numpy(dtype=bool) & ~np.isnan(df["value"].to_numpy(dtype=float))
    values = np.full((len(cities), len(meta)), np.nan)
    values[row[scored], col[scored]] = df["value"].to_numpy(dtype=float)[scored]
    return cities, meta, values


def _coverage_rule(values: np.ndarray, min_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rules 1 and 2: (data points kept, cities ranked, each city's share of the kept points it scored)."""
    has = ~np.isnan(values)
    keep_points = has.mean(axis=0) >= min_share - 1e-12
    city_share = has[:, keep_points].sum(axis=1) / max(keep_points.sum(), 1)
    keep_cities = (city_share >= min_share - 1e-12) & (keep_points.sum() > 0)
    return keep_points, keep_cities, city_share


def _rule_text(how: _Settings, n_points: int, n_ranked: int, n_cities: int) -> Text:
    share = Percent(100 * how.min_share)
    if n_points == 0 or n_ranked == 0:
        why = (T("no data point is scored by at least {share} of the {cities} cities", share=share, cities=n_cities)
               if n_points == 0 else
               T("no city scored at least {share} of the {points} data points scored by {share} of the cities",
                 share=share, points=n_points))
        return T("A data point enters a ranking when at least {share} of the cities score it, and a city is ranked "
                 "when it scores at least {share} of those data points. Here {why}, so there is no ranking.",
                 share=share, why=why)
    return T("Ranked on {points} data points scored by at least {share} of the cities; {ranked} of {cities} cities "
             "scored at least {share} of them and are ranked. A missing data point counts at the floor (lowest "
             "band, 0 % of target), so not reporting never raises a rank. Intervals: {interval} of {draws} draws "
             "over targets ± {margin}, arithmetic vs geometric aggregation, U4SSC bands vs distance to target. "
             "Rank differences within the intervals, or of {noise} places or fewer, are not meaningful.",
             points=n_points, share=share, ranked=n_ranked, cities=n_cities, interval=Percent(100 * how.interval),
             draws=how.draws, margin=Percent(100 * how.margin), noise=NOISE_PLACES)


def _draw_scores(values: np.ndarray, targets: np.ndarray, direction: np.ndarray, member: np.ndarray,
                 how: _Settings) -> np.ndarray:
    """Group scores in % (draws × cities × groups, float32). Draw 0 is the U4SSC method as published: targets as
    given, bands, arithmetic mean; the others sample the three choices. A missing data point is scored at 0 % of
    target (contribution 25 under bands, 0 under distance) with weight 1. Vectorised over draws, in chunks."""
    rng = np.random.default_rng(how.seed)
    target_scale = rng.uniform(1 - how.margin, 1 + how.margin, size=(how.draws, len(targets))).astype(np.float32)
    geometric = rng.random(how.draws) < 0.5
    distance = rng.random(how.draws) < 0.5
    target_scale[0], geometric[0], distance[0] = 1.0, False, False
    missing = np.isnan(values)
    weight = np.ones(values.shape[1])
    out = np.empty((how.draws, values.shape[0], member.shape[1]), dtype=np.float32)
    for start in range(0, how.draws, DRAW_CHUNK):
        chunk = slice(start, start + DRAW_CHUNK)
        drawn_targets = (targets[None, :] * target_scale[chunk])[:, None, :]  # (draws, 1, points)
        percent = rules.achievement(values[None, :, :], drawn_targets, direction)
        percent = np.where(missing, 0.0, percent)  # the floor: 0 % of target
        for method in rules.METHODS:
            for aggregation in rules.AGGREGATIONS:
                picked = np.flatnonzero((distance[chunk] == (method == "distance"))
                                        & (geometric[chunk] == (aggregation == "geometric")))
                if len(picked):
                    contrib = rules.contribution(percent[picked], method)
                    out[start + picked] = rules.aggregate(contrib, weight, member, aggregation)[0]
    return out


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Competition ranks (1 = best; ties share the better rank) along the city axis, for every draw and group."""
    rounded = np.round(scores.astype(np.float64), TIE_DECIMALS)
    order = np.argsort(-rounded, axis=1, kind="stable")
    ordered = np.take_along_axis(rounded, order, axis=1)
    new = np.ones_like(ordered, dtype=bool)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    pos = np.arange(rounded.shape[1])[None, :, None]
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=1) + 1
    ranks = np.empty_like(first)
    np.put_along_axis(ranks, order, first, axis=1)
    return ranks


def _rank_table(scores: np.ndarray, ranked: pd.DataFrame, groups: pd.Index, missing_points: np.ndarray,
                how: _Settings) -> pd.DataFrame:
    """One row per (group, city): published-method score, band and rank, the rank interval and median, a note."""
    ranks = _ranks(scores)  # (draws, cities, groups)
    low_q, high_q = (1 - how.interval) / 2, 1 - (1 - how.interval) / 2
    low = np.minimum(np.quantile(ranks, low_q, axis=0, method="lower"), ranks[0])  # the interval holds the
    high = np.maximum(np.quantile(ranks, high_q, axis=0, method="higher"), ranks[0])  # published-method rank
    n_cities, n_groups = scores.shape[1], scores.shape[2]
    table = pd.DataFrame({
        "level": how.level,
        "group": np.tile(groups.to_numpy(), n_cities),
        "city": np.repeat(ranked["city"].to_numpy(), n_groups),
        "year": np.repeat(ranked["year"].to_numpy(), n_groups),
        "ranking_score": scores[0].ravel(),
        "rank": ranks[0].ravel(),
        "rank_low": low.ravel(),
        "rank_high": high.ravel(),
        "rank_median": np.median(ranks, axis=0).ravel(),
        "missing_points": np.repeat(missing_points, n_groups),
    })
    table["band"] = pd.Series(rules.band_of(table["ranking_score"].to_numpy()), dtype=object).fillna("")
    table = table.sort_values(["group", "rank", "city"], ignore_index=True)
    table["note"] = pd.Series(_notes(table), index=table.index, dtype=object)  # object: each note keeps its msgid
    return table


def _notes(table: pd.DataFrame) -> list[Text]:
    """Plain-language reading of each rank: ties, overlap with neighbours, or a clear position. Counted with
    sorted searches per group (n log n): the overlap of i's interval is the intervals starting at or before its
    high end minus those ending before its low end (an interval ends after it starts)."""
    tied = np.zeros(len(table), dtype=np.int64)
    overlap = np.zeros(len(table), dtype=np.int64)
    size = np.zeros(len(table), dtype=np.int64)
    for rows in table.groupby("group", sort=False).indices.values():
        low, high = table["rank_low"].to_numpy()[rows], table["rank_high"].to_numpy()[rows]
        rank = table["rank"].to_numpy()[rows]
        sorted_rank = np.sort(rank)
        tied[rows] = (np.searchsorted(sorted_rank, rank, "right") - np.searchsorted(sorted_rank, rank, "left")) - 1
        overlap[rows] = (np.searchsorted(np.sort(low), high, "right") - np.searchsorted(np.sort(high), low, "left")) - 1
        size[rows] = len(rows)

    return [_note(t, o, n) for t, o, n in zip(tied.tolist(), overlap.tolist(), size.tolist(), strict=True)]


@functools.cache
def _note(tied: int, overlap: int, size: int) -> Text:
    """The reading of one rank (a few distinct ones per ranking, so each is made once)."""
    if tied:
        return TN("tied with {count} other city", "tied with {count} other cities", tied, count=tied)
    if overlap:
        return TN("not distinguishable from {count} other city", "not distinguishable from {count} other cities",
                  overlap, count=overlap)
    return T("clearly placed") if size > 1 else T("only city ranked")
