"""Analysis and animation of rank-K training runs against the training that made them.

Workloads (rank K networks, N = 100, lr 0.02, ``init="paper"``, a snapshot every 20
epochs of 2000: 101 snapshots per network):

- rank 3, 4 networks (seeds 0-3): ``analyze`` (fixed points, ghosts, tracks, events and
  verdicts of every snapshot of every network);
- the same run, network 0: ``animate`` (a GIF of at most 120 frames, no MP4);
- rank 1 (the paper's rank-one model), the same sizes: ``analyze`` and ``animate``.

Measured in one run on this machine, two ways:

1. the commands, each in a fresh process as a user runs them (imports, compilation,
   writing files): ``ghostlearn train``, then ``ghostlearn analyze`` and ``ghostlearn
   animate`` on its output; first with an empty JAX compilation cache, then again with
   the cache the first round filled;
2. in one process, after a first call of each that compiles: ``train``,
   ``analyze_dataset`` and ``animate`` on the same data.

Prints seconds and the ratios analysis / training and animation / training; writes them
to ``bench-out/bench_kd_analysis.json``. Both sides use one XLA device per core.

Usage::

    python benchmarks/bench_kd_analysis.py          # about 2-4 minutes on 2 cores
    python benchmarks/bench_kd_analysis.py --quick  # 200 epochs, a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count() or 1}")

OUT = Path(__file__).resolve().parent.parent / "bench-out"
EPOCHS, EVERY, LR = 2000, 20, 0.02
SEEDS = {3: "0-3", 1: "0-3"}


def _train_args(rank: int) -> list[str]:
    return [
        "--rank", str(rank), "--seeds", SEEDS[rank], "--lr", str(LR), "--epochs", str(EPOCHS),
        "--snapshot-every", str(EVERY), "--init", "paper",
    ]  # fmt: skip


def _timed(command: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def commands(rank: int, tmp: Path, cache: Path) -> dict[str, float]:
    """Seconds of the three commands, cold (empty cache) then warm."""
    exe = str(Path(sys.executable).parent / "ghostlearn")
    env = dict(os.environ, GHOSTLEARN_COMPILATION_CACHE=str(cache))
    times: dict[str, float] = {}
    for round_ in ("cold", "warm"):
        run = tmp / f"rank{rank}-{round_}"
        times[f"train_{round_}_s"] = _timed(
            [exe, "-q", "train", *_train_args(rank), "--out", str(run)], env
        )
        times[f"analyze_{round_}_s"] = _timed([exe, "-q", "analyze", str(run)], env)
        times[f"animate_{round_}_s"] = _timed(
            [exe, "-q", "animate", str(run), "--net", "0", "--no-mp4"], env
        )
    return times


def in_process(rank: int, tmp: Path) -> dict[str, float]:
    """Seconds of ``train``, ``analyze_dataset`` and ``animate``, each the second call."""
    import numpy as np

    from ghostlearn.analysis import analyze_dataset
    from ghostlearn.report import animate
    from ghostlearn.rnn import RNNConfig
    from ghostlearn.train import train

    cfg = RNNConfig(model="rank1" if rank == 1 else "lowrank", rank=rank)
    lo, hi = map(int, SEEDS[rank].split("-"))
    kw = {"seeds": np.arange(lo, hi + 1), "lr": LR, "epochs": EPOCHS, "snapshot_every": EVERY}
    times: dict[str, float] = {}
    for _ in range(2):
        t = time.perf_counter()
        ds = train(cfg, init="paper", **kw)
        times["train_s"] = time.perf_counter() - t
        t = time.perf_counter()
        analysis = analyze_dataset(ds)
        times["analyze_s"] = time.perf_counter() - t
        t = time.perf_counter()
        animate(ds, 0, tmp / f"rank{rank}.gif", mp4=False, analysis=analysis[0].to_dict())
        times["animate_s"] = time.perf_counter() - t
    return times


def main() -> None:
    global EPOCHS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 epochs (a smoke run)")
    if parser.parse_args().quick:
        EPOCHS = 200
    result: dict[str, object] = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for rank in (3, 1):
            cmd = commands(rank, tmp, tmp / f"cache{rank}")
            lib = in_process(rank, tmp)
            result[f"rank{rank}"] = {"commands": cmd, "in_process": lib}
            print(f"rank {rank}, {SEEDS[rank]} seeds, {EPOCHS} epochs, a snapshot every {EVERY}:")
            for r in ("cold", "warm"):
                tr = cmd[f"train_{r}_s"]
                print(
                    f"  commands, {r} cache: train {tr:.1f} s, analyze "
                    f"{cmd[f'analyze_{r}_s']:.1f} s ({cmd[f'analyze_{r}_s'] / tr:.2f}x), animate "
                    f"{cmd[f'animate_{r}_s']:.1f} s ({cmd[f'animate_{r}_s'] / tr:.2f}x)"
                )
            tr = lib["train_s"]
            print(
                f"  in process, compiled: train {tr:.2f} s, analyze_dataset "
                f"{lib['analyze_s']:.2f} s ({lib['analyze_s'] / tr:.2f}x), animate "
                f"{lib['animate_s']:.2f} s ({lib['animate_s'] / tr:.2f}x)"
            )
    result["load_average"] = os.getloadavg()[0]
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_kd_analysis.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
