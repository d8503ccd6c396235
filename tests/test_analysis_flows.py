"""Latent flows: derivatives against finite differences, exactness of the latent reduction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from ghostlearn.analysis.flows import (
    TANH2_MAX,
    TANH3_MAX,
    LowRankFlow,
    Rank1Flow,
    SaddleNodeFlow,
    lowrank_flow,
    lowrank_jacobian,
    rank1_flow,
    rank1_flow_derivatives,
)


def _random_rank1(rng: np.random.Generator, shape: tuple[int, ...], N: int = 30):
    m = rng.normal(size=(*shape, N)) * 1.5 / np.sqrt(N)
    n = rng.normal(size=(*shape, N)) * 3.0 / np.sqrt(N)
    b = rng.normal(size=(*shape, N)) * 0.5
    return m, n, b


def test_rank1_flow_matches_its_formula_term_by_term():
    rng = np.random.default_rng(0)
    m, n, b = _random_rank1(rng, (), N=7)
    k = np.array([-2.0, 0.3, 5.0])
    expected = [-x + sum(n[i] * np.tanh(m[i] * x + b[i]) for i in range(7)) for x in k]
    np.testing.assert_allclose(rank1_flow(k, m, n, b), expected, rtol=1e-14, atol=1e-14)


def test_rank1_derivatives_against_central_differences():
    rng = np.random.default_rng(1)
    m, n, b = _random_rank1(rng, (4,))
    k = np.tile(np.linspace(-6, 6, 25), (4, 1))
    h = 1e-5
    f, df, d2f = rank1_flow_derivatives(k, m, n, b)
    fd1 = (rank1_flow(k + h, m, n, b) - rank1_flow(k - h, m, n, b)) / (2 * h)
    fd2 = (rank1_flow(k + h, m, n, b) - 2 * f + rank1_flow(k - h, m, n, b)) / h**2
    np.testing.assert_allclose(df, fd1, rtol=0, atol=1e-8)
    np.testing.assert_allclose(d2f, fd2, rtol=0, atol=1e-4)


def test_derivative_bounds_hold_and_constants_are_the_tanh_maxima():
    u = np.linspace(-5, 5, 200001)
    t = np.tanh(u)
    assert np.max(np.abs(-2 * t * (1 - t * t))) == pytest.approx(TANH2_MAX, rel=1e-8)
    assert np.max(np.abs(-2 * (1 - t * t) * (1 - 3 * t * t))) == pytest.approx(TANH3_MAX)
    rng = np.random.default_rng(2)
    flow = Rank1Flow(*_random_rank1(rng, (6,)))
    k = np.tile(np.linspace(-15, 15, 3001), (6, 1))
    _, _, d2f = flow.derivatives(k)
    assert np.all(np.abs(d2f).max(axis=1) <= flow.curvature_bound())
    d3f = np.gradient(d2f, k[0], axis=1)
    assert np.all(np.abs(d3f).max(axis=1) <= flow.third_bound() * 1.001)


def test_rank1_latent_ode_is_exact_for_the_full_network():
    """kappa = n.x of the N-unit network follows tau dkappa/dt = f(kappa) exactly."""
    rng = np.random.default_rng(3)
    N, tau = 12, 10.0
    m, n, b = _random_rank1(rng, (), N=N)
    x0 = np.full(N, -0.3)

    def net(_, x):
        return (-x + np.tanh(m * (n @ x) + b)) / tau

    def lat(_, k):
        return rank1_flow(k, m, n, b) / tau

    t_eval = np.linspace(0, 200, 21)
    xs = solve_ivp(net, (0, 200), x0, t_eval=t_eval, rtol=1e-11, atol=1e-12).y
    ks = solve_ivp(lat, (0, 200), [n @ x0], t_eval=t_eval, rtol=1e-11, atol=1e-12).y[0]
    np.testing.assert_allclose(n @ xs, ks, atol=1e-8)


def test_lowrank_latent_ode_is_exact_with_bias_and_x0_outside_span():
    rng = np.random.default_rng(4)
    N, K, tau = 15, 3, 10.0
    M = rng.normal(size=(N, K)) * 2 / np.sqrt(N)
    Nm = rng.normal(size=(K, N)) * 2 / np.sqrt(N)
    b = rng.normal(size=N) * 0.4
    x0 = rng.normal(size=N)  # generic: not in the span of M

    def net(_, x):
        return (-x + np.tanh(M @ (Nm @ x) + b)) / tau

    def lat(_, k):
        return lowrank_flow(k[None, :], M, Nm, b)[0] / tau

    t_eval = np.linspace(0, 150, 16)
    xs = solve_ivp(net, (0, 150), x0, t_eval=t_eval, rtol=1e-11, atol=1e-12).y
    ks = solve_ivp(lat, (0, 150), Nm @ x0, t_eval=t_eval, rtol=1e-11, atol=1e-12).y
    np.testing.assert_allclose(Nm @ xs, ks, atol=1e-8)


def test_lowrank_jacobian_against_finite_differences():
    rng = np.random.default_rng(5)
    N, K = 20, 3
    M = rng.normal(size=(2, N, K))
    Nm = rng.normal(size=(2, K, N)) / np.sqrt(N)
    b = rng.normal(size=(2, N))
    k = rng.normal(size=(2, 4, K))
    J = lowrank_jacobian(k, M, Nm, b)
    h = 1e-6
    for j in range(K):
        e = np.zeros(K)
        e[j] = h
        col = (lowrank_flow(k + e, M, Nm, b) - lowrank_flow(k - e, M, Nm, b)) / (2 * h)
        np.testing.assert_allclose(J[..., :, j], col, atol=1e-7)


def test_rank_one_as_lowrank_is_the_same_flow():
    rng = np.random.default_rng(6)
    m, n, b = _random_rank1(rng, (3,))
    k = rng.normal(size=(3, 5))
    lr = LowRankFlow.from_rank1(m, n, b)
    np.testing.assert_allclose(lr(k[..., None])[..., 0], rank1_flow(k, m, n, b), atol=1e-14)
    df = rank1_flow_derivatives(k, m, n, b)[1]
    np.testing.assert_allclose(lr.jacobian(k[..., None])[..., 0, 0], df, atol=1e-14)


def test_saddle_node_flow_and_derivatives():
    flow = SaddleNodeFlow(np.array([-1.0, 0.5]))
    f, df, d2f = flow.derivatives(np.array([[0.0, 2.0], [1.0, -1.0]]))
    np.testing.assert_array_equal(f, [[-1.0, 3.0], [1.5, 1.5]])
    np.testing.assert_array_equal(df, [[0.0, 4.0], [2.0, -2.0]])
    np.testing.assert_array_equal(d2f, 2.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((None, np.ones(3), np.ones(3)), "m is missing"),
        ((np.ones(3), np.ones(4), np.ones(3)), r"n must have the shape of m \(3,\)"),
        ((np.ones(3), np.ones(3), np.ones((2, 3))), r"b must have the shape of m"),
        ((np.array([1.0, np.nan, 0.0]), np.ones(3), np.ones(3)), "m must be finite"),
        ((np.ones(3), np.ones(3), np.array([0, np.inf, 0])), "b must be finite"),
        ((np.ones(0), np.ones(0), np.ones(0)), "m must not be empty"),
        ((np.ones(3), "abc", np.ones(3)), "n must be a numeric array"),
    ],
)
def test_rank1_flow_rejects_bad_parameters(args, match):
    with pytest.raises(ValueError, match=match):
        Rank1Flow(*args)


def test_lowrank_flow_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"Nmat must have shape \(2, 5\)"):
        LowRankFlow(np.ones((5, 2)), np.ones((2, 4)), np.ones(5))
    with pytest.raises(ValueError, match=r"b must have shape \(5,\)"):
        LowRankFlow(np.ones((5, 2)), np.ones((2, 5)), np.ones(4))
    with pytest.raises(ValueError, match="M must have at least 2 dimension"):
        LowRankFlow(np.ones(5), np.ones((2, 5)), np.ones(5))
