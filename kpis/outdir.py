"""The output folder of a run: one run at a time (a lock), never over an input, one folder per city name.

Two runs writing into the same `--out` would race on the same files, so a run takes a non-blocking lock on
`--out/.ssc.lock` and a second run is refused at once (rather than made to wait: a batch can take many minutes, and a
silent wait looks like a hang). City folders come from `paths.slugify`; when two different city names would get the
same folder (in one batch or across runs), the later one gets a short hash of its name (a marker file in each
city folder says whose it is, so workers agree without talking), and the top-level manifest records which name
went to which folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import UserError
from .paths import atomic_write, check_output_path, name_hash, name_key, slugify

LOCK_NAME = ".ssc.lock"
#: The batch's results dataset (one parquet file per city-year, `year=YYYY/` folders): no city folder can have this
#: name (a city's folder name never starts with '_').
DATASET_FOLDER = "_dataset"
DATASET_MARKER = "_ssc_results_dataset.json"  # marks a folder as a results dataset (and says what wrote it)
CITY_OUTPUTS = ("results.xlsx", "manifest.json", "report.ipynb", "report.html", "report.pdf")


def shown(path: Path | str) -> str:
    """A path for a message: a byte the file system allows but UTF-8 does not (\\xff) is shown escaped."""
    return os.fsdecode(path).encode("utf-8", "backslashreplace").decode("utf-8")


def check_out_folder(out: Path) -> None:
    """`--out` must be a folder (or not exist yet): an existing file or device is refused with the fix."""
    if out.is_symlink() and not out.exists():
        raise UserError(f"--out {shown(out)} is a link to nothing; give a folder")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {shown(out)} is a file; give a folder")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def overwritten_input(outputs: Iterable[Path], inputs: Iterable[Path | None]) -> str:
    """A message when one of `outputs` is one of the run's `inputs` (same file, by inode or resolved path)."""
    files = [Path(p) for p in inputs if p is not None]
    for out in outputs:
        for src in files:
            if _same(out, src) or os.path.abspath(out) == os.path.abspath(src):
                return (f"{shown(out)} is one of this run's inputs ({shown(src)}) and would be overwritten; move the "
                        "input out of the output folder or choose another --out")
    return ""


@contextlib.contextmanager
def locked(out: Path, inputs: Iterable[Path | None] = (), command: str = "ssc") -> Iterator[Path]:
    """Hold the output folder for one run (creating it); a second run into it is refused with a clear message.

    Also refuses an `--out` that is a file and a lock file or manifest that is one of the inputs.
    """
    check_out_folder(out)
    clash = overwritten_input([out / LOCK_NAME, out / "manifest.json"], inputs)
    if clash:
        raise UserError(clash)
    check_output_path(out / "manifest.json")  # refused now, not after the reports are made
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    check_output_path(lock)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        _take(fd, out, command)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield out
    except BaseException:
        if created:  # a run refused before it wrote anything (a bad option, no scheduler) leaves no folder behind
            _remove_if_only_lock(out)
        raise
    finally:
        _release(fd)  # the file stays: removing it would race
        os.close(fd)


def _remove_if_only_lock(out: Path) -> None:
    with contextlib.suppress(OSError):
        if [p.name for p in out.iterdir()] == [LOCK_NAME]:
            (out / LOCK_NAME).unlink()
            out.rmdir()


def _release(fd: int) -> None:
    """Unlock for every holder of the descriptor: a forked worker holds a copy, and closing ours would not do."""
    if sys.platform == "win32":
        return
    import fcntl  # start-up: not available on Windows

    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)


def _take(fd: int, out: Path, command: str) -> None:
    if sys.platform == "win32":  # no flock: runs are not serialised there
        return
    import fcntl  # start-up: not available on Windows

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        who = f" (pid {pid})" if pid.isdigit() else ""
        raise UserError(f"another ssc run is writing to {shown(out)}{who}; wait for it to finish or choose another "
                        f"--out (ssc {command} refuses rather than waits: a batch can take many minutes)") from None


class FolderNames:
    """City name → folder under `--out`, so that two different names never share a folder, in one run or across
    runs, whichever worker reads the city. Names that differ only in case or spacing are the same city (a re-run
    replaces its report).

    Shared through the file system: a folder belongs to the city whose name key is in its marker (`.ssc-name`),
    created exclusively by the first worker to want the folder. Folders of earlier runs without a marker are known
    from their manifests (`earlier`: city name → folder, as from `unmarked_folders`, read once per run)."""

    MARKER = ".ssc-name"

    def __init__(self, out: Path, earlier: dict[str, str] | None = None):
        self.out = out
        self.owner: dict[str, str] = {}  # folder → name key of the city an earlier run gave it to
        for city, folder in (unmarked_folders(out) if earlier is None else earlier).items():
            self.owner.setdefault(folder, name_key(city))

    def folder_for(self, city: str) -> str:
        key = name_key(city)
        choices = (slugify(city), slugify(city, suffix=name_hash(city)), slugify(city, suffix=name_hash(city, 16)))
        for folder in choices:  # the hashed ones when the readable one is another city's (or a hash clash)
            if self.owner.get(folder, key) == key and self._take(folder, key):
                return folder
        raise UserError(f"{shown(self.out / choices[0])}: every folder name for {city!r} belongs to another city; "
                        "choose another --out")

    def _take(self, folder: str, key: str) -> bool:
        """True when `folder` is this city's: its marker says so, or this call created it (write, then link: a
        marker is never seen half-written)."""
        place = self.out / folder
        if place.is_symlink():
            raise UserError(f"{shown(place)} leads outside {shown(self.out)} (a link?); remove the link or choose "
                            "another --out")
        if place.exists() and not place.is_dir():
            raise UserError(f"{shown(place)}: is a file where a city folder goes; move it or choose another --out")
        place.mkdir(parents=True, exist_ok=True)
        marker = place / self.MARKER
        fd, tmp = tempfile.mkstemp(prefix=f"{self.MARKER}.", suffix=".part", dir=place)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass") as fh:
                fh.write(key)
                if hasattr(os, "fchmod"):
                    os.fchmod(fh.fileno(), 0o644)
            os.link(tmp, marker)  # fails when the marker exists: the folder has an owner already
            return True
        except FileExistsError:
            return _marker_key(marker) == key
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _marker_key(marker: Path) -> str | None:
    """The name key in a folder's marker; None for a marker that is a link, not a file, or unreadable."""
    try:
        fd = os.open(marker, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        return fh.read(4096).decode("utf-8", "surrogatepass")


def unmarked_folders(out: Path) -> dict[str, str]:
    """City name → folder of earlier runs' folders that have no marker (made before markers): what the workers of
    this run cannot learn from the file system. Read once per run, in the main process."""
    return {city: folder for city, folder in previous_folders(out).items()
            if not os.path.lexists(out / folder / FolderNames.MARKER)}


def previous_folders(out: Path) -> dict[str, str]:
    """City name → folder from the top-level manifest of earlier runs and the city manifests on disk."""
    found: dict[str, str] = {}
    for manifest in sorted(out.glob("*/*/manifest.json")):
        old = _read_json(manifest)
        if isinstance(old, dict) and isinstance(old.get("city"), str) and old["city"]:
            found.setdefault(old["city"], manifest.parent.parent.name)
    old = _read_json(out / "manifest.json")
    folders = old.get("folders") if isinstance(old, dict) else None
    if isinstance(folders, dict):
        found.update({k: v for k, v in folders.items() if isinstance(k, str) and isinstance(v, str)})
    return found


def folders_manifest(out: Path, cities: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The name → folder map for the top-level manifest: earlier runs' entries kept, this run's added."""
    found = previous_folders(out)
    found.update({city: folder for city, folder in cities if city and folder})
    return dict(sorted(found.items()))


def _read_json(path: Path) -> object:
    try:
        if not path.is_file() or path.stat().st_size > 16 * 2**20:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


class OutputPlan:
    """Where each city of a run goes under `out`, checked before anything is written there."""

    def __init__(self, out: Path, inputs: Iterable[Path | str | None], earlier: dict[str, str] | None = None):
        self.out = out
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.names = FolderNames(out, earlier)

    def city_folder(self, city: str, year: object) -> tuple[str, Path]:
        """(folder name, resolved city-year folder); UserError when it leads outside `out` or over an input."""
        slug = self.names.folder_for(city)
        city_dir = (self.out / slug / str(year)).resolve()
        if self.out.resolve() not in city_dir.parents:
            raise UserError(f"{shown(self.out / slug / str(year))} leads outside {shown(self.out)} (a link?); "
                            "remove the link or choose another --out")
        clash = overwritten_input([city_dir / name for name in CITY_OUTPUTS], self.inputs)
        if clash:
            raise UserError(clash)
        for name in CITY_OUTPUTS:  # a link, pipe or folder at an output name: refused before anything is written
            check_output_path(city_dir / name)
        return slug, city_dir


def previous_reports(out: Path) -> dict[str, tuple[Path, dict]]:
    """Fingerprint -> (city folder, its manifest) of every finished report already in `out`."""
    found: dict[str, tuple[Path, dict]] = {}
    root = out.resolve()
    for manifest in sorted(out.glob("*/*/manifest.json")):
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        city_dir = manifest.parent.resolve()
        finished = isinstance(old, dict) and old.get("status") in {"ok", "skipped"} and old.get("fingerprint")
        if finished and root in city_dir.parents:
            found.setdefault(old["fingerprint"], (city_dir, old))
    return found


def write_json(path: Path, payload: object) -> None:
    """Readable UTF-8 JSON, written atomically; a file name holding a byte that is not UTF-8 (kept by Python as a
    lone surrogate) is written as its \\udcXX escape, so the file stays valid JSON and reads back to the same name."""
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    atomic_write(path, _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


_SURROGATE = re.compile("[\ud800-\udfff]")
