"""ghostlearn: abrupt learning through ghost points, from the toy model to low-rank RNNs.

The toy model is imported eagerly (NumPy only); the JAX-based engine and the analysis are
imported on first use, so ``import ghostlearn`` and the command line start fast. Importing
changes nothing outside the package: no environment variables, no JAX configuration. To
split populations over every CPU core in a notebook, call :func:`use_all_cores` first, before
anything imports JAX.
"""

import os as _os
import sys as _sys
import types as _types
from importlib import import_module as _import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ghostlearn")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from .toy import CriticalLR as CriticalLR
from .toy import analytic_loss as analytic_loss
from .toy import analytic_loss_grad as analytic_loss_grad
from .toy import critical_lr as critical_lr
from .toy import escape_time as escape_time
from .toy import euler_loss as euler_loss
from .toy import find_critical_lr as find_critical_lr
from .toy import gradient_descent as gradient_descent
from .toy import no_return_r as no_return_r
from .toy import optimal_r as optimal_r
from .toy import quadrature_loss as quadrature_loss
from .toy import trajectory as trajectory

_DEVICE_FLAG = "--xla_force_host_platform_device_count"


def use_all_cores() -> int:
    """Give XLA one CPU device per core, so ``train`` splits a population over the cores.

    Sets ``--xla_force_host_platform_device_count=<cores>`` in ``XLA_FLAGS`` (replacing a
    device count already there, keeping the other flags). XLA reads the flag when JAX
    starts, so call this first in a notebook or script::

        import ghostlearn as gl
        gl.use_all_cores()  # before anything imports jax

    The ``ghostlearn`` command does this itself unless ``XLA_FLAGS`` is set.

    Returns:
        The number of devices requested (``os.cpu_count()``).

    Raises:
        RuntimeError: JAX is already imported, so the flag would have no effect.
    """
    if "jax" in _sys.modules:
        raise RuntimeError(
            "use_all_cores() must run before JAX is imported (XLA reads XLA_FLAGS when JAX "
            "starts); restart the interpreter and call it before importing jax or using "
            "ghostlearn's training or analysis"
        )
    n = _os.cpu_count() or 1
    flags = [f for f in _os.environ.get("XLA_FLAGS", "").split() if not f.startswith(_DEVICE_FLAG)]
    _os.environ["XLA_FLAGS"] = " ".join([*flags, f"{_DEVICE_FLAG}={n}"])
    return n


# name -> module, imported on first access (PEP 562)
_LAZY = {
    "RNNConfig": "rnn",
    "init_params": "rnn",
    "simulate": "rnn",
    "train": "train",
    "grid": "train",
    "params_from_dataset": "train",
    "model_from_dataset": "train",
    "task_from_dataset": "train",
    "Population": "population",
    "TrainConfig": "train",
    "make_step": "step",
    "init_state": "step",
    "TrainState": "step",
    "StepMetrics": "step",
    "analyze_run": "analysis",
    "analyze_run_lowrank": "analysis",
    "analyze_dataset": "analysis",
    "AnalysisSettings": "analysis",
    "rank1_points": "analysis",
    "find_slow_points": "analysis",
    "learned": "outcomes",
    "stuck": "outcomes",
    "enable_compilation_cache": "compile_cache",
    "read_checkpoint": "checkpoints",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(_import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # bound once: later look-ups do not come here
        return value
    raise AttributeError(f"module 'ghostlearn' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazy names too, so tab completion offers them before their first use.
    return sorted(set(globals()) | set(_LAZY))


class _Package(_types.ModuleType):
    """The package module, keeping its public names bound to the public objects.

    Importing a submodule binds it as an attribute of the package: importing
    ``ghostlearn.train`` sets ``ghostlearn.train`` to the module, which would hide the
    function ``train``. That binding is skipped for the public names (the submodule stays
    importable: ``from ghostlearn.train import grid`` reads ``sys.modules``). As a
    consequence ``import ghostlearn.train as m`` binds the function too; use
    ``importlib.import_module("ghostlearn.train")`` for the module.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in _LAZY and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


__all__ = [
    "__version__",
    "CriticalLR",
    "analytic_loss",
    "analytic_loss_grad",
    "critical_lr",
    "escape_time",
    "euler_loss",
    "find_critical_lr",
    "gradient_descent",
    "no_return_r",
    "optimal_r",
    "quadrature_loss",
    "trajectory",
    "use_all_cores",
    *_LAZY,
]
