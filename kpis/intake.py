"""Read a filled workbook or a long CSV into a `Submission`, collecting every problem instead of stopping at the first.

Everything in a submitted file is untrusted: caps are checked first (`kpis.limits`), openpyxl streams values only
(no formulas evaluated, no external links, no macros), numbers are parsed cell by cell, and the KPI values are
recomputed later from the inputs (`kpis.compute`), never taken from a cached formula result.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import limits, rules
from . import template as T
from .library import library
from .models import normalise_code
from .paths import sha256_file
from .problems import Problem, ProblemCollector

NUMBER_KEYS = ("numerator_value", "denominator_value", "final_value")
FRAME_COLUMNS = ["code", "part", "numerator_value", "denominator_value", "final_value", "reported", "data_quality",
                 "data_origin", "source_name", "source_link", "comment", "sheet", "row"]
CSV_REQUIRED = ("kpi_code", "input", "value")
CSV_COLUMNS = ("kpi_code", "part", "input", "value", *T.TEXT_DATA_KEYS)


@dataclass
class CityProfile:
    city: str = ""
    country: str = ""
    year: int | None = None
    population: float | None = None
    area_km2: float | None = None
    households: float | None = None
    currency: str = ""
    contact: str = ""
    region: str = ""


@dataclass
class Submission:
    """One city's data: the profile, the measures it reports and one row per catalogue data point."""

    path: Path
    profile: CityProfile
    template_version: str
    sha256: str
    measures: dict[str, str]
    data: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)  # warnings that did not stop the reading
    cells: dict[tuple[str, str, str], str] = field(default_factory=dict, repr=False)  # (code, part, key) -> cell
    kind: str = "xlsx"

    @property
    def city(self) -> str:
        return self.profile.city

    @property
    def year(self) -> int | None:
        return self.profile.year

    def cell(self, code: str, part: str, key: str) -> str:
        """Where a figure came from ('Data!H5' or 'row 12'), for messages."""
        return self.cells.get((code, part, key)) or self.cells.get((code, part, "row"), "")


# ---------------------------------------------------------------- reading


def load(path: Path) -> tuple[Submission | None, list[Problem]]:
    """Read without judging values: (submission or None when unusable, problems found while reading)."""
    limits.assert_defusedxml()
    out = ProblemCollector(str(path))
    try:
        kind = limits.check_file(path)
        digest = sha256_file(path)
    except limits.Refused as exc:
        out.error(str(exc))
        return None, out.problems
    except Exception as exc:  # noqa: BLE001 - e.g. a damaged compressed stream
        out.error(_explain_parser_error(exc))
        return None, out.problems
    try:
        sub = _read_csv(path, out) if kind == "csv" else _read_xlsx(path, out)
    except limits.Refused as exc:
        out.error(str(exc))
        return None, out.problems
    except Exception as exc:  # noqa: BLE001 - a parser failing on a malformed file is a user-facing problem
        out.error(_explain_parser_error(exc))
        return None, out.problems
    if sub is not None:
        sub.sha256 = digest
    return sub, out.problems


def _explain_parser_error(exc: Exception) -> str:
    name = type(exc).__name__
    if name in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden", "NotSupportedError"):
        return ("the workbook contains XML entity or DTD declarations, which spreadsheet programs never write "
                "(a possible 'XML bomb'); it is refused. Save your data into a fresh template.")
    detail = str(exc).splitlines()[0][:200] if str(exc) else name
    return (f"the workbook cannot be read ({name}: {detail}); it may be damaged or not made from the template. "
            f"{limits.RESAVE[0].upper()}{limits.RESAVE[1:]}, or copy your figures into a fresh `ssc template`.")


def _norm_header(value: object) -> str:
    return re.sub(r"[\s_]+", " ", str(value or "")).strip().lower()


_DATA_HEADER_KEYS = {}
for _c in T.DATA_COLUMNS:
    _DATA_HEADER_KEYS[_norm_header(_c.header)] = _c.key
    _DATA_HEADER_KEYS[_norm_header(_c.key)] = _c.key
_PROFILE_KEYS = {}
for _f in T.PROFILE_FIELDS:
    _PROFILE_KEYS[_norm_header(_f.label)] = _f
    _PROFILE_KEYS[_norm_header(_f.key)] = _f
_FIELD_BY_KEY = {f.key: f for f in T.PROFILE_FIELDS}


def _rows(ws) -> list[tuple]:
    """At most MAX_ROWS + 1 rows of MAX_COLS values: declared sheet dimensions are not trusted."""
    return list(ws.iter_rows(min_row=1, max_row=limits.MAX_ROWS + 1, max_col=limits.MAX_COLS, values_only=True))


def _read_xlsx(path: Path, out: ProblemCollector) -> Submission | None:
    import openpyxl
    from openpyxl.utils import get_column_letter

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False, keep_vba=False)
    try:
        names = wb.sheetnames
        missing = [s for s in T.REQUIRED_SHEETS if s not in names]
        for s in missing:
            similar = [n for n in names if n.strip().lower() == s.lower()]
            hint = f" (found '{similar[0]}': rename it to '{s}')" if similar else " (do not rename or delete sheets)"
            out.error(f"the sheet '{s}' is missing{hint}; generate a fresh template with `ssc template` if unsure",
                      sheet=s)
        version = ""
        if T.SHEET_INSTRUCTIONS in names:
            version = _read_version(wb[T.SHEET_INSTRUCTIONS], out)
        if T.SHEET_DATA not in names:
            return None
        profile = _read_profile(wb[T.SHEET_PROFILE], out) if T.SHEET_PROFILE in names else CityProfile()
        if T.SHEET_MEASURES in names:
            measures = _read_measures(wb[T.SHEET_MEASURES], out)
        else:
            measures = {}
            out.warning(f"no '{T.SHEET_MEASURES}' sheet, so the report will not show what the city already does",
                        sheet=T.SHEET_MEASURES)
        data_ws = wb[T.SHEET_DATA]
        declared = (getattr(data_ws, "_max_row", None) or 0, getattr(data_ws, "_max_column", None) or 0)
        if declared[0] > limits.MAX_ROWS or declared[1] > limits.MAX_COLS:
            out.warning(f"the sheet declares {declared[0]} rows and {declared[1]} columns; only the first "
                        f"{limits.MAX_ROWS} rows and {limits.MAX_COLS} columns are read. Delete anything outside "
                        "the KPI table", sheet=T.SHEET_DATA)
        rows = _rows(data_ws)
        data_part = getattr(data_ws, "_worksheet_path", None)
    finally:
        wb.close()
    formulas = _formula_cells(path, data_part)
    sheet = T.SHEET_DATA
    if len(rows) > limits.MAX_ROWS:
        out.error(f"the sheet has more than {limits.MAX_ROWS} rows; only the KPI table belongs here "
                  "(delete the rows below it)", sheet=sheet)
        rows = rows[: limits.MAX_ROWS]
    if not rows:
        out.error("the sheet is empty; it must hold the KPI table of the template", sheet=sheet)
        return None
    header = rows[T.HEADER_ROW - 1]
    colmap: dict[str, int] = {}
    for i, value in enumerate(header):
        key = _DATA_HEADER_KEYS.get(_norm_header(value))
        if key is None:
            continue
        if key in colmap:
            out.error(f"the column '{T.DATA_HEADERS[key]}' appears twice (columns {get_column_letter(colmap[key] + 1)}"
                      f" and {get_column_letter(i + 1)}); delete one", sheet=sheet,
                      cell=f"{sheet}!{get_column_letter(i + 1)}{T.HEADER_ROW}")
        else:
            colmap[key] = i
    absent = [k for k in T.REQUIRED_DATA_KEYS if k not in colmap]
    for key in absent:
        out.error(f"the column '{T.DATA_HEADERS[key]}' is missing from the header row {T.HEADER_ROW}; restore it "
                  "(headers must keep the template's wording)", sheet=sheet)
    if absent:
        return None
    records = []
    for r, values in enumerate(rows[T.HEADER_ROW:], start=T.HEADER_ROW + 1):
        def ref(key: str, r: int = r) -> str:
            return f"{sheet}!{get_column_letter(colmap[key] + 1)}{r}" if key in colmap else f"{sheet}!A{r}"

        rec = {key: (values[i] if i < len(values) else None) for key, i in colmap.items()}
        rec["_formulas"] = {key: formulas[(r, i)] for key, i in colmap.items() if (r, i) in formulas}
        rec["_cells"] = {key: ref(key) for key in colmap}
        rec["_cells"]["row"] = f"{sheet}!A{r}"
        rec["_row"] = r
        records.append(rec)
    data, cells = _assemble(records, out, sheet, "xlsx")
    return Submission(path, profile, version, "", measures, data, cells=cells, kind="xlsx")


def _formula_cells(path: Path, part: str | None) -> dict[tuple[int, int], str]:
    """(row, 0-based column) -> formula text of the Data sheet's formula cells.

    The values pass sees only a formula's cached result (or nothing when the file was never opened in a
    spreadsheet program); this light second pass over the sheet XML (defusedxml, element by element) tells the two
    apart so that neither is taken silently.
    """
    import zipfile

    from defusedxml.ElementTree import iterparse
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    if not part:
        return {}
    found: dict[tuple[int, int], str] = {}
    row_no, col_no = 0, 0
    with zipfile.ZipFile(path) as zf, zf.open(part.lstrip("/")) as fh:
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
    return found


def _read_version(ws, out: ProblemCollector) -> str:
    rows = list(ws.iter_rows(min_row=1, max_row=10, max_col=4, values_only=True))
    row, col = int(T.VERSION_CELL[1:]), ord(T.VERSION_CELL[0]) - ord("A")
    value = rows[row - 1][col] if len(rows) >= row and len(rows[row - 1]) > col else None
    cell = f"{T.SHEET_INSTRUCTIONS}!{T.VERSION_CELL}"
    if isinstance(value, float):
        value = f"{value:.1f}"
    version = str(value).strip() if value is not None else ""
    if not version:
        out.error(f"no template version in {cell}; this file was not made with `ssc template`. Generate a "
                  "fresh template and copy your figures into it", sheet=T.SHEET_INSTRUCTIONS, cell=cell)
    elif version not in T.SUPPORTED_VERSIONS:
        out.error(f"unknown template version {version[:40]!r} (this program reads {', '.join(sorted(T.SUPPORTED_VERSIONS))}); "
                  "generate a fresh template with `ssc template` and copy your figures into it",
                  sheet=T.SHEET_INSTRUCTIONS, cell=cell)
    return version[:40]


def _read_profile(ws, out: ProblemCollector) -> CityProfile:
    sheet = T.SHEET_PROFILE
    values: dict[str, object] = {}
    for r, row in enumerate(_rows(ws)[: 200], start=1):
        if not row or r <= T.HEADER_ROW:
            continue
        spec = _PROFILE_KEYS.get(_norm_header(row[0]))
        if spec is None:
            continue
        cell = f"{sheet}!B{r}"
        raw = row[1] if len(row) > 1 else None
        values[spec.key] = _profile_value(spec, raw, cell, out)
    prof = CityProfile(**{k: v for k, v in values.items() if v is not None})
    if not values:
        out.error("no profile fields found; column A must keep the field names (City, Country, Year of data, ...)",
                  sheet=sheet)
    return prof


def _profile_value(spec: T.ProfileField, raw: object, cell: str, out: ProblemCollector) -> object:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    sheet = cell.split("!")[0] if "!" in cell else ""
    if spec.kind == "text":
        return _text(raw)
    num = _read_number(raw, spec.label, out, sheet=sheet, cell=cell, warn_text=False)
    if num is None:
        return None
    if spec.kind == "year":
        if num != int(num):
            out.error(f"{spec.label} must be a whole year such as 2024, found {num:g}", sheet=sheet, cell=cell)
            return None
        return int(num)
    if num <= 0:
        out.error(f"{spec.label} must be above 0, found {num:g}", sheet=sheet, cell=cell)
        return None
    if spec.kind == "int" and num != int(num):
        out.warning(f"{spec.label} is usually a whole number, found {num:g}", sheet=sheet, cell=cell)
    return num


def _read_measures(ws, out: ProblemCollector) -> dict[str, str]:
    known = {_norm_header(s): s for _, s, _ in T.sub_dimensions()}
    rows = _rows(ws)
    if not rows:
        return {}
    header = [_norm_header(v) for v in rows[T.HEADER_ROW - 1]]
    try:
        sub_col = header.index(_norm_header(T.MEASURES_HEADERS[1]))
        text_col = header.index(_norm_header(T.MEASURES_HEADERS[3]))
    except ValueError:
        out.warning("the header row of the Measures sheet was changed, so the measures cannot be read; restore "
                    f"'{T.MEASURES_HEADERS[1]}' and '{T.MEASURES_HEADERS[3]}'", sheet=T.SHEET_MEASURES)
        return {}
    measures: dict[str, str] = {}
    for r, row in enumerate(rows[T.HEADER_ROW:], start=T.HEADER_ROW + 1):
        sub = row[sub_col] if sub_col < len(row) else None
        text = row[text_col] if text_col < len(row) else None
        if text is None or not str(text).strip():
            continue
        name = known.get(_norm_header(sub))
        if name is None:
            out.warning(f"unknown sub-dimension {_show(sub)}: the text next to it is ignored; keep the names of "
                        "the template", sheet=T.SHEET_MEASURES, cell=f"{T.SHEET_MEASURES}!A{r}")
            continue
        measures[name] = _text(text)
    return measures


# ---------------------------------------------------------------- cell parsing


def _text(value: object) -> str:
    return str(value).strip()[: limits.MAX_TEXT]


def _show(value: object) -> str:
    s = str(value)
    return repr(s[:40] + ("..." if len(s) > 40 else ""))


def _read_number(raw: object, what: str, out: ProblemCollector, *, sheet: str, cell: str, kpi: str = "",
                 warn_text: bool = True) -> float | None:
    """A cell as a number by `rules.parse_number`, with the problem reported in the words of `what`."""
    parsed = rules.parse_number(raw)
    if parsed.status == "number":
        if parsed.from_text and warn_text:
            out.warning(f"{what} is stored as text ({_show(raw)}); read as {parsed.value:g}. Format the cell as a "
                        "number", sheet=sheet, cell=cell, kpi=kpi)
        return parsed.value
    if parsed.status == "ambiguous":
        out.error(f"{what} is {_show(raw)}, which could mean {str(raw).replace(',', '')} or "
                  f"{str(raw).replace(',', '.')}; type the number without a thousands separator, with '.' for "
                  "decimals", sheet=sheet, cell=cell, kpi=kpi)
    elif parsed.status == "not_finite":
        out.error(f"{what} is {_show(raw)}, which is not a finite number; type the figure itself", sheet=sheet,
                  cell=cell, kpi=kpi)
    elif parsed.status == "text":
        out.error(f"{what} must be a number, found {_show(raw)}; type the figure without units or words (leave it "
                  "empty when not reported)", sheet=sheet, cell=cell, kpi=kpi)
    return None


# ---------------------------------------------------------------- rows to the data frame


def _points() -> dict[tuple[str, str], dict]:
    return {(p["code"], p["part"]): p for p in T.data_points()}


def _assemble(records: list[dict], out: ProblemCollector, sheet: str, kind: str):
    """Turn raw rows (one per data point) into the frame of every catalogue point, reporting row-level problems."""
    points = _points()
    lib = library()
    seen: dict[tuple[str, str], int] = {}
    by_point: dict[tuple[str, str], dict] = {}
    cells: dict[tuple[str, str, str], str] = {}
    quality = {_norm_header(q): q for q in T.DATA_QUALITY_LEVELS}
    for rec in records:
        r, refs = rec["_row"], rec["_cells"]
        raw_code = rec.get("code")
        editable = [rec.get(k) for k in (*NUMBER_KEYS, *T.TEXT_DATA_KEYS)]
        has_content = any(v is not None and str(v).strip() for v in editable)
        if raw_code is None or not str(raw_code).strip():
            if has_content:
                out.error("this row has entries but no KPI code; put the code back or clear the row",
                          sheet=sheet, cell=refs["row"])
            continue
        code = normalise_code(str(raw_code)[:60])
        if code not in lib.by_code:
            out.error(f"unknown KPI code {_show(raw_code)}: it is not one of the {len(lib)} U4SSC KPIs; keep the "
                      "code printed by the template (e.g. 'EC: ICT: ICT: 1C')", sheet=sheet, cell=refs["code"])
            continue
        part = str(rec.get("part") or "").strip().lower()
        key = (code, part)
        if key not in points:
            allowed = [p for (c, p) in points if c == code]
            hint = ("leave 'Part' empty" if allowed == [""] else
                    "use one of: " + ", ".join(a for a in allowed))
            out.error(f"{code} has no data point {_show(rec.get('part'))}; {hint}", sheet=sheet,
                      cell=refs.get("part", refs["row"]), kpi=code)
            continue
        if key in seen:
            out.error(f"{code}{' ' + part if part else ''} appears twice (also row {seen[key]}); keep one row "
                      "per data point", sheet=sheet, cell=refs["code"], kpi=code)
            continue
        seen[key] = r
        row: dict[str, object] = {"code": code, "part": part, "sheet": sheet if kind == "xlsx" else "", "row": r}
        for fk, formula in rec.get("_formulas", {}).items():
            if fk not in (*NUMBER_KEYS, *T.TEXT_DATA_KEYS):
                continue
            if rec.get(fk) is None:
                out.error(f"{T.DATA_HEADERS[fk]} holds a formula ({formula[:40]}) with no saved result; formulas "
                          "are not calculated here, so type the figure itself", sheet=sheet, cell=refs[fk], kpi=code)
            else:
                out.warning(f"{T.DATA_HEADERS[fk]} holds a formula ({formula[:40]}); its saved result "
                            f"{_show(rec.get(fk))} was used. Check it, or type the figure itself", sheet=sheet,
                            cell=refs[fk], kpi=code)
        for nk in NUMBER_KEYS:
            num = _read_number(rec.get(nk), T.DATA_HEADERS[nk], out, sheet=sheet, cell=refs.get(nk, ""), kpi=code,
                               warn_text=kind == "xlsx")
            row[nk] = math.nan if num is None else num
        for tk in T.TEXT_DATA_KEYS:
            raw = rec.get(tk)
            text = _text(raw) if raw is not None and str(raw).strip() else ""
            if tk == "data_quality" and text:
                level = quality.get(_norm_header(text))
                if level is None:
                    out.error(f"data quality {_show(text)} is not one of the six U4SSC levels; choose from the list: "
                              + "; ".join(T.DATA_QUALITY_LEVELS), sheet=sheet, cell=refs.get(tk, ""), kpi=code)
                text = level or text  # an unknown level stays as typed: the error above names it
            row[tk] = text
        by_point[key] = row
        for k, ref in refs.items():
            cells[(code, part, k)] = ref
    missing_kpis: dict[str, list[str]] = {}
    for code, part in points:
        if (code, part) not in by_point:
            missing_kpis.setdefault(code, []).append(part)
    if kind == "xlsx":
        for code, parts in missing_kpis.items():
            what = "row" if parts == [""] else "rows for " + ", ".join(parts)
            out.warning(f"the {what} of {code} is missing, so it counts as not reported; keep every template row "
                        "(leave it empty when not reported)", sheet=sheet, kpi=code)
    frame = _frame(by_point, points)
    return frame, cells


def _frame(by_point: dict, points: dict) -> pd.DataFrame:
    from .compute import compute_frame
    from .library import points_table

    order = points_table()[["code", "part"]]
    rows = []
    for code, part in order.itertuples(index=False):
        rec = by_point.get((code, part))
        if rec is None:
            rec = {"code": code, "part": part, "numerator_value": math.nan, "denominator_value": math.nan,
                   "final_value": math.nan, "sheet": "", "row": None, **{k: "" for k in T.TEXT_DATA_KEYS}}
        rows.append(rec)
    frame = pd.DataFrame(rows)
    for k in NUMBER_KEYS:
        frame[k] = frame[k].astype(float)
    frame["row"] = frame["row"].astype("Int64")
    computed = compute_frame(frame[["code", "part", *NUMBER_KEYS]])
    frame["reported"] = computed["value"].notna().to_numpy()
    return frame[FRAME_COLUMNS]


# ---------------------------------------------------------------- long CSV


def _read_csv(path: Path, out: ProblemCollector) -> Submission | None:
    """kpi_code,part,input,value[,data_quality,data_origin,source_name,source_link,comment]: one row per figure.

    `input` is a catalogue input name (e.g. households_total; shared by every data point that uses it unless
    `part` is given), 'numerator', 'denominator' or 'final_value'. Profile fields use kpi_code 'profile' and the
    field as input (city, year, population...); measures use kpi_code 'measures' with the sub-dimension as part.
    """
    raw = path.read_bytes()[: limits.MAX_CSV_BYTES + 1]
    text = _decode_csv(raw)
    first = text.split("\n", 1)[0]
    if "," not in first:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in first:
                raise limits.Refused(
                    f"the CSV uses {name} between columns; re-save it with commas (in Excel: 'CSV UTF-8 (Comma "
                    "delimited)'; in LibreOffice tick 'Comma' as field delimiter)")
        raise limits.Refused("the first line is not a header with commas; expected "
                             + ",".join(CSV_COLUMNS))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [_norm_header(h).replace(" ", "_") for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise limits.Refused(f"the CSV header cannot be read ({exc})") from None
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise limits.Refused(f"the CSV lacks the column(s) {', '.join(missing)}; the header must be "
                             + ",".join(CSV_COLUMNS))
    idx = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    lib = library()
    points = _points()
    profile: dict[str, object] = {}
    measures: dict[str, str] = {}
    per_point: dict[tuple[str, str], dict] = {}
    seen: dict[tuple[str, str, str], int] = {}
    known_sub = {_norm_header(s): s for _, s, _ in T.sub_dimensions()}
    try:
        for line_no, cols in enumerate(reader, start=2):
            if line_no > limits.MAX_ROWS * 10:
                out.error(f"the CSV has more than {limits.MAX_ROWS * 10} rows; a complete submission has about 300")
                break
            if not any(c.strip() for c in cols):
                continue
            get = {name: (cols[i].strip() if i < len(cols) else "") for name, i in idx.items()}
            where = f"row {line_no}"
            code_raw, inp, value = get["kpi_code"], get["input"].lower(), get["value"]
            if code_raw.lower() == "profile":
                spec = _PROFILE_KEYS.get(_norm_header(inp))
                if spec is None:
                    out.error(f"unknown profile field {_show(inp)}; use one of "
                              + ", ".join(f.key for f in T.PROFILE_FIELDS), cell=where)
                else:
                    profile[spec.key] = _profile_value(spec, value, where, out)
                continue
            if code_raw.lower() == "measures":
                name = known_sub.get(_norm_header(get.get("part") or inp))
                if name is None:
                    out.warning(f"unknown sub-dimension {_show(get.get('part') or inp)}; the text is ignored",
                                cell=where)
                else:
                    measures[name] = _text(value)
                continue
            code = normalise_code(code_raw[:60])
            if code not in lib.by_code:
                out.error(f"unknown KPI code {_show(code_raw)}: not one of the {len(lib)} U4SSC KPIs", cell=where)
                continue
            kpi = lib.by_code[code]
            part = get.get("part", "").lower()
            targets = [(c, p) for (c, p) in points if c == code and (not part or p == part)]
            if not targets:
                out.error(f"{code} has no data point {_show(part)}", cell=where, kpi=code)
                continue
            dup = (code, part, inp)
            if dup in seen:
                out.error(f"{code} {part} {inp} is given twice (also row {seen[dup]}); keep one", cell=where, kpi=code)
                continue
            seen[dup] = line_no
            assigned = False
            for key in targets:
                p = points[key]
                if inp in ("numerator", p["numerator"]):
                    slot = "numerator_value"
                elif p["denominator"] and inp in ("denominator", p["denominator"]):
                    slot = "denominator_value"
                elif inp in ("final_value", "final", "kpi_value"):
                    slot = "final_value"
                else:
                    continue
                if inp in ("numerator", "denominator", "final_value", "final", "kpi_value") and len(targets) > 1:
                    out.error(f"{code} has several data points; give 'part' (one of "
                              f"{', '.join(q for _, q in targets)}) for {inp!r}", cell=where, kpi=code)
                    break
                rec = per_point.setdefault(key, {"code": code, "part": key[1], "_row": line_no,
                                                 "_cells": {"row": where}})
                rec[slot] = value
                rec["_cells"][slot] = where
                for tk in T.TEXT_DATA_KEYS:
                    if get.get(tk):
                        rec[tk] = get[tk]
                        rec["_cells"][tk] = where
                assigned = True
            if not assigned and not any(e.cell == where for e in out.problems):
                names = sorted({n for n in kpi.inputs}) + ["final_value"]
                out.error(f"{code} has no input {_show(inp)}; use one of: {', '.join(names)}", cell=where, kpi=code)
    except csv.Error as exc:
        raise limits.Refused(f"the CSV is malformed near row {reader.line_num} ({exc}); re-save it as "
                             "'CSV UTF-8 (Comma delimited)'") from None
    records = list(per_point.values())
    data, cells = _assemble(records, out, "", "csv")
    prof = CityProfile(**{k: v for k, v in profile.items() if v is not None})
    return Submission(path, prof, "csv", "", measures, data, cells=cells, kind="csv")


def _decode_csv(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise limits.Refused("the CSV is saved as UTF-16 ('Unicode text'); re-save it as 'CSV UTF-8 (Comma "
                             "delimited)'")
    if b"\x00" in raw[:65536]:
        raise limits.Refused("the file contains binary data, not CSV text; export the sheet as 'CSV UTF-8 (Comma "
                             "delimited)'")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise limits.Refused(
            f"the CSV is not UTF-8 (byte 0x{raw[exc.start]:02X} on line {line}, probably Windows-1252 or "
            "Latin-1); re-save it as 'CSV UTF-8 (Comma delimited)' (in LibreOffice: character set 'Unicode "
            "(UTF-8)')") from None
