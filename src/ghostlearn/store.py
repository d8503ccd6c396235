"""Results on disk: atomic writes of JSON, zarr stores and figures, and safe reading.

Every writer builds its output under a temporary name in the destination folder and
renames it into place only once it is complete, so an interrupted run leaves either
nothing or a whole file. Nothing here ever unpickles.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "atomic_path",
    "open_tree",
    "open_zarr",
    "read_json",
    "to_jsonable",
    "write_figure",
    "write_json",
    "write_text",
    "write_zarr",
]


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it onto ``final`` on success.

    Works for files and directories (zarr stores). On an exception the temporary is
    removed and ``final`` is left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if tmp.is_dir() and final.exists():
            # A directory cannot be renamed over a non-empty one: move the old aside first.
            old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(final, old)
            os.replace(tmp, final)
            _remove(old)
        else:
            os.replace(tmp, final)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, dataclasses, tuples and paths to plain JSON values.

    Non-finite floats become ``None`` so the output is strict JSON.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as indented strict JSON, atomically."""
    return write_text(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n", path)


def write_text(text: str, path: str | os.PathLike[str]) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_zarr(data: xr.Dataset | xr.DataTree, path: str | os.PathLike[str]) -> Path:
    """Write a Dataset or DataTree as a zarr store, atomically (temp dir, then rename)."""
    data = _plain_attrs(data)
    with atomic_path(path) as tmp:
        data.to_zarr(tmp, mode="w", consolidated=False)
    return Path(path)


def _plain_attrs(data: xr.Dataset | xr.DataTree) -> xr.Dataset | xr.DataTree:
    """zarr attrs must be JSON: store nested configs as JSON-compatible values."""
    if isinstance(data, xr.DataTree):
        return data.map_over_datasets(_plain_attrs)  # type: ignore[arg-type]
    out = data.copy()
    out.attrs = to_jsonable(dict(data.attrs))
    for name in out.variables:
        out[name].attrs = to_jsonable(dict(out[name].attrs))
    return out


def open_zarr(path: str | os.PathLike[str], *, group: str | None = None) -> xr.Dataset:
    """Open a zarr store written by :func:`write_zarr` and load it into memory."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"path does not exist: {path}")
    with xr.open_zarr(path, group=group, consolidated=False) as ds:
        return ds.load()


def write_figure(fig: Any, folder: str | os.PathLike[str], stem: str = "figure") -> list[Path]:
    """Save a matplotlib figure as ``<stem>.png`` and ``<stem>.pdf`` in ``folder``, atomically."""
    folder = Path(folder)
    paths = []
    for ext in ("png", "pdf"):
        final = folder / f"{stem}.{ext}"
        with atomic_path(final) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
        paths.append(final)
    return paths


def open_tree(path: str | os.PathLike[str]) -> xr.DataTree:
    """Open a zarr store with groups (a DataTree written by :func:`write_zarr`) into memory."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"path does not exist: {path}")
    return xr.open_datatree(path, engine="zarr", consolidated=False).load()


_PICKLE_MAGIC = (b"\x80", b"(dp", b"(lp", b"cnumpy")


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read the arrays of an ``.npz`` (or ``.npy``) file, refusing anything pickled.

    Raises:
        ValueError: if the file is a pickle, holds object arrays, or is not NumPy data.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path does not exist or is not a file: {path}")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(_PICKLE_MAGIC):
        raise ValueError(
            f"{path} is a pickle file; ghostlearn never loads pickles (use numpy.savez)"
        )
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e):
            raise ValueError(
                f"{path} holds pickled (object) arrays; ghostlearn never loads pickles"
            ) from None
        raise ValueError(f"{path} is not a NumPy .npz file: {e}") from None
    except OSError as e:
        raise ValueError(f"{path} is not a NumPy .npz file: {e}") from None
    if isinstance(data, np.ndarray):  # a plain .npy
        return {"array": data}
    with data:
        try:
            return {k: np.asarray(data[k]) for k in data.files}
        except ValueError:
            raise ValueError(
                f"{path} holds pickled (object) arrays; ghostlearn never loads pickles"
            ) from None


def find_training_datasets(path: str | os.PathLike[str]) -> dict[str, xr.Dataset]:
    """Every training Dataset (one with snapshot variables ``snap_*``) in a zarr store.

    A store written by ``ghostlearn train`` gives ``{"/": ds}``; a figure's ``data.zarr``
    with groups gives one entry per group that holds snapshots.
    """
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"path is not a zarr store: {path}")
    tree = open_tree(path)
    found = {}
    for node in tree.subtree:
        ds = node.to_dataset()
        if any(str(v).startswith("snap_") for v in ds.data_vars):
            found[node.path] = ds
    return found
