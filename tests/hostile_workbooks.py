"""Hostile workbooks for the parser budgets, built by writing XML parts with zipfile (cheap: no openpyxl).

Each builder takes the parts of the bundled demo city and a path, and writes a workbook that passes the byte-level
caps of `kpis.limits` (size, entries, ratio, expanded size) but would cost openpyxl seconds and hundreds of MB.
Used by tests/test_adversarial_parsers.py and bench/bench_intake.py.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from kpis import paths

DATA = "xl/worksheets/sheet3.xml"
LISTS = "xl/worksheets/sheet5.xml"
STYLES = "xl/styles.xml"
WORKBOOK = "xl/workbook.xml"
MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def demo_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(paths.bundled("data", "demo_city.xlsx").read_bytes())) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _write(path: Path, parts: dict[str, bytes | Callable[[], Iterator[bytes]]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, content in parts.items():
            if isinstance(content, bytes):
                zf.writestr(name, content)
            else:
                with zf.open(name, "w", force_zip64=True) as w:
                    for piece in content():
                        w.write(piece)
    return path


def _sheet(rows: Callable[[], Iterator[bytes]], prefix: bytes = b"") -> Callable[[], Iterator[bytes]]:
    """A worksheet part with no <dimension>, its <sheetData> streamed from `rows`."""
    p = prefix + b":" if prefix else b""
    ns = b'xmlns:%s="%s"' % (prefix, MAIN_NS) if prefix else b'xmlns="%s"' % MAIN_NS

    def gen() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?>\n<%sworksheet %s><%ssheetData>' % (p, ns, p)
        yield from rows()
        yield b"</%ssheetData></%sworksheet>" % (p, p)
    return gen


def hidden_rows(parts: dict[str, bytes], path: Path, n: int = 1_500_000, prefix: bytes = b"") -> Path:
    """The hidden Lists sheet holds `n` rows and no <dimension> (the issue's 5–10 MB, 1–2 million rows case)."""
    p = prefix + b":" if prefix else b""

    def rows() -> Iterator[bytes]:
        for start in range(1, n + 1, 10_000):
            yield b"".join(b'<%srow r="%d"><%sc r="A%d"><%sv>%d</%sv></%sc></%srow>' % (p, r, p, r, p, r % 97, p, p, p)
                           for r in range(start, min(start + 10_000, n + 1)))
    assert b'state="hidden"' in parts[WORKBOOK]  # the template's Lists sheet is hidden
    return _write(path, {**parts, LISTS: _sheet(rows, prefix)})


def styles_bomb(parts: dict[str, bytes], path: Path, n: int = 100_000) -> Path:
    """styles.xml with `n` cell formats (cellXfs), varied enough to stay under the compression-ratio cap."""
    rnd = random.Random(5)
    xfs = b"".join(b'<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0"/>' % rnd.randrange(200)
                   for _ in range(10_000))
    head, tail = parts[STYLES].split(b"<cellXfs", 1)
    tail = tail.split(b"</cellXfs>", 1)[1]

    def gen() -> Iterator[bytes]:
        yield head + b'<cellXfs count="%d">' % n
        for _ in range(n // 10_000):
            yield xfs
        yield b"</cellXfs>" + tail
    return _write(path, {**parts, STYLES: gen})


def shared_strings_bomb(parts: dict[str, bytes], path: Path, n: int = 300_000) -> Path:
    """A shared strings table of `n` entries, wired into the workbook's relationships and content types."""
    def gen() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="%s" count="%d" uniqueCount="%d">' % (MAIN_NS, n, n)
        for start in range(0, n, 10_000):
            yield b"".join(b"<si><t>s%d</t></si>" % i for i in range(start, min(start + 10_000, n)))
        yield b"</sst>"
    return _write(path, {**_with_shared_strings(parts), "xl/sharedStrings.xml": gen})


def text_bomb(parts: dict[str, bytes], path: Path, mb: int = 12) -> Path:
    """One shared string of `mb` MB of random letters (compresses about 1.7:1, so no ratio cap sees it)."""
    letters = random.Random(3).randbytes(2**19).hex().encode()

    def gen() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="%s" count="1" uniqueCount="1"><si><t>' % MAIN_NS
        for i in range(mb):
            yield letters[i:] + letters[:i]
        yield b"</t></si></sst>"
    return _write(path, {**_with_shared_strings(parts), "xl/sharedStrings.xml": gen})


def _with_shared_strings(parts: dict[str, bytes]) -> dict[str, bytes]:
    rels = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    types = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    return {**parts, "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types}


def defined_names_bomb(parts: dict[str, bytes], path: Path, n: int = 100_000) -> Path:
    names = b"".join(b'<definedName name="n%d">Lists!$A$1</definedName>' % i for i in range(n))
    wb = parts[WORKBOOK]
    wb = wb.replace(b"<definedNames>", b"<definedNames>" + names) if b"<definedNames>" in wb else \
        wb.replace(b"</sheets>", b"</sheets><definedNames>" + names + b"</definedNames>")
    return _write(path, {**parts, WORKBOOK: wb})


def comments_bomb(parts: dict[str, bytes], path: Path, n: int = 100_000) -> Path:
    """The Data sheet's notes part with `n` notes."""
    name = next(k for k in parts if k.startswith("xl/comments"))
    head, rest = parts[name].split(b"<commentList>", 1)
    rnd = random.Random(6)
    notes = b"".join(b'<comment ref="B%d" authorId="0"><text><t>n%d</t></text></comment>'
                     % (rnd.randrange(2, 999), rnd.randrange(10_000)) for _ in range(10_000))

    def gen() -> Iterator[bytes]:
        yield head + b"<commentList>"
        for _ in range(n // 10_000):
            yield notes
        yield b"</commentList></comments>"
    return _write(path, {**parts, name: gen})


def elements_bomb(parts: dict[str, bytes], path: Path, n: int = 240_000) -> Path:
    """The Data sheet followed by `n` merged-cell ranges (openpyxl's full reader builds one object each)."""
    data = parts[DATA]
    head, tail = data.split(b"</sheetData>", 1)

    def gen() -> Iterator[bytes]:
        yield head + b'</sheetData><mergeCells count="%d">' % n
        for start in range(0, n, 10_000):
            yield b"".join(b'<mergeCell ref="Z%d:AA%d"/>' % (r, r) for r in range(start + 1, start + 10_001))
        yield b"</mergeCells>" + tail
    return _write(path, {**parts, DATA: gen})


def long_tag(parts: dict[str, bytes], path: Path, mb: int = 6) -> Path:
    """A cell whose attribute is `mb` MB long: one token that expat would have to hold whole."""
    blob = random.Random(4).randbytes(mb * 2**19).hex().encode()
    data = parts[DATA].replace(b"<sheetData>", b'<sheetData><row r="1"><c r="A1" x="' + blob + b'"/></row>', 1)
    return _write(path, {**parts, DATA: data})


def drawings_bomb(parts: dict[str, bytes], path: Path, n: int = 120) -> Path:
    shape = b'<?xml version="1.0"?><xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/' \
            b'spreadsheetDrawing"/>'
    return _write(path, {**parts, **{f"xl/drawings/drawing{i}.xml": shape for i in range(1, n + 1)}})


BUILDERS: dict[str, Callable[..., Path]] = {
    "hidden-sheet-rows": lambda parts, path: hidden_rows(parts, path, n=400_000),
    "hidden-sheet-rows-small": lambda parts, path: hidden_rows(parts, path, n=150_000),
    "prefixed-rows": lambda parts, path: hidden_rows(parts, path, n=120_000, prefix=b"x"),
    "styles": styles_bomb,
    "shared-strings": shared_strings_bomb,
    "text": text_bomb,
    "defined-names": defined_names_bomb,
    "comments": comments_bomb,
    "elements": elements_bomb,
    "long-tag": long_tag,
    "drawings": drawings_bomb,
}
