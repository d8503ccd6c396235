"""Batched evaluation of 1-D flows and their derivatives, for the point finders.

A backend holds one chunk of flows and answers two questions, always in float64:

- ``grid(kappa)``: ``f`` at shared points ``kappa [G]`` for every flow -> ``[B, G]``;
- ``at(rows, kappa, order)``: the ``order``-th derivative of ``f`` (0, 1, 2) of flow
  ``rows[r]`` at ``kappa[r, p]`` -> ``[R, P]``.

The rank-one backend runs compiled JAX kernels. Each derivative order has its own kernel
with a single reduction over units: XLA fuses ``tanh`` into a single-output reduction but
handles a multi-output one (f, f', f'' together) several times more slowly, so three
one-output kernels that each recompute ``tanh`` are the faster choice. Row counts are
padded to powers of two so that only a handful of shapes are ever compiled.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

import jax
import jax.numpy as jnp
import numpy as np

from .flows import Rank1Flow, SaddleNodeFlow

_MIN_ROWS = 64
_MAX_ROWS = 4096


class FlowBackend(Protocol):
    size: int
    curvature_bound: np.ndarray  # [B] L2 >= |f''|
    third_bound: np.ndarray  # [B] L3 >= |f'''|
    round_off: np.ndarray  # [B] bound on the rounding error of one evaluation of f

    def grid(self, kappa: np.ndarray) -> np.ndarray: ...

    def at(self, rows: np.ndarray, kappa: np.ndarray, order: int) -> np.ndarray: ...


def _pad_rows(n: int) -> int:
    """Row count to compile for: a power of two between _MIN_ROWS and _MAX_ROWS."""
    return min(_MAX_ROWS, max(_MIN_ROWS, 1 << int(np.ceil(np.log2(max(n, 1))))))


@jax.jit
def _grid0(m, n, b, k):
    t = jnp.tanh(m[:, None, :] * k[None, :, None] + b[:, None, :])
    return jnp.sum(n[:, None, :] * t, axis=-1) - k[None, :]


@partial(jax.jit, static_argnums=5)
def _at(m, n, b, rows, k, order):
    m = m[rows][:, None, :]
    n = n[rows][:, None, :]
    b = b[rows][:, None, :]
    t = jnp.tanh(m * k[:, :, None] + b)
    if order == 0:
        return jnp.sum(n * t, axis=-1) - k
    if order == 1:
        return jnp.sum((n * m) * (1.0 - t * t), axis=-1) - 1.0
    return -2.0 * jnp.sum((n * m * m) * (t * (1.0 - t * t)), axis=-1)


class Rank1Backend:
    """Compiled float64 evaluation of ``f = -kappa + n . tanh(m kappa + b)`` for one chunk."""

    def __init__(self, flow: Rank1Flow, kappa_max: float) -> None:
        flat = flow.flat()
        self.size = flat.size
        self.curvature_bound = flat.curvature_bound()
        self.third_bound = flat.third_bound()
        # Each of the N terms of f carries a relative error of a few ulp.
        n_units = flat.m.shape[-1]
        scale = kappa_max + np.sum(np.abs(flat.n), axis=-1)
        self.round_off = 4.0 * (n_units + 4) * np.finfo(np.float64).eps * (1.0 + scale)
        self.evaluations = 0  # point evaluations of f, f' or f'' (each costs N tanh)
        # Flows padded (with zero parameters) to a power of two for the grid kernel, so
        # that chunks of any size reuse a few compiled programs.
        rows = 1 << int(np.ceil(np.log2(max(self.size, _MIN_ROWS))))
        pad = ((0, rows - self.size), (0, 0))
        with jax.enable_x64(True):
            self._pm = jnp.asarray(np.pad(flat.m, pad))
            self._pn = jnp.asarray(np.pad(flat.n, pad))
            self._pb = jnp.asarray(np.pad(flat.b, pad))
            self._m, self._n, self._b = self._pm, self._pn, self._pb

    def grid(self, kappa: np.ndarray) -> np.ndarray:
        self.evaluations += self.size * np.size(kappa)
        with jax.enable_x64(True):
            out = _grid0(self._pm, self._pn, self._pb, jnp.asarray(kappa, dtype=jnp.float64))
            return np.asarray(out)[: self.size]

    def at(self, rows: np.ndarray, kappa: np.ndarray, order: int) -> np.ndarray:
        rows = np.asarray(rows)
        kappa = np.asarray(kappa, dtype=np.float64)
        squeeze = kappa.ndim == 1
        if squeeze:
            kappa = kappa[:, None]
        n = rows.shape[0]
        self.evaluations += kappa.size
        out = np.empty(kappa.shape)
        pending = []
        with jax.enable_x64(True):
            # Dispatch every block before reading any back: the kernels run asynchronously.
            for start in range(0, n, _MAX_ROWS):
                stop = min(start + _MAX_ROWS, n)
                size = _pad_rows(stop - start)
                r = np.zeros(size, dtype=np.int32)
                r[: stop - start] = rows[start:stop]
                k = np.zeros((size, kappa.shape[1]))
                k[: stop - start] = kappa[start:stop]
                pending.append((start, stop, _at(self._m, self._n, self._b, r, k, order)))
            for start, stop, res in pending:
                out[start:stop] = np.asarray(res)[: stop - start]
        return out[:, 0] if squeeze else out


class SaddleNodeBackend:
    """Evaluation of ``x^2 + r`` (closed forms; no compilation needed)."""

    def __init__(self, flow: SaddleNodeFlow, kappa_max: float) -> None:
        self._r = flow.flat().r
        self.size = self._r.size
        self.curvature_bound = np.full(self.size, 2.0)
        self.third_bound = np.zeros(self.size)
        self.round_off = 4.0 * np.finfo(np.float64).eps * (1.0 + kappa_max**2 + np.abs(self._r))

    def grid(self, kappa: np.ndarray) -> np.ndarray:
        k = np.asarray(kappa, dtype=np.float64)
        return k[None, :] ** 2 + self._r[:, None]

    def at(self, rows: np.ndarray, kappa: np.ndarray, order: int) -> np.ndarray:
        k = np.asarray(kappa, dtype=np.float64)
        r = self._r[np.asarray(rows)]
        if k.ndim == 2:
            r = r[:, None]
        if order == 0:
            return k * k + r
        if order == 1:
            return 2.0 * k
        return np.full(k.shape, 2.0)


def make_backend(flow: Rank1Flow | SaddleNodeFlow, kappa_max: float) -> FlowBackend:
    if isinstance(flow, Rank1Flow):
        return Rank1Backend(flow, kappa_max)
    if isinstance(flow, SaddleNodeFlow):
        return SaddleNodeBackend(flow, kappa_max)
    raise ValueError(f"flow must be a Rank1Flow or a SaddleNodeFlow, got {type(flow).__name__}")
