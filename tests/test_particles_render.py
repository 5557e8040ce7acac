"""Particles in the passes: exact sphere depth, flow from each particle's own motion, seg ids,
z-compositing with rigid parts, flow_valid at births and deaths, smooth liquid normals."""

from __future__ import annotations

import numpy as np
import pytest
from _particle_shots import shot_from_data

from physreel.conditioning.render import render_passes
from physreel.sim.particles import with_particles

CAMERA = {"resolution": [96, 72], "fov_deg": 50.0, "position": [0.0, -2.0, 0.5], "look_at": [0.0, 0.0, 0.5]}


def particle_shot(emitters=(), objects=(), blocks=(), duration=0.25, fps=24, gravity=(0.0, 0.0, 0.0), camera=CAMERA):
    data = {"shot": {"duration": duration, "fps": fps, "gravity": list(gravity)}, "camera": camera,
            "objects": list(objects), "emitters": list(emitters), "fluid_blocks": list(blocks)}
    return with_particles(shot_from_data(data))


def camera_points(shot, frame, world):
    m = shot.camera.world_to_camera[frame]
    return np.asarray(world, float) @ m[:3, :3].T + m[:3, 3]


@pytest.mark.parametrize("position, r", [([0.03, 0.0, 0.52], 0.05), ([0.72, -0.6, 0.98], 0.12)], ids=["centre", "corner"])
def test_sphere_depth_is_the_exact_ray_sphere_hit_at_pixel_centres(position, r):
    # A small sphere near the optical axis, and a large one near the image's corner, where the
    # perspective outline is an ellipse stretched away from the centre.
    s = particle_shot([{"name": "dot", "burst": 1, "position": position, "particle_radius": r, "velocity": {"speed": [0, 0]}}])
    passes = render_passes(s, passes=["depth", "seg", "normal"])
    centre = camera_points(s, 0, position)
    K = s.camera.K
    rows, cols = np.nonzero(np.isfinite(passes.depth[0]))
    d = np.stack([(cols + 0.5 - K[0, 2]) / K[0, 0], (rows + 0.5 - K[1, 2]) / K[1, 1], np.ones(len(rows))], 1)
    a = (d * d).sum(1)
    b = d @ centre
    expected = (b - np.sqrt(b * b - a * (centre @ centre - r * r))) / a
    # float32 storage: 1e-6 relative.
    np.testing.assert_allclose(passes.depth[0][rows, cols], expected, rtol=1e-6)
    # Every pixel centre whose ray meets the sphere is covered, and no other.
    all_rows, all_cols = np.mgrid[0:72, 0:96]
    d_all = np.stack([(all_cols + 0.5 - K[0, 2]) / K[0, 0], (all_rows + 0.5 - K[1, 2]) / K[1, 1], np.ones_like(all_rows, float)], -1)
    b_all = d_all @ centre
    meets = b_all**2 - (d_all**2).sum(-1) * (centre @ centre - r * r) >= 0
    np.testing.assert_array_equal(np.isfinite(passes.depth[0]), meets)
    assert set(np.unique(passes.seg[0])) == {0, int(s.particles.emitter_seg_ids[0])}
    # Sphere normals: unit, facing the camera, equal to (hit - centre) / r.
    hit = d * passes.depth[0][rows, cols][:, None]
    np.testing.assert_allclose(passes.normal[0][rows, cols], (hit - centre) / r, atol=1e-5)


ORBIT = {"resolution": [96, 72], "fov_deg": 50.0, "orbit": {"center": [0.0, 0.0, 0.5], "radius": 2.0, "height": 0.0,
                                                          "start_deg": -90, "end_deg": -80}}


@pytest.mark.parametrize("camera", [CAMERA, ORBIT], ids=["still_camera", "orbiting_camera"])
def test_flow_of_a_particle_is_its_simulated_displacement_projected_to_pixels(camera):
    # Particles crossing the view at different speeds and depths; gravity off so motion is exact.
    emitters = [
        {"name": "a", "burst": 1, "position": [-0.4, 0.0, 0.5], "particle_radius": 0.08, "velocity": {"direction": [1, 0, 0], "speed": [1.2, 1.2]}},
        {"name": "b", "burst": 1, "position": [0.3, 0.6, 0.3], "particle_radius": 0.07, "velocity": {"direction": [-1, -1, 1], "speed": [1.5, 1.5]}},
    ]
    s = particle_shot(emitters, camera=camera)
    passes = render_passes(s, passes=["depth", "seg", "flow_fwd", "flow_bwd"])
    K = s.camera.K
    for frame in range(s.num_frames):
        for emitter, seg_id in enumerate(s.particles.emitter_seg_ids):
            rows, cols = np.nonzero(passes.seg[frame] == seg_id)
            assert len(rows) > 10
            # The seen surface point (from the depth pass) moved by the particle's displacement.
            depth = passes.depth[frame][rows, cols].astype(float)
            cam = np.stack([(cols + 0.5 - K[0, 2]) / K[0, 0] * depth, (rows + 0.5 - K[1, 2]) / K[1, 1] * depth, depth], 1)
            m = s.camera.world_to_camera[frame]
            world = (cam - m[:3, 3]) @ m[:3, :3]
            displacement = s.particles.position[frame + 1, emitter] - s.particles.position[frame, emitter]
            moved = camera_points(s, frame + 1, world + displacement)
            expected = np.stack([K[0, 0] * moved[:, 0] / moved[:, 2] + K[0, 2], K[1, 1] * moved[:, 1] / moved[:, 2] + K[1, 2]], 1)
            expected -= np.stack([cols + 0.5, rows + 0.5], 1)
            # float32 depth and flow: 1e-3 px.
            np.testing.assert_allclose(passes.flow_fwd[frame][rows, cols], expected, atol=1e-3)
            if camera is not CAMERA:
                continue
            # With a still camera it is on average the projected displacement of the centre: the seen
            # points lie up to r nearer than the centre, so their image motion is larger by at most
            # r / (z - r).
            centre_now = camera_points(s, frame, s.particles.position[frame, emitter])
            centre_next = camera_points(s, frame + 1, s.particles.position[frame + 1, emitter])
            project = lambda c: np.array([K[0, 0] * c[0] / c[2] + K[0, 2], K[1, 1] * c[1] / c[2] + K[1, 2]])  # noqa: E731
            centre_flow = project(centre_next) - project(centre_now)
            mean_flow = passes.flow_fwd[frame][rows, cols].mean(0)
            r = float(s.particles.radius[emitter])
            bound = r / (centre_now[2] - r) * np.linalg.norm(centre_flow) + 1e-3
            assert np.linalg.norm(mean_flow - centre_flow) <= bound
        if frame > 0 and camera is CAMERA:
            rows, cols = np.nonzero(passes.seg[frame] == s.particles.emitter_seg_ids[0])
            # Straight line at constant depth and speed: backward flow is minus forward flow.
            np.testing.assert_allclose(passes.flow_bwd[frame][rows, cols], -passes.flow_fwd[frame][rows, cols], atol=1e-3)


def test_particles_and_parts_occlude_each_other_per_pixel():
    objects = [{"name": "wall", "shape": "box", "static": True, "size": [0.3, 0.05, 0.3], "position": [0.0, 0.0, 0.5]}]
    emitters = [
        {"name": "front", "burst": 1, "position": [0.0, -0.3, 0.5], "particle_radius": 0.08, "velocity": {"speed": [0, 0]}},
        {"name": "behind", "burst": 1, "position": [0.1, 0.3, 0.5], "particle_radius": 0.04, "velocity": {"speed": [0, 0]}},
    ]
    s = particle_shot(emitters, objects)
    passes = render_passes(s, passes=["depth", "seg"])
    front_id, behind_id = (int(i) for i in s.particles.emitter_seg_ids)
    seg = passes.seg[0]
    assert (seg == front_id).sum() > 20
    assert (seg == behind_id).sum() == 0  # hidden behind the wall
    assert (seg == 1).sum() > 50  # the wall is seen around the front particle
    # Where the front particle is seen, it is nearer than the wall's face at y = -0.025.
    assert passes.depth[0][seg == front_id].max() < 2.0 - 0.025


def test_flow_is_invalid_where_a_particle_dies_before_the_next_frame():
    emitters = [
        {"name": "short", "burst": 1, "position": [-0.2, 0.0, 0.5], "particle_radius": 0.05, "lifetime": 0.1, "velocity": {"speed": [0, 0]}},
        {"name": "long", "burst": 1, "position": [0.2, 0.0, 0.5], "particle_radius": 0.05, "velocity": {"speed": [0, 0]}},
    ]
    s = particle_shot(emitters)
    passes = render_passes(s, passes=["seg", "flow_fwd", "flow_valid"])
    short_id, long_id = (int(i) for i in s.particles.emitter_seg_ids)
    # Lifetime 0.1 s: alive at frames 0, 1, 2 (t < 0.1), gone at frame 3.
    assert (passes.seg[2] == short_id).any() and not (passes.seg[3] == short_id).any()
    assert passes.flow_valid[1][passes.seg[1] == short_id].all()
    assert not passes.flow_valid[2][passes.seg[2] == short_id].any()
    assert passes.flow_valid[2][passes.seg[2] == long_id].all()


def test_liquid_surface_is_smooth_where_grains_are_bumpy():
    camera = {"resolution": [80, 80], "fov_deg": 40.0, "position": [0.0, 0.0, 1.2], "look_at": [0.0, 0.0, 0.0], "up": [0.0, 1.0, 0.0]}
    block = {"name": "water", "min": [-0.2, -0.2, 0.0], "max": [0.2, 0.2, 0.1], "particle_radius": 0.01}
    s = particle_shot(blocks=[block], camera=camera, duration=1 / 24)
    passes = render_passes(s, passes=["depth", "seg", "normal"])
    seg_id = int(s.particles.emitter_seg_ids[0])
    inner = np.zeros((80, 80), bool)
    inner[25:55, 25:55] = True  # well inside the block's outline
    assert (passes.seg[0][inner] == seg_id).all()
    # Looking straight down at a flat liquid: normals point at the camera (-Z camera axis) within 5 deg.
    normal = passes.normal[0][inner]
    angle = np.degrees(np.arccos(np.clip(-normal[:, 2], -1, 1)))
    assert np.percentile(angle, 95) < 5.0
    np.testing.assert_allclose(np.linalg.norm(normal, axis=1), 1.0, atol=1e-5)
    # The smoothed depth stays within half a particle radius of the top of the spheres (1.2 - 0.1 m).
    depth = passes.depth[0][inner]
    assert np.abs(depth - (1.2 - 0.1)).max() < 0.5 * 0.01 + 0.01 * 0.2


def test_particle_ids_follow_the_parts_in_the_id_table():
    s = particle_shot([{"name": "sparks", "burst": 3, "position": [0, 0, 0.5]}], objects=[{"name": "floor", "shape": "plane"}])
    passes = render_passes(s, passes=["seg"])
    entries = {e.seg_id: (e.name, e.kind) for e in passes.id_table}
    assert entries == {1: ("floor", "part"), 2: ("sparks", "particles")}
