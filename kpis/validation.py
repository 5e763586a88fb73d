"""Every problem of a submission, each with its cell and a fix, like a frictionless report (never just the first).

`validate(path)` never raises on bad content: a refused or unreadable file is itself a problem in the list.
`read_submission(path)` reads, checks and raises `SubmissionError` (with every problem) when a file cannot be used.
The checks of values are named steps (`check_submission`); formulas and number rules come from `kpis.rules`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import rules
from .intake import Submission, load
from .library import library
from .models import Input
from .problems import Problem, Severity, SubmissionError
from .template import PROFILE_FIELDS, SHEET_PROFILE, data_points

PLAUSIBLE_FIRST_YEAR = 1990
FINAL_TOLERANCE = 0.005  # relative gap between a typed final value and the computed one that is reported
PROFILE_TOLERANCE = 0.05  # population/households in KPI rows may differ from the profile by 5 % (VM p.31)
POPULATION_INPUTS = ("population", "city_population", "inhabitants_total")
HOUSEHOLD_INPUTS = ("households_total",)


def read_submission(path: str | Path) -> Submission:
    """Read and check one file; raise SubmissionError listing every error when it cannot be used."""
    path = Path(path)
    sub, problems = load(path)
    if sub is not None:
        problems += check_submission(sub, problems)
    if sub is None or any(p.severity == "error" for p in problems):
        raise SubmissionError(str(path), problems)
    sub.problems = problems
    return sub


def validate(path: str | Path) -> list[Problem]:
    """Every problem of one file (errors first, then warnings, each in file order)."""
    path = Path(path)
    try:
        sub, problems = load(path)
        if sub is not None:
            problems += check_submission(sub, problems)
    except Exception as exc:  # noqa: BLE001 - the promise is a list, even for a file nobody foresaw
        problems = [Problem("error", str(path), "", "", "",
                            f"the file could not be checked ({type(exc).__name__}: {str(exc)[:200]}); "
                            "copy your figures into a fresh `ssc template` and try again")]
    return sorted(problems, key=lambda p: p.severity != "error")


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}".replace(",", " ")
    return f"{x:.6g}"


# ---------------------------------------------------------------- the checks, one step per kind of problem

Add = Callable[[Severity, str, str, str, str], None]


@dataclass
class _Checks:
    """What the row checks share: where to report, and what earlier rows established."""

    sub: Submission
    add: Add
    values: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))  # code -> part -> value
    shared: dict[tuple[str, str], dict[float, str]] = field(default_factory=lambda: defaultdict(dict))


def check_submission(sub: Submission, earlier: Iterable[Problem] = ()) -> list[Problem]:
    """Value checks on a read submission: profile, input ranges, formulas, final values, composites.

    `earlier` are the problems found while reading: a cell that already has an error there (a negative population,
    a word in a number cell) gets no second problem here, such as "the population is empty".
    """
    out: list[Problem] = []
    file = str(sub.path)
    explained = {p.cell for p in earlier if p.severity == "error" and p.cell}

    def add(severity: Severity, code: str, part: str, key: str, message: str) -> None:
        cell = sub.cell(code, part, key) if code else key
        if cell in explained:
            return
        sheet = cell.split("!")[0] if "!" in cell else ""
        out.append(Problem(severity, file, sheet, cell, code, message))

    checks = _Checks(sub, add)
    _check_profile(sub, add)
    specs = {(p["code"], p["part"]): p for p in data_points()}
    for rec in sub.data.itertuples(index=False):
        spec = specs.get((rec.code, rec.part))
        if spec is not None:
            _check_row(checks, spec, rec)
    _check_shared_inputs(checks, file, out)
    _check_composites(checks)
    return out


def _check_row(checks: _Checks, spec: dict, rec) -> None:
    """One data point: its inputs, the value they give, the typed final value, and its data quality."""
    code, part = rec.code, rec.part
    inputs_ok = _check_inputs(checks, spec, rec)
    computed, formula_ok = _check_formula(checks, spec, rec, inputs_ok)
    final_ok = _check_final_value(checks, spec, rec, computed)
    final = rec.final_value
    usable_final = not math.isnan(final) and inputs_ok and formula_ok and final_ok
    value = computed if not math.isnan(computed) else (final if usable_final else math.nan)
    if not math.isnan(value):
        checks.values[code][part] = value
        if not rec.data_quality:
            checks.add("warning", code, part, "data_quality",
                       f"{_label(code, part)} is reported without a data-quality level; choose one of the six levels "
                       "from the list")
        if not rec.source_name:
            checks.add("warning", code, part, "source_name",
                       f"{_label(code, part)} is reported without a source; name the publication, register or "
                       "department it comes from (Instructions, step 4)")


def _label(code: str, part: str) -> str:
    return f"{code}{' ' + part if part else ''}"


def _check_inputs(checks: _Checks, spec: dict, rec) -> bool:
    """Each input against its allowed range, whole counts, and the population/households of the profile."""
    code, part, prof = rec.code, rec.part, checks.sub.profile
    ok = True
    for which, value in (("numerator", rec.numerator_value), ("denominator", rec.denominator_value)):
        ispec: Input | None = spec[f"{which}_spec"]
        if math.isnan(value) or ispec is None:
            continue
        name, key = spec[which], f"{which}_value"
        checks.shared[(code, name)].setdefault(value, checks.sub.cell(code, part, key))
        if ispec.min is not None and value < ispec.min:
            ok = False
            what = "a count or amount, so it cannot be negative" if ispec.min == 0 else f"at least {ispec.min:g}"
            checks.add("error", code, part, key, f"{ispec.label} is {_fmt(value)}, but it is {what}; correct the figure")
        elif ispec.max is not None and value > ispec.max:
            ok = False
            checks.add("error", code, part, key,
                       f"{ispec.label} is {_fmt(value)}, above the largest possible {ispec.max:g}; correct the figure")
        elif ispec.integer and value != int(value):
            checks.add("warning", code, part, key,
                       f"{ispec.label} is {_fmt(value)}, but it counts whole {ispec.unit}; check the figure")
        for names, total, what in ((POPULATION_INPUTS, prof.population, "population"),
                                   (HOUSEHOLD_INPUTS, prof.households, "households")):
            if name in names and total and abs(value / total - 1) > PROFILE_TOLERANCE:
                checks.add("warning", code, part, key,
                           f"{ispec.label} ({_fmt(value)}) differs by more than {PROFILE_TOLERANCE:.0%} from the "
                           f"{what} in the Profile ({_fmt(total)}); use the same figure everywhere"
                           + (" or explain it in the comment" if what == "population" else ""))
    return ok


def _check_formula(checks: _Checks, spec: dict, rec, inputs_ok: bool) -> tuple[float, bool]:
    """The value the inputs give (`rules.evaluate`), with its fault explained in this KPI's words."""
    code, part = rec.code, rec.part
    num, den, final = rec.numerator_value, rec.denominator_value, rec.final_value
    kind = spec["kind"]
    formula = spec["formula"]
    if math.isnan(num) and math.isnan(den):
        return math.nan, True
    if kind == "ratio" and (math.isnan(num) or math.isnan(den)):
        if math.isnan(final):
            given, absent = ("numerator", "denominator") if not math.isnan(num) else ("denominator", "numerator")
            checks.add("warning", code, part, f"{absent}_value",
                       f"{_label(code, part)}: the {given} is given but the {absent} is empty, so the KPI counts as "
                       f"not reported; fill in the {absent} (or the final value)")
        return math.nan, True
    if math.isnan(num):
        return math.nan, True
    value, fault = rules.evaluate_one(kind, num, den, formula.multiplier, spec["n_criteria"] or math.nan,
                                      formula.numerator_le_denominator)
    nspec, dspec = spec["numerator_spec"], spec["denominator_spec"]
    if fault == "criteria":
        checks.add("error", code, part, "numerator_value",
                   f"criteria met must be a whole number from 0 to {spec['n_criteria']}, found {_fmt(num)}")
        return math.nan, False
    if fault == "zero_denominator":
        checks.add("error", code, part, "denominator_value",
                   f"{dspec.label} is 0, so the KPI cannot be computed; enter the real total or leave the row empty")
        return math.nan, False
    if not inputs_ok:
        return math.nan, True  # the range errors above already explain it
    if fault == "numerator_above_denominator":
        checks.add("error", code, part, "numerator_value",
                   f"{nspec.label} ({_fmt(num)}) is larger than {dspec.label} ({_fmt(den)}), which cannot happen for "
                   "this KPI; check that both figures cover the same area and year")
        return math.nan, False
    if fault == "not_finite":
        checks.add("error", code, part, "numerator_value",
                   "the inputs give a result too large to be a number; check the numerator and denominator")
        return math.nan, False
    if fault:
        return math.nan, True
    lo, hi = spec["value_range"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        checks.add("error", code, part, "numerator_value",
                   f"the inputs give {value:.4g} {spec['unit']}, outside the possible range {_range(lo, hi)}; check "
                   "the numerator and denominator and their units")
    return value, True


def _check_final_value(checks: _Checks, spec: dict, rec, computed: float) -> bool:
    """A typed final value: inside the possible range, and close to the computed one when both exist."""
    final = rec.final_value
    if math.isnan(final):
        return True
    lo, hi = spec["value_range"]
    unit = spec["unit"]
    if (lo is not None and final < lo) or (hi is not None and final > hi):
        checks.add("error", rec.code, rec.part, "final_value",
                   f"the final value {_fmt(final)} {unit} is outside the possible range {_range(lo, hi)}"
                   + ("; percentages go from 0 to 100" if unit.startswith("%") and hi == 100 else ""))
        return False
    if not math.isnan(computed) and abs(final - computed) > max(FINAL_TOLERANCE * abs(computed), 0.01):
        checks.add("warning", rec.code, rec.part, "final_value",
                   f"the final value {_fmt(final)} disagrees with {computed:.4g} computed from the inputs; the "
                   "computed value is used. Correct the inputs or clear the final value")
    return True


def _check_shared_inputs(checks: _Checks, file: str, out: list[Problem]) -> None:
    """An input shared by the rows of one KPI (e.g. its population) must be the same figure in each."""
    for (code, name), seen in checks.shared.items():
        if len(seen) > 1:
            cells = ", ".join(f"{_fmt(v)} in {c}" for v, c in seen.items())
            first_cell = next(iter(seen.values()))
            out.append(Problem("warning", file, first_cell.split("!")[0] if "!" in first_cell else "", first_cell,
                               code, f"{name} should be the same figure in every row of {code}, found {cells}"))


def _check_composites(checks: _Checks) -> None:
    """Composite KPIs: shares that must add up (`rules.parts_sum_gap`), levels that must descend."""
    lib = library()
    for code, parts in checks.values.items():
        kpi = lib.by_code[code]
        rule = kpi.formula
        if rule.kind != "composite":
            continue
        names = [p.name for p in kpi.parts]
        if rule.parts_sum is not None and all(n in parts for n in names):
            total = sum(parts[n] for n in names)
            if rules.parts_sum_gap(total, rule.parts_sum):
                checks.add("error", code, names[0], "row",
                           f"the shares of {code} add up to {total:.1f} %, not {rule.parts_sum:g} % (± "
                           f"{rules.PARTS_SUM_TOLERANCE:g}); check that every {', '.join(names)} figure uses the "
                           "same total")
        if rule.parts_order == "descending":
            present = [(n, parts[n]) for n in names if n in parts]
            for a, va, b, vb in rules.parts_order_breaks(present):
                checks.add("error", code, b, "row",
                           f"{b} ({vb:.4g}) cannot exceed {a} ({va:.4g}): what gets {b} treatment has had {a} "
                           "treatment too; check both figures")


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}"
    return f"at least {lo:g}" if lo is not None else f"at most {hi:g}"


def _check_profile(sub: Submission, add: Add) -> None:
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
