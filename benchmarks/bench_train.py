"""Training throughput: ghostlearn's batched engine against a plain PyTorch loop.

Measures, in one process on this machine:

1. Fig 4 workload: 100 rank-one networks (N = 100, seeds 0-99, lr 0.02, c = 10) x 6000
   epochs with per-epoch metrics, timed after compilation (a warm-up call compiles the
   same program first); network-epochs per second, and the process's peak resident
   memory (``resource.getrusage``) right after it.
2. Rank-100 throughput: 100 ``lowrank`` networks with K = N = 100, after compilation.
3. A plain one-network-at-a-time PyTorch loop like the original code: torch autograd,
   ``torch.optim.SGD``, a Python loop over epochs and over the 40 time steps. A few
   networks x a few hundred epochs, extrapolated per network-epoch.

Prints network-epochs per second, by the wall clock and per CPU-second of this process
(the latter is robust to other load on a shared machine), and the ratios; writes them to
``bench-out/bench_train.json``.
The population is split over all host cores: ``XLA_FLAGS`` is set to
``--xla_force_host_platform_device_count=<cores>`` before JAX is imported, unless the
environment already sets ``XLA_FLAGS``.

Usage::

    python benchmarks/bench_train.py            # about 2 minutes on 2 cores
    python benchmarks/bench_train.py --quick    # fewer epochs, for a smoke run
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count() or 1}")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from ghostlearn.rnn import RNNConfig  # noqa: E402
from ghostlearn.store import write_json  # noqa: E402
from ghostlearn.train import train  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "bench-out"


def _peak_rss_mb() -> float:
    scale = 1024.0 if sys.platform != "darwin" else 1024.0**2  # Linux: KiB; macOS: bytes
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def bench_ghostlearn(cfg: RNNConfig, nets: int, epochs: int, chunk: int, **kw) -> dict:
    """Time ``train`` on ``nets`` x ``epochs`` with the program compiled beforehand."""
    t = time.perf_counter()
    train(cfg, seeds=range(nets), epochs=chunk, chunk=chunk, **kw)  # compiles
    compile_s = time.perf_counter() - t
    t, cpu = time.perf_counter(), time.process_time()
    ds = train(cfg, seeds=range(nets), epochs=epochs, chunk=chunk, **kw)
    run_s, cpu_s = time.perf_counter() - t, time.process_time() - cpu
    return {
        "nets": nets,
        "epochs": epochs,
        "chunk": chunk,
        "warmup_s": round(compile_s, 2),
        "run_s": round(run_s, 2),
        "cpu_s": round(cpu_s, 2),
        "net_epochs_per_s": nets * epochs / run_s,
        "net_epochs_per_cpu_s": nets * epochs / cpu_s,
        "devices": ds.attrs["train"]["devices"],
        "dataset": ds,
    }


def bench_torch_loop(nets: int, epochs: int, N: int = 100, lr: float = 0.02) -> dict:
    """A plain PyTorch loop, one rank-one network at a time, like the original code."""
    import torch

    D, half, c, thr = 0.5, 20, 10.0, 1.0
    target = torch.cat([torch.zeros(half), torch.ones(half)])
    t, cpu = time.perf_counter(), time.process_time()
    for seed in range(nets):
        torch.manual_seed(seed)
        m = (torch.randn(N) / math.sqrt(N)).requires_grad_()
        n = (torch.randn(N) / math.sqrt(N)).requires_grad_()
        b = torch.zeros(N, requires_grad=True)
        opt = torch.optim.SGD([m, n, b], lr=lr)
        for _ in range(epochs):
            opt.zero_grad()
            x = torch.full((N,), -0.3)
            outs = []
            for _ in range(2 * half):
                kappa = n @ x
                x = (1 - D) * x + D * torch.tanh(m * kappa + b)
                outs.append(torch.sigmoid(c * (n @ x - thr)))
            o = torch.stack(outs)
            loss = ((o - target) ** 2).sum() / half
            acc = ((o > 0.5).float() == target).float().mean()
            loss.backward()
            gnorm = torch.sqrt(sum((p.grad**2).sum() for p in (m, n, b)))
            opt.step()
            _ = (loss.item(), acc.item(), gnorm.item())
    dt, cpu_s = time.perf_counter() - t, time.process_time() - cpu
    return {
        "nets": nets,
        "epochs": epochs,
        "run_s": round(dt, 2),
        "cpu_s": round(cpu_s, 2),
        "net_epochs_per_s": nets * epochs / dt,
        "net_epochs_per_cpu_s": nets * epochs / cpu_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (smoke run)")
    parser.add_argument("--skip-torch", action="store_true", help="skip the PyTorch loop")
    args = parser.parse_args()
    fig4_epochs = 1000 if args.quick else 6000
    low_epochs = 50 if args.quick else 300
    results: dict = {"devices": len(jax.local_devices()), "cpu_count": os.cpu_count()}

    fig4 = bench_ghostlearn(RNNConfig(), 100, fig4_epochs, chunk=1000, lr=0.02, c=10.0)
    results["fig4_peak_rss_mb"] = round(_peak_rss_mb(), 1)
    ds = fig4.pop("dataset")
    acc = ds.accuracy.values
    learned = acc.max(axis=1) > 0.5
    stuck = learned & (np.nanmax(acc[:, -50:], axis=1) <= 0.5)
    fig4["learned"], fig4["stuck"] = int(learned.sum()), int(stuck.sum())
    results["fig4_rank1"] = fig4
    print(
        f"ghostlearn Fig 4 (100 rank-1 x {fig4_epochs} epochs, {fig4['devices']} devices): "
        f"{fig4['net_epochs_per_s']:,.0f} network-epochs/s "
        f"({fig4['net_epochs_per_cpu_s']:,.0f} per CPU-second; run {fig4['run_s']} s, "
        f"warm-up incl. compile {fig4['warmup_s']} s); "
        f"peak RSS {results['fig4_peak_rss_mb']} MB; learned {fig4['learned']}, "
        f"stuck {fig4['stuck']}",
        flush=True,
    )

    low = bench_ghostlearn(
        RNNConfig(model="lowrank", rank=100), 100, low_epochs, chunk=low_epochs // 2, lr=0.02
    )
    low.pop("dataset")
    results["rank100"] = low
    print(
        f"ghostlearn rank-100 (100 nets x {low_epochs} epochs): "
        f"{low['net_epochs_per_s']:,.0f} network-epochs/s "
        f"({low['net_epochs_per_cpu_s']:,.0f} per CPU-second; run {low['run_s']} s)",
        flush=True,
    )

    if not args.skip_torch:
        loop = bench_torch_loop(nets=3, epochs=100 if args.quick else 300)
        results["torch_loop"] = loop
        ratio = fig4["net_epochs_per_s"] / loop["net_epochs_per_s"]
        cpu_ratio = fig4["net_epochs_per_cpu_s"] / loop["net_epochs_per_cpu_s"]
        results["ratio_fig4_vs_torch_loop"] = ratio
        results["ratio_fig4_vs_torch_loop_per_cpu_s"] = cpu_ratio
        print(
            f"plain PyTorch loop ({loop['nets']} nets x {loop['epochs']} epochs): "
            f"{loop['net_epochs_per_s']:,.0f} network-epochs/s "
            f"({loop['net_epochs_per_cpu_s']:,.0f} per CPU-second); ghostlearn / loop = "
            f"{ratio:,.0f}x wall-clock, {cpu_ratio:,.0f}x per CPU-second",
            flush=True,
        )
    load = os.getloadavg()
    results["load_average"] = load
    print(f"load average (1 min) at the end: {load[0]:.1f} on {os.cpu_count()} cores")
    OUT.mkdir(exist_ok=True)
    write_json(results, OUT / "bench_train.json")


if __name__ == "__main__":
    main()
