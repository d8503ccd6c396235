"""`ghostlearn train` and `ghostlearn analyze` end to end on tiny runs, and their bad input."""

import json
import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

from ghostlearn.cli import app
from ghostlearn.store import open_zarr

runner = CliRunner()
TINY = ["--N", "8", "--epochs", "30", "--snapshot-every", "10"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train")
    result = runner.invoke(
        app, ["train", "--seeds", "0-2", "--lr", "0.02,0.05", "--c", "10", "--out", str(out), *TINY]
    )
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_store_with_population_coords(trained):
    ds = open_zarr(trained / "train.zarr")
    assert ds.sizes["net"] == 6 and ds.sizes["epoch"] == 30
    np.testing.assert_array_equal(ds.seed, [0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(ds.lr, [0.02, 0.05] * 3)
    np.testing.assert_array_equal(ds.snapshot, [0, 10, 20])
    assert (trained / "training.png").stat().st_size > 0


def test_analyze_training_store(trained):
    result = runner.invoke(app, ["analyze", str(trained / "train.zarr"), "--net", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads((trained / "analysis.json").read_text())
    assert len(report["runs"]) == 6
    assert sum(report["verdict_counts"].values()) == 6
    assert report["runs"][1]["lr"] == pytest.approx(0.05)
    assert report["runs"][0]["snapshots"]["epoch"] == [0, 10, 20]
    assert (trained / "analysis.png").stat().st_size > 0


def test_analyze_npz_with_and_without_loss(trained, tmp_path):
    ds = open_zarr(trained / "train.zarr")
    arrays = {k: ds[f"snap_{k}"].values[0] for k in ("m", "n", "b")}
    np.savez(tmp_path / "with.npz", **arrays, epoch=ds.snapshot.values, loss=ds.loss.values[0])
    np.savez(tmp_path / "without.npz", **arrays)
    for name in ("with", "without"):
        result = runner.invoke(
            app, ["analyze", str(tmp_path / f"{name}.npz"), "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
        runs = json.loads((tmp_path / name / "analysis.json").read_text())["runs"]
        assert len(runs) == 1 and runs[0]["snapshots"]["n_fixed"] == [1, 1, 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rank", "0"], "rank must be >= 1, got 0"),
        (["--rank", "9"], "rank must be <= N=8, got 9"),
        (["--lr", "-0.1"], "lr must be > 0, got -0.1"),
        (["--epochs", "0"], "epochs must be >= 1, got 0"),
        (["--seeds", "3-x"], "seeds must be integers or ranges like 0-99, got '3-x'"),
        (["--init", "magic"], "init must be one of"),
    ],
)
def test_train_bad_input_one_line_exit_2_nothing_written(tmp_path, args, message):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--out", str(out), *TINY, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_train_a_task_with_inputs(tmp_path):
    out = tmp_path / "dcdt"
    args = ["train", "--task", "dcdt", "--rank", "2", "--N", "8", "--seeds", "0-1"]
    result = runner.invoke(app, [*args, "--lr", "0.001", "--epochs", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    ds = open_zarr(out / "train.zarr")
    assert ds.attrs["task"]["name"] == "dcdt"
    assert ds["W_in"].dims == ("net", "unit", "input") and ds["W_in"].shape == (2, 8, 1)
    assert ds["W_in"].attrs["long_name"] == "input weights"
    # The same command again finds its run; the da run of the same model is another run.
    again = runner.invoke(app, [*args, "--lr", "0.001", "--epochs", "5", "--out", str(out)])
    assert "already holds this run" in again.output
    other = runner.invoke(
        app,
        [
            "train",
            "--rank",
            "2",
            "--N",
            "8",
            "--seeds",
            "0-1",
            "--lr",
            "0.001",
            "--epochs",
            "5",
            "--out",
            str(out),
        ],
    )
    assert other.exit_code == 2 and "is not empty" in other.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "nope"], "task must be one of 'da', 'dcdt', 'dmts', got 'nope'"),
        (["--task", "dcdt", "--c", "3"], "--c sets the confidence of the rank-one readout"),
        (["--task", "dmts", "--rank", "2", "--init", "paper"], "init"),
    ],
)
def test_train_task_bad_input(tmp_path, args, message):
    result = runner.invoke(app, ["train", "--out", str(tmp_path / "r"), *TINY, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_train_out_is_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    result = runner.invoke(app, ["train", "--out", str(f), *TINY])
    assert result.exit_code == 2 and "--out must be a directory" in result.output


def test_analyze_refuses_pickles_and_bad_arrays(tmp_path):
    with open(tmp_path / "run.npz", "wb") as fh:
        pickle.dump({"m": np.zeros((2, 3))}, fh)
    np.savez(tmp_path / "missing.npz", m=np.zeros((2, 3)), b=np.zeros((2, 3)))
    nan = np.zeros((2, 3))
    nan[1, 1] = np.nan
    np.savez(tmp_path / "nan.npz", m=nan, n=np.ones((2, 3)), b=np.zeros((2, 3)))
    cases = {
        "run.npz": "is a pickle file; ghostlearn never loads pickles",
        "missing.npz": "missing array(s) n",
        "nan.npz": "array m must be finite",
        "nope.npz": "PATH does not exist",
    }
    for name, message in cases.items():
        result = runner.invoke(app, ["analyze", str(tmp_path / name)])
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output, (name, result.output)
        assert "Traceback" not in result.output
