"""A long frame of values placed on the (city-year × data point) grid that every scoring step works on: which
row is which catalogue data point, which city-year, and the errors (unknown code or data point, a repeated row, a
missing year) named with their row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .grouping import ScoringMeta
from .models import normalise_code
from .results import ScoringError


def reported_flag(series: pd.Series, where: str) -> np.ndarray:
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


def _category_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes and names of a categorical text column, a missing value read as ''."""
    names = [str(c) for c in column.cat.categories] + [""]
    codes = column.cat.codes.to_numpy()
    return np.where(codes < 0, len(names) - 1, codes), names


def point_index(frame: pd.DataFrame, meta: ScoringMeta) -> np.ndarray:
    code = frame["code"]
    if isinstance(code.dtype, pd.CategoricalDtype):  # the categories once, not a text per row
        ccodes, cuniq = _category_codes(code)
    else:
        ccodes, cuniq = pd.factorize(code)
    part = frame["part"] if "part" in frame.columns else pd.Series("", index=frame.index)
    if isinstance(part.dtype, pd.CategoricalDtype):  # the categories once, not a text per row
        pcodes, puniq = _category_codes(part)
    else:
        pcodes, puniq = pd.factorize(part.fillna(""))
    known = {(c, p): i for i, (c, p) in enumerate(zip(meta.points["code"], meta.points["part"], strict=True))}
    norm_codes = [normalise_code(c) for c in cuniq]
    lib_codes = set(meta.kpis["code"])
    bad = [c for c, n in zip(cuniq, norm_codes, strict=True) if n not in lib_codes]
    if bad and isinstance(code.dtype, pd.CategoricalDtype):  # an unused category is no error
        missing_used = bool((ccodes == len(cuniq) - 1).any())  # the '' of a missing code, last of the names
        if bad != [""] or missing_used:
            bad = [cuniq[c] for c in pd.unique(ccodes) if normalise_code(cuniq[c]) not in lib_codes]
        else:  # every real category is a KPI code: one comparison over the rows, not a hash of them
            bad = []
    if bad:
        raise ScoringError(f"column 'code': {bad[0]!r} is not a U4SSC KPI code ({len(bad)} unknown code(s)); "
                           "use the codes of the catalogue, e.g. 'EC: ICT: ICT: 1C'")
    if len(puniq) > 1000:
        raise ScoringError("column 'part': too many different data-point names; use the catalogue's part names")
    width = max(len(puniq), 1)
    lookup = np.full((len(cuniq), width), -1, dtype=np.int16)
    for ci, norm in enumerate(norm_codes):
        for pi, p in enumerate(puniq):
            lookup[ci, pi] = known.get((norm, str(p)), -1)
    # one position per row (code × parts + part) into the flat lookup: one gather, two-byte results
    flat: np.ndarray = ccodes.astype(np.int32 if len(cuniq) * width >= 2**15 else np.int16)
    flat *= width
    flat += pcodes
    idx = lookup.ravel().take(flat)
    if (idx < 0).any():
        first = int(np.argmax(idx < 0))
        code, p = frame["code"].iloc[first], part.iloc[first]
        parts = [q for c, q in known if c == normalise_code(code)]
        hint = f"one of {', '.join(parts)}" if parts != [""] else "empty (the KPI has one data point)"
        raise ScoringError(f"KPI {code}: data point {p!r} is not in the catalogue; 'part' must be {hint}")
    return idx


@dataclass
class Grid:
    cities: np.ndarray  # per city-year
    years: np.ndarray
    src: np.ndarray  # grid position → input row (-1 = absent)
    identity: bool

    def spread(self, per_row: np.ndarray, absent: Any) -> np.ndarray:
        """Values given per input row, placed on the (city-year × data point) grid; `absent` where no row."""
        if self.identity:
            return per_row
        return np.where(self.src >= 0, per_row[np.maximum(self.src, 0)], absent)


def place(frame: pd.DataFrame, pidx: np.ndarray, n_pts: int) -> Grid:
    if frame["city"].isna().any():
        raise ScoringError(f"column 'city' is empty in row {int(np.argmax(frame['city'].isna().to_numpy()))}; every row names its city")
    years = pd.to_numeric(frame["year"], errors="coerce")
    if not (isinstance(years.dtype, np.dtype) and years.dtype.kind in "iu") and (years.isna().any() or (years % 1 != 0).any()):
        row = int(np.argmax((years.isna() | (years % 1 != 0)).to_numpy()))
        raise ScoringError(f"column 'year': {frame['year'].iloc[row]!r} (row {row}) is not a whole year such as 2024")
    year = years.to_numpy()
    city = frame["city"]
    city_key = city.cat.codes.to_numpy() if isinstance(city.dtype, pd.CategoricalDtype) else None
    # a frame holds its city-years in blocks of rows: name the blocks, not every row (ten million rows, 100,000
    # blocks); rows in no particular order are named one by one
    starts = _block_starts(city_key, year) if city_key is not None else None
    if starts is None or len(starts) > len(year) // 4:
        starts = np.arange(len(year))
    ccodes, cuniq = pd.factorize(city.iloc[starts] if len(starts) < len(year) else city)
    ycodes, yuniq = pd.factorize(year[starts].astype(np.int64))
    cy, cy_uniq = pd.factorize(ccodes.astype(np.int64) * len(yuniq) + ycodes)
    n_cy = len(cy_uniq)
    lengths = np.diff(np.append(starts, len(year)))
    identity = (len(year) == n_cy * n_pts and len(starts) == n_cy and bool((lengths == n_pts).all())
                and bool((cy == np.arange(n_cy)).all())
                and bool((pidx.reshape(n_cy, n_pts) == np.arange(n_pts, dtype=pidx.dtype)).all()))
    src = np.empty(0, dtype=np.int64)
    if not identity:  # each row's place on the grid, and no place given twice
        flat = np.repeat(cy.astype(np.int64), lengths) * n_pts + pidx
        counts = np.bincount(flat, minlength=n_cy * n_pts)
        if counts.max(initial=0) > 1:
            pos = int(np.argmax(counts > 1))
            row = int(np.argmax(flat == pos))
            raise ScoringError(
                f"{frame['city'].iloc[row]} {int(years.iloc[row])}: KPI {frame['code'].iloc[row]}"
                f"{' ' + str(frame['part'].iloc[row]) if 'part' in frame and frame['part'].iloc[row] else ''} "
                "appears more than once; keep one row per city, year and data point"
            )
        src = np.full(n_cy * n_pts, -1, dtype=np.int64)
        src[flat] = np.arange(len(flat))
    return Grid(
        cities=np.asarray(cuniq)[cy_uniq // len(yuniq)],
        years=np.asarray(yuniq)[cy_uniq % len(yuniq)],
        src=src,
        identity=identity,
    )


def _block_starts(city: np.ndarray, year: np.ndarray) -> np.ndarray:
    """The first row of each run of rows with the same city and year."""
    change = np.empty(len(city), dtype=bool)
    change[:1] = True
    np.not_equal(city[1:], city[:-1], out=change[1:])
    change[1:] |= year[1:] != year[:-1]
    return np.flatnonzero(change)
