"""Read the pose and velocity of every part of a live world (centre-of-mass frames, world axes)."""

from __future__ import annotations

import numpy as np
import pybullet as p

from .world import World


class PartStateReader:
    """Reads all parts' states with as few pybullet calls as possible.

    Static rigid bodies never move, so they are read once (`read_all`) and skipped by
    `read_moving`; articulated bodies are read with one getLinkStates call per body.
    """

    def __init__(self, world: World):
        self.client = world.client
        self.num_parts = len(world.parts)
        self._moving = [h for h in world.bodies if not (h.spec.static and not h.links)]
        self._all = list(world.bodies)

    def read_all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(position [B,3], orientation [B,4] xyzw, linear_velocity [B,3], angular_velocity [B,3]), float64."""
        out = _empty(self.num_parts)
        self._read(self._all, out)
        return out

    def read_moving_into(self, out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Overwrite the rows of moving parts in `out` (arrays shaped as `read_all` returns)."""
        self._read(self._moving, out)

    def _read(self, handles, out) -> None:
        """Bases of all `handles` first (one row list per array, one numpy write each), then links."""
        position, orientation, linear, angular = out
        client = self.client
        rows = [h.first_part for h in handles]
        poses = [p.getBasePositionAndOrientation(h.body_id, physicsClientId=client) for h in handles]
        velocities = [p.getBaseVelocity(h.body_id, physicsClientId=client) for h in handles]
        if rows:
            position[rows] = [pose[0] for pose in poses]
            orientation[rows] = [pose[1] for pose in poses]
            linear[rows] = [velocity[0] for velocity in velocities]
            angular[rows] = [velocity[1] for velocity in velocities]
        for handle in handles:
            if handle.links:
                states = p.getLinkStates(handle.body_id, handle.links, computeLinkVelocity=1, computeForwardKinematics=1, physicsClientId=client)
                links = slice(handle.first_part + 1, handle.first_part + 1 + len(handle.links))
                position[links] = [s[0] for s in states]
                orientation[links] = [s[1] for s in states]
                linear[links] = [s[6] for s in states]
                angular[links] = [s[7] for s in states]


def _empty(num_parts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (np.zeros((num_parts, 3)), np.zeros((num_parts, 4)), np.zeros((num_parts, 3)), np.zeros((num_parts, 3)))
