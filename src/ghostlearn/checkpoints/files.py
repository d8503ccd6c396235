"""Checkpoint files: reading and writing ``.npz`` and ``.safetensors``, loading state_dicts.

Nothing is unpickled beyond tensors: ``.npz`` files are read without pickles,
``.safetensors`` with ``safetensors.numpy``, and PyTorch files only with
``torch.load(..., weights_only=True)``. :func:`write_checkpoint` writes atomically.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .convert import flatten_state_dict
from .schema import Checkpoint, checkpoint_from_arrays

__all__ = ["load_state_dicts", "read_checkpoint", "write_checkpoint"]

_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".tar")


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".npz", ".npy"):
        return "npz"
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in _TORCH_SUFFIXES:
        return "torch"
    with path.open("rb") as fh:
        head = fh.read(9)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        return "npz"
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    raise ValueError(
        f"{path} is neither an .npz nor a .safetensors file (suffix {suffix or 'none'!r})"
    )


def _existing_file(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    return path


# --------------------------------------------------------------------------- reading


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes): not a safetensors file")
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError:
        raise ValueError(
            f"{path}: reading .safetensors files needs the safetensors package "
            "(pip install safetensors)"
        ) from None
    try:
        return dict(load_file(str(path)))
    except SafetensorError as e:
        raise ValueError(f"{path} is not a safetensors file: {_one_line(e)}") from None
    except TypeError as e:  # a dtype NumPy lacks, e.g. bfloat16
        raise ValueError(
            f"{path} holds a tensor NumPy cannot read ({_one_line(e)}); save it as "
            "float32, or convert it with `ghostlearn convert` from PyTorch"
        ) from None


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    fmt = _format_of(path)
    if fmt == "npz":
        from ..store import read_npz

        return read_npz(path)
    if fmt == "safetensors":
        return _read_safetensors(path)
    raise ValueError(
        f"{path} is a PyTorch file; turn it into a checkpoint first: "
        f"ghostlearn convert {path} --out {path.with_suffix('.npz').name}"
    )


def read_checkpoint(
    path: str | os.PathLike[str], *, rank: int | None = None, n_in: int | None = None
) -> Checkpoint:
    """Read a checkpoint file (``.npz`` or ``.safetensors``; nothing is unpickled).

    Args:
        path: the file.
        rank: latent dimensions analysed (see
            :func:`~ghostlearn.checkpoints.schema.checkpoint_from_arrays`; full rank
            defaults to 2 singular directions).
        n_in: input channels the network must have (checked against ``W_in``).

    Returns:
        :class:`~ghostlearn.checkpoints.schema.Checkpoint`.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: one line naming the file, the array and the shapes when the file is
            empty, not an ``.npz``/``.safetensors`` file, a pickle or a PyTorch file, or
            its arrays are not a checkpoint (see
            :func:`~ghostlearn.checkpoints.schema.checkpoint_from_arrays`).
    """
    p = _existing_file(path)
    return checkpoint_from_arrays(_read_arrays(p), rank=rank, n_in=n_in, source=str(p))


# --------------------------------------------------------------------------- state_dicts


def _load_torch(path: Path) -> Any:
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes): not a PyTorch file")
    try:
        import torch
    except ImportError:
        raise ValueError(
            f"{path}: reading PyTorch files needs PyTorch (pip install torch); or save the "
            "state_dict with safetensors, which does not"
        ) from None
    import pickle

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        what = f" (it holds {found.group(1)}, not only tensors)" if found else ""
        raise ValueError(
            f"{path} needs arbitrary unpickling{what}; ghostlearn loads PyTorch files only "
            "with torch.load(weights_only=True): save model.state_dict() instead"
        ) from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a file it cannot read
        raise ValueError(
            f"{path} is not a file torch.load can read ({type(e).__name__}: {_one_line(e)})"
        ) from None


def load_state_dicts(path: str | os.PathLike[str]) -> list[dict[str, np.ndarray]]:
    """The state_dicts in a file, one per snapshot, as flat name -> array dicts.

    - ``.pt``, ``.pth``, ``.bin``, ``.ckpt``, ``.tar``: ``torch.load(path,
      weights_only=True)`` (never arbitrary unpickling). A dict is one snapshot (nested
      dicts are flattened with dotted names: ``{"model": sd, "epoch": 3}`` gives
      ``model.rnn.weight_hh_l0``, ..., ``epoch``); a list or tuple of dicts is one snapshot
      per element. Numbers become 0-d arrays, ``bfloat16`` tensors float32 (exactly);
      other values (strings, lists) are left out.
    - ``.safetensors``: one snapshot (read with ``safetensors.numpy``, no PyTorch needed).
    - ``.npz``: one snapshot.

    Args:
        path: the file.

    Returns:
        One dict per snapshot.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: on a file that needs arbitrary unpickling, an empty or unreadable file,
            or one that holds no dict of tensors.
    """
    p = _existing_file(path)
    fmt = _format_of(p)
    if fmt == "npz":
        from ..store import read_npz

        return [read_npz(p)]
    if fmt == "safetensors":
        return [_read_safetensors(p)]
    obj = _load_torch(p)
    items = list(obj) if isinstance(obj, (list, tuple)) else [obj]
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            where = f" (element {i})" if isinstance(obj, (list, tuple)) else ""
            raise ValueError(
                f"{p} must hold a state_dict (a dict of tensors) or a list of them, got "
                f"{type(item).__name__}{where}"
            )
        flat = flatten_state_dict(item)
        if not flat:
            raise ValueError(f"{p} holds a dict without tensors or numbers")
        out.append(flat)
    if not out:
        raise ValueError(f"{p} holds an empty list: no state_dict")
    return out


# --------------------------------------------------------------------------- writing


def write_checkpoint(arrays: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> Path:
    """Write checkpoint arrays to ``path`` (``.npz`` or ``.safetensors``) atomically.

    The file is written beside ``path`` under a temporary name and renamed onto it, so
    ``path`` is either the old file or the complete new one. The arrays are checked
    against the schema first
    (:func:`~ghostlearn.checkpoints.schema.checkpoint_from_arrays`).

    Args:
        arrays: name -> array.
        path: ends in ``.npz`` or ``.safetensors``.

    Returns:
        ``path``.

    Raises:
        ValueError: on another suffix, or arrays that are not a checkpoint.
    """
    from ..store import atomic_path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".safetensors"):
        raise ValueError(f"the checkpoint must end in .npz or .safetensors, got {path.name!r}")
    checkpoint_from_arrays(arrays, source=str(path))
    # np.ascontiguousarray would turn a 0-d array (D) into shape (1,).
    data = {k: np.asarray(v, order="C") for k, v in arrays.items()}
    if suffix == ".safetensors":
        try:
            from safetensors.numpy import save
        except ImportError:
            raise ValueError(
                "writing .safetensors files needs the safetensors package "
                "(pip install safetensors); or write an .npz"
            ) from None
        blob = save(data, metadata={"format": "ghostlearn checkpoint"})
    with atomic_path(path) as tmp:
        with tmp.open("wb") as fh:
            if suffix == ".safetensors":
                fh.write(blob)
            else:
                # numpy's default, named so that no array name can be read as the flag.
                np.savez(fh, allow_pickle=True, **data)
            fh.flush()
            os.fsync(fh.fileno())
    return path
