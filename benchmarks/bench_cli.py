"""The `ghostlearn train` command against its own engine, on the Fig 4 workload.

Measures, each in a fresh Python process on this machine (so that every one pays its own
imports and compilation, as a user does):

1. the engine: ``ghostlearn.train.train`` on 100 rank-one networks (N = 100, seeds 0-99,
   lr 0.02, c = 10, ``init="paper"``) x 6000 epochs, compilation included, imports not;
2. the command ``ghostlearn -q train ...`` on the same run, whole (start-up, imports,
   compilation, training, writing the store and the training figure), first with an
   empty compilation cache, then again with the cache the first run filled;
3. the number of programs the first run compiled (entries in the fresh cache).

Prints the seconds and the ratios command / engine; writes them to
``bench-out/bench_cli.json``. Both sides use the same number of XLA devices (one per core).

Usage::

    python benchmarks/bench_cli.py          # about 1-2 minutes on 2 cores
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bench-out"
ARGS = ["--seeds", "0-99", "--lr", "0.02", "--c", "10", "--epochs", "6000", "--init", "paper"]
ENGINE = """
import time, numpy as np
from ghostlearn.rnn import RNNConfig
from ghostlearn.train import train
t = time.perf_counter()
train(RNNConfig(N=100), seeds=np.arange(100), lr=0.02, c=10.0, epochs=6000, init="paper")
print(time.perf_counter() - t)
"""


def _env(cache: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={os.cpu_count() or 1}"
    env["GHOSTLEARN_COMPILATION_CACHE"] = str(cache) if cache else "off"
    return env


def main() -> None:
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "ghostlearn"), "-q", "train", *ARGS]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        out = subprocess.run(
            [sys.executable, "-c", ENGINE],
            env=_env(None),
            check=True,
            capture_output=True,
            text=True,
        )
        engine = float(out.stdout.split()[-1])
        times = {}
        for name in ("cold", "warm"):
            folder = Path(tmp) / name
            t = time.perf_counter()
            subprocess.run(
                [*command, "--out", str(folder)],
                env=_env(cache),
                check=True,
                capture_output=True,
            )
            times[name] = time.perf_counter() - t
            if name == "cold":
                programs = len([p for p in cache.iterdir() if p.name.endswith("-cache")])
            shutil.rmtree(folder)
    result = {
        "engine_s": engine,
        "command_cold_s": times["cold"],
        "command_warm_s": times["warm"],
        "cold_over_engine": times["cold"] / engine,
        "warm_over_engine": times["warm"] / engine,
        "programs_compiled": programs,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    print(f"engine (train(), compilation included): {engine:.1f} s")
    print(f"command, empty cache: {times['cold']:.1f} s  ({result['cold_over_engine']:.2f}x)")
    print(f"command, warm cache:  {times['warm']:.1f} s  ({result['warm_over_engine']:.2f}x)")
    print(f"programs compiled by the first run: {programs}")
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_cli.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
