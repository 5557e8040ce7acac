"""Particle sources of the scene spec: `emitters:` and `fluid_blocks:`.

An emitter spawns particles over time (a rate) or at once (a burst) from a shape: a point, a
box, a disc, or the surface of an object of the scene or of a mesh file. Its `kind` picks the
physics: `ballistic` (gravity, drag, wind, bouncing off rigid bodies) or `fluid` (an
incompressible liquid, position-based fluids). A fluid block is a box of liquid at rest at t=0.

Limits on the particle count are checked when the scene loads (`particle_checks.py`), so a scene
that would exhaust memory fails with a SpecError naming the emitter, before any work starts.
Directions and positions are in the world frame; `euler_deg`/`quaternion` turn the shape only.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from . import counts
from .ade20k import AdeClass, default_particle_semantic
from .types import (
    ColorRGB,
    NonNegativeFloat,
    PositiveFloat,
    PositiveVec3,
    QuaternionXYZW,
    UnitInterval,
    Vec3,
)

MAX_BALLISTIC_PARTICLES = 1_000_000
"""Total ballistic particles of a scene (every emitter's burst + rate x emitting time)."""
MAX_FLUID_PARTICLES = 200_000
"""Total fluid particles of a scene (fluid emitters and fluid blocks together)."""
MAX_PARTICLE_FRAMES = 60_000_000
"""particles x (frames + 1): positions and velocities take 24 bytes each, so about 1.4 GB."""


def _list_to_tuple(value):
    return tuple(value) if isinstance(value, list) else value


def _scale3(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),) * 3
    return _list_to_tuple(value)


class Strict(BaseModel):
    """Same configuration as sim/spec/model.py's `Strict` (model.py imports this module, so the
    base cannot be imported from there): unknown keys forbidden, strict types, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class VelocitySpec(Strict):
    """Initial velocity: a direction, a cone around it, and a speed range (uniform)."""

    direction: Vec3 = (0.0, 0.0, 1.0)
    """World frame; normalised on use. Particles leave along it, spread over `cone_deg`."""
    cone_deg: Annotated[float, Field(ge=0, le=180, allow_inf_nan=False)] = 0.0
    """Half-angle of the cone of directions, degrees; directions are uniform on the cone's cap."""
    speed: Annotated[tuple[NonNegativeFloat, NonNegativeFloat], BeforeValidator(_list_to_tuple)] = (1.0, 1.0)
    """[min, max] speed in m/s, uniform in between."""

    @model_validator(mode="after")
    def _valid(self) -> "VelocitySpec":
        if math.sqrt(sum(c * c for c in self.direction)) < 1e-9:
            raise ValueError("velocity.direction has zero length; give a direction such as [0, 0, 1]")
        if self.speed[0] > self.speed[1]:
            raise ValueError(f"velocity.speed is [min, max], got min {self.speed[0]} > max {self.speed[1]}; swap them")
        return self


class FluidSpec(Strict):
    """The liquid's material and solver (position-based fluids, Macklin and Mueller 2013)."""

    rest_density: Annotated[float, Field(gt=0, le=30000, allow_inf_nan=False)] = 1000.0
    """kg/m^3 (water 1000)."""
    viscosity: UnitInterval = 0.01
    """XSPH viscosity coefficient c: each step a particle's velocity moves fraction c towards its
    neighbours' kernel-weighted mean (0 = inviscid, water about 0.01, honey about 0.3)."""
    iterations: Annotated[int, Field(ge=1, le=50)] = 4
    """Density-constraint iterations per substep (more: stiffer, slower)."""
    substeps: Annotated[int, Field(ge=1, le=64)] | None = None
    """Solver substeps per frame; default: the smallest count (at least 2) that keeps every
    particle's move per substep under one particle spacing (2 x radius, a CFL rule) and the sag
    under gravity per substep under 5 % of a spacing (see docs/particles.md)."""


class EmitterSpec(Strict):
    """A source of particles (see the module docstring)."""

    name: str
    kind: Literal["ballistic", "fluid"] = "ballistic"
    shape: Literal["point", "box", "disc", "surface"] = "point"
    """point: at `position`; box: uniform in a box of `size`; disc: uniform on a disc of
    `disc_radius` in the emitter's local XY plane; surface: uniform (by area) on the surface of
    `object` (at its simulated pose) or of the mesh `file` (at the emitter's pose and `scale`)."""
    position: Vec3 = (0.0, 0.0, 0.0)
    euler_deg: Vec3 | None = None
    """Orientation of the shape (roll, pitch, yaw, degrees, fixed X, Y, Z)."""
    quaternion: QuaternionXYZW | None = None
    """Orientation of the shape as [x, y, z, w]."""
    size: PositiveVec3 | None = None
    """Box shape: full extents [x, y, z], metres."""
    disc_radius: PositiveFloat | None = None
    """Disc shape: radius, metres."""
    object: str | None = None
    """Surface shape: the (expanded) name of an object whose surface emits."""
    file: str | None = None
    """Surface shape: a mesh file beside the scene whose surface emits."""
    scale: Annotated[PositiveVec3, BeforeValidator(_scale3)] = (1.0, 1.0, 1.0)
    """Surface shape with `file`: scale of the mesh's vertices."""
    rate: NonNegativeFloat = 0.0
    """Particles per second between `start` and `stop`, evenly spaced in time."""
    burst: Annotated[int, Field(ge=0, le=MAX_BALLISTIC_PARTICLES)] = 0
    """Particles emitted at once at `start`."""
    start: NonNegativeFloat = 0.0
    """Seconds."""
    stop: NonNegativeFloat | None = None
    """Seconds; default the end of the shot."""
    velocity: VelocitySpec = VelocitySpec()
    lifetime: PositiveFloat | None = None
    """Seconds a particle lives after it is emitted; default: until the end of the shot."""
    particle_radius: Annotated[PositiveFloat, Field(le=1.0)] = 0.005
    """Metres. Collision radius and rendered radius. Fluid: the spacing of particles is 2 x radius."""
    color: ColorRGB = (0.95, 0.6, 0.2)
    semantic: AdeClass | None = None
    """What the particles are, as an ADE20K class name (the seg control's colour); default by a word of
    the name (rain -> water, sparks -> light), else by kind (fluid -> water, ballistic -> sand)."""
    drag: NonNegativeFloat = 0.0
    """Ballistic: air drag. linear: dv/dt = -drag (v - wind), drag in 1/s;
    quadratic: dv/dt = -drag |v - wind| (v - wind), drag in 1/m."""
    drag_model: Literal["linear", "quadratic"] = "quadratic"
    wind: Vec3 = (0.0, 0.0, 0.0)
    """Ballistic: velocity of the air, m/s, world frame."""
    restitution: UnitInterval = 0.3
    """Ballistic: normal speed kept after bouncing off any rigid body."""
    friction: NonNegativeFloat = 0.3
    """Ballistic: Coulomb friction against rigid bodies (tangential speed lost <= friction x normal speed change)."""
    fluid: FluidSpec = FluidSpec()
    """Fluid: the liquid's material and solver; every fluid source of a scene shares one."""

    @model_validator(mode="after")
    def _consistent(self) -> "EmitterSpec":
        if self.euler_deg is not None and self.quaternion is not None:
            raise ValueError("euler_deg and quaternion cannot both be set; keep one")
        if self.rate == 0 and self.burst == 0:
            raise ValueError("an emitter needs rate (particles/s) or burst (a count) above 0")
        if self.stop is not None and self.stop <= self.start:
            raise ValueError(f"stop ({self.stop} s) must be after start ({self.start} s)")
        shape_fields = {"box": ("size",), "disc": ("disc_radius",), "surface": ("object", "file", "scale")}
        for shape, names in shape_fields.items():
            for name in names:
                if name in self.model_fields_set and self.shape != shape:
                    raise ValueError(f"{name} applies to shape: {shape} only (this emitter has shape: {self.shape}); remove it")
        if self.shape == "box" and self.size is None:
            raise ValueError("a box emitter needs size: [x, y, z] in metres")
        if self.shape == "disc" and self.disc_radius is None:
            raise ValueError("a disc emitter needs disc_radius in metres")
        if self.shape == "surface" and (self.object is None) == (self.file is None):
            raise ValueError("a surface emitter needs exactly one of object (an object's name) or file (a mesh file)")
        if self.shape == "surface" and self.object is not None and "scale" in self.model_fields_set:
            raise ValueError("scale applies to a surface emitter with file only; the object's own size is used")
        if self.kind == "fluid":
            ballistic_only = [n for n in ("drag", "drag_model", "wind", "restitution", "friction") if n in self.model_fields_set]
            if ballistic_only:
                raise ValueError(f"{', '.join(ballistic_only)} applies to kind: ballistic only; remove it from this fluid emitter")
        elif "fluid" in self.model_fields_set:
            raise ValueError("fluid applies to kind: fluid only; remove it or set kind: fluid")
        return self

    @property
    def semantic_class(self) -> str:
        """`semantic`, or the default for this emitter's name and kind (sim.spec.ade20k)."""
        return self.semantic or default_particle_semantic(self.name, self.kind)

    def emitting_window(self, duration: float) -> tuple[float, float]:
        """(start, stop) in seconds, clipped to the shot."""
        stop = duration if self.stop is None else min(self.stop, duration)
        return self.start, max(self.start, stop)

    def particle_count(self, duration: float) -> int:
        """Particles this emitter creates in a shot of `duration` seconds (burst + rate x time)."""
        if self.start > duration:
            return 0
        start, stop = self.emitting_window(duration)
        return self.burst + counts.count(self.rate * (stop - start) + 1e-9, math.floor)


class FluidBlockSpec(Strict):
    """A box of liquid at rest at t = 0, filled on a cubic lattice of spacing 2 x particle_radius.

    Give the box as `min` and `max` corners or as `center` and `size`.
    """

    name: str
    min: Vec3 | None = None
    max: Vec3 | None = None
    center: Vec3 | None = None
    size: PositiveVec3 | None = None
    """Full extents [x, y, z], metres."""
    particle_radius: Annotated[PositiveFloat, Field(le=1.0)] = 0.01
    """Metres; lattice spacing is 2 x radius."""
    velocity: Vec3 = (0.0, 0.0, 0.0)
    """Initial velocity of the whole block, m/s."""
    color: ColorRGB = (0.2, 0.45, 0.85)
    semantic: AdeClass | None = None
    """What the liquid is, as an ADE20K class name (the seg control's colour); default by a word of the
    name, else water."""
    fluid: FluidSpec = FluidSpec()

    @model_validator(mode="after")
    def _one_box(self) -> "FluidBlockSpec":
        corners = self.min is not None or self.max is not None
        centred = self.center is not None or self.size is not None
        if corners == centred:
            raise ValueError("give the block as min and max corners, or as center and size (one form)")
        if corners and (self.min is None or self.max is None):
            raise ValueError("a block given by corners needs both min and max")
        if centred and (self.center is None or self.size is None):
            raise ValueError("a block given by its centre needs both center and size")
        lo, hi = self.bounds
        if any(h - l < 2 * self.particle_radius for l, h in zip(lo, hi)):
            raise ValueError(
                f"the block {tuple(round(h - l, 6) for l, h in zip(lo, hi))} m is thinner than one particle "
                f"(spacing {2 * self.particle_radius} m) along some axis; make max > min + 2 x particle_radius"
            )
        return self

    @property
    def semantic_class(self) -> str:
        """`semantic`, or the default for this block's name (sim.spec.ade20k): a liquid, so water."""
        return self.semantic or default_particle_semantic(self.name, "fluid")

    @property
    def bounds(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """(min corner, max corner), metres."""
        if self.min is not None and self.max is not None:
            return self.min, self.max
        assert self.center is not None and self.size is not None
        lo = tuple(c - s / 2 for c, s in zip(self.center, self.size))
        hi = tuple(c + s / 2 for c, s in zip(self.center, self.size))
        return lo, hi  # type: ignore[return-value]

    def lattice_counts(self) -> tuple[int, int, int]:
        """Particles along x, y, z: floor(extent / spacing) (at least 1)."""
        lo, hi = self.bounds
        spacing = 2 * self.particle_radius
        return tuple(max(1, counts.count((h - l) / spacing + 1e-9, math.floor)) for l, h in zip(lo, hi))  # type: ignore[return-value]

    def particle_count(self) -> int:
        return counts.product(self.lattice_counts())
