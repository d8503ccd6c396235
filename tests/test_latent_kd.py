"""K-dimensional latent circuits: exact flows with inputs, fixed points by class, 2-D ghosts,
tracking, phase portraits, the report's explorer and the animation for rank-K runs.

Truths come from closed forms (decoupled and rotation-coupled networks, the saddle-node
normal form ``F = (x^2 + r, -y)``, a fold embedded in a network) and from an independent
search (a dense grid of ``|F|`` and SciPy's root finder from its valleys, eigenvalues of
the Jacobian by finite differences).
"""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import subprocess

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from matplotlib.axes import Axes
from scipy.optimize import brentq, root

from ghostlearn.analysis import analyze_dataset, analyze_run_lowrank
from ghostlearn.analysis.flows import LowRankFlow, lowrank_flow, lowrank_speed_hessian
from ghostlearn.analysis.plane import (
    LatentPlane,
    latent_trial,
    leading_plane,
    plane_field,
    readout_values,
    trial_start,
)
from ghostlearn.analysis.plotting import plot_phase_portrait, plot_run
from ghostlearn.analysis.points import passage_time, rank1_points
from ghostlearn.analysis.slowpoints import (
    find_field_points,
    find_slow_points,
    find_slow_points_along,
)
from ghostlearn.analysis.tracking import find_bifurcations
from ghostlearn.report import animate, build_report
from ghostlearn.report.payload import PLANE_CODES, run_payload
from ghostlearn.report.sources import TrainingRun

N_UNITS = 12  # every test network has this many units: the finder compiles once per shape
B_FOLD = 2.0 * math.sqrt(3.0) - math.atanh(math.sqrt(3.0) / 2.0)  # fold of -k + 2 tanh(2k + b)


def _embed(M, Nm, b, W_in=None):
    """The same latent flow with silent extra units (zero rows of M, columns of Nmat)."""
    extra = N_UNITS - M.shape[0]
    out = [np.pad(M, ((0, extra), (0, 0))), np.pad(Nm, ((0, 0), (0, extra))), np.pad(b, (0, extra))]
    if W_in is not None:
        out.append(np.pad(W_in, ((0, extra), (0, 0))))
    return out


# --------------------------------------------------------------------------- the flow


def test_latent_flow_with_input_is_exact_for_any_initial_state():
    """kappa = Nmat x of the full network with an input follows the K-D map exactly, for
    x(0) outside the column space of M and an input W_in u outside it too."""
    rng = np.random.default_rng(0)
    N, K, n_in, D = 30, 3, 2, 0.5
    M = rng.normal(size=(N, K)) * 1.5 / math.sqrt(N)
    Nm = rng.normal(size=(K, N)) * 1.5 / math.sqrt(N)
    b = rng.normal(size=N) * 0.2
    W_in = rng.normal(size=(N, n_in))
    u = np.array([0.7, -1.2])
    x = rng.normal(size=N)  # not in span(M)
    kappas = [Nm @ x]
    for _ in range(25):
        x = (1 - D) * x + D * np.tanh(M @ (Nm @ x) + W_in @ u + b)
        kappas.append(Nm @ x)
    flow = LowRankFlow(M, Nm, b, W_in, u)
    ours = latent_trial(flow, kappas[0], D=D, n_steps=25)
    np.testing.assert_allclose(ours, np.array(kappas), rtol=0, atol=1e-12)
    # The input is a shift of the bias: the flow equals the one with b + W_in u, no input.
    k = rng.normal(size=(7, K))
    np.testing.assert_allclose(flow(k), LowRankFlow(M, Nm, b + W_in @ u)(k), atol=1e-14)
    np.testing.assert_allclose(flow(k), lowrank_flow(k, M, Nm, b, W_in, u), atol=0)


def test_speed_hessian_against_finite_differences():
    rng = np.random.default_rng(1)
    M = rng.normal(size=(N_UNITS, 3)) * 0.8
    Nm = rng.normal(size=(3, N_UNITS)) * 0.4
    b = rng.normal(size=N_UNITS) * 0.3
    W_in, u = rng.normal(size=(N_UNITS, 1)), np.array([0.4])
    k = rng.normal(size=(4, 3))
    H = lowrank_speed_hessian(k, M, Nm, b, W_in, u)

    def q(x):
        F = lowrank_flow(x, M, Nm, b, W_in, u)
        return 0.5 * np.sum(F * F, axis=-1)

    h = 1e-4
    eye = np.eye(3) * h
    fd = np.stack(
        [
            np.stack(
                [
                    (q(k + eye[i] + eye[j]) - q(k + eye[i] - eye[j]) - q(k - eye[i] + eye[j])
                     + q(k - eye[i] - eye[j])) / (4 * h * h)
                    for j in range(3)
                ],
                axis=-1,
            )
            for i in range(3)
        ],
        axis=-2,
    )  # fmt: skip
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6)


def test_flow_rejects_half_an_input():
    M, Nm, b = np.ones((4, 2)), np.ones((2, 4)), np.zeros(4)
    with pytest.raises(ValueError, match="u is missing: give both W_in and u, or neither"):
        LowRankFlow(M, Nm, b, W_in=np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"u must have 1 entries \(W_in has 1 inputs\)"):
        LowRankFlow(M, Nm, b, np.ones((4, 1)), np.ones(2))
    with pytest.raises(ValueError, match="W_in must have shape"):
        LowRankFlow(M, Nm, b, np.ones((3, 1)), np.ones(1))


# --------------------------------------------------------------------------- fixed points


def _truth(M, Nm, b, lo=-15.0, hi=15.0, n=301):
    """Roots by an independent search: SciPy's root finder from every local minimum of
    |F| on a dense grid; classes from finite-difference Jacobians."""
    reach = np.sum(np.abs(Nm), axis=1) + 0.1
    gx = np.linspace(max(lo, -reach[0]), min(hi, reach[0]), n)
    gy = np.linspace(max(lo, -reach[1]), min(hi, reach[1]), n)
    X, Y = np.meshgrid(gx, gy, indexing="ij")
    S = np.linalg.norm(lowrank_flow(np.stack([X, Y], -1).reshape(-1, 2), M, Nm, b), axis=-1)
    S = S.reshape(n, n)
    P = np.pad(S, 1, constant_values=np.inf)
    low = np.ones_like(S, bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                low &= S <= P[1 + di : 1 + di + n, 1 + dj : 1 + dj + n]
    roots: list[np.ndarray] = []
    for i, j in zip(*np.nonzero(low), strict=True):
        sol = root(lambda k: lowrank_flow(k[None], M, Nm, b)[0], [gx[i], gy[j]], tol=1e-14)
        r = sol.x
        if np.linalg.norm(lowrank_flow(r[None], M, Nm, b)[0]) < 1e-11:
            if all(np.linalg.norm(r - q) > 1e-7 for q in roots):
                roots.append(r)
    out = []
    for r in roots:
        h = 1e-6

        def F(x):
            return lowrank_flow(x[None], M, Nm, b)[0]

        J = np.stack([(F(r + h * e) - F(r - h * e)) / (2 * h) for e in np.eye(2)], axis=1)
        lam = np.linalg.eigvals(J)
        if np.all(lam.real < 0):
            cls = "stable focus" if np.any(np.abs(lam.imag) > 1e-6) else "stable node"
        elif np.all(lam.real > 0):
            cls = "unstable focus" if np.any(np.abs(lam.imag) > 1e-6) else "unstable node"
        else:
            cls = "saddle"
        out.append((r, cls))
    return out


def _both_ways(found, truth, atol=1e-8):
    """Every found point is a true one of the same class, every true one is found."""
    assert len(found) == len(truth), (found, truth)
    for k, cls in found:
        match = [c for r, c in truth if np.linalg.norm(np.asarray(k) - r) < atol]
        assert match == [cls]
    for r, cls in truth:
        assert any(np.linalg.norm(np.asarray(k) - r) < atol and c == cls for k, c in found)


def _hand_built():
    """Rank-2 networks with known points (2 to 4 units, embedded in N_UNITS).

    - ``"decoupled"``: ``F_i = -k_i + tanh(w_i k_i + b_i)``, w = (2, 2.5), b = (0.1, -0.2):
      3 x 3 points, products of the 1-D roots (nodes and saddles).
    - ``"saddle"``: w = (2, 0.5): (+-k*, 0) stable nodes, (0, 0) a saddle.
    - ``"focus"``: ``F = -k + tanh(A k)``, A = [[a, -c], [c, a]]: the origin is a focus with
      eigenvalues ``a - 1 +- i c`` (stable for a = 0.6, unstable for a = 1.4).
    """
    nets = {
        "decoupled": (np.diag([2.0, 2.5]), np.eye(2), np.array([0.1, -0.2])),
        "saddle": (np.diag([2.0, 0.5]), np.eye(2), np.zeros(2)),
        "stable focus": (np.array([[0.6, -0.8], [0.8, 0.6]]), np.eye(2), np.zeros(2)),
        "unstable focus": (np.array([[1.4, -0.8], [0.8, 1.4]]), np.eye(2), np.zeros(2)),
    }
    return {k: _embed(*v) for k, v in nets.items()}


def test_hand_built_rank2_points_and_classes_both_ways():
    nets = _hand_built()
    flow = LowRankFlow(*(np.stack([v[i] for v in nets.values()]) for i in range(3)))
    pts = find_slow_points(flow)
    for i, (M, Nm, b) in enumerate(nets.values()):
        found = [(p.kappa, p.stability) for p in pts[i] if p.kind != "ghost"]
        _both_ways(found, _truth(M, Nm, b))
    # Closed forms: the decoupled network's nine points are products of 1-D roots.
    dec = [(p.kappa, p.stability) for p in pts[0]]
    roots = []
    for w, bb in ((2.0, 0.1), (2.5, -0.2)):
        g = np.linspace(-3, 3, 6001)
        f = -g + np.tanh(w * g + bb)
        roots.append(
            [
                brentq(lambda x, w=w, bb=bb: -x + np.tanh(w * x + bb), g[j], g[j + 1], xtol=1e-15)
                for j in np.flatnonzero(f[:-1] * f[1:] < 0)
            ]
        )
    assert sorted(tuple(np.round(k, 9)) for k, _ in dec) == sorted(
        (round(x, 9), round(y, 9)) for x in roots[0] for y in roots[1]
    )
    # the foci: eigenvalues a - 1 +- 0.8 i at the origin
    for i, (a, cls) in ((2, (0.6, "stable focus")), (3, (1.4, "unstable focus"))):
        (p,) = [p for p in pts[i] if np.allclose(p.kappa, 0, atol=1e-12)]
        assert p.stability == cls
        np.testing.assert_allclose(sorted(p.eigenvalues, key=lambda z: z.imag),
                                   [a - 1 - 0.8j, a - 1 + 0.8j], atol=1e-12)  # fmt: skip


def test_random_rank2_networks_both_ways():
    rng = np.random.default_rng(11)
    Ms, Nms, bs = [], [], []
    for _ in range(6):
        M0 = rng.normal(size=(N_UNITS, 2))
        Ms.append(M0)
        Nms.append(3.0 * (M0.T + 0.6 * rng.normal(size=(2, N_UNITS))) / N_UNITS)
        bs.append(rng.normal(size=N_UNITS) * 0.3)
    flow = LowRankFlow(np.stack(Ms), np.stack(Nms), np.stack(bs))
    pts = find_slow_points(flow)
    total = 0
    for i in range(6):
        truth = _truth(Ms[i], Nms[i], bs[i])
        found = [(p.kappa, p.stability) for p in pts[i] if p.kind != "ghost"]
        _both_ways(found, truth)
        total += len(truth)
    assert total >= 15  # several networks with many fixed points


def test_marginal_point_at_an_exact_fold():
    """At the fold of coordinate 1 (b = B_FOLD), the double root (-sqrt 3, 0) is marginal."""
    M, Nm, b = _embed(np.diag([2.0, 0.5]), np.diag([2.0, 1.0]), np.array([B_FOLD, 0.0]))
    pts = find_slow_points(LowRankFlow(M, Nm, b))[()]
    marginal = [p for p in pts if p.kind == "marginal"]
    assert len(marginal) == 1
    np.testing.assert_allclose(marginal[0].kappa, [-math.sqrt(3.0), 0.0], atol=1e-6)
    assert marginal[0].stability == "marginal"
    assert min(abs(e.real) for e in marginal[0].eigenvalues) < 1e-6


# --------------------------------------------------------------------------- ghosts in 2-D


def _normal_form(k, p):
    """``F = R f(R^T (k - c))`` with ``f = (x^2 + r, -y)``: a saddle-node normal form
    rotated by ``theta`` and centred at ``c``; p = (r, theta, c_x, c_y)."""
    r, th = p[0], p[1]
    c, s = jnp.cos(th), jnp.sin(th)
    d = k - jnp.stack([p[2], p[3]])
    x, y = c * d[0] + s * d[1], -s * d[0] + c * d[1]
    fx, fy = x * x + r, -y
    return jnp.stack([c * fx - s * fy, s * fx + c * fy])


def test_ghost_of_the_2d_saddle_node_normal_form():
    params = np.array(
        [[0.1, 0.0, 0.0, 0.0], [0.05, 0.7, 0.3, -0.2], [0.3, -1.1, -0.5, 0.4],
         [-0.25, 0.3, 0.0, 0.0], [0.7, 0.0, 0.0, 0.0]]
    )  # fmt: skip
    pts = find_field_points(_normal_form, params, dim=2, box=(-2.0, 2.0))
    wide = find_field_points(_normal_form, params, dim=2, box=(-2.0, 2.0), ghost_tol=1.0)
    for i, (r, th, cx, cy) in enumerate(params[:3]):
        (g,) = pts[i]
        assert g.kind == "ghost" and g.stability == "ghost"
        np.testing.assert_allclose(g.kappa, [cx, cy], atol=1e-10)
        assert g.speed == pytest.approx(r, rel=1e-10)  # depth r: q = r^2 / 2
        assert g.q == pytest.approx(r * r / 2, rel=1e-10)
        R = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
        np.testing.assert_allclose(g.hessian, R @ np.diag([2 * r, 1.0]) @ R.T, atol=1e-9)
        # pi / sqrt(r): the exact passage time of x' = x^2 + r (tau = 1)
        assert g.passage_time == pytest.approx(math.pi / math.sqrt(r), rel=1e-8)
    # r < 0: a stable node at -sqrt(-r) and a saddle at +sqrt(-r) (rotated), no ghost.
    r, th = params[3, :2]
    e1 = np.array([math.cos(th), math.sin(th)])
    got = sorted((p.stability, tuple(np.round(p.kappa, 9))) for p in pts[3])
    want = sorted(
        [("stable node", tuple(np.round(-0.5 * e1, 9))), ("saddle", tuple(np.round(0.5 * e1, 9)))]
    )
    assert got == want
    # r beyond ghost_tol: a minimum of |F| too fast to matter is not reported.
    assert len(pts[4]) == 0
    (g,) = wide[4]
    assert g.kind == "ghost" and g.speed == pytest.approx(0.7, rel=1e-10)


def test_ghost_past_a_fold_in_a_network_has_the_1d_depth_curvature_and_passage():
    """Coordinate 1 just past the fold of -k + 2 tanh(2k + b), coordinate 2 stable: the
    2-D ghost has the 1-D ghost's depth d, Hessian diag(d |f''|, f2'^2) and passage time."""
    delta = 0.02
    b1 = B_FOLD + delta
    M, Nm, b = _embed(np.diag([2.0, 1.0]), np.diag([2.0, 0.5]), np.array([b1, 0.0]))
    (g1,) = rank1_points(np.array([2.0]), np.array([2.0]), np.array([b1]), tau=10.0)[()].ghosts
    pts = find_slow_points(LowRankFlow(M, Nm, b), tau=10.0)[()]
    (g,) = [p for p in pts if p.kind == "ghost"]
    np.testing.assert_allclose(g.kappa, [g1.kappa, 0.0], atol=1e-9)
    assert g.speed == pytest.approx(g1.depth, rel=1e-9)
    np.testing.assert_allclose(
        g.hessian, np.diag([g1.depth * abs(g1.curvature), 0.25]), rtol=1e-7, atol=1e-12
    )
    assert g.passage_time == pytest.approx(
        float(passage_time(g1.depth, g1.curvature, 10.0)), rel=1e-7
    )
    assert g.passage_time == pytest.approx(g1.passage_time, rel=1e-7)


def test_an_input_moves_the_ghost_like_the_bias_it_adds():
    """Part of the bias given as W_in u instead: the same points, found under the input."""
    delta = 0.02
    bias = np.array([B_FOLD + delta, 0.0])
    W_in = np.array([[1.0], [0.5]])
    u = np.array([0.3])
    M, Nm, b, W = _embed(np.diag([2.0, 1.0]), np.diag([2.0, 0.5]), bias - W_in @ u, W_in)
    with_input = find_slow_points(LowRankFlow(M, Nm, b, W, u))[()]
    M2, Nm2, b2 = _embed(np.diag([2.0, 1.0]), np.diag([2.0, 0.5]), bias)
    plain = find_slow_points(LowRankFlow(M2, Nm2, b2))[()]
    assert [p.stability for p in with_input] == [p.stability for p in plain]
    for p, q in zip(with_input, plain, strict=True):
        np.testing.assert_allclose(p.kappa, q.kappa, atol=1e-10)
    # and without the input the ghost is gone (the bias is back before the fold)
    no_input = find_slow_points(LowRankFlow(M, Nm, b, W, np.zeros(1)))[()]
    assert "ghost" not in [p.kind for p in no_input]


# --------------------------------------------------------------------------- snapshots


def _fold_series(S=12):
    """Rank-2 snapshots whose coordinate 1 crosses the fold (b1 from below to above B_FOLD)."""
    b1 = B_FOLD + np.linspace(-0.15, 0.15, S)
    M = np.zeros((S, N_UNITS, 2))
    Nm = np.zeros((S, 2, N_UNITS))
    b = np.zeros((S, N_UNITS))
    M[:, 0, 0], M[:, 1, 1] = 2.0, 1.0
    Nm[:, 0, 0], Nm[:, 1, 1] = 2.0, 0.5
    b[:, 0] = b1
    return M, Nm, b, b1


def test_continuation_tracks_and_saddle_node_across_snapshots():
    M, Nm, b, b1 = _fold_series()
    calls: list[tuple[int, int]] = []
    pts = find_slow_points_along(LowRankFlow(M, Nm, b), progress=lambda d, t: calls.append((d, t)))
    before = b1 < B_FOLD
    assert pts.n_fixed.tolist() == [3 if x else 1 for x in before]
    assert pts.n_ghosts[~before].tolist() == [1] * int((~before).sum())
    # progress: (0, total) first, never backwards, (total, total) last
    assert calls[0] == (0, 2 * b1.size) and calls[-1] == (2 * b1.size, 2 * b1.size)
    assert all(a[0] <= c[0] for a, c in zip(calls, calls[1:], strict=False))
    epochs = np.arange(b1.size) * 10.0
    fk, fkinds = pts.fixed()
    (bif,) = find_bifurcations(epochs, fk, fkinds, max_jump=1.0)
    s = int(np.argmax(~before))
    assert (bif.kind, bif.direction, bif.epoch_after) == ("saddle-node", "vanish", epochs[s])
    assert set(bif.kinds) == {"stable", "saddle"}


def test_a_marginal_point_counts_twice():
    epochs = [0.0, 1.0, 2.0, 3.0]
    kappa = np.full((4, 2, 2), np.nan)
    kinds = np.full((4, 2), "", dtype=object)
    kappa[0, 0], kappa[0, 1] = (-1.8, 0.0), (-1.6, 0.0)
    kinds[0] = ["stable", "saddle"]
    kappa[1, 0], kinds[1, 0] = (-1.7, 0.0), "marginal"
    kappa[2, 0], kinds[2, 0] = (-1.7, 0.0), "marginal"
    bifs = find_bifurcations(epochs, kappa, kinds.astype(str), max_jump=1.0)
    (b,) = bifs  # none between two points and the double point they merge into
    assert (b.kind, b.epoch_after, b.n_fixed_before, b.n_fixed_after) == ("saddle-node", 3.0, 2, 0)


def _rank2_dataset(S=12, readout="state"):
    """A 'training run' of one rank-2 network crossing the fold, as train() stores it."""
    M, Nm, b, b1 = _fold_series(S)
    E = S * 10
    epochs = np.arange(E)
    loss = np.where(epochs < 60, 1.0, 0.01 + 0.99 * np.exp(-(epochs - 60) / 2.0))
    data = {
        "snap_M": (("net", "snapshot", "unit", "k"), M[None]),
        "snap_Nmat": (("net", "snapshot", "k", "unit"), Nm[None]),
        "snap_b": (("net", "snapshot", "unit"), b[None]),
        "loss": (("net", "epoch"), loss[None]),
        "accuracy": (("net", "epoch"), np.where(epochs < 62, 0.5, 1.0)[None]),
        "grad_norm": (("net", "epoch"), np.where(epochs < 60, 1e-3, 1e-1)[None]),
    }
    if readout == "state":
        w = np.zeros((1, S, N_UNITS))
        w[..., 0] = 1.0
        data["snap_w_out"] = (("net", "snapshot", "unit"), w)
    else:
        w = np.tile(np.array([1.0, 0.5]), (1, S, 1))
        data["snap_w_out"] = (("net", "snapshot", "k"), w)
    data["snap_b_out"] = (("net", "snapshot"), np.full((1, S), 0.2))
    return xr.Dataset(
        data,
        coords={
            "net": [0],
            "seed": ("net", [7]),
            "lr": ("net", [0.02]),
            "c": ("net", [np.nan]),
            "snapshot": np.arange(S) * 10,
            "epoch": epochs,
        },  # fmt: skip
        attrs={
            "model": {
                "model": "lowrank",
                "rank": 2,
                "N": N_UNITS,
                "tau": 10.0,
                "dt": 5.0,
                "T": 100.0,
                "x0": -0.3,
            }
        },  # fmt: skip
    )


def test_analyze_dataset_rank2_keeps_readout_trial_and_reports_progress():
    ds = _rank2_dataset()
    calls: list[tuple[int, int]] = []
    (run,) = analyze_dataset(ds, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 1) and calls[-1] == (1, 1)
    assert run.model == "lowrank" and run.readout is not None and run.readout.kind == "state"
    assert run.trial == {"x0": -0.3, "D": 0.5, "n_steps": 40.0}
    assert [b.kind for b in run.bifurcations if b.is_bifurcation] == ["saddle-node"]
    table = run.to_xarray()
    assert "n_marginal" in table and "n_saddle" in table
    # the same run given as arrays, with the input folded into the bias
    M, Nm, b, _ = _fold_series()
    W_in = np.zeros((b.shape[0], N_UNITS, 1))
    W_in[:, 0, 0] = 1.0  # the input drives unit 0 only: b_0 = (b_0 - 0.05) + 1 * 0.05
    shifted = b.copy()
    shifted[:, 0] -= 0.05
    direct = analyze_run_lowrank(
        ds["snapshot"].values, M, Nm, shifted, ds["loss"].values[0], W_in=W_in,
        u=np.array([0.05]), loss_epochs=ds["epoch"].values,
    )  # fmt: skip
    np.testing.assert_array_equal(direct.n_fixed, run.n_fixed)
    np.testing.assert_allclose(direct.points.kappa, run.points.kappa, atol=1e-9)


# --------------------------------------------------------------------------- portraits


def test_phase_portrait_draws_every_layer():
    M, Nm, b = _hand_built()["saddle"]
    flow = LowRankFlow(M, Nm, b)
    traj = latent_trial(flow, np.array([[0.05, 1.0], [-0.05, -1.0]]), D=0.5, n_steps=30)
    ax = plot_phase_portrait(flow, trajectories=traj, readout=(np.array([1.0, 0.0]), 0.0, 0.3))
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["readout boundary", "trial kappa(t)", "stable node", "saddle"]
    assert ax.get_title() == "latent flow (K = 2)"
    assert ax.get_xlabel() == "kappa_1"
    # the heat map is the speed |F| on the grid, on a log colour scale
    mesh = ax.collections[0]
    field = plane_field(flow, LatentPlane.axes(2), (ax.get_xlim(), ax.get_ylim()), 120)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(120, 120),
                               np.maximum(field.speed, 1e-12), rtol=1e-12)  # fmt: skip
    assert mesh.norm.__class__.__name__ == "LogNorm"
    # the boundary of (w_out, b_out, threshold) is the line kappa_1 = 0.3
    assert readout_values((np.array([1.0, 0.0]), 0.0, 0.3), np.array([[0.3, 5.0]])) == 0.0
    with pytest.raises(
        ValueError, match=r"trajectories must have shape \[conditions, steps, K = 2\]"
    ):
        plot_phase_portrait(flow, trajectories=np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="flow must be one LowRankFlow"):
        plot_phase_portrait(LowRankFlow(M[None], Nm[None], b[None]))


def test_phase_portrait_arrows_point_along_the_flow():
    """``arrows``: unit arrows on every 8th grid point (n_grid 120), along the flow there."""
    from matplotlib.quiver import Quiver

    M, Nm, b = _hand_built()["saddle"]
    flow = LowRankFlow(M, Nm, b)
    ax = plot_phase_portrait(flow, streamlines=False, arrows=True, legend=False)
    (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
    field = plane_field(flow, LatentPlane.axes(2), (ax.get_xlim(), ax.get_ylim()), 120)
    d = field.flow[::8, ::8]
    np.testing.assert_allclose(quiver.U, (d[..., 0] / np.hypot(d[..., 0], d[..., 1])).ravel())
    np.testing.assert_allclose(np.hypot(quiver.U, quiver.V), 1.0)
    assert not plot_phase_portrait(flow, streamlines=False, legend=False).patches  # no arrows


def test_phase_portrait_of_rank3_is_projected_on_the_leading_plane():
    rng = np.random.default_rng(3)
    M = rng.normal(size=(N_UNITS, 3))
    Nm = 2.0 * (M.T + 0.5 * rng.normal(size=(3, N_UNITS))) / N_UNITS
    flow = LowRankFlow(M, Nm, rng.normal(size=N_UNITS) * 0.2)
    k0 = trial_start(flow, -0.3)
    traj = latent_trial(flow, k0, D=0.5, n_steps=40)
    plane = leading_plane(flow, [traj])
    assert plane.projected and np.allclose(plane.basis @ plane.basis.T, np.eye(2))
    # the plane holds the trajectory's two leading directions: its residual is the third
    centred = traj - traj.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    resid = centred - (centred @ plane.basis.T) @ plane.basis
    assert np.linalg.norm(resid) == pytest.approx(sv[2], rel=1e-8)
    ax = plot_phase_portrait(flow, trajectories=traj[None], plane=plane)
    assert "projection on the two leading directions" in ax.get_title()
    assert "projection" in ax.get_xlabel()


def test_plot_run_draws_rank2_portraits():
    (run,) = analyze_dataset(_rank2_dataset())
    fig = plot_run(run, flow_epochs=[0, 110])
    portraits = [a for a in fig.axes if a.get_xlabel() == "kappa_1"]
    assert len(portraits) == 2
    assert any("colorbar" in a.get_label() or a.get_ylabel().startswith("speed") for a in fig.axes)


# --------------------------------------------------------------------------- report and film


def _payload(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="gl-payload">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_report_draws_rank2_portraits_on_the_slider(tmp_path):
    from ghostlearn.store import write_zarr

    ds = _rank2_dataset(readout="latent")
    write_zarr(ds, tmp_path / "train.zarr")
    page = build_report(tmp_path / "train.zarr")
    assert "rank-one networks only" not in page and 'id="gl-plane-legend"' in page
    payload = _payload(page)
    (net,) = payload["runs"][0]["nets"]
    snap = net["snap"]
    assert snap["has_flow"] and snap["plane"] and snap["K"] == 2 and not snap["projected"]
    S, n = len(snap["epoch"]), snap["n"]
    assert snap["epoch"] == [float(e) for e in ds["snapshot"].values]
    # the speed on the grid, log10 |F| in uint8 levels over log_range
    lo, hi = snap["log_range"]
    (a0, a1), (b0, b1) = snap["limits"]
    A, B = np.meshgrid(np.linspace(a0, a1, n), np.linspace(b0, b1, n))
    grid = np.stack([A, B], -1).reshape(-1, 2)
    levels = np.frombuffer(base64.b64decode(snap["log_speed"]), np.uint8).reshape(S, n, n)
    angle = np.frombuffer(base64.b64decode(snap["angle"]), np.uint8).reshape(S, n, n)
    M, Nm, bb, b1 = _fold_series()
    for s in (0, S - 1):
        F = lowrank_flow(grid, M[s], Nm[s], bb[s]).reshape(n, n, 2)
        exact = np.clip((np.log10(np.linalg.norm(F, axis=-1)) - lo) / (hi - lo) * 255, 0, 255)
        assert np.max(np.abs(levels[s] - exact)) <= 0.5 + 1e-9
        turn = np.arctan2(F[..., 1], F[..., 0]) / (2 * np.pi) * 256
        diff = (angle[s] - turn + 128) % 256 - 128
        assert np.max(np.abs(diff)) <= 0.5 + 1e-9
    # points: before the fold three fixed points (stable nodes and a saddle), after it a
    # stable node and a ghost, at the closed-form places
    codes = {v: k for k, v in PLANE_CODES.items()}
    first = sorted(codes[p[2]] for p in snap["points"][0])
    last = sorted(codes[p[2]] for p in snap["points"][-1])
    assert first == ["saddle", "stable node", "stable node"]
    assert last == ["ghost", "stable node"]
    (g1,) = rank1_points(np.array([2.0]), np.array([2.0]), np.array([b1[-1]]))[()].ghosts
    (g,) = [p for p in snap["points"][-1] if codes[p[2]] == "ghost"]
    assert g[0] == pytest.approx(g1.kappa, abs=1e-4) and g[1] == pytest.approx(0, abs=1e-4)
    assert g[3] == pytest.approx(g1.depth, rel=1e-2)
    # the trial: kappa(0) = x0 Nmat 1, then the latent map (exactly Nmat x(t))
    traj = np.frombuffer(base64.b64decode(snap["traj"]), "<f4").reshape(S, snap["traj_len"], 2)
    x = np.full(N_UNITS, -0.3)
    ref = [Nm[0] @ x]
    for _ in range(40):
        x = 0.5 * x + 0.5 * np.tanh(M[0] @ (Nm[0] @ x) + bb[0])
        ref.append(Nm[0] @ x)
    np.testing.assert_allclose(traj[0], np.array(ref), atol=1e-6)
    # the latent readout (1, 0.5) . kappa + 0.2: its zero line through the grid
    z = np.frombuffer(base64.b64decode(snap["readout"]), np.int8).reshape(S, n, n)
    exact_z = (grid @ np.array([1.0, 0.5]) + 0.2).reshape(n, n)
    assert np.array_equal(
        np.sign(z[0])[np.abs(exact_z) > 0.05], np.sign(exact_z)[np.abs(exact_z) > 0.05]
    )
    assert snap["readout_kind"] == "latent"
    assert len(payload["colormap"]) == 256 * 6
    assert [e["type"] for e in net["events"]].count("bifurcation") == 1


def test_report_of_an_npz_of_rank2_snapshots_has_portraits(tmp_path):
    M, Nm, b, _ = _fold_series()
    np.savez(tmp_path / "snaps.npz", M=M, Nmat=Nm, b=b, loss=np.linspace(1.0, 0.1, 120))
    snap = _payload(build_report(tmp_path / "snaps.npz"))["runs"][0]["nets"][0]["snap"]
    assert snap["plane"] and len(snap["epoch"]) == 12 and snap["traj"] is not None
    assert snap["readout"] is None  # an .npz holds no readout


def test_run_payload_names_matrix_networks_without_c():
    p = run_payload(TrainingRun(label="r2", ds=_rank2_dataset()))
    assert p["nets"][0]["name"] == "seed 7 \u00b7 lr 0.02"
    assert p["n_snapshots"] == 12


_DOM_STUB = r"""
const fs = require("fs");
const html = fs.readFileSync(process.argv[2], "utf8");
const payloadRe = /<script type="application\/json" id="gl-payload">([\s\S]*?)<\/script>/;
const payloadText = html.match(payloadRe)[1];
const script = html.match(/<script>\n([\s\S]*?)<\/script>/)[1];
class El {
  constructor(tag) { this.tagName = tag; this.children = []; this.attrs = {}; this.style = {};
    this.hidden = false; this._text = ""; this.listeners = {}; this.value = "0"; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  appendChild(c) { this.children.push(c); return c; }
  addEventListener(t, f) { this.listeners[t] = f; }
  set textContent(t) { this._text = t; this.children = []; }
  get textContent() { return this._text; }
  set innerHTML(t) { this._text = t; this.children = []; }
  get innerHTML() { return this._text; }
  getContext() {
    return { createImageData: (w, h) => ({ data: new Uint8ClampedArray(w * h * 4) }),
      putImageData() {} };
  }
  toDataURL() { return "data:image/png;base64,"; }
  all(p, out = []) {
    if (p(this)) out.push(this);
    this.children.forEach(c => c.all(p, out));
    return out;
  }
}
const byId = {};
global.document = { getElementById: id => byId[id] || (byId[id] = new El("div")),
  createElementNS: (ns, t) => new El(t), createElement: t => new El(t),
  documentElement: new El("html") };
global.performance = { now: () => 0 };
global.atob = s => Buffer.from(s, "base64").toString("binary");
global.setInterval = () => 1; global.clearInterval = () => {};
document.getElementById("gl-payload").textContent = payloadText;
eval(script);
const out = [];
const slider = byId["gl-epoch"];
for (let s = 0; s <= +slider.max; s++) {
  slider.value = String(s); slider.listeners.input();
  const svg = byId["gl-flow"];
  const streams = svg.all(e => e.attrs.id === "gl-streams");
  out.push({ epoch: svg.attrs["data-epoch"], image: svg.all(e => e.tagName === "image").length,
    streamlines: streams.length ? streams[0].children.length : 0,
    points: svg.all(e => (e.attrs.class || "").startsWith("pt ")).map(e => e.attrs.class),
    readout: svg.all(e => e.attrs.id === "gl-readout").length,
    traj: svg.all(e => e.attrs.id === "gl-plane-traj").length,
    planeLegend: !byId["gl-plane-legend"].hidden, lineLegend: !byId["gl-line-legend"].hidden });
}
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_page_script_redraws_the_portrait_at_every_slider_step(tmp_path):
    """The page's own script, run by node against a minimal DOM, moving the slider."""
    from ghostlearn.store import write_zarr

    write_zarr(_rank2_dataset(), tmp_path / "train.zarr")
    page = tmp_path / "report.html"
    page.write_text(build_report(tmp_path / "train.zarr"))
    (tmp_path / "stub.js").write_text(_DOM_STUB)
    res = subprocess.run(["node", str(tmp_path / "stub.js"), str(page)], capture_output=True,
                         text=True, timeout=60, check=True)  # fmt: skip
    frames = json.loads(res.stdout)
    assert [float(f["epoch"]) for f in frames] == [float(e) for e in np.arange(12) * 10]
    for f in frames:
        assert f["image"] == 1 and f["streamlines"] > 10 and f["traj"] == 1 and f["readout"] == 1
        assert f["planeLegend"] and not f["lineLegend"]
    assert sorted(frames[0]["points"]) == ["pt pt-saddle", "pt pt-stable-node", "pt pt-stable-node"]
    assert sorted(frames[-1]["points"]) == ["pt pt-ghost", "pt pt-stable-node"]


def test_animate_makes_a_gif_of_rank2_portraits(tmp_path):
    from PIL import Image, ImageChops

    out = tmp_path / "film.gif"
    res = animate(_rank2_dataset(), 0, out, max_frames=4, mp4=False, dpi=30)
    assert res.gif == out and res.mp4 is None and res.n_frames >= 4
    with Image.open(out) as im:
        assert im.n_frames == res.n_frames
        im.seek(0)
        first = im.convert("RGB")
        im.seek(im.n_frames - 1)
        last = im.convert("RGB")
    assert ImageChops.difference(first, last).getbbox() is not None  # the frames differ
    assert [p.name for p in tmp_path.iterdir()] == ["film.gif"]


def test_plane_frames_are_blitted_without_traces(tmp_path, monkeypatch):
    """The phase portrait of a snapshot drawn again after another gives the same pixels."""
    from test_report import _film_of

    film = _film_of(monkeypatch, [0, -1, 0])
    animate(_rank2_dataset(), 0, tmp_path / "f.gif", max_frames=4, mp4=False, dpi=30)
    first, other, again = film
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


# --------------------------------------------------------------------------- bad input


def test_kd_api_rejects_bad_input():
    from ghostlearn.report import ReportOptions
    from ghostlearn.report.frames import plane_frames

    M, Nm, b = _hand_built()["saddle"]
    flow = LowRankFlow(M, Nm, b)
    with pytest.raises(ValueError, match="field must be a callable"):
        find_field_points(np.eye(2), dim=2)
    with pytest.raises(ValueError, match="params must be arrays sharing a leading axis"):
        find_field_points(_normal_form, (np.zeros(3), np.zeros(2)), dim=2)
    with pytest.raises(ValueError, match=r"groups must have shape \(2,\)"):
        find_slow_points_along(LowRankFlow(M[None].repeat(2, 0), Nm[None].repeat(2, 0),
                                           b[None].repeat(2, 0)), groups=[0, 0, 1])  # fmt: skip
    with pytest.raises(ValueError, match="flow must have a 1-D batch of snapshots"):
        find_slow_points_along(flow)
    with pytest.raises(ValueError, match="marginal_tol must be > 0"):
        find_slow_points(flow, marginal_tol=0.0)
    with pytest.raises(ValueError, match="n_grid must be >= 3"):
        find_slow_points(flow, n_grid=2)
    with pytest.raises(ValueError, match="a phase portrait needs K >= 2, got K = 1"):
        plot_phase_portrait(LowRankFlow(M[:, :1], Nm[:1], b))
    with pytest.raises(ValueError, match="readout w_out must have K = 2 entries"):
        readout_values((np.ones(3), 0.0, 0.0), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="basis must have orthonormal rows"):
        LatentPlane(np.zeros(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="n_plane must be >= 8"):
        ReportOptions(n_plane=4)
    ds = _rank2_dataset().assign_attrs(model={"model": "rank1", "N": N_UNITS})
    with pytest.raises(ValueError, match=r"no rank-K snapshots \(snap_M with K >= 2\)"):
        plane_frames(ds, 0)
    with pytest.raises(ValueError, match="u is given but the dataset has no input weights"):
        analyze_dataset(_rank2_dataset(), u=np.ones(1))
