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

One job per module, every public name importable from here:

- :mod:`~ghostlearn.checkpoints.schema`: :class:`Checkpoint` and
  :func:`checkpoint_from_arrays`, which checks arrays in memory against the schema;
- :mod:`~ghostlearn.checkpoints.svd`: a full-rank ``W`` is analysed through its leading
  ``K`` singular directions, ``W ~ U_K S_K V_K^T``, ``M = U_K S_K``, ``Nmat = V_K^T``
  (:func:`svd_reduce`), with the share of the spectrum it leaves out reported;
- :mod:`~ghostlearn.checkpoints.convert`: :func:`convert_state_dicts` turns PyTorch
  state_dicts into the schema;
- :mod:`~ghostlearn.checkpoints.files` (the only one that touches the disk):
  :func:`read_checkpoint` reads and checks a file, :func:`load_state_dicts` loads
  state_dicts (``torch.load(..., weights_only=True)``), ``.safetensors`` or ``.npz``
  files, :func:`write_checkpoint` writes the schema atomically;
- :mod:`~ghostlearn.checkpoints.scoring`: :func:`task_metrics` scores snapshots on the
  delayed-activation task;
- :mod:`~ghostlearn.checkpoints.analysis`: :func:`analyze_checkpoint` runs the
  latent-circuit analysis of :mod:`ghostlearn.analysis` on a checkpoint.

The schema, the conventions and the converter's names are documented in
``docs/checkpoints.md``.
"""

from .analysis import NOT_DETERMINABLE, analyze_checkpoint, checkpoint_input
from .convert import DEFAULT_NAMES, ROW_DEFAULT_NAMES, Conversion, convert_state_dicts
from .files import load_state_dicts, read_checkpoint, write_checkpoint
from .schema import (
    DEFAULT_RANK,
    KEY_SETS,
    KINDS,
    SCHEMA_KEYS,
    Checkpoint,
    checkpoint_from_arrays,
)
from .scoring import task_metrics
from .svd import SVDReduction, svd_reduce

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
