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
    """Per-particle air parameters (n particles)."""

    drag: np.ndarray
    """float64 [n]: 1/s for linear drag, 1/m for quadratic drag."""
    quadratic: np.ndarray
    """bool [n]: the particle's drag is quadratic in its speed relative to the air."""
    wind: np.ndarray
    """float64 [n, 3], m/s."""

    def take(self, index: np.ndarray) -> "AirParams":
        return AirParams(self.drag[index], self.quadratic[index], self.wind[index])

    @property
    def any_drag(self) -> bool:
        return bool(np.any(self.drag > 0))


def fly(x: np.ndarray, v: np.ndarray, dt: float, gravity: np.ndarray, air: AirParams) -> None:
    """Advance positions x and velocities v (float64 [n, 3], m and m/s) by dt seconds, in place."""
    if not air.any_drag:
        x += v * dt + 0.5 * dt * dt * gravity
        v += gravity * dt
        return
    drag = air.drag
    linear = (~air.quadratic) & (drag > 0)
    quadratic = air.quadratic & (drag > 0)
    free = drag == 0
    if free.any():
        x[free] += v[free] * dt + 0.5 * dt * dt * gravity
        v[free] += gravity * dt
    if linear.any():
        k = drag[linear][:, None]
        terminal = air.wind[linear] + gravity / k
        decay = np.exp(-k * dt)
        rel = v[linear] - terminal
        x[linear] += terminal * dt + rel * (1 - decay) / k
        v[linear] = terminal + rel * decay
    if quadratic.any():
        c = drag[quadratic][:, None]
        wind = air.wind[quadratic]
        v_old = v[quadratic]
        rel = v_old - wind
        speed = np.linalg.norm(rel, axis=1, keepdims=True)
        rel_new = (rel + gravity * dt) / (1 + c * speed * dt)
        v_new = wind + rel_new
        x[quadratic] += 0.5 * (v_old + v_new) * dt
        v[quadratic] = v_new


def advance_newborn(x: np.ndarray, v: np.ndarray, age: np.ndarray, gravity: np.ndarray) -> None:
    """Move particles born `age` seconds (float64 [n]) before the substep's end along their free
    parabola, in place, so emission is smooth in time rather than bunched at substeps."""
    x += v * age[:, None] + 0.5 * gravity * (age * age)[:, None]
    v += gravity * age[:, None]
