"""ssc-kpis: assess smart sustainable cities against the 91 U4SSC KPIs of Recommendation ITU-T Y.4903/L.1603.

The public names are imported lazily so that `import kpis` stays fast and each stage loads only what it needs.
`kpis.catalogue()` and `kpis.compare()` are plain functions defined here; the stages live in their own modules
(docs/architecture.md).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .comparison import Comparison
    from .library import Targets

__version__ = "0.1.0"

_PUBLIC = {
    "get_kpi": ("kpis.library", "get_kpi"),
    "filter_kpis": ("kpis.library", "filter_kpis"),
    "load_targets": ("kpis.library", "load_targets"),
    "CatalogueError": ("kpis.library", "CatalogueError"),
    "compute": ("kpis.formulas", "compute"),
    "ComputationError": ("kpis.formulas", "ComputationError"),
    "write_template": ("kpis.template", "write_template"),
    "read_submission": ("kpis.validation", "read_submission"),
    "Submission": ("kpis.intake", "Submission"),
    "SubmissionError": ("kpis.problems", "SubmissionError"),
    "validate": ("kpis.validation", "validate"),
    "Problem": ("kpis.problems", "Problem"),
    "score": ("kpis.scoring", "score"),
    "score_frame": ("kpis.scoring", "score_frame"),
    "Results": ("kpis.results", "Results"),
    "recommend": ("kpis.recommendation", "recommend"),
    "assess": ("kpis.run", "assess"),
}

__all__ = sorted([*_PUBLIC, "catalogue", "compare"]) + ["__version__"]


def catalogue(targets: Targets | None = None) -> pd.DataFrame:
    """The indicator table: one row per KPI (91) with hierarchy, unit, direction, target and its source, SDG links.
    In JupyterLab it shows the key columns, escaped."""
    # start-up: `import kpis` stays light (no pandas) until a name is used
    from .display import CatalogueFrame
    from .library import catalogue_frame

    return CatalogueFrame(catalogue_frame(targets))


def compare(results_or_paths: Any, targets: str | Path | Targets | None = None, **options: Any) -> Comparison:
    """Compare many cities and years: see `kpis.comparison.compare`."""
    from .comparison import compare as _compare  # start-up: as for catalogue()

    return _compare(results_or_paths, targets, **options)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'kpis' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
