"""Shared figure style of the toy-model experiments: a colour-blind-safe palette, labels."""

from __future__ import annotations

from typing import Any

from ..plotting import OKABE_ITO as OKABE_ITO

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
