"""A generated corpus of over 300 bad or hostile files: each one gives a clear problem list (or SubmissionError),
never a traceback or a hang, and its bytes are unchanged afterwards. Nothing here is committed: files live in
tmp_path."""

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
from pathlib import Path

import openpyxl
import pytest

from kpis import paths, read_submission, validate
from kpis.intake import Submission
from kpis.problems import Problem, SubmissionError
from kpis.template import SHEET_DATA, column_letter

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


def corpus(base: Path) -> list[tuple[str, bytes, str]]:
    """(file name, bytes, expectation): 'error' = at least one error; 'problem' = at least one problem;
    'same' = reads exactly like the original; 'same_or_error' = either."""
    rng = random.Random(20261127)
    demo = base.read_bytes()
    parts = parts_of(demo)
    data_xml = parts[DATA_PART]
    assert b"IF(OR(COUNT(" in data_xml  # it is the Data sheet
    files: list[tuple[str, bytes, str]] = []

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
        xml = set_cell(data_xml, f"{col}{row}", payload)
        files.append((f"types-{i:03}.xlsx", rezip({**parts, DATA_PART: xml}), "error"))

    # missing or renamed sheets (6)
    for name in ("Instructions", "Profile", "Data", "Measures"):
        files.append((f"nosheet-{name}.xlsx", with_openpyxl(base, lambda wb, n=name: wb.remove(wb[n])), "problem"))
    for new in ("data ", "Sheet1"):
        def rename(wb, new=new):
            wb[SHEET_DATA].title = new
        files.append((f"renamed-{new.strip()}.xlsx", with_openpyxl(base, rename), "error"))

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
        files.append((f"shuffled-{i}.xlsx", with_openpyxl(base, lambda wb, i=i: shuffle(wb, i)), "same"))
    for i, key in enumerate(["code", "part", "numerator_value", "denominator_value", "final_value"] * 2):
        def rename_header(wb, key=key, i=i):
            wb[SHEET_DATA][f"{column_letter(key)}1"] = ["", "Value", "numerator"][i % 3] or None
        files.append((f"header-{i}-{key}.xlsx", with_openpyxl(base, rename_header), "error"))

    # truncated (30) and corrupted (30) archives
    for i in range(30):
        files.append((f"truncated-{i:02}.xlsx", demo[: int(len(demo) * (i + 0.5) / 31)], "error"))
    for i in range(30):
        b = bytearray(demo)
        for _ in range(8):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        files.append((f"corrupt-{i:02}.xlsx", bytes(b), "same_or_error"))

    # zip bombs, many entries, nested archives (10)
    for mb in (5, 12, 30, 60):
        files.append((f"bomb-{mb}mb.xlsx", rezip({**parts, DATA_PART: b" " * (mb * 2**20)}), "error"))
    many = dict(parts)
    many.update({f"xl/media/img{i}.png": b"x" for i in range(400)})
    files.append(("many-entries.xlsx", rezip(many), "error"))
    files.append(("nested-zip.xlsx", rezip({**parts, "xl/media/inner.zip": demo}), "error"))
    files.append(("nested-ole.xlsx", rezip({**parts, "xl/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0" * 9}),
                  "error"))
    files.append(("not-workbook.xlsx", rezip({"hello.txt": b"hi"}), "error"))
    files.append(("deep-bomb.xlsx", rezip({**{f"xl/p{i}.xml": b"\0" * (3 * 2**20) for i in range(4)}, **parts}),
                  "error"))
    files.append(("bomb-strings.xlsx", rezip({**parts, "xl/sharedStrings.xml": b"<a>" + b"a" * (8 * 2**20)}),
                  "error"))

    # XML entity bombs and external entities in every part the reader parses (12)
    for part in ("xl/workbook.xml", DATA_PART, "xl/styles.xml", "[Content_Types].xml", "docProps/core.xml",
                 "_rels/.rels", "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet2.xml"):
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", parts[part])
        files.append((f"xmlbomb-{part.replace('/', '_')}.xlsx", rezip({**parts, part: BOMB + body}), "error"))
    for part in (DATA_PART, "xl/workbook.xml", "xl/worksheets/sheet2.xml", "[Content_Types].xml"):
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", parts[part])
        files.append((f"xxe-{part.replace('/', '_')}.xlsx", rezip({**parts, part: XXE + body}), "error"))

    # huge declared dimensions and far-away cells (10)
    for i, ref in enumerate(["A1:XFD1048576", "A1:S1048576", "A1:ZZ109", "A1:XFD1", "A1:S5000"]):
        xml = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="' + ref.encode() + b'"', data_xml)
        files.append((f"dims-{i}.xlsx", rezip({**parts, DATA_PART: xml}), "problem"))
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    for i, extra in enumerate([far, b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>junk</t></is></c></row>'
                                             % (r, r) for r in range(200, 2600)) + b"</sheetData>"]):
        xml = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', data_xml)
        files.append((f"far-{i}.xlsx", rezip({**parts, DATA_PART: xml.replace(b"</sheetData>", extra)}), "problem"))
    for i in range(3):
        xml = data_xml.replace(b"</sheetData>", b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>EC: X</t></is></c>'
                               b"</row></sheetData>" % (150 + i, 150 + i))
        files.append((f"stray-row-{i}.xlsx", rezip({**parts, DATA_PART: xml}), "error"))

    # formulas in input cells, with and without a saved result (20)
    formulas = [b"1/0", b'WEBSERVICE("http://example.invalid/")', b'HYPERLINK("http://x","y")',
                b"cmd|' /C calc'!A0", b"SUM(A1:A3)"]
    for i in range(20):
        col = columns[i % 3]
        cached = b"<v>5</v>" if i % 2 else b""
        xml = set_cell(data_xml, f"{col}{2 + 5 * i}", b'<c r="REF"><f>' + formulas[i % 5] + b"</f>" + cached + b"</c>")
        files.append((f"formula-{i:02}.xlsx", rezip({**parts, DATA_PART: xml}), "problem"))

    # macros (6)
    files.append(("macro.xlsm", demo, "error"))
    files.append(("macro.xltm", demo, "error"))
    files.append(("vba.xlsx", rezip({**parts, "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0vba"}), "error"))
    ctypes = parts["[Content_Types].xml"].replace(
        b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")
    files.append(("macro-ctype.xlsx", rezip({**parts, "[Content_Types].xml": ctypes}), "error"))
    files.append(("legacy.xls", demo, "error"))
    files.append(("calc.ods", demo, "error"))

    # encrypted (9)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    for i in range(5):
        files.append((f"encrypted-{i}.xlsx", ole + rng.randbytes(4096 * (i + 1)), "error"))
    files.append(("encrypted.csv", ole + b"\0" * 512, "error"))
    for i in range(3):
        b = bytearray(demo)
        for m in re.finditer(rb"PK\x01\x02", demo):  # central directory: set the 'encrypted' flag bit
            struct.pack_into("<H", b, m.start() + 8, struct.unpack_from("<H", b, m.start() + 8)[0] | 1)
            if i:  # also in the local headers
                pass
        files.append((f"zipcrypto-{i}.xlsx", bytes(b), "error"))

    # empty files (6)
    for name, content in (("empty.xlsx", b""), ("empty.csv", b""), ("bom.csv", b"\xef\xbb\xbf"),
                          ("blank.csv", b"\n\n   \n"), ("header-only.csv", b"kpi_code,part,input,value\n"),
                          ("empty.xlsm", b"")):
        files.append((name, content, "error"))

    # CSV: wrong delimiters, encodings, junk, malformed (30)
    for sep in (";", "\t", "|"):
        for enc in ("utf-8", "utf-8-sig"):
            files.append((f"sep-{ord(sep)}-{enc}.csv", CSV_BASE.replace(",", sep).encode(enc), "error"))
    accented = CSV_BASE.replace("Scriptville", "Bézier–ville €")
    for enc in ("latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32", "cp1252"):
        text = accented if enc != "latin-1" else CSV_BASE.replace("Scriptville", "Bézierville")
        files.append((f"enc-{enc}-{len(files)}.csv", text.encode(enc, errors="replace"), "error"))
    for i in range(5):
        files.append((f"junk-{i}.csv", rng.randbytes(2000), "error"))
    files.append(("unbalanced.csv", (CSV_BASE + 'EC: ICT: ICT: 2C,,"households_total,5\n').encode(), "error"))
    files.append(("hugefield.csv", (CSV_BASE + "SC: EH: H: 1C,,comment," + "x" * 300_000 + "\n").encode(), "error"))
    files.append(("nul.csv", CSV_BASE.encode().replace(b"Scriptville", b"Script\0ville"), "error"))
    for i, line in enumerate(["EC: ICT: ICT: 77C,,x,1", "EC: ICT: ICT: 1C,,bogus_input,1",
                              "EC: ICT: ICT: 1C,,households_total,=cmd|' /C calc'!A0",
                              "EC: ICT: ICT: 1C,,households_total,-4", "EC: I: T: 4A,,numerator,3",
                              "EC: ICT: ICT: 1C,weird,numerator,3", "profile,,year,MMXXIV",
                              "profile,,nickname,x", "EC: ICT: ICT: 1C,,households_total,1e999"]):
        files.append((f"csvbad-{i}.csv", (CSV_BASE + line + "\n").encode(), "error"))

    # garbage with workbook names (20)
    for i in range(20):
        head = b"PK\x03\x04" if i % 2 else b""
        files.append((f"garbage-{i:02}.xlsx", head + rng.randbytes(rng.randint(1, 50_000)), "error"))
    return files


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


def test_hostile_corpus(tmp_path, reference):
    files = corpus(paths.demo_city())
    assert len(files) >= 300
    outcomes = {}
    for i, (name, content, expect) in enumerate(files):
        path = tmp_path / name
        path.write_bytes(content)
        # read_submission on every third file that must fail (and on all others) keeps the run short
        outcomes[name] = _check(path, expect, reference, also_read=i % 3 == 0)
        path.unlink()
    # a few messages a city official will read
    assert "macro" in outcomes["macro.xlsm"][0].message
    assert "password-protected" in outcomes["encrypted-0.xlsx"][0].message
    assert "zip bomb" in outcomes["bomb-30mb.xlsx"][0].message
    assert "XML bomb" in outcomes["xmlbomb-xl_workbook.xml.xlsx"][0].message
    assert "semicolons" in outcomes["sep-59-utf-8.csv"][0].message
    assert "not UTF-8" in outcomes["enc-latin-1-" + next(n.split("-")[-1] for n in outcomes
                                                          if n.startswith("enc-latin-1"))][0].message
    assert "damaged or truncated" in outcomes["truncated-00.xlsx"][0].message


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
