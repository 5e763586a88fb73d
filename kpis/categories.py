"""Categorical columns in their one canonical form (categories in order of first appearance, codes in the
smallest integer type), made without a pass over every row when it can be avoided: a research table has ten
million rows and a dozen categorical columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def first_appearance(codes: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The groups of `codes` in order of first appearance; `group` gives each code's group (its last entry is the
    group of code -1; a group of -1 is skipped).

    Read in growing chunks and stopped once every group has been seen, so a research table of ten million rows
    whose few categories all appear early costs a few thousand reads, not a hash of every row; the few groups not
    seen in the first million rows are then looked for in the rest, one comparison per code."""
    n_groups = int(group.max(initial=-1)) + 1
    order: list[int] = []
    seen = np.zeros(n_groups, dtype=bool)
    start, step = 0, 65_536
    while start < len(codes) and len(order) < n_groups:
        if start >= 1_000_000:
            missing = [c for c in range(-1, len(group) - 1) if group[c] >= 0 and not seen[group[c]]]
            if len(missing) <= 8:
                return np.asarray(order + _first_in(codes[start:], missing, group), dtype=np.int64)
        for c in pd.unique(codes[start:start + step]):
            g = group[c]
            if g >= 0 and not seen[g]:
                seen[g] = True
                order.append(int(g))
        start, step = start + step, step * 2
    return np.asarray(order, dtype=np.int64)


def _first_in(rest: np.ndarray, candidates: list[int], group: np.ndarray) -> list[int]:
    """The groups of the candidate codes that occur in `rest`, in order of their first row."""
    first: dict[int, int] = {}
    for c in candidates:
        hit = rest == c
        if hit.any():
            g, row = int(group[c]), int(hit.argmax())
            first[g] = min(row, first.get(g, row))
    return sorted(first, key=first.__getitem__)


def regrouped(codes: np.ndarray, group: np.ndarray, names: Any) -> pd.Categorical:
    """The categorical of `names[group[code]]` in canonical form (categories in order of first appearance);
    the rows are passed over once at most, and not at all when the codes already are canonical."""
    order = first_appearance(codes, group)
    position = np.full(len(names), -1, dtype=np.int64)
    position[order] = np.arange(len(order))
    lut: np.ndarray = np.where(group >= 0, position[np.maximum(group, 0)], -1).astype(code_dtype(len(order)))
    canonical = lut[-1] == -1 and (lut[:-1] == np.arange(len(lut) - 1)).all()
    return categorical(codes if canonical else lut[codes], np.asarray(names, dtype=object)[order])


def small_codes(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Category codes in the dtype pandas keeps them in (int8 for up to 127 categories), so that no later step
    converts a column of ten million codes again."""
    dtype = code_dtype(n_categories)
    return codes if codes.dtype == dtype else codes.astype(dtype)


def code_dtype(n_categories: int) -> type:
    return np.int8 if n_categories < 2**7 else np.int16 if n_categories < 2**15 else np.int32


def categorical(codes: np.ndarray, categories: Any) -> pd.Categorical:
    """A categorical from codes this package made (every code is -1 or a valid index: no check pass)."""
    cats = pd.Index(categories, dtype=object)
    return pd.Categorical.from_codes(small_codes(codes, len(cats)), categories=cats, validate=False)


def canonical_category(values, categories=None) -> pd.Categorical:
    """Categorical with categories in order of first appearance: the one canonical form, so loads compare equal."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories
        return regrouped(values.cat.codes.to_numpy(), np.append(np.arange(len(cats)), -1), cats)
    if categories is not None:
        return pd.Categorical(values, categories=categories)
    codes, uniq = pd.factorize(np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniq, dtype=object))
