"""The `ssc` command: one sub-command per stage; bad input ends with a clear message and exit code 1."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from . import __version__, terminal
from .errors import UserError
from .paths import check_output_path

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2

# Each sub-command imports its own stage inside its function: that keeps the start-up of `ssc catalogue` or
# `ssc validate` free of pandas plotting, papermill and nbconvert (0.1-1.5 s each).


def _catalogue(args: argparse.Namespace) -> int:
    from .library import catalogue_frame, load_targets  # start-up: see above

    frame = catalogue_frame(load_targets(args.targets) if args.targets else None)
    cols = ["code", "name", "dimension", "sub_dimension", "category", "tier", "focus", "unit", "direction",
            "targets", "target_source", "sdg"]
    if args.format == "csv":
        from .export import neutralise_frame  # start-up: see above

        neutralise_frame(frame).to_csv(sys.stdout, index=False)
    elif args.format == "json":
        sys.stdout.write(frame.to_json(orient="records", force_ascii=False, indent=1) + "\n")
    elif args.format == "md":
        sys.stdout.write(_markdown(frame[cols]) + "\n")
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 40):
            table = frame[["code", "name", "tier", "unit", "direction", "targets"]].to_string(index=False)
            print(terminal.clean(table, lines=True))  # a target set's text is shown, never obeyed
    return EXIT_OK


def _markdown(frame) -> str:
    def cell(v: object) -> str:
        return terminal.clean(str("" if v is None else v).replace("|", "\\|").replace("\n", " "))

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _template(args: argparse.Namespace) -> int:
    from .i18n import translator  # start-up: see above
    from .template import write_template  # start-up: openpyxl's writer only here

    path = write_template(args.out, city=args.city, year=args.year, overwrite=args.force, lang=args.lang)
    _ = translator(args.lang)
    print(_("Template written to {path}", path=path))
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    if args.html:  # a link, pipe, device or folder as OUT.html is refused at once, before the catalogue loads
        check_output_path(args.html)
    from .validation_report import cli_validate  # start-up: see above

    return cli_validate(args)


def _assess(args: argparse.Namespace) -> int:
    from .assess_cli import cli_assess  # start-up: papermill and nbconvert only here

    return cli_assess(args)


def _compare(args: argparse.Namespace) -> int:
    from .comparison import cli_compare  # start-up: see above

    return cli_compare(args)


class _Parser(argparse.ArgumentParser):
    """A bad option is bad input like any other: one line naming it and exit code 1 (argparse's own is 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


MAX_TIMEOUT_S = 86_400  # one day per city: longer is a typing error, not a plan
MAX_JOBS = 512


def _seconds(text: str) -> float:
    """--timeout: a finite number of seconds above 0 and at most a day (inf, nan, 1e300 and -1 are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; give e.g. 600") from None
    if not 0 < value <= MAX_TIMEOUT_S:  # False for nan as well
        raise argparse.ArgumentTypeError(f"{text!r} seconds: give a number above 0 and at most {MAX_TIMEOUT_S} "
                                         "(one day)")
    return value


def _jobs(text: str) -> int:
    """--jobs: a whole number of worker processes from 1 to MAX_JOBS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of workers; give e.g. 4") from None
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"{text!r} workers: give a number from 1 to {MAX_JOBS}")
    return value


def _assess_parser(sub) -> None:
    """The options of `ssc assess`."""
    p = sub.add_parser("assess", help="score submissions and write recommendation reports (default: demo city)")
    p.add_argument("files", nargs="*", metavar="FILE", type=Path,
                   help="filled workbooks (.xlsx) or long CSVs, one per city-year (default: the demo city)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports/)")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf (needs Debian's chromium)")
    p.add_argument("--jobs", type=_jobs, default=None, help="cities rendered in parallel (default: CPU count)")
    p.add_argument("--force", action="store_true", help="re-run cities whose inputs and code are unchanged")
    p.add_argument("--targets", type=Path, metavar="FILE", help="a target set (YAML/CSV) instead of the default")
    p.add_argument("--timeout", type=_seconds, default=600,
                   help=f"seconds allowed per city, above 0 and at most {MAX_TIMEOUT_S} (default: 600)")
    p.add_argument("--notebook", type=Path, metavar="FILE.ipynb", default=None,
                   help="a custom report notebook with the bundled one's parameters cell (default: the bundled one)")
    _language_option(p, "the language of the reports (default: the language each city's Profile names, else en)",
                     default=None)
    p.add_argument("--decimal-separator", dest="decimal_separator", choices=[".", ","], default=None,
                   help="overrides the decimal sign of the report's language (default: the language's own)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="run the cities on a Dask cluster (`dask scheduler`, `dask worker`); no shared disk needed")
    p.set_defaults(func=_assess)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ssc",
        description="Assess smart sustainable cities against the 91 U4SSC KPIs (ITU-T Y.4903/L.1603).",
    )
    parser.add_argument("--version", action="version", version=f"ssc-kpis {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("catalogue", help="print the KPI library (91 KPIs with units, directions and targets)")
    p.add_argument("--format", choices=["table", "csv", "json", "md"], default="table",
                   help="table (terminal), csv, json or md (Markdown); default: table")
    p.add_argument("--targets", metavar="FILE", help="show a user target set (YAML/CSV) instead of the default")
    p.set_defaults(func=_catalogue)

    p = sub.add_parser("template", help="write the data-collection workbook a city fills in")
    p.add_argument("out", metavar="OUT.xlsx", type=Path, help="the workbook to write (an .xlsx file name)")
    p.add_argument("--city", help="pre-fill the city name")
    p.add_argument("--year", type=int, help="pre-fill the year the data refer to")
    p.add_argument("--force", action="store_true", help="replace OUT.xlsx if it already exists")
    _language_option(p, "the language of the workbook's texts")
    p.set_defaults(func=_template)

    p = sub.add_parser("validate", help="check filled workbooks/CSVs and list every problem with its cell")
    p.add_argument("files", nargs="+", metavar="FILE", type=Path, help="filled workbooks (.xlsx) or long CSVs")
    p.add_argument("--html", metavar="OUT.html", type=Path, help="also write the problem report as HTML")
    p.add_argument("--annotate", metavar="DIR", type=Path,
                   help="write an annotated copy of each workbook (problem cells highlighted) into DIR")
    _language_option(p, "the language of the messages (default: the language the Profile names, else en)",
                     default=None)
    p.set_defaults(func=_validate)

    _assess_parser(sub)

    _compare_parser(sub)
    return parser


def _compare_parser(sub: Any) -> None:
    """`ssc compare`: its own function, so that build_parser stays short."""
    p = sub.add_parser("compare", help="compare many cities/years and write a comparison report")
    p.add_argument("inputs", nargs="*", metavar="FILE_OR_RESULTS", type=Path,
                   help="submissions, results files (.xlsx/.csv/.parquet/.json), long CSVs or folders of them "
                        "(default: the bundled cities)")
    p.add_argument("--out", type=Path, default=Path("reports/comparison"),
                   help="output folder (default: reports/comparison/)")
    p.add_argument("--group-by", dest="group_by", default=None, help="peer grouping: population_band or region")
    p.add_argument("--year", type=int, default=None, help="only this year")
    p.add_argument("--targets", type=Path, metavar="FILE", help="a target set (YAML/CSV) instead of the default")
    _language_option(p, "the language of the comparison report")
    p.set_defaults(func=_compare)


def _language_option(p: argparse.ArgumentParser, what: str, default: str | None = "en") -> None:
    # checked by kpis.i18n.check_language (exit 1 with the list), not by argparse choices (exit 2)
    p.add_argument("--lang", default=default, metavar="LANG", help=f"{what}: ar, zh, en, fr, ru or es")


def _version() -> str:
    return __version__


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name with a byte that is not UTF-8 (\xff) is shown escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    try:
        code = args.func(args)
        sys.stdout.flush()
        # the work is done: objects alive now are freed at exit without the garbage collector walking them again,
        # which with pandas loaded costs 0.3 s of a 3 s command
        gc.freeze()
        return code
    except BrokenPipeError:
        # the reader went away (`ssc catalogue | head`): end quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except UserError as exc:
        # messages quote the input (a city name, a cell): shown as text, never obeyed by the terminal
        print(f"ssc {args.command}: {terminal.clean(exc, lines=True)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a folder that cannot be created, a file that cannot be written or read
        where = terminal.clean(exc.filename or "")
        print(f"ssc {args.command}: {where}: {terminal.clean(exc.strerror or exc)}; check the path and its permissions",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ssc: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one readable line, the traceback only on request
        if os.environ.get("SSC_DEBUG"):
            raise
        print(f"ssc {args.command}: unexpected error ({type(exc).__name__}: {terminal.clean(exc)}). This is a bug in "
              "ssc-kpis; run again with SSC_DEBUG=1 to see the traceback and report it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
