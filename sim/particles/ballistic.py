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

    x and v may be views into larger arrays (they are only updated in place).
    """
    if air.drag == 0:
        x += v * dt + 0.5 * dt * dt * gravity
        v += gravity * dt
    elif not air.quadratic:
        k = air.drag
        terminal = air.wind + gravity / k
        decay = np.exp(-k * dt)
        rel = v - terminal
        x += terminal * dt + rel * ((1 - decay) / k)
        v[...] = terminal + rel * decay
    else:
        windy = bool(np.any(air.wind))
        rel = v - air.wind if windy else v
        drag_factor = 1.0 / (1.0 + (air.drag * dt) * np.sqrt(np.einsum("ij,ij->i", rel, rel)))
        new_rel = rel + gravity * dt
        new_rel *= drag_factor[:, None]
        # x moves by the mean of the old and new velocity: half a step with each.
        x += v * (0.5 * dt)
        if windy:
            new_rel += air.wind
        v[...] = new_rel
        x += v * (0.5 * dt)


def advance_newborn(x: np.ndarray, v: np.ndarray, age: np.ndarray, gravity: np.ndarray) -> None:
    """Move particles born `age` seconds (float64 [n]) before the substep's end along their free
    parabola, in place, so emission is smooth in time rather than bunched at substeps."""
    x += v * age[:, None] + 0.5 * gravity * (age * age)[:, None]
    v += gravity * age[:, None]
