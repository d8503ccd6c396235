"""Figure of one analysed run, in the style of the paper's Fig. 3.

Top: loss and gradient norm over epochs, with the abrupt drops shaded, bifurcations as
vertical lines and ghost emergences as triangles; then the number of fixed points and
ghosts per snapshot. Bottom (rank one): the latent flow ``f(kappa)`` at chosen epochs with
fixed points (filled: stable, open: unstable, half-filled: half-stable) and ghosts
(diamonds at ``(kappa*, f(kappa*))``). Rank K >= 2: phase portraits
(:func:`plot_phase_portrait`) at those epochs, one plane and one colour scale for all:
the speed ``|F|`` (log scale), streamlines, the trial's latent trajectory (when the run
records its start), fixed points by class, ghosts and the readout's decision boundary
(when the run records the readout); K > 2 on the plane of the two leading directions.

The functions return matplotlib objects built without ``pyplot``: nothing is shown or
saved (``ghostlearn.store.write_figure`` saves a figure).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import _validate
from ..plotting import OKABE_ITO
from .flows import LowRankFlow, Rank1Flow
from .plane import (
    LatentPlane,
    latent_trial,
    leading_plane,
    plane_field,
    plane_limits,
    readout_values,
    state_readout,
    trial_start,
)
from .points import DEFAULT_INTERVAL, FlowPoints
from .run import RunAnalysis
from .slowpoints import STABILITY_CLASSES, SlowPoint, SlowPoints, find_slow_points

__all__ = ["OKABE_ITO", "POINT_STYLES", "plot_phase_portrait", "plot_run", "portrait_legend"]

_CYCLE = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky_blue")]


def _default_flow_epochs(ra: RunAnalysis, n_max: int = 5) -> list[float]:
    se = ra.snapshot_epochs
    chosen: list[float] = [float(se[0])]
    d = ra.verdict.drop or (ra.drops[0] if ra.drops else None)
    if d is not None:
        chosen += [d.onset_epoch, d.end_epoch]
    real = [b for b in ra.bifurcations if b.is_bifurcation]
    b = ra.verdict.bifurcation or (real[-1] if real else None)
    if b is not None:
        chosen += [b.epoch_before, b.epoch_after]
    chosen.append(float(se[-1]))
    # Nearest snapshots, unique, in order; keep the first and last when trimming.
    idx = sorted({int(np.argmin(np.abs(se - c))) for c in chosen})
    if len(idx) > n_max:
        idx = idx[: n_max - 1] + idx[-1:]
    return [float(se[i]) for i in idx]


def plot_run(
    analysis: RunAnalysis,
    *,
    flow_epochs: Any = None,
    kappa_range: tuple[float, float] | None = None,
    n_kappa: int = 1000,
    title: str | None = None,
) -> Figure:
    """Loss, gradient norm, events, point counts and latent flows of one run.

    Example (saving is the caller's business)::

        fig = plot_run(analyze_run(epochs, m, n, b, loss, grad_norm))
        ghostlearn.store.write_figure(fig, folder)

    Args:
        analysis: a :class:`~ghostlearn.analysis.run.RunAnalysis`.
        flow_epochs: epochs whose flows are drawn (nearest snapshots); default: the first
            snapshot, the onset and end of the first drop, the snapshots around the named
            (or last) bifurcation, the last snapshot (at most five).
        kappa_range: kappa axis of the flow panels (default: the analysed interval); rank
            K = 2: both axes of the portraits (default: around the points and the trial).
        n_kappa: points per flow curve.
        title: figure title (default: the verdict).

    Returns:
        The figure (never shown, never saved).
    """
    if not isinstance(analysis, RunAnalysis):
        raise ValueError(f"analysis must be a RunAnalysis, got {type(analysis).__name__}")
    ra = analysis
    se = ra.snapshot_epochs
    epochs = _default_flow_epochs(ra) if flow_epochs is None else list(np.atleast_1d(flow_epochs))
    snaps = sorted({int(np.argmin(np.abs(se - float(e)))) for e in epochs})
    n_flow = max(len(snaps), 1)
    fig = Figure(figsize=(max(9.0, 3.0 * n_flow), 8.0), layout="constrained")
    gs = fig.add_gridspec(3, n_flow, height_ratios=[1.3, 0.7, 1.4])

    ax = fig.add_subplot(gs[0, :])
    ax.plot(ra.loss_epochs, ra.loss, color=OKABE_ITO["blue"], lw=1, label="loss")
    ax.set_yscale("log")
    ax.set_ylabel("loss", color=OKABE_ITO["blue"])
    for d in ra.drops:
        ax.axvspan(d.onset_epoch, d.end_epoch, color=OKABE_ITO["sky_blue"], alpha=0.3, lw=0)
    for b in ra.bifurcations:
        if b.is_bifurcation:
            ax.axvline(b.epoch_after, color=OKABE_ITO["vermillion"], ls="--", lw=1)
    for ev in ra.ghost_events:
        if ev.kind == "emerge":
            ax.plot(
                [ev.epoch_after], [1.0], marker="v", color=OKABE_ITO["purple"], ms=8,
                transform=ax.get_xaxis_transform(), clip_on=False,
            )  # fmt: skip
    for s in snaps:
        ax.axvline(se[s], color="0.6", lw=0.6, ls=":")
    if ra.grad_norm is not None:
        ax2 = ax.twinx()
        g = np.where(ra.grad_norm > 0, ra.grad_norm, np.nan)
        ax2.plot(ra.loss_epochs, g, color=OKABE_ITO["orange"], lw=0.8, alpha=0.8)
        ax2.set_yscale("log")
        ax2.set_ylabel("gradient norm", color=OKABE_ITO["orange"])
    ax.set_xlabel("epoch")
    ax.set_title(
        title or textwrap.fill(f"{ra.verdict.label}: {ra.verdict.reason}", 110), fontsize=9
    )

    axc = fig.add_subplot(gs[1, :], sharex=ax)
    axc.step(se, ra.n_fixed, where="post", color=OKABE_ITO["black"], label="fixed points")
    axc.step(se, ra.n_ghosts, where="post", color=OKABE_ITO["purple"], label="ghosts")
    axc.set_ylabel("count")
    axc.set_xlabel("epoch")
    axc.legend(loc="upper left", fontsize=8, frameon=False)

    lo, hi = ra.settings["interval"] if kappa_range is None else kappa_range
    if isinstance(ra.points, FlowPoints):
        for col, s in enumerate(snaps):
            axf = fig.add_subplot(gs[2, col])
            color = _CYCLE[col % len(_CYCLE)]
            _flow_panel_1d(axf, ra, s, lo, hi, n_kappa, color)
            axf.set_title(f"epoch {se[s]:g}", fontsize=9, color=color)
        return fig
    plane, limits, norm = _kd_layout(ra, snaps, None if kappa_range is None else (lo, hi))
    panels = []
    for col, s in enumerate(snaps):
        axf = fig.add_subplot(gs[2, col])
        color = _CYCLE[col % len(_CYCLE)]
        _flow_panel_kd(axf, ra, s, plane, limits, norm, legend=False)
        axf.set_title(f"epoch {se[s]:g}", fontsize=9, color=color)
        panels.append(axf)
    assert isinstance(ra.points, SlowPoints)
    classes = set(ra.points.stability[snaps].ravel().tolist()) - {""}
    handles = portrait_legend(
        sorted(classes), trajectory=ra.trial is not None, boundary=ra.readout is not None,
        projected=plane.projected,
    )  # fmt: skip
    if handles:
        panels[0].legend(handles=handles, loc="upper right", fontsize=6.5, framealpha=0.85)
    _speed_colorbar(fig, panels, norm, plane.projected)
    return fig


def _kd_layout(
    ra: RunAnalysis, snaps: list[int], box: tuple[float, float] | None
) -> tuple[LatentPlane, Any, tuple[float, float]]:
    """One plane, one window and one speed range for all the portraits of a run."""
    flow = ra.flow
    assert isinstance(flow, LowRankFlow) and isinstance(ra.points, SlowPoints)
    data: list[np.ndarray] = [ra.points.kappa[snaps]]
    for s in snaps:
        t = _run_trajectory(ra, s)
        if t is not None:
            data.append(t)
    plane = leading_plane(flow[snaps[0]], data)
    if box is not None and not plane.projected:
        limits = (box, box)
    else:
        limits = plane_limits(plane, [*data, plane.origin[None]], box=DEFAULT_INTERVAL)
    lo, hi = np.inf, 0.0
    for s in snaps:
        sp = plane_field(flow[s], plane, limits, 24).speed
        lo, hi = min(lo, float(sp.min())), max(hi, float(sp.max()))
    lo = max(lo, 1e-6 * hi, 1e-12)
    return plane, limits, (lo, max(hi, 10 * lo))


def _speed_colorbar(
    fig: Figure, axes: list[Any], norm: tuple[float, float], projected: bool
) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    sm = ScalarMappable(norm=LogNorm(*norm), cmap="magma_r")
    label = "speed |F| on the plane" if projected else "speed |F|"
    fig.colorbar(sm, ax=axes, label=label, shrink=0.9, pad=0.01)


def _flow_panel_1d(
    ax: Any, ra: RunAnalysis, s: int, lo: float, hi: float, n: int, color: str
) -> None:
    flow = ra.flow
    assert isinstance(flow, Rank1Flow) and isinstance(ra.points, FlowPoints)
    k = np.linspace(lo, hi, n)
    f = Rank1Flow(flow.m[s], flow.n[s], flow.b[s])(k)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.plot(k, f, color=color, lw=1.5)
    pts = ra.points[s]
    for fp in pts.fixed_points:
        face = {"stable": OKABE_ITO["black"], "unstable": "white", "half-stable": "0.6"}
        ax.plot(
            [fp.kappa], [0.0], "o", ms=7, mec=OKABE_ITO["black"], mfc=face[fp.stability], zorder=3
        )
    for gh in pts.ghosts:
        fval = np.sign(np.interp(gh.kappa, k, f)) * gh.depth
        ax.plot([gh.kappa], [fval], "D", ms=6, color=OKABE_ITO["purple"], zorder=3)
    # Zoom on the slow part of the flow, as in the paper's Fig. 3.
    span = float(np.clip(0.3 * np.nanmedian(np.abs(f)), 0.5, 5.0))
    if pts.ghosts:
        span = max(span, 3.0 * max(g.depth for g in pts.ghosts))
    ax.set_ylim(-span, span)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("kappa")
    ax.set_ylabel("f(kappa) = tau dkappa/dt")


def _flow_panel_kd(
    ax: Any, ra: RunAnalysis, s: int, plane: Any, limits: Any, speed_range: Any, legend: bool
) -> Any:
    assert isinstance(ra.flow, LowRankFlow)
    flow = ra.flow[s]
    traj = _run_trajectory(ra, s)
    return plot_phase_portrait(
        flow,
        points=ra.points.take([s]) if isinstance(ra.points, SlowPoints) else None,
        trajectories=None if traj is None else traj[None],
        readout=_run_readout(ra, s),
        plane=plane,
        limits=limits,
        n_grid=60,
        speed_range=speed_range,
        colorbar=False,
        legend=legend,
        title="",
        ax=ax,
    )


def _run_trajectory(ra: RunAnalysis, s: int) -> np.ndarray | None:
    """The task's trial in the latent space at snapshot ``s`` (``[T + 1, K]``), if known."""
    if ra.trial is None or not isinstance(ra.flow, LowRankFlow):
        return None
    flow = ra.flow[s]
    k0 = trial_start(flow, ra.trial["x0"])
    return latent_trial(flow, k0, D=float(ra.trial["D"]), n_steps=int(ra.trial["n_steps"]))


def _run_readout(ra: RunAnalysis, s: int) -> Any:
    """The readout's boundary function at snapshot ``s`` (see ``RunAnalysis.readout``)."""
    r = ra.readout
    if r is None or not isinstance(ra.flow, LowRankFlow):
        return None
    if r.kind == "latent":
        return (r.w_out[s], float(r.b_out[s]), r.threshold)
    return state_readout(ra.flow[s], r.w_out[s], float(r.b_out[s]), r.threshold)


# --------------------------------------------------------------------------- portraits

#: Marker of each class of point in a phase portrait (matplotlib ``plot`` keywords).
POINT_STYLES: dict[str, dict[str, Any]] = {
    "stable node": {"marker": "o", "mfc": OKABE_ITO["black"], "mec": "black"},
    "stable focus": {"marker": "h", "mfc": OKABE_ITO["black"], "mec": "black"},
    "saddle": {"marker": "X", "mfc": OKABE_ITO["vermillion"], "mec": "black"},
    "unstable node": {"marker": "o", "mfc": "white", "mec": "black"},
    "unstable focus": {"marker": "h", "mfc": "white", "mec": "black"},
    "marginal": {"marker": "s", "mfc": "0.6", "mec": "black"},
    "ghost": {"marker": "D", "mfc": OKABE_ITO["orange"], "mec": "black"},
}
_TRAJ_COLORS = [OKABE_ITO[k] for k in ("blue", "green", "purple", "sky_blue", "vermillion")]


def _portrait_points(points: Any, flow: LowRankFlow) -> list[SlowPoint]:
    if points is None:
        return list(find_slow_points(flow)[()])
    if isinstance(points, SlowPoints):
        if points.batch_shape not in ((), (1,)):
            raise ValueError(
                "points must be the SlowPoints of one flow (batch () or (1,)), got batch "
                f"{points.batch_shape}"
            )
        return list(points[(0,) * len(points.batch_shape)])
    out = list(points)
    for p in out:
        if not isinstance(p, SlowPoint):
            raise ValueError(f"points must hold SlowPoint objects, got {type(p).__name__}")
    return out


def plot_phase_portrait(
    flow: LowRankFlow,
    *,
    points: SlowPoints | Sequence[SlowPoint] | None = None,
    trajectories: Any = None,
    readout: Any = None,
    plane: LatentPlane | None = None,
    limits: tuple[tuple[float, float], tuple[float, float]] | None = None,
    n_grid: int = 120,
    streamlines: bool = True,
    arrows: bool = False,
    speed_range: tuple[float, float] | None = None,
    colorbar: bool = True,
    legend: bool = True,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Phase portrait of one rank-K latent flow (K >= 2) in a plane.

    Draws, on the plane ``kappa = origin + a e_1 + b e_2`` (K = 2: the latent plane; K > 2:
    the plane of the two leading directions, :func:`~ghostlearn.analysis.plane.
    leading_plane`, said so in the title and axis labels):

    - the speed ``|F| = tau |dkappa/dt|`` as a heat map with a logarithmic colour scale
      (for K > 2, on the plane: a slice);
    - streamlines of ``F`` (for K > 2, of its projection on the plane);
    - ``trajectories`` ``[C, T, K]`` (computed by the caller, e.g.
      :func:`~ghostlearn.analysis.plane.latent_trial`), a circle at each start;
    - fixed points by class (:data:`POINT_STYLES`: filled stable, open unstable, hexagons
      for foci, crosses for saddles, grey squares for marginal points) and ghosts
      (diamonds), with a legend of the classes shown (K > 2: their projections);
    - the readout's decision boundary, dashed: ``readout`` is a callable ``g(kappa)``
      (boundary ``g = 0``) or ``(w_out [K], b_out, threshold)`` (the line
      ``w_out . kappa + b_out = threshold``); :func:`~ghostlearn.analysis.plane.
      state_readout` gives the callable of a readout of the state.

    Example (saving is the caller's business)::

        flow = LowRankFlow(M, Nmat, b)
        ax = plot_phase_portrait(flow, trajectories=latent_trial(flow, k0, D=0.5, n_steps=40)[None])
        ghostlearn.store.write_figure(ax.figure, folder)

    Args:
        flow: one :class:`~ghostlearn.analysis.flows.LowRankFlow` (batch ``()``), K >= 2.
        points: its :class:`~ghostlearn.analysis.slowpoints.SlowPoints` (batch ``()`` or
            ``(1,)``) or a sequence of :class:`~ghostlearn.analysis.slowpoints.SlowPoint`;
            None: found here with :func:`~ghostlearn.analysis.slowpoints.find_slow_points`.
        trajectories: optional ``[C, T, K]`` latent trajectories.
        readout: optional readout (see above).
        plane: the plane (default :func:`~ghostlearn.analysis.plane.leading_plane` of the
            trajectories and points).
        limits: ``((a_lo, a_hi), (b_lo, b_hi))`` (default: the points and trajectories,
            padded).
        n_grid: grid points per axis of the heat map and streamlines.
        streamlines: draw streamlines.
        arrows: draw the flow's direction as arrows of equal length on a coarse grid
            (about 15 per axis): much quicker than streamlines, e.g. for every frame of
            a film.
        speed_range: ``(vmin, vmax)`` of the colour scale (default: the grid's range),
            e.g. shared by several panels.
        colorbar: add a colour bar.
        legend: add the legend.
        title: axes title (default: what the plane is; ``""`` for none).
        ax: matplotlib Axes to draw in (default: a new Figure, made without pyplot).

    Returns:
        The Axes (``ax.figure`` is the figure; never shown, never saved).

    Raises:
        ValueError: for a flow that is not a single rank-K flow with K >= 2, or bad
            ``trajectories``, ``points``, ``plane`` or ``readout``.
    """
    from matplotlib.colors import LogNorm

    if not isinstance(flow, LowRankFlow) or flow.batch_shape != ():
        raise ValueError("flow must be one LowRankFlow (batch ()), e.g. run.flow[s]")
    K = flow.rank
    if K < 2:
        raise ValueError(f"a phase portrait needs K >= 2, got K = {K}")
    _validate.at_least("n_grid", n_grid, 4)
    pts = _portrait_points(points, flow)
    traj = None
    if trajectories is not None:
        traj = np.asarray(trajectories, dtype=np.float64)
        if traj.ndim == 2:
            traj = traj[None]
        if traj.ndim != 3 or traj.shape[-1] != K:
            raise ValueError(
                f"trajectories must have shape [conditions, steps, K = {K}], got {traj.shape}"
            )
    kappas = np.array([p.kappa for p in pts]).reshape(-1, K)
    data = [kappas] + ([traj] if traj is not None else [])
    if plane is None:
        plane = leading_plane(flow, data)
    if plane.rank != K:
        raise ValueError(f"plane must have K = {K}, got {plane.rank}")
    if limits is None:
        limits = plane_limits(plane, [*data, plane.origin[None]], box=DEFAULT_INTERVAL)
    if ax is None:
        fig = Figure(figsize=(5.2, 4.4), layout="constrained")
        ax = fig.add_subplot()
    field = plane_field(flow, plane, limits, n_grid)
    speed = np.maximum(field.speed, 1e-12)
    lo, hi = speed_range if speed_range is not None else (float(speed.min()), float(speed.max()))
    lo = max(lo, 1e-12)
    hi = max(hi, lo * 10)
    mesh = ax.pcolormesh(field.a, field.b, speed, norm=LogNorm(lo, hi), cmap="magma_r",
                         shading="auto", rasterized=True)  # fmt: skip
    if streamlines:
        ax.streamplot(
            field.a,
            field.b,
            field.flow[..., 0],
            field.flow[..., 1],
            density=0.9,
            color="0.3",
            linewidth=0.5,
            arrowsize=0.6,
            broken_streamlines=True,
        )
    if arrows:
        step = max(1, n_grid // 15)
        d = field.flow[::step, ::step]
        norm = np.hypot(d[..., 0], d[..., 1])
        norm = np.where(norm > 0, norm, 1.0)
        ax.quiver(field.a[::step], field.b[::step], d[..., 0] / norm, d[..., 1] / norm,
                  color="0.3", angles="xy", pivot="mid", width=0.004)  # fmt: skip
    boundary = False
    if readout is not None:
        z = readout_values(readout, field.points())
        if np.nanmin(z) < 0 < np.nanmax(z):
            ax.contour(field.a, field.b, z, levels=[0.0], colors="black", linewidths=1.2,
                       linestyles="--")  # fmt: skip
            boundary = True
    if traj is not None:
        ab = plane.to_plane(traj)
        for c in range(ab.shape[0]):
            color = _TRAJ_COLORS[c % len(_TRAJ_COLORS)]
            ax.plot(ab[c, :, 0], ab[c, :, 1], "-", color=color, lw=1.3, zorder=3)
            ax.plot(ab[c, 1:, 0], ab[c, 1:, 1], ".", color=color, ms=3, zorder=3)
            ax.plot(ab[c, 0, 0], ab[c, 0, 1], "o", mfc="white", mec=color, ms=6, zorder=4)
    shown: list[str] = []
    for p in pts:
        cls = _class_of(p)
        style = POINT_STYLES.get(cls, POINT_STYLES["marginal"])
        a, b = plane.to_plane(np.asarray(p.kappa))
        ax.plot([a], [b], ls="none", ms=8 if cls != "ghost" else 7, zorder=5, **style)
        if cls not in shown:
            shown.append(cls)
    handles = portrait_legend(shown, trajectory=traj is not None, boundary=boundary,
                              projected=plane.projected)  # fmt: skip
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.set_xlabel(_axis_label(plane, 0))
    ax.set_ylabel(_axis_label(plane, 1))
    if title is None:
        title = (
            "latent flow (K = 2)"
            if not plane.projected
            else f"K = {K}: projection on the two leading directions"
        )
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="speed |F| = tau |dkappa/dt|")
    if legend and handles:
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.85)
    return ax


def _class_of(p: SlowPoint) -> str:
    return p.stability or ("ghost" if p.kind == "ghost" else p.kind)


def portrait_legend(
    classes: Sequence[str], *, trajectory: bool, boundary: bool, projected: bool = False
) -> list[Any]:
    """Legend handles of a phase portrait: the readout boundary, the trial, and the given
    point classes (:data:`POINT_STYLES` keys) in a fixed order."""
    from matplotlib.lines import Line2D

    handles: list[Any] = []
    if boundary:
        handles.append(Line2D([], [], color="black", ls="--", lw=1.2, label="readout boundary"))
    if trajectory:
        label = "trial kappa(t)" + (" (projected)" if projected else "")
        handles.append(
            Line2D([], [], color=_TRAJ_COLORS[0], marker="o", mfc="white", ms=5, label=label)
        )
    for cls in (*STABILITY_CLASSES, "ghost"):
        if cls in classes:
            label = cls if cls != "ghost" else "ghost (min of |F| > 0)"
            handles.append(Line2D([], [], ls="none", ms=7, label=label, **POINT_STYLES[cls]))
    return handles


def _axis_label(plane: LatentPlane, i: int) -> str:
    if not plane.projected:
        return f"kappa_{i + 1}"
    return f"{plane.labels[i]} (projection)"
