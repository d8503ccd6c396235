"""The paper's outcome definitions on hand-built accuracy and loss curves."""

import numpy as np
import pytest

from ghostlearn.outcomes import (
    drop_window,
    epochs_to_learn,
    learned,
    learned_by_loss,
    recovered,
    stuck,
)


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


def test_recovered_needs_every_one_of_the_last_epochs_at_threshold():
    relearned = _curve((0.5, 90), (0.95, 10))
    dipped = _curve((0.5, 90), (0.95, 5), (0.85, 1), (1.0, 4))  # one epoch below 0.9
    lenient_only = _curve((0.5, 99), (0.6, 1))  # > 0.5 at the end, far from solving
    diverged = _curve((0.5, 90), (1.0, 9), (np.nan, 1))
    acc = np.stack([relearned, dipped, lenient_only, diverged])
    np.testing.assert_array_equal(recovered(acc), [True, False, False, False])
    np.testing.assert_array_equal(recovered(acc, last=4), [True, True, False, False])
    np.testing.assert_array_equal(recovered(acc, threshold=0.8), [True, True, False, False])


def test_drop_window_of_a_step_a_linear_fall_and_a_rise():
    step = _curve((1.0, 700), (0.0, 300))
    w = drop_window(step)
    assert (w.start, w.end, w.window, w.plateau, w.ratio) == (700, 700, 0, 700, 0)
    assert (w.level_before, w.level_after) == (1.0, 0.0)
    # linear from 68 to 2: the post-drop level (median of the last 20%) is met at epoch
    # 2700, so 3/4 of the range takes 0.75 * 2700 epochs after 0.25 * 2700 of them
    lin = drop_window(np.linspace(68.0, 2.0, 3001))
    assert lin.window == pytest.approx(2025, abs=2) and lin.plateau == pytest.approx(675, abs=2)
    shifted = drop_window(np.linspace(68.0, 2.0, 3001), epochs=np.arange(3001) + 100)
    assert shifted.start == lin.start + 100 and shifted.window == lin.window
    assert drop_window(np.linspace(1.0, 2.0, 50)) is None  # the loss rose: no drop


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="last must be >= 1, got 0"):
        stuck(np.ones(5), last=0)
    with pytest.raises(ValueError, match="ratio must be > 0, got -1"):
        learned_by_loss(np.ones(5), ratio=-1)
    with pytest.raises(ValueError, match=r"epochs must have shape \(5,\)"):
        epochs_to_learn(np.ones(5), epochs=np.arange(4))
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\], got 1.5"):
        recovered(np.ones(20), threshold=1.5)
    with pytest.raises(ValueError, match="last must be >= 1, got 0"):
        recovered(np.ones(20), last=0)
    with pytest.raises(ValueError, match="accuracy must have >= last = 10 epochs, got 5"):
        recovered(np.ones(5))
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\), got 1.0"):
        drop_window(np.ones(5), fraction=1.0)
    with pytest.raises(ValueError, match=r"tail must be in \(0, 1\), got 0"):
        drop_window(np.ones(5), tail=0)
    with pytest.raises(ValueError, match=r"loss must be one curve of >= 2 epochs"):
        drop_window(np.ones((2, 5)))
    with pytest.raises(ValueError, match="loss must be finite"):
        drop_window(np.array([1.0, np.nan, 0.0]))
