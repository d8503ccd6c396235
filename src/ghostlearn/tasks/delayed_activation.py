"""The delayed-activation (DA) task of the low-rank RNN experiments (paper Figs. 3-4, Eq. 17).

A trial has ``2 * half`` Euler steps, ``half = round(T / dt)`` (20 with the paper's
``T = 100 ms``, ``dt = 5 ms``). The network has no input; its output is read on the state
after each of the ``2 * half`` updates (the initial state ``x(0)`` is not scored) and the
target is ``half`` zeros followed by ``half`` ones::

    o(t) = 0 for t = 1 .. half,    o(t) = 1 for t = half + 1 .. 2 half.

Loss and accuracy of one trial with outputs ``o_hat(t)``::

    L   = sum_t (o_hat(t) - o(t))^2 / half,
    acc = (1 / (2 half)) * #{t : (o_hat(t) > 0.5) == o(t)}.

:func:`targets`, :func:`loss` and :func:`accuracy` work on NumPy and JAX arrays alike (time
is the last axis; leading axes are batch axes). :class:`DelayedActivation` is the same
task as a :class:`~ghostlearn.tasks.Task`: one trial per epoch, every unit starting at the
configuration's ``x0``, the paper's readouts; ``train`` trains it with the hand-derived
gradients of :func:`ghostlearn.rnn.loss_and_grad`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

import jax
import numpy as np

from .base import Task, Trials

if TYPE_CHECKING:
    from ..rnn import RNNConfig

__all__ = ["DelayedActivation", "accuracy", "loss", "targets"]


def targets(cfg: RNNConfig, dtype: Any = np.float32) -> np.ndarray:
    """Target of the DA task: ``half`` zeros then ``half`` ones.

    Args:
        cfg: the network configuration (its ``half = round(T / dt)`` sets the delay).
        dtype: NumPy dtype of the result.

    Returns:
        Array of shape ``[n_steps]`` with ``n_steps = 2 * half``.
    """
    return np.concatenate([np.zeros(cfg.half), np.ones(cfg.half)]).astype(dtype)


def _xp(a: Any) -> Any:
    """NumPy for NumPy inputs (results stay NumPy), jax.numpy otherwise."""
    if isinstance(a, (np.ndarray, np.generic, float, int, list, tuple)):
        return np
    import jax.numpy as jnp

    return jnp


def _check(outputs: Any, target: Any) -> int:
    n = np.shape(target)[-1] if np.ndim(target) else 0
    if np.ndim(target) != 1 or n < 2 or n % 2:
        raise ValueError(
            f"targets must be 1-D with an even length >= 2, got shape {np.shape(target)}"
        )
    if np.shape(outputs)[-1:] != (n,):
        raise ValueError(
            f"outputs must end with the time axis of length {n}, got shape {np.shape(outputs)}"
        )
    return n // 2


def loss(outputs: Any, target: Any) -> Any:
    """Sum of squared errors over the trial divided by ``half``.

    Args:
        outputs: readouts ``o_hat``, shape ``[..., n_steps]``.
        target: the task target, shape ``[n_steps]`` (see :func:`targets`).

    Returns:
        ``sum_t (o_hat(t) - o(t))^2 / half``, shape ``[...]``.

    Raises:
        ValueError: if the shapes do not match or ``n_steps`` is odd.
    """
    half = _check(outputs, target)
    xp = _xp(outputs)
    err = xp.asarray(outputs) - xp.asarray(target)
    return xp.sum(err * err, axis=-1) / half


def accuracy(outputs: Any, target: Any) -> Any:
    """Fraction of the steps where the thresholded output ``o_hat > 0.5`` equals the target.

    Args:
        outputs: readouts ``o_hat``, shape ``[..., n_steps]``.
        target: the task target (0/1 entries), shape ``[n_steps]``.

    Returns:
        Accuracy in [0, 1], shape ``[...]``.

    Raises:
        ValueError: if the shapes do not match or ``n_steps`` is odd.
    """
    _check(outputs, target)
    xp = _xp(outputs)
    outputs = xp.asarray(outputs)
    target = xp.asarray(target)
    hit = (outputs > 0.5) == (target > 0.5)
    return xp.mean(hit.astype(outputs.dtype), axis=-1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DelayedActivation(Task):
    """The delayed-activation task as a :class:`~ghostlearn.tasks.Task` (``name = "da"``).

    One condition, no input (``n_in = 0``): inputs ``[1, 2 half, 0]``, targets
    ``[1, 2 half, 1]`` (:func:`targets`), every step scored. Loss and accuracy are the
    module's :func:`loss` and :func:`accuracy`. The defaults give the paper's system: every
    unit starts at ``cfg.x0``, the readout is the model's (``sigmoid(c (n . x -
    kappa_thr))`` for rank1, ``sigmoid(w_out . x + b_out)`` otherwise), no noise; ``train``
    then uses the hand-derived gradients and its results are those of the paper's setup.
    Setting ``noise``, ``init_scale`` or ``readout`` gives a variant trained by ``jax.grad``
    through :func:`ghostlearn.rnn.run_trial`.

    Attributes:
        readout: ``None`` (the paper's readouts) or one of :data:`~ghostlearn.tasks.READOUTS`.
        noise: private noise ``sigma`` (0: none).
        init_scale: ``None`` (``x(0) = x0``) or random initial states ``tanh(init_scale xi)``.
    """

    name: ClassVar[str] = "da"
    n_in: ClassVar[int] = 0

    readout: str | None = None
    init_scale: float | None = None

    @property
    def paper(self) -> bool:
        """Whether this is the paper's system (default readout, fixed start, no noise)."""
        return self.readout is None and not self.stochastic

    def trials(self, cfg: RNNConfig) -> Trials:
        """One trial: no input, :func:`targets` as ``[1, 2 half, 1]``, every step scored."""
        y = targets(cfg, np.float64)
        n = y.size
        return Trials(
            inputs=np.zeros((1, n, 0)), targets=y[None, :, None], mask=np.ones((1, n), bool)
        )

    def loss(self, outputs: jax.Array, targets: jax.Array, mask: jax.Array) -> jax.Array:
        """``sum_t mask_t (o_hat(t) - o(t))^2 / half``, averaged over the trials.

        Args:
            outputs: ``[trials, 2 half, 1]``.
            targets: ``[trials, 2 half, 1]``.
            mask: ``[trials, 2 half]``.
        """
        from ..rnn import fsum

        half = outputs.shape[1] // 2
        r = (outputs - targets)[..., 0]
        # products with reciprocals, as in Task.loss (the same bits in every program)
        return fsum(fsum(r * r * mask) * (1.0 / half)) * (1.0 / outputs.shape[0])

    def accuracy(self, outputs: jax.Array, targets: jax.Array, mask: jax.Array) -> jax.Array:
        """Fraction of the scored steps where ``(o_hat > 0.5) == o``."""
        from ..rnn import fsum

        hit = ((outputs > 0.5) == (targets > 0.5))[..., 0].astype(outputs.dtype) * mask
        return fsum(fsum(hit)) * (1.0 / fsum(fsum(mask)))
