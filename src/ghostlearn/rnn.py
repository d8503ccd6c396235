"""Rank-one, rank-K and full-rank RNNs (paper Eqs. 3-5, 17-19), with inputs for later tasks.

Dynamics (forward Euler of ``tau dx/dt = -x + tanh(W x + b)``, ``D = dt / tau``)::

    x(0) = x0 * 1,    x(t+1) = (1 - D) x(t) + D tanh(W x(t) + b),    t = 0 .. n_steps - 1,

with no input and no noise. Outputs are read on the state after each update,
``t = 1 .. n_steps``. The three models differ in ``W`` and in the readout:

- ``"rank1"``: ``W = m n^T``. Per step ``kappa = n . x``, ``x <- (1-D) x + D tanh(m kappa + b)``;
  output ``o_hat = sigmoid(c (n . x - kappa_thr))`` with the confidence ``c`` fixed
  (an argument) or trained (``train_c=True``, then ``params["c"]``).
  Parameters ``{"m": [N], "n": [N], "b": [N]}`` (+ ``{"c": []}``).
- ``"lowrank"``: ``W = M Nmat`` acting as ``x -> M (Nmat x)`` (column convention), readout
  ``o_hat = sigmoid(w_out . x + b_out)``. Parameters
  ``{"M": [N, K], "Nmat": [K, N], "b": [N], "w_out": [N], "b_out": []}``.
- ``"full"``: ``W`` any ``N x N`` matrix acting as ``x -> W x``, same readout as lowrank.
  Parameters ``{"W": [N, N], "b": [N], "w_out": [N], "b_out": []}``.

The rank-one network is exactly a one-dimensional system in ``kappa = n . x`` (the latent
circuit): ``kappa(t+1) = (1 - D) kappa(t) + D n . tanh(m kappa(t) + b)``,
``kappa(0) = x0 sum(n)``. :func:`latent_trajectory` runs that recursion.

Two ways to get a loss gradient are provided:

- :func:`forward_loss` runs :func:`simulate` (the full ``N``-dimensional state) and is
  meant for ``jax.grad`` (the reference);
- :func:`loss_and_grad` evaluates the same loss and its gradient with hand-derived adjoint
  (backpropagation-through-time) equations: on CPU about 13x less work than ``jax.grad``
  through :func:`simulate` for ``"rank1"`` and 1.3x less for the matrix models.
  For ``"rank1"`` it uses the latent recursion above, which equals the full simulation
  in exact arithmetic (in float32 the two agree to rounding; tests check both against
  finite differences and against each other).

Sums over units and over time use :func:`fsum`, a sum in a fixed order written with
elementwise additions, so that one network's numbers do not depend on how many other
networks are computed alongside it (XLA's own reductions change their order with the
batch shape).

Networks with inputs (the authors' later tasks, :mod:`ghostlearn.tasks`): a task with
``n_in`` input channels adds ``W_in`` [N, n_in], and :func:`run_trial` runs one trial of
``steps`` updates with inputs ``u`` [steps, n_in], an initial state ``x(0)`` and optional
noise ``z`` [steps, N] (``sigma sqrt(D) eta``, drawn by the task)::

    x(t+1) = (1 - D) x(t) + D tanh(W x(t) + W_in u_t + b) + z_t,    t = 0 .. steps - 1,

read on ``x(1) .. x(steps)`` by one of three readouts (:data:`ghostlearn.tasks.READOUTS`):

- ``"threshold"``: the paper's ``sigmoid(c (n . x - kappa_thr))`` (rank1 only);
- ``"sigmoid"``: Fig. S2's ``sigmoid(w_out . x + b_out)``, ``w_out`` [N];
- ``"latent_tanh"``: ``tanh(w_out . kappa + b_out)`` on the latent variables, ``w_out``
  [K]: ``kappa = Nmat x`` (lowrank, ``K`` entries), ``kappa = n . x`` (rank1, ``w_out``
  [1]) and ``kappa = x`` (full: every unit is a latent variable, ``w_out`` [N]).

:func:`task_loss` runs a task's trials of one epoch and returns its loss and accuracy;
``jax.grad`` of it is the gradient (there is no hand-derived gradient for tasks with
inputs), and :func:`task_loss_and_grad` computes it with the trials summed in a fixed
order (what ``train`` uses). :func:`param_shapes` and :func:`init_params` take the task;
without one (or for the paper's :class:`~ghostlearn.tasks.DelayedActivation`) they are the
paper's networks.

Everything here is a pure JAX function of one network's parameters; batch with
``jax.vmap``. Nothing prints or touches the disk.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import _validate, torchrng
from .task import targets
from .tasks.base import READOUTS, Task, TrialBatch

__all__ = [
    "INIT_METHODS",
    "MODELS",
    "PARAM_NAMES",
    "LossGrad",
    "RNNConfig",
    "Trajectory",
    "forward_loss",
    "fsum",
    "init_params",
    "latent_trajectory",
    "loss_and_grad",
    "param_shapes",
    "run_trial",
    "simulate",
    "sq_norm",
    "task_loss",
    "task_loss_and_grad",
]

Model = Literal["rank1", "lowrank", "full"]
MODELS: tuple[str, ...] = ("rank1", "lowrank", "full")
INIT_METHODS: tuple[str, ...] = ("numpy", "paper", "torch")
Params = dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class RNNConfig:
    """Architecture and time grid of one RNN (paper values are the defaults).

    Attributes:
        model: ``"rank1"``, ``"lowrank"`` or ``"full"``.
        rank: trainable rank ``K``: ``None`` resolves to 1 for ``"rank1"`` and ``N`` for
            ``"full"``; required for ``"lowrank"`` (``1 <= K <= N``).
        N: number of units.
        tau: time constant [ms].
        dt: Euler step [ms]; ``D = dt / tau``.
        T: delay [ms]; ``half = round(T / dt)`` steps, a trial is ``n_steps = 2 half``.
        x0: initial state of every unit.
        kappa_thr: readout threshold of ``"rank1"``.
        train_c: ``"rank1"`` only: the confidence ``c`` is a trained parameter.
    """

    model: Model = "rank1"
    rank: int | None = None
    N: int = 100
    tau: float = 10.0
    dt: float = 5.0
    T: float = 100.0
    x0: float = -0.3
    kappa_thr: float = 1.0
    train_c: bool = False

    def __post_init__(self) -> None:
        _validate.one_of("model", self.model, MODELS)
        _validate.at_least("N", self.N, 1)
        for name in ("tau", "dt", "T"):
            _validate.positive(name, getattr(self, name))
        for name in ("x0", "kappa_thr"):
            _validate.finite(name, getattr(self, name))
        if round(self.T / self.dt) < 1:
            raise ValueError(f"T / dt must round to >= 1 step, got T={self.T}, dt={self.dt}")
        if not isinstance(self.train_c, bool):
            raise ValueError(f"train_c must be a bool, got {self.train_c!r}")
        if self.train_c and self.model != "rank1":
            raise ValueError(f"train_c applies to model 'rank1' only, got model={self.model!r}")
        rank = self.rank
        if rank is None:
            if self.model == "lowrank":
                raise ValueError("rank must be given for model 'lowrank', got None")
            rank = 1 if self.model == "rank1" else self.N
        _validate.at_least("rank", rank, 1)
        if rank > self.N:
            raise ValueError(f"rank must be <= N={self.N}, got {rank}")
        if self.model == "rank1" and rank != 1:
            raise ValueError(f"rank must be 1 for model 'rank1', got {rank}")
        if self.model == "full" and rank != self.N:
            raise ValueError(f"rank must be N={self.N} for model 'full', got {rank}")
        object.__setattr__(self, "rank", int(rank))

    @property
    def D(self) -> float:
        """Euler factor ``dt / tau``."""
        return self.dt / self.tau

    @property
    def half(self) -> int:
        """Steps in the delay ``T``: ``round(T / dt)``."""
        return int(round(self.T / self.dt))

    @property
    def n_steps(self) -> int:
        """Steps in a trial: ``2 * half``."""
        return 2 * self.half

    @property
    def K(self) -> int:
        """The resolved rank (an int)."""
        assert self.rank is not None  # resolved in __post_init__
        return self.rank


PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "rank1": ("m", "n", "b"),
    "lowrank": ("M", "Nmat", "b", "w_out", "b_out"),
    "full": ("W", "b", "w_out", "b_out"),
}


def _paper_network(task: Task | None) -> bool:
    """Whether ``task`` trains the paper's networks: no input, the paper's readout."""
    return task is None or (task.readout is None and task.n_in == 0)


def _readout_size(cfg: RNNConfig) -> int:
    """Entries of ``w_out`` for the latent tanh readout: ``K`` (rank1: 1; full: N)."""
    return cfg.N if cfg.model == "full" else cfg.K


def param_shapes(cfg: RNNConfig, task: Task | None = None) -> dict[str, tuple[int, ...]]:
    """Shape of every parameter of one network of ``cfg`` (``c`` included when trained).

    Args:
        cfg: network configuration.
        task: the task (``None``: the paper's delayed-activation networks). A task with
            inputs adds ``W_in`` [N, n_in]; its readout (:meth:`~ghostlearn.tasks.Task.readout_for`)
            sets ``w_out``/``b_out``: none for ``"threshold"``, ``w_out`` [N] for
            ``"sigmoid"``, ``w_out`` [K] (rank1 [1], full [N]) for ``"latent_tanh"``.

    Raises:
        ValueError: a ``"threshold"`` readout for a matrix model, or ``train_c`` with a
            readout other than ``"threshold"``.
    """
    if not _paper_network(task):
        assert task is not None
        return _task_shapes(cfg, task)
    N, K = cfg.N, cfg.K
    if cfg.model == "rank1":
        shapes: dict[str, tuple[int, ...]] = {"m": (N,), "n": (N,), "b": (N,)}
        if cfg.train_c:
            shapes["c"] = ()
        return shapes
    if cfg.model == "lowrank":
        return {"M": (N, K), "Nmat": (K, N), "b": (N,), "w_out": (N,), "b_out": ()}
    return {"W": (N, N), "b": (N,), "w_out": (N,), "b_out": ()}


def _task_shapes(cfg: RNNConfig, task: Task) -> dict[str, tuple[int, ...]]:
    N, K = cfg.N, cfg.K
    readout = task.readout_for(cfg)
    if cfg.train_c and readout != "threshold":
        raise ValueError(f"train_c needs the 'threshold' readout, got readout {readout!r}")
    if cfg.model == "rank1":
        shapes: dict[str, tuple[int, ...]] = {"m": (N,), "n": (N,), "b": (N,)}
    elif cfg.model == "lowrank":
        shapes = {"M": (N, K), "Nmat": (K, N), "b": (N,)}
    else:
        shapes = {"W": (N, N), "b": (N,)}
    if cfg.train_c:
        shapes["c"] = ()
    if task.n_in:
        shapes["W_in"] = (N, task.n_in)
    if readout == "sigmoid":
        shapes |= {"w_out": (N,), "b_out": ()}
    elif readout == "latent_tanh":
        shapes |= {"w_out": (_readout_size(cfg),), "b_out": ()}
    return shapes


# --------------------------------------------------------------------------------------
# Initialisation


def init_params(
    cfg: RNNConfig,
    seed: int,
    *,
    init: str = "numpy",
    dtype: str = "float32",
    c: float = 10.0,
    task: Task | None = None,
) -> dict[str, np.ndarray]:
    """Initial parameters of one network: Normal(0, 1/N) weights, zero bias.

    This is the paper's initialisation, used when ``task`` is ``None`` or has no input
    and the paper's readout (e.g. :class:`~ghostlearn.tasks.DelayedActivation`). Any
    other task (inputs, or a readout chosen explicitly) gets the initialisation of the
    authors' later experiments, ``init="numpy"`` only: from
    ``numpy.random.default_rng(seed).standard_normal`` in this order,

    - recurrence: rank1 ``m`` [N] ~ N(0, 1), ``n`` [N] ~ N(0, 1/N); lowrank ``M`` [N, K]
      ~ N(0, 1), ``Nmat`` [K, N] ~ N(0, 1/N) (so the latent loop ``Nmat M`` has O(1)
      entries); full ``W`` [N, N] ~ N(0, 1/N);
    - ``W_in`` [N, n_in] ~ N(0, 2 / (N + n_in)) (Glorot scale), when ``n_in > 0``;
    - readout: ``"latent_tanh"`` ``w_out`` [K'] ~ N(0, 2 / (K' + 1)) (Glorot scale,
      ``K'`` = K, 1 for rank1, N for full) and ``b_out = 0`` (not drawn); ``"sigmoid"``
      ``w_out`` [N] ~ N(0, 1/N), ``b_out`` ~ N(0, 1/N); ``"threshold"``: nothing;
    - ``b`` [N] ~ N(0, 0.1^2);

    then ``c`` when ``cfg.train_c``. Everything is drawn in float64 and cast to ``dtype``.

    ``init="numpy"`` draws from ``numpy.random.default_rng(seed).standard_normal`` (float64)
    in this order, each scaled by ``1 / sqrt(N)`` and then cast to ``dtype``:

    - rank1: ``m`` [N], then ``n`` [N];
    - lowrank: ``M`` [N, K], ``Nmat`` [K, N], ``w_out`` [N], ``b_out`` (one number);
    - full: ``W`` [N, N], ``w_out`` [N], ``b_out``.

    ``init="paper"`` gives the authors' networks: what a PyTorch script seeded with
    ``torch.manual_seed(seed)`` draws as float32 ``torch.randn(shape) / sqrt(N)`` (float32
    division) on a CPU, in the same order (``randn(N)`` and ``randn(N, 1)`` give the same
    numbers). It is computed in NumPy by :mod:`ghostlearn.torchrng`, bit-identical to
    PyTorch 2.x on x86-64 CPUs with AVX2, and needs no PyTorch. ``init="torch"`` draws the
    same weights by calling PyTorch itself (it must be installed); it is kept as a
    cross-check. For ``"lowrank"`` and ``"full"`` the draws
    are taken as the matrices of a row-convention network ``x -> x M_t Nmat_t`` (resp.
    ``x -> x W_t``), drawn as ``M_t`` [N, K], ``Nmat_t`` [K, N], ``w_out``, ``b_out`` (resp.
    ``W_t`` [N, N], ...), and converted to this module's column convention with the same
    dynamics: ``M = Nmat_t^T``, ``Nmat = M_t^T`` (resp. ``W = W_t^T``). For ``"rank1"`` the
    first draw is ``m`` and the second ``n`` (``kappa = n . x``, paper Eq. 4).

    The bias ``b`` starts at zero. With ``cfg.train_c`` the parameters include ``c``.

    Args:
        cfg: network configuration.
        seed: non-negative integer seed.
        init: ``"numpy"``, ``"paper"`` (the authors' weights, no PyTorch needed) or
            ``"torch"`` (the same weights via PyTorch, which must be installed).
        dtype: ``"float32"`` or ``"float64"``.
        c: initial confidence when ``cfg.train_c`` (ignored otherwise).
        task: the task the network is for (``None``: the paper's networks).

    Returns:
        Dict of NumPy arrays with the shapes of :func:`param_shapes` (see the module doc).

    Raises:
        ValueError: on a negative or non-integer seed, an unknown ``init`` or ``dtype``, a
            non-positive ``c``, ``init="torch"`` without PyTorch installed, or ``init``
            other than ``"numpy"`` for a task that is not the paper's.
    """
    _validate.at_least("seed", seed, 0)
    _validate.one_of("init", init, INIT_METHODS)
    _validate.one_of("dtype", dtype, ("float32", "float64"))
    _validate.positive("c", c)
    if not _paper_network(task):
        assert task is not None
        return _task_init(cfg, seed, task, init=init, dtype=dtype, c=c)
    N, K = cfg.N, cfg.K
    scale = 1.0 / math.sqrt(N)
    shapes: list[tuple[int, ...]]
    if cfg.model == "rank1":
        shapes = [(N,), (N,)]
    elif cfg.model == "lowrank":
        shapes = [(N, K), (K, N), (N,), ()]
    else:
        shapes = [(N, N), (N,), ()]
    if init == "numpy":
        rng = np.random.default_rng(seed)
        draws = [rng.standard_normal(s) * scale for s in shapes]
    elif init == "paper":
        draws = _paper_draws(seed, shapes, N)
    else:
        draws = _torch_draws(seed, shapes, N)
    out: dict[str, np.ndarray] = {}
    if cfg.model == "rank1":
        out = {"m": draws[0], "n": draws[1], "b": np.zeros(N)}
        if cfg.train_c:
            out["c"] = np.asarray(float(c))
    elif cfg.model == "lowrank":
        M, Nmat = draws[0], draws[1]
        if init != "numpy":
            M, Nmat = draws[1].T, draws[0].T
        out = {"M": M, "Nmat": Nmat, "b": np.zeros(N), "w_out": draws[2], "b_out": draws[3]}
    else:
        W = draws[0] if init == "numpy" else draws[0].T
        out = {"W": W, "b": np.zeros(N), "w_out": draws[1], "b_out": draws[2]}
    return {k: np.array(v, dtype=dtype, order="C") for k, v in out.items()}


def _task_init(
    cfg: RNNConfig, seed: int, task: Task, *, init: str, dtype: str, c: float
) -> dict[str, np.ndarray]:
    """The later experiments' initialisation (see :func:`init_params`)."""
    if init != "numpy":
        raise ValueError(
            f"init={init!r} gives the paper's delayed-activation networks only (no input, the "
            f"paper's readout); got task {task.name!r} with readout {task.readout!r} and "
            f"n_in={task.n_in}: use init='numpy'"
        )
    shapes = _task_shapes(cfg, task)
    N, K = cfg.N, cfg.K
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal
    scale = 1.0 / math.sqrt(N)
    out: dict[str, Any] = {}
    if cfg.model == "rank1":
        out["m"] = normal(N)
        out["n"] = normal(N) * scale
    elif cfg.model == "lowrank":
        out["M"] = normal((N, K))
        out["Nmat"] = normal((K, N)) * scale
    else:
        out["W"] = normal((N, N)) * scale
    if task.n_in:
        out["W_in"] = normal((N, task.n_in)) * math.sqrt(2.0 / (N + task.n_in))
    if "w_out" in shapes:
        if task.readout_for(cfg) == "latent_tanh":
            k = _readout_size(cfg)
            out["w_out"] = normal(k) * math.sqrt(2.0 / (k + 1))
            out["b_out"] = 0.0
        else:
            out["w_out"] = normal(N) * scale
            out["b_out"] = normal() * scale
    out["b"] = 0.1 * normal(N)
    if cfg.train_c:
        out["c"] = float(c)
    return {k: np.array(out[k], dtype=dtype, order="C") for k in shapes}


def _paper_draws(seed: int, shapes: list[tuple[int, ...]], N: int) -> list[np.ndarray]:
    """``torch.randn(shape) / sqrt(N)`` after ``torch.manual_seed(seed)``, without torch."""
    gen = torchrng.TorchGenerator(int(seed))
    sqrt_n = np.float32(math.sqrt(N))  # PyTorch divides a float32 tensor in float32
    return [(gen.randn(*s) / sqrt_n).astype(np.float64) for s in shapes]


def _torch_draws(seed: int, shapes: list[tuple[int, ...]], N: int) -> list[np.ndarray]:
    try:
        import torch
    except ImportError:
        raise ValueError(
            "init='torch' needs PyTorch, which is not installed; choose one of 'numpy', "
            "'paper' (the same weights without PyTorch)"
        ) from None
    gen = torch.Generator().manual_seed(int(seed))
    # torch.manual_seed(seed) seeds the default CPU generator exactly like this one; a
    # private generator leaves the caller's global torch state untouched.
    sqrt_n = math.sqrt(N)
    out = []
    for shape in shapes:
        t = torch.randn(shape if shape else (1,), generator=gen, dtype=torch.float32) / sqrt_n
        out.append(t.numpy().reshape(shape).astype(np.float64))
    return out


# --------------------------------------------------------------------------------------
# Fixed-order sums


def fsum(x: jax.Array, axis: int = -1) -> jax.Array:
    """Sum along ``axis`` in a fixed order built from elementwise additions.

    The axis (length ``n``) is cut into ``ceil(n / w)`` blocks of width
    ``w = ceil(sqrt(n))`` (zero-padded); the blocks are added one after the other, then
    the ``w`` partial sums from left to right. The result of each sum therefore does not
    depend on the other axes' sizes (batch-size independent bits), unlike ``jnp.sum``.

    Args:
        x: array.
        axis: axis to sum over.

    Returns:
        ``x`` summed over ``axis``.
    """
    x = jnp.moveaxis(x, axis, -1)
    n = x.shape[-1]
    if n == 0:
        return jnp.zeros(x.shape[:-1], x.dtype)
    w = max(1, math.isqrt(n - 1) + 1) if n > 1 else 1
    nb = -(-n // w)
    pad = nb * w - n
    if pad:
        x = jnp.concatenate([x, jnp.zeros((*x.shape[:-1], pad), x.dtype)], axis=-1)
    acc = x[..., :w]
    for i in range(1, nb):
        acc = acc + x[..., i * w : (i + 1) * w]
    total = acc[..., 0]
    for i in range(1, w):
        total = total + acc[..., i]
    return total


def _fdot(a: jax.Array, b: jax.Array) -> jax.Array:
    return fsum(a * b)


def sq_norm(tree: Params) -> jax.Array:
    """Sum of squares over all leaves, in a fixed order (sorted keys)."""
    total = None
    for key in sorted(tree):
        v = tree[key]
        s = fsum(jnp.reshape(v * v, (-1,))) if jnp.ndim(v) else v * v
        total = s if total is None else total + s
    assert total is not None
    return total


# --------------------------------------------------------------------------------------
# Simulation (reference)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Trajectory:
    """One trial of one network.

    Attributes:
        x: states ``x(0) .. x(n_steps)``, shape ``[n_steps + 1, N]``.
        kappa: latent variables: rank1 ``n . x(t)`` ``[n_steps + 1]``; lowrank
            ``Nmat x(t)`` ``[n_steps + 1, K]``; ``None`` for full.
        output: readouts ``o_hat(1) .. o_hat(n_steps)``, shape ``[n_steps]``.
    """

    x: jax.Array
    kappa: jax.Array | None
    output: jax.Array


def _c_of(params: Params, c: Any) -> Any:
    return params["c"] if "c" in params else c


def simulate(params: Params, cfg: RNNConfig, c: float | jax.Array = 10.0) -> Trajectory:
    """Run one trial of the full ``N``-dimensional network (the reference simulation).

    Per step ``t = 0 .. n_steps - 1``, in this order (rank1; paper Eqs. 4, 5 and 17):
    ``kappa = n . x``; ``x <- (1 - D) x + D tanh(m kappa + b)``; then the output
    ``sigmoid(c (n . x - kappa_thr))`` on the new state. lowrank/full: ``x <- (1 - D) x +
    D tanh(W x + b)`` then ``sigmoid(w_out . x + b_out)``.

    Args:
        params: one network's parameters (see the module doc).
        cfg: network configuration.
        c: rank1 confidence (``params["c"]`` is used instead when present).

    Returns:
        :class:`Trajectory`.
    """
    D = cfg.D
    dtype = params["b"].dtype
    x = jnp.full((cfg.N,), cfg.x0, dtype)
    if cfg.model == "rank1":
        m, n, b = params["m"], params["n"], params["b"]
        cc = _c_of(params, c)

        def step(x: jax.Array, _: None) -> tuple[jax.Array, jax.Array]:
            kappa = _fdot(n, x)
            x = (1 - D) * x + D * jnp.tanh(m * kappa + b)
            return x, x

    elif cfg.model == "lowrank":
        M, Nmat, b = params["M"], params["Nmat"], params["b"]

        def step(x: jax.Array, _: None) -> tuple[jax.Array, jax.Array]:
            x = (1 - D) * x + D * jnp.tanh(M @ (Nmat @ x) + b)
            return x, x

    else:
        W, b = params["W"], params["b"]

        def step(x: jax.Array, _: None) -> tuple[jax.Array, jax.Array]:
            x = (1 - D) * x + D * jnp.tanh(W @ x + b)
            return x, x

    _, xs = lax.scan(step, x, None, length=cfg.n_steps)
    X = jnp.concatenate([x[None], xs])
    if cfg.model == "rank1":
        kappa = fsum(X * params["n"])
        out = jax.nn.sigmoid(cc * (kappa[1:] - cfg.kappa_thr))
        return Trajectory(x=X, kappa=kappa, output=out)
    z = fsum(xs * params["w_out"]) + params["b_out"]
    latent = X @ params["Nmat"].T if cfg.model == "lowrank" else None
    return Trajectory(x=X, kappa=latent, output=jax.nn.sigmoid(z))


def latent_trajectory(params: Params, cfg: RNNConfig) -> jax.Array:
    """Rank-one latent recursion ``kappa(t+1) = (1 - D) kappa(t) + D n . tanh(m kappa(t) + b)``.

    Args:
        params: rank1 parameters ``m``, ``n``, ``b`` (each ``[N]``).
        cfg: a ``"rank1"`` configuration.

    Returns:
        ``kappa(0) .. kappa(n_steps)``, shape ``[n_steps + 1]``, ``kappa(0) = x0 sum(n)``.
    """
    if cfg.model != "rank1":
        raise ValueError(f"latent_trajectory needs model 'rank1', got {cfg.model!r}")
    m, n, b = params["m"], params["n"], params["b"]
    D = cfg.D
    k0 = cfg.x0 * fsum(n)

    def step(k: jax.Array, _: None) -> tuple[jax.Array, jax.Array]:
        k = (1 - D) * k + D * _fdot(n, jnp.tanh(m * k + b))
        return k, k

    _, ks = lax.scan(step, k0, None, length=cfg.n_steps)
    return jnp.concatenate([k0[None], ks])


def _loss_acc(out: jax.Array, target: jax.Array, half: int) -> tuple[jax.Array, jax.Array]:
    r = out - target
    loss = fsum(r * r) / half
    hit = ((out > 0.5) == (target > 0.5)).astype(out.dtype)
    return loss, fsum(hit) / (2 * half)


def forward_loss(
    params: Params, cfg: RNNConfig, c: float | jax.Array = 10.0
) -> tuple[jax.Array, jax.Array]:
    """Loss and accuracy of one trial of :func:`simulate` (differentiate with ``jax.grad``).

    Args:
        params: one network's parameters.
        cfg: network configuration.
        c: rank1 confidence (``params["c"]`` wins when present).

    Returns:
        ``(loss, accuracy)``: ``sum_t (o_hat - o)^2 / half`` and the fraction of steps where
        ``(o_hat > 0.5) == o``.
    """
    out = simulate(params, cfg, c).output
    return _loss_acc(out, jnp.asarray(targets(cfg), out.dtype), cfg.half)


# --------------------------------------------------------------------------------------
# Networks with inputs


def _resolve_readout(cfg: RNNConfig, readout: str | None) -> str:
    if readout is None:
        return "threshold" if cfg.model == "rank1" else "sigmoid"
    _validate.one_of("readout", readout, READOUTS)
    if readout == "threshold" and cfg.model != "rank1":
        raise ValueError(f"readout 'threshold' needs model 'rank1', got model {cfg.model!r}")
    return readout


def _check_shape(name: str, value: Any, shape: tuple[int, ...], what: str) -> None:
    if tuple(jnp.shape(value)) != shape:
        raise ValueError(f"{name} must have shape {shape} ({what}), got {tuple(jnp.shape(value))}")


def _check_trial(
    params: Params,
    cfg: RNNConfig,
    inputs: Any,
    x0: Any,
    noise: Any,
    readout: str,
) -> None:
    """Shapes of one trial's arrays and of the parameters they meet (static under jit)."""
    N = cfg.N
    if jnp.ndim(inputs) != 2:
        raise ValueError(f"inputs must have shape [steps, n_in], got {tuple(jnp.shape(inputs))}")
    S, n_in = jnp.shape(inputs)
    W_in = params.get("W_in")
    if n_in and W_in is None:
        raise ValueError(f"inputs have n_in={n_in} channel(s) but params has no 'W_in' [N, n_in]")
    if W_in is not None:
        if jnp.ndim(W_in) != 2 or jnp.shape(W_in)[0] != N:
            raise ValueError(
                f"params['W_in'] must have shape (N, n_in) with N={N}, got {tuple(jnp.shape(W_in))}"
            )
        if jnp.shape(W_in)[1] != n_in:
            raise ValueError(
                f"params['W_in'] has n_in={jnp.shape(W_in)[1]} columns but inputs have "
                f"n_in={n_in} channel(s) (shape {(S, n_in)})"
            )
    _check_shape("x0", x0, (N,), f"N={N}")
    if noise is not None:
        _check_shape("noise", noise, (S, N), f"steps={S}, N={N}")
    if readout == "sigmoid":
        _check_shape("params['w_out']", params.get("w_out"), (N,), "readout 'sigmoid'")
    elif readout == "latent_tanh":
        k = _readout_size(cfg)
        _check_shape("params['w_out']", params.get("w_out"), (k,), f"readout 'latent_tanh', K={k}")


def run_trial(
    params: Params,
    cfg: RNNConfig,
    inputs: Any,
    x0: Any,
    *,
    readout: str | None = None,
    noise: Any = None,
    c: float | jax.Array = 10.0,
) -> Trajectory:
    """Run one trial of a network with inputs, initial state and noise (the reference for tasks).

    Per step ``t = 0 .. steps - 1``::

        x(t+1) = (1 - D) x(t) + D tanh(W x(t) + W_in u_t + b) + z_t,

    with ``W x = m (n . x)`` (rank1), ``M (Nmat x)`` (lowrank) or ``W x`` (full); the
    ``W_in u_t`` term is left out without inputs and ``z_t`` without noise. Outputs are
    read on ``x(1) .. x(steps)``:

    - ``"threshold"``: ``sigmoid(c (n . x - kappa_thr))``;
    - ``"sigmoid"``: ``sigmoid(w_out . x + b_out)``;
    - ``"latent_tanh"``: ``tanh(w_out . kappa + b_out)``, ``kappa = n . x`` (rank1),
      ``Nmat x`` (lowrank), ``x`` (full).

    With no input, ``x0 = cfg.x0`` everywhere and no noise this is :func:`simulate`.

    Args:
        params: one network's parameters (:func:`param_shapes`), with ``W_in`` [N, n_in]
            when ``n_in > 0``.
        cfg: network configuration.
        inputs: ``u`` [steps, n_in] (``n_in`` may be 0).
        x0: initial state [N].
        readout: one of :data:`ghostlearn.tasks.READOUTS`, or ``None`` for the paper's
            readout of the model.
        noise: additive noise ``z`` [steps, N] (e.g. ``sigma sqrt(D) eta``), or ``None``.
        c: confidence of the ``"threshold"`` readout (``params["c"]`` wins when present).

    Returns:
        :class:`Trajectory` with ``x`` [steps + 1, N], ``kappa`` (rank1 [steps + 1],
        lowrank [steps + 1, K], full ``None``) and ``output`` [steps].

    Raises:
        ValueError: an unknown readout, or shapes that do not fit (inputs not 2-D, an
            ``n_in`` that does not match ``W_in``, ``x0`` or ``noise`` of the wrong shape,
            ``w_out`` not fitting the readout).
    """
    readout = _resolve_readout(cfg, readout)
    _check_trial(params, cfg, inputs, x0, noise, readout)
    D = cfg.D
    b = params["b"]
    dtype = b.dtype
    u = jnp.asarray(inputs, dtype)
    x = jnp.asarray(x0, dtype)
    S, n_in = u.shape
    if cfg.model == "rank1":
        m, n = params["m"], params["n"]

        def rec(x: jax.Array) -> jax.Array:
            return m * _fdot(n, x)

    elif cfg.model == "lowrank":
        M, Nmat = params["M"], params["Nmat"]

        def rec(x: jax.Array) -> jax.Array:
            return M @ (Nmat @ x)

    else:
        W = params["W"]

        def rec(x: jax.Array) -> jax.Array:
            return W @ x

    # W_in u_t for every step, a fixed-order sum over the channels: [S, N].
    drive = fsum(params["W_in"][None] * u[:, None, :]) if n_in else None
    z = None if noise is None else jnp.asarray(noise, dtype)

    def step(x: jax.Array, xs: tuple[Any, Any]) -> tuple[jax.Array, jax.Array]:
        d_t, z_t = xs
        pre = rec(x) + b if d_t is None else rec(x) + d_t + b
        x = (1 - D) * x + D * jnp.tanh(pre)
        if z_t is not None:
            x = x + z_t
        return x, x

    _, xs = lax.scan(step, x, (drive, z), length=S)
    X = jnp.concatenate([x[None], xs])
    if cfg.model == "rank1":
        kappa: jax.Array | None = fsum(X * params["n"])
    elif cfg.model == "lowrank":
        kappa = fsum(X[:, None, :] * params["Nmat"][None])  # Nmat x, fixed order: [S + 1, K]
    else:
        kappa = None
    if readout == "threshold":
        assert kappa is not None
        out = jax.nn.sigmoid(_c_of(params, c) * (kappa[1:] - cfg.kappa_thr))
    elif readout == "sigmoid":
        out = jax.nn.sigmoid(fsum(xs * params["w_out"]) + params["b_out"])
    else:
        w = params["w_out"]
        if cfg.model == "rank1":
            assert kappa is not None
            z_out = w[0] * kappa[1:]
        elif cfg.model == "lowrank":
            assert kappa is not None
            z_out = fsum(kappa[1:] * w)
        else:
            z_out = fsum(xs * w)
        out = jnp.tanh(z_out + params["b_out"])
    return Trajectory(x=X, kappa=kappa, output=out)


def _task_outputs(
    params: Params, cfg: RNNConfig, task: Task, batch: TrialBatch, c: Any, per_trial: bool
) -> jax.Array:
    """Outputs ``[trials, steps, 1]`` of every trial of ``batch`` (``jax.vmap`` over trials;
    ``per_trial``: every parameter carries a leading trial axis)."""
    readout = task.readout_for(cfg)

    def one(q: Params, u: jax.Array, x0: jax.Array, z: Any) -> jax.Array:
        return run_trial(q, cfg, u, x0, readout=readout, noise=z, c=c).output

    in_axes = (0 if per_trial else None, 0, 0, 0)
    return jax.vmap(one, in_axes=in_axes)(params, batch.inputs, batch.x0, batch.noise)[..., None]


def task_loss(
    params: Params,
    cfg: RNNConfig,
    task: Task,
    batch: TrialBatch,
    c: float | jax.Array = 10.0,
) -> tuple[jax.Array, jax.Array]:
    """Loss and accuracy of one epoch's trials of ``task`` (differentiate with ``jax.grad``).

    Runs :func:`run_trial` on every trial of ``batch`` (``jax.vmap``), with the task's
    readout, and returns ``(task.loss(o, y, mask), task.accuracy(o, y, mask))`` on the
    outputs ``o`` [trials, steps, 1].

    Args:
        params: one network's parameters.
        cfg: network configuration.
        task: the task (its readout, loss and accuracy).
        batch: the epoch's arrays (:meth:`ghostlearn.tasks.Task.batch`).
        c: confidence of the ``"threshold"`` readout (``params["c"]`` wins when present).

    Returns:
        ``(loss, accuracy)``, scalars.
    """
    out = _task_outputs(params, cfg, task, batch, c, per_trial=False)
    return task.loss(out, batch.targets, batch.mask), task.accuracy(out, batch.targets, batch.mask)


def task_loss_and_grad(
    params: Params,
    cfg: RNNConfig,
    task: Task,
    batch: TrialBatch,
    c: float | jax.Array = 10.0,
) -> LossGrad:
    """:func:`task_loss` and its gradient by ``jax.grad``, summed over trials in a fixed order.

    ``jax.grad`` of :func:`task_loss` sums the trials' contributions to each parameter's
    gradient with an XLA reduction whose order may change with the batch shape. Here
    every trial gets its own copy of the parameters, ``jax.grad`` gives each copy's
    gradient ``g_i`` [trials, ...], and ``grad = fsum_i g_i`` (:func:`fsum`), so one
    network's gradient does not depend on how many networks are computed alongside it.
    Equal to ``jax.grad(task_loss)`` up to rounding.

    Args:
        params: one network's parameters.
        cfg: network configuration.
        task: the task.
        batch: the epoch's arrays (:meth:`ghostlearn.tasks.Task.batch`).
        c: confidence of the ``"threshold"`` readout (``params["c"]`` wins when present).

    Returns:
        :class:`LossGrad`.
    """
    B = batch.inputs.shape[0]
    copies = {k: jnp.broadcast_to(v, (B, *jnp.shape(v))) for k, v in params.items()}

    def f(q: Params) -> tuple[jax.Array, jax.Array]:
        out = _task_outputs(q, cfg, task, batch, c, per_trial=True)
        return task.loss(out, batch.targets, batch.mask), task.accuracy(
            out, batch.targets, batch.mask
        )

    (loss, acc), g = jax.value_and_grad(f, has_aux=True)(copies)
    return LossGrad(loss=loss, accuracy=acc, grad={k: fsum(v, axis=0) for k, v in g.items()})


# --------------------------------------------------------------------------------------
# Hand-derived gradients


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class LossGrad:
    """Loss, accuracy and gradient of one trial.

    Attributes:
        loss: scalar loss.
        accuracy: scalar accuracy.
        grad: gradient, same structure as the parameters.
    """

    loss: jax.Array
    accuracy: jax.Array
    grad: Params


def loss_and_grad(
    params: Params, cfg: RNNConfig, c: float | jax.Array = 10.0, *, unroll: int | None = None
) -> LossGrad:
    """Loss, accuracy and exact gradient by hand-derived backpropagation through time.

    rank1 (latent form; ``e_t = dL/dkappa_t`` from the readout, ``t = 1 .. n``)::

        h_t = tanh(m kappa_t + b),  kappa_{t+1} = (1-D) kappa_t + D n . h_t,
        q_t = (1-D) + D sum_i n_i m_i (1 - h_{t,i}^2),
        lam_n = e_n,  lam_t = e_t + q_t lam_{t+1},  lam_0 = q_0 lam_1,
        dn = D sum_t lam_{t+1} h_t + x0 lam_0,
        db = n * D sum_t lam_{t+1} (1 - h_t^2),  dm = n * D sum_t lam_{t+1} kappa_t (1 - h_t^2),
        dc = sum_t (2/half) (o_t - y_t) o_t (1 - o_t) (kappa_t - kappa_thr).

    lowrank (full: ``M Nmat -> W``, ``kappa_t -> x_t``)::

        g_n = e_n w_out,  u_t = D (1 - h_t^2) * g_{t+1},  nu_t = M^T u_t,
        g_t = e_t w_out + (1-D) g_{t+1} + Nmat^T nu_t,
        dM = sum_t u_t kappa_t^T,  dNmat = sum_t nu_t x_t^T,  db = sum_t u_t,
        dw_out = sum_{t>=1} e_t x_t,  db_out = sum_t e_t,

    where ``g_t = dL/dx_t`` and ``e_t = (2/half) (o_t - y_t) o_t (1 - o_t)``.

    Args:
        params: one network's parameters.
        cfg: network configuration.
        c: rank1 confidence (``params["c"]`` wins when present).
        unroll: unroll factor of the time loops (default 1: unrolling the fixed-order
            sums multiplies XLA's compile time without a measurable speed-up).

    Returns:
        :class:`LossGrad`.
    """
    if cfg.model == "rank1":
        return _rank1_loss_and_grad(params, cfg, c, unroll)
    return _matrix_loss_and_grad(params, cfg, unroll)


def _rank1_loss_and_grad(params: Params, cfg: RNNConfig, c: Any, unroll: int | None) -> LossGrad:
    m, n, b = params["m"], params["n"], params["b"]
    dtype = b.dtype
    D, half, T = cfg.D, cfg.half, cfg.n_steps
    cc = _c_of(params, c)
    unroll = 1 if unroll is None else unroll
    nm = n * m
    k0 = cfg.x0 * fsum(n)

    def fwd(k: jax.Array, _: None) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        h = jnp.tanh(m * k + b)
        k_next = (1 - D) * k + D * _fdot(n, h)
        q = (1 - D) + D * _fdot(nm, 1 - h * h)
        return k_next, (h, k, q, k_next)

    _, (H, K0, Q, K1) = lax.scan(fwd, k0, None, length=T, unroll=unroll)
    y = jnp.asarray(targets(cfg), dtype)
    o = jax.nn.sigmoid(cc * (K1 - cfg.kappa_thr))
    loss, acc = _loss_acc(o, y, half)
    s = (2.0 / half) * (o - y) * o * (1 - o)  # dL/dz, z = c (kappa - thr)
    e = s * cc  # dL/dkappa_t (direct), t = 1 .. T

    def back(lam: jax.Array, xs: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        e_t, q_t = xs
        return e_t + q_t * lam, lam

    # lam carries lam_{t+1}; emits lam_{t+1} for t = T-1 .. 1, ends with lam_1.
    lam1, lam_tail = lax.scan(back, e[-1], (e[:-1], Q[1:]), reverse=True, unroll=unroll)
    lam_next = jnp.concatenate([lam1[None], lam_tail])  # lam_{t+1}, t = 0 .. T-1
    lam0 = Q[0] * lam1
    v = D * lam_next

    def acc_step(
        carry: tuple[jax.Array, jax.Array, jax.Array], xs: tuple[jax.Array, ...]
    ) -> tuple[tuple[jax.Array, jax.Array, jax.Array], None]:
        dn, sv, svk = carry
        h, k, vt = xs
        g = 1 - h * h
        return (dn + vt * h, sv + vt * g, svk + (vt * k) * g), None

    zero = jnp.zeros_like(n)
    (dn, sv, svk), _ = lax.scan(acc_step, (zero, zero, zero), (H, K0, v), unroll=unroll)
    grad = {"m": n * svk, "n": dn + cfg.x0 * lam0, "b": n * sv}
    if "c" in params:
        grad["c"] = fsum(s * (K1 - cfg.kappa_thr))
    return LossGrad(loss=loss, accuracy=acc, grad=grad)


def _matrix_loss_and_grad(params: Params, cfg: RNNConfig, unroll: int | None) -> LossGrad:
    low = cfg.model == "lowrank"
    b, w, b_out = params["b"], params["w_out"], params["b_out"]
    dtype = b.dtype
    D, half, T = cfg.D, cfg.half, cfg.n_steps
    unroll = 1 if unroll is None else unroll
    x0 = jnp.full((cfg.N,), cfg.x0, dtype)
    if low:
        M, Nmat = params["M"], params["Nmat"]

        def latent(x: jax.Array) -> jax.Array:
            return Nmat @ x

        def expand(k: jax.Array) -> jax.Array:
            return M @ k

    else:
        W = params["W"]

        def latent(x: jax.Array) -> jax.Array:
            return x

        def expand(k: jax.Array) -> jax.Array:
            return W @ k

    def fwd(x: jax.Array, _: None) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        k = latent(x)
        h = jnp.tanh(expand(k) + b)
        x_next = (1 - D) * x + D * h
        return x_next, (x, k, h, x_next)

    _, (X0, Kp, H, X1) = lax.scan(fwd, x0, None, length=T, unroll=unroll)
    y = jnp.asarray(targets(cfg), dtype)
    o = jax.nn.sigmoid(fsum(X1 * w) + b_out)
    loss, acc = _loss_acc(o, y, half)
    e = (2.0 / half) * (o - y) * o * (1 - o)  # dL/dz_t, t = 1 .. T
    e_prev = jnp.concatenate([jnp.zeros((1,), dtype), e[:-1]])  # e_t for t = 0 .. T-1

    def back(
        carry: tuple[jax.Array, jax.Array], xs: tuple[jax.Array, jax.Array]
    ) -> tuple[tuple[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
        g, db = carry
        h, e_t = xs
        u = D * (1 - h * h) * g
        if low:
            nu = u @ M  # M^T u
            back_x = nu @ Nmat  # Nmat^T nu
        else:
            nu = u
            back_x = u @ W  # W^T u
        g = e_t * w + (1 - D) * g + back_x
        return (g, db + u), (u, nu)

    (_, db), (U, V) = lax.scan(
        back, (e[-1] * w, jnp.zeros_like(b)), (H, e_prev), reverse=True, unroll=unroll
    )
    grad = {"b": db, "w_out": fsum(X1 * e[:, None], axis=0), "b_out": fsum(e)}
    if low:
        grad["M"] = U.T @ Kp
        grad["Nmat"] = V.T @ X0
    else:
        grad["W"] = U.T @ X0
    return LossGrad(loss=loss, accuracy=acc, grad=grad)
