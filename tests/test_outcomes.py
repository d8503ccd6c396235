"""The paper's outcome definitions on hand-built accuracy and loss curves."""

import numpy as np
import pytest

from ghostlearn.outcomes import epochs_to_learn, learned, learned_by_loss, stuck


def _curve(*segments):
    return np.concatenate([np.full(n, v) for v, n in segments])


def test_learned_and_stuck_on_hand_built_curves():
    never = _curve((0.5, 200))  # sits at chance: neither learned nor stuck
    solved = _curve((0.5, 100), (1.0, 100))  # learned, still solving at the end
    fell = _curve((0.5, 100), (0.95, 40), (0.5, 60))  # learned, then the last 50 at 0.5
    late_blip = _curve((0.5, 100), (0.9, 40), (0.5, 40), (0.6, 20))  # recovers in the tail
    acc = np.stack([never, solved, fell, late_blip])
    np.testing.assert_array_equal(learned(acc), [False, True, True, True])
    np.testing.assert_array_equal(stuck(acc), [False, False, True, False])
    assert not (stuck(acc) & ~learned(acc)).any()  # stuck is a subset of learned


def test_nan_epochs_of_a_frozen_network_are_ignored():
    acc = _curve((0.5, 10), (1.0, 10), (np.nan, 60))
    assert learned(acc)
    assert not stuck(acc, last=5)  # an all-NaN tail is divergence, not a no-learning zone


def test_loss_ratio_and_epochs_to_learn():
    loss = np.stack([np.geomspace(1.0, 1e-3, 11), np.full(11, 1.0)])
    np.testing.assert_array_equal(learned_by_loss(loss), [True, False])
    # loss = 10^(-0.3 e) < 1e-2 first at e = 7 (10^-2.1); the flat curve never does
    np.testing.assert_array_equal(epochs_to_learn(loss), [7.0, np.nan])
    np.testing.assert_array_equal(
        epochs_to_learn(loss, epochs=np.arange(100, 111)), [107.0, np.nan]
    )


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="last must be >= 1, got 0"):
        stuck(np.ones(5), last=0)
    with pytest.raises(ValueError, match="ratio must be > 0, got -1"):
        learned_by_loss(np.ones(5), ratio=-1)
    with pytest.raises(ValueError, match=r"epochs must have shape \(5,\)"):
        epochs_to_learn(np.ones(5), epochs=np.arange(4))
