"""Figures of training runs, returned as matplotlib Figures (never shown, never saved)."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

#: Okabe & Ito (2008) colours, distinguishable under the common colour-vision deficiencies:
#: the one palette of every ghostlearn figure.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}


def training_curves(ds: xr.Dataset, *, max_lines: int = 20, max_points: int = 1000) -> Figure:
    """Loss, accuracy and gradient norm over epochs for every network of a training run.

    The median over networks is drawn on top of two quantile bands (10-90% and 25-75%),
    with the first ``max_lines`` networks as faint rasterised lines, so that the figure's
    cost and its PDF's size do not grow with the population or the number of epochs.

    Args:
        ds: a training Dataset (``loss``, ``accuracy``, ``grad_norm`` over ``net``, ``epoch``).
        max_lines: draw at most this many individual networks (the first ones).
        max_points: draw at most about this many epochs per curve (every k-th recorded
            epoch: a panel is a few hundred pixels wide, and a drawing of every epoch of a
            long run would cost more than the run).

    Returns:
        The figure.
    """
    fig = Figure(figsize=(7.0, 2.4), layout="constrained")
    axes = fig.subplots(1, 3)
    stride = max(1, -(-ds.sizes["epoch"] // max_points))
    epoch = ds["epoch"].values[::stride]
    panels = (
        ("loss", "loss", True),
        ("accuracy", "training accuracy", False),
        ("grad_norm", "gradient norm", True),
    )
    blue, red = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
    for ax, (name, label, log) in zip(axes, panels, strict=True):
        values = np.asarray(ds[name].values[:, ::stride], dtype=float)
        if log:
            values = np.where(values > 0, values, np.nan)
        for row in values[:max_lines]:
            ax.plot(epoch, row, color=blue, alpha=0.25, lw=0.5, rasterized=True)
        if values.shape[0] > 1 and np.isfinite(values).any():
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN epochs
                q = np.nanquantile(values, [0.1, 0.25, 0.5, 0.75, 0.9], axis=0)
            ax.fill_between(epoch, q[0], q[4], color=red, alpha=0.12, lw=0, label="10-90%")
            ax.fill_between(epoch, q[1], q[3], color=red, alpha=0.25, lw=0, label="25-75%")
            ax.plot(epoch, q[2], color=red, lw=1.2, label="median")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{round(v):,}"))
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")
    n = ds.sizes["net"]
    shown = min(n, max_lines)
    axes[0].plot([], [], color=blue, alpha=0.5, lw=0.5, label=f"{shown} of {n} networks")
    axes[0].legend(loc="best", fontsize=7)
    fig.suptitle(f"{n:,} network{'s' * (n != 1)}", fontsize=9)
    return fig
