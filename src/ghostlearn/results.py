"""The layout of what ghostlearn writes to disk: one place for every file name.

- A **results folder** (``ghostlearn reproduce``, :class:`ResultsFolder`): one
  :class:`ExperimentFolder` per experiment, ``<name>/data.zarr``, ``figure.png``,
  ``figure.pdf``, ``figure-extra.png`` / ``.pdf`` (panels beyond the paper) and
  ``summary.json`` (written last: it marks the experiment complete), and while a
  resumable experiment runs, ``work/`` (its finished training, removed on completion);
  beside them ``claims.md``, ``claims.json`` and ``report.html``.
- A **training run** (``ghostlearn train --out``, :class:`RunFolder`): ``train.zarr`` and
  the training figure ``training.png`` / ``.pdf``.
- An **analysis** (``ghostlearn analyze --out``, :class:`AnalysisFolder`):
  ``analysis.json`` (an :class:`AnalysisRecord`) and ``analysis.png`` / ``.pdf``.

The experiments, the command line and the report all find files through these classes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "REPORT",
    "AnalysisFolder",
    "AnalysisRecord",
    "ExperimentFolder",
    "ResultsFolder",
    "RunFolder",
]

#: The HTML report's file name (in a results folder, or beside what it shows).
REPORT = "report.html"


@dataclasses.dataclass(frozen=True)
class ExperimentFolder:
    """The files of one experiment in a results folder."""

    path: Path

    #: File stem of the paper's figure and of the panels beyond the paper.
    FIGURE = "figure"
    EXTRA_FIGURE = "figure-extra"

    @property
    def name(self) -> str:
        """The experiment's name (the folder's name)."""
        return self.path.name

    @property
    def data(self) -> Path:
        """The computation's data (zarr)."""
        return self.path / "data.zarr"

    @property
    def summary(self) -> Path:
        """The measured numbers, claims and caption (JSON; marks completion)."""
        return self.path / "summary.json"

    @property
    def work(self) -> Path:
        """Work in progress of a resumable experiment, kept until it completes (an
        interrupted run resumes from it)."""
        return self.path / "work"

    def figure(self, suffix: str = ".png") -> Path:
        """The paper's figure as ``.png`` or ``.pdf``."""
        return self.path / f"{self.FIGURE}{suffix}"

    def extra_figure(self, suffix: str = ".png") -> Path:
        """The panels beyond the paper as ``.png`` or ``.pdf`` (absent if none)."""
        return self.path / f"{self.EXTRA_FIGURE}{suffix}"

    def is_complete(self) -> bool:
        """Whether the experiment finished (its summary is written last)."""
        return self.summary.is_file()

    def files(self) -> list[Path]:
        """The experiment's files that exist, figures first."""
        every = [
            self.figure(".png"),
            self.figure(".pdf"),
            self.extra_figure(".png"),
            self.extra_figure(".pdf"),
            self.data,
            self.summary,
        ]
        return [p for p in every if p.exists()]


@dataclasses.dataclass(frozen=True)
class ResultsFolder:
    """A folder of experiments (``ghostlearn reproduce --out``)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def experiment(self, name: str) -> ExperimentFolder:
        """The folder of experiment ``name``."""
        return ExperimentFolder(self.path / name)

    def complete(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` whose experiment is complete, in the order given."""
        return [n for n in names if self.experiment(n).is_complete()]

    def others(self, known: Sequence[str]) -> list[str]:
        """Complete experiments in the folder that are not in ``known``, sorted."""
        return sorted(
            p.parent.name for p in self.path.glob("*/summary.json") if p.parent.name not in known
        )

    @property
    def claims_md(self) -> Path:
        """Every claim beside ghostlearn's measurement, as Markdown."""
        return self.path / "claims.md"

    @property
    def claims_json(self) -> Path:
        """The same claims as JSON."""
        return self.path / "claims.json"

    @property
    def report(self) -> Path:
        """The HTML report."""
        return self.path / REPORT


@dataclasses.dataclass(frozen=True)
class RunFolder:
    """The output folder of ``ghostlearn train``."""

    path: Path

    #: File stem of the training figure.
    FIGURE = "training"

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def store(self) -> Path:
        """The training Dataset (zarr)."""
        return self.path / "train.zarr"

    def names(self) -> tuple[str, ...]:
        """The names the run writes (what an interrupted run may leave temporaries of)."""
        return (self.store.name, f"{self.FIGURE}.png", f"{self.FIGURE}.pdf")


@dataclasses.dataclass(frozen=True)
class AnalysisFolder:
    """The output folder of ``ghostlearn analyze``."""

    path: Path

    #: File stem of the analysis figure.
    FIGURE = "analysis"

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def record(self) -> Path:
        """The analysis of every network (an :class:`AnalysisRecord` as JSON)."""
        return self.path / "analysis.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnalysisRecord:
    """What ``analysis.json`` holds.

    Attributes:
        source: the analysed store or checkpoint.
        group: the store's group analysed (``None``: its root, or a checkpoint).
        ghostlearn_version: the version that wrote it.
        verdict_counts: networks per verdict label.
        runs: per network, ``{"net": i, <its seed, lr, c, rank>, **RunAnalysis.to_dict()}``.
        u: the constant input the latent flows were analysed under (``None``: none given).
        checkpoint: the checkpoint's description (``Checkpoint.to_dict()``), if one was read.
    """

    source: str
    group: str | None
    ghostlearn_version: str
    verdict_counts: dict[str, int]
    runs: list[dict[str, Any]]
    u: list[float] | None = None
    checkpoint: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in the order written (``u`` and ``checkpoint`` only when
        given)."""
        out: dict[str, Any] = {
            "source": self.source,
            "group": self.group,
            "ghostlearn_version": self.ghostlearn_version,
            "verdict_counts": dict(self.verdict_counts),
        }
        if self.u is not None:
            out["u"] = list(self.u)
        if self.checkpoint is not None:
            out["checkpoint"] = self.checkpoint
        out["runs"] = self.runs
        return out
