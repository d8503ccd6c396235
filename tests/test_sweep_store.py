"""The sweep store: round trip against the engine, reshaping, partial sweeps, resume,
refusal of a different spec, status."""

import os

import numpy as np
import pytest
import xarray as xr

from ghostlearn.sweep import (
    SweepStore,
    open_group,
    open_sweep,
    parse_spec,
    plan_sweep,
    run_batch,
    run_sweep,
    sweep_status,
)

GRID = {"lr": [0.05, 0.5], "c": [1.0, 10.0], "seed": "0-3"}


def tiny(grid=None, epochs=12, batch_size=4):
    """16 rank-one networks of 8 units (lr x c x seed) in 4 batches of 4, unless given.

    T = 20 ms (8 steps a trial) keeps the engine's compile time short; every test uses
    batches of 4 networks x 12 epochs, so most reuse one compiled program.
    """
    grid = grid or GRID
    return parse_spec(
        {
            "sweep": {"name": "tiny", "batch_size": batch_size},
            "model": {"T": 20.0, **({} if "N" in grid else {"N": 8})},
            "train": {"epochs": epochs, **({} if "lr" in grid else {"lr": 0.5})},
            "grid": grid,
        }
    )


def assert_bitwise(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        assert a[name].values.tobytes() == b[name].values.tobytes(), name


def tree(path):
    """Every path under ``path`` with its size and modification time."""
    out = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.stat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep run once, in-process."""
    path = tmp_path_factory.mktemp("ref") / "ref.sweep"
    run_sweep(tiny(), path)
    return path


def test_round_trip_equals_the_engine_and_sel_works(reference):
    from ghostlearn.rnn import RNNConfig
    from ghostlearn.train import train

    ds = open_sweep(reference)
    assert ds.loss.dims == ("lr", "c", "seed", "epoch") and ds.loss.shape == (2, 2, 4, 12)
    assert ds.m.dims == ("lr", "c", "seed", "unit") and ds.m.shape == (2, 2, 4, 8)
    np.testing.assert_array_equal(ds.seed, [0, 1, 2, 3])
    assert ds.attrs["spec"] == tiny().to_dict() and ds.attrs["complete"]
    plan = plan_sweep(tiny())
    for batch in plan.batches:
        # The engine called directly on the batch's networks, without the sweep machinery
        # (on one device, as every sweep batch is trained).
        direct = train(
            RNNConfig(**batch.model),
            seeds=batch.seed,
            lr=batch.lr,
            c=batch.c,
            devices=1,
            **batch.train,
        )
        for i in range(batch.n_nets):
            cell = ds.sel(lr=batch.lr[i], c=batch.c[i], seed=batch.seed[i])
            for name in ("loss", "accuracy", "grad_norm", "m", "n", "b"):
                np.testing.assert_array_equal(cell[name], direct[name].isel(net=i), err_msg=name)
    # The analysis idiom of the docs.
    mean = ds.loss.sel(lr=0.5, c=10.0).mean("seed")
    assert mean.dims == ("epoch",)
    np.testing.assert_allclose(mean, ds.loss.values[1, 1].mean(axis=0), rtol=1e-6)


def test_status_of_a_finished_sweep(reference):
    s = sweep_status(reference)
    assert (s.batches_done, s.batches_total, s.nets_done, s.nets_total) == (4, 4, 16, 16)
    assert s.net_epochs_done == s.net_epochs_total == 16 * 12
    assert s.complete and s.in_progress == 0 and s.name == "tiny"
    assert s.started <= s.last_update


def test_structural_fields_align_over_epoch_and_parameters_stay_per_group(tmp_path):
    spec = tiny({"N": [8, 12], "lr": [0.05, 0.5], "seed": [0, 1]})
    run_sweep(spec, tmp_path / "s")
    ds = open_sweep(tmp_path / "s")
    assert ds.loss.dims == ("N", "lr", "seed", "epoch")
    assert {"m", "n", "b"} <= set(ds.attrs["omitted"]) and "m" not in ds
    big = open_group(tmp_path / "s", N=12)
    assert big.m.shape == (4, 12)
    np.testing.assert_array_equal(big.seed, [0, 1, 0, 1])
    np.testing.assert_array_equal(big.lr, [0.05, 0.05, 0.5, 0.5])
    np.testing.assert_array_equal(big.N, [12] * 4)
    np.testing.assert_array_equal(big.loss.values.reshape(2, 2, -1), ds.loss.sel(N=12).values)
    with pytest.raises(ValueError, match="no batch groups match"):
        open_group(tmp_path / "s", N=10)
    with pytest.raises(ValueError, match="seed is not a swept structural field"):
        open_group(tmp_path / "s", seed=0)


def test_interrupted_sweep_resumes_to_the_same_numbers(tmp_path, reference):
    calls = []

    def two_then_fail(batch, progress=None):
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C during the third batch
        calls.append(batch.name)
        return run_batch(batch, progress)

    path = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(tiny(), path, batch_fn=two_then_fail)
    s = sweep_status(path)
    assert (s.batches_done, s.batches_total, s.complete) == (2, 4, False)
    with pytest.raises(ValueError, match="unfinished: 2 of 4 batches done"):
        open_sweep(path)
    part = open_sweep(path, partial=True)
    assert not part.attrs["complete"]
    assert int(np.isnan(part.loss.isel(epoch=0)).sum()) == 8  # the cells of 2 batches
    # A partial write left by a killed run is removed on resume.
    stale = path / "batches" / ".b00002.tmp-deadbeef"
    stale.mkdir()
    (stale / "zarr.json").write_text("{")
    assert sweep_status(path).in_progress == 1
    seen = []
    run_sweep(tiny(), path, progress=seen.append)
    assert not stale.exists()
    assert seen[0].batches_done == 2 and seen[-1].batches_done == 4
    assert seen[-1].net_epochs_done == seen[-1].net_epochs_total == 16 * 12
    assert seen[-1].rate > 0 and seen[-1].eta_s == 0
    assert_bitwise(open_sweep(path), open_sweep(reference))
    # Running a finished sweep again computes nothing.
    run_sweep(tiny(), path, batch_fn=two_then_fail)


def test_a_different_spec_is_refused_and_nothing_changes(tmp_path, reference):
    before = tree(reference)
    other = tiny({"lr": [0.05, 0.2], "c": [1.0, 10.0], "seed": "0-3"})
    with pytest.raises(
        ValueError,
        match=r"spec differs from the store's .*: lr changed from \[0.05, 0.5\] to "
        r"\[0.05, 0.2\]",
    ):
        run_sweep(other, reference)
    with pytest.raises(ValueError, match="batch_size changed from 4 to 3"):
        run_sweep(tiny(), reference, batch_size=3)
    assert tree(reference) == before


def test_bad_store_paths_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="the store must be a directory"):
        run_sweep(tiny(), tmp_path / "file")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="is not a sweep store"):
        run_sweep(tiny(), other)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    with pytest.raises(ValueError, match="no sweep store at"):
        sweep_status(tmp_path / "missing")


def test_one_writer_at_a_time(reference):
    with SweepStore(reference).lock():
        with pytest.raises(ValueError, match=r"is being written by another process"):
            run_sweep(tiny(), reference)


def test_leftovers_of_a_killed_creation_are_removed(tmp_path):
    stale = tmp_path / ".s.tmp-0badf00d"
    stale.mkdir()
    (stale / "zarr.json").write_text("{")
    run_sweep(tiny(), tmp_path / "s")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".s.lock", "s"]


def test_write_batch_checks_the_cells(tmp_path, reference):
    store = SweepStore(reference)
    batch = store.plan.batches[0]
    data = store.open_batch(batch.name)
    with pytest.raises(ValueError, match="does not hold its cells"):
        store.write_batch(store.plan.batches[1], data)


def test_a_new_store_lists_the_plan_and_counts_it_without_training(tmp_path):
    # Two groups (N) of 6 networks (lr x seed) in batches of 3.
    plan = plan_sweep(tiny({"N": [8, 12], "lr": [0.05, 0.5], "seed": "0-2"}, batch_size=4))
    store = SweepStore.create(tmp_path / "s", plan)
    assert store.manifest()["batches"] == [
        {"name": b.name, "group": b.group, "nets": b.n_nets, "epochs": 12} for b in plan.batches
    ]
    assert [b.n_nets for b in plan.batches] == [3, 3, 3, 3]
    s = store.status()
    assert (s.batches_done, s.batches_total, s.nets_done, s.nets_total) == (0, 4, 0, 12)
    assert (s.net_epochs_done, s.net_epochs_total, s.complete) == (0, 12 * 12, False)
