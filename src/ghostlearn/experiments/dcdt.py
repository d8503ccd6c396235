"""Beyond the paper: abrupt learning of the delayed cue task (DCDT) in rank-two networks.

The study is :mod:`ghostlearn.experiments.latent_tasks` with ``task = "dcdt"``; its
docstring gives the method, the rules and the measured costs.
"""

from __future__ import annotations

from . import latent_tasks as _study
from .base import Fidelity
from .latent_tasks import Config, Summary, caption, claims, plot, run, summarize

NAME = "dcdt"
TITLE = "Beyond the paper: abrupt learning of the delayed cue task (DCDT), rank two"

__all__ = [
    "NAME",
    "TITLE",
    "Config",
    "Summary",
    "caption",
    "claims",
    "config",
    "plot",
    "run",
    "summarize",
]


def config(fidelity: Fidelity) -> Config:
    """The DCDT study at ``"quick"`` or ``"paper"`` fidelity (:func:`latent_tasks.config`)."""
    return _study.config(fidelity, NAME)
