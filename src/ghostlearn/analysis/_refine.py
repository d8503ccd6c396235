"""Vectorised, bracket-safeguarded refinement of roots and extrema of 1-D flows.

All routines work on many independent problems at once (one per row); each row names
its flow (``rows``) in a :class:`~ghostlearn.analysis._backend.FlowBackend`. Rows that
have converged drop out of the working set, so a few hard cases never slow down the rest.
"""

from __future__ import annotations

import numpy as np

from ._backend import FlowBackend, gathers

_EPS = np.finfo(np.float64).eps
_BLOCK = 4096
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def bracketed_zero(
    backend: FlowBackend,
    order: int,
    rows: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    ga: np.ndarray,
    gb: np.ndarray,
    *,
    g2_bound: np.ndarray | None = None,
    max_iter: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    """Zero of ``g = d^order f / dkappa^order`` in ``[a, b]`` where ``g`` changes sign.

    Newton's method on ``g`` (with ``g'`` the next derivative), safeguarded by the bracket:
    a step that leaves the bracket, or does not halve the error fast enough, is replaced by
    bisection (the classic ``rtsafe`` scheme). The bracket is kept with ``g(lo) < 0 <=
    g(hi)``, the sign convention used for grid values too, so a zero exactly on a grid
    point is found once. Iterates until the step is within a few ulp of the point, so the
    answer is exact to machine precision. With ``g2_bound >= |g''|`` it stops one step
    earlier: after a Newton step ``d`` from ``x`` the error is at most
    ``g2_bound (2 d)^2 / (2 |g'(x)|)``, and once that is below the tolerance the step's
    result is exact to machine precision without being evaluated.

    Args:
        backend: evaluates the flow's derivatives.
        order: 0 for roots of ``f``, 1 for critical points (zeros of ``f'``).
        rows: ``[R]`` flow index of each problem.
        a, b: ``[R]`` bracket ends; ``ga, gb`` the values of ``g`` there, of opposite sign
            (``>= 0`` counts as positive).
        g2_bound: optional ``[R]`` bounds on ``|g''|`` over the bracket.

    Returns:
        ``([R] zeros, [R] g' at the last evaluated point)``: the derivative at the final
        iterate, which is within a few ulp of the zero (e.g. the slope ``f'`` at a root).
    """
    rows = np.asarray(rows)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ga = np.asarray(ga, dtype=np.float64)
    gb = np.asarray(gb, dtype=np.float64)
    bound = None if g2_bound is None else np.asarray(g2_bound, dtype=np.float64)
    n = rows.shape[0]
    # Backends that gather parameters work in blocks of bounded size (fixed compiled shapes).
    block = _BLOCK if gathers(backend) else max(n, 1)
    parts = [
        _zero_block(
            backend,
            order,
            rows[s : s + block],
            a[s : s + block],
            b[s : s + block],
            ga[s : s + block],
            gb[s : s + block],
            None if bound is None else bound[s : s + block],
            max_iter,
        )  # fmt: skip
        for s in range(0, n, block)
    ]
    if not parts:
        return np.zeros(0), np.zeros(0)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _zero_block(
    backend: FlowBackend,
    order: int,
    rows: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    ga: np.ndarray,
    gb: np.ndarray,
    bound: np.ndarray | None,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray]:
    neg_a = ga < 0
    xl = np.where(neg_a, a, b)  # g(xl) < 0
    xh = np.where(neg_a, b, a)  # g(xh) >= 0
    gl = np.where(neg_a, ga, gb)
    gh = np.where(neg_a, gb, ga)
    # First guess: the secant through the bracket ends.
    denom = gh - gl
    x = np.where(denom > 0, xl - gl * (xh - xl) / np.where(denom > 0, denom, 1.0), 0.5 * (xl + xh))
    lo, hi = np.minimum(xl, xh), np.maximum(xl, xh)
    x = np.clip(x, lo, hi)
    dx_old = np.abs(xh - xl)
    out = x.copy()
    out_dg = np.full(x.shape, np.nan)
    idx = np.arange(rows.shape[0])
    # A backend that can keep the rows' parameters gathered evaluates (g, g') in one pass.
    fused = backend if gathers(backend) and rows.size > 0 else None
    handle = None if fused is None else fused.gather(rows)
    alive = np.arange(rows.shape[0])  # positions of the working set within the handle
    for _ in range(max_iter):
        if idx.size == 0:
            break
        if fused is not None and handle is not None:
            if idx.size <= alive.size // 4:  # compact the gathered parameters
                handle = fused.take(handle, np.searchsorted(alive, idx))
                alive = idx
            g_all, dg_all = fused.pair(handle, _spread(x, idx, alive), order)
            pos = np.searchsorted(alive, idx)
            g, dg = g_all[pos], dg_all[pos]
        else:
            r = rows[idx]
            g = backend.at(r, x, order)
            dg = backend.at(r, x, order + 1)
        neg = g < 0
        xl = np.where(neg, x, xl)
        xh = np.where(neg, xh, x)
        lo, hi = np.minimum(xl, xh), np.maximum(xl, xh)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_newton = x - g / dg
        bad = (
            ~np.isfinite(x_newton)
            | (x_newton <= lo)
            | (x_newton >= hi)
            | (np.abs(2.0 * g) > np.abs(dx_old * dg))
        )
        x_new = np.where(bad, 0.5 * (xl + xh), x_newton)
        dx_old = np.where(bad, 0.5 * (hi - lo), np.abs(x_new - x))
        tol = 4.0 * _EPS * np.maximum(np.abs(x), 1.0)
        step = np.abs(x_new - x)
        done = (g == 0) | (step <= tol) | (hi - lo <= tol)
        if bound is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                done |= ~bad & (2.0 * bound[idx] * step * step <= tol * np.abs(dg))
        # Keep the evaluated point when it is exact or the step no longer moves it.
        out[idx[done]] = np.where(g[done] == 0, x[done], x_new[done])
        out_dg[idx] = dg
        keep = ~done
        idx = idx[keep]
        x, xl, xh, dx_old = x_new[keep], xl[keep], xh[keep], dx_old[keep]
    out[idx] = x
    return out, out_dg


def _spread(x: np.ndarray, idx: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """Values ``x`` of the working set ``idx`` placed at their positions within ``alive``."""
    full = np.zeros(alive.size)
    full[np.searchsorted(alive, idx)] = x
    return full


def golden_minimum(
    backend: FlowBackend,
    rows: np.ndarray,
    a: np.ndarray,
    c: np.ndarray,
    b: np.ndarray,
    sign: np.ndarray,
    *,
    n_iter: int = 48,
    n_polish: int = 4,
) -> np.ndarray:
    """Local minimum of ``sign * f`` bracketed by ``a < c < b`` with ``sign*f(c)`` lowest.

    Golden-section search keeps a bracketing triple (it converges to a local minimum
    whatever the shape of ``f`` between the ends), then a few Newton steps on ``f'``,
    kept only while they stay inside the final bracket, take the point from the
    golden section's ``sqrt(eps)`` accuracy to machine precision (they are safeguarded by
    the initial bracket: rounding makes the final golden bracket unreliable at that scale).

    Args:
        rows: ``[R]`` flow index; a, c, b: ``[R]`` the bracketing triple.
        sign: ``[R]`` +1 to minimise ``f``, -1 to minimise ``-f`` (i.e. minimise ``|f|``
            where ``f`` has that sign).

    Returns:
        ``[R]`` locations of the minima.
    """
    rows = np.asarray(rows)
    a = np.asarray(a, dtype=np.float64).copy()
    b = np.asarray(b, dtype=np.float64).copy()
    c = np.asarray(c, dtype=np.float64).copy()
    sign = np.asarray(sign, dtype=np.float64)
    if rows.size == 0:
        return c
    a0, b0 = a.copy(), b.copy()
    fc = sign * backend.at(rows, c, 0)
    for _ in range(n_iter):
        # Probe inside the larger of the two sub-intervals.
        left_larger = (c - a) > (b - c)
        x = np.where(left_larger, c - (1.0 - _GOLDEN) * (c - a), c + (1.0 - _GOLDEN) * (b - c))
        fx = sign * backend.at(rows, x, 0)
        better = fx < fc
        # New bracket: if x is better it becomes the centre, else it becomes an end.
        a_new = np.where(better, np.where(left_larger, a, c), np.where(left_larger, x, a))
        b_new = np.where(better, np.where(left_larger, c, b), np.where(left_larger, b, x))
        c = np.where(better, x, c)
        fc = np.where(better, fx, fc)
        a, b = a_new, b_new
    for _ in range(n_polish):
        d1 = backend.at(rows, c, 1)
        d2 = backend.at(rows, c, 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = c - d1 / d2
        ok = np.isfinite(x) & (x > a0) & (x < b0) & (sign * d2 > 0)
        c = np.where(ok, x, c)
    return c
