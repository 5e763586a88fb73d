"""The KPI library (the lowest stage): loads the YAML catalogue and target sets once, answers look-ups, builds the indicator table."""

from __future__ import annotations

import functools
import io
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
from .models import KPI, Source, Target, TargetSet, normalise_code

# the C loader is ~10x faster; fall back where libyaml is missing
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CATALOGUE_VERSION = "2026.11"
DIMENSION_FILES = ("economy.yaml", "environment.yaml", "society.yaml")


M = TypeVar("M", bound=BaseModel)


class CatalogueError(UserError, ValueError):
    """A catalogue or target file that cannot be used; the message names the file and the entry."""


def data_dir() -> Path:
    return Path(str(resources.files("kpis") / "catalogue"))


def read_yaml(path: Path):
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path.name}: not valid YAML ({exc})") from None
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot be read ({exc.strerror})") from None


MAX_TARGET_BYTES = 2 * 1024 * 1024  # a user's target file (the default set, all three files, is ~150 KB)
# non-zero targets outside this range overflow or vanish in value ÷ target (full marks by accident); real ones
# lie between 0.1 and 100 000
TARGET_RANGE = (1e-6, 1e12)


def read_user_file(path: Path) -> str:
    """The text of a file a user names: a regular UTF-8 file of at most MAX_TARGET_BYTES. A FIFO or device is
    refused before it is opened (and it is opened non-blocking), so nothing waits on it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CatalogueError(f"{path}: no such file; check the name and folder") from None
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CatalogueError(f"{path}: not a regular file (a folder, device or pipe); give a .yaml or .csv file")
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise CatalogueError(f"{path}: not a regular file; give a .yaml or .csv file")
            data = fh.read(MAX_TARGET_BYTES + 1)
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_TARGET_BYTES:
        raise CatalogueError(f"{path.name}: larger than {MAX_TARGET_BYTES // 2**20} MB; a target file for all 91 "
                             "KPIs is about 150 KB, so check that the right file was chosen")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{path.name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); "
                             "save it as UTF-8 (in a text editor: Save as… > Encoding: UTF-8)") from None


def read_user_yaml(path: Path) -> Any:
    """A user's YAML file. Aliases (*name) are refused before anything is built: nine lines of them expand to
    gigabytes (a 'billion laughs'), and a target file never needs them."""
    text = read_user_file(path)
    try:
        for event in yaml.parse(io.StringIO(text), Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise CatalogueError(f"{path.name}: line {line} uses the YAML alias '*{event.anchor}'; aliases are "
                                     "not accepted in a target file: write each value out in full")
        return yaml.load(io.StringIO(text), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path.name}: not valid YAML ({exc})") from None


def explain_validation(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}" for err in exc.errors(include_url=False)
    )


def _validated(entries: list, model: type[M], key: str, where: str) -> Iterator[M]:
    """Each entry of a YAML list as `model`; a malformed one raises CatalogueError naming it by its `key`."""
    for i, entry in enumerate(entries, start=1):
        label = entry.get(key, f"entry {i}") if isinstance(entry, dict) else f"entry {i}"
        try:
            yield model.model_validate(entry)
        except ValidationError as exc:
            raise CatalogueError(f"{where} {label}: {explain_validation(exc)}") from None


def load_kpis(paths: Iterable[Path]) -> list[KPI]:
    """Parse KPI files into models; any malformed entry raises CatalogueError naming file and KPI."""
    kpis: list[KPI] = []
    seen: dict[str, str] = {}
    for path in paths:
        raw = read_yaml(path)
        if not isinstance(raw, list):
            raise CatalogueError(f"{path.name}: expected a list of KPI entries")
        for kpi in _validated(raw, KPI, "code", f"{path.name}: KPI"):
            if kpi.code in seen:
                raise CatalogueError(f"{path.name}: KPI {kpi.code} is already defined in {seen[kpi.code]}")
            seen[kpi.code] = path.name
            kpis.append(kpi)
    return kpis


@dataclass(frozen=True)
class Library:
    """All KPIs in catalogue order, indexed by code."""

    kpis: tuple[KPI, ...]

    @functools.cached_property
    def by_code(self) -> dict[str, KPI]:
        return {k.code: k for k in self.kpis}

    def get(self, code: str) -> KPI:
        norm = normalise_code(code)
        try:
            return self.by_code[norm]
        except KeyError:
            raise KeyError(f"no U4SSC KPI has the code {code!r}") from None

    def __iter__(self):
        return iter(self.kpis)

    def __len__(self) -> int:
        return len(self.kpis)

    def core_codes(self) -> list[str]:
        return [k.code for k in self.kpis if k.tier == "core"]


@functools.lru_cache(maxsize=1)
def library() -> Library:
    """The bundled catalogue (parsed once per process)."""
    base = data_dir() / "kpis"
    return Library(tuple(load_kpis(base / name for name in DIMENSION_FILES)))


def get_kpi(code: str) -> KPI:
    """Look a KPI up by its ITU code, tolerant of spacing and case ('sc:eh:ed:1c')."""
    return library().get(code)


# ---------------------------------------------------------------- target sets


@dataclass(frozen=True)
class Targets:
    """A checked target set: (code, part) -> Target, plus its name and version for the report."""

    name: str
    version: str
    entries: dict[tuple[str, str], Target]
    path: str | None = None

    def for_point(self, code: str, part: str = "") -> Target | None:
        return self.entries.get((code, part))

    @property
    def is_default(self) -> bool:
        """The bundled target set (a user's file may score what the default leaves as context)."""
        return self.path is None

    @property
    def label(self) -> str:
        return f"{self.name} (version {self.version})"


def _parse_target_set(raw: object, where: str) -> TargetSet:
    """Validate entry by entry so that a bad row is named by its KPI code, not by its list index."""
    if not isinstance(raw, dict) or not isinstance(raw.get("targets"), list):
        raise CatalogueError(f"{where}: expected a mapping with name, version and a list under 'targets'")
    for i, entry in enumerate(raw["targets"], start=1):
        label = entry.get("code", f"entry {i}") if isinstance(entry, dict) else f"entry {i}"
        part = entry.get("part") if isinstance(entry, dict) else None
        try:
            Target.model_validate(entry)
        except ValidationError as exc:
            raise CatalogueError(f"{where}: target for KPI {label}{' ' + part if part else ''}: {explain_validation(exc)}") from None
    try:
        return TargetSet.model_validate(raw)
    except ValidationError as exc:
        raise CatalogueError(f"{where}: {explain_validation(exc)}") from None


def _check_targets(ts: TargetSet, where: str, lib: Library) -> dict[tuple[str, str], Target]:
    entries: dict[tuple[str, str], Target] = {}
    for t in ts.targets:
        if t.code not in lib.by_code:
            raise CatalogueError(f"{where}: target for unknown KPI code {t.code!r}")
        kpi = lib.by_code[t.code]
        parts = {p.name: p for p in kpi.parts}
        if kpi.is_composite and t.part not in parts:
            raise CatalogueError(
                f"{where}: KPI {t.code} is scored per data point; give 'part' as one of {', '.join(parts)}"
            )
        if not kpi.is_composite and t.part:
            raise CatalogueError(f"{where}: KPI {t.code} has no data point {t.part!r}; leave 'part' empty")
        direction = parts[t.part].direction if t.part else kpi.direction
        if t.target is not None and t.target != 0 and not TARGET_RANGE[0] <= t.target <= TARGET_RANGE[1]:
            raise CatalogueError(f"{where}: KPI {t.code}{' ' + t.part if t.part else ''}: the target {t.target:g} is outside the range "
                                 f"that can be scored ({TARGET_RANGE[0]:g} to {TARGET_RANGE[1]:g}); check its unit")
        if t.target is not None and direction == "lower" and t.target == 0:
            raise CatalogueError(
                f"{where}: KPI {t.code} {t.part} is lower-is-better, so a target of 0 cannot be scored as "
                "target/value; use the smallest value a leading city reaches instead"
            )
        if t.target is not None and direction == "none":
            raise CatalogueError(f"{where}: KPI {t.code} {t.part} has no direction, so it cannot carry a target")
        key = (t.code, t.part)
        if key in entries:
            raise CatalogueError(f"{where}: KPI {t.code} {t.part} has two targets")
        entries[key] = t
    return entries


def load_targets(path: str | Path | None = None) -> Targets:
    """The default target set, or a user's YAML/CSV file in the same format (e.g. a city's 2030 strategy).

    A user's file may cover only some KPIs: those it leaves out keep no target and are not scored.
    """
    lib = library()
    if path is None:
        return _default_targets()
    path = Path(path)
    if path.suffix.lower() == ".csv":
        import pandas as pd  # start-up: as in catalogue_frame

        text = read_user_file(path)
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except Exception as exc:  # noqa: BLE001 - any parse failure is a user error here
            raise CatalogueError(f"{path.name}: not a readable CSV target file ({exc})") from None
        rows = []
        for rec in frame.to_dict("records"):
            row: dict[str, Any] = {str(k): (v if v != "" else None) for k, v in rec.items()}
            if row.get("target") is not None:
                try:
                    row["target"] = float(row["target"])
                except ValueError:
                    raise CatalogueError(f"{path.name}: target {row['target']!r} for {row.get('code')} is not a number") from None
            rows.append(row)
        raw = {"name": path.stem, "version": "user", "targets": rows}
    else:
        raw = read_user_yaml(path)
    ts = _parse_target_set(raw, path.name)
    return Targets(ts.name, ts.version, _check_targets(ts, path.name, lib), str(path))


@functools.lru_cache(maxsize=1)
def _default_targets() -> Targets:
    lib = library()
    base = data_dir() / "targets"
    merged: list[dict] = []
    meta: dict = {}
    for name in DIMENSION_FILES:
        raw = read_yaml(base / name)
        meta = meta or {k: v for k, v in raw.items() if k != "targets"}
        merged.extend(raw.get("targets") or [])
    ts = _parse_target_set({**meta, "targets": merged}, "default targets")
    registry = sources()
    for t in ts.targets:
        unknown = [s for s in t.source_ids if s not in registry]
        if unknown or not t.source_ids or t.basis is None:
            raise CatalogueError(f"default targets: KPI {t.code} {t.part}: every default target has a basis and "
                                 f"source ids from sources.yaml (unknown: {', '.join(unknown) or 'none given'})")
    return Targets(ts.name, ts.version, _check_targets(ts, "default targets", lib))


@functools.lru_cache(maxsize=1)
def sources() -> dict[str, Source]:
    """The sources registry (`kpis/catalogue/sources.yaml`) by id; the default targets cite it."""
    raw = read_yaml(data_dir() / "sources.yaml")
    out: dict[str, Source] = {}
    for source in _validated((raw or {}).get("sources") or [], Source, "id", "sources.yaml: source"):
        if source.id in out:
            raise CatalogueError(f"sources.yaml: the id {source.id} is used twice")
        out[source.id] = source
    return out


# ---------------------------------------------------------------- the indicator table


def catalogue_frame(targets: Targets | None = None) -> pd.DataFrame:
    """One row per KPI (91): the COINr-style indicator table that drives templates, scoring and reports."""
    import pandas as pd  # start-up: the library itself loads without pandas (a skipped re-run never needs it)

    targets = targets or load_targets()
    rows = []
    for kpi in library():
        points = kpi.data_points()
        t_main = targets.for_point(kpi.code, "")
        if kpi.is_composite:
            per_part = [(p, targets.for_point(kpi.code, p)) for p, *_ in points]
            target_text = "; ".join(
                f"{p}: {t.target:g}" if t and t.target is not None else f"{p}: no benchmark" for p, t in per_part
            )
            sources = sorted({t.source for _, t in per_part if t})
            target = None
            no_bench = all(t is None or t.target is None for _, t in per_part)
            reason = "; ".join(sorted({t.no_benchmark for _, t in per_part if t and t.no_benchmark}))
        else:
            target = t_main.target if t_main else None
            target_text = f"{target:g}" if target is not None else "no benchmark"
            sources = [t_main.source] if t_main else []
            no_bench = target is None
            reason = t_main.no_benchmark if t_main and t_main.no_benchmark else ""
        rows.append(
            {
                "code": kpi.code,
                "id": kpi.id,
                "name": kpi.name,
                "dimension": kpi.dimension,
                "sub_dimension": kpi.sub_dimension,
                "category": kpi.category,
                "tier": kpi.tier,
                "focus": kpi.focus,
                "unit": kpi.unit,
                "direction": kpi.direction,
                "target": target,
                "targets": target_text,
                "target_source": " | ".join(sources),
                "no_benchmark": reason if no_bench else "",
                "sdg": ", ".join(kpi.sdg),
                "formula_kind": "composite" if kpi.is_composite else kpi.formula.kind,
                "data_points": len(points),
                "definition": kpi.definition,
                "provenance": kpi.provenance,
                "source": kpi.source,
            }
        )
    return pd.DataFrame(rows)


def filter_kpis(
    dimension: str | None = None,
    sub_dimension: str | None = None,
    category: str | None = None,
    tier: str | None = None,
    sdg: str | None = None,
) -> list[KPI]:
    """KPIs matching every given filter; `sdg` matches a goal ('11'), a target ('11.6') or an indicator."""

    def _sdg_match(refs: list[str]) -> bool:
        return any(r == sdg or r.startswith(f"{sdg}.") for r in refs)

    out = []
    for kpi in library():
        if dimension and kpi.dimension.lower() != dimension.lower():
            continue
        if sub_dimension and kpi.sub_dimension.lower() != sub_dimension.lower():
            continue
        if category and kpi.category.lower() != category.lower():
            continue
        if tier and kpi.tier != tier.lower():
            continue
        if sdg and not _sdg_match(kpi.sdg):
            continue
        out.append(kpi)
    return out


@functools.lru_cache(maxsize=1)
def points_table() -> pd.DataFrame:
    """One row per scored data point of the library (108), in catalogue order: what templates, intake and the
    vectorised engines need to know about each point."""
    import numpy as np  # start-up: as in catalogue_frame
    import pandas as pd

    rows = []
    for order, kpi in enumerate(library()):
        contexts = {p.name: p.context for p in kpi.parts} if kpi.parts else {"": kpi.context}
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
                    "context": contexts.get(part) or "",
                }
            )
    return pd.DataFrame(rows)
