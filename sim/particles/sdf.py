"""Signed distances to rigid parts, in each part's own frame, with their gradients.

Every shape has `distance(p)` and `gradient(p)` of points float64 [n, 3] in the part frame
(metres): distance float64 [n], > 0 outside, < 0 inside; gradient float64 [n, 3], the unit
outward direction of steepest increase (the contact normal), asked only where a contact is
found; and `bounds` (local min and max corners, None when unbounded). Primitives are exact
(box, sphere, capsule and cylinder along local Z, centred on the part frame, as pybullet builds
them; the plane z = 0 with normal +Z). Meshes (mesh objects and URDF links) use `GridSDF`, a
signed distance sampled on a grid around the part's visual meshes and interpolated trilinearly.

Every shape's formulas live once, in the compiled `point_distance` (numba); `distance` and
`gradient` run it over arrays of points, and the liquid's compiled wall and contact loops
(kernels.py) call it per particle with the shape's `compiled` arguments.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

PLANE, SPHERE, BOX, CAPSULE, CYLINDER, GRID = range(6)
"""Shape codes of `point_distance`."""
_NO_GRID = (np.zeros((2, 2, 2)), np.zeros((2, 2, 2, 3)), np.zeros(3), 1.0)
"""Grid arguments of the analytic shapes (unused by them)."""


@njit(cache=True)
def _unit(a, b, c, fa, fb, fc):
    """(a, b, c) normalised, or the fallback unit vector (fa, fb, fc) when shorter than 1e-12."""
    norm = math.sqrt(a * a + b * b + c * c)
    if norm > 1e-12:
        return a / norm, b / norm, c / norm
    return fa, fb, fc


@njit(cache=True)
def point_distance(code, params, values, gradients, origin, cell, p0, p1, p2):
    """Signed distance (m) of the part-frame point (p0, p1, p2) to a shape, and the unit outward
    gradient there: (d, g0, g1, g2). params: sphere [radius], box [half x, y, z], capsule and
    cylinder [radius, length]; values, gradients, origin, cell: a GridSDF's samples
    (outside its grid: d = +inf, gradient +Z)."""
    if code == PLANE:
        return p2, 0.0, 0.0, 1.0
    if code == SPHERE:
        d = math.sqrt(p0 * p0 + p1 * p1 + p2 * p2) - params[0]
        g0, g1, g2 = _unit(p0, p1, p2, 0.0, 0.0, 1.0)
        return d, g0, g1, g2
    if code == BOX:
        q0, q1, q2 = abs(p0) - params[0], abs(p1) - params[1], abs(p2) - params[2]
        o0, o1, o2 = max(q0, 0.0), max(q1, 0.0), max(q2, 0.0)
        out = math.sqrt(o0 * o0 + o1 * o1 + o2 * o2)
        d = out + min(max(q0, q1, q2), 0.0)
        s0 = 1.0 if p0 >= 0 else -1.0
        s1 = 1.0 if p1 >= 0 else -1.0
        s2 = 1.0 if p2 >= 0 else -1.0
        if out > 0:
            return d, o0 * s0 / out, o1 * s1 / out, o2 * s2 / out
        # Inside: the nearest face is the axis of the largest q (the first on ties).
        if q0 >= q1 and q0 >= q2:
            return d, s0, 0.0, 0.0
        if q1 >= q2:
            return d, 0.0, s1, 0.0
        return d, 0.0, 0.0, s2
    if code == CAPSULE:
        half = params[1] / 2
        v2 = p2 - min(max(p2, -half), half)
        d = math.sqrt(p0 * p0 + p1 * p1 + v2 * v2) - params[0]
        g0, g1, g2 = _unit(p0, p1, v2, 1.0, 0.0, 0.0)
        return d, g0, g1, g2
    if code == CYLINDER:
        rxy = math.hypot(p0, p1)
        dr = rxy - params[0]
        dz = abs(p2) - params[1] / 2
        out_r, out_z = max(dr, 0.0), max(dz, 0.0)
        out = math.hypot(out_r, out_z)
        d = out + min(max(dr, dz), 0.0)
        if rxy > 1e-12:
            r0, r1 = p0 / rxy, p1 / rxy
        else:
            r0, r1 = 1.0, 0.0
        cap = 1.0 if p2 >= 0 else -1.0
        if out > 0:
            return d, r0 * out_r / out, r1 * out_r / out, cap * out_z / out
        if dr > dz:
            return d, r0, r1, 0.0
        return d, 0.0, 0.0, cap
    # GRID: trilinear interpolation of the samples and of their gradients.
    u0, u1, u2 = (p0 - origin[0]) / cell, (p1 - origin[1]) / cell, (p2 - origin[2]) / cell
    n0, n1, n2 = values.shape
    if not (0 <= u0 <= n0 - 1 and 0 <= u1 <= n1 - 1 and 0 <= u2 <= n2 - 1):
        return math.inf, 0.0, 0.0, 1.0
    i0, i1, i2 = min(int(math.floor(u0)), n0 - 2), min(int(math.floor(u1)), n1 - 2), min(int(math.floor(u2)), n2 - 2)
    f0, f1, f2 = u0 - i0, u1 - i1, u2 - i2
    d, g0, g1, g2 = 0.0, 0.0, 0.0, 0.0
    for corner in range(8):
        c0, c1, c2 = corner & 1, (corner >> 1) & 1, (corner >> 2) & 1
        weight = (f0 if c0 else 1 - f0) * (f1 if c1 else 1 - f1) * (f2 if c2 else 1 - f2)
        j0, j1, j2 = i0 + c0, i1 + c1, i2 + c2
        d += weight * values[j0, j1, j2]
        g0 += weight * gradients[j0, j1, j2, 0]
        g1 += weight * gradients[j0, j1, j2, 1]
        g2 += weight * gradients[j0, j1, j2, 2]
    g0, g1, g2 = _unit(g0, g1, g2, 0.0, 0.0, 1.0)
    return d, g0, g1, g2


@njit(cache=True)
def _evaluate(code, params, values, gradients, origin, cell, p, distance, gradient, with_gradient):
    for k in range(p.shape[0]):
        d, g0, g1, g2 = point_distance(code, params, values, gradients, origin, cell, p[k, 0], p[k, 1], p[k, 2])
        distance[k] = d
        if with_gradient:
            gradient[k, 0], gradient[k, 1], gradient[k, 2] = g0, g1, g2


class _Shape:
    """distance and gradient of points through `point_distance`; subclasses set `compiled`."""

    compiled: tuple
    """(code, params float64 [3], grid values, grid gradients, grid origin, grid cell): the shape
    arguments of `point_distance`."""

    def _run(self, p: np.ndarray, with_gradient: bool):
        p = np.ascontiguousarray(p, dtype=np.float64).reshape(-1, 3)
        distance = np.empty(len(p))
        gradient = np.empty((len(p) if with_gradient else 0, 3))
        _evaluate(*self.compiled, p, distance, gradient, with_gradient)
        return distance, gradient

    def distance(self, p: np.ndarray) -> np.ndarray:
        """float64 [n] signed distances (m) of part-frame points p [n, 3]."""
        return self._run(p, False)[0]

    def gradient(self, p: np.ndarray) -> np.ndarray:
        """float64 [n, 3] unit outward gradients at part-frame points p [n, 3]."""
        return self._run(p, True)[1]


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
