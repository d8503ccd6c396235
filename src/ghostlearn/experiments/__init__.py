"""The paper's figures, one module each, and the runner that writes them to disk.

Every experiment module defines:

- ``NAME`` (str) and ``TITLE`` (str);
- ``Config``: a frozen, keyword-only dataclass of every parameter;
- ``config(fidelity) -> Config`` for ``"quick"`` or ``"paper"``;
- ``run(cfg, progress=None) -> xarray.Dataset | xarray.DataTree``: the computation;
  ``progress(done, total)`` may be called to report work units;
- ``Summary``: a frozen dataclass deriving from :class:`~ghostlearn.experiments.base.Summary`,
  the measured numbers with their types (JSON: ``Summary.to_dict`` / ``from_dict``);
- ``summarize(data, cfg) -> Summary``: the measured numbers;
- ``plot(data, summary, cfg) -> matplotlib.figure.Figure``;
- ``claims(summary, cfg) -> list[Claim]``: the paper's claims checked against the summary;
- ``caption(summary, cfg) -> str``: the figure's caption, written like the paper's with
  its parameters (stored in ``summary.json`` as ``caption``);
- optionally ``plot_extra(data, summary, cfg) -> Figure | None``: panels beyond the
  paper, written as ``figure-extra.png`` / ``.pdf``;
- optionally ``RESUMABLE = True``, when ``run`` takes ``work``, a folder where it keeps
  finished work between invocations (``<out>/<NAME>/work``, removed once the experiment
  is complete).

Figures are drawn inside :func:`ghostlearn.experiments._style.journal` at journal sizes.

:func:`run_experiment` handles the disk: ``<out>/<NAME>/data.zarr``, ``figure.png``,
``figure.pdf`` (and ``figure-extra.*``) and finally ``summary.json``, which marks the
experiment complete.
"""

from .base import EXPERIMENTS, Claim, Fidelity, Summary, experiment_module, run_experiment

__all__ = ["EXPERIMENTS", "Claim", "Fidelity", "Summary", "experiment_module", "run_experiment"]
