"""What intake produces: a `Submission` (the city's profile, measures and one row per catalogue data point)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from .. import template as T
from ..problems import Problem

NUMBER_KEYS = ("numerator_value", "denominator_value", "final_value")
FRAME_COLUMNS = ["code", "part", "numerator_value", "denominator_value", "final_value", "reported", "data_quality",
                 "data_origin", "source_name", "source_link", "comment", "sheet", "row"]
CSV_REQUIRED = ("kpi_code", "input", "value")
CSV_COLUMNS = ("kpi_code", "part", "input", "value", *T.TEXT_DATA_KEYS)


@dataclass
class CityProfile:
    city: str = ""
    country: str = ""
    year: int | None = None
    population: float | None = None
    area_km2: float | None = None
    households: float | None = None
    currency: str = ""
    contact: str = ""
    region: str = ""
    language: str = ""  # the language the city asks for (ar, zh, en, fr, ru, es); --lang wins


@dataclass
class Submission:
    """One city's data: the profile, the measures it reports and one row per catalogue data point."""

    path: Path
    profile: CityProfile
    template_version: str
    sha256: str
    measures: dict[str, str]
    data: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)  # warnings that did not stop the reading
    cells: dict[tuple[str, str, str], str] = field(default_factory=dict, repr=False)  # (code, part, key) -> cell
    kind: str = "xlsx"

    @property
    def city(self) -> str:
        return self.profile.city

    @property
    def year(self) -> int | None:
        return self.profile.year

    def cell(self, code: str, part: str, key: str) -> str:
        """Where a figure came from ('Data!H5' or 'row 12'), for messages."""
        return self.cells.get((code, part, key)) or self.cells.get((code, part, "row"), "")


def profile_from(values: dict[str, object]) -> CityProfile:
    """A CityProfile from the fields read (each already parsed to its kind by `rows.profile_value`)."""
    known = {f.name for f in fields(CityProfile)}
    return CityProfile(**{k: v for k, v in values.items() if k in known and v is not None})  # type: ignore[arg-type]
