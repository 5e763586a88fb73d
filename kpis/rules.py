"""The U4SSC rules, each written once: reading numbers, "not reported" words, formulas, achievement, bands, points
and aggregation.

Every stage that needs a rule calls it from here (intake and validation read numbers, scoring and the comparison's
sensitivity draws compute achievement, bands and aggregates), so a change of rule is a change in one place and the
city report, the comparison and the validation messages can never disagree. The functions work on numpy arrays of
any shape; the scalar forms are the same functions on one element. docs/scoring.md has the long form.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml

# ---------------------------------------------------------------- words and numbers a city may type

#: Cell texts that mean "not reported" wherever a number is expected (compared lower-cased and stripped).
NOT_REPORTED_WORDS = frozenset(
    {"", "nr", "n/a", "na", "n.a.", "not reported", "not available", "not verified", "-", "--", "—", "–", "none",
     "nan"}
)
#: The answer words of the six languages (yes/no/partial, data-quality levels, data origins), as data:
#: `kpis/locale/answers.yaml`. A workbook in any language is read the same way.
ANSWERS: dict = yaml.load((Path(__file__).resolve().parent / "locale" / "answers.yaml").read_text("utf-8"),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
#: Answers accepted for a yes/no KPI in its final-value cell (any of the six languages), as % of criteria met.
YES_NO_WORDS = {word.strip().casefold(): float(entry["percent"])
                for entry in ANSWERS["yes_no"].values()
                for key, words in entry.items() if key != "percent" for word in words}
#: A data-quality level typed or chosen in any language → its canonical (English) wording.
DATA_QUALITY_WORDS = {" ".join(text.split()).casefold(): level["en"]
                      for level in ANSWERS["data_quality"] for text in level.values()}

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_GROUPED_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,500 / 12,345,678.9
_GROUPED_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")  # 1.500,5 / 12.345.678
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")  # 1,5 / ,75 / 0,750

NumberStatus = Literal["number", "empty", "text", "ambiguous", "not_finite"]


@dataclass(frozen=True)
class ParsedNumber:
    """What a cell holds: a number, nothing (empty or a "not reported" word), or text that is not a number.

    `from_text` is True when the number was typed as text ('95 424', '1,5'); `status` 'ambiguous' is a text such as
    '1,500' or '0,750' that reads as a thousands group in one convention and a decimal comma in the other.
    """

    value: float | None
    status: NumberStatus
    from_text: bool = False

    @property
    def ok(self) -> bool:
        return self.status in ("number", "empty")


def parse_number(raw: object, decimal: str | None = None) -> ParsedNumber:
    """Read one cell as a number.

    Numbers stay numbers (NaN is empty; ±inf is refused). Text is read when its intent is unambiguous: spaces and
    apostrophes group thousands ('95 424'); '1,500.5' and '1.500,5' are read by the position of the last separator;
    a lone comma followed by other than three digits is a decimal comma ('1,5'). A lone comma before exactly three
    digits ('1,500', '0,750') is ambiguous unless `decimal` says which separator the city uses ('.' or ',').
    Booleans, dates and other objects are text, never numbers.
    """
    if raw is None:
        return ParsedNumber(None, "empty")
    if isinstance(raw, bool | np.bool_):
        return ParsedNumber(None, "text")
    if isinstance(raw, int | float | np.integer | np.floating):
        f = float(raw)
        if math.isnan(f):
            return ParsedNumber(None, "empty")
        return ParsedNumber(f, "number") if math.isfinite(f) else ParsedNumber(None, "not_finite")
    if not isinstance(raw, str):
        return ParsedNumber(None, "text")
    text = raw.strip()
    if text.lower() in NOT_REPORTED_WORDS:
        return ParsedNumber(None, "empty")
    compact = _SPACES.sub("", text)
    value: float | None = None
    if _PLAIN.match(compact):
        if decimal == "," and "." in compact and re.fullmatch(r"[+-]?\d{1,3}\.\d{3}", compact):
            value = float(compact.replace(".", ""))  # '1.500' from a decimal-comma city is 1500
        else:
            value = float(compact)
    elif _GROUPED_COMMA.match(compact):
        if compact.count(",") == 1 and "." not in compact and decimal != ".":
            if decimal == ",":
                value = float(compact.replace(",", "."))
            else:
                return ParsedNumber(None, "ambiguous", True)
        else:
            value = float(compact.replace(",", ""))
    elif _GROUPED_DOT.match(compact) and ("," in compact or compact.count(".") > 1):
        value = float(compact.replace(".", "").replace(",", "."))
    elif _DECIMAL_COMMA.match(compact):
        value = float(compact.replace(",", "."))
    if value is None:
        return ParsedNumber(None, "text")
    if not math.isfinite(value):
        return ParsedNumber(None, "not_finite", True)
    return ParsedNumber(value, "number", True)


def parse_numbers(values: pd.Series, decimal: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`parse_number` over a column: (values with NaN where there is none, status per row).

    Each distinct cell text is parsed once, so a long table costs as many parses as it has different texts.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        nums = values.to_numpy(dtype=float, na_value=np.nan)
        status = np.where(np.isnan(nums), "empty", np.where(np.isfinite(nums), "number", "not_finite"))
        return np.where(np.isfinite(nums), nums, np.nan), status.astype(object)
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    parsed = [parse_number(u, decimal) for u in uniques] + [ParsedNumber(None, "empty")]
    lookup_value = np.array([np.nan if p.value is None else p.value for p in parsed], dtype=float)
    lookup_status = np.array([p.status for p in parsed], dtype=object)
    pos = np.where(codes < 0, len(parsed) - 1, codes)
    return lookup_value[pos], lookup_status[pos]


def parse_yes_no(raw: object) -> float | None:
    """A yes/no answer typed as a word ('Yes', 'no', 'Partial', 'Oui', 'Sí', 'Да', '是', 'نعم'; any case) as % of
    criteria met, else None."""
    if isinstance(raw, str):
        return YES_NO_WORDS.get(raw.strip().casefold())
    return None


def parse_data_quality(raw: object) -> str | None:
    """A data-quality level in any of the six languages (case and spacing ignored) → its English wording, else
    None."""
    if isinstance(raw, str):
        return DATA_QUALITY_WORDS.get(" ".join(raw.replace("_", " ").split()).casefold())
    return None


# ---------------------------------------------------------------- formulas

PointKind = Literal["ratio", "value", "yes_no"]
#: Composite shares (e.g. modal split) may miss their sum by rounding, by up to this many points.
PARTS_SUM_TOLERANCE = 2.0
#: A descending composite (e.g. treatment levels) tolerates this much inversion from floating point.
PARTS_ORDER_TOLERANCE = 1e-9

#: A count of criteria met computed as 2/6 × 6 may carry float noise: within this it is whole.
WHOLE_TOLERANCE = 1e-9

#: Why a formula gives no value, per data point ('' when it gives one).
FAULTS = {
    "": "",
    "no_numerator": "the numerator is missing",
    "no_denominator": "the denominator is missing",
    "zero_denominator": "the denominator is 0",
    "negative": "an input is negative",
    "numerator_above_denominator": "the numerator is larger than the denominator",
    "criteria": "criteria met is not a whole number from 0 to the number of criteria",
    "not_finite": "the result is not a finite number",
}


def evaluate(
    kind: np.ndarray | str,
    numerator: np.ndarray | float,
    denominator: np.ndarray | float,
    multiplier: np.ndarray | float = 1.0,
    n_criteria: np.ndarray | float = np.nan,
    numerator_le_denominator: np.ndarray | bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Every data point's value from its inputs, vectorised: (values, fault codes of `FAULTS`).

    ratio: numerator ÷ denominator × multiplier; value: the numerator; yes_no: 100 × criteria met ÷ criteria.
    Inputs below zero, a zero denominator, a numerator above its denominator where the KPI forbids it and
    criteria that are not whole give NaN with their fault code, never a guessed value.
    """
    kind_a = np.asarray(kind, dtype=object)
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    shape = np.broadcast_shapes(kind_a.shape, num.shape, den.shape)
    kind_a, num, den = (np.broadcast_to(a, shape) for a in (kind_a, num, den))
    mult = np.broadcast_to(np.asarray(multiplier, dtype=float), shape)
    ncrit = np.broadcast_to(np.asarray(n_criteria, dtype=float), shape)
    le = np.broadcast_to(np.asarray(numerator_le_denominator, dtype=bool), shape)
    is_ratio, is_value, is_yes_no = kind_a == "ratio", kind_a == "value", kind_a == "yes_no"
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = num / den * mult
        share = 100.0 * num / ncrit
    value = np.select([is_ratio, is_value, is_yes_no], [ratio, num, share], np.nan)
    fault = np.full(shape, "", dtype=object)
    whole = np.abs(num - np.round(num)) <= WHOLE_TOLERANCE
    bad_criteria = is_yes_no & (~whole | (num > ncrit))
    checks = [  # the first fault that applies is the one reported
        (np.isnan(num), "no_numerator"),
        (is_ratio & np.isnan(den), "no_denominator"),
        ((num < 0) | (is_ratio & (den < 0)), "negative"),
        (is_ratio & (den == 0), "zero_denominator"),
        (is_ratio & le & (num > den), "numerator_above_denominator"),
        (bad_criteria, "criteria"),
        (~np.isfinite(value), "not_finite"),
    ]
    for where, code in reversed(checks):
        fault = np.where(where, code, fault)
    value = np.where(fault == "", value, np.nan)
    return value, fault


def evaluate_one(
    kind: str,
    numerator: float | None,
    denominator: float | None = None,
    multiplier: float = 1.0,
    n_criteria: float = math.nan,
    numerator_le_denominator: bool = False,
) -> tuple[float, str]:
    """`evaluate` for one data point: (value or NaN, fault code)."""
    value, fault = evaluate(
        kind,
        math.nan if numerator is None else numerator,
        math.nan if denominator is None else denominator,
        multiplier,
        n_criteria,
        numerator_le_denominator,
    )
    return float(value), str(fault)


def parts_sum_gap(total: float, parts_sum: float) -> bool:
    """True when composite shares miss their required sum by more than rounding."""
    return abs(total - parts_sum) > PARTS_SUM_TOLERANCE


def parts_order_breaks(values: list[tuple[str, float]]) -> list[tuple[str, float, str, float]]:
    """Pairs (a, va, b, vb) where a later part of a descending composite exceeds the one before it."""
    return [
        (a, va, b, vb)
        for (a, va), (b, vb) in zip(values, values[1:], strict=False)
        if vb > va + PARTS_ORDER_TOLERANCE
    ]


# ---------------------------------------------------------------- achievement, bands, points

BANDS = ("<33", "33-66", "66-95", "95+")
#: % of target where bands 2, 3 and 4 start; an edge belongs to the higher band.
BAND_EDGES = (33.0, 66.0, 95.0)
#: Comparisons with an edge allow this much (in % of target) so that 0.66 × 60 = 39.6 lands in 66-95.
EDGE_TOLERANCE = 1e-9
MAX_POINTS = 4


def achievement(value: np.ndarray | float, target: np.ndarray | float, direction: np.ndarray | str) -> np.ndarray:
    """% of target reached, 0-100; NaN where there is no value, no target or no direction.

    Higher is better: value ÷ target (a target of 0 or less is always reached). Lower is better: target ÷ value
    (a value of 0 or less reaches any target). Beyond the target is capped at 100 %, below zero floored at 0 %.
    """
    value_a = np.asarray(value, dtype=float)
    target_a = np.asarray(target, dtype=float)
    direction_a = np.asarray(direction)
    if direction_a.ndim == 1 and target_a.ndim <= 1 and value_a.ndim >= 1 and value_a.shape[-1] == len(direction_a):
        return _achievement_by_column(value_a, np.broadcast_to(target_a, direction_a.shape), direction_a)
    higher = direction_a == "higher"
    # one division whatever the direction (value ÷ target or target ÷ value), so that a grid of draws × cities ×
    # data points is passed over a few times only; a divisor of 0 or less means the target is reached
    num, den = np.where(higher, value_a, target_a), np.where(higher, target_a, value_a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # overflow → inf → capped at 100
        out = np.asarray(np.divide(num, den))
        out *= 100.0
    np.copyto(out, 100.0, where=~(den > 0))
    np.copyto(out, np.nan, where=np.isnan(num) | np.isnan(den) | ~(higher | (direction_a == "lower")))
    return np.clip(out, 0.0, 100.0, out=out)[()]  # [()]: a number for numbers, the array itself for arrays


def _achievement_by_column(value: np.ndarray, target: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """`achievement` when each data point (the last axis) has one target and one direction, as in a grid of
    city-years × data points: the same divisions, with the direction and the target's sign decided per column
    instead of per cell (a grid of ten million cells is passed over five times, not twelve)."""
    higher, lower = direction == "higher", direction == "lower"
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # overflow → inf → capped at 100
        out = np.divide(value, target)
        if lower.any():
            below = value[..., lower]
            out[..., lower] = np.divide(target[lower], below)
        out *= 100.0
    out[..., higher & ~(target > 0)] = 100.0  # a divisor of 0 or less: the target is reached
    if lower.any():
        part = out[..., lower]
        np.copyto(part, 100.0, where=~(below > 0))
        out[..., lower] = part
    np.copyto(out, np.nan, where=np.isnan(value))
    out[..., np.isnan(target) | ~(higher | lower)] = np.nan
    return np.clip(out, 0.0, 100.0, out=out)


def band_index(percent: np.ndarray | float) -> np.ndarray:
    """0-3 for the bands <33, 33-66, 66-95, 95+ of a % of target (or of a group score); -1 where there is none."""
    pct = np.asarray(percent, dtype=np.float64)
    shifted = pct + EDGE_TOLERANCE  # once, not once per edge
    idx = np.zeros(pct.shape, dtype=np.int8)
    for edge in BAND_EDGES:
        idx += shifted >= edge
    np.copyto(idx, np.int8(-1), where=np.isnan(pct))
    return idx


def band_of(percent: np.ndarray | float) -> np.ndarray:
    """Band labels ('<33' … '95+'); None where there is no score."""
    idx = band_index(percent)
    labels = np.array((*BANDS, None), dtype=object)
    return labels[np.where(idx < 0, len(BANDS), idx)]


def points_of(percent: np.ndarray | float) -> np.ndarray:
    """U4SSC points 1-4 of a % of target; NaN where there is none."""
    idx = band_index(percent)
    return np.where(idx < 0, np.nan, idx + 1.0)


def band_floor(band: int) -> float:
    """The % of target where band `band` (0-3) starts."""
    return 0.0 if band <= 0 else BAND_EDGES[band - 1]


def display_percent(percent: float, decimals: int = 0) -> str:
    """A % rounded for display without leaving its band: 65.6 shows as '65', not '66' (whose colour would lie)."""
    if percent is None or (isinstance(percent, float) and math.isnan(percent)):
        return ""
    scale = 10**decimals
    shown = round(percent * scale) / scale
    band = int(band_index(percent))
    if int(band_index(shown)) != band:
        shown = math.floor(percent * scale) / scale if shown > percent else math.ceil(percent * scale) / scale
    return f"{shown:.{decimals}f}"


# ---------------------------------------------------------------- one status per data point

#: What the report says of a data point, decided once: every section reads this, none re-derives it.
STATUSES = ("strength", "on track", "gap", "not reported", "context", "no benchmark")


def status_index(band: np.ndarray, reported: np.ndarray, context: np.ndarray | bool) -> np.ndarray:
    """Index into `STATUSES`: strength (95+), on track (66-95), gap (below 66), not reported, context (a context
    indicator: shown, never scored) or no benchmark (reported, but no target or no direction to score it against).
    `band` is `band_index` (-1 where not scored)."""
    # one table lookup on (band, reported, context): a research frame of 10 million data points is read once
    table = np.empty((5, 2, 2), dtype=np.int8)
    table[:, 0, :] = 3  # not reported
    table[0, 1, :] = (5, 4)  # reported, not scored: no benchmark, or a context indicator
    table[1:, 1, :] = np.array([2, 2, 1, 0], dtype=np.int8)[:, None]  # <33 and 33-66 are gaps
    # the position in the table, (band + 1) × 4 + reported × 2 + context, in one-byte arithmetic
    shape = np.broadcast_shapes(np.shape(band), np.shape(reported), np.shape(context))
    idx = np.clip(np.asarray(band), -1, 3).astype(np.int8) + np.int8(1)
    if idx.shape != shape:
        idx = np.broadcast_to(idx, shape).copy()
    idx *= np.int8(4)
    idx += np.asarray(reported, dtype=np.int8) * np.int8(2)
    idx += np.asarray(context, dtype=np.int8)
    return table.ravel().take(idx)


def status_of(band: np.ndarray, reported: np.ndarray, context: np.ndarray | bool) -> np.ndarray:
    """The `STATUSES` labels of `status_index`."""
    return np.array(STATUSES, dtype=object)[status_index(band, reported, context)]


#: Below this share of the 55 core KPIs reported, an overall score is provisional: it rests on too little to be
#: compared with a city that reported more, and the report leads with coverage instead.
PROVISIONAL_BELOW_CORE_SHARE = 0.5


def is_provisional(core_reported: np.ndarray | int, core_total: np.ndarray | int) -> np.ndarray:
    return np.asarray(core_reported) < PROVISIONAL_BELOW_CORE_SHARE * np.asarray(core_total)


# ---------------------------------------------------------------- aggregation

Method = Literal["bands", "distance"]
Aggregation = Literal["arithmetic", "geometric"]
METHODS: tuple[Method, ...] = ("bands", "distance")
AGGREGATIONS: tuple[Aggregation, ...] = ("arithmetic", "geometric")
#: A geometric mean of a zero is zero whatever else the group holds: contributions are floored at 1 % (COINr shifts
#: likewise), so one data point at 0 % pulls a group down hard without erasing it.
GEOMETRIC_FLOOR = 1.0


def contribution(percent: np.ndarray, method: Method = "bands", band: np.ndarray | None = None) -> np.ndarray:
    """What one scored data point brings to its groups, in %: its band's points × 25 (U4SSC), or the capped
    achievement itself (distance to target). `band` (from `band_index`) saves computing the bands again."""
    if method == "bands":
        idx = band_index(percent) if band is None else np.asarray(band)
        per_band = np.arange(-1, MAX_POINTS, dtype=float)  # no band, then the four bands: one lookup per cell
        table = np.where(per_band < 0, np.nan, (per_band + 1.0) * (100.0 / MAX_POINTS))
        return table.take(np.asarray(idx, dtype=np.int8) + np.int8(1))
    return np.asarray(percent, dtype=float)


def aggregate_band_points(band: np.ndarray, member: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`aggregate` of band points (method bands, arithmetic, every weight 1 where scored) from the bands
    themselves: (score, weight sum, band points) per group. The points and counts are whole numbers, summed exactly
    in single precision (half the bytes of every product); Σ c is 25 × Σ (band + 1) exactly, so the score is
    `aggregate`'s to the last bit without building the contributions."""
    member32 = member.astype(np.float32)
    weight_sum = ((band >= 0).astype(np.float32) @ member32).astype(float)
    points = ((band + np.int8(1)).astype(np.float32) @ member32).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = points * (100.0 / MAX_POINTS) / weight_sum
    return np.where(weight_sum > 0, score, np.nan), weight_sum, points


def aggregate(
    contrib: np.ndarray,
    weight: np.ndarray,
    member: np.ndarray,
    how: Aggregation = "arithmetic",
) -> tuple[np.ndarray, np.ndarray]:
    """Group scores in % from per-data-point contributions: (score, weight sum) per group.

    contrib and weight are (..., points) arrays (weight 0 where a point is not scored); member is the
    (points × groups) membership matrix. Arithmetic: Σ w·c ÷ Σ w; geometric: exp(Σ w·ln max(c, floor) ÷ Σ w).
    A group with nothing scored has no score (NaN), never zero.
    """
    weight = np.asarray(weight, dtype=float)
    contrib = np.asarray(contrib, dtype=float)
    den = weight @ member
    unweighted = weight.ndim == 1 and bool((weight == 1.0).all())  # the sensitivity draws: no copy to weigh
    with np.errstate(divide="ignore", invalid="ignore"):
        if how == "arithmetic":
            terms = contrib if unweighted else contrib * weight
        else:
            terms = np.log(np.maximum(contrib, GEOMETRIC_FLOOR))
            if not unweighted:
                terms *= weight
        if not unweighted:
            np.copyto(terms, 0.0, where=np.broadcast_to(weight <= 0, terms.shape))
        # one matrix product over every leading axis (a stack of draws is one BLAS call, not one per draw)
        summed = (terms.reshape(-1, terms.shape[-1]) @ member).reshape(*terms.shape[:-1], member.shape[1])
        score = summed / den if how == "arithmetic" else np.exp(summed / den)
    return np.where(den > 0, score, np.nan), den
