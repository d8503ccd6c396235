"""A sweep on disk: one zarr group, one subgroup per completed batch, and a manifest.

Layout of a store ``STORE``::

    .STORE.lock                 the writers' lock, beside the store (see below)
    STORE/.zattrs               root group (zarr v2); attrs["ghostlearn_sweep_json"] = JSON
                                of {format, spec, spec_hash, ghostlearn_version, dims,
                                shape}
    STORE/manifest.json         the batch table and when each batch was completed
    STORE/batches/              group holding the batches
    STORE/batches/b00000/       one zarr group per completed batch, with its own consolidated
                                metadata: the Dataset returned by ghostlearn.train.train for
                                its networks, plus a ``cell`` coordinate (flat cell index)
                                along ``net``; attrs ``sweep_spec_hash`` and
                                ``ghostlearn_checksums``
    STORE/batches/.b00001.tmp-* a batch being written (or left by a killed run)

A batch is written under a temporary name and renamed into place when complete, so a
batch subgroup either exists whole or not at all. A batch counts as done only when it is in
place *and* records the store's spec hash (the fingerprint of the spec it was trained
under, :func:`~ghostlearn.sweep.spec.spec_hash`) and the checksums of its arrays, which
are checked whenever the batch is read (:mod:`ghostlearn.integrity`,
:meth:`SweepStore.verify`). ``manifest.json`` (written atomically after each batch) adds timing for
``ghostlearn sweep status``; where it lags (a kill between the rename and the manifest
write), the subgroups win. The root's consolidated metadata is written when the store is
created and again when its last batch completes.

Stores created by earlier versions (zarr v3, ``STORE/zarr.json`` with the record as a plain
dict) are read, resumed and written in their own format.

Writers take the lock ``.STORE.lock`` (a file beside the store, so it can be taken before
the store exists) before anything in the store is created, moved or deleted, and hold it
until they finish; a second writer is refused. The operating system releases the lock when
its holder dies, ``kill -9`` included.

:func:`open_sweep` loads the store as one Dataset with one dimension per swept field.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..integrity import ATTR as _CHECKSUMS
from ..integrity import DamagedStore, checksums, load_verified, reading
from ..resources import check_memory
from ..store import (
    JSON_SUFFIX,
    ZARR_FORMAT,
    atomic_path,
    decode_attrs,
    encode_attrs,
    read_json,
    to_jsonable,
    write_json,
)
from .plan import PER_NET_FIELDS, Batch, BatchGroup, SweepPlan, cell_values, plan_sweep
from .spec import SweepSpec, parse_spec, spec_differences, spec_hash

__all__ = [
    "SweepStatus",
    "SweepStore",
    "lock_path",
    "open_group",
    "open_sweep",
    "store_lock",
    "sweep_status",
]

FORMAT = "ghostlearn-sweep-1"
_ATTR = "ghostlearn_sweep"
_MANIFEST = "manifest.json"
# The batches group's own metadata in a zarr v2 store: dot-files, but not temporaries.
_ZARR_V2_FILES = frozenset({".zgroup", ".zattrs", ".zmetadata"})
_BATCHES = "batches"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _version() -> str:
    from .. import __version__

    return __version__


def _store_format(path: Path) -> int:
    """The zarr format of the sweep store at ``path`` (3 for stores of earlier versions)."""
    return 3 if (path / "zarr.json").is_file() else 2


def _read_root_attrs(path: Path) -> dict[str, Any]:
    """The sweep record of the store at ``path``; ValueError if it is not a sweep store."""
    v3 = path / "zarr.json"
    meta = v3 if v3.is_file() else path / ".zattrs"
    if not meta.is_file():
        raise ValueError(f"{str(path)!r} is not a sweep store (no zarr group attributes)")
    try:
        attrs = read_json(meta)
        if meta is v3:
            attrs = attrs.get("attributes", {})
        record = attrs.get(_ATTR)
        if record is None and isinstance(attrs.get(_ATTR + JSON_SUFFIX), str):
            record = json.loads(attrs[_ATTR + JSON_SUFFIX])
    except (OSError, ValueError, AttributeError) as e:
        raise ValueError(
            f"{str(path)!r} is not a sweep store, or a damaged one: its {meta.name} is not "
            f"valid zarr metadata ({e})"
        ) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a ghostlearn sweep store")
    return record


def _group_attrs(path: Path) -> dict[str, Any]:
    """The decoded attributes of the zarr group at ``path`` (v2 or v3); {} if unreadable."""
    try:
        if (path / "zarr.json").is_file():
            attrs = read_json(path / "zarr.json").get("attributes", {})
        else:
            attrs = read_json(path / ".zattrs")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(attrs, dict):
        return {}
    out = dict(attrs)
    for key, value in attrs.items():
        if key.endswith(JSON_SUFFIX) and isinstance(value, str):
            with contextlib.suppress(ValueError):
                out[key[: -len(JSON_SUFFIX)]] = json.loads(value)
    return out


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of the store at ``path``: ``.NAME.lock`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def store_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the store at ``path`` for writing; a second writer gets a ValueError at once.

    The lock is a file beside the store (:func:`lock_path`), so it is taken before
    anything in the store exists. :mod:`filelock` holds it with the operating system's
    lock (``flock`` on POSIX, ``LockFileEx`` on Windows), which is released when its
    holder exits however it exits (``kill -9`` included): a killed run never blocks the
    next one.
    """
    import filelock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(lock_path(path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ValueError(
            f"the sweep store {str(path)!r} is being written by another process (it holds "
            f"{str(lock_path(path))!r}); wait for it to finish and run again to resume, "
            "or use another store"
        ) from None
    try:
        yield
    finally:
        lock.release()


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepStatus:
    """How far a sweep on disk has got.

    Attributes:
        path: the store.
        name: the spec's name.
        batches_done, batches_total: batch subgroups present / planned.
        nets_done, nets_total: networks in those batches / planned.
        net_epochs_done, net_epochs_total: networks times epochs.
        started: when the store was created (ISO 8601, UTC).
        last_update: when the latest batch was written (None before the first).
        in_progress: temporaries of batches being written (or left by a killed run).
        ghostlearn_version: version that created the store.
        damaged: ``batch name -> what is wrong`` for batches in place that are not done:
            trained under another spec (hash mismatch), or arrays that cannot be read or
            fail their checksums (with ``verify=True``, the default).
    """

    path: str
    name: str
    batches_done: int
    batches_total: int
    nets_done: int
    nets_total: int
    net_epochs_done: int
    net_epochs_total: int
    started: str
    last_update: str | None
    in_progress: int
    ghostlearn_version: str
    damaged: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.batches_done == self.batches_total and not self.damaged


class SweepStore:
    """Reading and writing one sweep store (see the module docstring for the layout).

    Only one process writes a store at a time: the driver of ``run_sweep``, holding
    :func:`store_lock`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._root = _read_root_attrs(self.path)
        self.zarr_format = _store_format(self.path)
        self.version = str(self._root.get("ghostlearn_version", "unknown"))
        self._spec: SweepSpec | None = None
        self._plan: SweepPlan | None = None

    @property
    def spec_hash(self) -> str:
        """The fingerprint of the store's spec; batches record the one they ran under."""
        recorded = self._root.get("spec_hash")
        return str(recorded) if recorded else spec_hash(self.spec)

    @property
    def spec(self) -> SweepSpec:
        """The spec the store was created for."""
        if self._spec is None:
            try:
                self._spec = parse_spec(self._root["spec"])
            except (KeyError, ValueError) as e:
                raise ValueError(
                    f"the spec stored in {str(self.path)!r} is not valid now: {e}"
                ) from None
        return self._spec

    @property
    def plan(self) -> SweepPlan:
        if self._plan is None:
            self._plan = plan_sweep(self.spec)
        return self._plan

    # ------------------------------------------------------------------ creating

    @staticmethod
    def check(path: str | os.PathLike[str], spec: SweepSpec) -> bool:
        """Check, without writing, that ``path`` is free or holds a sweep of ``spec``.

        Returns:
            True when a store of ``spec`` already exists there, False when the path is
            absent or an empty folder.

        Raises:
            ValueError: the path is a file, a folder that is not a sweep store, or a store
                of a different spec (the message says what differs).
        """
        path = Path(path)
        if not path.exists():
            return False
        if not path.is_dir():
            raise ValueError(f"the store must be a directory, got the file {str(path)!r}")
        if not any(path.iterdir()):
            return False
        record = _read_root_attrs(path)
        try:
            old = parse_spec(record["spec"])
        except (KeyError, ValueError) as e:
            raise ValueError(f"the spec stored in {str(path)!r} is not valid now: {e}") from None
        diffs = spec_differences(old, spec)
        if diffs:
            raise ValueError(
                f"spec differs from the store's ({path}): {'; '.join(diffs)}; "
                "use a new store, or the store's spec"
            )
        return True

    @classmethod
    def create(cls, path: str | os.PathLike[str], plan: SweepPlan) -> SweepStore:
        """Create the store for ``plan`` at ``path`` (absent or an empty folder), atomically."""
        import zarr

        path = Path(path)
        record = {
            "format": FORMAT,
            "spec": plan.spec.to_dict(),
            "spec_hash": spec_hash(plan.spec),
            "ghostlearn_version": _version(),
            "dims": list(plan.dims),
            "shape": list(plan.shape),
        }
        with atomic_path(path) as tmp:
            root = zarr.open_group(tmp, mode="w", zarr_format=ZARR_FORMAT)
            encoded = encode_attrs(xr.Dataset(attrs={_ATTR: record})).attrs
            root.attrs.update({str(key): value for key, value in encoded.items()})
            root.create_group(_BATCHES)
            _consolidate(tmp)
            write_json(_manifest(plan, created=_now()), tmp / _MANIFEST)
        return cls(path)

    @classmethod
    def open_or_create(cls, path: str | os.PathLike[str], plan: SweepPlan) -> SweepStore:
        """Open the store of ``plan`` at ``path``, creating it if needed (and removing
        what a run killed while creating it left beside it). Call it holding
        :func:`store_lock`."""
        path = Path(path)
        for stale in [
            *path.parent.glob(f".{path.name}.tmp-*"),
            *path.parent.glob(f".{path.name}.old-*"),
        ]:
            shutil.rmtree(stale, ignore_errors=True)
        if cls.check(path, plan.spec):
            return cls(path)
        return cls.create(path, plan)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store for writing (see :func:`store_lock`)."""
        return store_lock(self.path)

    # ------------------------------------------------------------------ batches

    @property
    def batches_dir(self) -> Path:
        return self.path / _BATCHES

    def present(self) -> set[str]:
        """Names of the batches whose subgroup is in place (done or not: see
        :meth:`completed`)."""
        if not self.batches_dir.is_dir():
            return set()
        return {
            p.name
            for p in self.batches_dir.iterdir()
            if not p.name.startswith(".")
            and ((p / "zarr.json").is_file() or (p / ".zgroup").is_file())
        }

    def foreign(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """Batches in place that are not done, ``name -> why``: trained under another spec
        (or a store version without spec hashes), or metadata that cannot be read.

        Args:
            names: the batches in place to look at (default: all of them).
        """
        out = {}
        mine = self.spec_hash
        for name in sorted(self.present() if names is None else names):
            record = _group_attrs(self.batches_dir / name)
            if not record:
                out[name] = "its zarr metadata cannot be read"
            elif record.get("sweep_spec_hash") != mine:
                out[name] = (
                    f"it was trained under spec {record.get('sweep_spec_hash') or '(unknown)'}, "
                    f"not the store's {mine}"
                )
            elif not isinstance(record.get(_CHECKSUMS), dict):
                out[name] = "it records no checksums"
        return out

    def completed(self) -> set[str]:
        """Names of the batches that are done: in place and trained under the store's
        spec (their arrays are checked when read; see :meth:`verify`)."""
        return self.present() - set(self.foreign())

    def verify(self, names: list[str] | None = None) -> dict[str, str]:
        """Read batches and check every array against its checksum.

        Args:
            names: the batches to check (default: every batch in place).

        Returns:
            ``name -> what is wrong`` for every batch that is not done or is damaged
            (empty when all is well).
        """
        foreign = self.foreign()
        out = {}
        for name in sorted(self.present()) if names is None else names:
            if name in foreign:
                out[name] = foreign[name]
                continue
            try:
                self.open_batch(name)
            except ValueError as e:
                out[name] = str(e)
        return out

    def temporaries(self) -> list[Path]:
        """Partial writes: batches (and manifests) being written, or left behind by a
        killed run."""
        found = list(self.path.glob(f".{_MANIFEST}.tmp-*"))
        if self.batches_dir.is_dir():
            found += [
                p
                for p in self.batches_dir.iterdir()
                if p.name.startswith(".") and p.name not in _ZARR_V2_FILES
            ]
        return sorted(found)

    def clean_temporaries(self) -> int:
        """Remove partial writes left by an interrupted run; returns how many."""
        stale = self.temporaries()
        for p in stale:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        return len(stale)

    def write_batch(
        self, batch: Batch, data: xr.Dataset, *, seconds: float | None = None, backend: str = ""
    ) -> Path:
        """Write one batch's Dataset atomically, then record it in the manifest.

        Args:
            batch: the batch of the plan.
            data: what the batch function returned for it (``net`` axis of ``batch.n_nets``
                networks, with a ``cell`` coordinate equal to ``batch.cells``).
            seconds: wall time of the batch, for the manifest.
            backend: which backend computed it, for the manifest.

        Raises:
            ValueError: ``data`` does not hold the networks of ``batch``.
        """
        if "cell" not in data.coords or not np.array_equal(data["cell"].values, batch.cells):
            raise ValueError(f"the result for batch {batch.name} does not hold its cells")
        data = data.copy()
        data.attrs = {
            **{k: v for k, v in data.attrs.items() if k != _CHECKSUMS},
            "sweep_batch": batch.name,
            "sweep_group": batch.group,
            "sweep_spec_hash": self.spec_hash,
            _CHECKSUMS: checksums(data),
        }
        final = self.batches_dir / batch.name
        with atomic_path(final) as tmp:
            if self.zarr_format == 3:  # a store of an earlier version: kept as it was
                data.attrs = to_jsonable(data.attrs)
                for name in data.variables:
                    data[name].attrs = to_jsonable(dict(data[name].attrs))
                data.to_zarr(tmp, mode="w", consolidated=False, zarr_format=3)
            else:
                encode_attrs(data).to_zarr(
                    tmp, mode="w", consolidated=True, zarr_format=ZARR_FORMAT
                )
        self._record(batch, seconds=seconds, backend=backend)
        if self.zarr_format == 2 and self._all_done():
            self.consolidate()
        return final

    def _all_done(self) -> bool:
        """Whether every batch of the plan is done (the metadata of the batches is read
        only once as many are in place as planned)."""
        plan = self.plan
        if len(self.present()) < len(plan.batches):
            return False
        return len(plan.batch_indices(self.completed())) == len(plan.batches)

    def consolidate(self) -> None:
        """Rewrite the root's consolidated metadata to list every batch (zarr v2 stores).

        Done when the last batch completes; during a run the root lists none, and batches
        are read through their own metadata.
        """
        _consolidate(self.path)

    def remove_batch(self, name: str) -> None:
        """Delete a batch that is not done or is damaged, so that it is computed again."""
        path = self.batches_dir / name
        if path.is_dir():
            shutil.rmtree(path)

    def _record(self, batch: Batch, *, seconds: float | None, backend: str) -> None:
        try:
            manifest = self.manifest()
        except ValueError:  # garbled: rebuilt from the plan and the batches in place
            manifest = _manifest(self.plan, created=None)
        done = manifest.setdefault("completed", {})
        done[batch.name] = {
            "finished": _now(),
            "seconds": seconds,
            "backend": backend,
            "spec_hash": self.spec_hash,
        }
        # Batches done whose record a killed run never wrote.
        unrecorded = self.present() - set(done)
        foreign = self.foreign(unrecorded)
        for name in sorted(unrecorded - set(foreign)):
            done[name] = {"finished": None, "seconds": None, "backend": ""}
        manifest["updated"] = done[batch.name]["finished"]
        write_json(manifest, self.path / _MANIFEST)

    def rebuild_manifest(self) -> None:
        """Rewrite a missing or garbled manifest from the plan and the batches done (their
        timings are lost)."""
        manifest = _manifest(self.plan, created=None)
        manifest["completed"] = {
            name: {"finished": None, "seconds": None, "backend": "", "spec_hash": self.spec_hash}
            for name in sorted(self.completed())
        }
        write_json(manifest, self.path / _MANIFEST)

    def training_seconds(self) -> float:
        """Seconds the completed batches took to train, as recorded when each was written
        (summed over every run that wrote one; batches without a record count 0)."""
        try:
            records = self.manifest().get("completed", {})
        except ValueError:
            return 0.0
        return float(sum(r.get("seconds") or 0.0 for r in records.values()))

    def manifest(self) -> dict[str, Any]:
        """The manifest: the batch table and the completion records.

        Raises:
            ValueError: ``manifest.json`` is garbled (``ghostlearn sweep run`` rewrites it).
        """
        path = self.path / _MANIFEST
        if path.is_file():
            try:
                manifest = read_json(path)
            except (OSError, ValueError) as e:
                raise DamagedStore(
                    f"{str(path)!r} is damaged: not valid JSON ({e}); run the sweep again "
                    "(ghostlearn sweep run) to rewrite it"
                ) from None
            if not isinstance(manifest, dict) or not isinstance(manifest.get("batches"), list):
                raise DamagedStore(
                    f"{str(path)!r} is damaged: it holds no batch table; run the sweep again "
                    "(ghostlearn sweep run) to rewrite it"
                )
            return manifest
        return _manifest(self.plan, created=None)

    def open_batch(self, name: str) -> xr.Dataset:
        """Load one completed batch (the engine's Dataset plus ``cell``), checking every
        array against its checksum.

        Raises:
            ValueError: the batch is not done (absent, or trained under another spec), or
                is damaged (the message names the batch and the variable).
        """
        foreign = self.foreign()
        if name in foreign:
            raise DamagedStore(f"batch {name} of {str(self.path)!r} is not valid: {foreign[name]}")
        if name not in self.present():
            raise ValueError(f"batch {name!r} is not complete in {str(self.path)!r}")
        path = self.batches_dir / name
        consolidated = (path / ".zmetadata").is_file()
        where = f"batch {name} of {str(self.path)!r}"
        with reading(where), xr.open_zarr(path, consolidated=consolidated) as ds:
            ds = load_verified(decode_attrs(ds), where, require=True)
        ds.attrs.pop("sweep_spec_hash", None)
        _check_labels(ds, self.plan.batch(name), where)
        return ds

    def status(self, *, verify: bool = True) -> SweepStatus:
        """How far the sweep has got.

        Args:
            verify: read every batch and check its checksums (else the metadata only:
                batches trained under another spec are still found).
        """
        plan = self.plan
        try:
            manifest = self.manifest()
        except ValueError:
            manifest = {"name": self.spec.name, "created": None, "updated": None}
        damaged = self.verify() if verify else self.foreign()
        done = plan.batch_indices(self.completed() - set(damaged))
        return SweepStatus(
            path=str(self.path),
            name=str(manifest.get("name", "")),
            batches_done=len(done),
            batches_total=len(plan.batches),
            nets_done=sum(plan.batch_nets(i) for i in done),
            nets_total=plan.n_cells,
            net_epochs_done=sum(plan.batch_nets(i) * plan.batch_group(i).epochs for i in done),
            net_epochs_total=plan.net_epochs,
            started=str(manifest.get("created")),
            last_update=manifest.get("updated"),
            in_progress=len(self.temporaries()),
            ghostlearn_version=self.version,
            damaged=damaged,
        )


def _check_labels(ds: xr.Dataset, batch: Batch, where: str) -> None:
    """Raise unless the networks of ``ds`` are those the plan puts in ``batch``'s cells:
    same cells, and the seed, lr and c each network was trained with."""
    expected = {"cell": batch.cells, "seed": batch.seed, "lr": batch.lr, "c": batch.c}
    for key, want in expected.items():
        if key not in ds.coords:
            if key == "cell":
                raise DamagedStore(f"{where} is damaged: it has no cell coordinate")
            continue
        got = np.asarray(ds[key].values)
        same = got.shape == want.shape and (
            np.array_equal(got, want, equal_nan=True)
            if got.dtype.kind == "f"
            else np.array_equal(got, want)
        )
        if key == "c" and not same and np.all(np.isnan(want)):
            same = True  # models without a confidence: the engine's c is a placeholder
        if not same:
            raise DamagedStore(
                f"{where} is mislabelled: its networks were trained with {key} "
                f"{got[:4].tolist()}..., but the store's spec puts {want[:4].tolist()}... "
                "in its cells; run the sweep again with the store's spec to recompute it"
            )


def _consolidate(path: Path) -> None:
    """Write the consolidated metadata of the zarr v2 store at ``path``."""
    import warnings

    import zarr

    with warnings.catch_warnings():
        # manifest.json and the lock file sit beside the groups on purpose.
        warnings.filterwarnings("ignore", "Object at .* is not recognized", UserWarning)
        zarr.consolidate_metadata(str(path), zarr_format=2)


def _manifest(plan: SweepPlan, *, created: str | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": plan.spec.name,
        "ghostlearn_version": _version(),
        "created": created,
        "updated": None,
        "dims": list(plan.dims),
        "shape": list(plan.shape),
        "n_cells": plan.n_cells,
        "batches": [
            {
                "name": plan.batch_name(i),
                "group": g.index,
                "nets": plan.batch_nets(i),
                "epochs": g.epochs,
            }
            for g in plan.groups
            for i in g.batches
        ],
        "completed": {},
    }


def sweep_status(path: str | os.PathLike[str], *, verify: bool = True) -> SweepStatus:
    """How far the sweep stored at ``path`` has got (reads only; works while it runs).

    Batches trained under another spec, and (with ``verify``) batches whose arrays cannot
    be read or fail their checksums, are not counted as done: they are listed in
    ``damaged``.

    Raises:
        ValueError: ``path`` is not a sweep store.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no sweep store at {str(path)!r}")
    return SweepStore(path).status(verify=verify)


# --------------------------------------------------------------------------- loading


def _flat(store: SweepStore, names: list[str]) -> tuple[xr.Dataset, list[str], list[str]]:
    """Concatenate batches along ``net``; drop variables whose shapes differ between them.

    Returns the flat Dataset, the names left out, and the engine's order of variables.
    """
    parts = [store.open_batch(n) for n in names]
    order = [str(name) for name in parts[0].data_vars]
    per_net_coords = [c for c in parts[0].coords if c != "cell" and "net" in parts[0][c].dims]
    omitted: list[str] = []
    shapes: dict[str, set[tuple[tuple[str, int], ...]]] = {}
    for ds in parts:
        for name, var in ds.data_vars.items():
            key = tuple(
                (str(d), s)
                for d, s in zip(var.dims, var.shape, strict=True)
                if d != "net" and d not in ds.indexes
            )
            shapes.setdefault(str(name), set()).add(key)
    for name, found in shapes.items():
        if len(found) > 1 or any(name not in ds.data_vars for ds in parts):
            omitted.append(name)
    parts = [
        ds.drop_vars(
            [*omitted, *(c for c in ds.coords if c in per_net_coords or c == "net")],
            errors="ignore",
        )
        for ds in parts
    ]
    flat = xr.concat(
        parts, dim="net", join="outer", coords="minimal", compat="override", combine_attrs="drop"
    )
    for name, variable in flat.variables.items():  # the engine's attrs, dropped by concat
        if name in parts[0].variables:
            variable.attrs = dict(parts[0][name].attrs)
    return flat, sorted(omitted), order


def open_sweep(path: str | os.PathLike[str], *, partial: bool = False) -> xr.Dataset:
    """Load a sweep as one Dataset with one dimension per swept field.

    The flat ``net`` axis of the batches is reshaped into the grid, in the order of the
    spec's ``[grid]`` table: a sweep of ``lr``, ``c`` and ``seed`` gives ``loss(lr, c, seed,
    epoch)``, so ``ds.loss.sel(lr=0.02, c=10.0).mean("seed")`` works. Variables whose
    shape depends on a swept structural field (parameters when ``N`` or ``rank`` is
    swept) are left out (listed in ``attrs["omitted"]``; see :func:`open_group`). When
    ``epochs`` is swept, shorter runs are padded with NaN.

    Args:
        path: the store.
        partial: load an unfinished sweep; its missing cells are NaN.

    Returns:
        Dataset with the engine's per-network variables (``loss``, ``accuracy``,
        ``grad_norm``, ``diverged``, ..., parameters) over ``(*grid dims, ...)``; attrs
        ``spec``, ``ghostlearn_version``, ``complete``, ``omitted``.

    Raises:
        ValueError: not a sweep store, an unfinished sweep without ``partial``, or no
            batch complete.
    """
    store = SweepStore(path)
    plan = store.plan
    foreign = store.foreign()
    if foreign:
        name, why = next(iter(foreign.items()))
        raise DamagedStore(
            f"batch {name} of the sweep in {str(path)!r} is not valid: {why}"
            + (f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else "")
            + "; run the sweep again with the store's spec to recompute it"
        )
    indices = sorted(plan.batch_indices(store.completed()))
    names = [plan.batch_name(i) for i in indices]
    complete = len(names) == len(plan.batches)
    check_memory(
        f"loading the sweep in {str(path)!r} ({plan.n_cells:,} networks)",
        3 * sum(_result_bytes(plan.batch_group(i), plan.batch_nets(i)) for i in indices),
    )
    if not complete and not partial:
        raise ValueError(
            f"the sweep in {str(path)!r} is unfinished: {len(names)} of {len(plan.batches)} "
            "batches done; run it again to finish it, or pass partial=True"
        )
    if not names:
        raise ValueError(f"no batch of the sweep in {str(path)!r} is complete yet")
    flat, omitted, first_order = _flat(store, names)
    cells = flat["cell"].values
    flat = flat.drop_vars("cell")
    if not complete:
        pad = np.setdiff1d(np.arange(plan.n_cells), cells)
        flat = xr.concat([flat, _empty_like(flat, pad.size)], dim="net", join="outer")
        cells = np.concatenate([cells, pad])
    order = np.argsort(cells, kind="stable")
    coords: dict[str, Any] = {d: list(v) for d, v in plan.spec.grid.items()}
    for cname, coord in flat.coords.items():
        if "net" not in coord.dims:
            coords[str(cname)] = coord
    out = xr.Dataset(coords=coords)
    names = [n for n in first_order if n in flat.data_vars]
    for name in names:
        var = flat[name]
        if "net" not in var.dims:
            out[name] = var
            continue
        var = var.transpose("net", ...)
        data = var.values[order].reshape(plan.shape + var.shape[1:])
        out[name] = (plan.dims + var.dims[1:], data, var.attrs)
    out.attrs = {
        "spec": plan.spec.to_dict(),
        "ghostlearn_version": store.version,
        "complete": complete,
        "omitted": omitted,
    }
    return out


def _result_bytes(group: BatchGroup, n_nets: int) -> int:
    """Bytes of the stored Dataset of a batch of ``n_nets`` networks of ``group``:
    metrics, final parameters and snapshots."""
    from ..rnn import RNNConfig, param_shapes

    t = group.train
    epochs = int(t["epochs"])
    recorded = -(-epochs // int(t.get("metrics_every", 1)))
    every = int(t.get("snapshot_every", 0))
    snaps = -(-epochs // every) + 1 if every else 0
    params = sum(int(np.prod(s)) for s in param_shapes(RNNConfig(**group.model)).values())
    item = 8 if t.get("dtype") == "float64" else 4
    return n_nets * (3 * recorded + (snaps + 1) * params) * item


def _empty_like(flat: xr.Dataset, n: int) -> xr.Dataset:
    """``n`` missing networks: NaN for every per-network variable."""
    out = xr.Dataset(coords={c: flat[c] for c in flat.coords if "net" not in flat[c].dims})
    for name, var in flat.data_vars.items():
        if "net" not in var.dims:
            continue
        shape = tuple(n if d == "net" else s for d, s in zip(var.dims, var.shape, strict=True))
        out[name] = (var.dims, np.full(shape, np.nan))
    return out


def open_group(path: str | os.PathLike[str], **settings: Any) -> xr.Dataset:
    """Load the networks of one batch group with their parameters, on a flat ``net`` axis.

    Use it for what :func:`open_sweep` leaves out when ``N`` or ``rank`` is swept, e.g.
    ``open_group(STORE, rank=5).M``.

    Args:
        path: the store.
        **settings: swept structural fields and values that pick one group (none needed
            when the sweep has a single group).

    Returns:
        The engine's Dataset for the group's networks, with ``cell`` and one coordinate
        per swept field along ``net``.

    Raises:
        ValueError: the settings match no group or several, or a batch is missing.
    """
    store = SweepStore(path)
    plan = store.plan
    for key in settings:
        if key not in plan.dims or key in PER_NET_FIELDS:
            raise ValueError(
                f"{key} is not a swept structural field; groups differ in: "
                f"{', '.join(d for d in plan.dims if d not in PER_NET_FIELDS) or '(nothing)'}"
            )
    groups = [
        g for g in plan.groups if all(_same(g.settings.get(k), v) for k, v in settings.items())
    ]
    if len(groups) != 1:
        options = "; ".join(
            ", ".join(f"{k}={v!r}" for k, v in g.settings.items()) for g in plan.groups
        )
        raise ValueError(
            f"{'no' if not groups else len(groups)} batch groups match {settings!r}; "
            f"groups: {options}"
        )
    group = groups[0]
    done = store.completed()
    names = [plan.batch_name(i) for i in group.batches]
    missing = [n for n in names if n not in done]
    if missing:
        raise ValueError(f"batches {', '.join(missing)} of this group are not complete yet")
    parts = [store.open_batch(n) for n in names]
    flat = xr.concat(
        parts, dim="net", coords="minimal", compat="override", combine_attrs="drop_conflicts"
    )
    values = cell_values(plan, flat["cell"].values)
    flat = flat.drop_vars([c for c in ("net", *PER_NET_FIELDS, "rank") if c in flat.coords])
    flat = flat.assign_coords({d: ("net", v) for d, v in values.items()})
    flat.attrs.update({"spec": plan.spec.to_dict(), "group": dict(group.settings)})
    return flat


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return bool(np.isclose(float(a), float(b), rtol=1e-12, atol=0.0))
        except (TypeError, ValueError):
            return False
    return a == b
