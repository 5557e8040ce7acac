"""Rigid parts as a geometry source: one Embree ray per pixel centre against the frame's triangles.

Per frame: (1) move every part's local triangles to the world with the frame's poses and build
an Embree BVH (reused while nothing moves), (2) cast one ray per pixel centre, with directions
of camera-z 1 so the hit distance is the planar depth, (3) decode each hit: the point in camera
axes, depth * (x_n, y_n, 1), is carried by its part's rigid motion (camera t -> part-local ->
camera t +- 1, composed per part in float64) for exact flow; the triangle gives the part, seg id
and mesh; the barycentrics the interpolated normal; the part-local point the solid texture.
Embree's float32 only chooses the triangle, barycentrics and distance (relative error ~1e-7).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh

from physreel.sim.records import Shot
from physreel.sim.timing import timed

from .geometry import RigidGeometry, pack_geometry, quaternion_to_matrix
from .layers import FrameView, SurfaceLayer, scatter_rows
from .shadows import LightBounds, part_planes
from .textures import BINARY_TEXTURES, texture_weight


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
    scene: Any
    """The Embree BVH over those triangles (embreex EmbreeScene); None when there are none."""
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
        self.part_meshes = [np.flatnonzero(geometry.mesh_part == index) for index in range(len(shot.parts))]
        # A part is flat-shaded when every corner normal equals its face's corner-0 normal (boxes, planes).
        bent = np.abs(geometry.normal_edge1).max(axis=1) + np.abs(geometry.normal_edge2).max(axis=1) > 1e-6
        self.part_is_flat = np.ones(len(shot.parts), bool)
        self.part_is_flat[np.unique(geometry.face_part[bent])] = False
        self.all_flat = bool(self.part_is_flat.all())
        self.texture_linear_color2 = np.array(
            [srgb_to_linear(np.array(t.color2)) if t is not None else np.zeros(3, np.float32) for t in self.geometry.mesh_texture],
            np.float32).reshape(-1, 3)
        self._last_placed: PlacedParts | None = None
        self._ray_cache = None
        self._tables_key, self._tables = None, ()
        self._blend_tables: dict[int, np.ndarray] = {}
        self._planes = part_planes(geometry.vertices, geometry.vertex_part, geometry.faces, geometry.face_part, len(shot.parts))
        # embreex copies the index buffer with Python-level item access (indices[i][j]) every time a
        # BVH is built; on rows held as tuples that copy is twice as fast as on numpy rows (measured
        # 9.8 -> 4.5 ms per build for 26,838 triangles), the same indices.
        self._face_rows = np.empty(len(self.geometry.faces), dtype=object)
        self._face_rows[:] = [tuple(row) for row in self.geometry.faces.tolist()]

    # -- 1. the frame's BVH
    def at(self, frame: int) -> PlacedParts:
        """The parts placed at `frame`'s poses and the Embree BVH over them, which the camera rays
        (`layer`) and the shadow rays (`occluded`) of that frame are cast against.

        The latest result is kept, only to save work: asking for it again returns it, and a frame
        whose poses are bit-identical to it (nothing moved) shares its BVH."""
        last = self._last_placed
        if last is not None and last.frame == frame:
            return last
        if last is not None and self._same_poses(last.frame, frame):
            placed = replace(last, frame=frame)
        else:
            with timed("passes: BVH build"):  # (--profile's sub-stages of the passes, sim.timing)
                placed = self._place(frame)
        self._last_placed = placed
        return placed

    def _place(self, frame: int) -> PlacedParts:
        rotations, positions = self.rotations[frame], self.positions[frame]
        if not self.geometry.num_triangles:
            return PlacedParts(frame, rotations, positions, None, None)
        world_vertices = self.geometry.world_vertices(rotations, positions)
        vertices = world_vertices.astype(np.float32)
        scene = rtcore_scene.EmbreeScene()
        try:
            TriangleMesh(scene, vertices, self._face_rows)
        except (TypeError, ValueError):  # a binding that insists on an integer buffer
            self._face_rows = self.geometry.faces
            scene = rtcore_scene.EmbreeScene()
            TriangleMesh(scene, vertices, self._face_rows)
        return PlacedParts(frame, rotations, positions, world_vertices, scene)

    def _same_poses(self, frame: int, other: int) -> bool:
        return bool(np.array_equal(self.rotations[frame], self.rotations[other]) and np.array_equal(self.positions[frame], self.positions[other]))

    def occluded(self, placed: PlacedParts, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """bool [K]: the ray origin + s direction (s > 0) hits any of the `placed` parts (shadow rays)."""
        scene = placed.scene
        if scene is None or len(origins) == 0:
            return np.zeros(len(origins), bool)
        with timed("passes: shadow rays"):
            return self._occluded(scene, placed, origins, directions)

    def _occluded(self, scene, placed: PlacedParts, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        # An occlusion query stops at the first hit found: cheaper than the nearest-hit query. One
        # shared direction (all shadow rays point at the sun) is passed as a single row, which
        # Embree's binding then applies to every ray, sparing a [K, 3] copy.
        directions = np.asarray(directions)
        if directions.ndim == 2 and (directions.strides[0] == 0 or len(directions) == 1):
            # One direction for all rays: cast only those that may hit something (shadows.py).
            may_hit = self._bounds_along(placed, directions[0]).may_hit(np.asarray(origins, np.float64))
            occluded = np.zeros(len(origins), bool)
            if may_hit.any():
                cast = np.compress(may_hit, origins, axis=0).astype(np.float32)  # (compress: faster than [mask] on rows)
                occluded[may_hit] = scene.run(cast, np.ascontiguousarray(directions[:1], np.float32), query="OCCLUDED") >= 0
            return occluded
        hit = scene.run(np.ascontiguousarray(origins, np.float32), np.ascontiguousarray(directions, np.float32), query="OCCLUDED")
        return hit >= 0

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
        scene = self.at(view.frame).scene
        if scene is None:
            return None
        height, width = view.height, view.width
        origins, directions = self._rays(view)
        with timed("passes: camera rays"):  # (the first cast also builds the BVH in Embree: rtcCommit)
            hits = scene.run(origins, directions, output=1)
        hit_pixels = np.flatnonzero(hits["primID"] >= 0)
        if len(hit_pixels) == 0:
            return None
        # Sort the hits by part once: every per-part rigid map then acts on a contiguous block.
        # (Gathers use take and row scatters scatter_rows: the same values, several times faster
        # than numpy's fancy indexing of [K, 2..3] rows.)
        geometry = self.geometry
        hit_faces = hits["primID"].take(hit_pixels)
        groups = _PartGroups(geometry.face_part.take(hit_faces))
        pixel, face = hit_pixels.take(groups.order), hit_faces.take(groups.order)
        # The hit in camera axes: planar depth s along the pixel-centre ray (x_n, y_n, 1) (Embree's t
        # is s, as the directions have camera-z 1); every later quantity is exact rigid motion of it.
        depth = hits["tfar"].take(pixel).astype(np.float64)
        centre_x, centre_y, normalised_x, normalised_y = self._pixel_tables(view)
        camera_point = np.empty((len(pixel), 3))
        camera_point[:, 0] = normalised_x.take(pixel) * depth
        camera_point[:, 1] = normalised_y.take(pixel) * depth
        camera_point[:, 2] = depth

        layer = into if into is not None else SurfaceLayer.empty(height, width)
        frame = view.frame
        to_camera_r, to_camera_t = self._local_to_camera(frame, view.world_to_camera[frame])
        flat = lambda a: a.reshape((height * width,) + a.shape[2:])  # noqa: E731 (views into the layer)
        flat(layer.depth)[pixel] = depth
        flat(layer.seg)[pixel] = geometry.part_seg.take(groups.part)
        if view.need_shading:
            u = hits["u"].take(pixel)[:, None]
            v = hits["v"].take(pixel)[:, None]
            scatter_rows(flat(layer.normal), pixel, self._camera_normals(face, u, v, groups, to_camera_r, camera_point))
            scatter_rows(flat(layer.albedo), pixel, self._albedo(face, groups, to_camera_r, to_camera_t, camera_point))
        if view.need_flow:
            centres = np.empty((len(pixel), 2))
            centres[:, 0] = centre_x.take(pixel)
            centres[:, 1] = centre_y.take(pixel)
            for step, flow, moved_depth in ((1, layer.flow_fwd, layer.depth_fwd), (-1, layer.flow_bwd, layer.depth_bwd)):
                other = frame + step
                if not 0 <= other < view.world_to_camera.shape[0]:
                    continue
                other_r, other_t = self._local_to_camera(other, view.world_to_camera[other])
                # camera t -> part-local (inverse of frame t's map) -> camera `other`, composed per part.
                motion_r = np.einsum("bij,bkj->bik", other_r, to_camera_r)
                motion_t = other_t - np.einsum("bij,bj->bi", motion_r, to_camera_t)
                still = self._still_parts(frame, other, view.world_to_camera)
                hit_flow = np.zeros((len(pixel), 2))
                hit_depth = depth.copy()
                for part, start, end in groups.slices:
                    if still[part]:
                        continue  # neither the part nor the camera moved: flow exactly 0, same depth
                    moved = camera_point[start:end] @ motion_r[part].T + motion_t[part]
                    _pinhole_flow(view.K, moved, centres[start:end], out=hit_flow[start:end])
                    hit_depth[start:end] = moved[:, 2]
                scatter_rows(flat(flow), pixel, hit_flow)
                flat(moved_depth)[pixel] = hit_depth
        return layer

    def _pixel_tables(self, view: FrameView) -> tuple[np.ndarray, ...]:
        """float64 [H*W] tables per pixel (row-major): centre x = j + 0.5, centre y = i + 0.5, and the
        normalised ray coordinates x_n = (x - cx) / fx, y_n = (y - cy) / fy; cached per size and K."""
        key = (view.width, view.height, view.K.tobytes())
        if self._tables_key != key:
            rows, columns = np.divmod(np.arange(view.width * view.height), view.width)
            centre_x, centre_y = columns + 0.5, rows + 0.5
            self._tables = (centre_x, centre_y, (centre_x - view.K[0, 2]) / view.K[0, 0], (centre_y - view.K[1, 2]) / view.K[1, 1])
            self._tables_key = key
        return self._tables

    def _rays(self, view: FrameView) -> tuple[np.ndarray, np.ndarray]:
        """float32 [H*W, 3] origins and directions of the pixel-centre rays for Embree, reused while
        the view shares its direction array and origin with the previous call (a still camera)."""
        origin = view.origin.astype(np.float32)
        cached = self._ray_cache
        if cached is None or cached[0] is not view.directions or not np.array_equal(cached[1], origin):
            directions = view.directions.reshape(-1, 3).astype(np.float32)
            origins = np.ascontiguousarray(np.broadcast_to(origin, directions.shape))
            cached = self._ray_cache = (view.directions, origin, origins, directions)
        return cached[2], cached[3]

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

    def _camera_normals(self, face, u, v, groups, to_camera_r, camera_point) -> np.ndarray:
        """Unit normals float32 [K, 3] in camera axes, interpolated from the corner normals (Embree's
        barycentrics: n = (1 - u - v) n0 + u n1 + v n2; flat-shaded parts such as boxes skip the
        interpolation) and turned to face the camera."""
        geometry = self.geometry
        normal = np.empty((len(face), 3), np.float32)
        rotation = to_camera_r.astype(np.float32)
        for part, start, end in groups.slices:
            block = face[start:end]
            local = geometry.normal_origin.take(block, axis=0)
            if not self.part_is_flat[part]:
                local = local + u[start:end] * geometry.normal_edge1.take(block, axis=0) + v[start:end] * geometry.normal_edge2.take(block, axis=0)
            np.matmul(local, rotation[part].T, out=normal[start:end])
        if not self.all_flat:
            normal /= np.maximum(np.sqrt(np.einsum("ki,ki->k", normal, normal)), 1e-12)[:, None]
        # A ray may see a triangle's back (open meshes, planes seen from below): show the side facing us.
        facing_away = np.einsum("ki,ki->k", normal, camera_point.astype(np.float32)) > 0
        normal *= np.where(facing_away, np.float32(-1), np.float32(1))[:, None]  # exact: x * +-1
        return normal

    def _albedo(self, face, groups, to_camera_r, to_camera_t, camera_point) -> np.ndarray:
        """Linear-light albedo float32 [K, 3]: the mesh colour, or its solid texture evaluated at the
        PART-LOCAL point (so the texture moves with the part); textures blend their two colours in
        linear light. Works per part on its contiguous block of hits."""
        geometry = self.geometry
        albedo = np.empty((len(face), 3), np.float32)
        for part, start, end in groups.slices:
            meshes = self.part_meshes[part]
            mesh_of = None if len(meshes) == 1 else geometry.face_mesh.take(face[start:end])
            albedo[start:end] = self.mesh_linear_color[meshes[0]] if mesh_of is None else self.mesh_linear_color.take(mesh_of, axis=0)
            textured = [m for m in meshes if geometry.mesh_texture[m] is not None]
            if not textured:
                continue
            # camera -> part-local: R^T (p - t), written for row vectors as (p - t) @ R; float32 is
            # ample for texture lookups (micrometres at 10 m against features of centimetres).
            local = ((camera_point[start:end] - to_camera_t[part]).astype(np.float32) @ to_camera_r[part].astype(np.float32))
            first_block = albedo[start:end]
            for mesh_index in textured:
                rows = slice(None) if mesh_of is None else np.flatnonzero(mesh_of == mesh_index)
                texture = geometry.mesh_texture[mesh_index]
                weight = texture_weight(texture, local if mesh_of is None else local.take(rows, axis=0))
                first, second = self.mesh_linear_color[mesh_index], self.texture_linear_color2[mesh_index]
                if texture.kind in BINARY_TEXTURES:  # weight 0 or 1: look the two blends up
                    colour = self._binary_blends(mesh_index).take(weight.astype(np.intp), axis=0)
                else:
                    colour = first + (second - first) * weight[:, None]
                if mesh_of is None:
                    first_block[:] = colour
                else:
                    scatter_rows(first_block, rows, colour)
        return albedo

    def _binary_blends(self, mesh_index: int) -> np.ndarray:
        """float32 [2, 3]: mesh `mesh_index`'s texture blend at weight 0 and 1, computed with the same
        float32 operations as the per-pixel blend (so a lookup gives the same bits)."""
        first, second = self.mesh_linear_color[mesh_index], self.texture_linear_color2[mesh_index]
        if mesh_index not in self._blend_tables:
            self._blend_tables[mesh_index] = np.stack([first + (second - first) * np.float32(w) for w in (0, 1)])
        return self._blend_tables[mesh_index]


class _PartGroups:
    """Hits sorted by part (a linear-time radix sort), so each part's rigid map applies to one slice.

    `order` sorts the hits; `part` is the sorted part index per hit; `slices` lists
    (part, start, end) of each part's contiguous block."""

    def __init__(self, part: np.ndarray):
        key = part.astype(np.int16) if part.size and part.max() < 32767 else part
        self.order = np.argsort(key, kind="stable")
        self.part = part[self.order]
        starts = np.flatnonzero(np.r_[True, self.part[1:] != self.part[:-1]])
        self.slices = [(int(self.part[s]), s, e) for s, e in zip(starts, np.r_[starts[1:], len(part)])]


def _pinhole_flow(K: np.ndarray, camera_points: np.ndarray, centres: np.ndarray, out: np.ndarray) -> None:
    """out [K, 2] = pixels of camera-axis points [K, 3] (x right, y down) minus `centres` [K, 2]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = camera_points[:, 2]
        for axis in (0, 1):
            pixel = K[axis, axis] * camera_points[:, axis]
            pixel /= z
            pixel += K[axis, 2]
            np.subtract(pixel, centres[:, axis], out=out[:, axis])
