"""K-D slow-point finder: known fixed points, both-ways checks, ghosts, batch and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq, fsolve

from ghostlearn.analysis.flows import LowRankFlow, lowrank_flow, lowrank_jacobian
from ghostlearn.analysis.points import rank1_points
from ghostlearn.analysis.slowpoints import find_slow_points

B_FOLD = 2.0 * math.sqrt(3.0) - math.atanh(math.sqrt(3.0) / 2.0)
N_UNITS = 12  # every test network has this many units: the finder compiles once per shape


def _embed(M, Nm, b):
    """The same latent flow with silent extra units (zero rows of M and columns of Nmat)."""
    extra = N_UNITS - M.shape[0]
    return (
        np.pad(M, ((0, extra), (0, 0))),
        np.pad(Nm, ((0, 0), (0, extra))),
        np.pad(b, (0, extra)),
    )


def test_decoupled_rank2_has_its_nine_fixed_points_with_the_right_labels():
    w = 2.0
    flow = LowRankFlow(*_embed(np.diag([w, w]), np.eye(2), np.zeros(2)))
    ks = brentq(lambda x: np.tanh(w * x) - x, 0.1, 5.0, xtol=1e-15)
    lam_out = w * (1.0 - ks**2) - 1.0  # eigenvalue at +-ks (tanh(w ks) = ks)
    lam_in = w - 1.0  # eigenvalue at 0
    expected = {}
    for a in (-ks, 0.0, ks):
        for c in (-ks, 0.0, ks):
            n_out = (a != 0) + (c != 0)
            label = {2: "stable", 0: "unstable", 1: "saddle"}[int(n_out)]
            expected[(a, c)] = (label, sorted([lam_out if a else lam_in, lam_out if c else lam_in]))
    pts = find_slow_points(flow)[()]
    assert len(pts) == 9
    for p in pts:
        key = min(expected, key=lambda e, p=p: np.hypot(e[0] - p.kappa[0], e[1] - p.kappa[1]))
        assert np.allclose(p.kappa, key, atol=1e-12)
        label, eig = expected.pop(key)
        assert p.kind == label
        np.testing.assert_allclose(sorted(e.real for e in p.eigenvalues), eig, atol=1e-12)
    assert not expected


def _true_roots_2d(M, Nm, b, lo=-15.0, hi=15.0):
    """Roots by an independent method: fsolve from every point of a dense grid where |F| is
    in its lowest 0.5 % (roots sit in the valleys of |F|)."""
    reach = np.sum(np.abs(Nm), axis=1) + 0.5
    gx = np.linspace(max(lo, -reach[0]), min(hi, reach[0]), 201)
    gy = np.linspace(max(lo, -reach[1]), min(hi, reach[1]), 201)
    X, Y = np.meshgrid(gx, gy, indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel()], axis=-1)
    S = np.linalg.norm(lowrank_flow(pts, M, Nm, b), axis=-1)
    roots: list[np.ndarray] = []
    for x0 in pts[S <= np.quantile(S, 0.005)]:
        sol, info, ok, _ = fsolve(
            lambda k: lowrank_flow(k[None], M, Nm, b)[0],
            x0,
            fprime=lambda k: lowrank_jacobian(k[None], M, Nm, b)[0],
            full_output=True,
            xtol=1e-14,
        )
        if ok == 1 and np.linalg.norm(info["fvec"]) < 1e-10:
            if all(np.linalg.norm(sol - r) > 1e-7 for r in roots):
                roots.append(sol)
    return np.array(roots).reshape(-1, 2)


def test_random_rank2_fixed_points_both_ways():
    rng = np.random.default_rng(7)
    N = N_UNITS
    total = 0
    for _ in range(5):
        M = rng.normal(size=(N, 2)) * 2.5 / np.sqrt(N)
        Nm = rng.normal(size=(2, N)) * 2.5 / np.sqrt(N)
        b = rng.normal(size=N) * 0.3
        truth = _true_roots_2d(M, Nm, b)
        pts = find_slow_points(LowRankFlow(M, Nm, b))[()]
        found = np.array([p.kappa for p in pts if p.kind != "ghost"]).reshape(-1, 2)
        # every found point is a root
        assert np.all(np.linalg.norm(lowrank_flow(found, M, Nm, b), axis=-1) < 1e-12)
        # every true root is found, and nothing else
        assert found.shape == truth.shape
        for r in truth:
            assert np.min(np.linalg.norm(found - r, axis=-1)) < 1e-9
        total += truth.shape[0]
    assert total >= 8  # several networks with more than one fixed point


def test_rank_one_written_as_rank_k_gives_the_1d_points():
    rng = np.random.default_rng(8)
    for _ in range(5):
        m, n, b = rng.normal(size=(3, N_UNITS)) * np.array([[0.9], [0.9], [0.5]])
        one = rank1_points(m, n, b)[()]
        kd = find_slow_points(LowRankFlow.from_rank1(m, n, b))[()]
        fixed = sorted(p.kappa[0] for p in kd if p.kind != "ghost")
        np.testing.assert_allclose(fixed, [fp.kappa for fp in one.fixed_points], atol=1e-12)
        for p, fp in zip([p for p in kd if p.kind != "ghost"], one.fixed_points, strict=True):
            assert p.kind == fp.stability


def test_ghost_of_a_2d_flow_past_a_fold():
    """Coordinate 1 just past the fold of -k + 2 tanh(2k + b), coordinate 2 stable at 0."""
    delta = 1e-3
    b1 = B_FOLD + delta
    flow = LowRankFlow(*_embed(np.diag([2.0, 1.0]), np.diag([2.0, 0.5]), np.array([b1, 0.0])))
    one = rank1_points(np.array([2.0]), np.array([2.0]), np.array([b1]))[()]
    (g1,) = one.ghosts
    (fp1,) = one.fixed_points
    pts = find_slow_points(flow)[()]
    kinds = sorted(p.kind for p in pts)
    assert kinds == ["ghost", "stable"]
    ghost = next(p for p in pts if p.kind == "ghost")
    stable = next(p for p in pts if p.kind == "stable")
    np.testing.assert_allclose(ghost.kappa, [g1.kappa, 0.0], atol=1e-9)
    assert ghost.speed == pytest.approx(g1.depth, rel=1e-9)
    assert ghost.q == pytest.approx(g1.depth**2 / 2, rel=1e-9)
    np.testing.assert_allclose(stable.kappa, [fp1.kappa, 0.0], atol=1e-12)
    # The ghost is not reported with a stricter significance threshold.
    assert [p.kind for p in find_slow_points(flow, ghost_tol=g1.depth / 2)[()]] == ["stable"]


def test_batch_shape_seed_reproducibility_and_extra_starts():
    rng = np.random.default_rng(9)
    M = rng.normal(size=(2, 3, N_UNITS, 2)) * 0.8
    Nm = rng.normal(size=(2, 3, 2, N_UNITS)) * 0.3
    b = rng.normal(size=(2, 3, N_UNITS)) * 0.2
    flow = LowRankFlow(M, Nm, b)
    a = find_slow_points(flow, seed=3)
    c = find_slow_points(flow, seed=3)
    assert a.n_points.shape == (2, 3)
    np.testing.assert_array_equal(a.kappa, c.kappa)
    np.testing.assert_array_equal(a.kind, c.kind)
    alone = find_slow_points(LowRankFlow(M[1, 2], Nm[1, 2], b[1, 2]), seed=3)[()]
    assert len(alone) == a.n_points[1, 2]
    # Known points given as starts are found again.
    starts = np.nan_to_num(a.kappa, nan=0.0)
    d = find_slow_points(flow, n_starts=128 - starts.shape[-2], seed=4, starts=starts)
    assert np.all(d.n_points >= a.n_points)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"box": (3.0, 3.0)}, "box must be a finite interval"),
        ({"n_starts": 0}, "n_starts must be >= 1 when no starts are given"),
        ({"n_starts": -1}, "n_starts must be >= 0"),
        ({"starts": np.zeros((4, 3))}, r"starts must have shape \('S', 2\)"),
        ({"ghost_tol": -0.1}, "ghost_tol must be >= 0"),
        ({"fixed_tol": 0.0}, "fixed_tol must be > 0"),
    ],
)
def test_find_slow_points_rejects_bad_input(kwargs, match):
    flow = LowRankFlow(np.eye(2), np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match=match):
        find_slow_points(flow, **kwargs)
    with pytest.raises(ValueError, match="flow must be a LowRankFlow"):
        find_slow_points(np.eye(2))
