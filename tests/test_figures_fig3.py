"""Fig. 3 and the learnable-c figure as printed: panels, axes, legends, sizes, captions.

The figures are drawn from tiny runs (whatever the seeds did: training is chaotic, so
nothing here depends on which network learns, gets stuck or bifurcates) and checked by
their axes, never by their pixels.
"""

import dataclasses

import matplotlib
import numpy as np
import pytest
from figure_checks import legend_texts, pdf_page_points, visible_texts

from ghostlearn.experiments import _style, fig3, learnable_c, rank1

matplotlib.use("Agg")

TINY_FIG3 = fig3.Config(
    paper_seed=0,
    census_A=2,
    lr_A=0.02,
    epochs_A=2000,
    flow_every_A=10,
    lr_B=0.1,
    epochs_B=600,
    population_B=2,
    chunk_B=3,
)
TINY_C = learnable_c.Config(
    lr=0.2, epochs=400, epochs_reset=400, paper_seed=3, search=2, snapshot_every=10, last=20
)


@pytest.fixture(scope="module")
def fig3_run():
    data = fig3.run(TINY_FIG3)
    return data, fig3.summarize(data, TINY_FIG3)


@pytest.fixture(scope="module")
def fig3_figures(fig3_run):
    data, summary = fig3_run
    with _style.journal():
        return fig3.plot(data, summary, TINY_FIG3), fig3.plot_extra(data, summary, TINY_FIG3)


@pytest.fixture(scope="module")
def c_run():
    data = learnable_c.run(TINY_C)
    summary = learnable_c.summarize(data, TINY_C)
    with _style.journal():
        fig = learnable_c.plot(data, summary, TINY_C)
    return data, summary, fig


def _check_print_size(fig, tmp_path, stem):
    w, h = fig.get_size_inches()
    assert w == pytest.approx(_style.PAGE) and 0 < h <= _style.MAX_HEIGHT
    assert pdf_page_points(fig, tmp_path, stem) == pytest.approx((w * 72, h * 72), abs=0.01)
    for t in visible_texts(fig):
        assert t.get_fontsize() >= 7, t.get_text()
        assert "_" not in t.get_text(), t.get_text()  # no raw variable names


# ---------------------------------------------------------------------------------- fig3


def test_fig3_draws_the_papers_two_rows(fig3_run, fig3_figures):
    _, summary = fig3_run
    fig, _ = fig3_figures
    assert len(fig.axes) == 4  # A and B: metrics over epochs, flows over kappa
    for row, letter in enumerate("AB"):
        metrics, flows = fig.axes[2 * row], fig.axes[2 * row + 1]
        assert letter in [t.get_text() for t in metrics.texts]  # the panel letter
        assert metrics.get_xlabel() == "epoch" and metrics.get_yscale() == "linear"
        assert metrics.get_ylabel() == "normalised to the maximum"
        assert metrics.xaxis.get_major_formatter() is _style.EPOCH_TICKS
        epochs = getattr(summary, f"panel_epochs_{letter}")
        marks = " ".join(t.get_text() for t in metrics.texts)
        assert "(i" in marks and ("iii" in marks) == (len(epochs) >= 3)
        assert flows.get_xlim() == pytest.approx(TINY_FIG3.kappa_range)
        assert flows.get_xlabel() == "latent variable κ"
        assert flows.get_ylabel() == "f(κ) = τ dκ/dt"
        labels = [t.get_text() for t in flows.get_legend().get_texts()]
        assert labels == rank1.flow_labels(epochs)
        assert labels[0] == f"(i) epoch {epochs[0] + 1:,}"
    key = [t.get_text() for t in fig.legends[0].get_texts()]
    for entry in ("loss / maximum", "gradient norm / maximum", "stable fixed point",
                  "unstable fixed point", "ghost (minimum of |f| off zero)"):  # fmt: skip
        assert entry in key
    assert any(k.startswith("κ(0)") for k in key)
    assert any(k.startswith("readout threshold") for k in key)


def test_fig3_flow_range_follows_the_config(fig3_run):
    data, summary = fig3_run
    cfg = dataclasses.replace(TINY_FIG3, kappa_range=(-4.0, 6.0))
    with _style.journal():
        fig = fig3.plot(data, summary, cfg)
    assert fig.axes[1].get_xlim() == pytest.approx((-4.0, 6.0))
    assert fig.axes[3].get_xlim() == pytest.approx((-4.0, 6.0))


def test_fig3_extra_panels_are_marked_beyond_the_paper(fig3_figures):
    _, extra = fig3_figures
    axes = extra.axes
    assert len(axes) == 6
    for ax in axes:
        assert ax.get_title(loc="left").startswith(_style.BEYOND)
    events, _, counts, bifurcation, census_a, census_b = axes
    assert events.get_yscale() == "log" and bifurcation.get_yscale() == "log"
    assert events.xaxis.get_major_formatter() is _style.EPOCH_TICKS
    assert counts.get_ylabel() == "number in κ ∈ [-15, 15]"
    assert {"loss", "gradient norm"} <= set(legend_texts(extra))
    for ax in (census_a, census_b):
        assert ax.get_xlabel() == "networks" and len(ax.get_yticklabels()) == 7


def test_fig3_figures_print_at_their_size(fig3_figures, tmp_path):
    fig, extra = fig3_figures
    _check_print_size(fig, tmp_path, "figure")
    _check_print_size(extra, tmp_path, "figure-extra")


def test_fig3_caption_names_its_parameters(fig3_run):
    _, s = fig3_run
    cfg = TINY_FIG3
    text = fig3.caption(s, cfg)
    for part in (
        f"N = {cfg.N} neurons", f"c = {cfg.c:g}", f"α = {cfg.lr_A:g}", f"α = {cfg.lr_B:g}",
        f"{cfg.epochs_A:,} epochs", f"{cfg.epochs_B:,} epochs", "representative network",
        f"seed {s.seed_A}", f"seed {s.seed_B}",
        f"A from {len(cfg.seeds_A)} networks", f"B from {len(cfg.seeds_B)} networks",
        f"every {cfg.flow_every_A:,} epochs", f"[{cfg.kappa_range[0]:g}, {cfg.kappa_range[1]:g}]",
        "Red dots", "unstable fixed points", "ghosts",
    ):  # fmt: skip
        assert part in text, part
    assert "_" not in text


def test_fig3_caption_states_bs_outcome_as_measured(fig3_run):
    """The paper's words for B only where the run shows them; else what it measured."""
    _, s = fig3_run
    stuck = dataclasses.replace(s, saddle_node_bracket_B=(9, 10), stuck_B=True,
                                grad_ratio_after_to_peak_B=1e-5)  # fmt: skip
    assert "beyond the point of no return" in fig3.caption(stuck, TINY_FIG3)
    assert "between epochs 10 and 11" in fig3.caption(stuck, TINY_FIG3)  # counted from 1
    for over in ({"stuck_B": False}, {"grad_ratio_after_to_peak_B": 0.5}):
        text = fig3.caption(dataclasses.replace(stuck, **over), TINY_FIG3)
        assert "point of no return" not in text
    assert "did not get stuck" in fig3.caption(dataclasses.replace(stuck, stuck_B=False), TINY_FIG3)
    none = fig3.caption(dataclasses.replace(s, saddle_node_bracket_B=None), TINY_FIG3)
    assert "no saddle-node bifurcation" in none and "point of no return" not in none


def test_paper_flow_epochs_are_the_papers_at_paper_fidelity():
    paper = fig3.config("paper")
    snaps = np.arange(0, paper.epochs_A, paper.flow_every_A)
    epochs = fig3.paper_flow_epochs(snaps, paper.epochs_A)
    assert [rank1.shown_epoch(e) for e in epochs] == [1, 200_001, 499_001]
    quick = fig3.config("quick")
    snaps = np.arange(0, quick.epochs_A, quick.flow_every_A)
    # the same fractions of a 200,000-epoch run, on its last snapshot at the end
    assert fig3.paper_flow_epochs(snaps, quick.epochs_A) == [0, 80_000, 199_000]
    # fractions that meet on one snapshot give it once
    assert fig3.paper_flow_epochs([0, 10], 20) == [0, 10]


def test_seed_list():
    assert rank1.seed_list([*range(100), 40]) == "seeds 0-99"
    assert rank1.seed_list([40, *range(10)]) == "seeds 0-9 and 40"
    assert rank1.seed_list([0, 1, 5]) == "seeds 0, 1 and 5"
    assert rank1.seed_list([3]) == "seed 3"


# --------------------------------------------------------------------------- learnable-c


def test_learnable_c_figure_panels(c_run):
    _, _, fig = c_run
    assert len(fig.axes) == 5
    loss, grad, c, batch, flows = fig.axes
    for ax, letter in zip(fig.axes, "ABCDE", strict=True):
        assert letter in [t.get_text() for t in ax.texts]
    for ax in (loss, grad, c):
        assert ax.get_xlabel() == "epoch"
        assert ax.xaxis.get_major_formatter() is _style.EPOCH_TICKS
        assert f"c → {TINY_C.c_reset:g}" in [t.get_text() for t in ax.texts]
    assert grad.get_yscale() == "log" and grad.get_ylabel() == "gradient norm"
    assert c.get_ylabel() == "confidence c (trained)"
    assert batch.get_xlabel() == "seed" and len(batch.get_xticklabels()) == 3
    assert flows.get_xlim() == pytest.approx(rank1.KAPPA_RANGE)
    assert flows.get_xlabel() == "latent variable κ"
    assert len(flows.get_legend().get_texts()) == 2  # the ends of both phases
    texts = legend_texts(fig)
    for entry in ("loss", "training accuracy", f"c reset to {TINY_C.c_reset:g}",
                  "unstable fixed point", "ghost (minimum of |f| off zero)"):  # fmt: skip
        assert entry in texts
    assert any(t.startswith("end of phase 1 (c trained from") for t in texts)


def test_learnable_c_figure_prints_at_its_size(c_run, tmp_path):
    _check_print_size(c_run[2], tmp_path, "figure")


def test_learnable_c_caption_names_its_parameters(c_run):
    _, s, _ = c_run
    cfg = TINY_C
    text = learnable_c.caption(s, cfg)
    for part in (
        f"N = {cfg.N} neurons", f"α = {cfg.lr:g}", f"c = {cfg.c_start:g}",
        f"c reset to {cfg.c_reset:g}", f"{cfg.epochs:,} epochs", f"{cfg.epochs_reset:,} more",
        f"representative network, seed {s.seed}", f"All {s.population.n_nets} networks",
        "seeds 0, 1 and 3", f"last {cfg.last:,} epochs", "κ(0), where every trial starts",
    ):  # fmt: skip
        assert part in text, part
    assert "_" not in text
