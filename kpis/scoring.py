"""Scoring: a city's values against targets, in U4SSC bands, aggregated with coverage and an SDG view.

The rules themselves (achievement, bands, points, aggregation) are in `kpis.rules`; docs/scoring.md has the long
form. This module decides what is scored: yes/no KPIs against 100 % unless the target set gives a number; composite
KPIs per data point, each counting once in every aggregate; a data point not reported, without a target or without
a direction is not scored but still counted in coverage.

Research options (COINr-style, the default stays U4SSC): `method="distance"` scores the capped achievement itself
instead of band points, `normalise="minmax"` replaces % of target by the position between the worst and best city in
the frame, `aggregate="geometric"` takes a weighted geometric mean, `weights` weighs the data points of a KPI code.

The core (`score_frame`) works on a long frame for any number of cities with array arithmetic: every aggregate is
one matrix product of the (city-year × data point) grid with a membership matrix, so there is no loop over rows.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import rules
from .categories import categorical, regrouped, small_codes
from .formulas import compute_frame
from .grid import Grid, place, point_index, reported_flag
from .grouping import ScoringMeta, any_per_kpi, scoring_meta
from .library import Targets, load_targets
from .models import normalise_code
from .results import (
    COVERAGE_COLUMNS,
    KPI_COLUMNS,
    SDG_COLUMNS,
    SUMMARY_COLUMNS,
    Results,
    ScoringError,
    canonical_category,
)
from .rules import BANDS

LEVELS = ("category", "sub_dimension", "dimension", "overall")
NORMALISATIONS = (None, "target", "minmax")
def _band_categorical(idx: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(idx.astype(np.int8, copy=False), categories=list(BANDS), ordered=True,
                                     validate=False)  # band_index gives -1 to 3 only


def _resolve_targets(targets: Targets | str | Path | None) -> Targets:
    if targets is None:
        return load_targets()
    if isinstance(targets, Targets):
        return targets
    if isinstance(targets, (str, Path)):
        return load_targets(targets)
    raise ScoringError(f"targets must be None, a path to a YAML/CSV target file or a Targets object, not {type(targets).__name__}")


def _weights(weights: Mapping[str, float] | None, meta: ScoringMeta) -> np.ndarray:
    per_kpi = np.ones(len(meta.kpis))
    if weights:
        index = {c: i for i, c in enumerate(meta.kpis["code"])}
        for code, w in weights.items():
            norm = normalise_code(code)
            if norm not in index:
                raise ScoringError(f"weights: {code!r} is not a U4SSC KPI code (expected e.g. 'EC: ICT: ICT: 1C')")
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise ScoringError(f"weights: the weight of {code} is {w!r}, not a number") from None
            if not math.isfinite(w) or w < 0:
                raise ScoringError(f"weights: the weight of {code} is {w}; give a finite number of 0 or more")
            per_kpi[index[norm]] = w
    return per_kpi[meta.kpi_of_point]


# ---------------------------------------------------------------- the core


def score_frame(
    values: pd.DataFrame,
    targets: Targets | str | Path | None = None,
    *,
    method: str = "bands",
    normalise: str | None = None,
    aggregate: str = "arithmetic",
    weights: Mapping[str, float] | None = None,
    profiles: dict | None = None,
    measures: dict | None = None,
) -> Results:
    """Score a long frame (city, year, code, part, value[, reported, data_quality, data_origin, source,
    value_origin]) for any number of city-years.

    Data points missing from the frame count as not reported. A frame with raw inputs (numerator_value,
    denominator_value, final_value) and no `value` column is computed first with `kpis.formulas.compute_frame`.
    """
    _check_options(method, normalise, aggregate)
    tset = _resolve_targets(targets)
    meta = scoring_meta(tset)
    frame = _prepare_frame(values)
    grid = place(frame, point_index(frame, meta), len(meta.points))
    scored = _score_grid(frame, grid, meta, method, normalise, aggregate, weights)
    per_city_year = _CityYearColumns(grid)
    kpis = _kpi_table(frame, per_city_year, meta, scored, normalise)
    summary, sdg_frame = _group_frames(scored.aggregates, meta, per_city_year)
    coverage = _coverage_table(meta, scored, per_city_year, scorable=_scorable_points(scored))
    keys = list(zip(grid.cities.tolist(), grid.years.astype(int).tolist(), strict=True))
    given, written = profiles or {}, measures or {}
    # one small dict per city-year: made directly when nothing was given (a research frame of 100,000)
    profiles = {k: _json_safe(given[k]) if given.get(k) else {"city": k[0], "year": k[1]} for k in keys} if given \
        else {k: {"city": k[0], "year": k[1]} for k in keys}
    measures = {k: {str(s): str(t) for s, t in (written.get(k) or {}).items()} for k in keys} if written \
        else {k: {} for k in keys}
    options = {
        "method": method,
        "normalise": normalise or "target",
        "aggregate": aggregate,
        "weights": {normalise_code(c): float(w) for c, w in (weights or {}).items()},
    }
    label = tset.label if normalise != "minmax" else f"min-max across the {len(grid.cities)} city-year(s) scored"
    return Results(kpis, summary, sdg_frame, coverage, label, profiles, measures, options)


def _scorable_points(scored: _Scored) -> int:
    """Data points that the target set (or min-max) can score: a finite target and a direction."""
    return int(scored.scorable.sum())


def _check_options(method: str, normalise: str | None, aggregate: str) -> None:
    if method not in rules.METHODS:
        raise ScoringError(f"method={method!r}: use one of {', '.join(rules.METHODS)}")
    if normalise not in NORMALISATIONS:
        raise ScoringError(f"normalise={normalise!r}: use None (% of target, the U4SSC way) or 'minmax'")
    if aggregate not in rules.AGGREGATIONS:
        raise ScoringError(f"aggregate={aggregate!r}: use one of {', '.join(rules.AGGREGATIONS)}")


def _prepare_frame(values: pd.DataFrame) -> pd.DataFrame:
    """The input as a frame with a value per row (computed from raw inputs when only those are given)."""
    frame = pd.DataFrame(values)
    if "value" not in frame.columns and {"code", "numerator_value"} <= set(frame.columns):
        for col in ("part", "denominator_value", "final_value"):
            if col not in frame.columns:
                frame[col] = "" if col == "part" else np.nan
        frame = compute_frame(frame.assign(part=frame["part"].fillna("")))
    missing = [c for c in ("city", "year", "code", "value") if c not in frame.columns]
    if missing:
        raise ScoringError(f"the frame to score lacks the column(s) {', '.join(missing)}; it needs city, year, "
                           "code, part and value (one row per city, year and data point)")
    if frame.empty:
        raise ScoringError("the frame to score has no rows")
    return frame


@dataclass
class _Scored:
    """The (city-year × data point) grids of one scoring run and the aggregates built from them."""

    value: np.ndarray  # as given, also when not reported (flat, city-year-major)
    reported: np.ndarray  # city-years × points
    achievement: np.ndarray  # % of target (or min-max position), NaN where not scored
    band: np.ndarray  # band index 0-3, -1 where not scored
    next_band: np.ndarray  # band index of the next band, -1 where there is none
    next_band_value: np.ndarray  # the value that reaches it
    # every aggregate, (city-years × groups): the hierarchy's groups (category, sub-dimension, dimension, overall),
    # then the SDG goals and targets; emptied as the summary and SDG tables take them
    aggregates: dict[str, np.ndarray]
    kpi_reported: np.ndarray  # city-years × KPIs
    kpi_scored: np.ndarray
    scorable: np.ndarray  # per data point: a target (or a min-max span) and a direction to score it by

    @property
    def scored(self) -> np.ndarray:
        return self.band >= 0

    @property
    def points(self) -> np.ndarray:
        return np.where(self.scored, self.band + 1, 0).astype(np.int8)


def _score_grid(frame: pd.DataFrame, grid: Grid, meta: ScoringMeta, method: str, normalise: str | None,
                aggregate: str, weights: Mapping[str, float] | None) -> _Scored:
    """Achievement, bands and every aggregate, by the rules of `kpis.rules`."""
    n_points = len(meta.points)
    # a copy: the tidy table gets its own values, never a view of the caller's frame
    value = grid.spread(pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float, copy=True), np.nan)
    if "reported" in frame.columns:
        flag = grid.spread(reported_flag(frame["reported"], "scoring input"), False)
    else:
        flag = np.ones(len(value), dtype=bool)
    reported = (flag & ~np.isnan(value)).reshape(-1, n_points)
    values = np.where(reported, value.reshape(-1, n_points), np.nan)
    direction = meta.points["scoring_direction"].to_numpy()
    target = meta.points["target"].to_numpy(dtype=float)
    if normalise == "minmax":
        achieved, low, span = _minmax_position(values, direction)
    else:
        achieved, low, span = rules.achievement(values, target, direction), None, None
    band = rules.band_index(achieved)
    next_band, need = _next_band_values(band, direction, target, meta, low, span)
    kpi_reported = any_per_kpi(reported, meta)  # a KPI is reported / scored when any of its data points is
    kpi_scored = any_per_kpi(band >= 0, meta)
    # counts of KPIs: whole numbers, exact in single precision (half the bytes of every product)
    kpi_reported_f, kpi_scored_f = kpi_reported.astype(np.float32), kpi_scored.astype(np.float32)
    # one pass over the grid for every group: the hierarchy's and the SDGs' membership side by side
    member = np.hstack((meta.member, meta.sdg_member))
    kpi_member = np.hstack((meta.kpi_member, meta.sdg_kpi_member)).astype(np.float32)
    per_point = _weights(weights, meta)
    exact = method == "bands" and aggregate == "arithmetic"  # points are whole band points, summed
    if exact and (per_point == 1.0).all():
        score, weight_sum, points = rules.aggregate_band_points(band, member)  # the U4SSC way
    else:
        weight = np.where(band >= 0, per_point, 0.0)
        contrib = rules.contribution(achieved, method, band)  # type: ignore[arg-type]
        score, weight_sum = rules.aggregate(contrib, weight, member, aggregate)  # type: ignore[arg-type]
        if exact:  # band + 1 points where scored; 0 × weight elsewhere (a weight is 0 where the band is -1)
            weighted_points = band + 1.0
            weighted_points *= weight
            points = weighted_points @ member
    max_points = rules.MAX_POINTS * weight_sum
    both = {
        "points": points if exact else score * max_points / 100.0,
        "max_points": max_points,
        "score": score,
        "kpis_total": kpi_member.sum(axis=0).astype(np.int64),  # per group, the same for every city-year
        "kpis_reported": (kpi_reported_f @ kpi_member).astype(np.int64),
        "kpis_scored": (kpi_scored_f @ kpi_member).astype(np.int64),
    }
    usable = np.isin(direction, ("higher", "lower"))
    scorable = usable & (span > 0 if span is not None else np.isfinite(target))
    return _Scored(value, reported, achieved, band, next_band, need, both, kpi_reported, kpi_scored, scorable)


def _minmax_position(values: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COINr's min-max: the position between the worst and best city-year of the frame, in %."""
    usable = np.isin(direction, ("higher", "lower"))
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a data point no city reported: all-NaN column
        low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        span = high - low
        position = np.where(direction == "higher", (values - low) / span, (high - values) / span) * 100.0
    return np.clip(np.where(usable & (span > 0), position, np.nan), 0.0, 100.0), low, span


def _next_band_values(band: np.ndarray, direction: np.ndarray, target: np.ndarray, meta: ScoringMeta,
                      low: np.ndarray | None, span: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The next band up and the value that reaches it, looked up for every city-year in a table worked out once per
    data point and band (five rows: no band, then the four bands)."""
    n_pts = len(direction)
    table_band, table_need = _next_band_table(np.arange(-1, len(rules.BANDS), dtype=np.int8)[:, None], direction,
                                              target, meta, low, span)
    idx = band.astype(np.intp) + 1  # (band + 1) × points + point: a position in the table
    idx *= n_pts
    idx += np.arange(n_pts)
    return table_band.ravel().take(idx), table_need.ravel().take(idx)


def _next_band_table(band: np.ndarray, direction: np.ndarray, target: np.ndarray, meta: ScoringMeta,
                     low: np.ndarray | None, span: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The next band up from `band` and the value that reaches it (yes/no KPIs: a whole criterion more)."""
    band = np.broadcast_to(band, (band.shape[0], len(direction)))
    next_band = np.where((band >= 0) & (band < len(rules.BANDS) - 1), band + 1, -1).astype(np.int8)
    edge = np.array((*rules.BAND_EDGES, np.nan))[np.where(next_band > 0, next_band - 1, 3)] / 100.0
    if low is not None and span is not None:
        need = np.where(direction == "higher", low + edge * span, low + span - edge * span)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(direction == "higher", target * edge, target / edge)
        criteria = meta.points["n_criteria"].to_numpy(dtype=float)
        whole = np.ceil(edge * criteria - rules.EDGE_TOLERANCE) * 100.0 / criteria
        yes_no = (meta.points["kind"] == "yes_no").to_numpy()
        need = np.where(yes_no & (target == 100.0), whole, need)
    return next_band, np.where(next_band > 0, need, np.nan)


@dataclass
class _CityYearColumns:
    """The city and year columns of a table with `n_groups` rows per city-year."""

    grid: Grid

    @functools.cached_property
    def _cities(self) -> pd.Categorical:
        """The city names as a canonical category, once for the four tables."""
        return canonical_category(pd.Series(self.grid.cities, dtype=object))

    def __call__(self, n_groups: int) -> dict[str, Any]:
        cities = self._cities
        return {
            "city": categorical(np.repeat(small_codes(np.asarray(cities.codes), len(cities.categories)),
                                          n_groups), cities.categories),
            "year": np.repeat(self.grid.years.astype(np.int64), n_groups),
        }


def _tile(col: str, table: pd.DataFrame, n: int) -> pd.Categorical:
    codes, uniq = pd.factorize(table[col])  # first appearance: the tiled column is canonical as it stands
    return categorical(np.tile(small_codes(codes, len(uniq)), n), uniq)


def _user_text(frame: pd.DataFrame, grid: Grid, col: str, size: int) -> pd.Categorical:
    """A text column the city wrote (data quality, source…), spread onto the grid; '' where there is none."""
    if col not in frame.columns:
        return pd.Categorical.from_codes(np.zeros(size, dtype=np.int8), categories=pd.Index([""], dtype=object))
    column = frame[col]
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        names = list(column.cat.categories.astype(str))
    else:
        codes, uniq = pd.factorize(column)
        names = [str(u) for u in uniq]
    # several source categories may read the same as text ('' and missing, 1 and '1'): merge them
    merged, group = np.unique(np.array(names + [""], dtype=object).astype(str), return_inverse=True)
    codes = grid.spread(small_codes(codes, len(names) + 1), -1)  # missing and absent both read ''
    return regrouped(codes, group, merged)


def _kpi_table(frame: pd.DataFrame, per_city_year: _CityYearColumns, meta: ScoringMeta, scored: _Scored,
               normalise: str | None) -> pd.DataFrame:
    """The tidy table: one row per city-year and data point, in catalogue order."""
    pts, grid = meta.points, per_city_year.grid
    n_cy, n_pts = len(grid.cities), len(pts)
    size = n_cy * n_pts
    cols: dict[str, Any] = per_city_year(n_pts)
    for col in ("code", "name", "dimension", "sub_dimension", "category", "tier", "part", "point_label"):
        cols[col] = _tile(col, pts, n_cy)
    cols["value"] = scored.value
    cols["unit"] = _tile("unit", pts, n_cy)
    cols["direction"] = _tile("direction", pts, n_cy)
    if normalise == "minmax":
        cols["target"] = np.full(size, np.nan)
        reason = np.where(np.isin(pts["scoring_direction"], ("higher", "lower")), "", "no desired direction")
        cols["target_source"] = _tile("target_source", pts, n_cy)
        cols["no_benchmark"] = _tile("r", pd.DataFrame({"r": reason}), n_cy)
    else:
        cols["target"] = np.tile(pts["target"].to_numpy(dtype=float), n_cy)
        cols["target_source"] = _tile("target_source", pts, n_cy)
        cols["no_benchmark"] = _tile("no_benchmark", pts, n_cy)
    cols["target_basis"] = _tile("target_basis", pts, n_cy) if normalise != "minmax" else _tile(
        "r", pd.DataFrame({"r": [""] * n_pts}), n_cy)
    cols["reference"] = np.tile(pts["reference"].to_numpy(dtype=float), n_cy)
    cols["achievement"] = scored.achievement.ravel()
    cols["band"] = _band_categorical(scored.band.ravel())
    cols["points"] = pd.arrays.IntegerArray(scored.points.ravel(), ~scored.scored.ravel())
    cols["reported"] = scored.reported.ravel()
    cols["scored"] = scored.scored.ravel()
    status = rules.status_index(scored.band, scored.reported, pts["is_context"].to_numpy(dtype=bool)).ravel()
    cols["status"] = canonical_category(pd.Series(categorical(status, rules.STATUSES)))
    for col in ("data_quality", "data_origin", "source", "value_origin"):
        cols[col] = _user_text(frame, grid, col, size)
    cols["next_band"] = _band_categorical(scored.next_band.ravel())
    cols["next_band_value"] = scored.next_band_value.ravel()
    cols["sdg"] = _tile("sdg", pts, n_cy)
    return pd.DataFrame(cols, columns=KPI_COLUMNS, copy=False)  # the arrays are this run's own: no second copy


def _coverage_table(meta: ScoringMeta, scored: _Scored, per_city_year: _CityYearColumns,
                    scorable: int) -> pd.DataFrame:
    """Per city-year: KPIs and data points reported and scored, the data points that could be scored at all (a
    target and a direction; not a context indicator), and whether the overall score is provisional."""
    core = (meta.kpis["tier"] == "core").to_numpy(dtype=float)
    n_kpis, n_cy = len(meta.kpis), len(scored.kpi_reported)
    reported = scored.kpi_reported
    core_reported = (reported.astype(np.float32) @ core.astype(np.float32)).astype(float)  # whole: exact
    return pd.DataFrame(
        {
            **per_city_year(1),
            "kpis_total": np.full(n_cy, n_kpis, dtype=np.int64),
            "kpis_reported": reported.sum(axis=1).astype(np.int64),
            "kpis_reported_pct": reported.sum(axis=1) / n_kpis * 100.0,
            "core_total": np.full(n_cy, int(core.sum()), dtype=np.int64),
            "core_reported": core_reported.astype(np.int64),
            "core_reported_pct": core_reported / core.sum() * 100.0,
            "kpis_scored": scored.kpi_scored.sum(axis=1).astype(np.int64),
            "points_total": np.full(n_cy, len(meta.points), dtype=np.int64),
            "points_reported": scored.reported.sum(axis=1).astype(np.int64),
            "points_scored": scored.scored.sum(axis=1).astype(np.int64),
            "points_scorable": np.full(n_cy, scorable, dtype=np.int64),
            "provisional": rules.is_provisional(core_reported, core.sum()),
        },
        columns=COVERAGE_COLUMNS,
        copy=False,
    )


def _group_frames(agg: dict[str, np.ndarray], meta: ScoringMeta,
                  per_city_year: _CityYearColumns) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary and SDG tables, each aggregate of `agg` split between them and dropped once both have their part
    (at research scale each is hundreds of megabytes)."""
    n_cy = len(per_city_year.grid.cities)
    tables = []
    for groups, labels in ((meta.groups, ("level", "dimension", "sub_dimension", "category", "group")),
                           (meta.sdg_groups, ("level", "sdg"))):
        cols = per_city_year(len(groups))
        for col in labels:
            cols[col] = _tile(col, groups, n_cy)
        tables.append(cols)
    n_hierarchy = len(meta.groups)
    for col in ("points", "max_points", "score", "kpis_total", "kpis_reported", "kpis_scored"):
        whole = agg.pop(col)
        for cols, part in ((tables[0], slice(None, n_hierarchy)), (tables[1], slice(n_hierarchy, None))):
            if col == "kpis_total":
                cols[col] = np.tile(whole[part], n_cy)
            else:
                cols[col] = np.ascontiguousarray(whole[:, part]).ravel()
            if col == "score":
                cols["band"] = _band_categorical(rules.band_index(cols["score"]))
        del whole
    # the arrays are this run's own: no consolidating copy
    return (pd.DataFrame(tables[0], columns=SUMMARY_COLUMNS, copy=False),
            pd.DataFrame(tables[1], columns=SDG_COLUMNS, copy=False))


def _json_safe(obj: Any) -> Any:
    """Plain JSON types only (a profile may be a pydantic model or a dataclass; NaN becomes None), so a saved
    result loads back equal."""
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump(mode="json")
    elif hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        obj = dataclasses.asdict(obj)

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(json.loads(json.dumps(obj, default=str)))


# ---------------------------------------------------------------- submissions


def _submission_frame(sub: Any) -> tuple[pd.DataFrame, tuple[str, int], dict, dict]:
    profile = _json_safe(getattr(sub, "profile", None) or {})
    city, year = profile.get("city"), profile.get("year")
    if not city or year is None:
        raise ScoringError("the submission's city profile lacks the city name or the year; fill them in on the "
                           "profile sheet")
    data = pd.DataFrame(sub.data).copy()
    data["city"] = str(city)
    data["year"] = int(year)
    name = data["source_name"].fillna("").astype(str) if "source_name" in data else pd.Series("", index=data.index)
    link = data["source_link"].fillna("").astype(str) if "source_link" in data else pd.Series("", index=data.index)
    data["source"] = np.where((name != "") & (link != ""), name + " (" + link + ")", np.where(name != "", name, link))
    measures = dict(getattr(sub, "measures", None) or {})
    return data, (str(city), int(year)), profile, measures


def score(
    submission: Any,
    targets: Targets | str | Path | None = None,
    **options: Any,
) -> Results:
    """Score one Submission, several, or a long frame (see `score_frame`) against a target set.

    targets: None (the default set), a path to a YAML/CSV target file, or a `Targets` object.
    options: method, normalise, aggregate, weights (research options; defaults are the U4SSC method).
    """
    if isinstance(submission, pd.DataFrame):
        return score_frame(submission, targets, **options)
    subs = [submission] if hasattr(submission, "data") else list(_iterable(submission))
    if not subs:
        raise ScoringError("nothing to score: give a Submission, a list of them or a long DataFrame")
    frames, profiles, measures = [], {}, {}
    for sub in subs:
        if not hasattr(sub, "data"):
            raise ScoringError(f"cannot score a {type(sub).__name__}; give Submissions from kpis.read_submission")
        data, key, profile, meas = _submission_frame(sub)
        if key in profiles:
            raise ScoringError(f"{key[0]} {key[1]} is given twice; score each city-year once")
        frames.append(data)
        profiles[key], measures[key] = profile, meas
    frame = pd.concat(frames, ignore_index=True)
    if "value" not in frame.columns:
        frame = compute_frame(frame.assign(part=frame["part"].fillna("")))
    return score_frame(frame, targets, profiles=profiles, measures=measures, **options)


def _iterable(obj: Any) -> Iterable:
    if isinstance(obj, (str, bytes)) or not isinstance(obj, Iterable):
        raise ScoringError(f"cannot score a {type(obj).__name__}; give a Submission, a list of them or a DataFrame")
    return obj
