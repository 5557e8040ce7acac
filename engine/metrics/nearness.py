"""How far a video is from the simulation on a metric, and when that is "near".

The simulation's RGB preview is scored like every video; its value P is what a video that
follows the physics attains on the shot. A video's **shortfall** on a metric is how much worse
than P it is in the metric's direction (0 where it is as good as P or better); it is **near the
simulation** when the shortfall is at most the metric's tolerance below: a difference a person
would hardly notice in the video (a pixel of flow, a few grey levels, 0.15 of an IoU, 10 units of
hue and chroma). For a metric whose value says "unrelated" at a known floor (an IoU, a share,
SSIM, a correlation, the Physics-IQ score: 0), the shortfall must also be at most half the
preview's own margin above that floor: where the preview itself attains little (a motion IoU of
0.12 on a 64 px moving-camera shot), a video must keep half of it, or a video with no motion at
all would count as near. A metric row names a winner between guided and unguided only when the
better one is near the simulation; when both are far, neither is called the winner.
**Towards the simulation** places a video on the line from unguided (0 %) to the preview (100 %):
100 (V - U) / (P - U); below 0 it is worse than unguided, above 100 better than the preview;
undefined where P and U are equal.
"""

from __future__ import annotations

import math

from .base import HIGHER

NEAR_TOLERANCE = {
    "flow_epe_object": 1.0,
    "flow_epe_background": 0.5,
    "flow_outlier_share": 0.05,
    "warp_error": 3.0,
    "motion_iou": 0.15,
    "motion_iou_spatiotemporal": 0.15,
    "background_flicker": 2.0,
    "depth_rank_correlation": 0.2,
    "object_visibility": 0.2,
    "object_color_error": 10.0,
    "structure_similarity": 0.2,
    "physics_iq_spatial_iou": 0.15,
    "physics_iq_spatiotemporal_iou": 0.15,
    "physics_iq_weighted_spatial_iou": 0.15,
    "physics_iq_mse": 0.01,
    "physics_iq_score": 20.0,
}
"""Per metric, in its unit: the largest shortfall from the preview that still counts as near the simulation."""
UNRELATED = {name: 0.0 for name in (
    "motion_iou", "motion_iou_spatiotemporal", "depth_rank_correlation", "object_visibility", "structure_similarity",
    "physics_iq_spatial_iou", "physics_iq_spatiotemporal_iou", "physics_iq_weighted_spatial_iou", "physics_iq_score")}
"""The value of a higher-is-better metric that means "unrelated to the simulation" (nothing moves where it should,
no object is visible, no structure or order in common, a Physics-IQ score of 0)."""


def shortfall(value: float, preview: float, direction: str) -> float:
    """How much worse than the preview `value` is in the metric's direction (>= 0); NaN if either is undefined."""
    if not (math.isfinite(value) and math.isfinite(preview)):
        return math.nan
    return max(0.0, preview - value) if direction == HIGHER else max(0.0, value - preview)


def is_near(name: str, value: float, preview: float, direction: str) -> bool | None:
    """Whether `value` is near the simulation's `preview` value on metric `name`; None when undefined."""
    gap = shortfall(value, preview, direction)
    if math.isnan(gap):
        return None
    allowed = NEAR_TOLERANCE[name]
    if name in UNRELATED:
        allowed = min(allowed, 0.5 * max(preview - UNRELATED[name], 0.0))
    return gap <= allowed


def towards_simulation(value: float, baseline: float, preview: float) -> float | None:
    """100 (value - baseline) / (preview - baseline), in percent; None when undefined (P = U, or a value missing)."""
    if not all(math.isfinite(v) for v in (value, baseline, preview)):
        return None
    span = preview - baseline
    if abs(span) <= 1e-9 * max(1.0, abs(preview), abs(baseline)):
        return None
    return 100.0 * (value - baseline) / span
