"""The fig3 and learnable-c experiments end to end on tiny configs, and their building blocks."""

import dataclasses
import json
import math

import numpy as np
import pytest
import xarray as xr

from ghostlearn.analysis import VERDICTS
from ghostlearn.experiments import census, fig3, learnable_c, rank1, run_experiment
from ghostlearn.store import open_zarr, read_json

# The paper's network (N = 100) at higher learning rates leaves its plateau within a few
# thousand epochs, so a tiny run exercises every stage. The tests check rules and
# invariants that hold whichever seeds learn, get stuck or bifurcate (training is chaotic).
TINY_FIG3 = fig3.Config(
    paper_seed=0,
    census_A=4,
    lr_A=0.02,
    epochs_A=4000,
    flow_every_A=10,
    lr_B=0.1,
    epochs_B=1000,
    population_B=5,
    chunk_B=3,
)
TINY_C = learnable_c.Config(
    lr=0.2, epochs=1000, epochs_reset=1000, paper_seed=3, search=4, snapshot_every=10, last=20
)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def fig3_summary(out):
    return run_experiment("fig3", out, config=TINY_FIG3)


@pytest.fixture(scope="module")
def c_summary(out):
    return run_experiment("learnable-c", out, config=TINY_C)


def _is_epoch(v, lo, hi):
    return v is None or (isinstance(v, (int, float)) and lo <= v <= hi)


def _check_claims(summary):
    claims = summary["claims"]
    assert claims
    for c in claims:
        assert set(c) >= {"figure", "claim", "paper", "measured", "verdict", "reason"}
        assert c["verdict"] in ("reproduced", "differs", "skipped")
        assert c["figure"] == summary["experiment"]


def test_fig3_writes_files_and_summary(fig3_summary, out):
    s = fig3_summary
    folder = out / "fig3"
    for file in ("summary.json", "figure.png", "figure.pdf", "figure-extra.png",
                 "figure-extra.pdf"):  # fmt: skip
        assert (folder / file).stat().st_size > 0
    typed = fig3.Summary.from_dict(s)
    assert s["caption"].startswith("Figure 3:")
    assert s["caption"] == fig3.caption(typed, TINY_FIG3)
    # the paper's flows (i)-(iii) at its fractions of the run (epochs 1, 200,001, 499,001)
    assert s["panel_epochs_A"] == [0, 1600, 3990]
    assert s["panel_epochs_B"][0] == 0 and s["panel_epochs_B"] == sorted(set(s["panel_epochs_B"]))
    assert read_json(folder / "summary.json")["experiment"] == "fig3"
    assert s["init"] == "paper" and s["paper_seed"] == 0 and s["devices"] >= 1
    assert _is_epoch(s["ghost_epoch_A"], 0, TINY_FIG3.epochs_A)
    assert _is_epoch(s["drop_epoch_A"], 0, TINY_FIG3.epochs_A)
    assert _is_epoch(s["saddle_node_epoch_B"], 1, TINY_FIG3.epochs_B)
    assert s["verdict_A"] in VERDICTS and s["verdict_B"] in VERDICTS
    assert s["n_snapshots_A"] == TINY_FIG3.epochs_A // TINY_FIG3.flow_every_A
    for key in ("paper_seed_A", "paper_seed_B"):
        o = s[key]
        assert o["seed"] == 0 and o["verdict"] in VERDICTS
        assert o["bifurcated"] == bool(o["bifurcations"])
    # the censuses cover every network once and their groups partition the population
    ca, cb = s["census_A"], s["census_B"]
    assert ca["n_networks"] == len(TINY_FIG3.seeds_A) == sum(ca["verdict_counts"].values())
    assert cb["n_networks"] == len(TINY_FIG3.seeds_B) == sum(cb["verdict_counts"].values())
    assert cb["n_stuck"] == (
        cb["n_stuck_after_saddle_node"] + cb["n_stuck_without_bifurcation"] + cb["n_stuck_other"]
    )
    assert cb["n_networks"] == (
        cb["n_stuck"] + cb["n_learned_without_bifurcation"] + cb["n_learned_with_bifurcation"]
        + cb["n_never_learned"]
    )  # fmt: skip
    assert cb["n_stuck"] == s["population_B"]["n_stuck"]
    # every ghost-mediated network's bracket was trained again, bit for bit the same run
    gp = ca["ghost_drop_progress"]
    assert gp["n"] == ca["n_dense"] == ca["n_dense_matching_run"] <= ca["n_ghost_mediated"]
    assert all(math.isfinite(v) for v in gp["by_seed"].values())
    # flow panels: snapshot epochs in increasing order
    for key, every in (("flow_epochs_A", TINY_FIG3.flow_every_A), ("flow_epochs_B", 1)):
        epochs = list(s[key].values())
        assert epochs == sorted(set(epochs)) and all(e % every == 0 for e in epochs)
    _check_claims(s)
    assert len(s["claims"]) == 10


def test_fig3_shows_the_networks_its_rules_pick(fig3_summary, out):
    store = out / "fig3" / "data.zarr"
    rec_a = open_zarr(store, group="A_census")
    rec_b = open_zarr(store, group="B_census")
    assert rec_a["seed"].values.tolist() == TINY_FIG3.seeds_A
    assert rec_b["seed"].values.tolist() == TINY_FIG3.seeds_B
    assert fig3_summary["seed_A"] == census.pick_a(rec_a, 0)[0]
    assert fig3_summary["seed_B"] == census.pick_b(rec_b, 0)[0]
    assert fig3_summary["seed_A_reason"] == census.pick_a(rec_a, 0)[1]
    for group, seed in (("A", fig3_summary["seed_A"]), ("B", fig3_summary["seed_B"])):
        assert int(open_zarr(store, group=group)["seed"].values[0]) == seed


def test_fig3_zarr_holds_training_datasets(fig3_summary, out):
    store = out / "fig3" / "data.zarr"
    for group, every, epochs in (
        ("A", TINY_FIG3.flow_every_A, TINY_FIG3.epochs_A),
        ("B", TINY_FIG3.flow_every_B, TINY_FIG3.epochs_B),
    ):
        ds = open_zarr(store, group=group)
        assert ds["snap_m"].dims == ("net", "snapshot", "unit")
        assert ds.sizes["net"] == 1 and ds.sizes["unit"] == TINY_FIG3.N
        np.testing.assert_array_equal(ds["snapshot"].values, np.arange(0, epochs, every))
        np.testing.assert_array_equal(ds["epoch"].values, np.arange(epochs))
        assert set(ds.data_vars) >= {"loss", "accuracy", "grad_norm", "m", "n", "b"}
    pts = open_zarr(store, group="A_points")
    assert int(pts["n_fixed"].min()) == fig3_summary["n_fixed_min_A"]
    tree = xr.open_datatree(store, engine="zarr")
    assert ("B_paper_seed" in tree.children) == (fig3_summary["seed_B"] != 0)
    assert ("A_paper_seed" in tree.children) == (fig3_summary["seed_A"] != 0)
    pop = open_zarr(store, group="B_population")
    assert pop.sizes["net"] == len(TINY_FIG3.seeds_B)


def test_dense_ghost_bracket_repeats_the_run_bit_for_bit():
    """The bracket re-run is exact whatever the verdicts: inject ghost-mediated records."""
    from ghostlearn.rnn import RNNConfig
    from ghostlearn.train import train

    cfg = dataclasses.replace(TINY_FIG3, epochs_A=600, flow_every_A=100)
    ds = train(RNNConfig(), seeds=[0, 1, 2], lr=0.02, c=10.0, epochs=600,
               snapshot_every=100, init="paper", devices=1)  # fmt: skip
    rows = [
        {"seed": s, "verdict": v, "ghost_before": gb, "drop_onset": 1.0,
         "drop_loss_before": 2.0, "drop_loss_after": 0.02}
        for s, v, gb in ((0, "ghost-mediated", 200.0), (1, "no-abrupt-learning", 200.0),
                         (2, "ghost-mediated", 400.0))
    ]  # fmt: skip
    settings = {"interval": (-15.0, 15.0), "n_grid": 1000, "ghost_tol": 0.5}
    dense = fig3._dense_ghosts(ds, rows, settings, cfg, None, 1)
    assert sorted(dense) == [0, 2]
    for seed, start in ((0, 200), (2, 400)):
        z, table = dense[seed]
        np.testing.assert_array_equal(z["epoch"].values, np.arange(start, start + 100))
        np.testing.assert_array_equal(
            z["loss"].values[0], ds["loss"].values[seed, start : start + 100]
        )
        np.testing.assert_array_equal(
            z["snap_m"].values[0, 0], ds["snap_m"].sel(snapshot=start).values[seed]
        )
        r = rows[seed]
        assert r["matches_run"] is True
        assert start <= r["ghost_epoch"] <= start + 100
        at = float(ds["loss"].values[seed, int(r["ghost_epoch"]) if r["ghost_epoch"] < 600 else -1])
        expected = (math.log10(2.0) - math.log10(at)) / (math.log10(2.0) - math.log10(0.02))
        assert r["drop_progress"] == pytest.approx(expected)
        assert table.attrs["bracket"] == [start, start + 100]
    assert "ghost_epoch" not in rows[1]


def test_stored_run_events_read_back_typed(fig3_summary, out):
    # The analysis events stored with A's points come back as the analysis' own types,
    # from disk as from the Dataset still in memory, and agree with the summary.
    from ghostlearn.analysis.tracking import Bifurcation
    from ghostlearn.analysis.verdict import Verdict
    from ghostlearn.experiments.rank1 import RunEvents, run_events

    pts = open_zarr(out / "fig3" / "data.zarr", group="A_points")
    ev = run_events(pts)
    assert isinstance(ev, RunEvents) and isinstance(ev.verdict, Verdict)
    assert all(isinstance(b, Bifurcation) for b in ev.bifurcations)
    assert ev.verdict.label == fig3_summary["verdict_A"]
    assert (
        sum(not b.is_bifurcation for b in ev.bifurcations) == fig3_summary["boundary_crossings_A"]
    )
    again = RunEvents.from_dict(json.loads(json.dumps(pts.attrs["analysis"])))
    assert again == ev
    with pytest.raises(ValueError, match="analysis events"):
        RunEvents.from_dict({**pts.attrs["analysis"], "extra": 1})


def test_fig3_resume_does_not_recompute(fig3_summary, out, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(fig3, "run", boom)
    again = run_experiment("fig3", out, config=TINY_FIG3)
    assert again == read_json(out / "fig3" / "summary.json")
    assert again["wall_time_s"] == fig3_summary["wall_time_s"]


def test_learnable_c_summary(c_summary, out):
    s = c_summary
    folder = out / "learnable-c"
    for file in ("summary.json", "figure.png", "figure.pdf"):
        assert (folder / file).stat().st_size > 0
    assert s["caption"] == learnable_c.caption(learnable_c.Summary.from_dict(s), TINY_C)
    pop = s["population"]
    assert pop["seeds"] == [3, 0, 1, 2]
    assert s["seed"] in pop["seeds"]
    assert 0 <= pop["n_stuck_recovered"] <= pop["n_stuck_phase1"] <= pop["n_learned_phase1"]
    # the rule, whatever chaos did: the paper seed if it got stuck, else the lowest stuck
    paper_stuck = s["paper_seed_outcome"]["stuck_phase1"]
    assert paper_stuck == (3 in pop["stuck_seeds"])
    fallback = min(pop["stuck_seeds"]) if pop["stuck_seeds"] else 3
    assert s["seed"] == (3 if paper_stuck else fallback)
    # c starts at c_start (phase 1) and at c_reset (phase 2), before any update
    traj = s["c_trajectory"]
    e, c = np.asarray(traj["epoch"]), np.asarray(traj["c"])
    assert c[0] == TINY_C.c_start
    # at epoch `epochs`: phase 1's final c, then phase 2's first snapshot (the reset)
    assert c[np.flatnonzero(e == TINY_C.epochs)[-1]] == TINY_C.c_reset
    assert e[-1] == TINY_C.epochs + TINY_C.epochs_reset
    assert s["c_start"] == TINY_C.c_start and s["c_reset"] == TINY_C.c_reset
    assert isinstance(s["recovered"], bool) and isinstance(s["stuck_phase1"], bool)
    assert 0 <= s["final_accuracy_phase2"] <= 1
    assert s["verdict_phase1"] in VERDICTS
    _check_claims(s)


def test_learnable_c_zarr_and_resume(c_summary, out, monkeypatch):
    store = out / "learnable-c" / "data.zarr"
    p1 = open_zarr(store, group="phase1")
    p2 = open_zarr(store, group="phase2")
    for ds in (p1, p2):
        assert ds["snap_m"].dims == ("net", "snapshot", "unit") and ds.sizes["net"] == 1
        assert "snap_c" in ds and "c_final" in ds
    assert int(p2["epoch"].values[0]) == TINY_C.epochs
    # phase 2 starts from phase 1's final parameters (c reset)
    np.testing.assert_array_equal(p2["snap_m"].values[0, 0], p1["m"].values[0])
    assert float(p2["snap_c"].values[0, 0]) == TINY_C.c_reset

    def boom(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(learnable_c, "run", boom)
    assert run_experiment("learnable-c", out, config=TINY_C) == read_json(
        out / "learnable-c" / "summary.json"
    )


# --------------------------------------------------------------------------- building blocks


def test_oscillation_window_and_escape():
    e = np.arange(1000)
    loss = np.full(1000, 1.0)
    loss[200:210] = np.geomspace(1.0, 0.01, 10)
    loss[210:600] = np.linspace(0.011, 0.01, 390)
    loss[600:800] = np.where(np.arange(200) % 2, 0.1, 0.01)  # one decade every epoch
    loss[800:] = 1e-4
    kw = {"jump": 0.3, "min_jumps": 10}
    osc = census.oscillation(loss, e, 210, **kw)
    assert (osc.start_epoch, osc.end_epoch) == (600, 799)
    assert osc.n_jumps == 200
    assert osc.loss_before == pytest.approx(np.median(loss[550:600]))
    assert osc.loss_final == pytest.approx(1e-4)
    assert osc.escaped is True
    # no lower level after the burst: no escape
    flat = loss.copy()
    flat[800:] = 0.01
    assert census.oscillation(flat, e, 210, **kw).escaped is False
    # a burst running to the end: no escape either
    late = loss.copy()
    late[800:] = np.where(np.arange(200) % 2, 1e-3, 1e-4)
    assert census.oscillation(late, e, 210, **kw).escaped is False
    # smooth curve, or too few jumps: none
    assert census.oscillation(np.geomspace(1, 1e-3, 1000), e, 0, **kw) is None
    few = loss.copy()
    few[600:800] = 0.01
    few[[650, 700]] = 0.1
    assert census.oscillation(few, e, 210, **kw) is None


def test_drop_progress_closed_form():
    assert census.drop_progress(1.0, 0.01, 1.0) == 0.0
    assert census.drop_progress(1.0, 0.01, 0.01) == 1.0
    assert census.drop_progress(1.0, 0.01, 0.1) == pytest.approx(0.5)
    assert census.drop_progress(1.0, 0.01, 2.0) == pytest.approx(-math.log10(2) / 2)
    assert math.isnan(census.drop_progress(0.01, 1.0, 0.1))  # not a drop


def _rec_a(**cols):
    """Injected panel-A records: every field given per network, defaults elsewhere."""
    n = len(cols["seed"])
    base = {
        "verdict": ["no-abrupt-learning"] * n, "learned": [False] * n,
        "bifurcated": [False] * n, "one_fixed_point": [True] * n,
        "drop_onset": [math.nan] * n, "grad_jump": [math.nan] * n,
        "oscillated": [False] * n, "escaped": [False] * n,
        "curvature_onset": [math.nan] * n, "curvature_final": [math.nan] * n,
        "slope_onset": [math.nan] * n, "slope_final": [math.nan] * n,
        "drop_progress": [math.nan] * n, "dense": [False] * n, "matches_run": [False] * n,
    }  # fmt: skip
    base.update(cols)
    return census.records(
        [dict(zip(base, vals, strict=True)) for vals in zip(*base.values(), strict=True)]
    )


def _rec_b(**cols):
    n = len(cols["seed"])
    base = {
        "verdict": ["no-abrupt-learning"] * n, "learned": [False] * n, "stuck": [False] * n,
        "bifurcated": [False] * n, "saddle_node": [False] * n,
        "saddle_node_epoch": [math.nan] * n, "grad_ratio": [math.nan] * n,
    }  # fmt: skip
    base.update(cols)
    return census.records(
        [dict(zip(base, vals, strict=True)) for vals in zip(*base.values(), strict=True)]
    )


def test_census_a_counts_injected_records():
    g, s, n = "ghost-mediated", "stuck-after-bifurcation", "no-abrupt-learning"
    rec = _rec_a(
        seed=[0, 1, 2, 3, 4],
        verdict=[g, g, g, s, n],
        learned=[True, True, True, True, False],
        bifurcated=[False, True, False, True, False],
        one_fixed_point=[True, False, True, False, True],
        drop_onset=[10.0, 20.0, 30.0, 40.0, math.nan],
        grad_jump=[20.0, 5.0, 10.0, math.nan, math.nan],
        oscillated=[True, True, False, False, False],
        escaped=[True, False, False, False, False],
        curvature_onset=[0.4, 0.1, math.nan, math.nan, math.nan],
        curvature_final=[0.9, 0.05, math.nan, math.nan, math.nan],
        slope_onset=[1.0, 1.0, math.nan, math.nan, math.nan],
        slope_final=[2.0, 0.5, math.nan, math.nan, math.nan],
        drop_progress=[0.95, 0.0, 0.5, 0.2, math.nan],
        dense=[True, True, True, False, False],
        matches_run=[True, False, True, False, False],
    )
    c = census.census_a(rec, grad_jump=10.0)
    assert c.n_networks == 5
    assert c.verdict_counts == {g: 3, n: 1, s: 1}
    assert (c.n_learned, c.n_one_fixed_point_throughout, c.n_drop) == (4, 3, 4)
    assert (c.n_ghost_mediated, c.n_ghost_without_bifurcation) == (3, 2)
    gp = c.ghost_drop_progress
    # only ghost-mediated networks count (seed 3's value is not a ghost's)
    assert gp.by_seed == {"0": 0.95, "1": 0.0, "2": 0.5}
    assert (gp.n, gp.n_by_drop_onset, gp.median) == (3, 1, 0.5)
    assert (c.n_oscillated, c.n_escaped) == (2, 1)
    assert c.escaped_curvature == census.EscapedCurvature(
        n_with_ghost_at_both=1, n_curvature_grew=1, n_slope_grew=1, seeds=[0]
    )
    # among the drops: jumps of 20 and 10 reach the threshold (5 does not, NaN is none)
    assert c.n_drop_with_grad_jump == 2
    assert (c.n_drop_one_fixed_point, c.n_drop_oscillated) == (2, 2)
    assert (c.n_dense, c.n_dense_matching_run) == (3, 2)
    assert census.census_a(rec, grad_jump=30.0).n_drop_with_grad_jump == 0
    assert c.text.startswith("3 of 5 networks learned through a ghost (2 without any")


def test_census_b_partitions_injected_records():
    rec = _rec_b(
        seed=[0, 1, 2, 3, 4, 5],
        learned=[True, True, True, True, True, False],
        stuck=[True, True, True, False, False, False],
        bifurcated=[True, False, True, False, True, False],
        saddle_node=[True, False, False, False, True, False],
        grad_ratio=[1e-5, math.nan, math.nan, math.nan, 0.5, math.nan],
    )
    c = census.census_b(rec, flat_ratio=1e-3)
    assert (c.n_learned, c.n_stuck, c.n_never_learned) == (5, 3, 1)
    assert (c.n_stuck_after_saddle_node, c.n_stuck_without_bifurcation) == (1, 1)
    assert (c.n_stuck_other, c.n_learned_without_bifurcation) == (1, 1)
    assert c.n_learned_with_bifurcation == 1
    assert c.grad_ratio == {"0": 1e-5}  # the stuck-after-saddle-node networks only
    assert c.seeds_stuck_after_saddle_node == [0]
    assert c.seeds_stuck_without_bifurcation == [1]
    assert c.n_flat_after_saddle_node == 1
    assert census.census_b(rec, flat_ratio=1e-5).n_flat_after_saddle_node == 0
    # seed 4's ratio (0.5) is below 0.9, but it is not stuck: not counted
    assert census.census_b(rec, flat_ratio=0.9).n_flat_after_saddle_node == 1


@pytest.mark.parametrize(
    ("cols", "paper_seed", "expected"),
    [
        # the paper seed wins within its tier ...
        ({"verdict": ["ghost-mediated"] * 3, "escaped": [True, False, True]}, 2, 2),
        # ... but not over a better tier: escaped beats not escaped
        ({"verdict": ["ghost-mediated"] * 3, "escaped": [False, True, False]}, 2, 1),
        # a bifurcation disqualifies a ghost-mediated run
        (
            {
                "verdict": ["ghost-mediated"] * 3,
                "bifurcated": [True, False, True],
                "escaped": [True, False, True],
            },
            0,
            1,
        ),  # fmt: skip
        # no ghost at all: the lowest seed that learned
        ({"learned": [False, True, True]}, 0, 1),
        # nothing learned: the paper seed
        ({}, 2, 2),
    ],
)
def test_pick_a_rules(cols, paper_seed, expected):
    rec = _rec_a(seed=[0, 1, 2], **cols)
    seed, why = census.pick_a(rec, paper_seed)
    assert seed == expected and f"seed {expected}" in why


@pytest.mark.parametrize(
    ("cols", "paper_seed", "expected"),
    [
        ({"stuck": [True, True, True], "saddle_node": [True, True, True]}, 2, 2),
        ({"stuck": [True, True, True], "saddle_node": [False, True, True]}, 0, 1),
        ({"stuck": [False, True, True], "saddle_node": [True, False, False]}, 0, 1),
        ({"stuck": [False, False, False], "saddle_node": [True, True, True]}, 2, 2),
    ],
)
def test_pick_b_rules(cols, paper_seed, expected):
    rec = _rec_b(seed=[0, 1, 2], **cols)
    assert census.pick_b(rec, paper_seed)[0] == expected


# ---------------------------------------------------------------------- claims, both ways

#: The claims' config: the paper's (A runs its 500,000 epochs, so the escape is tested).
CLAIMS_CFG = fig3.config("paper")


def _outcome(**over):
    """The paper seed's outcome as the claims report it beside the populations."""
    fields = {
        "seed": 40, "verdict": "ghost-mediated", "verdict_reason": "a ghost at the drop",
        "bifurcated": False, "bifurcations": [], "drop_epoch": 1, "ghost_epoch": 1.0,
        "n_fixed_min": 1, "n_fixed_max": 1, "learned": True, "stuck": False,
        "final_loss": 0.01,
    }  # fmt: skip
    return fig3.PaperSeedOutcome(**{**fields, **over})


def _census_a():
    return census.CensusA(
        n_networks=10, verdict_counts={"ghost-mediated": 6}, n_learned=9,
        n_one_fixed_point_throughout=9, n_drop=8, n_ghost_mediated=6,
        n_ghost_without_bifurcation=6,
        ghost_drop_progress=census.GhostDropProgress(
            by_seed={str(s): 0.0 for s in range(6)}, q25=-0.1, median=0.0, q75=0.05, n=6,
            n_by_drop_onset=5,
        ),
        n_oscillated=6, n_escaped=4,
        escaped_curvature=census.EscapedCurvature(
            n_with_ghost_at_both=4, n_curvature_grew=3, n_slope_grew=3, seeds=[1, 2, 3, 4]
        ),
        text="6 of 10 networks learned through a ghost", n_drop_with_grad_jump=7,
        n_drop_one_fixed_point=8, n_drop_oscillated=6, n_dense=6, n_dense_matching_run=6,
    )  # fmt: skip


def _census_b():
    return census.CensusB(
        n_networks=10, verdict_counts={"stuck-after-bifurcation": 6}, n_learned=8, n_stuck=6,
        n_stuck_after_saddle_node=5, n_stuck_without_bifurcation=1, n_stuck_other=0,
        n_learned_without_bifurcation=2, n_learned_with_bifurcation=0, n_never_learned=2,
        grad_ratio={str(s): 1e-6 for s in range(5)}, seeds_stuck_after_saddle_node=[0, 1, 2, 3, 4],
        seeds_stuck_without_bifurcation=[5], text="of 10 networks, 8 learned and 6 got stuck",
        n_flat_after_saddle_node=5,
    )  # fmt: skip


def _set(obj, path, value):
    """``obj`` (a frozen dataclass) with the field at ``path`` (names) replaced."""
    head, *rest = path
    inner = value if not rest else _set(getattr(obj, head), rest, value)
    return dataclasses.replace(obj, **{head: inner})


def _summary(**over):
    """A synthetic fig3 summary in which every population statement holds; ``over`` sets
    fields, nested ones by paths joined with ``__`` (``census_A__n_drop``)."""
    s = fig3.Summary(
        init="paper", devices=1, paper_seed=40, seed_A=40, seed_A_reason="the paper's seed",
        verdict_A="ghost-mediated", verdict_A_reason="a ghost at the drop",
        bifurcation_epochs_A=[], boundary_crossings_A=0, ghost_epoch_A=1000.0,
        n_snapshots_A=500, n_fixed_min_A=1, n_fixed_max_A=1, snapshots_with_ghost_A=400,
        final_loss_A=0.01, grad_jump_min_A=10.0, osc_jump_A=0.3, osc_min_A=10,
        drop_epoch_A=1000, drop_end_epoch_A=1100, drop_size_decades_A=1.5,
        grad_norm_plateau_A=1e-3, grad_norm_after_drop_A=1e-1, grad_norm_peak_in_drop_A=1.0,
        grad_jump_A=100.0, oscillation_A=None, ghost_zoom_A=None, ghost_epoch_A_refined=None,
        flow_epochs_A={"before_drop": 0, "final": 499_000}, panel_epochs_A=[0, 499_000],
        flow_shape_A={}, seed_B=40, seed_B_reason="the paper's seed",
        verdict_B="stuck-after-bifurcation", verdict_B_reason="a saddle-node",
        learned_B=True, stuck_B=True, bifurcations_B=[], flat_ratio=1e-3,
        saddle_node_epoch_B=5160, saddle_node_bracket_B=(5159, 5160),
        saddle_node_kind_B="saddle-node (vanish)", grad_norm_peak_B=1.0,
        grad_norm_before_B=0.1, grad_norm_after_B=1e-9, grad_ratio_after_to_peak_B=1e-9,
        grad_zero_fraction_after_B=0.5, flow_epochs_B={"initial": 0, "final": 5999},
        panel_epochs_B=[0, 5159, 5160], population_B=None,
        paper_seed_A=_outcome(), paper_seed_B=_outcome(stuck=True),
        census_A=_census_a(), census_B=_census_b(), paper_seed_B_saddle_node_epoch=5160.0,
    )  # fmt: skip
    for path, value in over.items():
        s = _set(s, path.split("__"), value)
    return s


def _verdicts(summary, cfg=CLAIMS_CFG):
    return [c.verdict for c in fig3.claims(summary, cfg)]


def test_fig3_claims_all_reproduced_when_present():
    assert _verdicts(_summary()) == ["reproduced"] * 10


@pytest.mark.parametrize(
    ("index", "absent"),
    [
        (0, {"census_A__n_drop_with_grad_jump": 4}),  # the gradient jumps in half only
        (1, {"census_A__n_ghost_without_bifurcation": 3}),  # most learn otherwise
        (2, {"census_A__ghost_drop_progress__median": 0.95}),  # the ghost comes late
        (3, {"census_A__n_drop_one_fixed_point": 2}),  # bifurcations in most
        (4, {"census_A__n_drop_oscillated": 1}),  # no oscillations
        (5, {"census_A__n_escaped": 1}),  # oscillating networks stay there
        (6, {"census_A__escaped_curvature__n_curvature_grew": 0}),  # a flat curvature
        (7, {"census_B__n_stuck_after_saddle_node": 1}),  # stuck without a saddle-node
        (8, {"paper_seed_B_saddle_node_epoch": 4000.0}),  # the paper's network elsewhere
        (8, {"paper_seed_B_saddle_node_epoch": None}),  # or never
        (9, {"census_B__n_flat_after_saddle_node": 0}),  # the gradient stays
    ],
)
def test_fig3_claims_differ_when_absent(index, absent):
    verdicts = _verdicts(_summary(**absent))
    assert verdicts[index] == "differs"
    assert verdicts[:index] + verdicts[index + 1 :] == ["reproduced"] * 9


def test_fig3_claims_without_any_drop_differ():
    """A population with no abrupt drop has none of A's behaviours."""
    zero = {f"census_A__{k}": 0 for k in (
        "n_drop", "n_drop_with_grad_jump", "n_ghost_without_bifurcation",
        "n_drop_one_fixed_point", "n_drop_oscillated")}  # fmt: skip
    assert _verdicts(_summary(**zero))[:5:] == ["differs", "differs", "reproduced", "differs",
                                                "differs"]  # fmt: skip


def test_fig3_claims_judge_by_the_configs_thresholds():
    """The thresholds in the reasons are the config's."""
    cfg = dataclasses.replace(CLAIMS_CFG, grad_jump=3.0, osc_min=7, osc_jump=0.5, flat_ratio=1e-4)
    stated = fig3.claims(_summary(), cfg)
    assert "gradient-norm jump >= 3 " in stated[0].reason
    assert ">= 7 one-epoch log10-loss jumps > 0.5" in stated[4].reason
    assert "< 0.0001 x the peak" in stated[9].reason


@pytest.mark.parametrize(
    ("index", "over", "cfg", "why"),
    [
        (2, {"census_A__ghost_drop_progress__n": 0}, CLAIMS_CFG, "no ghost-mediated network"),
        # A shorter than the paper's 500,000 epochs: the escape cannot be tested
        (5, {}, fig3.config("quick"), "needs paper fidelity"),
        (6, {"census_A__escaped_curvature__n_with_ghost_at_both": 0}, CLAIMS_CFG,
         "no escaped network"),
        (7, {"census_B__n_stuck": 0}, CLAIMS_CFG, "no network got stuck"),
        (8, {"init": "numpy"}, CLAIMS_CFG, "not the same network"),
        (8, {}, dataclasses.replace(CLAIMS_CFG, paper_seed=41), "not the same network"),
        (9, {"census_B__n_stuck_after_saddle_node": 0}, CLAIMS_CFG,
         "no network got stuck after"),
    ],
)  # fmt: skip
def test_fig3_claims_skip_what_the_run_cannot_test(index, over, cfg, why):
    claim = fig3.claims(_summary(**over), cfg)[index]
    assert claim.verdict == "skipped" and why in claim.reason


def test_nearest_snapshot_and_unique_epochs():
    snaps = np.arange(0, 1000, 100)
    assert fig3._nearest_snapshot(snaps, 250, "before") == 200
    assert fig3._nearest_snapshot(snaps, 250, "after") == 300
    assert fig3._nearest_snapshot(snaps, 300, "before") == 300
    assert fig3._nearest_snapshot(snaps, 5000, "after") == 900
    assert fig3._nearest_snapshot(snaps, -5, "before") == 0
    assert fig3._unique_epochs({"b": 300, "a": 100, "c": 300}) == {"a": 100, "b": 300}


def test_resolve_init():
    assert rank1.resolve_init("numpy") == "numpy"
    assert rank1.resolve_init("torch") == "torch"
    assert rank1.resolve_init("auto") == "paper"  # the paper's weights need no PyTorch
    with pytest.raises(
        ValueError, match="init must be one of 'auto', 'numpy', 'paper', 'torch', got 'jax'"
    ):
        rank1.resolve_init("jax")


def test_fidelities():
    paper = fig3.config("paper")
    assert (paper.paper_seed, paper.lr_A, paper.epochs_A, paper.census_A) == (
        40,
        0.003,
        500_000,
        100,
    )
    assert paper.init == "paper" and 40 in paper.seeds_A and 40 in paper.seeds_B
    assert (paper.flow_every_A, paper.lr_B, paper.epochs_B, paper.flow_every_B) == (
        1000,
        0.02,
        6000,
        1,
    )
    assert (paper.population_B, paper.c, paper.N) == (100, 10.0, 100)
    quick = fig3.config("quick")
    assert quick.epochs_A == 200_000 and quick.epochs_B == paper.epochs_B
    assert quick.census_A == paper.census_A == 100
    c = learnable_c.config("paper")
    assert (c.paper_seed, c.lr, c.c_start, c.c_reset, c.epochs, c.epochs_reset) == (
        40,
        0.02,
        10.0,
        1.0,
        10_000,
        10_000,
    )
    for module in (fig3, learnable_c):
        with pytest.raises(ValueError, match="fidelity must be one of 'quick', 'paper', got 'x'"):
            module.config("x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"N": 0}, "N must be >= 1, got 0"),
        ({"c": -1.0}, "c must be > 0, got -1.0"),
        ({"init": "jax"}, "init must be one of 'auto', 'numpy', 'paper', 'torch', got 'jax'"),
        ({"paper_seed": -1}, "paper_seed must be >= 0, got -1"),
        ({"census_A": 0}, "census_A must be >= 1, got 0"),
        ({"chunk_B": 0}, "chunk_B must be >= 1, got 0"),
        ({"devices": 0}, "devices must be >= 1, got 0"),
        ({"lr_A": 0.0}, "lr_A must be > 0, got 0.0"),
        ({"epochs_B": 1}, "epochs_B must be >= 2, got 1"),
        ({"flow_every_A": 0}, "flow_every_A must be >= 1, got 0"),
        ({"epochs_A": 1000, "flow_every_A": 600}, r"flow_every_A must be <= epochs_A / 2 = 500"),
        ({"epochs_B": 100, "flow_every_B": 51}, r"flow_every_B must be <= epochs_B / 2 = 50"),
        ({"zoom_A": 1}, "zoom_A must be a bool, got 1"),
        ({"epochs_B": 100, "last": 101}, "last must be <= epochs_B = 100, got 101"),
        ({"flat_ratio": 1.0}, "flat_ratio must be < 1, got 1.0"),
        ({"grad_jump": 0.5}, "grad_jump must be > 1, got 0.5"),
        ({"osc_jump": math.nan}, "osc_jump must be finite, got nan"),
        ({"osc_min": 0}, "osc_min must be >= 1, got 0"),
        ({"population_B": 1.5}, "population_B must be an integer, got 1.5"),
        ({"kappa_range": (9.0, -9.0)}, "kappa_range must be a finite interval with lo < hi"),
        ({"kappa_range": 9.0}, r"kappa_range must be a pair \(lo, hi\), got 9.0"),
    ],
)
def test_fig3_config_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fig3.Config(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"N": 0}, "N must be >= 1, got 0"),
        ({"c_reset": 0.0}, "c_reset must be > 0, got 0.0"),
        ({"flat_ratio": 2.0}, "flat_ratio must be < 1, got 2.0"),
        ({"epochs": 1}, "epochs must be >= 2, got 1"),
        ({"search": -1}, "search must be >= 0, got -1"),
        ({"epochs_reset": 100, "snapshot_every": 200}, r"snapshot_every must be <= the shorter"),
        ({"last": 0}, "last must be >= 1, got 0"),
        ({"init": "cuda"}, "init must be one of 'auto', 'numpy', 'paper', 'torch', got 'cuda'"),
    ],
)
def test_learnable_c_config_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        learnable_c.Config(**kwargs)
