"""The comparison on sparse real data: what cities share is compared, what they do not is said, nothing is empty."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from kpis import rules
from kpis.comparison import ComparisonReport, compare
from kpis.paths import bundled

HOUSEHOLD_INTERNET = "EC: ICT: ICT: 1C"  # %, higher, target 100
BROADBAND = "EC: ICT: ICT: 2C"  # %, higher, target 60
UNEMPLOYMENT = "EC: P: EM: 1C"  # %, lower, target 5
LIFE_EXPECTANCY = "SC: EH: H: 1C"  # years, higher, target 83
GHG = "EN: EN: AQ: 2C"  # t eCO2 per capita, lower, target 2.9


def frame(rows: list[tuple], region: str = "Europe") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["city", "year", "code", "value"]).assign(part="", region=region)


@pytest.fixture(scope="module")
def bundled_report() -> str:
    report = ComparisonReport.build(draws=20)
    parts = [report.title(), report.method(), report.legend(), report.heatmap("category"),
             report.band_table("dimension"), report.radar("sub_dimension"), report.ranking_chart(),
             report.ranking_table(), report.peers_table(), report.coverage_chart(), report.coverage_table(),
             report.progress_chart(), report.progress_table()]
    return "\n".join(str(p) if isinstance(p, str) else f'<img alt="{p.alt}">' for p in parts)


def test_bundled_cities_report_has_no_empty_table_or_chart(bundled_report):
    html = bundled_report
    assert "<tbody></tbody>" not in html
    for table in re.findall(r"<table.*?</table>", html, flags=re.S):
        assert "<td" in table or "<th>" in table.split("</thead>")[-1], "a table without rows"
    assert "no city could be ranked" not in html and "no city has two years" not in html  # no placeholder chart
    assert "Ranked on 0 data points" not in html
    assert "No ranking:" in html and "No progress:" in html
    # a side-by-side table of shared KPIs: Karmøy and Moscow both report household internet access
    assert "KPIs the cities share" in html
    side = html.split("KPIs the cities share")[1].split("</table>")[0]
    assert "Karmøy 2020" in side and "Moscow 2018" in side and HOUSEHOLD_INTERNET in side
    assert "97 % · 95+" in side  # Karmøy's published 97 % with its band, as text
    for raw in ("peer_median", "vs_peers", "ranking_score", "rank_low", "kpis_total", "city_a"):
        assert f">{raw}<" not in html


def test_bundled_cities_say_what_cannot_be_compared(bundled_report):
    assert "Karmøy 2020 and Ålesund 2020 share no scored data point" in bundled_report
    assert "Rana 2020 has no scored data point" in bundled_report


def test_cli_report_written_without_empty_tables(tmp_path):
    from kpis.cli import main

    assert main(["compare", "--out", str(tmp_path)]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<tbody></tbody>" not in html and "KPIs the cities share" in html
    assert "peer_median" not in html and "vs_peers" not in html
    assert "kpis_scored" in (tmp_path / "scores.csv").read_text(encoding="utf-8")  # the CSVs keep machine names
    assert "rank_low" in (tmp_path / "ranking.csv").read_text(encoding="utf-8")


def test_a_pair_sharing_no_data_point_cannot_be_compared():
    comp = compare(frame([("North", 2022, HOUSEHOLD_INTERNET, 90), ("North", 2022, BROADBAND, 50),
                          ("South", 2022, UNEMPLOYMENT, 6), ("South", 2022, LIFE_EXPECTANCY, 80)]))
    pairs = comp.pairs()
    assert pairs.table.empty
    assert "North 2022 and South 2022 share no scored data point, so they cannot be compared." in pairs.notes
    html = str(ComparisonReport(comp, comp.rank(draws=5)).ranking_table())
    assert "North 2022 and South 2022 share no scored data point" in html
    assert "<tbody></tbody>" not in html


def test_pairs_score_each_city_on_the_points_both_score():
    # A: internet 100 % (4 pts), broadband 30/60 = 50 % (2 pts), GHG 2.9/29 = 10 % (1 pt)
    # B: internet 50 % (2 pts), broadband 60/60 (4 pts); B has no GHG → shared: internet, broadband
    comp = compare(frame([("A", 2022, HOUSEHOLD_INTERNET, 100), ("A", 2022, BROADBAND, 30), ("A", 2022, GHG, 29),
                          ("B", 2022, HOUSEHOLD_INTERNET, 50), ("B", 2022, BROADBAND, 60)]))
    row = comp.pairs().table.iloc[0]
    assert row["shared_points"] == 2
    assert row["score_a"] == pytest.approx(25 * (4 + 2) / 2)  # 75: GHG left out
    assert row["score_b"] == pytest.approx(25 * (2 + 4) / 2)
    assert row["band_a"] == rules.band_of(75.0) == "66-95"


def test_peers_use_only_the_points_every_member_scores():
    # Three cities of one region. Shared by all three: internet, broadband, unemployment.
    # P also reports GHG at 10 % (1 pt), Q life expectancy at 100 % (4 pts): both left out of the peer scores.
    rows = [("P", 2022, HOUSEHOLD_INTERNET, 100), ("P", 2022, BROADBAND, 60), ("P", 2022, UNEMPLOYMENT, 5),
            ("P", 2022, GHG, 29),
            ("Q", 2022, HOUSEHOLD_INTERNET, 50), ("Q", 2022, BROADBAND, 30), ("Q", 2022, UNEMPLOYMENT, 10),
            ("Q", 2022, LIFE_EXPECTANCY, 83),
            ("R", 2022, HOUSEHOLD_INTERNET, 20), ("R", 2022, BROADBAND, 12), ("R", 2022, UNEMPLOYMENT, 25)]
    comp = compare(frame(rows))
    peers = comp.peers("region").set_index("city")
    # P: 4+4+4 → 100; Q: 2+2+2 → 50; R: 20 %, 20 %, 5/25 = 20 % → 1+1+1 → 25
    assert peers["score"].to_dict() == pytest.approx({"P": 100.0, "Q": 50.0, "R": 25.0})
    assert (peers["shared_points"] == 3).all() and (peers["peers"] == 3).all()
    assert (peers["peer_median"] == 50.0).all()
    assert peers.loc["P", "vs_peers"] == pytest.approx(50.0) and peers.loc["R", "vs_peers"] == pytest.approx(-25.0)
    # on each city's own coverage P would be 13/16 and Q 10/16: not what the peer table uses
    own = comp.scores[comp.scores["level"] == "overall"].set_index("city")["score"]
    assert own["P"] == pytest.approx(100 * 13 / 16) and own["Q"] == pytest.approx(100 * 10 / 16)


def test_peer_table_dropped_with_a_sentence_when_few_points_are_shared():
    comp = compare(frame([("P", 2022, HOUSEHOLD_INTERNET, 100), ("P", 2022, BROADBAND, 60),
                          ("Q", 2022, HOUSEHOLD_INTERNET, 50), ("Q", 2022, UNEMPLOYMENT, 10)]))
    assert comp.peers("region").empty
    html = str(ComparisonReport(comp, comp.rank(draws=5), group_by="region").peers_table())
    assert "No peer comparison" in html and "fewer than 3" in html and "<table" not in html
    assert "Peer rule." in str(ComparisonReport(comp, comp.rank(draws=5)).method())


def _workbook_points(path: Path) -> int:
    """Data points with a figure in the Data sheet (numerator, denominator or final value), read with openpyxl."""
    ws = load_workbook(path, read_only=True, data_only=True)["Data"]
    header = [str(c) for c in next(ws.iter_rows(values_only=True))]
    cols = [header.index(name) for name in ("Numerator value", "Final value (only if no inputs)")]
    return sum(1 for row in ws.iter_rows(min_row=2, values_only=True)
               if any(isinstance(row[i], int | float) for i in cols))


@pytest.mark.parametrize("name", ["rana-2020", "karmoy-2020", "moscow-2018", "alesund-2020"])
def test_kpi_count_in_the_comparison_equals_the_workbook(name):
    path = bundled("data", f"cities/{name}.xlsx")
    comp = compare([path])
    assert int(comp.kpis["reported"].sum()) == _workbook_points(path)
