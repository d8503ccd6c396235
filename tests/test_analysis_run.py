"""Run analysis end to end: verdicts on synthetic runs, Datasets, JSON, figure, bad input."""

from __future__ import annotations

import dataclasses
import importlib
import json
import math

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

from ghostlearn.analysis import (
    VERDICTS,
    analyze_dataset,
    analyze_run,
    analyze_run_lowrank,
    plot_run,
)
from ghostlearn.rnn import RNNConfig

# f = -k + 2 tanh(2k + b) (N = 1, m = n = 2): three fixed points for |b| < B_FOLD, one
# beyond; just past the fold a ghost remains where the pair vanished.
B_FOLD = 2.0 * math.sqrt(3.0) - math.atanh(math.sqrt(3.0) / 2.0)
E, EVERY, SWITCH = 3000, 10, 1500


def _drop(e, center, decades=2.0, width=8.0):
    return 10 ** (-decades / (1.0 + np.exp(-(e - center) / width)))


def _run(b_before, b_after, loss, grad=None, acc=None, switch=SWITCH):
    """A run whose bias jumps from b_before to b_after at epoch `switch`."""
    se = np.arange(0, E, EVERY, dtype=float)
    b = np.where(se < switch, b_before, b_after)[:, None]
    m = n = np.full((se.size, 1), 2.0)
    return {"epochs": se, "m": m, "n": n, "b": b, "loss": loss, "grad_norm": grad, "acc": acc}


def _scenarios():
    e = np.arange(E, dtype=float)
    learned_acc = np.where(e < SWITCH + 20, 0.5, 1.0)
    rising_grad = 1e-3 + 0.1 * (e > SWITCH)
    stuck_loss = np.where(e < 2000, _drop(e, SWITCH + 20, 1.0), 1.0)
    stuck_grad = np.where(e < 2000, rising_grad, 1e-10)
    stuck_acc = np.where((e > SWITCH + 20) & (e < 2000), 1.0, 0.5)
    return {
        # b = 6: one fixed point, no ghost; then just past the fold: a ghost, still one root.
        "ghost-mediated": _run(6.0, B_FOLD + 0.1, _drop(e, SWITCH + 20), rising_grad, learned_acc),
        # three fixed points, then one: a saddle-node right before the drop.
        "bifurcation-mediated": _run(0.0, 3.0, _drop(e, SWITCH + 20), rising_grad, learned_acc),
        # learns (one root, a ghost), then a pair appears at epoch 2000 and all stops.
        "stuck-after-bifurcation": _run(
            B_FOLD + 0.1, 0.0, stuck_loss, stuck_grad, stuck_acc, switch=2000
        ),
        "no-abrupt-learning": _run(6.0, 6.0, np.exp(-e / 800.0), rising_grad, None),
        "abrupt-unexplained": _run(6.0, 6.0, _drop(e, SWITCH + 20), rising_grad, learned_acc),
    }


SCENARIOS = _scenarios()


def _analyze(sc, **kw):
    return analyze_run(
        sc["epochs"], sc["m"], sc["n"], sc["b"], sc["loss"], sc["grad_norm"], accuracy=sc["acc"],
        **kw,
    )  # fmt: skip


@pytest.mark.parametrize("label", list(SCENARIOS))
def test_verdicts_on_synthetic_runs(label):
    ra = _analyze(SCENARIOS[label])
    assert ra.verdict.label == label, ra.verdict.reason
    assert label in VERDICTS
    d = ra.to_dict()
    json.dumps(d, allow_nan=False)  # strict JSON
    assert d["verdict"]["label"] == label
    assert len(d["snapshots"]["n_fixed"]) == E // EVERY
    assert "snapshots" not in ra.to_dict(snapshots=False)


def test_verdict_vocabulary_holds_the_checkpoints_not_determinable():
    from ghostlearn.analysis import verdict
    from ghostlearn.checkpoints import NOT_DETERMINABLE

    assert NOT_DETERMINABLE == "not-determinable" and VERDICTS[-1] == NOT_DETERMINABLE
    assert len(set(VERDICTS)) == len(VERDICTS)
    assert f"``'{NOT_DETERMINABLE}'``" in (verdict.__doc__ or "")  # its meaning is documented


def test_verdict_details_name_the_events():
    ra = _analyze(SCENARIOS["ghost-mediated"])
    assert ra.bifurcations == []
    assert ra.ghost_emergence_epoch == SWITCH
    assert ra.verdict.ghost_epoch == SWITCH
    assert ra.verdict.drop.onset_epoch == pytest.approx(SWITCH + 20 - 8 * math.log(9), abs=2)
    assert set(ra.n_fixed.tolist()) == {1}

    ra = _analyze(SCENARIOS["bifurcation-mediated"])
    (b,) = ra.bifurcations
    assert (b.kind, b.direction, b.epoch_before, b.epoch_after) == (
        "saddle-node", "vanish", SWITCH - EVERY, SWITCH,
    )  # fmt: skip
    assert ra.verdict.bifurcation == b

    ra = _analyze(SCENARIOS["stuck-after-bifurcation"])
    (b,) = ra.bifurcations
    assert (b.direction, b.epoch_after) == ("appear", 2000)
    # the ghost present from the start dies into the saddle-node
    assert [(g.kind, g.at_bifurcation) for g in ra.ghost_events] == [
        ("present", False),
        ("vanish", True),
    ]


def test_stuck_needs_flat_gradient_and_unsolved_task():
    sc = dict(SCENARIOS["stuck-after-bifurcation"])
    e = np.arange(E, dtype=float)
    sc["grad_norm"] = 1e-3 + 0.1 * (e > SWITCH)  # gradient not flat after the bifurcation
    assert _analyze(sc).verdict.label != "stuck-after-bifurcation"
    sc = dict(SCENARIOS["stuck-after-bifurcation"])
    sc["acc"] = None  # decided from the loss alone: it ends at its plateau level
    assert _analyze(sc).verdict.label == "stuck-after-bifurcation"


def test_lowrank_k1_is_the_rank1_analysis_and_k2_runs():
    sc = SCENARIOS["bifurcation-mediated"]
    one = _analyze(sc)
    lr = analyze_run_lowrank(
        sc["epochs"], sc["m"][..., None], sc["n"][:, None, :], sc["b"], sc["loss"],
        sc["grad_norm"], accuracy=sc["acc"],
    )  # fmt: skip
    assert lr.model == "rank1"
    assert lr.to_dict() == one.to_dict()
    # rank 2: the same fold in coordinate 1, coordinate 2 a stable decoupled direction
    S = sc["epochs"].size
    M = np.zeros((S, 2, 2))
    M[:, 0, 0], M[:, 1, 1] = 2.0, 1.0
    Nm = np.zeros((S, 2, 2))
    Nm[:, 0, 0], Nm[:, 1, 1] = 2.0, 0.5
    b = np.concatenate([sc["b"], np.zeros((S, 1))], axis=1)
    sl = slice(SWITCH // EVERY - 3, SWITCH // EVERY + 3)  # six snapshots around the fold
    e = np.arange(E, dtype=float)
    keep = (e >= sc["epochs"][sl][0]) & (e <= sc["epochs"][sl][-1] + EVERY)
    ra = analyze_run_lowrank(
        sc["epochs"][sl], M[sl], Nm[sl], b[sl], sc["loss"][keep], loss_epochs=e[keep],
        n_starts=32,
    )  # fmt: skip
    assert ra.model == "lowrank"
    assert ra.n_fixed.tolist() == [3, 3, 3, 1, 1, 1]
    assert ra.n_ghosts.tolist() == [0, 0, 0, 1, 1, 1]
    (bif,) = ra.bifurcations
    assert (bif.kind, bif.epoch_after) == ("saddle-node", SWITCH)
    json.dumps(ra.to_dict(), allow_nan=False)


def _dataset(names):
    scs = [SCENARIOS[k] for k in names]
    se = scs[0]["epochs"]
    e = np.arange(E)
    data = {
        "snap_m": (("net", "snapshot", "unit"), np.stack([s["m"] for s in scs])),
        "snap_n": (("net", "snapshot", "unit"), np.stack([s["n"] for s in scs])),
        "snap_b": (("net", "snapshot", "unit"), np.stack([s["b"] for s in scs])),
        "loss": (("net", "epoch"), np.stack([s["loss"] for s in scs])),
        "grad_norm": (("net", "epoch"), np.stack([s["grad_norm"] for s in scs])),
        "accuracy": (
            ("net", "epoch"),
            np.stack([s["acc"] if s["acc"] is not None else np.full(E, 0.5) for s in scs]),
        ),
        "diverged": (("net",), np.zeros(len(scs), bool)),
        "diverged_epoch": (("net",), np.full(len(scs), -1)),
    }
    coords = {"net": np.arange(len(scs)), "epoch": e, "snapshot": se}
    return xr.Dataset(data, coords=coords, attrs={"model": dataclasses.asdict(RNNConfig(N=1))})


def test_analyze_dataset_matches_analyze_run_and_cuts_diverged_nets():
    names = ["ghost-mediated", "stuck-after-bifurcation", "bifurcation-mediated"]
    ds = _dataset(names)
    runs = analyze_dataset(ds)
    assert [r.verdict.label for r in runs] == names
    for r, name in zip(runs, names, strict=True):
        assert r.to_dict() == _analyze(SCENARIOS[name]).to_dict()
    # A network that diverged at epoch 1800: metrics and snapshots are NaN from there on.
    ds2 = ds.copy(deep=True)
    ds2["diverged"][1] = True
    ds2["diverged_epoch"][1] = 1800
    ds2["loss"][1, 1800:] = np.nan
    ds2["snap_m"][1, 180:] = np.nan
    (r,) = analyze_dataset(ds2, nets=[1])
    assert r.snapshot_epochs[-1] == 1790 and r.loss_epochs[-1] == 1799
    assert r.verdict.label == "ghost-mediated"  # it had learned when it diverged


def test_plot_run_returns_a_figure_with_flow_panels():
    ra = _analyze(SCENARIOS["stuck-after-bifurcation"])
    fig = plot_run(ra)
    assert isinstance(fig, Figure)
    # loss (+ gradient twin), counts, and one panel per chosen flow epoch
    assert len(fig.axes) >= 5
    fig2 = plot_run(ra, flow_epochs=[0, 2990])
    assert len(fig2.axes) == 5
    with pytest.raises(ValueError, match="analysis must be a RunAnalysis"):
        plot_run({"verdict": "x"})


def _bad(**over):
    sc = SCENARIOS["ghost-mediated"]
    args = {
        "epochs": sc["epochs"], "m": sc["m"], "n": sc["n"], "b": sc["b"], "loss": sc["loss"],
        "grad_norm": sc["grad_norm"],
    }  # fmt: skip
    kw = {k: over.pop(k) for k in list(over) if k not in args}
    args.update(over)
    return args, kw


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"m": None}, "m is missing"),
        ({"loss": None}, "loss is missing"),
        (
            {"m": np.ones((5, 1)), "n": np.ones((5, 1)), "b": np.ones((5, 1))},
            r"m must have shape \(S, N\) with S = len\(epochs\) = 300",
        ),
        ({"n": np.ones((300, 2))}, r"n must have the shape of m"),
        ({"b": np.full((300, 1), np.nan)}, "b must be finite"),
        ({"epochs": np.zeros(300)}, "epochs must be strictly increasing"),
        ({"loss": np.ones((2, 3000))}, "loss must be 1-D"),
        ({"grad_norm": np.ones(10)}, r"grad_norm must have the shape of loss \(3000,\)"),
        ({"accuracy": np.ones(10)}, r"accuracy must have the shape of loss"),
        ({"loss_epochs": np.arange(10)}, r"loss_epochs must have the shape of loss"),
        ({"interval": (5.0, 5.0)}, "interval must be a finite interval with lo < hi"),
        ({"tau": -1.0}, "tau must be > 0"),
        ({"max_jump": 0.0}, "max_jump must be > 0"),
        ({"n_grid": 1}, "n_grid must be >= 3"),
    ],
)
def test_analyze_run_rejects_bad_input(over, match):
    args, kw = _bad(**over)
    with pytest.raises(ValueError, match=match):
        analyze_run(**args, **kw)


def test_analyze_dataset_rejects_bad_datasets():
    ds = _dataset(["ghost-mediated"])
    with pytest.raises(ValueError, match="snap_m is missing from the dataset"):
        analyze_dataset(ds.drop_vars("snap_m"))
    with pytest.raises(ValueError, match="loss is missing from the dataset"):
        analyze_dataset(ds.drop_vars("loss"))
    with pytest.raises(ValueError, match=r"nets must be positions in 0..0"):
        analyze_dataset(ds, nets=[3])
    full = ds.assign_attrs(model=dataclasses.asdict(RNNConfig(model="full", N=1)))
    with pytest.raises(ValueError, match="model must be 'rank1' or 'lowrank'"):
        analyze_dataset(full)
    # attrs["model"] is read by the one parser, which fails loudly
    no_model = ds.copy()
    del no_model.attrs["model"]
    with pytest.raises(ValueError, match="dataset has no valid 'model' attribute"):
        analyze_dataset(no_model)
    with pytest.raises(ValueError, match="dataset has no valid 'model' attribute"):
        analyze_dataset(ds.assign_attrs(model={"model": "rank1", "units": 1}))
    with pytest.raises(ValueError, match="M must have shape"):
        analyze_run_lowrank(
            np.arange(3), np.ones((2, 4, 2)), np.ones((2, 2, 4)), np.ones((2, 4)), np.ones(5)
        )


def test_analyze_dataset_reads_the_engine_output():
    """The Dataset schema of docs/results.md, as ghostlearn.train writes it (tiny runs)."""
    # `import ghostlearn.train as m` would give the function ghostlearn.train, not the module
    train_mod = importlib.import_module("ghostlearn.train")
    ds = train_mod.train(
        RNNConfig(N=10, T=20.0), seeds=[0, 1], lr=0.02, epochs=40, snapshot_every=5
    )
    runs = analyze_dataset(ds)
    assert len(runs) == 2
    assert runs[0].snapshot_epochs.tolist() == [0, 5, 10, 15, 20, 25, 30, 35]
    assert runs[0].loss_epochs.size == 40 and runs[0].grad_norm is not None
    ref = analyze_run(
        ds["snapshot"].values, ds["snap_m"].values[1], ds["snap_n"].values[1],
        ds["snap_b"].values[1], ds["loss"].values[1], ds["grad_norm"].values[1],
        accuracy=ds["accuracy"].values[1], loss_epochs=ds["epoch"].values,
    )  # fmt: skip
    assert runs[1].to_dict() == ref.to_dict()
    cfg = RNNConfig(model="lowrank", rank=2, N=10, T=20.0)
    ds2 = train_mod.train(cfg, seeds=[0], lr=0.02, epochs=20, snapshot_every=10)
    (run,) = analyze_dataset(ds2, n_starts=32)
    assert run.model == "lowrank" and run.n_fixed.shape == (2,)
    json.dumps(run.to_dict(), allow_nan=False)
