"""Sweep plans: the cells of a sweep in batches, and what they will cost.

The sweep's cells are the cartesian product of the grid axes of its spec
(:mod:`ghostlearn.sweep.spec`), numbered in C order (the last axis varies fastest).
``seed``, ``lr`` and ``c`` vary between the networks of one compiled program; every other
field (model, rank, N, T, dt, tau, epochs, optimizer, dtype, ...) changes the program, so
the cells sharing those fields form one *batch group*, split into batches of at most
``batch_size`` networks of near-equal size. A plan holds its groups only: a batch's cells
and per-network values are computed when the batch is asked for, so planning a grid of
millions of cells takes memory for its groups and one batch.

Before anything is trained, :func:`sweep_budget` counts a plan's networks, work and
memory, and :func:`estimate_time` times a short calibration run per batch group and
scales it to the plan. Nothing here writes to disk.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import time
import typing
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._validate import at_least
from ..resources import memory_limit, train_memory
from .backends import Backend, Dask, run_batch
from .spec import SweepSpec, spec_model_keys

__all__ = [
    "MAX_GROUPS",
    "PER_NET_FIELDS",
    "Batch",
    "BatchGroup",
    "BatchSequence",
    "GroupTiming",
    "SweepBudget",
    "SweepEstimate",
    "SweepPlan",
    "batch_memory",
    "cell_values",
    "estimate_time",
    "plan_sweep",
    "sweep_budget",
]

#: Fields that vary between the networks of one batch (one compiled program).
PER_NET_FIELDS: tuple[str, ...] = ("seed", "lr", "c")

#: Most batch groups (compiled programs) a plan may have: the structural axes of a grid
#: multiply to at most this many combinations.
MAX_GROUPS = 10_000


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class Batch:
    """Networks trained together in one call of ``ghostlearn.train.train``.

    Attributes:
        index: position in the plan (0-based).
        name: the batch's subgroup name in the store, e.g. ``"b00003"``.
        group: index of its batch group.
        model: keyword arguments of ``RNNConfig``.
        train: keyword arguments of ``train`` other than ``seeds``, ``lr``, ``c``.
        cells: flat cell index of each network, shape [P] (C order over the grid).
        seed, lr, c: per-network values, shape [P] (``c`` is NaN for models without a
            confidence: ``"lowrank"``, ``"full"``).
    """

    index: int
    name: str
    group: int
    model: Mapping[str, Any]
    train: Mapping[str, Any]
    cells: np.ndarray
    seed: np.ndarray
    lr: np.ndarray
    c: np.ndarray

    @property
    def n_nets(self) -> int:
        return int(self.cells.size)

    @property
    def net_epochs(self) -> int:
        """Networks times epochs: the unit of work."""
        return self.n_nets * int(self.train["epochs"])


@dataclasses.dataclass(frozen=True, kw_only=True)
class BatchGroup:
    """Cells that share one compiled program (all fields but seed, lr and c equal).

    The group's cells are the product of the swept per-network fields (``seed``, ``lr``,
    ``c``) at one combination of the structural ones, in C order; its ``n`` cells are
    split into ``k = len(batches)`` batches of ``n // k`` or ``n // k + 1`` networks, the
    larger ones first (``numpy.array_split``'s rule).

    Attributes:
        index: position in the plan.
        settings: the swept structural fields and their values in this group (empty when
            only seed, lr or c are swept).
        n_cells: number of networks.
        batches: indices of its batches in the plan (consecutive).
        model: keyword arguments of ``RNNConfig`` shared by its networks.
        train: keyword arguments of ``train`` other than ``seeds``, ``lr``, ``c``.
    """

    index: int
    settings: Mapping[str, Any]
    n_cells: int
    batches: range
    model: Mapping[str, Any]
    train: Mapping[str, Any]

    @property
    def epochs(self) -> int:
        return int(self.train["epochs"])

    @property
    def net_epochs(self) -> int:
        """Networks times epochs of the whole group."""
        return self.n_cells * self.epochs

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The distinct numbers of networks of its batches, ascending (one or two)."""
        q, r = divmod(self.n_cells, len(self.batches))
        return (q, q + 1) if r else (q,)

    def span(self, k: int) -> tuple[int, int]:
        """Positions ``[start, stop)`` of the ``k``-th batch's cells among the group's."""
        if not 0 <= k < len(self.batches):
            raise IndexError(f"batch {k} of a group of {len(self.batches)} batches")
        q, r = divmod(self.n_cells, len(self.batches))
        start = k * q + min(k, r)
        return start, start + q + (1 if k < r else 0)


class BatchSequence(Sequence[Batch]):
    """The batches of a plan, each built when it is asked for.

    Supports ``len``, indexing (negative too), slicing (another lazy sequence) and
    iteration; only the batches asked for exist, one at a time when iterating.
    """

    __slots__ = ("_indices", "_plan")

    def __init__(self, plan: SweepPlan, indices: range) -> None:
        self._plan = plan
        self._indices = indices

    def __len__(self) -> int:
        return len(self._indices)

    @typing.overload
    def __getitem__(self, i: int) -> Batch: ...

    @typing.overload
    def __getitem__(self, i: slice) -> BatchSequence: ...

    def __getitem__(self, i: int | slice) -> Batch | BatchSequence:
        if isinstance(i, slice):
            return BatchSequence(self._plan, self._indices[i])
        return self._plan._build(self._indices[i])

    def __iter__(self) -> Iterator[Batch]:
        for i in self._indices:
            yield self._plan._build(i)

    def __repr__(self) -> str:
        return f"<{len(self)} batches of {self._plan.n_cells:,} cells>"


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class SweepPlan:
    """The cells of a sweep, grouped into batch groups and batches (see :func:`plan_sweep`).

    The plan holds its groups only; a batch's cells and per-network values are computed
    when the batch is asked for, so planning a grid of millions of cells takes memory for
    its groups and one batch, never for the whole grid.

    Attributes:
        spec: the sweep spec.
        groups: batch groups, in order of their first cell (C order over the structural
            fields' indices).
        batches: every batch, groups one after the other: a lazy sequence.
    """

    spec: SweepSpec
    groups: tuple[BatchGroup, ...]
    batches: BatchSequence = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = sum(len(g.batches) for g in self.groups)
        object.__setattr__(self, "batches", BatchSequence(self, range(n)))

    @property
    def dims(self) -> tuple[str, ...]:
        return self.spec.dims

    @property
    def shape(self) -> tuple[int, ...]:
        return self.spec.shape

    @property
    def n_cells(self) -> int:
        return math.prod(self.shape)

    @property
    def net_epochs(self) -> int:
        """Total networks times epochs."""
        return sum(g.net_epochs for g in self.groups)

    def batch_group(self, index: int) -> BatchGroup:
        """The group of the batch at ``index``.

        Raises:
            IndexError: no batch at ``index``.
        """
        return self._locate(index)[0]

    def batch_name(self, index: int) -> str:
        """The store name of the batch at ``index``, e.g. ``"b00003"`` (zero-padded to
        the digits of the last cell index, at least five)."""
        self._locate(index)
        return f"b{index:0{self._width}d}"

    def batch_index(self, name: str) -> int:
        """The position of the batch called ``name``.

        Raises:
            KeyError: no batch of the plan has that name.
        """
        digits = name[1:] if isinstance(name, str) and name.startswith("b") else ""
        if digits.isdigit() and digits.isascii():
            index = int(digits)
            if index < len(self.batches) and name == f"b{index:0{self._width}d}":
                return index
        raise KeyError(name)

    def batch_indices(self, names: Iterable[str]) -> list[int]:
        """The positions of the batches called ``names``, in the order given; names of no
        batch of the plan are left out."""
        out = []
        for name in names:
            try:
                out.append(self.batch_index(name))
            except KeyError:
                continue
        return out

    def batch_nets(self, index: int) -> int:
        """Networks in the batch at ``index``, without building it."""
        group, k = self._locate(index)
        start, stop = group.span(k)
        return stop - start

    def batch(self, name: str) -> Batch:
        """The batch called ``name`` (KeyError if none)."""
        return self._build(self.batch_index(name))

    @property
    def _width(self) -> int:
        return max(5, len(str(max(0, self.n_cells - 1))))

    def _locate(self, index: int) -> tuple[BatchGroup, int]:
        """The group of the batch at ``index`` (>= 0) and its position in the group."""
        n = len(self.batches)
        if isinstance(index, bool) or not 0 <= index < n:
            raise IndexError(f"batch index {index!r} out of range for a plan of {n} batches")
        per_group = len(self.groups[0].batches)  # every group has the same cells
        g, k = divmod(int(index), per_group)
        return self.groups[g], k

    def _build(self, index: int) -> Batch:
        """The batch at ``index``: the ``k``-th cell of its group is ``k`` unravelled over
        the per-network fields' shape, ravelled with the group's structural indices."""
        group, k = self._locate(index)
        start, stop = group.span(k)
        dims, shape = self.dims, self.shape
        local = np.arange(start, stop, dtype=np.int64)
        per_net = [a for a, d in enumerate(dims) if d in PER_NET_FIELDS]
        structural = [a for a, d in enumerate(dims) if d not in PER_NET_FIELDS]
        index_of: dict[int, np.ndarray] = {}
        if per_net:
            sub = np.unravel_index(local, tuple(shape[a] for a in per_net))
            index_of.update(zip(per_net, sub, strict=True))
        if structural:
            where = np.unravel_index(group.index, tuple(shape[a] for a in structural))
            for a, i in zip(structural, where, strict=True):
                index_of[a] = np.full(local.size, int(i), dtype=np.int64)
        cells = np.ravel_multi_index(tuple(index_of[a] for a in range(len(dims))), shape)

        def values(name: str, dtype: type) -> np.ndarray:
            if name not in self.spec.grid:
                return np.full(local.size, self.spec.train[name], dtype=dtype)
            axis = self.spec.grid[name]
            which = index_of[dims.index(name)].tolist()
            return np.fromiter((axis[i] for i in which), dtype=dtype, count=len(which))

        rank1 = group.model.get("model", "rank1") == "rank1"
        return Batch(
            index=int(index),
            name=f"b{int(index):0{self._width}d}",
            group=group.index,
            model=group.model,
            train=group.train,
            cells=cells.astype(np.int64, copy=False),
            seed=values("seed", np.int64),
            lr=values("lr", np.float64),
            c=values("c", np.float64) if rank1 else np.full(local.size, np.nan),
        )


def plan_sweep(spec: SweepSpec, *, batch_size: int | None = None) -> SweepPlan:
    """Group the cells of ``spec`` by compiled program and split each group into batches.

    The structural fields (every swept field but ``seed``, ``lr`` and ``c``) make one
    batch group per combination of their values, in C order over their indices; the
    per-network fields' values make the group's cells. Each group of ``n`` cells becomes
    ``ceil(n / batch_size)`` batches whose sizes differ by at most one, the larger first,
    cells in increasing order. Only the groups are built here (each group's ``RNNConfig``
    is checked now); a batch's cells and values are computed when it is asked for, so the
    memory of planning does not grow with the number of cells.

    Args:
        spec: the sweep.
        batch_size: overrides ``spec.batch_size`` (the plan's spec carries the value used).

    Raises:
        ValueError: a combination of fields ``RNNConfig`` rejects (e.g. rank > N); more
            than :data:`MAX_GROUPS` batch groups.
    """
    from ..rnn import RNNConfig

    if batch_size is not None:
        spec = dataclasses.replace(spec, batch_size=batch_size)
    structural = [d for d in spec.dims if d not in PER_NET_FIELDS]
    n_groups = math.prod(len(spec.grid[d]) for d in structural)
    if n_groups > MAX_GROUPS:
        axes = " x ".join(f"{d} ({len(spec.grid[d]):,})" for d in structural)
        raise ValueError(
            f"the structural axes {axes} give {n_groups:,} batch groups (one compiled "
            f"program each), above the limit of {MAX_GROUPS:,}; sweep fewer of their values"
        )
    n_cells = math.prod(len(spec.grid[d]) for d in spec.dims if d in PER_NET_FIELDS)
    n_batches = -(-n_cells // spec.batch_size)
    model_keys = set(spec_model_keys())
    fixed_train = {k: v for k, v in spec.train.items() if k not in PER_NET_FIELDS}
    groups = []
    for g, values in enumerate(itertools.product(*(spec.grid[d] for d in structural))):
        settings = dict(zip(structural, values, strict=True))
        model = {**spec.model, **{k: v for k, v in settings.items() if k in model_keys}}
        train = {**fixed_train, **{k: v for k, v in settings.items() if k not in model}}
        where = ", ".join(f"{k}={v!r}" for k, v in settings.items())
        try:
            cfg = RNNConfig(**model)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{e}" + (f" (cells with {where})" if where else "")) from None
        if cfg.model != "rank1" and "c" in spec.grid:
            raise ValueError(
                f"c applies to model 'rank1' only, but it is swept with model={cfg.model!r}"
                + (f" (cells with {where})" if where else "")
            )
        groups.append(
            BatchGroup(
                index=g,
                settings=settings,
                n_cells=n_cells,
                batches=range(g * n_batches, (g + 1) * n_batches),
                model=model,
                train=train,
            )
        )
    return SweepPlan(spec=spec, groups=tuple(groups))


def cell_values(plan: SweepPlan, cells: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
    """The swept values of each cell: ``field -> array [len(cells)]``."""
    cells = np.asarray(cells, dtype=np.int64)
    index = np.unravel_index(cells, plan.shape)
    return {d: np.asarray(plan.spec.grid[d])[index[i]] for i, d in enumerate(plan.dims)}


# --------------------------------------------------------------------------- cost


def batch_memory(batch: Batch) -> int:
    """Estimated peak bytes of training ``batch`` (see
    :func:`ghostlearn.resources.train_memory`)."""
    from ..rnn import RNNConfig

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
