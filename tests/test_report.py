"""The HTML report and the animation: data reduction, sources, the page, a real browser, GIFs.

Fixtures: a small real training run (two rank-one networks, 300 epochs, snapshots every 10
epochs) and a synthetic one-unit network whose flow ``f(k) = -k + 2 tanh(k + b)`` goes
through a saddle-node as ``b`` rises: with ``a = acosh(sqrt 2)`` the fold is at
``b* = a - sqrt 2`` (two fixed points appear at ``k = sqrt 2``), and below it the ghost
sits at ``k = a - b`` with depth ``|f| = b* - b``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import brentq

from ghostlearn.analysis.run import analyze_dataset
from ghostlearn.report import ReportOptions, animate, build_report, load_source, write_report
from ghostlearn.report.frames import latent_trajectories, snapshot_subset
from ghostlearn.report.payload import (
    choose_networks,
    envelope,
    format_epoch,
    network_name,
    network_payload,
    report_payload,
    run_payload,
)
from ghostlearn.report.sources import ReportSource, TrainingRun
from ghostlearn.rnn import RNNConfig
from ghostlearn.store import write_json, write_zarr

A = math.acosh(math.sqrt(2.0))
B_STAR = A - math.sqrt(2.0)  # about -0.5328
S_SYN = 40  # snapshots of the synthetic run, every 10 epochs
E_SYN = 400


def _b_of(s):
    return -1.5 + 1.5 * np.asarray(s) / (S_SYN - 1)


def _f(k, b):
    return -k + 2.0 * np.tanh(k + b)


def _synthetic(nets: int = 1) -> xr.Dataset:
    """A 'training run' of one-unit rank-one networks crossing a saddle-node."""
    snap = np.arange(S_SYN) * 10
    epochs = np.arange(E_SYN)
    b = _b_of(np.arange(S_SYN))
    m = np.ones((nets, S_SYN, 1))
    n = np.full((nets, S_SYN, 1), 2.0)
    bb = np.broadcast_to(b[None, :, None], (nets, S_SYN, 1))
    # Plateau, then an abrupt drop at epoch 250 (where b has crossed the fold).
    loss = np.where(epochs < 250, 1.0, 0.01 + 0.99 * np.exp(-(epochs - 250) / 3.0))
    acc = np.where(epochs < 255, 0.5, 1.0)
    grad = np.where(epochs < 250, 1e-3, 1e-1)
    rows = lambda v: np.broadcast_to(v, (nets, E_SYN))  # noqa: E731
    return xr.Dataset(
        {
            "loss": (("net", "epoch"), rows(loss)),
            "accuracy": (("net", "epoch"), rows(acc)),
            "grad_norm": (("net", "epoch"), rows(grad)),
            "snap_m": (("net", "snapshot", "unit"), m),
            "snap_n": (("net", "snapshot", "unit"), n),
            "snap_b": (("net", "snapshot", "unit"), bb),
        },
        coords={
            "net": np.arange(nets),
            "seed": ("net", np.arange(nets)),
            "lr": ("net", np.full(nets, 0.02)),
            "c": ("net", np.full(nets, 10.0)),
            "epoch": epochs,
            "snapshot": snap,
        },
        attrs={"model": {"model": "rank1", "N": 1}, "ghostlearn_version": "test"},
    )


def _decode(s: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=dtype)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real (small) training run, and its store written as `ghostlearn train` would."""
    from ghostlearn.rnn import RNNConfig
    from ghostlearn.train import train

    ds = train(RNNConfig(N=20), seeds=[0, 1], lr=0.02, epochs=300, snapshot_every=10)
    folder = tmp_path_factory.mktemp("run")
    write_zarr(ds, folder / "train.zarr")
    return ds, folder


@pytest.fixture(scope="module")
def results(tmp_path_factory, trained):
    """A results folder like `ghostlearn reproduce` writes: summaries, figures, claims, data."""
    from PIL import Image

    ds, _ = trained
    out = tmp_path_factory.mktemp("results")
    for name, colour in (("fig1", (0, 114, 178)), ("fig3", (213, 94, 0))):
        (out / name).mkdir()
        Image.new("RGB", (2400, 300), colour).save(out / name / "figure.png")
        summary = {
            "experiment": name,
            "title": f"Title of {name}",
            "fidelity": "quick",
            "ghostlearn_version": "0.1.0",
            "wall_time_s": 1.5,
            "config": {"seed": 40},
            "claims": [],
        }
        write_json(summary, out / name / "summary.json")
    tree = xr.DataTree.from_dict({"/ghost": _synthetic(), "/real": ds})
    write_zarr(tree, out / "fig3" / "data.zarr")
    claims = [
        {"figure": "fig1", "claim": "no fixed point <for r > 0>", "paper": "none",
         "measured": [0, 0], "reproduced": True, "verdict": "reproduced", "note": "a & b"},
        {"figure": "fig3", "claim": "one fixed point", "paper": 1, "measured": 2,
         "reproduced": False, "verdict": "differs", "note": ""},
    ]  # fmt: skip
    write_json(claims, out / "claims.json")
    return out


# --------------------------------------------------------------------------- reduction


def test_envelope_keeps_every_bucket_extreme_in_order():
    rng = np.random.default_rng(0)
    E, max_points = 6000, 1000
    y = rng.normal(size=E)
    y[3333], y[4444] = 100.0, -100.0
    x = np.arange(E)
    xs, ys = envelope(x, y, max_points)
    assert xs.size <= max_points
    assert np.all(np.diff(xs) > 0)
    np.testing.assert_array_equal(ys, y[xs])
    width = -(-E // (max_points // 2))
    for start in range(0, E, width):
        chunk = y[start : start + width]
        assert start + int(np.argmin(chunk)) in xs
        assert start + int(np.argmax(chunk)) in xs
    short_x, short_y = envelope(x[:50], y[:50], max_points)
    np.testing.assert_array_equal(short_y, y[:50])


def test_envelope_survives_a_nan_tail_and_rejects_bad_input():
    y = np.concatenate([np.linspace(1, 0, 3000), np.full(3000, np.nan)])
    xs, ys = envelope(np.arange(6000), y, 100)
    assert xs.size <= 100 and ys[0] == 1.0 and np.nanmin(ys) == pytest.approx(y[2999])
    with pytest.raises(ValueError, match="max_points must be >= 2, got 1"):
        envelope(np.arange(5), np.arange(5), 1)
    with pytest.raises(ValueError, match="x and y must be 1-D of equal length"):
        envelope(np.arange(5), np.arange(6), 10)


def test_snapshot_subset_spans_the_run_and_keeps_event_snapshots():
    epochs = np.arange(600) * 10
    idx = snapshot_subset(epochs, 150, keep_epochs=[5115.0, 1.0])
    assert idx[0] == 0 and idx[-1] == 599
    assert 512 in idx and 1 in idx  # the first snapshots at or after 5115 and 1
    assert 150 <= idx.size <= 152
    assert np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(snapshot_subset(epochs[:7], 150), np.arange(7))


def test_latent_trajectory_is_n_dot_x_of_the_full_network(trained):
    """The rank-one recursion equals kappa = n . x of the N-dimensional simulation."""
    import jax
    import jax.numpy as jnp

    from ghostlearn.rnn import RNNConfig, simulate

    ds, _ = trained
    cfg = RNNConfig(N=20)
    params = {k: np.asarray(ds[f"snap_{k}"].values[1, -1], np.float64) for k in "mnb"}
    ours = latent_trajectories(**params, cfg=cfg)
    with jax.enable_x64(True):
        ref = simulate({k: jnp.asarray(v) for k, v in params.items()}, cfg, 10.0)
        kappa = np.asarray(ref.kappa)
    assert ours.shape == (cfg.n_steps + 1,)
    np.testing.assert_allclose(ours, kappa, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- payload


@pytest.fixture(scope="module")
def saddle_payload():
    """The payload of the synthetic network, analysed as a report analyses a run."""
    return run_payload(TrainingRun(label="saddle", ds=_synthetic()))["nets"][0]


def test_flow_payload_is_the_closed_form_flow():
    p = network_payload(_synthetic(), 0, options=ReportOptions(n_kappa=57))
    snap = p["snap"]
    assert snap["has_flow"] and snap["epoch"] == [float(e) for e in np.arange(S_SYN) * 10]
    k = np.linspace(snap["kappa"]["lo"], snap["kappa"]["hi"], snap["kappa"]["n"])
    assert k.size == 57 and -15 <= k[0] < -math.sqrt(3) and math.sqrt(3) < k[-1] <= 15
    flow = _decode(snap["flow"], "<i2").reshape(S_SYN, 57) * snap["flow_scale"]
    exact = _f(k[None, :], _b_of(np.arange(S_SYN))[:, None])
    # int16 quantisation: half a level of the largest |f|.
    assert np.max(np.abs(flow - exact)) <= 0.5 * snap["flow_scale"] + 1e-12
    traj = _decode(snap["traj"], "<f4").reshape(S_SYN, snap["traj_len"])
    assert traj[:, 0] == pytest.approx(np.full(S_SYN, -0.3 * 2.0))


def test_fixed_points_and_ghosts_are_those_of_the_closed_form(saddle_payload):
    snap = saddle_payload["snap"]
    for s, b in enumerate(_b_of(np.arange(S_SYN))):
        # Roots of -k + 2 tanh(k + b) by bracketing on a fine grid, independently.
        g = np.linspace(-15, 15, 30000)  # no grid point on a root
        fg = _f(g, b)
        roots = [
            brentq(_f, g[i], g[i + 1], args=(b,)) for i in np.flatnonzero(fg[:-1] * fg[1:] < 0)
        ]
        got = snap["fixed"][s]
        assert [p[0] for p in got] == pytest.approx(roots, abs=1e-4)
        for kappa, code in got:
            slope = -1 + 2 / np.cosh(kappa + b) ** 2
            assert code == (1 if slope < 0 else 2)
        ghosts = snap["ghosts"][s]
        depth = B_STAR - b
        if 0.02 < depth < 0.45:  # clearly a ghost (below the default ghost_tol 0.5)
            assert len(ghosts) == 1
            assert ghosts[0][0] == pytest.approx(A - b, abs=1e-3)
            assert ghosts[0][1] == pytest.approx(depth, rel=1e-2)
        elif depth < 0:
            assert ghosts == []


def test_events_bracket_the_fold_and_are_on_the_slider(saddle_payload):
    events = {e["type"]: e for e in saddle_payload["events"]}
    assert set(events) >= {"bifurcation", "ghost", "drop"}
    b = _b_of(np.arange(S_SYN))
    after_fold = int(np.flatnonzero(b > B_STAR)[0]) * 10
    assert events["bifurcation"]["epoch"] == after_fold
    assert events["bifurcation"]["start"] == after_fold - 10
    first_ghost = int(np.flatnonzero(B_STAR - b < 0.5)[0]) * 10  # depth below ghost_tol
    assert events["ghost"]["epoch"] == first_ghost
    assert 245 <= events["drop"]["start"] <= 255
    assert saddle_payload["verdict"] in ("bifurcation-mediated", "ghost-mediated")
    # With few snapshots on the slider, those at the events are kept.
    few = network_payload(
        _synthetic(), 0, analysis=analyze_dataset(_synthetic())[0].to_dict(),
        options=ReportOptions(max_snapshots=5),
    )  # fmt: skip
    assert len(few["events"]) == len(saddle_payload["events"])
    shown = few["snap"]["epoch"]
    for ev in few["events"]:
        for key in ("start", "epoch", "end"):
            if ev.get(key) is not None:
                assert min(e for e in np.arange(S_SYN) * 10.0 if e >= ev[key]) in shown


def test_payload_respects_the_size_options():
    opts = ReportOptions(max_snapshots=10, max_points=50, n_kappa=30)
    p = network_payload(_synthetic(), 0, options=opts)
    assert 10 <= len(p["snap"]["epoch"]) <= 10 + 4  # evenly spaced + event snapshots
    for curve in p["curves"].values():
        assert curve["n"] <= 50 and _decode(curve["y"], "<f4").size == curve["n"]
    assert p["snap"]["kappa"]["n"] == 30


def test_diverged_networks_keep_their_finite_part():
    ds = _synthetic(nets=3)
    for name in ("snap_m", "snap_n", "snap_b"):
        v = ds[name].values.copy()
        v[1, 30:] = np.nan  # diverged after 30 snapshots
        v[2] = np.nan  # before the first one
        ds[name] = (ds[name].dims, v)
    loss = ds["loss"].values.copy()
    loss[1:, 300:] = np.nan
    ds["loss"] = (("net", "epoch"), loss)
    ds["diverged"] = ("net", np.array([False, True, True]))
    payload = run_payload(TrainingRun(label="div", ds=ds))
    part, gone = payload["nets"][1], payload["nets"][2]
    assert part["snap"]["epoch"] == [float(e) for e in np.arange(30) * 10]
    assert "10 snapshot(s) with non-finite parameters omitted." in part["notes"]
    y = _decode(part["curves"]["loss"]["y"], "<f4")
    assert np.isnan(y[-1]) and np.isfinite(y[0])
    assert gone["snap"]["has_flow"] is False and len(gone["snap"]["epoch"]) == 150
    assert any("no snapshot has finite parameters" in n for n in gone["notes"])


def test_choose_networks_mixes_outcomes():
    # 30 networks: 0-9 never learn, 10-24 learn and keep it, 25-29 learn then get stuck.
    acc = np.full((30, 100), 0.5)
    acc[10:25, 50:] = 1.0
    acc[25:, 40:50] = 0.9
    ds = xr.Dataset({"accuracy": (("net", "epoch"), acc)}, coords={"net": np.arange(30)})
    nets, why = choose_networks(ds, 6)
    assert nets == [0, 1, 10, 11, 25, 26]
    assert "6 of 30 networks" in why and "2 of 5 stuck" in why
    assert choose_networks(ds, 40)[0] == list(range(30))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_networks": 0}, "max_networks must be >= 1, got 0"),
        ({"max_snapshots": 1}, "max_snapshots must be >= 2, got 1"),
        ({"n_kappa": 3}, "n_kappa must be >= 10, got 3"),
        ({"max_points": 2.5}, "max_points must be an integer, got 2.5"),
        ({"nets": ()}, r"nets must name at least one network, got \(\)"),
        ({"nets": (1, -2)}, "nets must be >= 0, got -2"),
    ],
)
def test_report_options_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReportOptions(**kwargs)


# --------------------------------------------------------------------------- sources


def test_sources_are_recognised(results, trained, tmp_path):
    src = load_source(results)
    assert src.kind == "results"
    assert [e["name"] for e in src.experiments] == ["fig1", "fig3"]
    assert [r.label for r in src.runs] == ["fig3/data.zarr/ghost", "fig3/data.zarr/real"]
    assert [r["figure"] for r in src.claims] == ["fig1", "fig3"]

    ds, folder = trained
    assert load_source(folder).kind == "training"
    # A figure's store with a training group and a group of other data (fig 4's recovery).
    other = xr.Dataset({"loss": (("seed", "c", "epoch"), np.zeros((2, 3, 4)))})
    store = write_zarr(
        xr.DataTree.from_dict({"/train": ds, "/recovery": other}), tmp_path / "d.zarr"
    )
    assert [r.label for r in load_source(store).runs] == ["d.zarr/train"]
    assert load_source(folder / "train.zarr").runs[0].ds.sizes["net"] == 2

    # An analysis names its data; its verdicts are used as they are.
    entry = {"net": 1, "verdict": {"label": "made-up", "reason": "r"}, "drops": [],
             "bifurcations": [], "ghost_events": []}  # fmt: skip
    write_json({"source": str(folder / "train.zarr"), "group": "/", "runs": [entry]},
               tmp_path / "analysis.json")  # fmt: skip
    src = load_source(tmp_path / "analysis.json")
    assert src.kind == "analysis" and src.runs[0].analyses == {1: entry}
    payload = report_payload(src, ReportOptions(nets=(1,)))
    assert payload["runs"][0]["nets"][0]["verdict"] == "made-up"


def test_npz_of_snapshots_is_scored_when_it_has_no_loss(tmp_path):
    ds = _synthetic()
    np.savez(tmp_path / "snaps.npz", **{k: ds[f"snap_{k}"].values[0] for k in "mnb"},
             epoch=ds["snapshot"].values)  # fmt: skip
    run = load_source(tmp_path / "snaps.npz").runs[0]
    np.testing.assert_array_equal(run.ds["epoch"].values, ds["snapshot"].values)
    # Loss of the trial: sigmoid(10 (kappa - 1)) against 20 zeros then 20 ones, / 20.
    cfg = RNNConfig(N=1, dt=5.0, tau=10.0, T=100.0, x0=-0.3)  # D = 0.5, 40 steps
    k = latent_trajectories(*(ds[f"snap_{v}"].values[0] for v in "mnb"), cfg)[:, 1:]
    o = 1 / (1 + np.exp(-10 * (k - 1)))
    target = np.repeat([0.0, 1.0], 20)
    np.testing.assert_allclose(run.ds["loss"].values[0], ((o - target) ** 2).sum(-1) / 20)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "path does not exist"),
        (
            lambda p: (p / "a.txt").write_text("x") and p / "a.txt",
            "cannot make a report of the file",
        ),
        (lambda p: p, "is neither a results folder"),
        (lambda p: write_json({"verdict": {}}, p / "analysis.json"), "needs its training data"),
        (lambda p: write_json({"x": 1}, p / "analysis.json"), "must hold an analysis"),
    ],
)
def test_bad_sources_are_refused(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ValueError, match=message):
        load_source(path)


# --------------------------------------------------------------------------- the page


def _payload_of(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="gl-payload">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def results_page(results):
    return write_report(results, options=ReportOptions(max_snapshots=40))


def test_page_is_self_contained(results_page, results):
    assert results_page == results / "report.html"
    page = results_page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "<script src" not in page
    assert page.count('src="data:image/png;base64,') == 2  # both figures, inlined
    # Claims: one row per claim, text escaped, verdicts shown.
    assert "no fixed point &lt;for r &gt; 0&gt;" in page and "a &amp; b" in page
    assert "1 of 2 testable claims reproduced, 0 skipped" in page
    payload = _payload_of(page)
    assert [r["label"] for r in payload["runs"]] == ["fig3/data.zarr/ghost", "fig3/data.zarr/real"]
    assert payload["runs"][1]["model"]["N"] == 20


def test_wide_figures_are_scaled_down(results_page):
    from PIL import Image

    page = results_page.read_text()
    uri = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    with Image.open(io.BytesIO(base64.b64decode(uri))) as im:
        assert im.size == (1600, 200)


def test_write_report_replaces_the_page_atomically(trained, tmp_path):
    ds, _ = trained
    store = tmp_path / "train.zarr"
    write_zarr(ds.drop_vars([v for v in ds.data_vars if v.startswith("snap_")]), store)
    first = write_report(store)
    assert first == tmp_path / "report.html"
    page = first.read_text()
    payload = _payload_of(page)
    net = payload["runs"][0]["nets"][0]
    assert net["snap"]["has_flow"] is False and "no snapshots" in net["notes"][0]
    again = write_report(store, tmp_path / "other.html")
    assert again.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.html", "report.html", "train.zarr"]


def test_results_without_snapshot_runs_say_so(tmp_path):
    (tmp_path / "fig1").mkdir()
    write_json({"title": "t", "claims": []}, tmp_path / "fig1" / "summary.json")
    page = build_report(tmp_path)
    assert "No training run with rank-one snapshots" in page
    assert '<section id="explorer" hidden>' in page


# --------------------------------------------------------------------------- what the page says


def _h1(page: str) -> str:
    m = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert m is not None
    return m.group(1)


def _summaries(folder: Path, fidelities: dict[str, str | None]) -> Path:
    """A results folder of summaries only (no data, so no explorer): fast to report."""
    for name, fidelity in fidelities.items():
        (folder / name).mkdir(parents=True)
        summary = {"experiment": name, "title": f"Title of {name}", "claims": []}
        if fidelity is not None:
            summary["fidelity"] = fidelity
        write_json(summary, folder / name / "summary.json")
    return folder


def test_titles_say_what_was_reported_without_repeating_the_folder(results_page, trained, tmp_path):
    page = results_page.read_text()
    title = "Reproduction of Dinc et al. 2025 (quick fidelity)"
    assert _h1(page) == title
    assert f"<title>{title}</title>" in page
    # The folder the original page named twice ("ghostlearn results: results").
    named = tmp_path / "results"
    _summaries(named, {"fig1": "quick", "fig2": "quick"})
    h1 = _h1(build_report(named))
    assert h1 == title and "results" not in h1.lower()
    mixed = _summaries(tmp_path / "mixed", {"fig1": "quick", "fig2": "paper"})
    assert (
        _h1(build_report(mixed))
        == "Reproduction of Dinc et al. 2025 (mixed fidelity: paper, quick)"
    )
    unknown = _summaries(tmp_path / "unknown", {"fig1": None})
    assert _h1(build_report(unknown)) == "Reproduction of Dinc et al. 2025"
    # A training store: what it is, and the folder that tells `train.zarr` stores apart.
    _, folder = trained
    assert load_source(folder).title == f"Training run {folder.name}/train.zarr"
    assert load_source(folder / "train.zarr").title == f"Training run {folder.name}/train.zarr"


def _long_run(folder: Path) -> Path:
    """A one-network store of 130,000 epochs (metrics every 1,000, snapshots every 10,000)
    crossing the synthetic saddle-node, with its analysis beside it."""
    epochs = np.arange(0, 130_000, 1000)
    snap = np.arange(0, 130_000, 10_000)
    b = -1.5 + 1.5 * np.arange(snap.size) / (snap.size - 1)
    ones = np.ones((1, snap.size, 1))
    ds = xr.Dataset(
        {
            "loss": (("net", "epoch"), np.where(epochs < 100_000, 1.0, 0.01)[None]),
            "accuracy": (("net", "epoch"), np.where(epochs < 100_000, 0.5, 1.0)[None]),
            "snap_m": (("net", "snapshot", "unit"), ones),
            "snap_n": (("net", "snapshot", "unit"), 2.0 * ones),
            "snap_b": (("net", "snapshot", "unit"), b[None, :, None]),
        },
        coords={"net": [0], "seed": ("net", [40]), "lr": ("net", [0.02]), "c": ("net", [10.0]),
                "epoch": epochs, "snapshot": snap},
        attrs={"model": {"model": "rank1", "N": 1}, "train": {"epochs": 130_000}},
    )  # fmt: skip
    write_zarr(ds, folder / "train.zarr")
    entry = {
        "net": 0, "verdict": {"label": "ghost-mediated", "reason": "r"},
        "drops": [{"onset_epoch": 100_000, "end_epoch": 110_000, "size_decades": 2.0}],
        "bifurcations": [{"kind": "saddle-node", "direction": "appear", "epoch_before": 120_000,
                          "epoch_after": 129_000, "kappa": [1.4]}],
        "ghost_events": [{"kind": "emerge", "epoch_before": 90_000, "epoch_after": 100_000,
                          "kappa": [0.3]}],
    }  # fmt: skip
    write_json([entry], folder / "analysis.json")
    return folder


def test_epochs_print_as_whole_numbers_with_thousands_separators(tmp_path):
    assert format_epoch(1.3e5) == "130,000" and format_epoch(129_999.7) == "130,000"
    assert format_epoch(7) == "7" and format_epoch(float("nan")) == "n/a"
    page = build_report(_long_run(tmp_path / "run"))
    assert _h1(page) == "Analysis of run/train.zarr"
    run = _payload_of(page)["runs"][0]
    assert run["n_epochs"] == 130_000
    assert "1 network &times; 130,000 epochs" in page
    texts = [e["text"] for e in run["nets"][0]["events"]]
    assert texts == [
        "abrupt drop, epochs 100,000\u2013110,000 (2 decades)",
        "saddle-node bifurcation (appear) between epochs 120,000 and 129,000 at kappa = 1.4",
        "ghost emerged between epochs 90,000 and 100,000 at kappa = 0.3",
    ]
    for bad in ("1.3e5", "1.3e+05", "1e+05", "1.2e5"):
        assert bad not in page
    # Epochs inside claims too: a measured drop epoch of the paper's seed.
    folder = _summaries(tmp_path / "res", {"fig3": "quick"})
    row = {"figure": "fig3", "claim": "c", "paper": "p", "verdict": "reproduced", "reason": "",
           "measured": {"seed": 40, "drop_epoch": 133_639.0, "bifurcation_epochs": [130_000],
                        "q25": 0.25, "lr_by_epoch": {"130000": 0.001}}}  # fmt: skip
    write_json([row], folder / "claims.json")
    page = build_report(folder)
    assert (
        "seed = 40; drop_epoch = 133,639; bifurcation_epochs = [130,000]; q25 = 0.25; "
        "lr_by_epoch = 130,000 = 0.001"
    ) in page


def _named(payload: dict) -> list[str]:
    return [n["name"] for r in payload["runs"] for n in r["nets"]]


def test_network_names_are_distinct_and_name_seed_lr_and_group(results_page):
    # The results page: fig3's groups "ghost" and "real".
    assert _named(_payload_of(results_page.read_text())) == [
        "ghost \u00b7 seed 0 \u00b7 lr 0.02 \u00b7 c 10",
        "real \u00b7 seed 0 \u00b7 lr 0.02 \u00b7 c 10",
        "real \u00b7 seed 1 \u00b7 lr 0.02 \u00b7 c 10",
    ]
    plain = _synthetic(nets=2).drop_vars(["snap_m", "snap_n", "snap_b"])  # no analysis: fast
    seed40 = plain.isel(net=[0]).assign_coords(seed=("net", [40]))
    assert network_name(seed40, 0, group="A") == "A \u00b7 seed 40 \u00b7 lr 0.02 \u00b7 c 10"
    twins = plain.assign_coords(seed=("net", [7, 7]))  # two networks of one seed
    bare = plain.drop_vars(["seed", "lr", "c"])  # nothing but positions
    wide = plain.assign_attrs(model={"model": "rank1", "N": 1, "T": 200.0})
    runs = [
        TrainingRun(label="fig3/data.zarr/A", ds=seed40, group="A"),
        TrainingRun(label="fig4/data.zarr/A", ds=seed40, group="A"),
        TrainingRun(label="fig3/data.zarr/A_zoom", ds=seed40, group="A_zoom"),
        TrainingRun(label="twins.zarr", ds=twins),
        TrainingRun(label="bare.npz", ds=bare),
        TrainingRun(label="sweep.zarr/batches/b00001", ds=wide, fields=("T", "seed")),
    ]
    source = ReportSource(kind="training", path=Path("x"), title="t", experiments=[],
                          claims=[], runs=runs, notes=[])  # fmt: skip
    names = _named(report_payload(source))
    assert names == [
        "fig3/data.zarr/A \u00b7 seed 40 \u00b7 lr 0.02 \u00b7 c 10",
        "fig4/data.zarr/A \u00b7 seed 40 \u00b7 lr 0.02 \u00b7 c 10",
        "A_zoom \u00b7 seed 40 \u00b7 lr 0.02 \u00b7 c 10",
        "twins.zarr \u00b7 seed 7 \u00b7 lr 0.02 \u00b7 c 10 \u00b7 net 0",
        "twins.zarr \u00b7 seed 7 \u00b7 lr 0.02 \u00b7 c 10 \u00b7 net 1",
        "net 0",
        "net 1",
        "seed 0 \u00b7 lr 0.02 \u00b7 c 10 \u00b7 T 200",
        "seed 1 \u00b7 lr 0.02 \u00b7 c 10 \u00b7 T 200",
    ]
    assert len(set(names)) == len(names)


def test_sweep_store_is_titled_and_its_networks_named_by_the_swept_fields(tmp_path):
    from ghostlearn.sweep import SweepStore, parse_spec, plan_sweep

    spec = parse_spec({"sweep": {"name": "tiny"}, "model": {"model": "rank1"},
                       "train": {"epochs": E_SYN, "lr": 0.02}, "grid": {"N": [1, 2], "seed": [0, 1]}})  # fmt: skip
    plan = plan_sweep(spec)
    store = SweepStore.create(tmp_path / "s.zarr", plan)
    plain = _synthetic(nets=2).drop_vars(["snap_m", "snap_n", "snap_b"])
    for batch in plan.batches:
        data = plain.assign_coords(
            cell=("net", batch.cells), seed=("net", batch.seed), lr=("net", batch.lr),
            c=("net", batch.c),
        ).assign_attrs(model=dict(batch.model))  # fmt: skip
        store.write_batch(batch, data)
    page = build_report(tmp_path / "s.zarr")
    assert _h1(page) == "Sweep tiny (s.zarr)"
    names = _named(_payload_of(page))
    assert sorted(names) == sorted(
        f"seed {s} \u00b7 lr 0.02 \u00b7 c 10 \u00b7 N {n}" for n in (1, 2) for s in (0, 1)
    )


def _figures(folder: Path, captions: dict[str, str | None], extra: tuple[str, ...] = ()) -> Path:
    from PIL import Image

    for name, caption in captions.items():
        (folder / name).mkdir(parents=True)
        Image.new("RGB", (40, 20), (0, 114, 178)).save(folder / name / "figure.png")
        summary = {"experiment": name, "title": f"Title of {name}", "fidelity": "quick",
                   "claims": []}  # fmt: skip
        if caption is not None:
            summary["caption"] = caption
        write_json(summary, folder / name / "summary.json")
        if name in extra:
            Image.new("RGB", (40, 20), (213, 94, 0)).save(folder / name / "figure-extra.png")
    return folder


def _block(page: str, name: str) -> str:
    """The HTML of one experiment's figure block."""
    start = page.index(f'id="fig-{name}"')
    end = page.find('<div class="fig"', start)
    return page[start : end if end > 0 else page.index("</section>", start)]


def test_caption_sits_under_its_figure_and_is_escaped(tmp_path):
    caption = "Fig. 1. (A) The flow <script>alert(1)</script> for r > 0 & a = 1."
    page = build_report(_figures(tmp_path, {"fig1": caption, "fig2": None}))
    escaped = "Fig. 1. (A) The flow &lt;script&gt;alert(1)&lt;/script&gt; for r &gt; 0 &amp; a = 1."
    fig1 = _block(page, "fig1")
    assert f'<figcaption class="caption">{escaped}</figcaption>' in fig1
    assert fig1.index('<img src="data:image/png') < fig1.index(escaped)
    assert page.count(escaped) == 1  # not repeated in the summary's details
    assert "<script>alert(1)" not in page
    assert 'class="caption"' not in _block(page, "fig2")


def test_panels_beyond_the_paper_follow_the_main_figure(tmp_path):
    page = build_report(_figures(tmp_path, {"fig1": "Fig. 1.", "fig2": "Fig. 2."}, extra=("fig1",)))
    fig1, fig2 = _block(page, "fig1"), _block(page, "fig2")
    assert fig1.count('<img src="data:image/png') == 2 and fig2.count("<img") == 1
    main, beyond = fig1.index("<img"), fig1.index("Beyond the paper")
    assert main < fig1.index("Fig. 1.") < beyond < fig1.rindex("<img")
    assert "Beyond the paper" not in fig2


# --------------------------------------------------------------------------- animation


def test_gif_has_one_frame_per_chosen_snapshot(tmp_path):
    from PIL import Image

    out = tmp_path / "flow.gif"
    res = animate(_synthetic(), 0, out, max_frames=5, analysis={}, mp4=False, dpi=30)
    assert res.gif == out and res.mp4 is None and res.n_frames == 5
    np.testing.assert_array_equal(
        res.epochs, np.arange(S_SYN)[snapshot_subset(np.arange(S_SYN), 5)] * 10
    )
    with Image.open(out) as im:
        assert im.n_frames == 5
    assert [p.name for p in tmp_path.iterdir()] == ["flow.gif"]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_mp4_is_written_with_ffmpeg(tmp_path):
    res = animate(_synthetic(), 0, tmp_path / "f.gif", max_frames=4, analysis={}, mp4=True, dpi=40)
    assert res.mp4 == tmp_path / "f.mp4" and res.mp4.stat().st_size > 0


def _film_of(monkeypatch, order):
    """Patch the renderer so that frame i shows snapshot ``order[i]``; returns the
    rendered frames (filled by the next ``animate`` call)."""
    film_module = sys.modules["ghostlearn.report.animate"]  # the name is the function
    real = film_module._render
    got = []

    def render(fig, draw, n, progress):
        got.extend(real(fig, lambda i: draw(order[i] % n), len(order), progress))
        return got

    monkeypatch.setattr(film_module, "_render", render)
    return got


def test_frames_are_blitted_without_traces(tmp_path, monkeypatch):
    """A snapshot drawn again after another gives the same pixels: each frame restores
    the background, nothing of the previous one stays."""
    film = _film_of(monkeypatch, [0, -1, 0])
    animate(_synthetic(), 0, tmp_path / "f.gif", max_frames=5, analysis={}, mp4=False, dpi=30)
    first, other, again = film
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def _fake_ffmpeg(folder, code=0, read=True):
    """An ``ffmpeg`` on PATH that writes the byte count of its input to its last argument
    (or fails with exit status ``code``, after reading its input or at once)."""
    exe = folder / "ffmpeg"
    exe.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"data = sys.stdin.buffer.read() if {read} else b''\n"
        f"if {code}:\n"
        "    sys.stderr.write('no codec')\n"
        f"    sys.exit({code})\n"
        "args = sys.argv[1:]\n"
        "open(args[-1], 'w').write(f\"{len(data)} {args[args.index('-s') + 1]}\")\n"
    )
    exe.chmod(0o755)
    return folder


def test_mp4_gets_every_frame_as_raw_rgba(tmp_path, monkeypatch):
    from PIL import Image

    (tmp_path / "bin").mkdir()
    bin_dir = _fake_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    res = animate(_synthetic(), 0, tmp_path / "f.gif", max_frames=4, analysis={}, mp4=True, dpi=30)
    with Image.open(res.gif) as im:
        w, h = im.size
    n_bytes, size = res.mp4.read_text().split()
    assert size == f"{w}x{h}" and int(n_bytes) == res.n_frames * w * h * 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "f.gif", "f.mp4"]


@pytest.mark.parametrize("read", [True, False])
def test_a_failing_ffmpeg_leaves_no_mp4(tmp_path, monkeypatch, read):
    """ffmpeg fails after reading every frame, or at once (the frames then meet a closed
    pipe): either way one error with its message, and no MP4."""
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", f"{_fake_ffmpeg(tmp_path / 'bin', code=3, read=read)}"
                       f"{os.pathsep}{os.environ['PATH']}")  # fmt: skip
    with pytest.raises(RuntimeError, match="ffmpeg failed \\(3\\): no codec"):
        animate(_synthetic(), 0, tmp_path / "f.gif", max_frames=3, analysis={}, mp4=True, dpi=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "f.gif"]


def test_animate_rejects_bad_input(tmp_path, monkeypatch):
    ds = _synthetic()
    with pytest.raises(ValueError, match="out_path must end in .gif"):
        animate(ds, 0, tmp_path / "x.png")
    with pytest.raises(ValueError, match="net must be a position in 0..0, got 3"):
        animate(ds, 3, tmp_path / "x.gif", analysis={})
    with pytest.raises(ValueError, match="max_frames must be >= 2, got 1"):
        animate(ds, 0, tmp_path / "x.gif", max_frames=1)
    with pytest.raises(ValueError, match="has no rank-one snapshots"):
        animate(ds.drop_vars(["snap_m", "snap_n", "snap_b"]), 0, tmp_path / "x.gif")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="mp4=True needs ffmpeg"):
        animate(ds, 0, tmp_path / "x.gif", mp4=True)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- browser

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None or CHROMEDRIVER is None:
        if os.environ.get("CI"):  # .ci/run installs them: CI must never skip these tests
            pytest.fail("chromium or chromedriver is missing in CI")
        pytest.skip("chromium or chromedriver is not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1400,1700",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):  # fmt: skip
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _open(driver, path: Path) -> None:
    driver.get_log("browser")  # drop entries of earlier pages
    driver.get(path.resolve().as_uri())
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def _set_slider(driver, value: int) -> None:
    driver.execute_script(
        "const s = document.getElementById('gl-epoch'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('input'));",
        str(value),
    )


@pytest.mark.browser
def test_slider_redraws_the_flow_in_a_browser(browser, results_page, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    _open(browser, results_page)
    slider = browser.find_element(By.ID, "gl-epoch")
    assert slider.get_attribute("type") == "range"
    label = browser.find_element(By.ID, "gl-epoch-label")
    path = lambda: browser.find_element(By.ID, "gl-flow-path").get_attribute("d")  # noqa: E731
    assert label.get_attribute("data-epoch") == "0"
    d0, text0 = path(), label.text
    last = int(slider.get_attribute("max"))
    assert last >= 30
    _set_slider(browser, last)
    assert label.text != text0 and label.get_attribute("data-epoch") == "390"
    assert path() != d0
    assert browser.find_element(By.ID, "gl-flow").get_attribute("data-epoch") == "390"
    assert browser.find_elements(By.CSS_SELECTOR, "#gl-flow circle.fp-stable")
    assert browser.find_elements(By.CSS_SELECTOR, "#gl-flow circle.fp-unstable")
    # Another network: the real run of the same page.
    browser.execute_script(
        "const s = document.getElementById('gl-net'); s.value = '1';"
        "s.dispatchEvent(new Event('change'));"
    )
    assert "fig3/data.zarr/real" in browser.find_element(By.ID, "gl-run-info").text
    assert path() != d0
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    # A screenshot that is not blank.
    browser.find_element(By.ID, "explorer").location_once_scrolled_into_view  # noqa: B018
    png = browser.get_screenshot_as_png()
    with Image.open(io.BytesIO(png)) as im:
        rgb = np.asarray(im.convert("RGB"))
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 100
    assert np.mean(np.any(rgb < 200, axis=-1)) > 0.03


@pytest.mark.browser
def test_page_without_snapshots_shows_a_note_in_a_browser(browser, trained, tmp_path):
    from selenium.webdriver.common.by import By

    ds, _ = trained
    store = tmp_path / "train.zarr"
    write_zarr(ds.drop_vars([v for v in ds.data_vars if v.startswith("snap_")]), store)
    _open(browser, write_report(store, options=ReportOptions(nets=(0,))))
    note = browser.find_element(By.ID, "gl-noflow")
    assert note.is_displayed() and "no snapshots" in note.text
    assert not browser.find_element(By.ID, "gl-flow-box").is_displayed()
    before = browser.find_element(By.ID, "gl-epoch-label").text
    _set_slider(browser, 5)
    assert browser.find_element(By.ID, "gl-epoch-label").text != before
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.browser
def test_epochs_and_network_names_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By

    _open(browser, write_report(_long_run(tmp_path / "run")))
    text = lambda el: el.get_attribute("textContent")  # noqa: E731
    option = browser.find_element(By.CSS_SELECTOR, "#gl-net option")
    assert text(option).startswith("seed 40 \u00b7 lr 0.02 \u00b7 c 10")
    _set_slider(browser, int(browser.find_element(By.ID, "gl-epoch").get_attribute("max")))
    assert text(browser.find_element(By.ID, "gl-epoch-label")).startswith("epoch 120,000 ")
    info = text(browser.find_element(By.ID, "gl-run-info"))
    assert "130,000 epochs" in info
    ticks = [text(t) for t in browser.find_elements(By.CSS_SELECTOR, "#gl-acc text")]
    assert "100,000" in ticks
    assert not [t for t in ticks if re.fullmatch(r"[\d.]+e\d+", t)]
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


# --------------------------------------------------------------------------- command line


def test_cli_report_and_animate(trained, tmp_path):
    from typer.testing import CliRunner

    from ghostlearn.cli import app

    _, folder = trained
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(folder), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    res = runner.invoke(app, ["report", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output and "Traceback" not in res.output
    gif = tmp_path / "n.gif"
    args = ["animate", str(folder), "--net", "1", "--frames", "3", "--no-mp4", "--out", str(gif)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    # stdout: the progress log lines go to stderr
    assert re.search(r"^\d+ frames \(epochs 0-[\d,]+\) -> ", res.stdout) and gif.exists()
    res = runner.invoke(app, ["animate", str(folder), "--net", "7"])
    assert res.exit_code == 2 and "--net must be in 0..1, got 7" in res.output
