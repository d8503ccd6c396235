"""The delayed-activation task: targets, loss and accuracy on hand-built outputs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from ghostlearn.rnn import RNNConfig
from ghostlearn.task import accuracy, loss, targets


def test_targets_are_half_zeros_then_half_ones() -> None:
    y = targets(RNNConfig())
    assert y.shape == (40,)
    np.testing.assert_array_equal(y[:20], 0.0)
    np.testing.assert_array_equal(y[20:], 1.0)
    y = targets(RNNConfig(T=30.0, dt=10.0))  # half = 3
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1, 1])


def test_loss_on_hand_built_outputs() -> None:
    y = targets(RNNConfig())
    assert loss(y, y) == 0.0
    # every step wrong by 1: 40 squared errors of 1, divided by half = 20
    assert loss(1.0 - y, y) == pytest.approx(2.0)
    # constant 0.5: 40 * 0.25 / 20
    assert loss(np.full(40, 0.5), y) == pytest.approx(0.5)
    # one step off by 0.3 on top of a perfect output
    out = y.astype(float).copy()
    out[25] -= 0.3
    assert loss(out, y) == pytest.approx(0.09 / 20)


def test_accuracy_on_hand_built_outputs() -> None:
    y = targets(RNNConfig())
    assert accuracy(0.05 + 0.9 * y, y) == 1.0
    assert accuracy(0.95 - 0.9 * y, y) == 0.0
    out = 0.05 + 0.9 * y
    out[:3] = 0.7  # three early steps fire too soon
    out[-2:] = 0.2  # two late steps miss
    assert accuracy(out, y) == pytest.approx(35 / 40)
    # o_hat == 0.5 is not "> 0.5": right on the zeros, wrong on the ones
    assert accuracy(np.full(40, 0.5), y) == pytest.approx(0.5)


def test_batched_and_jax_inputs() -> None:
    y = targets(RNNConfig(T=20.0, dt=5.0))  # 8 steps
    outs = np.stack([y, 1 - y, np.full(8, 0.5)])
    np.testing.assert_allclose(loss(outs, y), [0.0, 2.0, 0.5])
    np.testing.assert_allclose(accuracy(outs, y), [1.0, 0.0, 0.5])
    np.testing.assert_allclose(np.asarray(loss(jnp.asarray(outs), y)), [0.0, 2.0, 0.5])
    np.testing.assert_allclose(np.asarray(accuracy(jnp.asarray(outs), y)), [1.0, 0.0, 0.5])


def test_bad_shapes() -> None:
    y = targets(RNNConfig())
    with pytest.raises(ValueError, match=r"outputs must end with the time axis of length 40"):
        loss(np.zeros(39), y)
    with pytest.raises(ValueError, match=r"targets must be 1-D with an even length"):
        accuracy(np.zeros(5), np.zeros(5))


def test_the_task_object_gives_the_same_trial_loss_and_accuracy() -> None:
    from ghostlearn.task import DelayedActivation

    cfg = RNNConfig(T=30.0, dt=10.0)  # half = 3
    task = DelayedActivation()
    tr = task.trials(cfg)
    assert (tr.inputs.shape, tr.targets.shape, tr.mask.shape) == ((1, 6, 0), (1, 6, 1), (1, 6))
    np.testing.assert_array_equal(tr.targets[0, :, 0], targets(cfg))
    assert tr.mask.all() and task.n_in == 0 and task.name == "da"
    y = targets(cfg)
    outs = np.stack([y, 1 - y, np.full(6, 0.5), np.array([0.2, 0.7, 0.1, 0.9, 0.4, 0.6])])
    mask = jnp.ones((1, 6))
    for out in outs:
        o = jnp.asarray(out, jnp.float32)[None, :, None]
        yy = jnp.asarray(y)[None, :, None]
        assert float(task.loss(o, yy, mask)) == pytest.approx(float(loss(out, y)), rel=1e-6)
        assert float(task.accuracy(o, yy, mask)) == pytest.approx(float(accuracy(out, y)))
