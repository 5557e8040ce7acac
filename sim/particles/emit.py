"""Where, when and how fast each particle is born: the emission schedule of a shot.

Deterministic: emitter k draws from `numpy.random.default_rng([shot seed, k])`, so adding an
emitter never changes the particles of another. A rate emitter spawns its particles evenly in
time (t = start + i / rate); a burst spawns all at `start`. Fluid blocks fill their box on a
cubic lattice of spacing 2 x particle_radius, centred in the box, at t = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..spec.assets import load_triangle_mesh
from ..spec.particles import EmitterSpec, FluidBlockSpec


@dataclass(frozen=True)
class SourceSchedule:
    """The particles of one emitter or fluid block (n of them), in spawn order."""

    name: str
    kind: str
    """'ballistic' or 'fluid'."""
    spawn_time: np.ndarray
    """float64 [n], seconds."""
    death_time: np.ndarray
    """float64 [n], seconds (inf: lives to the end of the shot)."""
    position: np.ndarray
    """float64 [n, 3], metres: world position at birth, or, when `surface_part` >= 0, the
    position in that part's frame (converted with the part's pose at the birth time)."""
    velocity: np.ndarray
    """float64 [n, 3], m/s, world frame (relative to the emitting part's surface when surface_part >= 0)."""
    surface_part: int = -1
    """Index of the part whose surface emits, -1 for a fixed shape."""


def spawn_times(emitter: EmitterSpec, duration: float) -> np.ndarray:
    """float64 [n] birth times: the burst at `start`, then one every 1/rate seconds."""
    if emitter.start > duration:
        return np.zeros(0)
    count = emitter.particle_count(duration)
    n_rate = count - emitter.burst
    burst = np.full(emitter.burst, emitter.start)
    rated = emitter.start + np.arange(n_rate) / emitter.rate if n_rate else np.zeros(0)
    return np.concatenate([burst, rated])


def directions_in_cone(rng: np.random.Generator, axis: np.ndarray, cone_deg: float, n: int) -> np.ndarray:
    """float64 [n, 3] unit vectors uniform over the spherical cap of half-angle cone_deg about axis."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    cos_max = math.cos(math.radians(cone_deg))
    cos_theta = 1.0 - rng.random(n) * (1.0 - cos_max)
    sin_theta = np.sqrt(np.maximum(0.0, 1.0 - cos_theta**2))
    phi = rng.random(n) * 2 * math.pi
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    return (cos_theta[:, None] * axis + (sin_theta * np.cos(phi))[:, None] * e1 + (sin_theta * np.sin(phi))[:, None] * e2)


def sample_triangles(rng: np.random.Generator, vertices: np.ndarray, faces: np.ndarray, n: int) -> np.ndarray:
    """float64 [n, 3] points uniform by area on a triangle mesh (vertices [V, 3], faces [F, 3])."""
    tri = np.asarray(vertices, float)[np.asarray(faces)]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if area.sum() <= 0:
        raise ValueError("the emitting surface has no area")
    chosen = rng.choice(len(tri), size=n, p=area / area.sum())
    r1 = np.sqrt(rng.random(n))
    r2 = rng.random(n)
    a, b, c = tri[chosen, 0], tri[chosen, 1], tri[chosen, 2]
    return (1 - r1)[:, None] * a + (r1 * (1 - r2))[:, None] * b + (r1 * r2)[:, None] * c


def emitter_rotation(emitter: EmitterSpec) -> Rotation:
    if emitter.quaternion is not None:
        return Rotation.from_quat(emitter.quaternion)
    if emitter.euler_deg is not None:
        return Rotation.from_euler("xyz", [math.radians(a) for a in emitter.euler_deg])
    return Rotation.identity()


def emitter_schedule(
    emitter: EmitterSpec,
    index: int,
    seed: int,
    duration: float,
    surface_mesh: tuple[np.ndarray, np.ndarray] | None = None,
    surface_part: int = -1,
) -> SourceSchedule:
    """The schedule of emitter number `index` of the scene.

    surface_mesh: (vertices [V, 3], faces [F, 3]) of the emitting surface for shape 'surface':
    in the part's frame when surface_part >= 0 (an object), else in the emitter's frame (a file,
    before its scale).
    """
    rng = np.random.default_rng([seed, index])
    times = spawn_times(emitter, duration)
    n = len(times)
    rotation = emitter_rotation(emitter)
    origin = np.asarray(emitter.position, float)
    if emitter.shape == "point":
        position = np.broadcast_to(origin, (n, 3)).copy()
    elif emitter.shape == "box":
        local = (rng.random((n, 3)) - 0.5) * np.asarray(emitter.size, float)
        position = origin + rotation.apply(local) if n else np.zeros((0, 3))
    elif emitter.shape == "disc":
        radius = emitter.disc_radius * np.sqrt(rng.random(n))
        angle = rng.random(n) * 2 * math.pi
        local = np.stack([radius * np.cos(angle), radius * np.sin(angle), np.zeros(n)], axis=1)
        position = origin + rotation.apply(local) if n else np.zeros((0, 3))
    else:
        if surface_mesh is None:
            raise ValueError(f"emitter {emitter.name!r} has shape surface but no surface mesh was given")
        vertices, faces = surface_mesh
        local = sample_triangles(rng, vertices, faces, n) if n else np.zeros((0, 3))
        if surface_part >= 0:
            position = local
        else:
            position = origin + rotation.apply(local * np.asarray(emitter.scale, float)) if n else np.zeros((0, 3))
    directions = directions_in_cone(rng, np.asarray(emitter.velocity.direction), emitter.velocity.cone_deg, n)
    lo, hi = emitter.velocity.speed
    speed = lo + (hi - lo) * rng.random(n)
    lifetime = math.inf if emitter.lifetime is None else emitter.lifetime
    return SourceSchedule(
        name=emitter.name,
        kind=emitter.kind,
        spawn_time=times,
        death_time=times + lifetime,
        position=position,
        velocity=directions * speed[:, None],
        surface_part=surface_part,
    )


def block_schedule(block: FluidBlockSpec) -> SourceSchedule:
    """A fluid block: particles on a cubic lattice, centred in the box, born at t = 0."""
    lo, hi = (np.asarray(b, float) for b in block.bounds)
    counts = np.asarray(block.lattice_counts())
    spacing = 2 * block.particle_radius
    start = lo + (hi - lo - (counts - 1) * spacing) / 2
    axes = [start[k] + spacing * np.arange(counts[k]) for k in range(3)]
    # z slowest so the block's layers are contiguous columns (bottom layer first).
    zz, yy, xx = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    position = np.stack([xx.ravel(), yy.ravel(), zz.ravel()], axis=1)
    n = len(position)
    return SourceSchedule(
        name=block.name,
        kind="fluid",
        spawn_time=np.zeros(n),
        death_time=np.full(n, math.inf),
        position=position,
        velocity=np.broadcast_to(np.asarray(block.velocity, float), (n, 3)).copy(),
    )


def load_surface_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices float64 [V, 3], faces int64 [F, 3]) of a mesh file."""
    mesh = load_triangle_mesh(path)
    return np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64)
