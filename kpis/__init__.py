"""ssc-kpis: assess smart sustainable cities against the 91 U4SSC KPIs of Recommendation ITU-T Y.4903/L.1603.

The public names are imported lazily so that `import kpis` stays fast and each stage loads only what it needs.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "catalogue": ("kpis.catalogue", None),  # the module is callable: kpis.catalogue() -> indicator table
    "get_kpi": ("kpis.catalogue", "get_kpi"),
    "filter_kpis": ("kpis.catalogue", "filter_kpis"),
    "load_targets": ("kpis.catalogue", "load_targets"),
    "CatalogueError": ("kpis.catalogue", "CatalogueError"),
    "compute": ("kpis.compute", "compute"),
    "ComputationError": ("kpis.compute", "ComputationError"),
    "write_template": ("kpis.template", "write_template"),
    "read_submission": ("kpis.intake", "read_submission"),
    "Submission": ("kpis.intake", "Submission"),
    "SubmissionError": ("kpis.intake", "SubmissionError"),
    "validate": ("kpis.validation", "validate"),
    "Problem": ("kpis.validation", "Problem"),
    "score": ("kpis.scoring", "score"),
    "Results": ("kpis.scoring", "Results"),
    "recommend": ("kpis.recommend", "recommend"),
    "compare": ("kpis.compare", "compare"),
    "assess": ("kpis.run", "assess"),
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str):
    try:
        module, attr = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'kpis' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
