"""Contact onsets: which parts start touching, when, and with what normal impulse.

After every physics step we read pybullet's contact manifold once. Two parts touch when one of
their contact points is closer than TOUCH_DISTANCE. A pair that touches now and did not touch
after the previous step starts a contact: one row, stamped with the time of the first frame
recorded after that step, the world position of its first contact point (on part a), and the
normal impulse: normal force x dt summed over the steps of that frame in which the pair touches,
over the points the solver acted on in that step (distance <= CONTACT_PROCESSING_THRESHOLD). A point
farther apart is not solved, and pybullet reports the impulse of its last solve again: counting it
would add a bounce's impulse twice when the ball is still within TOUCH_DISTANCE one step later.

This runs every physics step, so the common case (the same pairs touch as one step before) costs
a few C-level passes over the manifold (`ContactTracker.read`); pairs are decoded into parts only
when the set changes.
"""

from __future__ import annotations

from itertools import compress
from operator import itemgetter

import numpy as np
import pybullet as p

from .material import CONTACT_PROCESSING_THRESHOLD
from .records import ContactEvents
from .world import World

TOUCH_DISTANCE = 1e-3
"""m: contact points closer than this (pybullet keeps points up to contactBreakingThreshold apart)."""

# Fields of a pybullet contact point.
_BODY_A, _BODY_B, _LINK_A, _LINK_B, _POSITION_ON_A, _DISTANCE, _NORMAL_FORCE = 1, 2, 3, 4, 5, 8, 9
_identity = itemgetter(_BODY_A, _LINK_A, _BODY_B, _LINK_B)
_distance = itemgetter(_DISTANCE)
_body_a, _body_b = itemgetter(_BODY_A), itemgetter(_BODY_B)
_touches = TOUCH_DISTANCE.__ge__
"""distance -> distance <= TOUCH_DISTANCE, as a C-level callable for map()."""


class _PairKeys(dict):
    """Raw pair identity (body a, link a, body b, link b) -> pair key, computed on first use
    (`__missing__`), so that looking up known pairs stays in C (`map(keys.__getitem__, ...)`)."""

    def __init__(self, key):
        super().__init__()
        self._key = key

    def __missing__(self, identity: tuple[int, int, int, int]) -> int:
        key = self[identity] = self._key(identity)
        return key


class ContactTracker:
    """Follows touching part pairs step by step; also keeps each step's deepest contact point."""

    def __init__(self, world: World, dt: float):
        self.client = world.client
        self.dt = dt
        self.num_parts = len(world.parts)
        # body id -> index of its link 0's part (base part + 1), so part = this + link index.
        self._link0_part = {h.body_id: h.first_part + 1 for h in world.bodies}
        self._bodies_only = not any(h.links for h in world.bodies)
        """No articulated bodies: every link index is -1, so a point's two body ids name its pair."""
        self._points: tuple = ()
        self._pairs_in_order: tuple[list[int], list[int]] | list[tuple[int, int, int, int]] | None = None
        """Each point's pair in the last manifold read, in pybullet's order (None: not read yet): the body a and
        body b columns when `_bodies_only` (two lists of ints are cheaper to build than one list of tuples),
        else the raw identities."""
        self._touch_mask: list[bool] | None = None
        """Which points of the last manifold read were within TOUCH_DISTANCE; None: all of them."""
        self._identities: list[tuple[int, int, int, int]] | None = None
        """Raw identity (body a, link a, body b, link b) of each point of the last read, when that read built them."""
        self._now: set[tuple[int, int, int, int]] = set()
        """Raw identities of the pairs touching at the last read."""
        self._touching: set[int] = set()
        self._open: dict[int, int] = {}
        """Pair key -> row of its onset, for the onsets of the current frame interval."""
        self._open_rows: dict[tuple[int, int, int, int], int] | None = None
        """Raw identity -> onset row, of the open pairs among the last read's (None: to be rebuilt, after a read
        whose pairs changed or a new onset)."""
        self._key_of = _PairKeys(self._key)
        self._t: list[float] = []
        self._a: list[int] = []
        self._b: list[int] = []
        self._impulse: list[float] = []
        self._position: list[tuple[float, float, float]] = []
        self.deepest_distance = 0.0
        """Signed distance of the deepest point in the last manifold read, m (negative: penetration)."""

    # ---------------------------------------------------------------- reading the manifold
    def read(self) -> bool:
        """Read the current manifold (after a step, or after performCollisionDetection).

        Returns True when the set of touching pairs differs from the last read's. The common step has the
        same points of the same pairs as the step before, touching then and now or apart then and now:
        it costs the sorted distances (min and max), each point's pair in order and, when some point is
        apart, the touch mask, each built and compared in C; only another step builds a set of pairs.
        """
        # No filter (bodies -1, links -2), by position: parsing keywords costs 0.25 us, every physics step.
        points = p.getContactPoints(-1, -1, -2, -2, self.client)
        self._points = points
        if not points:
            self._pairs_in_order, self._touch_mask, self._identities, self.deepest_distance = None, None, [], 0.0
            self._open_rows = None
            changed = bool(self._now)
            self._now = set()
            return changed
        # Sorted, the distances give min and max in one call: list.sort compares floats directly, faster
        # than min() and max() (1.4 against 2.2 us for 82 points). The touch mask needs the point order.
        distances = sorted(map(_distance, points))
        self.deepest_distance = distances[0]
        touch_mask = None if distances[-1] <= TOUCH_DISTANCE else list(map(_touches, map(_distance, points)))
        if self._bodies_only:
            pairs_in_order = (list(map(_body_a, points)), list(map(_body_b, points)))
            identities = None  # built below, or by _add_impulses if it needs them
        else:
            pairs_in_order = identities = list(map(_identity, points))
        same = pairs_in_order == self._pairs_in_order and touch_mask == self._touch_mask
        self._pairs_in_order, self._touch_mask, self._identities = pairs_in_order, touch_mask, identities
        if same:
            return False
        if identities is None:
            identities = self._identities = list(map(_identity, points))
        self._open_rows = None
        now = set(identities) if touch_mask is None else set(compress(identities, touch_mask))
        changed = now != self._now
        self._now = now
        return changed

    def pairs(self) -> dict[tuple[int, int], float]:
        """(part a, part b) with a < b -> deepest signed distance (m), of the pairs touching now."""
        deepest: dict[tuple[int, int], float] = {}
        for q in self._points:
            if q[_DISTANCE] <= TOUCH_DISTANCE:
                pair = self._pair_of(q)
                deepest[pair] = min(deepest.get(pair, np.inf), q[_DISTANCE])
        return deepest

    def deepest(self) -> tuple[float, int, int]:
        """(signed distance, part a, part b) of the deepest point of the last manifold read."""
        if not self._points:
            return (0.0, -1, -1)
        q = min(self._points, key=itemgetter(_DISTANCE))
        return (q[_DISTANCE], *self._pair_of(q))

    # -------------------------------------------------------------------- onsets
    def start(self) -> None:
        """Take the pairs touching now (t = 0) as already touching: they are not onsets."""
        self._touching = set(map(self._key_of.__getitem__, self._now))

    def begin_frame(self) -> None:
        """A new frame interval starts: the onsets of the last one are closed."""
        self._open, self._open_rows = {}, None

    def observe(self, frame_time: float) -> None:
        """Read the manifold after one physics step; `frame_time` stamps onsets (the next recorded frame)."""
        if self.read():
            touching = set(map(self._key_of.__getitem__, self._now))
            for key in sorted(touching - self._touching):
                if key not in self._open:  # touched, parted, touched again in one frame: one onset
                    self._open_onset(key, frame_time)
            self._touching = touching
        if self._open:
            self._add_impulses()

    def events(self) -> ContactEvents:
        return ContactEvents(
            t=np.asarray(self._t, dtype=np.float64),
            part_a=np.asarray(self._a, dtype=np.int32),
            part_b=np.asarray(self._b, dtype=np.int32),
            impulse=np.asarray(self._impulse, dtype=np.float64),
            position=np.asarray(self._position, dtype=np.float64).reshape(-1, 3),
        )

    # ------------------------------------------------------------------- helpers
    def _add_impulses(self) -> None:
        """Add this step's normal impulse of each open onset's solved points (distance <= the processing
        threshold) to its row, point by point in manifold order.

        Only the points of open pairs reach Python: the raw identities of the manifold's pairs (tens)
        are looked up when they or the open onsets change, and `compress` drops every other point in C."""
        identities = self._identities
        if identities is None:  # the read took the common path of a world without links and built none
            identities = self._identities = list(map(_identity, self._points))
        rows = self._open_rows
        if rows is None:
            key_of, open_ = self._key_of, self._open
            rows = self._open_rows = {i: open_[key_of[i]] for i in set(identities) if key_of[i] in open_}
        if not rows:
            return
        impulse, dt = self._impulse, self.dt
        for q in compress(self._points, map(rows.__contains__, identities)):
            if q[_DISTANCE] <= CONTACT_PROCESSING_THRESHOLD:
                impulse[rows[_identity(q)]] += q[_NORMAL_FORCE] * dt

    def _open_onset(self, key: int, frame_time: float) -> None:
        a, b = divmod(key, self.num_parts)
        first = next(q for q in self._points if q[_DISTANCE] <= TOUCH_DISTANCE and self._pair_of(q) == (a, b))
        self._open[key] = len(self._t)
        self._open_rows = None
        self._t.append(frame_time)
        self._a.append(a)
        self._b.append(b)
        self._impulse.append(0.0)
        self._position.append(tuple(first[_POSITION_ON_A]))

    def _pair_of(self, q) -> tuple[int, int]:
        a = self._link0_part[q[_BODY_A]] + q[_LINK_A]
        b = self._link0_part[q[_BODY_B]] + q[_LINK_B]
        return (a, b) if a < b else (b, a)

    def _key(self, identity: tuple[int, int, int, int]) -> int:
        """(body a, link a, body b, link b) -> a * num_parts + b with part a < part b."""
        a = self._link0_part[identity[0]] + identity[1]
        b = self._link0_part[identity[2]] + identity[3]
        return a * self.num_parts + b if a < b else b * self.num_parts + a
