"""`ssc assess` on the command line: the batch (`run.assess`), its summary table and the problems of refused
cities."""

from __future__ import annotations

import sys
from pathlib import Path

from . import terminal
from .batch import BatchInterrupted
from .run import BatchResult, assess


def cli_assess(args) -> int:
    try:
        result = assess(args.files or None, out=args.out, pdf=args.pdf, jobs=args.jobs, force=args.force,
                        targets=args.targets, timeout=args.timeout, progress=sys.stderr.isatty(),
                        decimal_separator=args.decimal_separator, notebook=getattr(args, "notebook", None),
                        scheduler=getattr(args, "scheduler", None), lang=getattr(args, "lang", None))
    except BatchInterrupted as stop:
        print(f"ssc assess: {stop.message}", file=sys.stderr)
        return stop.code
    print(summary_table(result))
    for r in result.runs:
        if r.status == "invalid" and r.problems:
            print(f"\n{r.input}:", file=sys.stderr)
            for line in r.problems[:20]:
                print(f"  {line}", file=sys.stderr)
            if len(r.problems) > 20:
                print(f"  … and {len(r.problems) - 20} more", file=sys.stderr)
    if result.pdf_message:
        print(f"\nPDF not written: {result.pdf_message}", file=sys.stderr)
    ok = sum(r.status in {"ok", "skipped"} for r in result.runs)
    print(f"\n{ok} of {len(result.runs)} cities done; manifest: {Path(args.out) / 'manifest.json'}")
    return result.exit_code


def summary_table(result: BatchResult) -> str:
    rows = [("city", "year", "status", "seconds", "report or reason")]
    for r in result.runs:
        secs = sum(r.timings.values())
        where = str(Path(r.out_dir) / "report.html") if r.status in {"ok", "skipped"} else r.reason
        name = terminal.clean(r.city or Path(r.input).name)  # a city's name must not drive the terminal
        rows.append((name, str(r.year or ""), r.status, f"{secs:.1f}", terminal.clean(where)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)) for row in rows]
    return "\n".join(lines)
