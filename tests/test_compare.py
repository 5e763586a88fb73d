"""The comparison stage on hand-built cities: scores, coverage, honest rankings with intervals, Open SDG progress."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pandas as pd
import pytest

import kpis
from kpis.comparison import CompareError, Comparison, compare, progress_status
from kpis.synthetic import cities

# Five KPIs with targets (default target set): three higher-is-better, two lower-is-better.
HOUSEHOLD_INTERNET = "EC: ICT: ICT: 1C"  # %, higher, target 100
BROADBAND = "EC: ICT: ICT: 2C"  # %, higher, target 60
UNEMPLOYMENT = "EC: P: EM: 1C"  # %, lower, target 5
LIFE_EXPECTANCY = "SC: EH: H: 1C"  # years, higher, target 83
GHG = "EN: EN: AQ: 2C"  # t eCO2 per capita, lower, target 2.9


def frame(rows: list[tuple]) -> pd.DataFrame:
    """(city, year, code, value) rows → a long values table."""
    return pd.DataFrame(rows, columns=["city", "year", "code", "value"]).assign(part="")


def overall(comp: Comparison) -> pd.Series:
    s = comp.scores
    return s[s["level"] == "overall"].set_index("city")["score"]


# ---------------------------------------------------------------- scores and coverage


def test_scores_and_coverage_hand_worked():
    # A: internet 100 % (4 pts), broadband 30/60 = 50 % (2 pts), unemployment 5/10 = 50 % (2 pts) → 8/12
    comp = compare(frame([("A", 2022, HOUSEHOLD_INTERNET, 100), ("A", 2022, BROADBAND, 30),
                          ("A", 2022, UNEMPLOYMENT, 10), ("B", 2022, HOUSEHOLD_INTERNET, 20)]))
    assert overall(comp)["A"] == pytest.approx(100 * 8 / 12)
    assert overall(comp)["B"] == pytest.approx(25.0)  # 20 % of target → 1 point of 4
    s = comp.scores.set_index(["city", "level", "group"])
    assert s.loc[("A", "overall", "Overall"), "band"] == "66-95"
    assert s.loc[("A", "overall", "Overall"), "kpis_scored"] == 3
    assert s.loc[("A", "overall", "Overall"), "kpis_total"] == 91
    cov = comp.coverage
    assert cov.shape == (2, 91)
    assert cov.loc[("A", 2022)].sum() == 3 and cov.loc[("B", 2022)].sum() == 1
    assert cov.loc[("B", 2022), HOUSEHOLD_INTERNET] and not cov.loc[("B", 2022), BROADBAND]


def test_scores_match_the_scoring_stage():
    data = cities(6, seed=4)
    comp = compare(data)
    summary = kpis.score(data[["city", "year", "code", "part", "value", "reported"]]).summary
    ref = summary[summary["level"] == "overall"].set_index("city")["score"].astype(float)
    assert np.allclose(overall(comp).sort_index().to_numpy(), ref.sort_index().to_numpy())


def test_table_and_peers_by_region():
    comp = compare(frame([("A", 2022, HOUSEHOLD_INTERNET, 100), ("B", 2022, HOUSEHOLD_INTERNET, 50),
                          ("C", 2022, HOUSEHOLD_INTERNET, 10)]).assign(
        region=lambda f: f["city"].map({"A": "Europe", "B": "Europe", "C": "Asia"})))
    bands = comp.table("overall", "band")
    assert bands.loc["A", "Overall"] == "95+" and bands.loc["C", "Overall"] == "<33"
    peers = comp.peers("region", min_shared=1).set_index("city")
    assert peers.loc["A", "peer_group"] == "Europe" and peers.loc["A", "peers"] == 2
    assert peers.loc["A", "peer_median"] == pytest.approx((100 + 50) / 2)  # 4 and 2 points of 4
    assert peers.loc["A", "shared_points"] == 1
    assert "C" not in peers.index  # alone in Asia: no peers to compare with
    assert comp.peers("region").empty  # one shared data point is fewer than the default 3
    notes = comp.peer_comparison("region").notes
    assert any("C 2022 is the only city of Asia" in n for n in notes)
    assert any("fewer than 3" in n for n in notes)
    with pytest.raises(CompareError, match="population_band or region"):
        comp.peers("country")


def test_population_bands_follow_oecd_classes():
    from kpis.comparison import population_band

    got = population_band(pd.Series([30_000, 50_000, 499_999, 1_500_000, np.nan])).tolist()
    assert got[0] == "under 50 000"
    assert got[1].startswith("small urban area")
    assert got[2].startswith("medium-sized")
    assert got[3].startswith("large metropolitan")
    assert got[4] == "unknown"


# ---------------------------------------------------------------- honest rankings


def test_fewer_kpis_never_ranks_above_a_city_it_loses_to_on_shared_kpis():
    # Shared KPIs: A reaches ≥ 95 % of target on each, B about 70 %. A also reported two KPIs where it is weak.
    rows = [("A", 2022, HOUSEHOLD_INTERNET, 98), ("A", 2022, BROADBAND, 59), ("A", 2022, UNEMPLOYMENT, 5),
            ("A", 2022, LIFE_EXPECTANCY, 20), ("A", 2022, GHG, 30),
            ("B", 2022, HOUSEHOLD_INTERNET, 70), ("B", 2022, BROADBAND, 42), ("B", 2022, UNEMPLOYMENT, 7)]
    comp = compare(frame(rows))
    # the trap: on its own coverage B scores higher (9/12 = 75 %) than A (14/20 = 70 %)
    assert overall(comp)["B"] > overall(comp)["A"]
    for share in (1.0, 0.8, 0.5):  # shared KPIs only, and all five with B's missing two at the floor
        tab = comp.rank(min_share=share, draws=100, seed=1).table.set_index("city")
        assert tab.loc["A", "rank"] == 1 and tab.loc["B", "rank"] == 2
        assert tab.loc["A", "rank_high"] == 1 and tab.loc["B", "rank_low"] == 2  # in every draw
    strict = comp.rank(min_share=1.0, draws=10)
    assert len(strict.points) == 3 and "3 data points" in strict.rule


def test_rank_intervals_vanish_when_one_city_dominates():
    rows = []
    for city, share in (("Top", 1.0), ("Middle", 0.5), ("Bottom", 0.1)):
        rows += [(city, 2022, HOUSEHOLD_INTERNET, 100 * share), (city, 2022, BROADBAND, 60 * share),
                 (city, 2022, LIFE_EXPECTANCY, 83 * share)]
    tab = compare(frame(rows)).rank(draws=200, seed=3).table.set_index("city")
    assert tab["rank"].to_dict() == {"Top": 1, "Middle": 2, "Bottom": 3}
    assert (tab["rank_low"] == tab["rank"]).all() and (tab["rank_high"] == tab["rank"]).all()
    assert set(tab["note"]) == {"clearly placed"}


def test_rank_intervals_widen_when_cities_are_close():
    # X: 94 % (band 66-95) and 100 %; Y: 96 % and 96 % (both 95+). Bands put Y first (8 vs 7 points);
    # distance to target puts X first (mean 97 % vs 96 %); targets ± 10 % move the 95 % edge. Both ranks are noise.
    rows = [("X", 2022, HOUSEHOLD_INTERNET, 94), ("X", 2022, BROADBAND, 60),
            ("Y", 2022, HOUSEHOLD_INTERNET, 96), ("Y", 2022, BROADBAND, 57.6),
            ("Far", 2022, HOUSEHOLD_INTERNET, 10), ("Far", 2022, BROADBAND, 6)]
    tab = compare(frame(rows)).rank(draws=200, seed=5).table.set_index("city")
    assert tab.loc["Y", "rank"] == 1 and tab.loc["X", "rank"] == 2  # the U4SSC method as published
    for city in ("X", "Y"):
        assert (tab.loc[city, "rank_low"], tab.loc[city, "rank_high"]) == (1, 2)
        assert tab.loc[city, "note"] == "not distinguishable from 1 other city"
    assert tab.loc["Far", "rank_low"] == tab.loc["Far", "rank_high"] == 3


def test_ties_are_flagged_and_share_the_better_rank():
    rows = [("P", 2022, HOUSEHOLD_INTERNET, 100), ("Q", 2022, HOUSEHOLD_INTERNET, 100),
            ("R", 2022, HOUSEHOLD_INTERNET, 10)]
    tab = compare(frame(rows)).rank(draws=20).table.set_index("city")
    assert tab.loc["P", "rank"] == tab.loc["Q", "rank"] == 1 and tab.loc["R", "rank"] == 3
    assert tab.loc["P", "note"] == "tied with 1 other city"


def test_cities_below_the_coverage_rule_are_listed_not_ranked():
    rows = [(c, 2022, k, v) for c in ("A", "B", "C", "D", "E") for k, v in
            ((HOUSEHOLD_INTERNET, 90), (BROADBAND, 50), (LIFE_EXPECTANCY, 80))]
    rows = [r for r in rows if not (r[0] == "E" and r[2] != HOUSEHOLD_INTERNET)]  # E reported one of three
    r = compare(frame(rows)).rank(draws=20)
    assert list(r.excluded["city"]) == ["E"]
    assert set(r.table["city"]) == {"A", "B", "C", "D"}
    assert "4 of 5 cities" in r.rule


def test_rank_per_category_and_sensitivity_is_reproducible():
    comp = compare(cities(40, seed=2))
    a = comp.rank(level="dimension", draws=50, seed=9).table
    b = comp.rank(level="dimension", draws=50, seed=9).table
    pd.testing.assert_frame_equal(a, b)
    assert set(a["group"]) == {"Economy", "Environment", "Society and Culture"}
    assert (a["rank_low"] <= a["rank"]).all() and (a["rank"] <= a["rank_high"]).all()
    with pytest.raises(CompareError, match="level"):
        comp.rank(level="street")


# ---------------------------------------------------------------- progress (Open SDG measure)


def test_progress_status_on_constructed_series():
    # target 100 by 2030 from 50 in 2020: required growth (100/50)^(1/10) - 1 = 7.18 % a year
    v1 = np.array([60, 55.65, 51, 45, 100.0])  # observed growth 9.5 %, 5.5 %, 1.0 %, -5.1 %, target reached
    res = progress_status(np.full(5, 50.0), v1, np.full(5, 2020), np.full(5, 2022), np.full(5, 100.0),
                          np.full(5, "higher"))
    assert list(res["status"]) == ["on track", "needs acceleration", "off track", "deterioration", "target achieved"]
    assert res["required_cagr"].iloc[0] == pytest.approx(2 ** 0.1 - 1)
    assert res["ratio"].iloc[0] == pytest.approx((1.2 ** 0.5 - 1) / (2 ** 0.1 - 1))


def test_progress_lower_is_better_and_without_target():
    # unemployment 20 % → 12 % in two years, target 5 % by 2030: required -12.9 %/yr, observed -22.5 %/yr
    low = progress_status([20.0], [12.0], [2020], [2022], [5.0], ["lower"])
    assert low["status"].iloc[0] == "on track"
    worse = progress_status([20.0], [22.0], [2020], [2022], [5.0], ["lower"])
    assert worse["status"].iloc[0] == "deterioration"
    # no target: direction-signed growth vs 1.5 % / 0.5 % a year
    free = progress_status([100.0, 100.0, 100.0], [104.0, 102.0, 100.5], [2020] * 3, [2022] * 3,
                           [np.nan] * 3, ["higher"] * 3)
    assert list(free["status"]) == ["on track", "needs acceleration", "off track"]
    assert progress_status([0.0], [5.0], [2020], [2022], [np.nan], ["higher"])["status"].iloc[0] == "not assessable"


def test_comparison_progress_between_years():
    rows = [("A", 2020, HOUSEHOLD_INTERNET, 50), ("A", 2021, HOUSEHOLD_INTERNET, 52),
            ("A", 2022, HOUSEHOLD_INTERNET, 60), ("A", 2020, BROADBAND, 30), ("A", 2022, BROADBAND, 29),
            ("B", 2022, HOUSEHOLD_INTERNET, 50)]
    p = compare(frame(rows)).progress().set_index("code")
    assert list(p["city"]) == ["A", "A"]  # B has one year only
    row = p.loc[HOUSEHOLD_INTERNET]
    assert (row["year_0"], row["year_1"], row["change"]) == (2020, 2022, 10)
    assert (row["band_0"], row["band_1"], row["points_change"]) == ("33-66", "33-66", 0)
    assert row["status"] == "on track"
    assert p.loc[BROADBAND, "status"] == "deterioration"
    summ = compare(frame(rows)).progress_summary()
    assert summ.loc["A", "on track"] == 1 and summ.loc["A", "deterioration"] == 1


# ---------------------------------------------------------------- inputs, errors, display


def test_accepts_results_objects_and_saved_results(tmp_path):
    data = cities(3, seed=1)
    res = kpis.score(data[["city", "year", "code", "part", "value", "reported"]])
    res.to_parquet(tmp_path / "r.parquet")
    from_obj = compare([res])
    from_file = compare(tmp_path / "r.parquet")
    assert kpis.Results.load(tmp_path / "r.parquet") == res  # the saved file is what compare read
    pd.testing.assert_series_equal(overall(from_obj), overall(from_file))
    long_csv = tmp_path / "long.csv"
    data[["city", "year", "code", "part", "value"]].to_csv(long_csv, index=False)
    pd.testing.assert_series_equal(overall(compare(long_csv)), overall(from_obj))


def test_bad_long_csv_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("city,year,code,value\nA,2022,EC: ICT: ICT: 99C,5\n", encoding="utf-8")
    with pytest.raises(CompareError, match=r"bad\.csv: unknown KPI code .*ICT: 99C.*ssc catalogue"):
        compare(bad)
    bad.write_text("city,year,code,value\nA,2022,EC: ICT: ICT: 1C,lots\n", encoding="utf-8")
    with pytest.raises(CompareError, match=r"bad\.csv: values that are not numbers at row 2 \('lots'\)"):
        compare(bad)
    bad.write_text("city,year,code,value\nA,2022,EN: EN: AQ: 1C,5\n", encoding="utf-8")
    with pytest.raises(CompareError, match="scored per data point; add a 'part' column naming one of pm10"):
        compare(bad)
    bad.write_text("city,year,code,value\nA,2022,EC: ICT: ICT: 1C,5\nA,2022,ec:ict:ict:1c,6\n", encoding="utf-8")
    with pytest.raises(CompareError, match="twice"):
        compare(bad)
    with pytest.raises(CompareError, match="no such file"):
        compare(tmp_path / "missing.csv")


def test_not_reported_spellings_and_numbers_with_spaces(tmp_path):
    f = tmp_path / "v.csv"
    f.write_text("city,year,kpi_code,value\nA,2020,EC: ICT: ICT: 3C,95 424\nA,2020,EC: ICT: ICT: 1C,NR\n",
                 encoding="utf-8")
    comp = compare(f)
    k = comp.kpis.set_index("code")
    assert k.loc["EC: ICT: ICT: 3C", "value"] == 95424 and not k.loc["EC: ICT: ICT: 1C", "reported"]


def test_thousands_and_decimal_commas_read_as_at_intake(tmp_path):
    # '1,500' reads as 1500 with a thousands comma and as 1.5 with a decimal comma: refused, naming its row
    f = tmp_path / "commas.csv"
    f.write_text('city,year,code,value\nA,2022,EC: ICT: ICT: 3C,1500\nB,2022,EC: ICT: ICT: 3C,"1,500"\n',
                 encoding="utf-8")
    with pytest.raises(CompareError, match=r"commas\.csv: row 3 \('1,500'\) could be read two ways"):
        kpis.compare(f)
    f.write_text('city,year,code,value\nA,2022,EC: ICT: ICT: 3C,1 500\nB,2022,EC: ICT: ICT: 3C,1500\n'
                 'C,2022,EC: ICT: ICT: 3C,"1,5"\n', encoding="utf-8")
    tidy = kpis.compare(f).kpis
    tidy = tidy[tidy["code"] == "EC: ICT: ICT: 3C"].set_index("city")
    assert tidy.loc["A", "value"] == 1500 and tidy.loc["B", "value"] == 1500
    assert tidy.loc["C", "value"] == 1.5


def test_ranking_bands_a_score_on_an_edge_as_the_scores_do():
    # 3 + 4 + 4 + 4 + 4 points of 20 = exactly 95 % in ICT Infrastructure: band 95+, in the scores and the ranking.
    # The float32 draws used to band with their own edge rule: their 0.95 came out as 0.9499999881, so this rank
    # showed 66-95 while the scores said 95+. Now every band goes through `rules.band_of` (one tolerance).
    at_target = [(HOUSEHOLD_INTERNET, "", 100), (BROADBAND, "", 60), ("EC: ICT: ICT: 3C", "", 100_000),
                 ("EC: ICT: ICT: 4C", "coverage_3g", 100), ("EC: ICT: ICT: 4C", "coverage_4g", 100)]
    rows = [("Full", *point) for point in at_target] + [("Edge", HOUSEHOLD_INTERNET, "", 70)]
    rows += [("Edge", *point) for point in at_target[1:]]
    comp = compare(pd.DataFrame(rows, columns=["city", "code", "part", "value"]).assign(year=2022))
    assert comp.table("category", "score").loc["Edge", "ICT Infrastructure"] == pytest.approx(95.0)
    assert comp.table("category", "band").loc["Edge", "ICT Infrastructure"] == "95+"
    tab = comp.rank("category", draws=20).table.set_index(["group", "city"])
    assert tab.loc[("ICT Infrastructure", "Edge"), "ranking_score"] == pytest.approx(95.0)
    assert tab.loc[("ICT Infrastructure", "Edge"), "band"] == "95+"


def test_html_is_escaped_with_band_colours():
    evil = "<script>alert(1)</script>"
    comp = compare(frame([(evil, 2022, HOUSEHOLD_INTERNET, 100)]))
    out = comp._repr_html_()
    assert "<script" not in out and "&lt;script&gt;" in out
    assert "background-color:#1a9850" in out  # 95+ band colour
    r = comp.rank(draws=5)
    assert "<script" not in r._repr_html_()


def test_package_level_compare_and_catalogue_are_plain_functions():
    importlib.import_module("kpis.comparison")
    importlib.import_module("kpis.library")
    assert inspect.isfunction(kpis.compare) and inspect.isfunction(kpis.catalogue)
    assert len(kpis.catalogue()) == 91
    comp = kpis.compare(frame([("A", 2022, HOUSEHOLD_INTERNET, 100)]))
    assert comp.cities == ["A"]


def test_cli_compare_writes_the_report(tmp_path):
    from kpis.cli import main

    data = cities(4, seed=7, years=2)
    data.loc[data["city"] == data["city"].iloc[0], "city"] = "=HYPERLINK(\"x\")<img src=x onerror=alert(1)>"
    src = tmp_path / "cities.csv"
    data.to_csv(src, index=False)
    out = tmp_path / "out"
    assert main(["compare", str(src), "--out", str(out), "--group-by", "region"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Comparison of 4 cities" in page and "<svg" in page and '<html lang="en" dir="ltr">' in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "4 of the cities are invented" in page
    ranking = pd.read_csv(out / "ranking.csv")
    assert (ranking["rank_low"] <= ranking["rank_high"]).all()
    assert (pd.read_csv(out / "scores.csv")["city"].str.startswith("'=")).any()  # formula made inert
    assert main(["compare", str(tmp_path / "nope.csv"), "--out", str(out)]) == 1
