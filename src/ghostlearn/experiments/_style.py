"""Shared figure style of the experiments: journal sizes, a colour-blind-safe palette,
labels, epoch ticks and the "beyond the paper" mark.

Figures are drawn at the size they are printed: :data:`COLUMN` (one column) or
:data:`PAGE` (two columns) wide, with no text under 7 pt, inside :func:`journal` so that
every text and line follows one set of ``rcParams``; the PDF page is the figure's size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..plotting import OKABE_ITO as OKABE_ITO

if TYPE_CHECKING:  # older supported matplotlib releases lack RcKeyType
    from matplotlib.typing import RcKeyType

#: Series colours in order of use (black is kept for theory lines; yellow is last: it is
#: faint on white).
CYCLE = [
    OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky_blue", "yellow")
]

THEORY = OKABE_ITO["black"]
GREY = "#777777"

#: Width of one journal column and of a full page (two columns), in inches.
COLUMN = 3.4
PAGE = 7.0
#: Tallest figure that fits a page with its caption, in inches.
MAX_HEIGHT = 9.0
#: Base font size in points: labels and titles; ticks and legends are 1 pt smaller, and
#: nothing is smaller than 7 pt at the printed size (panel letters are larger).
FONT_SIZE = 8.0

#: Prefix of the titles of panels that the paper does not have.
BEYOND = "beyond the paper"

_RC: dict[RcKeyType, Any] = {
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE - 1,
    "ytick.labelsize": FONT_SIZE - 1,
    "legend.fontsize": FONT_SIZE - 1,
    "legend.title_fontsize": FONT_SIZE - 1,
    "figure.titlesize": FONT_SIZE + 1,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.0,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,
}


@contextlib.contextmanager
def journal() -> Iterator[None]:
    """Draw inside this block: the journal ``rcParams`` (sizes, fonts, line widths)."""
    with mpl.rc_context(_RC):
        yield


def figure(height: float, width: float = PAGE) -> Figure:
    """A constrained-layout figure of ``width`` x ``height`` inches (draw it inside
    :func:`journal`). Raises ValueError for a size that does not fit a page."""
    if not 0 < width <= PAGE:
        raise ValueError(f"width must be in (0, {PAGE}] inches, got {width!r}")
    if not 0 < height <= MAX_HEIGHT:
        raise ValueError(f"height must be in (0, {MAX_HEIGHT}] inches, got {height!r}")
    return Figure(figsize=(width, height), layout="constrained")


def panel_label(ax: Any, label: str) -> None:
    """Write a bold panel letter in the top-left corner, outside the axes."""
    ax.text(
        -0.16,
        1.04,
        label,
        transform=ax.transAxes,
        fontweight="bold",
        fontsize=FONT_SIZE + 2,
        va="bottom",
        ha="left",
    )


def beyond(ax: Any, title: str = "") -> None:
    """Title a panel that the paper does not have: "beyond the paper: <title>"."""
    ax.set_title(f"{BEYOND}: {title}" if title else BEYOND, loc="left")


def format_epoch(value: float) -> str:
    """An epoch as an integer with thousands separators: ``1386`` -> ``"1,386"``."""
    return f"{round(value):,}"


#: Tick formatter for linear epoch axes (integers with thousands separators).
EPOCH_TICKS = FuncFormatter(lambda value, _pos: format_epoch(value))


def epoch_axis(ax: Any, which: str = "x", label: str = "epoch") -> None:
    """Label a linear epoch axis and print its ticks as integers with separators."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(EPOCH_TICKS)
    axis.set_label_text(label)


def epoch_ticks(ax: Any, which: str = "x", nbins: int = 5) -> None:
    """A linear epoch axis (:func:`epoch_axis`) with at most ``nbins`` intervals between
    integer ticks, so that labels such as "200,000" do not collide at print size (5 suit a
    3.5 in wide panel, 3 a 2 in wide one)."""
    epoch_axis(ax, which)
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(MaxNLocator(nbins, integer=True, steps=[1, 2, 5, 10]))
