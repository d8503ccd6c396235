"""Abrupt-learning events in a loss curve: a plateau followed by a fast drop.

The detector is scale-free: it works on ``y = log10(loss)``, so multiplying the loss by a
constant changes nothing, and its windows are fractions of the run length, so a run of
3000 epochs and one of 500 000 are treated alike. With ``E`` samples over epochs
``e_0 .. e_end``:

1. ``y`` is smoothed by a running median over ``w = max(3, window * E)`` samples (odd),
   which removes the oscillations that follow learning without shifting a step.
2. ``R = max(y_s) - min(y_s)``, the range in decades. A sample is *fast* when the smoothed
   curve falls faster than ``rate * R / (e_end - e_0)``: ``rate`` times the speed of
   covering the whole range uniformly over the run. Fast runs closer than ``w`` samples
   are merged into one candidate.
3. For each candidate: the level before (median of ``y_s`` over the ``w`` samples before
   it) and after (median over the ``w`` samples after it); the drop size is their
   difference, required to be at least ``max(min_size * R, min_decades)``. Onset and end
   are the epochs where ``y_s`` has covered 10 % and 90 % of the drop (as a rise time).
4. The plateau is the longest stretch ending at the onset where ``y_s`` stays within
   ``plateau_tol * size`` of the level before; the drop is abrupt only if the plateau lasts
   at least ``plateau`` times the drop itself (``end - onset``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy.ndimage import median_filter

from .. import _validate

__all__ = ["AbruptDrop", "DropDetector", "detect_abrupt_drops", "smoothed_log_loss"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DropDetector:
    """Settings of :func:`detect_abrupt_drops` (see the module docstring).

    Attributes:
        window: smoothing window as a fraction of the number of samples.
        rate: a drop falls at least this many times faster than ``R / run length``.
        min_size: a drop covers at least this fraction of the log-loss range ``R``...
        min_decades: ...and at least this many decades (0.1: a factor of 1.26; it only
            guards against calling noise on a flat curve a drop).
        plateau: the plateau before a drop lasts at least this many times the drop.
        plateau_tol: the plateau stays within this fraction of the drop size (decades)
            of the level before the drop.
    """

    window: float = 0.01
    rate: float = 10.0
    min_size: float = 0.25
    min_decades: float = 0.1
    plateau: float = 2.0
    plateau_tol: float = 0.25

    def __post_init__(self) -> None:
        for name in ("window", "rate", "min_size", "min_decades", "plateau", "plateau_tol"):
            _validate.positive(name, getattr(self, name))
        if self.window >= 1:
            raise ValueError(f"window must be < 1 (a fraction of the run), got {self.window}")


@dataclasses.dataclass(frozen=True)
class AbruptDrop:
    """One abrupt drop of the loss.

    Attributes:
        onset_epoch: epoch where 10 % of the drop (in log-loss) is covered.
        end_epoch: epoch where 90 % is covered.
        plateau_start_epoch: first epoch of the plateau that precedes it.
        loss_before, loss_after: smoothed loss levels before (median over the plateau)
            and after (median over the window after the fall), in linear units.
        size_decades: ``log10(loss_before / loss_after)``.
        fraction_of_range: ``size_decades / R``.
    """

    onset_epoch: float
    end_epoch: float
    plateau_start_epoch: float
    loss_before: float
    loss_after: float
    size_decades: float
    fraction_of_range: float

    @property
    def duration(self) -> float:
        return self.end_epoch - self.onset_epoch

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_curve(loss: Any, epochs: Any) -> tuple[np.ndarray, np.ndarray]:
    if loss is None:
        raise ValueError("loss is missing (got None)")
    y = np.asarray(loss, dtype=np.float64)
    if y.ndim != 1 or y.size < 3:
        raise ValueError(f"loss must be a 1-D array of at least 3 epochs, got shape {y.shape}")
    _validate.finite("loss", y)
    if np.any(y < 0):
        raise ValueError(f"loss must be >= 0, got {y[y < 0][0]}")
    if epochs is None:
        e = np.arange(y.size, dtype=np.float64)
    else:
        e = np.asarray(epochs, dtype=np.float64)
        if e.shape != y.shape:
            raise ValueError(f"loss_epochs must have the shape of loss {y.shape}, got {e.shape}")
        _validate.finite("loss_epochs", e)
        if np.any(np.diff(e) <= 0):
            raise ValueError("loss_epochs must be strictly increasing")
    return y, e


def _window(n: int, frac: float) -> int:
    w = max(3, int(round(frac * n)))
    return w if w % 2 else w + 1


def smoothed_log_loss(loss: Any, *, window: float = 0.01) -> np.ndarray:
    """``log10`` of the loss, smoothed by a running median of ``window`` * length samples.

    Exact zeros are replaced by the smallest positive loss of the curve, so that they
    neither make the logarithm infinite nor stretch the range of the curve.
    """
    y, _ = _check_curve(loss, None)
    positive = y[y > 0]
    floor = float(positive.min()) if positive.size else 1.0
    ly = np.log10(np.maximum(y, floor))
    return median_filter(ly, size=_window(y.size, window), mode="nearest")


def detect_abrupt_drops(
    loss: Any, epochs: Any = None, *, detector: DropDetector | None = None
) -> list[AbruptDrop]:
    """Abrupt drops (plateau then fast fall) of a loss curve.

    Args:
        loss: ``[E]`` non-negative, finite losses.
        epochs: ``[E]`` strictly increasing epochs (default ``0 .. E-1``).
        detector: settings (:class:`DropDetector`); defaults documented there.

    Returns:
        Drops in epoch order (possibly empty).

    Raises:
        ValueError: for a missing, mis-shaped, negative or non-finite loss or bad epochs.
    """
    det = DropDetector() if detector is None else detector
    if not isinstance(det, DropDetector):
        raise ValueError(f"detector must be a DropDetector, got {type(det).__name__}")
    y, e = _check_curve(loss, epochs)
    n = y.size
    w = _window(n, det.window)
    ys = smoothed_log_loss(y, window=det.window)
    R = float(ys.max() - ys.min())
    if R < det.min_decades:
        return []
    span = float(e[-1] - e[0])
    slope = np.gradient(ys, e)
    fast = -slope > det.rate * R / span
    idx = np.flatnonzero(fast)
    if idx.size == 0:
        return []
    # Runs of fast samples, merged across gaps shorter than the smoothing window.
    breaks = np.flatnonzero(np.diff(idx) > w)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    stops = np.concatenate([idx[breaks], [idx[-1]]])
    need = max(det.min_size * R, det.min_decades)
    drops: list[AbruptDrop] = []
    for i0, i1 in zip(starts, stops, strict=True):
        before = ys[max(i0 - w, 0) : i0 + 1]
        after = ys[i1 : min(i1 + w + 1, n)]
        top, bottom = float(np.median(before)), float(np.median(after))
        size = top - bottom
        if size < need:
            continue
        steep = i0 + int(np.argmin(slope[i0 : i1 + 1]))
        hi_level = top - 0.1 * size
        lo_level = bottom + 0.1 * size
        above = np.flatnonzero(ys[: steep + 1] >= hi_level)
        onset = int(above[-1]) + 1 if above.size else 0
        onset = min(onset, steep)
        below = np.flatnonzero(ys[steep:] <= lo_level)
        end = steep + int(below[0]) if below.size else n - 1
        # Plateau: the stretch ending at the onset that stays near the level before.
        far = np.flatnonzero(np.abs(ys[:onset] - top) > det.plateau_tol * size)
        p0 = int(far[-1]) + 1 if far.size else 0
        plateau_len = e[onset] - e[p0]
        if plateau_len < det.plateau * (e[end] - e[onset]) or onset - p0 < w:
            continue
        if drops and e[onset] <= drops[-1].end_epoch:
            continue
        # Report the plateau's own level (the window before the fast run may already
        # include the start of the fall).
        level = float(np.median(ys[p0:onset])) if onset > p0 else top
        size = level - bottom
        drops.append(
            AbruptDrop(
                onset_epoch=float(e[onset]),
                end_epoch=float(e[end]),
                plateau_start_epoch=float(e[p0]),
                loss_before=float(10.0**level),
                loss_after=float(10.0**bottom),
                size_decades=float(size),
                fraction_of_range=float(size / R),
            )
        )
    return drops
