"""Scoring checkpoint snapshots on the delayed-activation task.

The exact network of each snapshot is simulated on one trial of the paper's task and its
loss and accuracy returned (:func:`task_metrics`): the metrics of a checkpoint saved
without a loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .schema import KEY_SETS, Checkpoint

if TYPE_CHECKING:
    from ..rnn import RNNConfig

__all__ = ["task_metrics"]


def task_metrics(ckpt: Checkpoint, *, c: float = 10.0) -> dict[str, np.ndarray]:
    """Loss and accuracy of every snapshot on the delayed-activation task.

    One trial of the paper's task (:mod:`ghostlearn.task`: 20 + 20 Euler steps from
    ``x(0) = -0.3``, no input) with ``D`` from the checkpoint (default 0.5). The readout is
    the paper's: rank one ``sigmoid(c (n . x - 1))``; rank K and full rank
    ``sigmoid(w_out . x + b_out)`` with the checkpoint's ``w_out`` [N] and ``b_out``. The
    exact network is simulated (a full-rank ``W`` is not reduced), in float64.

    Args:
        ckpt: the checkpoint.
        c: confidence of the rank-one readout.

    Returns:
        ``{"loss": [S], "accuracy": [S]}``.

    Raises:
        ValueError: for a network with inputs (``W_in``) or, for rank K and full rank,
            without a single readout (``w_out`` [N], ``b_out`` []).
    """
    import jax

    from .. import task
    from ..rnn import simulate

    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c must be a finite number > 0, got {c}")
    if ckpt.n_in:
        raise ValueError(
            f"{ckpt.source} has no loss, and a network with inputs (W_in) cannot be scored on "
            "the delayed-activation task; add array loss"
        )
    cfg, params = _task_network(ckpt)
    with jax.enable_x64(True):
        simulated = jax.vmap(lambda p: simulate(p, cfg, c).output)(params)
        out = np.asarray(simulated, dtype=np.float64)
    target = task.targets(cfg, np.float64)
    return {
        "loss": np.asarray(task.loss(out, target), dtype=np.float64),
        "accuracy": np.asarray(task.accuracy(out, target), dtype=np.float64),
    }


def _task_network(ckpt: Checkpoint) -> tuple[RNNConfig, dict[str, np.ndarray]]:
    """``(RNNConfig, float64 parameters with a leading snapshot axis)`` of the network
    on the task's time grid (``dt = 5``, ``tau = dt / D``)."""
    from ..rnn import RNNConfig

    D = 0.5 if ckpt.D is None else ckpt.D
    a = ckpt.arrays
    if ckpt.kind == "rank1":
        cfg = RNNConfig(N=ckpt.N, dt=5.0, tau=5.0 / D)
        return cfg, {k: np.asarray(a[k], dtype=np.float64) for k in ("m", "n", "b")}
    w = a.get("w_out")
    b_out = a.get("b_out")
    S, N = ckpt.n_snapshots, ckpt.N
    if w is None or b_out is None or w.size != S * N or b_out.size != S:
        raise ValueError(
            f"{ckpt.source} has no array loss, and no single readout (w_out [N], b_out []) to "
            "score its snapshots on the delayed-activation task; add array loss"
        )
    rank = ckpt.stored_rank if ckpt.kind == "lowrank" else None
    cfg = RNNConfig(model=ckpt.kind, rank=rank, N=ckpt.N, dt=5.0, tau=5.0 / D)
    params = {k: np.asarray(a[k], dtype=np.float64) for k in KEY_SETS[ckpt.kind]}
    params["w_out"] = np.asarray(w, dtype=np.float64).reshape(S, N)
    params["b_out"] = np.asarray(b_out, dtype=np.float64).reshape(S)
    return cfg, params
