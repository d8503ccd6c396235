"""Experiment registry, claims, and the resumable runner."""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, Self, TypedDict

import matplotlib

from .. import __version__
from ..results import ExperimentFolder, ResultsFolder
from ..store import from_jsonable, read_json, to_jsonable, write_figure, write_json, write_zarr
from . import _style

Fidelity = Literal["quick", "paper"]
Progress = Callable[[int, int], None]

# Name -> module, in the order `ghostlearn reproduce` runs them.
EXPERIMENTS: dict[str, str] = {
    "fig1": "ghostlearn.experiments.fig1",
    "fig2": "ghostlearn.experiments.fig2",
    "toy-scaling": "ghostlearn.experiments.toy_scaling",
    "fig3": "ghostlearn.experiments.fig3",
    "fig4": "ghostlearn.experiments.fig4",
    "learnable-c": "ghostlearn.experiments.learnable_c",
    "figS1": "ghostlearn.experiments.figS1",
    "figS2": "ghostlearn.experiments.figS2",
    "rnn-critical-lr": "ghostlearn.experiments.rnn_critical_lr",
    "dcdt": "ghostlearn.experiments.dcdt",
    "dmts": "ghostlearn.experiments.dmts",
}


def stage_progress(
    progress: Progress | None, offset: int, weight: int, total: int
) -> Callable[[int, int], None] | None:
    """A ``train(progress=...)`` callback that reports one stage of a figure's work.

    ``train`` reports epochs done; the figure reports ``offset + done * weight`` out of
    ``total`` (e.g. network-epochs, with ``weight`` the stage's number of networks).
    """
    if progress is None:
        return None
    return lambda done, _epochs: progress(offset + done * weight, total)


#: Keys of ``summary.json`` written by :func:`run_experiment` around an experiment's
#: own measured numbers.
ENVELOPE_KEYS: tuple[str, ...] = (
    "experiment",
    "title",
    "fidelity",
    "ghostlearn_version",
    "wall_time_s",
    "config",
    "caption",
    "claims",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Summary:
    """The measured numbers of one experiment: each experiment's ``Summary`` subclasses
    this with typed fields, which ``claims``, ``plot`` and ``caption`` read.

    ``summary.json`` holds :meth:`to_dict` inside the envelope of :data:`ENVELOPE_KEYS`;
    :meth:`from_dict` reads it back (envelope keys are skipped).
    """

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (non-finite floats become ``None``)."""
        out: dict[str, Any] = to_jsonable(self)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The typed summary of a ``summary.json`` (or of :meth:`to_dict`)."""
        measured = {k: v for k, v in data.items() if k not in ENVELOPE_KEYS}
        out: Self = from_jsonable(cls, measured, where=f"{cls.__module__}.{cls.__name__}")
        return out


Verdict = Literal["reproduced", "differs", "skipped"]
VERDICTS: tuple[str, ...] = ("reproduced", "differs", "skipped")


class Outcome(TypedDict, total=False):
    """A claim's outcome, decided before the :class:`Claim` is built and passed to it as
    keywords (``Claim(..., **outcome)``): ``reproduced`` or ``skip``."""

    reproduced: bool
    skip: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Claim:
    """One claim of the paper, as the paper states it and as ghostlearn measured it.

    Give either ``reproduced`` (the test's outcome) or ``skip`` (why the run cannot test
    the claim, e.g. ``"needs paper fidelity"``); the ``verdict`` follows from them.

    Attributes:
        figure: the experiment the claim belongs to, e.g. ``"fig2"``.
        claim: the statement, in words.
        paper: the paper's value (a number, a range, or words).
        measured: ghostlearn's value.
        verdict: ``"reproduced"``, ``"differs"`` or ``"skipped"``.
        reason: the rule applied and why it agrees, differs or was not tested.
        beyond_paper: a finding of ghostlearn's own (the paper states no such result):
            reported apart from the paper's claims and not counted in their headline.
    """

    figure: str
    claim: str
    paper: Any
    measured: Any
    reason: str = ""
    beyond_paper: bool = False
    verdict: Verdict = dataclasses.field(default="differs")
    reproduced: dataclasses.InitVar[bool | None] = None
    skip: dataclasses.InitVar[str | None] = None

    def __post_init__(self, reproduced: bool | None, skip: str | None) -> None:
        if skip is not None:
            verdict = "skipped"
            reason = f"skipped: {skip}" + (f". {self.reason}" if self.reason else "")
            object.__setattr__(self, "reason", reason)
        elif reproduced is not None:
            verdict = "reproduced" if bool(reproduced) else "differs"
        else:
            verdict = self.verdict
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
        object.__setattr__(self, "verdict", verdict)


def experiment_module(name: str) -> ModuleType:
    """Import the module of experiment ``name``; unknown names list the valid ones."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown figure {name!r}; valid: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name])


def run_experiment(
    name: str,
    out: str | Path,
    *,
    fidelity: Fidelity = "quick",
    config: Any = None,
    progress: Progress | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Run one experiment and write its data, figure and summary under ``out/name``.

    An experiment whose ``summary.json`` exists with the same config and fidelity is not
    recomputed (resume after an interruption); ``force=True`` recomputes it. A resumable
    experiment (``RESUMABLE = True``) also keeps its finished training in
    ``out/name/work`` until it completes, so an interrupted run resumes within it.

    Args:
        name: a key of :data:`EXPERIMENTS`.
        out: the results folder.
        fidelity: ``"quick"`` or ``"paper"``.
        config: a ``Config`` overriding ``module.config(fidelity)`` (tests use tiny ones).
        progress: called as ``progress(done, total)`` while the experiment runs.
        force: recompute even when a complete result exists.

    Returns:
        The summary dict written to ``summary.json``.
    """
    if fidelity not in ("quick", "paper"):
        raise ValueError(f"fidelity must be 'quick' or 'paper', got {fidelity!r}")
    module = experiment_module(name)
    cfg = module.config(fidelity) if config is None else config
    folder = ResultsFolder(Path(out)).experiment(name)
    summary_path = folder.summary
    cfg_json = to_jsonable(cfg)
    if summary_path.exists() and not force:
        previous = read_json(summary_path)
        if previous.get("config") == cfg_json and previous.get("fidelity") == fidelity:
            return previous

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = time.perf_counter()
    if getattr(module, "RESUMABLE", False):
        if force and folder.work.exists():
            shutil.rmtree(folder.work)
        data = module.run(cfg, progress=progress, work=folder.work)
    else:
        data = module.run(cfg, progress=progress)
    typed = module.summarize(data, cfg)
    wall = time.perf_counter() - start
    data.attrs.update(
        experiment=name, fidelity=fidelity, ghostlearn_version=__version__, config=cfg_json
    )
    write_zarr(data, folder.data)
    with _style.journal():
        fig = module.plot(data, typed, cfg)
        write_figure(fig, folder.path, stem=ExperimentFolder.FIGURE)
        plt.close(fig)
        plot_extra = getattr(module, "plot_extra", None)
        extra = None if plot_extra is None else plot_extra(data, typed, cfg)
        if extra is not None:
            write_figure(extra, folder.path, stem=ExperimentFolder.EXTRA_FIGURE)
            plt.close(extra)
    measured = typed.to_dict() if isinstance(typed, Summary) else dict(typed)
    caption = getattr(module, "caption", None)
    if caption is not None:
        measured = {**measured, "caption": caption(typed, cfg)}
    summary = {
        "experiment": name,
        "title": module.TITLE,
        "fidelity": fidelity,
        "ghostlearn_version": __version__,
        "wall_time_s": round(wall, 3),
        "config": cfg_json,
        **measured,
    }
    stated = module.claims(typed, cfg) if isinstance(typed, Summary) else module.claims(summary)
    summary["claims"] = [dataclasses.asdict(c) for c in stated]
    write_json(summary, summary_path)  # written last: its presence marks completion
    if folder.work.exists():
        shutil.rmtree(folder.work)
    return to_jsonable(summary)
