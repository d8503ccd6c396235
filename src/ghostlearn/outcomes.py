"""How a training run ended: the paper's definitions of learned, stuck, recovered and
epochs-to-learn, and how abruptly a loss curve fell.

The population functions work on arrays whose last axis is the epoch, so they apply to one
network or to a whole population at once (leading axes are kept). NaN epochs (a diverged
network after it was frozen) are ignored by :func:`learned` and :func:`stuck` and count
as failures in :func:`recovered`. :func:`drop_window` measures one loss curve.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _validate

__all__ = [
    "DropWindow",
    "drop_window",
    "epochs_to_learn",
    "learned",
    "learned_by_loss",
    "recovered",
    "stuck",
]


def learned(accuracy: ArrayLike) -> NDArray[np.bool_]:
    """ "Learned at some point": the maximum training accuracy over all epochs exceeds 0.5.

    Args:
        accuracy: [..., epoch] training accuracy per epoch.

    Returns:
        [...] booleans.
    """
    acc = np.asarray(accuracy, dtype=float)
    return np.nanmax(np.where(np.isnan(acc), -np.inf, acc), axis=-1) > 0.5


def stuck(accuracy: ArrayLike, *, last: int = 50) -> NDArray[np.bool_]:
    """ "Entered the no-learning zone": learned at some point, yet the maximum accuracy
    over the last ``last`` epochs is <= 0.5 (paper Fig. 4; a subset of :func:`learned`).

    Networks that never learned sit at accuracy 0.5 and are not counted as stuck; nor are
    networks whose last ``last`` epochs are all NaN (diverged and frozen).

    Args:
        accuracy: [..., epoch] training accuracy per epoch.
        last: the number of final epochs inspected.

    Returns:
        [...] booleans.
    """
    _validate.at_least("last", last, 1)
    acc = np.asarray(accuracy, dtype=float)
    tail = acc[..., -last:]
    # A tail with no finite epoch (a diverged, frozen network) is no evidence of a
    # no-learning zone: such networks are reported as diverged instead.
    tail_max = np.max(np.where(np.isnan(tail), -np.inf, tail), axis=-1)
    return learned(acc) & (tail_max <= 0.5) & (tail_max > -np.inf)


def recovered(accuracy: ArrayLike, *, last: int = 10, threshold: float = 0.9) -> NDArray[np.bool_]:
    """ "Recovered" (re-learned the task): accuracy >= ``threshold`` at every one of the
    last ``last`` epochs.

    Stricter than "not stuck" (some epoch above 0.5, which one correct step after the
    delay already gives): the network must solve at least 90% of the 40 steps, and keep
    doing so for ``last`` epochs. A NaN epoch (diverged) in that tail fails the rule.

    Args:
        accuracy: [..., epoch] training accuracy per epoch, at least ``last`` epochs.
        last: the number of final epochs inspected, >= 1.
        threshold: the accuracy every one of them must reach, in (0, 1].

    Returns:
        [...] booleans.
    """
    _validate.at_least("last", last, 1)
    _validate.finite("threshold", threshold)
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    acc = np.asarray(accuracy, dtype=float)
    if acc.shape[-1] < last:
        raise ValueError(f"accuracy must have >= last = {last} epochs, got {acc.shape[-1]}")
    tail = acc[..., -last:]
    with np.errstate(invalid="ignore"):
        return np.all(tail >= threshold, axis=-1)


def learned_by_loss(loss: ArrayLike, *, ratio: float = 1e-2) -> NDArray[np.bool_]:
    """Fig. S2's criterion: final loss / first-epoch loss < ``ratio``.

    Args:
        loss: [..., epoch] training loss per epoch.
        ratio: the threshold on final / first loss.

    Returns:
        [...] booleans (False where the final loss is NaN).
    """
    _validate.positive("ratio", ratio)
    loss = np.asarray(loss, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (loss[..., -1] / loss[..., 0]) < ratio


def epochs_to_learn(
    loss: ArrayLike, *, ratio: float = 1e-2, epochs: ArrayLike | None = None
) -> NDArray[np.float64]:
    """The first epoch whose loss is below ``ratio`` times the first-epoch loss.

    Args:
        loss: [..., epoch] training loss per epoch.
        ratio: the threshold relative to the first-epoch loss.
        epochs: [epoch] the epoch numbers of the last axis (default 0, 1, 2, ...).

    Returns:
        [...] epoch numbers as floats; NaN where the threshold is never reached.
    """
    _validate.positive("ratio", ratio)
    loss = np.asarray(loss, dtype=float)
    ep = np.arange(loss.shape[-1]) if epochs is None else np.asarray(epochs)
    if ep.shape != loss.shape[-1:]:
        raise ValueError(f"epochs must have shape {loss.shape[-1:]}, got {ep.shape}")
    with np.errstate(invalid="ignore"):
        below = loss < ratio * loss[..., :1]
    first = np.argmax(below, axis=-1)
    return np.where(below.any(axis=-1), ep[first].astype(float), np.nan)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DropWindow:
    """Where and how fast a loss curve fell (:func:`drop_window`).

    Attributes:
        level_before: the plateau level, the loss at the first epoch.
        level_after: the post-drop level, the median loss over the final ``tail`` of epochs.
        fraction: the share of the fall ``level_before - level_after`` the window holds.
        start: the first epoch of the window (loss first at or below
            ``level_after + (q + fraction) * range``).
        end: the epoch the window ends (loss first at or below ``level_after + q * range``).
        window: ``end - start``, in epochs.
        plateau: ``start - first epoch``: the epochs before the window.
        ratio: ``window / plateau`` (inf when the window starts at the first epoch).
    """

    level_before: float
    level_after: float
    fraction: float
    start: float
    end: float
    window: float
    plateau: float
    ratio: float


def drop_window(
    loss: ArrayLike,
    *,
    fraction: float = 0.75,
    tail: float = 0.2,
    epochs: ArrayLike | None = None,
) -> DropWindow | None:
    """The shortest stretch of epochs over which a loss curve falls by ``fraction`` of its
    range, and the plateau before it.

    The range is ``level_before - level_after``: the loss at the first epoch minus the
    median over the final ``tail`` share of the epochs. With ``e(q)`` the first epoch at
    which the loss is at or below ``level_after + q * range``, the window is
    ``[e(q + fraction), e(q)]`` for the ``q`` in ``[0, 1 - fraction]`` (101 values) that
    makes it shortest. A drop is abrupt when ``window`` is much shorter than ``plateau``
    (small ``ratio``); a steady decline gives ``window ~ fraction * duration`` and
    ``ratio`` near or above 1.

    Args:
        loss: [epoch] one loss curve, finite.
        fraction: the share of the fall the window must hold, in (0, 1).
        tail: the share of final epochs that sets the post-drop level, in (0, 1).
        epochs: [epoch] the epoch numbers (default 0, 1, 2, ...).

    Returns:
        A :class:`DropWindow`, or None when the loss did not fall (``range <= 0``).
    """
    _validate.finite("fraction", fraction)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    _validate.finite("tail", tail)
    if not 0 < tail < 1:
        raise ValueError(f"tail must be in (0, 1), got {tail}")
    y = np.asarray(loss, dtype=float)
    if y.ndim != 1 or y.size < 2:
        raise ValueError(f"loss must be one curve of >= 2 epochs, got shape {y.shape}")
    _validate.finite("loss", y)
    ep = np.arange(y.size, dtype=float) if epochs is None else np.asarray(epochs, dtype=float)
    if ep.shape != y.shape:
        raise ValueError(f"epochs must have shape {y.shape}, got {ep.shape}")
    before = float(y[0])
    after = float(np.median(y[-max(1, int(round(tail * y.size))) :]))
    span = before - after
    if not span > 0:
        return None
    best: tuple[float, int, int] | None = None
    for q in np.linspace(0.0, 1.0 - fraction, 101):
        hi = np.flatnonzero(y <= after + (q + fraction) * span)
        lo = np.flatnonzero(y <= after + q * span)
        if hi.size and lo.size:
            width = float(ep[lo[0]] - ep[hi[0]])
            if best is None or width < best[0]:
                best = (width, int(hi[0]), int(lo[0]))
    if best is None:  # unreachable: y[0] meets q + fraction = 1 and the tail's median q = 0
        return None
    width, i, j = best
    plateau = float(ep[i] - ep[0])
    return DropWindow(
        level_before=before,
        level_after=after,
        fraction=fraction,
        start=float(ep[i]),
        end=float(ep[j]),
        window=width,
        plateau=plateau,
        ratio=width / plateau if plateau > 0 else float("inf"),
    )
