"""What a recommendation is: the data point that triggered it (`Trigger`) and the action for one city-year
(`Recommendation`), as the engine (`kpis.recommendation`) produces them and the report prose reads them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from . import rules
from .display import value_text
from .i18n import DEFAULT_LANGUAGE, translator

Kind = Literal["improve", "close_gap", "keep", "collect_data"]
TOP_BAND = rules.BANDS[-1]
#: How strongly a target backs an action: an agreed standard, a reference figure, the project's judgement. A target
#: without a basis (a city's own target set) counts as standard.
BASIS_ORDER = {"standard": 0, "": 0, "reference": 1, "judgement": 2}


def _isnan(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _num(x: object) -> float | None:
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _text(x: object) -> str:
    return "" if _isnan(x) else str(x)


def _truthy(x: object) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in {"true", "yes", "1"}
    return bool(x) and not _isnan(x)


@dataclass(frozen=True)
class Trigger:
    """One data point that made an action fire, with what it takes to reach the next band."""

    code: str
    name: str
    tier: str
    part: str
    point_label: str
    band: str | None
    value: float | None
    unit: str
    achievement: float | None
    next_band: str | None
    next_band_value: float | None
    direction: str = "higher"
    target: float | None = None
    basis: str = ""
    lang: str = DEFAULT_LANGUAGE  # the language of the sentences below (names are given in it already)

    @property
    def against_reference(self) -> str:
        """'below the reference figure of 80 years' ('above' for lower-is-better) for a gap against a reference
        target; empty for other bases, unknown targets and the top band."""
        if self.basis != "reference" or self.target is None or self.band in (None, TOP_BAND):
            return ""
        _ = translator(self.lang)
        figure = value_text(self.target, self.unit, digits=4, lang=self.lang)
        if self.direction == "lower":
            return _("above the reference figure of {figure}", figure=figure)
        return _("below the reference figure of {figure}", figure=figure)

    @property
    def against(self) -> str:
        """'Life Expectancy: 72 years, below the reference figure of 80 years' (empty as `against_reference`, or
        when the value is unknown)."""
        if not self.against_reference or self.value is None:
            return ""
        _ = translator(self.lang)
        label = self.point_label if self.part else self.name
        return _("{label}: {value}, {against}", label=label, against=self.against_reference,
                 value=value_text(self.value, self.unit, digits=4, lang=self.lang))

    @property
    def needed(self) -> str:
        """'PM2.5: at most 12.1 µg/m³ to reach 66-95' (empty when unknown)."""
        if self.next_band is None or self.next_band_value is None or _isnan(self.next_band_value):
            return ""
        _ = translator(self.lang)
        label = self.point_label if self.part else self.name
        figure = value_text(self.next_band_value, self.unit, digits=4, lang=self.lang)
        if self.direction == "lower":
            return _("{label}: at most {figure} to reach {band}", label=label, figure=figure, band=self.next_band)
        return _("{label}: at least {figure} to reach {band}", label=label, figure=figure, band=self.next_band)


@dataclass
class Recommendation:
    """One suggested action for one city-year, tied to the KPIs and bands that triggered it."""

    city: str
    year: Any
    kind: Kind
    title: str
    action: str
    dimension: str
    sub_dimension: str
    category: str
    triggers: tuple[Trigger, ...]
    sdg: tuple[str, ...]
    standards: tuple[str, ...]
    sources: tuple[str, ...]
    priority: float = 0.0
    rank: int = 0
    details: tuple[str, ...] = ()
    city_measures: str = ""
    _order: tuple[int, ...] = field(default=(), repr=False, compare=False)

    @property
    def kpi_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.code for t in self.triggers))

    @property
    def bands(self) -> tuple[str | None, ...]:
        """The worst band of each triggering KPI, in the order of kpi_codes."""
        return tuple(_worst_band(t.band for t in self.triggers if t.code == code) for code in self.kpi_codes)

    @property
    def basis(self) -> str:
        """The strongest basis of the targets behind the action: standard, reference or judgement ('' for none,
        e.g. a data-collection action)."""
        known = [t.basis or "standard" for t in self.triggers if t.band is not None]
        return min(known, key=BASIS_ORDER.__getitem__) if known else ""

    @property
    def next_band_values(self) -> tuple[str, ...]:
        return tuple(n for n in (t.needed for t in self.triggers) if n)

    @property
    def source(self) -> str:
        return "; ".join(self.sources)

    def as_row(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "year": self.year,
            "rank": self.rank,
            "kind": self.kind,
            "priority": round(self.priority, 1),
            "title": self.title,
            "action": self.action,
            "dimension": self.dimension,
            "sub_dimension": self.sub_dimension,
            "category": self.category,
            "kpi_codes": ", ".join(self.kpi_codes),
            "bands": ", ".join(b or "not reported" for b in self.bands),
            "next_band_values": "; ".join(self.next_band_values),
            "basis": self.basis,
            "sdg": ", ".join(self.sdg),
            "standards": ", ".join(self.standards),
            "source": self.source,
        }


FRAME_COLUMNS = ["city", "year", "rank", "kind", "priority", "title", "action", "dimension", "sub_dimension",
                 "category", "kpi_codes", "bands", "next_band_values", "basis", "sdg", "standards", "source"]


def to_frame(recommendations: Iterable[Recommendation]) -> pd.DataFrame:
    """The recommendations as a DataFrame (one row each), for notebooks and exports."""
    return pd.DataFrame([r.as_row() for r in recommendations], columns=FRAME_COLUMNS)


def _worst_band(bands: Iterable[str | None]) -> str | None:
    known = [b for b in bands if b in rules.BANDS]
    return min(known, key=rules.BANDS.index) if known else None


