"""Problems with a submission: where each is (file, sheet, cell, KPI) and what to do about it.

Every reading and checking stage reports through these types, so `ssc validate`, the error of `read_submission`,
the HTML report and the annotated workbook list the same problems in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import UserError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (file, sheet, cell such as 'Data!F23'), which KPI, and what to do about it."""

    severity: Severity
    file: str
    sheet: str
    cell: str
    kpi_code: str
    message: str

    def __str__(self) -> str:
        where = self.cell or self.sheet
        loc = f"{self.file} {where}".strip()
        kpi = f" [{self.kpi_code}]" if self.kpi_code else ""
        return f"{self.severity.upper()}: {loc}{kpi}: {self.message}"


class SubmissionError(UserError):
    """A submission that cannot be used; `.problems` lists every problem found (errors and warnings)."""

    def __init__(self, file: str, problems: list[Problem]):
        self.file = file
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        shown = "\n  ".join(str(p) for p in errors[:10])
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(
            f"{file} cannot be used ({len(errors)} error{'s' if len(errors) != 1 else ''}):\n  {shown}{more}\n"
            f"Run `ssc validate {file}` for the full list with warnings."
        )


class ProblemCollector:
    """Problems found while reading one file, in file order."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, severity: Severity, message: str, sheet: str = "", cell: str = "", kpi: str = "") -> None:
        self.problems.append(Problem(severity, self.file, sheet, cell, kpi, message))

    def error(self, message: str, sheet: str = "", cell: str = "", kpi: str = "") -> None:
        self.add("error", message, sheet, cell, kpi)

    def warning(self, message: str, sheet: str = "", cell: str = "", kpi: str = "") -> None:
        self.add("warning", message, sheet, cell, kpi)
