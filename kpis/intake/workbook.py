"""The workbook format: the template's sheets read in read-only, values-only mode (openpyxl), columns found by
their hidden names (`ssc_col_<key>`, the same in every language) or else by their header in any of the six
languages, formula cells found by a light defusedxml pass, rows handed to `rows.assemble`."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from defusedxml.ElementTree import iterparse
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.utils.exceptions import CellCoordinatesException

from .. import limits
from .. import template as T
from ..i18n import M
from ..problems import ProblemCollector
from .rows import (
    assemble,
    data_header_keys,
    measures_keys,
    norm_header,
    profile_keys,
    profile_value,
    show,
    sub_dimension_names,
    text,
)
from .submission import CityProfile, Submission, profile_from

# the start of a formula element, with or without a namespace prefix: <f>, <f t="shared" …/>, <x:f>
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def sheet_rows(ws: Any) -> list[tuple]:
    """At most MAX_ROWS + 1 rows of MAX_COLS values: declared sheet dimensions are not trusted."""
    return list(ws.iter_rows(min_row=1, max_row=limits.MAX_ROWS + 1, max_col=limits.MAX_COLS, values_only=True))


@dataclass
class _Sheets:
    """What one pass over the workbook read: everything but the Data rows' meaning."""

    version: str
    profile: CityProfile
    measures: dict[str, str]
    data_rows: list[tuple]
    data_part: str | None
    named_columns: dict[str, int]  # column key -> 0-based index, from the hidden defined names


def read_xlsx(path: Path, out: ProblemCollector) -> Submission | None:
    sheets = _read_sheets(path, out)
    if sheets is None:
        return None
    rows = _capped_rows(sheets.data_rows, out)
    if not rows:
        return None
    colmap = _column_map(rows[T.HEADER_ROW - 1], sheets.named_columns, out)
    if colmap is None:
        return None
    records = _records(rows, colmap, _formula_cells(path, sheets.data_part))
    data, cells = assemble(records, out, T.SHEET_DATA, "xlsx")
    return Submission(path, sheets.profile, sheets.version, "", sheets.measures, data, cells=cells, kind="xlsx")


def _read_sheets(path: Path, out: ProblemCollector) -> _Sheets | None:
    """Open the workbook once: required sheets, version, profile, measures and the raw Data rows."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False, keep_vba=False)
    try:
        names = wb.sheetnames
        for s in (s for s in T.REQUIRED_SHEETS if s not in names):
            similar = [n for n in names if n.strip().lower() == s.lower()]
            if similar:
                out.error(M("the sheet '{sheet}' is missing (found '{found}': rename it to '{sheet}'); generate a "
                            "fresh template with `ssc template` if unsure", sheet=s, found=similar[0]), sheet=s)
            else:
                out.error(M("the sheet '{sheet}' is missing (do not rename or delete sheets); generate a fresh "
                            "template with `ssc template` if unsure", sheet=s), sheet=s)
        version = _read_version(wb[T.SHEET_INSTRUCTIONS], out) if T.SHEET_INSTRUCTIONS in names else ""
        if T.SHEET_DATA not in names:
            return None
        profile = _read_profile(wb[T.SHEET_PROFILE], out) if T.SHEET_PROFILE in names else CityProfile()
        if T.SHEET_MEASURES in names:
            measures = _read_measures(wb[T.SHEET_MEASURES], out)
        else:
            measures = {}
            out.warning(M("no '{sheet}' sheet, so the report will not show what the city already does",
                          sheet=T.SHEET_MEASURES), sheet=T.SHEET_MEASURES)
        data_ws = wb[T.SHEET_DATA]
        declared = (getattr(data_ws, "_max_row", None) or 0, getattr(data_ws, "_max_column", None) or 0)
        if declared[0] > limits.MAX_ROWS or declared[1] > limits.MAX_COLS:
            out.warning(M("the sheet declares {rows} rows and {cols} columns; only the first {max_rows} rows and "
                          "{max_cols} columns are read. Delete anything outside the KPI table", rows=declared[0],
                          cols=declared[1], max_rows=limits.MAX_ROWS, max_cols=limits.MAX_COLS), sheet=T.SHEET_DATA)
        return _Sheets(version, profile, measures, sheet_rows(data_ws), getattr(data_ws, "_worksheet_path", None),
                       _named_columns(wb))
    finally:
        wb.close()


def _capped_rows(rows: list[tuple], out: ProblemCollector) -> list[tuple]:
    if len(rows) > limits.MAX_ROWS:
        out.error(M("the sheet has more than {n} rows; only the KPI table belongs here (delete the rows below it)",
                    n=limits.MAX_ROWS), sheet=T.SHEET_DATA)
        rows = rows[: limits.MAX_ROWS]
    if not rows:
        out.error(M("the sheet is empty; it must hold the KPI table of the template"), sheet=T.SHEET_DATA)
    return rows


def _named_columns(wb: Any) -> dict[str, int]:
    """Column key → 0-based index from the template's hidden names (`ssc_col_code` → Data!$A$1); a name that
    points elsewhere (another sheet, a range, a deleted column) is ignored and the header is used instead."""
    found: dict[str, int] = {}
    for name, defined in list(wb.defined_names.items())[:200]:
        key = name.removeprefix(T.COLUMN_NAME_PREFIX)
        if not name.startswith(T.COLUMN_NAME_PREFIX) or key not in T.DATA_HEADERS:
            continue
        try:
            (sheet, ref), = list(defined.destinations)
            letters, row = coordinate_from_string(ref.replace("$", ""))
        except (ValueError, TypeError, AttributeError, CellCoordinatesException):  # a range, #REF!, a formula
            continue
        if sheet == T.SHEET_DATA and row == T.HEADER_ROW and column_index_from_string(letters) <= limits.MAX_COLS:
            found[key] = column_index_from_string(letters) - 1
    return found


def _column_map(header: tuple, named: dict[str, int], out: ProblemCollector) -> dict[str, int] | None:
    """Column index of each known column: by its hidden name, else by its header (in any of the six languages, or
    its key); None when a required one lacks."""
    sheet = T.SHEET_DATA
    keys = [data_header_keys().get(norm_header(v)) for v in header]
    # a name is trusted when its header cell holds a header (of any wording) that is not recognisably another
    # column's: a tool that moves cells without updating the names leaves it empty or on another column
    colmap = {k: i for k, i in named.items()
              if i < len(header) and str(header[i] or "").strip() and keys[i] in (k, None)}
    if len(set(colmap.values())) != len(colmap):
        colmap = {}
    for i, key in enumerate(keys):
        if key is None or colmap.get(key) == i:
            continue
        if key in colmap:
            out.error(M("the column '{column}' appears twice (columns {a} and {b}); delete one",
                        column=M(T.DATA_HEADERS[key]), a=get_column_letter(colmap[key] + 1),
                        b=get_column_letter(i + 1)), sheet=sheet,
                      cell=f"{sheet}!{get_column_letter(i + 1)}{T.HEADER_ROW}")
        else:
            colmap[key] = i
    absent = [k for k in T.REQUIRED_DATA_KEYS if k not in colmap]
    for key in absent:
        out.error(M("the column '{column}' is missing from the header row {row}; restore it (headers must keep the "
                    "template's wording)", column=M(T.DATA_HEADERS[key]), row=T.HEADER_ROW), sheet=sheet)
    return None if absent else colmap


def _records(rows: list[tuple], colmap: dict[str, int], formulas: dict[tuple[int, int], str]) -> list[dict]:
    """One raw record per Data row: the cells by key, their formulas and their addresses."""
    sheet = T.SHEET_DATA
    letters = {key: get_column_letter(i + 1) for key, i in colmap.items()}
    records = []
    for r, values in enumerate(rows[T.HEADER_ROW:], start=T.HEADER_ROW + 1):
        rec: dict[str, Any] = {key: (values[i] if i < len(values) else None) for key, i in colmap.items()}
        rec["_formulas"] = {key: formulas[(r, i)] for key, i in colmap.items() if (r, i) in formulas}
        rec["_cells"] = {key: f"{sheet}!{letter}{r}" for key, letter in letters.items()}
        rec["_cells"]["row"] = f"{sheet}!A{r}"
        rec["_row"] = r
        records.append(rec)
    return records


def _formula_cells(path: Path, part: str | None) -> dict[tuple[int, int], str]:
    """(row, 0-based column) -> formula text of the Data sheet's formula cells.

    The values pass sees only a formula's cached result (or nothing when the file was never opened in a
    spreadsheet program); this light second pass over the sheet XML (defusedxml, element by element) tells the two
    apart so that neither is taken silently.
    """
    if not part:
        return {}
    found: dict[tuple[int, int], str] = {}
    with zipfile.ZipFile(path) as zf:
        with zf.open(part.lstrip("/")) as fh:  # the values pass has already read this part within the size caps
            data = fh.read()
    if _FORMULA_TAG.search(data):  # most submissions have no <f> element at all: nothing to parse
        _find_formulas(io.BytesIO(data), found)
    return found


def _find_formulas(fh: Any, found: dict[tuple[int, int], str]) -> None:
    """The formula cells of one sheet part, element by element (defusedxml), into `found`."""
    row_no, col_no = 0, 0
    for event, el in iterparse(fh, events=("start", "end")):
        tag = el.tag.rsplit("}", 1)[-1]
        if event == "start":
            if tag == "row":
                row_no = int(el.get("r") or row_no + 1)
                col_no = 0
                if row_no > limits.MAX_ROWS:
                    break
            continue
        if tag == "c":
            ref = el.get("r")
            if ref:
                letters, row_no = coordinate_from_string(ref)
                col_no = column_index_from_string(letters)
            else:
                col_no += 1
            formula = next((ch for ch in el if ch.tag.rsplit("}", 1)[-1] == "f"), None)
            if formula is not None and row_no > T.HEADER_ROW and col_no <= limits.MAX_COLS:
                found[(row_no, col_no - 1)] = "=" + (formula.text or "(shared formula)")[:80]
            el.clear()
        elif tag == "row":
            el.clear()


def _read_version(ws: Any, out: ProblemCollector) -> str:
    rows = list(ws.iter_rows(min_row=1, max_row=10, max_col=4, values_only=True))
    row, col = int(T.VERSION_CELL[1:]), ord(T.VERSION_CELL[0]) - ord("A")
    value = rows[row - 1][col] if len(rows) >= row and len(rows[row - 1]) > col else None
    cell = f"{T.SHEET_INSTRUCTIONS}!{T.VERSION_CELL}"
    if isinstance(value, float):
        value = f"{value:.1f}"
    version = str(value).strip() if value is not None else ""
    if not version:
        out.error(M("no template version in {cell}; this file was not made with `ssc template`. Generate a fresh "
                    "template and copy your figures into it", cell=cell), sheet=T.SHEET_INSTRUCTIONS, cell=cell)
    elif version not in T.SUPPORTED_VERSIONS:
        out.error(M("unknown template version {version} (this program reads {supported}); generate a fresh "
                    "template with `ssc template` and copy your figures into it", version=repr(version[:40]),
                    supported=", ".join(sorted(T.SUPPORTED_VERSIONS))), sheet=T.SHEET_INSTRUCTIONS, cell=cell)
    return version[:40]


def _read_profile(ws: Any, out: ProblemCollector) -> CityProfile:
    sheet = T.SHEET_PROFILE
    values: dict[str, object] = {}
    for r, row in enumerate(sheet_rows(ws)[: 200], start=1):
        if not row or r <= T.HEADER_ROW:
            continue
        spec = profile_keys().get(norm_header(row[0]))
        if spec is None:
            continue
        cell = f"{sheet}!B{r}"
        raw = row[1] if len(row) > 1 else None
        values[spec.key] = profile_value(spec, raw, cell, out)
    prof = profile_from(values)
    if not values:
        out.error(M("no profile fields found; column A must keep the field names (City, Country, Year of data, ...)"),
                  sheet=sheet)
    return prof


def _read_measures(ws: Any, out: ProblemCollector) -> dict[str, str]:
    rows = sheet_rows(ws)
    if not rows:
        return {}
    header = [measures_keys().get(norm_header(v)) for v in rows[T.HEADER_ROW - 1]]
    try:
        sub_col, text_col = header.index("sub_dimension"), header.index("measures")
    except ValueError:
        out.warning(M("the header row of the Measures sheet was changed, so the measures cannot be read; restore "
                      "'{a}' and '{b}'", a=M(T.MEASURES_HEADERS[1]), b=M(T.MEASURES_HEADERS[3])),
                    sheet=T.SHEET_MEASURES)
        return {}
    measures: dict[str, str] = {}
    for r, row in enumerate(rows[T.HEADER_ROW:], start=T.HEADER_ROW + 1):
        sub = row[sub_col] if sub_col < len(row) else None
        written = row[text_col] if text_col < len(row) else None
        if written is None or not str(written).strip():
            continue
        name = sub_dimension_names().get(norm_header(sub))
        if name is None:
            out.warning(M("unknown sub-dimension {name}: the text next to it is ignored; keep the names of the "
                          "template", name=show(sub)), sheet=T.SHEET_MEASURES, cell=f"{T.SHEET_MEASURES}!A{r}")
            continue
        measures[name] = text(written)
    return measures
