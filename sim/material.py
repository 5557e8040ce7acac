"""The physics material of a created body's links: friction, restitution, damping, sleeping.

Shared by rigid objects (bodies.py) and URDFs (urdf.py); contacts.py reads the contact
threshold set here to know which contact points the solver acted on.
"""

from __future__ import annotations

import pybullet as p

from .spec.model import ObjectBase

CONTACT_PROCESSING_THRESHOLD = 0.0
"""m: only contacts at distance <= 0 reach the solver. Bullet's default also solves speculative
contacts up to 2 cm apart, which ages a contact before impact and drops its restitution
(bounces vanish at high physics_hz)."""
# Single rigid bodies are Bullet rigid bodies (useMaximalCoordinates): their contacts use split
# impulses, so penetration recovery adds no bounce energy (restitution within ~1 % of e^2).


def apply_material(client: int, body_id: int, links: tuple[int, ...], obj: ObjectBase) -> None:
    """Friction, restitution, damping and sleeping of every listed link, set explicitly.

    Damping is set even when 0: pybullet's own default is 0.04, which would slow every body.
    """
    material = obj.material
    for link in links:
        p.changeDynamics(
            body_id,
            link,
            lateralFriction=material.friction,
            rollingFriction=material.rolling_friction,
            spinningFriction=material.spinning_friction,
            restitution=material.restitution,
            contactProcessingThreshold=CONTACT_PROCESSING_THRESHOLD,
            physicsClientId=client,
        )
    p.changeDynamics(
        body_id,
        -1,
        linearDamping=material.linear_damping,
        angularDamping=material.angular_damping,
        activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING,
        physicsClientId=client,
    )
