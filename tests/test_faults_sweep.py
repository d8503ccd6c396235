"""Fault injection, part 2: sweeps killed, raced, damaged and orphaned.

- kill -9 at several points (before the first batch, between batches, during a write),
  then a resume that ends bit for bit equal to an uninterrupted run;
- two writers started together on a fresh store, with the same spec and with another:
  never data under the wrong labels;
- a deleted chunk, a truncated chunk, a batch trained under another spec and a garbled
  manifest: flagged by status, summarize and verify (naming batch and variable), and
  recomputed by the next run;
- the workers of a process pool exit when their driver is killed.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from ghostlearn.cli import app
from ghostlearn.sweep import SweepStore, open_sweep, parse_spec, run_sweep, sweep_status

runner = CliRunner()

SPEC = {
    "sweep": {"name": "faults", "batch_size": 2},
    "model": {"N": 8, "T": 20.0},
    "train": {"epochs": 12},
    "grid": {"lr": [0.05, 0.5], "seed": "0-2"},  # 6 cells, 3 batches of 2
}
OTHER = {**SPEC, "grid": {"lr": [0.03, 0.6], "seed": "0-2"}}

# A driver as a user runs it; each batch pauses so that kills and races land mid-sweep.
DRIVER = textwrap.dedent(
    """
    import json, sys, time
    from ghostlearn.sweep import parse_spec, run_batch, run_sweep

    def slow(batch, progress=None):
        out = run_batch(batch, progress)
        time.sleep(float(sys.argv[3]))
        return out

    try:
        run_sweep(parse_spec(json.loads(sys.argv[1])), sys.argv[2], batch_fn=slow)
    except ValueError as e:
        print("REFUSED:", e)
        sys.exit(2)
    """
)


@pytest.fixture(scope="module", autouse=True)
def shared_compilation_cache(tmp_path_factory):
    """Driver processes share compiled programs through JAX's persistent cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "jax-cache"))
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of SPEC, in this process."""
    store = tmp_path_factory.mktemp("ref") / "ref.sweep"
    run_sweep(parse_spec(SPEC), store)
    return store


def driver(tmp_path, spec, store, pause=0.3):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(spec), str(store), str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def assert_bitwise(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        assert a[name].values.tobytes() == b[name].values.tobytes(), name


def kill_when(proc, condition, limit=120.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None and not condition():
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    out = proc.communicate()[0]
    return proc.returncode, out


def n_done(store):
    try:
        return len(SweepStore(store).completed())
    except ValueError:
        return -1


# --------------------------------------------------------------------------- kill -9


def test_kill_9_at_several_points_then_resume_equals_uninterrupted(tmp_path, reference):
    store = tmp_path / "killed.sweep"
    temporaries = lambda: store.exists() and bool(SweepStore(store).temporaries())  # noqa: E731
    points = [
        ("store created, no batch yet", lambda before: n_done(store) == 0),
        ("a batch done", lambda before: n_done(store) > before),
        ("a batch being written", lambda before: temporaries()),
    ]
    killed = 0
    for label, condition in points:
        before = max(n_done(store), 0)
        proc = driver(tmp_path, SPEC, store)
        code, out = kill_when(proc, lambda c=condition, b=before: c(b))
        assert code in (-signal.SIGKILL, 0), (label, out)
        killed += code == -signal.SIGKILL
        if code == 0:
            break  # finished before this point came: nothing left to kill
        assert not sweep_status(store).damaged, label
    assert killed >= 2, "the kills should land while the sweep runs"
    run_sweep(parse_spec(SPEC), store)  # resume in this process
    status = sweep_status(store)
    assert status.complete and not status.damaged
    assert SweepStore(store).temporaries() == []
    assert_bitwise(open_sweep(store), open_sweep(reference))


# --------------------------------------------------------------------------- two writers


@pytest.mark.parametrize("second", ["same spec", "other spec"])
def test_two_writers_on_a_fresh_store_never_mislabel(tmp_path, reference, second):
    store = tmp_path / "raced.sweep"
    procs = [
        driver(tmp_path, SPEC, store, pause=0.5),
        driver(tmp_path, SPEC if second == "same spec" else OTHER, store, pause=0.5),
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    codes = [p.returncode for p in procs]
    assert 0 in codes, outs
    for code, out in zip(codes, outs, strict=True):
        assert code in (0, 2), out
        if code == 2:
            assert "REFUSED:" in out and (
                "being written by another process" in out or "spec differs" in out
            ), out
    # Whoever won, every batch holds the networks its cells name.
    sweep = SweepStore(store)
    assert sweep.verify() == {}
    winner = parse_spec(json.loads(json.dumps(sweep.spec.to_dict())))
    for batch in sweep.plan.batches:
        raw = xr.open_zarr(sweep.batches_dir / batch.name)
        assert np.array_equal(raw["lr"].values, batch.lr), batch.name
        assert np.array_equal(raw["seed"].values, batch.seed), batch.name
    assert winner.grid["lr"] in ((0.05, 0.5), (0.03, 0.6))
    if winner.grid["lr"] == (0.05, 0.5):
        assert_bitwise(open_sweep(store), open_sweep(reference))
    if second == "same spec":
        # The loser was refused while the winner ran, or resumed a finished store.
        done = SweepStore(store).manifest()["completed"]
        assert len(done) == 3


# --------------------------------------------------------------------------- damage


def damage(store, kind):
    batch = store / "batches" / "b00001"
    if kind == "garbled manifest":
        (store / "manifest.json").write_text('{"format": "ghostlearn-sweep-1", "batch')
        return None, None
    if kind == "other spec":
        attrs = json.loads((batch / ".zattrs").read_text())
        attrs["sweep_spec_hash"] = "0123456789abcdef"
        (batch / ".zattrs").write_text(json.dumps(attrs))
        return "b00001", "trained under spec 0123456789abcdef"
    var = "loss"
    chunks = sorted(p for p in (batch / var).iterdir() if not p.name.startswith("."))
    if kind == "deleted chunk":
        chunks[0].unlink()
        return "b00001", "variable 'loss' does not match its checksum"
    chunks[0].write_bytes(chunks[0].read_bytes()[:7])
    return "b00001", "variable 'loss' cannot be read"


@pytest.mark.parametrize(
    "kind", ["deleted chunk", "truncated chunk", "other spec", "garbled manifest"]
)
def test_damage_is_flagged_then_recomputed(tmp_path, reference, kind):
    store = tmp_path / "damaged.sweep"
    shutil.copytree(reference, store)
    name, why = damage(store, kind)

    status = runner.invoke(app, ["sweep", "status", str(store)])
    verify = runner.invoke(app, ["sweep", "verify", str(store)])
    summary = runner.invoke(app, ["sweep", "summarize", str(store), "--out", str(tmp_path / "s")])
    for result in (status, verify):
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
    if name is not None:
        assert status.output.splitlines()[0].endswith(": damaged"), status.output
        for result in (status, verify, summary):
            assert f"batch {name}" in result.output and why in result.output, result.output
        assert summary.exit_code == 2 and not (tmp_path / "s" / "summary.csv").exists()
        assert not sweep_status(store).complete
        assert name in sweep_status(store).damaged
    else:
        assert "manifest.json' is damaged" in verify.output

    run_sweep(parse_spec(SPEC), store)  # recomputes what is damaged
    assert runner.invoke(app, ["sweep", "verify", str(store)]).exit_code == 0
    assert sweep_status(store).complete
    assert_bitwise(open_sweep(store), open_sweep(reference))


def test_manifest_records_seconds_per_batch(reference):
    done = SweepStore(reference).manifest()["completed"]
    seconds = [done[n]["seconds"] for n in sorted(done)]
    assert all(s is not None and s > 0 for s in seconds)
    # Per batch, not since the run began: batches of equal size take comparable time,
    # and the last does not carry the time of all before it.
    assert seconds[-1] < sum(seconds)


# --------------------------------------------------------------------------- orphans

POOL_DRIVER = textwrap.dedent(
    """
    import time
    from ghostlearn.sweep.backends import ProcessPool

    with ProcessPool(2, retries=0) as pool:
        busy = [pool._pool.submit(time.sleep, 600.0) for _ in range(2)]
        while len(pool._pool._processes) < 2:
            time.sleep(0.05)
        time.sleep(2.0)  # the workers are sleeping in their task
        print(" ".join(str(p) for p in pool._pool._processes), flush=True)
        busy[0].result()
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_exit_when_their_driver_is_killed(tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(POOL_DRIVER)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        workers = [int(p) for p in proc.stdout.readline().split()]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert len(workers) == 2, workers

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its reaper is gone
            return f.read().split()[2] != "Z"

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(alive(p) for p in workers), "workers outlived their driver"
