"""Which group each data point belongs to, for a target set: the category, sub-dimension, dimension and SDG
membership matrices that turn the (city-year × data point) grid into every aggregate by one matrix product."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .library import Targets, library, points_table


@dataclass(frozen=True)
class ScoringMeta:
    """Per data point: hierarchy, target, direction; and the membership matrices every aggregate multiplies by."""


    points: pd.DataFrame  # one row per data point in catalogue order
    kpi_of_point: np.ndarray  # index of the point's KPI in catalogue order
    kpis: pd.DataFrame  # one row per KPI: code, tier, group indices
    groups: pd.DataFrame  # one row per summary group (all levels)
    member: np.ndarray  # points × groups, 1.0 where the point belongs to the group
    kpi_member: np.ndarray  # kpis × groups
    sdg_groups: pd.DataFrame
    sdg_member: np.ndarray
    sdg_kpi_member: np.ndarray
    point_kpi: np.ndarray  # points × kpis, 1.0 where the point is one of the KPI's data points


_META_CACHE: dict[int, tuple[Targets, ScoringMeta]] = {}


def _sdg_keys(ref: str) -> tuple[str, str]:
    """'11.6.2' → ('11', '11.6'); '11.6' → ('11', '11.6')."""
    bits = ref.split(".")
    return bits[0], ".".join(bits[:2])


def _sdg_sort(key: str) -> tuple:
    return tuple((0, int(b), "") if b.isdigit() else (1, 0, b) for b in key.split("."))


def scoring_meta(targets: Targets) -> ScoringMeta:
    """The per-point table and the membership matrices for one target set (cached per `Targets` object)."""
    hit = _META_CACHE.get(id(targets))
    if hit is not None and hit[0] is targets:
        return hit[1]
    kpi_list = list(library())
    by_code = {k.code: (i, k) for i, k in enumerate(kpi_list)}
    pts = _points_with_targets(targets)
    kpi_idx = pts["code"].map(lambda c: by_code[c][0]).to_numpy()
    for col in ("name", "dimension", "sub_dimension", "category", "tier"):
        pts[col] = [getattr(by_code[c][1], col) for c in pts["code"]]
    pts["sdg"] = [", ".join(by_code[c][1].sdg) for c in pts["code"]]
    kpis = pd.DataFrame({col: [getattr(k, col) for k in kpi_list]
                         for col in ("code", "tier", "dimension", "sub_dimension", "category")})
    groups, kpi_member = _hierarchy_membership(kpis)
    sdg_groups, sdg_kpi_member = _sdg_membership(kpi_list)
    point_kpi = np.zeros((len(pts), len(kpis)))
    point_kpi[np.arange(len(pts)), kpi_idx] = 1.0
    meta = ScoringMeta(
        points=pts,
        kpi_of_point=kpi_idx,
        kpis=kpis,
        groups=groups,
        member=kpi_member[kpi_idx],
        kpi_member=kpi_member,
        sdg_groups=sdg_groups,
        sdg_member=sdg_kpi_member[kpi_idx],
        sdg_kpi_member=sdg_kpi_member,
        point_kpi=point_kpi,
    )
    _META_CACHE[id(targets)] = (targets, meta)
    return meta


def _points_with_targets(targets: Targets) -> pd.DataFrame:
    """Every data point with the target it is scored against (or why none), its basis and any reference figure."""
    pts = points_table().copy()
    tgt, src, nob, basis, reference = [], [], [], [], []
    for row in pts.itertuples():
        t = targets.for_point(row.code, row.part)
        number = t.target if t is not None and t.target is not None else None
        basis.append(t.basis or "" if t is not None else "")
        reference.append(np.nan)
        if row.context and targets.is_default:
            # a context indicator: its published reference is shown beside the value, never scored
            reference[-1] = np.nan if number is None else float(number)
            number, source, reason = None, t.source if t else "", f"context indicator: {row.context}"
        elif row.kind == "yes_no" and number is None:
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
    pts["target_basis"] = basis
    pts["reference"] = reference
    pts["is_context"] = (pts["context"] != "") & targets.is_default
    pts["scoring_direction"] = np.where(pts["kind"] == "yes_no", "higher", pts["direction"])
    return pts


LEVEL_KEYS = (  # categories, then sub-dimensions, then dimensions, then overall; each in catalogue order
    ("category", ("dimension", "sub_dimension", "category")),
    ("sub_dimension", ("dimension", "sub_dimension")),
    ("dimension", ("dimension",)),
    ("overall", ()),
)


def _hierarchy_membership(kpis: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The summary groups of every level and the (KPI × group) membership matrix."""
    groups: list[dict] = []
    index: dict[tuple[str, tuple], int] = {}
    records = kpis.to_dict("records")
    for level, cols in LEVEL_KEYS:
        for rec in records:
            key = tuple(rec[c] for c in cols)
            if (level, key) not in index:
                index[(level, key)] = len(groups)
                full = dict(zip(cols, key, strict=True))
                groups.append({"level": level, "dimension": full.get("dimension", ""),
                               "sub_dimension": full.get("sub_dimension", ""), "category": full.get("category", ""),
                               "group": key[-1] if key else "Overall"})
    member = np.zeros((len(kpis), len(groups)))
    for i, rec in enumerate(records):
        for level, cols in LEVEL_KEYS:
            member[i, index[(level, tuple(rec[c] for c in cols))]] = 1.0
    return pd.DataFrame(groups), member


def _sdg_membership(kpi_list: list) -> tuple[pd.DataFrame, np.ndarray]:
    """SDG goals and targets (an indicator counts for its target and goal) and the (KPI × SDG group) matrix."""
    per_kpi: list[set[tuple[str, str]]] = []
    for k in kpi_list:
        mine: set[tuple[str, str]] = set()
        for ref in k.sdg:
            goal, target = _sdg_keys(ref)
            mine |= {("goal", goal), ("target", target)}
        per_kpi.append(mine)
    ordered = sorted(set().union(*per_kpi), key=lambda lk: (lk[0] != "goal", _sdg_sort(lk[1])))
    col_of = {key: j for j, key in enumerate(ordered)}
    member = np.zeros((len(kpi_list), len(ordered)))
    for i, mine in enumerate(per_kpi):
        for key in mine:
            member[i, col_of[key]] = 1.0
    return pd.DataFrame(ordered, columns=["level", "sdg"]), member


def any_per_kpi(mask: np.ndarray, meta: ScoringMeta) -> np.ndarray:
    """(city-years × KPIs): True where any of the KPI's data points is. The first data point of each KPI is taken
    as a block, the other data points of composite KPIs are added column by column."""
    kpi = meta.kpi_of_point
    first = np.flatnonzero(np.diff(kpi, prepend=-1))
    if len(first) != len(meta.kpis) or not (kpi[first] == np.arange(len(first))).all():
        return (mask.astype(np.float32) @ meta.point_kpi.astype(np.float32)) > 0  # points not in catalogue order
    out = mask[:, first]
    for j in np.setdiff1d(np.arange(len(kpi)), first):
        out[:, kpi[j]] |= mask[:, j]
    return out
