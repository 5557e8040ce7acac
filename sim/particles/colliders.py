"""The rigid world as particles see it: one signed-distance collider per part.

Primitives (plane, box, sphere, capsule, cylinder) use their exact signed distance with the
dimensions from the scene spec; meshes and URDF links use a `GridSDF` of their visual meshes.
`collide` pushes particles out of every part at its pose of the moment and applies restitution
and Coulomb friction relative to the part's surface velocity. All work is vectorised over
particles; the only Python loop runs over parts, after a bounding-sphere cull.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..records import Part, Shot
from ..spec.model import BoxObject, CapsuleObject, CylinderObject, SphereObject, copy_suffixes
from . import sdf
from .poses import PartPoses

SdfFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Collider:
    """The signed distance of one part in its own frame."""

    part_index: int
    name: str
    distance: SdfFunction
    """points [n, 3] in the part frame -> (distance [n], unit gradient [n, 3])."""
    bound_radius: float
    """Radius of a sphere about the part frame's origin holding the whole part (inf for planes)."""


def build_colliders(shot: Shot, max_radius: float, max_step: float) -> list[Collider]:
    """One collider per part of the shot.

    max_radius: the largest particle radius (m); max_step: the farthest a particle can move in one
    substep (m). Grid SDFs get a margin of both, so a contact can never start outside their grid.
    """
    objects = {o.name + suffix: o for o in shot.scene.spec.objects for suffix in copy_suffixes(o)}
    colliders = []
    for index, part in enumerate(shot.parts):
        spec = objects.get(part.object_name) if part.link_index == -1 else None
        colliders.append(_collider(index, part, spec, max_radius, max_step))
    return colliders


def _collider(index: int, part: Part, spec, max_radius: float, max_step: float) -> Collider:
    if part.shape == "plane":
        return Collider(index, part.name, sdf.plane_sdf, np.inf)
    if isinstance(spec, BoxObject) and part.shape == "box":
        half = np.asarray(spec.size, float) / 2
        return Collider(index, part.name, lambda p: sdf.box_sdf(p, half), float(np.linalg.norm(half)))
    if isinstance(spec, SphereObject) and part.shape == "sphere":
        r = spec.radius
        return Collider(index, part.name, lambda p: sdf.sphere_sdf(p, r), r)
    if isinstance(spec, CapsuleObject) and part.shape == "capsule":
        r, length = spec.radius, spec.length
        return Collider(index, part.name, lambda p: sdf.capsule_sdf(p, r, length), r + length / 2)
    if isinstance(spec, CylinderObject) and part.shape == "cylinder":
        r, length = spec.radius, spec.length
        return Collider(index, part.name, lambda p: sdf.cylinder_sdf(p, r, length), float(np.hypot(r, length / 2)))
    return _mesh_collider(index, part, max_radius, max_step)


def _mesh_collider(index: int, part: Part, max_radius: float, max_step: float) -> Collider:
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
    margin = 2 * cell + max_radius + min(max_step, 0.02)
    grid = sdf.GridSDF(v, np.concatenate(faces), cell=cell, margin=margin)
    bound = float(np.linalg.norm(v, axis=1).max())
    return Collider(index, part.name, grid, bound)


def collide(
    x: np.ndarray,
    v: np.ndarray,
    radius: np.ndarray,
    restitution: np.ndarray,
    friction: np.ndarray,
    poses: PartPoses,
    colliders: list[Collider],
    candidates: list[np.ndarray | None] | None = None,
) -> np.ndarray:
    """Resolve contacts of particles with every part, in place. Returns bool [n], touched a part.

    x, v: float64 [n, 3] positions (m) and velocities (m/s), modified in place.
    radius, restitution, friction: float64 [n] per particle.
    A particle closer to a part than its radius is pushed out along the distance gradient; if it
    was approaching, its penetration is mirrored with the restitution (x += (1 + e) depth n, so
    the bounce height does not depend on where in the substep the contact happened), its normal
    speed relative to the surface becomes -e times itself, and its tangential speed drops by up
    to friction x (1 + e) x |normal speed| (Coulomb), never reversing.
    """
    touched = np.zeros(len(x), dtype=bool)
    if len(x) == 0:
        return touched
    r_max = float(radius.max())
    for number, collider in enumerate(colliders):
        centre = poses.position[collider.part_index]
        rotation = poses.rotation[collider.part_index]
        # 1. Cull by the given candidates, or by the part's bounding sphere (planes test every particle).
        if candidates is not None:
            near = candidates[number]
            if len(near) == 0:
                continue
            rel = x[near] - centre
        elif np.isfinite(collider.bound_radius):
            reach = collider.bound_radius + r_max
            rel = x - centre
            near = np.flatnonzero(np.einsum("ij,ij->i", rel, rel) < reach * reach)
            if len(near) == 0:
                continue
            rel = rel[near]
        else:
            near = None
            rel = x - centre
        # 2. Signed distance in the part frame (world -> part: R^T (x - c) = (x - c) @ R).
        distance, grad_local = collider.distance(rel @ rotation)
        r = radius if near is None else radius[near]
        depth = r - distance
        hit = np.flatnonzero(depth > 0)
        if len(hit) == 0:
            continue
        idx = hit if near is None else near[hit]
        normal = grad_local[hit] @ rotation.T
        # 3. Velocity of the part's surface at the particle.
        surface_v = poses.linear_velocity[collider.part_index] + np.cross(poses.angular_velocity[collider.part_index], rel[hit])
        v_rel = v[idx] - surface_v
        vn = np.einsum("ij,ij->i", v_rel, normal)
        approaching = vn < 0
        e = restitution[idx]
        v_t = v_rel - vn[:, None] * normal
        speed_t = np.linalg.norm(v_t, axis=1)
        loss = np.where(approaching, friction[idx] * (1 + e) * -vn, 0.0)
        keep = np.where(speed_t > 1e-12, np.maximum(0.0, 1.0 - loss / np.maximum(speed_t, 1e-12)), 0.0)
        vn_new = np.where(approaching, -e * vn, vn)
        v[idx] = surface_v + v_t * keep[:, None] + vn_new[:, None] * normal
        push = np.where(approaching, (1 + e) * depth[hit], depth[hit])
        x[idx] += push[:, None] * normal
        touched[idx] = True
    return touched


def near_candidates(x: np.ndarray, reach: np.ndarray | float, poses: PartPoses, colliders: list[Collider]) -> list[np.ndarray]:
    """Per collider, the indices of particles closer to it than `reach` (m, scalar or [n])."""
    out = []
    for collider in colliders:
        rel = x - poses.position[collider.part_index]
        distance, _ = collider.distance(rel @ poses.rotation[collider.part_index])
        out.append(np.flatnonzero(distance < reach))
    return out


def max_penetration(x: np.ndarray, radius: np.ndarray, poses: PartPoses, colliders: list[Collider]) -> np.ndarray:
    """float64 [n]: how far each particle's centre lies inside any part (0 when outside all)."""
    worst = np.zeros(len(x))
    for collider in colliders:
        rel = x - poses.position[collider.part_index]
        distance, _ = collider.distance(rel @ poses.rotation[collider.part_index])
        worst = np.maximum(worst, np.where(np.isfinite(distance), -distance, 0.0))
    return worst
