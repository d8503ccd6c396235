"""The toy-model figures (fig1, fig2, toy-scaling) checked by their axes, not their pixels.

Each figure is drawn from a tiny run inside the journal style; the tests read the panels'
labels, scales, legends and markers, the figure's size, the PDF page and the caption.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from figure_checks import pdf_page_points, visible_texts
from matplotlib.lines import Line2D

from ghostlearn.experiments import _style, fig1, fig2, toy_scaling
from ghostlearn.store import write_figure

TINY = {
    "fig1": (fig1, fig1.Config(n_x=101, n_t=201)),
    "fig2": (
        fig2,
        fig2.Config(
            n_r=12,
            c_grad=(0.1, 1.0),
            epochs_bc=2000,
            n_lr_d=6,
            instances_d=2,
            epochs_d=2000,
            report_epochs_d=(1000, 2000),
        ),
    ),
    "toy-scaling": (
        toy_scaling,
        toy_scaling.Config(
            n_T=3,
            T_range=(10.0, 100.0),
            rtol=0.1,
            points=8,
            epochs=2000,
            fraction_n_lr=5,
            fraction_instances=2,
            fraction_epochs=2000,
        ),
    ),
}


@pytest.fixture(scope="module")
def drawn():
    """name -> (module, cfg, data, summary, figure, extra figure or None)."""
    out = {}
    for name, (module, cfg) in TINY.items():
        data = module.run(cfg)
        summary = module.summarize(data, cfg)
        with _style.journal():
            fig = module.plot(data, summary, cfg)
            plot_extra = getattr(module, "plot_extra", None)
            extra = None if plot_extra is None else plot_extra(data, summary, cfg)
        out[name] = (module, cfg, data, summary, fig, extra)
    return out


def figures(drawn):
    for name, (*_, fig, extra) in drawn.items():
        yield name, "figure", fig
        if extra is not None:
            yield name, "figure-extra", extra


FIGURES = [("fig1", "figure"), ("fig2", "figure"), ("fig2", "figure-extra")]
FIGURES += [("toy-scaling", "figure")]


def get(drawn, name, stem):
    return dict(((n, s), f) for n, s, f in figures(drawn))[(name, stem)]


def texts(fig) -> list[str]:
    """Every piece of text a reader sees: titles, axis labels, legends, annotations."""
    out = [t.get_text() for t in fig.texts]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    for ax in fig.axes:
        out += [ax.get_title(loc) for loc in ("left", "center", "right")]
        out += [ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return [t for t in out if t]


def legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def without_math(text: str) -> str:
    return re.sub(r"\$[^$]*\$", "", text)


def test_every_toy_figure_is_drawn(drawn):
    assert sorted(FIGURES) == sorted((n, s) for n, s, _ in figures(drawn))


@pytest.mark.parametrize(("name", "stem"), FIGURES)
def test_figure_has_journal_size_and_its_pdf_page_is_that_size(drawn, name, stem, tmp_path):
    fig = get(drawn, name, stem)
    width, height = fig.get_size_inches()
    assert width in (_style.COLUMN, _style.PAGE)
    assert 0 < height <= _style.MAX_HEIGHT
    page_width, page_height = pdf_page_points(fig, tmp_path, stem)
    assert page_width == pytest.approx(width * 72, abs=0.5)
    assert page_height == pytest.approx(height * 72, abs=0.5)
    assert (tmp_path / f"{stem}.png").stat().st_size > 0


@pytest.mark.parametrize(("name", "stem"), FIGURES)
def test_no_text_is_below_7_points(drawn, name, stem, tmp_path):
    fig = get(drawn, name, stem)
    write_figure(fig, tmp_path, stem=stem)  # drawing creates the tick labels
    sizes = {t.get_text(): t.get_fontsize() for t in visible_texts(fig)}
    assert sizes
    assert min(sizes.values()) >= 7, {k: v for k, v in sizes.items() if v < 7}


@pytest.mark.parametrize(("name", "stem"), FIGURES)
def test_no_raw_variable_names_in_labels_or_legends(drawn, name, stem):
    fig = get(drawn, name, stem)
    for text in texts(fig):
        plain = without_math(text)
        assert not re.search(r"\w_\w", plain), text
        assert not re.search(r"\balpha\b", plain), text
        assert "[t]" not in plain, text  # no invented units


def test_raw_name_check_catches_the_old_legend():
    assert re.search(r"\w_\w", without_math("alpha_boundary"))
    assert not re.search(r"\w_\w", without_math(r"threshold $x_\mathrm{thr}$"))


# --- fig1 -------------------------------------------------------------------------------


def test_fig1_panels_follow_the_paper_then_the_extra_panel(drawn):
    fig = get(drawn, "fig1", "figure")
    ax_pos, ax_neg, ax_traj = fig.axes
    assert [ax.get_xlabel() for ax in fig.axes] == ["x", "x", "time t"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["dx/dt", "dx/dt", "x(t)"]
    assert "r > 0" in ax_pos.get_title("left") and "r < 0" in ax_neg.get_title("left")
    assert ax_traj.get_title("left").startswith(_style.BEYOND)
    assert not ax_pos.get_title("left").startswith(_style.BEYOND)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    for r in fig1.Config().r_values:
        assert f"r = {r:g}" in labels
    for entry in ("x(0) = 0", "stable fixed point", "unstable fixed point"):
        assert entry in labels
    assert any(label.startswith("ghost") for label in labels)
    assert any("no ghost" in label for label in labels)


def _markers_at(ax, x: float, y: float) -> list[Line2D]:
    return [
        line
        for line in ax.get_lines()
        if len(line.get_xdata()) == 1
        and np.isclose(line.get_xdata()[0], x)
        and np.isclose(line.get_ydata()[0], y)
    ]


def test_fig1_marks_the_start_and_only_the_near_zero_slowest_point_as_a_ghost(drawn):
    fig = get(drawn, "fig1", "figure")
    ax_pos, ax_neg, ax_traj = fig.axes
    for ax in fig.axes:  # the red dot x(0) = 0 in every panel
        dots = _markers_at(ax, 0.0, 0.0)
        assert any(d.get_marker() == "o" and d.get_color() == fig1.X0_COLOR for d in dots)
    # r = 1: |f| = 1 at x = 0, an open (white) diamond; r = 0.05: a filled ghost diamond
    (slow,) = [m for m in _markers_at(ax_pos, 0.0, 1.0) if m.get_marker() == "D"]
    (ghost,) = [m for m in _markers_at(ax_pos, 0.0, 0.05) if m.get_marker() == "D"]
    assert slow.get_markerfacecolor() == "white"
    assert ghost.get_markerfacecolor() != "white"
    # fixed points +-sqrt(-r) for r = -1: filled (stable) left, open (unstable) right
    (stable,) = _markers_at(ax_neg, -1.0, 0.0)
    (unstable,) = _markers_at(ax_neg, 1.0, 0.0)
    assert stable.get_markerfacecolor() != "white"
    assert unstable.get_markerfacecolor() == "white"


def test_fig1_ghost_rule():
    assert fig1.is_ghost(0.05, 5.0)
    assert not fig1.is_ghost(1.0, 5.0)  # speed 1 at x = 0: an ordinary slowest point
    assert fig1.is_ghost(1.0, 20.0)  # the same r is a ghost on a larger threshold scale
    assert not fig1.is_ghost(-0.1, 5.0)  # a fixed point, not a ghost
    assert not fig1.is_ghost(0.0, 5.0)


def test_fig1_without_a_ghost_draws_no_ghost_entry():
    cfg = fig1.Config(r_values=(1.0, -1.0), n_x=51, n_t=51)
    data = fig1.run(cfg)
    summary = fig1.summarize(data, cfg)
    with _style.journal():
        fig = fig1.plot(data, summary, cfg)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert not any(label.startswith("ghost") for label in labels)
    assert "ghost (filled diamond)" not in fig1.caption(summary, cfg)


def test_fig1_caption_names_its_parameters(drawn):
    _, cfg, _, summary, *_ = drawn["fig1"]
    text = fig1.caption(summary, cfg)
    assert text.startswith("Fig. 1.")
    assert f"x* = {cfg.x_thr:g}" in text
    assert "x(0) = 0" in text
    for r in cfg.r_values:
        assert f"{r:g}" in text
    assert "beyond the paper" in text
    other = fig1.Config(x_thr=7.0, r_values=(2.0, -0.5), n_x=51, n_t=51)
    other_summary = fig1.summarize(fig1.run(other), other)
    assert "x* = 7" in fig1.caption(other_summary, other)


# --- fig2 -------------------------------------------------------------------------------


def test_fig2_has_the_papers_four_panels_in_order(drawn):
    fig = get(drawn, "fig2", "figure")
    assert len(fig.axes) == 4
    letters = [
        next(t.get_text() for t in ax.texts if t.get_text() in "ABCD" and t.get_text())
        for ax in fig.axes
    ]
    assert letters == ["A", "B", "C", "D"]
    ax_a, ax_b, ax_c, ax_d = fig.axes
    # reading order: A left of B on top, C left of D below
    pos = [ax.get_position() for ax in fig.axes]
    assert pos[0].x0 < pos[1].x0 and pos[2].x0 < pos[3].x0
    assert pos[0].y0 > pos[2].y0 and pos[1].y0 > pos[3].y0
    assert not any(ax.get_title("left").startswith(_style.BEYOND) for ax in fig.axes)
    assert (ax_a.get_xscale(), ax_a.get_yscale()) == ("linear", "linear")
    assert (ax_d.get_xscale(), ax_d.get_yscale()) == ("log", "log")  # the paper's log-log
    assert ax_a.get_xlabel() == "r / r*"
    assert ax_d.get_xlabel() == r"learning rate $\alpha$"
    for ax in (ax_b, ax_c):
        assert ax.get_xlabel() == "epoch"
        assert ax.xaxis.get_major_formatter()(1500.0, 0) == "1,500"


def test_fig2_labels_the_three_regimes_of_the_loss(drawn):
    ax_a = get(drawn, "fig2", "figure").axes[0]
    words = " ".join(t.get_text() for t in ax_a.texts)
    for regime in ("(1) no-learning", "(2) minimum", "(3) saturation"):
        assert regime in words
    labels = legend_labels(ax_a)
    assert "analytic" in labels and any(label.startswith("numerical") for label in labels)


def test_fig2_marks_the_drop_at_the_cliff(drawn):
    _, cfg, data, summary, fig, _ = drawn["fig2"]
    ax_b, ax_c = fig.axes[1], fig.axes[2]
    reached = summary.epoch_r_below_r_star
    for ax in (ax_b, ax_c):
        assert "r reaches r*" in legend_labels(ax)
        (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "r reaches r*"]
        assert line.get_xdata()[0] == reached
    # the marked epoch is where the loss falls fastest on its way down, not its start
    loss = data["BC"]["loss"].isel(lr=0, instance=0).values
    steepest = int(np.argmin(np.diff(loss[: reached + 1]))) + 1
    assert abs(steepest - reached) <= 5
    assert loss[reached] < 0.1 * cfg.T < 0.5 * cfg.T < loss[summary.drop_epoch - 1]
    assert any("of the fall" in label for label in legend_labels(ax_b))
    labels_b = legend_labels(ax_b)
    assert all(label.startswith(r"$\alpha$ = ") for label in labels_b[:2])


def test_fig2_extra_panels_are_marked_beyond_the_paper(drawn):
    extra = get(drawn, "fig2", "figure-extra")
    assert len(extra.axes) == 2
    ax_g, ax_frac = extra.axes
    for ax in extra.axes:
        assert ax.get_title("left").startswith(_style.BEYOND)
    assert ax_g.get_yscale() == "log" and ax_frac.get_xscale() == "log"
    assert [f"c = {c:g}" for c in TINY["fig2"][1].c_grad] == legend_labels(ax_g)[:2]
    assert "none stuck → all stuck" in legend_labels(ax_frac)


def test_fig2_caption_takes_its_numbers_from_the_config_and_summary(drawn):
    _, cfg, _, summary, *_ = drawn["fig2"]
    text = fig2.caption(summary, cfg)
    assert text.startswith("Fig. 2.")
    for part in (
        f"T = {cfg.T:g}",
        f"Δt = {cfg.dt:g}",
        f"x* = {cfg.x_thr:g}",
        "α = 10⁻¹⁰ and 10⁻⁹",  # cfg.lr_bc, printed as powers of ten
        f"{cfg.epochs_bc:,} epochs",
        f"{cfg.n_lr_d} learning rates",
        f"over {cfg.instances_d} instances",
        "epochs 1,000, 2,000",
        f"epoch {summary.epoch_r_below_r_star:,}",
        "α* = 3π⁴/32 T⁻⁵ = 9.13 × 10⁻¹⁰",
        f"within [{summary.r_after_drop_over_r_star[0]:.2f}, ",
    ):
        assert part in text, part
    assert "Beyond the paper" in text
    assert not re.search(r"\de-\d", text)  # no "1e-10" in prose


def test_fig2_caption_reports_what_was_measured_not_what_the_paper_expects(drawn):
    _, cfg, _, summary, *_ = drawn["fig2"]
    failed = dataclasses.replace(
        summary,
        drop_window=None,
        epoch_r_below_r_star=None,
        r_changed_sign=True,
        high_lr_stuck=False,
        alpha_boundary=(None, 1e-9),
    )
    text = fig2.caption(failed, cfg)
    assert f"did not reach r* in {cfg.epochs_bc:,} epochs" in text
    assert "changes sign" in text and "never changes sign" not in text
    assert "does not end stuck" in text
    assert "does not hold both" in text


# --- toy-scaling --------------------------------------------------------------------------


def test_toy_scaling_panels(drawn):
    _, cfg, *_, fig, extra = drawn["toy-scaling"]
    assert extra is None
    assert len(fig.axes) == 3
    ax_fit, ax_rel, ax_frac = fig.axes
    assert (ax_fit.get_xscale(), ax_fit.get_yscale()) == ("log", "log")
    assert (ax_rel.get_xscale(), ax_rel.get_yscale()) == ("log", "linear")
    assert ax_fit.get_xlabel() == ax_rel.get_xlabel() == "delay T"
    assert ax_frac.get_ylabel() == f"fraction stuck at epoch {cfg.fraction_epochs:,}"
    assert fig.get_suptitle().startswith(_style.BEYOND)
    assert any("theory" in label for label in legend_labels(ax_fit))


def test_toy_scaling_caption_names_its_parameters(drawn):
    _, cfg, _, summary, *_ = drawn["toy-scaling"]
    text = toy_scaling.caption(summary, cfg)
    for part in (
        f"{cfg.n_T} delays",
        f"[{cfg.T_range[0]:g}, {cfg.T_range[1]:g}]",
        f"{cfg.epochs:,} epochs",
        f"T = {cfg.fraction_T:g}",
        f"{cfg.fraction_instances} runs per rate",
        f"{summary.alpha_star_exponent:.3f}",
        "beyond the paper",
    ):
        assert part in text, part


def test_toy_scaling_caption_follows_the_stuck_fractions(drawn):
    _, cfg, _, summary, *_ = drawn["toy-scaling"]
    clean = dataclasses.replace(summary, stuck_fraction_max_below_alpha_star=0.0)
    assert "No run is stuck below α*" in toy_scaling.caption(clean, cfg)
    leaky = dataclasses.replace(
        summary, stuck_fraction_max_below_alpha_star=0.2, all_stuck_from_lr_ratio=None
    )
    text = toy_scaling.caption(leaky, cfg)
    assert "Up to 20% of the runs are stuck below α*" in text
    assert "not every run is stuck" in text
