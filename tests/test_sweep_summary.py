"""Sweep summaries on constructed loss and accuracy curves whose outcomes are known."""

import io

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ghostlearn.sweep import plot_phase_diagram, summarize

E = 100  # epochs


def curves(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy) over E epochs for a network that ``kind``."""
    e = np.arange(E, dtype=float)
    if kind == "learns":  # drops below 1e-2 of the start at epoch 30 and stays there
        loss = np.where(e < 30, 1.0, 1e-3)
        acc = np.where(e < 30, 0.5, 1.0)
    elif kind == "plateau":  # never learns: accuracy stays 0.5
        loss = np.full(E, 1.0)
        acc = np.full(E, 0.5)
    elif kind == "stuck":  # learns at 20, leaves at 40 for good (no-learning zone)
        loss = np.where((e >= 20) & (e < 40), 5e-3, 0.9)
        acc = np.where((e >= 20) & (e < 40), 1.0, 0.5)
    elif kind == "diverged":  # frozen (NaN) from epoch 60
        loss = np.where(e < 60, 1.0, np.nan)
        acc = np.where(e < 60, 0.5, np.nan)
    return loss, acc


# lr x c x seed; per (lr, c) the four seeds get these outcomes.
LAYOUT = {
    (0.01, 1.0): ["learns", "learns", "learns", "plateau"],
    (0.01, 10.0): ["plateau", "plateau", "plateau", "plateau"],
    (0.1, 1.0): ["learns", "stuck", "stuck", "diverged"],
    (0.1, 10.0): ["stuck", "stuck", "stuck", "stuck"],
}


def dataset() -> xr.Dataset:
    loss = np.empty((2, 2, 4, E))
    acc = np.empty((2, 2, 4, E))
    for (lr, c), kinds in LAYOUT.items():
        i, j = [0.01, 0.1].index(lr), [1.0, 10.0].index(c)
        for s, kind in enumerate(kinds):
            loss[i, j, s], acc[i, j, s] = curves(kind)
    dims = ("lr", "c", "seed", "epoch")
    coords = {"lr": [0.01, 0.1], "c": [1.0, 10.0], "seed": [0, 1, 2, 3], "epoch": np.arange(E)}
    return xr.Dataset({"loss": (dims, loss), "accuracy": (dims, acc)}, coords=coords)


def test_outcomes_per_cell_and_fractions():
    s = summarize(dataset())
    c = s.cells
    assert c.learned.dims == ("lr", "c", "seed")
    kinds = np.array([LAYOUT[k] for k in LAYOUT]).reshape(2, 2, 4)
    np.testing.assert_array_equal(c.learned, kinds == "learns")
    np.testing.assert_array_equal(c.learned_acc, (kinds == "learns") | (kinds == "stuck"))
    np.testing.assert_array_equal(c.stuck, kinds == "stuck")
    expected = np.where(kinds == "learns", 30.0, np.where(kinds == "stuck", 20.0, np.nan))
    np.testing.assert_array_equal(c.epochs_to_learn, expected)
    np.testing.assert_array_equal(c.final_loss.sel(lr=0.01, c=1.0, seed=0), 1e-3)
    f = s.fractions("seed")
    np.testing.assert_array_equal(f.learned, [[0.75, 0.0], [0.25, 0.0]])
    np.testing.assert_array_equal(f.stuck, [[0.0, 0.0], [0.5, 1.0]])
    assert int(f.n) == 4
    with pytest.raises(ValueError, match="rank is not a swept field"):
        s.fractions("rank")


def test_tidy_csv_has_one_row_per_cell():
    s = summarize(dataset())
    table = pd.read_csv(io.StringIO(s.to_csv()))
    assert len(table) == 16
    assert list(table.columns[:3]) == ["lr", "c", "seed"]
    row = table[(table.lr == 0.1) & (table.c == 1.0) & (table.seed == 1)].iloc[0]
    assert bool(row.stuck) and not bool(row.learned) and row.epochs_to_learn == 20


def test_runs_of_different_lengths_are_judged_on_their_own_epochs():
    # 'epochs' swept: the short run (60 epochs) is padded with NaN up to 100.
    loss, acc = curves("learns")
    short = np.where(np.arange(E) < 60, loss, np.nan)
    dims = ("epochs", "seed", "epoch")
    ds = xr.Dataset(
        {
            "loss": (dims, np.stack([short, loss])[:, None]),
            "accuracy": (dims, np.stack([np.where(np.arange(E) < 60, acc, np.nan), acc])[:, None]),
        },
        coords={"epochs": [60, 100], "seed": [0], "epoch": np.arange(E)},
    )
    s = summarize(ds)
    np.testing.assert_array_equal(s.cells.learned.values, [[True], [True]])
    np.testing.assert_array_equal(s.cells.final_loss.values, [[1e-3], [1e-3]])


def test_phase_diagram_draws_the_fractions():
    s = summarize(dataset())
    fig = plot_phase_diagram(s)  # x = lr, y = c, averaged over seed
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2
    assert panels[0].get_xlabel() == "lr" and panels[0].get_ylabel() == "c"
    f = s.fractions("seed")
    np.testing.assert_array_equal(panels[0].images[0].get_array(), f.learned.transpose("c", "lr"))
    np.testing.assert_array_equal(panels[1].images[0].get_array(), f.stuck.transpose("c", "lr"))
    one = plot_phase_diagram(s, x="c", y="lr", metrics=["learned_acc"])
    assert len([ax for ax in one.axes if ax.images]) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": "rank"}, r"x must be a swept field \(lr, c, seed\), got 'rank'"),
        ({"x": "lr", "y": "lr"}, "x and y must differ"),
        ({"metrics": ["fast"]}, "metric must be one of"),
    ],
)
def test_phase_diagram_bad_axes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_phase_diagram(summarize(dataset()), **kwargs)


def test_summarize_bad_input():
    with pytest.raises(ValueError, match="loss_ratio must be > 0, got -1"):
        summarize(dataset(), loss_ratio=-1)
    with pytest.raises(ValueError, match="the sweep data needs accuracy over epoch"):
        summarize(dataset().drop_vars("accuracy"))
