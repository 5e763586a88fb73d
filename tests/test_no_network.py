"""Printing a report to PDF attempts no network access: the browser's own services are quiet or point nowhere, and
every request of the page that is not the report file is aborted. The kernel's record (strace) is the witness."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nettrace import attempts, traced

from kpis.render import find_chromium

pytestmark = pytest.mark.browser

SECRET = "SECRET-LOCAL-FILE-5e1f"

# A report that asks for everything a page can fetch: images, styles, fonts, frames, prefetches, pings, another
# local file. Nothing of it may be fetched, and the local file must not appear in the PDF.
HOSTILE_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="https://styles.example.com/a.css">
<link rel="dns-prefetch" href="//prefetch.example.net"><link rel="preconnect" href="https://preconnect.example.org">
<link rel="prefetch" href="http://198.51.100.7/next.html"><link rel="icon" href="http://icons.example.com/i.ico">
<style>@import url("https://import.example.com/b.css");
@font-face { font-family: X; src: url("https://fonts.example.com/x.woff2"); } body { font-family: X, sans-serif; }
.bg { background: url("http://203.0.113.9/bg.png"); }</style></head>
<body class="bg"><h1>Report of $\\frac{a}{b}$</h1>
<img src="http://images.example.com/chart.png" alt="chart"><img src="https://[2001:db8::1]/x.png" alt="v6">
<iframe src="SECRET_URL"></iframe><iframe src="https://frames.example.com/"></iframe>
<a href="https://link.example.com/" ping="https://ping.example.com/">a link (not followed)</a>
<video src="https://media.example.com/v.mp4"></video><object data="https://objects.example.com/o.pdf"></object>
</body></html>"""

PRINT = (
    "import sys\nfrom pathlib import Path\nfrom kpis.render import browser, html_to_pdf\n"
    "with browser() as chromium:\n"
    "    html_to_pdf(chromium, Path(sys.argv[1]), Path(sys.argv[2]))\n"
)


def test_the_detector_sees_an_attempt(tmp_path):
    """The witness works: a UDP socket connected to a documentation address (no packet is sent) is recorded,
    a loopback connection is not, a loopback DNS query is."""
    log = tmp_path / "trace.log"
    code = ("import socket\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(('192.0.2.1', 443))\n"
            "v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.connect(('2001:db8::2', 443))\n"
            "t = socket.socket(); t.settimeout(1)\n"
            "try:\n    t.connect(('127.0.0.1', 9))\nexcept OSError:\n    pass\n"
            "d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.sendto(b'q', ('127.0.0.53', 53))\n")
    proc = traced([sys.executable, "-c", code], log, timeout=60)
    assert proc.returncode == 0, proc.stderr
    found = attempts(log)
    assert any(a.startswith("192.0.2.1 port 443") for a in found), found
    assert any(a.startswith("2001:db8::2 port 443") for a in found), found
    assert any(a.startswith("127.0.0.53 port 53") for a in found), found
    assert not any(a.startswith("127.0.0.1 port 9") for a in found), found


def _print_traced(tmp_path: Path, exe: str) -> tuple[list[str], Path]:
    secret = tmp_path / "secret.html"
    secret.write_text(f"<p>{SECRET}</p>", encoding="utf-8")
    page = tmp_path / "report.html"
    page.write_text(HOSTILE_PAGE.replace("SECRET_URL", secret.as_uri()), encoding="utf-8")
    pdf, log = tmp_path / "report.pdf", tmp_path / "trace.log"
    proc = traced([sys.executable, "-c", PRINT, str(page), str(pdf)], log, timeout=90,
                  env={**os.environ, "SSC_CHROMIUM": exe})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Report of $\\frac{a}{b}$" in text and SECRET not in text  # the page printed; the other file did not load
    return attempts(log), log


def test_printing_attempts_no_network(tmp_path):
    """The browser the product picks (the headless shell when installed) prints a page full of outside references
    and attempts nothing at all: no DNS query, no connection, no UDP socket to a resolver."""
    exe = find_chromium()
    assert exe, "this test needs Chromium: apt-get install chromium-headless-shell (CI's .ci/run installs it)"
    found, _ = _print_traced(tmp_path, exe)
    assert found == [], f"{exe} attempted the network:\n" + "\n".join(found)


def test_full_chromium_makes_no_lookup_and_no_connection(tmp_path):
    """A full Chromium (used when no headless shell is installed) resolves no name and connects nowhere: sign-in and
    the component updater point nowhere. The one call left is its IPv6 route check, a UDP socket connected to
    2001:4860:4860::8888 port 443 that sends no packet; it is named here so that anything else fails."""
    exe = shutil.which("chromium")
    assert exe, "this test needs Debian's chromium: apt-get install chromium (CI's .ci/run installs it)"
    found, _ = _print_traced(tmp_path, exe)
    rest = [a for a in found if not a.startswith("2001:4860:4860::8888 port 443:")]
    assert rest == [], f"{exe} attempted the network:\n" + "\n".join(rest)
