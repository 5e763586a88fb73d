"""Attack classes against the parsers: workbooks whose XML parts cost openpyxl seconds and hundreds of MB, hostile
target files (alias bombs, pipes, other encodings, non-finite or absurd targets) and hostile inputs of `ssc compare`.

Each class is one case run through the standing harness (exit code, one clear message, no traceback, time and
memory bounds, nothing written outside --out, inputs unchanged); the parse budget itself is asserted in-process.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from adversarial import attack
from hostile_workbooks import BUILDERS, demo_parts, hidden_rows

from kpis import limits, paths, validate
from kpis.library import CatalogueError, load_targets

WITHIN = 20  # seconds for a whole `ssc` process, interpreter start included, on a shared, loaded machine (the
# parse budget itself is asserted on CPU time in-process)
PARSE_BUDGET = 2.0  # CPU seconds for reading a hostile workbook in-process
MAX_MB = 300
# `ssc compare` also reads and scores the demo city beside the hostile table, with pyarrow loaded: a benign comparison
# of two cities peaks at ~230 MB and this one at ~305 MB; a table read in full would take gigabytes
MAX_MB_COMPARE = 400

WORKBOOK_MESSAGES = {
    "hidden-sheet-rows": r"part 'Lists' \(xl/worksheets/sheet5\.xml\) expands to [\d.]+ MB \(limit 8 MB",
    "hidden-sheet-rows-small": r"more than 10,000 rows in the sheet 'Lists'",
    "prefixed-rows": r"more than 10,000 rows in the sheet 'Lists'",
    "styles": r"more than 5,000 cell styles",
    "shared-strings": r"more than 30,000 shared strings",
    "text": r"part xl/sharedStrings\.xml expands to",
    "defined-names": r"more than 1,000 defined names",
    "comments": r"more than 5,000 comments or notes",
    "elements": r"more than 150,000 XML elements",
    "long-tag": r"more than 1 MB without a tag",
    "drawings": r"121 drawing, chart or note-shape parts \(limit 50",
}


@pytest.fixture(scope="module")
def parts() -> dict[str, bytes]:
    return demo_parts()


@pytest.mark.parametrize("kind", sorted(WORKBOOK_MESSAGES))
def test_workbook_budgets(kind, parts, tmp_path):
    """Each budget refuses its bomb with a message naming the part and the limit, within the parse budget."""
    path = BUILDERS[kind](parts, tmp_path / f"{kind}.xlsx")
    assert path.stat().st_size <= 11 * 2**20
    start = time.process_time()
    problems = validate(path)
    spent = time.process_time() - start
    assert spent < PARSE_BUDGET, f"{kind}: {spent:.2f} s of CPU to refuse"
    assert [p.severity for p in problems] == ["error"], problems
    assert re.search(WORKBOOK_MESSAGES[kind], problems[0].message), problems[0].message
    attack("validate", path.name, cwd=tmp_path, inputs=[path], message=re.compile(WORKBOOK_MESSAGES[kind]),
           within=WITHIN, max_mb=MAX_MB)


def test_real_workbooks_pass_the_budgets(tmp_path):
    """The template, the bundled cities and an openpyxl re-save of a filled one stay far inside every cap."""
    import openpyxl

    template = tmp_path / "template.xlsx"
    attack("template", template.name, cwd=tmp_path, expect_code=0)
    resaved = tmp_path / "resaved.xlsx"
    openpyxl.load_workbook(paths.bundled("data", "demo_city.xlsx")).save(resaved)
    for path in [template, resaved, paths.bundled("data", "demo_city.xlsx"),
                 *sorted(paths.bundled("data", "cities").glob("*.xlsx"))]:
        assert limits.check_file(path) == "xlsx"
        assert limits.check_file(path, limits.ANNOTATE) == "xlsx"
    assert not [p for p in validate(resaved) if p.severity == "error"]


def test_annotate_on_a_huge_sheet_loads_nothing(parts, tmp_path):
    """`validate --annotate` on a 600 000-row file: refused by the scan, no copy written, no full load."""
    path = hidden_rows(parts, tmp_path / "rows.xlsx", n=600_000)
    out = tmp_path / "checked"
    attack("validate", path.name, "--annotate", "checked", cwd=tmp_path, out=out, inputs=[path],
           message="no annotated copy", within=WITHIN, max_mb=MAX_MB)
    assert not out.exists() or not any(out.iterdir())


def test_annotate_has_its_own_tighter_budget(parts, tmp_path):
    """A file the intake accepts but that a full load would make slow gets no annotated copy, and says why."""
    path = hidden_rows(parts, tmp_path / "rows.xlsx", n=9_000)  # 9 000 cells more: inside the intake's 30 000
    out = tmp_path / "checked"
    result = attack("validate", path.name, "--annotate", "checked", cwd=tmp_path, out=out, inputs=[path],
                    expect_code=0, message=re.compile(r"no annotated copy \(the workbook has more than 10,000 cells"),
                    within=WITHIN, max_mb=MAX_MB)
    assert "OK" in result.stdout


# ---------------------------------------------------------------- target files

TARGET = "name: mine\nversion: '1'\ntargets:\n- code: 'EC: ICT: ICT: 1C'\n  target: {}\n  unit: '%'\n  source: me\n"
ALIAS_BOMB = ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
              + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
              + "name: x\nversion: '1'\ntargets:\n- code: *i\n  target: 1\n  source: x\n")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


TARGET_CASES = {
    "alias-bomb": (lambda p: p.write_text(ALIAS_BOMB), r"line 2 uses the YAML alias '\*a'"),
    "fifo": (_fifo, r"targets\.yaml: not a regular file"),
    "latin-1": (lambda p: p.write_bytes(TARGET.format(1).replace("me", "Bogotá").encode("latin-1")),
                r"targets\.yaml: not UTF-8 text \(byte 0xe1 .*save it as UTF-8"),
    "non-finite": (lambda p: p.write_text(TARGET.format(".inf")), r"KPI EC: ICT: ICT: 1C: target: .*not a finite"),
    "out-of-range": (lambda p: p.write_text(TARGET.format("1.0e+308")), r"KPI EC: ICT: ICT: 1C: the target 1e\+308 "
                     r"is outside the range that can be scored"),
    "huge-file": (lambda p: p.write_text(TARGET.format(1) + "# " + "x" * (3 * 2**20) + "\n"),
                  r"targets\.yaml: larger than 2 MB"),
    "csv-inf": (lambda p: p.with_suffix(".csv").write_text("code,target,unit,source\nEC: ICT: ICT: 1C,inf,%,me\n"),
                r"target: .*not a finite number"),
}


@pytest.mark.parametrize("case", sorted(TARGET_CASES))
def test_target_files(case, tmp_path):
    """Every hostile target file is refused with a message naming the file (and the KPI), before any scoring."""
    build, message = TARGET_CASES[case]
    path = tmp_path / "targets.yaml"
    build(path)
    if case.startswith("csv"):
        path = path.with_suffix(".csv")
    out = tmp_path / "out"
    attack("assess", str(paths.bundled("data", "demo_city.xlsx")), "--targets", path.name, "--out", "out",
           cwd=tmp_path, out=out, inputs=[path], message=re.compile(message), within=WITHIN, max_mb=MAX_MB)


@pytest.mark.parametrize(("written", "message"), [
    (".inf", "not a finite number"), ("-.inf", "not a finite number"), ("1e999", "not a finite number"),
    (".nan", "not a finite number"), ("1.0e+308", "outside the range that can be scored"),
    ("1.0e-300", "outside the range that can be scored"), ("1.0e+13", "outside the range that can be scored")])
def test_targets_are_finite_and_scorable(written, message, tmp_path):
    """Non-finite targets, and finite ones whose value ÷ target would overflow to full marks or vanish, are
    refused naming the file and the KPI; an ordinary small or large target is kept."""
    path = tmp_path / "targets.yaml"
    path.write_text(TARGET.format(written))
    with pytest.raises(CatalogueError, match=f"targets.yaml: .*KPI EC: ICT: ICT: 1C.*{message}"):
        load_targets(path)
    for fine in ("0.5", "250000"):
        path.write_text(TARGET.format(fine))
        assert load_targets(path).for_point("EC: ICT: ICT: 1C").target == float(fine)


# ---------------------------------------------------------------- inputs of `ssc compare`


def _parquet_rows(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"city": pa.array([0] * 300_000, pa.int8())}), path)


def _deep_profile(path: Path) -> None:
    """A results workbook whose profile value is JSON nested 16 000 deep (a cell holds 32 767 characters)."""
    import openpyxl

    import kpis

    kpis.score(kpis.read_submission(paths.bundled("data", "demo_city.xlsx"))).to_excel(path)
    wb = openpyxl.load_workbook(path)
    wb["profiles"].cell(2, 4).value = "[" * 16_000 + "]" * 16_000
    wb.save(path)


COMPARE_CASES = {
    "deep-profile.xlsx": (_deep_profile, r"deep-profile\.xlsx: profile field 'city' of .* is not valid JSON"),
    "deep.json": (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), r"deep\.json: the JSON is nested too deeply"),
    "pipe.csv": (_fifo, r"pipe\.csv: not a regular file"),
    "big.json": (lambda p: p.write_text(json.dumps([{"city": "x" * 1000}] * 11_000)),
                 r"big\.json: [\d.]+ MB, above the 10 MB limit"),
    "big.csv": (lambda p: p.write_text("city,year,code,value\n" + "x,2020,EC: ICT: ICT: 1C,1\n" * 450_000),
                r"big\.csv: [\d.]+ MB, above the 10 MB limit"),
    "long.csv": (lambda p: p.write_text("city,year,code,value\n" + "x,2020,EC: ICT: ICT: 1C,1\n" * 70_000),
                 r"long\.csv: 70,001 lines, above the 60,000 limit"),
    "rows.parquet": (_parquet_rows, r"rows\.parquet: declares 300,000 rows"),
}


@pytest.mark.parametrize("name", sorted(COMPARE_CASES))
def test_compare_inputs(name, tmp_path):
    build, message = COMPARE_CASES[name]
    path = tmp_path / name
    build(path)
    out = tmp_path / "out"
    attack("compare", name, str(paths.bundled("data", "demo_city.xlsx")), "--out", "out", cwd=tmp_path, out=out,
           inputs=[path], message=re.compile(message), within=WITHIN, max_mb=MAX_MB_COMPARE)
