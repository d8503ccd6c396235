"""Figures of training runs, returned as matplotlib Figures (never shown, never saved)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

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


def training_curves(ds: xr.Dataset, *, max_lines: int = 100) -> Figure:
    """Loss, accuracy and gradient norm over epochs for every network of a training run.

    Each network is a faint line; the median over networks is drawn on top.

    Args:
        ds: a training Dataset (``loss``, ``accuracy``, ``grad_norm`` over ``net``, ``epoch``).
        max_lines: draw at most this many individual networks (the first ones).

    Returns:
        The figure.
    """
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    epoch = ds["epoch"].values
    panels = (
        ("loss", "loss", True),
        ("accuracy", "training accuracy", False),
        ("grad_norm", "gradient norm", True),
    )
    for ax, (name, label, log) in zip(axes, panels, strict=True):
        values = ds[name].values
        for row in values[:max_lines]:
            ax.plot(epoch, row, color=OKABE_ITO["blue"], alpha=0.15, lw=0.6)
        with np.errstate(all="ignore"):
            median = np.nanmedian(values, axis=0) if np.isfinite(values).any() else None
        if median is not None:
            ax.plot(epoch, median, color=OKABE_ITO["vermillion"], lw=1.5, label="median")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")
    axes[0].legend(loc="best", fontsize=8)
    n = ds.sizes["net"]
    fig.suptitle(f"{n} network{'s' * (n != 1)}", fontsize=10)
    return fig
