"""The delayed-activation (DA) task: targets, loss and accuracy (paper Figs. 3-4, Eq. 17).

The functions live in :mod:`ghostlearn.tasks.delayed_activation` with the task as an
object, :class:`~ghostlearn.tasks.DelayedActivation`; this module keeps their names
importable from ``ghostlearn.task``::

    o(t) = 0 for t = 1 .. half,    o(t) = 1 for t = half + 1 .. 2 half,
    L   = sum_t (o_hat(t) - o(t))^2 / half,
    acc = (1 / (2 half)) * #{t : (o_hat(t) > 0.5) == o(t)}.

Every task, the DA task included, is described in :mod:`ghostlearn.tasks`.
"""

from __future__ import annotations

from .tasks.delayed_activation import DelayedActivation, accuracy, loss, targets

__all__ = ["DelayedActivation", "accuracy", "loss", "targets"]
