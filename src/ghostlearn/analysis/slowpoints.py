"""Fixed points and ghosts of K-dimensional latent flows (rank-K RNNs): a slow-point finder.

For ``F(kappa) = -kappa + Nmat tanh(M kappa + b)`` the speed ``q = |F|^2 / 2`` is minimised
from many starts at once (compiled, vmapped over starts and flows):

1. Levenberg-Marquardt on ``F`` (``n_iter`` steps): ``(J^T J + lam diag(J^T J)) d = -J^T F``,
   a step kept only when it lowers ``q``; ``lam`` shrinks after a success, grows after a
   failure. It converges to zeros of ``F`` and to other local minima of ``q``.
2. Newton polish on ``grad q = J^T F`` with the exact Hessian
   ``H = J^T J + M^T diag((Nmat^T F) * tanh''(M kappa + b)) M`` (kept only when it lowers
   ``|grad q|``): quadratic convergence to fixed points and to ghosts alike.

Each end point is then labelled (points outside the box are dropped, duplicates merged,
keeping the slowest):

- fixed point if ``|F| <= fixed_tol``: ``'stable'`` (all eigenvalues of ``J`` with negative
  real part), ``'unstable'`` (all positive) or ``'saddle'`` (mixed);
- ``'ghost'`` if ``fixed_tol < |F| < ghost_tol``, ``|grad q|`` is negligible and ``H`` is
  positive semi-definite (a true local minimum of the speed, not a saddle of ``q``);
- otherwise discarded (not converged, or a minimum of ``q`` too fast to matter).

The same ``ghost_tol`` as in 1-D applies to ``|F|`` (see :mod:`ghostlearn.analysis.points`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from .flows import LowRankFlow, lowrank_flow, lowrank_jacobian
from .points import DEFAULT_INTERVAL, GHOST_TOL

__all__ = ["KIND_CODES", "SlowPoint", "SlowPoints", "find_slow_points"]

#: Codes of ``SlowPoints.kind``; 0 pads.
KIND_CODES = {1: "stable", 2: "unstable", 3: "saddle", 4: "ghost"}
_STABLE, _UNSTABLE, _SADDLE, _GHOST = 1, 2, 3, 4


@dataclasses.dataclass(frozen=True)
class SlowPoint:
    """One fixed point or ghost of a K-D flow."""

    kappa: tuple[float, ...]
    kind: str
    speed: float
    eigenvalues: tuple[complex, ...]

    @property
    def q(self) -> float:
        """``q = |F|^2 / 2``."""
        return 0.5 * self.speed**2


@dataclasses.dataclass(frozen=True, eq=False)
class SlowPoints:
    """Fixed points and ghosts of a batch of K-D flows, padded to ``P`` points per flow.

    Attributes:
        kappa: ``[..., P, K]`` locations (NaN padding), sorted by the first coordinate.
        kind: ``[..., P]`` int8 codes, see :data:`KIND_CODES`.
        speed: ``[..., P]`` ``|F|`` at the point.
        eigenvalues: ``[..., P, K]`` complex eigenvalues of ``J`` (sorted by real part).
        n_points: ``[...]`` number of points (fixed points and ghosts).
        tau, box, ghost_tol, fixed_tol: settings used.
    """

    kappa: np.ndarray
    kind: np.ndarray
    speed: np.ndarray
    eigenvalues: np.ndarray
    n_points: np.ndarray
    tau: float
    box: tuple[float, float]
    ghost_tol: float
    fixed_tol: float

    def __repr__(self) -> str:
        nf, ng = np.asarray(self.n_fixed), np.asarray(self.n_ghosts)
        counts = (
            f"fixed points {nf.min()}-{nf.max()} per flow, ghosts {ng.min()}-{ng.max()}"
            if nf.size
            else "no flow"
        )
        return (
            f"SlowPoints(batch {self.batch_shape}, K={self.kappa.shape[-1]}, {counts}; "
            f"box [{self.box[0]:g}, {self.box[1]:g}])"
        )

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.n_points.shape)

    @property
    def q(self) -> np.ndarray:
        """``[..., P]`` the speed function ``q = |F|^2 / 2`` at the points."""
        return 0.5 * self.speed**2

    @property
    def n_fixed(self) -> np.ndarray:
        """``[...]`` number of fixed points (any stability)."""
        return np.sum((self.kind > 0) & (self.kind != _GHOST), axis=-1)

    @property
    def n_ghosts(self) -> np.ndarray:
        return np.sum(self.kind == _GHOST, axis=-1)

    @property
    def kind_names(self) -> np.ndarray:
        """``[..., P]`` kind names (``''`` pads)."""
        return np.array(["", *KIND_CODES.values()])[self.kind]

    def fixed(self) -> tuple[np.ndarray, np.ndarray]:
        """Fixed points only: ``kappa [..., P, K]`` (NaN elsewhere) and kind names."""
        mask = (self.kind > 0) & (self.kind != _GHOST)
        return np.where(mask[..., None], self.kappa, np.nan), np.where(mask, self.kind_names, "")

    def ghosts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ghosts only: ``kappa [..., P, K]`` (NaN elsewhere), kind names, speeds."""
        mask = self.kind == _GHOST
        return (
            np.where(mask[..., None], self.kappa, np.nan),
            np.where(mask, "ghost", ""),
            np.where(mask, self.speed, np.nan),
        )

    def count(self, kind: str) -> np.ndarray:
        codes = {v: k for k, v in KIND_CODES.items()}
        if kind not in codes:
            raise ValueError(f"kind must be one of {tuple(codes)}, got {kind!r}")
        return np.sum(self.kind == codes[kind], axis=-1)

    def __getitem__(self, index: Any) -> tuple[SlowPoint, ...]:
        idx = index if isinstance(index, tuple) else (index,)
        if len(idx) != len(self.batch_shape):
            raise ValueError(
                f"index must have {len(self.batch_shape)} component(s) for batch shape "
                f"{self.batch_shape}, got {index!r}"
            )
        n = int(self.n_points[idx])
        return tuple(
            SlowPoint(
                kappa=tuple(float(v) for v in self.kappa[idx][j]),
                kind=KIND_CODES[int(self.kind[idx][j])],
                speed=float(self.speed[idx][j]),
                eigenvalues=tuple(complex(v) for v in self.eigenvalues[idx][j]),
            )
            for j in range(n)
        )

    def __iter__(self) -> Iterator[tuple[SlowPoint, ...]]:
        for index in np.ndindex(*self.batch_shape):
            yield self[index]


def _residual(M, Nm, b, k):
    t = jnp.tanh(M @ k + b)
    return Nm @ t - k, t


def _jac(M, Nm, t):
    return (Nm * (1.0 - t * t)) @ M - jnp.eye(M.shape[-1], dtype=M.dtype)


def _grad_hess(M, Nm, b, k):
    F, t = _residual(M, Nm, b, k)
    J = _jac(M, Nm, t)
    g = J.T @ F
    w = (Nm.T @ F) * (-2.0 * t * (1.0 - t * t))
    H = J.T @ J + (M.T * w) @ M
    return F, g, H


def _solve_one(M, Nm, b, k, n_iter: int, n_polish: int):
    K = M.shape[-1]
    eye = jnp.eye(K, dtype=M.dtype)

    def lm(_, carry):
        k, lam = carry
        F, t = _residual(M, Nm, b, k)
        J = _jac(M, Nm, t)
        A = J.T @ J
        g = J.T @ F
        damp = lam * (jnp.diag(jnp.diag(A)) + 1e-12 * eye)
        step = -jnp.linalg.solve(A + damp, g)
        k_new = k + step
        F_new, _ = _residual(M, Nm, b, k_new)
        ok = jnp.all(jnp.isfinite(k_new)) & (F_new @ F_new < F @ F)
        k = jnp.where(ok, k_new, k)
        lam = jnp.clip(jnp.where(ok, lam * 0.3, lam * 4.0), 1e-12, 1e12)
        return k, lam

    k, _ = jax.lax.fori_loop(0, n_iter, lm, (k, jnp.asarray(1e-2, dtype=M.dtype)))

    def polish(_, k):
        _, g, H = _grad_hess(M, Nm, b, k)
        k_new = k - jnp.linalg.solve(H, g)
        _, g_new, _ = _grad_hess(M, Nm, b, k_new)
        ok = jnp.all(jnp.isfinite(k_new)) & (g_new @ g_new < g @ g)
        return jnp.where(ok, k_new, k)

    return jax.lax.fori_loop(0, n_polish, polish, k)


@partial(jax.jit, static_argnames=("n_iter", "n_polish"))
def _solve(M, Nm, b, k0, n_iter: int, n_polish: int):
    over_starts = jax.vmap(_solve_one, in_axes=(None, None, None, 0, None, None))
    return jax.vmap(over_starts, in_axes=(0, 0, 0, 0, None, None))(M, Nm, b, k0, n_iter, n_polish)


def find_slow_points(
    flow: LowRankFlow,
    *,
    starts: Any = None,
    n_starts: int = 128,
    box: tuple[float, float] = DEFAULT_INTERVAL,
    seed: int = 0,
    n_iter: int = 100,
    n_polish: int = 8,
    tau: float = 10.0,
    ghost_tol: float = GHOST_TOL,
    fixed_tol: float = 1e-9,
    dedup_tol: float = 1e-6,
) -> SlowPoints:
    """Fixed points (stable / unstable / saddle) and ghosts of a batch of rank-K flows.

    Args:
        flow: :class:`~ghostlearn.analysis.flows.LowRankFlow` with batch shape ``[...]``.
        starts: optional extra starting points ``[..., S, K]`` (e.g. states on trajectories,
            or points found at a neighbouring snapshot), added to the random ones.
        n_starts: random starts per flow (seeded by ``seed``), uniform in the part of
            ``box^K`` where points can be: ``|kappa_i| <= sum_n |Nmat_in| + ghost_tol``.
        box: ``(lo, hi)`` in every latent coordinate; points outside are not reported.
        seed: seed of the random starts.
        n_iter: Levenberg-Marquardt steps; n_polish: Newton steps on ``grad q``.
        tau: time constant (kept for symmetry with the 1-D finder; speeds are ``|F|``).
        ghost_tol: largest ``|F|`` of a reported ghost.
        fixed_tol: largest ``|F|`` of a fixed point.
        dedup_tol: points closer than ``dedup_tol * (1 + |kappa|)`` are merged.

    Returns:
        :class:`SlowPoints` with the batch shape of ``flow``.
    """
    if not isinstance(flow, LowRankFlow):
        raise ValueError(f"flow must be a LowRankFlow, got {type(flow).__name__}")
    _validate.interval("box", box)
    _validate.at_least("n_starts", n_starts, 0)
    _validate.seed("seed", seed)
    _validate.at_least("n_iter", n_iter, 0)
    _validate.at_least("n_polish", n_polish, 0)
    _validate.positive("tau", tau)
    _validate.positive("fixed_tol", fixed_tol)
    _validate.positive("dedup_tol", dedup_tol)
    if not (isinstance(ghost_tol, (int, float)) and ghost_tol >= 0):
        raise ValueError(f"ghost_tol must be >= 0 (inf allowed), got {ghost_tol!r}")
    lo, hi = (float(v) for v in box)
    flat = flow.flat()
    B, K = flat.size, flat.rank
    rng = np.random.default_rng(seed)
    # |F(kappa) + kappa|_i <= sum_n |Nmat_in|: roots, and points slower than ghost_tol,
    # lie within that much (plus ghost_tol) of the origin; start there.
    reach = np.sum(np.abs(flat.Nmat), axis=-1) + min(float(ghost_tol), hi - lo)  # [B, K]
    s_lo = np.maximum(lo, -reach)[:, None, :]
    s_hi = np.minimum(hi, reach)[:, None, :]
    s_hi = np.where(s_hi > s_lo, s_hi, s_lo)
    k0 = s_lo + (s_hi - s_lo) * rng.uniform(size=(B, n_starts, K))
    if starts is not None:
        s = np.asarray(starts, dtype=np.float64)
        if s.ndim < 2 or s.shape[-1] != K or s.shape[:-2] != flow.batch_shape:
            raise ValueError(
                f"starts must have shape {flow.batch_shape + ('S', K)}, got {np.shape(starts)}"
            )
        s = s.reshape(B, -1, K)
        s = np.where(np.isfinite(s), s, rng.uniform(lo, hi, size=s.shape))
        k0 = np.concatenate([k0, s], axis=1)
    if k0.shape[1] == 0:
        raise ValueError("n_starts must be >= 1 when no starts are given, got 0")
    # Pad flows to a power of two and starts to a multiple of 32 (repeating real ones) so
    # that calls of similar size share one compiled program.
    n_s = k0.shape[1]
    S_pad = -(-n_s // 32) * 32
    B_pad = 1 << int(np.ceil(np.log2(max(B, 1))))
    k0p = np.concatenate([k0, k0[:, : S_pad - n_s]], axis=1) if S_pad > n_s else k0
    while k0p.shape[1] < S_pad:
        k0p = np.concatenate([k0p, k0p[:, : S_pad - k0p.shape[1]]], axis=1)
    fb = ((0, B_pad - B),)
    with jax.enable_x64(True):
        k = np.asarray(
            _solve(
                jnp.asarray(np.pad(flat.M, fb + ((0, 0), (0, 0)), mode="edge")),
                jnp.asarray(np.pad(flat.Nmat, fb + ((0, 0), (0, 0)), mode="edge")),
                jnp.asarray(np.pad(flat.b, fb + ((0, 0),), mode="edge")),
                jnp.asarray(np.pad(k0p, fb + ((0, 0), (0, 0)), mode="edge")),
                n_iter,
                n_polish,
            )
        )[:B, :n_s]
    return _label(flat, k, flow.batch_shape, (lo, hi), ghost_tol, fixed_tol, dedup_tol, tau)


def _label(flat, k, batch_shape, box, ghost_tol, fixed_tol, dedup_tol, tau) -> SlowPoints:
    lo, hi = box
    B, S, K = k.shape
    finite = np.all(np.isfinite(k), axis=-1)
    k = np.where(finite[..., None], k, 0.0)
    F = lowrank_flow(k, flat.M, flat.Nmat, flat.b)  # [B, S, K]
    J = lowrank_jacobian(k, flat.M, flat.Nmat, flat.b)  # [B, S, K, K]
    speed = np.linalg.norm(F, axis=-1)
    u = np.einsum("bnk,bsk->bsn", flat.M, k) + flat.b[:, None, :]
    t = np.tanh(u)
    g = np.einsum("bsij,bsi->bsj", J, F)
    w = np.einsum("bkn,bsk->bsn", flat.Nmat, F) * (-2.0 * t * (1.0 - t * t))
    H = np.einsum("bsij,bsik->bsjk", J, J) + np.einsum("bna,bsn,bnc->bsac", flat.M, w, flat.M)
    h_eig = np.linalg.eigvalsh(H)
    h_scale = np.maximum(np.abs(h_eig).max(axis=-1), 1e-300)
    inside = finite & np.all((k >= lo) & (k <= hi), axis=-1)
    fixed = inside & (speed <= fixed_tol)
    grad_ok = np.linalg.norm(g, axis=-1) <= 1e-8 * (1.0 + speed) * np.maximum(h_scale, 1.0)
    ghost = inside & ~fixed & (speed < ghost_tol) & grad_ok & (h_eig[..., 0] >= -1e-8 * h_scale)
    eig = np.linalg.eigvals(J)
    eig = np.take_along_axis(eig, np.argsort(eig.real, axis=-1, kind="stable"), axis=-1)
    re = eig.real
    kind = np.where(
        np.all(re < 0, axis=-1), _STABLE, np.where(np.all(re > 0, axis=-1), _UNSTABLE, _SADDLE)
    )
    kind = np.where(fixed, kind, np.where(ghost, _GHOST, 0)).astype(np.int8)

    per_flow: list[np.ndarray] = []
    for i in range(B):
        cand = np.flatnonzero(kind[i] > 0)
        cand = cand[np.argsort(speed[i, cand], kind="stable")]
        chosen: list[int] = []
        for j in cand:
            d = np.linalg.norm(k[i, chosen] - k[i, j], axis=-1) if chosen else np.zeros(0)
            if not np.any(d <= dedup_tol * (1.0 + np.linalg.norm(k[i, j]))):
                chosen.append(int(j))
        chosen_arr = np.array(chosen, dtype=np.int64)
        if chosen_arr.size:
            chosen_arr = chosen_arr[np.lexsort(k[i, chosen_arr].T[::-1])]
        per_flow.append(chosen_arr)
    counts = np.array([c.size for c in per_flow], dtype=np.int64)
    P = int(counts.max()) if B else 0
    out_k = np.full((B, P, K), np.nan)
    out_kind = np.zeros((B, P), dtype=np.int8)
    out_speed = np.full((B, P), np.nan)
    out_eig = np.full((B, P, K), np.nan + 0j, dtype=np.complex128)
    for i, c in enumerate(per_flow):
        n = c.size
        out_k[i, :n] = k[i, c]
        out_kind[i, :n] = kind[i, c]
        out_speed[i, :n] = speed[i, c]
        out_eig[i, :n] = eig[i, c]

    def shaped(a: np.ndarray) -> np.ndarray:
        return a.reshape(tuple(batch_shape) + a.shape[1:])

    return SlowPoints(
        kappa=shaped(out_k),
        kind=shaped(out_kind),
        speed=shaped(out_speed),
        eigenvalues=shaped(out_eig),
        n_points=shaped(counts),
        tau=float(tau),
        box=(lo, hi),
        ghost_tol=float(ghost_tol),
        fixed_tol=float(fixed_tol),
    )
