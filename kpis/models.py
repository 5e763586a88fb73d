"""Typed models of the KPI library: a malformed YAML entry fails here, naming its file and KPI."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CODE_PATTERN = re.compile(r"^(EC|EN|SC): [A-Z]+: [A-Z]+: \d+[CA]$")

Direction = Literal["higher", "lower", "none"]
FormulaKind = Literal["ratio", "value", "yes_no", "composite"]
PointKind = Literal["ratio", "value", "yes_no"]


def normalise_code(code: str) -> str:
    """'SC: EH: ED:1C' and 'sc:eh:ed:1c' both become 'SC: EH: ED: 1C' (ITU prints spacing inconsistently)."""
    return ": ".join(part.strip().upper() for part in str(code).split(":"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Input(_Strict):
    """A raw figure the city supplies (numerator, denominator, a measured value or a count of criteria met)."""

    label: str
    unit: str
    min: float | None = 0
    max: float | None = None
    integer: bool = False


class Formula(_Strict):
    """How one data point's value is computed from its inputs.

    ratio: numerator / denominator * multiplier; value: the numerator input itself;
    yes_no: 100 * criteria met / len(criteria) (so 'Yes' = 100, 'No' = 0, partial in between).
    """

    kind: PointKind
    numerator: str
    denominator: str | None = None
    multiplier: float = 1
    criteria: list[str] = Field(default_factory=list)
    numerator_le_denominator: bool = False
    notes: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Formula:
        if self.kind == "ratio" and not self.denominator:
            raise ValueError("a ratio formula needs a denominator")
        if self.kind != "ratio" and self.denominator:
            raise ValueError(f"a {self.kind} formula takes no denominator")
        if self.kind == "yes_no" and not self.criteria:
            raise ValueError("a yes_no formula lists its criteria")
        return self


class Part(_Strict):
    """One scored data point of a composite KPI (a pollutant, a treatment level, a transport mode...)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    unit: str
    direction: Direction
    formula: Formula
    value_range: tuple[float | None, float | None] = (0, None)
    context: str | None = None


class CompositeRule(_Strict):
    kind: Literal["composite"]
    parts_sum: float | None = None
    parts_order: Literal["descending"] | None = None
    notes: str | None = None


class KPI(_Strict):
    """One U4SSC indicator as the library holds it."""

    code: str
    id: str = Field(pattern=r"^(EC|EN|SC)-[A-Z]+-[A-Z]+-\d+[CA]$")
    name: str
    dimension: Literal["Economy", "Environment", "Society and Culture"]
    sub_dimension: str
    category: str
    tier: Literal["core", "advanced"]
    focus: Literal["smart", "sustainable", "structural"]
    definition: str = Field(min_length=20)
    unit: str
    direction: Direction
    formula: Annotated[Formula | CompositeRule, Field(discriminator="kind")]
    inputs: dict[str, Input] = Field(min_length=1)
    parts: list[Part] = Field(default_factory=list)
    value_range: tuple[float | None, float | None] = (0, None)
    sdg: list[str] = Field(default_factory=list)
    source: str
    provenance: str
    context: str | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not CODE_PATTERN.match(v):
            raise ValueError(f"code {v!r} is not in ITU form 'EC: ICT: ICT: 1C'")
        return v

    @field_validator("sdg", mode="before")
    @classmethod
    def _sdg(cls, v: list) -> list[str]:
        v = [str(ref).strip().lower() for ref in (v or [])]
        for ref in v:
            if not re.match(r"^\d{1,2}(\.[0-9a-z]{1,2}){1,2}$", ref):
                raise ValueError(f"SDG reference {ref!r} is not a target ('11.6') or indicator ('11.6.2')")
        return v

    @field_validator("provenance")
    @classmethod
    def _provenance(cls, v: str) -> str:
        if not re.match(r"^(itu-page|iso37120|city-report|inferred)\b", v):
            raise ValueError("provenance starts with itu-page, iso37120, city-report or inferred")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> KPI:
        if self.id != self.code.replace(": ", "-"):
            raise ValueError(f"id {self.id!r} does not match code {self.code!r}")
        if isinstance(self.formula, CompositeRule):
            if len(self.parts) < 2:
                raise ValueError("a composite KPI has at least two parts")
            formulas = [p.formula for p in self.parts]
        else:
            if self.parts:
                raise ValueError("only a composite KPI has parts")
            formulas = [self.formula]
        names = [p.name for p in self.parts]
        if len(set(names)) != len(names):
            raise ValueError("part names repeat")
        for f in formulas:
            for ref in (f.numerator, f.denominator):
                if ref is not None and ref not in self.inputs:
                    raise ValueError(f"formula refers to input {ref!r}, which is not listed under inputs")
        return self

    @property
    def is_composite(self) -> bool:
        return bool(self.parts)

    def data_points(self) -> list[tuple[str, str, str, Direction, Formula, tuple]]:
        """(part name, label, unit, direction, formula, value range) per scored data point; '' for a simple KPI."""
        if self.parts:
            return [(p.name, p.label, p.unit, p.direction, p.formula, p.value_range) for p in self.parts]
        return [("", self.name, self.unit, self.direction, self.formula, self.value_range)]  # type: ignore[list-item]


class Target(_Strict):
    """One row of a target set: a value taken as 100 % of target, or a reasoned no_benchmark."""

    code: str
    part: str = ""
    target: float | None = None
    unit: str | None = None
    no_benchmark: str | None = None
    source: str
    confidence: Literal["high", "medium", "low"] = "medium"
    note: str | None = None
    basis: Literal["standard", "reference", "judgement"] | None = None
    source_ids: list[str] = []
    reasoning: str | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, v: str) -> str:
        return normalise_code(v)

    @field_validator("part", mode="before")
    @classmethod
    def _part(cls, v: str | None) -> str:
        return v or ""

    @field_validator("target")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(f"the target {v} is not a finite number (.inf, 1e999 and .nan cannot be scored); "
                             "write the figure itself")
        return v

    @model_validator(mode="after")
    def _one_of(self) -> Target:
        if (self.target is None) == (self.no_benchmark is None):
            raise ValueError("give either a target value or a no_benchmark reason, not both or neither")
        if self.target is not None and self.target < 0:
            raise ValueError("a target cannot be negative")
        return self


class TargetSet(_Strict):
    name: str
    version: str
    description: str | None = None
    targets: list[Target]


class Source(_Strict):
    """One publication of the sources registry (`kpis/catalogue/sources.yaml`); targets cite it by id."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    publisher: str
    title: str = Field(min_length=5)
    year: int | str
    url: str = Field(pattern=r"^https?://")
    primary: bool
    note: str | None = None

    @property
    def citation(self) -> str:
        return f"{self.publisher}, {self.title} ({self.year})"
