"""1-D fixed points and ghosts: closed forms, independent root finding, simulation, methods."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from ghostlearn.analysis.flows import Rank1Flow, SaddleNodeFlow, rank1_flow
from ghostlearn.analysis.points import find_points, passage_time, rank1_points

METHODS = ["screen", "grid"]

# f = -k + 2 tanh(2k + b): folds where tanh(u) = k/2 and sech^2(u) = 1/4 (u = 2k + b), i.e.
# k = -sqrt(3), b = 2 sqrt(3) - atanh(sqrt(3)/2) (the left pair) and its mirror image.
B_FOLD = 2.0 * math.sqrt(3.0) - math.atanh(math.sqrt(3.0) / 2.0)


def _independent_roots(f, lo=-15.0, hi=15.0, n=200001):
    """All sign changes of f on a fine scan, each refined by brentq."""
    k = np.linspace(lo, hi, n)
    v = f(k)
    idx = np.flatnonzero(np.sign(v[:-1]) * np.sign(v[1:]) < 0)
    return np.array([brentq(f, k[i], k[i + 1], xtol=1e-15, rtol=1e-15) for i in idx])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("r", [-4.0, -1.0, -0.01, -1e-6])
def test_saddle_node_negative_r_gives_the_two_fixed_points(method, r):
    p = find_points(SaddleNodeFlow(np.array(r)), tau=1.0, method=method)[()]
    assert p.n_ghosts == 0
    assert [fp.stability for fp in p.fixed_points] == ["stable", "unstable"]
    s = math.sqrt(-r)
    np.testing.assert_allclose([fp.kappa for fp in p.fixed_points], [-s, s], rtol=1e-14)
    # the slope is Newton's last derivative, one short step from the root
    np.testing.assert_allclose([fp.slope for fp in p.fixed_points], [-2 * s, 2 * s], rtol=1e-7)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("r", [1e-4, 0.01, 0.3])
def test_saddle_node_positive_r_gives_one_ghost_with_depth_r(method, r):
    p = find_points(SaddleNodeFlow(np.array(r)), tau=1.0, method=method)[()]
    assert p.n_fixed == 0
    (g,) = p.ghosts
    assert abs(g.kappa) < 1e-12
    assert g.depth == pytest.approx(r, rel=1e-12)
    assert g.curvature == pytest.approx(2.0)
    assert g.passage_time == pytest.approx(math.pi / math.sqrt(r), rel=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_saddle_node_at_r_zero_is_one_half_stable_point(method):
    p = find_points(SaddleNodeFlow(np.array(0.0)), method=method)[()]
    assert p.n_ghosts == 0
    (fp,) = p.fixed_points
    assert fp.stability == "half-stable" and abs(fp.kappa) < 1e-12


def test_passage_time_matches_simulation_of_the_normal_form():
    r, L = 0.01, 200.0
    t_formula = passage_time(r, 2.0, tau=1.0)

    def hit(_, x):
        return x[0] - L

    hit.terminal = True
    sol = solve_ivp(lambda _, x: x**2 + r, (0, 100), [-L], events=hit, rtol=1e-11, atol=1e-12)
    t_sim = sol.t_events[0][0]
    # Outside [-L, L] the formula counts another 2/L: the difference is only that.
    assert t_sim == pytest.approx(t_formula - 2.0 / L, rel=1e-6)
    assert find_points(SaddleNodeFlow(np.array(r)), tau=1.0)[()].ghosts[0].passage_time == (
        pytest.approx(t_formula, rel=1e-12)
    )


def test_passage_time_of_a_network_ghost_converges_to_simulation():
    """Time to cross a rank-one ghost: the normal-form estimate becomes exact as d -> 0."""
    tau = 10.0
    errors = []
    for delta in (1e-2, 1e-3, 1e-4):
        m = n = np.array([2.0])
        b = np.array([B_FOLD + delta])
        (g,) = rank1_points(m, n, b, tau=tau).__getitem__(()).ghosts
        k0, k1 = g.kappa - 1.0, g.kappa + 1.0

        def hit(_, k, k1=k1):
            return k[0] - k1

        hit.terminal = True

        def rhs(_, k, m=m, n=n, b=b):
            return rank1_flow(k, m, n, b) / tau

        sol = solve_ivp(rhs, (0, 1e7), [k0], events=hit, rtol=1e-10, atol=1e-12)
        errors.append(abs(sol.t_events[0][0] / g.passage_time - 1.0))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.03


def test_hand_built_networks_roots_both_ways():
    """Every reported root is a true root and every true root is reported."""
    rng = np.random.default_rng(11)
    cases = [
        (np.array([2.0]), np.array([2.0]), np.array([0.3])),  # three roots
        (np.array([1.5, -0.7]), np.array([3.0, 1.2]), np.array([0.2, -0.5])),
    ]
    for _ in range(20):
        N = int(rng.integers(1, 4))
        cases.append((rng.normal(size=N) * 2, rng.normal(size=N) * 3, rng.normal(size=N)))
    for m, n, b in cases:

        def f(k, m=m, n=n, b=b):
            return -k + np.tanh(np.multiply.outer(k, m) + b) @ n

        truth = _independent_roots(f)
        for method in METHODS:
            p = rank1_points(m, n, b, method=method)[()]
            found = np.array([fp.kappa for fp in p.fixed_points])
            assert found.size == truth.size, (m, n, b, method)
            np.testing.assert_allclose(found, truth, atol=1e-12)
            for fp in p.fixed_points:
                h = 1e-6
                slope = (f(fp.kappa + h) - f(fp.kappa - h)) / (2 * h)
                assert fp.stability == ("stable" if slope < 0 else "unstable")
                assert fp.slope == pytest.approx(slope, abs=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_root_pair_closer_than_the_grid_spacing_is_found(method):
    # Just below the fold the left pair sits ~1e-3 apart (grid spacing 0.03).
    m = n = np.array([2.0])
    b = np.array([B_FOLD - 1e-6])

    def f(k):
        return -k + 2.0 * np.tanh(2.0 * k + b[0])

    p = rank1_points(m, n, b, method=method)[()]
    kinds = [fp.stability for fp in p.fixed_points]
    assert kinds == ["stable", "unstable", "stable"]
    left = [fp.kappa for fp in p.fixed_points[:2]]
    assert -math.sqrt(3) - 0.01 < left[0] < -math.sqrt(3) < left[1] < -math.sqrt(3) + 0.01
    for k in left:
        assert abs(f(k)) < 1e-13


@pytest.mark.parametrize("method", METHODS)
def test_fold_exactly_is_half_stable(method):
    p = rank1_points(np.array([2.0]), np.array([2.0]), np.array([B_FOLD]), method=method)[()]
    kinds = [fp.stability for fp in p.fixed_points]
    assert kinds == ["half-stable", "stable"]
    assert p.fixed_points[0].kappa == pytest.approx(-math.sqrt(3), abs=1e-6)


def _population(seed: int, count: int, N: int = 40, scale_max: float = 3.0):
    """Networks of several weight scales, biased towards flows with folds and ghosts."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.3, scale_max, size=(count, 1))
    m = rng.normal(size=(count, N)) * scale / np.sqrt(N) * 2.0
    n = rng.normal(size=(count, N)) * scale / np.sqrt(N) * 2.0
    b = rng.normal(size=(count, N)) * rng.uniform(0, 1.5, size=(count, 1))
    return m, n, b


@pytest.mark.parametrize(
    ("seed", "count", "N", "scale_max"), [(3, 600, 40, 3.0), (2, 300, 100, 8.0)]
)
def test_screen_finds_the_same_points_as_the_full_grid(seed, count, N, scale_max):
    flow = Rank1Flow(*_population(seed, count, N, scale_max))
    pg = find_points(flow, method="grid")
    ps = find_points(flow, method="screen")
    assert np.sum(pg.n_ghosts) > 10 and np.sum(pg.n_fixed > 1) > 20  # the test has teeth
    np.testing.assert_array_equal(ps.n_fixed, pg.n_fixed)
    np.testing.assert_array_equal(ps.n_ghosts, pg.n_ghosts)
    np.testing.assert_array_equal(ps.fixed_stability, pg.fixed_stability)
    np.testing.assert_allclose(ps.fixed_kappa, pg.fixed_kappa, atol=1e-12)
    np.testing.assert_allclose(ps.ghost_depth, pg.ghost_depth, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ps.ghost_kappa, pg.ghost_kappa, atol=1e-6)


def test_screen_finds_every_minimum_the_grid_finds():
    """With no significance cut, the screen may resolve a pair of critical points closer
    than the grid spacing that the grid misses, never the reverse."""
    flow = Rank1Flow(*_population(3, 600))
    pg = find_points(flow, method="grid", ghost_tol=np.inf)
    ps = find_points(flow, method="screen", ghost_tol=np.inf)
    np.testing.assert_array_equal(ps.fixed_kappa.shape, pg.fixed_kappa.shape)
    np.testing.assert_allclose(ps.fixed_kappa, pg.fixed_kappa, atol=1e-12)
    assert np.sum(pg.n_ghosts) > 100
    assert np.all(ps.n_ghosts >= pg.n_ghosts)
    for i in np.flatnonzero(pg.n_ghosts):
        for k in pg.ghost_kappa[i, : pg.n_ghosts[i]]:
            assert np.min(np.abs(ps.ghost_kappa[i, : ps.n_ghosts[i]] - k)) < 1e-6


def test_ghosts_are_minima_of_abs_f_and_not_roots():
    m, n, b = _population(4, 200)
    p = find_points(Rank1Flow(m, n, b), ghost_tol=np.inf)
    i, j = np.nonzero(~np.isnan(p.ghost_kappa))
    assert i.size > 10
    k = p.ghost_kappa[i, j]
    h = 1e-3
    around = np.stack([k - h, k, k + h], axis=1)
    f = rank1_flow(around, m[i], n[i], b[i])
    assert np.all(np.abs(f[:, 1]) < np.abs(f[:, 0]))
    assert np.all(np.abs(f[:, 1]) < np.abs(f[:, 2]))
    assert np.all(np.sign(f[:, 0]) == np.sign(f[:, 2]))
    np.testing.assert_allclose(np.abs(f[:, 1]), p.ghost_depth[i, j], rtol=1e-12)


def test_batch_equals_single_and_keeps_the_batch_shape():
    m, n, b = _population(5, 6, N=10)
    shaped = [a.reshape(2, 3, 10) for a in (m, n, b)]
    batch = rank1_points(*shaped)
    assert batch.n_fixed.shape == (2, 3)
    assert batch.fixed_kappa.shape[:2] == (2, 3)
    for i in range(2):
        for j in range(3):
            alone = rank1_points(*(a[i, j] for a in shaped))
            assert batch[i, j] == alone[()]
    small = rank1_points(*shaped, chunk_size=4)
    np.testing.assert_array_equal(small.fixed_kappa, batch.fixed_kappa)
    assert [p for p in batch] == [batch[i, j] for i in range(2) for j in range(3)]


def test_ghost_significance_and_interval():
    flow = SaddleNodeFlow(np.array([0.3, -400.0, 0.3]))
    assert list(find_points(flow).n_ghosts) == [1, 0, 1]
    assert list(find_points(flow, ghost_tol=0.1).n_ghosts) == [0, 0, 0]
    # Roots at +-20 lie outside the default interval [-15, 15].
    assert list(find_points(flow).n_fixed) == [0, 0, 0]
    assert list(find_points(flow, interval=(-25, 25)).n_fixed) == [0, 2, 0]


def test_to_dataset_and_counts():
    p = find_points(SaddleNodeFlow(np.array([-1.0, 0.0, 1e-2])), tau=2.0)
    ds = p.to_dataset()
    assert ds["n_fixed"].values.tolist() == [2, 1, 0]
    assert ds.attrs["tau"] == 2.0
    assert p.fixed_multiplicity.tolist() == [2, 2, 0]
    assert p.count("stable").tolist() == [1, 0, 0]
    assert p.count("half-stable").tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="stability must be one of"):
        p.count("weird")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval": (1.0, 1.0)}, r"interval must be a finite interval with lo < hi"),
        ({"interval": (2.0, -2.0)}, r"interval must be a finite interval"),
        ({"interval": (0.0, np.inf)}, r"interval must be a finite interval"),
        ({"n_grid": 2}, "n_grid must be >= 3, got 2"),
        ({"tau": 0.0}, "tau must be > 0"),
        ({"method": "newton"}, "method must be one of 'screen', 'grid'"),
        ({"ghost_tol": -1.0}, "ghost_tol must be >= 0"),
        ({"ghost_tol": float("nan")}, "ghost_tol must be >= 0"),
        ({"tangency_tol": -1.0}, "tangency_tol must be >= 0"),
    ],
)
def test_find_points_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_points(SaddleNodeFlow(np.array(1.0)), **kwargs)


def test_find_points_rejects_bad_flows():
    with pytest.raises(ValueError, match="flow must be a Rank1Flow or a SaddleNodeFlow"):
        find_points(np.ones(3))
    with pytest.raises(ValueError, match="m must be finite"):
        rank1_points(np.array([np.nan]), np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match="r must be finite"):
        SaddleNodeFlow(np.array([np.inf]))
