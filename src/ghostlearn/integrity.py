"""Damage detection for stores on disk: a checksum of every array, checked on every read.

A writer records ``attrs["ghostlearn_checksums"] = {variable: "sha256:<hex>"}`` for every
variable and coordinate of a Dataset it stores (:func:`with_checksums`); a reader loads the
variables one at a time and compares (:func:`load_verified`). A deleted chunk (zarr then
fills the hole with the fill value, NaN for floats), a truncated or garbled chunk (the
decompressor fails), or an edited array are reported as a ``ValueError`` naming the store
and the variable, never returned as data.

The digest covers the array's shape and bytes in C order; NaNs are canonicalised first, so
a float array written with NaN holes reads back to the same digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any, overload

import numpy as np
import xarray as xr

__all__ = [
    "ATTR",
    "DamagedStore",
    "checksums",
    "digest",
    "load_verified",
    "reading",
    "recorded",
    "with_checksums",
]

#: The attribute that holds the checksums of a Dataset's variables.
ATTR = "ghostlearn_checksums"


class DamagedStore(ValueError):
    """A store whose arrays cannot be read or do not match their recorded checksums."""


def digest(values: Any) -> str:
    """``"sha256:<hex>"`` of an array's shape and C-order bytes (NaNs canonicalised)."""
    a = np.asarray(values)
    h = hashlib.sha256(repr(a.shape).encode())
    if a.dtype.kind in "OUS":
        h.update(json.dumps(a.tolist(), default=str).encode())
    else:
        if a.dtype.kind in "fc":
            a = np.where(np.isnan(a), np.asarray(np.nan, a.dtype), a)
        if a.dtype.kind == "M" or a.dtype.kind == "m":
            a = a.view(np.int64)
        h.update(np.ascontiguousarray(a).tobytes())
    return f"sha256:{h.hexdigest()}"


def checksums(ds: xr.Dataset) -> dict[str, str]:
    """The digest of every variable and coordinate of ``ds`` (loads lazy arrays)."""
    return {str(name): digest(var.values) for name, var in ds.variables.items()}


@overload
def with_checksums(data: xr.Dataset) -> xr.Dataset: ...


@overload
def with_checksums(data: xr.DataTree) -> xr.DataTree: ...


def with_checksums(data: xr.Dataset | xr.DataTree) -> xr.Dataset | xr.DataTree:
    """A shallow copy of ``data`` whose attrs (every node's, for a DataTree) record the
    checksums of its variables under :data:`ATTR`."""
    if isinstance(data, xr.DataTree):
        return data.map_over_datasets(with_checksums)
    out = data.copy()
    out.attrs = {**{k: v for k, v in data.attrs.items() if k != ATTR}, ATTR: checksums(data)}
    return out


def recorded(attrs: Mapping[str, Any]) -> dict[str, str] | None:
    """The checksums recorded in ``attrs`` (a dict, or its JSON text), or None."""
    value = attrs.get(ATTR, attrs.get(f"{ATTR}_json"))
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    return None


def load_verified(ds: xr.Dataset, where: str, *, require: bool = False) -> xr.Dataset:
    """Load every variable of a lazily opened ``ds`` and check its recorded checksums.

    Args:
        ds: a Dataset opened from a store (lazy or loaded).
        where: how to name the store in messages, e.g. ``"batch b00003 of 'x.sweep'"``.
        require: raise when ``ds`` records no checksums (stores that must have them).

    Returns:
        ``ds``, loaded, without the checksum attribute.

    Raises:
        DamagedStore: a variable cannot be read, is missing, or differs from its checksum.
    """
    for name, var in ds.variables.items():
        try:
            var.load()
        except Exception as e:  # any decoder or I/O error of a damaged chunk
            raise DamagedStore(
                f"{where} is damaged: variable {name!r} cannot be read "
                f"({type(e).__name__}: {str(e)[:120]})"
            ) from None
    sums = recorded(ds.attrs)
    if sums is None:
        if require:
            raise DamagedStore(f"{where} is damaged: it records no checksums")
        return ds
    for name, expected in sums.items():
        if name not in ds.variables:
            raise DamagedStore(f"{where} is damaged: variable {name!r} is missing")
        if digest(ds.variables[name].values) != expected:
            raise DamagedStore(
                f"{where} is damaged: variable {name!r} does not match its checksum "
                "(a chunk was deleted, truncated or changed)"
            )
    ds.attrs = {k: v for k, v in ds.attrs.items() if k not in (ATTR, f"{ATTR}_json")}
    return ds


@contextlib.contextmanager
def reading(where: str) -> Iterator[None]:
    """Turn any error raised while opening a store into a ValueError naming it.

    A :class:`DamagedStore` passes through unchanged; anything else (zarr's, numcodecs',
    xarray's and JSON errors on a garbled or foreign store) becomes
    ``"cannot read <where>: ..."``. Use it around library calls only, so that the original
    error is never one of ghostlearn's own messages.
    """
    try:
        yield
    except (DamagedStore, MemoryError):
        raise
    except Exception as e:
        raise DamagedStore(
            f"cannot read {where}: {type(e).__name__}: {str(e)[:160]} "
            "(not a store ghostlearn wrote, or a damaged one)"
        ) from None
