"""`ssc compare`: the data behind the comparison (CSV) and its report (the comparison notebook, run by papermill)."""

from __future__ import annotations

import io
import sys
import time
from argparse import Namespace
from pathlib import Path
from typing import Any

import pandas as pd

from .. import terminal
from ..errors import UserError
from ..export import neutralise_frame
from ..i18n import check_language, decimal_text, localise, translator
from ..outdir import check_out_folder, locked, overwritten_input
from ..parameters import check_parameters, notebook_parameters
from ..paths import atomic_write, bundled, check_output_path
from ..render import notebook_to_html
from .errors import CompareError
from .load import bundled_inputs
from .model import Comparison, check_peer_group, compare, years_text
from .rank import Ranking

NOTEBOOK = "compare_cities.ipynb"
EXPORTS = ("comparison_kpis.csv", "scores.csv", "ranking.csv", "coverage.csv", "progress.csv")
OUTPUTS = (*EXPORTS, "comparison.parquet", "report.html")  # what `ssc compare` writes into --out
DRAWS, SEED = 200, 0  # the sensitivity run of the report


def _with_profiles(comp: Comparison) -> pd.DataFrame:
    """The tidy table with each city's profile (population, region, country, invented) on every row."""
    prof = comp.profiles.drop(columns=["population_band"])
    own = [c for c in prof.columns if c not in ("city", "year") and c in comp.kpis.columns]
    return comp.kpis.drop(columns=own).merge(prof, on=["city", "year"], how="left")


def write_exports(comp: Comparison, ranking: Ranking, out: str | Path) -> list[Path]:
    """The data behind the report, safe to open in a spreadsheet (formula-like text made inert)."""
    out = Path(out)
    frames = (_with_profiles(comp), comp.scores, ranking.table, comp.coverage.reset_index(), comp.progress())
    files = dict(zip(EXPORTS, frames, strict=True))
    written = []
    for name, frame in files.items():
        atomic_write(out / name, neutralise_frame(frame).to_csv(index=False))
        written.append(out / name)
    return written


def cli_compare(args: Namespace) -> int:
    """`ssc compare FILE_OR_RESULTS… [--out] [--group-by] [--year] [--targets] [--lang]`: the comparison report."""
    t0 = time.perf_counter()
    lang = check_language(getattr(args, "lang", None))
    _ = translator(lang)
    out = Path(args.out)
    inputs, group_by, comp = _read(args, lang)  # bad input fails here, with its message in the report's language
    ranking = comp.rank(draws=DRAWS, seed=SEED)
    with locked(out, [*inputs, args.targets], command="compare"):
        clash = overwritten_input([out / name for name in OUTPUTS], [*inputs, args.targets])
        if clash:
            raise UserError(clash)
        for name in OUTPUTS:  # a link, pipe or folder at an output name: refused before anything is written
            check_output_path(out / name)
        write_exports(comp, ranking, out)
        prepared = out / "comparison.parquet"  # the notebook reads the checked, scored table, not the raw files
        buf = io.BytesIO()
        _with_profiles(comp).to_parquet(buf, index=False)
        atomic_write(prepared, buf.getvalue())
        params = {"inputs": [str(prepared.resolve())], "group_by": group_by, "year": args.year, "targets": "",
                  "radar_cities": [], "draws": DRAWS, "seed": SEED, "input_names": [p.name for p in inputs],
                  "language": lang}
        t1 = time.perf_counter()
        nb = _run_notebook(params, out)
        if nb is None:
            return 1
        n = len(comp.cities)
        title = _.ngettext("Comparison of {count} city", "Comparison of {count} cities", n, count=n)
        atomic_write(out / "report.html", notebook_to_html(nb, title, lang))
    t2 = time.perf_counter()
    n_out = len(ranking.excluded)
    excl = " " + _.ngettext("({count} not ranked)", "({count} not ranked)", n_out, count=n_out) if n_out else ""
    print(_.ngettext("Compared {count} city ({years}){excluded}: {path} (data {data} s, report {report} s)",
                     "Compared {count} cities ({years}){excluded}: {path} (data {data} s, report {report} s)", n,
                     count=n, years=years_text(comp.years), excluded=excl, path=terminal.clean(out / "report.html"),
                     data=decimal_text(t1 - t0, lang, "0.0"), report=decimal_text(t2 - t1, lang, "0.0")))
    return 0


def _read(args: Namespace, lang: str) -> tuple[list[Path], str, Comparison]:
    """The inputs, the peer grouping and the comparison; an input error in `lang`."""
    try:
        inputs = [Path(p) for p in args.inputs] if args.inputs else bundled_inputs()
        group_by = args.group_by or "population_band"
        check_peer_group(group_by)
        check_out_folder(Path(args.out))
        return inputs, group_by, compare(inputs, targets=args.targets, year=args.year, lang=lang)
    except CompareError as exc:
        raise CompareError(localise(exc.args[0], lang)) from None


def _run_notebook(params: dict[str, Any], out: Path) -> Any:
    """The comparison notebook executed with `params`, or None (with a message) when a cell failed."""
    # imported here: papermill and the notebook engine cost ~1.7 s of start-up, needed only to render
    import papermill

    from .. import engine

    notebook = bundled("notebooks", NOTEBOOK)
    # papermill writes names into code: only names the parameters cell declares, only plain JSON values
    params = check_parameters(params, notebook_parameters(notebook))
    engine.register()
    try:  # no output path: the executed notebook is not kept, and papermill need not rewrite it at every cell
        return papermill.execute_notebook(str(notebook), None, parameters=params, kernel_name="python3",
                                          engine_name=engine.ENGINE_NAME, progress_bar=False, log_output=False)
    except papermill.PapermillExecutionError as exc:
        said = terminal.clean(f"{exc.ename}: {exc.evalue} (the data files in {out} were written)", lines=True)
        print(f"ssc compare: the comparison notebook failed in cell {exc.exec_count}: {said}", file=sys.stderr)
        return None
