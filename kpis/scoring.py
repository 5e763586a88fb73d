"""Scoring: a city's values against targets, in U4SSC bands, aggregated with coverage and an SDG view.

The rules (docs/scoring.md has the long form):

* achievement, in % of target: value ÷ target when higher is better; target ÷ value when lower is better (a value of
  0 or less then reaches the target). The lower-is-better mirror is the project's reading: U4SSC publishes only the
  higher-is-better case. A value beyond the target is capped at 100 %, a negative result is floored at 0 %.
* yes/no KPIs already are a share: 100 × criteria met ÷ criteria (Yes = 100 %, No = 0 %, partial in between), scored
  against 100 % unless the target set gives a number.
* bands: ≥ 95 % → 4 points, ≥ 66 % → 3, ≥ 33 % → 2, else 1. An edge belongs to the higher band; comparisons allow
  1e-9 so that 0.66 × 60 = 39.6 lands in 66–95 despite floating point.
* composite KPIs are scored per data point, and each data point counts once in every aggregate.
* not reported, no target or no direction: not scored (excluded from numerator and denominator), still counted in
  coverage. A group with nothing scored has no score (NaN), never zero.
* group score = points earned ÷ (4 × data points scored), put into the same bands.

Research options (COINr-style, the default stays U4SSC): `method="distance"` scores the capped achievement itself
instead of band points, `normalise="minmax"` replaces % of target by the position between the worst and best city in
the frame, `aggregate="geometric"` takes a weighted geometric mean, `weights` weighs the data points of a KPI code.

The core (`score_frame`) works on a long frame for any number of cities with array arithmetic: every aggregate is
one matrix product of the (city-year × data point) grid with a membership matrix, so there is no loop over rows.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .catalogue import Targets, library, load_targets
from .compute import compute_frame, points_table
from .errors import UserError
from .models import normalise_code

BANDS = ("<33", "33-66", "66-95", "95+")
EDGES = (33.0, 66.0, 95.0)  # % of target where bands 2, 3 and 4 start
EPSILON = 1e-9
LEVELS = ("category", "sub_dimension", "dimension", "overall")
METHODS = ("bands", "distance")
NORMALISATIONS = (None, "target", "minmax")
AGGREGATIONS = ("arithmetic", "geometric")
FORMAT = "ssc-kpis results"
FORMAT_VERSION = 1

KPI_COLUMNS = [
    "city", "year", "code", "name", "dimension", "sub_dimension", "category", "tier", "part", "point_label",
    "value", "unit", "direction", "target", "target_source", "no_benchmark", "achievement", "band", "points",
    "reported", "scored", "data_quality", "data_origin", "source", "value_origin", "next_band", "next_band_value",
    "sdg",
]
SUMMARY_COLUMNS = [
    "city", "year", "level", "dimension", "sub_dimension", "category", "group", "points", "max_points", "score",
    "band", "kpis_total", "kpis_reported", "kpis_scored",
]
SDG_COLUMNS = [
    "city", "year", "level", "sdg", "points", "max_points", "score", "band", "kpis_total", "kpis_reported",
    "kpis_scored",
]
COVERAGE_COLUMNS = [
    "city", "year", "kpis_total", "kpis_reported", "kpis_reported_pct", "core_total", "core_reported",
    "core_reported_pct", "kpis_scored", "points_total", "points_reported", "points_scored",
]
_FLOATS = {"value", "target", "achievement", "next_band_value", "points", "max_points", "score",
           "kpis_reported_pct", "core_reported_pct"}
_INTS = {"year", "kpis_total", "kpis_reported", "kpis_scored", "core_total", "core_reported", "points_total",
         "points_reported", "points_scored"}
_BOOLS = {"reported", "scored"}
_BAND_COLUMNS = {"band", "next_band"}
_SMALL_INTS = {"points"}  # band points 1-4 in the tidy table (nullable)


class ScoringError(UserError, ValueError):
    """Input the scoring stage cannot use; the message names the column, KPI or option and how to fix it."""


# ---------------------------------------------------------------- the rules, on arrays


def achievement(value, target, direction) -> np.ndarray:
    """% of target reached, capped to 0-100; NaN where there is no value, no target or no direction.

    direction is 'higher' or 'lower' (arrays broadcast). Higher: value ÷ target (a target of 0 is always reached).
    Lower: target ÷ value (a value of 0 or less reaches the target).
    """
    value = np.asarray(value, dtype=float)
    target = np.asarray(target, dtype=float)
    direction = np.asarray(direction)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # overflow → inf → capped at 100
        higher = np.where(target > 0, value / target * 100.0, 100.0)
        lower = np.where(value > 0, target / value * 100.0, 100.0)
    out = np.where(direction == "higher", higher, np.where(direction == "lower", lower, np.nan))
    out = np.where(np.isnan(value) | np.isnan(target), np.nan, out)
    return np.clip(out, 0.0, 100.0)


def band_index(ach) -> np.ndarray:
    """0-3 for the bands <33, 33-66, 66-95, 95+ (an edge belongs to the higher band); -1 where not scored."""
    ach = np.asarray(ach, dtype=float)
    idx = sum((ach + EPSILON >= edge).astype(np.int8) for edge in EDGES)
    return np.where(np.isnan(ach), -1, idx).astype(np.int8)


def band_of(ach) -> np.ndarray:
    """Band labels for achievements (NaN → None)."""
    idx = band_index(ach)
    labels = np.array(BANDS + (None,), dtype=object)
    return labels[np.where(idx < 0, 4, idx)]


def _band_categorical(idx: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(idx.astype(np.int8), categories=list(BANDS), ordered=True)


# ---------------------------------------------------------------- per data point metadata for a target set


@dataclass(frozen=True)
class _Meta:
    points: pd.DataFrame  # one row per data point in catalogue order
    kpi_of_point: np.ndarray  # index of the point's KPI in catalogue order
    kpis: pd.DataFrame  # one row per KPI: code, tier, group indices
    groups: pd.DataFrame  # one row per summary group (all levels)
    member: np.ndarray  # points × groups, 1.0 where the point belongs to the group
    kpi_member: np.ndarray  # kpis × groups
    sdg_groups: pd.DataFrame
    sdg_member: np.ndarray
    sdg_kpi_member: np.ndarray


_META_CACHE: dict[int, tuple[Targets, _Meta]] = {}


def _sdg_keys(ref: str) -> tuple[str, str]:
    """'11.6.2' → ('11', '11.6'); '11.6' → ('11', '11.6')."""
    bits = ref.split(".")
    return bits[0], ".".join(bits[:2])


def _sdg_sort(key: str) -> tuple:
    return tuple((0, int(b), "") if b.isdigit() else (1, 0, b) for b in key.split("."))


def _meta(targets: Targets) -> _Meta:
    hit = _META_CACHE.get(id(targets))
    if hit is not None and hit[0] is targets:
        return hit[1]
    lib = library()
    pts = points_table().copy()
    kpi_list = list(lib)
    by_code = {k.code: (i, k) for i, k in enumerate(kpi_list)}
    tgt, src, nob = [], [], []
    for row in pts.itertuples():
        t = targets.for_point(row.code, row.part)
        number = t.target if t is not None and t.target is not None else None
        if row.kind == "yes_no" and number is None:
            number, source, reason = 100.0, "all criteria met (yes/no KPI)", ""
        elif row.direction not in ("higher", "lower"):
            number, source, reason = None, t.source if t else "", "no desired direction"
        elif t is None:
            source, reason = "", f"not in target set {targets.label}"
        else:
            source, reason = t.source, t.no_benchmark or ""
        tgt.append(np.nan if number is None else float(number))
        src.append(source)
        nob.append(reason)
    pts["target"] = tgt
    pts["target_source"] = src
    pts["no_benchmark"] = nob
    pts["scoring_direction"] = np.where(pts["kind"] == "yes_no", "higher", pts["direction"])
    kpi_idx = pts["code"].map(lambda c: by_code[c][0]).to_numpy()
    for col in ("name", "dimension", "sub_dimension", "category", "tier"):
        pts[col] = [getattr(by_code[c][1], col) for c in pts["code"]]
    pts["sdg"] = [", ".join(by_code[c][1].sdg) for c in pts["code"]]

    kpis = pd.DataFrame(
        {
            "code": [k.code for k in kpi_list],
            "tier": [k.tier for k in kpi_list],
            "dimension": [k.dimension for k in kpi_list],
            "sub_dimension": [k.sub_dimension for k in kpi_list],
            "category": [k.category for k in kpi_list],
        }
    )
    groups: list[dict] = []
    keys: list[tuple] = []
    # categories, then sub-dimensions, then dimensions, then overall; each in catalogue order
    for level, cols in (
        ("category", ("dimension", "sub_dimension", "category")),
        ("sub_dimension", ("dimension", "sub_dimension")),
        ("dimension", ("dimension",)),
        ("overall", ()),
    ):
        seen: dict[tuple, int] = {}
        for rec in kpis.itertuples():
            key = tuple(getattr(rec, c) for c in cols)
            if key not in seen:
                seen[key] = len(groups)
                full = dict(zip(cols, key, strict=True))
                groups.append(
                    {
                        "level": level,
                        "dimension": full.get("dimension", ""),
                        "sub_dimension": full.get("sub_dimension", ""),
                        "category": full.get("category", ""),
                        "group": key[-1] if key else "Overall",
                    }
                )
        keys.append((level, cols, seen))
    kpi_member = np.zeros((len(kpis), len(groups)))
    for _level, cols, seen in keys:
        for i, rec in enumerate(kpis.itertuples()):
            kpi_member[i, seen[tuple(getattr(rec, c) for c in cols)]] = 1.0
    member = kpi_member[kpi_idx]

    sdg_keys: set[tuple[str, str]] = set()
    per_kpi: list[set[str]] = []
    for k in kpi_list:
        mine: set[str] = set()
        for ref in k.sdg:
            goal, target = _sdg_keys(ref)
            mine |= {f"goal:{goal}", f"target:{target}"}
        per_kpi.append(mine)
        sdg_keys |= {tuple(m.split(":", 1)) for m in mine}
    ordered = sorted(sdg_keys, key=lambda lk: (lk[0] != "goal", _sdg_sort(lk[1])))
    sdg_groups = pd.DataFrame(ordered, columns=["level", "sdg"])
    col_of = {f"{lv}:{s}": j for j, (lv, s) in enumerate(ordered)}
    sdg_kpi_member = np.zeros((len(kpis), len(ordered)))
    for i, mine in enumerate(per_kpi):
        for m in mine:
            sdg_kpi_member[i, col_of[m]] = 1.0
    meta = _Meta(
        points=pts,
        kpi_of_point=kpi_idx,
        kpis=kpis,
        groups=pd.DataFrame(groups),
        member=member,
        kpi_member=kpi_member,
        sdg_groups=sdg_groups,
        sdg_member=sdg_kpi_member[kpi_idx],
        sdg_kpi_member=sdg_kpi_member,
    )
    _META_CACHE[id(targets)] = (targets, meta)
    return meta


def _resolve_targets(targets: Targets | str | Path | None) -> Targets:
    if targets is None:
        return load_targets()
    if isinstance(targets, Targets):
        return targets
    if isinstance(targets, (str, Path)):
        return load_targets(targets)
    raise ScoringError(f"targets must be None, a path to a YAML/CSV target file or a Targets object, not {type(targets).__name__}")


def _weights(weights: Mapping[str, float] | None, meta: _Meta) -> np.ndarray:
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


# ---------------------------------------------------------------- reading the input frame into a grid


def _reported_flag(series: pd.Series, where: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series):
        return series.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series):
        return series.fillna(0).to_numpy(dtype=float) != 0
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    truth = {"true": True, "yes": True, "y": True, "1": True, "reported": True,
             "false": False, "no": False, "n": False, "0": False, "nr": False, "not reported": False, "": False}
    lookup = []
    for u in uniques:
        key = str(u).strip().lower()
        if key not in truth:
            raise ScoringError(f"{where}: column 'reported' holds {u!r}; use yes/no (or true/false)")
        lookup.append(truth[key])
    lookup_arr = np.array(lookup + [False], dtype=bool)
    return lookup_arr[np.where(codes < 0, len(lookup), codes)]


def _point_index(frame: pd.DataFrame, meta: _Meta) -> np.ndarray:
    ccodes, cuniq = pd.factorize(frame["code"])
    part = frame["part"] if "part" in frame.columns else pd.Series("", index=frame.index)
    pcodes, puniq = pd.factorize(part.fillna("") if part.dtype != "category" else part.astype(object).fillna(""))
    known = {(c, p): i for i, (c, p) in enumerate(zip(meta.points["code"], meta.points["part"], strict=True))}
    norm_codes = [normalise_code(c) for c in cuniq]
    lib_codes = set(meta.kpis["code"])
    bad = [c for c, n in zip(cuniq, norm_codes, strict=True) if n not in lib_codes]
    if bad:
        raise ScoringError(f"column 'code': {bad[0]!r} is not a U4SSC KPI code ({len(bad)} unknown code(s)); "
                           "use the codes of the catalogue, e.g. 'EC: ICT: ICT: 1C'")
    if len(puniq) > 1000:
        raise ScoringError("column 'part': too many different data-point names; use the catalogue's part names")
    lookup = np.full((len(cuniq), max(len(puniq), 1)), -1, dtype=np.int64)
    for ci, code in enumerate(norm_codes):
        for pi, p in enumerate(puniq):
            lookup[ci, pi] = known.get((code, str(p)), -1)
    idx = lookup[ccodes, np.maximum(pcodes, 0)]
    if (idx < 0).any():
        first = int(np.argmax(idx < 0))
        code, p = frame["code"].iloc[first], part.iloc[first]
        parts = [q for c, q in known if c == normalise_code(code)]
        hint = f"one of {', '.join(parts)}" if parts != [""] else "empty (the KPI has one data point)"
        raise ScoringError(f"KPI {code}: data point {p!r} is not in the catalogue; 'part' must be {hint}")
    return idx


@dataclass
class _Grid:
    cities: np.ndarray  # per city-year
    years: np.ndarray
    src: np.ndarray  # grid position → input row (-1 = absent)
    identity: bool


def _grid(frame: pd.DataFrame, pidx: np.ndarray, n_pts: int) -> _Grid:
    if frame["city"].isna().any():
        raise ScoringError(f"column 'city' is empty in row {int(np.argmax(frame['city'].isna().to_numpy()))}; every row names its city")
    years = pd.to_numeric(frame["year"], errors="coerce")
    if years.isna().any() or (years % 1 != 0).any():
        row = int(np.argmax((years.isna() | (years % 1 != 0)).to_numpy()))
        raise ScoringError(f"column 'year': {frame['year'].iloc[row]!r} (row {row}) is not a whole year such as 2024")
    ccodes, cuniq = pd.factorize(frame["city"])
    ycodes, yuniq = pd.factorize(years.to_numpy(dtype=np.int64))
    cy, cy_uniq = pd.factorize(ccodes.astype(np.int64) * len(yuniq) + ycodes)
    n_cy = len(cy_uniq)
    flat = cy.astype(np.int64) * n_pts + pidx
    counts = np.bincount(flat, minlength=n_cy * n_pts)
    if counts.max(initial=0) > 1:
        pos = int(np.argmax(counts > 1))
        row = int(np.argmax(flat == pos))
        raise ScoringError(
            f"{frame['city'].iloc[row]} {int(years.iloc[row])}: KPI {frame['code'].iloc[row]}"
            f"{' ' + str(frame['part'].iloc[row]) if 'part' in frame and frame['part'].iloc[row] else ''} appears "
            "more than once; keep one row per city, year and data point"
        )
    identity = len(flat) == n_cy * n_pts and bool((flat == np.arange(len(flat))).all())
    src = np.full(n_cy * n_pts, -1, dtype=np.int64)
    src[flat] = np.arange(len(flat))
    return _Grid(
        cities=np.asarray(cuniq)[cy_uniq // len(yuniq)],
        years=np.asarray(yuniq)[cy_uniq % len(yuniq)],
        src=src,
        identity=identity,
    )


def _category(values, categories=None) -> pd.Categorical:
    """Categorical with categories in order of first appearance: the one canonical form, so loads compare equal."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        order = pd.unique(codes[codes >= 0])  # hash-based, keeps first appearance
        remap = np.full(len(values.cat.categories) + 1, -1, dtype=np.int64)
        remap[order] = np.arange(len(order))
        return pd.Categorical.from_codes(remap[codes], categories=pd.Index(values.cat.categories[order], dtype=object))
    if categories is not None:
        return pd.Categorical(values, categories=categories)
    codes, uniq = pd.factorize(np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniq, dtype=object))


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
    denominator_value, final_value) and no `value` column is computed first with `kpis.compute.compute_frame`.
    """
    if method not in METHODS:
        raise ScoringError(f"method={method!r}: use one of {', '.join(METHODS)}")
    if normalise not in NORMALISATIONS:
        raise ScoringError(f"normalise={normalise!r}: use None (% of target, the U4SSC way) or 'minmax'")
    if aggregate not in AGGREGATIONS:
        raise ScoringError(f"aggregate={aggregate!r}: use one of {', '.join(AGGREGATIONS)}")
    tset = _resolve_targets(targets)
    meta = _meta(tset)
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
    pts = meta.points
    n_pts = len(pts)
    pidx = _point_index(frame, meta)
    grid = _grid(frame, pidx, n_pts)
    n_cy = len(grid.cities)

    raw_value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    if grid.identity:
        value = raw_value
    else:
        value = np.where(grid.src >= 0, raw_value[np.maximum(grid.src, 0)], np.nan)
    if "reported" in frame.columns:
        flag = _reported_flag(frame["reported"], "scoring input")
        flag = flag if grid.identity else np.where(grid.src >= 0, flag[np.maximum(grid.src, 0)], False)
    else:
        flag = np.ones(n_cy * n_pts, dtype=bool)
    reported = flag & ~np.isnan(value)

    V = np.where(reported, value, np.nan).reshape(n_cy, n_pts)
    R = reported.reshape(n_cy, n_pts)
    direction = pts["scoring_direction"].to_numpy()
    T = pts["target"].to_numpy(dtype=float)
    kind_yes_no = (pts["kind"] == "yes_no").to_numpy()
    if normalise == "minmax":
        usable = np.isin(direction, ("higher", "lower"))
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a data point no city reported: all-NaN column
            lo, hi = np.nanmin(V, axis=0), np.nanmax(V, axis=0)
            span = hi - lo
            pos = np.where(direction == "higher", (V - lo) / span, (hi - V) / span) * 100.0
        A = np.where(usable & (span > 0), pos, np.nan)
        A = np.clip(A, 0.0, 100.0)
    else:
        A = achievement(V, T, direction)
    B = band_index(A)
    S = B >= 0
    P = np.where(S, B + 1, 0).astype(np.int8)

    # value needed for the next band
    nxt = np.where(S & (B < 3), B + 1, -1)
    edge = np.array(EDGES + (np.nan,))[np.where(nxt > 0, nxt - 1, 3)] / 100.0
    if normalise == "minmax":
        need = np.where(direction == "higher", lo + edge * span, hi - edge * span)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(direction == "higher", T * edge, T / edge)
        n_crit = pts["n_criteria"].to_numpy(dtype=float)
        whole = np.ceil(edge * n_crit - EPSILON) * 100.0 / n_crit  # yes/no: round up to a whole criterion
        need = np.where(kind_yes_no & (T == 100.0), whole, need)
    need = np.where(nxt > 0, need, np.nan)

    # aggregation: contribution per point, weighted, then one matrix product per view
    W = _weights(weights, meta)
    C = np.where(S, P * 25.0 if method == "bands" else A, 0.0)
    SW = S * W
    kpi_m = _kpi_matrix(meta)
    kpi_rep = (R.astype(float) @ kpi_m) > 0  # a KPI is reported / scored when any of its data points is
    kpi_sc = (S.astype(float) @ kpi_m) > 0

    def _aggregate(member: np.ndarray, kpi_member: np.ndarray) -> dict[str, np.ndarray]:
        den = SW @ member
        with np.errstate(divide="ignore", invalid="ignore"):
            if aggregate == "arithmetic":
                num = (C * SW) @ member
                score = np.where(den > 0, num / den, np.nan)
            else:
                logs = np.where(S & (W > 0) & (C > 0), np.log(np.where(C > 0, C, 1.0)), 0.0) * W
                zero = (S & (W > 0) & (C <= 0)) @ member > 0
                score = np.where(den > 0, np.where(zero, 0.0, np.exp((logs @ member) / den)), np.nan)
        max_points = 4.0 * den
        return {
            "points": score * max_points / 100.0 if aggregate == "geometric" or method == "distance"
            else (P * SW) @ member,
            "max_points": max_points,
            "score": score,
            "kpis_total": np.broadcast_to(kpi_member.sum(axis=0), score.shape).astype(np.int64),
            "kpis_reported": (kpi_rep @ kpi_member).astype(np.int64),
            "kpis_scored": (kpi_sc @ kpi_member).astype(np.int64),
        }

    agg = _aggregate(meta.member, meta.kpi_member)
    sdg = _aggregate(meta.sdg_member, meta.sdg_kpi_member)

    cities = _category(pd.Series(grid.cities, dtype=object))
    city_codes = np.asarray(cities.codes)

    def _per_cy(n_groups: int) -> dict:
        return {
            "city": pd.Categorical.from_codes(np.repeat(city_codes, n_groups), categories=cities.categories),
            "year": np.repeat(grid.years.astype(np.int64), n_groups),
        }

    def _tile(col: str, table: pd.DataFrame, n: int) -> pd.Categorical:
        codes, uniq = pd.factorize(table[col])
        return pd.Categorical.from_codes(np.tile(codes, n), categories=pd.Index(uniq, dtype=object))

    def _user_text(col: str) -> pd.Categorical:
        if col not in frame.columns:
            return pd.Categorical.from_codes(np.zeros(n_cy * n_pts, dtype=np.int8), categories=pd.Index([""], dtype=object))
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            cats = list(s.cat.categories.astype(str))
        else:
            codes, uniq = pd.factorize(s)
            cats = [str(u) for u in uniq]
        # several source categories may read the same as text ('' and missing, 1 and '1'): merge them
        uniq, remap = np.unique(np.array(cats + [""], dtype=object).astype(str), return_inverse=True)
        codes = remap[np.where(codes < 0, len(cats), codes)]
        if not grid.identity:
            codes = np.where(grid.src >= 0, codes[np.maximum(grid.src, 0)], remap[len(cats)])
        return _category(pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniq, dtype=object))))

    kpis_cols: dict[str, Any] = _per_cy(n_pts)
    for col in ("code", "name", "dimension", "sub_dimension", "category", "tier", "part", "point_label"):
        kpis_cols[col] = _tile(col, pts, n_cy)
    kpis_cols["value"] = value  # as given, also when not reported
    kpis_cols["unit"] = _tile("unit", pts, n_cy)
    kpis_cols["direction"] = _tile("direction", pts, n_cy)
    kpis_cols["target"] = np.tile(T, n_cy) if normalise != "minmax" else np.full(n_cy * n_pts, np.nan)
    kpis_cols["target_source"] = _tile("target_source", pts, n_cy)
    if normalise == "minmax":
        reason = np.where(np.isin(direction, ("higher", "lower")), "", "no desired direction")
        kpis_cols["no_benchmark"] = _tile("r", pd.DataFrame({"r": reason}), n_cy)
    else:
        kpis_cols["no_benchmark"] = _tile("no_benchmark", pts, n_cy)
    kpis_cols["achievement"] = A.ravel()
    kpis_cols["band"] = _band_categorical(B.ravel())
    kpis_cols["points"] = pd.arrays.IntegerArray(P.ravel(), ~S.ravel())
    kpis_cols["reported"] = reported
    kpis_cols["scored"] = S.ravel()
    for col in ("data_quality", "data_origin", "source", "value_origin"):
        kpis_cols[col] = _user_text(col)
    kpis_cols["next_band"] = _band_categorical(nxt.ravel())
    kpis_cols["next_band_value"] = need.ravel()
    kpis_cols["sdg"] = _tile("sdg", pts, n_cy)
    kpis = pd.DataFrame(kpis_cols, columns=KPI_COLUMNS)

    summary = _group_frame(agg, meta.groups, _per_cy, ("level", "dimension", "sub_dimension", "category", "group"))
    summary = summary[SUMMARY_COLUMNS]
    sdg_frame = _group_frame(sdg, meta.sdg_groups, _per_cy, ("level", "sdg"))[SDG_COLUMNS]

    core = (meta.kpis["tier"] == "core").to_numpy(dtype=float)
    n_kpis = len(meta.kpis)
    coverage = pd.DataFrame(
        {
            **_per_cy(1),
            "kpis_total": np.full(n_cy, n_kpis, dtype=np.int64),
            "kpis_reported": kpi_rep.sum(axis=1).astype(np.int64),
            "kpis_reported_pct": kpi_rep.sum(axis=1) / n_kpis * 100.0,
            "core_total": np.full(n_cy, int(core.sum()), dtype=np.int64),
            "core_reported": (kpi_rep @ core).astype(np.int64),
            "core_reported_pct": (kpi_rep @ core) / core.sum() * 100.0,
            "kpis_scored": kpi_sc.sum(axis=1).astype(np.int64),
            "points_total": np.full(n_cy, n_pts, dtype=np.int64),
            "points_reported": R.sum(axis=1).astype(np.int64),
            "points_scored": S.sum(axis=1).astype(np.int64),
        },
        columns=COVERAGE_COLUMNS,
    )
    keys = list(zip(grid.cities.tolist(), grid.years.astype(int).tolist(), strict=True))
    given = profiles or {}
    profiles = {k: _json_safe(given[k]) if given.get(k) else {"city": k[0], "year": k[1]} for k in keys}
    measures = {k: {str(s): str(t) for s, t in ((measures or {}).get(k) or {}).items()} for k in keys}
    options = {
        "method": method,
        "normalise": normalise or "target",
        "aggregate": aggregate,
        "weights": {normalise_code(c): float(w) for c, w in (weights or {}).items()},
    }
    label = tset.label if normalise != "minmax" else f"min-max across the {n_cy} city-year(s) scored"
    return Results(kpis, summary, sdg_frame, coverage, label, profiles, measures, options)


def _kpi_matrix(meta: _Meta) -> np.ndarray:
    m = np.zeros((len(meta.points), len(meta.kpis)))
    m[np.arange(len(meta.points)), meta.kpi_of_point] = 1.0
    return m


def _group_frame(agg: dict, groups: pd.DataFrame, per_cy, label_cols: tuple[str, ...]) -> pd.DataFrame:
    n_cy, n_groups = agg["score"].shape
    cols = per_cy(n_groups)
    for col in label_cols:
        codes, uniq = pd.factorize(groups[col])
        cols[col] = pd.Categorical.from_codes(np.tile(codes, n_cy), categories=pd.Index(uniq, dtype=object))
    for col in ("points", "max_points", "score"):
        cols[col] = np.asarray(agg[col], dtype=float).ravel()
    cols["band"] = _band_categorical(band_index(cols["score"]))
    for col in ("kpis_total", "kpis_reported", "kpis_scored"):
        cols[col] = np.asarray(agg[col]).ravel()
    return pd.DataFrame(cols)


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


# ---------------------------------------------------------------- results


@dataclass(eq=False)
class Results:
    """Scored results for one or many city-years; every table is tidy and shares the city/year keys."""

    kpis: pd.DataFrame
    summary: pd.DataFrame
    sdg: pd.DataFrame
    coverage: pd.DataFrame
    target_set: str
    profiles: dict = field(default_factory=dict)
    measures: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    TABLES = ("kpis", "summary", "sdg", "coverage")

    def __eq__(self, other: object) -> bool:
        """Same tables, dtypes, keys and texts; numbers equal to 12 significant digits (an .xlsx keeps ~16)."""
        if not isinstance(other, Results):
            return NotImplemented
        for table in self.TABLES:
            try:
                pd.testing.assert_frame_equal(getattr(self, table), getattr(other, table), check_exact=False,
                                              rtol=1e-12, atol=0.0)
            except AssertionError:
                return False
        return (
            self.target_set == other.target_set
            and self.profiles == other.profiles
            and self.measures == other.measures
            and self.options == other.options
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n = len(self.coverage)
        return f"<Results: {n} city-year(s), {len(self.kpis)} data points, target set {self.target_set!r}>"

    def _repr_html_(self) -> str:
        from html import escape

        from .display import frame_html

        top = self.summary[self.summary["level"].isin(["overall", "dimension", "sub_dimension"])]
        shown = top[["city", "year", "level", "group", "score", "band", "kpis_reported", "kpis_scored"]]
        kpis = self.kpis[self.kpis["scored"]][["city", "year", "code", "point_label", "value", "unit", "target",
                                                "achievement", "band", "points"]]
        return (
            f"<p><b>U4SSC scores</b> · {len(self.coverage)} city-year(s) · target set: {escape(self.target_set)}</p>"
            + frame_html(pd.DataFrame(shown), max_rows=60)
            + "<p>Scored data points</p>"
            + frame_html(pd.DataFrame(kpis), max_rows=40)
        )

    # -------------------------------------------------------- the parts every format shares

    def _about(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "key": ["format", "version", "target_set", "options"],
                "value": [FORMAT, str(FORMAT_VERSION), self.target_set, json.dumps(self.options, sort_keys=True)],
            }
        )

    def _profiles_frame(self) -> pd.DataFrame:
        rows = [(c, y, k, json.dumps(v)) for (c, y), p in self.profiles.items() for k, v in p.items()]
        return pd.DataFrame(rows, columns=["city", "year", "field", "value"])

    def _measures_frame(self) -> pd.DataFrame:
        rows = [(c, y, s, t) for (c, y), m in self.measures.items() for s, t in m.items()]
        return pd.DataFrame(rows, columns=["city", "year", "sub_dimension", "text"])

    def _sheets(self) -> dict[str, pd.DataFrame]:
        return {
            "kpis": self.kpis, "summary": self.summary, "sdg": self.sdg, "coverage": self.coverage,
            "profiles": self._profiles_frame(), "measures": self._measures_frame(), "about": self._about(),
        }

    @classmethod
    def _from_sheets(cls, sheets: dict[str, pd.DataFrame], where: str) -> Results:
        needed = ("kpis", "summary", "sdg", "coverage", "about")
        lacking = [s for s in needed if s not in sheets]
        if lacking:
            raise ScoringError(f"{where}: not a saved result (missing {', '.join(lacking)})")
        about = dict(zip(sheets["about"]["key"].astype(str), sheets["about"]["value"].astype(str), strict=False))
        if about.get("format") != FORMAT:
            raise ScoringError(f"{where}: not a saved ssc-kpis result (format {about.get('format')!r})")
        try:
            options = json.loads(about.get("options", "{}"))
        except json.JSONDecodeError:
            raise ScoringError(f"{where}: the 'options' entry of 'about' is not valid JSON") from None
        profiles: dict = {}
        for rec in _str_frame(sheets.get("profiles", pd.DataFrame(columns=["city", "year", "field", "value"]))).itertuples():
            try:
                profiles.setdefault((rec.city, int(float(rec.year))), {})[rec.field] = json.loads(rec.value)
            except (ValueError, json.JSONDecodeError):
                raise ScoringError(f"{where}: profile field {rec.field!r} of {rec.city} is not valid JSON") from None
        measures: dict = {}
        for rec in _str_frame(sheets.get("measures", pd.DataFrame(columns=["city", "year", "sub_dimension", "text"]))).itertuples():
            measures.setdefault((rec.city, int(float(rec.year))), {})[rec.sub_dimension] = rec.text
        tables = {}
        for name, cols in (("kpis", KPI_COLUMNS), ("summary", SUMMARY_COLUMNS), ("sdg", SDG_COLUMNS),
                           ("coverage", COVERAGE_COLUMNS)):
            tables[name] = _coerce(sheets[name], cols, f"{where}, table {name}", small_ints=name == "kpis")
        for key in list(profiles) + list(measures):
            profiles.setdefault(key, {"city": key[0], "year": key[1]})
            measures.setdefault(key, {})
        return cls(tables["kpis"], tables["summary"], tables["sdg"], tables["coverage"], about.get("target_set", ""),
                   profiles, measures, options)

    # -------------------------------------------------------- formats

    def to_csv(self, folder: str | Path) -> Path:
        """A folder of CSV files (kpis, summary, sdg, coverage, profiles, measures, about); text made inert."""
        from .export import protect_frame

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self._sheets().items():
            protect_frame(frame).to_csv(folder / f"{name}.csv", index=False)
        return folder

    def to_excel(self, path: str | Path) -> Path:
        """One sheet per level (KPIs, categories…, SDG, coverage), band colours by conditional formatting,
        every text cell made inert against formula injection."""
        from openpyxl.formatting.rule import CellIsRule
        from openpyxl.styles import Font, PatternFill
        from openpyxl.utils import get_column_letter

        from .display import BAND_COLOURS, BAND_TEXT
        from .export import protect_frame, xlsx_text

        path = Path(path)
        sheets = self._sheets()
        if len(self.kpis) >= 1_048_576:
            raise ScoringError(f"{path.name}: {len(self.kpis)} rows do not fit in one Excel sheet; use to_parquet")
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                safe = protect_frame(_decategorise(frame))
                for col in safe.columns:
                    if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
                        safe[col] = safe[col].map(xlsx_text)
                safe.to_excel(writer, sheet_name=name, index=False)
                ws = writer.sheets[name]
                ws.freeze_panes = "A2"
                for col in ("band", "next_band"):
                    if col not in frame.columns or frame.empty:
                        continue
                    letter = get_column_letter(list(frame.columns).index(col) + 1)
                    area = f"{letter}2:{letter}{len(frame) + 1}"
                    for band in BANDS:
                        colour = BAND_COLOURS[band].lstrip("#")
                        ws.conditional_formatting.add(
                            area,
                            CellIsRule(operator="equal", formula=[f'"{band}"'],
                                       fill=PatternFill(start_color=colour, end_color=colour, fill_type="solid"),
                                       font=Font(color=BAND_TEXT[band].lstrip("#"))),
                        )
                for cell in ws[1]:
                    cell.font = Font(bold=True)
            for ws in writer.book.worksheets:  # no text cell may become a formula
                for row in ws.iter_rows(min_row=2):
                    for cell in row:
                        if cell.data_type == "f":
                            cell.data_type = "s"
        return path

    def to_parquet(self, path: str | Path) -> Path:
        """One parquet file: the tidy KPI table, with the other tables and the metadata in its schema metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        table = pa.Table.from_pandas(self.kpis, preserve_index=False)
        extra = {name: _frame_json(frame) for name, frame in self._sheets().items() if name != "kpis"}
        meta = dict(table.schema.metadata or {})
        meta[b"ssc_kpis"] = json.dumps(extra).encode()
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path

    def to_json(self, path: str | Path) -> Path:
        """One JSON document (column-oriented tables; NaN written as null)."""
        path = Path(path)
        doc = {name: _frame_json(frame) for name, frame in self._sheets().items()}
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Results:
        """Read back any of to_csv (folder), to_excel (.xlsx), to_parquet (.parquet) or to_json (.json)."""
        path = Path(path)
        if not path.exists():
            raise ScoringError(f"{path}: no such file or folder")
        if path.is_dir():
            if not (path / "kpis.csv").exists():
                raise ScoringError(f"{path}: a saved result folder holds kpis.csv (written by Results.to_csv)")
            from .export import restore_frame

            sheets = {}
            for f in sorted(path.glob("*.csv")):
                sheets[f.stem] = restore_frame(pd.read_csv(f, dtype=str, keep_default_na=False))
            return cls._from_sheets(sheets, path.name)
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            from .export import restore_frame

            try:
                raw = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, engine="openpyxl")
            except Exception as exc:  # noqa: BLE001 - any unreadable workbook is a user error here
                raise ScoringError(f"{path.name}: not a readable results workbook ({exc})") from None
            return cls._from_sheets({k: restore_frame(v) for k, v in raw.items()}, path.name)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            try:
                table = pq.read_table(path)
                extra = json.loads((table.schema.metadata or {}).get(b"ssc_kpis", b"{}"))
            except Exception as exc:  # noqa: BLE001
                raise ScoringError(f"{path.name}: not a readable results parquet file ({exc})") from None
            sheets = {name: _frame_unjson(doc) for name, doc in extra.items()}
            sheets["kpis"] = table.to_pandas()
            return cls._from_sheets(sheets, path.name)
        if suffix == ".json":
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ScoringError(f"{path.name}: not valid JSON ({exc})") from None
            if not isinstance(doc, dict):
                raise ScoringError(f"{path.name}: not a saved result")
            return cls._from_sheets({k: _frame_unjson(v) for k, v in doc.items()}, path.name)
        raise ScoringError(f"{path.name}: load reads a CSV folder, .xlsx, .parquet or .json written by Results")


# ---------------------------------------------------------------- (de)serialisation helpers


def _decategorise(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame).copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
        elif pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype(object)
    return out


def _frame_json(frame: pd.DataFrame) -> dict:
    cols = {}
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s):
            cols[col] = [None if pd.isna(v) else str(v) for v in s.astype(object)]
        elif pd.api.types.is_bool_dtype(s):
            cols[col] = s.astype(bool).tolist()
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            cols[col] = [None if pd.isna(v) else int(v) for v in s.astype(object)]
        else:
            arr = s.to_numpy()
            cols[col] = [None if isinstance(v, float) and math.isnan(v) else v for v in arr.tolist()]
    return {"columns": list(frame.columns), "data": cols}


def _frame_unjson(doc: Any) -> pd.DataFrame:
    if not isinstance(doc, dict) or "data" not in doc:
        raise ScoringError("saved result: a table is not in the expected {columns, data} form")
    return pd.DataFrame({c: pd.Series(doc["data"][c], dtype=object) for c in doc.get("columns", [])})


def _str_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), "").astype(str) if not frame.empty else frame


def _coerce(frame: pd.DataFrame, columns: list[str], where: str, small_ints: bool = False) -> pd.DataFrame:
    """Bring a table read from any format back to the dtypes `score_frame` produces."""
    lacking = [c for c in columns if c not in frame.columns]
    if lacking:
        raise ScoringError(f"{where}: missing column(s) {', '.join(lacking)}")
    out = {}
    for col in columns:
        s = frame[col]
        try:
            if col in _SMALL_INTS and small_ints:
                f = _floats(s)
                out[col] = pd.arrays.IntegerArray(np.nan_to_num(f).astype(np.int8), np.isnan(f))
            elif col in _FLOATS:
                out[col] = _floats(s)
            elif col in _INTS:
                out[col] = _floats(s).astype(np.int64)
            elif col in _BOOLS:
                out[col] = _bools(s)
            elif col in _BAND_COLUMNS:
                vals = s.astype(object).where(s.notna(), None).map(lambda v: None if v in ("", None) else v)
                bad = set(vals.dropna()) - set(BANDS)
                if bad:
                    raise ValueError(f"unknown band {sorted(bad)[0]!r}")
                out[col] = pd.Categorical(vals, categories=list(BANDS), ordered=True)
            else:
                vals = s.astype(object).where(s.notna(), "").astype(str) if not isinstance(s.dtype, pd.CategoricalDtype) else s
                out[col] = _category(vals if isinstance(vals.dtype, pd.CategoricalDtype) else vals.to_numpy(dtype=object))
        except (ValueError, TypeError) as exc:
            raise ScoringError(f"{where}, column {col}: {exc}") from None
    return pd.DataFrame(out, columns=columns)


def _floats(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return pd.to_numeric(s).to_numpy(dtype=float, na_value=np.nan)
    return np.array([np.nan if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else float(v)
                     for v in s.astype(object)], dtype=float)


def _bools(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=bool)
    truth = {"true": True, "1": True, "false": False, "0": False}
    out = []
    for v in s.astype(object):
        if isinstance(v, bool):
            out.append(v)
            continue
        key = str(v).strip().lower()
        if key not in truth:
            raise ValueError(f"{v!r} is not True/False")
        out.append(truth[key])
    return np.array(out, dtype=bool)
