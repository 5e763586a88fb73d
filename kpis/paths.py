"""Where bundled files live, both in a checkout (top-level notebooks/, templates/, data/) and when installed
(shipped as the sub-packages kpis.notebooks, kpis.templates, kpis.data)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def bundled(folder: str, name: str = "") -> Path:
    """Path of a bundled file or folder: folder is 'notebooks', 'templates' or 'data'."""
    local = _CHECKOUT / folder / name
    if (_CHECKOUT / "pyproject.toml").exists() and local.exists():
        return local
    try:
        return Path(str(resources.files(f"kpis.{folder}"))) / name
    except ModuleNotFoundError:
        return local


def demo_city() -> Path:
    """The bundled demo city (invented data), the default input of `ssc assess`."""
    return bundled("data", "demo_city.xlsx")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (manifests and skip decisions rest on it)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside the target, then rename: an interrupted run never leaves half a file.

    The file gets the usual permissions (0666 less the umask), not mkstemp's owner-only 0600.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:  # name the file the user asked for, not our temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_NOT_DECOMPOSED = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss",
                                 "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ı": "i"})
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def slugify(name: str, fallback: str = "city") -> str:
    """A safe folder name for a city: ASCII letters, digits and '-', no '..', no separators, no reserved names."""
    ascii_name = unicodedata.normalize("NFKD", str(name).translate(_NOT_DECOMPOSED)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    if not slug:
        slug = fallback
    if slug in WINDOWS_RESERVED or slug.split("-")[0] in WINDOWS_RESERVED:
        slug = f"city-{slug}"
    return slug
