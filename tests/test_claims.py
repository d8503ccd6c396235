"""Every claim of fig1, fig2, toy-scaling, fig4, learnable-c, figS1 and figS2, both ways.

Each claim gets a synthetic measurement where the paper's behaviour is present (verdict
"reproduced") and one where it is absent (a gradual loss curve, a population where nothing
recovers, a flat trend, ...: verdict "differs"); claims that a run may be unable to test
also get a case that is "skipped". The toy figures start from their real (cheap)
summaries; the RNN figures from hand-built typed summaries, or from their ``summarize``
applied to injected training results.
"""

import copy
import dataclasses
import math

import numpy as np
import pytest
import xarray as xr

from ghostlearn import outcomes
from ghostlearn.experiments import fig1, fig2, fig4, figS1, figS2, learnable_c, toy_scaling
from ghostlearn.experiments.base import Summary

MODULES = {
    "fig1": fig1,
    "fig2": fig2,
    "toy-scaling": toy_scaling,
    "fig4": fig4,
    "learnable-c": learnable_c,
    "figS1": figS1,
    "figS2": figS2,
}


def claims_of(name, summary, cfg=None):
    """The claims of ``name`` on ``summary``: a typed summary is judged with ``cfg`` (default
    the quick config), a plain dict as it is."""
    module = MODULES[name]
    if isinstance(summary, Summary):
        return module.claims(summary, module.config("quick") if cfg is None else cfg)
    return module.claims(summary)


def verdict(name, summary, key, cfg=None):
    """The verdict of the one claim of ``name`` whose text contains ``key`` (a string, or a
    tuple of strings that must all occur)."""
    keys = (key,) if isinstance(key, str) else key
    stated = claims_of(name, summary, cfg)
    found = [c for c in stated if all(k in c.claim for k in keys)]
    assert len(found) == 1, [c.claim for c in stated]
    claim = found[0]
    assert claim.reason, claim  # every verdict says why
    if claim.verdict == "skipped":
        assert claim.reason.startswith("skipped: ")
    return claim.verdict


def _set(obj, path, value):
    """``obj`` with the entry at ``path`` (a list of names) replaced: dataclass fields by
    ``dataclasses.replace``, dict entries in a copy."""
    head, *rest = path
    if dataclasses.is_dataclass(obj):
        inner = value if not rest else _set(getattr(obj, head), rest, value)
        return dataclasses.replace(obj, **{head: inner})
    out = copy.copy(obj)
    out[head] = value if not rest else _set(obj[head], rest, value)
    return out


def modified(summary, changes):
    """``summary`` with ``changes`` applied (``"a.b"`` keys reach nested fields or dicts)."""
    out = copy.deepcopy(summary)
    for key, value in changes.items():
        out = _set(out, key.split("."), value)
    return out


# --- bases: the behaviour present everywhere ------------------------------------------


@pytest.fixture(scope="module")
def fig1_base():
    cfg = fig1.config("quick")
    return fig1.summarize(fig1.run(cfg), cfg)


@pytest.fixture(scope="module")
def fig2_base():
    cfg = fig2.config("quick")
    return fig2.summarize(fig2.run(cfg), cfg)


def _gradual_drop():
    """The drop window of a loss that declines steadily from 68 to 2 over 3000 epochs."""
    return outcomes.drop_window(np.linspace(68.0, 2.0, 3001), fraction=fig2.DROP_FRACTION)


#: The critical rate measured at three delays, 1% above the formula, exponent -5.
_TOY_T = [10.0, 100.0, 1000.0]
_TOY_MEASURED = [1.01 * toy_scaling.PREFACTOR * t**-5.0 for t in _TOY_T]
TOY_SCALING = toy_scaling.Summary(
    T=_TOY_T,
    measured=_TOY_MEASURED,
    relative_difference=[0.01, 0.01, 0.01],
    max_abs_relative_difference=0.01,
    min_relative_difference=0.0,
    alpha_star_exponent=-5.002,
    alpha_star_exponent_stderr=0.003,
    alpha_star_prefactor=9.1,
    alpha_star_prefactor_theory=toy_scaling.PREFACTOR,
    fraction_T=100.0,
    stuck_fraction_max_below_alpha_star=0.0,
    stuck_fraction_min_above_alpha_star=1.0,
    reached_r_star_fraction_min_below_alpha_star=1.0,
    all_stuck_from_lr_ratio=1.0,
)


def _counts(k_learned, k_stuck, n=100):
    return fig4.Counts(
        n_nets=n,
        n_learned=k_learned,
        n_stuck=k_stuck,
        n_diverged=0,
        se_learned=fig4.binomial_se(k_learned, n),
        se_stuck=fig4.binomial_se(k_stuck, n),
        z_learned=fig4._z(k_learned, n, fig4.PAPER_LEARNED, fig4.PAPER_NETS),
        z_stuck=fig4._z(k_stuck, n, fig4.PAPER_STUCK, fig4.PAPER_NETS),
        seeds_stuck=list(range(k_stuck)),
    )


#: 54 of 100 networks stuck; at three confidences (the control last) 80%, 30% and none
#: of them recover, and the gradient norm at the first recovery epoch falls with c.
FIG4 = fig4.Summary(
    primary_init="paper",
    n_nets=100,
    n_learned=74,
    n_stuck=54,
    n_diverged=0,
    counts_by_init={"paper": _counts(74, 54), "numpy": _counts(71, 50)},
    paper_counts={"n_nets": 100, "n_learned": 74, "n_stuck": 54},
    count_rule="|k - k_paper| <= 2 sqrt(se^2 + se_paper^2)",
    c_grid=[0.01, 0.3, 10.0],
    control_c=10.0,
    control_index=2,
    shown_c=[0.01, 0.3, 10.0],
    recovery_epochs=100,
    recovery_definition="stuck network with accuracy >= 0.9 at each of the last 10 epochs",
    recovery_definition_lenient="stuck network with accuracy > 0.5 at the last epoch",
    recovered_fraction_by_c=[0.8, 0.3, 0.0],
    recovered_fraction_lenient_by_c=[1.0, 0.6, 0.0],
    recovered_fraction_control=0.0,
    recovered_fraction_lenient_control=0.0,
    best_c=0.01,
    best_recovered_fraction=0.8,
    best_recovered_fraction_lenient=1.0,
    recovered_at_some_lower_c=45,
    recovered_lenient_at_some_lower_c=54,
    final_accuracy_mean_by_c=[0.95, 0.7, 0.5],
    final_accuracy_sem_by_c=[0.01, 0.05, 0.0],
    grad_norm_first_mean_by_c=[1e-2, 1e-4, 1e-9],
    grad_norm_first_sem_by_c=[1e-3, 1e-5, 1e-10],
    grad_norm_last_mean_by_c=[1e-3, 1e-4, 1e-9],
    grad_norm_last_sem_by_c=[1e-4, 1e-5, 1e-10],
    recovery_diverged=0,
)

#: Seed 40 (shown) got stuck with c trained from 10 and recovered after the reset to 1.
_LEARNABLE_C_SEED40 = learnable_c.PhaseOutcome(
    seed=40,
    learned_phase1=True,
    stuck_phase1=True,
    max_accuracy_last_phase1=0.5,
    grad_norm_peak_phase1=1.0,
    grad_norm_end_phase1=1e-6,
    grad_ratio_end_to_peak_phase1=1e-6,
    c_start=10.0,
    c_end_phase1=9.9,
    c_range_phase1=(9.9, 10.0),
    c_reset=1.0,
    c_end_phase2=1.2,
    c_range_phase2=(1.0, 1.2),
    final_accuracy_phase2=1.0,
    max_accuracy_last_phase2=1.0,
    first_epoch_accuracy_above_half_phase2=10_200,
    final_loss_phase2=0.01,
    recovered=True,
    recovered_lenient=True,
)

#: 4 of 10 networks stuck with a flat gradient; 3 of them recover after the reset. The
#: shown network is the paper's seed (its outcome above, at the top level too).
LEARNABLE_C = learnable_c.Summary(
    init="paper",
    paper_seed=40,
    seed=40,
    seed_reason="seed 40 got stuck with a trained c",
    **{
        f.name: getattr(_LEARNABLE_C_SEED40, f.name)
        for f in dataclasses.fields(learnable_c.PhaseOutcome)
        if f.name != "seed"
    },
    c_trajectory=learnable_c.CTrajectory(
        epoch=[0, 10_000, 10_000, 20_000], c=[10.0, 9.9, 1.0, 1.2]
    ),
    verdict_phase2="ghost-mediated",
    verdict_phase1="stuck-after-bifurcation",
    verdict_phase1_reason="a saddle-node bifurcation, then stuck",
    bifurcations_phase1=[],
    flat_ratio=1e-3,
    last=50,
    paper_seed_outcome=_LEARNABLE_C_SEED40,
    population=learnable_c.Population(
        seeds=list(range(10)),
        n_nets=10,
        n_learned_phase1=8,
        n_stuck_phase1=4,
        n_stuck_recovered=3,
        n_stuck_recovered_lenient=4,
        n_stuck_flat_gradient=4,
        recovered_rule="accuracy >= 0.9 at each of the last 10 epochs of phase 2",
        recovered_lenient_rule="max accuracy over the last 50 epochs of phase 2 > 0.5",
        stuck_seeds=[1, 4, 6, 9],
        c_phase1_stuck=[9.9, 9.8, 10.0, 9.9],
        c_phase2_stuck=[1.2, 1.1, 1.3, 1.0],
        grad_ratio_phase1_stuck=[1e-6, 1e-7, 1e-5, 1e-6],
    ),
)


# figS1 and figS2 summaries come from their own summarize on injected training results.

S1_LRS = np.logspace(-3, -1, 8)
S1_CFG = figS1.Config(
    n_seeds=4, n_lr=8, lr_log10=(-3.0, -1.0), report_epochs=(1000, 2000), metrics_every=100
)


def _figS1_data(epochs_to_learn):
    """Loss 1 until each (rate, seed) learns at ``epochs_to_learn[rate]`` (inf: never), then 0.01."""
    epochs = np.arange(0, 2001, 100)
    e_learn = np.broadcast_to(np.asarray(epochs_to_learn, float)[:, None], (8, 4))
    loss = np.where(epochs[None, None, :] >= e_learn[..., None], 0.01, 1.0)
    data = xr.Dataset(
        {
            "loss": (("lr", "seed", "epoch"), loss),
            "diverged": (("lr", "seed"), np.zeros((8, 4), bool)),
        },
        coords={"lr": S1_LRS, "seed": np.arange(4), "epoch": epochs},
    )
    data["loss_mean"] = data["loss"].mean("seed")
    data["loss_sem"] = data["loss"].std("seed", ddof=1) / 2
    data["learned"] = data["loss"] < S1_CFG.ratio * data["loss"].isel(epoch=0)
    return figS1.summarize(data, S1_CFG)


INF = math.inf
#: Lower rates learn later (epochs ~ 1 / rate); the top three rates never learn.
S1_PRESENT = [INF, 1900, 1200, 700, 400, INF, INF, INF]
#: Every learning rate learns at the same epoch: a flat trend.
S1_FLAT = [INF, 500, 500, 500, 500, INF, INF, INF]
#: Only two rates learn: no trend to measure.
S1_TWO = [INF, INF, INF, 700, 400, INF, INF, INF]
#: Nothing learns.
S1_NONE = [INF] * 8

S2_RANKS = [1, 2, 3, 50, 100]  # the last is full rank (N = 100)
S2_LRS = np.logspace(-3, 0, 4)  # 0.001, 0.01, 0.1, 1.0
S2_CFG = figS2.Config(ranks=tuple(S2_RANKS), n_lr=4, n_seeds=2, epochs=1000, metrics_every=50)
S2_FULL = 4


def _s2_cfg(epochs=1000):
    """``S2_CFG`` for a run of ``epochs`` (the gradual-decrease claim reads the config's)."""
    return dataclasses.replace(S2_CFG, epochs=epochs)


def _figS2_data(
    max_lr_index, epochs_to_learn, *, epochs=1000, oscillating=2, stuck=1, full_gradual=True
):
    """Rank i learns (every seed) at the rates up to ``max_lr_index[i]`` (-1: none), at epoch
    ``epochs_to_learn[i]`` (given for a run of 1000 epochs, scaled to ``epochs``): loss 1 and
    accuracy 0.5 before, 0.005 and 1 after. The full rank (K = 100) instead declines
    steadily over the whole run at the lowest rate when ``full_gradual``; the first
    ``oscillating`` of its other learned networks rise 10x once after learning; the last
    ``stuck`` of them fall back to loss 1 and accuracy 0.5 for the second half of the run
    (and count as unlearned)."""
    ep = np.linspace(0, epochs, 21)
    learned = np.zeros((5, 4, 2), bool)
    for i, j in enumerate(max_lr_index):
        learned[i, : j + 1] = True
    etl = np.asarray(epochs_to_learn, float)[:, None, None] * epochs / 1000
    etl = np.where(learned, etl, np.nan)
    after = ep >= etl[..., None]  # NaN: never
    loss = np.where(after, 0.005, 1.0)
    accuracy = np.where(after, 1.0, 0.5)
    if full_gradual:
        loss[S2_FULL, 0, learned[S2_FULL, 0]] = np.linspace(1.0, 0.005, ep.size)
    others = [(j, k) for j in range(1, 4) for k in range(2) if learned[S2_FULL, j, k]]
    for j, k in others[:oscillating]:
        loss[S2_FULL, j, k, -2] = 0.05
    for j, k in others[::-1][:stuck]:
        late = ep >= epochs / 2
        loss[S2_FULL, j, k, late] = 1.0
        accuracy[S2_FULL, j, k, late] = 0.5
        learned[S2_FULL, j, k] = False
    data = xr.Dataset(
        {
            "loss": (("rank", "lr", "seed", "epoch"), loss),
            "accuracy": (("rank", "lr", "seed", "epoch"), accuracy),
            "learned": (("rank", "lr", "seed"), learned),
            "epochs_to_learn": (("rank", "lr", "seed"), etl),
            "diverged": (("rank", "lr", "seed"), np.zeros((5, 4, 2), bool)),
        },
        coords={"rank": S2_RANKS, "lr": S2_LRS, "seed": [0, 1], "epoch": ep},
    )
    return figS2.summarize(data, _s2_cfg(epochs))


#: More ranks: faster and stable at higher rates; only K = 50, 100 learn at lr = 1.
S2_PRESENT = ([1, 1, 2, 3, 3], [900, 800, 600, 200, 100])
#: The low ranks never learn, 50 and 100 alike: the old rule counted the never-learned
#: ranks as slowest and lowest and found a trend.
S2_FLAT = ([-1, -1, -1, 3, 3], [0, 0, 0, 200, 200])
#: Only rank 100 learns.
S2_ONE = ([-1, -1, -1, -1, 3], [0, 0, 0, 0, 100])
#: Every rank learns, rank 2 even at lr = 1 (and the trends reverse).
S2_REVERSED = ([3, 3, 2, 1, 1], [100, 200, 600, 800, 900])


# --- the cases ------------------------------------------------------------------------

FIG1_R_POS = "For r > 0"
FIG1_R_NEG = "For r < 0"


@pytest.mark.parametrize(
    ("key", "changes", "expected"),
    [
        (FIG1_R_POS, {}, "reproduced"),
        (FIG1_R_POS, {"fixed_points_r_positive": [0, 1, 0]}, "differs"),
        (FIG1_R_POS, {"escape_time_max_rel_error": 0.05}, "differs"),
        (FIG1_R_POS, {"fixed_points_r_positive": []}, "differs"),
        (FIG1_R_NEG, {}, "reproduced"),
        (FIG1_R_NEG, {"fixed_points_r_negative": [2, 0]}, "differs"),
        (FIG1_R_NEG, {"settling_max_abs_error": 0.5}, "differs"),
        (FIG1_R_NEG, {"negative_r_reach_threshold": True}, "differs"),
        (FIG1_R_NEG, {"fixed_points_r_negative": []}, "differs"),
    ],
)
def test_fig1_claims(fig1_base, key, changes, expected):
    assert verdict("fig1", modified(fig1_base, changes), key) == expected


DROP = "the loss drops abruptly"
SIGN = "r never changes sign"
OSC = "oscillates near the global minimum"
HIGH = "alpha = 1e-9"
BOUNDARY = "no longer possible"
NUMERIC = "numerical loss"
CONF = "Lowering the confidence"
RATES = "Lower learning rates"


@pytest.mark.parametrize(
    ("key", "changes", "expected"),
    [
        (DROP, {}, "reproduced"),
        # a steady decline from the plateau level to the end: not abrupt
        (DROP, {"drop_window": "gradual"}, "differs"),
        (DROP, {"drop_epoch": 600, "epoch_r_below_r_star": 900}, "differs"),
        (DROP, {"drop_epoch": None, "epoch_r_below_r_star": None, "drop_window": None}, "differs"),
        (SIGN, {}, "reproduced"),
        (SIGN, {"r_changed_sign": True, "r_min_over_r_star": -0.3}, "differs"),
        (SIGN, {"epoch_r_below_r_star": None}, "skipped"),
        (OSC, {}, "reproduced"),
        (OSC, {"r_after_drop_over_r_star": (1.02, 1.1)}, "differs"),  # one side: no oscillation
        (OSC, {"r_after_drop_over_r_star": (0.5, 1.5)}, "differs"),  # not near r*
        (OSC, {"epoch_r_below_r_star": None}, "differs"),
        (HIGH, {}, "reproduced"),
        (HIGH, {"high_lr_stuck": False}, "differs"),
        (BOUNDARY, {}, "reproduced"),
        (BOUNDARY, {"alpha_boundary": (1.1e-9, 1.2e-9)}, "differs"),  # above alpha*
        (BOUNDARY, {"alpha_boundary": (1e-10, 5e-9)}, "differs"),  # far too wide
        (BOUNDARY, {"alpha_boundary": (None, None)}, "differs"),
        (NUMERIC, {}, "reproduced"),
        (NUMERIC, {"loss_error_over_T_c1.euler.minimum": 0.2}, "differs"),
        (CONF, {}, "reproduced"),
        (CONF, {"grad_no_learning_zone_points_out": False}, "differs"),
        (CONF, {"grad_no_learning_zone_median_abs": {"0.1": 1.0, "1.0": 1.0}}, "differs"),
        (RATES, {}, "reproduced"),
        (RATES, {"spearman_lr_vs_final_loss_learned": 0.1}, "differs"),
        (RATES, {"spearman_lr_vs_final_loss_learned": None}, "differs"),
        # every rate that learns has learned by the first report epoch: no "more epochs"
        (RATES, {"lowest_lr_below_half_T_by_epoch": {"1000": 1e-10, "10000": 1e-10}}, "differs"),
    ],
)
def test_fig2_claims(fig2_base, key, changes, expected):
    if changes.get("drop_window") == "gradual":
        changes = {**changes, "drop_window": _gradual_drop()}
    assert verdict("fig2", modified(fig2_base, changes), key) == expected


def test_fig2_drop_window_separates_abrupt_from_gradual(fig2_base):
    """The measured drop is abrupt by the rule; a steady decline is not, by far."""
    real = fig2_base.drop_window
    assert real.ratio <= fig2.DROP_MAX_RATIO
    assert real.start <= fig2_base.drop_epoch < real.end
    gradual = _gradual_drop()
    # a linear fall: the post-drop level (median of the last 20%) is reached at epoch
    # 0.9 * 3000, so 3/4 of the range takes 0.75 * 2700 epochs after 0.25 * 2700: ratio 3
    assert gradual.window == pytest.approx(0.75 * 0.9 * 3000, abs=2)
    assert gradual.ratio == pytest.approx(3.0, rel=0.01)


EXPONENT = "scales as T^-5"
FORMULA = "equals 3 pi^4/32"
BELOW = "Below alpha*"
ABOVE = "For any alpha >= alpha*"


@pytest.mark.parametrize(
    ("key", "changes", "expected"),
    [
        (EXPONENT, {}, "reproduced"),
        (EXPONENT, {"alpha_star_exponent": -4.5}, "differs"),
        (FORMULA, {}, "reproduced"),
        (FORMULA, {"max_abs_relative_difference": 0.2}, "differs"),
        (FORMULA, {"min_relative_difference": -0.02}, "differs"),  # below alpha*: impossible
        (BELOW, {}, "reproduced"),
        (BELOW, {"stuck_fraction_max_below_alpha_star": 0.1}, "differs"),
        # nothing stuck below alpha*, but the runs never reached r* either: not learned
        (BELOW, {"reached_r_star_fraction_min_below_alpha_star": 0.0}, "differs"),
        (
            BELOW,
            {
                "stuck_fraction_max_below_alpha_star": None,
                "reached_r_star_fraction_min_below_alpha_star": None,
            },
            "skipped",
        ),
        (ABOVE, {}, "reproduced"),
        (ABOVE, {"stuck_fraction_min_above_alpha_star": 0.4}, "differs"),
        (ABOVE, {"stuck_fraction_min_above_alpha_star": None}, "skipped"),
    ],
)
def test_toy_scaling_claims(key, changes, expected):
    assert verdict("toy-scaling", modified(TOY_SCALING, changes), key) == expected


LEARNED_PAPER = ("learned the task at some point", "[init = paper")
STUCK_PAPER = ("entered the no-learning zone", "[init = paper")
LEARNED_NUMPY = ("learned the task at some point", "[init = numpy")
STUCK_NUMPY = ("entered the no-learning zone", "[init = numpy")
CONTROL = "control confidence"
RECOVER = "Lowering the confidence lets"
GRADIENT = "non-zero gradients"
NO_STUCK = {  # what cannot be measured without stuck networks is NaN (or None)
    "n_stuck": 0,
    "recovered_fraction_by_c": [math.nan] * 3,
    "recovered_fraction_control": None,
    "recovered_fraction_lenient_control": None,
    "grad_norm_first_mean_by_c": [math.nan] * 3,
}


@pytest.mark.parametrize(
    ("key", "changes", "expected"),
    [
        (LEARNED_PAPER, {}, "reproduced"),
        (LEARNED_PAPER, {"counts_by_init.paper": _counts(50, 40)}, "differs"),
        (STUCK_PAPER, {}, "reproduced"),
        (STUCK_PAPER, {"counts_by_init.paper": _counts(74, 30)}, "differs"),
        (LEARNED_NUMPY, {}, "reproduced"),
        (LEARNED_NUMPY, {"counts_by_init.numpy": _counts(95, 54)}, "differs"),
        (STUCK_NUMPY, {}, "reproduced"),
        (STUCK_NUMPY, {"counts_by_init.numpy": _counts(74, 0)}, "differs"),
        (CONTROL, {}, "reproduced"),
        # no network re-learns at c = 10, but some leave the zone (accuracy > 0.5 at the end)
        (CONTROL, {"recovered_fraction_lenient_control": 0.3}, "differs"),
        (CONTROL, NO_STUCK, "skipped"),
        (RECOVER, {}, "reproduced"),
        # nothing recovers by the strict rule, though all leave the zone by the lenient one
        (
            RECOVER,
            {
                "recovered_fraction_by_c": [0.0, 0.0, 0.0],
                "best_recovered_fraction": 0.0,
                "recovered_at_some_lower_c": 0,
            },
            "differs",
        ),
        (RECOVER, {"recovered_fraction_by_c": [0.4, 0.3, 0.0]}, "differs"),  # a minority
        (  # the control recovers about as many
            RECOVER,
            {"recovered_fraction_by_c": [0.6, 0.3, 0.5], "recovered_fraction_control": 0.5},
            "differs",
        ),
        (RECOVER, NO_STUCK, "skipped"),
        (RECOVER, {"control_index": 0}, "skipped"),  # no c below the control
        (GRADIENT, {}, "reproduced"),
        (GRADIENT, {"grad_norm_first_mean_by_c": [1e-9, 1e-9, 1e-9]}, "differs"),
        (GRADIENT, NO_STUCK, "skipped"),
    ],
)
def test_fig4_claims(key, changes, expected):
    assert verdict("fig4", modified(FIG4, changes), key) == expected


C_STUCK = "networks still get stuck"
C_FLAT = "the gradient is practically zero"
C_RESET = "Resetting c to 1"
C_NONE_STUCK = {
    "population.n_stuck_phase1": 0,
    "population.stuck_seeds": [],
    "population.n_stuck_flat_gradient": 0,
    "population.n_stuck_recovered": 0,
    "population.n_stuck_recovered_lenient": 0,
}


@pytest.mark.parametrize(
    ("key", "changes", "expected"),
    [
        (C_STUCK, {}, "reproduced"),
        (C_STUCK, C_NONE_STUCK, "differs"),
        (C_FLAT, {}, "reproduced"),
        (C_FLAT, {"population.n_stuck_flat_gradient": 2}, "differs"),
        (C_FLAT, C_NONE_STUCK, "skipped"),
        (C_RESET, {}, "reproduced"),
        # every stuck network leaves the zone, none re-learns the task (accuracy >= 0.9)
        (C_RESET, {"population.n_stuck_recovered": 0}, "differs"),
        (C_RESET, {"population.n_stuck_recovered": 1}, "differs"),
        (C_RESET, C_NONE_STUCK, "skipped"),
    ],
)
def test_learnable_c_claims(key, changes, expected):
    assert verdict("learnable-c", modified(LEARNABLE_C, changes), key) == expected


S1_ZONE = "There is a learning rate above which"
S1_SLOWER = "more slowly"


@pytest.mark.parametrize(
    ("key", "etl", "expected"),
    [
        (S1_ZONE, S1_PRESENT, "reproduced"),
        (S1_ZONE, S1_NONE, "differs"),
        (S1_ZONE, [INF, 1900, 1200, 700, 400, 300, 300, INF], "differs"),  # zone of one rate
        (S1_SLOWER, S1_PRESENT, "reproduced"),
        (S1_SLOWER, S1_FLAT, "differs"),
        (S1_SLOWER, [INF, 400, 700, 1200, 1900, INF, INF, INF], "differs"),  # reversed
        (S1_SLOWER, S1_TWO, "skipped"),
        (S1_SLOWER, S1_NONE, "skipped"),
    ],
)
def test_figS1_claims_on_injected_results(key, etl, expected):
    assert verdict("figS1", _figS1_data(etl), key, S1_CFG) == expected


def test_figS1_summary_of_injected_results():
    s = _figS1_data(S1_PRESENT)
    assert s.n_lr_learned == 4 and s.n_lr_no_learning == 3
    assert s.lr_no_learning == pytest.approx(S1_LRS[5])
    assert s.spearman_lr_vs_epochs_to_learn == pytest.approx(-1.0)
    assert _figS1_data(S1_FLAT).spearman_lr_vs_epochs_to_learn is None


S2_FEWER = "learn in fewer epochs"
S2_HIGHER = "survive higher learning rates"
S2_ONLY = "only networks with K = 50 or 100"


@pytest.mark.parametrize(
    ("key", "case", "expected"),
    [
        (S2_FEWER, S2_PRESENT, "reproduced"),
        (S2_FEWER, S2_FLAT, "differs"),
        (S2_FEWER, S2_REVERSED, "differs"),
        (S2_FEWER, S2_ONE, "skipped"),
        (S2_HIGHER, S2_PRESENT, "reproduced"),
        (S2_HIGHER, S2_FLAT, "differs"),
        (S2_HIGHER, S2_REVERSED, "differs"),
        (S2_HIGHER, S2_ONE, "skipped"),
        (S2_ONLY, S2_PRESENT, "reproduced"),
        (S2_ONLY, S2_REVERSED, "differs"),  # rank 1 learns at lr = 1
        (S2_ONLY, ([1, 1, 2, 2, 2], [900, 800, 600, 200, 100]), "differs"),  # none at lr = 1
        (S2_ONLY, S2_FLAT, "skipped"),  # no learned rank below 50 to exclude
        (S2_ONLY, S2_ONE, "skipped"),
    ],
)
def test_figS2_claims_on_injected_results(key, case, expected):
    assert verdict("figS2", _figS2_data(*case), key, S2_CFG) == expected


S2_OSC = "full-rank RNNs still exhibit oscillatory phases"
S2_STUCK = "full-rank RNNs occasionally get stuck"
S2_GRADUAL = "decreases gradually across extended epochs"
PAPER = {"epochs": figS2.PAPER_EPOCHS}


@pytest.mark.parametrize(
    ("key", "options", "changes", "expected"),
    [
        # two full-rank networks rise 10x after learning, and the stuck one falls back
        (S2_OSC, {}, {}, "reproduced"),
        (S2_OSC, {"oscillating": 1, "stuck": 0}, {}, "differs"),  # a single rise
        (S2_OSC, {"oscillating": 0, "stuck": 0}, {}, "differs"),
        (S2_OSC, {}, {"full_rank.present": False}, "skipped"),  # no K = N in the run
        (S2_OSC, {}, {"full_rank.n_learned_at_some_point": 0}, "skipped"),
        # one full-rank network of 8 falls back to accuracy 0.5
        (S2_STUCK, {}, {}, "reproduced"),
        (S2_STUCK, {"stuck": 0}, {}, "differs"),
        (S2_STUCK, {"stuck": 5}, {}, "differs"),  # most of them: not "occasionally"
        (S2_STUCK, {}, {"full_rank.present": False}, "skipped"),
        (S2_STUCK, {}, {"full_rank.n_ever_above_half": 0}, "skipped"),
        # abrupt for K = 1, gradual for K = 100, over the paper's 500k epochs
        (S2_GRADUAL, PAPER, {}, "reproduced"),
        (S2_GRADUAL, {**PAPER, "full_gradual": False}, {}, "differs"),  # K = 100 abrupt too
        (S2_GRADUAL, {}, {}, "skipped"),  # 1000 epochs: needs paper fidelity
        # nothing learned at the low rate at K = 1: nothing to compare
        (S2_GRADUAL, PAPER, {"drop_ratio_median_by_rank.1": None}, "skipped"),
    ],
)
def test_figS2_full_rank_claims_on_injected_results(key, options, changes, expected):
    summary = modified(_figS2_data(*S2_PRESENT, **options), changes)
    cfg = _s2_cfg(options.get("epochs", S2_CFG.epochs))
    assert verdict("figS2", summary, key, cfg) == expected


def test_figS2_gradual_claim_is_never_passed_by_a_short_run():
    stated = figS2.claims(_figS2_data(*S2_PRESENT), S2_CFG)
    claim = [c for c in stated if S2_GRADUAL in c.claim][0]
    assert claim.verdict == "skipped" and claim.reason.startswith("skipped: needs paper fidelity")


def test_figS2_full_rank_counts_of_injected_results():
    full = _figS2_data(*S2_PRESENT).full_rank
    assert full.present and full.K == 100 and full.n_nets == 8
    assert full.n_learned_at_some_point == 8
    assert full.stuck_by_lr == (0, 0, 0, 1) and full.n_stuck == 1
    # the two injected rises (10x) and the stuck network's fall back (200x)
    assert full.n_oscillating == 3 and full.max_jump == pytest.approx(200)
    drop = _figS2_data(*S2_PRESENT, **PAPER).drop_ratio_median_by_rank
    assert drop["1"] <= figS2.ABRUPT_MAX and drop["100"] >= figS2.GRADUAL_MIN


def test_figS2_trends_use_only_the_learned_ranks():
    s = _figS2_data(*S2_FLAT)
    assert s.ranks_learned == (50, 100)
    assert s.spearman_rank_vs_best_epochs is None  # 200 and 200: flat
    assert s.learned_rule == "final loss < 0.01 x first-epoch loss after 1,000 epochs"
    present = _figS2_data(*S2_PRESENT)
    assert present.ranks_learned == tuple(S2_RANKS)
    assert present.spearman_rank_vs_best_epochs == pytest.approx(-1.0)
    assert present.spearman_rank_vs_max_lr > 0.9
    assert present.ranks_learning_at_high_lr == (50, 100)


@pytest.mark.parametrize("name", list(MODULES))
def test_the_present_bases_reproduce_every_claim(name, fig1_base, fig2_base):
    base = {
        "fig1": fig1_base,
        "fig2": fig2_base,
        "toy-scaling": TOY_SCALING,
        "fig4": FIG4,
        "learnable-c": LEARNABLE_C,
        "figS1": None,
        "figS2": None,
    }[name]
    cfg = None  # the quick config
    if name == "figS1":
        base, cfg = _figS1_data(S1_PRESENT), S1_CFG
    elif name == "figS2":
        base = _figS2_data(*S2_PRESENT, epochs=figS2.PAPER_EPOCHS)
        cfg = _s2_cfg(figS2.PAPER_EPOCHS)
    claims = claims_of(name, base, cfg)
    assert claims and all(c.verdict == "reproduced" for c in claims), [
        (c.claim, c.verdict, c.reason) for c in claims if c.verdict != "reproduced"
    ]
