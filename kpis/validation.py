"""Every problem of a submission, each with its cell and a fix, like a frictionless report (never just the first).

`validate(path)` never raises on bad content: a refused or unreadable file is itself a problem in the list.
`ssc validate` prints the list, exits 1 when any error is found, and can write an HTML report and an annotated
copy of each workbook (never over the original).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    from .intake import Submission

Severity = Literal["error", "warning"]

PLAUSIBLE_FIRST_YEAR = 1990
FINAL_TOLERANCE = 0.005  # relative gap between a typed final value and the computed one that is reported
PROFILE_TOLERANCE = 0.05  # population/households in KPI rows may differ from the profile by 5 % (VM p.31)
POPULATION_INPUTS = ("population", "city_population", "inhabitants_total")
HOUSEHOLD_INPUTS = ("households_total",)


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (file, sheet, cell such as 'Data!F23'), which KPI, and what to do about it."""

    severity: Severity
    file: str
    sheet: str
    cell: str
    kpi_code: str
    message: str

    def __str__(self) -> str:
        where = self.cell or self.sheet
        loc = f"{self.file} {where}".strip()
        kpi = f" [{self.kpi_code}]" if self.kpi_code else ""
        return f"{self.severity.upper()}: {loc}{kpi}: {self.message}"


def validate(path: str | Path) -> list[Problem]:
    """Every problem of one file (errors first, then warnings, each in file order)."""
    from .intake import load

    path = Path(path)
    try:
        sub, problems = load(path)
        if sub is not None:
            problems += check_submission(sub)
    except Exception as exc:  # noqa: BLE001 - the promise is a list, even for a file nobody foresaw
        problems = [Problem("error", str(path), "", "", "",
                            f"the file could not be checked ({type(exc).__name__}: {str(exc)[:200]}); "
                            "copy your figures into a fresh `ssc template` and try again")]
    return sorted(problems, key=lambda p: p.severity != "error")


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}".replace(",", " ")
    return f"{x:.6g}"


def check_submission(sub: Submission) -> list[Problem]:
    """Value checks on a read submission: ranges, ratios, composites, final values, profile plausibility."""
    from .catalogue import library
    from .compute import PARTS_SUM_TOLERANCE
    from .template import data_points

    out: list[Problem] = []
    file = str(sub.path)

    def add(severity: Severity, code: str, part: str, key: str, message: str) -> None:
        cell = sub.cell(code, part, key) if code else key
        sheet = cell.split("!")[0] if "!" in cell else ""
        out.append(Problem(severity, file, sheet, cell, code, message))

    _check_profile(sub, add)
    lib = library()
    specs = {(p["code"], p["part"]): p for p in data_points()}
    values: dict[str, dict[str, float]] = defaultdict(dict)
    shared: dict[tuple[str, str], dict[float, str]] = defaultdict(dict)
    prof = sub.profile
    for rec in sub.data.itertuples(index=False):
        code, part = rec.code, rec.part
        spec = specs.get((code, part))
        if spec is None:
            continue
        label = f"{code}{' ' + part if part else ''}"
        num, den, final = rec.numerator_value, rec.denominator_value, rec.final_value
        has_num, has_den, has_final = not math.isnan(num), not math.isnan(den), not math.isnan(final)
        ok = True
        for which, value, present in (("numerator", num, has_num), ("denominator", den, has_den)):
            ispec = spec[f"{which}_spec"]
            if not present or ispec is None:
                continue
            name = spec[which]
            shared[(code, name)].setdefault(value, sub.cell(code, part, f"{which}_value"))
            if ispec.min is not None and value < ispec.min:
                ok = False
                what = "a count or amount, so it cannot be negative" if ispec.min == 0 else f"at least {ispec.min:g}"
                add("error", code, part, f"{which}_value",
                    f"{ispec.label} is {_fmt(value)}, but it is {what}; correct the figure")
            elif ispec.max is not None and value > ispec.max:
                ok = False
                add("error", code, part, f"{which}_value",
                    f"{ispec.label} is {_fmt(value)}, above the largest possible {ispec.max:g}; correct the figure")
            elif ispec.integer and value != int(value):
                add("warning", code, part, f"{which}_value",
                    f"{ispec.label} is {_fmt(value)}, but it counts whole {ispec.unit}; check the figure")
            if name in POPULATION_INPUTS and prof.population and abs(value / prof.population - 1) > PROFILE_TOLERANCE:
                add("warning", code, part, f"{which}_value",
                    f"{ispec.label} ({_fmt(value)}) differs by more than {PROFILE_TOLERANCE:.0%} from the population "
                    f"in the Profile ({_fmt(prof.population)}); use the same figure everywhere or explain it in "
                    "the comment")
            if name in HOUSEHOLD_INPUTS and prof.households and abs(value / prof.households - 1) > PROFILE_TOLERANCE:
                add("warning", code, part, f"{which}_value",
                    f"{ispec.label} ({_fmt(value)}) differs by more than {PROFILE_TOLERANCE:.0%} from the households "
                    f"in the Profile ({_fmt(prof.households)}); use the same figure everywhere")
        computed = math.nan
        kind = spec["kind"]
        if kind == "yes_no" and has_num:
            n = spec["n_criteria"]
            if num != int(num) or num > n:
                ok = False
                add("error", code, part, "numerator_value",
                    f"criteria met must be a whole number from 0 to {n}, found {_fmt(num)}")
            elif ok:
                computed = 100.0 * num / n
        elif kind == "value" and has_num and ok:
            computed = num
        elif kind == "ratio":
            if has_num and has_den:
                nspec, dspec = spec["numerator_spec"], spec["denominator_spec"]
                if den == 0:
                    ok = False
                    add("error", code, part, "denominator_value",
                        f"{dspec.label} is 0, so the KPI cannot be computed; enter the real total or leave the row "
                        "empty")
                elif ok:
                    formula = _formula(spec)
                    if formula.numerator_le_denominator and num > den:
                        ok = False
                        add("error", code, part, "numerator_value",
                            f"{nspec.label} ({_fmt(num)}) is larger than {dspec.label} ({_fmt(den)}), which cannot "
                            "happen for this KPI; check that both figures cover the same area and year")
                    else:
                        computed = num / den * formula.multiplier
            elif (has_num or has_den) and not has_final:
                given, absent = ("numerator", "denominator") if has_num else ("denominator", "numerator")
                add("warning", code, part, f"{absent}_value",
                    f"{label}: the {given} is given but the {absent} is empty, so the KPI counts as not reported; "
                    f"fill in the {absent} (or the final value)")
        lo, hi = spec["value_range"]
        unit = spec["unit"]
        if not math.isnan(computed):
            if (lo is not None and computed < lo) or (hi is not None and computed > hi):
                add("error", code, part, "numerator_value",
                    f"the inputs give {computed:.4g} {unit}, outside the possible range {_range(lo, hi)}; check the "
                    "numerator and denominator and their units")
        if has_final:
            if (lo is not None and final < lo) or (hi is not None and final > hi):
                ok = False
                add("error", code, part, "final_value",
                    f"the final value {_fmt(final)} {unit} is outside the possible range {_range(lo, hi)}"
                    + ("; percentages go from 0 to 100" if unit.startswith("%") and hi == 100 else ""))
            elif not math.isnan(computed):
                gap = abs(final - computed)
                if gap > max(FINAL_TOLERANCE * abs(computed), 0.01):
                    add("warning", code, part, "final_value",
                        f"the final value {_fmt(final)} disagrees with {computed:.4g} computed from the inputs; "
                        "the computed value is used. Correct the inputs or clear the final value")
        value = computed if not math.isnan(computed) else (final if has_final and ok else math.nan)
        if not math.isnan(value):
            values[code][part] = value
            if not rec.data_quality:
                add("warning", code, part, "data_quality",
                    f"{label} is reported without a data-quality level; choose one of the six levels from the list")
    for (code, name), seen in shared.items():
        if len(seen) > 1:
            cells = ", ".join(f"{_fmt(v)} in {c}" for v, c in seen.items())
            first_cell = next(iter(seen.values()))
            out.append(Problem("warning", file, first_cell.split("!")[0] if "!" in first_cell else "", first_cell,
                               code, f"{name} should be the same figure in every row of {code}, found {cells}"))
    for code, parts in values.items():
        kpi = lib.by_code[code]
        if not kpi.is_composite:
            continue
        rule = kpi.formula
        names = [p.name for p in kpi.parts]
        if getattr(rule, "parts_sum", None) is not None and all(n in parts for n in names):
            total = sum(parts[n] for n in names)
            if abs(total - rule.parts_sum) > PARTS_SUM_TOLERANCE:
                add("error", code, names[0], "row",
                    f"the shares of {code} add up to {total:.1f} %, not {rule.parts_sum:g} % (± "
                    f"{PARTS_SUM_TOLERANCE:g}); check that every {', '.join(names)} figure uses the same total")
        if getattr(rule, "parts_order", None) == "descending":
            present = [n for n in names if n in parts]
            for a, b in zip(present, present[1:], strict=False):
                if parts[b] > parts[a] + 1e-9:
                    add("error", code, b, "row",
                        f"{b} ({parts[b]:.4g}) cannot exceed {a} ({parts[a]:.4g}): what gets {b} treatment has had "
                        f"{a} treatment too; check both figures")
    return out


def _formula(spec: dict):
    kpi = spec["kpi"]
    if spec["part"]:
        return next(p.formula for p in kpi.parts if p.name == spec["part"])
    return kpi.formula


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}"
    return f"at least {lo:g}" if lo is not None else f"at most {hi:g}"


def _check_profile(sub: Submission, add) -> None:
    from .template import PROFILE_FIELDS, SHEET_PROFILE

    where = ""
    hint = " (in a CSV: a row such as 'profile,,{key},...')" if sub.kind == "csv" else ""
    rows = {f.key: f"{SHEET_PROFILE}!B{i}" for i, f in enumerate(PROFILE_FIELDS, start=2)} if sub.kind == "xlsx" \
        else {}
    prof = sub.profile
    this_year = dt.date.today().year
    if not prof.city:
        add("error", "", "", rows.get("city", where),
            "the city name is empty; fill in the City field of the profile" + hint.format(key="city"))
    if prof.year is None:
        add("error", "", "", rows.get("year", where),
            "the year of data is empty; fill in the calendar year the figures refer to" + hint.format(key="year"))
    elif not PLAUSIBLE_FIRST_YEAR <= prof.year <= this_year + 1:
        add("error", "", "", rows.get("year", where),
            f"the year of data {prof.year} is implausible (expected {PLAUSIBLE_FIRST_YEAR} to {this_year + 1}); "
            "type the calendar year the figures refer to")
    if prof.population is None:
        add("warning", "", "", rows.get("population", where),
            "the population is empty; it is needed to check the per-inhabitant figures"
            + hint.format(key="population"))


# ---------------------------------------------------------------- command line


def cli_validate(args) -> int:
    """`ssc validate FILE… [--html OUT.html] [--annotate DIR]`: exit 0 without errors, 1 otherwise."""
    results: list[tuple[Path, list[Problem]]] = []
    for path in args.files:
        problems = validate(path)
        results.append((Path(path), problems))
        n_err = sum(p.severity == "error" for p in problems)
        n_warn = len(problems) - n_err
        status = "OK" if not n_err else "NOT USABLE"
        print(f"{path}: {status} - {n_err} error(s), {n_warn} warning(s)")
        for p in problems:
            print(f"  {p}")
    if getattr(args, "html", None):
        _write_atomic(Path(args.html), report_html(results).encode("utf-8"), [p for p, _ in results])
        print(f"HTML report written to {args.html}")
    if getattr(args, "annotate", None):
        used: set[str] = set()
        for path, problems in results:
            name = path.stem
            n = 2
            while name in used:  # two inputs called 'city.xlsx' from different folders keep both copies
                name, n = f"{path.stem}-{n}", n + 1
            used.add(name)
            print(annotate(path, problems, Path(args.annotate), name=name))
    return 1 if any(p.severity == "error" for _, ps in results for p in ps) else 0


def report_html(results: list[tuple[Path, list[Problem]]]) -> str:
    """A self-contained page; every string from a submission is escaped."""
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Submission check</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        ".error{background:#f8d7da}.warning{background:#fff3cd}.ok{color:#155724}</style></head><body>",
        "<h1>Submission check</h1>",
    ]
    for path, problems in results:
        n_err = sum(p.severity == "error" for p in problems)
        parts.append(f"<h2>{e(str(path))}</h2>")
        verdict = "usable" if not n_err else "not usable until the errors are fixed"
        parts.append(f"<p class='{'ok' if not n_err else 'error'}'>{n_err} error(s), "
                     f"{len(problems) - n_err} warning(s): {verdict}.</p>")
        if problems:
            parts.append("<table><tr><th>Severity</th><th>Cell</th><th>KPI</th><th>What to do</th></tr>")
            for p in problems:
                parts.append(f"<tr class='{e(p.severity)}'><td>{e(p.severity)}</td><td>{e(p.cell or p.sheet)}</td>"
                             f"<td>{e(p.kpi_code)}</td><td>{e(p.message)}</td></tr>")
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _write_atomic(out: Path, data: bytes, inputs: list[Path]) -> None:
    from .errors import UserError
    from .paths import atomic_write

    for src in inputs:
        if out.exists() and src.exists() and out.resolve() == src.resolve():
            raise UserError(f"{out} is one of the files being checked; choose another output name")
    atomic_write(out, data)


_CELL = re.compile(r"^(?P<sheet>[^!]+)!(?P<ref>[A-Z]{1,3}[0-9]{1,7})$")
ANNOTATE_MAX_BYTES = 5 * 1024 * 1024


def annotate(path: Path, problems: list[Problem], out_dir: Path, name: str | None = None) -> str:
    """Write '<name>.checked.xlsx' into out_dir with problem cells highlighted and explained; the original is
    only read. Returns a line for the user."""
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    from . import limits

    try:
        if limits.check_file(path) != "xlsx":
            return f"{path}: no annotated copy (only workbooks can be annotated; CSV problems are listed by row)"
    except limits.Refused as exc:
        return f"{path}: no annotated copy ({exc})"
    if path.stat().st_size > ANNOTATE_MAX_BYTES:
        return f"{path}: no annotated copy (file above {ANNOTATE_MAX_BYTES // 2**20} MB)"
    out = out_dir / f"{name or path.stem}.checked.xlsx"
    if out.exists() and out.resolve() == path.resolve():
        return f"{path}: no annotated copy (the output would overwrite the original)"
    try:
        wb = load_workbook(path, read_only=False, data_only=False, keep_links=False, keep_vba=False)
    except Exception as exc:  # noqa: BLE001 - the problem list already explains the file
        return f"{path}: no annotated copy (the workbook cannot be opened: {type(exc).__name__})"
    fills = {"error": PatternFill("solid", fgColor="F4B6B6"), "warning": PatternFill("solid", fgColor="FFE699")}
    notes: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in problems:
        m = _CELL.match(p.cell or "")
        if m and m["sheet"] in wb.sheetnames:
            notes[(m["sheet"], m["ref"])].append(p)
        elif p.sheet in wb.sheetnames:
            notes[(p.sheet, "A1")].append(p)
        else:
            notes[(wb.sheetnames[0], "A1")].append(p)
    for (sheet, ref), ps in notes.items():
        cell = wb[sheet][ref]
        worst = "error" if any(p.severity == "error" for p in ps) else "warning"
        cell.fill = fills[worst]
        text = "\n".join(f"{p.severity.upper()}: {p.message}" for p in ps)[:2000]
        cell.comment = Comment(text, "ssc validate", width=320, height=160)
    from .paths import atomic_write

    buf = io.BytesIO()
    try:
        wb.save(buf)
    finally:
        wb.close()
    atomic_write(out, buf.getvalue())
    return f"{path}: annotated copy written to {out}"
