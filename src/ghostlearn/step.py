"""One epoch of training of one network: the training map that :func:`ghostlearn.train.train`
scans, exposed as a pure function of a typed state.

``make_step(model, ...)`` returns ``step(state) -> (state, metrics)``: the metrics of the
parameters in ``state`` (loss, accuracy, gradient norm), then one update by plain
gradient descent or an optax optimizer. ``train`` runs ``jax.vmap(step)`` over a block of
networks inside ``lax.scan`` over epochs; users can call it directly::

    from ghostlearn.rnn import RNNConfig, init_params
    from ghostlearn.step import init_state, make_step

    cfg = RNNConfig()
    step = jax.jit(make_step(cfg))
    state = init_state(cfg, init_params(cfg, seed=0), lr=0.01)
    for _ in range(1000):
        state, metrics = step(state)

A population is the same state with a leading network axis on every field but
``epoch``: ``jax.vmap(step, in_axes=(batch_axes(state),), out_axes=(batch_axes(state), 0))``.

Numerical failure is contained: a step whose loss, gradient norm or updated parameters are
not finite leaves the state as it was, marks it not ``alive`` and records
``diverged_epoch``; its metrics are NaN from then on. A step that changes no parameter and
no optimizer state bit marks the state ``settled``: on a deterministic task every later
step repeats it exactly (``train``'s early exit).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _validate
from .rnn import (
    LossGrad,
    Params,
    RNNConfig,
    forward_loss,
    loss_and_grad,
    param_shapes,
    sq_norm,
    task_loss_and_grad,
)
from .tasks import DelayedActivation, Task, epoch_key, make_task, seed_key_data

__all__ = [
    "METHODS",
    "OPTIMIZERS",
    "Optimizer",
    "StepMetrics",
    "TrainState",
    "batch_axes",
    "check_method",
    "check_optimizer",
    "check_task",
    "init_state",
    "is_paper_task",
    "make_step",
    "optimizer_factory",
    "optimizer_label",
]

#: Optimizer names accepted by :func:`make_step` and :func:`ghostlearn.train.train`: plain
#: gradient descent and optax factories.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw", "nadam", "rmsprop", "adagrad")
#: Gradient methods: hand-derived adjoints (fast) or ``jax.grad`` through the simulation.
METHODS: tuple[str, ...] = ("fast", "autodiff")

Optimizer: TypeAlias = (
    str | optax.GradientTransformation | Callable[[Any], optax.GradientTransformation]
)


class TrainState(NamedTuple):
    """The state of one network's training (a JAX pytree).

    Attributes:
        params: the network's parameters (:func:`ghostlearn.rnn.init_params`).
        opt_state: the optax optimizer's state; ``()`` for plain gradient descent.
        lr: the learning rate.
        c: the confidence of the rank-one readout (ignored by other readouts).
        key: the network's seed key data (:func:`ghostlearn.tasks.seed_key_data`), from
            which a stochastic task draws each epoch's trials; ``None`` for the paper's
            deterministic task.
        epoch: the epoch the next step trains (int32 scalar, shared by a population).
        alive: ``False`` once a step failed numerically (the state is frozen).
        diverged_epoch: the first epoch with NaN metrics, ``-1`` while alive.
        settled: the last step changed nothing, bit for bit.

    The same tuple also carries per-field ``jax.vmap`` axes (:func:`batch_axes`) and
    sharding specs, so no field is typed narrower than ``Any``.
    """

    params: Any
    opt_state: Any
    lr: Any
    c: Any
    key: Any
    epoch: Any
    alive: Any
    diverged_epoch: Any
    settled: Any


class StepMetrics(NamedTuple):
    """Metrics of the parameters a step started from (NaN once the network diverged).

    Attributes:
        loss: the task's loss.
        accuracy: the task's accuracy.
        grad_norm: the Euclidean norm of the gradient of all trained parameters.
    """

    loss: Any
    accuracy: Any
    grad_norm: Any


def batch_axes(state: TrainState) -> TrainState:
    """``in_axes``/``out_axes`` of ``jax.vmap`` for a population of states: the network
    axis leads every field except the shared ``epoch``."""
    return TrainState(0, 0, 0, 0, 0, None, 0, 0, 0)._replace(key=None if state.key is None else 0)


def is_paper_task(task: Task) -> bool:
    """Whether ``task`` is the paper's deterministic delayed-activation task."""
    return isinstance(task, DelayedActivation) and task.paper


def check_task(task: Any, cfg: RNNConfig) -> Task:
    """``None`` -> the paper's task, a name -> the built-in task; checked against ``cfg``."""
    if task is None:
        task = DelayedActivation()
    elif isinstance(task, str):
        task = make_task(task)
    elif not isinstance(task, Task):
        raise ValueError(f"task must be a Task or a task name, got {task!r}")
    try:
        hash(task)
    except TypeError:
        raise ValueError(
            f"task must be hashable (a frozen dataclass with hashable fields), got {task!r}"
        ) from None
    param_shapes(cfg, task)  # the readout fits the model, train_c fits the readout
    task.checked_trials(cfg)
    return task


def check_method(method: Any, task: Task) -> str:
    """The gradient method for ``task``: ``None`` -> ``"fast"`` on the paper's task, else
    ``"autodiff"``."""
    if method is None:
        return "fast" if is_paper_task(task) else "autodiff"
    _validate.one_of("method", method, METHODS)
    if method == "fast" and not is_paper_task(task):
        raise ValueError(
            f"method 'fast' (hand-derived gradients) exists for the paper's delayed-activation "
            f"task only, got task {task.name!r}; use method='autodiff' or None"
        )
    return str(method)


def check_optimizer(optimizer: Any) -> Any:
    """``optimizer`` if it is a name of :data:`OPTIMIZERS`, a ``GradientTransformation`` or
    a factory; else a ``ValueError``."""
    if isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    if isinstance(optimizer, str):
        _validate.one_of("optimizer", optimizer, OPTIMIZERS)
        return optimizer
    if callable(optimizer):
        return optimizer
    raise ValueError(
        f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}, an "
        f"optax.GradientTransformation or a learning_rate -> GradientTransformation "
        f"factory, got {optimizer!r}"
    )


def optimizer_factory(optimizer: Any) -> Callable[[Any], optax.GradientTransformation] | None:
    """``None`` for plain gradient descent; else ``lr -> GradientTransformation``."""
    if isinstance(optimizer, optax.GradientTransformation):
        return lambda lr: optimizer
    if optimizer == "sgd":
        return None
    if isinstance(optimizer, str):
        return getattr(optax, optimizer)
    return optimizer


def optimizer_label(optimizer: Any) -> str:
    """The name stored with a run: the optimizer's name, or its factory's."""
    if isinstance(optimizer, str):
        return optimizer
    return getattr(optimizer, "__name__", None) or repr(optimizer)


def _value_and_grad(cfg: RNNConfig, method: str, task: Task) -> Callable[..., LossGrad]:
    """``(params, c, key, epoch) -> LossGrad`` of one network."""
    if not is_paper_task(task):
        trials = task.checked_trials(cfg)

        def on_task(p: Params, c: Any, key: Any, e: Any) -> LossGrad:
            batch = task.batch(cfg, epoch_key(key, e), p["b"].dtype, trials)
            return task_loss_and_grad(p, cfg, task, batch, c)

        return on_task
    if method == "fast":
        return lambda p, c, key, e: loss_and_grad(p, cfg, c)

    def auto(p: Params, c: Any, key: Any, e: Any) -> LossGrad:
        (loss, acc), g = jax.value_and_grad(forward_loss, has_aux=True)(p, cfg, c)
        return LossGrad(loss=loss, accuracy=acc, grad=g)

    return auto


def make_step(
    model: RNNConfig,
    *,
    task: Task | str | None = None,
    optimizer: Optimizer = "sgd",
    method: str | None = None,
) -> Callable[[TrainState], tuple[TrainState, StepMetrics]]:
    """The training map of one network: ``step(state) -> (state, metrics)``.

    Args:
        model: the network's configuration.
        task: a :class:`~ghostlearn.tasks.Task`, a task name, or ``None`` for the paper's
            delayed-activation task.
        optimizer: ``"sgd"`` (plain gradient descent), another name of :data:`OPTIMIZERS`
            (the optax optimizer of that name with ``learning_rate=state.lr``), a factory
            ``lr -> GradientTransformation``, or a ``GradientTransformation``.
        method: ``"fast"`` (hand-derived gradients, paper's task only), ``"autodiff"``
            (``jax.grad``), or ``None`` for the fastest the task has.

    Returns:
        A pure function of a :class:`TrainState`, to be jitted, vmapped or scanned.

    Raises:
        ValueError: a task, optimizer or method that does not fit the model.
    """
    if not isinstance(model, RNNConfig):
        raise ValueError(f"model must be an RNNConfig, got {type(model).__name__}")
    task = check_task(task, model)
    return _step(model, task, check_optimizer(optimizer), check_method(method, task))


def _all(flags: list[Any]) -> Any:
    return functools.reduce(jnp.logical_and, flags, jnp.asarray(True))


def _step(
    cfg: RNNConfig, task: Task, optimizer: Any, method: str
) -> Callable[[TrainState], tuple[TrainState, StepMetrics]]:
    vg = _value_and_grad(cfg, method, task)
    make_tx = optimizer_factory(optimizer)
    # A stochastic task draws new trials every epoch: an unchanged update does not mean
    # that later epochs repeat this one, so such a network never counts as settled.
    can_settle = not task.stochastic

    def step(state: TrainState) -> tuple[TrainState, StepMetrics]:
        p, s, alive, e = state.params, state.opt_state, state.alive, state.epoch
        lg = vg(p, state.c, state.key, e)
        gnorm = jnp.sqrt(sq_norm(lg.grad))
        if make_tx is None:
            new_p = {k: p[k] - state.lr * lg.grad[k] for k in p}
            new_s = s
        else:
            updates, new_s = make_tx(state.lr).update(lg.grad, s, p)
            new_p = optax.apply_updates(p, updates)
        ok_now = jnp.isfinite(lg.loss) & jnp.isfinite(gnorm)
        ok_next = _all([jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(new_p)])
        keep = alive & ok_now & ok_next
        div = state.diverged_epoch
        div = jnp.where(alive & ~ok_now, e, jnp.where(alive & ok_now & ~ok_next, e + 1, div))
        good = alive & ok_now
        nan = jnp.asarray(jnp.nan, lg.loss.dtype)
        metrics = StepMetrics(
            loss=jnp.where(good, lg.loss, nan),
            accuracy=jnp.where(good, lg.accuracy, nan),
            grad_norm=jnp.where(good, gnorm, nan),
        )
        moved = functools.reduce(
            jnp.logical_or,
            [
                jnp.any(a != b)
                for a, b in zip(
                    jax.tree.leaves((new_p, new_s)), jax.tree.leaves((p, s)), strict=True
                )
            ],
            jnp.asarray(False),
        )
        settled = keep & ~moved if can_settle else jnp.zeros_like(keep)
        new = state._replace(
            params=jax.tree.map(lambda a, b: jnp.where(keep, a, b), new_p, p),
            opt_state=jax.tree.map(lambda a, b: jnp.where(keep, a, b), new_s, s),
            epoch=e + 1,
            alive=keep,
            diverged_epoch=div,
            settled=settled,
        )
        return new, metrics

    return step


def init_state(
    model: RNNConfig,
    params: Params,
    *,
    lr: float,
    c: float = 10.0,
    seed: int = 0,
    task: Task | str | None = None,
    optimizer: Optimizer = "sgd",
    epoch: int = 0,
) -> TrainState:
    """The starting :class:`TrainState` of one network.

    Args:
        model: the network's configuration.
        params: its parameters (e.g. :func:`ghostlearn.rnn.init_params`).
        lr: learning rate > 0.
        c: confidence of the rank-one readout.
        seed: the seed a stochastic task draws the network's trials from.
        task: as in :func:`make_step`.
        optimizer: as in :func:`make_step` (its state starts fresh).
        epoch: the epoch of the first step.
    """
    _validate.positive("lr", lr)
    _validate.positive("c", c)
    _validate.seed("seed", seed)
    task = check_task(task, model)
    dtype = jnp.asarray(params["b"]).dtype
    p = {k: jnp.asarray(v) for k, v in params.items()}
    lr_a = jnp.asarray(lr, dtype)
    make_tx = optimizer_factory(check_optimizer(optimizer))
    key = None if is_paper_task(task) else jnp.asarray(seed_key_data(np.asarray([seed]))[0])
    return TrainState(
        params=p,
        opt_state=() if make_tx is None else make_tx(lr_a).init(p),
        lr=lr_a,
        c=jnp.asarray(c, dtype),
        key=key,
        epoch=jnp.asarray(epoch, jnp.int32),
        alive=jnp.asarray(True),
        diverged_epoch=jnp.asarray(-1, jnp.int32),
        settled=jnp.asarray(False),
    )
