"""Records the simulation stage hands downstream. Plain frozen dataclasses of numpy arrays.

Conventions (see CONVENTIONS.md): SI units, world Z up, quaternions [x, y, z, w],
T = N + 1 rows per shot (frame N is one past the end, so the last forward flow is defined).
A part is one rigid piece: a body's base or one link of an articulated body. Its frame is its
centre-of-mass (inertial) frame, as pybullet reports base and link states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .spec import Scene
    from .spec.model import TextureSpec


@dataclass(frozen=True)
class VisualMesh:
    """One visual piece of a part, in the part's frame."""

    vertices: np.ndarray
    """float32 [V, 3], metres, in the part's (centre-of-mass) frame."""
    faces: np.ndarray
    """int32 [F, 3], counter-clockwise seen from outside."""
    color: tuple[float, float, float]
    """sRGB, 0..1."""
    texture: "TextureSpec | None" = None


@dataclass(frozen=True)
class Part:
    """One rigid part and what it looks like."""

    name: str
    """'body' for a base, 'body/link' for a link of an articulated body."""
    object_name: str
    """The (expanded) body name, e.g. 'domino_3'."""
    link_name: str | None
    """URDF link name, None for a base."""
    link_index: int
    """pybullet link index, -1 for a base."""
    seg_id: int
    """Instance id in the seg pass, >= 1, stable over the shot."""
    shape: str
    """The spec shape of the body: plane, box, sphere, capsule, cylinder, mesh, urdf."""
    static: bool
    meshes: tuple[VisualMesh, ...]
    frame_origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Position of the link's own URDF frame (its joint) in the part frame, metres."""


@dataclass(frozen=True)
class Trajectory:
    """Pose and velocity of every part at every frame (T = N + 1 rows)."""

    t: np.ndarray
    """float64 [T], seconds; t[i] = i / fps."""
    part_names: tuple[str, ...]
    """[B] names, aligned with `Shot.parts`."""
    position: np.ndarray
    """float64 [T, B, 3], world position of each part frame's origin (its centre of mass), m."""
    orientation: np.ndarray
    """float64 [T, B, 4], world orientation of each part frame, [x, y, z, w]."""
    linear_velocity: np.ndarray
    """float64 [T, B, 3], m/s, world frame."""
    angular_velocity: np.ndarray
    """float64 [T, B, 3], rad/s, world frame."""

    @property
    def num_frames(self) -> int:
        """N, the frames of the shot (one fewer than the rows)."""
        return len(self.t) - 1


@dataclass(frozen=True)
class ContactEvents:
    """Contact onsets: one row each time two parts start touching."""

    t: np.ndarray
    """float64 [C], seconds (the frame time at which the contact was first seen)."""
    part_a: np.ndarray
    """int32 [C], index into Trajectory.part_names."""
    part_b: np.ndarray
    """int32 [C], index into Trajectory.part_names."""
    impulse: np.ndarray
    """float64 [C], normal impulse summed over the frame in which the contact began, N s."""
    position: np.ndarray
    """float64 [C, 3], world position of the first contact point, m."""


@dataclass(frozen=True)
class CameraTrack:
    """The camera at every frame (T = N + 1 rows). Pinhole, OpenCV pixel and axis conventions."""

    width: int
    height: int
    K: np.ndarray
    """float64 [3, 3] intrinsics in pixels; principal point at (width/2, height/2)."""
    world_to_camera: np.ndarray
    """float64 [T, 4, 4]; camera axes +X right, +Y down, +Z forward (OpenCV)."""


@dataclass(frozen=True)
class ParticleTrack:
    """Every particle that lives during the shot, one column each (P columns, T = N + 1 rows)."""

    emitter_names: tuple[str, ...]
    """[E] names of the emitters (and fluid blocks)."""
    emitter_kinds: tuple[str, ...]
    """[E] 'ballistic' or 'fluid'."""
    emitter_seg_ids: np.ndarray
    """int32 [E], instance id of each emitter in the seg pass (after the rigid parts' ids)."""
    emitter_colors: np.ndarray
    """float32 [E, 3], sRGB 0..1."""
    emitter: np.ndarray
    """int32 [P], emitter index of each particle."""
    radius: np.ndarray
    """float32 [P], metres."""
    position: np.ndarray
    """float32 [T, P, 3], m, world frame (undefined where not alive)."""
    velocity: np.ndarray
    """float32 [T, P, 3], m/s."""
    alive: np.ndarray
    """bool [T, P], the particle exists at that frame."""


@dataclass(frozen=True)
class Shot:
    """Everything the simulation produced for one scene; the input of `conditioning/`."""

    scene: "Scene"
    parts: tuple[Part, ...]
    trajectory: Trajectory
    camera: CameraTrack
    contacts: ContactEvents
    particles: ParticleTrack | None = None
    engine_params: dict[str, Any] = field(default_factory=dict)
    """Every pybullet parameter that shapes the trajectory, as set (for meta.json)."""

    @property
    def fps(self) -> int:
        return self.scene.spec.shot.fps

    @property
    def num_frames(self) -> int:
        return self.trajectory.num_frames
