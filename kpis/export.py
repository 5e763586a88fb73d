"""Exports that are safe to open in a spreadsheet: text that could run as a formula is made inert."""

from __future__ import annotations

import math

import numpy as np
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


def _cell_writer(ws):
    """One cell by its Python type: a number, a truth value, text (always text), or nothing for a missing value."""
    def write(row: int, col: int, value: object) -> None:
        if value is None or value is pd.NA or value is pd.NaT:
            return
        if isinstance(value, bool | np.bool_):
            ws.write_boolean(row, col, bool(value))
        elif isinstance(value, int | float | np.integer | np.floating):
            if math.isfinite(value):
                ws.write_number(row, col, float(value))
            elif not math.isnan(value):
                ws.write_string(row, col, str(value))
        else:
            ws.write_string(row, col, xlsx_text(protect(value if isinstance(value, str) else str(value))))
    return write


def write_xlsx(sheets: dict[str, pd.DataFrame], target, fills: dict[str, tuple[str, str]],
               coloured: tuple[str, ...] = ("band", "next_band")) -> None:
    """A workbook of the frames, one sheet each with a bold, frozen header row, written by XlsxWriter (a third of
    openpyxl's time through pandas). Text is always stored as text, never as a formula, link or number, made inert
    with `protect` and stripped of characters .xlsx cannot hold; the `coloured` columns get one conditional fill
    and font colour per value of `fills` (value -> (fill, text colour))."""
    import xlsxwriter  # start-up: only a workbook export loads the writer

    book = xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    styles = {value: book.add_format({"bg_color": fill, "font_color": text}) for value, (fill, text) in fills.items()}
    for name, frame in sheets.items():
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, [str(c) for c in frame.columns], bold)
        ws.freeze_panes(1, 0)
        write = _cell_writer(ws)
        for r, row in enumerate(frame.itertuples(index=False, name=None), start=1):
            for c, value in enumerate(row):
                write(r, c, value)
        for c, column in enumerate(frame.columns):
            if column in coloured and len(frame):
                for value, style in styles.items():
                    ws.conditional_format(1, c, len(frame), c, {"type": "cell", "criteria": "==",
                                                                 "value": f'"{value}"', "format": style})
    book.close()
