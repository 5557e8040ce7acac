"""Exact ray casting against triangles, in compiled loops (numba) and float64, without a BVH.

The rays of both queries are coherent, so binning finds each triangle's candidate rays directly:
- `cast_pixel_rays`: the nearest triangle on the ray through every pixel centre of a pinhole
  camera. Each triangle is projected into the image and only the pixel centres inside its
  projected bounding box are tested, as a rasteriser scans, but with the exact ray-triangle test.
- `occluded_along`: whether rays from many origins along one shared direction (the shadow rays
  towards the sun) hit any triangle. The origins are binned on a grid across the direction; each
  triangle tests the origins in the cells its own footprint covers.

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
def _extend(bounds: np.ndarray, x: float, y: float, z: float, fx: float, fy: float, cx: float, cy: float) -> None:
    px = fx * x / z + cx
    py = fy * y / z + cy
    bounds[0] = min(bounds[0], px)
    bounds[1] = max(bounds[1], px)
    bounds[2] = min(bounds[2], py)
    bounds[3] = max(bounds[3], py)


@njit(cache=True)
def _projected_bounds(corners: np.ndarray, fx: float, fy: float, cx: float, cy: float, bounds: np.ndarray) -> bool:
    """bounds [4] <- (x min, x max, y min, y max) in pixels of the triangle corners [3, 3] (camera
    axes) clipped to z >= NEAR_M; False when no part of it lies in front of the camera."""
    bounds[0] = np.inf
    bounds[1] = -np.inf
    bounds[2] = np.inf
    bounds[3] = -np.inf
    seen = False
    for k in range(3):
        x, y, z = corners[k, 0], corners[k, 1], corners[k, 2]
        if z > NEAR_M:
            _extend(bounds, x, y, z, fx, fy, cx, cy)
            seen = True
        nx, ny, nz = corners[(k + 1) % 3, 0], corners[(k + 1) % 3, 1], corners[(k + 1) % 3, 2]
        if (z > NEAR_M) != (nz > NEAR_M):  # the edge crosses the near plane: add the crossing point
            t = (NEAR_M - z) / (nz - z)
            _extend(bounds, x + t * (nx - x), y + t * (ny - y), NEAR_M, fx, fy, cx, cy)
    return seen


@njit(cache=True)
def _pixel_range(low: float, high: float, count: int) -> tuple[int, int]:
    """First and last pixel index whose centre (index + 0.5) may lie in [low, high], one pixel of
    margin for the rounding of the projection, clamped to the image (empty: first > last)."""
    first = max(low - 1.5, -1.0)  # clamp in floats first: bounds may be huge or infinite
    last = min(high + 0.5, float(count))
    if not first <= last:  # also catches NaN
        return 0, -1
    return max(int(math.floor(first)), 0), min(int(math.ceil(last)), count - 1)


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
    corners = np.empty((3, 3))
    bounds = np.empty(4)
    for f in range(faces.shape[0]):
        for k in range(3):
            for axis in range(3):
                corners[k, axis] = vertices[faces[f, k], axis]
        # 1. the pixels whose centres may see the triangle
        if not _projected_bounds(corners, fx, fy, cx, cy, bounds):
            continue
        col0, col1 = _pixel_range(bounds[0], bounds[1], width)
        row0, row1 = _pixel_range(bounds[2], bounds[3], height)
        if col0 > col1 or row0 > row1:
            continue
        # 2. edge normals n0 = c1 x c2, n1 = c2 x c0, n2 = c0 x c1 (e_k = d . n_k weighs corner k)
        ax, ay, az = corners[0, 0], corners[0, 1], corners[0, 2]
        bx, by, bz = corners[1, 0], corners[1, 1], corners[1, 2]
        qx, qy, qz = corners[2, 0], corners[2, 1], corners[2, 2]
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


@njit(cache=True)
def occluded_along(vertices: np.ndarray, faces: np.ndarray, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """bool [K]: the ray origins[k] + s direction, s > 0, hits a triangle.

    vertices float64 [V, 3], faces int [F, 3], origins float64 [K, 3], direction float64 [3] (unit),
    all in one frame of axes (the world's). In light axes (u, w across the direction, h along it) a
    ray keeps its origin's (u, w) and climbs in h: it hits a triangle when (u, w) lies in the
    triangle's footprint and the triangle's h there is above the origin's.
    """
    count = origins.shape[0]
    hit = np.zeros(count, np.bool_)
    if count == 0 or faces.shape[0] == 0:
        return hit
    # 1. light axes and every point's light coordinates
    helper = np.zeros(3)
    helper[np.argmin(np.abs(direction))] = 1.0
    across = np.cross(direction, helper)
    across /= np.sqrt(np.sum(across * across))
    up = np.cross(direction, across)
    light = np.empty((vertices.shape[0], 3))
    for i in range(vertices.shape[0]):
        light[i, 0] = vertices[i, 0] * across[0] + vertices[i, 1] * across[1] + vertices[i, 2] * across[2]
        light[i, 1] = vertices[i, 0] * up[0] + vertices[i, 1] * up[1] + vertices[i, 2] * up[2]
        light[i, 2] = vertices[i, 0] * direction[0] + vertices[i, 1] * direction[1] + vertices[i, 2] * direction[2]
    ray = np.empty((count, 3))
    for k in range(count):
        ray[k, 0] = origins[k, 0] * across[0] + origins[k, 1] * across[1] + origins[k, 2] * across[2]
        ray[k, 1] = origins[k, 0] * up[0] + origins[k, 1] * up[1] + origins[k, 2] * up[2]
        ray[k, 2] = origins[k, 0] * direction[0] + origins[k, 1] * direction[1] + origins[k, 2] * direction[2]
    # 2. bin the origins on a grid over their footprint, about two per cell (a counting sort)
    u_low, u_high = ray[:, 0].min(), ray[:, 0].max()
    w_low, w_high = ray[:, 1].min(), ray[:, 1].max()
    h_low = ray[:, 2].min()
    side = max(1, min(1024, int(math.sqrt(count / 2.0))))
    u_cell = max((u_high - u_low) / side, 1e-300)
    w_cell = max((w_high - w_low) / side, 1e-300)
    cell_of = np.empty(count, np.int64)
    starts = np.zeros(side * side + 1, np.int64)
    for k in range(count):
        cell_of[k] = _cell(ray[k, 0], u_low, u_cell, side) * side + _cell(ray[k, 1], w_low, w_cell, side)
        starts[cell_of[k] + 1] += 1
    for c in range(side * side):
        starts[c + 1] += starts[c]
    order = np.empty(count, np.int64)
    filled = starts[:-1].copy()
    for k in range(count):
        order[filled[cell_of[k]]] = k
        filled[cell_of[k]] += 1
    # 3. every triangle tests the origins in the cells its footprint overlaps
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        top = max(light[a, 2], light[b, 2], light[c, 2])
        if top <= h_low:
            continue  # below every origin: no ray climbs to it
        tri_u_low = min(light[a, 0], light[b, 0], light[c, 0])
        tri_u_high = max(light[a, 0], light[b, 0], light[c, 0])
        tri_w_low = min(light[a, 1], light[b, 1], light[c, 1])
        tri_w_high = max(light[a, 1], light[b, 1], light[c, 1])
        if tri_u_high < u_low or tri_u_low > u_high or tri_w_high < w_low or tri_w_low > w_high:
            continue
        i0, i1 = _cell(tri_u_low, u_low, u_cell, side), _cell(tri_u_high, u_low, u_cell, side)
        j0, j1 = _cell(tri_w_low, w_low, w_cell, side), _cell(tri_w_high, w_low, w_cell, side)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                cell = i * side + j
                for slot in range(starts[cell], starts[cell + 1]):
                    k = order[slot]
                    if hit[k] or ray[k, 2] >= top:
                        continue
                    pu, pw = ray[k, 0], ray[k, 1]
                    # corners relative to the origin's footprint; e_k weighs corner k
                    au, aw = light[a, 0] - pu, light[a, 1] - pw
                    bu, bw = light[b, 0] - pu, light[b, 1] - pw
                    cu, cw = light[c, 0] - pu, light[c, 1] - pw
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
                    height = (e0 * light[a, 2] + e1 * light[b, 2] + e2 * light[c, 2]) / total
                    if height > ray[k, 2]:
                        hit[k] = True
    return hit
