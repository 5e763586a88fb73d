"""The default target set and its sources registry, read straight from the YAML files (no loader involved)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CATALOGUE = Path(__file__).resolve().parents[1] / "kpis" / "catalogue"
BASES = {"standard", "reference", "judgement"}


def _load(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def sources() -> list[dict]:
    return _load(CATALOGUE / "sources.yaml")["sources"]


@pytest.fixture(scope="module")
def registry(sources) -> dict[str, dict]:
    return {s["id"]: s for s in sources}


@pytest.fixture(scope="module")
def targets() -> list[dict]:
    rows = []
    for path in sorted((CATALOGUE / "targets").glob("*.yaml")):
        rows += [dict(t, _file=path.name) for t in _load(path)["targets"]]
    return rows


def _label(t: dict) -> str:
    return f"{t['_file']}: {t['code']} {t.get('part') or ''}".strip()


def test_source_ids_unique_and_complete(sources):
    ids = [s.get("id") for s in sources]
    assert len(ids) == len(set(ids)), "source ids repeat"
    for s in sources:
        for field in ("id", "publisher", "title", "year", "url"):
            assert s.get(field) not in (None, ""), f"source {s.get('id')!r} lacks {field}"
        assert isinstance(s.get("primary"), bool), f"source {s['id']!r}: primary must be true or false"
        assert str(s["url"]).startswith(("http://", "https://")), f"source {s['id']!r}: url is not a web address"


def test_every_target_has_basis_and_known_sources(targets, registry):
    for t in targets:
        assert t.get("basis") in BASES, f"{_label(t)}: basis {t.get('basis')!r}"
        ids = t.get("source_ids") or []
        assert ids, f"{_label(t)}: no source_ids"
        unknown = [i for i in ids if i not in registry]
        assert not unknown, f"{_label(t)}: unknown source ids {unknown}"
        assert t.get("source"), f"{_label(t)}: the free-text source is kept for other code"


def test_non_judgement_targets_cite_a_primary_source(targets, registry):
    for t in targets:
        if t["basis"] != "judgement":
            assert any(registry[i]["primary"] for i in t["source_ids"]), f"{_label(t)}: no primary source"


def test_judgement_targets_give_reasoning(targets):
    for t in targets:
        if t["basis"] == "judgement":
            assert str(t.get("reasoning") or "").strip(), f"{_label(t)}: judgement without reasoning"


def test_no_technical_optimum_without_a_registry_source(targets, registry):
    for t in targets:
        text = " ".join(str(t.get(k) or "") for k in ("source", "note", "reasoning", "no_benchmark")).lower()
        if "technical optimum" in text:
            assert any(i in registry for i in t.get("source_ids") or []), f"{_label(t)}: 'Technical Optimum' unsourced"
            assert t["basis"] == "judgement" or any(
                registry[i]["primary"] for i in t["source_ids"]
            ), f"{_label(t)}: 'Technical Optimum' cited as a standard"


def test_every_data_point_has_a_target_entry(targets):
    wanted = set()
    for path in sorted((CATALOGUE / "kpis").glob("*.yaml")):
        data = _load(path)
        kpis = data["kpis"] if isinstance(data, dict) else data
        for k in kpis:
            if k.get("parts"):
                wanted |= {(k["code"], p["name"]) for p in k["parts"]}
            else:
                wanted.add((k["code"], ""))
    have = {(t["code"], t.get("part") or "") for t in targets}
    assert not wanted - have, f"data points without a target entry: {sorted(wanted - have)}"
    assert not have - wanted, f"target entries for unknown data points: {sorted(have - wanted)}"
    assert len(wanted) == 108


def test_context_fields_are_reasons(targets):
    for path in sorted((CATALOGUE / "kpis").glob("*.yaml")):
        data = _load(path)
        for k in data["kpis"] if isinstance(data, dict) else data:
            for holder in [k, *(k.get("parts") or [])]:
                if "context" in holder:
                    assert len(str(holder["context"]).strip()) > 20, f"{k['code']}: context needs a written reason"
