"""Hostile --scheduler values: refused at once with one line, nothing written, no traceback."""

from __future__ import annotations

import pytest
from adversarial import attack

from kpis.paths import demo_city


@pytest.mark.parametrize(("address", "message"), [
    ("nonsense", "--scheduler nonsense: cannot reach the Dask scheduler (missing port number"),
    ("tcp://127.0.0.1:notaport", "cannot reach the Dask scheduler"),
])
def test_a_bad_scheduler_address_is_refused_at_once(tmp_path, address, message):
    out = tmp_path / "out"
    attack("assess", str(demo_city()), "--out", str(out), "--scheduler", address, cwd=tmp_path, out=out,
           inputs=[demo_city()], message=message, within=15)
    assert not out.exists()
