"""The standing adversarial harness: run `ssc` on a hostile case and check what every refusal must satisfy.

Every attack class in tests/test_adversarial_*.py builds its files in tmp_path and calls `attack(...)`. The checks
are the same for all of them: the exit code, one clear message naming the problem, no traceback, an answer within
a time bound, no file written outside the output folder, inputs unchanged, and no partial (".part") outputs.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|this is a bug|^\s+File \"", re.M)


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def _snapshot(root: Path) -> dict[str, str]:
    """Path → sha256 (or the link target, or a marker for special files) of everything under root."""
    seen: dict[str, str] = {}
    if not root.exists():
        return seen
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                seen[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                seen[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif not p.is_dir():
                seen[rel] = "special"
    return seen


# Runs the CLI as __main__ and, at exit, writes the process's own peak resident memory (KB) to SSC_PEAK_FILE.
_WRAP = (
    "import atexit, os, resource, runpy, sys\n"
    "def _peak():\n"  # VmHWM belongs to this program's memory: ru_maxrss would carry the forking parent's peak over
    "    try:\n"  # exec, and a pytest worker is several hundred MB
    "        with open('/proc/self/status') as st:\n"
    "            kb = next(int(x.split()[1]) for x in st if x.startswith('VmHWM:'))\n"
    "    except (OSError, StopIteration):\n"
    "        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    with open(os.environ['SSC_PEAK_FILE'], 'w') as fh:\n"
    "        fh.write(str(kb))\n"
    "atexit.register(_peak)\n"
    "sys.argv = ['ssc', *sys.argv[1:]]\n"
    "runpy.run_module('kpis.cli', run_name='__main__')\n"
)


def wait_for(check, within: float, what: str):
    """The first true value of `check()`, polled every 0.2 s; an AssertionError naming `what` after `within` s."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {within} s")


def run_ssc(*args: str, cwd: Path, timeout: float = 60, env: dict | None = None, prefix: Sequence[str] = ()) -> Outcome:
    """`ssc ARGS` in a child process, with its wall time and the main process's peak memory in MB; `prefix` runs it
    under another command (e.g. strace)."""
    with tempfile.TemporaryDirectory() as scratch:  # outside cwd: the sandbox sees only what ssc writes
        peak_file = Path(scratch) / "peak"
        start = time.perf_counter()
        proc = subprocess.run([*prefix, sys.executable, "-c", _WRAP, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, errors="replace",
                              env={**os.environ, **(env or {}), "SSC_PEAK_FILE": str(peak_file)})
        seconds = time.perf_counter() - start
        peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else 0.0
    return Outcome(proc.returncode, proc.stdout, proc.stderr, seconds, peak)


def attack(*args: str, cwd: Path, out: Path | None = None, inputs: Iterable[Path] = (), expect_code: int = 1,
           message: str | re.Pattern | None = None, within: float = 30, max_mb: float | None = None,
           env: dict | None = None, prefix: Sequence[str] = ()) -> Outcome:
    """Run one hostile case and assert the common promises; returns the outcome for case-specific checks.

    `cwd` is the sandbox: everything written must stay inside `out` (when given; else nothing may change under cwd
    except files the run is asked to write). `message` must appear in stderr+stdout (a regex or plain text).
    """
    inputs = [Path(p) for p in inputs]
    before_inputs = {p: (p.read_bytes() if p.is_file() and not p.is_fifo() else None) for p in inputs}
    outside_before = {k: v for k, v in _snapshot(cwd).items() if out is None or not _inside(cwd / k, out)}
    result = run_ssc(*args, cwd=cwd, timeout=within + 30, env=env, prefix=prefix)
    said = result.stdout + result.stderr
    assert result.code == expect_code, f"exit {result.code} (expected {expect_code}):\n{said[-3000:]}"
    assert not TRACEBACK.search(said), f"a traceback or 'bug' message:\n{said[-3000:]}"
    assert result.seconds <= within, f"took {result.seconds:.1f} s (bound {within} s)"
    if max_mb is not None:
        assert result.peak_mb <= max_mb, f"peak memory {result.peak_mb:.0f} MB (bound {max_mb} MB)"
    if message is not None:
        found = message.search(said) if isinstance(message, re.Pattern) else message.lower() in said.lower()
        assert found, f"expected {message!r} in:\n{said[-3000:]}"
    for p, data in before_inputs.items():
        if data is not None:
            assert p.read_bytes() == data, f"input {p} was modified"
    outside_after = {k: v for k, v in _snapshot(cwd).items() if out is None or not _inside(cwd / k, out)}
    if out is not None:
        assert outside_after == outside_before, f"written outside --out: {_diff(outside_before, outside_after)}"
    partial = [k for k in _snapshot(cwd) if k.endswith(".part")]
    assert not partial, f"partial files left: {partial}"
    return result


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def _diff(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted({k for k in a.keys() | b.keys() if a.get(k) != b.get(k)})


def named_cities(folder: Path, names: list[str], seed: int) -> list[Path]:
    """Invented city workbooks whose file names start with `names` (a notebook cell can react to "hang", …)."""
    from kpis import synthetic

    files = synthetic.write_workbooks(synthetic.cities(len(names), seed=seed), folder)
    return [f.rename(f.with_name(f"{name}-{f.name}")) for f, name in zip(files, names, strict=True)]


def notebook_with(folder: Path, name: str, *cells: str) -> Path:
    """The bundled report notebook with `cells` inserted after its parameters cell (a fault to inject)."""
    import nbformat

    from kpis.paths import bundled

    nb = nbformat.read(bundled("notebooks", "city_assessment.ipynb"), as_version=4)
    for i, cell in enumerate(cells):
        nb.cells.insert(2 + i, nbformat.v4.new_code_cell(cell))
    path = folder / name
    nbformat.write(nb, path)
    return path
