"""Batched trainer: batch independence, seeds, divergence, resume, snapshots, schema, input checks."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import optax
import pytest
import xarray as xr

from ghostlearn import __version__
from ghostlearn.rnn import RNNConfig, forward_loss, init_params
from ghostlearn.store import open_zarr, write_zarr
from ghostlearn.train import grid, model_from_dataset, params_from_dataset, train

CFG = RNNConfig(N=16)
LOW = RNNConfig(model="lowrank", rank=3, N=12)
FULL = RNNConfig(model="full", N=10)
RANK1_PARAMS = ("m", "n", "b")


def _same(a: xr.Dataset, b: xr.Dataset, names: tuple[str, ...], sel_a=slice(None)) -> None:
    for name in names:
        np.testing.assert_array_equal(a[name].values[sel_a], b[name].values, err_msg=name)


# ---------------------------------------------------------------- batch independence


def test_network_in_a_batch_of_100_equals_the_network_alone() -> None:
    pop = grid(seeds=range(25), lr=[0.02, 0.05], c=[2.0, 10.0])
    big = train(CFG, pop, epochs=40)
    assert big.sizes["net"] == 100
    assert big.accuracy.max() > 0.5  # some networks learn: the check covers real dynamics
    i = 37
    alone = train(CFG, pop[i], epochs=40)
    metrics = ("loss", "accuracy", "grad_norm")
    _same(big, alone, metrics + RANK1_PARAMS, sel_a=slice(i, i + 1))
    # same seed, same bits; another seed, other numbers
    again = train(CFG, seeds=pop.seeds[i], lr=pop.lr[i], c=pop.c[i], epochs=40)
    _same(alone, again, metrics + RANK1_PARAMS)
    assert not np.array_equal(big.m.values[i], big.m.values[i + 4])


@pytest.mark.parametrize("cfg", [LOW, FULL], ids=["lowrank", "full"])
def test_matrix_models_batch_independent(cfg: RNNConfig) -> None:
    weights = ("M", "Nmat") if cfg.model == "lowrank" else ("W",)
    names = ("loss", "grad_norm", "b", "w_out", "b_out", *weights)
    pop = train(cfg, seeds=range(7), lr=[0.1, 0.2, 0.5, 0.1, 0.2, 0.5, 0.1], epochs=15)
    alone = train(cfg, seeds=4, lr=0.2, epochs=15)
    _same(pop, alone, names, sel_a=slice(4, 5))
    assert np.ptp(pop.loss.values[4]) > 1e-3  # it trains


def test_two_devices_equal_one_device() -> None:
    code = textwrap.dedent(
        """
        import numpy as np
        import jax
        from ghostlearn.rnn import RNNConfig
        from ghostlearn.train import train
        assert len(jax.local_devices()) == 2
        cfg = RNNConfig(N=8)
        a = train(cfg, seeds=range(5), lr=0.05, c=2.0, epochs=6, devices=2)
        b = train(cfg, seeds=range(5), lr=0.05, c=2.0, epochs=6, devices=1)
        assert a.attrs["train"]["devices"] == 2
        print(all(np.array_equal(a[k].values, b[k].values) for k in ("loss", "m", "n", "b")))
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True"


# ---------------------------------------------------------------- numerical faults


def test_diverging_network_is_frozen_and_leaves_the_others_alone() -> None:
    lrs = [0.05, 1e30, 0.02]
    with_bad = train(CFG, seeds=[1, 2, 3], lr=lrs, c=2.0, epochs=12, snapshot_every=1)
    without = train(CFG, seeds=[1, 3], lr=[0.05, 0.02], c=2.0, epochs=12, snapshot_every=1)
    assert with_bad.diverged.values.tolist() == [False, True, False]
    assert with_bad.diverged_epoch.values[[0, 2]].tolist() == [-1, -1]
    for name in ("loss", "accuracy", "grad_norm", *RANK1_PARAMS, "snap_m"):
        np.testing.assert_array_equal(with_bad[name].values[[0, 2]], without[name].values)
    bad = with_bad.isel(net=1)
    d = int(bad.diverged_epoch)
    assert 1 <= d < 12
    assert np.all(np.isfinite(bad.loss.values[:d])) and np.all(np.isnan(bad.loss.values[d:]))
    assert np.all(np.isnan(bad.grad_norm.values[d:])) and np.all(np.isnan(bad.accuracy.values[d:]))
    # frozen at the last finite parameters: every later snapshot equals the final values
    for name in RANK1_PARAMS:
        final = bad[name].values
        assert np.all(np.isfinite(final))
        snaps = bad[f"snap_{name}"].values
        np.testing.assert_array_equal(snaps[d:], np.broadcast_to(final, snaps[d:].shape))


# ---------------------------------------------------------------- early exit

# c = 1e4 saturates the readout to exactly 0, so the gradient is exactly 0 and the network
# settles at epoch 0; lr = 1e30 diverges within a few epochs; the rest keep learning.
MIXED = {"seeds": [1, 2, 3, 4, 5, 6, 7], "lr": [0.05, 0.05, 1e30, 0.05, 0.1, 0.05, 0.02]}
MIXED_C = [2.0, 1e4, 2.0, 1e4, 10.0, 1e4, 2.0]


@pytest.fixture
def always_shrink(monkeypatch):
    """Make the early exit shrink the population at every chance (it otherwise weighs the
    saving against the compile time, which depends on the machine)."""
    train_module = importlib.import_module("ghostlearn.train")

    monkeypatch.setattr(train_module._Clock, "worth", lambda self, saved: True)


def _all_vars_equal(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_early_exit_equals_running_every_network_out(always_shrink, optimizer) -> None:
    kw = dict(
        **MIXED,
        c=MIXED_C,
        epochs=90,
        chunk=10,
        snapshot_every=7,
        metrics_every=3,
        optimizer=optimizer,
    )
    fast = train(CFG, early_exit=True, **kw)
    full = train(CFG, early_exit=False, **kw)
    _all_vars_equal(fast, full)
    assert bool(full.diverged.values[2])
    if optimizer == "sgd":  # adam's step count changes its state: it never settles
        settled = full.grad_norm.values[[1, 3, 5]]
        assert np.all(settled == 0.0)


def test_early_exit_shrinks_matrix_models_exactly(always_shrink) -> None:
    kw = dict(seeds=list(range(12)), lr=[0.05] * 11 + [1e30], epochs=40, chunk=8)
    fast = train(LOW, early_exit=True, snapshot_every=5, **kw)
    full = train(LOW, early_exit=False, snapshot_every=5, **kw)
    _all_vars_equal(fast, full)
    assert np.all(full.grad_norm.values[-1, 1:] == 0.0)  # one step of 1e30 saturates it


def test_a_batch_whose_networks_all_settled_ends_early(monkeypatch) -> None:
    train_module = importlib.import_module("ghostlearn.train")

    calls = []
    executable = train_module._executable

    def counting(plan, args):
        calls.append(plan.chunk)
        return executable(plan, args)

    monkeypatch.setattr(train_module, "_executable", counting)
    kw = dict(seeds=[0, 1, 2], lr=0.05, c=1e4, epochs=1000, chunk=100, snapshot_every=50)
    fast = train(CFG, early_exit=True, **kw)
    assert calls == [100]  # one chunk ran: every network settled in it
    calls.clear()
    full = train(CFG, early_exit=False, **kw)
    assert len(calls) == 10
    _all_vars_equal(fast, full)


def test_a_second_run_reuses_the_compiled_program(monkeypatch) -> None:
    train_module = importlib.import_module("ghostlearn.train")
    compiled = []
    program = train_module._program

    def counting(plan):
        compiled.append(plan)
        return program(plan)

    monkeypatch.setattr(train_module, "_program", counting)
    monkeypatch.setattr(train_module, "_EXECUTABLES", {})
    kw = dict(seeds=[0, 1], lr=0.05, c=2.0, epochs=30, chunk=10)
    first = train(CFG, **kw)
    assert len(compiled) == 1  # three chunks of one program
    second = train(CFG, **kw)
    assert len(compiled) == 1
    _all_vars_equal(first, second)


# ---------------------------------------------------------------- resume, snapshots, metrics


def test_resume_equals_one_long_run_and_snapshots_are_the_params_of_their_epoch() -> None:
    kw = {"seeds": [4, 9], "lr": [0.05, 0.1], "c": 3.0, "snapshot_every": 5}
    full = train(CFG, epochs=20, **kw)
    first = train(CFG, epochs=10, **kw)
    second = train(CFG, epochs=10, epoch_offset=10, params=params_from_dataset(first), **kw)
    assert full.snapshot.values.tolist() == [0, 5, 10, 15]
    assert second.epoch.values.tolist() == list(range(10, 20))
    assert second.snapshot.values.tolist() == [10, 15]
    metrics = ("loss", "accuracy", "grad_norm")
    for name in metrics:
        joined = np.concatenate([first[name].values, second[name].values], axis=1)
        np.testing.assert_array_equal(joined, full[name].values, err_msg=name)
    _same(full, second, RANK1_PARAMS)
    _same(full, second, ("snap_m", "snap_b"), sel_a=(slice(None), slice(2, 4)))
    # the snapshot at epoch 10 is the state after 10 updates = the first run's final params
    at10 = params_from_dataset(full, snapshot=10)
    for name in RANK1_PARAMS:
        np.testing.assert_array_equal(at10[name], first[name].values)
    # snapshot 0 is the initial parameters
    start = params_from_dataset(full, snapshot=0)
    np.testing.assert_array_equal(start["m"][1], init_params(CFG, 9)["m"])
    # ... and produced the metrics of its epoch: evaluate it independently
    loss15 = forward_loss(
        {k: jnp.asarray(v[0]) for k, v in params_from_dataset(full, 15).items()}, CFG, 3.0
    )[0]
    assert float(loss15) == pytest.approx(float(full.loss.values[0, 15]), rel=1e-5)


def test_metrics_every_keeps_every_kth_epoch() -> None:
    kw = {"seeds": [4, 9], "lr": [0.05, 0.1], "c": 3.0, "snapshot_every": 5}
    full = train(CFG, epochs=20, **kw)
    sparse = train(CFG, epochs=20, metrics_every=3, **kw)
    assert sparse.epoch.values.tolist() == [0, 3, 6, 9, 12, 15, 18]
    for name in ("loss", "accuracy", "grad_norm"):
        np.testing.assert_array_equal(sparse[name].values, full[name].values[:, ::3])
    _same(full, sparse, RANK1_PARAMS)


def test_progress_is_reported_after_compilation_and_once_per_chunk() -> None:
    calls: list[tuple[int, int]] = []
    ds = train(
        CFG, seeds=[4, 9], lr=0.05, epochs=10, chunk=4, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(0, 10), (4, 10), (8, 10), (10, 10)]
    ref = train(CFG, seeds=[4, 9], lr=0.05, epochs=10)
    _same(ds, ref, ("loss",) + RANK1_PARAMS)  # chunking does not change the numbers


# ---------------------------------------------------------------- optimizers, c, dtype


def test_optax_optimizers_and_recovery_with_new_confidence() -> None:
    base = train(CFG, seeds=[0, 1], lr=0.05, c=10.0, epochs=8)
    p = params_from_dataset(base)
    by_name = train(
        CFG, seeds=[0, 1], lr=0.01, c=0.5, epochs=6, optimizer="adam", params=p, epoch_offset=8
    )
    by_factory = train(
        CFG, seeds=[0, 1], lr=0.01, c=0.5, epochs=6, optimizer=optax.adam, params=p, epoch_offset=8
    )
    _same(by_name, by_factory, ("loss",) + RANK1_PARAMS)
    assert by_name.c.values.tolist() == [0.5, 0.5]
    assert by_name.epoch.values[0] == 8
    assert by_name.attrs["train"]["optimizer"] == "adam"
    # a fresh optimizer: the first Adam step moves every entry by about lr
    step = np.abs(by_name.m.values - p["m"])
    assert step.max() < 0.01 * 6 + 1e-6 and step.max() > 0.001
    tx = train(
        CFG,
        seeds=[0, 1],
        lr=None,
        c=0.5,
        epochs=6,
        optimizer=optax.adam(0.01),
        params=p,
        epoch_offset=8,
    )
    np.testing.assert_allclose(tx.m.values, by_name.m.values, rtol=1e-6, atol=1e-7)
    assert np.all(np.isnan(tx.lr.values))


def test_trained_confidence() -> None:
    cfg = RNNConfig(N=16, train_c=True)
    ds = train(cfg, seeds=[40, 41], lr=0.05, epochs=10)
    assert ds.c.values.tolist() == [10.0, 10.0]
    assert "c_final" in ds and np.all(ds.c_final.values != 10.0)
    p = params_from_dataset(ds)
    np.testing.assert_array_equal(p["c"], ds.c_final.values)
    reset = train(cfg, seeds=[40, 41], lr=0.05, c=1.0, epochs=3, params=p, epoch_offset=10)
    assert reset.c.values.tolist() == [1.0, 1.0]
    cont = train(cfg, seeds=[40, 41], lr=0.05, epochs=3, params=p, epoch_offset=10)
    np.testing.assert_array_equal(cont.c.values, ds.c_final.values.astype(float))


def test_float64_run_leaves_the_global_flag_alone() -> None:
    ds = train(CFG, seeds=[0], lr=0.05, c=3.0, epochs=5, dtype="float64")
    assert ds.loss.dtype == np.float64 and ds.m.dtype == np.float64
    assert jnp.ones(1).dtype == jnp.float32
    f32 = train(CFG, seeds=[0], lr=0.05, c=3.0, epochs=5)
    np.testing.assert_allclose(ds.loss.values, f32.loss.values, rtol=1e-5)


@pytest.mark.parametrize("cfg", [CFG, LOW], ids=["rank1", "lowrank"])
def test_fast_gradients_train_like_autodiff(cfg: RNNConfig) -> None:
    kw = {"seeds": [0, 1], "lr": 0.5 if cfg.model == "lowrank" else 0.05, "epochs": 5}
    if cfg.model == "rank1":
        kw["c"] = 3.0
    fast = train(cfg, **kw)
    auto = train(cfg, method="autodiff", **kw)
    np.testing.assert_allclose(fast.loss.values, auto.loss.values, rtol=1e-5)
    np.testing.assert_allclose(fast.grad_norm.values, auto.grad_norm.values, rtol=1e-4)


# ---------------------------------------------------------------- dataset schema


def test_dataset_schema_and_zarr_round_trip(tmp_path) -> None:
    ds = train(LOW, seeds=[2, 3], lr=0.5, epochs=4, snapshot_every=2)
    assert dict(ds.sizes) == {"net": 2, "epoch": 4, "snapshot": 2, "unit": 12, "k": 3}
    assert ds.M.dims == ("net", "unit", "k") and ds.Nmat.dims == ("net", "k", "unit")
    assert ds.snap_M.dims == ("net", "snapshot", "unit", "k")
    assert ds.loss.dims == ("net", "epoch") and ds.b_out.dims == ("net",)
    assert ds.seed.values.tolist() == [2, 3] and ds["rank"].values.tolist() == [3, 3]
    assert np.all(np.isnan(ds.c.values))
    assert ds.attrs["ghostlearn_version"] == __version__
    assert ds.attrs["model"]["rank"] == 3 and ds.attrs["train"]["epochs"] == 4
    json.dumps(ds.attrs, allow_nan=False)
    assert model_from_dataset(ds) == LOW
    write_zarr(ds, tmp_path / "run.zarr")
    back = open_zarr(tmp_path / "run.zarr")
    for name, value in params_from_dataset(back, snapshot=2).items():
        np.testing.assert_array_equal(value, params_from_dataset(ds, snapshot=2)[name])
    assert model_from_dataset(back) == LOW
    fds = train(FULL, seeds=[0], lr=0.5, epochs=1)
    assert fds.W.dims == ("net", "unit", "unit2")


def test_grid_is_a_cartesian_product() -> None:
    g = grid(seeds=[0, 1], lr=[0.1, 0.2, 0.3])
    assert g.seeds.tolist() == [0, 0, 0, 1, 1, 1]
    assert g.lr.tolist() == [0.1, 0.2, 0.3, 0.1, 0.2, 0.3]
    assert g.c is None
    g = grid(seeds=5, lr=0.1, c=[1.0, 2.0])
    assert g.seeds.tolist() == [5, 5] and g.c.tolist() == [1.0, 2.0]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 0.0}, r"lr must be > 0, got 0.0"),
        ({"lr": -0.1}, r"lr must be > 0, got -0.1"),
        ({"lr": float("nan")}, r"lr must be finite, got nan"),
        ({"lr": [0.1, -2.0]}, r"lr must be > 0, got -2.0"),
        ({"lr": None}, r"lr must be given \(> 0\), got None"),
        ({"epochs": 0}, r"epochs must be >= 1, got 0"),
        ({"init": "xavier"}, r"init must be one of 'numpy', 'paper', 'torch', got 'xavier'"),
        ({"optimizer": "adamax"}, r"optimizer must be one of 'sgd', .*, got 'adamax'"),
        ({"optimizer": 3}, r"optimizer must be one of .* got 3"),
        ({"c": 0.0}, r"c must be > 0, got 0.0"),
        ({"c": float("nan")}, r"c must be finite, got nan"),
        ({"seeds": -1}, r"seeds must be in 0..2\*\*63-1, got -1"),
        ({"seeds": [0, 1], "lr": [0.1, 0.2, 0.3]}, r"seeds, lr and c must have equal lengths"),
        ({"metrics_every": 0}, r"metrics_every must be >= 1, got 0"),
        ({"snapshot_every": -1}, r"snapshot_every must be >= 0, got -1"),
        ({"epoch_offset": -5}, r"epoch_offset must be >= 0, got -5"),
        ({"dtype": "float16"}, r"dtype must be one of 'float32', 'float64', got 'float16'"),
        ({"method": "adjoint"}, r"method must be one of 'fast', 'autodiff', got 'adjoint'"),
        ({"devices": 99}, r"devices must be <= \d+ \(available\), got 99"),
        ({"optimizer": optax.sgd(0.1)}, r"lr must be None when optimizer is a GradientTrans"),
        ({"params": {"m": np.zeros((1, 16))}}, r"params is missing 'n' for model 'rank1'"),
        (
            {"params": {k: np.zeros((1, 5)) for k in RANK1_PARAMS}},
            r"params\['m'\] must have shape \(1, 16\), got \(1, 5\)",
        ),
    ],
)
def test_bad_input_is_rejected(kwargs: dict, message: str) -> None:
    args = {"seeds": 0, "lr": 0.1, "epochs": 3} | kwargs
    with pytest.raises(ValueError, match=message):
        train(CFG, **args)


def test_bad_model_input() -> None:
    with pytest.raises(ValueError, match=r"c applies to model 'rank1' only, got c=5.0"):
        train(LOW, seeds=0, lr=0.1, c=5.0, epochs=1)
    with pytest.raises(ValueError, match=r"rank must be <= N=12, got 13"):
        RNNConfig(model="lowrank", rank=13, N=12)
    with pytest.raises(ValueError, match=r"model must be an RNNConfig"):
        train("rank1", seeds=0, lr=0.1, epochs=1)  # type: ignore[arg-type]
    ds = train(CFG, seeds=0, lr=0.1, epochs=1, snapshot_every=1)
    with pytest.raises(ValueError, match=r"snapshot must be one of the recorded epochs"):
        params_from_dataset(ds, snapshot=7)
