"""Scene events turned into per-physics-step actions: impulses, forces, joint targets.

Physics step s advances the world from t = s / physics_hz to (s + 1) / physics_hz. An event at
time `at` starts at step round(at * physics_hz).
- impulse J (N s): a force J * physics_hz during one step, so the body's momentum changes by J.
- force F (N) for `duration` s: applied during round(duration * physics_hz) steps (at least 1),
  at most until the shot's last step (`SceneSpec.event_steps`).
  `point` (a world point at the start of the event) is carried with the part afterwards.
- joint_targets: position control towards the targets with at most `max_force`, held from `at` on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p

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
    """Turn each event into a StepAction against the world's bodies, links and joints.

    The spec loader has checked every event (sim/spec/model.py, sim/spec/urdf_checks.py): it starts
    before the last physics step, names links and one-dof joints its URDF has, and pushes only a
    body that can move, so every name here is looked up without further checks.
    """
    spec = world.scene.spec
    hz = spec.shot.physics_hz
    actions = []
    for event in spec.events:
        handle = world.body(event.object)
        first, last = spec.event_steps(event)  # the spec's one conversion of times to steps
        if event.joint_targets is not None:
            targets = tuple((handle.joints[name][0], float(value)) for name, value in event.joint_targets.items())
            actions.append(StepAction("joint_targets", handle.body_id, -1, first, first, joint_targets=targets, max_force=event.max_force))
            continue
        if event.impulse is not None:
            force = tuple(float(j) * hz for j in event.impulse)
        else:
            force = tuple(float(f) for f in event.force)  # type: ignore[union-attr]
        actions.append(StepAction("push", handle.body_id, _link_index(handle, event.link), first, last, force=force, point=event.point))  # type: ignore[arg-type]
    return actions


def _link_index(handle: BodyHandle, link: str | None) -> int:
    """pybullet link index of `link` (-1 for the base, or None)."""
    if link is None or link == handle.base_link_name:
        return -1
    return handle.link_names.index(link)


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
