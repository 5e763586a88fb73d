"""The recommendation knowledge base: complete, sourced, and every code and SDG reference real."""

from __future__ import annotations

import copy
import typing

import pytest
import yaml

from kpis.knowledge import Band, knowledge_base, load_knowledge_base, sdg_ref_exists
from kpis.library import CatalogueError, data_dir, library
from kpis.recommend import collect_action
from kpis.rules import BANDS

KB_PATH = data_dir() / "recommendations.yaml"


@pytest.fixture(scope="module")
def kb():
    return knowledge_base()


@pytest.fixture(scope="module")
def raw():
    with open(KB_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_every_category_keyed_by_sub_dimension_has_an_entry(kb):
    lib_categories = {(k.sub_dimension, k.category) for k in library()}
    kb_categories = {(c.sub_dimension, c.category) for c in kb.categories}
    assert kb_categories == lib_categories
    # 22 category names, some repeated across sub-dimensions (hence the (sub_dimension, category) key)
    assert len({c for _, c in kb_categories}) == 22
    assert len(kb_categories) == 27


def test_every_core_kpi_has_an_entry_and_every_code_exists(kb):
    lib = library()
    core = {k.code for k in lib if k.tier == "core"}
    codes = {k.code for k in kb.kpis}
    assert len(core) == 55
    assert core <= codes
    assert codes <= set(lib.by_code)


def test_the_schema_bands_are_the_rules_bands():
    assert typing.get_args(Band) == BANDS


def test_every_entry_covers_all_four_bands(kb):
    for entry in [*kb.categories, *kb.kpis]:
        covered = {b for a in entry.actions for b in a.bands}
        assert covered == set(BANDS), entry


def test_every_entry_cites_a_known_source_and_every_source_has_a_title(kb):
    for entry in [*kb.categories, *kb.kpis]:
        assert entry.sources, entry
        for key in [*entry.sources, *(s for a in entry.actions for s in a.sources)]:
            assert key in kb.sources
    for key, src in kb.sources.items():
        assert len(src.title) > 10, key
        assert src.url is None or src.url.startswith("https://"), key


def test_sdg_target_list_has_the_169_targets(kb):
    assert len(kb.valid_targets) == 169
    assert {"11.6", "13.2", "6.4", "17.19", "16.b", "3.d"} <= kb.valid_targets
    assert "18.1" not in kb.valid_targets and "11.8" not in kb.valid_targets


def test_every_sdg_reference_in_the_knowledge_base_exists(kb):
    refs = [r for e in [*kb.categories, *kb.kpis] for r in [*e.sdg, *(x for a in e.actions for x in a.sdg)]]
    assert refs
    assert [r for r in refs if not sdg_ref_exists(r, kb.valid_targets)] == []


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


def test_duplicate_kpi_entry_is_rejected(tmp_path, raw):
    path = _write(tmp_path, _mutate(raw, lambda d: d["kpis"].append(copy.deepcopy(d["kpis"][0]))))
    with pytest.raises(CatalogueError, match=r"KPI EC: ICT: ICT: 1C appears twice"):
        load_knowledge_base(path)
