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
    """Advance positions x and velocities v (float64 [n, 3], m and m/s) by dt seconds, in place.

    x and v may be views into larger arrays (they are only updated in place). One [n, 3]
    temporary at most: the arithmetic runs in place (same operations, same rounding).
    """
    if air.drag == 0:
        step = v * dt
        step += 0.5 * dt * dt * gravity
        x += step
        v += gravity * dt
    elif not air.quadratic:
        k = air.drag
        terminal = air.wind + gravity / k
        decay = np.exp(-k * dt)
        v -= terminal  # v holds the velocity relative to the terminal one
        step = v * ((1 - decay) / k)
        step += terminal * dt
        x += step
        v *= decay
        v += terminal
    else:
        windy = bool(np.any(air.wind))
        # x moves by the mean of the old and new velocity: half a step with each.
        half_step = np.multiply(v, 0.5 * dt)
        x += half_step
        if windy:
            v -= air.wind  # v holds the velocity relative to the air until the wind is added back
        drag_factor = np.einsum("ij,ij->i", v, v)
        np.sqrt(drag_factor, out=drag_factor)
        drag_factor *= air.drag * dt
        drag_factor += 1.0
        np.reciprocal(drag_factor, out=drag_factor)
        v += gravity * dt
        v *= drag_factor[:, None]
        if windy:
            v += air.wind
        np.multiply(v, 0.5 * dt, out=half_step)
        x += half_step


def advance_newborn(x: np.ndarray, v: np.ndarray, age: np.ndarray, gravity: np.ndarray) -> None:
    """Move particles born `age` seconds (float64 [n]) before the substep's end along their free
    parabola, in place, so emission is smooth in time rather than bunched at substeps."""
    x += v * age[:, None] + 0.5 * gravity * (age * age)[:, None]
    v += gravity * age[:, None]
