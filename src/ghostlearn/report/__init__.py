"""Self-contained HTML reports and animations of ghostlearn results.

- :func:`build_report` / :func:`write_report`: one ``report.html`` of a results folder
  (claims table, every figure with its caption and any panels beyond the paper), a
  training store, a sweep or an analysis, with an epoch slider that moves over the
  training curves and redraws the latent flow (rank K >= 2: the phase portrait), its
  fixed points and ghosts and the trial's latent trajectory. Networks are named by group,
  seed, lr and c; epochs are written as whole numbers with thousands separators
  ("130,000").
- :func:`animate`: the same picture as a GIF (and an MP4 when ``ffmpeg`` is on PATH).
"""

from .animate import Animation as Animation
from .animate import animate as animate
from .html import build_report as build_report
from .html import default_output as default_output
from .html import write_report as write_report
from .payload import ReportOptions as ReportOptions
from .sources import load_source as load_source

__all__ = [
    "Animation",
    "ReportOptions",
    "animate",
    "build_report",
    "default_output",
    "load_source",
    "write_report",
]
