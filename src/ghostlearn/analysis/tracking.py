"""Following fixed points and ghosts across training, and the events between snapshots.

Input: per snapshot ``s`` (epochs ``e_s``, increasing) a set of points, each a location
``kappa`` in R^D (D = 1 for rank one, K for rank K) with a kind (``'stable'``,
``'unstable'``, ``'half-stable'``, ``'saddle'``, ``'marginal'`` or ``'ghost'``).

Points come as padded arrays per snapshot (``[S, P]`` or ``[S, P, D]`` locations with NaN
padding, ``[S, P]`` kind names with ``''`` padding), as the point finders return them.

- **Tracks.** Points of consecutive snapshots are matched by the assignment that
  minimises the total distance (Hungarian, ``scipy.optimize.linear_sum_assignment``);
  pairs farther apart than ``max_jump`` are not linked. Fixed points and ghosts are
  tracked separately.
- **Bifurcations.** The number of fixed points (counted with multiplicity: a half-stable
  point, or a marginal point in K-D, counts twice) changes between snapshots ``s-1`` and
  ``s``; the event is reported with the bracketing epochs ``(e_{s-1}, e_s]``. The points
  left unmatched are those that appeared or vanished. Kinds: ``'saddle-node'`` (an even
  change whose unmatched points include two of different stability, or a half-stable or
  marginal point), ``'boundary'`` (one point crossing an end of the interval, within
  ``max_jump`` of it: not a bifurcation), or
  ``'other'``.
- **Ghost events.** A ghost track starting after the first snapshot is an emergence, one
  ending before the last is a disappearance. An emergence bracketed like a saddle-node
  vanishing within ``max_jump`` of it is flagged ``at_bifurcation`` (the ghost is the
  remnant of the pair; Strogatz's bottleneck); otherwise the ghost formed without one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "Bifurcation",
    "GhostEvent",
    "Track",
    "find_bifurcations",
    "ghost_events",
    "match_points",
    "track_points",
]

_STABILITY_KINDS = ("stable", "unstable", "half-stable", "saddle", "marginal")
#: Kinds counted twice: a double root (1-D half-stable point, K-D marginal point).
_DOUBLE_KINDS = ("half-stable", "marginal")


def _fmt_kappa(k: np.ndarray) -> str:
    k = np.atleast_1d(k)
    return f"{k[0]:.3g}" if k.size == 1 else "(" + ", ".join(f"{v:.3g}" for v in k) + ")"


@dataclasses.dataclass(frozen=True, eq=False)
class Track:
    """One fixed point or ghost followed over consecutive snapshots.

    Attributes:
        id: running number (unique within a category).
        category: ``'fixed'`` or ``'ghost'``.
        snapshots: ``[T]`` consecutive snapshot indices.
        epochs: ``[T]`` their epochs.
        kappa: ``[T, D]`` locations.
        kinds: the kind at each snapshot.
        depth: ``[T]`` ghost depth ``|f|`` at each snapshot (NaN where unknown).
    """

    id: int
    category: str
    snapshots: np.ndarray
    epochs: np.ndarray
    kappa: np.ndarray
    kinds: tuple[str, ...]
    depth: np.ndarray

    def __repr__(self) -> str:
        kinds = "/".join(sorted(set(self.kinds)))
        return (
            f"Track({self.category} #{self.id}, {kinds}, {self.snapshots.size} snapshots, "
            f"epochs {self.start_epoch:g}-{self.end_epoch:g}, "
            f"kappa {_fmt_kappa(self.kappa[0])} -> {_fmt_kappa(self.kappa[-1])})"
        )

    @property
    def start_epoch(self) -> float:
        return float(self.epochs[0])

    @property
    def end_epoch(self) -> float:
        return float(self.epochs[-1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "start_epoch": self.start_epoch,
            "end_epoch": self.end_epoch,
            "n_snapshots": int(self.snapshots.size),
            "kappa_start": self.kappa[0].tolist(),
            "kappa_end": self.kappa[-1].tolist(),
            "kinds": sorted(set(self.kinds)),
        }


@dataclasses.dataclass(frozen=True)
class Bifurcation:
    """A change of the number of fixed points between two snapshots.

    Attributes:
        kind: ``'saddle-node'``, ``'boundary'`` or ``'other'``.
        direction: ``'appear'`` or ``'vanish'``.
        snapshot: index of the first snapshot after the change.
        epoch_before, epoch_after: the bracketing snapshot epochs.
        kappa: mean location of the points that appeared or vanished.
        n_fixed_before, n_fixed_after: counts with multiplicity.
        kinds: kinds of the points that appeared or vanished.
    """

    kind: str
    direction: str
    snapshot: int
    epoch_before: float
    epoch_after: float
    kappa: tuple[float, ...]
    n_fixed_before: int
    n_fixed_after: int
    kinds: tuple[str, ...]

    @property
    def is_bifurcation(self) -> bool:
        """False for a point merely crossing an end of the analysed interval."""
        return self.kind_is_bifurcation(self.kind)

    @staticmethod
    def kind_is_bifurcation(kind: str) -> bool:
        """Whether a change of this ``kind`` is a bifurcation (not a boundary crossing)."""
        return kind != "boundary"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"kappa": list(self.kappa), "kinds": list(self.kinds)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bifurcation:
        """The inverse of :meth:`to_dict`: a bifurcation read back from stored JSON."""
        from ..store import from_jsonable

        out: Bifurcation = from_jsonable(cls, data, where="bifurcation")
        return out


@dataclasses.dataclass(frozen=True)
class GhostEvent:
    """A ghost appearing (``'emerge'``) or disappearing (``'vanish'``) between snapshots.

    ``epoch_before`` is None for a ghost present from the first snapshot (``'present'``).
    """

    kind: str
    snapshot: int
    epoch_before: float | None
    epoch_after: float
    kappa: tuple[float, ...]
    depth: float | None
    at_bifurcation: bool
    track: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"kappa": list(self.kappa)}


def match_points(
    a: np.ndarray, b: np.ndarray, max_jump: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal matching of point sets ``a [P, D]`` and ``b [Q, D]`` by total distance.

    Returns:
        ``(ia, ib)``: matched index pairs; pairs farther apart than ``max_jump`` are dropped.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    ia, ib = linear_sum_assignment(cost)
    ok = cost[ia, ib] <= max_jump
    return ia[ok], ib[ok]


def _as_points(
    epochs: Any, kappa: Any, kinds: Any, depth: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate padded per-snapshot points; returns epochs, kappa [S,P,D], kinds, valid, depth."""
    ep = np.asarray(epochs, dtype=np.float64)
    k = np.asarray(kappa, dtype=np.float64)
    if k.ndim == 2:
        k = k[..., None]
    if k.ndim != 3:
        raise ValueError(f"kappa must have shape (S, P) or (S, P, D), got {np.shape(kappa)}")
    if ep.shape != k.shape[:1]:
        raise ValueError(f"epochs must have shape ({k.shape[0]},), got {ep.shape}")
    kd = np.asarray(kinds, dtype=str)
    if kd.shape != k.shape[:2]:
        raise ValueError(f"kinds must have shape {k.shape[:2]}, got {kd.shape}")
    valid = (kd != "") & np.all(np.isfinite(k), axis=-1)
    dp = np.full(k.shape[:2], np.nan) if depth is None else np.asarray(depth, dtype=np.float64)
    if dp.shape != k.shape[:2]:
        raise ValueError(f"depth must have shape {k.shape[:2]}, got {dp.shape}")
    return ep, k, kd, valid, dp


def _match_step(a: np.ndarray, b: np.ndarray, max_jump: float) -> tuple[np.ndarray, np.ndarray]:
    # In 1-D, two sorted sets of equal size are matched optimally in order.
    if a.shape[0] == b.shape[0] and a.shape[-1] == 1:
        d = np.abs(a[:, 0] - b[:, 0])
        if np.all(np.diff(a[:, 0]) >= 0) and np.all(np.diff(b[:, 0]) >= 0):
            ok = d <= max_jump
            idx = np.arange(a.shape[0])
            return idx[ok], idx[ok]
    return match_points(a, b, max_jump)


def track_points(
    epochs: Any,
    kappa: Any,
    kinds: Any,
    *,
    depth: Any = None,
    category: str = "fixed",
    max_jump: float = np.inf,
) -> list[Track]:
    """Link points of consecutive snapshots into tracks (see the module docstring).

    Args:
        epochs: ``[S]`` snapshot epochs.
        kappa: ``[S, P]`` (1-D) or ``[S, P, D]`` padded point locations (NaN pads).
        kinds: ``[S, P]`` kind names (``''`` pads).
        depth: ``[S, P]`` optional ghost depths.
        category: label stored on the tracks.
        max_jump: largest distance linked between consecutive snapshots.

    Returns:
        Tracks ordered by their first snapshot.
    """
    ep, k, kd, valid, dp = _as_points(epochs, kappa, kinds, depth)
    S, P = valid.shape
    ids = np.full((S, P), -1, np.int64)
    # Runs of snapshots whose 1-D points are left-aligned, sorted, equal in number and
    # each within max_jump of its predecessor keep their identities without any
    # matching: only the snapshots that start a new run go through the assignment.
    cont = np.zeros(S, dtype=bool)
    counts = valid.sum(axis=1)
    aligned = np.all(valid == (np.arange(P)[None, :] < counts[:, None]), axis=1)
    if k.shape[-1] == 1 and S > 1:
        k1 = k[..., 0]
        with np.errstate(invalid="ignore"):
            sorted_ok = np.all(~(np.diff(k1, axis=1) < 0), axis=1) if P > 1 else np.ones(S, bool)
            close = np.all(~valid[1:] | (np.abs(k1[1:] - k1[:-1]) <= max_jump), axis=1)
        cont[1:] = (counts[1:] == counts[:-1]) & aligned[1:] & aligned[:-1] & close
        cont[1:] &= sorted_ok[1:] & sorted_ok[:-1]
    run_starts = np.flatnonzero(~cont)
    run_stops = np.append(run_starts[1:], S)
    next_id = 0
    for s, stop in zip(run_starts, run_stops, strict=True):
        cur_idx = np.flatnonzero(valid[s])
        if s > 0 and cur_idx.size:
            prev_idx = np.flatnonzero(valid[s - 1])
            if prev_idx.size:
                ia, ib = _match_step(k[s - 1, prev_idx], k[s, cur_idx], max_jump)
                ids[s, cur_idx[ib]] = ids[s - 1, prev_idx[ia]]
        new = cur_idx[ids[s, cur_idx] < 0]
        ids[s, new] = np.arange(next_id, next_id + new.size)
        next_id += new.size
        if stop > s + 1:
            ids[s + 1 : stop] = np.where(valid[s + 1 : stop], ids[s][None, :], -1)
    ss, jj = np.nonzero(ids >= 0)
    tid = ids[ss, jj]
    order = np.lexsort((ss, tid))
    ss, jj, tid = ss[order], jj[order], tid[order]
    bounds = np.flatnonzero(np.diff(tid)) + 1
    groups = np.split(np.arange(tid.size), bounds) if tid.size else []
    groups.sort(key=lambda g: (ss[g[0]], tid[g[0]]))
    tracks = []
    for new_id, g in enumerate(groups):
        snaps = ss[g]
        tracks.append(
            Track(
                id=new_id,
                category=category,
                snapshots=snaps,
                epochs=ep[snaps],
                kappa=k[snaps, jj[g]],
                kinds=tuple(kd[snaps, jj[g]].tolist()),
                depth=dp[snaps, jj[g]],
            )
        )
    return tracks


def find_bifurcations(
    epochs: Any,
    kappa: Any,
    kinds: Any,
    *,
    interval: tuple[float, float] | None = None,
    max_jump: float = np.inf,
) -> list[Bifurcation]:
    """Changes of the number of fixed points between consecutive snapshots.

    Args:
        epochs: ``[S]`` snapshot epochs.
        kappa: ``[S, P]`` or ``[S, P, D]`` padded fixed-point locations (ghosts excluded).
        kinds: ``[S, P]`` their stabilities (``''`` pads).
        interval: the analysed ``(lo, hi)`` (per coordinate); a single point appearing or
            vanishing within ``max_jump`` of an end is a ``'boundary'`` event.
        max_jump: largest distance linked between consecutive snapshots (also the
            distance to an end that makes a ``'boundary'`` event).

    Returns:
        Events in epoch order.
    """
    ep, k, kd, valid, _ = _as_points(epochs, kappa, kinds, None)
    half = np.isin(kd, _DOUBLE_KINDS)
    mult = np.sum(valid, axis=1) + np.sum(valid & half, axis=1)
    edge = max_jump if np.isfinite(max_jump) else 0.0
    events: list[Bifurcation] = []
    for s in np.flatnonzero(np.diff(mult)) + 1:
        before, after = int(mult[s - 1]), int(mult[s])
        pi, ci = np.flatnonzero(valid[s - 1]), np.flatnonzero(valid[s])
        ia, ib = _match_step(k[s - 1, pi], k[s, ci], max_jump)
        # A double point matched to an ordinary one changed multiplicity: count it too.
        changed = half[s - 1, pi[ia]] != half[s, ci[ib]]
        direction = "appear" if after > before else "vanish"
        side_s, side_idx, matched = (s, ci, ib) if after > before else (s - 1, pi, ia)
        mask = np.ones(side_idx.size, dtype=bool)
        mask[matched] = False
        mask[matched[changed]] = True
        pts = k[side_s, side_idx[mask]]
        kinds_u = tuple(kd[side_s, side_idx[mask]].tolist())
        loc = pts.mean(axis=0) if pts.shape[0] else np.full(k.shape[-1], np.nan)
        near_edge = False
        if interval is not None and pts.shape[0] == 1:
            lo, hi = interval
            near_edge = bool(np.any((pts[0] - lo <= edge) | (hi - pts[0] <= edge)))
        delta = abs(after - before)
        distinct = {x for x in kinds_u if x in _STABILITY_KINDS}
        if any(x in _DOUBLE_KINDS for x in kinds_u) or (delta % 2 == 0 and len(distinct) >= 2):
            kind = "saddle-node"
        elif delta == 1 and near_edge:
            kind = "boundary"
        else:
            kind = "other"
        events.append(
            Bifurcation(
                kind=kind,
                direction=direction,
                snapshot=int(s),
                epoch_before=float(ep[s - 1]),
                epoch_after=float(ep[s]),
                kappa=tuple(float(v) for v in loc),
                n_fixed_before=before,
                n_fixed_after=after,
                kinds=kinds_u,
            )
        )
    return events


def ghost_events(
    epochs: Any,
    tracks: Sequence[Track],
    bifurcations: Sequence[Bifurcation] = (),
    *,
    max_jump: float = np.inf,
) -> list[GhostEvent]:
    """Emergence and disappearance of ghosts from their tracks (see the module docstring).

    Args:
        epochs: ``[S]`` snapshot epochs.
        tracks: ghost tracks from :func:`track_points`.
        bifurcations: events used to flag ghosts born at (or dying in) a saddle-node.
        max_jump: distance within which a ghost and a saddle-node are the same place.

    Returns:
        Events in snapshot order.
    """
    ep = np.asarray(epochs, dtype=np.float64)
    n_snapshots = ep.size
    out: list[GhostEvent] = []
    near = max_jump if np.isfinite(max_jump) else np.inf
    for tr in tracks:
        s0, s1 = int(tr.snapshots[0]), int(tr.snapshots[-1])
        if s0 == 0:
            kind, before = "present", None
        else:
            kind = "emerge"
            before = float(ep[s0 - 1])
        at_bif = any(
            b.snapshot == s0
            and b.kind == "saddle-node"
            and b.direction == "vanish"
            and np.linalg.norm(np.asarray(b.kappa) - tr.kappa[0]) <= near
            for b in bifurcations
        )
        out.append(
            GhostEvent(
                kind=kind,
                snapshot=s0,
                epoch_before=before,
                epoch_after=float(tr.epochs[0]),
                kappa=tuple(float(v) for v in tr.kappa[0]),
                depth=None if np.isnan(tr.depth[0]) else float(tr.depth[0]),
                at_bifurcation=bool(at_bif and kind == "emerge"),
                track=tr.id,
            )
        )
        if s1 < n_snapshots - 1:
            at_bif_end = any(
                b.snapshot == s1 + 1
                and b.kind == "saddle-node"
                and b.direction == "appear"
                and np.linalg.norm(np.asarray(b.kappa) - tr.kappa[-1]) <= near
                for b in bifurcations
            )
            out.append(
                GhostEvent(
                    kind="vanish",
                    snapshot=s1 + 1,
                    epoch_before=float(tr.epochs[-1]),
                    epoch_after=float(ep[s1 + 1]),
                    kappa=tuple(float(v) for v in tr.kappa[-1]),
                    depth=None,
                    at_bifurcation=bool(at_bif_end),
                    track=tr.id,
                )
            )
    out.sort(key=lambda e: (e.snapshot, e.track))
    return out
