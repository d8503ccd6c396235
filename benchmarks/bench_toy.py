"""Fig. 2D at paper fidelity: 100 learning rates x 10 instances x 10,000 epochs (1e7 updates).

Times :func:`ghostlearn.toy.gradient_descent` (all runs batched, one NumPy update per
epoch) against a plain Python loop that trains one run at a time with a Python loop over
epochs. The plain loop is timed on a few runs and extrapolated per update. The two are
also checked to give the same bits on those runs.

Run: ``.venv/bin/python benchmarks/bench_toy.py [--plain-runs 5] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np

from ghostlearn import toy
from ghostlearn.experiments import fig2


def plain_run(T: float, lr: float, r0: float, epochs: int) -> list[float]:
    """One run, one epoch at a time, in plain Python floats (same arithmetic as toy)."""
    r_star = math.pi**2 / (4.0 * T**2)
    q = r_star / 4.0
    r = r0
    history = [r]
    for _ in range(epochs):
        s = max(r, q)
        g = (math.pi / 4.0) / (s * math.sqrt(s))
        if r >= r_star:
            r = r - lr * g
        elif r > q:
            r = r + lr * g
        history.append(r)
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain-runs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cfg = fig2.config("paper")
    lr = np.logspace(*cfg.lr_log10_d, cfg.n_lr_d)
    r0 = fig2.initial_values_d(cfg)
    epochs = cfg.epochs_d
    record = sorted({0, *cfg.report_epochs_d})
    updates = lr.size * r0.shape[1] * epochs

    best = math.inf
    for _ in range(args.repeats):
        start = time.perf_counter()
        ds = toy.gradient_descent(cfg.T, lr, r0, epochs, record=record)
        best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    full = toy.gradient_descent(cfg.T, lr, r0, epochs)
    t_full = time.perf_counter() - start

    picks = np.linspace(0, lr.size - 1, args.plain_runs).astype(int)
    start = time.perf_counter()
    plain = [plain_run(cfg.T, float(lr[i]), float(r0[i, 0]), epochs) for i in picks]
    t_plain = time.perf_counter() - start
    per_update = t_plain / (args.plain_runs * epochs)
    t_plain_all = per_update * updates
    for i, hist in zip(picks, plain, strict=True):
        if not np.array_equal(np.asarray(hist), full["r"].values[i, 0]):
            raise SystemExit(f"plain loop and ghostlearn differ for lr index {i}")
    del ds, full

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"workload: Fig 2D, {lr.size} lr x {r0.shape[1]} instances x {epochs:,} epochs")
    print(f"  = {updates:.2e} updates")
    print(f"ghostlearn gradient_descent (6 epochs recorded): {best:.3f} s (best of {args.repeats})")
    print(f"ghostlearn gradient_descent (every epoch recorded): {t_full:.3f} s")
    print(
        f"plain Python loop: {per_update * 1e9:.0f} ns/update on {args.plain_runs} runs, "
        f"extrapolated {t_plain_all:.1f} s"
    )
    print(
        f"speed-up: {t_plain_all / best:.0f}x (recorded subset), {t_plain_all / t_full:.0f}x (all)"
    )
    print("plain loop and ghostlearn agree bit for bit on the timed runs")


if __name__ == "__main__":
    main()
