"""Signed distances to rigid parts, in each part's own frame, with their gradients.

Every shape has `distance(p)` and `gradient(p)` of points float64 [n, 3] in the part frame
(metres): distance float64 [n], > 0 outside, < 0 inside; gradient float64 [n, 3], the unit
outward direction of steepest increase (the contact normal), asked only where a contact is
found; and `bounds` (local min and max corners, None when unbounded). Primitives are exact
(box, sphere, capsule and cylinder along local Z, centred on the part frame, as pybullet builds
them; the plane z = 0 with normal +Z). Meshes (mesh objects and URDF links) use `GridSDF`, a
signed distance sampled on a grid around the part's visual meshes and interpolated trilinearly.
"""

from __future__ import annotations

import numpy as np


def _unit_or(vectors: np.ndarray, norms: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """vectors / norms where norms > 0, else `fallback` (a unit vector)."""
    safe = np.where(norms > 1e-12, norms, 1.0)[:, None]
    return np.where((norms > 1e-12)[:, None], vectors / safe, fallback)


_UP = np.array([0.0, 0.0, 1.0])


class PlaneSDF:
    """The plane z = 0 (pybullet's GEOM_PLANE), solid below."""

    bounds = None
    """Unbounded."""

    def distance(self, p: np.ndarray) -> np.ndarray:
        return p[:, 2].copy()

    def gradient(self, p: np.ndarray) -> np.ndarray:
        return np.broadcast_to(_UP, p.shape).copy()


class SphereSDF:
    def __init__(self, radius: float):
        self.radius = radius
        self.bounds = (np.full(3, -radius), np.full(3, radius))

    def distance(self, p: np.ndarray) -> np.ndarray:
        return np.sqrt(np.einsum("ij,ij->i", p, p)) - self.radius

    def gradient(self, p: np.ndarray) -> np.ndarray:
        return _unit_or(p, np.linalg.norm(p, axis=1), _UP)


class BoxSDF:
    """Box of half extents `half` [3]."""

    def __init__(self, half: np.ndarray):
        self.half = np.asarray(half, float)
        self.bounds = (-self.half, self.half)

    def distance(self, p: np.ndarray) -> np.ndarray:
        q = np.abs(p) - self.half
        outside = np.maximum(q, 0.0)
        return np.sqrt(np.einsum("ij,ij->i", outside, outside)) + np.minimum(q.max(axis=1), 0.0)

    def gradient(self, p: np.ndarray) -> np.ndarray:
        sign = np.where(p >= 0, 1.0, -1.0)
        q = np.abs(p) - self.half
        outside = np.maximum(q, 0.0)
        out_norm = np.linalg.norm(outside, axis=1)
        # Inside: the nearest face is the axis of the largest q.
        rows = np.arange(len(p))
        axis = np.argmax(q, axis=1)
        inside_grad = np.zeros_like(p)
        inside_grad[rows, axis] = sign[rows, axis]
        safe = np.where(out_norm > 0, out_norm, 1.0)[:, None]
        return np.where((out_norm > 0)[:, None], outside * sign / safe, inside_grad)


class CapsuleSDF:
    """Capsule along Z: a segment of `length` from z = -length/2 to +length/2, swept by `radius`."""

    def __init__(self, radius: float, length: float):
        self.radius, self.length = radius, length
        self.bounds = (np.array([-radius, -radius, -radius - length / 2]), np.array([radius, radius, radius + length / 2]))

    def _offset(self, p: np.ndarray) -> np.ndarray:
        v = p.copy()
        v[:, 2] -= np.clip(p[:, 2], -self.length / 2, self.length / 2)
        return v

    def distance(self, p: np.ndarray) -> np.ndarray:
        v = self._offset(p)
        return np.sqrt(np.einsum("ij,ij->i", v, v)) - self.radius

    def gradient(self, p: np.ndarray) -> np.ndarray:
        v = self._offset(p)
        return _unit_or(v, np.linalg.norm(v, axis=1), np.array([1.0, 0.0, 0.0]))


class CylinderSDF:
    """Cylinder along Z of `radius` and height `length`, centred on the origin."""

    def __init__(self, radius: float, length: float):
        self.radius, self.length = radius, length
        self.bounds = (np.array([-radius, -radius, -length / 2]), np.array([radius, radius, length / 2]))

    def distance(self, p: np.ndarray) -> np.ndarray:
        dr = np.hypot(p[:, 0], p[:, 1]) - self.radius
        dz = np.abs(p[:, 2]) - self.length / 2
        return np.hypot(np.maximum(dr, 0.0), np.maximum(dz, 0.0)) + np.minimum(np.maximum(dr, dz), 0.0)

    def gradient(self, p: np.ndarray) -> np.ndarray:
        rxy = np.hypot(p[:, 0], p[:, 1])
        radial = np.zeros_like(p)
        radial[:, :2] = _unit_or(p[:, :2], rxy, np.array([1.0, 0.0]))
        cap = np.zeros_like(p)
        cap[:, 2] = np.where(p[:, 2] >= 0, 1.0, -1.0)
        dr = rxy - self.radius
        dz = np.abs(p[:, 2]) - self.length / 2
        out_r, out_z = np.maximum(dr, 0.0), np.maximum(dz, 0.0)
        out_norm = np.hypot(out_r, out_z)
        inside_grad = np.where((dr > dz)[:, None], radial, cap)
        safe = np.where(out_norm > 0, out_norm, 1.0)[:, None]
        outside_grad = (radial * out_r[:, None] + cap * out_z[:, None]) / safe
        return np.where((out_norm > 0)[:, None], outside_grad, inside_grad)


class GridSDF:
    """Signed distance of a triangle mesh sampled on a regular grid, interpolated trilinearly.

    Built once per part from its visual meshes (part frame). Grid spacing is `cell` metres; the
    grid extends `margin` beyond the mesh's bounds; outside the grid the distance is +inf (no
    contact is possible there, since the margin exceeds any particle radius plus its move in a
    substep). Distances within BAND_CELLS cells of the surface (or `band` metres, if wider) are
    point-to-plane distances to the nearest of dense surface samples (accurate to well under a
    cell), clamped beyond; the sign
    comes from ray-parity containment for watertight meshes and from the nearest sample's face
    normal otherwise.
    """

    MAX_CELLS_PER_AXIS = 96
    BAND_CELLS = 4

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, cell: float, margin: float, band: float = 0.0):
        import trimesh
        from scipy.spatial import cKDTree

        mesh = trimesh.Trimesh(vertices=np.asarray(vertices, float), faces=np.asarray(faces, np.int64), process=True)
        lo = mesh.bounds[0] - margin
        hi = mesh.bounds[1] + margin
        cell = max(cell, float((hi - lo).max()) / (self.MAX_CELLS_PER_AXIS - 1))
        counts = np.maximum(2, np.ceil((hi - lo) / cell).astype(int) + 1)
        self.origin, self.cell, self.counts = lo, cell, counts
        self.bounds = (mesh.bounds[0].copy(), mesh.bounds[1].copy())
        axes = [lo[k] + cell * np.arange(counts[k]) for k in range(3)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)

        # 1. Dense surface samples (deterministic: even sampling with a fixed seed).
        sample_spacing = cell / 2
        n_samples = int(np.clip(mesh.area / sample_spacing**2, 2000, 200_000))
        samples, face_index = trimesh.sample.sample_surface_even(mesh, n_samples, seed=0)
        samples = np.concatenate([samples, mesh.vertices])
        normals = np.concatenate([mesh.face_normals[face_index], mesh.vertex_normals])
        # 2. Unsigned distance within a band of BAND_CELLS cells, or `band` metres if wider
        #    (point-to-plane of the nearest sample); beyond it the value is clamped to the band,
        #    as contacts (and the liquid's wall density, given its reach as `band`) never look
        #    that far.
        band = self.band = max(self.BAND_CELLS * cell, band)
        gap, nearest = cKDTree(samples).query(grid, distance_upper_bound=band)
        in_band = np.isfinite(gap)
        along = np.zeros(len(grid))
        hit = nearest[in_band]
        along[in_band] = np.einsum("ij,ij->i", grid[in_band] - samples[hit], normals[hit])
        unsigned = np.full(len(grid), band)
        # Point-to-plane is exact over a face; off a face's edge it underestimates, so only the
        # points within 1.5 cells of a sample use it and the rest their distance to the sample.
        unsigned[in_band] = np.where(gap[in_band] < 1.5 * cell, np.abs(along[in_band]), gap[in_band])
        # 3. Sign: ray-parity containment for closed meshes, else the nearest sample's face normal
        #    (points beyond the band of an open mesh count as outside).
        if mesh.is_watertight:
            inside = mesh.contains(grid)
        else:
            inside = in_band & (along < 0)
        self.values = np.where(inside, -unsigned, unsigned).reshape(tuple(counts))
        self.gradients = np.stack(np.gradient(self.values, cell), axis=-1)

    def _corners(self, p: np.ndarray):
        """Points inside the grid, their cell corners and trilinear weights."""
        u = (p - self.origin) / self.cell
        inside_grid = np.all((u >= 0) & (u <= self.counts - 1), axis=1)
        ui = u[inside_grid]
        i0 = np.minimum(np.floor(ui).astype(np.int64), self.counts - 2)
        f = ui - i0
        for corner in range(8):  # the 8 corners of the cell (a fixed loop, vectorised over points)
            dx, dy, dz = corner & 1, (corner >> 1) & 1, (corner >> 2) & 1
            weight = (f[:, 0] if dx else 1 - f[:, 0]) * (f[:, 1] if dy else 1 - f[:, 1]) * (f[:, 2] if dz else 1 - f[:, 2])
            yield inside_grid, (i0[:, 0] + dx, i0[:, 1] + dy, i0[:, 2] + dz), weight

    def distance(self, p: np.ndarray) -> np.ndarray:
        """float64 [n]: +inf outside the grid."""
        distance = np.full(len(p), np.inf)
        total = None
        for inside_grid, index, weight in self._corners(p):
            term = weight * self.values[index]
            total = term if total is None else total + term
        if total is not None:
            distance[inside_grid] = total
        return distance

    def gradient(self, p: np.ndarray) -> np.ndarray:
        """float64 [n, 3] unit outward direction (+Z outside the grid)."""
        gradient = np.broadcast_to(_UP, p.shape).copy()
        total = None
        inside = None
        for inside_grid, index, weight in self._corners(p):
            term = weight[:, None] * self.gradients[index]
            total = term if total is None else total + term
            inside = inside_grid
        if total is not None and len(total):
            gradient[inside] = _unit_or(total, np.linalg.norm(total, axis=1), _UP)
        return gradient
