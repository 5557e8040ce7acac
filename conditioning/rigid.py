"""Rigid parts as a geometry source: one Embree ray per pixel centre against the frame's triangles.

Per frame: (1) move every part's local triangles to the world with the frame's poses and build
an Embree BVH, (2) cast one ray per pixel centre, (3) decode each hit (triangle, barycentrics)
back to a PART-LOCAL point, from which depth, normal, texture and the exact motion of that
material point into frames t + 1 and t - 1 follow in float64. Embree's float32 only chooses
the triangle and the barycentrics; the geometry after that is exact rigid motion.
"""

from __future__ import annotations

import numpy as np

from sim.records import Shot

from .geometry import RigidGeometry, pack_geometry, quaternion_to_matrix
from .layers import FrameView, SurfaceLayer
from .textures import texture_albedo


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB 0..1 -> linear light (IEC 61966-2-1)."""
    c = np.asarray(c, np.float32)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


class RigidSource:
    """Renders a Shot's parts (bases and links) at their simulated poses."""

    def __init__(self, shot: Shot):
        trajectory = shot.trajectory
        if len(trajectory.part_names) != len(shot.parts):
            raise ValueError(f"trajectory has {len(trajectory.part_names)} parts but the shot lists {len(shot.parts)}")
        self.geometry: RigidGeometry = pack_geometry(shot.parts)
        self.rotations = quaternion_to_matrix(trajectory.orientation)  # [T, B, 3, 3]
        self.positions = np.asarray(trajectory.position, np.float64)  # [T, B, 3]
        self.mesh_linear_color = srgb_to_linear(self.geometry.mesh_color)
        self._scene = None
        self._scene_frame = -1

    # -- 1. the frame's BVH
    def scene(self, frame: int):
        """The Embree scene of `frame` (cached for the latest frame, which shadow rays reuse)."""
        if self._scene_frame != frame:
            from embreex import rtcore_scene
            from embreex.mesh_construction import TriangleMesh

            self._scene = None
            if self.geometry.num_triangles:
                vertices = self.geometry.world_vertices(self.rotations[frame], self.positions[frame])
                scene = rtcore_scene.EmbreeScene()
                TriangleMesh(scene, vertices.astype(np.float32), self.geometry.faces)
                self._scene = scene
            self._scene_frame = frame
        return self._scene

    def occluded(self, frame: int, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """bool [K]: the ray origin + s direction (s > 0) hits any part in `frame` (shadow rays)."""
        scene = self.scene(frame)
        if scene is None or len(origins) == 0:
            return np.zeros(len(origins), bool)
        hit = scene.run(origins.astype(np.float32), directions.astype(np.float32), output=1)
        return hit["primID"] >= 0

    # -- 2./3. cast and decode
    def layer(self, view: FrameView) -> SurfaceLayer | None:
        """The parts seen at every pixel centre of `view.frame`, or None if no part is hit."""
        scene = self.scene(view.frame)
        if scene is None:
            return None
        height, width = view.height, view.width
        directions = view.directions.reshape(-1, 3).astype(np.float32)
        origins = np.broadcast_to(view.origin.astype(np.float32), directions.shape)
        hits = scene.run(np.ascontiguousarray(origins), directions, output=1)
        pixel = np.flatnonzero(hits["primID"] >= 0)
        if len(pixel) == 0:
            return None
        face = hits["primID"][pixel]
        u = hits["u"][pixel].astype(np.float64)
        v = hits["v"][pixel].astype(np.float64)
        barycentric = np.stack([1.0 - u - v, u, v], axis=1)  # Embree: p = (1-u-v) v0 + u v1 + v v2
        geometry = self.geometry
        corners = geometry.vertices[geometry.faces[face]]  # [K, 3, 3]
        local = np.einsum("kc,kci->ki", barycentric, corners)
        part = geometry.face_part[face]

        layer = SurfaceLayer.empty(height, width)
        frame = view.frame
        to_camera_r, to_camera_t = self._local_to_camera(frame, view.world_to_camera[frame])
        groups = _PartGroups(part)
        camera_point = groups.apply(to_camera_r, to_camera_t, local)
        flat = lambda a: a.reshape((height * width,) + a.shape[2:])  # noqa: E731 (views into the layer)
        flat(layer.depth)[pixel] = camera_point[:, 2]
        flat(layer.seg)[pixel] = geometry.part_seg[part]
        flat(layer.normal)[pixel] = self._camera_normals(face, barycentric, groups, to_camera_r, camera_point)
        flat(layer.albedo)[pixel] = self._albedo(face, local)
        if view.need_flow:
            centres = np.stack([pixel % width + 0.5, pixel // width + 0.5], axis=1)
            for step, flow, moved_depth in ((1, layer.flow_fwd, layer.depth_fwd), (-1, layer.flow_bwd, layer.depth_bwd)):
                other = frame + step
                if not 0 <= other < view.world_to_camera.shape[0]:
                    continue
                rotation, translation = self._local_to_camera(other, view.world_to_camera[other])
                moved = groups.apply(rotation, translation, local)
                pixels = _pinhole(view.K, moved)
                flat(flow)[pixel] = pixels - centres
                flat(moved_depth)[pixel] = moved[:, 2]
        return layer

    def _local_to_camera(self, frame: int, world_to_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-part rigid maps part-local -> camera axes at `frame`: rotations [B, 3, 3], translations [B, 3]."""
        camera_r, camera_t = world_to_camera[:3, :3], world_to_camera[:3, 3]
        rotation = np.einsum("ij,bjk->bik", camera_r, self.rotations[frame])
        translation = self.positions[frame] @ camera_r.T + camera_t
        return rotation, translation

    def _camera_normals(self, face, barycentric, groups, to_camera_r, camera_point) -> np.ndarray:
        """Unit normals [K, 3] in camera axes, interpolated from the corner normals and turned to face the camera."""
        local_normal = np.einsum("kc,kci->ki", barycentric, self.geometry.corner_normals[face].astype(np.float64))
        normal = groups.apply(to_camera_r, None, local_normal)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        # A ray may see a triangle's back (open meshes, planes seen from below): show the side facing us.
        facing_away = np.einsum("ki,ki->k", normal, camera_point) > 0
        normal[facing_away] *= -1
        return normal

    def _albedo(self, face, local) -> np.ndarray:
        """Linear-light albedo [K, 3]: the mesh colour, or its solid texture at the part-local point."""
        mesh = self.geometry.face_mesh[face]
        albedo = self.mesh_linear_color[mesh]
        for mesh_index, texture in enumerate(self.geometry.mesh_texture):
            if texture is None:
                continue
            selected = np.flatnonzero(mesh == mesh_index)
            if len(selected):
                srgb = texture_albedo(texture, local[selected], self.geometry.mesh_color[mesh_index])
                albedo[selected] = srgb_to_linear(srgb)
        return albedo


class _PartGroups:
    """Hits sorted by part once, so per-part rigid maps apply to contiguous slices (a loop over parts, not pixels)."""

    def __init__(self, part: np.ndarray):
        self.order = np.argsort(part, kind="stable")
        sorted_part = part[self.order]
        starts = np.flatnonzero(np.r_[True, sorted_part[1:] != sorted_part[:-1]])
        self.slices = [(int(sorted_part[s]), s, e) for s, e in zip(starts, np.r_[starts[1:], len(part)])]

    def apply(self, rotation: np.ndarray, translation: np.ndarray | None, vectors: np.ndarray) -> np.ndarray:
        """rotation[part] @ v (+ translation[part]) for every row, float64 [K, 3]."""
        ordered = vectors[self.order]
        out_ordered = np.empty_like(ordered)
        for index, start, end in self.slices:
            block = ordered[start:end] @ rotation[index].T
            if translation is not None:
                block += translation[index]
            out_ordered[start:end] = block
        out = np.empty_like(out_ordered)
        out[self.order] = out_ordered
        return out


def _pinhole(K: np.ndarray, camera_points: np.ndarray) -> np.ndarray:
    """Pixels [K, 2] of camera-axis points [K, 3] (x right, y down)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = camera_points[:, 2]
        return np.stack([K[0, 0] * camera_points[:, 0] / z + K[0, 2], K[1, 1] * camera_points[:, 1] / z + K[1, 2]], axis=1)
