"""Fixed points and ghosts of K-dimensional flows: a batched slow-point finder.

Definitions, for a flow ``tau dkappa/dt = F(kappa)`` in R^K with speed ``q = |F|^2 / 2``:

- a **fixed point** is a root of ``F`` (``|F| <= fixed_tol``). Its class comes from the
  eigenvalues ``lambda`` of the Jacobian ``J = dF/dkappa`` there:
  ``'marginal'`` if some ``|Re lambda| <= marginal_tol`` (a non-hyperbolic point, e.g. the
  double root at a saddle-node); otherwise ``'stable node'`` (all ``Re lambda < 0``, all
  real), ``'stable focus'`` (all ``Re lambda < 0``, a complex pair), ``'unstable node'``,
  ``'unstable focus'`` (all ``Re lambda > 0``) or ``'saddle'`` (both signs). The coarse
  ``kind`` lumps nodes and foci (``'stable'``, ``'unstable'``, ``'saddle'``,
  ``'marginal'``), as in one dimension.
- a **ghost** is a local minimum of ``q`` that is not a root: ``grad q = J^T F = 0``, the
  Hessian ``H`` of ``q`` positive semi-definite, ``fixed_tol < |F| < ghost_tol``. Its
  *depth* is the speed ``|F|`` there (``q = depth^2 / 2``) and its *curvature* the Hessian
  ``H``. The passage time ``pi tau / sqrt(h / 2)``, ``h`` the smallest eigenvalue of
  ``H``, is that of the saddle-node normal form (in 1-D ``h = depth |f''|``, which gives
  the 1-D formula of :func:`~ghostlearn.analysis.points.passage_time`; exact for
  ``F = (x^2 + r, -y)``, asymptotically exact for a ghost past a fold as its depth goes
  to 0). ``ghost_tol`` is the significance threshold of the 1-D finder
  (:data:`~ghostlearn.analysis.points.GHOST_TOL`).

Algorithm (compiled with JAX, vmapped over flows and starts, float64):

1. Seeds. ``q`` on a grid of ``n_grid^K`` points over the region where slow points can
   be (for a network ``|kappa_k| <= sum_n |Nmat_kn| + ghost_tol``, intersected with the
   box; :meth:`~ghostlearn.analysis.flows.LowRankFlow.reach`); up to ``n_seeds`` grid
   points lowest among their ``2K`` axis neighbours (the valleys of ``q`` on the grid),
   lowest first and no two of them grid neighbours (a long shallow valley must not use up
   the seeds), are starts, with ``n_starts`` uniform random starts in the same region and
   any starts given (trajectories, points of neighbouring snapshots).
2. Damped Newton on ``q`` from every start: ``(A + lam diag(J^T J)) d = -J^T F``, a step
   kept only when it lowers ``q``; ``lam`` shrinks after a success and grows after a
   failure. ``A = J^T J`` (Levenberg-Marquardt) while that lowers ``q`` fast, then the
   exact Hessian ``A = H`` of ``q``, which converges quadratically to roots and to ghosts
   alike; every start stops on its own (a step below ``1e-11 (1 + |kappa|)``), the batch
   when all have stopped or after ``n_iter`` steps.
3. Labels as above; points outside the box are dropped and duplicates merged
   (``|kappa - kappa'| <= dedup_tol (1 + |kappa|)``), keeping the slowest.

Network flows (:class:`~ghostlearn.analysis.flows.LowRankFlow`, with or without input)
use closed-form derivatives (:func:`find_slow_points`); any other vector field written
in JAX is handled by the same code with automatic derivatives (:func:`find_field_points`).
:func:`find_slow_points_along` adds continuation along a sequence of snapshots (a second
pass started from the points of the neighbouring snapshots). All three take the settings
named above as one :class:`SlowPointSettings`, or as keywords that build one.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from .. import _validate
from .flows import LowRankFlow
from .points import DEFAULT_INTERVAL, GHOST_TOL
from .settings import DEFAULT_TAU, check_ghost_tol, settings_or_keywords

__all__ = [
    "KIND_CODES",
    "MARGINAL_TOL",
    "STABILITY_CLASSES",
    "SlowPoint",
    "SlowPointSettings",
    "SlowPoints",
    "default_grid",
    "find_field_points",
    "find_slow_points",
    "find_slow_points_along",
]

#: Codes of ``SlowPoints.kind``; 0 pads.
KIND_CODES = {1: "stable", 2: "unstable", 3: "saddle", 4: "ghost", 5: "marginal"}
_STABLE, _UNSTABLE, _SADDLE, _GHOST, _MARGINAL = 1, 2, 3, 4, 5
#: Fine classes of fixed points (:attr:`SlowPoints.stability`), then ``'ghost'``.
STABILITY_CLASSES = (
    "stable node",
    "stable focus",
    "saddle",
    "unstable node",
    "unstable focus",
    "marginal",
)
#: Default ``|Re lambda|`` below which a fixed point is marginal (non-hyperbolic).
MARGINAL_TOL = 1e-6
_GRID_BUDGET = 8192  # grid points per flow at most (n_grid^K)
_FLOW_CHUNK = 64  # flows per compiled call (bounds memory; one progress tick each)
_SPREAD = 1  # grid seeds of one flow are not grid neighbours (more than 1 step apart)
_EXTRA_SEEDS = 5  # a flow with more grid minima than n_seeds gets up to 5 n_seeds more
_EXPLAINED = 0.03  # continuation: a neighbour's point this close (relative) is found here
_FIELD_TAU = 1.0  # default time constant of any other field


def default_grid(K: int) -> int:
    """Default grid points per axis for the seeds of a K-D flow: the largest ``n`` with
    ``n^K <= 8192`` (90 for K = 2, 20 for K = 3, 9 for K = 4), at most 512; 0 (no grid)
    when that is below 3 (K >= 9)."""
    _validate.at_least("K", K, 1)
    n = min(512, int(math.floor(_GRID_BUDGET ** (1.0 / K) + 1e-9)))
    while (n + 1) ** K <= _GRID_BUDGET and n < 512:
        n += 1
    return n if n >= 3 else 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class SlowPointSettings:
    """How the slow-point finder searches (module docstring): the settings of
    :func:`find_slow_points`, :func:`find_slow_points_along` and :func:`find_field_points`.

    Attributes:
        box: ``(lo, hi)`` in every latent coordinate; points outside are not reported.
        n_starts: random starts per flow (seeded by ``seed``), uniform in the part of
            ``box^K`` where points can be (for a network
            ``|kappa_k| <= sum_n |Nmat_kn| + ghost_tol``).
        seed: seed of the random starts.
        n_grid: grid points per axis for the seeds (``None``: :func:`default_grid`; 0:
            none).
        n_seeds: grid seeds per flow (the lowest local minima of ``q`` on the grid; up to
            5 times as many more for a flow with more minima). Without a grid (K >= 9 by
            default, or ``n_grid=0``) they are uniform random starts too.
        n_iter: most damped-Newton steps per start.
        n_polish: plain Newton steps after them.
        tau: time constant (passage times are in its units; speeds are ``|F|``);
            ``None``: :data:`~ghostlearn.analysis.settings.DEFAULT_TAU` (10) for network
            flows, 1 for :func:`find_field_points`.
        ghost_tol: largest ``|F|`` of a reported ghost (``inf`` allowed).
        fixed_tol: largest ``|F|`` of a fixed point.
        marginal_tol: ``|Re lambda|`` below which a fixed point is ``'marginal'``.
        dedup_tol: points closer than ``dedup_tol * (1 + |kappa|)`` are merged.

    Raises:
        ValueError: a field out of range; the message names the field and its value.
    """

    box: tuple[float, float] = DEFAULT_INTERVAL
    n_starts: int = 4
    seed: int = 0
    n_grid: int | None = None
    n_seeds: int = 12
    n_iter: int = 60
    n_polish: int = 2
    tau: float | None = None
    ghost_tol: float = GHOST_TOL
    fixed_tol: float = 1e-9
    marginal_tol: float = MARGINAL_TOL
    dedup_tol: float = 1e-6

    def __post_init__(self) -> None:
        _validate.interval("box", self.box)
        lo, hi = (float(v) for v in self.box)
        object.__setattr__(self, "box", (lo, hi))
        _validate.at_least("n_starts", self.n_starts, 0)
        _validate.seed("seed", self.seed)
        _validate.at_least("n_iter", self.n_iter, 0)
        _validate.at_least("n_polish", self.n_polish, 0)
        if self.tau is not None:
            _validate.positive("tau", self.tau)
        _validate.positive("fixed_tol", self.fixed_tol)
        _validate.positive("dedup_tol", self.dedup_tol)
        _validate.positive("marginal_tol", self.marginal_tol)
        _validate.at_least("n_seeds", self.n_seeds, 0)
        if self.n_grid is not None and self.n_grid != 0:
            _validate.at_least("n_grid", self.n_grid, 3)
        check_ghost_tol(self.ghost_tol)

    def grid_size(self, K: int) -> int:
        """Grid points per axis for the seeds of a K-D flow (``n_grid`` resolved)."""
        return default_grid(K) if self.n_grid is None else int(self.n_grid)


@dataclasses.dataclass(frozen=True)
class SlowPoint:
    """One fixed point or ghost of a K-D flow.

    Attributes:
        kappa: location.
        kind: ``'stable'``, ``'unstable'``, ``'saddle'``, ``'marginal'`` or ``'ghost'``.
        speed: ``|F|`` there (the depth of a ghost).
        eigenvalues: of the Jacobian ``J`` (sorted by real part).
        stability: the fine class (:data:`STABILITY_CLASSES`) or ``'ghost'``.
        hessian: the Hessian of ``q = |F|^2 / 2`` (the curvature of a ghost), ``K x K``.
        passage_time: a ghost's passage time (units of ``tau``), NaN for a fixed point.
    """

    kappa: tuple[float, ...]
    kind: str
    speed: float
    eigenvalues: tuple[complex, ...]
    stability: str = ""
    hessian: tuple[tuple[float, ...], ...] = ()
    passage_time: float = float("nan")

    @property
    def q(self) -> float:
        """``q = |F|^2 / 2``."""
        return 0.5 * self.speed**2

    @property
    def depth(self) -> float:
        """``|F|`` at the point (the ghost's depth)."""
        return self.speed


@dataclasses.dataclass(frozen=True, eq=False)
class SlowPoints:
    """Fixed points and ghosts of a batch of K-D flows, padded to ``P`` points per flow.

    Attributes:
        kappa: ``[..., P, K]`` locations (NaN padding), in lexicographic order.
        kind: ``[..., P]`` int8 codes, see :data:`KIND_CODES`.
        speed: ``[..., P]`` ``|F|`` at the point (a ghost's depth).
        eigenvalues: ``[..., P, K]`` complex eigenvalues of ``J`` (sorted by real part).
        n_points: ``[...]`` number of points (fixed points and ghosts).
        tau, box, ghost_tol, fixed_tol: settings used.
        hessian: ``[..., P, K, K]`` Hessian of ``q = |F|^2 / 2`` (a ghost's curvature; at a
            fixed point ``J^T J``).
        marginal_tol: ``|Re lambda|`` below which a fixed point is ``'marginal'``.
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
    hessian: np.ndarray | None = None
    marginal_tol: float = MARGINAL_TOL

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
    def rank(self) -> int:
        """``K``, the dimension of the flows."""
        return int(self.kappa.shape[-1])

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
        """``[...]`` number of ghosts."""
        return np.sum(self.kind == _GHOST, axis=-1)

    @property
    def kind_names(self) -> np.ndarray:
        """``[..., P]`` kind names (``''`` pads)."""
        return np.array(["", *KIND_CODES.values()])[self.kind]

    @property
    def stability(self) -> np.ndarray:
        """``[..., P]`` fine classes: :data:`STABILITY_CLASSES` or ``'ghost'`` (``''`` pads).

        A stable or unstable point is a focus when its Jacobian has a complex pair
        (``|Im lambda| > 1e-9 (1 + |lambda|)``), a node otherwise.
        """
        lam = self.eigenvalues
        with np.errstate(invalid="ignore"):
            cplx = np.any(np.abs(lam.imag) > 1e-9 * (1.0 + np.abs(lam)), axis=-1)
        out = np.full(self.kind.shape, "", dtype=object)
        out[self.kind == _STABLE] = "stable node"
        out[(self.kind == _STABLE) & cplx] = "stable focus"
        out[self.kind == _UNSTABLE] = "unstable node"
        out[(self.kind == _UNSTABLE) & cplx] = "unstable focus"
        out[self.kind == _SADDLE] = "saddle"
        out[self.kind == _MARGINAL] = "marginal"
        out[self.kind == _GHOST] = "ghost"
        return out.astype(str)

    @property
    def passage_time(self) -> np.ndarray:
        """``[..., P]`` a ghost's passage time ``pi tau / sqrt(h / 2)`` (``h`` the smallest
        eigenvalue of its Hessian; units of ``tau``), NaN at fixed points and pads."""
        out = np.full(self.kind.shape, np.nan)
        if self.hessian is None:
            return out
        ghost = self.kind == _GHOST
        if not ghost.any():
            return out
        h = np.linalg.eigvalsh(np.where(ghost[..., None, None], self.hessian, 0.0))[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(h > 0, math.pi * self.tau / np.sqrt(np.maximum(h, 1e-300) / 2), np.inf)
        out[ghost] = t[ghost]
        return out

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
        """``[...]`` number of points of a kind (:data:`KIND_CODES`) or of a fine class
        (:data:`STABILITY_CLASSES`)."""
        codes = {v: k for k, v in KIND_CODES.items()}
        if kind in codes:
            return np.sum(self.kind == codes[kind], axis=-1)
        if kind in STABILITY_CLASSES:
            return np.sum(self.stability == kind, axis=-1)
        raise ValueError(f"kind must be one of {tuple(codes) + STABILITY_CLASSES}, got {kind!r}")

    def __getitem__(self, index: Any) -> tuple[SlowPoint, ...]:
        idx = index if isinstance(index, tuple) else (index,)
        if len(idx) != len(self.batch_shape):
            raise ValueError(
                f"index must have {len(self.batch_shape)} component(s) for batch shape "
                f"{self.batch_shape}, got {index!r}"
            )
        n = int(self.n_points[idx])
        stab = self.stability[idx]
        ptime = self.passage_time[idx]
        H = None if self.hessian is None else self.hessian[idx]
        return tuple(
            SlowPoint(
                kappa=tuple(float(v) for v in self.kappa[idx][j]),
                kind=KIND_CODES[int(self.kind[idx][j])],
                speed=float(self.speed[idx][j]),
                eigenvalues=tuple(complex(v) for v in self.eigenvalues[idx][j]),
                stability=str(stab[j]),
                hessian=() if H is None else tuple(tuple(float(v) for v in r) for r in H[j]),
                passage_time=float(ptime[j]),
            )
            for j in range(n)
        )

    def __iter__(self) -> Iterator[tuple[SlowPoint, ...]]:
        for index in np.ndindex(*self.batch_shape):
            yield self[index]

    def take(self, rows: Any) -> SlowPoints:
        """The points of the flows ``rows`` of a 1-D batch, trimmed to their widest flow."""
        if len(self.batch_shape) != 1:
            raise ValueError(f"take needs a 1-D batch, got batch shape {self.batch_shape}")
        r = np.asarray(rows)
        n = self.n_points[r]
        P = int(n.max()) if n.size else 0
        return dataclasses.replace(
            self,
            kappa=self.kappa[r, :P],
            kind=self.kind[r, :P],
            speed=self.speed[r, :P],
            eigenvalues=self.eigenvalues[r, :P],
            n_points=n,
            hessian=None if self.hessian is None else self.hessian[r, :P],
        )


# --------------------------------------------------------------------------- the core


class _Field(NamedTuple):
    """The derivatives the minimiser needs, for one flow with parameters ``p``.

    residual(p, k) -> (F, aux); jacobian(p, k, aux) -> J; hessian(p, k, F, J, aux) -> H.
    """

    residual: Callable[..., Any]
    jacobian: Callable[..., Any]
    hessian: Callable[..., Any]


def _net_residual(p: Any, k: jax.Array) -> tuple[jax.Array, jax.Array]:
    M, Nm, c = p
    t = jnp.tanh(M @ k + c)
    return Nm @ t - k, t


def _net_jacobian(p: Any, k: jax.Array, t: jax.Array) -> jax.Array:
    M, Nm, _ = p
    return (Nm * (1.0 - t * t)) @ M - jnp.eye(k.shape[-1], dtype=k.dtype)


def _net_hessian(p: Any, k: jax.Array, F: jax.Array, J: jax.Array, t: jax.Array) -> jax.Array:
    M, Nm, _ = p
    w = (Nm.T @ F) * (-2.0 * t * (1.0 - t * t))
    return J.T @ J + (M.T * w) @ M


_NETWORK = _Field(_net_residual, _net_jacobian, _net_hessian)


@functools.lru_cache(maxsize=64)
def _field_of(fn: Callable[..., Any]) -> _Field:
    """Automatic derivatives of a user's ``fn(kappa, params) -> F`` (cached per function,
    so that repeated calls reuse one compiled program)."""

    def residual(p: Any, k: jax.Array) -> tuple[jax.Array, None]:
        return jnp.asarray(fn(k, p)), None

    def jacobian(p: Any, k: jax.Array, _aux: Any) -> jax.Array:
        return jax.jacfwd(lambda x: jnp.asarray(fn(x, p)))(k)

    def hessian(p: Any, k: jax.Array, F: jax.Array, J: jax.Array, _aux: Any) -> jax.Array:
        def q(x: jax.Array) -> jax.Array:
            f = jnp.asarray(fn(x, p))
            return 0.5 * f @ f

        return jax.hessian(q)(k)

    return _Field(residual, jacobian, hessian)


def _spd_solve(A: jax.Array, b: jax.Array) -> jax.Array:
    """``A^-1 b`` for one small symmetric positive definite ``K x K`` system, by Cholesky.

    Unrolled for ``K <= 8`` (elementwise work that vectorises over a batch of systems,
    unlike one LAPACK call per matrix). Where ``A`` is not positive definite the result
    holds NaN (a negative pivot's square root), which callers take as "no step".
    """
    K = A.shape[-1]
    if K > 8:
        chol = jnp.linalg.cholesky(A)
        return jax.scipy.linalg.cho_solve((chol, True), b)
    L: list[list[Any]] = [[None] * K for _ in range(K)]
    for j in range(K):
        d = A[j, j] - sum(L[j][m] * L[j][m] for m in range(j))
        L[j][j] = jnp.sqrt(d)
        for i in range(j + 1, K):
            L[i][j] = (A[i, j] - sum(L[i][m] * L[j][m] for m in range(j))) / L[j][j]
    y: list[Any] = [None] * K
    for i in range(K):
        y[i] = (b[i] - sum(L[i][m] * y[m] for m in range(i))) / L[i][i]
    x: list[Any] = [None] * K
    for i in range(K - 1, -1, -1):
        x[i] = (y[i] - sum(L[m][i] * x[m] for m in range(i + 1, K))) / L[i][i]
    return jnp.stack(x)


def _minimize_one(
    field: _Field, p: Any, k0: jax.Array, *, n_iter: int, n_polish: int
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """Minimise ``q = |F|^2/2`` from ``k0``; returns ``(k, F, J, H, iterations)``.

    Levenberg-Marquardt (Gauss-Newton matrix ``J^T J``) while it makes fast progress,
    which is best far from the points (``F`` is nearly affine there, the full Hessian is
    not); once an accepted step lowers ``q`` by less than a factor 4 (the linear
    convergence of Gauss-Newton to a non-zero minimum), damped Newton with the full
    Hessian ``H``, which converges quadratically to ghosts as well as to roots.
    """
    dtype = k0.dtype
    F0, a0 = field.residual(p, k0)
    q0 = 0.5 * F0 @ F0

    def cond(s: tuple[Any, ...]) -> jax.Array:
        return (~s[5]) & (s[6] < n_iter)

    def body(s: tuple[Any, ...]) -> tuple[Any, ...]:
        k, F, aux, q, lam, _done, it, newton = s
        J = field.jacobian(p, k, aux)
        JtJ = J.T @ J
        g = J.T @ F
        d = jnp.diag(lam * (jnp.diag(JtJ) + 1e-12 * (1.0 + jnp.trace(JtJ))))
        step = -_spd_solve(JtJ + d, g)
        # The full-Hessian step where H + d is positive definite (then it descends).
        H = field.hessian(p, k, F, J, aux)
        step_h = -_spd_solve(H + d, g)
        use_h = newton & jnp.all(jnp.isfinite(step_h))
        step = jnp.where(use_h, step_h, step)
        k_new = k + step
        F_new, a_new = field.residual(p, k_new)
        q_new = 0.5 * F_new @ F_new
        ok = jnp.isfinite(q_new) & jnp.all(jnp.isfinite(k_new)) & (q_new < q)
        size = jnp.sqrt(step @ step)
        tiny = size <= 1e-11 * (1.0 + jnp.sqrt(k @ k))
        # g at rounding level (its error is ~eps |J| |F|): no step can lower q further.
        flat = jnp.sqrt(g @ g) <= 16 * jnp.finfo(dtype).eps * jnp.sqrt(jnp.sum(J * J) * 2 * q)
        done = (ok & tiny) | (q_new == 0) | (~ok & (tiny | flat | (lam >= 1e15)))
        done |= ~jnp.isfinite(q)
        newton = newton | (ok & (q_new > 0.25 * q))
        k = jnp.where(ok, k_new, k)
        F = jnp.where(ok, F_new, F)
        aux = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), a_new, aux)
        q = jnp.where(ok, q_new, q)
        lam = jnp.clip(jnp.where(ok, lam * 0.3, lam * 10.0), 1e-15, 1e15)
        return k, F, aux, q, lam, done, it + 1, newton

    false = jnp.asarray(False)
    init = (k0, F0, a0, q0, jnp.asarray(1e-3, dtype), false, jnp.asarray(0), false)
    k, F, aux, q, _, _, it, _ = jax.lax.while_loop(cond, body, init)

    def polish(_: Any, s: tuple[Any, ...]) -> tuple[Any, ...]:
        # Plain Newton on grad q, kept only when it lowers |grad q|.
        k, F, aux = s
        J = field.jacobian(p, k, aux)
        g = J.T @ F
        H = field.hessian(p, k, F, J, aux)
        k_new = k - _spd_solve(H, g)
        F_new, a_new = field.residual(p, k_new)
        J_new = field.jacobian(p, k_new, a_new)
        g_new = J_new.T @ F_new
        ok = jnp.all(jnp.isfinite(k_new)) & jnp.all(jnp.isfinite(g_new)) & (g_new @ g_new < g @ g)
        return (
            jnp.where(ok, k_new, k),
            jnp.where(ok, F_new, F),
            jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), a_new, aux),
        )

    k, F, aux = jax.lax.fori_loop(0, n_polish, polish, (k, F, aux))
    J = field.jacobian(p, k, aux)
    H = field.hessian(p, k, F, J, aux)
    return k, F, J, H, it


def _over_devices(fn: Callable[..., Any], n_dev: int) -> Callable[..., Any]:
    """``fn`` (batched over flows on the leading axis of every argument) split over the
    first ``n_dev`` local devices: each runs its share of the flows, in parallel."""
    if n_dev <= 1:
        return fn
    mesh = Mesh(np.asarray(jax.local_devices()[:n_dev]), ("flow",))
    spec = PartitionSpec("flow")
    return jax.shard_map(fn, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)


@functools.partial(jax.jit, static_argnames=("field", "n_iter", "n_polish", "n_dev"))
def _minimize(
    field: _Field, params: Any, k0: jax.Array, n_iter: int, n_polish: int, n_dev: int = 1
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    one = functools.partial(_minimize_one, field, n_iter=n_iter, n_polish=n_polish)
    over_starts = jax.vmap(one, in_axes=(None, 0))
    return _over_devices(jax.vmap(over_starts, in_axes=(0, 0)), n_dev)(params, k0)


@functools.partial(jax.jit, static_argnames=("field", "n_axis", "n_seeds", "n_dev"))
def _grid_seeds(field: _Field, params: Any, lo: jax.Array, hi: jax.Array, n_axis: int,
                n_seeds: int, n_dev: int = 1) -> tuple[jax.Array, jax.Array]:  # fmt: skip
    """Per flow ``n_seeds`` grid points: the local minima of ``q`` among their axis
    neighbours, lowest first, then the lowest other points, each more than ``_SPREAD``
    grid steps (in some direction) from those chosen before.

    Returns:
        ``(seeds [B, n_seeds, K], n_minima [B])``: ``n_minima`` of the seeds (the first
        ones) are grid minima; ``n_minima == n_seeds`` means there may be more.
    """
    # Seeds only need the ordering of q on a coarse grid: float32 (a vectorised tanh) is
    # several times faster than float64 here and changes no valley of q.
    params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), params)
    out_dtype = lo.dtype
    lo, hi = lo.astype(jnp.float32), hi.astype(jnp.float32)
    K = lo.shape[-1]
    frac = jnp.linspace(0.0, 1.0, n_axis, dtype=lo.dtype)
    mesh = jnp.stack(jnp.meshgrid(*([frac] * K), indexing="ij"), axis=-1).reshape(-1, K)
    steps = jnp.arange(n_axis)
    index = jnp.stack(jnp.meshgrid(*([steps] * K), indexing="ij"), axis=-1).reshape(-1, K)
    n_cand = min(mesh.shape[0], 8 * n_seeds)

    def one(args: tuple[Any, jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        p, a, b = args
        pts = a + (b - a) * mesh

        def speed(k: jax.Array) -> jax.Array:
            F, _ = field.residual(p, k)
            return 0.5 * F @ F

        q = jax.vmap(speed)(pts)
        Q = q.reshape((n_axis,) * K)
        lowest = jnp.ones(Q.shape, bool)
        for ax in range(K):
            pad = [(0, 0)] * K
            pad[ax] = (1, 1)
            P = jnp.pad(Q, pad, constant_values=jnp.inf)
            before = jax.lax.slice_in_dim(P, 0, n_axis, axis=ax)
            after = jax.lax.slice_in_dim(P, 2, n_axis + 2, axis=ax)
            lowest &= (Q <= before) & (Q <= after)
        lowest = lowest.reshape(-1) & jnp.isfinite(q)
        top = jnp.max(jnp.where(jnp.isfinite(q), q, 0.0))
        key = jnp.where(lowest, q - top - 1.0, jnp.where(jnp.isfinite(q), q, jnp.inf))
        # The candidates: the lowest keys (grid minima first).
        neg, cand = jax.lax.top_k(-key, n_cand)
        ckey, cidx = -neg, index[cand]

        # Greedy choice, lowest first, of candidates more than `_SPREAD` grid steps apart:
        # a long shallow valley of q is a row of near-equal grid minima, and must not
        # crowd out the bowls of other points.
        def pick(i: jax.Array, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
            avail, chosen = carry
            j = jnp.argmin(jnp.where(avail, ckey, jnp.inf)).astype(chosen.dtype)
            j = jnp.where(jnp.any(avail), j, chosen[0])
            far = jnp.max(jnp.abs(cidx - cidx[j]), axis=-1) > _SPREAD
            return avail & far, chosen.at[i].set(j)

        chosen = jnp.zeros(n_seeds, cand.dtype)
        _, chosen = jax.lax.fori_loop(0, n_seeds, pick, (jnp.isfinite(ckey), chosen))
        n_min = jnp.sum(ckey[chosen] < 0)
        return pts[cand[chosen]], n_min

    def all_flows(params: Any, lo: jax.Array, hi: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jax.lax.map(one, (params, lo, hi), batch_size=2)

    seeds, n_min = _over_devices(all_flows, n_dev)(params, lo, hi)
    return seeds.astype(out_dtype), n_min


@functools.partial(jax.jit, static_argnames=("n_seeds", "S"))
def _join_starts(seeds: jax.Array, starts: jax.Array, n_seeds: int, S: int) -> jax.Array:
    """The first ``n_seeds`` grid seeds and the given starts, repeated to ``S`` per flow."""
    both = jnp.concatenate([seeds[:, :n_seeds], starts], axis=1)
    return both[:, np.arange(S) % both.shape[1]]


def _bucket(n: int, sizes: tuple[int, ...]) -> int:
    for s in sizes:
        if n <= s:
            return s
    return -(-n // sizes[-1]) * sizes[-1]


def _pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` padded along axis 0 to ``rows`` by repeating its last row."""
    if a.shape[0] == rows:
        return a
    return np.concatenate([a, np.repeat(a[-1:], rows - a.shape[0], axis=0)], axis=0)


def _pad_starts(k0: np.ndarray, S: int) -> np.ndarray:
    """Starts ``[B, s, K]`` padded to ``S`` per flow by repeating real ones."""
    s = k0.shape[1]
    if s == S:
        return k0
    reps = -(-S // s)
    return np.concatenate([k0] * reps, axis=1)[:, :S]


@dataclasses.dataclass
class _Raw:
    """End points of the minimiser: ``k, F [B, S, K]``, ``J, H [B, S, K, K]``."""

    k: np.ndarray
    F: np.ndarray
    J: np.ndarray
    H: np.ndarray
    sizes: tuple[int, int] = (0, 0)  # (flows, starts) per compiled call

    @staticmethod
    def concat(parts: list[_Raw]) -> _Raw:
        k, F, J, H = (np.concatenate([getattr(p, f) for p in parts], axis=1) for f in "kFJH")
        return _Raw(k, F, J, H)


class _Progress:
    """Counts flows done over the passes of one search and reports them."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None) -> None:
        self.total, self.done, self.progress = total, 0, progress
        if progress is not None:
            progress(0, total)

    def add(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


def _run(
    field: _Field,
    params: tuple[np.ndarray, ...],
    *,
    starts: np.ndarray,
    grid: tuple[np.ndarray, np.ndarray, int, int] | None,
    n_iter: int,
    n_polish: int,
    ticker: _Progress,
    like: tuple[int, int] | None = None,
) -> _Raw:
    """Minimise ``q`` from ``starts [B, s, K]`` plus grid seeds for every flow.

    Flows go in chunks padded to fixed sizes so that a few compiled programs serve every
    call (``like``: at least these ``(chunk, starts)`` sizes, to reuse an earlier
    program). A flow whose grid has more minima than ``n_seeds`` (every seed a minimum)
    gets up to ``_EXTRA_SEEDS`` times as many more, run with the same program.
    """
    B = params[0].shape[0]
    K = starts.shape[-1]
    n_seeds = 0 if grid is None else grid[3]
    S = _bucket(starts.shape[1] + n_seeds, (16, 32, 48, 64, 96, 128))
    chunk = _bucket(B, (1, 2, 4, 8, 16, 32, _FLOW_CHUNK)) if B < _FLOW_CHUNK else _FLOW_CHUNK
    if like is not None:
        chunk, S = max(chunk, like[0]), max(S, like[1])
    out: list[tuple[np.ndarray, ...]] = []
    extra_seeds: list[np.ndarray] = []
    n_minima: list[np.ndarray] = []
    pending = []
    # The flows of a chunk are split over the local devices (on CPU, one per core when XLA
    # is asked for several, as the ghostlearn command does): every flow's computation is
    # the same whatever the split, so the results do not depend on the number of devices.
    n_dev = max(d for d in range(1, len(jax.local_devices()) + 1) if chunk % d == 0)
    with jax.enable_x64(True):
        # Dispatch every chunk before reading any back: the computations run asynchronously.
        for lo in range(0, B, chunk):
            hi = min(lo + chunk, B)
            p = tuple(jnp.asarray(_pad_rows(a[lo:hi], chunk)) for a in params)
            seeds = n_min = None
            if grid is not None:
                g_lo, g_hi, n_axis, _ = grid
                seeds, n_min = _grid_seeds(
                    field, p, jnp.asarray(_pad_rows(g_lo[lo:hi], chunk)),
                    jnp.asarray(_pad_rows(g_hi[lo:hi], chunk)), n_axis,
                    n_seeds * (1 + _EXTRA_SEEDS), n_dev,
                )  # fmt: skip
                k0 = _join_starts(seeds, jnp.asarray(_pad_rows(starts[lo:hi], chunk)), n_seeds, S)
            else:
                k0 = jnp.asarray(_pad_rows(_pad_starts(starts[lo:hi], S), chunk))
            res = _minimize(field, p, k0, n_iter, n_polish, n_dev)
            pending.append((lo, hi, res, seeds, n_min))
        for lo, hi, res, seeds, n_min in pending:
            out.append(tuple(np.asarray(r)[: hi - lo] for r in res[:4]))
            if seeds is not None:
                extra_seeds.append(np.asarray(seeds)[: hi - lo, n_seeds:])
                n_minima.append(np.asarray(n_min)[: hi - lo])
            ticker.add(hi - lo)
    if not out:
        z = np.zeros((0, S, K))
        return _Raw(z, z, z[..., None], z[..., None], (chunk, S))
    k, F, J, H = (np.concatenate([o[i] for o in out], axis=0) for i in range(4))
    raw = _Raw(k, F, J, H, (chunk, S))
    if grid is None:
        return raw
    # More seeds, S at a time, for the flows whose seeds were all grid minima.
    seeds = np.concatenate(extra_seeds, axis=0)
    n_min = np.concatenate(n_minima, axis=0)
    parts = [raw]
    for a in range(0, seeds.shape[1], S):
        rows = np.flatnonzero(n_min > n_seeds + a)
        if rows.size == 0:
            break
        more = _run(field, tuple(x[rows] for x in params), starts=seeds[rows, a : a + S],
                    grid=None, n_iter=n_iter, n_polish=n_polish, ticker=_Progress(0, None),
                    like=(chunk, S))  # fmt: skip
        parts.append(_spread_rows(raw, more, rows))
    return _Raw.concat(parts) if len(parts) > 1 else raw


def _spread_rows(base: _Raw, sub: _Raw, rows: np.ndarray) -> _Raw:
    """``sub`` (results of the flows ``rows``) as a block for every flow of ``base``; the
    other flows repeat their first end point (duplicates merge when labelling)."""
    S = sub.k.shape[1]
    k, F, J, H = (np.repeat(getattr(base, f)[:, :1], S, axis=1) for f in "kFJH")
    out = _Raw(k, F, J, H, base.sizes)
    for f in "kFJH":
        getattr(out, f)[rows] = getattr(sub, f)
    return out


def _label(
    raw: _Raw, batch_shape: tuple[int, ...], settings: SlowPointSettings, tau: float
) -> SlowPoints:
    """Classify the end points, drop the rest, merge duplicates, pack (module docstring)."""
    lo, hi = settings.box
    ghost_tol, fixed_tol = settings.ghost_tol, settings.fixed_tol
    marginal_tol, dedup_tol = settings.marginal_tol, settings.dedup_tol
    k, F, J, H = raw.k, raw.F, raw.J, raw.H
    B, S, K = k.shape
    finite = np.all(np.isfinite(k), axis=-1) & np.all(np.isfinite(F), axis=-1)
    finite &= np.all(np.isfinite(H), axis=(-1, -2)) & np.all(np.isfinite(J), axis=(-1, -2))
    k = np.where(finite[..., None], k, 0.0)
    J = np.where(finite[..., None, None], J, 0.0)
    H = np.where(finite[..., None, None], H, 0.0)
    F = np.where(finite[..., None], F, np.inf)
    speed = np.linalg.norm(F, axis=-1)
    g = np.einsum("bsij,bsi->bsj", J, F)
    h_eig = np.linalg.eigvalsh(H)
    h_scale = np.maximum(np.abs(h_eig).max(axis=-1), 1e-300)
    inside = finite & np.all((k >= lo) & (k <= hi), axis=-1)
    fixed = inside & (speed <= fixed_tol)
    with np.errstate(invalid="ignore"):
        grad_ok = np.linalg.norm(g, axis=-1) <= 1e-8 * (1.0 + speed) * np.maximum(h_scale, 1.0)
        ghost = inside & ~fixed & (speed < ghost_tol) & grad_ok
        ghost &= h_eig[..., 0] >= -1e-8 * h_scale
    eig = np.linalg.eigvals(J)
    eig = np.take_along_axis(eig, np.argsort(eig.real, axis=-1, kind="stable"), axis=-1)
    re = eig.real
    marginal = np.any(np.abs(re) <= marginal_tol, axis=-1)
    kind = np.where(
        np.all(re < 0, axis=-1), _STABLE, np.where(np.all(re > 0, axis=-1), _UNSTABLE, _SADDLE)
    )
    kind = np.where(marginal, _MARGINAL, kind)
    kind = np.where(fixed, kind, np.where(ghost, _GHOST, 0)).astype(np.int8)

    # Duplicates: sort each flow's candidates by speed; a candidate is kept when no slower
    # candidate lies within the merge distance (end points of one point agree to ~1e-12,
    # distinct points are much farther apart, so this equals greedy merging).
    keep = np.zeros(kind.shape, bool)
    earlier = np.tril(np.ones((S, S), bool), k=-1)[None]  # [b, j, i]: i before j
    for a in range(0, B, 1024):  # blocks bound the [b, S, S] distance table
        sl = slice(a, min(a + 1024, B))
        order = np.argsort(np.where(kind[sl] > 0, speed[sl], np.inf), axis=1, kind="stable")
        ks = np.take_along_axis(k[sl], order[..., None], axis=1)
        valid = np.take_along_axis(kind[sl], order, axis=1) > 0
        dist = np.linalg.norm(ks[:, :, None, :] - ks[:, None, :, :], axis=-1)
        near = dist <= dedup_tol * (1.0 + np.linalg.norm(ks, axis=-1))[:, None, :]
        dup = np.any(near & earlier & valid[:, None, :], axis=-1)
        np.put_along_axis(keep[sl], order, valid & ~dup, axis=1)

    counts = keep.sum(axis=1).astype(np.int64)
    P = int(counts.max()) if B else 0
    # Lexicographic order of the kept points within each flow, kept points first.
    lex = np.lexsort(
        tuple(np.where(keep, k[..., d], np.inf) for d in range(K - 1, -1, -1)) + (~keep,),
        axis=-1,
    )[:, :P]

    def take(a: np.ndarray, fill: Any) -> np.ndarray:
        idx = lex.reshape(lex.shape + (1,) * (a.ndim - 2))
        out = np.take_along_axis(a, idx, axis=1)
        mask = (np.arange(P)[None, :] < counts[:, None]).reshape((B, P) + (1,) * (a.ndim - 2))
        return np.where(mask, out, fill)

    def shaped(a: np.ndarray) -> np.ndarray:
        return a.reshape(tuple(batch_shape) + a.shape[1:])

    return SlowPoints(
        kappa=shaped(take(k, np.nan)),
        kind=shaped(take(kind, 0).astype(np.int8)),
        speed=shaped(take(speed, np.nan)),
        eigenvalues=shaped(take(eig, np.nan + 0j)),
        n_points=shaped(counts),
        tau=float(tau),
        box=(float(lo), float(hi)),
        ghost_tol=float(ghost_tol),
        fixed_tol=float(fixed_tol),
        hessian=shaped(take(H, np.nan)),
        marginal_tol=float(marginal_tol),
    )


# --------------------------------------------------------------------------- public API


def _starts(
    rng: np.random.Generator,
    s_lo: np.ndarray,
    s_hi: np.ndarray,
    n_starts: int,
    starts: Any,
    batch_shape: tuple[int, ...],
    box: tuple[float, float],
    *,
    allow_empty: bool,
) -> np.ndarray:
    """Random starts uniform in ``[s_lo, s_hi]`` (``[B, K]``) plus the given ones."""
    B, K = s_lo.shape
    k0 = s_lo[:, None, :] + (s_hi - s_lo)[:, None, :] * rng.uniform(size=(B, n_starts, K))
    if starts is not None:
        s = np.asarray(starts, dtype=np.float64)
        if s.ndim < 2 or s.shape[-1] != K or s.shape[:-2] != batch_shape:
            raise ValueError(
                f"starts must have shape {batch_shape + ('S', K)}, got {np.shape(starts)}"
            )
        s = s.reshape(B, -1, K)
        s = np.where(np.isfinite(s), s, rng.uniform(box[0], box[1], size=s.shape))
        k0 = np.concatenate([k0, s], axis=1)
    if k0.shape[1] == 0 and not allow_empty:
        raise ValueError("n_starts must be >= 1 when no starts are given, got 0")
    return k0


def _first_starts(
    settings: SlowPointSettings,
    s_lo: np.ndarray,
    s_hi: np.ndarray,
    starts: Any,
    batch_shape: tuple[int, ...],
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, int, int] | None]:
    """The starts ``[B, s, K]`` of a first pass and its grid ``(lo, hi, n_axis, n_seeds)``
    (None without one): random starts in ``[s_lo, s_hi]`` plus the given ones."""
    s = settings
    n_axis = s.grid_size(s_lo.shape[-1])
    rng = np.random.default_rng(s.seed)
    n_random = s.n_starts if n_axis else s.n_starts + s.n_seeds  # no grid: seeds are random too
    k0 = _starts(rng, s_lo, s_hi, n_random, starts, batch_shape, s.box, allow_empty=False)
    grid = (s_lo, s_hi, n_axis, s.n_seeds) if n_axis and s.n_seeds else None
    return k0, grid


def _network_setup(
    flow: LowRankFlow, box: tuple[float, float], ghost_tol: float
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    flat = flow.flat()
    params = (
        np.asarray(flat.M, dtype=np.float64),
        np.asarray(flat.Nmat, dtype=np.float64),
        np.asarray(flat.drive, dtype=np.float64),
    )
    # Roots, and points slower than ghost_tol, lie within reach (+ ghost_tol) of the origin.
    lo, hi = box
    reach = flat.reach() + min(float(ghost_tol), hi - lo)  # [B, K]
    s_lo = np.maximum(lo, -reach)
    s_hi = np.minimum(hi, reach)
    s_hi = np.where(s_hi > s_lo, s_hi, s_lo)
    return params, s_lo, s_hi


def find_slow_points(
    flow: LowRankFlow,
    *,
    settings: SlowPointSettings | None = None,
    starts: Any = None,
    progress: Callable[[int, int], None] | None = None,
    **keywords: Any,
) -> SlowPoints:
    """Fixed points (by stability class) and ghosts of a batch of rank-K network flows.

    ``F(kappa) = -kappa + Nmat tanh(M kappa + W_in u + b)`` (the input, if the flow has
    one, folded into the bias); algorithm and definitions in the module docstring.

    How it searches comes as a :class:`SlowPointSettings` or as keywords that build one:
    ``find_slow_points(flow, n_starts=8, seed=3)`` is
    ``find_slow_points(flow, settings=SlowPointSettings(n_starts=8, seed=3))``.

    Args:
        flow: :class:`~ghostlearn.analysis.flows.LowRankFlow` with batch shape ``[...]``.
        settings: the search settings (``tau`` defaults to 10); or give its fields as
            keywords (``box``, ``n_starts``, ``seed``, ``n_grid``, ``n_seeds``,
            ``n_iter``, ``n_polish``, ``tau``, ``ghost_tol``, ``fixed_tol``,
            ``marginal_tol``, ``dedup_tol``).
        starts: optional extra starting points ``[..., S, K]`` (e.g. states on trajectories,
            or points found at a neighbouring snapshot; NaN entries are replaced by random
            ones).
        progress: called as ``progress(done, total)`` in flows, ``(0, total)`` first.

    Returns:
        :class:`SlowPoints` with the batch shape of ``flow``.

    Raises:
        ValueError: for a flow that is not a LowRankFlow, a bad setting, or settings given
            both as an object and as keywords.
    """
    if not isinstance(flow, LowRankFlow):
        raise ValueError(f"flow must be a LowRankFlow, got {type(flow).__name__}")
    s = settings_or_keywords(SlowPointSettings, settings, keywords, where="find_slow_points")
    params, s_lo, s_hi = _network_setup(flow, s.box, s.ghost_tol)
    k0, grid = _first_starts(s, s_lo, s_hi, starts, flow.batch_shape)
    ticker = _Progress(flow.size, progress)
    raw = _run(_NETWORK, params, starts=k0, grid=grid, n_iter=s.n_iter, n_polish=s.n_polish,
               ticker=ticker)  # fmt: skip
    return _label(raw, flow.batch_shape, s, DEFAULT_TAU if s.tau is None else s.tau)


def find_slow_points_along(
    flow: LowRankFlow,
    *,
    settings: SlowPointSettings | None = None,
    groups: Any = None,
    progress: Callable[[int, int], None] | None = None,
    **keywords: Any,
) -> SlowPoints:
    """Slow points of a sequence of snapshots, with continuation between neighbours.

    A first pass is :func:`find_slow_points`; a second starts a snapshot from the points
    found at the snapshots before and after it (within the same group), so a point found
    once is rarely lost at its neighbours. It runs only where some neighbour's point has
    no point of the same kind within ``0.03 (1 + |kappa|)`` here (a point that merely
    moved is not sought again). The end points of both passes are labelled together.

    Args:
        flow: flows ``[S]``, consecutive snapshots in order.
        settings: the search settings, or its fields as keywords, as in
            :func:`find_slow_points`.
        groups: ``[S]`` labels: snapshots are neighbours only within a group (e.g. the
            network each snapshot belongs to); default one group.
        progress: ``progress(done, total)`` in flows over both passes (``total = 2 S``).

    Returns:
        :class:`SlowPoints` ``[S]``.

    Raises:
        ValueError: as :func:`find_slow_points`; a flow without a 1-D batch, or ``groups``
            of another shape.
    """
    if not isinstance(flow, LowRankFlow):
        raise ValueError(f"flow must be a LowRankFlow, got {type(flow).__name__}")
    if len(flow.batch_shape) != 1:
        raise ValueError(f"flow must have a 1-D batch of snapshots, got {flow.batch_shape}")
    s = settings_or_keywords(SlowPointSettings, settings, keywords, where="find_slow_points_along")
    S = flow.size
    grp = np.zeros(S, np.int64) if groups is None else np.asarray(groups)
    if grp.shape != (S,):
        raise ValueError(f"groups must have shape ({S},), got {grp.shape}")
    params, s_lo, s_hi = _network_setup(flow, s.box, s.ghost_tol)
    k0, grid = _first_starts(s, s_lo, s_hi, None, flow.batch_shape)
    ticker = _Progress(2 * S, progress)
    minimise = functools.partial(_run, n_iter=s.n_iter, n_polish=s.n_polish, ticker=ticker)
    raw1 = minimise(_NETWORK, params, starts=k0, grid=grid)
    tau = DEFAULT_TAU if s.tau is None else s.tau
    first = _label(raw1, (S,), s, tau)
    pts = first.kappa  # [S, P, K]
    if S < 2 or pts.shape[1] == 0:
        ticker.add(S)
        return first
    nan = np.full_like(pts[:1], np.nan)
    same_prev = np.concatenate([[False], grp[1:] == grp[:-1]])
    same_next = np.concatenate([grp[:-1] == grp[1:], [False]])
    prev = np.where(same_prev[:, None, None], np.concatenate([nan, pts[:-1]]), np.nan)
    nxt = np.where(same_next[:, None, None], np.concatenate([pts[1:], nan]), np.nan)
    neighbours = np.concatenate([prev, nxt], axis=1)  # [S, 2P, K]
    kinds = first.kind
    nb_kind = np.concatenate(
        [
            np.where(same_prev[:, None], np.concatenate([kinds[:1] * 0, kinds[:-1]]), 0),
            np.where(same_next[:, None], np.concatenate([kinds[1:], kinds[:1] * 0]), 0),
        ],
        axis=1,
    )
    # A neighbour's point is explained by a point of the same kind found here within
    # _EXPLAINED (1 + |kappa|); snapshots whose neighbours' points are all explained skip
    # the second pass (points move little between snapshots; a pair about to merge at a
    # fold has two kinds, so a missing partner is never explained by the other).
    dist = np.linalg.norm(neighbours[:, :, None, :] - pts[:, None, :, :], axis=-1)
    same = nb_kind[:, :, None] == kinds[:, None, :]
    with np.errstate(invalid="ignore"):
        reach = _EXPLAINED * (1.0 + np.linalg.norm(neighbours, axis=-1))
        close = same & (dist <= reach[..., None])
    explained = np.any(close, axis=-1) | ~np.isfinite(neighbours[..., 0])
    rows = np.flatnonzero(~np.all(explained, axis=1))
    if rows.size == 0:
        ticker.add(S)
        return first
    # Missing starts repeat a real one of the same snapshot (duplicates merge in labelling).
    nb = neighbours[rows]
    ok = np.isfinite(nb[..., 0])
    first_ok = np.argmax(ok, axis=1)
    fill = nb[np.arange(rows.size), first_ok]
    nb = np.where(ok[..., None], nb, fill[:, None, :])
    ticker.add(S - rows.size)
    sub = tuple(a[rows] for a in params)
    raw2 = minimise(_NETWORK, sub, starts=nb, grid=None, like=raw1.sizes)
    # Both passes' end points, per snapshot (snapshots without neighbours repeat pass 1).
    return _label(_Raw.concat([raw1, _spread_rows(raw1, raw2, rows)]), (S,), s, tau)


def find_field_points(
    field: Callable[[jax.Array, Any], jax.Array],
    params: Any = None,
    *,
    dim: int,
    settings: SlowPointSettings | None = None,
    starts: Any = None,
    progress: Callable[[int, int], None] | None = None,
    **keywords: Any,
) -> SlowPoints:
    """Fixed points and ghosts of any smooth vector field, with automatic derivatives.

    The same search as :func:`find_slow_points` (module docstring) for
    ``tau dkappa/dt = field(kappa, p)``, searched in ``box^dim`` (grid, random starts).

    Example: the 2-D saddle-node normal form ``F = (x^2 + r, -y)`` has a ghost at the
    origin of depth ``r`` for ``r > 0``::

        pts = find_field_points(
            lambda k, r: jnp.stack([k[0] ** 2 + r, -k[1]]), np.array([0.1]), dim=2, box=(-2, 2)
        )

    Args:
        field: ``field(kappa [dim], p) -> [dim]``, written with ``jax.numpy`` (it is traced,
            differentiated and vmapped); ``p`` is one flow's parameters.
        params: a pytree of arrays whose leading axis ``[B]`` runs over flows (or None:
            one flow, ``p = None``).
        dim: the dimension ``K`` of the flow.
        settings: the search settings (``tau`` defaults to 1), or its fields as keywords,
            as in :func:`find_slow_points`.
        starts, progress: as in :func:`find_slow_points`.

    Returns:
        :class:`SlowPoints` with batch shape ``[B]`` (``[1]`` when ``params`` is None).

    Raises:
        ValueError: a field that is not callable, parameters without a common leading
            axis, or a bad setting.
    """
    if not callable(field):
        raise ValueError(f"field must be a callable field(kappa, p), got {type(field).__name__}")
    _validate.at_least("dim", dim, 1)
    s = settings_or_keywords(SlowPointSettings, settings, keywords, where="find_field_points")
    lo, hi = s.box
    if params is None:
        leaves: tuple[np.ndarray, ...] = (np.zeros((1,)),)
        B = 1
        fn: Callable[..., Any] = _unflatten_caller(field, None)
    else:
        leaves_list, treedef = jax.tree_util.tree_flatten(params)
        if not leaves_list:
            raise ValueError("params must hold at least one array (or be None)")
        arrays = [np.asarray(a, dtype=np.float64) for a in leaves_list]
        B = arrays[0].shape[0] if arrays[0].ndim else 0
        if B == 0 or any(a.ndim == 0 or a.shape[0] != B for a in arrays):
            raise ValueError(
                "params must be arrays sharing a leading axis over flows, got shapes "
                f"{[a.shape for a in arrays]}"
            )
        leaves = tuple(arrays)
        fn = _unflatten_caller(field, treedef)
    K = int(dim)
    s_lo = np.full((B, K), lo)
    s_hi = np.full((B, K), hi)
    k0, grid = _first_starts(s, s_lo, s_hi, starts, (B,))
    ticker = _Progress(B, progress)
    raw = _run(_field_of(fn), leaves, starts=k0, grid=grid, n_iter=s.n_iter,
               n_polish=s.n_polish, ticker=ticker)  # fmt: skip
    return _label(raw, (B,), s, _FIELD_TAU if s.tau is None else s.tau)


@functools.lru_cache(maxsize=64)
def _unflatten_caller(field: Callable[..., Any], treedef: Any) -> Callable[..., Any]:
    """``field`` called with the parameter leaves reassembled (cached: one function object
    per field and structure, so its compiled program is reused)."""

    def call(k: jax.Array, leaves: tuple[Any, ...]) -> jax.Array:
        if treedef is None:
            return field(k, None)
        return field(k, jax.tree_util.tree_unflatten(treedef, list(leaves)))

    return call
