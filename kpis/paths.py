"""Where bundled files live, both in a checkout (top-level notebooks/, templates/, data/) and when installed
(shipped as the sub-packages kpis.notebooks, kpis.templates, kpis.data)."""

from __future__ import annotations

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
