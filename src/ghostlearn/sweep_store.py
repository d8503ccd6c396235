"""A sweep on disk: one zarr group, one subgroup per completed batch, and a manifest.

Layout of a store ``STORE``::

    STORE/zarr.json             root group; attrs["ghostlearn_sweep"] = {format, spec,
                                ghostlearn_version, dims, shape}
    STORE/manifest.json         the batch table and when each batch was completed
    STORE/batches/zarr.json     group holding the batches
    STORE/batches/b00000/       one zarr group per completed batch: the Dataset returned by
                                ghostlearn.train.train for its networks, plus a ``cell``
                                coordinate (flat cell index) along ``net``
    STORE/batches/.b00001.tmp-* a batch being written (or left by a killed run)

A batch is written under a temporary name and renamed into place when complete, so a
batch subgroup either exists whole or not at all: its presence is the record that the
batch is done. ``manifest.json`` (written atomically after each batch) adds timing for
``ghostlearn sweep status``; where it lags (a kill between the rename and the manifest
write), the subgroups win.

:func:`open_sweep` loads the store as one Dataset with one dimension per swept field.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .store import atomic_path, read_json, to_jsonable, write_json
from .sweep_spec import (
    PER_NET_FIELDS,
    Batch,
    SweepPlan,
    SweepSpec,
    cell_values,
    parse_spec,
    plan_sweep,
    spec_differences,
)

__all__ = ["SweepStatus", "SweepStore", "open_group", "open_sweep", "sweep_status"]

FORMAT = "ghostlearn-sweep-1"
_ATTR = "ghostlearn_sweep"
_MANIFEST = "manifest.json"
_BATCHES = "batches"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _version() -> str:
    from . import __version__

    return __version__


def _read_root_attrs(path: Path) -> dict[str, Any]:
    """The sweep record of the store at ``path``; ValueError if it is not a sweep store."""
    meta = path / "zarr.json"
    if not meta.is_file():
        raise ValueError(f"{str(path)!r} is not a sweep store (no zarr.json)")
    try:
        attrs = read_json(meta).get("attributes", {})
    except (OSError, ValueError) as e:
        raise ValueError(f"{str(path)!r} is not a sweep store ({e})") from None
    record = attrs.get(_ATTR)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a ghostlearn sweep store")
    return record


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

    @property
    def complete(self) -> bool:
        return self.batches_done == self.batches_total


class SweepStore:
    """Reading and writing one sweep store (see the module docstring for the layout).

    Only one process should write a store at a time (the driver of ``run_sweep``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._root = _read_root_attrs(self.path)
        self.version = str(self._root.get("ghostlearn_version", "unknown"))
        self._spec: SweepSpec | None = None
        self._plan: SweepPlan | None = None

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
            "ghostlearn_version": _version(),
            "dims": list(plan.dims),
            "shape": list(plan.shape),
        }
        with atomic_path(path) as tmp:
            root = zarr.open_group(tmp, mode="w", zarr_format=3)
            root.attrs[_ATTR] = to_jsonable(record)
            root.create_group(_BATCHES)
            write_json(_manifest(plan, created=_now()), tmp / _MANIFEST)
        return cls(path)

    @classmethod
    def open_or_create(cls, path: str | os.PathLike[str], plan: SweepPlan) -> SweepStore:
        """Open the store of ``plan`` at ``path``, creating it if needed (and removing
        what a run killed while creating it left beside it)."""
        path = Path(path)
        if cls.check(path, plan.spec):
            return cls(path)
        for stale in path.parent.glob(f".{path.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return cls.create(path, plan)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store for writing; a second writer gets a ValueError.

        An advisory ``flock`` on ``STORE/.lock``: the system releases it when the holder
        exits, however it exits (``kill -9`` included), so a killed run never blocks the
        next one. (No lock where ``fcntl`` is missing.)
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        path = self.path / ".lock"
        with open(path, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another process"
                raise ValueError(
                    f"the sweep in {str(self.path)!r} is being run by {holder}; "
                    "wait for it to finish or stop it"
                ) from None
            try:
                f.seek(0)
                f.truncate()
                f.write(f"process {os.getpid()} on {socket.gethostname()}")
                f.flush()
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ batches

    @property
    def batches_dir(self) -> Path:
        return self.path / _BATCHES

    def completed(self) -> set[str]:
        """Names of the batches whose subgroup is in place."""
        if not self.batches_dir.is_dir():
            return set()
        return {
            p.name
            for p in self.batches_dir.iterdir()
            if not p.name.startswith(".") and (p / "zarr.json").is_file()
        }

    def temporaries(self) -> list[Path]:
        """Partial writes: batches being written, or left behind by a killed run."""
        if not self.batches_dir.is_dir():
            return []
        return sorted(p for p in self.batches_dir.iterdir() if p.name.startswith("."))

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
        data.attrs = to_jsonable(
            {**data.attrs, "sweep_batch": batch.name, "sweep_group": batch.group}
        )
        for name in data.variables:
            data[name].attrs = to_jsonable(dict(data[name].attrs))
        final = self.batches_dir / batch.name
        with atomic_path(final) as tmp:
            data.to_zarr(tmp, mode="w", consolidated=False, zarr_format=3)
        self._record(batch, seconds=seconds, backend=backend)
        return final

    def _record(self, batch: Batch, *, seconds: float | None, backend: str) -> None:
        manifest = self.manifest()
        done = manifest.setdefault("completed", {})
        done[batch.name] = {"finished": _now(), "seconds": seconds, "backend": backend}
        # Batches done whose record a killed run never wrote.
        for name in self.completed() - set(done):
            done[name] = {"finished": None, "seconds": None, "backend": ""}
        manifest["updated"] = done[batch.name]["finished"]
        write_json(manifest, self.path / _MANIFEST)

    def manifest(self) -> dict[str, Any]:
        path = self.path / _MANIFEST
        if path.is_file():
            return read_json(path)
        return _manifest(self.plan, created=None)

    def open_batch(self, name: str) -> xr.Dataset:
        """Load one completed batch (the engine's Dataset plus ``cell``)."""
        if name not in self.completed():
            raise ValueError(f"batch {name!r} is not complete in {str(self.path)!r}")
        with xr.open_zarr(self.batches_dir / name, consolidated=False) as ds:
            return ds.load()

    def status(self) -> SweepStatus:
        manifest = self.manifest()
        table = manifest.get("batches", [])
        done = self.completed()
        nets = {b["name"]: (int(b["nets"]), int(b["nets"]) * int(b["epochs"])) for b in table}
        return SweepStatus(
            path=str(self.path),
            name=str(manifest.get("name", "")),
            batches_done=len(done & set(nets)),
            batches_total=len(nets),
            nets_done=sum(nets[n][0] for n in done if n in nets),
            nets_total=sum(v[0] for v in nets.values()),
            net_epochs_done=sum(nets[n][1] for n in done if n in nets),
            net_epochs_total=sum(v[1] for v in nets.values()),
            started=str(manifest.get("created")),
            last_update=manifest.get("updated"),
            in_progress=len(self.temporaries()),
            ghostlearn_version=self.version,
        )


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
            {"name": b.name, "group": b.group, "nets": b.n_nets, "epochs": int(b.train["epochs"])}
            for b in plan.batches
        ],
        "completed": {},
    }


def sweep_status(path: str | os.PathLike[str]) -> SweepStatus:
    """How far the sweep stored at ``path`` has got (reads only; works while it runs).

    Raises:
        ValueError: ``path`` is not a sweep store.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no sweep store at {str(path)!r}")
    return SweepStore(path).status()


# --------------------------------------------------------------------------- loading


def _flat(store: SweepStore, names: list[str]) -> tuple[xr.Dataset, list[str], list[str]]:
    """Concatenate batches along ``net``; drop variables whose shapes differ between them.

    Returns the flat Dataset, the names left out, and the engine's order of variables.
    """
    parts = [store.open_batch(n) for n in names]
    order = list(parts[0].data_vars)
    per_net_coords = [c for c in parts[0].coords if c != "cell" and "net" in parts[0][c].dims]
    omitted: list[str] = []
    shapes: dict[str, set[tuple[tuple[str, int], ...]]] = {}
    for ds in parts:
        for name, var in ds.data_vars.items():
            key = tuple(
                (d, s)
                for d, s in zip(var.dims, var.shape, strict=True)
                if d != "net" and d not in ds.indexes
            )
            shapes.setdefault(name, set()).add(key)
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
    done = store.completed()
    names = [b.name for b in plan.batches if b.name in done]
    complete = len(names) == len(plan.batches)
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
    for name, coord in flat.coords.items():
        if "net" not in coord.dims:
            coords[name] = coord
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
    names = [plan.batches[i].name for i in group.batches]
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
