"""The ghostlearn command line. The only module that parses arguments or prints."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from .results import AnalysisFolder, AnalysisRecord, ResultsFolder, RunFolder

if TYPE_CHECKING:  # imported where used, so that `ghostlearn --help` stays fast
    import xarray as xr

    from .analysis import RunAnalysis
    from .checkpoints import Checkpoint
    from .experiments.base import Fidelity
    from .population import Population
    from .rnn import Model, RNNConfig
    from .sweep import Backend, SweepBudget, SweepProgress, SweepStore
    from .tasks import Task

app = typer.Typer(
    name="ghostlearn",
    help="Abrupt learning through ghost points: toy model, batched RNNs, analysis, figures.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    # Plain help: typer's rich help shows "<bool>" beside every flag with this click.
    rich_markup_mode=None,
)
toy_app = typer.Typer(
    help="The toy model dx/dt = x^2 + r.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(toy_app, name="toy")


class UserError(Exception):
    """Bad input given on the command line."""


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad input into one line on stderr and exit status 2, without a traceback."""
    try:
        yield
    except (ValueError, UserError, FileNotFoundError, FileExistsError, NotADirectoryError) as e:
        typer.echo(f"Error: {e}", err=True)
        raise typer.Exit(2) from None


def _version_callback(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"ghostlearn {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No progress bars or progress log lines (results and errors still show).",
        ),
    ] = False,
) -> None:
    """ghostlearn: reproduce and extend 'A ghost mechanism: an analytical model of abrupt learning'.

    Progress goes to stderr: a bar on a terminal, otherwise (a batch job, a pipe) a log line
    about every 10% of each step. Every command ends by listing the files it wrote.
    """
    _log_to_stderr(enabled=not quiet)


# --------------------------------------------------------------------------- progress

#: Progress log lines (when stderr is not a terminal) go through this logger.
log = logging.getLogger("ghostlearn")


def _log_to_stderr(*, enabled: bool) -> None:
    """Send the ``ghostlearn`` logger's INFO lines to this invocation's stderr."""
    for handler in [h for h in log.handlers if getattr(h, "_ghostlearn_cli", False)]:
        log.removeHandler(handler)
    if not enabled:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler._ghostlearn_cli = True  # type: ignore[attr-defined]  # a marker on our handler
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _quiet() -> bool:
    import click

    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().params.get("quiet"))


Update = Callable[..., None]


@contextlib.contextmanager
def _progress(description: str, unit: str, *, waiting: str | None = None) -> Iterator[Update]:
    """Show the progress of one step; yields ``update(done, total, rate="")``.

    On a terminal, a rich bar on stderr. Otherwise one log line (logger ``ghostlearn``) when
    the step starts, when ``waiting`` ends, at every further ~10% and at the end, so a batch
    job's log shows where it is. Nothing with ``--quiet``.

    Args:
        description: what the step does, e.g. ``"training 6 networks"``.
        unit: what ``done`` and ``total`` count.
        waiting: what happens before the first update (e.g. ``"compiling"``), shown
            until then.
    """
    if _quiet():
        yield lambda done, total, rate="": None
        return
    start = time.perf_counter()
    if sys.stderr.isatty():
        yield from _rich_progress(description, unit, waiting)
        return
    log.info("%s: %s", description, waiting or "started")
    state = {"decile": 0, "first": True}

    def update(done: int, total: int, rate: str = "") -> None:
        elapsed = time.perf_counter() - start
        if state["first"] and waiting:
            log.info("%s: %s done (%s)", description, waiting, _duration(elapsed))
        state["first"] = False
        decile = int(10 * done / total) if total else 0
        if decile <= state["decile"]:
            return
        state["decile"] = decile
        eta = f", about {_duration(elapsed * (total - done) / done)} left" if done < total else ""
        extra = f", {rate}" if rate else ""
        log.info(
            "%s: %d%% (%s/%s %s), %s elapsed%s%s",
            description, 100 * done // total, f"{done:,}", f"{total:,}", unit,
            _duration(elapsed), eta, extra,
        )  # fmt: skip

    yield update
    log.info("%s: done in %s", description, _duration(time.perf_counter() - start))


def _rich_progress(description: str, unit: str, waiting: str | None) -> Iterator[Update]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        label = f"{description} ({waiting})" if waiting else description
        task = bar.add_task(label, total=None, rate="")

        def update(done: int, total: int, rate: str = "") -> None:
            bar.update(task, description=description, completed=done, total=total, rate=rate)

        yield update


def _wrote(*paths: Path | str) -> None:
    """End a command by listing what it wrote, one path a line."""
    typer.echo("wrote:" if paths else "wrote: nothing")
    for path in paths:
        typer.echo(f"  {path}")


# --------------------------------------------------------------------------- parsing helpers


def parse_ints(name: str, text: str, *, max_count: int | None = None) -> list[int]:
    """Parse '0-99', '3', '0,5,7' or '0-4,10-12' into a list of ints (refused before it is
    built when it would hold more than ``max_count``)."""
    from ._validate import int_ranges

    try:
        return int_ranges(name, text, max_count=max_count)
    except ValueError as e:
        raise UserError(str(e)) from None


def _count_floats(text: str) -> int:
    m = re.fullmatch(r"(log|lin)space\(([^,]+),([^,]+),(\d+)\)", text.strip().replace(" ", ""))
    return int(m.group(4)) if m else len(text.split(","))


_MAX_NETWORKS_HELP = "Refuse populations of more networks than this (default 10,000,000)."
_MAX_MEMORY_HELP = (
    "Refuse runs estimated to need more memory, e.g. 8GB (default: GHOSTLEARN_MAX_MEMORY, "
    "else the memory available now)."
)


def parse_floats(name: str, text: str, *, max_count: int | None = None) -> list[float]:
    """Parse '0.02', '0.01,0.02' or 'logspace(-3,1,30)' into a list of floats; a
    ``logspace``/``linspace`` of more than ``max_count`` values is refused before it is
    built."""
    text = text.strip()
    m = re.fullmatch(r"(log|lin)space\(([^,]+),([^,]+),(\d+)\)", text.replace(" ", ""))
    if m and max_count is not None and int(m.group(4)) > max_count:
        raise UserError(
            f"{name} {text!r} gives {int(m.group(4)):,} values, above the limit of "
            f"{max_count:,} (--max-networks)"
        )
    try:
        if m:
            import numpy as np

            lo, hi, n = float(m.group(2)), float(m.group(3)), int(m.group(4))
            space = np.logspace if m.group(1) == "log" else np.linspace
            return [float(v) for v in space(lo, hi, n)]
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(
            f"{name} must be numbers like 0.02 or 0.01,0.02 or logspace(-3,1,30), got {text!r}"
        ) from None


def _out_dir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise UserError(f"--out must be a directory, got the file {str(path)!r}")
    return path


# --------------------------------------------------------------------------- reproduce


@app.command()
def reproduce(
    figures: Annotated[
        list[str] | None, typer.Argument(help="Figures to make (default: all).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    quick: Annotated[
        bool, typer.Option("--quick/--paper", help="Reduced epochs (default) or paper fidelity.")
    ] = True,
    force: Annotated[
        bool, typer.Option(help="Recompute figures that are already complete.")
    ] = False,
) -> None:
    """Reproduce the paper's figures, their data and the claims report into OUT."""
    from .experiments import EXPERIMENTS, run_experiment
    from .experiments.claims import census_lines, collect_claims, write_claims
    from .experiments.claims import headline as claims_headline

    with user_errors():
        names = list(figures) if figures else list(EXPERIMENTS)
        unknown = [n for n in names if n not in EXPERIMENTS]
        if unknown:
            raise UserError(f"unknown figure {unknown[0]!r}; valid: {', '.join(EXPERIMENTS)}")
        out = _out_dir(out)
        results = ResultsFolder(out)
        fidelity: Fidelity = "quick" if quick else "paper"
        written: list[Path] = []

        def claims_so_far() -> list[dict[str, Any]]:
            # The claims report covers every complete experiment in the folder; it is
            # rewritten after each figure, so a long run that stops still has one.
            from .store import read_json

            done = results.complete(EXPERIMENTS)
            return write_claims([read_json(results.experiment(n).summary) for n in done], out)

        rows: list[dict[str, Any]] = []
        for name in names:
            try:
                with _progress(f"{name} ({fidelity})", unit="steps") as update:
                    summary = run_experiment(
                        name, out, fidelity=fidelity, progress=update, force=force
                    )
            except KeyboardInterrupt:
                typer.echo(
                    "interrupted: run the same command again to resume (finished figures "
                    "are kept, and the finished batches of figS1 and figS2)",
                    err=True,
                )
                raise typer.Exit(130) from None
            written += results.experiment(name).files()
            typer.echo(
                f"{name}: {summary['wall_time_s']:.1f} s, "
                f"{claims_headline(collect_claims([summary]))} -> {out / name}"
            )
            for line in census_lines(summary):
                typer.echo(f"  {line}")
            rows = claims_so_far()
        typer.echo(f"claims: {claims_headline(rows)} -> {results.claims_md}")
        from .report import write_report

        with _progress("building the report", unit="training runs") as update:
            page = write_report(out, progress=update)
        typer.echo(f"report: {page.stat().st_size / 1e6:.1f} MB -> {page}")
    _wrote(*written, results.claims_md, results.claims_json, page)


# --------------------------------------------------------------------------- toy


@toy_app.command("critical-lr")
def toy_critical_lr(
    T: Annotated[float, typer.Option("--T", help="Delay T of the task.")] = 100.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find the critical learning rate numerically and print it beside 3 pi^4/32 T^-5."""
    from .toy import find_critical_lr

    with user_errors():
        result = find_critical_lr(T)
    rel = result.measured / result.predicted - 1.0
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "T": result.T,
                    "predicted": result.predicted,
                    "measured": result.measured,
                    "relative_difference": rel,
                }
            )
        )
    else:
        typer.echo(f"T = {result.T:g}")
        typer.echo(f"predicted alpha* = 3 pi^4/32 T^-5 = {result.predicted:.6e}")
        typer.echo(f"measured  alpha* (bisection)      = {result.measured:.6e} ({rel:+.2%})")


# --------------------------------------------------------------------------- sweep

sweep_app = typer.Typer(
    help="Sweeps: train grids of networks in batches, resumably, locally or on Dask.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(sweep_app, name="sweep")


def _duration(seconds: float) -> str:
    """'42 s', '3.5 min', '2.1 h', '4.0 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _sweep_backend(
    processes: int | None, scheduler: str | None, dask_local: int | None, retries: int
) -> Backend:
    from .sweep import Dask, InProcess, ProcessPool

    chosen = [
        n
        for n, v in (
            ("--processes", processes),
            ("--scheduler", scheduler),
            ("--dask-local", dask_local),
        )
        if v is not None
    ]
    if len(chosen) > 1:
        raise UserError(f"choose one backend, got {' and '.join(chosen)}")
    if retries < 0:
        raise UserError(f"--retries must be >= 0, got {retries}")
    if processes is not None:
        return ProcessPool(processes, retries=retries)
    if scheduler is not None:
        return Dask(scheduler=scheduler, retries=retries)
    if dask_local is not None:
        return Dask(local_workers=dask_local, retries=retries)
    return InProcess()


@sweep_app.command("plan")
def sweep_plan(
    spec: Annotated[Path, typer.Argument(help="The sweep spec (TOML).")],
    batch_size: Annotated[
        int | None, typer.Option(help="Most networks per batch (default: the spec's).")
    ] = None,
    estimate: Annotated[
        bool, typer.Option(help="Time a short calibration run and estimate the duration.")
    ] = True,
    calibration_epochs: Annotated[int, typer.Option(help="Epochs of each calibration run.")] = 20,
    workers: Annotated[int, typer.Option(help="Also estimate for this many workers.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    max_networks: Annotated[int | None, typer.Option(help=_MAX_NETWORKS_HELP)] = None,
) -> None:
    """Show the cells, batch groups and batches of a sweep, and how long it would take."""
    from .resources import format_bytes
    from .sweep import PER_NET_FIELDS, estimate_time, load_spec, plan_sweep, sweep_budget

    with user_errors():
        if workers < 1:
            raise UserError(f"--workers must be >= 1, got {workers}")
        if max_networks is not None and max_networks < 1:
            raise UserError(f"--max-networks must be >= 1, got {max_networks}")
        plan = plan_sweep(load_spec(spec, max_networks=max_networks), batch_size=batch_size)
        budget = sweep_budget(plan, workers=workers)
        est = None
        if estimate:
            with _progress("calibrating", unit="groups") as update:
                est = estimate_time(plan, epochs=calibration_epochs, progress=update)
    counts = sorted({1, workers})
    if as_json:
        out = {
            "cells": plan.n_cells,
            "dims": dict(zip(plan.dims, plan.shape, strict=True)),
            "batch_size": plan.spec.batch_size,
            "groups": [
                {"settings": dict(g.settings), "nets": g.n_cells, "batches": len(g.batches)}
                for g in plan.groups
            ],
            "batches": len(plan.batches),
            "net_epochs": plan.net_epochs,
            "batch_memory_bytes": budget.batch_memory,
            "memory_limit_bytes": budget.memory_limit,
        }
        if est is not None:
            out["estimated_seconds"] = {str(w): est.seconds(w) for w in counts}
            out["net_epochs_per_s"] = [g.net_epochs_per_s for g in est.groups]
        typer.echo(json.dumps(out))
        return
    name = f" {plan.spec.name!r}" if plan.spec.name else ""
    axes = " x ".join(f"{d} ({n})" for d, n in zip(plan.dims, plan.shape, strict=True))
    typer.echo(f"sweep{name}: {plan.n_cells:,} cells over {axes}")
    typer.echo(
        f"{len(plan.groups)} batch group(s) (same compiled program; "
        f"{', '.join(PER_NET_FIELDS)} vary inside), {len(plan.batches)} batch(es) of at most "
        f"{plan.spec.batch_size} networks, {plan.net_epochs:,} network-epochs"
    )
    for g in plan.groups:
        sizes = g.batch_sizes
        what = ", ".join(f"{k}={v}" for k, v in g.settings.items()) or "all cells"
        line = f"  group {g.index}: {what}: {g.n_cells:,} networks in {len(g.batches)} "
        line += f"batch(es) of {'/'.join(map(str, sizes))}"
        if est is not None:
            t = est.groups[g.index]
            line += f"; {t.net_epochs_per_s:,.0f} network-epochs/s, compile {t.compile_s:.1f} s"
        typer.echo(line)
    typer.echo(
        f"memory: about {format_bytes(budget.batch_memory)} per worker for the largest batch "
        f"{budget.largest_batch} ({budget.largest_nets:,} networks x "
        f"{budget.largest_epochs:,} epochs), {format_bytes(budget.batch_memory * workers)} on "
        f"{workers} worker(s); limit {format_bytes(budget.memory_limit)}"
    )
    if est is not None:
        times = ", ".join(
            f"{_duration(est.seconds(w))} on {w} worker{'s' if w > 1 else ''}" for w in counts
        )
        typer.echo(
            f"estimated time: {times} (from {calibration_epochs}-epoch calibration runs "
            "in this process)"
        )
    if workers > len(plan.batches):
        n = len(plan.batches)
        typer.echo(
            f"note: {n} batch{'es keep' if n > 1 else ' keeps'} at most {n} of {workers} "
            "workers busy; a smaller --batch-size makes more batches"
        )


@sweep_app.command("run")
def sweep_run(
    spec: Annotated[Path, typer.Argument(help="The sweep spec (TOML).")],
    out: Annotated[Path, typer.Option(help="The sweep's store (a directory).")],
    batch_size: Annotated[
        int | None, typer.Option(help="Most networks per batch (default: the spec's).")
    ] = None,
    processes: Annotated[
        int | None, typer.Option(help="Run on a local pool of this many processes.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Run on the Dask cluster at tcp://HOST:PORT.")
    ] = None,
    dask_local: Annotated[
        int | None, typer.Option(help="Start a local Dask cluster of this many workers.")
    ] = None,
    retries: Annotated[int, typer.Option(help="Retries of a batch whose worker died.")] = 2,
    max_networks: Annotated[int | None, typer.Option(help=_MAX_NETWORKS_HELP)] = None,
    max_memory: Annotated[str | None, typer.Option(help=_MAX_MEMORY_HELP)] = None,
    estimate: Annotated[
        bool,
        typer.Option(help="Time a short calibration run first and report the estimated time."),
    ] = True,
    calibration_epochs: Annotated[int, typer.Option(help="Epochs of each calibration run.")] = 20,
) -> None:
    """Run a sweep into OUT; run it again to resume (finished batches are skipped, damaged
    ones recomputed). Before training it reports the networks, work and memory left."""
    import time

    from .resources import format_bytes
    from .sweep import load_spec, run_sweep

    def show_budget(b: SweepBudget) -> None:
        if _quiet():
            return
        typer.echo(
            f"{b.networks_left:,} of {b.networks:,} networks left in {b.batches_left:,} "
            f"batch(es), {b.groups} group(s), {b.net_epochs_left:,} network-epochs",
            err=True,
        )
        where = (
            f"{format_bytes(b.memory)} on {b.workers} local worker(s)"
            if b.workers
            else "the batches run on the Dask cluster's workers"
        )
        typer.echo(
            f"memory: about {format_bytes(b.batch_memory)} per batch ({b.largest_batch}), "
            f"{where} (limit {format_bytes(b.memory_limit)})",
            err=True,
        )
        seconds = b.seconds()  # None without an estimate
        if seconds is not None:
            typer.echo(f"estimated time: {_duration(seconds)}", err=True)

    with user_errors():
        try:
            backend = _sweep_backend(processes, scheduler, dask_local, retries)
        except ImportError as e:
            raise UserError(str(e)) from None
        if max_networks is not None and max_networks < 1:
            raise UserError(f"--max-networks must be >= 1, got {max_networks}")
        loaded = load_spec(spec, max_networks=max_networks)
        label = loaded.name or spec.stem
        start = time.perf_counter()
        last: list[SweepProgress] = []
        try:
            with _progress(f"sweep {label}", unit="network-epochs") as update:

                def show(p: SweepProgress) -> None:
                    # The bar counts network-epochs (smooth, in-process it moves within a
                    # batch); the text adds batches and this run's throughput.
                    last[:] = [p]
                    rate = f"batches {p.batches_done}/{p.batches_total}"
                    if p.rate == p.rate:  # not NaN
                        rate += f", {p.rate:,.0f} network-epochs/s"
                    update(p.net_epochs_done, p.net_epochs_total, rate=rate)

                status = run_sweep(
                    loaded,
                    out,
                    backend=backend,
                    batch_size=batch_size,
                    progress=show,
                    max_memory=max_memory,
                    report=show_budget,
                    estimate=estimate,
                    calibration_epochs=calibration_epochs,
                )
        except ImportError as e:
            raise UserError(str(e)) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: run the same command again to resume", err=True)
            raise typer.Exit(130) from None
    seconds = time.perf_counter() - start
    p = last[0] if last else None
    rate = f", {p.rate:,.0f} network-epochs/s" if p is not None and p.rate == p.rate else ""
    typer.echo(
        f"sweep complete: {status.batches_total} batch(es), {status.nets_total:,} networks "
        f"-> {out} ({_duration(seconds)}{rate})"
    )
    _wrote(out)


@sweep_app.command("status")
def sweep_status_cmd(
    store: Annotated[Path, typer.Argument(help="The sweep's store.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How far a sweep has got (works while it runs elsewhere)."""
    import dataclasses

    from .sweep import SweepStore, sweep_status

    with user_errors():
        s = sweep_status(store)
        manifest_problem = _manifest_problem(SweepStore(store))
    if as_json:
        typer.echo(json.dumps({**dataclasses.asdict(s), "complete": s.complete}))
    else:
        pct = 100.0 * s.net_epochs_done / s.net_epochs_total if s.net_epochs_total else 100.0
        name = f" {s.name!r}" if s.name else ""
        state = "complete" if s.complete else "damaged" if s.damaged else "unfinished"
        typer.echo(f"sweep{name} in {s.path}: {state}")
        typer.echo(f"  batches  {s.batches_done}/{s.batches_total}")
        typer.echo(f"  networks {s.nets_done:,}/{s.nets_total:,} ({pct:.1f}% of the work)")
        typer.echo(f"  started  {s.started}")
        typer.echo(f"  updated  {s.last_update or 'no batch finished yet'}")
        if s.in_progress:
            typer.echo(f"  {s.in_progress} batch(es) being written (or left by a killed run)")
    _exit_if_damaged(s.damaged, manifest_problem)


def _manifest_problem(store: SweepStore) -> str | None:
    try:
        store.manifest()
    except ValueError as e:
        return str(e)
    return None


def _exit_if_damaged(damaged: Mapping[str, str], manifest_problem: str | None) -> None:
    """One line per damaged batch (and a garbled manifest) on stderr, then exit 2."""
    if not damaged and manifest_problem is None:
        return
    for name, why in damaged.items():
        typer.echo(f"Error: {why if why.startswith('batch') else f'batch {name}: {why}'}", err=True)
    if manifest_problem is not None:
        typer.echo(f"Error: {manifest_problem}", err=True)
    if damaged:
        typer.echo(
            f"Error: {len(damaged)} batch(es) are not counted as done; "
            "`ghostlearn sweep run` with the store's spec recomputes them",
            err=True,
        )
    raise typer.Exit(2)


@sweep_app.command("verify")
def sweep_verify(
    store: Annotated[Path, typer.Argument(help="The sweep's store.")],
) -> None:
    """Check every batch of a sweep against its checksums and the store's spec (exit 2 if
    any batch is damaged or was trained under another spec)."""
    from .sweep import SweepStore

    with user_errors():
        if not store.exists():
            raise UserError(f"no sweep store at {str(store)!r}")
        sweep = SweepStore(store)
        damaged = sweep.verify()
        manifest_problem = _manifest_problem(sweep)
        checked = sorted(sweep.present())
    ok = len(checked) - len(damaged)
    if not damaged and manifest_problem is None:
        typer.echo(
            f"{ok} batch(es) of {len(sweep.plan.batches)} verified: every array matches its "
            f"checksum -> {store}"
        )
        return
    typer.echo(f"{ok} of {len(checked)} batch(es) in place verified", err=True)
    _exit_if_damaged(damaged, manifest_problem)


@sweep_app.command("summarize")
def sweep_summarize(
    store: Annotated[Path, typer.Argument(help="The sweep's store.")],
    out: Annotated[Path, typer.Option(help="Folder for summary.csv and the phase diagram.")],
    x: Annotated[str | None, typer.Option(help="Horizontal axis (default lr).")] = None,
    y: Annotated[
        str | None, typer.Option(help="Vertical axis (default: next swept field).")
    ] = None,
    loss_ratio: Annotated[
        float, typer.Option(help="Learned when final / first loss is below this.")
    ] = 1e-2,
    partial: Annotated[bool, typer.Option(help="Summarize an unfinished sweep.")] = False,
) -> None:
    """Phase diagrams (fraction learned, fraction stuck) and a tidy CSV of every cell."""
    from .store import write_figure, write_text
    from .sweep import open_sweep, plot_phase_diagram, summarize

    with user_errors():
        out = _out_dir(out)
        summary = summarize(open_sweep(store, partial=partial), loss_ratio=loss_ratio)
        fig = plot_phase_diagram(summary, x=x, y=y)
        csv = write_text(summary.to_csv(), out / "summary.csv")
        figures = write_figure(fig, out, stem="phase")
    cells = summary.cells
    n = cells.learned.size
    typer.echo(
        f"{n:,} networks: {int(cells.learned.sum()):,} learned (final/first loss < "
        f"{loss_ratio:g}), {int(cells.learned_acc.sum()):,} learned at some point, "
        f"{int(cells.stuck.sum()):,} stuck"
    )
    typer.echo(f"-> {csv}, {', '.join(str(f) for f in figures)}")
    _wrote(csv, *figures)


# --------------------------------------------------------------------------- train


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Output folder (train.zarr and training.png).")],
    rank: Annotated[
        int, typer.Option(help="Trainable rank K (1 = the paper's rank-one model).")
    ] = 1,
    model: Annotated[
        str, typer.Option(help="auto (rank1 if K = 1 else lowrank), rank1, lowrank or full.")
    ] = "auto",
    seeds: Annotated[str, typer.Option(help="Seeds: 0-99, 3 or 0,5,7.")] = "0",
    lr: Annotated[
        str, typer.Option(help="Learning rate(s): 0.02, 0.01,0.02, logspace(-3,0,10).")
    ] = "0.02",
    c: Annotated[
        str | None,
        typer.Option(help="Confidence(s) c of the rank-one readout (default 10; rank one only)."),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Epochs (one gradient step each).")] = 6000,
    N: Annotated[int, typer.Option("--N", help="Units per network.")] = 100,
    snapshot_every: Annotated[
        int, typer.Option(help="Save parameters every k epochs (0: never).")
    ] = 0,
    optimizer: Annotated[
        str, typer.Option(help="sgd (the paper's) or an optax name, e.g. adam.")
    ] = "sgd",
    init: Annotated[
        str,
        typer.Option(
            help="numpy; paper for the authors' weights (their PyTorch seed, computed "
            "without PyTorch); torch for the same weights drawn by PyTorch (if installed)."
        ),
    ] = "numpy",
    dtype: Annotated[str, typer.Option(help="float32 or float64.")] = "float32",
    max_networks: Annotated[int | None, typer.Option(help=_MAX_NETWORKS_HELP)] = None,
    max_memory: Annotated[str | None, typer.Option(help=_MAX_MEMORY_HELP)] = None,
    train_c: Annotated[
        bool, typer.Option(help="Train the confidence c as well (rank one).")
    ] = False,
    T: Annotated[
        float,
        typer.Option("--T", help="Delay T of the da task [ms]; a trial lasts 2T."),
    ] = 100.0,
    tau: Annotated[float, typer.Option("--tau", help="Time constant tau [ms].")] = 10.0,
    dt: Annotated[float, typer.Option("--dt", help="Euler time step dt [ms].")] = 5.0,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace the results in an OUT folder that is not empty."),
    ] = False,
    task: Annotated[
        str,
        typer.Option(help="Task: da (the paper's delayed activation), dcdt or dmts."),
    ] = "da",
) -> None:
    """Train a population (seeds x lr x c) of RNNs on a task (default: the paper's
    delayed activation; dcdt and dmts take an input, see docs/tasks.md).

    OUT must be new or empty, unless --overwrite; if it already holds this very run
    (same model, settings and population), nothing is retrained.
    """
    from .tasks import make_task

    with user_errors():
        out = _training_folder(out)
        task_obj = make_task(task)
        cfg, confident = _training_model(
            model, rank=rank, task=task, c=c, N=N, T=T, tau=tau, dt=dt, train_c=train_c
        )
        population = _training_population(
            seeds, lr, c, confident=confident, max_networks=max_networks
        )
        settings = {
            "epochs": epochs,
            "snapshot_every": snapshot_every,
            "optimizer": optimizer,
            "init": init,
            "dtype": dtype,
        }
        if not overwrite and _holds_run(out, cfg, task_obj, population, settings):
            typer.echo(
                f"{RunFolder(out).store} already holds this run: nothing retrained "
                "(--overwrite trains it again)"
            )
            _wrote()
            return
        _check_out_is_free(out, overwrite=overwrite)
        ds, wall = _train_with_progress(
            cfg, population, task=task_obj, settings=settings, max_memory=max_memory
        )
        written = _write_training(ds, out)
    _report_training(ds, out, n_nets=len(population), epochs=epochs, wall=wall)
    _wrote(*written)


def _training_folder(out: Path) -> Path:
    """OUT, checked, without what a killed earlier run of this command left half-written."""
    from .store import remove_temporaries

    out = _out_dir(out)
    remove_temporaries(out, RunFolder(out).names())
    return out


def _training_model(
    model: str,
    *,
    rank: int,
    task: str,
    c: str | None,
    N: int,
    T: float,
    tau: float,
    dt: float,
    train_c: bool,
) -> tuple[RNNConfig, bool]:
    """The network trained (``--model auto``: rank one for K = 1, else low rank) and
    whether its readout has a confidence ``c`` (rank one on the da task)."""
    from .rnn import RNNConfig

    if model == "auto":
        model = "rank1" if rank == 1 else "lowrank"
    confident = model == "rank1" and task == "da"
    if c is not None and not confident:
        raise UserError(
            "--c sets the confidence of the rank-one readout of the da task; "
            f"model {model!r} on task {task!r} has none, got --c {c}"
        )
    cfg = RNNConfig(
        # typer gives a str; RNNConfig rejects any name but those of Model.
        model=cast("Model", model),
        rank=None if model == "full" else rank,
        N=N,
        T=T,
        tau=tau,
        dt=dt,
        train_c=train_c,
    )
    return cfg, confident


def _training_population(
    seeds: str, lr: str, c: str | None, *, confident: bool, max_networks: int | None
) -> Population:
    """The population seeds x lr (x c when ``confident``; default c = 10), its size checked
    against --max-networks before it is built."""
    import math

    from ._validate import count_int_ranges
    from .resources import DEFAULT_MAX_NETWORKS, check_networks
    from .train import grid

    limit = DEFAULT_MAX_NETWORKS if max_networks is None else max_networks
    if limit < 1:
        raise UserError(f"--max-networks must be >= 1, got {max_networks}")
    counts = {"--seeds": count_int_ranges("--seeds", seeds), "--lr": _count_floats(lr)}
    if confident and c is not None:
        counts["--c"] = _count_floats(c)
    check_networks(
        " x ".join(counts) + f" ({' x '.join(f'{n:,}' for n in counts.values())})",
        math.prod(counts.values()),
        limit,
    )
    return grid(
        seeds=parse_ints("seeds", seeds),
        lr=parse_floats("lr", lr),
        c=parse_floats("c", "10" if c is None else c) if confident else None,
    )


def _check_out_is_free(out: Path, *, overwrite: bool) -> None:
    """Refuse an OUT folder that holds anything, unless --overwrite."""
    if not overwrite and out.is_dir() and any(out.iterdir()):
        raise UserError(
            f"--out {str(out)!r} exists and is not empty; pass --overwrite to replace "
            "its results, or choose a new folder"
        )


def _train_with_progress(
    cfg: RNNConfig,
    population: Population,
    *,
    task: Task,
    settings: dict[str, Any],
    max_memory: str | None,
) -> tuple[xr.Dataset, float]:
    """Train the population, showing progress; the Dataset and the wall time [s].

    ``settings``: the training keywords (``epochs``, ``snapshot_every``, ``optimizer``,
    ``init``, ``dtype``), as the store records them.
    """
    from .train import train as run_training

    n_nets = len(population)
    start = time.perf_counter()
    with _progress(f"training {n_nets} networks", unit="epochs", waiting="compiling") as update:
        compiled_at: list[float] = []

        def progress(done: int, total: int) -> None:
            # The first call comes once the program is compiled: the rate counts from it.
            if not compiled_at:
                compiled_at.append(time.perf_counter())
            rate = n_nets * done / max(time.perf_counter() - compiled_at[0], 1e-9)
            update(done, total, f"{rate:,.0f} net-epochs/s" if done else "")

        ds = run_training(
            cfg, population, task=task, **settings, progress=progress, max_memory=max_memory
        )
    return ds, time.perf_counter() - start


def _report_training(ds: xr.Dataset, out: Path, *, n_nets: int, epochs: int, wall: float) -> None:
    """One line: the networks trained, how fast, how many diverged, and where they went."""
    n_div = int(ds["diverged"].sum())
    typer.echo(
        f"trained {n_nets} networks x {epochs} epochs in {wall:.1f} s "
        f"({n_nets * epochs / wall:,.0f} net-epochs/s incl. compilation); "
        f"{n_div} diverged -> {RunFolder(out).store}"
    )


def _write_training(ds: xr.Dataset, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from .plotting import training_curves
    from .store import write_figure, write_zarr

    store = write_zarr(ds, RunFolder(out).store)
    return [store, *write_figure(training_curves(ds), out, stem=RunFolder.FIGURE)]


def _holds_run(
    out: Path, cfg: RNNConfig, task: Task, population: Population, settings: dict[str, Any]
) -> bool:
    """Whether ``out/train.zarr`` is a complete run of this model, task, population and
    settings.

    Reads the store's attributes and per-network coordinates only.
    """
    import dataclasses

    import numpy as np
    import xarray as xr
    import zarr

    from .store import decode_attrs
    from .tasks import DelayedActivation

    if not RunFolder(out).store.is_dir():
        return False
    try:
        group = zarr.open_group(str(RunFolder(out).store), mode="r")
        attrs = decode_attrs(xr.Dataset(attrs=dict(group.attrs))).attrs
        if attrs.get("model") != dataclasses.asdict(cfg):
            return False
        if attrs.get("task", DelayedActivation().to_dict()) != task.to_dict():
            return False
        stored = attrs.get("train", {})
        if any(stored.get(k) != v for k, v in settings.items()) or stored.get("epoch_offset"):
            return False
        for name, values in population.to_dict().items():
            if values is None:
                continue
            coord = "seed" if name == "seeds" else name
            stored_values = group[coord]
            if not isinstance(stored_values, zarr.Array):
                return False
            if not np.array_equal(np.asarray(stored_values[:]), np.asarray(values)):
                return False
    except Exception:  # noqa: BLE001 - an unreadable or different store is not this run
        return False
    return True


# --------------------------------------------------------------------------- analyze


@app.command()
def analyze(
    path: Annotated[
        Path,
        typer.Argument(
            help="A training store (zarr), or a checkpoint (.npz or .safetensors) of snapshots."
        ),
    ],
    out: Annotated[Path | None, typer.Option(help="Output folder (default: beside PATH).")] = None,
    net: Annotated[int, typer.Option(help="Network drawn in the figure.")] = 0,
    flow_epochs: Annotated[
        str | None, typer.Option(help="Epochs of the flow panels, e.g. 0,1000,5000.")
    ] = None,
    c: Annotated[
        float, typer.Option(help="Confidence used to score rank-one snapshots that carry no loss.")
    ] = 10.0,
    interval: Annotated[
        tuple[float, float],
        typer.Option(help="kappa interval (rank K: box in every latent coordinate) searched."),
    ] = (-15.0, 15.0),
    rank: Annotated[
        int | None,
        typer.Option(
            help="Checkpoints: analyse W through its leading RANK singular directions "
            "(full rank: default 2; rank K: default K, the exact factors)."
        ),
    ] = None,
    n_in: Annotated[
        int | None,
        typer.Option(help="Checkpoints: the number of input channels W_in must have."),
    ] = None,
    u: Annotated[
        str | None,
        typer.Option(
            help="Networks with inputs: a constant input, one number per input channel, "
            "e.g. 1,0; the flows analysed are -kappa + Nmat tanh(M kappa + W_in u + b) "
            "(default: no input, u = 0)."
        ),
    ] = None,
) -> None:
    """Find fixed points, ghosts, bifurcations and abrupt drops; write analysis.json and a figure.

    A checkpoint holds one array per parameter, each with a leading snapshot axis S
    (shapes [snapshots, N] and so on) or, for one snapshot, without it. Column
    convention: x <- (1 - D) x + D tanh(W x + W_in u + b). See docs/checkpoints.md.

    \b
      rank one   m [S, N], n [S, N], b [S, N]          W = m n^T
      rank K     M [S, N, K], Nmat [S, K, N], b [S, N] W = M Nmat
      full rank  W [S, N, N], b [S, N]                 W ~ U_K S_K V_K^T (K = --rank)
      optional   W_in [S, N, n_in], w_out [S, N], b_out [S], epoch [S], loss [S], D [],
                 or per-epoch loss, grad_norm, accuracy [E] at loss_epoch [E]

    Without a loss the snapshots are scored on the delayed-activation task (rank one at
    --c; rank K and full rank through w_out, b_out). With the loss at fewer than 3 epochs
    (one snapshot, say), or none, the fixed points and ghosts are still found; the
    verdict is not-determinable (too few epochs to look for drops). `ghostlearn convert`
    turns PyTorch state_dicts into a checkpoint.
    """
    import matplotlib

    matplotlib.use("Agg")

    with user_errors():
        path = _analysis_source(path)
        if not (c > 0 and c < float("inf")):
            raise UserError(f"--c must be a finite number > 0, got {c}")
        folder = _out_dir(out if out is not None else path.parent)
        if path.is_dir():
            found = _analyze_store(path, rank=rank, n_in=n_in, interval=interval, u=u)
        else:
            found = _analyze_checkpoint_file(
                path, rank=rank, n_in=n_in, c=c, interval=interval, u=u
            )
        drawn = _drawn_network(found.analyses, net)
        epochs = _flow_epochs(flow_epochs, drawn)
        record = _analysis_record(path, found)
        written = _write_analysis(record, folder, drawn=drawn, flow_epochs=epochs)
    _report_analysis(found, record, folder)
    _wrote(*written)


@dataclasses.dataclass(frozen=True)
class _Analysed:
    """What `ghostlearn analyze` found: one analysis per network, with its labels (``seed``,
    ``lr``, ``c``, ``rank`` where known), the store's group analysed (None for a
    checkpoint), the input ``u`` and the checkpoint read (None for a store)."""

    analyses: list[RunAnalysis]
    labels: list[dict[str, Any]]
    group: str | None
    u: list[float] | None
    checkpoint: Checkpoint | None = None


def _analysis_source(path: Path) -> Path:
    """PATH, checked; for a run folder written by `ghostlearn train`, its store."""
    if not path.exists():
        raise UserError(f"PATH does not exist: {path}")
    if path.is_dir() and not _is_zarr(path) and RunFolder(path).store.is_dir():
        return RunFolder(path).store
    return path


def _input_values(u: str | None, n_channels: int | None, where: str) -> list[float] | None:
    """--u as numbers, checked against the network's input channels (``n_channels``, None
    when ``where`` has no input weights)."""
    import math

    if u is None:
        return None
    try:
        values = [float(v) for v in u.split(",")]
    except ValueError:
        raise UserError(f"--u must be numbers separated by commas, e.g. 1,0, got {u!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"--u must be finite numbers, got {u!r}")
    if n_channels is None:
        raise UserError(
            f"--u applies to networks with inputs (W_in), and {where} has none; got --u {u}"
        )
    if len(values) != n_channels:
        raise UserError(
            f"--u must have one number per input channel (n_in = {n_channels}), got "
            f"{len(values)}: --u {u}"
        )
    return values


def _analyze_store(
    path: Path,
    *,
    rank: int | None,
    n_in: int | None,
    interval: tuple[float, float],
    u: str | None,
) -> _Analysed:
    """Every network of the first training run in the zarr store ``path``."""
    from .analysis import analyze_dataset
    from .store import find_training_datasets

    for name, value in (("--rank", rank), ("--n-in", n_in)):
        if value is not None:
            raise UserError(
                f"{name} applies to checkpoint files, not to training stores, got "
                f"{name} {value} with {path}"
            )
    found = find_training_datasets(path)
    if not found:
        raise UserError(f"{path} holds no training run with parameter snapshots (snap_*)")
    group, ds = next(iter(found.items()))
    with_input = "snap_W_in" in ds.variables
    u_in = _input_values(u, ds.sizes["input"] if with_input else None, str(path))
    n_nets = ds.sizes["net"]
    with _progress(f"analysing {n_nets} networks", unit="networks") as update:
        analyses: list[RunAnalysis] = analyze_dataset(
            ds, interval=interval, u=u_in, progress=update
        )
    labels = [
        {k: ds[k].values[i].item() for k in ("seed", "lr", "c", "rank") if k in ds.coords}
        for i in range(ds.sizes["net"])
    ]
    return _Analysed(analyses, labels, group, u_in)


def _analyze_checkpoint_file(
    path: Path,
    *,
    rank: int | None,
    n_in: int | None,
    c: float,
    interval: tuple[float, float],
    u: str | None,
) -> _Analysed:
    """The one network of the checkpoint file ``path``."""
    from .checkpoints import analyze_checkpoint, read_checkpoint

    if rank is not None and rank < 1:
        raise UserError(f"--rank must be >= 1, got {rank}")
    if n_in is not None and n_in < 0:
        raise UserError(f"--n-in must be >= 0, got {n_in}")
    checkpoint = read_checkpoint(path, rank=rank, n_in=n_in)
    u_in = _input_values(u, checkpoint.n_in, str(path))
    with _progress("analysing 1 network", unit="networks") as update:
        analyses = [analyze_checkpoint(checkpoint, c=c, interval=interval, u=u_in)]
        update(1, 1)
    return _Analysed(analyses, [{}], None, u_in, checkpoint)


def _drawn_network(analyses: list[RunAnalysis], net: int) -> RunAnalysis:
    """The analysis of network --net, the one drawn in the figure."""
    if not 0 <= net < len(analyses):
        raise UserError(f"--net must be in 0..{len(analyses) - 1}, got {net}")
    return analyses[net]


def _flow_epochs(text: str | None, drawn: RunAnalysis) -> list[float] | None:
    """--flow-epochs as numbers (None when not given), within the run's snapshot epochs."""
    epochs = parse_floats("--flow-epochs", text) if text else None
    if epochs is not None:
        span = [float(e) for e in drawn.snapshot_epochs]
        lo, hi = min(span), max(span)
        outside = [e for e in epochs if not lo <= e <= hi]
        if outside:
            raise UserError(
                f"--flow-epochs must lie within the run's snapshot epochs {lo:g}..{hi:g}, "
                f"got {outside[0]:g}"
            )
    return epochs


def _analysis_record(path: Path, found: _Analysed) -> AnalysisRecord:
    """What analysis.json holds: the source, the verdict counts and every network's
    analysis."""
    from . import __version__

    runs = [
        {"net": i, **label, **a.to_dict()}
        for i, (a, label) in enumerate(zip(found.analyses, found.labels, strict=True))
    ]
    counts: dict[str, int] = {}
    for a in found.analyses:
        counts[a.verdict.label] = counts.get(a.verdict.label, 0) + 1
    return AnalysisRecord(
        source=str(path),
        group=found.group,
        ghostlearn_version=__version__,
        verdict_counts=counts,
        runs=runs,
        u=None if found.u is None else [float(x) for x in found.u],
        checkpoint=None if found.checkpoint is None else found.checkpoint.to_dict(),
    )


def _write_analysis(
    record: AnalysisRecord,
    folder: Path,
    *,
    drawn: RunAnalysis,
    flow_epochs: list[float] | None,
) -> list[Path]:
    """Write analysis.json and the figure of network ``drawn``; the paths written."""
    from .analysis.plotting import plot_run
    from .store import write_figure, write_json

    written = [write_json(record.to_dict(), AnalysisFolder(folder).record)]
    fig = plot_run(drawn, flow_epochs=flow_epochs)
    written += write_figure(fig, folder, stem=AnalysisFolder.FIGURE)
    return written


def _report_analysis(found: _Analysed, record: AnalysisRecord, folder: Path) -> None:
    """The checkpoint read (if any), then the verdict counts and where they went."""
    if found.checkpoint is not None:
        typer.echo(_describe_checkpoint(found.checkpoint))
    counts = record.verdict_counts
    summary = ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
    typer.echo(f"{len(found.analyses)} run(s): {summary} -> {AnalysisFolder(folder).record}")


def _describe_checkpoint(ckpt: Checkpoint, *, verb: str = "analysed") -> str:
    """One line: what the checkpoint is and how it is analysed."""
    words = {"rank1": "rank one", "lowrank": f"rank {ckpt.stored_rank}", "full": "full rank"}
    e = ckpt.epochs
    line = (
        f"checkpoint: {words[ckpt.kind]}, N = {ckpt.N}, {ckpt.n_snapshots} snapshot(s) at "
        f"epochs {e[0]:g}..{e[-1]:g}"
    )
    if ckpt.svd is not None:
        share = ckpt.svd.discarded_share
        line += (
            f"; {verb} through its leading {ckpt.svd.K} singular direction(s), which leave "
            f"out {share.max():.3g} of the spectrum at most (last snapshot {share[-1]:.3g}; "
            "sum of the discarded singular values squared / sum of all)"
        )
    return line


def _is_zarr(path: Path) -> bool:
    return any((path / f).is_file() for f in ("zarr.json", ".zgroup", ".zarray"))


# --------------------------------------------------------------------------- convert


@app.command()
def convert(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILES",
            help="state_dicts, one snapshot each: .pt/.pth (read with torch.load(..., "
            "weights_only=True); one may hold a list of state_dicts), .safetensors or .npz.",
        ),
    ],
    out: Annotated[Path, typer.Option(help="The checkpoint to write: .npz or .safetensors.")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="KEY=NAME",
            help="KEY=NAME: take the checkpoint's KEY (m, n, b, M, Nmat, W, W_in, w_out, "
            "b_out, epoch, loss, D) from the state_dict entry NAME; repeat for more keys. "
            "NAME may be a sum a+b; b=0 for a network without bias.",
        ),
    ] = None,
    row_convention: Annotated[
        bool,
        typer.Option(
            "--row-convention",
            help="The weights act on row vectors, x @ S_l @ S_r: every matrix is transposed "
            "(M = S_r^T, Nmat = S_l^T, W = W_r^T); M and Nmat default to S_r and S_l.",
        ),
    ] = False,
    epochs: Annotated[
        str | None,
        typer.Option(
            help="Epoch of each snapshot, in the order given: 0,100,200 or "
            "linspace(0,1000,11) (default: the 'epoch' entries, else 0..S-1)."
        ),
    ] = None,
    D: Annotated[
        float | None,
        typer.Option("--D", help="Record D = dt / tau, in (0, 1] (1 for torch.nn.RNN)."),
    ] = None,
    n_in: Annotated[
        int | None, typer.Option(help="The number of input channels W_in must have.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUT if it exists.")
    ] = False,
) -> None:
    """Turn PyTorch state_dicts (or .safetensors, .npz) into a checkpoint for `analyze`.

    The snapshots are stacked along a leading axis in the order given (sorted by epoch
    when the epochs are known). Default names: W = weight_hh_l0, W_in = weight_ih_l0,
    b = bias_ih_l0+bias_hh_l0 (torch.nn.RNN), or the checkpoint's own names (m, n, b,
    M, Nmat, W, ...). Nothing is unpickled beyond tensors. See docs/checkpoints.md.
    """
    from .checkpoints import convert_state_dicts, load_state_dicts, write_checkpoint

    with user_errors():
        if out.suffix.lower() not in (".npz", ".safetensors"):
            raise UserError(f"--out must end in .npz or .safetensors, got {str(out)!r}")
        if out.is_dir():
            raise UserError(f"--out must be a file, got the directory {str(out)!r}")
        if out.exists() and not overwrite:
            raise UserError(f"--out {str(out)!r} exists; pass --overwrite to replace it")
        if any(p.resolve() == out.resolve() for p in inputs if p.exists()):
            raise UserError(f"--out {str(out)!r} is one of the inputs; choose another file")
        if D is not None and not 0 < D <= 1:
            raise UserError(f"--D must be in (0, 1], got {D}")
        if n_in is not None and n_in < 0:
            raise UserError(f"--n-in must be >= 0, got {n_in}")
        mapping: dict[str, str] = {}
        for item in map_ or []:
            key, sep, name = item.partition("=")
            if not sep or not key.strip() or not name.strip():
                raise UserError(f"--map must be KEY=NAME, e.g. W=rnn.weight_hh_l0, got {item!r}")
            if key.strip() in mapping:
                raise UserError(f"--map {key.strip()} is given twice, got {item!r}")
            mapping[key.strip()] = name.strip()
        state_dicts = []
        for p in inputs:
            state_dicts += load_state_dicts(p)
        epoch_list = parse_floats("--epochs", epochs) if epochs is not None else None
        if epoch_list is not None and len(epoch_list) != len(state_dicts):
            raise UserError(
                f"--epochs must give one epoch per snapshot ({len(state_dicts)}), "
                f"got {len(epoch_list)}"
            )
        source = str(inputs[0]) if len(inputs) == 1 else f"{inputs[0]} (and {len(inputs) - 1} more)"
        done = convert_state_dicts(
            state_dicts,
            mapping=mapping,
            row_convention=row_convention,
            epochs=epoch_list,
            D=D,
            n_in=n_in,
            source=source,
        )
        path = write_checkpoint(done.arrays, out)
    what = _describe_checkpoint(done.checkpoint, verb="to be analysed")
    typer.echo(f"{what} -> {path}")
    for key, name in done.sources.items():
        typer.echo(f"  {key:<6} <- {name}")
    if done.order != sorted(done.order):
        typer.echo(f"  snapshots sorted by epoch: input positions {done.order}")
    _wrote(path)


# --------------------------------------------------------------------------- report


@app.command()
def report(
    path: Annotated[
        Path,
        typer.Argument(
            help="A results folder, a training store (.zarr, or the folder holding "
            "train.zarr), an analysis.json, or a checkpoint (.npz or .safetensors)."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="HTML file to write (default: report.html in/beside PATH)."),
    ] = None,
    max_networks: Annotated[
        int, typer.Option(help="Networks per run offered in the page (a mix of outcomes).")
    ] = 20,
    nets: Annotated[
        str | None, typer.Option(help="Show these networks instead, e.g. 0-4,17.")
    ] = None,
    max_snapshots: Annotated[
        int, typer.Option(help="Snapshots per network the epoch slider steps through.")
    ] = 150,
) -> None:
    """Write one self-contained report.html: claims, figures and a training explorer."""
    from .report import ReportOptions, write_report

    with user_errors():
        if not path.exists():
            raise UserError(f"PATH does not exist: {path}")
        options = ReportOptions(
            max_networks=max_networks,
            nets=tuple(parse_ints("--nets", nets, max_count=100_000)) if nets else None,
            max_snapshots=max_snapshots,
        )
        with _progress("building the report", unit="training runs") as update:
            page = write_report(path, out, options=options, progress=update)
    typer.echo(f"report: {page.stat().st_size / 1e6:.1f} MB -> {page}")
    _wrote(page)


@app.command("animate")
def animate_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A training store with snapshots (.zarr, or the folder holding train.zarr), "
            "a results folder, an analysis.json or a checkpoint (.npz or .safetensors)."
        ),
    ],
    net: Annotated[int, typer.Option(help="Network to animate (its position in the run).")] = 0,
    run: Annotated[
        int, typer.Option(help="Which training run, when PATH holds several (0: the first).")
    ] = 0,
    out: Annotated[
        Path | None, typer.Option(help="GIF to write (default: net<I>.gif beside PATH).")
    ] = None,
    frames: Annotated[int, typer.Option(help="At most about this many frames.")] = 120,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 10.0,
    mp4: Annotated[
        bool | None,
        typer.Option("--mp4/--no-mp4", help="Also write an MP4 (default: if ffmpeg is on PATH)."),
    ] = None,
) -> None:
    """Animate a network's latent flow and loss cursor over training (GIF, MP4 with ffmpeg)."""
    from .report import animate as make_animation
    from .report import default_output, load_source

    with user_errors():
        if not path.exists():
            raise UserError(f"PATH does not exist: {path}")
        runs = load_source(path).runs
        if not runs:
            raise UserError(f"{path} holds no training run with snapshots to animate")
        if not 0 <= run < len(runs):
            raise UserError(f"--run must be in 0..{len(runs) - 1}, got {run}")
        chosen = runs[run]
        n_nets = chosen.ds.sizes["net"]
        if not 0 <= net < n_nets:
            raise UserError(f"--net must be in 0..{n_nets - 1}, got {net}")
        if out is None:
            stem = f"net{net}" if run == 0 else f"run{run}_net{net}"
            out = default_output(path).with_name(f"{stem}.gif")
        elif out.is_dir():
            out = out / f"net{net}.gif"
        with _progress(
            f"animating network {net}", unit="frames", waiting="analysing and computing frames"
        ) as update:
            result = make_animation(
                chosen.ds,
                net,
                out,
                max_frames=frames,
                fps=fps,
                mp4=mp4,
                analysis=(chosen.analyses or {}).get(net),
                progress=update,
            )
    typer.echo(
        f"{result.n_frames} frames (epochs {round(result.epochs[0]):,}-{round(result.epochs[-1]):,}) "
        f"-> {result.gif}" + (f" and {result.mp4}" if result.mp4 else "")
    )
    _wrote(*[p for p in (result.gif, result.mp4) if p is not None])


def main(prog_name: str | None = None) -> None:
    """Console-script entry point (and ``python -m ghostlearn``'s, as ``prog_name``).

    Gives XLA one CPU device per core (before JAX starts), so ``train`` splits a population
    over the cores, unless ``XLA_FLAGS`` is set (sweep workers set their own); and turns on
    JAX's persistent compilation cache (:mod:`ghostlearn.compile_cache`; opt out with
    ``GHOSTLEARN_COMPILATION_CACHE=off``).
    """
    if "XLA_FLAGS" not in os.environ and "jax" not in sys.modules:
        from . import use_all_cores

        use_all_cores()
    from .compile_cache import enable_compilation_cache

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        enable_compilation_cache()
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    app(prog_name=prog_name)


if __name__ == "__main__":
    main()
