"""The particles' state while they are simulated, and the interface of the solvers that move it.

Every particle is one column of `ParticleState` (position and velocity); the columns of one
emitter or fluid block form a `Segment`. A `ParticleGroup` (ballistic in simulate.py, liquid in
fluid.py) moves the segments of its kind; simulate.py runs the groups frame by frame.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from ..spec.errors import SimulationError
from ..spec.particles import EmitterSpec
from .ballistic import AirParams, advance_newborn
from .emit import SourceSchedule
from .poses import PartPoses, RigidMotion

MAX_SPEED = 500.0
"""m/s; a particle faster than this means the step diverged (SimulationError)."""


@dataclass
class Segment:
    """The particles of one emitter or fluid block: columns begin..end, born and dying in column order.

    Birth times never decrease along the columns (a burst, then one every 1/rate), and every
    particle of a source has the same lifetime, so the live particles are always the contiguous
    columns begin + dead .. begin + born: solvers work on array views, never on masks.
    """

    name: str
    kind: str
    begin: int
    end: int
    spawn_time: np.ndarray
    """float64 [n], non-decreasing."""
    death_time: np.ndarray
    """float64 [n], non-decreasing (inf: never dies)."""
    birth_position: np.ndarray
    birth_velocity: np.ndarray
    surface_part: int
    radius: float
    restitution: float
    friction: float
    air: AirParams
    color: tuple[float, float, float]
    born: int = 0
    dead: int = 0

    @property
    def live(self) -> slice:
        """The columns alive now."""
        return slice(self.begin + self.dead, self.begin + self.born)

    @property
    def any_live(self) -> bool:
        return self.born > self.dead


@dataclass
class ParticleState:
    """Every particle's position and velocity (P columns), and the segments they belong to."""

    segments: list[Segment]
    x: np.ndarray
    """float64 [P, 3], m."""
    v: np.ndarray
    """float64 [P, 3], m/s."""
    count: int = field(init=False)

    def __post_init__(self) -> None:
        self.count = len(self.x)

    @classmethod
    def build(cls, schedules: list[SourceSchedule], specs: list) -> "ParticleState":
        segments, begin = [], 0
        for schedule, spec in zip(schedules, specs):
            n = len(schedule.spawn_time)
            ballistic = isinstance(spec, EmitterSpec) and spec.kind == "ballistic"
            segments.append(
                Segment(
                    name=schedule.name,
                    kind=schedule.kind,
                    begin=begin,
                    end=begin + n,
                    spawn_time=schedule.spawn_time,
                    death_time=schedule.death_time,
                    birth_position=schedule.position,
                    birth_velocity=schedule.velocity,
                    surface_part=schedule.surface_part,
                    radius=float(spec.particle_radius),
                    restitution=float(spec.restitution) if ballistic else 0.0,
                    friction=float(spec.friction) if ballistic else 0.0,
                    air=AirParams(spec.drag, spec.drag_model == "quadratic", np.asarray(spec.wind, float))
                    if ballistic
                    else AirParams(0.0, False, np.zeros(3)),
                    color=tuple(spec.color),
                )
            )
            begin += n
        return cls(segments, np.zeros((begin, 3)), np.zeros((begin, 3)))

    def give_birth(self, seg: Segment, t: float, poses: PartPoses, gravity: np.ndarray) -> slice:
        """Bring to life the particles of `seg` born by time t; returns their columns.

        Surface-emitted particles are placed with their part's pose at t and inherit its surface
        velocity. Each newborn then flies freely for its age (t - birth time), so emission is
        smooth in time rather than bunched at substeps.
        """
        born = int(np.searchsorted(seg.spawn_time, t + 1e-12, side="right"))
        new = slice(seg.born, born)
        columns = slice(seg.begin + seg.born, seg.begin + born)
        if born <= seg.born:
            return columns
        x = seg.birth_position[new].copy()
        v = seg.birth_velocity[new].copy()
        if seg.surface_part >= 0:
            rotation = poses.rotation[seg.surface_part]
            offset = x @ rotation.T
            x = poses.position[seg.surface_part] + offset
            v += poses.linear_velocity[seg.surface_part] + np.cross(poses.angular_velocity[seg.surface_part], offset)
        advance_newborn(x, v, t - seg.spawn_time[new], gravity)
        self.x[columns], self.v[columns] = x, v
        seg.born = born
        return columns

    def bury(self, seg: Segment, t: float) -> None:
        """Particles of `seg` whose lifetime ended by time t stop moving (and are no longer alive)."""
        seg.dead = min(seg.born, max(seg.dead, int(np.searchsorted(seg.death_time, t + 1e-12, side="right"))))

    def record(self, row: int, position: np.ndarray, velocity: np.ndarray, alive: np.ndarray) -> None:
        for seg in self.segments:
            live = seg.live
            alive[row, live] = True
            position[row, live] = self.x[live]
            velocity[row, live] = self.v[live]

    def check_stable(self, t: float) -> None:
        for seg in self.segments:
            x, v = self.x[seg.live], self.v[seg.live]
            if len(x) == 0:
                continue
            speed2 = np.einsum("ij,ij->i", v, v)
            if not (np.isfinite(x).all() and np.isfinite(speed2).all() and speed2.max() <= MAX_SPEED**2):
                raise SimulationError(
                    f"particles of {seg.name!r} became unstable at t={t:.3f} s (speed over {MAX_SPEED:g} m/s or not finite); "
                    "lower the emitter's speed or raise shot.physics_hz"
                )


class ParticleGroup(ABC):
    """The particles of one kind and the solver that moves them."""

    @abstractmethod
    def begin(self, state: ParticleState, poses: PartPoses) -> None:
        """Birth of the particles that exist at t = 0, and their contacts."""

    @abstractmethod
    def advance_frame(self, state: ParticleState, motion: RigidMotion, t0: float, t1: float) -> None:
        """Step from frame time t0 to t1 (seconds) with this kind's substeps."""
