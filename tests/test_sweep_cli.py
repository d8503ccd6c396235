"""`ghostlearn sweep plan | run | status | summarize`: output and bad input (exit 2)."""

import json

import pytest
from typer.testing import CliRunner

from ghostlearn.cli import app

runner = CliRunner()

SPEC = """
[sweep]
name = "tiny"
batch_size = 4

[model]
N = 8
T = 20.0

[train]
epochs = 12

[grid]
lr = [0.05, 0.5]
c = [1.0, 10.0]
seed = "0-3"
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SPEC)
    return path


def invoke(*args):
    return runner.invoke(app, ["sweep", *map(str, args)])


def test_plan_counts_cells_and_batches(spec):
    r = invoke("plan", spec, "--no-estimate")
    assert r.exit_code == 0, r.output
    assert "16 cells over lr (2) x c (2) x seed (4)" in r.output
    assert "1 batch group(s)" in r.output and "4 batch(es) of at most 4 networks" in r.output
    assert "memory: about" in r.output and "per worker for the largest batch b00000" in r.output
    r = invoke("plan", spec, "--json", "--no-estimate", "--batch-size", "16")
    out = json.loads(r.output)
    assert (out["cells"], out["batches"], out["net_epochs"]) == (16, 1, 16 * 12)


def test_plan_estimates_the_time(spec):
    r = invoke("plan", spec, "--calibration-epochs", "12", "--workers", "2")
    assert r.exit_code == 0, r.output
    assert "network-epochs/s" in r.output
    assert "estimated time:" in r.output and "on 2 workers" in r.output


def test_run_status_summarize(spec, tmp_path):
    store = tmp_path / "tiny.sweep"
    r = invoke("run", spec, "--out", store)
    assert r.exit_code == 0, r.output
    assert f"sweep complete: 4 batch(es), 16 networks -> {store}" in r.output
    # Counted before training: networks, work, memory and the time.
    assert "16 of 16 networks left in 4 batch(es), 1 group(s), 192 network-epochs" in r.output
    assert "memory: about" in r.output and "estimated time:" in r.output
    r = invoke("status", store)
    assert r.exit_code == 0 and "complete" in r.output and "batches  4/4" in r.output
    status = json.loads(invoke("status", store, "--json").output)
    assert status["complete"] and status["nets_done"] == 16
    r = invoke("summarize", store, "--out", tmp_path / "summary")
    assert r.exit_code == 0, r.output
    assert "16 networks:" in r.output
    names = sorted(p.name for p in (tmp_path / "summary").iterdir())
    assert names == ["phase.pdf", "phase.png", "summary.csv"]
    assert len((tmp_path / "summary" / "summary.csv").read_text().splitlines()) == 17
    # The same command again: nothing left to do.
    r = invoke("run", spec, "--out", store, "--no-estimate")
    assert r.exit_code == 0 and "sweep complete" in r.output
    assert "0 of 16 networks left in 0 batch(es)" in r.output


@pytest.mark.parametrize(
    ("edit", "extra", "message"),
    [
        (("N = 8", "N = 8\nsigma = 1"), [], "unknown field 'sigma' in [model]"),
        (('seed = "0-3"', "seed = []"), [], "grid seed is empty"),
        (("N = 8", 'N = "eight"'), [], "N must be an integer, got 'eight'"),
        (
            ("", ""),
            ["--processes", "2", "--dask-local", "2"],
            "choose one backend, got --processes and --dask-local",
        ),
        (("", ""), ["--scheduler", "localhost"], "scheduler must be an address like tcp://"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, edit, extra, message):
    path = tmp_path / "bad.toml"
    path.write_text(SPEC.replace(*edit))
    r = invoke("run", path, "--out", tmp_path / "s", *extra)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_a_changed_spec_is_refused(spec, tmp_path):
    store = tmp_path / "s"
    assert invoke("run", spec, "--out", store).exit_code == 0
    spec.write_text(SPEC.replace("lr = [0.05, 0.5]", "lr = [0.05, 0.2]"))
    r = invoke("run", spec, "--out", store)
    assert r.exit_code == 2
    assert "spec differs from the store's" in r.output
    assert "lr changed from [0.05, 0.5] to [0.05, 0.2]" in r.output


def test_status_of_something_else(tmp_path):
    r = invoke("status", tmp_path)
    assert r.exit_code == 2 and "is not a sweep store" in r.output
