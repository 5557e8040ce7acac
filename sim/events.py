"""Scene events turned into per-physics-step actions: impulses, forces, joint targets.

Physics step s advances the world from t = s / physics_hz to (s + 1) / physics_hz. An event at
time `at` starts at step round(at * physics_hz).
- impulse J (N s): a force J * physics_hz during one step, so the body's momentum changes by J.
- force F (N) for `duration` s: applied during round(duration * physics_hz) steps (at least 1).
  `point` (a world point at the start of the event) is carried with the part afterwards.
- joint_targets: position control towards the targets with at most `max_force`, held from `at` on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p

from .spec import SpecError
from .spec.model import UrdfObject
from .urdf import one_dof_joint
from .world import BodyHandle, World


@dataclass(frozen=True)
class StepAction:
    """One event compiled against a world."""

    kind: str
    """'push' (impulse or force) or 'joint_targets'."""
    body_id: int
    link: int
    """pybullet link index, -1 for the base."""
    first_step: int
    last_step: int
    """Inclusive."""
    force: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """N, world frame, applied at every step of the action."""
    point: tuple[float, float, float] | None = None
    """World point where the push acts at its first step; None: the part's centre of mass."""
    joint_targets: tuple[tuple[int, float], ...] = ()
    max_force: float = 0.0


class EventPlayer:
    """Applies compiled actions before each physics step (pybullet clears external forces after a step)."""

    def __init__(self, world: World, actions: list[StepAction]):
        self.client = world.client
        self.actions = sorted(actions, key=lambda a: a.first_step)
        self._local_points: dict[int, np.ndarray | None] = {}

    @property
    def last_step(self) -> int:
        return max((a.last_step for a in self.actions), default=-1)

    def before_step(self, step: int) -> None:
        """Apply every action active during physics step `step`."""
        for index, action in enumerate(self.actions):
            if action.first_step > step:
                break
            if step > action.last_step:
                continue
            if action.kind == "joint_targets":
                if step == action.first_step:
                    for joint, target in action.joint_targets:
                        p.setJointMotorControl2(
                            action.body_id, joint, p.POSITION_CONTROL, targetPosition=target, force=action.max_force, physicsClientId=self.client
                        )
                continue
            com_position, com_orientation = _com_pose(self.client, action.body_id, action.link)
            if step == action.first_step:
                # Remember the point in the part's frame so a long push moves with the part.
                self._local_points[index] = None if action.point is None else _to_local(action.point, com_position, com_orientation)
            local = self._local_points.get(index)
            where = com_position if local is None else _to_world(local, com_position, com_orientation)
            p.applyExternalForce(action.body_id, action.link, list(action.force), list(where), p.WORLD_FRAME, physicsClientId=self.client)


def compile_events(world: World) -> list[StepAction]:
    """Check each event against the world (links, joints) and turn it into a StepAction.

    Raises SpecError at `events[i]...` for a link or joint the body lacks, a push that cannot move
    its body (static, or the base of a fixed-base URDF), or an event after the last physics step.
    """
    scene = world.scene
    hz = scene.spec.shot.physics_hz
    total_steps = scene.spec.shot.num_frames * scene.spec.shot.substeps
    source = str(scene.source)
    actions = []
    for i, event in enumerate(scene.spec.events):
        handle = world.body(event.object)
        first = int(round(event.at * hz))
        if first >= total_steps:
            last_time = (total_steps - 1) / hz
            raise SpecError.single(source, f"an event at t={event.at:g} s would act after the last frame", field=f"events[{i}].at",
                                   hint=f"use at <= {last_time:.4g} s (the last physics step of the shot)")
        link = _event_link(handle, event.link, source, f"events[{i}].link")
        if event.joint_targets is not None:
            if not isinstance(handle.spec, UrdfObject):
                raise SpecError.single(source, f"{event.object!r} is a {handle.spec.shape}, which has no joints", field=f"events[{i}].joint_targets", hint="joint_targets need a urdf object")
            for name in ("point", "link"):
                if getattr(event, name) is not None:
                    raise SpecError.single(source, f"{name} does not apply to joint_targets", field=f"events[{i}].{name}", hint=f"remove {name}; it places an impulse or force")
            targets = tuple(
                (one_dof_joint(source, handle.name, handle.joints, name, f"events[{i}].joint_targets.{name}"), float(value))
                for name, value in event.joint_targets.items()
            )
            actions.append(StepAction("joint_targets", handle.body_id, -1, first, first, joint_targets=targets, max_force=event.max_force))
            continue
        if handle.spec.static:
            raise SpecError.single(source, f"{event.object!r} is static, so a push cannot move it", field=f"events[{i}].object", hint="push a dynamic object or set static: false")
        if link == -1 and isinstance(handle.spec, UrdfObject) and handle.spec.fixed_base:
            raise SpecError.single(source, f"the base of {event.object!r} is fixed, so a push on it cannot move it", field=f"events[{i}].link",
                                   hint=f"push one of its links: {', '.join(handle.link_names)}")
        if event.impulse is not None:
            force = tuple(float(j) * hz for j in event.impulse)
            last = first
        else:
            force = tuple(float(f) for f in event.force)  # type: ignore[union-attr]
            last = first + max(1, int(round(event.duration * hz))) - 1  # type: ignore[operator]
        actions.append(StepAction("push", handle.body_id, link, first, last, force=force, point=event.point))  # type: ignore[arg-type]
    return actions


def _event_link(handle: BodyHandle, link: str | None, source: str, field: str) -> int:
    if link is None:
        return -1
    if not isinstance(handle.spec, UrdfObject):
        raise SpecError.single(source, f"{handle.name!r} is a {handle.spec.shape} with no links", field=field, hint="remove link")
    if link == handle.base_link_name:
        return -1
    if link in handle.link_names:
        return handle.link_names.index(link)
    valid = ", ".join([handle.base_link_name or ""] + list(handle.link_names))
    raise SpecError.single(source, f"{handle.name!r} has no link {link!r}", field=field, hint=f"links: {valid}")


def _com_pose(client: int, body_id: int, link: int) -> tuple[np.ndarray, np.ndarray]:
    if link == -1:
        position, orientation = p.getBasePositionAndOrientation(body_id, physicsClientId=client)
    else:
        state = p.getLinkState(body_id, link, computeForwardKinematics=1, physicsClientId=client)
        position, orientation = state[0], state[1]
    return np.asarray(position), np.asarray(orientation)


def _rotation(orientation: np.ndarray) -> np.ndarray:
    return np.asarray(p.getMatrixFromQuaternion(orientation.tolist())).reshape(3, 3)


def _to_local(point, com_position: np.ndarray, com_orientation: np.ndarray) -> np.ndarray:
    return _rotation(com_orientation).T @ (np.asarray(point, dtype=float) - com_position)


def _to_world(local: np.ndarray, com_position: np.ndarray, com_orientation: np.ndarray) -> np.ndarray:
    return com_position + _rotation(com_orientation) @ local
