"""Checks shared by the figure tests: what a figure prints and the size of its PDF page."""

from __future__ import annotations

import re
from pathlib import Path

from matplotlib.text import Text

from ghostlearn.store import write_figure

_MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")


def pdf_page_points(fig, folder: Path, stem: str = "f") -> tuple[float, float]:
    """Write ``fig`` with :func:`ghostlearn.store.write_figure` (PNG and PDF) into
    ``folder`` and return the PDF page's width and height in points."""
    write_figure(fig, folder, stem=stem)
    box = _MEDIA_BOX.search((Path(folder) / f"{stem}.pdf").read_bytes())
    assert box is not None, "the PDF has no MediaBox"
    return float(box[1]), float(box[2])


def visible_texts(fig) -> list[Text]:
    """Every non-empty, visible text artist of a figure (tick labels once it is drawn)."""
    return [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]


def legend_texts(fig) -> list[str]:
    """The entries of every legend of a figure: its own and its axes'."""
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [t.get_text() for legend in legends for t in legend.get_texts()]
