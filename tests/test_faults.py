"""Fault injection, part 1: malformed input, oversized requests, damaged train stores.

Every case is a promise: one line naming the argument or file and the value, exit status 2
and no traceback on the command line (a ValueError naming the argument in the API); damage
is reported, never summarised as data. The sweep's faults (kill -9, concurrent writers,
damaged batches, orphaned workers) are in ``test_faults_sweep.py``.
"""

import importlib
import json
import math
import pkgutil
import shutil
import types

import numpy as np
import pytest
import zarr
from typer.testing import CliRunner

import ghostlearn as gl
from ghostlearn.cli import app
from ghostlearn.report import build_report
from ghostlearn.store import open_zarr, write_zarr

runner = CliRunner()

TINY = gl.RNNConfig(N=8, T=20.0)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Malformed inputs of every kind, and one good training store with snapshots."""
    d = tmp_path_factory.mktemp("faults")
    r = np.random.default_rng(0)
    (d / "empty.npz").write_bytes(b"")
    (d / "text.npz").write_text("hello, I am not numpy\n")
    np.savez(d / "noarrays.npz")
    np.savez(d / "bad_n.npz", m=np.zeros((5, 17)), n=np.zeros((5, 5)), b=np.zeros((5, 17)))
    strings = np.array([["a"] * 4] * 3)
    np.savez(d / "strings.npz", m=strings, n=strings, b=strings)
    three = np.zeros((5, 4, 2))
    np.savez(d / "three_d.npz", m=three, n=three, b=three)
    m, n = r.normal(size=(5, 8)), r.normal(size=(5, 8))
    np.savez(d / "short_loss.npz", m=m, n=n, b=np.zeros((5, 8)), loss=np.ones(3))
    foreign = zarr.open_group(str(d / "foreign.zarr"), mode="w")
    foreign.create_array("x", shape=(3,), dtype="i4")[:] = [1, 2, 3]
    (d / "huge_grid.toml").write_text(
        "[train]\nepochs = 10\n[grid]\nlr = {logspace = [-3, 0, 1000]}\n"
        "c = {linspace = [1, 10, 1000]}\nseed = {range = [0, 1000]}\n"
    )
    (d / "huge_seeds.toml").write_text(
        '[train]\nepochs = 10\nlr = 0.02\n[grid]\nseed = "0-999999999"\n'
    )
    (d / "seed_2_64.toml").write_text(
        "[train]\nepochs = 10\nlr = 0.02\n[grid]\nseed = [18446744073709551616]\n"
    )
    (d / "big_batch.toml").write_text(
        "[sweep]\nbatch_size = 100000\n[model]\nN = 8\n[train]\nepochs = 100000\nlr = 0.02\n"
        '[grid]\nseed = "0-99999"\n'
    )
    (d / "tiny.toml").write_text(
        "[model]\nN = 8\nT = 20.0\n[train]\nepochs = 5\n[grid]\nlr = [0.1]\n"
    )
    ds = gl.train(TINY, seeds=[0, 1], lr=0.05, epochs=40, snapshot_every=10)
    (d / "run").mkdir()
    write_zarr(ds, d / "run" / "train.zarr")
    return d


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


# --------------------------------------------------------------------------- the census

# (arguments with {d} for the fixture folder, fragment the one-line message must hold)
CENSUS = [
    (["train", "--out", "{d}/o", "--seeds", "99999999999999999999"], "64-bit integers"),
    (["train", "--out", "{d}/o", "--seeds", "-1"], "seeds must be in 0..2**63-1, got -1"),
    (["train", "--out", "{d}/o", "--snapshot-every", "99999999999"], "snapshot_every must be <"),
    (
        ["train", "--out", "{d}/o", "--seeds", "0-999999999"],
        "1,000,000,000 networks, above the limit of 10,000,000",
    ),
    (
        ["train", "--out", "{d}/o", "--lr", "logspace(-3,0,1000000000)"],
        "above the limit of 10,000,000",
    ),
    (["train", "--out", "{d}/o", "--seeds", "0-100000000"], "100,000,001 networks"),
    (["train", "--out", "{d}/o", "--N", "1000000000", "--max-memory", "4GB"], "N=1000000000"),
    (
        [
            "train",
            "--out",
            "{d}/o",
            "--seeds",
            "0-999",
            "--epochs",
            "1000000",
            "--max-memory",
            "1GB",
        ],
        "above the limit of 1.0 GB",
    ),
    (["train", "--out", "{d}/o", "--max-memory", "lots"], "max_memory must be a size"),
    (["train", "--out", "{d}/o", "--max-networks", "0"], "--max-networks must be >= 1"),
    (["analyze", "{d}/empty.npz"], "empty.npz is empty (0 bytes)"),
    (["report", "{d}/empty.npz"], "empty.npz is empty (0 bytes)"),
    (["animate", "{d}/empty.npz"], "empty.npz is empty (0 bytes)"),
    (["analyze", "{d}/text.npz"], "text.npz is not a NumPy .npz or .npy file"),
    (["report", "{d}/text.npz"], "text.npz is not a NumPy .npz or .npy file"),
    (["analyze", "{d}/noarrays.npz"], "holds no arrays"),
    (["analyze", "{d}/bad_n.npz"], "array n must have shape [S, N] with N = 17"),
    (["analyze", "{d}/strings.npz"], "array m must hold numbers, got dtype <U1"),
    (["analyze", "{d}/three_d.npz"], "array m must have shape [S, N], got (5, 4, 2)"),
    (
        ["analyze", "{d}/short_loss.npz"],
        "loss covers epochs 0..2 but the snapshots span epochs 0..4",
    ),
    (["analyze", "{d}/foreign.zarr"], "cannot read the zarr store"),
    (["report", "{d}/foreign.zarr"], "foreign.zarr"),
    (["analyze", "{d}/run", "--c", "-1"], "--c must be a finite number > 0, got -1.0"),
    (
        ["analyze", "{d}/run", "--flow-epochs", "0,99999"],
        "--flow-epochs must lie within the run's snapshot epochs 0..30, got 99999",
    ),
    (["analyze", "{d}/run", "--net", "7"], "--net must be in 0..1, got 7"),
    (["report", "{d}/run", "--nets", "0-999999999"], "above the limit of 100,000"),
    (["toy", "critical-lr", "--T", "1e300"], "T must give a critical learning rate"),
    (["toy", "critical-lr", "--T", "-1"], "T must be > 0"),
    (
        ["sweep", "plan", "--no-estimate", "{d}/huge_grid.toml"],
        "1,000,000,000 networks, above the limit of 10,000,000",
    ),
    (["sweep", "plan", "--no-estimate", "{d}/huge_seeds.toml"], "seed (1,000,000,000)"),
    (
        ["sweep", "plan", "--no-estimate", "{d}/seed_2_64.toml"],
        "grid seed must be a 64-bit integer",
    ),
    (
        ["sweep", "run", "{d}/big_batch.toml", "--out", "{d}/big.sweep", "--max-memory", "1GB"],
        "sweep batch b00000 (100,000 networks x 100,000 epochs)",
    ),
    (
        ["sweep", "run", "{d}/tiny.toml", "--out", "{d}/t.sweep", "--retries", "-1"],
        "--retries must be >= 0, got -1",
    ),
    (
        ["sweep", "run", "{d}/tiny.toml", "--out", "{d}/t.sweep", "--max-networks", "0"],
        "--max-networks must be >= 1",
    ),
    (["sweep", "status", "{d}/foreign.zarr"], "is not a ghostlearn sweep store"),
    (["sweep", "verify", "{d}/nowhere"], "no sweep store at"),
]


@pytest.mark.parametrize(
    ("args", "fragment"), CENSUS, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_malformed_command_lines_get_one_named_line_and_exit_2(files, args, fragment):
    result = cli(*(a.replace("{d}", str(files)) for a in args))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Aborted" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert fragment in errors[0], errors[0]


def test_oversized_requests_allocate_nothing(files):
    """Refused before any output is written: no store, no folder."""
    assert not (files / "big.sweep").exists()
    assert not (files / "o").exists() or not any((files / "o").iterdir())


def test_memory_cap_from_the_environment(files, monkeypatch):
    monkeypatch.setenv("GHOSTLEARN_MAX_MEMORY", "10MB")
    with pytest.raises(ValueError, match=r"above the limit of 10.0 MB \(GHOSTLEARN_MAX_MEMORY\)"):
        gl.train(TINY, seeds=range(1000), lr=0.1, epochs=10_000)
    with pytest.raises(ValueError, match="grid of 1,000,000 x 1,000 = 1,000,000,000 networks"):
        gl.grid(seeds=range(10**6), lr=np.linspace(0.1, 1, 1000))


def test_analyze_help_shows_the_shapes():
    result = cli("analyze", "--help")
    assert "[snapshots, N]" in result.output and "[S, K, N]" in result.output


def test_analyze_accepts_the_run_folder(files, tmp_path):
    result = cli("analyze", files / "run", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "analysis.json").is_file()


# --------------------------------------------------------------------------- the API

API = [
    (lambda: gl.grid(seeds=-1), "seeds must be in 0..2\\*\\*63-1, got -1"),
    (lambda: gl.grid(seeds=0, lr=[math.nan]), "lr must be finite"),
    (lambda: gl.grid(seeds=0, lr="0.02"), "lr must be a number or numbers, got '0.02'"),
    (lambda: gl.grid(seeds=0, c=[-1.0]), "c must be > 0, got -1.0"),
    (lambda: gl.train(TINY, seeds=0, lr="0.02", epochs=2), "lr must be a number"),
    (lambda: gl.train(TINY, seeds=0, lr=[0.1, "x"], epochs=2), "lr must be a number"),
    (lambda: gl.train(TINY, seeds=-1, lr=0.1, epochs=2), "seeds must be in 0..2"),
    (lambda: gl.train(TINY, seeds=2**70, lr=0.1, epochs=2), "seeds must be in 0..2"),
    (lambda: gl.train(TINY, seeds=0, lr=math.nan, epochs=2), "lr must be finite"),
    (
        lambda: gl.train(TINY, seeds=0, lr=0.1, epochs=2, snapshot_every=2**40),
        "snapshot_every must be <",
    ),
    (
        lambda: gl.train(TINY, seeds=0, lr=0.1, epochs=2, max_memory="1kB"),
        "above the limit of 1.0 kB",
    ),
    (
        lambda: gl.train(gl.RNNConfig(N=10**9), seeds=0, lr=0.1, epochs=2, max_memory="8GB"),
        "N=1000000000",
    ),
    (lambda: gl.find_critical_lr(100.0, r0=-1), "r0 must be > r\\*/4"),
    (lambda: gl.find_critical_lr(1e300), "T must give a critical learning rate"),
    (lambda: gl.analyze_dataset(None), "ds must be an xarray.Dataset"),
    (
        lambda: gl.sweep_spec_parse({"train": {"epochs": 1, "lr": 0.1}, "grid": {"seed": [2**64]}}),
        "64-bit",
    ),
    (
        lambda: gl.sweep_spec_parse(
            {"train": {"epochs": 1, "lr": 0.1}, "grid": {"seed": "0-999999999"}}
        ),
        "above the limit of 10,000,000",
    ),
]


@pytest.fixture(autouse=True, scope="module")
def _spec_parser():
    from ghostlearn.sweep import parse_spec

    gl.sweep_spec_parse = parse_spec  # a short name for the table above
    yield
    del gl.sweep_spec_parse


@pytest.mark.parametrize(("call", "message"), API)
def test_api_applies_the_command_line_rules(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_analyze_dataset_checks_its_settings(files):
    ds = open_zarr(files / "run" / "train.zarr")
    with pytest.raises(ValueError, match="n_starts must be >= 1, got 0"):
        gl.analyze_dataset(ds, n_starts=0)
    with pytest.raises(ValueError, match="seed must be in 0..2"):
        gl.analyze_dataset(ds, seed=-1)


# --------------------------------------------------------------------------- the lazy-import trap


def test_public_names_stay_what_they_are_after_every_import():
    before = {name: getattr(gl, name) for name in gl.__all__}
    for info in pkgutil.walk_packages(gl.__path__, "ghostlearn."):
        importlib.import_module(info.name)
    import ghostlearn.train  # noqa: F401 - the submodule named like the function

    for name in gl.__all__:
        first, second = getattr(gl, name), getattr(gl, name)
        assert first is second is before[name], name
        assert not isinstance(first, types.ModuleType), name
    from ghostlearn import train

    assert train is gl.train and callable(train)


def test_calling_train_twice_works():
    """The README's example, twice: the second call must not meet a module."""
    a = gl.train(TINY, gl.grid(seeds=[0, 1], lr=0.05), epochs=3)
    b = gl.train(TINY, gl.grid(seeds=[0, 1], lr=0.05), epochs=3)
    assert a.loss.values.tobytes() == b.loss.values.tobytes()
    assert gl.optimal_r(100.0) == gl.optimal_r(100.0)


# --------------------------------------------------------------------------- damaged train stores


def _chunk(store, var):
    chunks = sorted(p for p in (store / var).iterdir() if not p.name.startswith("."))
    assert chunks, f"no chunk of {var}"
    return chunks[0]


@pytest.mark.parametrize("damage", ["deleted", "truncated", "garbled"])
@pytest.mark.parametrize("command", ["report", "analyze", "animate"])
def test_damaged_train_store_is_named_not_summarised(files, tmp_path, damage, command):
    run = tmp_path / "run"
    shutil.copytree(files / "run", run)
    store = run / "train.zarr"
    var = "loss" if damage == "deleted" else "snap_m"
    chunk = _chunk(store, var)
    if damage == "deleted":
        chunk.unlink()
    elif damage == "truncated":
        chunk.write_bytes(chunk.read_bytes()[:10])
    else:
        raw = bytearray(chunk.read_bytes())
        raw[-1] ^= 0xFF
        chunk.write_bytes(bytes(raw))
    args = [command, run] + (["--out", tmp_path / "x.gif"] if command == "animate" else [])
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"variable {var!r}" in result.output and "damaged" in result.output, result.output


def test_intact_train_store_reads_back_identically(files):
    ds = gl.train(TINY, seeds=[0, 1], lr=0.05, epochs=40, snapshot_every=10)
    back = open_zarr(files / "run" / "train.zarr")
    for name in ds.variables:
        assert np.array_equal(ds[name].values, back[name].values, equal_nan=True), name
    assert "ghostlearn_checksums" not in back.attrs


def test_report_data_cannot_be_replaced_by_store_text(files, tmp_path):
    """A path and an attribute holding slot names and a script end tag stay text."""
    ds = open_zarr(files / "run" / "train.zarr")
    ds.attrs["note"] = "{{PAYLOAD}} {{TOP}} </script><script>alert(1)</script>"
    folder = tmp_path / "{{PAYLOAD}}{{BOTTOM}}"
    write_zarr(ds, folder / "train.zarr")
    page = build_report(folder / "train.zarr")
    assert "{{PAYLOAD}}{{BOTTOM}}" in page  # the path, shown as text
    assert page.count('id="gl-payload">') == 1
    start = page.index('id="gl-payload">') + len('id="gl-payload">')
    data = json.loads(page[start : page.index("</script>", start)])
    assert data["runs"], "the payload parses and holds the run"
    assert "<script>alert(1)" not in page
