"""Expand `repeat`, `grid` and `pyramid` objects into placed bodies, one per copy.

Names follow `sim.spec.model.copy_suffixes` (`name_i`, `name_i_j_k`, `name_level_i`), in the order
of `expanded_names`. Poses use pybullet's conventions: quaternions [x, y, z, w], `euler_deg` about
the fixed X, Y, Z axes (pybullet's getQuaternionFromEuler).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from .spec.model import ObjectBase, SceneSpec, copy_suffixes


@dataclass(frozen=True)
class PlacedBody:
    """One body to create: its spec, expanded name and initial pose (of its spec frame)."""

    name: str
    """Expanded name, e.g. 'domino_3'."""
    spec: ObjectBase
    """The object's spec (shared by all copies)."""
    object_index: int
    """Index of the object in `spec.objects` (for error messages: `objects[i]`)."""
    copy_index: int
    """Index of this copy among the object's copies (0 when not repeated)."""
    position: tuple[float, float, float]
    """World position of the object's own frame, metres."""
    quaternion: tuple[float, float, float, float]
    """World orientation of the object's own frame, [x, y, z, w]."""


def spec_rotation(obj: ObjectBase) -> Rotation:
    """The orientation an object's spec gives (identity when neither euler_deg nor quaternion is set)."""
    if obj.quaternion is not None:
        return Rotation.from_quat(obj.quaternion)
    if obj.euler_deg is not None:
        # Extrinsic X, Y, Z = R = Rz(yaw) Ry(pitch) Rx(roll), pybullet's getQuaternionFromEuler.
        return Rotation.from_euler("xyz", [math.radians(a) for a in obj.euler_deg])
    return Rotation.identity()


def expand_objects(spec: SceneSpec) -> list[PlacedBody]:
    """Every body of the scene after expansion, in `expanded_names` order."""
    bodies: list[PlacedBody] = []
    for object_index, obj in enumerate(spec.objects):
        offsets, rotations = _copy_offsets(obj)
        base_rotation = spec_rotation(obj)
        for index, (suffix, offset, extra) in enumerate(zip(copy_suffixes(obj), offsets, rotations)):
            position = np.asarray(obj.position, dtype=float) + offset
            # The per-copy turn is about world axes, applied after the object's own orientation.
            quaternion = (extra * base_rotation).as_quat()
            bodies.append(
                PlacedBody(
                    name=obj.name + suffix,
                    spec=obj,
                    object_index=object_index,
                    copy_index=index,
                    position=tuple(float(v) for v in position),
                    quaternion=tuple(float(v) for v in quaternion),
                )
            )
    return bodies


def _copy_offsets(obj: ObjectBase) -> tuple[np.ndarray, list[Rotation]]:
    """Position offsets float [C, 3] (metres) and extra rotations [C] of an object's copies."""
    if obj.repeat is not None:
        rep = obj.repeat
        steps = np.arange(rep.count, dtype=float)[:, None]
        offsets = steps * np.asarray(rep.step, dtype=float)
        if rep.offsets is not None:
            offsets = offsets + np.asarray(rep.offsets, dtype=float)
        turn = np.radians(np.asarray(rep.step_euler_deg, dtype=float))
        rotations = [Rotation.from_euler("xyz", i * turn) for i in range(rep.count)]
        return offsets, rotations
    if obj.grid is not None:
        nx, ny, nz = obj.grid.counts
        dx, dy, dz = obj.grid.spacing
        # Same order as copy_suffixes: k outermost, i innermost.
        k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
        offsets = np.stack([i.ravel() * dx, j.ravel() * dy, k.ravel() * dz], axis=1).astype(float)
        return offsets, [Rotation.identity()] * len(offsets)
    if obj.pyramid is not None:
        n = obj.pyramid.levels
        dx, dz = obj.pyramid.spacing
        rows = [((i + level / 2.0) * dx, 0.0, level * dz) for level in range(n) for i in range(n - level)]
        offsets = np.asarray(rows, dtype=float)
        return offsets, [Rotation.identity()] * len(offsets)
    return np.zeros((1, 3)), [Rotation.identity()]
