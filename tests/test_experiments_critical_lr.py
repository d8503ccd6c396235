"""rnn-critical-lr: the critical-rate interpolation, the seed bootstrap, the power-law fit,
the claims on injected outcomes, the config checks, and one tiny run end to end.

Which networks learn or get stuck is chaos, so nothing here depends on the trained
outcomes: the claims are tested on synthetic populations whose failure fractions follow a
known law, and the tiny run is checked for consistency with its own stored data.
"""

import dataclasses
import math
import re

import matplotlib
import numpy as np
import pytest
import xarray as xr
from figure_checks import pdf_page_points
from matplotlib.text import Text

from ghostlearn.experiments import _style, run_experiment
from ghostlearn.experiments import rnn_critical_lr as m
from ghostlearn.store import open_zarr, read_json

matplotlib.use("Agg")

#: Words that must not appear in labels, titles or legends (raw variable names).
RAW_NAME = re.compile(r"_|\blr\b|\balpha\b")

# --------------------------------------------------------------------------------------
# critical_rate


def test_critical_rate_interpolates_in_log_between_the_grid_rates():
    lr = np.array([0.01, 0.1, 1.0])
    fractions = np.array(
        [
            [0.0, 0.25, 0.75],  # halfway between 0.1 and 1 -> sqrt(0.1)
            [0.0, 1.0, 1.0],  # halfway between 0.01 and 0.1
            [0.0, 0.5, 1.0],  # exactly at a grid rate
            [0.0, 0.4, 0.6],  # halfway between 0.1 and 1 again
        ]
    )
    got = m.critical_rate(lr, fractions)
    np.testing.assert_allclose(got, [math.sqrt(0.1), math.sqrt(1e-3), 0.1, math.sqrt(0.1)])


def test_critical_rate_takes_the_first_crossing_and_marks_the_grid_ends():
    lr = np.array([0.01, 0.1, 1.0, 10.0])
    # a failure fraction that dips again at high rates: the lowest crossing counts
    assert m.critical_rate(lr, [0.0, 0.6, 0.2, 0.9]) == pytest.approx(0.01 * 10 ** (5 / 6))
    # failures at the lowest rates: the rise above the first rate that works counts
    assert m.critical_rate(lr, [0.6, 0.1, 0.0, 0.7]) == pytest.approx(10 ** (5 / 7))
    assert m.critical_rate(lr, [0.6, 0.0, 0.6, 0.0]) == pytest.approx(0.1 * 10 ** (5 / 6))
    assert m.critical_rate(lr, [0.5, 1.0, 1.0, 1.0]) == 0.0  # half fail everywhere
    assert m.critical_rate(lr, [0.0, 0.1, 0.4, 0.49]) == np.inf  # above the grid
    assert m.critical_rate(lr, [0.9, 0.0, 0.1, 0.2]) == np.inf
    # a dip at the largest rates does not move the first rise
    assert m.critical_rate([*lr, 100.0], [0.15, 0.2, 0.5, 0.85, 0.1]) == pytest.approx(1.0)
    # level is a parameter
    assert m.critical_rate(lr, [0.0, 0.1, 0.4, 0.6], level=0.1) == pytest.approx(0.1)


def test_critical_rate_rejects_bad_grids():
    with pytest.raises(ValueError, match="lr must increase"):
        m.critical_rate([0.1, 0.01], [0.0, 1.0])
    with pytest.raises(ValueError, match="lr must be > 0"):
        m.critical_rate([-0.1, 0.01], [0.0, 1.0])
    with pytest.raises(ValueError, match="fraction must end with the rate axis"):
        m.critical_rate([0.01, 0.1], [0.0, 1.0, 1.0])


# --------------------------------------------------------------------------------------
# bootstrap


def test_bootstrap_indices_are_reproducible_resamples():
    a = m.bootstrap_indices(20, 500, seed=3)
    assert a.shape == (500, 20)
    assert a.min() >= 0 and a.max() <= 19
    np.testing.assert_array_equal(a, m.bootstrap_indices(20, 500, seed=3))
    assert not np.array_equal(a, m.bootstrap_indices(20, 500, seed=4))


def test_bootstrap_of_a_sharp_transition_is_the_point_estimate():
    # every seed succeeds at 0.01 and fails at 0.1: every resample has fractions 0 and 1
    lr = np.array([0.01, 0.1])
    failed = np.array([[False] * 20, [True] * 20])  # [rate, seed]
    idx = m.bootstrap_indices(20, 1000, seed=0)
    frac = m.resampled_fractions(failed, idx)
    assert frac.shape == (1000, 2)
    rates = m.critical_rate(lr, frac)
    np.testing.assert_allclose(rates, math.sqrt(1e-3))
    lo, hi = m.rate_interval(rates)
    assert lo == pytest.approx(math.sqrt(1e-3)) and hi == pytest.approx(math.sqrt(1e-3))


def test_bootstrap_interval_brackets_a_half_failing_rate():
    # half the seeds fail at 0.1: the point estimate is 0.1, resamples scatter around it
    lr = np.array([0.01, 0.1, 1.0])
    failed = np.zeros((3, 20), bool)
    failed[1, :10] = True
    failed[2] = True
    assert m.critical_rate(lr, failed.mean(axis=-1)) == pytest.approx(0.1)
    idx = m.bootstrap_indices(20, 1000, seed=0)
    rates = m.critical_rate(lr, m.resampled_fractions(failed, idx))
    lo, hi = m.rate_interval(rates)
    assert 0.01 < lo < 0.1 < hi < 1.0
    # the same generator seed gives the same interval
    again = m.critical_rate(lr, m.resampled_fractions(failed, m.bootstrap_indices(20, 1000, 0)))
    assert m.rate_interval(again) == (lo, hi)


def test_rate_interval_is_open_beyond_the_grid():
    assert m.rate_interval([0.0] * 50 + [0.3] * 50) == (None, 0.3)
    assert m.rate_interval([0.2] * 50 + [np.inf] * 50) == (0.2, None)
    assert m.rate_interval([np.nan]) == (None, None)
    # plain percentile intervals keep negative values (exponents)
    assert m.percentile_interval([-3.0] * 10 + [-2.0] * 90) == (-3.0, -2.0)


# --------------------------------------------------------------------------------------
# power-law fit

DELAYS = np.array([10.0, 15.0, 20.0, 30.0, 40.0])


def test_power_law_fit_recovers_an_exact_exponent():
    fit = m.fit_power_law(DELAYS, 0.7 * DELAYS**-3.0)
    assert fit.exponent == pytest.approx(-3.0, abs=1e-9)
    assert fit.prefactor == pytest.approx(0.7, rel=1e-9)
    assert fit.interval[0] - 1e-9 <= -3.0 <= fit.interval[1] + 1e-9
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.n == 5
    np.testing.assert_allclose(m.slopes(DELAYS, 0.7 * DELAYS**-3.0), -3.0)


def test_power_law_fit_interval_covers_the_exponent_under_noise():
    rng = np.random.default_rng(1)
    rates = 2.0 * DELAYS**-2.0 * np.exp(rng.normal(0.0, 0.05, DELAYS.size))
    fit = m.fit_power_law(DELAYS, rates)
    lo, hi = fit.interval
    assert lo < -2.0 < hi
    assert hi - lo < 1.0
    # the vectorized slopes agree with the fit, resample by resample
    stack = np.stack([rates, rates * DELAYS**0.5])
    np.testing.assert_allclose(m.slopes(DELAYS, stack), [fit.exponent, fit.exponent + 0.5])


def test_power_law_fit_of_flat_rates_explains_nothing():
    fit = m.fit_power_law(DELAYS, np.full(DELAYS.size, 0.3))
    assert fit.exponent == pytest.approx(0.0, abs=1e-12)
    assert fit.r_squared == 0.0


def test_power_law_fit_rejects_too_few_or_bad_points():
    with pytest.raises(ValueError, match="a fit needs >= 3 points"):
        m.fit_power_law([10.0, 20.0], [0.1, 0.01])
    with pytest.raises(ValueError, match="rates must be > 0"):
        m.fit_power_law(DELAYS, -DELAYS)
    with pytest.raises(ValueError, match="T must not be all equal"):
        m.fit_power_law([10.0] * 3, [0.1] * 3)


# --------------------------------------------------------------------------------------
# claims on injected populations


def synthetic(laws, *, delays=(10, 15, 20, 30, 40), n_seeds=40, n_lr=21):
    """A dataset shaped like ``run``'s output whose failures follow known laws.

    ``laws`` maps each confidence to ``(a, p, log10_range)``: seed ``s`` fails at rate ``lr``
    when ``log(lr / (a T^p))`` exceeds its threshold, the thresholds spread evenly over
    [-0.5, 0.5] (so that half fail at ``a T^p``); failures are stuck networks.
    """
    cs = list(laws)
    cfg = m.Config(
        delays=tuple(delays),
        confidences=tuple(cs),
        lr_log10=tuple(laws[c][2] for c in cs),
        n_lr=n_lr,
        n_seeds=n_seeds,
        n_boot=200,
    )
    lrs = cfg.lr_grid
    thresholds = np.linspace(-0.5, 0.5, n_seeds)
    shape = (len(cs), len(delays), n_lr, n_seeds)
    stuck = np.zeros(shape, bool)
    for i, c in enumerate(cs):
        a, p, _ = laws[c]
        for k, t in enumerate(delays):
            x = np.log(lrs[i] / (a * t**p))
            stuck[i, k] = x[:, None] > thresholds[None, :]
    dims = ("c", "T", "rate", "seed")
    data = xr.Dataset(
        {
            "learned": (dims, np.ones(shape, bool)),
            "stuck": (dims, stuck),
            "diverged": (dims, np.zeros(shape, bool)),
            "solved": (dims, ~stuck),
        },
        coords={
            "c": ("c", np.asarray(cs, float)),
            "T": ("T", np.asarray(delays)),
            "rate": ("rate", np.arange(n_lr)),
            "seed": ("seed", np.arange(n_seeds)),
            "lr": (("c", "rate"), lrs),
            "horizon": (("c", "rate"), cfg.horizons),
        },
        attrs={
            "train_time": cfg.train_time,
            "run_wall_s": 1.0,
            "network_epochs": cfg.network_epochs,
            "network_steps": cfg.network_steps,
        },
    )
    return data, cfg


def verdicts(summary, cfg):
    return {c.claim: c.verdict for c in m.claims(summary, cfg)}


def find(claims, *words):
    (hit,) = [v for k, v in claims.items() if all(w in k for w in words)]
    return hit


@pytest.fixture(scope="module")
def present():
    """c = 10 falls as T^-2, c = 1 as T^-1 and with higher rates at every delay."""
    data, cfg = synthetic({10.0: (2.0, -2.0, (-3.5, -0.5)), 1.0: (3.0, -1.0, (-2.0, 0.0))})
    return data, cfg, m.summarize(data, cfg)


def test_summary_of_a_known_law(present):
    _, _, s = present
    by_c = {e.c: e for e in s.by_c}
    for c, (a, p) in {10.0: (2.0, -2.0), 1.0: (3.0, -1.0)}.items():
        e = by_c[c]
        # log interpolation of a smooth crossing: within a small share of a grid step
        np.testing.assert_allclose(e.critical_rate, a * DELAYS**p, rtol=0.05)
        assert e.exponent == pytest.approx(p, abs=0.05)
        assert e.critical_rate_where == ("grid",) * 5
        lo, hi = e.exponent_interval
        assert lo <= e.exponent <= hi
        for rate, (r_lo, r_hi) in zip(e.critical_rate, e.critical_rate_interval, strict=True):
            assert r_lo <= rate <= r_hi
        assert e.bootstrap_fit_fraction == 1.0
        np.testing.assert_array_equal(e.never_learned_fraction, 0.0)
        np.testing.assert_array_equal(e.stuck_fraction, e.failed_fraction)


def test_claims_present(present):
    _, cfg, s = present
    v = verdicts(s, cfg)
    assert len(v) == 5
    assert all(k.startswith("beyond the paper") for k in v)
    assert set(v.values()) == {"reproduced"}, v


def test_claims_absent_toy_exponent_and_flat_rates():
    # c = 10 follows the toy's T^-5: its exponent does not differ; c = 1 does not depend on T
    data, cfg = synthetic({10.0: (1e3, -5.0, (-6.0, -1.0)), 1.0: (0.3, 0.0, (-2.0, 0.0))})
    s = m.summarize(data, cfg)
    v = verdicts(s, cfg)
    assert find(v, "differs from the toy", "c = 10") == "differs"
    assert find(v, "falls as a power", "c = 10") == "reproduced"
    assert find(v, "falls as a power", "c = 1)") == "differs"
    assert find(v, "differs from the toy", "c = 1)") == "reproduced"


def test_claims_absent_when_the_lower_confidence_has_lower_rates():
    data, cfg = synthetic({10.0: (3.0, -1.0, (-2.0, 0.0)), 1.0: (2.0, -2.0, (-3.5, -0.5))})
    v = verdicts(m.summarize(data, cfg), cfg)
    assert find(v, "lower confidence") == "differs"


def test_claims_absent_when_the_fit_is_poor(present):
    _, cfg, summary = present
    poor = dataclasses.replace(
        summary, by_c=tuple(dataclasses.replace(e, r_squared=0.5) for e in summary.by_c)
    )
    v = verdicts(poor, cfg)
    assert find(v, "falls as a power", "c = 10") == "differs"
    assert find(v, "falls as a power", "c = 1)") == "differs"


def test_claims_skipped_with_fewer_than_three_delays_in_the_grid():
    # c = 10's transition lies above its grid at every delay but the first two
    data, cfg = synthetic({10.0: (2.0, -2.0, (-2.3, -1.5)), 1.0: (3.0, -1.0, (-2.0, 0.0))})
    s = m.summarize(data, cfg)
    e = s.by_c[0]
    assert e.exponent is None
    assert e.critical_rate_where[2:] == ("below the grid",) * 3
    v = verdicts(s, cfg)
    assert find(v, "falls as a power", "c = 10") == "skipped"
    assert find(v, "differs from the toy", "c = 10") == "skipped"
    assert find(v, "falls as a power", "c = 1)") == "reproduced"


def test_figure_of_a_known_law(present):
    data, cfg, summary = present
    with _style.journal():
        fig = m.plot(data, summary, cfg)
    assert len(fig.axes) == 4
    legend_c = [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    fits = [f"c = {e.c:g} (fit: exponent {e.exponent:.2f})" for e in summary.by_c]
    assert legend_c == [*fits, "toy model slope −5 (Eq. 15)"]
    legend_d = [t.get_text() for t in fig.axes[3].get_legend().get_texts()]
    assert "toy model −5 (Eq. 15)" in legend_d
    assert "95% interval (fit and bootstrap)" in legend_d
    assert [t.get_text() for t in fig.axes[3].get_yticklabels()] == ["c = 10", "c = 1"]
    caption = m.caption(summary, cfg)
    for e in summary.by_c:
        assert f"c = {e.c:g}: {e.exponent:.2f} [" in caption


# --------------------------------------------------------------------------------------
# config


def test_configs_at_both_fidelities():
    paper, quick = m.config("paper"), m.config("quick")
    assert paper.delays == (10, 15, 20, 30, 40)
    assert set(quick.delays) <= set(paper.delays) and len(quick.delays) >= 3
    assert paper.n_seeds >= 20
    assert paper.confidences == quick.confidences == (10.0, 1.0)
    assert paper.init == quick.init == "paper" and paper.devices == quick.devices == 1
    assert quick.network_epochs < paper.network_epochs
    for cfg in (paper, quick):
        ratio = cfg.train_time / cfg.lr_grid
        assert np.all(cfg.horizons >= ratio - 1e-6) and np.all(cfg.horizons < ratio + 1)
        assert np.all(cfg.trained_epochs >= cfg.horizons)
        assert np.all(cfg.trained_epochs % cfg.chunk == 0)
        assert np.all(cfg.trained_epochs - cfg.horizons < cfg.chunk)
    with pytest.raises(ValueError, match="fidelity must be one of"):
        m.config("slow")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delays": (10, 20)}, r"delays must hold >= 3 values"),
        ({"delays": (10, 30, 20)}, r"delays must increase"),
        ({"delays": (0, 10, 20)}, r"delays must be >= 1, got 0"),
        ({"confidences": ()}, r"confidences must not be empty"),
        ({"confidences": (10.0, -1.0)}, r"confidences must be > 0, got -1.0"),
        ({"confidences": (10.0, 10.0)}, r"confidences must not repeat"),
        ({"lr_log10": ((-2.0, 0.0),)}, r"lr_log10 must hold one \(lo, hi\) pair per confidence"),
        ({"lr_log10": ((-2.0, 0.0), (1.0, 0.0))}, r"lr_log10 must be a finite interval"),
        ({"n_lr": 1}, r"n_lr must be >= 2, got 1"),
        ({"n_seeds": 1}, r"n_seeds must be >= 2, got 1"),
        ({"train_time": 0.0}, r"train_time must be > 0, got 0.0"),
        ({"last": 0}, r"last must be >= 1, got 0"),
        ({"init": "xavier"}, r"init must be one of"),
        ({"n_boot": 10}, r"n_boot must be >= 100, got 10"),
        ({"boot_seed": -1}, r"boot_seed must be >= 0, got -1"),
        ({"devices": 0}, r"devices must be >= 1, got 0"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        m.Config(**kwargs)


# --------------------------------------------------------------------------------------
# end to end

# Full-size rank-one networks on very short delays, few rates and seeds, lr x epochs = 2.
TINY = m.Config(
    delays=(2, 3, 4),
    lr_log10=((-1.0, 0.0), (-1.0, 0.0)),
    n_lr=3,
    n_seeds=2,
    train_time=2.0,
    n_boot=100,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    calls = []
    summary = run_experiment(m.NAME, out, config=TINY, progress=lambda d, t: calls.append((d, t)))
    return out / m.NAME, summary, calls


def test_run_writes_every_file_and_claims(tiny):
    folder, summary, _ = tiny
    for file in ("summary.json", "figure.png", "figure.pdf"):
        assert (folder / file).stat().st_size > 0
    assert read_json(folder / "summary.json") == summary
    assert summary["caption"].startswith("Beyond the paper")
    assert summary["network_epochs"] == TINY.network_epochs
    assert summary["claims"]
    for claim in summary["claims"]:
        assert claim["figure"] == m.NAME
        assert claim["claim"].startswith("beyond the paper")
        assert claim["verdict"] in ("reproduced", "differs", "skipped")
        assert claim["reason"]


def test_progress_counts_network_epochs(tiny):
    _, _, calls = tiny
    done, total = zip(*calls, strict=True)
    assert set(total) == {TINY.network_epochs}
    assert list(done) == sorted(done) and done[-1] == TINY.network_epochs


def test_stored_outcomes_are_consistent_with_the_summary(tiny):
    folder, summary, _ = tiny
    data = open_zarr(folder / "data.zarr")
    assert dict(data.sizes) == {"c": 2, "T": 3, "rate": 3, "seed": 2}
    np.testing.assert_array_equal(data["horizon"].values, TINY.horizons)
    learned, stuck = data["learned"].values, data["stuck"].values
    solved = data["solved"].values
    assert not np.any(stuck & ~learned)
    assert not np.any(solved & ~learned) and not np.any(solved & stuck)
    np.testing.assert_array_equal(data["first_learned"].values >= 0, learned)
    assert np.all(data["last_correct"].values >= data["first_learned"].values)
    assert np.all(data["last_correct"].values < data["horizon"].values[:, None, :, None])
    failed = ~learned | stuck | data["diverged"].values
    for i, e in enumerate(summary["by_c"]):
        np.testing.assert_allclose(e["failed_fraction"], failed[i].mean(axis=-1))
        np.testing.assert_allclose(e["stuck_fraction"], stuck[i].mean(axis=-1))
        np.testing.assert_allclose(e["never_learned_fraction"], (~learned[i]).mean(axis=-1))
        unsolved = (~data["solved"].values[i]).mean(axis=-1)
        np.testing.assert_allclose(e["unsolved_fraction"], unsolved)
        expect = m.critical_rate(e["lr"], failed[i].mean(axis=-1))
        for got, want in zip(e["critical_rate"], expect, strict=True):
            assert (got is None) == (want == 0 or math.isinf(want))
            if got is not None:
                assert got == pytest.approx(want)


def test_figure_axes_size_and_text(tiny, tmp_path):
    folder, summary, _ = tiny
    data = open_zarr(folder / "data.zarr")
    with _style.journal():
        fig = m.plot(data, m.Summary.from_dict(summary), TINY)
    np.testing.assert_allclose(fig.get_size_inches(), (_style.PAGE, m.HEIGHT))
    axes = fig.axes
    assert len(axes) == 4
    for ax in axes:
        assert ax.get_title("left").startswith(_style.BEYOND)
    for ax in axes[:2]:
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel() == "learning rate α"
        assert ax.get_ylabel() == "fraction of networks"
        assert ax.get_yscale() == "linear"
        assert len(ax.get_lines()) >= 2 * len(TINY.delays)
    assert axes[2].get_xscale() == "log" and axes[2].get_yscale() == "log"
    assert axes[2].get_xlabel() == "delay T (time steps)"
    assert axes[2].get_ylabel() == "critical learning rate α*"
    assert axes[3].get_xscale() == "linear"
    assert axes[3].get_xlabel() == "exponent of α* against T"
    legend_a = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert legend_a == [f"T = {d}" for d in TINY.delays]
    legend_b = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert "stuck or never learned" in legend_b and "never learned" in legend_b
    texts = [t for t in fig.findobj(Text) if t.get_text()]
    assert min(t.get_fontsize() for t in texts) >= 7
    words = [ax.get_xlabel() for ax in axes] + [ax.get_ylabel() for ax in axes]
    words += [ax.get_title("left") for ax in axes]
    for ax in axes:
        legend = ax.get_legend()
        if legend is not None:
            words += [t.get_text() for t in legend.get_texts()]
    for word in words:
        assert not RAW_NAME.search(word), word
    np.testing.assert_allclose(
        pdf_page_points(fig, tmp_path), [_style.PAGE * 72, m.HEIGHT * 72], atol=0.5
    )
