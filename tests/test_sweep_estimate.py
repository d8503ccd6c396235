"""The time estimate: calibration recovers a known cost model; the worker schedule; the
budget (networks, memory, time) counted and reported before a sweep trains."""

import types

import numpy as np
import pytest
import xarray as xr

from ghostlearn.sweep import (
    Dask,
    GroupTiming,
    ProcessPool,
    SweepEstimate,
    batch_memory,
    estimate_time,
    parse_spec,
    plan_sweep,
    run_sweep,
    sweep_budget,
)
from ghostlearn.sweep import plan as sweep_plan
from ghostlearn.sweep import run as sweep_run

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
    monkeypatch.setattr(sweep_plan, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
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
    assert est.n_batches == 4
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


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 5, 8, 64])
@pytest.mark.parametrize(
    ("seconds", "counts"),
    [((3.0, 2.5, 1.0, 0.25), (5, 17, 40, 3)), ((10.0, 1.0), (1, 50)), ((2.0,), (7,))],
)
def test_counted_batches_are_scheduled_like_the_listed_ones(workers, seconds, counts):
    listed = SweepEstimate(groups=(timing(1.5),), batch_seconds=tuple(np.repeat(seconds, counts)))
    counted = SweepEstimate(groups=(timing(1.5),), batch_seconds=seconds, batch_counts=counts)
    assert counted.n_batches == listed.n_batches == sum(counts)
    assert counted.seconds(workers) == pytest.approx(listed.seconds(workers), rel=1e-12)


def test_bad_batch_counts():
    with pytest.raises(ValueError, match="batch_counts must have one count per entry"):
        SweepEstimate(groups=(), batch_seconds=(1.0, 2.0), batch_counts=(1,))
    with pytest.raises(ValueError, match="batch_counts must be >= 0, got -1"):
        SweepEstimate(groups=(), batch_seconds=(1.0,), batch_counts=(-1,))


# Two groups (N) of 10 networks (lr x seed), each in batches of 4, 3 and 3.
UNEVEN = {
    "sweep": {"batch_size": 4},
    "model": {"T": 20.0},
    "train": {"epochs": 1000},
    "grid": {"N": [8, 16], "lr": [0.1, 0.2], "seed": "0-4"},
}


def batch_cost(nets, epochs=1000):
    return OVERHEAD + nets * epochs * COST


def test_estimate_of_uneven_batches_and_of_the_batches_left(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sweep_plan, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    plan = plan_sweep(parse_spec(UNEVEN))
    est = estimate_time(plan, min_seconds=0.1, batch_fn=cost_model(clock))
    assert [g.nets for g in est.groups] == [4, 4]  # each group's largest batch
    assert est.n_batches == 6
    assert est.seconds(1) == pytest.approx(
        2 * batch_cost(4) + 4 * batch_cost(3) + 2 * COMPILE, rel=1e-9
    )
    calls = []
    left = estimate_time(
        plan,
        min_seconds=0.1,
        batch_fn=cost_model(clock),
        progress=lambda d, t: calls.append((d, t)),
        skip={"b00000", "b00001", "b00002", "b00003"},
    )
    assert calls == [(1, 1)] and [g.group for g in left.groups] == [1]  # group 0 is done
    assert left.n_batches == 2
    assert left.seconds(1) == pytest.approx(2 * batch_cost(3) + COMPILE, rel=1e-9)
    assert left.seconds(2) == pytest.approx(batch_cost(3) + COMPILE, rel=1e-9)


def test_budget_counts_networks_work_and_memory_without_training():
    plan = plan_sweep(parse_spec({**UNEVEN, "train": {"epochs": 10}}))
    b = sweep_budget(
        plan, backend=ProcessPool(3), done={"b00000", "b00004", "bogus"}, max_memory="5GB"
    )
    assert (b.networks, b.batches, b.groups, b.net_epochs) == (20, 6, 2, 200)
    assert (b.networks_left, b.batches_left, b.net_epochs_left) == (13, 4, 130)
    # The largest batch: 4 networks of the larger model (N = 16), the first of its group.
    assert (b.largest_batch, b.largest_nets, b.largest_epochs) == ("b00003", 4, 10)
    assert b.batch_memory == batch_memory(plan.batches[3])
    assert b.batch_memory == max(batch_memory(x) for x in plan.batches)
    assert (b.workers, b.memory) == (3, 3 * b.batch_memory)
    assert b.memory_limit == 5 * 10**9 and b.seconds() is None
    on_cluster = sweep_budget(plan, backend=Dask(local_workers=2))
    assert (on_cluster.workers, on_cluster.memory) == (0, 0)
    assert on_cluster.batch_memory == b.batch_memory


def test_run_refuses_a_batch_past_the_memory_limit_before_writing(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"sweep batch b00003 \(4 networks x 1,000 epochs\) on 2 local worker\(s\) "
        r"needs about .* above the limit of 1.0 kB",
    ):
        run_sweep(parse_spec(UNEVEN), tmp_path / "s", backend=ProcessPool(2), max_memory="1kB")
    assert not (tmp_path / "s").exists()


def stored(batch):
    """A stand-in for a trained batch: what the store needs (one variable, the cells)."""
    return xr.Dataset(
        {"loss": ("net", np.zeros(batch.n_nets))}, coords={"cell": ("net", batch.cells)}
    )


def test_run_reports_the_budget_before_training_and_what_is_left_on_resume(monkeypatch, tmp_path):
    clock = Clock()
    monkeypatch.setattr(sweep_plan, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    monkeypatch.setattr(sweep_run, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    path = tmp_path / "s"
    events, budgets, present = [], [], []

    def report(budget):
        events.append("report")
        budgets.append(budget)
        present.append(sorted(p.name for p in path.glob("batches/b*")))

    def batch_fn(interrupt_at=None):
        model = cost_model(clock)

        def fn(batch, progress=None):
            if "chunk" in batch.train:  # a calibration call
                events.append("calibration")
            else:
                if batch.index == interrupt_at:
                    raise KeyboardInterrupt
                events.append(batch.name)
            model(batch)
            return stored(batch)

        return fn

    spec = parse_spec(UNEVEN)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, path, batch_fn=batch_fn(interrupt_at=2), report=report, estimate=True)
    first = budgets[0]
    assert present[0] == []  # nothing trained (nor the store created) before the report
    assert events.index("report") == events.count("calibration")  # calibrated, reported
    assert events[events.index("report") + 1 :] == ["b00000", "b00001"]
    assert (first.batches_left, first.networks_left, first.workers) == (6, 20, 1)
    assert first.seconds() == pytest.approx(
        2 * batch_cost(4) + 4 * batch_cost(3) + 2 * COMPILE, rel=1e-9
    )

    events.clear()
    run_sweep(spec, path, batch_fn=batch_fn(), report=report, estimate=True)
    second = budgets[1]
    assert present[1] == ["b00000", "b00001"]  # the first run's batches only
    assert events[events.index("report") + 1 :] == ["b00002", "b00003", "b00004", "b00005"]
    assert (second.batches_left, second.networks_left, second.net_epochs_left) == (
        4,
        13,
        13_000,
    )
    assert second.seconds() == pytest.approx(
        batch_cost(4) + 3 * batch_cost(3) + 2 * COMPILE, rel=1e-9
    )


def test_bad_calibration_epochs_for_a_run(tmp_path):
    with pytest.raises(ValueError, match="calibration_epochs must be >= 1, got 0"):
        run_sweep(parse_spec(UNEVEN), tmp_path / "s", estimate=True, calibration_epochs=0)
    assert not (tmp_path / "s").exists()
