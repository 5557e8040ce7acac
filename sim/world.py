"""Build a pybullet world (DIRECT mode) from a scene: engine parameters, bodies and parts.

Every engine parameter that shapes a trajectory is set explicitly here (never left to a
pybullet default) and returned for meta.json. Bodies are created in `expanded_names` order;
parts are numbered base first, then links by pybullet index, and get seg ids 1..B in that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pybullet as p

from .bodies import create_body
from .expand import expand_objects
from .records import Part
from .spec import Scene


def engine_parameters(physics_hz: int) -> dict[str, Any]:
    """The pybullet parameters physreel sets, as passed to setPhysicsEngineParameter.

    Friction and restitution of a contact are the PRODUCTS of the two bodies' coefficients
    (Bullet's combining rule); see docs/simulation.md.
    """
    return {
        "fixedTimeStep": 1.0 / physics_hz,
        "numSubSteps": 0,
        "numSolverIterations": 50,
        "numNonContactInnerIterations": 1,
        "solverResidualThreshold": 1e-7,
        "deterministicOverlappingPairs": 1,
        "useSplitImpulse": 1,
        "splitImpulsePenetrationThreshold": -0.04,
        "erp": 0.2,
        # Penetration recovery pushes bodies apart with velocity, which adds energy to bounces
        # (0.2 turns e=0.8 into ~0.9 after a few bounces); 0.01 keeps bounce heights within ~2 %
        # of e^2 and resting contacts within ~0.6 mm at 240 Hz (tests/test_physics.py).
        "contactERP": 0.01,
        "frictionERP": 0.2,
        "globalCFM": 0.0,
        "contactSlop": 0.0,
        "restitutionVelocityThreshold": 0.2,
        "enableConeFriction": 1,
        "contactBreakingThreshold": 0.02,
        "allowedCcdPenetration": 0.01,
        "enableSAT": 0,
        "constraintSolverType": p.CONSTRAINT_SOLVER_LCP_SI,
        "minimumSolverIslandSize": 1024,
        "warmStartingFactor": 0.85,
        "jointFeedbackMode": 0,
        "enableFileCaching": 0,
    }


BODY_PARAMETERS: dict[str, Any] = {
    "sleeping": "disabled (every body stays active, so events always act)",
    "ccd": "off",
    "urdf_flags": "URDF_USE_INERTIA_FROM_FILE (+ URDF_USE_SELF_COLLISION | URDF_USE_SELF_COLLISION_EXCLUDE_PARENT with self_collision)",
    "urdf_joints": "passive: default velocity motors disabled (force 0); static URDFs hold their joints by position control",
    "friction_combine": "product of the two bodies' coefficients",
    "restitution_combine": "product of the two bodies' coefficients",
}


@dataclass
class BodyHandle:
    """One pybullet body of the world and where its parts are in the part list."""

    name: str
    object_index: int
    spec: Any
    body_id: int
    links: tuple[int, ...]
    """pybullet link indices of the body's links (0..J-1); the base is -1 and not listed."""
    link_names: tuple[str, ...]
    base_link_name: str | None
    joints: dict[str, tuple[int, int]]
    """URDF joint name -> (pybullet joint index, joint type)."""
    first_part: int
    """Index of the base in World.parts; link i is at first_part + 1 + i."""
    mass: float
    """Total mass, kg (0 for static bodies)."""

    @property
    def num_parts(self) -> int:
        return 1 + len(self.links)


@dataclass
class World:
    """A live pybullet world. Close it (or use it as a context manager) to free the client."""

    client: int
    scene: Scene
    bodies: tuple[BodyHandle, ...]
    parts: tuple[Part, ...]
    engine_params: dict[str, Any] = field(default_factory=dict)

    def body(self, name: str) -> BodyHandle:
        for handle in self.bodies:
            if handle.name == name:
                return handle
        raise KeyError(name)

    def close(self) -> None:
        if p.isConnected(self.client):
            p.disconnect(self.client)

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def build_world(scene: Scene) -> World:
    """Create the pybullet world of `scene`. Raises SpecError for URDF names that do not exist."""
    spec = scene.spec
    client = p.connect(p.DIRECT)
    try:
        # 1. Engine: time step, gravity and every solver parameter, explicitly.
        params = engine_parameters(spec.shot.physics_hz)
        p.setPhysicsEngineParameter(**params, physicsClientId=client)
        p.setTimeStep(1.0 / spec.shot.physics_hz, physicsClientId=client)
        p.setGravity(*spec.shot.gravity, physicsClientId=client)
        # 2. Bodies in expanded order; collision shapes are shared between copies of one object.
        shape_cache: dict[int, Any] = {}
        bodies: list[BodyHandle] = []
        parts: list[Part] = []
        for placed in expand_objects(spec):
            created = create_body(client, scene, placed, shape_cache, first_seg_id=len(parts) + 1)
            bodies.append(
                BodyHandle(
                    name=placed.name,
                    object_index=placed.object_index,
                    spec=placed.spec,
                    body_id=created.body_id,
                    links=created.links,
                    link_names=created.link_names,
                    base_link_name=created.base_link_name,
                    joints=created.joints,
                    first_part=len(parts),
                    mass=created.mass,
                )
            )
            parts.extend(created.parts)
        recorded = dict(params, gravity=list(spec.shot.gravity), physics_hz=spec.shot.physics_hz, bodies=BODY_PARAMETERS)
        return World(client=client, scene=scene, bodies=tuple(bodies), parts=tuple(parts), engine_params=recorded)
    except BaseException:
        p.disconnect(client)
        raise
