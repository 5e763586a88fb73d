"""Reading the inputs of a comparison and bringing them to one tidy form.

Inputs are Results objects, submissions (.xlsx/.csv), saved results (.xlsx/.csv/.parquet/.json, or a folder of
them), long CSVs (city, year, code, part, value) and DataFrames. Every one ends as the tidy table the comparison
works on: one row per city, year and data point, with hierarchy, target, band and points. Numbers typed as text are
read by `kpis.rules`, the same rules as the submission intake, so '1,500' means the same everywhere (and is refused
as ambiguous).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import rules
from ..errors import UserError
from ..export import restore_frame
from ..i18n import N_, T, Text
from ..library import Targets, catalogue_frame, points_table
from ..models import normalise_code
from ..paths import bundled
from ..results import DATASET_MARKER, DATASET_PROFILE, KPI_COLUMNS, Results, is_dataset, read_dataset
from ..scoring import score, score_frame
from .errors import CompareError

MAX_INPUT_BYTES = 200 * 1024 * 1024
RESULT_SUFFIXES = {".csv", ".parquet", ".json"}
SUBMISSION_SUFFIXES = {".xlsx", ".xlsm", ".csv"}
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm"}
PROFILE_COLUMNS = ("country", "region", "population", "invented")
#: Columns of a values table that the scoring stage reads.
SCORING_INPUT_COLUMNS = ("city", "year", "code", "part", "value", "reported", "data_quality", "data_origin", "source",
                         "value_origin")
KEY = ["city", "year", "code", "part"]
SHOWN_ROWS = 5  # rows named in one error message

Loaded = tuple[pd.DataFrame, list[dict], str]  # (tidy or values table, profiles, label)


def point_meta(targets: Targets) -> pd.DataFrame:
    """One row per data point: hierarchy, unit, direction and the target of the chosen target set."""
    pts = points_table()[["code", "part", "order", "point_label", "unit", "direction"]]
    cat = pd.DataFrame(catalogue_frame(targets))[["code", "name", "dimension", "sub_dimension", "category", "tier"]]
    meta = pts.merge(cat, on="code", how="left")
    found = [targets.for_point(c, p) for c, p in zip(meta["code"], meta["part"], strict=True)]
    meta["target"] = [t.target if t and t.target is not None else np.nan for t in found]
    meta["target_source"] = [t.source if t else "" for t in found]
    return meta


def bundled_inputs() -> list[Path]:
    """The cities shipped in data/ (the invented demo city and the published cities as filled templates),
    the default of `ssc compare`."""
    folder = bundled("data")
    files = sorted(p for p in [folder / "demo_city.xlsx", *(folder / "cities").glob("*.xlsx")] if p.is_file())
    if not files:
        raise CompareError(T("no bundled cities in {folder}/; give submissions or results files to compare",
                             folder=folder.name))
    return files


# ---------------------------------------------------------------- files and objects


def expand(item: object) -> list[object]:
    """A folder becomes the results and submissions in it (a saved results folder, holding kpis.csv, stays whole)."""
    if not (isinstance(item, str | Path) and Path(item).is_dir()):
        return [item]
    folder = Path(item)
    if (folder / "kpis.csv").is_file() or is_dataset(folder):
        return [folder]
    result_dirs = sorted({p.parent for p in folder.rglob("kpis.csv")} | {p.parent for p in folder.rglob(DATASET_MARKER)})
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and p.suffix.lower() in RESULT_SUFFIXES | SUBMISSION_SUFFIXES
                   and not p.name.startswith((".", "~$")) and p.name != "manifest.json"
                   and not any(d in p.parents for d in result_dirs))
    batches = [d.parent for d in result_dirs if is_dataset(d)]
    # an `ssc assess` output folder: every city it finished wrote a part of its dataset, so the cities' own
    # results.xlsx would count each city-year twice
    files = [p for p in files if not (p.name == "results.xlsx" and any(b in p.parents for b in batches))]
    if not files and not result_dirs:
        raise CompareError(T("{folder}: no submission (.xlsx/.csv) or results (.xlsx/.csv/.parquet/.json) files in it",
                             folder=str(folder)))
    return [*result_dirs, *files]


def read_input(item: object, targets: Targets | None, year: int | None = None) -> Loaded:
    """One input (not a Comparison) as (tidy or values table, profiles, label). `year` lets a results dataset
    read that year's files only (other inputs are filtered after reading)."""
    if isinstance(item, pd.DataFrame):
        return item, [], "table"
    if hasattr(item, "kpis") and isinstance(item.kpis, pd.DataFrame):
        return (*_from_results(item), "results")
    if not isinstance(item, str | Path):
        raise CompareError(f"cannot compare a {type(item).__name__}: give Results, a DataFrame or a file path")
    path = Path(item)
    if not path.exists():
        raise CompareError(T("{path}: no such file or folder", path=str(path)))
    if is_dataset(path):
        columns = [*KPI_COLUMNS, *DATASET_PROFILE]
        return read_dataset(path, columns, year), [], path.name
    return _read_path(path, targets)


def _read_path(path: Path, targets: Targets | None) -> Loaded:
    suffix = path.suffix.lower()
    if suffix in RESULT_SUFFIXES and not path.is_dir():
        _check_table(path)
    if path.is_dir() or (suffix in WORKBOOK_SUFFIXES and _results_sheet(path)):
        return (*_from_results(Results.load(path)), path.name)
    if suffix in WORKBOOK_SUFFIXES:
        return _from_submission(path, targets)
    if suffix == ".csv":
        head = pd.read_csv(path, nrows=0, dtype=str)
        if not _is_long_table(head.columns):
            return _from_submission(path, targets)
        return _read_table(path), [], path.name
    if suffix in {".parquet", ".json"}:
        try:
            return (*_from_results(Results.load(path)), path.name)
        except UserError:  # a plain long table rather than a saved Results
            return _read_table(path), [], path.name
    raise CompareError(T("{file}: not a submission (.xlsx/.csv) or a results file (.xlsx/.csv/.parquet/.json)",
                         file=path.name))


def _check_table(path: Path) -> None:
    # imported here: the file limits cost ~0.3 s of start-up (openpyxl), needed only for files
    from ..limits import Refused, check_table

    try:
        check_table(path)
    except Refused as exc:
        raise CompareError(str(exc)) from None


def _read_table(path: Path) -> pd.DataFrame:
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise CompareError(T("{file}: larger than {mb} MB; split it by city or year", file=path.name,
                             mb=MAX_INPUT_BYTES // 2**20))
    try:
        if path.suffix.lower() == ".csv":  # undo the formula protection of our own exports
            return restore_frame(pd.read_csv(path, dtype=str, keep_default_na=False))
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except (OSError, ValueError, ImportError) as exc:
        raise CompareError(T("{file}: cannot be read as a results table ({error})", file=path.name,
                             error=str(exc))) from None
    except RecursionError:
        raise CompareError(f"{path.name}: the JSON is nested too deeply to be a table; a results table is a list "
                           "of rows (objects of column: value)") from None
    if isinstance(raw, dict) and isinstance(raw.get("kpis"), list):
        raw = raw["kpis"]
    if not isinstance(raw, list):
        raise CompareError(T("{file}: expected a list of rows (or an object with a 'kpis' list)", file=path.name))
    return pd.DataFrame(raw)


def _results_sheet(path: Path) -> str | None:
    """The 'kpis' sheet of a results workbook written by `ssc assess`, or None for a submission."""
    # imported here: openpyxl and the file limits cost ~0.3 s of start-up, needed only for workbooks
    from openpyxl import load_workbook

    from ..limits import RESULTS, Refused, check_file

    try:
        check_file(path, RESULTS)
    except Refused as exc:
        raise CompareError(f"{path.name}: {exc}") from None
    try:
        wb = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure of an untrusted file is a user error
        raise CompareError(T("{file}: not a readable workbook ({error}); save it again as .xlsx", file=path.name,
                             error=type(exc).__name__)) from None
    try:
        return next((name for name in wb.sheetnames if name.strip().lower() == "kpis"), None)
    finally:
        wb.close()


def _is_long_table(columns: Iterable[str]) -> bool:
    cols = {str(c).strip().lower() for c in columns}
    return "city" in cols and ({"code", "kpi_code"} & cols) != set() and ({"value", "final_value"} & cols) != set()


def _from_submission(path: Path, targets: Targets | None) -> Loaded:
    # imported here: the submission reader (validation, openpyxl) costs ~0.25 s of start-up
    from ..validation import read_submission

    sub = read_submission(path)
    res = score(sub, targets=targets)
    return pd.DataFrame(res.kpis), [profile_dict(sub.profile)], path.name


def _from_results(res: Any) -> tuple[pd.DataFrame, list[dict]]:
    """A Results object: its tidy table and the profile of each city-year it holds."""
    profiles = getattr(res, "profiles", None)
    if isinstance(profiles, dict):
        profs = [{"city": k[0], "year": k[1], **profile_dict(v)} if isinstance(k, tuple) else profile_dict(v)
                 for k, v in profiles.items()]
    else:
        one = profile_dict(getattr(res, "profile", None))
        profs = [one] if one else []
    return pd.DataFrame(res.kpis), profs


def profile_dict(profile: object) -> dict:
    """A city profile (pydantic model, dict or object) as a plain dict."""
    if profile is None:
        return {}
    if hasattr(profile, "model_dump"):
        return dict(profile.model_dump())
    if isinstance(profile, dict):
        return dict(profile)
    return {k: getattr(profile, k) for k in ("city", "country", "year", "population", "region") if hasattr(profile, k)}


# ---------------------------------------------------------------- one tidy form


def standardise(frame: pd.DataFrame, meta: pd.DataFrame, where: str, rescore: bool, targets: Targets) -> pd.DataFrame:
    """Any accepted table → the tidy columns compare needs, scored with the comparison's target set if needed."""
    df = _plain_columns(frame, where)
    _check_points(df, meta, where)
    df["year"] = _years(df["year"], where)
    df["city"] = df["city"].astype(str)
    if "value" not in df.columns:
        df["value"] = df["final_value"]
    df["value"] = read_values(df["value"], where)
    df["reported"] = _reported(df) & ~np.isnan(df["value"].to_numpy(dtype=float))
    if df.duplicated(KEY).any():
        dup = df[df.duplicated(KEY, keep=False)].iloc[0]
        raise CompareError(T("{where}: {city} {year} has {code} {part} twice; keep one row per city, year and data "
                             "point", where=where, city=dup["city"], year=dup["year"], code=dup["code"],
                             part=dup["part"]))
    if rescore or not {"band", "points", "target"} <= set(df.columns):
        df = score_values(df, targets)
    return _with_meta(df, meta)


def _plain_columns(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """A copy with lower-case column names, object text columns, `code` and a stripped `part`."""
    df = pd.DataFrame(frame).copy()
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object)
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "code" not in df.columns and "kpi_code" in df.columns:
        df = df.rename(columns={"kpi_code": "code"})
    missing = [c for c in ("city", "year", "code") if c not in df.columns]
    if missing:
        raise CompareError(T("{where}: missing column(s) {columns}; a long table has city, year, code, part (for "
                             "composite KPIs) and value", where=where, columns=", ".join(missing)))
    if "part" not in df.columns:
        df["part"] = ""
    df["part"] = df["part"].fillna("").astype(str).str.strip()
    return df


def _check_points(df: pd.DataFrame, meta: pd.DataFrame, where: str) -> None:
    """Normalise the KPI codes in place; every (code, part) must be a data point of the catalogue."""
    codes = {c: normalise_code(c) for c in df["code"].astype(str).unique()}
    df["code"] = df["code"].astype(str).map(codes)
    known = set(zip(meta["code"], meta["part"], strict=True))
    # the distinct (code, part) pairs only: a table of 5,000 cities has ~100 of them in 500,000 rows
    keys = list(df[["code", "part"]].drop_duplicates().itertuples(index=False, name=None))
    parts_of = meta[meta["part"] != ""].groupby("code")["part"].agg(", ".join).to_dict()
    no_part = sorted({c for c, p in keys if p == "" and c in parts_of})
    if no_part:
        raise CompareError(T("{where}: KPI {code} is scored per data point; add a 'part' column naming one of "
                             "{parts} on each of its rows", where=where, code=no_part[0], parts=parts_of[no_part[0]]))
    unknown = sorted({f"{c} {p}".strip() for c, p in keys if (c, p) not in known})
    if unknown:
        raise CompareError(T("{where}: unknown KPI code or data point {codes}; use the codes of `ssc catalogue`",
                             where=where, codes=", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")))


def _years(column: pd.Series, where: str) -> pd.Series:
    years = pd.to_numeric(column, errors="coerce")
    if years.isna().any():
        row = int(np.flatnonzero(years.isna().to_numpy())[0])
        raise CompareError(T("{where}: row {row} has no year ({cell}); give a four-digit year", where=where,
                             row=row + 2, cell=repr(column.iloc[row])))
    return years.astype(int)


def _reported(df: pd.DataFrame) -> np.ndarray:
    """The `reported` flags a table carries (True, 'yes', '1'), all True when it has none."""
    if "reported" not in df.columns:
        return np.ones(len(df), dtype=bool)
    rep = df["reported"]
    rep = rep if rep.dtype == bool else rep.astype(str).str.strip().str.lower().isin({"true", "yes", "1"})
    return rep.to_numpy(dtype=bool)


def read_values(column: pd.Series, where: str) -> np.ndarray:
    """A value column as numbers by `rules.parse_numbers` (NaN where not reported); yes/no words by
    `rules.parse_yes_no`. Text that is not a number, or that reads two ways ('1,500'), is an error naming its rows.
    Rows are counted as in a CSV file: the header is row 1."""
    values, status = rules.parse_numbers(column)
    cells = column.to_numpy(dtype=object)
    words = np.flatnonzero(status == "text")
    if len(words):
        answers = np.array([rules.parse_yes_no(cells[i]) for i in words], dtype=object)
        answered = np.array([a is not None for a in answers], dtype=bool)
        values[words[answered]] = answers[answered].astype(float)
        status[words[answered]] = "number"
    _refuse(cells, status, "text", where, N_("{where}: values that are not numbers at {rows}; write a number, or NR "
                                             "if not reported"))
    _refuse(cells, status, "ambiguous", where, N_("{where}: {rows} could be read two ways ('1,500' is 1500 with a "
                                                  "thousands comma or 1.5 with a decimal comma); type the number "
                                                  "without a thousands separator, with '.' for decimals"))
    _refuse(cells, status, "not_finite", where, N_("{where}: values that are not finite numbers at {rows}; type the "
                                                   "figure itself"))
    return values


def _refuse(cells: np.ndarray, status: np.ndarray, which: str, where: str, message: str) -> None:
    bad = np.flatnonzero(status == which)
    if len(bad):
        rows = [T("row {row} ({cell})", row=i + 2, cell=repr(str(cells[i])[:30])) for i in bad[:SHOWN_ROWS]]
        more = T(" and {count} more", count=len(bad) - SHOWN_ROWS) if len(bad) > SHOWN_ROWS else None
        raise CompareError(Text(message, where=where, rows=_Rows(rows, more)))


@dataclass(frozen=True)
class _Rows:
    """The rows a message names ('row 2 ('x'), row 5 ('y') and 3 more'), in the language it is shown in."""

    rows: list[Text]
    more: Text | None

    def localise(self, lang: str) -> str:
        return ", ".join(r.localise(lang) for r in self.rows) + (self.more.localise(lang) if self.more else "")


def score_values(df: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Score a values table with the scoring stage (same rules as the city report); profile columns ride along."""
    cols = [c for c in SCORING_INPUT_COLUMNS if c in df.columns]
    tidy = pd.DataFrame(score_frame(df[cols], targets).kpis)
    for col in tidy.columns:
        if isinstance(tidy[col].dtype, pd.CategoricalDtype):
            tidy[col] = tidy[col].astype(object)
    prof = [c for c in PROFILE_COLUMNS if c in df.columns]
    if prof:
        tidy = tidy.merge(df[["city", "year", *prof]].drop_duplicates(["city", "year"]), on=["city", "year"],
                          how="left")
    return tidy


def _with_meta(df: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """The catalogue's hierarchy and targets on every row, and the scored flag."""
    keep = [c for c in df.columns if c not in meta.columns or c in ("code", "part", "target", "target_source")]
    df = df[keep].merge(meta.drop(columns=[c for c in ("target", "target_source") if c in df.columns]),
                        on=["code", "part"], how="left")
    df["target"] = pd.to_numeric(df["target"], errors="coerce")
    df["points"] = pd.to_numeric(df["points"], errors="coerce").astype("float64")  # Int8 would overflow in sums
    df["achievement"] = pd.to_numeric(df["achievement"], errors="coerce") if "achievement" in df else np.nan
    df["band"] = df["band"].where(df["band"].notna(), "").astype(str)
    df["scored"] = df["reported"].astype(bool) & df["points"].notna()
    return df
