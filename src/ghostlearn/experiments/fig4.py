"""Fig. 4: lowering the confidence lets rank-one RNNs leave the no-learning zone.

First part (the counts): 100 rank-one networks (seeds 0-99, ``N = 100``) trained with
plain gradient descent at confidence ``c = 10``, ``lr = 0.02``, 6000 epochs.

- "learned at some point": maximum training accuracy over all epochs > 0.5
  (:func:`ghostlearn.outcomes.learned`);
- "stuck" (entered the no-learning zone): learned at some point AND maximum accuracy over
  the last 50 epochs <= 0.5 (:func:`ghostlearn.outcomes.stuck`; a subset of the learned).

The paper reports 74 learned and 54 stuck. Training after the plateau is chaotic, so single
seeds differ between machines and initialisations; only the counts are comparable. They are
measured for two initialisations (``init="paper"``: the original script's initial weights,
seed for seed, drawn without PyTorch, the paper's own networks; ``init="numpy"``: an
independent sample of the same distribution) with binomial standard errors
``se = sqrt(k (1 - k/n))``. A count ``k`` agrees with the paper's ``k_p`` (both out of
100) when ``|k - k_p| <= 2 sqrt(se^2 + se_p^2)``: the two counts are consistent as
independent binomial samples at about the 95% level (with other population sizes the same
rule is applied to the proportions ``k/n``).

Second part (the recovery): every network of the primary (first) initialisation is copied
and trained 100 more epochs (epochs 6000-6099: fresh optimizer, the same ``lr``) at each of
30 confidences ``c`` in ``logspace(-3, 1, 30)``; ``c = 10`` is the control. All
``100 x 30`` copies train in one batched :func:`ghostlearn.train.train` call.

The figure is the paper's: the training accuracy (A) and the gradient norm (B) of the
stuck networks, mean +- s.e.m., over epochs 5800-6099: the last ``runup_epochs = 200``
epochs of the training at ``c = 10`` (from its per-epoch metrics), then the 100 recovery
epochs at every third confidence of the grid (10 of the 30, counted down from the
control, so ``c = 10`` is among them), coloured by ``c``. The accuracy raster, the counts
and the recovered fraction against ``c`` are drawn beyond the paper in
``figure-extra``.

A stuck network is *recovered* at ``c`` when its accuracy is >= 0.9 at every one of the
last 10 recovery epochs (6090-6099; :func:`ghostlearn.outcomes.recovered`): it solves the
task again, and keeps solving it. The lenient count beside it (accuracy > 0.5 at the last
recovery epoch, which one correct step after the delay already gives) says how many merely
left the no-learning zone; the control claim ("stay stuck at c = 10") uses that lenient
count, the recovery claim the strict one, so each is judged by the harder rule. Accuracy
does not depend on ``c`` at fixed parameters (``sigmoid(c (kappa - 1)) > 0.5`` exactly when
``kappa > 1``), so both rules compare the networks, not the readouts. Without stuck
networks the recovery claims are skipped (nothing to recover).

Every training call runs on ``devices = 1`` XLA device (a config field), so the counts
depend only on the config and the machine, not on how many host devices XLA exposes.

Wall time: the whole figure (both initialisations, 1.5e6 network-epochs in all) runs at
paper fidelity in both modes; measured 43 s wall on one device of a 2-core machine shared
with other jobs, including the compilation of its two programs (populations of 100 and
3000 networks). Measured there: ``init="paper"`` 74 learned and 57 stuck (the paper: 74,
54), ``init="numpy"`` 74 and 51; the best lower ``c`` (0.045) recovered 74% of the stuck
networks by the strict rule, 98% by the lenient one; none at the control.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, ListedColormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .. import _validate, outcomes
from ..rnn import INIT_METHODS, RNNConfig
from ..train import params_from_dataset, train
from . import _style, base
from .base import Claim, Fidelity, Progress, stage_progress

NAME = "fig4"
TITLE = "Rank-one RNNs: no-learning zone counts and recovery by lowering the confidence"

#: The paper's counts out of 100 networks.
PAPER_LEARNED = 74
PAPER_STUCK = 54
PAPER_NETS = 100
#: Agreement rule of the counts: |k - k_paper| <= Z_MAX * sqrt(se^2 + se_paper^2)
#: (on proportions k/n when the population is not 100 networks).
Z_MAX = 2.0
#: Recovered: accuracy >= RECOVERY_THRESHOLD at every one of the last RECOVERY_LAST epochs.
RECOVERY_LAST = 10
RECOVERY_THRESHOLD = 0.9


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of Fig. 4 (the paper's values by default).

    Attributes:
        n_seeds: networks, seeds ``0 .. n_seeds - 1``, >= 1.
        N: units per network, >= 1.
        lr: learning rate of both parts, > 0.
        c: confidence of the first part, also the recovery's control, > 0.
        epochs: epochs of the first part, >= 1.
        last: the final epochs inspected by the "stuck" criterion, 1 <= last <= epochs.
        inits: initialisations to count (:data:`ghostlearn.rnn.INIT_METHODS`), no
            repeats; the first is the primary one: its counts are ``n_learned``/``n_stuck``
            and its networks are re-trained.
        c_log10: (lo, hi) exponents of the recovery's confidence grid.
        n_c: confidences in the recovery grid, >= 1 (``n_c = 1`` uses ``10**lo``).
        recovery_epochs: epochs of each recovery run, >= ``RECOVERY_LAST`` (10).
        devices: XLA devices every training call runs on, >= 1.
        runup_epochs: final epochs of the first part drawn before the change of ``c``,
            1 <= runup_epochs <= epochs (the paper: 200, epochs 5800-5999).
        shown_every: the figure draws every this many confidences of the grid, counted
            down from the control, >= 1 (the paper: 3, i.e. 10 of the 30).
    """

    n_seeds: int = 100
    N: int = 100
    lr: float = 0.02
    c: float = 10.0
    epochs: int = 6000
    last: int = 50
    inits: tuple[str, ...] = ("paper", "numpy")
    c_log10: tuple[float, float] = (-3.0, 1.0)
    n_c: int = 30
    recovery_epochs: int = 100
    devices: int = 1
    runup_epochs: int = 200
    shown_every: int = 3

    def __post_init__(self) -> None:
        _validate.at_least("n_seeds", self.n_seeds, 1)
        _validate.at_least("N", self.N, 1)
        _validate.positive("lr", self.lr)
        _validate.positive("c", self.c)
        _validate.at_least("epochs", self.epochs, 1)
        _validate.at_least("last", self.last, 1)
        if self.last > self.epochs:
            raise ValueError(f"last must be <= epochs = {self.epochs}, got {self.last}")
        if len(self.inits) == 0:
            raise ValueError("inits must not be empty")
        for init in self.inits:
            _validate.one_of("inits", init, INIT_METHODS)
        if len(set(self.inits)) != len(self.inits):
            raise ValueError(f"inits must not repeat, got {self.inits!r}")
        _validate.interval("c_log10", self.c_log10)
        _validate.at_least("n_c", self.n_c, 1)
        _validate.at_least("recovery_epochs", self.recovery_epochs, RECOVERY_LAST)
        _validate.at_least("devices", self.devices, 1)
        _validate.at_least("runup_epochs", self.runup_epochs, 1)
        if self.runup_epochs > self.epochs:
            raise ValueError(
                f"runup_epochs must be <= epochs = {self.epochs}, got {self.runup_epochs}"
            )
        _validate.at_least("shown_every", self.shown_every, 1)

    @property
    def c_grid(self) -> np.ndarray:
        """The recovery confidences ``logspace(lo, hi, n_c)``, shape ``[n_c]``."""
        return np.logspace(*self.c_log10, self.n_c)


def config(fidelity: Fidelity) -> Config:
    """The paper's parameters at both fidelities (the figure takes a few minutes at most)."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    return Config()


def binomial_se(k: int, n: int) -> float:
    """Standard error of a binomial count: ``sqrt(k (1 - k / n))``."""
    return math.sqrt(k * (1 - k / n)) if n > 0 else float("nan")


def run(cfg: Config, progress: Progress | None = None) -> xr.DataTree:
    """Train the populations and the recovery copies.

    Progress is reported in network-epochs.

    Returns:
        DataTree with one group ``train_<init>`` per initialisation run (the
        :func:`ghostlearn.train.train` result: ``loss``, ``accuracy``, ``grad_norm``
        (net, epoch), ``diverged``, final parameters; plus ``learned`` and ``stuck``
        (net)), and ``recovery`` (dims ``seed``, ``c``, ``epoch``: ``loss``, ``accuracy``,
        ``grad_norm``; ``stuck`` (seed); ``recovered`` and ``recovered_lenient``
        (seed, c); ``control`` (c) marks the control confidence). Root attr ``inits_run``.
    """
    inits = list(cfg.inits)
    model = RNNConfig(model="rank1", N=cfg.N)
    seeds = np.arange(cfg.n_seeds)
    cs = cfg.c_grid
    P, n_c = cfg.n_seeds, cs.size
    total = len(inits) * P * cfg.epochs + P * n_c * cfg.recovery_epochs
    groups: dict[str, xr.Dataset] = {}
    done = 0
    for init in inits:
        ds = train(
            model,
            seeds=seeds,
            lr=cfg.lr,
            c=cfg.c,
            epochs=cfg.epochs,
            init=init,
            devices=cfg.devices,
            progress=stage_progress(progress, done, P, total),
        )
        done += P * cfg.epochs
        ds["learned"] = ("net", outcomes.learned(ds["accuracy"].values))
        ds["stuck"] = ("net", outcomes.stuck(ds["accuracy"].values, last=cfg.last))
        groups[f"train_{init}"] = ds

    primary = groups[f"train_{inits[0]}"]
    params = params_from_dataset(primary)
    # copy j of network i is net i * n_c + j of the recovery population
    tiled = {k: np.repeat(v, n_c, axis=0) for k, v in params.items()}
    rec = train(
        model,
        seeds=np.repeat(seeds, n_c),
        lr=cfg.lr,
        c=np.tile(cs, P),
        epochs=cfg.recovery_epochs,
        params=tiled,
        epoch_offset=cfg.epochs,
        devices=cfg.devices,
        progress=stage_progress(progress, done, P * n_c, total),
    )
    shape = (P, n_c, rec.sizes["epoch"])
    control = np.zeros(n_c, bool)
    control[np.argmin(np.abs(np.log(cs) - math.log(cfg.c)))] = True
    acc = rec["accuracy"].values.reshape(shape)
    recovery = xr.Dataset(
        {
            name: (("seed", "c", "epoch"), rec[name].values.reshape(shape), rec[name].attrs)
            for name in ("loss", "accuracy", "grad_norm")
        },
        coords={"seed": seeds, "c": cs, "epoch": rec["epoch"].values},
    )
    recovery["stuck"] = ("seed", primary["stuck"].values)
    was_stuck = primary["stuck"].values[:, None]
    recovery["recovered"] = (
        ("seed", "c"),
        was_stuck & outcomes.recovered(acc, last=RECOVERY_LAST, threshold=RECOVERY_THRESHOLD),
        {
            "long_name": f"stuck, then accuracy >= {RECOVERY_THRESHOLD:g} at each of the "
            f"last {RECOVERY_LAST} recovery epochs"
        },
    )
    recovery["recovered_lenient"] = (
        ("seed", "c"),
        was_stuck & (acc[:, :, -1] > 0.5),
        {"long_name": "stuck, then accuracy at the last recovery epoch > 0.5"},
    )
    recovery["diverged"] = (("seed", "c"), rec["diverged"].values.reshape(P, n_c))
    recovery["control"] = ("c", control, {"long_name": "the control confidence (cfg.c)"})
    recovery.attrs.update(init=inits[0], lr=cfg.lr)
    if progress is not None:
        progress(total, total)
    tree = xr.DataTree.from_dict({**groups, "recovery": recovery})
    tree.attrs.update(inits_run=inits)
    return tree


@dataclasses.dataclass(frozen=True, kw_only=True)
class Counts:
    """The outcome counts of one initialisation's population.

    Attributes:
        n_nets: networks trained.
        n_learned: networks that learned at some point (accuracy > 0.5 at some epoch).
        n_stuck: networks that learned, then ended in the no-learning zone.
        n_diverged: networks whose training diverged.
        se_learned: binomial standard error ``sqrt(k (1 - k/n))`` of ``n_learned``.
        se_stuck: the same for ``n_stuck``.
        z_learned: difference of the learned proportion from the paper's in units of its
            standard error; None when that error is 0.
        z_stuck: the same for the stuck proportion.
        seeds_stuck: the seeds of the stuck networks, ascending.
    """

    n_nets: int
    n_learned: int
    n_stuck: int
    n_diverged: int
    se_learned: float
    se_stuck: float
    z_learned: float | None
    z_stuck: float | None
    seeds_stuck: list[int]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """The measured numbers of Fig. 4 (see the module docstring for the rules).

    Lists ``*_by_c`` have one entry per confidence of ``c_grid``; a value that cannot be
    measured (no stuck network, or one where an s.e.m. needs two) is NaN (null in
    ``summary.json``). Fractions are of the primary initialisation's stuck networks.

    Attributes:
        primary_init: the initialisation whose networks are counted first and re-trained.
        n_nets: networks of the primary initialisation.
        n_learned: of them, learned at some point.
        n_stuck: of them, stuck in the no-learning zone.
        n_diverged: of them, diverged.
        counts_by_init: the counts of every initialisation run, in the config's order.
        paper_counts: the paper's ``n_nets``, ``n_learned`` and ``n_stuck``.
        count_rule: the rule by which a count agrees with the paper's, in words.
        c_grid: the recovery confidences.
        control_c: the grid value nearest the training confidence (the control).
        control_index: its index in ``c_grid``.
        shown_c: the confidences the figure draws.
        recovery_epochs: epochs of each recovery run.
        recovery_definition: the strict recovery rule, in words.
        recovery_definition_lenient: the lenient rule, in words.
        recovered_fraction_by_c: share recovered by the strict rule, per ``c``.
        recovered_fraction_lenient_by_c: share recovered by the lenient rule, per ``c``.
        recovered_fraction_control: the strict share at the control; None without stuck
            networks.
        recovered_fraction_lenient_control: the lenient share at the control; None
            without stuck networks.
        best_c: the confidence with the largest strict share; None without stuck networks.
        best_recovered_fraction: that share; None without stuck networks.
        best_recovered_fraction_lenient: the largest lenient share below the control;
            None without stuck networks or confidences below the control.
        recovered_at_some_lower_c: stuck networks recovered (strict) at some ``c`` below
            the control.
        recovered_lenient_at_some_lower_c: the same by the lenient rule.
        final_accuracy_mean_by_c: mean accuracy at the last recovery epoch, per ``c``.
        final_accuracy_sem_by_c: its standard error (ddof=1), per ``c``.
        grad_norm_first_mean_by_c: mean gradient norm at the first recovery epoch, per ``c``.
        grad_norm_first_sem_by_c: its standard error, per ``c``.
        grad_norm_last_mean_by_c: mean gradient norm at the last recovery epoch, per ``c``.
        grad_norm_last_sem_by_c: its standard error, per ``c``.
        recovery_diverged: recovery runs of the stuck networks that diverged (over all
            ``c``).
    """

    primary_init: str
    n_nets: int
    n_learned: int
    n_stuck: int
    n_diverged: int
    counts_by_init: dict[str, Counts]
    paper_counts: dict[str, int]
    count_rule: str
    c_grid: list[float]
    control_c: float
    control_index: int
    shown_c: list[float]
    recovery_epochs: int
    recovery_definition: str
    recovery_definition_lenient: str
    recovered_fraction_by_c: list[float]
    recovered_fraction_lenient_by_c: list[float]
    recovered_fraction_control: float | None
    recovered_fraction_lenient_control: float | None
    best_c: float | None
    best_recovered_fraction: float | None
    best_recovered_fraction_lenient: float | None
    recovered_at_some_lower_c: int
    recovered_lenient_at_some_lower_c: int
    final_accuracy_mean_by_c: list[float]
    final_accuracy_sem_by_c: list[float]
    grad_norm_first_mean_by_c: list[float]
    grad_norm_first_sem_by_c: list[float]
    grad_norm_last_mean_by_c: list[float]
    grad_norm_last_sem_by_c: list[float]
    recovery_diverged: int


def _z(k: int, n: int, k_paper: int, n_paper: int) -> float | None:
    """Difference of two binomial proportions in units of its standard error."""
    p, q = k / n, k_paper / n_paper
    se = math.sqrt(p * (1 - p) / n + q * (1 - q) / n_paper)
    return (p - q) / se if se > 0 else None


def _counts(ds: xr.Dataset) -> Counts:
    n = int(ds.sizes["net"])
    k_l, k_s = int(ds["learned"].sum()), int(ds["stuck"].sum())
    return Counts(
        n_nets=n,
        n_learned=k_l,
        n_stuck=k_s,
        n_diverged=int(ds["diverged"].sum()),
        se_learned=binomial_se(k_l, n),
        se_stuck=binomial_se(k_s, n),
        z_learned=_z(k_l, n, PAPER_LEARNED, PAPER_NETS),
        z_stuck=_z(k_s, n, PAPER_STUCK, PAPER_NETS),
        seeds_stuck=[int(s) for s in ds["seed"].values[ds["stuck"].values]],
    )


def _mean_sem(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error (ddof=1) along ``axis``; NaN where fewer than 1 / 2 values."""
    n = x.shape[axis]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.mean(axis=axis) if n else np.full(np.delete(x.shape, axis), np.nan)
        sem = x.std(axis=axis, ddof=1) / math.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
    return mean, sem


def summarize(data: xr.DataTree, cfg: Config) -> Summary:
    """Counts per initialisation, and the recovery of the stuck networks per ``c``."""
    inits_run = list(data.attrs["inits_run"])
    by_init = {init: _counts(data[f"train_{init}"].to_dataset()) for init in inits_run}
    primary = by_init[inits_run[0]]
    rec = data["recovery"].to_dataset()
    cs = rec["c"].values
    stuck = rec["stuck"].values
    n_stuck = int(stuck.sum())
    acc = rec["accuracy"].values[stuck].astype(float)  # [stuck, c, epoch]
    grad = rec["grad_norm"].values[stuck].astype(float)
    acc_mean, acc_sem = _mean_sem(acc[:, :, -1])
    g0_mean, g0_sem = _mean_sem(grad[:, :, 0])
    g1_mean, g1_sem = _mean_sem(grad[:, :, -1])
    nan = np.full(cs.size, np.nan)
    frac = rec["recovered"].values[stuck].mean(axis=0) if n_stuck else nan
    lenient = rec["recovered_lenient"].values[stuck]
    frac_lenient = lenient.mean(axis=0) if n_stuck else nan
    i_ctrl = int(np.flatnonzero(rec["control"].values)[0])
    below = np.arange(cs.size) < i_ctrl
    best = int(np.nanargmax(frac)) if n_stuck else None
    recovered_somewhere = rec["recovered"].values[stuck][:, below].any(axis=1)
    return Summary(
        primary_init=inits_run[0],
        n_nets=primary.n_nets,
        n_learned=primary.n_learned,
        n_stuck=primary.n_stuck,
        n_diverged=primary.n_diverged,
        counts_by_init=by_init,
        paper_counts={"n_nets": PAPER_NETS, "n_learned": PAPER_LEARNED, "n_stuck": PAPER_STUCK},
        count_rule=f"|k - k_paper| <= {Z_MAX:g} sqrt(se^2 + se_paper^2), se = sqrt(k (1 - k/n))",
        c_grid=cs.tolist(),
        control_c=float(cs[i_ctrl]),
        control_index=i_ctrl,
        shown_c=cs[shown_c(cs.size, i_ctrl, cfg.shown_every)].tolist(),
        recovery_epochs=int(rec.sizes["epoch"]),
        recovery_definition=f"stuck network with accuracy >= {RECOVERY_THRESHOLD:g} at "
        f"each of the last {RECOVERY_LAST} recovery epochs",
        recovery_definition_lenient="stuck network with accuracy > 0.5 at the last recovery epoch",
        recovered_fraction_by_c=frac.tolist(),
        recovered_fraction_lenient_by_c=frac_lenient.tolist(),
        recovered_fraction_control=float(frac[i_ctrl]) if n_stuck else None,
        recovered_fraction_lenient_control=float(frac_lenient[i_ctrl]) if n_stuck else None,
        best_c=float(cs[best]) if best is not None else None,
        best_recovered_fraction=float(frac[best]) if best is not None else None,
        best_recovered_fraction_lenient=(
            float(np.max(frac_lenient[below])) if n_stuck and below.any() else None
        ),
        recovered_at_some_lower_c=int(recovered_somewhere.sum()),
        recovered_lenient_at_some_lower_c=int(lenient[:, below].any(axis=1).sum()),
        final_accuracy_mean_by_c=acc_mean.tolist(),
        final_accuracy_sem_by_c=acc_sem.tolist(),
        grad_norm_first_mean_by_c=g0_mean.tolist(),
        grad_norm_first_sem_by_c=g0_sem.tolist(),
        grad_norm_last_mean_by_c=g1_mean.tolist(),
        grad_norm_last_sem_by_c=g1_sem.tolist(),
        recovery_diverged=int(rec["diverged"].values[stuck].sum()),
    )


def shown_c(n_c: int, control: int, every: int) -> list[int]:
    """Indices of the confidences the figure draws: every ``every``-th of the ``n_c`` grid
    values, counted from the control index ``control`` (which is always among them)."""
    first = control % every
    return list(range(first, n_c, every))


#: Height of the paper's figure (one column wide) and of the extra panels (a page wide).
HEIGHT = 4.2
EXTRA_HEIGHT = 5.4


def _c_colormap() -> Colormap:
    """Viridis without its faint yellow end: low ``c`` dark blue, ``c = 10`` light green."""
    return ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.85, 256)), name="confidence")


def _c_norm(cs: np.ndarray) -> Normalize:
    """Log-scaled colour of the confidences ``cs`` (a decade around a single value)."""
    lo, hi = float(np.min(cs)), float(np.max(cs))
    return LogNorm(lo, hi) if hi > lo else LogNorm(lo / 10, lo * 10)


def _band(ax: Axes, x: np.ndarray, values: np.ndarray, color: Any, **kw: Any) -> None:
    """Mean +- s.e.m. over the first axis of ``values`` [net, epoch]: a line and a band."""
    mean, sem = _mean_sem(values.astype(float))
    ax.plot(x, mean, color=color, **kw)
    ax.fill_between(x, mean - sem, mean + sem, color=color, alpha=0.2, lw=0)


def plot(data: xr.DataTree, summary: Summary, cfg: Config) -> Figure:
    """The paper's Fig. 4: A accuracy and B gradient norm of the stuck networks, mean +-
    s.e.m., over the end of the training at ``c = 10`` and the recovery epochs, one colour
    per confidence ``c`` (every ``cfg.shown_every``-th of the grid)."""
    fig = _style.figure(HEIGHT, _style.COLUMN)
    ax_a, ax_b = fig.subplots(2, 1, sharex=True)
    tr = data[f"train_{summary.primary_init}"].to_dataset()
    rec = data["recovery"].to_dataset()
    stuck = rec["stuck"].values
    n_stuck = int(stuck.sum())
    cs = rec["c"].values
    shown = shown_c(cs.size, summary.control_index, cfg.shown_every)
    cmap, norm = _c_colormap(), _c_norm(cs)
    runup = min(cfg.runup_epochs, tr.sizes["epoch"])
    ep_train = tr["epoch"].values[-runup:]
    ep_rec = rec["epoch"].values
    change = int(ep_rec[0])
    for ax, var in ((ax_a, "accuracy"), (ax_b, "grad_norm")):
        if n_stuck:
            _band(ax, ep_train, tr[var].values[stuck, -runup:], _style.THEORY,
                  label=f"training at c = {cfg.c:g}")  # fmt: skip
            for i in shown[::-1]:  # low c on top: the recoveries
                _band(ax, ep_rec, rec[var].values[stuck, i, :], cmap(norm(cs[i])))
        else:
            ax.text(0.5, 0.5, "no stuck networks", transform=ax.transAxes, ha="center")
        ax.axvline(change, color=_style.GREY, ls="--", lw=0.8, label="c changed")
    ax_a.set_ylabel("training accuracy")
    ax_a.set_ylim(0.4, 1.02)
    ax_a.legend(loc="upper left", handlelength=1.4)
    ax_a.set_title(f"{n_stuck} networks stuck at c = {cfg.c:g}, α = {cfg.lr:g}", loc="left")
    _style.panel_label(ax_a, "A")
    ax_b.set_yscale("log")
    ax_b.set_ylabel("gradient norm")
    _style.epoch_axis(ax_b)
    ax_b.set_xlim(ep_train[0], ep_rec[-1] + 1)
    _style.panel_label(ax_b, "B")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=[ax_a, ax_b], aspect=40,
                       pad=0.02)  # fmt: skip
    bar.set_label(f"confidence c from epoch {change:,}")
    bar.ax.set_yticks(cs[shown], minor=True)  # marks the drawn confidences
    bar.ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


def plot_extra(data: xr.DataTree, summary: Summary, cfg: Config) -> Figure:
    """Beyond the paper: A accuracy raster of the first part, B counts against the
    paper's, C recovered fraction and D gradient norm against the recovery ``c``."""
    fig = _style.figure(EXTRA_HEIGHT, _style.PAGE)
    (ax_a, ax_b), (ax_c, ax_d) = fig.subplots(2, 2)
    primary = summary.primary_init
    tr = data[f"train_{primary}"].to_dataset()

    # A: accuracy of every network per epoch, stuck ones on top
    order = np.lexsort((tr["seed"].values, ~tr["learned"].values, ~tr["stuck"].values))
    acc = tr["accuracy"].values[order]
    ep = tr["epoch"].values
    im = ax_a.imshow(
        acc, aspect="auto", interpolation="nearest", cmap="cividis", vmin=0, vmax=1,
        extent=(ep[0], ep[-1] + 1, acc.shape[0], 0),
    )  # fmt: skip
    fig.colorbar(im, ax=ax_a, label="training accuracy")
    n_s, n_l, n_n = summary.n_stuck, summary.n_learned, summary.n_nets
    for y in (n_s, n_l):
        ax_a.axhline(y, color=_style.OKABE_ITO["vermillion"], lw=1.2)
    for lo, hi, text in ((0, n_s, "stuck"), (n_s, n_l, "learned, not stuck"),
                         (n_l, n_n, "never learned")):  # fmt: skip
        if hi > lo:
            ax_a.text(ep[0] + 0.02 * (ep[-1] - ep[0]), (lo + hi) / 2, f"{text} ({hi - lo})",
                      va="center", color="white")  # fmt: skip
    _style.epoch_axis(ax_a)
    ax_a.set_ylabel("network (sorted by outcome)")
    _style.beyond(ax_a, f"accuracy at c = {cfg.c:g}, α = {cfg.lr:g}")
    _style.panel_label(ax_a, "A")

    # B: counts per initialisation beside the paper's
    by_init = summary.counts_by_init
    labels = ["the paper", *(f"{init} init." for init in by_init)]
    learned = [PAPER_LEARNED, *(v.n_learned for v in by_init.values())]
    stuck = [PAPER_STUCK, *(v.n_stuck for v in by_init.values())]
    n = [PAPER_NETS, *(v.n_nets for v in by_init.values())]
    se_l = [binomial_se(k, m) for k, m in zip(learned, n, strict=True)]
    se_s = [binomial_se(k, m) for k, m in zip(stuck, n, strict=True)]
    x = np.arange(len(labels))
    ax_b.bar(x - 0.2, learned, 0.4, yerr=se_l, capsize=2, color=_style.CYCLE[0],
             label="learned at some point")  # fmt: skip
    ax_b.bar(x + 0.2, stuck, 0.4, yerr=se_s, capsize=2, color=_style.CYCLE[1],
             label="stuck (no-learning zone)")  # fmt: skip
    ax_b.set_xticks(x, [f"{lab}\n(n = {m})" for lab, m in zip(labels, n, strict=True)])
    ax_b.set_ylabel("networks (± binomial s.e.)")
    ax_b.set_ylim(0, 1.35 * max(n))
    ax_b.legend(loc="upper right")
    _style.beyond(ax_b, "counts against the paper's")
    _style.panel_label(ax_b, "B")

    # C: final accuracy and recovered fraction against c; D: gradient norm against c
    cs = np.asarray(summary.c_grid, dtype=float)
    i_ctrl = summary.control_index
    mean = np.asarray(summary.final_accuracy_mean_by_c, dtype=float)
    sem = np.asarray(summary.final_accuracy_sem_by_c, dtype=float)
    frac = np.asarray(summary.recovered_fraction_by_c, dtype=float)
    lenient = np.asarray(summary.recovered_fraction_lenient_by_c, dtype=float)
    ax_c.errorbar(cs, mean, yerr=sem, fmt="o-", capsize=2, color=_style.CYCLE[0],
                  label="accuracy at the last epoch (mean ± s.e.m.)")  # fmt: skip
    ax_c.plot(cs, frac, "s--", color=_style.CYCLE[1],
              label=f"recovered: accuracy ≥ {RECOVERY_THRESHOLD:g} at the last "
              f"{RECOVERY_LAST} epochs")  # fmt: skip
    ax_c.plot(cs, lenient, "^:", color=_style.CYCLE[2],
              label="left the zone: accuracy > 0.5 at the last epoch")  # fmt: skip
    ax_c.set_ylim(-0.02, 1.3)
    ax_c.set_ylabel(f"after {cfg.recovery_epochs:,} recovery epochs")
    _style.beyond(ax_c, "stuck networks recovered, per c")
    _style.panel_label(ax_c, "C")
    for m_values, s_values, color, label in (
        (summary.grad_norm_first_mean_by_c, summary.grad_norm_first_sem_by_c, _style.CYCLE[3],
         "first recovery epoch"),
        (summary.grad_norm_last_mean_by_c, summary.grad_norm_last_sem_by_c, _style.CYCLE[4],
         "last recovery epoch"),
    ):  # fmt: skip
        m = np.asarray(m_values, dtype=float)
        s = np.asarray(s_values, dtype=float)
        ax_d.errorbar(cs, m, yerr=s, fmt="o-", capsize=2, color=color,
                      label=f"{label} (mean ± s.e.m.)")  # fmt: skip
    ax_d.set_yscale("log")
    ax_d.set_ylabel("gradient norm (stuck networks)")
    _style.beyond(ax_d, "gradient norm, per c")
    _style.panel_label(ax_d, "D")
    for ax, where in ((ax_c, "upper left"), (ax_d, "lower center")):
        ax.axvline(cs[i_ctrl], color=_style.THEORY, ls=":", lw=0.8,
                   label=f"control c = {cs[i_ctrl]:g}")  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlim(cs.min() / 1.5, cs.max() * 1.5)
        ax.set_xlabel("confidence c during recovery")
        ax.legend(loc=where)
        if summary.n_stuck == 0:
            ax.text(0.5, 0.5, "no stuck networks", transform=ax.transAxes, ha="center")
    return fig


def _ordinal(k: int) -> str:
    return {1: "", 2: "second ", 3: "third "}.get(k, f"{k}th ")


def _weights(init: str) -> str:
    """The initial weights in words, for a caption."""
    return "the paper's own initial weights" if init == "paper" else f"{init}-drawn initial weights"


def caption(summary: Summary, cfg: Config) -> str:
    """Fig. 4's caption, written like the paper's, with the run's parameters and counts."""
    cs = np.asarray(summary.c_grid, dtype=float)
    i_ctrl = summary.control_index
    shown = shown_c(cs.size, i_ctrl, cfg.shown_every)
    n, k_l, k_s = summary.n_nets, summary.n_learned, summary.n_stuck
    runup = min(cfg.runup_epochs, cfg.epochs)
    first, last = cfg.epochs - runup, cfg.epochs + cfg.recovery_epochs - 1
    lo, hi = cfg.c_log10
    if k_s:
        best, best_c = summary.best_recovered_fraction, summary.best_c
        ctrl = summary.recovered_fraction_control
        outcome = (
            f"Recovered (training accuracy ≥ {RECOVERY_THRESHOLD:g} at each of the last "
            f"{RECOVERY_LAST} epochs): {best:.0%} of the stuck networks at c = {best_c:.3g}, "
            f"{ctrl:.0%} at the control c = {cs[i_ctrl]:g}."
        )
    else:
        outcome = "No network entered the no-learning zone, so none could recover."
    return (
        "Fig. 4. Lowering the confidence allows RNNs to recover from the no-learning zone. "
        f"We trained {n} rank-one RNNs (N = {cfg.N}, seeds 0-{n - 1}, "
        f"{_weights(summary.primary_init)}) with a confidence c = {cfg.c:g} and the "
        f"learning rate α = {cfg.lr:g} for {cfg.epochs:,} epochs of gradient descent. Out "
        f"of {n}, {k_l} RNNs learned the task at some point (training accuracy > 0.5), "
        f"whereas {k_s} of them entered the no-learning zone (training accuracy ≤ 0.5 for "
        f"the last {cfg.last} epochs). We further trained copies of every network for "
        f"{cfg.recovery_epochs:,} epochs (fresh optimizer, the same α) at each of {cs.size} "
        f"confidences c, log-spaced from 10^{lo:g} to 10^{hi:g}; shown are {len(shown)} of "
        f"them (every {_ordinal(cfg.shown_every)}value counted down from the control "
        f"c = {cs[i_ctrl]:g}), coloured by c. A Training accuracy and B gradient norm over "
        f"epochs {first:,}-{last:,}; black: the training at c = {cfg.c:g} before the "
        f"confidence is changed (dashed line, epoch {cfg.epochs:,}). Solid lines: means. "
        f"Shaded: s.e.m. over {k_s} networks. {outcome}"
    )


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """The paper's Fig. 4 statements against the measured summary."""
    out = []
    for init, counts in summary.counts_by_init.items():
        who = (
            "the paper's own networks"
            if init == "paper"
            else "an independent sample of the same distribution"
        )
        for what, paper, k, se, z in (
            ("learned", PAPER_LEARNED, counts.n_learned, counts.se_learned, counts.z_learned),
            ("stuck", PAPER_STUCK, counts.n_stuck, counts.se_stuck, counts.z_stuck),
        ):
            text = (
                "learned the task at some point"
                if what == "learned"
                else "entered the no-learning zone (learned, then accuracy <= 0.5 over the "
                "last 50 epochs)"
            )
            out.append(
                Claim(
                    figure=NAME,
                    claim=f"Of 100 networks (c = 10, lr = 0.02, 6000 epochs), {paper} {text} "
                    f"[init = {init}: {who}]",
                    paper=paper,
                    measured={"count": k, "se": se, "n": counts.n_nets},
                    reproduced=z is not None and abs(z) <= Z_MAX,
                    reason=f"z = {z if z is None else round(z, 2)}; rule {summary.count_rule}. "
                    "Chaos makes single seeds differ across machines; only counts compare",
                )
            )
    n_stuck = summary.n_stuck
    i_ctrl = summary.control_index
    # NaN marks a value that could not be measured (no stuck network)
    lower = [f for f in summary.recovered_fraction_by_c[:i_ctrl] if not math.isnan(f)]
    best_lower = max(lower) if lower else None
    ctrl = summary.recovered_fraction_control
    ctrl_lenient = summary.recovered_fraction_lenient_control
    g_first = summary.grad_norm_first_mean_by_c
    g_ctrl = g_first[i_ctrl]
    g_low = [g for g in g_first[:i_ctrl] if not math.isnan(g)]
    if n_stuck == 0:
        skip: dict[str, Any] = {"skip": "no stuck network", "reason": "nothing to recover"}
        control = recovery = gradient = skip
    else:
        control = {
            "reproduced": ctrl_lenient is not None and ctrl_lenient <= 0.05,
            "reason": "fraction of the stuck networks with accuracy > 0.5 at the last recovery "
            "epoch (the lenient rule: any escape counts against staying stuck); tolerance 5%",
        }
        if best_lower is None:
            recovery = gradient = {"skip": "no confidence below the control on the grid"}
        else:
            recovery = {
                "reproduced": ctrl is not None and best_lower >= 0.5 and best_lower >= ctrl + 0.4,
                "reason": f"recovered: accuracy >= {RECOVERY_THRESHOLD:g} at each of the last "
                f"{RECOVERY_LAST} recovery epochs; the best c below the control must recover "
                ">= 50% of the stuck networks, and 40 percentage points more than the control",
            }
            gradient = {
                "reproduced": not math.isnan(g_ctrl) and bool(g_low) and max(g_low) >= 100 * g_ctrl,
                "reason": "mean gradient norm of the stuck networks at the first recovery "
                "epoch; some c below the control must exceed the control by 100x",
            }
    out.append(
        Claim(
            figure=NAME,
            claim="At the control confidence c = 10 the stuck networks stay stuck",
            paper="no recovery at c = 10",
            measured={
                "left_the_zone_fraction": ctrl_lenient,
                "recovered_fraction": ctrl,
                "c": summary.control_c,
            },
            **control,
        )
    )
    out.append(
        Claim(
            figure=NAME,
            claim="Lowering the confidence lets stuck networks recover and re-learn the task",
            paper="lower c recovers",
            measured={
                "best_c": summary.best_c,
                "best_recovered_fraction": summary.best_recovered_fraction,
                "best_recovered_fraction_lenient": summary.best_recovered_fraction_lenient,
                "recovered_at_some_lower_c": summary.recovered_at_some_lower_c,
                "n_stuck": n_stuck,
            },
            **recovery,
        )
    )
    out.append(
        Claim(
            figure=NAME,
            claim="At lower confidence the stuck networks have non-zero gradients beyond "
            "the point of no return",
            paper="practically zero gradient at c = 10; small, yet non-zero, at lower c",
            measured={
                "grad_norm_control": g_ctrl,
                "grad_norm_max_lower_c": max(g_low, default=None),
            },
            **gradient,
        )
    )
    return out
