"""The exact ray casters of conditioning/raycast.py against a brute-force caster and analytic geometry.

The brute force is Moller-Trumbore in float64 over every (ray, triangle) pair, an independent
formula: where both agree on the triangle, depths and barycentrics agree to float64 rounding
(relative 1e-9 allows for the two formulas' different operation orders on coordinates of ~1-10 m).
"""

from __future__ import annotations

import numpy as np

from physreel.conditioning.raycast import cast_pixel_rays, occluded_along

WIDTH, HEIGHT = 48, 40
K = np.array([[40.0, 0.0, WIDTH / 2], [0.0, 40.0, HEIGHT / 2], [0.0, 0.0, 1.0]])


def _pixel_rays() -> tuple[np.ndarray, np.ndarray]:
    normalised_x = (np.arange(WIDTH) + 0.5 - K[0, 2]) / K[0, 0]
    normalised_y = (np.arange(HEIGHT) + 0.5 - K[1, 2]) / K[1, 1]
    return normalised_x, normalised_y


def _cast(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, ...]:
    normalised_x, normalised_y = _pixel_rays()
    size = WIDTH * HEIGHT
    face, depth, u, v = np.empty(size, np.int32), np.empty(size), np.empty(size), np.empty(size)
    cast_pixel_rays(np.asarray(vertices, np.float64), np.asarray(faces, np.int32), normalised_x, normalised_y,
                    K[0, 0], K[1, 1], K[0, 2], K[1, 2], face, depth, u, v)
    return face, depth, u, v


def _brute_force(origins: np.ndarray, directions: np.ndarray, vertices: np.ndarray, faces: np.ndarray):
    """(t [R, F] with inf for a miss, u [R, F], v [R, F]): Moller-Trumbore, both faces, t > 0."""
    corner0, corner1, corner2 = (vertices[faces[:, k]] for k in range(3))
    edge1, edge2 = corner1 - corner0, corner2 - corner0
    p = np.cross(directions[:, None, :], edge2[None])
    det = np.einsum("rfi,fi->rf", p, edge1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / det
        s = origins[:, None, :] - corner0[None]
        u = np.einsum("rfi,rfi->rf", s, p) * inverse
        q = np.cross(s, edge1[None])
        v = np.einsum("ri,rfi->rf", directions, q) * inverse
        t = np.einsum("rfi,fi->rf", q, edge2) * inverse
    hit = (det != 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    return np.where(hit, t, np.inf), u, v


def _random_soup(rng, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` random triangles 1.5-6 m in front of the camera, some crossing its plane."""
    centres = np.c_[rng.uniform(-2, 2, count), rng.uniform(-1.5, 1.5, count), rng.uniform(1.5, 6, count)]
    vertices = (centres[:, None, :] + rng.normal(scale=0.8, size=(count, 3, 3))).reshape(-1, 3)
    vertices[:3] = [[-3.0, 1.0, -1.0], [3.0, 1.0, -1.0], [0.0, 1.0, 8.0]]  # a floor strip from behind the camera
    return vertices, np.arange(3 * count).reshape(count, 3)


def test_pixel_rays_hit_the_nearest_triangle_a_brute_force_caster_finds():
    vertices, faces = _random_soup(np.random.default_rng(0), 60)
    face, depth, u, v = _cast(vertices, faces)
    normalised_x, normalised_y = _pixel_rays()
    directions = np.stack(np.broadcast_arrays(normalised_x[None, :], normalised_y[:, None], 1.0), axis=-1).reshape(-1, 3)
    t, bu, bv = _brute_force(np.zeros_like(directions), directions, vertices, faces)
    nearest = np.argmin(t, axis=1)
    best = t[np.arange(len(t)), nearest]
    hit = np.isfinite(best)
    assert 0.3 < hit.mean() < 0.99  # both hits and misses are exercised
    np.testing.assert_array_equal(face >= 0, hit)
    # the same triangle wherever the runner-up is not within rounding of the nearest
    second = np.sort(t, axis=1)[:, 1]
    clear = hit & (second > best * (1 + 1e-9))
    np.testing.assert_array_equal(face[clear], nearest[clear])
    np.testing.assert_allclose(depth[hit], best[hit], rtol=1e-9)  # the ray's z is 1: t is the planar depth
    rows = np.flatnonzero(clear)
    np.testing.assert_allclose(u[rows], bu[rows, nearest[rows]], atol=1e-9)
    np.testing.assert_allclose(v[rows], bv[rows, nearest[rows]], atol=1e-9)
    assert np.isinf(depth[~hit]).all() and (face[~hit] == -1).all()


def test_a_tessellated_wall_has_no_cracks_where_edges_pass_through_pixel_centres():
    # A wall at z = 2 m split into triangles whose vertices and diagonals lie exactly on pixel
    # centres: every pixel centre on a shared edge must still be hit (watertight test), at depth 2.
    normalised_x, normalised_y = _pixel_rays()
    columns, rows = normalised_x[::3] * 2.0, normalised_y[::3] * 2.0
    grid = np.stack(np.broadcast_arrays(columns[None, :], rows[:, None], 2.0), axis=-1).reshape(-1, 3)
    # the rim, so the wall reaches past the image's outer pixel centres
    grid[:, 0] = np.where(grid[:, 0] == columns.min(), -10.0, np.where(grid[:, 0] == columns.max(), 10.0, grid[:, 0]))
    grid[:, 1] = np.where(grid[:, 1] == rows.min(), -10.0, np.where(grid[:, 1] == rows.max(), 10.0, grid[:, 1]))
    n = len(columns)
    corner = (np.arange(len(rows) - 1)[:, None] * n + np.arange(n - 1)[None, :]).reshape(-1)
    faces = np.concatenate([np.c_[corner, corner + 1, corner + n + 1], np.c_[corner, corner + n + 1, corner + n]])
    face, depth, _, _ = _cast(grid, faces)
    assert (face >= 0).all()
    np.testing.assert_allclose(depth, 2.0, rtol=1e-12)


def test_both_faces_of_a_triangle_are_hit_at_the_same_depth():
    triangle = np.array([[-1.0, -1.0, 3.0], [1.0, -1.0, 3.5], [0.0, 1.0, 4.0]])
    front, depth_front, _, _ = _cast(triangle, np.array([[0, 1, 2]]))
    back, depth_back, _, _ = _cast(triangle, np.array([[0, 2, 1]]))
    np.testing.assert_array_equal(front, back)
    # the winding permutes the corners in the formula: equal up to float64 rounding
    np.testing.assert_allclose(depth_front, depth_back, rtol=1e-12)
    assert (front == 0).sum() > 100


def test_a_floor_reaching_behind_the_camera_has_its_analytic_depth_and_nothing_above_the_horizon():
    # The floor y = 1.2 m (y down: 1.2 m below the camera), two triangles from 5 m behind to 50 m ahead.
    floor = np.array([[-50.0, 1.2, -5.0], [50.0, 1.2, -5.0], [50.0, 1.2, 50.0], [-50.0, 1.2, 50.0]])
    face, depth, _, _ = _cast(floor, np.array([[0, 1, 2], [0, 2, 3]]))
    _, normalised_y = _pixel_rays()
    row_y = np.repeat(normalised_y, WIDTH)
    below = row_y > 1.2 / 50.0  # rays that reach y = 1.2 before z = 50
    assert (face[below] >= 0).all() and (face[row_y <= 0] == -1).all()
    np.testing.assert_allclose(depth[below], 1.2 / row_y[below], rtol=1e-12)  # planar depth z = h / y_n


def test_shadow_rays_hit_what_a_brute_force_caster_hits():
    rng = np.random.default_rng(1)
    vertices, faces = _random_soup(rng, 80)
    direction = np.array([0.3, -0.8, 0.5]) / np.linalg.norm([0.3, -0.8, 0.5])
    origins = rng.uniform((-4, -3, -1), (4, 3, 8), size=(3000, 3))
    got = occluded_along(vertices, faces, origins, direction)
    t, _, _ = _brute_force(origins, np.broadcast_to(direction, origins.shape), vertices, faces)
    want = np.isfinite(t).any(axis=1)
    assert 0.1 < want.mean() < 0.9
    # Rays grazing an edge may go either way within rounding: allow that many (none expected).
    assert (got != want).sum() <= 2


def test_shadow_rays_ignore_triangles_behind_their_origins():
    plate = np.array([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
    up = np.array([0.0, 0.0, 1.0])
    origins = np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0], [5.0, 0.0, -1.0]])  # below, above, beside
    np.testing.assert_array_equal(occluded_along(plate, np.array([[0, 1, 2]]), origins, up), [True, False, False])
