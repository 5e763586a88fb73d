"""The notebooks' parameters: read from the parameters cell with `ast` (papermill's own inspection costs ~2 s of
imports per run), checked against it and against plain JSON types, and the fingerprint of everything that shapes a
report (a re-run with the same fingerprint is skipped)."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from . import __version__
from .errors import UserError
from .paths import bundled


def code_fingerprint() -> str:
    """Hash of everything that shapes a report: the package's code and catalogue, the notebooks and the templates.

    The same for a checkout and an installed copy: where notebooks, templates and data are installed inside the
    package, they are hashed once, as their own roots."""
    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parent
    roots = [package, bundled("notebooks"), bundled("templates")]
    mapped = {package / name for name in ("notebooks", "templates", "data")}
    for root in roots:
        files = (p for p in root.rglob("*") if p.is_file() and p.suffix in FINGERPRINTED)
        for path in sorted(files):
            if "__pycache__" in path.parts or (root == package and any(m in path.parents for m in mapped)):
                continue
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


FINGERPRINTED = {".py", ".yaml", ".ipynb", ".j2", ".css", ".json"}


# ---------------------------------------------------------------- parameters


def notebook_parameters(notebook: Path) -> dict[str, object]:
    """Names and literal defaults of the notebook's `parameters` cell (the cell papermill injects after).

    Read with `ast` rather than papermill.inspect_notebook, which costs ~2 s of imports on every run.
    """
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    cells = [c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{Path(notebook).name} needs exactly one cell tagged 'parameters'")
    source = cells[0]["source"]
    tree = ast.parse("".join(source) if isinstance(source, list) else source)
    params: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    params[target.id] = ast.literal_eval(node.value) if node.value is not None else None
    return params


def _plain(value: object, name: str) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"parameter {name!r} is not a finite number")
        return
    if isinstance(value, list):
        for item in value:
            _plain(item, name)
        return
    raise TypeError(f"parameter {name!r} must be a plain string, number, boolean or list of those, "
                    f"not {type(value).__name__}")


def check_parameters(params: dict[str, object], allowed: dict[str, object]) -> dict[str, object]:
    """Only names the parameters cell declares, only plain JSON values: papermill writes names into code as they
    are, so a name must never come from a submission."""
    for name, value in params.items():
        if not (isinstance(name, str) and name.isidentifier() and name in allowed):
            raise ValueError(f"parameter {name!r} is not declared in the notebook's parameters cell")
        _plain(value, name)
    return json.loads(json.dumps(params))



def report_notebook(notebook: Path) -> dict[str, object]:
    """The notebook's parameters; a notebook that is missing or unreadable is refused before any city starts."""
    if not notebook.is_file():
        raise UserError(f"{notebook}: no such notebook; give the path of a .ipynb file")
    try:
        return notebook_parameters(notebook)
    except (OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"{notebook}: not a usable report notebook ({str(exc).splitlines()[0] if str(exc) else exc}); "
                        "start from the bundled notebooks/city_assessment.ipynb") from None
