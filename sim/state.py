"""Read the pose and velocity of every part of a live world (centre-of-mass frames, world axes).

A frame's state is one float64 row per part, [B, 13] (`STATE_COLUMNS`): position (3, m),
orientation (4, quaternion xyzw), linear velocity (3, m/s), angular velocity (3, rad/s); the
simulation fills one such row block per frame and splits the columns into the trajectory's arrays
at the end (`split_states`).
"""

from __future__ import annotations

from itertools import chain
from operator import itemgetter

import numpy as np
import pybullet as p

from .world import World

STATE_COLUMNS = 13
POSITION, ORIENTATION, LINEAR, ANGULAR = slice(0, 3), slice(3, 7), slice(7, 10), slice(10, 13)
"""The columns of a state row."""
_LINK_STATE_VECTORS = itemgetter(0, 1, 6, 7)
"""A getLinkStates entry -> (CoM position, CoM orientation, linear velocity, angular velocity), world frame."""


class PartStateReader:
    """Reads all parts' states with as few pybullet calls and numpy writes as possible.

    Static rigid bodies never move, so they are read once (`read_all_into`) and skipped by
    `read_moving_into`; articulated bodies are read with one getLinkStates call per body. The
    values of one read are written with one numpy assignment (per-part array writes from tuples
    cost more than the pybullet calls).
    """

    def __init__(self, world: World):
        self.client = world.client
        self.num_parts = len(world.parts)
        self._moving = [h for h in world.bodies if not (h.spec.static and not h.links)]
        self._all = list(world.bodies)
        self._moving_rows = _rows(self._moving)
        self._all_rows = _rows(self._all)

    def read_all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(position [B,3], orientation [B,4] xyzw, linear_velocity [B,3], angular_velocity [B,3]), float64."""
        row = np.zeros((self.num_parts, STATE_COLUMNS))
        self.read_all_into(row)
        return split_states(row)

    def read_all_into(self, row: np.ndarray) -> None:
        """Overwrite every part's row of `row` [B, 13]."""
        self._read(self._all, self._all_rows, row)

    def read_moving_into(self, row: np.ndarray) -> None:
        """Overwrite the rows of moving parts in `row` [B, 13]."""
        self._read(self._moving, self._moving_rows, row)

    def _read(self, handles, rows: np.ndarray, row: np.ndarray) -> None:
        """Every base, then every link, in the order of `rows`: the vectors of one read are collected as
        tuples in one list and flattened into the row block in C (`np.fromiter`), one numpy write.
        pybullet takes its arguments by position here (keywords cost 0.1 - 0.25 us a call, 40 calls a frame
        for 20 bodies)."""
        client = self.client
        base_pose, base_velocity, link_states = p.getBasePositionAndOrientation, p.getBaseVelocity, p.getLinkStates
        vectors: list[tuple[float, ...]] = []
        for handle in handles:
            vectors += base_pose(handle.body_id, client)  # position, orientation
            vectors += base_velocity(handle.body_id, client)  # linear, angular
        for handle in handles:
            if handle.links:
                links = link_states(handle.body_id, handle.links, 1, 1, client)  # computeLinkVelocity, computeForwardKinematics
                vectors += chain.from_iterable(map(_LINK_STATE_VECTORS, links))
        if vectors:
            values = np.fromiter(chain.from_iterable(vectors), np.float64, len(rows) * STATE_COLUMNS)
            row[rows] = values.reshape(-1, STATE_COLUMNS)


def split_states(states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """[..., B, 13] -> contiguous (position [..., B, 3], orientation [..., B, 4], linear, angular [..., B, 3])."""
    return tuple(np.ascontiguousarray(states[..., columns]) for columns in (POSITION, ORIENTATION, LINEAR, ANGULAR))  # type: ignore[return-value]


def _rows(handles) -> np.ndarray:
    """The part rows `_read` fills, in its order: each handle's base, then each handle's links."""
    bases = [h.first_part for h in handles]
    links = [h.first_part + 1 + i for h in handles for i in range(len(h.links))]
    return np.asarray(bases + links, dtype=np.intp)
