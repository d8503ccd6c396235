"""What a report shows, gathered from disk and reduced to a small JSON payload.

Three kinds of input (see :func:`load_source`):

- a **results folder** written by ``ghostlearn reproduce``: ``<out>/<fig>/summary.json``
  (with the figure's ``caption``), ``figure.png``, ``figure-extra.png`` (panels beyond the
  paper, if any), ``data.zarr`` and ``<out>/claims.json``. Every zarr group that holds a
  training Dataset with snapshots (``snap_m`` rank one, ``snap_M`` rank K) becomes an
  explorable run;
- a **training store**: a zarr of a training Dataset (``ghostlearn train`` writes
  ``<out>/train.zarr``; the folder or the store itself may be given), with or without
  ``snap_*`` snapshots, or a sweep store (``ghostlearn sweep``: one run per batch, its
  networks named by the swept fields);
- an **analysis**: ``analysis.json`` (``RunAnalysis.to_dict()`` per network) next to a
  training store or an ``.npz`` of snapshots; its verdicts and events are used as they are.

The payload of one network (:func:`network_payload`) is what the page's epoch slider needs:
metric curves reduced to at most ``max_points`` points (the minimum and the maximum of
each bucket of epochs, so spikes and drops survive), at most ``max_snapshots`` snapshots
(evenly spaced, plus the snapshots that bracket an event), the latent flow
``f(kappa) = -kappa + n . tanh(m kappa + b)`` on ``n_kappa`` points, its fixed points and
ghosts (:func:`ghostlearn.analysis.rank1_points`), and the trial's latent trajectory
``kappa(t+1) = (1 - D) kappa(t) + D n . tanh(m kappa(t) + b)``, ``kappa(0) = x0 sum(n)``
(exactly ``n . x(t)`` of the full network, :func:`latent_trajectories`). Large arrays are
stored as little-endian base64 (float32, int32; the flow as int16 with one scale per
network).

For a rank-K network (K >= 2) the slider shows a phase portrait per snapshot
(:func:`plane_frames`, :func:`plane_payload`): on one plane for all snapshots (the latent
plane for K = 2, the plane of the two leading directions for K > 2), the speed ``|F|`` and
the direction of the flow on an ``n_plane x n_plane`` grid (the page draws the heat map
and integrates streamlines), the readout's decision boundary, the fixed points by class
and the ghosts (:func:`ghostlearn.analysis.find_slow_points_along`), and the trial's
latent trajectory ``kappa(t+1) = (1 - D) kappa(t) + D Nmat tanh(M kappa(t) + b)``,
``kappa(0) = x0 Nmat 1`` (exactly ``Nmat x(t)``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import __version__, _validate
from ..store import open_zarr, read_json

__all__ = [
    "ReportOptions",
    "PlaneFrames",
    "ReportSource",
    "SnapshotFrames",
    "TrainingRun",
    "choose_networks",
    "envelope",
    "format_epoch",
    "latent_trajectories",
    "load_source",
    "network_name",
    "network_payload",
    "plane_frames",
    "plane_payload",
    "report_payload",
    "run_payload",
    "snapshot_frames",
    "snapshot_subset",
]

#: Flows, fixed points and ghosts are sought on this kappa interval (the paper's).
INTERVAL = (-15.0, 15.0)
_FLOW_LEVELS = 32000  # int16 quantisation of the flow: |f| <= scale maps to |q| <= this


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """How much of the data a report keeps.

    Attributes:
        max_networks: networks of a run offered in the page's network menu (default 20;
            chosen by :func:`choose_networks`).
        nets: explicit network positions to show (overrides ``max_networks``).
        max_snapshots: snapshots per network the epoch slider steps through.
        n_kappa: points of kappa on which the latent flow is drawn.
        max_points: points per metric curve (loss, accuracy, gradient norm).
        max_figure_width: figures wider than this (pixels) are scaled down.
        n_plane: rank K >= 2: grid points per axis of the phase portrait (speed, flow
            direction and readout are sent on this grid; the page draws streamlines).
    """

    max_networks: int = 20
    nets: tuple[int, ...] | None = None
    max_snapshots: int = 150
    n_kappa: int = 200
    max_points: int = 1000
    max_figure_width: int = 1600
    n_plane: int = 28

    def __post_init__(self) -> None:
        _validate.at_least("max_networks", self.max_networks, 1)
        _validate.at_least("max_snapshots", self.max_snapshots, 2)
        _validate.at_least("n_kappa", self.n_kappa, 10)
        _validate.at_least("n_plane", self.n_plane, 8)
        _validate.at_least("max_points", self.max_points, 10)
        _validate.at_least("max_figure_width", self.max_figure_width, 100)
        if self.nets is not None:
            nets = tuple(self.nets)
            if not nets:
                raise ValueError("nets must name at least one network, got ()")
            for i in nets:
                _validate.at_least("nets", i, 0)
            object.__setattr__(self, "nets", nets)


@dataclasses.dataclass(frozen=True, eq=False)
class TrainingRun:
    """One training Dataset to explore.

    Attributes:
        label: where it came from, e.g. ``"fig3/data.zarr/A"`` or ``"train.zarr"``.
        ds: the Dataset (schema in ``docs/results.md``).
        analyses: per network position, a ``RunAnalysis.to_dict()`` read from disk
            (None: the report analyses the networks it shows itself).
        group: the name of its zarr group when that names its networks (``"A"``, the
            network fig3 shows in panel A), else None (a store's root, a sweep's batch).
        fields: settings besides ``seed``, ``lr`` and ``c`` that tell its networks apart
            from those of other runs (a sweep's swept fields); read from the per-network
            coordinates, else from the ``model`` and ``train`` attributes.
    """

    label: str
    ds: xr.Dataset
    analyses: dict[int, dict[str, Any]] | None = None
    group: str | None = None
    fields: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, eq=False)
class ReportSource:
    """Everything a report is made of, as found on disk.

    Attributes:
        kind: ``"results"``, ``"training"`` or ``"analysis"``.
        path: the path given.
        title: page title.
        experiments: per figure ``{"name", "title", "summary", "figure"}`` (figure: a PNG
            path or None).
        claims: rows of ``claims.json``.
        runs: training runs to explore.
        notes: remarks shown on the page (e.g. data without snapshots).
    """

    kind: str
    path: Path
    title: str
    experiments: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    runs: list[TrainingRun]
    notes: list[str]


# --------------------------------------------------------------------------- reading


def _is_zarr(p: Path) -> bool:
    return p.is_dir() and any((p / f).exists() for f in ("zarr.json", ".zgroup", ".zattrs"))


def _training_groups(store: Path, *, need_snapshots: bool) -> list[str | None]:
    """Group paths (None for the root) of ``store`` that hold a training Dataset."""
    import zarr

    try:
        root = zarr.open_group(str(store), mode="r")
    except Exception as err:  # noqa: BLE001 - any unreadable store is reported the same way
        raise ValueError(f"cannot read the zarr store {str(store)!r}: {err}") from None
    found: list[str | None] = []

    def walk(group: Any, path: str | None) -> None:
        keys = set(group.array_keys())
        is_training = {"loss", "epoch", "net"} <= keys
        if is_training and (not need_snapshots or keys & {"snap_m", "snap_M"}):
            found.append(path)
        for name, sub in sorted(group.groups(), key=lambda item: item[0]):
            walk(sub, name if path is None else f"{path}/{name}")

    walk(root, None)
    return found


def _open_run(
    store: Path, group: str | None, label: str, *, sweep: tuple[str, ...] | None = None
) -> TrainingRun:
    """The training run in ``group`` of ``store``; ``sweep``: the swept fields of a sweep
    store (its batches' group names say nothing about their networks)."""
    ds = open_zarr(store, group=group)
    return TrainingRun(
        label=label if group is None else f"{label}/{group}",
        ds=ds,
        group=None if sweep is not None or group is None else group.rsplit("/", 1)[-1],
        fields=sweep or (),
    )


def _experiments_of(folder: Path) -> list[dict[str, Any]]:
    from ..experiments.base import EXPERIMENTS

    names = [n for n in EXPERIMENTS if (folder / n / "summary.json").exists()]
    names += sorted(
        p.parent.name for p in folder.glob("*/summary.json") if p.parent.name not in EXPERIMENTS
    )
    out = []
    for name in names:
        summary = read_json(folder / name / "summary.json")
        png = folder / name / "figure.png"
        extra = folder / name / "figure-extra.png"
        out.append(
            {
                "name": name,
                "title": summary.get("title", name),
                "summary": summary,
                "figure": png if png.exists() else None,
                "extra": extra if extra.exists() else None,
                "data": folder / name / "data.zarr",
            }
        )
    return out


#: The paper whose figures a results folder reproduces.
PAPER = "Dinc et al. 2025"


def _results_title(experiments: list[dict[str, Any]]) -> str:
    """``"Reproduction of Dinc et al. 2025 (quick fidelity)"``: the fidelity of the
    summaries (``"mixed fidelity: paper, quick"`` when they differ; left out if unknown)."""
    found = {
        str(e["summary"]["fidelity"])
        for e in experiments
        if isinstance(e.get("summary"), dict) and e["summary"].get("fidelity")
    }
    title = f"Reproduction of {PAPER}"
    if len(found) == 1:
        return f"{title} ({found.pop()} fidelity)"
    if found:
        return f"{title} (mixed fidelity: {', '.join(sorted(found))})"
    return title


def _display_name(p: Path) -> str:
    """A path's name as a title shows it; ``train.zarr`` and ``data.zarr`` (the names
    ``ghostlearn train`` and the experiments always write) come with their folder's name,
    which is what tells runs apart."""
    name = p.name or p.resolve().name
    if name in ("train.zarr", "data.zarr"):
        parent = p.resolve().parent.name
        return f"{parent}/{name}" if parent else name
    return name


def _sweep_of(store: Path) -> tuple[str, tuple[str, ...]] | None:
    """``(name, swept fields)`` of a sweep store, None for any other store."""
    from ..sweep import SweepStore

    try:
        sweep = SweepStore(store)
    except ValueError:
        return None
    try:
        return sweep.spec.name, tuple(sweep.spec.grid)
    except ValueError:
        return "", ()


def _claims_of(folder: Path, experiments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    path = folder / "claims.json"
    if path.exists():
        rows = read_json(path)
        if not isinstance(rows, list):
            raise ValueError(f"{path} must hold a list of claim rows, got {type(rows).__name__}")
        return rows
    from ..experiments.claims import collect_claims

    return collect_claims(e["summary"] for e in experiments)


def _load_results(folder: Path) -> ReportSource:
    experiments = _experiments_of(folder)
    claims = _claims_of(folder, experiments)
    runs: list[TrainingRun] = []
    notes: list[str] = []
    for e in experiments:
        store = e["data"]
        if not _is_zarr(store):
            continue
        for group in _training_groups(store, need_snapshots=True):
            runs.append(_open_run(store, group, f"{e['name']}/data.zarr"))
    if not runs:
        notes.append(
            "No training run with rank-one snapshots (snap_m) or rank-K snapshots (snap_M) "
            "was found in this folder's data.zarr stores, so there is no interactive "
            "latent-flow explorer."
        )
    return ReportSource(
        kind="results",
        path=folder,
        title=_results_title(experiments),
        experiments=experiments,
        claims=claims,
        runs=runs,
        notes=notes,
    )


def _load_training(store: Path, label: str, extra_figure: Path | None = None) -> ReportSource:
    groups = _training_groups(store, need_snapshots=False)
    if not groups:
        raise ValueError(f"{str(store)!r} holds no training Dataset (no 'loss' and 'epoch' arrays)")
    sweep = _sweep_of(store)
    runs = [_open_run(store, g, label, sweep=None if sweep is None else sweep[1]) for g in groups]
    if sweep is None:
        title = f"Training run {_display_name(store)}"
    else:
        name, shown = sweep[0].strip(), _display_name(store)
        title = f"Sweep {name} ({shown})" if name and name != store.stem else f"Sweep {shown}"
    experiments = []
    if extra_figure is not None and extra_figure.exists():
        experiments.append(
            {
                "name": extra_figure.stem,
                "title": "Training curves",
                "summary": {},
                "figure": extra_figure,
                "data": store,
            }
        )
    return ReportSource(
        kind="training",
        path=store,
        title=title,
        experiments=experiments,
        claims=[],
        runs=runs,
        notes=[],
    )


def _dataset_from_npz(path: Path, *, c: float = 10.0) -> xr.Dataset:
    """A one-network training Dataset from an ``.npz`` of snapshots.

    The format of ``ghostlearn analyze``: rank one ``m``, ``n``, ``b`` ``[S, N]`` (or rank
    K ``M`` ``[S, N, K]``, ``Nmat`` ``[S, K, N]``, ``b``); optional ``epoch``
    ``[S]`` (snapshot epochs, default ``0 .. S-1``), ``loss``, ``grad_norm``, ``accuracy``
    ``[E]`` at ``loss_epoch`` ``[E]`` (default ``0 .. E-1``). Without ``loss``, rank-one
    snapshots are scored by simulating the trial at confidence ``c`` (loss and accuracy at
    the snapshot epochs).
    """
    from ..rnn import RNNConfig
    from ..store import read_npz

    data = read_npz(path)
    rank_one = all(k in data for k in ("m", "n", "b"))
    rank_k = all(k in data for k in ("M", "Nmat", "b"))
    if not (rank_one or rank_k):
        raise ValueError(f"{path} must hold m, n, b (rank one) or M, Nmat, b (rank K) arrays")
    first = data["m"] if rank_one else data["M"]
    if first.ndim < 2:
        raise ValueError(f"{path}: snapshots must have shape [snapshots, N...], got {first.shape}")
    S, N = first.shape[:2]
    snaps = np.asarray(data.get("epoch", np.arange(S))).reshape(-1)
    if snaps.size != S:
        raise ValueError(f"{path}: epoch must have one entry per snapshot ({S}), got {snaps.size}")
    variables: dict[str, Any] = {}
    if rank_one:
        for k in ("m", "n", "b"):
            if data[k].shape != (S, N):
                raise ValueError(f"{path}: {k} must have shape {(S, N)}, got {data[k].shape}")
            variables[f"snap_{k}"] = (("net", "snapshot", "unit"), data[k][None])
        cfg = RNNConfig(N=int(N))
    else:
        if first.ndim != 3:
            raise ValueError(f"{path}: M must have shape [snapshots, N, K], got {first.shape}")
        K = int(first.shape[2])
        shapes = {"M": (S, N, K), "Nmat": (S, K, N), "b": (S, N)}
        for k, shape in shapes.items():
            if data[k].shape != shape:
                raise ValueError(f"{path}: {k} must have shape {shape}, got {data[k].shape}")
        variables["snap_M"] = (("net", "snapshot", "unit", "k"), data["M"][None])
        variables["snap_Nmat"] = (("net", "snapshot", "k", "unit"), data["Nmat"][None])
        variables["snap_b"] = (("net", "snapshot", "unit"), data["b"][None])
        cfg = RNNConfig(model="lowrank", rank=K, N=int(N))
    loss = data.get("loss")
    if loss is not None:
        loss = np.asarray(loss, dtype=np.float64).reshape(-1)
        epochs = np.asarray(data.get("loss_epoch", np.arange(loss.size))).reshape(-1)
        metrics = {k: data.get(k) for k in ("loss", "accuracy", "grad_norm")}
    elif rank_one:
        # Score each snapshot: o(t) = sigmoid(c (kappa(t) - kappa_thr)), t = 1 .. 2 half.
        traj = latent_trajectories(
            data["m"], data["n"], data["b"], D=cfg.D, x0=cfg.x0, n_steps=cfg.n_steps
        )[:, 1:]
        with np.errstate(over="ignore"):
            out = 1.0 / (1.0 + np.exp(-c * (traj - cfg.kappa_thr)))
        target = (np.arange(cfg.n_steps) >= cfg.half).astype(np.float64)
        epochs = snaps
        metrics = {
            "loss": np.sum((out - target) ** 2, axis=-1) / cfg.half,
            "accuracy": np.mean((out > 0.5) == (target > 0.5), axis=-1),
        }
    else:
        raise ValueError(f"{path} has no array loss (needed for rank-K snapshots)")
    for name, v in metrics.items():
        if v is not None:
            v = np.asarray(v, dtype=np.float64).reshape(-1)
            if v.size != epochs.size:
                raise ValueError(f"{path}: {name} must have {epochs.size} entries, got {v.size}")
            variables[name] = (("net", "epoch"), v[None])
    return xr.Dataset(
        variables,
        coords={"net": [0], "snapshot": snaps, "epoch": epochs},
        attrs={"model": dataclasses.asdict(cfg), "source": str(path)},
    )


def _analysis_entries(obj: Any, path: Path) -> dict[int, dict[str, Any]]:
    """Per-network analysis dicts from an ``analysis.json`` (see :func:`load_source`)."""
    if isinstance(obj, dict) and "verdict" in obj:
        items: list[Any] = [obj]
    elif isinstance(obj, dict):
        items = next(
            (
                obj[k]
                for k in ("networks", "nets", "runs", "analyses")
                if isinstance(obj.get(k), list)
            ),
            None,
        )  # type: ignore[assignment]
        if items is None:
            raise ValueError(
                f"{path} must hold an analysis (a dict with 'verdict'), a list of them, or a "
                "dict with a list under 'networks'"
            )
    elif isinstance(obj, list):
        items = obj
    else:
        raise ValueError(f"{path} must hold a JSON object or list, got {type(obj).__name__}")
    out: dict[int, dict[str, Any]] = {}
    for pos, item in enumerate(items):
        if not isinstance(item, dict) or "verdict" not in item:
            raise ValueError(f"{path}: entry {pos} is not an analysis (no 'verdict')")
        out[int(item.get("net", pos))] = item
    return out


def _beside(folder: Path) -> tuple[Path, str] | None:
    """A training store or snapshot ``.npz`` in ``folder``: ``(path, kind)``."""
    if _is_zarr(folder / "train.zarr"):
        return folder / "train.zarr", "zarr"
    for p in sorted(folder.glob("*.zarr")):
        if _is_zarr(p) and _training_groups(p, need_snapshots=False):
            return p, "zarr"
    npz = sorted(folder.glob("*.npz"))
    if npz:
        return npz[0], "npz"
    return None


def _analysis_data(path: Path, obj: Any) -> tuple[Path, str | None] | None:
    """The training data an analysis names (``source``, ``group``), if it still exists."""
    if not isinstance(obj, dict) or not isinstance(obj.get("source"), str):
        return None
    src = Path(obj["source"])
    for cand in (src, path.parent / src, path.parent / src.name):
        if cand.exists():
            group = obj.get("group")
            group = str(group).strip("/") or None if group is not None else None
            return cand, group
    return None


def _load_analysis(path: Path, data: Path | None = None) -> ReportSource:
    obj = read_json(path)
    entries = _analysis_entries(obj, path)
    group = None
    if data is None:
        named = _analysis_data(path, obj)
        if named is not None:
            data, group = named
    if data is None:
        found = _beside(path.parent)
        if found is None:
            raise ValueError(
                f"{str(path)!r} needs its training data: the 'source' it names, or a "
                "train.zarr (or another training zarr store) or an .npz of snapshots beside it"
            )
        data = found[0]
    if _is_zarr(data):
        src = _load_training(data, data.name, data.parent / "training.png")
        run = next((r for r in src.runs if group and r.label.endswith("/" + group)), src.runs[0])
    elif data.is_dir() and _is_zarr(data / "train.zarr"):
        src = _load_training(data / "train.zarr", "train.zarr", data / "training.png")
        run = src.runs[0]
    else:
        src = _load_training_npz(data)
        run = src.runs[0]
    runs = [dataclasses.replace(run, analyses=entries)]
    title = f"Analysis of {_display_name(data)}"
    if path.name != "analysis.json":  # the name ``ghostlearn analyze`` writes says nothing
        title += f" ({path.name})"
    return dataclasses.replace(src, kind="analysis", path=path, title=title, runs=runs)


def _load_training_npz(path: Path) -> ReportSource:
    ds = _dataset_from_npz(path)
    return ReportSource(
        kind="training", path=path, title=f"Snapshots {path.name}", experiments=[],
        claims=[], runs=[TrainingRun(label=path.name, ds=ds)], notes=[],
    )  # fmt: skip


def load_source(path: str | Path) -> ReportSource:
    """Find out what ``path`` is and read what a report of it needs.

    Args:
        path: a results folder (``claims.json`` or ``<fig>/summary.json`` inside), a
            training zarr store, a folder holding ``train.zarr`` (then ``analysis.json``
            and ``training.png`` beside it are used too), an ``analysis.json`` (a
            ``RunAnalysis.to_dict()``, a list of them, or ``{"networks": [...]}``, each
            optionally with ``"net"``: its position) next to its training data, or an
            ``.npz`` of snapshots.

    Returns:
        :class:`ReportSource`.

    Raises:
        ValueError: when the path does not exist or holds none of these.
    """
    p = Path(path)
    if not p.exists():
        raise ValueError(f"path does not exist: {str(p)!r}")
    if p.is_file():
        if p.suffix == ".json":
            return _load_analysis(p)
        if p.suffix == ".npz":
            return _load_training_npz(p)
        raise ValueError(
            f"cannot make a report of the file {str(p)!r}: give a results folder, a training "
            "store (.zarr), an analysis.json or an .npz of snapshots"
        )
    if _is_zarr(p):
        if (p.parent / "analysis.json").exists():
            return _load_analysis(p.parent / "analysis.json", p)
        return _load_training(p, p.name, p.parent / "training.png")
    if (p / "claims.json").exists() or any(p.glob("*/summary.json")):
        return _load_results(p)
    if _is_zarr(p / "train.zarr"):
        if (p / "analysis.json").exists():
            return _load_analysis(p / "analysis.json")
        return _load_training(p / "train.zarr", "train.zarr", p / "training.png")
    raise ValueError(
        f"{str(p)!r} is neither a results folder (claims.json, <fig>/summary.json), a "
        "training store (.zarr) nor a folder holding train.zarr"
    )


# --------------------------------------------------------------------------- reduction


def envelope(x: Any, y: Any, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a curve to at most ``max_points`` points, keeping each bucket's extremes.

    The ``E`` samples are cut into ``B = max_points // 2`` buckets of ``ceil(E / B)``
    consecutive samples; from each, the samples holding the bucket's minimum and maximum
    (NaN ignored) are kept in their order, so narrow spikes and abrupt drops survive.

    Args:
        x: ``[E]`` abscissae (e.g. epochs), increasing.
        y: ``[E]`` values (NaN allowed).
        max_points: at most this many points are returned (>= 2).

    Returns:
        ``(x_kept, y_kept)``, each ``[<= max_points]``, in the order of ``x``.
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    _validate.at_least("max_points", max_points, 2)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    E = y.size
    if E <= max_points:
        return x, y
    buckets = max_points // 2
    width = -(-E // buckets)
    buckets = -(-E // width)
    pad = buckets * width - E
    yp = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, width)
    finite = np.isfinite(yp)
    lo = np.argmin(np.where(finite, yp, np.inf), axis=1)
    hi = np.argmax(np.where(finite, yp, -np.inf), axis=1)
    base = np.arange(buckets) * width
    idx = np.unique(np.concatenate([base + lo, base + hi]))
    idx = idx[idx < E]
    return x[idx], y[idx]


def snapshot_subset(
    epochs: Any, max_snapshots: int, keep_epochs: Sequence[float] = ()
) -> np.ndarray:
    """Positions of at most about ``max_snapshots`` snapshots to show.

    Evenly spaced positions (first and last included), plus the snapshot at or just after
    every epoch in ``keep_epochs`` (events), so the slider can stop on them.

    Args:
        epochs: ``[S]`` increasing snapshot epochs.
        max_snapshots: number of evenly spaced positions (>= 2).
        keep_epochs: epochs whose snapshot must be shown too.

    Returns:
        Sorted unique positions into ``epochs``.
    """
    e = np.asarray(epochs, dtype=np.float64)
    S = e.size
    if S == 0:
        return np.zeros(0, np.int64)
    idx = np.unique(np.round(np.linspace(0, S - 1, min(S, max_snapshots))).astype(np.int64))
    extra = [min(int(np.searchsorted(e, k, side="left")), S - 1) for k in keep_epochs]
    return np.unique(np.concatenate([idx, np.asarray(extra, dtype=np.int64)]))


def latent_trajectories(m: Any, n: Any, b: Any, *, D: float, x0: float, n_steps: int) -> np.ndarray:
    """The rank-one latent variable over one trial, for a batch of parameters.

    ``kappa(0) = x0 sum_i n_i`` and ``kappa(t+1) = (1 - D) kappa(t) + D n . tanh(m kappa(t)
    + b)``: exactly ``n . x(t)`` of the full network started at ``x(0) = x0``.

    Args:
        m, n, b: ``[..., N]`` parameters.
        D: Euler factor ``dt / tau``.
        x0: initial state of every unit.
        n_steps: steps of the trial.

    Returns:
        ``[..., n_steps + 1]`` latent trajectory (float64).
    """
    m = np.asarray(m, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    k = x0 * np.sum(n, axis=-1)
    out = [k]
    for _ in range(int(n_steps)):
        k = (1.0 - D) * k + D * np.sum(n * np.tanh(m * k[..., None] + b), axis=-1)
        out.append(k)
    return np.stack(out, axis=-1)


def format_epoch(epoch: Any) -> str:
    """An epoch as the report prints it: a whole number with thousands separators.

    Args:
        epoch: a number (an epoch or a count of epochs).

    Returns:
        e.g. ``"130,000"`` for ``1.3e5``; ``"n/a"`` when it is not finite.
    """
    v = float(epoch)
    if not math.isfinite(v):
        return "n/a"
    return f"{round(v):,}"


def _value_text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return str(value)
    if "epoch" in key:
        return format_epoch(value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _net_value(ds: xr.Dataset, net: int, key: str) -> Any:
    """The value of setting ``key`` for network ``net``: its per-network coordinate, else
    the run's ``model`` or ``train`` attribute; None when the run does not record it."""
    if key in ds.coords and ds[key].dims == ("net",):
        return ds[key].values[net].item()
    for table in ("model", "train"):
        attrs = _jsonable(ds.attrs.get(table, {}))
        if isinstance(attrs, dict) and attrs.get(key) is not None:
            return attrs[key]
    return None


_NAME_KEYS = ("seed", "lr", "c")


def _identity(ds: xr.Dataset, net: int, fields: Sequence[str] = ()) -> list[str]:
    """``["seed 40", "lr 0.02", "c 10", *fields]``: what a run records of a network."""
    keys = list(_NAME_KEYS) + [f for f in fields if f not in _NAME_KEYS]
    out = []
    for key in keys:
        value = _net_value(ds, net, key)
        # NaN: a setting that does not apply to this model (c of a matrix model).
        if value is not None and not (isinstance(value, float) and not math.isfinite(value)):
            out.append(f"{key} {_value_text(key, value)}")
    return out


def network_name(
    ds: xr.Dataset, net: int, *, group: str | None = None, fields: Sequence[str] = ()
) -> str:
    """A network's name in the report's menu: its group, seed, lr, c (and ``fields``).

    Args:
        ds: a training Dataset.
        net: position along ``net``.
        group: the name of the run's group in its store (e.g. ``"A"``), if it names it.
        fields: further settings to name (see :attr:`TrainingRun.fields`).

    Returns:
        e.g. ``"A \u00b7 seed 40 \u00b7 lr 0.02 \u00b7 c 10"``; ``"net 3"`` (the position)
        when the run records nothing that identifies it.
    """
    parts = ([group] if group else []) + _identity(ds, net, fields)
    return " \u00b7 ".join(parts) if parts else f"net {net}"


def _name_networks(runs: Sequence[tuple[TrainingRun, list[dict[str, Any]]]]) -> None:
    """Give every network payload of ``runs`` a ``name`` no other one has.

    First the run's group and what the run records of the network
    (:func:`network_name`); where two names clash, the run's label in place of the group;
    where they still clash, the position too.
    """
    entries = [
        (run, p, _identity(run.ds, int(p["net"]), run.fields)) for run, nets in runs for p in nets
    ]

    def name(run: TrainingRun, p: dict[str, Any], ident: list[str], level: int) -> str:
        head = run.group if level == 0 else run.label
        parts = ([head] if head else []) + ident
        if level == 2 or not parts:
            parts.append(f"net {p['net']}")
        return " \u00b7 ".join(parts)

    levels = [0] * len(entries)
    while True:
        names = [name(*e, lv) for e, lv in zip(entries, levels, strict=True)]
        seen: dict[str, int] = {}
        for n in names:
            seen[n] = seen.get(n, 0) + 1
        clash = [i for i, n in enumerate(names) if seen[n] > 1 and levels[i] < 2]
        if not clash:
            break
        for i in clash:
            levels[i] += 1
    for (_, p, _), n in zip(entries, names, strict=True):
        p["name"] = n


def _b64(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _sig(v: Any, digits: int = 4) -> float | None:
    v = float(v)
    if not math.isfinite(v):
        return None
    return float(f"{v:.{digits}g}")


def _model_of(ds: xr.Dataset) -> dict[str, Any]:
    from ..rnn import RNNConfig

    attrs = ds.attrs.get("model", {})
    if isinstance(attrs, str):
        attrs = json.loads(attrs)
    attrs = dict(attrs or {})
    known = {f.name for f in dataclasses.fields(RNNConfig)}
    kwargs = {k: v for k, v in attrs.items() if k in known}
    if "N" not in kwargs and "unit" in ds.sizes:
        kwargs["N"] = int(ds.sizes["unit"])
    try:
        cfg = RNNConfig(**kwargs)
    except (TypeError, ValueError):
        cfg = RNNConfig(N=int(ds.sizes.get("unit", 100)))
    return dataclasses.asdict(cfg) | {"D": cfg.D, "n_steps": cfg.n_steps, "half": cfg.half}


def _outcome_labels(ds: xr.Dataset) -> np.ndarray:
    """Per network: ``'stuck'``, ``'learned'``, ``'never learned'`` or ``'diverged'``."""
    from ..outcomes import learned, stuck

    P = ds.sizes["net"]
    labels = np.full(P, "never learned", dtype=object)
    if "accuracy" in ds.variables:
        acc = np.asarray(ds["accuracy"].transpose("net", "epoch").values, dtype=np.float64)
        labels[learned(acc)] = "learned"
        labels[stuck(acc)] = "stuck"
    else:
        labels[:] = "trained"
    if "diverged" in ds.variables:
        labels[np.asarray(ds["diverged"].values, dtype=bool)] = "diverged"
    return labels


def choose_networks(ds: xr.Dataset, max_networks: int) -> tuple[list[int], str]:
    """Up to ``max_networks`` networks that mix the outcomes of a run.

    Networks are grouped by outcome (``ghostlearn.outcomes``: stuck, learned and kept,
    never learned, diverged) and taken in turn from each group, lowest position first,
    so every outcome present is shown and the common ones most.

    Returns:
        ``(positions, explanation)``: sorted positions and one sentence for the page.
    """
    labels = _outcome_labels(ds)
    P = labels.size
    if P <= max_networks:
        return list(range(P)), "the only network" if P == 1 else f"all {P} networks"
    order = ("stuck", "learned", "never learned", "diverged", "trained")
    groups = [list(np.flatnonzero(labels == g)) for g in order]
    chosen: list[int] = []
    while len(chosen) < max_networks:
        progressed = False
        for g in groups:
            if g and len(chosen) < max_networks:
                chosen.append(int(g.pop(0)))
                progressed = True
        if not progressed:
            break
    counts = {g: int(np.sum(labels == g)) for g in order if np.any(labels == g)}
    shown = {g: int(np.sum(labels[chosen] == g)) for g in counts}
    parts = ", ".join(f"{shown[g]} of {counts[g]} {g}" for g in counts)
    return sorted(chosen), (
        f"{len(chosen)} of {P} networks, chosen to mix the outcomes ({parts}; the first of "
        "each outcome by position)"
    )


def _events(analysis: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Drops, bifurcations (not boundary crossings) and ghost emergences, for the curves."""
    if not analysis:
        return []
    out: list[dict[str, Any]] = []
    for d in analysis.get("drops") or []:
        out.append(
            {
                "type": "drop",
                "start": _sig(d["onset_epoch"], 8),
                "end": _sig(d["end_epoch"], 8),
                "text": (
                    f"abrupt drop, epochs {format_epoch(d['onset_epoch'])}\u2013"
                    f"{format_epoch(d['end_epoch'])} ({d.get('size_decades') or 0:.2g} decades)"
                ),
            }
        )
    for b in analysis.get("bifurcations") or []:
        if b.get("kind") == "boundary":
            continue
        where = _where(b.get("kappa"))
        out.append(
            {
                "type": "bifurcation",
                "epoch": _sig(b["epoch_after"], 8),
                "start": _sig(b["epoch_before"], 8),
                "text": (
                    f"{b.get('kind', 'other')} bifurcation ({b.get('direction', '')}) between "
                    f"epochs {format_epoch(b['epoch_before'])} and "
                    f"{format_epoch(b['epoch_after'])}{where}"
                ),
            }
        )
    for g in analysis.get("ghost_events") or []:
        if g.get("kind") != "emerge":
            continue
        where = _where(g.get("kappa"))
        out.append(
            {
                "type": "ghost",
                "epoch": _sig(g["epoch_after"], 8),
                "start": _sig(g.get("epoch_before") or g["epoch_after"], 8),
                "text": (
                    f"ghost emerged between epochs {format_epoch(g.get('epoch_before') or 0)} "
                    f"and {format_epoch(g['epoch_after'])}{where}"
                    + (" (remnant of a saddle-node)" if g.get("at_bifurcation") else "")
                ),
            }
        )
    return out


def _where(kappa: Any) -> str:
    """`` at kappa = 1.5`` (rank one) or `` at kappa = (1.5, -0.2)`` (rank K)."""
    k = [v for v in (kappa or []) if v is not None]
    if not k:
        return ""
    if len(k) == 1:
        return f" at kappa = {k[0]:.3g}"
    return " at kappa = (" + ", ".join(f"{v:.3g}" for v in k) + ")"


def _event_epochs(events: list[dict[str, Any]]) -> list[float]:
    keep: list[float] = []
    for ev in events:
        for key in ("start", "epoch", "end"):
            if ev.get(key) is not None:
                keep.append(float(ev[key]))
    return keep


def _metric(ds: xr.Dataset, name: str, net: int) -> np.ndarray | None:
    if name not in ds.variables:
        return None
    return np.asarray(ds[name].isel(net=net).values, dtype=np.float64)


def _drops_only(loss: np.ndarray, epochs: np.ndarray) -> dict[str, Any] | None:
    """Abrupt drops of a loss curve when no snapshots allow a full analysis."""
    from ..analysis.events import detect_abrupt_drops

    ok = np.isfinite(loss)
    if ok.sum() < 3:
        return None
    drops = detect_abrupt_drops(loss[ok], epochs[ok])
    return {"drops": [d.to_dict() for d in drops]}


def network_payload(
    ds: xr.Dataset,
    net: int,
    *,
    analysis: dict[str, Any] | None = None,
    options: ReportOptions | None = None,
    points: Any = None,
    point_epochs: Any = None,
) -> dict[str, Any]:
    """Everything the page draws for one network (see the module docstring).

    Args:
        ds: a training Dataset.
        net: position along ``net``.
        analysis: the network's ``RunAnalysis.to_dict()`` (events and verdict), or None.
        options: :class:`ReportOptions`.
        points: optional :class:`~ghostlearn.analysis.points.FlowPoints` (rank one) or
            :class:`~ghostlearn.analysis.slowpoints.SlowPoints` (rank K) ``[S']`` already
            found at the snapshot epochs ``point_epochs`` ``[S']`` (reused, not recomputed).
        point_epochs: see ``points``.

    Returns:
        A JSON-compatible dict. Rank one: ``snap`` holds the flow on ``n_kappa`` points per
        snapshot (see the module docstring). Rank K >= 2: ``snap`` holds a phase portrait
        per snapshot (:func:`plane_payload`).
    """
    opts = options or ReportOptions()
    model = _model_of(ds)
    P = ds.sizes["net"]
    if not 0 <= net < P:
        raise ValueError(f"net must be a position in 0..{P - 1}, got {net}")
    epochs = np.asarray(ds["epoch"].values, dtype=np.float64)
    coord = {k: ds[k].values[net].item() for k in ("seed", "lr", "c") if k in ds.coords}
    out: dict[str, Any] = {
        "net": int(net),
        "seed": coord.get("seed"),
        "lr": _sig(coord["lr"], 6) if "lr" in coord else None,
        "c": _sig(coord["c"], 6) if "c" in coord else None,
        "notes": [],
    }
    curves: dict[str, Any] = {}
    metrics: dict[str, np.ndarray] = {}
    for name in ("loss", "accuracy", "grad_norm"):
        y = _metric(ds, name, net)
        if y is None:
            continue
        metrics[name] = y
        xs, ys = envelope(epochs, y, opts.max_points)
        curves[name] = {"x": _b64(xs, "<i4"), "y": _b64(ys, "<f4"), "n": int(xs.size)}
    out["curves"] = curves
    out["n_epochs"] = int(epochs.size)

    if analysis is None and "loss" in metrics:
        analysis = _drops_only(metrics["loss"], epochs)
    events = _events(analysis)
    out["events"] = events
    verdict = (analysis or {}).get("verdict") or {}
    out["verdict"] = verdict.get("label")
    out["reason"] = verdict.get("reason")

    def epochs_only(note: str) -> dict[str, Any]:
        # No flow to draw: the slider steps through evenly spaced epochs instead.
        pos = snapshot_subset(epochs, opts.max_snapshots)
        out["snap"] = {"has_flow": False, "epoch": [float(e) for e in epochs[pos]]}
        out["snap"] |= _metrics_at(metrics, epochs, epochs[pos])
        out["notes"].append("No latent flow: " + note)
        return out

    if model["model"] == "lowrank" and int(model["rank"]) >= 2:
        if "snap_M" not in ds.variables or ds.sizes.get("snapshot", 0) == 0:
            return epochs_only(
                "the training data holds no snapshots (train with snapshot_every > 0)."
            )
        planes = plane_frames(
            ds,
            net,
            max_snapshots=opts.max_snapshots,
            keep_epochs=_event_epochs(events),
            points=points,
            point_epochs=point_epochs,
        )
        if planes.epochs.size == 0:
            return epochs_only("no snapshot has finite parameters (the network diverged).")
        out["notes"] += planes.notes
        out["snap"] = plane_payload(planes, opts.n_plane) | _metrics_at(
            metrics, epochs, planes.epochs
        )
        return out
    if model["model"] != "rank1":
        what = "full-rank" if model["model"] == "full" else "rank-one lowrank (K = 1)"
        return epochs_only(
            f"the flow is drawn for rank-one and rank-K (K >= 2) networks (this is {what})."
        )
    if "snap_m" not in ds.variables or ds.sizes.get("snapshot", 0) == 0:
        return epochs_only("the training data holds no snapshots (train with snapshot_every > 0).")

    frames = snapshot_frames(
        ds,
        net,
        max_snapshots=opts.max_snapshots,
        n_kappa=opts.n_kappa,
        keep_epochs=_event_epochs(events),
        points=points,
        point_epochs=point_epochs,
    )
    if frames.epochs.size == 0:
        return epochs_only("no snapshot has finite parameters (the network diverged).")
    out["notes"] += frames.notes
    se = frames.epochs
    fixed = [
        [[_sig(k, 5), int(c)] for k, c in zip(fk, fs, strict=True) if c > 0]
        for fk, fs in zip(frames.fixed_kappa, frames.fixed_stability, strict=True)
    ]
    ghosts = [
        [[_sig(k, 5), _sig(d, 3)] for k, d in zip(gk, gd, strict=True) if np.isfinite(k)]
        for gk, gd in zip(frames.ghost_kappa, frames.ghost_depth, strict=True)
    ]
    scale = float(np.max(np.abs(frames.flow))) or 1.0
    q = np.round(frames.flow / scale * _FLOW_LEVELS).astype(np.int16)
    out["snap"] = {
        "has_flow": True,
        "epoch": [float(e) for e in se],
        "n_total": frames.n_total,
        "kappa": {
            "lo": float(frames.kappa[0]),
            "hi": float(frames.kappa[-1]),
            "n": int(frames.kappa.size),
        },
        "flow": _b64(q, "<i2"),
        "flow_scale": scale / _FLOW_LEVELS,
        "fixed": fixed,
        "ghosts": ghosts,
        "traj": _b64(frames.trajectory, "<f4"),
        "traj_len": int(frames.trajectory.shape[1]),
    } | _metrics_at(metrics, epochs, se)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class SnapshotFrames:
    """The latent picture of one network at a subset of its snapshots.

    Attributes:
        epochs: ``[S]`` snapshot epochs shown.
        n_total: snapshots recorded (with finite parameters).
        kappa: ``[G]`` points of kappa where the flow is evaluated (the display window).
        flow: ``[S, G]`` ``f(kappa)``.
        fixed_kappa, fixed_stability: ``[S, F]`` fixed points (NaN / 0 pads; codes of
            :data:`ghostlearn.analysis.points.STABILITY_CODES`).
        ghost_kappa, ghost_depth: ``[S, H]`` ghosts (NaN pads).
        trajectory: ``[S, n_steps + 1]`` the trial's latent trajectory.
        notes: remarks (omitted snapshots).
    """

    epochs: np.ndarray
    n_total: int
    kappa: np.ndarray
    flow: np.ndarray
    fixed_kappa: np.ndarray
    fixed_stability: np.ndarray
    ghost_kappa: np.ndarray
    ghost_depth: np.ndarray
    trajectory: np.ndarray
    notes: list[str]


def snapshot_frames(
    ds: xr.Dataset,
    net: int,
    *,
    max_snapshots: int = 150,
    n_kappa: int = 200,
    keep_epochs: Sequence[float] = (),
    points: Any = None,
    point_epochs: Any = None,
) -> SnapshotFrames:
    """Flows, fixed points, ghosts and trial trajectories of one rank-one network.

    Snapshots with non-finite parameters are skipped; at most about ``max_snapshots`` are
    kept (:func:`snapshot_subset`, with ``keep_epochs``). The flow window covers the
    trajectories, the points and the readout threshold, padded (15 %, at least 0.5 and a
    width of 4), inside [-15, 15].

    Args:
        ds: a rank-one training Dataset with ``snap_m``, ``snap_n``, ``snap_b``.
        net: position along ``net``.
        max_snapshots, n_kappa: sizes (see :class:`ReportOptions`).
        keep_epochs: epochs whose snapshots must be kept (events).
        points, point_epochs: optional points already found at those snapshot epochs.

    Returns:
        :class:`SnapshotFrames`.

    Raises:
        ValueError: when the Dataset has no rank-one snapshots or ``net`` is out of range.
    """
    from ..analysis.flows import rank1_flow
    from ..analysis.points import rank1_points

    model = _model_of(ds)
    if model["model"] != "rank1" or "snap_m" not in ds.variables:
        raise ValueError(
            "the dataset has no rank-one snapshots (snap_m); train a rank-one model with "
            "snapshot_every > 0"
        )
    P = ds.sizes["net"]
    if not 0 <= net < P:
        raise ValueError(f"net must be a position in 0..{P - 1}, got {net}")
    notes: list[str] = []
    snap_epochs = np.asarray(ds["snapshot"].values, dtype=np.float64)

    def arr(name: str) -> np.ndarray:
        v = ds[name].isel(net=net).transpose("snapshot", "unit").values
        return np.asarray(v, dtype=np.float64)

    m, n, b = arr("snap_m"), arr("snap_n"), arr("snap_b")
    finite = np.all(np.isfinite(m), 1) & np.all(np.isfinite(n), 1) & np.all(np.isfinite(b), 1)
    valid = np.flatnonzero(finite)
    if valid.size < snap_epochs.size:
        notes.append(
            f"{snap_epochs.size - valid.size} snapshot(s) with non-finite parameters omitted."
        )
    if valid.size == 0:
        empty = np.zeros((0, 0))
        return SnapshotFrames(
            epochs=np.zeros(0), n_total=0, kappa=np.zeros(0), flow=empty, fixed_kappa=empty,
            fixed_stability=empty.astype(np.int8), ghost_kappa=empty, ghost_depth=empty,
            trajectory=empty, notes=notes,
        )  # fmt: skip
    sub = valid[snapshot_subset(snap_epochs[valid], max_snapshots, keep_epochs)]
    se = snap_epochs[sub]
    m, n, b = m[sub], n[sub], b[sub]

    fp, rows = None, np.arange(se.size)
    if points is not None and point_epochs is not None:
        pe = np.asarray(point_epochs, dtype=np.float64)
        where = np.searchsorted(pe, se)
        if pe.size and np.all(where < pe.size) and np.all(pe[np.minimum(where, pe.size - 1)] == se):
            fp, rows = points, where
    if fp is None:
        fp = rank1_points(m, n, b, interval=INTERVAL, tau=float(model["tau"]))
    fk = np.asarray(fp.fixed_kappa)[rows]
    fs = np.asarray(fp.fixed_stability)[rows]
    gk = np.asarray(fp.ghost_kappa)[rows]
    gd = np.asarray(fp.ghost_depth)[rows]
    traj = latent_trajectories(
        m, n, b, D=float(model["D"]), x0=float(model["x0"]), n_steps=int(model["n_steps"])
    )

    pool = [traj.ravel(), np.array([float(model["kappa_thr"])]), fk.ravel(), gk.ravel()]
    vals = np.concatenate(pool)
    vals = vals[np.isfinite(vals)]
    lo, hi = float(vals.min()), float(vals.max())
    pad = max(0.15 * (hi - lo), 0.5)
    lo, hi = lo - pad, hi + pad
    if hi - lo < 4.0:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 2.0, mid + 2.0
    lo, hi = max(lo, INTERVAL[0]), min(hi, INTERVAL[1])
    kgrid = np.linspace(lo, hi, n_kappa)
    return SnapshotFrames(
        epochs=se,
        n_total=int(valid.size),
        kappa=kgrid,
        flow=rank1_flow(kgrid, m, n, b),
        fixed_kappa=fk,
        fixed_stability=fs,
        ghost_kappa=gk,
        ghost_depth=gd,
        trajectory=traj,
        notes=notes,
    )


#: Colour map of the speed in phase portraits (slow is light).
PORTRAIT_CMAP = "magma_r"
#: Codes of the point classes in a plane payload.
PLANE_CODES = {
    "stable node": 1,
    "stable focus": 2,
    "saddle": 3,
    "unstable node": 4,
    "unstable focus": 5,
    "marginal": 6,
    "ghost": 7,
}


@dataclasses.dataclass(frozen=True, eq=False)
class PlaneFrames:
    """The phase portraits of one rank-K network (K >= 2) at a subset of its snapshots.

    Attributes:
        epochs: ``[S]`` snapshot epochs shown.
        n_total: snapshots recorded (with finite parameters).
        flow: the :class:`~ghostlearn.analysis.flows.LowRankFlow` ``[S]`` at those
            snapshots (with input weights: under zero input).
        points: their :class:`~ghostlearn.analysis.slowpoints.SlowPoints` ``[S]``.
        trajectory: ``[S, n_steps + 1, K]`` the task's trial in the latent space, or None
            (a task whose trials do not all start at ``x0`` without input).
        readout: the readout at those snapshots
            (:class:`~ghostlearn.analysis.run.LatentReadout`), or None.
        plane: the :class:`~ghostlearn.analysis.plane.LatentPlane` shown (one for all).
        limits: ``((a_lo, a_hi), (b_lo, b_hi))`` of the plane (one for all).
        speed_range: ``(lo, hi)`` of the speed over the shown window and snapshots.
        notes: remarks (omitted snapshots, input).
    """

    epochs: np.ndarray
    n_total: int
    flow: Any
    points: Any
    trajectory: np.ndarray | None
    readout: Any
    plane: Any
    limits: tuple[tuple[float, float], tuple[float, float]]
    speed_range: tuple[float, float]
    notes: list[str]

    def readout_at(self, s: int) -> Any:
        """The readout of frame ``s`` as :func:`~ghostlearn.analysis.plane.readout_values`
        takes it, or None."""
        from ..analysis.plane import state_readout

        r = self.readout
        if r is None:
            return None
        if r.kind == "latent":
            return (r.w_out[s], float(r.b_out[s]), r.threshold)
        return state_readout(self.flow[s], r.w_out[s], float(r.b_out[s]), r.threshold)


def plane_frames(
    ds: xr.Dataset,
    net: int,
    *,
    max_snapshots: int = 150,
    keep_epochs: Sequence[float] = (),
    points: Any = None,
    point_epochs: Any = None,
) -> PlaneFrames:
    """Phase-portrait data of one rank-K network (K >= 2) at a subset of its snapshots.

    Snapshots with non-finite parameters are skipped; at most about ``max_snapshots`` are
    kept (:func:`snapshot_subset`, with ``keep_epochs``). Fixed points and ghosts are
    reused from ``points`` when given for those epochs, else found with
    :func:`~ghostlearn.analysis.slowpoints.find_slow_points_along`. One plane
    (:func:`~ghostlearn.analysis.plane.leading_plane`: the latent plane for K = 2) and one
    window (the trial and the points, padded, inside [-15, 15] for K = 2) serve every frame.
    Networks with inputs are drawn under zero input.

    Args:
        ds: a rank-K training Dataset with ``snap_M``, ``snap_Nmat``, ``snap_b``.
        net: position along ``net``.
        max_snapshots: snapshots to keep (about).
        keep_epochs: epochs whose snapshots must be kept (events).
        points, point_epochs: optional points already found at those snapshot epochs.

    Returns:
        :class:`PlaneFrames`.

    Raises:
        ValueError: when the Dataset has no rank-K snapshots with K >= 2, or ``net`` is out
            of range.
    """
    from ..analysis.flows import LowRankFlow
    from ..analysis.plane import latent_trial, leading_plane, plane_field, plane_limits, trial_start
    from ..analysis.run import LatentReadout, dataset_readout, dataset_trial
    from ..analysis.slowpoints import SlowPoints, find_slow_points_along

    model = _model_of(ds)
    if model["model"] != "lowrank" or "snap_M" not in ds.variables or int(model["rank"]) < 2:
        raise ValueError(
            "the dataset has no rank-K snapshots (snap_M with K >= 2); train a lowrank model "
            "with snapshot_every > 0"
        )
    P = ds.sizes["net"]
    if not 0 <= net < P:
        raise ValueError(f"net must be a position in 0..{P - 1}, got {net}")
    notes: list[str] = []
    snap_epochs = np.asarray(ds["snapshot"].values, dtype=np.float64)

    def arr(name: str, dims: tuple[str, ...]) -> np.ndarray:
        return np.asarray(ds[name].isel(net=net).transpose(*dims).values, dtype=np.float64)

    M = arr("snap_M", ("snapshot", "unit", "k"))
    Nm = arr("snap_Nmat", ("snapshot", "k", "unit"))
    b = arr("snap_b", ("snapshot", "unit"))
    W_in = None
    if "snap_W_in" in ds.variables:
        extra = [d for d in ds["snap_W_in"].dims if d not in ("net", "snapshot", "unit")]
        W_in = arr("snap_W_in", ("snapshot", "unit", *extra))
        notes.append("The flows are drawn without input (u = 0), as in the delay periods.")
    S = snap_epochs.size
    finite = np.ones(S, bool)
    for a in (M, Nm, b) + (() if W_in is None else (W_in,)):
        finite &= np.all(np.isfinite(a.reshape(S, -1)), axis=1)
    valid = np.flatnonzero(finite)
    if valid.size < S:
        notes.append(f"{S - valid.size} snapshot(s) with non-finite parameters omitted.")
    empty = np.zeros(0)
    if valid.size == 0:
        return PlaneFrames(
            epochs=empty, n_total=0, flow=None, points=None, trajectory=None, readout=None,
            plane=None, limits=((0.0, 1.0), (0.0, 1.0)), speed_range=(1.0, 10.0), notes=notes,
        )  # fmt: skip
    sub = valid[snapshot_subset(snap_epochs[valid], max_snapshots, keep_epochs)]
    se = snap_epochs[sub]
    flow = LowRankFlow(
        M[sub], Nm[sub], b[sub], None if W_in is None else W_in[sub],
        None if W_in is None else np.zeros(W_in.shape[-1]),
    )  # fmt: skip
    pts = None
    if isinstance(points, SlowPoints) and point_epochs is not None:
        pe = np.asarray(point_epochs, dtype=np.float64)
        where = np.searchsorted(pe, se)
        if pe.size and np.all(where < pe.size) and np.all(pe[np.minimum(where, pe.size - 1)] == se):
            pts = points.take(where)
    if pts is None:
        pts = find_slow_points_along(flow, box=INTERVAL, tau=float(model["tau"]))
    trial = dataset_trial(ds)
    traj = None
    if trial is not None:
        traj = latent_trial(
            flow, trial_start(flow, trial["x0"]), D=trial["D"], n_steps=int(trial["n_steps"])
        )
    readout = dataset_readout(ds, net)
    if readout is not None:
        w, bo = readout.w_out[sub], readout.b_out[sub]
        ok = np.all(np.isfinite(w)) and np.all(np.isfinite(bo))
        readout = LatentReadout(readout.kind, w, bo) if ok else None
    data = [pts.kappa] + ([traj] if traj is not None else [])
    plane = leading_plane(flow, data)
    limits = plane_limits(plane, [*data, plane.origin[None]], box=INTERVAL)
    lo, hi = np.inf, 0.0
    for s in range(se.size):
        sp = plane_field(flow[s], plane, limits, 16).speed
        lo, hi = min(lo, float(sp.min())), max(hi, float(sp.max()))
    lo = max(lo, 1e-6 * hi, 1e-12)
    return PlaneFrames(
        epochs=se,
        n_total=int(valid.size),
        flow=flow,
        points=pts,
        trajectory=traj,
        readout=readout,
        plane=plane,
        limits=limits,
        speed_range=(lo, max(hi, 10.0 * lo)),
        notes=notes,
    )


def plane_payload(frames: PlaneFrames, n: int = 28) -> dict[str, Any]:
    """The page's data for the phase portraits of :func:`plane_frames`.

    Per snapshot, on an ``n x n`` grid of the plane: ``log10 |F|`` as uint8 levels over
    ``log_range`` (one range for all frames), the direction of the flow projected on the
    plane as uint8 (``256`` levels per turn; the page integrates streamlines along it),
    the readout's boundary function as int8 (scaled per frame; the page draws its zero
    line), and the points ``[a, b, code, |F|]`` (codes :data:`PLANE_CODES`) and the trial
    in plane coordinates.

    Returns:
        A JSON-compatible dict (the ``snap`` of :func:`network_payload`).
    """
    from ..analysis.plane import plane_field, readout_values

    S = frames.epochs.size
    lo, hi = (math.log10(v) for v in frames.speed_range)
    speed = np.zeros((S, n, n), np.uint8)
    angle = np.zeros((S, n, n), np.uint8)
    zq = np.zeros((S, n, n), np.int8) if frames.readout is not None else None
    for s in range(S):
        field = plane_field(frames.flow[s], frames.plane, frames.limits, n)
        ls = np.log10(np.maximum(field.speed, 1e-300))
        speed[s] = np.clip(np.round((ls - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)
        ang = np.arctan2(field.flow[..., 1], field.flow[..., 0])
        angle[s] = (np.round(ang / (2 * np.pi) * 256).astype(np.int64) % 256).astype(np.uint8)
        if zq is not None:
            z = readout_values(frames.readout_at(s), field.points())
            scale = float(np.max(np.abs(z))) or 1.0
            zq[s] = np.clip(np.round(z / scale * 127), -127, 127).astype(np.int8)
    stab = frames.points.stability
    pts = []
    for s in range(S):
        row = []
        for j in range(int(frames.points.n_points[s])):
            a, b = frames.plane.to_plane(frames.points.kappa[s, j])
            code = PLANE_CODES.get(str(stab[s, j]), 6)
            row.append([_sig(a, 5), _sig(b, 5), code, _sig(frames.points.speed[s, j], 3)])
        pts.append(row)
    out: dict[str, Any] = {
        "has_flow": True,
        "plane": True,
        "K": int(frames.plane.rank),
        "projected": bool(frames.plane.projected),
        "labels": list(frames.plane.labels)
        if frames.plane.projected
        else ["\u03ba\u2081", "\u03ba\u2082"],
        "epoch": [float(e) for e in frames.epochs],
        "n_total": frames.n_total,
        "limits": [[float(v) for v in frames.limits[0]], [float(v) for v in frames.limits[1]]],
        "n": int(n),
        "log_speed": _b64(speed, "u1"),
        "log_range": [lo, hi],
        "angle": _b64(angle, "u1"),
        "readout": None if zq is None else _b64(zq, "i1"),
        "readout_kind": None if frames.readout is None else frames.readout.kind,
        "points": pts,
        "traj": None,
        "traj_len": 0,
    }
    if frames.trajectory is not None:
        ab = frames.plane.to_plane(frames.trajectory)
        out["traj"] = _b64(ab, "<f4")
        out["traj_len"] = int(ab.shape[1])
    return out


def _metrics_at(
    metrics: dict[str, np.ndarray], epochs: np.ndarray, at: np.ndarray
) -> dict[str, list[float | None]]:
    """Metric values at the epochs ``at`` (the nearest recorded epoch at or before)."""
    pos = np.clip(np.searchsorted(epochs, at, side="right") - 1, 0, epochs.size - 1)
    return {f"at_{k}": [_sig(v) for v in y[pos]] for k, y in metrics.items()}


def run_payload(run: TrainingRun, options: ReportOptions | None = None) -> dict[str, Any]:
    """The payload of one training run: its chosen networks, their data, the run's config.

    Networks without a stored analysis are analysed here with
    :func:`ghostlearn.analysis.run.analyze_dataset` (all their snapshots, default
    settings) when the run is rank one with snapshots. Each network gets a ``name``
    (:func:`network_name`, distinct within the run); ``n_epochs`` is the number of epochs
    trained (the ``train`` attribute's ``epochs``, else the epochs recorded).
    """
    opts = options or ReportOptions()
    ds = run.ds
    P = ds.sizes["net"]
    if opts.nets is not None:
        bad = [i for i in opts.nets if i >= P]
        if bad:
            raise ValueError(f"nets must be positions in 0..{P - 1}, got {bad[0]}")
        nets, selection = sorted(set(opts.nets)), f"{len(set(opts.nets))} of {P} networks, as asked"
    else:
        nets, selection = choose_networks(ds, opts.max_networks)
    model = _model_of(ds)
    outcomes = _outcome_labels(ds)
    analyses: dict[int, dict[str, Any]] = dict(run.analyses or {})
    found: dict[int, Any] = {}
    failed: dict[int, str] = {}
    notes: list[str] = []
    todo = [i for i in nets if i not in analyses]
    if todo and _has_latent_snapshots(ds, model):
        from ..analysis.run import analyze_dataset

        for i, res in zip(todo, _analyze(analyze_dataset, ds, todo), strict=True):
            if isinstance(res, str):
                failed[i] = res
            else:
                analyses[i] = res.to_dict()
                found[i] = res
    payload_nets = []
    for i in nets:
        res = found.get(i)
        p = network_payload(
            ds,
            i,
            analysis=analyses.get(i),
            options=opts,
            points=None if res is None else res.points,
            point_epochs=None if res is None else res.snapshot_epochs,
        )
        p["outcome"] = str(outcomes[i])
        if i in failed:
            p["notes"].append(f"Not analysed: {failed[i]}")
        payload_nets.append(p)
    _name_networks([(run, payload_nets)])
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[str(o)] = counts.get(str(o), 0) + 1
    attrs = ds.attrs
    train = _jsonable(attrs.get("train", {}))
    n_epochs = train.get("epochs") if isinstance(train, dict) else None
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 0:
        n_epochs = int(ds.sizes.get("epoch", 0))
    return {
        "label": run.label,
        "model": model,
        "train": train,
        "config": _jsonable(attrs.get("config", {})),
        "version": attrs.get("ghostlearn_version"),
        "n_nets": int(P),
        "n_epochs": int(n_epochs),
        "n_snapshots": int(ds.sizes.get("snapshot", 0)) if _has_latent_snapshots(ds, model) else 0,
        "selection": selection,
        "outcomes": counts,
        "analysis_source": "stored" if run.analyses else "computed for this report",
        "notes": notes,
        "nets": payload_nets,
    }


def _has_latent_snapshots(ds: xr.Dataset, model: dict[str, Any]) -> bool:
    """Whether the run has snapshots whose latent flow the report draws."""
    if model["model"] == "rank1":
        return "snap_m" in ds.variables
    return model["model"] == "lowrank" and "snap_M" in ds.variables and int(model["rank"]) >= 2


def _analyze(analyze_dataset: Any, ds: xr.Dataset, nets: list[int]) -> list[Any]:
    """Analyse ``nets`` together; if that fails, one by one (a failure gives its message)."""
    try:
        return list(analyze_dataset(ds, nets=nets))
    except ValueError:
        out: list[Any] = []
        for i in nets:
            try:
                out.append(analyze_dataset(ds, nets=[i])[0])
            except ValueError as err:
                out.append(str(err))
        return out


def _jsonable(x: Any) -> Any:
    from ..store import to_jsonable

    if isinstance(x, str):
        try:
            return json.loads(x)
        except ValueError:
            return x
    return to_jsonable(x)


def report_payload(
    source: ReportSource,
    options: ReportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The JSON payload of the page's interactive part for every run of ``source``.

    ``progress(done, total)`` is called in runs: ``(0, total)`` first, then after each.
    Network names are made distinct across runs (:func:`network_name`; the run's label
    or the position is added where two would read the same).
    """
    opts = options or ReportOptions()
    runs = []
    for r in source.runs:
        if progress is not None:
            progress(len(runs), len(source.runs))
        runs.append(run_payload(r, opts))
    if progress is not None:
        progress(len(runs), len(source.runs))
    _name_networks([(r, p["nets"]) for r, p in zip(source.runs, runs, strict=True)])
    return {
        "ghostlearn_version": __version__,
        "limits": dataclasses.asdict(opts),
        "colormap": _colormap_hex(PORTRAIT_CMAP),
        "runs": runs,
    }


def _colormap_hex(name: str) -> str:
    """A matplotlib colour map sampled at 256 levels as one hex string (6 digits each)."""
    from matplotlib import colormaps

    rgb = colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3]
    return "".join(f"{int(round(r * 255)):02x}{int(round(g * 255)):02x}{int(round(b * 255)):02x}"
                   for r, g, b in rgb)  # fmt: skip
