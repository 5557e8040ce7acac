"""Exact ray casting against triangles, in compiled loops (numba) and float64, without a BVH.

The rays of both queries are coherent, so binning finds each triangle's candidate rays directly:
- `cast_pixel_rays`: the nearest triangle on the ray through every pixel centre of a pinhole
  camera. Each triangle is projected into the image and only the pixel centres inside its
  projected bounding box are tested, as a rasteriser scans, but with the exact ray-triangle test.
- `occluded_along`: whether rays from many origins along one shared direction (the shadow rays
  towards the sun) hit any triangle. The triangles are binned on a grid, across the direction,
  over the origins' footprint; each ray tests its cell's triangles until one hides it.

Why not Embree: its Python binding (embreex) casts one ray at a time and needs its BVH rebuilt
for every frame in which a part moves, with the index buffer copied item by item in Python;
the bench scene's 512 x 512 frame took 19 ms of rays and 7 ms of BVH build that way. These
loops take a few ms together (bench/passes.py).

The test, in both queries: with every vertex taken relative to the ray's origin, the edge function
of the edge (i, j) for a ray of direction d is e_ij = d . (v_i x v_j) (the 2-D cross product of
the footprints for the shadow query). In floating point it is exactly antisymmetric, e_ji = -e_ij,
bit for bit, so a ray through an edge shared by two triangles is inside at least one of them: no
cracks (watertight), and the answer depends only on the vertices' bits (deterministic). A ray hits
a triangle when its three edge functions agree in sign (either sign: both faces of every triangle
are hit, for open meshes and planes seen from below); the edge functions, divided by their sum, are
the hit's barycentrics. Ties in depth go to the triangle listed first. Loops are serial, in index
order, with no fastmath, so the same input gives the same bytes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NEAR_M = 1e-6
"""Triangles are clipped at camera z = NEAR_M (m) to bound their projection; only a triangle
passing within about a micrometre of the camera centre could lose pixels to this."""


@njit(cache=True)
def _clipped_bounds(ax, ay, az, bx, by, bz, qx, qy, qz, fx, fy, cx, cy) -> tuple[float, float, float, float, bool]:
    """(x min, x max, y min, y max) in pixels of a triangle (corners in camera axes) clipped to
    z >= NEAR_M, and whether any of it lies in front of the camera. Scalars only: a numba call that
    passes arrays costs their reference counting, which per triangle outweighed the arithmetic."""
    x_low, x_high, y_low, y_high = np.inf, -np.inf, np.inf, -np.inf
    seen = False
    for k in range(3):
        x, y, z = (ax, ay, az) if k == 0 else ((bx, by, bz) if k == 1 else (qx, qy, qz))
        nx, ny, nz = (bx, by, bz) if k == 0 else ((qx, qy, qz) if k == 1 else (ax, ay, az))
        if z > NEAR_M:
            px, py = fx * x / z + cx, fy * y / z + cy
            x_low, x_high, y_low, y_high = min(x_low, px), max(x_high, px), min(y_low, py), max(y_high, py)
            seen = True
        if (z > NEAR_M) != (nz > NEAR_M):  # the edge crosses the near plane: add the crossing point
            t = (NEAR_M - z) / (nz - z)
            px, py = fx * (x + t * (nx - x)) / NEAR_M + cx, fy * (y + t * (ny - y)) / NEAR_M + cy
            x_low, x_high, y_low, y_high = min(x_low, px), max(x_high, px), min(y_low, py), max(y_high, py)
    return x_low, x_high, y_low, y_high, seen


@njit(cache=True)
def _pixel_range(low: float, high: float, count: int) -> tuple[int, int]:
    """First and last pixel index whose centre (index + 0.5) lies in [low, high], clamped to the
    image (empty: first > last). The range is widened by 1e-6 px (plus 1e-12 of the value) for the
    projection's rounding, ~1e-16 relative: the exact test decides at the pixels inside, and a
    pixel it could accept lies within rounding of the triangle, so inside the widened range."""
    first = low - 0.5 - (1e-6 + 1e-12 * abs(low))
    last = high - 0.5 + (1e-6 + 1e-12 * abs(high))
    first = max(first, -1.0)  # clamp in floats first: bounds may be huge or infinite
    last = min(last, float(count))
    if not first <= last:  # also catches NaN
        return 0, -1
    return max(int(math.ceil(first)), 0), min(int(math.floor(last)), count - 1)


@njit(cache=True)
def cast_pixel_rays(vertices: np.ndarray, faces: np.ndarray, normalised_x: np.ndarray, normalised_y: np.ndarray,
                    fx: float, fy: float, cx: float, cy: float, face_out: np.ndarray, depth_out: np.ndarray,
                    u_out: np.ndarray, v_out: np.ndarray) -> None:
    """The nearest triangle on the ray (x_n, y_n, 1) from the camera centre through every pixel centre.

    vertices float64 [V, 3] in camera axes (x right, y down, z forward), m; faces int32/int64 [F, 3];
    normalised_x float64 [W] with x_n = (j + 0.5 - cx) / fx per column, normalised_y float64 [H] per
    row; fx, fy, cx, cy the pinhole intrinsics in pixels (for the bounding boxes only).
    Outputs, row-major [H * W], overwritten: face_out int32 (-1: no hit); depth_out float64, the hit's
    camera z (the ray parameter, as the direction's z is 1), inf where nothing is hit; u_out, v_out
    float64 barycentrics of corners 1 and 2 (the hit is (1 - u - v) c0 + u c1 + v c2).
    """
    height, width = normalised_y.shape[0], normalised_x.shape[0]
    face_out[:] = -1
    depth_out[:] = np.inf
    u_out[:] = 0.0
    v_out[:] = 0.0
    for f in range(faces.shape[0]):
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        ax, ay, az = vertices[i0, 0], vertices[i0, 1], vertices[i0, 2]
        bx, by, bz = vertices[i1, 0], vertices[i1, 1], vertices[i1, 2]
        qx, qy, qz = vertices[i2, 0], vertices[i2, 1], vertices[i2, 2]
        # 1. the pixels whose centres may see the triangle
        if az > NEAR_M and bz > NEAR_M and qz > NEAR_M:  # wholly in front: project the corners
            pax, pbx, pqx = fx * ax / az + cx, fx * bx / bz + cx, fx * qx / qz + cx
            pay, pby, pqy = fy * ay / az + cy, fy * by / bz + cy, fy * qy / qz + cy
            x_low, x_high = min(pax, pbx, pqx), max(pax, pbx, pqx)
            y_low, y_high = min(pay, pby, pqy), max(pay, pby, pqy)
        else:
            x_low, x_high, y_low, y_high, seen = _clipped_bounds(ax, ay, az, bx, by, bz, qx, qy, qz, fx, fy, cx, cy)
            if not seen:
                continue
        col0, col1 = _pixel_range(x_low, x_high, width)
        row0, row1 = _pixel_range(y_low, y_high, height)
        if col0 > col1 or row0 > row1:
            continue
        # 2. edge normals n0 = c1 x c2, n1 = c2 x c0, n2 = c0 x c1 (e_k = d . n_k weighs corner k)
        n0x, n0y, n0z = by * qz - bz * qy, bz * qx - bx * qz, bx * qy - by * qx
        n1x, n1y, n1z = qy * az - qz * ay, qz * ax - qx * az, qx * ay - qy * ax
        n2x, n2y, n2z = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
        volume = ax * n0x + ay * n0y + az * n0z  # c0 . (c1 x c2): depth = volume / (e0 + e1 + e2)
        # 3. test every candidate pixel centre
        for row in range(row0, row1 + 1):
            y = normalised_y[row]
            r0, r1, r2 = n0y * y + n0z, n1y * y + n1z, n2y * y + n2z
            base = row * width
            for col in range(col0, col1 + 1):
                x = normalised_x[col]
                e0 = n0x * x + r0
                e1 = n1x * x + r1
                if (e0 < 0.0 and e1 > 0.0) or (e0 > 0.0 and e1 < 0.0):
                    continue
                e2 = n2x * x + r2
                if not ((e0 >= 0.0 and e1 >= 0.0 and e2 >= 0.0) or (e0 <= 0.0 and e1 <= 0.0 and e2 <= 0.0)):
                    continue
                total = e0 + e1 + e2
                if total == 0.0:
                    continue  # the ray lies in the triangle's plane
                depth = volume / total
                pixel = base + col
                if depth > 0.0 and depth < depth_out[pixel]:
                    depth_out[pixel] = depth
                    face_out[pixel] = f
                    u_out[pixel] = e1 / total
                    v_out[pixel] = e2 / total


@njit(cache=True)
def _cell(value: float, low: float, size: float, side: int) -> int:
    """The grid column of `value` (monotonic in it, so a footprint's range holds its origins' cells)."""
    t = (value - low) / size
    if not t >= 0.0:  # (also NaN)
        return 0
    if t >= side - 1:
        return side - 1
    return int(t)


MAX_BINNED = 4_000_000
"""Most (triangle, cell) entries `occluded_along` bins; a coarser grid is taken beyond it (large
triangles over a fine grid)."""


@njit(cache=True)
def occluded_along(vertices: np.ndarray, faces: np.ndarray, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """bool [K]: the ray origins[k] + s direction, s > 0, hits a triangle.

    vertices float64 [V, 3], faces int [F, 3], origins float64 [K, 3], direction float64 [3] (unit),
    all in one frame of axes (the world's). In light axes (u, w across the direction, h along it) a
    ray keeps its origin's (u, w) and climbs in h: it hits a triangle when (u, w) lies in the
    triangle's footprint and the triangle's h there is above the origin's. The triangles are binned
    on a grid over the origins' footprint; each ray tests the triangles of its cell, in index order,
    until one hides it.
    """
    count = origins.shape[0]
    hit = np.zeros(count, np.bool_)
    if count == 0 or faces.shape[0] == 0:
        return hit
    # 1. light axes; every origin's light coordinates, and every triangle's corners in them
    helper = np.zeros(3)
    helper[np.argmin(np.abs(direction))] = 1.0
    across = np.cross(direction, helper)
    across /= np.sqrt(np.sum(across * across))
    up = np.cross(direction, across)
    ray = np.empty((count, 3))
    for k in range(count):
        for axis in range(3):
            basis = across if axis == 0 else (up if axis == 1 else direction)
            ray[k, axis] = origins[k, 0] * basis[0] + origins[k, 1] * basis[1] + origins[k, 2] * basis[2]
    u_low, u_high = ray[:, 0].min(), ray[:, 0].max()
    w_low, w_high = ray[:, 1].min(), ray[:, 1].max()
    h_low = ray[:, 2].min()
    light = np.empty((vertices.shape[0], 3))
    for i in range(vertices.shape[0]):
        for axis in range(3):
            basis = across if axis == 0 else (up if axis == 1 else direction)
            light[i, axis] = vertices[i, 0] * basis[0] + vertices[i, 1] * basis[1] + vertices[i, 2] * basis[2]
    # corners (u, w, h) x 3 per triangle, contiguous; only triangles that may hide some origin
    corner = np.empty((faces.shape[0], 9))
    top = np.empty(faces.shape[0])
    kept = np.empty(faces.shape[0], np.int64)
    kept_count = 0
    for f in range(faces.shape[0]):
        high = max(light[faces[f, 0], 2], light[faces[f, 1], 2], light[faces[f, 2], 2])
        if high <= h_low:
            continue  # below every origin: no ray climbs to it
        if (max(light[faces[f, 0], 0], light[faces[f, 1], 0], light[faces[f, 2], 0]) < u_low
                or min(light[faces[f, 0], 0], light[faces[f, 1], 0], light[faces[f, 2], 0]) > u_high
                or max(light[faces[f, 0], 1], light[faces[f, 1], 1], light[faces[f, 2], 1]) < w_low
                or min(light[faces[f, 0], 1], light[faces[f, 1], 1], light[faces[f, 2], 1]) > w_high):
            continue  # its footprint misses every origin's
        for k in range(3):
            for axis in range(3):
                corner[kept_count, 3 * k + axis] = light[faces[f, k], axis]
        top[kept_count] = high
        kept[kept_count] = f
        kept_count += 1
    if kept_count == 0:
        return hit
    # 2. the grid: about two origins per cell, coarser while the binned entries would exceed
    #    MAX_BINNED; ranges holds each triangle's cells (first and last row, first and last column)
    side = max(1, min(1024, int(math.sqrt(count / 2.0))))
    ranges = np.empty((kept_count, 4), np.int64)
    while True:
        u_cell = max((u_high - u_low) / side, 1e-300)
        w_cell = max((w_high - w_low) / side, 1e-300)
        entries = 0
        for t in range(kept_count):
            c = corner[t]
            ranges[t, 0] = _cell(min(c[0], c[3], c[6]), u_low, u_cell, side)
            ranges[t, 1] = _cell(max(c[0], c[3], c[6]), u_low, u_cell, side)
            ranges[t, 2] = _cell(min(c[1], c[4], c[7]), w_low, w_cell, side)
            ranges[t, 3] = _cell(max(c[1], c[4], c[7]), w_low, w_cell, side)
            entries += (ranges[t, 1] - ranges[t, 0] + 1) * (ranges[t, 3] - ranges[t, 2] + 1)
        if entries <= MAX_BINNED or side == 1:
            break
        side = max(1, side // 2)
    # 3. bin the triangles (a counting sort by cell, triangles in index order within a cell)
    starts = np.zeros(side * side + 1, np.int64)
    for t in range(kept_count):
        for i in range(ranges[t, 0], ranges[t, 1] + 1):
            for j in range(ranges[t, 2], ranges[t, 3] + 1):
                starts[i * side + j + 1] += 1
    for cell in range(side * side):
        starts[cell + 1] += starts[cell]
    binned = np.empty(starts[side * side], np.int64)
    filled = starts[:-1].copy()
    for t in range(kept_count):
        for i in range(ranges[t, 0], ranges[t, 1] + 1):
            for j in range(ranges[t, 2], ranges[t, 3] + 1):
                binned[filled[i * side + j]] = t
                filled[i * side + j] += 1
    # 4. every ray tests its cell's triangles until one hides it
    for k in range(count):
        pu, pw, ph = ray[k, 0], ray[k, 1], ray[k, 2]
        cell = _cell(pu, u_low, u_cell, side) * side + _cell(pw, w_low, w_cell, side)
        for slot in range(starts[cell], starts[cell + 1]):
            t = binned[slot]
            if top[t] <= ph:
                continue
            c = corner[t]
            # corners relative to the origin's footprint; e_k weighs corner k
            au, aw = c[0] - pu, c[1] - pw
            bu, bw = c[3] - pu, c[4] - pw
            cu, cw = c[6] - pu, c[7] - pw
            e0 = bu * cw - bw * cu
            e1 = cu * aw - cw * au
            if (e0 < 0.0 and e1 > 0.0) or (e0 > 0.0 and e1 < 0.0):
                continue
            e2 = au * bw - aw * bu
            if not ((e0 >= 0.0 and e1 >= 0.0 and e2 >= 0.0) or (e0 <= 0.0 and e1 <= 0.0 and e2 <= 0.0)):
                continue
            total = e0 + e1 + e2
            if total == 0.0:
                continue  # the ray lies in the triangle's plane
            if (e0 * c[2] + e1 * c[5] + e2 * c[8]) / total > ph:
                hit[k] = True
                break
    return hit
