"""Attacks on the output folder, option values, odd file names and non-finite formula results (issue 13, part 2).

Each class is one parametrised case run through `adversarial.attack` (a child `ssc` process: exit code, message, no
traceback, time bound, nothing written outside --out, inputs unchanged, no .part files). Cases that need a city to
finish (folder names) call `kpis.assess` with an executor that stands in for the report renderer, so that they
check where results.xlsx and the manifests go without paying ~10 s per report.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
from adversarial import attack

import kpis
from kpis.paths import MAX_FOLDER_BYTES, bundled

DEMO = bundled("data", "demo_city.xlsx")
DEMO_FOLDER = "demo-city-invented-data"


def workbook(path: Path, city: str | None = None, cells: dict[str, float] | None = None) -> Path:
    """The demo workbook with another city name and/or other Data cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if city is None and not cells:
        shutil.copyfile(DEMO, path)
        return path
    wb = openpyxl.load_workbook(DEMO)
    if city is not None:
        wb["Profile"]["B2"] = city
    for ref, value in (cells or {}).items():
        wb["Data"][ref] = value
    wb.save(path)
    return path


# ---------------------------------------------------------------- the output folder, through `ssc`


def _link_at_results(tmp: Path) -> dict:
    victim = tmp / "outside" / "victim.xlsx"
    victim.parent.mkdir()
    victim.write_bytes(b"not yours")
    city_dir = tmp / "out" / DEMO_FOLDER / "2024"
    city_dir.mkdir(parents=True)
    (city_dir / "results.xlsx").symlink_to(victim)
    return {"args": ["assess", str(workbook(tmp / "in" / "city.xlsx")), "--out", str(tmp / "out")],
            "inputs": [victim], "message": "symbolic link"}


def _link_at_temp_name(tmp: Path) -> dict:
    """Links planted at every temporary name an older ssc used: never followed (the real names are random)."""
    victim = tmp / "outside" / "victim.html"
    victim.parent.mkdir()
    victim.write_text("not yours")
    out = tmp / "out"
    out.mkdir()
    for name in (".report.html.tmp", ".report.html.swp", "report.html~"):  # (.part names: see the assess test below)
        (out / name).symlink_to(victim)
    return {"args": ["validate", str(workbook(tmp / "in" / "city.xlsx")), "--html", str(out / "report.html")],
            "inputs": [victim], "code": 0, "message": "HTML report written",
            "after": lambda: (out / "report.html").is_file() and not (out / "report.html").is_symlink()}


def _submission_inside_out(tmp: Path) -> dict:
    inside = workbook(tmp / "out" / DEMO_FOLDER / "2024" / "results.xlsx")
    return {"args": ["assess", str(inside), "--out", str(tmp / "out")], "inputs": [inside],
            "message": "would be overwritten"}


def _targets_inside_out(tmp: Path) -> dict:
    targets = tmp / "out" / "manifest.json"
    targets.parent.mkdir()
    targets.write_text("{}")
    return {"args": ["assess", str(workbook(tmp / "in" / "city.xlsx")), "--out", str(tmp / "out"), "--targets",
                     str(targets)], "inputs": [targets], "message": "would be overwritten"}


def _locked(command: str) -> Callable[[Path], dict]:
    def case(tmp: Path) -> dict:
        out = tmp / "out"
        out.mkdir()
        fd = os.open(out / ".ssc.lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"4242\n")
        return {"args": [command, str(workbook(tmp / "in" / "city.xlsx")), "--out", str(out)], "hold": fd,
                "message": f"another ssc run is writing to {out} (pid 4242)", "within": 5 if command == "assess" else 25}
    return case


def _special_output(kind: str) -> Callable[[Path], dict]:
    def case(tmp: Path) -> dict:
        out = tmp / "out"
        out.mkdir()
        node = out / "report.html"
        if kind == "fifo":
            os.mkfifo(node)
        elif kind == "folder":
            node.mkdir()
        else:  # a device node (as root, like /dev/null); else a link to /dev/null
            try:
                os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            except PermissionError:
                node.symlink_to("/dev/null")
        mode = os.lstat(node).st_mode
        return {"args": ["validate", str(workbook(tmp / "in" / "city.xlsx")), "--html", str(node)],
                "message": "symbolic link" if stat.S_ISLNK(mode) else "is not a regular file", "within": 10,
                "after": lambda: os.lstat(node).st_mode == mode}
    return case


def _out_is_file(command: str) -> Callable[[Path], dict]:
    def case(tmp: Path) -> dict:
        out = tmp / "out"
        out.write_text("a file")
        return {"args": [command, str(workbook(tmp / "in" / "city.xlsx")), "--out", str(out)], "inputs": [out],
                "message": f"--out {out} is a file; give a folder", "within": 25}
    return case


def _folder_input(command: str) -> Callable[[Path], dict]:
    def case(tmp: Path) -> dict:
        folder = tmp / "in" / "city.xlsx"
        folder.mkdir(parents=True)
        args = [command, str(folder)] + (["--out", str(tmp / "out")] if command == "assess" else [])
        return {"args": args, "message": "is a folder" if command == "assess" else "not a regular file (a folder"}
    return case


def _odd_byte_name(command: str) -> Callable[[Path], dict]:
    """A file name with the byte \\xff (not UTF-8): named in the message, written escaped in the manifest."""
    def case(tmp: Path) -> dict:
        name = os.fsdecode(b"city-\xff.xlsx")
        path = workbook(tmp / "in" / name, cells={"H4": 1e308, "K4": 1e-308})  # refused: no report to render
        args = [command, str(path)] + (["--out", str(tmp / "out")] if command == "assess" else [])

        def manifest_names_the_file() -> bool:
            if command != "assess":
                return True
            doc = json.loads((tmp / "out" / "manifest.json").read_text(encoding="utf-8"))
            return doc["cities"][0]["input"] == str(path) and doc["cities"][0]["status"] == "invalid"
        return {"args": args, "inputs": [path], "message": "city-", "after": manifest_names_the_file}
    return case


def _bad_option(option: str, value: str, says: str) -> Callable[[Path], dict]:
    def case(tmp: Path) -> dict:
        return {"args": ["assess", str(workbook(tmp / "in" / "city.xlsx")), "--out", str(tmp / "out"), option,
                         value], "message": says, "within": 5, "after": lambda: not (tmp / "out").exists()}
    return case


def _non_finite_results(tmp: Path) -> dict:
    """Ratios whose result overflows (1e308 / 1e-308) or whose denominator is subnormal (1e-320): an error naming
    the cell in each file, never band 95+ with a warning."""
    files = [workbook(tmp / "in" / f"city-{i}.xlsx", cells={"H4": num, "K4": den})
             for i, (num, den) in enumerate([(1e308, 1e-308), (295000, 1e-320)])]
    said = "Data!H4 [EC: ICT: ICT: 3C]: the inputs give a result too large to be a number"
    return {"args": ["validate", *map(str, files)], "inputs": files, "message": said,
            "said": [f"city-{i}.xlsx {said}" for i in range(2)] + ["city-0.xlsx: NOT USABLE", "city-1.xlsx: NOT USABLE"]}


CASES: dict[str, Callable[[Path], dict]] = {
    "symlink at results.xlsx pointing outside --out": _link_at_results,
    "symlinks planted at temporary names": _link_at_temp_name,
    "submission inside --out at <city>/<year>/results.xlsx": _submission_inside_out,
    "targets file at --out/manifest.json": _targets_inside_out,
    "assess while another run holds the lock": _locked("assess"),
    "compare while another run holds the lock": _locked("compare"),
    "--html onto a device node": _special_output("device"),
    "--html onto a FIFO": _special_output("fifo"),
    "--html onto a folder": _special_output("folder"),
    "assess --out is a file": _out_is_file("assess"),
    "compare --out is a file": _out_is_file("compare"),
    "assess a folder as input": _folder_input("assess"),
    "validate a folder as input": _folder_input("validate"),
    "assess a file name with byte xff": _odd_byte_name("assess"),
    "validate a file name with byte xff": _odd_byte_name("validate"),
    "--timeout inf": _bad_option("--timeout", "inf", "'inf' seconds: give a number above 0"),
    "--timeout 1e300": _bad_option("--timeout", "1e300", "at most 86400"),
    "--timeout -1": _bad_option("--timeout", "-1", "give a number above 0"),
    "--timeout nan": _bad_option("--timeout", "nan", "give a number above 0"),
    "--timeout text": _bad_option("--timeout", "soon", "is not a number of seconds"),
    "--jobs 0": _bad_option("--jobs", "0", "give a number from 1"),
    "formula results that are not finite": _non_finite_results,
}


@pytest.mark.parametrize("name", list(CASES))
def test_output_attack(name, tmp_path):
    case = CASES[name](tmp_path)
    try:
        outcome = attack(*case["args"], cwd=tmp_path, out=tmp_path / "out", inputs=case.get("inputs", ()),
                         expect_code=case.get("code", 1), message=case["message"], within=case.get("within", 20))
    finally:
        if "hold" in case:
            os.close(case["hold"])
    for text in case.get("said", []):
        assert text in outcome.stdout + outcome.stderr, text
    assert case.get("after", lambda: True)(), f"{name}: the output folder is not as it should be"


# ---------------------------------------------------------------- folder names, through kpis.assess


class NoReport(Executor):
    """Runs each city's worker job here and now (read, folder, score, results.xlsx), with the report renderer
    standing in: every city 'renders' at once."""

    _max_workers = 1

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        done: Future = Future()
        with mock.patch("kpis.run.render_city", lambda *a, **k: {"render_s": 0.0}):
            done.set_result(fn(*args, **kwargs))
        return done


def _no_html(run) -> None:
    """The collector's HTML step, standing in with the renderer: there is no executed notebook to convert."""


def _run(files: list[Path], out: Path) -> dict[str, str]:
    """Assess `files` into `out`; returns city name → folder, checked against the top-level manifest."""
    with mock.patch("kpis.run._write_html", _no_html):
        result = kpis.assess(files, out=out, executor=NoReport(), progress=False)
    assert [r.status for r in result.runs] == ["ok"] * len(files), [r.reason for r in result.runs]
    folders = {r.city: r.slug for r in result.runs}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {k: manifest["folders"][k] for k in folders} == folders
    for r in result.runs:
        assert (out / r.slug / str(r.year) / "results.xlsx").is_file()
        assert json.loads((out / r.slug / str(r.year) / "manifest.json").read_text(encoding="utf-8"))["city"] == r.city
    return folders


PREFIX = "Municipality of the Greater Metropolitan Region of Somewhere Very Long "


@pytest.mark.parametrize(("batches", "readable"), [
    ([["北京", "東京", "القاهرة"]], {"北京": "北京", "東京": "東京", "القاهرة": "القاهرة"}),
    ([["北京"], ["東京"], ["القاهرة"]], {"北京": "北京", "東京": "東京", "القاهرة": "القاهرة"}),
    ([[PREFIX + "North", PREFIX + "South"]], {}),
    ([["Springfield (IL)", "!!!", "???"], ["Springfield, IL", "?!"]], {"Springfield (IL)": "springfield-il", "!!!": "city"}),
], ids=["non-Latin names in one batch", "non-Latin names across runs", "names sharing their first 70 characters",
        "two names for one folder, in a batch and across runs"])
def test_different_cities_never_share_a_folder(batches, readable, tmp_path):
    out = tmp_path / "out"
    seen: dict[str, str] = {}
    for i, names in enumerate(batches):
        files = [workbook(tmp_path / "in" / f"{i}-{j}.xlsx", city=name) for j, name in enumerate(names)]
        before = {f: f.read_bytes() for f in files}
        earlier = {p: p.read_bytes() for p in out.rglob("results.xlsx")} if out.exists() else {}
        seen.update(_run(files, out))
        assert all(f.read_bytes() == data for f, data in before.items()), "an input was modified"
        assert all(p.read_bytes() == data for p, data in earlier.items()), "an earlier city's results were replaced"
    assert len(set(seen.values())) == len(seen), seen
    assert all(len(folder.encode("utf-8")) <= MAX_FOLDER_BYTES for folder in seen.values()), seen
    assert {k: seen[k] for k in readable} == readable
    final = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["folders"]
    assert {k: final[k] for k in seen} == seen, "the manifest forgot an earlier run's city"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"], "written outside --out"


def test_a_rerun_of_the_same_city_keeps_its_folder(tmp_path):
    """Names differing only in case, spacing or Unicode form are one city: its folder is reused, not hashed."""
    out = tmp_path / "out"
    first = _run([workbook(tmp_path / "a.xlsx", city="São  Paulo")], out)
    second = _run([workbook(tmp_path / "b.xlsx", city="SA\u0303O PAULO")], out)
    assert list(first.values()) == list(second.values()) == ["sao-paulo"]


def test_links_at_temporary_names_in_a_city_folder_are_never_followed(tmp_path):
    victim = tmp_path / "victim.xlsx"
    victim.write_bytes(b"not yours")
    city_dir = tmp_path / "out" / DEMO_FOLDER / "2024"
    city_dir.mkdir(parents=True)
    for name in (".results.xlsx.part", ".results.xlsx.tmp", ".manifest.json.part", ".report.html.part"):
        (city_dir / name).symlink_to(victim)
    _run([workbook(tmp_path / "in" / "city.xlsx")], tmp_path / "out")
    assert victim.read_bytes() == b"not yours"
    assert (city_dir / "results.xlsx").is_file() and not (city_dir / "results.xlsx").is_symlink()
    assert not [p for p in city_dir.iterdir() if p.name.endswith(".part") and not p.is_symlink()]


def test_workers_racing_for_one_folder_agree_through_the_file_system(tmp_path):
    """Cities are read in the workers: four threads at once, two names sharing a folder name and one city sent
    twice. Different names get different folders, the same name the same folder (its second copy refused)."""
    names = ["Springfield (IL)", "Springfield, IL", "springfield  (IL)", "Springfield; IL"]
    files = [workbook(tmp_path / "in" / f"{i}.xlsx", city=name) for i, name in enumerate(names)]
    out = tmp_path / "out"
    with mock.patch("kpis.run.render_city", lambda *a, **k: {"render_s": 0.0}), \
            mock.patch("kpis.run._write_html", _no_html), ThreadPoolExecutor(4) as pool:
        result = kpis.assess(files, out=out, executor=pool, progress=False)
    by_name = {r.city: r for r in result.runs}
    assert sorted(r.status for r in result.runs) == ["invalid", "ok", "ok", "ok"], [r.reason for r in result.runs]
    twice = [r for r in result.runs if r.status == "invalid"][0]
    assert twice.city in {"Springfield (IL)", "springfield  (IL)"} and "appears twice" in twice.reason
    ok = [r for r in result.runs if r.status == "ok"]
    assert len({r.slug for r in ok}) == 3 and "springfield-il" in {r.slug for r in ok}
    for r in ok:
        assert (out / r.slug / ".ssc-name").read_text(encoding="utf-8") == " ".join(r.city.casefold().split())
    folders = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["folders"]
    assert {k: folders[k] for k in ("Springfield, IL", "Springfield; IL")} == {
        k: by_name[k].slug for k in ("Springfield, IL", "Springfield; IL")}
    assert not list(out.rglob("*.part")) and not list(out.rglob(".ssc-claim-*"))


def test_an_earlier_runs_folder_without_a_marker_stays_its_citys(tmp_path):
    """A folder made before markers existed is known from its manifest: another name is given the hashed folder."""
    out = tmp_path / "out"
    old = out / "city" / "2024"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text(json.dumps({"city": "!!!", "year": 2024, "status": "ok"}), encoding="utf-8")
    (old / "results.xlsx").write_bytes(b"an earlier city's results")
    folders = _run([workbook(tmp_path / "in" / "q.xlsx", city="???")], out)
    assert folders["???"].startswith("city-") and (old / "results.xlsx").read_bytes() == b"an earlier city's results"
    assert _run([workbook(tmp_path / "in" / "x.xlsx", city="!!!")], out) == {"!!!": "city"}
