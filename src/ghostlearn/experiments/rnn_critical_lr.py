"""Beyond the paper: the rank-one RNN's critical learning rate across delays.

The toy model's critical learning rate is ``alpha* = 3 pi^4 / 32 * T^-5`` (End Matter
Eq. 15). The paper expects RNNs not to follow it ("we do not expect the critical learning
rate in RNNs to follow Eq. (15), as the RNNs are more expressive than the toy model": a
rank-one network has O(N) parameters, hence sloppy directions) and stops there. This
experiment measures it.

Networks: the paper's rank-one RNN (``N = 100``, ``init = "paper"``: the original script's
initial weights, seeds ``0 .. n_seeds - 1``, the same networks at every delay and rate),
trained with plain gradient descent on the delayed-activation task with delays ``T`` in
``delays`` Euler steps (``RNNConfig(T = T * dt)``, ``dt = 5 ms``: the target is ``T``
zeros then ``T`` ones, a trial of ``2T`` steps; the paper's task has ``T = 20``), at each
confidence ``c`` in ``confidences`` (the paper's 10 and a lower 1), over a log-spaced
learning-rate grid per confidence (``lr_log10``, ``n_lr`` rates) that is wide enough to
bracket the transition at every delay.

Training horizon: every network trains for the same gradient-flow time
``lr x epochs = train_time`` (200), i.e. ``ceil(train_time / lr)`` epochs of its own.
Measured here, the plateau before a network first reaches accuracy > 0.5 lasts
``lr x epochs`` ~ 60-150 at ``c = 10`` and ~ 3-6 at ``c = 1``, at every rate and nearly
independent of ``T`` (a seed's first epoch with accuracy > 0.5 agreed within a few epochs at
``T = 10, 20, 40``); with one number of epochs for every rate the small rates would "never
learn" only because they had not had the time. Most networks that learned and then got
stuck did so within a few thousand epochs of learning (but see the late collapse below).
Each ``(T, c, lr)`` population is one :func:`ghostlearn.train.train` call (its own number
of epochs); all calls of one delay share one compiled program (same population size and
chunk; the trained epochs are rounded up to whole chunks and the outcome is judged on the
first ``ceil(train_time / lr)``).

Outcomes (Fig. 4's rules, :mod:`ghostlearn.outcomes`, on each network's horizon):
*learned* (maximum accuracy > 0.5), *stuck* (learned, then accuracy <= 0.5 at every one of
the last ``last = 50`` epochs), *never learned*, *diverged* (non-finite loss; none was seen
at these rates). A network *fails* when it never learned, ended stuck or diverged. A
stricter diagnostic, *solved* (accuracy >= 0.9 at each of the last 10 epochs), is stored
beside them: a network can be neither stuck nor solving the task (at ``T = 40``,
``lr = 0.04`` most networks end with accuracy > 0.5 and a loss near 0.5, against ~0.02
for a solution).

Critical rate per ``(T, c)`` (:func:`critical_rate`): the first rate above the first grid
rate that works (fewer than half fail) at which at least half of the networks fail,
interpolated linearly in ``log lr`` with the grid rate below it; "below the grid" when at
least half fail at every grid rate, "above the grid" when the fraction never rises back
to one half. The failure fraction is not monotone in the rate: at ``T = 10`` and
``c = 10`` 55% of the networks collapse into the no-learning zone at the smallest rate
(1.6e-3, 1.3e5 epochs: they had learned the task and fell 2e4-7e4 epochs later; the
others end with a loss below 1e-3), and at ``T = 30, 40`` fewer fail again around
``lr = 0.04`` than at 0.01. Its 95% interval
is a percentile bootstrap over seeds (``n_boot`` resamples drawn with
:func:`numpy.random.default_rng` seeded ``boot_seed``; one resample of seeds is used at
every delay, confidence and rate, since a seed is the same initial network everywhere).

Scaling: least squares of ``log alpha*`` against ``log T`` over the delays whose critical
rate lies inside the grid (:func:`fit_power_law`), with two 95% intervals of the exponent:
the fit's t interval (``n - 2`` degrees of freedom) and the seed bootstrap (resamples with
a crossing inside the grid at every fitted delay). The claims use the envelope of both;
they are skipped when fewer than 3 delays have a critical rate inside the grid.

Cost: ``network-epochs = n_seeds * sum over delays, confidences and rates of the trained
epochs`` (about ``n_seeds * train_time * sum(1 / lr)`` per delay and confidence: the lowest
rates dominate); the time per network-epoch grows with the trial length ``2T``. Measured
on a 2-core machine shared with other jobs (``devices = 1``), compilation (one program per
delay) included:

- quick (delays 10, 15, 20; 8 seeds; 7 rates per confidence; 1.6e6 network-epochs,
  4.8e7 network-steps): 42-46 s wall over three runs;
- paper (delays 10-40; 20 seeds; 11 rates per confidence, down to 1.6e-3 at ``c = 10``
  where ``T = 40`` still works; 3.6e7 network-epochs, 1.7e9 network-steps): 637 s wall.

Measured. Paper fidelity: at ``c = 10`` the critical rate falls from 0.056 (T = 10) through
0.031, 0.018, 0.0076 to 0.0035 (T = 40): exponent -2.00, 95% interval [-2.41, -1.59]
(bootstrap alone [-2.13, -1.89]), R^2 = 0.99; at ``c = 1`` from 0.38 to 0.10: exponent
-1.03 [-1.42, -0.72], R^2 = 0.97. Every claim reproduced: a power of ``T``, far from the
toy's -5, and the lower confidence tolerates 7-29x larger rates at every delay. Quick
fidelity (delays 10-20 only): ``c = 10`` exponent -1.48 [-2.17, -0.80] (reproduced);
``c = 1`` -1.68 with R^2 = 0.63 and an interval [-18, 15] from 8 seeds and 3 delays (both
of its claims differ: too noisy to tell). By the stricter "solved" rule (quick fidelity,
``critical_rate_unsolved``) the two confidences are much closer: 0.052, 0.029, 0.018 at
``c = 10`` (as by Fig. 4's rules) against 0.084, 0.054, 0.032 at ``c = 1``, whose networks
at larger rates mostly escape the no-learning zone without solving the task.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Literal

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from .. import _validate, outcomes
from ..rnn import INIT_METHODS, RNNConfig
from ..train import train
from . import _style, base
from .base import Claim, Fidelity, Progress, stage_progress

NAME = "rnn-critical-lr"
TITLE = "Beyond the paper: the rank-one RNN's critical learning rate across delays"

#: The toy model's exponent of the critical learning rate (End Matter Eq. 15).
TOY_EXPONENT = -5.0
#: The critical rate is where this fraction of the networks fails.
LEVEL = 0.5
#: Two-sided confidence of every interval.
CONFIDENCE = 0.95
#: "Falls as a power of T": the log-log fit explains at least this share of the variance.
MIN_R_SQUARED = 0.9
#: Fewest delays with a critical rate inside the grid for a fit (and its claims).
MIN_DELAYS = 3
#: "Solved" (a stricter diagnostic than "not stuck"): accuracy >= SOLVED_THRESHOLD at every
#: one of the last SOLVED_LAST epochs of the horizon (:func:`ghostlearn.outcomes.recovered`).
SOLVED_LAST = 10
SOLVED_THRESHOLD = 0.9
#: Largest number of epochs per compiled call.
MAX_CHUNK = 500
#: Figure height, inches (page width).
HEIGHT = 4.6


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of the critical-rate study.

    Attributes:
        delays: delays ``T`` in Euler steps (a trial has ``2T``), increasing, >= 1, at
            least 3 of them.
        confidences: confidences ``c``, > 0, distinct.
        lr_log10: one (lo, hi) pair of exponents of the learning-rate grid per confidence.
        n_lr: learning rates per confidence (``logspace(lo, hi, n_lr)``), >= 2.
        n_seeds: networks per (delay, confidence, rate), seeds ``0 .. n_seeds - 1``, >= 2.
        train_time: gradient-flow time ``lr x epochs`` every network trains for, > 0.
        last: final epochs inspected by the "stuck" rule, >= 1 (the whole horizon when
            that is shorter).
        N: units per network, >= 1.
        init: initial weights (:func:`ghostlearn.rnn.init_params`).
        n_boot: bootstrap resamples of the seeds, >= 100.
        boot_seed: seed of the bootstrap's generator, >= 0.
        devices: XLA devices every training call runs on, >= 1.
    """

    delays: tuple[int, ...] = (10, 15, 20, 30, 40)
    confidences: tuple[float, ...] = (10.0, 1.0)
    lr_log10: tuple[tuple[float, float], ...] = ((-2.8, -0.8), (-1.6, 0.4))
    n_lr: int = 11
    n_seeds: int = 20
    train_time: float = 200.0
    last: int = 50
    N: int = 100
    init: str = "paper"
    n_boot: int = 1000
    boot_seed: int = 0
    devices: int = 1

    def __post_init__(self) -> None:
        if len(self.delays) < MIN_DELAYS:
            raise ValueError(f"delays must hold >= {MIN_DELAYS} values, got {self.delays!r}")
        for d in self.delays:
            _validate.at_least("delays", d, 1)
        if list(self.delays) != sorted(set(self.delays)):
            raise ValueError(f"delays must increase, got {self.delays!r}")
        if len(self.confidences) == 0:
            raise ValueError("confidences must not be empty")
        _validate.real("confidences", list(self.confidences))
        _validate.positive("confidences", np.asarray(self.confidences, dtype=float))
        if len(set(self.confidences)) != len(self.confidences):
            raise ValueError(f"confidences must not repeat, got {self.confidences!r}")
        if len(self.lr_log10) != len(self.confidences):
            raise ValueError(
                f"lr_log10 must hold one (lo, hi) pair per confidence "
                f"({len(self.confidences)}), got {len(self.lr_log10)}"
            )
        for pair in self.lr_log10:
            _validate.interval("lr_log10", pair)
        _validate.at_least("n_lr", self.n_lr, 2)
        _validate.at_least("n_seeds", self.n_seeds, 2)
        _validate.positive("train_time", self.train_time)
        _validate.at_least("last", self.last, 1)
        _validate.at_least("N", self.N, 1)
        _validate.one_of("init", self.init, INIT_METHODS)
        _validate.at_least("n_boot", self.n_boot, 100)
        _validate.at_least("boot_seed", self.boot_seed, 0)
        _validate.at_least("devices", self.devices, 1)

    @property
    def lr_grid(self) -> np.ndarray:
        """Learning rates, shape ``[confidence, n_lr]``: ``logspace(lo, hi, n_lr)`` per row."""
        return np.array([np.logspace(lo, hi, self.n_lr) for lo, hi in self.lr_log10])

    @property
    def horizons(self) -> np.ndarray:
        """Epochs each network is judged on, ``ceil(train_time / lr)`` (>= 1; a ratio within
        1e-9 of an integer counts as that integer), ``[confidence, n_lr]``."""
        epochs = np.ceil(self.train_time / self.lr_grid - 1e-9)
        return np.maximum(epochs, 1).astype(np.int64)

    @property
    def chunk(self) -> int:
        """Epochs per compiled call: at most :data:`MAX_CHUNK` and the shortest horizon."""
        return int(min(MAX_CHUNK, self.horizons.min()))

    @property
    def trained_epochs(self) -> np.ndarray:
        """Epochs each population trains: the horizon rounded up to whole chunks."""
        return -(-self.horizons // self.chunk) * self.chunk

    @property
    def network_epochs(self) -> int:
        """Network-epochs of the whole run (all delays, confidences, rates and seeds)."""
        return int(self.n_seeds * len(self.delays) * self.trained_epochs.sum())

    @property
    def network_steps(self) -> int:
        """Network time steps of the whole run (network-epochs times ``2T``)."""
        return int(self.n_seeds * self.trained_epochs.sum() * 2 * sum(self.delays))


def config(fidelity: Fidelity) -> Config:
    """``"paper"``: delays 10-40, 20 seeds, 11 rates. ``"quick"``: delays 10, 15, 20 (the
    long delays need rates near 1e-3, hence 1e5 epochs), 8 seeds, 7 rates."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    if fidelity == "paper":
        return Config()
    return Config(delays=(10, 15, 20), lr_log10=((-2.0, -0.8), (-1.6, 0.4)), n_lr=7, n_seeds=8)


# --------------------------------------------------------------------------------------
# Critical rate, bootstrap and power-law fit


def critical_rate(
    lr: ArrayLike, fraction: ArrayLike, *, level: float = LEVEL
) -> NDArray[np.float64]:
    """Where the failure fraction first rises through ``level``, interpolated in log.

    With ``b`` the lowest grid index where ``fraction[b] < level`` (the first rate that
    works) and ``j > b`` the first index above it with ``fraction[j] >= level``, the
    critical rate is
    ``exp(log lr[j-1] + (level - f[j-1]) / (f[j] - f[j-1]) * (log lr[j] - log lr[j-1]))``:
    linear interpolation in ``log lr``. Starting from the first rate that works rather than
    from the grid's lowest keeps failures at very small rates (a late collapse after a very
    long training, seen at ``T = 10``) from being taken for the transition; taking the
    first rise keeps a dip of the fraction at the largest rates from moving it up.

    Args:
        lr: [rate] increasing learning rates > 0.
        fraction: [..., rate] failure fractions.
        level: the fraction that defines the critical rate.

    Returns:
        [...] critical rates: ``0.0`` where the fraction is >= ``level`` at every grid rate
        (below the grid: no rate of the grid works), ``inf`` where it does not rise back to
        ``level`` above the first rate that works (above the grid).

    Raises:
        ValueError: rates that are not increasing and positive, or shapes that differ.
    """
    rates = np.asarray(lr, dtype=float)
    f = np.asarray(fraction, dtype=float)
    if rates.ndim != 1 or rates.size < 2:
        raise ValueError(f"lr must be 1-D with >= 2 rates, got shape {rates.shape}")
    _validate.positive("lr", rates)
    if not np.all(np.diff(rates) > 0):
        raise ValueError("lr must increase")
    if f.shape[-1:] != rates.shape:
        raise ValueError(f"fraction must end with the rate axis ({rates.size}), got {f.shape}")
    x = np.log(rates)
    works = f < level
    b = np.argmax(works, axis=-1)
    reached = (np.arange(rates.size) > b[..., None]) & ~works
    j = np.argmax(reached, axis=-1)
    i = np.maximum(j - 1, 0)
    f0 = np.take_along_axis(f, i[..., None], axis=-1)[..., 0]
    f1 = np.take_along_axis(f, j[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(j > 0, (level - f0) / (f1 - f0), 0.0)
    out = np.where(reached.any(axis=-1), np.exp(x[i] + t * (x[j] - x[i])), np.inf)
    return np.where(works.any(axis=-1), out, 0.0)


def bootstrap_indices(n_seeds: int, n_boot: int, seed: int) -> NDArray[np.int64]:
    """Seed indices of ``n_boot`` resamples with replacement, ``[n_boot, n_seeds]``.

    Drawn with ``numpy.random.default_rng(seed).integers``: the same seed gives the same
    resamples."""
    _validate.at_least("n_seeds", n_seeds, 1)
    _validate.at_least("n_boot", n_boot, 1)
    rng = np.random.default_rng(_validate.seed("seed", seed))
    return rng.integers(0, n_seeds, size=(n_boot, n_seeds))


def resampled_fractions(failed: ArrayLike, indices: ArrayLike) -> NDArray[np.float64]:
    """Failure fractions of every resample: ``[n_boot, ...]`` from ``failed[..., seed]``.

    Args:
        failed: [..., seed] booleans (or 0/1).
        indices: [n_boot, n_seeds] seed indices (:func:`bootstrap_indices`).
    """
    arr = np.asarray(failed, dtype=float)
    idx = np.asarray(indices)
    return np.moveaxis(arr[..., idx].mean(axis=-1), -1, 0)


def percentile_interval(
    samples: ArrayLike, *, confidence: float = CONFIDENCE
) -> tuple[float | None, float | None]:
    """The central ``confidence`` percentile interval of bootstrap samples.

    The bounds are sample values (quantiles by ``inverted_cdf``, so infinite samples take
    part in the ordering); a bound that is not finite is ``None``. NaN samples are left
    out; with none left both bounds are ``None``.
    """
    s = np.asarray(samples, dtype=float).ravel()
    s = s[~np.isnan(s)]
    if s.size == 0:
        return None, None
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(s, [tail, 1 - tail], method="inverted_cdf")
    return (float(lo) if np.isfinite(lo) else None, float(hi) if np.isfinite(hi) else None)


def rate_interval(
    samples: ArrayLike, *, confidence: float = CONFIDENCE
) -> tuple[float | None, float | None]:
    """:func:`percentile_interval` of bootstrap critical rates (:func:`critical_rate`).

    A bound that falls on ``0`` (below the grid) or ``inf`` (above it) is ``None``: the
    interval is open at that end, beyond the grid."""
    lo, hi = percentile_interval(samples, confidence=confidence)
    return (lo if lo is not None and lo > 0 else None, hi)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PowerLaw:
    """Least-squares fit ``log rate = log prefactor + exponent * log T``.

    Attributes:
        exponent: the fitted slope.
        prefactor: ``exp(intercept)``.
        stderr: standard error of the slope.
        interval: the slope's ``confidence`` t interval (``n - 2`` degrees of freedom).
        r_squared: share of the variance of ``log rate`` the line explains.
        n: number of points.
    """

    exponent: float
    prefactor: float
    stderr: float
    interval: tuple[float, float]
    r_squared: float
    n: int


def fit_power_law(T: ArrayLike, rates: ArrayLike, *, confidence: float = CONFIDENCE) -> PowerLaw:
    """Fit ``rate = a T^p`` by least squares on ``y = log rate`` against ``x = log T``.

    ``p = Sxy / Sxx``, ``stderr = sqrt(SS_res / (n - 2) / Sxx)``, the interval is
    ``p +- t_{(1 + confidence) / 2, n - 2} * stderr`` and ``R^2 = 1 - SS_res / Syy``
    (0 when the rates do not vary: there is no fall to explain).

    Args:
        T: [n] delays > 0, not all equal.
        rates: [n] rates > 0.
        confidence: two-sided confidence of the slope's t interval.

    Returns:
        The :class:`PowerLaw`.

    Raises:
        ValueError: fewer than 3 points, shapes that differ, non-positive values.
    """
    t_arr = np.asarray(T, dtype=float)
    r_arr = np.asarray(rates, dtype=float)
    if t_arr.shape != r_arr.shape or t_arr.ndim != 1:
        raise ValueError(f"T and rates must be 1-D of one length, got {t_arr.shape}, {r_arr.shape}")
    if t_arr.size < MIN_DELAYS:
        raise ValueError(f"a fit needs >= {MIN_DELAYS} points, got {t_arr.size}")
    _validate.positive("T", t_arr)
    _validate.positive("rates", r_arr)
    if np.ptp(t_arr) == 0:
        raise ValueError("T must not be all equal")
    x, y = np.log(t_arr), np.log(r_arr)
    n = int(t_arr.size)
    xc, yc = x - x.mean(), y - y.mean()
    sxx, syy = float(xc @ xc), float(yc @ yc)
    slope = float(xc @ yc) / sxx
    intercept = float(y.mean()) - slope * float(x.mean())
    ss_res = max(float(np.sum((y - intercept - slope * x) ** 2)), 0.0)
    stderr = math.sqrt(ss_res / (n - 2) / sxx)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 2)) * stderr
    return PowerLaw(
        exponent=slope,
        prefactor=math.exp(intercept),
        stderr=stderr,
        interval=(slope - half, slope + half),
        # rates that do not vary leave no variance to explain: R^2 = 0
        r_squared=1.0 - ss_res / syy if syy > 0 else 0.0,
        n=n,
    )


def slopes(T: ArrayLike, rates: ArrayLike) -> NDArray[np.float64]:
    """Least-squares slopes of ``log rates[..., i]`` against ``log T[i]`` (vectorized)."""
    x = np.log(np.asarray(T, dtype=float))
    y = np.log(np.asarray(rates, dtype=float))
    xc = x - x.mean()
    return (y * xc).sum(axis=-1) / (xc * xc).sum()


# --------------------------------------------------------------------------------------
# run


def run(cfg: Config, progress: Progress | None = None) -> xr.Dataset:
    """Train every (delay, confidence, rate) population for its horizon and record outcomes.

    Progress is reported in network-epochs (:attr:`Config.network_epochs`).

    Returns:
        Dataset with dims ``c``, ``T`` (delay, Euler steps), ``rate`` (grid index), ``seed``:
        ``learned``, ``stuck``, ``diverged``, ``solved`` (booleans), ``first_learned`` and
        ``last_correct`` (the first and the last epoch with accuracy > 0.5, -1 if none),
        ``final_loss``; coordinates ``lr``, ``horizon`` (epochs judged) and
        ``trained_epochs`` (c, rate). Attrs: ``train_time``, ``run_wall_s``,
        ``network_epochs``, ``network_steps``.
    """
    start = time.perf_counter()
    lrs, horizons, trained = cfg.lr_grid, cfg.horizons, cfg.trained_epochs
    seeds = np.arange(cfg.n_seeds)
    shape = (len(cfg.confidences), len(cfg.delays), cfg.n_lr, cfg.n_seeds)
    learned = np.zeros(shape, bool)
    stuck = np.zeros(shape, bool)
    diverged = np.zeros(shape, bool)
    solved = np.zeros(shape, bool)
    first = np.full(shape, -1, np.int64)
    last_ok = np.full(shape, -1, np.int64)
    final_loss = np.full(shape, np.nan)
    total = cfg.network_epochs
    P = cfg.n_seeds
    done = 0
    dt = RNNConfig().dt
    for k, delay in enumerate(cfg.delays):
        model = RNNConfig(model="rank1", N=cfg.N, T=delay * dt)
        for i, c in enumerate(cfg.confidences):
            for j in range(cfg.n_lr):
                ds = train(
                    model,
                    seeds=seeds,
                    lr=float(lrs[i, j]),
                    c=float(c),
                    epochs=int(trained[i, j]),
                    init=cfg.init,
                    chunk=cfg.chunk,
                    devices=cfg.devices,
                    progress=stage_progress(progress, done, P, total),
                )
                done += P * int(trained[i, j])
                h = int(horizons[i, j])
                acc = ds["accuracy"].values[:, :h].astype(float)
                good = acc > 0.5
                any_good = good.any(axis=-1)
                learned[i, k, j] = outcomes.learned(acc)
                stuck[i, k, j] = outcomes.stuck(acc, last=min(cfg.last, h))
                solved[i, k, j] = outcomes.recovered(
                    acc, last=min(SOLVED_LAST, h), threshold=SOLVED_THRESHOLD
                )
                div_epoch = ds["diverged_epoch"].values
                diverged[i, k, j] = (div_epoch >= 0) & (div_epoch < h)
                first[i, k, j] = np.where(any_good, good.argmax(axis=-1), -1)
                last_ok[i, k, j] = np.where(any_good, h - 1 - good[:, ::-1].argmax(axis=-1), -1)
                final_loss[i, k, j] = ds["loss"].values[:, h - 1]
    if progress is not None:
        progress(total, total)
    dims = ("c", "T", "rate", "seed")
    data = xr.Dataset(
        {
            "learned": (dims, learned, {"long_name": "maximum accuracy > 0.5"}),
            "stuck": (
                dims,
                stuck,
                {"long_name": f"learned, then accuracy <= 0.5 over the last {cfg.last} epochs"},
            ),
            "diverged": (dims, diverged, {"long_name": "non-finite loss within the horizon"}),
            "solved": (
                dims,
                solved,
                {
                    "long_name": f"accuracy >= {SOLVED_THRESHOLD:g} at each of the last "
                    f"{SOLVED_LAST} epochs"
                },
            ),
            "first_learned": (dims, first, {"long_name": "first epoch with accuracy > 0.5"}),
            "last_correct": (dims, last_ok, {"long_name": "last epoch with accuracy > 0.5"}),
            "final_loss": (dims, final_loss, {"long_name": "loss at the last judged epoch"}),
        },
        coords={
            "c": ("c", np.asarray(cfg.confidences, float), {"long_name": "confidence"}),
            "T": ("T", np.asarray(cfg.delays), {"long_name": "delay", "units": "Euler steps"}),
            "rate": ("rate", np.arange(cfg.n_lr)),
            "seed": ("seed", seeds),
            "lr": (("c", "rate"), lrs, {"long_name": "learning rate"}),
            "horizon": (("c", "rate"), horizons, {"long_name": "epochs judged"}),
            "trained_epochs": (("c", "rate"), trained),
        },
    )
    data.attrs.update(
        train_time=cfg.train_time,
        run_wall_s=round(time.perf_counter() - start, 3),
        network_epochs=cfg.network_epochs,
        network_steps=cfg.network_steps,
    )
    return data


# --------------------------------------------------------------------------------------
# summarize


#: Where a critical rate lies relative to the learning-rate grid.
Where = Literal["grid", "below the grid", "above the grid"]
#: Bounds of an interval; None: open at that end (beyond the grid, or no fit).
Interval = tuple[float | None, float | None]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Confidence:
    """The outcomes, critical rates and power-law fit of one confidence ``c``.

    Per-delay values are indexed like the summary's ``delays``, per-rate ones like ``lr``;
    ``[T][rate]`` fields are fractions of the seeds. A NaN float is stored as ``null``.

    Attributes:
        c: the confidence.
        lr: its learning rates, ``[rate]``.
        horizon_epochs: epochs each rate's networks are judged on, ``[rate]``.
        failed_fraction: never learned, stuck or diverged, ``[T][rate]``.
        stuck_fraction: stuck, ``[T][rate]``.
        never_learned_fraction: never learned, ``[T][rate]``.
        diverged_fraction: diverged, ``[T][rate]``.
        unsolved_fraction: not solved (the stricter diagnostic), ``[T][rate]``.
        critical_rate_unsolved: the critical rate of the unsolved fraction, ``[T]`` (None:
            outside the grid).
        critical_rate: the critical rate, ``[T]`` (None: outside the grid).
        critical_rate_where: ``"grid"``, ``"below the grid"`` or ``"above the grid"``, ``[T]``.
        critical_rate_interval: the critical rate's bootstrap 95% interval, ``[T]``.
        delays_fitted: the delays whose critical rate lies inside the grid.
        exponent: the fitted exponent of the critical rate against ``T`` (None: fewer than
            ``MIN_DELAYS`` delays to fit).
        exponent_stderr: its standard error (None: no fit).
        prefactor: ``a`` of ``a T^exponent`` (None: no fit).
        r_squared: the share of the variance of ``log rate`` the fit explains (None: no
            fit).
        exponent_interval_fit: the exponent's t interval.
        exponent_interval_bootstrap: the exponent's seed-bootstrap interval.
        exponent_interval: the envelope of both.
        bootstrap_fit_fraction: share of the resamples with a crossing inside the grid at
            every fitted delay (None: no fit).
    """

    c: float
    lr: tuple[float, ...]
    horizon_epochs: tuple[int, ...]
    failed_fraction: tuple[tuple[float, ...], ...]
    stuck_fraction: tuple[tuple[float, ...], ...]
    never_learned_fraction: tuple[tuple[float, ...], ...]
    diverged_fraction: tuple[tuple[float, ...], ...]
    unsolved_fraction: tuple[tuple[float, ...], ...]
    critical_rate_unsolved: tuple[float | None, ...]
    critical_rate: tuple[float | None, ...]
    critical_rate_where: tuple[Where, ...]
    critical_rate_interval: tuple[Interval, ...]
    delays_fitted: tuple[float, ...]
    exponent: float | None = None
    exponent_stderr: float | None = None
    prefactor: float | None = None
    r_squared: float | None = None
    exponent_interval_fit: Interval = (None, None)
    exponent_interval_bootstrap: Interval = (None, None)
    exponent_interval: Interval = (None, None)
    bootstrap_fit_fraction: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """The critical-rate study's measured numbers (``summary.json`` beside the envelope).

    Attributes:
        delays: the delays ``T``, Euler steps.
        confidences: the confidences ``c``.
        n_seeds: networks per (delay, confidence, rate).
        n_lr: learning rates per confidence.
        train_time: gradient-flow time ``lr x epochs`` of every network.
        n_boot: bootstrap resamples of the seeds.
        level: the failure fraction that defines the critical rate (:data:`LEVEL`).
        toy_exponent: the toy model's exponent (:data:`TOY_EXPONENT`).
        failure_rule: what "fails" means, in words.
        unsolved_rule: what "not solved" means, in words.
        by_c: one :class:`Confidence` per confidence, in the order of ``confidences``.
        run_wall_time_s: wall time of the training, seconds.
        network_epochs: network-epochs trained.
        network_steps: network time steps trained.
    """

    delays: tuple[int, ...]
    confidences: tuple[float, ...]
    n_seeds: int
    n_lr: int
    train_time: float
    n_boot: int
    level: float
    toy_exponent: float
    failure_rule: str
    unsolved_rule: str
    by_c: tuple[Confidence, ...]
    run_wall_time_s: float
    network_epochs: int
    network_steps: int


def _where(rate: float) -> Where:
    if rate == 0:
        return "below the grid"
    if math.isinf(rate):
        return "above the grid"
    return "grid"


def _floats(values: ArrayLike) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values).ravel())


def _floats2(values: ArrayLike) -> tuple[tuple[float, ...], ...]:
    return tuple(_floats(row) for row in np.asarray(values))


def summarize(data: xr.Dataset, cfg: Config) -> Summary:
    """Fractions per (c, T, rate), critical rates with intervals, and the fitted exponents."""
    delays = data["T"].values.astype(float)
    lrs = data["lr"].values
    failed = (~data["learned"].values) | data["stuck"].values | data["diverged"].values
    never = ~data["learned"].values
    unsolved = ~data["solved"].values
    idx = bootstrap_indices(data.sizes["seed"], cfg.n_boot, cfg.boot_seed)
    boot_frac = resampled_fractions(failed, idx)  # [boot, c, T, rate]
    by_c = []
    for i, c in enumerate(data["c"].values):
        frac = failed[i].mean(axis=-1)  # [T, rate]
        crit = critical_rate(lrs[i], frac)  # [T]
        boot = critical_rate(lrs[i], boot_frac[:, i])  # [boot, T]
        in_grid = (crit > 0) & np.isfinite(crit)
        entry = Confidence(
            c=float(c),
            lr=_floats(lrs[i]),
            horizon_epochs=tuple(int(h) for h in data["horizon"].values[i]),
            failed_fraction=_floats2(frac),
            stuck_fraction=_floats2(data["stuck"].values[i].mean(axis=-1)),
            never_learned_fraction=_floats2(never[i].mean(axis=-1)),
            diverged_fraction=_floats2(data["diverged"].values[i].mean(axis=-1)),
            unsolved_fraction=_floats2(unsolved[i].mean(axis=-1)),
            critical_rate_unsolved=tuple(
                float(r) if 0 < r < np.inf else None
                for r in critical_rate(lrs[i], unsolved[i].mean(axis=-1))
            ),
            critical_rate=tuple(
                float(r) if g else None for r, g in zip(crit, in_grid, strict=True)
            ),
            critical_rate_where=tuple(_where(float(r)) for r in crit),
            critical_rate_interval=tuple(rate_interval(boot[:, k]) for k in range(crit.size)),
            delays_fitted=_floats(delays[in_grid]),
        )
        if in_grid.sum() >= MIN_DELAYS:
            law = fit_power_law(delays[in_grid], crit[in_grid])
            sub = boot[:, in_grid]
            ok = np.all((sub > 0) & np.isfinite(sub), axis=-1)
            boot_slopes = slopes(delays[in_grid], np.where(ok[:, None], sub, 1.0))[ok]
            b_lo, b_hi = percentile_interval(boot_slopes) if ok.any() else (None, None)
            lo = min(v for v in (law.interval[0], b_lo) if v is not None)
            hi = max(v for v in (law.interval[1], b_hi) if v is not None)
            entry = dataclasses.replace(
                entry,
                exponent=law.exponent,
                exponent_stderr=law.stderr,
                prefactor=law.prefactor,
                r_squared=law.r_squared,
                exponent_interval_fit=law.interval,
                exponent_interval_bootstrap=(b_lo, b_hi),
                exponent_interval=(lo, hi),
                bootstrap_fit_fraction=float(ok.mean()),
            )
        by_c.append(entry)
    return Summary(
        delays=tuple(int(d) for d in data["T"].values),
        confidences=_floats(data["c"].values),
        n_seeds=int(data.sizes["seed"]),
        n_lr=int(data.sizes["rate"]),
        train_time=float(data.attrs["train_time"]),
        n_boot=cfg.n_boot,
        level=LEVEL,
        toy_exponent=TOY_EXPONENT,
        failure_rule=f"never learned (max accuracy <= 0.5), stuck (learned, then accuracy "
        f"<= 0.5 over the last {cfg.last} epochs) or diverged, within lr x epochs = "
        f"{cfg.train_time:g}",
        unsolved_rule=f"not solved: accuracy < {SOLVED_THRESHOLD:g} at some of the last "
        f"{SOLVED_LAST} epochs (a diagnostic: a network can be neither stuck nor solving)",
        by_c=tuple(by_c),
        run_wall_time_s=float(data.attrs["run_wall_s"]),
        network_epochs=int(data.attrs["network_epochs"]),
        network_steps=int(data.attrs["network_steps"]),
    )


# --------------------------------------------------------------------------------------
# plot, caption


def _bounds(interval: Interval) -> tuple[float, float]:
    """An interval's bounds, an open end (None) as -inf or inf."""
    lo, hi = interval
    return (-math.inf if lo is None else lo, math.inf if hi is None else hi)


def _fmt_interval(interval: Interval) -> str:
    lo, hi = interval
    return f"[{'-inf' if lo is None else f'{lo:.2f}'}, {'inf' if hi is None else f'{hi:.2f}'}]"


#: Colours of the confidences in the scaling panels (the delays take the palette's first five).
_CONFIDENCE_COLOURS = ["#444444", _style.OKABE_ITO["sky_blue"], _style.OKABE_ITO["yellow"]]


def _outcome_panel(ax: Any, entry: Confidence, delays: list[int]) -> None:
    """Failed (solid) and never-learned (dotted) fractions against the rate, per delay."""
    lr = np.asarray(entry.lr, dtype=float)
    for k in range(len(delays)):
        color = _style.CYCLE[k % len(_style.CYCLE)]
        ax.plot(lr, np.asarray(entry.failed_fraction[k], float), "o-", ms=2.5, color=color)
        ax.plot(lr, np.asarray(entry.never_learned_fraction[k], float), ":", color=color)
        rate = entry.critical_rate[k]
        if rate is not None:
            ax.plot([rate], [LEVEL], "|", ms=8, mew=1.5, color=color)
    ax.axhline(LEVEL, color=_style.GREY, ls="--", lw=0.6)
    ax.set_xscale("log")
    # room above the fractions for the legends
    ax.set_ylim(-0.03, 1.32)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel("learning rate α")
    ax.set_ylabel("fraction of networks")
    _style.beyond(ax, f"outcomes at c = {entry.c:g}")


def _outcome_legends(axes: list[Any], delays: list[int]) -> None:
    """Delay colours in the first outcome panel, line styles in the second (or both in one)."""
    colours = [
        Line2D(
            [], [], color=_style.CYCLE[k % len(_style.CYCLE)], marker="o", ms=2.5, label=f"T = {d}"
        )  # fmt: skip
        for k, d in enumerate(delays)
    ]
    styles = [
        Line2D([], [], color=_style.THEORY, marker="o", ms=2.5, label="stuck or never learned"),
        Line2D([], [], color=_style.THEORY, ls=":", label="never learned"),
        Line2D(
            [],
            [],
            color=_style.THEORY,
            marker="|",
            ms=8,
            mew=1.5,
            ls="none",
            label="critical rate (half fail)",
        ),  # fmt: skip
        Line2D([], [], color=_style.GREY, ls="--", lw=0.6, label="half of the networks"),
    ]
    if len(axes) == 1:
        axes[0].legend(handles=colours + styles, loc="upper center", ncols=3)
        return
    axes[0].legend(handles=colours, loc="upper center", ncols=3)
    axes[1].legend(handles=styles, loc="upper center", ncols=2)


def _boxed_legend(ax: Any, handles: list[Any], labels: list[str], loc: str) -> None:
    """A legend on a white box, so that lines passing under it do not cross its text."""
    ax.legend(handles, labels, loc=loc, frameon=True, facecolor="white", edgecolor="none",
              framealpha=0.9)  # fmt: skip


def _critical_panel(ax: Any, by_c: tuple[Confidence, ...], delays: list[int]) -> None:
    """Critical rate against T (log-log) with intervals, fits and the toy's slope."""
    t = np.asarray(delays, dtype=float)
    anchor: tuple[float, float, float, float] | None = None
    handles: list[Any] = []
    labels: list[str] = []
    off_grid = False
    values: list[float] = []
    for i, entry in enumerate(by_c):
        color = _CONFIDENCE_COLOURS[i % len(_CONFIDENCE_COLOURS)]
        marker = "os^vD"[i % 5]
        lr = np.asarray(entry.lr, dtype=float)
        rates = entry.critical_rate
        shown = [k for k, r in enumerate(rates) if r is not None]
        parts: list[Any] = []
        if shown:
            y = np.array([rates[k] for k in shown])
            intervals = [entry.critical_rate_interval[k] for k in shown]
            lo = np.array([lr[0] if a is None else a for a, _ in intervals])
            hi = np.array([lr[-1] if b is None else b for _, b in intervals])
            values += [*lo, *hi]
            parts.append(
                ax.errorbar(
                    t[shown],
                    y,
                    yerr=[np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)],
                    fmt=marker,
                    ms=3.5,
                    capsize=2,
                    color=color,
                )  # fmt: skip
            )
        for k, where in enumerate(entry.critical_rate_where):
            if where != "grid":
                off_grid = True
                edge, sym = (lr[0], "v") if where == "below the grid" else (lr[-1], "^")
                ax.plot([t[k]], [edge], sym, ms=4, mfc="none", color=color)
                values.append(edge)
        text = f"c = {entry.c:g}"
        if entry.exponent is not None and entry.prefactor is not None:
            fitted = np.asarray(entry.delays_fitted, dtype=float)
            line = np.geomspace(fitted.min(), fitted.max(), 50)
            p, a = entry.exponent, entry.prefactor
            parts += ax.plot(line, a * line**p, "-", color=color, lw=1)
            text += f" (fit: exponent {p:.2f})"
            if anchor is None:
                anchor = (float(fitted.min()), float(fitted.max()), a, p)
        if parts:
            handles.append(tuple(parts))
            labels.append(text)
    if anchor is not None:
        # the toy's slope over the middle of the fitted delays, a factor 3 below the fit
        t0, t1, a, p = anchor
        mid = math.sqrt(t0 * t1)
        seg = np.geomspace(mid / (t1 / t0) ** 0.25, mid * (t1 / t0) ** 0.25, 20)
        toy = a * mid**p / 3 * (seg / mid) ** TOY_EXPONENT
        values += [float(toy.min()), float(toy.max())]
        handles += ax.plot(seg, toy, "--", color=_style.THEORY, lw=1)
        labels.append("toy model slope −5 (Eq. 15)")
    if off_grid:
        handles += ax.plot([], [], "v", mfc="none", color=_style.GREY)
        labels.append("outside the grid (at its end)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    if values:
        # room above the data for the legend
        lo_v, hi_v = min(values), max(values)
        ax.set_ylim(lo_v / 1.5, hi_v * (hi_v / lo_v) ** 0.6 * 1.5)
    ax.set_xticks(t, [str(d) for d in delays])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("delay T (time steps)")
    ax.set_ylabel("critical learning rate α*")
    if handles:
        _boxed_legend(ax, handles, labels, "upper right")
    _style.beyond(ax, "critical rate against the delay")


def _exponent_panel(ax: Any, by_c: tuple[Confidence, ...]) -> None:
    """Fitted exponents with their 95% intervals beside the toy's -5."""
    points: list[float] = []
    for i, entry in enumerate(by_c):
        if entry.exponent is None:
            continue
        color = _CONFIDENCE_COLOURS[i % len(_CONFIDENCE_COLOURS)]
        p = entry.exponent
        for (lo, hi), lw, cap, label in (
            (entry.exponent_interval, 1.0, 3, "95% interval (fit and bootstrap)"),
            (entry.exponent_interval_bootstrap, 2.5, 0, "seed bootstrap alone"),
        ):
            if lo is None or hi is None:
                continue
            ax.errorbar([p], [i], xerr=[[p - lo], [hi - p]], fmt="os^vD"[i % 5], ms=4,
                        capsize=cap, lw=lw, color=color,
                        label=label if not points else None)  # fmt: skip
        points.append(p)
    ax.axvline(TOY_EXPONENT, color=_style.THEORY, ls="--", lw=1, label="toy model −5 (Eq. 15)")
    ax.axvline(0.0, color=_style.GREY, ls=":", lw=1, label="no dependence on T")
    ax.set_yticks(range(len(by_c)), [f"c = {e.c:g}" for e in by_c])
    # room above the rows for the legend
    ax.set_ylim(-0.6, len(by_c) + 0.9)
    ax.set_xlim(min([TOY_EXPONENT, *points]) - 1.5, max([0.0, *points]) + 1.0)
    if not points:
        note = f"no fit: fewer than {MIN_DELAYS} delays\nwith a critical rate in the grid"
        ax.text(0.5, 0.4, note, transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel("exponent of α* against T")
    handles, labels = ax.get_legend_handles_labels()
    _boxed_legend(ax, handles, labels, "upper right")
    _style.beyond(ax, "fitted exponent against the toy's")


def plot(data: xr.Dataset, summary: Summary, cfg: Config) -> Figure:
    """Top: one outcome panel per confidence (failed and never-learned fractions against the
    learning rate, per delay). Bottom: the critical rate against the delay (log-log, with
    the fits and the toy's slope -5) and the fitted exponents beside -5."""
    by_c = summary.by_c
    delays = [int(d) for d in summary.delays]
    n_c = len(by_c)
    fig = _style.figure(HEIGHT, _style.PAGE)
    cols = 2 * n_c
    grid = fig.add_gridspec(2, cols)
    top = [fig.add_subplot(grid[0, 2 * i : 2 * i + 2]) for i in range(n_c)]
    ax_rate = fig.add_subplot(grid[1, : cols // 2])
    ax_exp = fig.add_subplot(grid[1, cols // 2 :])
    for ax, entry in zip(top, by_c, strict=True):
        _outcome_panel(ax, entry, delays)
    _outcome_legends(top, delays)
    _critical_panel(ax_rate, by_c, delays)
    _exponent_panel(ax_exp, by_c)
    for n, ax in enumerate([*top, ax_rate, ax_exp]):
        _style.panel_label(ax, chr(ord("A") + n))
    return fig


def caption(summary: Summary, cfg: Config) -> str:
    """The figure's caption, with its parameters and the measured exponents."""
    delays = ", ".join(str(int(d)) for d in summary.delays)
    cs = " and ".join(f"{c:g}" for c in summary.confidences)
    horizons = np.concatenate([np.asarray(e.horizon_epochs) for e in summary.by_c])
    parts = []
    for e in summary.by_c:
        if e.exponent is None:
            parts.append(f"c = {e.c:g}: no fit (fewer than {MIN_DELAYS} delays in the grid)")
        else:
            parts.append(f"c = {e.c:g}: {e.exponent:.2f} {_fmt_interval(e.exponent_interval)}")
    n_panels = len(summary.by_c)
    outcome = "A" if n_panels == 1 else f"A–{chr(ord('A') + n_panels - 1)}"
    last = chr(ord("A") + n_panels)
    return (
        "Beyond the paper: the rank-one RNN's critical learning rate across delays. "
        f"Rank-one networks (N = {cfg.N}, the paper's initial weights, seeds 0–"
        f"{summary.n_seeds - 1}) trained with plain gradient descent on the "
        f"delayed-activation task with delays T = {delays} time steps (trials of 2T steps) "
        f"at confidences c = {cs}, over {summary.n_lr} log-spaced learning rates α per "
        f"confidence; every network trains for α × epochs = {summary.train_time:g} "
        f"({int(horizons.min()):,} to {int(horizons.max()):,} epochs). "
        f"({outcome}) Fraction of the networks that end stuck or never learn (solid; Fig. 4's "
        f"rules) and that never learn (dotted), per delay; ticks mark the critical rate, where "
        f"half fail (interpolated in log α). ({last}) Critical rate against T (log–log) with "
        f"95% intervals from {summary.n_boot:,} bootstrap resamples of the seeds, "
        f"least-squares power-law fits, and the toy model's slope −5 (Eq. 15) for "
        f"comparison. Fitted exponents (95% interval, envelope of the fit's t interval and "
        f"the bootstrap): {'; '.join(parts)}."
    )


# --------------------------------------------------------------------------------------
# claims


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """Beyond-the-paper statements on the scaling of the RNN's critical rate with T."""
    out = []
    paper = "not measured; the paper expects RNNs not to follow Eq. 15 (T^-5)"
    for e in summary.by_c:
        c = e.c
        n_in = len(e.delays_fitted)
        measured = {
            "exponent": e.exponent,
            "interval": e.exponent_interval,
            "r_squared": e.r_squared,
            "delays_fitted": e.delays_fitted,
        }
        if e.exponent is None or e.r_squared is None:
            skip: dict[str, Any] = {
                "skip": f"{n_in} delay(s) with a critical rate inside the grid, a fit needs "
                f"{MIN_DELAYS}"
            }
            power = differs = skip
        else:
            lo, hi = _bounds(e.exponent_interval)
            power = {
                "reproduced": hi < 0 and e.r_squared >= MIN_R_SQUARED,
                "reason": f"least squares of log α* on log T over {n_in} delays; the whole 95% "
                f"interval of the exponent (envelope of the t interval and the seed bootstrap) "
                f"must be < 0 and the line must explain >= {MIN_R_SQUARED:.0%} of the "
                f"variance (R² = {e.r_squared:.3f})",
            }
            differs = {
                "reproduced": not lo <= TOY_EXPONENT <= hi,
                "reason": f"-5 must lie outside the exponent's 95% interval "
                f"{_fmt_interval(e.exponent_interval)} (envelope of the t interval and "
                "the seed bootstrap)",
            }
        out.append(
            Claim(
                beyond_paper=True,
                figure=NAME,
                claim=f"beyond the paper: the rank-one RNN's critical learning rate falls as "
                f"a power of the delay T (c = {c:g})",
                paper=paper,
                measured=measured,
                **power,
            )
        )
        out.append(
            Claim(
                beyond_paper=True,
                figure=NAME,
                claim=f"beyond the paper: its exponent differs from the toy model's -5 "
                f"(Eq. 15) (c = {c:g})",
                paper=paper,
                measured=measured,
                **differs,
            )
        )
    if len(summary.by_c) >= 2:
        entries = sorted(summary.by_c, key=lambda e: e.c)
        low, high = entries[0], entries[-1]
        pairs = [
            (int(d), a, b)
            for d, a, b in zip(summary.delays, low.critical_rate, high.critical_rate, strict=True)
            if a is not None and b is not None
        ]
        if pairs:
            compare: dict[str, Any] = {
                "reproduced": all(a > b for _, a, b in pairs),
                "reason": "at every delay where both confidences have a critical rate inside "
                f"the grid ({len(pairs)}), the lower confidence's must be the higher",
            }
        else:
            compare = {"skip": "no delay with a critical rate inside the grid at both"}
        out.append(
            Claim(
                beyond_paper=True,
                figure=NAME,
                claim=f"beyond the paper: the lower confidence (c = {low.c:g}) has a higher "
                f"critical learning rate than c = {high.c:g} at every delay (Fig. 4's "
                "rules: a network fails when it ends stuck or never learns)",
                paper="Fig. 4: lowering c lets stuck networks recover (at one delay and rate)",
                measured={
                    f"c = {low.c:g}": low.critical_rate,
                    f"c = {high.c:g}": high.critical_rate,
                    "delays": summary.delays,
                },
                **compare,
            )
        )
    return out
