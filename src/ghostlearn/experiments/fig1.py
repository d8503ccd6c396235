"""Fig. 1: the flow of dx/dt = x^2 + r on either side of the saddle-node bifurcation.

For ``r < 0`` the flow has a stable fixed point at ``-sqrt(-r)`` (and an unstable one at
``+sqrt(-r)``): from ``x(0) = 0`` the state settles at ``-sqrt(-r)`` and never reaches the
threshold. For ``r > 0`` there is no fixed point; the flow is slowest at ``x = 0``
(speed ``r``) and ``x`` escapes to ``+inf`` at ``t_esc = pi / (2 sqrt r)``, crossing
``x_thr`` shortly before. The slowest point is drawn as a ghost only where its speed is
near zero on the task's scale (:func:`is_ghost`: ``r <= 0.01 x_thr^2``); for ``r = 1``
and ``x_thr = 5`` it is an ordinary slowest point. The trajectories are computed twice:
from the closed form and by an independent high-accuracy ODE solve (DOP853), which the
claims compare.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.integrate import solve_ivp

from .. import _validate, toy
from . import _style, base
from .base import Claim, Fidelity, Progress

NAME = "fig1"
TITLE = "Flow of the toy model dx/dt = x^2 + r for r > 0 (ghost) and r < 0 (fixed points)"

#: The numerical solve stops once x reaches this value ("escaped").
ESCAPE_VALUE = 1e8

#: A slowest point x = 0 (speed r > 0) is drawn as a ghost when its speed is at most this
#: share of the speed x_thr^2 the flow has at the threshold: only there is it a near-zero
#: bottleneck on the scale of the task (``dx/dt = x^2 + r`` rescaled by ``x_thr`` depends
#: on ``r / x_thr^2`` alone).
GHOST_MAX_SPEED_RATIO = 0.01

#: Colour of the initial state x(0) = 0 (the paper's red dot); the r values take the
#: other colours of the cycle.
X0_COLOR = _style.CYCLE[1]
R_COLORS = [c for c in _style.CYCLE if c != X0_COLOR]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of Fig. 1.

    Attributes:
        r_values: parameters shown; at least one > 0 and one < 0.
        x_thr: output threshold, > 0.
        x_range: (lo, hi) of the flow plot.
        n_x: points of the flow plot, >= 3.
        t_max: end of the trajectory plot, > 0.
        n_t: time points, >= 2.
    """

    r_values: tuple[float, ...] = (1.0, 0.05, -0.25, -1.0)
    x_thr: float = 5.0
    x_range: tuple[float, float] = (-2.5, 6.0)
    n_x: int = 851
    t_max: float = 10.0
    n_t: int = 1001

    def __post_init__(self) -> None:
        if len(self.r_values) == 0:
            raise ValueError("r_values must not be empty")
        _validate.finite("r_values", np.asarray(self.r_values, dtype=float))
        if not (min(self.r_values) < 0 < max(self.r_values)):
            raise ValueError(
                f"r_values must hold at least one value > 0 and one < 0, got {self.r_values}"
            )
        _validate.positive("x_thr", self.x_thr)
        _validate.interval("x_range", self.x_range)
        _validate.at_least("n_x", self.n_x, 3)
        _validate.positive("t_max", self.t_max)
        _validate.at_least("n_t", self.n_t, 2)


def config(fidelity: Fidelity) -> Config:
    """The same (cheap, complete) parameters at both fidelities."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    return Config()


def _solve(r: float, t: np.ndarray, x_thr: float) -> tuple[np.ndarray, float, float]:
    """DOP853 solve of dx/dt = x^2 + r from 0; NaN after escape; (x, t_thr, t_escape)."""

    def crossed(_t: float, x: np.ndarray) -> float:
        return x[0] - x_thr

    def escaped(_t: float, x: np.ndarray) -> float:
        return x[0] - ESCAPE_VALUE

    # solve_ivp reads an event's options from attributes of the function itself.
    escaped.terminal = True  # type: ignore[attr-defined]
    sol = solve_ivp(
        lambda _t, x: x**2 + r,
        (0.0, float(t[-1])),
        [0.0],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        dense_output=True,
        events=(crossed, escaped),
    )
    t_thr = float(sol.t_events[0][0]) if sol.t_events[0].size else math.inf
    t_esc = float(sol.t_events[1][0]) if sol.t_events[1].size else math.inf
    x = np.full(t.shape, np.nan)
    inside = t <= sol.t[-1]
    x[inside] = sol.sol(t[inside])[0]
    return x, t_thr, t_esc


def run(cfg: Config, progress: Progress | None = None) -> xr.Dataset:
    """Flow and trajectories for every r (closed form and numerical solve).

    Returns:
        Dataset with dims ``r``, ``x``, ``t``: ``flow`` (r, x), ``x_closed`` (r, t; +inf
        after the blow-up), ``x_numeric`` (r, t; NaN after the solve stopped at
        ``x = 1e8``), ``escape_time`` and ``threshold_time`` (r, closed form),
        ``escape_time_numeric`` (time to reach 1e8) and ``threshold_time_numeric`` (r).
    """
    r = np.asarray(cfg.r_values, dtype=float)
    x = np.linspace(*cfg.x_range, cfg.n_x)
    t = np.linspace(0.0, cfg.t_max, cfg.n_t)
    numeric = np.empty((r.size, t.size))
    t_thr_num = np.empty(r.size)
    t_esc_num = np.empty(r.size)
    for i, ri in enumerate(r):
        numeric[i], t_thr_num[i], t_esc_num[i] = _solve(float(ri), t, cfg.x_thr)
        if progress is not None:
            progress(i + 1, r.size)
    return xr.Dataset(
        {
            "flow": (("r", "x"), toy.flow(x[None, :], r[:, None]), {"long_name": "dx/dt"}),
            "x_closed": (("r", "t"), toy.trajectory(t[None, :], r[:, None])),
            "x_numeric": (("r", "t"), numeric),
            "escape_time": ("r", np.atleast_1d(toy.escape_time(r))),
            "threshold_time": ("r", np.atleast_1d(toy.threshold_time(r, cfg.x_thr))),
            "escape_time_numeric": ("r", t_esc_num),
            "threshold_time_numeric": ("r", t_thr_num),
        },
        coords={"r": r, "x": x, "t": ("t", t, {"units": "[t]"})},
        attrs={"x_thr": cfg.x_thr, "escape_value": ESCAPE_VALUE},
    )


def _count_roots(values: np.ndarray) -> int:
    s = np.sign(values)
    return int(np.sum(s[:-1] * s[1:] < 0) + np.sum(s == 0))


@dataclasses.dataclass(frozen=True, kw_only=True)
class PerR:
    """The measured numbers of one value of ``r``.

    Attributes:
        r: the parameter of ``dx/dt = x^2 + r``.
        n_fixed_points_on_grid: sign changes (and zeros) of the flow on the x grid.
        escape_time: closed-form time ``pi / (2 sqrt r)`` at which x(t) from 0 blows up
            (inf for ``r <= 0``), in units of [t].
        escape_time_numeric: time the DOP853 solve reaches x = 1e8 (inf if never), [t].
        threshold_time: closed-form time x(t) reaches ``x_thr`` (inf if never), [t].
        threshold_time_numeric: time the DOP853 solve reaches ``x_thr`` (inf if never), [t].
        max_abs_closed_minus_numeric: largest |closed form - solve| over the times where
            both are finite and the closed form is below 1e3 in size.
        stable_fixed_point: ``-sqrt(-r)`` for ``r < 0``; None (absent from
            ``summary.json``) for ``r > 0``.
        x_final_numeric: the solve's x at ``t_max`` for ``r < 0``; None (absent) for
            ``r > 0``.
    """

    r: float
    n_fixed_points_on_grid: int
    escape_time: float
    escape_time_numeric: float
    threshold_time: float
    threshold_time_numeric: float
    max_abs_closed_minus_numeric: float
    stable_fixed_point: float | None = None
    x_final_numeric: float | None = None


#: Fields of :class:`PerR` measured only for ``r < 0``: ``summary.json`` leaves them out
#: for ``r > 0`` rather than writing null (which there means a non-finite number).
_NEGATIVE_R_ONLY = ("stable_fixed_point", "x_final_numeric")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """The measured numbers of Fig. 1.

    Attributes:
        x_thr: the output threshold (the config's), in units of x.
        per_r: one entry per ``r`` of the config, in its order.
        escape_time_max_rel_error: largest |numeric / closed-form - 1| of the escape time
            over ``r > 0``.
        threshold_time_max_rel_error: the same for the time to reach ``x_thr``.
        fixed_points_r_positive: fixed points found on the grid for each ``r > 0``.
        fixed_points_r_negative: fixed points found on the grid for each ``r < 0``.
        settling_max_abs_error: largest |x(t_max) - (-sqrt(-r))| of the solve over ``r < 0``.
        negative_r_reach_threshold: whether the solve reaches ``x_thr`` for some ``r < 0``.
        trajectory_max_abs_error: largest |closed form - solve| over every ``r``.
    """

    x_thr: float
    per_r: list[PerR]
    escape_time_max_rel_error: float
    threshold_time_max_rel_error: float
    fixed_points_r_positive: list[int]
    fixed_points_r_negative: list[int]
    settling_max_abs_error: float
    negative_r_reach_threshold: bool
    trajectory_max_abs_error: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; the ``r < 0`` fields of ``per_r`` only where measured."""
        out = super().to_dict()
        out["per_r"] = [
            {k: v for k, v in e.items() if not (k in _NEGATIVE_R_ONLY and v is None)}
            for e in out["per_r"]
        ]
        return out


def summarize(data: xr.Dataset, cfg: Config) -> Summary:
    """Fixed points on the grid, escape and threshold times, the r < 0 end states."""
    per_r = []
    for i, r in enumerate(data["r"].values):
        closed = data["x_closed"].values[i]
        numeric = data["x_numeric"].values[i]
        ok = np.isfinite(closed) & np.isfinite(numeric) & (np.abs(closed) < 1e3)
        per_r.append(
            PerR(
                r=float(r),
                n_fixed_points_on_grid=_count_roots(data["flow"].values[i]),
                escape_time=float(data["escape_time"].values[i]),
                escape_time_numeric=float(data["escape_time_numeric"].values[i]),
                threshold_time=float(data["threshold_time"].values[i]),
                threshold_time_numeric=float(data["threshold_time_numeric"].values[i]),
                max_abs_closed_minus_numeric=float(np.max(np.abs(closed[ok] - numeric[ok]))),
                stable_fixed_point=-math.sqrt(-r) if r < 0 else None,
                x_final_numeric=float(numeric[-1]) if r < 0 else None,
            )
        )
    pos = [e for e in per_r if e.r > 0]
    neg = [e for e in per_r if e.r < 0]
    settling = [
        abs(e.x_final_numeric - e.stable_fixed_point)
        for e in neg
        if e.x_final_numeric is not None and e.stable_fixed_point is not None
    ]
    return Summary(
        x_thr=cfg.x_thr,
        per_r=per_r,
        escape_time_max_rel_error=max(abs(e.escape_time_numeric / e.escape_time - 1) for e in pos),
        threshold_time_max_rel_error=max(
            abs(e.threshold_time_numeric / e.threshold_time - 1) for e in pos
        ),
        fixed_points_r_positive=[e.n_fixed_points_on_grid for e in pos],
        fixed_points_r_negative=[e.n_fixed_points_on_grid for e in neg],
        settling_max_abs_error=max(settling),
        negative_r_reach_threshold=any(math.isfinite(e.threshold_time_numeric) for e in neg),
        trajectory_max_abs_error=max(e.max_abs_closed_minus_numeric for e in per_r),
    )


def is_ghost(r: float, x_thr: float) -> bool:
    """Whether the slowest point x = 0 of ``dx/dt = x^2 + r`` counts as a ghost.

    A ghost is a near-zero minimum of the speed that is not a fixed point: ``r > 0`` and
    ``r <= GHOST_MAX_SPEED_RATIO * x_thr^2``.
    """
    return 0 < r <= GHOST_MAX_SPEED_RATIO * x_thr**2


def _r_color(i: int) -> str:
    return R_COLORS[i % len(R_COLORS)]


def _direction_arrows(ax: Axes, r: float, lo: float, hi: float, ytop: float, color: str) -> None:
    """Arrows on the flow curve pointing the way x moves (right where dx/dt > 0)."""
    xa = np.linspace(lo, hi, 10)[1:-1]
    fa = np.asarray(toy.flow(xa, r))
    keep = (np.abs(fa) < 0.9 * ytop) & (fa != 0)
    ax.quiver(
        xa[keep],
        fa[keep],
        np.sign(fa[keep]),
        np.zeros(keep.sum()),
        color=color,
        scale=14,
        width=0.008,
        headwidth=4,
        headlength=4,
        headaxislength=3.5,
        pivot="mid",
        zorder=4,
    )


def _flow_panel(ax: Axes, data: xr.Dataset, cfg: Config, positive: bool) -> None:
    """Flow dx/dt against x for the r > 0 (``positive``) or the r < 0 values."""
    x = data["x"].values
    lo, hi = cfg.x_range
    rs = np.asarray(cfg.r_values, dtype=float)
    chosen = rs[rs > 0] if positive else rs[rs < 0]
    ybottom = -1.0 if positive else min(chosen) - 0.5
    ytop = max(6.0, 2 * max(abs(chosen)))
    ax.axhline(0, color=_style.GREY, lw=0.6)
    for i, r in enumerate(data["r"].values):
        if (r > 0) != positive:
            continue
        color = _r_color(i)
        ax.plot(x, data["flow"].values[i], color=color)
        _direction_arrows(ax, float(r), lo, hi, ytop, color)
        if r < 0:
            root = math.sqrt(-r)
            ax.plot(-root, 0, "o", color=color, mec=_style.THEORY, ms=5, zorder=5)
            ax.plot(root, 0, "o", color="white", mec=color, mew=1.2, ms=5, zorder=5)
        elif is_ghost(float(r), cfg.x_thr):
            ax.plot(0, r, "D", color=color, mec=_style.THEORY, ms=6, zorder=5)
        else:
            ax.plot(0, r, "D", color="white", mec=color, mew=1.2, ms=6, zorder=5)
    ax.plot(0, 0, "o", color=X0_COLOR, ms=4, zorder=6)
    ax.axvline(cfg.x_thr, color=_style.THEORY, ls="--", lw=0.8)
    ax.set_xlim(lo, hi)
    ax.set_ylim(ybottom, ytop)
    ax.set_xlabel("x")
    ax.set_ylabel("dx/dt")
    ax.set_title("r > 0: no fixed point" if positive else "r < 0: two fixed points", loc="left")


def _legend_handles(data: xr.Dataset, cfg: Config) -> list[Line2D]:
    """One entry per r value and per marker that the figure draws."""
    rs = [float(r) for r in data["r"].values]
    handles = [Line2D([], [], color=_r_color(i), label=f"r = {r:g}") for i, r in enumerate(rs)]
    pos = [r for r in rs if r > 0]
    kinds = [
        ("o", X0_COLOR, X0_COLOR, "x(0) = 0", True),
        ("D", _style.GREY, _style.THEORY, "ghost (slowest point, speed r)",
         any(is_ghost(r, cfg.x_thr) for r in pos)),
        ("D", "white", _style.GREY, "slowest point, speed r (no ghost)",
         any(not is_ghost(r, cfg.x_thr) for r in pos)),
        ("o", _style.GREY, _style.THEORY, "stable fixed point", True),
        ("o", "white", _style.GREY, "unstable fixed point", True),
        ("o", _style.GREY, _style.GREY, "ODE solve (DOP853)", True),
    ]  # fmt: skip
    for marker, face, edge, label, shown in kinds:
        if shown:
            handles.append(
                Line2D(
                    [], [], marker=marker, color=face, mec=edge, mew=1.0, ms=5, ls="", label=label
                )
            )
    handles.append(Line2D([], [], color=_style.THEORY, ls="--", lw=0.8, label="threshold $x^*$"))
    handles.append(Line2D([], [], color=_style.GREY, ls=":", label=r"escape $t = \pi/(2\sqrt{r})$"))
    return handles


def plot(data: xr.Dataset, summary: Summary, cfg: Config) -> Figure:
    """A: the flow for r > 0 (the paper's left panel); B: for r < 0 (its right panel);
    C (beyond the paper): the trajectories x(t) from x(0) = 0, closed form and ODE solve.
    """
    fig = _style.figure(3.0, _style.PAGE)
    ax_pos, ax_neg, ax_traj = fig.subplots(1, 3)
    _flow_panel(ax_pos, data, cfg, positive=True)
    _style.panel_label(ax_pos, "A")
    _flow_panel(ax_neg, data, cfg, positive=False)
    _style.panel_label(ax_neg, "B")

    t = data["t"].values
    ytop = 2.0 * cfg.x_thr
    for i in range(data.sizes["r"]):
        color = _r_color(i)
        closed = np.clip(data["x_closed"].values[i], -np.inf, 10 * ytop)
        ax_traj.plot(t, closed, color=color)
        step = max(1, t.size // 25)
        ax_traj.plot(t[::step], data["x_numeric"].values[i][::step], "o", color=color, ms=2)
        t_esc = float(data["escape_time"].values[i])
        if math.isfinite(t_esc) and t_esc <= t[-1]:
            ax_traj.axvline(t_esc, color=color, ls=":", lw=0.8)
    ax_traj.plot(0, 0, "o", color=X0_COLOR, ms=4, zorder=6)
    ax_traj.axhline(cfg.x_thr, color=_style.THEORY, ls="--", lw=0.8)
    ax_traj.set_ylim(-1.5, ytop)
    ax_traj.set_xlim(0, t[-1])
    ax_traj.set_xlabel("time t")
    ax_traj.set_ylabel("x(t)")
    _style.beyond(ax_traj, "x(t)")
    _style.panel_label(ax_traj, "C")
    fig.legend(handles=_legend_handles(data, cfg), loc="outside lower center", ncol=4)
    return fig


def caption(summary: Summary, cfg: Config) -> str:
    """The caption of the figure, with its parameters."""
    pos = [r for r in cfg.r_values if r > 0]
    neg = [r for r in cfg.r_values if r < 0]
    ghosts = [r for r in pos if is_ghost(r, cfg.x_thr)]
    slow = [r for r in pos if not is_ghost(r, cfg.x_thr)]
    names = ", ".join
    ghost_text = (
        f"For r = {names(f'{r:g}' for r in ghosts)} it is a ghost (filled diamond): the "
        f"speed r is at most {GHOST_MAX_SPEED_RATIO:.0%} of the speed x*² = "
        f"{cfg.x_thr**2:g} at the threshold, and x lingers there before it escapes. "
        if ghosts
        else ""
    )
    slow_text = (
        f"For r = {names(f'{r:g}' for r in slow)} the slowest point (open diamond) still "
        "moves fast and is no ghost. "
        if slow
        else ""
    )
    escapes = "; ".join(f"r = {e.r:g}: {e.escape_time:.3g}" for e in summary.per_r if e.r > 0)
    return (
        "Fig. 1. The toy model dx/dt = x² + r on either side of its saddle-node bifurcation; "
        "the state starts at x(0) = 0 (red dot) and the threshold x* = "
        f"{cfg.x_thr:g} (dashed) divides the output into two states. "
        f"A, r > 0 (r = {names(f'{r:g}' for r in pos)}): the flow has no fixed point and x "
        "escapes to +∞ (arrows: direction of motion). Its slowest point is x = 0, where "
        f"dx/dt = r. {ghost_text}{slow_text}"
        f"B, r < 0 (r = {names(f'{r:g}' for r in neg)}): x settles at the stable fixed "
        "point −√(−r) (filled circle) and never reaches x*; open circles: the unstable "
        "fixed point +√(−r). "
        "C, beyond the paper: x(t) from x(0) = 0, closed form (lines) against an "
        f"independent DOP853 solve (dots, largest difference "
        f"{summary.trajectory_max_abs_error:.1e}); dotted: escape times π/(2√r) "
        f"({escapes})."
    )


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """No fixed point and finite-time escape for r > 0; settling at -sqrt(-r) for r < 0."""
    esc_err = summary.escape_time_max_rel_error
    settle = summary.settling_max_abs_error
    pos, neg = summary.fixed_points_r_positive, summary.fixed_points_r_negative
    return [
        Claim(
            figure=NAME,
            claim="For r > 0 the flow has no fixed point and x escapes to +inf in finite "
            "time pi / (2 sqrt r)",
            paper="no fixed point; escape at pi / (2 sqrt r)",
            measured={
                "fixed_points_on_grid": summary.fixed_points_r_positive,
                "escape_time_max_rel_error": esc_err,
            },
            reproduced=bool(pos) and all(n == 0 for n in pos) and esc_err < 1e-6,
            reason="escape measured as the time an independent DOP853 solve reaches x = 1e8 "
            "(which precedes t_esc by about 1e-8); tolerance 1e-6 relative",
        ),
        Claim(
            figure=NAME,
            claim="For r < 0, x(t) from x(0) = 0 settles at the stable fixed point -sqrt(-r) "
            "and never reaches the threshold",
            paper="stable fixed point at -sqrt(-r)",
            measured={
                "fixed_points_on_grid": summary.fixed_points_r_negative,
                "max_abs_error_at_t_max": settle,
                "reaches_threshold": summary.negative_r_reach_threshold,
            },
            reproduced=bool(neg)
            and all(n == 2 for n in neg)
            and settle < 1e-3
            and not summary.negative_r_reach_threshold,
            reason="two fixed points +-sqrt(-r) counted as sign changes of the flow on the grid; "
            "end state of the numerical solve at t_max, tolerance 1e-3",
        ),
    ]
