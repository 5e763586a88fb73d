"""A city's deadline and its kernel's health, checked while the notebook runs.

nbclient's own deadline is never checked with a reused (blocking) kernel client: its output poll waits on the
kernel's iopub channel with no timeout, so a sleeping cell or a dead kernel blocks the worker for ever. `guard`
makes every wait on the kernel's channels short (a fraction of a second) and, between waits, asks the `Watchdog`:
past the deadline, the kernel is interrupted and, after a grace period, killed (`CityTimeout`); a kernel process
that has exited is `KernelDied` at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from queue import Empty

SLICE = 0.2  # seconds of one wait on a kernel channel
GRACE = 3.0  # seconds an interrupted cell gets to stop before its kernel is killed


class CityTimeout(RuntimeError):
    """The city's report took longer than its timeout; its kernel was stopped."""


class KernelDied(RuntimeError):
    """The kernel process ended while a cell was running (killed, out of memory, crashed)."""


class CellFault(RuntimeError):
    """A timeout or a dead kernel, with the notebook cell that was running (either engine raises it)."""

    def __init__(self, reason: str, cells: list, index: int | None):
        super().__init__(f"{reason} (in {cell_label(cells, index)} of the report notebook)")


class Watchdog:
    """The deadline of one city and the kernel it runs on; `check()` raises once either gives out."""

    def __init__(self, km, timeout: float, grace: float = GRACE):
        self.km = km
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.grace = grace
        self.cell_index: int | None = None  # index of the running cell in the executed notebook
        self.fired: BaseException | None = None
        self._interrupted_at: float | None = None

    def on_cell(self, cell_index: int, **_) -> None:
        """nbclient hook: remember which cell runs, for the failure reason."""
        self.cell_index = cell_index

    def check(self) -> None:
        if self.fired is not None:
            raise self.fired
        if not kernel_alive(self.km):
            self.fired = KernelDied("kernel died")
            raise self.fired
        now = time.monotonic()
        if now < self.deadline:
            return
        if self._interrupted_at is None:  # first interrupt the cell: the kernel may survive it
            self._interrupted_at = now
            _signal(self.km, signal.SIGINT)
        if now - self._interrupted_at < self.grace:
            return
        self.kill()
        self.fired = CityTimeout(f"timed out after {self.timeout:g} s")
        raise self.fired

    def timed_out(self) -> bool:
        return self._interrupted_at is not None

    def kill(self) -> None:
        kill_kernel_group(self.km)


def kernel_alive(km) -> bool:
    """The kernel's process is running (a plain poll of the child: no event loop, safe inside nbclient's)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return process is not None and process.poll() is None


def kill_kernel_group(km) -> None:
    """SIGKILL the kernel and anything it started, and reap it."""
    _signal(km, signal.SIGKILL)


def _signal(km, signum: int) -> None:
    """Signal the kernel's process group (the kernel runs in a session of its own, with any children it starts)."""
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        pgid = getattr(provisioner, "pgid", None)
        if pgid:
            os.killpg(pgid, signum)
        else:
            os.kill(process.pid, signum)
    if signum == signal.SIGKILL:
        with contextlib.suppress(Exception):
            process.wait(timeout=5)


def guard(kc, watchdog: Watchdog) -> None:
    """Make the client's shell and iopub waits short slices that consult `watchdog` in between."""
    for channel in (kc.shell_channel, kc.iopub_channel):
        channel.get_msg = _sliced(channel.get_msg, watchdog)


def unguard(kc) -> None:
    """Give the client its own waits back (the kernel is reused by the next city, with a watchdog of its own)."""
    for channel in (kc.shell_channel, kc.iopub_channel):
        channel.__dict__.pop("get_msg", None)


def _sliced(get_msg, watchdog: Watchdog):
    def get(timeout: float | None = None, **kwargs):
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            watchdog.check()
            wait = SLICE if end is None else max(0.0, min(SLICE, end - time.monotonic()))
            try:
                return get_msg(timeout=wait, **kwargs)
            except Empty:
                if end is not None and time.monotonic() >= end:
                    raise

    return get


def cell_label(cells: list, index: int | None) -> str:
    """'cell 3 (`first line`)': a cell's number among the notebook's own code cells (papermill's injected
    parameters cell is not the user's and is not counted) and its first line."""
    if index is None or not 0 <= index < len(cells):
        return "a cell"
    cell = cells[index]
    if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
        return "the injected parameters cell"
    number = sum(1 for c in cells[: index + 1] if c.get("cell_type") == "code"
                 and "injected-parameters" not in c.get("metadata", {}).get("tags", []))
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = first if len(first) <= 80 else first[:79] + "…"
    return f"cell {number} (`{first}`)" if first else f"cell {number}"
