"""Particles of a shot: emission, ballistic flight and liquid, against the simulated rigid world.

One-way coupling, run after the rigid simulation: the particles read the recorded trajectory
(interpolated to their substeps, see `poses.py`) and never push the rigid bodies. This keeps the
data flow plain (Shot without particles -> Shot with particles) and lets particles step at
their own rate; docs/particles.md explains the choice.

Procedure (`simulate_particles`):
1. schedule every emitter and fluid block (`emit.py`), one column per particle, in spec order
   (emitters, then fluid blocks);
2. build one signed-distance collider per rigid part (`colliders.py`);
3. step each frame: ballistic particles at the shot's physics rate (`ballistic.py`), liquid at
   its own substeps (`fluid.py`); particles are born inside the substep that holds their birth
   time and die when their lifetime ends;
4. record positions, velocities and aliveness at every frame (T = N + 1 rows) into a
   `ParticleTrack`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from threadpoolctl import threadpool_limits

from ..records import ParticleTrack, Shot
from .ballistic import fly
from .colliders import Collider, broadphase, build_colliders, collide
from .emit import SourceSchedule, block_schedule, emitter_schedule, load_surface_file
from .fluid import FluidGroup
from .poses import PartPoses, RigidMotion
from .state import ParticleGroup, ParticleState, Segment

COLLISION_PASSES = 2
"""Passes over the parts per substep, so a particle pushed out of one part into another is resolved."""


def with_particles(shot: Shot) -> Shot:
    """The shot with `particles` filled in (unchanged when the scene has no emitters or blocks)."""
    track = simulate_particles(shot)
    return shot if track is None else replace(shot, particles=track)


def simulate_particles(shot: Shot) -> ParticleTrack | None:
    """Simulate every particle of the shot; None when the scene has no emitters or fluid blocks."""
    spec = shot.scene.spec
    if not spec.emitters and not spec.fluid_blocks:
        return None
    # The matrix products here are [n, 3] @ [3, 3]: BLAS threads only add hand-off cost to them
    # (several times slower on a busy 2-core machine), so BLAS runs single-threaded.
    with threadpool_limits(limits=1, user_api="blas"):
        return _simulate(shot)


def _simulate(shot: Shot) -> ParticleTrack:
    spec = shot.scene.spec
    # 1. Schedules: one segment of columns per emitter or block.
    schedules = _schedules(shot)
    state = ParticleState.build(schedules, list(spec.emitters) + list(spec.fluid_blocks))
    fps = spec.shot.fps
    frames = shot.num_frames
    gravity = np.asarray(spec.shot.gravity, float)
    motion = RigidMotion(shot.trajectory, fps)
    ballistic_substeps = spec.shot.substeps
    # 2. Colliders: the grid margin covers a particle's farthest move in a substep.
    birth_speed = max((float(np.linalg.norm(s.velocity, axis=1).max(initial=0.0)) for s in schedules), default=0.0)
    max_speed = birth_speed + float(np.linalg.norm(gravity)) * spec.shot.duration
    max_step = max_speed / (fps * ballistic_substeps)
    max_radius = max(seg.radius for seg in state.segments)
    # Walls add density to liquid particles within its kernel radius (4 r) plus r (fluid.py).
    liquid_reach = max((5 * seg.radius for seg in state.segments if seg.kind == "fluid"), default=0.0)
    colliders = build_colliders(shot, max_radius, max_step, liquid_reach)
    # 3. The solvers, one per kind present.
    groups: list[ParticleGroup] = []
    ballistic = [seg for seg in state.segments if seg.kind == "ballistic"]
    fluid = [seg for seg in state.segments if seg.kind == "fluid"]
    if ballistic:
        groups.append(_BallisticGroup(ballistic, gravity, colliders, ballistic_substeps))
    if fluid:
        groups.append(FluidGroup(fluid, gravity, colliders, spec, fps))
    # 4. Frame 0, then every frame.
    position = np.zeros((frames + 1, state.count, 3), np.float32)
    velocity = np.zeros((frames + 1, state.count, 3), np.float32)
    alive = np.zeros((frames + 1, state.count), bool)
    for group in groups:
        group.begin(state, motion.at(0.0))
    state.record(0, position, velocity, alive)
    for frame in range(frames):
        for group in groups:
            group.advance_frame(state, motion, frame / fps, (frame + 1) / fps)
        state.check_stable((frame + 1) / fps)
        state.record(frame + 1, position, velocity, alive)
    # 5. The record.
    first_seg = max((p.seg_id for p in shot.parts), default=0) + 1
    return ParticleTrack(
        emitter_names=tuple(s.name for s in schedules),
        emitter_kinds=tuple(s.kind for s in schedules),
        emitter_seg_ids=np.arange(first_seg, first_seg + len(schedules), dtype=np.int32),
        emitter_colors=np.asarray([seg.color for seg in state.segments], np.float32).reshape(-1, 3),
        emitter=np.repeat(np.arange(len(schedules), dtype=np.int32), [seg.end - seg.begin for seg in state.segments]),
        radius=np.repeat(np.asarray([seg.radius for seg in state.segments], np.float32), [seg.end - seg.begin for seg in state.segments]),
        position=position,
        velocity=velocity,
        alive=alive,
    )


# --------------------------------------------------------------------------- sources
def _schedules(shot: Shot) -> list[SourceSchedule]:
    spec = shot.scene.spec
    part_index = {p.name: i for i, p in enumerate(shot.parts)}
    schedules = []
    for index, emitter in enumerate(spec.emitters):
        surface, part = None, -1
        if emitter.shape == "surface" and emitter.object is not None:
            part = part_index[emitter.object]
            surface = _part_mesh(shot, part)
        elif emitter.shape == "surface":
            surface = load_surface_file(shot.scene.assets[f"emitter:{emitter.name}"])
        schedules.append(emitter_schedule(emitter, index, spec.shot.seed, spec.shot.duration, surface, part))
    schedules.extend(block_schedule(block) for block in spec.fluid_blocks)
    return schedules


def _part_mesh(shot: Shot, part: int) -> tuple[np.ndarray, np.ndarray]:
    vertices, faces, offset = [], [], 0
    for mesh in shot.parts[part].meshes:
        vertices.append(np.asarray(mesh.vertices, float))
        faces.append(np.asarray(mesh.faces, np.int64) + offset)
        offset += len(mesh.vertices)
    return np.concatenate(vertices), np.concatenate(faces)


class _Awake:
    """The awake live particles of one ballistic segment, compacted into contiguous arrays.

    Flight and contacts run on these arrays in place (no gathers or scatters per substep); the
    state's rows of these columns are stale until `store` writes them back (once per frame).
    Sleeping particles leave the set (their rows in the state are current), newborn and woken
    ones join it, dead ones leave it. The arrays are views of buffers sized for the whole
    segment, and a leaving particle's slot is filled by one from the end of the set, so joining
    and leaving cost O(particles moved), not O(set). Every operation on a particle is
    independent of the others, so the order of the set changes no result.
    """

    def __init__(self, capacity: int):
        self._columns = np.zeros(capacity, np.int64)
        self._x = np.zeros((capacity, 3))
        self._v = np.zeros((capacity, 3))
        self.size = 0

    @property
    def columns(self) -> np.ndarray:
        """int64 [m], state columns of the awake particles (a view)."""
        return self._columns[: self.size]

    @property
    def x(self) -> np.ndarray:
        """float64 [m, 3] positions, m (a view, updated in place)."""
        return self._x[: self.size]

    @property
    def v(self) -> np.ndarray:
        """float64 [m, 3] velocities, m/s (a view, updated in place)."""
        return self._v[: self.size]

    def add(self, state: "ParticleState", columns: np.ndarray) -> None:
        """Particles `columns` (int64 [k], not in the set) join it with their state rows."""
        end = self.size + len(columns)
        self._columns[self.size:end] = columns
        np.take(state.x, columns, axis=0, out=self._x[self.size:end])
        np.take(state.v, columns, axis=0, out=self._v[self.size:end])
        self.size = end

    def remove(self, leaving: np.ndarray) -> None:
        """The particles at set positions `leaving` (int64 [k], increasing) leave the set."""
        size = self.size - len(leaving)
        holes = leaving[leaving < size]
        tail = np.ones(self.size - size, bool)
        tail[leaving[leaving >= size] - size] = False
        movers = np.flatnonzero(tail) + size
        self._columns[holes] = self._columns[movers]
        self._x[holes] = self._x[movers]
        self._v[holes] = self._v[movers]
        self.size = size

    def store(self, state: "ParticleState") -> None:
        """Write the set's positions and velocities into the state."""
        state.x[self.columns] = self.x
        state.v[self.columns] = self.v


class _BallisticGroup(ParticleGroup):
    """Ballistic particles: flight, births, deaths and contacts at the shot's physics rate.

    Particles at rest sleep: a particle whose contact with a part at rest (a static part) is
    held by friction against gravity, and whose speed after it is below one substep's gain of
    falling speed (g dt), stops being stepped, with zero velocity, until a moving part comes
    near it. Nothing else can move it (ballistic particles do not touch each other), so this
    changes no trajectory beyond the micro-bounces of resting contact, which are inelastic below
    2 g dt anyway; it saves the flight and contact work of settled grains, rain and sparks.
    Awake particles are kept compacted per segment (`_Awake`), so sleeping and dead ones cost
    nothing in a substep (no masks, no gathers).
    """

    def __init__(self, segments: list[Segment], gravity: np.ndarray, colliders: list[Collider], substeps: int):
        self.segments = segments
        self.gravity = gravity
        self.colliders = colliders
        self.substeps = substeps
        self.asleep = {id(seg): np.zeros(seg.end - seg.begin, bool) for seg in segments}
        """Per segment, bool over its particles (in segment order)."""
        self.awake = {id(seg): _Awake(seg.end - seg.begin) for seg in segments}

    def begin(self, state: ParticleState, poses: PartPoses) -> None:
        for seg in self.segments:
            born = state.give_birth(seg, 0.0, poses, self.gravity)
            awake = self.awake[id(seg)]
            awake.add(state, np.arange(born.start, born.stop))
            self._collide(state, seg, poses, 0.0)
            awake.store(state)

    def advance_frame(self, state: ParticleState, motion: RigidMotion, t0: float, t1: float) -> None:
        dt = (t1 - t0) / self.substeps
        for k in range(self.substeps):
            t_end = t0 + (k + 1) * dt if k + 1 < self.substeps else t1
            poses = motion.at(t_end)
            moving = [c for c in self.colliders if poses.linear_velocity[c.part_index].any() or poses.angular_velocity[c.part_index].any()]
            for seg in self.segments:
                awake = self.awake[id(seg)]
                if seg.any_live:
                    self._wake(state, seg, poses, moving, dt)
                    if len(awake.columns):
                        fly(awake.x, awake.v, dt, self.gravity, seg.air)
                born = state.give_birth(seg, t_end, poses, self.gravity)
                awake.add(state, np.arange(born.start, born.stop))
                dead = seg.dead
                state.bury(seg, t_end)
                if seg.dead > dead:
                    awake.remove(np.flatnonzero(awake.columns < seg.begin + seg.dead))
                if len(awake.columns):
                    self._collide(state, seg, poses, dt)
        for seg in self.segments:
            self.awake[id(seg)].store(state)

    def _wake(self, state: ParticleState, seg: Segment, poses: PartPoses, moving: list[Collider], dt: float) -> None:
        """Sleeping particles near a moving part wake up (and join the awake set)."""
        asleep = self.asleep[id(seg)]
        if not moving or not asleep[seg.dead:seg.born].any():
            return
        sleeping = np.flatnonzero(asleep[seg.dead:seg.born]) + seg.dead
        x = state.x[sleeping + seg.begin]
        woken = np.zeros(len(sleeping), bool)
        for collider in moving:
            speed = float(np.linalg.norm(poses.linear_velocity[collider.part_index]))
            spin = float(np.linalg.norm(poses.angular_velocity[collider.part_index]))
            bound = collider.bound_radius if np.isfinite(collider.bound_radius) else 0.0
            reach = 3 * seg.radius + 2 * dt * (speed + spin * bound)
            woken[broadphase(x, reach, poses, [collider])[0]] = True
        asleep[sleeping[woken]] = False
        self.awake[id(seg)].add(state, sleeping[woken] + seg.begin)

    def _collide(self, state: ParticleState, seg: Segment, poses: PartPoses, dt: float) -> None:
        """Contacts of the awake particles of `seg`; those that come to rest fall asleep."""
        awake = self.awake[id(seg)]
        x, v = awake.x, awake.v
        if not self.colliders or len(x) == 0:
            return
        g = float(np.linalg.norm(self.gravity))
        rest_speed = 2 * g * dt
        # Candidates once per substep, with room for the pushes of the passes.
        candidates = broadphase(x, seg.radius * 3, poses, self.colliders)
        held = collide(x, v, seg.radius, seg.restitution, seg.friction, poses, self.colliders, candidates,
                       rest_speed, self.gravity if dt > 0 else None)
        # Later passes only for particles near two or more parts: only those can be pushed from
        # one part into another.
        counts = np.bincount(np.concatenate(candidates), minlength=len(x)) if candidates else np.zeros(len(x), int)
        shared = counts >= 2
        if shared.any():
            candidates = [near[shared[near]] for near in candidates]
            for _ in range(COLLISION_PASSES - 1):
                collide(x, v, seg.radius, seg.restitution, seg.friction, poses, self.colliders, candidates, rest_speed)
        # Fall asleep: held at rest by a part at rest, and slower than one substep of falling.
        if held is not None and g > 0:
            touching = np.flatnonzero(held)
            slow = np.take(v, touching, axis=0)
            settle = touching[np.einsum("ij,ij->i", slow, slow) < (g * dt) ** 2]
            if len(settle):
                columns = awake.columns[settle]
                state.x[columns] = np.take(x, settle, axis=0)
                state.v[columns] = 0.0
                self.asleep[id(seg)][columns - seg.begin] = True
                awake.remove(settle)
