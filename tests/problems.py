"""Closed-form test cases, written out from the equations (never from ghostlearn's output).

Toy model dx/dt = x^2 + r, x(0) = 0, analytic loss L(r) (SPEC section 1). With
r* = pi^2 / (4 T^2), a parameter r = m^2 r* escapes at t_esc = pi / (2 sqrt r) = T / m, so

    L = |T - T/m| for m >= 1/2, L = T for m < 1/2,
    dL/dr = sign * pi / (4 r^1.5) = sign * 2 T^3 / (pi^2 m^3),

with sign = +1 for m >= 1, -1 for 1/2 < m < 1, 0 for m <= 1/2.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class ToyLossCase:
    """One point of the analytic toy loss: ``r = m^2 r*`` at delay ``T``."""

    name: str
    T: float
    m: float

    @property
    def r(self) -> float:
        return self.m**2 * math.pi**2 / (4.0 * self.T**2)

    @property
    def escape_time(self) -> float:
        return self.T / self.m

    @property
    def loss(self) -> float:
        return abs(self.T - self.T / self.m) if self.m >= 0.5 else self.T

    @property
    def grad(self) -> float:
        if self.m <= 0.5:
            return 0.0
        sign = 1.0 if self.m >= 1.0 else -1.0
        return sign * 2.0 * self.T**3 / (math.pi**2 * self.m**3)


TOY_LOSS_CASES = [
    ToyLossCase(name, T, m)
    for T in (10.0, 100.0)
    for name, m in [
        ("no-learning zone", 0.25),
        ("between r*/4 and r*", 0.75),
        ("optimum r*", 1.0),
        ("saturation, r = 4 r*", 2.0),
        ("saturation, r = 16 r*", 4.0),
    ]
]


@dataclasses.dataclass(frozen=True)
class ToyTrajectoryCase:
    """A point ``x(t; r)`` of the exact solution, with its value by hand."""

    name: str
    r: float
    t: float
    x: float


TOY_TRAJECTORY_CASES = [
    ToyTrajectoryCase("tan, r = 1", 1.0, math.pi / 4, 1.0),  # tan(pi/4) = 1
    ToyTrajectoryCase("tan, r = 4", 4.0, math.pi / 8, 2.0),  # 2 tan(pi/4)
    ToyTrajectoryCase("tan, r = 1/3", 1.0 / 3.0, math.pi / math.sqrt(3.0), 1.0),  # tan(pi/3)/sqrt3
    ToyTrajectoryCase("tanh, r = -1", -1.0, math.log(3.0) / 2.0, -0.5),  # tanh(ln3 / 2) = 1/2
    ToyTrajectoryCase("zero, r = 0", 0.0, 7.0, 0.0),
]
