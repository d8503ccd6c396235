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
# # Analyse your own RNN
#
# The analysis does not need networks trained by ghostlearn: it takes the parameters of
# a low-rank RNN at a series of training epochs ("snapshots") as plain arrays, plus the
# loss curve, and finds the fixed points, ghosts, bifurcations and abrupt drops. This
# tutorial trains a rank-one RNN with a short training loop of its own (plain JAX,
# nothing from ghostlearn), saves the snapshots in the `.npz` format that
# `ghostlearn analyze` reads, and analyses them from Python and from the command line.
#
# ## The snapshot format
#
# One `.npz` file (`numpy.savez`; nothing pickled) per run, with the column convention
# of [Model and conventions](../model.md) (\(W = m n^\top\) or \(W = M N_\mathrm{mat}\),
# acting as \(x \mapsto W x\)):
#
# | array | shape | meaning |
# |---|---|---|
# | `m`, `n`, `b` | `[S, N]` | rank one: \(W = m n^\top\), latent \(\kappa = n \cdot x\), bias \(b\) |
# | `M`, `Nmat`, `b` | `[S, N, K]`, `[S, K, N]`, `[S, N]` | rank K instead: \(W = M N_\mathrm{mat}\), \(\kappa = N_\mathrm{mat} x\) |
# | `epoch` | `[S]` | the epoch of each snapshot, increasing (default `0 .. S-1`) |
# | `loss` | `[E]` | the loss at each recorded epoch (required for rank K; without it, rank-one snapshots are scored on the paper's task at `--c`) |
# | `loss_epoch` | `[E]` | the epochs of `loss` (default `0 .. E-1`) |
# | `grad_norm`, `accuracy` | `[E]` | optional; the gradient norm lets the verdict tell a stuck network (gradient practically zero after a bifurcation) |
#
# The analysis assumes the dynamics \(x \leftarrow (1 - D)\,x + D\tanh(W x + b)\),
# whose latent flow is \(\tau\dot\kappa = -\kappa + n^\top\tanh(m\kappa + b)\); the time
# constant only sets the units of the ghosts' passage times.
#
# ## A network trained elsewhere
#
# A rank-one RNN (N = 100) on the delayed-activation task, written directly in JAX:
# 40 Euler steps with \(D = 0.5\) from \(x(0) = -0.3\), output
# \(\sigma(c\,(n \cdot x - 1))\) with \(c = 10\), target 20 zeros then 20 ones, plain
# gradient descent, 20 epochs per compiled call. We keep \(m, n, b\) every 20 epochs.

# %%
# %matplotlib inline
import jax
import jax.numpy as jnp
import numpy as np

N, D, HALF, C, LR, EPOCHS, EVERY = 100, 0.5, 20, 10.0, 0.02, 5000, 20
target = jnp.concatenate([jnp.zeros(HALF), jnp.ones(HALF)])


def outputs(p):
    def step(x, _):
        x = (1 - D) * x + D * jnp.tanh(p["m"] * (p["n"] @ x) + p["b"])
        return x, jax.nn.sigmoid(C * (p["n"] @ x - 1.0))

    _, out = jax.lax.scan(step, jnp.full(N, -0.3), None, length=2 * HALF)
    return out


def loss_fn(p):
    out = outputs(p)
    return jnp.sum((out - target) ** 2) / HALF, out


def update(p, _):
    """One epoch of plain gradient descent; the metrics are those before the update."""
    (loss, out), grads = jax.value_and_grad(loss_fn, has_aux=True)(p)
    norm = jnp.sqrt(sum(jnp.sum(g**2) for g in grads.values()))
    accuracy = jnp.mean((out > 0.5) == (target > 0.5))
    return {k: p[k] - LR * grads[k] for k in p}, (loss, norm, accuracy)


@jax.jit
def train_chunk(p):
    """EVERY epochs in one compiled loop."""
    return jax.lax.scan(update, p, None, length=EVERY)


rng = np.random.default_rng(21)
params = {
    "m": jnp.asarray(rng.standard_normal(N) / np.sqrt(N), jnp.float32),
    "n": jnp.asarray(rng.standard_normal(N) / np.sqrt(N), jnp.float32),
    "b": jnp.zeros(N, jnp.float32),
}
snaps, metrics = {"m": [], "n": [], "b": []}, []
for _ in range(EPOCHS // EVERY):
    for k in snaps:  # the parameters at the start of the chunk's first epoch
        snaps[k].append(np.asarray(params[k]))
    params, chunk_metrics = train_chunk(params)
    metrics.append(np.stack(chunk_metrics, axis=1))
loss, grad_norm, accuracy = np.concatenate(metrics).T
print(f"loss {loss[0]:.3f} -> {loss[-1]:.3g}, max accuracy {accuracy.max():.2f}")

# %% [markdown]
# ## Save the snapshots

# %%
import tempfile
from pathlib import Path

folder = Path(tempfile.mkdtemp())
path = folder / "snapshots.npz"
np.savez(
    path,
    m=np.stack(snaps["m"]),  # [S, N]
    n=np.stack(snaps["n"]),
    b=np.stack(snaps["b"]),
    epoch=np.arange(0, EPOCHS, EVERY),  # [S]
    loss=loss,  # [E]
    loss_epoch=np.arange(EPOCHS),
    grad_norm=grad_norm,
    accuracy=accuracy,
)

# %% [markdown]
# ## Analyse in Python
#
# `analyze_run` takes the same arrays (`analyze_run_lowrank` the rank-K ones):

# %%
from ghostlearn.analysis import analyze_run, plot_run

arrays = np.load(path)
analysis = analyze_run(
    arrays["epoch"], arrays["m"], arrays["n"], arrays["b"], arrays["loss"],
    arrays["grad_norm"], accuracy=arrays["accuracy"], loss_epochs=arrays["loss_epoch"],
)  # fmt: skip
analysis

# %% [markdown]
# The per-snapshot table (number of fixed points of each stability, number of ghosts and
# the smallest ghost depth \(|f|\)) as an `xarray.Dataset`, and the figure:

# %%
analysis.to_xarray()

# %%
plot_run(analysis)

# %% [markdown]
# The latent flow at any snapshot is also available directly, e.g. its points at the
# last snapshot:

# %%
from ghostlearn.analysis import rank1_points

rank1_points(arrays["m"][-1], arrays["n"][-1], arrays["b"][-1])

# %% [markdown]
# ## Analyse from the command line
#
# `ghostlearn analyze` reads the same file and writes `analysis.json` (verdict, drops,
# bifurcations, ghost events, tracks and the per-snapshot table) and `analysis.png`
# beside it; `ghostlearn report` and `ghostlearn animate` accept it as well.

# %%
import subprocess
import sys

cmd = [sys.executable, "-m", "ghostlearn", "analyze", str(path)]
done = subprocess.run(cmd, capture_output=True, text=True)
if done.returncode != 0:
    raise RuntimeError(f"ghostlearn analyze failed:\n{done.stderr}")
print(done.stdout)
print(sorted(p.name for p in folder.iterdir()))

# %% [markdown]
# ## From a PyTorch model
#
# Saved `state_dict`s convert in one command, `ghostlearn convert epoch*.pt --out run.npz`
# (loaded with `weights_only=True`; `--map` names the tensors, `--row-convention` reads
# `x @ S_l @ S_r` networks): see [Your own checkpoints](../checkpoints.md). Or save the
# arrays yourself during training. For a rank-one model with parameters `m`, `n`, `b` used as
# `x = (1 - D) * x + D * torch.tanh(m * (n @ x) + b)`:
#
# ```python
# snaps = {"m": [], "n": [], "b": []}
# for epoch in range(epochs):
#     if epoch % every == 0:
#         for k in snaps:
#             snaps[k].append(getattr(model, k).detach().cpu().numpy().copy())
#     ...  # forward, loss.backward(), optimizer.step(); keep loss.item()
# np.savez("snapshots.npz", **{k: np.stack(v) for k, v in snaps.items()},
#          epoch=np.arange(0, epochs, every), loss=np.asarray(losses))
# ```
#
# A rank-K model written with row vectors, `x @ M_t @ N_t` with `M_t` `[N, K]` and `N_t`
# `[K, N]`, is the column-convention network with `M = N_t.T` and `Nmat = M_t.T`:
#
# ```python
# M = np.stack([s["N_t"].T for s in saved])      # [S, N, K]
# Nmat = np.stack([s["M_t"].T for s in saved])   # [S, K, N]
# np.savez("snapshots.npz", M=M, Nmat=Nmat, b=np.stack([s["b"] for s in saved]),
#          epoch=epochs_saved, loss=losses)
# ```
#
# Models with other dynamics (another nonlinearity, inputs, a different leak) have other
# latent flows: the analysis of this package does not apply to them as it is.
