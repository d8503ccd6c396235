"""The analysis settings as one typed object: validation, and the same analysis whether the
settings come as an AnalysisSettings (SlowPointSettings) or as keywords."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import brentq

import ghostlearn as gl
from ghostlearn.analysis import (
    AnalysisSettings,
    DropDetector,
    LowRankFlow,
    SlowPointSettings,
    VerdictRules,
    analyze_dataset,
    analyze_run,
    analyze_run_lowrank,
    find_field_points,
    find_slow_points,
    find_slow_points_along,
)
from ghostlearn.rnn import RNNConfig

# f = -k + 2 tanh(2k + b) (N = 1, m = n = 2): three fixed points for |b| < B_FOLD, one
# beyond; just past the fold a ghost remains where the pair vanished.
B_FOLD = 2.0 * math.sqrt(3.0) - math.atanh(math.sqrt(3.0) / 2.0)
E, EVERY, SWITCH = 3000, 10, 1500
EPOCHS = np.arange(E, dtype=float)
SNAPS = np.arange(0, E, EVERY, dtype=float)
LOSS = 10 ** (-2.0 / (1.0 + np.exp(-(EPOCHS - SWITCH - 20) / 8.0)))  # two decades at 1520
GRAD = 1e-3 + 0.1 * (EPOCHS > SWITCH)
ACC = np.where(EPOCHS < SWITCH + 20, 0.5, 1.0)

# Settings away from every default, so that a setting dropped on the way shows.
CUSTOM = {
    "interval": (-6.0, 6.0),
    "n_grid": 500,
    "ghost_tol": 0.4,
    "method": "grid",
    "max_jump": 0.5,
    "detector": DropDetector(window=0.02),
    "rules": VerdictRules(tail=30),
}


def _rank1_run(b_before=0.0, b_after=3.0):
    """The bias jumps across the fold at SWITCH: three fixed points, then one."""
    b = np.where(SNAPS < SWITCH, b_before, b_after)[:, None]
    m = n = np.full((SNAPS.size, 1), 2.0)
    return (SNAPS, m, n, b, LOSS, GRAD)


def _rank2_run():
    """The same fold in coordinate 1; coordinate 2 a decoupled stable direction
    (``F_2 = -k_2 + 0.5 tanh(k_2)``: one root, 0). Six snapshots around the switch."""
    sel = slice(SWITCH // EVERY - 3, SWITCH // EVERY + 3)
    se = SNAPS[sel]
    S = se.size
    M = np.zeros((S, 2, 2))
    M[:, 0, 0], M[:, 1, 1] = 2.0, 1.0
    Nm = np.zeros((S, 2, 2))
    Nm[:, 0, 0], Nm[:, 1, 1] = 2.0, 0.5
    b = np.zeros((S, 2))
    b[:, 0] = np.where(se < SWITCH, 0.0, 3.0)
    keep = (EPOCHS >= se[0]) & (EPOCHS <= se[-1] + EVERY)
    return se, M, Nm, b, LOSS[keep], EPOCHS[keep]


def _rank1_dataset(tau=10.0):
    """Two rank-one networks as train() stores them (attrs: the whole RNNConfig)."""
    runs = [_rank1_run(0.0, 3.0), _rank1_run(6.0, B_FOLD + 0.1)]
    data = {
        name: (("net", "snapshot", "unit"), np.stack([r[i] for r in runs]))
        for i, name in ((1, "snap_m"), (2, "snap_n"), (3, "snap_b"))
    }
    data["loss"] = (("net", "epoch"), np.stack([LOSS, LOSS]))
    data["grad_norm"] = (("net", "epoch"), np.stack([GRAD, GRAD]))
    data["accuracy"] = (("net", "epoch"), np.stack([ACC, ACC]))
    coords = {"net": [0, 1], "epoch": EPOCHS, "snapshot": SNAPS}
    attrs = {"model": dataclasses.asdict(RNNConfig(N=1, tau=tau))}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _roots_at_b0():
    """The three roots of ``-k + 2 tanh(2k)`` (the flow at b = 0): ``-k*, 0, k*``."""
    k_star = brentq(lambda k: -k + 2.0 * math.tanh(2.0 * k), 0.5, 5.0)
    return [-k_star, 0.0, k_star]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("tau", -1.0, "tau must be > 0, got -1.0"),
        ("tau", float("nan"), "tau must be finite, got nan"),
        ("interval", (5.0, 5.0), r"interval must be a finite .* lo < hi, got \(5.0, 5.0\)"),
        ("interval", (0.0, math.inf), "interval must be a finite interval"),
        ("interval", "wide", "interval must be a pair"),
        ("n_grid", 2, "n_grid must be >= 3, got 2"),
        ("n_grid", 100.0, "n_grid must be an integer, got 100.0"),
        ("ghost_tol", -0.1, r"ghost_tol must be >= 0 \(inf allowed\), got -0.1"),
        ("ghost_tol", float("nan"), "ghost_tol must be >= 0 .*, got nan"),
        ("method", "newton", "method must be one of 'screen', 'grid', got 'newton'"),
        ("n_starts", 0, "n_starts must be >= 1, got 0"),
        ("seed", -1, r"seed must be in 0..2\*\*63-1, got -1"),
        ("seed", 1.5, "seed must be an integer, got 1.5"),
        ("seed_grid", 2, "seed_grid must be >= 3, got 2"),
        ("max_jump", 0.0, "max_jump must be > 0, got 0.0"),
        ("detector", {"window": 0.1}, "detector must be a DropDetector, got {'window': 0.1}"),
        ("rules", "strict", "rules must be a VerdictRules, got 'strict'"),
    ],
)
def test_analysis_settings_reject_each_bad_field_by_name(field, value, match):
    with pytest.raises(ValueError, match=match):
        AnalysisSettings(**{field: value})


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("box", (1.0, -1.0), "box must be a finite interval with lo < hi"),
        ("n_starts", -1, "n_starts must be >= 0, got -1"),
        ("seed", -3, "seed must be in 0..2"),
        ("n_grid", 2, "n_grid must be >= 3, got 2"),
        ("n_seeds", -1, "n_seeds must be >= 0, got -1"),
        ("n_iter", -1, "n_iter must be >= 0, got -1"),
        ("n_polish", -1, "n_polish must be >= 0, got -1"),
        ("tau", 0.0, "tau must be > 0, got 0.0"),
        ("ghost_tol", -1.0, "ghost_tol must be >= 0"),
        ("fixed_tol", 0.0, "fixed_tol must be > 0, got 0.0"),
        ("marginal_tol", -1e-6, "marginal_tol must be > 0, got -1e-06"),
        ("dedup_tol", 0.0, "dedup_tol must be > 0, got 0.0"),
    ],
)
def test_slow_point_settings_reject_each_bad_field_by_name(field, value, match):
    with pytest.raises(ValueError, match=match):
        SlowPointSettings(**{field: value})


def test_settings_are_frozen_keyword_only_and_normalised():
    s = AnalysisSettings(interval=(-5, 5), detector=None, rules=None, seed_grid=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_grid = 10
    with pytest.raises(TypeError):
        AnalysisSettings(10.0)
    assert s.interval == (-5.0, 5.0) and all(type(v) is float for v in s.interval)
    # None stands for the default detector and rules, so equal settings compare equal
    assert s.detector == DropDetector() and s.rules == VerdictRules()
    assert s == AnalysisSettings(interval=(-5.0, 5.0), seed_grid=0)
    assert s.resolved_max_jump == pytest.approx(0.5)  # 5 % of the width 10
    assert AnalysisSettings(max_jump=0.2).resolved_max_jump == 0.2
    assert AnalysisSettings(ghost_tol=math.inf).ghost_tol == math.inf
    assert SlowPointSettings(box=(-2, 2)).box == (-2.0, 2.0)
    assert gl.AnalysisSettings is AnalysisSettings


# --------------------------------------------------------------------------- the entry points


def test_rank1_run_keywords_and_object_give_the_same_analysis():
    run = _rank1_run()
    by_keywords = analyze_run(*run, accuracy=ACC, **CUSTOM)
    by_object = analyze_run(*run, accuracy=ACC, settings=AnalysisSettings(**CUSTOM))
    assert by_object.to_dict() == by_keywords.to_dict()
    # The settings reached the analysis: the record holds them, not the defaults.
    rec = by_object.to_dict()["settings"]
    assert set(rec) == {"tau", "n_grid", "ghost_tol", "method", "interval", "max_jump",
                        "detector", "rules"}  # fmt: skip
    assert (rec["interval"], rec["n_grid"], rec["method"], rec["ghost_tol"]) == (
        [-6.0, 6.0], 500, "grid", 0.4,
    )  # fmt: skip
    assert rec["max_jump"] == 0.5 and rec["tau"] == 10.0
    assert rec["detector"]["window"] == 0.02 and rec["rules"]["tail"] == 30
    # ...and the analysis is right: three roots of -k + 2 tanh(2k) before the jump, one after.
    assert by_object.n_fixed.tolist() == [3] * (SWITCH // EVERY) + [1] * (SNAPS.size - 150)
    np.testing.assert_allclose(np.sort(by_object.points.fixed_kappa[0]), _roots_at_b0(),
                               atol=1e-6)  # fmt: skip
    assert by_object.verdict.label == "bifurcation-mediated"
    # K = 1 given as rank K is the same rank-one analysis, with the same settings
    s, m, n, b, loss, grad = run
    as_lowrank = analyze_run_lowrank(
        s, m[..., None], n[:, None, :], b, loss, grad, accuracy=ACC,
        settings=AnalysisSettings(**CUSTOM),
    )  # fmt: skip
    assert as_lowrank.to_dict() == by_object.to_dict()


def test_rank2_run_keywords_and_object_give_the_same_analysis():
    se, M, Nm, b, loss, le = _rank2_run()
    kw = {"interval": (-4.0, 4.0), "n_starts": 16, "seed": 5, "seed_grid": 40, "tau": 20.0}
    by_keywords = analyze_run_lowrank(se, M, Nm, b, loss, loss_epochs=le, **kw)
    by_object = analyze_run_lowrank(
        se, M, Nm, b, loss, loss_epochs=le, settings=AnalysisSettings(**kw)
    )
    assert by_object.to_dict() == by_keywords.to_dict()
    rec = by_object.to_dict()["settings"]
    assert set(rec) == {"tau", "ghost_tol", "n_starts", "seed", "seed_grid", "interval",
                        "max_jump", "detector", "rules"}  # fmt: skip
    assert (rec["n_starts"], rec["seed"], rec["seed_grid"], rec["tau"]) == (16, 5, 40, 20.0)
    assert rec["interval"] == [-4.0, 4.0] and rec["max_jump"] == pytest.approx(0.4)
    assert by_object.points.tau == 20.0 and by_object.points.box == (-4.0, 4.0)
    # the fold: (+-k*, 0) and (0, 0) before the jump, one root after
    assert by_object.n_fixed.tolist() == [3, 3, 3, 1, 1, 1]
    fixed = by_object.points.fixed()[0][0]
    k1 = np.sort(fixed[np.isfinite(fixed[:, 0]), 0])
    np.testing.assert_allclose(k1, _roots_at_b0(), atol=1e-6)


def test_dataset_keywords_and_object_give_the_same_analysis_and_tau_is_the_models():
    ds = _rank1_dataset(tau=20.0)
    by_keywords = analyze_dataset(ds, **CUSTOM)
    by_object = analyze_dataset(ds, settings=AnalysisSettings(**CUSTOM))
    assert [r.to_dict() for r in by_object] == [r.to_dict() for r in by_keywords]
    assert [r.verdict.label for r in by_object] == ["bifurcation-mediated", "ghost-mediated"]
    # tau: the networks' own unless the settings name one
    assert all(r.settings["tau"] == 20.0 for r in by_object)
    (mine,) = analyze_dataset(ds, nets=[1], settings=AnalysisSettings(tau=5.0, **CUSTOM))
    assert mine.settings["tau"] == 5.0
    ratio = by_object[1].points.ghost_passage_time / mine.points.ghost_passage_time
    assert np.isfinite(ratio).sum() >= 100  # a ghost at every snapshot after the switch
    np.testing.assert_allclose(ratio[np.isfinite(ratio)], 4.0)  # passage times scale with tau
    # one network of the Dataset is the run given as arrays, with the same settings
    alone = analyze_run(*_rank1_run(), accuracy=ACC, loss_epochs=EPOCHS,
                        settings=AnalysisSettings(tau=20.0, **CUSTOM))  # fmt: skip
    assert alone.to_dict() == by_object[0].to_dict()


def test_slow_point_finders_take_the_object_or_keywords():
    M, Nm, b = np.diag([2.0, 0.5]), np.diag([2.0, 1.0]), np.zeros(2)
    flow = LowRankFlow(M, Nm, b)
    kw = {"box": (-3.0, 3.0), "n_starts": 8, "seed": 3, "n_grid": 30, "tau": 2.0}
    a = find_slow_points(flow, **kw)
    c = find_slow_points(flow, settings=SlowPointSettings(**kw))
    for name in ("kappa", "kind", "speed", "eigenvalues", "n_points"):
        np.testing.assert_array_equal(getattr(a, name), getattr(c, name))
    assert (c.tau, c.box) == (2.0, (-3.0, 3.0))
    # (+-k*, 0) stable nodes and (0, 0) a saddle, k* the root of -k + 2 tanh(2k)
    found = sorted((p.kappa[0], p.stability) for p in c[()])
    k_star = _roots_at_b0()[2]
    assert [s for _, s in found] == ["stable node", "saddle", "stable node"]
    np.testing.assert_allclose([k for k, _ in found], [-k_star, 0.0, k_star], atol=1e-8)
    # tau defaults to 10 for network flows, to 1 for any other field
    assert find_slow_points(flow).tau == 10.0
    assert find_slow_points_along(LowRankFlow(M[None], Nm[None], b[None])).tau == 10.0
    field = find_field_points(lambda k, r: -k + r * k**3, np.array([0.5]), dim=2)
    assert field.tau == 1.0
    assert find_field_points(lambda k, r: -k + r * k**3, np.array([0.5]), dim=2,
                             settings=SlowPointSettings(tau=3.0)).tau == 3.0  # fmt: skip


def test_both_forms_at_once_are_refused_and_unknown_keywords_named():
    run = _rank1_run()
    se, M, Nm, b, loss, le = _rank2_run()
    s = AnalysisSettings()
    both = "give the settings as one AnalysisSettings object or as keywords, not both; got "
    with pytest.raises(ValueError, match=both + "settings and n_grid, tau"):
        analyze_run(*run, settings=s, tau=10.0, n_grid=500)
    with pytest.raises(ValueError, match=both + "settings and n_starts"):
        analyze_run_lowrank(se, M, Nm, b, loss, loss_epochs=le, settings=s, n_starts=8)
    with pytest.raises(ValueError, match=both + "settings and interval"):
        analyze_dataset(_rank1_dataset(), settings=s, interval=(-5.0, 5.0))
    with pytest.raises(ValueError, match="SlowPointSettings object or as keywords, not both"):
        find_slow_points(LowRankFlow(M[0], Nm[0], b[0]), settings=SlowPointSettings(), seed=1)
    with pytest.raises(ValueError, match="settings must be AnalysisSettings, got dict"):
        analyze_run(*run, settings={"n_grid": 500})
    with pytest.raises(TypeError, match=r"analyze_run\(\) got an unexpected keyword .*'n_gird'"):
        analyze_run(*run, n_gird=500)
    with pytest.raises(TypeError, match="analyze_dataset\\(\\) got an unexpected keyword"):
        analyze_dataset(_rank1_dataset(), box=(-1.0, 1.0))
    # a bad keyword is refused by the object's own check, naming the field
    with pytest.raises(ValueError, match="n_starts must be >= 1, got 0"):
        analyze_run_lowrank(se, M, Nm, b, loss, loss_epochs=le, n_starts=0)
