"""Fig. 2: the toy model's loss landscape and its gradient-descent dynamics.

- A: the analytic loss ``L(r)`` (limit ``c, x_thr -> inf``) against the finite-confidence
  loss from the paper's forward-Euler scheme and from exact quadrature, for
  ``c in {0.1, 1}``, 100 values of ``r`` in ``[-r*, 2 r*]`` (shown as ``L / T``), with
  its three regimes labelled.
- B, C: gradient descent from ``r0 = 10 r*`` with ``alpha = 1e-10`` and ``1e-9``
  (below and above ``alpha* = 9.13e-10``), 3000 epochs: loss and ``r`` per epoch; the
  drop window is shaded and the epoch where ``r`` first reaches ``r*`` (the foot of the
  cliff) is marked.
- D: ``alpha = logspace(-11, -8, 100)``, 10 instances per rate with
  ``r0 ~ Normal(10 r*, (r*/10)^2)`` drawn by ``numpy.random.default_rng(i)`` for the
  i-th rate, 10k epochs: mean +- s.e.m. of the loss at epochs 1k, 2k, 3k, 5k, 10k,
  log-log as in the paper.
- Beyond the paper (``figure-extra``): E, the gradient ``dL/dr`` of the Euler loss for
  ``c in {0.01, 0.1, 0.5, 1, 2}``; F, the share of D's runs stuck at the last epoch.

The "drop epoch" of the ``alpha = 1e-10`` run is the first epoch whose loss is below ``T/2``
(reached at ``r = 4 r*``). The drop then runs until ``r`` first reaches ``r*`` (loss near 0),
about 150 epochs later; that epoch is reported as ``epoch_r_below_r_star``, and the first
epoch below half the initial loss as ``epoch_loss_below_half_initial``.

Abruptness (:func:`ghostlearn.outcomes.drop_window`): the shortest window of epochs in
which the loss falls by ``DROP_FRACTION`` (3/4) of its range, from the plateau level (the
first epoch's loss) to the post-drop level (the median over the last 20% of epochs), and
the plateau before that window. The drop is abrupt when the window is at most
``DROP_MAX_RATIO`` (1/5) of the plateau; a steady decline over the run gives a ratio near
or above 1. Measured: 3/4 of the fall within about 180 epochs after a plateau of about
1350 (ratio 0.14). The analytic loss ``T (1 - sqrt(r*/r))`` already slides from 0.68 T to
0.5 T on the plateau (``r^2.5`` falls linearly in time), so a window holding 80% of the
fall is about 0.2 of the plateau, and 90% about 0.6.

"Oscillates near r*": after ``r`` first reaches ``r*`` (plus 50 epochs) ``r`` stays
within 20% of ``r*`` and lies on both sides of it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.stats import spearmanr

from .. import _validate, outcomes, toy
from . import _style, base
from .base import Claim, Fidelity, Progress

NAME = "fig2"
TITLE = "Toy model: loss landscape, abrupt learning and the critical learning rate"

#: The share of the loss's fall the drop window must hold ("most of the loss range").
DROP_FRACTION = 0.75
#: Abrupt: the drop window is at most this share of the plateau before it.
DROP_MAX_RATIO = 0.2


def _positive_tuple(name: str, values: tuple[float, ...]) -> None:
    if len(values) == 0:
        raise ValueError(f"{name} must not be empty")
    _validate.positive(name, np.asarray(values, dtype=float))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of Fig. 2 (the paper's values by default).

    Attributes:
        T: delay of the task, > 0.
        dt: Euler step of the numerical loss, > 0, with T/dt whole.
        x_thr: output threshold of the numerical losses, > 0.
        c_loss: confidences of panel A's loss curves.
        c_grad: confidences of the gradient-versus-c panel.
        n_r: number of r values in panel A, >= 2.
        r_range: (lo, hi) of panel A's r values, in units of r*.
        r0_factor: initial r of panels B-D in units of r* (10 in the paper), > 0.
        lr_bc: the two learning rates of panels B-C (below and above alpha*).
        epochs_bc: epochs of panels B-C, >= 1.
        lr_log10_d: (lo, hi) exponents of panel D's learning-rate grid.
        n_lr_d: learning rates in panel D, >= 2.
        instances_d: instances per learning rate in panel D, >= 2.
        r0_sd_factor: standard deviation of panel D's r0 in units of r* (0.1), > 0.
        epochs_d: epochs of panel D, >= 1.
        report_epochs_d: epochs at which panel D reports the loss, in 1..epochs_d.
    """

    T: float = 100.0
    dt: float = 0.1
    x_thr: float = 10.0
    c_loss: tuple[float, ...] = (0.1, 1.0)
    c_grad: tuple[float, ...] = (0.01, 0.1, 0.5, 1.0, 2.0)
    n_r: int = 100
    r_range: tuple[float, float] = (-1.0, 2.0)
    r0_factor: float = 10.0
    lr_bc: tuple[float, float] = (1e-10, 1e-9)
    epochs_bc: int = 3000
    lr_log10_d: tuple[float, float] = (-11.0, -8.0)
    n_lr_d: int = 100
    instances_d: int = 10
    r0_sd_factor: float = 0.1
    epochs_d: int = 10_000
    report_epochs_d: tuple[int, ...] = (1000, 2000, 3000, 5000, 10_000)

    def __post_init__(self) -> None:
        _validate.positive("T", self.T)
        _validate.positive("dt", self.dt)
        if not math.isclose(round(self.T / self.dt) * self.dt, self.T, rel_tol=1e-9):
            raise ValueError(f"T/dt must be a whole number, got T/dt = {self.T / self.dt!r}")
        _validate.positive("x_thr", self.x_thr)
        _positive_tuple("c_loss", self.c_loss)
        _positive_tuple("c_grad", self.c_grad)
        _validate.at_least("n_r", self.n_r, 2)
        _validate.interval("r_range", self.r_range)
        _validate.positive("r0_factor", self.r0_factor)
        if len(self.lr_bc) != 2:
            raise ValueError(f"lr_bc must hold two learning rates, got {self.lr_bc!r}")
        _validate.positive("lr_bc", np.asarray(self.lr_bc, dtype=float))
        _validate.at_least("epochs_bc", self.epochs_bc, 1)
        _validate.interval("lr_log10_d", self.lr_log10_d)
        _validate.at_least("n_lr_d", self.n_lr_d, 2)
        _validate.at_least("instances_d", self.instances_d, 2)
        _validate.positive("r0_sd_factor", self.r0_sd_factor)
        _validate.at_least("epochs_d", self.epochs_d, 1)
        if len(self.report_epochs_d) == 0:
            raise ValueError("report_epochs_d must not be empty")
        for e in self.report_epochs_d:
            _validate.at_least("report_epochs_d", e, 1)
            if e > self.epochs_d:
                raise ValueError(f"report_epochs_d must be <= epochs_d = {self.epochs_d}, got {e}")


def config(fidelity: Fidelity) -> Config:
    """The paper's parameters at both fidelities: the whole figure takes about a second."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    return Config()


def initial_values_d(cfg: Config) -> np.ndarray:
    """Panel D's initial values, shape (n_lr_d, instances_d): row i from default_rng(i)."""
    r_star = float(toy.optimal_r(cfg.T))
    return np.stack(
        [
            np.random.default_rng(i).normal(
                cfg.r0_factor * r_star, cfg.r0_sd_factor * r_star, cfg.instances_d
            )
            for i in range(cfg.n_lr_d)
        ]
    )


def run(cfg: Config, progress: Progress | None = None) -> xr.DataTree:
    """Compute every panel.

    Returns:
        DataTree with groups ``A`` (dims ``c``, ``r``: ``analytic``, ``euler``,
        ``quadrature`` losses), ``grad`` (dims ``c``, ``r``: ``euler_grad``,
        ``analytic_grad``), ``BC`` and ``D`` (:func:`ghostlearn.toy.gradient_descent`
        outputs; ``D`` adds ``r0``, ``loss_mean``, ``loss_sem`` and ``stuck_fraction``).
    """
    total = 4
    T = cfg.T
    r_star = float(toy.optimal_r(T))
    r = np.linspace(cfg.r_range[0] * r_star, cfg.r_range[1] * r_star, cfg.n_r)
    c = np.asarray(cfg.c_loss, dtype=float)[:, None]
    panel_a = xr.Dataset(
        {
            "analytic": ("r", toy.analytic_loss(r, T), {"units": "[t]"}),
            "euler": (
                ("c", "r"),
                toy.euler_loss(r, T, c=c, x_thr=cfg.x_thr, dt=cfg.dt),
                {"units": "[t]", "long_name": "forward-Euler loss"},
            ),
            "quadrature": (
                ("c", "r"),
                toy.quadrature_loss(r, T, c=c, x_thr=cfg.x_thr),
                {"units": "[t]", "long_name": "exact finite-c loss"},
            ),
        },
        coords={"r": r, "c": c[:, 0]},
        attrs={"T": T, "r_star": r_star, "x_thr": cfg.x_thr, "dt": cfg.dt},
    )
    if progress is not None:
        progress(1, total)
    cg = np.asarray(cfg.c_grad, dtype=float)[:, None]
    panel_grad = xr.Dataset(
        {
            "euler_grad": (
                ("c", "r"),
                toy.euler_loss_grad(r, T, c=cg, x_thr=cfg.x_thr, dt=cfg.dt),
                {"units": "[t]^3", "long_name": "dL/dr of the forward-Euler loss"},
            ),
            "analytic_grad": ("r", toy.analytic_loss_grad(r, T), {"units": "[t]^3"}),
        },
        coords={"r": r, "c": cg[:, 0]},
    )
    if progress is not None:
        progress(2, total)
    panel_bc = toy.gradient_descent(
        T, np.asarray(cfg.lr_bc, dtype=float), [cfg.r0_factor * r_star], cfg.epochs_bc
    )
    if progress is not None:
        progress(3, total)
    lr_d = np.logspace(*cfg.lr_log10_d, cfg.n_lr_d)
    r0_d = initial_values_d(cfg)
    record = sorted({0, *cfg.report_epochs_d})
    panel_d = toy.gradient_descent(T, lr_d, r0_d, cfg.epochs_d, record=record)
    n = cfg.instances_d
    panel_d["r0"] = (("lr", "instance"), r0_d)
    panel_d["loss_mean"] = panel_d["loss"].mean("instance")
    panel_d["loss_sem"] = panel_d["loss"].std("instance", ddof=1) / math.sqrt(n)
    panel_d["stuck_fraction"] = panel_d["stuck"].mean("instance")
    panel_d["loss_sem"].attrs["long_name"] = "standard error of the mean (ddof=1)"
    if progress is not None:
        progress(4, total)
    return xr.DataTree.from_dict({"A": panel_a, "grad": panel_grad, "BC": panel_bc, "D": panel_d})


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegimeErrors:
    """Largest ``|L_numerical - L_analytic| / T`` over the r values of each regime of the loss.

    Attributes:
        no_learning: over ``r <= r*/4``.
        minimum: over ``r*/4 < r <= r*``.
        saturation_side: over ``r > r*``.
    """

    no_learning: float
    minimum: float
    saturation_side: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """The measured numbers of Fig. 2 (see the module docstring for the definitions).

    Epochs count from 0; learning rates and ``r`` are in units of 1/[t]^5 and 1/[t]^2.

    Attributes:
        T: delay of the task (the config's), [t].
        r_star: the minimum ``r* = pi^2 / (4 T^2)``.
        r_no_return: the point of no return ``r*/4``.
        alpha_star: the critical learning rate ``3 pi^4 / 32 T^-5``.
        drop_lr: the learning rate of the drop run (the first of ``lr_bc``).
        drop_epoch: first epoch of the drop run with loss < T/2; None if never.
        drop_epoch_definition: that rule, in words.
        epoch_loss_below_half_initial: first epoch with loss below half the first epoch's;
            None if never.
        epoch_r_below_r_star: first epoch with ``r < r*``; None if never.
        drop_window: the shortest window holding ``DROP_FRACTION`` of the fall
            (:func:`ghostlearn.outcomes.drop_window`); None if the loss did not fall.
        drop_window_rule: that rule and the abruptness criterion, in words.
        r_changed_sign: whether ``r <= 0`` at some epoch of the drop run.
        r_min_over_r_star: smallest ``r / r*`` of the drop run.
        r_after_drop_over_r_star: (min, max) of ``r / r*`` from 50 epochs after ``r``
            first reaches ``r*`` (the last epoch's value when it never does).
        loss_after_drop_max_over_T: largest loss / T over those epochs; None if none.
        high_lr: the learning rate above ``alpha*`` (the second of ``lr_bc``).
        high_lr_stuck: whether that run ends stuck (``r <= r*/4`` at the last epoch).
        high_lr_stuck_epoch: first epoch of that run with ``r <= r*/4``; None if never.
        loss_error_over_T_c1: per method (``"euler"``, ``"quadrature"``), the numerical
            loss's largest deviation from the analytic one per regime, at ``c`` nearest 1.
        loss_error_c: the confidence of those errors.
        grad_no_learning_zone_median_abs: per confidence (key ``str(c)``), the median
            ``|dL/dr|`` of the Euler loss over ``r <= r*/4``, [t]^3.
        grad_no_learning_zone_points_out: whether ``dL/dr < 0`` there for every ``c``
            (a descent step increases ``r``).
        alpha_boundary: (largest rate of panel D with no instance stuck, smallest with all
            stuck); None where no such rate.
        lr_first_stuck: smallest rate of panel D with some instance stuck; None if none.
        spearman_lr_vs_final_loss_learned: Spearman correlation of the rate with the mean
            final loss over the rates below ``alpha*`` that learned; None if <= 2 such rates
            (or undefined).
        loglog_slope_final_loss_vs_lr_learned: slope of log final loss against log rate
            over those rates; None like the correlation.
        n_lr_learned_below_alpha_star: number of those rates.
        learned_by_first_report_epoch_lr_range: (min, max) rate with mean loss < T/2 at
            the first report epoch; None if none.
        first_report_epoch: the first report epoch of panel D.
        lowest_lr_below_half_T_by_epoch: per report epoch (key ``str(epoch)``), the lowest
            rate with mean loss < T/2; None if none.
    """

    T: float
    r_star: float
    r_no_return: float
    alpha_star: float
    drop_lr: float
    drop_epoch: int | None
    drop_epoch_definition: str
    epoch_loss_below_half_initial: int | None
    epoch_r_below_r_star: int | None
    drop_window: outcomes.DropWindow | None
    drop_window_rule: str
    r_changed_sign: bool
    r_min_over_r_star: float
    r_after_drop_over_r_star: tuple[float, float]
    loss_after_drop_max_over_T: float | None
    high_lr: float
    high_lr_stuck: bool
    high_lr_stuck_epoch: int | None
    loss_error_over_T_c1: dict[str, RegimeErrors]
    loss_error_c: float
    grad_no_learning_zone_median_abs: dict[str, float]
    grad_no_learning_zone_points_out: bool
    alpha_boundary: tuple[float | None, float | None]
    lr_first_stuck: float | None
    spearman_lr_vs_final_loss_learned: float | None
    loglog_slope_final_loss_vs_lr_learned: float | None
    n_lr_learned_below_alpha_star: int
    learned_by_first_report_epoch_lr_range: tuple[float, float] | None
    first_report_epoch: int
    lowest_lr_below_half_T_by_epoch: dict[str, float | None]


def summarize(data: xr.DataTree, cfg: Config) -> Summary:
    """The measured numbers behind the claims (see the module docstring for definitions)."""
    T = cfg.T
    r_star = float(toy.optimal_r(T))
    q = r_star / 4
    alpha_star = float(toy.critical_lr(T))

    bc = data["BC"].to_dataset()
    low, high = bc.isel(lr=0, instance=0), bc.isel(lr=1, instance=0)
    loss = low["loss"].values
    r_low = low["r"].values
    epochs = low["epoch"].values
    drop = _first(loss < T / 2)
    r_reached = _first(r_low < r_star)
    after = epochs > (r_reached if r_reached is not None else epochs[-1]) + 50
    r_after = r_low[after] if after.any() else r_low[-1:]
    window = outcomes.drop_window(loss, fraction=DROP_FRACTION, epochs=epochs)

    a = data["A"].to_dataset()
    r = a["r"].values
    regimes = {
        "no_learning": r <= q,
        "minimum": (r > q) & (r <= r_star),
        "saturation_side": r > r_star,
    }
    c_one = float(a["c"].values[np.argmin(np.abs(a["c"].values - 1.0))])
    errors = {}
    for method in ("euler", "quadrature"):
        diff = np.abs(a[method].sel(c=c_one).values - a["analytic"].values) / T
        errors[method] = RegimeErrors(**{k: float(diff[mask].max()) for k, mask in regimes.items()})

    g = data["grad"].to_dataset()
    zone = g["r"].values <= q
    grad_zone = {
        str(float(cv)): float(np.median(np.abs(g["euler_grad"].sel(c=cv).values[zone])))
        for cv in g["c"].values
    }
    # dL/dr < 0 in the zone means a descent step increases r, i.e. points out of the zone
    grad_zone_points_out = bool(np.all(g["euler_grad"].values[:, zone] < 0))

    d = data["D"].to_dataset()
    lr_d = d["lr"].values
    stuck_frac = d["stuck_fraction"].values
    none_stuck = lr_d[stuck_frac == 0]
    all_stuck = lr_d[stuck_frac == 1]
    boundary = (
        float(none_stuck.max()) if none_stuck.size else None,
        float(all_stuck.min()) if all_stuck.size else None,
    )
    final = d["loss_mean"].isel(epoch=-1).values
    # "reached the minimum": every instance went below r* at least once and none is stuck
    reached = (d["r_min"].values < r_star).all(axis=1) & ~d["stuck"].values.any(axis=1)
    learned = reached & (lr_d < alpha_star)
    rho: float | None
    slope: float | None
    if learned.sum() > 2:
        rho = float(spearmanr(lr_d[learned], final[learned]).statistic)
        slope = float(np.polyfit(np.log(lr_d[learned]), np.log(final[learned]), 1)[0])
    else:
        rho = slope = None
    first_report = min(cfg.report_epochs_d)
    early = d["loss_mean"].sel(epoch=first_report).values
    learned_early = lr_d[early < T / 2]
    # the lowest rate whose mean loss is below T/2 by each report epoch: lower rates
    # need more epochs, so it moves down as the epochs go on
    lowest_by_epoch: dict[str, float | None] = {}
    for e in sorted(cfg.report_epochs_d):
        below_half = lr_d[d["loss_mean"].sel(epoch=e).values < T / 2]
        lowest_by_epoch[str(e)] = float(below_half.min()) if below_half.size else None

    return Summary(
        T=float(T),
        r_star=r_star,
        r_no_return=q,
        alpha_star=alpha_star,
        drop_lr=float(cfg.lr_bc[0]),
        drop_epoch=drop,
        drop_epoch_definition="first epoch with loss < T/2",
        epoch_loss_below_half_initial=_first(loss < loss[0] / 2),
        epoch_r_below_r_star=r_reached,
        drop_window=window,
        drop_window_rule=f"shortest window holding {DROP_FRACTION:g} of the fall from the "
        "first epoch's loss to the median of the last 20% of epochs; abrupt when "
        f"window <= {DROP_MAX_RATIO:g} x the plateau before it",
        r_changed_sign=bool(low["r_min"].item() <= 0),
        r_min_over_r_star=float(low["r_min"].item() / r_star),
        r_after_drop_over_r_star=(float(r_after.min() / r_star), float(r_after.max() / r_star)),
        loss_after_drop_max_over_T=float(loss[after].max() / T) if after.any() else None,
        high_lr=float(cfg.lr_bc[1]),
        high_lr_stuck=bool(high["stuck"].item()),
        high_lr_stuck_epoch=_first(high["r"].values <= q),
        loss_error_over_T_c1=errors,
        loss_error_c=c_one,
        grad_no_learning_zone_median_abs=grad_zone,
        grad_no_learning_zone_points_out=grad_zone_points_out,
        alpha_boundary=boundary,
        lr_first_stuck=float(lr_d[stuck_frac > 0].min()) if (stuck_frac > 0).any() else None,
        spearman_lr_vs_final_loss_learned=rho,
        loglog_slope_final_loss_vs_lr_learned=slope,
        n_lr_learned_below_alpha_star=int(learned.sum()),
        learned_by_first_report_epoch_lr_range=(
            (float(learned_early.min()), float(learned_early.max())) if learned_early.size else None
        ),
        first_report_epoch=int(first_report),
        lowest_lr_below_half_T_by_epoch=lowest_by_epoch,
    )


def _rate(lr: float) -> str:
    """A learning rate as mathtext: ``1e-10`` -> ``$10^{-10}$``, ``9e-10`` -> 9 x 10^-10."""
    exponent = math.floor(math.log10(lr))
    mantissa = lr / 10.0**exponent
    if math.isclose(mantissa, 1.0, rel_tol=1e-9):
        return f"$10^{{{exponent}}}$"
    return rf"${mantissa:.3g} \times 10^{{{exponent}}}$"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _rate_text(lr: float) -> str:
    """A learning rate as plain text: ``1e-10`` -> "10⁻¹⁰", ``9e-10`` -> "9 × 10⁻¹⁰"."""
    exponent = math.floor(math.log10(lr))
    mantissa = lr / 10.0**exponent
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    return power if math.isclose(mantissa, 1.0, rel_tol=1e-9) else f"{mantissa:.3g} × {power}"


def _kinks(ax: Axes, r_star: float, q: float, *, named: bool = True) -> None:
    """Dotted lines at the point of no return r*/4 and the minimum r*, named on top."""
    for v, name in ((q / r_star, "$r^*/4$"), (1.0, "$r^*$")):
        ax.axvline(v, color=_style.GREY, ls=":", lw=0.8)
        if named:
            ax.text(v, 1.0, name, transform=ax.get_xaxis_transform(), ha="center", va="bottom")


def _panel_a(ax: Axes, data: xr.DataTree, summary: Summary, cfg: Config) -> None:
    """The loss landscape: analytic line, Euler dots, exact lines; the three regimes."""
    T = cfg.T
    r_star = summary.r_star
    q = summary.r_no_return
    a = data["A"].to_dataset()
    x = a["r"].values / r_star
    ax.plot(x, a["analytic"].values / T, color=_style.THEORY, lw=1.4, label="analytic")
    for i, cv in enumerate(a["c"].values):
        color = _style.CYCLE[i % len(_style.CYCLE)]
        ax.plot(x, a["euler"].sel(c=cv).values / T, "o", ms=2.5, color=color,
                label=f"numerical, c = {cv:g}")  # fmt: skip
        ax.plot(x, a["quadrature"].sel(c=cv).values / T, "-", lw=0.6, color=color)
    ax.plot([], [], "-", lw=0.6, color=_style.GREY, label="exact finite c")
    _kinks(ax, r_star, q)
    lo = float(x[0])
    ax.text((lo + q / r_star) / 2, 0.8, "(1) no-learning\nzone", ha="center", va="center")
    ax.annotate("(2) minimum r*\n(a kink)", xy=(1.0, 0.0), xytext=(1.12, 0.45),
                ha="left", va="center",
                arrowprops={"arrowstyle": "-", "color": _style.GREY, "lw": 0.6})  # fmt: skip
    ax.text(1.55, 0.75, "(3) saturation\n(L → T, r ≫ r*)", ha="center", va="center")
    ax.set_xlim(lo, float(x[-1]))
    ax.set_ylim(-0.03, 1.08)
    ax.set_xlabel("r / r*")
    ax.set_ylabel("loss L / T")
    ax.legend(loc="lower left")


def _panels_bc(ax_b: Axes, ax_c: Axes, data: xr.DataTree, summary: Summary, cfg: Config) -> None:
    """Loss (B) and r (C) per epoch for the two learning rates, the drop marked."""
    T = cfg.T
    r_star = summary.r_star
    bc = data["BC"].to_dataset()
    epochs = bc["epoch"].values
    for i, lr in enumerate(bc["lr"].values):
        color = _style.CYCLE[i % len(_style.CYCLE)]
        run_i = bc.isel(lr=i, instance=0)
        label = rf"$\alpha$ = {_rate(float(lr))}"
        ax_b.plot(epochs, run_i["loss"].values / T, color=color, label=label)
        ax_c.plot(epochs, run_i["r"].values / r_star, color=color, label=label)
    win = summary.drop_window
    if win is not None and summary.epoch_r_below_r_star is not None:
        ax_b.axvspan(win.start, win.end, color=_style.GREY, alpha=0.25, lw=0,
                     label=f"{DROP_FRACTION:.0%} of the fall")  # fmt: skip
    reached = summary.epoch_r_below_r_star
    if reached is not None:
        for ax in (ax_b, ax_c):
            ax.axvline(reached, color=_style.THEORY, ls=":", lw=0.8,
                       label="r reaches r*")  # fmt: skip
    _style.epoch_axis(ax_b)
    ax_b.set_ylabel("loss L / T")
    ax_b.set_ylim(-0.03, 1.05)
    ax_b.legend(loc="center right")
    ax_c.axhline(1.0, color=_style.GREY, ls="-.", lw=0.8, label="minimum r*")
    ax_c.axhline(0.25, color=_style.GREY, ls="--", lw=0.8, label="point of no return r*/4")
    ax_c.axhline(0.0, color=_style.THEORY, lw=0.5, label="r = 0")
    _style.epoch_axis(ax_c)
    ax_c.set_ylabel("r / r*")
    ax_c.legend(loc="upper right")


def _panel_d(ax: Axes, data: xr.DataTree, summary: Summary, cfg: Config) -> None:
    """Mean +- s.e.m. loss against the learning rate at the report epochs, log-log."""
    T = cfg.T
    d = data["D"].to_dataset()
    lr_d = d["lr"].values
    for i, e in enumerate(cfg.report_epochs_d):
        mean = d["loss_mean"].sel(epoch=e).values / T
        sem = d["loss_sem"].sel(epoch=e).values / T
        color = _style.CYCLE[i % len(_style.CYCLE)]
        ax.plot(lr_d, mean, color=color, label=f"epoch {e:,}")
        floor = np.maximum(mean - sem, 0.5 * mean)  # a log axis cannot show <= 0
        ax.fill_between(lr_d, floor, mean + sem, color=color, alpha=0.3, lw=0)
    ax.axvline(summary.alpha_star, color=_style.THEORY, ls="--", lw=0.8,
               label=r"$\alpha^*$")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"learning rate $\alpha$")
    ax.set_ylabel("loss L / T")
    ax.legend(loc="lower right")


def plot(data: xr.DataTree, summary: Summary, cfg: Config) -> Figure:
    """The paper's four panels: A loss landscape, B loss and C r per epoch, D rate sweep."""
    fig = _style.figure(4.8, _style.PAGE)
    (ax_a, ax_b), (ax_c, ax_d) = fig.subplots(2, 2)
    _panel_a(ax_a, data, summary, cfg)
    _style.panel_label(ax_a, "A")
    _panels_bc(ax_b, ax_c, data, summary, cfg)
    _style.panel_label(ax_b, "B")
    _style.panel_label(ax_c, "C")
    _panel_d(ax_d, data, summary, cfg)
    _style.panel_label(ax_d, "D")
    return fig


def plot_extra(data: xr.DataTree, summary: Summary, cfg: Config) -> Figure:
    """Beyond the paper: |dL/dr| against r for each confidence c (the gradient the
    paper describes in words), and the share of panel D's runs that end stuck."""
    r_star = summary.r_star
    q = summary.r_no_return
    alpha_star = summary.alpha_star
    fig = _style.figure(2.6, _style.PAGE)
    ax_g, ax_frac = fig.subplots(1, 2)

    g = data["grad"].to_dataset()
    xg = g["r"].values / r_star
    for i, cv in enumerate(g["c"].values):
        grad = np.abs(g["euler_grad"].sel(c=cv).values)
        ax_g.plot(xg, grad, color=_style.CYCLE[i % len(_style.CYCLE)], label=f"c = {cv:g}")
    an = np.abs(g["analytic_grad"].values)
    ax_g.plot(xg[an > 0], an[an > 0], "--", color=_style.THEORY, label="analytic")
    _kinks(ax_g, r_star, q, named=False)
    ax_g.plot([], [], ":", color=_style.GREY, lw=0.8, label="r*/4 and r*")
    ax_g.set_yscale("log")
    ax_g.set_ylim(1e-6, None)
    ax_g.set_xlabel("r / r*")
    ax_g.set_ylabel("|dL/dr| of the numerical loss")
    _style.beyond(ax_g, "gradient against c")
    ax_g.legend(loc="lower right", ncol=2)
    _style.panel_label(ax_g, "E")

    d = data["D"].to_dataset()
    lr_d = d["lr"].values
    ax_frac.plot(lr_d / alpha_star, d["stuck_fraction"].values, "o-", ms=2,
                 color=_style.CYCLE[0], label="runs stuck (r ≤ r*/4)")  # fmt: skip
    lo, hi = summary.alpha_boundary
    if lo is not None and hi is not None:
        ax_frac.axvspan(lo / alpha_star, hi / alpha_star, color=_style.GREY, alpha=0.3, lw=0,
                        label="none stuck → all stuck")  # fmt: skip
    ax_frac.axvline(1.0, color=_style.THEORY, ls="--", lw=0.8, label=r"$\alpha^*$")
    ax_frac.set_xscale("log")
    ax_frac.set_xlabel(r"learning rate $\alpha / \alpha^*$")
    ax_frac.set_ylabel(f"fraction stuck at epoch {cfg.epochs_d:,}")
    _style.beyond(ax_frac, "runs of D that end stuck")
    ax_frac.legend(loc="upper left")
    _style.panel_label(ax_frac, "F")
    return fig


def caption(summary: Summary, cfg: Config) -> str:
    """The caption of the figure, with its parameters and the measured drop."""
    T = cfg.T
    c_loss = ", ".join(f"{c:g}" for c in cfg.c_loss)
    c_grad = ", ".join(f"{c:g}" for c in cfg.c_grad)
    low, high = (_rate_text(lr) for lr in cfg.lr_bc)
    reports = ", ".join(f"{e:,}" for e in cfg.report_epochs_d)
    lr_lo, lr_hi = (_rate_text(10.0**e) for e in cfg.lr_log10_d)
    win = summary.drop_window
    reached = summary.epoch_r_below_r_star
    drop = summary.drop_epoch
    if win is not None and reached is not None:
        band_lo, band_hi = summary.r_after_drop_over_r_star
        drop_text = (
            f"With α = {low} the loss falls by {DROP_FRACTION:.0%} of its range within "
            f"{round(win.window):,} epochs (shaded, epochs {round(win.start):,} to "
            f"{round(win.end):,}) after a plateau of {round(win.plateau):,} epochs; it "
            f"is below T/2 (r < 4r*) from epoch {drop:,}, and r first reaches r* at epoch "
            f"{reached:,} (dotted line); from 50 epochs later on r stays within "
            f"[{band_lo:.2f}, {band_hi:.2f}] r*. "
        )
    else:
        drop_text = f"With α = {low} r did not reach r* in {cfg.epochs_bc:,} epochs. "
    sign = "never changes sign" if not summary.r_changed_sign else "changes sign"
    stuck = "ends stuck below r*/4" if summary.high_lr_stuck else "does not end stuck"
    none_stuck, all_stuck = summary.alpha_boundary
    boundary = (
        f"no instance is stuck up to α = {_rate_text(none_stuck)} and every instance from "
        f"α = {_rate_text(all_stuck)} on"
        if none_stuck is not None and all_stuck is not None
        else "the grid does not hold both a rate with no instance stuck and one with all stuck"
    )
    return (
        "Fig. 2. The toy model trained on the delayed-activation task shows abrupt learning. "
        f"A, loss L(r)/T for r in [{cfg.r_range[0]:g}, {cfg.r_range[1]:g}] r* "
        f"({cfg.n_r} values): analytic limit c, x* → ∞ (black line) against the numerical "
        f"loss of the output σ(c(x − x*)) by forward Euler (dots, c = {c_loss}) and by exact "
        "quadrature (thin lines, same colours). Three regimes: (1) the no-learning zone "
        "beyond the point of no return r*/4 (flat, L = T), (2) the global minimum "
        "r* = π²/(4T²), where the gradient is discontinuous (a kink: gradient descent "
        "oscillates), and (3) saturation toward L = T for r ≫ r*; between r*/4 and r* the "
        "loss changes abruptly. "
        f"Parameters: T = {T:g}, Δt = {cfg.dt:g}, x* = {cfg.x_thr:g}. "
        f"B-C, gradient descent on the analytic loss from r = {cfg.r0_factor:g} r* with "
        f"α = {low} and {high} (critical rate α* = 3π⁴/32 T⁻⁵ = "
        f"{_rate_text(summary.alpha_star)}), {cfg.epochs_bc:,} epochs: loss (B) and r "
        f"(C) per epoch; dash-dotted r*, dashed r*/4. {drop_text}r {sign} during "
        f"learning: no bifurcation. With α = {high} training {stuck}. "
        f"D, loss against {cfg.n_lr_d} learning rates log-spaced in [{lr_lo}, {lr_hi}] "
        f"at epochs {reports} (log-log): lines, means; shading, s.e.m. over "
        f"{cfg.instances_d} instances with r(0) drawn from Normal({cfg.r0_factor:g} r*, "
        f"({cfg.r0_sd_factor:g} r*)²); dashed, α*. Lower rates reach lower final losses "
        f"but need more epochs; at epoch {cfg.epochs_d:,} {boundary}. "
        f"Parameters for B-D: T = {T:g}, analytic model (c, x* → ∞). "
        "Beyond the paper (extra figure): E, |dL/dr| of the numerical loss for "
        f"c = {c_grad}, against the analytic gradient (dashed); F, share of D's runs stuck "
        f"below r*/4 at epoch {cfg.epochs_d:,}, shaded between the largest rate with none "
        "stuck and the smallest with all stuck."
    )


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """The paper's Fig. 2 statements against the measured summary."""
    drop = summary.drop_epoch
    lo, hi = summary.alpha_boundary
    alpha_star = summary.alpha_star
    errors = {k: dataclasses.asdict(v) for k, v in summary.loss_error_over_T_c1.items()}
    worst = max(max(v.values()) for v in errors.values())
    grads = summary.grad_no_learning_zone_median_abs
    by_c = [grads[k] for k in sorted(grads, key=float)]
    rho = summary.spearman_lr_vs_final_loss_learned
    band = summary.r_after_drop_over_r_star
    reached = summary.epoch_r_below_r_star
    win = summary.drop_window
    located = drop is not None and reached is not None and drop <= 1550 and reached >= 1400
    abrupt = win is not None and win.ratio <= DROP_MAX_RATIO
    lows = [v for _, v in sorted(summary.lowest_lr_below_half_T_by_epoch.items(),
                                 key=lambda kv: int(kv[0]))]  # fmt: skip
    known = [v for v in lows if v is not None]
    slower = len(lows) >= 2 and len(known) == len(lows) and known[-1] < known[0]
    no_drop = "the loss never fell to r* in this run, so there is no learning to inspect"
    return [
        Claim(
            figure=NAME,
            claim="With alpha = 1e-10 from r0 = 10 r*, the loss drops abruptly around epoch 1500",
            paper="around epoch 1500 (1400-1550), after a long plateau",
            measured={
                "drop_epochs": [drop, reached],
                "window_epochs": None if win is None else win.window,
                "plateau_epochs": None if win is None else win.plateau,
                "window_over_plateau": None if win is None else win.ratio,
            },
            reproduced=located and abrupt,
            reason="where: the drop runs from the first epoch with loss < T/2 to the first with "
            "r < r*, and must overlap the paper's 1400-1550; abrupt: the shortest window "
            f"holding {DROP_FRACTION:g} of the fall (from the first epoch's loss to the median "
            f"of the last 20% of epochs) must be <= {DROP_MAX_RATIO:g} x the plateau before it",
        ),
        (
            Claim(
                figure=NAME,
                claim="During that learning r never changes sign (no bifurcation)",
                paper="r > 0 throughout",
                measured={"r_min_over_r_star": summary.r_min_over_r_star},
                reproduced=not summary.r_changed_sign,
                reason="smallest r over the whole run must stay > 0",
            )
            if reached is not None
            else Claim(
                figure=NAME,
                claim="During that learning r never changes sign (no bifurcation)",
                paper="r > 0 throughout",
                measured={"r_min_over_r_star": summary.r_min_over_r_star},
                skip="no learning",
                reason=no_drop,
            )
        ),
        Claim(
            figure=NAME,
            claim="After the drop, training oscillates near the global minimum r*",
            paper="oscillations near r*",
            measured={
                "r_over_r_star": list(band),
                "loss_max_over_T": summary.loss_after_drop_max_over_T,
            },
            reproduced=reached is not None and 0.8 < band[0] < 1.0 < band[1] < 1.2,
            reason="range of r / r* from 50 epochs after r first reaches r* to the end: within "
            "20% of r* and on both sides of it (an oscillation, not a settled or drifting r)",
        ),
        Claim(
            figure=NAME,
            claim="With alpha = 1e-9 (> alpha*) training ends stuck in the no-learning zone",
            paper="stuck",
            measured={
                "stuck": summary.high_lr_stuck,
                "entered_at_epoch": summary.high_lr_stuck_epoch,
            },
            reproduced=summary.high_lr_stuck,
            reason="stuck: r <= r*/4 at the last epoch",
        ),
        Claim(
            figure=NAME,
            claim="Learning is no longer possible for alpha >= ~9e-10 (alpha* = 3 pi^4/32 T^-5)",
            paper=alpha_star,
            measured=list(summary.alpha_boundary),
            reproduced=lo is not None
            and hi is not None
            and lo < alpha_star <= hi
            and hi / lo < 1.2,
            reason="[largest rate with no instance stuck, smallest rate with all 10 stuck] on the "
            "100-point grid at 10k epochs; it must bracket alpha* within 1.2x (about 2.5 grid "
            "steps). Between alpha* and ~1.03 alpha* some runs settle on a stable cycle around "
            "r* and never get stuck",
        ),
        Claim(
            figure=NAME,
            claim="The numerical loss (c = 1, x_thr = 10) follows the analytic loss in all three "
            "regimes",
            paper="agreement in the no-learning zone, at the minimum and on the saturation side",
            measured=errors,
            reproduced=worst < 0.01,
            reason="max |L_numerical - L_analytic| / T per regime (r <= r*/4, r*/4 < r <= r*, "
            "r > r*); tolerance 0.01 (expected ~1/(x_thr T) from the threshold plus O(dt) "
            "from Euler)",
        ),
        Claim(
            figure=NAME,
            claim="Lowering the confidence c gives a non-zero gradient beyond the point of no "
            "return, pointing out of the no-learning zone",
            paper="small, yet non-zero, gradients beyond the point of no return at lower c",
            measured={
                "median_abs_grad_by_c": grads,
                "points_out_of_zone": summary.grad_no_learning_zone_points_out,
            },
            reproduced=summary.grad_no_learning_zone_points_out
            and all(v >= 1e3 * by_c[-1] for v in by_c[:-1]),
            reason="median |dL/dr| of the Euler loss over r <= r*/4; every lower c must exceed "
            "the largest c by 1e3x. Not monotonic: the gradient peaks near c = 0.1 and falls "
            "again at c = 0.01, where dL/dr carries the small factor c",
        ),
        Claim(
            figure=NAME,
            claim="Lower learning rates reach lower final losses, but need more epochs",
            paper="learned best with lower learning rates, at the expense of more epochs",
            measured={
                "spearman_lr_vs_loss_at_last_epoch": rho,
                "loglog_slope": summary.loglog_slope_final_loss_vs_lr_learned,
                "lowest_lr_below_half_T_by_epoch": summary.lowest_lr_below_half_T_by_epoch,
            },
            reproduced=rho is not None and rho > 0.9 and slower,
            reason="lower final loss: Spearman correlation of the rate with the mean loss at the "
            "last epoch, over rates below alpha* whose instances all reached r*, must be > 0.9 "
            "(the oscillation amplitude, so the final loss, grows ~ linearly with the rate); "
            "more epochs: the lowest rate with mean loss < T/2 must be lower at the last report "
            "epoch than at the first",
        ),
    ]
