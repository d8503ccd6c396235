"""The leading singular directions of full-rank recurrent weights, snapshot by snapshot.

A full-rank ``W`` is analysed through ``W ~ U_K S_K V_K^T``, ``M = U_K S_K``,
``Nmat = V_K^T``, with the share of the spectrum it leaves out reported. Pure: arrays in,
a :class:`SVDReduction` out.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["SVDReduction", "svd_reduce"]


@dataclasses.dataclass(frozen=True, eq=False)
class SVDReduction:
    """The leading ``K`` singular directions of ``W`` at every snapshot.

    ``W = U diag(s) V^T`` (singular values descending); the reduction keeps
    ``W_K = U_K diag(s_K) V_K^T = M Nmat`` with ``M = U_K diag(s_K)`` and ``Nmat = V_K^T``,
    the best rank-``K`` approximation of ``W`` (Eckart-Young). The sign of each pair
    ``(u_k, v_k)`` (free in an SVD) is fixed so that the largest entry of ``v_k`` is positive
    at the first snapshot and ``v_k`` turns by less than 90 degrees from one snapshot to the
    next, so the latent coordinates ``kappa = Nmat x`` do not flip between snapshots.

    Attributes:
        K: directions kept.
        M: ``[S, N, K]`` float64, ``U_K diag(s_K)``.
        Nmat: ``[S, K, N]`` float64, ``V_K^T``.
        singular_values: ``[S, N]`` every singular value, descending.
        discarded_share: ``[S]`` ``sum_{i > K} s_i^2 / sum_i s_i^2``, the share of the
            spectrum left out, equal to ``||W - W_K||_F^2 / ||W||_F^2`` (0 for ``W = 0``).
    """

    K: int
    M: np.ndarray
    Nmat: np.ndarray
    singular_values: np.ndarray
    discarded_share: np.ndarray

    @property
    def max_discarded_share(self) -> float:
        """The largest discarded share over the snapshots."""
        return float(np.max(self.discarded_share))


def svd_reduce(W: Any, K: int) -> SVDReduction:
    """Leading-``K`` singular directions of ``W`` (see :class:`SVDReduction`).

    Args:
        W: ``[S, N, N]`` (or ``[N, N]``, one snapshot) recurrent weights, column
            convention.
        K: directions kept, ``1 <= K <= N``.

    Returns:
        :class:`SVDReduction` computed in float64.

    Raises:
        ValueError: on a ``W`` that is not a finite stack of square matrices, or a bad ``K``.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 2:
        W = W[None]
    if W.ndim != 3 or W.shape[1] != W.shape[2] or W.shape[1] == 0:
        raise ValueError(f"W must have shape [S, N, N] or [N, N], got {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W must be finite")
    N = W.shape[1]
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or not 1 <= K <= N:
        raise ValueError(f"rank must be an integer in 1..N = {N}, got {K!r}")
    K = int(K)
    U, s, Vt = np.linalg.svd(W)
    U, Vt = U[..., :K].copy(), Vt[..., :K, :].copy()
    _align_signs(U, Vt)
    total = np.sum(s * s, axis=-1)
    kept = np.sum(s[:, :K] ** 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, np.maximum(total - kept, 0.0) / total, 0.0)
    return SVDReduction(
        K=K, M=U * s[:, None, :K], Nmat=Vt, singular_values=s, discarded_share=share
    )


def _align_signs(U: np.ndarray, Vt: np.ndarray) -> None:
    """Flip the pairs ``(u_k, v_k)`` in place: ``v_k`` largest entry positive at the first
    snapshot, then within 90 degrees of the previous snapshot's."""
    S, K = Vt.shape[0], Vt.shape[1]
    for k in range(K):
        v = Vt[:, k, :]
        sign = np.ones(S)
        sign[0] = 1.0 if v[0, np.argmax(np.abs(v[0]))] >= 0 else -1.0
        for i in range(1, S):
            sign[i] = 1.0 if float(v[i] @ v[i - 1]) * sign[i - 1] >= 0 else -1.0
        U[:, :, k] *= sign[:, None]
        Vt[:, k, :] *= sign[:, None]
