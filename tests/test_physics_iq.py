"""Physics-IQ's masks, four metrics and score, on hand-made masks and videos with known answers.

The definitions are those of google-deepmind/physics-IQ-benchmark (code/binary_mask_generator.py,
code/calculate_and_write_metrics_to_csv.py, code/calculate_iq_score.py); docs/compare.md cites them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from physreel.engine.metrics.physics_iq import physics_iq_metrics, physics_iq_reference
from physreel.engine.metrics.physics_iq.masks import motion_masks
from physreel.engine.metrics.physics_iq.mse import mse_per_frame
from physreel.engine.metrics.physics_iq.score import iq_score
from physreel.engine.metrics.physics_iq.spatial_iou import spatial_iou
from physreel.engine.metrics.physics_iq.spatiotemporal_iou import spatiotemporal_iou
from physreel.engine.metrics.physics_iq.weighted_spatial_iou import weighted_spatial_iou


def square_masks(frames: int, placed: dict[int, tuple[int, int]], size: int = 2, grid: int = 6) -> np.ndarray:
    """bool [frames, grid, grid]: a size x size square with its top-left corner at placed[t] (row, col) in frame t."""
    masks = np.zeros((frames, grid, grid), dtype=bool)
    for t, (row, col) in placed.items():
        masks[t, row:row + size, col:col + size] = True
    return masks


# ------------------------------------------------------------------ the four metrics
def test_spatial_iou_collapses_time_then_intersects():
    video = square_masks(3, {1: (0, 0), 2: (0, 2)})  # moves over 8 pixels in all
    real = square_masks(3, {1: (0, 0)})  # 4 pixels
    assert spatial_iou(video, real) == 0.5
    assert spatial_iou(video, video) == 1.0
    assert spatial_iou(square_masks(3, {1: (0, 0)}), square_masks(3, {2: (3, 3)})) == 0.0  # elsewhere: 0 whenever
    assert spatial_iou(np.zeros((3, 6, 6), bool), np.zeros((3, 6, 6), bool)) == 1.0  # both still: the benchmark's 1


def test_spatial_iou_ignores_when():
    early, late = square_masks(3, {1: (0, 0)}), square_masks(3, {2: (0, 0)})
    assert spatial_iou(early, late) == 1.0  # same place, other frame: spatially perfect
    assert spatiotemporal_iou(early, late).tolist() == [1.0, 0.0, 0.0]  # ... but not in time


def test_spatiotemporal_iou_is_per_frame_with_empty_frames_counting_one():
    video = square_masks(4, {1: (0, 0), 2: (0, 1), 3: (0, 2)})
    real = square_masks(4, {1: (0, 0), 2: (0, 0)})
    # frame 0: both empty -> 1; frame 1: same square -> 1; frame 2: overlap 2 of 6 -> 1/3; frame 3: real empty -> 0
    np.testing.assert_allclose(spatiotemporal_iou(video, real), [1.0, 1.0, 1.0 / 3.0, 0.0])


def test_weighted_spatial_iou_weighs_how_often_a_pixel_moves():
    video = square_masks(3, {1: (0, 0), 2: (0, 0)})  # the same 4 pixels move in 2 of 3 frames: w = 2/3
    real = square_masks(3, {1: (0, 0)})  # in 1 of 3 frames: w = 1/3
    assert spatial_iou(video, real) == 1.0  # the same place ...
    assert weighted_spatial_iou(video, real) == pytest.approx(0.5)  # ... half as often: sum min / sum max = (1/3)/(2/3)
    two_places = square_masks(3, {1: (0, 0), 2: (0, 2)})  # 8 pixels at 1/3 each, 4 of them shared with real
    assert weighted_spatial_iou(two_places, real) == pytest.approx(0.5)
    assert weighted_spatial_iou(np.zeros((3, 6, 6), bool), np.zeros((3, 6, 6), bool)) == 1.0


def test_mse_is_per_frame_on_unit_intensities():
    black = np.zeros((3, 4, 4, 3), np.uint8)
    other = black.copy()
    other[0] = 255  # every value differs by 1.0
    other[1, :2] = 255  # half the pixels
    other[2] = 51  # 0.2 everywhere
    np.testing.assert_allclose(mse_per_frame(other, black), [1.0, 0.5, 0.04], rtol=1e-6)


# ------------------------------------------------------------------ the score
def test_score_normalises_by_the_physical_variance_as_the_benchmark():
    values = {"physics_iq_spatiotemporal_iou": 0.5, "physics_iq_spatial_iou": 0.6, "physics_iq_weighted_spatial_iou": 0.3,
              "physics_iq_mse": 0.05}
    variance = {"physics_iq_spatiotemporal_iou": 0.8, "physics_iq_spatial_iou": 0.9, "physics_iq_weighted_spatial_iou": 0.6,
                "physics_iq_mse": 0.01}
    # 100 * ((0.5/0.8 + 0.6/0.9 + 0.3/0.6) / 3 - (0.05 - 0.01)) = 100 * (0.597222 - 0.04) = 55.72
    assert iq_score(values, variance) == (55.72, None)


def test_score_is_clipped_to_0_100_and_undefined_without_variance():
    variance = {"physics_iq_spatiotemporal_iou": 0.5, "physics_iq_spatial_iou": 0.5, "physics_iq_weighted_spatial_iou": 0.5,
                "physics_iq_mse": 0.0}
    perfect = {"physics_iq_spatiotemporal_iou": 1.0, "physics_iq_spatial_iou": 1.0, "physics_iq_weighted_spatial_iou": 1.0,
               "physics_iq_mse": 0.0}
    assert iq_score(perfect, variance)[0] == 100.0  # 200 before clipping
    awful = dict.fromkeys(perfect, 0.0) | {"physics_iq_mse": 0.5}
    assert iq_score(awful, variance)[0] == 0.0  # -50 before clipping
    score, note = iq_score(perfect, None, "its simulation failed")
    assert math.isnan(score) and "its simulation failed" in note
    score, note = iq_score(perfect, variance | {"physics_iq_spatial_iou": 0.0})
    assert math.isnan(score) and "share no motion" in note


# ------------------------------------------------------------------ the motion masks
def appearing_square(frames: int = 14) -> np.ndarray:
    """uint8 [frames, 32, 32, 3]: black, then from frame 1 on a white 16 x 16 square that stays."""
    video = np.zeros((frames, 32, 32, 3), np.uint8)
    video[1:, 8:24, 8:24] = 255
    return video


def test_masks_follow_the_running_average_and_the_fixed_threshold():
    # The background is avg <- 0.7 avg + 0.3 grey, updated before use, so k frames after the square
    # appears, inside it |grey - round(avg)| = round(255 * 0.7^k): 14.7 -> 15 > 10 at k = 8, 10.3 -> 10 at
    # k = 9, which the strict threshold (> 10) drops. Frame 0 is always empty.
    masks = motion_masks(appearing_square())
    centre = masks[:, 16, 16].tolist()
    assert centre == [False] + [True] * 8 + [False] * 5
    assert not masks[0].any() and not masks[-1].any()


def test_masks_cover_a_large_change_and_drop_specks_smaller_than_the_opening():
    masks = motion_masks(appearing_square())
    square = np.zeros((32, 32), bool)
    square[8:24, 8:24] = True
    rim = np.zeros((32, 32), bool)
    rim[7:25, 7:25] = True
    # the square and a 1 px rim, less the rim's corners: the bilinear enlargement and the 5 x 5 blur
    # spread the change by about a pixel of the scored grid, the open/close keep the square whole
    assert masks[1][square].all() and not masks[1][~rim].any() and masks[1].sum() == 18 * 18 - 4
    speck = np.zeros((3, 32, 32, 3), np.uint8)
    speck[1:, 16, 16] = 60  # one pixel changing by 60 levels: above the threshold on fewer than 5 x 5 pixels of the mask scale
    assert not motion_masks(speck).any()  # the opening removes it
    speck[1:, 16, 16] = 255  # a full-contrast pixel spreads wider and survives, shrunk back to a few pixels
    assert 0 < motion_masks(speck)[1].sum() <= 9
    still = np.full((5, 32, 32, 3), 90, np.uint8)
    assert not motion_masks(still).any()


def test_preview_scores_100_and_unrelated_motion_scores_low():
    preview = appearing_square()
    second = np.roll(preview, 1, axis=2)  # the second take: the same event one pixel to the right
    reference = physics_iq_reference(preview, second)
    assert 0.8 < reference.variance["physics_iq_spatial_iou"] < 1.0 and reference.variance["physics_iq_mse"] > 0
    own = {r.name: r for r in physics_iq_metrics(preview, reference)}
    assert own["physics_iq_score"].value == 100.0 and own["physics_iq_spatial_iou"].value == 1.0
    elsewhere = np.zeros_like(preview)
    elsewhere[6:, 0:6, 26:32] = 255  # a square that appears later, somewhere else
    other = {r.name: r for r in physics_iq_metrics(elsewhere, reference)}
    assert other["physics_iq_spatial_iou"].value == 0.0 and other["physics_iq_score"].value < 40.0
    assert other["physics_iq_spatiotemporal_iou"].per_frame.shape == (14,)
    assert own["physics_iq_score"].direction == "higher" and own["physics_iq_mse"].direction == "lower"


def test_without_a_second_take_the_score_is_undefined_with_a_note():
    reference = physics_iq_reference(appearing_square(), None, "the second take's simulation failed: boom")
    score = {r.name: r for r in physics_iq_metrics(appearing_square(), reference)}["physics_iq_score"]
    assert math.isnan(score.value) and "boom" in score.note
