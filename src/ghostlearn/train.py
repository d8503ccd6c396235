"""Batched training of RNN populations on a task (by default the delayed-activation task).

One call of :func:`train` trains ``P`` networks that differ in seed, learning rate and
confidence ``c`` in one compiled program:

- ``jax.vmap`` over the networks of a shard, ``jax.shard_map`` over the host's devices
  (on CPU the devices are the ones XLA exposes, see ``--xla_force_host_platform_device_count``);
- ``lax.scan`` over the time steps of a trial (inside :func:`ghostlearn.rnn.loss_and_grad`,
  or :func:`ghostlearn.rnn.run_trial` for the tasks of :mod:`ghostlearn.tasks`);
- ``lax.scan`` over a chunk of epochs; a Python loop runs the chunks, reports progress
  and copies each chunk's metrics to host memory, which bounds device memory for runs of
  hundreds of thousands of epochs.

One epoch is one step of full-batch gradient descent on all the task's conditions
(the single deterministic trial of the delayed-activation task), the public training map
:func:`ghostlearn.step.make_step`:
``theta <- theta - lr * grad L(theta)`` (``optimizer="sgd"``, the default), or an optax
optimizer. Metrics of epoch ``e`` are measured on the parameters *before* that epoch's
update (the parameters after ``e`` updates when the run starts at epoch 0). A stochastic
task (random initial states or noise) draws epoch ``e``'s trials from the network's seed
and ``e`` (:mod:`ghostlearn.tasks.base`), so resumed runs continue the same draws.

Networks never interact: each one is initialised from its own seed, and every reduction
inside a network is a fixed-order sum (:func:`ghostlearn.rnn.fsum`), so a network's
trajectory does not depend on which other networks share its batch, bit for bit (see
:func:`train` for what was tested).

A network whose loss, gradient or updated parameters stop being finite is frozen at its
last finite parameters and flagged (``diverged``, ``diverged_epoch``); its metrics from
``diverged_epoch`` on are NaN. The other networks are unaffected.

The library does not print or touch the disk; :func:`train` returns an
:class:`xarray.Dataset` (save it with :func:`ghostlearn.store.write_zarr`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as PS

from . import __version__, _validate, resources
from .population import Population, grid
from .rnn import INIT_METHODS, Params, RNNConfig, init_params, param_shapes
from .step import (
    METHODS,
    OPTIMIZERS,
    Optimizer,
    StepMetrics,
    TrainState,
    batch_axes,
    check_method,
    check_optimizer,
    check_task,
    is_paper_task,
    make_step,
    optimizer_factory,
    optimizer_label,
)
from .tasks import DelayedActivation, Task, seed_key_data, task_from_dict

__all__ = [
    "METHODS",
    "OPTIMIZERS",
    "Population",
    "TrainConfig",
    "grid",
    "model_from_dataset",
    "params_from_dataset",
    "task_from_dataset",
    "train",
]

Progress = Callable[[int, int], None]

_DEFAULT_C = 10.0
# Networks per vmapped block for the matrix models: small blocks keep each block's
# weights in the core's cache; a fixed block size also fixes every matrix product's shape.
_MATRIX_BLOCK = 10
# Networks per block for the tasks trained by jax.grad (any model): throughput per network
# hardly depends on the block size on CPU, and small blocks waste less on padding.
_TASK_BLOCK = 5
_SNAPSHOT_BUDGET_BYTES = 256 * 2**20


# --------------------------------------------------------------------------------------
# Settings of one run


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Everything that shapes the compiled program (hashable: a cache key)."""

    cfg: RNNConfig
    method: str
    optimizer: Any  # str, GradientTransformation or factory
    snapshot_every: int
    chunk: int
    slots: int
    n_dev: int
    block: int | None
    task: Task


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How a population is trained: everything but who the networks are.

    Attributes:
        epochs: number of epochs (>= 1).
        snapshot_every: record the parameters at the start of every epoch ``e`` with
            ``e % snapshot_every == 0`` (0: no snapshots).
        metrics_every: record the metrics of the epochs ``e`` with ``e % metrics_every == 0``
            only (1: every epoch). Divergence is tracked at every epoch regardless.
        optimizer: ``"sgd"`` (plain gradient descent), another name of :data:`OPTIMIZERS`
            (the optax optimizer of that name with ``learning_rate=lr``), a factory
            ``lr -> optax.GradientTransformation`` (e.g. ``optax.adam`` or
            ``functools.partial(optax.sgd, momentum=0.9)``), or a GradientTransformation.
            The optimizer state always starts fresh.
        init: ``"numpy"``, ``"paper"`` (the authors' PyTorch-seeded weights, computed
            without PyTorch) or ``"torch"`` (the same via PyTorch); see
            :func:`ghostlearn.rnn.init_params`. Tasks with inputs or an explicit readout
            take ``"numpy"`` only.
        dtype: ``"float32"`` or ``"float64"`` (run under ``jax.enable_x64``, locally).
        epoch_offset: number of the first epoch (>= 0), for resumed runs.
        method: ``"fast"`` (hand-derived gradients, :func:`ghostlearn.rnn.loss_and_grad`)
            or ``"autodiff"`` (``jax.grad`` through :func:`ghostlearn.rnn.simulate`);
            ``None``: ``"fast"`` for the paper's task, ``"autodiff"`` for every other task
            (the only method they have).
        chunk: epochs per compiled call (default 1000 for rank1, 200 otherwise; lowered
            if the snapshot buffer would exceed 256 MB).
        devices: number of local JAX devices to split the population over (default all).
        max_memory: refuse runs whose estimated memory
            (:func:`ghostlearn.resources.train_memory`) exceeds this (bytes or a size like
            ``"8GB"``; default: ``GHOSTLEARN_MAX_MEMORY``, else the memory available now).
        early_exit: stop computing networks that have settled or diverged (see
            :func:`train`); never changes a number, ``False`` computes every epoch of
            every network.

    Raises:
        ValueError: a field out of range; the message names the field and its value.
    """

    epochs: int
    snapshot_every: int = 0
    metrics_every: int = 1
    optimizer: Optimizer = "sgd"
    init: str = "numpy"
    dtype: str = "float32"
    epoch_offset: int = 0
    method: Literal["fast", "autodiff"] | None = None
    chunk: int | None = None
    devices: int | None = None
    max_memory: int | str | None = None
    early_exit: bool = True

    def __post_init__(self) -> None:
        _validate.at_least("epochs", self.epochs, 1)
        _validate.at_least("snapshot_every", self.snapshot_every, 0)
        _validate.at_least("metrics_every", self.metrics_every, 1)
        _validate.at_least("epoch_offset", self.epoch_offset, 0)
        for name in ("snapshot_every", "metrics_every"):
            every = getattr(self, name)
            if every >= 2**31 - 1:  # epochs are 32-bit integers in the compiled program
                raise ValueError(f"{name} must be < 2**31 - 1, got {every}")
        end = self.epoch_offset + self.epochs
        if end >= 2**31 - 2:
            raise ValueError(f"epoch_offset + epochs must be < 2**31, got {end}")
        _validate.one_of("init", self.init, INIT_METHODS)
        _validate.one_of("dtype", self.dtype, ("float32", "float64"))
        if self.method is not None:
            _validate.one_of("method", self.method, METHODS)
        object.__setattr__(self, "optimizer", check_optimizer(self.optimizer))
        if self.chunk is not None:
            _validate.at_least("chunk", self.chunk, 1)
        if self.devices is not None:
            _validate.at_least("devices", self.devices, 1)
        if not isinstance(self.early_exit, bool):
            raise ValueError(f"early_exit must be True or False, got {self.early_exit!r}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as stored with a run (the optimizer by name)."""
        out = dataclasses.asdict(self)
        out["optimizer"] = optimizer_label(self.optimizer)
        return out


# --------------------------------------------------------------------------------------
# The compiled program


@functools.lru_cache(maxsize=64)
def _program(plan: _Plan) -> jax.stages.Wrapped:
    """Compile-once function running ``plan.chunk`` epochs of :func:`ghostlearn.step.make_step`
    for a padded population (the epochs from its last argument on, if any, leave the state
    unchanged)."""
    step = make_step(plan.cfg, task=plan.task, optimizer=plan.optimizer, method=plan.method)
    k = plan.snapshot_every

    def population_step(state: TrainState) -> tuple[TrainState, StepMetrics]:
        if plan.block is None:
            axes = batch_axes(state)
            return jax.vmap(step, in_axes=(axes,), out_axes=(axes, 0))(state)
        e = state.epoch
        new, mets = lax.map(
            lambda s: step(s._replace(epoch=e)),
            state._replace(epoch=None),
            batch_size=plan.block,
        )
        return new._replace(epoch=e + 1), mets

    def chunk(state: TrainState, snaps: Any, e_end: Any) -> Any:
        first_slot = (state.epoch + k - 1) // k if k else 0

        def body(carry: Any, _: None) -> Any:
            state, snaps = carry
            e = state.epoch
            if k:
                slot = e // k - first_slot

                def write(bufs: Any) -> Any:
                    return jax.tree.map(lambda buf, v: buf.at[slot].set(v), bufs, state.params)

                snaps = lax.cond(e % k == 0, write, lambda bufs: bufs, snaps)
            new, mets = population_step(state)
            # Epochs from ``e_end`` on (a shorter last chunk) leave the state as it is, so
            # every chunk of a run shares one compiled program.
            state = jax.tree.map(lambda a, b: jnp.where(e < e_end, a, b), new, state)
            return (state, snaps), mets

        (state, snaps), mets = lax.scan(body, (state, snaps), None, length=plan.chunk)
        return state, snaps, mets

    if plan.n_dev > 1:
        mesh = Mesh(np.asarray(jax.local_devices()[: plan.n_dev]), ("net",))
        chunk = jax.shard_map(
            chunk,
            mesh=mesh,
            in_specs=(_state_specs(plan.task), PS(None, "net"), PS()),
            out_specs=(_state_specs(plan.task), PS(None, "net"), PS(None, "net")),
            check_vma=False,
        )
    return jax.jit(chunk, donate_argnums=(0, 1))


def _state_specs(task: Task) -> TrainState:
    """How a population's :class:`TrainState` is split over devices: along the network
    axis, except the shared epoch."""
    net = PS("net")
    return TrainState(net, net, net, net, None if is_paper_task(task) else net, PS(), net, net, net)


# --------------------------------------------------------------------------------------
# train


def train(
    model: RNNConfig,
    population: Population | None = None,
    config: TrainConfig | None = None,
    *,
    task: Task | str | None = None,
    params: Params | None = None,
    progress: Progress | None = None,
    seeds: int | Sequence[int] | np.ndarray | None = None,
    lr: float | Sequence[float] | np.ndarray | None = None,
    c: float | Sequence[float] | np.ndarray | None = None,
    **settings: Any,
) -> xr.Dataset:
    """Train a population of networks with full-batch gradient descent on a task.

    ``seeds``, ``lr`` and ``c`` are scalars or 1-D sequences broadcast against each other
    to one population of ``P`` networks (see :func:`grid` for a cartesian product).
    Network ``i`` starts from ``init_params(model, seeds[i], init=init, dtype=dtype,
    task=task)`` unless ``params`` is given, and is trained for ``epochs`` epochs numbered
    ``epoch_offset .. epoch_offset + epochs - 1``. Each epoch trains on all the task's
    conditions; a stochastic task draws network ``i``'s initial states and noise of
    epoch ``e`` from ``fold_in(PRNGKey(seeds[i]), e)`` (:mod:`ghostlearn.tasks.base`).

    Batch independence: a network's results do not depend on the rest of the population,
    bit for bit. Every sum over units or time is a fixed-order sum (:func:`ghostlearn.rnn.fsum`)
    and every matrix product is one network's own matrix-vector or matrix-matrix product,
    computed the same way whatever ``P``. Tested on CPU for 1 against 3 to 100 networks, one
    against two devices, ``"sgd"`` and ``"adam"``, all three models. (An XLA backend that
    split one product's sums differently by batch size, e.g. some GPU kernels, could break
    this at the last bit; runs would then agree to float32 rounding at epoch 1 and diverge
    later only through the chaos of training, see docs/model.md.) Known exception: splitting a
    population of 16 rank-one networks with different ``c`` over two CPU devices instead of
    one changed the last bit of ``loss``/``grad_norm`` (parameters equal); pass ``devices=1``
    where bit-identical metrics across machines with different core counts matter (sweeps do).
    Tasks other than the paper's run in blocks of 5 networks, at least two blocks per
    device (a lone network is computed with 9 padding copies): their trials' gradients are
    summed in a fixed order (:func:`ghostlearn.rnn.task_loss_and_grad`), and XLA compiles
    a loop over one block differently from a loop over several. Tested on CPU for 1
    against 13 networks with inputs, noise and random initial states.

    Who is trained and how come as two typed objects, a :class:`~ghostlearn.population.Population`
    and a :class:`TrainConfig`, or as keywords that build them:
    ``train(cfg, seeds=range(10), lr=0.01, epochs=6000)`` is
    ``train(cfg, Population(seeds=range(10), lr=0.01), TrainConfig(epochs=6000))``.

    Args:
        model: network configuration.
        population: the networks (seeds, learning rates, confidences); or give ``seeds``,
            ``lr`` and ``c``. ``lr`` must be ``None`` exactly when the optimizer is an
            ``optax.GradientTransformation`` instance (it carries its own rate). ``c`` is
            the rank1 confidence (default 10); with ``model.train_c`` it is the initial
            value of the trained ``c`` (default: ``params["c"]`` when resuming). It must
            be ``None`` for ``"lowrank"`` and ``"full"``, and for a readout other than
            ``"threshold"``. Seeds are labels when ``params`` is given, and the source of
            a stochastic task's draws in any case.
        config: the training settings; or give its fields as keywords (``epochs=...``,
            ``optimizer=...``, see :class:`TrainConfig`).
        task: a :class:`~ghostlearn.tasks.Task`, the name of a built-in one (``"da"``,
            ``"dcdt"``, ``"dmts"``, :data:`ghostlearn.tasks.TASKS`), or ``None`` for the
            paper's delayed-activation task (:class:`~ghostlearn.tasks.DelayedActivation`).
            Tasks other than the paper's are trained with ``jax.grad`` through
            :func:`ghostlearn.rnn.task_loss` (:func:`ghostlearn.rnn.task_loss_and_grad`).
        params: resume from these parameters: a dict of arrays with a leading net axis of
            length ``P`` (e.g. from :func:`params_from_dataset`).
        progress: called as ``progress(0, epochs)`` once the program is compiled (so a
            caller can tell compilation from training), then as
            ``progress(done_epochs, epochs)`` after each chunk.
        seeds, lr, c: the population, as keywords.
        **settings: the fields of :class:`TrainConfig`, as keywords.

    Early exit: a network whose update leaves every parameter and optimizer state
    bit-identical (plain gradient descent with an exactly zero gradient, as networks stuck
    in the no-learning zone reach) is at a fixed point of the training map, so every later
    epoch repeats that one exactly; likewise a diverged network stays frozen. Between
    chunks such networks leave the computed population (once that shrinks it by a quarter)
    and their remaining epochs are filled in; a run whose networks have all settled or
    diverged ends after the chunk in which the last one did. Results are bit-identical to
    ``early_exit=False``. With a stochastic task (``task.stochastic``: random initial
    states or noise) a later epoch does not repeat the last one, so no network ever
    counts as settled; only diverged networks leave.

    Returns:
        Dataset with dims ``net``, ``epoch``, ``snapshot``, ``unit`` (and ``k`` for lowrank,
        ``unit2`` for full); coords ``seed``, ``lr``, ``c``, ``rank`` (per net), ``epoch``,
        ``snapshot``; variables ``loss``, ``accuracy``, ``grad_norm`` (net, epoch),
        ``diverged``, ``diverged_epoch`` (-1 if never) (net), the final parameters (after
        the last update) and, with snapshots, ``snap_<name>`` (net, snapshot, ...); attrs
        ``model`` (the config as a dict), ``task`` (``task.to_dict()``), ``train`` (the
        settings) and ``ghostlearn_version``. The rank1 trained confidence is
        ``c_final``. ``W_in`` has dims (net, unit, input); the latent tanh readout's
        ``w_out`` has dims (net, k) (full rank: (net, unit)).

    Raises:
        ValueError: on bad arguments; the message names the argument and its value.
    """
    if not isinstance(model, RNNConfig):
        raise ValueError(f"model must be an RNNConfig, got {model!r}")
    cfg = model
    config = _config_of(config, settings)
    task = check_task(task, cfg)
    method = check_method(config.method, task)
    optimizer = config.optimizer
    n_avail = len(jax.local_devices())
    if config.devices is not None and config.devices > n_avail:
        raise ValueError(f"devices must be <= {n_avail} (available), got {config.devices}")
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be callable, got {progress!r}")
    population = _population_of(population, seeds, lr, c)
    is_tx = isinstance(optimizer, optax.GradientTransformation)
    if is_tx and population.lr is not None:
        raise ValueError(
            f"lr must be None when optimizer is a GradientTransformation, got "
            f"{_shown(population.lr)}"
        )
    if not is_tx and population.lr is None:
        raise ValueError("lr must be given (> 0), got None")
    if population.c is not None and cfg.model != "rank1":
        raise ValueError(
            f"c applies to model 'rank1' only, got c={_shown(population.c)} for {cfg.model!r}"
        )
    if population.c is not None and task.readout_for(cfg) != "threshold":
        raise ValueError(
            f"c applies to the 'threshold' readout only, got c={_shown(population.c)} for "
            f"readout {task.readout_for(cfg)!r}"
        )
    P = len(population) if params is None else _params_size(params)
    population = population.broadcast(P)
    seed_arr = population.seeds
    lr_arr = np.full(P, np.nan) if population.lr is None else population.lr
    if population.c is not None:
        c_arr = population.c
    elif cfg.model != "rank1" or task.readout_for(cfg) != "threshold":
        c_arr = np.full(P, np.nan)
    elif cfg.train_c and params is not None and "c" in params:
        c_arr = np.asarray(params["c"], dtype=float).reshape(P)
    else:
        c_arr = np.full(P, _DEFAULT_C)
    epochs, dtype = config.epochs, config.dtype
    resources.check_memory(
        f"train of {P:,} networks x {epochs:,} epochs (N={cfg.N}, model {cfg.model!r})",
        resources.train_memory(
            cfg,
            P,
            task=task,
            epochs=epochs,
            snapshot_every=config.snapshot_every,
            metrics_every=config.metrics_every,
            dtype=dtype,
            optimizer=optimizer if isinstance(optimizer, str) else "adam",
        ),
        config.max_memory,
    )

    x64 = jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()
    with x64:
        return _train(
            cfg,
            task,
            seed_arr,
            lr_arr,
            c_arr,
            epochs=epochs,
            snapshot_every=config.snapshot_every,
            metrics_every=config.metrics_every,
            optimizer=optimizer,
            init=config.init,
            dtype=dtype,
            params=params,
            epoch_offset=config.epoch_offset,
            method=method,
            chunk=config.chunk,
            n_dev=config.devices or n_avail,
            progress=progress,
            early_exit=config.early_exit,
        )


def _shown(a: np.ndarray) -> str:
    """A population's values in a message: the number when all are equal."""
    return f"{a[0].item()!r}" if np.all(a == a[0]) else f"{a.tolist()!r}"


def _config_of(config: TrainConfig | None, settings: dict[str, Any]) -> TrainConfig:
    """``config``, or the :class:`TrainConfig` of ``train``'s keywords."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise TypeError(f"train() got an unexpected keyword argument {unknown[0]!r}")
    if config is None:
        if "epochs" not in settings:
            raise TypeError("train() needs epochs=..., or a TrainConfig")
        return TrainConfig(**settings)
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if settings:
        raise ValueError(
            f"give the settings as a TrainConfig or as keywords, not both; got config and "
            f"{', '.join(sorted(settings))}"
        )
    return config


def _population_of(population: Population | None, seeds: Any, lr: Any, c: Any) -> Population:
    """``population``, or the :class:`Population` of ``train``'s keywords."""
    if population is None:
        if seeds is None:
            raise TypeError("train() needs seeds=... (and lr=...), or a Population")
        return Population(seeds=seeds, lr=lr, c=c)
    if not isinstance(population, Population):
        raise ValueError(f"population must be a Population, got {type(population).__name__}")
    given = [k for k, v in (("seeds", seeds), ("lr", lr), ("c", c)) if v is not None]
    if given:
        raise ValueError(
            f"give the networks as a Population or as seeds/lr/c, not both; got population "
            f"and {', '.join(given)}"
        )
    return population


def _params_size(params: Params) -> int:
    if not isinstance(params, dict) or not params:
        raise ValueError(f"params must be a non-empty dict of arrays, got {type(params).__name__}")
    sizes = {np.shape(v)[0] if np.ndim(v) else None for v in params.values()}
    if len(sizes) != 1 or None in sizes:
        raise ValueError("params must all have the same leading net axis")
    size = sizes.pop()
    assert size is not None  # ruled out just above
    return int(size)


def _initial_params(
    cfg: RNNConfig,
    task: Task,
    seeds: np.ndarray,
    c: np.ndarray,
    params: Params | None,
    init: str,
    dtype: str,
) -> dict[str, np.ndarray]:
    shapes = param_shapes(cfg, task)
    P = seeds.size
    if params is None:
        per_net = [init_params(cfg, int(s), init=init, dtype=dtype, task=task) for s in seeds]
        out = {k: np.stack([p[k] for p in per_net]) for k in per_net[0]}
        if cfg.train_c:
            out["c"] = c.astype(dtype)
        return out
    out = {}
    for name, shape in shapes.items():
        if name == "c":
            out["c"] = c.astype(dtype)
            continue
        if name not in params:
            raise ValueError(f"params is missing {name!r} for model {cfg.model!r}{_for(task)}")
        arr = np.asarray(params[name])
        if arr.shape != (P, *shape):
            raise ValueError(f"params[{name!r}] must have shape {(P, *shape)}, got {arr.shape}")
        _validate.finite(f"params[{name!r}]", arr)
        out[name] = np.array(arr, dtype=dtype, order="C")
    extra = set(params) - set(shapes) - {"c"}
    if extra:
        raise ValueError(
            f"params has unknown entries {sorted(extra)} for model {cfg.model!r}{_for(task)}"
        )
    return out


def _for(task: Task) -> str:
    """`` and task 'dcdt'`` in messages, nothing for the paper's task."""
    return "" if is_paper_task(task) else f" and task {task.name!r}"


def _block_size(cfg: RNNConfig, method: str, P_local: int) -> int | None:
    """Networks per vmapped block inside a device shard (``None``: the whole shard).

    The rank1 fast path is elementwise work plus fixed-order sums: one block. The matrix
    models run in blocks of ``_MATRIX_BLOCK`` networks once a shard has more, which keeps
    each block's weights in cache; ``method="autodiff"`` always uses fixed blocks because
    XLA's reductions inside ``jax.grad`` change their order with the batch shape.
    """
    if cfg.model == "rank1" and method == "fast":
        return None
    if method == "autodiff":
        return _MATRIX_BLOCK
    return _MATRIX_BLOCK if P_local > _MATRIX_BLOCK else None


def _on_devices(tree: Any, n_dev: int, spec: Any) -> Any:
    """Host arrays placed as the compiled program takes them: split over ``n_dev`` devices
    along the network axis given by ``spec``, a ``PartitionSpec`` or a tree of them (one
    device: the default device)."""
    if n_dev == 1:
        return jax.tree.map(jnp.asarray, tree)
    mesh = Mesh(np.asarray(jax.local_devices()[:n_dev]), ("net",))
    shardings = jax.tree.map(
        lambda sp: NamedSharding(mesh, sp), spec, is_leaf=lambda x: isinstance(x, PS)
    )
    return jax.device_put(tree, shardings)


def _layout(
    cfg: RNNConfig, method: str, optimizer: Any, P: int, n_dev: int, task: Task
) -> tuple[int | None, int]:
    """The block size and the padded population size of ``P`` networks on ``n_dev``
    devices: each device holds the same number of networks, a multiple of the block."""
    P_local = -(-P // n_dev)
    if optimizer != "sgd":
        # A lone network would make XLA compile optax's per-network scalar maths
        # (e.g. b1 ** count) as scalar code, whose rounding differs from the vector code.
        P_local = max(P_local, 2)
    block = _block_size(cfg, method, P_local)
    if not is_paper_task(task):
        # A loop over a single block is inlined by XLA and compiled differently from a
        # loop over several (the last bit of the gradient changed): two blocks at least.
        block = _TASK_BLOCK
        P_local = max(P_local, 2 * block)
    P_local = -(-P_local // block) * block if block else P_local
    return block, P_local * n_dev


_EXECUTABLES: dict[Any, Any] = {}
_MAX_EXECUTABLES = 64


def _executable(plan: _Plan, args: Any) -> tuple[Any, float]:
    """The compiled chunk program of ``plan`` for arguments shaped like ``args``, and the
    seconds spent compiling it now (0 when it was compiled before, in this process).

    Compiled ahead of time and called directly, so that a progress report can tell
    compiling from training without compiling twice (a jit call does not reuse an
    ahead-of-time compilation)."""
    leaves, treedef = jax.tree.flatten(args)
    key = (plan, treedef, tuple((np.shape(a), str(a.dtype)) for a in leaves))
    if key in _EXECUTABLES:
        return _EXECUTABLES[key], 0.0
    tic = time.perf_counter()
    compiled = _program(plan).lower(*args).compile()
    if len(_EXECUTABLES) >= _MAX_EXECUTABLES:
        _EXECUTABLES.pop(next(iter(_EXECUTABLES)))
    _EXECUTABLES[key] = compiled
    return compiled, time.perf_counter() - tic


class _Clock:
    """Compile and run times of the chunks, to weigh a smaller population against
    compiling its program.

    Only decides whether the early exit shrinks the population; never changes a number.
    """

    #: Least compile time assumed for a new population size: a program loaded from the
    #: persistent cache says little about compiling one that is not there.
    MIN_COMPILE_S = 1.0

    def __init__(self) -> None:
        self.compile_s = self.MIN_COMPILE_S
        self.rate = math.nan  # seconds per padded network-epoch

    def compiled(self, seconds: float) -> None:
        self.compile_s = max(self.compile_s, seconds)

    def ran(self, net_epochs: int, seconds: float) -> None:
        self.rate = seconds / max(net_epochs, 1)

    def worth(self, net_epochs_saved: int) -> bool:
        """Whether computing ``net_epochs_saved`` fewer network-epochs saves more than
        twice the time of compiling a program."""
        return net_epochs_saved * self.rate > 2 * self.compile_s


def _take(
    state: TrainState, snaps: Any, rows: np.ndarray, n_dev: int, task: Task
) -> tuple[TrainState, Any]:
    """The device state and snapshot buffers of ``rows`` only (the snapshot buffers,
    rewritten by every chunk, come back as zeros of the new size). Gathered on the host: a
    gather on the devices would compile programs of its own."""
    host = jax.tree.map(lambda a: np.asarray(a)[rows], state._replace(epoch=None))
    state = _on_devices(host._replace(epoch=np.asarray(state.epoch)), n_dev, _state_specs(task))
    zeros = {k: np.zeros((v.shape[0], rows.size, *v.shape[2:]), v.dtype) for k, v in snaps.items()}
    return state, _on_devices(zeros, n_dev, PS(None, "net"))


def _pad(a: np.ndarray, P_pad: int) -> np.ndarray:
    if a.shape[0] == P_pad:
        return a
    reps = np.repeat(a[:1], P_pad - a.shape[0], axis=0)
    return np.concatenate([a, reps])


def _chunk_epochs(
    cfg: RNNConfig, epochs: int, chunk: int | None, snapshot_every: int, per_snap: int
) -> int:
    """Epochs per compiled call: ``chunk`` (default 1000 for rank1, 200 otherwise), halved
    while the snapshot buffer would pass its budget, then evened out over the run."""
    C = min(epochs, chunk or (1000 if cfg.model == "rank1" else 200))
    if snapshot_every:
        max_slots = max(1, _SNAPSHOT_BUDGET_BYTES // max(per_snap, 1))
        while C > 1 and -(-C // snapshot_every) + 1 > max_slots:
            C = max(1, C // 2)
    return -(-epochs // -(-epochs // C))  # equal chunks: the last one wastes < 1 epoch/chunk


def _initial_state(
    p0: dict[str, np.ndarray],
    task: Task,
    seeds: np.ndarray,
    lr: np.ndarray,
    c: np.ndarray,
    *,
    P_pad: int,
    n_dev: int,
    dtype: str,
    optimizer: Any,
    epoch_offset: int,
) -> TrainState:
    """The population's :class:`TrainState`, padded to ``P_pad`` networks and placed on
    the devices. Built on the host and placed as the program takes it: a conversion on
    the device, or inputs laid out differently from its outputs, would compile more."""
    state = TrainState(
        params={k: _pad(v, P_pad).astype(dtype) for k, v in p0.items()},
        opt_state=(),
        lr=_pad(np.nan_to_num(lr, nan=0.0), P_pad).astype(dtype),
        c=_pad(c, P_pad).astype(dtype),
        # Each network's seed key, for the trials a stochastic task draws.
        key=None if is_paper_task(task) else _pad(seed_key_data(seeds), P_pad),
        epoch=np.int32(epoch_offset),
        alive=np.ones(P_pad, bool),
        diverged_epoch=np.full(P_pad, -1, np.int32),
        settled=np.zeros(P_pad, bool),
    )
    state = _on_devices(state, n_dev, _state_specs(task))
    make_tx = optimizer_factory(optimizer)
    if make_tx is not None:
        opt_init = jax.jit(jax.vmap(lambda p, r: make_tx(r).init(p)))
        state = state._replace(opt_state=opt_init(state.params, state.lr))
    return state


class _Record:
    """The host-side record of a run: metrics, snapshots and final states of all ``P``
    networks, while the early exit takes networks out of the device state.

    ``rows[j]`` is the network in row ``j`` of the device state. A network that settled
    (its update changed nothing) or diverged leaves the device state; its later epochs
    repeat its last computed one (NaN metrics once diverged) and are filled in from
    ``fill`` and ``final``.
    """

    def __init__(
        self,
        p0: dict[str, np.ndarray],
        rec_epochs: np.ndarray,
        *,
        dtype: str,
        metrics_every: int,
        snapshot_every: int,
    ) -> None:
        P = next(iter(p0.values())).shape[0]
        self.metrics_every, self.snapshot_every = metrics_every, snapshot_every
        self.mets = {k: np.full((P, rec_epochs.size), np.nan, dtype) for k in StepMetrics._fields}
        self.fill = {k: np.full(P, np.nan, dtype) for k in StepMetrics._fields}
        self.final = {k: np.array(v) for k, v in p0.items()}
        self.alive = np.ones(P, bool)
        self.div = np.full(P, -1, np.int64)
        self.rows = np.arange(P)
        self.snap_epochs: list[int] = []
        self.snap_data: dict[str, list[np.ndarray]] = {k: [] for k in p0}
        self.pos = 0  # recorded metric epochs so far

    def _gone(self) -> np.ndarray:
        gone = np.ones(self.alive.size, bool)
        gone[self.rows] = False
        return gone

    def add(self, out_host: list[np.ndarray], snaps: Any, e0: int, n_here: int) -> None:
        """Record a chunk's metrics (``out_host``: [epochs, rows]) and snapshots."""
        es = np.arange(e0, e0 + n_here)
        keep = es % self.metrics_every == 0
        n_keep = int(keep.sum())
        gone = self._gone()
        for name, got in zip(StepMetrics._fields, out_host, strict=True):
            window = self.mets[name][:, self.pos : self.pos + n_keep]
            window[self.rows] = got[keep].T
            window[gone] = self.fill[name][gone, None]
        self.pos += n_keep
        k = self.snapshot_every
        here = [int(e) for e in es if e % k == 0] if k else []
        if here:
            first = -(-e0 // k)
            idx = np.asarray([e // k - first for e in here])
            for name, buf in snaps.items():
                final = self.final[name]
                taken = np.empty((idx.size, *final.shape), final.dtype)
                taken[:, self.rows] = np.asarray(buf)[idx][:, : self.rows.size]
                taken[:, gone] = final[gone]
                self.snap_data[name].append(taken)
            self.snap_epochs.extend(here)

    def leave(self, state: TrainState, out_host: list[np.ndarray], rows: np.ndarray) -> None:
        """Networks in device rows ``rows`` leave: their last metrics (NaN if diverged),
        final parameters and divergence are kept for the epochs still to come."""
        n_act = self.rows.size
        settled = np.asarray(state.settled)[:n_act][rows]
        nets = self.rows[rows]
        for name, got in zip(StepMetrics._fields, out_host, strict=True):
            self.fill[name][nets] = np.where(settled, got[-1, rows], np.nan)
        for name, v in state.params.items():
            self.final[name][nets] = np.asarray(v)[:n_act][rows]
        self.alive[nets] = np.asarray(state.alive)[:n_act][rows]
        self.div[nets] = np.asarray(state.diverged_epoch)[:n_act][rows]
        self.rows = np.delete(self.rows, rows)

    def fill_rest(self, e0: int, end: int) -> None:
        """Epochs ``e0 .. end - 1`` once every network left: each recorded metric repeats
        ``fill``, each snapshot the frozen parameters ``final``."""
        for name, arr in self.mets.items():
            arr[:, self.pos :] = self.fill[name][:, None]
        k = self.snapshot_every
        if k:
            here = np.arange(-(-e0 // k) * k, end, k)
            if here.size:
                for name, v in self.final.items():
                    self.snap_data[name].append(np.broadcast_to(v, (here.size, *v.shape)))
                self.snap_epochs.extend(int(e) for e in here)

    def finish(self, state: TrainState) -> None:
        """Take the final state of the networks still on the devices."""
        n_act = self.rows.size
        for name, v in state.params.items():
            self.final[name][self.rows] = np.asarray(v)[:n_act]
        self.alive[self.rows] = np.asarray(state.alive)[:n_act]
        self.div[self.rows] = np.asarray(state.diverged_epoch)[:n_act]

    def snapshots(self) -> dict[str, np.ndarray] | None:
        """Snapshots by name, ``[net, snapshot, ...]`` (``None`` without any)."""
        if not self.snap_epochs:
            return None
        return {k: np.concatenate(v, axis=0).swapaxes(0, 1) for k, v in self.snap_data.items()}


def _train(
    cfg: RNNConfig,
    task: Task,
    seeds: np.ndarray,
    lr: np.ndarray,
    c: np.ndarray,
    *,
    epochs: int,
    snapshot_every: int,
    metrics_every: int,
    optimizer: Any,
    init: str,
    dtype: str,
    params: Params | None,
    epoch_offset: int,
    method: str,
    chunk: int | None,
    n_dev: int,
    progress: Progress | None,
    early_exit: bool,
) -> xr.Dataset:
    P = seeds.size
    p0 = _initial_params(cfg, task, seeds, c, params, init, dtype)
    n_dev = max(1, min(n_dev, P))
    block, P_pad = _layout(cfg, method, optimizer, P, n_dev, task)
    per_snap = sum(int(np.prod(v.shape[1:])) for v in p0.values()) * P_pad
    C = _chunk_epochs(cfg, epochs, chunk, snapshot_every, per_snap * np.dtype(dtype).itemsize)
    slots = (-(-C // snapshot_every) + 1) if snapshot_every else 0
    plan = _Plan(cfg, method, optimizer, snapshot_every, C, slots, n_dev, block, task)
    state = _initial_state(
        p0, task, seeds, lr, c, P_pad=P_pad, n_dev=n_dev, dtype=dtype,
        optimizer=optimizer, epoch_offset=epoch_offset,
    )  # fmt: skip
    snaps = _on_devices(
        {k: np.zeros((slots, *v.shape), dtype) for k, v in state.params.items()} if slots else {},
        n_dev,
        PS(None, "net"),
    )
    end = epoch_offset + epochs
    rec_epochs = np.asarray(
        [e for e in range(epoch_offset, end) if e % metrics_every == 0], dtype=np.int64
    )
    record = _Record(
        p0, rec_epochs, dtype=dtype, metrics_every=metrics_every, snapshot_every=snapshot_every
    )
    clock = _Clock()
    e0 = epoch_offset
    while e0 < end:
        n_here = min(C, end - e0)
        args = (state, snaps, np.int32(e0 + n_here))
        P_pad_now = int(state.alive.shape[0])
        executable, seconds = _executable(plan, args)
        clock.compiled(seconds)
        if progress is not None and e0 == epoch_offset:
            progress(0, epochs)  # compiled: the epochs start
        tic = time.perf_counter()
        state, snaps, out = executable(*args)
        n_act = record.rows.size
        out_host = [np.asarray(arr)[:n_here, :n_act] for arr in out]
        clock.ran(n_here * P_pad_now, time.perf_counter() - tic)
        record.add(out_host, snaps, e0, n_here)
        e0 += n_here
        if early_exit and e0 < end:
            leaving = ~np.asarray(state.alive)[:n_act] | np.asarray(state.settled)[:n_act]
            stay = np.flatnonzero(~leaving)
            P_pad_new = (
                _layout(cfg, method, optimizer, stay.size, n_dev, task)[1] if stay.size else 0
            )
            # Each new population size compiles a new program: shrink only when the
            # network-epochs saved take longer than compiling it twice.
            saved = (P_pad_now - P_pad_new) * (end - e0)
            if stay.size == 0 or (P_pad_new < P_pad_now and clock.worth(saved)):
                record.leave(state, out_host, np.flatnonzero(leaving))
                if stay.size == 0:
                    record.fill_rest(e0, end)
                    e0 = end
                else:
                    state, snaps = _take(state, snaps, _pad(stay, P_pad_new), n_dev, task)
                    plan = dataclasses.replace(
                        plan, block=_layout(cfg, method, optimizer, stay.size, n_dev, task)[0]
                    )
        if progress is not None:
            progress(e0 - epoch_offset, epochs)
    record.finish(state)
    settings = {
        "epochs": epochs,
        "epoch_offset": epoch_offset,
        "snapshot_every": snapshot_every,
        "metrics_every": metrics_every,
        "optimizer": optimizer_label(optimizer),
        "init": init if params is None else "params",
        "dtype": dtype,
        "method": method,
        "chunk": C,
        "devices": n_dev,
    }
    return _dataset(
        cfg,
        task,
        seeds=seeds,
        lr=lr,
        c=c,
        epochs=rec_epochs,
        metrics=record.mets,
        diverged=~record.alive,
        diverged_epoch=np.where(record.alive, -1, record.div),
        final=record.final,
        snapshots=record.snapshots(),
        snap_epochs=np.asarray(record.snap_epochs, dtype=np.int64),
        settings=settings,
    )


_DIMS: dict[str, tuple[str, ...]] = {
    "m": ("unit",),
    "n": ("unit",),
    "b": ("unit",),
    "c": (),
    "M": ("unit", "k"),
    "Nmat": ("k", "unit"),
    "w_out": ("unit",),
    "b_out": (),
    "W": ("unit", "unit2"),
    "W_in": ("unit", "input"),
}
_ATTRS: dict[str, dict[str, str]] = {
    "loss": {"long_name": "loss before the epoch's update", "units": "1"},
    "accuracy": {"long_name": "fraction of correct steps before the epoch's update"},
    "grad_norm": {"long_name": "gradient norm before the epoch's update"},
    "diverged": {"long_name": "loss or parameters became non-finite; network frozen"},
    "diverged_epoch": {"long_name": "first epoch with NaN metrics (-1: never)"},
}


def _var_name(name: str) -> str:
    return "c_final" if name == "c" else name


def _dims(cfg: RNNConfig, task: Task, name: str) -> tuple[str, ...]:
    """Dims of parameter ``name`` after the net axis (the latent readout's ``w_out`` is
    indexed by ``k``, except for full rank where the latent variables are the units)."""
    if name == "w_out" and cfg.model != "full" and task.readout_for(cfg) == "latent_tanh":
        return ("k",)
    return _DIMS[name]


def _dataset(
    cfg: RNNConfig,
    task: Task,
    *,
    seeds: np.ndarray,
    lr: np.ndarray,
    c: np.ndarray,
    epochs: np.ndarray,
    metrics: dict[str, np.ndarray],
    diverged: np.ndarray,
    diverged_epoch: np.ndarray,
    final: dict[str, np.ndarray],
    snapshots: dict[str, np.ndarray] | None,
    snap_epochs: np.ndarray,
    settings: dict[str, Any],
) -> xr.Dataset:
    P = seeds.size
    data: dict[str, Any] = {
        name: (("net", "epoch"), metrics[name], _ATTRS[name]) for name in StepMetrics._fields
    }
    data["diverged"] = (("net",), diverged.astype(bool), _ATTRS["diverged"])
    data["diverged_epoch"] = (("net",), diverged_epoch.astype(np.int64), _ATTRS["diverged_epoch"])
    for name, arr in final.items():
        data[_var_name(name)] = (("net", *_dims(cfg, task, name)), arr)
    if snapshots is not None:
        for name, arr in snapshots.items():
            data[f"snap_{name}"] = (("net", "snapshot", *_dims(cfg, task, name)), arr)
    coords = {
        "net": np.arange(P),
        "seed": ("net", seeds.astype(np.int64)),
        "lr": ("net", lr.astype(float)),
        "c": ("net", c.astype(float)),
        "rank": ("net", np.full(P, cfg.K, dtype=np.int64)),
        "epoch": epochs,
        "snapshot": snap_epochs,
    }
    attrs = {
        "model": dataclasses.asdict(cfg),
        "task": task.to_dict(),
        "train": settings,
        "ghostlearn_version": __version__,
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


# --------------------------------------------------------------------------------------
# Reading results back


def model_from_dataset(ds: xr.Dataset) -> RNNConfig:
    """The :class:`~ghostlearn.rnn.RNNConfig` stored in a :func:`train` result's attrs.

    The one reader of a run's ``model`` attribute (a dict, or its JSON text): anything
    else, or a key :class:`~ghostlearn.rnn.RNNConfig` does not have, is a ``ValueError``.
    """
    attrs = ds.attrs.get("model")
    try:
        if isinstance(attrs, str):
            attrs = json.loads(attrs)
        if not isinstance(attrs, Mapping):
            raise TypeError(f"expected a dict of the RNN config, got {attrs!r}")
        return RNNConfig(**dict(attrs))
    except (TypeError, ValueError) as err:
        raise ValueError(f"dataset has no valid 'model' attribute: {err}") from None


def task_from_dataset(ds: xr.Dataset, *, classes: Sequence[type[Task]] = ()) -> Task:
    """The :class:`~ghostlearn.tasks.Task` a :func:`train` result was trained on.

    Args:
        ds: the Dataset returned by :func:`train` (or read back from zarr). Results
            written before tasks were stored hold no ``task`` attribute: they are the
            paper's delayed-activation task.
        classes: a user's own :class:`~ghostlearn.tasks.Task` subclasses, looked up by
            their ``name``.

    Raises:
        ValueError: an unknown task name or field.
    """
    data = ds.attrs.get("task")
    if data is None:
        return DelayedActivation()
    return task_from_dict(data, classes=classes)


def params_from_dataset(ds: xr.Dataset, snapshot: int | None = None) -> dict[str, np.ndarray]:
    """Batched parameters (leading net axis) from a :func:`train` result.

    Args:
        ds: the Dataset returned by :func:`train` (or read back from zarr).
        snapshot: ``None`` for the final parameters, else an epoch number present in the
            ``snapshot`` coordinate (the parameters at the start of that epoch).

    Returns:
        Dict of NumPy arrays, e.g. rank1 ``{"m": [P, N], "n": [P, N], "b": [P, N]}`` (+
        ``"c"`` [P] for a trained confidence, + ``"W_in"``, ``"w_out"``, ``"b_out"`` for a
        task with inputs or another readout), ready for ``train(..., params=...)``.

    Raises:
        ValueError: if ``snapshot`` is not one of the recorded epochs.
    """
    cfg = model_from_dataset(ds)
    names = list(param_shapes(cfg))
    # A task's own parameters (input weights, another readout), read without its class.
    names += [k for k in ("W_in", "w_out", "b_out") if k in ds.data_vars and k not in names]
    out = {}
    if snapshot is None:
        for name in names:
            out[name] = np.asarray(ds[_var_name(name)].values)
        return out
    snaps = np.asarray(ds["snapshot"].values)
    if not np.any(snaps == snapshot):
        raise ValueError(
            f"snapshot must be one of the recorded epochs {snaps[:5].tolist()}..., got {snapshot}"
        )
    for name in names:
        out[name] = np.asarray(ds[f"snap_{name}"].sel(snapshot=snapshot).values)
    return out
