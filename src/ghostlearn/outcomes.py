"""How a training run ended: the paper's definitions of learned, stuck and epochs-to-learn.

All functions work on arrays whose last axis is the epoch, so they apply to one network
or to a whole population at once (leading axes are kept). NaN epochs (a diverged network
after it was frozen) are ignored.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _validate

__all__ = ["epochs_to_learn", "learned", "learned_by_loss", "stuck"]


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
