"""dcdt and dmts: the rules on constructed records (learning epochs, the representative, the
drop's portraits and refined window), the claims on injected typed summaries, the
summary's JSON round trip, the config checks, the exact retraining of a window, and one
tiny run of each study end to end.

Which networks learn, and how, is chaos: nothing here depends on the trained outcomes. The
tiny runs are checked for structure and for consistency with their own stored data.
"""

import dataclasses
import json
import math

import matplotlib
import numpy as np
import pytest
from figure_checks import pdf_page_points, visible_texts

from ghostlearn.analysis import VERDICTS
from ghostlearn.experiments import (
    EXPERIMENTS,
    Summary,
    _style,
    dcdt,
    dmts,
    experiment_module,
    run_experiment,
)
from ghostlearn.experiments import latent_tasks as m
from ghostlearn.experiments.base import ENVELOPE_KEYS
from ghostlearn.rnn import RNNConfig
from ghostlearn.store import open_tree, read_json
from ghostlearn.tasks import make_task
from ghostlearn.train import train

matplotlib.use("Agg")

# --------------------------------------------------------------------------------------
# learning epochs


def test_learning_epoch_is_the_end_of_the_first_window_with_half_above():
    acc = np.zeros((3, 400))
    acc[0, 100:] = 0.95  # window ending at j holds j - 99 good epochs: 25 at j = 124
    acc[1, ::2] = 0.9  # every window holds 25 good epochs of 50: the first one counts
    acc[2, 300:] = 0.89  # never at the threshold
    got = m.learning_epochs(acc)
    assert got[0] == 124
    assert got[1] == 49
    assert math.isnan(got[2])
    np.testing.assert_array_equal(m.solved_at_end(acc), [True, True, False])


def test_learning_epoch_counts_nan_as_below_and_keeps_leading_axes():
    acc = np.full((2, 2, 200), 0.95)
    acc[0, 0, :120] = np.nan
    got = m.learning_epochs(acc, window=10)
    assert got.shape == (2, 2)
    assert got[0, 0] == 120 + 5 - 1
    assert got[0, 1] == got[1, 0] == got[1, 1] == 9
    # a window longer than the run is the whole run
    assert m.learning_epochs(np.full(20, 0.95), window=50) == 19
    assert m.learning_epochs([0.95, 0.95, 0.1, 0.1, 0.1], window=4) == 3


def test_learning_epochs_rejects_bad_input():
    with pytest.raises(ValueError, match="window must be >= 1, got 0"):
        m.learning_epochs(np.ones(10), window=0)
    with pytest.raises(ValueError, match="accuracy must have an epoch axis"):
        m.learning_epochs(np.ones(0))


# --------------------------------------------------------------------------------------
# the representative


def test_representative_prefers_ghost_then_bifurcation_then_unexplained_learners():
    v = ["no-abrupt-learning", "bifurcation-mediated", "ghost-mediated", "ghost-mediated"]
    assert m.pick_representative(v, [True, True, False, True], [False, True, True, True])[0] == 3
    assert m.pick_representative(v, [True, True, False, False], [True] * 4)[0] == 1
    w = ["abrupt-unexplained", "stuck-after-bifurcation", "abrupt-unexplained"]
    assert m.pick_representative(w, [False, True, True], [True, True, True])[0] == 2


def test_representative_falls_back_to_learners_then_drops_then_the_first():
    v = ["no-abrupt-learning"] * 3
    pos, rule = m.pick_representative(v, [False, False, True], [False, True, False])
    assert (pos, rule) == (2, "no learner with an abrupt drop; the first learner")
    pos, rule = m.pick_representative(v, [False] * 3, [False, True, True])
    assert (pos, rule) == (1, "no learner; the first network with an abrupt drop")
    pos, rule = m.pick_representative(v, [False] * 3, [False] * 3)
    assert pos == 0 and "first network" in rule
    with pytest.raises(ValueError, match="one equal length"):
        m.pick_representative(v, [True], [True, True, True])


# --------------------------------------------------------------------------------------
# portraits and the refined window


def test_panel_epochs_around_a_drop():
    (before, at, after), (w0, w1) = m.panel_epochs(1000, 1200, min_span=50, epochs=10_000)
    assert (before, at, after) == (800, 1100, 1400)
    assert (w0, w1) == (600, 1601)
    # a drop shorter than min_span is seen over min_span on each side
    (before, at, after), (w0, w1) = m.panel_epochs(1000, 1010, min_span=100, epochs=10_000)
    assert (before, at, after) == (900, 1005, 1110)
    assert (w0, w1) == (800, 1211)


def test_panel_epochs_are_clipped_to_the_run():
    (before, at, after), (w0, w1) = m.panel_epochs(20, 400, min_span=10, epochs=500)
    assert before == 0 and at == 210 and after == 499
    assert (w0, w1) == (0, 500)
    with pytest.raises(ValueError, match="end >= onset"):
        m.panel_epochs(10, 5, min_span=1, epochs=100)
    with pytest.raises(ValueError, match="min_span must be > 0"):
        m.panel_epochs(5, 10, min_span=0, epochs=100)


def test_refine_window_resumes_from_the_coarse_snapshot_before_it():
    w = m.refine_window(1234, 1634, snapshot_every=100, n_fine=200)
    assert w == {"start": 1234, "stop": 1634, "resume": 1200, "every": 2}
    assert m.refine_window(0, 7, snapshot_every=5, n_fine=200)["every"] == 1
    assert m.refine_window(0, 1001, snapshot_every=5, n_fine=100)["every"] == 11
    with pytest.raises(ValueError, match="0 <= start < stop"):
        m.refine_window(10, 10, snapshot_every=5, n_fine=10)


def test_retrained_window_is_the_population_run_with_fine_snapshots():
    cfg = m.Config(task="dcdt", n_seeds=3, N=12, epochs=150, snapshot_every=25, lr=1e-2,
                   devices=1)  # fmt: skip
    ds = train(cfg.model, task=make_task("dcdt"), seeds=[0, 1, 2], lr=cfg.lr, epochs=cfg.epochs,
               snapshot_every=cfg.snapshot_every, devices=1)  # fmt: skip
    window = m.refine_window(60, 111, snapshot_every=25, n_fine=10)
    assert window["resume"] == 50
    fine, diff = m.retrain_window(ds, 1, cfg, window)
    assert diff == 0.0  # the same network, bit for bit
    snaps = fine["snapshot"].values
    assert snaps[0] >= 60 and snaps[-1] < 111
    assert np.all(np.diff(snaps) == window["every"]) and np.all(snaps % window["every"] == 0)
    merged = m.merge_snapshots(ds, 1, fine)
    got = merged["snapshot"].values
    coarse = ds["snapshot"].values
    outside = coarse[(coarse < snaps[0]) | (coarse > snaps[-1])]
    np.testing.assert_array_equal(got, np.union1d(outside, snaps))
    for e in (0, 50, 125):  # coarse snapshots outside the window are the population's
        np.testing.assert_array_equal(
            merged["snap_M"].sel(snapshot=e).values[0], ds["snap_M"].isel(net=1).sel(snapshot=e)
        )
    e = int(snaps[1])
    np.testing.assert_array_equal(merged["snap_M"].sel(snapshot=e).values[0],
                                  fine["snap_M"].sel(snapshot=e).values[0])  # fmt: skip
    np.testing.assert_array_equal(merged["loss"].values[0], ds["loss"].values[1])
    assert fine["epoch"].values[0] == 50 and fine["epoch"].values[-1] == 110
    with pytest.raises(ValueError, match="optimizer must be 'sgd' to resume a window exactly"):
        m.retrain_window(ds, 1, dataclasses.replace(cfg, optimizer="adam"), window)


# --------------------------------------------------------------------------------------
# claims on injected censuses


PAPER = m.config("paper", "dcdt")
QUICK = m.config("quick", "dcdt")


def census(n_learned, n_abrupt, ghost, bif=0, *, n=20, task="dcdt"):
    """A typed summary of ``n`` networks: the first ``n_learned`` learned, the first
    ``n_abrupt`` of them dropped abruptly, ``ghost`` of those ghost-mediated and ``bif``
    bifurcation-mediated; the counts are counted from the networks."""
    labels = (["ghost-mediated"] * ghost + ["bifurcation-mediated"] * bif
              + ["abrupt-unexplained"] * (n_abrupt - ghost - bif)
              + ["no-abrupt-learning"] * (n - n_abrupt))  # fmt: skip
    nets = tuple(
        m.NetworkRecord(
            seed=i,
            verdict=labels[i],
            learned=i < n_learned,
            solved=i < n_learned,
            learn_epoch=2000.0 + i if i < n_learned else None,
            drop_onset=1500.0 + i if i < n_abrupt else None,
            drop_end=1600.0 + i if i < n_abrupt else None,
            plateau_start=200.0 if i < n_abrupt else None,
            drop_decades=1.5 if i < n_abrupt else None,
            fall_start=1400.0,
            fall_end=1700.0,
            fall_ratio=0.25,
            n_bifurcations=int(i < bif),
            max_n_ghosts=int(i < ghost),
            final_loss=0.01,
            final_accuracy=0.97,
        )  # fmt: skip
        for i in range(n)
    )
    counts = dict.fromkeys(VERDICTS, 0)
    learners = dict.fromkeys(VERDICTS, 0)
    for net in nets:
        counts[net.verdict] += 1
        learners[net.verdict] += net.learned
    learned = [net.seed for net in nets if net.learned]
    rep = m.Representative(
        net=0, seed=0, rule="the first learner whose drop is ghost-mediated",
        verdict=labels[0], drop_kind="abrupt drop", drop_onset=1500.0, drop_end=1600.0,
        window=(1300, 1801), fine_every=3, verdict_refined=labels[0],
        reason_refined="a ghost at the drop", refine_loss_max_abs_diff=0.0,
        n_snapshots_refined=1267,
    )  # fmt: skip
    return m.Summary(
        task=task, task_title=m.TASKS[task], optimizer="sgd", lr=1e-3, epochs=110_000,
        n_seeds=n, N=100, rank=2, snapshot_every=100, n_learned=n_learned,
        n_solved=n_learned, n_abrupt=n_abrupt, n_abrupt_learners=n_abrupt,
        learned_seeds=tuple(learned), verdict_counts=counts, verdict_counts_learners=learners,
        census_verdicts=m.VerdictCensus(text=f"{n_learned} of {n} learned", all=counts,
                                        learners=learners),
        learn_epoch_median=2000.0 if learned else None,
        drop_onset_median=1500.0 if n_abrupt else None, networks=nets, representative=rep,
        panel_epochs=(1400, 1550, 1700), panel_labels=m.PANELS, train_wall_time_s=1.5,
        analysis_wall_time_s=0.5, representative_wall_time_s=0.25,
        network_epochs=n * 110_000, solved_accuracy=m.SOLVED_ACCURACY, window=m.WINDOW,
    )  # fmt: skip


def verdicts(summary, cfg=PAPER):
    return [c.verdict for c in m.claims(summary, cfg)]


def test_claims_follow_the_counts():
    assert verdicts(census(8, 6, 4)) == ["reproduced"] * 3
    assert verdicts(census(8, 6, 3, bif=3)) == ["reproduced", "reproduced", "differs"]
    assert verdicts(census(8, 4, 4)) == ["reproduced", "differs", "reproduced"]
    assert verdicts(census(8, 0, 0)) == ["reproduced", "differs", "skipped"]
    assert verdicts(census(0, 0, 0)) == ["differs", "skipped", "skipped"]


def test_claims_flip_at_more_than_half():
    # abrupt: more than half of the learners; ghost-mediated: more than half of those
    assert verdicts(census(8, 5, 5))[1] == "reproduced"
    assert verdicts(census(8, 4, 4))[1] == "differs"
    assert verdicts(census(8, 6, 4))[2] == "reproduced"
    assert verdicts(census(8, 6, 3))[2] == "differs"
    assert verdicts(census(1, 1, 1, n=1)) == ["reproduced"] * 3
    assert verdicts(census(1, 0, 0, n=1))[0] == "reproduced"


def test_claims_are_beyond_the_paper_and_name_their_task():
    rows = m.claims(census(8, 6, 4), PAPER)
    assert all(c.beyond_paper and c.figure == "dcdt" for c in rows)
    assert all("DCDT" in c.claim and c.claim.startswith("beyond the paper") for c in rows)
    assert rows[0].measured == {"learned": 8, "networks": 20}
    assert rows[1].measured == {"abrupt learners": 6, "learners": 8}
    assert rows[2].measured == {"ghost-mediated": 4, "bifurcation-mediated": 0,
                                "abrupt learners": 6}  # fmt: skip
    skipped = m.claims(census(0, 0, 0), PAPER)[2]
    assert skipped.reason.startswith("skipped: no network learned")
    no_drop = m.claims(census(8, 0, 0), PAPER)[2]
    assert no_drop.reason.startswith("skipped: no learner has an abrupt drop")
    other = m.claims(census(8, 6, 4, task="dmts"), m.config("paper", "dmts"))
    assert all(c.figure == "dmts" and "DMTS" in c.claim for c in other)


def test_claims_name_the_run_settings_of_the_config():
    rows = m.claims(census(8, 6, 4), PAPER)
    assert all("plain gradient descent at α = 0.001, 110,000 epochs" in c.reason for c in rows)
    assert not any("Adam" in c.reason for c in rows)
    quick = m.claims(census(8, 6, 4), QUICK)  # the summary says sgd: the config decides
    assert all("Adam at α = 0.001, 2,500 epochs; Adam (quick fidelity), not the authors' "
               "plain gradient descent" in c.reason for c in quick)  # fmt: skip
    other = dataclasses.replace(PAPER, optimizer="rmsprop", lr=0.02, epochs=3000)
    rows = m.claims(census(8, 6, 4), other)
    assert all("Rmsprop at α = 0.02, 3,000 epochs; Rmsprop, not the authors'" in c.reason
               for c in rows)  # fmt: skip


# --------------------------------------------------------------------------------------
# the typed summary and its JSON


def test_summary_round_trips_through_json():
    for s in (census(8, 6, 4), census(0, 0, 0, n=3)):
        d = s.to_dict()
        assert m.Summary.from_dict(json.loads(json.dumps(d, allow_nan=False))).to_dict() == d
        assert m.Summary.from_dict(json.loads(json.dumps(d))) == s
        assert not set(d) & set(ENVELOPE_KEYS)
        assert d["representative"]["window"] == [1300, 1801]
        assert d["networks"][-1]["learn_epoch"] is None
        assert d["census_verdicts"]["all"] == d["verdict_counts"]
    with pytest.raises(ValueError, match="networks"):
        m.Summary.from_dict({**census(1, 0, 0, n=1).to_dict(), "networks": [{"seed": 0}]})
    assert dcdt.Summary is dmts.Summary is m.Summary
    assert issubclass(m.Summary, Summary)


# --------------------------------------------------------------------------------------
# config


def test_configs_at_both_fidelities():
    for module, task in ((dcdt, "dcdt"), (dmts, "dmts")):
        paper, quick = module.config("paper"), module.config("quick")
        assert paper.task == quick.task == task == module.NAME
        assert (paper.n_seeds, paper.N, paper.rank) == (quick.n_seeds, quick.N, quick.rank)
        assert (paper.n_seeds, paper.N, paper.rank) == (20, 100, 2)
        assert paper.optimizer == "sgd" and paper.lr == 1e-3 and paper.epochs >= 100_000
        assert quick.optimizer == "adam" and quick.network_epochs < paper.network_epochs / 20
        assert module.NAME in EXPERIMENTS
    names = list(EXPERIMENTS)
    assert names.index("dcdt") == names.index("rnn-critical-lr") + 1
    assert names.index("dmts") == names.index("dcdt") + 1
    with pytest.raises(ValueError, match="fidelity must be one of"):
        dcdt.config("slow")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "da"}, r"task must be one of 'dcdt', 'dmts', got 'da'"),
        ({"n_seeds": 0}, r"n_seeds must be >= 1, got 0"),
        ({"rank": 1}, r"rank must be >= 2, got 1"),
        ({"N": 4, "rank": 5}, r"rank must be <= N = 4, got 5"),
        ({"optimizer": "lbfgs"}, r"optimizer must be one of"),
        ({"lr": 0.0}, r"lr must be > 0, got 0.0"),
        ({"epochs": 100}, r"epochs must be >= 150, got 100"),
        ({"epochs": 200, "snapshot_every": 200}, r"snapshot_every must be < epochs = 200, got 200"),
        ({"snapshot_every": 0}, r"snapshot_every must be >= 1, got 0"),
        ({"n_fine": 2}, r"n_fine must be >= 3, got 2"),
        ({"n_starts": 0}, r"n_starts must be >= 1, got 0"),
        ({"devices": 0}, r"devices must be >= 1, got 0"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        m.Config(**kwargs)


# --------------------------------------------------------------------------------------
# end to end

TINY = {
    "dcdt": m.Config(task="dcdt", n_seeds=3, N=16, epochs=150, snapshot_every=15,
                     optimizer="adam", lr=3e-3, n_fine=20, n_starts=2, devices=1),
    "dmts": m.Config(task="dmts", n_seeds=2, N=16, epochs=150, snapshot_every=15,
                     optimizer="sgd", lr=0.05, n_fine=20, n_starts=2, devices=1),
}  # fmt: skip


@pytest.fixture(scope="module", params=["dcdt", "dmts"])
def tiny(request, tmp_path_factory):
    name = request.param
    out = tmp_path_factory.mktemp("results")
    calls = []
    summary = run_experiment(name, out, config=TINY[name],
                             progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    return name, out / name, summary, calls


def test_run_writes_every_file_and_claims(tiny):
    name, folder, summary, calls = tiny
    for file in ("summary.json", "figure.png", "figure.pdf"):
        assert (folder / file).stat().st_size > 0
    assert read_json(folder / "summary.json") == summary
    assert summary["caption"].startswith("Beyond the paper")
    assert len(summary["claims"]) == 3
    for claim in summary["claims"]:
        assert claim["figure"] == name and claim["beyond_paper"]
        assert claim["verdict"] in ("reproduced", "differs", "skipped") and claim["reason"]
    total = TINY[name].network_epochs
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_summary_json_is_the_typed_summary_of_the_stored_data(tiny):
    name, folder, summary, _ = tiny
    cfg = TINY[name]
    stored = read_json(folder / "summary.json")
    measured = {k: v for k, v in stored.items() if k not in ENVELOPE_KEYS}
    typed = experiment_module(name).Summary.from_dict(stored)
    assert isinstance(typed, m.Summary) and typed.task == name
    assert typed.to_dict() == measured
    assert m.Summary.from_dict(json.loads(json.dumps(typed.to_dict()))).to_dict() == measured
    # summary.json is summarize of the stored data, its claims and caption those of the type
    again = m.summarize(open_tree(folder / "data.zarr"), cfg)
    assert again.to_dict() == measured
    assert [dataclasses.asdict(c) for c in m.claims(typed, cfg)] == stored["claims"]
    assert m.caption(typed, cfg) == stored["caption"]


def test_census_is_consistent_with_the_stored_records(tiny):
    name, folder, s, _ = tiny
    cfg = TINY[name]
    data = open_tree(folder / "data.zarr")
    c = data["census"].to_dataset()
    assert c.sizes == {"net": cfg.n_seeds, "epoch": cfg.epochs}
    assert s["n_seeds"] == cfg.n_seeds and len(s["networks"]) == cfg.n_seeds
    assert sum(s["verdict_counts"].values()) == cfg.n_seeds
    assert sum(s["verdict_counts_learners"].values()) == s["n_learned"]
    assert set(s["verdict_counts"]) == set(VERDICTS)
    learned = c["learned"].values
    np.testing.assert_array_equal(learned, np.isfinite(c["learn_epoch"].values))
    np.testing.assert_array_equal(c["has_drop"].values, np.isfinite(c["drop_onset"].values))
    np.testing.assert_array_equal(learned, m.learning_epochs(c["accuracy"].values) >= 0)
    assert s["n_learned"] == int(learned.sum())
    assert s["census_verdicts"]["text"].startswith(f"{s['n_learned']} of {cfg.n_seeds} learned")
    for row, verdict in zip(s["networks"], c["verdict"].values, strict=True):
        assert row["verdict"] == verdict and row["learned"] == (row["learn_epoch"] is not None)
        if row["drop_onset"] is not None:
            assert row["plateau_start"] <= row["drop_onset"] <= row["drop_end"]
    rep = s["representative"]
    pos, rule = m.pick_representative(c["verdict"].values.tolist(), learned,
                                      c["has_drop"].values)  # fmt: skip
    assert (rep["net"], rep["rule"]) == (pos, rule)
    assert rep["verdict_refined"] in VERDICTS


def test_representative_portraits_are_its_snapshots_and_trials(tiny):
    name, folder, s, _ = tiny
    cfg = TINY[name]
    data = open_tree(folder / "data.zarr")
    p = data["portraits"].to_dataset()
    one = data["representative"].to_dataset()
    rep = s["representative"]
    epochs = p["epoch"].values
    assert list(epochs) == sorted(epochs) and s["panel_epochs"] == epochs.tolist()
    if rep["drop_kind"] is None:
        assert s["panel_labels"] == ["first snapshot", "middle", "last snapshot"]
    else:
        assert s["panel_labels"] == list(m.PANELS)
    if rep["fine_every"] is None:  # the population's snapshots
        np.testing.assert_array_equal(one["snapshot"].values, np.arange(0, cfg.epochs, 15))
    else:  # plain gradient descent, trained again over the window with fine snapshots
        assert cfg.optimizer == "sgd" and rep["refine_loss_max_abs_diff"] == 0.0
        w0, w1 = rep["window"]
        snaps = one["snapshot"].values
        inside = snaps[(snaps >= w0) & (snaps < w1)]
        assert np.all(np.diff(inside) == rep["fine_every"]) and rep["fine_every"] < 15
    task, model = make_task(name), cfg.model
    trials = task.checked_trials(model)
    assert p["trajectory"].shape == (3, trials.n_trials, trials.n_steps + 1, cfg.rank)
    D = model.D
    for j, e in enumerate(epochs):
        snap = one.sel(snapshot=int(e)).isel(net=0)
        M, Nm = snap["snap_M"].values.astype(float), snap["snap_Nmat"].values.astype(float)
        np.testing.assert_array_equal(p["M"].values[j], snap["snap_M"].values)
        b, W_in = snap["snap_b"].values.astype(float), snap["snap_W_in"].values.astype(float)
        x0 = np.asarray(task.epoch_batch(model, rep["seed"], int(e)).x0, dtype=float)
        # the latent map kappa(t+1) = (1 - D) kappa + D Nmat tanh(M kappa + W_in u_t + b),
        # from kappa(0) = Nmat x(0), is exact for the network's trial
        k = x0 @ Nm.T
        want = [k]
        for t in range(trials.n_steps):
            k = (1 - D) * k + D * np.tanh(k @ M.T + trials.inputs[:, t] @ W_in.T + b) @ Nm.T
            want.append(k)
        np.testing.assert_allclose(p["trajectory"].values[j], np.stack(want, axis=1), atol=2e-4)
    codes = p["point_class"].values
    assert np.all((codes >= -1) & (codes < len(m.POINT_CLASSES)))
    assert np.all(np.isnan(p["point_kappa"].values[codes < 0]))


def test_figure_size_panels_and_text(tiny, tmp_path):
    name, folder, summary, _ = tiny
    data = open_tree(folder / "data.zarr")
    with _style.journal():
        fig = m.plot(data, m.Summary.from_dict(summary), TINY[name])
        np.testing.assert_allclose(fig.get_size_inches(), (_style.PAGE, m.HEIGHT))
        panels = [ax for ax in fig.axes if ax.get_title("left")]
        assert len(panels) == 5
        for ax in panels:
            assert ax.get_title("left").startswith(_style.BEYOND)
        assert [ax.get_xscale() for ax in panels[3:]] == ["log", "linear"]
        assert panels[3].get_ylabel() == "loss"
        labels = [t.get_text() for t in panels[4].get_yticklabels()]
        assert labels == [v for v in VERDICTS if v != "not-determinable"]
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert m.condition_labels(name)[0] in legend
        fig.canvas.draw()
        assert min(t.get_fontsize() for t in visible_texts(fig)) >= 7
        np.testing.assert_allclose(
            pdf_page_points(fig, tmp_path), [_style.PAGE * 72, m.HEIGHT * 72], atol=0.5
        )


def test_condition_labels_follow_the_trials():
    assert m.condition_labels("dcdt") == ["cue +1", "cue −1"]
    labels = m.condition_labels("dmts")
    assert len(labels) == make_task("dmts").checked_trials(RNNConfig()).n_trials
    assert [x.endswith(" match") for x in labels] == [True, True, False, False]
