"""Tracks, bifurcations and ghost events along parameter paths with known folds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghostlearn.analysis.points import rank1_points
from ghostlearn.analysis.tracking import (
    find_bifurcations,
    ghost_events,
    match_points,
    track_points,
)

# f = -k + 2 tanh(2k + b): the left pair (near k = -sqrt 3) vanishes at b = +B_FOLD, the
# right pair (near k = +sqrt 3) appears at b = -B_FOLD, as b increases.
B_FOLD = 2.0 * math.sqrt(3.0) - math.atanh(math.sqrt(3.0) / 2.0)


def _path(b0: float, b1: float, S: int, every: int = 10):
    epochs = np.arange(S) * every
    b = np.linspace(b0, b1, S)
    m = n = np.full((S, 1), 2.0)
    return epochs, b, rank1_points(m, n, b[:, None])


def _epoch_at(b_star: float, b0: float, b1: float, S: int, every: int) -> float:
    return (b_star - b0) / (b1 - b0) * (S - 1) * every


def test_both_folds_are_found_at_their_epochs_and_nowhere_else():
    S, every, b0, b1 = 601, 10, -3.0, 3.0
    epochs, _, p = _path(b0, b1, S, every)
    events = find_bifurcations(epochs, p.fixed_kappa, p.fixed_kinds, interval=(-15, 15))
    assert [(e.kind, e.direction) for e in events] == [
        ("saddle-node", "appear"),
        ("saddle-node", "vanish"),
    ]
    appear, vanish = events
    e_appear = _epoch_at(-B_FOLD, b0, b1, S, every)
    e_vanish = _epoch_at(B_FOLD, b0, b1, S, every)
    assert appear.epoch_before < e_appear <= appear.epoch_after
    assert vanish.epoch_before < e_vanish <= vanish.epoch_after
    assert appear.epoch_after - appear.epoch_before == every
    assert appear.kappa[0] == pytest.approx(math.sqrt(3), abs=0.05)
    assert vanish.kappa[0] == pytest.approx(-math.sqrt(3), abs=0.05)
    assert sorted(appear.kinds) == ["stable", "unstable"]
    assert (appear.n_fixed_before, appear.n_fixed_after) == (1, 3)
    assert (vanish.n_fixed_before, vanish.n_fixed_after) == (3, 1)


def test_fixed_point_tracks_follow_the_three_branches():
    S, every, b0, b1 = 601, 10, -3.0, 3.0
    epochs, _, p = _path(b0, b1, S, every)
    tracks = track_points(epochs, p.fixed_kappa, p.fixed_kinds, max_jump=1.5)
    assert len(tracks) == 3
    left, right_pair = tracks[0], tracks[1:]
    assert left.snapshots[0] == 0 and set(left.kinds) == {"stable"}
    assert np.all(left.kappa[:, 0] < 0)
    e_vanish = _epoch_at(B_FOLD, b0, b1, S, every)
    assert left.end_epoch < e_vanish <= left.end_epoch + every
    kinds = sorted(set(t.kinds) for t in right_pair)
    assert kinds == [{"stable"}, {"unstable"}] or sorted(map(sorted, kinds)) == [
        ["stable"],
        ["unstable"],
    ]
    # each track moves continuously
    for t in tracks:
        assert np.all(np.abs(np.diff(t.kappa[:, 0])) < 0.2)
        assert np.all(np.diff(t.snapshots) == 1)


def test_ghost_emerges_where_the_pair_vanished():
    S, every, b0, b1 = 401, 10, 1.0, 5.0
    epochs, b, p = _path(b0, b1, S, every)
    bifs = find_bifurcations(epochs, p.fixed_kappa, p.fixed_kinds, interval=(-15, 15))
    assert [(x.kind, x.direction) for x in bifs] == [("saddle-node", "vanish")]
    gtracks = track_points(
        epochs, p.ghost_kappa, p.ghost_kinds, depth=p.ghost_depth, category="ghost", max_jump=1.5
    )
    events = ghost_events(epochs, gtracks, bifs, max_jump=1.5)
    emerge = [e for e in events if e.kind == "emerge"]
    assert len(emerge) == 1
    (ev,) = emerge
    assert ev.at_bifurcation
    assert ev.snapshot == bifs[0].snapshot
    assert ev.kappa[0] == pytest.approx(-math.sqrt(3), abs=0.05)
    # Depth grows past the fold (about (b - B_FOLD) / 2) and the ghost stops counting at 0.5.
    (tr,) = gtracks
    assert np.all(np.diff(tr.depth) > 0) and tr.depth[-1] < 0.5
    b_end = b[tr.snapshots[-1]]
    assert 0.5 < b_end - B_FOLD < b1 - B_FOLD
    assert [e.kind for e in events] == ["emerge", "vanish"]


def test_match_points_is_optimal_and_gated():
    a = np.array([[0.0], [1.0], [5.0]])
    b = np.array([[5.1], [0.1], [1.2]])
    ia, ib = match_points(a, b)
    assert dict(zip(ia.tolist(), ib.tolist(), strict=True)) == {0: 1, 1: 2, 2: 0}
    ia, ib = match_points(a, b, max_jump=0.15)
    assert dict(zip(ia.tolist(), ib.tolist(), strict=True)) == {0: 1, 2: 0}
    ia, ib = match_points(np.zeros((0, 2)), np.ones((3, 2)))
    assert ia.size == ib.size == 0


def test_point_leaving_through_the_interval_end_is_a_boundary_event_in_any_dimension():
    epochs = np.array([0.0, 1.0, 2.0])
    k = np.array(
        [[[-3.0, 0.0], [14.8, 1.0]], [[-3.0, 0.0], [14.95, 1.0]], [[-3.0, 0.0], [np.nan] * 2]]
    )
    kinds = np.array([["stable", "saddle"], ["stable", "saddle"], ["stable", ""]])
    (ev,) = find_bifurcations(epochs, k, kinds, interval=(-15, 15), max_jump=0.5)
    assert (ev.kind, ev.direction, ev.snapshot) == ("boundary", "vanish", 2)
    assert not ev.is_bifurcation
    (ev,) = find_bifurcations(epochs, k, kinds, interval=(-15, 15), max_jump=0.01)
    assert ev.kind == "other"


def test_tracking_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match=r"epochs must have shape \(2,\)"):
        track_points(np.arange(3), np.zeros((2, 1)), np.array([["stable"], ["stable"]]))
    with pytest.raises(ValueError, match=r"kinds must have shape \(2, 1\)"):
        track_points(np.arange(2), np.zeros((2, 1)), np.array([["stable"]]))
    with pytest.raises(ValueError, match="kappa must have shape"):
        find_bifurcations(np.arange(2), np.zeros(2), np.array(["a", "b"]))
