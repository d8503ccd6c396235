"""Rank-K training throughput: ghostlearn against two PyTorch loops, K = 30, 50 and 100.

Measures, in one process on this machine, 100 ``lowrank`` networks (N = 100, seeds 0-99,
lr 0.02, SGD, per-epoch loss, accuracy and gradient norm) for each rank K:

1. ghostlearn ``train``: 800 epochs in chunks of 200, timed after compilation (a warm-up
   call of one chunk compiles the same program), best of three runs; the population is
   split over all host cores.
2. A plain one-network-at-a-time PyTorch loop: torch autograd, ``torch.optim.SGD``, a
   Python loop over epochs and over the 40 time steps, ``.item()`` metrics every epoch,
   one thread. Two networks x 40 epochs, extrapolated per network-epoch.
3. A batched PyTorch loop: the 100 networks' weights stacked and every time step one
   ``torch.bmm`` per factor over the population (autograd on the summed loss, whose
   gradient is each network's own; SGD by hand; metrics per network every epoch); the
   faster of one thread and all cores. Six epochs, extrapolated.

The PyTorch loops' first epoch (PyTorch's first calls) is not timed. All three start from
the same ``ghostlearn.rnn.init_params`` weights. Prints network-epochs per second by the
wall clock and per CPU-second of this process (the latter is robust to other load on a
shared machine) and the ratios; writes them with the load average to
``bench-out/bench_rankk.json``. ``XLA_FLAGS`` is set to
``--xla_force_host_platform_device_count=<cores>`` before JAX is imported, unless the
environment already sets it.

Usage::

    python benchmarks/bench_rankk.py             # about 1-2 minutes on 2 cores
    python benchmarks/bench_rankk.py --quick     # fewer epochs, for a smoke run
    python benchmarks/bench_rankk.py --ranks 100 # one rank
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count() or 1}")

import numpy as np  # noqa: E402

from ghostlearn.rnn import RNNConfig, init_params  # noqa: E402
from ghostlearn.store import write_json  # noqa: E402
from ghostlearn.task import targets  # noqa: E402
from ghostlearn.train import train  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "bench-out"
NETS = 100
LR = 0.02


def _rates(net_epochs: int, wall: float, cpu: float) -> dict:
    return {
        "run_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "net_epochs_per_s": net_epochs / wall,
        "net_epochs_per_cpu_s": net_epochs / cpu,
    }


def bench_ghostlearn(cfg: RNNConfig, epochs: int, chunk: int, repeats: int = 3) -> dict:
    """``train`` on NETS networks x ``epochs`` in chunks of ``chunk`` epochs, compiled
    beforehand (a warm-up run of one chunk); the best of ``repeats`` runs."""
    kw = {"seeds": range(NETS), "lr": LR, "epochs": epochs, "chunk": chunk}
    tic = time.perf_counter()
    ds = train(cfg, **(kw | {"epochs": chunk}))  # compiles
    warmup = time.perf_counter() - tic
    best: dict = {}
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        train(cfg, **kw)
        r = _rates(NETS * epochs, time.perf_counter() - wall, time.process_time() - cpu)
        if not best or r["net_epochs_per_s"] > best["net_epochs_per_s"]:
            best = r
    return {
        "nets": NETS,
        "epochs": epochs,
        "chunk": chunk,
        "warmup_s": round(warmup, 2),
        "devices": ds.attrs["train"]["devices"],
        **best,
    }


def _torch_params(cfg: RNNConfig, seeds: range) -> dict:
    import torch

    ps = [init_params(cfg, s) for s in seeds]
    return {k: torch.tensor(np.stack([p[k] for p in ps])) for k in ps[0]}


def bench_torch_loop(cfg: RNNConfig, nets: int, epochs: int) -> dict:
    """One network at a time: autograd, ``torch.optim.SGD``, Python loops over epochs and
    steps, metrics read back every epoch (like the original code)."""
    import torch

    D, half = cfg.D, cfg.half
    y = torch.tensor(np.asarray(targets(cfg)))
    allp = _torch_params(cfg, range(nets))
    wall = cpu = 0.0
    for i in range(nets):
        p = {k: v[i].clone().requires_grad_() for k, v in allp.items()}
        opt = torch.optim.SGD(list(p.values()), lr=LR)
        for epoch in range(epochs + 1):
            if epoch == 1:  # the first epoch (PyTorch's first calls) is not timed
                wall, cpu = wall - time.perf_counter(), cpu - time.process_time()
            opt.zero_grad()
            x = torch.full((cfg.N,), cfg.x0)
            outs = []
            for _ in range(cfg.n_steps):
                x = (1 - D) * x + D * torch.tanh(p["M"] @ (p["Nmat"] @ x) + p["b"])
                outs.append(torch.sigmoid(p["w_out"] @ x + p["b_out"]))
            o = torch.stack(outs)
            loss = ((o - y) ** 2).sum() / half
            acc = ((o > 0.5) == (y > 0.5)).float().mean()
            loss.backward()
            gnorm = torch.sqrt(sum((v.grad**2).sum() for v in p.values()))
            opt.step()
            _ = (loss.item(), acc.item(), gnorm.item())
        wall, cpu = wall + time.perf_counter(), cpu + time.process_time()
    r = _rates(nets * epochs, wall, cpu)
    return {"nets": nets, "epochs": epochs, "threads": torch.get_num_threads(), **r}


def bench_torch_batched(cfg: RNNConfig, epochs: int) -> dict:
    """All NETS networks at once: ``torch.bmm`` per factor and step, autograd on the sum of
    the networks' losses, SGD by hand, per-network metrics every epoch."""
    import torch

    D, half = cfg.D, cfg.half
    y = torch.tensor(np.asarray(targets(cfg)))
    p = {k: v.clone().requires_grad_() for k, v in _torch_params(cfg, range(NETS)).items()}
    wall = cpu = 0.0
    for epoch in range(epochs + 1):
        if epoch == 1:  # the first epoch (PyTorch's first calls) is not timed
            wall, cpu = -time.perf_counter(), -time.process_time()
        for v in p.values():
            v.grad = None
        x = torch.full((NETS, cfg.N, 1), cfg.x0)
        outs = []
        for _ in range(cfg.n_steps):
            pre = torch.bmm(p["M"], torch.bmm(p["Nmat"], x)) + p["b"][:, :, None]
            x = (1 - D) * x + D * torch.tanh(pre)
            outs.append(torch.sigmoid(torch.bmm(p["w_out"][:, None, :], x)[:, 0, 0] + p["b_out"]))
        o = torch.stack(outs, dim=1)  # [nets, steps]
        losses = ((o - y) ** 2).sum(dim=1) / half
        acc = ((o > 0.5) == (y > 0.5)).float().mean(dim=1)
        losses.sum().backward()
        with torch.no_grad():
            gnorm = torch.sqrt(sum((v.grad**2).reshape(NETS, -1).sum(dim=1) for v in p.values()))
            for v in p.values():
                v -= LR * v.grad
        _ = (losses.detach().numpy().copy(), acc.numpy().copy(), gnorm.numpy().copy())
    r = _rates(NETS * epochs, wall + time.perf_counter(), cpu + time.process_time())
    return {"nets": NETS, "epochs": epochs, "threads": torch.get_num_threads(), **r}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (smoke run)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[30, 50, 100])
    parser.add_argument("--skip-torch", action="store_true", help="skip the PyTorch loops")
    args = parser.parse_args()
    import jax

    results: dict = {"devices": len(jax.local_devices()), "cpu_count": os.cpu_count()}
    if not args.skip_torch:
        import torch

        results["torch_version"] = torch.__version__
    rows = []
    for K in args.ranks:
        cfg = RNNConfig(model="lowrank", rank=K)
        chunk = 50 if args.quick else 200
        epochs = chunk * (1 if args.quick else 4)
        g = bench_ghostlearn(cfg, epochs, chunk)
        entry: dict = {"ghostlearn": g}
        line = (
            f"rank {K:3d}: ghostlearn {g['net_epochs_per_s']:8,.0f}/s "
            f"({g['net_epochs_per_cpu_s']:8,.0f}/CPU-s, {NETS} nets x {epochs} epochs, "
            f"{g['devices']} devices)"
        )
        if not args.skip_torch:
            import torch

            # One thread for the loop of tiny operations; the batched loop gets the
            # faster of one thread and all cores (on a loaded machine often one).
            torch.set_num_threads(1)
            loop = bench_torch_loop(cfg, nets=2, epochs=5 if args.quick else 40)
            batched = bench_torch_batched(cfg, epochs=2 if args.quick else 6)
            torch.set_num_threads(os.cpu_count() or 1)
            batched_all = bench_torch_batched(cfg, epochs=2 if args.quick else 6)
            if batched_all["net_epochs_per_s"] > batched["net_epochs_per_s"]:
                batched = batched_all
            entry |= {"torch_loop": loop, "torch_batched": batched}
            for name, ref in (("torch_loop", loop), ("torch_batched", batched)):
                entry[f"ratio_vs_{name}"] = g["net_epochs_per_s"] / ref["net_epochs_per_s"]
                entry[f"ratio_vs_{name}_per_cpu_s"] = (
                    g["net_epochs_per_cpu_s"] / ref["net_epochs_per_cpu_s"]
                )
            line += (
                f"; plain torch loop {loop['net_epochs_per_s']:6,.0f}/s "
                f"(x{entry['ratio_vs_torch_loop']:.0f}, "
                f"x{entry['ratio_vs_torch_loop_per_cpu_s']:.0f} per CPU-s); "
                f"batched torch.bmm {batched['net_epochs_per_s']:6,.0f}/s "
                f"(x{entry['ratio_vs_torch_batched']:.1f}, "
                f"x{entry['ratio_vs_torch_batched_per_cpu_s']:.1f} per CPU-s)"
            )
        results[f"rank{K}"] = entry
        rows.append(line)
        print(line, flush=True)
    load = os.getloadavg()
    results["load_average"] = load
    print(f"load average (1, 5, 15 min) at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}")
    OUT.mkdir(exist_ok=True)
    write_json(results, OUT / "bench_rankk.json")


if __name__ == "__main__":
    main()
