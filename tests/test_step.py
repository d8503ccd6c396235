"""The public training step: one epoch of one network as ``(state) -> (state, metrics)``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ghostlearn.rnn import RNNConfig, init_params, loss_and_grad
from ghostlearn.step import StepMetrics, TrainState, batch_axes, init_state, make_step
from ghostlearn.train import train

CFG = RNNConfig()


def _run(step, state, n):
    losses = []
    for _ in range(n):
        state, m = step(state)
        losses.append(float(m.loss))
    return state, np.asarray(losses, np.float32)


def test_one_step_is_gradient_descent_on_the_exact_gradient():
    p = init_params(CFG, 3)
    state = init_state(CFG, p, lr=0.05)
    new, m = jax.jit(make_step(CFG))(state)
    lg = loss_and_grad({k: jnp.asarray(v) for k, v in p.items()}, CFG, 10.0)
    assert isinstance(new, TrainState) and isinstance(m, StepMetrics)
    np.testing.assert_allclose(m.loss, lg.loss, rtol=1e-6)
    for k in p:
        np.testing.assert_allclose(new.params[k], p[k] - 0.05 * lg.grad[k], rtol=1e-6, atol=1e-7)
    assert int(new.epoch) == 1 and bool(new.alive) and int(new.diverged_epoch) == -1


@pytest.mark.parametrize(("optimizer", "n"), [("sgd", 40), ("adam", 10)])
def test_stepping_by_hand_follows_train(optimizer, n):
    # train() scans the same step over a population; by hand, one network at a time. The
    # two compile to different programs (XLA fuses a lone step differently), so they agree
    # to float32 rounding; Adam's normalised update amplifies that rounding over epochs.
    ds = train(CFG, seeds=[7, 8], lr=0.02, epochs=n, optimizer=optimizer)
    step = jax.jit(make_step(CFG, optimizer=optimizer))
    for i, seed in enumerate((7, 8)):
        state = init_state(CFG, init_params(CFG, seed), lr=0.02, optimizer=optimizer)
        state, losses = _run(step, state, n)
        np.testing.assert_allclose(losses, ds["loss"].values[i], rtol=1e-4)
        np.testing.assert_allclose(state.params["m"], ds["m"].values[i], rtol=1e-3, atol=1e-6)


def test_vmap_over_a_population_equals_single_networks():
    step = make_step(CFG)
    states = [init_state(CFG, init_params(CFG, s), lr=lr) for s, lr in ((0, 0.01), (1, 0.1))]
    batch = jax.tree.map(lambda *a: jnp.stack(a), *[s._replace(epoch=None) for s in states])
    batch = batch._replace(epoch=states[0].epoch)
    axes = batch_axes(batch)
    vstep = jax.jit(jax.vmap(step, in_axes=(axes,), out_axes=(axes, 0)))
    one = jax.jit(step)
    for _ in range(5):
        batch, mb = vstep(batch)
        outs = [one(s) for s in states]
        states = [o[0] for o in outs]
        for i, (_, m) in enumerate(outs):
            np.testing.assert_allclose(mb.loss[i], m.loss, rtol=1e-6)
    assert int(batch.epoch) == 5


def test_a_failing_step_freezes_the_network_and_flags_it():
    p = init_params(CFG, 0)
    step = jax.jit(make_step(CFG))
    # A non-finite loss: flagged at its own epoch, the state kept, NaN metrics from then on.
    p["n"][0] = np.nan
    new, m = step(init_state(CFG, p, lr=0.1, epoch=5))
    assert not bool(new.alive) and int(new.diverged_epoch) == 5 and np.isnan(float(m.loss))
    for k in p:
        np.testing.assert_array_equal(new.params[k], p[k])
    newer, m2 = step(new)
    assert int(newer.diverged_epoch) == 5 and np.isnan(float(m2.loss))


def test_an_unchanged_update_is_settled():
    # lr so small that lr * grad rounds away against every parameter (none is zero):
    # every later epoch repeats this one exactly.
    p = init_params(CFG, 0)
    p["b"] = np.full_like(p["b"], 0.5)
    step = jax.jit(make_step(CFG))
    new, _ = step(init_state(CFG, p, lr=1e-30))
    assert bool(new.settled)
    for k in p:
        np.testing.assert_array_equal(new.params[k], p[k])
    moved, _ = step(init_state(CFG, p, lr=0.1))
    assert not bool(moved.settled)


def test_a_stochastic_task_carries_the_seed_key():
    cfg = RNNConfig(model="lowrank", rank=2, N=12)
    from ghostlearn.tasks import DCDT

    p = init_params(cfg, 0, task=DCDT())
    state = init_state(cfg, p, lr=0.01, task="dcdt", seed=4)
    assert state.key is not None
    new, m = jax.jit(make_step(cfg, task="dcdt"))(state)
    assert np.isfinite(float(m.loss)) and not bool(new.settled)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": -1.0}, "lr"),
        ({"lr": 0.1, "c": float("nan")}, "c"),
        ({"lr": 0.1, "seed": -3}, "seed"),
    ],
)
def test_init_state_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        init_state(CFG, init_params(CFG, 0), **kwargs)


def test_make_step_rejects_bad_settings():
    with pytest.raises(ValueError, match="optimizer"):
        make_step(CFG, optimizer="sgdd")
    with pytest.raises(ValueError, match="model must be an RNNConfig"):
        make_step("rank1")
    with pytest.raises(ValueError, match="method 'fast'"):
        make_step(RNNConfig(model="lowrank", rank=2, N=12), task="dcdt", method="fast")
