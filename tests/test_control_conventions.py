"""Each control in its model's own convention (docs/engine.md, "Control conventions"), pinned on tiny scenes:
ADE20K classes for seg, exact texture and crease lines for edges, depth and flow ranges, VACE's flow
alignment and pose channel order, and the per-backend choice of each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shots

from physreel.conditioning.control import control_image, flow_to_color
from physreel.conditioning.palette import ADE20K_PALETTE
from physreel.conditioning.records import Passes, SegEntry
from physreel.conditioning.render import render_passes
from physreel.conditioning.textures import LATTICE_OFFSET
from physreel.engine.backends.animatediff import AnimateDiffBackend
from physreel.engine.backends.builtin import BuiltinBackend
from physreel.engine.backends.wan_vace import WanVaceBackend
from physreel.engine.compare import controls_as_read
from physreel.engine.request import build_request
from physreel.engine.settings import plan_generation, resolve_generate
from physreel.sim.simulate import simulate
from physreel.sim.spec import scene_from_data
from physreel.sim.spec.ade20k import ADE20K_CLASSES, ADE20K_INDEX, default_particle_semantic, default_semantic

SOURCE = Path("/tmp/conventions/scene.yaml")


def colour(name: str) -> tuple[int, int, int]:
    return ADE20K_PALETTE[ADE20K_INDEX[name]]


def hand_passes(width=8, height=4, frames=1, id_table=(), **arrays) -> Passes:
    K = np.array([[10.0, 0, width / 2], [0, 10.0, height / 2], [0, 0, 1]])
    return Passes(fps=10, K=K, world_to_camera=np.tile(np.eye(4), (frames, 1, 1)), id_table=id_table, **arrays)


# ------------------------------------------------------------------------------- seg
def test_ade20k_class_list_is_the_annotators_150_in_order():
    assert len(ADE20K_CLASSES) == len(ADE20K_PALETTE) == 150
    # Spot checks against mmseg's ade_classes() as ControlNet v1.1's seg annotator ships it.
    assert ADE20K_CLASSES[:4] == ("wall", "building", "sky", "floor")
    assert (ADE20K_INDEX["person"], ADE20K_INDEX["table"], ADE20K_INDEX["box"], ADE20K_INDEX["ball"]) == (12, 15, 41, 119)
    assert ADE20K_CLASSES[-1] == "flag" and ADE20K_INDEX["bed"] == 7  # mmseg writes 'bed ' with a space


@pytest.mark.parametrize("name, shape, expected", [
    ("floor", "plane", "floor"), ("ground", "box", "floor"), ("lane", "box", "floor"), ("slab", "plane", "floor"),
    ("table_top", "box", "table"), ("right_wall", "box", "wall"), ("crate", "box", "box"), ("domino_3", "box", "box"),
    ("ball", "sphere", "ball"), ("marble", "sphere", "ball"), ("thing", "sphere", "ball"), ("thing", "box", "box"),
    ("mannequin", "urdf", "person"), ("green_apple", "sphere", "food"), ("gizmo", "cylinder", "plaything"),
])
def test_default_semantic_class_by_a_word_of_the_name_else_by_shape(name, shape, expected):
    assert default_semantic(name, shape) == expected


def test_default_particle_class_by_name_else_by_kind():
    assert default_particle_semantic("rain", "ballistic") == "water"
    assert default_particle_semantic("sparks", "ballistic") == "light"
    assert default_particle_semantic("stuff", "ballistic") == "sand"
    assert default_particle_semantic("stuff", "fluid") == "water"


def tiny_scene(objects, camera=None, frames=1, generate=None):
    data = {"shot": {"duration": frames / 10, "fps": 10},
            "camera": camera or {"resolution": [32, 24], "position": [0.0, -3.0, 1.5], "look_at": [0.0, 0.0, 0.2]},
            "objects": objects}
    if generate is not None:
        data["generate"] = generate
    return scene_from_data(data, SOURCE)


def test_seg_control_colours_each_object_by_its_ade20k_class():
    scene = tiny_scene([{"name": "floor", "shape": "plane", "size": [4, 4]},
                        {"name": "ball", "shape": "sphere", "radius": 0.3, "position": [-0.5, 0, 0.3], "static": True},
                        {"name": "thing", "shape": "box", "size": [0.4, 0.4, 0.4], "position": [0.5, 0, 0.2], "static": True,
                         "semantic": "chair"}])
    passes = render_passes(simulate(scene), passes=["seg"])
    assert [(e.name, e.semantic) for e in passes.id_table] == [("floor", "floor"), ("ball", "ball"), ("thing", "chair")]
    image = control_image(passes, "seg")[0]
    for entry in passes.id_table:
        seen = passes.seg[0] == entry.seg_id
        assert seen.sum() > 4, entry.name
        assert (image[seen] == colour(entry.semantic)).all(), entry.name  # exact palette colours, no blending
    assert (image[passes.seg[0] == 0] == colour("sky")).all()
    # The old per-instance colours (the builtin model's convention) drew the floor as 'wall', the ball as 'building'.
    instance = control_image(passes, "seg", classes="instance")[0]
    assert (instance[passes.seg[0] == 1] == colour("wall")).all() and (instance[passes.seg[0] == 2] == colour("building")).all()


def test_semantic_seg_refuses_ids_missing_from_the_id_table():
    passes = hand_passes(width=2, height=1, seg=np.array([[[0, 4]]], np.int32),
                         id_table=(SegEntry(1, "floor", "floor", None, "part", "floor"),))
    with pytest.raises(ValueError, match=r"ids \[4\] are not"):
        control_image(passes, "seg")


# ----------------------------------------------------------------------------- edges
def test_edges_draw_a_checker_floors_lines_exactly_where_its_squares_change():
    # Camera straight down on a checkered plane: pixel centre (j + 0.5, i + 0.5) sees the world point
    # ((j + 0.5 - cx) h / f, -(i + 0.5 - cy) h / f, 0); the squares are floor(x / s + o) + floor(y / s + o).
    height_m, scale = 4.0, 0.5
    scene = tiny_scene([{"name": "floor", "shape": "plane", "size": [20, 20], "color": "white",
                         "texture": {"kind": "checker", "scale": scale, "color2": "black"}}],
                       camera={"resolution": [48, 40], "position": [0.013, 0.021, height_m], "look_at": [0.013, 0.021, 0.0],
                               "up": [0.0, 1.0, 0.0]})
    passes = render_passes(simulate(scene), passes=["depth", "seg", "normal", "albedo"])
    lines = control_image(passes, "edges")[0, ..., 0] == 255
    K = passes.K
    xs = 0.013 + (np.arange(48) + 0.5 - K[0, 2]) * height_m / K[0, 0]
    ys = 0.021 - (np.arange(40) + 0.5 - K[1, 2]) * height_m / K[1, 1]
    cell_x = np.floor(xs / scale + LATTICE_OFFSET)
    cell_y = np.floor(ys / scale + LATTICE_OFFSET)
    parity = (cell_x[None, :] + cell_y[:, None]) % 2
    across = parity[:, 1:] != parity[:, :-1]  # a square changes between columns j and j + 1
    down = parity[1:, :] != parity[:-1, :]
    assert across.any() and down.any()
    # Each change carries the line on exactly one pixel of its pair (1 px wide); nowhere else is a line.
    assert ((lines[:, 1:] | lines[:, :-1])[across]).all()
    assert ((lines[1:, :] | lines[:-1, :])[down]).all()
    near_change = np.zeros(lines.shape, bool)
    near_change[:, 1:] |= across
    near_change[:, :-1] |= across
    near_change[1:, :] |= down
    near_change[:-1, :] |= down
    assert not (lines & ~near_change).any()
    # Without the albedo pass there is no texture to draw: the plane alone has no line.
    plain = render_passes(simulate(scene), passes=["depth", "seg", "normal"])
    assert not (control_image(plain, "edges") == 255).any()


def test_edges_draw_a_cubes_creases_and_no_lines_inside_its_faces():
    scene = tiny_scene([{"name": "cube", "shape": "box", "size": [1.0, 1.0, 1.0], "euler_deg": [0, 0, 35], "static": True,
                         "position": [0, 0, 0]}],
                       camera={"resolution": [48, 40], "position": [0.0, -3.2, 1.8], "look_at": [0.0, 0.0, 0.0]})
    passes = render_passes(simulate(scene), passes=["depth", "seg", "normal"])
    lines = control_image(passes, "edges")[0, ..., 0] == 255
    seg, normal = passes.seg[0], passes.normal[0].astype(np.float64)
    on_cube = seg == 1
    # Neighbours on the cube whose normals differ by more than 40 degrees straddle a crease (faces at 90).
    crease_across = on_cube[:, 1:] & on_cube[:, :-1] & (np.einsum("ijk,ijk->ij", normal[:, 1:], normal[:, :-1]) < np.cos(np.radians(40)))
    crease_down = on_cube[1:, :] & on_cube[:-1, :] & (np.einsum("ijk,ijk->ij", normal[1:, :], normal[:-1, :]) < np.cos(np.radians(40)))
    assert crease_across.sum() >= 5 and crease_down.sum() >= 5  # three faces seen, two creases between them
    assert ((lines[:, 1:] | lines[:, :-1])[crease_across]).all()
    assert ((lines[1:, :] | lines[:-1, :])[crease_down]).all()
    # Inside each face (all four neighbours on the cube with the same normal) there is no line.
    same = np.ones(seg.shape, bool)
    for axis in (0, 1):
        for shift in (1, -1):
            rolled = np.roll(normal, shift, axis=axis)
            same &= np.roll(on_cube, shift, axis=axis) & (np.einsum("ijk,ijk->ij", rolled, normal) > 0.999)
    interior = on_cube & same
    interior[[0, -1], :] = False
    interior[:, [0, -1]] = False
    assert interior.sum() > 50 and not lines[interior].any()
    # With the creases' angle raised above 90 degrees, only the outline is left.
    outline_only = control_image(passes, "edges", crease_deg=100.0)[0, ..., 0] == 255
    assert not (outline_only & ~lines).any() and (lines & ~outline_only).sum() >= 5


def test_edges_break_where_an_object_hides_part_of_itself():
    # One object (seg 1) facing the camera at 2 m on the left and 4 m on the right: a depth break.
    depth = np.array([[[2.0, 2.0, 4.0, 4.0]]], np.float32)
    normal = np.zeros((1, 1, 4, 3), np.float32)
    normal[..., 2] = -1.0
    passes = hand_passes(width=4, height=1, depth=depth, normal=normal, seg=np.ones((1, 1, 4), np.int32))
    lines = control_image(passes, "edges")[0, 0, :, 0]
    np.testing.assert_array_equal(lines, [0, 255, 0, 0])  # on the nearer side of the break
    assert not control_image(passes, "edges", depth_step=2.0).any()  # a 100 % step tolerated: no break
    # Without the seg pass the same break is found from depth alone.
    no_seg = hand_passes(width=4, height=1, depth=depth, normal=normal)
    np.testing.assert_array_equal(control_image(no_seg, "edges")[0, 0, :, 0], [0, 255, 0, 0])


def test_edges_options_belong_to_their_method():
    passes = hand_passes(width=4, height=1, depth=np.ones((1, 1, 4), np.float32), seg=np.ones((1, 1, 4), np.int32))
    with pytest.raises(ValueError, match="method='exact' does not use low_threshold"):
        control_image(passes, "edges", low_threshold=10)
    with pytest.raises(ValueError, match="method='canny' does not use crease_deg"):
        control_image(passes, "edges", method="canny", crease_deg=30.0)
    with pytest.raises(ValueError, match="crease_deg must lie in"):
        control_image(passes, "edges", crease_deg=0.0)
    with pytest.raises(ValueError, match="texture_step must be 1..255"):
        control_image(passes, "edges", texture_step=0)
    with pytest.raises(ValueError, match="depth_step must be positive"):
        control_image(passes, "edges", depth_step=0.0)
    with pytest.raises(ValueError, match="method must be one of"):
        control_image(passes, "edges", method="hed")


# ----------------------------------------------------------------------------- depth
def test_depth_far_given_twice_is_refused():
    passes = hand_passes(width=2, height=1, depth=np.ones((1, 1, 2), np.float32))
    with pytest.raises(ValueError, match="contradict"):
        control_image(passes, "depth", far=10.0, far_at_infinity=True)
    with pytest.raises(ValueError, match="rounding must be one of"):
        control_image(passes, "depth", rounding="ceil")


# ------------------------------------------------------------------------------ flow
def moving_flow(frames=4):
    """flow_fwd[t] = (t + 1, 0) px everywhere but one still pixel: each frame's motion is different."""
    flow = np.zeros((frames, 4, 8, 2), np.float32)
    flow[..., 0] = (np.arange(frames) + 1.0)[:, None, None]
    flow[:, 0, 0] = 0.0
    return flow


def test_flow_aligned_to_the_target_frame_shows_the_motion_that_arrives_there():
    flow = moving_flow()
    passes = hand_passes(frames=4, flow_fwd=flow)
    target = control_image(passes, "flow", align="target", scope="frame", rounding="floor")
    # VACE's FlowVisAnnotator: frame i shows RAFT(frame i-1, frame i) = flow_fwd[i-1]; frame 0 repeats frame 1.
    for i, source in enumerate([0, 0, 1, 2]):
        radius = np.abs(flow[source]).max()
        expected = flow_to_color(flow[source, ..., 0] / radius, flow[source, ..., 1] / radius, "floor")
        np.testing.assert_array_equal(target[i], expected)
    # Per-frame scale: every frame's fastest pixel is fully saturated red, its still pixel white.
    assert (target[:, 1, 1] == [255, 0, 0]).all() and (target[:, 0, 0] == 255).all()
    source = control_image(passes, "flow")  # the default: frame t shows t -> t+1, over the shot's range
    assert source[3, 1, 1, 1] == 0 and source[0, 1, 1, 1] > 150  # frame 0 moves a quarter of frame 3
    with pytest.raises(ValueError, match="align='target' shows the forward motion"):
        control_image(hand_passes(frames=4, flow_bwd=flow), "flow", align="target", direction="bwd")


def test_floor_rounding_matches_raft_flow_viz():
    u = np.array([0.3, 0.0, -0.7])
    v = np.array([0.1, 0.0, 0.2])
    rounded = flow_to_color(u, v)
    floored = flow_to_color(u, v, "floor")
    assert ((rounded.astype(int) - floored) >= 0).all() and ((rounded.astype(int) - floored) <= 1).all()
    assert (floored[1] == 255).all()  # exact still flow stays white when floored too


# ------------------------------------------------------------------------------ pose
@pytest.mark.slow  # imports controlnet_aux (~5-15 s) for its draw_bodypose
def test_vace_pose_is_the_openpose_drawing_with_channels_reversed():
    pose = np.zeros((1, 1, 18, 3), np.float32)
    pose[0, 0, 1] = [50, 30, 1]  # neck
    pose[0, 0, 2] = [30, 30, 1]  # right shoulder: limb 0, red at 60 % in OpenPose's colours
    passes = hand_passes(width=100, height=60, pose=pose)
    rgb = control_image(passes, "pose")[0]
    bgr = control_image(passes, "pose", channel_order="bgr")[0]
    np.testing.assert_array_equal(rgb[30, 40], [153, 0, 0])
    np.testing.assert_array_equal(bgr[30, 40], [0, 0, 153])  # VACE's pose annotator: canvas[..., ::-1]
    np.testing.assert_array_equal(bgr, rgb[..., ::-1])


# --------------------------------------------------------------------------- backends
def planned_options(backend, controls):
    scene = tiny_scene([{"name": "floor", "shape": "plane"}], frames=5,
                       generate={"backend": backend.name, "controls": controls, "resolution": [32, 32]})
    plan = plan_generation(scene, resolve_generate(scene, backend=backend), backend)
    return plan, [dict(o) for o in plan.control_options]


def test_each_backend_draws_its_controls_in_its_models_convention():
    _, builtin = planned_options(BuiltinBackend(), [{"kind": "depth"}, {"kind": "seg"}, {"kind": "edges"}, {"kind": "flow"}])
    assert builtin == [{"scope": "shot", "far_at_infinity": True, "rounding": "round"}, {"classes": "instance"},
                       {"method": "canny"}, {"scope": "shot"}]
    _, animatediff = planned_options(AnimateDiffBackend(), [{"kind": "depth"}, {"kind": "seg"}, {"kind": "edges"}])
    assert animatediff == [{"scope": "frame"}, {}, {}]  # ControlNet v1.1's annotators are control_image's defaults
    _, wan = planned_options(WanVaceBackend(), [{"kind": "flow"}])
    assert wan == [{"scope": "frame", "align": "target", "rounding": "floor"}]
    _, wan_pose = planned_options(WanVaceBackend(), [{"kind": "pose"}])
    assert wan_pose == [{"channel_order": "bgr"}]


def test_a_controls_scope_overrides_the_backends_and_is_resolved_into_the_plan():
    plan, options = planned_options(AnimateDiffBackend(), [{"kind": "depth", "scope": "shot"}])
    assert options == [{"scope": "shot"}] and plan.generate.controls[0].scope == "shot"
    plan, _ = planned_options(BuiltinBackend(), [{"kind": "depth"}, {"kind": "normal"}])
    assert [c.scope for c in plan.generate.controls] == ["shot", None]  # the default written out; none for normal


def test_compares_control_folder_draws_the_kinds_the_backend_reads_in_its_convention():
    plan, _ = planned_options(BuiltinBackend(), [{"kind": "depth"}, {"kind": "seg"}])
    depth = np.full((5, 32, 32), 2.0, np.float32)
    passes = Passes(fps=10, K=np.array([[30.0, 0, 16], [0, 30.0, 16], [0, 0, 1]]), world_to_camera=np.tile(np.eye(4), (5, 1, 1)),
                    id_table=(), depth=depth, seg=np.zeros((5, 32, 32), np.int32), normal=np.zeros((5, 32, 32, 3), np.float32))
    controls = controls_as_read(plan, passes)
    assert controls["depth"] == {"scope": "shot", "far_at_infinity": True, "rounding": "round"}  # the builtin's
    assert controls["seg"] == {"classes": "instance"}
    assert controls["normal"] == {}  # rendered but not read: the default convention
    assert controls_as_read(None, passes) is None  # a user's video: nothing was generated


def test_the_wan_vace_request_carries_vaces_flow_video():
    plan, _ = planned_options(WanVaceBackend(), [{"kind": "flow"}])
    flow = np.zeros((5, 32, 32, 2), np.float32)
    flow[..., 0] = (np.arange(5) + 1.0)[:, None, None]
    passes = Passes(fps=10, K=np.array([[30.0, 0, 16], [0, 30.0, 16], [0, 0, 1]]), world_to_camera=np.tile(np.eye(4), (5, 1, 1)),
                    id_table=(), flow_fwd=flow, flow_valid=np.ones((5, 32, 32), bool))
    request = build_request(plan, tiny_scene([], frames=5).spec.shot, passes, guided=True)
    frames = request.controls[0].frames
    np.testing.assert_array_equal(frames, control_image(passes, "flow", scope="frame", align="target", rounding="floor"))
    assert request.controls[0].options["align"] == "target"
    assert request.settings()["controls"][0]["convention"] == {"scope": "frame", "align": "target", "rounding": "floor"}


def test_particle_sources_take_their_class_from_the_spec_or_their_name_and_kind():
    from dataclasses import replace

    from physreel.conditioning.render import id_table
    from physreel.sim.records import ParticleTrack

    scene = scene_from_data({"shot": {"duration": 0.1, "fps": 10},
                             "emitters": [{"name": "rain", "rate": 10}, {"name": "embers", "rate": 10, "semantic": "tree"},
                                          {"name": "dust", "rate": 10}],
                             "fluid_blocks": [{"name": "puddle", "center": [0, 0, 0.1], "size": [0.2, 0.2, 0.2]}]}, SOURCE)
    rows = 2
    track = ParticleTrack(emitter_names=("rain", "embers", "dust", "puddle"), emitter_kinds=("ballistic",) * 3 + ("fluid",),
                          emitter_seg_ids=np.arange(2, 6, dtype=np.int32), emitter_colors=np.zeros((4, 3), np.float32),
                          emitter=np.zeros(0, np.int32), radius=np.zeros(0, np.float32), position=np.zeros((rows, 0, 3), np.float32),
                          velocity=np.zeros((rows, 0, 3), np.float32), alive=np.zeros((rows, 0), bool))
    floor = shots.part("floor", 1, shots.box((2.0, 2.0, 0.1)))
    shot = replace(shots.shot([floor], np.zeros((rows, 1, 3))), scene=scene, particles=track)
    assert [(e.name, e.semantic) for e in id_table(shot)] == [
        ("floor", "floor"), ("rain", "water"), ("embers", "tree"), ("dust", "sand"), ("puddle", "water")]
