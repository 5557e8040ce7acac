"""Create one pybullet body per placed object: collision shape, mass, inertia, material, pose.

Body frames are centre-of-mass principal frames (sim/mass.py). For primitives that is the
shape's own frame at `position`; for a mesh, `position`/orientation place the mesh FILE's origin
and axes, and the body's centre of mass sits where the file's geometry puts it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pybullet as p
from scipy.spatial.transform import Rotation

from .created import CreatedBody
from .expand import PlacedBody
from .files import atomic_path
from .quiet import c_output_silenced
from .geometry import MeshBody, prepare_mesh, primitive_trimesh, visual_mesh
from .mass import UnitMass, box_unit_mass, capsule_unit_mass, cylinder_unit_mass, sphere_unit_mass
from .material import apply_material
from .records import Part
from .spec import Scene
from .spec.model import (
    DEFAULT_DENSITY,
    BoxObject,
    CapsuleObject,
    CylinderObject,
    MeshObject,
    ObjectBase,
    PlaneObject,
    SphereObject,
    UrdfObject,
)
from .urdf import create_urdf_body


@dataclass(frozen=True)
class RigidShape:
    """What copies of one rigid object share: the collision shape, visual, mass properties."""

    collision: int
    visual: Any
    """trimesh.Trimesh in the body frame."""
    unit: UnitMass | None
    """None for planes (always static)."""
    file_to_body: tuple[np.ndarray, np.ndarray] | None = None
    """For meshes: (centre of mass in the file frame [3], principal axes [3, 3])."""


def create_body(client: int, scene: Scene, placed: PlacedBody, shape_cache: dict[int, Any], first_seg_id: int) -> CreatedBody:
    """Create `placed` in the world; its parts get seg ids from `first_seg_id` on."""
    obj = placed.spec
    if isinstance(obj, UrdfObject):
        return create_urdf_body(client, scene, placed, first_seg_id)
    key = placed.object_index
    if key not in shape_cache:
        shape_cache[key] = _rigid_shape(client, scene, obj)
    return _create_rigid(client, placed, shape_cache[key], first_seg_id)


def _rigid_shape(client: int, scene: Scene, obj: ObjectBase) -> RigidShape:
    if isinstance(obj, PlaneObject):
        collision = p.createCollisionShape(p.GEOM_PLANE, planeNormal=[0, 0, 1], physicsClientId=client)
        return RigidShape(collision, primitive_trimesh(obj), None)
    if isinstance(obj, BoxObject):
        collision = p.createCollisionShape(p.GEOM_BOX, halfExtents=[s / 2 for s in obj.size], physicsClientId=client)
        return RigidShape(collision, primitive_trimesh(obj), box_unit_mass(obj.size))
    if isinstance(obj, SphereObject):
        collision = p.createCollisionShape(p.GEOM_SPHERE, radius=obj.radius, physicsClientId=client)
        return RigidShape(collision, primitive_trimesh(obj), sphere_unit_mass(obj.radius))
    if isinstance(obj, CapsuleObject):
        collision = p.createCollisionShape(p.GEOM_CAPSULE, radius=obj.radius, height=obj.length, physicsClientId=client)
        return RigidShape(collision, primitive_trimesh(obj), capsule_unit_mass(obj.radius, obj.length))
    if isinstance(obj, CylinderObject):
        collision = p.createCollisionShape(p.GEOM_CYLINDER, radius=obj.radius, height=obj.length, physicsClientId=client)
        return RigidShape(collision, primitive_trimesh(obj), cylinder_unit_mass(obj.radius, obj.length))
    if isinstance(obj, MeshObject):
        body = prepare_mesh(scene.assets[obj.name], obj.scale, obj.collision)
        collision = _mesh_collision(client, body, obj.collision)
        return RigidShape(collision, body.visual, body.frame.unit, (body.frame.com, body.frame.rotation))
    raise TypeError(f"cannot create a body of shape {getattr(obj, 'shape', type(obj).__name__)!r}")


def _mesh_collision(client: int, body: MeshBody, collision: str) -> int:
    """Convex hull (pybullet hulls the given vertices) or a V-HACD convex decomposition."""
    if collision == "convex_hull":
        vertices = np.asarray(body.hull.vertices, dtype=float).tolist()
        return p.createCollisionShape(p.GEOM_MESH, vertices=vertices, physicsClientId=client)
    return p.createCollisionShape(p.GEOM_MESH, fileName=str(decomposition_file(client, body.visual)), physicsClientId=client)


def decomposition_file(client: int, visual) -> Path:
    """A V-HACD convex decomposition of `visual` (body frame) as an OBJ of hulls, cached by content.

    V-HACD takes seconds to minutes, and is deterministic, so its result is kept in
    $XDG_CACHE_HOME/physreel/vhacd (default ~/.cache) under the sha256 of the input OBJ; pybullet
    reads the parts of the OBJ as a compound of convex hulls.
    """
    text = visual.export(file_type="obj")
    digest = hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "physreel" / "vhacd"
    target = cache / f"{digest}.obj"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="physreel-vhacd-") as tmp:
        source, out, log = Path(tmp) / "in.obj", Path(tmp) / "out.obj", Path(tmp) / "log.txt"
        source.write_text(text) if isinstance(text, str) else source.write_bytes(text)
        with c_output_silenced():  # V-HACD prints its progress to the C stdout
            p.vhacd(str(source), str(out), str(log), physicsClientId=client)
        with atomic_path(target) as partial:
            shutil.copyfile(out, partial)
    return target


def _create_rigid(client: int, placed: PlacedBody, shape: RigidShape, first_seg_id: int) -> CreatedBody:
    obj = placed.spec
    # 1. Pose of the centre-of-mass frame.
    position = np.asarray(placed.position, dtype=float)
    rotation = Rotation.from_quat(placed.quaternion)
    if shape.file_to_body is not None:
        com, axes = shape.file_to_body
        position = position + rotation.apply(com)
        rotation = rotation * Rotation.from_matrix(axes)
    # 2. Mass and inertia (static bodies and planes: mass 0).
    mass, inertia = 0.0, (0.0, 0.0, 0.0)
    if not obj.static and shape.unit is not None:
        total = obj.mass if obj.mass is not None else (obj.material.density or DEFAULT_DENSITY) * shape.unit.volume
        mass, inertia = shape.unit.scaled(total)
    body_id = p.createMultiBody(
        baseMass=mass,
        baseCollisionShapeIndex=shape.collision,
        basePosition=position.tolist(),
        baseOrientation=rotation.as_quat().tolist(),
        useMaximalCoordinates=True,
        physicsClientId=client,
    )
    if mass > 0:
        p.changeDynamics(body_id, -1, mass=mass, localInertiaDiagonal=list(inertia), physicsClientId=client)
    # 3. Material, damping, initial velocity.
    apply_material(client, body_id, (-1,), obj)
    if not obj.static:
        p.resetBaseVelocity(body_id, list(obj.velocity), list(obj.angular_velocity), physicsClientId=client)
    part = Part(
        name=placed.name,
        object_name=placed.name,
        link_name=None,
        link_index=-1,
        seg_id=first_seg_id,
        shape=obj.shape,  # type: ignore[attr-defined]
        static=obj.static,
        meshes=(visual_mesh(shape.visual, obj.color, obj.texture),),
    )
    return CreatedBody(body_id=body_id, parts=[part], mass=mass)
