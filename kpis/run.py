"""The batch runner behind `ssc assess`: plan every city, stream each to a worker that reads, scores and runs its
report notebook, and write its HTML and manifest as it comes back.

The main process plans (inputs, fingerprints, what a finished report lets it skip) and collects: it writes each
city's report.html (nbconvert, warm once here) and manifest as the city arrives, and prints PDFs at the end. A
batch of one city is read and scored here while the single worker warms up. The runner takes any
`concurrent.futures.Executor`, so a local process pool (default) and a Dask distributed client run the same code.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import shutil
import signal
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import ParamSpec, TypeVar

from . import __version__
from .batch import (
    BatchInterrupted,
    Claims,
    Stream,
    announce,
    no_signals,
    progress_bar,
    signals_deferred,
    start_pool,
    stop_on_signals,
    sweep_partial_files,
)
from .cluster import closing, connect
from .errors import UserError
from .i18n import DEFAULT_LANGUAGE, check_language, report_language, translator
from .outdir import OutputPlan, folders_manifest, locked, previous_reports, shown, unmarked_folders, write_json
from .parameters import check_parameters, code_fingerprint, report_notebook
from .paths import bundled, demo_city, sha256_file
from .render import PdfUnavailable, warm_exporter, write_report_html
from .worker import failure_reason, gc_paused, render_city, score_and_save, scored_file

NOTEBOOK = "city_assessment.ipynb"
P = ParamSpec("P")
R = TypeVar("R")
@dataclass
class CityRun:
    """What happened to one input: kept in manifest.json beside the report and in the batch manifest."""

    input: str
    input_sha256: str = ""
    city: str = ""
    year: int | None = None
    slug: str = ""
    out_dir: str = ""
    status: str = "pending"  # ok | skipped | invalid | failed
    reason: str = ""
    problems: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fingerprint: str = ""
    target_set: str = ""
    catalogue_version: str = ""
    package_version: str = __version__
    lang: str = ""  # the report's language


# ---------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    runs: list[CityRun]
    out: Path
    pdf_message: str = ""

    @property
    def exit_code(self) -> int:
        bad = any(r.status in {"invalid", "failed"} for r in self.runs)
        return 1 if bad or self.pdf_message else 0


def _plan(path: Path, targets, target_file: Path | None, fingerprint: str, force: bool, pdf: bool,
          taken: Claims, decimal_separator: str | None = None, previous: dict[str, tuple[Path, dict]] | None = None,
          lang: str | None = None) -> CityRun:
    """The main process's part of a city: its fingerprint, and whether a finished report lets it be skipped.

    `previous` (from `previous_reports`): a city whose fingerprint (input bytes, code, targets, options) matches a
    finished report is skipped without reading the workbook, so that a re-run of unchanged cities does not even
    import pandas. A city left "pending" goes to a worker (`assess_city`)."""
    # start-up: a skipped city never imports pandas, openpyxl or the scoring engine (a re-run of unchanged cities
    # returns in under a second)
    from .library import CATALOGUE_VERSION

    run = CityRun(input=str(path), catalogue_version=CATALOGUE_VERSION, target_set=targets.label)
    if not path.is_file():
        run.status, run.reason = "invalid", _not_a_file(path)
        return run
    run.input_sha256 = sha256_file(path)
    run.fingerprint = hashlib.sha256(
        f"{run.input_sha256}|{fingerprint}|{targets.label}|{sha256_file(target_file) if target_file else ''}"
        f"|pdf={pdf}|{decimal_separator or ''}|{lang or ''}".encode()
    ).hexdigest()
    if not force:
        _skip_as_before(run, previous or {}, taken, _wanted(pdf))
    return run


def _wanted(pdf: bool) -> list[str]:
    return ["report.html"] + (["report.pdf"] if pdf else [])


@dataclass
class CityJob:
    """Everything a worker needs for one city, as plain data (it travels to the worker by pickle)."""

    run: CityRun
    out: str
    target_file: str
    notebook: str
    allowed: dict
    claim: str
    in_process: bool = False  # the bundled notebook in the worker's own process (`inprocess.py`), else a kernel
    force: bool = False
    pdf: bool = False
    decimal_separator: str | None = None
    lang: str | None = None  # None: the language each city's Profile names
    timeout: float = 600
    started: str = ""  # the folder where the worker notes the city it holds
    key: int = 0
    inputs: list[str] = field(default_factory=list)  # every input of the run: no output may overwrite one
    folders: dict[str, str] = field(default_factory=dict)  # earlier runs' city folders without a marker


def assess_city(job: CityJob) -> CityRun:
    """Worker: read, check and score one city, write results.xlsx, then render its report; the city's run comes
    back with its status. Reading and scoring happen here, once: the notebook gets the scored city (`scored`)."""
    announce(job.started, job.key)
    run, scored = read_and_score(job)
    return run if scored is None else render_scored(job, *scored)


def read_and_score(job: CityJob) -> tuple[CityRun, tuple | None]:
    """Read, check and score the city and write results.xlsx; (run, None) when there is nothing to render (an
    invalid submission, or a report unchanged since the last run)."""
    run, t0 = job.run, time.perf_counter()
    try:
        from .library import load_targets  # start-up: see _plan

        targets = load_targets(Path(job.target_file) if job.target_file else None)
        path = Path(run.input)
        plan = OutputPlan(Path(job.out), job.inputs, job.folders)
        sub = _read_into_place(run, path, plan, Claims(job.claim), t0)
        if sub is None or (not job.force and _unchanged(run, Path(run.out_dir), _wanted(job.pdf))):
            return run, None
        results = score_and_save(run, sub, targets, Path(job.out))
    except Exception as exc:  # noqa: BLE001 - one bad city never stops the batch
        run.status, run.reason = "invalid", failure_reason(exc)
        return run, None
    return run, (sub, results)


def render_scored(job: CityJob, sub, results) -> CityRun:
    """Worker: run the scored city's report notebook (the collecting process makes its HTML) and return its run
    with the status."""
    announce(job.started, job.key)
    run = job.run
    path = Path(run.input)
    run.lang = lang = report_language(sub, job.lang)
    params: dict[str, object] = {"submission": str(path.resolve()), "targets": job.target_file,
                                 "decimal_separator": job.decimal_separator or ""}
    if "language" in job.allowed:
        params["language"] = lang
    scored = None
    try:
        if "scored" in job.allowed:  # a custom notebook without it reads and scores the submission itself
            scored = scored_file(Path(run.out_dir), sub, results)
            params["scored"] = str(scored)
        run.timings.update(render_city(job.notebook, check_parameters(params, job.allowed), run.out_dir,
                                       job.timeout, job.in_process))
        run.status = "ok"
        run.outputs = sorted(p.name for p in Path(run.out_dir).iterdir() if not p.name.startswith("."))
    except Exception as exc:  # noqa: BLE001 - recorded in the manifest, the batch goes on
        run.status, run.reason = "failed", failure_reason(exc)
    finally:
        if scored is not None:
            scored.unlink(missing_ok=True)
    return run


def _skip_as_before(run: CityRun, previous: dict[str, tuple[Path, dict]], taken: Claims, wanted: list[str]) -> bool:
    """A finished report with this fingerprint is on disk: skip the city without reading its file again."""
    if run.fingerprint not in previous:
        return False
    city_dir, old = previous[run.fingerprint]
    if not all((city_dir / w).exists() for w in wanted) or str(city_dir) in taken:
        return False
    taken.add(str(city_dir))
    run.city, run.year = old.get("city", ""), old.get("year")
    run.slug, run.out_dir = city_dir.parent.name, str(city_dir)
    run.status, run.reason = "skipped", "inputs and code unchanged since the last run (use --force to redo)"
    run.outputs = old.get("outputs", [])
    return True


def _read_into_place(run: CityRun, path: Path, plan: OutputPlan, taken: Claims, t0: float):
    """Read and check the submission and give the city its folder (one per city name, inside the output folder,
    never over an input of the run); None (with the reason on `run`) when unusable."""
    from .problems import SubmissionError  # start-up: see _plan, only for a city that is read
    from .validation import read_submission

    try:
        sub = read_submission(path)
    except SubmissionError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        run.timings["validate_s"] = round(time.perf_counter() - t0, 3)
        run.status = "invalid"
        run.reason = f"{len(errors)} error(s) in the submission; run `ssc validate {path.name}` for the full list"
        run.problems = [str(p) for p in errors[:50]]
        return None
    run.timings["validate_s"] = round(time.perf_counter() - t0, 3)
    run.city, run.year = sub.profile.city, sub.profile.year
    try:
        run.slug, city_dir = plan.city_folder(sub.profile.city, run.year)
    except UserError as exc:
        run.status, run.reason = "invalid", str(exc)
        return None
    run.out_dir = str(city_dir)
    if run.out_dir in taken:
        run.status = "invalid"
        run.reason = f"{run.city} {run.year} appears twice in this batch; keep one submission per city and year"
        return None
    taken.add(run.out_dir)
    return sub


def _unchanged(run: CityRun, city_dir: Path, wanted: list[str]) -> bool:
    """The city's own manifest says its report was made from the same inputs, code and options."""
    manifest = city_dir / "manifest.json"
    if not manifest.exists():
        return False
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if old.get("status") in {"ok", "skipped"} and old.get("fingerprint") == run.fingerprint and all(
        (city_dir / w).exists() for w in wanted
    ):
        run.status, run.reason = "skipped", "inputs and code unchanged since the last run (use --force to redo)"
        run.outputs = old.get("outputs", [])
        return True
    return False


def _one_run_per_folder(fn: Callable[P, R]) -> Callable[P, R]:
    """`assess` under the lock of its output folder (outdir.locked), taken once the inputs are known to exist:
    a second run into the same folder is refused at once, and a run with nothing to assess writes nothing."""

    @functools.wraps(fn)
    def under_lock(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        given["files"] = _checked_inputs(given["files"], given["decimal_separator"], given["lang"])
        inputs = [*given["files"], given["targets"], given["notebook"]]
        with locked(Path(given["out"]), [Path(p) for p in inputs if p], command="assess"):
            return fn(*bound.args, **bound.kwargs)

    return under_lock


@_one_run_per_folder
def assess(
    files: list[Path] | None = None,
    out: Path | str = "reports",
    pdf: bool = False,
    jobs: int | None = None,
    force: bool = False,
    targets: Path | str | None = None,
    timeout: float = 600,
    executor: Executor | None = None,
    progress: bool = True,
    notebook: Path | str | None = None,
    decimal_separator: str | None = None,
    scheduler: str | None = None,
    lang: str | None = None,
) -> BatchResult:
    """Assess many cities: every bad submission is refused with its problems while the others go on.

    Each city is read, scored and its notebook run in a worker; its HTML and manifest are written here as it comes
    back, so an interrupted batch resumes where it stopped. Ctrl-C or SIGTERM raise `BatchInterrupted`.

    `executor`: any Executor (default: a local pool of `jobs` workers); a Dask one, or `scheduler`: `cluster.py`;
    `notebook`: a custom report notebook with the same parameters cell (default: the bundled one);
    `lang`: the reports' language (default: the one each city's Profile names, else English);
    `decimal_separator`: "." or "," overrides the language's decimal sign.
    """
    files = _checked_inputs(files, decimal_separator, lang)
    out = Path(out)
    target_file = Path(targets) if targets else None
    notebook = Path(notebook) if notebook else bundled("notebooks", NOTEBOOK)
    claims = Claims(uuid.uuid4().hex[:16])
    runs: list[CityRun] = []
    started = out / f".ssc-started-{claims.run_id}"
    executor = connect(scheduler, executor, out, claims, target_file, notebook) or executor  # Dask: no shared disk
    stream, in_process = _stream_for(executor, jobs, notebook, timeout, started)
    try:
        if stream.local and (force or next(out.glob("*/*/manifest.json"), None) is None):
            stream.warm(len(files))  # nothing can be skipped: the workers warm up while the catalogue loads
        from .library import load_targets  # start-up: missing inputs are refused before the catalogue loads

        target_set = load_targets(target_file)
        # a custom notebook shapes the report as much as the code does
        fingerprint = code_fingerprint() + (f"|{sha256_file(notebook)}"
                                            if notebook != bundled("notebooks", NOTEBOOK) else "")
        job = partial(CityJob, out=str(out), target_file=str(target_file.resolve()) if target_file else "",
                      notebook=str(notebook), allowed=report_notebook(notebook), claim=claims.run_id,
                      in_process=in_process, force=force, pdf=pdf, decimal_separator=decimal_separator, lang=lang,
                      timeout=timeout, started=str(started), folders=unmarked_folders(out),
                      inputs=[str(p) for p in (*files, target_file, notebook) if p])
        plan = partial(_plan, targets=target_set, target_file=target_file, fingerprint=fingerprint, force=force,
                       pdf=pdf, taken=claims, decimal_separator=decimal_separator, lang=lang)
        with stop_on_signals(), closing(executor):
            _stream(files, runs, stream, plan, job, out, started, force, progress)
    finally:
        with no_signals():
            stream.stop(kill=True)  # every city is back (or given up): the workers have nothing left to finish
            if stream.stalled or stream.broke:  # a killed worker leaves its temporary files behind
                sweep_partial_files([out])
            claims.release(out)
            shutil.rmtree(started, ignore_errors=True)
    return _finish(BatchResult(runs, out), pdf)


def _stream_for(executor: Executor | None, jobs: int | None, notebook: Path, timeout: float,
                started: Path) -> tuple[Stream, bool]:
    """The batch's stream, and whether its notebook runs in the workers' own process: the bundled one does in the
    local pool (`inprocess.py`); a custom one, or any other executor's (Dask, the caller's threads), on a kernel."""
    in_process = executor is None and notebook == bundled("notebooks", NOTEBOOK)
    start = None if executor is not None else partial(start_pool, jobs, kernel=not in_process)
    return Stream(start, executor, timeout, started), in_process


def _stream(files: list[Path], runs: list[CityRun], stream: Stream, plan, job, out: Path, started: Path,
            force: bool, progress: bool) -> None:
    """Plan each city and hand it to a worker at once; then collect. Ctrl-C or SIGTERM stop the workers (and their
    kernels), remove partial files and raise `BatchInterrupted` with the one line to print."""
    try:
        previous = {} if force else previous_reports(out)
        for i, path in enumerate(files):
            runs.append(plan(path, previous=previous))
            if runs[-1].status != "pending":
                continue
            started.mkdir(parents=True, exist_ok=True)
            if len(files) == 1 and stream.local:  # one city: read and scored here while the worker warms up
                stream.warm(1)
                city = job(runs[-1], key=i)
                with gc_paused():
                    runs[-1], scored = read_and_score(city)
                if scored is not None:
                    stream.submit(i, render_scored, city, *scored)
            else:  # a worker starts on it now, while the others are planned
                stream.submit(i, assess_city, job(runs[-1], key=i), cities=len(files) - i)
        if stream.futures:
            warm_exporter()  # the HTML is written here: nbconvert warms up while the workers start on the cities
        _collect(stream, runs, progress)
    except KeyboardInterrupt as exc:
        with no_signals():
            stream.stop(kill=True)
            sweep_partial_files([out])
            raise _interrupted(exc, runs, len(files), out) from None


def _collect(stream: Stream, runs: list[CityRun], progress: bool) -> None:
    """Take each city back from its worker as it finishes and write its manifest at once."""
    bar = progress_bar(len(stream.futures), progress)

    def done(i: int, run: CityRun | None, error: BaseException | None) -> None:
        if run is None:  # the worker never gave the city back (it died, or the batch stalled)
            run = runs[i]
            run.status, run.reason = "failed", failure_reason(error) if error else "no result"
        with signals_deferred():  # a city back from its worker is finished whole: HTML, then manifest
            if run.status == "ok":
                _write_html(run)
            if run.out_dir and run.status in {"ok", "failed"}:
                _write_manifest(Path(run.out_dir) / "manifest.json", run)
            runs[i] = run

    try:
        stream.collect(done, bar)
    finally:
        if bar is not None:
            bar.close()


def _write_html(run: CityRun) -> None:
    """The city's report.html from its executed notebook, here in the collecting process (`render.py`)."""
    t0 = time.perf_counter()
    lang = run.lang or DEFAULT_LANGUAGE
    title = translator(lang)("{city} {year}: U4SSC recommendation report", city=run.city, year=run.year)
    try:
        write_report_html(Path(run.out_dir), title, lang)
    except Exception as exc:  # noqa: BLE001 - recorded in the manifest, the batch goes on
        run.status, run.reason = "failed", f"report.html could not be written: {failure_reason(exc)}"
        return
    run.outputs = sorted({*run.outputs, "report.html"})
    run.timings["html_s"] = round(time.perf_counter() - t0, 3)


def _interrupted(exc: KeyboardInterrupt, runs: list[CityRun], total: int, out: Path) -> BatchInterrupted:
    """Record what finished in the batch manifest and say so in one line."""
    finished = [r for r in runs if r.status not in {"pending"}]
    for run in runs:
        if run.status == "pending":
            run.reason = "interrupted before this city finished; re-run to continue"
    if out.is_dir():
        _write_manifest(out / "manifest.json", {"package_version": __version__, "interrupted": True,
                                                "cities": [asdict(r) for r in runs],
                                                "folders": folders_manifest(out, [(r.city, r.slug) for r in runs])})
    signum = getattr(exc, "signum", signal.SIGINT)
    return BatchInterrupted(signum, f"interrupted: {len(finished)} of {total} cities finished; re-run to continue")


def _finish(result: BatchResult, pdf: bool) -> BatchResult:
    """Print the PDFs (when asked) and write every city's manifest and the batch manifest."""
    runs = result.runs
    if pdf:
        # Playwright's sync API refuses to run where an asyncio loop is running (JupyterLab, or a caller's own
        # Playwright session), so the browser is driven from a thread of its own
        with ThreadPoolExecutor(max_workers=1) as printer:
            result.pdf_message = printer.submit(_print_pdfs, [r for r in runs if r.status == "ok"]).result()
    for run in runs:
        if run.out_dir and run.status in {"ok", "failed"}:
            _write_manifest(Path(run.out_dir) / "manifest.json", run)
    folders = folders_manifest(Path(result.out), [(r.city, r.slug) for r in runs])
    _write_manifest(Path(result.out) / "manifest.json",
                    {"package_version": __version__, "cities": [asdict(r) for r in runs], "folders": folders})
    return result


def _checked_inputs(files: list[Path] | None, decimal_separator: str | None, lang: str | None = None) -> list[Path]:
    """The input paths (the demo city when none); a bad option or nothing to assess is refused at once, before
    any import, pool or kernel."""
    if decimal_separator not in {None, "", ".", ","}:
        raise UserError(f"decimal separator {decimal_separator!r}: use '.' or ','")
    if lang is not None:
        check_language(lang)
    paths = [Path(f) for f in files] if files else [demo_city()]
    missing = [f for f in paths if not f.is_file()]
    if len(missing) == len(paths):
        raise UserError("; ".join(_not_a_file(f) for f in missing))
    return paths


def _not_a_file(path: Path) -> str:
    if path.is_dir():
        return f"{shown(path)}: is a folder, not a submission file; give the .xlsx or .csv files in it"
    return f"{shown(path)}: no such file; check the name and folder"


def _print_pdfs(runs: list[CityRun]) -> str:
    if not runs:
        return ""
    from .render import browser, html_to_pdf  # start-up: Playwright only when --pdf is asked for

    try:
        with browser() as chromium:
            for run in runs:
                t0 = time.perf_counter()
                html_to_pdf(chromium, Path(run.out_dir) / "report.html", Path(run.out_dir) / "report.pdf")
                run.timings["pdf_s"] = round(time.perf_counter() - t0, 3)
                if "report.pdf" not in run.outputs:
                    run.outputs = sorted([*run.outputs, "report.pdf"])
    except PdfUnavailable as exc:
        return str(exc)
    return ""


def _write_manifest(path: Path, data) -> None:
    write_json(path, asdict(data) if isinstance(data, CityRun) else data)
