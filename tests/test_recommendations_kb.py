"""The recommendation knowledge base: complete, sourced, and every code and SDG reference real."""

from __future__ import annotations

import copy
import typing

import pytest
import yaml

from kpis.knowledge import Band, knowledge_base, load_knowledge_base, sdg_ref_exists
from kpis.library import CatalogueError, data_dir, library
from kpis.recommendation import collect_action
from kpis.rules import BANDS

KB_PATH = data_dir() / "recommendations.yaml"


@pytest.fixture(scope="module")
def kb():
    return knowledge_base()


@pytest.fixture(scope="module")
def raw():
    with open(KB_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# ---------------------------------------------------------------- the shipped file, read as plain YAML
# (loading it already runs the loader's checks; these read the file itself, so they do not lean on the loader)


def test_shipped_file_has_one_entry_per_category_of_the_library(raw):
    lib_categories = {(k.sub_dimension, k.category) for k in library()}
    # 22 category names, some repeated across sub-dimensions (hence the (sub_dimension, category) key)
    assert len({c for _, c in lib_categories}) == 22
    assert len(lib_categories) == 27
    file_categories = [(c["sub_dimension"], c["category"]) for c in raw["categories"]]
    assert len(file_categories) == 27
    assert set(file_categories) == lib_categories


def test_shipped_file_has_an_entry_for_every_core_kpi(raw):
    lib = library()
    core = {k.code for k in lib if k.tier == "core"}
    assert len(core) == 55
    codes = [k["code"] for k in raw["kpis"]]
    assert len(codes) == len(set(codes)) == 58  # the 55 core KPIs and three advanced ones the case study singles out
    assert sorted(core - set(codes)) == []
    assert sorted(set(codes) - set(lib.by_code)) == []


def test_every_source_has_a_descriptive_title(kb):
    # the loader accepts 5 characters; a reader needs the publication named
    short = {key: src.title for key, src in kb.sources.items() if len(src.title) <= 10}
    assert short == {}


def test_the_schema_bands_are_the_rules_bands():
    assert typing.get_args(Band) == BANDS


def test_every_entry_names_at_least_one_sdg_target(kb):
    # the loader allows an entry without SDG references; every shipped entry has some
    assert [e for e in [*kb.categories, *kb.kpis] if not e.sdg] == []


def test_sdg_target_list_has_the_169_targets(kb):
    assert len(kb.valid_targets) == 169
    assert {"11.6", "13.2", "6.4", "17.19", "16.b", "3.d"} <= kb.valid_targets
    assert "18.1" not in kb.valid_targets and "11.8" not in kb.valid_targets


def test_every_sdg_reference_of_the_kpi_library_exists(kb):
    # the recommendations carry the KPIs' own SDG references, so they must be real targets too
    bad = [(k.code, r) for k in library() for r in k.sdg if not sdg_ref_exists(r, kb.valid_targets)]
    assert bad == []


def test_sdg_ref_check_accepts_targets_and_indicators_only():
    targets = {"11.6", "6.1"}
    assert sdg_ref_exists("11.6", targets)
    assert sdg_ref_exists("11.6.2", targets)
    assert not sdg_ref_exists("11.9", targets)
    assert not sdg_ref_exists("11", targets)
    assert not sdg_ref_exists("SDG 11", targets)


def test_standards_named_where_they_apply(kb):
    ghg = kb.kpi("EN: EN: AQ: 2C")
    assert "L.1450" in ghg.standards and "GPC" in ghg.standards
    assert "moscow_ghg" in ghg.sources
    assert "Y.Suppl.33" in kb.category("ICT", "Transport").standards
    assert all("Y.4903" in c.standards for c in kb.categories)


def test_case_study_areas_are_covered(kb):
    # the Moscow pairs: SMEs, transport, e-learning, e-government, GHG, noise, recycling
    cited = {s for e in [*kb.categories, *kb.kpis] for s in e.sources}
    assert {"moscow_sme", "moscow_transport", "moscow_education", "moscow_egov", "moscow_ghg",
            "moscow_noise_waste"} <= cited
    for code in ("EC: P: IN: 3A", "EC: ICT: PS: 2A", "EN: EN: EQ: 2A"):  # advanced KPIs the case study singles out
        assert kb.kpi(code) is not None


def test_collect_action_for_every_kpi_names_the_kpi_office_and_inputs(kb):
    lib = library()
    for kpi in lib:
        rec = collect_action(kb, lib, kpi.code)
        assert rec.kind == "collect_data"
        assert kpi.name in rec.action and kpi.code in rec.action
        assert next(iter(kpi.inputs.values())).label in rec.action
        office = (kb.kpi(kpi.code).office if kb.kpi(kpi.code) and kb.kpi(kpi.code).office
                  else kb.category(kpi.sub_dimension, kpi.category).office)
        assert office in rec.action
        assert "{" not in rec.action and "}" not in rec.action


# ---------------------------------------------------------------- malformed files fail naming the entry


def _write(tmp_path, data) -> str:
    path = tmp_path / "recommendations.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def _mutate(raw, fn):
    data = copy.deepcopy(raw)
    fn(data)
    return data


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda d: d["kpis"][0].update(code="EC: ICT: ICT: 9C"), "KPI entry 'EC: ICT: ICT: 9C' is not a U4SSC KPI"),
        (lambda d: d["kpis"][0].update(sources=[]), "KPI entry EC: ICT: ICT: 1C: sources"),
        (lambda d: d["kpis"][0].update(sdg=["18.1"]), "KPI EC: ICT: ICT: 1C: SDG reference '18.1'"),
        (lambda d: d["kpis"][0].update(sources=["nowhere"]), "KPI EC: ICT: ICT: 1C: source 'nowhere'"),
        (lambda d: d["kpis"][0].update(standards=["ISO 9999"]), "KPI EC: ICT: ICT: 1C: standard 'ISO 9999'"),
        (lambda d: d["kpis"][0]["actions"].pop(), "KPI EC: ICT: ICT: 1C: no action for band(s) 95+"),
        (lambda d: d["kpis"][0]["actions"][0].update(bands=["0-10"]), "KPI entry EC: ICT: ICT: 1C: actions.0.bands"),
        (lambda d: d["kpis"].pop(0), "no entry for core KPIs EC: ICT: ICT: 1C"),
        (lambda d: d["categories"][0].update(collect="Ask {office} for {secret} about {name} and more words here."),
         "category 'ICT Infrastructure' (ICT): collect template uses unknown field(s) ['secret']"),
        (lambda d: d["categories"][0].update(category="Nonsense"), "category 'Nonsense' (ICT) is not a category"),
        (lambda d: d["categories"].pop(1), "no entry for categories [('ICT', 'Water and Sanitation')]"),
        (lambda d: d["categories"][2].update(office=None), "category entry Drainage: office"),
        # bands: an entry must have an action for each of the four bands, an action at least one band
        (lambda d: d["categories"][0].update(actions=[a for a in d["categories"][0]["actions"]
                                                      if "95+" not in a["bands"]]),
         "category 'ICT Infrastructure' (ICT): no action for band(s) 95+"),
        (lambda d: d["categories"][1]["actions"][0].update(bands=[]),
         "category entry Water and Sanitation: actions.0.bands: List should have at least 1 item"),
        # sources: cited by an action, well formed in the source list
        (lambda d: d["categories"][0]["actions"][1].update(sources=["nowhere"]),
         "category 'ICT Infrastructure' (ICT): source 'nowhere' is not listed under 'sources'"),
        (lambda d: d["sources"]["y4903"].update(url="http://www.itu.int/rec/T-REC-Y.4903"),
         "sources.y4903.url: String should match pattern '^https://'"),
        (lambda d: d["sources"]["y4903"].update(title="ITU"), "sources.y4903.title: String should have at least 5"),
        # SDG references: in an action, a goal instead of a target, a target whose goal is not listed
        (lambda d: d["categories"][0]["actions"][1].update(sdg=["11.9"]),
         "category 'ICT Infrastructure' (ICT): SDG reference '11.9' is not an SDG target"),
        (lambda d: d["categories"][0].update(sdg=["SDG 11"]),
         "category 'ICT Infrastructure' (ICT): SDG reference 'sdg 11' is not an SDG target"),
        (lambda d: d["sdg_targets"].pop(17), "category 'ICT Infrastructure' (ICT): SDG reference '17.6' is not"),
        # standards cited by an action, collect templates that cannot be filled in, unknown fields, duplicates
        (lambda d: d["kpis"][0]["actions"][1].update(standards=["ISO 0000"]),
         "KPI EC: ICT: ICT: 1C: standard 'ISO 0000' is not listed under 'standards'"),
        (lambda d: d["categories"][0].update(collect="{name was not reported; ask the office for the figures please."),
         "category 'ICT Infrastructure' (ICT): collect template is malformed"),
        (lambda d: d["kpis"][0].update(owner="x"), "KPI entry EC: ICT: ICT: 1C: owner: Extra inputs are not permitted"),
        (lambda d: d["kpis"][0]["actions"][0].update(text="too short"),
         "KPI entry EC: ICT: ICT: 1C: actions.0.text: String should have at least 40 characters"),
        (lambda d: d["categories"].append(copy.deepcopy(d["categories"][3])),
         "category 'Electricity Supply' (ICT) appears twice"),
        (lambda d: d["kpis"].append(copy.deepcopy(d["kpis"][0])), "KPI EC: ICT: ICT: 1C appears twice"),
    ],
)
def test_malformed_entry_fails_naming_it(tmp_path, raw, mutation, message):
    path = _write(tmp_path, _mutate(raw, mutation))
    with pytest.raises(CatalogueError) as exc:
        load_knowledge_base(path)
    assert message in str(exc.value)
    assert str(exc.value).startswith("recommendations.yaml: ")


def test_not_a_mapping_is_a_clear_error(tmp_path):
    path = tmp_path / "recommendations.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="expected a mapping"):
        load_knowledge_base(path)


def test_a_copy_with_allowed_changes_still_loads(tmp_path, raw):
    # the checks above reject the defect, not any change: an SDG indicator number is a valid reference and an
    # advanced KPI may go without an entry of its own
    def change(d):
        d["kpis"][0]["sdg"] = ["11.6.2"]
        d["kpis"] = [k for k in d["kpis"] if k["code"] != "EC: P: IN: 3A"]
    kb = load_knowledge_base(_write(tmp_path, _mutate(raw, change)))
    assert kb.kpi("EC: ICT: ICT: 1C").sdg == ["11.6.2"]
    assert kb.kpi("EC: P: IN: 3A") is None and len(kb.kpis) == 57
