"""What a finished sweep says: which networks learned, which got stuck, and phase diagrams.

Per cell (one network), with ``L_e`` the loss and ``A_e`` the accuracy measured at epoch
``e`` (before that epoch's update), first epoch ``e0`` and last epoch ``E``; the
definitions are those of :mod:`ghostlearn.outcomes`, shared with the figures:

- ``learned`` (paper Fig. S2): ``L_E / L_e0 < loss_ratio`` (1e-2);
- ``learned_acc`` ("learned at some point", paper Fig. 4): ``max_e A_e > 0.5``;
- ``stuck`` ("entered the no-learning zone", paper Fig. 4): ``learned_acc`` and
  ``max A_e <= 0.5`` over the last ``last_epochs`` (50) recorded epochs;
- ``epochs_to_learn``: the first epoch with ``L_e / L_e0 < loss_ratio`` (NaN if none).

Fractions over seeds, drawn over two swept axes, are the phase diagrams.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .. import outcomes
from .._validate import at_least, one_of, positive
from .store import open_sweep

__all__ = ["METRICS", "SweepSummary", "plot_phase_diagram", "summarize"]

#: Per-cell booleans whose fraction a phase diagram can show, with their titles.
METRICS: dict[str, str] = {
    "learned": "learned (final / first loss < {loss_ratio:g})",
    "learned_acc": "learned at some point (max accuracy > 0.5)",
    "stuck": "stuck (learned, then max accuracy <= 0.5 over the last {last_epochs} epochs)",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepSummary:
    """Per-cell outcomes of a sweep.

    Attributes:
        cells: Dataset over the sweep's grid dims with ``first_loss``, ``final_loss``,
            ``learned``, ``max_accuracy``, ``learned_acc``, ``stuck``, ``epochs_to_learn``.
        criteria: ``loss_ratio`` and ``last_epochs`` used.
    """

    cells: xr.Dataset
    criteria: dict[str, Any]

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(str(d) for d in self.cells.dims)

    def fractions(self, over: str | Sequence[str] = "seed") -> xr.Dataset:
        """Fraction of cells with each outcome, averaged over the dims ``over``.

        Returns:
            Dataset with ``learned``, ``learned_acc``, ``stuck`` in [0, 1] over the
            remaining dims, and ``n`` (cells per point).
        """
        over = [over] if isinstance(over, str) else list(over)
        for d in over:
            if d not in self.cells.dims:
                raise ValueError(f"{d} is not a swept field; swept: {', '.join(self.dims)}")
        flags = self.cells[list(METRICS)].astype(float)
        out = flags.mean(over) if over else flags
        n = int(np.prod([self.cells.sizes[d] for d in over])) if over else 1
        return out.assign(n=n)

    def table(self) -> Any:
        """One row per cell: swept fields, then the outcomes (a pandas DataFrame)."""
        return self.cells.to_dataframe().reset_index()

    def to_csv(self) -> str:
        """The tidy table as CSV text (write it with ``ghostlearn.store.write_text``)."""
        return self.table().to_csv(index=False)


def summarize(
    data: xr.Dataset | str | os.PathLike[str],
    *,
    loss_ratio: float = 1e-2,
    last_epochs: int = 50,
) -> SweepSummary:
    """Classify every network of a sweep (definitions in :mod:`ghostlearn.outcomes`).

    Args:
        data: a store path, or the Dataset of :func:`ghostlearn.sweep.store.open_sweep`
            (``loss`` and ``accuracy`` over ``(*grid dims, epoch)``).
        loss_ratio: "learned" threshold on final / first loss.
        last_epochs: recorded epochs at the end of training inspected for "stuck".

    Returns:
        :class:`SweepSummary`.

    Raises:
        ValueError: bad thresholds, or no ``loss``/``accuracy`` over ``epoch`` in ``data``.
    """
    positive("loss_ratio", loss_ratio)
    at_least("last_epochs", last_epochs, 1)
    if not isinstance(data, xr.Dataset):
        data = open_sweep(data)
    for name in ("loss", "accuracy"):
        if name not in data or "epoch" not in data[name].dims:
            raise ValueError(f"the sweep data needs {name} over epoch")
    grid = [d for d in data["loss"].dims if d != "epoch"]
    if "epochs" in grid:
        # Runs of different lengths share the epoch axis, the shorter ones padded with NaN:
        # classify each length on its own epochs.
        parts = []
        for i in range(data.sizes["epochs"]):
            sub = data.isel(epochs=i)
            n = int(sub["epochs"])
            parts.append(_classify(sub.isel(epoch=slice(0, n)), loss_ratio, last_epochs))
        cells = xr.concat(parts, dim="epochs").transpose(*grid)
    else:
        cells = _classify(data, loss_ratio, last_epochs)
    criteria = {"loss_ratio": loss_ratio, "last_epochs": last_epochs}
    cells.attrs = {"criteria": criteria}
    return SweepSummary(cells=cells, criteria=criteria)


def _classify(data: xr.Dataset, loss_ratio: float, last_epochs: int) -> xr.Dataset:
    loss = data["loss"]
    grid = [d for d in loss.dims if d != "epoch"]
    loss = loss.transpose(*grid, "epoch")
    acc = data["accuracy"].transpose(*grid, "epoch").values
    lv = loss.values
    coords = {d: data[d] for d in grid}
    finite_acc = np.where(np.isnan(acc), -np.inf, acc.astype(float))

    def cell(values: np.ndarray) -> xr.DataArray:
        return xr.DataArray(values, dims=grid, coords=coords)

    return xr.Dataset(
        {
            "first_loss": cell(lv[..., 0]),
            "final_loss": cell(lv[..., -1]),
            "learned": cell(outcomes.learned_by_loss(lv, ratio=loss_ratio)),
            "max_accuracy": cell(np.max(finite_acc, axis=-1)),
            "learned_acc": cell(outcomes.learned(acc)),
            "stuck": cell(outcomes.stuck(acc, last=last_epochs)),
            "epochs_to_learn": cell(
                outcomes.epochs_to_learn(lv, ratio=loss_ratio, epochs=data["epoch"].values)
            ),
        }
    )


def _label(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    return str(value)


def plot_phase_diagram(
    summary: SweepSummary,
    *,
    x: str | None = None,
    y: str | None = None,
    metrics: Sequence[str] = ("learned", "stuck"),
) -> Any:
    """Heatmaps of the fraction of networks with each outcome over two swept axes.

    Every swept field other than ``x`` and ``y`` (the seed, at least) is averaged over.

    Args:
        summary: from :func:`summarize`.
        x: the horizontal axis (default ``lr`` if swept, else the first non-seed field).
        y: the vertical axis (default the next non-seed field; none: a single row).
        metrics: which fractions to draw, one panel each (keys of :data:`METRICS`).

    Returns:
        A matplotlib Figure (not shown; save it with ``ghostlearn.store.write_figure``).

    Raises:
        ValueError: an axis that is not swept, x == y, or an unknown metric.
    """
    from matplotlib.figure import Figure

    if not metrics:
        raise ValueError("metrics must name at least one of " + ", ".join(METRICS))
    for m in metrics:
        one_of("metric", m, tuple(METRICS))
    dims = list(summary.dims)
    candidates = [d for d in dims if d != "seed"] or dims
    if x is None:
        x = "lr" if "lr" in candidates else candidates[0]
    if y is None:
        rest = [d for d in candidates if d != x]
        y = rest[0] if rest else None
    for name, axis in (("x", x), ("y", y)):
        if axis is not None and axis not in dims:
            raise ValueError(f"{name} must be a swept field ({', '.join(dims)}), got {axis!r}")
    if x == y:
        raise ValueError(f"x and y must differ, got {x!r} for both")
    keep = [d for d in (y, x) if d is not None]
    frac = summary.fractions(over=[d for d in dims if d not in keep])
    fig = Figure(figsize=(4.2 * len(metrics) + 0.6, 3.6), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    images = []
    for ax, metric in zip(axes, metrics, strict=True):
        values = frac[metric].transpose(*keep).values
        values = values.reshape(-1, values.shape[-1])
        image = ax.imshow(
            values,
            origin="lower",
            aspect="auto",
            vmin=0.0,
            vmax=1.0,
            cmap="viridis",
            interpolation="nearest",
        )
        images.append(image)
        xs = summary.cells[x].values
        ax.set_xticks(range(len(xs)), [_label(v) for v in xs], rotation=45, ha="right")
        ax.set_xlabel(x)
        if y is not None:
            ys = summary.cells[y].values
            ax.set_yticks(range(len(ys)), [_label(v) for v in ys])
            ax.set_ylabel(y)
        else:
            ax.set_yticks([])
        if values.size <= 225:
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    ax.text(
                        j,
                        i,
                        f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if v < 0.6 else "black",
                    )
        ax.set_title("fraction " + METRICS[metric].format(**summary.criteria), fontsize=8)
    fig.colorbar(images[-1], ax=list(axes), shrink=0.9, label=f"fraction of {int(frac.n)} networks")
    return fig
