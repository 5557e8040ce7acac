"""Load a URDF object: scaling, fixed base, passive (ragdoll) joints, initial joint positions.

The spec `position`/orientation place the URDF's base link frame (as loadURDF does); masses
and inertias come from the file (URDF_USE_INERTIA_FROM_FILE). The spec `material` applies to
every link and the spec `color`/`texture` to every visual (the file's own rgba is not used).
"""

from __future__ import annotations

import pybullet as p

from .created import CreatedBody
from .expand import PlacedBody
from .geometry import link_frame_origin, urdf_link_meshes
from .material import apply_material
from .quiet import c_output_silenced
from .records import Part
from .spec import Scene
from .spec.model import UrdfObject
from .urdf_folder import in_urdf_folder

ONE_DOF_JOINTS = (p.JOINT_REVOLUTE, p.JOINT_PRISMATIC)
STATIC_JOINT_FORCE = 1e6
"""Motor force (N or N m) that holds the joints of a `static: true` URDF at their initial positions."""


def create_urdf_body(client: int, scene: Scene, placed: PlacedBody, first_seg_id: int) -> CreatedBody:
    obj: UrdfObject = placed.spec  # type: ignore[assignment]
    path = scene.assets[obj.name]
    # 1. Load with the file's inertias, the spec's scale and base mode.
    flags = p.URDF_USE_INERTIA_FROM_FILE
    if obj.self_collision:
        flags |= p.URDF_USE_SELF_COLLISION | p.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT
    # the URDF importer prints warnings (e.g. missing joint axes) to the C stderr
    with c_output_silenced(), in_urdf_folder(path):
        body_id = p.loadURDF(
            str(path),
            basePosition=list(placed.position),
            baseOrientation=list(placed.quaternion),
            useFixedBase=bool(obj.fixed_base or obj.static),
            globalScaling=obj.scale,
            flags=flags,
            physicsClientId=client,
        )
    num_joints = p.getNumJoints(body_id, physicsClientId=client)
    infos = [p.getJointInfo(body_id, j, physicsClientId=client) for j in range(num_joints)]
    joints = {info[1].decode(): (j, info[2]) for j, info in enumerate(infos)}
    link_names = tuple(info[12].decode() for info in infos)
    base_link_name = p.getBodyInfo(body_id, physicsClientId=client)[0].decode()
    # 2. Initial joint positions (names and types checked against the file by the spec loader).
    for name, value in obj.joint_positions.items():
        p.resetJointState(body_id, joints[name][0], value, physicsClientId=client)
    # 3. Joints: passive ragdoll, or held in place for a static URDF.
    for j, info in enumerate(infos):
        hold_joint(client, body_id, j, info[2], STATIC_JOINT_FORCE if obj.static else 0.0)
    # 4. Material on every link, initial velocity of the base.
    apply_material(client, body_id, tuple(range(-1, num_joints)), obj)
    if not (obj.static or obj.fixed_base):
        p.resetBaseVelocity(body_id, list(obj.velocity), list(obj.angular_velocity), physicsClientId=client)
    # 5. Parts: base then links, with visuals in each COM frame.
    meshes = urdf_link_meshes(client, body_id, path.parent, obj.color, obj.texture)
    parts = []
    for offset, link in enumerate(range(-1, num_joints)):
        parts.append(
            Part(
                name=placed.name if link == -1 else f"{placed.name}/{link_names[link]}",
                object_name=placed.name,
                link_name=None if link == -1 else link_names[link],
                link_index=link,
                seg_id=first_seg_id + offset,
                shape="urdf",
                static=obj.static,
                meshes=meshes.get(link, ()),
                frame_origin=link_frame_origin(client, body_id, link),
            )
        )
    mass = 0.0 if obj.static else sum(p.getDynamicsInfo(body_id, link, physicsClientId=client)[0] for link in range(-1, num_joints))
    return CreatedBody(
        body_id=body_id,
        parts=parts,
        mass=mass,
        links=tuple(range(num_joints)),
        link_names=link_names,
        base_link_name=base_link_name,
        joints=joints,
    )


def hold_joint(client: int, body_id: int, joint: int, joint_type: int, force: float) -> None:
    """Drive a joint to its current position with at most `force` (0 makes it passive).

    pybullet gives every 1-dof joint a velocity motor by default, which makes a ragdoll stiff;
    force 0 removes it. Spherical joints take the multi-dof call.
    """
    if joint_type in ONE_DOF_JOINTS:
        position = p.getJointState(body_id, joint, physicsClientId=client)[0]
        mode = p.POSITION_CONTROL if force > 0 else p.VELOCITY_CONTROL
        kwargs = {"targetPosition": position} if force > 0 else {"targetVelocity": 0.0}
        p.setJointMotorControl2(body_id, joint, mode, force=force, physicsClientId=client, **kwargs)
    elif joint_type == p.JOINT_SPHERICAL:
        target = p.getJointStateMultiDof(body_id, joint, physicsClientId=client)[0]
        p.setJointMotorControlMultiDof(
            body_id,
            joint,
            p.POSITION_CONTROL,
            targetPosition=list(target),
            targetVelocity=[0.0, 0.0, 0.0],
            positionGain=0.2 if force > 0 else 0.0,
            velocityGain=1.0 if force > 0 else 0.0,
            force=[force, force, force],
            physicsClientId=client,
        )
