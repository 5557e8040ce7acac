"""The verdict and the metric rows' winners say what the numbers say, and never flatter."""

from __future__ import annotations

import math

import numpy as np

from physreel.engine.metrics.base import MetricResult
from physreel.engine.metrics.summary import Run, aggregate
from physreel.engine.metrics.verdict import CLOSER, DOES_NOT, FOLLOWS, POORLY, UNMEASURED, WELL, verdict

DIRECTIONS = {"flow_epe_object": "lower", "motion_iou": "higher", "physics_iq_score": "higher", "object_visibility": "higher",
              "object_color_error": "lower"}


def run(label: str, seed, values: dict[str, float], per_object: dict[str, dict[str, float]] | None = None) -> Run:
    per_object = per_object or {}
    return Run(label, seed, {name: MetricResult(name, value, DIRECTIONS[name], "u", None, None, per_object.get(name))
                             for name, value in values.items()})


PREVIEW = run("preview", None, {"flow_epe_object": 1.0, "motion_iou": 0.55, "physics_iq_score": 100.0, "object_visibility": 1.0,
                                "object_color_error": 2.0},
              {"object_visibility": {"ball": 1.0, "floor": 1.0}, "object_color_error": {"ball": 1.0, "floor": 3.0}})
UNGUIDED = run("unguided", 0, {"flow_epe_object": 6.8, "motion_iou": 0.01, "physics_iq_score": 0.0, "object_visibility": 0.1,
                               "object_color_error": 40.0},
               {"object_visibility": {"ball": 0.2, "floor": 0.0}, "object_color_error": {"ball": 50.0, "floor": 30.0}})


def judged(guided: Run, *, camera_moves: bool = False, others=(UNGUIDED,)):
    runs = [PREVIEW, guided, *others]
    table = aggregate(runs)
    return verdict(runs, table, camera_moves), table


def test_a_video_near_the_simulation_everywhere_follows_and_depicts():
    good = run("guided", 0, {"flow_epe_object": 1.6, "motion_iou": 0.5, "physics_iq_score": 90.0, "object_visibility": 0.95,
                             "object_color_error": 5.0}, {"object_visibility": {"ball": 0.9, "floor": 1.0}})
    result, table = judged(good)
    assert (result.motion, result.depiction) == (FOLLOWS, WELL)
    assert result.text.startswith("Guided follows the simulated motion (flow error 1.6 px vs 6.8 px unguided; the simulation "
                                  "itself 1.0 px; Physics-IQ score 90 vs 0 unguided; the simulation itself 100) and depicts")
    assert all(entry["winner"] == "guided" for entry in table.values())


def test_good_motion_but_poor_depiction_is_said_with_but_and_names_the_object():
    blob = run("guided", 0, {"flow_epe_object": 1.6, "motion_iou": 0.45, "physics_iq_score": 85.0, "object_visibility": 0.31,
                             "object_color_error": 38.0},
               {"object_visibility": {"ball": 0.31}, "object_color_error": {"ball": 38.0}})
    result, _ = judged(blob)
    assert (result.motion, result.depiction) == (FOLLOWS, POORLY)
    assert " but depicts the objects poorly: the ball is visible in 31 % of its frames (the preview: 100 %)" in result.text
    assert "the ball's colour is off by 38 (hue and chroma, dE a*b*; the preview: 1)" in result.text


def test_better_than_unguided_but_far_from_the_simulation_is_not_called_following_nor_a_winner():
    halfway = run("guided", 0, {"flow_epe_object": 1.5, "motion_iou": 0.21, "physics_iq_score": 36.0, "object_visibility": 0.3,
                                "object_color_error": 41.0}, {"object_visibility": {"ball": 0.67, "floor": 0.0}})
    result, table = judged(halfway)
    assert result.motion == CLOSER
    assert result.text.startswith("Guided moves more like the simulation than unguided but does not follow it")
    assert "the floor is visible in 0 % of its frames and the ball in 67 % (the preview: 100 % each)" in result.text
    # motion IoU 0.21 vs 0.01: guided is better, but 0.34 short of the preview's 0.55: no winner
    assert table["motion_iou"]["winner"] == "neither" and table["motion_iou"]["near"] == {"guided": False, "unguided": False}
    assert table["flow_epe_object"]["winner"] == "guided"  # 0.5 px from the preview: near
    assert math.isclose(table["motion_iou"]["towards_simulation"], 100 * 0.20 / 0.54)


def test_closer_motion_with_good_depiction_turns_on_one_but_only():
    closer = run("guided", 0, {"flow_epe_object": 1.5, "motion_iou": 0.21, "physics_iq_score": 51.0, "object_visibility": 1.0,
                               "object_color_error": 4.0}, {"object_visibility": {"ball": 1.0, "floor": 1.0}})
    result, _ = judged(closer)
    assert (result.motion, result.depiction) == (CLOSER, WELL)
    assert result.text.count(" but ") == 1
    assert ") and depicts the objects: they are visible in 100 % of their frames" in result.text


def test_a_frozen_video_is_not_called_physical():
    frozen = run("video", None, {"flow_epe_object": 4.9, "motion_iou": 0.0, "physics_iq_score": 12.0, "object_visibility": 0.4,
                                 "object_color_error": 3.0})
    result, table = judged(frozen, others=())
    assert result.motion == DOES_NOT and result.subject == "video"
    assert result.text.startswith("The video does not follow the simulated motion (flow error 4.9 px; the simulation itself")
    assert "follows the simulated motion (" not in result.text
    assert table["motion_iou"]["towards_simulation"] is None  # no unguided to measure from


def test_a_moving_camera_reads_motion_iou_instead_of_the_physics_iq_score():
    guided = run("guided", 0, {"flow_epe_object": 1.2, "motion_iou": 0.5, "physics_iq_score": 20.0, "object_visibility": 1.0,
                               "object_color_error": 2.0})
    assert judged(guided, camera_moves=False)[0].motion == CLOSER  # Physics-IQ 20: far
    result = judged(guided, camera_moves=True)[0]
    assert result.motion == FOLLOWS and "motion IoU 0.50 vs 0.01 unguided" in result.text and "Physics-IQ" not in result.text


def test_several_seeds_are_averaged_and_said():
    seeds = [run("guided", s, {"flow_epe_object": v, "motion_iou": 0.5, "physics_iq_score": 90.0, "object_visibility": 1.0,
                               "object_color_error": 2.0}) for s, v in ((0, 1.2), (1, 1.6))]
    result, table = judged(seeds[0], others=(seeds[1], UNGUIDED))
    assert "flow error 1.4 px" in result.text and result.text.endswith("Means over seeds 0, 1.")
    assert np.isclose(table["flow_epe_object"]["guided"]["std"], 0.2)


def test_without_judged_objects_the_depiction_is_unmeasured():
    no_objects = run("guided", 0, {"flow_epe_object": 1.2, "motion_iou": 0.5, "physics_iq_score": 90.0,
                                   "object_visibility": math.nan, "object_color_error": math.nan})
    result, _ = judged(no_objects)
    assert result.depiction == UNMEASURED and "was not measured" in result.text


def test_the_metric_that_decides_is_always_quoted():
    # a still camera: the flow error and the Physics-IQ score are near, the motion IoU is not
    guided = run("guided", 0, {"flow_epe_object": 1.2, "motion_iou": 0.2, "physics_iq_score": 90.0, "object_visibility": 1.0,
                               "object_color_error": 2.0})
    result, _ = judged(guided)
    assert result.motion == CLOSER and "motion IoU 0.20 vs 0.01 unguided; the simulation itself 0.55" in result.text
