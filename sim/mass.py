"""Volume, centre of mass and inertia of each spec shape, per unit density.

Primitives use closed forms (pybullet's own capsule inertia is a box approximation, so we
always pass the inertia explicitly). Meshes use trimesh's mass properties of the collision
geometry. Every body frame in physreel is the principal inertial frame centred on the centre
of mass, so the inertia handed to pybullet is a diagonal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class UnitMass:
    """Mass properties at density 1 kg/m^3, in the body's centre-of-mass principal frame."""

    volume: float
    """m^3."""
    inertia_diagonal: tuple[float, float, float]
    """kg m^2 per (kg/m^3): principal moments at unit density."""

    def scaled(self, mass: float) -> tuple[float, tuple[float, float, float]]:
        """(mass, principal inertia diagonal) of the body with total `mass` kg."""
        density = mass / self.volume
        return mass, tuple(density * i for i in self.inertia_diagonal)  # type: ignore[return-value]


def box_unit_mass(size: tuple[float, float, float]) -> UnitMass:
    """A box of full extents `size` (m)."""
    a, b, c = size
    volume = a * b * c
    return UnitMass(volume, (volume * (b * b + c * c) / 12, volume * (a * a + c * c) / 12, volume * (a * a + b * b) / 12))


def sphere_unit_mass(radius: float) -> UnitMass:
    volume = 4.0 / 3.0 * math.pi * radius**3
    moment = 0.4 * volume * radius**2
    return UnitMass(volume, (moment, moment, moment))


def cylinder_unit_mass(radius: float, length: float) -> UnitMass:
    """A solid cylinder along local Z of height `length`."""
    volume = math.pi * radius**2 * length
    side = volume * (3 * radius**2 + length**2) / 12
    return UnitMass(volume, (side, side, volume * radius**2 / 2))


def capsule_unit_mass(radius: float, length: float) -> UnitMass:
    """A capsule along local Z: a cylinder of height `length` capped by two hemispheres."""
    cylinder = math.pi * radius**2 * length
    ball = 4.0 / 3.0 * math.pi * radius**3
    axial = cylinder * radius**2 / 2 + ball * 0.4 * radius**2
    # Each hemisphere: its own moment about its centroid plus the parallel-axis shift to the middle.
    side = cylinder * (length**2 / 12 + radius**2 / 4) + ball * (0.4 * radius**2 + length**2 / 4 + 3 * length * radius / 8)
    return UnitMass(cylinder + ball, (side, side, axial))


@dataclass(frozen=True)
class MeshFrame:
    """Where a mesh's centre-of-mass principal frame sits in the mesh file's (scaled) frame."""

    unit: UnitMass
    com: np.ndarray
    """float64 [3], centre of mass in the file frame, metres."""
    rotation: np.ndarray
    """float64 [3, 3], columns are the principal axes in the file frame (a proper rotation)."""

    @classmethod
    def file_frame(cls) -> "MeshFrame":
        """The file's own frame, for a flat static mesh: no volume, so no mass."""
        return cls(unit=UnitMass(0.0, (0.0, 0.0, 0.0)), com=np.zeros(3), rotation=np.eye(3))

    def to_body(self, vertices: np.ndarray) -> np.ndarray:
        """File-frame vertices [V, 3] -> body (centre-of-mass principal) frame [V, 3]."""
        return (np.asarray(vertices, dtype=float) - self.com) @ self.rotation


def mesh_frame(mesh) -> MeshFrame:
    """Mass properties of a closed trimesh.Trimesh at unit density and its principal frame.

    When the inertia tensor is already diagonal (to 1e-9 relative) the axes stay those of the
    file, so symmetric meshes keep the orientation the user gave them.
    """
    volume = float(abs(mesh.volume))
    if not volume > 0:
        raise ValueError("mesh encloses no volume")
    tensor = np.asarray(mesh.moment_inertia, dtype=float) * (1.0 / max(float(mesh.density), 1e-300))
    if mesh.volume < 0:  # inverted winding: trimesh reports negative volume and inertia
        tensor = -tensor
    off_diagonal = np.abs(tensor - np.diag(np.diag(tensor))).max()
    if off_diagonal <= 1e-9 * np.abs(tensor).max():
        moments, axes = np.diag(tensor).copy(), np.eye(3)
    else:
        moments, axes = np.linalg.eigh(tensor)
        if np.linalg.det(axes) < 0:
            axes[:, 2] = -axes[:, 2]
    return MeshFrame(
        unit=UnitMass(volume, tuple(float(m) for m in moments)),  # type: ignore[arg-type]
        com=np.asarray(mesh.center_mass, dtype=float),
        rotation=axes,
    )
