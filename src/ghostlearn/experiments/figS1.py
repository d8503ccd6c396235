"""Fig. S1: the rank-one RNN's loss against the learning rate (the RNN version of Fig. 2D).

Rank-one networks (``N = 100``, ``c = 10``) on the delayed-activation task, 30 learning
rates in ``logspace(-4, -1, 30)`` x seeds 0-9, 200k epochs of plain gradient descent, all
300 networks in one batched :func:`ghostlearn.train.train` call. Shown: mean +- s.e.m. over
seeds of the loss at epochs 10k, 20k, 30k, 50k, 100k and 200k against the learning rate.
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

The networks start from ``init = "paper"`` (the original script's weights) and train on
``devices = 1`` XLA device (config fields), so the figure depends only on its config and
the machine.

Fidelity: ``"paper"`` runs 200k epochs (6e7 network-epochs; measured: 543 s of CPU
time, 985 s wall on 2 cores shared with other jobs). There no seed learns at rates
>= 2.4e-2 (7 grid rates, loss stays at the initial value), every rate from 5e-4 to
1.5e-2 learns, and the epochs to learn grow as 1 / rate (Spearman -1 over 15 rates).
``"quick"`` divides every epoch count by 10: 20k epochs, loss reported at 1k, 2k, 3k, 5k,
10k and 20k, the same rates and seeds (measured: 56 s of CPU time, 137 s wall on the same
shared cores). By then the rates below ~5e-3 have not had time to learn, so the "lower
rates learn more slowly" claim rests on the 6 rates around 1e-2 that did; the no-learning
zone starts one grid rate higher (3.0e-2: at 2.4e-2 one seed in ten has learned by 20k
epochs and got stuck later).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from scipy.stats import spearmanr

from .. import _validate, outcomes
from ..rnn import INIT_METHODS, RNNConfig
from ..train import train
from . import _style
from .base import Claim, Fidelity, Progress, stage_progress

NAME = "figS1"
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
        devices: XLA devices the training runs on, >= 1.
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
    devices: int = 1

    def __post_init__(self) -> None:
        _validate.at_least("n_seeds", self.n_seeds, 2)
        _validate.one_of("init", self.init, INIT_METHODS)
        _validate.at_least("devices", self.devices, 1)
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


def run(cfg: Config, progress: Progress | None = None) -> xr.Dataset:
    """Train all ``n_lr x n_seeds`` networks in one call; progress in network-epochs.

    Returns:
        Dataset with dims ``lr``, ``seed``, ``epoch`` (every ``metrics_every``):
        ``loss``, ``accuracy``, ``grad_norm`` (lr, seed, epoch), ``diverged`` (lr, seed),
        ``loss_mean``, ``loss_sem`` (lr, epoch; s.e.m. with ddof=1 over seeds) and
        ``learned`` (lr, seed, epoch: loss(e) < ratio loss(0)).
    """
    lrs = cfg.lr_grid
    P = cfg.n_lr * cfg.n_seeds
    ds = train(  # network i: rate i // n_seeds, seed i % n_seeds
        RNNConfig(model="rank1", N=cfg.N),
        seeds=np.tile(np.arange(cfg.n_seeds), cfg.n_lr),
        lr=np.repeat(lrs, cfg.n_seeds),
        c=cfg.c,
        epochs=cfg.epochs,
        metrics_every=cfg.metrics_every,
        init=cfg.init,
        devices=cfg.devices,
        progress=stage_progress(progress, 0, P, P * cfg.epochs),
    )
    shape = (cfg.n_lr, cfg.n_seeds, ds.sizes["epoch"])
    out = xr.Dataset(
        {
            name: (("lr", "seed", "epoch"), ds[name].values.reshape(shape), ds[name].attrs)
            for name in ("loss", "accuracy", "grad_norm")
        },
        coords={"lr": lrs, "seed": np.arange(cfg.n_seeds), "epoch": ds["epoch"].values},
        attrs={"model": ds.attrs["model"], "train": ds.attrs["train"]},
    )
    out["diverged"] = (("lr", "seed"), ds["diverged"].values.reshape(shape[:2]))
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


def summarize(data: xr.Dataset, cfg: Config) -> dict:
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
    return {
        "lr_grid": lrs,
        "report_epochs": report,
        "learned_definition": f"loss(e) < {cfg.ratio:g} x loss(0)",
        "loss_mean_by_epoch": {str(e): data["loss_mean"].sel(epoch=e).values for e in report},
        "loss_sem_by_epoch": {str(e): data["loss_sem"].sel(epoch=e).values for e in report},
        "learned_fraction_by_epoch": frac_by_epoch,
        "learned_fraction_final": frac,
        "lr_max_learned": float(lrs[ok].max()) if ok.any() else None,
        "lr_no_learning": float(lrs[zone_start]) if zone_start is not None else None,
        "n_lr_no_learning": int(zone.sum()),
        "no_learning_zone_min_loss_ratio": zone_ratio,
        "epochs_to_learn_median_by_lr": etl_median,
        "spearman_lr_vs_epochs_to_learn": rho,
        "n_lr_learned": int(ok.sum()),
        "lowest_lr_learned_by_epoch": lowest_by_epoch,
        "lowest_lr_learned_moves_down": bool(
            len(lows) >= 2
            and all(b <= a for a, b in zip(lows, lows[1:], strict=False))
            and lows[-1] < lows[0]
        ),
        "n_diverged": int(data["diverged"].sum()),
    }


def _index(data: xr.Dataset, epoch: int) -> int:
    return int(np.flatnonzero(data["epoch"].values == epoch)[0])


def plot(data: xr.Dataset, summary: dict, cfg: Config) -> Figure:
    """A: loss against rate per report epoch (like Fig. 2D); B: fraction learned; C: speed."""
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    ax_a, ax_b, ax_c = fig.subplots(1, 3)
    lrs = data["lr"].values
    zone = summary["lr_no_learning"]
    for i, e in enumerate(summary["report_epochs"]):
        color = _style.CYCLE[i % len(_style.CYCLE)]
        mean = np.asarray(summary["loss_mean_by_epoch"][str(e)], dtype=float)
        sem = np.asarray(summary["loss_sem_by_epoch"][str(e)], dtype=float)
        ax_a.plot(lrs, mean, "o-", ms=3, color=color, label=f"epoch {e:,}")
        ax_a.fill_between(lrs, mean - sem, mean + sem, color=color, alpha=0.25, lw=0)
        ax_b.plot(lrs, summary["learned_fraction_by_epoch"][str(e)], "o-", ms=3, color=color,
                  label=f"epoch {e:,}")  # fmt: skip
    for ax in (ax_a, ax_b):
        if zone is not None:
            ax.axvspan(zone, lrs[-1] * 1.1, color=_style.GREY, alpha=0.15, label="no learning")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
    ax_a.set_ylabel(f"loss, mean +- s.e.m. over {cfg.n_seeds} seeds")
    ax_a.set_title(f"Rank one, N = {cfg.N}, c = {cfg.c:g}", fontsize=10)
    ax_a.legend(fontsize=8, loc="lower left")
    _style.panel_label(ax_a, "A")
    ax_b.set_ylabel(f"fraction learned (loss < {cfg.ratio:g} x initial)")
    ax_b.set_ylim(-0.02, 1.02)
    ax_b.set_title("Networks that have learned, by epoch", fontsize=10)
    _style.panel_label(ax_b, "B")
    etl = np.asarray(summary["epochs_to_learn_median_by_lr"], dtype=float)
    ok = np.isfinite(etl)
    ax_c.plot(lrs[ok], etl[ok], "o-", ms=4, color=_style.CYCLE[0], label="median over seeds")
    if ok.sum() >= 2:
        ref = etl[ok][0] * lrs[ok][0] / lrs[ok]
        ax_c.plot(lrs[ok], ref, "--", color=_style.THEORY, lw=1, label="~ 1 / learning rate")
    ax_c.set_xscale("log")
    if ok.any():
        ax_c.set_yscale("log")
    ax_c.set_xlim(lrs[0] / 1.2, lrs[-1] * 1.2)
    ax_c.set_xlabel("learning rate")
    ax_c.set_ylabel(f"epochs to learn (resolution {cfg.metrics_every:,})")
    ax_c.set_title(f"Rates where >= {cfg.min_fraction:.0%} of seeds learned", fontsize=10)
    ax_c.legend(fontsize=8, loc="upper right")
    _style.panel_label(ax_c, "C")
    return fig


def claims(summary: dict) -> list[Claim]:
    """Fig. S1's statements: a maximum usable rate, and slower learning at lower rates."""
    zone = summary["lr_no_learning"]
    n_zone = summary["n_lr_no_learning"]
    ratio = summary["no_learning_zone_min_loss_ratio"]
    rho = summary["spearman_lr_vs_epochs_to_learn"]
    return [
        Claim(
            figure=NAME,
            claim="There is a learning rate above which the networks do not learn: the loss "
            "at the end stays high (as in Fig. 2D)",
            paper="a maximum usable learning rate",
            measured={
                "lr_no_learning": zone,
                "n_lr_in_zone": n_zone,
                "lr_max_learned": summary["lr_max_learned"],
                "zone_min_final_over_initial_loss": ratio,
            },
            reproduced=zone is not None
            and n_zone >= 3
            and summary["lr_max_learned"] is not None
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
                "n_lr_learned": summary["n_lr_learned"],
                "lowest_lr_learned_by_epoch": summary["lowest_lr_learned_by_epoch"],
            },
            **(
                {
                    "reproduced": rho is not None
                    and rho <= -0.8
                    and summary["lowest_lr_learned_moves_down"]
                }
                if summary["n_lr_learned"] >= 3
                else {"skip": f"only {summary['n_lr_learned']} rates learned, fewer than 3"}
            ),
            reason="computed only over the rates where most seeds learned: the Spearman "
            "correlation of the rate with the median epochs to learn must be <= -0.8 (equal "
            "epochs at every rate: no trend, differs), and the lowest rate where most seeds "
            "have learned must move down from the first report epoch to the last",
        ),
    ]
