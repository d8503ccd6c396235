"""The report reads user checkpoints through :mod:`ghostlearn.checkpoints`' one reader.

What the report shows of an ``.npz`` or ``.safetensors`` checkpoint is what
``read_checkpoint`` reads (bit for bit), scored by ``task_metrics`` and analysed like
``ghostlearn analyze`` does; a bad file gets the reader's one line.
"""

import numpy as np
import pytest
from typer.testing import CliRunner

from ghostlearn.checkpoints import (
    NOT_DETERMINABLE,
    analyze_checkpoint,
    read_checkpoint,
    task_metrics,
)
from ghostlearn.cli import app
from ghostlearn.report import ReportOptions, load_source
from ghostlearn.report.payload import PLANE_CODES, run_payload

S, N, K = 4, 6, 2
EPOCHS = np.array([0, 100, 200, 300])


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _weights(kind, seed=0):
    r = np.random.default_rng(seed)

    def draw(*shape, scale=1.0):
        return (scale * r.standard_normal((S, *shape)) / np.sqrt(N)).astype(np.float32)

    if kind == "rank1":
        return {"m": draw(N, scale=4.0), "n": draw(N), "b": draw(N, scale=0.3)}
    return {"M": draw(N, K, scale=4.0), "Nmat": draw(K, N), "b": draw(N, scale=0.3)}


def _save(path, arrays):
    if path.suffix == ".npz":
        np.savez(path, **arrays)
    else:
        st = pytest.importorskip("safetensors.numpy")
        st.save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))
    return path


def _n_fixed(snap):
    """Fixed points per snapshot in a network payload (rank one or a portrait)."""
    if snap.get("plane"):
        return [sum(p[2] != PLANE_CODES["ghost"] for p in row) for row in snap["points"]]
    return [len(row) for row in snap["fixed"]]


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize("kind", ["rank1", "lowrank"])
def test_report_opens_a_checkpoint_through_the_reader(tmp_path, kind, suffix):
    loss = np.array([0.9, 0.8, 0.3, 0.01])
    path = _save(tmp_path / f"ckpt{suffix}", {**_weights(kind), "epoch": EPOCHS, "loss": loss})
    ckpt = read_checkpoint(path)
    src = load_source(path)
    assert src.kind == "training" and len(src.runs) == 1
    ds = src.runs[0].ds
    if kind == "rank1":
        for name in "mnb":
            assert same_bits(ds[f"snap_{name}"].values[0], ckpt.arrays[name]), name
    else:
        for name, v in zip(("M", "Nmat", "b"), ckpt.latent_weights(), strict=True):
            assert same_bits(ds[f"snap_{name}"].values[0], v), name
    np.testing.assert_array_equal(ds["snapshot"].values, EPOCHS)
    # A loss per snapshot is at the snapshots' epochs.
    np.testing.assert_array_equal(ds["epoch"].values, EPOCHS)
    np.testing.assert_array_equal(ds["loss"].values[0], loss)

    net = run_payload(src.runs[0], ReportOptions(max_snapshots=S))["nets"][0]
    snap = net["snap"]
    assert snap["has_flow"] and snap["epoch"] == [float(e) for e in EPOCHS]
    assert bool(snap.get("plane")) == (kind == "lowrank")
    # The points drawn are those `ghostlearn analyze` finds in the same checkpoint.
    analysis = analyze_checkpoint(ckpt)
    assert _n_fixed(snap) == analysis.n_fixed.tolist()
    assert net["verdict"] == analysis.verdict.label


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_mismatched_shapes_get_the_readers_line_naming_the_keys(tmp_path, suffix):
    w = _weights("lowrank")
    w["Nmat"] = np.zeros((S, K, N + 1), np.float32)
    path = _save(tmp_path / f"bad{suffix}", w)
    expected = (
        f"{path}: array Nmat must have shape [S, K, N] with N = {N} (from M {(S, N, K)}), "
        f"got {(S, K, N + 1)}"
    )
    with pytest.raises(ValueError) as err:
        read_checkpoint(path)
    assert str(err.value) == expected
    with pytest.raises(ValueError) as err:
        load_source(path)
    assert str(err.value) == expected
    result = CliRunner().invoke(app, ["report", str(path)])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: {expected}"], result.output


def test_a_checkpoint_without_loss_is_scored_by_task_metrics(tmp_path):
    r = np.random.default_rng(3)
    readout = {"w_out": r.standard_normal((S, N)) / np.sqrt(N), "b_out": np.zeros(S)}
    path = _save(tmp_path / "scored.npz", {**_weights("lowrank"), **readout, "D": np.array(0.25)})
    ckpt = read_checkpoint(path)
    ds = load_source(path).runs[0].ds
    expected = task_metrics(ckpt)
    np.testing.assert_array_equal(ds["loss"].values[0], expected["loss"])
    np.testing.assert_array_equal(ds["accuracy"].values[0], expected["accuracy"])
    np.testing.assert_array_equal(ds["epoch"].values, ckpt.epochs)
    assert ds.attrs["model"]["dt"] / ds.attrs["model"]["tau"] == 0.25
    # The readout is drawn: a single readout of the state.
    np.testing.assert_array_equal(ds["snap_w_out"].values[0], readout["w_out"])
    net = run_payload(load_source(path).runs[0])["nets"][0]
    assert net["snap"]["readout_kind"] == "state"


def test_a_network_with_inputs_and_no_loss_is_drawn_without_curves(tmp_path):
    W_in = np.ones((S, N, 2), np.float32)
    path = _save(tmp_path / "inputs.npz", {**_weights("lowrank"), "W_in": W_in})
    src = load_source(path)
    assert any("cannot be scored on the delayed-activation task" in n for n in src.notes)
    ds = src.runs[0].ds
    assert "loss" not in ds.variables and ds["snap_W_in"].shape == (1, S, N, 2)
    net = run_payload(src.runs[0])["nets"][0]
    assert net["curves"] == {} and net["snap"]["plane"] and len(net["snap"]["epoch"]) == S
    assert "The flows are drawn without input (u = 0), as in the delay periods." in net["notes"]


def test_a_single_snapshot_is_reported_with_its_points_and_no_verdict(tmp_path):
    one = {k: v[0] for k, v in _weights("lowrank", seed=5).items()}
    path = _save(tmp_path / "one.npz", {**one, "loss": np.array(0.2)})
    net = run_payload(load_source(path).runs[0])["nets"][0]
    analysis = analyze_checkpoint(read_checkpoint(path))
    assert net["verdict"] == NOT_DETERMINABLE == analysis.verdict.label
    assert net["reason"].startswith("too few epochs to look for drops")
    assert net["snap"]["epoch"] == [0.0] and net["events"] == []
    assert _n_fixed(net["snap"]) == analysis.n_fixed.tolist() and analysis.n_fixed[0] >= 1
