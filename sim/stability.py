"""Detect a simulation that has gone wrong and say which object, when, and what to change.

Checked every frame: non-finite poses or velocities, speeds beyond MAX_SPEED_M_S or
MAX_SPIN_RAD_S, and contacts deeper than MAX_PENETRATION_M (checked every physics step).
At t = 0: bodies that start overlapping by more than MAX_INITIAL_OVERLAP_M.
"""

from __future__ import annotations

import math

import numpy as np

from .records import Part
from .spec import SimulationError

MAX_SPEED_M_S = 100.0
MAX_SPIN_RAD_S = 1000.0
MAX_PENETRATION_M = 0.05
MAX_INITIAL_OVERLAP_M = 0.01
ADVICE = "lower its velocity, raise physics_hz or check overlapping objects"


def describe(part: Part) -> str:
    """'object 'box_3'' or 'object 'ragdoll' (link 'chest')'."""
    if part.link_name is None:
        return f"object {part.object_name!r}"
    return f"object {part.object_name!r} (link {part.link_name!r})"


def check_frame(parts: tuple[Part, ...], t: float, position, orientation, linear, angular) -> None:
    """Raise SimulationError if any part's state at time `t` (arrays [B, ...]) is unstable."""
    # Fast path (runs every frame): a NaN or inf anywhere makes the sums non-finite.
    speed2, spin2 = np.einsum("ij,ij->i", linear, linear), np.einsum("ij,ij->i", angular, angular)
    total = position.sum() + orientation.sum() + speed2.sum() + spin2.sum()
    if np.isfinite(total) and speed2.max(initial=0.0) <= MAX_SPEED_M_S**2 and spin2.max(initial=0.0) <= MAX_SPIN_RAD_S**2:
        return
    finite = np.isfinite(position).all(axis=1) & np.isfinite(orientation).all(axis=1)
    finite &= np.isfinite(linear).all(axis=1) & np.isfinite(angular).all(axis=1)
    if not finite.all():
        part = parts[int(np.argmin(finite))]
        raise SimulationError(f"{describe(part)} has a non-finite (NaN or inf) pose or velocity at t={t:.3f} s; {ADVICE}")
    speed = np.linalg.norm(linear, axis=1)
    if speed.max(initial=0.0) > MAX_SPEED_M_S:
        i = int(np.argmax(speed))
        raise SimulationError(f"{describe(parts[i])} moves at {speed[i]:.0f} m/s at t={t:.3f} s (limit {MAX_SPEED_M_S:.0f} m/s); {ADVICE}")
    spin = np.linalg.norm(angular, axis=1)
    if spin.max(initial=0.0) > MAX_SPIN_RAD_S:
        i = int(np.argmax(spin))
        raise SimulationError(f"{describe(parts[i])} spins at {spin[i]:.0f} rad/s at t={t:.3f} s (limit {MAX_SPIN_RAD_S:.0f} rad/s); {ADVICE}")


def check_state_row(parts: tuple[Part, ...], t: float, row: np.ndarray) -> None:
    """`check_frame` on one frame's state row [B, 13] (sim.state's columns), with a cheaper test first.

    Every column's largest magnitude bounds every part's: |v|^2 <= sum over axes of the column
    maxima squared. So a row whose maxima are finite and whose bounds are within the limits passes
    check_frame too; any other row is checked exactly by it (same errors, same messages).
    """
    top = np.abs(row).max(axis=0, initial=0.0).tolist()  # NaN propagates, making the test below fail
    if (math.isfinite(sum(top)) and top[7] ** 2 + top[8] ** 2 + top[9] ** 2 <= MAX_SPEED_M_S**2
            and top[10] ** 2 + top[11] ** 2 + top[12] ** 2 <= MAX_SPIN_RAD_S**2):
        return
    check_frame(parts, t, row[:, 0:3], row[:, 3:7], row[:, 7:10], row[:, 10:13])


def check_penetration(parts: tuple[Part, ...], t: float, deepest: tuple[float, int, int]) -> None:
    """Raise SimulationError if the deepest contact (distance, part a, part b) exceeds the limit."""
    distance, a, b = deepest
    if -distance > MAX_PENETRATION_M:
        raise SimulationError(
            f"{describe(parts[a])} and {describe(parts[b])} interpenetrate by {-distance * 100:.1f} cm at t={t:.3f} s "
            f"(limit {MAX_PENETRATION_M * 100:.0f} cm); raise physics_hz, lower speeds or make thin objects thicker"
        )


def check_initial_overlap(parts: tuple[Part, ...], pairs: dict[tuple[int, int], float]) -> None:
    """Raise SimulationError for two bodies overlapping at t = 0 (parts of one body excepted).

    pairs: (part a, part b) -> signed distance of their deepest contact point, m.
    """
    worst = None
    for (a, b), distance in sorted(pairs.items()):
        if parts[a].object_name == parts[b].object_name:
            continue
        if -distance > MAX_INITIAL_OVERLAP_M and (worst is None or distance < worst[0]):
            worst = (distance, a, b)
    if worst is not None:
        distance, a, b = worst
        raise SimulationError(
            f"{describe(parts[a])} and {describe(parts[b])} overlap by {-distance * 100:.1f} cm at t=0.000 s "
            f"(limit {MAX_INITIAL_OVERLAP_M * 100:.0f} cm); move them apart"
        )
