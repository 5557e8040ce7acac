"""Control images follow the conventions pretrained ControlNets were trained on."""

from __future__ import annotations

import numpy as np
import pytest
import shots

from physreel.conditioning.control import CONTROL_KINDS, COLOR_WHEEL, control_image, flow_to_color
from physreel.conditioning.palette import ADE20K_PALETTE
from physreel.conditioning.records import Passes
from physreel.conditioning.render import render_passes


def two_box_passes(frames: int = 3, moving: bool = False):
    parts = [shots.part("near", 1, shots.box((0.8, 0.8, 0.8))), shots.part("far", 2, shots.box((1.2, 1.2, 1.2)))]
    positions = np.array([[[-0.8, -1.0, 0.0], [0.8, 2.0, 0.0]]] * (frames + 1))
    if moving:
        positions[:, 0, 0] += np.arange(frames + 1) * 0.1
    shot = shots.shot(parts, positions, width=64, height=48)
    return render_passes(shot, passes=["depth", "seg", "normal", "flow_fwd", "flow_bwd"])


def hand_passes(width=32, height=24, frames=1, **arrays) -> Passes:
    K = np.array([[20.0, 0, width / 2], [0, 20.0, height / 2], [0, 0, 1]])
    return Passes(fps=10, K=K, world_to_camera=np.tile(np.eye(4), (frames, 1, 1)), id_table=(), **arrays)


def test_depth_control_is_inverse_depth_min_max_per_frame_with_near_white():
    passes = two_box_passes()
    image = control_image(passes, "depth")
    assert image.shape == (3, 48, 64, 3) and image.dtype == np.uint8
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
    near = image[0][..., 0][passes.seg[0] == 1]
    far = image[0][..., 0][passes.seg[0] == 2]
    assert near.min() > far.max()  # nearer is brighter
    assert image[0].max() == 255  # the nearest point of the frame is white
    assert (image[0][passes.seg[0] == 0] == 0).all()  # the sky (infinitely far, the frame's farthest) is black
    # MiDaS annotators: (d - min) / max, d = 1/z, cast to uint8 (floor); the sky's 1/z = 0 is the minimum.
    z_min = passes.depth[0][np.isfinite(passes.depth[0])].min()
    expected = np.floor(255 * z_min / passes.depth[0][passes.seg[0] == 2].astype(np.float64))
    np.testing.assert_array_equal(far, expected.astype(np.uint8))


def test_depth_scope_shot_spans_the_shot_and_frame_scope_each_frame():
    depth = np.stack([np.full((24, 32), 2.0), np.full((24, 32), 4.0)]).astype(np.float32)
    passes = hand_passes(frames=2, depth=depth)
    shot = control_image(passes, "depth", scope="shot")
    assert shot[0].min() == 255 and shot[1].max() == 0  # 1/4 is the shot's farthest: black
    infinite_far = control_image(passes, "depth", scope="shot", far_at_infinity=True, rounding="round")
    assert infinite_far[0].min() == 255 and infinite_far[1].max() == 128  # 1/4 over 1/2 -> 127.5 -> 128
    assert control_image(passes, "depth", scope="shot", far_at_infinity=True)[1].max() == 127  # floored
    assert control_image(passes, "depth").max() == 0  # one depth per frame: no range, black (not NaN)


def test_static_shot_gives_identical_control_frames():
    passes = two_box_passes(frames=3)
    for kind in ("depth", "flow", "seg", "normal", "edges"):
        frames = control_image(passes, kind)
        assert all((frames[i] == frames[0]).all() for i in range(1, len(frames))), kind
    # A still scene has zero flow: the colour wheel's white everywhere.
    assert (control_image(passes, "flow") == 255).all()


def test_flow_colour_wheel_follows_middlebury():
    assert COLOR_WHEEL.shape == (55, 3)
    # Full-radius flow: right = red, down = (greenish) yellow per the wheel, left = cyan-blue, up = magenta-blue.
    right, = flow_to_color(np.array([1.0]), np.array([0.0]))
    left, = flow_to_color(np.array([-1.0]), np.array([0.0]))
    still, = flow_to_color(np.array([0.0]), np.array([0.0]))
    np.testing.assert_array_equal(still, [255, 255, 255])
    assert right[0] == 255 and right[1] == 0  # red
    assert left[0] == 0 and left[1] > 200 and left[2] > 200  # cyan
    half, = flow_to_color(np.array([0.5]), np.array([0.0]))
    assert half[0] == 255 and 120 <= half[1] <= 135  # half speed: half saturated


def test_flow_scope_shot_and_frame_normalise_differently():
    flow = np.zeros((2, 24, 32, 2), np.float32)
    flow[0, ..., 0] = 1.0
    flow[1, ..., 0] = 4.0
    passes = hand_passes(frames=2, flow_fwd=flow)
    shot_scope = control_image(passes, "flow")
    frame_scope = control_image(passes, "flow", scope="frame")
    assert shot_scope[1, 0, 0, 1] == 0 and shot_scope[0, 0, 0, 1] > 150  # frame 0 is a quarter speed: pale
    assert frame_scope[0, 0, 0, 1] == 0 and frame_scope[1, 0, 0, 1] == 0  # each frame at full saturation
    fixed = control_image(passes, "flow", max_flow=8.0)
    assert fixed[1, 0, 0, 1] > 100


@pytest.mark.slow  # imports controlnet_aux (~5-15 s)
def test_bundled_palette_is_controlnet_aux_ade20k_palette():
    from controlnet_aux.util import ade_palette

    assert [list(c) for c in ADE20K_PALETTE] == [list(c) for c in ade_palette()]


def test_seg_control_instance_classes_use_the_ade20k_palette_in_order_with_sky_for_nothing():
    seg = np.array([[[0, 1, 2, 3]]], np.int32)
    image = control_image(hand_passes(width=4, height=1, seg=seg), "seg", classes="instance")
    palette = ADE20K_PALETTE
    np.testing.assert_array_equal(image[0, 0], [palette[2], palette[0], palette[1], palette[3]])
    custom = control_image(hand_passes(width=4, height=1, seg=seg), "seg", classes="instance", ade_classes={1: 3, 3: 12})
    np.testing.assert_array_equal(custom[0, 0, 1], palette[3])  # floor
    np.testing.assert_array_equal(custom[0, 0, 3], palette[12])  # person


def test_normal_control_uses_the_normalbae_convention():
    normal = np.zeros((1, 1, 4, 3), np.float32)
    normal[0, 0, 0] = [0, 0, -1]  # facing the camera
    normal[0, 0, 1] = [0, -1, 0]  # pointing up in the image (a floor seen level)
    normal[0, 0, 2] = [-1, 0, 0]  # pointing left
    image = control_image(hand_passes(width=4, height=1, normal=normal), "normal")
    np.testing.assert_array_equal(image[0, 0, 0], [128, 128, 255])
    np.testing.assert_array_equal(image[0, 0, 1], [128, 255, 128])
    np.testing.assert_array_equal(image[0, 0, 2], [255, 128, 128])
    np.testing.assert_array_equal(image[0, 0, 3], [128, 128, 255])  # nothing hit: facing the camera


def test_edges_mark_silhouettes_white_on_black_on_the_nearer_pixel():
    passes = two_box_passes(frames=1)
    edges = control_image(passes, "edges")[0, ..., 0]
    assert set(np.unique(edges)) <= {0, 255}
    seg, depth = passes.seg[0], passes.depth[0]
    change = seg[:, 1:] != seg[:, :-1]
    left_nearer = depth[:, :-1] <= depth[:, 1:]
    assert (edges[:, :-1][change & left_nearer] == 255).all() and (edges[:, 1:][change & ~left_nearer] == 255).all()
    assert (edges[seg == 0] == 0).all()  # the sky never carries the line: the object in front does
    # The flat front face of the far box, away from its outline, has no edges.
    from scipy.ndimage import binary_erosion

    interior = binary_erosion(seg == 2, np.ones((5, 5), bool)) & (np.abs(passes.normal[0][..., 2] + 1) < 1e-4)
    assert interior.sum() > 10 and (edges[interior] == 0).all()


@pytest.mark.slow  # imports controlnet_aux (~5-15 s) for its draw_bodypose
def test_pose_is_drawn_with_openpose_colours_and_limb_order():
    width, height = 200, 200
    pose = np.zeros((1, 1, 18, 3), np.float32)
    pose[0, 0, 1] = [100, 60, 1]  # neck
    pose[0, 0, 2] = [60, 60, 1]  # right shoulder
    pose[0, 0, 0] = [100, 30, 1]  # nose
    pose[0, 0, 5] = [140, 60, 0]  # left shoulder, not visible
    image = control_image(hand_passes(width=width, height=height, pose=pose), "pose")[0]
    # Limb 0 of OpenPose is neck -> right shoulder in red at 60 % ([153, 0, 0]); keypoint 0 (nose) is full red.
    np.testing.assert_array_equal(image[60, 80], [153, 0, 0])
    np.testing.assert_array_equal(image[30, 100], [255, 0, 0])
    # Keypoint 1 (neck) is drawn in colour 1 ([255, 85, 0]).
    np.testing.assert_array_equal(image[60, 100], [255, 85, 0])
    # The invisible left shoulder and its limb (neck -> left shoulder, colour 1 at 60 %) are not drawn.
    assert (image[60, 125] == 0).all() and (image[60, 140] == 0).all()
    assert (image[150:, :] == 0).all()  # black background


def test_control_errors_are_clear():
    passes = two_box_passes(frames=1)
    with pytest.raises(ValueError, match="unknown control kind 'dpeth'"):
        control_image(passes, "dpeth")
    with pytest.raises(ValueError, match="control 'flow' has no option scpoe; its options: scope, direction, max_flow, align, rounding"):
        control_image(passes, "flow", scpoe="frame")
    with pytest.raises(ValueError, match="scope must be one of 'shot', 'frame', got 'clip'"):
        control_image(passes, "flow", scope="clip")
    with pytest.raises(ValueError, match="needs the 'pose' pass"):
        control_image(passes, "pose")
    with pytest.raises(ValueError, match="0 < near < far"):
        control_image(passes, "depth", near=5.0, far=1.0)
    assert set(CONTROL_KINDS) == {"depth", "flow", "seg", "normal", "edges", "pose", "albedo"}
