"""Fixed points and ghost points of 1-D flows, batched over many flows.

Definitions (on an interval ``[lo, hi]``, default ``[-15, 15]``):

- A **fixed point** is a root of ``f``. It is *stable* where ``f`` goes from + to -
  (``f' < 0``), *unstable* where it goes from - to +, and *half-stable* where ``f``
  touches zero without crossing (a double root: a local minimum of ``|f|`` whose depth is
  at most ``tangency_tol``).
- A **ghost point** is a local minimum of ``|f|`` inside the interval that is not a root:
  ``f`` keeps its sign there, ``|f|`` has depth ``0 < d = |f(k*)|`` and curvature
  ``f''(k*)`` (of the sign of ``f``). Passing it takes ``t = pi tau / sqrt(d |f''| / 2)``
  (the saddle-node normal form ``tau dk/dt = d + |f''| k^2 / 2``; exact for ``x^2 + r``,
  asymptotically exact as ``d -> 0`` for any smooth flow).
- **Significance.** Every wiggle of ``f`` makes a local minimum of ``|f|``; only those with
  ``d < ghost_tol`` are reported as ghosts. The default ``ghost_tol = 0.5`` (units of
  kappa, as ``f = tau dkappa/dt``) comes from what a ghost does in the delayed-activation
  task, holding the latent state for about the delay ``T = 10 tau``, and from measured
  ghosts: in rank-one networks (N = 100; 100 trained at lr 0.02 and 8 at lr 0.003), the
  minima of ``|f|`` present around the abrupt drops (24 networks) were 0.02 to 0.51 deep
  with ``|f''|`` between 0.015 and 0.13 and passage times of 22 to 86 tau. At those
  curvatures any minimum shallower than 0.5 takes longer than ``T`` to pass (17 tau at
  ``d = 0.5``, ``|f''| = 0.13``), while the far field of the flow is ``|f| ~ |kappa|`` up
  to 15. ``ghost_tol = inf`` reports every local minimum of ``|f|``.

Two algorithms give the same points (pinned by tests):

- ``method="grid"``: ``f`` on ``n_grid`` equally spaced points; each sign change is
  refined to machine precision by bracket-safeguarded Newton; each grid local minimum of
  ``|f|`` without a sign change next to it is refined by golden section + Newton; when
  the refined minimum crosses zero (two roots closer than the grid spacing) both roots are
  refined; a minimum that reaches zero within ``tangency_tol`` is a half-stable fixed point.
- ``method="screen"`` (default; 10-50x faster, 13.6 evaluations of ``f`` per flow instead
  of about 1000 on trained networks): certified screening that starts from three points
  of the fine grid (``n_coarse`` cells) and refines only where needed. With ``L2 >= |f''|`` and ``L3 >= |f'''|`` on the whole line
  (``L2 = 0.77 sum|n| m^2``, ``L3 = 2 sum|n||m|^3``), a cell ``[a, b]`` of width ``w`` is
  (i) free of roots and of minima of ``|f|`` deeper than ``ghost_tol`` when ``f(a), f(b)``
  share a sign and ``min(|f(a)|, |f(b)|) - L2 w^2/8 > ghost_tol``; (ii) monotone when
  ``|f(b) - f(a)| > L2 w^2 / 2`` (then it holds exactly one root iff the signs differ,
  and no minimum); (iii) convex or concave when the second divided difference through its
  midpoint exceeds ``L3 w`` (at most one critical point: resolved exactly by Newton on
  ``f'``). Other cells are halved, down to the fine grid spacing, where the grid method's
  rule is applied as well (so the screen finds everything the grid finds, and occasionally
  a pair of critical points closer than the grid spacing that the grid misses). Rounding
  errors are added to every bound.

Results are :class:`FlowPoints`: padded arrays with the batch shape of the input flows,
plus a per-flow view (``points[i]``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from .. import _validate
from ._backend import FlowBackend, Rank1Backend, make_backend
from ._refine import bracketed_zero, golden_minimum
from .flows import Rank1Flow, SaddleNodeFlow

__all__ = [
    "DEFAULT_INTERVAL",
    "GHOST_TOL",
    "STABILITY_CODES",
    "FixedPoint",
    "FlowPoints",
    "GhostPoint",
    "PointsOfFlow",
    "find_points",
    "passage_time",
    "rank1_points",
]

DEFAULT_INTERVAL = (-15.0, 15.0)
#: Default significance threshold of ghost depth ``|f|`` (units of kappa), see the module
#: docstring for why 0.5.
GHOST_TOL = 0.5
TANGENCY_TOL = 1e-10

#: Codes of ``FlowPoints.fixed_stability``; 0 pads.
STABILITY_CODES = {1: "stable", 2: "unstable", 3: "half-stable"}
_STABLE, _UNSTABLE, _HALF = 1, 2, 3

Method = Literal["screen", "grid"]


def passage_time(depth: Any, curvature: Any, tau: float = 1.0) -> np.ndarray:
    """Time to pass a ghost: ``pi tau / sqrt(depth |f''| / 2)`` (inf where either is 0).

    For ``tau dk/dt = d + a k^2`` the time from ``-inf`` to ``+inf`` is ``pi tau /
    sqrt(a d)``, with ``a = |f''| / 2``.
    """
    d = np.asarray(depth, dtype=np.float64)
    c = np.abs(np.asarray(curvature, dtype=np.float64))
    prod = d * c / 2.0
    with np.errstate(divide="ignore"):
        return np.where(prod > 0, math.pi * tau / np.sqrt(np.where(prod > 0, prod, 1.0)), np.inf)


@dataclasses.dataclass(frozen=True)
class FixedPoint:
    """One fixed point of a 1-D flow: location, ``'stable'|'unstable'|'half-stable'``, f'."""

    kappa: float
    stability: str
    slope: float


@dataclasses.dataclass(frozen=True)
class GhostPoint:
    """One ghost: location, depth ``|f|``, curvature ``f''``, passage time (same units as tau)."""

    kappa: float
    depth: float
    curvature: float
    passage_time: float


@dataclasses.dataclass(frozen=True)
class PointsOfFlow:
    """The fixed points and ghosts of one flow, each sorted by kappa."""

    fixed_points: tuple[FixedPoint, ...]
    ghosts: tuple[GhostPoint, ...]

    @property
    def n_fixed(self) -> int:
        return len(self.fixed_points)

    @property
    def n_ghosts(self) -> int:
        return len(self.ghosts)


@dataclasses.dataclass(frozen=True, eq=False)
class FlowPoints:
    """Fixed points and ghosts of a batch of 1-D flows, as padded arrays.

    Shapes use the batch shape ``[...]`` of the flows; ``F`` and ``H`` are the largest
    numbers of fixed points and ghosts of any flow (padding: NaN, stability code 0).

    Attributes:
        fixed_kappa: ``[..., F]`` fixed points, ascending.
        fixed_stability: ``[..., F]`` int8 codes, see :data:`STABILITY_CODES`.
        fixed_slope: ``[..., F]`` ``f'`` at the fixed point (Newton's last derivative,
            evaluated within about ``1e-8`` of the root: relative accuracy ~1e-8).
        n_fixed: ``[...]`` number of distinct fixed points.
        ghost_kappa: ``[..., H]`` ghost locations, ascending.
        ghost_depth: ``[..., H]`` ``|f|`` at the ghost.
        ghost_curvature: ``[..., H]`` ``f''`` at the ghost.
        ghost_passage_time: ``[..., H]`` passage time with the given ``tau``.
        n_ghosts: ``[...]``.
        tau, interval, n_grid, ghost_tol, tangency_tol, method: the settings used.
        evaluations: point evaluations of ``f``, ``f'`` or ``f''`` spent (each one costs
            ``N`` tanh for a rank-one flow): the work measure of the benchmark.
    """

    fixed_kappa: np.ndarray
    fixed_stability: np.ndarray
    fixed_slope: np.ndarray
    n_fixed: np.ndarray
    ghost_kappa: np.ndarray
    ghost_depth: np.ndarray
    ghost_curvature: np.ndarray
    ghost_passage_time: np.ndarray
    n_ghosts: np.ndarray
    tau: float
    interval: tuple[float, float]
    n_grid: int
    ghost_tol: float
    tangency_tol: float
    method: str
    evaluations: int = 0

    def __repr__(self) -> str:
        nf, ng = np.asarray(self.n_fixed), np.asarray(self.n_ghosts)
        counts = (
            f"fixed points {nf.min()}-{nf.max()} per flow, ghosts {ng.min()}-{ng.max()}"
            if nf.size
            else "no flow"
        )
        return (
            f"FlowPoints(batch {self.batch_shape}, {counts}; kappa in "
            f"[{self.interval[0]:g}, {self.interval[1]:g}], method {self.method!r})"
        )

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.n_fixed.shape)

    @property
    def fixed_multiplicity(self) -> np.ndarray:
        """``[...]`` number of fixed points counted with multiplicity (half-stable = 2)."""
        return self.n_fixed + np.sum(self.fixed_stability == _HALF, axis=-1)

    @property
    def fixed_kinds(self) -> np.ndarray:
        """``[..., F]`` stability names of the fixed points (``''`` pads)."""
        names = np.array(["", *STABILITY_CODES.values()])
        return names[self.fixed_stability]

    @property
    def ghost_kinds(self) -> np.ndarray:
        """``[..., H]`` ``'ghost'`` for every ghost (``''`` pads)."""
        return np.where(np.isnan(self.ghost_kappa), "", "ghost")

    def count(self, stability: str) -> np.ndarray:
        """``[...]`` number of fixed points of one stability (``'stable'`` etc.)."""
        codes = {v: k for k, v in STABILITY_CODES.items()}
        if stability not in codes:
            raise ValueError(f"stability must be one of {tuple(codes)}, got {stability!r}")
        return np.sum(self.fixed_stability == codes[stability], axis=-1)

    def __len__(self) -> int:
        return self.batch_shape[0] if self.batch_shape else 1

    def __getitem__(self, index: Any) -> PointsOfFlow:
        """The points of one flow (an int, or a tuple of ints for a multi-dim batch)."""
        idx = index if isinstance(index, tuple) else (index,)
        if len(idx) != len(self.batch_shape):
            raise ValueError(
                f"index must have {len(self.batch_shape)} component(s) for batch shape "
                f"{self.batch_shape}, got {index!r}"
            )
        nf = int(self.n_fixed[idx])
        ng = int(self.n_ghosts[idx])
        fixed = tuple(
            FixedPoint(
                kappa=float(self.fixed_kappa[idx][j]),
                stability=STABILITY_CODES[int(self.fixed_stability[idx][j])],
                slope=float(self.fixed_slope[idx][j]),
            )
            for j in range(nf)
        )
        ghosts = tuple(
            GhostPoint(
                kappa=float(self.ghost_kappa[idx][j]),
                depth=float(self.ghost_depth[idx][j]),
                curvature=float(self.ghost_curvature[idx][j]),
                passage_time=float(self.ghost_passage_time[idx][j]),
            )
            for j in range(ng)
        )
        return PointsOfFlow(fixed_points=fixed, ghosts=ghosts)

    def __iter__(self) -> Iterator[PointsOfFlow]:
        for index in np.ndindex(*self.batch_shape):
            yield self[index]

    def to_dataset(self) -> Any:
        """The arrays as an ``xarray.Dataset`` (dims ``flow_*``, ``fixed``, ``ghost``)."""
        import xarray as xr

        bdims = tuple(f"flow_{i}" for i in range(len(self.batch_shape)))
        data = {
            "fixed_kappa": (bdims + ("fixed",), self.fixed_kappa),
            "fixed_stability": (bdims + ("fixed",), self.fixed_stability),
            "fixed_slope": (bdims + ("fixed",), self.fixed_slope),
            "n_fixed": (bdims, self.n_fixed),
            "ghost_kappa": (bdims + ("ghost",), self.ghost_kappa),
            "ghost_depth": (bdims + ("ghost",), self.ghost_depth),
            "ghost_curvature": (bdims + ("ghost",), self.ghost_curvature),
            "ghost_passage_time": (bdims + ("ghost",), self.ghost_passage_time),
            "n_ghosts": (bdims, self.n_ghosts),
        }
        attrs = {
            "tau": self.tau,
            "interval": list(self.interval),
            "n_grid": self.n_grid,
            "ghost_tol": self.ghost_tol,
            "tangency_tol": self.tangency_tol,
            "method": self.method,
            "stability_codes": str(STABILITY_CODES),
        }
        return xr.Dataset(data, attrs=attrs)


# --------------------------------------------------------------------------- collection


class _Collector:
    """Accumulates raw roots and minima (flat, with their flow index) for one chunk."""

    def __init__(self) -> None:
        self.root_rows: list[np.ndarray] = []
        self.root_lo: list[np.ndarray] = []
        self.root_hi: list[np.ndarray] = []
        self.root_flo: list[np.ndarray] = []
        self.root_fhi: list[np.ndarray] = []
        self.half_rows: list[np.ndarray] = []
        self.half_kappa: list[np.ndarray] = []
        self.min_rows: list[np.ndarray] = []
        self.min_kappa: list[np.ndarray] = []
        self.min_f: list[np.ndarray] = []
        self.min_d2f: list[np.ndarray] = []

    def bracket(
        self, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, flo: np.ndarray, fhi: np.ndarray
    ) -> None:
        self.root_rows.append(rows)
        self.root_lo.append(lo)
        self.root_hi.append(hi)
        self.root_flo.append(flo)
        self.root_fhi.append(fhi)

    def extremum(
        self,
        backend: FlowBackend,
        rows: np.ndarray,
        kc: np.ndarray,
        fc: np.ndarray,
        f_left: np.ndarray,
        f_right: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        tol: float,
        gtol: float,
    ) -> None:
        """Handle refined critical points ``kc`` (value ``fc``) inside ``[lo, hi]``.

        ``f_left``/``f_right`` are ``f`` at ``lo``/``hi``. A touch of zero is a half-stable
        root; a crossing gives roots on either side; a minimum of ``|f|`` is a ghost
        candidate.
        """
        touch = np.abs(fc) <= tol
        self.half_rows.append(rows[touch])
        self.half_kappa.append(kc[touch])
        cross_l = ~touch & ((f_left >= 0) != (fc >= 0))
        cross_r = ~touch & ((fc >= 0) != (f_right >= 0))
        self.bracket(rows[cross_l], lo[cross_l], kc[cross_l], f_left[cross_l], fc[cross_l])
        self.bracket(rows[cross_r], kc[cross_r], hi[cross_r], fc[cross_r], f_right[cross_r])
        cand = ~touch & (np.abs(fc) < gtol)
        if np.any(cand):
            d2 = backend.at(rows[cand], kc[cand], 2)
            is_min = fc[cand] * d2 > 0
            sel = np.flatnonzero(cand)[is_min]
            self.min_rows.append(rows[sel])
            self.min_kappa.append(kc[sel])
            self.min_f.append(fc[sel])
            self.min_d2f.append(d2[is_min])


def _cat(parts: list[np.ndarray], dtype: Any = np.float64) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


# --------------------------------------------------------------------------- grid method


def _grid_chunk(
    backend: FlowBackend, kgrid: np.ndarray, col: _Collector, tol: float, gtol: float
) -> None:
    fg = backend.grid(kgrid)
    pos = fg >= 0
    # Roots: sign changes between neighbours.
    rr, jj = np.nonzero(pos[:, :-1] != pos[:, 1:])
    col.bracket(rr, kgrid[jj], kgrid[jj + 1], fg[rr, jj], fg[rr, jj + 1])
    rr, jj = np.nonzero(np.ones(fg[:, 1:-1].shape, dtype=bool))
    _grid_minima(backend, kgrid, rr, jj + 1, fg[:, :-2].ravel(), fg[:, 1:-1].ravel(),
                 fg[:, 2:].ravel(), col, tol, gtol)  # fmt: skip


def _grid_minima(
    backend: FlowBackend,
    kgrid: np.ndarray,
    rows: np.ndarray,
    j: np.ndarray,
    f0: np.ndarray,
    f1: np.ndarray,
    f2: np.ndarray,
    col: _Collector,
    tol: float,
    gtol: float,
) -> None:
    """The grid rule: ``|f|`` at grid point ``j`` (value ``f1``) below its left neighbour
    (``f0``) and not above its right one (``f2``), with no sign change among the three, is a
    candidate minimum, refined inside ``[k_{j-1}, k_{j+1}]``."""
    p0, p1, p2 = f0 >= 0, f1 >= 0, f2 >= 0
    a0, a1, a2 = np.abs(f0), np.abs(f1), np.abs(f2)
    cand = (a1 < a0) & (a1 <= a2) & (p0 == p1) & (p1 == p2)
    # |f| cannot dip below min(|f0|, |f1|, |f2|) - L2 (2h)^2 / 8 inside [k_{j-1}, k_{j+1}]:
    # skip refining minima that are certainly not deep enough to be reported.
    h = kgrid[1] - kgrid[0]
    floor = a1 - 0.5 * backend.curvature_bound[rows] * h * h - backend.round_off[rows]
    cand &= floor < max(gtol, tol)
    if not np.any(cand):
        return
    rows, j, f0, f1, f2 = rows[cand], j[cand], f0[cand], f1[cand], f2[cand]
    sign = np.where(f1 >= 0, 1.0, -1.0)
    lo, hi = kgrid[j - 1], kgrid[j + 1]
    kc = golden_minimum(backend, rows, lo, kgrid[j], hi, sign)
    fc = backend.at(rows, kc, 0)
    col.extremum(backend, rows, kc, fc, f0, f2, lo, hi, tol, gtol)


# --------------------------------------------------------------------------- screen method


def _coarse_indices(n_grid: int, n_cells: int) -> np.ndarray:
    stride = max(1, 1 << int(np.floor(np.log2(max((n_grid - 1) / n_cells, 1.0)))))
    idx = np.arange(0, n_grid - 1, stride)
    return np.append(idx, n_grid - 1)


#: Cells of the screen, flat over flows: ``(rows, ia, ib, fa, fb)``, the flow of each
#: cell, the grid indices of its ends and ``f`` there.
_Cells = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _screen_chunk(
    backend: FlowBackend,
    kgrid: np.ndarray,
    col: _Collector,
    tol: float,
    gtol: float,
    n_cells: int,
) -> None:
    """The screen method on one chunk of flows: from the coarse cells down, each cell is
    certified free of points, certified to hold one root, halved, or left to the
    resolution of convex and of one-step cells (see the module docstring)."""
    thr = max(gtol, tol)
    cells = _coarse_cells(backend, kgrid, n_cells)
    act = _classify_cells(backend, kgrid, col, thr, cells)
    convex, fine = _halve_cells(backend, kgrid, col, thr, tuple(a[act] for a in cells))
    if fine:
        _fine_cell_minima(backend, kgrid, col, tol, gtol, fine)
    if convex:
        _convex_cell_points(backend, kgrid, col, tol, gtol, convex)


def _coarse_cells(backend: FlowBackend, kgrid: np.ndarray, n_cells: int) -> _Cells:
    """About ``n_cells`` cells per flow, their ends on the grid ``kgrid``."""
    ci = _coarse_indices(kgrid.size, n_cells)
    fc0 = backend.grid(kgrid[ci])
    n_flows, n_pts = fc0.shape
    rows = np.repeat(np.arange(n_flows), n_pts - 1)
    ia = np.tile(ci[:-1], n_flows)
    ib = np.tile(ci[1:], n_flows)
    return rows, ia, ib, fc0[:, :-1].ravel(), fc0[:, 1:].ravel()


def _classify_cells(
    backend: FlowBackend, kgrid: np.ndarray, col: _Collector, thr: float, cells: _Cells
) -> np.ndarray:
    """Rules (i) and (ii) of the screen: the bracket of a monotone cell whose ends differ
    in sign goes to ``col``; returns the mask of the cells neither rule settles."""
    rows, ia, ib, fa, fb = cells
    w = kgrid[ib] - kgrid[ia]
    l2 = backend.curvature_bound[rows] * (1.0 + 1e-12)
    e = backend.round_off[rows]
    same = (fa >= 0) == (fb >= 0)
    mono = np.abs(fb - fa) > 0.5 * l2 * w * w + 2.0 * e
    lbf = np.minimum(np.abs(fa), np.abs(fb)) - 0.125 * l2 * w * w - e
    excl = same & (mono | (lbf > thr))
    root1 = ~same & mono
    if np.any(root1):
        s = root1
        col.bracket(rows[s], kgrid[ia[s]], kgrid[ib[s]], fa[s], fb[s])
    return ~(excl | root1)


def _halve_cells(
    backend: FlowBackend, kgrid: np.ndarray, col: _Collector, thr: float, cells: _Cells
) -> tuple[list[_Cells], list[tuple[np.ndarray, np.ndarray]]]:
    """Halve the unsettled ``cells`` until each is settled, convex or concave (rule
    (iii)), or one grid step wide.

    Returns:
        The cells resolved as convex ones: those certified so and the one-step cells;
        and the one-step cells alone, as ``(rows, ia)``. Both as lists of parts.
    """
    L3 = backend.third_bound
    eps = backend.round_off
    rows, ia, ib, fa, fb = cells
    conv_parts: list[_Cells] = []
    fine_parts: list[tuple[np.ndarray, np.ndarray]] = []
    while rows.size:
        fine = ib - ia < 2
        if np.any(fine):
            conv_parts.append((rows[fine], ia[fine], ib[fine], fa[fine], fb[fine]))
            fine_parts.append((rows[fine], ia[fine]))
            keep = ~fine
            rows, ia, ib, fa, fb = rows[keep], ia[keep], ib[keep], fa[keep], fb[keep]
            if rows.size == 0:
                break
        im = (ia + ib) // 2
        fm = backend.at(rows, kgrid[im], 0)
        ka, km, kb = kgrid[ia], kgrid[im], kgrid[ib]
        w = kb - ka
        d2 = 2.0 * ((fb - fm) / (kb - km) - (fm - fa) / (km - ka)) / w
        e = eps[rows]
        d2_err = 8.0 * e / (np.minimum(km - ka, kb - km) * w)
        convex = np.abs(d2) > L3[rows] * (1.0 + 1e-12) * w + d2_err
        if np.any(convex):
            conv_parts.append((rows[convex], ia[convex], ib[convex], fa[convex], fb[convex]))
        split = ~convex
        rows, ia, im, ib = rows[split], ia[split], im[split], ib[split]
        fa, fm, fb = fa[split], fm[split], fb[split]
        halves = (
            np.concatenate([rows, rows]),
            np.concatenate([ia, im]),
            np.concatenate([im, ib]),
            np.concatenate([fa, fm]),
            np.concatenate([fm, fb]),
        )
        act = _classify_cells(backend, kgrid, col, thr, halves)
        rows, ia, ib, fa, fb = (a[act] for a in halves)
    return conv_parts, fine_parts


def _fine_cell_minima(
    backend: FlowBackend,
    kgrid: np.ndarray,
    col: _Collector,
    tol: float,
    gtol: float,
    fine_parts: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    """The grid rule at the ends of the unsettled one-step cells ``(rows, ia)``, so that the
    screen finds everything the full grid finds."""
    fr = np.concatenate([p[0] for p in fine_parts])
    fj = np.concatenate([p[1] for p in fine_parts])
    pts = np.unique(np.stack([np.concatenate([fr, fr]), np.concatenate([fj, fj + 1])]), axis=1)
    r, j = pts[0], pts[1]
    inner = (j >= 1) & (j <= kgrid.size - 2)
    r, j = r[inner], j[inner]
    if r.size:
        vals = backend.at(r, kgrid[np.stack([j - 1, j, j + 1], axis=1)], 0)
        _grid_minima(backend, kgrid, r, j, vals[:, 0], vals[:, 1], vals[:, 2], col, tol, gtol)


def _convex_cell_points(
    backend: FlowBackend,
    kgrid: np.ndarray,
    col: _Collector,
    tol: float,
    gtol: float,
    conv_parts: list[_Cells],
) -> None:
    """The roots and the critical point of each convex (or concave) cell: a root bracket
    when ``f`` is monotone there, else the critical point, resolved by Newton on ``f'``."""
    rows = np.concatenate([p[0] for p in conv_parts])
    ka = kgrid[np.concatenate([p[1] for p in conv_parts])]
    kb = kgrid[np.concatenate([p[2] for p in conv_parts])]
    fa = np.concatenate([p[3] for p in conv_parts])
    fb = np.concatenate([p[4] for p in conv_parts])
    # At most one critical point per cell: it exists iff f' changes sign.
    d = backend.at(rows, np.stack([ka, kb], axis=1), 1)
    crit = (d[:, 0] >= 0) != (d[:, 1] >= 0)
    mono = ~crit & ((fa >= 0) != (fb >= 0))
    col.bracket(rows[mono], ka[mono], kb[mono], fa[mono], fb[mono])
    if not np.any(crit):
        return
    rows, ka, kb, fa, fb, d = rows[crit], ka[crit], kb[crit], fa[crit], fb[crit], d[crit]
    kc, _ = bracketed_zero(
        backend, 1, rows, ka, kb, d[:, 0], d[:, 1], g2_bound=backend.third_bound[rows]
    )
    fc = backend.at(rows, kc, 0)
    col.extremum(backend, rows, kc, fc, fa, fb, ka, kb, tol, gtol)


# --------------------------------------------------------------------------- assembly


def _finish_chunk(backend: FlowBackend, col: _Collector, dedup: float) -> tuple[np.ndarray, ...]:
    rows = _cat(col.root_rows, np.int64)
    lo, hi = _cat(col.root_lo), _cat(col.root_hi)
    flo, fhi = _cat(col.root_flo), _cat(col.root_fhi)
    roots, slopes = bracketed_zero(
        backend, 0, rows, lo, hi, flo, fhi, g2_bound=backend.curvature_bound[rows]
    )
    # Orientation of the bracket gives the stability: + then - is stable.
    left_pos = np.where(lo <= hi, flo >= 0, fhi >= 0)
    stab = np.where(left_pos, _STABLE, _UNSTABLE).astype(np.int8)
    hrows = _cat(col.half_rows, np.int64)
    hk = _cat(col.half_kappa)
    f_rows = np.concatenate([rows, hrows])
    f_k = np.concatenate([roots, hk])
    f_stab = np.concatenate([stab, np.full(hrows.size, _HALF, np.int8)])
    # The slope at a root is Newton's last derivative; half-stable points get their own.
    f_slope = np.concatenate([slopes, backend.at(hrows, hk, 1)])
    keep = _dedup(f_rows, f_k, dedup)
    f_rows, f_k, f_stab, f_slope = f_rows[keep], f_k[keep], f_stab[keep], f_slope[keep]
    missing = ~np.isfinite(f_slope)
    if np.any(missing):
        f_slope[missing] = backend.at(f_rows[missing], f_k[missing], 1)
    g_rows = _cat(col.min_rows, np.int64)
    g_k = _cat(col.min_kappa)
    g_f = _cat(col.min_f)
    g_d2 = _cat(col.min_d2f)
    keep = _dedup(g_rows, g_k, dedup)
    return f_rows, f_k, f_stab, f_slope, g_rows[keep], g_k[keep], np.abs(g_f[keep]), g_d2[keep]


def _dedup(rows: np.ndarray, k: np.ndarray, tol: float) -> np.ndarray:
    """Indices of the points to keep, sorted by (row, kappa), one per cluster closer than tol."""
    order = np.lexsort((k, rows))
    r, kk = rows[order], k[order]
    dup = np.zeros(order.size, dtype=bool)
    if order.size > 1:
        dup[1:] = (r[1:] == r[:-1]) & (np.abs(kk[1:] - kk[:-1]) <= tol)
    return order[~dup]


def _pad(
    rows: np.ndarray, values: list[np.ndarray], n_flows: int, fill: list[Any]
) -> tuple[np.ndarray, list[np.ndarray]]:
    counts = np.bincount(rows, minlength=n_flows)
    width = int(counts.max()) if counts.size else 0
    # rows are sorted: position within each flow = running index minus the flow's start.
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(rows.size) - starts[rows]
    out = []
    for v, f in zip(values, fill, strict=True):
        a = np.full((n_flows, width), f, dtype=v.dtype)
        a[rows, pos] = v
        out.append(a)
    return counts, out


def find_points(
    flow: Rank1Flow | SaddleNodeFlow,
    *,
    interval: tuple[float, float] = DEFAULT_INTERVAL,
    n_grid: int = 1000,
    tau: float = 10.0,
    ghost_tol: float = GHOST_TOL,
    tangency_tol: float = TANGENCY_TOL,
    method: Method = "screen",
    chunk_size: int = 8192,
    n_coarse: int = 1,
) -> FlowPoints:
    """Fixed points (with stability) and ghost points of a batch of 1-D flows.

    See the module docstring for the definitions and the two methods.

    Args:
        flow: a :class:`~ghostlearn.analysis.flows.Rank1Flow` (``[..., N]`` parameters) or a
            :class:`~ghostlearn.analysis.flows.SaddleNodeFlow`.
        interval: ``(lo, hi)`` searched; points outside are not reported.
        n_grid: number of grid points (the resolution of ``method="grid"`` and the finest
            cell of ``method="screen"``); at least 3.
        tau: time constant used for the passage times (``tau dkappa/dt = f``).
        ghost_tol: significance threshold of ghost depth (kappa units); ``inf`` for all
            minima of ``|f|``.
        tangency_tol: a minimum of ``|f|`` at most this deep is a (half-stable) double root.
        method: ``"screen"`` or ``"grid"``.
        chunk_size: flows evaluated together (bounds the memory used).
        n_coarse: about how many coarse cells the screen starts from.

    Returns:
        :class:`FlowPoints` with the batch shape of ``flow``.

    Raises:
        ValueError: for a bad flow or setting, naming it.
    """
    if not isinstance(flow, (Rank1Flow, SaddleNodeFlow)):
        raise ValueError(f"flow must be a Rank1Flow or a SaddleNodeFlow, got {type(flow).__name__}")
    _validate.interval("interval", interval)
    _validate.at_least("n_grid", n_grid, 3)
    _validate.positive("tau", tau)
    _validate.one_of("method", method, ("screen", "grid"))
    _validate.at_least("chunk_size", chunk_size, 1)
    _validate.at_least("n_coarse", n_coarse, 1)
    if not (isinstance(ghost_tol, (int, float)) and ghost_tol >= 0) or math.isnan(ghost_tol):
        raise ValueError(f"ghost_tol must be >= 0 (inf allowed), got {ghost_tol!r}")
    _validate.finite("tangency_tol", tangency_tol)
    if tangency_tol < 0:
        raise ValueError(f"tangency_tol must be >= 0, got {tangency_tol}")
    lo, hi = (float(v) for v in interval)
    kgrid = np.linspace(lo, hi, n_grid)
    kmax = max(abs(lo), abs(hi))
    # Two refinements of one point agree to ~1e-13; distinct points are never that close.
    dedup = 1e-9 * (hi - lo)
    batch_shape = flow.batch_shape
    flat = flow.flat()
    n_flows = flat.size
    parts: list[tuple[np.ndarray, ...]] = []
    evaluations = 0
    for start in range(0, n_flows, chunk_size):
        stop = min(start + chunk_size, n_flows)
        backend: FlowBackend
        if isinstance(flat, Rank1Flow):
            sl = slice(start, stop)
            backend = Rank1Backend(flat.m[sl], flat.n[sl], flat.b[sl], kmax)
        else:
            backend = make_backend(SaddleNodeFlow(flat.r[start:stop]), kmax)
        col = _Collector()
        if method == "grid":
            _grid_chunk(backend, kgrid, col, tangency_tol, ghost_tol)
        else:
            _screen_chunk(backend, kgrid, col, tangency_tol, ghost_tol, n_coarse)
        res = _finish_chunk(backend, col, dedup)
        evaluations += int(getattr(backend, "evaluations", 0))
        parts.append((res[0] + start, *res[1:4], res[4] + start, *res[5:]))

    f_rows = np.concatenate([p[0] for p in parts])
    g_rows = np.concatenate([p[4] for p in parts])
    n_fixed, (fk, fs, fsl) = _pad(
        f_rows,
        [np.concatenate([p[i] for p in parts]) for i in (1, 2, 3)],
        n_flows,
        [np.nan, 0, np.nan],
    )
    g_depth = np.concatenate([p[6] for p in parts])
    g_curv = np.concatenate([p[7] for p in parts])
    n_ghosts, (gk, gd, gc) = _pad(
        g_rows,
        [np.concatenate([p[5] for p in parts]), g_depth, g_curv],
        n_flows,
        [np.nan, np.nan, np.nan],
    )
    gt = passage_time(gd, gc, float(tau))
    gt = np.where(np.isnan(gd), np.nan, gt)

    def shaped(a: np.ndarray) -> np.ndarray:
        return a.reshape(batch_shape + a.shape[1:])

    return FlowPoints(
        fixed_kappa=shaped(fk),
        fixed_stability=shaped(fs),
        fixed_slope=shaped(fsl),
        n_fixed=shaped(n_fixed),
        ghost_kappa=shaped(gk),
        ghost_depth=shaped(gd),
        ghost_curvature=shaped(gc),
        ghost_passage_time=shaped(gt),
        n_ghosts=shaped(n_ghosts),
        tau=float(tau),
        interval=(lo, hi),
        n_grid=int(n_grid),
        ghost_tol=float(ghost_tol),
        tangency_tol=float(tangency_tol),
        method=method,
        evaluations=evaluations,
    )


def rank1_points(m: Any, n: Any, b: Any, **kwargs: Any) -> FlowPoints:
    """:func:`find_points` of the rank-one flows with parameters ``m, n, b`` ``[..., N]``."""
    return find_points(Rank1Flow(m, n, b), **kwargs)
