"""Batched evaluation of 1-D flows and their derivatives, for the point finders.

A backend holds one chunk of flows and answers two questions, always in float64:

- ``grid(kappa)``: ``f`` at shared points ``kappa [G]`` for every flow -> ``[B, G]``;
- ``at(rows, kappa, order)``: the ``order``-th derivative of ``f`` (0, 1, 2) of flow
  ``rows[r]`` at ``kappa[r]`` (or ``kappa[r, p]``) -> same shape as ``kappa``.

The rank-one backend runs compiled JAX kernels. Each derivative order has its own kernel
with a single reduction over units: XLA fuses ``tanh`` into a single-output reduction but
handles a multi-output one (f, f', f'' together) several times more slowly, so three
one-output kernels that each recompute ``tanh`` are the faster choice. Row counts are
padded to a few fixed sizes so that only a handful of shapes are ever compiled.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Protocol, TypeGuard

import jax
import jax.numpy as jnp
import numpy as np

from .flows import TANH2_MAX, TANH3_MAX, Rank1Flow, SaddleNodeFlow

# Row counts the point kernel is compiled for (larger calls are split into blocks).
_BUCKETS = (256, 1024, 4096)


class FlowBackend(Protocol):
    size: int
    evaluations: int
    curvature_bound: np.ndarray  # [B] L2 >= |f''|
    third_bound: np.ndarray  # [B] L3 >= |f'''|
    round_off: np.ndarray  # [B] bound on the rounding error of one evaluation of f

    def grid(self, kappa: np.ndarray) -> np.ndarray: ...

    def at(self, rows: np.ndarray, kappa: np.ndarray, order: int) -> np.ndarray: ...


# The parameters of some rows kept on the device, unit-major ``[N, R]`` (padded to a
# compiled size), and the number of rows that are real.
Handle = tuple[jax.Array, jax.Array, jax.Array, int]


class FusedBackend(FlowBackend, Protocol):
    """A backend that can keep rows' parameters gathered and evaluate ``(g, g')`` at once."""

    def gather(self, rows: np.ndarray) -> Handle: ...

    def take(self, handle: Handle, keep: np.ndarray) -> Handle: ...

    def pair(self, handle: Handle, x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]: ...


def gathers(backend: FlowBackend) -> TypeGuard[FusedBackend]:
    """Whether ``backend`` is a :class:`FusedBackend`."""
    return hasattr(backend, "gather")


def _bucket(n: int) -> int:
    """Row count to compile for: the smallest of _BUCKETS that holds ``n`` rows."""
    for size in _BUCKETS:
        if n <= size:
            return size
    return _BUCKETS[-1]


@jax.jit
def _prepare(
    m: jax.Array, n: jax.Array, b: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Unit-major copies of the parameters and the sums behind :func:`rank1_bounds`."""
    an = jnp.abs(n)
    w2 = an * m * m
    sums = jnp.stack([jnp.sum(w2, axis=1), jnp.sum(w2 * jnp.abs(m), axis=1), jnp.sum(an, axis=1)])
    return m.T, n.T, b.T, sums


@jax.jit
def _grid0(mT: jax.Array, nT: jax.Array, bT: jax.Array, k: jax.Array) -> jax.Array:
    # Unit-major layout [N, B]: the sum over units runs along the slow axis and the
    # inner loop over flows vectorises (2-3x faster than reducing the minor axis).
    t = jnp.tanh(mT[None] * k[:, None, None] + bT[None])
    return (jnp.sum(nT[None] * t, axis=1) - k[:, None]).T


def _g_and_dg(
    mT: jax.Array, nT: jax.Array, bT: jax.Array, x: jax.Array, order: int
) -> tuple[jax.Array, jax.Array]:
    """``(g, g')`` with ``g`` the ``order``-th derivative of f, parameters ``[N, R]``."""
    t = jnp.tanh(mT * x[None] + bT)
    s = 1.0 - t * t
    nm = nT * mT
    if order == 0:
        return jnp.sum(nT * t, axis=0) - x, jnp.sum(nm * s, axis=0) - 1.0
    return jnp.sum(nm * s, axis=0) - 1.0, -2.0 * jnp.sum(nm * mT * (t * s), axis=0)


@partial(jax.jit, static_argnums=5)
def _at(
    m: jax.Array, n: jax.Array, b: jax.Array, rows: jax.Array, k: jax.Array, order: int
) -> jax.Array:
    mT, nT, bT = m[rows].T, n[rows].T, b[rows].T
    t = jnp.tanh(mT * k[None] + bT)
    if order == 0:
        return jnp.sum(nT * t, axis=0) - k
    if order == 1:
        return jnp.sum((nT * mT) * (1.0 - t * t), axis=0) - 1.0
    return -2.0 * jnp.sum((nT * mT * mT) * (t * (1.0 - t * t)), axis=0)


@jax.jit
def _gather_t(
    m: jax.Array, n: jax.Array, b: jax.Array, rows: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    return m[rows].T, n[rows].T, b[rows].T


@jax.jit
def _take_t(
    mT: jax.Array, nT: jax.Array, bT: jax.Array, cols: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    return mT[:, cols], nT[:, cols], bT[:, cols]


@partial(jax.jit, static_argnums=4)
def _pair(
    mT: jax.Array, nT: jax.Array, bT: jax.Array, x: jax.Array, order: int
) -> tuple[jax.Array, jax.Array]:
    return _g_and_dg(mT, nT, bT, x, order)


def rank1_bounds(
    m: np.ndarray, n: np.ndarray, kappa_max: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per flow: ``L2 >= |f''|``, ``L3 >= |f'''|`` and a bound on the rounding error of f.

    ``L2 = max|tanh''| sum |n| m^2`` and ``L3 = max|tanh'''| sum |n| |m|^3``; each of the
    ``N`` terms of ``f`` carries a relative rounding error of a few ulp.
    """
    an = np.abs(n)
    w2 = an * m * m
    L2 = TANH2_MAX * np.sum(w2, axis=-1)
    L3 = TANH3_MAX * np.sum(w2 * np.abs(m), axis=-1)
    n_units = m.shape[-1]
    scale = kappa_max + np.sum(an, axis=-1)
    round_off = 4.0 * (n_units + 4) * np.finfo(np.float64).eps * (1.0 + scale)
    return L2, L3, round_off


class Rank1Backend:
    """Compiled float64 evaluation of ``f = -kappa + n . tanh(m kappa + b)`` for one chunk.

    Takes validated arrays ``[B, N]`` (float32 or float64; evaluated in float64). The
    bounds of :func:`rank1_bounds` are computed here, on the device. The chunk is padded (with zero parameters) to a power of two so that
    chunks of any size reuse a few compiled programs.
    """

    def __init__(self, m: np.ndarray, n: np.ndarray, b: np.ndarray, kappa_max: float) -> None:
        self.size = m.shape[0]
        self.evaluations = 0  # point evaluations of f, f' or f'' (each costs N tanh)
        rows = 1 << int(np.ceil(np.log2(max(self.size, _BUCKETS[0]))))
        with jax.enable_x64(True):
            self._m, self._n, self._b = (self._padded(a, rows) for a in (m, n, b))
            self._mT, self._nT, self._bT, sums = _prepare(self._m, self._n, self._b)
            sums = np.asarray(sums)[:, : self.size]
        # The bounds of rank1_bounds, from the sums computed with the transposition.
        self.curvature_bound = TANH2_MAX * sums[0]
        self.third_bound = TANH3_MAX * sums[1]
        eps = np.finfo(np.float64).eps
        self.round_off = 4.0 * (m.shape[1] + 4) * eps * (1.0 + kappa_max + sums[2])

    @staticmethod
    def _padded(a: np.ndarray, rows: int) -> jax.Array:
        if a.shape[0] == rows:
            return jnp.asarray(a, dtype=jnp.float64)
        out = np.zeros((rows, a.shape[1]))
        out[: a.shape[0]] = a
        return jnp.asarray(out)

    def grid(self, kappa: np.ndarray) -> np.ndarray:
        self.evaluations += self.size * np.size(kappa)
        with jax.enable_x64(True):
            out = _grid0(self._mT, self._nT, self._bT, np.asarray(kappa, dtype=np.float64))
            return np.asarray(out)[: self.size]

    def at(self, rows: np.ndarray, kappa: np.ndarray, order: int) -> np.ndarray:
        kappa = np.asarray(kappa, dtype=np.float64)
        shape = kappa.shape
        rows = np.asarray(rows)
        if kappa.ndim == 2:  # several points per row: one kernel row per point
            rows = np.repeat(rows, shape[1])
        k = kappa.reshape(-1)
        n = k.size
        self.evaluations += n
        out = np.empty(n)
        pending = []
        with jax.enable_x64(True):
            # Dispatch every block before reading any back: the kernels run asynchronously.
            for start, stop, size in _blocks(n):
                r = np.zeros(size, dtype=np.int32)
                r[: stop - start] = rows[start:stop]
                kk = np.zeros(size)
                kk[: stop - start] = k[start:stop]
                pending.append((start, stop, _at(self._m, self._n, self._b, r, kk, order)))
            for start, stop, res in pending:
                out[start:stop] = np.asarray(res)[: stop - start]
        return out.reshape(shape)

    def gather(self, rows: np.ndarray) -> Handle:
        """The parameters of ``rows`` in unit-major layout ``[N, R]`` (padded), kept on the
        device for repeated evaluations at changing points (:meth:`pair`)."""
        n = rows.size
        size = _pair_bucket(n)
        r = np.zeros(size, dtype=np.int32)
        r[:n] = rows
        with jax.enable_x64(True):
            return (*_gather_t(self._m, self._n, self._b, r), n)

    def take(self, handle: Handle, keep: np.ndarray) -> Handle:
        """The columns ``keep`` of a :meth:`gather` handle."""
        mT, nT, bT, _ = handle
        n = keep.size
        cols = np.zeros(_pair_bucket(n), dtype=np.int32)
        cols[:n] = keep
        with jax.enable_x64(True):
            return (*_take_t(mT, nT, bT, cols), n)

    def pair(self, handle: Handle, x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
        """``(g, g')`` (``g`` the ``order``-th derivative of f) at ``x`` for a handle's rows."""
        mT, nT, bT, n = handle
        xx = np.zeros(mT.shape[1])
        xx[:n] = x
        self.evaluations += 2 * n
        with jax.enable_x64(True):
            g, dg = _pair(mT, nT, bT, xx, order)
            return np.asarray(g)[:n], np.asarray(dg)[:n]


def _pair_bucket(n: int) -> int:
    return _bucket(n)


def _blocks(n: int) -> Iterator[tuple[int, int, int]]:
    """``(start, stop, padded size)`` of the kernel calls covering ``n`` rows."""
    for start in range(0, n, _BUCKETS[-1]):
        stop = min(start + _BUCKETS[-1], n)
        yield start, stop, _bucket(stop - start)


class SaddleNodeBackend:
    """Evaluation of ``x^2 + r`` (closed forms; no compilation needed)."""

    def __init__(self, flow: SaddleNodeFlow, kappa_max: float) -> None:
        self._r = flow.flat().r
        self.size = self._r.size
        self.curvature_bound = np.full(self.size, 2.0)
        self.third_bound = np.zeros(self.size)
        self.round_off = 4.0 * np.finfo(np.float64).eps * (1.0 + kappa_max**2 + np.abs(self._r))
        self.evaluations = 0

    def grid(self, kappa: np.ndarray) -> np.ndarray:
        k = np.asarray(kappa, dtype=np.float64)
        self.evaluations += self.size * k.size
        return k[None, :] ** 2 + self._r[:, None]

    def at(self, rows: np.ndarray, kappa: np.ndarray, order: int) -> np.ndarray:
        k = np.asarray(kappa, dtype=np.float64)
        self.evaluations += k.size
        r = self._r[np.asarray(rows)]
        if k.ndim == 2:
            r = r[:, None]
        if order == 0:
            return k * k + r
        if order == 1:
            return 2.0 * k
        return np.full(k.shape, 2.0)


def make_backend(flow: Rank1Flow | SaddleNodeFlow, kappa_max: float) -> FlowBackend:
    """A backend for all the flows of ``flow`` (flattened)."""
    if isinstance(flow, Rank1Flow):
        flat = flow.flat()
        return Rank1Backend(flat.m, flat.n, flat.b, kappa_max)
    if isinstance(flow, SaddleNodeFlow):
        return SaddleNodeBackend(flow, kappa_max)
    raise ValueError(f"flow must be a Rank1Flow or a SaddleNodeFlow, got {type(flow).__name__}")
