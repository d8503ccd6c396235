"""Sweeps: train a grid of networks in batches, resumably, on one machine or a cluster.

A sweep is described by a TOML spec (:mod:`ghostlearn.sweep.spec`), planned into batches
of networks that share one compiled program, with its networks, memory and time counted
before anything is trained (:mod:`ghostlearn.sweep.plan`), run on a backend
(:mod:`ghostlearn.sweep.backends`: in-process, a local process pool, or Dask) by
:func:`run_sweep` (:mod:`ghostlearn.sweep.run`) and stored batch by batch in one zarr
group (:mod:`ghostlearn.sweep.store`). Running the same spec into the same store again
skips the finished batches, so a killed sweep resumes where it stopped and ends with the
same numbers, bit for bit. :mod:`ghostlearn.sweep.summary` turns a finished sweep into
phase diagrams.

Example::

    from ghostlearn.sweep import load_spec, run_sweep, open_sweep, summarize

    spec = load_spec("examples/sweep_fig4.toml")
    run_sweep(spec, "fig4.sweep")
    ds = open_sweep("fig4.sweep")           # loss(seed, epoch), ...
    summary = summarize(ds)

The library never prints: progress goes to an optional callback.
"""

from .backends import Backend as Backend
from .backends import Dask as Dask
from .backends import InProcess as InProcess
from .backends import ProcessPool as ProcessPool
from .backends import run_batch as run_batch
from .backends import worker_environment as worker_environment
from .plan import MAX_GROUPS as MAX_GROUPS
from .plan import PER_NET_FIELDS as PER_NET_FIELDS
from .plan import Batch as Batch
from .plan import BatchGroup as BatchGroup
from .plan import BatchSequence as BatchSequence
from .plan import GroupTiming as GroupTiming
from .plan import SweepBudget as SweepBudget
from .plan import SweepEstimate as SweepEstimate
from .plan import SweepPlan as SweepPlan
from .plan import batch_memory as batch_memory
from .plan import estimate_time as estimate_time
from .plan import plan_sweep as plan_sweep
from .plan import sweep_budget as sweep_budget
from .run import SweepProgress as SweepProgress
from .run import run_sweep as run_sweep
from .spec import SweepSpec as SweepSpec
from .spec import load_spec as load_spec
from .spec import parse_spec as parse_spec
from .spec import spec_differences as spec_differences
from .spec import spec_hash as spec_hash
from .store import SweepStatus as SweepStatus
from .store import SweepStore as SweepStore
from .store import open_group as open_group
from .store import open_sweep as open_sweep
from .store import store_lock as store_lock
from .store import sweep_status as sweep_status
from .summary import SweepSummary as SweepSummary
from .summary import plot_phase_diagram as plot_phase_diagram
from .summary import summarize as summarize

__all__ = [
    "MAX_GROUPS",
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
    "spec_hash",
    "store_lock",
    "summarize",
    "sweep_budget",
    "sweep_status",
    "worker_environment",
]
