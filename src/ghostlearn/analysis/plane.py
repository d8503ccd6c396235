"""The latent plane of a rank-K flow: coordinates, the flow on a grid, trials, readouts.

What a phase portrait draws, computed without plotting (:func:`~ghostlearn.analysis.plotting.
plot_phase_portrait` draws it; the report and the animation reuse it):

- :class:`LatentPlane`: ``kappa = origin + a e_1 + b e_2`` with orthonormal ``e_1, e_2``
  in R^K. For K = 2 it is the latent plane itself (``origin = 0``, ``e_i`` the axes); for
  K > 2 (:func:`leading_plane`) the plane through the mean of the data spanned by its two
  leading principal directions (trial trajectories and points; without data, the two
  leading right singular vectors of ``Nmat M``).
- :func:`plane_field`: on a grid of the plane, the flow projected on the plane
  ``(e_1 . F, e_2 . F)`` (for streamlines) and the full speed ``|F|`` (for the heat map;
  for K > 2 it is a slice of the speed through the plane). For K = 2 both are exact.
- :func:`latent_trial`: a trial's latent trajectory under the flow's constant input,
  ``kappa(t+1) = (1 - D) kappa(t) + D Nmat tanh(M kappa(t) + W_in u + b)``, exactly
  ``Nmat x(t)`` of the network (see :mod:`~ghostlearn.analysis.flows`); the
  delayed-activation trial starts at ``kappa(0) = x0 Nmat 1`` (:func:`trial_start`).
- :func:`readout_values`: a readout's pre-activation ``z`` on the plane, whose zero set
  is the decision boundary: for a latent readout ``w_out . kappa + b_out - threshold``
  (a line), for a readout of the state ``w_out . tanh(M kappa + W_in u + b) + b_out -
  threshold`` (the state at rest; exact at fixed points, see
  :class:`~ghostlearn.analysis.run.LatentReadout`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .flows import LowRankFlow, as_float_array

__all__ = [
    "LatentPlane",
    "PlaneField",
    "latent_trial",
    "leading_plane",
    "plane_field",
    "plane_limits",
    "readout_values",
    "state_readout",
    "trial_start",
]


@dataclasses.dataclass(frozen=True, eq=False)
class LatentPlane:
    """A plane ``kappa = origin + a e_1 + b e_2`` in the K-dimensional latent space.

    Attributes:
        origin: ``[K]``.
        basis: ``[2, K]`` orthonormal rows ``e_1, e_2``.
        projected: False when the plane is the whole latent space (K = 2, the axes).
        labels: axis labels, e.g. ``("kappa_1", "kappa_2")`` or
            ``("direction 1", "direction 2")``.
    """

    origin: np.ndarray
    basis: np.ndarray
    projected: bool = False
    labels: tuple[str, str] = ("kappa_1", "kappa_2")

    def __post_init__(self) -> None:
        o = as_float_array("origin", self.origin, min_ndim=1)
        e = as_float_array("basis", self.basis, min_ndim=2)
        if o.ndim != 1 or e.shape != (2, o.size):
            raise ValueError(
                f"basis must have shape (2, K) with K = origin size {o.size}, got {e.shape}"
            )
        if not np.allclose(e @ e.T, np.eye(2), atol=1e-8):
            raise ValueError("basis must have orthonormal rows")
        object.__setattr__(self, "origin", o)
        object.__setattr__(self, "basis", e)

    @property
    def rank(self) -> int:
        """``K``."""
        return int(self.origin.size)

    @classmethod
    def axes(cls, K: int = 2) -> LatentPlane:
        """The plane of the first two latent axes (the whole space when K = 2)."""
        if K < 2:
            raise ValueError(f"K must be >= 2 for a plane, got {K}")
        return cls(np.zeros(K), np.eye(K)[:2], projected=K > 2)

    def to_plane(self, kappa: Any) -> np.ndarray:
        """Coordinates ``(a, b)`` of the projection of ``kappa [..., K]``: ``[..., 2]``."""
        k = np.asarray(kappa, dtype=np.float64)
        return (k - self.origin) @ self.basis.T

    def from_plane(self, ab: Any) -> np.ndarray:
        """The latent point ``origin + a e_1 + b e_2`` of ``ab [..., 2]``: ``[..., K]``."""
        return self.origin + np.asarray(ab, dtype=np.float64) @ self.basis


def leading_plane(
    flow: LowRankFlow, data: Sequence[Any] = (), *, min_spread: float = 1e-6
) -> LatentPlane:
    """The plane a portrait of a K-D flow shows (see the module docstring).

    Args:
        flow: one flow (batch ``()``) or a batch; with K = 2 the axes are returned.
        data: arrays of latent points ``[..., K]`` (trajectories, fixed points, ghosts);
            NaN rows are ignored.
        min_spread: the data must spread more than this (second singular value) to set the
            plane; otherwise the connectivity ``Nmat M`` (averaged over the batch) does.

    Returns:
        :class:`LatentPlane` (``projected=True`` for K > 2).
    """
    K = flow.rank
    if K < 2:
        raise ValueError(f"a phase portrait needs K >= 2, got K = {K}")
    if K == 2:
        return LatentPlane.axes(2)
    rows = [np.asarray(d, dtype=np.float64).reshape(-1, K) for d in data if np.size(d)]
    pts = np.concatenate(rows) if rows else np.zeros((0, K))
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    labels = ("direction 1", "direction 2")
    if pts.shape[0] >= 3:
        mean = pts.mean(axis=0)
        _, sv, vt = np.linalg.svd(pts - mean, full_matrices=False)
        if sv.size >= 2 and sv[1] > min_spread * max(1.0, sv[0]):
            return LatentPlane(mean, _sign_fixed(vt[:2]), projected=True, labels=labels)
    # Without data: the latent coupling's leading directions.
    C = np.mean(np.asarray(flow.Nmat) @ np.asarray(flow.M), axis=tuple(range(flow.M.ndim - 2)))
    _, _, vt = np.linalg.svd(C)
    origin = pts.mean(axis=0) if pts.shape[0] else np.zeros(K)
    return LatentPlane(origin, _sign_fixed(vt[:2]), projected=True, labels=labels)


def _sign_fixed(vt: np.ndarray) -> np.ndarray:
    """Rows with their largest entry positive (a sign convention for reproducibility)."""
    out = vt.copy()
    for i in range(out.shape[0]):
        if out[i, np.argmax(np.abs(out[i]))] < 0:
            out[i] = -out[i]
    return out


def plane_limits(
    plane: LatentPlane,
    data: Sequence[Any] = (),
    *,
    pad: float = 0.15,
    min_width: float = 2.0,
    box: tuple[float, float] | None = None,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits that hold the data's projections, padded.

    Args:
        plane: the plane.
        data: arrays of latent points ``[..., K]`` (NaN ignored).
        pad: fraction of the span added on each side.
        min_width: smallest width of each axis.
        box: optional ``(lo, hi)`` the limits are clipped to (K = 2: the analysed box).

    Returns:
        ``((a_lo, a_hi), (b_lo, b_hi))``.
    """
    K = plane.rank
    rows = [np.asarray(d, dtype=np.float64).reshape(-1, K) for d in data if np.size(d)]
    pts = np.concatenate(rows) if rows else np.zeros((0, K))
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    ab = plane.to_plane(pts) if pts.shape[0] else np.zeros((1, 2))
    out = []
    for i in range(2):
        lo, hi = float(ab[:, i].min()), float(ab[:, i].max())
        w = hi - lo
        lo, hi = lo - pad * w, hi + pad * w
        if hi - lo < min_width:
            mid = 0.5 * (lo + hi)
            lo, hi = mid - min_width / 2, mid + min_width / 2
        if box is not None and not plane.projected:
            lo, hi = max(lo, box[0]), min(hi, box[1])
        out.append((lo, hi))
    return out[0], out[1]


@dataclasses.dataclass(frozen=True, eq=False)
class PlaneField:
    """The flow on a grid of a plane.

    Attributes:
        a, b: ``[n]`` grid coordinates along ``e_1`` and ``e_2``.
        flow: ``[n_b, n_a, 2]`` the flow projected on the plane ``(e_1 . F, e_2 . F)``
            (rows run along ``b``, as matplotlib's images and streamplot want).
        speed: ``[n_b, n_a]`` the full speed ``|F|``.
        plane: the plane.
    """

    a: np.ndarray
    b: np.ndarray
    flow: np.ndarray
    speed: np.ndarray
    plane: LatentPlane

    def points(self) -> np.ndarray:
        """``[n_b, n_a, K]`` the latent points of the grid."""
        A, B = np.meshgrid(self.a, self.b)
        return self.plane.from_plane(np.stack([A, B], axis=-1))


def plane_field(
    flow: LowRankFlow,
    plane: LatentPlane,
    limits: tuple[tuple[float, float], tuple[float, float]],
    n: int = 100,
) -> PlaneField:
    """``F`` on an ``n x n`` grid of ``plane`` within ``limits`` (one flow, batch ``()``).

    Args:
        flow: a single :class:`~ghostlearn.analysis.flows.LowRankFlow` (batch ``()``).
        plane: the plane (its ``K`` must be the flow's).
        limits: ``((a_lo, a_hi), (b_lo, b_hi))``.
        n: grid points per axis.

    Returns:
        :class:`PlaneField`.
    """
    if flow.batch_shape != ():
        raise ValueError(f"flow must be a single flow (batch ()), got batch {flow.batch_shape}")
    if plane.rank != flow.rank:
        raise ValueError(f"plane must have K = {flow.rank}, got {plane.rank}")
    a = np.linspace(*limits[0], n)
    b = np.linspace(*limits[1], n)
    A, B = np.meshgrid(a, b)
    pts = plane.from_plane(np.stack([A, B], axis=-1)).reshape(-1, flow.rank)
    F = flow(pts)
    proj = (F @ plane.basis.T).reshape(n, n, 2)
    speed = np.linalg.norm(F, axis=-1).reshape(n, n)
    return PlaneField(a=a, b=b, flow=proj, speed=speed, plane=plane)


def trial_start(flow: LowRankFlow, x0: float) -> np.ndarray:
    """``kappa(0) = Nmat x(0)`` for ``x(0) = x0`` in every unit: ``x0 Nmat 1``, ``[..., K]``."""
    return float(x0) * np.sum(np.asarray(flow.Nmat, dtype=np.float64), axis=-1)


def latent_trial(flow: LowRankFlow, kappa0: Any, *, D: float, n_steps: int) -> np.ndarray:
    """Latent trajectory of a trial, ``kappa(0) .. kappa(n_steps)``, under the flow's input.

    ``kappa(t+1) = (1 - D) kappa(t) + D Nmat tanh(M kappa(t) + W_in u + b)``: the Euler
    step ``D = dt / tau`` of the network, exact for ``kappa = Nmat x`` whatever the rest of
    ``x`` (:mod:`~ghostlearn.analysis.flows`).

    Args:
        flow: flows with batch shape ``[...]``.
        kappa0: ``[..., K]`` or ``[..., C, K]`` (``C`` conditions) starting points.
        D: Euler factor.
        n_steps: number of steps.

    Returns:
        ``[..., n_steps + 1, K]`` (or ``[..., C, n_steps + 1, K]``).
    """
    k = np.asarray(kappa0, dtype=np.float64)
    M = np.asarray(flow.M, dtype=np.float64)
    Nm = np.asarray(flow.Nmat, dtype=np.float64)
    c = np.asarray(flow.drive, dtype=np.float64)
    extra = k.ndim - (M.ndim - 1)  # 1 when conditions are given
    if extra not in (0, 1) or k.shape[-1] != flow.rank:
        raise ValueError(
            f"kappa0 must have shape {flow.batch_shape + (flow.rank,)} or "
            f"{flow.batch_shape + ('C', flow.rank)}, got {k.shape}"
        )
    if extra:
        M, Nm, c = M[..., None, :, :], Nm[..., None, :, :], c[..., None, :]
    out = [k]
    for _ in range(int(n_steps)):
        u = np.einsum("...nk,...k->...n", M, k) + c
        k = (1.0 - D) * k + D * np.einsum("...kn,...n->...k", Nm, np.tanh(u))
        out.append(k)
    return np.stack(out, axis=-2)


Readout = Callable[[np.ndarray], np.ndarray] | tuple[Any, Any, float]


def readout_values(readout: Readout, kappa: Any) -> np.ndarray:
    """The readout's boundary function at latent points: its zero set is the boundary.

    Args:
        readout: a callable ``g(kappa [..., K]) -> [...]`` (the boundary is ``g = 0``), or
            ``(w_out [K], b_out, threshold)`` (the line ``w_out . kappa + b_out =
            threshold``).
        kappa: ``[..., K]`` points.

    Returns:
        ``[...]`` values.
    """
    k = np.asarray(kappa, dtype=np.float64)
    if callable(readout):
        return np.asarray(readout(k), dtype=np.float64)
    if not (isinstance(readout, (tuple, list)) and len(readout) == 3):
        raise ValueError(
            "readout must be a callable g(kappa) (boundary g = 0) or (w_out, b_out, "
            f"threshold), got {type(readout).__name__}"
        )
    w, b0, thr = readout
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    if w.size != k.shape[-1]:
        raise ValueError(f"readout w_out must have K = {k.shape[-1]} entries, got {w.size}")
    return k @ w + float(b0) - float(thr)


def state_readout(
    flow: LowRankFlow, w_out: Any, b_out: float, threshold: float = 0.0
) -> Callable[[np.ndarray], np.ndarray]:
    """The readout ``w_out . x + b_out - threshold`` of the state at rest
    ``x = tanh(M kappa + W_in u + b)``, as a function of ``kappa`` (one flow)."""
    M = np.asarray(flow.M, dtype=np.float64)
    c = np.asarray(flow.drive, dtype=np.float64)
    w = np.asarray(w_out, dtype=np.float64)
    if w.shape != c.shape:
        raise ValueError(f"w_out must have shape {c.shape} (one weight per unit), got {w.shape}")

    def g(kappa: np.ndarray) -> np.ndarray:
        x = np.tanh(np.einsum("nk,...k->...n", M, kappa) + c)
        return x @ w + float(b_out) - float(threshold)

    return g
