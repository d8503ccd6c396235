"""Fig. S2: more trainable ranks ("sloppy ranks") make learning faster and more stable.

Rank-``K`` RNNs (``W = M Nmat``, ``M`` [N, K], ``Nmat`` [K, N], sigmoid readout
``w_out . x + b_out``, all trained; ``N = 100``) on the delayed-activation task, for
``K in {1, 2, 3, 4, 5, 10, 30, 50, 100}`` x 10 learning rates ``logspace(-3, 0, 10)`` x
seeds 0-9, plain gradient descent. ``K = N = 100`` is the full-rank network. The training
is a sweep (:func:`sweep_spec`): one batch of seeds per (rank, rate), each trained on one
XLA device, the batches spread over one worker process per core, and stored as they finish
in the experiment's ``work`` folder, so that an interrupted run resumes with the batches
it has.

The figure is the paper's: three panels, a low, a higher and a very high learning rate
(``panel_lrs``, the nearest grid rates), with the loss divided by its first-epoch value
for every (rank, seed) on log-log axes, coloured by rank. The paper does not name its
rates; its low one is "similar to Fig. 3A" (``lr = 0.003``), so paper fidelity draws
0.0022, 0.1 and 0.46. Within the quick run's 2000 epochs (1/250 of the paper's) the low
ranks cannot learn at 0.0022, so its low panel is ``lr = 0.01``, where they do. The heat maps over (K, rate),
the trends over K and the counts of stuck and oscillating networks are drawn beyond the
paper in ``figure-extra``.

Rules (each stated in the summary):

- *learned* (:func:`learned_definition`): with ``learned_accuracy = None`` (paper fidelity) the
  paper's rule, final loss / first-epoch loss < ``ratio`` = 1e-2
  (:func:`ghostlearn.outcomes.learned_by_loss`; "final" is the loss after the last update:
  the run has ``epochs + 1`` epochs). That ratio is meant for 500k epochs: within 2000
  epochs even networks that solve the task (all ten ``K = 100`` networks at
  ``lr = 0.001`` reach 100% accuracy) are still far above 1e-2 of their first loss. The
  quick run therefore uses an accuracy rule that does not depend on the run's length:
  training accuracy >= ``learned_accuracy`` = 0.9 (36 of the 40 steps right) at the last
  recorded epoch;
- *epochs to learn*: the first recorded epoch that meets the rule's threshold (loss below
  ``ratio`` x the first loss, or accuracy >= ``learned_accuracy``; resolution
  ``metrics_every``); per (K, rate) the lower median over seeds with unlearned seeds
  counted as infinitely slow, so it is finite exactly when at least half of the seeds
  learned;
- *highest usable rate* of a rank: the largest rate at which at least half of the seeds
  learned;
- *stuck* (entered a no-learning zone): the training accuracy exceeded 0.5 at some
  recorded epoch, yet is <= 0.5 at every one of the last ``STUCK_RECORDS`` = 10 recorded
  epochs (the last 5% of the run at both fidelities; :func:`ghostlearn.outcomes.stuck`);
- *oscillates after learning*: once the network first met the threshold, its loss later
  rises more than ``JUMP_FACTOR`` = 3 times above the lowest loss it had reached since;
- *drop ratio* (abrupt against gradual, as in Fig. 2): the shortest window holding 3/4 of
  the fall of the normalised loss over the plateau before it
  (:func:`ghostlearn.outcomes.drop_window`), median over the networks that learned at the
  low panel rate.

Claims checked. The trends, each only over the *learned ranks* (those with a rate at
which at least half of the seeds learned), so that ranks that never learned cannot make a
trend by themselves: (1) more ranks learn in fewer epochs: Spearman correlation of ``K``
with its fastest (over rates) epochs-to-learn <= -0.7; (2) more ranks survive higher
rates: Spearman of ``K`` with the highest usable rate >= 0.7; (3) at the highest rates
(``lr >= high_lr_min = 0.2``: the top three of the grid) some networks learn and all of
them have ``K >= 50``, while some learned rank below 50 exists to be excluded. With fewer
than 2 learned ranks (for (3): no learned rank below 50) a claim is skipped, not passed;
equal values at every learned rank (a flat trend) differ. The full-rank statements, on the
``K = N`` networks: (4) they still oscillate after learning: at least
``MIN_OSCILLATING`` = 2 of them jump up as defined above; (5) they occasionally get stuck:
at least one is stuck, and no more than half of those that ever learned; (6) low-rank
networks drop abruptly (median drop ratio of the lowest rank <= 0.2, Fig. 2's rule) where
full-rank ones decrease gradually (median drop ratio >= 1): the low rate needs the
paper's 500k epochs for the low ranks to learn at all, so a shorter run skips it. (4)
and (5) are skipped when the run has no full-rank network or none of them learned.

Every rank starts from ``init = "paper"`` (the original script's weights).

Fidelity: ``"paper"`` is the paper's 500k epochs (4.5e8 network-epochs; about 15 hours of
worker time, ~7 h on 2 cores, estimated from its measured rank-1 batches and the engine's
per-rank cost; the rank-30 to rank-100 networks take over half of it; on a cluster,
``ghostlearn sweep`` with ``examples/sweep_figS2.toml``). ``"quick"`` trains 2000 epochs
with metrics every 10 (measured: 107 s wall on 2 cores, two worker processes, a quiet
machine; 324 s on one device before the figure trained as a sweep). Measured there with
the accuracy rule (paper init): every rank learns at some rate, all ten ``K = 100`` networks already at
``lr = 0.001`` (the paper's 1e-2 loss ratio called none of them learned); (1) holds
(Spearman -1: fewest epochs 690 at K = 1 down to 10 at K = 100); (2) holds (Spearman
0.72: ranks 1-30 learn up to 0.046, 50 and 100 up to 0.1); (3) differs (at rates >= 0.2
networks of K = 5 and 30 learned beside K = 50 and 100); (4) holds: 42 of the 100
full-rank networks rise > 3x after learning (6-8 of 10 at each rate from 0.0046 to 0.1);
(5) holds: 10 of them got stuck (3, 3 and 4 of 10 at 0.22, 0.46 and 1), of the 96 whose
accuracy ever exceeded 0.5; (6) is skipped (its drop ratios at ``lr = 0.01`` are
measured all the same: median 0.05 at K = 1, 2.0 at K = 100).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter
from scipy.stats import spearmanr

from .. import _validate, outcomes
from ..rnn import INIT_METHODS, RNNConfig
from ..sweep import SweepSpec, parse_spec
from . import _style, base
from .base import Claim, Fidelity, Outcome, Progress
from .grid import train_grid

NAME = "figS2"
#: ``run`` keeps its finished batches in ``work`` (see :func:`run`).
RESUMABLE = True
TITLE = "Rank-K RNNs: sloppy ranks learn faster and survive higher learning rates"

#: The paper's run length; the abrupt-against-gradual claim needs it.
PAPER_EPOCHS = 500_000
#: "Stuck": accuracy <= 0.5 at every one of the last STUCK_RECORDS recorded epochs.
STUCK_RECORDS = 10
#: "Oscillates after learning": the loss rises more than JUMP_FACTOR x above its lowest
#: value since the network first met the learned threshold.
JUMP_FACTOR = 3.0
#: Claim (4): at least this many full-rank networks oscillate after learning.
MIN_OSCILLATING = 2
#: Claim (6): abrupt drop: window <= ABRUPT_MAX x plateau (Fig. 2's rule); gradual decrease:
#: window >= GRADUAL_MIN x plateau (3/4 of the fall takes as long as the wait before it).
DROP_FRACTION = 0.75
ABRUPT_MAX = 0.2
GRADUAL_MIN = 1.0


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
        ratio: "learned": final loss < ratio x first-epoch loss, in (0, 1) (the paper's
            rule, used when ``learned_accuracy`` is None).
        learned_accuracy: when given, "learned" is instead: training accuracy >= this at
            the last recorded epoch, in (0.5, 1] (a rule that does not depend on the run's
            length).
        min_fraction: a (rank, rate) "learns" when at least this fraction of seeds learned,
            in (0, 1].
        high_lr_min: rates >= this are "the highest rates" of claim (3), > 0.
        high_lr_ranks_min: only ranks >= this may learn at the highest rates, >= 1.
        panel_lrs: the learning rates of the figure's three panels (a low, a higher and a
            very high one; each drawn at the nearest grid rate), > 0.
        init: the initial weights (:func:`ghostlearn.rnn.init_params`), ``"paper"``: the
            original script's, seed for seed.
    """

    ranks: tuple[int, ...] = (1, 2, 3, 4, 5, 10, 30, 50, 100)
    N: int = 100
    lr_log10: tuple[float, float] = (-3.0, 0.0)
    n_lr: int = 10
    n_seeds: int = 10
    epochs: int = PAPER_EPOCHS
    metrics_every: int = 500
    ratio: float = 1e-2
    learned_accuracy: float | None = None
    min_fraction: float = 0.5
    high_lr_min: float = 0.2
    high_lr_ranks_min: int = 50
    panel_lrs: tuple[float, float, float] = (2e-3, 0.1, 0.5)
    init: str = "paper"

    def __post_init__(self) -> None:
        _validate.at_least("N", self.N, 1)
        _validate.one_of("init", self.init, INIT_METHODS)
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
        if self.learned_accuracy is not None:
            _validate.finite("learned_accuracy", self.learned_accuracy)
            if not 0.5 < self.learned_accuracy <= 1:
                raise ValueError(
                    f"learned_accuracy must be in (0.5, 1], got {self.learned_accuracy}"
                )
        _validate.finite("min_fraction", self.min_fraction)
        if not 0 < self.min_fraction <= 1:
            raise ValueError(f"min_fraction must be in (0, 1], got {self.min_fraction}")
        _validate.positive("high_lr_min", self.high_lr_min)
        _validate.at_least("high_lr_ranks_min", self.high_lr_ranks_min, 1)
        if len(self.panel_lrs) != 3:
            raise ValueError(f"panel_lrs must hold 3 rates, got {self.panel_lrs!r}")
        _validate.positive("panel_lrs", np.asarray(self.panel_lrs, dtype=float))

    @property
    def lr_grid(self) -> np.ndarray:
        """``logspace(lo, hi, n_lr)``, shape ``[n_lr]``."""
        return np.logspace(*self.lr_log10, self.n_lr)

    @property
    def panel_index(self) -> list[int]:
        """Indices into :attr:`lr_grid` of the three panels' rates (nearest in log)."""
        logs = np.log(self.lr_grid)
        return [int(np.argmin(np.abs(logs - np.log(v)))) for v in self.panel_lrs]


def config(fidelity: Fidelity) -> Config:
    """``"paper"``: the paper's 500k epochs, learned at 1e-2 x the first loss, panels at
    ``lr`` 0.0022, 0.1 and 0.46. ``"quick"``: 2000 epochs, metrics every 10, learned:
    training accuracy >= 0.9 at the last epoch, the low panel at ``lr = 0.01``."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    if fidelity == "paper":
        return Config()
    return Config(epochs=2000, metrics_every=10, learned_accuracy=0.9, panel_lrs=(1e-2, 0.1, 0.5))


def learned_definition(cfg: Config) -> str:
    """The "learned" rule of ``cfg`` in words (the summary adds the run's length)."""
    if cfg.learned_accuracy is not None:
        return f"training accuracy >= {cfg.learned_accuracy:g} at the last recorded epoch"
    return f"final loss < {cfg.ratio:g} x first-epoch loss"


def learned_and_epochs(
    loss: np.ndarray, accuracy: np.ndarray, epochs: np.ndarray, cfg: Config
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each network learned by ``cfg``'s rule, and when it first met its threshold.

    Args:
        loss: [..., epoch] recorded training loss.
        accuracy: [..., epoch] recorded training accuracy.
        epochs: [epoch] the recorded epoch numbers.
        cfg: the config; ``learned_accuracy`` picks the accuracy rule, else the loss ratio.

    Returns:
        ``learned`` [...] booleans and ``epochs_to_learn`` [...] floats (NaN: never).
    """
    if cfg.learned_accuracy is None:
        learned = outcomes.learned_by_loss(loss, ratio=cfg.ratio)
        return learned, outcomes.epochs_to_learn(loss, ratio=cfg.ratio, epochs=epochs)
    acc = np.asarray(accuracy, dtype=float)
    with np.errstate(invalid="ignore"):
        above = acc >= cfg.learned_accuracy  # NaN (diverged): False
    first = np.argmax(above, axis=-1)
    etl = np.where(above.any(axis=-1), np.asarray(epochs)[first].astype(float), np.nan)
    return above[..., -1], etl


def sweep_spec(cfg: Config) -> SweepSpec:
    """The training of ``cfg`` as a sweep: rank x rate x seed, one batch per (rank, rate)
    (:func:`~ghostlearn.experiments.grid.train_grid`)."""
    return parse_spec(
        {
            "sweep": {"name": NAME, "batch_size": cfg.n_seeds},
            "model": {"model": "lowrank", "N": cfg.N},
            "train": {
                "epochs": cfg.epochs + 1,
                "metrics_every": cfg.metrics_every,
                "init": cfg.init,
            },
            "grid": {
                "rank": list(cfg.ranks),
                "lr": [float(v) for v in cfg.lr_grid],
                "seed": list(range(cfg.n_seeds)),
            },
        }
    )


def run(cfg: Config, progress: Progress | None = None, work: Path | None = None) -> xr.Dataset:
    """Train every rank's ``n_lr x n_seeds`` networks as the sweep :func:`sweep_spec`.

    Progress is reported in network-epochs. The batches are kept in ``work`` as they
    finish, so a run killed part way resumes there with the batches it has
    (:func:`~ghostlearn.experiments.grid.train_grid`).

    Returns:
        Dataset with dims ``rank``, ``lr``, ``seed``, ``epoch`` (every ``metrics_every``,
        ``0 .. epochs``): ``loss``, ``accuracy``, ``grad_norm`` (rank, lr, seed, epoch),
        ``diverged`` (rank, lr, seed), ``learned`` (rank, lr, seed; :func:`learned_definition`)
        and ``epochs_to_learn`` (rank, lr, seed; NaN if never); attrs ``train`` (the
        training settings) and ``training_s`` (seconds the batches took to train, summed
        over every run that contributed one).
    """
    ds = train_grid(sweep_spec(cfg), work, progress)
    names = ("loss", "accuracy", "grad_norm")
    out = xr.Dataset(
        {
            **{name: (ds[name].dims, ds[name].values, ds[name].attrs) for name in names},
            "diverged": (("rank", "lr", "seed"), ds["diverged"].values),
        },
        coords={
            "rank": list(cfg.ranks),
            "lr": cfg.lr_grid,
            "seed": np.arange(cfg.n_seeds),
            "epoch": ds["epoch"].values,
        },
    )
    learned, etl = learned_and_epochs(
        out["loss"].values, out["accuracy"].values, out["epoch"].values, cfg
    )
    out["learned"] = (("rank", "lr", "seed"), learned, {"long_name": learned_definition(cfg)})
    out["epochs_to_learn"] = (
        ("rank", "lr", "seed"),
        etl,
        {"long_name": "first recorded epoch that meets the learned threshold (NaN: never)"},
    )
    out.attrs["train"] = ds.attrs["train"]
    out.attrs["training_s"] = ds.attrs["training_s"]
    return out


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman correlation; None with fewer than 2 points or a flat ``y`` (no trend)."""
    if len(x) < 2 or np.unique(y).size < 2:
        return None
    return float(spearmanr(x, y).statistic)


def post_learning_jump(
    loss: np.ndarray, epochs_to_learn: np.ndarray, epochs: np.ndarray
) -> np.ndarray:
    """How far the loss rose after a network first met the learned threshold.

    Args:
        loss: [..., epoch] recorded training loss.
        epochs_to_learn: [...] the first recorded epoch meeting the threshold (NaN: never).
        epochs: [epoch] the recorded epoch numbers.

    Returns:
        [...] ``max_e loss(e) / min_{t <= e' <= e} loss(e')`` over the records ``e`` from
        ``t = epochs_to_learn`` on (1: never rose; NaN: never learned).
    """
    loss = np.asarray(loss, dtype=float)
    after = np.asarray(epochs)[None, :] >= np.asarray(epochs_to_learn, dtype=float).reshape(-1, 1)
    flat = loss.reshape(-1, loss.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    for i, (row, mask) in enumerate(zip(flat, after, strict=True)):
        seg = row[mask]
        seg = seg[np.isfinite(seg)]
        if seg.size:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[i] = float(np.max(seg / np.minimum.accumulate(seg)))
    return out.reshape(loss.shape[:-1])


def _drop_ratio(loss: np.ndarray, epochs: np.ndarray) -> float:
    """Drop-window ratio of one loss curve normalised by its first value (NaN: no fall)."""
    if not np.all(np.isfinite(loss)):
        return float("nan")
    win = outcomes.drop_window(loss / loss[0], fraction=DROP_FRACTION, epochs=epochs)
    return float("nan") if win is None else win.ratio


def _counts(values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FullRank:
    """The full-rank (``K = N``) networks of a run, all rates and seeds together.

    A run without a full-rank network (``present`` False) has none to count: its counts
    are 0, its per-rate counts empty, and ``summary.json`` holds ``K`` and ``present``
    alone.

    Attributes:
        K: the full rank, ``N``.
        present: whether the run has ``K = N`` among its ranks.
        n_nets: full-rank networks.
        learned_at_some_point_by_lr: per rate, networks that met the learned threshold at
            some recorded epoch, [n_lr].
        oscillating_by_lr: per rate, networks whose loss rose more than ``JUMP_FACTOR``
            times after learning, [n_lr].
        stuck_by_lr: per rate, stuck networks, [n_lr].
        n_learned_at_some_point: networks that met the learned threshold at some epoch.
        n_oscillating: networks whose loss rose more than ``JUMP_FACTOR`` times after
            learning.
        n_stuck: stuck networks.
        n_ever_above_half: networks whose accuracy ever exceeded 0.5.
        max_jump: the largest post-learning rise (None: none learned).
    """

    K: int
    present: bool
    n_nets: int = 0
    learned_at_some_point_by_lr: tuple[int, ...] = ()
    oscillating_by_lr: tuple[int, ...] = ()
    stuck_by_lr: tuple[int, ...] = ()
    n_learned_at_some_point: int = 0
    n_oscillating: int = 0
    n_stuck: int = 0
    n_ever_above_half: int = 0
    max_jump: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """Fig. S2's measured numbers (``summary.json`` beside the envelope).

    Per-rank values are indexed like ``ranks``, per-rate ones like ``lr_grid``; dicts keyed
    by a rank use its decimal string (``"100"``). A NaN float is stored as ``null``.

    Attributes:
        ranks: the trainable ranks ``K``.
        lr_grid: the learning rates.
        epochs: the last recorded epoch (the run's length).
        learned_definition: the "learned" rule in words.
        learned_rule: the rule with the run's length.
        stuck_rule: the "stuck" rule in words.
        oscillation_rule: the "oscillates after learning" rule in words.
        ranks_learned: ranks with a rate where at least ``min_fraction`` of the seeds
            learned (the trends are measured over these only).
        learned_fraction: fraction of seeds learned, ``[rank][lr]``.
        epochs_to_learn_median: lower median over seeds of the epochs to learn, unlearned
            seeds counted as infinitely slow; NaN where fewer than ``min_fraction``
            learned, ``[rank][lr]``.
        best_epochs_to_learn_by_rank: the fewest median epochs to learn over the rates
            (NaN: no rate learned), ``[rank]``.
        max_lr_learned_by_rank: the highest rate where at least ``min_fraction`` of the
            seeds learned (NaN: none), ``[rank]``.
        spearman_rank_vs_best_epochs: Spearman correlation of ``K`` with
            ``best_epochs_to_learn_by_rank`` over ``ranks_learned`` (None: fewer than 2
            ranks or a flat trend).
        spearman_rank_vs_max_lr: the same with ``max_lr_learned_by_rank``.
        high_lr_min: rates >= this are "the highest rates".
        high_lr_ranks_min: only ranks >= this may learn at the highest rates.
        high_lrs: the grid's highest rates.
        learned_at_high_lr_by_rank: networks learned at the highest rates, ``[rank]``.
        ranks_learning_at_high_lr: ranks with a network learned at the highest rates.
        stuck_count: stuck networks, ``[rank][lr]``.
        oscillating_count: networks that rose more than ``JUMP_FACTOR`` times after
            learning, ``[rank][lr]``.
        full_rank: the ``K = N`` networks' counts.
        panel_lrs: the grid rates of the figure's three panels.
        drop_ratio_rule: the drop ratio in words.
        drop_ratio_median_by_rank: per rank, the median drop ratio over the networks that
            learned at the low panel rate (None: none did).
        n_diverged: networks whose loss or parameters became non-finite.
    """

    ranks: tuple[int, ...]
    lr_grid: tuple[float, ...]
    epochs: int
    learned_definition: str
    learned_rule: str
    stuck_rule: str
    oscillation_rule: str
    ranks_learned: tuple[int, ...]
    learned_fraction: tuple[tuple[float, ...], ...]
    epochs_to_learn_median: tuple[tuple[float, ...], ...]
    best_epochs_to_learn_by_rank: tuple[float, ...]
    max_lr_learned_by_rank: tuple[float, ...]
    spearman_rank_vs_best_epochs: float | None
    spearman_rank_vs_max_lr: float | None
    high_lr_min: float
    high_lr_ranks_min: int
    high_lrs: tuple[float, ...]
    learned_at_high_lr_by_rank: tuple[int, ...]
    ranks_learning_at_high_lr: tuple[int, ...]
    stuck_count: tuple[tuple[int, ...], ...]
    oscillating_count: tuple[tuple[int, ...], ...]
    full_rank: FullRank
    panel_lrs: tuple[float, ...]
    drop_ratio_rule: str
    drop_ratio_median_by_rank: dict[str, float | None]
    n_diverged: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; ``full_rank`` holds ``K`` and ``present`` alone when the run
        has no full-rank network."""
        out = super().to_dict()
        if not self.full_rank.present:
            out["full_rank"] = {"K": self.full_rank.K, "present": False}
        return out


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _floats2(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(_floats(row) for row in values)


def _counts2(values: np.ndarray) -> tuple[tuple[int, ...], ...]:
    return tuple(_counts(row) for row in values)


def summarize(data: xr.Dataset, cfg: Config) -> Summary:
    """Fraction learned and epochs to learn per (rank, rate); the trends over ranks; the
    stuck and oscillating networks, the full-rank ones apart; abrupt against gradual."""
    ranks = data["rank"].values
    lrs = data["lr"].values
    ep = data["epoch"].values
    frac = data["learned"].values.mean(axis=-1)  # [rank, lr]
    etl_raw = data["epochs_to_learn"].values.astype(float)
    etl = np.where(np.isnan(etl_raw), np.inf, etl_raw)
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
    epochs = int(ep[-1])

    loss = data["loss"].values.astype(float)
    acc = data["accuracy"].values.astype(float)
    ever = np.isfinite(etl_raw)  # met the threshold at some recorded epoch
    jump = post_learning_jump(loss, etl_raw, ep)
    oscillating = ever & (np.nan_to_num(jump, nan=0.0) > JUMP_FACTOR)
    stuck = outcomes.stuck(acc, last=min(STUCK_RECORDS, acc.shape[-1]))
    full = int(np.flatnonzero(ranks == cfg.N)[0]) if (ranks == cfg.N).any() else None
    low_panel = cfg.panel_index[0]
    drop_ratio: dict[str, float | None] = {}
    for i, K in enumerate(ranks):
        ratios = [
            _drop_ratio(loss[i, low_panel, j], ep)
            for j in range(loss.shape[2])
            if data["learned"].values[i, low_panel, j]
        ]
        finite = [r for r in ratios if not np.isnan(r)]
        drop_ratio[str(int(K))] = float(np.median(finite)) if finite else None
    full_rank = FullRank(K=cfg.N, present=False)
    if full is not None:
        full_rank = FullRank(
            K=cfg.N,
            present=True,
            n_nets=int(stuck[full].size),
            learned_at_some_point_by_lr=_counts(ever[full].sum(axis=-1)),
            oscillating_by_lr=_counts(oscillating[full].sum(axis=-1)),
            stuck_by_lr=_counts(stuck[full].sum(axis=-1)),
            n_learned_at_some_point=int(ever[full].sum()),
            n_oscillating=int(oscillating[full].sum()),
            n_stuck=int(stuck[full].sum()),
            n_ever_above_half=int(outcomes.learned(acc[full]).sum()),
            max_jump=float(np.nanmax(jump[full])) if ever[full].any() else None,
        )
    definition = learned_definition(cfg)
    return Summary(
        ranks=_counts(ranks),
        lr_grid=_floats(lrs),
        epochs=epochs,
        learned_definition=definition,
        learned_rule=f"{definition} after {epochs:,} epochs",
        stuck_rule=f"training accuracy > 0.5 at some recorded epoch, then <= 0.5 at each "
        f"of the last {STUCK_RECORDS} recorded epochs",
        oscillation_rule=f"after first meeting the learned threshold, the loss rises more "
        f"than {JUMP_FACTOR:g}x above its lowest value since",
        ranks_learned=_counts(ranks[some]),
        learned_fraction=_floats2(frac),
        epochs_to_learn_median=_floats2(np.where(np.isfinite(etl_median), etl_median, np.nan)),
        best_epochs_to_learn_by_rank=_floats(np.where(np.isfinite(best_etl), best_etl, np.nan)),
        max_lr_learned_by_rank=_floats(np.where(max_lr > 0, max_lr, np.nan)),
        spearman_rank_vs_best_epochs=_spearman(ranks[some], best_etl[some]),
        spearman_rank_vs_max_lr=_spearman(ranks[some], max_lr[some]),
        high_lr_min=cfg.high_lr_min,
        high_lr_ranks_min=cfg.high_lr_ranks_min,
        high_lrs=_floats(lrs[high]),
        learned_at_high_lr_by_rank=_counts(learned_high),
        ranks_learning_at_high_lr=tuple(ranks_high),
        stuck_count=_counts2(stuck.sum(axis=-1)),
        oscillating_count=_counts2(oscillating.sum(axis=-1)),
        full_rank=full_rank,
        panel_lrs=_floats(lrs[cfg.panel_index]),
        drop_ratio_rule=f"shortest window holding {DROP_FRACTION:g} of the fall of the "
        f"normalised loss over the plateau before it; median over the networks that learned "
        f"at lr = {lrs[low_panel]:.3g}",
        drop_ratio_median_by_rank=drop_ratio,
        n_diverged=int(data["diverged"].sum()),
    )


#: Height of the paper's figure (a page wide) and of the extra panels.
HEIGHT = 2.5
EXTRA_HEIGHT = 7.8
#: What the three panels show, in the paper's words.
PANEL_NAMES = ("low learning rate", "higher learning rate", "very high learning rate")


def _rank_colours(ranks: np.ndarray) -> tuple[ListedColormap, BoundaryNorm]:
    """One colour per rank (viridis without its faint yellow end), indexed by position."""
    n = len(ranks)
    cmap = ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.88, n)), name="rank")
    return cmap, BoundaryNorm(np.arange(n + 1) - 0.5, n)


def _normalised(loss: np.ndarray) -> np.ndarray:
    """``loss / loss(first epoch)`` along the last axis."""
    loss = np.asarray(loss, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return loss / loss[..., :1]


def plot(data: xr.Dataset, summary: Summary, cfg: Config) -> Figure:
    """The paper's Fig. S2: the normalised loss of every (rank, seed) over epochs at a
    low, a higher and a very high learning rate, log-log, coloured by rank."""
    fig = _style.figure(HEIGHT, _style.PAGE)
    axes = fig.subplots(1, 3, sharey=True)
    ranks = data["rank"].values
    lrs = data["lr"].values
    ep = data["epoch"].values
    keep = ep > 0  # log axis: the first epoch is the normalisation itself
    cmap, norm = _rank_colours(ranks)
    norm_loss = _normalised(data["loss"].values)  # [rank, lr, seed, epoch]
    for k, (ax, j) in enumerate(zip(axes, cfg.panel_index, strict=True)):
        segments, colours = [], []
        for i in range(len(ranks)):
            for curve in norm_loss[i, j]:
                segments.append(np.column_stack([ep[keep], curve[keep]]))
                colours.append(cmap(norm(i)))
        lines = LineCollection(segments, colors=colours, linewidths=0.6, alpha=0.85)
        lines.set_rasterized(True)  # many curves: a small PDF
        ax.add_collection(lines)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(ep[keep][0], ep[-1])
        ax.xaxis.set_major_formatter(_style.EPOCH_TICKS)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("epoch")
        ax.set_title(f"{PANEL_NAMES[k]}, α = {lrs[j]:.2g}", loc="left")
        _style.panel_label(ax, "ABC"[k])
    finite = norm_loss[:, cfg.panel_index][..., keep]
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size:
        axes[0].set_ylim(max(finite.min() / 1.5, 1e-8), max(finite.max() * 1.5, 2.0))
    axes[0].set_ylabel("loss / first-epoch loss")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), aspect=30,
                       pad=0.01)  # fmt: skip
    bar.set_ticks(range(len(ranks)), labels=[str(int(k)) for k in ranks])
    bar.ax.tick_params(which="minor", length=0)
    bar.set_label("trainable rank K")
    return fig


def _heatmap(fig: Figure, ax: Axes, values: np.ndarray, ranks: np.ndarray, lrs: np.ndarray,
             label: str, **kw: Any) -> None:  # fmt: skip
    im = ax.imshow(values, aspect="auto", origin="lower", **kw)
    ax.set_xticks(range(lrs.size), [f"{v:.2g}" for v in lrs], rotation=90)
    ax.set_yticks(range(len(ranks)), [str(int(k)) for k in ranks])
    ax.set_xlabel("learning rate α")
    ax.set_ylabel("trainable rank K")
    fig.colorbar(im, ax=ax, label=label)


def _annotate(ax: Axes, values: np.ndarray, fmt: str, dark_above: float) -> None:
    """Write every non-zero cell's value (black on light cells, white on dark ones)."""
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v) and v > 0:
            ax.text(j, i, format(v, fmt), ha="center", va="center",
                    color="black" if v > dark_above else "white")  # fmt: skip


def plot_extra(data: xr.Dataset, summary: Summary, cfg: Config) -> Figure:
    """Beyond the paper: A fraction learned and B epochs to learn over (K, rate), C-D the
    trends over K, E stuck and F oscillating networks over (K, rate)."""
    fig = _style.figure(EXTRA_HEIGHT, _style.PAGE)
    (ax_a, ax_b), (ax_c, ax_d), (ax_e, ax_f) = fig.subplots(3, 2)
    ranks = data["rank"].values
    lrs = data["lr"].values
    n = data.sizes["seed"]
    frac = np.asarray(summary.learned_fraction, dtype=float)
    _heatmap(fig, ax_a, frac, ranks, lrs, "fraction of seeds learned", cmap="cividis",
             vmin=0, vmax=1)  # fmt: skip
    _annotate(ax_a, frac, ".1f", 0.5)
    _style.beyond(ax_a, "learned")
    _style.panel_label(ax_a, "A")
    etl = np.asarray(summary.epochs_to_learn_median, dtype=float)
    finite = etl[np.isfinite(etl) & (etl > 0)]
    norm = (
        LogNorm(finite.min(), finite.max()) if finite.size and finite.min() < finite.max() else None
    )
    _heatmap(fig, ax_b, np.ma.masked_invalid(etl), ranks, lrs, "epochs to learn (median)",
             cmap="cividis_r", norm=norm)  # fmt: skip
    ax_b.images[0].colorbar.ax.yaxis.set_major_formatter(_style.EPOCH_TICKS)
    _style.beyond(ax_b, "median epochs to learn")
    _style.panel_label(ax_b, "B")

    x = np.arange(len(ranks))
    best = np.asarray(summary.best_epochs_to_learn_by_rank, dtype=float)
    ax_c.plot(x, best, "o-", color=_style.CYCLE[0], label="fewest epochs over the rates")
    if np.isfinite(best).any():
        ax_c.set_yscale("log")
        ax_c.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax_c.yaxis.set_major_formatter(_style.EPOCH_TICKS)
        ax_c.yaxis.set_minor_formatter(NullFormatter())
    ax_c.set_ylabel("epochs to learn")
    ax_c.legend(loc="upper right")
    _style.beyond(ax_c, "fewer epochs with more ranks")
    _style.panel_label(ax_c, "C")
    max_lr = np.asarray(summary.max_lr_learned_by_rank, dtype=float)
    ax_d.plot(x, max_lr, "o-", color=_style.CYCLE[1],
              label=f"highest α where ≥ {cfg.min_fraction:.0%} learned")  # fmt: skip
    ax_d.axhline(cfg.high_lr_min, color=_style.GREY, ls=":", lw=0.8,
                 label=f"'highest rates': α ≥ {cfg.high_lr_min:g}")  # fmt: skip
    ax_d.set_yscale("log")
    ax_d.set_ylim(lrs[0] / 2, lrs[-1] * 4)
    ax_d.set_ylabel("learning rate α")
    ax_d.legend(loc="upper left")
    _style.beyond(ax_d, "higher rates with more ranks")
    _style.panel_label(ax_d, "D")
    for ax in (ax_c, ax_d):
        ax.set_xticks(x, [str(int(k)) for k in ranks])
        ax.set_xlabel("trainable rank K")

    for ax, values, title, colour_label, letter in (
        (ax_e, summary.stuck_count, "stuck (no-learning zone)", "networks stuck", "E"),
        (ax_f, summary.oscillating_count, f"loss jumps > {JUMP_FACTOR:g}× after learning",
         "networks oscillating", "F"),
    ):  # fmt: skip
        counts = np.asarray(values, dtype=float)
        _heatmap(fig, ax, counts, ranks, lrs, f"{colour_label} (of {n})", cmap="cividis",
                 vmin=0, vmax=n)  # fmt: skip
        _annotate(ax, counts, ".0f", n / 2)
        _style.beyond(ax, title)
        _style.panel_label(ax, letter)
    return fig


def _weights(init: str) -> str:
    """The initial weights in words, for a caption."""
    return "the paper's own initial weights" if init == "paper" else f"{init}-drawn initial weights"


def caption(summary: Summary, cfg: Config) -> str:
    """Fig. S2's caption, written like the paper's, with the run's parameters."""
    net = RNNConfig(model="lowrank", rank=1, N=cfg.N)
    lrs = np.asarray(summary.lr_grid, dtype=float)
    low, mid, top = (lrs[j] for j in cfg.panel_index)
    lo, hi = cfg.lr_log10
    ranks = ", ".join(str(int(k)) for k in summary.ranks)
    fr = summary.full_rank
    full = (
        f"Full rank (K = {fr.K}): {fr.n_oscillating} of {fr.n_nets} networks rose "
        f"> {JUMP_FACTOR:g}× after learning, {fr.n_stuck} got stuck (training accuracy "
        f"≤ 0.5 over the last {STUCK_RECORDS} recorded epochs after exceeding it). "
        if fr.present
        else ""
    )
    return (
        "Fig. S2. Increasing the ranks of the RNNs available for training partially "
        f"stabilized learning dynamics. We trained RNNs with varying ranks ({ranks}) on the "
        "DA task, with the output o(x) = σ(w_out · x + b_out) (output weights w_out and "
        f"bias b_out trained), at {cfg.n_lr} learning rates α log-spaced from 10^{lo:g} to "
        f"10^{hi:g}, seeds 0-{cfg.n_seeds - 1} each, for {summary.epochs:,} epochs. "
        f"Shown: the loss divided by its first-epoch value, log-log. A With a relatively "
        f"low learning rate (α = {low:.2g}). B With a higher learning rate (α = {mid:.2g}). "
        f"C With a substantially high learning rate (α = {top:.2g}). Parameters: "
        f"τ = {net.tau:g} ms, Δt = {net.dt:g} ms, T = {net.T:g} ms, and N = {cfg.N} neurons. "
        f"We initialized all units to be x(0) = {net.x0:g} and used gradient descent on one "
        f"trial ({_weights(cfg.init)}). Each line corresponds to a run with a "
        f"different seed, coloured by rank. Learned: {summary.learned_rule}. {full}"
    ).rstrip()


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """Fig. S2's statements against the measured summary: the trends over the ranks that
    learned, and the full-rank networks' oscillations, no-learning zones and gradual
    decrease."""
    rho_e = summary.spearman_rank_vs_best_epochs
    rho_l = summary.spearman_rank_vs_max_lr
    ranks_high = summary.ranks_learning_at_high_lr
    min_rank = cfg.high_lr_ranks_min
    learned = list(summary.ranks_learned)
    rule = summary.learned_rule
    over = f"computed only over the ranks that learned at some rate ({learned}; learned: {rule})"
    few: Outcome = {"skip": f"{len(learned)} ranks learned at any rate, fewer than 2"}

    def by_rank(values: tuple[float, ...]) -> dict[str, float]:
        return dict(zip(map(str, summary.ranks), values, strict=True))

    if len(learned) < 2:
        trend_e = trend_l = high = few
    else:
        trend_e = {"reproduced": rho_e is not None and rho_e <= -0.7}
        trend_l = {"reproduced": rho_l is not None and rho_l >= 0.7}
        if not [k for k in learned if k < min_rank]:
            high = {"skip": f"no rank below {min_rank} learned at any rate, so none to exclude"}
        else:
            high = {"reproduced": bool(ranks_high) and min(ranks_high) >= min_rank}

    fr = summary.full_rank
    K = fr.K
    oscillates: Outcome
    stuck: Outcome
    if not fr.present:
        oscillates = stuck = {"skip": f"the run has no full-rank network (K = N = {K})"}
        measured_full: dict[str, Any] = {}
    else:
        measured_full = {
            "n_nets": fr.n_nets,
            "learned_at_some_point_by_lr": fr.learned_at_some_point_by_lr,
        }
        n_ever = fr.n_learned_at_some_point
        if n_ever == 0:
            oscillates = {"skip": f"no full-rank network met the learned threshold ({rule})"}
        else:
            oscillates = {"reproduced": fr.n_oscillating >= MIN_OSCILLATING}
        n_above = fr.n_ever_above_half
        if n_above == 0:
            stuck = {"skip": "no full-rank network ever exceeded accuracy 0.5, so none could "
                     "get stuck"}  # fmt: skip
        else:
            stuck = {"reproduced": 1 <= fr.n_stuck <= n_above / 2}
    drop = summary.drop_ratio_median_by_rank
    lowest = str(summary.ranks[0])
    r_low, r_full = drop.get(lowest), drop.get(str(K))
    if cfg.epochs < PAPER_EPOCHS:
        gradual: Outcome = {"skip": "needs paper fidelity"}
    elif not fr.present or r_low is None or r_full is None:
        gradual = {"skip": f"no learned network at the low rate for K = {lowest} or K = {K}"}
    else:
        gradual = {"reproduced": r_low <= ABRUPT_MAX and r_full >= GRADUAL_MIN}
    return [
        Claim(
            figure=NAME,
            claim="More trainable ranks learn in fewer epochs",
            paper="learning with fewer epochs as K grows",
            measured={
                "spearman": rho_e,
                "best_epochs_to_learn_by_rank": by_rank(summary.best_epochs_to_learn_by_rank),
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
                "max_lr_learned_by_rank": by_rank(summary.max_lr_learned_by_rank),
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
                "learned_by_rank": by_rank(summary.learned_at_high_lr_by_rank),
                "rates": summary.high_lrs,
            },
            **high,
            reason=f"{over}: at rates >= {cfg.high_lr_min:g} some network must learn and "
            f"every one that does must have K >= {min_rank}; needs a learned rank below "
            f"{min_rank} to exclude",
        ),
        Claim(
            figure=NAME,
            claim="Even full-rank RNNs still exhibit oscillatory phases after learning",
            paper="full-rank RNNs still exhibited oscillatory phases",
            measured={
                **measured_full,
                "oscillating_by_lr": fr.oscillating_by_lr if fr.present else None,
                "n_oscillating": fr.n_oscillating if fr.present else None,
                "max_jump": fr.max_jump if fr.present else None,
            },
            **oscillates,
            reason=f"count of the K = {K} networks (all rates and seeds) whose loss, after "
            f"first meeting the learned threshold ({rule}), rises more than {JUMP_FACTOR:g}x "
            f"above its lowest value since; reproduced when >= {MIN_OSCILLATING}",
        ),
        Claim(
            figure=NAME,
            claim="Even full-rank RNNs occasionally get stuck in no-learning zones",
            paper="full-rank RNNs occasionally became stuck in no-learning zones",
            measured={
                **measured_full,
                "stuck_by_lr": fr.stuck_by_lr if fr.present else None,
                "n_stuck": fr.n_stuck if fr.present else None,
                "n_ever_above_half": fr.n_ever_above_half if fr.present else None,
            },
            **stuck,
            reason=f"stuck: {summary.stuck_rule}; count over the K = {K} networks (all "
            "rates and seeds); reproduced when at least 1 is stuck and at most half of those "
            "whose accuracy ever exceeded 0.5 (occasionally, not as a rule)",
        ),
        Claim(
            figure=NAME,
            claim="Low-rank RNNs' loss drops within few epochs, full-rank RNNs' loss decreases "
            "gradually across extended epochs",
            paper="rapid decrease for low ranks; gradual decreases for full rank",
            measured={"drop_ratio_median_by_rank": drop},
            **gradual,
            reason=f"drop ratio: {summary.drop_ratio_rule}; reproduced when the lowest "
            f"rank's median is <= {ABRUPT_MAX:g} (abrupt, Fig. 2's rule) and the full rank's "
            f">= {GRADUAL_MIN:g} (gradual); the low rate needs the paper's "
            f"{PAPER_EPOCHS:,} epochs for the low ranks to learn",
        ),
    ]
