"""Cells and rows to the table of data points, shared by both file formats: header names, number and text cells,
profile fields, and `assemble`, which checks each row and builds the frame of every catalogue data point."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

import pandas as pd

from .. import limits, rules
from .. import template as T
from ..formulas import compute_frame
from ..i18n import LANGUAGES, M, Message, catalogue, group_text
from ..library import library, points_table
from ..models import normalise_code
from ..problems import ProblemCollector
from .submission import FRAME_COLUMNS, NUMBER_KEYS


def norm_header(value: object) -> str:
    return re.sub(r"[\s_]+", " ", str(value or "")).strip().lower()


def _in_every_language(text: str) -> list[str]:
    """An English template text and its translations: a header or label is recognised in any of the six."""
    return [text, *(catalogue(lang).get(text, text) for lang in LANGUAGES)]


@functools.cache
def data_header_keys() -> dict[str, str]:
    """Headers of the Data sheet (any language, or the column key) → column key; used when a workbook lacks the
    hidden column names (a file saved by another tool, an older template). Built on first use: it reads the
    interface catalogues of all six languages, which a report made from a scored city never needs."""
    return {norm_header(name): c.key for c in T.DATA_COLUMNS for name in (*_in_every_language(c.header), c.key)}


@functools.cache
def profile_keys() -> dict[str, T.ProfileField]:
    """Profile labels of column A (any language, or the field key) → field."""
    return {norm_header(name): f for f in T.PROFILE_FIELDS for name in (*_in_every_language(f.label), f.key)}


@functools.cache
def measures_keys() -> dict[str, str]:
    """The two Measures columns intake reads, by their header in any language."""
    return {norm_header(name): key for key, header in (("sub_dimension", T.MEASURES_HEADERS[1]),
                                                      ("measures", T.MEASURES_HEADERS[3]))
            for name in _in_every_language(header)}


@functools.cache
def sub_dimension_names() -> dict[str, str]:
    """Sub-dimension names of the Measures sheet (any language) → the library's name (loads the library: only
    when a Measures sheet is read)."""
    return {norm_header(name): sub for _, sub, _ in T.sub_dimensions()
            for name in (sub, *(group_text(sub, lang) for lang in LANGUAGES))}


def text(value: object) -> str:
    return str(value).strip()[: limits.MAX_TEXT]


def show(value: object) -> str:
    s = str(value)
    return repr(s[:40] + ("..." if len(s) > 40 else ""))


def read_number(raw: object, what: str | Message, out: ProblemCollector, *, sheet: str, cell: str, kpi: str = "",
                warn_text: bool = True) -> float | None:
    """A cell as a number by `rules.parse_number`, with the problem reported in the words of `what`."""
    parsed = rules.parse_number(raw)
    if parsed.status == "number":
        if parsed.from_text and warn_text:
            out.warning(M("{what} is stored as text ({raw}); read as {value}. Format the cell as a number",
                          what=what, raw=show(raw), value=f"{parsed.value:g}"), sheet=sheet, cell=cell, kpi=kpi)
        return parsed.value
    if parsed.status == "ambiguous":
        out.error(M("{what} is {raw}, which could mean {a} or {b}; type the number without a thousands separator, "
                    "with '.' for decimals", what=what, raw=show(raw), a=str(raw).replace(",", ""),
                    b=str(raw).replace(",", ".")), sheet=sheet, cell=cell, kpi=kpi)
    elif parsed.status == "not_finite":
        out.error(M("{what} is {raw}, which is not a finite number; type the figure itself", what=what,
                    raw=show(raw)), sheet=sheet, cell=cell, kpi=kpi)
    elif parsed.status == "text":
        out.error(M("{what} must be a number, found {raw}; type the figure without units or words (leave it "
                    "empty when not reported)", what=what, raw=show(raw)), sheet=sheet, cell=cell, kpi=kpi)
    return None


def profile_value(spec: T.ProfileField, raw: object, cell: str, out: ProblemCollector) -> object:
    """One profile field read as its kind: text, a whole year, or a positive number."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    sheet = cell.split("!")[0] if "!" in cell else ""
    label = M(spec.label)
    if spec.kind == "text":
        return text(raw)
    if spec.kind == "language":
        code = text(raw).lower()
        if code not in LANGUAGES:
            out.warning(M("{label} {raw} is not one of ar, zh, en, fr, ru, es; English is used", label=label,
                          raw=show(raw)), sheet=sheet, cell=cell)
            return None
        return code
    num = read_number(raw, label, out, sheet=sheet, cell=cell, warn_text=False)
    if num is None:
        return None
    if spec.kind == "year":
        if num != int(num):
            out.error(M("{label} must be a whole year such as 2024, found {value}", label=label, value=f"{num:g}"),
                      sheet=sheet, cell=cell)
            return None
        return int(num)
    if num <= 0:
        out.error(M("{label} must be above 0, found {value}", label=label, value=f"{num:g}"), sheet=sheet, cell=cell)
        return None
    if spec.kind == "int" and num != int(num):
        out.warning(M("{label} is usually a whole number, found {value}", label=label, value=f"{num:g}"),
                    sheet=sheet, cell=cell)
    return num


class _QualityLevels:
    """The six data-quality levels, listed in the language a message is shown in."""

    def localise(self, lang: str) -> str:
        return "; ".join(level.get(lang, level["en"]) for level in rules.ANSWERS["data_quality"])


def catalogue_points() -> dict[tuple[str, str], dict]:
    return {(p["code"], p["part"]): p for p in T.data_points()}


# ---------------------------------------------------------------- rows to the data frame


@dataclass
class _Assembly:
    """What `assemble` collects while it walks the rows of one file."""

    out: ProblemCollector
    sheet: str
    kind: str  # 'xlsx' or 'csv'
    points: dict[tuple[str, str], dict] = field(default_factory=catalogue_points)
    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    by_point: dict[tuple[str, str], dict] = field(default_factory=dict)
    cells: dict[tuple[str, str, str], str] = field(default_factory=dict)


def assemble(records: list[dict], out: ProblemCollector, sheet: str,
             kind: str) -> tuple[pd.DataFrame, dict[tuple[str, str, str], str]]:
    """Raw rows (one per data point) → the frame of every catalogue point and where each figure came from,
    reporting every row-level problem."""
    job = _Assembly(out, sheet, kind)
    for rec in records:
        key = _row_key(job, rec)
        if key is None:
            continue
        code, part = key
        refs = rec["_cells"]
        job.seen[key] = rec["_row"]
        row: dict[str, object] = {"code": code, "part": part, "sheet": sheet if kind == "xlsx" else "",
                                  "row": rec["_row"]}
        _report_formulas(job, rec, code)
        for nk in NUMBER_KEYS:
            row[nk] = _number_cell(job, rec, nk, code, job.points[key])
        for tk in T.TEXT_DATA_KEYS:
            row[tk] = _text_cell(job, rec, tk, code)
        job.by_point[key] = row
        for k, ref in refs.items():
            job.cells[(code, part, k)] = ref
    _report_missing_rows(job)
    return _frame(job.by_point), job.cells


def _row_key(job: _Assembly, rec: dict) -> tuple[str, str] | None:
    """The (code, part) a row stands for, or None (with the problem reported) when it stands for none."""
    refs, out, sheet = rec["_cells"], job.out, job.sheet
    raw_code = rec.get("code")
    if raw_code is None or not str(raw_code).strip():
        editable = [rec.get(k) for k in (*NUMBER_KEYS, *T.TEXT_DATA_KEYS)]
        if any(v is not None and str(v).strip() for v in editable):
            out.error(M("this row has entries but no KPI code; put the code back or clear the row"), sheet=sheet,
                      cell=refs["row"])
        return None
    code = normalise_code(str(raw_code)[:60])
    lib = library()
    if code not in lib.by_code:
        out.error(M("unknown KPI code {code}: it is not one of the {n} U4SSC KPIs; keep the code printed by the "
                    "template (e.g. 'EC: ICT: ICT: 1C')", code=show(raw_code), n=len(lib)), sheet=sheet,
                  cell=refs["code"])
        return None
    part = str(rec.get("part") or "").strip().lower()
    if (code, part) not in job.points:
        allowed = [p for (c, p) in job.points if c == code]
        hint = M("leave 'Part' empty") if allowed == [""] else M("use one of: {parts}", parts=", ".join(allowed))
        out.error(M("{code} has no data point {part}; {hint}", code=code, part=show(rec.get("part")), hint=hint),
                  sheet=sheet, cell=refs.get("part", refs["row"]), kpi=code)
        return None
    if (code, part) in job.seen:
        out.error(M("{point} appears twice (also row {row}); keep one row per data point",
                    point=f"{code}{' ' + part if part else ''}", row=job.seen[(code, part)]), sheet=sheet,
                  cell=refs["code"], kpi=code)
        return None
    return code, part


def _number_cell(job: _Assembly, rec: dict, key: str, code: str, point: dict) -> float:
    """A number cell; a yes/no KPI's final value may also be the answer itself ('Yes', 'No', 'Partial')."""
    raw, cell = rec.get(key), rec["_cells"].get(key, "")
    if point["kind"] == "yes_no" and key == "final_value":
        answer = rules.parse_yes_no(raw)
        if answer is not None:
            return answer
        parsed = rules.parse_number(raw)
        if parsed.status in ("text", "ambiguous"):
            job.out.error(M("{what} is {raw}; for this yes/no KPI type Yes, No or Partial (or the % of the {n} "
                            "criteria met)", what=M(T.DATA_HEADERS[key]), raw=show(raw), n=point["n_criteria"]),
                          sheet=job.sheet, cell=cell, kpi=code)
            return math.nan
    num = read_number(raw, M(T.DATA_HEADERS[key]), job.out, sheet=job.sheet, cell=cell, kpi=code,
                      warn_text=job.kind == "xlsx")
    return math.nan if num is None else num


def _report_formulas(job: _Assembly, rec: dict, code: str) -> None:
    """A formula's saved result is used with a warning; a formula without one is an error (never calculated)."""
    for fk, formula in rec.get("_formulas", {}).items():
        if fk not in (*NUMBER_KEYS, *T.TEXT_DATA_KEYS):
            continue
        cell = rec["_cells"][fk]
        if rec.get(fk) is None:
            job.out.error(M("{what} holds a formula ({formula}) with no saved result; formulas are not calculated "
                            "here, so type the figure itself", what=M(T.DATA_HEADERS[fk]), formula=formula[:40]),
                          sheet=job.sheet, cell=cell, kpi=code)
        else:
            job.out.warning(M("{what} holds a formula ({formula}); its saved result {value} was used. Check it, or "
                              "type the figure itself", what=M(T.DATA_HEADERS[fk]), formula=formula[:40],
                              value=show(rec.get(fk))), sheet=job.sheet, cell=cell, kpi=code)


def _text_cell(job: _Assembly, rec: dict, key: str, code: str) -> str:
    raw = rec.get(key)
    value = text(raw) if raw is not None and str(raw).strip() else ""
    if key == "data_quality" and value:
        level = rules.parse_data_quality(value)
        if level is None:
            job.out.error(M("data quality {value} is not one of the six U4SSC levels; choose from the list: {levels}",
                            value=show(value), levels=_QualityLevels()), sheet=job.sheet,
                          cell=rec["_cells"].get(key, ""), kpi=code)
        return level or value  # an unknown level stays as typed: the error above names it
    return value


def _report_missing_rows(job: _Assembly) -> None:
    """A workbook keeps every template row: a deleted one is named (a CSV lists only what it reports)."""
    if job.kind != "xlsx":
        return
    missing: dict[str, list[str]] = {}
    for code, part in job.points:
        if (code, part) not in job.by_point:
            missing.setdefault(code, []).append(part)
    for code, parts in missing.items():
        if parts == [""]:
            message = M("the row of {code} is missing, so it counts as not reported; keep every template row (leave "
                        "it empty when not reported)", code=code)
        else:
            message = M("the rows for {parts} of {code} are missing, so they count as not reported; keep every "
                        "template row (leave it empty when not reported)", parts=", ".join(parts), code=code)
        job.out.warning(message, sheet=job.sheet, kpi=code)


def _frame(by_point: dict[tuple[str, str], dict]) -> pd.DataFrame:
    """One row per catalogue data point in catalogue order; `reported` where the inputs or final value give one."""
    rows = []
    for code, part in points_table()[["code", "part"]].itertuples(index=False):
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
