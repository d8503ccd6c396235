"""Resource limits, checked before anything large is allocated.

Every entry point that could allocate a lot (``train``, ``grid``, sweep specs and plans,
the command line's ranges like ``0-999999999`` or ``logspace(-3,0,1000000000)``) counts
what a request implies first and refuses it in one line naming the argument, the size and
the limit:

- **memory**: an estimate of the peak memory (:func:`train_memory`) must fit in the limit,
  by default the memory available now (``MemAvailable`` of ``/proc/meminfo``, or the
  cgroup's limit when lower), or the ``GHOSTLEARN_MAX_MEMORY`` environment variable
  (e.g. ``8GB``), or an explicit ``max_memory`` / ``--max-memory``;
- **networks**: a command line population or a sweep holds at most
  :data:`DEFAULT_MAX_NETWORKS` networks unless ``--max-networks`` (``max_networks``)
  raises it; grids past the limit are refused before any list of values is built. A
  sweep's plan holds its batch groups only (at most ``ghostlearn.sweep.MAX_GROUPS``
  compiled programs) and builds one batch at a time, so planning a grid at the limit
  takes memory for its groups, not for its cells.

The estimates are deliberately rough (within a factor of about two of the measured peak
for the paper's models) and err on the high side.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_MAX_NETWORKS",
    "available_memory",
    "check_memory",
    "check_networks",
    "format_bytes",
    "memory_limit",
    "parse_size",
    "train_memory",
]

#: Most networks in one command-line population or one sweep, unless raised explicitly.
DEFAULT_MAX_NETWORKS = 10_000_000

_UNITS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_size(name: str, value: Any) -> int:
    """Bytes from ``4GB``, ``512MB``, ``2GiB``, ``1e9`` or an integer.

    Raises:
        ValueError: naming ``name``, for anything else or a size <= 0.
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a size like 4GB or 512MB, got {value!r}")
    if isinstance(value, (int, float)):
        size = float(value)
    else:
        m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgGtT]?)(i?)[bB]?\s*", str(value))
        try:
            if not m:
                raise ValueError
            number = float(m.group(1))
        except ValueError:
            raise ValueError(f"{name} must be a size like 4GB or 512MB, got {value!r}") from None
        base = 1024 if m.group(3) else 1000
        power = " KMGT".index(m.group(2).upper() or " ")
        size = number * base**power
    if not math.isfinite(size) or size <= 0:
        raise ValueError(f"{name} must be a size > 0 like 4GB, got {value!r}")
    return int(size)


def format_bytes(n: float) -> str:
    """``"23.9 GB"``, ``"512.0 MB"``, ``"40 B"``."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{int(n)} B"


def available_memory() -> int:
    """Bytes of memory available to this process now (``MemAvailable``, capped by the
    cgroup's limit); a large number when neither can be read."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return 2**62
    return min(found)


def memory_limit(max_memory: Any = None) -> tuple[int, str]:
    """The memory limit in bytes and where it comes from (for messages).

    ``max_memory`` (bytes or a size string) wins; else ``GHOSTLEARN_MAX_MEMORY``; else
    the memory available now.
    """
    if max_memory is not None:
        return parse_size("max_memory", max_memory), "max_memory / --max-memory"
    env = os.environ.get("GHOSTLEARN_MAX_MEMORY")
    if env:
        return parse_size("GHOSTLEARN_MAX_MEMORY", env), "GHOSTLEARN_MAX_MEMORY"
    return available_memory(), "the memory available now; max_memory / --max-memory sets it"


def check_memory(what: str, need: int, max_memory: Any = None) -> None:
    """Raise ``ValueError`` when ``need`` bytes exceed the limit (see :func:`memory_limit`).

    Args:
        what: the request and its sizes, e.g. ``"train of 1,000 networks x 6,000 epochs"``.
        need: estimated bytes.
        max_memory: explicit limit (bytes or a size string), or None.
    """
    limit, source = memory_limit(max_memory)
    if need > limit:
        raise ValueError(
            f"{what} needs about {format_bytes(need)} of memory, above the limit of "
            f"{format_bytes(limit)} ({source})"
        )


def check_networks(what: str, n: int, max_networks: int | None = None) -> None:
    """Raise ``ValueError`` when ``n`` networks exceed ``max_networks`` (default
    :data:`DEFAULT_MAX_NETWORKS`); ``what`` names the argument(s) that imply ``n``."""
    limit = DEFAULT_MAX_NETWORKS if max_networks is None else int(max_networks)
    if n > limit:
        raise ValueError(
            f"{what} gives {n:,} networks, above the limit of {limit:,} (max_networks / --max-networks)"
        )


def train_memory(
    cfg: Any,
    n_nets: int,
    *,
    epochs: int,
    snapshot_every: int = 0,
    metrics_every: int = 1,
    dtype: str = "float32",
    optimizer: Any = "sgd",
    task: Any = None,
) -> int:
    """Estimated peak bytes of ``train`` for ``n_nets`` networks of ``cfg`` on ``task``.

    Per network: the parameters about ``4 + 2 a`` times (current, gradient, update and
    initial copies; ``a = 1`` for optimizers with state, e.g. adam's two moments), the
    activations kept for the gradient, the recorded metrics twice (device chunk and host
    table), and the snapshots twice (the chunks and their concatenation). Activations:
    ``3 (n_steps + 1) N`` numbers for the paper's single trial; for another task with
    ``B`` trials of ``S`` steps (:meth:`ghostlearn.tasks.Task.checked_trials`),
    ``B (S + 1) (4 N + n_in + 2)`` numbers (states, pre-activations and tanh values kept by
    ``jax.grad``, the noise, the inputs, targets and mask) plus ``B N`` initial states.
    """
    from .rnn import param_shapes

    item = 8 if dtype == "float64" else 4
    params = sum(math.prod(s) for s in param_shapes(cfg, task).values())
    stateful = 0 if optimizer == "sgd" else 1
    recorded = -(-int(epochs) // max(int(metrics_every), 1))
    snaps = -(-int(epochs) // int(snapshot_every)) + 1 if snapshot_every else 0
    if task is None or (getattr(task, "paper", False) and task.name == "da"):
        activations = 3 * (cfg.n_steps + 1) * cfg.N
    else:
        trials = task.checked_trials(cfg)
        B, S = trials.n_trials, trials.n_steps
        activations = B * (S + 1) * (4 * cfg.N + trials.n_in + 2) + B * cfg.N
    per_net = params * (4 + 2 * stateful) + activations + 2 * 3 * recorded + 2 * snaps * params
    return int(n_nets) * per_net * item
