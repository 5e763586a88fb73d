"""First-day papercuts: each found by a new user, each checked here through the product."""

from __future__ import annotations

import subprocess
import sys

import openpyxl

from kpis import cli, read_submission, validate
from kpis.library import points_table
from kpis.template import SHEET_DATA, column_letter, write_template
from kpis.validation_report import report_html

PROFILE = {"city": "Testville", "year": 2024, "population": 100000, "households": 40000}
GOOD = {"data_quality": "Based on accurate measurements", "source_name": "Testville statistics office"}


def _row(code: str, part: str = "") -> int:
    pts = points_table()
    return int(pts.index[(pts["code"] == code) & (pts["part"] == part)][0]) + 2


def _yes_no_code() -> str:
    pts = points_table()
    return str(pts.loc[pts["kind"] == "yes_no", "code"].iloc[0])


# ---------------------------------------------------------------- ssc template


def test_template_refuses_to_replace_a_filled_workbook(tmp_path, capsys):
    out = tmp_path / "city.xlsx"
    write_template(out, profile=PROFILE, values={("EC: ICT: ICT: 1C", ""): {"numerator_value": 900,
                                                                          "denominator_value": 1000, **GOOD}})
    before = out.read_bytes()
    assert cli.main(["template", str(out)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert out.read_bytes() == before
    assert cli.main(["template", str(out), "--force"]) == 0
    assert out.read_bytes() != before
    assert cli.main(["template", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err


# ---------------------------------------------------------------- validation messages


def test_negative_population_is_one_error(tmp_path):
    path = write_template(tmp_path / "s.xlsx", profile={**PROFILE, "population": -5})
    population = [p for p in validate(path) if "opulation" in p.message and p.sheet == "Profile"]
    assert len(population) == 1 and population[0].severity == "error", [str(p) for p in population]
    assert "above 0" in population[0].message


def test_text_numerator_is_one_problem(tmp_path):
    path = write_template(tmp_path / "s.xlsx", profile=PROFILE, values={
        ("EC: ICT: ICT: 1C", ""): {"numerator_value": "about 900", "denominator_value": 40000, **GOOD}})
    problems = [p for p in validate(path) if p.kpi_code == "EC: ICT: ICT: 1C"]
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].severity == "error" and "must be a number" in problems[0].message


def test_missing_source_name_is_flagged(tmp_path):
    path = write_template(tmp_path / "s.xlsx", profile=PROFILE, values={
        ("EC: ICT: ICT: 1C", ""): {"numerator_value": 36000, "denominator_value": 40000,
                                   "data_quality": "Based on accurate measurements"}})
    problems = [p for p in validate(path) if p.kpi_code == "EC: ICT: ICT: 1C"]
    assert len(problems) == 1 and problems[0].severity == "warning"
    assert "without a source" in problems[0].message
    assert problems[0].cell == f"{SHEET_DATA}!{column_letter('source_name')}{_row('EC: ICT: ICT: 1C')}"


def test_ambiguous_thousands_separator_is_an_error_naming_the_cell(tmp_path):
    path = write_template(tmp_path / "s.xlsx", profile=PROFILE, values={
        ("EC: ICT: ICT: 3C", ""): {"numerator_value": "1,500", "denominator_value": 100000, **GOOD}})
    problems = [p for p in validate(path) if p.severity == "error"]
    assert len(problems) == 1
    assert problems[0].cell == f"{SHEET_DATA}!{column_letter('numerator_value')}{_row('EC: ICT: ICT: 3C')}"
    assert "1500 or 1.500" in problems[0].message


def test_yes_no_answers_in_the_final_value(tmp_path):
    code = _yes_no_code()
    for answer, expected in (("Yes", 100.0), ("no", 0.0), ("PARTIAL", 50.0)):
        path = write_template(tmp_path / f"{expected}.xlsx", profile=PROFILE,
                              values={(code, ""): {"final_value": answer, **GOOD}})
        data = read_submission(path).data.set_index(["code", "part"])
        assert data.loc[(code, ""), "final_value"] == expected
        assert bool(data.loc[(code, ""), "reported"])
    path = write_template(tmp_path / "maybe.xlsx", profile=PROFILE, values={(code, ""): {"final_value": "maybe",
                                                                                          **GOOD}})
    err = [p for p in validate(path) if p.severity == "error"]
    assert len(err) == 1 and "type Yes, No or Partial" in err[0].message


def test_validation_report_looks_like_the_city_report_and_names_kpis(tmp_path):
    path = write_template(tmp_path / "s.xlsx", profile={**PROFILE, "population": None}, values={
        ("EC: ICT: ICT: 1C", ""): {"numerator_value": "about 900", "denominator_value": 1000, **GOOD}})
    page = report_html([(path, validate(path))])
    assert ".ssc-report" in page and "Content-Security-Policy" in page  # the city report's stylesheet and policy
    assert "Household Internet Access" in page and "EC: ICT: ICT: 1C" in page
    assert page.index("Sheet Profile") < page.index("Sheet Data")
    assert '<th scope="col">' in page and "<caption>" in page


def test_validation_report_escapes_what_the_file_says(tmp_path):
    path = write_template(tmp_path / "s.xlsx", profile=PROFILE, values={
        ("EC: ICT: ICT: 1C", ""): {"numerator_value": "<script>alert(1)</script>", "denominator_value": 1000,
                                   **GOOD}})
    page = report_html([(path, validate(path))])
    assert "<script>" not in page and "&lt;script&gt;" in page


# ---------------------------------------------------------------- the command line


def test_output_piped_into_head_ends_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "kpis.cli", "catalogue", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(200)
    proc.stdout.close()  # what `head -c 200` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""


def test_every_cli_option_has_help_text():
    parser = cli.build_parser()
    missing = []
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        if not any(a.dest == name for a in sub._choices_actions):
            missing.append(f"ssc {name}")
        for action in command._actions:
            if action.dest != "help" and not action.help:
                missing.append(f"ssc {name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_a_workbook_is_never_modified_by_validation(tmp_path):
    path = write_template(tmp_path / "s.xlsx", profile=PROFILE)
    before = path.read_bytes()
    validate(path)
    report_html([(path, validate(path))])
    assert path.read_bytes() == before
    assert openpyxl.load_workbook(path).sheetnames
