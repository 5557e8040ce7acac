"""sim.camera: intrinsics, look-at extrinsics in OpenCV axes, camera paths, projection."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from physreel.sim.camera import camera_track, intrinsics, look_at_matrix, pixel_rays, project
from physreel.sim.spec.errors import SpecError
from physreel.sim.spec.model import CameraKeyframe, CameraSpec, DollyPath, FollowPath, OrbitPath

# Pure float64 arithmetic: 1e-9 px / 1e-9 m leaves room only for rounding.
TOL = 1e-9


def fixed_camera(**kwargs) -> CameraSpec:
    base = dict(resolution=(640, 480), fov_deg=60.0, position=(0.0, -5.0, 0.0), look_at=(0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0))
    base.update(kwargs)
    return CameraSpec(**base)


def test_intrinsics_use_vertical_fov_and_centre_principal_point():
    K = intrinsics(640, 480, 60.0)
    focal = 240.0 / np.tan(np.radians(30.0))
    np.testing.assert_allclose(K, [[focal, 0, 320], [0, focal, 240], [0, 0, 1]], atol=TOL)


def test_point_on_optical_axis_projects_to_image_centre():
    track = camera_track(fixed_camera(), np.array([0.0]))
    pixels, depth = project(np.array([0.0, 3.0, 0.0]), track.world_to_camera[0], track.K)
    np.testing.assert_allclose(pixels, [320.0, 240.0], atol=TOL)
    assert depth == pytest.approx(8.0, abs=TOL)


def test_point_at_known_offset_projects_to_analytic_pixel():
    track = camera_track(fixed_camera(), np.array([0.0]))
    focal = track.K[0, 0]
    # 0.5 m right (+X world) and 0.25 m up (+Z world), 5 m in front of the camera.
    pixels, depth = project(np.array([0.5, 0.0, 0.25]), track.world_to_camera[0], track.K)
    np.testing.assert_allclose(pixels, [320 + focal * 0.5 / 5, 240 - focal * 0.25 / 5], atol=TOL)
    assert depth == pytest.approx(5.0, abs=TOL)


def test_opencv_axes_world_up_maps_to_image_up_and_world_right_to_image_right():
    track = camera_track(fixed_camera(), np.array([0.0]))
    rotation = track.world_to_camera[0, :3, :3]
    np.testing.assert_allclose(rotation @ [0, 0, 1], [0, -1, 0], atol=TOL)  # world up -> camera -Y (image up)
    np.testing.assert_allclose(rotation @ [1, 0, 0], [1, 0, 0], atol=TOL)  # world +X -> image right
    np.testing.assert_allclose(rotation @ [0, 1, 0], [0, 0, 1], atol=TOL)  # view direction -> camera +Z
    assert np.linalg.det(rotation) == pytest.approx(1.0, abs=TOL)


def test_projection_matches_cv2_project_points():
    rng = np.random.default_rng(0)
    track = camera_track(fixed_camera(position=(2.0, -4.0, 1.5), look_at=(0.3, 0.2, 0.4)), np.array([0.0]))
    points = rng.uniform(-1, 1, size=(50, 3))
    ours, _ = project(points, track.world_to_camera[0], track.K)
    rvec, _ = cv2.Rodrigues(track.world_to_camera[0, :3, :3])
    theirs, _ = cv2.projectPoints(points, rvec, track.world_to_camera[0, :3, 3], track.K, None)
    np.testing.assert_allclose(ours, theirs[:, 0, :], atol=1e-6)  # cv2 goes through float32 internally


def test_pixel_rays_pass_through_pixel_centres_with_unit_planar_depth():
    track = camera_track(fixed_camera(position=(1.0, -3.0, 2.0), look_at=(0.0, 0.0, 0.5)), np.array([0.0]))
    origin, directions = pixel_rays(track, 0)
    points = origin + 2.5 * directions[[0, 100, 479], [0, 200, 639]]
    pixels, depth = project(points, track.world_to_camera[0], track.K)
    np.testing.assert_allclose(pixels, [[0.5, 0.5], [200.5, 100.5], [639.5, 479.5]], atol=1e-9)
    np.testing.assert_allclose(depth, 2.5, atol=1e-12)


def test_orbit_keeps_radius_and_height_and_sweeps_azimuth():
    camera = CameraSpec(orbit=OrbitPath(center=(1.0, 2.0, 0.5), radius=3.0, height=1.2, start_deg=-90.0, end_deg=90.0))
    t = np.linspace(0.0, 2.0, 9)
    track = camera_track(camera, t)
    rotation = track.world_to_camera[:, :3, :3]
    positions = -np.einsum("tji,tj->ti", rotation, track.world_to_camera[:, :3, 3])
    offset = positions - np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(np.hypot(offset[:, 0], offset[:, 1]), 3.0, atol=TOL)
    np.testing.assert_allclose(offset[:, 2], 1.2, atol=TOL)
    azimuth = np.degrees(np.arctan2(offset[:, 1], offset[:, 0]))
    np.testing.assert_allclose(azimuth, np.linspace(-90, 90, 9), atol=1e-7)
    # It looks at the centre: the centre projects to the principal point.
    for frame in range(len(t)):
        pixel, _ = project(np.array([1.0, 2.0, 0.5]), track.world_to_camera[frame], track.K)
        np.testing.assert_allclose(pixel, track.K[:2, 2], atol=1e-7)


def _camera_positions(track):
    rotation = track.world_to_camera[:, :3, :3]
    return -np.einsum("tji,tj->ti", rotation, track.world_to_camera[:, :3, 3])


@pytest.mark.parametrize("interpolation", ["linear", "smooth"])
def test_keyframe_interpolation_hits_keys_exactly_and_clamps(interpolation):
    keys = (
        CameraKeyframe(t=0.5, position=(0.0, -5.0, 1.0), look_at=(0.0, 0.0, 0.0)),
        CameraKeyframe(t=1.0, position=(2.0, -4.0, 1.5), look_at=(0.0, 0.0, 0.5)),
        CameraKeyframe(t=2.0, position=(4.0, -1.0, 2.0), look_at=(0.5, 0.0, 0.5)),
    )
    camera = CameraSpec(keyframes=keys, interpolation=interpolation)
    track = camera_track(camera, np.array([0.0, 0.5, 1.0, 2.0, 3.0]))
    positions = _camera_positions(track)
    np.testing.assert_allclose(positions[1:4], [k.position for k in keys], atol=1e-9)
    np.testing.assert_allclose(positions[0], keys[0].position, atol=1e-9)
    np.testing.assert_allclose(positions[4], keys[-1].position, atol=1e-9)
    for frame, key in zip((1, 2, 3), keys):
        pixel, _ = project(np.array(key.look_at), track.world_to_camera[frame], track.K)
        np.testing.assert_allclose(pixel, track.K[:2, 2], atol=1e-7)


def test_linear_keyframes_are_linear_and_smooth_ones_are_not():
    keys = (
        CameraKeyframe(t=0.0, position=(0.0, -5.0, 1.0), look_at=(0.0, 0.0, 0.0)),
        CameraKeyframe(t=1.0, position=(2.0, -5.0, 1.0), look_at=(0.0, 0.0, 0.0)),
        CameraKeyframe(t=2.0, position=(2.0, -3.0, 1.0), look_at=(0.0, 0.0, 0.0)),
    )
    linear = _camera_positions(camera_track(CameraSpec(keyframes=keys, interpolation="linear"), np.array([0.5])))
    smooth = _camera_positions(camera_track(CameraSpec(keyframes=keys, interpolation="smooth"), np.array([0.5])))
    np.testing.assert_allclose(linear[0], [1.0, -5.0, 1.0], atol=1e-12)
    # Hermite with tangents m0 = (2, 0, 0), m1 = (1, 1, 0) at u = 0.5: p = 0.5 p0 + 0.125 m0 + 0.5 p1 - 0.125 m1.
    np.testing.assert_allclose(smooth[0], [1.125, -5.125, 1.0], atol=1e-12)


def test_dolly_moves_linearly_over_the_shot():
    camera = CameraSpec(dolly=DollyPath(start=(0.0, -6.0, 1.0), end=(0.0, -2.0, 1.0), look_at=(0.0, 0.0, 1.0)))
    track = camera_track(camera, np.array([0.0, 0.5, 1.0, 2.0]))
    np.testing.assert_allclose(_camera_positions(track), [[0, -6, 1], [0, -5, 1], [0, -4, 1], [0, -2, 1]], atol=1e-12)


def test_follow_sits_at_object_plus_offset_looking_at_it():
    camera = CameraSpec(follow=FollowPath(object="ball", offset=(0.0, -4.0, 1.5)))
    follow = np.array([[0.0, 0.0, 1.0], [0.5, 0.2, 0.8]])
    track = camera_track(camera, np.array([0.0, 0.1]), follow_positions=follow)
    np.testing.assert_allclose(_camera_positions(track), follow + [0.0, -4.0, 1.5], atol=1e-12)
    for frame in range(2):
        pixel, _ = project(follow[frame], track.world_to_camera[frame], track.K)
        np.testing.assert_allclose(pixel, track.K[:2, 2], atol=1e-7)


def test_follow_without_positions_is_a_clear_error():
    camera = CameraSpec(follow=FollowPath(object="ball"))
    with pytest.raises(ValueError, match="follow_positions"):
        camera_track(camera, np.array([0.0]))
    with pytest.raises(ValueError, match=r"shape \(1, 3\)"):
        camera_track(camera, np.array([0.0]), follow_positions=np.zeros((2, 3)))


def test_up_parallel_to_view_direction_is_a_spec_error():
    with pytest.raises(SpecError, match="parallel to the view direction"):
        camera_track(fixed_camera(position=(0.0, 0.0, 5.0), look_at=(0.0, 0.0, 0.0)), np.array([0.0]))


def test_camera_at_its_look_at_point_is_a_spec_error():
    with pytest.raises(SpecError, match="equals the point it looks at"):
        look_at_matrix(np.zeros(3), np.zeros(3), np.array([0.0, 0.0, 1.0]))


def test_bad_times_are_rejected():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        camera_track(fixed_camera(), np.zeros((2, 2)))
