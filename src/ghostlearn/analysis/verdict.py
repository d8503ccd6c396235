"""What caused a run's abrupt learning (or its failure): one verdict per run.

Inputs: the abrupt drops of the loss (:mod:`~ghostlearn.analysis.events`), the
bifurcations between snapshots and the number of ghosts per snapshot
(:mod:`~ghostlearn.analysis.tracking`), and optionally the gradient norm and accuracy per
epoch. The rules, applied in this order:

1. ``'stuck-after-bifurcation'`` (the no-learning zone): a bifurcation (not a mere boundary
   crossing) after which the task is not solved at the end and the gradient is practically
   zero. Not solved: the best accuracy over the last ``tail`` epochs is ``<= 0.5`` (the
   paper's stuck criterion) or, without accuracy, the final loss (median of the last
   ``tail`` epochs) lies in the upper half of the run's log-loss range. Practically zero:
   the median gradient norm after the bifurcation is below ``flat_grad`` times the median
   before it (skipped when no gradient norm is given). The last such bifurcation is named.
2. Otherwise, for the first abrupt drop, its *window* runs from the start of the plateau
   that precedes it to its end. ``'bifurcation-mediated'``: a bifurcation whose epoch
   bracket overlaps the window. ``'ghost-mediated'``: none does, and a ghost exists at a
   snapshot within the drop widened by its duration on both sides (or, when no snapshot
   falls there, at the last snapshot before and the first after it).
   ``'abrupt-unexplained'``: an abrupt drop with neither (e.g. a stable fixed point that
   moves across the readout threshold).
3. ``'no-abrupt-learning'``: no abrupt drop.

One more verdict is never given by :func:`classify_run`: ``'not-determinable'``, for an
analysis that cannot look for abrupt drops at all, the loss being known at fewer than 3
epochs or not at all (a checkpoint's single snapshot, say, or snapshots without a loss
that cannot be scored: :func:`ghostlearn.checkpoints.analyze_checkpoint`). Its points,
tracks and bifurcations are found all the same; its reason says what was missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate
from .events import AbruptDrop
from .tracking import Bifurcation

__all__ = ["VERDICTS", "Verdict", "VerdictRules", "classify_run"]

#: Every verdict label: those of :func:`classify_run`, then ``'not-determinable'`` (no
#: abrupt drop can be looked for; see the module docstring).
VERDICTS = (
    "ghost-mediated",
    "bifurcation-mediated",
    "stuck-after-bifurcation",
    "no-abrupt-learning",
    "abrupt-unexplained",
    "not-determinable",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerdictRules:
    """Settings of :func:`classify_run` (see the module docstring).

    Attributes:
        flat_grad: "practically zero" gradient: median after / median before the bifurcation.
        tail: number of final epochs that decide whether the task is solved at the end.
        solved_accuracy: accuracy above which the task counts as solved.
    """

    flat_grad: float = 1e-2
    tail: int = 50
    solved_accuracy: float = 0.5

    def __post_init__(self) -> None:
        _validate.positive("flat_grad", self.flat_grad)
        _validate.at_least("tail", self.tail, 1)
        _validate.finite("solved_accuracy", self.solved_accuracy)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The verdict of one run and the events it rests on.

    Attributes:
        label: one of :data:`VERDICTS`.
        reason: one sentence with the numbers behind the label.
        drop: the abrupt drop classified (None if there is none or it does not matter).
        bifurcation: the bifurcation named (None if none).
        ghost_epoch: epoch of the snapshot where a ghost was seen at the drop (or None).
    """

    label: str
    reason: str
    drop: AbruptDrop | None = None
    bifurcation: Bifurcation | None = None
    ghost_epoch: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "reason": self.reason,
            "drop": None if self.drop is None else self.drop.to_dict(),
            "bifurcation": None if self.bifurcation is None else self.bifurcation.to_dict(),
            "ghost_epoch": self.ghost_epoch,
        }


def _tail_unsolved(
    loss: np.ndarray, accuracy: np.ndarray | None, rules: VerdictRules
) -> tuple[bool, str]:
    if accuracy is not None:
        best = float(np.max(accuracy[-rules.tail :]))
        return best <= rules.solved_accuracy, f"best accuracy over the last epochs {best:.3g}"
    ly = np.log10(np.maximum(loss, max(float(loss.max()) * 1e-12, 1e-300)))
    final = float(np.median(ly[-rules.tail :]))
    mid = 0.5 * (float(ly.max()) + float(ly.min()))
    return final >= mid, f"final loss {10**final:.3g}"


def classify_run(
    *,
    loss_epochs: Any,
    loss: Any,
    drops: Sequence[AbruptDrop],
    bifurcations: Sequence[Bifurcation],
    snapshot_epochs: Any,
    n_ghosts: Any,
    grad_norm: Any = None,
    accuracy: Any = None,
    rules: VerdictRules | None = None,
) -> Verdict:
    """The verdict of one run (rules in the module docstring).

    Args:
        loss_epochs: ``[E]`` epochs of the metrics.
        loss: ``[E]`` loss per epoch.
        drops: abrupt drops of the loss.
        bifurcations: events between snapshots.
        snapshot_epochs: ``[S]`` epochs of the snapshots.
        n_ghosts: ``[S]`` number of ghosts per snapshot.
        grad_norm: ``[E]`` optional gradient norm per epoch.
        accuracy: ``[E]`` optional accuracy per epoch.
        rules: :class:`VerdictRules`.

    Returns:
        A :class:`Verdict`.
    """
    rules = VerdictRules() if rules is None else rules
    e = np.asarray(loss_epochs, dtype=np.float64)
    loss = np.asarray(loss, dtype=np.float64)
    se = np.asarray(snapshot_epochs, dtype=np.float64)
    ng = np.asarray(n_ghosts)
    grad = None if grad_norm is None else np.asarray(grad_norm, dtype=np.float64)
    acc = None if accuracy is None else np.asarray(accuracy, dtype=np.float64)
    real = [b for b in bifurcations if b.is_bifurcation]

    unsolved, tail_note = _tail_unsolved(loss, acc, rules)
    if unsolved:
        for b in reversed(real):
            if grad is None:
                return Verdict(
                    label="stuck-after-bifurcation",
                    reason=(
                        f"{b.kind} bifurcation between epochs {b.epoch_before:g} and "
                        f"{b.epoch_after:g} and the task unsolved at the end ({tail_note}); "
                        "no gradient norm given"
                    ),
                    bifurcation=b,
                )
            before = grad[e < b.epoch_after]
            after = grad[e >= b.epoch_after]
            if before.size == 0 or after.size == 0:
                continue
            g0, g1 = float(np.median(before)), float(np.median(after))
            if g1 <= rules.flat_grad * g0:
                return Verdict(
                    label="stuck-after-bifurcation",
                    reason=(
                        f"{b.kind} bifurcation between epochs {b.epoch_before:g} and "
                        f"{b.epoch_after:g}; median gradient norm {g0:.3g} before, {g1:.3g} "
                        f"after; task unsolved at the end ({tail_note})"
                    ),
                    bifurcation=b,
                )

    if not drops:
        return Verdict(label="no-abrupt-learning", reason="no abrupt drop of the loss")
    d = drops[0]
    for b in real:
        if b.epoch_after >= d.plateau_start_epoch and b.epoch_before <= d.end_epoch:
            return Verdict(
                label="bifurcation-mediated",
                reason=(
                    f"{b.kind} bifurcation between epochs {b.epoch_before:g} and "
                    f"{b.epoch_after:g}, within the plateau and drop "
                    f"({d.plateau_start_epoch:g}-{d.end_epoch:g})"
                ),
                drop=d,
                bifurcation=b,
            )
    pad = max(d.duration, 0.0)
    sel = np.flatnonzero((se >= d.onset_epoch - pad) & (se <= d.end_epoch + pad))
    if sel.size == 0:
        prev = np.flatnonzero(se <= d.onset_epoch)
        nxt = np.flatnonzero(se >= d.end_epoch)
        sel = np.concatenate([prev[-1:], nxt[:1]]).astype(np.int64)
    with_ghost = sel[ng[sel] > 0]
    if with_ghost.size:
        ge = float(se[with_ghost[0]])
        return Verdict(
            label="ghost-mediated",
            reason=(
                f"abrupt drop at epochs {d.onset_epoch:g}-{d.end_epoch:g} "
                f"({d.size_decades:.2g} decades), a ghost at epoch {ge:g}, "
                "no bifurcation during the plateau or the drop"
            ),
            drop=d,
            ghost_epoch=ge,
        )
    return Verdict(
        label="abrupt-unexplained",
        reason=(
            f"abrupt drop at epochs {d.onset_epoch:g}-{d.end_epoch:g} with neither a ghost "
            "nor a bifurcation around it"
        ),
        drop=d,
    )
