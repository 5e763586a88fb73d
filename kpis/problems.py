"""Problems with a submission: where each is (file, sheet, cell, KPI) and what to do about it.

Every reading and checking stage reports through these types, so `ssc validate`, the error of `read_submission`,
the HTML report and the annotated workbook list the same problems in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .errors import UserError
from .i18n import DEFAULT_LANGUAGE, M, Message

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (file, sheet, cell such as 'Data!F23'), which KPI, and what to do about it."""

    severity: Severity
    file: str
    sheet: str
    cell: str
    kpi_code: str
    message: str  # in English
    text: Message | None = field(default=None, compare=False, repr=False)  # the same, translatable

    @classmethod
    def of(cls, severity: Severity, file: str, sheet: str, cell: str, kpi_code: str,
           message: str | Message) -> Problem:
        """A problem from an English text or a translatable `Message` (kept for `localised`)."""
        if isinstance(message, Message):
            return cls(severity, file, sheet, cell, kpi_code, str(message), message)
        return cls(severity, file, sheet, cell, kpi_code, message)

    def localised(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The message in `lang` (English where the problem has no translatable text)."""
        return self.text.localise(lang) if self.text is not None else self.message

    def line(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """'ERROR: file Data!F23 [code]: message', the severity word in `lang`."""
        where = self.cell or self.sheet
        loc = f"{self.file} {where}".strip()
        kpi = f" [{self.kpi_code}]" if self.kpi_code else ""
        return f"{severity_word(self.severity, lang)}: {loc}{kpi}: {self.localised(lang)}"

    def __str__(self) -> str:
        return self.line()


def severity_word(severity: Severity, lang: str) -> str:
    word = M("ERROR") if severity == "error" else M("WARNING")
    return word.localise(lang)


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

    def add(self, severity: Severity, message: str | Message, sheet: str = "", cell: str = "", kpi: str = "") -> None:
        self.problems.append(Problem.of(severity, self.file, sheet, cell, kpi, message))

    def error(self, message: str | Message, sheet: str = "", cell: str = "", kpi: str = "") -> None:
        self.add("error", message, sheet, cell, kpi)

    def warning(self, message: str | Message, sheet: str = "", cell: str = "", kpi: str = "") -> None:
        self.add("warning", message, sheet, cell, kpi)


def unreadable(file: str, reason: object) -> list[Problem]:
    """The one problem of a file that cannot be read at all (refused by a cap, or a parser gave up)."""
    out = ProblemCollector(file)
    message = getattr(reason, "message", reason)  # a refusal keeps its translatable message
    out.error(message if isinstance(message, Message) else str(message))
    return out.problems
