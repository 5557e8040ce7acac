"""Hand-built Shot records for the pass tests: parts, poses and cameras given exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from physreel.sim.camera import camera_track, intrinsics, look_at_matrix
from physreel.sim.records import CameraTrack, ContactEvents, Part, Shot, Trajectory, VisualMesh
from physreel.sim.spec.load import Scene
from physreel.sim.spec.model import CameraSpec, SceneSpec, ShotSpec

IDENTITY = (0.0, 0.0, 0.0, 1.0)


def part(name: str, seg_id: int, mesh: trimesh.Trimesh, color=(0.7, 0.7, 0.7), texture=None, *,
         object_name: str | None = None, link_name: str | None = None, link_index: int = -1,
         frame_origin=(0.0, 0.0, 0.0)) -> Part:
    visual = VisualMesh(vertices=np.asarray(mesh.vertices, np.float32), faces=np.asarray(mesh.faces, np.int32),
                        color=tuple(color), texture=texture)
    return Part(name=name, object_name=object_name or name.split("/")[0], link_name=link_name, link_index=link_index,
                seg_id=seg_id, shape="mesh", static=False, meshes=(visual,), frame_origin=tuple(frame_origin))


def box(extents) -> trimesh.Trimesh:
    return trimesh.creation.box(extents=extents)


def shot(parts, positions, orientations=None, *, fps: int = 10, camera: CameraTrack | None = None,
         width: int = 64, height: int = 48, fov_deg: float = 60.0, camera_position=(0.0, -5.0, 0.0),
         look_at=(0.0, 0.0, 0.0)) -> Shot:
    """A Shot with T = len(positions) rows. positions [T, B, 3]; orientations [T, B, 4] xyzw (default identity)."""
    positions = np.asarray(positions, np.float64)
    rows, count = positions.shape[:2]
    if orientations is None:
        orientations = np.tile(np.array(IDENTITY), (rows, count, 1))
    orientations = np.asarray(orientations, np.float64)
    t = np.arange(rows) / fps
    if camera is None:
        camera = fixed_track(rows, width, height, fov_deg, camera_position, look_at)
    spec = SceneSpec(shot=ShotSpec(fps=fps, duration=(rows - 1) / fps),
                     camera=CameraSpec(resolution=(camera.width, camera.height), fov_deg=fov_deg))
    trajectory = Trajectory(t=t, part_names=tuple(p.name for p in parts), position=positions, orientation=orientations,
                            linear_velocity=np.zeros_like(positions), angular_velocity=np.zeros_like(positions))
    contacts = ContactEvents(t=np.zeros(0), part_a=np.zeros(0, np.int32), part_b=np.zeros(0, np.int32),
                             impulse=np.zeros(0), position=np.zeros((0, 3)))
    return Shot(scene=Scene(spec=spec, source=Path("/tmp/test-scene.yaml")), parts=tuple(parts), trajectory=trajectory,
                camera=camera, contacts=contacts)


def fixed_track(rows, width, height, fov_deg, position, look_at, up=(0.0, 0.0, 1.0)) -> CameraTrack:
    matrix = look_at_matrix(np.asarray(position, float), np.asarray(look_at, float), np.asarray(up, float))
    return CameraTrack(width=width, height=height, K=intrinsics(width, height, fov_deg),
                       world_to_camera=np.tile(matrix, (rows, 1, 1)))


def track_from_matrices(matrices, width, height, fov_deg) -> CameraTrack:
    return CameraTrack(width=width, height=height, K=intrinsics(width, height, fov_deg),
                       world_to_camera=np.asarray(matrices, np.float64))


def spec_track(camera: CameraSpec, rows: int, fps: int) -> CameraTrack:
    return camera_track(camera, np.arange(rows) / fps)
