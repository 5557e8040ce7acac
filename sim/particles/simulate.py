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

import math
from dataclasses import dataclass, replace

import numpy as np

from ..records import ParticleTrack, Shot
from ..spec.errors import SimulationError
from ..spec.particles import EmitterSpec
from .ballistic import AirParams, advance_newborn, fly
from .colliders import Collider, build_colliders, collide
from .emit import SourceSchedule, block_schedule, emitter_schedule, load_surface_file
from .poses import PartPoses, RigidMotion

MAX_SPEED = 500.0
"""m/s; a particle faster than this means the step diverged (SimulationError)."""
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
    # 1. Schedules, concatenated into columns.
    schedules = _schedules(shot)
    sources = _Sources.build(schedules, spec.emitters, spec.fluid_blocks)
    fps = spec.shot.fps
    frames = shot.num_frames
    gravity = np.asarray(spec.shot.gravity, float)
    motion = RigidMotion(shot.trajectory, fps)
    ballistic_substeps = spec.shot.substeps
    # 2. Colliders: the grid margin covers a particle's farthest move in a substep.
    max_speed = float(np.linalg.norm(sources.birth_velocity, axis=1).max(initial=0.0)) + abs(gravity).max() * spec.shot.duration
    max_step = min(max_speed / (fps * ballistic_substeps), 1.0)
    colliders = build_colliders(shot, float(sources.radius.max()), max_step)
    state = _State.start(sources)
    # 3. The solvers, one per kind present.
    groups: list[_Group] = []
    ballistic_cols = np.flatnonzero(sources.kind_is_fluid == 0)
    fluid_cols = np.flatnonzero(sources.kind_is_fluid == 1)
    if len(ballistic_cols):
        groups.append(_BallisticGroup(ballistic_cols, sources, gravity, colliders, ballistic_substeps))
    if len(fluid_cols):
        from .fluid import FluidGroup

        groups.append(FluidGroup(fluid_cols, sources, gravity, colliders, spec, fps))
    # 4. Frame 0, then every frame.
    position = np.zeros((frames + 1, sources.count, 3), np.float32)
    velocity = np.zeros((frames + 1, sources.count, 3), np.float32)
    alive = np.zeros((frames + 1, sources.count), bool)
    for group in groups:
        group.begin(state, motion.at(0.0))
    _record(state, 0, 0.0, position, velocity, alive)
    for frame in range(frames):
        for group in groups:
            group.advance_frame(state, motion, frame / fps, (frame + 1) / fps)
        _check_stable(state, sources, (frame + 1) / fps)
        _record(state, frame + 1, (frame + 1) / fps, position, velocity, alive)
    # 5. The record.
    first_seg = max((p.seg_id for p in shot.parts), default=0) + 1
    return ParticleTrack(
        emitter_names=tuple(s.name for s in schedules),
        emitter_kinds=tuple(s.kind for s in schedules),
        emitter_seg_ids=np.arange(first_seg, first_seg + len(schedules), dtype=np.int32),
        emitter_colors=np.asarray(sources.colors, np.float32),
        emitter=sources.emitter.astype(np.int32),
        radius=sources.radius.astype(np.float32),
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


@dataclass(frozen=True)
class _Sources:
    """Every particle's fixed properties, one column each (P columns)."""

    count: int
    names: tuple[str, ...]
    colors: list
    emitter: np.ndarray
    kind_is_fluid: np.ndarray
    spawn_time: np.ndarray
    death_time: np.ndarray
    birth_position: np.ndarray
    birth_velocity: np.ndarray
    surface_part: np.ndarray
    radius: np.ndarray
    restitution: np.ndarray
    friction: np.ndarray
    air: AirParams

    @classmethod
    def build(cls, schedules: list[SourceSchedule], emitters, blocks) -> "_Sources":
        specs = list(emitters) + list(blocks)
        counts = [len(s.spawn_time) for s in schedules]
        emitter = np.repeat(np.arange(len(schedules)), counts)

        def per_particle(values) -> np.ndarray:
            return np.asarray(values, float)[emitter] if len(emitter) else np.zeros((0,) + np.shape(values)[1:])

        is_emitter = [isinstance(s, EmitterSpec) for s in specs]
        return cls(
            count=int(sum(counts)),
            names=tuple(s.name for s in schedules),
            colors=[s.color for s in specs],
            emitter=emitter,
            kind_is_fluid=np.asarray([s.kind == "fluid" for s in schedules], np.int8)[emitter] if len(emitter) else np.zeros(0, np.int8),
            spawn_time=np.concatenate([s.spawn_time for s in schedules]),
            death_time=np.concatenate([s.death_time for s in schedules]),
            birth_position=np.concatenate([s.position for s in schedules]).reshape(-1, 3),
            birth_velocity=np.concatenate([s.velocity for s in schedules]).reshape(-1, 3),
            surface_part=np.repeat([s.surface_part for s in schedules], counts),
            radius=per_particle([s.particle_radius for s in specs]),
            restitution=per_particle([s.restitution if e else 0.0 for s, e in zip(specs, is_emitter)]),
            friction=per_particle([s.friction if e else 0.0 for s, e in zip(specs, is_emitter)]),
            air=AirParams(
                drag=per_particle([s.drag if e else 0.0 for s, e in zip(specs, is_emitter)]),
                quadratic=per_particle([(s.drag_model == "quadratic") if e else False for s, e in zip(specs, is_emitter)]).astype(bool),
                wind=per_particle([s.wind if e else (0.0, 0.0, 0.0) for s, e in zip(specs, is_emitter)]).reshape(-1, 3),
            ),
        )


@dataclass
class _State:
    """The moving state of every particle (P columns)."""

    sources: _Sources
    x: np.ndarray
    """float64 [P, 3], m."""
    v: np.ndarray
    """float64 [P, 3], m/s."""
    born: np.ndarray
    """bool [P]."""
    dead: np.ndarray
    """bool [P]."""

    @classmethod
    def start(cls, sources: _Sources) -> "_State":
        n = sources.count
        return cls(sources, np.zeros((n, 3)), np.zeros((n, 3)), np.zeros(n, bool), np.zeros(n, bool))

    def live(self, columns: np.ndarray) -> np.ndarray:
        """The columns (of `columns`) that are born and not dead."""
        return columns[self.born[columns] & ~self.dead[columns]]

    def give_birth(self, columns: np.ndarray, t: float, poses: PartPoses, gravity: np.ndarray, advance: bool) -> np.ndarray:
        """Bring to life the particles of `columns` born by time t; returns their columns.

        Surface-emitted particles are placed with their part's pose at t and inherit its surface
        velocity. With `advance`, each newborn flies freely for its age (t - birth time).
        """
        src = self.sources
        new = columns[~self.born[columns] & (src.spawn_time[columns] <= t + 1e-12)]
        if len(new) == 0:
            return new
        x = src.birth_position[new].copy()
        v = src.birth_velocity[new].copy()
        on_part = src.surface_part[new] >= 0
        if on_part.any():
            part = src.surface_part[new][on_part]
            offset = np.einsum("nij,nj->ni", poses.rotation[part], x[on_part])
            x[on_part] = poses.position[part] + offset
            v[on_part] += poses.linear_velocity[part] + np.cross(poses.angular_velocity[part], offset)
        if advance:
            advance_newborn(x, v, t - src.spawn_time[new], gravity)
        self.x[new], self.v[new] = x, v
        self.born[new] = True
        return new

    def bury(self, columns: np.ndarray, t: float) -> None:
        """Particles of `columns` whose lifetime ended by time t stop moving."""
        ended = columns[self.born[columns] & (self.sources.death_time[columns] <= t + 1e-12)]
        self.dead[ended] = True


class _Group:
    """The particles of one kind and the solver that moves them."""

    def begin(self, state: _State, poses: PartPoses) -> None:
        raise NotImplementedError

    def advance_frame(self, state: _State, motion: RigidMotion, t0: float, t1: float) -> None:
        raise NotImplementedError


class _BallisticGroup(_Group):
    def __init__(self, columns: np.ndarray, sources: _Sources, gravity: np.ndarray, colliders: list[Collider], substeps: int):
        self.columns = columns
        self.gravity = gravity
        self.colliders = colliders
        self.substeps = substeps
        self.src = sources

    def begin(self, state: _State, poses: PartPoses) -> None:
        state.give_birth(self.columns, 0.0, poses, self.gravity, advance=True)
        self._collide(state, state.live(self.columns), poses)

    def advance_frame(self, state: _State, motion: RigidMotion, t0: float, t1: float) -> None:
        dt = (t1 - t0) / self.substeps
        for k in range(self.substeps):
            t_end = t0 + (k + 1) * dt if k + 1 < self.substeps else t1
            live = state.live(self.columns)
            if len(live):
                x, v = state.x[live], state.v[live]
                fly(x, v, dt, self.gravity, self.src.air.take(live))
                state.x[live], state.v[live] = x, v
            poses = motion.at(t_end)
            state.give_birth(self.columns, t_end, poses, self.gravity, advance=True)
            state.bury(self.columns, t_end)
            self._collide(state, state.live(self.columns), poses)

    def _collide(self, state: _State, live: np.ndarray, poses: PartPoses) -> None:
        if len(live) == 0 or not self.colliders:
            return
        x, v = state.x[live], state.v[live]
        src = self.src
        radius, e, mu = src.radius[live], src.restitution[live], src.friction[live]
        for _ in range(COLLISION_PASSES):
            collide(x, v, radius, e, mu, poses, self.colliders)
        state.x[live], state.v[live] = x, v


def _record(state: _State, row: int, t: float, position, velocity, alive) -> None:
    live = state.born & ~state.dead
    alive[row] = live
    position[row][live] = state.x[live]
    velocity[row][live] = state.v[live]


def _check_stable(state: _State, sources: _Sources, t: float) -> None:
    live = np.flatnonzero(state.born & ~state.dead)
    if len(live) == 0:
        return
    bad = ~np.isfinite(state.x[live]).all(axis=1) | ~np.isfinite(state.v[live]).all(axis=1)
    bad |= np.einsum("ij,ij->i", state.v[live], state.v[live]) > MAX_SPEED**2
    if bad.any():
        first = live[np.flatnonzero(bad)[0]]
        name = sources.names[sources.emitter[first]]
        raise SimulationError(
            f"particles of {name!r} became unstable at t={t:.3f} s (speed over {MAX_SPEED:g} m/s or not finite); "
            "lower the emitter's speed or raise shot.physics_hz"
        )
