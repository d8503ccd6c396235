"""How runs are analysed: the settings of the analysis entry points, as one typed object.

:func:`~ghostlearn.analysis.run.analyze_run`,
:func:`~ghostlearn.analysis.run.analyze_run_lowrank` and
:func:`~ghostlearn.analysis.run.analyze_dataset` take an :class:`AnalysisSettings`, or
its fields as keywords that build one; the two calls below are the same analysis::

    analyze_dataset(ds, interval=(-5.0, 5.0), n_starts=8)
    analyze_dataset(ds, settings=AnalysisSettings(interval=(-5.0, 5.0), n_starts=8))

Each :class:`~ghostlearn.analysis.run.RunAnalysis` records the settings that applied to
it, resolved (``tau``, ``max_jump``, ``seed_grid``) and JSON-compatible, in its
``settings``. The slow-point finder's own settings are
:class:`~ghostlearn.analysis.slowpoints.SlowPointSettings`, taken the same way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _validate
from .events import DropDetector
from .points import DEFAULT_INTERVAL, GHOST_TOL, Method
from .verdict import VerdictRules

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["DEFAULT_TAU", "AnalysisSettings", "check_ghost_tol", "settings_or_keywords"]

#: Time constant of the networks analysed from plain arrays (the paper's, in ms).
DEFAULT_TAU = 10.0

_Settings = TypeVar("_Settings", bound="DataclassInstance")


def check_ghost_tol(value: Any) -> None:
    """Raise unless ``value`` is a number ``>= 0`` (``inf`` allowed, NaN not)."""
    if not (isinstance(value, (int, float)) and value >= 0) or math.isnan(value):
        raise ValueError(f"ghost_tol must be >= 0 (inf allowed), got {value!r}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnalysisSettings:
    """The settings of :func:`~ghostlearn.analysis.run.analyze_run`,
    :func:`~ghostlearn.analysis.run.analyze_run_lowrank` and
    :func:`~ghostlearn.analysis.run.analyze_dataset`.

    Attributes:
        tau: time constant of the networks (passage times are in its units); ``None``:
            the Dataset's (``attrs["model"]["tau"]``) for ``analyze_dataset``,
            :data:`DEFAULT_TAU` for runs given as arrays.
        interval: ``(lo, hi)`` of kappa searched: the interval of a rank-one flow, the box
            ``[lo, hi]^K`` of a rank-K flow.
        n_grid: grid points on the interval of the rank-one point finder
            (:func:`~ghostlearn.analysis.points.find_points`; also rank K = 1).
        ghost_tol: ghost significance threshold, the largest ``|f|`` of a ghost reported
            (:data:`~ghostlearn.analysis.points.GHOST_TOL`; ``inf``: every minimum of the
            speed).
        method: the rank-one point finder, ``"screen"`` or ``"grid"``.
        n_starts: random starts of the slow-point finder per snapshot (rank K >= 2).
        seed: seed of those starts.
        seed_grid: grid points per axis of the slow-point finder's seeds (``None``:
            :func:`~ghostlearn.analysis.slowpoints.default_grid`; 0: no grid).
        max_jump: largest move of a point linked between snapshots (``None``: 5 % of the
            interval's width, :attr:`resolved_max_jump`).
        detector: abrupt-drop settings (``None`` is taken as ``DropDetector()``).
        rules: verdict settings (``None`` is taken as ``VerdictRules()``).

    Raises:
        ValueError: a field out of range; the message names the field and its value.
    """

    tau: float | None = None
    interval: tuple[float, float] = DEFAULT_INTERVAL
    n_grid: int = 1000
    ghost_tol: float = GHOST_TOL
    method: Method = "screen"
    n_starts: int = 4
    seed: int = 0
    seed_grid: int | None = None
    max_jump: float | None = None
    detector: DropDetector = dataclasses.field(default_factory=DropDetector)
    rules: VerdictRules = dataclasses.field(default_factory=VerdictRules)

    def __post_init__(self) -> None:
        if self.tau is not None:
            _validate.positive("tau", self.tau)
        _validate.interval("interval", self.interval)
        lo, hi = (float(v) for v in self.interval)
        object.__setattr__(self, "interval", (lo, hi))
        _validate.at_least("n_grid", self.n_grid, 3)
        check_ghost_tol(self.ghost_tol)
        _validate.one_of("method", self.method, ("screen", "grid"))
        _validate.at_least("n_starts", self.n_starts, 1)
        _validate.seed("seed", self.seed)
        if self.seed_grid is not None and self.seed_grid != 0:
            _validate.at_least("seed_grid", self.seed_grid, 3)
        if self.max_jump is not None:
            _validate.positive("max_jump", self.max_jump)
        for name, cls in (("detector", DropDetector), ("rules", VerdictRules)):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, cls())
            elif not isinstance(value, cls):
                raise ValueError(f"{name} must be a {cls.__name__}, got {value!r}")

    @property
    def resolved_max_jump(self) -> float:
        """``max_jump``, or 5 % of the interval's width when it is ``None``."""
        lo, hi = self.interval
        return 0.05 * (hi - lo) if self.max_jump is None else float(self.max_jump)


def settings_or_keywords(
    cls: type[_Settings], settings: _Settings | None, keywords: Mapping[str, Any], *, where: str
) -> _Settings:
    """``settings``, or the ``cls`` built from a function's keywords (never both).

    Args:
        cls: the settings dataclass (:class:`AnalysisSettings`, ...).
        settings: the object given, or ``None``.
        keywords: the keywords given for its fields (a function's ``**keywords``).
        where: the function's name, for messages.

    Raises:
        TypeError: a keyword that is no field of ``cls``.
        ValueError: ``settings`` is not a ``cls``, or both it and keywords are given; a
            bad field (from ``cls``).
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(keywords) - names)
    if unknown:
        raise TypeError(f"{where}() got an unexpected keyword argument {unknown[0]!r}")
    if settings is None:
        return cls(**keywords)
    if not isinstance(settings, cls):
        raise ValueError(f"settings must be {cls.__name__}, got {type(settings).__name__}")
    if keywords:
        raise ValueError(
            f"give the settings as one {cls.__name__} object or as keywords, not both; got "
            f"settings and {', '.join(sorted(keywords))}"
        )
    return settings
