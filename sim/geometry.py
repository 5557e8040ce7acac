"""Visual triangle meshes of each part, expressed in the part's centre-of-mass frame.

The renderer (conditioning/) draws these meshes at the poses in the trajectory, so every
vertex here is in the frame whose world pose `trajectory.npz` records: the part's
centre-of-mass (inertial) frame. Primitives are centred on their centre of mass already;
meshes are moved into their principal frame (see sim/mass.py); URDF visuals are read back
from pybullet and moved from the link's URDF frame into its inertial frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybullet as p
import trimesh

from .mass import MeshFrame, mesh_frame
from .records import VisualMesh
from .spec.assets import enclosed_hull, load_triangle_mesh, scaled_mesh
from .spec.model import BoxObject, CapsuleObject, CylinderObject, ObjectBase, PlaneObject, SphereObject

SPHERE_SUBDIVISIONS = 3
"""Icosphere subdivisions: 1280 triangles, silhouette within 0.3 % of the true radius."""
ROUND_SECTIONS = 32
"""Sections around cylinders and capsules."""


def primitive_trimesh(obj: ObjectBase) -> trimesh.Trimesh:
    """Triangle mesh of a primitive in its own frame (centred on its centre of mass; axis along Z)."""
    if isinstance(obj, BoxObject):
        return trimesh.creation.box(extents=obj.size)
    if isinstance(obj, SphereObject):
        return trimesh.creation.icosphere(subdivisions=SPHERE_SUBDIVISIONS, radius=obj.radius)
    if isinstance(obj, CapsuleObject):
        return trimesh.creation.capsule(height=obj.length, radius=obj.radius, count=[ROUND_SECTIONS, ROUND_SECTIONS // 2])
    if isinstance(obj, CylinderObject):
        return trimesh.creation.cylinder(radius=obj.radius, height=obj.length, sections=ROUND_SECTIONS)
    if isinstance(obj, PlaneObject):
        return plane_trimesh(obj.size)
    raise TypeError(f"no primitive mesh for shape {getattr(obj, 'shape', type(obj).__name__)!r}")


def plane_trimesh(size: tuple[float, float]) -> trimesh.Trimesh:
    """A finite quad of `size` [x, y] metres at z = 0 facing +Z (two triangles)."""
    hx, hy = size[0] / 2.0, size[1] / 2.0
    vertices = np.array([[-hx, -hy, 0.0], [hx, -hy, 0.0], [hx, hy, 0.0], [-hx, hy, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False)


def visual_mesh(mesh: trimesh.Trimesh, color, texture=None) -> VisualMesh:
    """A VisualMesh with float32 vertices and int32 faces from a trimesh in the part frame."""
    return VisualMesh(
        vertices=np.ascontiguousarray(mesh.vertices, dtype=np.float32),
        faces=np.ascontiguousarray(mesh.faces, dtype=np.int32),
        color=tuple(float(c) for c in color),  # type: ignore[arg-type]
        texture=texture,
    )


# ------------------------------------------------------------------------------ meshes
@dataclass(frozen=True)
class MeshBody:
    """A mesh object prepared for pybullet and the renderer, in its centre-of-mass principal frame."""

    visual: trimesh.Trimesh
    """The file's triangles (scaled) in the body frame."""
    hull: trimesh.Trimesh
    """Convex hull of the visual, in the body frame."""
    frame: MeshFrame
    """Where the body frame sits in the file frame, and the mass properties at unit density."""
    mass_source: str
    """'hull' or 'mesh': which volume gave the mass and inertia."""


def prepare_mesh(path: Path, scale: tuple[float, float, float], collision: str) -> MeshBody:
    """Load, scale and centre a mesh file.

    Mass properties come from the convex hull for `convex_hull` collision (the shape pybullet
    collides with), and from the mesh itself for `convex_decomposition` when the mesh is
    watertight (else from its hull).
    """
    mesh = scaled_mesh(load_triangle_mesh(path), scale)
    hull = enclosed_hull(mesh)
    if hull is None:
        # Flat: the spec allows that for a static mesh only, which has no mass, so the body frame
        # is the file's own (sim/spec/assets.py checks moving meshes with this same scaling).
        return MeshBody(visual=mesh, hull=mesh, frame=MeshFrame.file_frame(), mass_source="none")
    use_mesh = collision == "convex_decomposition" and mesh.is_volume
    frame = mesh_frame(mesh if use_mesh else hull)
    to_body = lambda m: trimesh.Trimesh(vertices=frame.to_body(m.vertices), faces=m.faces, process=False)  # noqa: E731
    return MeshBody(visual=to_body(mesh), hull=to_body(hull), frame=frame, mass_source="mesh" if use_mesh else "hull")


# -------------------------------------------------------------------------------- URDF
def urdf_link_meshes(client: int, body_id: int, urdf_dir: Path, color, texture=None) -> dict[int, tuple[VisualMesh, ...]]:
    """Visual meshes of every link of a loaded URDF (link index -1 for the base), in COM frames.

    pybullet reports each visual's local frame relative to the link's URDF frame (checked in
    tests against the collision AABBs), with `globalScaling` already applied to sizes and
    offsets. We move them into the link's inertial frame: v_com = T_inertial^-1 T_visual v.
    """
    meshes: dict[int, list[VisualMesh]] = {-1: []}
    for j in range(p.getNumJoints(body_id, physicsClientId=client)):
        meshes[j] = []
    for row in p.getVisualShapeData(body_id, physicsClientId=client):
        link, geom, dims, filename = row[1], row[2], row[3], row[4]
        local_pos, local_orn = row[5], row[6]
        piece = _urdf_visual_trimesh(geom, dims, filename, urdf_dir)
        if piece is None:
            continue
        inertial_pos, inertial_orn = link_inertial_frame(client, body_id, link)
        inv_pos, inv_orn = p.invertTransform(inertial_pos, inertial_orn)
        pos, orn = p.multiplyTransforms(inv_pos, inv_orn, local_pos, local_orn)
        matrix = np.eye(4)
        matrix[:3, :3] = np.asarray(p.getMatrixFromQuaternion(orn)).reshape(3, 3)
        matrix[:3, 3] = pos
        piece.apply_transform(matrix)
        meshes.setdefault(link, []).append(visual_mesh(piece, color, texture))
    return {link: tuple(items) for link, items in meshes.items()}


def link_inertial_frame(client: int, body_id: int, link: int) -> tuple[tuple, tuple]:
    """(position, orientation xyzw) of a link's inertial frame in its URDF link frame."""
    if link == -1:
        info = p.getDynamicsInfo(body_id, -1, physicsClientId=client)
        return tuple(info[3]), tuple(info[4])
    state = p.getLinkState(body_id, link, physicsClientId=client)
    return tuple(state[2]), tuple(state[3])


def link_frame_origin(client: int, body_id: int, link: int) -> tuple[float, float, float]:
    """Position of the link's URDF frame (its joint) in the link's centre-of-mass frame, metres."""
    inertial_pos, inertial_orn = link_inertial_frame(client, body_id, link)
    origin, _ = p.invertTransform(inertial_pos, inertial_orn)
    return tuple(float(v) for v in origin)  # type: ignore[return-value]


def _urdf_visual_trimesh(geom: int, dims, filename: bytes, urdf_dir: Path) -> trimesh.Trimesh | None:
    """One URDF visual in its own local frame. dims follow getVisualShapeData's layout."""
    if geom == p.GEOM_SPHERE:
        return trimesh.creation.icosphere(subdivisions=SPHERE_SUBDIVISIONS, radius=dims[0])
    if geom == p.GEOM_BOX:
        return trimesh.creation.box(extents=dims[:3])
    if geom == p.GEOM_CAPSULE:  # dims = (length, radius)
        return trimesh.creation.capsule(height=dims[0], radius=dims[1], count=[ROUND_SECTIONS, ROUND_SECTIONS // 2])
    if geom == p.GEOM_CYLINDER:  # dims = (length, radius)
        return trimesh.creation.cylinder(radius=dims[1], height=dims[0], sections=ROUND_SECTIONS)
    if geom == p.GEOM_MESH:
        name = filename.decode() if isinstance(filename, bytes) else str(filename)
        path = Path(name) if Path(name).is_absolute() else urdf_dir / name
        mesh = load_triangle_mesh(path)
        return trimesh.Trimesh(vertices=np.asarray(mesh.vertices) * np.asarray(dims[:3]), faces=mesh.faces, process=False)
    if geom == p.GEOM_PLANE:
        return plane_trimesh((20.0, 20.0))
    return None
