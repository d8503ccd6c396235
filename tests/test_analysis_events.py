"""Abrupt-drop detector on synthetic loss curves with known drops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghostlearn.analysis.events import DropDetector, detect_abrupt_drops, smoothed_log_loss


def _sigmoid_drop(epochs, center, width, decades, top=0.0):
    """log10(loss) falls by `decades` around `center`; 10 % and 90 % of the fall are at
    center -+ width * ln 9 exactly."""
    return top - decades / (1.0 + np.exp(-(epochs - center) / width))


@pytest.mark.parametrize(
    ("E", "center", "width"), [(6000, 3000.0, 20.0), (200_000, 35_000.0, 150.0)]
)
def test_drop_onset_and_end_are_the_10_and_90_percent_points(E, center, width):
    e = np.arange(E, dtype=float)
    loss = 10 ** _sigmoid_drop(e, center, width, 2.0)
    (d,) = detect_abrupt_drops(loss)
    onset, end = center - width * math.log(9), center + width * math.log(9)
    assert d.onset_epoch == pytest.approx(onset, abs=0.05 * width + 1)
    assert d.end_epoch == pytest.approx(end, abs=0.05 * width + 1)
    assert d.size_decades == pytest.approx(2.0, abs=0.05)  # the fast part of the fall
    assert d.plateau_start_epoch == 0.0
    assert d.loss_before == pytest.approx(1.0, rel=0.01)
    assert d.loss_after == pytest.approx(0.01, rel=0.05)


def test_detector_is_scale_free():
    e = np.arange(3000, dtype=float)
    rng = np.random.default_rng(0)
    y = _sigmoid_drop(e, 1500, 10, 1.5) + 0.05 * rng.normal(size=e.size)
    a = detect_abrupt_drops(10**y)
    b = detect_abrupt_drops(1e6 * 10**y)
    c = detect_abrupt_drops(10**y, epochs=10 * e)  # same curve, epochs in other units
    assert len(a) == len(b) == len(c) == 1
    assert a[0].onset_epoch == b[0].onset_epoch == c[0].onset_epoch / 10
    assert a[0].size_decades == pytest.approx(b[0].size_decades)


def test_oscillations_after_learning_are_not_drops_and_a_second_drop_is():
    e = np.arange(10_000, dtype=float)
    y = _sigmoid_drop(e, 2000, 15, 1.0) + _sigmoid_drop(e, 7000, 15, 1.0)
    y = y + 0.3 * (e > 2100) * (e < 4000) * np.sin(e / 3.0)  # oscillatory phase
    drops = detect_abrupt_drops(10**y)
    assert len(drops) == 2
    assert drops[0].onset_epoch == pytest.approx(2000 - 15 * math.log(9), abs=5)
    assert drops[1].onset_epoch == pytest.approx(7000 - 15 * math.log(9), abs=5)
    # The running median averages the oscillations out: they belong to the next plateau.
    assert drops[1].plateau_start_epoch < 4000


@pytest.mark.parametrize(
    "curve",
    [
        lambda e: np.exp(-e / 300.0),  # fast from the start: no plateau
        lambda e: 1.0 - 0.2 * e / e[-1],  # slow linear decline
        lambda e: 1.0 + 1e-3 * np.sin(e),  # flat and noisy
        lambda e: 10 ** (-3.0 * e / e[-1]),  # steady power-law-free decline
    ],
)
def test_no_drop_without_plateau_and_fast_fall(curve):
    e = np.arange(5000, dtype=float)
    assert detect_abrupt_drops(curve(e)) == []


def test_uneven_epochs_and_zero_loss():
    e = np.concatenate([np.arange(0, 1000, 10.0), np.arange(1000, 2000, 1.0)])
    loss = 10 ** _sigmoid_drop(e, 1500, 5, 3.0)
    loss[-10:] = 0.0  # exact zeros are floored, not an error
    (d,) = detect_abrupt_drops(loss, e)
    assert 1480 < d.onset_epoch < d.end_epoch < 1520


def test_smoothing_removes_isolated_spikes():
    y = np.zeros(1000)
    y[500] = 3.0
    np.testing.assert_array_equal(smoothed_log_loss(10**y), 0.0)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((None,), {}, "loss is missing"),
        ((np.ones((3, 3)),), {}, "loss must be a 1-D array of at least 3 epochs"),
        ((np.array([1.0, np.nan, 1.0, 1.0]),), {}, "loss must be finite"),
        ((np.array([1.0, -1.0, 1.0]),), {}, "loss must be >= 0"),
        ((np.ones(4), np.arange(3)), {}, r"loss_epochs must have the shape of loss \(4,\)"),
        ((np.ones(3), np.array([0, 2, 1])), {}, "loss_epochs must be strictly increasing"),
        ((np.ones(3),), {"detector": {"window": 0.1}}, "detector must be a DropDetector"),
    ],
)
def test_detect_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        detect_abrupt_drops(*args, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": 0.0}, "window must be > 0"),
        ({"window": 1.5}, "window must be < 1"),
        ({"rate": -1.0}, "rate must be > 0"),
        ({"plateau": float("nan")}, "plateau must be finite"),
    ],
)
def test_detector_config_is_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DropDetector(**kwargs)
