"""simulate(scene) -> Shot: parts, frames, meshes, URDFs, events, contacts, instability, output files."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pybullet as p
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from physreel.sim.expand import expand_objects
from physreel.sim.output import write_shot
from physreel.sim.simulate import simulate
from physreel.sim.spec import SimulationError, SpecError, scene_from_data
from physreel.sim.stability import check_frame, check_initial_overlap, check_state_row
from physreel.sim.state import STATE_COLUMNS, PartStateReader
from physreel.sim.world import build_world

SMALL_CAMERA = {"resolution": [64, 64]}
FLOOR = {"name": "floor", "shape": "plane"}


def make_scene(tmp_path: Path, objects: list[dict], events: list[dict] | None = None, camera: dict | None = None, **shot):
    data = {
        "shot": {"duration": 0.5, "fps": 24, **shot},
        "camera": {**SMALL_CAMERA, **(camera or {})},
        "objects": objects,
        "events": events or [],
    }
    return scene_from_data(data, tmp_path / "scene.yaml")


def world_vertices(shot, part_index: int, frame: int) -> np.ndarray:
    """All visual vertices of one part placed at its recorded pose, float64 [V, 3]."""
    rotation = Rotation.from_quat(shot.trajectory.orientation[frame, part_index])
    vertices = np.concatenate([m.vertices for m in shot.parts[part_index].meshes]).astype(np.float64)
    return rotation.apply(vertices) + shot.trajectory.position[frame, part_index]


# ------------------------------------------------------------------------------ frames
def test_trajectory_has_one_row_per_frame_plus_one_and_t_is_i_over_fps(tmp_path):
    shot = simulate(make_scene(tmp_path, [FLOOR, {"name": "ball", "shape": "sphere", "position": [0, 0, 1]}], duration=0.5, fps=24))
    assert shot.num_frames == 12
    assert shot.trajectory.position.shape == (13, 2, 3)
    assert shot.trajectory.orientation.shape == (13, 2, 4)
    np.testing.assert_array_equal(shot.trajectory.t, np.arange(13) / 24)
    assert shot.trajectory.part_names == ("floor", "ball")
    assert [part.seg_id for part in shot.parts] == [1, 2]
    assert shot.camera.world_to_camera.shape == (13, 4, 4)
    assert shot.particles is None


def test_static_parts_keep_their_pose_in_every_frame(tmp_path):
    shot = simulate(make_scene(tmp_path, [FLOOR, {"name": "shelf", "shape": "box", "static": True, "position": [0, 0, 1], "euler_deg": [0, 0, 30]}]))
    for array in (shot.trajectory.position, shot.trajectory.orientation):
        np.testing.assert_array_equal(array[:, 1], np.broadcast_to(array[0, 1], array[:, 1].shape))
    np.testing.assert_allclose(shot.trajectory.orientation[0, 1], Rotation.from_euler("z", 30, degrees=True).as_quat(), atol=1e-12)


def test_the_same_scene_gives_identical_arrays_twice_in_one_process(tmp_path):
    objects = [FLOOR, {"name": "box", "shape": "box", "position": [0, 0, 0.5], "euler_deg": [20, 30, 0], "repeat": {"count": 4, "step": [0.05, 0, 0.3]}}]
    first = simulate(make_scene(tmp_path, objects, duration=1.0))
    second = simulate(make_scene(tmp_path, objects, duration=1.0))
    for name in ("position", "orientation", "linear_velocity", "angular_velocity"):
        np.testing.assert_array_equal(getattr(first.trajectory, name), getattr(second.trajectory, name))
    np.testing.assert_array_equal(first.contacts.impulse, second.contacts.impulse)


def test_a_world_on_another_pybullet_client_records_the_same_arrays(tmp_path):
    """The per-step and per-frame pybullet calls pass the client by position: with another client connected
    first, the world gets a client id other than 0, and every array must still be the same, bit for bit."""
    objects = [FLOOR, {"name": "box", "shape": "box", "position": [0, 0, 0.3], "repeat": {"count": 3, "step": [0.05, 0, 0.25]}},
               {"name": "man", "shape": "urdf", "file": "humanoid/humanoid.urdf", "scale": 0.25, "position": [1, 0, 0.95],
                "euler_deg": [90, 0, 0]}]
    first = simulate(make_scene(tmp_path, objects, duration=1.0))
    other = p.connect(p.DIRECT)
    try:
        second = simulate(make_scene(tmp_path, objects, duration=1.0))
    finally:
        p.disconnect(physicsClientId=other)
    assert len(first.contacts.t) > 0  # the boxes land on each other and the floor: the tracker's path runs
    for name in ("position", "orientation", "linear_velocity", "angular_velocity"):
        np.testing.assert_array_equal(getattr(first.trajectory, name), getattr(second.trajectory, name))
    for name in ("t", "part_a", "part_b", "impulse", "position"):
        np.testing.assert_array_equal(getattr(first.contacts, name), getattr(second.contacts, name))


def test_frame_i_is_the_state_after_i_times_substeps_physics_steps(tmp_path):
    # Semi-implicit Euler from rest under gravity g: after n steps of dt, v = -g n dt and
    # z = z0 - g dt^2 n (n + 1) / 2, exactly up to rounding. At 600 Hz and 30 fps a frame is 20
    # steps, so recording one step early or late moves v by g dt (16 mm/s) and z by ~0.5 mm.
    g, dt, substeps = 9.81, 1 / 600, 20
    scene = make_scene(tmp_path, [{"name": "ball", "shape": "sphere", "position": [0, 0, 5]}], duration=0.5, fps=30, physics_hz=600)
    shot = simulate(scene)
    n = np.arange(shot.num_frames + 1) * substeps
    np.testing.assert_allclose(shot.trajectory.t, n * dt, rtol=0, atol=1e-12)
    np.testing.assert_allclose(shot.trajectory.linear_velocity[:, 0, 2], -g * n * dt, rtol=0, atol=1e-9)
    np.testing.assert_allclose(shot.trajectory.position[:, 0, 2], 5 - g * dt**2 * n * (n + 1) / 2, rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- expansion
def test_repeat_places_copies_by_step_offsets_and_turns(tmp_path):
    scene = make_scene(tmp_path, [{"name": "d", "shape": "box", "position": [1, 0, 0], "euler_deg": [10, 0, 0],
                                   "repeat": {"count": 3, "step": [0.5, 0, 0], "step_euler_deg": [0, 0, 15], "offsets": [[0, 0, 0], [0, 1, 0], [0, 0, 2]]}}])
    bodies = expand_objects(scene.spec)
    assert [b.name for b in bodies] == ["d_0", "d_1", "d_2"]
    np.testing.assert_allclose([b.position for b in bodies], [[1, 0, 0], [1.5, 1, 0], [2, 0, 2]])
    # Copy i: turned i * 15 deg about world Z after the object's own roll of 10 deg.
    expected = Rotation.from_euler("z", 30, degrees=True) * Rotation.from_euler("x", 10, degrees=True)
    assert (Rotation.from_quat(bodies[2].quaternion).inv() * expected).magnitude() < 1e-9
    # The roll alone matches pybullet's getQuaternionFromEuler convention.
    np.testing.assert_allclose(bodies[0].quaternion, p.getQuaternionFromEuler([math.radians(10), 0, 0]), atol=1e-12)


def test_grid_copies_sit_at_i_dx_j_dy_k_dz_in_name_order(tmp_path):
    scene = make_scene(tmp_path, [{"name": "c", "shape": "box", "position": [0, 0, 1], "grid": {"counts": [2, 3, 2], "spacing": [0.3, 0.4, 0.5]}}])
    bodies = {b.name: b.position for b in expand_objects(scene.spec)}
    assert len(bodies) == 12
    assert list(bodies)[:3] == ["c_0_0_0", "c_1_0_0", "c_0_1_0"]
    np.testing.assert_allclose(bodies["c_1_2_1"], [0.3, 0.8, 1.5])


def test_pyramid_levels_shrink_by_one_and_shift_by_half_a_spacing(tmp_path):
    scene = make_scene(tmp_path, [{"name": "can", "shape": "cylinder", "position": [0, 0, 0.1], "pyramid": {"levels": 3, "spacing": [0.25, 0.2]}}])
    bodies = {b.name: b.position for b in expand_objects(scene.spec)}
    assert list(bodies) == ["can_0_0", "can_0_1", "can_0_2", "can_1_0", "can_1_1", "can_2_0"]
    np.testing.assert_allclose(bodies["can_1_1"], [(1 + 0.5) * 0.25, 0, 0.1 + 0.2])
    np.testing.assert_allclose(bodies["can_2_0"], [(0 + 1.0) * 0.25, 0, 0.1 + 0.4])


def test_expanded_copies_are_simulated_as_separate_bodies(tmp_path):
    shot = simulate(make_scene(tmp_path, [FLOOR, {"name": "b", "shape": "box", "position": [0, 0, 0.1], "grid": {"counts": [2, 2, 1], "spacing": [0.5, 0.5, 0.5]}}]))
    assert shot.trajectory.part_names == ("floor", "b_0_0_0", "b_1_0_0", "b_0_1_0", "b_1_1_0")
    np.testing.assert_allclose(shot.trajectory.position[0, 4], [0.5, 0.5, 0.1])


# ------------------------------------------------------------------------------ meshes
def write_obj(path: Path, mesh: trimesh.Trimesh) -> Path:
    mesh.export(str(path))
    return path


def test_mesh_centre_of_mass_is_where_the_file_puts_it_and_mass_is_density_times_volume(tmp_path):
    # A 0.2 m cube whose centre is 0.5 m along the file's +X axis.
    write_obj(tmp_path / "cube.obj", trimesh.creation.box(extents=[0.2, 0.2, 0.2]).apply_translation([0.5, 0, 0]))
    scene = make_scene(
        tmp_path,
        [{"name": "m", "shape": "mesh", "file": "cube.obj", "position": [0, 0, 5], "euler_deg": [0, 0, 90], "material": {"density": 500}}],
        events=[{"at": 0.25, "object": "m", "impulse": [0, 0, 2]}],
        gravity=[0, 0, 0],
    )
    shot = simulate(scene)
    # The file's origin is at `position`; its +X axis turned to world +Y by the yaw.
    np.testing.assert_allclose(shot.trajectory.position[0, 0], [0, 0.5, 5], atol=1e-9)
    vertices = np.concatenate([m.vertices for m in shot.parts[0].meshes])
    np.testing.assert_allclose(vertices.min(axis=0), [-0.1] * 3, atol=1e-6)
    # Mass = 500 kg/m^3 x 0.008 m^3 = 4 kg, so the impulse of 2 N s gives 0.5 m/s.
    assert shot.trajectory.linear_velocity[-1, 0, 2] == pytest.approx(0.5, abs=1e-9)


def test_asymmetric_mesh_keeps_its_file_geometry_in_the_world(tmp_path):
    # A tilted, off-centre box: its inertia tensor is not diagonal in the file frame, so the
    # part frame is the principal frame; the placed geometry must still be the file's.
    box = trimesh.creation.box(extents=[0.4, 0.2, 0.1])
    box.apply_transform(trimesh.transformations.euler_matrix(0.3, 0.5, 0.7))
    box.apply_translation([0.2, -0.1, 0.05])
    write_obj(tmp_path / "slab.obj", box)
    scene = make_scene(tmp_path, [{"name": "slab", "shape": "mesh", "file": "slab.obj", "position": [1, 2, 3], "euler_deg": [0, 0, 40]}], gravity=[0, 0, 0])
    shot = simulate(scene)
    placed = Rotation.from_euler("z", 40, degrees=True).apply(trimesh.load(str(tmp_path / "slab.obj")).vertices) + [1, 2, 3]
    got = world_vertices(shot, 0, 0)
    # Same 8 corners (float32 vertices: 1e-6 m).
    np.testing.assert_allclose(np.sort(got, axis=0), np.sort(placed, axis=0), atol=1e-5)
    # Torque-free and at rest: it stays there.
    np.testing.assert_allclose(world_vertices(shot, 0, -1), got, atol=1e-9)


@pytest.mark.slow
def test_convex_decomposition_lets_a_ball_through_the_hole_of_a_ring(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a fresh V-HACD run
    write_obj(tmp_path / "ring.obj", trimesh.creation.annulus(r_min=0.3, r_max=0.5, height=0.1))
    outcomes = {}
    for collision in ("convex_hull", "convex_decomposition"):
        scene = make_scene(
            tmp_path,
            [{"name": "ring", "shape": "mesh", "file": "ring.obj", "static": True, "position": [0, 0, 1], "collision": collision},
             {"name": "ball", "shape": "sphere", "radius": 0.1, "position": [0, 0, 1.5]}],
            duration=1.0,
        )
        outcomes[collision] = simulate(scene).trajectory.position[-1, 1, 2]
    assert outcomes["convex_hull"] > 1.0  # rests on the hull's lid
    assert outcomes["convex_decomposition"] < 0.0  # falls through the hole
    assert len(list((tmp_path / "cache" / "physreel" / "vhacd").glob("*.obj"))) == 1


# -------------------------------------------------------------------------------- URDF
ARM_URDF = """<robot name="arm">
 <link name="base">
  <inertial><origin xyz="0.1 0 0" rpy="0 0 0.5"/><mass value="1"/><inertia ixx="0.01" iyy="0.02" izz="0.03" ixy="0" ixz="0" iyz="0"/></inertial>
  <visual><origin xyz="0 0 0.2" rpy="0 0.4 0"/><geometry><box size="0.1 0.2 0.3"/></geometry></visual>
  <collision><origin xyz="0 0 0.2" rpy="0 0.4 0"/><geometry><box size="0.1 0.2 0.3"/></geometry></collision>
 </link>
 <link name="forearm">
  <inertial><origin xyz="0 0 0.3" rpy="0.3 0 0"/><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial>
  <visual><origin xyz="0 0.1 0.3"/><geometry><sphere radius="0.1"/></geometry></visual>
  <collision><origin xyz="0 0.1 0.3"/><geometry><sphere radius="0.1"/></geometry></collision>
 </link>
 <joint name="elbow" type="revolute"><parent link="base"/><child link="forearm"/><origin xyz="0.5 0 0"/>
  <axis xyz="1 0 0"/><limit lower="-3" upper="3" effort="10" velocity="10"/></joint>
</robot>
"""


def arm_scene(tmp_path, **extra):
    (tmp_path / "arm.urdf").write_text(ARM_URDF)
    obj = {"name": "arm", "shape": "urdf", "file": "arm.urdf", "fixed_base": True, "position": [0.3, -0.2, 1], "euler_deg": [0, 0, 60], "scale": 1.5, **extra}
    return make_scene(tmp_path, [obj], gravity=[0, 0, 0])


def test_urdf_visuals_sit_where_pybullet_collides_them(tmp_path):
    # Inertial frames offset and turned from the link frames, a turned visual, global scaling:
    # the visual mesh centres, placed at the recorded COM poses, must match pybullet's AABBs.
    scene = arm_scene(tmp_path, joint_positions={"elbow": 0.7})
    shot = simulate(scene)
    with build_world(scene) as world:
        handle = world.body("arm")
        for index, part in enumerate(shot.parts):
            low, high = p.getAABB(handle.body_id, part.link_index, physicsClientId=world.client)
            centre = world_vertices(shot, index, 0)
            bounds_centre = (centre.min(axis=0) + centre.max(axis=0)) / 2
            np.testing.assert_allclose(bounds_centre, (np.asarray(low) + np.asarray(high)) / 2, atol=2e-3, err_msg=part.name)


def test_urdf_frame_origin_is_the_link_frame_in_the_com_frame(tmp_path):
    scene = arm_scene(tmp_path, joint_positions={"elbow": 0.7})
    shot = simulate(scene)
    with build_world(scene) as world:
        handle = world.body("arm")
        state = p.getLinkState(handle.body_id, 0, computeForwardKinematics=1, physicsClientId=world.client)
        joint_world = np.asarray(state[4])
    part = shot.parts[1]
    assert part.name == "arm/forearm"
    placed = Rotation.from_quat(shot.trajectory.orientation[0, 1]).apply(part.frame_origin) + shot.trajectory.position[0, 1]
    np.testing.assert_allclose(placed, joint_world, atol=1e-9)
    # The scaled joint sits 0.5 * 1.5 m from the base link frame along its (yawed) X axis.
    np.testing.assert_allclose(joint_world, [0.3 + 0.75 * math.cos(math.radians(60)), -0.2 + 0.75 * math.sin(math.radians(60)), 1], atol=1e-6)


def test_humanoid_records_base_and_every_link_and_falls_as_a_ragdoll(tmp_path):
    objects = [FLOOR, {"name": "man", "shape": "urdf", "file": "humanoid/humanoid.urdf", "scale": 0.25, "position": [0, 0, 1.2], "euler_deg": [90, 0, 0]}]
    shot = simulate(make_scene(tmp_path, objects, duration=1.0))
    names = shot.trajectory.part_names
    assert len(names) == 1 + 16 and names[1] == "man" and names[2] == "man/root" and "man/left_knee" in names
    assert [part.seg_id for part in shot.parts] == list(range(1, 18))
    assert all(part.link_name == name.split("/")[1] for part, name in zip(shot.parts[2:], names[2:]))
    chest = names.index("man/chest")
    assert shot.trajectory.position[-1, chest, 2] < shot.trajectory.position[0, chest, 2] - 0.3
    # Passive joints: the limbs fold relative to the chest (a stiff motor would keep them < 0.05 rad).
    knee, hip = names.index("man/right_knee"), names.index("man/right_hip")
    relative = [
        (Rotation.from_quat(shot.trajectory.orientation[f, hip]).inv() * Rotation.from_quat(shot.trajectory.orientation[f, knee])).magnitude()
        for f in (0, -1)
    ]
    assert abs(relative[1] - relative[0]) > 0.1


def test_joint_targets_drive_a_revolute_joint_to_its_target(tmp_path):
    scene = arm_scene(tmp_path)
    data = scene.resolved_dict()
    data["events"] = [{"at": 0.1, "object": "arm", "joint_targets": {"elbow": 1.2}, "max_force": 500}]
    data["shot"]["duration"] = 1.5
    shot = simulate(scene_from_data(data, tmp_path / "scene.yaml"))
    relative = Rotation.from_quat(shot.trajectory.orientation[:, 0]).inv() * Rotation.from_quat(shot.trajectory.orientation[:, 1])
    # The forearm's turn relative to the base since frame 0 is the joint angle.
    turned = (relative[0].inv() * relative).magnitude()
    assert turned[int(0.1 * 24)] < 1e-6  # nothing before the event
    assert turned[-1] == pytest.approx(1.2, abs=0.02)


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ({"joint_targets": {"wrist": 1.0}}, "events[0].joint_targets.wrist", "'arm' has no joint 'wrist' (revolute/prismatic joints: elbow)"),
        ({"impulse": [1, 0, 0], "link": "hand"}, "events[0].link", "'arm' has no link 'hand' (links: base, forearm)"),
        ({"joint_targets": {"elbow": 1.0}, "point": [0, 0, 1]}, "events[0].point", "point does not apply to joint_targets (remove point"),
    ],
)
def test_events_naming_missing_urdf_parts_are_spec_errors(tmp_path, event, field, message):
    scene = arm_scene(tmp_path)
    data = scene.resolved_dict()
    data["events"] = [{"at": 0.1, "object": "arm", **event}]
    with pytest.raises(SpecError) as err:
        simulate(scene_from_data(data, tmp_path / "scene.yaml"))
    assert err.value.issues[0].field == field
    assert f"{field}: {message}" in str(err.value)


def test_a_fixed_base_urdf_with_an_initial_velocity_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError) as err:
        simulate(arm_scene(tmp_path, velocity=[1, 0, 0]))
    assert "objects[0].velocity: 'arm' has a fixed base, which cannot move (remove the initial velocity or set fixed_base: false)" in str(err.value)


def test_a_push_on_a_fixed_base_is_a_spec_error(tmp_path):
    scene = arm_scene(tmp_path)
    data = scene.resolved_dict()
    data["events"] = [{"at": 0.1, "object": "arm", "impulse": [1, 0, 0]}]
    with pytest.raises(SpecError, match=r"events\[0\]\.link: the base of 'arm' is fixed, so a push on it cannot move it \(push one of its links: forearm\)"):
        simulate(scene_from_data(data, tmp_path / "scene.yaml"))


def test_an_event_after_the_last_physics_step_is_a_spec_error(tmp_path):
    # 0.499 s rounds to physics step 120 of a 0.5 s shot, whose steps are 0..119 (the last starts at 119/240 s).
    with pytest.raises(SpecError, match=r"events\[0\]\.at: t=0.499 s is after the last physics step of the shot \(t=0.4958 s\) \(use at <= 0.4958"):
        make_scene(tmp_path, [{"name": "ball", "shape": "sphere"}], events=[{"at": 0.499, "object": "ball", "impulse": [1, 0, 0]}], duration=0.5)


def test_an_event_at_the_start_of_the_last_physics_step_acts(tmp_path):
    # 0.4958 s rounds to step 119, the last of a 0.5 s shot: accepted, and the impulse shows in the last frame.
    scene = make_scene(tmp_path, [{"name": "ball", "shape": "sphere", "mass": 1.0}], events=[{"at": 0.4958, "object": "ball", "impulse": [1, 0, 0]}],
                       duration=0.5, gravity=[0, 0, 0])
    v = simulate(scene).trajectory.linear_velocity[:, 0, 0]
    np.testing.assert_array_equal(v[:-1], 0.0)
    assert v[-1] == pytest.approx(1.0, abs=1e-12)


def test_joint_positions_naming_a_missing_joint_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError) as err:
        simulate(arm_scene(tmp_path, joint_positions={"knee": 0.3}))
    assert err.value.issues[0].field == "objects[0].joint_positions.knee"
    assert "objects[0].joint_positions.knee: 'arm' has no joint 'knee' (revolute/prismatic joints: elbow)" in str(err.value)


def test_a_spherical_joint_cannot_take_one_target(tmp_path):
    objects = [{"name": "man", "shape": "urdf", "file": "humanoid/humanoid.urdf", "scale": 0.25, "position": [0, 0, 1], "fixed_base": True}]
    with pytest.raises(SpecError, match=r"events\[0\]\.joint_targets\.chest: joint 'chest' is spherical \(only revolute/prismatic joints take one value here: left_elbow, left_knee"):
        simulate(make_scene(tmp_path, objects, events=[{"at": 0, "object": "man", "joint_targets": {"chest": 0.5}}]))


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ({"object": "ball", "impulse": [1, 0, 0], "link": "x"}, "events[0].link", "'ball' is a sphere with no links (remove link)"),
        ({"object": "ball", "joint_targets": {"x": 1}}, "events[0].joint_targets", "'ball' is a sphere, which has no joints (joint_targets need a urdf object)"),
        ({"object": "floor", "impulse": [1, 0, 0]}, "events[0].object", "'floor' is static, so a push cannot move it (push a dynamic object or set static: false)"),
    ],
)
def test_events_that_cannot_act_on_their_object_are_spec_errors(tmp_path, event, field, message):
    with pytest.raises(SpecError) as err:
        make_scene(tmp_path, [FLOOR, {"name": "ball", "shape": "sphere", "position": [0, 0, 1]}], events=[{"at": 0.1, **event}])
    assert err.value.issues[0].field == field
    assert f"{field}: {message}" in str(err.value)


# ------------------------------------------------------------------------------ events
def test_an_impulse_changes_velocity_by_j_over_m_at_its_time(tmp_path):
    scene = make_scene(tmp_path, [{"name": "box", "shape": "box", "mass": 2.0}], events=[{"at": 0.25, "object": "box", "impulse": [1.0, -3.0, 0]}], gravity=[0, 0, 0])
    v = simulate(scene).trajectory.linear_velocity[:, 0]
    frame = 6  # t = 0.25 s
    np.testing.assert_array_equal(v[: frame + 1], 0.0)
    np.testing.assert_allclose(v[frame + 1 :], np.broadcast_to([0.5, -1.5, 0], v[frame + 1 :].shape), atol=1e-12)


def test_a_force_over_a_duration_changes_velocity_by_f_t_over_m(tmp_path):
    scene = make_scene(tmp_path, [{"name": "box", "shape": "box", "mass": 2.0}], events=[{"at": 0.1, "object": "box", "force": [0, 4.0, 0], "duration": 0.2}], gravity=[0, 0, 0])
    v = simulate(scene).trajectory.linear_velocity[:, 0, 1]
    # 48 steps of 1/240 s at 2 m/s^2 = 0.4 m/s exactly.
    assert v[-1] == pytest.approx(0.4, abs=1e-12)


def test_an_off_centre_impulse_spins_a_sphere_by_r_cross_j_over_i(tmp_path):
    scene = make_scene(tmp_path, [{"name": "ball", "shape": "sphere", "radius": 0.1, "mass": 1.0}],
                       events=[{"at": 0.0, "object": "ball", "impulse": [0, 1.0, 0], "point": [0.1, 0, 0]}], gravity=[0, 0, 0])
    shot = simulate(scene)
    # I = 2/5 m r^2 = 0.004 kg m^2; r x J = (0, 0, 0.1) N m s.
    np.testing.assert_allclose(shot.trajectory.angular_velocity[-1, 0], [0, 0, 25.0], atol=1e-6)
    np.testing.assert_allclose(shot.trajectory.linear_velocity[-1, 0], [0, 1.0, 0], atol=1e-9)


def test_an_impulse_on_a_urdf_link_changes_the_bodys_momentum_by_j(tmp_path):
    scene = arm_scene(tmp_path, fixed_base=False)
    data = scene.resolved_dict()
    data["events"] = [{"at": 0.1, "object": "arm", "link": "forearm", "impulse": [0.0, 0.3, -0.2]}]
    scene = scene_from_data(data, tmp_path / "scene.yaml")
    shot = simulate(scene)
    with build_world(scene) as world:
        handle = world.body("arm")
        masses = np.array([p.getDynamicsInfo(handle.body_id, link, physicsClientId=world.client)[0] for link in (-1, 0)])
    momentum = np.einsum("b,tbi->ti", masses, shot.trajectory.linear_velocity)
    np.testing.assert_allclose(momentum[0], 0.0, atol=1e-12)
    # Free floating, no gravity: only the event changes the total momentum. pybullet's multibody
    # (Featherstone) integrator keeps it to ~0.1 % of |J| (measured 4e-4 N s): allow 2e-3 * |J|.
    np.testing.assert_allclose(momentum[-1], [0.0, 0.3, -0.2], atol=2e-3 * math.hypot(0.3, 0.2))
    assert abs(shot.trajectory.angular_velocity[-1]).max() > 0.1  # off the body's centre: it turns


# ------------------------------------------------------------------------------ contacts
def test_a_bounce_records_one_contact_onset_with_impulse_m_one_plus_e_v(tmp_path):
    shot = simulate(make_scene(tmp_path, [
        {"name": "floor", "shape": "plane", "material": {"restitution": 1.0}},
        {"name": "ball", "shape": "sphere", "radius": 0.1, "mass": 1.0, "position": [0, 0, 1.1], "material": {"restitution": 0.5}},
    ], duration=0.6, fps=24))
    contacts = shot.contacts
    assert len(contacts.t) == 1
    assert (contacts.part_a[0], contacts.part_b[0]) == (0, 1)
    t_impact = math.sqrt(2 / 9.81)
    assert t_impact <= contacts.t[0] <= t_impact + 1 / 24 + 1 / 240
    assert contacts.t[0] * 24 == pytest.approx(round(contacts.t[0] * 24))  # a frame time
    # Normal impulse m (1 + e) v; the contact spans steps of one frame; 10 % for the discrete impact.
    assert contacts.impulse[0] == pytest.approx(1.5 * math.sqrt(2 * 9.81), rel=0.1)
    assert abs(contacts.position[0, 2]) < 0.02


def test_a_bounce_that_begins_and_ends_between_two_frames_is_recorded(tmp_path):
    """A ball dropped 0.5 m (e = 0.9) hits the floor at t = sqrt(2 h / g) = 0.319 s, between frames 7 and 8;
    it is off the floor again long before frame 8, so no recorded frame shows it touching: the onset must
    come from the contacts read after every physics step."""
    radius, drop, e = 0.1, 0.5, 0.9
    shot = simulate(make_scene(tmp_path, [
        {"name": "floor", "shape": "plane", "material": {"restitution": 1.0}},
        {"name": "ball", "shape": "sphere", "radius": radius, "mass": 1.0, "position": [0, 0, radius + drop], "material": {"restitution": e}},
    ], duration=0.6, fps=24))
    gap = shot.trajectory.position[:, 1, 2] - radius
    assert gap.min() > 0.01  # at every frame the ball is at least 1 cm above the floor (touching means < 1 mm)
    contacts = shot.contacts
    assert len(contacts.t) == 1 and (contacts.part_a[0], contacts.part_b[0]) == (0, 1)
    t_impact = math.sqrt(2 * drop / 9.81)
    assert 7 / 24 < t_impact < 8 / 24
    assert contacts.t[0] == pytest.approx(8 / 24, abs=1e-12)  # stamped with the first frame after the impact
    # Normal impulse m (1 + e) v, within 10 % for the discrete impact (as above); counting the point pybullet
    # still holds one step after the bounce (0.5 mm apart, not solved) would double it.
    assert contacts.impulse[0] == pytest.approx((1 + e) * math.sqrt(2 * 9.81 * drop), rel=0.1)
    # The bounce happened: the ball rises again after frame 8.
    assert shot.trajectory.linear_velocity[8, 1, 2] > 0


def test_bodies_touching_at_the_start_are_not_onsets(tmp_path):
    shot = simulate(make_scene(tmp_path, [FLOOR, {"name": "box", "shape": "box", "size": [0.2, 0.2, 0.2], "position": [0, 0, 0.1]}]))
    assert len(shot.contacts.t) == 0


# ----------------------------------------------------------------------------- stability
def test_a_body_faster_than_the_limit_is_reported_with_its_name_and_time(tmp_path):
    scene = make_scene(tmp_path, [{"name": "bullet", "shape": "sphere", "velocity": [150, 0, 0]}])
    with pytest.raises(SimulationError, match=r"object 'bullet' moves at 150 m/s at t=0.000 s \(limit 100 m/s\); lower its velocity"):
        simulate(scene)


def test_a_body_spinning_beyond_the_limit_is_reported(tmp_path):
    scene = make_scene(tmp_path, [{"name": "top", "shape": "cylinder", "angular_velocity": [0, 0, 1500]}], gravity=[0, 0, 0])
    with pytest.raises(SimulationError, match=r"object 'top' spins at 1500 rad/s at t=0.000 s"):
        simulate(scene)


def test_a_deep_penetration_is_reported_with_both_objects_and_the_time(tmp_path):
    # 40 m/s moves 16.7 cm per 240 Hz step: from a 10 cm gap the ball lands 6.7 cm inside the floor,
    # which Bullet's collision detection sees at the start of step 2 (reported after it, t = 2/240 s).
    scene = make_scene(tmp_path, [FLOOR, {"name": "ball", "shape": "sphere", "radius": 0.2, "position": [0, 0, 0.3], "velocity": [0, 0, -40]}])
    with pytest.raises(SimulationError, match=r"object 'floor' and object 'ball' interpenetrate by 6\.\d cm at t=0\.008 s \(limit 5 cm\)"):
        simulate(scene)


def test_non_finite_states_are_reported_with_the_part(tmp_path):
    shot = simulate(make_scene(tmp_path, [{"name": "ball", "shape": "sphere"}], duration=0.1))
    position = np.zeros((1, 3))
    position[0, 1] = np.nan
    with pytest.raises(SimulationError, match=r"object 'ball' has a non-finite \(NaN or inf\) pose or velocity at t=0.250 s"):
        check_frame(shot.parts, 0.25, position, np.array([[0, 0, 0, 1.0]]), np.zeros((1, 3)), np.zeros((1, 3)))


@pytest.mark.parametrize(("column", "value", "message"), [
    (1, np.nan, r"non-finite \(NaN or inf\) pose or velocity at t=0.250 s"),
    (5, np.inf, r"non-finite"),
    (8, 150.0, r"moves at 150 m/s at t=0.250 s"),
    (12, -2000.0, r"spins at 2000 rad/s at t=0.250 s"),
])
def test_a_state_row_is_checked_as_check_frame_checks_its_columns(tmp_path, column, value, message):
    """check_state_row's cheap test (column maxima) passes only rows check_frame passes; any other row
    gets check_frame's own error. 99 m/s on every axis of one part (171 m/s) must not slip through."""
    shot = simulate(make_scene(tmp_path, [{"name": "ball", "shape": "sphere"}], duration=0.1))
    row = np.zeros((1, STATE_COLUMNS))
    row[0, 6] = 1.0
    check_state_row(shot.parts, 0.25, row)  # at rest: fine
    row[0, column] = value
    with pytest.raises(SimulationError, match=message):
        check_state_row(shot.parts, 0.25, row)
    fast = np.zeros((1, STATE_COLUMNS))
    fast[0, 6], fast[0, 7:10] = 1.0, 99.0
    with pytest.raises(SimulationError, match=r"moves at 171 m/s"):
        check_state_row(shot.parts, 0.25, fast)


def test_bodies_that_start_overlapping_are_reported_with_both_names_and_the_depth(tmp_path):
    objects = [{"name": "a", "shape": "box", "size": [0.2, 0.2, 0.2]}, {"name": "b", "shape": "box", "size": [0.2, 0.2, 0.2], "position": [0.15, 0, 0]}]
    with pytest.raises(SimulationError, match=r"object 'a' and object 'b' overlap by 5\.0 cm at t=0.000 s \(limit 1 cm\); move them apart"):
        simulate(make_scene(tmp_path, objects, gravity=[0, 0, 0]))


def test_overlapping_parts_of_one_articulated_body_are_not_an_initial_overlap(tmp_path):
    shot = simulate(arm_scene(tmp_path))
    # Parts 0 and 1 are the base and forearm of 'arm'; a 5 cm overlap between them is the URDF's business.
    check_initial_overlap(shot.parts, {(0, 1): -0.05})
    other = replace(shot.parts[1], object_name="other")
    with pytest.raises(SimulationError, match="object 'arm' and object 'other' .link 'forearm'. overlap by 5.0 cm"):
        check_initial_overlap((shot.parts[0], other), {(0, 1): -0.05})


def test_a_body_sunk_into_a_static_one_at_the_start_is_reported(tmp_path):
    objects = [FLOOR, {"name": "box", "shape": "box", "size": [0.2, 0.2, 0.2], "position": [0, 0, 0.07]}]
    with pytest.raises(SimulationError, match=r"object 'floor' and object 'box' overlap by 3\.0 cm"):
        simulate(make_scene(tmp_path, objects))


# --------------------------------------------------------------------------------- files
def test_write_shot_writes_the_trajectory_and_meta_as_the_conventions_say(tmp_path):
    scene = make_scene(tmp_path, [FLOOR, {"name": "ball", "shape": "sphere", "position": [0, 0, 0.5]}], seed=7)
    shot = simulate(scene)
    out = tmp_path / "out"
    write_shot(out, shot)
    assert sorted(x.name for x in out.iterdir()) == ["meta.json", "trajectory.npz"]
    with np.load(out / "trajectory.npz") as npz:
        assert list(npz["part_names"]) == ["floor", "ball"]
        np.testing.assert_array_equal(npz["position"], shot.trajectory.position)
        np.testing.assert_array_equal(npz["orientation"], shot.trajectory.orientation)
        np.testing.assert_array_equal(npz["t"], shot.trajectory.t)
        assert npz["contact_part_b"].tolist() == [1] and npz["contact_position"].shape == (1, 3)
    text = (out / "meta.json").read_text()
    meta = json.loads(text)
    assert meta["spec_hash"] == scene.spec_hash() and meta["spec"] == scene.resolved_dict()
    assert meta["ids"] == {"1": {"name": "floor", "object": "floor", "link": None}, "2": {"name": "ball", "object": "ball", "link": None}}
    assert meta["fps"] == 24 and meta["seeds"] == {"shot": 7, "generate": 7}
    assert meta["engine"]["fixedTimeStep"] == 1 / 240 and meta["engine"]["numSubSteps"] == 0
    assert np.asarray(meta["world_to_camera"]).shape == (13, 4, 4) and np.asarray(meta["K"]).shape == (3, 3)
    assert meta["versions"]["pybullet"]
    assert str(tmp_path) not in text  # no absolute paths: the same shot gives the same bytes anywhere


def test_follow_camera_tracks_the_followed_body(tmp_path):
    scene = make_scene(tmp_path, [{"name": "ball", "shape": "sphere", "position": [0, 0, 3]}], camera={"follow": {"object": "ball", "offset": [0, -4, 1]}})
    shot = simulate(scene)
    w2c = shot.camera.world_to_camera
    centres = -np.einsum("tji,tj->ti", w2c[:, :3, :3], w2c[:, :3, 3])
    np.testing.assert_allclose(centres, shot.trajectory.position[:, 0] + [0, -4, 1], atol=1e-9)


def test_reader_reads_the_same_state_the_shot_records(tmp_path):
    scene = make_scene(tmp_path, [FLOOR, {"name": "box", "shape": "box", "position": [0, 0, 1], "euler_deg": [10, 20, 30]}])
    with build_world(scene) as world:
        position, orientation, _, _ = PartStateReader(world).read_all()
    shot = simulate(scene)
    np.testing.assert_array_equal(position, shot.trajectory.position[0])
    np.testing.assert_array_equal(orientation, shot.trajectory.orientation[0])


@pytest.mark.parametrize(
    ("camera", "where", "message"),
    [
        # A camera straight above the point it looks at, with up = +Z: line 4 is `up:`, its value at column 7.
        ("camera:\n  position: [0, 0, 5]\n  look_at: [0, 0, 0]\n  up: [0, 0, 1]\n", "4:7: camera.up", "is parallel to the view direction"),
        # up not written: the error points at the camera mapping (line 2, column 3).
        ("camera:\n  position: [0, 0, 5]\n  look_at: [0, 0, 0]\n", "2:3: camera.up", "is parallel to the view direction"),
        # A dolly that starts at its look_at point: the error points at the dolly (line 2, column 10).
        ("camera:\n  dolly: {start: [0, 0, 1], end: [1, 0, 1], look_at: [0, 0, 1]}\n", "2:10: camera.dolly", "the camera position equals the point it looks at"),
        # A follow camera with no offset sits inside the body it follows; found after the physics, at follow's line.
        ("camera:\n  follow: {object: ball, offset: [0, 0, 0]}\n", "2:11: camera.follow", "the camera position equals the point it looks at"),
    ],
)
def test_an_undefined_camera_pose_is_a_spec_error_at_its_line(tmp_path, camera, where, message):
    path = tmp_path / "scene.yaml"
    path.write_text(camera + "shot: {duration: 0.1}\nobjects:\n  - {name: ball, shape: sphere}\n")
    from physreel.sim.spec import load_scene

    with pytest.raises(SpecError) as err:
        simulate(load_scene(path))
    assert f"{path}:{where}: " in str(err.value) and message in str(err.value), str(err.value)
