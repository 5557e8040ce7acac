"""Passes against analytic geometry: depth, flow (object motion, pan, dolly), flow_valid, seg, normals.

Tolerances: the ray caster (conditioning/raycast.py) works in float64 and everything after it is
float64 rigid motion, stored as float32 (relative error ~6e-8). So depths agree to ~1e-6 relative
and flows to ~1e-4 px; the tests allow 1e-4 relative and 2e-3 px, as they did for the float32
caster this replaced.
"""

from __future__ import annotations

import numpy as np
import pytest
import shots
import trimesh
from scipy.ndimage import binary_erosion

from physreel.conditioning.layers import SurfaceLayer, composite
from physreel.conditioning.render import frame_view, geometry_sources, render_frame, render_passes
from physreel.conditioning.visibility import flow_visibility
from physreel.sim.camera import intrinsics, look_at_matrix

FLOW_TOL_PX = 2e-3
DEPTH_REL_TOL = 1e-4


def pixel_grid(height, width):
    xs, ys = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    return np.stack([xs, ys], axis=-1)


def test_depth_of_tilted_plane_matches_closed_form_per_pixel():
    # A 100 x 100 m quad through (0, 3, 0) with normal n tilted 30 degrees from -Y towards +X.
    angle = np.radians(30.0)
    normal = np.array([np.sin(angle), -np.cos(angle), 0.0])
    quad = trimesh.Trimesh(vertices=[[-50, 0, -50], [50, 0, -50], [50, 0, 50], [-50, 0, 50]], faces=[[0, 2, 1], [0, 3, 2]])
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    quad.vertices = quad.vertices @ rotation.T
    centre = np.array([0.0, 3.0, 0.0])
    shot = shots.shot([shots.part("wall", 1, quad)], [[centre]] * 2, width=80, height=60, camera_position=(0, -5, 0))
    passes = render_passes(shot, passes=["depth", "normal"])
    # Closed form: the ray o + s d (camera-z of d = 1) meets n.(x - c) = 0 at s = n.(c - o) / n.d; s is the planar depth.
    world_to_camera = shot.camera.world_to_camera[0]
    K = shot.camera.K
    origin = -world_to_camera[:3, :3].T @ world_to_camera[:3, 3]
    grid = pixel_grid(60, 80)
    camera_dirs = np.concatenate([(grid - K[:2, 2]) / np.diag(K)[:2], np.ones((60, 80, 1))], axis=-1)
    dirs = camera_dirs @ world_to_camera[:3, :3]
    expected = (normal @ (centre - origin)) / (dirs @ normal)
    np.testing.assert_allclose(passes.depth[0], expected, rtol=DEPTH_REL_TOL)
    # The normal faces the camera: n_world = -normal here (normal points away from the camera).
    camera_normal = world_to_camera[:3, :3] @ normal
    np.testing.assert_allclose(passes.normal[0].reshape(-1, 3), np.tile(camera_normal, (4800, 1)), atol=1e-5)


def test_flow_of_translating_cube_is_projected_displacement():
    cube = shots.part("cube", 1, shots.box((1.0, 1.0, 1.0)))
    positions = np.array([[[0.0, 0.0, 0.0]], [[0.3, 0.0, 0.1]], [[0.5, 0.0, 0.3]]])
    shot = shots.shot([cube], positions, width=128, height=96)
    passes = render_passes(shot, passes=["depth", "seg", "flow_fwd", "flow_bwd"])
    K, world_to_camera = shot.camera.K, shot.camera.world_to_camera[0]
    grid = pixel_grid(96, 128)
    for frame in range(2):
        on_cube = passes.seg[frame] == 1
        assert on_cube.sum() > 250
        # Back-project each cube pixel to its 3-D point, move it by the displacement, project again.
        camera_points = np.concatenate([(grid - K[:2, 2]) / np.diag(K)[:2], np.ones((96, 128, 1))], axis=-1) * passes.depth[frame][..., None]
        with np.errstate(invalid="ignore"):
            world = (camera_points - world_to_camera[:3, 3]) @ world_to_camera[:3, :3]
        moved = world + (positions[frame + 1, 0] - positions[frame, 0])
        camera_moved = moved @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
        projected = camera_moved[..., :2] / camera_moved[..., 2:] * np.diag(K)[:2] + K[:2, 2]
        np.testing.assert_allclose(passes.flow_fwd[frame][on_cube], (projected - grid)[on_cube], atol=FLOW_TOL_PX)
    # On the front face (depth 4.5 m, parallel to the image) the flow is the constant f dx / z, -f dz / z.
    front = (passes.seg[0] == 1) & (np.abs(passes.depth[0] - 4.5) < 1e-4)
    focal = K[0, 0]
    flow_front = passes.flow_fwd[0][front]
    np.testing.assert_allclose(flow_front[:, 0], focal * 0.3 / 4.5, atol=FLOW_TOL_PX)
    np.testing.assert_allclose(flow_front[:, 1], -focal * 0.1 / 4.5, atol=FLOW_TOL_PX)
    # Backward flow at frame 1 undoes the first step on the face; frame 0 has none.
    front1 = (passes.seg[1] == 1) & (np.abs(passes.depth[1] - 4.5) < 1e-4)
    np.testing.assert_allclose(passes.flow_bwd[1][front1], np.tile([-focal * 0.3 / 4.5, focal * 0.1 / 4.5], (front1.sum(), 1)), atol=FLOW_TOL_PX)
    assert not passes.flow_bwd[0].any()


def _static_scene_parts():
    return [shots.part("floor", 1, shots.box((8.0, 8.0, 0.2))), shots.part("block", 2, shots.box((1.0, 1.0, 2.0)))]


def test_camera_pan_flow_is_rotation_homography_everywhere():
    # Camera at a fixed point turning left about world Z by 3 degrees per frame.
    rows, width, height, fov = 3, 80, 60, 60.0
    yaws = np.radians([0.0, 3.0, 6.0])
    position = np.array([0.0, -6.0, 1.5])
    matrices = [look_at_matrix(position, position + [np.sin(-y), np.cos(-y), -0.25], np.array([0.0, 0.0, 1.0])) for y in yaws]
    track = shots.track_from_matrices(matrices, width, height, fov)
    shot = shots.shot(_static_scene_parts(), [[[0, 0, -0.1], [0, 0, 1.0]]] * rows, camera=track)
    passes = render_passes(shot, passes=["seg", "flow_fwd"])
    K = track.K
    for frame in range(rows - 1):
        relative = track.world_to_camera[frame + 1, :3, :3] @ track.world_to_camera[frame, :3, :3].T
        homography = K @ relative @ np.linalg.inv(K)
        grid = pixel_grid(height, width)
        mapped = np.concatenate([grid, np.ones((height, width, 1))], axis=-1) @ homography.T
        expected = mapped[..., :2] / mapped[..., 2:] - grid
        assert (passes.seg[frame] > 0).mean() > 0.2 and (passes.seg[frame] == 0).mean() > 0.1  # surfaces and sky
        np.testing.assert_allclose(passes.flow_fwd[frame], expected, atol=FLOW_TOL_PX)


def test_dolly_flow_scales_offsets_from_the_principal_point_by_depth_ratio():
    # Camera moves 0.5 m along its optical axis (+Y) per frame: a point at depth z moves from
    # c + (p - c) to c + (p - c) z / (z - 0.5).
    rows, step = 3, 0.5
    matrices = [look_at_matrix(np.array([0.0, -6.0 + step * i, 1.0]), np.array([0.0, 10.0, 1.0]), np.array([0.0, 0.0, 1.0]))
                for i in range(rows)]
    track = shots.track_from_matrices(matrices, 64, 64, 50.0)
    shot = shots.shot(_static_scene_parts(), [[[0, 0, -0.1], [0, 0, 1.0]]] * rows, camera=track)
    passes = render_passes(shot, passes=["depth", "seg", "flow_fwd"])
    grid = pixel_grid(64, 64)
    offset = grid - track.K[:2, 2]
    depth = passes.depth[0].astype(np.float64)
    surface = np.isfinite(depth)
    with np.errstate(invalid="ignore"):
        expected = offset * (depth / (depth - step) - 1.0)[..., None]
    np.testing.assert_allclose(passes.flow_fwd[0][surface], expected[surface], atol=FLOW_TOL_PX)
    # The sky (points at infinity) does not move under a pure translation.
    np.testing.assert_allclose(passes.flow_fwd[0][~surface], 0.0, atol=1e-9)


def _bilinear(field, points):
    """Sample field [H, W, C] at pixel coordinates points [K, 2] (pixel centres at +0.5)."""
    x = points[:, 0] - 0.5
    y = points[:, 1] - 0.5
    x0 = np.floor(x).astype(int)
    y0 = np.floor(y).astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    return (field[y0, x0] * (1 - fx) * (1 - fy) + field[y0, x0 + 1] * fx * (1 - fy)
            + field[y0 + 1, x0] * (1 - fx) * fy + field[y0 + 1, x0 + 1] * fx * fy)


def test_forward_backward_flow_returns_to_start_within_a_hundredth_of_a_pixel():
    # A box spinning and translating, seen by an orbiting camera.
    width, height = 96, 72
    angles = np.radians([0.0, 4.0, 8.0])
    orientation = np.stack([np.zeros(3), np.zeros(3), np.sin(angles / 2), np.cos(angles / 2)], axis=1)[:, None]
    positions = np.array([[[0.0, 0.0, 0.0]], [[0.05, 0.02, 0.0]], [[0.1, 0.05, 0.01]]])
    matrices = [look_at_matrix(np.array([4.0 * np.cos(a), 4.0 * np.sin(a), 1.5]), np.zeros(3), np.array([0.0, 0.0, 1.0]))
                for a in np.radians([-90.0, -87.0, -84.0])]
    track = shots.track_from_matrices(matrices, width, height, 50.0)
    shot = shots.shot([shots.part("box", 1, shots.box((1.2, 0.8, 1.0)))], positions, orientation, camera=track)
    passes = render_passes(shot, passes=["seg", "normal", "flow_fwd", "flow_bwd", "flow_valid"])
    seg, normal, flow_fwd, flow_bwd = passes.seg, passes.normal, passes.flow_fwd, passes.flow_bwd
    on_box = passes.flow_valid[0] & (seg[0] == 1)
    # Points along the box's outline land on the background in frame 1: not every box pixel is valid.
    assert 0 < on_box.sum() < (seg[0] == 1).sum()
    landing = pixel_grid(height, width)[on_box] + flow_fwd[0][on_box]
    # flow_valid: the landing is inside frame 1 and its nearest pixel shows the box.
    column, row = np.floor(landing[:, 0]).astype(int), np.floor(landing[:, 1]).astype(int)
    assert ((column >= 0) & (column < width) & (row >= 0) & (row < height)).all()
    assert (seg[1][row, column] == 1).all()
    # Keep landings whose four neighbouring pixel centres are on the same face of the box as the
    # landing (bilinear interpolation across a box edge would mix two faces' flows).
    x0 = np.floor(landing[:, 0] - 0.5).astype(int)
    y0 = np.floor(landing[:, 1] - 0.5).astype(int)
    inside = (x0 >= 0) & (y0 >= 0) & (x0 + 1 < width) & (y0 + 1 < height)
    landing, x0, y0 = landing[inside], x0[inside], y0[inside]
    ok = np.ones(len(landing), bool)
    face_normal = normal[1][y0, x0]
    for dy in (0, 1):
        for dx in (0, 1):
            same_face = np.abs(normal[1][y0 + dy, x0 + dx] - face_normal).max(axis=1) < 1e-3
            ok &= (seg[1][y0 + dy, x0 + dx] == 1) & same_face
    assert ok.sum() > 300
    # Every kept point flows back to where it started, within a hundredth of a pixel.
    round_trip = flow_fwd[0][on_box][inside][ok] + _bilinear(flow_bwd[1], landing[ok])
    assert np.abs(round_trip).max() < 0.01


def test_flow_valid_is_false_exactly_where_a_part_becomes_hidden():
    # A static wall behind, a small box sliding in front of it from left to right.
    wall = shots.part("wall", 1, shots.box((6.0, 0.2, 4.0)))
    slider = shots.part("slider", 2, shots.box((0.8, 0.8, 0.8)))
    positions = np.array([[[0, 2.0, 0], [-1.0, 0.0, 0.0]], [[0, 2.0, 0], [-0.6, 0.0, 0.0]], [[0, 2.0, 0], [-0.2, 0.0, 0.0]],
                          [[0, 2.0, 0], [0.2, 0.0, 0.0]]])
    shot = shots.shot([wall, slider], positions, width=96, height=64)
    passes = render_passes(shot, passes=["seg", "flow_fwd", "flow_valid"])
    for frame in range(2):
        on_wall = passes.seg[frame] == 1
        # The wall and camera are still: a wall pixel stays visible exactly where frame t+1 still shows the wall there.
        expected = passes.seg[frame + 1] == 1
        np.testing.assert_array_equal(passes.flow_valid[frame][on_wall], expected[on_wall])
        newly_hidden = on_wall & (passes.seg[frame + 1] == 2)
        assert newly_hidden.sum() > 20
        # The slider stays in view: valid on its interior (at its silhouette the nearest pixel may show the wall).
        on_slider = binary_erosion(passes.seg[frame] == 2, np.ones((3, 3), bool))
        assert on_slider.sum() > 50 and passes.flow_valid[frame][on_slider].all()


def test_flow_valid_is_false_when_the_point_leaves_the_image():
    box = shots.part("box", 1, shots.box((1.0, 1.0, 1.0)))
    positions = np.array([[[2.4, 0.0, 0.0]], [[3.4, 0.0, 0.0]]])
    shot = shots.shot([box], positions, width=64, height=48)
    passes = render_passes(shot, passes=["seg", "flow_fwd", "flow_valid"])
    on_box = passes.seg[0] == 1
    landing_x = pixel_grid(48, 64)[..., 0] + passes.flow_fwd[0][..., 0]
    leaves = on_box & (landing_x >= 64)
    assert leaves.sum() > 10
    assert not passes.flow_valid[0][leaves].any()


def test_seg_ids_and_sky_and_infinite_depth():
    parts = [shots.part("a", 3, shots.box((1.0, 1.0, 1.0))), shots.part("b", 7, shots.box((1.0, 1.0, 1.0)))]
    shot = shots.shot(parts, [[[-1.0, 0, 0], [1.0, 0, 0]]] * 2, width=64, height=48)
    passes = render_passes(shot, passes=["depth", "seg"])
    assert set(np.unique(passes.seg)) == {0, 3, 7}
    assert np.isinf(passes.depth[passes.seg == 0]).all()
    assert np.isfinite(passes.depth[passes.seg > 0]).all()
    # Part a is left of part b in the image (world +X is image right).
    columns_a = np.nonzero(passes.seg[0] == 3)[1]
    columns_b = np.nonzero(passes.seg[0] == 7)[1]
    assert columns_a.max() < columns_b.min()
    assert [e.seg_id for e in passes.id_table] == [3, 7]


def test_resolution_override_scales_intrinsics_and_keeps_the_view():
    parts = [shots.part("a", 1, shots.box((1.0, 1.0, 1.0)))]
    shot = shots.shot(parts, [[[0.0, 0, 0]]] * 2, width=64, height=48)
    small = render_passes(shot, passes=["depth"])
    large = render_passes(shot, passes=["depth"], resolution=(128, 96))
    assert large.depth.shape == (1, 96, 128)
    np.testing.assert_allclose(large.K[:2, :2], small.K[:2, :2] * 2)
    assert large.size == (128, 96)
    assert (np.isfinite(large.depth[0]).mean()) == pytest.approx(np.isfinite(small.depth[0]).mean(), abs=0.02)


def test_unknown_pass_and_bad_resolution_are_clear_errors():
    shot = shots.shot([shots.part("a", 1, shots.box((1.0, 1.0, 1.0)))], [[[0.0, 0, 0]]] * 2)
    with pytest.raises(ValueError, match="unknown pass 'dpeth'; choose from depth"):
        render_passes(shot, passes=["dpeth"])
    with pytest.raises(ValueError, match="no pass asked for"):
        render_passes(shot, passes=[])
    with pytest.raises(ValueError, match="resolution must be positive"):
        render_passes(shot, passes=["depth"], resolution=(0, 10))


def test_requested_passes_only():
    shot = shots.shot([shots.part("a", 1, shots.box((1.0, 1.0, 1.0)))], [[[0.0, 0, 0]]] * 3)
    passes = render_passes(shot, passes=["depth", "flow_valid"])
    assert passes.depth is not None and passes.flow_valid is not None
    assert passes.seg is None and passes.flow_fwd is None and passes.rgb is None and passes.pose is None
    assert passes.depth.shape == (2, 48, 64) and passes.flow_valid.shape == (2, 48, 64)


def test_composite_keeps_the_nearest_layer_per_pixel():
    near, far = SurfaceLayer.empty(2, 2), SurfaceLayer.empty(2, 2)
    near.depth[:] = [[1.0, 5.0], [np.inf, 2.0]]
    near.seg[:] = [[1, 1], [0, 1]]
    far.depth[:] = [[3.0, 3.0], [3.0, np.inf]]
    far.seg[:] = 2
    far.flow_fwd[:] = 9.0
    result = composite([near, far])
    np.testing.assert_array_equal(result.depth, [[1.0, 3.0], [3.0, 2.0]])
    np.testing.assert_array_equal(result.seg, [[1, 2], [2, 1]])
    np.testing.assert_array_equal(result.flow_fwd[..., 0], [[0, 9], [9, 0]])


def test_a_shot_with_nothing_in_view_is_all_sky_with_rotation_flow():
    rows, width, height = 2, 48, 36
    matrices = [look_at_matrix(np.zeros(3), np.array([np.sin(a), np.cos(a), 0.3]), np.array([0.0, 0.0, 1.0]))
                for a in np.radians([0.0, 2.0])]
    track = shots.track_from_matrices(matrices, width, height, 60.0)
    shot = shots.shot([shots.part("far", 1, shots.box((1.0, 1.0, 1.0)))], [[[0.0, -50.0, 0.0]]] * rows, camera=track)
    passes = render_passes(shot, passes=["depth", "seg", "flow_fwd", "flow_valid", "rgb"])
    assert np.isinf(passes.depth).all() and (passes.seg == 0).all()
    relative = track.world_to_camera[1, :3, :3] @ track.world_to_camera[0, :3, :3].T
    homography = track.K @ relative @ np.linalg.inv(track.K)
    grid = pixel_grid(height, width)
    mapped = np.concatenate([grid, np.ones((height, width, 1))], axis=-1) @ homography.T
    np.testing.assert_allclose(passes.flow_fwd[0], mapped[..., :2] / mapped[..., 2:] - grid, atol=FLOW_TOL_PX)
    landing = grid + passes.flow_fwd[0]
    inside = (landing[..., 0] >= 0) & (landing[..., 0] < width) & (landing[..., 1] >= 0) & (landing[..., 1] < height)
    assert 0.5 < inside.mean() < 1.0
    np.testing.assert_array_equal(passes.flow_valid[0], inside)  # the sky stays visible wherever it lands inside


def test_still_parts_under_a_still_camera_have_exactly_zero_flow():
    parts = [shots.part("floor", 1, shots.box((8.0, 8.0, 0.2))), shots.part("mover", 2, shots.box((0.6, 0.6, 0.6)))]
    positions = np.array([[[0, 0, -0.1], [0, 0, 0.3]], [[0, 0, -0.1], [0.2, 0, 0.3]]])
    passes = render_passes(shots.shot(parts, positions), passes=["seg", "flow_fwd"])
    assert (passes.flow_fwd[0][passes.seg[0] != 2] == 0).all()
    assert np.abs(passes.flow_fwd[0][passes.seg[0] == 2]).max() > 0.5


def test_shadow_rays_darken_the_floor_under_a_box():
    floor = shots.part("floor", 1, shots.box((8.0, 8.0, 0.2)))
    block = shots.part("block", 2, shots.box((0.6, 0.6, 0.6)))
    shot = shots.shot([floor, block], [[[0, 0, -0.1], [0, 0, 1.0]]] * 2, width=96, height=72, camera_position=(0.0, -4.0, 3.0))
    lit = render_passes(shot, passes=["rgb", "seg"], shadows=False)
    shaded = render_passes(shot, passes=["rgb"], shadows=True)
    on_floor = lit.seg[0] == 1
    darker = shaded.rgb[0].astype(int).sum(-1) < lit.rgb[0].astype(int).sum(-1)
    assert darker[on_floor].sum() > 30  # the block's shadow falls on the floor
    assert not darker[~on_floor].any()  # nothing else changes (the sky and the block's lit faces)


class _NearSquare:
    """A test geometry source: a camera-facing square 2 m from the camera, covering a fixed pixel window from frame 1 on."""

    def layer(self, view, into=None):
        if view.frame < 1:
            return None
        layer = into if into is not None else SurfaceLayer.empty(view.height, view.width)
        window = (slice(10, 20), slice(10, 20))
        layer.depth[window] = 2.0
        layer.seg[window] = 99
        layer.normal[window] = (0.0, 0.0, -1.0)
        layer.depth_fwd[window] = 2.0
        layer.depth_bwd[window] = 2.0
        return layer


def test_a_new_geometry_source_composites_by_depth_and_hides_what_is_behind_it():
    wall = shots.part("wall", 1, shots.box((6.0, 0.2, 4.0)))
    shot = shots.shot([wall], [[[0.0, 2.0, 0.0]]] * 3, width=48, height=36)
    sources = geometry_sources(shot) + [_NearSquare()]
    views = [frame_view(shot, frame, 48, 36, shot.camera.K, True) for frame in range(2)]
    frames = [render_frame(sources, view) for view in views]
    assert (frames[0].seg[10:20, 10:20] == 1).all()  # frame 0: the wall
    assert (frames[1].seg[10:20, 10:20] == 99).all() and (frames[1].depth[10:20, 10:20] == 2.0).all()
    valid = flow_visibility(frames[0].flow_fwd, frames[0].depth_fwd, frames[0].seg, frames[1].depth, frames[1].seg)
    hidden = np.zeros(valid.shape, bool)
    hidden[10:20, 10:20] = True
    np.testing.assert_array_equal(valid[frames[0].seg == 1], ~hidden[frames[0].seg == 1])
