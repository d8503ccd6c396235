"""Latent flows, fixed points, ghost points, bifurcations and abrupt-learning events.

Modules, one concept each:

- :mod:`.flows`: rank-one, rank-K and saddle-node latent flows and their derivatives;
- :mod:`.points`: fixed points and ghosts of 1-D flows (batched, certified screening);
- :mod:`.slowpoints`: fixed points and ghosts of K-D flows (slow-point finder);
- :mod:`.tracking`: tracks across snapshots, bifurcations, ghost emergence;
- :mod:`.events`: abrupt drops of the loss;
- :mod:`.verdict`: one verdict per run;
- :mod:`.run`: per-run and per-Dataset entry points;
- :mod:`.plotting`: the Fig. 3-style figure of a run.
"""

from .events import AbruptDrop as AbruptDrop
from .events import DropDetector as DropDetector
from .events import detect_abrupt_drops as detect_abrupt_drops
from .flows import LowRankFlow as LowRankFlow
from .flows import Rank1Flow as Rank1Flow
from .flows import SaddleNodeFlow as SaddleNodeFlow
from .flows import lowrank_flow as lowrank_flow
from .flows import lowrank_jacobian as lowrank_jacobian
from .flows import rank1_flow as rank1_flow
from .flows import rank1_flow_derivatives as rank1_flow_derivatives
from .flows import saddle_node_flow as saddle_node_flow
from .plotting import plot_run as plot_run
from .points import GHOST_TOL as GHOST_TOL
from .points import FlowPoints as FlowPoints
from .points import find_points as find_points
from .points import passage_time as passage_time
from .points import rank1_points as rank1_points
from .run import PopulationAnalysis as PopulationAnalysis
from .run import RunAnalysis as RunAnalysis
from .run import analyze_dataset as analyze_dataset
from .run import analyze_run as analyze_run
from .run import analyze_run_lowrank as analyze_run_lowrank
from .slowpoints import SlowPoints as SlowPoints
from .slowpoints import find_slow_points as find_slow_points
from .tracking import Bifurcation as Bifurcation
from .tracking import GhostEvent as GhostEvent
from .tracking import Track as Track
from .tracking import find_bifurcations as find_bifurcations
from .tracking import ghost_events as ghost_events
from .tracking import track_points as track_points
from .verdict import VERDICTS as VERDICTS
from .verdict import Verdict as Verdict
from .verdict import VerdictRules as VerdictRules
from .verdict import classify_run as classify_run

__all__ = [
    "GHOST_TOL",
    "VERDICTS",
    "AbruptDrop",
    "Bifurcation",
    "DropDetector",
    "FlowPoints",
    "GhostEvent",
    "LowRankFlow",
    "PopulationAnalysis",
    "Rank1Flow",
    "RunAnalysis",
    "SaddleNodeFlow",
    "SlowPoints",
    "Track",
    "Verdict",
    "VerdictRules",
    "analyze_dataset",
    "analyze_run",
    "analyze_run_lowrank",
    "classify_run",
    "detect_abrupt_drops",
    "find_bifurcations",
    "find_points",
    "find_slow_points",
    "ghost_events",
    "lowrank_flow",
    "lowrank_jacobian",
    "passage_time",
    "plot_run",
    "rank1_flow",
    "rank1_flow_derivatives",
    "rank1_points",
    "saddle_node_flow",
    "track_points",
]
