"""Signed distances to rigid parts, in each part's own frame, with their gradients.

Every shape has `distance(p)` and `gradient(p)` of points float64 [n, 3] in the part frame
(metres): distance float64 [n], > 0 outside, < 0 inside; gradient float64 [n, 3], the unit
outward direction of steepest increase (the contact normal), asked only where a contact is
found; and `bounds` (local min and max corners, None when unbounded). Primitives are exact
(box, sphere, capsule and cylinder along local Z, centred on the part frame, as pybullet builds
them; the plane z = 0 with normal +Z). Meshes (mesh objects and URDF links) use `GridSDF`, a
signed distance sampled on a grid around the part's visual meshes and interpolated trilinearly.

Every shape's formulas live once, in the compiled `kernels.shape_distances` (numba):
`distance` and `gradient` run it over arrays of points, and the compiled contact and liquid
loops (kernels.py) call it with the shape's `compiled` arguments.
"""

from __future__ import annotations

import numpy as np

from .kernels import BOX, CAPSULE, CYLINDER, GRID, PLANE, SPHERE, shape_distances

_NO_GRID = (np.zeros((2, 2, 2)), np.zeros((2, 2, 2, 3)), np.zeros(3), 1.0)
"""Grid arguments of the analytic shapes (unused by them)."""


class _Shape:
    """distance and gradient of points through `kernels.shape_distances`; subclasses set `compiled`."""

    compiled: tuple
    """(code, params float64 [3], grid values, grid gradients, grid origin, grid cell): the shape
    arguments of `kernels.shape_distances`."""

    def _run(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.ascontiguousarray(p, dtype=np.float64).reshape(-1, 3)
        distance, gradient = np.empty(len(p)), np.empty((len(p), 3))
        shape_distances(*self.compiled, p, distance, gradient)
        return distance, gradient

    def distance(self, p: np.ndarray) -> np.ndarray:
        """float64 [n] signed distances (m) of part-frame points p [n, 3]."""
        return self._run(p)[0]

    def gradient(self, p: np.ndarray) -> np.ndarray:
        """float64 [n, 3] unit outward gradients at part-frame points p [n, 3]."""
        return self._run(p)[1]


def _analytic(code: int, *params: float) -> tuple:
    return (code, np.array(list(params) + [0.0] * (3 - len(params)), float), *_NO_GRID)


class PlaneSDF(_Shape):
    """The plane z = 0 (pybullet's GEOM_PLANE), solid below."""

    bounds = None
    """Unbounded."""
    compiled = _analytic(PLANE)


class SphereSDF(_Shape):
    def __init__(self, radius: float):
        self.radius = radius
        self.bounds = (np.full(3, -radius), np.full(3, radius))
        self.compiled = _analytic(SPHERE, radius)


class BoxSDF(_Shape):
    """Box of half extents `half` [3]."""

    def __init__(self, half: np.ndarray):
        self.half = np.asarray(half, float)
        self.bounds = (-self.half, self.half)
        self.compiled = _analytic(BOX, *self.half)


class CapsuleSDF(_Shape):
    """Capsule along Z: a segment of `length` from z = -length/2 to +length/2, swept by `radius`."""

    def __init__(self, radius: float, length: float):
        self.radius, self.length = radius, length
        self.bounds = (np.array([-radius, -radius, -radius - length / 2]), np.array([radius, radius, radius + length / 2]))
        self.compiled = _analytic(CAPSULE, radius, length)


class CylinderSDF(_Shape):
    """Cylinder along Z of `radius` and height `length`, centred on the origin."""

    def __init__(self, radius: float, length: float):
        self.radius, self.length = radius, length
        self.bounds = (np.array([-radius, -radius, -length / 2]), np.array([radius, radius, length / 2]))
        self.compiled = _analytic(CYLINDER, radius, length)


class GridSDF(_Shape):
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
        self.gradients = np.ascontiguousarray(np.stack(np.gradient(self.values, cell), axis=-1))
        self.compiled = (GRID, np.zeros(3), self.values, self.gradients, self.origin, float(cell))
