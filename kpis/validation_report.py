"""What `ssc validate` shows: the problem list in the terminal, an HTML report, annotated copies of workbooks."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict
from pathlib import Path

from . import __version__, limits, terminal
from .errors import UserError
from .i18n import KpiText, check_language, date_text, direction, translator
from .paths import atomic_write, check_output_path
from .problems import Problem, severity_word, unreadable


def cli_validate(args) -> int:
    """`ssc validate FILE… [--html OUT.html] [--annotate DIR] [--lang L]`: exit 0 without errors, 1 otherwise.

    The messages are in --lang, else in the language the first workbook's Profile names, else in English."""
    results: list[tuple[Path, list[Problem]]] = []
    if getattr(args, "html", None):  # a link, pipe, device or folder is refused before any file is read
        check_output_path(Path(args.html))
    chosen = check_language(args.lang) if getattr(args, "lang", None) else None
    for path in args.files:
        problems, sub = _checked(Path(path))
        results.append((Path(path), problems))
        chosen = chosen or (sub.profile.language if sub is not None else None)
    _ = translator(chosen)
    for path, problems in results:
        n_err = sum(p.severity == "error" for p in problems)
        status = _("OK") if not n_err else _("NOT USABLE")
        print(_("{file}: {status} - {errors} error(s), {warnings} warning(s)", file=terminal.clean(path), status=status,
                errors=n_err, warnings=len(problems) - n_err))
        for p in problems:
            print(f"  {terminal.clean(p.line(_.lang))}")  # the file's own text: shown, never obeyed
    if getattr(args, "html", None):
        _write_atomic(Path(args.html), report_html(results, _.lang).encode("utf-8"), [p for p, _r in results])
        print(_("HTML report written to {file}", file=terminal.clean(args.html)))
    if getattr(args, "annotate", None):
        used: set[str] = set()
        for path, problems in results:
            name = path.stem
            n = 2
            while name in used:  # two inputs called 'city.xlsx' from different folders keep both copies
                name, n = f"{path.stem}-{n}", n + 1
            used.add(name)
            print(terminal.clean(annotate(path, problems, Path(args.annotate), name=name, lang=_.lang), lines=True))
    return 1 if any(p.severity == "error" for _p, ps in results for p in ps) else 0


def _checked(path: Path):
    """A file the byte-level caps refuse is answered before the parsers load (pandas and openpyxl: ~1.5 s of the
    1.7 s such a refusal used to cost); any other file is read and checked in full."""
    try:
        limits.check_file(path)
    except limits.Refused as exc:
        return unreadable(str(path), exc), None
    except Exception:  # noqa: BLE001 - the full reader explains a damaged file
        pass
    from .validation import checked  # start-up: see above

    return checked(path)


SHEET_ORDER = ("", "Instructions", "Profile", "Data", "Measures")


def report_html(results: list[tuple[Path, list[Problem]]], lang: str = "en") -> str:
    """A self-contained page in the city report's style, problems grouped by sheet with each KPI named; every
    string from a submission is escaped by the template. Texts in `lang`; codes and cells as written."""
    from .library import library  # start-up: see _checked
    from .templating import render

    _ = translator(lang)
    lib = library()
    files = []
    for path, problems in results:
        by_sheet: dict[str, list[dict]] = defaultdict(list)
        for p in problems:
            kpi = lib.by_code.get(p.kpi_code)
            by_sheet[p.sheet].append({"severity": p.severity, "severity_text": severity_word(p.severity, lang),
                                      "where": p.cell or p.sheet or _("whole file"), "kpi_code": p.kpi_code,
                                      "kpi_name": KpiText(kpi.code, "name", None, kpi.name).localise(lang)
                                      if kpi else "", "message": p.localised(lang)})
        order = sorted(by_sheet, key=lambda s: (SHEET_ORDER.index(s) if s in SHEET_ORDER else len(SHEET_ORDER), s))
        groups = [{"title": _("Sheet {sheet}", sheet=s) if s else _("The file as a whole"), "problems": by_sheet[s]}
                  for s in order]
        errors = sum(p.severity == "error" for p in problems)
        files.append({"path": str(path), "errors": errors, "warnings": len(problems) - errors, "groups": groups})
    return render("validation", "report.html.j2", files=files, version=__version__, lang=lang, dir=direction(lang),
                  _=_, generated=date_text(dt.date.today(), lang) + dt.datetime.now().strftime(" %H:%M"))



def _write_atomic(out: Path, data: bytes, inputs: list[Path]) -> None:
    for src in inputs:
        if out.exists() and src.exists() and out.resolve() == src.resolve():
            raise UserError(f"{out} is one of the files being checked; choose another output name")
    atomic_write(out, data)


_CELL = re.compile(r"^(?P<sheet>[^!]+)!(?P<ref>[A-Z]{1,3}[0-9]{1,7})$")
ANNOTATE_MAX_BYTES = 5 * 1024 * 1024


def annotate(path: Path, problems: list[Problem], out_dir: Path, name: str | None = None, lang: str = "en") -> str:
    """Write '<name>.checked.xlsx' into out_dir with problem cells highlighted and explained (in `lang`); the
    original is only read. Returns a line for the user."""
    _ = translator(lang)
    # openpyxl's full (styles, comments) reader costs ~0.3 s to import: only `--annotate` pays it.
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    try:
        if limits.check_file(path, limits.ANNOTATE) != "xlsx":
            return _("{file}: no annotated copy (only workbooks can be annotated; CSV problems are listed by row)",
                     file=path)
    except limits.Refused as exc:
        return _("{file}: no annotated copy ({reason})", file=path, reason=exc)
    if path.stat().st_size > ANNOTATE_MAX_BYTES:
        return _("{file}: no annotated copy (file above {mb} MB)", file=path, mb=ANNOTATE_MAX_BYTES // 2**20)
    out = out_dir / f"{name or path.stem}.checked.xlsx"
    if out.exists() and out.resolve() == path.resolve():
        return _("{file}: no annotated copy (the output would overwrite the original)", file=path)
    try:
        wb = load_workbook(path, read_only=False, data_only=False, keep_links=False, keep_vba=False)
    except Exception as exc:  # noqa: BLE001 - the problem list already explains the file
        return _("{file}: no annotated copy (the workbook cannot be opened: {error})", file=path,
                 error=type(exc).__name__)
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
        text = "\n".join(f"{severity_word(p.severity, lang)}: {p.localised(lang)}" for p in ps)[:2000]
        cell.comment = Comment(text, "ssc validate", width=320, height=160)
    buf = io.BytesIO()
    try:
        wb.save(buf)
    finally:
        wb.close()
    atomic_write(out, buf.getvalue())
    return _("{file}: annotated copy written to {out}", file=path, out=out)
