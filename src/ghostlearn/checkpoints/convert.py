"""PyTorch-style state_dicts into the checkpoint schema.

Each schema key is found among the entries of the state_dicts (one per snapshot) by name
(:data:`DEFAULT_NAMES`, or a mapping), matrices are transposed for networks acting on row
vectors, and the snapshots are stacked and sorted by epoch (:func:`convert_state_dicts`).
Pure: dicts of arrays (or tensors) in, arrays out; :mod:`ghostlearn.checkpoints.files`
reads and writes the files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .schema import KEY_SETS, KIND_WORDS, OPTIONAL_WEIGHTS, Checkpoint, Kind, checkpoint_from_arrays

__all__ = [
    "DEFAULT_NAMES",
    "ROW_DEFAULT_NAMES",
    "Conversion",
    "convert_state_dicts",
    "flatten_state_dict",
]

#: Entry names :func:`convert_state_dicts` looks for, per schema key, in this order. A name
#: matches an entry of that name or one ending in ``.name`` (``rnn.weight_hh_l0``); ``a+b``
#: is the sum of two entries (``torch.nn.RNN``'s two biases).
DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "m": ("m",),
    "n": ("n",),
    "b": ("b", "bias_ih_l0+bias_hh_l0", "bias_ih+bias_hh"),
    "M": ("M",),
    "Nmat": ("Nmat",),
    "W": ("W", "W_rec", "weight_hh_l0", "weight_hh"),
    "W_in": ("W_in", "weight_ih_l0", "weight_ih"),
    "w_out": ("w_out",),
    "b_out": ("b_out",),
    "epoch": ("epoch",),
    "loss": ("loss",),
    "D": ("D",),
}
#: The defaults that change with ``row_convention=True``: a network ``x @ S_l @ S_r``.
ROW_DEFAULT_NAMES: dict[str, tuple[str, ...]] = {"M": ("S_r",), "Nmat": ("S_l",)}
# Entries that are matrices acting on the state: transposed in the row convention.
_MATRICES = ("M", "Nmat", "W", "W_in", "w_out")
_CONVERTED = ("m", "n", "b", "M", "Nmat", "W", *OPTIONAL_WEIGHTS, "epoch", "loss", "D")


@dataclasses.dataclass(frozen=True, eq=False)
class Conversion:
    """What :func:`convert_state_dicts` made.

    Attributes:
        arrays: the checkpoint's arrays, each with a leading snapshot axis (``D`` a
            scalar), ready for :func:`~ghostlearn.checkpoints.files.write_checkpoint`.
        checkpoint: the same arrays read back as a :class:`Checkpoint` (checked).
        sources: schema key -> the entry (or ``a+b``, ``0``) it came from, with
            ``" (transposed)"`` for matrices in the row convention, or ``"given"`` for
            the ``epochs`` and ``D`` arguments.
        order: for each snapshot of the checkpoint, the position of its state_dict in the
            input (snapshots are sorted by epoch).
    """

    arrays: dict[str, np.ndarray]
    checkpoint: Checkpoint
    sources: dict[str, str]
    order: list[int]


# --------------------------------------------------------------------------- entries


def _to_numpy(value: Any) -> Any:
    """A tensor or number as a NumPy array; other values (strings, None, lists) as None."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        return np.asarray(value)
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        t = value.detach().cpu()
        if str(t.dtype) in ("torch.bfloat16", "torch.float8_e4m3fn", "torch.float8_e5m2"):
            t = t.float()  # exact: NumPy has no such dtype
        return t.numpy()
    return None


def flatten_state_dict(obj: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """A nested state_dict as one flat name -> array dict.

    Nested mappings give dotted names (``{"model": {"rnn.W": w}}`` gives ``model.rnn.W``);
    tensors become NumPy arrays (``bfloat16`` and ``float8`` as float32, exactly), numbers
    0-d arrays; other values (strings, None, lists) are left out.

    Args:
        obj: the state_dict.
        prefix: prepended to every name.

    Returns:
        name -> array.
    """
    out: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_state_dict(value, name + "."))
            continue
        arr = _to_numpy(value)
        if arr is not None:
            out[name] = arr
    return out


def _match(names: Sequence[str], wanted: str) -> list[str]:
    if wanted in names:
        return [wanted]
    return [n for n in names if n.endswith("." + wanted)]


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")


def _resolve(key: str, expr: str, names: Sequence[str], *, explicit: bool) -> list[str] | None:
    """The entry names of ``expr`` (``a`` or ``a+b``), or None when a default is absent."""
    parts = [p.strip() for p in expr.split("+")]
    found = []
    for part in parts:
        hits = _match(names, part)
        if len(hits) > 1:
            raise ValueError(
                f"several entries match {key}={part}: {', '.join(hits)}; choose one with "
                f"--map {key}=NAME"
            )
        if not hits:
            if explicit:
                raise ValueError(
                    f"--map {key}={expr}: no entry {part!r}; the entries are {_shown(names)}"
                )
            return None
        found.append(hits[0])
    return found


def _choose_entries(
    names: Sequence[str], mapping: Mapping[str, str], row_convention: bool
) -> tuple[dict[str, list[str]], bool]:
    """``(schema key -> entry names, whether b is zero)``: the mapping, else the first
    default name found."""
    defaults = dict(DEFAULT_NAMES)
    if row_convention:
        defaults.update(ROW_DEFAULT_NAMES)
    chosen: dict[str, list[str]] = {}
    zero_bias = False
    for key in _CONVERTED:
        if key in mapping:
            expr = mapping[key].strip()
            if key == "b" and expr == "0":
                zero_bias = True
                continue
            found = _resolve(key, expr, names, explicit=True)
        else:
            found = None
            for cand in defaults[key]:
                found = _resolve(key, cand, names, explicit=False)
                if found is not None:
                    break
        if found is not None:
            chosen[key] = found
    return chosen, zero_bias


def _choose_kind(
    chosen: dict[str, list[str]], names: Sequence[str], zero_bias: bool, source: str
) -> Kind:
    """The one kind the chosen entries fit; the other kinds' entries leave ``chosen``."""
    kinds = [k for k, keys in KEY_SETS.items() if all(x in chosen for x in keys if x != "b")]
    if len(kinds) > 1:
        got = "; ".join(
            f"{KIND_WORDS[k]}: "
            + ", ".join(f"{x}={'+'.join(chosen[x])}" for x in KEY_SETS[k] if x in chosen)
            for k in kinds
        )
        raise ValueError(
            f"{source}: the entries fit more than one kind ({got}); name the weights with --map"
        )
    if not kinds:
        raise ValueError(
            f"{source}: no recurrent weights found among the entries {_shown(names)}; name them "
            "with --map, e.g. --map W=rnn.weight_hh_l0 (full rank), --map M=... --map Nmat=... "
            "(rank K) or --map m=... --map n=... (rank one)"
        )
    kind = kinds[0]
    drop = {x for k, keys in KEY_SETS.items() if k != kind for x in keys if x != "b"}
    for x in drop:
        chosen.pop(x, None)
    if "b" not in chosen and not zero_bias:
        raise ValueError(
            f"{source}: no bias b found among the entries; name it with --map b=NAME "
            "(b=a+c for the sum of two entries, b=0 for a network without bias)"
        )
    return kind


# --------------------------------------------------------------------------- values


def _entry_value(
    sd: Mapping[str, np.ndarray], i: int, key: str, parts: Sequence[str], source: str
) -> np.ndarray:
    """The value of ``key`` in snapshot ``i``: its entry, or the sum of its entries."""
    terms: list[np.ndarray] = []
    for part in parts:
        if part not in sd:
            raise ValueError(
                f"{source}: snapshot {i} has no entry {part!r} (for {key}), which snapshot 0 has"
            )
        terms.append(np.asarray(sd[part]))
    v = terms[0]
    for other in terms[1:]:
        if other.shape != v.shape:
            raise ValueError(
                f"{source}: {key} = {'+'.join(parts)} adds entries of shapes "
                f"{v.shape} and {other.shape}"
            )
        v = v + other
    return v


def _gather(
    chosen: Mapping[str, list[str]],
    dicts: Sequence[Mapping[str, np.ndarray]],
    row_convention: bool,
    source: str,
) -> dict[str, list[np.ndarray]]:
    """Schema key -> its value in every snapshot (matrices transposed in the row
    convention), of one shape across the snapshots."""
    per_key: dict[str, list[np.ndarray]] = {}
    for key, parts in chosen.items():
        values = []
        for i, sd in enumerate(dicts):
            v = _entry_value(sd, i, key, parts, source)
            if row_convention and key in _MATRICES and v.ndim >= 2:
                v = np.swapaxes(v, -1, -2)
            values.append(v)
        first = values[0]
        for i, v in enumerate(values[1:], start=1):
            if v.shape != first.shape:
                raise ValueError(
                    f"{source}: {key} ({'+'.join(parts)}) has shape {first.shape} in snapshot 0 "
                    f"but {v.shape} in snapshot {i}"
                )
        per_key[key] = values
    return per_key


def _snapshot_epochs(
    per_key: Mapping[str, list[np.ndarray]], epochs: Sequence[float] | None, S: int, source: str
) -> np.ndarray | None:
    """The epoch of each snapshot: the argument, else the ``epoch`` entries, else None."""
    if epochs is not None:
        ep = np.asarray(list(epochs))
        if ep.shape != (S,):
            raise ValueError(f"epochs must give one epoch per snapshot ({S}), got {ep.size}")
        return ep
    if "epoch" not in per_key:
        return None
    ep = np.asarray([np.asarray(v).reshape(-1)[0] if np.asarray(v).size == 1 else np.nan
                     for v in per_key["epoch"]])  # fmt: skip
    bad = [i for i, v in enumerate(per_key["epoch"]) if np.asarray(v).size != 1]
    if bad:
        raise ValueError(
            f"{source}: the epoch entry must be one number per snapshot, got shape "
            f"{np.asarray(per_key['epoch'][bad[0]]).shape} in snapshot {bad[0]}"
        )
    return ep


def _sorted_by_epoch(ep: np.ndarray, source: str) -> tuple[np.ndarray, list[int]]:
    """``(epochs, the snapshots in increasing epoch)``; whole-number epochs as integers."""
    if ep.dtype.kind == "f" and np.all(np.isfinite(ep)) and np.all(ep == np.round(ep)):
        ep = ep.astype(np.int64)
    order = [int(i) for i in np.argsort(ep, kind="stable")]
    sorted_ep = ep[order]
    dup = np.flatnonzero(np.diff(sorted_ep) == 0)
    if dup.size:
        e = sorted_ep[dup[0]]
        where = [i for i in range(ep.size) if ep[i] == e]
        raise ValueError(f"{source}: epoch {e:g} is given to snapshots {where}; epochs must differ")
    return ep, order


def _stacked(
    per_key: Mapping[str, list[np.ndarray]], order: Sequence[int], source: str
) -> dict[str, np.ndarray]:
    """Every key but ``epoch`` and ``D`` stacked along a leading snapshot axis, in ``order``."""
    out: dict[str, np.ndarray] = {}
    for key in _CONVERTED:
        if key not in per_key or key in ("epoch", "D"):
            continue
        vals = per_key[key]
        if key == "loss":
            bad = [i for i, v in enumerate(vals) if v.size != 1]
            if bad:
                raise ValueError(
                    f"{source}: the loss entry must be one number per snapshot, got shape "
                    f"{vals[bad[0]].shape} in snapshot {bad[0]}"
                )
            vals = [v.reshape(()) for v in vals]
        out[key] = np.ascontiguousarray(np.stack([vals[i] for i in order]))
    return out


def _d_value(
    per_key: Mapping[str, list[np.ndarray]], D: float | None, S: int, source: str
) -> float | None:
    """``D``: the argument, else the ``D`` entries (the same in every snapshot), else None."""
    if D is not None or "D" not in per_key:
        return D
    ds = np.asarray([np.asarray(v, dtype=np.float64).reshape(-1) for v in per_key["D"]])
    if ds.size != S or np.any(ds != ds.flat[0]):
        raise ValueError(
            f"{source}: the D entry must be one number, the same in every snapshot, got "
            f"{ds.reshape(-1)[:6].tolist()}"
        )
    return float(ds.flat[0])


def _sources(
    out: Mapping[str, np.ndarray],
    chosen: Mapping[str, list[str]],
    *,
    D_given: bool,
    epochs_given: bool,
    zero_bias: bool,
    row_convention: bool,
) -> dict[str, str]:
    """Schema key -> where its array came from (see :class:`Conversion`)."""
    sources = {}
    for key in out:
        if key == "D":
            sources[key] = "given" if D_given else "+".join(chosen.get("D", ["D"]))
        elif key == "epoch" and epochs_given:
            sources[key] = "given"
        elif key == "b" and zero_bias:
            sources[key] = "0"
        else:
            text = "+".join(chosen[key])
            if row_convention and key in _MATRICES and out[key].ndim >= 3:
                text += " (transposed)"
            sources[key] = text
    return sources


# --------------------------------------------------------------------------- the converter


def convert_state_dicts(
    state_dicts: Sequence[Mapping[str, Any]],
    *,
    mapping: Mapping[str, str] | None = None,
    row_convention: bool = False,
    epochs: Sequence[float] | None = None,
    D: float | None = None,
    n_in: int | None = None,
    source: str = "state_dicts",
) -> Conversion:
    """Turn state_dicts (one per snapshot) into the checkpoint schema.

    Each schema key (``m, n, b, M, Nmat, W, W_in, w_out, b_out, epoch, loss, D``) is taken
    from the entry ``mapping[key]`` when given, else from the first of
    :data:`DEFAULT_NAMES` ``[key]`` found (an entry of that name, or ending in ``.name``).
    A name ``a+b`` is the sum of two entries (``torch.nn.RNN``'s ``bias_ih_l0`` and
    ``bias_hh_l0``); ``b`` may be ``0`` for a network without bias (zeros ``[N]``).

    With ``row_convention`` the network is taken as acting on row vectors,
    ``x <- (1 - D) x + D tanh(x W_r + u W_in,r + b)``, as in ``x @ S_l @ S_r``: every
    matrix (``M, Nmat, W, W_in`` and a 2-D ``w_out``) is transposed, which gives the
    column convention's ``W = W_r^T``, ``M = S_r^T``, ``Nmat = S_l^T``; the default names
    of ``M`` and ``Nmat`` become ``S_r`` and ``S_l`` (:data:`ROW_DEFAULT_NAMES`).
    Vectors are taken as they are (a row network ``x @ (l r^T)`` has ``m = r``, ``n = l``).

    Snapshots are stacked along a new leading axis, sorted by epoch when epochs are known
    (``epochs`` or the ``epoch`` entries); values are copied bit for bit (only ``a+b``
    sums compute).

    Args:
        state_dicts: one flat name -> array mapping per snapshot (see
            :func:`~ghostlearn.checkpoints.files.load_state_dicts`; torch tensors are
            accepted as values).
        mapping: schema key -> entry name.
        row_convention: the weights act on row vectors (see above).
        epochs: the epoch of each snapshot, in the order of ``state_dicts``.
        D: ``dt / tau`` to record (overrides a ``D`` entry; 1 for ``torch.nn.RNN``).
        n_in: input channels the network must have (checked against ``W_in``).
        source: a name for the messages.

    Returns:
        :class:`Conversion`.

    Raises:
        ValueError: on an unknown key or entry, several entries matching a default name,
            entries whose shapes differ between snapshots, or a result that is not a
            checkpoint (see :func:`~ghostlearn.checkpoints.schema.checkpoint_from_arrays`).
    """
    if not state_dicts:
        raise ValueError("no state_dict to convert")
    mapping = dict(mapping or {})
    for key in mapping:
        if key not in _CONVERTED:
            raise ValueError(f"--map key must be one of {', '.join(_CONVERTED)}, got {key!r}")
    dicts = [flatten_state_dict(sd) for sd in state_dicts]
    names = list(dicts[0])
    chosen, zero_bias = _choose_entries(names, mapping, row_convention)
    kind = _choose_kind(chosen, names, zero_bias, source)
    per_key = _gather(chosen, dicts, row_convention, source)
    S = len(dicts)
    if zero_bias:
        lead = per_key[KEY_SETS[kind][0]][0]
        n_units = lead.shape[0] if lead.ndim else 0
        per_key["b"] = [np.zeros(n_units, dtype=lead.dtype)] * S
    ep = _snapshot_epochs(per_key, epochs, S, source)
    order = list(range(S))
    if ep is not None:
        ep, order = _sorted_by_epoch(ep, source)
    out = _stacked(per_key, order, source)
    if ep is not None:
        out["epoch"] = np.ascontiguousarray(ep[order])
    d_value = _d_value(per_key, D, S, source)
    if d_value is not None:
        out["D"] = np.asarray(float(d_value))
    ckpt = checkpoint_from_arrays(out, n_in=n_in, source=source)
    sources = _sources(
        out, chosen, D_given=D is not None, epochs_given=epochs is not None,
        zero_bias=zero_bias, row_convention=row_convention,
    )  # fmt: skip
    return Conversion(arrays=out, checkpoint=ckpt, sources=sources, order=order)
