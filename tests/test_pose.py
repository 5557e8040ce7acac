"""OpenPose COCO-18 keypoints from link poses: positions, face points, visibility."""

from __future__ import annotations

import numpy as np
import shots
import trimesh

from physreel.conditioning.pose import COCO18_NAMES, figures
from physreel.conditioning.render import render_passes
from physreel.sim.camera import project

# A figure standing at the origin facing -Y (towards the camera at y = -5): its right is -X.
JOINTS = {
    "neck": (0.0, 0.0, 1.5), "right_shoulder": (-0.2, 0.0, 1.45), "right_elbow": (-0.25, 0.0, 1.2),
    "right_wrist": (-0.27, 0.0, 0.95), "left_shoulder": (0.2, 0.0, 1.45), "left_elbow": (0.25, 0.0, 1.2),
    "left_wrist": (0.27, 0.0, 0.95), "right_hip": (-0.1, 0.0, 0.9), "right_knee": (-0.1, 0.0, 0.5),
    "right_ankle": (-0.1, 0.0, 0.1), "left_hip": (0.1, 0.0, 0.9), "left_knee": (0.1, 0.0, 0.5), "left_ankle": (0.1, 0.0, 0.1),
}
HEAD_OFFSET = np.array([0.0, 0.0, 0.2])
HEAD_RADIUS = 0.12
LINK_OFFSET = np.array([0.0, 0.0, -0.05])
"""Each link's frame (centre of mass) sits 5 cm below its joint: frame_origin = -LINK_OFFSET."""


def figure_parts(seg_start: int = 1):
    parts, positions = [], []
    for index, (link, joint) in enumerate(JOINTS.items()):
        if link == "neck":
            mesh = trimesh.creation.icosphere(subdivisions=2, radius=HEAD_RADIUS)
            mesh.apply_translation(HEAD_OFFSET - LINK_OFFSET)
        else:
            mesh = trimesh.creation.box(extents=(0.08, 0.08, 0.08))
        parts.append(shots.part(f"fig/{link}", seg_start + index, mesh, object_name="fig", link_name=link,
                                link_index=index, frame_origin=tuple(-LINK_OFFSET)))
        positions.append(np.array(joint) + LINK_OFFSET)
    return parts, np.array(positions)


def test_figure_is_recognised_by_its_link_names():
    parts, positions = figure_parts()
    shot = shots.shot(parts, [positions] * 2)
    assert len(figures(shot)) == 1
    plain = shots.shot([shots.part("box", 1, shots.box((1, 1, 1)))], [[[0, 0, 0]]] * 2)
    assert figures(plain) == []


def test_joint_keypoints_project_the_link_joint_positions():
    parts, positions = figure_parts()
    shot = shots.shot(parts, [positions] * 2, width=96, height=128, look_at=(0.0, 0.0, 0.9))
    passes = render_passes(shot, passes=["pose"])
    assert passes.pose.shape == (1, 1, 18, 3)
    keypoints = passes.pose[0, 0]
    for link, joint in JOINTS.items():
        expected, _ = project(np.array(joint), shot.camera.world_to_camera[0], shot.camera.K)
        np.testing.assert_allclose(keypoints[COCO18_NAMES.index(link), :2], expected, atol=1e-3)
    # The figure's right shoulder appears on the image's left when it faces the camera.
    assert keypoints[COCO18_NAMES.index("right_shoulder"), 0] < keypoints[COCO18_NAMES.index("left_shoulder"), 0]


def test_face_keypoints_come_from_the_head_and_its_facing():
    parts, positions = figure_parts()
    shot = shots.shot(parts, [positions] * 2, width=96, height=128, look_at=(0.0, 0.0, 0.9))
    passes = render_passes(shot, passes=["pose"])
    head_centre = np.array(JOINTS["neck"]) + HEAD_OFFSET
    nose_world = head_centre + HEAD_RADIUS * np.array([0.0, -1.0, 0.0])  # forward = -Y
    expected, _ = project(nose_world, shot.camera.world_to_camera[0], shot.camera.K)
    np.testing.assert_allclose(passes.pose[0, 0, 0, :2], expected, atol=1e-3)
    assert passes.pose[0, 0, :, 2].all()  # a frontal figure in plain view: every keypoint visible


def test_face_points_are_hidden_when_the_head_turns_away():
    parts, positions = figure_parts()
    # Frame 0 defines the facing; at frame 1 the whole figure has turned 180 degrees about Z.
    half_turn = np.array([0.0, 0.0, 1.0, 0.0])
    orientations = np.stack([np.tile([0.0, 0.0, 0.0, 1.0], (len(parts), 1)), np.tile(half_turn, (len(parts), 1))])
    turned = positions * np.array([-1.0, -1.0, 1.0])
    shot = shots.shot(parts, [positions, turned, turned], orientations=np.concatenate([orientations, orientations[1:]]),
                      width=96, height=128, look_at=(0.0, 0.0, 0.9))
    passes = render_passes(shot, passes=["pose"])
    nose, right_eye, left_eye = 0, 14, 15
    assert passes.pose[0, 0, [nose, right_eye, left_eye], 2].all()
    assert not passes.pose[1, 0, [nose, right_eye, left_eye], 2].any()


def test_keypoints_behind_a_wall_are_not_visible():
    parts, positions = figure_parts(seg_start=2)
    wall = shots.part("wall", 1, shots.box((4.0, 0.1, 4.0)))
    shot = shots.shot([wall] + parts, [np.vstack([[[0.0, -2.0, 1.0]], positions])] * 2, width=96, height=128,
                      look_at=(0.0, 0.0, 0.9))
    passes = render_passes(shot, passes=["pose", "seg"])
    assert not passes.pose[0, 0, :, 2].any()


def test_keypoints_outside_the_image_are_not_visible():
    parts, positions = figure_parts()
    shot = shots.shot(parts, [positions + [6.0, 0.0, 0.0]] * 2, width=64, height=64, look_at=(0.0, 0.0, 0.9))
    passes = render_passes(shot, passes=["pose"])
    assert (passes.pose[0, 0, :, 0] >= 64).all()
    assert not passes.pose[0, 0, :, 2].any()
