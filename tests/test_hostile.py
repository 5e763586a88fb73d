"""A generated corpus of over 300 bad or hostile files: each one gives a clear problem list (or SubmissionError),
never a traceback or a hang, and its bytes are unchanged afterwards. Each file is its own test; nothing here is
committed: files live in tmp_path."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import re
import signal
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import openpyxl
import pytest

from kpis import paths, read_submission, validate
from kpis.intake import Submission
from kpis.problems import Problem, SubmissionError
from kpis.template import COLUMN_NAME_PREFIX, SHEET_DATA, column_letter

TIMEOUT_S = 10
DATA_PART = "xl/worksheets/sheet3.xml"  # the Data sheet of an openpyxl-written template (checked below)
CSV_BASE = """kpi_code,part,input,value,data_quality
profile,,city,Scriptville,
profile,,year,2023,
EC: ICT: ICT: 1C,,households_with_internet,40500,Based on accurate measurements
EC: ICT: ICT: 1C,,households_total,45000,Based on accurate measurements
SC: EH: H: 1C,,final_value,80.5,Personal estimation
"""


@contextlib.contextmanager
def time_limit(seconds: float):
    def _raise(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------- building blocks


def parts_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return buf.getvalue()


def set_cell(xml: bytes, ref: str, new: bytes) -> bytes:
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</c>)', re.S)
    out, n = pattern.subn(new.replace(b"REF", ref.encode()), xml, count=1)
    assert n == 1, ref
    return out


def with_openpyxl(base: Path, edit) -> bytes:
    wb = openpyxl.load_workbook(base)
    edit(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                   for i in range(1, 10))
        + b"]>")
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@dataclass(frozen=True)
class Case:
    """One corpus file: its name, what validation must say ('error' = at least one error; 'problem' = at least one
    problem; 'same' = reads exactly like the original; 'same_or_error' = either), and how to build its bytes (only
    when its test runs, so that collecting the tests stays cheap)."""

    index: int
    name: str
    expect: str
    build: Callable[[], bytes]

    def __str__(self) -> str:
        return self.name


def _const(content: bytes) -> Callable[[], bytes]:
    return lambda: content


def _flipped(demo: bytes, flips: list[tuple[int, int]]) -> bytes:
    b = bytearray(demo)
    for pos, bit in flips:
        b[pos] ^= 1 << bit
    return bytes(b)


def _zipcrypto(demo: bytes) -> bytes:
    b = bytearray(demo)
    for m in re.finditer(rb"PK\x01\x02", demo):  # central directory: set the 'encrypted' flag bit
        struct.pack_into("<H", b, m.start() + 8, struct.unpack_from("<H", b, m.start() + 8)[0] | 1)
    return bytes(b)


def corpus(base: Path) -> list[Case]:
    """The generated files, in a fixed order; random choices are drawn here, expensive bytes are built lazily."""
    rng = random.Random(20261127)
    demo = base.read_bytes()
    parts = parts_of(demo)
    data_xml = parts[DATA_PART]
    assert b"IF(OR(COUNT(" in data_xml  # it is the Data sheet
    files: list[tuple[str, Callable[[], bytes], str]] = []

    def with_data(xml: bytes) -> Callable[[], bytes]:
        return partial(rezip, {**parts, DATA_PART: xml})

    def with_cell(ref: str, payload: bytes) -> Callable[[], bytes]:
        return lambda: rezip({**parts, DATA_PART: set_cell(data_xml, ref, payload)})

    # wrong types in cells (100)
    payloads = [b'<c r="REF" t="inlineStr"><is><t>abc</t></is></c>',
                b'<c r="REF" t="inlineStr"><is><t>NR?</t></is></c>',
                b'<c r="REF" t="inlineStr"><is><t>12,5,3</t></is></c>',
                b'<c r="REF" t="inlineStr"><is><t>&lt;script&gt;x&lt;/script&gt;</t></is></c>',
                b'<c r="REF" t="inlineStr"><is><t>=1+1</t></is></c>',
                b'<c r="REF" t="inlineStr"><is><t>' + "\u202e💥".encode() + b"</t></is></c>",
                b'<c r="REF" t="inlineStr"><is><t>' + b"x" * 40000 + b"</t></is></c>",
                b'<c r="REF" t="b"><v>1</v></c>',
                b'<c r="REF" t="e"><v>#DIV/0!</v></c>',
                b'<c r="REF"><v>1e999</v></c>',
                b'<c r="REF"><v>-5</v></c>']
    columns = [column_letter(k) for k in ("numerator_value", "denominator_value", "final_value", "data_quality",
                                          "code", "part")]
    for i in range(100):
        col, row = rng.choice(columns), rng.randint(2, 109)
        payload = rng.choice(payloads)
        if col == column_letter("part") and payload == payloads[-1]:
            payload = payloads[0]
        if col == column_letter("final_value") and payload in (payloads[7], payloads[8]):
            payload = payloads[0]
        if f'<c r="{col}{row}"'.encode() not in data_xml:  # empty cells are not written at all
            col = column_letter("code")
        files.append((f"types-{i:03}.xlsx", with_cell(f"{col}{row}", payload), "error"))

    # missing or renamed sheets (6)
    for name in ("Instructions", "Profile", "Data", "Measures"):
        files.append((f"nosheet-{name}.xlsx", partial(with_openpyxl, base, lambda wb, n=name: wb.remove(wb[n])),
                      "problem"))
    for new in ("data ", "Sheet1"):
        def rename(wb, new=new):
            wb[SHEET_DATA].title = new
        files.append((f"renamed-{new.strip()}.xlsx", partial(with_openpyxl, base, rename), "error"))

    # shuffled columns (10 still readable) and renamed required headers (10)
    def shuffle(wb, seed):
        ws = wb[SHEET_DATA]
        cols = [[c.value for c in col] for col in ws.iter_cols(min_col=1, max_col=19)]
        order = list(range(19))
        random.Random(seed).shuffle(order)
        for j, src in enumerate(order, start=1):
            for r, v in enumerate(cols[src], start=1):
                ws.cell(r, j).value = v
    for i in range(10):
        files.append((f"shuffled-{i}.xlsx", partial(with_openpyxl, base, partial(shuffle, seed=i)), "same"))
    for i, key in enumerate(["code", "part", "numerator_value", "denominator_value", "final_value"] * 2):
        def rename_header(wb, key=key, i=i, keep_names=False):
            wb[SHEET_DATA][f"{column_letter(key)}1"] = ["", "Value", "numerator"][i % 3] or None
            if not keep_names:  # a workbook without the hidden column names is read by its header texts
                for name in [n for n in wb.defined_names if n.startswith(COLUMN_NAME_PREFIX)]:
                    del wb.defined_names[name]
        files.append((f"header-{i}-{key}.xlsx", partial(with_openpyxl, base, rename_header), "error"))
        if i % 3:  # a retyped header over a column that keeps its hidden name: the column is still found by its key
            files.append((f"header-{i}-{key}-named.xlsx",
                          partial(with_openpyxl, base, partial(rename_header, keep_names=True)), "same"))

    # truncated (30) and corrupted (30) archives
    for i in range(30):
        files.append((f"truncated-{i:02}.xlsx", _const(demo[: int(len(demo) * (i + 0.5) / 31)]), "error"))
    for i in range(30):
        flips = [(rng.randrange(len(demo)), rng.randrange(8)) for _ in range(8)]
        files.append((f"corrupt-{i:02}.xlsx", partial(_flipped, demo, flips), "same_or_error"))

    # zip bombs, many entries, nested archives (10)
    for mb in (5, 12, 30, 60):
        files.append((f"bomb-{mb}mb.xlsx", lambda mb=mb: rezip({**parts, DATA_PART: b" " * (mb * 2**20)}), "error"))
    files.append(("many-entries.xlsx", lambda: rezip({**parts, **{f"xl/media/img{i}.png": b"x" for i in range(400)}}),
                  "error"))
    files.append(("nested-zip.xlsx", lambda: rezip({**parts, "xl/media/inner.zip": demo}), "error"))
    files.append(("nested-ole.xlsx", lambda: rezip({**parts, "xl/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0" * 9}),
                  "error"))
    files.append(("not-workbook.xlsx", partial(rezip, {"hello.txt": b"hi"}), "error"))
    files.append(("deep-bomb.xlsx",
                  lambda: rezip({**{f"xl/p{i}.xml": b"\0" * (3 * 2**20) for i in range(4)}, **parts}), "error"))
    files.append(("bomb-strings.xlsx", lambda: rezip({**parts, "xl/sharedStrings.xml": b"<a>" + b"a" * (8 * 2**20)}),
                  "error"))

    # XML entity bombs and external entities in every part the reader parses (12)
    for part in ("xl/workbook.xml", DATA_PART, "xl/styles.xml", "[Content_Types].xml", "docProps/core.xml",
                 "_rels/.rels", "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet2.xml"):
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", parts[part])
        files.append((f"xmlbomb-{part.replace('/', '_')}.xlsx", partial(rezip, {**parts, part: BOMB + body}), "error"))
    for part in (DATA_PART, "xl/workbook.xml", "xl/worksheets/sheet2.xml", "[Content_Types].xml"):
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", parts[part])
        files.append((f"xxe-{part.replace('/', '_')}.xlsx", partial(rezip, {**parts, part: XXE + body}), "error"))

    # huge declared dimensions and far-away cells (10)
    def dims(ref: bytes, extra: bytes = b"") -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="' + ref + b'"', data_xml)
        return rezip({**parts, DATA_PART: xml.replace(b"</sheetData>", extra) if extra else xml})
    for i, ref in enumerate(["A1:XFD1048576", "A1:S1048576", "A1:ZZ109", "A1:XFD1", "A1:S5000"]):
        files.append((f"dims-{i}.xlsx", partial(dims, ref.encode()), "problem"))
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    junk_rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>junk</t></is></c></row>' % (r, r)
                         for r in range(200, 2600)) + b"</sheetData>"
    for i, extra in enumerate([far, junk_rows]):
        files.append((f"far-{i}.xlsx", partial(dims, b"A1:XFD1048576", extra), "problem"))
    for i in range(3):
        xml = data_xml.replace(b"</sheetData>", b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>EC: X</t></is></c>'
                               b"</row></sheetData>" % (150 + i, 150 + i))
        files.append((f"stray-row-{i}.xlsx", with_data(xml), "error"))

    # formulas in input cells, with and without a saved result (20)
    formulas = [b"1/0", b'WEBSERVICE("http://example.invalid/")', b'HYPERLINK("http://x","y")',
                b"cmd|' /C calc'!A0", b"SUM(A1:A3)"]
    for i in range(20):
        col = columns[i % 3]
        cached = b"<v>5</v>" if i % 2 else b""
        files.append((f"formula-{i:02}.xlsx",
                      with_cell(f"{col}{2 + 5 * i}", b'<c r="REF"><f>' + formulas[i % 5] + b"</f>" + cached + b"</c>"),
                      "problem"))

    # macros (6)
    files.append(("macro.xlsm", _const(demo), "error"))
    files.append(("macro.xltm", _const(demo), "error"))
    files.append(("vba.xlsx", lambda: rezip({**parts, "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0vba"}), "error"))
    ctypes = parts["[Content_Types].xml"].replace(
        b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")
    files.append(("macro-ctype.xlsx", partial(rezip, {**parts, "[Content_Types].xml": ctypes}), "error"))
    files.append(("legacy.xls", _const(demo), "error"))
    files.append(("calc.ods", _const(demo), "error"))

    # encrypted (9)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    for i in range(5):
        files.append((f"encrypted-{i}.xlsx", _const(ole + rng.randbytes(4096 * (i + 1))), "error"))
    files.append(("encrypted.csv", _const(ole + b"\0" * 512), "error"))
    for i in range(3):
        files.append((f"zipcrypto-{i}.xlsx", partial(_zipcrypto, demo), "error"))

    # empty files (6)
    for name, content in (("empty.xlsx", b""), ("empty.csv", b""), ("bom.csv", b"\xef\xbb\xbf"),
                          ("blank.csv", b"\n\n   \n"), ("header-only.csv", b"kpi_code,part,input,value\n"),
                          ("empty.xlsm", b"")):
        files.append((name, _const(content), "error"))

    # CSV: wrong delimiters, encodings, junk, malformed (30)
    for sep in (";", "\t", "|"):
        for enc in ("utf-8", "utf-8-sig"):
            files.append((f"sep-{ord(sep)}-{enc}.csv", _const(CSV_BASE.replace(",", sep).encode(enc)), "error"))
    accented = CSV_BASE.replace("Scriptville", "Bézier–ville €")
    for enc in ("latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32", "cp1252"):
        text = accented if enc != "latin-1" else CSV_BASE.replace("Scriptville", "Bézierville")
        files.append((f"enc-{enc}-{len(files)}.csv", _const(text.encode(enc, errors="replace")), "error"))
    for i in range(5):
        files.append((f"junk-{i}.csv", _const(rng.randbytes(2000)), "error"))
    files.append(("unbalanced.csv", _const((CSV_BASE + 'EC: ICT: ICT: 2C,,"households_total,5\n').encode()),
                  "error"))
    files.append(("hugefield.csv",
                  lambda: (CSV_BASE + "SC: EH: H: 1C,,comment," + "x" * 300_000 + "\n").encode(), "error"))
    files.append(("nul.csv", _const(CSV_BASE.encode().replace(b"Scriptville", b"Script\0ville")), "error"))
    for i, line in enumerate(["EC: ICT: ICT: 77C,,x,1", "EC: ICT: ICT: 1C,,bogus_input,1",
                              "EC: ICT: ICT: 1C,,households_total,=cmd|' /C calc'!A0",
                              "EC: ICT: ICT: 1C,,households_total,-4", "EC: I: T: 4A,,numerator,3",
                              "EC: ICT: ICT: 1C,weird,numerator,3", "profile,,year,MMXXIV",
                              "profile,,nickname,x", "EC: ICT: ICT: 1C,,households_total,1e999"]):
        files.append((f"csvbad-{i}.csv", _const((CSV_BASE + line + "\n").encode()), "error"))

    # garbage with workbook names (20)
    for i in range(20):
        head = b"PK\x03\x04" if i % 2 else b""
        files.append((f"garbage-{i:02}.xlsx", _const(head + rng.randbytes(rng.randint(1, 50_000))), "error"))
    return [Case(i, name, expect, build) for i, (name, build, expect) in enumerate(files)]


@pytest.fixture(scope="module")
def reference():
    return read_submission(paths.demo_city()).data


def _same(sub: Submission, reference) -> bool:
    cols = ["code", "part", "numerator_value", "denominator_value", "final_value", "data_quality", "source_name"]
    return sub.data[cols].equals(reference[cols])


def _check(path: Path, expect: str, reference, also_read: bool = True) -> list[Problem]:
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    with time_limit(TIMEOUT_S):
        problems = validate(path)
    assert isinstance(problems, list) and all(isinstance(p, Problem) for p in problems), path.name
    for p in problems:
        assert p.severity in ("error", "warning") and p.message and "Traceback" not in p.message, str(p)
        assert str(path) == p.file
    errors = [p for p in problems if p.severity == "error"]
    sub = None
    if also_read or expect != "error":
        with time_limit(TIMEOUT_S):
            try:
                sub = read_submission(path)
            except SubmissionError as exc:
                assert exc.problems and [str(p) for p in exc.problems if p.severity == "error"], path.name
        assert (sub is None) == bool(errors), path.name  # validate and read_submission agree
    if expect == "error":
        assert errors, f"{path.name}: expected an error, got {[str(p) for p in problems]}"
    elif expect == "problem":
        assert problems, f"{path.name}: expected a problem"
    elif expect == "same":
        assert sub is not None and _same(sub, reference), f"{path.name}: {[str(p) for p in problems]}"
    elif expect == "same_or_error":
        assert errors or _same(sub, reference), f"{path.name}: read differently without an error"
    if before is not None:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, f"{path.name} was modified"
    return problems


CASES = corpus(paths.demo_city())  # cheap: the bytes of each file are built when its test runs
# a few messages a city official will read, checked on the first problem of the named file
MESSAGES = {
    "macro.xlsm": "macro",
    "encrypted-0.xlsx": "password-protected",
    "bomb-30mb.xlsx": "zip bomb",
    "xmlbomb-xl_workbook.xml.xlsx": "XML bomb",
    "sep-59-utf-8.csv": "semicolons",
    next(c.name for c in CASES if c.name.startswith("enc-latin-1-")): "not UTF-8",
    "truncated-00.xlsx": "damaged or truncated",
}


def test_corpus_has_over_300_distinct_files():
    assert len(CASES) >= 300
    assert len({c.name for c in CASES}) == len(CASES)  # one test id per file
    assert set(MESSAGES) <= {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_file(case, tmp_path, reference):
    path = tmp_path / case.name
    path.write_bytes(case.build())
    # read_submission on every third file that must fail (and on all others) keeps the run short
    problems = _check(path, case.expect, reference, also_read=case.index % 3 == 0)
    if case.name in MESSAGES:
        assert problems and MESSAGES[case.name] in problems[0].message, [str(p) for p in problems]


def test_special_files_do_not_hang(tmp_path, reference):
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    for path in (folder, fifo, zero):
        problems = _check(path, "error", reference)
        assert "not a regular file" in problems[0].message
