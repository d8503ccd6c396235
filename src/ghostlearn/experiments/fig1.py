"""Fig. 1: the flow of dx/dt = x^2 + r on either side of the saddle-node bifurcation.

For ``r < 0`` the flow has a stable fixed point at ``-sqrt(-r)`` (and an unstable one at
``+sqrt(-r)``): from ``x(0) = 0`` the state settles at ``-sqrt(-r)`` and never reaches the
threshold. For ``r > 0`` there is no fixed point; the flow is slowest at the ghost
``x = 0`` (speed ``r``) and ``x`` escapes to ``+inf`` at ``t_esc = pi / (2 sqrt r)``,
crossing ``x_thr`` shortly before. The trajectories are computed twice: from the closed
form and by an independent high-accuracy ODE solve (DOP853), which the claims compare.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from scipy.integrate import solve_ivp

from .. import _validate, toy
from . import _style
from .base import Claim, Fidelity, Progress

NAME = "fig1"
TITLE = "Flow of the toy model dx/dt = x^2 + r for r > 0 (ghost) and r < 0 (fixed points)"

#: The numerical solve stops once x reaches this value ("escaped").
ESCAPE_VALUE = 1e8


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


def summarize(data: xr.Dataset, cfg: Config) -> dict:
    """Fixed points on the grid, escape and threshold times, the r < 0 end states."""
    per_r = []
    for i, r in enumerate(data["r"].values):
        closed = data["x_closed"].values[i]
        numeric = data["x_numeric"].values[i]
        ok = np.isfinite(closed) & np.isfinite(numeric) & (np.abs(closed) < 1e3)
        entry = {
            "r": float(r),
            "n_fixed_points_on_grid": _count_roots(data["flow"].values[i]),
            "escape_time": float(data["escape_time"].values[i]),
            "escape_time_numeric": float(data["escape_time_numeric"].values[i]),
            "threshold_time": float(data["threshold_time"].values[i]),
            "threshold_time_numeric": float(data["threshold_time_numeric"].values[i]),
            "max_abs_closed_minus_numeric": float(np.max(np.abs(closed[ok] - numeric[ok]))),
        }
        if r < 0:
            entry["stable_fixed_point"] = -math.sqrt(-r)
            entry["x_final_numeric"] = float(numeric[-1])
        per_r.append(entry)
    pos = [e for e in per_r if e["r"] > 0]
    neg = [e for e in per_r if e["r"] < 0]
    return {
        "x_thr": cfg.x_thr,
        "per_r": per_r,
        "escape_time_max_rel_error": max(
            abs(e["escape_time_numeric"] / e["escape_time"] - 1) for e in pos
        ),
        "threshold_time_max_rel_error": max(
            abs(e["threshold_time_numeric"] / e["threshold_time"] - 1) for e in pos
        ),
        "fixed_points_r_positive": [e["n_fixed_points_on_grid"] for e in pos],
        "fixed_points_r_negative": [e["n_fixed_points_on_grid"] for e in neg],
        "settling_max_abs_error": max(
            abs(e["x_final_numeric"] - e["stable_fixed_point"]) for e in neg
        ),
        "negative_r_reach_threshold": any(math.isfinite(e["threshold_time_numeric"]) for e in neg),
        "trajectory_max_abs_error": max(e["max_abs_closed_minus_numeric"] for e in per_r),
    }


def plot(data: xr.Dataset, summary: dict, cfg: Config) -> Figure:
    """Left: the flow against x with its direction and fixed points; right: x(t)."""
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_flow, ax_traj = fig.subplots(1, 2)
    x = data["x"].values
    t = data["t"].values
    lo, hi = cfg.x_range
    ax_flow.axhline(0, color=_style.GREY, lw=0.8)
    ymin = min(cfg.r_values) - 0.5
    ytop_flow = max(6.0, 2 * max(cfg.r_values))
    for i, r in enumerate(data["r"].values):
        color = _style.CYCLE[i % len(_style.CYCLE)]
        f = data["flow"].values[i]
        ax_flow.plot(x, f, color=color, lw=2, label=f"r = {r:g}")
        # direction of motion along x, drawn on the curve itself
        xa = np.linspace(lo, hi, 10)[1:-1]
        ua = np.sign(toy.flow(xa, r))
        keep = np.abs(toy.flow(xa, r)) < 0.9 * ytop_flow
        ax_flow.quiver(
            xa[keep],
            toy.flow(xa[keep], r),
            ua[keep],
            0 * ua[keep],
            color=color,
            scale=20,
            width=0.005,
            headwidth=4,
            pivot="mid",
            zorder=4,
        )
        if r < 0:
            root = math.sqrt(-r)
            ax_flow.plot(-root, 0, "o", color=color, ms=8, mec="k", zorder=3)
            ax_flow.plot(root, 0, "o", color="white", ms=8, mec=color, mew=2, zorder=3)
        else:
            ax_flow.plot(0, r, "D", color=color, ms=6, mec="k", zorder=3)
    ax_flow.axvline(cfg.x_thr, color=_style.THEORY, ls="--", lw=1)
    ax_flow.text(cfg.x_thr, 0.97 * ytop_flow, r"$x_\mathrm{thr}$ ", va="top", ha="right")
    ax_flow.plot([], [], "o", color=_style.GREY, mec="k", label="stable fixed point")
    ax_flow.plot([], [], "o", color="white", mec=_style.GREY, mew=2, label="unstable fixed point")
    ax_flow.plot([], [], "D", color=_style.GREY, mec="k", label="ghost (slowest point)")
    ax_flow.set_xlim(lo, hi)
    ax_flow.set_ylim(ymin, ytop_flow)
    ax_flow.set_xlabel("state x (1/[t])")
    ax_flow.set_ylabel(r"flow $dx/dt = x^2 + r$ (1/[t]$^2$)")
    ax_flow.set_title("Flow; arrows: direction of motion")
    ax_flow.legend(fontsize=8, loc="lower right")
    _style.panel_label(ax_flow, "A")

    ytop = 2.0 * cfg.x_thr
    for i, r in enumerate(data["r"].values):
        color = _style.CYCLE[i % len(_style.CYCLE)]
        closed = np.clip(data["x_closed"].values[i], -np.inf, 10 * ytop)
        ax_traj.plot(t, closed, color=color, lw=2, label=f"r = {r:g}")
        step = max(1, t.size // 25)
        ax_traj.plot(t[::step], data["x_numeric"].values[i][::step], "o", color=color, ms=3)
        t_esc = float(data["escape_time"].values[i])
        if math.isfinite(t_esc) and t_esc <= t[-1]:
            ax_traj.axvline(t_esc, color=color, ls=":", lw=1)
    ax_traj.axhline(
        cfg.x_thr, color=_style.THEORY, ls="--", lw=1, label=r"threshold $x_\mathrm{thr}$"
    )
    ax_traj.plot([], [], "o", color=_style.GREY, ms=3, label="ODE solve (DOP853)")
    ax_traj.plot([], [], ":", color=_style.GREY, label=r"blow-up $t_\mathrm{esc}=\pi/2\sqrt{r}$")
    ax_traj.set_ylim(-1.5, ytop)
    ax_traj.set_xlim(0, t[-1])
    ax_traj.set_xlabel("time t ([t])")
    ax_traj.set_ylabel("state x(t) (1/[t])")
    ax_traj.set_title("Trajectories from x(0) = 0")
    ax_traj.legend(fontsize=8, loc="upper right")
    _style.panel_label(ax_traj, "B")
    return fig


def claims(summary: dict) -> list[Claim]:
    """No fixed point and finite-time escape for r > 0; settling at -sqrt(-r) for r < 0."""
    esc_err = summary["escape_time_max_rel_error"]
    settle = summary["settling_max_abs_error"]
    pos, neg = summary["fixed_points_r_positive"], summary["fixed_points_r_negative"]
    return [
        Claim(
            figure=NAME,
            claim="For r > 0 the flow has no fixed point and x escapes to +inf in finite "
            "time pi / (2 sqrt r)",
            paper="no fixed point; escape at pi / (2 sqrt r)",
            measured={
                "fixed_points_on_grid": summary["fixed_points_r_positive"],
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
                "fixed_points_on_grid": summary["fixed_points_r_negative"],
                "max_abs_error_at_t_max": settle,
                "reaches_threshold": summary["negative_r_reach_threshold"],
            },
            reproduced=bool(neg)
            and all(n == 2 for n in neg)
            and settle < 1e-3
            and not summary["negative_r_reach_threshold"],
            reason="two fixed points +-sqrt(-r) counted as sign changes of the flow on the grid; "
            "end state of the numerical solve at t_max, tolerance 1e-3",
        ),
    ]
