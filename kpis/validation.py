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
from .i18n import N_, KpiText, M, Message, unit_words
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
    return checked(path)[0]


def checked(path: str | Path) -> tuple[list[Problem], Submission | None]:
    """`validate` and the submission read (None when unreadable), e.g. for the language its Profile names."""
    path = Path(path)
    sub = None
    try:
        sub, problems = load(path)
        if sub is not None:
            problems += check_submission(sub, problems)
    except Exception as exc:  # noqa: BLE001 - the promise is a list, even for a file nobody foresaw
        problems = [Problem.of("error", str(path), "", "", "",
                               M("the file could not be checked ({error}); copy your figures into a fresh `ssc "
                                 "template` and try again", error=f"{type(exc).__name__}: {str(exc)[:200]}"))]
    return sorted(problems, key=lambda p: p.severity != "error"), sub


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}".replace(",", " ")
    return f"{x:.6g}"


# ---------------------------------------------------------------- the checks, one step per kind of problem

Add = Callable[[Severity, str, str, str, Message], None]


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

    def add(severity: Severity, code: str, part: str, key: str, message: Message) -> None:
        cell = sub.cell(code, part, key) if code else key
        if cell in explained:
            return
        sheet = cell.split("!")[0] if "!" in cell else ""
        out.append(Problem.of(severity, file, sheet, cell, code, message))

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
                       M("{point} is reported without a data-quality level; choose one of the six levels from the "
                         "list", point=_label(code, part)))
        if not rec.source_name:
            checks.add("warning", code, part, "source_name",
                       M("{point} is reported without a source; name the publication, register or department it "
                         "comes from (Instructions, step 4)", point=_label(code, part)))


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
        label = KpiText(code, "inputs", name, ispec.label)
        checks.shared[(code, name)].setdefault(value, checks.sub.cell(code, part, key))
        if ispec.min is not None and value < ispec.min:
            ok = False
            limit = (M("a count or amount, so it cannot be negative") if ispec.min == 0
                     else M("at least {min}", min=f"{ispec.min:g}"))
            checks.add("error", code, part, key, M("{label} is {value}, but it is {what}; correct the figure",
                                                   label=label, value=_fmt(value), what=limit))
        elif ispec.max is not None and value > ispec.max:
            ok = False
            checks.add("error", code, part, key,
                       M("{label} is {value}, above the largest possible {max}; correct the figure", label=label,
                         value=_fmt(value), max=f"{ispec.max:g}"))
        elif ispec.integer and value != int(value):
            checks.add("warning", code, part, key,
                       M("{label} is {value}, but it counts whole {unit}; check the figure", label=label,
                         value=_fmt(value), unit=_Unit(ispec.unit)))
        for names, total, what in ((POPULATION_INPUTS, prof.population, "population"),
                                   (HOUSEHOLD_INPUTS, prof.households, "households")):
            if name in names and total and abs(value / total - 1) > PROFILE_TOLERANCE:
                text = (N_("{label} ({value}) differs by more than {share} from the population in the Profile "
                           "({total}); use the same figure everywhere or explain it in the comment")
                        if what == "population" else
                        N_("{label} ({value}) differs by more than {share} from the households in the Profile "
                           "({total}); use the same figure everywhere"))
                checks.add("warning", code, part, key, M(text, label=label, value=_fmt(value),
                                                         share=f"{PROFILE_TOLERANCE:.0%}", total=_fmt(total)))
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
            text = (N_("{point}: the numerator is given but the denominator is empty, so the KPI counts as not "
                       "reported; fill in the denominator (or the final value)") if given == "numerator" else
                    N_("{point}: the denominator is given but the numerator is empty, so the KPI counts as not "
                       "reported; fill in the numerator (or the final value)"))
            checks.add("warning", code, part, f"{absent}_value", M(text, point=_label(code, part)))
        return math.nan, True
    if math.isnan(num):
        return math.nan, True
    value, fault = rules.evaluate_one(kind, num, den, formula.multiplier, spec["n_criteria"] or math.nan,
                                      formula.numerator_le_denominator)
    nspec, dspec = spec["numerator_spec"], spec["denominator_spec"]
    nlabel = KpiText(code, "inputs", spec["numerator"], nspec.label)
    dlabel = KpiText(code, "inputs", spec["denominator"], dspec.label) if dspec else ""
    if fault == "criteria":
        checks.add("error", code, part, "numerator_value",
                   M("criteria met must be a whole number from 0 to {n}, found {value}", n=spec["n_criteria"],
                     value=_fmt(num)))
        return math.nan, False
    if fault == "zero_denominator":
        checks.add("error", code, part, "denominator_value",
                   M("{label} is 0, so the KPI cannot be computed; enter the real total or leave the row empty",
                     label=dlabel))
        return math.nan, False
    if not inputs_ok:
        return math.nan, True  # the range errors above already explain it
    if fault == "numerator_above_denominator":
        checks.add("error", code, part, "numerator_value",
                   M("{num_label} ({num}) is larger than {den_label} ({den}), which cannot happen for this KPI; check "
                     "that both figures cover the same area and year", num_label=nlabel, num=_fmt(num),
                     den_label=dlabel, den=_fmt(den)))
        return math.nan, False
    if fault == "not_finite":
        checks.add("error", code, part, "numerator_value",
                   M("the inputs give a result too large to be a number; check the numerator and denominator"))
        return math.nan, False
    if fault:
        return math.nan, True
    lo, hi = spec["value_range"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        checks.add("error", code, part, "numerator_value",
                   M("the inputs give {value} {unit}, outside the possible range {range}; check the numerator and "
                     "denominator and their units", value=f"{value:.4g}", unit=_Unit(spec["unit"]),
                     range=_range(lo, hi)))
    return value, True


def _check_final_value(checks: _Checks, spec: dict, rec, computed: float) -> bool:
    """A typed final value: inside the possible range, and close to the computed one when both exist."""
    final = rec.final_value
    if math.isnan(final):
        return True
    lo, hi = spec["value_range"]
    unit = spec["unit"]
    if (lo is not None and final < lo) or (hi is not None and final > hi):
        text = (N_("the final value {value} {unit} is outside the possible range {range}; percentages go from 0 to "
                   "100") if unit.startswith("%") and hi == 100 else
                N_("the final value {value} {unit} is outside the possible range {range}"))
        checks.add("error", rec.code, rec.part, "final_value",
                   M(text, value=_fmt(final), unit=_Unit(unit), range=_range(lo, hi)))
        return False
    if not math.isnan(computed) and abs(final - computed) > max(FINAL_TOLERANCE * abs(computed), 0.01):
        checks.add("warning", rec.code, rec.part, "final_value",
                   M("the final value {value} disagrees with {computed} computed from the inputs; the computed value "
                     "is used. Correct the inputs or clear the final value", value=_fmt(final),
                     computed=f"{computed:.4g}"))
    return True


def _check_shared_inputs(checks: _Checks, file: str, out: list[Problem]) -> None:
    """An input shared by the rows of one KPI (e.g. its population) must be the same figure in each."""
    for (code, name), seen in checks.shared.items():
        if len(seen) > 1:
            cells = ", ".join(f"{_fmt(v)} ({c})" for v, c in seen.items())
            first_cell = next(iter(seen.values()))
            out.append(Problem.of("warning", file, first_cell.split("!")[0] if "!" in first_cell else "", first_cell,
                                  code, M("{name} should be the same figure in every row of {code}, found {cells}",
                                          name=name, code=code, cells=cells)))


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
                           M("the shares of {code} add up to {total} %, not {expected} % (± {tolerance}); check that "
                             "every {parts} figure uses the same total", code=code, total=f"{total:.1f}",
                             expected=f"{rule.parts_sum:g}", tolerance=f"{rules.PARTS_SUM_TOLERANCE:g}",
                             parts=", ".join(names)))
        if rule.parts_order == "descending":
            present = [(n, parts[n]) for n in names if n in parts]
            for a, va, b, vb in rules.parts_order_breaks(present):
                checks.add("error", code, b, "row",
                           M("{b} ({vb}) cannot exceed {a} ({va}): what gets {b} treatment has had {a} treatment too; "
                             "check both figures", a=a, b=b, va=f"{va:.4g}", vb=f"{vb:.4g}"))


def _range(lo: float | None, hi: float | None) -> Message:
    if lo is not None and hi is not None:
        return M("{lo} to {hi}", lo=f"{lo:g}", hi=f"{hi:g}")
    return M("at least {lo}", lo=f"{lo:g}") if lo is not None else M("at most {hi}", hi=f"{hi:g}")


@dataclass(frozen=True)
class _Unit:
    """A catalogue unit shown in the language of the message."""

    unit: str

    def localise(self, lang: str) -> str:
        return unit_words(self.unit, lang)


def _check_profile(sub: Submission, add: Add) -> None:
    where = ""

    def hint(key: str) -> Message | str:
        return M(" (in a CSV: a row such as 'profile,,{key},...')", key=key) if sub.kind == "csv" else ""

    rows = {f.key: f"{SHEET_PROFILE}!B{i}" for i, f in enumerate(PROFILE_FIELDS, start=2)} if sub.kind == "xlsx" \
        else {}
    prof = sub.profile
    this_year = dt.date.today().year
    if not prof.city:
        add("error", "", "", rows.get("city", where),
            M("the city name is empty; fill in the City field of the profile{hint}", hint=hint("city")))
    if prof.year is None:
        add("error", "", "", rows.get("year", where),
            M("the year of data is empty; fill in the calendar year the figures refer to{hint}", hint=hint("year")))
    elif not PLAUSIBLE_FIRST_YEAR <= prof.year <= this_year + 1:
        add("error", "", "", rows.get("year", where),
            M("the year of data {year} is implausible (expected {first} to {last}); type the calendar year the "
              "figures refer to", year=prof.year, first=PLAUSIBLE_FIRST_YEAR, last=this_year + 1))
    if prof.population is None:
        add("warning", "", "", rows.get("population", where),
            M("the population is empty; it is needed to check the per-inhabitant figures{hint}",
              hint=hint("population")))
