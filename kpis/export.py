"""Exports that are safe to open in a spreadsheet: text that could run as a formula is made inert."""

from __future__ import annotations

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def neutralise(value: object) -> object:
    """Prefix a quote to text a spreadsheet would read as a formula (CWE-1236, OWASP ASVS 1.2.10)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with every text cell neutralised; numbers are left as they are."""
    out = pd.DataFrame(frame).copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out


# ---------------------------------------------------------------- reversible form, for files we read back


def protect(value: object) -> object:
    """Like `neutralise`, but reversible: text that already starts with quotes before a formula character gets one
    more, so `restore(protect(x)) == x` for every string (a saved result loads back unchanged)."""
    if isinstance(value, str) and value.lstrip("'").startswith(_FORMULA_START):
        return "'" + value
    return value


def restore(value: object) -> object:
    """Undo `protect` when reading an export back."""
    if isinstance(value, str) and value.startswith("'") and value.lstrip("'").startswith(_FORMULA_START):
        return value[1:]
    return value


def _map_text(frame: pd.DataFrame, fn) -> pd.DataFrame:
    out = pd.DataFrame(frame).copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            if series.cat.categories.dtype == object or pd.api.types.is_string_dtype(series.cat.categories):
                out[col] = series.cat.rename_categories([fn(c) for c in series.cat.categories])
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            out[col] = series.map(fn)
    return out


def protect_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell (also categorical ones) made inert with `protect`; numbers untouched."""
    return _map_text(frame, protect)


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return _map_text(frame, restore)


_XLSX_ILLEGAL = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")
_XLSX_TABLE = str.maketrans("", "", _XLSX_ILLEGAL)


def xlsx_text(value: object) -> object:
    """Drop control characters an .xlsx file cannot hold (a hostile cell would otherwise abort the export)."""
    if isinstance(value, str) and any(ch in value for ch in _XLSX_ILLEGAL):
        return value.translate(_XLSX_TABLE)
    return value
