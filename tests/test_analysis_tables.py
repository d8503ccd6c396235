"""Analysis results as a user meets them: short reprs, tables per network and per snapshot."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ghostlearn.analysis import PopulationAnalysis, RunAnalysis, analyze_dataset, analyze_run
from ghostlearn.analysis.run import _SUMMARY_COLUMNS
from ghostlearn.rnn import RNNConfig

# f = -k + 2 tanh(2k + b) (N = 1, m = n = 2): three fixed points for |b| < B_FOLD, one
# beyond it, with a ghost just past the fold.
B_FOLD = 2.0 * math.sqrt(3.0) - math.atanh(math.sqrt(3.0) / 2.0)
E, EVERY, SWITCH = 3000, 10, 1500
EPOCHS = np.arange(E, dtype=float)
SNAPS = np.arange(0, E, EVERY, dtype=float)


def _drop_curve(center, decades=2.0, width=8.0):
    return 10 ** (-decades / (1.0 + np.exp(-(EPOCHS - center) / width)))


def _bias(before, after):
    return np.where(SNAPS < SWITCH, before, after)[:, None]


# name -> (bias at the snapshots [S, 1], loss [E], expected verdict)
RUNS = {
    "ghost": (_bias(6.0, B_FOLD + 0.1), _drop_curve(SWITCH + 20), "ghost-mediated"),
    "fold": (_bias(0.0, 3.0), _drop_curve(SWITCH + 20), "bifurcation-mediated"),
    "smooth": (_bias(6.0, 6.0), np.exp(-EPOCHS / 800.0), "no-abrupt-learning"),
}
GRAD = 1e-3 + 0.1 * (EPOCHS > SWITCH)
ONES = np.full((SNAPS.size, 1), 2.0)


def _one(name: str) -> RunAnalysis:
    b, loss, _ = RUNS[name]
    return analyze_run(SNAPS, ONES, ONES, b, loss, GRAD)


def _dataset(names: list[str]) -> xr.Dataset:
    P = len(names)
    data = {
        "snap_m": (("net", "snapshot", "unit"), np.broadcast_to(ONES, (P, *ONES.shape))),
        "snap_n": (("net", "snapshot", "unit"), np.broadcast_to(ONES, (P, *ONES.shape))),
        "snap_b": (("net", "snapshot", "unit"), np.stack([RUNS[k][0] for k in names])),
        "loss": (("net", "epoch"), np.stack([RUNS[k][1] for k in names])),
        "grad_norm": (("net", "epoch"), np.broadcast_to(GRAD, (P, E))),
        "diverged": (("net",), np.zeros(P, bool)),
        "diverged_epoch": (("net",), np.full(P, -1)),
    }
    coords = {
        "net": np.arange(P),
        "epoch": EPOCHS,
        "snapshot": SNAPS,
        "seed": ("net", 10 + np.arange(P)),
        "lr": ("net", np.linspace(0.01, 0.03, P)),
    }
    return xr.Dataset(data, coords=coords, attrs={"model": dataclasses.asdict(RNNConfig(N=1))})


def test_run_repr_is_a_few_lines_with_verdict_drop_and_events():
    ra = _one("ghost")
    text = repr(ra)
    lines = text.splitlines()
    assert 3 <= len(lines) <= 6 and len(text) < 1000
    assert lines[0].startswith(f"RunAnalysis(rank1, {SNAPS.size} snapshots")
    assert "ghost-mediated" in lines[1]
    d = ra.drops[0]
    assert f"epochs {d.onset_epoch:g}-{d.end_epoch:g}" in text
    assert f"first ghost emerges at epoch {ra.ghost_emergence_epoch:g}" in text
    fold = repr(_one("fold"))
    real = sum(b.is_bifurcation for b in _one("fold").bifurcations)
    assert real >= 1 and f"{real} bifurcation(s)" in fold
    assert "drop:    none" in repr(_one("smooth"))


def test_parts_of_a_run_have_short_reprs():
    ra = _one("fold")
    for obj in (ra.points, ra.flow, *ra.fixed_tracks, *ra.ghost_tracks):
        assert len(repr(obj)) < 200, type(obj).__name__
    assert repr(ra.flow) == f"Rank1Flow(batch ({SNAPS.size},), N=1, float64)"
    assert repr(ra.points).startswith(f"FlowPoints(batch ({SNAPS.size},), fixed points 1-3")


def test_summary_row_matches_the_events():
    ra = _one("fold")
    row = ra.summary()
    assert tuple(row) == _SUMMARY_COLUMNS
    real = [b for b in ra.bifurcations if b.is_bifurcation]
    assert row["verdict"] == "bifurcation-mediated"
    assert row["n_bifurcations"] == len(real)
    assert row["first_bifurcation_epoch"] == real[0].epoch_after
    assert row["drop_onset_epoch"] == ra.drops[0].onset_epoch
    assert row["n_snapshots"] == SNAPS.size and row["final_n_fixed"] == ra.n_fixed[-1]
    assert math.isnan(row["final_accuracy"])  # no accuracy was given
    assert math.isnan(_one("smooth").summary()["drop_onset_epoch"])


def test_population_is_a_list_with_a_dataframe_of_one_row_per_network():
    names = ["ghost", "fold", "smooth"]
    pop = analyze_dataset(_dataset(names))
    assert isinstance(pop, PopulationAnalysis) and isinstance(pop, list)
    assert len(pop) == 3 and all(isinstance(r, RunAnalysis) for r in pop)
    assert [r.verdict.label for r in pop] == [RUNS[k][2] for k in names]
    assert repr(pop).startswith("PopulationAnalysis(3 network(s): ")
    df = pop.to_dataframe()
    assert isinstance(df, pd.DataFrame) and df.index.name == "net"
    assert df.index.tolist() == [0, 1, 2]
    assert list(df.columns) == ["seed", "lr", *_SUMMARY_COLUMNS]
    assert df["seed"].tolist() == [10, 11, 12]
    assert df["verdict"].tolist() == [RUNS[k][2] for k in names]
    for i, r in enumerate(pop):
        assert df.loc[i, "n_drops"] == len(r.drops)
        assert df.loc[i, "max_n_fixed"] == int(r.n_fixed.max())
    # A subset keeps its network labels; a slice keeps the type.
    sub = analyze_dataset(_dataset(names), nets=[2, 0])
    assert sub.to_dataframe().index.tolist() == [2, 0]
    assert sub.to_dataframe()["seed"].tolist() == [12, 10]
    half = pop[1:]
    assert isinstance(half, PopulationAnalysis) and half.coords["seed"].tolist() == [11, 12]
    assert pickle.loads(pickle.dumps(pop)).to_dataframe().equals(df)


def test_run_to_xarray_is_the_snapshot_table():
    ra = _one("ghost")
    ds = ra.to_xarray()
    table = ra.to_dict()["snapshots"]
    assert ds["snapshot"].values.tolist() == SNAPS.tolist()
    for name in ("n_fixed", "n_stable", "n_unstable", "n_half_stable", "n_ghosts"):
        assert ds[name].values.tolist() == table[name]
    depth = ds["min_ghost_depth"].values
    assert [None if np.isnan(v) else v for v in depth] == table["min_ghost_depth"]
    assert ds.attrs["verdict"] == "ghost-mediated"
    for name in ds.variables:
        assert {"long_name", "units"} <= set(ds[name].attrs), name


def test_population_to_xarray_aligns_snapshots_and_survives_netcdf(tmp_path):
    ds = _dataset(["ghost", "fold"])
    ds["diverged"][1] = True
    ds["diverged_epoch"][1] = 1800
    ds["loss"][1, 1800:] = np.nan
    pop = analyze_dataset(ds)
    table = pop.to_xarray()
    assert dict(table.sizes) == {"net": 2, "snapshot": SNAPS.size}
    assert table["seed"].values.tolist() == [10, 11]
    assert table["verdict"].values.tolist() == [r.verdict.label for r in pop]
    cut = SNAPS >= 1800  # network 1 has no snapshot there: NaN
    assert np.all(np.isnan(table["n_fixed"].values[1, cut]))
    assert table["n_fixed"].values[0, cut].tolist() == pop[0].n_fixed[cut].tolist()
    assert table["n_fixed"].values[1, ~cut].tolist() == pop[1].n_fixed.tolist()
    path = tmp_path / "table.nc"
    table.to_netcdf(path)
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), table)


def test_population_rejects_bad_input():
    with pytest.raises(ValueError, match="runs must hold RunAnalysis objects, got int at 0"):
        PopulationAnalysis([1])
    with pytest.raises(ValueError, match=r"coords\['seed'\] must have one entry per run \(1\)"):
        PopulationAnalysis([_one("smooth")], coords={"seed": [1, 2]})
    with pytest.raises(ValueError, match="no runs to tabulate"):
        PopulationAnalysis().to_xarray()
    empty = PopulationAnalysis().to_dataframe()
    assert len(empty) == 0 and list(empty.columns) == list(_SUMMARY_COLUMNS)
