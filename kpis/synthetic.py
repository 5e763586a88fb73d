"""Invented cities for researchers and tests: plausible KPI values, reproducible by seed, and never mistaken for
real data (every name says "invented" and every row carries `invented=True`).

Values are drawn around the catalogue's targets (a city's latent performance sets how close it gets), so their
magnitudes match each data point's unit; points without a target use a typical magnitude for their unit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .library import library, load_targets, points_table
from .paths import slugify
from .template import DATA_QUALITY_LEVELS, write_template

REGIONS = ("Africa", "Americas", "Asia", "Europe", "Oceania")  # UN M49 regions
COUNTRY = "Invented"
START_YEAR = 2021

# Typical magnitude of a data point that has no target, by unit (median of a log-normal draw).
TYPICAL = {
    "%": 40.0,
    "count": 25.0,
    "count (services)": 40.0,
    "ratio": 1.0,
    "minutes": 90.0,
    "yes/no": 60.0,
    "kWh/yr per capita": 5500.0,
    "GJ/yr per capita": 75.0,
    "ekWh/m2/yr": 160.0,
    "m2 per 100 000 inhabitants": 900000.0,
    "km per 100 000 inhabitants": 40.0,
    "number (interruptions per customer per year)": 1.5,
    "FTE per 100 000 inhabitants": 120.0,
    "per 100 000 inhabitants": 150.0,
}
REPORT_RATE = {"core": 0.93, "advanced": 0.72}  # share of data points an average city reports, by KPI tier


def _names(n: int) -> list[str]:
    width = max(4, len(str(n)))
    return [f"Invented city {i + 1:0{width}d}" for i in range(n)]


def cities(n: int = 10, seed: int = 0, years: int = 1, start_year: int = START_YEAR) -> pd.DataFrame:
    """`n` invented cities × `years` yearly rounds: one row per (city, year, data point), ready for `kpis.compare`.

    Columns: city, country, region, population, area_km2, households, year, invented, code, part,
    numerator_value, denominator_value, final_value, value, reported, data_quality, data_origin.
    Not-reported points have `reported=False` and no value. Same (n, seed, years) → same frame.
    """
    if n < 1 or years < 1:
        raise ValueError("cities() needs n >= 1 and years >= 1")
    rng = np.random.default_rng(seed)
    pts = points_table()
    targets = load_targets()
    tiers = {k.code: k.tier for k in library()}
    P = len(pts)
    target = np.array([(t.target if (t := targets.for_point(c, p)) and t.target is not None else np.nan)
                       for c, p in zip(pts["code"], pts["part"], strict=True)])
    direction = pts["direction"].to_numpy()
    vmax = pts["value_max"].to_numpy(dtype=float)
    kind = pts["kind"].to_numpy()
    ncrit = pts["n_criteria"].to_numpy(dtype=float)
    mult = pts["multiplier"].to_numpy(dtype=float)
    typical = np.array([TYPICAL.get(u, 50.0) for u in pts["unit"]])
    base_rate = np.array([REPORT_RATE[tiers[c]] for c in pts["code"]])

    population, region, area, households = _city_profiles(rng, n)
    quality = rng.normal(0, 1, n)  # latent performance of each city
    diligence = rng.beta(8, 2, n) / 0.8  # how completely a city reports (1 = average)
    difficulty = rng.normal(0, 0.6, P)  # some targets are harder to reach everywhere

    # achievement (fraction of target) in the first year; yearly drift towards (or away from) the target
    logit = 0.9 * quality[:, None] - difficulty[None, :] + rng.normal(0.4, 0.9, (n, P))
    ach0 = 0.05 + 1.25 / (1 + np.exp(-logit))
    drift = rng.normal(0.03, 0.06, (n, P))
    free = typical[None, :] * np.exp(rng.normal(0, 0.5, (n, P)))  # points without target
    report = rng.random((n, P)) < np.clip(base_rate[None, :] * diligence[:, None], 0, 0.995)

    frames = []
    for y in range(years):
        ach = np.clip(ach0 * np.exp(drift * y + rng.normal(0, 0.02, (n, P))), 0.02, 1.6)
        val = np.where(direction == "lower", target / ach, target * ach)
        sign = np.where(direction == "lower", -1.0, 1.0)
        val = np.where(np.isnan(target), free * np.exp(sign * drift * y), val)
        val = np.where(np.isnan(vmax), val, np.minimum(val, vmax))
        val = _composites(val, pts, rng)
        val = np.where(kind == "yes_no", np.round(np.clip(val, 0, 100) / 100 * ncrit) / ncrit * 100, val)
        rep = report & (rng.random((n, P)) > 0.02 * y)  # a few points drop out in later rounds
        val = np.where(rep, val, np.nan)
        frames.append(_long(val, rep, pts, population, households, kind, mult, ncrit, start_year + y))
    out = pd.concat(frames, ignore_index=True)
    prof = pd.DataFrame({"city": _names(n), "country": COUNTRY, "region": region, "population": population,
                         "area_km2": area, "households": households})
    idx = np.tile(np.repeat(np.arange(n), P), years)
    out = pd.concat([prof.iloc[idx].reset_index(drop=True), out], axis=1)
    out["invented"] = True
    cols = ["city", "country", "region", "population", "area_km2", "households", "year", "invented", "code", "part",
            "numerator_value", "denominator_value", "final_value", "value", "reported", "data_quality", "data_origin"]
    return out[cols]


def _city_profiles(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Population (log-normal around 350 000), UN region, area and households of `n` invented cities."""
    population = np.round(np.exp(rng.normal(np.log(350_000), 1.1, n))).clip(20_000, 15_000_000).astype(int)
    region = rng.choice(REGIONS, n)
    area = np.round(population / np.exp(rng.normal(np.log(2500), 0.6, n)), 1)
    households = np.round(population / rng.uniform(2.0, 3.5, n)).astype(int)
    return population, region, area, households


def _composites(val: np.ndarray, pts: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Shares that must add up to 100 % (modal split, waste treatment) and ordered levels (water treatment)."""
    for kpi in library():
        rule = kpi.formula
        if not kpi.is_composite:
            continue
        cols = np.flatnonzero(pts["code"].to_numpy() == kpi.code)
        if getattr(rule, "parts_sum", None) is not None:
            shares = val[:, cols] * rng.uniform(0.5, 1.5, (val.shape[0], len(cols)))
            val[:, cols] = shares / shares.sum(axis=1, keepdims=True) * rule.parts_sum
        if getattr(rule, "parts_order", None) == "descending":
            val[:, cols] = -np.sort(-val[:, cols], axis=1)
    return val


def _long(val, rep, pts, population, households, kind, mult, ncrit, year) -> pd.DataFrame:
    """Inputs consistent with the value: per-inhabitant ratios over the population, shares over households."""
    n, P = val.shape
    per_inhabitant = (mult == 100_000)[None, :]
    den = np.where(per_inhabitant, population[:, None], households[:, None]).astype(float)
    num = np.where(kind == "ratio", val * den / mult, np.where(kind == "yes_no", val / 100 * ncrit, val))
    den = np.where(kind == "ratio", den, np.nan)
    num = np.where(rep, num, np.nan)
    den = np.where(rep, den, np.nan)
    quality = np.where(rep, "accurate measurement", "")
    origin = np.where(rep, "invented", "")
    return pd.DataFrame({
        "year": year,
        "code": np.tile(pts["code"].to_numpy(), n),
        "part": np.tile(pts["part"].to_numpy(), n),
        "numerator_value": num.ravel(),
        "denominator_value": den.ravel(),
        "final_value": val.ravel(),
        "value": val.ravel(),
        "reported": rep.ravel(),
        "data_quality": quality.ravel(),
        "data_origin": origin.ravel(),
    })


def profiles(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (city, year): the profile columns of a `cities()` frame."""
    cols = [c for c in ("city", "year", "country", "region", "population", "area_km2", "households", "invented")
            if c in frame.columns]
    return frame[cols].drop_duplicates(["city", "year"]).reset_index(drop=True)


def write_workbooks(frame: pd.DataFrame, folder, measures: dict[str, str] | None = None) -> list:
    """Write each invented city-year of a `cities()` frame as a filled data-collection workbook (final values
    only, data quality 'Based on accurate measurements'), e.g. to exercise `ssc assess` on many cities."""
    folder = Path(folder)
    paths = []
    for (city, year), g in frame.groupby(["city", "year"], sort=False):
        first = g.iloc[0]
        profile = {"city": city, "year": int(year), "country": first.get("country", COUNTRY),
                   "region": first.get("region", ""), "population": int(first["population"]),
                   "area_km2": float(first["area_km2"]), "households": int(first["households"]),
                   "currency": "EUR", "contact": "invented data, kpis.synthetic"}
        values = {
            (r.code, r.part): {"final_value": round(float(r.value), 4), "data_quality": DATA_QUALITY_LEVELS[0],
                               "data_origin": "Other", "source_name": "kpis.synthetic (invented)"}
            for r in g.itertuples(index=False) if r.reported
        }
        slug = slugify(str(city))
        paths.append(write_template(folder / f"{slug}-{int(year)}.xlsx", profile=profile, values=values,
                                    measures=measures or {}))
    return paths
