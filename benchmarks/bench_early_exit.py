"""The exact early exit: how much of the paper's RNN workloads stops being computed.

A network whose update leaves every parameter unchanged (an exactly zero gradient) or
that diverged repeats its last epoch forever; ``train`` stops computing it. This script:

1. times the Fig 4 workload (100 rank-one networks, N = 100, lr 0.02, c = 10,
   ``init="paper"``, 6000 epochs: the paper's own) with ``early_exit`` on and off in the
   same process (the second of two runs each, so both are compiled), checks that the two
   give the same bits, and counts the network-epochs after each network stopped;
2. for Fig S1 (rank one, 30 learning rates x 10 seeds, 200k epochs at paper fidelity) and
   Fig S2 (ranks 1-100 x 10 learning rates x 10 seeds, 500k epochs), which are too long
   to run here, trains the paper's populations for the first ``--epochs`` epochs and
   counts the networks that have stopped by then, and at which epoch: each saves at least
   ``(E_paper - e_stop) / E_paper`` of its work at paper fidelity (a lower bound: later
   stops are not counted).

Prints the figures and writes them to ``bench-out/bench_early_exit.json``.

Usage::

    python benchmarks/bench_early_exit.py               # about 5 minutes on 2 cores
    python benchmarks/bench_early_exit.py --epochs 5000
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count() or 1}")

import numpy as np  # noqa: E402

from ghostlearn.experiments import figS1, figS2  # noqa: E402
from ghostlearn.rnn import RNNConfig  # noqa: E402
from ghostlearn.train import train  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "bench-out"


def stop_epochs(ds) -> np.ndarray:
    """Per network, the first epoch from which its gradient norm stays exactly 0 or NaN
    to the end of the run (-1: never)."""
    g = ds["grad_norm"].values
    still = (g == 0) | np.isnan(g)
    tail = np.flip(np.logical_and.accumulate(np.flip(still, axis=1), axis=1), axis=1)
    first = np.where(tail.any(axis=1), tail.argmax(axis=1), -1)
    return ds["epoch"].values[first] * (first >= 0) - (first < 0)


def fig4() -> dict:
    kw = dict(seeds=np.arange(100), lr=0.02, c=10.0, epochs=6000, init="paper")
    cfg = RNNConfig(N=100)
    times, runs = {}, {}
    for flag in (False, True):
        train(cfg, early_exit=flag, **kw)  # compiles every program this run needs
        t = time.perf_counter()
        runs[flag] = train(cfg, early_exit=flag, **kw)
        times[flag] = time.perf_counter() - t
    same = all(
        np.array_equal(runs[True][v].values, runs[False][v].values, equal_nan=True)
        for v in runs[True].data_vars
    )
    stops = stop_epochs(runs[False])
    saved = float(np.sum(np.where(stops >= 0, 6000 - stops, 0)) / (100 * 6000))
    return {
        "seconds_full": times[False],
        "seconds_early_exit": times[True],
        "speed_up": times[False] / times[True],
        "identical": same,
        "networks_stopped": int((stops >= 0).sum()),
        "net_epochs_saved_fraction": saved,
    }


def truncated(name: str, populations: list[tuple[RNNConfig, dict]], epochs: int, paper: int):
    stops = []
    for cfg, kw in populations:
        ds = train(cfg, epochs=epochs, metrics_every=1, **kw)
        stops.append(stop_epochs(ds))
    stops = np.concatenate(stops)
    stopped = stops >= 0
    bound = float(np.sum((paper - stops[stopped]) / paper) / stops.size)
    return {
        "figure": name,
        "networks": int(stops.size),
        "epochs_run": epochs,
        "paper_epochs": paper,
        "stopped_by_then": int(stopped.sum()),
        "median_stop_epoch": float(np.median(stops[stopped])) if stopped.any() else None,
        "paper_net_epochs_saved_at_least": bound,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2000, help="epochs of S1/S2 run here")
    args = parser.parse_args()
    result = {"fig4": fig4()}
    f4 = result["fig4"]
    print(
        f"Fig 4 (100 x 6000): {f4['seconds_full']:.1f} s computing every epoch, "
        f"{f4['seconds_early_exit']:.1f} s with the early exit ({f4['speed_up']:.2f}x), "
        f"identical: {f4['identical']}; {f4['networks_stopped']} networks stopped, "
        f"{100 * f4['net_epochs_saved_fraction']:.1f}% of the network-epochs"
    )
    s1 = figS1.config("paper")
    lrs = np.repeat(s1.lr_grid, s1.n_seeds)
    seeds = np.tile(np.arange(s1.n_seeds), s1.n_lr)
    pops = [(RNNConfig(N=s1.N), dict(seeds=seeds, lr=lrs, c=s1.c, init="paper"))]
    result["figS1"] = truncated("figS1", pops, args.epochs, 200_000)
    s2 = figS2.config("paper")
    pops = []
    for K in s2.ranks:
        cfg = RNNConfig(model="lowrank", rank=K, N=s2.N)
        lrs = np.repeat(s2.lr_grid, s2.n_seeds)
        seeds = np.tile(np.arange(s2.n_seeds), len(s2.lr_grid))
        pops.append((cfg, dict(seeds=seeds, lr=lrs, init="paper")))
    result["figS2"] = truncated("figS2", pops, args.epochs, 500_000)
    for key in ("figS1", "figS2"):
        r = result[key]
        print(
            f"{key}: {r['stopped_by_then']} of {r['networks']} networks stopped within "
            f"{r['epochs_run']:,} epochs (median epoch {r['median_stop_epoch']}); at the "
            f"paper's {r['paper_epochs']:,} epochs that saves at least "
            f"{100 * r['paper_net_epochs_saved_at_least']:.1f}% of the network-epochs"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_early_exit.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
