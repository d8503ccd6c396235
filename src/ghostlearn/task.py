"""The delayed-activation (DA) task of the low-rank RNN experiments (paper Figs. 3-4, Eq. 17).

A trial has ``2 * half`` Euler steps, ``half = round(T / dt)`` (20 with the paper's
``T = 100 ms``, ``dt = 5 ms``). The network has no input; its output is read on the state
after each of the ``2 * half`` updates (the initial state ``x(0)`` is not scored) and the
target is ``half`` zeros followed by ``half`` ones::

    o(t) = 0 for t = 1 .. half,    o(t) = 1 for t = half + 1 .. 2 half.

Loss and accuracy of one trial with outputs ``o_hat(t)``::

    L   = sum_t (o_hat(t) - o(t))^2 / half,
    acc = (1 / (2 half)) * #{t : (o_hat(t) > 0.5) == o(t)}.

The functions work on NumPy and JAX arrays alike (time is the last axis; leading axes
are batch axes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .rnn import RNNConfig

__all__ = ["accuracy", "loss", "targets"]


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
    """NumPy for NumPy inputs, jax.numpy otherwise (keeps the module importable without JAX)."""
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
