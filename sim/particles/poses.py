"""Rigid parts' poses between frames: the recorded trajectory interpolated to any time.

Particles step at their own substeps after the rigid simulation has finished (one-way
coupling, see docs/particles.md), so they need each part's pose at times between the recorded
frames. Positions use cubic Hermite interpolation with the recorded velocities as tangents
(exact for constant acceleration, such as free fall), orientations spherical linear
interpolation, velocities linear interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..records import Trajectory


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices float64 [..., 3, 3] from unit quaternions [..., 4] in [x, y, z, w] order."""
    x, y, z, w = np.moveaxis(np.asarray(q, dtype=np.float64), -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def slerp(q0: np.ndarray, q1: np.ndarray, s: float) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions [..., 4] ([x, y, z, w]) at fraction s."""
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # take the short way round
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    near = sin_theta < 1e-8
    safe = np.where(near, 1.0, sin_theta)
    w0 = np.where(near, 1 - s, np.sin((1 - s) * theta) / safe)
    w1 = np.where(near, s, np.sin(s * theta) / safe)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


@dataclass(frozen=True)
class PartPoses:
    """Every part's pose and velocity at one instant (B parts)."""

    position: np.ndarray
    """float64 [B, 3], world position of each part frame (centre of mass), m."""
    rotation: np.ndarray
    """float64 [B, 3, 3], part frame to world."""
    linear_velocity: np.ndarray
    """float64 [B, 3], m/s."""
    angular_velocity: np.ndarray
    """float64 [B, 3], rad/s, world frame."""


class RigidMotion:
    """The recorded trajectory, queried at any time in [0, t[-1]]."""

    def __init__(self, trajectory: Trajectory, fps: int):
        self.trajectory = trajectory
        self.fps = fps
        self.num_rows = len(trajectory.t)

    def at(self, t: float) -> PartPoses:
        """Poses at time `t` seconds (clamped to the recorded span)."""
        traj = self.trajectory
        u = float(np.clip(t * self.fps, 0.0, self.num_rows - 1))
        i = min(int(np.floor(u)), self.num_rows - 2) if self.num_rows > 1 else 0
        s = u - i
        if self.num_rows == 1 or s == 0.0:
            return PartPoses(traj.position[i], quaternion_to_matrix(traj.orientation[i]), traj.linear_velocity[i], traj.angular_velocity[i])
        dt = 1.0 / self.fps
        p0, p1 = traj.position[i], traj.position[i + 1]
        v0, v1 = traj.linear_velocity[i], traj.linear_velocity[i + 1]
        h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
        position = h00 * p0 + h10 * dt * v0 + h01 * p1 + h11 * dt * v1
        rotation = quaternion_to_matrix(slerp(traj.orientation[i], traj.orientation[i + 1], s))
        linear = (1 - s) * v0 + s * v1
        angular = (1 - s) * traj.angular_velocity[i] + s * traj.angular_velocity[i + 1]
        return PartPoses(position, rotation, linear, angular)
