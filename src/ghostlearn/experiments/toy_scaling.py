"""Beyond the paper: the critical learning rate of the toy model against the delay T.

End Matter Eq. 15 predicts ``alpha* = 3 pi^4 / 32 * T^-5``. Here the critical rate is
measured for log-spaced ``T`` in ``[10, 1000]`` with :func:`ghostlearn.toy.find_critical_lr`
(batched multi-point bisection on gradient-descent runs from ``10 r*``), and a straight line
is fitted to ``log alpha`` against ``log T``: its slope should be -5 and its intercept
``log(3 pi^4 / 32)``.

A second panel asks how sharp the transition is at one ``T``: many instances with
``r0 ~ Normal(10 r*, (r*/10)^2)`` on a fine grid of ``alpha / alpha*`` around 1, and the
fraction of them that end in the no-learning zone, and the fraction that reached the
minimum ``r*`` at some epoch (so that "not stuck" below ``alpha*`` means learned, not
merely not yet arrived).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from scipy.stats import linregress

from .. import _validate, toy
from . import _style, base
from .base import Claim, Fidelity, Progress

NAME = "toy-scaling"
TITLE = "Toy model: the critical learning rate scales as T^-5"

PREFACTOR = 3.0 * math.pi**4 / 32.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of the scaling study.

    Attributes:
        T_range: (lo, hi) of the delays, > 0.
        n_T: number of log-spaced delays, >= 3.
        rtol: relative width of each bisection bracket, in (0, 1).
        points: learning rates per bisection round, >= 3.
        epochs: epochs of every bisection run, >= 1.
        fraction_T: delay of the transition-sharpness study, > 0.
        fraction_lr_ratio: (lo, hi) of alpha / alpha* in that study, > 0.
        fraction_n_lr: learning rates in that study, >= 2.
        fraction_instances: instances per rate, >= 1.
        fraction_epochs: epochs of that study, >= 1.
        seed: seed of the instances' initial values.
    """

    T_range: tuple[float, float] = (10.0, 1000.0)
    n_T: int = 12
    rtol: float = 1e-3
    points: int = 64
    epochs: int = 5000
    fraction_T: float = 100.0
    fraction_lr_ratio: tuple[float, float] = (0.9, 1.1)
    fraction_n_lr: int = 81
    fraction_instances: int = 50
    fraction_epochs: int = 5000
    seed: int = 0

    def __post_init__(self) -> None:
        _validate.interval("T_range", self.T_range)
        _validate.positive("T_range", np.asarray(self.T_range, dtype=float))
        _validate.at_least("n_T", self.n_T, 3)
        _validate.finite("rtol", self.rtol)
        if not 0 < self.rtol < 1:
            raise ValueError(f"rtol must be in (0, 1), got {self.rtol}")
        _validate.at_least("points", self.points, 3)
        _validate.at_least("epochs", self.epochs, 1)
        _validate.positive("fraction_T", self.fraction_T)
        _validate.interval("fraction_lr_ratio", self.fraction_lr_ratio)
        _validate.positive("fraction_lr_ratio", np.asarray(self.fraction_lr_ratio, dtype=float))
        _validate.at_least("fraction_n_lr", self.fraction_n_lr, 2)
        _validate.at_least("fraction_instances", self.fraction_instances, 1)
        _validate.at_least("fraction_epochs", self.fraction_epochs, 1)
        _validate.at_least("seed", self.seed, 0)


def config(fidelity: Fidelity) -> Config:
    """``quick``: 12 delays, 81 x 50 runs; ``paper``: 25 delays, 201 x 100 runs."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    if fidelity == "paper":
        return Config(n_T=25, fraction_n_lr=201, fraction_instances=100)
    return Config()


def run(cfg: Config, progress: Progress | None = None) -> xr.DataTree:
    """Measure the critical rate per T, and the stuck fraction around alpha* at one T.

    Returns:
        DataTree with groups ``scaling`` (dim ``T``: ``predicted``, ``measured``,
        ``bracket_lo``, ``bracket_hi``, ``rounds``) and ``fraction`` (dims ``lr``,
        ``instance``: ``stuck``, ``reached_r_star`` (``r < r*`` at some epoch), ``r0``,
        ``stuck_fraction``, coordinate ``lr_ratio``).
    """
    T = np.geomspace(*cfg.T_range, cfg.n_T)
    total = cfg.n_T + 1
    results = []
    for i, t in enumerate(T):
        results.append(
            toy.find_critical_lr(float(t), epochs=cfg.epochs, rtol=cfg.rtol, points=cfg.points)
        )
        if progress is not None:
            progress(i + 1, total)
    scaling = xr.Dataset(
        {
            "predicted": ("T", [r.predicted for r in results], {"units": "1/[t]^5"}),
            "measured": ("T", [r.measured for r in results], {"units": "1/[t]^5"}),
            "bracket_lo": ("T", [r.bracket[0] for r in results]),
            "bracket_hi": ("T", [r.bracket[1] for r in results]),
            "rounds": ("T", [r.rounds for r in results]),
        },
        coords={"T": ("T", T, {"units": "[t]"})},
        attrs={"epochs": cfg.epochs, "rtol": cfg.rtol, "r0": "10 r*"},
    )

    r_star = float(toy.optimal_r(cfg.fraction_T))
    alpha = float(toy.critical_lr(cfg.fraction_T))
    ratio = np.linspace(*cfg.fraction_lr_ratio, cfg.fraction_n_lr)
    r0 = np.random.default_rng(cfg.seed).normal(10 * r_star, r_star / 10, cfg.fraction_instances)
    gd = toy.gradient_descent(
        cfg.fraction_T, ratio * alpha, r0, cfg.fraction_epochs, record=[cfg.fraction_epochs]
    )
    fraction = xr.Dataset(
        {
            "stuck": gd["stuck"],
            "reached_r_star": gd["r_min"] < r_star,
            "r0": ("instance", r0),
            "stuck_fraction": gd["stuck"].mean("instance"),
        },
        coords={"lr_ratio": ("lr", ratio)},
        attrs={"T": cfg.fraction_T, "alpha_star": alpha, "epochs": cfg.fraction_epochs},
    )
    if progress is not None:
        progress(total, total)
    return xr.DataTree.from_dict({"scaling": scaling, "fraction": fraction})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """The measured numbers of the scaling study.

    Learning rates are in units of 1/[t]^5; relative differences are measured / predicted
    - 1, with the prediction ``3 pi^4 / 32 T^-5``.

    Attributes:
        T: the delays, [t].
        measured: the measured critical rate per delay (smallest failing rate of the
            bisection).
        relative_difference: measured / predicted - 1 per delay.
        max_abs_relative_difference: the largest |relative difference|.
        min_relative_difference: the smallest (most negative) relative difference.
        alpha_star_exponent: slope of the least-squares fit of log alpha against log T.
        alpha_star_exponent_stderr: its standard error.
        alpha_star_prefactor: ``exp`` of the fit's intercept.
        alpha_star_prefactor_theory: ``3 pi^4 / 32``.
        fraction_T: the delay of the transition study (the config's), [t].
        stuck_fraction_max_below_alpha_star: largest stuck fraction over the grid rates
            below alpha*; None if the grid has none.
        stuck_fraction_min_above_alpha_star: smallest stuck fraction over the grid rates
            strictly above alpha*; None if the grid has none.
        reached_r_star_fraction_min_below_alpha_star: smallest fraction of runs that
            reached ``r*`` at some epoch, over the grid rates below alpha*; None if none.
        all_stuck_from_lr_ratio: smallest alpha / alpha* of the grid from which on every
            rate has all its runs stuck; None if even the largest rate has not.
    """

    T: list[float]
    measured: list[float]
    relative_difference: list[float]
    max_abs_relative_difference: float
    min_relative_difference: float
    alpha_star_exponent: float
    alpha_star_exponent_stderr: float
    alpha_star_prefactor: float
    alpha_star_prefactor_theory: float
    fraction_T: float
    stuck_fraction_max_below_alpha_star: float | None
    stuck_fraction_min_above_alpha_star: float | None
    reached_r_star_fraction_min_below_alpha_star: float | None
    all_stuck_from_lr_ratio: float | None


def summarize(data: xr.DataTree, cfg: Config) -> Summary:
    """Fitted exponent and prefactor, per-T agreement, and the sharpness of the transition."""
    s = data["scaling"].to_dataset()
    T = s["T"].values
    measured = s["measured"].values
    rel = measured / s["predicted"].values - 1.0
    fit = linregress(np.log(T), np.log(measured))

    f = data["fraction"].to_dataset()
    ratio = f["lr_ratio"].values
    frac = f["stuck_fraction"].values
    below = ratio < 1.0
    not_all = np.flatnonzero(frac < 1.0)
    # smallest ratio from which on every rate of the grid has all instances stuck
    if not_all.size == 0:
        all_from = float(ratio[0])
    elif not_all[-1] + 1 < ratio.size:
        all_from = float(ratio[not_all[-1] + 1])
    else:
        all_from = None
    # strictly above: at alpha* itself a run fails only if it lands exactly on r*/4
    above = ratio > 1.0
    reached = f["reached_r_star"].values.mean(axis=-1)  # [lr]
    return Summary(
        T=T.tolist(),
        measured=measured.tolist(),
        relative_difference=rel.tolist(),
        max_abs_relative_difference=float(np.max(np.abs(rel))),
        min_relative_difference=float(np.min(rel)),
        alpha_star_exponent=float(fit.slope),
        alpha_star_exponent_stderr=float(fit.stderr),
        alpha_star_prefactor=float(math.exp(fit.intercept)),
        alpha_star_prefactor_theory=PREFACTOR,
        fraction_T=cfg.fraction_T,
        stuck_fraction_max_below_alpha_star=float(frac[below].max()) if below.any() else None,
        stuck_fraction_min_above_alpha_star=float(frac[above].min()) if above.any() else None,
        reached_r_star_fraction_min_below_alpha_star=(
            float(reached[below].min()) if below.any() else None
        ),
        all_stuck_from_lr_ratio=all_from,
    )


def plot(data: xr.DataTree, summary: Summary, cfg: Config) -> Figure:
    """A: alpha* against T (log-log) with the theory; B: relative difference per T;
    C: the share of runs stuck around alpha* at one T. The whole figure is beyond the
    paper, and its title says so."""
    s = data["scaling"].to_dataset()
    T = s["T"].values
    fig = _style.figure(2.5, _style.PAGE)
    ax_fit, ax_rel, ax_frac = fig.subplots(1, 3)

    t_line = np.geomspace(T[0], T[-1], 200)
    ax_fit.plot(t_line, PREFACTOR * t_line**-5.0, color=_style.THEORY,
                label=r"theory $3\pi^4/32\;T^{-5}$")  # fmt: skip
    ax_fit.plot(T, s["measured"].values, "o", color=_style.CYCLE[0], ms=3.5,
                label="measured (bisection)")  # fmt: skip
    ax_fit.set_xscale("log")
    ax_fit.set_yscale("log")
    slope = summary.alpha_star_exponent
    err = summary.alpha_star_exponent_stderr
    ax_fit.text(0.04, 0.04, f"fitted exponent\n{slope:.3f} ± {err:.1g}",
                transform=ax_fit.transAxes, va="bottom")  # fmt: skip
    ax_fit.set_xlabel("delay T")
    ax_fit.set_ylabel(r"critical learning rate $\alpha^*$")
    ax_fit.set_title(r"$\alpha^*$ against T", loc="left")
    ax_fit.legend(loc="upper right")
    _style.panel_label(ax_fit, "A")

    rel = 100 * (s["measured"].values / s["predicted"].values - 1.0)
    lo = 100 * (s["bracket_lo"].values / s["predicted"].values - 1.0)
    ax_rel.axhspan(-3, 3, color=_style.GREY, alpha=0.15, lw=0, label="±3%")
    ax_rel.axhline(0.0, color=_style.THEORY, lw=0.8, label="theory")
    ax_rel.vlines(T, lo, rel, color=_style.CYCLE[0], lw=0.8, label="bisection bracket")
    ax_rel.plot(T, rel, "o", color=_style.CYCLE[0], ms=3.5, label="measured")
    ax_rel.set_xscale("log")
    ax_rel.set_xlabel("delay T")
    ax_rel.set_ylabel("measured / theory − 1 (%)")
    ax_rel.set_title("measured against theory", loc="left")
    ax_rel.legend(loc="lower right", ncol=2)
    _style.panel_label(ax_rel, "B")

    f = data["fraction"].to_dataset()
    ax_frac.plot(f["lr_ratio"].values, f["stuck_fraction"].values, "o-", ms=2,
                 color=_style.CYCLE[1], label="runs stuck")  # fmt: skip
    ax_frac.axvline(1.0, color=_style.THEORY, ls="--", lw=0.8, label=r"$\alpha^*$")
    ax_frac.set_xlabel(r"learning rate $\alpha / \alpha^*$")
    ax_frac.set_ylabel(f"fraction stuck at epoch {cfg.fraction_epochs:,}")
    ax_frac.set_title(f"transition at T = {cfg.fraction_T:g}", loc="left")
    ax_frac.legend(loc="upper left")
    _style.panel_label(ax_frac, "C")
    fig.suptitle(f"{_style.BEYOND}: the critical learning rate of the toy model")
    return fig


def caption(summary: Summary, cfg: Config) -> str:
    """The caption of the figure, with its parameters and the fitted law."""
    lo, hi = cfg.T_range
    rlo, rhi = cfg.fraction_lr_ratio
    slope = summary.alpha_star_exponent
    err = summary.alpha_star_exponent_stderr
    worst = 100 * summary.max_abs_relative_difference
    all_from = summary.all_stuck_from_lr_ratio
    all_text = (
        f"every run is stuck from α/α* = {all_from:.3g} on"
        if all_from is not None
        else "not every run is stuck even at the largest rate"
    )
    below = summary.stuck_fraction_max_below_alpha_star
    if below is None:
        below_text = "No rate of the grid lies below α*"
    elif below == 0:
        below_text = "No run is stuck below α*"
    else:
        below_text = f"Up to {below:.0%} of the runs are stuck below α*"
    return (
        "Toy model, beyond the paper: the critical learning rate scales as T⁻⁵. "
        f"A, critical rate α* measured for {cfg.n_T} delays T log-spaced in "
        f"[{lo:g}, {hi:g}] (dots): the smallest rate at which gradient descent from "
        f"r = 10 r*, run for {cfg.epochs:,} epochs, ends stuck below r*/4, found by "
        f"multi-point bisection ({cfg.points} rates per round, relative bracket "
        f"{cfg.rtol:g}); line, End Matter Eq. 15, α* = 3π⁴/32 T⁻⁵. Least-squares fit of "
        f"log α* against log T: exponent {slope:.3f} ± {err:.1g} (theory −5), prefactor "
        f"{summary.alpha_star_prefactor:.3g} (theory {PREFACTOR:.3g}). "
        "B, measured/theory − 1 per T (dots) with the bisection bracket below it "
        f"(lines); largest deviation {worst:.2g}%, grey band ±3%. "
        f"C, at T = {cfg.fraction_T:g}: fraction of {cfg.fraction_instances} runs per rate "
        f"(r(0) ~ Normal(10 r*, (r*/10)²), seed {cfg.seed}) stuck below r*/4 after "
        f"{cfg.fraction_epochs:,} epochs, for {cfg.fraction_n_lr} rates α/α* in "
        f"[{rlo:g}, {rhi:g}]; dashed, α*. {below_text}; {all_text}."
    )


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """Exponent -5, agreement per T, and the sharpness of the transition at alpha*."""
    slope = summary.alpha_star_exponent
    worst = summary.max_abs_relative_difference
    above = summary.stuck_fraction_min_above_alpha_star
    below = summary.stuck_fraction_max_below_alpha_star
    reached = summary.reached_r_star_fraction_min_below_alpha_star
    return [
        Claim(
            figure=NAME,
            claim="The critical learning rate scales as T^-5",
            paper=-5,
            measured={"exponent": slope, "stderr": summary.alpha_star_exponent_stderr},
            reproduced=abs(slope + 5.0) <= 0.1,
            reason=f"least-squares fit of log alpha against log T over {cfg.n_T} "
            "delays; tolerance +-0.1",
        ),
        Claim(
            figure=NAME,
            claim="The measured critical learning rate equals 3 pi^4/32 T^-5 at every T",
            paper="3 pi^4/32 T^-5",
            measured={
                "max_abs_relative_difference": worst,
                "prefactor": summary.alpha_star_prefactor,
            },
            reproduced=worst <= 0.03 and summary.min_relative_difference >= -1e-3,
            reason="smallest failing rate of the bisection from r0 = 10 r*; tolerance 3% (and not "
            "below the formula beyond the bracket width: no run below alpha* can fail)",
        ),
        Claim(
            figure=NAME,
            claim="Below alpha* gradient descent never enters the no-learning zone",
            paper="learning possible for alpha < alpha*",
            measured={
                "max_stuck_fraction_below_alpha_star": below,
                "min_fraction_reached_r_star_below_alpha_star": reached,
            },
            **(
                {"reproduced": below == 0.0 and reached == 1.0}
                if below is not None
                else {"skip": "no grid rate below alpha*"}
            ),
            reason="largest stuck fraction over the grid of rates below alpha* must be 0, and "
            "every run there must have reached r* (learned, not merely not yet arrived)",
        ),
        Claim(
            figure=NAME,
            claim="For any alpha >= alpha* training eventually enters the no-learning zone",
            paper="every run with alpha >= alpha* gets stuck",
            measured={
                "min_stuck_fraction_above_alpha_star": above,
                "all_stuck_from_lr_ratio": summary.all_stuck_from_lr_ratio,
            },
            **(
                {"reproduced": above == 1.0}
                if above is not None
                else {"skip": "no grid rate above alpha*"}
            ),
            reason="smallest stuck fraction over the grid rates > alpha*. Just above alpha* some "
            "runs settle on a stable cycle around r* (e.g. r/r* = 1.44 -> 1.00 -> 1.77) that "
            "never steps into the narrow capture window (such runs stayed out for 1e6 epochs); "
            "the stuck fraction rises from 0 at alpha* to 1 at the quoted ratio",
        ),
    ]
