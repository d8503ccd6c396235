"""Fig. S2: more trainable ranks ("sloppy ranks") make learning faster and more stable.

Rank-``K`` RNNs (``W = M Nmat``, ``M`` [N, K], ``Nmat`` [K, N], sigmoid readout
``w_out . x + b_out``, all trained; ``N = 100``) on the delayed-activation task, for
``K in {1, 2, 3, 4, 5, 10, 30, 50, 100}`` x 10 learning rates ``logspace(-3, 0, 10)`` x
seeds 0-9, plain gradient descent. One :func:`ghostlearn.train.train` call per ``K`` (the
parameter shapes differ) trains its 100 (rate, seed) networks together.

- *learned*: final loss / first-epoch loss < ``ratio`` (:func:`ghostlearn.outcomes.learned_by_loss`;
  "final" is the loss after the last update: the run has ``epochs + 1`` epochs). The
  paper's 1e-2 is meant for its 500k epochs; the quick run's 2000 epochs use 0.1, the rule
  of Fig. S1 (within 2000 epochs the low ranks reach about 0.1 x the first loss and stop
  there, so 1e-2 would call every rank <= 10 unlearned). The summary states the rule in
  ``learned_rule``;
- *epochs to learn*: the first recorded epoch with loss < ``ratio`` x first-epoch loss
  (:func:`ghostlearn.outcomes.epochs_to_learn`, resolution ``metrics_every``); per (K, rate)
  the lower median over seeds with unlearned seeds counted as infinitely slow, so it is
  finite exactly when at least half of the seeds learned;
- *highest usable rate* of a rank: the largest rate at which at least half of the seeds
  learned.

Claims checked, each only over the *learned ranks* (those with a rate at which at least
half of the seeds learned), so that ranks that never learned cannot make a trend by
themselves: (1) more ranks learn in fewer epochs: Spearman correlation of ``K`` with its
fastest (over rates) epochs-to-learn <= -0.7; (2) more ranks survive higher rates:
Spearman of ``K`` with the highest usable rate >= 0.7; (3) at the highest rates
(``lr >= high_lr_min = 0.2``: the top three of the grid) some networks learn and all of
them have ``K >= 50``, while some learned rank below 50 exists to be excluded. With fewer
than 2 learned ranks (for (3): no learned rank below 50) a claim is skipped, not passed;
equal values at every learned rank (a flat trend) differ.

Every rank starts from ``init = "paper"`` (the original script's weights) and trains on
``devices = 1`` XLA device (config fields).

Fidelity: ``"paper"`` is the paper's 500k epochs (4.5e8 network-epochs; at the measured
quick-mode cost, about 13-14 hours of CPU time on one core, the rank-100 and rank-50
networks taking two thirds of it: meant for a cluster via ``ghostlearn sweep``, see
``examples/sweep_figS2.toml``). ``"quick"`` trains 2000 epochs with metrics every 10
(measured: 194 s of CPU time, 449 s wall on 2 cores shared with other jobs; 324 s wall on
one device, paper init, a less loaded machine). By then only ranks >= 30 would pass the
paper's 1e-2 criterion (ranks <= 10 plateau near 0.1 x the first loss), hence the quick
rule 0.1. Measured with it (paper init): every rank learns at some rate; (1) holds
(Spearman -0.93, fewest epochs 1220 at K = 1 down to 120 at K = 100); (2) differs
(Spearman 0.49: ranks 1-5 and 30 all reach 0.046, only 50 and 100 reach 0.1); (3) differs
(at rates >= 0.2 one network each of K = 5 and K = 30 learned, beside K = 50 and 100).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from scipy.stats import spearmanr

from .. import _validate, outcomes
from ..rnn import INIT_METHODS, RNNConfig
from ..train import train
from . import _style
from .base import Claim, Fidelity, Progress, stage_progress

NAME = "figS2"
TITLE = "Rank-K RNNs: sloppy ranks learn faster and survive higher learning rates"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of Fig. S2 (the paper's values by default).

    Attributes:
        ranks: trainable ranks ``K``, increasing, each in ``1 .. N``.
        N: units per network, >= 1.
        lr_log10: (lo, hi) exponents of the learning-rate grid.
        n_lr: learning rates, >= 2.
        n_seeds: seeds ``0 .. n_seeds - 1`` per (rank, rate), >= 1.
        epochs: gradient steps, >= 1 (the run records the loss after the last one).
        metrics_every: keep the metrics of every this many epochs, >= 1, dividing ``epochs``.
        ratio: "learned": final loss < ratio x first-epoch loss, in (0, 1).
        min_fraction: a (rank, rate) "learns" when at least this fraction of seeds learned,
            in (0, 1].
        high_lr_min: rates >= this are "the highest rates" of claim (3), > 0.
        high_lr_ranks_min: only ranks >= this may learn at the highest rates, >= 1.
        init: the initial weights (:func:`ghostlearn.rnn.init_params`), ``"paper"``: the
            original script's, seed for seed.
        devices: XLA devices the training runs on, >= 1.
    """

    ranks: tuple[int, ...] = (1, 2, 3, 4, 5, 10, 30, 50, 100)
    N: int = 100
    lr_log10: tuple[float, float] = (-3.0, 0.0)
    n_lr: int = 10
    n_seeds: int = 10
    epochs: int = 500_000
    metrics_every: int = 500
    ratio: float = 1e-2
    min_fraction: float = 0.5
    high_lr_min: float = 0.2
    high_lr_ranks_min: int = 50
    init: str = "paper"
    devices: int = 1

    def __post_init__(self) -> None:
        _validate.at_least("N", self.N, 1)
        _validate.one_of("init", self.init, INIT_METHODS)
        _validate.at_least("devices", self.devices, 1)
        if len(self.ranks) == 0:
            raise ValueError("ranks must not be empty")
        for k in self.ranks:
            _validate.at_least("ranks", k, 1)
            if k > self.N:
                raise ValueError(f"ranks must be <= N = {self.N}, got {k}")
        if list(self.ranks) != sorted(set(self.ranks)):
            raise ValueError(f"ranks must increase, got {self.ranks!r}")
        _validate.interval("lr_log10", self.lr_log10)
        _validate.at_least("n_lr", self.n_lr, 2)
        _validate.at_least("n_seeds", self.n_seeds, 1)
        _validate.at_least("epochs", self.epochs, 1)
        _validate.at_least("metrics_every", self.metrics_every, 1)
        if self.epochs % self.metrics_every:
            raise ValueError(
                f"metrics_every must divide epochs = {self.epochs}, got {self.metrics_every}"
            )
        _validate.finite("ratio", self.ratio)
        if not 0 < self.ratio < 1:
            raise ValueError(f"ratio must be in (0, 1), got {self.ratio}")
        _validate.finite("min_fraction", self.min_fraction)
        if not 0 < self.min_fraction <= 1:
            raise ValueError(f"min_fraction must be in (0, 1], got {self.min_fraction}")
        _validate.positive("high_lr_min", self.high_lr_min)
        _validate.at_least("high_lr_ranks_min", self.high_lr_ranks_min, 1)

    @property
    def lr_grid(self) -> np.ndarray:
        """``logspace(lo, hi, n_lr)``, shape ``[n_lr]``."""
        return np.logspace(*self.lr_log10, self.n_lr)


def config(fidelity: Fidelity) -> Config:
    """``"paper"``: the paper's 500k epochs, learned at 1e-2 x the first loss. ``"quick"``: 2000
    epochs, metrics every 10, learned at 0.1 x the first loss (the rule of Fig. S1)."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    if fidelity == "paper":
        return Config()
    return Config(epochs=2000, metrics_every=10, ratio=0.1)


def run(cfg: Config, progress: Progress | None = None) -> xr.Dataset:
    """Train every rank's ``n_lr x n_seeds`` networks, one call per rank.

    Progress is reported in network-epochs.

    Returns:
        Dataset with dims ``rank``, ``lr``, ``seed``, ``epoch`` (every ``metrics_every``,
        ``0 .. epochs``): ``loss``, ``accuracy``, ``grad_norm`` (rank, lr, seed, epoch),
        ``diverged`` (rank, lr, seed), ``learned`` (rank, lr, seed) and
        ``epochs_to_learn`` (rank, lr, seed; NaN if never).
    """
    lrs = cfg.lr_grid
    P = cfg.n_lr * cfg.n_seeds
    total = len(cfg.ranks) * P * (cfg.epochs + 1)
    per_rank = []
    for i, K in enumerate(cfg.ranks):
        ds = train(  # network j: rate j // n_seeds, seed j % n_seeds
            RNNConfig(model="lowrank", rank=K, N=cfg.N),
            seeds=np.tile(np.arange(cfg.n_seeds), cfg.n_lr),
            lr=np.repeat(lrs, cfg.n_seeds),
            epochs=cfg.epochs + 1,
            metrics_every=cfg.metrics_every,
            init=cfg.init,
            devices=cfg.devices,
            progress=stage_progress(progress, i * P * (cfg.epochs + 1), P, total),
        )
        shape = (cfg.n_lr, cfg.n_seeds, ds.sizes["epoch"])
        per_rank.append(
            xr.Dataset(
                {
                    **{
                        name: (
                            ("lr", "seed", "epoch"),
                            ds[name].values.reshape(shape),
                            ds[name].attrs,
                        )
                        for name in ("loss", "accuracy", "grad_norm")
                    },
                    "diverged": (("lr", "seed"), ds["diverged"].values.reshape(shape[:2])),
                },
                coords={"lr": lrs, "seed": np.arange(cfg.n_seeds), "epoch": ds["epoch"].values},
            )
        )
    out = xr.concat(per_rank, dim=xr.DataArray(list(cfg.ranks), dims="rank", name="rank"))
    loss = out["loss"].values
    out["learned"] = (
        ("rank", "lr", "seed"),
        outcomes.learned_by_loss(loss, ratio=cfg.ratio),
        {"long_name": f"final loss < {cfg.ratio:g} x first-epoch loss"},
    )
    out["epochs_to_learn"] = (
        ("rank", "lr", "seed"),
        outcomes.epochs_to_learn(loss, ratio=cfg.ratio, epochs=out["epoch"].values),
        {"long_name": "first recorded epoch below ratio x first-epoch loss (NaN: never)"},
    )
    out.attrs["train"] = ds.attrs["train"]
    return out


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman correlation; None with fewer than 2 points or a flat ``y`` (no trend)."""
    if len(x) < 2 or np.unique(y).size < 2:
        return None
    return float(spearmanr(x, y).statistic)


def summarize(data: xr.Dataset, cfg: Config) -> dict:
    """Fraction learned and epochs to learn per (rank, rate); the trends over ranks."""
    ranks = data["rank"].values
    lrs = data["lr"].values
    frac = data["learned"].values.mean(axis=-1)  # [rank, lr]
    etl = data["epochs_to_learn"].values
    etl = np.where(np.isnan(etl), np.inf, etl)
    etl_median = np.quantile(etl, 0.5, axis=-1, method="lower")  # inf: < half learned
    ok = frac >= cfg.min_fraction
    etl_median = np.where(ok, etl_median, np.inf)
    best_etl = etl_median.min(axis=1)  # [rank]
    max_lr = np.array([lrs[row].max() if row.any() else 0.0 for row in ok])
    high = lrs >= cfg.high_lr_min
    learned_high = data["learned"].values[:, high, :].sum(axis=(1, 2))  # [rank]
    ranks_high = [int(k) for k, n in zip(ranks, learned_high, strict=True) if n > 0]
    # the trends are measured only over ranks that learned at some rate
    some = ok.any(axis=1)
    epochs = int(data["epoch"].values[-1])
    rule = f"final loss < {cfg.ratio:g} x first-epoch loss after {epochs:,} epochs"
    return {
        "ranks": ranks,
        "lr_grid": lrs,
        "epochs": epochs,
        "learned_definition": f"final loss < {cfg.ratio:g} x first-epoch loss",
        "learned_rule": rule,
        "ranks_learned": [int(k) for k in ranks[some]],
        "learned_fraction": frac,
        "epochs_to_learn_median": np.where(np.isfinite(etl_median), etl_median, np.nan),
        "best_epochs_to_learn_by_rank": np.where(np.isfinite(best_etl), best_etl, np.nan),
        "max_lr_learned_by_rank": np.where(max_lr > 0, max_lr, np.nan),
        "spearman_rank_vs_best_epochs": _spearman(ranks[some], best_etl[some]),
        "spearman_rank_vs_max_lr": _spearman(ranks[some], max_lr[some]),
        "high_lr_min": cfg.high_lr_min,
        "high_lr_ranks_min": cfg.high_lr_ranks_min,
        "high_lrs": lrs[high],
        "learned_at_high_lr_by_rank": learned_high,
        "ranks_learning_at_high_lr": ranks_high,
        "n_diverged": int(data["diverged"].sum()),
    }


def _heatmap(ax, values: np.ndarray, ranks, lrs, fig, label: str, **kw) -> None:
    im = ax.imshow(values, aspect="auto", origin="lower", **kw)
    ax.set_xticks(range(lrs.size), [f"{v:.2g}" for v in lrs], rotation=45)
    ax.set_yticks(range(len(ranks)), [str(k) for k in ranks])
    ax.set_xlabel("learning rate")
    ax.set_ylabel("trainable rank K")
    fig.colorbar(im, ax=ax, label=label)


def plot(data: xr.Dataset, summary: dict, cfg: Config) -> Figure:
    """A-B heatmaps over (K, rate); C-D trends over K; E-F loss curves at two rates."""
    fig = Figure(figsize=(15, 9), layout="constrained")
    (ax_a, ax_b, ax_c), (ax_d, ax_e, ax_f) = fig.subplots(2, 3)
    ranks = data["rank"].values
    lrs = data["lr"].values
    frac = np.asarray(summary["learned_fraction"], dtype=float)
    _heatmap(ax_a, frac, ranks, lrs, fig, "fraction of seeds learned", cmap="cividis",
             vmin=0, vmax=1)  # fmt: skip
    for (i, j), v in np.ndenumerate(frac):
        if v > 0:
            ax_a.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                      color="black" if v > 0.5 else "white")  # fmt: skip
    ax_a.set_title(f"Learned ({summary['learned_definition']}), {summary['epochs']:,} epochs",
                   fontsize=10)  # fmt: skip
    _style.panel_label(ax_a, "A")
    etl = np.asarray(summary["epochs_to_learn_median"], dtype=float)
    finite = etl[np.isfinite(etl) & (etl > 0)]
    norm = (
        LogNorm(finite.min(), finite.max()) if finite.size and finite.min() < finite.max() else None
    )
    _heatmap(ax_b, np.ma.masked_invalid(etl), ranks, lrs, fig, "epochs to learn (median)",
             cmap="cividis_r", norm=norm)  # fmt: skip
    ax_b.set_title(f"Epochs to learn (blank: < {cfg.min_fraction:.0%} of seeds learned)",
                   fontsize=10)  # fmt: skip
    _style.panel_label(ax_b, "B")

    x = np.arange(len(ranks))
    best = np.asarray(summary["best_epochs_to_learn_by_rank"], dtype=float)
    ax_c.plot(x, best, "o-", color=_style.CYCLE[0])
    ax_c.set_xticks(x, [str(k) for k in ranks])
    if np.isfinite(best).any():
        ax_c.set_yscale("log")
    ax_c.set_xlabel("trainable rank K")
    ax_c.set_ylabel("fewest epochs to learn (over rates)")
    ax_c.set_title("More ranks learn in fewer epochs (missing: never)", fontsize=10)
    _style.panel_label(ax_c, "C")
    max_lr = np.asarray(summary["max_lr_learned_by_rank"], dtype=float)
    ax_d.plot(x, max_lr, "o-", color=_style.CYCLE[1], label="highest rate learned")
    ax_d.axhline(cfg.high_lr_min, color=_style.GREY, ls=":", lw=1, label="'highest rates'")
    ax_d.set_xticks(x, [str(k) for k in ranks])
    ax_d.set_yscale("log")
    ax_d.set_ylim(lrs[0] / 2, lrs[-1] * 2)
    ax_d.set_xlabel("trainable rank K")
    ax_d.set_ylabel(f"learning rate (>= {cfg.min_fraction:.0%} of seeds learned)")
    ax_d.set_title("More ranks survive higher learning rates", fontsize=10)
    ax_d.legend(fontsize=8, loc="lower right")
    _style.panel_label(ax_d, "D")

    colors = colormaps["viridis"](np.linspace(0, 0.9, len(ranks)))
    mid = int(np.argmin(np.abs(np.log(lrs) - np.log(0.05))))
    top = int(np.flatnonzero(lrs >= cfg.high_lr_min)[0]) if (lrs >= cfg.high_lr_min).any() else -1
    ep = data["epoch"].values
    for ax, j, label, best in ((ax_e, mid, "E", False), (ax_f, top, "F", True)):
        for i, K in enumerate(ranks):
            loss = data["loss"].values[i, j].astype(float)  # [seed, epoch]
            if best:  # the seed with the lowest final loss
                finals = np.where(np.isnan(loss[:, -1]), np.inf, loss[:, -1])
                curve = loss[int(np.argmin(finals))]
            else:
                curve = np.nanmedian(loss, axis=0)
            ax.plot(ep, curve, lw=1, color=colors[i], label=f"K = {K}")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (" + ("best seed per K" if best else "median over seeds") + ")")
        ax.set_title(f"Learning rate {lrs[j]:.3g}", fontsize=10)
        _style.panel_label(ax, label)
    ax_e.legend(fontsize=7, ncol=2, loc="lower left")
    return fig


def claims(summary: dict) -> list[Claim]:
    """Fig. S2's statements against the measured summary, over the ranks that learned."""
    rho_e = summary["spearman_rank_vs_best_epochs"]
    rho_l = summary["spearman_rank_vs_max_lr"]
    ranks_high = summary["ranks_learning_at_high_lr"]
    min_rank = summary["high_lr_ranks_min"]
    learned = summary["ranks_learned"]
    rule = summary["learned_rule"]
    over = f"computed only over the ranks that learned at some rate ({learned}; learned: {rule})"
    few = {"skip": f"{len(learned)} ranks learned at any rate, fewer than 2"}

    def by_rank(key: str) -> dict:
        return dict(zip(map(str, summary["ranks"]), summary[key], strict=True))

    if len(learned) < 2:
        trend_e = trend_l = high = few
    else:
        trend_e = {"reproduced": rho_e is not None and rho_e <= -0.7}
        trend_l = {"reproduced": rho_l is not None and rho_l >= 0.7}
        if not [k for k in learned if k < min_rank]:
            high = {"skip": f"no rank below {min_rank} learned at any rate, so none to exclude"}
        else:
            high = {"reproduced": bool(ranks_high) and min(ranks_high) >= min_rank}
    return [
        Claim(
            figure=NAME,
            claim="More trainable ranks learn in fewer epochs",
            paper="learning with fewer epochs as K grows",
            measured={
                "spearman": rho_e,
                "best_epochs_to_learn_by_rank": by_rank("best_epochs_to_learn_by_rank"),
            },
            **trend_e,
            reason=f"{over}: the Spearman correlation of K with its fewest epochs to learn over "
            "the rates (median over seeds) must be <= -0.7; equal epochs at every rank: no "
            "trend, differs",
        ),
        Claim(
            figure=NAME,
            claim="More trainable ranks survive higher learning rates",
            paper="higher usable learning rate with more ranks",
            measured={
                "spearman": rho_l,
                "max_lr_learned_by_rank": by_rank("max_lr_learned_by_rank"),
            },
            **trend_l,
            reason=f"{over}: the Spearman correlation of K with the highest rate at which half "
            "of the seeds learned must be >= 0.7; the same rate at every rank: no trend, differs",
        ),
        Claim(
            figure=NAME,
            claim="At the highest learning rates only networks with K = 50 or 100 train",
            paper="the few RNNs that trained had 50 or 100 ranks",
            measured={
                "ranks_learning": ranks_high,
                "learned_by_rank": by_rank("learned_at_high_lr_by_rank"),
                "rates": summary["high_lrs"],
            },
            **high,
            reason=f"{over}: at rates >= {summary['high_lr_min']:g} some network must learn and "
            f"every one that does must have K >= {min_rank}; needs a learned rank below "
            f"{min_rank} to exclude",
        ),
    ]
