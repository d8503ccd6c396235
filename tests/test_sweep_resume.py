"""Kill -9 a sweep running in another process, resume it, get the same numbers bit for bit."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import xarray as xr

from ghostlearn.sweep import SweepStore, open_sweep, parse_spec, run_sweep, sweep_status

SPEC = {
    "sweep": {"name": "killed", "batch_size": 4},
    "model": {"N": 8, "T": 20.0},
    "train": {"epochs": 12},
    "grid": {"lr": [0.05, 0.5], "c": [1.0, 10.0], "seed": "0-3"},  # 4 batches of 4
}

# The sweep as a user runs it, with a pause after each batch is computed so that the kill
# lands while the sweep is under way (between batches, or during a batch's write).
SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from ghostlearn.sweep import parse_spec, run_batch, run_sweep

    def slow(batch, progress=None):
        out = run_batch(batch, progress)
        time.sleep(0.25)
        return out

    run_sweep(parse_spec(json.loads(sys.argv[1])), sys.argv[2], batch_fn=slow)
    """
)


@pytest.fixture(scope="module", autouse=True)
def shared_compilation_cache(tmp_path_factory):
    """Worker processes share compiled programs through JAX's persistent cache (this
    process is left alone): a restarted worker loads the program instead of compiling."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "jax-cache"))
        yield


def assert_bitwise(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        assert a[name].values.tobytes() == b[name].values.tobytes(), name


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    store = tmp_path / "killed.sweep"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), json.dumps(SPEC), str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists() and len(SweepStore(store).completed()) >= 2:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out = proc.communicate()[0].decode()
    assert proc.returncode == -signal.SIGKILL, out
    status = sweep_status(store)
    assert 2 <= status.batches_done < status.batches_total == 4, status

    spec = parse_spec(SPEC)
    run_sweep(spec, store)  # resume in this process
    assert sweep_status(store).complete
    assert SweepStore(store).temporaries() == []
    run_sweep(spec, tmp_path / "whole.sweep")  # uninterrupted
    assert_bitwise(open_sweep(store), open_sweep(tmp_path / "whole.sweep"))
