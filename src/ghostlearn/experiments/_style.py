"""Shared figure style of the toy-model experiments: a colour-blind-safe palette, labels."""

from __future__ import annotations

from typing import Any

#: Okabe & Ito (2008) colours, distinguishable under the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

#: Series colours in order of use (black is kept for theory lines; yellow is last: it is
#: faint on white).
CYCLE = [
    OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky_blue", "yellow")
]

THEORY = OKABE_ITO["black"]
GREY = "#777777"


def panel_label(ax: Any, label: str) -> None:
    """Write a bold panel letter in the top-left corner, outside the axes."""
    ax.text(-0.14, 1.04, label, transform=ax.transAxes, fontweight="bold", fontsize=12, va="bottom")
