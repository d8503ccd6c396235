"""The latent picture of one network at a subset of its snapshots.

Rank one (:func:`snapshot_frames`): the flow ``f(kappa) = -kappa + n . tanh(m kappa + b)``
on a window of kappa, its fixed points and ghosts
(:func:`ghostlearn.analysis.rank1_points`), and the trial's latent trajectory
``kappa(t+1) = (1 - D) kappa(t) + D n . tanh(m kappa(t) + b)``, ``kappa(0) = x0 sum(n)``
(exactly ``n . x(t)`` of the full network, :func:`latent_trajectories`).

Rank K >= 2 (:func:`plane_frames`): one plane for all snapshots (the latent plane for
K = 2, the plane of the two leading directions for K > 2), the flow on it, the fixed
points by class and the ghosts (:func:`ghostlearn.analysis.find_slow_points_along`), the
readout and the trial's latent trajectory
``kappa(t+1) = (1 - D) kappa(t) + D Nmat tanh(M kappa(t) + b)``, ``kappa(0) = x0 Nmat 1``
(exactly ``Nmat x(t)``).

Everything here works on a training Dataset in memory; nothing touches the disk.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

if TYPE_CHECKING:
    from ..rnn import RNNConfig

__all__ = [
    "INTERVAL",
    "PlaneFrames",
    "SnapshotFrames",
    "has_latent_snapshots",
    "latent_trajectories",
    "model_config",
    "model_settings",
    "plane_frames",
    "snapshot_frames",
    "snapshot_subset",
]

#: Flows, fixed points and ghosts are sought on this kappa interval (the paper's).
INTERVAL = (-15.0, 15.0)


def model_config(ds: xr.Dataset) -> RNNConfig:
    """The :class:`~ghostlearn.rnn.RNNConfig` of a training Dataset's ``model`` attribute,
    read by :func:`ghostlearn.train.model_from_dataset` (a missing or invalid attribute is
    a ``ValueError``)."""
    from ..train import model_from_dataset

    return model_from_dataset(ds)


def model_settings(ds: xr.Dataset) -> dict[str, Any]:
    """:func:`model_config` as a JSON-compatible dict, with ``D``, ``n_steps`` and ``half``."""
    cfg = model_config(ds)
    return dataclasses.asdict(cfg) | {"D": cfg.D, "n_steps": cfg.n_steps, "half": cfg.half}


def has_latent_snapshots(ds: xr.Dataset) -> bool:
    """Whether the run has snapshots whose latent flow the report draws (rank one, or
    rank K >= 2)."""
    cfg = model_config(ds)
    if cfg.model == "rank1":
        return "snap_m" in ds.variables
    return cfg.model == "lowrank" and "snap_M" in ds.variables and cfg.K >= 2


def snapshot_subset(
    epochs: Any, max_snapshots: int, keep_epochs: Sequence[float] = ()
) -> np.ndarray:
    """Positions of at most about ``max_snapshots`` snapshots to show.

    Evenly spaced positions (first and last included), plus the snapshot at or just after
    every epoch in ``keep_epochs`` (events), so the slider can stop on them.

    Args:
        epochs: ``[S]`` increasing snapshot epochs.
        max_snapshots: number of evenly spaced positions (>= 2).
        keep_epochs: epochs whose snapshot must be shown too.

    Returns:
        Sorted unique positions into ``epochs``.
    """
    e = np.asarray(epochs, dtype=np.float64)
    S = e.size
    if S == 0:
        return np.zeros(0, np.int64)
    idx = np.unique(np.round(np.linspace(0, S - 1, min(S, max_snapshots))).astype(np.int64))
    extra = [min(int(np.searchsorted(e, k, side="left")), S - 1) for k in keep_epochs]
    return np.unique(np.concatenate([idx, np.asarray(extra, dtype=np.int64)]))


def latent_trajectories(m: Any, n: Any, b: Any, cfg: RNNConfig) -> np.ndarray:
    """The rank-one latent variable over one trial, for a batch of parameters.

    :func:`ghostlearn.rnn.latent_trajectory`, ``kappa(0) = x0 sum_i n_i`` and
    ``kappa(t+1) = (1 - D) kappa(t) + D n . tanh(m kappa(t) + b)`` (exactly ``n . x(t)``
    of the full network started at ``x(0) = x0``), mapped over the leading axes and run
    in float64.

    Args:
        m, n, b: ``[..., N]`` parameters.
        cfg: the network's configuration (``D``, ``x0``, ``n_steps``; its model and
            ``N`` are not used).

    Returns:
        ``[..., n_steps + 1]`` latent trajectory (float64).
    """
    import jax

    arrays = [np.asarray(v, dtype=np.float64) for v in (m, n, b)]
    lead = arrays[0].shape[:-1]
    N = arrays[0].shape[-1]
    rank1 = dataclasses.replace(cfg, model="rank1", rank=None, N=N)
    with jax.enable_x64(True):
        params = {k: v.reshape(-1, N) for k, v in zip("mnb", arrays, strict=True)}
        out = np.asarray(_trajectory_batch()(params, rank1), dtype=np.float64)
    return out.reshape(*lead, rank1.n_steps + 1)


@functools.cache
def _trajectory_batch() -> Any:
    """``(params [B, N] each, cfg) -> [B, n_steps + 1]``: :func:`ghostlearn.rnn.latent_trajectory`
    mapped over a batch, compiled once per configuration and shape."""
    import jax

    from ..rnn import latent_trajectory

    def batch(params: dict[str, Any], cfg: RNNConfig) -> Any:
        return jax.vmap(lambda p: latent_trajectory(p, cfg))(params)

    return jax.jit(batch, static_argnums=1)


# --------------------------------------------------------------------------- shared steps


def _check_net(ds: xr.Dataset, net: int) -> None:
    P = ds.sizes["net"]
    if not 0 <= net < P:
        raise ValueError(f"net must be a position in 0..{P - 1}, got {net}")


def _finite_subset(
    snap_epochs: np.ndarray,
    arrays: Sequence[np.ndarray],
    max_snapshots: int,
    keep_epochs: Sequence[float],
    notes: list[str],
) -> tuple[np.ndarray, int]:
    """``(positions shown, snapshots with finite parameters)``: snapshots with a
    non-finite parameter are left out (and counted in ``notes``), then at most about
    ``max_snapshots`` are kept (:func:`snapshot_subset`)."""
    S = snap_epochs.size
    finite = np.ones(S, bool)
    for a in arrays:
        finite &= np.all(np.isfinite(a.reshape(S, -1)), axis=1)
    valid = np.flatnonzero(finite)
    if valid.size < S:
        notes.append(f"{S - valid.size} snapshot(s) with non-finite parameters omitted.")
    if valid.size == 0:
        return valid, 0
    return valid[snapshot_subset(snap_epochs[valid], max_snapshots, keep_epochs)], valid.size


def _reused_rows(points: Any, point_epochs: Any, shown: np.ndarray) -> np.ndarray | None:
    """Rows of ``points`` (found at ``point_epochs``) at the epochs ``shown``, or None
    when some shown epoch has no row."""
    if points is None or point_epochs is None:
        return None
    pe = np.asarray(point_epochs, dtype=np.float64)
    where = np.searchsorted(pe, shown)
    if pe.size and np.all(where < pe.size) and np.all(pe[np.minimum(where, pe.size - 1)] == shown):
        return where
    return None


# --------------------------------------------------------------------------- rank one


@dataclasses.dataclass(frozen=True, eq=False)
class SnapshotFrames:
    """The latent picture of one network at a subset of its snapshots.

    Attributes:
        epochs: ``[S]`` snapshot epochs shown.
        n_total: snapshots recorded (with finite parameters).
        kappa: ``[G]`` points of kappa where the flow is evaluated (the display window).
        flow: ``[S, G]`` ``f(kappa)``.
        fixed_kappa, fixed_stability: ``[S, F]`` fixed points (NaN / 0 pads; codes of
            :data:`ghostlearn.analysis.points.STABILITY_CODES`).
        ghost_kappa, ghost_depth: ``[S, H]`` ghosts (NaN pads).
        trajectory: ``[S, n_steps + 1]`` the trial's latent trajectory.
        notes: remarks (omitted snapshots).
    """

    epochs: np.ndarray
    n_total: int
    kappa: np.ndarray
    flow: np.ndarray
    fixed_kappa: np.ndarray
    fixed_stability: np.ndarray
    ghost_kappa: np.ndarray
    ghost_depth: np.ndarray
    trajectory: np.ndarray
    notes: list[str]


def _empty_snapshot_frames(notes: list[str]) -> SnapshotFrames:
    empty = np.zeros((0, 0))
    return SnapshotFrames(
        epochs=np.zeros(0), n_total=0, kappa=np.zeros(0), flow=empty, fixed_kappa=empty,
        fixed_stability=empty.astype(np.int8), ghost_kappa=empty, ghost_depth=empty,
        trajectory=empty, notes=notes,
    )  # fmt: skip


def _flow_window(cfg: RNNConfig, *pools: np.ndarray) -> tuple[float, float]:
    """The kappa window around ``pools`` and the readout threshold: padded (15 %, at least
    0.5 and a width of 4), inside :data:`INTERVAL`."""
    vals = np.concatenate([np.array([float(cfg.kappa_thr)]), *(p.ravel() for p in pools)])
    vals = vals[np.isfinite(vals)]
    lo, hi = float(vals.min()), float(vals.max())
    pad = max(0.15 * (hi - lo), 0.5)
    lo, hi = lo - pad, hi + pad
    if hi - lo < 4.0:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 2.0, mid + 2.0
    return max(lo, INTERVAL[0]), min(hi, INTERVAL[1])


def snapshot_frames(
    ds: xr.Dataset,
    net: int,
    *,
    max_snapshots: int = 150,
    n_kappa: int = 200,
    keep_epochs: Sequence[float] = (),
    points: Any = None,
    point_epochs: Any = None,
) -> SnapshotFrames:
    """Flows, fixed points, ghosts and trial trajectories of one rank-one network.

    Snapshots with non-finite parameters are skipped; at most about ``max_snapshots`` are
    kept (:func:`snapshot_subset`, with ``keep_epochs``). The flow window covers the
    trajectories, the points and the readout threshold, padded (15 %, at least 0.5 and a
    width of 4), inside [-15, 15].

    Args:
        ds: a rank-one training Dataset with ``snap_m``, ``snap_n``, ``snap_b``.
        net: position along ``net``.
        max_snapshots, n_kappa: sizes (see :class:`~ghostlearn.report.payload.ReportOptions`).
        keep_epochs: epochs whose snapshots must be kept (events).
        points, point_epochs: optional :class:`~ghostlearn.analysis.points.FlowPoints`
            already found at those snapshot epochs (reused, not recomputed).

    Returns:
        :class:`SnapshotFrames`.

    Raises:
        ValueError: when the Dataset has no rank-one snapshots or ``net`` is out of range.
    """
    from ..analysis.flows import rank1_flow
    from ..analysis.points import rank1_points

    cfg = model_config(ds)
    if cfg.model != "rank1" or "snap_m" not in ds.variables:
        raise ValueError(
            "the dataset has no rank-one snapshots (snap_m); train a rank-one model with "
            "snapshot_every > 0"
        )
    _check_net(ds, net)
    notes: list[str] = []
    snap_epochs = np.asarray(ds["snapshot"].values, dtype=np.float64)
    m, n, b = (
        np.asarray(ds[f"snap_{k}"].isel(net=net).transpose("snapshot", "unit").values, np.float64)
        for k in "mnb"
    )
    sub, n_total = _finite_subset(snap_epochs, (m, n, b), max_snapshots, keep_epochs, notes)
    if n_total == 0:
        return _empty_snapshot_frames(notes)
    se = snap_epochs[sub]
    m, n, b = m[sub], n[sub], b[sub]
    fp, rows = points, _reused_rows(points, point_epochs, se)
    if rows is None:
        fp = rank1_points(m, n, b, interval=INTERVAL, tau=float(cfg.tau))
        rows = np.arange(se.size)
    fk = np.asarray(fp.fixed_kappa)[rows]
    gk = np.asarray(fp.ghost_kappa)[rows]
    traj = latent_trajectories(m, n, b, cfg)
    kgrid = np.linspace(*_flow_window(cfg, traj, fk, gk), n_kappa)
    return SnapshotFrames(
        epochs=se,
        n_total=n_total,
        kappa=kgrid,
        flow=rank1_flow(kgrid, m, n, b),
        fixed_kappa=fk,
        fixed_stability=np.asarray(fp.fixed_stability)[rows],
        ghost_kappa=gk,
        ghost_depth=np.asarray(fp.ghost_depth)[rows],
        trajectory=traj,
        notes=notes,
    )


# --------------------------------------------------------------------------- rank K


@dataclasses.dataclass(frozen=True, eq=False)
class PlaneFrames:
    """The phase portraits of one rank-K network (K >= 2) at a subset of its snapshots.

    Attributes:
        epochs: ``[S]`` snapshot epochs shown.
        n_total: snapshots recorded (with finite parameters).
        flow: the :class:`~ghostlearn.analysis.flows.LowRankFlow` ``[S]`` at those
            snapshots (with input weights: under zero input).
        points: their :class:`~ghostlearn.analysis.slowpoints.SlowPoints` ``[S]``.
        trajectory: ``[S, n_steps + 1, K]`` the task's trial in the latent space, or None
            (a task whose trials do not all start at ``x0`` without input).
        readout: the readout at those snapshots
            (:class:`~ghostlearn.analysis.run.LatentReadout`), or None.
        plane: the :class:`~ghostlearn.analysis.plane.LatentPlane` shown (one for all).
        limits: ``((a_lo, a_hi), (b_lo, b_hi))`` of the plane (one for all).
        speed_range: ``(lo, hi)`` of the speed over the shown window and snapshots.
        notes: remarks (omitted snapshots, input).
    """

    epochs: np.ndarray
    n_total: int
    flow: Any
    points: Any
    trajectory: np.ndarray | None
    readout: Any
    plane: Any
    limits: tuple[tuple[float, float], tuple[float, float]]
    speed_range: tuple[float, float]
    notes: list[str]

    def readout_at(self, s: int) -> Any:
        """The readout of frame ``s`` as :func:`~ghostlearn.analysis.plane.readout_values`
        takes it, or None."""
        from ..analysis.plane import state_readout

        r = self.readout
        if r is None:
            return None
        if r.kind == "latent":
            return (r.w_out[s], float(r.b_out[s]), r.threshold)
        return state_readout(self.flow[s], r.w_out[s], float(r.b_out[s]), r.threshold)


def _plane_parameters(
    ds: xr.Dataset, net: int, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``(M [S, N, K], Nmat [S, K, N], b [S, N], W_in [S, N, n_in] or None)`` of ``net``."""

    def arr(name: str, dims: tuple[str, ...]) -> np.ndarray:
        return np.asarray(ds[name].isel(net=net).transpose(*dims).values, dtype=np.float64)

    M = arr("snap_M", ("snapshot", "unit", "k"))
    Nm = arr("snap_Nmat", ("snapshot", "k", "unit"))
    b = arr("snap_b", ("snapshot", "unit"))
    W_in = None
    if "snap_W_in" in ds.variables:
        extra = [str(d) for d in ds["snap_W_in"].dims if d not in ("net", "snapshot", "unit")]
        W_in = arr("snap_W_in", ("snapshot", "unit", *extra))
        notes.append("The flows are drawn without input (u = 0), as in the delay periods.")
    return M, Nm, b, W_in


def _shown_readout(ds: xr.Dataset, net: int, sub: np.ndarray) -> Any:
    """The network's :class:`~ghostlearn.analysis.run.LatentReadout` at the snapshots
    ``sub``, or None (not recorded, or not finite there)."""
    from ..analysis.run import LatentReadout, dataset_readout

    readout = dataset_readout(ds, net)
    if readout is None:
        return None
    w, bo = readout.w_out[sub], readout.b_out[sub]
    ok = np.all(np.isfinite(w)) and np.all(np.isfinite(bo))
    return LatentReadout(readout.kind, w, bo) if ok else None


def _speed_range(flow: Any, plane: Any, limits: Any) -> tuple[float, float]:
    """``(lo, hi)`` of the speed on a coarse grid of the window over every snapshot."""
    from ..analysis.plane import plane_field

    lo, hi = np.inf, 0.0
    for s in range(flow.batch_shape[0]):
        sp = plane_field(flow[s], plane, limits, 16).speed
        lo, hi = min(lo, float(sp.min())), max(hi, float(sp.max()))
    lo = max(lo, 1e-6 * hi, 1e-12)
    return lo, max(hi, 10.0 * lo)


def plane_frames(
    ds: xr.Dataset,
    net: int,
    *,
    max_snapshots: int = 150,
    keep_epochs: Sequence[float] = (),
    points: Any = None,
    point_epochs: Any = None,
) -> PlaneFrames:
    """Phase-portrait data of one rank-K network (K >= 2) at a subset of its snapshots.

    Snapshots with non-finite parameters are skipped; at most about ``max_snapshots`` are
    kept (:func:`snapshot_subset`, with ``keep_epochs``). Fixed points and ghosts are
    reused from ``points`` when given for those epochs, else found with
    :func:`~ghostlearn.analysis.slowpoints.find_slow_points_along`. One plane
    (:func:`~ghostlearn.analysis.plane.leading_plane`: the latent plane for K = 2) and one
    window (the trial and the points, padded, inside [-15, 15] for K = 2) serve every frame.
    Networks with inputs are drawn under zero input.

    Args:
        ds: a rank-K training Dataset with ``snap_M``, ``snap_Nmat``, ``snap_b``.
        net: position along ``net``.
        max_snapshots: snapshots to keep (about).
        keep_epochs: epochs whose snapshots must be kept (events).
        points, point_epochs: optional :class:`~ghostlearn.analysis.slowpoints.SlowPoints`
            already found at those snapshot epochs (reused, not recomputed).

    Returns:
        :class:`PlaneFrames`.

    Raises:
        ValueError: when the Dataset has no rank-K snapshots with K >= 2, or ``net`` is out
            of range.
    """
    from ..analysis.flows import LowRankFlow
    from ..analysis.plane import latent_trial, leading_plane, plane_limits, trial_start
    from ..analysis.run import dataset_trial
    from ..analysis.slowpoints import SlowPoints, find_slow_points_along

    cfg = model_config(ds)
    if cfg.model != "lowrank" or "snap_M" not in ds.variables or cfg.K < 2:
        raise ValueError(
            "the dataset has no rank-K snapshots (snap_M with K >= 2); train a lowrank model "
            "with snapshot_every > 0"
        )
    _check_net(ds, net)
    notes: list[str] = []
    snap_epochs = np.asarray(ds["snapshot"].values, dtype=np.float64)
    M, Nm, b, W_in = _plane_parameters(ds, net, notes)
    params = (M, Nm, b) + (() if W_in is None else (W_in,))
    sub, n_total = _finite_subset(snap_epochs, params, max_snapshots, keep_epochs, notes)
    if n_total == 0:
        return PlaneFrames(
            epochs=np.zeros(0), n_total=0, flow=None, points=None, trajectory=None,
            readout=None, plane=None, limits=((0.0, 1.0), (0.0, 1.0)),
            speed_range=(1.0, 10.0), notes=notes,
        )  # fmt: skip
    se = snap_epochs[sub]
    no_input = None if W_in is None else np.zeros(W_in.shape[-1])
    flow = LowRankFlow(M[sub], Nm[sub], b[sub], None if W_in is None else W_in[sub], no_input)
    rows = _reused_rows(points if isinstance(points, SlowPoints) else None, point_epochs, se)
    if rows is None:
        pts = find_slow_points_along(flow, box=INTERVAL, tau=float(cfg.tau))
    else:
        pts = points.take(rows)
    trial = dataset_trial(ds)
    traj = None
    if trial is not None:
        traj = latent_trial(
            flow, trial_start(flow, trial["x0"]), D=trial["D"], n_steps=int(trial["n_steps"])
        )
    data = [pts.kappa] + ([traj] if traj is not None else [])
    plane = leading_plane(flow, data)
    limits = plane_limits(plane, [*data, plane.origin[None]], box=INTERVAL)
    return PlaneFrames(
        epochs=se,
        n_total=n_total,
        flow=flow,
        points=pts,
        trajectory=traj,
        readout=_shown_readout(ds, net, sub),
        plane=plane,
        limits=limits,
        speed_range=_speed_range(flow, plane, limits),
        notes=notes,
    )
