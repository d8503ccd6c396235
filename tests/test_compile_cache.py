"""The persistent compilation cache: where it lives, the opt-out, and that a cached or a
damaged cache gives the same results as compiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ghostlearn.compile_cache import ENV_VAR, cache_dir, enable_compilation_cache


@pytest.mark.parametrize("value", ["off", "0", "No", "false", " none "])
def test_opt_out(monkeypatch, value) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    assert cache_dir() is None
    assert enable_compilation_cache() is None


def test_directory_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache_dir() == tmp_path / "xdg" / "ghostlearn" / "jax"
    assert cache_dir().parts[-2:] == ("ghostlearn", "jax")


def test_unusable_directory_warns_and_stays_off(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.warns(RuntimeWarning, match="compilation cache off"):
        assert enable_compilation_cache(blocker / "cache") is None


_RUN = textwrap.dedent(
    """
    import json, sys
    from ghostlearn.compile_cache import enable_compilation_cache
    enable_compilation_cache(sys.argv[1])
    from ghostlearn.rnn import RNNConfig
    from ghostlearn.train import train
    ds = train(RNNConfig(N=8), seeds=[0, 1, 2], lr=0.05, c=2.0, epochs=30, devices=1)
    print(json.dumps(ds.loss.values.tolist()))
    """
)


def _run(cache: Path) -> list:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", _RUN, str(cache)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cached_and_damaged_runs_give_the_same_results(tmp_path) -> None:
    cache = tmp_path / "cache"
    first = _run(cache)
    entries = sorted(p for p in cache.iterdir() if p.name.endswith("-cache"))
    assert entries, "the first run wrote no cache entries"
    assert _run(cache) == first  # loaded from the cache
    for p in entries:  # damaged entries are compiled again, never a crash
        p.write_bytes(b"\x00garbage" * 7)
    assert _run(cache) == first
