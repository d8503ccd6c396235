"""Running a sweep: train the batches of its plan on a backend, into its store, resumably.

:func:`run_sweep` plans the spec (:mod:`ghostlearn.sweep.plan`), checks it against an
existing store, counts its budget, takes the store's lock, and has the backend
(:mod:`ghostlearn.sweep.backends`) compute the batches not yet done, writing each into the
store (:mod:`ghostlearn.sweep.store`) as it arrives. Running the same spec into the same
store again skips the finished batches, so a killed sweep resumes where it stopped and ends
with the same numbers, bit for bit.

The library never prints: progress goes to an optional callback (:class:`SweepProgress`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterable

import xarray as xr

from .._validate import at_least
from ..resources import check_memory
from .backends import Backend, InProcess, run_batch
from .plan import Batch, SweepBudget, SweepPlan, estimate_time, plan_sweep, sweep_budget
from .spec import SweepSpec, load_spec
from .store import SweepStatus, SweepStore, store_lock

__all__ = ["SweepProgress", "run_sweep"]


# --------------------------------------------------------------------------- progress


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepProgress:
    """Where a running sweep stands, passed to the ``progress`` callback of :func:`run_sweep`.

    Attributes:
        batches_done, batches_total: finished / planned batches (finished includes those
            done by an earlier run of the same store).
        nets_done, nets_total: networks in the finished batches / planned.
        net_epochs_done, net_epochs_total: networks times epochs, counting the epochs done
            so far in batches still running in this process.
        elapsed_s: seconds since this run started.
        rate: network-epochs per second computed by this run (NaN before any).
        eta_s: estimated seconds left (None before the rate is known).
    """

    batches_done: int
    batches_total: int
    nets_done: int
    nets_total: int
    net_epochs_done: int
    net_epochs_total: int
    elapsed_s: float
    rate: float
    eta_s: float | None


class _Tracker:
    def __init__(
        self,
        plan: SweepPlan,
        done: Iterable[str],
        progress: Callable[[SweepProgress], None] | None,
    ) -> None:
        self.plan = plan
        self.progress = progress
        finished = plan.batch_indices(done)
        self.batches = len(finished)
        self.nets = sum(plan.batch_nets(i) for i in finished)
        self.before = sum(plan.batch_nets(i) * plan.batch_group(i).epochs for i in finished)
        self.now = 0  # net-epochs finished by this run
        self.running: dict[int, int] = {}  # batch index -> net-epochs done so far
        self.start = time.perf_counter()

    def partial(self, batch: Batch, epochs_done: int, epochs_total: int) -> None:
        self.running[batch.index] = batch.n_nets * int(epochs_done)
        self.emit()

    def finished(self, batch: Batch) -> None:
        self.running.pop(batch.index, None)
        self.batches += 1
        self.nets += batch.n_nets
        self.now += batch.net_epochs
        self.emit()

    def emit(self) -> None:
        if self.progress is None:
            return
        elapsed = time.perf_counter() - self.start
        this_run = self.now + sum(self.running.values())
        rate = this_run / elapsed if this_run and elapsed > 0 else math.nan
        done = self.before + this_run
        left = self.plan.net_epochs - done
        self.progress(
            SweepProgress(
                batches_done=self.batches,
                batches_total=len(self.plan.batches),
                nets_done=self.nets,
                nets_total=self.plan.n_cells,
                net_epochs_done=done,
                net_epochs_total=self.plan.net_epochs,
                elapsed_s=elapsed,
                rate=rate,
                eta_s=left / rate if rate > 0 else None,
            )
        )


# --------------------------------------------------------------------------- running


def _as_plan(
    spec: SweepSpec | SweepPlan | str | os.PathLike[str], batch_size: int | None
) -> SweepPlan:
    if isinstance(spec, SweepPlan):
        return spec if batch_size is None else plan_sweep(spec.spec, batch_size=batch_size)
    if isinstance(spec, (str, os.PathLike)):
        spec = load_spec(os.fspath(spec))
    if not isinstance(spec, SweepSpec):
        raise ValueError(f"spec must be a SweepSpec, a plan or a path, got {type(spec).__name__}")
    return plan_sweep(spec, batch_size=batch_size)


def run_sweep(
    spec: SweepSpec | SweepPlan | str | os.PathLike[str],
    store: str | os.PathLike[str],
    *,
    backend: Backend | None = None,
    batch_size: int | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    batch_fn: Callable[..., xr.Dataset] = run_batch,
    max_memory: int | str | None = None,
    report: Callable[[SweepBudget], None] | None = None,
    estimate: bool = False,
    calibration_epochs: int = 20,
) -> SweepStatus:
    """Run a sweep into ``store``, skipping the batches a previous run finished.

    Order of work: the spec is planned and checked against an existing store, and its
    networks and memory are counted (:func:`sweep_budget`; a bad spec, a plan past the
    limits or a store of a different spec raise here, before anything is written); the
    store's lock is taken (a second process writing the same store, with the same spec or
    another, is refused); with ``estimate``, the batches left are timed by a short
    calibration run per group (:func:`estimate_time`); ``report`` gets the
    :class:`SweepBudget`; the backend is started (a scheduler that does not answer raises
    here); then, holding the lock, the store is created or opened, temporaries of a killed
    run are removed, batches in place that were trained under another spec or are damaged
    are removed, and each remaining batch is computed by ``batch_fn`` on the backend and
    written atomically by this process.

    Args:
        spec: a spec, a plan, or the path of a TOML spec.
        store: the store's directory (created if absent).
        backend: where batches run (default :class:`InProcess`).
        batch_size: overrides the spec's batch size (recorded in the store; resuming with
            another value is refused).
        progress: called with a :class:`SweepProgress` at the start, as batches progress
            (in-process) and after each batch.
        batch_fn: computes one batch (default :func:`run_batch`); with a process pool or
            Dask it must be importable by the workers.
        max_memory: refuse when the largest batch times the local workers is estimated
            to need more memory (:func:`batch_memory`; bytes or a size like ``"8GB"``;
            default ``GHOSTLEARN_MAX_MEMORY``, else the memory available now). Batches
            run on a Dask cluster are not counted against this machine.
        report: called once with the :class:`SweepBudget` (networks, memory and, with
            ``estimate``, time) before the first batch is trained.
        estimate: time the batches left before running them (``calibration_epochs`` per
            calibration call, in this process, with ``batch_fn``); the budget's
            ``estimate``.
        calibration_epochs: epochs of each calibration call (>= 1).

    Returns:
        The store's :class:`SweepStatus` at the end (complete).

    Raises:
        ValueError: bad spec, a store of a different spec, more memory than the limit, a
            scheduler that does not answer (nothing is written then); the store is being
            written by another process.
    """
    plan = _as_plan(spec, batch_size)
    exists = SweepStore.check(store, plan.spec)
    if estimate:
        at_least("calibration_epochs", calibration_epochs, 1)
    backend = backend if backend is not None else InProcess()
    done = SweepStore(store).completed() if exists else set()
    budget = sweep_budget(plan, backend=backend, done=done, max_memory=max_memory)
    if budget.workers:
        check_memory(
            f"sweep batch {budget.largest_batch} ({budget.largest_nets:,} networks x "
            f"{budget.largest_epochs:,} epochs) on {budget.workers} local worker(s)",
            budget.memory,
            max_memory,
        )
    with store_lock(store):
        if estimate:
            est = estimate_time(plan, epochs=calibration_epochs, batch_fn=batch_fn, skip=done)
            budget = dataclasses.replace(budget, estimate=est)
        if report is not None:
            report(budget)
        with backend:
            sweep = SweepStore.open_or_create(store, plan)
            _run(plan, sweep, backend, progress, batch_fn)
            return sweep.status(verify=False)


def _run(
    plan: SweepPlan,
    sweep: SweepStore,
    backend: Backend,
    progress: Callable[[SweepProgress], None] | None,
    batch_fn: Callable[..., xr.Dataset],
) -> None:
    """Compute the batches not yet in ``sweep`` and write each as it arrives."""
    sweep.clean_temporaries()
    try:
        sweep.manifest()
    except ValueError:  # garbled: derived data, rebuilt from the plan and the batches
        sweep.rebuild_manifest()
    for name in sweep.verify():  # another spec's, or damaged: computed again
        sweep.remove_batch(name)
    done = sweep.completed()
    # Built one at a time as the backend asks for them: a plan of millions of cells is
    # never held in memory at once.
    todo = (plan.batches[i] for i in range(len(plan.batches)) if plan.batch_name(i) not in done)
    tracker = _Tracker(plan, done, progress)
    tracker.emit()
    for batch, (data, seconds) in backend.imap(_Timed(batch_fn), todo, tracker.partial):
        sweep.write_batch(batch, data, seconds=seconds, backend=backend.name)
        tracker.finished(batch)


class _Timed:
    """``batch_fn`` returning ``(result, seconds)``: the compute time of the batch itself,
    measured where it runs (picklable for process pools and Dask when ``fn`` is)."""

    def __init__(self, fn: Callable[..., xr.Dataset]) -> None:
        self.fn = fn

    def __call__(
        self, batch: Batch, progress: Callable[[int, int], None] | None = None
    ) -> tuple[xr.Dataset, float]:
        start = time.perf_counter()
        data = self.fn(batch) if progress is None else self.fn(batch, progress=progress)
        return data, time.perf_counter() - start
