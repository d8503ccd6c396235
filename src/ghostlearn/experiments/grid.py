"""Training an experiment's grid of networks as a resumable sweep.

An experiment whose training is a grid of independent networks (rate x seed, rank x rate
x seed, ...) describes it as a :class:`~ghostlearn.sweep.SweepSpec` and trains it with
:func:`train_grid`. The batches run in a pool of worker processes, one per core, when the
run is long enough to repay starting them, each batch on one XLA device; they are stored
as they finish in the experiment's work folder (``<out>/<name>/work``), so an interrupted
run resumes with the batches it has. The numbers are those of one
training call over the whole grid, bit for bit (checked on figS1 and figS2 at quick
fidelity): the engine's sums run in a fixed order whatever the batch, though a batch of a
single network compiles differently and may differ in the last bits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import xarray as xr

from ..sweep import (
    Backend,
    InProcess,
    ProcessPool,
    SweepPlan,
    SweepSpec,
    SweepStore,
    open_sweep,
    plan_sweep,
    run_sweep,
    store_lock,
)
from .base import Progress

__all__ = ["POOL_MIN_NET_EPOCHS", "backend_for", "train_grid"]

#: Grids of at least this many network-epochs train in a pool of worker processes;
#: smaller ones in this process (starting a worker costs a few seconds).
POOL_MIN_NET_EPOCHS = 1_000_000


def backend_for(plan: SweepPlan) -> Backend:
    """A pool of one worker process per core (at most one per batch) for plans long
    enough to repay starting them, else this process."""
    workers = min(os.cpu_count() or 1, len(plan.batches))
    if workers > 1 and plan.net_epochs >= POOL_MIN_NET_EPOCHS:
        return ProcessPool(workers)
    return InProcess()


def train_grid(
    spec: SweepSpec, work: Path | None = None, progress: Progress | None = None
) -> xr.Dataset:
    """Train ``spec`` into ``work/train.sweep`` (a store of another spec there is
    replaced; without ``work``, a temporary folder) and load it.

    Args:
        spec: the grid, its batch size and the training settings.
        work: where the finished batches are kept until the experiment completes.
        progress: called as ``progress(done, total)`` in network-epochs.

    Returns:
        :func:`~ghostlearn.sweep.open_sweep`'s Dataset, one dimension per swept field,
        with attrs ``model`` and ``train`` (the engine's settings of the first batch;
        every batch has the same) and ``training_s`` (seconds the batches took to train,
        summed over every run that contributed one).
    """
    if work is None:
        with tempfile.TemporaryDirectory(prefix="ghostlearn-grid-") as tmp:
            return train_grid(spec, Path(tmp), progress)
    store = Path(work) / "train.sweep"
    try:
        SweepStore.check(store, spec)
    except ValueError:  # another config's (or a damaged) store: derived data, redone
        with store_lock(store):  # never while another process writes it
            if store.is_dir():
                shutil.rmtree(store)
            else:
                store.unlink()
    plan = plan_sweep(spec)
    report = None
    if progress is not None:
        report = lambda p: progress(p.net_epochs_done, p.net_epochs_total)  # noqa: E731
    run_sweep(plan, store, backend=backend_for(plan), progress=report)
    ds = open_sweep(store)
    sweep = SweepStore(store)
    first = sweep.open_batch(plan.batch_name(0)).attrs
    ds.attrs = {
        "model": first["model"],
        "train": first["train"],
        "training_s": sweep.training_seconds(),
    }
    return ds
