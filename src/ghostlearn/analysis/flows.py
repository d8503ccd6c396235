"""Latent flows of low-rank RNNs and of the saddle-node toy model.

Rank one. For ``tau dx/dt = -x + tanh(m n^T x + b)`` the latent variable
``kappa = n . x`` obeys exactly

    tau dkappa/dt = f(kappa) = -kappa + n . tanh(m kappa + b),

with derivatives

    f'(kappa)  = -1 + sum_i n_i m_i   (1 - t_i^2),
    f''(kappa) = -2 sum_i n_i m_i^2 t_i (1 - t_i^2),        t_i = tanh(m_i kappa + b_i).

``f`` is kept free of ``tau``: times are ``tau`` times the dimensionless ones, and every
function that returns a time takes ``tau`` explicitly.

Rank K. For ``W = M Nmat`` (``M`` in R^{N x K}, ``Nmat`` in R^{K x N}, column convention
``x -> W x``), optional input weights ``W_in`` in R^{N x n_in} and an input ``u`` in
R^{n_in}, the network ``tau dx/dt = -x + tanh(W x + W_in u + b)`` has its projection
``kappa = Nmat x`` obey exactly

    tau dkappa/dt = F(kappa) = -kappa + Nmat tanh(M kappa + W_in u + b),
    J(kappa) = dF/dkappa = -I + Nmat diag(1 - t^2) M,        t = tanh(M kappa + W_in u + b).

What is exact, and what is not:

- ``Nmat (dx/dt)`` involves ``x`` only through ``W x = M Nmat x = M kappa``, so the
  K-dimensional system is closed, for every ``x(0)`` (in the column space of ``M`` or
  not) and every input, constant or time-dependent (then ``u = u(t)`` in ``F``). Nothing
  is assumed about the rest of ``x``. The input enters only as a shift of the bias,
  ``b_eff = W_in u + b``, inside ``tanh``; it need not lie in the column space of ``M``
  (or anywhere in particular): a part of ``W_in u`` along ``M`` moves the flow in
  ``kappa``, the rest changes which units saturate.
- The column space of ``M`` is in general *not* invariant for ``x``: ``tanh(...)`` leaves
  it. ``x`` itself is slaved to the history of ``kappa``:
  ``x(t) = e^{-t/tau} x(0) + (1/tau) int_0^t e^{-(t-s)/tau} tanh(M kappa(s) + b_eff) ds``.
  Writing ``x = h(kappa) + e`` with the state at rest ``h(kappa) = tanh(M kappa + b_eff)``,
  ``tau de/dt = -e - tau dh/dt``: the lag ``e`` forgets ``x(0)`` like ``e^{-t/tau}`` and is
  of the order of the latent speed ``|F|``. So anything read from ``x`` (a readout
  ``w_out . x``) is a function of ``kappa`` only at rest: exactly at fixed points, to
  ``O(|F|)`` near slow points and ghosts.
- Fixed points of ``F`` are the fixed points of the network
  (``x* = tanh(M kappa* + b_eff)``, ``kappa* = Nmat x*``), one to one. The network's
  Jacobian there, ``-I + diag(1 - t^2) M Nmat``, has the ``K`` eigenvalues of ``J`` and
  ``-1`` (``N - K`` times): the nonzero eigenvalues of ``A B`` and ``B A`` coincide.

The same holds step by step for the Euler map: ``kappa(t+1) = (1 - D) kappa(t) + D Nmat
tanh(M kappa(t) + W_in u_t + b)``, ``kappa(0) = Nmat x(0)``.

The speed ``q = |F|^2 / 2`` has gradient ``J^T F`` and Hessian
``J^T J + M^T diag((Nmat^T F) * tanh''(M kappa + b_eff)) M`` with
``tanh'' = -2 t (1 - t^2)`` (:func:`lowrank_speed_hessian`).

Toy model. ``dx/dt = x^2 + r`` is the saddle-node normal form (``tau = 1``).

Parameters are taken as plain arrays, with any leading batch shape (computations run in
float64; rank-one parameters given in float32, as trained, are stored as they are):
``m, n, b`` of shape ``[..., N]``; ``M`` of shape ``[..., N, K]``, ``Nmat`` ``[..., K, N]``,
``W_in`` ``[..., N, n_in]`` and ``u`` ``[n_in]`` or ``[..., n_in]``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import _validate

__all__ = [
    "TANH2_MAX",
    "TANH3_MAX",
    "LowRankFlow",
    "Rank1Flow",
    "SaddleNodeFlow",
    "as_float_array",
    "lowrank_flow",
    "lowrank_jacobian",
    "lowrank_speed_hessian",
    "rank1_flow",
    "rank1_flow_derivatives",
    "saddle_node_flow",
]

#: max |tanh''(u)| = 4 / (3 sqrt 3), reached at tanh(u)^2 = 1/3.
TANH2_MAX = 4.0 / (3.0 * np.sqrt(3.0))
#: max |tanh'''(u)| = 2, reached at u = 0.
TANH3_MAX = 2.0


def as_float_array(
    name: str, value: Any, *, min_ndim: int, allow_float32: bool = False
) -> np.ndarray:
    """``value`` as a finite, non-empty float64 array, or a ValueError naming ``name``.

    Args:
        name: the argument, for messages.
        value: array-like.
        min_ndim: fewest dimensions accepted.
        allow_float32: keep a float32 array as it is (trained parameters), instead of
            converting it to float64.

    Returns:
        The array (float64, or float32 when allowed and given).

    Raises:
        ValueError: ``value`` is None, not numeric, has fewer than ``min_ndim``
            dimensions, is empty, or holds NaN or +-inf.
    """
    if value is None:
        raise ValueError(f"{name} is missing (got None)")
    try:
        arr = np.asarray(value)
        # float32 parameters (as trained) may stay float32: every computation on them
        # promotes to float64, and large batches are converted chunk by chunk.
        if not (allow_float32 and arr.dtype == np.float32):
            arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array, got {type(value).__name__}") from None
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    # One pass without temporaries: a sum of finite numbers is finite unless it overflows,
    # and only then (or for NaN/inf) does the element-wise check run, to name the problem.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(arr, dtype=np.float64)
    if not np.isfinite(total):
        _validate.finite(name, arr)
    return arr


def _rank1_arrays(m: Any, n: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = as_float_array("m", m, min_ndim=1, allow_float32=True)
    n = as_float_array("n", n, min_ndim=1, allow_float32=True)
    b = as_float_array("b", b, min_ndim=1, allow_float32=True)
    if n.shape != m.shape:
        raise ValueError(f"n must have the shape of m {m.shape}, got {n.shape}")
    if b.shape != m.shape:
        raise ValueError(f"b must have the shape of m {m.shape}, got {b.shape}")
    return m, n, b


@dataclasses.dataclass(frozen=True, eq=False)
class Rank1Flow:
    """A batch of rank-one latent flows ``f(kappa) = -kappa + n . tanh(m kappa + b)``.

    Attributes:
        m: ``[..., N]`` left connectivity vectors.
        n: ``[..., N]`` right connectivity vectors (``kappa = n . x``).
        b: ``[..., N]`` biases.
    """

    m: np.ndarray
    n: np.ndarray
    b: np.ndarray

    def __post_init__(self) -> None:
        m, n, b = _rank1_arrays(self.m, self.n, self.b)
        object.__setattr__(self, "m", m)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "b", b)

    def __repr__(self) -> str:
        return f"Rank1Flow(batch {self.batch_shape}, N={self.m.shape[-1]}, {self.m.dtype})"

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.m.shape[:-1]

    @property
    def size(self) -> int:
        return int(np.prod(self.batch_shape, dtype=np.int64))

    def flat(self) -> Rank1Flow:
        """The same flows with the batch dims flattened to one: ``[B, N]``."""
        shape = (self.size, self.m.shape[-1])
        return Rank1Flow(self.m.reshape(shape), self.n.reshape(shape), self.b.reshape(shape))

    def __call__(self, kappa: Any) -> np.ndarray:
        """``f`` at ``kappa`` of shape ``[..., G]`` (broadcast against the batch shape)."""
        return rank1_flow(kappa, self.m, self.n, self.b)

    def derivatives(self, kappa: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(f, f', f'')`` at ``kappa`` of shape ``[..., G]``."""
        return rank1_flow_derivatives(kappa, self.m, self.n, self.b)

    def speed_bound(self) -> np.ndarray:
        """``sum_i |n_i| >= |f(kappa) + kappa|`` per flow: every root has ``|kappa| <=`` it."""
        return np.sum(np.abs(self.n.astype(np.float64)), axis=-1)

    def curvature_bound(self) -> np.ndarray:
        """``L2 >= |f''|`` everywhere: ``max|tanh''| sum_i |n_i| m_i^2``, shape batch."""
        return TANH2_MAX * np.sum(
            np.abs(self.n.astype(np.float64)) * self.m.astype(np.float64) ** 2, axis=-1
        )

    def third_bound(self) -> np.ndarray:
        """``L3 >= |f'''|`` everywhere: ``2 sum_i |n_i| |m_i|^3``, shape batch."""
        return TANH3_MAX * np.sum(
            np.abs(self.n.astype(np.float64) * self.m.astype(np.float64) ** 3), axis=-1
        )


def rank1_flow(kappa: Any, m: Any, n: Any, b: Any) -> np.ndarray:
    """Rank-one latent flow ``f(kappa) = -kappa + n . tanh(m kappa + b)``.

    Args:
        kappa: ``[..., G]`` points, broadcast against the batch shape of ``m``.
        m, n, b: ``[..., N]`` parameters.

    Returns:
        ``[..., G]`` values of ``f`` (units of kappa; ``tau dkappa/dt = f``).

    Raises:
        ValueError: naming the array that is missing, mis-shaped or non-finite.
    """
    m, n, b = _rank1_arrays(m, n, b)
    k = as_float_array("kappa", kappa, min_ndim=0)
    t = np.tanh(m[..., None, :] * k[..., None] + b[..., None, :])
    return -k + np.einsum("...gn,...n->...g", t, n)


def rank1_flow_derivatives(
    kappa: Any, m: Any, n: Any, b: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(f, f', f'')`` of the rank-one latent flow at ``kappa``; shapes as :func:`rank1_flow`.

    ``f' = -1 + sum n m (1 - t^2)`` and ``f'' = -2 sum n m^2 t (1 - t^2)``.
    """
    m, n, b = _rank1_arrays(m, n, b)
    k = as_float_array("kappa", kappa, min_ndim=0)
    t = np.tanh(m[..., None, :] * k[..., None] + b[..., None, :])
    s = 1.0 - t * t
    f = -k + np.einsum("...gn,...n->...g", t, n)
    df = -1.0 + np.einsum("...gn,...n->...g", s, n * m)
    d2f = -2.0 * np.einsum("...gn,...n->...g", t * s, n * m * m)
    return f, df, d2f


@dataclasses.dataclass(frozen=True, eq=False)
class SaddleNodeFlow:
    """The saddle-node normal form ``f(x) = x^2 + r`` (the toy model), batched over ``r``.

    Attributes:
        r: ``[...]`` parameters. ``r < 0``: fixed points ``-sqrt(-r)`` (stable) and
            ``+sqrt(-r)`` (unstable); ``r > 0``: a ghost at 0 of depth ``r``.
    """

    r: np.ndarray

    def __post_init__(self) -> None:
        r = np.asarray(as_float_array("r", np.atleast_1d(self.r), min_ndim=1))
        object.__setattr__(self, "r", r.reshape(np.shape(self.r)))

    def __repr__(self) -> str:
        return f"SaddleNodeFlow(batch {self.batch_shape})"

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.r.shape

    @property
    def size(self) -> int:
        return int(self.r.size)

    def flat(self) -> SaddleNodeFlow:
        return SaddleNodeFlow(self.r.reshape(-1))

    def __call__(self, kappa: Any) -> np.ndarray:
        return saddle_node_flow(kappa, self.r)

    def derivatives(self, kappa: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = np.asarray(kappa, dtype=np.float64)
        f = saddle_node_flow(k, self.r)
        return f, np.broadcast_to(2.0 * k, f.shape).copy(), np.full(f.shape, 2.0)

    def speed_bound(self) -> np.ndarray:
        return np.abs(self.r)

    def curvature_bound(self) -> np.ndarray:
        return np.full(self.r.shape, 2.0)

    def third_bound(self) -> np.ndarray:
        return np.zeros(self.r.shape)


def saddle_node_flow(x: Any, r: Any) -> np.ndarray:
    """``x^2 + r`` with ``x`` of shape ``[..., G]`` and ``r`` of the batch shape ``[...]``."""
    x = np.asarray(x, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    return x * x + r[..., None]


def _lowrank_arrays(M: Any, Nmat: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    M = as_float_array("M", M, min_ndim=2)
    Nmat = as_float_array("Nmat", Nmat, min_ndim=2)
    b = as_float_array("b", b, min_ndim=1)
    n_units, k = M.shape[-2:]
    if Nmat.shape[-2:] != (k, n_units) or Nmat.shape[:-2] != M.shape[:-2]:
        raise ValueError(
            f"Nmat must have shape {M.shape[:-2] + (k, n_units)} to match M {M.shape}, "
            f"got {Nmat.shape}"
        )
    if b.shape != M.shape[:-1]:
        raise ValueError(f"b must have shape {M.shape[:-1]} to match M {M.shape}, got {b.shape}")
    return M, Nmat, b


def _input_arrays(M: np.ndarray, W_in: Any, u: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validated ``W_in [..., N, n_in]`` and ``u`` (broadcast to ``[..., n_in]``), or Nones."""
    if W_in is None and u is None:
        return None, None
    if W_in is None or u is None:
        missing = "W_in" if W_in is None else "u"
        raise ValueError(f"{missing} is missing: give both W_in and u, or neither")
    W_in = as_float_array("W_in", W_in, min_ndim=2)
    u = as_float_array("u", u, min_ndim=1)
    batch, n_units = M.shape[:-2], M.shape[-2]
    if W_in.shape[-2] != n_units or W_in.shape[:-2] != batch:
        raise ValueError(
            f"W_in must have shape {batch + (n_units, 'n_in')} to match M {M.shape}, "
            f"got {W_in.shape}"
        )
    n_in = W_in.shape[-1]
    if u.shape[-1] != n_in:
        raise ValueError(f"u must have {n_in} entries (W_in has {n_in} inputs), got {u.shape}")
    try:
        u = np.broadcast_to(u, batch + (n_in,))
    except ValueError:
        raise ValueError(
            f"u must have shape ({n_in},) or {batch + (n_in,)}, got {u.shape}"
        ) from None
    return W_in, u


def _drive(b: np.ndarray, W_in: np.ndarray | None, u: np.ndarray | None) -> np.ndarray:
    """Effective bias ``b + W_in u`` ``[..., N]``."""
    if W_in is None or u is None:
        return b
    return b + np.einsum("...ni,...i->...n", W_in, u)


@dataclasses.dataclass(frozen=True, eq=False)
class LowRankFlow:
    """A batch of rank-K latent flows ``F(kappa) = -kappa + Nmat tanh(M kappa + W_in u + b)``.

    Attributes:
        M: ``[..., N, K]``.
        Nmat: ``[..., K, N]``.
        b: ``[..., N]``.
        W_in: ``[..., N, n_in]`` input weights, or None (no input).
        u: the constant input ``[n_in]`` (shared) or ``[..., n_in]``, or None; stored
            broadcast to ``[..., n_in]``.
    """

    M: np.ndarray
    Nmat: np.ndarray
    b: np.ndarray
    W_in: np.ndarray | None = None
    u: np.ndarray | None = None

    def __post_init__(self) -> None:
        M, Nmat, b = _lowrank_arrays(self.M, self.Nmat, self.b)
        W_in, u = _input_arrays(M, self.W_in, self.u)
        object.__setattr__(self, "M", M)
        object.__setattr__(self, "Nmat", Nmat)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "W_in", W_in)
        object.__setattr__(self, "u", u)

    def __repr__(self) -> str:
        inputs = "" if self.W_in is None else f", {self.W_in.shape[-1]} input(s)"
        return (
            f"LowRankFlow(batch {self.batch_shape}, N={self.M.shape[-2]}, K={self.rank}"
            f"{inputs}, {self.M.dtype})"
        )

    @property
    def rank(self) -> int:
        return int(self.M.shape[-1])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.M.shape[:-2]

    @property
    def size(self) -> int:
        return int(np.prod(self.batch_shape, dtype=np.int64))

    @property
    def drive(self) -> np.ndarray:
        """``[..., N]`` the effective bias ``b + W_in u`` (``b`` without input)."""
        return _drive(self.b, self.W_in, self.u)

    def flat(self) -> LowRankFlow:
        """The same flows with the batch dims flattened to one: ``[B, ...]``."""
        n_units, k = self.M.shape[-2:]
        if self.W_in is None or self.u is None:
            W_in = u = None
        else:
            n_in = self.W_in.shape[-1]
            W_in = self.W_in.reshape(-1, n_units, n_in)
            u = self.u.reshape(-1, n_in)
        return LowRankFlow(
            self.M.reshape(-1, n_units, k),
            self.Nmat.reshape(-1, k, n_units),
            self.b.reshape(-1, n_units),
            W_in,
            u,
        )

    def without_input(self) -> LowRankFlow:
        """The same flows with the input folded into the bias (``b <- b + W_in u``)."""
        return LowRankFlow(self.M, self.Nmat, self.drive)

    def __getitem__(self, index: Any) -> LowRankFlow:
        """The flows at ``index`` of the batch dims (e.g. one snapshot ``flow[s]``)."""
        idx = index if isinstance(index, tuple) else (index,)
        if len(idx) > len(self.batch_shape):
            raise ValueError(
                f"index {index!r} has more components than the batch shape {self.batch_shape}"
            )
        return LowRankFlow(
            self.M[idx],
            self.Nmat[idx],
            self.b[idx],
            None if self.W_in is None else self.W_in[idx],
            None if self.u is None else self.u[idx],
        )

    def __call__(self, kappa: Any) -> np.ndarray:
        return lowrank_flow(kappa, self.M, self.Nmat, self.b, self.W_in, self.u)

    def jacobian(self, kappa: Any) -> np.ndarray:
        return lowrank_jacobian(kappa, self.M, self.Nmat, self.b, self.W_in, self.u)

    def speed_hessian(self, kappa: Any) -> np.ndarray:
        """Hessian of ``q = |F|^2 / 2`` at ``kappa`` (:func:`lowrank_speed_hessian`)."""
        return lowrank_speed_hessian(kappa, self.M, self.Nmat, self.b, self.W_in, self.u)

    def reach(self) -> np.ndarray:
        """``[..., K]`` ``sum_n |Nmat_kn|``: every fixed point has ``|kappa_k| <=`` it, and a
        point of speed ``|F| <= s`` has ``|kappa_k| <= reach_k + s`` (since
        ``|kappa + F|_k = |Nmat_k . t| <= sum_n |Nmat_kn|``)."""
        return np.sum(np.abs(self.Nmat), axis=-1)

    @classmethod
    def from_rank1(cls, m: Any, n: Any, b: Any) -> LowRankFlow:
        """The rank-one flow written as K = 1 (``M = m[..., None]``, ``Nmat = n[..., None, :]``)."""
        m, n, b = _rank1_arrays(m, n, b)
        return cls(m[..., :, None], n[..., None, :], b)


def _preact(
    kappa: Any, M: Any, Nmat: Any, b: Any, W_in: Any, u: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    M, Nmat, b = _lowrank_arrays(M, Nmat, b)
    W_in, u = _input_arrays(M, W_in, u)
    k = as_float_array("kappa", kappa, min_ndim=1)
    if k.shape[-1] != M.shape[-1]:
        raise ValueError(
            f"kappa must have K = {M.shape[-1]} entries on its last axis, got {k.shape}"
        )
    u_pre = np.einsum("...nk,...pk->...pn", M, k) + _drive(b, W_in, u)[..., None, :]
    return M, Nmat, k, u_pre


def lowrank_flow(
    kappa: Any, M: Any, Nmat: Any, b: Any, W_in: Any = None, u: Any = None
) -> np.ndarray:
    """Rank-K latent flow ``F(kappa) = -kappa + Nmat tanh(M kappa + W_in u + b)``.

    Args:
        kappa: ``[..., P, K]`` points (``P`` points per flow), batch dims broadcast.
        M: ``[..., N, K]``; Nmat: ``[..., K, N]``; b: ``[..., N]``.
        W_in: optional ``[..., N, n_in]`` input weights; u: the constant input ``[n_in]``
            (or ``[..., n_in]``); both or neither.

    Returns:
        ``[..., P, K]``.
    """
    _, Nmat, k, pre = _preact(kappa, M, Nmat, b, W_in, u)
    return -k + np.einsum("...kn,...pn->...pk", Nmat, np.tanh(pre))


def lowrank_jacobian(
    kappa: Any, M: Any, Nmat: Any, b: Any, W_in: Any = None, u: Any = None
) -> np.ndarray:
    """Jacobian ``J = -I + Nmat diag(1 - t^2) M`` of the rank-K flow, ``[..., P, K, K]``.

    ``t = tanh(M kappa + W_in u + b)``; arguments as in :func:`lowrank_flow`.
    """
    M, Nmat, _, pre = _preact(kappa, M, Nmat, b, W_in, u)
    s = 1.0 - np.tanh(pre) ** 2
    J = np.einsum("...kn,...pn,...nj->...pkj", Nmat, s, M)
    return J - np.eye(M.shape[-1])


def lowrank_speed_hessian(
    kappa: Any, M: Any, Nmat: Any, b: Any, W_in: Any = None, u: Any = None
) -> np.ndarray:
    """Hessian of the speed ``q = |F|^2 / 2`` of the rank-K flow, ``[..., P, K, K]``.

    ``H = J^T J + M^T diag(w) M`` with ``w = (Nmat^T F) * (-2 t (1 - t^2))``,
    ``t = tanh(M kappa + W_in u + b)`` (the second term is ``sum_k F_k`` times the Hessian
    of ``F_k``). At a fixed point ``H = J^T J``; at a ghost (a local minimum of ``q`` with
    ``F != 0``) it is positive semi-definite. Arguments as in :func:`lowrank_flow`.
    """
    M, Nmat, k, pre = _preact(kappa, M, Nmat, b, W_in, u)
    t = np.tanh(pre)
    s = 1.0 - t * t
    F = -k + np.einsum("...kn,...pn->...pk", Nmat, t)
    J = np.einsum("...kn,...pn,...nj->...pkj", Nmat, s, M) - np.eye(M.shape[-1])
    w = np.einsum("...kn,...pk->...pn", Nmat, F) * (-2.0 * t * s)
    JtJ = np.einsum("...pki,...pkj->...pij", J, J)
    return JtJ + np.einsum("...ni,...pn,...nj->...pij", M, w, M)
