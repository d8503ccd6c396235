"""Latent flows, fixed points, ghost points, bifurcations and abrupt-learning events."""

from .flows import LowRankFlow as LowRankFlow
from .flows import Rank1Flow as Rank1Flow
from .flows import SaddleNodeFlow as SaddleNodeFlow
from .flows import lowrank_flow as lowrank_flow
from .flows import lowrank_jacobian as lowrank_jacobian
from .flows import rank1_flow as rank1_flow
from .flows import rank1_flow_derivatives as rank1_flow_derivatives
from .flows import saddle_node_flow as saddle_node_flow
from .points import FlowPoints as FlowPoints
from .points import find_points as find_points
from .points import passage_time as passage_time
from .points import rank1_points as rank1_points
