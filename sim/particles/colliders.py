"""The rigid world as particles see it: one signed-distance collider per part.

Primitives (plane, box, sphere, capsule, cylinder) use their exact signed distance with the
dimensions from the scene spec; meshes and URDF links use a `GridSDF` of their visual meshes.
`collide` pushes particles out of every part at its pose of the moment and applies restitution
and Coulomb friction relative to the part's surface velocity. Candidates are culled by each
part's bounding box (vectorised numpy); the contacts themselves are one compiled loop (numba)
over a part's candidates, one call per part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..records import Part, Shot
from ..spec.model import BoxObject, CapsuleObject, CylinderObject, SphereObject, copy_suffixes
from . import sdf
from .kernels import push_out_of_part, resolve_contacts
from .poses import PartPoses


@dataclass(frozen=True)
class Collider:
    """The signed distance of one part in its own frame."""

    part_index: int
    name: str
    shape: object
    """A shape of sdf.py: distance(p) [n], gradient(p) [n, 3] of part-frame points, bounds."""
    bound_radius: float
    """Radius of a sphere about the part frame's origin holding the whole part (inf for planes)."""

    @property
    def distance(self):
        return self.shape.distance

    @property
    def gradient(self):
        return self.shape.gradient


def build_colliders(shot: Shot, max_radius: float, max_step: float, liquid_reach: float = 0.0) -> list[Collider]:
    """One collider per part of the shot.

    max_radius: the largest particle radius (m); max_step: the farthest a particle can move in one
    substep (m). Grid SDFs get a margin of both, so a contact can never start outside their grid.
    liquid_reach: how far from a wall a liquid particle gets wall density (m; 0 without liquid):
    grid SDFs hold true distances (not clamped ones) that far out, inside their grid.
    """
    objects = {o.name + suffix: o for o in shot.scene.spec.objects for suffix in copy_suffixes(o)}
    colliders = []
    for index, part in enumerate(shot.parts):
        spec = objects.get(part.object_name) if part.link_index == -1 else None
        colliders.append(_collider(index, part, spec, max_radius, max_step, liquid_reach))
    return colliders


def _collider(index: int, part: Part, spec, max_radius: float, max_step: float, liquid_reach: float) -> Collider:
    if part.shape == "plane":
        return Collider(index, part.name, sdf.PlaneSDF(), np.inf)
    if isinstance(spec, BoxObject) and part.shape == "box":
        half = np.asarray(spec.size, float) / 2
        return Collider(index, part.name, sdf.BoxSDF(half), float(np.linalg.norm(half)))
    if isinstance(spec, SphereObject) and part.shape == "sphere":
        return Collider(index, part.name, sdf.SphereSDF(spec.radius), spec.radius)
    if isinstance(spec, CapsuleObject) and part.shape == "capsule":
        r, length = spec.radius, spec.length
        return Collider(index, part.name, sdf.CapsuleSDF(r, length), r + length / 2)
    if isinstance(spec, CylinderObject) and part.shape == "cylinder":
        r, length = spec.radius, spec.length
        return Collider(index, part.name, sdf.CylinderSDF(r, length), float(np.hypot(r, length / 2)))
    return _mesh_collider(index, part, max_radius, max_step, liquid_reach)


def _mesh_collider(index: int, part: Part, max_radius: float, max_step: float, liquid_reach: float) -> Collider:
    if not part.meshes:
        raise ValueError(f"part {part.name!r} has no geometry for particles to collide with")
    vertices, faces, offset = [], [], 0
    for mesh in part.meshes:
        vertices.append(np.asarray(mesh.vertices, float))
        faces.append(np.asarray(mesh.faces, np.int64) + offset)
        offset += len(mesh.vertices)
    v = np.concatenate(vertices)
    extent = float((v.max(axis=0) - v.min(axis=0)).max())
    cell = extent / 64
    # Outside the grid the distance is +inf; the margin covers a particle's radius and its move
    # in one substep (capped at 2 cm: faster particles could skip a thin mesh wall anyway).
    # Liquid near the part needs its distance as far as walls add density.
    margin = max(2 * cell + max_radius + min(max_step, 0.02), 2 * cell + liquid_reach)
    grid = sdf.GridSDF(v, np.concatenate(faces), cell=cell, margin=margin, band=liquid_reach)
    bound = float(np.linalg.norm(v, axis=1).max())
    return Collider(index, part.name, grid, bound)


def broadphase(x: np.ndarray, reach: float, poses: PartPoses, colliders: list[Collider]) -> list[np.ndarray]:
    """Per collider, the indices of the particles x [n, 3] that may be within `reach` (m) of it.

    Planes: the exact distance to the plane (one matrix-vector product). Other parts: their
    world-axis bounding box, tested first along its thinnest axis (one column of x), then along
    the other two for the survivors only.
    """
    out = []
    for collider in colliders:
        rotation = poses.rotation[collider.part_index]
        position = poses.position[collider.part_index]
        bounds = collider.shape.bounds
        if bounds is None:
            normal = rotation[:, 2]
            out.append(np.flatnonzero(x @ normal < normal @ position + reach))
            continue
        lo, hi = bounds
        centre = position + rotation @ ((lo + hi) / 2)
        half = np.abs(rotation) @ ((hi - lo) / 2) + reach
        axes = np.argsort(half)
        near = np.flatnonzero(np.abs(x[:, axes[0]] - centre[axes[0]]) <= half[axes[0]])
        for axis in axes[1:]:
            near = near[np.abs(x[:, axis].take(near) - centre[axis]) <= half[axis]]
        out.append(near)
    return out


def collide(
    x: np.ndarray,
    v: np.ndarray,
    radius: float,
    restitution: float,
    friction: float,
    poses: PartPoses,
    colliders: list[Collider],
    candidates: list[np.ndarray] | None = None,
    rest_speed: float = 0.0,
    gravity: np.ndarray | None = None,
) -> np.ndarray | None:
    """Resolve contacts of particles with every part, in place.

    x, v: float64 [n, 3] positions (m) and velocities (m/s), C-contiguous, updated in place
    (they may be views of consecutive rows). radius (m), restitution, friction: the same for
    every particle.
    candidates: per collider, the only particles that may touch it (from `broadphase` or
    `near_candidates`); default: `broadphase` with the radius.
    A particle closer to a part than its radius is pushed out along the distance gradient. If it
    was approaching, its normal motion since the contact began is replayed exactly (constant
    acceleration `gravity` along the normal; none when gravity is None): the speed at contact
    v_c, reflected to -e v_c, then flown for the time since contact, so the bounce does not
    depend on where in the substep it fell; the tangential speed drops by up to friction x the
    normal speed change (Coulomb), never reversing. Contacts slower than `rest_speed` (m/s) are
    inelastic (resting contact: no micro-bounces). The arithmetic per particle is
    `kernels.resolve_contacts` (compiled).
    With `gravity` [3] given, returns bool [n]: the particle touched a part at rest on a surface
    whose friction holds it against gravity (where it can rest); otherwise None.
    """
    held = np.zeros(len(x), bool)
    if len(x) == 0:
        return held if gravity is not None else None
    if candidates is None:
        candidates = broadphase(x, radius, poses, colliders)
    g = np.zeros(3) if gravity is None else np.asarray(gravity, float)
    for collider, near in zip(colliders, candidates):
        if len(near) == 0:
            continue
        part = collider.part_index
        linear, angular = poses.linear_velocity[part], poses.angular_velocity[part]
        moving = bool(linear.any() or angular.any())  # parts at rest (static ones always): surface velocity 0
        resolve_contacts(x, v, near, float(radius), float(restitution), float(friction), poses.position[part],
                          poses.rotation[part], linear, angular, moving, float(rest_speed), g, gravity is not None, held,
                          *collider.shape.compiled)
    return held if gravity is not None else None


def near_candidates(x: np.ndarray, reach: float, poses: PartPoses, colliders: list[Collider]) -> list[np.ndarray]:
    """Per collider, the indices (increasing) of particles whose signed distance to it is below
    `reach` (m). For exact shapes the signed distance is evaluated only inside the part's
    bounding box grown by `reach` (`broadphase`): no particle outside it can be that close. A
    grid SDF is evaluated everywhere: beyond its band it reports the band's width, not the true
    distance, so points outside the grown box can count as near."""
    out = []
    boxes = broadphase(x, reach, poses, colliders)
    for collider, near in zip(colliders, boxes):
        if isinstance(collider.shape, sdf.GridSDF):
            near = np.arange(len(x))
        if len(near) == 0:
            out.append(near)
            continue
        rel = np.take(x, near, axis=0) - poses.position[collider.part_index]
        distance = collider.distance(rel @ poses.rotation[collider.part_index])
        out.append(near[distance < reach])
    return out


def push_out(x: np.ndarray, radius: float, poses: PartPoses, colliders: list[Collider], candidates: list[np.ndarray]) -> None:
    """Project particles x [n, 3] (float64, C-contiguous, m, updated in place) closer than
    `radius` (m) to a part out along its distance gradient to exactly `radius` from it, part by
    part, for the candidate particles of each part (kernels.push_out_of_part). The same
    positions as `collide` with no velocities, restitution or friction (a position-only
    contact, as the liquid solver's iterations need), in far fewer operations."""
    for collider, near in zip(colliders, candidates):
        if len(near):
            part = collider.part_index
            push_out_of_part(x, near, radius, poses.position[part], poses.rotation[part], *collider.shape.compiled)
