"""The KPI library: completeness, hierarchy, formulas on hand-worked examples, targets with sources."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import kpis
from kpis.formulas import ComputationError, compute, inputs_for
from kpis.library import CatalogueError, library, load_kpis, load_targets

PLACEHOLDERS = ("TO WRITE", "to write", "ZERO-TARGET", "TBD", "TODO")


def test_library_has_the_u4ssc_hierarchy():
    lib = library()
    assert len(lib) == 91
    assert len({k.code for k in lib}) == 91
    assert len({k.id for k in lib}) == 91
    assert {k.dimension for k in lib} == {"Economy", "Environment", "Society and Culture"}
    assert {k.sub_dimension for k in lib} == {
        "ICT", "Productivity", "Infrastructure", "Environment", "Energy",
        "Education, Health and Culture", "Safety, Housing and Social Inclusion",
    }
    assert len({k.category for k in lib}) == 22
    # every sub-dimension belongs to exactly one dimension
    parents = {}
    for k in lib:
        parents.setdefault(k.sub_dimension, set()).add(k.dimension)
    assert all(len(v) == 1 for v in parents.values())
    assert sum(k.tier == "core" for k in lib) + sum(k.tier == "advanced" for k in lib) == 91


def test_every_kpi_is_complete():
    for k in library():
        assert k.unit.strip(), k.code
        assert k.direction in {"higher", "lower", "none"}, k.code
        assert k.inputs, k.code
        assert not any(p in k.definition for p in PLACEHOLDERS), k.code
        assert k.source.strip(), k.code
        for name, spec in k.inputs.items():
            assert spec.label.strip() and spec.unit.strip(), f"{k.code} {name}"


def test_codes_are_as_itu_prints_them():
    k = kpis.get_kpi("ec:ict:ict:1c")
    assert k.code == "EC: ICT: ICT: 1C" and k.id == "EC-ICT-ICT-1C"
    assert kpis.get_kpi("SC: EH: ED:1C").code == "SC: EH: ED: 1C"  # ITU prints some codes without the last space
    with pytest.raises(KeyError, match="no U4SSC KPI"):
        kpis.get_kpi("EC: ICT: ICT: 99C")


# ---------------------------------------------------------------- formulas, worked by hand


def test_ratio_formula_percent():
    # 8 500 of 10 000 households have fixed broadband -> 85 %
    assert compute("EC: ICT: ICT: 2C", inputs_for("EC: ICT: ICT: 2C", 8500, 10000)) == {"": pytest.approx(85.0)}


def test_ratio_formula_per_100000():
    # 370 physicians for 250 000 inhabitants -> 148 per 100 000
    got = compute("SC: EH: H: 3C", inputs_for("SC: EH: H: 3C", 370, 250_000))
    assert got[""] == pytest.approx(148.0)


def test_ratio_formula_per_capita():
    # 290 000 t CO2e for 100 000 inhabitants -> 2.9 t per capita
    got = compute("EN: EN: AQ: 2C", inputs_for("EN: EN: AQ: 2C", 290_000, 100_000))
    assert got[""] == pytest.approx(2.9)


def test_value_formula():
    assert compute("SC: EH: H: 1C", inputs_for("SC: EH: H: 1C", 81.4)) == {"": pytest.approx(81.4)}


def test_yes_no_formula_full_partial_none():
    code = "SC: SH: SA: 3A"
    n = len(kpis.get_kpi(code).formula.criteria)
    assert compute(code, inputs_for(code, n))[""] == pytest.approx(100.0)
    assert compute(code, inputs_for(code, 0))[""] == pytest.approx(0.0)
    assert compute(code, inputs_for(code, 1))[""] == pytest.approx(100.0 / n)
    with pytest.raises(ComputationError):
        compute(code, inputs_for(code, n + 1))


def test_yes_no_urban_planning_partial():
    code = "EC: I: UP: 2A"
    k = kpis.get_kpi(code)
    n = len(k.formula.criteria)
    assert n == 6  # a plan in force plus the five planning principles
    assert compute(code, inputs_for(code, 3))[""] == pytest.approx(50.0)


def _compositeinputs_for(code: str, values: dict[str, tuple[float, float | None]]) -> dict[str, float]:
    k = kpis.get_kpi(code)
    out: dict[str, float] = {}
    for part in k.parts:
        num, den = values[part.name]
        out[part.formula.numerator] = num
        if part.formula.denominator:
            out[part.formula.denominator] = den
    return out


def test_composite_air_pollution_five_pollutants():
    code = "EN: EN: AQ: 1C"
    vals = {"pm10": (18.0, None), "pm2_5": (9.5, None), "no2": (21.0, None), "so2": (3.0, None), "o3": (55.0, None)}
    got = compute(code, _compositeinputs_for(code, vals))
    assert got == {k: pytest.approx(v[0]) for k, v in vals.items()}


def test_composite_wastewater_levels_nested():
    code = "EN: EN: WS: 4C"
    total = 200_000.0
    ok = {"primary": (190_000, total), "secondary": (150_000, total), "tertiary": (60_000, total)}
    assert compute(code, _compositeinputs_for(code, ok)) == {
        "primary": pytest.approx(95.0), "secondary": pytest.approx(75.0), "tertiary": pytest.approx(30.0)}
    bad = {"primary": (100_000, total), "secondary": (150_000, total), "tertiary": (60_000, total)}
    with pytest.raises(ComputationError, match="secondary"):
        compute(code, _compositeinputs_for(code, bad))


def test_composite_solid_waste_routes_sum_to_100():
    code = "EN: EN: WA: 1C"
    total = 1000.0
    shares = {"landfill": 300, "burnt": 0, "incinerated": 250, "open_dump": 0, "recycled": 420, "other": 30}
    got = compute(code, _compositeinputs_for(code, {k: (v, total) for k, v in shares.items()}))
    assert got == {k: pytest.approx(v / 10) for k, v in shares.items()}
    short = dict(shares, recycled=300)  # adds up to 88 %
    with pytest.raises(ComputationError, match="88.0"):
        compute(code, _compositeinputs_for(code, {k: (v, total) for k, v in short.items()}))


def test_composite_transport_modes_sum_to_100():
    code = "EC: I: T: 4A"
    total = 50_000.0
    modes = {"private_vehicle": 20_000, "public_transport": 17_500, "walking": 7_500, "cycling": 4_000,
             "para_transport": 1_000}
    got = compute(code, _compositeinputs_for(code, {k: (v, total) for k, v in modes.items()}))
    assert got["private_vehicle"] == pytest.approx(40.0) and got["cycling"] == pytest.approx(8.0)
    assert sum(got.values()) == pytest.approx(100.0)


def test_composite_wireless_coverage_3g_4g():
    code = "EC: ICT: ICT: 4C"
    got = compute(code, _compositeinputs_for(code, {"coverage_3g": (290, 300), "coverage_4g": (240, 300)}))
    assert got["coverage_3g"] == pytest.approx(96.6667, rel=1e-4)
    assert got["coverage_4g"] == pytest.approx(80.0)


def test_composite_open_data_count_and_share():
    code = "EC: ICT: PS: 1A"
    got = compute(code, _compositeinputs_for(code, {"open_data_share": (120, 400), "open_data_sets": (120, 400)}))
    assert got == {"open_data_share": pytest.approx(30.0), "open_data_sets": pytest.approx(120.0)}


def test_every_kpi_computes_on_a_generic_example():
    """Every formula of the library evaluates on inputs inside its allowed ranges (catches broken references)."""
    for k in library():
        values = {}
        for name, spec in k.inputs.items():
            hi = spec.max if spec.max is not None else 1000
            values[name] = min(hi, 10) if spec.integer else min(hi, 10.0)
        # denominators larger than numerators; composite shares split evenly
        for _part, _, _, _, f, _ in k.data_points():
            if f.denominator:
                values[f.denominator] = 10.0 * max(1, len(k.parts))
            if f.kind == "yes_no":
                values[f.numerator] = len(f.criteria)
        got = compute(k.code, values)
        assert set(got) == {p for p, *_ in k.data_points()}, k.code
        assert all(v == v for v in got.values()), k.code


def test_impossible_inputs_are_refused_with_the_kpi_named():
    code = "EC: ICT: ICT: 1C"
    with pytest.raises(ComputationError, match=r"EC: ICT: ICT: 1C.* is 0"):
        compute(code, inputs_for(code, 10, 0))
    with pytest.raises(ComputationError, match="below the smallest allowed"):
        compute(code, inputs_for(code, -5, 100))
    with pytest.raises(ComputationError, match="larger than"):
        compute(code, inputs_for(code, 120, 100))
    with pytest.raises(ComputationError, match="missing"):
        compute(code, {})


# ---------------------------------------------------------------- targets


def test_every_data_point_has_a_sourced_target_or_a_reasoned_no_benchmark():
    targets = load_targets()
    for k in library():
        for part, _, _, direction, *_ in k.data_points():
            t = targets.for_point(k.code, part)
            assert t is not None, f"{k.code} {part} has no target entry"
            assert t.source.strip() and not any(p in t.source for p in PLACEHOLDERS), f"{k.code} {part}"
            if t.target is None:
                assert len(t.no_benchmark) > 15 and not any(p in t.no_benchmark for p in PLACEHOLDERS), k.code
            else:
                assert direction != "none", f"{k.code} {part}"
                assert t.unit, f"{k.code} {part}"


def test_the_published_u4ssc_target_holds():
    t = load_targets().for_point("EC: ICT: ICT: 2C")
    assert t.target == 60
    assert kpis.catalogue().set_index("code").loc["EC: ICT: ICT: 2C", "target"] == 60


def test_user_target_set_yaml_and_csv(tmp_path):
    y = tmp_path / "strategy.yaml"
    y.write_text(textwrap.dedent("""\
        name: Demo strategy 2030
        version: '1'
        targets:
          - {code: 'EC: ICT: ICT: 2C', target: 90, unit: '%', source: city strategy 2030}
          - {code: 'EN: EN: AQ: 1C', part: pm2_5, target: 10, unit: ug/m3, source: city clean-air plan}
        """))
    ts = load_targets(y)
    assert ts.label == "Demo strategy 2030 (version 1)"
    assert ts.for_point("EC: ICT: ICT: 2C").target == 90
    assert ts.for_point("EN: EN: AQ: 1C", "pm2_5").target == 10
    assert ts.for_point("EC: ICT: ICT: 1C") is None
    c = tmp_path / "t.csv"
    c.write_text("code,part,target,unit,source\nEC: ICT: ICT: 2C,,75,%,plan\n")
    assert load_targets(c).for_point("EC: ICT: ICT: 2C").target == 75


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("targets:\n  - {code: 'EC: ICT: ICT: 9C', target: 1, source: x}\n", "unknown KPI code"),
        ("targets:\n  - {code: 'EN: EN: AQ: 1C', target: 1, source: x}\n", "give 'part'"),
        ("targets:\n  - {code: 'EC: ICT: ICT: 2C', target: 1, no_benchmark: because, source: x}\n", "EC: ICT: ICT: 2C"),
        ("targets:\n  - {code: 'EC: P: EM: 1C', target: 0, source: x}\n", "lower-is-better"),
        ("targets:\n  - {code: 'EC: ICT: ICT: 2C', target: sixty, source: x}\n", "EC: ICT: ICT: 2C"),
        ("targets: [", "not valid YAML"),
    ],
)
def test_bad_user_target_sets_name_the_entry(tmp_path, body, message):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nversion: '1'\n" + body if not body.startswith("targets: [") else body)
    with pytest.raises(CatalogueError, match=message):
        load_targets(p)


# ---------------------------------------------------------------- malformed catalogue entries


def _entry(**changes) -> dict:
    base = library().get("EC: ICT: ICT: 1C").model_dump(mode="json")
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"direction": "up"}, "direction"),
        ({"code": "EC-ICT-ICT-1C"}, "ITU form"),
        ({"tier": "gold"}, "tier"),
        ({"formula": {"kind": "ratio", "numerator": "nope", "denominator": "households_total"}}, "nope"),
        ({"sdg": ["eleven"]}, "SDG reference"),
        ({"provenance": "a guess"}, "provenance"),
        ({"inputs": {}}, "inputs"),
    ],
)
def test_malformed_entry_fails_naming_file_and_kpi(tmp_path, changes, message):
    import yaml

    path = tmp_path / "economy.yaml"
    path.write_text(yaml.safe_dump([_entry(**changes)]))
    with pytest.raises(CatalogueError) as err:
        load_kpis([path])
    text = str(err.value)
    assert "economy.yaml" in text and message in text
    assert "EC: ICT: ICT: 1C" in text or "EC-ICT-ICT-1C" in text


def test_duplicate_code_is_refused(tmp_path):
    import yaml

    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump([_entry(), _entry()]))
    with pytest.raises(CatalogueError, match="already defined"):
        load_kpis([path])


# ---------------------------------------------------------------- API and CLI


def test_catalogue_frame_columns_and_filters():
    frame = kpis.catalogue()
    assert len(frame) == 91
    for col in ["code", "name", "dimension", "sub_dimension", "category", "tier", "focus", "unit", "direction",
                "target", "target_source", "sdg"]:
        assert col in frame.columns
    assert "<table" in frame._repr_html_()
    assert {k.code for k in kpis.filter_kpis(category="Air Quality")} == {"EN: EN: AQ: 1C", "EN: EN: AQ: 2C"}
    assert all(k.tier == "core" for k in kpis.filter_kpis(tier="core"))
    assert len(kpis.filter_kpis(dimension="economy")) == 45
    assert all(any(s.startswith("17.") for s in k.sdg) for k in kpis.filter_kpis(sdg="17"))


def _ssc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpis.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_catalogue_formats():
    out = _ssc("catalogue", "--format", "csv")
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(__import__("io").StringIO(out.stdout))
    assert len(frame) == 91 and frame["code"].is_unique
    js = _ssc("catalogue", "--format", "json")
    assert len(json.loads(js.stdout)) == 91
    md = _ssc("catalogue", "--format", "md")
    assert md.stdout.count("\n| EC:") + md.stdout.count("\n| EN:") + md.stdout.count("\n| SC:") == 91


def test_cli_bad_target_file_exits_1_without_traceback(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("name: x\nversion: '1'\ntargets:\n  - {code: 'XX: A: B: 1C', target: 1, source: s}\n")
    out = _ssc("catalogue", "--targets", str(bad))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "t.yaml" in out.stderr
