"""Contact onsets: which parts start touching, when, and with what normal impulse.

After every physics step we read pybullet's contact manifold once. Two parts touch when one of
their contact points is closer than TOUCH_DISTANCE. A pair that touches now and did not touch
after the previous step starts a contact: one row, stamped with the time of the first frame
recorded after that step, the world position of its first contact point (on part a), and the
normal impulse: normal force x dt summed over the steps of that frame in which the pair touches.
"""

from __future__ import annotations

import numpy as np
import pybullet as p

from .records import ContactEvents
from .world import World

TOUCH_DISTANCE = 1e-3
"""m: contact points closer than this (pybullet keeps points up to contactBreakingThreshold apart)."""


class ContactTracker:
    """Follows touching pairs step by step; also reports the deepest penetration of each step."""

    def __init__(self, world: World, dt: float):
        self.client = world.client
        self.dt = dt
        self._first_part = {h.body_id: h.first_part for h in world.bodies}
        self._touching: set[tuple[int, int]] = set()
        self._open: dict[tuple[int, int], int] = {}
        self._t: list[float] = []
        self._a: list[int] = []
        self._b: list[int] = []
        self._impulse: list[float] = []
        self._position: list[tuple[float, float, float]] = []
        self.deepest: tuple[float, int, int] = (0.0, -1, -1)
        """(signed distance, part a, part b) of the deepest contact point seen by the last `observe`."""

    def pairs_now(self) -> dict[tuple[int, int], tuple[float, float, tuple]]:
        """Touching part pairs in the current manifold: (a, b) -> (summed normal force N, min distance m, first point)."""
        first = self._first_part
        pairs: dict[tuple[int, int], list] = {}
        for point in p.getContactPoints(physicsClientId=self.client):
            distance = point[8]
            if distance > TOUCH_DISTANCE:
                continue
            a = first[point[1]] + 1 + point[3]
            b = first[point[2]] + 1 + point[4]
            key = (a, b) if a < b else (b, a)
            entry = pairs.get(key)
            if entry is None:
                pairs[key] = [point[9], distance, point[5]]
            else:
                entry[0] += point[9]
                entry[1] = min(entry[1], distance)
        return {k: (v[0], v[1], v[2]) for k, v in pairs.items()}

    def start(self) -> None:
        """Take the pairs touching at t = 0 as already touching (they are not onsets)."""
        self._touching = set(self.pairs_now())

    def begin_frame(self) -> None:
        """A new frame interval starts: onsets now open are closed."""
        self._open = {}

    def observe(self, frame_time: float) -> None:
        """Read the manifold after one physics step; `frame_time` stamps onsets (the next recorded frame)."""
        pairs = self.pairs_now()
        deepest = (0.0, -1, -1)
        for key, (force, distance, point) in pairs.items():
            if distance < deepest[0]:
                deepest = (distance, key[0], key[1])
            row = self._open.get(key)
            if row is None and key not in self._touching:
                row = len(self._t)
                self._open[key] = row
                self._t.append(frame_time)
                self._a.append(key[0])
                self._b.append(key[1])
                self._impulse.append(0.0)
                self._position.append(point)
            if row is not None:
                self._impulse[row] += force * self.dt
        self._touching = set(pairs)
        self.deepest = deepest

    def events(self) -> ContactEvents:
        return ContactEvents(
            t=np.asarray(self._t, dtype=np.float64),
            part_a=np.asarray(self._a, dtype=np.int32),
            part_b=np.asarray(self._b, dtype=np.int32),
            impulse=np.asarray(self._impulse, dtype=np.float64),
            position=np.asarray(self._position, dtype=np.float64).reshape(-1, 3),
        )
