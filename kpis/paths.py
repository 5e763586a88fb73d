"""Where bundled files live, both in a checkout (top-level notebooks/, templates/, data/) and when installed
(shipped as the sub-packages kpis.notebooks, kpis.templates, kpis.data)."""

from __future__ import annotations

import hashlib
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
