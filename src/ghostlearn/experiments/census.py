"""Population censuses of rank-one runs: the evidence behind Fig. 3's claims.

Training after the plateau is chaotic, so a statement about "a network" is backed by a
census over many seeds trained at the same settings. This module turns analysed runs
into one record per network (an ``xarray.Dataset`` over ``net``) and records into
counts; the selection of the network a figure shows is a rule on records too. All of it
is pure: records can be built by hand (the tests inject them).

Records of panel A (:func:`record_a`), one per network:

- ``verdict``: the analysis verdict (:data:`ghostlearn.analysis.verdict.VERDICTS`);
- ``learned``: max accuracy > 0.5 at some epoch; ``bifurcated``: a change of the number
  of fixed points inside the analysed interval (boundary crossings excluded);
  ``one_fixed_point``: exactly one fixed point at every analysed snapshot;
- ``drop_onset``, ``drop_end``: the abrupt drop (NaN without one); ``grad_jump``: median
  gradient norm after the drop over its median on the plateau;
- ``oscillated``, ``escaped``: the oscillation burst after the drop and whether the run
  escaped it (:func:`oscillation`);
- ``curvature_onset``, ``curvature_final``: ``|f''|`` at the deepest ghost at the
  snapshot before the oscillation onset and at the last snapshot (NaN without a ghost);
  ``slope_onset``, ``slope_final``: ``f'`` at the readout threshold there (support);
- ``ghost_before``, ``ghost_after``: the coarse snapshots bracketing the first appearance
  of a ghost; ``ghost_epoch``: the same, placed to the epoch by training the bracket again
  with a flow every epoch; ``drop_progress``: the fraction of the drop (in log10 loss)
  already covered at ``ghost_epoch`` (0: at the plateau level, 1: at the level after);
  ``dense``: the bracket was trained again; ``matches_run``: that re-run repeated the
  original run bit for bit.

Records of panel B (:func:`record_b`): ``verdict``, ``learned``, ``stuck``,
``bifurcated``, ``saddle_node`` (a saddle-node bifurcation at some epoch),
``saddle_node_epoch`` (the one the verdict names, else the last), ``grad_ratio`` (median
gradient norm from that epoch on over the peak before it).

Counts over records: :func:`census_a` (a :class:`CensusA`) and :func:`census_b` (a
:class:`CensusB`), typed as ``summary.json`` stores them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .. import outcomes
from ..analysis import RunAnalysis
from ..analysis.flows import rank1_flow_derivatives
from ..analysis.points import FlowPoints

__all__ = [
    "OSC_GAP",
    "CensusA",
    "CensusB",
    "EscapedCurvature",
    "GhostDropProgress",
    "Oscillation",
    "census_a",
    "census_b",
    "oscillation",
    "pick_a",
    "pick_b",
    "record_a",
    "record_b",
    "records",
]

#: Fraction of the run: gaps inside an oscillation burst, and the final stretch free of it.
OSC_GAP = 0.05


def _median(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Oscillation:
    """The burst of oscillations after a drop (:func:`oscillation`).

    Attributes:
        start_epoch: the first epoch of the burst.
        end_epoch: its last epoch.
        n_jumps: its one-epoch log10-loss changes above the threshold.
        loss_before: median loss over the 5% of epochs before it; None without any.
        loss_final: median loss over the last 1% of epochs; None without any.
        escaped: the burst ends before the last 5% of the run and ``loss_final`` is below
            half of ``loss_before``.
    """

    start_epoch: int
    end_epoch: int
    n_jumps: int
    loss_before: float | None
    loss_final: float | None
    escaped: bool


def oscillation(
    loss: np.ndarray, epochs: np.ndarray, after: float, *, jump: float, min_jumps: int
) -> Oscillation | None:
    """The largest burst of one-epoch log10-loss changes above ``jump`` after ``after``.

    A burst is a run of such epochs with gaps below 5% of the run; it counts with at least
    ``min_jumps`` members. The run escaped it if the burst ends before the last 5% of the
    run and the final loss (median of the last 1% of epochs) is below half the level
    before the burst (median of the 5% of epochs before it).

    Returns:
        The burst, or None without one.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.log10(np.maximum(loss, np.finfo(np.float64).tiny))
    big = np.abs(np.diff(ly)) > jump
    idx = np.flatnonzero(big & (epochs[:-1] >= after))
    if idx.size < min_jumps:
        return None
    span = float(epochs[-1] - epochs[0])
    ep = epochs[idx]
    cuts = np.flatnonzero(np.diff(ep) > OSC_GAP * span)
    starts = np.concatenate([[0], cuts + 1])
    stops = np.concatenate([cuts, [idx.size - 1]])
    sizes = stops - starts + 1
    j = int(np.argmax(sizes))
    if sizes[j] < min_jumps:
        return None
    e0, e1 = int(ep[starts[j]]), int(ep[stops[j]])
    n = epochs.size
    w = max(1, int(OSC_GAP * n))
    i0 = int(np.searchsorted(epochs, e0))
    before = _median(loss[max(0, i0 - w) : i0])
    final = _median(loss[-max(1, n // 100) :])
    quiet_end = e1 < epochs[-1] - OSC_GAP * span
    escaped = bool(quiet_end and before is not None and final is not None and final < before / 2)
    return Oscillation(
        start_epoch=e0,
        end_epoch=e1,
        n_jumps=int(sizes[j]),
        loss_before=before,
        loss_final=final,
        escaped=escaped,
    )


def _deepest_ghost_curvature(ra: RunAnalysis, i: int) -> float:
    points = ra.points
    assert isinstance(points, FlowPoints)  # censuses are of rank-one runs
    depth = np.asarray(points.ghost_depth)[i]
    if not np.any(np.isfinite(depth)):
        return math.nan
    return abs(float(np.asarray(points.ghost_curvature)[i][int(np.nanargmin(depth))]))


def _slope_at(ra: RunAnalysis, i: int, thr: float) -> float:
    flow = ra.flow
    m, n, b = (np.asarray(getattr(flow, k), np.float64)[i] for k in ("m", "n", "b"))
    return float(rank1_flow_derivatives(np.asarray([thr]), m, n, b)[1][0])


def record_a(
    ra: RunAnalysis,
    *,
    seed: int,
    accuracy: np.ndarray,
    grad_norm: np.ndarray,
    kappa_thr: float,
    osc_jump: float,
    osc_min: int,
) -> dict[str, Any]:
    """One network's panel-A record (see the module doc); the dense ghost fields are NaN
    (``dense`` and ``matches_run`` False) until the bracket is trained again."""
    loss = np.asarray(ra.loss, np.float64)
    epochs = np.asarray(ra.loss_epochs)
    grad = np.asarray(grad_norm, np.float64)
    snaps = np.asarray(ra.snapshot_epochs)
    drop = ra.verdict.drop or (ra.drops[0] if ra.drops else None)
    rec: dict[str, Any] = {
        "seed": int(seed),
        "verdict": ra.verdict.label,
        "learned": bool(outcomes.learned(accuracy)),
        "bifurcated": any(b.is_bifurcation for b in ra.bifurcations),
        "one_fixed_point": bool(np.all(np.asarray(ra.n_fixed) == 1)),
        "drop_onset": math.nan,
        "drop_end": math.nan,
        "drop_loss_before": math.nan,
        "drop_loss_after": math.nan,
        "grad_jump": math.nan,
        "oscillated": False,
        "escaped": False,
        "curvature_onset": math.nan,
        "curvature_final": math.nan,
        "slope_onset": math.nan,
        "slope_final": math.nan,
        "ghost_before": math.nan,
        "ghost_after": math.nan,
        "ghost_epoch": math.nan,
        "drop_progress": math.nan,
        "dense": False,
        "matches_run": False,
    }
    ev = next((e for e in ra.ghost_events if e.kind == "emerge"), None)
    if ev is not None and ev.epoch_before is not None:
        rec["ghost_before"], rec["ghost_after"] = float(ev.epoch_before), float(ev.epoch_after)
    if drop is None:
        return rec
    p0, on, end = drop.plateau_start_epoch, drop.onset_epoch, drop.end_epoch
    rec.update(
        drop_onset=float(on),
        drop_end=float(end),
        drop_loss_before=float(drop.loss_before),
        drop_loss_after=float(drop.loss_after),
    )
    width = max(on - p0, 1.0)
    g_plateau = _median(grad[(epochs >= p0) & (epochs < on)])
    g_after = _median(grad[(epochs >= end) & (epochs < end + width)])
    if g_plateau and g_after is not None:
        rec["grad_jump"] = g_after / g_plateau
    osc = oscillation(loss, epochs, end, jump=osc_jump, min_jumps=osc_min)
    if osc is not None:
        rec["oscillated"], rec["escaped"] = True, osc.escaped
        i_on = max(int(np.searchsorted(snaps, osc.start_epoch, side="right")) - 1, 0)
        i_end = snaps.size - 1
        rec["curvature_onset"] = _deepest_ghost_curvature(ra, i_on)
        rec["curvature_final"] = _deepest_ghost_curvature(ra, i_end)
        rec["slope_onset"] = _slope_at(ra, i_on, kappa_thr)
        rec["slope_final"] = _slope_at(ra, i_end, kappa_thr)
    return rec


def drop_progress(loss_before: float, loss_after: float, loss_at: float) -> float:
    """Fraction of a drop covered, in log10 loss: 0 at ``loss_before``, 1 at ``loss_after``."""
    top, bottom = math.log10(loss_before), math.log10(loss_after)
    if not top > bottom:
        return math.nan
    return (top - math.log10(max(loss_at, 1e-300))) / (top - bottom)


def record_b(
    ra: RunAnalysis, *, seed: int, accuracy: np.ndarray, grad_norm: np.ndarray, last: int
) -> dict[str, Any]:
    """One network's panel-B record (see the module doc)."""
    grad = np.asarray(grad_norm, np.float64)
    epochs = np.asarray(ra.loss_epochs)
    sn = [b for b in ra.bifurcations if b.kind == "saddle-node"]
    named = ra.verdict.bifurcation
    b = named if named is not None and named.kind == "saddle-node" else (sn[-1] if sn else None)
    rec: dict[str, Any] = {
        "seed": int(seed),
        "verdict": ra.verdict.label,
        "learned": bool(outcomes.learned(accuracy)),
        "stuck": bool(outcomes.stuck(accuracy, last=min(last, len(accuracy)))),
        "bifurcated": any(x.is_bifurcation for x in ra.bifurcations),
        "saddle_node": bool(sn),
        "saddle_node_epoch": math.nan,
        "grad_ratio": math.nan,
    }
    if b is not None:
        e = float(b.epoch_after)
        rec["saddle_node_epoch"] = e
        pre, post = grad[epochs < e], grad[epochs >= e]
        if pre.size and post.size and np.nanmax(pre) > 0:
            after = _median(post)
            rec["grad_ratio"] = math.nan if after is None else after / float(np.nanmax(pre))
    return rec


def records(rows: Sequence[dict[str, Any]]) -> xr.Dataset:
    """Records (dicts with the same keys, one of them ``seed``) as a Dataset over ``net``."""
    if not rows:
        raise ValueError("records must not be empty, got 0 rows")
    keys = [k for k in rows[0] if k != "seed"]
    data = {k: ("net", np.asarray([r[k] for r in rows])) for k in keys}
    seeds = np.asarray([r["seed"] for r in rows], np.int64)
    return xr.Dataset(data, coords={"net": np.arange(len(rows)), "seed": ("net", seeds)})


def _seeds(rec: xr.Dataset, mask: Any) -> list[int]:
    return [int(s) for s in rec["seed"].values[np.asarray(mask, bool)]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class GhostDropProgress:
    """How far the drop had gone when the ghost first appeared, over the ghost-mediated
    networks placed to the epoch (records with a finite ``drop_progress``).

    Attributes:
        by_seed: drop progress per seed (the seed as a string, as JSON keys are).
        q25: the lower quartile of the values; None without any.
        median: their median; None without any.
        q75: the upper quartile; None without any.
        n: networks with a value.
        n_by_drop_onset: of them, those whose ghost appeared by the drop onset
            (progress <= 0.1).
    """

    by_seed: dict[str, float]
    q25: float | None
    median: float | None
    q75: float | None
    n: int
    n_by_drop_onset: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class EscapedCurvature:
    """The flow at the deepest ghost of the escaped networks, from the oscillation onset
    to the end of the run.

    Attributes:
        n_with_ghost_at_both: escaped networks with a ghost at both snapshots.
        n_curvature_grew: of them, those whose ``|f''|`` at the ghost grew.
        n_slope_grew: escaped networks whose slope ``f'`` at the readout threshold grew.
        seeds: the seeds of the escaped networks with a ghost at both, ascending.
    """

    n_with_ghost_at_both: int
    n_curvature_grew: int
    n_slope_grew: int
    seeds: list[int]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CensusA:
    """Counts over panel-A records (:func:`record_a`, dense fields filled).

    Attributes:
        n_networks: networks in the census.
        verdict_counts: networks per analysis verdict (summing to ``n_networks``).
        n_learned: networks that learned (max accuracy > 0.5).
        n_one_fixed_point_throughout: networks with exactly one fixed point at every
            analysed snapshot.
        n_drop: networks with an abrupt drop.
        n_ghost_mediated: networks with the verdict ghost-mediated.
        n_ghost_without_bifurcation: of them, those without any bifurcation.
        ghost_drop_progress: the drop's progress at the ghost's first appearance.
        n_oscillated: networks that oscillated after their drop.
        n_escaped: of them, those that escaped to a lower loss.
        escaped_curvature: the flow at the ghost of the escaped networks.
        text: the counts in words.
        n_drop_with_grad_jump: networks with a drop and a gradient-norm jump >= the
            threshold given to :func:`census_a`.
        n_drop_one_fixed_point: networks with a drop and one fixed point throughout.
        n_drop_oscillated: networks with a drop that oscillated after it.
        n_dense: networks whose ghost bracket was trained again.
        n_dense_matching_run: of them, those whose re-run repeated the run bit for bit.
    """

    n_networks: int
    verdict_counts: dict[str, int]
    n_learned: int
    n_one_fixed_point_throughout: int
    n_drop: int
    n_ghost_mediated: int
    n_ghost_without_bifurcation: int
    ghost_drop_progress: GhostDropProgress
    n_oscillated: int
    n_escaped: int
    escaped_curvature: EscapedCurvature
    text: str
    n_drop_with_grad_jump: int
    n_drop_one_fixed_point: int
    n_drop_oscillated: int
    n_dense: int
    n_dense_matching_run: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class CensusB:
    """Counts over panel-B records (:func:`record_b`).

    Attributes:
        n_networks: networks in the census.
        verdict_counts: networks per analysis verdict (summing to ``n_networks``).
        n_learned: networks that learned (max accuracy > 0.5).
        n_stuck: networks stuck in the no-learning zone.
        n_stuck_after_saddle_node: stuck networks with a saddle-node bifurcation.
        n_stuck_without_bifurcation: stuck networks without any bifurcation.
        n_stuck_other: stuck networks with another bifurcation only.
        n_learned_without_bifurcation: learned, not stuck, no bifurcation.
        n_learned_with_bifurcation: learned, not stuck, some bifurcation.
        n_never_learned: networks that never learned.
        grad_ratio: median gradient norm from the saddle-node on over the peak before it,
            per seed (as a string) of the stuck-after-saddle-node networks; NaN (null)
            where it cannot be measured.
        seeds_stuck_after_saddle_node: their seeds, ascending.
        seeds_stuck_without_bifurcation: the seeds of the stuck networks without a
            bifurcation, ascending.
        text: the counts in words.
        n_flat_after_saddle_node: stuck-after-saddle-node networks whose ``grad_ratio`` is
            below the threshold given to :func:`census_b`.
    """

    n_networks: int
    verdict_counts: dict[str, int]
    n_learned: int
    n_stuck: int
    n_stuck_after_saddle_node: int
    n_stuck_without_bifurcation: int
    n_stuck_other: int
    n_learned_without_bifurcation: int
    n_learned_with_bifurcation: int
    n_never_learned: int
    grad_ratio: dict[str, float]
    seeds_stuck_after_saddle_node: list[int]
    seeds_stuck_without_bifurcation: list[int]
    text: str
    n_flat_after_saddle_node: int


def _quartiles(x: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """The quartiles q25, median, q75 of the finite values (None without any)."""
    x = x[np.isfinite(x)]
    if not x.size:
        return None, None, None
    q = np.quantile(x, [0.25, 0.5, 0.75])
    return float(q[0]), float(q[1]), float(q[2])


def _verdict_counts(rec: xr.Dataset) -> dict[str, int]:
    labels, counts = np.unique(rec["verdict"].values.astype(str), return_counts=True)
    return {str(k): int(v) for k, v in zip(labels, counts, strict=True)}


def census_a(rec: xr.Dataset, *, grad_jump: float) -> CensusA:
    """Counts over panel-A records (:func:`record_a`, dense fields filled).

    Args:
        rec: the records (:func:`records`).
        grad_jump: the gradient-norm jump (median after the drop / on the plateau) from
            which a drop counts in ``n_drop_with_grad_jump``.
    """
    n = int(rec.sizes["net"])
    verdict = rec["verdict"].values.astype(str)
    ghost = verdict == "ghost-mediated"
    progress = rec["drop_progress"].values.astype(np.float64)
    have = np.isfinite(progress) & ghost
    esc = rec["escaped"].values.astype(bool)
    c0 = rec["curvature_onset"].values.astype(np.float64)
    c1 = rec["curvature_final"].values.astype(np.float64)
    s0 = rec["slope_onset"].values.astype(np.float64)
    s1 = rec["slope_final"].values.astype(np.float64)
    both = esc & np.isfinite(c0) & np.isfinite(c1)
    drop = np.isfinite(rec["drop_onset"].values)
    jump = rec["grad_jump"].values.astype(np.float64)
    q25, median, q75 = _quartiles(progress[have])
    gp = GhostDropProgress(
        by_seed={
            str(s): float(p) for s, p in zip(rec["seed"].values[have], progress[have], strict=True)
        },
        q25=q25,
        median=median,
        q75=q75,
        n=int(have.sum()),
        n_by_drop_onset=int((progress[have] <= 0.1).sum()),
    )
    n_ghost = int(ghost.sum())
    n_without = int((ghost & ~rec["bifurcated"].values).sum())
    n_one = int(rec["one_fixed_point"].values.sum())
    n_osc, n_esc = int(rec["oscillated"].values.sum()), int(esc.sum())
    med = "n/a" if gp.median is None else f"{gp.median:.2f}"
    return CensusA(
        n_networks=n,
        verdict_counts=_verdict_counts(rec),
        n_learned=int(rec["learned"].values.sum()),
        n_one_fixed_point_throughout=n_one,
        n_drop=int(drop.sum()),
        n_ghost_mediated=n_ghost,
        n_ghost_without_bifurcation=n_without,
        ghost_drop_progress=gp,
        n_oscillated=n_osc,
        n_escaped=n_esc,
        escaped_curvature=EscapedCurvature(
            n_with_ghost_at_both=int(both.sum()),
            n_curvature_grew=int((c1[both] > c0[both]).sum()),
            n_slope_grew=int((s1[esc] > s0[esc]).sum()),
            seeds=_seeds(rec, both),
        ),
        text=(
            f"{n_ghost} of {n} networks learned through a ghost ({n_without} without any "
            f"bifurcation); {n_one} of {n} kept one fixed point throughout; the ghost "
            f"appeared with a median {med} of the drop done ({gp.n_by_drop_onset} of "
            f"{gp.n} by the drop onset); {n_esc} of {n_osc} oscillating networks escaped"
        ),
        n_drop_with_grad_jump=int((drop & (jump >= grad_jump)).sum()),
        n_drop_one_fixed_point=int((drop & rec["one_fixed_point"].values).sum()),
        n_drop_oscillated=int((drop & rec["oscillated"].values).sum()),
        n_dense=int(rec["dense"].values.sum()),
        n_dense_matching_run=int(rec["matches_run"].values.sum()),
    )


def census_b(rec: xr.Dataset, *, flat_ratio: float) -> CensusB:
    """Counts over panel-B records (:func:`record_b`).

    Args:
        rec: the records (:func:`records`).
        flat_ratio: a stuck-after-saddle-node network whose ``grad_ratio`` is below this
            counts in ``n_flat_after_saddle_node`` (a practically zero gradient).
    """
    n = int(rec.sizes["net"])
    learned = rec["learned"].values.astype(bool)
    stuck = rec["stuck"].values.astype(bool)
    bif = rec["bifurcated"].values.astype(bool)
    sn_stuck = stuck & rec["saddle_node"].values.astype(bool)
    ratio = rec["grad_ratio"].values.astype(np.float64)
    n_learned, n_stuck, n_sn = int(learned.sum()), int(stuck.sum()), int(sn_stuck.sum())
    n_without = int((stuck & ~bif).sum())
    n_other = int((stuck & bif & ~sn_stuck).sum())
    n_learned_without = int((learned & ~stuck & ~bif).sum())
    return CensusB(
        n_networks=n,
        verdict_counts=_verdict_counts(rec),
        n_learned=n_learned,
        n_stuck=n_stuck,
        n_stuck_after_saddle_node=n_sn,
        n_stuck_without_bifurcation=n_without,
        n_stuck_other=n_other,
        n_learned_without_bifurcation=n_learned_without,
        n_learned_with_bifurcation=int((learned & ~stuck & bif).sum()),
        n_never_learned=int((~learned).sum()),
        grad_ratio={
            str(s): float(r)
            for s, r in zip(rec["seed"].values[sn_stuck], ratio[sn_stuck], strict=True)
        },
        seeds_stuck_after_saddle_node=_seeds(rec, sn_stuck),
        seeds_stuck_without_bifurcation=_seeds(rec, stuck & ~bif),
        text=(
            f"of {n} networks, {n_learned} learned and {n_stuck} got stuck: {n_sn} after a "
            f"saddle-node bifurcation, {n_without} without a bifurcation, {n_other} after "
            f"another; {n_learned_without} learned without any bifurcation"
        ),
        n_flat_after_saddle_node=int((ratio[sn_stuck] < flat_ratio).sum()),
    )


def _first(rec: xr.Dataset, mask: np.ndarray, paper_seed: int) -> int | None:
    """The paper seed if it satisfies ``mask``, else the lowest seed that does."""
    seeds = rec["seed"].values
    ok = seeds[np.asarray(mask, bool)]
    if not ok.size:
        return None
    return int(paper_seed) if paper_seed in ok else int(ok.min())


def _pick(
    rec: xr.Dataset, tiers: list[tuple[Any, str]], paper_seed: int, none: str
) -> tuple[int, str]:
    """The first tier's pick (:func:`_first`) with its reason, else the paper seed."""
    for mask, why in tiers:
        seed = _first(rec, mask, paper_seed)
        if seed is not None:
            return seed, f"representative network: seed {seed} {why}"
    return int(paper_seed), f"{none}; showing the paper's seed {paper_seed}"


def pick_a(rec: xr.Dataset, paper_seed: int) -> tuple[int, str]:
    """Panel A's representative network and why it was chosen.

    In order of preference, the paper seed first within each tier, else the lowest seed:
    a ghost-mediated run without any bifurcation that oscillated and escaped; one that
    did not escape; any network that learned; else the paper seed.
    """
    ghost = (rec["verdict"].values.astype(str) == "ghost-mediated") & ~rec["bifurcated"].values
    tiers = [
        (ghost & rec["escaped"].values.astype(bool),
         "learned through a ghost without a bifurcation, then oscillated and escaped"),
        (ghost, "learned through a ghost without a bifurcation"),
        (rec["learned"].values.astype(bool), "learned (no network learned through a ghost)"),
    ]  # fmt: skip
    return _pick(rec, tiers, paper_seed, "no network learned")


def pick_b(rec: xr.Dataset, paper_seed: int) -> tuple[int, str]:
    """Panel B's representative: stuck after a saddle-node bifurcation (paper seed first,
    else the lowest seed); else stuck at all; else the paper seed."""
    stuck = rec["stuck"].values.astype(bool)
    tiers = [
        (stuck & rec["saddle_node"].values.astype(bool),
         "got stuck after a saddle-node bifurcation"),
        (stuck, "got stuck (no network got stuck after a saddle-node bifurcation)"),
    ]  # fmt: skip
    return _pick(rec, tiers, paper_seed, "no network got stuck")
