"""The builtin model's scorecard measures (engine/builtin/scorecard.py) on videos whose answer is known.

A red ball rests on a yellow-and-blue checkered floor. The preview itself must match every hue and
show the checker fully (1.0); the preview with every hue turned by 120 degrees must match no hue;
the preview with the floor painted its own mean colour must show no checker (0, to float rounding).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from physreel.conditioning.render import render_passes
from physreel.engine.builtin.scorecard import HUE_TOLERANCE_DEG, hue_match, texture_visibility
from physreel.engine.metrics import dynamic_seg_ids, scene_objects
from physreel.sim.simulate import simulate
from physreel.sim.spec.load import scene_from_data


@pytest.fixture(scope="module")
def ball_on_checker():
    data = {
        "shot": {"duration": 0.3, "fps": 10, "prompt": "a red ball on a checkered floor"},
        "camera": {"resolution": [96, 64], "position": [0.0, -2.5, 1.5], "look_at": [0.0, 0.0, 0.2]},
        "objects": [
            {"name": "floor", "shape": "plane", "color": [0.9, 0.8, 0.1],
             "texture": {"kind": "checker", "scale": 0.3, "color2": [0.1, 0.2, 0.8]}},
            {"name": "ball", "shape": "sphere", "radius": 0.3, "position": [0, 0, 0.3], "color": [0.85, 0.1, 0.1]},
        ],
    }
    scene = scene_from_data(data, Path("/tmp/ball_on_checker.yaml"))
    shot = simulate(scene)
    passes = render_passes(shot)
    objects = scene_objects(scene.spec, passes.id_table, dynamic_seg_ids(shot), passes.size)
    assert {o.name for o in objects.objects} == {"floor", "ball"}  # the ball moves (falls), the prompt names the floor
    return passes, objects


def _hue_turned(frames: np.ndarray, degrees: int) -> np.ndarray:
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in frames])
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + degrees // 2) % 180  # OpenCV's 8-bit hue: 2 degrees a step
    return np.stack([cv2.cvtColor(f, cv2.COLOR_HSV2RGB) for f in hsv])


def test_the_preview_matches_every_hue_and_shows_its_texture_fully(ball_on_checker):
    passes, objects = ball_on_checker
    hues = hue_match(passes.rgb, passes, objects)
    assert hues["match"] == 1.0
    assert hues["objects"] == {"ball": {"hue_error_deg": 0.0, "chroma": hues["objects"]["ball"]["chroma"]}}
    assert hues["objects"]["ball"]["chroma"] > 40  # a saturated red; the two-coloured floor is left to texture_visibility
    assert texture_visibility(passes.rgb, passes, objects) == pytest.approx(1.0, abs=1e-9)


def test_hues_turned_by_120_degrees_match_none(ball_on_checker):
    passes, objects = ball_on_checker
    hues = hue_match(_hue_turned(passes.rgb, 120), passes, objects)
    assert hues["match"] == 0.0
    # The ball's red turned 120 degrees in HSV lands far beyond the tolerance in L*a*b* too.
    assert hues["objects"]["ball"]["hue_error_deg"] > 2 * HUE_TOLERANCE_DEG


def test_a_floor_painted_one_colour_shows_no_texture(ball_on_checker):
    passes, objects = ball_on_checker
    floor_ids = next(o.seg_ids for o in objects.objects if o.name == "floor")
    frames = passes.rgb.copy()
    floor = np.isin(passes.seg, list(floor_ids))
    frames[floor] = np.round(frames[floor].mean(axis=0)).astype(np.uint8)
    assert texture_visibility(frames, passes, objects) == pytest.approx(0.0, abs=1e-9)
    assert hue_match(frames, passes, objects)["objects"]["ball"]["hue_error_deg"] == 0.0  # the ball untouched


def test_texture_visibility_needs_the_albedo_pass(ball_on_checker):
    import dataclasses

    passes, objects = ball_on_checker
    with pytest.raises(ValueError, match="needs the albedo pass"):
        texture_visibility(passes.rgb, dataclasses.replace(passes, albedo=None), objects)
