"""What `ssc validate` shows: the problem list in the terminal, an HTML report, annotated copies of workbooks."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict
from pathlib import Path

from . import __version__, limits, terminal
from .errors import UserError
from .library import library
from .paths import atomic_write, check_output_path
from .problems import Problem
from .templating import render
from .validation import validate


def cli_validate(args) -> int:
    """`ssc validate FILE… [--html OUT.html] [--annotate DIR]`: exit 0 without errors, 1 otherwise."""
    results: list[tuple[Path, list[Problem]]] = []
    if getattr(args, "html", None):  # a link, pipe, device or folder is refused before any file is read
        check_output_path(Path(args.html))
    for path in args.files:
        problems = validate(path)
        results.append((Path(path), problems))
        n_err = sum(p.severity == "error" for p in problems)
        n_warn = len(problems) - n_err
        status = "OK" if not n_err else "NOT USABLE"
        print(f"{terminal.clean(path)}: {status} - {n_err} error(s), {n_warn} warning(s)")
        for p in problems:  # a problem quotes the file's own text: shown, never obeyed by the terminal
            print(f"  {terminal.clean(p)}")
    if getattr(args, "html", None):
        _write_atomic(Path(args.html), report_html(results).encode("utf-8"), [p for p, _ in results])
        print(f"HTML report written to {terminal.clean(args.html)}")
    if getattr(args, "annotate", None):
        used: set[str] = set()
        for path, problems in results:
            name = path.stem
            n = 2
            while name in used:  # two inputs called 'city.xlsx' from different folders keep both copies
                name, n = f"{path.stem}-{n}", n + 1
            used.add(name)
            print(terminal.clean(annotate(path, problems, Path(args.annotate), name=name), lines=True))
    return 1 if any(p.severity == "error" for _, ps in results for p in ps) else 0


SHEET_ORDER = ("", "Instructions", "Profile", "Data", "Measures")


def report_html(results: list[tuple[Path, list[Problem]]]) -> str:
    """A self-contained page in the city report's style, problems grouped by sheet with each KPI named; every
    string from a submission is escaped by the template."""
    lib = library()
    files = []
    for path, problems in results:
        by_sheet: dict[str, list[dict]] = defaultdict(list)
        for p in problems:
            kpi = lib.by_code.get(p.kpi_code)
            by_sheet[p.sheet].append({"severity": p.severity, "where": p.cell or p.sheet or "whole file",
                                      "kpi_code": p.kpi_code, "kpi_name": kpi.name if kpi else "",
                                      "message": p.message})
        order = sorted(by_sheet, key=lambda s: (SHEET_ORDER.index(s) if s in SHEET_ORDER else len(SHEET_ORDER), s))
        groups = [{"title": f"Sheet {s}" if s else "The file as a whole", "problems": by_sheet[s]} for s in order]
        errors = sum(p.severity == "error" for p in problems)
        files.append({"path": str(path), "errors": errors, "warnings": len(problems) - errors, "groups": groups})
    return render("validation", "report.html.j2", files=files, version=__version__,
                  generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))


def _write_atomic(out: Path, data: bytes, inputs: list[Path]) -> None:
    for src in inputs:
        if out.exists() and src.exists() and out.resolve() == src.resolve():
            raise UserError(f"{out} is one of the files being checked; choose another output name")
    atomic_write(out, data)


_CELL = re.compile(r"^(?P<sheet>[^!]+)!(?P<ref>[A-Z]{1,3}[0-9]{1,7})$")
ANNOTATE_MAX_BYTES = 5 * 1024 * 1024


def annotate(path: Path, problems: list[Problem], out_dir: Path, name: str | None = None) -> str:
    """Write '<name>.checked.xlsx' into out_dir with problem cells highlighted and explained; the original is
    only read. Returns a line for the user."""
    # openpyxl's full (styles, comments) reader costs ~0.3 s to import: only `--annotate` pays it.
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    try:
        if limits.check_file(path, limits.ANNOTATE) != "xlsx":
            return f"{path}: no annotated copy (only workbooks can be annotated; CSV problems are listed by row)"
    except limits.Refused as exc:
        return f"{path}: no annotated copy ({exc})"
    if path.stat().st_size > ANNOTATE_MAX_BYTES:
        return f"{path}: no annotated copy (file above {ANNOTATE_MAX_BYTES // 2**20} MB)"
    out = out_dir / f"{name or path.stem}.checked.xlsx"
    if out.exists() and out.resolve() == path.resolve():
        return f"{path}: no annotated copy (the output would overwrite the original)"
    try:
        wb = load_workbook(path, read_only=False, data_only=False, keep_links=False, keep_vba=False)
    except Exception as exc:  # noqa: BLE001 - the problem list already explains the file
        return f"{path}: no annotated copy (the workbook cannot be opened: {type(exc).__name__})"
    fills = {"error": PatternFill("solid", fgColor="F4B6B6"), "warning": PatternFill("solid", fgColor="FFE699")}
    notes: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in problems:
        m = _CELL.match(p.cell or "")
        if m and m["sheet"] in wb.sheetnames:
            notes[(m["sheet"], m["ref"])].append(p)
        elif p.sheet in wb.sheetnames:
            notes[(p.sheet, "A1")].append(p)
        else:
            notes[(wb.sheetnames[0], "A1")].append(p)
    for (sheet, ref), ps in notes.items():
        cell = wb[sheet][ref]
        worst = "error" if any(p.severity == "error" for p in ps) else "warning"
        cell.fill = fills[worst]
        text = "\n".join(f"{p.severity.upper()}: {p.message}" for p in ps)[:2000]
        cell.comment = Comment(text, "ssc validate", width=320, height=160)
    buf = io.BytesIO()
    try:
        wb.save(buf)
    finally:
        wb.close()
    atomic_write(out, buf.getvalue())
    return f"{path}: annotated copy written to {out}"
