"""Intake speed and the cost of refusing hostile files.

1. `validate` on a full 91-KPI submission (the bundled demo city): budget 0.3 s.
2. 10 MB hostile files (zip bomb, XML entity bomb, oversized sheet, garbage, oversized CSV): each refused or
   capped in at most 1 s (best of 3 untraced runs) with peak memory under 300 MB (tracemalloc peak of a traced
   run; the process max RSS is shown too).
3. Parser-stage cases (issue 13): workbooks that pass the byte caps but whose XML parts would cost openpyxl
   seconds and hundreds of MB (a styles bomb, a hidden sheet with 1.5 million rows and no <dimension>, a shared
   strings bomb, `validate --annotate` on a 600 000-row file), plus the costliest file the budgets still accept.
   Each runs `ssc validate` in a child process: wall and CPU time (interpreter start and imports included: see the
   baseline row) and that process's peak RSS; then the CPU time of `validate` (+ `annotate`) in this process,
   imports paid, which is the parse budget: 1 s, and 300 MB of RSS. `--before DIR` runs the same cases against another checkout (e.g. the main branch).
Run: python bench/bench_intake.py [--before /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

from kpis import paths
from kpis.validation import validate

MB = 2**20
TARGET = 10 * MB


def _parts(demo: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(demo)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _pad(zf: zipfile.ZipFile, current: int) -> None:
    """Fill up to ~10 MB with an incompressible, stored picture-like part."""
    zf.writestr(zipfile.ZipInfo("xl/media/image1.png"), random.Random(1).randbytes(max(TARGET - current, 0)))


def zip_bomb(path: Path, parts: dict[str, bytes]) -> None:
    """The Data sheet expands to 1 GB of zeros (about 1 MB compressed), padded to 10 MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            if name != "xl/worksheets/sheet3.xml":
                zf.writestr(name, content)
        with zf.open("xl/worksheets/sheet3.xml", "w") as w:
            chunk = b"\0" * MB
            for _ in range(1024):
                w.write(chunk)
        zf.fp.flush()
        _pad(zf, zf.fp.tell())


def entity_bomb(path: Path, parts: dict[str, bytes]) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                       for i in range(1, 10)) + b"]>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, bomb + content.split(b"?>", 1)[-1] if name == "xl/workbook.xml" else content)
        _pad(zf, 200_000)


def huge_sheet(path: Path, parts: dict[str, bytes]) -> None:
    """A stored (uncompressed) Data sheet of ~10 MB: 120 000 junk rows, passes the zip caps, capped by MAX_ROWS."""
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>EC: ICT: ICT: 1C</t></is></c>'
                    b'<c r="H%d"><v>1</v></c></row>' % (r, r, r) for r in range(2, 120_002))
    xml = parts["xl/worksheets/sheet3.xml"].replace(b"</sheetData>", rows + b"</sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            if name == "xl/worksheets/sheet3.xml":
                zf.writestr(zipfile.ZipInfo(name), xml[:TARGET], compress_type=zipfile.ZIP_STORED)
            else:
                zf.writestr(name, content)


def garbage(path: Path, parts: dict[str, bytes]) -> None:
    path.write_bytes(b"PK\x03\x04" + random.Random(2).randbytes(TARGET))


def big_csv(path: Path, parts: dict[str, bytes]) -> None:
    line = b"EC: ICT: ICT: 1C,,households_total,45000,Based on accurate measurements\n"
    path.write_bytes(b"kpi_code,part,input,value,data_quality\n" + line * (TARGET // len(line)))


def measure(path: Path) -> tuple[float, float, list]:
    """Best wall time of three untraced runs, then the tracemalloc peak of one traced run (tracing slows it)."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        problems = validate(path)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    validate(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), peak / MB, problems


ROOT = Path(__file__).resolve().parents[1]


def parser_stage(before: str | None) -> bool:
    """Section 3: each hostile workbook through `ssc validate` in a child process (tests/adversarial.run_ssc)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import hostile_workbooks as H
    from adversarial import run_ssc

    cases = [("baseline: the demo city (valid)", lambda p, f: H._write(f, p), ()),
             ("styles bomb (500 000 cell formats)", lambda p, f: H.styles_bomb(p, f, n=500_000), ()),
             ("styles bomb (100 000, under the part cap)", H.styles_bomb, ()),
             ("hidden sheet, 1.5 M rows, no <dimension>", lambda p, f: H.hidden_rows(p, f, n=1_500_000), ()),
             ("hidden sheet, 150 000 rows (1 MB)", lambda p, f: H.hidden_rows(p, f, n=150_000), ()),
             ("shared strings bomb (1 M entries)", lambda p, f: H.shared_strings_bomb(p, f, n=1_000_000), ()),
             ("annotate, 600 000 rows", lambda p, f: H.hidden_rows(p, f, n=600_000), ("--annotate", "checked")),
             ("accepted: 9 000 extra rows, 4 900 styles", near_caps, ()),
             ("annotate, accepted file above", near_caps, ("--annotate", "checked"))]
    parts = H.demo_parts()
    ok = True
    checkouts = [("now", str(ROOT))] + ([("before", before)] if before else [])
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, extra in cases:
            path = make(parts, Path(tmp) / "hostile.xlsx")
            size = path.stat().st_size / MB
            for label, checkout in checkouts:
                env = {"PYTHONPATH": checkout, "OPENPYXL_DEFUSEDXML": os.environ.get("OPENPYXL_DEFUSEDXML", "True")}
                cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                out = run_ssc("validate", path.name, *extra, cwd=Path(tmp), timeout=600, env=env)
                cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
                said = (out.stdout + out.stderr).replace(str(Path(tmp)) + "/", "")
                line = next((ln.strip() for ln in said.splitlines() if "error" in ln.lower() and ":" in ln
                             and "error(s)" not in ln), said.strip().splitlines()[-1] if said.strip() else "")
                if extra:
                    line = next((ln for ln in said.splitlines() if "annotated" in ln), line)
                parse = in_process(path, extra) if label == "now" else float("nan")
                verdict = "OK" if parse <= 1.0 and out.peak_mb <= 300 else "OVER BUDGET"
                ok &= verdict == "OK" or label == "before"
                print(f"{name:42s} {size:5.1f} MB [{label}]: {out.seconds:5.2f} s wall, {cpu:5.2f} s CPU, read {parse:5.2f} s CPU, peak RSS {out.peak_mb:5.0f} MB, "
                      f"exit {out.code} -> {verdict}")
                print(f"    {line[:150]}")
            path.unlink()
    return ok


def in_process(path: Path, extra: tuple[str, ...]) -> float:
    """CPU seconds of `validate` (and `annotate`) in this process, imports already paid: the parse budget."""
    from kpis.validation_report import annotate

    start = time.process_time()
    problems = validate(path)
    if extra:
        with tempfile.TemporaryDirectory() as out:
            annotate(path, problems, Path(out))
    return time.process_time() - start


def near_caps(parts: dict[str, bytes], path: Path) -> Path:
    """About the costliest workbook the intake budget accepts: 9 000 more rows of 2 cells, 4 900 styles."""
    import hostile_workbooks as H

    def rows():
        for s in range(1, 9001, 1000):
            yield b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c><c r="B%d"><v>2</v></c></row>' % (r, r, r)
                           for r in range(s, s + 1000))
    head, tail = parts[H.STYLES].split(b"<cellXfs", 1)
    rnd = random.Random(7)
    xfs = b"".join(b'<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0"/>' % rnd.randrange(100)
                   for _ in range(4_900))
    styles = head + b'<cellXfs count="4900">' + xfs + b"</cellXfs>" + tail.split(b"</cellXfs>", 1)[1]
    return H._write(path, {**parts, H.LISTS: H._sheet(rows), H.STYLES: styles})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="another checkout to run the parser-stage cases against")
    ap.add_argument("--parsers-only", action="store_true")
    args = ap.parse_args()
    if args.parsers_only:
        print("all parser-stage cases within budget" if parser_stage(args.before) else "SOME CASES OVER BUDGET")
        return
    demo = paths.demo_city()
    validate(demo)  # warm: imports, catalogue, targets
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        problems = validate(demo)
        times.append(time.perf_counter() - t0)
    assert problems == [], problems
    best, median = min(times), statistics.median(times)
    print(f"validate full 91-KPI submission ({demo.name}): best {best:.3f} s, median {median:.3f} s "
          f"(budget 0.3 s) -> {'OK' if median <= 0.3 else 'OVER BUDGET'}")

    parts = _parts(demo.read_bytes())
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, suffix in (("zip bomb (1 GB expanded)", zip_bomb, ".xlsx"),
                                   ("XML entity bomb", entity_bomb, ".xlsx"),
                                   ("oversized sheet (120 000 rows, stored)", huge_sheet, ".xlsx"),
                                   ("random bytes", garbage, ".xlsx"),
                                   ("oversized CSV", big_csv, ".csv")):
            path = Path(tmp) / f"hostile{suffix}"
            make(path, parts)
            size = path.stat().st_size / MB
            elapsed, peak, problems = measure(path)
            errors = [p for p in problems if p.severity == "error"]
            verdict = "OK" if elapsed <= 1.0 and peak < 300 and errors else "OVER BUDGET"
            ok &= verdict == "OK"
            print(f"{name:40s} {size:5.1f} MB: {elapsed:.3f} s, peak {peak:6.1f} MB -> {verdict}")
            print(f"    {errors[0].message[:110] if errors else 'no error!'}")
            path.unlink()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS over the whole run (includes building the files): {rss:.0f} MB")
    print("all hostile files within budget" if ok else "SOME HOSTILE FILES OVER BUDGET")
    print("\nparser stage (child process per case: wall time incl. interpreter start, peak RSS):")
    print("all parser-stage cases within budget" if parser_stage(args.before) else "SOME CASES OVER BUDGET")


if __name__ == "__main__":
    main()
