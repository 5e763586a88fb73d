"""Many cities and years side by side: one tidy table, coverage, scores per level, peers, progress, and rankings
that say how certain they are.

Everything is computed on the tidy long table (one row per city, year, KPI and data point), so results from
submissions, from `ssc assess` results files, from a long CSV or from `kpis.synthetic` all meet in one place.

Ranking rule (stated once, shown in every ranking):
1. A data point enters the ranking when at least `min_share` of the cities scored it (reported, with a target).
2. A city is ranked when it scored at least `min_share` of those data points; the others are listed as not ranked.
3. A ranked city's missing data point counts at the floor (lowest band, 0 % of target), so not reporting never
   lifts a city above one it would lose to on the KPIs they share. With `min_share=1` the ranking uses only the
   KPIs every ranked city reported.
Rank intervals come from a sensitivity run (COINr / JRC style): each draw perturbs every target by ± `margin`,
aggregates arithmetically or geometrically and scores with U4SSC bands or continuous distance to target.
"""

from __future__ import annotations

import html
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..display import BAND_COLOURS, band_style, frame_html
from ..errors import UserError
from ..library import Targets, catalogue_frame, load_targets, points_table
from ..models import normalise_code

LEVELS = ("category", "sub_dimension", "dimension", "overall")
BAND_EDGES = (0.33, 0.66, 0.95)  # share of target; an edge belongs to the higher band
BANDS = ("<33", "33-66", "66-95", "95+")
EPSILON = 1e-11  # as in scoring: 0.66 × 60 = 39.6 must land in 66-95 despite floating point
GEOMETRIC_FLOOR = 0.01  # a zero would make a geometric mean zero: scores are floored here (COINr shifts likewise)
NOISE_PLACES = 3  # SDSN: rank differences of 2-3 places are not meaningful
TARGET_YEAR = 2030

# OECD functional-urban-area size classes (population of the urban area)
POPULATION_BANDS = (
    (0, "under 50 000"),
    (50_000, "small urban area (50 000-200 000)"),
    (200_000, "medium-sized urban area (200 000-500 000)"),
    (500_000, "metropolitan area (500 000-1.5 million)"),
    (1_500_000, "large metropolitan area (1.5 million or more)"),
)

# Open SDG progress measure (Statistics Canada method): ratio of observed to required growth
PROGRESS_WITH_TARGET = ((0.95, "on track"), (0.60, "needs acceleration"), (0.0, "off track"))
PROGRESS_NO_TARGET = ((0.015, "on track"), (0.005, "needs acceleration"), (0.0, "off track"))
PROGRESS_COLOURS = {
    "target achieved": "#1a9850", "on track": "#a6d96a", "needs acceleration": "#fee08b",
    "off track": "#fdae61", "deterioration": "#d73027", "not assessable": "#e0e0e0",
}

NOT_REPORTED = {"", "nr", "n/a", "na", "-", "not reported", "none", "nan"}
MAX_INPUT_BYTES = 200 * 1024 * 1024
RESULT_SUFFIXES = {".csv", ".parquet", ".json"}
SUBMISSION_SUFFIXES = {".xlsx", ".xlsm", ".csv"}


class CompareError(UserError, ValueError):
    """An input that cannot be compared; the message names the file (and row or KPI) and how to fix it."""


# ---------------------------------------------------------------- scoring primitives (vectorised)


def achievement(value: np.ndarray, target: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Share of target reached, capped at 1: value/target (higher is better), target/value (lower is better).

    A lower-is-better value of 0 reaches any target; no direction or no target gives NaN.
    """
    value = np.asarray(value, dtype=float)
    target = np.asarray(target, dtype=float)
    direction = np.asarray(direction)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(target > 0, value / target, np.where(value >= 0, 1.0, np.nan))
        down = np.where(value > 0, target / value, np.where(value == 0, 1.0, np.nan))
    out = np.where(direction == "higher", up, np.where(direction == "lower", down, np.nan))
    out = np.where(np.isnan(value) | np.isnan(target), np.nan, out)
    return np.clip(out, 0.0, 1.0)


def points_of(share: np.ndarray) -> np.ndarray:
    """U4SSC points 1-4 from a share of target (NaN stays NaN)."""
    share = np.asarray(share, dtype=float)
    pts = 1.0 + sum((share + EPSILON >= e).astype(float) for e in BAND_EDGES)
    return np.where(np.isnan(share), np.nan, pts)


def band_of(share: np.ndarray) -> np.ndarray:
    """Band label of a share of target, '' where there is none."""
    pts = points_of(share)
    labels = np.array(("",) + BANDS, dtype=object)
    return labels[np.nan_to_num(pts, nan=0).astype(int)]


# ---------------------------------------------------------------- the indicator metadata


def _point_meta(targets: Targets) -> pd.DataFrame:
    """One row per data point: hierarchy, unit, direction and the target of the chosen target set."""
    pts = points_table()[["code", "part", "order", "point_label", "unit", "direction"]]
    cat = pd.DataFrame(catalogue_frame(targets))[["code", "name", "dimension", "sub_dimension", "category", "tier"]]
    meta = pts.merge(cat, on="code", how="left")
    found = [targets.for_point(c, p) for c, p in zip(meta["code"], meta["part"], strict=True)]
    meta["target"] = [t.target if t and t.target is not None else np.nan for t in found]
    meta["target_source"] = [t.source if t else "" for t in found]
    return meta


# ---------------------------------------------------------------- reading inputs


def _read_table(path: Path) -> pd.DataFrame:
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise CompareError(f"{path.name}: larger than {MAX_INPUT_BYTES // 2**20} MB; split it by city or year")
    try:
        if path.suffix.lower() == ".csv":
            return _restore(pd.read_csv(path, dtype=str, keep_default_na=False))
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except (OSError, ValueError, ImportError) as exc:
        raise CompareError(f"{path.name}: cannot be read as a results table ({exc})") from None
    if isinstance(raw, dict) and isinstance(raw.get("kpis"), list):
        raw = raw["kpis"]
    if not isinstance(raw, list):
        raise CompareError(f"{path.name}: expected a list of rows (or an object with a 'kpis' list)")
    return pd.DataFrame(raw)


def _restore(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo the formula protection of our own CSV/XLSX exports (a leading quote before '=', '+', ...)."""
    try:
        from ..export import restore_frame
    except ImportError:  # pragma: no cover
        return frame
    return restore_frame(frame)


def _results_sheet(path: Path) -> str | None:
    """The 'kpis' sheet of a results workbook written by `ssc assess`, or None for a submission."""
    from openpyxl import load_workbook

    try:
        from ..limits import check_file

        check_file(path)
    except ImportError:  # pragma: no cover - limits ships with the package
        pass
    try:
        wb = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure of an untrusted file is a user error
        raise CompareError(f"{path.name}: not a readable workbook ({type(exc).__name__}); save it again as .xlsx") \
            from None
    try:
        return next((name for name in wb.sheetnames if name.strip().lower() == "kpis"), None)
    finally:
        wb.close()


def _is_long_table(columns: Iterable[str]) -> bool:
    cols = {str(c).strip().lower() for c in columns}
    return "city" in cols and ({"code", "kpi_code"} & cols) != set() and ({"value", "final_value"} & cols) != set()


def _from_submission(path: Path, targets: Targets | None) -> tuple[pd.DataFrame, dict]:
    from ..scoring import score
    from ..validation import read_submission

    sub = read_submission(path)
    res = score(sub, targets=targets)
    return pd.DataFrame(res.kpis), _profile_dict(sub.profile)


def _from_results(res: object) -> tuple[pd.DataFrame, list[dict]]:
    """A Results object: its tidy table and the profile of each city-year it holds."""
    profiles = getattr(res, "profiles", None)
    if isinstance(profiles, dict):
        profs = [{"city": k[0], "year": k[1], **_profile_dict(v)} if isinstance(k, tuple) else _profile_dict(v)
                 for k, v in profiles.items()]
    else:
        one = _profile_dict(getattr(res, "profile", None))
        profs = [one] if one else []
    return pd.DataFrame(res.kpis), profs


def _profile_dict(profile: object) -> dict:
    if profile is None:
        return {}
    if hasattr(profile, "model_dump"):
        return dict(profile.model_dump())
    if isinstance(profile, dict):
        return dict(profile)
    return {k: getattr(profile, k) for k in ("city", "country", "year", "population", "region") if hasattr(profile, k)}


def _expand(item: object) -> list[object]:
    """A folder becomes the results and submissions in it (a saved results folder, holding kpis.csv, stays whole)."""
    if not (isinstance(item, str | Path) and Path(item).is_dir()):
        return [item]
    folder = Path(item)
    if (folder / "kpis.csv").is_file():
        return [folder]
    result_dirs = sorted({p.parent for p in folder.rglob("kpis.csv")})
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and p.suffix.lower() in RESULT_SUFFIXES | SUBMISSION_SUFFIXES
                   and not p.name.startswith((".", "~$")) and p.name != "manifest.json"
                   and not any(d in p.parents for d in result_dirs))
    if not files and not result_dirs:
        raise CompareError(f"{folder}: no submission (.xlsx/.csv) or results (.xlsx/.csv/.parquet/.json) files in it")
    return [*result_dirs, *files]


def _load(item: object, targets: Targets | None) -> tuple[pd.DataFrame, list[dict], str]:
    """One input as (tidy or values frame, profiles, label)."""
    if isinstance(item, Comparison):
        return item.kpis, item.profiles.to_dict("records"), "comparison"
    if isinstance(item, pd.DataFrame):
        return item, [], "table"
    if hasattr(item, "kpis") and isinstance(item.kpis, pd.DataFrame):
        return (*_from_results(item), "results")
    if not isinstance(item, str | Path):
        raise CompareError(f"cannot compare a {type(item).__name__}: give Results, a DataFrame or a file path")
    path = Path(item)
    if not path.exists():
        raise CompareError(f"{path}: no such file or folder")
    from ..results import Results

    suffix = path.suffix.lower()
    if path.is_dir() or (suffix in {".xlsx", ".xlsm"} and _results_sheet(path)):
        return (*_from_results(Results.load(path)), path.name)
    if suffix in {".xlsx", ".xlsm"}:
        frame, prof = _from_submission(path, targets)
        return frame, [prof], path.name
    if suffix == ".csv":
        head = pd.read_csv(path, nrows=0, dtype=str)
        if not _is_long_table(head.columns):
            frame, prof = _from_submission(path, targets)
            return frame, [prof], path.name
        return _read_table(path), [], path.name
    if suffix in {".parquet", ".json"}:
        try:
            return (*_from_results(Results.load(path)), path.name)
        except UserError:  # a plain long table rather than a saved Results
            return _read_table(path), [], path.name
    raise CompareError(f"{path.name}: not a submission (.xlsx/.csv) or a results file (.xlsx/.csv/.parquet/.json)")


def _numbers(col: pd.Series, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from text cells: '95 424' and '1,5' read as numbers; NR / blank mean not reported;
    'Yes'/'No' read as 100/0. Anything else is an error naming the row."""
    if pd.api.types.is_numeric_dtype(col):
        vals = col.to_numpy(dtype=float)
        return vals, ~np.isnan(vals)
    text = col.astype(str).str.strip()
    low = text.str.lower()
    missing = low.isin(NOT_REPORTED) | col.isna().to_numpy()
    cleaned = text.str.replace(r"[\s\u00a0\u202f]", "", regex=True).str.replace(",", ".", regex=False)
    cleaned = cleaned.mask(low == "yes", "100").mask(low == "no", "0")
    vals = pd.to_numeric(cleaned.where(~missing), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(vals) & ~missing.to_numpy())
    if len(bad):
        rows = ", ".join(f"row {i + 2} ({text.iloc[i][:30]!r})" for i in bad[:5])
        raise CompareError(f"{where}: values that are not numbers at {rows}; write a number, or NR if not reported")
    return vals, ~np.isnan(vals)


def _standardise(frame: pd.DataFrame, meta: pd.DataFrame, where: str, rescore: bool, targets: Targets) -> pd.DataFrame:
    """Any accepted table → the tidy columns compare needs, scored with the comparison's target set if needed."""
    df = pd.DataFrame(frame).copy()
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].astype(object)
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "code" not in df.columns and "kpi_code" in df.columns:
        df = df.rename(columns={"kpi_code": "code"})
    missing = [c for c in ("city", "year", "code") if c not in df.columns]
    if missing:
        raise CompareError(f"{where}: missing column(s) {', '.join(missing)}; a long table has city, year, code, "
                           "part (for composite KPIs) and value")
    if "part" not in df.columns:
        df["part"] = ""
    df["part"] = df["part"].fillna("").astype(str).str.strip()
    codes = {c: normalise_code(c) for c in df["code"].astype(str).unique()}
    df["code"] = df["code"].astype(str).map(codes)
    known = set(zip(meta["code"], meta["part"], strict=True))
    keys = list(zip(df["code"], df["part"], strict=True))
    parts_of = meta[meta["part"] != ""].groupby("code")["part"].agg(", ".join).to_dict()
    no_part = sorted({c for c, p in keys if p == "" and c in parts_of})
    if no_part:
        raise CompareError(f"{where}: KPI {no_part[0]} is scored per data point; add a 'part' column naming one of "
                           f"{parts_of[no_part[0]]} on each of its rows")
    unknown = sorted({f"{c} {p}".strip() for c, p in keys if (c, p) not in known})
    if unknown:
        raise CompareError(f"{where}: unknown KPI code or data point {', '.join(unknown[:5])}"
                           f"{' …' if len(unknown) > 5 else ''}; use the codes of `ssc catalogue`")
    years = pd.to_numeric(df["year"], errors="coerce")
    if years.isna().any():
        row = int(np.flatnonzero(years.isna().to_numpy())[0])
        raise CompareError(f"{where}: row {row + 2} has no year ({df['year'].iloc[row]!r}); give a four-digit year")
    df["year"] = years.astype(int)
    df["city"] = df["city"].astype(str)
    if "value" not in df.columns:
        df["value"] = df["final_value"]
    df["value"], has_value = _numbers(df["value"], where)
    if "reported" in df.columns:
        rep = df["reported"]
        rep = rep if rep.dtype == bool else rep.astype(str).str.strip().str.lower().isin({"true", "yes", "1"})
        df["reported"] = rep.to_numpy(dtype=bool) & has_value
    else:
        df["reported"] = has_value
    if df.duplicated(["city", "year", "code", "part"]).any():
        dup = df[df.duplicated(["city", "year", "code", "part"], keep=False)].iloc[0]
        raise CompareError(f"{where}: {dup['city']} {dup['year']} has {dup['code']} {dup['part']} twice; "
                           "keep one row per city, year and data point")
    if rescore or not {"band", "points", "target"} <= set(df.columns):
        df = _score_values(df, targets)
    keep = [c for c in df.columns if c not in meta.columns or c in ("code", "part", "target", "target_source")]
    df = df[keep].merge(meta.drop(columns=[c for c in ("target", "target_source") if c in df.columns]),
                        on=["code", "part"], how="left")
    df["target"] = pd.to_numeric(df["target"], errors="coerce")
    df["points"] = pd.to_numeric(df["points"], errors="coerce").astype("float64")  # Int8 would overflow in sums
    df["achievement"] = pd.to_numeric(df["achievement"], errors="coerce") if "achievement" in df else np.nan
    df["band"] = df["band"].where(df["band"].notna(), "").astype(str)
    df["scored"] = df["reported"].astype(bool) & df["points"].notna()
    return df


PROFILE_COLUMNS = ("country", "region", "population", "invented")


def _score_values(df: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Score a values table with the scoring stage (same rules as the city report); profile columns ride along."""
    from ..scoring import score_frame

    cols = [c for c in ("city", "year", "code", "part", "value", "reported", "data_quality", "data_origin", "source",
                        "value_origin") if c in df.columns]
    tidy = pd.DataFrame(score_frame(df[cols], targets).kpis)
    for col in tidy.columns:
        if isinstance(tidy[col].dtype, pd.CategoricalDtype):
            tidy[col] = tidy[col].astype(object)
    prof = [c for c in PROFILE_COLUMNS if c in df.columns]
    if prof:
        tidy = tidy.merge(df[["city", "year", *prof]].drop_duplicates(["city", "year"]), on=["city", "year"],
                          how="left")
    return tidy


# ---------------------------------------------------------------- the comparison object


def compare(results_or_paths: object, targets: str | Path | Targets | None = None,
            year: int | None = None) -> Comparison:
    """Compare many cities/years: Results objects, submissions (.xlsx/.csv), results files (.csv/.parquet/.json,
    or a folder of them), long CSVs (city, year, code, part, value) or DataFrames such as `kpis.synthetic.cities()`.

    `targets` (a target-set file or `Targets`) re-scores every input with that set; `year` keeps one year only.
    """
    items = results_or_paths
    if isinstance(items, str | Path | pd.DataFrame) or not isinstance(items, Iterable):
        items = [items]
    expanded = [x for item in items for x in _expand(item)]
    if not expanded:
        raise CompareError("nothing to compare: give at least one submission, results file or table")
    rescore = targets is not None
    tset = targets if isinstance(targets, Targets) else load_targets(targets)
    meta = _point_meta(tset)
    frames, profiles, sources = [], [], []
    for item in expanded:
        frame, profs, label = _load(item, tset if rescore else None)
        where = str(item.name) if isinstance(item, Path) else label
        frames.append(_standardise(frame, meta, where, rescore, tset))
        profiles.extend(profs)
        sources.append(where)
    tidy = pd.concat(frames, ignore_index=True)
    if tidy.duplicated(["city", "year", "code", "part"]).any():
        dup = tidy[tidy.duplicated(["city", "year", "code", "part"])].iloc[0]
        raise CompareError(f"{dup['city']} {dup['year']} appears in two inputs; give each city and year once")
    if year is not None:
        tidy = tidy[tidy["year"] == year]
        if tidy.empty:
            raise CompareError(f"no input has data for the year {year}")
    tidy = tidy.sort_values(["city", "year", "order"], kind="stable").reset_index(drop=True)
    return Comparison(tidy, _profiles(tidy, profiles), tset.label, sources)


def _profiles(tidy: pd.DataFrame, extra: list[dict]) -> pd.DataFrame:
    """One row per (city, year): population, region, country and the invented flag, from whichever input had them."""
    base = tidy[["city", "year"]].drop_duplicates().reset_index(drop=True)
    cols = ["country", "region", "population", "invented"]
    in_table = [c for c in cols if c in tidy.columns]
    if in_table:
        base = base.merge(tidy[["city", "year", *in_table]].drop_duplicates(["city", "year"]), on=["city", "year"])
    if extra:
        ext = pd.DataFrame([{k: p.get(k) for k in ["city", "year", *cols]} for p in extra if p.get("city")])
        if not ext.empty:
            ext["year"] = pd.to_numeric(ext["year"], errors="coerce")
            base = base.merge(ext.drop_duplicates(["city", "year"]), on=["city", "year"], how="left",
                              suffixes=("", "_profile"))
            for c in cols:
                if f"{c}_profile" in base.columns:
                    base[c] = base[c].combine_first(base.pop(f"{c}_profile")) if c in base.columns \
                        else base.pop(f"{c}_profile")
    for c in cols:
        if c not in base.columns:
            base[c] = False if c == "invented" else None
    base["population"] = pd.to_numeric(base["population"], errors="coerce")
    base["invented"] = base["invented"].fillna(False).astype(str).str.lower().isin({"true", "1", "yes"})
    base["population_band"] = population_band(base["population"])
    return base


def population_band(population: pd.Series) -> pd.Series:
    """OECD functional-urban-area size class of each population ('unknown' where none is given)."""
    pop = pd.to_numeric(population, errors="coerce").to_numpy(dtype=float)
    edges = np.array([e for e, _ in POPULATION_BANDS[1:]], dtype=float)
    labels = np.array([label for _, label in POPULATION_BANDS] + ["unknown"], dtype=object)
    idx = np.where(np.isnan(pop), len(POPULATION_BANDS), np.searchsorted(edges, pop, side="right"))
    return pd.Series(labels[idx], index=population.index)


@dataclass
class Comparison:
    """Many cities × years × KPIs. `.kpis` is the tidy table; the other views are computed from it on demand."""

    kpis: pd.DataFrame
    profiles: pd.DataFrame
    targets_label: str = ""
    sources: list[str] = field(default_factory=list)

    @property
    def cities(self) -> list[str]:
        return sorted(self.kpis["city"].unique())

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.kpis["year"].unique())

    def latest(self) -> pd.DataFrame:
        """The tidy rows of each city's latest year."""
        last = self.kpis.groupby("city")["year"].transform("max")
        return self.kpis[self.kpis["year"] == last]

    @cached_property
    def coverage(self) -> pd.DataFrame:
        """City-year × KPI: True where the city reported the KPI (any data point of it)."""
        rep = self.kpis.groupby(["city", "year", "code"], sort=False)["reported"].any().unstack("code")
        order = self.kpis.drop_duplicates("code").sort_values("order")["code"]
        return rep.reindex(columns=[c for c in order if c in rep.columns]).fillna(False).astype(bool)

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Per (city, year, level, group): points ÷ (4 × data points scored) in %, band and coverage (U4SSC rule)."""
        df = self.kpis.assign(overall="Overall", pts=self.kpis["points"].where(self.kpis["scored"]))
        out = []
        for level in LEVELS:
            g = df.groupby(["city", "year", level], sort=False)
            part = pd.DataFrame({
                "points": g["pts"].sum(min_count=1),
                "scored_points": g["scored"].sum(),
                "kpis_total": g["code"].nunique(),
                "kpis_reported": df[df["reported"]].groupby(["city", "year", level])["code"].nunique(),
                "kpis_scored": df[df["scored"]].groupby(["city", "year", level])["code"].nunique(),
            }).reset_index().rename(columns={level: "group"})
            part.insert(2, "level", level)
            out.append(part)
        res = pd.concat(out, ignore_index=True)
        res[["kpis_reported", "kpis_scored"]] = res[["kpis_reported", "kpis_scored"]].fillna(0).astype(int)
        res["max_points"] = 4 * res["scored_points"]
        with np.errstate(divide="ignore", invalid="ignore"):
            res["score"] = np.where(res["max_points"] > 0, 100 * res["points"] / res["max_points"], np.nan)
        res["band"] = band_of(res["score"].to_numpy() / 100)
        cols = ["city", "year", "level", "group", "points", "max_points", "score", "band", "kpis_total",
                "kpis_reported", "kpis_scored"]
        return res[cols]

    def table(self, level: str = "category", value: str = "band", year: int | None = None) -> pd.DataFrame:
        """Cities (latest year, or `year`) × groups of a level: band, score or kpis_scored."""
        _check_level(level)
        s = self.scores[self.scores["level"] == level]
        s = s[s["year"] == year] if year is not None else s.merge(self._latest_years(), on=["city", "year"])
        order = self.kpis.drop_duplicates(level if level != "overall" else "code")
        groups = ["Overall"] if level == "overall" else list(order.sort_values("order")[level])
        return s.pivot(index="city", columns="group", values=value).reindex(columns=groups)

    def _latest_years(self) -> pd.DataFrame:
        return self.kpis.groupby("city", as_index=False)["year"].max()

    def peers(self, by: str = "population_band", level: str = "overall") -> pd.DataFrame:
        """Each city's score next to the median of its peer group (population band or region) in the same year."""
        if by not in ("population_band", "region"):
            raise CompareError(f"--group-by {by!r}: choose population_band or region")
        _check_level(level)
        s = self.scores[self.scores["level"] == level].merge(self.profiles[["city", "year", by]], on=["city", "year"])
        s["peer_group"] = s[by].fillna("unknown").astype(str)
        grp = s.groupby(["peer_group", "year", "group"])["score"]
        s["peers"] = grp.transform("count")
        s["peer_median"] = grp.transform("median")
        s["vs_peers"] = s["score"] - s["peer_median"]
        cols = ["peer_group", "city", "year", "level", "group", "score", "band", "peers", "peer_median", "vs_peers"]
        return s[cols].sort_values(["peer_group", "group", "score"], ascending=[True, True, False],
                                   ignore_index=True)

    def progress(self, base_year: int | None = None, year: int | None = None,
                 target_year: int = TARGET_YEAR) -> pd.DataFrame:
        """Same city between two years, per data point: change in value and band, and the Open SDG progress
        status (target achieved / on track / needs acceleration / off track / deterioration)."""
        df = self.kpis[self.kpis["reported"] & self.kpis["value"].notna()]
        if base_year is not None:
            df = df[df["year"] >= base_year]
        if year is not None:
            df = df[df["year"] <= year]
        key = ["city", "code", "part"]
        first = df.sort_values("year").groupby(key, sort=False).head(1)
        last = df.sort_values("year").groupby(key, sort=False).tail(1)
        both = first.merge(last, on=key, suffixes=("_0", "_1"))
        both = both[both["year_1"] > both["year_0"]]
        cols = ["city", "code", "part", "name", "category", "direction", "target", "year_0", "value_0", "band_0",
                "year_1", "value_1", "band_1", "change", "points_change", "cagr", "required_cagr", "ratio", "status"]
        if both.empty:
            return pd.DataFrame(columns=cols)
        out = both.rename(columns={"name_0": "name", "category_0": "category", "direction_0": "direction",
                                   "target_0": "target"})
        out["change"] = out["value_1"] - out["value_0"]
        out["points_change"] = out["points_1"] - out["points_0"]
        res = progress_status(out["value_0"], out["value_1"], out["year_0"], out["year_1"], out["target"],
                              out["direction"], target_year)
        out = pd.concat([out.reset_index(drop=True), res], axis=1)
        return out[cols].sort_values(["city", "code", "part"], ignore_index=True)

    def progress_summary(self, **kw) -> pd.DataFrame:
        """Per city: how many data points fall in each progress status."""
        p = self.progress(**kw)
        order = list(PROGRESS_COLOURS)
        if p.empty:
            return pd.DataFrame(columns=order)
        return p.pivot_table(index="city", columns="status", values="code", aggfunc="count", fill_value=0) \
            .reindex(columns=order, fill_value=0)

    def rank(self, level: str = "overall", draws: int = 200, seed: int = 0, margin: float = 0.1,
             year: int | None = None, min_share: float = 0.8, interval: float = 0.9) -> Ranking:
        """Rank cities (each city's latest year, or `year`) with a rank interval from `draws` sensitivity draws.

        See the module docstring for the rule on shared KPIs; `interval` is the central share of draws the
        interval covers (0.9 → 5th to 95th percentile).
        """
        _check_level(level)
        if draws < 1 or not 0 < min_share <= 1 or not 0 <= margin < 1 or not 0 < interval <= 1:
            raise CompareError("rank: draws >= 1, 0 < min_share <= 1, 0 <= margin < 1 and 0 < interval <= 1")
        df = self.kpis[self.kpis["year"] == year] if year is not None else self.latest()
        df = df[df["target"].notna() & df["direction"].isin(["higher", "lower"])]
        return _rank(df, level, draws, seed, margin, min_share, interval)

    def _repr_html_(self) -> str:
        n_inv = self.profiles.loc[self.profiles["invented"], "city"].nunique()
        head = (f"<p><b>Comparison</b>: {len(self.cities)} cities, years {html.escape(_years_text(self.years))}, "
                f"{self.kpis['code'].nunique()} KPIs; targets: {html.escape(self.targets_label)}"
                f"{f'; {n_inv} invented cities' if n_inv else ''}</p>")
        overall = self.scores[self.scores["level"] == "overall"].drop(columns=["level", "group"])
        return head + frame_html(overall.round(1), band_column="band", max_rows=50)


def _years_text(years: Sequence[int]) -> str:
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0]) if years else "none"


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise CompareError(f"level {level!r}: choose one of {', '.join(LEVELS)}")


def progress_status(v0, v1, t0, t1, target, direction, target_year: int = TARGET_YEAR) -> pd.DataFrame:
    """Open SDG progress measure: observed compound annual growth vs the growth needed to reach the target by
    `target_year` (ratio ≥ 0.95 on track, 0.60-0.95 needs acceleration, 0-0.60 off track — Open SDG's "limited
    progress" —, < 0 deterioration); without a target, direction-signed growth vs 1.5 % / 0.5 % a year.
    Non-positive values have no growth rate and are 'not assessable' unless the target is achieved."""
    v0, v1 = np.asarray(v0, dtype=float), np.asarray(v1, dtype=float)
    t0, t1 = np.asarray(t0, dtype=float), np.asarray(t1, dtype=float)
    target = np.asarray(target, dtype=float)
    d = np.where(np.asarray(direction) == "higher", 1.0, np.where(np.asarray(direction) == "lower", -1.0, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        cagr = np.where((v0 > 0) & (v1 > 0), (v1 / v0) ** (1 / (t1 - t0)) - 1, np.nan)
        span = np.maximum(target_year - t0, 1)
        req = np.where((v0 > 0) & (target > 0), (target / v0) ** (1 / span) - 1, np.nan)
        ratio = np.where(np.isnan(target), np.nan, d * cagr / np.maximum(np.abs(req), 1e-12))
    achieved = ~np.isnan(target) & ~np.isnan(d) & (achievement(v1, target, np.asarray(direction)) >= 1)
    status = np.full(len(v0), "not assessable", dtype=object)
    growth = np.where(np.isnan(target), d * cagr, ratio)
    for thresholds, mask in ((PROGRESS_WITH_TARGET, ~np.isnan(target)), (PROGRESS_NO_TARGET, np.isnan(target))):
        graded = np.full(len(v0), "deterioration", dtype=object)
        for edge, label in reversed(thresholds):
            graded = np.where(growth >= edge, label, graded)
        status = np.where(mask & ~np.isnan(growth), graded, status)
    status = np.where(achieved, "target achieved", status)
    return pd.DataFrame({"cagr": cagr, "required_cagr": req, "ratio": ratio, "status": status})


# ---------------------------------------------------------------- rankings with intervals


@dataclass
class Ranking:
    """Ranks with intervals; `.table` has one row per (group, ranked city), `.excluded` the cities not ranked."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    points: list[tuple[str, str]]
    rule: str
    level: str
    draws: int

    def _repr_html_(self) -> str:
        note = f"<p>{html.escape(self.rule)}</p>"
        shown = self.table.drop(columns=["level"]).round(1)
        return note + frame_html(shown, band_column="band", max_rows=100)


def _rank(df: pd.DataFrame, level: str, draws: int, seed: int, margin: float, min_share: float,
          interval: float) -> Ranking:
    if df.empty:
        raise CompareError("rank: no city has a scored KPI (reported, with a target) to rank on")
    key = df[["city", "year"]].drop_duplicates().sort_values("city", ignore_index=True)
    meta = df.drop_duplicates(["code", "part"]).sort_values("order")[
        ["code", "part", "target", "direction", "category", "sub_dimension", "dimension"]].reset_index(drop=True)
    meta["overall"] = "Overall"
    ci = pd.MultiIndex.from_frame(key)
    pi = pd.MultiIndex.from_frame(meta[["code", "part"]])
    wide = df.assign(v=df["value"].where(df["scored"])).pivot_table(
        index=["city", "year"], columns=["code", "part"], values="v", aggfunc="first", dropna=False)
    V = wide.reindex(index=ci, columns=pi).to_numpy(dtype=float)
    has = ~np.isnan(V)
    share_p = has.mean(axis=0)
    keep_p = share_p >= min_share - 1e-12
    share_c = has[:, keep_p].sum(axis=1) / max(keep_p.sum(), 1)
    keep_c = (share_c >= min_share - 1e-12) & (keep_p.sum() > 0)
    excluded = key[~keep_c].assign(
        scored_share=np.round(100 * share_c[~keep_c], 1),
        reason=f"scored fewer than {min_share:.0%} of the data points the ranking uses")
    rule = (f"Ranked on {int(keep_p.sum())} data points scored by at least {min_share:.0%} of the cities; "
            f"{int(keep_c.sum())} of {len(key)} cities scored at least {min_share:.0%} of them and are ranked. "
            "A missing data point counts at the floor (lowest band, 0 % of target), so not reporting never "
            f"raises a rank. Intervals: {interval:.0%} of {draws} draws over targets ± {margin:.0%}, arithmetic "
            f"vs geometric aggregation, U4SSC bands vs distance to target. Rank differences within the "
            f"intervals, or of {NOISE_PLACES} places or fewer, are not meaningful.")
    points = list(zip(meta["code"][keep_p], meta["part"][keep_p], strict=True))
    if not keep_c.any():
        empty = pd.DataFrame(columns=["level", "group", "city", "year", "rank", "rank_low", "rank_high"])
        return Ranking(empty, excluded, points, rule, level, draws)
    V = V[np.ix_(keep_c, keep_p)]
    meta = meta[keep_p].reset_index(drop=True)
    groups = pd.Index(meta[level].unique())
    G = np.zeros((len(meta), len(groups)), dtype=np.float32)
    G[np.arange(len(meta)), groups.get_indexer(meta[level])] = 1
    G /= G.sum(axis=0, keepdims=True)
    scores = _draw_scores(V, meta["target"].to_numpy(float), meta["direction"].to_numpy(), G, draws, seed, margin)
    ranks = _ranks(scores)  # (draws, cities, groups)
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    low = np.minimum(np.quantile(ranks, lo_q, axis=0, method="lower"), ranks[0])  # the interval holds the
    high = np.maximum(np.quantile(ranks, hi_q, axis=0, method="higher"), ranks[0])  # published-method rank
    med = np.median(ranks, axis=0)
    ranked = key[keep_c].reset_index(drop=True)
    C, K = scores.shape[1], scores.shape[2]
    tab = pd.DataFrame({
        "level": level,
        "group": np.tile(groups.to_numpy(), C),
        "city": np.repeat(ranked["city"].to_numpy(), K),
        "year": np.repeat(ranked["year"].to_numpy(), K),
        "ranking_score": (100 * scores[0]).ravel(),
        "rank": ranks[0].ravel(),
        "rank_low": low.ravel(),
        "rank_high": high.ravel(),
        "rank_median": med.ravel(),
        "missing_points": np.repeat((~np.isnan(V)).shape[1] - (~np.isnan(V)).sum(axis=1), K),
    })
    tab["band"] = band_of(tab["ranking_score"].to_numpy() / 100)
    tab = tab.sort_values(["group", "rank", "city"], ignore_index=True)
    tab["note"] = _notes(tab)
    return Ranking(tab, excluded.reset_index(drop=True), points, rule, level, draws)


def _draw_scores(V: np.ndarray, T: np.ndarray, direction: np.ndarray, G: np.ndarray, draws: int, seed: int,
                 margin: float, chunk: int = 25) -> np.ndarray:
    """Scores (draws × cities × groups) in 0-1. Draw 0 is the U4SSC method as published: targets as given, bands,
    arithmetic mean; the others sample the three choices. Vectorised over draws, in chunks to bound memory."""
    rng = np.random.default_rng(seed)
    D = draws
    mult = rng.uniform(1 - margin, 1 + margin, size=(D, len(T))).astype(np.float32)
    geometric = rng.random(D) < 0.5
    distance = rng.random(D) < 0.5
    mult[0], geometric[0], distance[0] = 1.0, False, False
    Vf = V.astype(np.float32)
    missing = np.isnan(Vf)
    lower = direction == "lower"
    out = np.empty((D, V.shape[0], G.shape[1]), dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for s in range(0, D, chunk):
            tm = (T[None, :] * mult[s:s + chunk])[:, None, :]  # (d, 1, P)
            v = Vf[None, :, :]
            up = np.where(tm > 0, v / tm, 1.0)
            down = np.where(v > 0, tm / v, 1.0)
            share = np.clip(np.where(lower, down, up), 0, 1)
            edge = share + 1e-6  # float32: the same edge rule as the bands, within single precision
            banded = (1 + (edge >= 0.33).astype(np.float32) + (edge >= 0.66) + (edge >= 0.95)) / 4
            dist = distance[s:s + chunk, None, None]
            pt = np.where(dist, share, banded)
            pt = np.where(missing, np.where(dist, 0.0, 0.25), pt).astype(np.float32)
            geo = geometric[s:s + chunk, None, None]
            logs = np.log(np.maximum(pt, GEOMETRIC_FLOOR))
            arith = pt @ G
            gmean = np.exp(logs @ G)
            out[s:s + chunk] = np.where(geo, gmean, arith)
    return out


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Competition ranks (1 = best; ties share the better rank) along the city axis, for every draw and group."""
    x = np.round(scores.astype(np.float64), 6)
    order = np.argsort(-x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, axis=1)
    new = np.ones_like(xs, dtype=bool)
    new[:, 1:] = xs[:, 1:] != xs[:, :-1]
    pos = np.arange(x.shape[1])[None, :, None]
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=1) + 1
    ranks = np.empty_like(first)
    np.put_along_axis(ranks, order, first, axis=1)
    return ranks


def _notes(tab: pd.DataFrame) -> list[str]:
    """Plain-language reading of each rank: ties, overlap with neighbours, or a clear position."""
    notes = []
    for _, g in tab.groupby("group", sort=False):
        low, high, rank = g["rank_low"].to_numpy(), g["rank_high"].to_numpy(), g["rank"].to_numpy()
        for i in range(len(g)):
            tied = int((rank == rank[i]).sum()) - 1
            overlap = int(((low <= high[i]) & (high >= low[i])).sum()) - 1
            if tied:
                notes.append(f"tied with {tied} other {'city' if tied == 1 else 'cities'}")
            elif overlap:
                notes.append(f"not distinguishable from {overlap} other {'city' if overlap == 1 else 'cities'}")
            elif len(g) > 1:
                notes.append("clearly placed")
            else:
                notes.append("only city ranked")
    return notes


# ---------------------------------------------------------------- charts (static matplotlib, for the notebook)


def plot_heatmap(comp: Comparison, level: str = "category", max_cities: int = 60):
    """Cities × groups coloured by band (latest year of each city)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    bands = comp.table(level, "band").head(max_cities)
    keys = ["not scored", *BANDS]
    codes = bands.apply(lambda col: col.map(lambda b: keys.index(b) if b in BANDS else 0)).to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * bands.shape[1] + 3), max(2.5, 0.28 * len(bands) + 1.5)))
    ax.imshow(codes, cmap=ListedColormap([BAND_COLOURS[k] for k in keys]), vmin=-0.5, vmax=4.5, aspect="auto")
    ax.set_xticks(range(bands.shape[1]), [str(c) for c in bands.columns], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(bands)), [str(c) for c in bands.index], fontsize=7)
    ax.legend(handles=[Patch(color=BAND_COLOURS[k], label=k) for k in keys], bbox_to_anchor=(1.01, 1),
              loc="upper left", fontsize=7, title="band")
    ax.set_title(f"Bands by {level.replace('_', '-')}")
    fig.tight_layout()
    return fig


def plot_radar(comp: Comparison, cities: Sequence[str] | None = None, level: str = "sub_dimension"):
    """Scores of a few cities overlaid on one radar (latest year of each)."""
    import matplotlib.pyplot as plt

    scores = comp.table(level, "score")
    chosen = [c for c in (cities or scores.index[:4]) if c in scores.index][:8]
    angles = np.linspace(0, 2 * np.pi, scores.shape[1], endpoint=False)
    fig, ax = plt.subplots(figsize=(6.5, 6.5), subplot_kw={"polar": True})
    for city in chosen:
        vals = scores.loc[city].fillna(0).to_numpy(dtype=float)
        ax.plot(np.append(angles, angles[0]), np.append(vals, vals[0]), label=str(city))
        ax.fill(np.append(angles, angles[0]), np.append(vals, vals[0]), alpha=0.08)
    ax.set_xticks(angles, [str(c) for c in scores.columns], fontsize=7)
    ax.set_ylim(0, 100)
    ax.legend(loc="upper right", bbox_to_anchor=(1.35, 1.1), fontsize=7)
    ax.set_title(f"Score by {level.replace('_', '-')} (% of maximum points)")
    fig.tight_layout()
    return fig


def plot_ranking(ranking: Ranking, group: str | None = None, max_cities: int = 40):
    """Base rank (dot) and rank interval (bar) of each city."""
    import matplotlib.pyplot as plt

    tab = ranking.table
    if tab.empty:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.text(0.5, 0.5, "no city could be ranked", ha="center", va="center")
        ax.axis("off")
        return fig
    tab = tab[tab["group"] == (group or tab["group"].iloc[0])].head(max_cities)
    y = np.arange(len(tab))
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.3 * len(tab) + 1.2)))
    ax.hlines(y, tab["rank_low"], tab["rank_high"], color="#4575b4", linewidth=4, alpha=0.5, label="rank interval")
    ax.scatter(tab["rank"], y, color=[BAND_COLOURS.get(b, "#e0e0e0") for b in tab["band"]], edgecolor="black",
               zorder=3, label="rank (U4SSC method)")
    ax.set_yticks(y, [str(c) for c in tab["city"]], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("rank (1 = best)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Ranking with {ranking.draws}-draw intervals")
    fig.tight_layout()
    return fig


def plot_coverage(comp: Comparison, max_cities: int = 60):
    """City-year × KPI: reported (dark) or not."""
    import matplotlib.pyplot as plt

    cov = comp.coverage.head(max_cities)
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.25 * len(cov) + 1.5)))
    ax.imshow(cov.to_numpy(dtype=float), cmap="Greys", vmin=0, vmax=1.4, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(cov)), [f"{c} {y}" for c, y in cov.index], fontsize=7)
    ax.set_xticks(range(cov.shape[1]), [str(c) for c in cov.columns], rotation=90, fontsize=5)
    ax.set_title("KPIs reported (dark) by city and year")
    fig.tight_layout()
    return fig


def plot_progress(comp: Comparison, max_cities: int = 40):
    """Stacked count of data points per progress status, per city with at least two years."""
    import matplotlib.pyplot as plt

    summ = comp.progress_summary().head(max_cities)
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(summ) + 1.5)))
    if summ.empty:
        ax.text(0.5, 0.5, "no city has two years of data", ha="center", va="center")
        ax.axis("off")
        return fig
    left = np.zeros(len(summ))
    for status in summ.columns:
        ax.barh(range(len(summ)), summ[status], left=left, color=PROGRESS_COLOURS[status], label=status)
        left += summ[status].to_numpy()
    ax.set_yticks(range(len(summ)), [str(c) for c in summ.index], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("data points")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_title("Progress between the first and the latest year (Open SDG method)")
    fig.tight_layout()
    return fig


def styled(frame: pd.DataFrame, band_column: str | None = "band") -> str:
    """Escaped HTML of a frame with band colours (for notebook and report tables)."""
    return frame_html(frame, band_column=band_column)


def band_table_html(table: pd.DataFrame) -> str:
    """A cities × groups table of bands as escaped, coloured HTML."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ["city", *table.columns])
    rows = []
    for city, row in table.iterrows():
        cells = "".join(f'<td style="{band_style(b)}">{html.escape(str(b) if isinstance(b, str) else "")}</td>'
                        for b in row)
        rows.append(f"<tr><th>{html.escape(str(city))}</th>{cells}</tr>")
    return f'<table class="ssc-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


# ---------------------------------------------------------------- the comparison report (notebook + CLI)


class HTMLBlock(str):
    """Escaped HTML that JupyterLab and nbconvert display as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


class PNGChart:
    """A finished chart as PNG bytes with its alt text (no live figure is left to be shown twice)."""

    def __init__(self, fig, alt: str):
        import io

        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        self.png, self.alt = buf.getvalue(), alt

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/png": self.png}, {"image/png": {"ssc_alt": self.alt}}


def bundled_inputs() -> list[Path]:
    """The cities shipped in data/ (the invented demo city and the published cities as filled templates),
    the default of `ssc compare`."""
    from ..paths import bundled

    folder = bundled("data")
    files = sorted(p for p in [folder / "demo_city.xlsx", *(folder / "cities").glob("*.xlsx")] if p.is_file())
    if not files:
        raise CompareError(f"no bundled cities in {folder.name}/; give submissions or results files to compare")
    return files


@dataclass
class ComparisonReport:
    """What the comparison notebook shows: every table escaped, every chart a static PNG."""

    comparison: Comparison
    ranking: Ranking
    group_by: str = "population_band"
    radar_cities: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, inputs: Sequence[str] | str | None = None, targets: str | None = None, year: int | None = None,
              group_by: str = "population_band", radar_cities: Sequence[str] = (), draws: int = 200,
              seed: int = 0, input_names: Sequence[str] = ()) -> ComparisonReport:
        items = [inputs] if isinstance(inputs, str) else list(inputs or [])
        comp = compare([Path(p) for p in items] if items else bundled_inputs(), targets=targets or None, year=year)
        if input_names:  # the files the user gave, when the runner hands over a prepared table instead
            comp.sources = [str(n) for n in input_names]
        return cls(comp, comp.rank(draws=draws, seed=seed), group_by or "population_band", list(radar_cities))

    def title(self) -> HTMLBlock:
        c = self.comparison
        invented = c.profiles.loc[c.profiles["invented"], "city"].nunique()
        note = (f'<p class="notice">{invented} of the cities are invented (generated data), not real cities.</p>'
                if invented else "")
        return HTMLBlock(
            f"<h1>Comparison of {len(c.cities)} cities</h1>"
            f'<p class="subtitle">U4SSC KPIs (ITU-T Y.4903/L.1603) · years {html.escape(_years_text(c.years))} · '
            f"targets: {html.escape(c.targets_label)}</p>{note}")

    def method(self) -> HTMLBlock:
        c = self.comparison
        src = ", ".join(html.escape(s) for s in c.sources[:20]) + (" …" if len(c.sources) > 20 else "")
        return HTMLBlock(
            "<p>Scores are U4SSC points (1 to 4 per data point by share of target) earned ÷ the maximum over the "
            "data points each city reported and that have a target. Categories and years are each city's latest "
            f"unless stated.</p><p><b>Ranking rule.</b> {html.escape(self.ranking.rule)}</p>"
            f'<p class="small">Inputs: {src}</p>')

    def legend(self) -> HTMLBlock:
        items = "".join(f'<span class="band" style="{band_style(b)}">{html.escape(b)}</span>'
                        for b in (*BANDS[::-1], "not scored"))
        return HTMLBlock(f'<div class="legend">{items}</div>')

    def heatmap(self, level: str = "category") -> PNGChart:
        return PNGChart(plot_heatmap(self.comparison, level), f"Band of every city in each {level}")

    def band_table(self, level: str = "dimension") -> HTMLBlock:
        return HTMLBlock(band_table_html(self.comparison.table(level, "band").head(200)))

    def radar(self, level: str = "sub_dimension") -> PNGChart:
        return PNGChart(plot_radar(self.comparison, self.radar_cities or None, level),
                        f"Radar of {level} scores for chosen cities")

    def ranking_chart(self) -> PNGChart:
        return PNGChart(plot_ranking(self.ranking), "Rank and rank interval of each city")

    def ranking_table(self) -> HTMLBlock:
        tab = self.ranking.table.drop(columns=["level", "group"]).round(1)
        excl = self.ranking.excluded
        more = (f"<p>Not ranked ({len(excl)}): {html.escape(', '.join(map(str, excl['city'][:30])))}"
                f"{' …' if len(excl) > 30 else ''}</p>" if len(excl) else "")
        return HTMLBlock(frame_html(tab, band_column="band", max_rows=100) + more)

    def coverage_chart(self) -> PNGChart:
        return PNGChart(plot_coverage(self.comparison), "KPIs reported by each city and year")

    def coverage_table(self) -> HTMLBlock:
        s = self.comparison.scores
        tab = s[s["level"] == "overall"][["city", "year", "kpis_total", "kpis_reported", "kpis_scored", "score",
                                           "band"]].round(1)
        return HTMLBlock(frame_html(tab, band_column="band", max_rows=200))

    def peers_table(self) -> HTMLBlock:
        tab = self.comparison.peers(self.group_by).drop(columns=["level", "group"]).round(1)
        return HTMLBlock(frame_html(tab, band_column="band", max_rows=200))

    def progress_chart(self) -> PNGChart:
        return PNGChart(plot_progress(self.comparison), "Progress status counts per city")

    def progress_table(self) -> HTMLBlock:
        summ = self.comparison.progress_summary()
        if summ.empty:
            return HTMLBlock("<p>No city has two years of data, so progress cannot be measured.</p>")
        return HTMLBlock(frame_html(summ.reset_index(), band_column=None, max_rows=200))


# ---------------------------------------------------------------- `ssc compare`

NOTEBOOK = "compare_cities.ipynb"


def _with_profiles(comp: Comparison) -> pd.DataFrame:
    """The tidy table with each city's profile (population, region, country, invented) on every row."""
    prof = comp.profiles.drop(columns=["population_band"])
    own = [c for c in prof.columns if c not in ("city", "year") and c in comp.kpis.columns]
    return comp.kpis.drop(columns=own).merge(prof, on=["city", "year"], how="left")


def write_exports(comp: Comparison, ranking: Ranking, out: Path) -> list[Path]:
    """The data behind the report, safe to open in a spreadsheet (formula-like text made inert)."""
    from ..export import neutralise_frame
    from ..paths import atomic_write

    files = {
        "comparison_kpis.csv": _with_profiles(comp),
        "scores.csv": comp.scores,
        "ranking.csv": ranking.table,
        "coverage.csv": comp.coverage.reset_index(),
        "progress.csv": comp.progress(),
    }
    written = []
    for name, frame in files.items():
        atomic_write(out / name, neutralise_frame(frame).to_csv(index=False))
        written.append(out / name)
    return written


def cli_compare(args) -> int:
    """`ssc compare FILE_OR_RESULTS… [--out] [--group-by] [--year] [--targets]`: the comparison report."""
    import time

    import papermill

    from .. import engine
    from ..paths import atomic_write, bundled
    from ..render import notebook_to_html
    from ..run import check_parameters, notebook_parameters

    t0 = time.perf_counter()
    out = Path(args.out)
    inputs = [Path(p) for p in args.inputs] if args.inputs else bundled_inputs()
    group_by = args.group_by or "population_band"
    if group_by not in ("population_band", "region"):
        raise CompareError(f"--group-by {group_by!r}: choose population_band or region")
    comp = compare(inputs, targets=args.targets, year=args.year)  # bad input fails here, with its message
    ranking = comp.rank()
    out.mkdir(parents=True, exist_ok=True)
    write_exports(comp, ranking, out)
    prepared = out / "comparison.parquet"  # the notebook reads the checked, scored table, not the raw files
    _with_profiles(comp).to_parquet(prepared, index=False)
    params = {"inputs": [str(prepared.resolve())], "group_by": group_by, "year": args.year, "targets": "",
              "radar_cities": [], "draws": 200, "seed": 0, "input_names": [p.name for p in inputs]}
    notebook = bundled("notebooks", NOTEBOOK)
    # papermill writes names into code: only names the parameters cell declares, only plain JSON values
    params = check_parameters(params, notebook_parameters(notebook))
    engine.register()
    t1 = time.perf_counter()
    try:  # no output path: the executed notebook is not kept, and papermill need not rewrite it at every cell
        nb = papermill.execute_notebook(str(notebook), None, parameters=params, kernel_name="python3",
                                        engine_name=engine.ENGINE_NAME, progress_bar=False, log_output=False)
    except papermill.PapermillExecutionError as exc:
        print(f"ssc compare: the comparison notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
              f"(the data files in {out} were written)", file=sys.stderr)
        return 1
    atomic_write(out / "report.html", notebook_to_html(nb, f"Comparison of {len(comp.cities)} cities"))
    t2 = time.perf_counter()
    excl = f", {len(ranking.excluded)} not ranked" if len(ranking.excluded) else ""
    print(f"Compared {len(comp.cities)} cities ({_years_text(comp.years)}){excl}: {out / 'report.html'} "
          f"(data {t1 - t0:.1f} s, report {t2 - t1:.1f} s)")
    return 0


# ---------------------------------------------------------------- `kpis.compare(...)` stays callable
