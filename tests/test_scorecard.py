"""The builtin model's scorecard measures (engine/builtin/scorecard.py) on videos whose answer is known.

A red ball rests on a yellow-and-blue checkered floor. The preview itself must match every hue and
show the checker fully (1.0); the preview with every hue turned by 120 degrees must match no hue;
the preview with the floor painted its own mean colour must show no checker (0, to float rounding).
The preview at the model's size (the resolution's ceiling) keeps a coarse checker and loses stripes
finer than the model's pixels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from physreel.conditioning.render import render_passes
from physreel.engine.builtin.scorecard import HUE_TOLERANCE_DEG, hue_match, preview_at_model_size, texture_visibility
from physreel.engine.metrics import dynamic_seg_ids, scene_objects
from physreel.sim.simulate import simulate
from physreel.sim.spec.load import scene_from_data


def _ball_on_floor_data(texture: dict, resolution=(96, 64)) -> dict:
    """Spec data: a red ball falling onto a yellow floor textured in blue by `texture`."""
    return {
        "shot": {"duration": 0.3, "fps": 10, "prompt": "a red ball on a checkered floor"},
        "camera": {"resolution": list(resolution), "position": [0.0, -2.5, 1.5], "look_at": [0.0, 0.0, 0.2]},
        "objects": [
            {"name": "floor", "shape": "plane", "color": [0.9, 0.8, 0.1], "texture": {**texture, "color2": [0.1, 0.2, 0.8]}},
            {"name": "ball", "shape": "sphere", "radius": 0.3, "position": [0, 0, 0.3], "color": [0.85, 0.1, 0.1]},
        ],
    }


def _ball_on_floor(texture: dict, resolution=(96, 64)):
    """(passes, objects) of `_ball_on_floor_data`'s scene, simulated and rendered."""
    scene = scene_from_data(_ball_on_floor_data(texture, resolution), Path("/tmp/ball_on_checker.yaml"))
    shot = simulate(scene)
    passes = render_passes(shot)
    objects = scene_objects(scene.spec, passes.id_table, dynamic_seg_ids(shot), passes.size)
    assert {o.name for o in objects.objects} == {"floor", "ball"}  # the ball moves (falls), the prompt names the floor
    return passes, objects


@pytest.fixture(scope="module")
def ball_on_checker():
    return _ball_on_floor({"kind": "checker", "scale": 0.3})


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


# ------------------------------------------------------------------ the resolution's ceiling
def test_the_preview_at_its_own_square_size_is_the_preview_itself():
    passes, _ = _ball_on_floor({"kind": "checker", "scale": 0.3}, resolution=(64, 64))
    np.testing.assert_array_equal(preview_at_model_size(passes.rgb, 64), passes.rgb)


def test_the_model_size_keeps_a_coarse_checker_and_loses_stripes_finer_than_its_pixels():
    """96 x 64 frames through 64 x 64: 30 cm squares span ~8 model pixels and keep 0.88 of their
    contrast; 5 cm stripes span ~1.5 and keep 0.52; at 32 x 32 they keep 0.09. Bounds sit ~0.1
    from the measured values: the halves' means move with the resampling's rounding, not more."""
    coarse, coarse_objects = _ball_on_floor({"kind": "checker", "scale": 0.3})
    fine, fine_objects = _ball_on_floor({"kind": "stripes", "scale": 0.05})
    assert texture_visibility(preview_at_model_size(coarse.rgb, 64), coarse, coarse_objects) > 0.8
    assert texture_visibility(preview_at_model_size(fine.rgb, 64), fine, fine_objects) < 0.62
    assert texture_visibility(preview_at_model_size(fine.rgb, 32), fine, fine_objects) < 0.2
    # Blurring keeps the solid ball's hue: the ceiling only removes what is finer than the pixels.
    assert hue_match(preview_at_model_size(fine.rgb, 64), fine, fine_objects)["match"] == 1.0


def test_a_scene_card_scores_the_preview_at_the_backends_own_model_size(tmp_path, monkeypatch):
    """score_scene through the real pipeline with an untrained 16 px model: the card's ceiling is the
    preview through 16 x 16 (the model's builtin.json, not the shipped 64), shown in brackets."""
    from physreel.engine.backends.builtin import BuiltinBackend
    from physreel.engine.builtin import scorecard
    from physreel.engine.testing.tiny_models import write_tiny_builtin
    from physreel.engine.builtin.scorecard import AT_MODEL_SIZE, markdown, score_scene, summary_rows
    from physreel.engine.pipeline import Pipeline

    sizes = []
    def recording(preview, native):
        sizes.append((preview.shape, native))
        return preview_at_model_size(preview, native)
    monkeypatch.setattr(scorecard, "preview_at_model_size", recording)
    backend = BuiltinBackend(write_tiny_builtin(tmp_path))
    assert backend.native_resolution() == 16
    data = _ball_on_floor_data({"kind": "checker", "scale": 0.3}) | {"generate": {"steps": 2}}
    card = score_scene(Pipeline(backend=backend), scene_from_data(data, tmp_path / "ball.yaml"), "ball")
    assert set(card.texture) == {"preview", "guided", "unguided", AT_MODEL_SIZE}
    assert sizes == [((3, 16, 24, 3), 16)]  # the scored grid is 16 px on its shorter side, the ceiling 16 x 16
    assert summary_rows([card])[AT_MODEL_SIZE]["texture_visibility"] == card.texture[AT_MODEL_SIZE]
    row = markdown([card]).splitlines()[-1]
    assert f"[{card.texture[AT_MODEL_SIZE]:.2f}]" in row and f"[{card.hue[AT_MODEL_SIZE]['match']:.2f}]" in row
