"""Comparisons on the data points cities share.

Published city tables are partial: two cities rarely report the same KPIs, and a score computed over different
KPIs compares nothing. Every comparison here is made on shared data points only:

- side by side: the data points reported by at least two cities, with each city's value and band;
- pairs: for each pair of cities, the data points both score, and each city's score on those (the U4SSC
  contribution and arithmetic mean of `kpis.rules`, as every other score);
- peers: each city and the cities of its peer group scored over the data points all of them score, or no
  comparison when they share fewer than `MIN_SHARED_POINTS`.

Each city enters with its latest year (peers: each year on its own, as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import rules
from ..i18n import TN, T, Text, Word

#: Fewer shared scored data points than this and a score comparison (peers, radar) is not shown.
MIN_SHARED_POINTS = 3
#: Pairs are listed for at most this many cities (n × (n-1) / 2 rows).
MAX_PAIR_CITIES = 30
UNKNOWN_GROUPS = {"", "unknown", "none", "nan"}
PAIR_COLUMNS = ["city_a", "year_a", "city_b", "year_b", "shared_points", "score_a", "band_a", "score_b", "band_b",
                "difference"]
PEER_COLUMNS = ["peer_group", "city", "year", "level", "group", "peers", "shared_points", "score", "band",
                "peer_median", "vs_peers"]


def band_percent(points: np.ndarray) -> np.ndarray:
    """The % of target where the band of each point count (1-4) starts: a % that `rules` maps back to the same
    band, so the contribution of a data point scored upstream (perhaps with another target set) is its own."""
    points = np.asarray(points, dtype=float)
    floors = np.array([rules.band_floor(b) for b in range(len(rules.BANDS))] + [np.nan])
    index = np.where(np.isnan(points), len(rules.BANDS), np.nan_to_num(points) - 1).astype(int)
    return floors[index]


def label(city: object, year: object) -> str:
    return f"{city} {int(year)}"  # type: ignore[call-overload]


def latest_rows(kpis: pd.DataFrame) -> pd.DataFrame:
    """The tidy rows of each city's latest year."""
    last = kpis.groupby("city")["year"].transform("max")
    return kpis[kpis["year"] == last]


@dataclass(frozen=True)
class PointGrid:
    """City-years × data points: which are reported and scored, the values, bands and contributions."""

    cities: pd.DataFrame  # city, year (rows of the grid)
    points: pd.DataFrame  # code, part, order and the catalogue columns (columns of the grid)
    reported: np.ndarray
    scored: np.ndarray
    value: np.ndarray
    band: np.ndarray  # object: band text, '' where none
    contrib: np.ndarray  # U4SSC contribution in % (points × 25), NaN where not scored

    @property
    def labels(self) -> list[str]:
        return [label(c, y) for c, y in zip(self.cities["city"], self.cities["year"], strict=True)]


def point_grid(rows: pd.DataFrame) -> PointGrid:
    """The grid of a tidy table (usually the latest rows): one row per city-year, one column per data point."""
    cities = rows[["city", "year"]].drop_duplicates().sort_values(["city", "year"], ignore_index=True)
    meta_cols = [c for c in ("code", "part", "order", "name", "point_label", "unit", "dimension", "sub_dimension",
                             "category") if c in rows.columns]
    points = rows.drop_duplicates(["code", "part"]).sort_values("order")[meta_cols].reset_index(drop=True)
    ci = pd.MultiIndex.from_frame(cities).get_indexer(pd.MultiIndex.from_frame(rows[["city", "year"]]))
    pi = pd.MultiIndex.from_frame(points[["code", "part"]]).get_indexer(
        pd.MultiIndex.from_frame(rows[["code", "part"]]))
    shape = (len(cities), len(points))
    reported, scored = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    value, contrib = np.full(shape, np.nan), np.full(shape, np.nan)
    band = np.full(shape, "", dtype=object)
    rep = rows["reported"].to_numpy(dtype=bool)
    sc = rows["scored"].to_numpy(dtype=bool)
    reported[ci, pi] = rep
    scored[ci, pi] = sc
    value[ci, pi] = np.where(rep, rows["value"].to_numpy(dtype=float), np.nan)
    band[ci, pi] = np.where(sc, rows["band"].astype(str).to_numpy(dtype=object), "")
    contrib[ci, pi] = np.where(sc, rules.contribution(band_percent(rows["points"].to_numpy(dtype=float))), np.nan)
    return PointGrid(cities, points, reported, scored, value, band, contrib)


# ---------------------------------------------------------------- side by side


def side_by_side(rows: pd.DataFrame, min_cities: int = 2) -> tuple[pd.DataFrame, PointGrid]:
    """The data points reported by at least `min_cities` city-years, and the grid restricted to them.

    The frame has one row per such data point (code, part, name, point_label, unit, cities reporting it)."""
    grid = point_grid(rows)
    keep = grid.reported.sum(axis=0) >= min_cities
    shown = grid.points[keep].reset_index(drop=True).assign(cities=grid.reported[:, keep].sum(axis=0))
    sub = PointGrid(grid.cities, shown, grid.reported[:, keep], grid.scored[:, keep], grid.value[:, keep],
                    grid.band[:, keep], grid.contrib[:, keep])
    return shown, sub


# ---------------------------------------------------------------- pairs


@dataclass(frozen=True)
class Pairs:
    """Each pair of city-years on the data points both score; `notes` say what cannot be compared and why."""

    table: pd.DataFrame
    notes: list[Text] = field(default_factory=list)


def shared_scores(contrib: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Overall score in % of each row of `contrib` over the data points its row of `weight` marks (1) shared:
    the U4SSC contribution and arithmetic aggregation of `kpis.rules`; NaN where nothing is shared."""
    return rules.aggregate(np.nan_to_num(contrib), weight, np.ones((contrib.shape[-1], 1)), "arithmetic")[0][..., 0]


def pairs(rows: pd.DataFrame, max_cities: int = MAX_PAIR_CITIES) -> Pairs:
    """Every pair of city-years (latest rows) with the number of data points both score and each one's score on
    them. City-years with nothing scored, and pairs that share nothing, are named in `notes` instead."""
    grid = point_grid(rows)
    names = grid.labels
    has_any = grid.scored.any(axis=1)
    notes = [T("{city} has no scored data point (reported, with a target), so it cannot be compared with any city.",
               city=names[i]) for i in np.flatnonzero(~has_any)]
    idx = np.flatnonzero(has_any)
    if len(idx) > max_cities:
        notes.append(T("With {cities} cities there are {pairs} pairs, too many to list; compare fewer cities (or a "
                       "few at a time) to see them.", cities=len(idx), pairs=len(idx) * (len(idx) - 1) // 2))
        return Pairs(pd.DataFrame(columns=PAIR_COLUMNS), notes)
    scored = grid.scored[idx].astype(float)
    weight = scored[:, None, :] * scored[None, :, :]  # (a, b, points): both score the point
    shared = weight.sum(axis=2)
    score = shared_scores(np.broadcast_to(grid.contrib[idx][:, None, :], weight.shape), weight)  # a's score vs b
    out = []
    for i, j in zip(*np.triu_indices(len(idx), k=1), strict=True):
        a, b = grid.cities.iloc[idx[i]], grid.cities.iloc[idx[j]]
        if shared[i, j] == 0:
            notes.append(T("{city_a} and {city_b} share no scored data point, so they cannot be compared.",
                           city_a=names[idx[i]], city_b=names[idx[j]]))
            continue
        out.append({"city_a": a["city"], "year_a": int(a["year"]), "city_b": b["city"], "year_b": int(b["year"]),
                    "shared_points": int(shared[i, j]), "score_a": score[i, j], "score_b": score[j, i]})
    table = pd.DataFrame(out, columns=PAIR_COLUMNS)
    if not table.empty:
        table["band_a"] = rules.band_of(table["score_a"].to_numpy(dtype=float))
        table["band_b"] = rules.band_of(table["score_b"].to_numpy(dtype=float))
        table["difference"] = table["score_a"] - table["score_b"]
        table = table.sort_values(["shared_points", "city_a", "city_b"], ascending=[False, True, True],
                                  ignore_index=True)
    return Pairs(table, notes)


# ---------------------------------------------------------------- peers


@dataclass(frozen=True)
class Peers:
    """Each city next to the median of its peer group, all scored over the data points every one of them scores."""

    table: pd.DataFrame
    notes: list[Text] = field(default_factory=list)


def peers_on_shared(kpis: pd.DataFrame, profiles: pd.DataFrame, by: str, level: str,
                    min_shared: int = MIN_SHARED_POINTS) -> Peers:
    """Peer groups (population band or region) per year. Within a group, the data points every member scores
    are the basis: each member's group scores (at `level`) are recomputed over them, the peer median and each
    city's difference from it follow. A group with one city, or fewer than `min_shared` shared data points, is
    not compared and a note says why; a city with no known group (no population, no region) is in none."""
    prof = profiles[["city", "year", by]].copy()
    prof["peer_group"] = prof[by].astype(object).where(prof[by].notna(), "").astype(str)
    notes: list[Text] = []
    unknown = prof[prof["peer_group"].str.strip().str.lower().isin(UNKNOWN_GROUPS)]
    if len(unknown):
        listed = ", ".join(label(c, y) for c, y in zip(unknown["city"], unknown["year"], strict=True))
        notes.append(T("Not in a peer group (no population in the input): {cities}.", cities=listed)
                     if by == "population_band" else
                     T("Not in a peer group (no region in the input): {cities}.", cities=listed))
    known = prof.drop(unknown.index)
    frames = []
    for (group, year), members in known.groupby(["peer_group", "year"], sort=True):
        rows = kpis.merge(members[["city", "year"]], on=["city", "year"])
        grid = point_grid(rows)
        names = grid.labels
        if len(names) < 2:
            notes.append(T("{city} is the only city of {group} in {year}: it has no peers to compare with.",
                           city=names[0], group=Word(group), year=year))
            continue
        shared = np.asarray(grid.scored.all(axis=0), dtype=bool)
        if shared.sum() < min_shared:
            notes.append(TN("{group} {year} ({cities}): the cities score {count} data point in common, fewer "
                            "than {least}; no peer comparison is made.",
                            "{group} {year} ({cities}): the cities score {count} data points in common, fewer "
                            "than {least}; no peer comparison is made.", int(shared.sum()), group=Word(group),
                            year=year, cities=", ".join(names), count=int(shared.sum()), least=min_shared))
            continue
        frames.append(_peer_scores(grid, shared, level, str(group)))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PEER_COLUMNS)
    return Peers(table[PEER_COLUMNS].sort_values(["peer_group", "group", "score"], ascending=[True, True, False],
                                                 ignore_index=True), notes)


def _peer_scores(grid: PointGrid, shared: np.ndarray, level: str, group: str) -> pd.DataFrame:
    pts = grid.points[shared]
    labels = np.full(len(pts), "Overall", dtype=object) if level == "overall" else pts[level].to_numpy(dtype=object)
    codes, groups = pd.factorize(labels)
    member = np.zeros((len(pts), len(groups)))
    member[np.arange(len(pts)), codes] = 1.0
    weight = np.ones((len(grid.cities), len(pts)))
    score = rules.aggregate(grid.contrib[:, shared], weight, member, "arithmetic")[0]  # (cities, groups)
    frame = pd.DataFrame({
        "peer_group": group,
        "city": np.repeat(grid.cities["city"].to_numpy(), len(groups)),
        "year": np.repeat(grid.cities["year"].to_numpy(), len(groups)),
        "level": level,
        "group": np.tile(np.asarray(groups, dtype=object), len(grid.cities)),
        "peers": len(grid.cities),
        "shared_points": np.tile(member.sum(axis=0).astype(int), len(grid.cities)),
        "score": score.ravel(),
    })
    frame["band"] = rules.band_of(frame["score"].to_numpy(dtype=float))
    frame["peer_median"] = frame.groupby("group")["score"].transform("median")
    frame["vs_peers"] = frame["score"] - frame["peer_median"]
    return frame


# ---------------------------------------------------------------- radar


def radar_choice(rows: pd.DataFrame, wanted: Sequence[str] = (), most: int = 4,
                 min_shared: int = MIN_SHARED_POINTS) -> list[str]:
    """Cities for the radar: those asked for, or the best-covered cities (up to `most`) that still share at least
    `min_shared` scored data points."""
    grid = point_grid(rows)
    if wanted:
        return [c for c in wanted if c in set(grid.cities["city"])]
    order = np.argsort(-grid.scored.sum(axis=1), kind="stable")
    chosen: list[int] = []
    common = np.ones(grid.scored.shape[1], dtype=bool)
    for i in order:
        both = common & grid.scored[i]
        if both.sum() >= min_shared:
            chosen.append(int(i))
            common = both
        if len(chosen) == most:
            break
    return [str(grid.cities["city"].iloc[i]) for i in chosen]


def group_scores_on_shared(rows: pd.DataFrame, cities: Sequence[str], level: str) -> tuple[pd.DataFrame, int]:
    """Cities × groups of `level`: scores over the data points every one of `cities` scores (latest rows), and
    how many such data points there are."""
    sub = rows[rows["city"].isin(list(cities))]
    if sub.empty:
        return pd.DataFrame(), 0
    grid = point_grid(sub)
    shared = np.asarray(grid.scored.all(axis=0), dtype=bool)
    if not shared.any():
        return pd.DataFrame(index=grid.cities["city"]), 0
    frame = _peer_scores(grid, shared, level, "")
    table = frame.pivot(index="city", columns="group", values="score")
    return table.reindex(index=[c for c in cities if c in table.index]), int(shared.sum())
