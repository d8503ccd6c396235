"""Checkpoints of networks trained anywhere: one schema, one reader, one converter.

A checkpoint is an ``.npz`` (``numpy.savez``) or ``.safetensors`` file of plain arrays,
one entry per parameter, each with or without a leading snapshot axis ``S`` (never a
pickle). The network is the Euler step of ``tau dx/dt = -x + tanh(W x + W_in u + b)``::

    x <- (1 - D) x + D tanh(W x + W_in u + b),

with ``W`` acting on column vectors ``x`` ``[N]`` (the column convention of
:mod:`ghostlearn.rnn`), written in one of three ways:

- ``rank1``: ``m`` [N], ``n`` [N], ``b`` [N]; ``W = m n^T``;
- ``lowrank``: ``M`` [N, K], ``Nmat`` [K, N], ``b`` [N]; ``W = M Nmat``;
- ``full``: ``W`` [N, N], ``b`` [N].

Optional for every kind: ``W_in`` [N, n_in], ``w_out`` [N] or [n_out, N] and ``b_out``
[] or [n_out] (readout ``w_out x + b_out``), ``epoch`` [] (the snapshot's epoch),
``loss`` [] (its loss) and ``D`` [] (``dt / tau``, the same for every snapshot). With the
snapshot axis every array gains a leading ``S`` (``m`` [S, N], ``epoch`` [S], ...). Per-epoch
training curves may come as well: ``loss`` [E] (any length other than ``S``),
``grad_norm`` [E] and ``accuracy`` [E] at the epochs ``loss_epoch`` [E] (default
``0 .. E-1``).

- :func:`read_checkpoint` reads and checks a file and returns a :class:`Checkpoint`
  (:func:`checkpoint_from_arrays` does the same for arrays in memory);
- a full-rank ``W`` is analysed through its leading ``K`` singular directions,
  ``W ~ U_K S_K V_K^T``, ``M = U_K S_K``, ``Nmat = V_K^T`` (:func:`svd_reduce`), with the
  share of the spectrum it leaves out reported;
- :func:`load_state_dicts` and :func:`convert_state_dicts` turn PyTorch state_dicts
  (``torch.load(..., weights_only=True)``), ``.safetensors`` or ``.npz`` files into the
  schema, :func:`write_checkpoint` writes it atomically;
- :func:`task_metrics` scores snapshots on the delayed-activation task and
  :func:`analyze_checkpoint` runs the latent-circuit analysis of
  :mod:`ghostlearn.analysis` on a checkpoint.

The schema, the conventions and the converter's names are documented in
``docs/checkpoints.md``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = [
    "DEFAULT_NAMES",
    "DEFAULT_RANK",
    "KEY_SETS",
    "KINDS",
    "NOT_DETERMINABLE",
    "ROW_DEFAULT_NAMES",
    "SCHEMA_KEYS",
    "Checkpoint",
    "Conversion",
    "SVDReduction",
    "analyze_checkpoint",
    "checkpoint_from_arrays",
    "checkpoint_input",
    "convert_state_dicts",
    "load_state_dicts",
    "read_checkpoint",
    "svd_reduce",
    "task_metrics",
    "write_checkpoint",
]

Kind = Literal["rank1", "lowrank", "full"]
KINDS: tuple[str, ...] = ("rank1", "lowrank", "full")

#: The arrays that make each kind of checkpoint.
KEY_SETS: dict[Kind, tuple[str, ...]] = {
    "rank1": ("m", "n", "b"),
    "lowrank": ("M", "Nmat", "b"),
    "full": ("W", "b"),
}
_KIND_WORDS = {"rank1": "rank one", "lowrank": "rank K", "full": "full rank"}
_WEIGHTS_OPTIONAL = ("W_in", "w_out", "b_out")
_METRICS = ("loss", "grad_norm", "accuracy", "loss_epoch")

#: Every key a checkpoint may hold.
SCHEMA_KEYS: tuple[str, ...] = (
    "m", "n", "b", "M", "Nmat", "W", *_WEIGHTS_OPTIONAL, "epoch", "D", *_METRICS,
)  # fmt: skip

# The abrupt-drop detector of the analysis needs the loss at this many epochs.
_MIN_LOSS_POINTS = 3
#: The verdict of an analysis that cannot look for abrupt drops (too few epochs of loss).
NOT_DETERMINABLE = "not-determinable"

#: Latent dimensions kept of a full-rank ``W`` unless told otherwise (at most ``N``).
DEFAULT_RANK = 2

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
_CONVERTED = ("m", "n", "b", "M", "Nmat", "W", *_WEIGHTS_OPTIONAL, "epoch", "loss", "D")


def _shape_text(dims: Sequence[str]) -> str:
    return "[" + ", ".join(dims) + "]"


# --------------------------------------------------------------------------- SVD


@dataclasses.dataclass(frozen=True, eq=False)
class SVDReduction:
    """The leading ``K`` singular directions of ``W`` at every snapshot.

    ``W = U diag(s) V^T`` (singular values descending); the reduction keeps
    ``W_K = U_K diag(s_K) V_K^T = M Nmat`` with ``M = U_K diag(s_K)`` and ``Nmat = V_K^T``,
    the best rank-``K`` approximation of ``W`` (Eckart-Young). The sign of each pair
    ``(u_k, v_k)`` (free in an SVD) is fixed so that the largest entry of ``v_k`` is positive
    at the first snapshot and ``v_k`` turns by less than 90 degrees from one snapshot to the
    next, so the latent coordinates ``kappa = Nmat x`` do not flip between snapshots.

    Attributes:
        K: directions kept.
        M: ``[S, N, K]`` float64, ``U_K diag(s_K)``.
        Nmat: ``[S, K, N]`` float64, ``V_K^T``.
        singular_values: ``[S, N]`` every singular value, descending.
        discarded_share: ``[S]`` ``sum_{i > K} s_i^2 / sum_i s_i^2``, the share of the
            spectrum left out, equal to ``||W - W_K||_F^2 / ||W||_F^2`` (0 for ``W = 0``).
    """

    K: int
    M: np.ndarray
    Nmat: np.ndarray
    singular_values: np.ndarray
    discarded_share: np.ndarray

    @property
    def max_discarded_share(self) -> float:
        """The largest discarded share over the snapshots."""
        return float(np.max(self.discarded_share))


def svd_reduce(W: Any, K: int) -> SVDReduction:
    """Leading-``K`` singular directions of ``W`` (see :class:`SVDReduction`).

    Args:
        W: ``[S, N, N]`` (or ``[N, N]``, one snapshot) recurrent weights, column
            convention.
        K: directions kept, ``1 <= K <= N``.

    Returns:
        :class:`SVDReduction` computed in float64.

    Raises:
        ValueError: on a ``W`` that is not a finite stack of square matrices, or a bad ``K``.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 2:
        W = W[None]
    if W.ndim != 3 or W.shape[1] != W.shape[2] or W.shape[1] == 0:
        raise ValueError(f"W must have shape [S, N, N] or [N, N], got {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W must be finite")
    N = W.shape[1]
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or not 1 <= K <= N:
        raise ValueError(f"rank must be an integer in 1..N = {N}, got {K!r}")
    K = int(K)
    U, s, Vt = np.linalg.svd(W)
    U, Vt = U[..., :K].copy(), Vt[..., :K, :].copy()
    S = W.shape[0]
    for k in range(K):
        v = Vt[:, k, :]
        sign = np.ones(S)
        sign[0] = 1.0 if v[0, np.argmax(np.abs(v[0]))] >= 0 else -1.0
        for i in range(1, S):
            sign[i] = 1.0 if float(v[i] @ v[i - 1]) * sign[i - 1] >= 0 else -1.0
        U[:, :, k] *= sign[:, None]
        Vt[:, k, :] *= sign[:, None]
    total = np.sum(s * s, axis=-1)
    kept = np.sum(s[:, :K] ** 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, np.maximum(total - kept, 0.0) / total, 0.0)
    return SVDReduction(
        K=K, M=U * s[:, None, :K], Nmat=Vt, singular_values=s, discarded_share=share
    )


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


def _kind_of(arrays: Mapping[str, np.ndarray], src: str) -> Kind:
    sets = "rank one: m, n, b; rank K: M, Nmat, b; full rank: W, b"
    if not arrays:
        raise ValueError(f"{src} holds no arrays ({sets})")
    present = {
        kind: [k for k in keys if k != "b" and k in arrays] for kind, keys in KEY_SETS.items()
    }
    touched = [kind for kind, keys in present.items() if keys]
    if len(touched) > 1:
        parts = " and ".join(f"{', '.join(present[k])} ({_KIND_WORDS[k]})" for k in touched)
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
    kind = _kind_of(arrays, src)
    unknown = [k for k in arrays if k not in SCHEMA_KEYS]
    if unknown:
        raise ValueError(
            f"{src}: unknown array(s) {', '.join(sorted(unknown))}; a checkpoint holds "
            f"{', '.join(SCHEMA_KEYS)}"
        )
    _check_numeric(src, arrays)
    lead = KEY_SETS[kind][0]
    base = {"m": ("N",), "M": ("N", "K"), "W": ("N", "N")}[lead]
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
    weight_dims = {
        "m": ("N",), "n": ("N",), "b": ("N",), "M": ("N", "K"), "Nmat": ("K", "N"),
        "W": ("N", "N"),
    }  # fmt: skip
    for name in KEY_SETS[kind]:
        shapes.check(name, arrays[name], weight_dims[name])
    S = shapes.sizes["S"][0] if axis else 1
    N = shapes.sizes["N"][0]
    if S == 0 or N == 0 or ("K" in shapes.sizes and shapes.sizes["K"][0] == 0):
        raise ValueError(f"{src}: the snapshots are empty (shape {a0.shape})")
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
    weights = [k for k in (*KEY_SETS[kind], *_WEIGHTS_OPTIONAL) if k in arrays]
    for name in weights:
        _check_finite(src, name, arrays[name])

    got_in = int(arrays["W_in"].shape[-1]) if "W_in" in arrays else None
    if n_in is not None:
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

    if "epoch" in arrays:
        epochs = shapes.per_snapshot("epoch", arrays["epoch"]).astype(np.float64)
        if not np.all(np.isfinite(epochs)):
            raise ValueError(f"{src}: array epoch must be finite, got {epochs.tolist()}")
        if epochs.size > 1 and np.any(np.diff(epochs) <= 0):
            raise ValueError(
                f"{src}: array epoch must be strictly increasing, got {_preview(epochs)}"
            )
    else:
        epochs = np.arange(S, dtype=np.float64)

    D = None
    if "D" in arrays:
        d_arr = arrays["D"]
        d = (d_arr.reshape(1) if d_arr.ndim == 0 else shapes.per_snapshot("D", d_arr)).astype(
            np.float64
        )
        if np.any(d != d[0]):
            raise ValueError(
                f"{src}: array D must be the same for every snapshot, got {_preview(d)}"
            )
        D = float(d[0])
        if not 0 < D <= 1:
            raise ValueError(f"{src}: array D (dt / tau) must be in (0, 1], got {D}")

    losses, metrics, metric_epochs = _metrics_of(src, arrays, shapes, epochs, axis)
    # Views: the caller's arrays stay writeable, the checkpoint's are read-only.
    stored = {k: arrays[k].view() if axis else arrays[k][None] for k in weights}
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


def _preview(a: np.ndarray, n: int = 6) -> str:
    values = ", ".join(f"{v:g}" for v in a[:n])
    return f"[{values}{', ...' if a.size > n else ''}]"


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


# --------------------------------------------------------------------------- reading files

_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".tar")


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
        from .store import read_npz

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
        rank: latent dimensions analysed (see :func:`checkpoint_from_arrays`; full rank
            defaults to 2 singular directions).
        n_in: input channels the network must have (checked against ``W_in``).

    Returns:
        :class:`Checkpoint`.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: one line naming the file, the array and the shapes when the file is
            empty, not an ``.npz``/``.safetensors`` file, a pickle or a PyTorch file, or
            its arrays are not a checkpoint (see :func:`checkpoint_from_arrays`).
    """
    p = _existing_file(path)
    return checkpoint_from_arrays(_read_arrays(p), rank=rank, n_in=n_in, source=str(p))


# --------------------------------------------------------------------------- state_dicts


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 300 else text[:297] + "..."


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


def _flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
            continue
        arr = _to_numpy(value)
        if arr is not None:
            out[name] = arr
    return out


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
        from .store import read_npz

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
        flat = _flatten(item)
        if not flat:
            raise ValueError(f"{p} holds a dict without tensors or numbers")
        out.append(flat)
    if not out:
        raise ValueError(f"{p} holds an empty list: no state_dict")
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class Conversion:
    """What :func:`convert_state_dicts` made.

    Attributes:
        arrays: the checkpoint's arrays, each with a leading snapshot axis (``D`` a
            scalar), ready for :func:`write_checkpoint`.
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


def _match(names: Sequence[str], wanted: str) -> list[str]:
    if wanted in names:
        return [wanted]
    return [n for n in names if n.endswith("." + wanted)]


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
                shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
                raise ValueError(f"--map {key}={expr}: no entry {part!r}; the entries are {shown}")
            return None
        found.append(hits[0])
    return found


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
            :func:`load_state_dicts`; torch tensors are accepted as values).
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
            checkpoint (see :func:`checkpoint_from_arrays`).
    """
    if not state_dicts:
        raise ValueError("no state_dict to convert")
    mapping = dict(mapping or {})
    for key in mapping:
        if key not in _CONVERTED:
            raise ValueError(f"--map key must be one of {', '.join(_CONVERTED)}, got {key!r}")
    dicts = [_flatten(sd) for sd in state_dicts]
    names = list(dicts[0])
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
    kinds = [k for k, keys in KEY_SETS.items() if all(x in chosen for x in keys if x != "b")]
    if len(kinds) > 1:
        got = "; ".join(
            f"{_KIND_WORDS[k]}: "
            + ", ".join(f"{x}={'+'.join(chosen[x])}" for x in KEY_SETS[k] if x in chosen)
            for k in kinds
        )
        raise ValueError(
            f"{source}: the entries fit more than one kind ({got}); name the weights with --map"
        )
    if not kinds:
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise ValueError(
            f"{source}: no recurrent weights found among the entries {shown}; name them with "
            "--map, e.g. --map W=rnn.weight_hh_l0 (full rank), --map M=... --map Nmat=... "
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

    per_key: dict[str, list[np.ndarray]] = {}
    for key, parts in chosen.items():
        values = []
        for i, sd in enumerate(dicts):
            terms: list[np.ndarray] = []
            for part in parts:
                if part not in sd:
                    raise ValueError(
                        f"{source}: snapshot {i} has no entry {part!r} (for {key}), which "
                        "snapshot 0 has"
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
    S = len(dicts)
    if zero_bias:
        lead = per_key[KEY_SETS[kind][0]][0]
        n_units = lead.shape[0] if lead.ndim else 0
        per_key["b"] = [np.zeros(n_units, dtype=lead.dtype)] * S

    # Epochs: the argument, else the entries; snapshots sorted by them.
    order = list(range(S))
    ep: np.ndarray | None = None
    if epochs is not None:
        ep = np.asarray(list(epochs))
        if ep.shape != (S,):
            raise ValueError(f"epochs must give one epoch per snapshot ({S}), got {ep.size}")
    elif "epoch" in per_key:
        ep = np.asarray([np.asarray(v).reshape(-1)[0] if np.asarray(v).size == 1 else np.nan
                         for v in per_key["epoch"]])  # fmt: skip
        bad = [i for i, v in enumerate(per_key["epoch"]) if np.asarray(v).size != 1]
        if bad:
            raise ValueError(
                f"{source}: the epoch entry must be one number per snapshot, got shape "
                f"{np.asarray(per_key['epoch'][bad[0]]).shape} in snapshot {bad[0]}"
            )
    if ep is not None:
        if ep.dtype.kind == "f" and np.all(np.isfinite(ep)) and np.all(ep == np.round(ep)):
            ep = ep.astype(np.int64)
        order = [int(i) for i in np.argsort(ep, kind="stable")]
        sorted_ep = ep[order]
        dup = np.flatnonzero(np.diff(sorted_ep) == 0)
        if dup.size:
            e = sorted_ep[dup[0]]
            where = [i for i in range(S) if ep[i] == e]
            raise ValueError(
                f"{source}: epoch {e:g} is given to snapshots {where}; epochs must differ"
            )
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
    if ep is not None:
        out["epoch"] = np.ascontiguousarray(ep[order])
    d_value = D
    if d_value is None and "D" in per_key:
        ds = np.asarray([np.asarray(v, dtype=np.float64).reshape(-1) for v in per_key["D"]])
        if ds.size != S or np.any(ds != ds.flat[0]):
            raise ValueError(
                f"{source}: the D entry must be one number, the same in every snapshot, got "
                f"{ds.reshape(-1)[:6].tolist()}"
            )
        d_value = float(ds.flat[0])
    if d_value is not None:
        out["D"] = np.asarray(float(d_value))
    ckpt = checkpoint_from_arrays(out, n_in=n_in, source=source)
    sources = {}
    for key in out:
        if key == "D":
            sources[key] = "given" if D is not None else "+".join(chosen.get("D", ["D"]))
        elif key == "epoch" and epochs is not None:
            sources[key] = "given"
        elif key == "b" and zero_bias:
            sources[key] = "0"
        else:
            text = "+".join(chosen[key])
            if row_convention and key in _MATRICES and out[key].ndim >= 3:
                text += " (transposed)"
            sources[key] = text
    return Conversion(arrays=out, checkpoint=ckpt, sources=sources, order=order)


def write_checkpoint(arrays: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> Path:
    """Write checkpoint arrays to ``path`` (``.npz`` or ``.safetensors``) atomically.

    The file is written beside ``path`` under a temporary name and renamed onto it, so
    ``path`` is either the old file or the complete new one. The arrays are checked
    against the schema first (:func:`checkpoint_from_arrays`).

    Args:
        arrays: name -> array.
        path: ends in ``.npz`` or ``.safetensors``.

    Returns:
        ``path``.

    Raises:
        ValueError: on another suffix, or arrays that are not a checkpoint.
    """
    from .store import atomic_path

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


# --------------------------------------------------------------------------- analysis


def task_metrics(ckpt: Checkpoint, *, c: float = 10.0) -> dict[str, np.ndarray]:
    """Loss and accuracy of every snapshot on the delayed-activation task.

    One trial of the paper's task (:mod:`ghostlearn.task`: 20 + 20 Euler steps from
    ``x(0) = -0.3``, no input) with ``D`` from the checkpoint (default 0.5). The readout is
    the paper's: rank one ``sigmoid(c (n . x - 1))``; rank K and full rank
    ``sigmoid(w_out . x + b_out)`` with the checkpoint's ``w_out`` [N] and ``b_out``. The
    exact network is simulated (a full-rank ``W`` is not reduced), in float64.

    Args:
        ckpt: the checkpoint.
        c: confidence of the rank-one readout.

    Returns:
        ``{"loss": [S], "accuracy": [S]}``.

    Raises:
        ValueError: for a network with inputs (``W_in``) or, for rank K and full rank,
            without a single readout (``w_out`` [N], ``b_out`` []).
    """
    import jax

    from . import task
    from .rnn import RNNConfig, simulate

    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c must be a finite number > 0, got {c}")
    src = ckpt.source
    if ckpt.n_in:
        raise ValueError(
            f"{src} has no loss, and a network with inputs (W_in) cannot be scored on the "
            "delayed-activation task; add array loss"
        )
    D = 0.5 if ckpt.D is None else ckpt.D
    a = ckpt.arrays
    if ckpt.kind == "rank1":
        cfg = RNNConfig(N=ckpt.N, dt=5.0, tau=5.0 / D)
        names: tuple[str, ...] = ("m", "n", "b")
        params = {k: np.asarray(a[k], dtype=np.float64) for k in names}
    else:
        w = a.get("w_out")
        b_out = a.get("b_out")
        if (
            w is None
            or b_out is None
            or w.size != ckpt.n_snapshots * ckpt.N
            or b_out.size != ckpt.n_snapshots
        ):
            raise ValueError(
                f"{src} has no array loss, and no single readout (w_out [N], b_out []) to "
                "score its snapshots on the delayed-activation task; add array loss"
            )
        rank = ckpt.stored_rank if ckpt.kind == "lowrank" else None
        cfg = RNNConfig(model=ckpt.kind, rank=rank, N=ckpt.N, dt=5.0, tau=5.0 / D)
        names = KEY_SETS[ckpt.kind]
        params = {k: np.asarray(a[k], dtype=np.float64) for k in names}
        params["w_out"] = np.asarray(w, dtype=np.float64).reshape(ckpt.n_snapshots, ckpt.N)
        params["b_out"] = np.asarray(b_out, dtype=np.float64).reshape(ckpt.n_snapshots)
    with jax.enable_x64(True):
        simulated = jax.vmap(lambda p: simulate(p, cfg, c).output)(params)
        out = np.asarray(simulated, dtype=np.float64)
    target = task.targets(cfg, np.float64)
    return {
        "loss": np.asarray(task.loss(out, target), dtype=np.float64),
        "accuracy": np.asarray(task.accuracy(out, target), dtype=np.float64),
    }


def checkpoint_input(ckpt: Checkpoint, u: Any) -> np.ndarray | None:
    """The constant input ``u`` ``[n_in]`` of a network with inputs, checked.

    Args:
        ckpt: the checkpoint.
        u: ``n_in`` numbers (the columns of ``W_in``), or None (no input).

    Returns:
        ``u`` as float64 ``[n_in]``, or None.

    Raises:
        ValueError: when the checkpoint has no ``W_in``, or ``u`` has another length or a
            non-finite entry.
    """
    if u is None:
        return None
    if ckpt.n_in is None:
        raise ValueError(
            f"{ckpt.source}: an input u is given but the checkpoint has no array W_in "
            "(a network without inputs)"
        )
    try:
        arr = np.asarray(u, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"u must be {ckpt.n_in} numbers, got {u!r}") from None
    if arr.ndim != 1 or arr.size != ckpt.n_in:
        raise ValueError(
            f"u must have n_in = {ckpt.n_in} entries (the columns of W_in), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"u must be finite, got {arr.tolist()}")
    return arr


def _analysis_metrics(
    ckpt: Checkpoint, c: float
) -> tuple[dict[str, np.ndarray], np.ndarray, str | None]:
    """``(metrics, their epochs, why drops cannot be looked for or None)``: the
    checkpoint's metrics, else the snapshots scored on the delayed-activation task, else
    none (a network that cannot be scored)."""
    if ckpt.metrics:
        metrics, epochs = dict(ckpt.metrics), np.asarray(ckpt.metric_epochs, dtype=np.float64)
    else:
        try:
            metrics, epochs = task_metrics(ckpt, c=c), ckpt.epochs
        except ValueError as err:
            return {}, np.zeros(0), f"no loss to look for drops ({err})"
    n = metrics["loss"].size
    if n < _MIN_LOSS_POINTS:
        return (
            metrics,
            epochs,
            (
                f"too few epochs to look for drops: the loss is known at {n} epoch(s), the "
                f"drop detector needs {_MIN_LOSS_POINTS}"
            ),
        )
    return metrics, epochs, None


def _snapshot_points(
    ckpt: Checkpoint,
    u: np.ndarray | None,
    box: tuple[float, float],
    *,
    tau: float,
    ghost_tol: float,
    n_grid: int,
    method: Literal["screen", "grid"],
    n_starts: int,
    seed: int,
    seed_grid: int | None,
) -> tuple[Any, Any, dict[str, Any]]:
    """``(flow, points, settings)`` of every snapshot: the exact 1-D finder for rank one
    (or rank K reduced to one direction, the input shifting the bias), the slow-point
    finder with continuation for K >= 2."""
    from .analysis import LowRankFlow, Rank1Flow, find_points, find_slow_points_along
    from .analysis.slowpoints import default_grid

    M, Nmat, b = ckpt.latent_weights()
    W_in = ckpt.arrays.get("W_in") if u is not None else None
    flow: Any = LowRankFlow(M, Nmat, b, W_in, u)
    settings: dict[str, Any] = {"tau": tau, "ghost_tol": ghost_tol}
    if u is not None:
        settings["u"] = u.tolist()
    if flow.rank == 1:
        flow = Rank1Flow(flow.M[..., 0], flow.Nmat[..., 0, :], flow.drive)
        found = find_points(
            flow, interval=box, n_grid=n_grid, tau=tau, ghost_tol=ghost_tol, method=method
        )
        return flow, found, settings | {"n_grid": n_grid, "method": method}
    points = find_slow_points_along(
        flow, box=box, ghost_tol=ghost_tol, n_starts=n_starts, seed=seed, tau=tau,
        n_grid=seed_grid,
    )  # fmt: skip
    grid = default_grid(flow.rank) if seed_grid is None else int(seed_grid)
    return flow, points, settings | {"n_starts": n_starts, "seed": seed, "seed_grid": grid}


def _points_only(
    ckpt: Checkpoint,
    u: np.ndarray | None,
    metrics: Mapping[str, np.ndarray],
    loss_epochs: np.ndarray,
    why: str,
    *,
    interval: tuple[float, float],
    tau: float = 10.0,
    ghost_tol: float | None = None,
    n_grid: int = 1000,
    method: Literal["screen", "grid"] = "screen",
    n_starts: int = 4,
    seed: int = 0,
    seed_grid: int | None = None,
    max_jump: float | None = None,
    detector: Any = None,
    rules: Any = None,
) -> Any:
    """Fixed points, ghosts, tracks and bifurcations of the snapshots, without drops: a
    :class:`~ghostlearn.analysis.RunAnalysis` whose verdict is :data:`NOT_DETERMINABLE`
    (``why``). ``detector`` and ``rules`` are accepted and unused (nothing to detect)."""
    from ._validate import interval as check_interval
    from ._validate import positive
    from .analysis import (
        GHOST_TOL,
        FlowPoints,
        RunAnalysis,
        Verdict,
        find_bifurcations,
        ghost_events,
        track_points,
    )

    check_interval("interval", interval)
    positive("tau", tau)
    lo, hi = (float(v) for v in interval)
    jump = 0.05 * (hi - lo) if max_jump is None else float(max_jump)
    positive("max_jump", jump)
    flow, points, settings = _snapshot_points(
        ckpt, u, (lo, hi), tau=tau, ghost_tol=GHOST_TOL if ghost_tol is None else ghost_tol,
        n_grid=n_grid, method=method, n_starts=n_starts, seed=seed, seed_grid=seed_grid,
    )  # fmt: skip
    if isinstance(points, FlowPoints):
        fk, fkinds = points.fixed_kappa, points.fixed_kinds
        gk, gkinds, gdepth = points.ghost_kappa, points.ghost_kinds, points.ghost_depth
    else:
        fk, fkinds = points.fixed()
        gk, gkinds, gdepth = points.ghosts()
    epochs = ckpt.epochs
    ghost_tracks = track_points(epochs, gk, gkinds, depth=gdepth, category="ghost", max_jump=jump)
    bifs = find_bifurcations(epochs, fk, fkinds, interval=(lo, hi), max_jump=jump)
    grad, acc = metrics.get("grad_norm"), metrics.get("accuracy")
    return RunAnalysis(
        model="rank1" if isinstance(points, FlowPoints) else "lowrank",
        snapshot_epochs=epochs,
        points=points,
        flow=flow,
        fixed_tracks=track_points(epochs, fk, fkinds, category="fixed", max_jump=jump),
        ghost_tracks=ghost_tracks,
        bifurcations=bifs,
        ghost_events=ghost_events(epochs, ghost_tracks, bifs, max_jump=jump),
        drops=[],
        verdict=Verdict(label=NOT_DETERMINABLE, reason=why),
        loss_epochs=np.asarray(loss_epochs, dtype=np.float64),
        loss=np.asarray(metrics.get("loss", np.zeros(0)), dtype=np.float64),
        grad_norm=None if grad is None else np.asarray(grad, dtype=np.float64),
        accuracy=None if acc is None else np.asarray(acc, dtype=np.float64),
        settings=settings | {"interval": [lo, hi], "max_jump": jump},
    )


def analyze_checkpoint(
    ckpt: Checkpoint,
    *,
    c: float = 10.0,
    interval: tuple[float, float] = (-15.0, 15.0),
    u: Any = None,
    **kwargs: Any,
) -> Any:
    """Fixed points, ghosts, bifurcations and abrupt drops of a checkpoint's snapshots.

    The latent flow ``tau dkappa/dt = -kappa + Nmat tanh(M kappa + W_in u + b)`` of
    :meth:`Checkpoint.latent_weights` (the autonomous flow, ``u = 0``, unless an input
    ``u`` is given) goes to :func:`ghostlearn.analysis.analyze_run` (rank one) or
    :func:`ghostlearn.analysis.analyze_run_lowrank` (rank K, full rank through its
    leading singular directions, and rank one under an input). The metrics are the
    checkpoint's; without a loss the snapshots are scored on the delayed-activation task
    (:func:`task_metrics`).

    With the loss at fewer than 3 epochs (a single snapshot, say), or no loss and
    snapshots that cannot be scored (inputs, no readout), abrupt drops cannot be looked
    for: the fixed points (with their stability classes), ghosts, tracks and bifurcations
    of the snapshots are found all the same, ``drops`` is empty and the verdict is
    :data:`NOT_DETERMINABLE`, its reason saying why ("too few epochs to look for drops").

    Args:
        ckpt: the checkpoint.
        c: confidence of the rank-one readout when scoring.
        interval: the interval (rank one) or box (rank K) of kappa searched.
        u: the constant input ``[n_in]`` of a network with inputs (:func:`checkpoint_input`).
        **kwargs: further settings of the analysis entry point (``tau``, ``ghost_tol``,
            ``n_starts``, ``detector``, ``rules``, ...).

    Returns:
        :class:`ghostlearn.analysis.RunAnalysis`.

    Raises:
        ValueError: on a bad ``u`` (see :func:`checkpoint_input`) or setting.
    """
    from .analysis import analyze_run, analyze_run_lowrank

    u_in = checkpoint_input(ckpt, u)
    metrics, loss_epochs, why = _analysis_metrics(ckpt, c)
    if why is not None:
        return _points_only(ckpt, u_in, metrics, loss_epochs, why, interval=interval, **kwargs)
    common = {
        "accuracy": metrics.get("accuracy"),
        "loss_epochs": loss_epochs,
        "interval": interval,
        **kwargs,
    }
    loss, grad_norm = metrics["loss"], metrics.get("grad_norm")
    if ckpt.kind == "rank1" and u_in is None:
        a = ckpt.arrays
        return analyze_run(ckpt.epochs, a["m"], a["n"], a["b"], loss, grad_norm, **common)
    M, Nmat, b = ckpt.latent_weights()
    W_in = None if u_in is None else ckpt.arrays["W_in"]
    return analyze_run_lowrank(
        ckpt.epochs, M, Nmat, b, loss, grad_norm, W_in=W_in, u=u_in, **common
    )
