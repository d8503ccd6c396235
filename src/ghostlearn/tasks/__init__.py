"""Tasks as objects: trials (inputs, targets, mask), initial states, noise, loss, accuracy.

- :class:`Task` (:mod:`ghostlearn.tasks.base`): the base class a task derives from; a new
  task is a frozen dataclass with a ``name``, an ``n_in`` and a ``trials(cfg)`` method
  (see ``docs/tasks.md``).
- :class:`DelayedActivation` (``"da"``): the paper's task, the default of
  :func:`ghostlearn.train.train`.
- :class:`DCDT` (``"dcdt"``) and :class:`DMTS` (``"dmts"``): the authors' later tasks
  with an input channel (:mod:`ghostlearn.tasks.pulses`).

A task is stored with a run as ``task.to_dict()`` and read back by :func:`task_from_dict`.
"""

from __future__ import annotations

from typing import Any

from .base import (
    READOUTS,
    Task,
    TrialBatch,
    Trials,
    epoch_key,
    seed_key,
    seed_key_data,
)
from .delayed_activation import DelayedActivation
from .pulses import DCDT, DMTS

__all__ = [
    "DCDT",
    "DMTS",
    "READOUTS",
    "TASKS",
    "DelayedActivation",
    "Task",
    "TrialBatch",
    "Trials",
    "epoch_key",
    "make_task",
    "seed_key",
    "seed_key_data",
    "task_from_dict",
]

#: The built-in tasks by name.
TASKS: dict[str, type[Task]] = {
    DelayedActivation.name: DelayedActivation,
    DCDT.name: DCDT,
    DMTS.name: DMTS,
}


def _classes(extra: Any) -> dict[str, type[Task]]:
    out = dict(TASKS)
    for cls in extra:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise ValueError(f"classes must be Task subclasses, got {cls!r}")
        out[cls.name] = cls
    return out


def make_task(name: str, *, classes: Any = (), **fields: Any) -> Task:
    """A task from its name and fields, e.g. ``make_task("dcdt", noise=0.05)``.

    Args:
        name: one of :data:`TASKS` (or of ``classes``).
        classes: further :class:`Task` subclasses to look the name up in.
        **fields: the task's dataclass fields.

    Raises:
        ValueError: an unknown name or field, or a bad field value.
    """
    known = _classes(classes)
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"task must be one of {', '.join(map(repr, known))}, got {name!r}")
    cls = known[name]
    try:
        return cls(**fields)
    except TypeError:
        import dataclasses

        allowed = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = sorted(set(fields) - set(allowed))
        raise ValueError(
            f"task {name!r} has no field(s) {unknown}; its fields are {allowed}"
        ) from None


def task_from_dict(data: Any, *, classes: Any = ()) -> Task:
    """The task of ``task.to_dict()`` (e.g. a run's ``attrs["task"]``).

    Args:
        data: a mapping with ``"name"`` and the task's fields.
        classes: further :class:`Task` subclasses (a user's own tasks).

    Raises:
        ValueError: no ``"name"``, an unknown name or field.
    """
    if not hasattr(data, "items") or "name" not in data:
        raise ValueError(f"task must be a mapping with a 'name', got {data!r}")
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k != "name"}
    return make_task(data["name"], classes=classes, **fields)
