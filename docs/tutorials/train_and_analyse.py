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
# # Train and analyse your own population
#
# This tutorial trains a small population of rank-one RNNs on the delayed-activation
# task in one compiled program, finds the fixed points, ghosts and bifurcations of every
# network's latent flow at every snapshot, and tabulates what happened to each network.
# The setting is the paper's Fig. 4 (learning rate 0.02, confidence 10, 6000 epochs), with
# 16 networks (seeds 16-31) instead of 100 so that it runs in well under a minute on a
# laptop.
#
# ## Train
#
# `gl.grid` builds the cartesian product of seeds, learning rates and confidences, a
# `Population`; a `TrainConfig` says how to train it; `gl.train` trains all of them at
# once. `snapshot_every=50` keeps the parameters every 50 epochs, which is what the
# analysis needs.

# %%
# %matplotlib inline
import ghostlearn as gl

cfg = gl.RNNConfig()  # rank one, N = 100, tau = 10 ms, dt = 5 ms, T = 100 ms
population = gl.grid(seeds=range(16, 32), lr=0.02, c=10.0)
runs = gl.train(cfg, population, gl.TrainConfig(epochs=6000, snapshot_every=50))
runs

# %% [markdown]
# The result is an `xarray.Dataset` (schema in [Results on disk](../results.md)): metrics
# over `(net, epoch)`, final parameters over `(net, unit)`, snapshots over
# `(net, snapshot, unit)`, and `seed`, `lr`, `c` as coordinates along `net`.
# The paper's outcome definitions apply to the accuracy directly:

# %%
learned = gl.learned(runs.accuracy.values)  # max accuracy over all epochs > 0.5
stuck = gl.stuck(runs.accuracy.values)  # learned, then <= 0.5 over the last 50 epochs
print(f"{learned.sum()} of {runs.sizes['net']} learned at some point, {stuck.sum()} got stuck")

# %%
from ghostlearn.plotting import training_curves

training_curves(runs)

# %% [markdown]
# ## Analyse
#
# `gl.analyze_dataset` analyses every network: the fixed points and ghost points of the
# latent flow \(f(\kappa) = -\kappa + n^\top \tanh(m\kappa + b)\) at each snapshot, the
# tracks they form, the bifurcations between snapshots, the abrupt drops of the loss,
# and one verdict per network (see [Model and conventions](../model.md)).

# %%
analyses = gl.analyze_dataset(runs)
analyses

# %% [markdown]
# It is a list with one `RunAnalysis` per network; each prints as a short summary:

# %%
analyses[0]

# %% [markdown]
# `to_dataframe()` gives one row per network: its coordinates, the verdict, the epochs
# of the first abrupt drop, of the first bifurcation and of the first ghost, and the
# counts of points and events.

# %%
table = analyses.to_dataframe()
table[["seed", "verdict", "drop_onset_epoch", "first_bifurcation_epoch", "final_accuracy"]]

# %%
table.groupby("verdict")[["final_accuracy", "n_bifurcations", "max_n_ghosts"]].mean()

# %% [markdown]
# `to_xarray()` gives the per-snapshot counts of every network on one grid, e.g. the
# number of fixed points over training (two or three fixed points after a saddle-node
# bifurcation; one before):

# %%
counts = analyses.to_xarray()
counts.n_fixed.plot(x="snapshot", y="net", cmap="viridis", figsize=(7, 3));

# %% [markdown]
# ## One network in detail
#
# `plot_run` draws the Fig. 3-style picture of one run: the loss and gradient norm with
# the events marked, and the latent flow at chosen epochs with its fixed points and
# ghosts. Here the first ghost-mediated network if there is one, else the first with a
# bifurcation:

# %%
from ghostlearn.analysis import plot_run

ghost = table.index[table.verdict == "ghost-mediated"]
bif = table.index[table.n_bifurcations > 0]
net = int(ghost[0]) if len(ghost) else int(bif[0]) if len(bif) else 0
i = list(table.index).index(net)  # the position in the list
print(analyses[i])
plot_run(analyses[i])

# %% [markdown]
# ## The same from the command line
#
# ```bash
# ghostlearn train --rank 1 --seeds 16-31 --lr 0.02 --c 10 --epochs 6000 --snapshot-every 50 --out run
# ghostlearn analyze run/train.zarr      # run/analysis.json and run/analysis.png
# ghostlearn report run                  # run/report.html with an epoch slider
# ghostlearn animate run/train.zarr --net 3
# ```
#
# For grids of thousands of networks over learning rates, confidences and ranks, with
# resumable storage and a cluster, see [Sweeps](../sweeps.md) and
# [A sweep on a SLURM cluster](slurm_sweep.md).
