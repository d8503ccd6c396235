"""One call per training run: points at every snapshot, tracks, events and the verdict.

- :func:`analyze_run`: a rank-one run from plain arrays (snapshot parameters ``m, n, b``
  ``[S, N]`` at snapshot ``epochs [S]``, and per-epoch metrics).
- :func:`analyze_run_lowrank`: the same for rank K (``M [S, N, K]``, ``Nmat [S, K, N]``);
  K = 1 is sent to the exact 1-D finder.
- :func:`analyze_dataset`: every network of a training Dataset as the engine writes it
  (``snap_m``/``snap_M``... over ``(net, snapshot, ...)``, metrics over ``(net, epoch)``;
  see ``docs/results.md``). All networks' snapshots go through the point finder in one
  batched call. A diverged network is analysed up to its divergence.

All return :class:`RunAnalysis` (:func:`analyze_dataset` a :class:`PopulationAnalysis`, a
list of them). Tables: :meth:`RunAnalysis.summary` (one flat row),
:meth:`RunAnalysis.to_xarray` (the per-snapshot counts), :meth:`RunAnalysis.to_dict`
(everything, JSON-compatible), :meth:`PopulationAnalysis.to_dataframe` (one row per
network) and :meth:`PopulationAnalysis.to_xarray` (counts over ``(net, snapshot)``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, SupportsIndex, overload

import numpy as np

from .. import _validate
from .events import AbruptDrop, detect_abrupt_drops
from .flows import LowRankFlow, Rank1Flow, as_float_array
from .points import FlowPoints, find_points
from .settings import DEFAULT_TAU, AnalysisSettings, settings_or_keywords
from .slowpoints import SlowPoints, SlowPointSettings, default_grid, find_slow_points_along
from .tracking import Bifurcation, GhostEvent, Track, find_bifurcations, ghost_events, track_points
from .verdict import Verdict, classify_run

if TYPE_CHECKING:
    from ..rnn import RNNConfig

__all__ = [
    "LatentReadout",
    "PopulationAnalysis",
    "RunAnalysis",
    "SnapshotEvents",
    "analyze_dataset",
    "analyze_run",
    "analyze_run_lowrank",
    "dataset_readout",
    "dataset_trial",
    "snapshot_events",
]


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if np.isfinite(v) else None
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclasses.dataclass(frozen=True, eq=False)
class LatentReadout:
    """A rank-K network's readout at each snapshot, to draw its decision boundary.

    - ``kind='latent'``: ``o = tanh(w_out . kappa + b_out)`` with ``w_out`` ``[S, K]``: the
      boundary ``w_out . kappa + b_out = threshold`` is a line in the latent plane.
    - ``kind='state'``: ``o = sigmoid(w_out . x + b_out)`` with ``w_out`` ``[S, N]``. The
      readout sees ``x``, which is a function of ``kappa`` only at rest,
      ``x = tanh(M kappa + W_in u + b)`` (exactly at fixed points, to ``O(|F|)`` near slow
      points; :mod:`~ghostlearn.analysis.flows`): the boundary drawn is that of the state at
      rest, ``w_out . tanh(M kappa + W_in u + b) + b_out = threshold``.

    Attributes:
        kind: ``'latent'`` or ``'state'``.
        w_out: ``[S, K]`` or ``[S, N]``.
        b_out: ``[S]``.
        threshold: the boundary's value of the pre-activation ``z = w_out . (.) + b_out``
            (0: ``o = 0.5`` for the sigmoid, ``o = 0`` for tanh).
    """

    kind: str
    w_out: np.ndarray
    b_out: np.ndarray
    threshold: float = 0.0

    def __post_init__(self) -> None:
        _validate.one_of("kind", self.kind, ("latent", "state"))
        w = np.asarray(self.w_out, dtype=np.float64)
        bo = np.asarray(self.b_out, dtype=np.float64)
        if w.ndim != 2 or bo.shape != w.shape[:1]:
            raise ValueError(
                f"w_out must have shape [S, K or N] and b_out [S], got {w.shape} and {bo.shape}"
            )
        _validate.finite("threshold", self.threshold)
        object.__setattr__(self, "w_out", w)
        object.__setattr__(self, "b_out", bo)


@dataclasses.dataclass(frozen=True, eq=False)
class RunAnalysis:
    """Everything the analysis found in one run.

    Attributes:
        model: ``'rank1'`` or ``'lowrank'`` (rank K > 1).
        snapshot_epochs: ``[S]``.
        points: per-snapshot :class:`~ghostlearn.analysis.points.FlowPoints` (rank one) or
            :class:`~ghostlearn.analysis.slowpoints.SlowPoints` (rank K), batch ``[S]``.
        flow: the flows themselves (parameters), batch ``[S]``, for plotting.
        fixed_tracks, ghost_tracks: :class:`~ghostlearn.analysis.tracking.Track` lists.
        bifurcations: changes of the number of fixed points.
        ghost_events: emergences and disappearances of ghosts.
        drops: abrupt drops of the loss.
        verdict: the run's :class:`~ghostlearn.analysis.verdict.Verdict`.
        loss_epochs, loss, grad_norm, accuracy: the metrics analysed (``[E]``; optional
            ones None).
        settings: the settings that applied, resolved (``tau``, ``max_jump``,
            ``seed_grid``) and JSON-compatible: those of the
            :class:`~ghostlearn.analysis.settings.AnalysisSettings` given, rank one
            ``tau, n_grid, ghost_tol, method``, rank K ``tau, ghost_tol, n_starts, seed,
            seed_grid`` (and the input ``u`` when there is one), then ``interval,
            max_jump, detector, rules``.
        readout: rank K: the readout at each snapshot (:class:`LatentReadout`), when known
            (:func:`analyze_dataset` reads it from the training data), for the decision
            boundary of the phase portraits; else None.
        trial: the task's trial, when every trial starts at ``x(0) = x0`` with no input
            (the delayed-activation task): ``{"x0", "D", "n_steps"}``, for drawing the
            latent trajectory ``kappa(t)`` (:func:`~ghostlearn.analysis.plane.latent_trial`);
            else None.
    """

    model: str
    snapshot_epochs: np.ndarray
    points: FlowPoints | SlowPoints
    flow: Rank1Flow | LowRankFlow
    fixed_tracks: list[Track]
    ghost_tracks: list[Track]
    bifurcations: list[Bifurcation]
    ghost_events: list[GhostEvent]
    drops: list[AbruptDrop]
    verdict: Verdict
    loss_epochs: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray | None
    accuracy: np.ndarray | None
    settings: dict[str, Any]
    readout: LatentReadout | None = None
    trial: dict[str, float] | None = None

    @property
    def n_fixed(self) -> np.ndarray:
        """``[S]`` fixed points per snapshot."""
        return np.asarray(self.points.n_fixed)

    @property
    def n_ghosts(self) -> np.ndarray:
        """``[S]`` ghosts per snapshot."""
        return np.asarray(self.points.n_ghosts)

    @property
    def ghost_emergence_epoch(self) -> float | None:
        """Epoch of the first snapshot with a ghost after one without (None if never)."""
        for ev in self.ghost_events:
            if ev.kind == "emerge":
                return ev.epoch_after
        return None

    def _snapshot_table(self) -> dict[str, Any]:
        p = self.points
        table: dict[str, Any] = {"epoch": self.snapshot_epochs, "n_fixed": self.n_fixed}
        if isinstance(p, FlowPoints):
            for name in ("stable", "unstable", "half-stable"):
                table[f"n_{name.replace('-', '_')}"] = p.count(name)
            depth = p.ghost_depth
        else:
            for name in ("stable", "unstable", "saddle", "marginal"):
                table[f"n_{name}"] = p.count(name)
            depth = np.where(p.kind == 4, p.speed, np.nan)
        table["n_ghosts"] = self.n_ghosts
        with np.errstate(all="ignore"):
            has = np.any(np.isfinite(depth), axis=-1) if depth.shape[-1] else np.zeros(0, bool)
            min_depth = np.full(self.snapshot_epochs.shape, np.nan)
            if depth.shape[-1]:
                min_depth[has] = np.nanmin(depth[has], axis=-1)
        table["min_ghost_depth"] = min_depth
        return table

    def __repr__(self) -> str:
        """A few lines: the verdict, the first drop, the events and the point counts."""
        e = self.snapshot_epochs
        span = f"epochs {e[0]:g}-{e[-1]:g}" if e.size else "no snapshot"
        le = self.loss_epochs
        metrics = f"metrics at {le.size} epochs" + (f" ({le[0]:g}-{le[-1]:g})" if le.size else "")
        lines = [f"RunAnalysis({self.model}, {e.size} snapshots at {span}, {metrics})"]
        lines.append(f"  verdict: {self.verdict.label}: {self.verdict.reason}")
        if self.drops:
            d = self.drops[0]
            more = f" (+{len(self.drops) - 1} more)" if len(self.drops) > 1 else ""
            lines.append(
                f"  drop:    epochs {d.onset_epoch:g}-{d.end_epoch:g}, {d.size_decades:.3g} "
                f"decades, after a plateau from epoch {d.plateau_start_epoch:g}{more}"
            )
        else:
            lines.append("  drop:    none")
        real = sum(b.is_bifurcation for b in self.bifurcations)
        emerged = self.ghost_emergence_epoch
        lines.append(
            f"  events:  {real} bifurcation(s) ({len(self.bifurcations) - real} boundary "
            f"crossing(s)), {len(self.ghost_events)} ghost event(s)"
            + (f", first ghost emerges at epoch {emerged:g}" if emerged is not None else "")
        )
        if e.size:
            nf, ng = self.n_fixed, self.n_ghosts
            lines.append(
                f"  points:  {int(nf[-1])} fixed point(s) and {int(ng[-1])} ghost(s) at the "
                f"last snapshot; at most {int(nf.max())} and {int(ng.max())}; "
                f"{len(self.fixed_tracks)} fixed and {len(self.ghost_tracks)} ghost track(s)"
            )
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        """One flat row: verdict, first drop, event epochs and counts (NaN where absent).

        Returns:
            Dict of plain Python values, the columns of
            :meth:`PopulationAnalysis.to_dataframe`: ``model``, ``verdict``, ``reason``,
            ``n_snapshots``, ``first_snapshot_epoch``, ``last_snapshot_epoch``,
            ``n_drops``, ``drop_onset_epoch``, ``drop_end_epoch``,
            ``plateau_start_epoch``, ``drop_decades``, ``loss_before_drop``,
            ``loss_after_drop``, ``n_bifurcations`` (not counting boundary crossings),
            ``first_bifurcation_epoch`` (the snapshot after it), ``verdict_bifurcation_epoch``,
            ``verdict_ghost_epoch``, ``n_ghost_events``, ``ghost_emergence_epoch``,
            ``final_loss``, ``final_accuracy``, ``final_n_fixed``, ``final_n_ghosts``,
            ``max_n_fixed``, ``max_n_ghosts``, ``n_fixed_tracks``, ``n_ghost_tracks``.
        """
        nan = float("nan")
        d = self.drops[0] if self.drops else None
        real = [b for b in self.bifurcations if b.is_bifurcation]
        v = self.verdict
        e = self.snapshot_epochs
        nf, ng = self.n_fixed, self.n_ghosts
        emerged = self.ghost_emergence_epoch

        def last(a: np.ndarray | None) -> float:
            return float(a[-1]) if a is not None and a.size else nan

        return {
            "model": self.model,
            "verdict": v.label,
            "reason": v.reason,
            "n_snapshots": int(e.size),
            "first_snapshot_epoch": float(e[0]) if e.size else nan,
            "last_snapshot_epoch": float(e[-1]) if e.size else nan,
            "n_drops": len(self.drops),
            "drop_onset_epoch": d.onset_epoch if d else nan,
            "drop_end_epoch": d.end_epoch if d else nan,
            "plateau_start_epoch": d.plateau_start_epoch if d else nan,
            "drop_decades": d.size_decades if d else nan,
            "loss_before_drop": d.loss_before if d else nan,
            "loss_after_drop": d.loss_after if d else nan,
            "n_bifurcations": len(real),
            "first_bifurcation_epoch": real[0].epoch_after if real else nan,
            "verdict_bifurcation_epoch": v.bifurcation.epoch_after if v.bifurcation else nan,
            "verdict_ghost_epoch": nan if v.ghost_epoch is None else float(v.ghost_epoch),
            "n_ghost_events": len(self.ghost_events),
            "ghost_emergence_epoch": nan if emerged is None else float(emerged),
            "final_loss": last(self.loss),
            "final_accuracy": last(self.accuracy),
            "final_n_fixed": int(nf[-1]) if nf.size else 0,
            "final_n_ghosts": int(ng[-1]) if ng.size else 0,
            "max_n_fixed": int(nf.max()) if nf.size else 0,
            "max_n_ghosts": int(ng.max()) if ng.size else 0,
            "n_fixed_tracks": len(self.fixed_tracks),
            "n_ghost_tracks": len(self.ghost_tracks),
        }

    def to_xarray(self) -> Any:
        """The per-snapshot table as an ``xarray.Dataset`` over ``snapshot``.

        Returns:
            Dataset with coordinate ``snapshot`` (the snapshot epochs) and variables
            ``n_fixed``, ``n_stable``, ``n_unstable``, ``n_half_stable`` (rank one) or
            ``n_saddle`` and ``n_marginal`` (rank K), ``n_ghosts`` and ``min_ghost_depth``
            (the smallest ``|f|`` of a ghost, NaN without one), each with ``long_name`` and
            ``units``;
            attributes ``model``, ``verdict`` and ``verdict_reason``. The same numbers as
            ``to_dict()["snapshots"]``.
        """
        import xarray as xr

        table = self._snapshot_table()
        epochs = table.pop("epoch")
        data = {
            name: (
                ("snapshot",),
                np.asarray(values),
                {"long_name": _TABLE_NAMES.get(name, name.replace("_", " ")), "units": "1"},
            )
            for name, values in table.items()
        }
        coords = {
            "snapshot": (
                ("snapshot",),
                np.asarray(epochs),
                {"long_name": "epoch of the parameter snapshot", "units": "1"},
            )
        }
        attrs = {"model": self.model, "verdict": self.verdict.label,
                 "verdict_reason": self.verdict.reason}  # fmt: skip
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def to_dict(self, *, snapshots: bool = True) -> dict[str, Any]:
        """JSON-compatible summary: verdict, events, tracks, counts per snapshot, settings.

        Args:
            snapshots: include the per-snapshot table (counts and smallest ghost depth at
                every snapshot; the bulk of the output for long runs).
        """
        out = {
            "model": self.model,
            "verdict": self.verdict.to_dict(),
            "drops": [d.to_dict() for d in self.drops],
            "bifurcations": [b.to_dict() for b in self.bifurcations],
            "ghost_events": [g.to_dict() for g in self.ghost_events],
            "ghost_emergence_epoch": self.ghost_emergence_epoch,
            "tracks": {
                "fixed": [t.to_dict() for t in self.fixed_tracks],
                "ghost": [t.to_dict() for t in self.ghost_tracks],
            },
            "settings": self.settings,
        }
        if snapshots:
            out["snapshots"] = self._snapshot_table()
        return _jsonable(out)


_SUMMARY_COLUMNS = (
    "model", "verdict", "reason", "n_snapshots", "first_snapshot_epoch",
    "last_snapshot_epoch", "n_drops", "drop_onset_epoch", "drop_end_epoch",
    "plateau_start_epoch", "drop_decades", "loss_before_drop", "loss_after_drop",
    "n_bifurcations", "first_bifurcation_epoch", "verdict_bifurcation_epoch",
    "verdict_ghost_epoch", "n_ghost_events", "ghost_emergence_epoch", "final_loss",
    "final_accuracy", "final_n_fixed", "final_n_ghosts", "max_n_fixed", "max_n_ghosts",
    "n_fixed_tracks", "n_ghost_tracks",
)  # fmt: skip

_TABLE_NAMES = {
    "n_fixed": "number of fixed points",
    "n_stable": "number of stable fixed points",
    "n_unstable": "number of unstable fixed points",
    "n_half_stable": "number of half-stable fixed points",
    "n_saddle": "number of saddle fixed points",
    "n_marginal": "number of marginal (non-hyperbolic) fixed points",
    "n_ghosts": "number of ghost points",
    "min_ghost_depth": "smallest speed |f| at a ghost point",
}


class PopulationAnalysis(list[RunAnalysis]):
    """The analyses of a population of networks: a list of :class:`RunAnalysis`.

    It behaves as a list (indexing, iteration, ``len``; a slice keeps the type) and adds
    tables over the population. :func:`analyze_dataset` returns one; wrap any list of
    :class:`RunAnalysis` with ``PopulationAnalysis(runs)``.

    Attributes:
        coords: per-network labels, each a sequence as long as the list, e.g. ``net``
            (the position in the training Dataset), ``seed``, ``lr``, ``c``, ``rank``.
    """

    def __init__(
        self,
        runs: Iterable[RunAnalysis] = (),
        coords: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(runs)
        for i, r in enumerate(self):
            if not isinstance(r, RunAnalysis):
                raise ValueError(
                    f"runs must hold RunAnalysis objects, got {type(r).__name__} at {i}"
                )
        out: dict[str, np.ndarray] = {}
        for name, values in (coords or {}).items():
            a = np.asarray(values)
            if a.shape != (len(self),):
                raise ValueError(
                    f"coords[{name!r}] must have one entry per run ({len(self)}), "
                    f"got shape {a.shape}"
                )
            out[str(name)] = a
        self.coords: dict[str, np.ndarray] = out

    @overload
    def __getitem__(self, index: SupportsIndex) -> RunAnalysis: ...

    @overload
    def __getitem__(self, index: slice) -> PopulationAnalysis: ...

    def __getitem__(self, index: SupportsIndex | slice) -> RunAnalysis | PopulationAnalysis:
        if isinstance(index, slice):
            return PopulationAnalysis(
                super().__getitem__(index), {k: v[index] for k, v in self.coords.items()}
            )
        return super().__getitem__(index)

    def verdict_counts(self) -> dict[str, int]:
        """Number of networks per verdict label, most common first."""
        counts: dict[str, int] = {}
        for r in self:
            counts[r.verdict.label] = counts.get(r.verdict.label, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {label}" for label, n in self.verdict_counts().items())
        labels = f"; coords {', '.join(self.coords)}" if self.coords else ""
        return f"PopulationAnalysis({len(self)} network(s): {counts or 'none'}{labels})"

    def to_dataframe(self) -> Any:
        """One row per network: its coordinates, then :meth:`RunAnalysis.summary`.

        Returns:
            ``pandas.DataFrame`` indexed by ``net`` (the ``net`` coordinate when present,
            else the position in the list), with the ``coords`` as the first columns.
        """
        import pandas as pd

        coords = dict(self.coords)
        index = coords.pop("net", np.arange(len(self)))
        rows = [
            {**{k: v[i].item() for k, v in coords.items()}, **r.summary()}
            for i, r in enumerate(self)
        ]
        return pd.DataFrame(
            rows, index=pd.Index(index, name="net"), columns=[*coords, *_SUMMARY_COLUMNS]
        )

    def to_xarray(self) -> Any:
        """The per-snapshot tables of every network as one ``xarray.Dataset``.

        Returns:
            Dataset over ``(net, snapshot)``: the variables of :meth:`RunAnalysis.to_xarray`
            on the union of the networks' snapshot epochs (NaN where a network has no
            snapshot, e.g. after it diverged, so counts are floats), plus ``verdict``
            ``(net)`` and the ``coords`` as coordinates along ``net``.
        """
        import xarray as xr

        if not self:
            raise ValueError("no runs to tabulate: the PopulationAnalysis is empty")
        coords = dict(self.coords)
        net = coords.pop("net", np.arange(len(self)))
        tables = []
        for r in self:
            t = r.to_xarray()
            t.attrs = {}
            tables.append(t)
        ds = xr.concat(tables, dim="net", join="outer", fill_value=np.nan)
        ds = ds.assign_coords(net=("net", net, {"long_name": "network index", "units": "1"}))
        for name, values in coords.items():
            ds = ds.assign_coords({name: ("net", values)})
        ds["verdict"] = ("net", np.array([r.verdict.label for r in self]), {
            "long_name": "verdict of the run", "units": "1"})  # fmt: skip
        return ds


# --------------------------------------------------------------------------- validation


def _check_epochs(name: str, epochs: Any) -> np.ndarray:
    e = as_float_array(name, epochs, min_ndim=1)
    if e.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {e.shape}")
    if e.size > 1 and np.any(np.diff(e) <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    return e


def _check_metrics(
    loss: Any, grad_norm: Any, accuracy: Any, loss_epochs: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    y = as_float_array("loss", loss, min_ndim=1)
    if y.ndim != 1:
        raise ValueError(f"loss must be 1-D (one value per epoch), got shape {y.shape}")
    e = np.arange(y.size, dtype=np.float64) if loss_epochs is None else None
    if e is None:
        e = _check_epochs("loss_epochs", loss_epochs)
        if e.shape != y.shape:
            raise ValueError(f"loss_epochs must have the shape of loss {y.shape}, got {e.shape}")
    out: list[np.ndarray | None] = []
    for name, v in (("grad_norm", grad_norm), ("accuracy", accuracy)):
        if v is None:
            out.append(None)
            continue
        a = as_float_array(name, v, min_ndim=1)
        if a.shape != y.shape:
            raise ValueError(f"{name} must have the shape of loss {y.shape}, got {a.shape}")
        out.append(a)
    return y, e, out[0], out[1]


def _tau(settings: AnalysisSettings, default: float) -> float:
    """``settings.tau``, or ``default`` when it is None."""
    return default if settings.tau is None else float(settings.tau)


def _settings_record(
    settings: AnalysisSettings, *, model: str, tau: float, rank: int = 1, u: Any = None
) -> dict[str, Any]:
    """The ``settings`` a :class:`RunAnalysis` records: those of ``settings`` that apply to
    ``model`` (rank ``rank``, under input ``u``), resolved and JSON-compatible."""
    s = settings
    out: dict[str, Any]
    if model == "rank1":
        out = {"tau": tau, "n_grid": s.n_grid, "ghost_tol": s.ghost_tol, "method": s.method}
    else:
        seed_grid = default_grid(rank) if s.seed_grid is None else int(s.seed_grid)
        out = {"tau": tau, "ghost_tol": s.ghost_tol, "n_starts": s.n_starts, "seed": s.seed,
               "seed_grid": seed_grid}  # fmt: skip
        if u is not None:
            out["u"] = np.asarray(u, dtype=np.float64).reshape(-1).tolist()
    out |= {
        "interval": list(s.interval),
        "max_jump": s.resolved_max_jump,
        "detector": dataclasses.asdict(s.detector),
        "rules": dataclasses.asdict(s.rules),
    }
    return _jsonable(out)


# --------------------------------------------------------------------------- assembly


@dataclasses.dataclass(frozen=True)
class SnapshotEvents:
    """What the points found at every snapshot say on their own, without the loss.

    Attributes:
        fixed_tracks, ghost_tracks: the points followed across snapshots.
        bifurcations: changes of the number of fixed points.
        ghost_events: ghosts appearing and vanishing.
    """

    fixed_tracks: list[Track]
    ghost_tracks: list[Track]
    bifurcations: list[Bifurcation]
    ghost_events: list[GhostEvent]


def snapshot_events(
    epochs: np.ndarray,
    points: FlowPoints | SlowPoints,
    *,
    interval: tuple[float, float],
    max_jump: float,
) -> SnapshotEvents:
    """Tracks, bifurcations and ghost events of the points found at every snapshot."""
    if isinstance(points, FlowPoints):
        fk, fkinds = points.fixed_kappa, points.fixed_kinds
        gk, gkinds, gdepth = points.ghost_kappa, points.ghost_kinds, points.ghost_depth
    else:
        fk, fkinds = points.fixed()
        gk, gkinds, gdepth = points.ghosts()
    ghost_tracks = track_points(
        epochs, gk, gkinds, depth=gdepth, category="ghost", max_jump=max_jump
    )
    bifs = find_bifurcations(epochs, fk, fkinds, interval=interval, max_jump=max_jump)
    return SnapshotEvents(
        fixed_tracks=track_points(epochs, fk, fkinds, category="fixed", max_jump=max_jump),
        ghost_tracks=ghost_tracks,
        bifurcations=bifs,
        ghost_events=ghost_events(epochs, ghost_tracks, bifs, max_jump=max_jump),
    )


def _assemble(
    *,
    model: str,
    epochs: np.ndarray,
    points: FlowPoints | SlowPoints,
    flow: Rank1Flow | LowRankFlow,
    loss: np.ndarray,
    loss_epochs: np.ndarray,
    grad_norm: np.ndarray | None,
    accuracy: np.ndarray | None,
    settings: AnalysisSettings,
    record: dict[str, Any],
    readout: LatentReadout | None = None,
    trial: dict[str, float] | None = None,
) -> RunAnalysis:
    """Tracks, events and the verdict of the points found at every snapshot.

    ``record``: the settings stored (:func:`_settings_record`).
    """
    ev = snapshot_events(
        epochs, points, interval=settings.interval, max_jump=settings.resolved_max_jump
    )
    drops = detect_abrupt_drops(loss, loss_epochs, detector=settings.detector)
    verdict = classify_run(
        loss_epochs=loss_epochs,
        loss=loss,
        drops=drops,
        bifurcations=ev.bifurcations,
        snapshot_epochs=epochs,
        n_ghosts=points.n_ghosts,
        grad_norm=grad_norm,
        accuracy=accuracy,
        rules=settings.rules,
    )
    return RunAnalysis(
        model=model,
        snapshot_epochs=epochs,
        points=points,
        flow=flow,
        fixed_tracks=ev.fixed_tracks,
        ghost_tracks=ev.ghost_tracks,
        bifurcations=ev.bifurcations,
        ghost_events=ev.ghost_events,
        drops=drops,
        verdict=verdict,
        loss_epochs=loss_epochs,
        loss=loss,
        grad_norm=grad_norm,
        accuracy=accuracy,
        settings=record,
        readout=readout,
        trial=trial,
    )


def analyze_run(
    epochs: Any,
    m: Any,
    n: Any,
    b: Any,
    loss: Any,
    grad_norm: Any = None,
    *,
    accuracy: Any = None,
    loss_epochs: Any = None,
    settings: AnalysisSettings | None = None,
    **keywords: Any,
) -> RunAnalysis:
    """Analyse one rank-one training run.

    How it is analysed comes as an :class:`~ghostlearn.analysis.settings.AnalysisSettings`
    or as keywords that build one: ``analyze_run(..., interval=(-5, 5), n_grid=2000)`` is
    ``analyze_run(..., settings=AnalysisSettings(interval=(-5, 5), n_grid=2000))``.

    Args:
        epochs: ``[S]`` strictly increasing snapshot epochs.
        m, n, b: ``[S, N]`` parameters at each snapshot.
        loss: ``[E]`` loss per epoch.
        grad_norm: ``[E]`` optional gradient norm per epoch.
        accuracy: ``[E]`` optional accuracy per epoch.
        loss_epochs: ``[E]`` epochs of the metrics (default ``0 .. E-1``).
        settings: the analysis settings (``tau`` defaults to 10); those used here are
            ``tau``, ``interval``, ``n_grid``, ``ghost_tol``, ``method``, ``max_jump``,
            ``detector`` and ``rules``. Or give its fields as keywords.

    Returns:
        :class:`RunAnalysis`.

    Raises:
        ValueError: naming the missing, mis-shaped or non-finite input or bad setting, or
            settings given both as an object and as keywords.
        TypeError: a keyword that is no field of ``AnalysisSettings``.
    """
    s = settings_or_keywords(AnalysisSettings, settings, keywords, where="analyze_run")
    e = _check_epochs("epochs", epochs)
    flow = Rank1Flow(m, n, b)
    if flow.m.ndim != 2 or flow.m.shape[0] != e.size:
        raise ValueError(
            f"m must have shape (S, N) with S = len(epochs) = {e.size}, got {flow.m.shape}"
        )
    y, le, g, acc = _check_metrics(loss, grad_norm, accuracy, loss_epochs)
    tau = _tau(s, DEFAULT_TAU)
    points = find_points(
        flow, interval=s.interval, n_grid=s.n_grid, tau=tau, ghost_tol=s.ghost_tol,
        method=s.method,
    )  # fmt: skip
    return _assemble(
        model="rank1",
        epochs=e,
        points=points,
        flow=flow,
        loss=y,
        loss_epochs=le,
        grad_norm=g,
        accuracy=acc,
        settings=s,
        record=_settings_record(s, model="rank1", tau=tau),
    )


def _slow_point_settings(settings: AnalysisSettings, tau: float) -> SlowPointSettings:
    """The slow-point finder's settings of a rank-K analysis."""
    s = settings
    return SlowPointSettings(
        box=s.interval, n_starts=s.n_starts, seed=s.seed, n_grid=s.seed_grid, tau=tau,
        ghost_tol=s.ghost_tol,
    )  # fmt: skip


def analyze_run_lowrank(
    epochs: Any,
    M: Any,
    Nmat: Any,
    b: Any,
    loss: Any,
    grad_norm: Any = None,
    *,
    accuracy: Any = None,
    loss_epochs: Any = None,
    settings: AnalysisSettings | None = None,
    W_in: Any = None,
    u: Any = None,
    readout: LatentReadout | None = None,
    trial: dict[str, float] | None = None,
    progress: Callable[[int, int], None] | None = None,
    **keywords: Any,
) -> RunAnalysis:
    """Analyse one rank-K training run (``W = M Nmat``, latent ``kappa = Nmat x``).

    The flow at each snapshot is ``F(kappa) = -kappa + Nmat tanh(M kappa + W_in u + b)``
    (exact for the latent variables, see :mod:`~ghostlearn.analysis.flows`), without input
    unless ``W_in`` and ``u`` are given. Its fixed points (with stability classes) and
    ghosts come from :func:`~ghostlearn.analysis.slowpoints.find_slow_points_along`.

    Args:
        epochs: ``[S]`` snapshot epochs.
        M: ``[S, N, K]``; Nmat: ``[S, K, N]``; b: ``[S, N]``.
        loss, grad_norm, accuracy, loss_epochs: as in :func:`analyze_run`.
        settings: the analysis settings (``tau`` defaults to 10), or its fields as
            keywords, as in :func:`analyze_run`. ``interval`` is the box searched in
            every latent coordinate; ``n_starts``, ``seed`` and ``seed_grid`` set the
            slow-point finder; ``n_grid`` and ``method`` serve K = 1 (the exact 1-D
            finder is used).
        W_in: optional ``[S, N, n_in]`` input weights; u: the constant input ``[n_in]``.
        readout: the readout at each snapshot (stored for the phase portraits).
        trial: ``{"x0", "D", "n_steps"}`` of the task's trial (stored for the portraits).
        progress: ``progress(done, total)`` in flows searched (two passes: ``total = 2 S``).

    Returns:
        :class:`RunAnalysis` (``model='rank1'`` when K = 1).

    Raises:
        ValueError, TypeError: as :func:`analyze_run`.
    """
    s = settings_or_keywords(AnalysisSettings, settings, keywords, where="analyze_run_lowrank")
    e = _check_epochs("epochs", epochs)
    flow = LowRankFlow(M, Nmat, b, W_in, u)
    if flow.M.ndim != 3 or flow.M.shape[0] != e.size:
        raise ValueError(
            f"M must have shape (S, N, K) with S = len(epochs) = {e.size}, got {flow.M.shape}"
        )
    if flow.rank == 1:
        # The input only shifts the bias: the exact 1-D finder sees b + W_in u.
        return analyze_run(
            e, flow.M[..., 0], flow.Nmat[..., 0, :], flow.drive, loss, grad_norm,
            accuracy=accuracy, loss_epochs=loss_epochs, settings=s,
        )  # fmt: skip
    y, le, g, acc = _check_metrics(loss, grad_norm, accuracy, loss_epochs)
    tau = _tau(s, DEFAULT_TAU)
    points = find_slow_points_along(flow, settings=_slow_point_settings(s, tau), progress=progress)
    return _assemble(
        model="lowrank",
        epochs=e,
        points=points,
        flow=flow,
        loss=y,
        loss_epochs=le,
        grad_norm=g,
        accuracy=acc,
        settings=s,
        record=_settings_record(s, model="lowrank", tau=tau, rank=flow.rank, u=u),
        readout=readout,
        trial=trial,
    )


def _model_of(ds: Any) -> RNNConfig:
    """The :class:`~ghostlearn.rnn.RNNConfig` of a training Dataset (ValueError if none)."""
    from ..train import model_from_dataset  # the training engine, imported on first use

    return model_from_dataset(ds)


def analyze_dataset(
    ds: Any,
    *,
    settings: AnalysisSettings | None = None,
    nets: Any = None,
    u: Any = None,
    progress: Callable[[int, int], None] | None = None,
    **keywords: Any,
) -> PopulationAnalysis:
    """Analyse every network (or the chosen ``nets``) of a training Dataset.

    Args:
        ds: ``xarray.Dataset`` from ``ghostlearn.train.train`` with snapshots: rank one
            ``snap_m, snap_n, snap_b`` ``(net, snapshot, unit)``; rank K ``snap_M``
            ``(net, snapshot, unit, k)``, ``snap_Nmat`` ``(net, snapshot, k, unit)``,
            ``snap_b``; metrics ``loss`` (and if present ``grad_norm``, ``accuracy``)
            ``(net, epoch)``; coordinate ``snapshot`` = snapshot epochs; ``attrs['model']``
            the RNN config (:func:`ghostlearn.train.model_from_dataset`: ``model``,
            ``tau``). ``diverged``/``diverged_epoch`` (if present)
            cut a diverged network's data at its divergence. Rank K may also hold
            ``snap_W_in`` ``(net, snapshot, unit, input)`` (networks with inputs) and the
            readout ``snap_w_out`` (``(..., unit)``: on ``x``; ``(..., k)``: on ``kappa``)
            with ``snap_b_out``, kept for the phase portraits.
        settings: the analysis settings, or its fields as keywords, as in
            :func:`analyze_run` and :func:`analyze_run_lowrank`; ``tau`` defaults to the
            networks' own (``attrs['model']['tau']``).
        nets: indices (positions along ``net``) to analyse; default all.
        u: rank K with inputs: the constant input ``[n_in]`` under which the flows are
            analysed (default: no input, ``u = 0``, e.g. the delay periods of a task).
        progress: called as ``progress(done, total)`` in networks: ``(0, total)`` before
            the work starts, then as networks are done (rank one: the points of every
            network are found in one batched call first; rank K: the points of every
            network's snapshots are searched together, and ``done`` grows with the flows
            searched, reaching ``total`` once every network is assembled).

    Returns:
        A :class:`PopulationAnalysis`: one :class:`RunAnalysis` per network, in the order
        of ``nets``, with coordinates ``net`` (the positions) and the Dataset's other
        coordinates along ``net`` (``seed``, ``lr``, ``c``, ``rank``).

    Raises:
        ValueError: when a required variable is missing, ``attrs['model']`` is no valid
            RNN config or its model is not low-rank; a bad setting, or settings given both
            as an object and as keywords.
        TypeError: a keyword that is no field of ``AnalysisSettings``.
    """
    s, model, tau = _dataset_settings(ds, settings, keywords)
    names = _parameter_names(ds, model)
    idx = _net_positions(ds, nets)
    has_input = model == "lowrank" and "snap_W_in" in ds.variables
    if not has_input and u is not None:
        raise ValueError("u is given but the dataset has no input weights snap_W_in")
    data = _select_networks(ds, names, idx, has_input=has_input)
    labels = _net_labels(ds, idx)
    if progress is not None:
        progress(0, len(data.runs))
    out: list[RunAnalysis]
    if model == "rank1":
        out = _analyze_rank1_population(data, settings=s, tau=tau, progress=progress)
    elif data.flat[0].shape[-1] == 1:  # rank K = 1
        out = _analyze_k1_population(data, settings=s, u=u, progress=progress)
    else:
        out = _analyze_lowrank_population(ds, data, settings=s, tau=tau, u=u, progress=progress)
    return PopulationAnalysis(out, labels)


# --------------------------------------------------------------------------- datasets


def _dataset_settings(
    ds: Any, settings: AnalysisSettings | None, keywords: dict[str, Any]
) -> tuple[AnalysisSettings, str, float]:
    """The settings of a training Dataset's analysis, with ``tau`` resolved (default: the
    networks' own), its model (``'rank1'`` or ``'lowrank'``) and that ``tau``."""
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise ValueError(
            f"ds must be an xarray.Dataset from ghostlearn.train.train, got {type(ds).__name__}"
        )
    s = settings_or_keywords(AnalysisSettings, settings, keywords, where="analyze_dataset")
    cfg = _model_of(ds)
    model = cfg.model
    if model not in ("rank1", "lowrank"):
        raise ValueError(f"model must be 'rank1' or 'lowrank' for latent analysis, got {model!r}")
    tau = _tau(s, float(cfg.tau))
    return dataclasses.replace(s, tau=tau), model, tau


def _parameter_names(ds: Any, model: str) -> tuple[str, ...]:
    """The snapshot variables holding ``model``'s parameters (ValueError when they or the
    loss are missing)."""
    names: tuple[str, ...] = (
        ("snap_m", "snap_n", "snap_b") if model == "rank1" else ("snap_M", "snap_Nmat", "snap_b")
    )
    for name in (*names, "loss"):
        if name not in ds.variables:
            raise ValueError(
                f"{name} is missing from the dataset (train with snapshot_every > 0)"
                if name.startswith("snap_")
                else f"{name} is missing from the dataset"
            )
    return names


def _net_positions(ds: Any, nets: Any) -> np.ndarray:
    """``nets`` as positions along ``net`` (default all), checked."""
    n_nets = ds.sizes["net"]
    idx = np.arange(n_nets) if nets is None else np.atleast_1d(np.asarray(nets, dtype=np.int64))
    if np.any((idx < 0) | (idx >= n_nets)):
        raise ValueError(f"nets must be positions in 0..{n_nets - 1}, got {idx.tolist()}")
    return idx


#: The order of the axes of the snapshot parameters as the analysis reads them.
_SNAPSHOT_DIMS = {
    "snap_m": ("net", "snapshot", "unit"),
    "snap_n": ("net", "snapshot", "unit"),
    "snap_b": ("net", "snapshot", "unit"),
    "snap_M": ("net", "snapshot", "unit", "k"),
    "snap_Nmat": ("net", "snapshot", "k", "unit"),
    "snap_W_in": ("net", "snapshot", "unit", "input"),
}


@dataclasses.dataclass(frozen=True, eq=False)
class _Networks:
    """The networks of a training Dataset to analyse, each cut at its divergence.

    Attributes:
        idx: ``[P]`` their positions along ``net``.
        keep: ``[P, S]`` the snapshots analysed: before the divergence, with every
            parameter finite.
        counts: ``[P]`` snapshots kept per network.
        flat: the parameters at the kept snapshots, network after network, each
            ``[sum(counts), ...]``: ``m, n, b`` or ``M, Nmat, b`` (then ``W_in``).
        runs: per network, ``{"epochs", "params", "ok_e", "metrics"}``: its kept snapshot
            epochs, its rows of ``flat``, the epochs whose metrics are analysed and its
            metrics at every epoch.
        loss_epochs: ``[E]`` the epochs of the metrics.
        has_input: whether ``flat`` ends with the input weights ``W_in``.
    """

    idx: np.ndarray
    keep: np.ndarray
    counts: np.ndarray
    flat: list[np.ndarray]
    runs: list[dict[str, Any]]
    loss_epochs: np.ndarray
    has_input: bool


def _select_networks(
    ds: Any, names: tuple[str, ...], idx: np.ndarray, *, has_input: bool
) -> _Networks:
    """The parameters (``names``, then ``snap_W_in`` with inputs) and metrics of networks
    ``idx``, each cut where it diverged and where its parameters are not finite."""
    if has_input:
        names = (*names, "snap_W_in")
    snap_epochs = np.asarray(ds["snapshot"].values, dtype=np.float64)
    loss_epochs = np.asarray(ds["epoch"].values, dtype=np.float64)
    # Whole arrays at once (one copy each), then per-network views.
    n_nets = ds.sizes["net"]
    every = idx.size == n_nets and np.array_equal(idx, np.arange(n_nets))

    def values(name: str, order: tuple[str, ...]) -> np.ndarray:
        da = ds[name] if every else ds[name].isel(net=idx)
        return np.asarray(da.transpose(*order).values)

    arrays = [values(nm, _SNAPSHOT_DIMS[nm]) for nm in names]
    stop = _divergence_epochs(ds, idx)
    keep = _kept_snapshots(arrays, snap_epochs, stop)
    metrics = {
        name: values(name, ("net", "epoch")).astype(np.float64)
        for name in ("loss", "grad_norm", "accuracy")
        if name in ds.variables
    }
    counts = keep.sum(axis=1)
    P, S = keep.shape
    # [sum(counts), ...]: a view when every snapshot is kept, else one gather.
    flat = [a.reshape(P * S, *a.shape[2:]) if keep.all() else a[keep] for a in arrays]
    runs = _split_runs(flat, keep, counts, stop, snap_epochs, loss_epochs, metrics)
    return _Networks(idx, keep, counts, flat, runs, loss_epochs, has_input)


def _divergence_epochs(ds: Any, idx: np.ndarray) -> np.ndarray:
    """``[P]`` the epoch at which each network of ``idx`` diverged (inf: never or unknown)."""
    stop = np.full(idx.size, np.inf)
    if "diverged" in ds.variables:
        div = np.asarray(ds["diverged"].values)[idx].astype(bool)
        de = (
            np.asarray(ds["diverged_epoch"].values)[idx].astype(np.float64)
            if "diverged_epoch" in ds.variables
            else np.full(idx.size, -1.0)
        )
        stop = np.where(div & (de >= 0), de, np.inf)
    return stop


def _kept_snapshots(
    arrays: list[np.ndarray], snap_epochs: np.ndarray, stop: np.ndarray
) -> np.ndarray:
    """``[P, S]`` the snapshots before each network's divergence ``stop`` at which every
    parameter (``arrays``, each ``[P, S, ...]``) is finite."""
    P, S = arrays[0].shape[:2]
    keep = snap_epochs[None, :] < stop[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        for a in arrays:  # a snapshot with any non-finite parameter is skipped
            keep &= np.isfinite(a.reshape(P, S, -1).sum(axis=-1, dtype=np.float64))
    return keep


def _split_runs(
    flat: list[np.ndarray],
    keep: np.ndarray,
    counts: np.ndarray,
    stop: np.ndarray,
    snap_epochs: np.ndarray,
    loss_epochs: np.ndarray,
    metrics: dict[str, np.ndarray],
) -> list[dict[str, Any]]:
    """Per network: its kept snapshot epochs, its rows of ``flat``, the epochs whose metrics
    are analysed (before its divergence, every metric finite) and its metrics ``[E]``."""
    offsets = np.concatenate([[0], np.cumsum(counts)])
    runs: list[dict[str, Any]] = []
    for p in range(keep.shape[0]):
        own = {k: v[p] for k, v in metrics.items()}
        ok_e = loss_epochs < stop[p]
        for v in own.values():
            ok_e &= np.isfinite(v)
        sl = slice(offsets[p], offsets[p + 1])
        runs.append(
            {
                "epochs": snap_epochs[keep[p]],
                "params": [f[sl] for f in flat],
                "ok_e": ok_e,
                "metrics": own,
            }
        )
    return runs


def _net_labels(ds: Any, idx: np.ndarray) -> dict[str, np.ndarray]:
    """The coordinates of networks ``idx``: ``net`` (the positions) and the Dataset's
    other coordinates along ``net``."""
    labels = {"net": idx}
    for cname, coord in ds.coords.items():
        if cname != "net" and coord.dims == ("net",):
            labels[str(cname)] = np.asarray(coord.values)[idx]
    return labels


def _analyze_rank1_population(
    data: _Networks,
    *,
    settings: AnalysisSettings,
    tau: float,
    progress: Callable[[int, int], None] | None,
) -> list[RunAnalysis]:
    """Rank one: every network's snapshots through the point finder in one batched call."""
    flat = data.flat
    if flat[0].shape[0] == 0:
        raise ValueError("no finite snapshot to analyse")
    s = settings
    pts = find_points(
        Rank1Flow(*flat), interval=s.interval, n_grid=s.n_grid, tau=tau,
        ghost_tol=s.ghost_tol, method=s.method,
    )  # fmt: skip
    offset = 0
    record = _settings_record(s, model="rank1", tau=tau)
    out: list[RunAnalysis] = []
    for r in data.runs:
        S = r["epochs"].size
        sub = _slice_points(pts, offset, offset + S)
        offset += S
        y, le, g, acc = _metrics_of(r, data.loss_epochs)
        out.append(
            _assemble(
                model="rank1",
                epochs=r["epochs"],
                points=sub,
                flow=Rank1Flow(*r["params"]),
                loss=y,
                loss_epochs=le,
                grad_norm=g,
                accuracy=acc,
                settings=s,
                record=record,
            )
        )
        if progress is not None:
            progress(len(out), len(data.runs))
    return out


def _analyze_k1_population(
    data: _Networks,
    *,
    settings: AnalysisSettings,
    u: Any,
    progress: Callable[[int, int], None] | None,
) -> list[RunAnalysis]:
    """Rank K = 1: network by network through :func:`analyze_run_lowrank` (which sends them
    to the exact 1-D finder)."""
    out: list[RunAnalysis] = []
    for r in data.runs:
        y, le, g, acc = _metrics_of(r, data.loss_epochs)
        M, Nmat, b = r["params"][:3]
        W_in = r["params"][3] if data.has_input else None
        out.append(
            analyze_run_lowrank(
                r["epochs"],
                M,
                Nmat,
                b,
                y,
                g,
                accuracy=acc,
                loss_epochs=le,
                settings=settings,
                W_in=W_in,
                u=_input_of(u, W_in),
            )  # fmt: skip
        )
        if progress is not None:
            progress(len(out), len(data.runs))
    return out


def _input_of(u: Any, W_in: np.ndarray | None) -> np.ndarray | None:
    """The constant input for flows with input weights ``W_in [..., N, n_in]``: ``u``, or
    zeros when none is given."""
    if W_in is None:
        return None
    if u is None:
        return np.zeros(W_in.shape[-1])
    return np.asarray(u, dtype=np.float64)


def dataset_readout(ds: Any, net: int) -> LatentReadout | None:
    """The readout of network ``net`` at every snapshot of a training Dataset.

    Args:
        ds: a rank-K training Dataset with ``snap_w_out`` (dims ``(net, snapshot, unit)``:
            a readout of the state, or ``(net, snapshot, k)``: a latent readout) and
            ``snap_b_out`` ``(net, snapshot)``.
        net: position along ``net``.

    Returns:
        :class:`LatentReadout` over all snapshots (NaN where a snapshot is not finite), or
        None when the Dataset does not record the readout.
    """
    if "snap_w_out" not in ds.variables or "snap_b_out" not in ds.variables:
        return None
    w = ds["snap_w_out"]
    extra = [d for d in w.dims if d not in ("net", "snapshot")]
    if len(extra) != 1 or extra[0] not in ("k", "unit"):
        return None
    kind = "latent" if extra[0] == "k" else "state"
    wv = np.asarray(w.isel(net=net).transpose("snapshot", extra[0]).values, dtype=np.float64)
    bv = np.asarray(ds["snap_b_out"].isel(net=net).values, dtype=np.float64).reshape(-1)
    return LatentReadout(kind, wv, bv)


def dataset_trial(ds: Any) -> dict[str, float] | None:
    """The trial of a training Dataset's task when it starts every unit at ``x0`` and has no
    input (the delayed-activation task): ``{"x0", "D", "n_steps"}``, else None.

    Raises:
        ValueError: ``ds.attrs["model"]`` is no valid RNN config
            (:func:`ghostlearn.train.model_from_dataset`).
    """
    cfg = _model_of(ds)
    task = ds.attrs.get("task")
    if isinstance(task, str):
        try:
            task = json.loads(task)
        except ValueError:
            task = None
    if "snap_W_in" in ds.variables or (isinstance(task, dict) and task.get("n_in", 0)):
        return None
    if isinstance(task, dict) and task.get("init_scale") is not None:
        return None
    return {"x0": float(cfg.x0), "D": float(cfg.D), "n_steps": float(cfg.n_steps)}


def _readouts(ds: Any, idx: np.ndarray, keep: np.ndarray) -> list[LatentReadout | None]:
    """Per network, its readout at the kept snapshots (None when not recorded)."""
    out: list[LatentReadout | None] = []
    for p, net in enumerate(idx):
        r = dataset_readout(ds, int(net))
        if r is None:
            out.append(None)
            continue
        w, b = r.w_out[keep[p]], r.b_out[keep[p]]
        ok = w.shape[0] > 0 and np.all(np.isfinite(w)) and np.all(np.isfinite(b))
        out.append(LatentReadout(r.kind, w, b) if ok else None)
    return out


def _analyze_lowrank_population(
    ds: Any,
    data: _Networks,
    *,
    settings: AnalysisSettings,
    tau: float,
    u: Any,
    progress: Callable[[int, int], None] | None,
) -> list[RunAnalysis]:
    """Rank K > 1: every network's snapshots searched in one batched call."""
    flat, runs, has_input = data.flat, data.runs, data.has_input
    if flat[0].shape[0] == 0:
        raise ValueError("no finite snapshot to analyse")
    W_all = flat[3] if has_input else None
    u_in = _input_of(u, W_all)
    flow = LowRankFlow(flat[0], flat[1], flat[2], W_all, u_in)
    groups = np.repeat(np.arange(len(runs)), data.counts)
    P = len(runs)
    reported = [0]

    def tick(done: int, total: int) -> None:
        # Networks in proportion to the flows searched; the last one once assembled.
        n = min(P - 1, (P * done) // max(total, 1)) if P else 0
        if progress is not None and n > reported[0]:
            reported[0] = n
            progress(n, P)

    pts = find_slow_points_along(
        flow, settings=_slow_point_settings(settings, tau), groups=groups, progress=tick
    )
    readouts = _readouts(ds, data.idx, data.keep)
    trial = dataset_trial(ds)
    record = _settings_record(settings, model="lowrank", tau=tau, rank=flow.rank, u=u_in)
    offsets = np.concatenate([[0], np.cumsum(data.counts)])
    out: list[RunAnalysis] = []
    for p, r in enumerate(runs):
        rows = np.arange(offsets[p], offsets[p + 1])
        y, le, g, acc = _metrics_of(r, data.loss_epochs)
        M, Nmat, b = r["params"][:3]
        W_in = r["params"][3] if has_input else None
        out.append(
            _assemble(
                model="lowrank",
                epochs=r["epochs"],
                points=pts.take(rows),
                flow=LowRankFlow(M, Nmat, b, W_in, _input_of(u, W_in)),
                loss=y,
                loss_epochs=le,
                grad_norm=g,
                accuracy=acc,
                settings=settings,
                record=record,
                readout=readouts[p],
                trial=trial,
            )
        )
    if progress is not None:
        progress(P, P)
    return out


def _metrics_of(
    run: dict[str, Any], loss_epochs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    ok = run["ok_e"]
    m = run["metrics"]
    return (
        m["loss"][ok],
        loss_epochs[ok],
        m["grad_norm"][ok] if "grad_norm" in m else None,
        m["accuracy"][ok] if "accuracy" in m else None,
    )


def _slice_points(p: FlowPoints, start: int, stop: int) -> FlowPoints:
    n_f = p.n_fixed[start:stop]
    n_g = p.n_ghosts[start:stop]
    wf = int(n_f.max()) if n_f.size else 0
    wg = int(n_g.max()) if n_g.size else 0
    return dataclasses.replace(
        p,
        fixed_kappa=p.fixed_kappa[start:stop, :wf],
        fixed_stability=p.fixed_stability[start:stop, :wf],
        fixed_slope=p.fixed_slope[start:stop, :wf],
        n_fixed=n_f,
        ghost_kappa=p.ghost_kappa[start:stop, :wg],
        ghost_depth=p.ghost_depth[start:stop, :wg],
        ghost_curvature=p.ghost_curvature[start:stop, :wg],
        ghost_passage_time=p.ghost_passage_time[start:stop, :wg],
        n_ghosts=n_g,
    )
