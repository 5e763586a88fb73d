"""The batch runner behind `ssc assess`: validate and score every city first, then render reports in parallel.

Compute first, render second: intake and scoring are plain Python and take milliseconds; only the report runs a
notebook (papermill, on a kernel reused per worker) and nbconvert. The runner takes any
`concurrent.futures.Executor`, so a local process pool (default) and a Dask distributed client
(`client.get_executor()`) run the same code.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import json
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import ParamSpec, TypeVar

from . import __version__, terminal
from .errors import UserError
from .outdir import OutputPlan, folders_manifest, locked, shown
from .parameters import check_parameters, code_fingerprint, notebook_parameters
from .paths import atomic_write, bundled, demo_city, sha256_file
from .render import PdfUnavailable
from .worker import failure_reason, render_city, start_now, warm_worker

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


def _previous_reports(out: Path) -> dict[str, tuple[Path, dict]]:
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


def _prepare(path: Path, out: Path, targets, target_file: Path | None, fingerprint: str, force: bool, pdf: bool,
             taken: set[str], decimal_separator: str = ".", previous: dict[str, tuple[Path, dict]] | None = None,
             will_render=None, plan: OutputPlan | None = None):
    """Validate, read and score one submission; write results.xlsx. Returns (run, params or None, title).

    `will_render()` is called as soon as the city is read, checked and given its folder: the pool's warm-up
    (kernels, nbconvert) then overlaps the scoring, and a batch whose cities are all refused never starts a pool.

    `previous` (from `_previous_reports`): a city whose fingerprint (input bytes, code, targets, options) matches a
    finished report is skipped without reading the workbook again, so that a re-run of unchanged cities does not
    even import pandas.
    """
    # start-up: a skipped city never imports pandas, openpyxl or the scoring engine (a re-run of unchanged cities
    # returns in under a second)
    from .library import CATALOGUE_VERSION

    run = CityRun(input=str(path), catalogue_version=CATALOGUE_VERSION, target_set=targets.label)
    t0 = time.perf_counter()
    if not path.is_file():
        run.status, run.reason = "invalid", _not_a_file(path)
        return run, None, ""
    run.input_sha256 = sha256_file(path)
    run.fingerprint = hashlib.sha256(
        f"{run.input_sha256}|{fingerprint}|{targets.label}|{sha256_file(target_file) if target_file else ''}"
        f"|pdf={pdf}|{decimal_separator}".encode()
    ).hexdigest()
    wanted = ["report.html"] + (["report.pdf"] if pdf else [])
    if not force and _skip_as_before(run, previous or {}, taken, wanted):
        return run, None, ""
    sub = _read_into_place(run, path, plan or OutputPlan(out, [path]), taken, t0)
    if sub is None or (not force and _unchanged(run, Path(run.out_dir), wanted)):
        return run, None, ""
    if will_render is not None:  # read, checked and given a safe folder: start the workers' warm-up now, so that it
        will_render()  # overlaps the scoring (a batch of refused cities never starts a pool)
    _score_and_save(run, sub, targets)
    params = {"submission": str(path.resolve()), "targets": str(target_file.resolve()) if target_file else "",
              "decimal_separator": decimal_separator}
    return run, params, f"{sub.profile.city} {sub.profile.year}: U4SSC recommendation report"


def _skip_as_before(run: CityRun, previous: dict[str, tuple[Path, dict]], taken: set[str], wanted: list[str]) -> bool:
    """A finished report with this fingerprint is on disk: skip the city without reading its file again."""
    if run.fingerprint not in previous:
        return False
    city_dir, old = previous[run.fingerprint]
    if str(city_dir) in taken or not all((city_dir / w).exists() for w in wanted):
        return False
    taken.add(str(city_dir))
    run.city, run.year = old.get("city", ""), old.get("year")
    run.slug, run.out_dir = city_dir.parent.name, str(city_dir)
    run.status, run.reason = "skipped", "inputs and code unchanged since the last run (use --force to redo)"
    run.outputs = old.get("outputs", [])
    return True


def _read_into_place(run: CityRun, path: Path, plan: OutputPlan, taken: set[str], t0: float):
    """Read and check the submission and give the city its folder (one per city name, inside the output folder,
    never over an input of the run); None (with the reason on `run`) when unusable."""
    from .problems import SubmissionError  # start-up: see _prepare, only for a city that is read
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


def _score_and_save(run: CityRun, sub, targets) -> None:
    """Score the city and write results.xlsx (built in memory, written by atomic_write: a fresh temporary name,
    never through a link)."""
    from .scoring import score  # start-up: see _prepare

    t1 = time.perf_counter()
    results = score(sub, targets=targets)
    buf = io.BytesIO()
    results.to_excel(buf)
    atomic_write(Path(run.out_dir) / "results.xlsx", buf.getvalue())
    run.timings["score_s"] = round(time.perf_counter() - t1, 3)


def _one_run_per_folder(fn: Callable[P, R]) -> Callable[P, R]:
    """`assess` under the lock of its output folder (outdir.locked), taken once the inputs are known to exist:
    a second run into the same folder is refused at once, and a run with nothing to assess writes nothing."""

    @functools.wraps(fn)
    def under_lock(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        given["files"] = _checked_inputs(given["files"], given["decimal_separator"])
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
    decimal_separator: str = ".",
) -> BatchResult:
    """Assess many cities: every bad submission is refused with its problems while the others go on.

    `executor`: any concurrent.futures.Executor (default: a local process pool of `jobs` workers);
    `notebook`: a custom report notebook with the same parameters cell (default: the bundled one);
    `decimal_separator`: "." or "," for the numbers in the reports.
    """
    files = _checked_inputs(files, decimal_separator)
    from .library import load_targets  # start-up: missing inputs are refused before the catalogue loads

    own_pool = executor is None
    timed_out = False
    try:
        out = Path(out)
        target_file = Path(targets) if targets else None
        target_set = load_targets(target_file)
        notebook = Path(notebook) if notebook else bundled("notebooks", NOTEBOOK)
        allowed = notebook_parameters(notebook)
        fingerprint = code_fingerprint()
        runs: list[CityRun] = []
        taken: set[str] = set()
        todo: list[tuple[CityRun, dict, str]] = []
        previous = {} if force else _previous_reports(out)
        plan = OutputPlan(out, [*files, target_file, notebook])

        def will_render(cities: int) -> None:
            # the first city that needs a report starts the pool, so that the workers' kernels warm up while it and
            # the remaining cities are scored; a batch where every city is skipped or invalid never pays for
            # starting (and stopping) worker processes
            nonlocal executor
            if executor is None:
                executor = _start_pool(jobs, cities)

        for i, path in enumerate(files):
            try:
                run, params, title = _prepare(path, out, target_set, target_file, fingerprint, force, pdf, taken,
                                              decimal_separator, previous, partial(will_render, len(files) - i), plan)
            except Exception as exc:  # noqa: BLE001 - one bad city never stops the batch
                run = CityRun(input=str(path), status="invalid", reason=failure_reason(exc))
                params, title = None, ""
            runs.append(run)
            if params is not None:
                todo.append((run, check_parameters(params, allowed), title))
        timed_out = _render_all(todo, notebook, timeout, executor, progress)
    finally:
        if own_pool and executor is not None:
            _stop_pool(executor, kill=timed_out or not todo)  # nothing to render: stop the warm-up, do not wait
    return _finish(BatchResult(runs, out), pdf)


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


def _checked_inputs(files: list[Path] | None, decimal_separator: str) -> list[Path]:
    """The input paths (the demo city when none); a bad option or nothing to assess is refused at once, before
    any import, pool or kernel."""
    if decimal_separator not in {".", ","}:
        raise UserError(f"decimal separator {decimal_separator!r}: use '.' or ','")
    paths = [Path(f) for f in files] if files else [demo_city()]
    missing = [f for f in paths if not f.is_file()]
    if len(missing) == len(paths):
        raise UserError("; ".join(_not_a_file(f) for f in missing))
    return paths


def _not_a_file(path: Path) -> str:
    if path.is_dir():
        return f"{shown(path)}: is a folder, not a submission file; give the .xlsx or .csv files in it"
    return f"{shown(path)}: no such file; check the name and folder"


def _start_pool(jobs: int | None, cities: int) -> ProcessPoolExecutor:
    """A local pool of at most `cities` workers, each warming its kernel and nbconvert as soon as it starts."""
    workers = max(1, min(jobs or os.cpu_count() or 1, cities))
    # spawn, not fork: a forked worker inherits the caller's event loop and threads (JupyterLab, a Playwright
    # session) and can hang in them; a spawned one starts clean, and its start-up overlaps the scoring anyway
    executor = ProcessPoolExecutor(max_workers=workers, initializer=warm_worker,
                                   mp_context=multiprocessing.get_context("spawn"))
    for _ in range(workers):
        executor.submit(start_now)
    return executor


def _render_all(todo, notebook: Path, timeout: float, executor: Executor | None, progress: bool) -> bool:
    """Render every prepared city; returns True when some city ran out of time (its worker must be killed)."""
    if not todo:
        return False
    assert executor is not None, "a city to render always starts the pool"
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="rendering reports", unit="city", file=sys.stderr, leave=False)
    futures: dict[Future, CityRun] = {}
    started = time.perf_counter()
    for run, params, title in todo:
        fut = executor.submit(render_city, str(notebook), params, run.out_dir, title, timeout)
        futures[fut] = run
    # every city gets its own time budget, counted from when a worker could first reach it
    budget = timeout * (len(todo) / max(1, getattr(executor, "_max_workers", 1)) + 1)
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=max(0.1, started + budget - time.perf_counter()),
                                 return_when="FIRST_COMPLETED")
            if not done:
                break
            for fut in done:
                run = futures[fut]
                try:
                    run.timings.update(fut.result())
                    run.status = "ok"
                    run.outputs = sorted(p.name for p in Path(run.out_dir).iterdir() if not p.name.startswith("."))
                except Exception as exc:  # noqa: BLE001 - recorded in the manifest, the batch goes on
                    run.status, run.reason = "failed", failure_reason(exc)
                if bar is not None:
                    bar.update(1)
        for fut in pending:
            run = futures[fut]
            run.status, run.reason = "failed", f"timed out after {timeout:g} s"
            fut.cancel()
    finally:
        if bar is not None:
            bar.close()
    return bool(pending)


def _stop_pool(executor: Executor, kill: bool) -> None:
    if kill:
        for proc in list(getattr(executor, "_processes", {}).values()):
            proc.terminate()
    executor.shutdown(wait=not kill, cancel_futures=True)


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
    """Readable UTF-8 JSON; a file name holding a byte that is not UTF-8 (kept by Python as a lone surrogate) is
    written as its \\udcXX escape, so the manifest stays valid JSON and reads back to the same name."""
    payload = asdict(data) if isinstance(data, CityRun) else data
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    atomic_write(path, _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


_SURROGATE = re.compile("[\ud800-\udfff]")


# ---------------------------------------------------------------- CLI


def summary_table(result: BatchResult) -> str:
    rows = [("city", "year", "status", "seconds", "report or reason")]
    for r in result.runs:
        secs = sum(r.timings.values())
        where = str(Path(r.out_dir) / "report.html") if r.status in {"ok", "skipped"} else r.reason
        name = terminal.clean(r.city or Path(r.input).name)  # a city's name must not drive the terminal
        rows.append((name, str(r.year or ""), r.status, f"{secs:.1f}", terminal.clean(where)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)) for row in rows]
    return "\n".join(lines)


def cli_assess(args) -> int:
    result = assess(args.files or None, out=args.out, pdf=args.pdf, jobs=args.jobs, force=args.force,
                    targets=args.targets, timeout=args.timeout, progress=sys.stderr.isatty(),
                    decimal_separator=args.decimal_separator)
    print(summary_table(result))
    for r in result.runs:
        if r.status == "invalid" and r.problems:
            print(f"\n{r.input}:", file=sys.stderr)
            for line in r.problems[:20]:
                print(f"  {line}", file=sys.stderr)
            if len(r.problems) > 20:
                print(f"  … and {len(r.problems) - 20} more", file=sys.stderr)
    if result.pdf_message:
        print(f"\nPDF not written: {result.pdf_message}", file=sys.stderr)
    ok = sum(r.status in {"ok", "skipped"} for r in result.runs)
    print(f"\n{ok} of {len(result.runs)} cities done; manifest: {Path(args.out) / 'manifest.json'}")
    return result.exit_code
