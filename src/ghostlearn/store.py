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
import types
import typing
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final, overload

import numpy as np
import xarray as xr

__all__ = [
    "JSON_SUFFIX",
    "ZARR_FORMAT",
    "atomic_path",
    "decode_attrs",
    "encode_attrs",
    "from_jsonable",
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


def remove_temporaries(folder: str | os.PathLike[str], names: tuple[str, ...]) -> list[Path]:
    """Remove what killed atomic writes of ``names`` in ``folder`` left behind.

    :func:`atomic_path` writes ``NAME`` as ``.NAME.tmp-<id>`` (and moves an old directory
    aside as ``.NAME.old-<id>``); a writer killed with ``kill -9`` leaves them. Call it
    where only one writer of ``folder`` runs at a time (another one's temporary would go
    too).

    Returns:
        The paths removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [
        p
        for name in names
        for pattern in (f".{name}.tmp-*", f".{name}.old-*")
        for p in folder.glob(pattern)
    ]
    for p in stale:
        _remove(p)
    return stale


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


def from_jsonable(tp: Any, value: Any, *, where: str = "value") -> Any:
    """The inverse of :func:`to_jsonable` for a typed target: ``value`` (plain JSON) as an
    instance of the type ``tp``.

    Dataclasses are built field by field from their type hints (nested dataclasses,
    ``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``dict[str, X]``, ``X | None``,
    ``Literal``, ``bool``/``int``/``float``/``str`` and ``Any``); a float stored as
    ``None`` (a non-finite number) comes back as NaN. A key the dataclass does not have,
    or a missing field without a default, raises ``ValueError`` naming it (``where`` is
    the name of ``value`` in that message).
    """
    if tp is Any or tp is object:
        return value
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return from_jsonable(options[0], value, where=where)
        for option in options:  # the first that fits, in the order written
            try:
                return from_jsonable(option, value, where=where)
            except (TypeError, ValueError):
                continue
        raise ValueError(f"{where} fits none of {tp}, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"{where} must be one of {args}, got {value!r}")
        return value
    if origin in (list, tuple, dict) and value is None:
        raise ValueError(f"{where} must be a {origin.__name__}, got None")
    if origin is list:
        return [from_jsonable(args[0], v, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(
                from_jsonable(args[0], v, where=f"{where}[{i}]") for i, v in enumerate(value)
            )
        if len(args) != len(value):
            raise ValueError(f"{where} must have {len(args)} entries, got {len(value)}")
        return tuple(
            from_jsonable(a, v, where=f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is dict:
        key_tp, value_tp = args or (str, Any)
        return {
            (int(k) if key_tp is int else k): from_jsonable(value_tp, v, where=f"{where}[{k!r}]")
            for k, v in value.items()
        }
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} must be a mapping for {tp.__name__}, got {value!r}")
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ValueError(f"{where} has keys {tp.__name__} does not know: {unknown}")
        kwargs = {}
        for name, f in fields.items():
            if name in value:
                kwargs[name] = from_jsonable(hints[name], value[name], where=f"{where}.{name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{where} is missing {tp.__name__}'s field {name!r}")
        return tp(**kwargs)
    if tp is float:
        if value is None:
            return math.nan
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is int:  # NumPy integers too: attributes of a Dataset not yet written to disk
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{where} must be int, got {value!r}")
        return int(value)
    if tp is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{where} must be bool, got {value!r}")
        return bool(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be str, got {value!r}")
        return value
    if origin is not None:  # another generic (e.g. Mapping[str, Any]): as stored
        return value
    raise TypeError(f"{where}: no JSON conversion to {tp!r}")


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


#: The zarr format of every store ghostlearn writes: version 2, the one both zarr-python 2
#: and 3 write and every zarr reader understands, with standard consolidated metadata
#: (``.zmetadata``). Stores written as zarr v3 by earlier versions stay readable.
ZARR_FORMAT: Final = 2

#: Attributes whose value is not a string or a number (dicts, lists, booleans, None) are
#: stored as JSON text under the attribute's name plus this suffix: ``model`` becomes
#: ``model_json``. The readers here decode them back (see :func:`decode_attrs`).
JSON_SUFFIX = "_json"

# CF-style defaults (long_name, units) for the names ghostlearn's Datasets share. Model time
# is in ms (tau = 10 ms, dt = 5 ms); everything else is dimensionless ("1").
_CF: dict[str, tuple[str, str]] = {
    "net": ("network index in the population", "1"),
    "epoch": ("training epoch", "1"),
    "snapshot": ("epoch of the parameter snapshot", "1"),
    "unit": ("unit of the network", "1"),
    "unit2": ("unit of the network (second axis of W)", "1"),
    "k": ("rank index of the low-rank connectivity", "1"),
    "seed": ("seed of the initial weights", "1"),
    "lr": ("learning rate", "1"),
    "c": ("confidence of the rank-one readout", "1"),
    "c_final": ("trained confidence of the rank-one readout", "1"),
    "rank": ("trainable rank K", "1"),
    "cell": ("flat index of the sweep cell", "1"),
    "loss": ("loss", "1"),
    "accuracy": ("fraction of correct steps", "1"),
    "grad_norm": ("gradient norm", "1"),
    "diverged": ("loss or parameters became non-finite", "1"),
    "diverged_epoch": ("first epoch with NaN metrics (-1: never)", "1"),
    "m": ("left connectivity vector m", "1"),
    "n": ("right connectivity vector n", "1"),
    "b": ("bias of each unit", "1"),
    "M": ("left connectivity vectors M", "1"),
    "Nmat": ("right connectivity vectors N", "1"),
    "W": ("recurrent weight matrix", "1"),
    "W_in": ("input weights", "1"),
    "input": ("input channel of the task", "1"),
    "w_out": ("readout weights", "1"),
    "b_out": ("readout bias", "1"),
    "kappa": ("latent coordinate kappa = n . x", "1"),
    "t": ("time", "ms"),
    "time": ("time", "ms"),
    "tau": ("time constant", "ms"),
    "dt": ("time step", "ms"),
}


def _is_plain(value: Any) -> bool:
    """Whether an attribute value is valid as it is in netCDF and zarr: a string or number."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


@overload
def encode_attrs(data: xr.Dataset) -> xr.Dataset: ...


@overload
def encode_attrs(data: xr.DataTree) -> xr.DataTree: ...


def encode_attrs(data: xr.Dataset | xr.DataTree) -> xr.Dataset | xr.DataTree:
    """A copy whose attributes are valid netCDF: what :func:`write_zarr` stores.

    Structured values (dicts, lists, booleans, None) become JSON text under
    ``<name>_json``; every variable and coordinate without ``long_name`` and ``units``
    gets them for the names ghostlearn's Datasets share (a table; ``"1"`` marks a
    dimensionless quantity, model time is in ms); other names get ``long_name`` only.
    ``encode_attrs(ds).to_netcdf(path)`` works for any Dataset ghostlearn returns.
    """
    if isinstance(data, xr.DataTree):
        return data.map_over_datasets(encode_attrs)
    out = data.copy()
    out.attrs = _encode(dict(data.attrs))
    for name in out.variables:
        attrs = dict(out[name].attrs)
        long_name, units = _cf_defaults(str(name))
        attrs.setdefault("long_name", long_name)
        if units is not None:
            attrs.setdefault("units", units)
        out[name].attrs = _encode(attrs)
    return out


_STATISTICS = {"mean": "mean of", "sem": "standard error of", "std": "standard deviation of"}


def _cf_defaults(name: str) -> tuple[str, str | None]:
    """``long_name`` and ``units`` for a variable that has none: from :data:`_CF` for the
    known names (``snap_<name>`` and ``<name>_mean|_sem|_std`` included); otherwise the
    name and no units, rather than a guess."""
    if name in _CF:
        return _CF[name]
    if name.startswith("snap_") and name[5:] in _CF:
        long_name, units = _CF[name[5:]]
        return f"{long_name} at the start of the snapshot epoch", units
    base, _, stat = name.rpartition("_")
    if stat in _STATISTICS and base in _CF:
        long_name, units = _CF[base]
        return f"{_STATISTICS[stat]} {long_name}", units
    return name.replace("_", " "), None


def _encode(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in to_jsonable(attrs).items():
        if _is_plain(value):
            out[key] = value
        else:
            out[f"{key}{JSON_SUFFIX}"] = json.dumps(value, allow_nan=False)
    return out


@overload
def decode_attrs(data: xr.Dataset) -> xr.Dataset: ...


@overload
def decode_attrs(data: xr.DataTree) -> xr.DataTree: ...


def decode_attrs(data: xr.Dataset | xr.DataTree) -> xr.Dataset | xr.DataTree:
    """Undo :func:`encode_attrs`'s JSON text: ``model_json`` becomes the dict ``model``.

    Stores written before JSON-encoded attributes (plain dicts in zarr attrs) pass through.
    """
    if isinstance(data, xr.DataTree):
        return data.map_over_datasets(decode_attrs)
    data.attrs = _decode(data.attrs)
    for name in data.variables:
        data[name].attrs = _decode(data[name].attrs)
    return data


def _decode(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key.endswith(JSON_SUFFIX) and isinstance(value, str):
            try:
                out[key[: -len(JSON_SUFFIX)]] = json.loads(value)
                continue
            except ValueError:
                pass
        out[key] = value
    return out


def write_zarr(data: xr.Dataset | xr.DataTree, path: str | os.PathLike[str]) -> Path:
    """Write a Dataset or DataTree as a zarr store, atomically (temp dir, then rename).

    The store is zarr format :data:`ZARR_FORMAT` with consolidated metadata, so
    ``xarray.open_zarr(path)`` opens it without a warning; attributes are encoded by
    :func:`encode_attrs`, so what it opens round-trips through ``to_netcdf``. Each
    Dataset (each node of a DataTree) records the checksums of its arrays
    (:mod:`ghostlearn.integrity`), which :func:`open_zarr` and :func:`open_tree` check.
    """
    from .integrity import with_checksums

    data = encode_attrs(with_checksums(data))
    with atomic_path(path) as tmp:
        data.to_zarr(tmp, mode="w", consolidated=True, zarr_format=ZARR_FORMAT)
    return Path(path)


def _consolidated(path: Path) -> bool:
    """Whether the store at ``path`` has consolidated metadata (v2 ``.zmetadata`` or v3)."""
    if (path / ".zmetadata").is_file():
        return True
    meta = path / "zarr.json"
    if meta.is_file():
        with contextlib.suppress(OSError, ValueError):
            return bool(json.loads(meta.read_text(encoding="utf-8")).get("consolidated_metadata"))
    return False


def open_zarr(path: str | os.PathLike[str], *, group: str | None = None) -> xr.Dataset:
    """Open a zarr store written by :func:`write_zarr` and load it into memory.

    Raises:
        ValueError: the path is missing, is not a zarr store, or is damaged (an array that
            cannot be read or does not match its checksum; the message names it).
    """
    from .integrity import load_verified, reading

    path = Path(path)
    if not path.exists():
        raise ValueError(f"path does not exist: {path}")
    where = f"the zarr store {str(path)!r}" + (f" (group {group})" if group else "")
    with reading(where), xr.open_zarr(path, group=group, consolidated=_consolidated(path)) as ds:
        return load_verified(decode_attrs(ds), where)


def write_figure(fig: Any, folder: str | os.PathLike[str], stem: str = "figure") -> list[Path]:
    """Save a matplotlib figure as ``<stem>.png`` and ``<stem>.pdf`` in ``folder``, atomically.

    The page is the figure's own size (no cropping), so a figure drawn at its printed
    width keeps it."""
    folder = Path(folder)
    paths = []
    for ext in ("png", "pdf"):
        final = folder / f"{stem}.{ext}"
        with atomic_path(final) as tmp:
            fig.savefig(tmp, format=ext, dpi=200 if ext == "png" else 150)
        paths.append(final)
    return paths


def open_tree(path: str | os.PathLike[str]) -> xr.DataTree:
    """Open a zarr store with groups (a DataTree written by :func:`write_zarr`) into memory.

    Raises:
        ValueError: as :func:`open_zarr`, naming the group and variable that is damaged.
    """
    from .integrity import ATTR, load_verified, reading

    path = Path(path)
    if not path.exists():
        raise ValueError(f"path does not exist: {path}")
    where = f"the zarr store {str(path)!r}"
    with reading(where):
        tree = decode_attrs(xr.open_datatree(path, engine="zarr", consolidated=_consolidated(path)))
        for node in tree.subtree:
            group = f" (group {node.path})" if node.path != "/" else ""
            load_verified(node.to_dataset(inherit=False), where + group)
        tree = tree.load()
    for node in tree.subtree:
        for key in (ATTR, f"{ATTR}{JSON_SUFFIX}"):
            node.attrs.pop(key, None)
    return tree


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
    if not head:
        raise ValueError(f"{path} is empty (0 bytes): not a NumPy .npz file")
    if head.startswith(_PICKLE_MAGIC):
        raise ValueError(
            f"{path} is a pickle file; ghostlearn never loads pickles (use numpy.savez)"
        )
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        raise ValueError(
            f"{path} is not a NumPy .npz or .npy file (it starts with {head[:8]!r}; "
            "write one with numpy.savez)"
        )
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e):
            raise ValueError(
                f"{path} holds pickled (object) arrays; ghostlearn never loads pickles"
            ) from None
        raise ValueError(f"{path} is not a NumPy .npz file: {e}") from None
    except (OSError, EOFError) as e:
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
