"""Latent flows, fixed points, ghost points, bifurcations and abrupt-learning events.

Modules, one concept each:

- :mod:`.flows`: rank-one, rank-K (with inputs) and saddle-node latent flows and their
  derivatives;
- :mod:`.points`: fixed points and ghosts of 1-D flows (batched, certified screening);
- :mod:`.slowpoints`: fixed points (by stability class) and ghosts of K-D flows (batched
  slow-point finder; any JAX vector field too);
- :mod:`.plane`: the latent plane of a portrait, the flow on it, trials and readouts;
- :mod:`.tracking`: tracks across snapshots, bifurcations, ghost emergence;
- :mod:`.events`: abrupt drops of the loss;
- :mod:`.verdict`: one verdict per run;
- :mod:`.settings`: the settings of the entry points, one typed object
  (:class:`AnalysisSettings`);
- :mod:`.run`: per-run and per-Dataset entry points;
- :mod:`.plotting`: the Fig. 3-style figure of a run and phase portraits of K-D flows.
"""

from .events import AbruptDrop as AbruptDrop
from .events import DropDetector as DropDetector
from .events import detect_abrupt_drops as detect_abrupt_drops
from .flows import LowRankFlow as LowRankFlow
from .flows import Rank1Flow as Rank1Flow
from .flows import SaddleNodeFlow as SaddleNodeFlow
from .flows import lowrank_flow as lowrank_flow
from .flows import lowrank_jacobian as lowrank_jacobian
from .flows import lowrank_speed_hessian as lowrank_speed_hessian
from .flows import rank1_flow as rank1_flow
from .flows import rank1_flow_derivatives as rank1_flow_derivatives
from .flows import saddle_node_flow as saddle_node_flow
from .plane import LatentPlane as LatentPlane
from .plane import latent_trial as latent_trial
from .plane import leading_plane as leading_plane
from .plane import plane_field as plane_field
from .plane import trial_start as trial_start
from .plotting import plot_phase_portrait as plot_phase_portrait
from .plotting import plot_run as plot_run
from .points import GHOST_TOL as GHOST_TOL
from .points import FlowPoints as FlowPoints
from .points import find_points as find_points
from .points import passage_time as passage_time
from .points import rank1_points as rank1_points
from .run import LatentReadout as LatentReadout
from .run import PopulationAnalysis as PopulationAnalysis
from .run import RunAnalysis as RunAnalysis
from .run import analyze_dataset as analyze_dataset
from .run import analyze_run as analyze_run
from .run import analyze_run_lowrank as analyze_run_lowrank
from .settings import AnalysisSettings as AnalysisSettings
from .slowpoints import STABILITY_CLASSES as STABILITY_CLASSES
from .slowpoints import SlowPoint as SlowPoint
from .slowpoints import SlowPoints as SlowPoints
from .slowpoints import SlowPointSettings as SlowPointSettings
from .slowpoints import find_field_points as find_field_points
from .slowpoints import find_slow_points as find_slow_points
from .slowpoints import find_slow_points_along as find_slow_points_along
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
    "STABILITY_CLASSES",
    "VERDICTS",
    "AbruptDrop",
    "AnalysisSettings",
    "Bifurcation",
    "DropDetector",
    "FlowPoints",
    "GhostEvent",
    "LatentPlane",
    "LatentReadout",
    "LowRankFlow",
    "PopulationAnalysis",
    "Rank1Flow",
    "RunAnalysis",
    "SaddleNodeFlow",
    "SlowPoint",
    "SlowPointSettings",
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
    "find_field_points",
    "find_points",
    "find_slow_points",
    "find_slow_points_along",
    "ghost_events",
    "latent_trial",
    "leading_plane",
    "lowrank_flow",
    "lowrank_jacobian",
    "lowrank_speed_hessian",
    "passage_time",
    "plane_field",
    "plot_phase_portrait",
    "plot_run",
    "rank1_flow",
    "rank1_flow_derivatives",
    "rank1_points",
    "saddle_node_flow",
    "track_points",
    "trial_start",
]
