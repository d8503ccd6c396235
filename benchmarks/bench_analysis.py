"""Latent-flow analysis throughput: fixed points and ghosts of every epoch of a population.

Workload (the paper's Fig. 4 population): 100 rank-one networks (N = 100, seeds 0-99,
lr 0.02, c = 10) trained 6000 epochs with ``ghostlearn.train.train``, a snapshot every
epoch: 600 000 latent flows ``f(kappa) = -kappa + n . tanh(m kappa + b)`` on
``kappa in [-15, 15]`` with the 1000-point grid resolution. Measured in one process:

1. ``find_points`` (``method="screen"``, the default: certified coarse screening, then
   bracketed Newton to machine precision) on all 600 000 flows, after a warm-up call that
   compiles its kernels (compilation is timed separately).
2. ``find_points(method="grid")`` (the dense 1000-point grid, same refinement) on a
   subset, extrapolated per flow.
3. A plain one-flow-at-a-time NumPy/SciPy loop, as one would write it first: ``f`` on the
   1000-point grid (``np.tanh`` over a 1000 x 100 array), ``scipy.optimize.brentq`` on each
   sign change and ``scipy.optimize.minimize_scalar`` on each grid minimum of ``|f|``; a
   subset, extrapolated per flow. Its counts are compared with the screen's on that subset.
4. ``analyze_dataset`` on the whole population (points, tracks, events, verdicts).

Prints seconds, flows per second, evaluations of ``f`` per flow and the ratios; writes them
to ``bench-out/bench_analysis.json``. The trained snapshots are cached in
``bench-out/analysis-workload.npz`` (about 0.7 GB) so reruns skip the training.

Usage::

    python benchmarks/bench_analysis.py              # full workload (train once, ~1 min)
    python benchmarks/bench_analysis.py --quick      # 10 networks x 600 epochs, smoke run
    taskset -c 0,1 python benchmarks/bench_analysis.py   # pin to two cores
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from ghostlearn.analysis import Rank1Flow, analyze_dataset, find_points

OUT = Path(__file__).resolve().parent.parent / "bench-out"


def workload(nets: int, epochs: int, cache: Path | None):
    """Snapshots of ``nets`` trained networks at every epoch, and the training Dataset."""
    from ghostlearn.rnn import RNNConfig
    from ghostlearn.train import train

    if cache is not None and cache.exists():
        with np.load(cache) as z:
            if z["m"].shape[:2] == (nets, epochs):
                return None, {k: z[k] for k in z.files}
    t = time.perf_counter()
    ds = train(RNNConfig(), seeds=range(nets), lr=0.02, c=10.0, epochs=epochs, snapshot_every=1)
    print(f"trained {nets} networks x {epochs} epochs in {time.perf_counter() - t:.1f} s")
    arrays = {
        "m": ds["snap_m"].values,
        "n": ds["snap_n"].values,
        "b": ds["snap_b"].values,
        "loss": ds["loss"].values,
        "grad_norm": ds["grad_norm"].values,
        "accuracy": ds["accuracy"].values,
        "snapshot": ds["snapshot"].values,
        "epoch": ds["epoch"].values,
    }
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **arrays)
    return ds, arrays


def as_dataset(a: dict):
    import xarray as xr

    return xr.Dataset(
        {
            "snap_m": (("net", "snapshot", "unit"), a["m"]),
            "snap_n": (("net", "snapshot", "unit"), a["n"]),
            "snap_b": (("net", "snapshot", "unit"), a["b"]),
            "loss": (("net", "epoch"), a["loss"]),
            "grad_norm": (("net", "epoch"), a["grad_norm"]),
            "accuracy": (("net", "epoch"), a["accuracy"]),
        },
        coords={"snapshot": a["snapshot"], "epoch": a["epoch"]},
        attrs={"model": {"model": "rank1", "tau": 10.0}},
    )


def plain_loop(m: np.ndarray, n: np.ndarray, b: np.ndarray, ghost_tol: float = 0.5):
    """One flow at a time: 1000-point grid, brentq per root, minimize_scalar per minimum."""
    k = np.linspace(-15.0, 15.0, 1000)
    n_fixed, n_ghosts = [], []
    for mi, ni, bi in zip(m, n, b, strict=True):

        def f(x, mi=mi, ni=ni, bi=bi):
            return -x + np.tanh(np.multiply.outer(x, mi) + bi) @ ni

        v = f(k)
        roots = [
            brentq(f, k[j], k[j + 1], xtol=1e-15)
            for j in np.flatnonzero((v[:-1] >= 0) != (v[1:] >= 0))
        ]
        a = np.abs(v)
        ghosts = 0
        for j in np.flatnonzero((a[1:-1] < a[:-2]) & (a[1:-1] <= a[2:])) + 1:
            if (v[j - 1] >= 0) == (v[j] >= 0) == (v[j + 1] >= 0):
                s = 1.0 if v[j] >= 0 else -1.0
                res = minimize_scalar(
                    lambda x, s=s, f=f: s * f(np.atleast_1d(x))[0],
                    bounds=(k[j - 1], k[j + 1]),
                    method="bounded",
                    options={"xatol": 1e-12},
                )
                if 0 < s * res.fun < ghost_tol:
                    ghosts += 1
        n_fixed.append(len(roots))
        n_ghosts.append(ghosts)
    return np.array(n_fixed), np.array(n_ghosts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nets", type=int, default=100)
    p.add_argument("--epochs", type=int, default=6000)
    p.add_argument("--baseline-flows", type=int, default=300)
    p.add_argument("--grid-flows", type=int, default=20_000)
    p.add_argument("--quick", action="store_true", help="10 networks x 600 epochs")
    p.add_argument("--no-cache", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.nets, args.epochs, args.baseline_flows, args.grid_flows = 10, 600, 50, 2000
    cache = None if args.no_cache else OUT / f"analysis-workload-{args.nets}x{args.epochs}.npz"
    ds, a = workload(args.nets, args.epochs, cache)
    m, n, b = (a[k].astype(np.float64) for k in ("m", "n", "b"))
    flows = Rank1Flow(m, n, b)
    total = flows.size
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{total} flows ({args.nets} networks x {args.epochs} snapshots, N = {m.shape[-1]}), "
          f"{cores} cores available")  # fmt: skip

    # 1. screen, all flows, after a warm-up on three chunks that compiles every kernel
    flat = Rank1Flow(*(x.reshape(-1, x.shape[-1]) for x in (m, n, b)))
    t = time.perf_counter()
    warm = slice(0, min(3 * 8192, total))
    find_points(Rank1Flow(flat.m[warm], flat.n[warm], flat.b[warm]))
    t_compile = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    pts = find_points(flows)
    t_screen, c_screen = time.perf_counter() - t, time.process_time() - c
    evals = pts.evaluations / total
    print(f"screen: {t_screen:.2f} s wall, {c_screen:.2f} s CPU for {total} flows "
          f"({total / t_screen:,.0f} flows/s), {evals:.1f} evaluations of f per flow; "
          f"warm-up incl. compilation {t_compile:.1f} s")  # fmt: skip
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average during the run: {load:.1f} on {cores} cores")

    rng = np.random.default_rng(0)

    # 2. dense grid on a subset
    gi = np.sort(rng.choice(total, size=min(args.grid_flows, total), replace=False))
    sub = Rank1Flow(flat.m[gi], flat.n[gi], flat.b[gi])
    find_points(Rank1Flow(sub.m[:8], sub.n[:8], sub.b[:8]), method="grid")
    t = time.perf_counter()
    pg = find_points(sub, method="grid")
    t_grid = (time.perf_counter() - t) / gi.size * total
    same_grid = bool(
        np.array_equal(pg.n_fixed, pts.n_fixed.reshape(-1)[gi])
        and np.array_equal(pg.n_ghosts, pts.n_ghosts.reshape(-1)[gi])
    )
    print(f"grid (dense 1000 points, vectorised): {t_grid:.1f} s extrapolated "
          f"({gi.size} flows timed); same points as the screen: {same_grid}")  # fmt: skip

    # 3. plain loop on a subset (single-threaded: wall and CPU time agree)
    bi = np.sort(rng.choice(total, size=min(args.baseline_flows, total), replace=False))
    t, c = time.perf_counter(), time.process_time()
    nf, ng = plain_loop(flat.m[bi], flat.n[bi], flat.b[bi])
    t_plain = (time.perf_counter() - t) / bi.size * total
    c_plain = (time.process_time() - c) / bi.size * total
    agree = float(
        np.mean((nf == pts.n_fixed.reshape(-1)[bi]) & (ng == pts.n_ghosts.reshape(-1)[bi]))
    )
    print(f"plain per-flow loop: {t_plain:.0f} s wall, {c_plain:.0f} s CPU extrapolated "
          f"({bi.size} flows timed); "
          f"counts agree with the screen on {100 * agree:.1f} % of them")  # fmt: skip

    # 4. whole-run analysis
    t = time.perf_counter()
    runs = analyze_dataset(ds if ds is not None else as_dataset(a))
    t_runs = time.perf_counter() - t
    verdicts: dict[str, int] = {}
    for r in runs:
        verdicts[r.verdict.label] = verdicts.get(r.verdict.label, 0) + 1
    print(f"analyze_dataset (points + tracks + events + verdicts): {t_runs:.2f} s; {verdicts}")

    print(f"speed-up of the screen: {t_plain / t_screen:,.0f}x over the plain loop "
          f"(CPU time: {c_plain / c_screen:,.0f}x), "
          f"{t_grid / t_screen:.1f}x over the dense grid; target < 10 s: "
          f"{'met' if t_screen < 10 else 'NOT met'} ({t_screen:.2f} s)")  # fmt: skip
    result = {
        "flows": total,
        "networks": args.nets,
        "epochs": args.epochs,
        "cores": cores,
        "screen_s": t_screen,
        "screen_cpu_s": c_screen,
        "load_average": load,
        "screen_flows_per_s": total / t_screen,
        "evaluations_per_flow": evals,
        "compile_s": t_compile,
        "grid_s_extrapolated": t_grid,
        "grid_same_points": same_grid,
        "plain_loop_s_extrapolated": t_plain,
        "plain_loop_cpu_s_extrapolated": c_plain,
        "plain_loop_agreement": agree,
        "analyze_dataset_s": t_runs,
        "speedup_vs_plain": t_plain / t_screen,
        "speedup_vs_grid": t_grid / t_screen,
        "verdicts": verdicts,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_analysis.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
