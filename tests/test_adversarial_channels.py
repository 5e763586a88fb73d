"""Untrusted text in every output channel, and no network from the browser: hostile cases run through `ssc`.

- chart markup: city names that are mathtext (`$\\frac`, `$${{{…`) or template markup (`{{ … }}`) in `ssc compare`;
- terminal: escape sequences, C1 controls and bidi overrides in a file name and in a CSV's cell values;
- network: `ssc assess --pdf` of a CSV city whose name is made of escape sequences, with every network system call
  of ssc and its children recorded (strace): no attempt, and the summary printed clean.

Time bounds are generous: a loaded 2-core machine runs these cases five times slower than an idle one.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pandas as pd
import pytest
from adversarial import attack
from nettrace import attempts, prefix

from kpis.synthetic import cities

MATH_NAMES = ["$\\frac", "$" + "{" * 1000 + "$", "$\\sqrt{x}$ and $x^2$", "{{ 7*7 }} {% raw %}"]
# ESC (CSI, OSC title, bell), C1 CSI, carriage return, bidi override and isolate, a lone line separator
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31mRed\x9b5m\u202eevil\u2066x\u2069\rOver\u2028"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _long_csv(path: Path, city: str, rows: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["kpi_code", "part", "input", "value", "data_quality", "source_name"])
        out.writerows([("profile", "", "city", city, "", ""), ("profile", "", "year", "2023", "", ""),
                       ("profile", "", "population", "100000", "", "")])
        out.writerows([(*r, "Based on accurate measurements", "Census") for r in rows])
    return path


GOOD_ROWS = [("EC: ICT: ICT: 1C", "", "households_with_internet", "40500"),
             ("EC: ICT: ICT: 1C", "", "households_total", "45000"),
             ("SC: EH: H: 1C", "", "final_value", "80.5")]


def _compare_input(folder: Path) -> Path:
    data = cities(len(MATH_NAMES), seed=5)
    data["city"] = data["city"].map(dict(zip(data["city"].unique(), MATH_NAMES, strict=True)))
    path = folder / "values.csv"
    data[["city", "year", "code", "part", "value"]].to_csv(path, index=False)
    return path


def case_chart_markup(tmp_path: Path) -> None:
    """Mathtext and template markup as city names: the comparison report is made, each name shown as given."""
    sandbox, out = tmp_path / "sandbox", tmp_path / "sandbox" / "out"
    sandbox.mkdir()
    values = _compare_input(sandbox)
    attack("compare", str(values), "--out", str(out), cwd=sandbox, out=out, inputs=[values], expect_code=0,
           message="Compared 4 cities", within=150)
    report = (out / "report.html").read_text(encoding="utf-8")
    for name in MATH_NAMES[:1] + MATH_NAMES[2:]:
        assert html.escape(name, quote=False) in report or html.escape(name) in report, name


def case_terminal(tmp_path: Path) -> None:
    """A file name and cell values full of escapes: what `ssc validate` and `ssc assess` print is inert."""
    sandbox, out = tmp_path / "sandbox", tmp_path / "sandbox" / "out"
    sandbox.mkdir()
    bad = _long_csv(sandbox / f"city{ESCAPES}.csv", "Plain", [
        ("EC: ICT: ICT: 1C", "", "households_with_internet", f"4{ESCAPES}0"),
        ("EC: ICT: ICT: 1C", "", "households_total", "45000")])
    said = attack("validate", bad.name, cwd=sandbox, inputs=[bad], expect_code=1, message="NOT USABLE", within=60)
    assert not UNSAFE.search(said.stdout), ascii(said.stdout)
    assert not UNSAFE.search(said.stderr), ascii(said.stderr)
    assert "\\x1b[2J" in said.stdout  # shown, so the user can find it
    said = attack("assess", bad.name, "--out", str(out), cwd=sandbox, out=out, inputs=[bad], expect_code=1,
                  message="invalid", within=60)
    assert not UNSAFE.search(said.stdout), ascii(said.stdout)


def case_network(tmp_path: Path) -> None:
    """A city named in escape sequences, assessed and printed to PDF: no network attempt by ssc, its kernel or its
    browser (strace sees every connect and send), the PDF is written and the summary is inert."""
    sandbox, out, log = tmp_path / "sandbox", tmp_path / "sandbox" / "out", tmp_path / "trace.log"
    sandbox.mkdir()
    city = _long_csv(sandbox / "city.csv", f"Evil{ESCAPES}", GOOD_ROWS)
    said = attack("assess", city.name, "--pdf", "--out", str(out), cwd=sandbox, out=out, inputs=[city],
                  expect_code=0, message="1 of 1 cities done", within=180, prefix=prefix(log))
    assert not UNSAFE.search(said.stdout), ascii(said.stdout)
    assert list(out.glob("*/2023/report.pdf")), said.stdout + said.stderr
    found = attempts(log)
    assert found == [], "network attempts while assessing and printing:\n" + "\n".join(found)


@pytest.mark.browser
@pytest.mark.parametrize("case", [case_chart_markup, case_terminal, case_network], ids=lambda c: c.__name__[5:])
def test_channels(case, tmp_path):
    case(tmp_path)


def test_compare_input_is_what_compare_reads(tmp_path):
    """The generated comparison input really carries the hostile names (else the chart case would prove nothing)."""
    names = set(pd.read_csv(_compare_input(tmp_path), dtype=str, keep_default_na=False)["city"])
    assert names == set(MATH_NAMES)
