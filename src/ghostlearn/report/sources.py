"""What a report is made of, read from disk: results folders, training stores, analyses,
checkpoints, and the analyses the report runs on networks that have none stored.

Four kinds of input (see :func:`load_source`):

- a **results folder** written by ``ghostlearn reproduce``: ``<out>/<fig>/summary.json``
  (with the figure's ``caption``), ``figure.png``, ``figure-extra.png`` (panels beyond the
  paper, if any), ``data.zarr`` and ``<out>/claims.json``. Every zarr group that holds a
  training Dataset with snapshots (``snap_m`` rank one, ``snap_M`` rank K) becomes an
  explorable run;
- a **training store**: a zarr of a training Dataset (``ghostlearn train`` writes
  ``<out>/train.zarr``; the folder or the store itself may be given), with or without
  ``snap_*`` snapshots, or a sweep store (``ghostlearn sweep``: one run per batch, its
  networks named by the swept fields);
- a **checkpoint** (``.npz`` or ``.safetensors``), read by
  :func:`ghostlearn.checkpoints.read_checkpoint` (the schema of ``docs/checkpoints.md``)
  and turned into a one-network training Dataset (:func:`checkpoint_dataset`);
- an **analysis**: ``analysis.json`` (``RunAnalysis.to_dict()`` per network) next to a
  training store or a checkpoint; its verdicts and events are used as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ..results import AnalysisFolder, ExperimentFolder, ResultsFolder, RunFolder
from ..store import open_zarr, read_json
from .frames import has_latent_snapshots

if TYPE_CHECKING:
    from ..checkpoints import Checkpoint

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "PAPER",
    "NetworkAnalyses",
    "ReportSource",
    "TrainingRun",
    "analyze_networks",
    "checkpoint_dataset",
    "load_source",
]

#: The paper whose figures a results folder reproduces.
PAPER = "Dinc et al. 2025"
#: File suffixes read as checkpoints.
CHECKPOINT_SUFFIXES = (".npz", ".safetensors")


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
        checkpoint: the checkpoint the run was read from (its one network is analysed as
            ``ghostlearn analyze`` does, :func:`~ghostlearn.checkpoints.analyze_checkpoint`),
            else None.
    """

    label: str
    ds: xr.Dataset
    analyses: dict[int, dict[str, Any]] | None = None
    group: str | None = None
    fields: tuple[str, ...] = ()
    checkpoint: Checkpoint | None = None


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


# --------------------------------------------------------------------------- zarr stores


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


def _display_name(p: Path) -> str:
    """A path's name as a title shows it; ``train.zarr`` and ``data.zarr`` (the names
    ``ghostlearn train`` and the experiments always write) come with their folder's name,
    which is what tells runs apart."""
    name = p.name or p.resolve().name
    if name in (RunFolder(p).store.name, ExperimentFolder(p).data.name):
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


# --------------------------------------------------------------------------- results folders


def _experiments_of(folder: Path) -> list[dict[str, Any]]:
    from ..experiments.base import EXPERIMENTS

    results = ResultsFolder(folder)
    names = results.complete(EXPERIMENTS) + results.others(list(EXPERIMENTS))
    out = []
    for name in names:
        experiment = results.experiment(name)
        summary = read_json(experiment.summary)
        png = experiment.figure()
        extra = experiment.extra_figure()
        out.append(
            {
                "name": name,
                "title": summary.get("title", name),
                "summary": summary,
                "figure": png if png.exists() else None,
                "extra": extra if extra.exists() else None,
                "data": experiment.data,
            }
        )
    return out


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


# --------------------------------------------------------------------------- checkpoints


def _checkpoint_weights(ckpt: Checkpoint, notes: list[str]) -> dict[str, Any]:
    """The ``snap_*`` variables of a checkpoint's latent flow (and its inputs, readout)."""
    a = ckpt.arrays
    if ckpt.kind == "rank1":
        if ckpt.n_in:
            notes.append("The flows are drawn without input (u = 0).")
        return {f"snap_{k}": (("net", "snapshot", "unit"), a[k][None]) for k in ("m", "n", "b")}
    M, Nmat, b = ckpt.latent_weights()
    out: dict[str, Any] = {
        "snap_M": (("net", "snapshot", "unit", "k"), M[None]),
        "snap_Nmat": (("net", "snapshot", "k", "unit"), Nmat[None]),
        "snap_b": (("net", "snapshot", "unit"), b[None]),
    }
    if "W_in" in a:
        out["snap_W_in"] = (("net", "snapshot", "unit", "input"), a["W_in"][None])
    w_out, b_out = a.get("w_out"), a.get("b_out")
    if w_out is not None and b_out is not None and w_out.ndim == 2 and b_out.ndim == 1:
        out["snap_w_out"] = (("net", "snapshot", "unit"), w_out[None])
        out["snap_b_out"] = (("net", "snapshot"), b_out[None])
    if ckpt.svd is not None:
        share = ckpt.svd.max_discarded_share
        notes.append(
            f"W is drawn through its leading {ckpt.svd.K} singular direction(s), which leave "
            f"out {share:.3g} of the spectrum at most (sum of the discarded singular values "
            "squared / sum of all)."
        )
    return out


def _checkpoint_metrics(
    ckpt: Checkpoint, c: float, notes: list[str]
) -> tuple[dict[str, Any], np.ndarray]:
    """``(metric variables over (net, epoch), their epochs)``: the checkpoint's own, else
    the delayed-activation task's score of every snapshot, else none (with a note)."""
    from ..checkpoints import task_metrics

    if ckpt.metrics:
        metrics, epochs = dict(ckpt.metrics), np.asarray(ckpt.metric_epochs)
    else:
        try:
            metrics = task_metrics(ckpt, c=c)
        except ValueError as err:
            notes.append(f"No training curves: {err}.")
            metrics = {}
        epochs = ckpt.epochs
    return {k: (("net", "epoch"), np.asarray(v)[None]) for k, v in metrics.items()}, epochs


def checkpoint_dataset(ckpt: Checkpoint, *, c: float = 10.0) -> tuple[xr.Dataset, list[str]]:
    """A one-network training Dataset of a checkpoint, and remarks for the page.

    Rank one gives ``snap_m``, ``snap_n``, ``snap_b``; rank K and full rank the factors of
    the latent flow analysed (:meth:`~ghostlearn.checkpoints.Checkpoint.latent_weights`:
    the leading singular directions of a full-rank ``W``) as ``snap_M``, ``snap_Nmat``,
    ``snap_b``, with ``snap_W_in`` and a single readout ``snap_w_out``, ``snap_b_out``
    when present. The metrics are the checkpoint's (per snapshot, or curves at
    ``loss_epoch``); without a loss the snapshots are scored on the delayed-activation
    task (:func:`~ghostlearn.checkpoints.task_metrics`, rank one at confidence ``c``),
    and a network that cannot be scored (inputs, no readout) has no curves.

    Args:
        ckpt: a checkpoint (:func:`~ghostlearn.checkpoints.read_checkpoint`).
        c: confidence of the rank-one readout when scoring.

    Returns:
        ``(ds, notes)``.
    """
    from ..rnn import RNNConfig

    notes: list[str] = []
    variables = _checkpoint_weights(ckpt, notes)
    metrics, metric_epochs = _checkpoint_metrics(ckpt, c, notes)
    # D = dt / tau; RNNConfig's default dt = 5 and tau = 10 make the scoring default 0.5.
    tau = 10.0 if ckpt.D is None else 5.0 / ckpt.D
    if ckpt.kind == "rank1":
        cfg = RNNConfig(N=ckpt.N, dt=5.0, tau=tau)
    else:
        cfg = RNNConfig(model="lowrank", rank=ckpt.K, N=ckpt.N, dt=5.0, tau=tau)
    ds = xr.Dataset(
        variables | metrics,
        coords={"net": [0], "snapshot": ckpt.epochs, "epoch": metric_epochs},
        attrs={"model": dataclasses.asdict(cfg), "source": ckpt.source},
    )
    return ds, notes


def _load_checkpoint(path: Path) -> ReportSource:
    from ..checkpoints import read_checkpoint

    ckpt = read_checkpoint(path)
    ds, notes = checkpoint_dataset(ckpt)
    run = TrainingRun(label=path.name, ds=ds, checkpoint=ckpt)
    return ReportSource(
        kind="training", path=path, title=f"Snapshots {path.name}", experiments=[],
        claims=[], runs=[run], notes=notes,
    )  # fmt: skip


# --------------------------------------------------------------------------- analyses


def _analysis_entries(obj: Any, path: Path) -> dict[int, dict[str, Any]]:
    """Per-network analysis dicts from an ``analysis.json`` (see :func:`load_source`)."""
    if isinstance(obj, dict) and "verdict" in obj:
        items: list[Any] = [obj]
    elif isinstance(obj, dict):
        found = [obj[k] for k in ("networks", "nets", "runs", "analyses")
                 if isinstance(obj.get(k), list)]  # fmt: skip
        if not found:
            raise ValueError(
                f"{path} must hold an analysis (a dict with 'verdict'), a list of them, or a "
                "dict with a list under 'networks'"
            )
        items = found[0]
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


def _beside(folder: Path) -> Path | None:
    """A training store or checkpoint in ``folder``."""
    if _is_zarr(RunFolder(folder).store):
        return RunFolder(folder).store
    for p in sorted(folder.glob("*.zarr")):
        if _is_zarr(p) and _training_groups(p, need_snapshots=False):
            return p
    for suffix in CHECKPOINT_SUFFIXES:
        found = sorted(folder.glob(f"*{suffix}"))
        if found:
            return found[0]
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
        data = _beside(path.parent)
        if data is None:
            raise ValueError(
                f"{str(path)!r} needs its training data: the 'source' it names, or a "
                "train.zarr (or another training zarr store) or a checkpoint (.npz, "
                ".safetensors) beside it"
            )
    if _is_zarr(data):
        src = _load_training(data, data.name, data.parent / f"{RunFolder.FIGURE}.png")
        run = next((r for r in src.runs if group and r.label.endswith("/" + group)), src.runs[0])
    elif data.is_dir() and _is_zarr(RunFolder(data).store):
        store = RunFolder(data).store
        src = _load_training(store, store.name, data / f"{RunFolder.FIGURE}.png")
        run = src.runs[0]
    else:
        src = _load_checkpoint(data)
        run = src.runs[0]
    runs = [dataclasses.replace(run, analyses=entries)]
    title = f"Analysis of {_display_name(data)}"
    if (
        path.name != AnalysisFolder(path.parent).record.name
    ):  # the name ``ghostlearn analyze`` writes says nothing
        title += f" ({path.name})"
    return dataclasses.replace(src, kind="analysis", path=path, title=title, runs=runs)


# --------------------------------------------------------------------------- what a path is


def load_source(path: str | Path) -> ReportSource:
    """Find out what ``path`` is and read what a report of it needs.

    Args:
        path: a results folder (``claims.json`` or ``<fig>/summary.json`` inside), a
            training zarr store, a folder holding ``train.zarr`` (then ``analysis.json``
            and ``training.png`` beside it are used too), an ``analysis.json`` (a
            ``RunAnalysis.to_dict()``, a list of them, or ``{"networks": [...]}``, each
            optionally with ``"net"``: its position) next to its training data, or a
            checkpoint (``.npz`` or ``.safetensors``, :mod:`ghostlearn.checkpoints`).

    Returns:
        :class:`ReportSource`.

    Raises:
        ValueError: when the path does not exist or holds none of these, or a checkpoint
            does not fit the schema (one line naming the array and the shapes).
    """
    p = Path(path)
    if not p.exists():
        raise ValueError(f"path does not exist: {str(p)!r}")
    if p.is_file():
        if p.suffix == ".json":
            return _load_analysis(p)
        if p.suffix.lower() in CHECKPOINT_SUFFIXES:
            return _load_checkpoint(p)
        raise ValueError(
            f"cannot make a report of the file {str(p)!r}: give a results folder, a training "
            "store (.zarr), an analysis.json or a checkpoint (.npz, .safetensors)"
        )
    if _is_zarr(p):
        if AnalysisFolder(p.parent).record.exists():
            return _load_analysis(AnalysisFolder(p.parent).record, p)
        return _load_training(p, p.name, p.parent / "training.png")
    if (p / "claims.json").exists() or any(p.glob("*/summary.json")):
        return _load_results(p)
    run = RunFolder(p)
    if _is_zarr(run.store):
        if AnalysisFolder(p).record.exists():
            return _load_analysis(AnalysisFolder(p).record)
        return _load_training(run.store, run.store.name, run.path / f"{run.FIGURE}.png")
    raise ValueError(
        f"{str(p)!r} is neither a results folder (claims.json, <fig>/summary.json), a "
        "training store (.zarr) nor a folder holding train.zarr"
    )


# --------------------------------------------------------------------------- running analyses


def _analyses_of(ds: xr.Dataset, nets: list[int], checkpoint: Checkpoint | None) -> list[Any]:
    """A :class:`~ghostlearn.analysis.RunAnalysis` per network of ``nets``, or the message
    of the ``ValueError`` that stopped it."""
    from ..analysis.run import analyze_dataset
    from ..checkpoints import analyze_checkpoint

    def one(i: int) -> Any:
        try:
            if checkpoint is not None:
                return analyze_checkpoint(checkpoint)
            return analyze_dataset(ds, nets=[i])[0]
        except ValueError as err:
            return str(err)

    if checkpoint is None and len(nets) > 1:
        try:
            return list(analyze_dataset(ds, nets=nets))
        except ValueError:
            pass
    return [one(i) for i in nets]


@dataclasses.dataclass(frozen=True, eq=False)
class NetworkAnalyses:
    """The analyses of a run's networks, stored or computed for the report.

    Attributes:
        dicts: per network position, a ``RunAnalysis.to_dict()`` (stored or computed).
        computed: per network position, the :class:`~ghostlearn.analysis.RunAnalysis`
            computed here (its points are reused for the frames).
        failed: per network position, why it could not be analysed.
    """

    dicts: dict[int, dict[str, Any]]
    computed: dict[int, Any]
    failed: dict[int, str]


def analyze_networks(
    ds: xr.Dataset,
    nets: Sequence[int],
    stored: dict[int, dict[str, Any]] | None = None,
    checkpoint: Checkpoint | None = None,
) -> NetworkAnalyses:
    """The analyses of ``nets``: those ``stored``, the others computed.

    Networks without a stored analysis are analysed when the run has latent snapshots
    (rank one, or rank K >= 2): the network of a ``checkpoint`` with
    :func:`~ghostlearn.checkpoints.analyze_checkpoint` (as ``ghostlearn analyze`` does),
    the others with :func:`ghostlearn.analysis.run.analyze_dataset` (all their snapshots,
    default settings), together, or one by one when that fails, so one network's failure
    is only its own.

    Args:
        ds: a training Dataset.
        nets: positions along ``net``.
        stored: per position, a ``RunAnalysis.to_dict()`` read from disk.
        checkpoint: the checkpoint ``ds`` was made of (:func:`checkpoint_dataset`), if any.

    Returns:
        :class:`NetworkAnalyses`.
    """
    out = NetworkAnalyses(dicts=dict(stored or {}), computed={}, failed={})
    todo = [i for i in nets if i not in out.dicts]
    if not todo or not has_latent_snapshots(ds):
        return out
    results = _analyses_of(ds, todo, checkpoint)
    for i, res in zip(todo, results, strict=True):
        if isinstance(res, str):
            out.failed[i] = res
        else:
            out.dicts[i] = res.to_dict()
            out.computed[i] = res
    return out
