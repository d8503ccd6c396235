"""Sweeps: train a grid of networks in batches, resumably, on one machine or a cluster.

A sweep is described by a TOML spec (:mod:`ghostlearn.sweep_spec`), planned into batches
of networks that share one compiled program, run on a backend
(:mod:`ghostlearn.sweep_backends`: in-process, a local process pool, or Dask) and stored
batch by batch in one zarr group (:mod:`ghostlearn.sweep_store`). Running the same spec
into the same store again skips the finished batches, so a killed sweep resumes where it
stopped and ends with the same numbers, bit for bit. :mod:`ghostlearn.sweep_summary`
turns a finished sweep into phase diagrams.

Example::

    from ghostlearn.sweep import load_spec, run_sweep, open_sweep, summarize

    spec = load_spec("examples/sweep_fig4.toml")
    run_sweep(spec, "fig4.sweep")
    ds = open_sweep("fig4.sweep")           # loss(seed, epoch), ...
    summary = summarize(ds)

The library never prints: progress goes to an optional callback.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import os
import time
from collections.abc import Callable, Collection, Iterable

import xarray as xr

from ._validate import at_least
from .resources import check_memory, memory_limit, train_memory
from .sweep_backends import Backend, Dask, InProcess, ProcessPool, worker_environment
from .sweep_spec import (
    PER_NET_FIELDS,
    Batch,
    BatchGroup,
    BatchSequence,
    SweepPlan,
    SweepSpec,
    load_spec,
    parse_spec,
    plan_sweep,
    spec_differences,
)
from .sweep_store import (
    SweepStatus,
    SweepStore,
    open_group,
    open_sweep,
    store_lock,
    sweep_status,
)
from .sweep_summary import SweepSummary, plot_phase_diagram, summarize

__all__ = [
    "PER_NET_FIELDS",
    "Backend",
    "Batch",
    "BatchGroup",
    "BatchSequence",
    "Dask",
    "GroupTiming",
    "InProcess",
    "ProcessPool",
    "SweepBudget",
    "SweepEstimate",
    "SweepPlan",
    "SweepProgress",
    "SweepSpec",
    "SweepStatus",
    "SweepStore",
    "SweepSummary",
    "batch_memory",
    "estimate_time",
    "load_spec",
    "open_group",
    "open_sweep",
    "parse_spec",
    "plan_sweep",
    "plot_phase_diagram",
    "run_batch",
    "run_sweep",
    "spec_differences",
    "summarize",
    "sweep_budget",
    "sweep_status",
    "worker_environment",
]


def run_batch(batch: Batch, progress: Callable[[int, int], None] | None = None) -> xr.Dataset:
    """Train the networks of one batch with ``ghostlearn.train.train``.

    The same function runs on every backend, so a batch's numbers do not depend on where
    it ran. Each batch trains on one XLA device (``devices=1``): splitting a population over
    several devices can change the last bit of the metrics, and pool and Dask workers have
    one device each. Use a process pool or Dask to use several cores.

    Args:
        batch: a batch of a :class:`SweepPlan`.
        progress: forwarded to ``train`` as ``progress(epochs_done, epochs_total)``.

    Returns:
        ``train``'s Dataset for the batch's P networks (dims ``net``, ``epoch``, ...), with
        a ``cell`` coordinate along ``net`` holding each network's flat cell index.
    """
    from .rnn import RNNConfig
    from .train import train

    cfg = RNNConfig(**batch.model)
    data = train(
        cfg,
        seeds=batch.seed,
        lr=batch.lr,
        c=batch.c if cfg.model == "rank1" else None,
        progress=progress,
        **{"devices": 1, **batch.train},
    )
    return data.assign_coords(cell=("net", batch.cells))


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
        spec = load_spec(spec)
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


def batch_memory(batch: Batch) -> int:
    """Estimated peak bytes of training ``batch`` (see
    :func:`ghostlearn.resources.train_memory`)."""
    from .rnn import RNNConfig

    t = batch.train
    return train_memory(
        RNNConfig(**batch.model),
        batch.n_nets,
        epochs=int(t["epochs"]),
        snapshot_every=int(t.get("snapshot_every", 0)),
        metrics_every=int(t.get("metrics_every", 1)),
        dtype=str(t.get("dtype", "float32")),
        optimizer=str(t.get("optimizer", "sgd")),
    )


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


# --------------------------------------------------------------------------- estimate


@dataclasses.dataclass(frozen=True, kw_only=True)
class GroupTiming:
    """Calibration of one batch group.

    Attributes:
        group: the group's index.
        nets: networks in the calibration batch (the group's largest batch).
        compile_s: compilation and warm-up: first call minus a compiled call, seconds.
        overhead_s: fixed cost of one batch besides its epochs (setup, results), seconds.
        net_epochs_per_s: throughput of the compiled program.
    """

    group: int
    nets: int
    compile_s: float
    overhead_s: float
    net_epochs_per_s: float

    def seconds(self, batch: Batch) -> float:
        """Predicted compute time of ``batch`` (compiled)."""
        return self.predict(batch.net_epochs)

    def predict(self, net_epochs: int) -> float:
        """Predicted compute time of a batch of ``net_epochs`` networks times epochs:
        ``overhead_s + net_epochs / net_epochs_per_s``."""
        return self.overhead_s + net_epochs / self.net_epochs_per_s


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepEstimate:
    """Predicted duration of a sweep from a short calibration run per batch group.

    Attributes:
        groups: calibration of each batch group timed (every group, unless the estimate
            covers the batches left of a resumed sweep).
        batch_seconds: predicted compute time of the plan's batches (compiled): with
            ``batch_counts``, ``batch_counts[i]`` batches take ``batch_seconds[i]`` each
            (:func:`estimate_time` gives each group's one or two batch sizes once);
            without, one entry per batch.
        batch_counts: how many batches take each of ``batch_seconds`` (None: one each).

    Raises:
        ValueError: ``batch_counts`` of another length than ``batch_seconds``, or a
            negative count.
    """

    groups: tuple[GroupTiming, ...]
    batch_seconds: tuple[float, ...]
    batch_counts: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        counts = self.batch_counts
        if counts is not None:
            if len(counts) != len(self.batch_seconds):
                raise ValueError(
                    f"batch_counts must have one count per entry of batch_seconds "
                    f"({len(self.batch_seconds)}), got {len(counts)}"
                )
            for n in counts:
                at_least("batch_counts", n, 0)

    @property
    def n_batches(self) -> int:
        """Number of batches predicted."""
        return len(self.batch_seconds) if self.batch_counts is None else sum(self.batch_counts)

    def seconds(self, workers: int = 1) -> float:
        """Predicted wall time on ``workers`` workers, each as fast as this process.

        Batches are placed longest first on the least loaded worker; each worker is
        charged the compilation of every group once.
        """
        counts = self.batch_counts or (1,) * len(self.batch_seconds)
        loads = [0.0] * max(1, int(workers))
        top = 0.0  # the largest load
        for s, n in sorted(zip(self.batch_seconds, counts, strict=True), reverse=True):
            n = int(n)
            while n > 0:
                if n >= len(loads) and top - loads[0] <= s:
                    # Loads within one batch of each other: the next len(loads) batches of
                    # this length go one to each worker, in rounds.
                    rounds = n // len(loads)
                    loads = [x + rounds * s for x in loads]
                    top += rounds * s
                    n -= rounds * len(loads)
                else:
                    new = loads[0] + s
                    heapq.heapreplace(loads, new)
                    top = max(top, new)
                    n -= 1
        return max(loads) + sum(g.compile_s for g in self.groups)


def estimate_time(
    plan: SweepPlan,
    *,
    epochs: int = 20,
    min_seconds: float = 0.3,
    batch_fn: Callable[..., xr.Dataset] = run_batch,
    progress: Callable[[int, int], None] | None = None,
    skip: Collection[str] = (),
) -> SweepEstimate:
    """Time each batch group briefly in this process and scale to the plan.

    Each group's largest batch is trained for ``e = epochs`` epochs twice (the first call
    compiles) and for ``k e`` epochs (``k = 3, 9, 27, ...`` until that call takes
    ``min_seconds`` longer than the short one), all in chunks of ``e`` epochs (one
    compiled program); the difference of the last two calls gives the time per epoch
    without fixed costs: ``per_epoch = (t(k e) - t(e)) / ((k - 1) e)``,
    ``overhead = t(e) - e per_epoch``. A batch of ``P`` networks and ``E`` epochs is
    predicted to take ``overhead + P E / throughput``.

    Args:
        plan: the sweep's plan.
        epochs: epochs of the short calibration call (>= 1).
        min_seconds: shortest time difference measured.
        batch_fn: the batch function (default :func:`run_batch`).
        progress: ``progress(groups_done, groups_total)``.
        skip: names of batches already done: left out of the prediction; groups with no
            batch left are not timed.

    Returns:
        A :class:`SweepEstimate`; ``.seconds(workers)`` gives the wall time.
    """
    at_least("epochs", epochs, 1)
    skip = set(skip)
    left = []  # per group: its batch sizes left -> how many
    for g in plan.groups:
        sizes: dict[int, int] = {}
        if not skip:
            q, r = divmod(g.n_cells, len(g.batches))
            sizes = {q + 1: r, q: len(g.batches) - r}
        else:
            for i in g.batches:
                if plan.batch_name(i) not in skip:
                    n = plan.batch_nets(i)
                    sizes[n] = sizes.get(n, 0) + 1
        left.append({n: k for n, k in sizes.items() if n > 0 and k > 0})
    todo = [g for g, sizes in zip(plan.groups, left, strict=True) if sizes]
    timings = []
    for g in todo:
        big = plan.batches[g.batches[0]]  # the group's largest batch comes first

        def timed(n_epochs: int, big: Batch = big) -> float:
            train = dict(big.train, epochs=n_epochs, chunk=epochs)
            if train.get("snapshot_every"):
                train["snapshot_every"] = min(int(train["snapshot_every"]), epochs)
            if train.get("metrics_every"):
                train["metrics_every"] = min(int(train["metrics_every"]), epochs)
            t0 = time.perf_counter()
            batch_fn(dataclasses.replace(big, train=train))
            return time.perf_counter() - t0

        first = timed(epochs)
        short = timed(epochs)
        k = 3
        long = timed(k * epochs)
        while long - short < min_seconds and k < 3**8:  # lengthen until measurable
            k *= 3
            long = timed(k * epochs)
        per_epoch = (long - short) / ((k - 1) * epochs)
        if per_epoch <= 0:  # too fast to resolve: charge everything to the epochs
            per_epoch, overhead = short / epochs, 0.0
        else:
            overhead = max(short - epochs * per_epoch, 0.0)
        timings.append(
            GroupTiming(
                group=g.index,
                nets=big.n_nets,
                compile_s=max(first - short, 0.0),
                overhead_s=overhead,
                net_epochs_per_s=big.n_nets / per_epoch,
            )
        )
        if progress is not None:
            progress(len(timings), len(todo))
    seconds, counts = [], []
    for t in timings:
        group = plan.groups[t.group]
        for n, k in sorted(left[t.group].items(), reverse=True):
            seconds.append(t.predict(n * group.epochs))
            counts.append(k)
    return SweepEstimate(
        groups=tuple(timings), batch_seconds=tuple(seconds), batch_counts=tuple(counts)
    )


# --------------------------------------------------------------------------- budget


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepBudget:
    """What a sweep needs, counted from its plan before any network is trained.

    Attributes:
        networks, batches, groups: in the plan (a group is one compiled program).
        net_epochs: networks times epochs of the plan, the unit of work.
        networks_left, batches_left, net_epochs_left: not yet done in the store (the
            whole plan for a new store).
        largest_batch: name of the batch with the largest memory estimate.
        largest_nets, largest_epochs: its networks and epochs.
        batch_memory: estimated peak bytes of training it (:func:`batch_memory`): what
            each worker needs.
        workers: batches trained at once on this machine (0 when they run on a Dask
            cluster, whose workers are not counted here).
        memory: estimated peak bytes on this machine, ``batch_memory * workers``.
        memory_limit: the limit the memory is checked against, in bytes.
        memory_source: where that limit comes from.
        estimate: the predicted time of the batches left (None when not calibrated).
    """

    networks: int
    batches: int
    groups: int
    net_epochs: int
    networks_left: int
    batches_left: int
    net_epochs_left: int
    largest_batch: str
    largest_nets: int
    largest_epochs: int
    batch_memory: int
    workers: int
    memory: int
    memory_limit: int
    memory_source: str
    estimate: SweepEstimate | None = None

    def seconds(self, workers: int | None = None) -> float | None:
        """Predicted wall time of the batches left on ``workers`` workers (default the
        budget's, at least one); None without an estimate."""
        if self.estimate is None:
            return None
        return self.estimate.seconds(max(1, self.workers if workers is None else workers))


def sweep_budget(
    plan: SweepPlan,
    *,
    backend: Backend | None = None,
    workers: int | None = None,
    done: Collection[str] = (),
    max_memory: int | str | None = None,
) -> SweepBudget:
    """Count the networks, work and memory of ``plan`` without training or allocating.

    The memory of a batch depends only on its group and size, and each group's first
    batch is its largest, so this looks at one batch per group.

    Args:
        plan: the sweep's plan.
        backend: where the batches will run: a :class:`ProcessPool` trains ``workers``
            batches at once here, :class:`Dask` none here (default :class:`InProcess`:
            one).
        workers: overrides the number of batches trained at once on this machine.
        done: names of the batches a store already holds.
        max_memory: the memory limit to report (see
            :func:`ghostlearn.resources.memory_limit`).

    Returns:
        A :class:`SweepBudget` (without a time estimate: see :func:`estimate_time`).
    """
    if workers is None:
        workers = 0 if isinstance(backend, Dask) else int(getattr(backend, "workers", 1))
    else:
        at_least("workers", workers, 0)
    largest = [plan.batches[g.batches[0]] for g in plan.groups]
    memory = {b.index: batch_memory(b) for b in largest}
    biggest = max(largest, key=lambda b: memory[b.index])
    finished = plan.batch_indices(done)
    nets_done = sum(plan.batch_nets(i) for i in finished)
    work_done = sum(plan.batch_nets(i) * plan.batch_group(i).epochs for i in finished)
    limit, source = memory_limit(max_memory)
    return SweepBudget(
        networks=plan.n_cells,
        batches=len(plan.batches),
        groups=len(plan.groups),
        net_epochs=plan.net_epochs,
        networks_left=plan.n_cells - nets_done,
        batches_left=len(plan.batches) - len(finished),
        net_epochs_left=plan.net_epochs - work_done,
        largest_batch=biggest.name,
        largest_nets=biggest.n_nets,
        largest_epochs=int(biggest.train["epochs"]),
        batch_memory=memory[biggest.index],
        workers=int(workers),
        memory=memory[biggest.index] * int(workers),
        memory_limit=limit,
        memory_source=source,
    )
