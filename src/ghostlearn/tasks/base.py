"""What every task provides: trials, the initial-state and noise rule, the loss, the accuracy.

A task is a frozen dataclass deriving from :class:`Task`. For a network configuration it
gives the **conditions** of one epoch as a :class:`Trials` (NumPy arrays)::

    inputs  [trials, steps, n_in]    u_t, the input applied during the update t -> t + 1
    targets [trials, steps, n_out]   o(t + 1), the target of the output read on x(t + 1)
    mask    [trials, steps]          True where the step is scored

Step ``t = 0 .. steps - 1`` of a trial updates the state from ``x(t)`` to ``x(t + 1)``
with the input ``u_t``, and the output read on ``x(t + 1)`` is compared with
``targets[:, t]`` (the initial state is never scored), the convention of the
delayed-activation task.

Every epoch trains on all the conditions together (full batch). What may change from
epoch to epoch is drawn afresh: the initial states (``init_scale``) and the private noise
(``noise``). The draws are a function of the network's seed, the epoch number and the
trial index only (:func:`epoch_key`, :meth:`Task.initial_state`, :meth:`Task.noise_draws`),
so a run reproduces bit for bit and does not depend on the rest of its population:

- the epoch's key is ``fold_in(key(seed), epoch)`` with ``key(seed)`` the threefry key of
  ``jax.random.PRNGKey(seed)``;
- trial ``i``'s key is ``fold_in(epoch_key, i)``; its initial state is
  ``x(0) = tanh(init_scale xi)``, ``xi ~ N(0, 1)`` per unit, drawn from
  ``fold_in(trial_key, 0)``, and its noise ``eta_t ~ N(0, 1)`` per unit and step from
  ``fold_in(trial_key, 1)``;
- the normals are ``jax.random.normal`` with the original threefry bit generator
  (``jax_threefry_partitionable=False``, set locally), so the stream does not depend on
  JAX's default for that flag.

The noise enters the state after the nonlinearity (Euler-Maruyama of
``tau dx = (-x + tanh(...)) dt + sigma sqrt(tau) dW``)::

    x(t + 1) = (1 - D) x(t) + D tanh(W x(t) + W_in u_t + b) + sigma sqrt(D) eta_t,

``eta_t ~ N(0, 1)`` independent per unit, step, trial and epoch. An isolated unit
(``W = 0``, ``b = 0``, no input) then fluctuates around 0 with the stationary standard
deviation ``sigma / sqrt(2 - D)`` (``sigma / sqrt(2)`` in the limit ``dt -> 0``).

Defaults of :class:`Task` are those of the authors' later experiments: the latent tanh
readout, ``x(0) = tanh(0.3 xi)``, no noise, the mean squared error over the scored steps
and the accuracy of the output binarised at ``+-0.33``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate

if TYPE_CHECKING:
    from ..rnn import RNNConfig

__all__ = [
    "READOUTS",
    "Task",
    "TrialBatch",
    "Trials",
    "epoch_key",
    "seed_key",
    "seed_key_data",
]

#: Readouts of a network (see :func:`ghostlearn.rnn.run_trial`): ``"threshold"``
#: ``sigmoid(c (n . x - kappa_thr))`` (rank one), ``"sigmoid"``
#: ``sigmoid(w_out . x + b_out)``, ``"latent_tanh"`` ``tanh(w_out . kappa + b_out)``.
READOUTS: tuple[str, ...] = ("threshold", "sigmoid", "latent_tanh")

#: Output thresholds of the default accuracy: ``o > 0.33`` reads as 1, ``o < -0.33`` as -1.
BINARY_THRESHOLD = 0.33


@dataclasses.dataclass(frozen=True)
class Trials:
    """The conditions of one epoch (NumPy arrays; see the module doc for the time convention).

    Attributes:
        inputs: ``[trials, steps, n_in]`` (``n_in`` may be 0).
        targets: ``[trials, steps, n_out]``.
        mask: ``[trials, steps]``, True on the scored steps (at least one); 1/0 numbers
            are taken as True/False.

    Raises:
        ValueError: on shapes that do not agree, non-finite values or an empty mask.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray

    def __post_init__(self) -> None:
        inputs = np.asarray(self.inputs, dtype=np.float64)
        targets = np.asarray(self.targets, dtype=np.float64)
        mask = np.asarray(self.mask)
        if inputs.ndim != 3 or inputs.shape[0] < 1 or inputs.shape[1] < 1:
            raise ValueError(
                f"inputs must have shape [trials, steps, n_in] with trials, steps >= 1, "
                f"got {inputs.shape}"
            )
        B, S = inputs.shape[:2]
        if targets.ndim != 3 or targets.shape[:2] != (B, S) or targets.shape[2] < 1:
            raise ValueError(
                f"targets must have shape [{B}, {S}, n_out] (trials, steps of the inputs), "
                f"got {targets.shape}"
            )
        if mask.shape != (B, S) or mask.dtype.kind not in "buif":
            raise ValueError(
                f"mask must be a boolean array of shape [{B}, {S}], got {mask.dtype} {mask.shape}"
            )
        if mask.dtype.kind != "b" and not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must hold only True/False (or 1/0)")
        mask = mask.astype(bool)
        if not mask.any():
            raise ValueError("mask must score at least one step, got none")
        _validate.finite("inputs", inputs)
        _validate.finite("targets", targets)
        for name, value in (("inputs", inputs), ("targets", targets), ("mask", mask)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def n_trials(self) -> int:
        """Number of trials (conditions) per epoch."""
        return int(self.inputs.shape[0])

    @property
    def n_steps(self) -> int:
        """Updates per trial."""
        return int(self.inputs.shape[1])

    @property
    def n_in(self) -> int:
        """Input channels."""
        return int(self.inputs.shape[2])

    @property
    def n_out(self) -> int:
        """Output channels."""
        return int(self.targets.shape[2])


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TrialBatch:
    """One epoch's trials as arrays for the simulation (see :meth:`Task.batch`).

    Attributes:
        inputs: ``[trials, steps, n_in]``.
        targets: ``[trials, steps, n_out]``.
        mask: ``[trials, steps]`` (0/1 in the floating dtype).
        x0: initial states ``[trials, N]``.
        noise: the additive noise term ``sigma sqrt(D) eta`` ``[trials, steps, N]``, or
            ``None`` without noise.
    """

    inputs: jax.Array
    targets: jax.Array
    mask: jax.Array
    x0: jax.Array
    noise: jax.Array | None


def seed_key_data(seeds: Any) -> np.ndarray:
    """Raw threefry key data of ``jax.random.PRNGKey(seed)``, per seed, as ``uint32[..., 2]``.

    ``[seed >> 32, seed & 0xFFFFFFFF]``: computed on the host so that seeds up to
    ``2**63 - 1`` work without 64-bit JAX.
    """
    s = np.asarray(seeds, dtype=np.uint64)
    return np.stack([s >> np.uint64(32), s & np.uint64(0xFFFFFFFF)], axis=-1).astype(np.uint32)


def seed_key(seed: int) -> jax.Array:
    """The threefry key of a network's seed (equal to ``jax.random.PRNGKey(seed)``)."""
    _validate.seed("seed", seed)
    return jax.random.wrap_key_data(jnp.asarray(seed_key_data(seed)), impl="threefry2x32")


def epoch_key(key: jax.Array, epoch: Any) -> jax.Array:
    """``fold_in(key, epoch)``: the key of one epoch of one network (works inside ``jit``).

    Args:
        key: the network's key (:func:`seed_key`), or its raw ``uint32[2]`` data.
        epoch: the epoch number (an int or a traced int32).
    """
    if not jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32), impl="threefry2x32")
    return jax.random.fold_in(key, epoch)


def _threefry() -> Any:
    """The threefry bit generator the draws use, whatever JAX's default: the original
    (``jax_threefry_partitionable=False``). It fixes the stream, and XLA compiles it about
    three times faster on CPU than the partitionable variant."""
    return jax.threefry_partitionable(False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Task:
    """Base class of tasks: a frozen dataclass whose subclasses implement :meth:`trials`.

    Class attributes (set by subclasses): ``name`` (how the task is stored and found
    again, see :func:`ghostlearn.tasks.task_from_dict`), ``n_in`` (input channels; a
    ``W_in`` [N, n_in] parameter when > 0) and ``n_out`` (1: the readouts produce one
    output).

    Attributes:
        readout: one of :data:`READOUTS`, or ``None`` for the paper's readout of the model
            (``"threshold"`` for rank1, ``"sigmoid"`` otherwise).
        noise: ``sigma >= 0`` of the private noise (see the module doc for where it enters).
        init_scale: initial states ``x(0) = tanh(init_scale xi)``, ``xi ~ N(0, 1)`` per
            unit and trial, drawn afresh every epoch; ``None``: every unit starts at the
            configuration's ``x0``.

    Subclasses may override :meth:`initial_state`, :meth:`loss` and :meth:`accuracy`.
    """

    name: ClassVar[str] = "task"
    n_in: ClassVar[int] = 0
    n_out: ClassVar[int] = 1

    readout: str | None = "latent_tanh"
    noise: float = 0.0
    init_scale: float | None = 0.3

    def __post_init__(self) -> None:
        if self.readout is not None:
            _validate.one_of("readout", self.readout, READOUTS)
        _validate.real("noise", self.noise)
        _validate.finite("noise", self.noise)
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        if self.init_scale is not None:
            _validate.real("init_scale", self.init_scale)
            _validate.finite("init_scale", self.init_scale)

    # ---------------------------------------------------------------- to implement

    def trials(self, cfg: RNNConfig) -> Trials:
        """The conditions of one epoch for networks of ``cfg``.

        Args:
            cfg: the network configuration (its ``dt`` converts times in ms to steps).

        Returns:
            :class:`Trials`.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement trials(cfg)")

    # ---------------------------------------------------------------- derived

    def checked_trials(self, cfg: RNNConfig) -> Trials:
        """:meth:`trials`, checked against ``n_in`` and ``n_out``.

        Raises:
            ValueError: if the trials' channels differ from the task's.
        """
        trials = self.trials(cfg)
        if not isinstance(trials, Trials):
            raise ValueError(
                f"{type(self).__name__}.trials must return a Trials, got {type(trials).__name__}"
            )
        if trials.n_in != self.n_in:
            raise ValueError(
                f"inputs must have n_in={self.n_in} channels (task {self.name!r}), got shape "
                f"{trials.inputs.shape}"
            )
        if trials.n_out != 1 or self.n_out != 1:
            raise ValueError(
                f"targets must have n_out=1 channel (one readout), got shape {trials.targets.shape}"
            )
        return trials

    @property
    def stochastic(self) -> bool:
        """Whether an epoch's trials change from epoch to epoch (random initial states or noise)."""
        return self.init_scale is not None or self.noise > 0

    def readout_for(self, cfg: RNNConfig) -> str:
        """The readout used with networks of ``cfg`` (``None`` resolved per model).

        Raises:
            ValueError: ``"threshold"`` for a model other than rank1.
        """
        readout = self.readout
        if readout is None:
            return "threshold" if cfg.model == "rank1" else "sigmoid"
        if readout == "threshold" and cfg.model != "rank1":
            raise ValueError(f"readout 'threshold' needs model 'rank1', got model {cfg.model!r}")
        return readout

    def initial_state(self, cfg: RNNConfig, key: jax.Array, n_trials: int, dtype: Any) -> jax.Array:
        """Initial states of one epoch's trials, ``[n_trials, N]``.

        ``tanh(init_scale xi)`` with ``xi`` from ``fold_in(fold_in(key, i), 0)`` for trial
        ``i``; ``cfg.x0`` for every unit when ``init_scale`` is ``None``.

        Args:
            cfg: network configuration.
            key: the epoch's key (:func:`epoch_key`).
            n_trials: number of trials.
            dtype: floating dtype.
        """
        if self.init_scale is None:
            return jnp.full((n_trials, cfg.N), cfg.x0, dtype)

        scale = self.init_scale

        def one(i: Any) -> jax.Array:
            k = jax.random.fold_in(jax.random.fold_in(key, i), 0)
            return jnp.tanh(scale * jax.random.normal(k, (cfg.N,), dtype))

        with _threefry():
            return jax.vmap(one)(jnp.arange(n_trials, dtype=jnp.uint32))

    def noise_draws(
        self, cfg: RNNConfig, key: jax.Array, n_trials: int, n_steps: int, dtype: Any
    ) -> jax.Array | None:
        """The additive noise ``sigma sqrt(D) eta`` of one epoch, ``[n_trials, n_steps, N]``.

        ``eta`` from ``fold_in(fold_in(key, i), 1)`` for trial ``i``; ``None`` when
        ``noise == 0``.
        """
        if self.noise == 0:
            return None
        scale = self.noise * math.sqrt(cfg.D)

        def one(i: Any) -> jax.Array:
            k = jax.random.fold_in(jax.random.fold_in(key, i), 1)
            return scale * jax.random.normal(k, (n_steps, cfg.N), dtype)

        with _threefry():
            return jax.vmap(one)(jnp.arange(n_trials, dtype=jnp.uint32))

    def batch(
        self, cfg: RNNConfig, key: jax.Array, dtype: Any = jnp.float32, trials: Trials | None = None
    ) -> TrialBatch:
        """The arrays of one epoch: the conditions plus the initial states and noise of ``key``.

        Args:
            cfg: network configuration.
            key: the epoch's key, ``epoch_key(seed_key(seed), epoch)`` (traced inside ``jit``).
            dtype: floating dtype.
            trials: the conditions, if already computed (default :meth:`checked_trials`).

        Returns:
            :class:`TrialBatch`.
        """
        trials = self.checked_trials(cfg) if trials is None else trials
        B, S = trials.n_trials, trials.n_steps
        return TrialBatch(
            inputs=jnp.asarray(trials.inputs, dtype),
            targets=jnp.asarray(trials.targets, dtype),
            mask=jnp.asarray(trials.mask, dtype),
            x0=self.initial_state(cfg, key, B, dtype),
            noise=self.noise_draws(cfg, key, B, S, dtype),
        )

    def epoch_batch(
        self, cfg: RNNConfig, seed: int, epoch: int, dtype: Any = "float32"
    ) -> TrialBatch:
        """The trials that network ``seed`` trains on at ``epoch`` (to reproduce a run).

        ``train`` draws the same numbers inside its compiled program (equal to rounding;
        the compiler may fuse the arithmetic differently).
        """
        _validate.at_least("epoch", epoch, 0)
        return self.batch(cfg, epoch_key(seed_key(seed), epoch), jnp.dtype(dtype))

    def loss(self, outputs: jax.Array, targets: jax.Array, mask: jax.Array) -> jax.Array:
        """Mean squared error over the scored steps::

            L = sum_{i,t} mask_{i,t} sum_k (o_{i,t,k} - y_{i,t,k})^2 / (n_out sum_{i,t} mask_{i,t}).

        Args:
            outputs: ``[trials, steps, n_out]``.
            targets: ``[trials, steps, n_out]``.
            mask: ``[trials, steps]`` (0/1).

        Returns:
            Scalar loss.
        """
        from ..rnn import fsum

        r = outputs - targets
        per_step = fsum(r * r) * mask
        # A product with the reciprocal: XLA turns a division by a constant into one in
        # some compiled programs and not in others, which would change the last bit.
        return fsum(fsum(per_step)) * (1.0 / (outputs.shape[-1] * fsum(fsum(mask))))

    def accuracy(self, outputs: jax.Array, targets: jax.Array, mask: jax.Array) -> jax.Array:
        """Fraction of the scored steps whose binarised output equals the target.

        ``o > 0.33 -> 1``, ``o < -0.33 -> -1``, else ``0``; a step counts when every output
        channel equals its target.
        """
        from ..rnn import fsum

        b = BINARY_THRESHOLD
        binary = jnp.where(outputs > b, 1.0, jnp.where(outputs < -b, -1.0, 0.0))
        hit = jnp.all(binary == targets, axis=-1).astype(outputs.dtype) * mask
        return fsum(fsum(hit)) * (1.0 / fsum(fsum(mask)))

    def to_dict(self) -> dict[str, Any]:
        """``{"name": name, **fields}``: what defines the task (stored with a run)."""
        return {"name": self.name, **dataclasses.asdict(self)}
