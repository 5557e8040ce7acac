"""Rigid parts as a geometry source: one exact ray per pixel centre against the frame's triangles.

Per frame: (1) move every part's local triangles to the world with the frame's poses, (2) cast
one ray per pixel centre (conditioning/raycast.py, float64), with directions of camera-z 1 so the
hit distance is the planar depth, (3) decode each hit: the point in camera axes,
depth * (x_n, y_n, 1), is carried by its part's rigid motion (camera t -> part-local -> camera
t +- 1, composed per part in float64) for exact flow; the triangle gives the part, seg id and
mesh; the barycentrics the interpolated normal; the part-local point the solid texture.
Shadow rays towards the sun are cast against the same placed triangles (`occluded`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from physreel.sim.records import Shot
from physreel.sim.timing import timed

from .geometry import RigidGeometry, pack_geometry, quaternion_to_matrix
from .layers import FrameView, SurfaceLayer
from .raycast import cast_pixel_rays, occluded_along
from .rigid_kernels import decode_hits
from .shadows import LightBounds, part_planes
from .textures import TEXTURE_CODES


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB 0..1 -> linear light (IEC 61966-2-1)."""
    c = np.asarray(c, np.float32)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


@dataclass(frozen=True)
class PlacedParts:
    """The parts at one frame's poses, as every ray cast in that frame meets them (`RigidSource.at`)."""

    frame: int
    rotations: np.ndarray
    """float64 [B, 3, 3] part-local -> world rotations at `frame`."""
    positions: np.ndarray
    """float64 [B, 3] part origins (centres of mass) in the world at `frame`, m."""
    world_vertices: np.ndarray | None
    """float64 [V, 3] every part's vertices in the world; None when the parts have no triangles."""
    light_bounds: dict[bytes, LightBounds] = field(default_factory=dict, repr=False, compare=False)
    """Shadow-ray bounds per light direction (its float64 bytes), filled on first use by `occluded`."""


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
        geometry = self.geometry
        # A part is flat-shaded when every corner normal equals its face's corner-0 normal (boxes, planes).
        bent = np.abs(geometry.normal_edge1).max(axis=1) + np.abs(geometry.normal_edge2).max(axis=1) > 1e-6
        self.part_is_flat = np.ones(len(shot.parts), bool)
        self.part_is_flat[np.unique(geometry.face_part[bent])] = False
        self.texture_linear_color2 = np.array(
            [srgb_to_linear(np.array(t.color2)) if t is not None else np.zeros(3, np.float32) for t in self.geometry.mesh_texture],
            np.float32).reshape(-1, 3)
        textures = self.geometry.mesh_texture
        self.mesh_texture_code = np.array([TEXTURE_CODES[t.kind] if t is not None else 0 for t in textures], np.int64)
        self.mesh_inverse_scale = np.array([1.0 / t.scale if t is not None else 0.0 for t in textures], np.float32)
        self._last_placed: PlacedParts | None = None
        self._planes = part_planes(geometry.vertices, geometry.vertex_part, geometry.faces, geometry.face_part, len(shot.parts))

    # -- 1. the frame's placed triangles
    def at(self, frame: int) -> PlacedParts:
        """The parts placed at `frame`'s poses, which the camera rays (`layer`) and the shadow rays
        (`occluded`) of that frame are cast against.

        The latest result is kept, only to save work: asking for it again returns it, and a frame
        whose poses are bit-identical to it (nothing moved) shares its vertices and shadow bounds."""
        last = self._last_placed
        if last is not None and last.frame == frame:
            return last
        if last is not None and self._same_poses(last.frame, frame):
            placed = replace(last, frame=frame)
        else:
            with timed("passes: placing"):  # (--profile's sub-stages of the passes, sim.timing)
                placed = self._place(frame)
        self._last_placed = placed
        return placed

    def _place(self, frame: int) -> PlacedParts:
        rotations, positions = self.rotations[frame], self.positions[frame]
        if not self.geometry.num_triangles:
            return PlacedParts(frame, rotations, positions, None)
        return PlacedParts(frame, rotations, positions, self.geometry.world_vertices(rotations, positions))

    def _same_poses(self, frame: int, other: int) -> bool:
        return bool(np.array_equal(self.rotations[frame], self.rotations[other]) and np.array_equal(self.positions[frame], self.positions[other]))

    def occluded(self, placed: PlacedParts, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """bool [K]: the ray origins[k] + s direction (s > 0) hits any of the `placed` parts (shadow
        rays). origins float64 [K, 3] and direction [3] (unit, towards the light) in world axes."""
        origins = np.asarray(origins, np.float64).reshape(-1, 3)
        if placed.world_vertices is None or len(origins) == 0:
            return np.zeros(len(origins), bool)
        with timed("passes: shadow rays"):
            direction = np.asarray(direction, np.float64).reshape(3)
            # Cast only the rays that may hit something (shadows.py): a few percent of the lit pixels.
            may_hit = self._bounds_along(placed, direction).may_hit(origins)
            occluded = np.zeros(len(origins), bool)
            if may_hit.any():
                cast = np.compress(may_hit, origins, axis=0)  # (compress: faster than [mask] on rows)
                occluded[may_hit] = occluded_along(placed.world_vertices, self.geometry.faces, cast, direction)
            return occluded

    def _bounds_along(self, placed: PlacedParts, direction: np.ndarray) -> LightBounds:
        """LightBounds of the `placed` parts' triangles for rays along `direction` (kept in `placed`)."""
        direction = np.asarray(direction, np.float64)
        key = direction.tobytes()
        if key not in placed.light_bounds:
            placed.light_bounds[key] = LightBounds(direction / np.linalg.norm(direction), placed.world_vertices,
                                                   self.geometry.vertex_part, placed.rotations, placed.positions, self._planes)
        return placed.light_bounds[key]

    # -- 2./3. cast and decode
    def layer(self, view: FrameView, into: SurfaceLayer | None = None) -> SurfaceLayer | None:
        """The parts seen at every pixel centre of `view.frame`, or None if no part is hit (then
        `into` is left untouched).

        into: an empty layer (`SurfaceLayer.clear`) to write into and return instead of a new one."""
        placed = self.at(view.frame)
        if placed.world_vertices is None:
            return None
        height, width = view.height, view.width
        with timed("passes: camera rays"):
            hit_face, hit_depth, hit_u, hit_v = self._cast(view, placed)
        layer = into if into is not None else SurfaceLayer.empty(height, width)
        if not self._decode(view, hit_face, hit_depth, hit_u, hit_v, layer):
            return None
        return layer

    def _decode(self, view: FrameView, hit_face, hit_depth, hit_u, hit_v, layer: SurfaceLayer) -> bool:
        """Write the hits' passes into `layer` (rigid_kernels.decode_hits, textures included); False
        when no pixel was hit (`layer` untouched)."""
        geometry, frame, size = self.geometry, view.frame, view.width * view.height
        to_camera_r, to_camera_t = self._local_to_camera(frame, view.world_to_camera[frame])
        # Rigid motion camera t -> part-local (inverse of frame t's map) -> camera t +- 1, per part.
        parts = len(self.positions[frame])
        has_motion = np.zeros(2, bool)
        motion_r, motion_t = np.zeros((2, parts, 3, 3)), np.zeros((2, parts, 3))
        still = np.zeros((2, parts), bool)
        for s, other in enumerate((frame + 1, frame - 1)):
            if view.need_flow and 0 <= other < view.world_to_camera.shape[0]:
                other_r, other_t = self._local_to_camera(other, view.world_to_camera[other])
                has_motion[s] = True
                motion_r[s] = np.einsum("bij,bkj->bik", other_r, to_camera_r)
                motion_t[s] = other_t - np.einsum("bij,bj->bi", motion_r[s], to_camera_t)
                still[s] = self._still_parts(frame, other, view.world_to_camera)
        normal, albedo = layer.normal.reshape(size, 3), layer.albedo.reshape(size, 3)
        normalised_x, normalised_y = _normalised_rays(view)
        hits = decode_hits(
            hit_face, hit_depth, hit_u, hit_v, normalised_x, normalised_y, geometry.face_part, geometry.part_seg,
            view.need_shading, geometry.normal_origin, geometry.normal_edge1, geometry.normal_edge2, self.part_is_flat,
            to_camera_r.astype(np.float32), to_camera_t, geometry.face_mesh, self.mesh_linear_color, self.mesh_texture_code,
            self.mesh_inverse_scale, self.texture_linear_color2,
            view.need_flow, has_motion, motion_r, motion_t, still, view.K, layer.depth.reshape(size), layer.seg.reshape(size),
            normal, albedo, layer.flow_fwd.reshape(size, 2), layer.flow_bwd.reshape(size, 2), layer.depth_fwd.reshape(size),
            layer.depth_bwd.reshape(size))
        return hits > 0

    def _cast(self, view: FrameView, placed: PlacedParts) -> tuple[np.ndarray, ...]:
        """The nearest triangle on every pixel-centre ray (raycast.cast_pixel_rays), row-major [H*W]:
        face int32 (-1: none), planar depth float64 (m), barycentrics u, v float64 (corners 1, 2)."""
        camera = view.world_to_camera[view.frame]
        vertices = placed.world_vertices @ camera[:3, :3].T
        vertices += camera[:3, 3]
        K = view.K
        normalised_x, normalised_y = _normalised_rays(view)
        size = view.width * view.height
        face, depth, u, v = np.empty(size, np.int32), np.empty(size), np.empty(size), np.empty(size)
        cast_pixel_rays(vertices, self.geometry.faces, normalised_x, normalised_y, float(K[0, 0]), float(K[1, 1]),
                        float(K[0, 2]), float(K[1, 2]), face, depth, u, v)
        return face, depth, u, v

    def _still_parts(self, frame: int, other: int, world_to_camera: np.ndarray) -> np.ndarray:
        """bool [B]: the part's pose and the camera are bit-identical in both frames (its flow is exactly 0)."""
        if not np.array_equal(world_to_camera[frame], world_to_camera[other]):
            return np.zeros(len(self.positions[frame]), bool)
        same_rotation = (self.rotations[frame] == self.rotations[other]).all(axis=(1, 2))
        same_position = (self.positions[frame] == self.positions[other]).all(axis=1)
        return same_rotation & same_position

    def _local_to_camera(self, frame: int, world_to_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-part rigid maps part-local -> camera axes at `frame`: rotations [B, 3, 3], translations [B, 3]."""
        camera_r, camera_t = world_to_camera[:3, :3], world_to_camera[:3, 3]
        rotation = np.einsum("ij,bjk->bik", camera_r, self.rotations[frame])
        translation = self.positions[frame] @ camera_r.T + camera_t
        return rotation, translation


def _normalised_rays(view: FrameView) -> tuple[np.ndarray, np.ndarray]:
    """float64 [W] x_n = (j + 0.5 - cx) / fx per column and [H] y_n = (i + 0.5 - cy) / fy per row: the
    pixel-centre ray (x_n, y_n, 1) in camera axes."""
    K = view.K
    return (np.arange(view.width) + 0.5 - K[0, 2]) / K[0, 0], (np.arange(view.height) + 0.5 - K[1, 2]) / K[1, 1]
