"""The long CSV format: kpi_code,part,input,value[,data_quality,data_origin,source_name,source_link,comment], one row
per figure. Profile fields use kpi_code 'profile' and the field as input (city, year, population...); measures use
kpi_code 'measures' with the sub-dimension as part. Rows are gathered per data point and handed to `rows.assemble`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import limits
from .. import template as T
from ..i18n import N_, M
from ..library import library
from ..models import KPI, normalise_code
from ..problems import ProblemCollector
from .rows import assemble, catalogue_points, norm_header, profile_keys, profile_value, show, text
from .submission import CSV_COLUMNS, CSV_REQUIRED, Submission, profile_from

FINAL_VALUE_WORDS = ("final_value", "final", "kpi_value")
SEPARATORS = ((";", N_("semicolons")), ("\t", N_("tabs")), ("|", N_("vertical bars")))
RESAVE_CSV = M("re-save it as 'CSV UTF-8 (Comma delimited)'")


@dataclass
class _Gathered:
    """What the CSV's rows add up to: the profile, the measures and the raw record of each data point."""

    profile: dict[str, object] = field(default_factory=dict)
    measures: dict[str, str] = field(default_factory=dict)
    per_point: dict[tuple[str, str], dict] = field(default_factory=dict)
    seen: dict[tuple[str, str, str], int] = field(default_factory=dict)


def read_csv(path: Path, out: ProblemCollector) -> Submission | None:
    """Read a long CSV (see the module's docstring); `input` is a catalogue input name (e.g. households_total,
    shared by every data point that uses it unless `part` is given), 'numerator', 'denominator' or 'final_value'."""
    text_ = _decode_csv(path.read_bytes()[: limits.MAX_CSV_BYTES + 1])
    reader = csv.reader(io.StringIO(text_, newline=""))
    columns = _header(text_, reader)
    gathered = _Gathered()
    known_sub = {norm_header(s): s for _, s, _ in T.sub_dimensions()}
    try:
        for line_no, get in _rows(reader, columns, out):
            where = f"row {line_no}"
            kind = get["kpi_code"].lower()
            if kind == "profile":
                _profile_row(gathered, get, where, out)
            elif kind == "measures":
                name = known_sub.get(norm_header(get.get("part") or get["input"]))
                if name is None:
                    out.warning(M("unknown sub-dimension {name}; the text is ignored",
                                  name=show(get.get("part") or get["input"])), cell=where)
                else:
                    gathered.measures[name] = text(get["value"])
            else:
                _figure_row(gathered, get, line_no, out)
    except csv.Error as exc:
        raise limits.Refused(M("the CSV is malformed near row {row} ({error}); {advice}", row=reader.line_num, error=exc,
                               advice=RESAVE_CSV)) from None
    data, cells = assemble(list(gathered.per_point.values()), out, "", "csv")
    return Submission(path, profile_from(gathered.profile), "csv", "", gathered.measures, data, cells=cells,
                      kind="csv")


def _header(text_: str, reader: Iterator[list[str]]) -> dict[str, int]:
    """Column positions by name; a file with another separator or without the required columns is refused."""
    first = text_.split("\n", 1)[0]
    if "," not in first:
        for sep, name in SEPARATORS:
            if sep in first:
                raise limits.Refused(M(
                    "the CSV uses {separator} between columns; re-save it with commas (in Excel: 'CSV UTF-8 (Comma "
                    "delimited)'; in LibreOffice tick 'Comma' as field delimiter)", separator=M(name)))
        raise limits.Refused(M("the first line is not a header with commas; expected {header}",
                                header=",".join(CSV_COLUMNS)))
    try:
        header = [norm_header(h).replace(" ", "_") for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise limits.Refused(M("the CSV header cannot be read ({error})", error=exc)) from None
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise limits.Refused(M("the CSV lacks the column(s) {missing}; the header must be {header}",
                               missing=", ".join(missing), header=",".join(CSV_COLUMNS)))
    return {name: header.index(name) for name in CSV_COLUMNS if name in header}


def _rows(reader: Iterator[list[str]], columns: dict[str, int],
          out: ProblemCollector) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, cells by column name) of each non-empty row, up to the row cap."""
    for line_no, cols in enumerate(reader, start=2):
        if line_no > limits.MAX_ROWS * 10:
            out.error(M("the CSV has more than {n} rows; a complete submission has about 300", n=limits.MAX_ROWS * 10))
            return
        if any(c.strip() for c in cols):
            get = {name: (cols[i].strip() if i < len(cols) else "") for name, i in columns.items()}
            get["input"] = get["input"].lower()
            yield line_no, get


def _profile_row(gathered: _Gathered, get: dict[str, str], where: str, out: ProblemCollector) -> None:
    spec = profile_keys().get(norm_header(get["input"]))
    if spec is None:
        out.error(M("unknown profile field {field}; use one of {fields}", field=show(get["input"]),
                    fields=", ".join(f.key for f in T.PROFILE_FIELDS)), cell=where)
    else:
        gathered.profile[spec.key] = profile_value(spec, get["value"], where, out)


def _figure_row(gathered: _Gathered, get: dict[str, str], line_no: int, out: ProblemCollector) -> None:
    """One figure: find the data point(s) it belongs to and the slot (numerator, denominator, final value)."""
    where, code_raw, inp = f"row {line_no}", get["kpi_code"], get["input"]
    lib = library()
    code = normalise_code(code_raw[:60])
    if code not in lib.by_code:
        out.error(M("unknown KPI code {code}: not one of the {n} U4SSC KPIs", code=show(code_raw), n=len(lib)),
                  cell=where)
        return
    points = catalogue_points()
    part = get.get("part", "").lower()
    targets = [(c, p) for (c, p) in points if c == code and (not part or p == part)]
    if not targets:
        out.error(M("{code} has no data point {part}", code=code, part=show(part)), cell=where, kpi=code)
        return
    dup = (code, part, inp)
    if dup in gathered.seen:
        out.error(M("{what} is given twice (also row {row}); keep one", what=f"{code} {part} {inp}",
                    row=gathered.seen[dup]), cell=where, kpi=code)
        return
    gathered.seen[dup] = line_no
    generic = inp in ("numerator", "denominator", *FINAL_VALUE_WORDS)
    slots = [(key, slot) for key in targets if (slot := _slot(points[key], inp))]
    if generic and len(targets) > 1 and slots:
        out.error(M("{code} has several data points; give 'part' (one of {parts}) for {input}", code=code,
                    parts=", ".join(q for _, q in targets), input=repr(inp)), cell=where, kpi=code)
        return
    for key, slot in slots:
        rec = gathered.per_point.setdefault(key, {"code": code, "part": key[1], "_row": line_no,
                                                  "_cells": {"row": where}})
        rec[slot] = get["value"]
        rec["_cells"][slot] = where
        for tk in T.TEXT_DATA_KEYS:
            if get.get(tk):
                rec[tk] = get[tk]
                rec["_cells"][tk] = where
    if not slots:
        _unknown_input(lib.by_code[code], inp, where, out)


def _slot(point: dict, inp: str) -> str | None:
    if inp in ("numerator", point["numerator"]):
        return "numerator_value"
    if point["denominator"] and inp in ("denominator", point["denominator"]):
        return "denominator_value"
    if inp in FINAL_VALUE_WORDS:
        return "final_value"
    return None


def _unknown_input(kpi: KPI, inp: str, where: str, out: ProblemCollector) -> None:
    names = sorted(kpi.inputs) + ["final_value"]
    out.error(M("{code} has no input {input}; use one of: {names}", code=kpi.code, input=show(inp),
                names=", ".join(names)), cell=where, kpi=kpi.code)


def _decode_csv(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise limits.Refused(M("the CSV is saved as UTF-16 ('Unicode text'); {advice}", advice=RESAVE_CSV))
    if b"\x00" in raw[:65536]:
        raise limits.Refused(M("the file contains binary data, not CSV text; export the sheet as 'CSV UTF-8 "
                               "(Comma delimited)'"))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise limits.Refused(M(
            "the CSV is not UTF-8 (byte 0x{byte} on line {line}, probably Windows-1252 or Latin-1); {advice} (in "
            "LibreOffice: character set 'Unicode (UTF-8)')", byte=f"{raw[exc.start]:02X}", line=line,
            advice=RESAVE_CSV)) from None
