"""The Results of scoring and their file formats: Excel (band colours, formula-safe), CSV, Parquet and JSON, each
read back by `Results.load` as an equal object."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from . import rules
from .categories import canonical_category
from .display import BAND_COLOURS, BAND_TEXT, frame_html
from .errors import UserError
from .export import protect_frame, restore_frame, write_xlsx
from .outdir import DATASET_MARKER
from .paths import atomic_write, slugify
from .rules import BANDS

FORMAT = "ssc-kpis results"
FORMAT_VERSION = 2  # 2 added target_basis, reference, status (kpis) and points_scorable, provisional (coverage)

KPI_COLUMNS = [
    "city", "year", "code", "name", "dimension", "sub_dimension", "category", "tier", "part", "point_label",
    "value", "unit", "direction", "target", "target_source", "target_basis", "no_benchmark", "reference",
    "achievement", "band", "points", "reported", "scored", "status", "data_quality", "data_origin", "source",
    "value_origin", "next_band", "next_band_value", "sdg",
]
SUMMARY_COLUMNS = [
    "city", "year", "level", "dimension", "sub_dimension", "category", "group", "points", "max_points", "score",
    "band", "kpis_total", "kpis_reported", "kpis_scored",
]
SDG_COLUMNS = [
    "city", "year", "level", "sdg", "points", "max_points", "score", "band", "kpis_total", "kpis_reported",
    "kpis_scored",
]
COVERAGE_COLUMNS = [
    "city", "year", "kpis_total", "kpis_reported", "kpis_reported_pct", "core_total", "core_reported",
    "core_reported_pct", "kpis_scored", "points_total", "points_reported", "points_scored", "points_scorable",
    "provisional",
]
#: What a results file of format version 1 lacks, and the value it is read with.
_ADDED_IN_2: dict[str, dict[str, Any]] = {"kpis": {"target_basis": "", "reference": None, "status": ""},
               "coverage": {"points_scorable": 0, "provisional": False}}
_FLOATS = {"value", "target", "achievement", "next_band_value", "points", "max_points", "score",
           "kpis_reported_pct", "core_reported_pct", "reference"}
_INTS = {"year", "kpis_total", "kpis_reported", "kpis_scored", "core_total", "core_reported", "points_total",
         "points_reported", "points_scored", "points_scorable"}
_BOOLS = {"reported", "scored", "provisional"}
_BAND_COLUMNS = {"band", "next_band"}
_SMALL_INTS = {"points"}  # band points 1-4 in the tidy table (nullable)




class ScoringError(UserError, ValueError):
    """Input the scoring stage cannot use, or a results file that cannot be read back; the message names the
    column, KPI, file or option and how to fix it."""


@dataclass(eq=False)
class Results:
    """Scored results for one or many city-years; every table is tidy and shares the city/year keys."""

    kpis: pd.DataFrame
    summary: pd.DataFrame
    sdg: pd.DataFrame
    coverage: pd.DataFrame
    target_set: str
    profiles: dict = field(default_factory=dict)
    measures: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    TABLES = ("kpis", "summary", "sdg", "coverage")

    def __eq__(self, other: object) -> bool:
        """Same tables, dtypes, keys and texts; numbers equal to 12 significant digits (an .xlsx keeps ~16)."""
        if not isinstance(other, Results):
            return NotImplemented
        for table in self.TABLES:
            try:
                pd.testing.assert_frame_equal(getattr(self, table), getattr(other, table), check_exact=False,
                                              rtol=1e-12, atol=0.0)
            except AssertionError:
                return False
        return (
            self.target_set == other.target_set
            and self.profiles == other.profiles
            and self.measures == other.measures
            and self.options == other.options
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n = len(self.coverage)
        return f"<Results: {n} city-year(s), {len(self.kpis)} data points, target set {self.target_set!r}>"

    def _repr_html_(self) -> str:
        top = self.summary[self.summary["level"].isin(["overall", "dimension", "sub_dimension"])]
        shown = top[["city", "year", "level", "group", "score", "band", "kpis_reported", "kpis_scored"]]
        kpis = self.kpis[self.kpis["scored"]][["city", "year", "code", "point_label", "value", "unit", "target",
                                                "achievement", "band", "points"]]
        return (
            f"<p><b>U4SSC scores</b> · {len(self.coverage)} city-year(s) · target set: {escape(self.target_set)}</p>"
            + frame_html(pd.DataFrame(shown), max_rows=60)
            + "<p>Scored data points</p>"
            + frame_html(pd.DataFrame(kpis), max_rows=40)
        )

    # -------------------------------------------------------- the parts every format shares

    def _about(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "key": ["format", "version", "target_set", "options"],
                "value": [FORMAT, str(FORMAT_VERSION), self.target_set, json.dumps(self.options, sort_keys=True)],
            }
        )

    def _profiles_frame(self) -> pd.DataFrame:
        rows = [(c, y, k, json.dumps(v)) for (c, y), p in self.profiles.items() for k, v in p.items()]
        return pd.DataFrame(rows, columns=["city", "year", "field", "value"])

    def _measures_frame(self) -> pd.DataFrame:
        rows = [(c, y, s, t) for (c, y), m in self.measures.items() for s, t in m.items()]
        return pd.DataFrame(rows, columns=["city", "year", "sub_dimension", "text"])

    def _sheets(self) -> dict[str, pd.DataFrame]:
        return {
            "kpis": self.kpis, "summary": self.summary, "sdg": self.sdg, "coverage": self.coverage,
            "profiles": self._profiles_frame(), "measures": self._measures_frame(), "about": self._about(),
        }

    @classmethod
    def _from_sheets(cls, sheets: dict[str, pd.DataFrame], where: str) -> Results:
        needed = ("kpis", "summary", "sdg", "coverage", "about")
        lacking = [s for s in needed if s not in sheets]
        if lacking:
            raise ScoringError(f"{where}: not a saved result (missing {', '.join(lacking)})")
        about = dict(zip(sheets["about"]["key"].astype(str), sheets["about"]["value"].astype(str), strict=False))
        if about.get("format") != FORMAT:
            raise ScoringError(f"{where}: not a saved ssc-kpis result (format {about.get('format')!r})")
        try:
            options = json.loads(about.get("options", "{}"))
        except (json.JSONDecodeError, RecursionError):  # a value nested too deeply is not ours either
            raise ScoringError(f"{where}: the 'options' entry of 'about' is not valid JSON") from None
        profiles: dict = {}
        for rec in _str_frame(sheets.get("profiles", pd.DataFrame(columns=["city", "year", "field", "value"]))).itertuples():
            try:
                profiles.setdefault((rec.city, int(float(rec.year))), {})[rec.field] = json.loads(rec.value)
            except (ValueError, RecursionError):
                raise ScoringError(f"{where}: profile field {rec.field!r} of {rec.city} is not valid JSON") from None
        measures: dict = {}
        for rec in _str_frame(sheets.get("measures", pd.DataFrame(columns=["city", "year", "sub_dimension", "text"]))).itertuples():
            measures.setdefault((rec.city, int(float(rec.year))), {})[rec.sub_dimension] = rec.text
        version_1 = about.get("version") == "1"
        if version_1:
            for name, added in _ADDED_IN_2.items():
                sheets[name] = sheets[name].assign(**{c: v for c, v in added.items() if c not in sheets[name]})
        tables = {}
        for name, cols in (("kpis", KPI_COLUMNS), ("summary", SUMMARY_COLUMNS), ("sdg", SDG_COLUMNS),
                           ("coverage", COVERAGE_COLUMNS)):
            tables[name] = _coerce(sheets[name], cols, f"{where}, table {name}", small_ints=name == "kpis")
        if version_1:
            _derive_version_2(tables["kpis"], tables["coverage"])
        for key in list(profiles) + list(measures):
            profiles.setdefault(key, {"city": key[0], "year": key[1]})
            measures.setdefault(key, {})
        return cls(tables["kpis"], tables["summary"], tables["sdg"], tables["coverage"], about.get("target_set", ""),
                   profiles, measures, options)

    # -------------------------------------------------------- formats

    def to_csv(self, folder: str | Path) -> Path:
        """A folder of CSV files (kpis, summary, sdg, coverage, profiles, measures, about); text made inert."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self._sheets().items():
            protect_frame(frame).to_csv(folder / f"{name}.csv", index=False)
        return folder

    def to_excel(self, path: str | Path | IO[bytes]) -> Path | IO[bytes]:
        """One sheet per level (KPIs, categories…, SDG, coverage), band colours by conditional formatting,
        every text cell made inert against formula injection."""
        path = Path(path) if isinstance(path, str | os.PathLike) else path  # or a binary buffer (io.BytesIO)
        if len(self.kpis) >= 1_048_576:
            raise ScoringError(f"{getattr(path, 'name', 'results.xlsx')}: {len(self.kpis)} rows do not fit in one Excel sheet; use to_parquet")
        fills = {band: (BAND_COLOURS[band], BAND_TEXT[band]) for band in BANDS}
        write_xlsx(self._sheets(),
                   str(path) if isinstance(path, Path) else path, fills)
        return path

    def to_parquet(self, path: str | Path) -> Path:
        """One parquet file: the tidy KPI table, with the other tables and the metadata in its schema metadata."""
        import pyarrow as pa  # see to_excel: imported by the format that needs it
        import pyarrow.parquet as pq

        path = Path(path)
        table = pa.Table.from_pandas(self.kpis, preserve_index=False)
        extra = {name: _frame_json(frame) for name, frame in self._sheets().items() if name != "kpis"}
        meta = dict(table.schema.metadata or {})
        meta[b"ssc_kpis"] = json.dumps(extra).encode()
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path

    def to_json(self, path: str | Path) -> Path:
        """One JSON document (column-oriented tables; NaN written as null)."""
        path = Path(path)
        doc = {name: _frame_json(frame) for name, frame in self._sheets().items()}
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Results:
        """Read back any of to_csv (folder), to_excel (.xlsx), to_parquet (.parquet) or to_json (.json)."""
        path = Path(path)
        if not path.exists():
            raise ScoringError(f"{path}: no such file or folder")
        if path.is_dir():
            if not (path / "kpis.csv").exists():
                raise ScoringError(f"{path}: a saved result folder holds kpis.csv (written by Results.to_csv)")
            sheets = {}
            for f in sorted(path.glob("*.csv")):
                sheets[f.stem] = restore_frame(pd.read_csv(f, dtype=str, keep_default_na=False))
            return cls._from_sheets(sheets, path.name)
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            # imported here: the file limits load openpyxl, a start-up cost only reading a workbook needs
            from .limits import RESULTS, Refused, check_file

            try:
                check_file(path, RESULTS)  # pandas reads every sheet whole: bound rows, cells and styles first
            except Refused as exc:
                raise ScoringError(f"{path.name}: {exc}") from None
            try:
                raw = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, engine="openpyxl")
            except Exception as exc:  # noqa: BLE001 - any unreadable workbook is a user error here
                raise ScoringError(f"{path.name}: not a readable results workbook ({exc})") from None
            return cls._from_sheets({k: restore_frame(v) for k, v in raw.items()}, path.name)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            try:
                table = pq.read_table(path)
                extra = json.loads((table.schema.metadata or {}).get(b"ssc_kpis", b"{}"))
            except Exception as exc:  # noqa: BLE001
                raise ScoringError(f"{path.name}: not a readable results parquet file ({exc})") from None
            sheets = {name: _frame_unjson(doc) for name, doc in extra.items()}
            sheets["kpis"] = table.to_pandas()
            return cls._from_sheets(sheets, path.name)
        if suffix == ".json":
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ScoringError(f"{path.name}: not valid JSON ({exc})") from None
            except RecursionError:
                raise ScoringError(f"{path.name}: the JSON is nested too deeply to be a saved result") from None
            if not isinstance(doc, dict):
                raise ScoringError(f"{path.name}: not a saved result")
            return cls._from_sheets({k: _frame_unjson(v) for k, v in doc.items()}, path.name)
        raise ScoringError(f"{path.name}: load reads a CSV folder, .xlsx, .parquet or .json written by Results")


# ---------------------------------------------------------------- the partitioned results dataset

DATASET_PROFILE = ("country", "region", "population")  # profile fields each row carries (for comparisons)


def _dataset_schema() -> Any:
    """One schema for every part, so a reader never unifies types file by file; `year` is the hive partition."""
    import pyarrow as pa  # see to_excel: imported by the format that needs it

    types = {c: pa.float64() for c in _FLOATS} | {c: pa.bool_() for c in _BOOLS} | {"points": pa.int8()}
    cols = [c for c in KPI_COLUMNS if c != "year"] + list(DATASET_PROFILE)
    return pa.schema([(c, types.get(c, pa.float64() if c == "population" else pa.string())) for c in cols])


def write_dataset_part(results: Results, folder: str | Path) -> list[Path]:
    """Write each city-year of `results` as one parquet file of a results dataset (`folder/year=YYYY/<city>.parquet`,
    written atomically, replacing that city-year's earlier part). `kpis.compare(folder)` reads the dataset lazily:
    the columns it needs, and only the year asked for, without opening any report folder."""
    import hashlib
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder, schema, written = Path(folder), _dataset_schema(), []
    marker = {"format": f"{FORMAT} dataset", "version": FORMAT_VERSION, "partitioning": "hive: year"}
    if not (folder / DATASET_MARKER).is_file():
        atomic_write(folder / DATASET_MARKER, json.dumps(marker))
    for (city, year), rows in results.kpis.groupby(["city", "year"], observed=True, sort=False):
        frame = _decategorise(rows.drop(columns="year"))
        profile = results.profiles.get((str(city), int(year))) or {}
        for col in DATASET_PROFILE:
            frame[col] = profile.get(col) if col != "population" else _floats(pd.Series([profile.get(col)]))[0]
        frame["points"] = frame["points"].astype("Int8")
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
        buf = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(None), buf)
        digest = hashlib.sha256(str(city).encode()).hexdigest()[:8]  # two names with one slug stay two files
        path = folder / f"year={int(year)}" / f"{slugify(str(city))}-{digest}.parquet"
        atomic_write(path, buf.getvalue())
        written.append(path)
    return written


def is_dataset(folder: Path) -> bool:
    return folder.is_dir() and (folder / DATASET_MARKER).is_file()


def read_dataset(folder: str | Path, columns: list[str] | None = None, year: int | None = None) -> pd.DataFrame:
    """The rows of a results dataset as one tidy table (strings as text): only `columns` (default all) and only
    `year`'s partition when given, so files of other years are never opened."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    folder = Path(folder)
    schema = _dataset_schema().append(pa.field("year", pa.int64()))
    wanted = [c for c in (columns or schema.names) if c in schema.names]
    try:
        data = ds.dataset(folder, schema=schema, format="parquet", partitioning="hive",
                          exclude_invalid_files=False, ignore_prefixes=[".", "_"])
        table = data.to_table(columns=wanted, filter=None if year is None else ds.field("year") == int(year))
    except (OSError, ValueError, TypeError, pa.ArrowException) as exc:
        raise ScoringError(f"{folder.name}: a part of the results dataset cannot be read ({exc}); remove or write "
                           "that part again") from None
    return table.to_pandas()


# ---------------------------------------------------------------- (de)serialisation helpers


def _decategorise(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame).copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
        elif pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype(object)
    return out


def _frame_json(frame: pd.DataFrame) -> dict:
    cols: dict[str, list[Any]] = {}
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s):
            cols[col] = [None if pd.isna(v) else str(v) for v in s.astype(object)]
        elif pd.api.types.is_bool_dtype(s):
            cols[col] = s.astype(bool).tolist()
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            cols[col] = [None if pd.isna(v) else int(v) for v in s.astype(object)]
        else:
            arr = s.to_numpy()
            cols[col] = [None if isinstance(v, float) and math.isnan(v) else v for v in arr.tolist()]
    return {"columns": list(frame.columns), "data": cols}


def _frame_unjson(doc: Any) -> pd.DataFrame:
    if not isinstance(doc, dict) or "data" not in doc:
        raise ScoringError("saved result: a table is not in the expected {columns, data} form")
    return pd.DataFrame({c: pd.Series(doc["data"][c], dtype=object) for c in doc.get("columns", [])})


def _str_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), "").astype(str) if not frame.empty else frame


def _derive_version_2(kpis: pd.DataFrame, coverage: pd.DataFrame) -> None:
    """Fill the columns a version-1 file lacks from what it holds (a context indicator reads as no benchmark)."""
    band = pd.Series(kpis["band"]).cat.codes.to_numpy()
    kpis["status"] = canonical_category(rules.status_of(band, kpis["reported"].to_numpy(), False))
    scorable = kpis.assign(s=kpis["target"].notna()).groupby(["city", "year"], observed=True)["s"].sum()
    keys = pd.MultiIndex.from_frame(coverage[["city", "year"]].astype({"city": object}))
    coverage["points_scorable"] = scorable.reindex(keys).fillna(0).to_numpy(dtype=np.int64)
    coverage["provisional"] = rules.is_provisional(coverage["core_reported"], coverage["core_total"])


def _coerce(frame: pd.DataFrame, columns: list[str], where: str, small_ints: bool = False) -> pd.DataFrame:
    """Bring a table read from any format back to the dtypes `score_frame` produces."""
    lacking = [c for c in columns if c not in frame.columns]
    if lacking:
        raise ScoringError(f"{where}: missing column(s) {', '.join(lacking)}")
    out = {}
    for col in columns:
        s = frame[col]
        try:
            if col in _SMALL_INTS and small_ints:
                f = _floats(s)
                out[col] = pd.arrays.IntegerArray(np.nan_to_num(f).astype(np.int8), np.isnan(f))
            elif col in _FLOATS:
                out[col] = _floats(s)
            elif col in _INTS:
                out[col] = _floats(s).astype(np.int64)
            elif col in _BOOLS:
                out[col] = _bools(s)
            elif col in _BAND_COLUMNS:
                vals = s.astype(object).where(s.notna(), None).map(lambda v: None if v in ("", None) else v)
                bad = set(vals.dropna()) - set(BANDS)
                if bad:
                    raise ValueError(f"unknown band {sorted(bad)[0]!r}")
                out[col] = pd.Categorical(vals, categories=list(BANDS), ordered=True)
            else:
                vals = s.astype(object).where(s.notna(), "").astype(str) if not isinstance(s.dtype, pd.CategoricalDtype) else s
                out[col] = canonical_category(vals if isinstance(vals.dtype, pd.CategoricalDtype) else vals.to_numpy(dtype=object))
        except (ValueError, TypeError) as exc:
            raise ScoringError(f"{where}, column {col}: {exc}") from None
    return pd.DataFrame(out, columns=columns)


def _floats(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return pd.to_numeric(s).to_numpy(dtype=float, na_value=np.nan)
    return np.array([np.nan if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else float(v)
                     for v in s.astype(object)], dtype=float)


def _bools(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=bool)
    truth = {"true": True, "1": True, "false": False, "0": False}
    out = []
    for v in s.astype(object):
        if isinstance(v, bool):
            out.append(v)
            continue
        key = str(v).strip().lower()
        if key not in truth:
            raise ValueError(f"{v!r} is not True/False")
        out.append(truth[key])
    return np.array(out, dtype=bool)
