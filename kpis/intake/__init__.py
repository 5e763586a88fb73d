"""Read a filled workbook or a long CSV into a `Submission`, collecting every problem instead of stopping at the first.

Everything in a submitted file is untrusted: caps are checked first (`kpis.limits`), openpyxl streams values only
(no formulas evaluated, no external links, no macros), numbers are read cell by cell with `kpis.rules`, and the KPI
values are recomputed later from the inputs (`kpis.formulas`), never taken from a cached formula result.

The stage is small modules read in this order: `submission` (what intake produces), `rows` (cells and rows to the
table of data points), `workbook` and `longcsv` (the two file formats), and `load` here.
"""

from __future__ import annotations

from pathlib import Path

from .. import limits
from ..i18n import M, Message
from ..paths import sha256_file
from ..problems import Problem, ProblemCollector, unreadable
from .longcsv import read_csv
from .submission import CSV_COLUMNS, FRAME_COLUMNS, NUMBER_KEYS, CityProfile, Submission
from .workbook import read_xlsx

__all__ = ["CSV_COLUMNS", "FRAME_COLUMNS", "NUMBER_KEYS", "CityProfile", "Submission", "load"]


def load(path: Path) -> tuple[Submission | None, list[Problem]]:
    """Read without judging values: (submission or None when unusable, problems found while reading)."""
    limits.assert_defusedxml()
    out = ProblemCollector(str(path))
    try:
        kind = limits.check_file(path)
        digest = sha256_file(path)
        sub = read_csv(path, out) if kind == "csv" else read_xlsx(path, out)
    except limits.Refused as exc:
        return None, unreadable(str(path), exc)
    except Exception as exc:  # noqa: BLE001 - a parser failing on a malformed file is a user-facing problem
        return None, unreadable(str(path), _explain_parser_error(exc))
    if sub is not None:
        sub.sha256 = digest
    return sub, out.problems


def _explain_parser_error(exc: Exception) -> Message:
    name = type(exc).__name__
    if name in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden", "NotSupportedError"):
        return M("the workbook contains XML entity or DTD declarations, which spreadsheet programs never write "
                 "(a possible 'XML bomb'); it is refused. Save your data into a fresh template.")
    detail = str(exc).splitlines()[0][:200] if str(exc) else name
    # limits.RESAVE written out, so that the sentence is translated as one
    return M("the workbook cannot be read ({error}); it may be damaged or not made from the template. Open it in "
             "your spreadsheet program and save it again as 'Excel Workbook (.xlsx)', or copy your figures into a "
             "fresh `ssc template`.", error=f"{name}: {detail}")
