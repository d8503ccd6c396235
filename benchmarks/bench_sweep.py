"""Sweep throughput: the sweep machinery against the raw engine, Dask scaling, paper scale.

Measures, on this machine:

1. In-process: ``run_sweep`` of P rank-one networks x E epochs (one batch, written to a
   zarr store) against ``ghostlearn.train.train`` on the same population directly, both
   with the program already compiled. Target: the sweep within 10% of the engine.
2. Dask: the same P x E sweep in 2 batches on a ``LocalCluster`` of 1 worker and of 2
   workers (one core each), with the workers' compiled program already in JAX's
   persistent cache. Target: 2 workers >= 1.6x the throughput of 1.
3. Paper scale: Fig. S2 at paper fidelity (9 ranks x 10 lr x 10 seeds x 500k epochs,
   batches of 10 networks) estimated from a brief per-rank calibration
   (``ghostlearn.sweep.estimate_time``), for 1, 2 and 64 workers.

Usage::

    python benchmarks/bench_sweep.py                   # P = 2000, E = 2000 (~30 min on 2 cores)
    python benchmarks/bench_sweep.py --nets 200 --epochs 1000 --skip-paper

Prints network-epochs per second and ratios; writes them to ``bench-out/bench_sweep.json``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bench-out"
# Worker processes share compiled programs through JAX's persistent cache; set before
# JAX is imported so that this process and its workers see it.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(OUT / "jax-cache"))

import numpy as np  # noqa: E402

from ghostlearn.rnn import RNNConfig  # noqa: E402
from ghostlearn.store import write_json  # noqa: E402
from ghostlearn.sweep import (  # noqa: E402
    Dask,
    estimate_time,
    load_spec,
    parse_spec,
    plan_sweep,
    run_batch,
    run_sweep,
)
from ghostlearn.train import train  # noqa: E402

LRS = [0.01, 0.02]


def spec(nets: int, epochs: int, batch_size: int):
    """P rank-one networks (N = 100, the paper's): 2 learning rates x P/2 seeds."""
    return parse_spec(
        {
            "sweep": {"name": "bench", "batch_size": batch_size},
            "model": {"model": "rank1", "N": 100},
            "train": {"epochs": epochs},
            "grid": {"lr": LRS, "seed": {"range": [0, nets // 2]}},
        }
    )


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU time of this process (or of its finished children)."""
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def measured(fn, *args, **kwargs) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    c0 = cpu_seconds()
    _, wall = timed(fn, *args, **kwargs)
    return wall, cpu_seconds() - c0


def in_process(nets: int, epochs: int, work: Path, repeat: int) -> dict:
    cfg = RNNConfig(model="rank1", N=100)
    seeds = np.tile(np.arange(nets // 2), 2)
    lr = np.repeat(LRS, nets // 2)
    warm = min(epochs, 1000)  # the engine's chunk: the same compiled program as the runs
    # sweeps train every batch on one device: compare with the engine on one device too
    _, t_warm = timed(train, cfg, seeds=seeds, lr=lr, epochs=warm, devices=1)
    print(f"  compile + {warm} epochs: {t_warm:.1f} s", flush=True)
    store = work / "inprocess.sweep"
    walls: dict[str, list[float]] = {"engine": [], "sweep": []}
    cpus: dict[str, list[float]] = {"engine": [], "sweep": []}
    inside: list[float] = []  # seconds spent in the engine during each sweep

    def engine_part(batch, progress=None):
        t0 = time.perf_counter()
        out = run_batch(batch, progress)
        inside.append(time.perf_counter() - t0)
        return out

    overheads: list[float] = []
    # sweep, engine, engine, sweep, ...: alternate which goes first; keep the fastest of each
    order = [name for r in range(repeat) for name in ("sweep", "engine")[:: 1 - 2 * (r % 2)]]
    for name in order:
        if name == "sweep":
            shutil.rmtree(store, ignore_errors=True)
            w, c = measured(run_sweep, spec(nets, epochs, nets), store, batch_fn=engine_part)
            walls["sweep"].append(w)
            cpus["sweep"].append(c)
            overheads.append(w - inside[-1])
        else:
            w, c = measured(train, cfg, seeds=seeds, lr=lr, epochs=epochs, devices=1)
            walls["engine"].append(w)
            cpus["engine"].append(c)
    work_ = nets * epochs
    out = {}
    for name in ("engine", "sweep"):
        out[name] = {
            "wall_s": min(walls[name]),
            "cpu_s": min(cpus[name]),
            "net_epochs_per_s": work_ / min(walls[name]),
            "net_epochs_per_cpu_s": work_ / min(cpus[name]),
        }
    out["sweep_over_engine"] = out["sweep"]["net_epochs_per_s"] / out["engine"]["net_epochs_per_s"]
    out["sweep_over_engine_cpu"] = (
        out["sweep"]["net_epochs_per_cpu_s"] / out["engine"]["net_epochs_per_cpu_s"]
    )
    # The same comparison inside one run, immune to the machine's load changing between
    # runs: the engine's share of the sweep's wall time.
    overhead = min(overheads)
    out["sweep_overhead_s"] = overhead
    out["engine_share_of_sweep"] = 1.0 - overhead / min(walls["sweep"])
    for name, label in (("engine", "engine directly "), ("sweep", "sweep in-process")):
        r = out[name]
        print(
            f"  {label}: {r['wall_s']:7.1f} s ({r['cpu_s']:7.1f} s CPU)  "
            f"{r['net_epochs_per_s']:10,.0f} network-epochs/s"
        )
    print(
        f"  sweep / engine throughput: {out['sweep_over_engine']:.3f} (wall), "
        f"{out['sweep_over_engine_cpu']:.3f} (CPU time), separate runs; target >= 0.9"
    )
    print(
        f"  within the sweep: {overhead:.2f} s outside the engine (plan, store, writes) of "
        f"{min(walls['sweep']):.1f} s: the sweep runs at {out['engine_share_of_sweep']:.3f} x "
        "the engine's throughput",
        flush=True,
    )
    return out


def dask(nets: int, epochs: int, work: Path) -> dict:
    half = nets // 2
    # Put the workers' program in the persistent cache: one batch of the timed size.
    warm = work / "warm.sweep"
    shutil.rmtree(warm, ignore_errors=True)
    _, t_warm = timed(
        run_sweep, spec(half, min(epochs, 1000), half), warm, backend=Dask(local_workers=1)
    )
    print(f"  worker compile + warm-up batch: {t_warm:.1f} s", flush=True)
    out = {}
    for workers in (1, 2):
        store = work / f"dask{workers}.sweep"
        shutil.rmtree(store, ignore_errors=True)
        marks = []

        def progress(p, marks=marks):
            marks.append(time.perf_counter())

        load0 = os.getloadavg()[0]
        c0 = cpu_seconds(resource.RUSAGE_CHILDREN)  # the workers, once the cluster is closed
        _, wall = timed(
            run_sweep,
            spec(nets, epochs, half),
            store,
            backend=Dask(local_workers=workers),
            progress=progress,
        )
        worker_cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - c0
        compute = marks[-1] - marks[0]  # from the cluster being up to the last batch stored
        rate = nets * epochs / compute
        load = (load0 + os.getloadavg()[0]) / 2
        out[f"workers_{workers}"] = {
            "wall_s": wall,
            "compute_s": compute,
            "net_epochs_per_s": rate,
            "worker_cpu_s": worker_cpu,
            "net_epochs_per_worker_cpu_s": nets * epochs / worker_cpu,
            "load_average": load,
        }
        print(
            f"  Dask LocalCluster, {workers} worker(s): {wall:7.1f} s in all, {compute:7.1f} s "
            f"computing  {rate:10,.0f} network-epochs/s; workers used {worker_cpu:.0f} s CPU; "
            f"load average {load:.1f}",
            flush=True,
        )
    one, two = out["workers_1"], out["workers_2"]
    out["speedup_2_over_1"] = two["net_epochs_per_s"] / one["net_epochs_per_s"]
    out["wall_speedup_2_over_1"] = one["wall_s"] / two["wall_s"]
    out["cpu_efficiency_2_over_1"] = (
        two["net_epochs_per_worker_cpu_s"] / one["net_epochs_per_worker_cpu_s"]
    )
    print(
        f"  2 workers / 1 worker: {out['speedup_2_over_1']:.2f}x computing, "
        f"{out['wall_speedup_2_over_1']:.2f}x in all (target >= 1.6x); CPU time per "
        f"network-epoch {1 / out['cpu_efficiency_2_over_1']:.2f}x that of 1 worker",
        flush=True,
    )
    return out


def paper_scale(dask_speedup: float | None) -> dict:
    root = Path(__file__).resolve().parent.parent
    plan = plan_sweep(load_spec(root / "examples" / "sweep_figS2.toml"))
    est = estimate_time(plan)
    print(
        f"  Fig. S2 at paper fidelity: {plan.n_cells} networks x 500,000 epochs = "
        f"{plan.net_epochs:,} network-epochs, {len(plan.batches)} batches of "
        f"{plan.spec.batch_size}"
    )
    per_rank = {}
    for g in plan.groups:
        t = est.groups[g.index]
        per_rank[str(g.settings["rank"])] = t.net_epochs_per_s
        print(
            f"    rank {g.settings['rank']:>3}: {t.net_epochs_per_s:9,.0f} network-epochs/s "
            f"(one core, batches of {t.nets})"
        )
    hours = {str(w): est.seconds(w) / 3600 for w in (1, 2, 64)}
    for w, h in hours.items():
        print(f"    {w:>2} worker(s): {h:8.2f} h ({h / 24:.2f} days)")
    out = {"per_rank_net_epochs_per_s": per_rank, "hours": hours, "net_epochs": plan.net_epochs}
    if dask_speedup:
        measured = est.seconds(1) / 3600 / dask_speedup
        out["hours_2_workers_measured_scaling"] = measured
        print(
            f"    2 workers with the measured Dask scaling ({dask_speedup:.2f}x): {measured:.2f} h"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=1, help="in-process runs of each (best kept)")
    ap.add_argument("--skip-inprocess", action="store_true")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-paper", action="store_true")
    args = ap.parse_args()
    if args.nets < 4 or args.nets % 4:
        sys.exit("--nets must be a multiple of 4")
    work = OUT / "sweep"
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"sweep benchmark: {args.nets} rank-one networks (N = 100) x {args.epochs} epochs, "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    results: dict = {"nets": args.nets, "epochs": args.epochs, "cores": os.cpu_count()}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not args.skip_inprocess:
        print("in-process:")
        results["in_process"] = in_process(args.nets, args.epochs, work, args.repeat)
    if not args.skip_dask:
        print("Dask:")
        results["dask"] = dask(args.nets, args.epochs, work)
    if not args.skip_paper:
        print("paper scale (estimate):")
        speedup = results.get("dask", {}).get("speedup_2_over_1")
        results["paper_scale"] = paper_scale(speedup)
    write_json(results, OUT / "bench_sweep.json")
    print(f"-> {OUT / 'bench_sweep.json'}")


if __name__ == "__main__":
    main()
