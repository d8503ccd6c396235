"""The saddle-node toy model of abrupt learning: closed forms, losses, gradient descent.

The model (paper Fig. 1, End Matter) is one state ``x`` and one parameter ``r``::

    dx/dt = x^2 + r,    x(0) = 0,    o_hat(x) = sigmoid(c (x - x_thr)),

trained on the delayed-activation task: target ``o(t) = 0`` for ``t < T`` and ``1`` for
``T <= t <= 2T``, loss ``L(r) = int_0^{2T} (o_hat(x(t)) - o(t))^2 dt``.

Units: time is in arbitrary units ``[t]``; then ``[x] = 1/[t]``, ``[r] = 1/[t]^2``,
``[L] = [t]`` and a learning rate has units ``[r] / [dL/dr] = 1/[t]^5``.

Three families of functions live here:

- closed forms: :func:`trajectory`, :func:`escape_time`, :func:`threshold_time`,
  :func:`analytic_loss` and :func:`analytic_loss_grad` (the limit ``c, x_thr -> inf``),
  :func:`optimal_r`, :func:`no_return_r`, :func:`critical_lr`;
- losses at finite confidence ``c`` and threshold ``x_thr``: :func:`euler_loss` (the
  forward-Euler scheme of the paper's figures) with its exact derivative
  :func:`euler_loss_grad`, and :func:`quadrature_loss` (the exact integral);
- training: :func:`gradient_descent` (many learning rates x many initial values at once)
  and :func:`find_critical_lr` (a batched multi-point bisection for the critical
  learning rate).

Everything is float64 NumPy; nothing here prints, plots or touches the disk.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from . import _validate

__all__ = [
    "CriticalLR",
    "analytic_loss",
    "analytic_loss_grad",
    "critical_lr",
    "escape_time",
    "euler_loss",
    "euler_loss_grad",
    "find_critical_lr",
    "flow",
    "gradient_descent",
    "no_return_r",
    "optimal_r",
    "quadrature_loss",
    "threshold_time",
    "trajectory",
]

#: Upper clip applied to the Euler state after every step, as in the paper's figures.
EULER_CLIP = 1e6

Array = NDArray[np.float64]


def _f64(name: str, value: ArrayLike) -> Array:
    arr = np.asarray(value, dtype=np.float64)
    _validate.finite(name, arr if arr.ndim else float(arr))
    return arr


def _scalar_T(T: float) -> float:
    if np.ndim(T) != 0:
        raise ValueError(f"T must be a scalar, got an array of shape {np.shape(T)}")
    _validate.positive("T", float(T))
    return float(T)


def _out(arr: Array) -> Array | float:
    """Return 0-d results as Python floats, arrays unchanged."""
    return float(arr) if arr.ndim == 0 else arr


# --------------------------------------------------------------------------- closed forms


def optimal_r(T: ArrayLike) -> Array | float:
    """The global minimum of the analytic loss, ``r* = pi^2 / (4 T^2)``.

    At ``r*`` the escape time ``pi / (2 sqrt(r))`` equals ``T``, so ``L(r*) = 0``.

    Args:
        T: delay of the task, > 0; scalar or array.

    Returns:
        ``r*`` with the shape of ``T``, in ``1/[t]^2``.

    Raises:
        ValueError: if ``T`` is not finite and > 0.
    """
    _validate.positive("T", T)
    T = np.asarray(T, dtype=np.float64)
    return _out(np.pi**2 / (4.0 * T**2))


def no_return_r(T: ArrayLike) -> Array | float:
    """The point of no return ``r*/4 = pi^2 / (16 T^2)``.

    For ``r <= r*/4`` the escape time is ``>= 2T``: the output never turns on, the
    analytic loss is flat (``= T``) and its gradient is zero (the no-learning zone).

    Args:
        T: delay of the task, > 0; scalar or array.

    Returns:
        ``r*/4`` with the shape of ``T``.
    """
    _validate.positive("T", T)
    return _out(np.asarray(optimal_r(T)) / 4.0)


def critical_lr(T: ArrayLike) -> Array | float:
    """The predicted critical learning rate ``alpha* = 3 pi^4 / 32 * T^-5``.

    A step of size ``alpha* |dL/dr|`` taken from just above ``r*`` lands exactly on the
    point of no return: ``alpha* pi / (4 r*^1.5) = (3/4) r*`` (End Matter, Eq. 15).

    Args:
        T: delay of the task, > 0; scalar or array.

    Returns:
        ``alpha*`` with the shape of ``T``, in ``1/[t]^5`` (about 9.13e-10 at T = 100).
    """
    _validate.positive("T", T)
    T = np.asarray(T, dtype=np.float64)
    return _out(3.0 * np.pi**4 / 32.0 * T**-5.0)


def flow(x: ArrayLike, r: ArrayLike) -> Array | float:
    """The vector field ``dx/dt = x^2 + r`` (broadcast over ``x`` and ``r``)."""
    x = _f64("x", x)
    r = _f64("r", r)
    return _out(x * x + r)


def escape_time(r: ArrayLike) -> Array | float:
    """Blow-up time of ``x(t)`` from ``x(0) = 0``: ``pi / (2 sqrt(r))`` for r > 0, else inf.

    Args:
        r: parameter, any shape.

    Returns:
        ``t_esc`` with the shape of ``r``; ``+inf`` where ``r <= 0``.
    """
    r = _f64("r", r)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(r > 0, np.pi / (2.0 * np.sqrt(np.where(r > 0, r, 1.0))), np.inf)
    return _out(t)


def threshold_time(r: ArrayLike, x_thr: ArrayLike) -> Array | float:
    """Time at which ``x(t)`` reaches ``x_thr > 0``: ``atan(x_thr / sqrt r) / sqrt r``.

    Args:
        r: parameter, any shape.
        x_thr: threshold, > 0, broadcast against ``r``.

    Returns:
        The crossing time, ``+inf`` where ``r <= 0`` (``x`` stays ``<= 0``).
    """
    r = _f64("r", r)
    _validate.positive("x_thr", x_thr)
    x_thr = np.asarray(x_thr, dtype=np.float64)
    safe = np.where(r > 0, r, 1.0)
    s = np.sqrt(safe)
    return _out(np.where(r > 0, np.arctan(x_thr / s) / s, np.inf))


def trajectory(t: ArrayLike, r: ArrayLike) -> Array | float:
    """The exact solution of ``dx/dt = x^2 + r``, ``x(0) = 0`` (broadcast over ``t``, ``r``).

    - ``r > 0``: ``x(t) = sqrt(r) tan(sqrt(r) t)`` for ``t < pi / (2 sqrt r)``, then ``+inf``;
    - ``r = 0``: ``x(t) = 0``;
    - ``r < 0``: ``x(t) = -sqrt(-r) tanh(sqrt(-r) t)``, which tends to the stable fixed
      point ``-sqrt(-r)``.

    Args:
        t: times, ``>= 0``.
        r: parameters; ``t`` and ``r`` broadcast together.

    Returns:
        ``x(t; r)``, float64, ``+inf`` at and after the blow-up.

    Raises:
        ValueError: if ``t`` or ``r`` is not finite or ``t < 0``.
    """
    t = _f64("t", t)
    r = _f64("r", r)
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0, got {t[t < 0].flat[0] if t.ndim else float(t)}")
    t, r = np.broadcast_arrays(t, r)
    s = np.sqrt(np.abs(r))
    theta = s * t
    # Compare with the float pi/2 (just below the true one) so tan() is always finite and
    # positive where it is evaluated; at and past the blow-up x is +inf.
    below = theta < np.pi / 2
    with np.errstate(invalid="ignore", over="ignore"):
        pos = np.where(below, s * np.tan(np.where(below, theta, 0.0)), np.inf)
        neg = -s * np.tanh(theta)
    x = np.where(r > 0, pos, np.where(r < 0, neg, 0.0))
    return _out(x)


def analytic_loss(r: ArrayLike, T: float) -> Array | float:
    """The loss in the limit ``c, x_thr -> inf`` (End Matter, Eq. 12).

    ``L(r) = |T - pi / (2 sqrt r)|`` for ``r >= r*/4``, ``L(r) = T`` otherwise; it is
    continuous (``L(r*/4) = T``), zero at ``r* = pi^2 / (4 T^2)`` and tends to ``T`` as
    ``r -> inf``.

    Args:
        r: parameters, any shape.
        T: delay of the task, > 0.

    Returns:
        ``L(r)`` with the shape of ``r``, in ``[t]``.
    """
    T = _scalar_T(T)
    r = _f64("r", r)
    q = no_return_r(T)
    # in place: one temporary, so that long training histories (1e7 values) stay cheap
    loss = np.maximum(r, q, out=np.empty(r.shape))
    np.sqrt(loss, out=loss)
    np.multiply(loss, 2.0, out=loss)
    np.divide(np.pi, loss, out=loss)
    np.subtract(T, loss, out=loss)
    np.abs(loss, out=loss)
    loss[r < q] = T
    return _out(loss)


def analytic_loss_grad(r: ArrayLike, T: float) -> Array | float:
    """The derivative ``dL/dr`` of :func:`analytic_loss` (End Matter, Eq. 13).

    ::

        dL/dr = +pi / (4 r^1.5)   for r >= r*        (saturation side)
                -pi / (4 r^1.5)   for r*/4 < r < r*  (between the point of no return and r*)
                0                 for r <= r*/4      (no-learning zone)

    The loss has a kink at ``r*`` (one-sided slopes ``-+2 T^3 / pi^2``) and a jump of the
    slope at ``r*/4``. The values *at* the two points are a choice: at ``r*`` the
    right-hand slope ``+2 T^3 / pi^2`` (so a step of ``alpha*`` from ``r*`` lands exactly
    on ``r*/4``, matching the derivation of ``alpha*``); at ``r*/4`` zero (the point of no
    return belongs to the no-learning zone, where gradient descent stops).

    Args:
        r: parameters, any shape.
        T: delay of the task, > 0.

    Returns:
        ``dL/dr`` with the shape of ``r``, in ``[t]^3``.
    """
    T = _scalar_T(T)
    r = _f64("r", r)
    r_star = optimal_r(T)
    q = r_star / 4.0
    s = np.maximum(r, q)
    g = (np.pi / 4.0) / (s * np.sqrt(s))
    return _out(np.where(r >= r_star, g, np.where(r > q, -g, 0.0)))


# --------------------------------------------------------------------------- finite c losses


def _euler_setup(
    r: ArrayLike, T: float, c: ArrayLike, x_thr: ArrayLike, dt: float
) -> tuple[Array, Array, Array, int]:
    T = _scalar_T(T)
    r = _f64("r", r)
    _validate.positive("c", c)
    _validate.positive("x_thr", x_thr)
    if np.ndim(dt) != 0:
        raise ValueError(f"dt must be a scalar, got an array of shape {np.shape(dt)}")
    _validate.positive("dt", float(dt))
    n_T = round(T / dt)
    if n_T < 1 or not math.isclose(n_T * dt, T, rel_tol=1e-9):
        raise ValueError(f"T/dt must be a whole number >= 1, got T/dt = {T / dt!r}")
    r, c, x_thr = np.broadcast_arrays(
        r, np.asarray(c, dtype=np.float64), np.asarray(x_thr, dtype=np.float64)
    )
    return r, c, x_thr, n_T


def euler_loss(
    r: ArrayLike, T: float, *, c: ArrayLike, x_thr: ArrayLike, dt: float = 0.1
) -> Array | float:
    """The finite-confidence loss as the paper's figures computed it (forward Euler).

    With ``n = T/dt`` (a whole number)::

        x_0 = 0,   x_i = min(x_{i-1} + dt (x_{i-1}^2 + r), 1e6),    i = 1..2n
        L = dt * sum_{i=1}^{2n} (sigmoid(c (x_i - x_thr)) - [i > n])^2

    i.e. the output is scored on the state after each step and the target is 1 only for
    ``i > n``. The clip keeps a blown-up state finite; the sigmoid is evaluated as
    ``scipy.special.expit`` (and ``1 - sigmoid(z)`` as ``expit(-z)``), so no NaN appears.
    The paper's plots show ``L / T``.

    Args:
        r: parameters, any shape; vectorised (one time loop for all of them).
        T: delay, > 0.
        c: confidence, > 0; broadcast against ``r``.
        x_thr: threshold, > 0; broadcast against ``r``.
        dt: Euler step, > 0, with ``T/dt`` a whole number.

    Returns:
        ``L`` with the broadcast shape of ``r``, ``c``, ``x_thr``.

    Raises:
        ValueError: on non-finite or non-positive ``T``, ``c``, ``x_thr``, ``dt``, on a
            non-finite ``r``, or if ``T/dt`` is not a whole number.
    """
    from scipy.special import expit  # imported here: scipy costs a second at start-up

    r, c, x_thr, n_T = _euler_setup(r, T, c, x_thr, dt)
    x = np.zeros(r.shape)
    total = np.zeros(r.shape)
    with np.errstate(over="ignore"):
        for i in range(1, 2 * n_T + 1):
            x = np.minimum(x + dt * (x * x + r), EULER_CLIP)
            z = c * (x - x_thr)
            err = expit(z) if i <= n_T else expit(-z)
            total += err * err
    return _out(dt * total)


def euler_loss_grad(
    r: ArrayLike, T: float, *, c: ArrayLike, x_thr: ArrayLike, dt: float = 0.1
) -> Array | float:
    """The exact derivative ``dL/dr`` of :func:`euler_loss` (forward sensitivities).

    With ``s_i = dx_i/dr``: ``s_0 = 0``, ``s_i = s_{i-1} + dt (2 x_{i-1} s_{i-1} + 1)``,
    and ``s_i = 0`` on a step where the clip is active. Then, with
    ``o_i = sigmoid(z_i)``, ``z_i = c (x_i - x_thr)`` and targets ``y_i = [i > n]``::

        dL/dr = dt * sum_i 2 (o_i - y_i) o_i (1 - o_i) c s_i.

    Args and Raises as :func:`euler_loss`.

    Returns:
        ``dL/dr`` with the broadcast shape of ``r``, ``c``, ``x_thr``, in ``[t]^3``.
    """
    from scipy.special import expit  # imported here: scipy costs a second at start-up

    r, c, x_thr, n_T = _euler_setup(r, T, c, x_thr, dt)
    x = np.zeros(r.shape)
    s = np.zeros(r.shape)
    total = np.zeros(r.shape)
    with np.errstate(over="ignore"):
        for i in range(1, 2 * n_T + 1):
            s = s + dt * (2.0 * x * s + 1.0)
            x = x + dt * (x * x + r)
            clipped = x > EULER_CLIP
            x = np.where(clipped, EULER_CLIP, x)
            s = np.where(clipped, 0.0, s)
            z = c * (x - x_thr)
            o, o_bar = expit(z), expit(-z)
            # (o - y) o (1 - o): y = 0 gives o^2 o_bar, y = 1 gives -o o_bar^2
            factor = o * o * o_bar if i <= n_T else -o * o_bar * o_bar
            total += 2.0 * factor * c * s
    return _out(dt * total)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _x_scalar(t: float, r: float) -> float:
    if r > 0:
        s = math.sqrt(r)
        theta = s * t
        return s * math.tan(theta) if theta < math.pi / 2 else math.inf
    if r < 0:
        s = math.sqrt(-r)
        return -s * math.tanh(s * t)
    return 0.0


def _quad(f: Callable[[float], float], a: float, b: float, points: list[float]) -> float:
    from scipy import integrate  # imported here: scipy costs a second at start-up

    if not b > a:
        return 0.0
    inner = [p for p in points if a < p < b]
    value, _ = integrate.quad(f, a, b, points=inner or None, epsabs=1e-13, epsrel=1e-11, limit=1000)
    return value


def _quadrature_one(r: float, T: float, c: float, x_thr: float) -> float:
    t_esc = math.pi / (2.0 * math.sqrt(r)) if r > 0 else math.inf
    t_thr = math.atan(x_thr / math.sqrt(r)) / math.sqrt(r) if r > 0 else math.inf

    def before(t: float) -> float:  # (o - 0)^2
        return _sigmoid(c * (_x_scalar(t, r) - x_thr)) ** 2

    def after(t: float) -> float:  # (o - 1)^2 = sigmoid(-z)^2
        return _sigmoid(-c * (_x_scalar(t, r) - x_thr)) ** 2

    # After the blow-up o = sigmoid(+inf) = 1: the integrand is 1 before T and 0 after.
    first = _quad(before, 0.0, min(T, t_esc), [t_thr]) + max(T - t_esc, 0.0)
    second = _quad(after, T, min(2.0 * T, t_esc), [t_thr])
    return first + second


def quadrature_loss(r: ArrayLike, T: float, *, c: ArrayLike, x_thr: ArrayLike) -> Array | float:
    """The exact finite-confidence loss, by quadrature of the closed-form ``x(t)``.

    ::

        L = int_0^T sigmoid(c (x(t) - x_thr))^2 dt + int_T^{2T} sigmoid(-c (x(t) - x_thr))^2 dt

    The integrals are split at ``T``, at the threshold-crossing time
    ``atan(x_thr / sqrt r) / sqrt r`` (where the output switches, over a time of about
    ``1 / (c x_thr^2)``) and at the blow-up time ``t_esc``; beyond ``t_esc`` the output
    is exactly 1, so the first integral gains ``max(T - t_esc, 0)`` and the second
    nothing. Each piece is integrated adaptively (``scipy.integrate.quad``, relative
    tolerance 1e-11), one element of ``r`` at a time.

    As ``c, x_thr -> inf`` this tends to :func:`analytic_loss`; for ``r > 0`` the
    difference is about ``1 / x_thr`` (the output turns on at the threshold time, not at
    ``t_esc``).

    Args:
        r: parameters, any shape.
        T: delay, > 0.
        c: confidence, > 0; broadcast against ``r``.
        x_thr: threshold, > 0; broadcast against ``r``.

    Returns:
        ``L`` with the broadcast shape of the inputs, in ``[t]``.
    """
    T = _scalar_T(T)
    r = _f64("r", r)
    _validate.positive("c", c)
    _validate.positive("x_thr", x_thr)
    r, c, x_thr = np.broadcast_arrays(
        r, np.asarray(c, dtype=np.float64), np.asarray(x_thr, dtype=np.float64)
    )
    out = np.empty(r.shape)
    for idx in np.ndindex(r.shape):
        out[idx] = _quadrature_one(float(r[idx]), T, float(c[idx]), float(x_thr[idx]))
    return _out(out)


# --------------------------------------------------------------------------- gradient descent


def gradient_descent(
    T: float,
    lr: ArrayLike,
    r0: ArrayLike,
    epochs: int,
    *,
    record: Sequence[int] | None = None,
) -> xr.Dataset:
    """Plain gradient descent ``r <- r - lr * dL/dr`` on the analytic loss, batched.

    All runs (every learning rate x every initial value) advance together: one NumPy
    update per epoch on an ``(n_lr, n_instance)`` array, with :func:`analytic_loss_grad`
    (including its choice of values at ``r*`` and ``r*/4``). Every operation is
    element-wise IEEE arithmetic, so a run gives the same bits inside any batch as alone.

    Epoch convention: epoch ``e`` holds the value after ``e`` updates; epoch 0 is the
    initial value, so a full record has ``epochs + 1`` entries.

    Args:
        T: delay, > 0.
        lr: learning rates, > 0, shape ``(n_lr,)`` (a scalar counts as one).
        r0: initial values, shape ``(n_instance,)`` (shared by every learning rate),
            ``(n_lr, n_instance)``, or a scalar (one instance).
        epochs: number of updates, >= 1.
        record: epochs to keep in the output (each in ``0..epochs``); default all.
            Recording few epochs saves memory on large sweeps; ``stuck`` and ``r_min``
            always cover every epoch.

    Returns:
        Dataset with dims ``(lr, instance, epoch)``:

        - ``r`` (lr, instance, epoch): the parameter;
        - ``loss`` (lr, instance, epoch): ``analytic_loss(r)``;
        - ``r_min`` (lr, instance): the smallest ``r`` over all epochs 0..epochs;
        - ``stuck`` (lr, instance): final ``r <= r*/4`` (the gradient is zero there, so
            this is the same as having entered the no-learning zone at any epoch);

        coordinates ``lr``, ``instance`` (0..n-1), ``epoch``; attrs ``T``, ``r_star``,
        ``r_no_return``, ``alpha_star``, ``epochs``.

    Raises:
        ValueError: on bad ``T``, ``lr``, ``r0``, ``epochs`` or ``record``.
    """
    T = _scalar_T(T)
    lr = np.asarray(lr, dtype=np.float64)
    _validate.positive("lr", lr if lr.ndim else float(lr))
    lr = np.atleast_1d(lr)
    if lr.ndim != 1:
        raise ValueError(f"lr must be 1-D, got shape {lr.shape}")
    _validate.at_least("epochs", epochs, 1)
    r0 = _f64("r0", r0)
    n_lr = lr.size
    if r0.ndim == 0:
        r0 = np.full((n_lr, 1), float(r0))
    elif r0.ndim == 1:
        r0 = np.broadcast_to(r0, (n_lr, r0.size))
    elif r0.ndim != 2 or r0.shape[0] != n_lr:
        raise ValueError(
            f"r0 must have shape (n_instance,) or (n_lr, n_instance) = ({n_lr}, n), got {r0.shape}"
        )
    if r0.shape[1] == 0:
        raise ValueError("r0 must not be empty")
    if record is None:
        rec = np.arange(epochs + 1)
    else:
        rec = np.unique(np.asarray(record))
        if rec.size == 0 or rec.dtype.kind not in "iu":
            raise ValueError(f"record must be a non-empty sequence of integers, got {record!r}")
        if rec[0] < 0 or rec[-1] > epochs:
            raise ValueError(f"record must lie in 0..epochs = 0..{epochs}, got {record!r}")

    r_star = float(optimal_r(T))
    q = r_star / 4.0
    quarter_pi = np.pi / 4.0
    lr_col = lr[:, None]
    r = np.array(r0, dtype=np.float64)  # a fresh, writable copy
    r_min = r.copy()
    history = np.empty((rec.size,) + r.shape)  # epoch first: contiguous writes
    slot = np.full(epochs + 1, -1)
    slot[rec] = np.arange(rec.size)
    if slot[0] >= 0:
        history[slot[0]] = r
    s = np.empty_like(r)
    g = np.empty_like(r)
    for e in range(1, epochs + 1):
        # g = sign(r) * lr * pi / (4 s^1.5), s = max(r, r*/4): the same arithmetic as
        # analytic_loss_grad, fused in place to keep the epoch loop cheap.
        np.maximum(r, q, out=s)
        np.sqrt(s, out=g)
        g *= s
        np.divide(quarter_pi, g, out=g)
        sign = np.subtract(2.0 * (r >= r_star), r > q)  # +1, -1 or 0
        g *= sign
        g *= lr_col
        r -= g
        np.minimum(r_min, r, out=r_min)
        if slot[e] >= 0:
            history[slot[e]] = r

    loss = np.moveaxis(np.asarray(analytic_loss(history, T)), 0, -1)
    history = np.moveaxis(history, 0, -1)
    dims = ("lr", "instance", "epoch")
    return xr.Dataset(
        {
            "r": (dims, history, {"long_name": "parameter r", "units": "1/[t]^2"}),
            "loss": (dims, loss, {"long_name": "analytic loss L(r)", "units": "[t]"}),
            "r_min": (dims[:2], r_min, {"long_name": "min of r over all epochs"}),
            "stuck": (
                dims[:2],
                r <= q,
                {"long_name": "ended in the no-learning zone r <= r*/4"},
            ),
        },
        coords={
            "lr": ("lr", lr, {"long_name": "learning rate", "units": "1/[t]^5"}),
            "instance": np.arange(r.shape[1]),
            "epoch": (
                "epoch",
                rec.astype(np.int64),
                {"long_name": "epoch (number of updates; 0 = initial value)"},
            ),
        },
        attrs={
            "T": T,
            "r_star": r_star,
            "r_no_return": q,
            "alpha_star": float(critical_lr(T)),
            "epochs": int(epochs),
        },
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class CriticalLR:
    """The critical learning rate measured by :func:`find_critical_lr`.

    Attributes:
        T: delay of the task.
        predicted: ``3 pi^4 / 32 * T^-5``.
        measured: the smallest learning rate found whose run ends in the no-learning zone
            (the upper end of ``bracket``).
        bracket: ``(lo, hi)``: a run at ``lo`` stays out of the no-learning zone for all
            ``epochs``, a run at ``hi`` ends inside it; ``hi - lo <= rtol * hi``.
        epochs: epochs of every run.
        r0: the initial value of every run.
        rounds: number of batched gradient-descent calls made.
    """

    T: float
    predicted: float
    measured: float
    bracket: tuple[float, float]
    epochs: int
    r0: float
    rounds: int

    @property
    def relative_difference(self) -> float:
        """``measured / predicted - 1``."""
        return self.measured / self.predicted - 1.0


def find_critical_lr(
    T: float,
    *,
    epochs: int | None = None,
    rtol: float = 1e-3,
    points: int = 64,
    bracket: tuple[float, float] | None = None,
    r0: float | None = None,
    max_rounds: int = 60,
) -> CriticalLR:
    """Measure the critical learning rate by a batched multi-point bisection.

    A run is gradient descent on the analytic loss from ``r0`` (default ``10 r*``) for
    ``epochs`` epochs; it *fails* if it ends in the no-learning zone ``r <= r*/4`` (where
    the gradient is zero, so it never leaves). Each round evaluates ``points`` learning
    rates in one :func:`gradient_descent` call: the first round spreads them
    geometrically over ``bracket``, later rounds linearly inside the current bracket.
    The new bracket is ``(last passing rate, first failing rate)``; rounds stop when
    ``hi - lo <= rtol * hi``. The result is the smallest failing rate found.

    Why this is well posed and how many epochs: in reduced units ``k = r / r*`` the
    update reads ``k <- k -+ a k^-1.5`` with ``a = (3/4) lr / alpha*``, independent of
    ``T``, so the same epoch count serves every ``T``. From ``10 r*`` reaching ``r*``
    takes about ``(10^2.5 - 1) / (2.5 a) ~ 170 alpha* / lr`` epochs. A run can fail only
    from a step that starts at ``k >= 1`` and lands at ``k - a k^-1.5 <= 1/4``, which needs
    ``a >= 3/4``: no run below ``alpha*`` ever fails, so the result is ``>= alpha*``.
    Just above ``alpha*`` the capture window ``[1, k_c)`` is narrow and the oscillation
    about ``r*`` either falls into it (in our runs always within ~2000 epochs) or settles
    on a cycle that avoids it; which one happens is not monotonic in ``lr`` (for
    ``r0 = 10 r*``, some rates up to ~1.03 alpha* never fail). The default of 5000 epochs
    covers the descent and the capture; the multi-point rounds look for the *first*
    failing rate, which lands within about 1% above ``alpha*``.

    Args:
        T: delay, > 0.
        epochs: epochs per run, >= 1; default 5000.
        rtol: relative width of the final bracket, in (0, 1).
        points: learning rates per round, >= 3.
        bracket: ``(lo, hi)`` search range, ``0 < lo < hi``; default
            ``(alpha*/100, 100 alpha*)``. ``lo`` must pass and ``hi`` must fail.
        r0: initial value of every run; default ``10 r*``.
        max_rounds: give up after this many rounds, >= 1.

    Returns:
        A :class:`CriticalLR`.

    Raises:
        ValueError: on bad arguments, or if the bracket does not contain a pass/fail
            transition.
    """
    T = _scalar_T(T)
    epochs = 5000 if epochs is None else epochs
    _validate.at_least("epochs", epochs, 1)
    _validate.at_least("points", points, 3)
    _validate.at_least("max_rounds", max_rounds, 1)
    _validate.finite("rtol", rtol)
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol}")
    predicted = float(critical_lr(T))
    # The bisection brackets alpha* by 100x each way: both ends must be normal floats.
    if not (np.isfinite(predicted * 100.0) and predicted / 100.0 > np.finfo(float).tiny):
        raise ValueError(
            f"T must give a critical learning rate 3 pi^4/32 T^-5 within floating point "
            f"range (about 1e-60 < T < 1e60), got T={T!r} (alpha* = {predicted:g})"
        )
    r_star = float(optimal_r(T))
    start = 10.0 * r_star if r0 is None else r0
    _validate.real("r0", start)
    _validate.finite("r0", start)
    start = float(start)
    if start <= r_star / 4.0:
        raise ValueError(
            f"r0 must be > r*/4 = {r_star / 4.0:g} (below the point of no return nothing is "
            f"learned at any rate), got {start!r}"
        )
    if bracket is None:
        lo, hi = predicted / 100.0, predicted * 100.0
    else:
        _validate.interval("bracket", bracket)
        lo, hi = (float(v) for v in bracket)
        if lo <= 0:
            raise ValueError(f"bracket must be > 0, got {bracket!r}")

    def fails(lrs: Array) -> NDArray[np.bool_]:
        ds = gradient_descent(T, lrs, [start], epochs, record=[epochs])
        return ds["stuck"].values[:, 0]

    lrs = np.geomspace(lo, hi, points)
    failed = fails(lrs)
    rounds = 1
    if failed[0]:
        raise ValueError(f"bracket lower end {lo:.6g} already fails; lower it")
    if not failed[-1]:
        raise ValueError(f"bracket upper end {hi:.6g} never fails in {epochs} epochs; raise it")
    j = int(np.argmax(failed))
    lo, hi = float(lrs[j - 1]), float(lrs[j])
    while hi - lo > rtol * hi and rounds < max_rounds:
        lrs = np.linspace(lo, hi, points + 2)[1:-1]
        failed = fails(lrs)
        rounds += 1
        if failed.any():
            j = int(np.argmax(failed))
            hi = float(lrs[j])
            if j > 0:
                lo = float(lrs[j - 1])
        else:
            lo = float(lrs[-1])
    return CriticalLR(
        T=T,
        predicted=predicted,
        measured=hi,
        bracket=(lo, hi),
        epochs=int(epochs),
        r0=start,
        rounds=rounds,
    )
