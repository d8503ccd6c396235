"""RNN models: configuration, initialisation, closed-form trajectories, latent reduction,
gradients against finite differences (float64), fixed-order sums."""

from __future__ import annotations

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ghostlearn.rnn import (
    RNNConfig,
    forward_loss,
    fsum,
    init_params,
    latent_trajectory,
    loss_and_grad,
    param_shapes,
    simulate,
)


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _lively(cfg: RNNConfig, seed: int = 1) -> dict[str, jnp.ndarray]:
    """float64 parameters with non-trivial dynamics and gradients (not the flat start)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in init_params(cfg, seed).items()}
    rng = np.random.default_rng(100 + seed)
    p["b"] = 0.3 * rng.standard_normal(cfg.N)
    if cfg.model == "rank1":
        p["m"] = 4.0 * p["m"]
        p["n"] = 3.0 * p["n"]
    elif cfg.model == "lowrank":
        p["M"] = 3.0 * p["M"]
    else:
        p["W"] = 2.0 * p["W"]
    return {k: jnp.asarray(v) for k, v in p.items()}


# ---------------------------------------------------------------- configuration


def test_config_defaults_are_the_papers() -> None:
    cfg = RNNConfig()
    assert (cfg.model, cfg.N, cfg.tau, cfg.dt, cfg.T, cfg.x0, cfg.kappa_thr) == (
        "rank1",
        100,
        10.0,
        5.0,
        100.0,
        -0.3,
        1.0,
    )
    assert (cfg.D, cfg.half, cfg.n_steps, cfg.rank) == (0.5, 20, 40, 1)
    assert RNNConfig(model="full", N=7).rank == 7
    assert RNNConfig(model="lowrank", rank=3).rank == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "gru"}, r"model must be one of 'rank1', 'lowrank', 'full', got 'gru'"),
        ({"model": "lowrank", "rank": 0}, r"rank must be >= 1, got 0"),
        ({"model": "lowrank", "rank": 11, "N": 10}, r"rank must be <= N=10, got 11"),
        ({"model": "lowrank"}, r"rank must be given for model 'lowrank', got None"),
        ({"rank": 2}, r"rank must be 1 for model 'rank1', got 2"),
        ({"model": "full", "N": 8, "rank": 3}, r"rank must be N=8 for model 'full', got 3"),
        ({"N": 0}, r"N must be >= 1, got 0"),
        ({"tau": -1.0}, r"tau must be > 0, got -1.0"),
        ({"dt": float("nan")}, r"dt must be finite, got nan"),
        ({"x0": float("inf")}, r"x0 must be finite, got inf"),
        ({"T": 1.0, "dt": 5.0}, r"T / dt must round to >= 1 step"),
        ({"model": "full", "train_c": True}, r"train_c applies to model 'rank1' only"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RNNConfig(**kwargs)


# ---------------------------------------------------------------- initialisation


@pytest.mark.parametrize(
    "cfg",
    [RNNConfig(N=9), RNNConfig(N=9, train_c=True), RNNConfig(model="lowrank", rank=2, N=9)]
    + [RNNConfig(model="full", N=9)],
)
def test_init_shapes_dtype_and_zero_bias(cfg: RNNConfig) -> None:
    p = init_params(cfg, 0)
    assert {k: v.shape for k, v in p.items()} == param_shapes(cfg)
    assert all(v.dtype == np.float32 for v in p.values())
    np.testing.assert_array_equal(p["b"], 0.0)
    assert init_params(cfg, 0, dtype="float64")["b"].dtype == np.float64


def test_init_same_seed_same_bits_and_documented_order() -> None:
    cfg = RNNConfig(N=50)
    a, b = init_params(cfg, 7), init_params(cfg, 7)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["m"], init_params(cfg, 8)["m"])
    rng = np.random.default_rng(7)
    m = rng.standard_normal(50) / math.sqrt(50)
    n = rng.standard_normal(50) / math.sqrt(50)
    np.testing.assert_array_equal(a["m"], m.astype(np.float32))
    np.testing.assert_array_equal(a["n"], n.astype(np.float32))


def test_init_scale_is_normal_zero_one_over_n() -> None:
    N = 400
    W = init_params(RNNConfig(model="full", N=N), 3, dtype="float64")["W"]
    # sample of N^2 = 160000 draws of Normal(0, 1/N): std error of the std ~ 0.18 %
    assert W.std() * math.sqrt(N) == pytest.approx(1.0, rel=0.01)
    assert abs(W.mean()) * math.sqrt(N) < 4.0 / math.sqrt(W.size)


def test_init_torch_matches_torch_draws() -> None:
    torch = pytest.importorskip("torch")
    N, K, seed = 30, 4, 40
    torch.manual_seed(seed)
    m = torch.randn(N) / math.sqrt(N)
    n = torch.randn(N, 1) / math.sqrt(N)  # randn(N, 1) continues the same stream as randn(N)
    p = init_params(RNNConfig(N=N), seed, init="torch")
    np.testing.assert_array_equal(p["m"], m.numpy())
    np.testing.assert_array_equal(p["n"], n.numpy()[:, 0])

    torch.manual_seed(seed)
    Mt = torch.randn(N, K) / math.sqrt(N)
    Nt = torch.randn(K, N) / math.sqrt(N)
    w = torch.randn(N) / math.sqrt(N)
    bo = torch.randn(1) / math.sqrt(N)
    q = init_params(RNNConfig(model="lowrank", rank=K, N=N), seed, init="torch")
    np.testing.assert_array_equal(q["M"], Nt.numpy().T)
    np.testing.assert_array_equal(q["Nmat"], Mt.numpy().T)
    np.testing.assert_array_equal(q["w_out"], w.numpy())
    np.testing.assert_array_equal(q["b_out"], bo.numpy()[0])
    # same dynamics: row convention x -> x Mt Nt equals column convention x -> M (Nmat x)
    x = np.random.default_rng(0).standard_normal(N)
    row = x @ Mt.numpy().astype(float) @ Nt.numpy().astype(float)
    col = q["M"].astype(float) @ (q["Nmat"].astype(float) @ x)
    np.testing.assert_allclose(col, row, rtol=1e-12, atol=1e-12)

    torch.manual_seed(seed)
    Wt = torch.randn(N, N) / math.sqrt(N)
    f = init_params(RNNConfig(model="full", N=N), seed, init="torch")
    np.testing.assert_array_equal(f["W"], Wt.numpy().T)


def test_init_torch_missing_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    message = (
        r"^init='torch' needs PyTorch, which is not installed; choose one of 'numpy', "
        r"'paper' \(the same weights without PyTorch\)$"
    )
    with pytest.raises(ValueError, match=message):
        init_params(RNNConfig(N=5), 0, init="torch")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, r"seed must be >= 0, got -1"),
        ({"seed": 1.5}, r"seed must be an integer, got 1.5"),
        ({"init": "xavier"}, r"init must be one of 'numpy', 'paper', 'torch', got 'xavier'"),
        ({"dtype": "float16"}, r"dtype must be one of 'float32', 'float64', got 'float16'"),
        ({"c": 0.0}, r"c must be > 0, got 0.0"),
    ],
)
def test_init_rejects_bad_values(kwargs: dict, message: str) -> None:
    args = {"seed": 0} | kwargs
    seed = args.pop("seed")
    with pytest.raises(ValueError, match=message):
        init_params(RNNConfig(N=5), seed, **args)


# ---------------------------------------------------------------- simulation


@pytest.mark.parametrize("model", ["rank1", "lowrank", "full"])
def test_simulate_without_recurrence_matches_closed_form(model: str, x64: None) -> None:
    # W = 0: x(t) = tanh(b) + (1 - D)^t (x0 - tanh(b)) for every unit
    cfg = RNNConfig(model=model, rank=2 if model == "lowrank" else None, N=6, dt=2.5, T=10.0)
    p = {k: jnp.asarray(v, jnp.float64) for k, v in init_params(cfg, 0).items()}
    b = np.linspace(-1.0, 1.0, 6)
    p["b"] = jnp.asarray(b)
    for k in ("m", "M", "W"):
        if k in p:
            p[k] = jnp.zeros_like(p[k])
    traj = simulate(p, cfg, c=3.0)
    t = np.arange(cfg.n_steps + 1)[:, None]
    D = cfg.D
    x = np.tanh(b) + (1 - D) ** t * (cfg.x0 - np.tanh(b))
    np.testing.assert_allclose(np.asarray(traj.x), x, rtol=1e-13, atol=1e-14)
    if model == "rank1":
        n = np.asarray(p["n"])
        out = _sigmoid(3.0 * (x[1:] @ n - cfg.kappa_thr))
        np.testing.assert_allclose(np.asarray(traj.kappa), x @ n, rtol=1e-12, atol=1e-14)
    else:
        out = _sigmoid(x[1:] @ np.asarray(p["w_out"]) + float(p["b_out"]))
    np.testing.assert_allclose(np.asarray(traj.output), out, rtol=1e-12)


def test_simulate_first_output_is_read_after_the_first_update(x64: None) -> None:
    cfg = RNNConfig(N=5)
    p = _lively(cfg)
    m, n, b = (np.asarray(p[k]) for k in ("m", "n", "b"))
    x0 = np.full(5, cfg.x0)
    x1 = 0.5 * x0 + 0.5 * np.tanh(m * (n @ x0) + b)
    traj = simulate(p, cfg, c=10.0)
    assert float(traj.output[0]) == pytest.approx(_sigmoid(10.0 * (n @ x1 - 1.0)), rel=1e-12)
    assert traj.x.shape == (41, 5) and traj.output.shape == (40,)


def test_rank1_latent_reduction_holds(x64: None) -> None:
    cfg = RNNConfig(N=20)
    full = jax.jit(lambda q: simulate(q, cfg).kappa)
    latent = jax.jit(lambda q: latent_trajectory(q, cfg))
    for seed in range(3):
        p = _lively(cfg, seed)
        kappa_full = np.asarray(full(p))
        kappa_latent = np.asarray(latent(p))
        assert np.ptp(kappa_full) > 0.1  # the latent variable really moves
        np.testing.assert_allclose(kappa_latent, kappa_full, rtol=1e-12, atol=1e-12)
        assert kappa_latent[0] == pytest.approx(cfg.x0 * float(jnp.sum(p["n"])), rel=1e-14)


# ---------------------------------------------------------------- gradients


CASES = [
    RNNConfig(N=10),
    RNNConfig(N=10, train_c=True),
    RNNConfig(model="lowrank", rank=3, N=10),
    RNNConfig(model="full", N=10),
]


@pytest.mark.parametrize("cfg", CASES, ids=["rank1", "rank1-train-c", "lowrank", "full"])
def test_gradient_against_finite_differences(cfg: RNNConfig, x64: None) -> None:
    p = _lively(cfg)
    if cfg.train_c:
        p["c"] = jnp.asarray(2.0)
    c = 2.0
    lg = jax.jit(lambda q: loss_and_grad(q, cfg, c))(p)
    loss_ref, acc_ref = jax.jit(lambda q: forward_loss(q, cfg, c))(p)
    assert float(lg.loss) == pytest.approx(float(loss_ref), rel=1e-13)
    assert float(lg.accuracy) == float(acc_ref)
    rng = np.random.default_rng(5)
    h = 1e-6
    checked = 0
    f = jax.jit(lambda q: forward_loss(q, cfg, c)[0])
    for name, value in p.items():
        flat = np.asarray(value).reshape(-1)
        idx = rng.choice(flat.size, size=min(4, flat.size), replace=False)
        for i in idx:
            plus, minus = flat.copy(), flat.copy()
            plus[i] += h
            minus[i] -= h
            lp = float(f(p | {name: jnp.asarray(plus.reshape(value.shape))}))
            lm = float(f(p | {name: jnp.asarray(minus.reshape(value.shape))}))
            fd = (lp - lm) / (2 * h)
            g = float(np.asarray(lg.grad[name]).reshape(-1)[i])
            assert g == pytest.approx(fd, rel=1e-5, abs=1e-9), (name, i)
            checked += 1
    assert checked >= 4 * len(p) - 3
    grads = [np.abs(np.asarray(v)).max() for v in lg.grad.values()]
    assert min(grads) > 1e-6  # the check is not vacuous


@pytest.mark.parametrize("cfg", CASES, ids=["rank1", "rank1-train-c", "lowrank", "full"])
def test_hand_gradient_equals_autodiff(cfg: RNNConfig, x64: None) -> None:
    p = _lively(cfg, seed=2)
    if cfg.train_c:
        p["c"] = jnp.asarray(3.0)
    g_auto = jax.jit(jax.grad(lambda q: forward_loss(q, cfg, 3.0)[0]))(p)
    g_hand = jax.jit(lambda q: loss_and_grad(q, cfg, 3.0).grad)(p)
    assert set(g_auto) == set(g_hand)
    for k in g_auto:
        np.testing.assert_allclose(g_hand[k], g_auto[k], rtol=1e-9, atol=1e-14, err_msg=k)


# ---------------------------------------------------------------- fixed-order sums


def test_fsum_is_a_sum_and_does_not_depend_on_the_batch() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 7, 101):
        x = rng.standard_normal((64, n)).astype(np.float32)
        full = np.asarray(jax.jit(fsum)(jnp.asarray(x)))
        np.testing.assert_allclose(full, x.astype(np.float64).sum(axis=1), rtol=1e-5, atol=1e-5)
        for rows in (slice(0, 1), slice(10, 27)):
            part = np.asarray(jax.jit(fsum)(jnp.asarray(x[rows])))
            np.testing.assert_array_equal(part, full[rows])
    y = rng.standard_normal((5, 3, 8))
    np.testing.assert_allclose(
        np.asarray(fsum(jnp.asarray(y), axis=1)), y.sum(axis=1), rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------------- networks with inputs


@pytest.mark.parametrize("model", ["rank1", "lowrank", "full"])
def test_run_trial_without_input_or_noise_is_simulate(model: str, x64: None) -> None:
    from ghostlearn.rnn import run_trial

    cfg = RNNConfig(model=model, rank=2 if model == "lowrank" else None, N=9)
    p = _lively(cfg)
    ref = simulate(p, cfg, c=3.0)
    traj = run_trial(p, cfg, jnp.zeros((cfg.n_steps, 0)), jnp.full(cfg.N, cfg.x0), c=3.0)
    np.testing.assert_allclose(np.asarray(traj.x), np.asarray(ref.x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(np.asarray(traj.output), np.asarray(ref.output), rtol=1e-13)
    if ref.kappa is not None:
        np.testing.assert_allclose(np.asarray(traj.kappa), np.asarray(ref.kappa), rtol=1e-13)


def test_params_of_the_paper_task_are_unchanged_by_naming_it() -> None:
    from ghostlearn.tasks import DelayedActivation

    for cfg in (
        RNNConfig(N=7),
        RNNConfig(model="lowrank", rank=2, N=7),
        RNNConfig(model="full", N=7),
    ):
        assert param_shapes(cfg, DelayedActivation()) == param_shapes(cfg)
        a, b = (
            init_params(cfg, 11, init="paper"),
            init_params(cfg, 11, init="paper", task=DelayedActivation()),
        )
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
