"""Fig. S1: the rank-one RNN's loss against the learning rate (the RNN version of Fig. 2D).

Rank-one networks (``N = 100``, ``c = 10``) on the delayed-activation task, 30 learning
rates in ``logspace(-4, -1, 30)`` x seeds 0-9, 200k epochs of plain gradient descent,
trained as a sweep (:func:`sweep_spec`): one batch per 5 rates, each on one XLA device,
the batches spread over one worker process per core and kept until the figure is
complete, so that an interrupted run resumes with the batches it has. Shown, as the
paper does on log-log axes: mean +- s.e.m. over seeds of the loss at epochs 10k, 20k,
30k, 50k, 100k and 200k against the learning rate. Before the networks learn, the curves of several
epochs coincide at a loss of about 1; each epoch is drawn with its own colour and marker,
the earlier ones wider and underneath, so that coinciding curves show as nested stripes,
and each epoch's markers sit on every sixth rate from its own, so that a shared stretch of
curve carries every epoch's marker in turn.
The fraction of seeds learned and the epochs to learn are drawn beyond the paper in
``figure-extra``.
"The loss at epoch ``e``" is the loss after ``e`` updates (the run has ``max(e) + 1``
epochs); metrics are kept every ``metrics_every`` epochs only.

A network has *learned by epoch e* when its loss there is below ``ratio = 0.1`` times its
first-epoch loss (about 1: all 20 "one" targets missed). Networks that solve the task
oscillate around the minimum with a loss of a few percent of the initial one at these
rates, so Fig. S2's stricter 1e-2 would call them unlearned; stuck or never-learning
networks keep a loss ratio near 1.

Measured (the claims): the *no-learning zone* of learning rates is the set of the
highest rates where no seed has learned by the last report epoch; ``lr_no_learning`` is
its lowest rate. Below it, the epochs needed to learn grow as the rate falls (Spearman
correlation of the rate with the median epochs-to-learn, over the rates where most seeds
learned), and the lowest rate that has learned by each report epoch moves down as the
epochs go on, as in Fig. 2D. With fewer than 3 such rates there is no trend to measure
and that claim is skipped; equal epochs-to-learn at every rate (a flat trend) differ.

The networks start from ``init = "paper"`` (the original script's weights), so the figure
depends only on its config and the machine.

Fidelity: ``"paper"`` runs 200k epochs (6e7 network-epochs; measured: 8.5 min wall on one
device, before the figure trained on a worker process per core). There no seed learns at rates
>= 2.4e-2 (7 grid rates, loss stays at the initial value), every rate from 5e-4 to
1.5e-2 learns, and the epochs to learn grow as 1 / rate (Spearman -1 over 15 rates).
``"quick"`` divides every epoch count by 10: 20k epochs, loss reported at 1k, 2k, 3k, 5k,
10k and 20k, the same rates and seeds (measured: 37.5 s wall on 2 cores, two worker
processes, against 52.9 s as one call on one device). By then the rates below ~5e-3 have not had time to learn, so the "lower
rates learn more slowly" claim rests on the 6 rates around 1e-2 that did; the no-learning
zone starts one grid rate higher (3.0e-2: at 2.4e-2 one seed in ten has learned by 20k
epochs and got stuck later).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter
from scipy.stats import spearmanr

from .. import _validate, outcomes
from ..rnn import INIT_METHODS, RNNConfig
from ..sweep import SweepSpec, parse_spec
from . import _style, base
from .base import Claim, Fidelity, Progress
from .grid import train_grid

NAME = "figS1"
#: ``run`` keeps its finished batches in ``work`` (see :func:`run`).
RESUMABLE = True
#: Rates whose seeds train together: the rank-one engine is vectorised across networks and
#: runs narrow batches slowly (with one rate's 10 seeds per batch the quick figure took
#: longer on two workers than as a single call of 300 networks on one), while smaller
#: batches resume at a finer grain.
RATES_PER_BATCH = 5
TITLE = "Rank-one RNNs: loss against learning rate (maximum usable learning rate)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of Fig. S1 (the paper's values by default).

    Attributes:
        n_seeds: seeds ``0 .. n_seeds - 1`` per learning rate, >= 2.
        N: units per network, >= 1.
        c: confidence, > 0.
        lr_log10: (lo, hi) exponents of the learning-rate grid.
        n_lr: learning rates, >= 2.
        report_epochs: increasing epochs at which the loss is reported, each a positive
            multiple of ``metrics_every``; the run has ``max(report_epochs) + 1`` epochs.
        metrics_every: keep the metrics of every this many epochs, >= 1.
        ratio: "learned by epoch e": loss(e) < ratio * loss(0), in (0, 1).
        min_fraction: a rate "learns" when at least this fraction of seeds learned, in (0, 1].
        init: the initial weights (:func:`ghostlearn.rnn.init_params`), ``"paper"``: the
            original script's, seed for seed.
    """

    n_seeds: int = 10
    N: int = 100
    c: float = 10.0
    lr_log10: tuple[float, float] = (-4.0, -1.0)
    n_lr: int = 30
    report_epochs: tuple[int, ...] = (10_000, 20_000, 30_000, 50_000, 100_000, 200_000)
    metrics_every: int = 1000
    ratio: float = 0.1
    min_fraction: float = 0.5
    init: str = "paper"

    def __post_init__(self) -> None:
        _validate.at_least("n_seeds", self.n_seeds, 2)
        _validate.one_of("init", self.init, INIT_METHODS)
        _validate.at_least("N", self.N, 1)
        _validate.positive("c", self.c)
        _validate.interval("lr_log10", self.lr_log10)
        _validate.at_least("n_lr", self.n_lr, 2)
        _validate.at_least("metrics_every", self.metrics_every, 1)
        if len(self.report_epochs) == 0:
            raise ValueError("report_epochs must not be empty")
        for e in self.report_epochs:
            _validate.at_least("report_epochs", e, 1)
            if e % self.metrics_every:
                raise ValueError(
                    f"report_epochs must be multiples of metrics_every = {self.metrics_every}, "
                    f"got {e}"
                )
        if list(self.report_epochs) != sorted(set(self.report_epochs)):
            raise ValueError(f"report_epochs must increase, got {self.report_epochs!r}")
        _validate.finite("ratio", self.ratio)
        if not 0 < self.ratio < 1:
            raise ValueError(f"ratio must be in (0, 1), got {self.ratio}")
        _validate.finite("min_fraction", self.min_fraction)
        if not 0 < self.min_fraction <= 1:
            raise ValueError(f"min_fraction must be in (0, 1], got {self.min_fraction}")

    @property
    def lr_grid(self) -> np.ndarray:
        """``logspace(lo, hi, n_lr)``, shape ``[n_lr]``."""
        return np.logspace(*self.lr_log10, self.n_lr)

    @property
    def epochs(self) -> int:
        """Epochs trained: ``max(report_epochs) + 1`` (the last report is after that many updates)."""
        return max(self.report_epochs) + 1


#: Quick fidelity: report epochs divided by this factor (200k -> 20k epochs).
QUICK_FACTOR = 10


def config(fidelity: Fidelity) -> Config:
    """``"paper"``: the paper's 200k epochs (Fig. S1). ``"quick"``: every epoch count / 10."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    paper = Config()
    if fidelity == "paper":
        return paper
    return dataclasses.replace(
        paper,
        report_epochs=tuple(e // QUICK_FACTOR for e in paper.report_epochs),
        metrics_every=paper.metrics_every // QUICK_FACTOR,
    )


def sweep_spec(cfg: Config) -> SweepSpec:
    """The training of ``cfg`` as a sweep: rate x seed, a batch per ``RATES_PER_BATCH``
    rates (:func:`~ghostlearn.experiments.grid.train_grid`)."""
    return parse_spec(
        {
            "sweep": {"name": NAME, "batch_size": RATES_PER_BATCH * cfg.n_seeds},
            "model": {"model": "rank1", "N": cfg.N},
            "train": {
                "epochs": cfg.epochs,
                "metrics_every": cfg.metrics_every,
                "init": cfg.init,
                "c": cfg.c,
            },
            "grid": {"lr": [float(v) for v in cfg.lr_grid], "seed": list(range(cfg.n_seeds))},
        }
    )


def run(cfg: Config, progress: Progress | None = None, work: Path | None = None) -> xr.Dataset:
    """Train all ``n_lr x n_seeds`` networks as the sweep :func:`sweep_spec`; progress in
    network-epochs; the batches are kept in ``work`` as they finish, so a run killed part
    way resumes there (:func:`~ghostlearn.experiments.grid.train_grid`).

    Returns:
        Dataset with dims ``lr``, ``seed``, ``epoch`` (every ``metrics_every``):
        ``loss``, ``accuracy``, ``grad_norm`` (lr, seed, epoch), ``diverged`` (lr, seed),
        ``loss_mean``, ``loss_sem`` (lr, epoch; s.e.m. with ddof=1 over seeds) and
        ``learned`` (lr, seed, epoch: loss(e) < ratio loss(0)); attrs ``model``,
        ``train`` and ``training_s`` (seconds of training, summed over the runs).
    """
    ds = train_grid(sweep_spec(cfg), work, progress)
    out = xr.Dataset(
        {
            name: (ds[name].dims, ds[name].values, ds[name].attrs)
            for name in ("loss", "accuracy", "grad_norm")
        },
        coords={"lr": cfg.lr_grid, "seed": np.arange(cfg.n_seeds), "epoch": ds["epoch"].values},
        attrs=ds.attrs,
    )
    out["diverged"] = (("lr", "seed"), ds["diverged"].values)
    loss = out["loss"].astype(float)
    out["loss_mean"] = loss.mean("seed")
    out["loss_sem"] = loss.std("seed", ddof=1) / math.sqrt(cfg.n_seeds)
    out["loss_sem"].attrs["long_name"] = "standard error of the mean over seeds (ddof=1)"
    with np.errstate(invalid="ignore"):
        out["learned"] = loss < cfg.ratio * loss.isel(epoch=0)
    out["learned"].attrs["long_name"] = f"loss < {cfg.ratio:g} x first-epoch loss"
    return out


def _lowest(lrs: np.ndarray, mask: np.ndarray) -> float | None:
    return float(lrs[mask].min()) if mask.any() else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """Fig. S1's measured numbers (``summary.json`` beside the envelope).

    Rates are indexed like ``lr_grid``; dicts keyed by a report epoch use its decimal
    string (``"20000"``). A NaN float is stored as ``null``.

    Attributes:
        lr_grid: the learning rates, [n_lr].
        report_epochs: the epochs at which the loss is reported, increasing.
        learned_definition: the "learned by epoch e" rule in words.
        loss_mean_by_epoch: per report epoch, the loss mean over seeds, [n_lr].
        loss_sem_by_epoch: per report epoch, the loss s.e.m. over seeds (ddof=1), [n_lr].
        learned_fraction_by_epoch: per report epoch, the fraction of seeds learned, [n_lr].
        learned_fraction_final: the fraction of seeds learned by the last report epoch,
            [n_lr].
        lr_max_learned: the highest rate where at least ``min_fraction`` of the seeds
            learned (None: no such rate).
        lr_no_learning: the lowest rate of the no-learning zone (None: no zone).
        n_lr_no_learning: grid rates in the no-learning zone.
        no_learning_zone_min_loss_ratio: over the zone's rates, the smallest mean over
            seeds of the last report epoch's loss over the first epoch's (None: no zone).
        epochs_to_learn_median_by_lr: the lower median over seeds of the epochs to learn,
            unlearned seeds counted as infinitely slow; NaN where fewer than
            ``min_fraction`` learned, [n_lr].
        spearman_lr_vs_epochs_to_learn: Spearman correlation of the rate with the median
            epochs to learn over the rates that learned (None: fewer than 3 rates, or the
            same epochs at all).
        n_lr_learned: rates where at least ``min_fraction`` of the seeds learned.
        lowest_lr_learned_by_epoch: per report epoch, the lowest rate where at least
            ``min_fraction`` of the seeds have learned (None: none).
        lowest_lr_learned_moves_down: that lowest rate never rises from one report epoch to
            the next and ends below where it started.
        n_diverged: networks whose loss or parameters became non-finite.
    """

    lr_grid: tuple[float, ...]
    report_epochs: tuple[int, ...]
    learned_definition: str
    loss_mean_by_epoch: dict[str, tuple[float, ...]]
    loss_sem_by_epoch: dict[str, tuple[float, ...]]
    learned_fraction_by_epoch: dict[str, tuple[float, ...]]
    learned_fraction_final: tuple[float, ...]
    lr_max_learned: float | None
    lr_no_learning: float | None
    n_lr_no_learning: int
    no_learning_zone_min_loss_ratio: float | None
    epochs_to_learn_median_by_lr: tuple[float, ...]
    spearman_lr_vs_epochs_to_learn: float | None
    n_lr_learned: int
    lowest_lr_learned_by_epoch: dict[str, float | None]
    lowest_lr_learned_moves_down: bool
    n_diverged: int


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def summarize(data: xr.Dataset, cfg: Config) -> Summary:
    """Loss per report epoch and rate, the no-learning zone, and the speed of learning."""
    lrs = data["lr"].values
    report = list(cfg.report_epochs)
    final_epoch = report[-1]
    learned = data["learned"].values  # [lr, seed, epoch]
    frac_by_epoch = {str(e): learned[:, :, _index(data, e)].mean(axis=1) for e in report}
    frac = frac_by_epoch[str(final_epoch)]
    ok = frac >= cfg.min_fraction
    # no-learning zone: the top rates where no seed has learned by the last report epoch
    zone = np.zeros(lrs.size, bool)
    for i in range(lrs.size - 1, -1, -1):
        if frac[i] > 0:
            break
        zone[i] = True
    zone_start = int(np.argmax(zone)) if zone.any() else None
    loss = data["loss"].values.astype(float)
    first = loss[:, :, 0]
    last = loss[:, :, _index(data, final_epoch)]
    with np.errstate(invalid="ignore"):
        zone_ratio = float(np.nanmin((last / first)[zone].mean(axis=-1))) if zone.any() else None
    etl = outcomes.epochs_to_learn(loss, ratio=cfg.ratio, epochs=data["epoch"].values)
    # lower median over all seeds, unlearned ones counted as infinitely slow: finite
    # exactly where at least half of the seeds learned
    etl = np.where(np.isnan(etl), np.inf, etl)
    etl_median = np.quantile(etl, 0.5, axis=1, method="lower")
    etl_median = np.where(ok & np.isfinite(etl_median), etl_median, np.nan)
    rho = None
    if ok.sum() >= 3 and np.unique(etl_median[ok]).size >= 2:  # else no trend: None
        rho = float(spearmanr(lrs[ok], etl_median[ok]).statistic)
    lowest_by_epoch = {e: _lowest(lrs, f >= cfg.min_fraction) for e, f in frac_by_epoch.items()}
    lows = [v for v in lowest_by_epoch.values() if v is not None]
    return Summary(
        lr_grid=_floats(lrs),
        report_epochs=tuple(report),
        learned_definition=f"loss(e) < {cfg.ratio:g} x loss(0)",
        loss_mean_by_epoch={str(e): _floats(data["loss_mean"].sel(epoch=e).values) for e in report},
        loss_sem_by_epoch={str(e): _floats(data["loss_sem"].sel(epoch=e).values) for e in report},
        learned_fraction_by_epoch={e: _floats(f) for e, f in frac_by_epoch.items()},
        learned_fraction_final=_floats(frac),
        lr_max_learned=float(lrs[ok].max()) if ok.any() else None,
        lr_no_learning=float(lrs[zone_start]) if zone_start is not None else None,
        n_lr_no_learning=int(zone.sum()),
        no_learning_zone_min_loss_ratio=zone_ratio,
        epochs_to_learn_median_by_lr=_floats(etl_median),
        spearman_lr_vs_epochs_to_learn=rho,
        n_lr_learned=int(ok.sum()),
        lowest_lr_learned_by_epoch=lowest_by_epoch,
        lowest_lr_learned_moves_down=bool(
            len(lows) >= 2
            and all(b <= a for a, b in zip(lows, lows[1:], strict=False))
            and lows[-1] < lows[0]
        ),
        n_diverged=int(data["diverged"].sum()),
    )


def _index(data: xr.Dataset, epoch: int) -> int:
    return int(np.flatnonzero(data["epoch"].values == epoch)[0])


#: Height of the paper's figure (one column wide) and of the extra panels (a page wide).
HEIGHT = 3.4
EXTRA_HEIGHT = 2.6
#: One marker per report epoch, in order.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _nested(k: int, n: int) -> dict[str, Any]:
    """Line style of report epoch ``k`` of ``n`` where curves may coincide (a loss of about
    1 before the networks learn): earlier epochs wider and underneath, so coinciding lines
    show as nested stripes, and each epoch's markers on every ``n``-th rate starting at
    its own, so that a shared stretch of curve carries every epoch's marker in turn."""
    return {
        "lw": 0.7 + 0.4 * (n - 1 - k),
        "ms": 3.5,
        "zorder": 2 + k,
        "markevery": (k, n),
    }


def _zone_edge(lrs: np.ndarray, zone: float | None) -> float | None:
    """Where the no-learning zone's shading starts: half-way (in log) below its lowest rate."""
    if zone is None:
        return None
    i = int(np.argmin(np.abs(np.log(lrs) - math.log(zone))))
    return float(np.sqrt(lrs[i - 1] * lrs[i])) if i > 0 else float(lrs[0])


def plot(data: xr.Dataset, summary: Summary, cfg: Config) -> Figure:
    """The paper's Fig. S1 (Fig. 2D for rank-one RNNs): the loss after each report epoch
    against the learning rate, mean +- s.e.m. over seeds, on log-log axes (coinciding
    curves drawn apart by :func:`_nested`)."""
    fig = _style.figure(HEIGHT, _style.COLUMN)
    ax = fig.subplots()
    lrs = data["lr"].values
    report = summary.report_epochs
    for k, e in enumerate(report):
        mean = np.asarray(summary.loss_mean_by_epoch[str(e)], dtype=float)
        sem = np.asarray(summary.loss_sem_by_epoch[str(e)], dtype=float)
        ax.errorbar(
            lrs,
            mean,
            yerr=sem,
            color=_style.CYCLE[k % len(_style.CYCLE)],
            marker=MARKERS[k % len(MARKERS)],
            mfc="white",
            mew=0.8,
            elinewidth=0.6,
            capsize=0,
            label=f"epoch {e:,}",
            **_nested(k, len(report)),
        )
    edge = _zone_edge(lrs, summary.lr_no_learning)
    if edge is not None:
        ax.axvspan(edge, lrs[-1] * 1.3, color=_style.GREY, alpha=0.15, lw=0, zorder=0,
                   label=f"no learning by epoch {report[-1]:,}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log", nonpositive="clip")
    ax.set_xlim(lrs[0] / 1.3, lrs[-1] * 1.3)
    ax.set_xlabel("learning rate α")
    ax.set_ylabel(f"loss (mean ± s.e.m., {cfg.n_seeds} seeds)")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: not labels[i].startswith("epoch"))
    fig.legend([handles[i] for i in order], [labels[i] for i in order],
               loc="outside lower center", ncols=2)  # fmt: skip
    return fig


def _log_epochs(ax: Any, values: np.ndarray) -> None:
    """A log epoch axis spanning at least a decade, ticks at 1, 2, 5 x 10^k as integers
    with thousands separators (so it always shows three or more labelled ticks)."""
    ax.set_yscale("log")
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.size:
        lo, hi = float(finite.min()) / 1.3, float(finite.max()) * 1.3
        if hi / lo < 10:
            mid = math.sqrt(lo * hi)
            lo, hi = mid / math.sqrt(10), mid * math.sqrt(10)
        ax.set_ylim(lo, hi)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(_style.EPOCH_TICKS)
    ax.yaxis.set_minor_formatter(NullFormatter())


def plot_extra(data: xr.Dataset, summary: Summary, cfg: Config) -> Figure:
    """Beyond the paper: A the fraction of seeds that learned by each report epoch, B the
    epochs needed to learn, against the learning rate."""
    fig = _style.figure(EXTRA_HEIGHT, _style.PAGE)
    ax_a, ax_b = fig.subplots(1, 2)
    lrs = data["lr"].values
    report = summary.report_epochs
    for k, e in enumerate(report):
        ax_a.plot(lrs, summary.learned_fraction_by_epoch[str(e)],
                  color=_style.CYCLE[k % len(_style.CYCLE)], marker=MARKERS[k % len(MARKERS)],
                  mfc="white", mew=0.8, label=f"epoch {e:,}", **_nested(k, len(report)))  # fmt: skip
    edge = _zone_edge(lrs, summary.lr_no_learning)
    if edge is not None:
        ax_a.axvspan(edge, lrs[-1] * 1.3, color=_style.GREY, alpha=0.15, lw=0, zorder=0,
                     label=f"no learning by epoch {report[-1]:,}")  # fmt: skip
    ax_a.set_ylabel(f"fraction learned (loss < {cfg.ratio:g} × initial)")
    ax_a.set_ylim(-0.02, 1.75)
    ax_a.set_yticks(np.linspace(0, 1, 6))
    ax_a.legend(loc="upper left", ncols=2)
    _style.beyond(ax_a, "seeds that have learned")
    _style.panel_label(ax_a, "A")
    etl = np.asarray(summary.epochs_to_learn_median_by_lr, dtype=float)
    ok = np.isfinite(etl)
    ax_b.plot(lrs[ok], etl[ok], "o-", color=_style.CYCLE[0],
              label=f"median over seeds (where ≥ {cfg.min_fraction:.0%} learned)")  # fmt: skip
    if ok.sum() >= 2:
        ref = etl[ok][0] * lrs[ok][0] / lrs[ok]
        ax_b.plot(lrs[ok], ref, "--", color=_style.THEORY, lw=0.8, label="∝ 1 / α")
    else:
        ax_b.text(0.5, 0.5, "fewer than 2 rates learned", transform=ax_b.transAxes,
                  ha="center")  # fmt: skip
    _log_epochs(ax_b, etl)
    ax_b.set_ylabel(f"epochs to learn (resolution {cfg.metrics_every:,})")
    ax_b.legend(loc="upper right")
    _style.beyond(ax_b, "epochs to learn")
    _style.panel_label(ax_b, "B")
    for ax in (ax_a, ax_b):
        ax.set_xscale("log")
        ax.set_xlim(lrs[0] / 1.3, lrs[-1] * 1.3)
        ax.set_xlabel("learning rate α")
    return fig


def _weights(init: str) -> str:
    """The initial weights in words, for a caption."""
    return "the paper's own initial weights" if init == "paper" else f"{init}-drawn initial weights"


def caption(summary: Summary, cfg: Config) -> str:
    """Fig. S1's caption, written like the paper's, with the run's parameters."""
    net = RNNConfig(model="rank1", N=cfg.N)
    report = summary.report_epochs
    epochs = ", ".join(f"{e:,}" for e in report)
    lo, hi = cfg.lr_log10
    zone = summary.lr_no_learning
    found = (
        f"No seed learned by epoch {report[-1]:,} at α ≥ {zone:.2g} (shaded; learned: "
        f"loss < {cfg.ratio:g} × the first-epoch loss)."
        if zone is not None
        else f"Some seed learned at every rate by epoch {report[-1]:,}."
    )
    return (
        "Fig. S1. We performed the analysis in Fig. 2D for the rank-one RNNs trained on the "
        f"DA task: the loss after {epochs} epochs against the learning rate α ({cfg.n_lr} "
        f"rates log-spaced from 10^{lo:g} to 10^{hi:g}, seeds 0-{cfg.n_seeds - 1} each). "
        f"Parameters: τ = {net.tau:g} ms, Δt = {net.dt:g} ms, T = {net.T:g} ms, "
        f"N = {cfg.N} neurons, c = {cfg.c:g}. We initialized all units to be "
        f"x(0) = {net.x0:g} and used gradient descent on one trial ({_weights(cfg.init)}). "
        f"Solid lines: means. Error bars: s.e.m. over {cfg.n_seeds} seeds. Where "
        "curves coincide (a loss of about 1 before the networks learn), earlier epochs are "
        "drawn wider beneath later ones, and each epoch marks every "
        f"{len(report)}th rate from its own, so a shared stretch shows every epoch's marker "
        f"in turn. {found}"
    )


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """Fig. S1's statements: a maximum usable rate, and slower learning at lower rates."""
    zone = summary.lr_no_learning
    n_zone = summary.n_lr_no_learning
    ratio = summary.no_learning_zone_min_loss_ratio
    rho = summary.spearman_lr_vs_epochs_to_learn
    return [
        Claim(
            figure=NAME,
            claim="There is a learning rate above which the networks do not learn: the loss "
            "at the end stays high (as in Fig. 2D)",
            paper="a maximum usable learning rate",
            measured={
                "lr_no_learning": zone,
                "n_lr_in_zone": n_zone,
                "lr_max_learned": summary.lr_max_learned,
                "zone_min_final_over_initial_loss": ratio,
            },
            reproduced=zone is not None
            and n_zone >= 3
            and summary.lr_max_learned is not None
            and ratio is not None
            and ratio >= 0.9,
            reason="no-learning zone: the highest rates where no seed has learned by the last "
            "report epoch; it must hold >= 3 grid rates, keep a mean final loss >= 0.9 x "
            "the initial loss at each, and lie above a rate where most seeds learned",
        ),
        Claim(
            figure=NAME,
            claim="Below that rate lower learning rates still learn, but more slowly",
            paper="lower rates need more epochs (Fig. 2D trend)",
            measured={
                "spearman_lr_vs_epochs_to_learn": rho,
                "n_lr_learned": summary.n_lr_learned,
                "lowest_lr_learned_by_epoch": summary.lowest_lr_learned_by_epoch,
            },
            **(
                {
                    "reproduced": rho is not None
                    and rho <= -0.8
                    and summary.lowest_lr_learned_moves_down
                }
                if summary.n_lr_learned >= 3
                else {"skip": f"only {summary.n_lr_learned} rates learned, fewer than 3"}
            ),
            reason="computed only over the rates where most seeds learned: the Spearman "
            "correlation of the rate with the median epochs to learn must be <= -0.8 (equal "
            "epochs at every rate: no trend, differs), and the lowest rate where most seeds "
            "have learned must move down from the first report epoch to the last",
        ),
    ]
