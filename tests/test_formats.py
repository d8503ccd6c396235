"""Standard formats: every zarr store ghostlearn writes opens with plain xarray without a
warning, has consolidated metadata and CF-style attributes, and round-trips through netCDF;
stores written before (zarr v3, plain-dict attributes) still open."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr

from ghostlearn.experiments import run_experiment
from ghostlearn.rnn import RNNConfig
from ghostlearn.store import (
    JSON_SUFFIX,
    ZARR_FORMAT,
    decode_attrs,
    encode_attrs,
    open_tree,
    open_zarr,
    write_zarr,
)
from ghostlearn.sweep import open_sweep, parse_spec, run_sweep
from ghostlearn.train import model_from_dataset, params_from_dataset, train

CFG = RNNConfig(N=8, T=20.0)


@pytest.fixture(scope="module")
def trained():
    return train(CFG, seeds=[0, 1], lr=0.05, c=10.0, epochs=6, snapshot_every=3)


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory):
    spec = parse_spec(
        {
            "sweep": {"name": "formats", "batch_size": 2},
            "model": {"N": 8, "T": 20.0},
            "train": {"epochs": 6, "lr": 0.05},
            "grid": {"seed": "0-3"},
        }
    )
    path = tmp_path_factory.mktemp("sweep") / "s.zarr"
    run_sweep(spec, path)
    return path


def strictly(fn, *args, **kwargs):
    """Call ``fn`` with every warning raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def netcdf_round_trip(ds: xr.Dataset, path) -> None:
    ds = ds.load()
    ds.to_netcdf(path)
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), ds)


def assert_cf(ds: xr.Dataset) -> None:
    for name, var in ds.variables.items():
        assert var.attrs.get("long_name"), name
        assert "units" in var.attrs, name


def test_training_store_opens_plainly_and_round_trips_through_netcdf(trained, tmp_path):
    path = write_zarr(trained, tmp_path / "train.zarr")
    assert (path / ".zmetadata").is_file() and (path / ".zgroup").is_file()  # zarr v2
    assert ZARR_FORMAT == 2
    ds = strictly(xr.open_zarr, path)
    assert_cf(ds)  # epoch, unit, net, seed, lr, c, snapshots and parameters included
    assert ds["epoch"].attrs["long_name"] == "training epoch"
    assert ds["snap_m"].attrs["units"] == "1"
    # Structured attributes are JSON text under <name>_json; plain ones stay as they are.
    assert json.loads(ds.attrs[f"model{JSON_SUFFIX}"]) == trained.attrs["model"]
    assert ds.attrs["ghostlearn_version"] == trained.attrs["ghostlearn_version"]
    netcdf_round_trip(ds, tmp_path / "train.nc")


def test_ghostlearn_readers_decode_what_plain_xarray_sees_as_text(trained, tmp_path):
    path = write_zarr(trained, tmp_path / "train.zarr")
    back = strictly(open_zarr, path)
    assert back.attrs["model"] == trained.attrs["model"]
    assert back.attrs["train"] == trained.attrs["train"]
    assert model_from_dataset(back) == CFG
    np.testing.assert_array_equal(
        params_from_dataset(back, snapshot=3)["m"], params_from_dataset(trained, snapshot=3)["m"]
    )


def test_encode_attrs_makes_an_in_memory_result_netcdf_ready(trained, tmp_path):
    with pytest.raises((TypeError, ValueError)):
        trained.to_netcdf(tmp_path / "raw.nc")  # dict attributes: not netCDF
    ready = encode_attrs(trained)
    netcdf_round_trip(ready, tmp_path / "ready.nc")
    assert (
        decode_attrs(xr.open_dataset(tmp_path / "ready.nc")).attrs["model"]
        == (trained.attrs["model"])
    )


def test_structured_attributes_of_every_kind_survive(tmp_path):
    attrs = {"d": {"a": [1, None]}, "flag": True, "none": None, "one": [5], "s": "text", "x": 2.5}
    ds = xr.Dataset(
        {"v": ("k", np.arange(3.0), {"bracket": [0, 10]})}, coords={"k": [0, 1, 2]}, attrs=attrs
    )
    path = write_zarr(ds, tmp_path / "a.zarr")
    raw = strictly(xr.open_zarr, path)
    assert raw.attrs["s"] == "text" and raw.attrs["x"] == 2.5
    assert raw.attrs["one_json"] == "[5]" and raw.attrs["flag_json"] == "true"
    netcdf_round_trip(raw, tmp_path / "a.nc")
    back = open_zarr(path)
    assert back.attrs == attrs and back["v"].attrs["bracket"] == [0, 10]
    assert back["k"].attrs["long_name"] == "rank index of the low-rank connectivity"


def test_datatree_store_opens_plainly_by_group_and_whole(trained, tmp_path):
    tree = xr.DataTree.from_dict({"A": trained, "B": trained.isel(net=[1])})
    tree.attrs["notes"] = {"shown": [0, 1]}
    path = write_zarr(tree, tmp_path / "data.zarr")
    whole = strictly(xr.open_datatree, path, engine="zarr")
    assert set(whole.children) == {"A", "B"}
    b = strictly(xr.open_zarr, path, group="B")
    netcdf_round_trip(b, tmp_path / "b.nc")
    assert open_tree(path).attrs["notes"] == {"shown": [0, 1]}
    assert open_zarr(path, group="A").attrs["model"] == trained.attrs["model"]


def test_an_experiment_store_opens_plainly(tmp_path):
    run_experiment("fig1", tmp_path)
    path = tmp_path / "fig1" / "data.zarr"
    ds = strictly(xr.open_zarr, path)
    for var in ds.variables.values():
        assert var.attrs.get("long_name")
    assert isinstance(json.loads(ds.attrs["config_json"]), dict)
    netcdf_round_trip(ds, tmp_path / "fig1.nc")
    assert isinstance(open_zarr(path).attrs["config"], dict)


def test_sweep_store_opens_plainly_root_batches_and_tree(sweep_store, tmp_path):
    root = strictly(xr.open_zarr, sweep_store)
    record = json.loads(root.attrs["ghostlearn_sweep_json"])
    assert record["spec"]["sweep"]["name"] == "formats"
    batch = strictly(xr.open_zarr, sweep_store, group="batches/b00000")
    assert_cf(batch)
    netcdf_round_trip(batch, tmp_path / "batch.nc")
    tree = strictly(xr.open_datatree, sweep_store, engine="zarr")
    assert set(tree["batches"].children) == {"b00000", "b00001"}
    assert open_sweep(sweep_store).sizes["seed"] == 4


def test_stores_written_before_still_open(trained, tmp_path):
    # The earlier layout: zarr v3, no consolidated metadata, dicts in the attributes.
    old = trained.copy()
    old.attrs = json.loads(json.dumps(old.attrs))
    old.to_zarr(tmp_path / "old.zarr", mode="w", consolidated=False, zarr_format=3)
    back = strictly(open_zarr, tmp_path / "old.zarr")
    assert back.attrs["model"] == trained.attrs["model"]
    assert model_from_dataset(back) == CFG
    tree = xr.DataTree.from_dict({"A": old})
    tree.to_zarr(tmp_path / "old_tree.zarr", mode="w", consolidated=False, zarr_format=3)
    assert (
        strictly(open_tree, tmp_path / "old_tree.zarr")["A"].attrs["model"]
        == (trained.attrs["model"])
    )
