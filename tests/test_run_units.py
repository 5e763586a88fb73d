"""Pieces of the batch runner that guard safety: folder names, notebook parameters, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kpis.parameters import check_parameters, notebook_parameters
from kpis.paths import MAX_FOLDER_BYTES, atomic_write, bundled, name_hash, slugify


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Karmøy (Norway)", "karmoy-norway"),
        ("Demo City (invented data)", "demo-city-invented-data"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", "city"),
        ("a/b\\c", "a-b-c"),
        ("CON", "city-con"),
        ("lpt1", "city-lpt1"),
        ("<img src=x onerror=alert(1)>", "img-src-x-onerror-alert-1"),
        ("   ", "city"),
        ("São Paulo", "sao-paulo"),
        ("x" * 200, "x" * 51 + "-" + name_hash("x" * 200)),
        ("北京", "北京"),
        ("القاهرة", "القاهرة"),
        ("Αθήνα", "αθήνα"),
        ("दिल्ली", "दिल्ली"),
        ("Hà Nội", "ha-noi"),
        ("COM¹", "city-com1"),
        ("a\x00b\u202ec", "a-b-c"),
    ],
)
def test_city_names_become_safe_folder_names(name, slug):
    assert slugify(name) == slug
    assert "/" not in slugify(name) and "\\" not in slugify(name) and ".." not in slugify(name)
    assert len(slugify(name).encode("utf-8")) <= MAX_FOLDER_BYTES


def test_notebook_declares_its_parameters():
    params = notebook_parameters(bundled("notebooks", "city_assessment.ipynb"))
    assert set(params) == {"submission", "targets", "language", "decimal_separator", "scored"}


def test_parameters_are_checked_against_the_notebook():
    allowed = {"submission": {}, "targets": {}}
    assert check_parameters({"submission": "a.xlsx", "targets": ""}, allowed) == {"submission": "a.xlsx",
                                                                                   "targets": ""}
    with pytest.raises(ValueError, match="not declared"):
        check_parameters({"x = 1\nimport os #": "v"}, allowed)
    with pytest.raises(ValueError, match="not declared"):
        check_parameters({"city": "v"}, allowed)
    assert check_parameters({"submission": ["a", 1, None]}, allowed) == {"submission": ["a", 1, None]}
    with pytest.raises(TypeError, match="plain string"):
        check_parameters({"submission": [object()]}, allowed)
    with pytest.raises(TypeError, match="plain string"):
        check_parameters({"submission": {"a": 1}}, allowed)
    with pytest.raises(TypeError, match="plain string"):
        check_parameters({"submission": object()}, allowed)
    with pytest.raises(ValueError, match="not a finite number"):
        check_parameters({"submission": float("nan")}, allowed)


def test_hostile_string_values_stay_data():
    allowed = {"submission": {}}
    hostile = '"; import os; os.system("echo pwned") #\n\'\'\''
    assert check_parameters({"submission": hostile}, allowed)["submission"] == hostile


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out" / "report.html"
    atomic_write(target, "<p>one</p>")
    assert target.read_text() == "<p>one</p>"

    # a failing write keeps the previous file and leaves no temporary behind
    real_fdopen = os.fdopen

    def failing_fdopen(fd, mode):
        fh = real_fdopen(fd, mode)
        fh.write = lambda data: (_ for _ in ()).throw(OSError("disk full"))
        return fh

    monkeypatch.setattr(os, "fdopen", failing_fdopen)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "<p>two</p>")
    monkeypatch.undo()
    assert target.read_text() == "<p>one</p>"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_numbers_follow_the_chosen_decimal_separator():
    from kpis.report import NumberFormat

    assert NumberFormat(".")(70.94, "%") == "70.9 %"
    assert NumberFormat(",")(70.94, "%") == "70,9 %"
    assert NumberFormat(",")(118000, "per 100 000 inhabitants") == "118\u202f000 per 100 000 inhabitants"
    assert NumberFormat(".")(0.314, "index (0-1)") == "0.314 index (0-1)"
    assert NumberFormat(".")(None, "%") == "–"


def test_unknown_decimal_separator_is_refused(tmp_path):
    from kpis.errors import UserError
    from kpis.run import assess

    with pytest.raises(UserError, match="decimal separator"):
        assess(None, out=tmp_path, decimal_separator=";", progress=False)


@pytest.mark.parametrize("command", [["template", "{d}/x.xlsx"], ["assess", "--out", "{d}/r"],
                                     ["compare", "--out", "{d}/c"], ["validate", "{d}/in.xlsx", "--html",
                                                                      "{d}/report.html"]])
def test_unwritable_output_is_a_clear_message(tmp_path, command):
    import subprocess
    import sys

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder is expected")
    args = [a.format(d=blocked) for a in command]
    proc = subprocess.run([sys.executable, "-m", "kpis.cli", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert str(blocked) in proc.stderr


def test_code_fingerprint_is_the_same_for_a_checkout_and_an_installed_copy(tmp_path):
    """A report made by the installed `ssc` is skipped by a re-run from a checkout of the same code, and back."""
    import subprocess
    import sys

    from kpis.parameters import code_fingerprint

    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(tmp_path / "site"), str(root)], check=True, capture_output=True, timeout=300)
    probe = "from kpis.parameters import code_fingerprint; print(code_fingerprint())"
    installed = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, check=True).stdout.strip()
    assert installed == code_fingerprint()


def test_a_signal_inside_a_deferred_block_takes_effect_when_it_ends():
    """A city back from its worker is written whole (HTML, then manifest); Ctrl-C during that is not lost."""
    import os
    import signal

    from kpis.batch import signals_deferred

    steps = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("html")
            steps.append("manifest")
    assert steps == ["html", "manifest"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_pool_forks_only_a_process_without_threads_or_event_loop():
    """`ssc assess` forks its workers (no interpreter start); from a process with another thread (JupyterLab's
    kernel, a Playwright session) or inside a running event loop they are spawned."""
    import asyncio
    import subprocess
    import sys
    import threading

    from kpis.batch import start_method

    plain = subprocess.run([sys.executable, "-c", "from kpis.batch import start_method; print(start_method())"],
                           capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert plain == ("fork" if sys.platform.startswith("linux") else "spawn")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_method() == "spawn"
    finally:
        stop.set()
        other.join()

    async def inside_a_loop() -> str:
        return start_method()

    assert asyncio.run(inside_a_loop()) == "spawn"
