"""Backends: a process pool and a Dask LocalCluster give the in-process numbers bit for bit,
even when a worker dies mid-batch; a scheduler that does not answer is reported quickly."""

import functools
import os
import socket
import sys

import pytest
import xarray as xr

from ghostlearn.sweep import (
    Dask,
    ProcessPool,
    open_sweep,
    parse_spec,
    plan_sweep,
    run_batch,
    run_sweep,
    sweep_status,
    worker_environment,
)

SPEC = parse_spec(
    {
        "sweep": {"batch_size": 4},
        "model": {"N": 8, "T": 20.0},
        "train": {"epochs": 12},
        "grid": {"lr": [0.05, 0.5], "c": [1.0, 10.0], "seed": "0-3"},  # 4 batches of 4
    }
)


@pytest.fixture(scope="module", autouse=True)
def shared_compilation_cache(tmp_path_factory):
    """Worker processes share compiled programs through JAX's persistent cache (this
    process is left alone): a restarted worker loads the program instead of compiling."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "jax-cache"))
        yield


def crash_once(batch, progress=None, *, marker, victim):
    """The batch function, except that the first attempt at ``victim`` kills its worker."""
    if batch.name == victim and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(1)
    return run_batch(batch, progress)


def assert_bitwise(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        assert a[name].values.tobytes() == b[name].values.tobytes(), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.sweep"
    run_sweep(SPEC, path)
    return open_sweep(path)


def test_process_pool_matches_in_process_despite_a_killed_worker(tmp_path, reference):
    marker = tmp_path / "crashed"
    fn = functools.partial(crash_once, marker=str(marker), victim="b00001")
    run_sweep(SPEC, tmp_path / "pool.sweep", backend=ProcessPool(2), batch_fn=fn)
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker did die
    assert sweep_status(tmp_path / "pool.sweep").complete
    assert_bitwise(open_sweep(tmp_path / "pool.sweep"), reference)


def test_process_pool_gives_up_on_a_batch_that_always_kills_its_worker(tmp_path):
    fn = functools.partial(crash_always, victim="b00000")
    with pytest.raises(RuntimeError, match=r"batch b00000 lost its worker 2 times \(retries=1\)"):
        run_sweep(SPEC, tmp_path / "s", backend=ProcessPool(1, retries=1), batch_fn=fn)
    assert sweep_status(tmp_path / "s").batches_done == 0


def crash_always(batch, progress=None, *, victim):
    if batch.name == victim:
        os._exit(1)
    return run_batch(batch, progress)


def test_dask_local_cluster_matches_in_process_despite_a_killed_worker(tmp_path, reference):
    pytest.importorskip("distributed")
    marker = tmp_path / "crashed"
    fn = functools.partial(crash_once, marker=str(marker), victim="b00002")
    seen = []
    run_sweep(
        SPEC,
        tmp_path / "dask.sweep",
        backend=Dask(local_workers=2),
        batch_fn=fn,
        progress=seen.append,
    )
    assert marker.exists() and int(marker.read_text()) != os.getpid()
    assert [p.batches_done for p in seen] == [0, 1, 2, 3, 4]
    assert_bitwise(open_sweep(tmp_path / "dask.sweep"), reference)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_that_does_not_answer_is_reported(tmp_path):
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ValueError, match=f"no Dask scheduler answers at {address}"):
        run_sweep(SPEC, tmp_path / "s", backend=Dask(scheduler=address, connect_timeout=1.0))
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "give exactly one of scheduler"),
        ({"scheduler": "tcp://h:1", "local_workers": 2}, "give exactly one of scheduler"),
        ({"scheduler": "localhost"}, "scheduler must be an address like tcp://HOST:PORT"),
        ({"local_workers": 0}, "local_workers must be >= 1, got 0"),
        ({"local_workers": 1, "max_in_flight": 0}, "max_in_flight must be >= 1, got 0"),
    ],
)
def test_bad_dask_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Dask(**kwargs)


def test_bad_pool_arguments():
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        ProcessPool(0)


def test_missing_dask_is_a_clear_import_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'ghostlearn\[dask\]'"):
        run_sweep(SPEC, tmp_path / "s", backend=Dask(local_workers=1))
    assert not (tmp_path / "s").exists()


def devices_seen(batch, progress=None):
    import jax

    return len(jax.devices()), os.environ["XLA_FLAGS"]


def test_pool_workers_see_one_jax_device(monkeypatch):
    # Even when this process asks XLA for two host devices, a worker gets one.
    monkeypatch.setenv(
        "XLA_FLAGS", "--xla_force_host_platform_device_count=2 --xla_dump_hlo_as_text=false"
    )
    env = worker_environment()
    assert env["XLA_FLAGS"].split() == [
        "--xla_dump_hlo_as_text=false",
        "--xla_force_host_platform_device_count=1",
        "--xla_cpu_multi_thread_eigen=false",
    ]
    assert env["JAX_NUM_CPU_DEVICES"] == env["OMP_NUM_THREADS"] == "1"
    with ProcessPool(1) as pool:
        [(_, (n_devices, flags))] = list(pool.imap(devices_seen, plan_sweep(SPEC).batches[:1]))
    assert n_devices == 1 and flags == env["XLA_FLAGS"]


def name_of(batch, progress=None):
    return batch.name


def taking(batches, taken):
    """Yield ``batches``, noting the name of each one as it is taken."""
    for batch in batches:
        taken.append(batch.name)
        yield batch


def test_a_pool_takes_batches_only_as_workers_free_up():
    plan = plan_sweep(SPEC, batch_size=1)  # 16 batches
    taken = []
    with ProcessPool(1) as pool:
        for i, (batch, name) in enumerate(pool.imap(name_of, taking(plan.batches, taken))):
            assert name == batch.name and len(taken) == i + 1  # one running, none waiting
    assert taken == [b.name for b in plan.batches]


def test_dask_keeps_at_most_max_in_flight_batches_submitted():
    pytest.importorskip("distributed")
    plan = plan_sweep(SPEC, batch_size=1)
    taken, done = [], []
    with Dask(local_workers=1, max_in_flight=2) as dask:
        for i, (batch, name) in enumerate(dask.imap(name_of, taking(plan.batches, taken))):
            assert name == batch.name
            done.append(name)
            assert len(taken) <= i + 3  # i + 1 finished, at most 2 more submitted
    assert sorted(done) == sorted(taken) == [b.name for b in plan.batches]
