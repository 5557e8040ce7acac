"""The depiction metrics (object visibility, object colour error, structure similarity), their colour
science, the judged objects, and nearness, on hand-made frames whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from physreel.conditioning.records import Passes, SegEntry
from physreel.engine.metrics.colour import ab_distance, ciede2000, linear_to_lab, srgb_to_linear
from physreel.engine.metrics.nearness import is_near, shortfall, towards_simulation
from physreel.engine.metrics.object_color_error import object_color_error
from physreel.engine.metrics.object_visibility import object_visibility
from physreel.engine.metrics.objects import MIN_AREA_SCENE_PX, ObjectTable, SceneObject, inside_and_ring, scene_objects
from physreel.engine.metrics.structure_similarity import C1, ssim_per_frame, structure_similarity
from physreel.sim.spec import scene_from_data

RED = (0.85, 0.12, 0.10)  # the spec's named red
GREY = (0.6, 0.6, 0.6)
SIZE, FRAMES, BALL = 48, 6, 12


# ------------------------------------------------------------------ colour science
@pytest.mark.parametrize("lab1, lab2, expected", [
    # Sharma, Wu and Dalal (2005), supplementary test data, pairs 1, 2, 7, 13, 17, 18, 25 and 30
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619), 2.0373),
])
def test_ciede2000_matches_sharmas_test_data(lab1, lab2, expected):
    assert ciede2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)


def test_lab_of_srgb_primaries_and_white():
    lab = linear_to_lab(srgb_to_linear(np.array([[255, 0, 0], [255, 255, 255], [0, 0, 0]], np.uint8)))
    np.testing.assert_allclose(lab[0], [53.24, 80.09, 67.20], atol=0.01)  # sRGB red, D65
    np.testing.assert_allclose(lab[1], [100.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(lab[2], [0.0, 0.0, 0.0], atol=1e-6)
    assert ab_distance(lab[0], lab[1]) == pytest.approx(math.hypot(80.09, 67.20), abs=0.01)  # lightness left out


# ------------------------------------------------------------------ a hand-made shot: a red square ball moving over grey
def ball_shot(ball_colour=RED, background=GREY) -> Passes:
    """A BALL x BALL red square moving 4 px/frame to the right over a flat grey floor (seg 1), drawn at
    full light (the preview's colour is the spec colour itself); seg 2 is the ball."""
    seg = np.ones((FRAMES, SIZE, SIZE), np.int32)
    for t in range(FRAMES):
        seg[t, 18:18 + BALL, 4 + 4 * t:4 + 4 * t + BALL] = 2
    rgb = paint(seg, ball_colour, background)
    K = np.array([[SIZE, 0, SIZE / 2], [0, SIZE, SIZE / 2], [0, 0, 1.0]])
    return Passes(fps=12, K=K, world_to_camera=np.repeat(np.eye(4)[None], FRAMES, 0),
                  id_table=(SegEntry(1, "floor", "floor", None, "part"), SegEntry(2, "ball", "ball", None, "part")),
                  seg=seg, rgb=rgb)


def paint(seg: np.ndarray, ball_colour, background) -> np.ndarray:
    colours = np.array([background, background, ball_colour])
    return np.clip(np.rint(colours[seg] * 255), 0, 255).astype(np.uint8)


BALL_ONLY = ObjectTable((SceneObject("ball", frozenset({2}), True, RED),), float(MIN_AREA_SCENE_PX))


def test_the_ring_surrounds_the_object_with_a_gap():
    mask = np.zeros((1, 20, 20), bool)
    mask[0, 8:12, 8:12] = True
    inside, ring = inside_and_ring(mask)
    assert inside[0].sum() == 4 and inside[0, 9:11, 9:11].all()  # eroded by 1 px
    assert not (ring & mask).any() and not ring[0, 7, 8:12].any()  # a 1 px gap, then the ring
    assert ring[0, 5, 9] and ring[0, 9, 14] and not ring[0, 3, 9]  # 2 to 4 px out
    tiny = np.zeros((1, 20, 20), bool)
    tiny[0, 9:11, 9:11] = True
    assert (inside_and_ring(tiny)[0] == tiny).all()  # too thin to erode: the mask itself


def test_visibility_of_the_preview_is_1_and_of_a_painted_out_ball_0():
    passes = ball_shot()
    own = object_visibility(passes.rgb, passes, BALL_ONLY)[0]
    assert own.value == 1.0 and own.per_object == {"ball": 1.0} and own.per_frame.shape == (FRAMES,)
    painted_out = paint(np.ones_like(passes.seg), RED, GREY)
    assert object_visibility(painted_out, passes, BALL_ONLY)[0].value == 0.0


def test_visibility_needs_half_the_previews_contrast():
    passes = ball_shot()
    lab = lambda c: linear_to_lab(srgb_to_linear(np.array(c)))  # noqa: E731
    full = ciede2000(lab(RED), lab(GREY))
    # a ball blended towards the floor in linear light until its contrast is 0.3 or 0.7 of the preview's
    results = {}
    for share in (0.3, 0.7):
        weight = _blend_for_contrast(share * full)
        colour = _srgb(weight * srgb_to_linear(np.array(RED)) + (1 - weight) * srgb_to_linear(np.array(GREY)))
        results[share] = object_visibility(paint(passes.seg, colour, GREY), passes, BALL_ONLY)[0].value
    assert results == {0.3: 0.0, 0.7: 1.0}


def _blend_for_contrast(target: float) -> float:
    """The linear-light weight of red (vs grey) whose dE00 to grey is `target` (bisection)."""
    low, high = 0.0, 1.0
    grey = linear_to_lab(srgb_to_linear(np.array(GREY)))
    for _ in range(60):
        mid = 0.5 * (low + high)
        mixed = mid * srgb_to_linear(np.array(RED)) + (1 - mid) * srgb_to_linear(np.array(GREY))
        low, high = (mid, high) if ciede2000(linear_to_lab(mixed), grey) < target else (low, mid)
    return low


def _srgb(linear: np.ndarray) -> tuple[float, float, float]:
    return tuple(np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055))


def test_small_objects_and_objects_the_preview_cannot_separate_are_not_judged():
    passes = ball_shot()
    large = ObjectTable(BALL_ONLY.objects, BALL * BALL + 1.0)  # the ball is 144 px: under this threshold
    result = object_visibility(passes.rgb, passes, large)[0]
    assert math.isnan(result.value) and "no object is shown" in result.note
    camouflaged = ball_shot(ball_colour=GREY)  # the preview itself shows no contrast
    assert math.isnan(object_visibility(camouflaged.rgb, camouflaged, BALL_ONLY)[0].value)


def test_colour_error_is_0_for_the_spec_colour_and_the_chroma_for_grey():
    passes = ball_shot()
    own = object_color_error(passes.rgb, passes, BALL_ONLY)[0]
    assert own.value < 0.5 and own.direction == "lower"  # the preview draws the spec colour (to 8-bit rounding)
    # a grey ball of the same luminance: the error is red's chroma at that luminance
    red = srgb_to_linear(np.array(RED))
    grey_level = _srgb(np.full(3, red @ np.array([0.2126729, 0.7151522, 0.0721750])))
    grey_ball = object_color_error(paint(passes.seg, grey_level, GREY), passes, BALL_ONLY)[0]
    red_lab = linear_to_lab(red)
    assert grey_ball.value == pytest.approx(math.hypot(red_lab[1], red_lab[2]), abs=1.0)  # 85
    assert grey_ball.per_object["ball"] == pytest.approx(grey_ball.value)


def test_colour_error_of_a_hue_rotated_ball_is_large_and_a_darker_red_small():
    passes = ball_shot()
    green = object_color_error(paint(passes.seg, (0.10, 0.85, 0.12), GREY), passes, BALL_ONLY)[0].value
    darker = object_color_error(paint(passes.seg, (0.75, 0.10, 0.08), GREY), passes, BALL_ONLY)[0].value
    assert green > 100 and darker < 15


def test_colour_error_without_colours_is_undefined():
    passes = ball_shot()
    no_colour = ObjectTable((SceneObject("ball", frozenset({2}), True),), 64.0)
    result = object_color_error(passes.rgb, passes, no_colour)[0]
    assert math.isnan(result.value) and "no object colours" in result.note


def test_ssim_of_identical_frames_is_1_and_of_two_flat_greys_the_closed_form():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 32, 32)).astype(np.float64)
    np.testing.assert_allclose(ssim_per_frame(frames, frames), 1.0)
    flat_a, flat_b = np.full((1, 32, 32), 100.0), np.full((1, 32, 32), 150.0)
    # no variance: SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1)
    expected = (2 * 100 * 150 + C1) / (100**2 + 150**2 + C1)
    assert ssim_per_frame(flat_a, flat_b)[0] == pytest.approx(expected, rel=1e-9)


def test_ssim_matches_scikit_image():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (1, 40, 40)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 30, a.shape), 0, 255)
    theirs = skimage_metrics.structural_similarity(a[0], b[0], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                                   data_range=255)
    assert ssim_per_frame(a, b)[0] == pytest.approx(theirs, abs=1e-6)


def test_structure_similarity_of_the_preview_is_1_and_of_noise_near_0():
    passes = ball_shot()
    assert structure_similarity(passes.rgb, passes)[0].value == pytest.approx(1.0)
    noise = np.random.default_rng(0).integers(0, 256, passes.rgb.shape, dtype=np.uint8)
    assert structure_similarity(noise, passes)[0].value < 0.1


# ------------------------------------------------------------------ which objects are judged
SCENE = {
    "shot": {"name": "s", "prompt": "two wooden dominoes topple on a table beside a lamp"},
    "camera": {"resolution": [256, 128]},
    "objects": [
        {"name": "table", "shape": "plane", "color": "wood", "texture": {"kind": "stripes", "scale": 0.1, "color2": "brown"}},
        {"name": "lamp_post", "shape": "box", "static": True, "color": "grey"},
        {"name": "wall", "shape": "box", "static": True},
        {"name": "domino", "shape": "box", "repeat": {"count": 2, "step": [0.1, 0, 0]}, "color": "wood", "position": [0, 0, 1]},
    ],
}


def test_judged_objects_are_the_moving_ones_and_those_the_prompt_names():
    scene = scene_from_data(SCENE, "/virtual/s.yaml")
    ids = tuple(SegEntry(i, n, n, None, "part") for i, n in enumerate(["table", "lamp_post", "wall", "domino_0", "domino_1"], 1))
    table = scene_objects(scene.spec, ids, frozenset({4, 5}), (64, 32))
    names = {o.name: o for o in table.objects}
    assert list(names) == ["table", "lamp_post", "domino"]  # the wall is neither moving nor named
    assert names["domino"].seg_ids == {4, 5} and names["domino"].moving  # copies are one object
    assert not names["table"].moving and names["table"].color2 == (0.5, 0.32, 0.18)  # the texture's second colour
    assert table.min_area_px == pytest.approx(64 * (64 * 32) / (256 * 128))  # 64 px of the scene's camera: 4 px here


# ------------------------------------------------------------------ nearness
def test_shortfall_counts_only_the_worse_side_and_towards_places_between_unguided_and_preview():
    assert shortfall(2.5, 1.0, "lower") == 1.5 and shortfall(0.5, 1.0, "lower") == 0.0
    assert shortfall(0.2, 0.8, "higher") == pytest.approx(0.6) and math.isnan(shortfall(math.nan, 1.0, "higher"))
    assert is_near("flow_epe_object", 1.9, 1.0, "lower") and not is_near("flow_epe_object", 2.1, 1.0, "lower")
    assert is_near("motion_iou", math.nan, 0.5, "higher") is None
    # where the preview itself attains little, a video must keep half of it: nothing moving is not near
    assert is_near("motion_iou", 0.41, 0.55, "higher") and not is_near("motion_iou", 0.39, 0.55, "higher")
    assert not is_near("motion_iou", 0.0, 0.12, "higher") and is_near("motion_iou", 0.07, 0.12, "higher")
    assert towards_simulation(4.0, 7.0, 1.0) == pytest.approx(50.0)  # halfway from unguided 7 to the preview's 1
    assert towards_simulation(0.5, 0.0, 1.0) == pytest.approx(50.0) and towards_simulation(1.0, 1.0, 1.0) is None
