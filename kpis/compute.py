"""KPI values from raw inputs: one rule per formula kind, for a single KPI or a whole table at once."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from .catalogue import library
from .errors import UserError
from .models import Formula


class ComputationError(UserError, ValueError):
    """Inputs that cannot give a KPI value (zero denominator, negative count, numerator above denominator...)."""


PARTS_SUM_TOLERANCE = 2.0  # composite shares may miss 100 % by rounding, by up to this many points


def _check_number(name: str, value: float, spec, code: str) -> None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ComputationError(f"{code}: input {name} is missing")
    if spec.min is not None and value < spec.min:
        raise ComputationError(f"{code}: {spec.label} is {value:g}, below the smallest allowed {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise ComputationError(f"{code}: {spec.label} is {value:g}, above the largest allowed {spec.max:g}")


def evaluate(formula: Formula, inputs: dict[str, float], code: str, specs) -> float:
    """Apply one data point's formula to checked inputs."""
    num = inputs.get(formula.numerator)
    _check_number(formula.numerator, num, specs[formula.numerator], code)
    if formula.kind == "value":
        return float(num)
    if formula.kind == "yes_no":
        n = len(formula.criteria)
        if num > n or num != int(num):
            raise ComputationError(f"{code}: criteria met must be a whole number from 0 to {n}, got {num:g}")
        return 100.0 * num / n
    den = inputs.get(formula.denominator)
    _check_number(formula.denominator, den, specs[formula.denominator], code)
    if den == 0:
        raise ComputationError(f"{code}: {specs[formula.denominator].label} is 0, so the ratio cannot be computed")
    if formula.numerator_le_denominator and num > den:
        raise ComputationError(
            f"{code}: {specs[formula.numerator].label} ({num:g}) is larger than "
            f"{specs[formula.denominator].label} ({den:g}), which cannot happen for this KPI"
        )
    return num / den * formula.multiplier


def inputs_for(code: str, numerator: float, denominator: float | None = None) -> dict[str, float]:
    """Named inputs of a simple KPI from its numerator (and denominator), without knowing the input names."""
    f = library().get(code).formula
    if not hasattr(f, "numerator"):
        raise ComputationError(f"{code} is a composite KPI: give its inputs by name, one per data point")
    named = {f.numerator: numerator}
    if denominator is not None and f.denominator:
        named[f.denominator] = denominator
    return named


def compute(code: str, inputs: dict[str, float]) -> dict[str, float]:
    """Every data point of one KPI from its named inputs: {'': value} or {part: value, ...} for composites."""
    kpi = library().get(code)
    values = {part: evaluate(f, inputs, kpi.code, kpi.inputs) for part, _, _, _, f, _ in kpi.data_points()}
    rule = kpi.formula
    if kpi.is_composite and getattr(rule, "parts_sum", None) is not None:
        total = sum(values.values())
        if abs(total - rule.parts_sum) > PARTS_SUM_TOLERANCE:
            raise ComputationError(
                f"{kpi.code}: the data points add up to {total:.1f} %, not {rule.parts_sum:g} % "
                f"(± {PARTS_SUM_TOLERANCE:g}); check that every route or mode is counted once"
            )
    if kpi.is_composite and getattr(rule, "parts_order", None) == "descending":
        items = list(values.items())
        for (a, va), (b, vb) in zip(items, items[1:], strict=False):
            if vb > va + 1e-9:
                raise ComputationError(f"{kpi.code}: {b} ({vb:.1f}) cannot exceed {a} ({va:.1f})")
    return values


# ---------------------------------------------------------------- vectorised form


@functools.lru_cache(maxsize=1)
def points_table() -> pd.DataFrame:
    """One row per scored data point of the library: what the vectorised engine needs to compute and score."""
    rows = []
    for order, kpi in enumerate(library()):
        for part, label, unit, direction, f, vrange in kpi.data_points():
            rows.append(
                {
                    "code": kpi.code,
                    "part": part,
                    "order": order,
                    "point_label": label,
                    "unit": unit,
                    "direction": direction,
                    "kind": f.kind,
                    "multiplier": float(f.multiplier),
                    "n_criteria": len(f.criteria) or np.nan,
                    "numerator": f.numerator,
                    "denominator": f.denominator,
                    "le_denominator": f.numerator_le_denominator,
                    "value_min": np.nan if vrange[0] is None else vrange[0],
                    "value_max": np.nan if vrange[1] is None else vrange[1],
                }
            )
    return pd.DataFrame(rows)


def compute_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Vectorised: add `value` and `value_origin` to a frame with code, part, numerator_value, denominator_value,
    final_value columns (one row per data point, many cities at once).

    The value is recomputed from inputs whenever they are complete; a typed final value is used only when the
    inputs are missing (as the official template allows). Rows that cannot be computed get NaN here; the
    validation stage explains why, cell by cell.
    """
    spec = points_table()[["code", "part", "kind", "multiplier", "n_criteria"]]
    merged = frame.merge(spec, on=["code", "part"], how="left", sort=False)
    num = pd.to_numeric(merged["numerator_value"], errors="coerce").to_numpy(dtype=float)
    den = pd.to_numeric(merged["denominator_value"], errors="coerce").to_numpy(dtype=float)
    final = pd.to_numeric(merged["final_value"], errors="coerce").to_numpy(dtype=float)
    kind = merged["kind"].to_numpy()
    mult = merged["multiplier"].to_numpy(dtype=float)
    ncrit = merged["n_criteria"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den * mult, np.nan)
    computed = np.select([kind == "ratio", kind == "value", kind == "yes_no"], [ratio, num, 100.0 * num / ncrit], np.nan)
    computed = np.where(np.isnan(num) | (num < 0), np.nan, computed)
    has_computed = ~np.isnan(computed)
    out = frame.copy()
    out["value"] = np.where(has_computed, computed, final)
    out["value_origin"] = np.where(has_computed, "computed", np.where(np.isnan(final), "", "entered"))
    return out
