"""Building blocks of the rank-one experiments (Fig. 3 and the learnable confidence).

Running: the initial weights (:func:`resolve_init`), the devices a run is pinned to
(:func:`pinned_devices`) and one network out of a trained batch (:func:`single`).

Analysing: a run's fixed points, ghosts and events as a Dataset (:func:`points_dataset`,
:func:`analysis_events`, :func:`bifurcation_list` of :class:`BifurcationRecord`) and the
latent trajectories ``kappa(t)`` of its snapshots (:func:`latent_trajectories`).

Drawing, the paper's way: the loss and the gradient norm each divided by its maximum
(:func:`draw_metrics`, :func:`metric_key`) and the latent flows
``f(kappa) = -kappa + n . tanh(m kappa + b)`` overlaid on one axis with their fixed points,
ghosts and ``kappa(0)`` (:func:`draw_flows`, :class:`FlowSnapshot`, :func:`marker_key`,
:func:`flow_labels`). Epochs are printed counted from 1, as the paper prints them
(:func:`shown_epoch`); seeds are written in words by :func:`seed_list`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from matplotlib.lines import Line2D

from .. import _validate
from ..analysis import FlowPoints, RunAnalysis, rank1_flow
from ..analysis.events import AbruptDrop
from ..analysis.points import STABILITY_CODES
from ..analysis.tracking import Bifurcation, GhostEvent
from ..analysis.verdict import Verdict
from ..rnn import INIT_METHODS, Params, latent_trajectory
from ..store import from_jsonable
from ..train import model_from_dataset
from . import _style

#: Initial weights an experiment accepts: ``"auto"`` (= ``"paper"``) and
#: :data:`ghostlearn.rnn.INIT_METHODS`.
INITS = ("auto", *INIT_METHODS)
#: Latent interval of the flow panels (the paper's Fig. 3: kappa in [-9, 9]).
KAPPA_RANGE = (-9.0, 9.0)

LOSS_COLOR = _style.OKABE_ITO["blue"]
GRAD_COLOR = _style.OKABE_ITO["orange"]
#: Colours of the flows (i), (ii), (iii), ... in order (red is kept for kappa(0)).
FLOW_COLORS = tuple(_style.OKABE_ITO[k] for k in ("sky_blue", "green", "purple", "blue", "orange"))
#: The paper's red dots: kappa(0), where every trial starts.
KAPPA0_COLOR = _style.OKABE_ITO["vermillion"]
_FIXED = {
    1: ("stable fixed point", _style.THEORY),
    2: ("unstable fixed point", "white"),
    3: ("half-stable fixed point", _style.GREY),
}
_GHOST: dict[str, Any] = {"marker": "D", "mfc": _style.OKABE_ITO["yellow"], "mec": _style.THEORY}
_POINT_MS = 4.5
#: Smaller than the fixed points: a fixed point under kappa(0) stays visible as a ring.
_KAPPA0_MS = 3.2


# --------------------------------------------------------------------------------------
# running


def resolve_init(init: str) -> str:
    """``"auto"`` -> ``"paper"`` (the original code's weights, no PyTorch needed).

    Raises:
        ValueError: ``init`` is not one of :data:`INITS`.
    """
    _validate.one_of("init", init, INITS)
    return "paper" if init == "auto" else init


def pinned_devices(devices: int) -> int:
    """``devices``, or the number of local JAX devices if there are fewer."""
    return min(int(devices), len(jax.local_devices()))


def single(ds: xr.Dataset, i: int) -> xr.Dataset:
    """Network ``i`` of a training Dataset as a one-network training Dataset (``net = [0]``)."""
    return ds.isel(net=[int(i)]).assign_coords(net=[0])


# --------------------------------------------------------------------------------------
# analysing


def analysis_events(ra: RunAnalysis) -> dict[str, Any]:
    """The JSON-compatible events of a run analysis (no per-snapshot tables, no tracks)."""
    d = ra.to_dict()
    return {
        k: d[k]
        for k in ("verdict", "drops", "bifurcations", "ghost_events", "ghost_emergence_epoch")
    } | {"settings": d["settings"]}


@dataclasses.dataclass(frozen=True, kw_only=True)
class BifurcationRecord:
    """A bifurcation of a run as an experiment's summary reports it.

    Attributes:
        kind: ``"saddle-node"`` or ``"other"`` (boundary crossings are not bifurcations).
        direction: ``"appear"`` or ``"vanish"``.
        epoch: the first snapshot after it.
    """

    kind: str
    direction: str
    epoch: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunEvents:
    """The events of a run analysis as :func:`analysis_events` stores them in a points
    Dataset's attrs, read back as the analysis' own types (:func:`run_events`).

    Attributes:
        verdict: the run's verdict.
        drops: its abrupt drops.
        bifurcations: changes of the number of fixed points (boundary crossings included).
        ghost_events: ghosts appearing and vanishing.
        ghost_emergence_epoch: the epoch a ghost first appeared (None: never).
        settings: the analysis settings (JSON).
    """

    verdict: Verdict
    drops: list[AbruptDrop]
    bifurcations: list[Bifurcation]
    ghost_events: list[GhostEvent]
    ghost_emergence_epoch: float | None
    settings: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunEvents:
        """The inverse of :func:`analysis_events`' JSON."""
        out: RunEvents = from_jsonable(cls, dict(data), where="analysis events")
        return out


def run_events(points: xr.Dataset) -> RunEvents:
    """The events stored with a points Dataset (:func:`points_dataset`), typed."""
    return RunEvents.from_dict(points.attrs["analysis"])


def bifurcation_list(events: RunEvents) -> list[BifurcationRecord]:
    """The bifurcations of a run without the boundary crossings."""
    return [
        BifurcationRecord(kind=b.kind, direction=b.direction, epoch=b.epoch_after)
        for b in events.bifurcations
        if b.is_bifurcation
    ]


def points_dataset(ra: RunAnalysis) -> xr.Dataset:
    """Per-snapshot fixed points and ghosts of a rank-one run, with its events in attrs.

    Returns:
        Dataset over ``snapshot`` (the epochs), ``fixed`` and ``ghost`` (padded with NaN):
        ``n_fixed``, ``n_ghosts``, ``fixed_kappa``, ``fixed_stability`` (codes of
        :data:`ghostlearn.analysis.points.STABILITY_CODES`, 0 pads), ``ghost_kappa``,
        ``ghost_depth`` (``|f|``), ``ghost_curvature`` (``f''``); attrs ``analysis``
        (:func:`analysis_events`).
    """
    p = ra.points
    assert isinstance(p, FlowPoints)  # a rank-one run's points are flow points

    def padded(a: np.ndarray, fill: Any) -> np.ndarray:
        if a.shape[-1]:
            return a
        return np.full((*a.shape[:-1], 1), fill, dtype=a.dtype)

    return xr.Dataset(
        {
            "n_fixed": ("snapshot", np.asarray(p.n_fixed, np.int64)),
            "n_ghosts": ("snapshot", np.asarray(p.n_ghosts, np.int64)),
            "fixed_kappa": (("snapshot", "fixed"), padded(p.fixed_kappa, np.nan)),
            "fixed_stability": (("snapshot", "fixed"), padded(p.fixed_stability, 0)),
            "ghost_kappa": (("snapshot", "ghost"), padded(p.ghost_kappa, np.nan)),
            "ghost_depth": (("snapshot", "ghost"), padded(p.ghost_depth, np.nan)),
            "ghost_curvature": (("snapshot", "ghost"), padded(p.ghost_curvature, np.nan)),
        },
        coords={"snapshot": np.asarray(ra.snapshot_epochs, np.int64)},
        attrs={"analysis": analysis_events(ra), "stability_codes": str(STABILITY_CODES)},
    )


def latent_trajectories(ds: xr.Dataset, epochs: Sequence[int], net: int = 0) -> np.ndarray:
    """``kappa(0 .. n_steps)`` of network ``net`` at the snapshot ``epochs``.

    :func:`ghostlearn.rnn.latent_trajectory` (``kappa(t+1) = (1 - D) kappa(t) + D n .
    tanh(m kappa(t) + b)``, ``kappa(0) = x0 sum(n)``) mapped over the snapshots.

    Args:
        ds: training Dataset with snapshots of a rank-one network.
        epochs: snapshot epochs.
        net: the network's index along ``net``.

    Returns:
        float64 array ``[len(epochs), n_steps + 1]``.
    """
    cfg = model_from_dataset(ds)
    snap = ds.isel(net=net).sel(snapshot=list(epochs))
    params = {k: jnp.asarray(snap[f"snap_{k}"].values) for k in ("m", "n", "b")}

    def one(p: Params) -> jax.Array:
        return latent_trajectory(p, cfg)

    fn = jax.vmap(one)
    return np.asarray(fn(params), dtype=np.float64)


# --------------------------------------------------------------------------------------
# words


def roman(i: int) -> str:
    """The flows' numerals: 0 -> ``"i"``, 1 -> ``"ii"``, ... (up to 7 -> ``"viii"``)."""
    return ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii")[i]


def shown_epoch(epoch: int) -> int:
    """An epoch counted from 1, as the paper prints them: the network after ``epoch``
    updates (ghostlearn's epoch ``epoch``, counted from 0) is the paper's epoch ``epoch + 1``."""
    return int(epoch) + 1


def flow_labels(epochs: Sequence[int]) -> list[str]:
    """``"(i) epoch 1"``, ``"(ii) epoch 200,001"``, ...: the flows' names, epochs from 1."""
    return [f"({roman(j)}) epoch {shown_epoch(e):,}" for j, e in enumerate(epochs)]


def seed_list(seeds: Sequence[int]) -> str:
    """Seeds in words, runs of three or more as ranges: ``[0, 1, 2, 3, 40]`` -> ``"seeds 0-3
    and 40"``."""
    s = sorted({int(v) for v in seeds})
    runs: list[list[int]] = []
    for v in s:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    parts: list[str] = []
    for r in runs:
        parts += [f"{r[0]}-{r[-1]}"] if len(r) >= 3 else [str(v) for v in r]
    words = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return ("seed " if len(s) == 1 else "seeds ") + words


# --------------------------------------------------------------------------------------
# drawing


def metric_key() -> list[Line2D]:
    """Legend handles of :func:`draw_metrics`' lines."""
    return [
        Line2D([], [], color=LOSS_COLOR, lw=0.8, label="loss / maximum"),
        Line2D([], [], color=GRAD_COLOR, lw=0.8, label="gradient norm / maximum"),
    ]


def _flow_marks(ax: Any, marks: Sequence[int], width: float) -> None:
    """Dotted lines at the flows' epochs, labelled (i), (ii), ... above the axes; labels of
    lines closer than 4% of ``width`` are merged, e.g. "(ii, iii)"."""
    groups: list[list[tuple[int, int]]] = []
    for j, mark in enumerate(marks):
        x = shown_epoch(mark)
        ax.axvline(x, color=FLOW_COLORS[j % len(FLOW_COLORS)], ls=":", lw=1.2)
        if groups and x - groups[-1][-1][1] < 0.04 * width:
            groups[-1].append((j, x))
        else:
            groups.append([(j, x)])
    for g in groups:
        text = "(" + ", ".join(roman(j) for j, _ in g) + ")"
        x_mid = float(np.mean([v for _, v in g]))
        ax.text(x_mid, 1.0, text, transform=ax.get_xaxis_transform(), ha="center", va="bottom")


def draw_metrics(ax: Any, ds: xr.Dataset, marks: Sequence[int]) -> None:
    """Loss and gradient norm over epochs, each divided by its maximum, as the paper draws.

    Epochs are counted from 1 (:func:`shown_epoch`); the flows' epochs ``marks`` are drawn
    as dotted lines in the flows' colours and labelled (i), (ii), ... above the axes
    (labels of lines closer than 4% of the axis are merged, e.g. "(ii, iii)"). The lines'
    legend entries are :func:`metric_key`'s.

    Args:
        ax: matplotlib axes.
        ds: one-network training Dataset (``loss``, ``grad_norm`` over ``epoch``).
        marks: snapshot epochs (counted from 0) of the flows drawn beside it.
    """
    e = ds["epoch"].values.astype(np.int64) + 1
    lines = (("loss", "loss", LOSS_COLOR), ("gradient norm", "grad_norm", GRAD_COLOR))
    for name, key, color in lines:
        v = ds[key].values[0].astype(np.float64)
        peak = float(np.nanmax(v)) if np.isfinite(v).any() else 0.0
        ax.plot(e, v / peak if peak > 0 else v, color=color, lw=0.8, label=f"{name} / maximum")
    ax.set_xlim(float(e[0]), float(e[-1]))
    ax.set_ylim(-0.04, 1.06)
    ax.set_ylabel("normalised to the maximum")
    _style.epoch_ticks(ax)
    _flow_marks(ax, marks, float(e[-1] - e[0]) or 1.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlowSnapshot:
    """One flow to draw: a run, its points, a snapshot epoch and the legend entry.

    Attributes:
        ds: one-network training Dataset with snapshots.
        points: :func:`points_dataset` of the same run.
        epoch: a snapshot epoch present in both.
        label: the flow's legend entry.
    """

    ds: xr.Dataset
    points: xr.Dataset
    epoch: int
    label: str


def _draw_flow(
    ax: Any, flow: FlowSnapshot, color: str, k: np.ndarray, lo: float, hi: float
) -> set[int]:
    """One flow over the grid ``k`` with its fixed points, ghosts and ``kappa(0)`` in
    ``[lo, hi]``; returns the stability codes of the fixed points drawn."""
    snap = flow.ds.isel(net=0).sel(snapshot=flow.epoch)
    m, n, b = (np.asarray(snap[f"snap_{v}"].values, np.float64) for v in ("m", "n", "b"))
    ax.plot(k, rank1_flow(k, m, n, b), color=color, lw=1.2, label=flow.label)
    pt = flow.points.sel(snapshot=flow.epoch)
    drawn: set[int] = set()
    for kappa, code in zip(pt["fixed_kappa"].values, pt["fixed_stability"].values, strict=True):
        if np.isfinite(kappa) and lo <= kappa <= hi and int(code) in _FIXED:
            ax.plot([kappa], [0.0], "o", ms=_POINT_MS, mec=_style.THEORY, mew=0.8,
                    mfc=_FIXED[int(code)][1], zorder=4)  # fmt: skip
            drawn.add(int(code))
    ghosts = pt["ghost_kappa"].values
    ghosts = ghosts[np.isfinite(ghosts) & (ghosts >= lo) & (ghosts <= hi)]
    if ghosts.size:
        ax.plot(ghosts, rank1_flow(ghosts, m, n, b), ls="none", ms=_POINT_MS, mew=0.8,
                zorder=4, **_GHOST)  # fmt: skip
    k0 = float(latent_trajectories(flow.ds, [flow.epoch])[0, 0])
    if lo <= k0 <= hi:
        f0 = rank1_flow(np.asarray([k0]), m, n, b)
        ax.plot([k0], f0, "o", ms=_KAPPA0_MS, color=KAPPA0_COLOR, zorder=5)
    return drawn


def draw_flows(
    ax: Any, flows: Sequence[FlowSnapshot], *, kappa_range: tuple[float, float] = KAPPA_RANGE
) -> set[int]:
    """Latent flows ``f(kappa) = -kappa + n . tanh(m kappa + b)`` overlaid on one axis.

    Each flow (colours :data:`FLOW_COLORS` in order) is drawn with its fixed points on
    ``f = 0`` (filled: stable, open: unstable, grey: half-stable), its ghosts (diamonds
    at their minimum of ``|f|``) and, as the paper's red dots, ``kappa(0)`` on the curve;
    a dashed line marks the readout threshold. Points outside ``kappa_range`` are not
    drawn. The markers' legend is :func:`marker_key`'s; the curves' is the axes'.

    Args:
        ax: matplotlib axes.
        flows: the flows, in order.
        kappa_range: the kappa interval drawn.

    Returns:
        The stability codes of the fixed points drawn (for :func:`marker_key`).
    """
    lo, hi = (float(v) for v in kappa_range)
    k = np.linspace(lo, hi, 1000)
    ax.axhline(0.0, color=_style.GREY, lw=0.6)
    for thr in sorted({float(model_from_dataset(f.ds).kappa_thr) for f in flows}):
        ax.axvline(thr, color=_style.GREY, ls="--", lw=0.8)
    drawn: set[int] = set()
    for j, flow in enumerate(flows):
        drawn |= _draw_flow(ax, flow, FLOW_COLORS[j % len(FLOW_COLORS)], k, lo, hi)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("latent variable κ")
    ax.set_ylabel("f(κ) = τ dκ/dt")
    ax.legend(loc="upper right")
    return drawn


def marker_key(thr: float, stabilities: set[int] | None = None) -> list[Line2D]:
    """Legend handles of the flow panels' markers: kappa(0), fixed points, ghosts, threshold.

    Stable and unstable fixed points, ghosts and kappa(0) are always listed (a key, whether
    or not a given run shows them); half-stable points only when ``stabilities`` holds
    them.
    """
    codes = {1, 2} | (set() if stabilities is None else set(stabilities) & {3})
    key = [Line2D([], [], ls="none", marker="o", ms=_KAPPA0_MS, color=KAPPA0_COLOR,
                  label="κ(0), where a trial starts")]  # fmt: skip
    key += [
        Line2D([], [], ls="none", marker="o", ms=_POINT_MS, mec=_style.THEORY, mew=0.8,
               mfc=_FIXED[c][1], label=_FIXED[c][0])
        for c in sorted(codes)
    ]  # fmt: skip
    key.append(Line2D([], [], ls="none", ms=_POINT_MS, mew=0.8,
                      label="ghost (minimum of |f| off zero)", **_GHOST))  # fmt: skip
    key.append(Line2D([], [], color=_style.GREY, ls="--", lw=0.8,
                      label=f"readout threshold κ = {thr:g}"))  # fmt: skip
    return key
