"""Free flight of ballistic particles over one substep: gravity, air drag and wind.

Without drag the update is exact for constant gravity (x += v dt + g dt^2 / 2), so a particle
follows the closed-form parabola to rounding. Linear drag uses the exact exponential solution
of dv/dt = g - k (v - w); quadratic drag dv/dt = g - c |v - w| (v - w) is integrated
semi-implicitly (the drag factor evaluated at the old speed, divided out), which is stable for
any step and reaches the exact terminal speed sqrt(g / c).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels


@dataclass(frozen=True)
class AirParams:
    """The air one source's particles fly through."""

    drag: float
    """1/s for linear drag, 1/m for quadratic drag; 0: no drag."""
    quadratic: bool
    """The drag is quadratic in the speed relative to the air (else linear)."""
    wind: np.ndarray
    """float64 [3], m/s."""


def fly(x: np.ndarray, v: np.ndarray, dt: float, gravity: np.ndarray, air: AirParams) -> None:
    """Advance positions x and velocities v (float64 [n, 3], m and m/s, C-contiguous) by dt
    seconds, in place (one compiled pass, `kernels.fly`)."""
    kernels.fly(x, v, dt, gravity, air.drag, air.quadratic, air.wind)


def advance_newborn(x: np.ndarray, v: np.ndarray, age: np.ndarray, gravity: np.ndarray) -> None:
    """Move particles born `age` seconds (float64 [n]) before the substep's end along their free
    parabola, in place, so emission is smooth in time rather than bunched at substeps."""
    x += v * age[:, None] + 0.5 * gravity * (age * age)[:, None]
    v += gravity * age[:, None]
