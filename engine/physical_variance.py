"""A second take of a shot, for Physics-IQ's physical variance: the same scene with tiny
perturbed initial conditions.

Physics-IQ normalises its metrics by how much two real takes of the same event differ (two
recordings never start exactly alike). physreel's second take is a second simulation of the
scene whose initial conditions differ by about what a careful person would reproduce by hand:
- every object that is not static: its position moved in the horizontal plane (x, y) by a
  normal draw of sigma POSITION_SIGMA_M (one per copy for `repeat` rows, through their
  per-copy `offsets`; one for a whole grid or pyramid), its initial velocity changed by a
  normal draw of sigma VELOCITY_SIGMA_MS per axis and its angular velocity by ANGULAR_SIGMA_RADS
  per axis (heights are kept, so nothing starts inside the floor or the object below);
- every given URDF joint position by a normal draw of sigma JOINT_SIGMA_RAD (a URDF with a fixed
  base only that: its base cannot move);
- every particle emitter that is not attached to an object, and every fluid block, moved in x, y
  by a draw of sigma POSITION_SIGMA_M.
Static objects, the camera, events, textures and the shot's seed are unchanged (the seed also
draws particles and textures: changing it would change more than the initial conditions). The
draws come from numpy's default generator seeded with (shot.seed, SEED_SALT): the same scene
always gets the same second take. The copy is made with pydantic's model_copy, so the spec's
validators do not run again on the shifted numbers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from physreel.sim.spec import Scene

POSITION_SIGMA_M = 0.002
VELOCITY_SIGMA_MS = 0.01
ANGULAR_SIGMA_RADS = 0.05
JOINT_SIGMA_RAD = 0.005
SEED_SALT = 0x51A7E2
"""Mixed into the shot's seed, so the perturbation's draws are not the shot's own random numbers."""


def perturbed_scene(scene: Scene) -> Scene:
    """The scene with its initial conditions perturbed as the module docstring says."""
    spec = scene.spec
    rng = np.random.default_rng((spec.shot.seed, SEED_SALT))
    objects = tuple(_perturb_object(obj, rng) for obj in spec.objects)
    emitters = tuple(e if e.object is not None else e.model_copy(update={"position": _shift(e.position, rng)})
                     for e in spec.emitters)
    blocks = tuple(_perturb_block(block, rng) for block in spec.fluid_blocks)
    new_spec = spec.model_copy(update={"objects": objects, "emitters": emitters, "fluid_blocks": blocks})
    return dataclasses.replace(scene, spec=new_spec)


def describe() -> dict[str, Any]:
    """The perturbation's parameters, for metrics.json."""
    return {"position_sigma_m": POSITION_SIGMA_M, "velocity_sigma_m_s": VELOCITY_SIGMA_MS,
            "angular_velocity_sigma_rad_s": ANGULAR_SIGMA_RADS, "joint_sigma_rad": JOINT_SIGMA_RAD,
            "seed": "(shot.seed, 0x51A7E2)", "what": "non-static objects (x, y, velocity, angular velocity), "
            "URDF joint positions, free emitters and fluid blocks (x, y); heights, statics, camera and seed unchanged"}


def _perturb_object(obj, rng: np.random.Generator):
    if obj.static:
        return obj
    joints = getattr(obj, "joint_positions", None)
    jointed = {"joint_positions": {name: float(value + rng.normal(0.0, JOINT_SIGMA_RAD))
                                   for name, value in sorted(joints.items())}} if joints else {}
    if getattr(obj, "fixed_base", False):  # pinned: only its joints can start differently
        return obj.model_copy(update=jointed)
    update: dict[str, Any] = {
        **jointed,
        "velocity": tuple(float(v) for v in np.asarray(obj.velocity) + rng.normal(0.0, VELOCITY_SIGMA_MS, 3)),
        "angular_velocity": tuple(float(v) for v in np.asarray(obj.angular_velocity) + rng.normal(0.0, ANGULAR_SIGMA_RADS, 3)),
    }
    if obj.repeat is not None:
        base = obj.repeat.offsets or ((0.0, 0.0, 0.0),) * obj.repeat.count
        offsets = tuple(_shift(offset, rng) for offset in base)
        update["repeat"] = obj.repeat.model_copy(update={"offsets": offsets})
    else:
        update["position"] = _shift(obj.position, rng)
    return obj.model_copy(update=update)


def _perturb_block(block, rng: np.random.Generator):
    dx, dy = rng.normal(0.0, POSITION_SIGMA_M, 2)
    update = {name: (value[0] + float(dx), value[1] + float(dy), value[2])
              for name in ("min", "max", "center") if (value := getattr(block, name)) is not None}
    return block.model_copy(update=update)


def _shift(position, rng: np.random.Generator) -> tuple[float, float, float]:
    """position moved in x, y by a normal draw of sigma POSITION_SIGMA_M."""
    dx, dy = rng.normal(0.0, POSITION_SIGMA_M, 2)
    return (float(position[0] + dx), float(position[1] + dy), float(position[2]))
