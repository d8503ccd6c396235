"""What the report page shows, reduced to a small JSON payload.

The payload of one network (:func:`network_payload`) is what the page's epoch slider needs:
metric curves reduced to at most ``max_points`` points (the minimum and the maximum of
each bucket of epochs, so spikes and drops survive, :func:`envelope`), at most
``max_snapshots`` snapshots (evenly spaced, plus the snapshots that bracket an event), and
per snapshot the latent picture of :mod:`ghostlearn.report.frames`: rank one the flow on
``n_kappa`` points, its fixed points and ghosts and the trial's latent trajectory; rank
K >= 2 a phase portrait (:func:`plane_payload`). Large arrays are stored as little-endian
base64 (float32, int32; the rank-one flow as int16 with one scale per network).

Networks are named by group, seed, lr and c (:func:`network_name`); epochs are written as
whole numbers with thousands separators (:func:`format_epoch`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .. import __version__, _validate
from .frames import (
    PlaneFrames,
    SnapshotFrames,
    has_latent_snapshots,
    model_settings,
    plane_frames,
    snapshot_frames,
    snapshot_subset,
)
from .sources import ReportSource, TrainingRun, analyze_networks

__all__ = [
    "PLANE_CODES",
    "PORTRAIT_CMAP",
    "ReportOptions",
    "analysis_events",
    "choose_networks",
    "envelope",
    "event_epochs",
    "format_epoch",
    "metric_values",
    "network_name",
    "network_payload",
    "plane_payload",
    "report_payload",
    "run_payload",
]

_FLOW_LEVELS = 32000  # int16 quantisation of the flow: |f| <= scale maps to |q| <= this
#: Colour map of the speed in phase portraits (slow is light).
PORTRAIT_CMAP = "magma_r"
#: Codes of the point classes in a plane payload.
PLANE_CODES = {
    "stable node": 1,
    "stable focus": 2,
    "saddle": 3,
    "unstable node": 4,
    "unstable focus": 5,
    "marginal": 6,
    "ghost": 7,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """How much of the data a report keeps.

    Attributes:
        max_networks: networks of a run offered in the page's network menu (default 20;
            chosen by :func:`choose_networks`).
        nets: explicit network positions to show (overrides ``max_networks``).
        max_snapshots: snapshots per network the epoch slider steps through.
        n_kappa: points of kappa on which the latent flow is drawn.
        max_points: points per metric curve (loss, accuracy, gradient norm).
        max_figure_width: figures wider than this (pixels) are scaled down.
        n_plane: rank K >= 2: grid points per axis of the phase portrait (speed, flow
            direction and readout are sent on this grid; the page draws streamlines).
    """

    max_networks: int = 20
    nets: tuple[int, ...] | None = None
    max_snapshots: int = 150
    n_kappa: int = 200
    max_points: int = 1000
    max_figure_width: int = 1600
    n_plane: int = 28

    def __post_init__(self) -> None:
        _validate.at_least("max_networks", self.max_networks, 1)
        _validate.at_least("max_snapshots", self.max_snapshots, 2)
        _validate.at_least("n_kappa", self.n_kappa, 10)
        _validate.at_least("n_plane", self.n_plane, 8)
        _validate.at_least("max_points", self.max_points, 10)
        _validate.at_least("max_figure_width", self.max_figure_width, 100)
        if self.nets is not None:
            nets = tuple(self.nets)
            if not nets:
                raise ValueError("nets must name at least one network, got ()")
            for i in nets:
                _validate.at_least("nets", i, 0)
            object.__setattr__(self, "nets", nets)


# --------------------------------------------------------------------------- reduction


def envelope(x: Any, y: Any, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a curve to at most ``max_points`` points, keeping each bucket's extremes.

    The ``E`` samples are cut into ``B = max_points // 2`` buckets of ``ceil(E / B)``
    consecutive samples; from each, the samples holding the bucket's minimum and maximum
    (NaN ignored) are kept in their order, so narrow spikes and abrupt drops survive.

    Args:
        x: ``[E]`` abscissae (e.g. epochs), increasing.
        y: ``[E]`` values (NaN allowed).
        max_points: at most this many points are returned (>= 2).

    Returns:
        ``(x_kept, y_kept)``, each ``[<= max_points]``, in the order of ``x``.
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    _validate.at_least("max_points", max_points, 2)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    E = y.size
    if E <= max_points:
        return x, y
    buckets = max_points // 2
    width = -(-E // buckets)
    buckets = -(-E // width)
    pad = buckets * width - E
    yp = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, width)
    finite = np.isfinite(yp)
    lo = np.argmin(np.where(finite, yp, np.inf), axis=1)
    hi = np.argmax(np.where(finite, yp, -np.inf), axis=1)
    base = np.arange(buckets) * width
    idx = np.unique(np.concatenate([base + lo, base + hi]))
    idx = idx[idx < E]
    return x[idx], y[idx]


def _b64(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _sig(v: Any, digits: int = 4) -> float | None:
    v = float(v)
    if not math.isfinite(v):
        return None
    return float(f"{v:.{digits}g}")


def _jsonable(x: Any) -> Any:
    from ..store import to_jsonable

    if isinstance(x, str):
        try:
            return json.loads(x)
        except ValueError:
            return x
    return to_jsonable(x)


# --------------------------------------------------------------------------- names


def format_epoch(epoch: Any) -> str:
    """An epoch as the report prints it: a whole number with thousands separators.

    Args:
        epoch: a number (an epoch or a count of epochs).

    Returns:
        e.g. ``"130,000"`` for ``1.3e5``; ``"n/a"`` when it is not finite.
    """
    v = float(epoch)
    if not math.isfinite(v):
        return "n/a"
    return f"{round(v):,}"


def _value_text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return str(value)
    if "epoch" in key:
        return format_epoch(value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _net_value(ds: xr.Dataset, net: int, key: str) -> Any:
    """The value of setting ``key`` for network ``net``: its per-network coordinate, else
    the run's ``model`` or ``train`` attribute; None when the run does not record it."""
    if key in ds.coords and ds[key].dims == ("net",):
        return ds[key].values[net].item()
    for table in ("model", "train"):
        attrs = _jsonable(ds.attrs.get(table, {}))
        if isinstance(attrs, dict) and attrs.get(key) is not None:
            return attrs[key]
    return None


_NAME_KEYS = ("seed", "lr", "c")


def _identity(ds: xr.Dataset, net: int, fields: Sequence[str] = ()) -> list[str]:
    """``["seed 40", "lr 0.02", "c 10", *fields]``: what a run records of a network."""
    keys = list(_NAME_KEYS) + [f for f in fields if f not in _NAME_KEYS]
    out = []
    for key in keys:
        value = _net_value(ds, net, key)
        # NaN: a setting that does not apply to this model (c of a matrix model).
        if value is not None and not (isinstance(value, float) and not math.isfinite(value)):
            out.append(f"{key} {_value_text(key, value)}")
    return out


def network_name(
    ds: xr.Dataset, net: int, *, group: str | None = None, fields: Sequence[str] = ()
) -> str:
    """A network's name in the report's menu: its group, seed, lr, c (and ``fields``).

    Args:
        ds: a training Dataset.
        net: position along ``net``.
        group: the name of the run's group in its store (e.g. ``"A"``), if it names it.
        fields: further settings to name (see :attr:`TrainingRun.fields`).

    Returns:
        e.g. ``"A \u00b7 seed 40 \u00b7 lr 0.02 \u00b7 c 10"``; ``"net 3"`` (the position)
        when the run records nothing that identifies it.
    """
    parts = ([group] if group else []) + _identity(ds, net, fields)
    return " \u00b7 ".join(parts) if parts else f"net {net}"


def _name_networks(runs: Sequence[tuple[TrainingRun, list[dict[str, Any]]]]) -> None:
    """Give every network payload of ``runs`` a ``name`` no other one has.

    First the run's group and what the run records of the network
    (:func:`network_name`); where two names clash, the run's label in place of the group;
    where they still clash, the position too.
    """
    entries = [
        (run, p, _identity(run.ds, int(p["net"]), run.fields)) for run, nets in runs for p in nets
    ]

    def name(run: TrainingRun, p: dict[str, Any], ident: list[str], level: int) -> str:
        head = run.group if level == 0 else run.label
        parts = ([head] if head else []) + ident
        if level == 2 or not parts:
            parts.append(f"net {p['net']}")
        return " \u00b7 ".join(parts)

    levels = [0] * len(entries)
    while True:
        names = [name(*e, lv) for e, lv in zip(entries, levels, strict=True)]
        seen: dict[str, int] = {}
        for n in names:
            seen[n] = seen.get(n, 0) + 1
        clash = [i for i, n in enumerate(names) if seen[n] > 1 and levels[i] < 2]
        if not clash:
            break
        for i in clash:
            levels[i] += 1
    for (_, p, _), n in zip(entries, names, strict=True):
        p["name"] = n


# --------------------------------------------------------------------------- outcomes


def _outcome_labels(ds: xr.Dataset) -> np.ndarray:
    """Per network: ``'stuck'``, ``'learned'``, ``'never learned'`` or ``'diverged'``."""
    from ..outcomes import learned, stuck

    P = ds.sizes["net"]
    labels = np.full(P, "never learned", dtype=object)
    if "accuracy" in ds.variables:
        acc = np.asarray(ds["accuracy"].transpose("net", "epoch").values, dtype=np.float64)
        labels[learned(acc)] = "learned"
        labels[stuck(acc)] = "stuck"
    else:
        labels[:] = "trained"
    if "diverged" in ds.variables:
        labels[np.asarray(ds["diverged"].values, dtype=bool)] = "diverged"
    return labels


def choose_networks(ds: xr.Dataset, max_networks: int) -> tuple[list[int], str]:
    """Up to ``max_networks`` networks that mix the outcomes of a run.

    Networks are grouped by outcome (``ghostlearn.outcomes``: stuck, learned and kept,
    never learned, diverged) and taken in turn from each group, lowest position first,
    so every outcome present is shown and the common ones most.

    Returns:
        ``(positions, explanation)``: sorted positions and one sentence for the page.
    """
    labels = _outcome_labels(ds)
    P = labels.size
    if P <= max_networks:
        return list(range(P)), "the only network" if P == 1 else f"all {P} networks"
    order = ("stuck", "learned", "never learned", "diverged", "trained")
    groups = [list(np.flatnonzero(labels == g)) for g in order]
    chosen: list[int] = []
    while len(chosen) < max_networks:
        progressed = False
        for g in groups:
            if g and len(chosen) < max_networks:
                chosen.append(int(g.pop(0)))
                progressed = True
        if not progressed:
            break
    counts = {g: int(np.sum(labels == g)) for g in order if np.any(labels == g)}
    shown = {g: int(np.sum(labels[chosen] == g)) for g in counts}
    parts = ", ".join(f"{shown[g]} of {counts[g]} {g}" for g in counts)
    return sorted(chosen), (
        f"{len(chosen)} of {P} networks, chosen to mix the outcomes ({parts}; the first of "
        "each outcome by position)"
    )


# --------------------------------------------------------------------------- events


def _where(kappa: Any) -> str:
    """`` at kappa = 1.5`` (rank one) or `` at kappa = (1.5, -0.2)`` (rank K)."""
    k = [v for v in (kappa or []) if v is not None]
    if not k:
        return ""
    if len(k) == 1:
        return f" at kappa = {k[0]:.3g}"
    return " at kappa = (" + ", ".join(f"{v:.3g}" for v in k) + ")"


def _drop_event(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "drop",
        "start": _sig(d["onset_epoch"], 8),
        "end": _sig(d["end_epoch"], 8),
        "text": (
            f"abrupt drop, epochs {format_epoch(d['onset_epoch'])}\u2013"
            f"{format_epoch(d['end_epoch'])} ({d.get('size_decades') or 0:.2g} decades)"
        ),
    }


def _bifurcation_event(b: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bifurcation",
        "epoch": _sig(b["epoch_after"], 8),
        "start": _sig(b["epoch_before"], 8),
        "text": (
            f"{b.get('kind', 'other')} bifurcation ({b.get('direction', '')}) between "
            f"epochs {format_epoch(b['epoch_before'])} and "
            f"{format_epoch(b['epoch_after'])}{_where(b.get('kappa'))}"
        ),
    }


def _ghost_event(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "ghost",
        "epoch": _sig(g["epoch_after"], 8),
        "start": _sig(g.get("epoch_before") or g["epoch_after"], 8),
        "text": (
            f"ghost emerged between epochs {format_epoch(g.get('epoch_before') or 0)} "
            f"and {format_epoch(g['epoch_after'])}{_where(g.get('kappa'))}"
            + (" (remnant of a saddle-node)" if g.get("at_bifurcation") else "")
        ),
    }


def analysis_events(analysis: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Drops, bifurcations (not boundary crossings) and ghost emergences, for the curves.

    Args:
        analysis: a ``RunAnalysis.to_dict()`` (or a dict with some of its ``drops``,
            ``bifurcations`` and ``ghost_events``), or None.

    Returns:
        One dict per event: ``type`` (``"drop"``, ``"bifurcation"``, ``"ghost"``), the
        epochs ``start`` and ``end`` (a drop) or ``start`` and ``epoch`` (the snapshots
        around the event), and ``text``.
    """
    from ..analysis.tracking import Bifurcation

    if not analysis:
        return []
    out = [_drop_event(d) for d in analysis.get("drops") or []]
    out += [
        _bifurcation_event(b)
        for b in analysis.get("bifurcations") or []
        if Bifurcation.kind_is_bifurcation(b.get("kind", ""))
    ]
    out += [
        _ghost_event(g) for g in analysis.get("ghost_events") or [] if g.get("kind") == "emerge"
    ]
    return out


def event_epochs(events: list[dict[str, Any]]) -> list[float]:
    """Every epoch :func:`analysis_events` names (the snapshots the slider must show)."""
    keep: list[float] = []
    for ev in events:
        for key in ("start", "epoch", "end"):
            if ev.get(key) is not None:
                keep.append(float(ev[key]))
    return keep


def metric_values(ds: xr.Dataset, name: str, net: int) -> np.ndarray | None:
    """``[E]`` the metric ``name`` of network ``net`` (float64), or None when absent."""
    if name not in ds.variables:
        return None
    return np.asarray(ds[name].isel(net=net).values, dtype=np.float64)


def _drops_only(loss: np.ndarray, epochs: np.ndarray) -> dict[str, Any] | None:
    """Abrupt drops of a loss curve when no snapshots allow a full analysis."""
    from ..analysis.events import detect_abrupt_drops

    ok = np.isfinite(loss)
    if ok.sum() < 3:
        return None
    drops = detect_abrupt_drops(loss[ok], epochs[ok])
    return {"drops": [d.to_dict() for d in drops]}


# --------------------------------------------------------------------------- one network


def _metrics_at(
    metrics: dict[str, np.ndarray], epochs: np.ndarray, at: np.ndarray
) -> dict[str, list[float | None]]:
    """Metric values at the epochs ``at`` (the nearest recorded epoch at or before)."""
    pos = np.clip(np.searchsorted(epochs, at, side="right") - 1, 0, epochs.size - 1)
    return {f"at_{k}": [_sig(v) for v in y[pos]] for k, y in metrics.items()}


def _curves(
    ds: xr.Dataset, net: int, epochs: np.ndarray, max_points: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(metrics [E] by name, their reduced curves for the page)``."""
    metrics: dict[str, np.ndarray] = {}
    curves: dict[str, Any] = {}
    for name in ("loss", "accuracy", "grad_norm"):
        y = metric_values(ds, name, net)
        if y is None:
            continue
        metrics[name] = y
        xs, ys = envelope(epochs, y, max_points)
        curves[name] = {"x": _b64(xs, "<i4"), "y": _b64(ys, "<f4"), "n": int(xs.size)}
    return metrics, curves


def _line_payload(frames: SnapshotFrames) -> dict[str, Any]:
    """The page's data for the rank-one frames: the flow (int16 with one scale), the fixed
    points ``[kappa, code]``, the ghosts ``[kappa, depth]`` and the trial."""
    fixed = [
        [[_sig(k, 5), int(c)] for k, c in zip(fk, fs, strict=True) if c > 0]
        for fk, fs in zip(frames.fixed_kappa, frames.fixed_stability, strict=True)
    ]
    ghosts = [
        [[_sig(k, 5), _sig(d, 3)] for k, d in zip(gk, gd, strict=True) if np.isfinite(k)]
        for gk, gd in zip(frames.ghost_kappa, frames.ghost_depth, strict=True)
    ]
    scale = float(np.max(np.abs(frames.flow))) or 1.0
    q = np.round(frames.flow / scale * _FLOW_LEVELS).astype(np.int16)
    return {
        "has_flow": True,
        "epoch": [float(e) for e in frames.epochs],
        "n_total": frames.n_total,
        "kappa": {
            "lo": float(frames.kappa[0]),
            "hi": float(frames.kappa[-1]),
            "n": int(frames.kappa.size),
        },
        "flow": _b64(q, "<i2"),
        "flow_scale": scale / _FLOW_LEVELS,
        "fixed": fixed,
        "ghosts": ghosts,
        "traj": _b64(frames.trajectory, "<f4"),
        "traj_len": int(frames.trajectory.shape[1]),
    }


def _no_flow_reason(ds: xr.Dataset, model: dict[str, Any]) -> str | None:
    """Why the network's flow is not drawn, or None when it is."""
    no_snapshots = "the training data holds no snapshots (train with snapshot_every > 0)."
    if model["model"] == "lowrank" and int(model["rank"]) >= 2:
        if "snap_M" not in ds.variables or ds.sizes.get("snapshot", 0) == 0:
            return no_snapshots
        return None
    if model["model"] != "rank1":
        what = "full-rank" if model["model"] == "full" else "rank-one lowrank (K = 1)"
        return f"the flow is drawn for rank-one and rank-K (K >= 2) networks (this is {what})."
    if "snap_m" not in ds.variables or ds.sizes.get("snapshot", 0) == 0:
        return no_snapshots
    return None


def _snapshot_payload(
    ds: xr.Dataset,
    net: int,
    model: dict[str, Any],
    opts: ReportOptions,
    keep: list[float],
    points: Any,
    point_epochs: Any,
) -> tuple[dict[str, Any] | None, list[str]]:
    """``(snap, notes)`` of a network with a flow to draw; ``(None, [])`` when no snapshot
    has finite parameters."""
    frames: PlaneFrames | SnapshotFrames
    if model["model"] == "lowrank":
        frames = plane_frames(
            ds, net, max_snapshots=opts.max_snapshots, keep_epochs=keep, points=points,
            point_epochs=point_epochs,
        )  # fmt: skip
    else:
        frames = snapshot_frames(
            ds, net, max_snapshots=opts.max_snapshots, n_kappa=opts.n_kappa, keep_epochs=keep,
            points=points, point_epochs=point_epochs,
        )  # fmt: skip
    if frames.epochs.size == 0:
        return None, []
    if isinstance(frames, PlaneFrames):
        return plane_payload(frames, opts.n_plane), frames.notes
    return _line_payload(frames), frames.notes


def network_payload(
    ds: xr.Dataset,
    net: int,
    *,
    analysis: dict[str, Any] | None = None,
    options: ReportOptions | None = None,
    points: Any = None,
    point_epochs: Any = None,
) -> dict[str, Any]:
    """Everything the page draws for one network (see the module docstring).

    Args:
        ds: a training Dataset.
        net: position along ``net``.
        analysis: the network's ``RunAnalysis.to_dict()`` (events and verdict), or None.
        options: :class:`ReportOptions`.
        points: optional :class:`~ghostlearn.analysis.points.FlowPoints` (rank one) or
            :class:`~ghostlearn.analysis.slowpoints.SlowPoints` (rank K) ``[S']`` already
            found at the snapshot epochs ``point_epochs`` ``[S']`` (reused, not recomputed).
        point_epochs: see ``points``.

    Returns:
        A JSON-compatible dict. Rank one: ``snap`` holds the flow on ``n_kappa`` points per
        snapshot (see the module docstring). Rank K >= 2: ``snap`` holds a phase portrait
        per snapshot (:func:`plane_payload`).
    """
    opts = options or ReportOptions()
    model = model_settings(ds)
    P = ds.sizes["net"]
    if not 0 <= net < P:
        raise ValueError(f"net must be a position in 0..{P - 1}, got {net}")
    epochs = np.asarray(ds["epoch"].values, dtype=np.float64)
    coord = {k: ds[k].values[net].item() for k in ("seed", "lr", "c") if k in ds.coords}
    metrics, curves = _curves(ds, net, epochs, opts.max_points)
    if analysis is None and "loss" in metrics:
        analysis = _drops_only(metrics["loss"], epochs)
    events = analysis_events(analysis)
    verdict = (analysis or {}).get("verdict") or {}
    out: dict[str, Any] = {
        "net": int(net),
        "seed": coord.get("seed"),
        "lr": _sig(coord["lr"], 6) if "lr" in coord else None,
        "c": _sig(coord["c"], 6) if "c" in coord else None,
        "notes": [],
        "curves": curves,
        "n_epochs": int(epochs.size),
        "events": events,
        "verdict": verdict.get("label"),
        "reason": verdict.get("reason"),
    }
    reason = _no_flow_reason(ds, model)
    snap = None
    if reason is None:
        snap, notes = _snapshot_payload(
            ds, net, model, opts, event_epochs(events), points, point_epochs
        )
        out["notes"] += notes
        reason = "no snapshot has finite parameters (the network diverged)."
    if snap is None:
        # No flow to draw: the slider steps through evenly spaced epochs instead.
        shown = epochs[snapshot_subset(epochs, opts.max_snapshots)]
        snap = {"has_flow": False, "epoch": [float(e) for e in shown]}
        out["notes"].append("No latent flow: " + reason)
    out["snap"] = snap | _metrics_at(metrics, epochs, np.asarray(snap["epoch"]))
    return out


# --------------------------------------------------------------------------- rank K portraits


def _plane_grids(frames: PlaneFrames, n: int) -> dict[str, Any]:
    """Per snapshot on an ``n x n`` grid: ``log10 |F|`` and the flow's direction as uint8,
    and the readout's boundary function as int8 (scaled per frame), all base64."""
    from ..analysis.plane import plane_field, readout_values

    S = frames.epochs.size
    lo, hi = (math.log10(v) for v in frames.speed_range)
    speed = np.zeros((S, n, n), np.uint8)
    angle = np.zeros((S, n, n), np.uint8)
    zq = np.zeros((S, n, n), np.int8) if frames.readout is not None else None
    for s in range(S):
        field = plane_field(frames.flow[s], frames.plane, frames.limits, n)
        ls = np.log10(np.maximum(field.speed, 1e-300))
        speed[s] = np.clip(np.round((ls - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)
        ang = np.arctan2(field.flow[..., 1], field.flow[..., 0])
        angle[s] = (np.round(ang / (2 * np.pi) * 256).astype(np.int64) % 256).astype(np.uint8)
        if zq is not None:
            z = readout_values(frames.readout_at(s), field.points())
            scale = float(np.max(np.abs(z))) or 1.0
            zq[s] = np.clip(np.round(z / scale * 127), -127, 127).astype(np.int8)
    return {
        "log_speed": _b64(speed, "u1"),
        "log_range": [lo, hi],
        "angle": _b64(angle, "u1"),
        "readout": None if zq is None else _b64(zq, "i1"),
    }


def _plane_points(frames: PlaneFrames) -> list[list[list[float | int | None]]]:
    """Per snapshot, its points ``[a, b, code, |F|]`` in plane coordinates."""
    stab = frames.points.stability
    pts = []
    for s in range(frames.epochs.size):
        row = []
        for j in range(int(frames.points.n_points[s])):
            a, b = frames.plane.to_plane(frames.points.kappa[s, j])
            code = PLANE_CODES.get(str(stab[s, j]), 6)
            row.append([_sig(a, 5), _sig(b, 5), code, _sig(frames.points.speed[s, j], 3)])
        pts.append(row)
    return pts


def plane_payload(frames: PlaneFrames, n: int = 28) -> dict[str, Any]:
    """The page's data for the phase portraits of :func:`~ghostlearn.report.frames.plane_frames`.

    Per snapshot, on an ``n x n`` grid of the plane: ``log10 |F|`` as uint8 levels over
    ``log_range`` (one range for all frames), the direction of the flow projected on the
    plane as uint8 (``256`` levels per turn; the page integrates streamlines along it),
    the readout's boundary function as int8 (scaled per frame; the page draws its zero
    line), and the points ``[a, b, code, |F|]`` (codes :data:`PLANE_CODES`) and the trial
    in plane coordinates.

    Returns:
        A JSON-compatible dict (the ``snap`` of :func:`network_payload`).
    """
    grids = _plane_grids(frames, n)
    out: dict[str, Any] = {
        "has_flow": True,
        "plane": True,
        "K": int(frames.plane.rank),
        "projected": bool(frames.plane.projected),
        "labels": list(frames.plane.labels)
        if frames.plane.projected
        else ["\u03ba\u2081", "\u03ba\u2082"],
        "epoch": [float(e) for e in frames.epochs],
        "n_total": frames.n_total,
        "limits": [[float(v) for v in frames.limits[0]], [float(v) for v in frames.limits[1]]],
        "n": int(n),
        "log_speed": grids["log_speed"],
        "log_range": grids["log_range"],
        "angle": grids["angle"],
        "readout": grids["readout"],
        "readout_kind": None if frames.readout is None else frames.readout.kind,
        "points": _plane_points(frames),
        "traj": None,
        "traj_len": 0,
    }
    if frames.trajectory is not None:
        ab = frames.plane.to_plane(frames.trajectory)
        out["traj"] = _b64(ab, "<f4")
        out["traj_len"] = int(ab.shape[1])
    return out


# --------------------------------------------------------------------------- runs


def _shown_networks(ds: xr.Dataset, opts: ReportOptions) -> tuple[list[int], str]:
    """``(positions, explanation)`` of the networks a run's menu offers."""
    P = ds.sizes["net"]
    if opts.nets is None:
        return choose_networks(ds, opts.max_networks)
    bad = [i for i in opts.nets if i >= P]
    if bad:
        raise ValueError(f"nets must be positions in 0..{P - 1}, got {bad[0]}")
    return sorted(set(opts.nets)), f"{len(set(opts.nets))} of {P} networks, as asked"


def _outcome_counts(outcomes: np.ndarray) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[str(o)] = counts.get(str(o), 0) + 1
    return counts


def _epochs_trained(ds: xr.Dataset, train: Any) -> int:
    """The ``train`` attribute's ``epochs``, else the number of epochs recorded."""
    n_epochs = train.get("epochs") if isinstance(train, dict) else None
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 0:
        return int(ds.sizes.get("epoch", 0))
    return int(n_epochs)


def run_payload(run: TrainingRun, options: ReportOptions | None = None) -> dict[str, Any]:
    """The payload of one training run: its chosen networks, their data, the run's config.

    Networks without a stored analysis are analysed here
    (:func:`~ghostlearn.report.sources.analyze_networks`; a checkpoint's as
    ``ghostlearn analyze`` does). Each network gets a ``name``
    (:func:`network_name`, distinct within the run); ``n_epochs`` is the number of epochs
    trained (the ``train`` attribute's ``epochs``, else the epochs recorded).
    """
    opts = options or ReportOptions()
    ds = run.ds
    nets, selection = _shown_networks(ds, opts)
    outcomes = _outcome_labels(ds)
    found = analyze_networks(ds, nets, run.analyses, run.checkpoint)
    payload_nets = []
    for i in nets:
        res = found.computed.get(i)
        p = network_payload(
            ds,
            i,
            analysis=found.dicts.get(i),
            options=opts,
            points=None if res is None else res.points,
            point_epochs=None if res is None else res.snapshot_epochs,
        )
        p["outcome"] = str(outcomes[i])
        if i in found.failed:
            p["notes"].append(f"Not analysed: {found.failed[i]}")
        payload_nets.append(p)
    _name_networks([(run, payload_nets)])
    train = _jsonable(ds.attrs.get("train", {}))
    latent = has_latent_snapshots(ds)
    return {
        "label": run.label,
        "model": model_settings(ds),
        "train": train,
        "config": _jsonable(ds.attrs.get("config", {})),
        "version": ds.attrs.get("ghostlearn_version"),
        "n_nets": int(ds.sizes["net"]),
        "n_epochs": _epochs_trained(ds, train),
        "n_snapshots": int(ds.sizes.get("snapshot", 0)) if latent else 0,
        "selection": selection,
        "outcomes": _outcome_counts(outcomes),
        "analysis_source": "stored" if run.analyses else "computed for this report",
        "notes": [],
        "nets": payload_nets,
    }


def report_payload(
    source: ReportSource,
    options: ReportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The JSON payload of the page's interactive part for every run of ``source``.

    ``progress(done, total)`` is called in runs: ``(0, total)`` first, then after each.
    Network names are made distinct across runs (:func:`network_name`; the run's label
    or the position is added where two would read the same).
    """
    opts = options or ReportOptions()
    runs: list[dict[str, Any]] = []
    for r in source.runs:
        if progress is not None:
            progress(len(runs), len(source.runs))
        runs.append(run_payload(r, opts))
    if progress is not None:
        progress(len(runs), len(source.runs))
    _name_networks([(r, p["nets"]) for r, p in zip(source.runs, runs, strict=True)])
    return {
        "ghostlearn_version": __version__,
        "limits": dataclasses.asdict(opts),
        "colormap": _colormap_hex(PORTRAIT_CMAP),
        "runs": runs,
    }


def _colormap_hex(name: str) -> str:
    """A matplotlib colour map sampled at 256 levels as one hex string (6 digits each)."""
    from matplotlib import colormaps

    rgb = colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3]
    return "".join(f"{int(round(r * 255)):02x}{int(round(g * 255)):02x}{int(round(b * 255)):02x}"
                   for r, g, b in rgb)  # fmt: skip
