"""The latent-circuit analysis of a checkpoint's snapshots.

:func:`analyze_checkpoint` hands the latent flow of :meth:`Checkpoint.latent_weights
<ghostlearn.checkpoints.schema.Checkpoint.latent_weights>` and the checkpoint's metrics
(or the snapshots scored on the task, :func:`~ghostlearn.checkpoints.scoring.task_metrics`)
to :mod:`ghostlearn.analysis`. When abrupt drops cannot be looked for (the loss at too
few epochs, or none), the fixed points, ghosts, tracks and bifurcations of the snapshots
are found alone, under the verdict :data:`NOT_DETERMINABLE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from .schema import Checkpoint
from .scoring import task_metrics

__all__ = ["NOT_DETERMINABLE", "analyze_checkpoint", "checkpoint_input"]

# The abrupt-drop detector of the analysis needs the loss at this many epochs.
_MIN_LOSS_POINTS = 3
#: The verdict of an analysis that cannot look for abrupt drops (too few epochs of loss).
NOT_DETERMINABLE = "not-determinable"


def checkpoint_input(ckpt: Checkpoint, u: Any) -> np.ndarray | None:
    """The constant input ``u`` ``[n_in]`` of a network with inputs, checked.

    Args:
        ckpt: the checkpoint.
        u: ``n_in`` numbers (the columns of ``W_in``), or None (no input).

    Returns:
        ``u`` as float64 ``[n_in]``, or None.

    Raises:
        ValueError: when the checkpoint has no ``W_in``, or ``u`` has another length or a
            non-finite entry.
    """
    if u is None:
        return None
    if ckpt.n_in is None:
        raise ValueError(
            f"{ckpt.source}: an input u is given but the checkpoint has no array W_in "
            "(a network without inputs)"
        )
    try:
        arr = np.asarray(u, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"u must be {ckpt.n_in} numbers, got {u!r}") from None
    if arr.ndim != 1 or arr.size != ckpt.n_in:
        raise ValueError(
            f"u must have n_in = {ckpt.n_in} entries (the columns of W_in), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"u must be finite, got {arr.tolist()}")
    return arr


def _analysis_metrics(
    ckpt: Checkpoint, c: float
) -> tuple[dict[str, np.ndarray], np.ndarray, str | None]:
    """``(metrics, their epochs, why drops cannot be looked for or None)``: the
    checkpoint's metrics, else the snapshots scored on the delayed-activation task, else
    none (a network that cannot be scored)."""
    if ckpt.metrics:
        metrics, epochs = dict(ckpt.metrics), np.asarray(ckpt.metric_epochs, dtype=np.float64)
    else:
        try:
            metrics, epochs = task_metrics(ckpt, c=c), ckpt.epochs
        except ValueError as err:
            return {}, np.zeros(0), f"no loss to look for drops ({err})"
    n = metrics["loss"].size
    if n < _MIN_LOSS_POINTS:
        return (
            metrics,
            epochs,
            (
                f"too few epochs to look for drops: the loss is known at {n} epoch(s), the "
                f"drop detector needs {_MIN_LOSS_POINTS}"
            ),
        )
    return metrics, epochs, None


def _snapshot_points(
    ckpt: Checkpoint,
    u: np.ndarray | None,
    box: tuple[float, float],
    *,
    tau: float,
    ghost_tol: float,
    n_grid: int,
    method: Literal["screen", "grid"],
    n_starts: int,
    seed: int,
    seed_grid: int | None,
) -> tuple[Any, Any, dict[str, Any]]:
    """``(flow, points, settings)`` of every snapshot: the exact 1-D finder for rank one
    (or rank K reduced to one direction, the input shifting the bias), the slow-point
    finder with continuation for K >= 2."""
    from ..analysis import LowRankFlow, Rank1Flow, find_points, find_slow_points_along
    from ..analysis.slowpoints import default_grid

    M, Nmat, b = ckpt.latent_weights()
    W_in = ckpt.arrays.get("W_in") if u is not None else None
    flow: Any = LowRankFlow(M, Nmat, b, W_in, u)
    settings: dict[str, Any] = {"tau": tau, "ghost_tol": ghost_tol}
    if u is not None:
        settings["u"] = u.tolist()
    if flow.rank == 1:
        flow = Rank1Flow(flow.M[..., 0], flow.Nmat[..., 0, :], flow.drive)
        found = find_points(
            flow, interval=box, n_grid=n_grid, tau=tau, ghost_tol=ghost_tol, method=method
        )
        return flow, found, settings | {"n_grid": n_grid, "method": method}
    points = find_slow_points_along(
        flow, box=box, ghost_tol=ghost_tol, n_starts=n_starts, seed=seed, tau=tau,
        n_grid=seed_grid,
    )  # fmt: skip
    grid = default_grid(flow.rank) if seed_grid is None else int(seed_grid)
    return flow, points, settings | {"n_starts": n_starts, "seed": seed, "seed_grid": grid}


def _points_only(
    ckpt: Checkpoint,
    u: np.ndarray | None,
    metrics: Mapping[str, np.ndarray],
    loss_epochs: np.ndarray,
    why: str,
    *,
    interval: tuple[float, float],
    tau: float = 10.0,
    ghost_tol: float | None = None,
    n_grid: int = 1000,
    method: Literal["screen", "grid"] = "screen",
    n_starts: int = 4,
    seed: int = 0,
    seed_grid: int | None = None,
    max_jump: float | None = None,
    detector: Any = None,
    rules: Any = None,
) -> Any:
    """Fixed points, ghosts, tracks and bifurcations of the snapshots, without drops: a
    :class:`~ghostlearn.analysis.RunAnalysis` whose verdict is :data:`NOT_DETERMINABLE`
    (``why``). ``detector`` and ``rules`` are accepted and unused (nothing to detect)."""
    from .._validate import interval as check_interval
    from .._validate import positive
    from ..analysis import GHOST_TOL, FlowPoints, RunAnalysis, Verdict
    from ..analysis.run import snapshot_events

    check_interval("interval", interval)
    positive("tau", tau)
    lo, hi = (float(v) for v in interval)
    jump = 0.05 * (hi - lo) if max_jump is None else float(max_jump)
    positive("max_jump", jump)
    flow, points, settings = _snapshot_points(
        ckpt, u, (lo, hi), tau=tau, ghost_tol=GHOST_TOL if ghost_tol is None else ghost_tol,
        n_grid=n_grid, method=method, n_starts=n_starts, seed=seed, seed_grid=seed_grid,
    )  # fmt: skip
    epochs = ckpt.epochs
    ev = snapshot_events(epochs, points, interval=(lo, hi), max_jump=jump)
    grad, acc = metrics.get("grad_norm"), metrics.get("accuracy")
    return RunAnalysis(
        model="rank1" if isinstance(points, FlowPoints) else "lowrank",
        snapshot_epochs=epochs,
        points=points,
        flow=flow,
        fixed_tracks=ev.fixed_tracks,
        ghost_tracks=ev.ghost_tracks,
        bifurcations=ev.bifurcations,
        ghost_events=ev.ghost_events,
        drops=[],
        verdict=Verdict(label=NOT_DETERMINABLE, reason=why),
        loss_epochs=np.asarray(loss_epochs, dtype=np.float64),
        loss=np.asarray(metrics.get("loss", np.zeros(0)), dtype=np.float64),
        grad_norm=None if grad is None else np.asarray(grad, dtype=np.float64),
        accuracy=None if acc is None else np.asarray(acc, dtype=np.float64),
        settings=settings | {"interval": [lo, hi], "max_jump": jump},
    )


def analyze_checkpoint(
    ckpt: Checkpoint,
    *,
    c: float = 10.0,
    interval: tuple[float, float] = (-15.0, 15.0),
    u: Any = None,
    **kwargs: Any,
) -> Any:
    """Fixed points, ghosts, bifurcations and abrupt drops of a checkpoint's snapshots.

    The latent flow ``tau dkappa/dt = -kappa + Nmat tanh(M kappa + W_in u + b)`` of
    :meth:`Checkpoint.latent_weights` (the autonomous flow, ``u = 0``, unless an input
    ``u`` is given) goes to :func:`ghostlearn.analysis.analyze_run` (rank one) or
    :func:`ghostlearn.analysis.analyze_run_lowrank` (rank K, full rank through its
    leading singular directions, and rank one under an input). The metrics are the
    checkpoint's; without a loss the snapshots are scored on the delayed-activation task
    (:func:`task_metrics`).

    With the loss at fewer than 3 epochs (a single snapshot, say), or no loss and
    snapshots that cannot be scored (inputs, no readout), abrupt drops cannot be looked
    for: the fixed points (with their stability classes), ghosts, tracks and bifurcations
    of the snapshots are found all the same, ``drops`` is empty and the verdict is
    :data:`NOT_DETERMINABLE`, its reason saying why ("too few epochs to look for drops").

    Args:
        ckpt: the checkpoint.
        c: confidence of the rank-one readout when scoring.
        interval: the interval (rank one) or box (rank K) of kappa searched.
        u: the constant input ``[n_in]`` of a network with inputs (:func:`checkpoint_input`).
        **kwargs: further settings of the analysis entry point (``tau``, ``ghost_tol``,
            ``n_starts``, ``detector``, ``rules``, ...).

    Returns:
        :class:`ghostlearn.analysis.RunAnalysis`.

    Raises:
        ValueError: on a bad ``u`` (see :func:`checkpoint_input`) or setting.
    """
    from ..analysis import analyze_run, analyze_run_lowrank

    u_in = checkpoint_input(ckpt, u)
    metrics, loss_epochs, why = _analysis_metrics(ckpt, c)
    if why is not None:
        return _points_only(ckpt, u_in, metrics, loss_epochs, why, interval=interval, **kwargs)
    common = {
        "accuracy": metrics.get("accuracy"),
        "loss_epochs": loss_epochs,
        "interval": interval,
        **kwargs,
    }
    loss, grad_norm = metrics["loss"], metrics.get("grad_norm")
    if ckpt.kind == "rank1" and u_in is None:
        a = ckpt.arrays
        return analyze_run(ckpt.epochs, a["m"], a["n"], a["b"], loss, grad_norm, **common)
    M, Nmat, b = ckpt.latent_weights()
    W_in = None if u_in is None else ckpt.arrays["W_in"]
    return analyze_run_lowrank(
        ckpt.epochs, M, Nmat, b, loss, grad_norm, W_in=W_in, u=u_in, **common
    )
