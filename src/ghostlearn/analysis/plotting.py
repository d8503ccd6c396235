"""Figure of one analysed run, in the style of the paper's Fig. 3.

Top: loss and gradient norm over epochs, with the abrupt drops shaded, bifurcations as
vertical lines and ghost emergences as triangles; then the number of fixed points and
ghosts per snapshot. Bottom (rank one): the latent flow ``f(kappa)`` at chosen epochs with
fixed points (filled: stable, open: unstable, half-filled: half-stable) and ghosts
(diamonds at ``(kappa*, f(kappa*))``). Rank K = 2: the speed ``|F|`` over the latent plane
with the points; K > 2: the points' first two coordinates.

The function returns a :class:`matplotlib.figure.Figure` built without ``pyplot``: nothing
is shown or saved (``ghostlearn.store.write_figure`` saves it).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..plotting import OKABE_ITO
from .flows import Rank1Flow, lowrank_flow
from .points import FlowPoints
from .run import RunAnalysis

__all__ = ["OKABE_ITO", "plot_run"]

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
        kappa_range: kappa axis of the flow panels (default: the analysed interval).
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
    for col, s in enumerate(snaps):
        axf = fig.add_subplot(gs[2, col])
        color = _CYCLE[col % len(_CYCLE)]
        if isinstance(ra.points, FlowPoints):
            _flow_panel_1d(axf, ra, s, lo, hi, n_kappa, color)
        else:
            _flow_panel_kd(axf, ra, s, lo, hi)
        axf.set_title(f"epoch {se[s]:g}", fontsize=9, color=color)
    return fig


def _flow_panel_1d(ax: Any, ra: RunAnalysis, s: int, lo: float, hi: float, n: int, color: str):
    flow = ra.flow
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


def _flow_panel_kd(ax: Any, ra: RunAnalysis, s: int, lo: float, hi: float):
    flow = ra.flow
    K = ra.points.kappa.shape[-1]
    if K == 2:
        g = np.linspace(lo, hi, 120)
        X, Y = np.meshgrid(g, g)
        pts = np.stack([X.ravel(), Y.ravel()], axis=-1)
        F = lowrank_flow(pts, flow.M[s], flow.Nmat[s], flow.b[s])
        speed = np.linalg.norm(F, axis=-1).reshape(X.shape)
        ax.contourf(X, Y, np.log10(speed + 1e-12), levels=20, cmap="cividis")
    for p in ra.points[s]:
        style = {
            "stable": ("o", OKABE_ITO["black"]),
            "unstable": ("o", "white"),
            "saddle": ("s", "0.6"),
            "ghost": ("D", OKABE_ITO["purple"]),
        }[p.kind]
        ax.plot([p.kappa[0]], [p.kappa[1] if K > 1 else 0.0], style[0], mfc=style[1], mec="k")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("kappa_1")
    ax.set_ylabel("kappa_2")
