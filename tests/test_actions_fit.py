"""Actions that fit the KPI: every scorable data point gets, in every band, an action about its own KPI; context
indicators get none; a category's actions reach only the KPIs it lists; no action pushes a KPI the wrong way;
priorities follow the basis of their targets; docs/recommendations.md is the knowledge base, generated."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import kpis
from kpis.knowledge import (
    CategoryEntry,
    context_points,
    default_scored_points,
    knowledge_base,
    recommendations_markdown,
    scorable_points,
)
from kpis.library import library, load_targets
from kpis.narrative import executive_summary, priority_actions
from kpis.paths import demo_city
from kpis.recommendation import recommend
from kpis.rules import BANDS

DOC = Path(__file__).resolve().parents[1] / "docs" / "recommendations.md"
POLICE, ICT_JOBS, UNEMPLOYMENT = "SC: SH: SA: 6C", "EC: P: EM: 4A", "EC: P: EM: 1C"


@pytest.fixture(scope="module")
def kb():
    return knowledge_base()


# ---------------------------------------------------------------- the knowledge base itself


def test_every_scorable_data_point_has_an_action_about_its_own_kpi_in_every_band(kb):
    lib = library()
    for code, _part, label, _ in scorable_points(lib):
        kpi = lib.by_code[code]
        for band in BANDS:
            actions = kb.point_actions(code, kpi.sub_dimension, kpi.category, band)
            assert actions, f"{code} {label}: no action for {band}"
            for entry, _action in actions:
                assert getattr(entry, "code", None) == code or (
                    isinstance(entry, CategoryEntry) and code in entry.applies_to)


def test_context_indicators_get_no_action(kb):
    lib = library()
    context_only = {code for code, _ in context_points(lib)} - {code for code, *_ in scorable_points(lib)}
    assert {POLICE, ICT_JOBS, "EC: P: EM: 3A", "SC: SH: SA: 7C"} <= context_only
    for code in context_only:
        kpi = lib.by_code[code]
        assert all(not kb.point_actions(code, kpi.sub_dimension, kpi.category, b) for b in BANDS), code
        assert all(code not in c.applies_to for c in kb.categories)


def test_applies_to_lists_only_kpis_of_the_category(kb):
    lib = library()
    listed = 0
    for c in kb.categories:
        for code in c.applies_to:
            kpi = lib.by_code[code]
            assert (kpi.sub_dimension, kpi.category) == (c.sub_dimension, c.category)
            listed += 1
        assert bool(c.actions) == bool(c.applies_to)  # a category about no scorable KPI has no action
    assert listed > 60
    employment = kb.category("Productivity", "Employment")
    assert employment.applies_to == [UNEMPLOYMENT, "EC: P: EM: 2C"]


#: Verbs that push a quantity up, and verbs that push it down.
UP = r"increas\w*|rais\w*|expand\w*|grow\w*|boost\w*|lift\w*|more"
DOWN = r"reduc\w*|cut\w*|lower\w*|decreas\w*|shorten\w*|narrow\w*|fewer|less"
#: Words of KPI names that say nothing about what the KPI counts.
STOP = {"of", "the", "and", "per", "rate", "share", "annual", "mean", "with", "at", "least", "to", "in", "by", "a",
        "system", "systems", "sent", "city", "public", "total", "level", "data", "ict"}


def _subject(name: str) -> set[str]:
    """The words that name what a KPI counts ('unemployment', 'water', 'loss'), cut to 5 letters."""
    return {w[:5] for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in STOP and len(w) > 2}


def _wrong_way(text: str, subject: set[str], wrong: str) -> list[str]:
    """Phrases where a verb of the wrong direction is followed, within four words of the same sentence, by the
    KPI's subject."""
    hits = []
    for sentence in re.split(r"[.;:!?]", text.lower()):
        words = re.findall(r"[a-z0-9]+", sentence)
        for i, w in enumerate(words):
            if re.fullmatch(wrong, w) and any(x[:5] in subject for x in words[i + 1:i + 5]):
                hits.append(" ".join(words[i:i + 5]))
    return hits


def test_actions_point_the_way_the_kpi_improves(kb):
    """No 'increase' wording for a lower-is-better KPI and no 'reduce' wording for a higher-is-better one: a title
    never opens with a verb of the wrong direction, and no text applies one to what the KPI counts."""
    lib = library()
    problems = []
    for code, part, label, direction in scorable_points(lib):
        kpi = lib.by_code[code]
        wrong = UP if direction == "lower" else DOWN
        subject = _subject(label if part else kpi.name)
        for band in BANDS:
            category = kb.category(kpi.sub_dimension, kpi.category)
            listed = [(category, a) for a in category.actions_for([band])] if category and category.lists(code) else []
            for _entry, action in [*kb.point_actions(code, kpi.sub_dimension, kpi.category, band), *listed]:
                first = action.title.split()[0].lower()
                if re.fullmatch(wrong, first):
                    problems.append(f"{code} {label} [{band}] title {action.title!r}")
                for hit in _wrong_way(f"{action.title}. {action.text}", subject, wrong):
                    problems.append(f"{code} {label} [{band}] {hit!r}")
    assert problems == []


def test_the_direction_scan_catches_a_wrong_way_action():
    assert _wrong_way("Raise unemployment benefits awareness", _subject("Unemployment Rate"), UP)
    assert _wrong_way("Reduce household internet access costs", _subject("Household Internet Access"), DOWN)
    assert not _wrong_way("Cut unemployment with job matching", _subject("Unemployment Rate"), UP)


# ---------------------------------------------------------------- the engine


def _demo_frame() -> pd.DataFrame:
    results = kpis.score(kpis.read_submission(demo_city()))
    return results.kpis[["city", "year", "code", "part", "value", "reported"]].copy()


def _with(frame: pd.DataFrame, values: dict[str, float]) -> pd.DataFrame:
    frame = frame.copy()
    for code, value in values.items():
        frame.loc[frame["code"] == code, ["value", "reported"]] = [value, True]
    return frame


@pytest.fixture(scope="module")
def demo_frame():
    return _demo_frame()


def test_police_ict_jobs_and_low_unemployment_get_no_staffing_or_labour_market_priority(demo_frame):
    results = kpis.score(_with(demo_frame, {POLICE: 89.0, ICT_JOBS: 3.0, UNEMPLOYMENT: 2.7}))
    k = results.kpis.set_index("code")
    assert k.loc[UNEMPLOYMENT, "band"] == "95+"
    recs = recommend(results)
    top = priority_actions(results, recommendations=recs)
    assert top
    for r in top:
        words = f"{r.title} {r.action}".lower()
        assert "police" not in words and "labour-market" not in words and "labour market" not in words, r.title
        assert not {POLICE, ICT_JOBS} & set(r.kpi_codes)
    acted = {c for r in recs if r.kind in ("improve", "close_gap", "keep") for c in r.kpi_codes}
    assert not {POLICE, ICT_JOBS} & acted


def test_a_category_action_never_reaches_a_kpi_it_does_not_list(demo_frame):
    # youth unemployment weak and ICT jobs scored by a city's own target set: the Employment category's actions
    # reach youth unemployment (listed) and never ICT sector employment
    lib = library()
    recs = recommend(kpis.score(_with(demo_frame, {"EC: P: EM: 2C": 40.0, ICT_JOBS: 3.0})))
    kb = knowledge_base()
    for r in recs:
        cat = kb.category(r.sub_dimension, r.category)
        if cat is not None and r.title in {a.title for a in cat.actions}:
            assert set(r.kpi_codes) <= set(cat.applies_to), (r.title, r.kpi_codes)
    assert all(lib.by_code[c].code != ICT_JOBS for r in recs for c in r.kpi_codes)


def test_priorities_follow_the_basis_of_their_targets(demo_frame):
    # life expectancy (a reference figure) and patents (the project's judgement) far below target, next to
    # standard gaps: the standard gaps come first, then the reference one, and no judgement-only action is first
    results = kpis.score(_with(demo_frame, {"SC: EH: H: 1C": 20.0, "EC: P: IN: 2C": 0.1}))
    recs = recommend(results)
    actionable = [r for r in recs if r.kind == "improve"]
    bases = [r.basis for r in actionable]
    assert bases == sorted(bases, key={"standard": 0, "reference": 1, "judgement": 2}.__getitem__)
    top = priority_actions(results, recommendations=recs)
    assert top[0].basis != "judgement"
    life = next(r for r in actionable if "SC: EH: H: 1C" in r.kpi_codes)
    assert "below the reference figure of" in life.action
    summary = " ".join(executive_summary(results, recs))
    assert "The first priorities are to" in summary


def test_a_lower_is_better_reference_gap_says_above(demo_frame):
    results = kpis.score(_with(demo_frame, {UNEMPLOYMENT: 40.0}))
    rec = next(r for r in recommend(results) if r.kind == "improve" and UNEMPLOYMENT in r.kpi_codes)
    assert "above the reference figure of" in rec.action


# ---------------------------------------------------------------- docs/recommendations.md


def test_the_committed_table_is_the_generated_one():
    assert DOC.read_text(encoding="utf-8") == recommendations_markdown(), (
        "docs/recommendations.md is stale: run `python -m kpis.knowledge > docs/recommendations.md`")


def test_the_table_has_a_row_for_every_scored_data_point_and_band():
    text = recommendations_markdown()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| KPI ")]
    points = default_scored_points(library(), load_targets())
    assert len(points) > 70
    seen = {(cells[0], cells[2]) for cells in (row.split(" | ") for row in rows)}
    for code, part, label, _ in points:
        kpi = library().by_code[code]
        name = f"{kpi.name}: {label}" if part else kpi.name
        for band in BANDS:
            assert any(c.startswith(f"| {code} {name} (") and b == band for c, b in seen), (code, part, band)
    assert len(rows) == len(points) * len(BANDS)
    assert "NO ACTION" not in text


def test_a_gap_against_a_judgement_target_alone_is_never_a_priority():
    """Only a judgement-based target is missed: the action is suggested, but no priority rests on it alone."""
    from kpis import narrative

    targets = kpis.load_targets()
    code, part = next(k for k, t in targets.entries.items() if t.basis == "judgement" and t.target
                      and not kpis.get_kpi(k[0]).is_composite and kpis.get_kpi(k[0]).direction == "higher")
    frame = pd.DataFrame([{"city": "Judgeville", "year": 2024, "code": code, "part": part,
                           "value": targets.entries[(code, part)].target * 0.1}])
    results = kpis.score(frame)
    recs = kpis.recommend(results)
    assert any(r.kind == "improve" and r.basis == "judgement" for r in recs)
    priorities = narrative.priority_actions(results, recommendations=recs, n=100)
    assert priorities and not (priorities[0].kind == "improve" and priorities[0].basis == "judgement")
    assert {r.kind for r in priorities[:1]} == {"collect_data"}  # the missing core KPIs come first
    alone = [r for r in recs if r.kind == "improve"]  # with nothing else to do, no priority rests on it
    assert narrative.priority_actions(results, recommendations=alone) == []
