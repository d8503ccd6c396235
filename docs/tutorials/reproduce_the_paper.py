# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reproduce the paper
#
# `ghostlearn reproduce` runs every figure of the paper and checks its claims. This
# tutorial does the same for the two toy-model figures, from Python, in a few seconds:
# Fig. 1 (the flow of \(\dot x = x^2 + r\) on either side of the bifurcation) and Fig. 2
# (the loss landscape, abrupt learning below the critical learning rate and getting stuck
# above it). The commands for the whole paper are at the end.
#
# ## The toy model's closed forms
#
# For a delay \(T\), the optimum \(r^* = \pi^2 / 4T^2\), the point of no return
# \(r^*/4\) and the critical learning rate \(\alpha^* = 3\pi^4/32\, T^{-5}\) (Eq. 15):

# %%
# %matplotlib inline
import ghostlearn as gl

T = 100.0
print(f"r*     = {gl.optimal_r(T):.4g}")
print(f"r*/4   = {gl.no_return_r(T):.4g}")
print(f"alpha* = {gl.critical_lr(T):.4g}")

# %% [markdown]
# Gradient descent on the analytic loss, one learning rate below \(\alpha^*\) and one
# above, from \(r_0 = 10 r^*\) (Fig. 2B-C). The result is an `xarray.Dataset` over
# `(lr, instance, epoch)`:

# %%
runs = gl.gradient_descent(T, lr=[1e-10, 1e-9], r0=[10 * gl.optimal_r(T)], epochs=3000)
final = runs.isel(instance=0, epoch=-1)
for lr in runs.lr.values:
    print(
        f"lr = {lr:.0e}: final loss {float(final.loss.sel(lr=lr)):.3g}, "
        f"stuck in the no-learning zone: {bool(runs.stuck.sel(lr=lr, instance=0))}"
    )

# %% [markdown]
# ## A figure, its data and its claims
#
# Each figure is a module of `ghostlearn.experiments` with a frozen `Config`, `run`,
# `summarize`, `plot` and `claims`. `config("quick")` is what `ghostlearn reproduce`
# runs by default; for the toy figures it equals the paper's settings.

# %%
import dataclasses

import pandas as pd

from ghostlearn.experiments import experiment_module

fig2 = experiment_module("fig2")
cfg = fig2.config("quick")
data = fig2.run(cfg)  # an xarray.DataTree, one group per panel
summary = fig2.summarize(data, cfg)  # a typed fig2.Summary; summary.to_dict() is its JSON
fig2.plot(data, summary, cfg)

# %% [markdown]
# Every claim of the paper that the figure supports, with the paper's value, the one
# measured here and a verdict:

# %%
claims = pd.DataFrame([dataclasses.asdict(c) for c in fig2.claims(summary, cfg)])
claims[["claim", "paper", "measured", "verdict"]]

# %% [markdown]
# ## Writing results to disk
#
# `run_experiment` does all of the above and writes `<out>/<name>/figure.png`,
# `figure.pdf`, `data.zarr` and `summary.json` (see [Results on disk](../results.md)).
# Running it again with the same configuration skips the work.

# %%
import tempfile
from pathlib import Path

from ghostlearn.experiments import run_experiment

out = Path(tempfile.mkdtemp())
written = run_experiment("fig1", out)
print(sorted(p.name for p in (out / "fig1").iterdir()))
print({c["verdict"] for c in written["claims"]})

# %% [markdown]
# ## The whole paper
#
# From a shell, with the package installed:
#
# ```bash
# ghostlearn reproduce                          # every figure, quick fidelity, into results/
# ghostlearn reproduce fig3 fig4 --out results  # some of them
# ghostlearn reproduce --paper                  # the paper's epochs and seeds (hours)
# ghostlearn report results                     # results/report.html
# ```
#
# `results/claims.md` lists every claim beside ghostlearn's measurement. The quick
# fidelity scales the epochs of Figs. 3, S1 and S2 down and says which claims that
# affects; the home page has the timings of each figure at either fidelity.
