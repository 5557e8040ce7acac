"""The shot's rigid geometry packed once for ray casting: every part's triangles in its own frame.

Per frame only the part poses change, so `RigidGeometry.world_vertices(pose)` is one gathered
matrix product; triangle -> part / mesh tables map a ray hit back to what it hit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from physreel.sim.records import Part

CREASE_DEG = 40.0
"""Faces meeting at more than this angle keep separate normals (box edges, cylinder rims);
below it normals are averaged so tessellated spheres and capsules shade smoothly."""


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices float64 [..., 3, 3] from unit quaternions [..., 4] in [x, y, z, w] order."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    m = np.empty(q.shape[:-1] + (3, 3))
    m[..., 0, 0] = 1 - 2 * (y * y + z * z)
    m[..., 0, 1] = 2 * (x * y - z * w)
    m[..., 0, 2] = 2 * (x * z + y * w)
    m[..., 1, 0] = 2 * (x * y + z * w)
    m[..., 1, 1] = 1 - 2 * (x * x + z * z)
    m[..., 1, 2] = 2 * (y * z - x * w)
    m[..., 2, 0] = 2 * (x * z - y * w)
    m[..., 2, 1] = 2 * (y * z + x * w)
    m[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return m


@dataclass(frozen=True)
class RigidGeometry:
    """All visual triangles of all parts, in part-local (centre-of-mass) coordinates."""

    vertices: np.ndarray
    """float64 [V, 3], part-local, m."""
    vertex_part: np.ndarray
    """int32 [V], index into Shot.parts."""
    faces: np.ndarray
    """int32 [F, 3] into vertices."""
    face_part: np.ndarray
    """int32 [F], part index of each triangle."""
    face_mesh: np.ndarray
    """int32 [F], index into `meshes` (part, mesh) of each triangle."""
    corner_normals: np.ndarray
    """float32 [F, 3, 3], part-local unit normal at each corner (crease-aware smoothing)."""
    mesh_part: np.ndarray
    """int32 [M], part index of each visual mesh."""
    mesh_color: np.ndarray
    """float32 [M, 3], sRGB 0..1."""
    mesh_texture: tuple
    """[M] TextureSpec or None."""
    part_seg: np.ndarray
    """int32 [B], seg id of each part."""
    face_origin: np.ndarray = None
    """float64 [F, 3]: corner 0 of each triangle; with face_edge1/2 (corner 1/2 minus corner 0) a hit at
    barycentrics (u, v) is face_origin + u edge1 + v edge2 (one gather per array instead of two)."""
    face_edge1: np.ndarray = None
    face_edge2: np.ndarray = None
    normal_origin: np.ndarray = None
    """float32 [F, 3]: corner-0 normal and the corner-1/2 differences, interpolated like positions."""
    normal_edge1: np.ndarray = None
    normal_edge2: np.ndarray = None

    def __post_init__(self):
        corners = self.vertices[self.faces]
        normals = self.corner_normals.astype(np.float32)
        for name, value in (("face_origin", corners[:, 0]), ("face_edge1", corners[:, 1] - corners[:, 0]),
                            ("face_edge2", corners[:, 2] - corners[:, 0]), ("normal_origin", normals[:, 0]),
                            ("normal_edge1", normals[:, 1] - normals[:, 0]), ("normal_edge2", normals[:, 2] - normals[:, 0])):
            object.__setattr__(self, name, np.ascontiguousarray(value))

    @property
    def num_triangles(self) -> int:
        return int(len(self.faces))

    def world_vertices(self, rotations: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """World vertices float64 [V, 3] for part rotations [B, 3, 3] and positions [B, 3]."""
        rotation = rotations[self.vertex_part]
        return np.einsum("vij,vj->vi", rotation, self.vertices) + positions[self.vertex_part]


def pack_geometry(parts: tuple[Part, ...]) -> RigidGeometry:
    """Concatenate every part's visual meshes (part order = Shot.parts order)."""
    vertices, vertex_part, faces, face_part, face_mesh, normals = [], [], [], [], [], []
    mesh_part, mesh_color, mesh_texture = [], [], []
    offset = 0
    normals_by_content: dict[bytes, np.ndarray] = {}  # copies of one object share their normals
    for part_index, part in enumerate(parts):
        for mesh in part.meshes:
            mesh_vertices = np.asarray(mesh.vertices, np.float64).reshape(-1, 3)
            mesh_faces = np.asarray(mesh.faces, np.int64).reshape(-1, 3)
            if len(mesh_faces) == 0:
                continue
            if mesh_faces.min() < 0 or mesh_faces.max() >= len(mesh_vertices):
                raise ValueError(f"part {part.name!r}: a face indexes a vertex that does not exist")
            mesh_index = len(mesh_part)
            vertices.append(mesh_vertices)
            vertex_part.append(np.full(len(mesh_vertices), part_index, np.int32))
            faces.append(mesh_faces + offset)
            face_part.append(np.full(len(mesh_faces), part_index, np.int32))
            face_mesh.append(np.full(len(mesh_faces), mesh_index, np.int32))
            key = hashlib.blake2b(mesh_vertices.tobytes() + mesh_faces.tobytes(), digest_size=16).digest()
            if key not in normals_by_content:
                normals_by_content[key] = crease_corner_normals(mesh_vertices, mesh_faces)
            normals.append(normals_by_content[key])
            mesh_part.append(part_index)
            mesh_color.append(mesh.color)
            mesh_texture.append(mesh.texture)
            offset += len(mesh_vertices)
    if not faces:
        empty_i = np.zeros(0, np.int32)
        return RigidGeometry(np.zeros((0, 3)), empty_i, np.zeros((0, 3), np.int32), empty_i, empty_i,
                             np.zeros((0, 3, 3), np.float32), empty_i, np.zeros((0, 3), np.float32), (),
                             np.array([p.seg_id for p in parts], np.int32))
    return RigidGeometry(
        vertices=np.concatenate(vertices),
        vertex_part=np.concatenate(vertex_part),
        faces=np.concatenate(faces).astype(np.int32),
        face_part=np.concatenate(face_part),
        face_mesh=np.concatenate(face_mesh),
        corner_normals=np.concatenate(normals).astype(np.float32),
        mesh_part=np.array(mesh_part, np.int32),
        mesh_color=np.array(mesh_color, np.float32).reshape(-1, 3),
        mesh_texture=tuple(mesh_texture),
        part_seg=np.array([p.seg_id for p in parts], np.int32),
    )


def crease_corner_normals(vertices: np.ndarray, faces: np.ndarray, crease_deg: float = CREASE_DEG) -> np.ndarray:
    """Per-corner normals float64 [F, 3, 3]: area-weighted mean of the normals of the faces around the
    corner's vertex that lie within `crease_deg` of the corner's own face (vectorised over all pairs).

    Vertices are first merged by position so meshes with split seams still smooth across them.
    """
    face_vectors = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    area2 = np.linalg.norm(face_vectors, axis=1)
    face_normals = face_vectors / np.maximum(area2, 1e-300)[:, None]
    _, merged = np.unique(np.round(vertices, 9), axis=0, return_inverse=True)
    corner_vertex = merged.reshape(-1)[faces].reshape(-1)  # [3F]
    corner_face = np.repeat(np.arange(len(faces)), 3)
    order = np.argsort(corner_vertex, kind="stable")
    sorted_vertex = corner_vertex[order]
    starts = np.flatnonzero(np.r_[True, sorted_vertex[1:] != sorted_vertex[:-1]])
    sizes = np.diff(np.r_[starts, len(sorted_vertex)])
    # Every (corner, neighbour corner) pair sharing a vertex: sum of size^2 pairs.
    group_of_sorted = np.repeat(np.arange(len(starts)), sizes)
    pair_size = sizes[group_of_sorted]
    left = np.repeat(np.arange(len(order)), pair_size)
    within = np.arange(len(left)) - np.repeat(np.cumsum(pair_size) - pair_size, pair_size)
    right = starts[group_of_sorted[left]] + within
    own_face = corner_face[order[left]]
    other_face = corner_face[order[right]]
    keep = np.einsum("ij,ij->i", face_normals[own_face], face_normals[other_face]) >= np.cos(np.radians(crease_deg))
    # Area-weighted sums (|cross| = 2 area) per corner; bincount is a fast unbuffered scatter-add.
    kept_left, kept_vectors = left[keep], face_vectors[other_face[keep]]
    sums = np.stack([np.bincount(kept_left, weights=kept_vectors[:, axis], minlength=len(order)) for axis in range(3)], axis=1)
    corner_normals = np.empty((len(order), 3))
    corner_normals[order] = sums
    norms = np.linalg.norm(corner_normals, axis=1, keepdims=True)
    fallback = np.repeat(face_normals, 3, axis=0)
    corner_normals = np.where(norms > 1e-300, corner_normals / np.maximum(norms, 1e-300), fallback)
    return corner_normals.reshape(-1, 3, 3)
