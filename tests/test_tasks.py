"""Tasks as objects: the DA task unchanged, DCDT and DMTS timings, networks with inputs
(batch independence, gradients against finite differences in float64, seeded draws),
training, read-back, a user-defined task, bad input."""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from ghostlearn import resources
from ghostlearn.rnn import (
    RNNConfig,
    init_params,
    loss_and_grad,
    param_shapes,
    run_trial,
    task_loss,
    task_loss_and_grad,
)
from ghostlearn.store import open_zarr, write_zarr
from ghostlearn.tasks import (
    DCDT,
    DMTS,
    TASKS,
    DelayedActivation,
    Task,
    Trials,
    epoch_key,
    make_task,
    seed_key,
    task_from_dict,
)
from ghostlearn.train import (
    model_from_dataset,
    params_from_dataset,
    task_from_dataset,
    train,
)

ROOT = Path(__file__).resolve().parents[1]
RANK1 = RNNConfig(N=16)
LOW = RNNConfig(model="lowrank", rank=3, N=12)
LOW2 = RNNConfig(model="lowrank", rank=2, N=12)
PAPER_DIMS = RNNConfig(model="lowrank", rank=2, N=100)  # dt = 5 ms, tau = 10 ms


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _all_vars_equal(a: xr.Dataset, b: xr.Dataset, sel=slice(None)) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values[sel], b[name].values, err_msg=name)


# ---------------------------------------------------------------- the DA task, unchanged


@pytest.mark.parametrize("cfg", [RANK1, LOW], ids=["rank1", "lowrank"])
def test_da_task_object_trains_bit_identically_to_the_default(cfg: RNNConfig) -> None:
    kw = {"seeds": [3, 7], "lr": 0.05, "epochs": 30, "snapshot_every": 10}
    if cfg.model == "rank1":
        kw["c"] = 3.0
    default = train(cfg, **kw)
    for task in (DelayedActivation(), "da"):
        given = train(cfg, task=task, **kw)
        _all_vars_equal(default, given)
        assert given.attrs["train"]["method"] == "fast"
    assert default.attrs["task"] == {
        "name": "da",
        "readout": None,
        "noise": 0.0,
        "init_scale": None,
    }
    assert task_from_dataset(default) == DelayedActivation()
    assert DelayedActivation().paper and not DelayedActivation().stochastic


def test_da_task_through_the_generic_simulation_equals_the_paper_code(x64: None) -> None:
    task = DelayedActivation()
    for cfg in (RNNConfig(N=10), LOW, RNNConfig(model="full", N=8)):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in init_params(cfg, 2).items()}
        p["b"] = p["b"] + 0.3 * jnp.cos(jnp.arange(cfg.N))
        batch = task.batch(cfg, seed_key(0), jnp.float64)
        np.testing.assert_array_equal(np.asarray(batch.x0), np.full((1, cfg.N), cfg.x0))
        assert batch.noise is None

        def f(q, b, cfg=cfg):
            return task_loss(q, cfg, task, b, 3.0)

        vg = jax.jit(jax.value_and_grad(f, has_aux=True))
        (loss, acc), g = vg(p, batch)
        ref = jax.jit(lambda q, cfg=cfg: loss_and_grad(q, cfg, 3.0))(p)
        assert float(loss) == pytest.approx(float(ref.loss), rel=1e-13)
        assert float(acc) == pytest.approx(float(ref.accuracy), rel=1e-15)
        for k in ref.grad:
            np.testing.assert_allclose(g[k], ref.grad[k], rtol=1e-9, atol=1e-14, err_msg=k)


def test_old_results_without_a_task_attribute_are_the_da_task() -> None:
    ds = xr.Dataset(attrs={"model": dataclasses.asdict(RANK1)})
    assert task_from_dataset(ds) == DelayedActivation()


# ---------------------------------------------------------------- DCDT and DMTS timings


def test_dcdt_trials_have_the_documented_steps() -> None:
    tr = DCDT().trials(PAPER_DIMS)
    assert (tr.inputs.shape, tr.targets.shape, tr.mask.shape) == ((2, 22, 1), (2, 22, 1), (2, 22))
    assert tr.mask.all()  # every step scored, target 0 before the reaction period
    for i, s in enumerate((1.0, -1.0)):
        u, y = tr.inputs[i, :, 0], tr.targets[i, :, 0]
        np.testing.assert_array_equal(np.flatnonzero(u), [0, 1])  # 2 steps = 10 ms
        np.testing.assert_array_equal(u[:2], s)
        np.testing.assert_array_equal(np.flatnonzero(y), np.arange(12, 22))  # after 10 of delay
        np.testing.assert_array_equal(y[12:], s)
    # dt = 2.5 ms: every period twice as many steps
    half_dt = DCDT().trials(RNNConfig(model="lowrank", rank=2, N=5, dt=2.5, tau=5.0))
    assert half_dt.n_steps == 44
    np.testing.assert_array_equal(np.flatnonzero(half_dt.inputs[0, :, 0]), np.arange(4))
    np.testing.assert_array_equal(np.flatnonzero(half_dt.targets[0, :, 0]), np.arange(24, 44))


def test_dmts_trials_have_the_documented_steps() -> None:
    tr = DMTS().trials(PAPER_DIMS)
    assert tr.inputs.shape == (4, 24, 1) and tr.mask.all()
    expected = {(1, 1): 1.0, (-1, -1): 1.0, (-1, 1): 0.0, (1, -1): 0.0}
    for i, (s1, s2) in enumerate(DMTS.PAIRS):
        u, y = tr.inputs[i, :, 0], tr.targets[i, :, 0]
        np.testing.assert_array_equal(np.flatnonzero(u), [0, 1, 12, 13])  # pulse, delay, pulse
        assert u[0] == u[1] == s1 and u[12] == u[13] == s2
        np.testing.assert_array_equal(y[:14], 0.0)
        np.testing.assert_array_equal(y[14:], expected[(s1, s2)])  # 10 reaction steps
    assert sorted(DMTS.PAIRS) == sorted(expected)


def test_default_loss_and_accuracy_on_hand_built_outputs() -> None:
    task = DCDT()
    y = jnp.asarray(task.trials(PAPER_DIMS).targets, jnp.float32)
    mask = jnp.ones(y.shape[:2])
    assert float(task.loss(y, y, mask)) == 0.0
    assert float(task.accuracy(y, y, mask)) == 1.0
    # zero output: the 2 x 10 reaction steps are off by 1 -> MSE 20 / 44; accuracy 24 / 44
    zero = jnp.zeros_like(y)
    assert float(task.loss(zero, y, mask)) == pytest.approx(20 / 44)
    assert float(task.accuracy(zero, y, mask)) == pytest.approx(24 / 44)
    # binarised at +-0.33: 0.34 reads as 1, 0.32 as 0, -0.34 as -1
    out = 0.34 * y
    assert float(task.accuracy(out, y, mask)) == 1.0
    assert float(task.accuracy(0.32 * y, y, mask)) == pytest.approx(24 / 44)
    # a mask scores only its steps
    only_reaction = mask.at[:, :12].set(0.0)
    assert float(task.loss(zero, y, only_reaction)) == pytest.approx(1.0)
    assert float(task.accuracy(zero, y, only_reaction)) == 0.0


# ---------------------------------------------------------------- networks with inputs


def test_run_trial_without_recurrence_matches_closed_form(x64: None) -> None:
    # W = 0, constant input u: x(t) = a + (1 - D)^t (x0 - a), a = tanh(W_in u + b)
    cfg = RNNConfig(model="lowrank", rank=2, N=6, dt=2.5)
    task = DCDT()
    p = {k: jnp.asarray(v) for k, v in init_params(cfg, 0, task=task, dtype="float64").items()}
    p["M"] = jnp.zeros_like(p["M"])
    S, u = 15, 0.7
    x0 = np.linspace(-0.5, 0.5, 6)
    traj = run_trial(p, cfg, jnp.full((S, 1), u), jnp.asarray(x0), readout="latent_tanh")
    a = np.tanh(np.asarray(p["W_in"])[:, 0] * u + np.asarray(p["b"]))
    t = np.arange(S + 1)[:, None]
    x = a + (1 - cfg.D) ** t * (x0 - a)
    np.testing.assert_allclose(np.asarray(traj.x), x, rtol=1e-13, atol=1e-14)
    kappa = x @ np.asarray(p["Nmat"]).T
    np.testing.assert_allclose(np.asarray(traj.kappa), kappa, rtol=1e-12, atol=1e-14)
    out = np.tanh(kappa[1:] @ np.asarray(p["w_out"]) + float(p["b_out"]))
    np.testing.assert_allclose(np.asarray(traj.output), out, rtol=1e-12, atol=1e-14)


def test_noise_has_the_documented_stationary_spread(x64: None) -> None:
    # W = 0, b = 0, no input: x(t+1) = (1 - D) x(t) + sigma sqrt(D) eta_t, x(0) = 0, so
    # var x(t) = sigma^2 D (1 - (1 - D)^(2t)) / (1 - (1 - D)^2) -> sigma^2 / (2 - D).
    N, S, sigma = 20000, 12, 0.4
    cfg = RNNConfig(N=N)
    D = cfg.D
    task = DCDT(noise=sigma, init_scale=None)
    z = np.asarray(task.noise_draws(cfg, seed_key(3), 1, S, jnp.float64)[0])
    assert z.shape == (S, N)
    x = np.zeros(N)
    for t in range(S):
        x = (1 - D) * x + z[t]
    var = sigma**2 * D * (1 - (1 - D) ** (2 * S)) / (1 - (1 - D) ** 2)
    assert var == pytest.approx(sigma**2 / (2 - D), rel=1e-6)
    # sample variance of N normals: relative standard error sqrt(2 / N) = 1 %
    assert x.var() == pytest.approx(var, rel=0.04)
    # run_trial adds the noise after the update: rank one with m = 0 has W = 0
    zero = jnp.zeros(N, jnp.float64)
    q = {"m": zero, "n": zero, "b": zero, "w_out": zero, "b_out": jnp.zeros(())}
    traj = run_trial(q, cfg, jnp.zeros((S, 0)), zero, readout="sigmoid", noise=jnp.asarray(z))
    np.testing.assert_allclose(np.asarray(traj.x[-1]), x, rtol=1e-12, atol=1e-15)


def test_initial_states_are_tanh_of_standard_normals(x64: None) -> None:
    cfg = RNNConfig(model="full", N=20000)
    x0 = np.asarray(DCDT().initial_state(cfg, seed_key(1), 2, jnp.float64))
    assert x0.shape == (2, 20000) and np.all(np.abs(x0) < 1)
    xi = np.arctanh(x0) / 0.3
    # mean 0 (standard error 0.7 %), standard deviation 1 (standard error 0.5 %)
    assert np.all(np.abs(xi.mean(axis=1)) < 0.03)
    np.testing.assert_allclose(xi.std(axis=1), 1.0, rtol=0.025)
    assert not np.array_equal(x0[0], x0[1])  # each trial its own draw


def test_draws_reproduce_bit_for_bit_and_differ_between_seeds_epochs_and_trials() -> None:
    task = DCDT(noise=0.1)
    a = task.epoch_batch(LOW2, seed=5, epoch=7)
    b = task.epoch_batch(LOW2, seed=5, epoch=7)
    for name in ("x0", "noise"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for other in (task.epoch_batch(LOW2, seed=6, epoch=7), task.epoch_batch(LOW2, seed=5, epoch=8)):
        assert not np.any(np.asarray(a.x0) == np.asarray(other.x0))
        assert not np.any(np.asarray(a.noise) == np.asarray(other.noise))
    assert not np.any(np.asarray(a.x0[0]) == np.asarray(a.x0[1]))
    # the key of a seed is jax's PRNGKey(seed), also for seeds beyond 32 bits
    for seed in (0, 5, 2**40 + 3):
        np.testing.assert_array_equal(
            jax.random.key_data(seed_key(seed)),
            np.array([seed >> 32, seed & 0xFFFFFFFF], np.uint32),
        )
    np.testing.assert_array_equal(
        jax.random.key_data(seed_key(5)), jax.random.key_data(jax.random.PRNGKey(5))
    )
    # traced inside jit, the epoch's key is the host's
    k_jit = jax.jit(lambda e: jax.random.key_data(epoch_key(jax.random.key_data(seed_key(5)), e)))
    np.testing.assert_array_equal(
        k_jit(jnp.int32(7)), jax.random.key_data(epoch_key(seed_key(5), 7))
    )


GRAD_CASES = [
    (LOW2, DCDT(noise=0.1)),
    (RNNConfig(N=10), DCDT(noise=0.1)),
    (RNNConfig(model="full", N=8), DMTS(readout="sigmoid")),
    (RNNConfig(N=10, train_c=True), DCDT(readout="threshold")),
]


@pytest.mark.parametrize(
    ("cfg", "task"),
    GRAD_CASES,
    ids=["rank2-dcdt-noise", "rank1-dcdt-noise", "full-dmts-sigmoid", "rank1-threshold-c"],
)
def test_task_gradient_against_finite_differences(cfg: RNNConfig, task: Task, x64: None) -> None:
    p = {k: jnp.asarray(v) for k, v in init_params(cfg, 1, task=task, dtype="float64").items()}
    if "c" in p:
        p["c"] = jnp.asarray(2.0)
    if "b_out" in p:  # a trained-looking readout bias (it starts at 0)
        p["b_out"] = jnp.asarray(0.2)
    batch = task.epoch_batch(cfg, seed=3, epoch=11, dtype="float64")

    def f(q):
        return task_loss(q, cfg, task, batch, 2.0)[0]

    lg = jax.jit(lambda q: task_loss_and_grad(q, cfg, task, batch, 2.0))(p)
    g = lg.grad
    f = jax.jit(f)
    assert float(lg.loss) == pytest.approx(float(f(p)), rel=1e-14)
    rng = np.random.default_rng(5)
    h = 1e-6
    for name, value in p.items():
        flat = np.asarray(value).reshape(-1)
        for i in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            plus, minus = flat.copy(), flat.copy()
            plus[i] += h
            minus[i] -= h
            lp = float(f(p | {name: jnp.asarray(plus.reshape(value.shape))}))
            lm = float(f(p | {name: jnp.asarray(minus.reshape(value.shape))}))
            fd = (lp - lm) / (2 * h)
            assert float(np.asarray(g[name]).reshape(-1)[i]) == pytest.approx(
                fd, rel=1e-5, abs=1e-9
            ), (name, i)
    assert min(float(np.abs(np.asarray(v)).max()) for v in g.values()) > 1e-6


def test_task_params_shapes_and_init() -> None:
    N = 400
    cfg = RNNConfig(model="lowrank", rank=2, N=N)
    p = init_params(cfg, 4, task=DCDT(), dtype="float64")
    assert {k: v.shape for k, v in p.items()} == param_shapes(cfg, DCDT())
    assert param_shapes(cfg, DCDT()) == {
        "M": (N, 2),
        "Nmat": (2, N),
        "b": (N,),
        "W_in": (N, 1),
        "w_out": (2,),
        "b_out": (),
    }
    # the documented draw order and scales
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(p["M"], rng.standard_normal((N, 2)))
    np.testing.assert_array_equal(p["Nmat"], rng.standard_normal((2, N)) * (1 / math.sqrt(N)))
    np.testing.assert_array_equal(p["W_in"], rng.standard_normal((N, 1)) * math.sqrt(2 / (N + 1)))
    np.testing.assert_array_equal(p["w_out"], rng.standard_normal(2) * math.sqrt(2 / 3))
    np.testing.assert_array_equal(p["b"], 0.1 * rng.standard_normal(N))
    assert p["b_out"] == 0.0
    assert param_shapes(RNNConfig(N=5), DCDT())["w_out"] == (1,)
    assert param_shapes(RNNConfig(model="full", N=5), DMTS())["w_out"] == (5,)
    assert "W_in" not in param_shapes(RNNConfig(N=5), DelayedActivation(readout="latent_tanh"))
    # the paper's networks are unchanged by naming the DA task
    for cfg in (RNNConfig(N=9), LOW):
        a, b = init_params(cfg, 3), init_params(cfg, 3, task=DelayedActivation(noise=0.2))
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- training

# The training tests share compiled programs: the same model, task, chunk and snapshot
# settings, and populations of at most 20 networks (padded to two blocks of 10).
NOISY_DMTS = DMTS(noise=0.05)
SHARED = {"chunk": 10, "devices": 1}


def test_network_with_inputs_in_a_batch_equals_the_network_alone() -> None:
    # 13 networks run as 3 blocks of 5, one network alone as 2 blocks (padded)
    pop = train(LOW2, task=NOISY_DMTS, seeds=range(13), lr=0.05, epochs=20, **SHARED)
    alone = train(LOW2, task=NOISY_DMTS, seeds=7, lr=0.05, epochs=20, **SHARED)
    _all_vars_equal(pop, alone, sel=slice(7, 8))
    again = train(LOW2, task=NOISY_DMTS, seeds=7, lr=0.05, epochs=20, **SHARED)
    _all_vars_equal(alone, again)
    assert np.ptp(alone.loss.values) > 1e-4  # it trains
    assert alone.attrs["train"]["method"] == "autodiff"
    assert not np.array_equal(pop.M.values[7], pop.M.values[8])


def test_two_devices_equal_one_device_for_a_task() -> None:
    code = textwrap.dedent(
        """
        import numpy as np
        import jax
        from ghostlearn.rnn import RNNConfig
        from ghostlearn.tasks import DMTS
        from ghostlearn.train import train
        assert len(jax.local_devices()) == 2
        cfg = RNNConfig(model="lowrank", rank=2, N=12)
        kw = dict(task=DMTS(noise=0.05), seeds=range(13), lr=0.05, epochs=10, chunk=10)
        a = train(cfg, devices=2, **kw)
        b = train(cfg, devices=1, **kw)
        assert a.attrs["train"]["devices"] == 2
        print(all(np.array_equal(a[k].values, b[k].values) for k in a.data_vars))
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True"


def test_rank2_dcdt_training_lowers_the_loss_on_average() -> None:
    # The authors' setting (rank 2, N = 100, plain gradient descent, lr 1e-3), 300 epochs:
    # the loss of the population falls (learning the task itself takes thousands).
    ds = train(PAPER_DIMS, task="dcdt", seeds=range(8), lr=1e-3, epochs=300, chunk=100)
    loss = ds.loss.values
    assert np.all(np.isfinite(loss))
    first, last = loss[:, :20].mean(), loss[:, -20:].mean()
    assert last < 0.95 * first, (first, last)


def test_resumed_stochastic_run_equals_one_long_run() -> None:
    kw = {"task": NOISY_DMTS, "seeds": [2, 9], "lr": 0.05, **SHARED}
    full = train(LOW2, epochs=30, **kw)
    first = train(LOW2, epochs=10, **kw)
    second = train(LOW2, epochs=20, epoch_offset=10, params=params_from_dataset(first), **kw)
    for name in ("loss", "accuracy", "grad_norm"):
        joined = np.concatenate([first[name].values, second[name].values], axis=1)
        np.testing.assert_array_equal(joined, full[name].values, err_msg=name)
    for name in param_shapes(LOW2, NOISY_DMTS):
        np.testing.assert_array_equal(second[name].values, full[name].values, err_msg=name)


def test_stochastic_task_never_settles(monkeypatch) -> None:
    train_module = importlib.import_module("ghostlearn.train")
    monkeypatch.setattr(train_module._Clock, "worth", lambda self, saved: True)
    calls = []
    executable = train_module._executable

    def counting(plan, args):
        calls.append(plan.chunk)
        return executable(plan, args)

    monkeypatch.setattr(train_module, "_executable", counting)
    # lr = 1e-30 leaves every float32 parameter bit-identical: a deterministic task would
    # settle at epoch 0, but the next epoch's trials are new draws.
    kw = {"task": "dcdt", "seeds": [0, 1], "lr": 1e-30, "epochs": 30, **SHARED}
    fast = train(LOW2, early_exit=True, **kw)
    assert len(calls) == 3  # every chunk ran
    full = train(LOW2, early_exit=False, **kw)
    _all_vars_equal(fast, full)
    assert np.unique(fast.loss.values[0]).size == 30  # every epoch its own trials
    p0 = init_params(LOW2, 0, task=DCDT())
    np.testing.assert_array_equal(fast.M.values[0], p0["M"])


def test_dataset_stores_the_task_and_reads_back(tmp_path) -> None:
    ds = train(LOW2, task=NOISY_DMTS, seeds=[0, 1], lr=0.01, epochs=10, **SHARED)
    assert ds.attrs["task"] == NOISY_DMTS.to_dict()
    assert ds.W_in.dims == ("net", "unit", "input") and ds.w_out.dims == ("net", "k")
    assert np.all(np.isnan(ds.c.values))
    write_zarr(ds, tmp_path / "run.zarr")
    back = open_zarr(tmp_path / "run.zarr")
    assert task_from_dataset(back) == NOISY_DMTS
    assert model_from_dataset(back) == LOW2
    final = params_from_dataset(back)
    assert set(final) == set(param_shapes(LOW2, NOISY_DMTS))
    np.testing.assert_array_equal(final["W_in"], ds.W_in.values)
    fixed_start = DCDT(init_scale=None)  # no draws: a quick compile
    full = train(RNNConfig(model="full", N=6), task=fixed_start, seeds=0, lr=0.01, epochs=1)
    assert full.w_out.dims == ("net", "unit")
    rank1 = train(RNNConfig(N=6), task=fixed_start, seeds=0, lr=0.01, epochs=1)
    assert rank1.w_out.dims == ("net", "k") and rank1.sizes["k"] == 1


def test_task_from_dict_round_trips_every_built_in_task() -> None:
    for name, cls in TASKS.items():
        task = cls(noise=0.1)
        assert task.name == name
        assert task_from_dict(task.to_dict()) == task
        assert make_task(name, noise=0.1) == task


def test_memory_estimate_counts_trials_and_steps() -> None:
    cfg = RNNConfig(model="lowrank", rank=2, N=100)
    n_params = 100 * 2 * 2 + 100 + 100 + 2 + 1
    for task, B, S in ((DCDT(), 2, 22), (DMTS(), 4, 24)):
        got = resources.train_memory(cfg, 10, epochs=50, task=task)
        per_net = 4 * n_params + B * (S + 1) * (4 * 100 + 1 + 2) + B * 100 + 6 * 50
        assert got == 10 * per_net * 4
    # the paper's task: unchanged
    assert resources.train_memory(cfg, 10, epochs=50) == resources.train_memory(
        cfg, 10, epochs=50, task=DelayedActivation()
    )


# ---------------------------------------------------------------- a user's own task


def _docs_task() -> type[Task]:
    """The task defined in docs/tasks.md (its first python block)."""
    text = (ROOT / "docs" / "tasks.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, flags=re.S)
    assert code is not None
    namespace: dict = {}
    exec(compile(code.group(1), "docs/tasks.md", "exec"), namespace)  # noqa: S102
    return namespace["IntervalTiming"]


def test_the_documented_user_task_trains() -> None:
    IntervalTiming = _docs_task()
    task = IntervalTiming()
    cfg = RNNConfig(model="lowrank", rank=2, N=30)
    tr = task.checked_trials(cfg)
    for i, interval in enumerate(task.intervals):
        np.testing.assert_array_equal(np.flatnonzero(tr.inputs[i, :, 0]), [0, interval])
        start = 2 * interval
        np.testing.assert_array_equal(
            np.flatnonzero(tr.targets[i, :, 0]), np.arange(start, start + task.respond)
        )
    ds = train(cfg, task=task, seeds=range(6), lr=0.05, epochs=200)
    loss = ds.loss.values
    assert loss[:, -20:].mean() < 0.9 * loss[:, :20].mean()
    assert task_from_dataset(ds, classes=[IntervalTiming]) == task
    with pytest.raises(
        ValueError, match=r"task must be one of 'da', 'dcdt', 'dmts', got 'interval"
    ):
        task_from_dataset(ds)


# ---------------------------------------------------------------- bad input


class _Unhashable(DCDT):
    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "xor"}, r"^task must be one of 'da', 'dcdt', 'dmts', got 'xor'$"),
        ({"task": 3}, r"^task must be a Task or a task name, got 3$"),
        ({"task": _Unhashable()}, r"^task must be hashable \(a frozen dataclass"),
        ({"init": "paper"}, r"^init='paper' gives the paper's delayed-activation networks only"),
        ({"method": "fast"}, r"^method 'fast' \(hand-derived gradients\) exists for the paper's"),
        (
            {"params": {"M": np.zeros((1, 12, 2))}},
            r"^params is missing 'Nmat' for model 'lowrank' and task 'dcdt'$",
        ),
    ],
)
def test_bad_train_input_with_tasks(kwargs: dict, message: str) -> None:
    args = {"task": "dcdt", "seeds": 0, "lr": 0.1, "epochs": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        train(LOW2, **args)


def test_bad_params_for_a_task_with_inputs() -> None:
    good = {k: v[None] for k, v in init_params(LOW2, 0, task=DCDT()).items()}
    wrong_n_in = good | {"W_in": np.zeros((1, 12, 2), np.float32)}
    with pytest.raises(ValueError, match=r"^params\['W_in'\] must have shape \(1, 12, 1\), got"):
        train(LOW2, task="dcdt", seeds=0, lr=0.1, epochs=1, params=wrong_n_in)
    nan = good | {"W_in": np.full((1, 12, 1), np.nan, np.float32)}
    with pytest.raises(ValueError, match=r"^params\['W_in'\] must be finite, got an array"):
        train(LOW2, task="dcdt", seeds=0, lr=0.1, epochs=1, params=nan)
    with pytest.raises(ValueError, match=r"^c applies to the 'threshold' readout only, got c=2.0"):
        train(RNNConfig(N=8), task="dcdt", seeds=0, lr=0.1, c=2.0, epochs=1)
    with pytest.raises(ValueError, match=r"^readout 'threshold' needs model 'rank1', got model"):
        train(LOW2, task=DCDT(readout="threshold"), seeds=0, lr=0.1, epochs=1)
    with pytest.raises(ValueError, match=r"^train_c needs the 'threshold' readout, got readout"):
        train(RNNConfig(N=8, train_c=True), task="dcdt", seeds=0, lr=0.1, epochs=1)


def test_bad_trial_arrays_are_rejected() -> None:
    p = {k: jnp.asarray(v) for k, v in init_params(LOW2, 0, task=DCDT()).items()}
    x0 = jnp.zeros(12)
    with pytest.raises(
        ValueError, match=r"^inputs must have shape \[steps, n_in\], got \(2, 22, 1\)$"
    ):
        run_trial(p, LOW2, jnp.zeros((2, 22, 1)), x0)
    with pytest.raises(
        ValueError, match=r"^params\['W_in'\] has n_in=1 columns but inputs have n_in=2 channel"
    ):
        run_trial(p, LOW2, jnp.zeros((22, 2)), x0)
    no_w_in = {k: v for k, v in p.items() if k != "W_in"}
    with pytest.raises(ValueError, match=r"^inputs have n_in=1 channel\(s\) but params has no"):
        run_trial(no_w_in, LOW2, jnp.zeros((22, 1)), x0)
    with pytest.raises(ValueError, match=r"^x0 must have shape \(12,\) \(N=12\), got \(11,\)$"):
        run_trial(p, LOW2, jnp.zeros((22, 1)), jnp.zeros(11))
    with pytest.raises(ValueError, match=r"^noise must have shape \(22, 12\)"):
        run_trial(p, LOW2, jnp.zeros((22, 1)), x0, noise=jnp.zeros((22, 3)))
    with pytest.raises(ValueError, match=r"^params\['w_out'\] must have shape \(2,\) \(readout"):
        run_trial(p | {"w_out": jnp.zeros(12)}, LOW2, jnp.zeros((22, 1)), x0, readout="latent_tanh")
    with pytest.raises(ValueError, match=r"^readout must be one of 'threshold', 'sigmoid', 'lat"):
        run_trial(p, LOW2, jnp.zeros((22, 1)), x0, readout="softmax")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DCDT(noise=-0.1), r"^noise must be >= 0, got -0.1$"),
        (lambda: DCDT(readout="linear"), r"^readout must be one of 'threshold', 'sigmoid', 'la"),
        (lambda: DMTS(pulse=0.0), r"^pulse must be > 0, got 0.0$"),
        (lambda: DCDT(init_scale=float("nan")), r"^init_scale must be finite, got nan$"),
        (lambda: make_task("dcdt", delay_ms=3), r"^task 'dcdt' has no field\(s\) \['delay_ms'\]"),
        (lambda: task_from_dict({"noise": 0.1}), r"^task must be a mapping with a 'name'"),
        (
            lambda: DCDT(pulse=2.0).trials(PAPER_DIMS),
            r"^pulse / dt must round to >= 1 step, got pulse=2.0, dt=5.0$",
        ),
        (
            lambda: Trials(
                inputs=np.zeros((2, 5, 1)), targets=np.zeros((2, 4, 1)), mask=np.ones((2, 5))
            ),
            r"^targets must have shape \[2, 5, n_out\] \(trials, steps of the inputs\), got \(2, 4, 1\)$",
        ),
        (
            lambda: Trials(inputs=np.zeros((5, 1)), targets=np.zeros((5, 1)), mask=np.ones(5)),
            r"^inputs must have shape \[trials, steps, n_in\]",
        ),
        (
            lambda: Trials(
                inputs=np.zeros((1, 5, 1)), targets=np.zeros((1, 5, 1)), mask=np.zeros((1, 5))
            ),
            r"^mask must score at least one step, got none$",
        ),
    ],
)
def test_bad_task_definitions(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_trials_that_do_not_fit_the_task_are_rejected() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class TwoChannels(Task):
        name: ClassVar[str] = "two_channels"
        n_in: ClassVar[int] = 1

        def trials(self, cfg: RNNConfig) -> Trials:
            return Trials(
                inputs=np.zeros((1, 4, 2)), targets=np.zeros((1, 4, 1)), mask=np.ones((1, 4))
            )

    with pytest.raises(
        ValueError, match=r"^inputs must have n_in=1 channels \(task 'two_channels'\), got shape"
    ):
        train(LOW2, task=TwoChannels(), seeds=0, lr=0.1, epochs=1)
