"""Physics-adherence and depiction metrics of a video against a simulated shot's exact passes.

Each metric takes the video's frames (uint8 [N, H, W, 3], resized to the passes' size by
`check_frames`) and the shot's `Passes`, and returns `MetricResult`s that say whether lower or
higher is better. `compute_metrics` runs them all: motion (flow, warp, masks, flicker, depth),
depiction (object visibility and colour, structure similarity against the RGB preview) and
Physics-IQ against the preview. Formulas: each module's docstring and docs/compare.md.
"""

from __future__ import annotations

import numpy as np

from physreel.conditioning.records import Passes

from .base import HIGHER, LOWER, MetricResult, check_frames
from .depth_rank import DepthEstimator, depth_rank_correlation, load_depth_estimator, skipped_depth_rank
from .flicker import background_flicker
from .flow_error import flow_error
from .masks import SimMotion, sim_motion
from .motion_iou import motion_iou
from .object_color_error import object_color_error
from .object_visibility import object_visibility
from .objects import ObjectTable, moving_objects, scene_objects
from .physics_iq import PhysicsIQReference, physics_iq_metrics, physics_iq_reference
from .structure_similarity import structure_similarity
from .warp_error import warp_error

METRIC_NAMES = (
    "flow_epe_object",
    "flow_epe_background",
    "flow_outlier_share",
    "warp_error",
    "motion_iou",
    "motion_iou_spatiotemporal",
    "background_flicker",
    "depth_rank_correlation",
    "object_visibility",
    "object_color_error",
    "structure_similarity",
    "physics_iq_spatial_iou",
    "physics_iq_spatiotemporal_iou",
    "physics_iq_weighted_spatial_iou",
    "physics_iq_mse",
    "physics_iq_score",
)
PREVIEW_METRICS = (
    ("object_visibility", HIGHER, "share"), ("object_color_error", LOWER, "dE a*b*"), ("structure_similarity", HIGHER, "SSIM"),
    ("physics_iq_spatial_iou", HIGHER, "IoU"), ("physics_iq_spatiotemporal_iou", HIGHER, "IoU"),
    ("physics_iq_weighted_spatial_iou", HIGHER, "IoU"), ("physics_iq_mse", LOWER, "0..1 squared"),
    ("physics_iq_score", HIGHER, "0..100"),
)
"""The metrics measured against the RGB preview: (name, direction, unit), recorded as skipped without one."""


def compute_metrics(
    frames: np.ndarray,
    passes: Passes,
    dynamic_ids: frozenset[int] | None = None,
    depth_estimator: DepthEstimator | None = None,
    depth_note: str | None = None,
    motion: SimMotion | None = None,
    objects: ObjectTable | None = None,
    reference: PhysicsIQReference | None = None,
) -> dict[str, MetricResult]:
    """Every metric of `frames` (uint8 [N, H', W', 3], any size) against `passes`, by name.

    `dynamic_ids`: seg ids of non-static parts and particles (see `dynamic_seg_ids`); without
    them moving objects are found by |flow| alone. Without `depth_estimator` the depth metric
    is recorded as skipped with `depth_note`. `motion`: masks.sim_motion(passes), which depends
    on the passes only; give it when scoring several videos of one shot, else it is computed here.
    `objects`: the judged objects with their spec colours (objects.scene_objects); without them
    the dynamic bodies are judged, without colours. `reference`: Physics-IQ's real side
    (physics_iq_reference of the preview and a second take); without it, one without a second
    take (the score is then undefined). The depiction and Physics-IQ metrics need the RGB preview.
    """
    frames = check_frames(frames, passes)
    motion = motion or sim_motion(passes)
    results = [
        *flow_error(frames, passes, dynamic_ids),
        *warp_error(frames, passes),
        *motion_iou(frames, passes, motion),
        *background_flicker(frames, passes, motion),
    ]
    if depth_estimator is not None:
        results += depth_rank_correlation(frames, passes, depth_estimator)
    else:
        results += skipped_depth_rank(depth_note or "skipped: no depth estimator")
    if passes.rgb is None:
        results += [MetricResult(name, float("nan"), direction, unit, None, "skipped: the passes have no RGB preview")
                    for name, direction, unit in PREVIEW_METRICS]
        return {r.name: r for r in results}
    objects = objects or moving_objects(passes.id_table, dynamic_ids)
    reference = reference or physics_iq_reference(passes.rgb, None)
    results += [
        *object_visibility(frames, passes, objects),
        *object_color_error(frames, passes, objects),
        *structure_similarity(frames, passes),
        *physics_iq_metrics(frames, reference),
    ]
    return {r.name: r for r in results}


def dynamic_seg_ids(shot) -> frozenset[int]:
    """Seg ids of every part that is not static, and of every particle emitter, of a sim Shot."""
    ids = {part.seg_id for part in shot.parts if not part.static}
    if shot.particles is not None:
        ids |= {int(i) for i in shot.particles.emitter_seg_ids}
    return frozenset(ids)


__all__ = [
    "HIGHER", "LOWER", "METRIC_NAMES", "MetricResult", "DepthEstimator", "ObjectTable", "PhysicsIQReference", "SimMotion",
    "check_frames", "compute_metrics", "dynamic_seg_ids", "load_depth_estimator", "physics_iq_reference", "scene_objects",
    "sim_motion",
]
