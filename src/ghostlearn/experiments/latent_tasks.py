"""Beyond the paper: abrupt learning of the authors' later tasks, DCDT and DMTS, in rank-two
networks, with a verdict per network.

The paper explains abrupt learning of its delayed-activation task by a ghost: a slow region
of the latent flow that appears without a bifurcation. The authors' later experiments train
low-rank networks on two tasks with an input channel, the delayed cue task (DCDT: report
the sign of a cue after a delay) and delayed match-to-sample (DMTS: do two pulses a delay
apart have the same sign?); see ``docs/tasks.md`` and :mod:`ghostlearn.tasks.pulses`. These
studies (experiments ``dcdt`` and ``dmts``) ask the paper's question of them: when such a
network learns, is the fall of its loss abrupt, and is it ghost-mediated,
bifurcation-mediated or neither?

Networks: rank ``K = 2`` (``RNNConfig(model="lowrank", rank=2, N=100)``, ``dt = 5`` ms,
``tau = 10`` ms), the tasks' defaults (latent readout ``o = tanh(w_out . kappa + b_out)``,
initial states ``tanh(0.3 xi)`` drawn afresh every epoch, every step scored), initial
weights ``init="numpy"`` with seeds ``0 .. n_seeds - 1``, every condition every epoch, on
every local XLA device (the ``ghostlearn`` command makes one per core).

- Paper fidelity: plain gradient descent at the authors' learning rate 1e-3 for 110k
  epochs, a snapshot every 100. Measured with these settings: DCDT networks that learn do
  so between epochs 6.7k and 16.7k (6 of 20 by 30k; 4 by 12k), the others sit on the
  plateau of a zero output (loss 10/22); no DMTS network learned within 30k epochs (loss
  0.11-0.16, accuracy 0.78, still falling slowly). 110k epochs is several times the DCDT
  learners' horizon and leaves DMTS room; a census at 30k would count DCDT's late
  learners as failures.
- Quick fidelity: Adam at 1e-3 for 2 500 epochs, a snapshot every 10. Plain gradient
  descent learns too slowly for a quick run; Adam learns within a few thousand epochs
  (DCDT learners at epochs 640-3 600, DMTS 1 500-3 100, measured over 5 000 and 4 000
  epochs), faster and with a noisier loss, so the quick census is a census of
  Adam-trained networks, not a preview of the paper-fidelity one. Adam's updates differ
  in the last bits between XLA device counts and training amplifies that: the quick
  census depends on the number of cores (the counts are what reproduce), plain gradient
  descent's does not.

Per network (:func:`census_dataset`):

- *learned*: in some window of :data:`WINDOW` consecutive epochs, at least half of the
  epochs have accuracy >= :data:`SOLVED_ACCURACY` (a running median >= 0.9; the accuracy
  of a zero output is 12/22 = 0.55 for DCDT and that of answering 0.5 in every reaction
  period 0.79 for DMTS); its *learning epoch* is the last epoch of the first such window;
  *solved* is the same rule on the last window of the run (:func:`learning_epochs`);
- the verdict of :func:`ghostlearn.analysis.analyze_dataset` on its snapshots (flows under
  no input, ``u = 0``: the flow of the delays), with ``VerdictRules(solved_accuracy=0.9)``:
  a run counts as unsolved at the end when its best accuracy over the last 50 epochs is
  <= 0.9 (the default 0.5 is the delayed-activation task's chance level and would call
  every plateau of these tasks solved). The labels are
  :data:`ghostlearn.analysis.VERDICTS`: ``ghost-mediated``, ``bifurcation-mediated``,
  ``abrupt-unexplained`` (an abrupt drop explained by neither), ``stuck-after-bifurcation``
  and ``no-abrupt-learning`` (no abrupt drop: the loss fell gradually or not at all);
- its first abrupt drop (:func:`ghostlearn.analysis.detect_abrupt_drops`, default
  settings) and the detector-free fall :func:`ghostlearn.outcomes.drop_window` of its
  median-smoothed loss (the shortest stretch holding 75 % of its fall; ``fall_ratio`` =
  that stretch over the epochs before it).

The representative network (:func:`pick_representative`): the first (lowest seed) learner
whose verdict is ``ghost-mediated``; else the first ``bifurcation-mediated`` learner; else
the first ``abrupt-unexplained`` learner; else the first learner; else the first network
with an abrupt drop; else seed 0. Its portraits are before, at and after its first abrupt
drop (:func:`panel_epochs`: ``onset - span``, the middle, ``end + span`` with ``span`` the
drop's duration, at least ``snapshot_every``); for a learner without one, around its
learning epoch (``span`` = :data:`LEARN_SPAN` of the run); otherwise at the first, middle
and last snapshot. With plain gradient descent the window ``[onset - 2 span, end + 2 span]``
is trained again from the snapshot before it with a snapshot about every
``window / n_fine`` epochs (:func:`refine_window`, :func:`retrain_window`): exact, since the
optimizer has no state (the largest difference of the losses from the population's run is
stored as ``refine_loss_max_abs_diff``; 0 in every run measured), and the network's verdict
is computed again with those snapshots in place of the coarse ones (``verdict_refined``).
Another optimizer's state is not stored, so its run's own snapshots are used (quick
fidelity takes them every 10 epochs for that reason). Each portrait shows the flow under no
input on the latent plane (speed ``|F|``, streamlines), its fixed points by class and
ghosts, the readout boundaries ``o = +-0.33`` (where the accuracy binarises the output) and
that epoch's trials, one per condition (the network's own simulation,
:func:`ghostlearn.rnn.run_trial`, from the epoch's initial states).

Cost, measured on a 2-core machine shared with other jobs (load average 3-5), two XLA
devices, an empty compilation cache:

- quick: DCDT 26-41 s (training 14-20 s, census analysis 11-18 s, representative 2-3 s),
  DMTS 42-52 s (training 26-34 s, 14-15 s, 2-3 s), two runs each; ``ghostlearn
  reproduce dcdt dmts`` 91 s with the command's start and the report;
- paper: not run in full. DCDT trained for 12k of the 110k epochs took 135 s (training
  2.4e5 network-epochs in 89 s with compilation, about 3 000 network-epochs/s; census
  analysis of 2 400 snapshots 17 s; the representative's retraining and analysis 29 s);
  DMTS trains at about 55 % of DCDT's rate (30k epochs: 492 s against 270 s). Estimated
  for 110k epochs: DCDT about 15 min, DMTS about 30 min (2.2e6 network-epochs and 22 000
  snapshots each).

Measured, quick fidelity: DCDT 11 of 20 learned (9 solved at the end); verdicts
ghost-mediated 1, bifurcation-mediated 4, stuck-after-bifurcation 1, no-abrupt-learning 14
(6 of them learners: their loss fell without a plateau the detector accepts); the abrupt
drops start at epochs 29-1 484. DMTS 4 of 20 learned, no abrupt drop (20
no-abrupt-learning). A census at 25 epochs per snapshot called the ghost-mediated learner
(seed 4) bifurcation-mediated: a bifurcation in the initial transient whose bracket of
snapshots reached the start of the plateau.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import _validate, outcomes
from ..analysis import RunAnalysis, VerdictRules, analyze_dataset
from ..analysis.events import smoothed_log_loss
from ..analysis.flows import LowRankFlow
from ..analysis.plane import leading_plane, plane_field, plane_limits, readout_values
from ..analysis.plotting import plot_phase_portrait, portrait_legend
from ..analysis.points import DEFAULT_INTERVAL
from ..analysis.slowpoints import STABILITY_CLASSES, SlowPoint, SlowPoints
from ..analysis.verdict import VERDICTS
from ..rnn import RNNConfig, run_trial
from ..store import from_jsonable, to_jsonable
from ..tasks import DMTS, make_task
from ..tasks.base import BINARY_THRESHOLD
from ..train import OPTIMIZERS, params_from_dataset, train
from . import _style, base
from .base import Claim, Fidelity, Progress, stage_progress

__all__ = [
    "POINT_CLASSES",
    "TASKS",
    "Config",
    "NetworkRecord",
    "Representative",
    "Summary",
    "VerdictCensus",
    "caption",
    "census_dataset",
    "claims",
    "condition_labels",
    "config",
    "learning_epochs",
    "merge_snapshots",
    "panel_epochs",
    "pick_representative",
    "plot",
    "refine_window",
    "retrain_window",
    "run",
    "solved_at_end",
    "summarize",
]

#: The two studies: experiment (and task) name -> the task's name in words.
TASKS: dict[str, str] = {
    "dcdt": "delayed cue task (DCDT)",
    "dmts": "delayed match-to-sample task (DMTS)",
}
#: Accuracy that counts as solving the task.
SOLVED_ACCURACY = 0.9
#: Epochs of the running window of the "learned" and "solved" rules (and the verdict's tail).
WINDOW = 50
#: "Most": a share of the networks above this.
MOST = 0.5
#: Classes of the points stored with the portraits (codes are positions; -1 pads).
POINT_CLASSES: tuple[str, ...] = (*STABILITY_CLASSES, "ghost")
#: The portraits: before, at and after the representative's drop.
PANELS: tuple[str, ...] = ("before", "at", "after")
#: A learner without an abrupt drop is drawn this share of the run before and after the
#: epoch it learned.
LEARN_SPAN = 0.05
#: Grid points per axis of the portraits' heat maps and streamlines.
PORTRAIT_GRID = 60
#: Figure height, inches (page width).
HEIGHT = 5.6
#: The representative's rule, in order of preference (verdict, learned required).
_PREFERENCE: tuple[tuple[str, str], ...] = (
    ("ghost-mediated", "the first learner whose drop is ghost-mediated"),
    ("bifurcation-mediated", "no ghost-mediated learner; the first bifurcation-mediated one"),
    ("abrupt-unexplained", "no ghost- or bifurcation-mediated learner; the first abrupt one"),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of one study.

    Attributes:
        task: ``"dcdt"`` or ``"dmts"`` (:data:`ghostlearn.tasks.TASKS`, default fields).
        n_seeds: networks, seeds ``0 .. n_seeds - 1``, >= 1.
        N: units per network, >= 2.
        rank: rank ``K`` of the connectivity, >= 2 (portraits need a plane).
        optimizer: ``"sgd"`` (plain gradient descent) or another name of
            :data:`ghostlearn.train.OPTIMIZERS`.
        lr: learning rate, > 0.
        epochs: epochs per network, >= 3 * :data:`WINDOW`.
        snapshot_every: epochs between the snapshots of the census, >= 1 and < epochs.
        n_fine: snapshots across the representative's refined window, >= 3.
        n_starts: random starts of the slow-point finder per snapshot, >= 1.
        devices: XLA devices to train on (``None``: every local device).
    """

    task: str = "dcdt"
    n_seeds: int = 20
    N: int = 100
    rank: int = 2
    optimizer: str = "sgd"
    lr: float = 1e-3
    epochs: int = 110_000
    snapshot_every: int = 100
    n_fine: int = 200
    n_starts: int = 4
    devices: int | None = None

    def __post_init__(self) -> None:
        _validate.one_of("task", self.task, tuple(TASKS))
        _validate.at_least("n_seeds", self.n_seeds, 1)
        _validate.at_least("N", self.N, 2)
        _validate.at_least("rank", self.rank, 2)
        if self.rank > self.N:
            raise ValueError(f"rank must be <= N = {self.N}, got {self.rank}")
        _validate.one_of("optimizer", self.optimizer, OPTIMIZERS)
        _validate.real("lr", self.lr)
        _validate.positive("lr", self.lr)
        _validate.at_least("epochs", self.epochs, 3 * WINDOW)
        _validate.at_least("snapshot_every", self.snapshot_every, 1)
        if self.snapshot_every >= self.epochs:
            raise ValueError(
                f"snapshot_every must be < epochs = {self.epochs}, got {self.snapshot_every}"
            )
        _validate.at_least("n_fine", self.n_fine, 3)
        _validate.at_least("n_starts", self.n_starts, 1)
        if self.devices is not None:
            _validate.at_least("devices", self.devices, 1)

    @property
    def model(self) -> RNNConfig:
        """The networks' configuration."""
        return RNNConfig(model="lowrank", rank=self.rank, N=self.N)

    @property
    def network_epochs(self) -> int:
        """Network-epochs of the population's training."""
        return self.n_seeds * self.epochs


#: Per task and fidelity: the fields that differ from :class:`Config`'s defaults.
_FIDELITY: dict[str, dict[str, dict[str, Any]]] = {
    "dcdt": {
        "paper": {},
        "quick": {"optimizer": "adam", "epochs": 2_500, "snapshot_every": 10},
    },
    "dmts": {
        "paper": {},
        "quick": {"optimizer": "adam", "epochs": 2_500, "snapshot_every": 10},
    },
}


def _quick_optimizer(task: str) -> str:
    """The optimizer of the task's quick fidelity."""
    return str(_FIDELITY[task]["quick"].get("optimizer", Config.optimizer))


def config(fidelity: Fidelity, task: str) -> Config:
    """``"paper"``: plain gradient descent at 1e-3 for 110k epochs, a snapshot every 100.
    ``"quick"``: Adam at 1e-3 for 2 500 epochs, a snapshot every 10."""
    _validate.one_of("fidelity", fidelity, ("quick", "paper"))
    _validate.one_of("task", task, tuple(TASKS))
    return Config(task=task, **_FIDELITY[task][fidelity])


# --------------------------------------------------------------------------------------
# rules on records (pure)


def learning_epochs(
    accuracy: Any, *, threshold: float = SOLVED_ACCURACY, window: int = WINDOW
) -> np.ndarray:
    """The epoch each network learned: the end of its first window of ``window`` epochs in
    which at least half of the epochs have ``accuracy >= threshold``.

    Args:
        accuracy: ``[..., epoch]`` accuracy per epoch (NaN counts as below).
        threshold: the accuracy that counts.
        window: epochs per window, >= 1 (the whole run when it is shorter).

    Returns:
        ``[...]`` epoch indices as floats, NaN where no window qualifies.
    """
    _validate.at_least("window", window, 1)
    acc = np.asarray(accuracy, dtype=float)
    if acc.ndim < 1 or acc.shape[-1] == 0:
        raise ValueError(f"accuracy must have an epoch axis, got shape {acc.shape}")
    w = min(window, acc.shape[-1])
    with np.errstate(invalid="ignore"):
        good = (acc >= threshold).astype(np.int64)
    c = np.cumsum(good, axis=-1)
    pad = np.zeros((*c.shape[:-1], 1), np.int64)
    c = np.concatenate([pad, c], axis=-1)
    counts = c[..., w:] - c[..., :-w]  # [..., E - w + 1]: window ending at epoch j + w - 1
    ok = 2 * counts >= w
    first = np.argmax(ok, axis=-1)
    return np.where(ok.any(axis=-1), (first + w - 1).astype(float), np.nan)


def solved_at_end(
    accuracy: Any, *, threshold: float = SOLVED_ACCURACY, window: int = WINDOW
) -> np.ndarray:
    """Whether at least half of the last ``window`` epochs have ``accuracy >= threshold``."""
    acc = np.asarray(accuracy, dtype=float)
    tail = acc[..., -min(window, acc.shape[-1]) :]
    with np.errstate(invalid="ignore"):
        return 2 * np.sum(tail >= threshold, axis=-1) >= tail.shape[-1]


def pick_representative(verdicts: Sequence[str], learned: Any, has_drop: Any) -> tuple[int, str]:
    """The network the portraits show, by the rule of the module docstring.

    Args:
        verdicts: ``[P]`` verdict labels, in seed order.
        learned: ``[P]`` booleans.
        has_drop: ``[P]`` booleans: an abrupt drop was detected.

    Returns:
        ``(position, rule)``: the network's position and the rule that chose it, in words.
    """
    v = list(verdicts)
    lrn = np.asarray(learned, dtype=bool)
    drop = np.asarray(has_drop, dtype=bool)
    if not (len(v) == lrn.size == drop.size) or not v:
        raise ValueError(
            f"verdicts, learned and has_drop must have one equal length >= 1, got "
            f"{len(v)}, {lrn.size}, {drop.size}"
        )
    for label, rule in _PREFERENCE:
        hits = [i for i, x in enumerate(v) if x == label and lrn[i]]
        if hits:
            return hits[0], rule
    if lrn.any():
        return int(np.argmax(lrn)), "no learner with an abrupt drop; the first learner"
    if drop.any():
        return int(np.argmax(drop)), "no learner; the first network with an abrupt drop"
    return 0, "no learner and no abrupt drop; the first network"


def panel_epochs(
    onset: float, end: float, *, min_span: float, epochs: int
) -> tuple[tuple[float, float, float], tuple[int, int]]:
    """Epochs of the three portraits and the window refined around a drop.

    With ``span = max(end - onset, min_span)``: the portraits are at ``onset - span``,
    ``(onset + end) / 2`` and ``end + span``; the window runs from ``onset - 2 span`` to
    ``end + 2 span``; everything is clipped to ``[0, epochs - 1]``.

    Returns:
        ``((before, at, after), (window_start, window_stop))``, the window's stop exclusive.
    """
    if not (math.isfinite(onset) and math.isfinite(end)) or end < onset:
        raise ValueError(f"onset and end must be finite with end >= onset, got {onset}, {end}")
    _validate.positive("min_span", min_span)
    span = max(end - onset, float(min_span))
    last = float(epochs - 1)

    def clip(x: float) -> float:
        return min(max(x, 0.0), last)

    at = 0.5 * (onset + end)
    panels = (clip(onset - span), clip(at), clip(end + span))
    start = int(math.floor(clip(onset - 2 * span)))
    stop = int(math.ceil(clip(end + 2 * span))) + 1
    return panels, (start, stop)


def refine_window(start: int, stop: int, *, snapshot_every: int, n_fine: int) -> dict[str, int]:
    """How the window ``[start, stop)`` is trained again with fine snapshots.

    Returns:
        ``start``, ``stop``, ``resume`` (the coarse snapshot at or before ``start``, a
        multiple of ``snapshot_every``) and ``every`` (epochs between fine snapshots:
        ``ceil((stop - start) / n_fine)``, >= 1).
    """
    if not 0 <= start < stop:
        raise ValueError(f"the window must have 0 <= start < stop, got [{start}, {stop})")
    _validate.at_least("snapshot_every", snapshot_every, 1)
    _validate.at_least("n_fine", n_fine, 1)
    every = max(1, -(-(stop - start) // n_fine))
    resume = (start // snapshot_every) * snapshot_every
    return {"start": start, "stop": stop, "resume": resume, "every": every}


# --------------------------------------------------------------------------------------
# run


def census_dataset(ds: xr.Dataset, population: Sequence[RunAnalysis]) -> xr.Dataset:
    """One record per network, from its training Dataset and its analysis.

    Returns:
        Dataset over ``net`` (coordinate ``seed``): ``verdict``, ``reason`` (strings),
        ``learned``, ``solved``, ``has_drop`` (booleans), ``learn_epoch``, ``drop_onset``,
        ``drop_end``, ``plateau_start``, ``drop_decades``, ``ghost_epoch``, ``fall_start``,
        ``fall_end``, ``fall_ratio`` (NaN where absent), ``n_bifurcations``,
        ``max_n_ghosts``, ``final_loss``, ``final_accuracy``; and ``loss``, ``accuracy``
        over ``(net, epoch)``.
    """
    loss = np.asarray(ds["loss"].values, dtype=np.float64)
    acc = np.asarray(ds["accuracy"].values, dtype=np.float64)
    learn = learning_epochs(acc)
    solved = solved_at_end(acc)
    rows: dict[str, list[Any]] = {k: [] for k in (
        "verdict", "reason", "drop_onset", "drop_end", "plateau_start", "drop_decades",
        "ghost_epoch", "fall_start", "fall_end", "fall_ratio", "n_bifurcations",
        "max_n_ghosts", "final_loss", "final_accuracy",
    )}  # fmt: skip
    for i, ra in enumerate(population):
        s = ra.summary()
        for key, name in (
            ("verdict", "verdict"), ("reason", "reason"), ("drop_onset", "drop_onset_epoch"),
            ("drop_end", "drop_end_epoch"), ("plateau_start", "plateau_start_epoch"),
            ("drop_decades", "drop_decades"), ("ghost_epoch", "verdict_ghost_epoch"),
            ("n_bifurcations", "n_bifurcations"), ("max_n_ghosts", "max_n_ghosts"),
            ("final_loss", "final_loss"), ("final_accuracy", "final_accuracy"),
        ):  # fmt: skip
            rows[key].append(s[name])
        fall = _fall(loss[i])
        rows["fall_start"].append(np.nan if fall is None else fall.start)
        rows["fall_end"].append(np.nan if fall is None else fall.end)
        rows["fall_ratio"].append(np.nan if fall is None else fall.ratio)
    epochs = np.asarray(ds["epoch"].values)
    onset = np.asarray(rows["drop_onset"], dtype=float)
    return xr.Dataset(
        {
            "verdict": ("net", np.asarray(rows["verdict"], dtype=str)),
            "reason": ("net", np.asarray(rows["reason"], dtype=str)),
            "learned": (
                "net",
                np.isfinite(learn),
                {
                    "long_name": "learned (running median "
                    f"accuracy >= {SOLVED_ACCURACY:g} over {WINDOW} epochs)"
                },
            ),
            "solved": ("net", solved, {"long_name": "solved over the last epochs"}),
            "has_drop": ("net", np.isfinite(onset), {"long_name": "an abrupt drop"}),
            "learn_epoch": ("net", np.where(np.isfinite(learn), epochs[0] + learn, np.nan)),
            **{
                k: ("net", np.asarray(rows[k], dtype=float))
                for k in (
                    "drop_onset",
                    "drop_end",
                    "plateau_start",
                    "drop_decades",
                    "ghost_epoch",
                    "fall_start",
                    "fall_end",
                    "fall_ratio",
                    "final_loss",
                    "final_accuracy",
                )
            },
            "n_bifurcations": ("net", np.asarray(rows["n_bifurcations"], dtype=np.int64)),
            "max_n_ghosts": ("net", np.asarray(rows["max_n_ghosts"], dtype=np.int64)),
            "loss": (("net", "epoch"), loss.astype(np.float32)),
            "accuracy": (("net", "epoch"), acc.astype(np.float32)),
        },  # fmt: skip
        coords={
            "net": np.arange(loss.shape[0]),
            "seed": ("net", np.asarray(ds["seed"].values)),
            "epoch": epochs,
        },  # fmt: skip
    )


def _fall(loss: np.ndarray) -> outcomes.DropWindow | None:
    """The detector-free fall of a loss curve, on its median-smoothed version."""
    y = np.asarray(loss, dtype=np.float64)
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return None
    smooth = 10.0 ** smoothed_log_loss(y[ok])
    return outcomes.drop_window(smooth, epochs=np.flatnonzero(ok).astype(float))


def _drop_of(census: xr.Dataset, i: int, cfg: Config) -> tuple[float, float, str, float] | None:
    """The representative's drop: ``(onset, end, kind, min_span)``, or None.

    Its first abrupt drop (``min_span = snapshot_every``); else, for a learner, its learning
    epoch as a point (``min_span`` = :data:`LEARN_SPAN` of the run, at least
    ``snapshot_every``); else None."""
    rec = census.isel(net=i)
    if bool(rec["has_drop"]):
        onset, end = float(rec["drop_onset"]), float(rec["drop_end"])
        return onset, end, "abrupt drop", float(cfg.snapshot_every)
    if bool(rec["learned"]):
        learn = float(rec["learn_epoch"])
        span = max(float(cfg.snapshot_every), LEARN_SPAN * cfg.epochs)
        return learn, learn, "learning epoch (no abrupt drop)", span
    return None


def merge_snapshots(ds: xr.Dataset, net: int, fine: xr.Dataset | None) -> xr.Dataset:
    """Network ``net`` of ``ds`` with the fine snapshots of ``fine`` (one network) inside
    their span replacing the coarse ones there; the metrics stay those of ``ds``."""
    one = ds.isel(net=[net])
    if fine is None or fine.sizes.get("snapshot", 0) == 0:
        return one
    lo, hi = int(fine["snapshot"].values[0]), int(fine["snapshot"].values[-1])
    coarse = one["snapshot"].values
    keep = coarse[(coarse < lo) | (coarse > hi)]
    snap_vars = [str(v) for v in one.data_vars if str(v).startswith("snap_")]
    parts = [one[snap_vars].sel(snapshot=keep), fine[snap_vars].assign_coords(net=one["net"])]
    snaps = xr.concat(parts, dim="snapshot").sortby("snapshot")
    base = one.drop_vars(snap_vars).drop_dims("snapshot")
    return xr.merge([base, snaps], compat="no_conflicts", join="outer").assign_attrs(one.attrs)


def retrain_window(
    ds: xr.Dataset, net: int, cfg: Config, window: dict[str, int]
) -> tuple[xr.Dataset, float]:
    """Network ``net`` trained again up to the window's stop with a snapshot every
    ``window["every"]`` epochs, its snapshots cut to the window; and the largest difference
    of its losses from the population's over the epochs it trained.

    Plain gradient descent only: it resumes from the coarse snapshot ``window["resume"]``,
    exactly, since it has no optimizer state (another optimizer's state is not stored: it
    would have to train the whole run again). The network is trained as one copy per XLA
    device of the population's run (``cfg.devices``, default every local device), so that
    the compiled program splits it as the population's did.

    Raises:
        ValueError: if ``cfg.optimizer`` is not ``"sgd"``.
    """
    if cfg.optimizer != "sgd":
        raise ValueError(
            f"optimizer must be 'sgd' to resume a window exactly, got {cfg.optimizer!r}"
        )
    model, task = cfg.model, make_task(cfg.task)
    seed = int(ds["seed"].values[net])
    n_dev = _devices(cfg)
    resume, every, stop = window["resume"], window["every"], window["stop"]
    one = params_from_dataset(ds.isel(net=[net]), snapshot=resume)
    params = {k: np.repeat(v, n_dev, axis=0) for k, v in one.items()}
    fine = train(model, task=task, seeds=[seed] * n_dev, lr=cfg.lr, epochs=stop - resume,
                 optimizer="sgd", params=params, epoch_offset=resume, snapshot_every=every,
                 devices=n_dev)  # fmt: skip
    fine = fine.isel(net=[0])
    ref = ds["loss"].isel(net=net).sel(epoch=fine["epoch"].values).values
    diff = float(np.max(np.abs(fine["loss"].values[0].astype(np.float64) - ref)))
    snaps = fine["snapshot"].values
    return fine.sel(snapshot=snaps[snaps >= window["start"]]), diff


def _devices(cfg: Config) -> int:
    """The XLA devices the population trains on: ``cfg.devices``, else every local one."""
    import jax

    return int(cfg.devices or len(jax.local_devices()))


def _portraits(
    one: xr.Dataset, ra: RunAnalysis, cfg: Config, epochs: Sequence[float], labels: Sequence[str]
) -> xr.Dataset:
    """Parameters, points and condition trajectories at the snapshots nearest ``epochs``."""
    model, task = cfg.model, make_task(cfg.task)
    trials = task.checked_trials(model)
    se = np.asarray(ra.snapshot_epochs)
    idx = [int(np.argmin(np.abs(se - e))) for e in epochs]
    snap = [int(se[i]) for i in idx]
    seed = int(one["seed"].values[0])
    names = ("M", "Nmat", "b", "W_in", "w_out", "b_out")
    params = {k: one[f"snap_{k}"].isel(net=0).sel(snapshot=snap).values for k in names}
    points = ra.points
    assert isinstance(points, SlowPoints)
    width = max(1, int(np.max(points.n_fixed[idx] + points.n_ghosts[idx])))
    K = cfg.rank
    kap = np.full((len(idx), width, K), np.nan)
    cls = np.full((len(idx), width), -1, np.int64)
    spd = np.full((len(idx), width), np.nan)
    C, S = trials.n_trials, trials.n_steps
    traj = np.zeros((len(idx), C, S + 1, K))
    for j, s in enumerate(idx):
        for q, p in enumerate(points[s]):
            kap[j, q] = p.kappa
            cls[j, q] = POINT_CLASSES.index(p.stability or "ghost")
            spd[j, q] = p.speed
        one_params = {k: params[k][j] for k in names}
        x0 = np.asarray(task.epoch_batch(model, seed, snap[j]).x0)
        for c in range(C):
            tr = run_trial(
                one_params, model, trials.inputs[c], x0[c], readout=task.readout_for(model)
            )
            traj[j, c] = np.asarray(tr.kappa, dtype=np.float64)
    panel = np.arange(len(idx))
    return xr.Dataset(
        {
            "epoch": ("panel", np.asarray(snap, np.int64)),
            "M": (("panel", "unit", "k"), params["M"]),
            "Nmat": (("panel", "k", "unit"), params["Nmat"]),
            "b": (("panel", "unit"), params["b"]),
            "W_in": (("panel", "unit", "input"), params["W_in"]),
            "w_out": (("panel", "k"), params["w_out"]),
            "b_out": (("panel",), params["b_out"]),
            "point_kappa": (("panel", "point", "k"), kap),
            "point_class": (("panel", "point"), cls, {"long_name": "class code (POINT_CLASSES)"}),
            "point_speed": (("panel", "point"), spd, {"long_name": "speed |F| at the point"}),
            "trajectory": (
                ("panel", "condition", "step", "k"),
                traj,
                {"long_name": "latent trajectory kappa(t) of each condition"},
            ),
            "inputs": (("condition", "step_in", "input"), trials.inputs),
        },  # fmt: skip
        coords={"panel": panel, "panel_label": ("panel", np.asarray(labels, dtype=str))},
        attrs={"point_classes": list(POINT_CLASSES), "D": model.D},
    )


def run(cfg: Config, progress: Progress | None = None) -> xr.DataTree:
    """Train the population, analyse every network, refine and draw the representative.

    Progress is reported in network-epochs of the population's training.

    Returns:
        DataTree with groups ``census`` (:func:`census_dataset`), ``representative`` (its
        training Dataset: coarse snapshots, the fine ones inside the refined window) and
        ``portraits`` (dims ``panel``, ``point``, ``condition``, ``step``...: the
        parameters, points and trajectories of the three portraits). Root attrs:
        ``train_wall_s``, ``analysis_wall_s`` (the census), ``representative_wall_s`` (its
        retraining, analysis and trials), ``network_epochs``, ``representative`` (a
        JSON-compatible dict: position, seed, rule, drop, window, fine spacing, refined
        verdict).
    """
    start = time.perf_counter()
    model, task = cfg.model, make_task(cfg.task)
    P = cfg.n_seeds
    total = cfg.network_epochs
    ds = train(model, task=task, seeds=np.arange(P), lr=cfg.lr, epochs=cfg.epochs,
               optimizer=cfg.optimizer, snapshot_every=cfg.snapshot_every, devices=_devices(cfg),
               progress=stage_progress(progress, 0, P, total))  # fmt: skip
    trained = time.perf_counter()
    rules = VerdictRules(solved_accuracy=SOLVED_ACCURACY, tail=WINDOW)
    population = analyze_dataset(ds, n_starts=cfg.n_starts, rules=rules)
    census = census_dataset(ds, population)
    analysed = time.perf_counter()
    rep, rule = pick_representative(
        census["verdict"].values.tolist(), census["learned"].values, census["has_drop"].values
    )
    drop = _drop_of(census, rep, cfg)
    info: dict[str, Any] = {
        "net": rep,
        "seed": int(census["seed"].values[rep]),
        "rule": rule,
        "verdict": str(census["verdict"].values[rep]),
        "drop_kind": None if drop is None else drop[2],
        "drop_onset": None if drop is None else drop[0],
        "drop_end": None if drop is None else drop[1],
        "window": None,
        "fine_every": None,
    }
    fine, diff = None, None
    if drop is None:
        se = np.asarray(ds["snapshot"].values, dtype=float)
        panels: tuple[float, ...] = (se[0], se[se.size // 2], se[-1])
        labels: tuple[str, ...] = ("first snapshot", "middle", "last snapshot")
    else:
        panels, (w0, w1) = panel_epochs(drop[0], drop[1], min_span=drop[3], epochs=cfg.epochs)
        labels = PANELS
        window = refine_window(w0, w1, snapshot_every=cfg.snapshot_every, n_fine=cfg.n_fine)
        if cfg.optimizer == "sgd" and window["every"] < cfg.snapshot_every:
            fine, diff = retrain_window(ds, rep, cfg, window)
            info.update(window=[w0, w1], fine_every=window["every"])
    if fine is None:
        one, ra = ds.isel(net=[rep]), population[rep]
    else:
        one = merge_snapshots(ds, rep, fine)
        (ra,) = analyze_dataset(one, n_starts=cfg.n_starts, rules=rules)
    info.update(
        verdict_refined=ra.verdict.label,
        reason_refined=ra.verdict.reason,
        refine_loss_max_abs_diff=diff,
        n_snapshots_refined=int(ra.snapshot_epochs.size),
    )
    portraits = _portraits(one, ra, cfg, panels, labels)
    refined = time.perf_counter()
    if progress is not None:
        progress(total, total)
    root = xr.Dataset(attrs={
        "train_wall_s": round(trained - start, 3),
        "analysis_wall_s": round(analysed - trained, 3),
        "representative_wall_s": round(refined - analysed, 3),
        "network_epochs": total,
        "representative": info,
    })  # fmt: skip
    return xr.DataTree.from_dict(
        {"/": root, "census": census, "representative": one, "portraits": portraits}
    )


# --------------------------------------------------------------------------------------
# summarize


def _count(labels: Sequence[str]) -> dict[str, int]:
    out = dict.fromkeys(VERDICTS, 0)
    for x in labels:
        out[x] = out.get(x, 0) + 1
    return out


def _finite_or_none(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkRecord:
    """One network of the census (:attr:`Summary.networks`); an epoch or a number the
    network does not have (no learning, no abrupt drop, no fall) is ``None``.

    Attributes:
        seed: the network's seed.
        verdict: its verdict, one of :data:`ghostlearn.analysis.VERDICTS`.
        learned: a running median accuracy >= :data:`SOLVED_ACCURACY` over :data:`WINDOW`
            epochs somewhere in the run.
        solved: the same over the last :data:`WINDOW` epochs.
        learn_epoch: the last epoch of the first window that learned.
        drop_onset: onset epoch of its first abrupt drop.
        drop_end: end epoch of that drop.
        plateau_start: start epoch of the plateau before it.
        drop_decades: decades of loss the drop falls.
        fall_start: start epoch of the detector-free fall (75 % of the smoothed loss's fall).
        fall_end: end epoch of that fall.
        fall_ratio: the fall's duration over the epochs before it.
        n_bifurcations: bifurcations of the flow across the snapshots.
        max_n_ghosts: most ghosts in one snapshot.
        final_loss: loss at the last epoch.
        final_accuracy: accuracy at the last epoch.
    """

    seed: int
    verdict: str
    learned: bool
    solved: bool
    learn_epoch: float | None
    drop_onset: float | None
    drop_end: float | None
    plateau_start: float | None
    drop_decades: float | None
    fall_start: float | None
    fall_end: float | None
    fall_ratio: float | None
    n_bifurcations: int
    max_n_ghosts: int
    final_loss: float | None
    final_accuracy: float | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerdictCensus:
    """The census of verdicts, in words and counted (:attr:`Summary.census_verdicts`).

    Attributes:
        text: ``"<learned> of <networks> learned; verdicts ...; among learners: ..."``.
        all: verdict -> networks, every label of :data:`ghostlearn.analysis.VERDICTS`.
        learners: verdict -> networks that learned, every label.
    """

    text: str
    all: dict[str, int]
    learners: dict[str, int]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Representative:
    """The network the portraits show (:func:`pick_representative`) and its refined run.

    Attributes:
        net: its position in the population.
        seed: its seed.
        rule: the rule that chose it, in words.
        verdict: its verdict in the census.
        drop_kind: ``"abrupt drop"``, ``"learning epoch (no abrupt drop)"`` or ``None``
            (neither: the portraits are at the first, middle and last snapshot).
        drop_onset: the drop's onset epoch (the learning epoch without a drop), or None.
        drop_end: the drop's end epoch (the learning epoch without a drop), or None.
        window: ``(start, stop)`` epochs trained again with fine snapshots (stop
            exclusive), or None where the run's own snapshots are used.
        fine_every: epochs between the fine snapshots, or None.
        verdict_refined: its verdict on the snapshots of the portraits' run.
        reason_refined: why, in words.
        refine_loss_max_abs_diff: largest difference of the retrained losses from the
            population's, or None where nothing was trained again.
        n_snapshots_refined: snapshots of the refined verdict.
    """

    net: int
    seed: int
    rule: str
    verdict: str
    drop_kind: str | None
    drop_onset: float | None
    drop_end: float | None
    window: tuple[int, int] | None
    fine_every: int | None
    verdict_refined: str
    reason_refined: str
    refine_loss_max_abs_diff: float | None
    n_snapshots_refined: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary(base.Summary):
    """The measured numbers of one study (``summary.json`` beside the envelope).

    Attributes:
        task: ``"dcdt"`` or ``"dmts"``.
        task_title: the task's name in words (:data:`TASKS`).
        optimizer: the optimizer of the run.
        lr: its learning rate.
        epochs: epochs per network.
        n_seeds: networks in the census.
        N: units per network.
        rank: rank ``K`` of the connectivity.
        snapshot_every: epochs between the census's snapshots.
        n_learned: networks that learned.
        n_solved: networks solved over the last :data:`WINDOW` epochs.
        n_abrupt: networks with an abrupt drop.
        n_abrupt_learners: learners with an abrupt drop.
        learned_seeds: seeds of the learners, increasing.
        verdict_counts: verdict -> networks, every label of
            :data:`ghostlearn.analysis.VERDICTS`.
        verdict_counts_learners: verdict -> learners, every label.
        census_verdicts: the census in words and counted.
        learn_epoch_median: median learning epoch of the learners (None: no learner).
        drop_onset_median: median onset epoch of the learners' abrupt drops (None: none).
        networks: one record per network, in seed order.
        representative: the network of the portraits.
        panel_epochs: epochs of the three portraits (snapshots), increasing.
        panel_labels: their labels (:data:`PANELS`, or first / middle / last snapshot).
        train_wall_time_s: seconds of the population's training.
        analysis_wall_time_s: seconds of the census's analysis.
        representative_wall_time_s: seconds of the representative's retraining, analysis
            and trials.
        network_epochs: network-epochs of the population's training.
        solved_accuracy: the accuracy that counts as solving (:data:`SOLVED_ACCURACY`).
        window: epochs of the running window of the rules (:data:`WINDOW`).
    """

    task: str
    task_title: str
    optimizer: str
    lr: float
    epochs: int
    n_seeds: int
    N: int
    rank: int
    snapshot_every: int
    n_learned: int
    n_solved: int
    n_abrupt: int
    n_abrupt_learners: int
    learned_seeds: tuple[int, ...]
    verdict_counts: dict[str, int]
    verdict_counts_learners: dict[str, int]
    census_verdicts: VerdictCensus
    learn_epoch_median: float | None
    drop_onset_median: float | None
    networks: tuple[NetworkRecord, ...]
    representative: Representative
    panel_epochs: tuple[int, ...]
    panel_labels: tuple[str, ...]
    train_wall_time_s: float
    analysis_wall_time_s: float
    representative_wall_time_s: float
    network_epochs: int
    solved_accuracy: float
    window: int


def summarize(data: xr.DataTree, cfg: Config) -> Summary:
    """Learned counts, the census of verdicts (all networks and learners), the drop epochs,
    the representative network."""
    c = data["census"].to_dataset()
    portraits = data["portraits"].to_dataset()
    verdict = [str(v) for v in c["verdict"].values]
    learned = c["learned"].values.astype(bool)
    has_drop = c["has_drop"].values.astype(bool)
    seeds = c["seed"].values.astype(int)
    # the attribute is JSON-compatible (it is stored as JSON): read it as its type
    rep: Representative = from_jsonable(
        Representative, to_jsonable(data.attrs["representative"]), where="representative"
    )

    def epoch(name: str, i: int) -> float | None:
        return _finite_or_none(c[name].values[i])

    per_net = tuple(
        NetworkRecord(
            seed=int(seeds[i]),
            verdict=verdict[i],
            learned=bool(learned[i]),
            solved=bool(c["solved"].values[i]),
            learn_epoch=epoch("learn_epoch", i),
            drop_onset=epoch("drop_onset", i),
            drop_end=epoch("drop_end", i),
            plateau_start=epoch("plateau_start", i),
            drop_decades=epoch("drop_decades", i),
            fall_start=epoch("fall_start", i),
            fall_end=epoch("fall_end", i),
            fall_ratio=epoch("fall_ratio", i),
            n_bifurcations=int(c["n_bifurcations"].values[i]),
            max_n_ghosts=int(c["max_n_ghosts"].values[i]),
            final_loss=epoch("final_loss", i),
            final_accuracy=epoch("final_accuracy", i),
        )
        for i in range(seeds.size)
    )
    counts = _count(verdict)
    learners = _count([v for v, ok in zip(verdict, learned, strict=True) if ok])
    onsets = c["drop_onset"].values[learned & has_drop]
    learn = c["learn_epoch"].values[learned]
    n, n_learned = int(seeds.size), int(learned.sum())
    text = (
        f"{n_learned} of {n} learned; verdicts "
        + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        + "; among learners: "
        + (", ".join(f"{k} {v}" for k, v in learners.items() if v) or "none")
    )
    return Summary(
        task=cfg.task,
        task_title=TASKS[cfg.task],
        optimizer=cfg.optimizer,
        lr=cfg.lr,
        epochs=cfg.epochs,
        n_seeds=n,
        N=cfg.N,
        rank=cfg.rank,
        snapshot_every=cfg.snapshot_every,
        n_learned=n_learned,
        n_solved=int(c["solved"].values.sum()),
        n_abrupt=int(has_drop.sum()),
        n_abrupt_learners=int((has_drop & learned).sum()),
        learned_seeds=tuple(int(s) for s in seeds[learned]),
        verdict_counts=counts,
        verdict_counts_learners=learners,
        census_verdicts=VerdictCensus(text=text, all=dict(counts), learners=dict(learners)),
        learn_epoch_median=_finite_or_none(np.median(learn)) if learn.size else None,
        drop_onset_median=_finite_or_none(np.median(onsets)) if onsets.size else None,
        networks=per_net,
        representative=rep,
        panel_epochs=tuple(int(e) for e in portraits["epoch"].values),
        panel_labels=tuple(str(x) for x in portraits["panel_label"].values),
        train_wall_time_s=float(data.attrs["train_wall_s"]),
        analysis_wall_time_s=float(data.attrs["analysis_wall_s"]),
        representative_wall_time_s=float(data.attrs["representative_wall_s"]),
        network_epochs=int(data.attrs["network_epochs"]),
        solved_accuracy=SOLVED_ACCURACY,
        window=WINDOW,
    )


# --------------------------------------------------------------------------------------
# plot


#: Colours of the verdicts in the census panel.
_VERDICT_COLOURS = {
    "ghost-mediated": _style.OKABE_ITO["orange"],
    "bifurcation-mediated": _style.OKABE_ITO["blue"],
    "abrupt-unexplained": _style.OKABE_ITO["purple"],
    "stuck-after-bifurcation": _style.OKABE_ITO["yellow"],
    "no-abrupt-learning": _style.GREY,
}
_TRAJ = [_style.OKABE_ITO[k] for k in ("blue", "green", "vermillion", "purple")]


def condition_labels(task: str) -> list[str]:
    """Legend labels of the task's conditions, in the order of its trials."""
    if task == "dcdt":
        return ["cue +1", "cue −1"]
    names = {1: "+", -1: "−"}
    return [f"({names[a]}, {names[b]}) {'match' if a == b else 'non-match'}" for a, b in DMTS.PAIRS]


def _points(p: xr.Dataset) -> list[SlowPoint]:
    out = []
    for kap, code, speed in zip(p["point_kappa"].values, p["point_class"].values,
                                p["point_speed"].values, strict=True):  # fmt: skip
        if code < 0:
            continue
        cls = POINT_CLASSES[int(code)]
        kind = "ghost" if cls == "ghost" else cls.split()[0]
        out.append(SlowPoint(kappa=tuple(float(v) for v in kap), kind=kind, speed=float(speed),
                             eigenvalues=(), stability=cls))  # fmt: skip
    return out


def _flow(p: xr.Dataset) -> LowRankFlow:
    w_in = np.asarray(p["W_in"].values, dtype=np.float64)
    return LowRankFlow(p["M"].values, p["Nmat"].values, p["b"].values, w_in,
                       np.zeros(w_in.shape[-1]))  # fmt: skip


def _portrait_panels(axes: Sequence[Any], portraits: xr.Dataset, task: str) -> list[Any]:
    """Draw the three portraits on one plane, window and colour scale; return legend handles."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    n = portraits.sizes["panel"]
    flows = [_flow(portraits.isel(panel=j)) for j in range(n)]
    pts = [_points(portraits.isel(panel=j)) for j in range(n)]
    traj = portraits["trajectory"].values
    K = flows[0].rank
    data = [traj.reshape(-1, K)] + [np.array([q.kappa for q in ps]).reshape(-1, K) for ps in pts]
    plane = leading_plane(flows[0], data)
    limits = plane_limits(plane, [*data, plane.origin[None]], box=DEFAULT_INTERVAL)
    fields = [plane_field(f, plane, limits, PORTRAIT_GRID) for f in flows]
    lo = min(float(f.speed.min()) for f in fields)
    hi = max(float(f.speed.max()) for f in fields)
    lo = max(lo, 1e-6 * hi, 1e-12)
    hi = max(hi, 10 * lo)
    thr = math.atanh(BINARY_THRESHOLD)
    labels = condition_labels(task)
    classes: list[str] = []
    boundary = False
    for j, ax in enumerate(axes):
        p = portraits.isel(panel=j)
        plot_phase_portrait(flows[j], points=pts[j], plane=plane, limits=limits,
                            n_grid=PORTRAIT_GRID, speed_range=(lo, hi), colorbar=False,
                            legend=False, title="", ax=ax)  # fmt: skip
        field = fields[j]
        w, b0 = p["w_out"].values, float(p["b_out"].values)
        for level in (thr, -thr):
            z = readout_values((w, b0, level), field.points())
            if np.nanmin(z) < 0 < np.nanmax(z):
                ax.contour(field.a, field.b, z, levels=[0.0], colors="black", linewidths=0.9,
                           linestyles="--")  # fmt: skip
                boundary = True
        ab = plane.to_plane(traj[j])
        for c in range(ab.shape[0]):
            color = _TRAJ[c % len(_TRAJ)]
            ax.plot(ab[c, :, 0], ab[c, :, 1], "-", color=color, lw=1.0, zorder=3)
            ax.plot(ab[c, 0, 0], ab[c, 0, 1], "o", mfc="white", mec=color, ms=4, zorder=4)
            ax.plot(ab[c, -1, 0], ab[c, -1, 1], "s", color=color, ms=3.5, zorder=4)
        for q in pts[j]:
            cls = q.stability or "ghost"
            if cls not in classes:
                classes.append(cls)
        label = str(p["panel_label"].values)
        epoch = _style.format_epoch(float(p["epoch"].values))
        ax.text(0.03, 0.97, f"{label}: epoch {epoch}", transform=ax.transAxes, ha="left",
                va="top", fontsize=7, zorder=6,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5})  # fmt: skip
        if not plane.projected:
            ax.set_xlabel("κ₁")
            ax.set_ylabel("κ₂")
        _style.beyond(ax, "flow")
    fig = axes[0].figure
    sm = ScalarMappable(norm=LogNorm(lo, hi), cmap="magma_r")
    fig.colorbar(sm, ax=list(axes), label="speed |F| (no input)", shrink=0.9, pad=0.01)
    handles: list[Any] = [
        Line2D([], [], color=_TRAJ[c % len(_TRAJ)], lw=1.0, label=lab)
        for c, lab in enumerate(labels)
    ]
    handles.append(Line2D([], [], ls="none", marker="o", mfc="white", mec="black", ms=4,
                          label="trial start"))  # fmt: skip
    handles.append(Line2D([], [], ls="none", marker="s", color="black", ms=3.5,
                          label="end of the reaction period"))  # fmt: skip
    if boundary:
        handles.append(Line2D([], [], color="black", ls="--", lw=0.9,
                              label=f"readout o = ±{BINARY_THRESHOLD:g}"))  # fmt: skip
    handles += portrait_legend(classes, trajectory=False, boundary=False)
    for h in handles:
        if h.get_marker() not in ("None", None, "") and h.get_markersize() > 5:
            h.set_markersize(5)
    return handles


def _loss_panel(ax: Any, census: xr.Dataset, summary: Summary) -> None:
    """Loss of every network against the epoch (log-log), the representative highlighted."""
    loss = census["loss"].values.astype(np.float64)
    epochs = census["epoch"].values.astype(np.float64)
    rep = summary.representative.net
    sel = epochs >= 1
    # at most ~2000 points per curve: the median of each bin of log-spaced epochs
    edges = np.unique(np.geomspace(1, epochs[-1] + 1, 2000).astype(np.int64))
    centre, curves = _binned(loss[:, sel], epochs[sel], edges)
    learned = census["learned"].values.astype(bool)
    for i in range(loss.shape[0]):
        if i == rep:
            continue
        color = _style.OKABE_ITO["sky_blue"] if learned[i] else _style.GREY
        ax.plot(centre, curves[i], color=color, lw=0.5, alpha=0.8)
    ax.plot(centre, curves[rep], color=_style.OKABE_ITO["vermillion"], lw=1.3, zorder=4)
    shown = [e for e in summary.panel_epochs if e >= 1]
    for e in shown:
        ax.axvline(e, color=_style.THEORY, ls=":", lw=0.7)
    if shown:
        # one label: on a log axis the three epochs are often too close for three
        mid = math.sqrt(shown[0] * shown[-1])
        text = "A–C" if len(shown) == 3 else "portraits"
        ax.text(mid, 0.98, text, transform=ax.get_xaxis_transform(), ha="center", va="top",
                fontsize=7, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})  # fmt: skip
    onset = census["drop_onset"].values
    has = np.isfinite(onset) & (onset >= 1)
    if has.any():
        at = np.array([np.interp(o, epochs, loss[i]) for i, o in zip(np.flatnonzero(has),
                                                                      onset[has], strict=True)])  # fmt: skip
        ax.plot(onset[has], at, "v", color=_style.THEORY, ms=3.5, zorder=5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    key = [
        Line2D(
            [],
            [],
            color=_style.OKABE_ITO["vermillion"],
            lw=1.3,
            label=f"representative (seed {summary.representative.seed})",
        ),
        Line2D([], [], color=_style.OKABE_ITO["sky_blue"], lw=0.8, label="learned"),
        Line2D([], [], color=_style.GREY, lw=0.8, label="did not learn"),
    ]
    if has.any():
        key.append(Line2D([], [], ls="none", marker="v", color=_style.THEORY, ms=3.5,
                          label="onset of an abrupt drop"))  # fmt: skip
    ax.legend(handles=key, loc="lower left", ncols=2)
    _style.beyond(ax, f"loss of the {summary.n_seeds} networks")


def _binned(
    loss: np.ndarray, epochs: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Median of each curve in each bin ``[edges[i], edges[i+1])`` of epochs (empty bins
    dropped)."""
    which = np.searchsorted(edges, epochs, side="right") - 1
    centre, cols = [], []
    for b in np.unique(which):
        m = which == b
        centre.append(float(np.median(epochs[m])))
        cols.append(np.nanmedian(loss[:, m], axis=1))
    return np.asarray(centre), np.stack(cols, axis=1)


def _census_panel(ax: Any, summary: Summary) -> None:
    """Verdict counts, learners and the others stacked."""
    # "not-determinable" belongs to analyses with too few epochs, never to a training run.
    labels = [k for k in VERDICTS if k != "not-determinable"]
    all_c = np.array([summary.verdict_counts.get(k, 0) for k in labels])
    lrn = np.array([summary.verdict_counts_learners.get(k, 0) for k in labels])
    y = np.arange(len(labels))[::-1]
    colours = [_VERDICT_COLOURS.get(k, _style.GREY) for k in labels]
    ax.barh(y, lrn, color=colours, edgecolor="black", lw=0.4)
    ax.barh(y, all_c - lrn, left=lrn, color="white", edgecolor=colours, hatch="////", lw=0.6)
    for yi, n in zip(y, all_c, strict=True):
        ax.text(n + 0.2, yi, str(int(n)), va="center", fontsize=7)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, max(1, int(all_c.max())) * 1.25 + 0.5)
    ax.set_xlabel(f"networks ({summary.n_learned} of {summary.n_seeds} learned)")
    ax.legend(handles=[Patch(facecolor=_style.GREY, edgecolor="black", label="learned"),
                       Patch(facecolor="white", edgecolor=_style.GREY, hatch="////",
                             label="did not learn")], loc="lower right")  # fmt: skip
    _style.beyond(ax, "verdicts")


def plot(data: xr.DataTree, summary: Summary, cfg: Config) -> Figure:
    """A-C: phase portraits of the representative before, at and after its drop; D: the
    loss of every network, the representative highlighted; E: the census of verdicts."""
    fig = _style.figure(HEIGHT, _style.PAGE)
    grid = fig.add_gridspec(2, 3, height_ratios=[1.1, 1.0])
    top = [fig.add_subplot(grid[0, j]) for j in range(3)]
    portraits = data["portraits"].to_dataset()
    handles = _portrait_panels(top, portraits, cfg.task)
    ax_loss = fig.add_subplot(grid[1, :2])
    _loss_panel(ax_loss, data["census"].to_dataset(), summary)
    ax_census = fig.add_subplot(grid[1, 2])
    _census_panel(ax_census, summary)
    for j, ax in enumerate([*top, ax_loss, ax_census]):
        _style.panel_label(ax, chr(ord("A") + j))
    fig.legend(handles=handles, loc="outside upper center", ncols=5)
    return fig


# --------------------------------------------------------------------------------------
# caption and claims


def _optimizer_words(cfg: Config) -> str:
    if cfg.optimizer == "sgd":
        return f"plain gradient descent with the learning rate α = {cfg.lr:g}"
    return f"{cfg.optimizer.capitalize()} with the learning rate α = {cfg.lr:g}"


def caption(summary: Summary, cfg: Config) -> str:
    """The figure's caption, with its parameters and the census."""
    s = summary
    rep = s.representative
    model = cfg.model
    if rep.drop_kind is None:
        where = "at the first, middle and last snapshot (it neither learned nor dropped)"
    else:
        a, b = rep.drop_onset, rep.drop_end
        epochs = f"epoch {a:,.0f}" if a == b else f"epochs {a:,.0f}–{b:,.0f}"
        where = f"before, at and after its {rep.drop_kind} ({epochs}"
        if rep.window is not None and rep.fine_every is not None:
            w0, w1 = rep.window
            where += (
                f"; epochs {w0:,}–{w1:,} trained again from the snapshot before them with a "
                f"snapshot every {rep.fine_every:,} epochs"
            )
        where += ")"
    fid = "" if cfg.optimizer == "sgd" else (
        f" (quick fidelity: {cfg.optimizer.capitalize()} instead of the authors' plain gradient "
        "descent, for a short run; its learning is faster and noisier)"
    )  # fmt: skip
    counts = ", ".join(f"{k} {v}" for k, v in s.verdict_counts.items() if v)
    return (
        f"Beyond the paper: abrupt learning of the {s.task_title} in rank-two networks. "
        f"{s.n_seeds} networks (rank K = {cfg.rank}, N = {cfg.N}, Δt = {model.dt:g} ms, "
        f"τ = {model.tau:g} ms, seeds 0–{s.n_seeds - 1}, latent readout "
        f"o = tanh(w_out · κ + b_out)) trained with {_optimizer_words(cfg)} for "
        f"{cfg.epochs:,} epochs{fid}; snapshots every {cfg.snapshot_every:,} epochs. "
        f"(A–C) Phase portraits of the representative network (seed {rep.seed}: "
        f"{rep.rule}) {where}: speed |F| of the latent flow under no input (log colour "
        "scale), streamlines, fixed points by class and ghosts, the readout boundaries "
        f"o = ±{BINARY_THRESHOLD:g}, and the trials of that epoch, one per condition (open "
        "circle: start; square: end of the reaction period; the pulses act through the "
        "input, not drawn in the flow). (D) Loss of every network (median over log-spaced "
        "epoch bins; blue: learned, grey: did not), the representative in red; triangles "
        "mark the onset of abrupt drops, dotted lines the epochs of A–C. (E) Verdict of "
        f"every network (filled: learned, i.e. a running median accuracy ≥ "
        f"{SOLVED_ACCURACY:g} over {WINDOW} epochs). {s.n_learned} of {s.n_seeds} "
        f"learned; verdicts: {counts}; the representative's verdict with fine snapshots: "
        f"{rep.verdict_refined}."
    )


def claims(summary: Summary, cfg: Config) -> list[Claim]:
    """Beyond-the-paper statements on the learners of the task, tested on the census.

    The counts come from ``summary``; the task (the experiment is named after it), the
    optimizer, learning rate and epochs named in the reasons from ``cfg``. A run with the
    quick fidelity's optimizer (Adam) is marked ``(quick fidelity)`` there.
    """
    s = summary
    name = cfg.task
    task = cfg.task.upper()
    opt = "plain gradient descent" if cfg.optimizer == "sgd" else cfg.optimizer.capitalize()
    how = f"{opt} at α = {cfg.lr:g}, {cfg.epochs:,} epochs"
    if cfg.optimizer != "sgd":
        quick = " (quick fidelity)" if cfg.optimizer == _quick_optimizer(cfg.task) else ""
        how += f"; {opt}{quick}, not the authors' plain gradient descent"
    paper = "not in the paper (its task is the delayed activation)"
    n, n_l, n_ab = s.n_seeds, s.n_learned, s.n_abrupt_learners
    ghost = s.verdict_counts_learners.get("ghost-mediated", 0)
    bif = s.verdict_counts_learners.get("bifurcation-mediated", 0)
    out = [
        Claim(
            beyond_paper=True,
            figure=name,
            claim=f"beyond the paper: some rank-two networks learn {task}",
            paper=paper,
            measured={"learned": n_l, "networks": n},
            reproduced=n_l >= 1,
            reason=f"at least one of the {n} networks must reach a running median accuracy "
            f">= {SOLVED_ACCURACY:g} over {WINDOW} epochs ({how})",
        )
    ]
    if n_l == 0:
        skip: dict[str, Any] = {"skip": "no network learned"}
        abrupt = skip
    else:
        abrupt = {
            "reproduced": n_ab > MOST * n_l,
            "reason": f"more than half of the {n_l} learners must have an abrupt drop of the "
            f"loss after a plateau (default detector; {how})",
        }
    out.append(
        Claim(
            beyond_paper=True,
            figure=name,
            claim=f"beyond the paper: most networks that learn {task} learn it abruptly (an "
            "abrupt drop of the loss after a plateau)",
            paper=paper,
            measured={"abrupt learners": n_ab, "learners": n_l},
            **abrupt,
        )
    )
    if n_ab == 0:
        mediated: dict[str, Any] = {
            "skip": "no network learned" if n_l == 0 else "no learner has an abrupt drop"
        }
    else:
        mediated = {
            "reproduced": ghost > MOST * n_ab,
            "reason": f"more than half of the {n_ab} learners with an abrupt drop must be "
            f"ghost-mediated (a ghost at the drop, no bifurcation during the plateau or the "
            f"drop); {bif} bifurcation-mediated ({how})",
        }
    out.append(
        Claim(
            beyond_paper=True,
            figure=name,
            claim=f"beyond the paper: the abrupt drops of {task} learners are ghost-mediated "
            "in most of them, as the paper's delayed-activation drops are",
            paper="the paper: abrupt learning of the delayed activation is ghost-mediated",
            measured={
                "ghost-mediated": ghost,
                "bifurcation-mediated": bif,
                "abrupt learners": n_ab,
            },
            **mediated,
        )
    )
    return out
