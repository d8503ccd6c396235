"""The figures of fig4, figS1 and figS2 on tiny runs: panels, axes, sizes and captions.

The figures are checked by their structure (number of panels, axis labels and scales,
legend entries, colour bars, curves per panel), by their size in inches and the PDF page
size, and by their captions; never by their pixels. Which networks learn or get stuck in
a tiny run is chaos, so fig4's curves are also drawn with the stuck flags injected (all
stuck, none stuck): the structure must follow the flags, whatever the training did.
"""

import re

import matplotlib
import numpy as np
import pytest
from figure_checks import pdf_page_points
from matplotlib.collections import LineCollection
from matplotlib.text import Text
from test_experiments_rnn import FIG4_TINY, FIGS1_TINY, FIGS2_TINY

from ghostlearn.experiments import _style, fig4, figS1, figS2

matplotlib.use("Agg")

#: Words that must not appear in labels, titles or legends (raw variable names).
RAW_NAME = re.compile(r"_|\blr\b|\balpha\b|grad_norm")


@pytest.fixture(scope="module")
def runs():
    """Each tiny experiment run once: (module, config, data, summary)."""
    out = {}
    for module, cfg in ((fig4, FIG4_TINY), (figS1, FIGS1_TINY), (figS2, FIGS2_TINY)):
        data = module.run(cfg)
        out[module.NAME] = (module, cfg, data, module.summarize(data, cfg))
    return out


def draw(kind, module, cfg, data, summary):
    """``module.plot`` (kind "main") or ``module.plot_extra`` ("extra") inside the journal style."""
    with _style.journal():
        fn = module.plot if kind == "main" else module.plot_extra
        return fn(data, summary, cfg)


@pytest.fixture(scope="module")
def figures(runs):
    """(name, kind) -> the figure."""
    return {
        (name, kind): draw(kind, *run) for name, run in runs.items() for kind in ("main", "extra")
    }


def panels(fig):
    """The axes of a figure that are panels (not colour bars)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def figure_legend_texts(fig):
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def all_words(fig):
    """Every label, title and legend entry of a figure (colour bars included)."""
    words = []
    for ax in fig.axes:
        words += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), ax.get_title("left")]
        words += legend_texts(ax)
    return [w for w in words + figure_legend_texts(fig) if w]


SIZES = {
    ("fig4", "main"): (_style.COLUMN, fig4.HEIGHT),
    ("fig4", "extra"): (_style.PAGE, fig4.EXTRA_HEIGHT),
    ("figS1", "main"): (_style.COLUMN, figS1.HEIGHT),
    ("figS1", "extra"): (_style.PAGE, figS1.EXTRA_HEIGHT),
    ("figS2", "main"): (_style.PAGE, figS2.HEIGHT),
    ("figS2", "extra"): (_style.PAGE, figS2.EXTRA_HEIGHT),
}


@pytest.mark.parametrize("key", list(SIZES))
def test_size_and_pdf_page(key, figures, tmp_path):
    fig = figures[key]
    width, height = SIZES[key]
    assert width in (_style.COLUMN, _style.PAGE)
    np.testing.assert_allclose(fig.get_size_inches(), (width, height))
    page = pdf_page_points(fig, tmp_path)
    np.testing.assert_allclose(page, [width * 72, height * 72], atol=0.5)
    assert (tmp_path / "f.png").stat().st_size > 0


@pytest.mark.parametrize("key", list(SIZES))
def test_text_is_at_least_7_pt_and_names_no_variables(key, figures):
    fig = figures[key]
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
    assert sizes and min(sizes) >= 7
    for word in all_words(fig):
        assert not RAW_NAME.search(word), word


@pytest.mark.parametrize("key", [k for k in SIZES if k[1] == "extra"])
def test_extra_panels_are_marked_beyond_the_paper(key, figures):
    for ax in panels(figures[key]):
        assert ax.get_title("left").startswith(_style.BEYOND), ax.get_title("left")


@pytest.mark.parametrize("key", [k for k in SIZES if k[1] == "main"])
def test_the_paper_panels_are_not_marked_beyond(key, figures):
    for ax in panels(figures[key]):
        assert _style.BEYOND not in ax.get_title("left")


# --- Fig. 4 ---------------------------------------------------------------------------


def _with_stuck(data, stuck):
    """A copy of fig4's data whose stuck flags are all ``stuck``."""
    tree = data.copy(deep=True)
    rec = tree["recovery"].to_dataset()
    rec["stuck"] = ("seed", np.full(rec.sizes["seed"], stuck))
    tree["recovery"] = rec
    return tree


def test_fig4_the_paper_panels(figures, runs):
    fig = figures[("fig4", "main")]
    ax_a, ax_b = panels(fig)
    assert ax_a.get_ylabel() == "training accuracy"
    assert ax_b.get_ylabel() == "gradient norm" and ax_b.get_yscale() == "log"
    assert ax_b.get_xlabel() == "epoch" and ax_b.xaxis.get_major_formatter() is _style.EPOCH_TICKS
    assert ax_a.get_xscale() == ax_b.get_xscale() == "linear"
    # the run-up from the end of training, then the recovery epochs
    cfg = FIG4_TINY
    assert ax_b.get_xlim() == (cfg.epochs - cfg.runup_epochs, cfg.epochs + cfg.recovery_epochs)
    (bar,) = colorbars(fig)
    assert bar.get_ylabel().startswith("confidence c") and bar.get_yscale() == "log"
    assert "c changed" in legend_texts(ax_a)
    (line,) = [line for line in ax_a.get_lines() if line.get_label() == "c changed"]
    assert list(line.get_xdata()) == [cfg.epochs, cfg.epochs]


@pytest.mark.parametrize("stuck", [True, False])
def test_fig4_curves_follow_the_stuck_networks(runs, stuck):
    module, cfg, data, summary = runs["fig4"]
    injected = _with_stuck(data, stuck)
    summary = module.summarize(injected, cfg)
    fig = draw("main", module, cfg, injected, summary)
    ax_a, ax_b = panels(fig)
    shown = fig4.shown_c(cfg.n_c, summary.control_index, cfg.shown_every)
    assert shown == [2]  # tiny grid of 3 confidences: every third from the control (c = 10)
    for ax in (ax_a, ax_b):
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
        # the run-up at c = 10, then one recovery curve per shown confidence
        assert len(curves) == (1 + len(shown) if stuck else 0)
    legend = legend_texts(ax_a)
    assert (f"training at c = {cfg.c:g}" in legend) == stuck
    texts = [t.get_text() for t in ax_a.texts]
    assert ("no stuck networks" in texts) == (not stuck)


def test_fig4_shown_confidences_match_the_paper():
    # the paper: 10 of the 30 values, every third; counted down from the control c = 10
    shown = fig4.shown_c(30, 29, 3)
    assert len(shown) == 10 and shown[-1] == 29 and np.all(np.diff(shown) == 3)
    assert fig4.shown_c(5, 4, 1) == [0, 1, 2, 3, 4]


def test_fig4_extra_panels(figures):
    fig = figures[("fig4", "extra")]
    ax_a, ax_b, ax_c, ax_d = panels(fig)
    assert ax_a.get_xlabel() == "epoch"
    assert ax_a.xaxis.get_major_formatter() is _style.EPOCH_TICKS
    assert len(legend_texts(ax_b)) == 2
    for ax in (ax_c, ax_d):
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "confidence c during recovery"
        assert len(legend_texts(ax)) >= 3
    assert ax_d.get_yscale() == "log"


def test_fig4_caption(runs):
    module, cfg, _, summary = runs["fig4"]
    text = module.caption(summary, cfg)
    assert text.startswith("Fig. 4.")
    for part in (
        f"{cfg.n_seeds} rank-one RNNs",
        f"N = {cfg.N}",
        f"c = {cfg.c:g}",
        f"α = {cfg.lr:g}",
        f"{cfg.epochs:,} epochs",
        f"last {cfg.last} epochs",
        f"{cfg.recovery_epochs:,} epochs",
        f"{cfg.n_c} confidences",
        f"epochs {cfg.epochs - cfg.runup_epochs:,}-{cfg.epochs + cfg.recovery_epochs - 1:,}",
        "s.e.m.",
        f"{summary.n_learned} RNNs learned",
        f"{summary.n_stuck} of them",
    ):
        assert part in text, part


# --- Fig. S1 --------------------------------------------------------------------------


def test_figS1_the_paper_panel(figures):
    fig = figures[("figS1", "main")]
    (ax,) = panels(fig)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "learning rate α"
    assert ax.get_ylabel().startswith("loss")
    labels = figure_legend_texts(fig)
    for e in FIGS1_TINY.report_epochs:
        assert f"epoch {e:,}" in labels


def test_figS1_coinciding_curves_stay_apart(figures):
    """Each report epoch has its own marker on its own rates, and earlier epochs are drawn
    wider and underneath: curves that coincide (a loss of about 1) stay told apart."""
    (ax,) = panels(figures[("figS1", "main")])
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == FIGS1_TINY.n_lr]
    n = len(FIGS1_TINY.report_epochs)
    assert len(lines) == n
    assert len({line.get_marker() for line in lines}) == n
    assert [line.get_markevery() for line in lines] == [(k, n) for k in range(n)]
    widths = [line.get_linewidth() for line in lines]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == n
    orders = [line.get_zorder() for line in lines]
    assert orders == sorted(orders) and len(set(orders)) == n


def test_figS1_extra_panels(figures):
    fig = figures[("figS1", "extra")]
    ax_a, ax_b = panels(fig)
    for ax in (ax_a, ax_b):
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning rate α"
        assert legend_texts(ax)
    assert ax_b.get_yscale() == "log"
    assert ax_b.yaxis.get_major_formatter() is _style.EPOCH_TICKS


def test_figS1_epoch_axis_has_three_tick_labels_whatever_the_range():
    with _style.journal():
        fig = _style.figure(2.0, _style.COLUMN)
        ax = fig.subplots()
    for values in ([1200.0, 1900.0], [1000.0, 200_000.0], [5000.0]):
        figS1._log_epochs(ax, np.asarray(values))
        lo, hi = ax.get_ylim()
        ticks = [t for t in ax.yaxis.get_majorticklocs() if lo <= t <= hi]
        assert len(ticks) >= 3, (values, ticks)
        labels = [_style.EPOCH_TICKS(t, 0) for t in ticks]
        assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", s) for s in labels), labels


def test_figS1_caption(runs):
    module, cfg, _, summary = runs["figS1"]
    text = module.caption(summary, cfg)
    assert text.startswith("Fig. S1.")
    for part in (
        "100, 200 epochs",
        f"{cfg.n_lr} rates",
        f"seeds 0-{cfg.n_seeds - 1}",
        "τ = 10 ms",
        "Δt = 5 ms",
        "T = 100 ms",
        f"N = {cfg.N} neurons",
        f"c = {cfg.c:g}",
        "x(0) = -0.3",
        f"s.e.m. over {cfg.n_seeds} seeds",
    ):
        assert part in text, part


# --- Fig. S2 --------------------------------------------------------------------------


def test_figS2_the_paper_panels(figures):
    fig = figures[("figS2", "main")]
    axes = panels(fig)
    assert len(axes) == 3
    cfg = FIGS2_TINY
    lrs = cfg.lr_grid
    for ax, j, name in zip(axes, cfg.panel_index, figS2.PANEL_NAMES, strict=True):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert ax.get_xlabel() == "epoch"
        assert ax.xaxis.get_major_formatter() is _style.EPOCH_TICKS
        assert ax.get_title("left") == f"{name}, α = {lrs[j]:.2g}"
        (curves,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        # one normalised loss curve per (rank, seed), rasterized
        assert len(curves.get_segments()) == len(cfg.ranks) * cfg.n_seeds
        assert curves.get_rasterized()
    assert axes[0].get_ylabel() == "loss / first-epoch loss"
    (bar,) = colorbars(fig)
    assert bar.get_ylabel() == "trainable rank K"
    assert [t.get_text() for t in bar.get_yticklabels()] == [str(k) for k in cfg.ranks]


def test_figS2_extra_panels(figures):
    fig = figures[("figS2", "extra")]
    axes = panels(fig)
    assert len(axes) == 6
    heat = [axes[i] for i in (0, 1, 4, 5)]
    for ax in heat:
        assert ax.get_xlabel() == "learning rate α" and ax.get_ylabel() == "trainable rank K"
        assert len(ax.images) == 1
    for ax in (axes[2], axes[3]):
        assert ax.get_xlabel() == "trainable rank K" and legend_texts(ax)
    assert axes[3].get_yscale() == "log"


def test_figS2_caption(runs):
    module, cfg, _, summary = runs["figS2"]
    text = module.caption(summary, cfg)
    assert text.startswith("Fig. S2.")
    lrs = cfg.lr_grid
    for part in (
        "ranks (1, 3)",
        f"{cfg.n_lr} learning rates",
        f"seeds 0-{cfg.n_seeds - 1}",
        f"{cfg.epochs:,} epochs",
        f"N = {cfg.N} neurons",
        "τ = 10 ms",
        f"α = {lrs[cfg.panel_index[0]]:.2g}",
        f"α = {lrs[cfg.panel_index[2]]:.2g}",
        summary.learned_rule,
        "Each line corresponds to a run with a different seed",
    ):
        assert part in text, part
