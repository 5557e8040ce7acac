"""Ballistic particles: closed-form flight, bounces, friction, drag, emission and determinism.

Rigid parts come from hand-made trajectories (tests/_particle_shots.py), so only the particle
stage is under test. Tolerances are stated with each assertion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _particle_shots import shot_from_data

from physreel.sim.particles import simulate_particles, with_particles

G = 9.81


def shot(emitters, objects=(), duration=1.0, fps=24, physics_hz=240, seed=0, gravity=(0.0, 0.0, -G)):
    data = {
        "shot": {"duration": duration, "fps": fps, "physics_hz": physics_hz, "seed": seed, "gravity": list(gravity)},
        "camera": {"resolution": [64, 64]},
        "objects": list(objects),
        "emitters": list(emitters),
    }
    return shot_from_data(data)


def test_free_particle_follows_the_closed_form_parabola():
    v0 = np.array([1.5, -0.5, 4.0])
    track = simulate_particles(shot([{"name": "e", "burst": 1, "position": [0, 0, 1],
                                      "velocity": {"direction": v0.tolist(), "speed": [float(np.linalg.norm(v0))] * 2}}]))
    t = np.arange(25) / 24
    expected = np.array([0, 0, 1.0]) + v0 * t[:, None] + 0.5 * np.array([0, 0, -G]) * t[:, None] ** 2
    # float32 storage of metre-scale positions: 1e-5 m.
    np.testing.assert_allclose(track.position[:, 0], expected, atol=1e-5)
    np.testing.assert_allclose(track.velocity[:, 0], v0 + np.array([0, 0, -G]) * t[:, None], atol=1e-5)


def _peaks(z: np.ndarray) -> np.ndarray:
    inner = (z[1:-1] > z[:-2]) & (z[1:-1] >= z[2:])
    return z[1:-1][inner]


@pytest.mark.parametrize("restitution, physics_hz", [(0.5, 960), (0.8, 960), (0.8, 240)])
def test_bounce_keeps_restitution_squared_of_the_height(restitution, physics_hz):
    # At 240 Hz the drop moves 18 mm per step at impact: the bounce must not depend on where in
    # the step the contact fell (the penetration is mirrored with the restitution).
    r, h0 = 0.01, 1.0
    s = shot([{"name": "drop", "burst": 1, "position": [0, 0, r + h0], "particle_radius": r, "velocity": {"speed": [0, 0]},
               "restitution": restitution, "friction": 0.0}],
             objects=[{"name": "floor", "shape": "plane"}], duration=2.5, fps=240, physics_hz=physics_hz)
    z = simulate_particles(s).position[:, 0, 2].astype(float) - r
    peaks = _peaks(z)
    assert len(peaks) >= 2
    # Peak heights sampled at 240 fps miss the apex by < g (1/480 s)^2 / 2 = 2e-5 m; allow 2 %.
    assert peaks[0] / h0 == pytest.approx(restitution**2, rel=0.02)
    assert peaks[1] / peaks[0] == pytest.approx(restitution**2, rel=0.02)
    assert z.min() >= -1e-6  # the centre never sinks below one radius above the floor


def test_sliding_particle_decelerates_at_friction_times_g():
    mu, v0, r = 0.3, 3.0, 0.01
    s = shot([{"name": "slide", "burst": 1, "position": [0, 0, r], "particle_radius": r, "restitution": 0.0, "friction": mu,
               "velocity": {"direction": [1, 0, 0], "speed": [v0, v0]}}],
             objects=[{"name": "floor", "shape": "plane"}], duration=0.5, fps=24, physics_hz=240)
    track = simulate_particles(s)
    t = np.arange(13) / 24
    expected = np.maximum(v0 - mu * G * t, 0.0)
    # Coulomb friction applied per substep from the normal impulse g dt: 1 % of v0.
    np.testing.assert_allclose(track.velocity[:, 0, 0], expected, atol=0.01 * v0)
    np.testing.assert_allclose(track.position[:, 0, 2], r, atol=1e-4)


def test_quadratic_drag_reaches_the_terminal_speed():
    c = 0.5  # 1/m: terminal speed sqrt(g / c) = 4.43 m/s
    track = simulate_particles(shot([{"name": "e", "burst": 1, "position": [0, 0, 100], "drag": c, "velocity": {"speed": [0, 0]}}], duration=3.0))
    assert -track.velocity[-1, 0, 2] == pytest.approx(math.sqrt(G / c), rel=0.002)


def test_linear_drag_matches_the_exponential_solution_with_wind():
    k, wind = 2.0, np.array([3.0, 0.0, 0.0])
    track = simulate_particles(shot([{"name": "e", "burst": 1, "position": [0, 0, 50], "drag": k, "drag_model": "linear",
                                      "wind": wind.tolist(), "velocity": {"speed": [0, 0]}}]))
    t = np.arange(25) / 24
    terminal = wind + np.array([0, 0, -G]) / k
    expected_v = terminal * (1 - np.exp(-k * t))[:, None]
    np.testing.assert_allclose(track.velocity[:, 0], expected_v, atol=1e-5)


def test_rate_emitter_spawns_rate_times_duration_evenly():
    track = simulate_particles(shot([{"name": "e", "rate": 120, "start": 0.25, "stop": 0.75, "velocity": {"speed": [0, 0]}}], objects=[]))
    assert track.position.shape[1] == 60
    t = np.arange(25) / 24
    born = np.floor(np.clip(t - 0.25, 0, 0.5) * 120 + 1e-9) + ((t >= 0.25) & (t < 0.75 + 1e-9))
    expected = np.minimum(born, 60).astype(int)
    np.testing.assert_array_equal(track.alive.sum(axis=1), expected)


def test_burst_and_lifetime_set_who_is_alive():
    track = simulate_particles(shot([{"name": "e", "burst": 50, "start": 0.125, "lifetime": 0.5, "velocity": {"speed": [0, 0]}}]))
    t = np.arange(25) / 24
    expected = ((t >= 0.125 - 1e-9) & (t < 0.625 - 1e-9)) * 50
    np.testing.assert_array_equal(track.alive.sum(axis=1), expected)


def test_directions_stay_in_the_cone_and_speeds_in_range():
    track = simulate_particles(shot([{"name": "e", "burst": 2000, "velocity": {"direction": [1, 0, 1], "cone_deg": 20, "speed": [2, 5]}}], gravity=(0, 0, 0)))
    v = track.velocity[0].astype(float)
    speed = np.linalg.norm(v, axis=1)
    angle = np.degrees(np.arccos(np.clip(v @ (np.array([1, 0, 1]) / math.sqrt(2)) / speed, -1, 1)))
    assert speed.min() >= 2 - 1e-5 and speed.max() <= 5 + 1e-5
    assert angle.max() <= 20 + 1e-3 and angle.max() > 19  # fills the cone up to its rim
    # Uniform on the cap: the median cos is halfway between 1 and cos 20 (2 % for 2000 samples).
    assert np.median(np.cos(np.radians(angle))) == pytest.approx((1 + math.cos(math.radians(20))) / 2, abs=0.002)


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    emitter = {"name": "e", "rate": 400, "shape": "box", "size": [0.2, 0.2, 0.2], "position": [0, 0, 1],
               "velocity": {"cone_deg": 40, "speed": [1, 3]}}
    objects = [{"name": "floor", "shape": "plane"}]
    a = simulate_particles(shot([emitter], objects, seed=3))
    b = simulate_particles(shot([emitter], objects, seed=3))
    c = simulate_particles(shot([emitter], objects, seed=4))
    assert a.position.tobytes() == b.position.tobytes() and a.velocity.tobytes() == b.velocity.tobytes()
    assert a.position.tobytes() != c.position.tobytes()


def _inside_depth(points: np.ndarray, kind: str, centre, size) -> np.ndarray:
    """How deep points lie inside an axis-aligned primitive (independent of sim/particles/sdf.py)."""
    p = points - np.asarray(centre)
    if kind == "box":
        return np.min(np.asarray(size) / 2 - np.abs(p), axis=-1)
    if kind == "sphere":
        return size - np.linalg.norm(p, axis=-1)
    if kind == "cylinder":  # radius, length along z
        radius, length = size
        return np.minimum(radius - np.linalg.norm(p[..., :2], axis=-1), length / 2 - np.abs(p[..., 2]))
    raise ValueError(kind)


def test_no_particle_ends_a_frame_inside_a_rigid_body():
    objects = [
        {"name": "floor", "shape": "plane"},
        {"name": "table", "shape": "box", "static": True, "size": [0.8, 0.5, 0.06], "position": [0, 0, 0.5]},
        {"name": "ball", "shape": "sphere", "static": True, "radius": 0.12, "position": [0.2, 0.0, 0.65]},
        {"name": "can", "shape": "cylinder", "static": True, "radius": 0.06, "length": 0.2, "position": [-0.2, 0.1, 0.63]},
        {"name": "pusher", "shape": "box", "size": [0.1, 0.6, 0.3], "position": [-0.8, 0.0, 0.15]},
    ]
    # The pusher slides along +x through the rain at 1 m/s (one-way coupling moves the particles).
    def pusher(t):
        pos = np.stack([-0.8 + 1.0 * t, np.zeros_like(t), np.full_like(t, 0.15)], 1)
        return pos, np.tile([1.0, 0.0, 0.0], (len(t), 1))

    data = {"shot": {"duration": 1.5, "fps": 24, "seed": 1}, "objects": objects,
            "emitters": [{"name": "rain", "shape": "disc", "disc_radius": 0.6, "position": [0, 0, 1.4], "rate": 3000,
                          "particle_radius": 0.004, "restitution": 0.3, "friction": 0.4,
                          "velocity": {"direction": [0, 0, -1], "cone_deg": 10, "speed": [2, 4]}}]}
    s = shot_from_data(data, motion={"pusher": pusher})
    track = simulate_particles(s)
    alive = track.alive
    assert alive.sum(axis=1).max() >= 3000
    pos = track.position.astype(float)
    pusher_pos = s.trajectory.position[:, 4][:, None, :]
    depths = [
        -pos[..., 2],
        _inside_depth(pos, "box", (0, 0, 0.5), (0.8, 0.5, 0.06)),
        _inside_depth(pos, "sphere", (0.2, 0, 0.65), 0.12),
        _inside_depth(pos, "cylinder", (-0.2, 0.1, 0.63), (0.06, 0.2)),
        _inside_depth(pos - pusher_pos, "box", (0, 0, 0), (0.1, 0.6, 0.3)),
    ]
    for depth in depths:
        # A particle's centre stays outside every body (float32 positions: 1e-6 m).
        assert depth[alive].max() <= 1e-6
    # Many particles did land on the table and the pusher did push some along the floor.
    on_table = alive[-1] & (np.abs(pos[-1, :, 2] - 0.534) < 0.01)
    assert on_table.sum() > 100
    assert (alive[-1] & (pos[-1, :, 0] > 0.45) & (pos[-1, :, 2] < 0.02) & (np.abs(pos[-1, :, 1]) < 0.3)).sum() > 10


def test_surface_emitter_spawns_on_its_moving_object_and_inherits_its_velocity():
    from physreel.sim.geometry import primitive_trimesh
    from physreel.sim.records import VisualMesh
    from pathlib import Path

    from physreel.sim.spec.load import scene_from_data

    ball_spec = {"name": "ball", "shape": "sphere", "radius": 0.2, "position": [0, 0, 1]}
    data = {"shot": {"duration": 0.5, "fps": 24, "gravity": [0, 0, 0]}, "objects": [ball_spec],
            "emitters": [{"name": "dust", "shape": "surface", "object": "ball", "rate": 480, "velocity": {"speed": [0, 0]}}]}
    mesh = primitive_trimesh(scene_from_data(data, Path("/tmp/x.yaml")).spec.objects[0])
    visual = (VisualMesh(np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces, np.int32), (1, 1, 1)),)

    def moving(t):
        return np.stack([2.0 * t, np.zeros_like(t), np.ones_like(t)], 1), np.tile([2.0, 0, 0], (len(t), 1))

    s = shot_from_data(data, motion={"ball": moving}, meshes={"ball": visual})
    track = simulate_particles(s)
    first_seen = np.argmax(track.alive, axis=0)
    born_pos = track.position[first_seen, np.arange(track.position.shape[1])].astype(float)
    centre = s.trajectory.position[first_seen, 0]
    # Born on the sphere's surface (tessellation chord error < 3 mm for this mesh) at the pose of
    # its birth time (within one substep of motion: 2 m/s / 240 Hz = 8 mm), moving with the ball.
    assert np.abs(np.linalg.norm(born_pos - centre, axis=1) - 0.2).max() < 0.012
    np.testing.assert_allclose(track.velocity[-1, :, 0], 2.0, atol=1e-5)


def test_with_particles_returns_the_shot_with_its_track_and_seg_ids_after_the_parts():
    s = shot([{"name": "a", "burst": 3}, {"name": "b", "burst": 2}], objects=[{"name": "floor", "shape": "plane"}])
    out = with_particles(s)
    assert out.particles is not None and out.parts == s.parts
    assert out.particles.emitter_names == ("a", "b")
    np.testing.assert_array_equal(out.particles.emitter_seg_ids, [2, 3])
    np.testing.assert_array_equal(out.particles.emitter, [0, 0, 0, 1, 1])


def test_shot_without_particles_is_unchanged():
    s = shot_from_data({"objects": [{"name": "floor", "shape": "plane"}]})
    assert with_particles(s) is s


def test_particle_arrays_round_trip_through_an_npz(tmp_path):
    from physreel.sim.files import write_npz
    from physreel.sim.particles.output import particle_arrays, track_from_arrays

    track = simulate_particles(shot([{"name": "a", "rate": 48, "lifetime": 0.3}, {"name": "b", "burst": 4}]))
    arrays = particle_arrays(track)
    assert all(name.startswith("particles_") for name in arrays)
    write_npz(tmp_path / "trajectory.npz", **arrays)
    with np.load(tmp_path / "trajectory.npz") as data:
        back = track_from_arrays(data)
    assert back.emitter_names == ("a", "b") and back.emitter_kinds == ("ballistic", "ballistic")
    for name in ("emitter_seg_ids", "emitter", "radius", "position", "velocity", "alive"):
        np.testing.assert_array_equal(getattr(back, name), getattr(track, name))
    assert particle_arrays(None) == {}


def test_mesh_file_surface_emitter_spawns_on_the_scaled_placed_mesh(tmp_path):
    import trimesh

    trimesh.creation.box(extents=(0.2, 0.2, 0.2)).export(tmp_path / "cube.obj")
    data = {"shot": {"duration": 0.25, "fps": 24, "gravity": [0, 0, 0]}, "camera": {"resolution": [64, 64]},
            "emitters": [{"name": "dust", "shape": "surface", "file": "cube.obj", "scale": 2.0, "position": [1, 0, 0],
                          "euler_deg": [0, 0, 45], "burst": 500, "velocity": {"speed": [0, 0]}}]}
    track = simulate_particles(shot_from_data(data, source=tmp_path / "scene.yaml"))
    p = track.position[0].astype(float) - [1, 0, 0]
    c, s = math.cos(math.radians(45)), math.sin(math.radians(45))
    local = p @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])  # undo the yaw: R^T p
    # On the surface of the 0.4 m cube (scale 2): the largest |coordinate| is 0.2 (float32: 1e-6).
    np.testing.assert_allclose(np.abs(local).max(axis=1), 0.2, atol=1e-6)
    assert (np.abs(local) < 0.2 - 1e-3).all(axis=1).sum() == 0


def test_box_and_disc_emitters_fill_their_turned_shapes():
    box = {"name": "box", "burst": 2000, "shape": "box", "size": [0.4, 0.2, 0.1], "position": [1, 2, 3],
           "euler_deg": [0, 0, 90], "velocity": {"speed": [0, 0]}}
    disc = {"name": "disc", "burst": 2000, "shape": "disc", "disc_radius": 0.3, "position": [0, 0, 1],
            "euler_deg": [90, 0, 0], "velocity": {"speed": [0, 0]}}
    track = simulate_particles(shot([box, disc], gravity=(0, 0, 0)))
    p = track.position[0].astype(float)
    in_box = p[track.emitter == 0] - [1, 2, 3]
    # Yaw 90: the box's 0.4 m side lies along world y, its 0.2 m side along x (float32: 1e-6).
    assert (np.abs(in_box) <= np.array([0.1, 0.2, 0.05]) + 1e-6).all()
    assert np.abs(in_box).max(axis=0) == pytest.approx([0.1, 0.2, 0.05], abs=0.005)
    on_disc = p[track.emitter == 1] - [0, 0, 1]
    # Roll 90: the disc's plane is world XZ; uniform by area: half the particles within r / sqrt(2).
    np.testing.assert_allclose(on_disc[:, 1], 0.0, atol=1e-6)
    radial = np.hypot(on_disc[:, 0], on_disc[:, 2])
    assert radial.max() <= 0.3 + 1e-6
    assert np.mean(radial < 0.3 / np.sqrt(2)) == pytest.approx(0.5, abs=0.03)


def test_emitter_colour_and_radius_reach_the_track():
    track = simulate_particles(shot([{"name": "e", "burst": 2, "color": "#ff8000", "particle_radius": 0.02}]))
    np.testing.assert_allclose(track.emitter_colors[0], [1.0, 128 / 255, 0.0], atol=1e-6)
    np.testing.assert_allclose(track.radius, 0.02)


def test_unstable_particles_stop_the_simulation_with_the_emitter_named():
    from physreel.sim.spec.errors import SimulationError

    with pytest.raises(SimulationError, match="'fast'.*t=0.042"):
        simulate_particles(shot([{"name": "fast", "burst": 1, "velocity": {"speed": [600, 600]}}], gravity=(0, 0, 0)))


@pytest.mark.parametrize("slope_deg, mu, slides", [(30.0, 0.3, True), (30.0, 0.8, False)])
def test_particle_on_a_slope_slides_only_beyond_its_friction_angle(slope_deg, mu, slides):
    r = 0.01
    theta = math.radians(slope_deg)
    # A static ramp (a box pitched about y) and a particle resting on its top face at the centre.
    normal = np.array([-math.sin(theta), 0.0, math.cos(theta)])
    start = np.array([0.0, 0.0, 0.5]) + normal * (0.05 + r)
    s = shot([{"name": "grain", "burst": 1, "position": start.tolist(), "particle_radius": r, "restitution": 0.0, "friction": mu,
               "velocity": {"speed": [0, 0]}}],
             objects=[{"name": "ramp", "shape": "box", "static": True, "size": [2.0, 0.5, 0.1], "position": [0, 0, 0.5],
                       "euler_deg": [0, slope_deg, 0]}], duration=0.5)
    track = simulate_particles(s)
    travelled = float(np.linalg.norm(track.position[-1, 0] - track.position[0, 0]))
    if slides:
        # Down the slope at g (sin - mu cos): 0.5 * a * t^2 after 0.5 s, within 3 %.
        a = 9.81 * (math.sin(theta) - mu * math.cos(theta))
        assert travelled == pytest.approx(0.5 * a * 0.25, rel=0.03)
    else:
        assert travelled < 1e-4  # held by static friction (and asleep): stays put
        np.testing.assert_array_equal(track.velocity[-1, 0], 0.0)


def test_resting_particles_sleep_and_wake_when_a_part_pushes_them():
    r = 0.01
    data = {"shot": {"duration": 1.5, "fps": 24}, "camera": {"resolution": [64, 64]},
            "objects": [{"name": "floor", "shape": "plane"},
                        {"name": "pusher", "shape": "box", "size": [0.1, 0.4, 0.1], "position": [-0.5, 0.0, 0.05]}],
            "emitters": [{"name": "grains", "burst": 200, "shape": "box", "size": [0.2, 0.2, 0.0001], "position": [0.0, 0.0, r],
                          "particle_radius": r, "restitution": 0.2, "friction": 0.5, "velocity": {"speed": [0, 0]}}]}

    def pusher(t):
        # At rest until 0.5 s, then along +x at 1 m/s.
        x = -0.5 + np.maximum(t - 0.5, 0.0)
        return np.stack([x, np.zeros_like(t), np.full_like(t, 0.05)], 1), np.stack([(t > 0.5) * 1.0, 0 * t, 0 * t], 1)

    s = shot_from_data(data, motion={"pusher": pusher})
    track = simulate_particles(s)
    # Asleep before the push (frames 1..12, t < 0.5 s): not a single bit changes, velocities are zero.
    assert (track.position[1:13] == track.position[1]).all() and (track.velocity[1:13] == 0).all()
    # After the push: every particle is outside the pusher and ahead of its front face.
    box_x = s.trajectory.position[:, 1, 0]
    x = track.position[..., 0].astype(float)
    inside = np.minimum(0.05 - np.abs(x - box_x[:, None]), 0.2 - np.abs(track.position[..., 1]))
    assert inside.max() <= 1e-6
    assert (x[-1] >= box_x[-1] + 0.05 + r - 1e-6).all()
