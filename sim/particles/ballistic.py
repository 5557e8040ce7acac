"""Free flight of ballistic particles over one substep: gravity, air drag and wind.

Without drag the update is exact for constant gravity (x += v dt + g dt^2 / 2), so a particle
follows the closed-form parabola to rounding. Linear drag uses the exact exponential solution
of dv/dt = g - k (v - w); quadratic drag dv/dt = g - c |v - w| (v - w) is integrated
semi-implicitly (the drag factor evaluated at the old speed, divided out), which is stable for
any step and reaches the exact terminal speed sqrt(g / c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit


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
    seconds, in place (one compiled pass, `_fly`)."""
    _fly(x, v, dt, gravity, air.drag, air.quadratic, air.wind)


@njit(cache=True)
def _fly(x, v, dt, gravity, drag, quadratic, wind):
    # Per particle, each axis (k) on its own except the quadratic drag's speed.
    if drag == 0:
        for i in range(x.shape[0]):
            for k in range(3):
                x[i, k] += v[i, k] * dt + 0.5 * dt * dt * gravity[k]
                v[i, k] += gravity[k] * dt
    elif not quadratic:
        # Exact: v relaxes to the terminal velocity w + g / k with decay exp(-k dt).
        decay = math.exp(-drag * dt)
        for i in range(x.shape[0]):
            for k in range(3):
                terminal = wind[k] + gravity[k] / drag
                relative = v[i, k] - terminal
                x[i, k] += relative * ((1 - decay) / drag) + terminal * dt
                v[i, k] = relative * decay + terminal
    else:
        # Semi-implicit: the drag factor 1 / (1 + c |v - w| dt) at the old speed relative to the
        # air; x moves by the mean of the old and new velocity (half a step with each).
        for i in range(x.shape[0]):
            r0, r1, r2 = v[i, 0] - wind[0], v[i, 1] - wind[1], v[i, 2] - wind[2]
            factor = 1.0 / (math.sqrt(r0 * r0 + r1 * r1 + r2 * r2) * (drag * dt) + 1.0)
            for k in range(3):
                x[i, k] += v[i, k] * (0.5 * dt)
                v[i, k] = (v[i, k] - wind[k] + gravity[k] * dt) * factor + wind[k]
                x[i, k] += v[i, k] * (0.5 * dt)


def advance_newborn(x: np.ndarray, v: np.ndarray, age: np.ndarray, gravity: np.ndarray) -> None:
    """Move particles born `age` seconds (float64 [n]) before the substep's end along their free
    parabola, in place, so emission is smooth in time rather than bunched at substeps."""
    x += v * age[:, None] + 0.5 * gravity * (age * age)[:, None]
    v += gravity * age[:, None]
