"""The toy-model experiments (fig1, fig2, toy-scaling) end to end, into a temporary folder."""

import math

import numpy as np
import pytest

from ghostlearn.experiments import fig1, fig2, run_experiment, toy_scaling
from ghostlearn.store import open_tree, open_zarr, read_json

T = 100.0
R_STAR = math.pi**2 / (4 * T**2)
ALPHA_STAR = 3 * math.pi**4 / 32 * T**-5

SMALL_SCALING = toy_scaling.Config(
    n_T=4, rtol=1e-2, points=32, fraction_n_lr=21, fraction_instances=10, fraction_epochs=3000
)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def fig1_summary(out):
    return run_experiment("fig1", out)


@pytest.fixture(scope="module")
def fig2_summary(out):
    return run_experiment("fig2", out)


@pytest.fixture(scope="module")
def scaling_summary(out):
    return run_experiment("toy-scaling", out, config=SMALL_SCALING)


@pytest.mark.parametrize("name", ["fig1", "fig2", "toy-scaling"])
def test_experiment_writes_every_file(name, out, fig1_summary, fig2_summary, scaling_summary):
    folder = out / name
    for file in ("summary.json", "figure.png", "figure.pdf"):
        assert (folder / file).stat().st_size > 0
    assert (folder / "data.zarr").is_dir()
    # the panels beyond the paper are a figure of their own where the paper has a figure
    has_extra = name == "fig2"
    assert (folder / "figure-extra.pdf").exists() == has_extra
    summary = read_json(folder / "summary.json")
    assert summary["experiment"] == name
    assert summary["caption"].startswith("Fig." if name != "toy-scaling" else "Toy model")
    assert summary["claims"]
    for claim in summary["claims"]:
        assert claim["verdict"] in ("reproduced", "differs", "skipped")
        assert claim["reason"]


def test_fig1_summary_and_claims(fig1_summary, out):
    s = fig1_summary
    assert all(n == 0 for n in s["fixed_points_r_positive"])
    assert all(n == 2 for n in s["fixed_points_r_negative"])
    for entry in s["per_r"]:
        r = entry["r"]
        if r > 0:
            assert entry["escape_time"] == pytest.approx(math.pi / (2 * math.sqrt(r)))
        else:
            assert entry["x_final_numeric"] == pytest.approx(-math.sqrt(-r), abs=1e-3)
            assert entry["threshold_time_numeric"] is None  # inf -> null in strict JSON
    assert all(c["verdict"] == "reproduced" for c in s["claims"])
    data = open_zarr(out / "fig1" / "data.zarr")
    assert set(data.data_vars) >= {"flow", "x_closed", "x_numeric", "escape_time"}


def test_fig2_summary_values(fig2_summary):
    s = fig2_summary
    assert s["r_star"] == pytest.approx(R_STAR, rel=1e-14)
    assert s["alpha_star"] == pytest.approx(ALPHA_STAR, rel=1e-14)
    # loss < T/2 exactly when r < 4 r* (L = T - (T/2) sqrt(4 r*/r) above r*): the drop starts
    # there and ends when r reaches r*, and the paper sees it "around epoch 1500"
    assert 1300 <= s["drop_epoch"] < s["epoch_r_below_r_star"] <= 1600
    assert s["drop_epoch"] < s["epoch_loss_below_half_initial"] < s["epoch_r_below_r_star"]
    assert s["r_changed_sign"] is False
    assert s["high_lr_stuck"] is True
    lo, hi = s["alpha_boundary"]
    assert lo < ALPHA_STAR <= hi
    # the grid is logspace(-11, -8, 100): the bracket spans at most a few grid steps
    assert hi / lo < 10 ** (3 * 3 / 99)
    assert s["lr_first_stuck"] >= ALPHA_STAR  # no run below alpha* can get stuck
    # the drop is abrupt: 3/4 of the fall within a window <= 1/5 of the plateau before it
    w = s["drop_window"]
    assert w["start"] <= s["drop_epoch"] < w["end"] <= s["epoch_r_below_r_star"]
    assert w["window"] <= fig2.DROP_MAX_RATIO * w["plateau"]
    assert w["level_before"] == pytest.approx(T * (1 - math.sqrt(0.1)))  # L(10 r*)
    # lower rates need more epochs: the lowest rate below T/2 falls as the epochs go on
    lows = list(s["lowest_lr_below_half_T_by_epoch"].values())
    assert lows == sorted(lows, reverse=True) and lows[-1] < lows[0]
    claims = {c["claim"]: c for c in s["claims"]}
    assert len(claims) == 8
    assert all(c["verdict"] == "reproduced" for c in s["claims"]), [
        c["claim"] for c in s["claims"] if c["verdict"] != "reproduced"
    ]


def test_fig2_data_groups_and_panel_d_seeds(fig2_summary, out):
    tree = open_tree(out / "fig2" / "data.zarr")
    assert {"A", "grad", "BC", "D"} <= set(tree.children)
    d = tree["D"].to_dataset()
    assert d.sizes["lr"] == 100 and d.sizes["instance"] == 10
    np.testing.assert_array_equal(d["epoch"], [0, 1000, 2000, 3000, 5000, 10_000])
    # row i of r0 comes from numpy default_rng(i), bit for bit
    for i in (0, 7, 99):
        expected = np.random.default_rng(i).normal(10 * R_STAR, R_STAR / 10, 10)
        np.testing.assert_array_equal(d["r0"].values[i], expected)
    bc = tree["BC"].to_dataset()
    assert bc.sizes["epoch"] == 3001
    np.testing.assert_allclose(bc["lr"], [1e-10, 1e-9])


def test_toy_scaling_summary(scaling_summary):
    s = scaling_summary
    assert s["alpha_star_exponent"] == pytest.approx(-5.0, abs=0.1)
    assert s["alpha_star_exponent_stderr"] < 0.05
    assert s["max_abs_relative_difference"] <= 0.03
    assert s["stuck_fraction_max_below_alpha_star"] == 0.0
    assert s["reached_r_star_fraction_min_below_alpha_star"] == 1.0
    assert s["alpha_star_prefactor"] == pytest.approx(3 * math.pi**4 / 32, rel=0.05)


def test_second_call_resumes_without_recomputing(fig1_summary, fig2_summary, out):
    for name in ("fig1", "fig2"):
        path = out / name / "summary.json"
        before = path.stat().st_mtime_ns
        again = run_experiment(name, out)
        assert path.stat().st_mtime_ns == before
        assert again == read_json(path)


def test_toy_scaling_resumes_only_with_the_same_config(scaling_summary, out):
    path = out / "toy-scaling" / "summary.json"
    before = path.stat().st_mtime_ns
    run_experiment("toy-scaling", out, config=SMALL_SCALING)
    assert path.stat().st_mtime_ns == before


def test_configs_at_both_fidelities():
    assert fig1.config("quick") == fig1.config("paper")
    assert fig2.config("quick") == fig2.config("paper") == fig2.Config()
    paper = toy_scaling.config("paper")
    assert paper.n_T > toy_scaling.config("quick").n_T
    cfg = fig2.config("paper")  # the paper's parameters
    assert (cfg.T, cfg.dt, cfg.x_thr, cfg.n_r, cfg.epochs_d) == (100.0, 0.1, 10.0, 100, 10_000)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: fig1.Config(x_thr=0.0), "x_thr must be > 0, got 0.0"),
        (lambda: fig1.Config(r_values=(1.0, 2.0)), "r_values must hold at least one value > 0"),
        (lambda: fig1.Config(r_values=(1.0, float("nan"))), "r_values must be finite"),
        (lambda: fig1.Config(n_t=1), "n_t must be >= 2, got 1"),
        (lambda: fig1.Config(x_range=(2.0, 1.0)), "x_range must be a finite interval"),
        (lambda: fig2.Config(T=-1.0), "T must be > 0, got -1.0"),
        (lambda: fig2.Config(dt=0.3), "T/dt must be a whole number"),
        (lambda: fig2.Config(c_loss=()), "c_loss must not be empty"),
        (lambda: fig2.Config(c_grad=(1.0, -2.0)), "c_grad must be > 0, got -2.0"),
        (lambda: fig2.Config(lr_bc=(1e-10,)), "lr_bc must hold two learning rates"),
        (lambda: fig2.Config(epochs_bc=0), "epochs_bc must be >= 1, got 0"),
        (lambda: fig2.Config(instances_d=1), "instances_d must be >= 2, got 1"),
        (lambda: fig2.Config(report_epochs_d=(20_000,)), "report_epochs_d must be <= epochs_d"),
        (lambda: toy_scaling.Config(n_T=2), "n_T must be >= 3, got 2"),
        (lambda: toy_scaling.Config(rtol=1.5), r"rtol must be in \(0, 1\), got 1.5"),
        (lambda: toy_scaling.Config(T_range=(-1.0, 10.0)), "T_range must be > 0, got -1.0"),
        (lambda: toy_scaling.Config(seed=-1), "seed must be >= 0, got -1"),
        (lambda: fig2.config("slow"), "fidelity must be one of 'quick', 'paper', got 'slow'"),
    ],
)
def test_bad_config_is_rejected_with_a_named_message(make, message):
    with pytest.raises(ValueError, match=message):
        make()
