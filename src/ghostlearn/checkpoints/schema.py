"""The checkpoint schema: which arrays make a checkpoint, their shapes, their checks.

Three kinds of recurrent weights (``rank1``: ``m, n, b``; ``lowrank``: ``M, Nmat, b``;
``full``: ``W, b``), optional inputs, readout, epochs, ``D`` and metric curves, each
with or without a leading snapshot axis ``S`` (``docs/checkpoints.md``).
:func:`checkpoint_from_arrays` checks arrays against it and returns the
:class:`Checkpoint`. Pure: arrays in, objects out.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from .svd import SVDReduction, svd_reduce

__all__ = [
    "DEFAULT_RANK",
    "KEY_SETS",
    "KINDS",
    "KIND_WORDS",
    "OPTIONAL_WEIGHTS",
    "SCHEMA_KEYS",
    "Checkpoint",
    "Kind",
    "checkpoint_from_arrays",
]

Kind = Literal["rank1", "lowrank", "full"]
KINDS: tuple[str, ...] = ("rank1", "lowrank", "full")

#: The arrays that make each kind of checkpoint.
KEY_SETS: dict[Kind, tuple[str, ...]] = {
    "rank1": ("m", "n", "b"),
    "lowrank": ("M", "Nmat", "b"),
    "full": ("W", "b"),
}
#: Each kind in words, for messages.
KIND_WORDS: dict[str, str] = {"rank1": "rank one", "lowrank": "rank K", "full": "full rank"}
#: Weights every kind may have: input, readout and its bias.
OPTIONAL_WEIGHTS: tuple[str, ...] = ("W_in", "w_out", "b_out")
_METRICS = ("loss", "grad_norm", "accuracy", "loss_epoch")

#: Every key a checkpoint may hold.
SCHEMA_KEYS: tuple[str, ...] = (
    "m", "n", "b", "M", "Nmat", "W", *OPTIONAL_WEIGHTS, "epoch", "D", *_METRICS,
)  # fmt: skip

#: Latent dimensions kept of a full-rank ``W`` unless told otherwise (at most ``N``).
DEFAULT_RANK = 2

# The named dimensions of each weight, without the snapshot axis.
_WEIGHT_DIMS: dict[str, tuple[str, ...]] = {
    "m": ("N",), "n": ("N",), "b": ("N",), "M": ("N", "K"), "Nmat": ("K", "N"),
    "W": ("N", "N"),
}  # fmt: skip


def _shape_text(dims: Sequence[str]) -> str:
    return "[" + ", ".join(dims) + "]"


def _preview(a: np.ndarray, n: int = 6) -> str:
    values = ", ".join(f"{v:g}" for v in a[:n])
    return f"[{values}{', ...' if a.size > n else ''}]"


# --------------------------------------------------------------------------- the checkpoint


@dataclasses.dataclass(frozen=True, eq=False)
class Checkpoint:
    """The snapshots of one network, checked against the schema.

    Attributes:
        kind: ``"rank1"``, ``"lowrank"`` or ``"full"`` (which arrays the file holds).
        arrays: the weights as stored (dtype unchanged), each with a leading snapshot
            axis: ``m, n, b`` [S, N] (rank1), ``M`` [S, N, K], ``Nmat`` [S, K, N], ``b``
            (lowrank) or ``W`` [S, N, N], ``b`` (full), plus ``W_in`` [S, N, n_in],
            ``w_out`` [S, N] or [S, n_out, N] and ``b_out`` [S] or [S, n_out] when present.
        N: units.
        K: latent dimensions analysed: 1 (rank1), the rank of ``M Nmat`` (lowrank, or
            fewer when reduced) or the singular directions kept (full).
        epochs: ``[S]`` float64 snapshot epochs, strictly increasing (default
            ``0 .. S-1``).
        losses: ``[S]`` the loss at each snapshot when the file gives one per snapshot,
            else None.
        D: the Euler factor ``dt / tau`` when the file gives it, else None.
        n_in: input channels (columns of ``W_in``), None without ``W_in``.
        svd: the singular-direction reduction of ``W`` (full rank, or rank K reduced
            to fewer dimensions), else None.
        metrics: the metric curves to analyse (``loss`` and, when given, ``grad_norm``,
            ``accuracy``), each ``[E]`` at ``metric_epochs``: the per-snapshot losses at
            the snapshot epochs, or the per-epoch curves of the file. Empty without a loss.
        metric_epochs: ``[E]`` epochs of ``metrics`` (None when empty).
        source: where it came from (a path).
    """

    kind: Kind
    arrays: Mapping[str, np.ndarray]
    N: int
    K: int
    epochs: np.ndarray
    losses: np.ndarray | None
    D: float | None
    n_in: int | None
    svd: SVDReduction | None
    metrics: Mapping[str, np.ndarray]
    metric_epochs: np.ndarray | None
    source: str

    @property
    def n_snapshots(self) -> int:
        """``S``."""
        return int(self.epochs.size)

    @property
    def stored_rank(self) -> int:
        """The rank of the stored parametrisation: 1, ``K`` of ``M Nmat``, or ``N``."""
        if self.kind == "rank1":
            return 1
        if self.kind == "lowrank":
            return int(self.arrays["M"].shape[-1])
        return self.N

    def latent_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(M [S, N, K], Nmat [S, K, N], b [S, N])`` of the latent flow analysed.

        ``kappa = Nmat x`` and ``tau dkappa/dt = -kappa + Nmat tanh(M kappa + b)``: rank one
        ``M = m``, ``Nmat = n^T``; rank K the stored factors; full rank (or a reduced
        rank K) the leading singular directions of :attr:`svd`.
        """
        a = self.arrays
        if self.svd is not None:
            return self.svd.M, self.svd.Nmat, a["b"]
        if self.kind == "rank1":
            return a["m"][..., :, None], a["n"][..., None, :], a["b"]
        return a["M"], a["Nmat"], a["b"]

    def recurrent_weights(self) -> np.ndarray:
        """``W`` ``[S, N, N]`` (float64 for rank one and rank K, as stored for full)."""
        a = self.arrays
        if self.kind == "full":
            return a["W"]
        if self.kind == "rank1":
            m, n = (a[k].astype(np.float64) for k in ("m", "n"))
            return m[:, :, None] * n[:, None, :]
        return a["M"].astype(np.float64) @ a["Nmat"].astype(np.float64)

    def reduce(self, rank: int) -> Checkpoint:
        """The same checkpoint analysed through ``rank`` singular directions of ``W``.

        Args:
            rank: directions kept: ``1..N`` for full rank, ``1..K`` for rank K (``K`` keeps
                the exact factors).

        Raises:
            ValueError: for a rank-one checkpoint, or a rank out of range.
        """
        svd, K = _reduction(self.kind, self.arrays, rank, self.N, self.source)
        return dataclasses.replace(self, svd=svd, K=K)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible summary: kind, sizes, epochs, ``D``, the reduction's share."""
        out: dict[str, Any] = {
            "source": self.source,
            "kind": self.kind,
            "N": self.N,
            "K": self.K,
            "stored_rank": self.stored_rank,
            "n_snapshots": self.n_snapshots,
            "first_epoch": float(self.epochs[0]),
            "last_epoch": float(self.epochs[-1]),
            "D": self.D,
            "n_in": self.n_in,
            "loss": "per snapshot" if self.losses is not None else (
                "per epoch" if self.metrics else "none"),
        }  # fmt: skip
        if self.svd is not None:
            share = self.svd.discarded_share
            out["svd"] = {
                "K": self.svd.K,
                "discarded_share": [float(v) for v in share],
                "max_discarded_share": float(np.max(share)),
                "definition": "sum of the discarded singular values squared / sum of all",
            }
        return out

    def __repr__(self) -> str:
        e = self.epochs
        extra = ""
        if self.svd is not None:
            extra = f", {self.svd.K} singular directions (discarded share <= "
            extra += f"{self.svd.max_discarded_share:.3g})"
        return (
            f"Checkpoint({self.kind}, N={self.N}, K={self.K}, {e.size} snapshot(s) at "
            f"epochs {e[0]:g}..{e[-1]:g}{extra}; {self.source})"
        )


def _reduction(
    kind: str, arrays: Mapping[str, np.ndarray], rank: int | None, N: int, src: str
) -> tuple[SVDReduction | None, int]:
    """``(svd, K)`` for ``rank`` (None: the default of the kind)."""
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, (int, np.integer))):
        raise ValueError(f"rank must be an integer >= 1, got {rank!r}")
    if kind == "rank1":
        if rank not in (None, 1):
            raise ValueError(
                f"{src}: rank applies to rank-K and full-rank checkpoints; this one is rank "
                f"one, got rank={rank}"
            )
        return None, 1
    if rank is not None and rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    if kind == "lowrank":
        K = int(arrays["M"].shape[-1])
        if rank is None or rank == K:
            return None, K
        if rank > K:
            raise ValueError(
                f"{src}: rank must be <= K = {K} (the rank of M Nmat, M {arrays['M'].shape}), "
                f"got {rank}"
            )
        W = arrays["M"].astype(np.float64) @ arrays["Nmat"].astype(np.float64)
        red = svd_reduce(W, int(rank))
        return red, red.K
    K = min(DEFAULT_RANK, N) if rank is None else int(rank)
    if K > N:
        raise ValueError(f"{src}: rank must be <= N = {N} for a full-rank W, got {rank}")
    red = svd_reduce(arrays["W"], K)
    return red, red.K


# --------------------------------------------------------------------------- checks


def _kind_of(arrays: Mapping[str, np.ndarray], src: str) -> Kind:
    sets = "rank one: m, n, b; rank K: M, Nmat, b; full rank: W, b"
    if not arrays:
        raise ValueError(f"{src} holds no arrays ({sets})")
    present = {
        kind: [k for k in keys if k != "b" and k in arrays] for kind, keys in KEY_SETS.items()
    }
    touched = [kind for kind, keys in present.items() if keys]
    if len(touched) > 1:
        parts = " and ".join(f"{', '.join(present[k])} ({KIND_WORDS[k]})" for k in touched)
        raise ValueError(f"{src} holds arrays of more than one kind: {parts}; keep one kind")
    if not touched:
        got = ", ".join(sorted(arrays))
        raise ValueError(f"{src} holds none of the known key sets ({sets}); got {got}")
    kind = touched[0]
    missing = [k for k in KEY_SETS[kind] if k not in arrays]
    if missing:
        raise ValueError(f"{src} is missing array(s) {', '.join(missing)} ({sets})")
    return kind


class _Shapes:
    """Checks arrays against named dimensions, remembering which array fixed each one."""

    def __init__(self, src: str, snapshot_axis: bool) -> None:
        self.src = src
        self.axis = snapshot_axis
        self.sizes: dict[str, tuple[int, str, tuple[int, ...]]] = {}

    def check(self, name: str, a: np.ndarray, base: Sequence[str]) -> None:
        dims = ("S", *base) if self.axis else tuple(base)
        text = _shape_text(dims)
        if a.ndim != len(dims):
            hint = ""
            if self.axis and a.ndim == len(dims) - 1:
                hint = "; every array needs the leading snapshot axis S when one has it"
            elif not self.axis and a.ndim == len(dims) + 1:
                hint = "; no array may have a snapshot axis when the weights have none"
            raise ValueError(
                f"{self.src}: array {name} must have shape {text}, got {a.shape}{hint}"
            )
        for d, n in zip(dims, a.shape, strict=True):
            known = self.sizes.setdefault(d, (int(n), name, a.shape))
            if known[0] != n:
                origin = "its own shape" if known[1] == name else f"{known[1]} {known[2]}"
                raise ValueError(
                    f"{self.src}: array {name} must have shape {text} with {d} = {known[0]} "
                    f"(from {origin}), got {a.shape}"
                )

    def per_snapshot(self, name: str, a: np.ndarray) -> np.ndarray:
        """A scalar per snapshot: ``[S]`` (or ``[]``/``[1]`` without the axis)."""
        S = self.sizes["S"][0] if self.axis else 1
        flat = a.reshape(-1)
        if flat.size != S or (self.axis and a.ndim != 1):
            lead = self.sizes["N"]
            raise ValueError(
                f"{self.src}: array {name} must have one entry per snapshot (S = {S}, from "
                f"{lead[1]} {lead[2]}), got shape {a.shape}"
            )
        return flat


def _check_numeric(src: str, arrays: Mapping[str, np.ndarray]) -> None:
    for name, a in arrays.items():
        if a.dtype.kind not in "fiu":
            raise ValueError(f"{src}: array {name} must hold numbers, got dtype {a.dtype}")


def _check_finite(src: str, name: str, a: np.ndarray) -> None:
    if a.dtype.kind != "f":
        return
    ok = np.isfinite(a)
    if ok.all():
        return
    bad = np.argwhere(~ok)
    first = tuple(int(i) for i in bad[0])
    value = a[first] if first else a
    raise ValueError(
        f"{src}: array {name} must be finite, got {len(bad)} non-finite value(s) in shape "
        f"{a.shape}, the first {value} at index {list(first)}"
    )


def _check_keys(src: str, arrays: Mapping[str, np.ndarray]) -> Kind:
    """The kind of ``arrays``, after checking that every key is known and numeric."""
    kind = _kind_of(arrays, src)
    unknown = [k for k in arrays if k not in SCHEMA_KEYS]
    if unknown:
        raise ValueError(
            f"{src}: unknown array(s) {', '.join(sorted(unknown))}; a checkpoint holds "
            f"{', '.join(SCHEMA_KEYS)}"
        )
    _check_numeric(src, arrays)
    return kind


def _check_weights(src: str, arrays: Mapping[str, np.ndarray], kind: Kind) -> _Shapes:
    """Check the shapes of the weights (snapshot axis or not, sizes agreeing) and that
    they are finite; the returned shapes know ``S`` (with the axis), ``N`` and the rest."""
    lead = KEY_SETS[kind][0]
    base = _WEIGHT_DIMS[lead]
    a0 = arrays[lead]
    if a0.ndim not in (len(base), len(base) + 1):
        raise ValueError(
            f"{src}: array {lead} must have shape {_shape_text(('S', *base))}, got {a0.shape}; "
            f"a single snapshot may also be given as {_shape_text(base)}"
        )
    axis = a0.ndim == len(base) + 1
    shapes = _Shapes(src, axis)
    if kind == "full" and a0.shape[-1] != a0.shape[-2]:
        dims = _shape_text(("S", "N", "N") if axis else ("N", "N"))
        raise ValueError(f"{src}: array W must be square, shape {dims}, got {a0.shape}")
    for name in KEY_SETS[kind]:
        shapes.check(name, arrays[name], _WEIGHT_DIMS[name])
    S = shapes.sizes["S"][0] if axis else 1
    N = shapes.sizes["N"][0]
    if S == 0 or N == 0 or ("K" in shapes.sizes and shapes.sizes["K"][0] == 0):
        raise ValueError(f"{src}: the snapshots are empty (shape {a0.shape})")
    _check_optional_shapes(arrays, shapes)
    for name in _weights_of(arrays, kind):
        _check_finite(src, name, arrays[name])
    return shapes


def _check_optional_shapes(arrays: Mapping[str, np.ndarray], shapes: _Shapes) -> None:
    """``W_in`` [N, n_in]; ``w_out`` [N] with ``b_out`` [] or [n_out, N] with [n_out]."""
    axis = shapes.axis
    if "W_in" in arrays:
        shapes.check("W_in", arrays["W_in"], ("N", "n_in"))
    if "w_out" in arrays:
        w = arrays["w_out"]
        with_out = w.ndim == (3 if axis else 2)
        shapes.check("w_out", w, ("n_out", "N") if with_out else ("N",))
        if "b_out" in arrays:
            shapes.check("b_out", arrays["b_out"], ("n_out",) if with_out else ())
    elif "b_out" in arrays:
        b_out = arrays["b_out"]
        shapes.check("b_out", b_out, ("n_out",) if b_out.ndim == (2 if axis else 1) else ())


def _weights_of(arrays: Mapping[str, np.ndarray], kind: Kind) -> list[str]:
    return [k for k in (*KEY_SETS[kind], *OPTIONAL_WEIGHTS) if k in arrays]


def _check_n_in(
    src: str, arrays: Mapping[str, np.ndarray], n_in: int | None, axis: bool
) -> int | None:
    """The input channels of ``W_in`` (None without), checked against ``n_in``."""
    got_in = int(arrays["W_in"].shape[-1]) if "W_in" in arrays else None
    if n_in is None:
        return got_in
    if isinstance(n_in, bool) or not isinstance(n_in, (int, np.integer)) or n_in < 0:
        raise ValueError(f"n_in must be an integer >= 0, got {n_in!r}")
    if got_in is None and n_in > 0:
        raise ValueError(f"{src}: n_in = {n_in} was given but the checkpoint has no array W_in")
    if got_in is not None and got_in != n_in:
        dims = _shape_text(("S", "N", "n_in") if axis else ("N", "n_in"))
        raise ValueError(
            f"{src}: n_in = {n_in} was given but array W_in has shape {dims} = "
            f"{arrays['W_in'].shape}, i.e. n_in = {got_in}"
        )
    return got_in


def _epochs_of(src: str, arrays: Mapping[str, np.ndarray], shapes: _Shapes, S: int) -> np.ndarray:
    """``[S]`` the snapshot epochs, finite and strictly increasing (default ``0 .. S-1``)."""
    if "epoch" not in arrays:
        return np.arange(S, dtype=np.float64)
    epochs = shapes.per_snapshot("epoch", arrays["epoch"]).astype(np.float64)
    if not np.all(np.isfinite(epochs)):
        raise ValueError(f"{src}: array epoch must be finite, got {epochs.tolist()}")
    if epochs.size > 1 and np.any(np.diff(epochs) <= 0):
        raise ValueError(f"{src}: array epoch must be strictly increasing, got {_preview(epochs)}")
    return epochs


def _d_of(src: str, arrays: Mapping[str, np.ndarray], shapes: _Shapes) -> float | None:
    """``D`` (one number for every snapshot, in (0, 1]), or None without it."""
    if "D" not in arrays:
        return None
    d_arr = arrays["D"]
    d = (d_arr.reshape(1) if d_arr.ndim == 0 else shapes.per_snapshot("D", d_arr)).astype(
        np.float64
    )
    if np.any(d != d[0]):
        raise ValueError(f"{src}: array D must be the same for every snapshot, got {_preview(d)}")
    D = float(d[0])
    if not 0 < D <= 1:
        raise ValueError(f"{src}: array D (dt / tau) must be in (0, 1], got {D}")
    return D


def _metrics_of(
    src: str, arrays: Mapping[str, np.ndarray], shapes: _Shapes, epochs: np.ndarray, axis: bool
) -> tuple[np.ndarray | None, dict[str, np.ndarray], np.ndarray | None]:
    """``(losses [S] or None, metric curves, their epochs)``."""
    S = epochs.size
    named = {k: arrays[k] for k in ("loss", "grad_norm", "accuracy", "loss_epoch") if k in arrays}
    if "loss" not in named:
        if named:
            raise ValueError(
                f"{src}: array {next(iter(named))} needs array loss (the metrics are "
                "analysed together)"
            )
        return None, {}, None
    loss = named["loss"]
    per_snapshot = "loss_epoch" not in named and (
        (axis and loss.shape == (S,)) or (not axis and loss.size == 1 and loss.ndim <= 1)
    )
    if per_snapshot:
        out = {k: shapes.per_snapshot(k, v).astype(np.float64) for k, v in named.items()}
        return out["loss"], out, epochs
    for name, v in named.items():
        if v.ndim != 1:
            raise ValueError(f"{src}: array {name} must be 1-D, got shape {v.shape}")
    E = loss.size
    for name in ("grad_norm", "accuracy", "loss_epoch"):
        if name in named and named[name].size != E:
            raise ValueError(
                f"{src}: array {name} must have one entry per loss value ({E}), got shape "
                f"{named[name].shape}"
            )
    out = {k: v.astype(np.float64) for k, v in named.items() if k != "loss_epoch"}
    covered = (
        named["loss_epoch"].astype(np.float64)
        if "loss_epoch" in named
        else np.arange(E, dtype=np.float64)
    )
    if covered.size and (epochs.min() < covered.min() or epochs.max() > covered.max()):
        raise ValueError(
            f"{src}: loss covers epochs {covered.min():g}..{covered.max():g} but the "
            f"snapshots span epochs {epochs.min():g}..{epochs.max():g}; give loss one "
            "entry per epoch, or its epochs in loss_epoch"
        )
    return None, out, covered


# --------------------------------------------------------------------------- from arrays


def checkpoint_from_arrays(
    arrays: Mapping[str, Any],
    *,
    rank: int | None = None,
    n_in: int | None = None,
    source: str = "arrays",
) -> Checkpoint:
    """Check arrays against the schema and return the :class:`Checkpoint`.

    Args:
        arrays: name -> array, the keys of the schema (module doc, ``docs/checkpoints.md``).
        rank: latent dimensions to analyse: for a full-rank ``W`` the leading singular
            directions kept (default ``min(DEFAULT_RANK, N)``, i.e. 2); for rank K at most
            ``K`` (default ``K``, the exact factors); rank one: 1 (or None).
        n_in: input channels the network must have (checked against ``W_in``).
        source: a name for the messages (e.g. the file's path).

    Returns:
        :class:`Checkpoint`.

    Raises:
        ValueError: one line naming the array and the shapes when the arrays are not a
            checkpoint: no known key set, an unknown key, shapes that disagree, non-numeric
            or non-finite weights, epochs that do not increase, ``D`` outside (0, 1], an
            ``n_in`` other than ``W_in``'s, a loss curve that does not cover the snapshots.
    """
    src = str(source)
    arrays = {str(k): np.asarray(v) for k, v in arrays.items()}
    kind = _check_keys(src, arrays)
    shapes = _check_weights(src, arrays, kind)
    axis = shapes.axis
    S = shapes.sizes["S"][0] if axis else 1
    N = shapes.sizes["N"][0]
    got_in = _check_n_in(src, arrays, n_in, axis)
    epochs = _epochs_of(src, arrays, shapes, S)
    D = _d_of(src, arrays, shapes)
    losses, metrics, metric_epochs = _metrics_of(src, arrays, shapes, epochs, axis)
    # Views: the caller's arrays stay writeable, the checkpoint's are read-only.
    stored = {k: arrays[k].view() if axis else arrays[k][None] for k in _weights_of(arrays, kind)}
    for a in stored.values():
        a.flags.writeable = False
    svd, K = _reduction(kind, stored, rank, N, src)
    return Checkpoint(
        kind=kind,
        arrays=types.MappingProxyType(stored),
        N=N,
        K=K,
        epochs=epochs,
        losses=losses,
        D=D,
        n_in=got_in,
        svd=svd,
        metrics=types.MappingProxyType(metrics),
        metric_epochs=metric_epochs,
        source=src,
    )
