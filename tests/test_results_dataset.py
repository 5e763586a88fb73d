"""The partitioned results dataset: one parquet file per city-year, read by `kpis.compare` lazily (the columns it
needs, the year asked for) with the same results as comparing the submissions themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from adversarial import attack

import kpis
from kpis.comparison import compare
from kpis.errors import UserError
from kpis.paths import bundled, demo_city
from kpis.results import DATASET_MARKER, read_dataset, write_dataset_part
from kpis.validation import read_submission

FILES = [demo_city(), *sorted(bundled("data", "cities").glob("*.xlsx"))]


@pytest.fixture(scope="module")
def scored() -> list[kpis.Results]:
    return [kpis.score(read_submission(f)) for f in FILES]


@pytest.fixture
def dataset(tmp_path, scored) -> Path:
    folder = tmp_path / "dataset"
    for res in scored:
        write_dataset_part(res, folder)
    return folder


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns[:4])).reset_index(drop=True)


def test_comparing_the_dataset_equals_comparing_the_submissions(dataset, scored):
    parts = sorted(p.relative_to(dataset).as_posix() for p in dataset.rglob("*.parquet"))
    assert len(parts) == len(FILES) and all(p.startswith("year=") for p in parts)
    assert json.loads((dataset / DATASET_MARKER).read_text())["format"] == "ssc-kpis results dataset"
    direct, lazy = compare(FILES), compare(dataset)
    pd.testing.assert_frame_equal(_sorted(direct.scores), _sorted(lazy.scores))
    pd.testing.assert_frame_equal(direct.coverage.sort_index(), lazy.coverage.sort_index())
    pd.testing.assert_frame_equal(direct.profiles, lazy.profiles, check_dtype=False)
    assert lazy.profiles.set_index("city").loc["Demo City (invented data)", "population"] > 0
    table = read_dataset(dataset, ["city", "year", "value"])
    assert list(table.columns) == ["city", "year", "value"] and len(table) == sum(len(r.kpis) for r in scored)


def test_a_year_is_read_without_opening_other_years_files(dataset):
    years = {int(p.parent.name.split("=")[1]) for p in dataset.rglob("*.parquet")}
    one = min(years)
    for part in dataset.rglob("*.parquet"):
        if part.parent.name != f"year={one}":
            part.write_bytes(b"not parquet")  # opening it would fail
    comp = compare(dataset, year=one)
    assert set(comp.profiles["year"]) == {one} and len(comp.profiles) >= 1
    with pytest.raises(UserError, match="alesund|bizerte|karmoy|moscow|rana|demo-city"):
        compare(dataset)


def test_writing_a_city_year_again_replaces_its_part(dataset, scored):
    before = sorted(dataset.rglob("*.parquet"))
    write_dataset_part(scored[0], dataset)
    assert sorted(dataset.rglob("*.parquet")) == before
    assert not list(dataset.rglob("*.part"))
    assert len(compare(dataset).profiles) == len(FILES)


def test_a_folder_holding_a_dataset_is_read_as_one_input(tmp_path, scored):
    write_dataset_part(scored[1], tmp_path / "all" / "dataset")
    comp = compare(tmp_path / "all")
    assert list(comp.profiles["city"]) == [scored[1].coverage["city"].iloc[0]]


def test_a_broken_part_is_named_on_the_command_line(dataset, tmp_path):
    next(iter(dataset.rglob("*.parquet"))).write_bytes(b"PAR1 broken")
    attack("compare", str(dataset), "--out", str(tmp_path / "out"), cwd=tmp_path, out=tmp_path / "out",
           inputs=list(dataset.rglob("*.parquet")), message="cannot be read", within=60)


def test_a_batch_writes_the_dataset_that_compare_reads(tmp_path):
    """`ssc assess` leaves one part per city-year in out/_dataset; the comparison reads the batch from it alone."""
    from kpis import synthetic
    from kpis.outdir import DATASET_FOLDER
    from kpis.run import assess

    inputs = synthetic.write_workbooks(synthetic.cities(3, seed=11), tmp_path / "in")
    result = assess(inputs, out=tmp_path / "reports", progress=False, jobs=2)
    assert result.exit_code == 0, [(r.status, r.reason) for r in result.runs]
    folder = tmp_path / "reports" / DATASET_FOLDER
    assert len(list(folder.glob("year=*/*.parquet"))) == 3
    comp = compare(folder)
    assert sorted(comp.profiles["city"]) == ["Invented city 0001", "Invented city 0002", "Invented city 0003"]
    # by hand: Invented city 0001 wrote 98.4296 % of households with Internet access (EC: ICT: ICT: 1C, the
    # workbook keeps 4 decimals of 98.429605); the default target is 100 %, so it reaches 98.4296 %: band 95+
    row = comp.kpis[(comp.kpis["city"] == "Invented city 0001") & (comp.kpis["code"] == "EC: ICT: ICT: 1C")].iloc[0]
    assert (row["value"], row["target"], row["achievement"], row["band"]) == (98.4296, 100.0, 98.4296, "95+")
    # the batch's output folder itself: read through its dataset, each city-year once (not again from results.xlsx)
    whole = compare(tmp_path / "reports")
    assert sorted(whole.profiles["city"]) == sorted(comp.profiles["city"])
    assert len(whole.kpis) == len(comp.kpis)
