"""Learnable confidence: a network whose ``c`` is trained still gets stuck; resetting
``c`` to 1 lets it learn again.

Phase 1 (paper: "data not shown"): rank-one networks with the confidence ``c`` trained as
a parameter (:class:`ghostlearn.rnn.RNNConfig` with ``train_c=True``), ``c`` starting at
10, plain gradient descent at ``lr = 0.02`` for 10k epochs. Phase 2 (the authors' released
code): every network resumes from its final parameters with ``c`` reset to 1
(``params["c"] = 1``, ``epoch_offset = 10000``) for 10k more epochs, ``c`` still trained.

Training after the plateau is chaotic (docs/model.md), so the paper's seed (40, with the
paper's own initial weights, ``init="paper"``) is trained in one batch with seeds
``0 .. search - 1`` and the claims are population statements over that batch ("k of n
networks"), with seed 40's outcome reported beside them. The figure shows one
representative network, picked by its behaviour: seed 40 if it is stuck after phase 1,
else the lowest stuck seed of the batch (else seed 40).

Definitions (:mod:`ghostlearn.outcomes`): learned = max accuracy > 0.5; stuck = learned
and max accuracy over the last ``last`` (50) epochs <= 0.5. After phase 2 a network has
*recovered* when its accuracy is >= 0.9 at every one of the last 10 epochs of phase 2
(:func:`ghostlearn.outcomes.recovered`, the rule of Fig. 4); the lenient count (max
accuracy over the last ``last`` epochs of phase 2 > 0.5: no longer stuck) is reported
beside it. The gradient is "practically zero" when its median over the last ``last``
epochs of phase 1 is below ``flat_ratio`` (1e-3) times its peak over phase 1. The claims
about the stuck networks are skipped when none got stuck. The ``c`` trajectory is read
from the snapshots (every ``snapshot_every`` epochs) and the final parameters. Both
phases train on ``devices = 1`` XLA device.

Both fidelities train the paper's epochs (about 420k network-epochs at paper fidelity:
a few CPU-seconds plus compilation); quick searches fewer seeds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import _validate, outcomes
from ..analysis import analyze_dataset
from ..rnn import RNNConfig
from ..train import model_from_dataset, params_from_dataset, train
from . import _style, base, rank1
from .base import Claim, Fidelity, Outcome, Progress
from .rank1 import (
    INITS,
    BifurcationRecord,
    bifurcation_list,
    points_dataset,
    resolve_init,
    run_events,
    single,
)

#: Recovered after the reset: accuracy >= RECOVERY_THRESHOLD at each of the last
#: RECOVERY_LAST epochs of phase 2 (the rule of Fig. 4).
RECOVERY_LAST = 10
RECOVERY_THRESHOLD = 0.9

NAME = "learnable-c"
TITLE = "Rank-one RNN with a trained confidence c: stuck anyway; c reset to 1 recovers"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of the learnable-c experiment (the paper's values by default).

    Attributes:
        N: units per network, >= 1.
        lr: learning rate of both phases, > 0.
        c_start: initial (trained) confidence of phase 1, > 0.
        c_reset: confidence phase 2 starts from, > 0.
        epochs: epochs of phase 1, >= 2.
        epochs_reset: epochs of phase 2, >= 2.
        paper_seed: the paper's network, always trained and reported, >= 0.
        search: seeds ``0 .. search - 1`` trained alongside, >= 0.
        snapshot_every: epochs between parameter snapshots (the ``c`` trajectory and the
            flows), in 1..min(epochs, epochs_reset).
        last: final epochs of the stuck and recovered criteria, in 1..min(epochs,
            epochs_reset).
        flat_ratio: "practically zero" gradient: median at the end / peak, in (0, 1).
        init: the initial weights (:func:`ghostlearn.rnn.init_params`); ``"paper"``
            draws the original script's weights, seed for seed.
        devices: XLA devices the training runs on, >= 1.
    """

    N: int = 100
    lr: float = 0.02
    c_start: float = 10.0
    c_reset: float = 1.0
    epochs: int = 10_000
    epochs_reset: int = 10_000
    paper_seed: int = 40
    search: int = 20
    snapshot_every: int = 10
    last: int = 50
    flat_ratio: float = 1e-3
    init: str = "paper"
    devices: int = 1

    def __post_init__(self) -> None:
        _validate.at_least("N", self.N, 1)
        for name in ("lr", "c_start", "c_reset", "flat_ratio"):
            _validate.positive(name, getattr(self, name))
        if self.flat_ratio >= 1:
            raise ValueError(f"flat_ratio must be < 1, got {self.flat_ratio}")
        _validate.at_least("epochs", self.epochs, 2)
        _validate.at_least("epochs_reset", self.epochs_reset, max(2, RECOVERY_LAST))
        _validate.at_least("devices", self.devices, 1)
        _validate.at_least("paper_seed", self.paper_seed, 0)
        _validate.at_least("search", self.search, 0)
        shortest = min(self.epochs, self.epochs_reset)
        for name in ("snapshot_every", "last"):
            value = getattr(self, name)
            _validate.at_least(name, value, 1)
            if value > shortest:
                raise ValueError(f"{name} must be <= the shorter phase ({shortest}), got {value}")
        _validate.one_of("init", self.init, INITS)


def config(fidelity: Fidelity) -> Config:
    """The paper's epochs at both fidelities; quick searches seeds 0-9 instead of 0-19."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    return Config() if fidelity == "paper" else Config(search=10)


def _pick(stuck: np.ndarray, seeds: list[int], cfg: Config) -> tuple[int, str]:
    """The shown network's index in the batch and why: the paper seed (index 0) if it got
    stuck, else the lowest stuck seed, else the paper seed."""
    if stuck[0]:
        return 0, f"seed {cfg.paper_seed} got stuck with a trained c"
    if stuck.any():
        shown = int(np.flatnonzero(stuck)[0])
        return shown, (
            f"seed {cfg.paper_seed} did not get stuck here; seed {seeds[shown]} is the lowest "
            f"stuck seed of the batch (seeds 0-{cfg.search - 1})"
        )
    return 0, f"no network of the batch got stuck; showing seed {cfg.paper_seed}"


def _population(p1: xr.Dataset, p2: xr.Dataset, cfg: Config) -> xr.Dataset:
    """Every network's metrics over both phases and its outcomes (see :func:`run`)."""
    acc1 = p1["accuracy"].values
    stuck = outcomes.stuck(acc1, last=cfg.last)
    acc2 = p2["accuracy"].values
    recovered = outcomes.recovered(acc2, last=RECOVERY_LAST, threshold=RECOVERY_THRESHOLD)
    recovered_lenient = np.max(acc2[:, -cfg.last :], axis=1) > 0.5
    g1 = p1["grad_norm"].values.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        grad_ratio = np.median(g1[:, -cfg.last :], axis=1) / np.nanmax(g1, axis=1)
    metrics = ["loss", "accuracy", "grad_norm"]
    parts = [p[metrics].drop_vars("snapshot", errors="ignore") for p in (p1, p2)]
    # coords (seed, lr, c, rank) from phase 1: c there is the starting confidence
    pop = xr.concat(parts, dim="epoch", coords="minimal", compat="override")
    pop["c_phase1"] = ("net", p1["c_final"].values)
    pop["c_phase2"] = ("net", p2["c_final"].values)
    pop["learned"] = ("net", outcomes.learned(acc1))
    pop["stuck"] = ("net", stuck)
    pop["grad_ratio_phase1"] = (
        "net",
        grad_ratio,
        {"long_name": f"median gradient norm over the last {cfg.last} epochs / peak, phase 1"},
    )
    pop["recovered"] = (
        "net",
        recovered,
        {
            "long_name": f"accuracy >= {RECOVERY_THRESHOLD:g} at each of the last "
            f"{RECOVERY_LAST} epochs of phase 2"
        },
    )
    pop["recovered_lenient"] = (
        "net",
        recovered_lenient,
        {"long_name": f"max accuracy over the last {cfg.last} epochs of phase 2 > 0.5"},
    )
    return pop


def run(cfg: Config, progress: Progress | None = None) -> xr.DataTree:
    """Train phase 1 and phase 2 for the whole batch; keep the shown networks in full.

    Progress is reported in network-epochs.

    Returns:
        DataTree with groups ``phase1`` and ``phase2`` (one-network
        :func:`ghostlearn.train.train` Datasets with snapshots: the shown network),
        ``phase1_points``, ``phase2_points``
        (:func:`ghostlearn.experiments.rank1.points_dataset`),
        ``paper_seed_phase1``/``paper_seed_phase2`` (when the paper seed is not the one
        shown), and ``population`` (dims ``net``, ``epoch`` over both phases: ``loss``,
        ``accuracy``, ``grad_norm``; per net ``c_phase1``, ``c_phase2`` (final values),
        ``learned``, ``stuck``, ``grad_ratio_phase1`` (after phase 1), ``recovered`` and
        ``recovered_lenient`` (after phase 2)). Root attrs: ``init``, ``seed``,
        ``seed_reason``.
    """
    init = resolve_init(cfg.init)
    model = RNNConfig(model="rank1", N=cfg.N, train_c=True)
    seeds = [cfg.paper_seed, *(s for s in range(cfg.search) if s != cfg.paper_seed)]
    P = len(seeds)
    total = P * (cfg.epochs + cfg.epochs_reset)

    def stage(offset: int) -> Any:
        if progress is None:
            return None
        return lambda done, _n: progress(offset + done * P, total)

    p1 = train(
        model, seeds=seeds, lr=cfg.lr, c=cfg.c_start, epochs=cfg.epochs,
        snapshot_every=cfg.snapshot_every, init=init, devices=cfg.devices, progress=stage(0),
    )  # fmt: skip
    params = params_from_dataset(p1)
    params["c"] = np.full_like(params["c"], cfg.c_reset)
    p2 = train(
        model, seeds=seeds, lr=cfg.lr, epochs=cfg.epochs_reset, params=params,
        epoch_offset=cfg.epochs, snapshot_every=cfg.snapshot_every, devices=cfg.devices,
        progress=stage(P * cfg.epochs),
    )  # fmt: skip
    pop = _population(p1, p2, cfg)
    shown, reason = _pick(pop["stuck"].values, seeds, cfg)
    groups: dict[str, xr.Dataset] = {"phase1": single(p1, shown), "phase2": single(p2, shown)}
    groups["phase1_points"] = points_dataset(analyze_dataset(p1, nets=[shown])[0])
    groups["phase2_points"] = points_dataset(analyze_dataset(p2, nets=[shown])[0])
    if shown != 0:
        groups["paper_seed_phase1"] = single(p1, 0)
        groups["paper_seed_phase2"] = single(p2, 0)
    groups["population"] = pop
    if progress is not None:
        progress(total, total)
    tree = xr.DataTree.from_dict(groups)
    tree.attrs.update(init=init, seed=int(seeds[shown]), seed_reason=reason)
    return tree


@dataclasses.dataclass(frozen=True, kw_only=True)
class CTrajectory:
    """The trained confidence over both phases, at the snapshots and after each phase's
    last update.

    Attributes:
        epoch: the epochs.
        c: ``c`` at each of them.
    """

    epoch: list[int]
    c: list[float]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PhaseOutcome:
    """One network through both phases (the rules of the module docstring).

    Attributes:
        seed: the network's seed.
        learned_phase1: it learned in phase 1 (max accuracy > 0.5).
        stuck_phase1: it ended phase 1 stuck in the no-learning zone.
        max_accuracy_last_phase1: max accuracy over the last ``last`` epochs of phase 1.
        grad_norm_peak_phase1: peak gradient norm of phase 1.
        grad_norm_end_phase1: median gradient norm over the last ``last`` epochs of
            phase 1.
        grad_ratio_end_to_peak_phase1: their ratio; None with a zero peak.
        c_start: ``c`` before the first update.
        c_end_phase1: ``c`` after phase 1.
        c_range_phase1: the least and the largest ``c`` of phase 1.
        c_reset: ``c`` phase 2 starts from.
        c_end_phase2: ``c`` after phase 2.
        c_range_phase2: the least and the largest ``c`` of phase 2.
        final_accuracy_phase2: accuracy at the last epoch of phase 2.
        max_accuracy_last_phase2: max accuracy over the last ``last`` epochs of phase 2.
        first_epoch_accuracy_above_half_phase2: the first epoch of phase 2 with accuracy
            > 0.5; None if none.
        final_loss_phase2: loss at the last epoch of phase 2.
        recovered: recovered after the reset (the strict rule).
        recovered_lenient: no longer stuck after phase 2 (the lenient rule).
    """

    seed: int
    learned_phase1: bool
    stuck_phase1: bool
    max_accuracy_last_phase1: float
    grad_norm_peak_phase1: float
    grad_norm_end_phase1: float
    grad_ratio_end_to_peak_phase1: float | None
    c_start: float
    c_end_phase1: float
    c_range_phase1: tuple[float, float]
    c_reset: float
    c_end_phase2: float
    c_range_phase2: tuple[float, float]
    final_accuracy_phase2: float
    max_accuracy_last_phase2: float
    first_epoch_accuracy_above_half_phase2: int | None
    final_loss_phase2: float
    recovered: bool
    recovered_lenient: bool


@dataclasses.dataclass(frozen=True, kw_only=True)
class Population:
    """Counts over the whole batch; ``*_stuck`` lists have one entry per stuck network.

    Attributes:
        seeds: the batch's seeds, the paper seed first.
        n_nets: networks in the batch.
        n_learned_phase1: networks that learned in phase 1.
        n_stuck_phase1: networks stuck after phase 1.
        n_stuck_recovered: of them, recovered after phase 2 (the strict rule).
        n_stuck_recovered_lenient: of them, no longer stuck after phase 2 (the lenient
            rule).
        n_stuck_flat_gradient: of them, with a practically zero gradient at the end of
            phase 1.
        recovered_rule: the strict rule, in words.
        recovered_lenient_rule: the lenient rule, in words.
        stuck_seeds: the stuck networks' seeds, in batch order.
        c_phase1_stuck: their ``c`` after phase 1.
        c_phase2_stuck: their ``c`` after phase 2.
        grad_ratio_phase1_stuck: their median gradient norm over the last ``last`` epochs
            of phase 1 over its peak (NaN, null in JSON, with a zero peak).
    """

    seeds: list[int]
    n_nets: int
    n_learned_phase1: int
    n_stuck_phase1: int
    n_stuck_recovered: int
    n_stuck_recovered_lenient: int
    n_stuck_flat_gradient: int
    recovered_rule: str
    recovered_lenient_rule: str
    stuck_seeds: list[int]
    c_phase1_stuck: list[float]
    c_phase2_stuck: list[float]
    grad_ratio_phase1_stuck: list[float]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """The measured numbers of the learnable-c experiment: the shown network's phases
    (the fields of :class:`PhaseOutcome`, at the top level), the paper seed's, and the
    batch's counts.

    Attributes:
        init: the initial weights the networks were drawn with.
        paper_seed: the paper's network.
        seed: the shown network.
        seed_reason: why it was picked.
        learned_phase1: the shown network learned in phase 1.
        stuck_phase1: it ended phase 1 stuck.
        max_accuracy_last_phase1: its max accuracy over the last ``last`` epochs of
            phase 1.
        grad_norm_peak_phase1: its peak gradient norm of phase 1.
        grad_norm_end_phase1: its median gradient norm over the last ``last`` epochs of
            phase 1.
        grad_ratio_end_to_peak_phase1: their ratio; None with a zero peak.
        c_start: its ``c`` before the first update.
        c_end_phase1: its ``c`` after phase 1.
        c_range_phase1: the least and the largest ``c`` of its phase 1.
        c_reset: its ``c`` at the start of phase 2.
        c_end_phase2: its ``c`` after phase 2.
        c_range_phase2: the least and the largest ``c`` of its phase 2.
        final_accuracy_phase2: its accuracy at the last epoch of phase 2.
        max_accuracy_last_phase2: its max accuracy over the last ``last`` epochs of
            phase 2.
        first_epoch_accuracy_above_half_phase2: its first epoch of phase 2 with accuracy
            > 0.5; None if none.
        final_loss_phase2: its loss at the last epoch of phase 2.
        recovered: it recovered after the reset (the strict rule).
        recovered_lenient: it was no longer stuck after phase 2 (the lenient rule).
        c_trajectory: the shown network's ``c`` over both phases.
        verdict_phase2: the analysis verdict of its phase 2.
        verdict_phase1: the analysis verdict of its phase 1.
        verdict_phase1_reason: why, in words.
        bifurcations_phase1: its bifurcations in phase 1.
        flat_ratio: the "practically zero" gradient ratio (``cfg.flat_ratio``).
        last: the final epochs of the stuck and recovered criteria (``cfg.last``).
        paper_seed_outcome: the paper's network through both phases.
        population: the batch's counts.
    """

    init: str
    paper_seed: int
    seed: int
    seed_reason: str
    learned_phase1: bool
    stuck_phase1: bool
    max_accuracy_last_phase1: float
    grad_norm_peak_phase1: float
    grad_norm_end_phase1: float
    grad_ratio_end_to_peak_phase1: float | None
    c_start: float
    c_end_phase1: float
    c_range_phase1: tuple[float, float]
    c_reset: float
    c_end_phase2: float
    c_range_phase2: tuple[float, float]
    final_accuracy_phase2: float
    max_accuracy_last_phase2: float
    first_epoch_accuracy_above_half_phase2: int | None
    final_loss_phase2: float
    recovered: bool
    recovered_lenient: bool
    c_trajectory: CTrajectory
    verdict_phase2: str
    verdict_phase1: str
    verdict_phase1_reason: str
    bifurcations_phase1: list[BifurcationRecord]
    flat_ratio: float
    last: int
    paper_seed_outcome: PhaseOutcome
    population: Population


def _c_trajectory(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and values of ``c`` at the snapshots and after the last update."""
    e = np.append(ds["snapshot"].values, ds["epoch"].values[-1] + 1)
    c = np.append(ds["snap_c"].values[0], ds["c_final"].values[0])
    return e.astype(np.int64), c.astype(np.float64)


def _outcome(p1: xr.Dataset, p2: xr.Dataset, cfg: Config) -> tuple[PhaseOutcome, CTrajectory]:
    """One network's outcome through both phases, and its ``c`` trajectory."""
    acc1, acc2 = p1["accuracy"].values[0], p2["accuracy"].values[0]
    g1 = p1["grad_norm"].values[0].astype(np.float64)
    tail2 = float(np.max(acc2[-cfg.last :]))
    above = np.flatnonzero(acc2 > 0.5)
    peak = float(np.nanmax(g1))
    end = float(np.median(g1[-cfg.last :]))
    e1, c1 = _c_trajectory(p1)
    e2, c2 = _c_trajectory(p2)
    outcome = PhaseOutcome(
        seed=int(p1["seed"].values[0]),
        learned_phase1=bool(outcomes.learned(acc1)),
        stuck_phase1=bool(outcomes.stuck(acc1, last=cfg.last)),
        max_accuracy_last_phase1=float(np.max(acc1[-cfg.last :])),
        grad_norm_peak_phase1=peak,
        grad_norm_end_phase1=end,
        grad_ratio_end_to_peak_phase1=end / peak if peak > 0 else None,
        c_start=float(c1[0]),
        c_end_phase1=float(c1[-1]),
        c_range_phase1=(float(c1.min()), float(c1.max())),
        c_reset=float(c2[0]),
        c_end_phase2=float(c2[-1]),
        c_range_phase2=(float(c2.min()), float(c2.max())),
        final_accuracy_phase2=float(acc2[-1]),
        max_accuracy_last_phase2=tail2,
        first_epoch_accuracy_above_half_phase2=(
            int(p2["epoch"].values[above[0]]) if above.size else None
        ),
        final_loss_phase2=float(p2["loss"].values[0, -1]),
        recovered=bool(outcomes.recovered(acc2, last=RECOVERY_LAST, threshold=RECOVERY_THRESHOLD)),
        recovered_lenient=tail2 > 0.5,
    )
    trajectory = CTrajectory(
        epoch=[int(e) for e in np.concatenate([e1, e2])],
        c=[float(c) for c in np.concatenate([c1, c2])],
    )
    return outcome, trajectory


def _population_counts(pop: xr.Dataset, cfg: Config) -> Population:
    """The batch's counts (see :class:`Population`)."""
    stuck = pop["stuck"].values
    flat = pop["grad_ratio_phase1"].values < cfg.flat_ratio
    return Population(
        seeds=[int(s) for s in pop["seed"].values],
        n_nets=int(pop.sizes["net"]),
        n_learned_phase1=int(pop["learned"].sum()),
        n_stuck_phase1=int(stuck.sum()),
        n_stuck_recovered=int((stuck & pop["recovered"].values).sum()),
        n_stuck_recovered_lenient=int((stuck & pop["recovered_lenient"].values).sum()),
        n_stuck_flat_gradient=int((stuck & flat).sum()),
        recovered_rule=f"accuracy >= {RECOVERY_THRESHOLD:g} at each of the last "
        f"{RECOVERY_LAST} epochs of phase 2",
        recovered_lenient_rule=f"max accuracy over the last {cfg.last} epochs of phase 2 > 0.5",
        stuck_seeds=[int(s) for s in pop["seed"].values[stuck]],
        c_phase1_stuck=[float(v) for v in pop["c_phase1"].values[stuck]],
        c_phase2_stuck=[float(v) for v in pop["c_phase2"].values[stuck]],
        grad_ratio_phase1_stuck=[float(v) for v in pop["grad_ratio_phase1"].values[stuck]],
    )


def summarize(data: xr.DataTree, cfg: Config) -> Summary:
    """The shown network's phases, the paper seed's, and the batch's counts."""
    p1, p2 = data["phase1"].to_dataset(), data["phase2"].to_dataset()
    shown, trajectory = _outcome(p1, p2, cfg)
    if "paper_seed_phase1" in data.children:
        paper, _ = _outcome(
            data["paper_seed_phase1"].to_dataset(), data["paper_seed_phase2"].to_dataset(), cfg
        )
    else:
        paper = shown
    ev = run_events(data["phase1_points"].to_dataset())
    return Summary(
        init=data.attrs["init"],
        paper_seed=cfg.paper_seed,
        seed=shown.seed,
        seed_reason=data.attrs["seed_reason"],
        learned_phase1=shown.learned_phase1,
        stuck_phase1=shown.stuck_phase1,
        max_accuracy_last_phase1=shown.max_accuracy_last_phase1,
        grad_norm_peak_phase1=shown.grad_norm_peak_phase1,
        grad_norm_end_phase1=shown.grad_norm_end_phase1,
        grad_ratio_end_to_peak_phase1=shown.grad_ratio_end_to_peak_phase1,
        c_start=shown.c_start,
        c_end_phase1=shown.c_end_phase1,
        c_range_phase1=shown.c_range_phase1,
        c_reset=shown.c_reset,
        c_end_phase2=shown.c_end_phase2,
        c_range_phase2=shown.c_range_phase2,
        final_accuracy_phase2=shown.final_accuracy_phase2,
        max_accuracy_last_phase2=shown.max_accuracy_last_phase2,
        first_epoch_accuracy_above_half_phase2=shown.first_epoch_accuracy_above_half_phase2,
        final_loss_phase2=shown.final_loss_phase2,
        recovered=shown.recovered,
        recovered_lenient=shown.recovered_lenient,
        c_trajectory=trajectory,
        verdict_phase2=run_events(data["phase2_points"].to_dataset()).verdict.label,
        verdict_phase1=ev.verdict.label,
        verdict_phase1_reason=ev.verdict.reason,
        bifurcations_phase1=bifurcation_list(ev),
        flat_ratio=float(cfg.flat_ratio),
        last=cfg.last,
        paper_seed_outcome=paper,
        population=_population_counts(data["population"].to_dataset(), cfg),
    )


_LOSS_C = _style.OKABE_ITO["blue"]
_ACC_C = _style.OKABE_ITO["green"]
_GRAD_C = _style.OKABE_ITO["orange"]
_C_C = _style.OKABE_ITO["vermillion"]
#: Gradient norms of exactly zero are drawn here on the logarithmic axis.
_GRAD_FLOOR = 1e-12


def _reset_line(ax: Any, cfg: Config) -> None:
    """The dash-dotted line where phase 2 starts (``c`` reset), labelled above the axes."""
    ax.axvline(cfg.epochs, color=_style.THEORY, ls="-.", lw=0.8)
    ax.text(cfg.epochs, 1.0, f"c → {cfg.c_reset:g}", transform=ax.get_xaxis_transform(),
            ha="center", va="bottom")  # fmt: skip


def _phase_panels(axs: Sequence[Any], p1: xr.Dataset, p2: xr.Dataset, summary: Summary,
                  cfg: Config) -> None:  # fmt: skip
    """A-C: the shown network's loss and accuracy, gradient norm and ``c`` over both phases."""
    ax_l, ax_g, ax_c = axs
    for ds in (p1, p2):
        e = ds["epoch"].values
        first = ds is p1
        ax_l.plot(e, ds["loss"].values[0], color=_LOSS_C, lw=0.7,
                  label="loss" if first else None)  # fmt: skip
        ax_l.plot(e, ds["accuracy"].values[0], color=_ACC_C, lw=0.7,
                  label="training accuracy" if first else None)  # fmt: skip
        g = np.maximum(ds["grad_norm"].values[0].astype(np.float64), _GRAD_FLOOR)
        ax_g.plot(e, g, color=_GRAD_C, lw=0.7)
    ax_l.axhline(0.5, color=_style.GREY, ls=":", lw=0.8)
    ax_l.set_ylim(-0.03, 1.05)
    ax_l.set_ylabel("loss, accuracy")
    ax_g.set_yscale("log")
    ax_g.set_ylabel("gradient norm")
    traj = summary.c_trajectory
    ax_c.plot(traj.epoch, traj.c, color=_C_C, lw=1.0)
    if np.min(traj.c) > 0:
        ax_c.set_yscale("log")
    ax_c.set_ylabel("confidence c (trained)")
    for ax, letter in ((ax_l, "A"), (ax_g, "B"), (ax_c, "C")):
        _reset_line(ax, cfg)
        _style.epoch_ticks(ax, nbins=3)
        _style.panel_label(ax, letter)
    ax_l.set_xlim(0, cfg.epochs + cfg.epochs_reset)


def _batch_panel(ax_p: Any, pop: xr.Dataset, cfg: Config) -> None:
    """D: every network's highest accuracy over the last epochs of each phase."""
    x = np.arange(pop.sizes["net"])
    e = pop["epoch"].values
    acc = pop["accuracy"].values
    end1 = np.max(acc[:, (e < cfg.epochs) & (e >= cfg.epochs - cfg.last)], axis=1)
    end2 = np.max(acc[:, -cfg.last :], axis=1)
    for i in np.flatnonzero(pop["stuck"].values):
        ax_p.axvspan(i - 0.45, i + 0.45, color=_style.GREY, alpha=0.25, lw=0,
                     label="stuck after phase 1")  # fmt: skip
    ax_p.plot(x, end1, "o", mfc="white", mec=_LOSS_C, ls="none",
              label=f"end of phase 1 (c trained from {cfg.c_start:g})")  # fmt: skip
    ax_p.plot(x, end2, "s", ms=3, color=_C_C, ls="none",
              label=f"end of phase 2 (c reset to {cfg.c_reset:g})")  # fmt: skip
    ax_p.axhline(0.5, color=_style.GREY, ls=":", lw=0.8)
    ax_p.set_xticks(x, [str(s) for s in pop["seed"].values], rotation=90)
    ax_p.set_xlim(-0.7, x[-1] + 0.7)
    ax_p.set_xlabel("seed")
    ax_p.set_ylabel(f"max accuracy, last {cfg.last:,} epochs")
    bottom = min(0.45, float(np.min([end1, end2])) - 0.05)
    ax_p.set_ylim(bottom, 1.32)  # the room above 1 holds the legend
    ax_p.set_yticks(np.arange(np.ceil(bottom * 10), 10.5) / 10)
    handles, labels = ax_p.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax_p.legend(unique.values(), unique.keys(), loc="upper left", frameon=True,
                facecolor="white", edgecolor="none", framealpha=1.0)  # fmt: skip
    _style.panel_label(ax_p, "D")


def _flow_panel(ax_f: Any, data: xr.DataTree, p1: xr.Dataset, p2: xr.Dataset) -> set[int]:
    """E: the shown network's latent flows at the ends of both phases; returns the
    stability codes drawn (:func:`ghostlearn.experiments.rank1.marker_key`)."""
    e1, e2 = int(p1["snapshot"].values[-1]), int(p2["snapshot"].values[-1])
    flows = [
        rank1.FlowSnapshot(ds=p1, points=data["phase1_points"].to_dataset(), epoch=e1,
                           label=f"end of phase 1 (epoch {e1:,})"),
        rank1.FlowSnapshot(ds=p2, points=data["phase2_points"].to_dataset(), epoch=e2,
                           label=f"end of phase 2 (epoch {e2:,})"),
    ]  # fmt: skip
    drawn = rank1.draw_flows(ax_f, flows)
    _style.panel_label(ax_f, "E")
    return drawn


def plot(data: xr.DataTree, summary: Summary, cfg: Config) -> Figure:
    """A-C: the representative network's loss and accuracy, gradient norm and ``c`` over
    both phases; D: every network's accuracy at the end of each phase; E: the latent
    flows at the ends of both phases."""
    p1, p2 = data["phase1"].to_dataset(), data["phase2"].to_dataset()
    fig = _style.figure(5.4)
    gs = fig.add_gridspec(2, 6)
    ax_l = fig.add_subplot(gs[0, 0:2])
    ax_g = fig.add_subplot(gs[0, 2:4], sharex=ax_l)
    ax_c = fig.add_subplot(gs[0, 4:6], sharex=ax_l)
    _phase_panels((ax_l, ax_g, ax_c), p1, p2, summary, cfg)
    _batch_panel(fig.add_subplot(gs[1, 0:3]), data["population"].to_dataset(), cfg)
    drawn = _flow_panel(fig.add_subplot(gs[1, 3:6]), data, p1, p2)
    thr = float(model_from_dataset(p1).kappa_thr)
    key = [
        Line2D([], [], color=_LOSS_C, lw=0.8, label="loss"),
        Line2D([], [], color=_ACC_C, lw=0.8, label="training accuracy"),
        Line2D([], [], color=_style.GREY, ls=":", lw=0.8, label="accuracy 0.5"),
        Line2D([], [], color=_style.THEORY, ls="-.", lw=0.8,
               label=f"c reset to {cfg.c_reset:g}"),
        *rank1.marker_key(thr, drawn),
    ]  # fmt: skip
    fig.legend(handles=key, loc="outside lower center", ncol=4)
    return fig


def caption(summary: Summary, cfg: Config) -> str:
    """The figure's caption, written like the paper's, with this run's parameters."""
    s = summary
    pop = s.population
    model = RNNConfig(model="rank1", N=cfg.N)
    return (
        "A rank-one RNN whose confidence c is trained too still gets stuck in the "
        "no-learning zone; resetting c lets it learn again. The paper states the first part "
        "in words only (data not shown), so every panel here is ghostlearn's. "
        f"Phase 1: N = {cfg.N} neurons, c trained from c = {cfg.c_start:g}, plain gradient "
        f"descent with the learning rate α = {cfg.lr:g} for {cfg.epochs:,} epochs. Phase 2: "
        f"c reset to {cfg.c_reset:g} (dash-dotted line) and {cfg.epochs_reset:,} more epochs, c "
        f"still trained. A-C. The representative network, seed {s.seed}. "
        f"{s.seed_reason[:1].upper()}{s.seed_reason[1:]}. Loss and training accuracy (dotted: accuracy 0.5), gradient norm (a norm of 0 is drawn at "
        f"{_GRAD_FLOOR:g}) and c (from snapshots every {cfg.snapshot_every:,} epochs) over "
        f"both phases. D. All {pop.n_nets} networks ({rank1.seed_list(pop.seeds)}; the "
        f"paper's seed is {cfg.paper_seed}): the highest training accuracy over the last "
        f"{cfg.last:,} epochs of each phase; grey: stuck after phase 1 (learned, then "
        f"accuracy <= 0.5 over the last {cfg.last:,} epochs), {pop.n_stuck_phase1} of "
        f"{pop.n_nets}, of which {pop.n_stuck_recovered} recovered "
        f"({pop.recovered_rule}). E. The representative's latent flow f(κ) = τ dκ/dt at "
        "the ends of both phases; red dots: κ(0), where every trial starts; filled and open "
        "circles: stable and unstable fixed points; diamonds: ghosts (minima of |f| that are "
        "not roots); dashed line: the readout threshold. Epochs counted from 0 (epoch e: the "
        f"network after e updates). Parameters: τ = {model.tau:g} ms, Δt = {model.dt:g} ms, "
        f"T = {model.T:g} ms, x(0) = {model.x0:g}; initial weights '{s.init}'."
    )


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """The paper's statement on a trained confidence, and the recovery after the reset, as
    population statements over the batch (the paper's seed reported beside them)."""
    s = summary
    p = s.paper_seed_outcome
    pop = s.population
    n, k = pop.n_nets, pop.n_stuck_phase1
    paper_seed = (
        f"seed {cfg.paper_seed} (init {s.init}): learned {p.learned_phase1}, stuck "
        f"{p.stuck_phase1}, c after phase 1 {p.c_end_phase1:.3g}"
    )
    flat: Outcome
    recovery: Outcome
    reason_flat = reason_recovery = f"none of the {n} networks got stuck in phase 1"
    if k == 0:
        flat = recovery = {"skip": "no stuck network"}
    else:
        flat = {"reproduced": pop.n_stuck_flat_gradient == k}
        reason_flat = (
            "every stuck network must have a median gradient norm over the last "
            f"{cfg.last} epochs of phase 1 < {cfg.flat_ratio:g} x its peak"
        )
        recovery = {"reproduced": pop.n_stuck_recovered >= 0.5 * k}
        reason_recovery = (
            f"at least half of the stuck networks must recover: {pop.recovered_rule} "
            f"(lenient: {pop.recovered_lenient_rule})"
        )
    return [
        Claim(
            figure=NAME,
            claim="With c trained too (from c = 10, lr = 0.02), networks still get stuck "
            "in the no-learning zone",
            paper="another network, in which c was trainable, still got stuck",
            measured={
                "stuck": f"{k} of {n}",
                "stuck_seeds": pop.stuck_seeds,
                "c_end_of_stuck": pop.c_phase1_stuck,
                "paper_seed": paper_seed,
            },
            reproduced=k >= 1,
            reason=f"at least one of the {n} networks (seeds {pop.seeds}) must be stuck: "
            "learned, then max accuracy over the last "
            f"{cfg.last} epochs <= 0.5. The paper reports one network; training is chaotic, "
            "so a census replaces a single seed",
        ),
        Claim(
            figure=NAME,
            claim="Stuck with a trained c, the gradient is practically zero: c cannot move either",
            paper="no-learning zone (practically zero gradient)",
            measured={
                "flat": f"{pop.n_stuck_flat_gradient} of {k} stuck",
                "grad_ratio_of_stuck": pop.grad_ratio_phase1_stuck,
                "c_end_of_stuck": pop.c_phase1_stuck,
            },
            reason=reason_flat,
            **flat,
        ),
        Claim(
            figure=NAME,
            claim="Resetting c to 1 and training 10k more epochs lets the stuck networks "
            "learn again",
            paper="lowering the confidence lets stuck networks re-learn (Fig. 4; the authors' "
            "code: c reset to 1, 10k more epochs)",
            measured={
                "recovered": f"{pop.n_stuck_recovered} of {k} stuck",
                "recovered_lenient": f"{pop.n_stuck_recovered_lenient} of {k} stuck",
                "c_end_of_stuck": pop.c_phase2_stuck,
                "paper_seed_recovered": p.recovered if p.stuck_phase1 else None,
            },
            reason=reason_recovery,
            **recovery,
        ),
    ]
