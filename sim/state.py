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
        position, orientation, linear, angular = out
        client = self.client
        for handle in handles:
            body, row = handle.body_id, handle.first_part
            position[row], orientation[row] = p.getBasePositionAndOrientation(body, physicsClientId=client)
            linear[row], angular[row] = p.getBaseVelocity(body, physicsClientId=client)
            if handle.links:
                states = p.getLinkStates(body, handle.links, computeLinkVelocity=1, computeForwardKinematics=1, physicsClientId=client)
                rows = slice(row + 1, row + 1 + len(handle.links))
                position[rows] = [s[0] for s in states]
                orientation[rows] = [s[1] for s in states]
                linear[rows] = [s[6] for s in states]
                angular[rows] = [s[7] for s in states]


def _empty(num_parts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (np.zeros((num_parts, 3)), np.zeros((num_parts, 4)), np.zeros((num_parts, 3)), np.zeros((num_parts, 3)))
