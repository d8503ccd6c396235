"""The time estimate: calibration recovers a known cost model; the worker schedule."""

import types

import pytest
import xarray as xr

from ghostlearn import sweep
from ghostlearn.sweep import GroupTiming, SweepEstimate, estimate_time, parse_spec, plan_sweep

COMPILE, OVERHEAD, COST = 0.3, 0.02, 2e-5  # s, s, s per network-epoch


class Clock:
    """A fake ``time.perf_counter`` that only the cost model advances (no real waiting)."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def cost_model(clock):
    """A batch function that takes COMPILE once per group, then OVERHEAD + P E COST."""
    compiled = set()

    def fn(batch, progress=None):
        if batch.group not in compiled:
            compiled.add(batch.group)
            clock.now += COMPILE
        clock.now += OVERHEAD + batch.n_nets * batch.train["epochs"] * COST
        return xr.Dataset()

    return fn


def test_calibration_recovers_the_cost_model(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sweep, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    spec = parse_spec(
        {
            "sweep": {"batch_size": 4},
            "train": {"epochs": 1000},
            "grid": {"N": [8, 12], "lr": [0.1, 0.2], "seed": [0, 1, 2, 3]},
        }
    )
    plan = plan_sweep(spec)
    calls = []
    est = estimate_time(
        plan,
        min_seconds=0.1,
        batch_fn=cost_model(clock),
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(1, 2), (2, 2)]
    assert len(est.groups) == 2
    for g in est.groups:
        assert g.nets == 4
        assert g.net_epochs_per_s == pytest.approx(1 / COST, rel=1e-9)
        assert g.overhead_s == pytest.approx(OVERHEAD, abs=1e-12)
        assert g.compile_s == pytest.approx(COMPILE, abs=1e-12)
    # 4 batches of 4 networks x 1000 epochs: 0.02 + 0.08 s each, + 0.3 s per group.
    assert est.seconds(1) == pytest.approx(4 * 0.1 + 2 * 0.3, rel=1e-9)


def timing(compile_s=0.0):
    return GroupTiming(group=0, nets=1, compile_s=compile_s, overhead_s=0.0, net_epochs_per_s=1.0)


def test_longest_batches_first_on_the_least_busy_worker():
    est = SweepEstimate(groups=(timing(),), batch_seconds=(3.0, 2.0, 2.0, 1.0))
    assert est.seconds(1) == 8.0
    assert est.seconds(2) == 4.0  # [3, 1] and [2, 2]
    assert est.seconds(4) == 3.0  # the longest batch
    assert est.seconds(64) == 3.0
    with_compile = SweepEstimate(groups=(timing(5.0),), batch_seconds=(3.0, 2.0, 2.0, 1.0))
    assert with_compile.seconds(2) == 9.0


def test_bad_calibration_epochs():
    plan = plan_sweep(parse_spec({"train": {"epochs": 5, "lr": 0.1}, "grid": {"seed": [0]}}))
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        estimate_time(plan, epochs=0)
