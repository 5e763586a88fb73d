"""KPI values from raw inputs: the library's formulas applied with `rules.evaluate`, for one KPI or a whole table."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import rules
from .errors import UserError
from .library import library, points_table
from .models import KPI, Formula, Input


class ComputationError(UserError, ValueError):
    """Inputs that cannot give a KPI value (zero denominator, negative count, numerator above denominator...)."""


def _check_input(name: str | None, inputs: Mapping[str, float], kpi: KPI) -> float:
    if name is None:
        return math.nan
    value = inputs.get(name)
    spec: Input = kpi.inputs[name]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ComputationError(f"{kpi.code}: input {name} is missing")
    if spec.min is not None and value < spec.min:
        raise ComputationError(f"{kpi.code}: {spec.label} is {value:g}, below the smallest allowed {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise ComputationError(f"{kpi.code}: {spec.label} is {value:g}, above the largest allowed {spec.max:g}")
    return float(value)


def fault_message(fault: str, formula: Formula, kpi: KPI) -> str:
    """A formula fault of `rules.evaluate` in the words of this KPI's own inputs."""
    num = kpi.inputs[formula.numerator].label
    den = kpi.inputs[formula.denominator].label if formula.denominator else ""
    if fault == "zero_denominator":
        return f"{den} is 0, so the ratio cannot be computed"
    if fault == "numerator_above_denominator":
        return f"{num} is larger than {den}, which cannot happen for this KPI"
    if fault == "criteria":
        return f"criteria met must be a whole number from 0 to {len(formula.criteria)}"
    return rules.FAULTS[fault]


def evaluate(formula: Formula, inputs: Mapping[str, float], kpi: KPI) -> float:
    """One data point's value from checked inputs; ComputationError names the KPI and the fault."""
    num = _check_input(formula.numerator, inputs, kpi)
    den = _check_input(formula.denominator, inputs, kpi)
    value, fault = rules.evaluate_one(formula.kind, num, den, formula.multiplier, len(formula.criteria) or math.nan,
                                      formula.numerator_le_denominator)
    if fault:
        raise ComputationError(f"{kpi.code}: {fault_message(fault, formula, kpi)}")
    return value


def inputs_for(code: str, numerator: float, denominator: float | None = None) -> dict[str, float]:
    """Named inputs of a simple KPI from its numerator (and denominator), without knowing the input names."""
    f = library().get(code).formula
    if not isinstance(f, Formula):
        raise ComputationError(f"{code} is a composite KPI: give its inputs by name, one per data point")
    named = {f.numerator: numerator}
    if denominator is not None and f.denominator:
        named[f.denominator] = denominator
    return named


def compute(code: str, inputs: Mapping[str, float]) -> dict[str, float]:
    """Every data point of one KPI from its named inputs: {'': value} or {part: value, ...} for composites."""
    kpi = library().get(code)
    values = {part: evaluate(f, inputs, kpi) for part, _, _, _, f, _ in kpi.data_points()}
    rule = kpi.formula
    if rule.kind == "composite" and rule.parts_sum is not None:
        total = sum(values.values())
        if rules.parts_sum_gap(total, rule.parts_sum):
            raise ComputationError(
                f"{kpi.code}: the data points add up to {total:.1f} %, not {rule.parts_sum:g} % "
                f"(± {rules.PARTS_SUM_TOLERANCE:g}); check that every route or mode is counted once"
            )
    if rule.kind == "composite" and rule.parts_order == "descending":
        for a, va, b, vb in rules.parts_order_breaks(list(values.items()))[:1]:
            raise ComputationError(f"{kpi.code}: {b} ({vb:.1f}) cannot exceed {a} ({va:.1f})")
    return values


def compute_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Vectorised: add `value` and `value_origin` to a frame with code, part, numerator_value, denominator_value,
    final_value columns (one row per data point, many cities at once).

    The value is recomputed from inputs whenever they give one; a typed final value is used only when they do not
    (as the official template allows). Rows that cannot be computed get NaN here; validation explains why, cell by
    cell.
    """
    spec = points_table()[["code", "part", "kind", "multiplier", "n_criteria", "le_denominator"]]
    merged = frame.merge(spec, on=["code", "part"], how="left", sort=False)
    computed, _ = rules.evaluate(
        merged["kind"].to_numpy(dtype=object),
        pd.to_numeric(merged["numerator_value"], errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(merged["denominator_value"], errors="coerce").to_numpy(dtype=float),
        merged["multiplier"].to_numpy(dtype=float),
        merged["n_criteria"].to_numpy(dtype=float),
        merged["le_denominator"].fillna(False).to_numpy(dtype=bool),
    )
    final = pd.to_numeric(merged["final_value"], errors="coerce").to_numpy(dtype=float)
    final = np.where(np.isfinite(final), final, np.nan)
    has_computed = ~np.isnan(computed)
    out = frame.copy()
    out["value"] = np.where(has_computed, computed, final)
    out["value_origin"] = np.where(has_computed, "computed", np.where(np.isnan(final), "", "entered"))
    return out
