"""Intake speed and the cost of refusing hostile files.

1. `validate` on a full 91-KPI submission (the bundled demo city): budget 0.3 s.
2. 10 MB hostile files (zip bomb, XML entity bomb, oversized sheet, garbage, oversized CSV): each refused or
   capped in at most 1 s (best of 3 untraced runs) with peak memory under 300 MB (tracemalloc peak of a traced
   run; the process max RSS is shown too).
Run: python bench/bench_intake.py
"""

from __future__ import annotations

import io
import random
import resource
import statistics
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


def main() -> None:
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


if __name__ == "__main__":
    main()
