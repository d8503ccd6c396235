"""The authors' later tasks: a delayed cue task (DCDT) and delayed match-to-sample (DMTS).

Both have one input channel carrying signed pulses (``+1`` or ``-1``, 0 elsewhere) and one
output read by the latent tanh readout ``o = tanh(w_out . kappa + b_out)``,
``kappa = Nmat x``. Times are in ms and become steps as ``round(time / dt)``; with
``dt = 5 ms`` (``tau = 10 ms``) the defaults are a pulse of 2 steps, a delay of 10 and a
reaction period of 10. Writing ``p``, ``d``, ``r`` for these step counts and indexing the
steps of a trial from 0 (step ``t`` updates ``x(t) -> x(t + 1)`` with input ``u_t``; its
target is that of the output read on ``x(t + 1)``):

- :class:`DCDT` (``p + d + r = 22`` steps, two conditions ``s = +1, -1`` in that order):
  ``u_t = s`` for ``t < p``; target ``s`` for ``p + d <= t < p + d + r``, 0 before.
- :class:`DMTS` (``2 p + d + r = 24`` steps, four conditions ``(s1, s2) = (+1, +1),
  (-1, -1), (-1, +1), (+1, -1)`` in that order): ``u_t = s1`` for ``t < p``,
  ``u_t = s2`` for ``p + d <= t < 2 p + d``; target 1 for a match (``s1 == s2``) and 0 for
  a non-match during the reaction period ``2 p + d <= t < 2 p + d + r``, 0 before.

Every step is scored (the loss is the mean squared error over all steps and trials, the
authors' choice), so the network must also hold its output at 0 during the pulses and
the delay. Accuracy: the output binarised at ``+-0.33`` against the target, per step.
Each trial starts from ``x(0) = tanh(0.3 xi)``, ``xi ~ N(0, 1)`` per unit, drawn afresh
every epoch (see :mod:`ghostlearn.tasks.base`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import _validate
from .base import Task, Trials

if TYPE_CHECKING:
    from ..rnn import RNNConfig

__all__ = ["DCDT", "DMTS"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class _PulseTask(Task):
    """Shared timing of :class:`DCDT` and :class:`DMTS`.

    Attributes:
        pulse: duration of an input pulse [ms].
        delay: delay after the (first) pulse [ms].
        reaction: reaction period [ms].
    """

    n_in: ClassVar[int] = 1

    pulse: float = 10.0
    delay: float = 50.0
    reaction: float = 50.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("pulse", "delay", "reaction"):
            _validate.real(name, getattr(self, name))
            _validate.positive(name, getattr(self, name))

    def steps(self, cfg: RNNConfig) -> tuple[int, int, int]:
        """``(p, d, r)``: the pulse, delay and reaction period in steps of ``cfg.dt``.

        Raises:
            ValueError: if one of them rounds to 0 steps.
        """
        out = []
        for name in ("pulse", "delay", "reaction"):
            ms = getattr(self, name)
            n = int(round(ms / cfg.dt))
            if n < 1:
                raise ValueError(
                    f"{name} / dt must round to >= 1 step, got {name}={ms}, dt={cfg.dt}"
                )
            out.append(n)
        return out[0], out[1], out[2]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DCDT(_PulseTask):
    """Delayed cue task: report the sign of a cue after a delay (``name = "dcdt"``).

    Two conditions (cue ``+1``, then ``-1``); see the module doc for the step indices.
    Attributes as in :class:`~ghostlearn.tasks.Task` plus ``pulse``, ``delay``,
    ``reaction`` [ms].
    """

    name: ClassVar[str] = "dcdt"

    def trials(self, cfg: RNNConfig) -> Trials:
        """Inputs ``[2, p + d + r, 1]``, targets ``[2, p + d + r, 1]``, every step scored."""
        p, d, r = self.steps(cfg)
        S = p + d + r
        signs = np.array([1.0, -1.0])
        u = np.zeros((2, S, 1))
        y = np.zeros((2, S, 1))
        u[:, :p, 0] = signs[:, None]
        y[:, p + d :, 0] = signs[:, None]
        return Trials(inputs=u, targets=y, mask=np.ones((2, S), bool))


@dataclasses.dataclass(frozen=True, kw_only=True)
class DMTS(_PulseTask):
    """Delayed match-to-sample: do two pulses, a delay apart, have the same sign? (``"dmts"``).

    Four conditions ``(+,+), (-,-), (-,+), (+,-)``; target 1 in the reaction period for a
    match, 0 for a non-match (see the module doc for the step indices).
    """

    name: ClassVar[str] = "dmts"

    #: The sign pairs ``(s1, s2)`` of the four conditions, in order.
    PAIRS: ClassVar[tuple[tuple[int, int], ...]] = ((1, 1), (-1, -1), (-1, 1), (1, -1))

    def trials(self, cfg: RNNConfig) -> Trials:
        """Inputs ``[4, 2 p + d + r, 1]``, targets ``[4, 2 p + d + r, 1]``, every step scored."""
        p, d, r = self.steps(cfg)
        S = 2 * p + d + r
        pairs = np.asarray(self.PAIRS, dtype=float)
        B = len(pairs)
        u = np.zeros((B, S, 1))
        y = np.zeros((B, S, 1))
        u[:, :p, 0] = pairs[:, :1]
        u[:, p + d : 2 * p + d, 0] = pairs[:, 1:]
        y[:, 2 * p + d :, 0] = (pairs[:, :1] == pairs[:, 1:]).astype(float)
        return Trials(inputs=u, targets=y, mask=np.ones((B, S), bool))
